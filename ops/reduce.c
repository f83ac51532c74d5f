/* Reductions over axes: SUM and MAX.
 *
 * Both ops share one attribute layout and one shape rule, those of the CVM runtime's reduce
 * operators, and one kernel that differs only in how it folds an element into its output.
 *
 * Attributes: [0] keepdims (0 or 1), [1] exclude (0 or 1), [2..] the axis list as given
 * (each in [-ndim, ndim-1], negative counting from the end, no axis twice; may be empty).
 *
 * Which axes are reduced:
 *   empty axis list            -> every axis (whatever exclude says);
 *   exclude = 0                -> the listed axes;
 *   exclude = 1                -> the axes not listed (possibly none: the output is a copy).
 * Output shape: the input shape when no axis is reduced; else, with keepdims, the input shape
 * with 1 in each reduced axis; else the input shape without the reduced axes, and (1) when
 * nothing is left.
 *
 * Each output element folds the input elements that share its coordinates on the axes that
 * are not reduced. Its accumulator starts at 0 for SUM. For MAX it starts at the first
 * element folded (written here as INT32_MIN, which folds to the same value), except for an
 * empty axis list with exclude = 0, where the runtime starts it at 0: that MAX of
 * all-negative data is 0. */
#include "op.h"

#define REDUCE_FIXED_ATTRS 2 /* keepdims, exclude; the axes follow */

typedef struct {
    uint32_t reduced;  /* bit d set: axis d is reduced */
    int start_at_zero; /* MAX's accumulator starts at 0 rather than at the first element */
} reduce_plan;

/* Validates the attributes against an input rank and works out which axes are reduced, as
 * the runtime's shape inference does. */
static const char *plan_reduce(const dv_attrs *attrs, uint32_t ndim, reduce_plan *plan)
{
    if (attrs->n < REDUCE_FIXED_ATTRS)
        return "attributes: expected [keepdims, exclude, axis...]";
    int32_t keepdims = attrs->v[0], exclude = attrs->v[1];
    if (keepdims != 0 && keepdims != 1)
        return "keepdims: must be 0 or 1";
    if (exclude != 0 && exclude != 1)
        return "exclude: must be 0 or 1";

    const uint32_t all = (1u << ndim) - 1;
    const uint32_t n_axes = attrs->n - REDUCE_FIXED_ATTRS;
    if (n_axes == 0) {
        plan->reduced = all;
        plan->start_at_zero = !exclude;
        return 0;
    }
    uint32_t listed = 0;
    for (uint32_t i = 0; i < n_axes; i++) {
        int64_t axis = attrs->v[REDUCE_FIXED_ATTRS + i];
        if (axis < 0)
            axis += ndim;
        if (axis < 0 || axis >= (int64_t)ndim)
            return "axis: out of range for the input rank";
        if (listed & (1u << axis))
            return "axis: an axis is listed twice";
        listed |= 1u << axis;
    }
    plan->reduced = exclude ? all & ~listed : listed;
    plan->start_at_zero = 0;
    return 0;
}

static const char *reduce_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (n_in != 1 || n_out != 1)
        return "operands: expected 1 input and 1 output";
    reduce_plan plan;
    const char *why = plan_reduce(attrs, in[0].ndim, &plan);
    if (why)
        return why;
    const int keepdims = attrs->v[0];
    out[0].ndim = 0;
    for (uint32_t d = 0; d < in[0].ndim; d++) {
        if (!(plan.reduced & (1u << d)))
            out[0].dim[out[0].ndim++] = in[0].dim[d];
        else if (keepdims)
            out[0].dim[out[0].ndim++] = 1;
    }
    if (out[0].ndim == 0)
        out[0].dim[out[0].ndim++] = 1;
    return 0;
}

/* The int32 whose two's complement bits are u, without signed overflow. */
static int32_t wrap_i32(uint32_t u)
{
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

/* One kernel for both ops. It walks the input once in row-major order; `out_offset` follows
 * the output element each input element belongs to (reduced axes have output stride 0), so
 * the order of folding is the input order. That order does not change the result: SUM wraps
 * modulo 2^32, and MAX is order-free. */
static void reduce_run(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out, int is_max)
{
    reduce_plan plan = {0};
    plan_reduce(attrs, in->shape.ndim, &plan); /* infer accepted it */
    const uint32_t ndim = in->shape.ndim;
    const uint32_t *dim = in->shape.dim;

    uint64_t out_stride[DV_MAX_NDIM], out_size = 1;
    for (uint32_t d = ndim; d-- > 0;) {
        out_stride[d] = (plan.reduced & (1u << d)) ? 0 : out_size;
        if (!(plan.reduced & (1u << d)))
            out_size *= dim[d];
    }
    const int32_t start = is_max && !plan.start_at_zero ? INT32_MIN : 0;
    for (uint64_t i = 0; i < out_size; i++)
        out->data[i] = start;

    const uint64_t in_size = dv_shape_size(&in->shape);
    uint32_t index[DV_MAX_NDIM] = {0};
    uint64_t out_offset = 0;
    for (uint64_t i = 0; i < in_size; i++) {
        int32_t x = in->data[i], *acc = &out->data[out_offset];
        if (is_max)
            *acc = x > *acc ? x : *acc;
        else
            *acc = wrap_i32((uint32_t)*acc + (uint32_t)x);
        /* Step the row-major index, carrying into higher axes. */
        for (uint32_t d = ndim; d-- > 0;) {
            out_offset += out_stride[d];
            if (++index[d] < dim[d])
                break;
            out_offset -= out_stride[d] * dim[d];
            index[d] = 0;
        }
    }
}

/* ---- SUM ---------------------------------------------------------------------------------
 *
 * Operands: x -> y. Attributes: the reduce layout above.
 * y = the sum of the folded elements, in int32 wrapping modulo 2^32 as the runtime's int32
 * accumulator does (its precision inference keeps in-precision data from wrapping). */
static void sum_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    (void)n_in, (void)n_out, (void)scratch;
    reduce_run(attrs, &in[0], &out[0], 0);
}

const dv_op_info dv_info_SUM = {"sum", 1, 1, 1, reduce_infer, sum_run, 0};

/* ---- MAX ---------------------------------------------------------------------------------
 *
 * Operands: x -> y. Attributes: the reduce layout above.
 * y = the largest folded element, or 0 when it is larger and the axis list is empty with
 * exclude = 0 (the accumulator starting at 0, see above). No arithmetic. */
static void max_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    (void)n_in, (void)n_out, (void)scratch;
    reduce_run(attrs, &in[0], &out[0], 1);
}

const dv_op_info dv_info_MAX = {"max", 1, 1, 1, reduce_infer, max_run, 0};
