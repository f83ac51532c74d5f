/* The CVM reduce operators: sum and max (ops/reduce.c). */
#include <string.h>

#include "cvm_ops.h"

/* ReduceParam: axis (shape tuple, default ()), keepdims (bool, false), exclude (bool,
 * false), dtype (enum, int32). Axis range and duplicates are shape-inference checks (status
 * 1), so the axes go to ops/ as given and its infer checks them. */
static int reduce_parse(cvm_node *n, uint32_t opcode, detvm_error *err)
{
    cvm_attrs *a = n->attrs;
    a->err = err;
    cvm_tuple axis;
    int keepdims, exclude;
    const char *dtype;
    if (cvm_read_shape_attr(n, "axis", 0, 0, &axis, err) != 0 ||
        cvm_attr_bool(a, "keepdims", 0, 0, &keepdims) != 0 ||
        cvm_attr_bool(a, "exclude", 0, 0, &exclude) != 0 ||
        cvm_attr_string(a, "dtype", 0, "int32", &dtype) != 0)
        return -1;
    if (!cvm_dtype_known(dtype))
        return cvm_fail(err, DETVM_ERUNTIME, n, "dtype: invalid value '%s'", dtype);
    if (cvm_attr_finish(a) != 0)
        return -1;

    n->attr[0] = keepdims;
    n->attr[1] = exclude;
    for (uint32_t i = 0; i < axis.n; i++)
        n->attr[2 + i] = axis.v[i];
    return cvm_node_set(n, opcode, 1, 2 + axis.n);
}

static int sum_parse(cvm_node *n, detvm_error *err)
{
    return reduce_parse(n, DV_OP_SUM, err);
}

static int max_parse(cvm_node *n, detvm_error *err)
{
    return reduce_parse(n, DV_OP_MAX, err);
}

/* Each output element adds (input size / output size) elements: that many more bits. */
static int sum_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)err;
    int64_t terms = (int64_t)(dv_shape_size(&n->in_shape[0]) / dv_shape_size(&out_shape[0]));
    n->out_prec[0] = n->in_prec[0] + cvm_reduce_sum_bits(terms);
    return 0;
}

static int max_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape, (void)err;
    n->out_prec[0] = n->in_prec[0];
    return 0;
}

/* The CPU back end drops every size-1 axis from the output shape and pairs the remaining
 * output axes, from the right, with the input's kept (not reduced) axes, size-1 ones
 * included. Where such a pair joins axes of different input strides it reads the wrong
 * elements (a kept size-1 axis after a longer kept one, as in (2,3,4,1) summed over axis 2).
 * Runs after infer accepted the attributes, so the axes are in range. */
static const char *reduce_divergence(const cvm_node *n)
{
    const dv_shape *x = &n->in_shape[0];
    const uint32_t n_axes = n->n_attr - 2;
    if (n_axes == 0)
        return 0; /* every axis reduced: one output, read from offset 0 either way */
    uint32_t listed = 0;
    for (uint32_t i = 0; i < n_axes; i++) {
        int32_t axis = n->attr[2 + i];
        listed |= 1u << (axis < 0 ? axis + (int32_t)x->ndim : axis);
    }
    const uint32_t reduced = n->attr[1] ? ~listed & ((1u << x->ndim) - 1) : listed;
    if (reduced == 0)
        return 0; /* nothing reduced: both back ends copy */

    uint64_t stride[DV_MAX_NDIM], size = 1;
    for (uint32_t d = x->ndim; d-- > 0;) {
        stride[d] = size;
        size *= x->dim[d];
    }
    /* Walk the kept axes and the kept axes longer than 1 together, from the right. */
    int32_t kept = (int32_t)x->ndim, longer = (int32_t)x->ndim;
    for (;;) {
        do
            longer--;
        while (longer >= 0 && ((reduced >> longer) & 1 || x->dim[longer] == 1));
        if (longer < 0)
            return 0;
        do
            kept--;
        while ((reduced >> kept) & 1);
        if (stride[kept] != stride[longer])
            return "a kept size-1 axis after a longer kept axis: the CPU back end reads the "
                   "wrong elements, formal (followed) does not";
    }
}

const cvm_op_def cvm_def_SUM = {"sum", sum_parse, 0, sum_precision, reduce_divergence};
const cvm_op_def cvm_def_MAX = {"max", max_parse, 0, max_precision, reduce_divergence};
