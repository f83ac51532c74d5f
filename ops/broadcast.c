/* Broadcasting binary kernels, and `where`.
 *
 * Broadcasting follows NumPy: the shapes are aligned at their last dimension, the shorter
 * one is padded with leading 1s, and in each dimension the sizes must be equal or one of
 * them 1; the output takes the larger size, and an input of size 1 there is read at
 * index 0 for every output index. Output elements are written in row-major order.
 *
 * All values are int32. Where the CVM runtime's int32 arithmetic overflows (precision
 * inference normally rules it out, but `where` can pass values wider than their declared
 * precision downstream) its machine code wraps modulo 2^32, so these kernels wrap
 * explicitly, without signed overflow in C. */
#include "broadcast.h"
#include "op.h"

/* The int32 congruent to v modulo 2^32 (two's complement wrapping), written without
 * implementation-defined conversions. */
static inline int32_t wrap_int32(int64_t v)
{
    uint32_t u = (uint32_t)v;   /* unsigned conversion is defined: reduces modulo 2^32 */
    if (u <= (uint32_t)INT32_MAX)
        return (int32_t)u;
    return (int32_t)(u - 0x80000000u) + INT32_MIN;
}

/* The broadcast output shape of a and b, or a reason why they do not broadcast. */
const char *dv_broadcast_shape(const dv_shape *a, const dv_shape *b, dv_shape *out)
{
    uint32_t ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    out->ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++) {
        uint32_t da = i + a->ndim >= ndim ? a->dim[i + a->ndim - ndim] : 1;
        uint32_t db = i + b->ndim >= ndim ? b->dim[i + b->ndim - ndim] : 1;
        if (da != db && da != 1 && db != 1)
            return "inputs: shapes do not broadcast (a dimension differs and neither is 1)";
        out->dim[i] = da > db ? da : db;
    }
    for (uint32_t i = ndim; i < DV_MAX_NDIM; i++)
        out->dim[i] = 0;
    /* Each input is within bounds, but their broadcast may not be: (2^20, 1) with
     * (1, 2^20) has 2^40 elements. */
    return dv_shape_check(out);
}

const char *dv_broadcast_check(const dv_attrs *attrs, uint32_t n_attrs, uint32_t n_in,
                               const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    if (n_in != 2)
        return "inputs: expected 2";
    if (n_out != 1)
        return "outputs: expected 1";
    if (attrs->n != n_attrs)
        return n_attrs ? "attrs: wrong number of values" : "attrs: expected none";
    return dv_broadcast_shape(&in[0], &in[1], &out[0]);
}

/* Infer of the CVM broadcasting ops, which take no attributes. */
static const char *infer_broadcast(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                   uint32_t n_out, dv_shape *out)
{
    return dv_broadcast_check(attrs, 0, n_in, in, n_out, out);
}

/* Element strides of an input seen in the output's coordinates: 0 in the dimensions the
 * input is broadcast along (size 1, or absent on the left). */
static void broadcast_strides(const dv_shape *in, uint32_t out_ndim, uint64_t *stride)
{
    uint64_t step = 1;
    for (uint32_t i = out_ndim; i-- > 0;) {
        if (i + in->ndim < out_ndim) {
            stride[i] = 0;
            continue;
        }
        uint32_t d = in->dim[i + in->ndim - out_ndim];
        stride[i] = d == 1 ? 0 : step;
        step *= d;
    }
}

/* y[i0..ik] = f(a[...], b[...], attrs) over the output in row-major order, walking each
 * input's offset with its broadcast strides like an odometer. */
void dv_broadcast_apply(const dv_tensor *in, dv_tensor *out, dv_binary_fn f,
                        const int32_t *attrs)
{
    const dv_shape *shape = &out[0].shape;
    uint32_t ndim = shape->ndim;
    uint64_t stride_a[DV_MAX_NDIM], stride_b[DV_MAX_NDIM];
    uint32_t index[DV_MAX_NDIM] = {0};
    broadcast_strides(&in[0].shape, ndim, stride_a);
    broadcast_strides(&in[1].shape, ndim, stride_b);

    const int32_t *a = in[0].data, *b = in[1].data;
    int32_t *y = out[0].data;
    uint64_t n = dv_shape_size(shape), offset_a = 0, offset_b = 0;
    for (uint64_t i = 0; i < n; i++) {
        y[i] = f(a[offset_a], b[offset_b], attrs);
        for (uint32_t d = ndim; d-- > 0;) {
            offset_a += stride_a[d];
            offset_b += stride_b[d];
            if (++index[d] < shape->dim[d])
                break;
            offset_a -= stride_a[d] * shape->dim[d];
            offset_b -= stride_b[d] * shape->dim[d];
            index[d] = 0;
        }
    }
}

/* BROADCAST_ADD: y = a + b, wrapping modulo 2^32 as the runtime's int32 addition. */
static int32_t add_wrapping(int32_t a, int32_t b, const int32_t *unused) { return wrap_int32((int64_t)a + b); }

static void run_broadcast_add(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                              uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, add_wrapping, NULL);
}

/* BROADCAST_SUB: y = a - b, wrapping modulo 2^32. */
static int32_t sub_wrapping(int32_t a, int32_t b, const int32_t *unused) { return wrap_int32((int64_t)a - b); }

static void run_broadcast_sub(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                              uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, sub_wrapping, NULL);
}

/* BROADCAST_MUL: y = a * b, the low 32 bits of the exact product (the runtime's int32
 * multiplication wraps the same way). */
static int32_t mul_wrapping(int32_t a, int32_t b, const int32_t *unused) { return wrap_int32((int64_t)a * b); }

static void run_broadcast_mul(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                              uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, mul_wrapping, NULL);
}

/* BROADCAST_DIV: y = a / b truncated toward zero (7 / -2 = -3, -7 / 2 = -3), and a / 0 = 0.
 * INT32_MIN / -1 gives INT32_MIN (the wrapped quotient): the runtime traps there on x86,
 * and inputs are clamped to +-(2^31-1), so only wrapped arithmetic upstream reaches it. */
static int32_t div_truncating(int32_t a, int32_t b, const int32_t *unused)
{
    if (b == 0)
        return 0;
    if (b == -1)
        return wrap_int32(-(int64_t)a);
    return a / b;
}

static void run_broadcast_div(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                              uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, div_truncating, NULL);
}

/* BROADCAST_GREATER: y = 1 if a > b, else 0. */
static int32_t greater(int32_t a, int32_t b, const int32_t *unused) { return a > b; }

static void run_broadcast_greater(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                  uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, greater, NULL);
}

/* BROADCAST_MAX: y = a if a > b, else b. */
static int32_t maximum(int32_t a, int32_t b, const int32_t *unused) { return a > b ? a : b; }

static void run_broadcast_max(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                              uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, maximum, NULL);
}

/* WHERE: out[i] = cond[i] != 0 ? x[i] : y[i], element by element.
 * inputs: cond, x, y, all of one shape, which is the output's. attrs: none.
 * The CVM format also allows a 1-D cond selecting whole rows of x and y (cond's length =
 * x's first dimension), but both CVM back ends then copy only a quarter of each row (a byte
 * count passed as an element count) and leave the rest of the output uninitialised, so no
 * defined result exists to match: infer refuses it. */
static const char *infer_where(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    if (n_in != 3)
        return "inputs: expected 3 (condition, x, y)";
    if (n_out != 1)
        return "outputs: expected 1";
    if (attrs->n != 0)
        return "attrs: expected none";
    if (!dv_shape_equal(&in[1], &in[2]))
        return "x, y: must have the same shape";
    if (!dv_shape_equal(&in[0], &in[1])) {
        if (in[0].ndim == 1 && in[0].dim[0] == in[1].dim[0])
            return "condition: a 1-D row condition is not supported (the CVM runtime leaves "
                   "part of its output uninitialised); it must have x's shape";
        return "condition: must have x's shape";
    }
    out[0] = in[1];
    return 0;
}

static void run_where(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                      uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *cond = in[0].data, *x = in[1].data, *y = in[2].data;
    int32_t *result = out[0].data;
    uint64_t n = dv_shape_size(&out[0].shape);
    for (uint64_t i = 0; i < n; i++)
        result[i] = cond[i] != 0 ? x[i] : y[i];
}

const dv_op_info dv_info_BROADCAST_ADD = {"broadcast_add", 2, 2, 1, infer_broadcast,
                                          run_broadcast_add, 0};
const dv_op_info dv_info_BROADCAST_SUB = {"broadcast_sub", 2, 2, 1, infer_broadcast,
                                          run_broadcast_sub, 0};
const dv_op_info dv_info_BROADCAST_MUL = {"broadcast_mul", 2, 2, 1, infer_broadcast,
                                          run_broadcast_mul, 0};
const dv_op_info dv_info_BROADCAST_DIV = {"broadcast_div", 2, 2, 1, infer_broadcast,
                                          run_broadcast_div, 0};
const dv_op_info dv_info_BROADCAST_GREATER = {"broadcast_greater", 2, 2, 1, infer_broadcast,
                                              run_broadcast_greater, 0};
const dv_op_info dv_info_BROADCAST_MAX = {"broadcast_max", 2, 2, 1, infer_broadcast,
                                          run_broadcast_max, 0};
const dv_op_info dv_info_WHERE = {"where", 3, 3, 1, infer_where, run_where, 0};
