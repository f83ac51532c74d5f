/* Data-movement ops: reshaping views, permutations, joins, repeats, slices and gathers.
 *
 * None of these ops computes a new value: every output element is a copy of one input
 * element, so the specification of each op is only its index map (which input element lands
 * where) and its clamping rules. Elements are copied bit for bit; no op here can overflow.
 *
 * Canonical attributes are what the loaders hand over after resolving their format's
 * conveniences: axes are already non-negative, reshape's target is a concrete shape, and
 * defaults are filled in. Each infer function still checks every value, because a module's
 * attributes may come from a hostile file. */
#include <string.h>

#include "op.h"

/* ---- helpers shared by the family ------------------------------------------------------ */

/* Product of dims [from, to) of a shape; at most 2^30 for a checked shape. */
static uint64_t dims_product(const dv_shape *s, uint32_t from, uint32_t to)
{
    uint64_t n = 1;
    for (uint32_t i = from; i < to; i++)
        n *= s->dim[i];
    return n;
}

/* Row-major element strides of a shape. */
static void row_major_strides(const dv_shape *s, int64_t *stride)
{
    int64_t step = 1;
    for (uint32_t i = s->ndim; i-- > 0;) {
        stride[i] = step;
        step *= s->dim[i];
    }
}

/* Sets one output dimension, refusing values a shape cannot hold (computed in 64 bits, so a
 * product of attribute and dimension never wraps before it is checked). */
static const char *set_dim(dv_shape *out, uint32_t i, uint64_t value, const char *too_big)
{
    if (value < 1 || value > DV_MAX_DIM)
        return too_big;
    out->dim[i] = (uint32_t)value;
    return NULL;
}

/* The copy loop behind TRANSPOSE, STRIDED_SLICE, SLICE_LIKE and TILE. It walks the output
 * in row-major order with an odometer; along output axis k the input offset moves by
 * step[k] and wraps back every period[k] positions (period[k] divides the output dim; when
 * it equals the output dim the axis never wraps early):
 *
 *   out[c] = in[base + sum_k (c_k mod period_k) * step_k]
 *
 * Steps may be negative (a reversed slice); infer proves every offset lies in the input. */
static void gather(const dv_shape *out_shape, int32_t *out, const int32_t *in, int64_t base,
                   const int64_t *step, const uint32_t *period)
{
    uint32_t ndim = out_shape->ndim;
    uint32_t coord[DV_MAX_NDIM] = {0}, phase[DV_MAX_NDIM] = {0};
    int64_t offset = base;
    uint64_t total = dv_shape_size(out_shape);
    for (uint64_t i = 0; i < total; i++) {
        out[i] = in[offset];
        for (uint32_t k = ndim; k-- > 0;) {
            offset += step[k];
            if (++phase[k] == period[k]) {
                phase[k] = 0;
                offset -= step[k] * (int64_t)period[k];
            }
            if (++coord[k] < out_shape->dim[k])
                break;
            coord[k] = 0; /* phase[k] wrapped to 0 at the same time */
        }
    }
}

/* Clamps a gather index to [0, n-1]: the CVM runtime's rule for TAKE and CVM_LUT, so that
 * any index value, even one computed at run time, reads inside the table. */
static uint64_t clamp_index(int32_t index, uint64_t n)
{
    if (index < 0)
        return 0;
    return (uint64_t)index < n ? (uint64_t)index : n - 1;
}

/* The kernel of FLATTEN, RESHAPE, EXPAND_DIMS and SQUEEZE, which only change the shape:
 * the output's row-major elements are the input's, in the same order. */
static void copy_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    memcpy(out->data, in->data, (size_t)dv_shape_size(&in->shape) * sizeof(int32_t));
}

/* ---- FLATTEN ----------------------------------------------------------------------------
 *
 * Opcode: FLATTEN  x -> y   attrs: none
 *
 * y has shape (d0, d1*d2*...*dk) and the elements of x in row-major order. A 1-D input
 * (d0) becomes (d0, 1). */
static const char *flatten_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (a->n != 0)
        return "flatten: takes no attributes";
    out->ndim = 2;
    out->dim[0] = in->dim[0];
    out->dim[1] = (uint32_t)dims_product(in, 1, in->ndim);
    return dv_shape_check(out);
}

/* ---- RESHAPE ----------------------------------------------------------------------------
 *
 * Opcode: RESHAPE  x -> y   attrs: dim[0..n-1], the output shape (n = 1..6)
 *
 * The loader resolves its format's special codes (CVM's 0, -1, -2, -3, -4) into the
 * concrete output shape, so this op only checks that the element count is unchanged.
 * y has the elements of x in row-major order. */
static const char *reshape_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (a->n < 1 || a->n > DV_MAX_NDIM)
        return "reshape: shape must have 1 to 6 dimensions";
    out->ndim = a->n;
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->v[i] < 1 || (uint32_t)a->v[i] > DV_MAX_DIM)
            return "reshape: shape: each dimension must be 1 to 2^24";
        out->dim[i] = (uint32_t)a->v[i];
    }
    const char *bad = dv_shape_check(out);
    if (bad)
        return bad;
    if (dv_shape_size(out) != dv_shape_size(in))
        return "reshape: shape: element count differs from the input's";
    return NULL;
}

/* ---- EXPAND_DIMS ------------------------------------------------------------------------
 *
 * Opcode: EXPAND_DIMS  x -> y   attrs: axis (0..ndim), num_newaxis (>= 1)
 *
 * Inserts num_newaxis dimensions of size 1 before input axis `axis` (axis = ndim appends
 * them). The elements are unchanged. */
static const char *expand_dims_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    if (a->n != 2)
        return "expand_dims: expects attributes axis, num_newaxis";
    int32_t axis = a->v[0], count = a->v[1];
    if (axis < 0 || (uint32_t)axis > in->ndim)
        return "expand_dims: axis: out of range";
    if (count < 1 || (uint32_t)count > DV_MAX_NDIM - in->ndim)
        return "expand_dims: num_newaxis: must be at least 1 and keep the rank <= 6";
    out->ndim = in->ndim + (uint32_t)count;
    for (uint32_t i = 0, o = 0; i <= in->ndim; i++) {
        if (i == (uint32_t)axis)
            for (int32_t k = 0; k < count; k++)
                out->dim[o++] = 1;
        if (i < in->ndim)
            out->dim[o++] = in->dim[i];
    }
    return dv_shape_check(out);
}

/* ---- SQUEEZE ----------------------------------------------------------------------------
 *
 * Opcode: SQUEEZE  x -> y   attrs: mask (bit i set: drop input axis i)
 *
 * Drops the axes in mask, each of which must have size 1. When every axis is dropped the
 * output is (1). The elements are unchanged. */
static const char *squeeze_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (a->n != 1)
        return "squeeze: expects one attribute, the axis mask";
    uint32_t mask = (uint32_t)a->v[0];
    if (mask >> in->ndim)
        return "squeeze: axis: out of range";
    out->ndim = 0;
    for (uint32_t i = 0; i < in->ndim; i++) {
        if (!(mask >> i & 1))
            out->dim[out->ndim++] = in->dim[i];
        else if (in->dim[i] != 1)
            return "squeeze: axis: a squeezed axis must have size 1";
    }
    if (out->ndim == 0)
        out->dim[out->ndim++] = 1;
    return dv_shape_check(out);
}

/* ---- TRANSPOSE --------------------------------------------------------------------------
 *
 * Opcode: TRANSPOSE  x -> y   attrs: perm[0..ndim-1], a permutation of 0..ndim-1
 *
 * Output axis i is input axis perm[i]:
 *   y.shape[i] = x.shape[perm[i]],  y[c_0, ..., c_{n-1}] = x[e] with e[perm[i]] = c_i. */
static const char *transpose_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                   uint32_t n_out, dv_shape *out)
{
    if (a->n != in->ndim)
        return "transpose: axes: need one entry per input axis";
    uint32_t seen = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        int32_t axis = a->v[i];
        if (axis < 0 || (uint32_t)axis >= in->ndim)
            return "transpose: axes: out of range";
        if (seen >> axis & 1)
            return "transpose: axes: repeated axis";
        seen |= 1u << axis;
        out->dim[i] = in->dim[axis];
    }
    out->ndim = in->ndim;
    return NULL;
}

static void transpose_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                          dv_tensor *out, int32_t *scratch)
{
    int64_t in_stride[DV_MAX_NDIM], step[DV_MAX_NDIM];
    row_major_strides(&in->shape, in_stride);
    for (uint32_t i = 0; i < out->shape.ndim; i++)
        step[i] = in_stride[a->v[i]];
    gather(&out->shape, out->data, in->data, 0, step, out->shape.dim);
}

/* ---- CONCATENATE ------------------------------------------------------------------------
 *
 * Opcode: CONCATENATE  x_0, ..., x_{m-1} -> y   attrs: axis (0..ndim-1)
 *
 * All inputs have the same rank and agree on every dimension but `axis`; y.shape[axis] is
 * the sum of theirs. Along `axis`, y holds x_0's slices, then x_1's, and so on. */
static const char *concatenate_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    if (a->n != 1)
        return "concatenate: expects one attribute, axis";
    int32_t axis = a->v[0];
    if (axis < 0 || (uint32_t)axis >= in[0].ndim)
        return "concatenate: axis: out of range";
    uint64_t total = 0;
    for (uint32_t m = 0; m < n_in; m++) {
        if (in[m].ndim != in[0].ndim)
            return "concatenate: inputs differ in rank";
        for (uint32_t i = 0; i < in[0].ndim; i++)
            if (i != (uint32_t)axis && in[m].dim[i] != in[0].dim[i])
                return "concatenate: inputs differ on a dimension other than axis";
        total += in[m].dim[axis];
    }
    *out = in[0];
    const char *bad = set_dim(out, (uint32_t)axis, total, "concatenate: output axis above 2^24");
    return bad ? bad : dv_shape_check(out);
}

static void concatenate_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                            dv_tensor *out, int32_t *scratch)
{
    uint32_t axis = (uint32_t)a->v[0];
    uint64_t outer = dims_product(&out->shape, 0, axis);
    uint64_t inner = dims_product(&out->shape, axis + 1, out->shape.ndim);
    int32_t *y = out->data;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint32_t m = 0; m < n_in; m++) {
            uint64_t block = in[m].shape.dim[axis] * inner;
            memcpy(y, in[m].data + o * block, (size_t)block * sizeof(int32_t));
            y += block;
        }
    }
}

/* ---- REPEAT -----------------------------------------------------------------------------
 *
 * Opcode: REPEAT  x -> y   attrs: repeats (>= 1), axis (0..ndim-1)
 *
 * Repeats each slice along `axis` `repeats` times in place:
 *   y.shape[axis] = x.shape[axis] * repeats,  y[..., j, ...] = x[..., j / repeats, ...]
 * (integer division). */
static const char *repeat_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (a->n != 2)
        return "repeat: expects attributes repeats, axis";
    int32_t repeats = a->v[0], axis = a->v[1];
    if (repeats < 1)
        return "repeat: repeats: must be positive";
    if (axis < 0 || (uint32_t)axis >= in->ndim)
        return "repeat: axis: out of range";
    *out = *in;
    const char *bad = set_dim(out, (uint32_t)axis, (uint64_t)in->dim[axis] * (uint64_t)repeats,
                              "repeat: repeats: output axis above 2^24");
    return bad ? bad : dv_shape_check(out);
}

static void repeat_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    uint32_t repeats = (uint32_t)a->v[0], axis = (uint32_t)a->v[1];
    uint64_t outer = dims_product(&in->shape, 0, axis);
    uint64_t inner = dims_product(&in->shape, axis + 1, in->shape.ndim);
    uint64_t n = in->shape.dim[axis];
    int32_t *y = out->data;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t j = 0; j < n * repeats; j++) {
            memcpy(y, in->data + (o * n + j / repeats) * inner, (size_t)inner * sizeof(int32_t));
            y += inner;
        }
    }
}

/* ---- TILE -------------------------------------------------------------------------------
 *
 * Opcode: TILE  x -> y   attrs: reps[0..n-1] (each >= 1, n = output rank, x.ndim..6)
 *
 * x is first viewed with rank n by prepending axes of size 1 (its dims are aligned to the
 * right), then repeated whole reps[k] times along each axis k:
 *   y.shape[k] = x'.shape[k] * reps[k],  y[c] = x'[c_k mod x'.shape[k] for each k]. */
static const char *tile_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in, uint32_t n_out,
                              dv_shape *out)
{
    if (a->n < in->ndim || a->n > DV_MAX_NDIM)
        return "tile: reps: need one entry per output axis (input rank to 6)";
    uint32_t lead = a->n - in->ndim;
    out->ndim = a->n;
    for (uint32_t k = 0; k < a->n; k++) {
        if (a->v[k] < 1)
            return "tile: reps: must be positive";
        uint64_t dim = k < lead ? 1 : in->dim[k - lead];
        const char *bad =
            set_dim(out, k, dim * (uint64_t)a->v[k], "tile: reps: output axis above 2^24");
        if (bad)
            return bad;
    }
    return dv_shape_check(out);
}

static void tile_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    uint32_t lead = out->shape.ndim - in->shape.ndim;
    int64_t in_stride[DV_MAX_NDIM], step[DV_MAX_NDIM];
    uint32_t period[DV_MAX_NDIM];
    row_major_strides(&in->shape, in_stride);
    for (uint32_t k = 0; k < out->shape.ndim; k++) {
        step[k] = k < lead ? 0 : in_stride[k - lead];
        period[k] = k < lead ? 1 : in->shape.dim[k - lead];
    }
    gather(&out->shape, out->data, in->data, 0, step, period);
}

/* ---- STRIDED_SLICE ----------------------------------------------------------------------
 *
 * Opcode: STRIDED_SLICE  x -> y   attrs: begin[ndim], end[ndim], stride[ndim]
 *
 * Per axis with size d, the CVM runtime's rules (all in 64-bit arithmetic):
 *   - stride must not be 0;
 *   - a negative begin or end counts from the end (adds d);
 *   - both are then clamped to [0, d] for a positive stride, to [-1, d-1] for a negative one;
 *   - the slice must not be empty: begin < end for a positive stride, begin > end for a
 *     negative one;
 *   - y.shape = ceil(|end - begin| / |stride|), and y[..., j, ...] = x[..., begin + j*stride, ...].
 * Every index read lies in [0, d-1]: the clamps keep begin there, and j*stride stays short
 * of end. */
typedef struct {
    int64_t first;  /* the clamped begin */
    uint64_t count; /* output size along the axis */
} slice_axis;

static const char *strided_slice_axis(uint32_t d, int32_t begin_attr, int32_t end_attr,
                                      int32_t stride, slice_axis *s)
{
    if (stride == 0)
        return "strided_slice: stride: must not be 0";
    int64_t low = stride < 0 ? -1 : 0;
    int64_t high = stride < 0 ? (int64_t)d - 1 : (int64_t)d;
    int64_t begin = begin_attr < 0 ? (int64_t)d + begin_attr : begin_attr;
    int64_t end = end_attr < 0 ? (int64_t)d + end_attr : end_attr;
    begin = begin < low ? low : begin > high ? high : begin;
    end = end < low ? low : end > high ? high : end;
    if (stride < 0 ? !(end < begin) : !(begin < end))
        return "strided_slice: begin, end: empty slice";
    int64_t span = end > begin ? end - begin : begin - end;
    int64_t step = stride < 0 ? -(int64_t)stride : stride;
    s->first = begin;
    s->count = (uint64_t)((span + step - 1) / step);
    return NULL;
}

static const char *strided_slice_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                       uint32_t n_out, dv_shape *out)
{
    uint32_t ndim = in->ndim;
    if (a->n != 3 * ndim)
        return "strided_slice: expects begin, end and stride for each input axis";
    out->ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++) {
        slice_axis s;
        const char *bad =
            strided_slice_axis(in->dim[i], a->v[i], a->v[ndim + i], a->v[2 * ndim + i], &s);
        if (bad)
            return bad;
        out->dim[i] = (uint32_t)s.count;
    }
    return NULL;
}

static void strided_slice_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                              dv_tensor *out, int32_t *scratch)
{
    uint32_t ndim = in->shape.ndim;
    int64_t in_stride[DV_MAX_NDIM], step[DV_MAX_NDIM], base = 0;
    row_major_strides(&in->shape, in_stride);
    for (uint32_t i = 0; i < ndim; i++) {
        slice_axis s = {0, 0};
        strided_slice_axis(in->shape.dim[i], a->v[i], a->v[ndim + i], a->v[2 * ndim + i], &s);
        base += s.first * in_stride[i];
        step[i] = a->v[2 * ndim + i] * in_stride[i];
    }
    gather(&out->shape, out->data, in->data, base, step, out->shape.dim);
}

/* ---- SLICE_LIKE -------------------------------------------------------------------------
 *
 * Opcode: SLICE_LIKE  x, like -> y   attrs: mask (bit i set: slice input axis i)
 *
 * For each axis i in mask (i below both ranks), y.shape[i] = like.shape[i], which must not
 * exceed x.shape[i]; other axes keep x's size. y is the leading corner of x:
 * y[c] = x[c]. Only like's shape is used, never its elements. */
static const char *slice_like_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    if (a->n != 1)
        return "slice_like: expects one attribute, the axis mask";
    uint32_t mask = (uint32_t)a->v[0];
    uint32_t common = in[0].ndim < in[1].ndim ? in[0].ndim : in[1].ndim;
    if (mask >> common)
        return "slice_like: axis: out of range";
    *out = in[0];
    for (uint32_t i = 0; i < common; i++) {
        if (!(mask >> i & 1))
            continue;
        if (in[1].dim[i] > in[0].dim[i])
            return "slice_like: axis: the shape to match exceeds the input";
        out->dim[i] = in[1].dim[i];
    }
    return NULL;
}

static void slice_like_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                           dv_tensor *out, int32_t *scratch)
{
    int64_t in_stride[DV_MAX_NDIM];
    row_major_strides(&in[0].shape, in_stride);
    gather(&out->shape, out->data, in[0].data, 0, in_stride, out->shape.dim);
}

/* ---- TAKE -------------------------------------------------------------------------------
 *
 * Opcode: TAKE  x, indices -> y   attrs: axis (0..ndim-1), or -1 for the flattened input
 *
 * With axis -1: y has indices' shape and y[i] = flat(x)[clamp(indices[i])].
 * With an axis: y.shape = x.shape[:axis] + indices.shape + x.shape[axis+1:], and
 *   y[a, k, b] = x[a, clamp(flat(indices)[k]), b].
 * clamp(v) = min(max(v, 0), n - 1), n being the size of the flattened input or of `axis`:
 * out-of-range indices read the first or last element, as in the CVM runtime. */
static const char *take_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in, uint32_t n_out,
                              dv_shape *out)
{
    if (a->n != 1)
        return "take: expects one attribute, axis";
    int32_t axis = a->v[0];
    const dv_shape *x = &in[0], *indices = &in[1];
    if (axis == -1) {
        *out = *indices;
        return NULL;
    }
    if (axis < 0 || (uint32_t)axis >= x->ndim)
        return "take: axis: out of range";
    if (x->ndim - 1 + indices->ndim > DV_MAX_NDIM)
        return "take: output rank above 6";
    out->ndim = 0;
    for (uint32_t i = 0; i < x->ndim; i++) {
        if (i != (uint32_t)axis)
            out->dim[out->ndim++] = x->dim[i];
        else
            for (uint32_t j = 0; j < indices->ndim; j++)
                out->dim[out->ndim++] = indices->dim[j];
    }
    return dv_shape_check(out);
}

/* y[i] = table[clamp(index[i])] for i below the size of `index`; shared with CVM_LUT. */
static void take_flat(const dv_tensor *table, const dv_tensor *index, dv_tensor *y)
{
    uint64_t n = dv_shape_size(&table->shape), count = dv_shape_size(&index->shape);
    for (uint64_t i = 0; i < count; i++)
        y->data[i] = table->data[clamp_index(index->data[i], n)];
}

static void take_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    const dv_tensor *x = &in[0], *indices = &in[1];
    if (a->v[0] == -1) {
        take_flat(x, indices, out);
        return;
    }
    uint32_t axis = (uint32_t)a->v[0];
    uint64_t outer = dims_product(&x->shape, 0, axis);
    uint64_t inner = dims_product(&x->shape, axis + 1, x->shape.ndim);
    uint64_t n = x->shape.dim[axis], count = dv_shape_size(&indices->shape);
    int32_t *y = out->data;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t k = 0; k < count; k++) {
            uint64_t row = o * n + clamp_index(indices->data[k], n);
            memcpy(y, x->data + row * inner, (size_t)inner * sizeof(int32_t));
            y += inner;
        }
    }
}

/* ---- CVM_LUT ----------------------------------------------------------------------------
 *
 * Opcode: CVM_LUT  x, table -> y   attrs: none
 *
 * A table lookup: y has x's shape and y[i] = flat(table)[clamp(x[i])], with the same
 * clamping as TAKE (indices below 0 read the first entry, above the last read the last). */
static const char *cvm_lut_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (a->n != 0)
        return "cvm_lut: takes no attributes";
    *out = in[0];
    return NULL;
}

static void cvm_lut_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    take_flat(&in[1], &in[0], out);
}

/* ---- PAD --------------------------------------------------------------------------------
 *
 * Opcode: PAD  x -> y   attrs: value, before[ndim], after[ndim]   (each before, after >= 0)
 *
 * y.shape[i] = before[i] + x.shape[i] + after[i]. Element c of y is x[c - before] when
 * every coordinate c_i - before[i] lies in [0, x.shape[i]), and `value` otherwise. */
static const char *pad_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                             uint32_t n_out, dv_shape *out)
{
    if (a->n != 1 + 2 * in->ndim)
        return "pad: expects value, then before and after for each input axis";
    out->ndim = in->ndim;
    for (uint32_t i = 0; i < in->ndim; i++) {
        int32_t before = a->v[1 + i], after = a->v[1 + in->ndim + i];
        if (before < 0 || after < 0)
            return "pad: before, after: must not be negative";
        const char *bad = set_dim(out, i, (uint64_t)before + in->dim[i] + (uint64_t)after,
                                  "pad: output dimension above 2^24");
        if (bad)
            return bad;
    }
    return dv_shape_check(out);
}

static void pad_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    uint32_t ndim = in->shape.ndim;
    uint64_t total = dv_shape_size(&out->shape);
    for (uint64_t i = 0; i < total; i++)
        out->data[i] = a->v[0];
    /* copy x row by row (rows along the last axis) into the interior of y */
    int64_t out_stride[DV_MAX_NDIM];
    row_major_strides(&out->shape, out_stride);
    uint32_t row = in->shape.dim[ndim - 1];
    uint64_t rows = dv_shape_size(&in->shape) / row;
    uint32_t coord[DV_MAX_NDIM] = {0};
    for (uint64_t r = 0; r < rows; r++) {
        int64_t offset = 0;
        for (uint32_t i = 0; i < ndim; i++)
            offset += ((int64_t)coord[i] + a->v[1 + i]) * out_stride[i];
        memcpy(out->data + offset, in->data + r * row, (size_t)row * sizeof(int32_t));
        for (uint32_t k = ndim - 1; k-- > 0;) {
            if (++coord[k] < in->shape.dim[k])
                break;
            coord[k] = 0;
        }
    }
}

/* ---- the table entries ----------------------------------------------------------------- */

const dv_op_info dv_info_FLATTEN = {"flatten", 1, 1, 1, flatten_infer, copy_run, NULL};
const dv_op_info dv_info_RESHAPE = {"reshape", 1, 1, 1, reshape_infer, copy_run, NULL};
const dv_op_info dv_info_EXPAND_DIMS = {"expand_dims", 1, 1, 1, expand_dims_infer, copy_run, NULL};
const dv_op_info dv_info_SQUEEZE = {"squeeze", 1, 1, 1, squeeze_infer, copy_run, NULL};
const dv_op_info dv_info_TRANSPOSE = {"transpose", 1, 1, 1, transpose_infer, transpose_run, NULL};
const dv_op_info dv_info_CONCATENATE = {
    "concatenate", 1, DV_MAX_OP_INPUTS, 1, concatenate_infer, concatenate_run, NULL};
const dv_op_info dv_info_REPEAT = {"repeat", 1, 1, 1, repeat_infer, repeat_run, NULL};
const dv_op_info dv_info_TILE = {"tile", 1, 1, 1, tile_infer, tile_run, NULL};
const dv_op_info dv_info_STRIDED_SLICE = {"strided_slice",   1,   1, 1, strided_slice_infer,
                                          strided_slice_run, NULL};
const dv_op_info dv_info_SLICE_LIKE = {"slice_like",   2,   2, 1, slice_like_infer,
                                       slice_like_run, NULL};
const dv_op_info dv_info_TAKE = {"take", 2, 2, 1, take_infer, take_run, NULL};
const dv_op_info dv_info_CVM_LUT = {"cvm_lut", 2, 2, 1, cvm_lut_infer, cvm_lut_run, NULL};
const dv_op_info dv_info_PAD = {"pad", 1, 1, 1, pad_infer, pad_run, NULL};
