/* Element-wise kernels: one input element (or one element of each of two equal-shaped
 * inputs) gives one output element at the same flat index.
 *
 * All values are int32. The CVM runtime computes these ops in C++ int32 arithmetic; where
 * that arithmetic overflows (which precision inference normally rules out, but `where`
 * can pass values wider than their declared precision downstream) the runtime's machine
 * code wraps modulo 2^32, so these kernels wrap explicitly, without signed overflow in C.
 * Where the runtime's CPU and formal back ends disagree, the formal one is followed. */
#include "op.h"

/* The int32 whose two's complement bits are u, written without the implementation-defined
 * conversion of an out-of-range unsigned value. */
static inline int32_t int32_from_bits(uint32_t u)
{
    if (u <= (uint32_t)INT32_MAX)
        return (int32_t)u;
    return (int32_t)(u - 0x80000000u) + INT32_MIN;
}

/* The int32 congruent to v modulo 2^32: what the runtime's wrapping int32 arithmetic gives
 * for an exact result v. (The conversion to unsigned is defined: it reduces modulo 2^32.) */
static inline int32_t wrap_int32(int64_t v)
{
    return int32_from_bits((uint32_t)v);
}

/* x >> n rounding toward minus infinity (an arithmetic shift), for n in 0..31. C leaves
 * the right shift of a negative value implementation-defined; this form is not. */
static inline int32_t shift_right_floor(int32_t x, uint32_t n)
{
    return x >= 0 ? x >> n : ~(~x >> n);
}

/* The formal back end's clip, in this order: v >= hi gives hi, else v <= lo gives lo. */
static inline int32_t clip_formal(int64_t v, int64_t lo, int64_t hi)
{
    if (v >= hi)
        return (int32_t)hi;
    if (v <= lo)
        return (int32_t)lo;
    return (int32_t)v;
}

/* 2^(precision-1) - 1, the largest magnitude a signed value of `precision` bits holds. */
static inline int64_t precision_max(int32_t precision)
{
    return ((int64_t)1 << (precision - 1)) - 1;
}

static const char *check_arity(uint32_t n_in, uint32_t want_in, uint32_t n_out)
{
    if (n_in != want_in)
        return want_in == 1 ? "inputs: expected 1" : "inputs: expected 2";
    if (n_out != 1)
        return "outputs: expected 1";
    return 0;
}

/* Shared infer of the one-input ops: `n_attrs` attribute values, output shape = input. */
static const char *infer_unary(const dv_attrs *attrs, uint32_t n_attrs, uint32_t n_in,
                               const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    const char *why = check_arity(n_in, 1, n_out);
    if (why)
        return why;
    if (attrs->n != n_attrs)
        return n_attrs == 0 ? "attrs: expected none" : "attrs: wrong number of values";
    out[0] = in[0];
    return 0;
}

static const char *infer_no_attrs(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    return infer_unary(attrs, 0, n_in, in, n_out, out);
}

/* The precision attribute of CVM_CLIP and the shifts. */
static const char *infer_precision_attr(int32_t precision)
{
    return precision >= 1 && precision <= 32 ? 0 : "precision: must be 1 to 32";
}

static uint64_t element_count(const dv_tensor *t)
{
    return dv_shape_size(&t->shape);
}

/* ABS: y = |x|.
 * attrs: none.
 * |INT32_MIN| does not fit: the runtime's std::abs (undefined there in C++) comes out as
 * INT32_MIN on its targets, and so does this kernel. Inputs are clamped to +-(2^31-1), so
 * only wrapped arithmetic upstream produces INT32_MIN. */
static void run_abs(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = x[i] < 0 ? wrap_int32(-(int64_t)x[i]) : x[i];
}

/* NEGATIVE: y = -x.
 * attrs: none.
 * -INT32_MIN wraps to INT32_MIN, as the runtime's int32 negation does. */
static void run_negative(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                         uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = wrap_int32(-(int64_t)x[i]);
}

/* RELU: y = max(x, 0).
 * attrs: none. */
static void run_relu(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

/* CLIP: y = a_max if x >= a_max, else a_min if x <= a_min, else x.
 * attrs: [0] a_min, [1] a_max, with -(2^31-1) <= a_min < a_max <= 2^31-1 (the CVM
 * runtime's precision inference rejects anything else, so infer does too). */
static const char *infer_clip(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    const char *why = infer_unary(attrs, 2, n_in, in, n_out, out);
    if (why)
        return why;
    if (attrs->v[0] == INT32_MIN || attrs->v[1] == INT32_MIN)
        return "a_min, a_max: must be within +-(2^31-1)";
    if (attrs->v[0] >= attrs->v[1])
        return "a_min: must be less than a_max";
    return 0;
}

static void run_clip(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    int32_t a_min = attrs->v[0], a_max = attrs->v[1];
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = clip_formal(x[i], a_min, a_max);
}

/* CVM_CLIP: y = clip(x, -alpha, alpha), alpha = 2^(precision-1) - 1.
 * attrs: [0] precision, 1..32. (The CVM attribute is_sign is parsed and ignored by the
 * runtime: the clip is always signed.) precision 1 gives alpha = 0: every y is 0. */
static const char *infer_cvm_clip(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    const char *why = infer_unary(attrs, 1, n_in, in, n_out, out);
    return why ? why : infer_precision_attr(attrs->v[0]);
}

static void run_cvm_clip(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                         uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    int64_t alpha = precision_max(attrs->v[0]);
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = clip_formal(x[i], -alpha, alpha);
}

/* The two shifts share their attribute layout: [0] precision 1..32, [1] shift_bit 1..32. */
static const char *infer_shift(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    const char *why = infer_unary(attrs, 2, n_in, in, n_out, out);
    if (why)
        return why;
    if ((why = infer_precision_attr(attrs->v[0])) != 0)
        return why;
    if (attrs->v[1] < 1 || attrs->v[1] > 32)
        return "shift_bit: must be 1 to 32";
    return 0;
}

/* CVM_LEFT_SHIFT: t = x << shift_bit in int32 (wrapping: the bits shifted past bit 31 are
 * lost, and bit 31 becomes the sign), then y = clip(t, -alpha, alpha) with
 * alpha = 2^(precision-1) - 1, clip as in CLIP.
 * attrs: [0] precision, [1] shift_bit (see infer_shift).
 * A CVM model always has input precision + shift_bit <= 32, so for values within their
 * precision t is exact. shift_bit 32 can only come from hand-made bytecode; it gives t = 0.
 * The formal back end is followed: the CPU back end fails on every cvm_left_shift. */
static void run_cvm_left_shift(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                               uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    int64_t alpha = precision_max(attrs->v[0]);
    uint32_t shift = (uint32_t)attrs->v[1];
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++) {
        int32_t t = int32_from_bits((uint32_t)((uint64_t)(uint32_t)x[i] << shift));
        y[i] = clip_formal(t, -alpha, alpha);
    }
}

/* CVM_RIGHT_SHIFT: a rounding right shift, then a clip, all in int32 as the formal back end:
 *   t = floor(x / 2^(shift_bit-1))     (arithmetic shift)
 *   t = t + 1                          (wraps: x = 2^31-1 with shift_bit 1 gives -2^31)
 *   t = floor(t / 2)
 *   y = clip(t, -alpha, alpha), alpha = 2^(precision-1) - 1, clip as in CLIP.
 * So ties round toward +infinity (with shift_bit 1, 5 gives 3 and -5 gives -2), and
 * shift_bit 32 gives t = 0 for every x. attrs: [0] precision, [1] shift_bit (infer_shift).
 * The CPU back end differs for shift_bit >= 31 (it returns x >> 31), when precision +
 * shift_bit >= 32 (it skips the clip) and in the wrapping case; see cvm_elemwise.c. */
static void run_cvm_right_shift(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    int64_t alpha = precision_max(attrs->v[0]);
    uint32_t shift = (uint32_t)attrs->v[1];
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++) {
        int32_t t = shift_right_floor(x[i], shift - 1);
        t = shift_right_floor(wrap_int32((int64_t)t + 1), 1);
        y[i] = clip_formal(t, -alpha, alpha);
    }
}

/* CVM_PRECISION: y = the number of bits of |x|, at least 1: 0 and 1 give 1, 2..3 give 2,
 * 4..7 give 3, 2^31-1 gives 31.
 * attrs: none.
 * |INT32_MIN| is taken as 2^31, giving 32 (the CPU back end's answer; the formal back end's
 * loop never ends there). Inputs are clamped to +-(2^31-1), so only wrapped arithmetic
 * upstream reaches it. */
static void run_cvm_precision(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                              uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t magnitude = x[i] < 0 ? 0u - (uint32_t)x[i] : (uint32_t)x[i];
        int32_t bits = 1;
        while (magnitude >> 1) {
            magnitude >>= 1;
            bits++;
        }
        y[i] = bits;
    }
}

/* The two-input element-wise ops: both inputs have the same shape, which is the output's.
 * attrs: none. */
static const char *infer_binary(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    const char *why = check_arity(n_in, 2, n_out);
    if (why)
        return why;
    if (attrs->n != 0)
        return "attrs: expected none";
    if (!dv_shape_equal(&in[0], &in[1]))
        return "inputs: the two shapes must be equal";
    out[0] = in[0];
    return 0;
}

/* ELEMWISE_ADD: y = a + b, wrapping modulo 2^32 as the runtime's int32 addition. */
static void run_elemwise_add(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                             uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *a = in[0].data, *b = in[1].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = wrap_int32((int64_t)a[i] + b[i]);
}

/* ELEMWISE_SUB: y = a - b, wrapping modulo 2^32 as the runtime's int32 subtraction. */
static void run_elemwise_sub(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                             uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *a = in[0].data, *b = in[1].data;
    int32_t *y = out[0].data;
    uint64_t n = element_count(&in[0]);
    for (uint64_t i = 0; i < n; i++)
        y[i] = wrap_int32((int64_t)a[i] - b[i]);
}

const dv_op_info dv_info_ABS = {"abs", 1, 1, 1, infer_no_attrs, run_abs, 0};
const dv_op_info dv_info_NEGATIVE = {"negative", 1, 1, 1, infer_no_attrs, run_negative, 0};
const dv_op_info dv_info_RELU = {"relu", 1, 1, 1, infer_no_attrs, run_relu, 0};
const dv_op_info dv_info_CLIP = {"clip", 1, 1, 1, infer_clip, run_clip, 0};
const dv_op_info dv_info_CVM_CLIP = {"cvm_clip", 1, 1, 1, infer_cvm_clip, run_cvm_clip, 0};
const dv_op_info dv_info_CVM_LEFT_SHIFT = {"cvm_left_shift", 1, 1, 1, infer_shift,
                                           run_cvm_left_shift, 0};
const dv_op_info dv_info_CVM_RIGHT_SHIFT = {"cvm_right_shift", 1, 1, 1, infer_shift,
                                            run_cvm_right_shift, 0};
const dv_op_info dv_info_CVM_PRECISION = {"cvm_precision", 1, 1, 1, infer_no_attrs,
                                          run_cvm_precision, 0};
const dv_op_info dv_info_ELEMWISE_ADD = {"elemwise_add", 2, 2, 1, infer_binary,
                                         run_elemwise_add, 0};
const dv_op_info dv_info_ELEMWISE_SUB = {"elemwise_sub", 2, 2, 1, infer_binary,
                                         run_elemwise_sub, 0};
