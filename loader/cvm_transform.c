/* The CVM side of the data-movement ops (ops/transform.c): attribute parsing into canonical
 * attributes, and precision inference.
 *
 * Each parse reads every attribute first, so that format errors (status 2, as the CVM
 * runtime's ParamError at graph load) come before the checks its shape inference makes
 * (status 1, VERIFY). Those checks run in parse when the canonical attributes depend on
 * them: resolving reshape's codes and turning negative axes into non-negative ones. Checks
 * that need nothing more than the canonical attributes are left to the op's infer. Parse
 * reads input shapes only when the node has the inputs the op needs; otherwise the loader's
 * arity check reports the node.
 *
 * None of these ops diverges between the CVM runtime's CPU and formal back ends: both copy
 * the same elements with the same clamping. */
#include <stdio.h>

#include "cvm_ops.h"

/* ---- helpers --------------------------------------------------------------------------- */

static int has_inputs(const cvm_node *n)
{
    return n->n_in == n->n_in_expected;
}

/* An axis of a rank-ndim tensor, checked against [-ndim, ndim-1] and made non-negative. */
static int normalize_axis(cvm_node *n, detvm_error *err, const char *field, int64_t axis,
                          uint32_t ndim, int32_t *out)
{
    if (cvm_verify_range(n, err, field, axis, -(int64_t)ndim, (int64_t)ndim - 1) != 0)
        return -1;
    *out = (int32_t)(axis < 0 ? axis + ndim : axis);
    return 0;
}

/* ---- flatten --------------------------------------------------------------------------- */

CVM_PARSE_WITHOUT_ATTRS(flatten_parse, DV_OP_FLATTEN, 1)

const cvm_op_def cvm_def_FLATTEN = {"flatten", flatten_parse, NULL, cvm_precision_same, NULL};

/* ---- reshape ---------------------------------------------------------------------------
 *
 * The `shape` codes, resolved against the input shape as the CVM runtime does, left to
 * right with a cursor into the input dims:
 *    v > 0  the dim v (the cursor moves on too);
 *    0      copy the input dim at the cursor;
 *    -1     a placeholder 1, inferred at the end (the cursor moves on); at most one;
 *    -2     copy every input dim from the cursor on;
 *    -3     the product of the next two input dims;
 *    -4     split the input dim at the cursor into the next two codes, either of which may
 *           be -1 (not both); their product must equal that dim;
 *    < -4   ignored.
 * The runtime then writes the inferred dim at the position of the -1 in `shape`, not in
 * the output; when codes before it (-2, -4, ignored ones) shift the output, it lands on
 * another dim, or past the end where it is lost. The inferred value is the input size
 * divided by the product of the output dims taken as wrapping 32-bit ints. Where the
 * runtime would divide by zero, detvm rejects the node (status 1). */

#define RESHAPE_MAX_OUT (CVM_MAX_TUPLE + DV_MAX_NDIM)

/* Converts to int32 the way the runtime's int conversions and multiplications wrap. */
static int32_t wrap_i32(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    return u <= INT32_MAX ? (int32_t)u : -(int32_t)(UINT32_MAX - u) - 1;
}

static int reshape_resolve(cvm_node *n, const cvm_tuple *codes, detvm_error *err)
{
    const dv_shape *in = &n->in_shape[0];
    int64_t dims[RESHAPE_MAX_OUT];
    uint32_t count = 0, src = 0;
    int64_t infer_at = -1;
    if (codes->n == 0)
        return cvm_fail(err, DETVM_EINVALID, n, "shape: must not be empty");
    for (uint32_t i = 0; i < codes->n; i++) {
        int64_t code = codes->v[i];
        if (code > 0) {
            dims[count++] = code;
            src++;
        } else if (code == 0) {
            if (src >= in->ndim)
                return cvm_fail(err, DETVM_EINVALID, n, "shape[%u]: 0 has no input dim to copy", i);
            dims[count++] = in->dim[src++];
        } else if (code == -1) {
            if (infer_at >= 0)
                return cvm_fail(err, DETVM_EINVALID, n, "shape: more than one -1");
            infer_at = i;
            dims[count++] = 1;
            src++;
        } else if (code == -2) {
            while (src < in->ndim)
                dims[count++] = in->dim[src++];
        } else if (code == -3) {
            if (src + 1 >= in->ndim)
                return cvm_fail(err, DETVM_EINVALID, n, "shape[%u]: -3 needs two input dims", i);
            dims[count++] = (int64_t)in->dim[src] * in->dim[src + 1];
            src += 2;
        } else if (code == -4) {
            if (i + 2 >= codes->n)
                return cvm_fail(err, DETVM_EINVALID, n, "shape[%u]: -4 needs two codes after it",
                                i);
            if (src >= in->ndim)
                return cvm_fail(err, DETVM_EINVALID, n, "shape[%u]: -4 has no input dim to split",
                                i);
            int64_t whole = in->dim[src++];
            int64_t left = codes->v[++i], right = codes->v[++i];
            if (left == -1 && right == -1)
                return cvm_fail(err, DETVM_EINVALID, n, "shape[%u]: -4 split dims both -1", i - 1);
            if ((left == -1 && right == 0) || (right == -1 && left == 0))
                return cvm_fail(err, DETVM_EINVALID, n, "shape[%u]: -4 split by 0", i - 1);
            if (left == -1)
                left = whole / right;
            if (right == -1)
                right = whole / left;
            if (wrap_i32((uint64_t)left * (uint64_t)right) != whole)
                return cvm_fail(err, DETVM_EINVALID, n,
                                "shape[%u]: -4 split dims %lld, %lld do not make %lld", i - 1,
                                (long long)left, (long long)right, (long long)whole);
            dims[count++] = left;
            dims[count++] = right;
        }
    }
    uint64_t in_size = dv_shape_size(in);
    if (infer_at >= 0) {
        uint32_t product = 1;
        for (uint32_t i = 0; i < count; i++)
            product *= (uint32_t)dims[i];
        int32_t known = wrap_i32(product);
        if (known == 0)
            return cvm_fail(err, DETVM_EINVALID, n, "shape: -1 cannot be inferred (zero product)");
        if ((uint64_t)infer_at < count)
            dims[infer_at] = (int64_t)in_size / known;
    }
    if (count < 1 || count > DV_MAX_NDIM)
        return cvm_fail(err, DETVM_EINVALID, n, "shape: resolves to %u dims (1 to 6 allowed)",
                        count);
    uint64_t out_size = 1;
    for (uint32_t i = 0; i < count; i++) {
        if (dims[i] < 1 || dims[i] > DV_MAX_DIM)
            return cvm_fail(err, DETVM_EINVALID, n, "shape: resolves to dim %lld at %u",
                            (long long)dims[i], i);
        out_size *= (uint64_t)dims[i];
        if (out_size > DV_MAX_ELEMS)
            break;
        n->attr[i] = (int32_t)dims[i];
    }
    if (out_size != in_size)
        return cvm_fail(err, DETVM_EINVALID, n, "shape: size differs from the input's %llu",
                        (unsigned long long)in_size);
    n->n_attr = count;
    return 0;
}

static int reshape_parse(cvm_node *n, detvm_error *err)
{
    cvm_tuple codes;
    cvm_node_set(n, DV_OP_RESHAPE, 1, 0);
    if (cvm_attr_tuple(n->attrs, "shape", 1, NULL, &codes, NULL) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    return has_inputs(n) ? reshape_resolve(n, &codes, err) : 0;
}

const cvm_op_def cvm_def_RESHAPE = {"reshape", reshape_parse, NULL, cvm_precision_same, NULL};

/* ---- expand_dims ----------------------------------------------------------------------- */

static int expand_dims_parse(cvm_node *n, detvm_error *err)
{
    int64_t axis, count;
    cvm_node_set(n, DV_OP_EXPAND_DIMS, 1, 0);
    if (cvm_attr_int(n->attrs, "axis", 1, 0, &axis) != 0 ||
        cvm_attr_int_min(n->attrs, "num_newaxis", 0, 1, 1, &count) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    int64_t ndim = n->in_shape[0].ndim;
    if (cvm_verify_range(n, err, "axis", axis, -ndim - 1, ndim) != 0 ||
        cvm_verify_range(n, err, "num_newaxis", count, 0, CVM_ATTR_MAX) != 0)
        return -1;
    n->attr[0] = (int32_t)(axis < 0 ? axis + ndim + 1 : axis);
    n->attr[1] = (int32_t)count;
    n->n_attr = 2;
    return 0;
}

const cvm_op_def cvm_def_EXPAND_DIMS = {"expand_dims", expand_dims_parse, NULL,
                                        cvm_precision_same, NULL};

/* ---- squeeze: canonical attrs are a mask of the axes to drop --------------------------- */

static int squeeze_parse(cvm_node *n, detvm_error *err)
{
    cvm_tuple axes;
    cvm_node_set(n, DV_OP_SQUEEZE, 1, 0);
    if (cvm_attr_tuple(n->attrs, "axis", 0, NULL, &axes, NULL) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    const dv_shape *in = &n->in_shape[0];
    uint32_t mask = 0;
    if (axes.n == 0) {
        for (uint32_t i = 0; i < in->ndim; i++)
            if (in->dim[i] == 1)
                mask |= 1u << i;
    }
    for (uint32_t i = 0; i < axes.n; i++) {
        int32_t axis;
        if (normalize_axis(n, err, "axis", axes.v[i], in->ndim, &axis) != 0)
            return -1;
        mask |= 1u << axis; /* a repeated axis counts once, as in the runtime */
    }
    n->attr[0] = (int32_t)mask;
    n->n_attr = 1;
    return 0;
}

const cvm_op_def cvm_def_SQUEEZE = {"squeeze", squeeze_parse, NULL, cvm_precision_same, NULL};

/* ---- transpose: canonical attrs are the full permutation ------------------------------- */

static int transpose_parse(cvm_node *n, detvm_error *err)
{
    cvm_tuple axes;
    cvm_node_set(n, DV_OP_TRANSPOSE, 1, 0);
    if (cvm_attr_tuple(n->attrs, "axes", 0, NULL, &axes, NULL) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    uint32_t ndim = n->in_shape[0].ndim;
    if (axes.n != 0 && axes.n != ndim)
        return cvm_fail(err, DETVM_EINVALID, n, "axes: %u entries for %u input dims", axes.n, ndim);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < ndim; i++) {
        int32_t axis = (int32_t)(ndim - 1 - i); /* no axes: reverse them */
        if (axes.n != 0 && normalize_axis(n, err, "axes", axes.v[i], ndim, &axis) != 0)
            return -1;
        if (seen >> axis & 1)
            return cvm_fail(err, DETVM_EINVALID, n, "axes: repeated axis %d", axis);
        seen |= 1u << axis;
        n->attr[i] = axis;
    }
    n->n_attr = ndim;
    return 0;
}

const cvm_op_def cvm_def_TRANSPOSE = {"transpose", transpose_parse, NULL, cvm_precision_same, NULL};

/* ---- concatenate (any number of inputs) ------------------------------------------------ */

static int concatenate_parse(cvm_node *n, detvm_error *err)
{
    int64_t axis;
    cvm_node_set(n, DV_OP_CONCATENATE, n->n_in, 0);
    if (cvm_attr_int(n->attrs, "axis", 0, 1, &axis) != 0 || cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (n->n_in == 0)
        return cvm_fail(err, DETVM_EINVALID, n, "no inputs");
    if (n->n_in > DV_MAX_OP_INPUTS)
        return cvm_fail(err, DETVM_EINVALID, n, "%u inputs (detvm supports up to %d)", n->n_in,
                        DV_MAX_OP_INPUTS);
    if (normalize_axis(n, err, "axis", axis, n->in_shape[0].ndim, &n->attr[0]) != 0)
        return -1;
    n->n_attr = 1;
    return 0;
}

const cvm_op_def cvm_def_CONCATENATE = {"concatenate", concatenate_parse, NULL,
                                        cvm_precision_max_in, NULL};

/* ---- repeat ---------------------------------------------------------------------------- */

static int repeat_parse(cvm_node *n, detvm_error *err)
{
    int64_t repeats, axis;
    cvm_node_set(n, DV_OP_REPEAT, 1, 0);
    if (cvm_attr_int(n->attrs, "repeats", 1, 0, &repeats) != 0 ||
        cvm_attr_int(n->attrs, "axis", 0, 0, &axis) != 0 || cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    if (repeats <= 0)
        return cvm_fail(err, DETVM_EINVALID, n, "repeats: %lld must be positive",
                        (long long)repeats);
    if (normalize_axis(n, err, "axis", axis, n->in_shape[0].ndim, &n->attr[1]) != 0)
        return -1;
    n->attr[0] = (int32_t)repeats;
    n->n_attr = 2;
    return 0;
}

const cvm_op_def cvm_def_REPEAT = {"repeat", repeat_parse, NULL, cvm_precision_same, NULL};

/* ---- tile: canonical reps are padded with leading 1s to the output rank ---------------- */

static int tile_parse(cvm_node *n, detvm_error *err)
{
    static const cvm_tuple default_reps = {{0}, 1}; /* the runtime's default, (0,) */
    cvm_tuple reps;
    cvm_node_set(n, DV_OP_TILE, 1, 0);
    if (cvm_attr_tuple(n->attrs, "reps", 0, &default_reps, &reps, NULL) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    if (reps.n == 0)
        return cvm_fail(err, DETVM_EINVALID, n, "reps: must not be empty");
    for (uint32_t i = 0; i < reps.n; i++)
        if (cvm_verify_range(n, err, "reps", reps.v[i], 1, CVM_ATTR_MAX) != 0)
            return -1;
    uint32_t ndim = n->in_shape[0].ndim;
    uint32_t out_ndim = reps.n > ndim ? reps.n : ndim;
    if (out_ndim > DV_MAX_NDIM)
        return cvm_fail(err, DETVM_EINVALID, n, "reps: output rank %u above 6", out_ndim);
    for (uint32_t k = 0; k < out_ndim; k++)
        n->attr[k] = k < out_ndim - reps.n ? 1 : reps.v[k - (out_ndim - reps.n)];
    n->n_attr = out_ndim;
    return 0;
}

const cvm_op_def cvm_def_TILE = {"tile", tile_parse, NULL, cvm_precision_same, NULL};

/* ---- strided_slice: canonical attrs are begin, end and stride per axis, defaults filled;
 * ops/ applies the runtime's clamping and its non-empty check. Entries past the input rank
 * are ignored, as the runtime ignores them. ------------------------------------------------ */

static int strided_slice_parse(cvm_node *n, detvm_error *err)
{
    static const cvm_tuple default_begin = {{0}, 1}, default_end = {{1}, 1};
    cvm_tuple begin, end, stride;
    cvm_node_set(n, DV_OP_STRIDED_SLICE, 1, 0);
    if (cvm_attr_tuple(n->attrs, "begin", 0, &default_begin, &begin, NULL) != 0 ||
        cvm_attr_tuple(n->attrs, "end", 0, &default_end, &end, NULL) != 0 ||
        cvm_attr_tuple(n->attrs, "stride", 0, NULL, &stride, NULL) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    const dv_shape *in = &n->in_shape[0];
    uint32_t ndim = in->ndim;
    for (uint32_t i = 0; i < ndim; i++) {
        n->attr[i] = i < begin.n ? begin.v[i] : 0;
        n->attr[ndim + i] = i < end.n ? end.v[i] : (int32_t)in->dim[i];
        n->attr[2 * ndim + i] = i < stride.n ? stride.v[i] : 1;
    }
    n->n_attr = 3 * ndim;
    return 0;
}

const cvm_op_def cvm_def_STRIDED_SLICE = {"strided_slice", strided_slice_parse, NULL,
                                          cvm_precision_same, NULL};

/* ---- slice_like: canonical attrs are a mask of the axes to slice ----------------------- */

static int slice_like_parse(cvm_node *n, detvm_error *err)
{
    cvm_tuple axes;
    cvm_node_set(n, DV_OP_SLICE_LIKE, 2, 0);
    if (cvm_attr_tuple(n->attrs, "axis", 0, NULL, &axes, NULL) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    uint32_t ndim = n->in_shape[0].ndim, like_ndim = n->in_shape[1].ndim;
    uint32_t common = ndim < like_ndim ? ndim : like_ndim;
    uint32_t mask = 0;
    if (axes.n == 0) {
        if (ndim != like_ndim)
            return cvm_fail(err, DETVM_EINVALID, n,
                            "axis: empty, so both inputs need the same rank (%u vs %u)", ndim,
                            like_ndim);
        mask = (1u << ndim) - 1;
    }
    for (uint32_t i = 0; i < axes.n; i++) {
        /* The runtime adds the input rank to a negative axis, then wants it in
         * [0, min(ranks) - 1]. */
        int64_t axis = axes.v[i] < 0 ? (int64_t)axes.v[i] + ndim : axes.v[i];
        if (cvm_verify_range(n, err, "axis", axis, 0, (int64_t)common - 1) != 0)
            return -1;
        mask |= 1u << axis;
    }
    n->attr[0] = (int32_t)mask;
    n->n_attr = 1;
    return 0;
}

const cvm_op_def cvm_def_SLICE_LIKE = {"slice_like", slice_like_parse, NULL,
                                       cvm_precision_same, NULL};

/* ---- take: canonical attr is the axis, or -1 for the flattened input ------------------- */

static int take_parse(cvm_node *n, detvm_error *err)
{
    int64_t axis = 0;
    int has_axis;
    cvm_node_set(n, DV_OP_TAKE, 2, 0);
    if (cvm_attr_opt_int(n->attrs, "axis", &axis, &has_axis) != 0 || cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    n->attr[0] = -1;
    if (has_axis && normalize_axis(n, err, "axis", axis, n->in_shape[0].ndim, &n->attr[0]) != 0)
        return -1;
    n->n_attr = 1;
    return 0;
}

const cvm_op_def cvm_def_TAKE = {"take", take_parse, NULL, cvm_precision_same, NULL};

/* ---- cvm_lut: in_dim is only checked against the table's size ------------------------- */

static int cvm_lut_parse(cvm_node *n, detvm_error *err)
{
    int64_t in_dim;
    cvm_node_set(n, DV_OP_CVM_LUT, 2, 0);
    if (cvm_attr_int(n->attrs, "in_dim", 1, 0, &in_dim) != 0 || cvm_attr_finish(n->attrs) != 0)
        return -1;
    if (!has_inputs(n))
        return 0;
    uint64_t table_size = dv_shape_size(&n->in_shape[1]);
    if ((uint64_t)in_dim != table_size || in_dim < 0)
        return cvm_fail(err, DETVM_EINVALID, n, "in_dim: %lld but the table has %llu entries",
                        (long long)in_dim, (unsigned long long)table_size);
    return 0;
}

/* The output has the table's precision (the second input). */
static int cvm_lut_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err) != 0)
        return -1;
    n->out_prec[0] = n->in_prec[1];
    return 0;
}

const cvm_op_def cvm_def_CVM_LUT = {"cvm_lut", cvm_lut_parse, NULL, cvm_lut_precision, NULL};
