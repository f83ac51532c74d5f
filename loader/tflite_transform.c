/* Importing TFLite's data-movement operators: RESHAPE, SQUEEZE, CONCATENATION, PAD, PADV2,
 * STRIDED_SLICE and TRANSPOSE. None of them changes a value, so TFLite Micro requires the
 * same quantization on both sides (or, for PAD, a pad value in the output's quantization),
 * and each becomes one of the data-movement ops of ops/transform.c. */
#include <string.h>

#include "tflite.h"

/* Checks the operator's arity and gives the IR tensors of input 0 and output 0. */
static detvm_status data_and_output(tfl_import *ctx, const tfl_operator *op, uint32_t min_in,
                                    uint32_t max_in, uint32_t *x, uint32_t *y, detvm_error *err)
{
    if (op->n_inputs < min_in || op->n_inputs > max_in || op->n_outputs != 1 ||
        !tfl_input(ctx, op, 0))
        return tfl_fail(ctx, op, "expects %u to %u inputs and one output", min_in, max_in);
    const tfl_tensor *in = tfl_input(ctx, op, 0), *out = tfl_output(ctx, op, 0);
    if (in->type != out->type)
        return tfl_fail(ctx, op, "input and output types differ");
    detvm_status st = tfl_value(ctx, op->inputs[0], x, err);
    return st ? st : tfl_value(ctx, op->outputs[0], y, err);
}

/* A RESHAPE of x to y's shape. */
static detvm_status emit_reshape(tfl_import *ctx, const tfl_operator *op, uint32_t x,
                                 uint32_t y, detvm_error *err)
{
    dv_shape shape = tfl_ctx_shape(ctx, y);
    int32_t dims[DV_MAX_NDIM];
    for (uint32_t i = 0; i < shape.ndim; i++)
        dims[i] = (int32_t)shape.dim[i];
    return tfl_emit(ctx, op, DV_OP_RESHAPE, 1, &x, 1, &y, dims, shape.ndim, err);
}

/* RESHAPE and SQUEEZE copy the elements in order; the output tensor's shape in the file is
 * the result (TFLite Micro takes it from there too). */
static detvm_status import_reshape_like(tfl_import *ctx, const tfl_operator *op,
                                        uint32_t max_in, detvm_error *err)
{
    uint32_t x, y;
    detvm_status st = data_and_output(ctx, op, 1, max_in, &x, &y, err);
    if (st)
        return st;
    if (!tfl_same_quantization(tfl_input(ctx, op, 0), tfl_output(ctx, op, 0)))
        return tfl_fail(ctx, op, "input and output quantization differ");
    return emit_reshape(ctx, op, x, y, err);
}

detvm_status tfl_import_reshape(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_reshape_like(ctx, op, 2, err);
}

detvm_status tfl_import_squeeze(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_reshape_like(ctx, op, 1, err);
}

/* CONCATENATION: TFLite Micro refuses int8 inputs whose quantization differs from the
 * output's, so the op is a plain join; a fused activation is refused likewise. */
detvm_status tfl_import_concatenation(tfl_import *ctx, const tfl_operator *op,
                                      detvm_error *err)
{
    if (op->n_inputs < 1 || op->n_inputs > DV_MAX_OP_INPUTS || op->n_outputs != 1)
        return tfl_fail(ctx, op, "expects 1 to %u inputs and one output", DV_MAX_OP_INPUTS);
    if (op->options.activation != TFL_ACT_NONE)
        return tfl_fail(ctx, op, "a fused activation is not supported");
    const tfl_tensor *out = tfl_output(ctx, op, 0);
    uint32_t in[DV_MAX_OP_INPUTS], y;
    for (uint32_t i = 0; i < op->n_inputs; i++) {
        const tfl_tensor *t = tfl_input(ctx, op, i);
        if (!t)
            return tfl_fail(ctx, op, "input %u is missing", i);
        if (t->type != out->type || !tfl_same_quantization(t, out))
            return tfl_fail(ctx, op, "input %u: type or quantization differs from the output's",
                            i);
        detvm_status st = tfl_value(ctx, op->inputs[i], &in[i], err);
        if (st)
            return st;
    }
    detvm_status st = tfl_value(ctx, op->outputs[0], &y, err);
    if (st)
        return st;
    int32_t rank = (int32_t)(out->ndim ? out->ndim : 1);
    int32_t axis = op->options.axis < 0 ? op->options.axis + rank : op->options.axis;
    if (axis < 0 || axis >= rank)
        return tfl_fail(ctx, op, "axis %d out of range for rank %d", op->options.axis, rank);
    return tfl_emit(ctx, op, DV_OP_CONCATENATE, op->n_inputs, in, 1, &y, &axis, 1, err);
}

/* PAD and PADV2: paddings is a constant [rank, 2] int32 tensor (TFLite Micro reads it as
 * int32); the pad value is the output zero point (PAD) or the constant_values scalar, which
 * must share the output's quantization (PADV2). */
detvm_status tfl_import_pad(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    uint32_t x, y;
    detvm_status st = data_and_output(ctx, op, 2, 3, &x, &y, err);
    if (st)
        return st;
    const tfl_tensor *in = tfl_input(ctx, op, 0), *out = tfl_output(ctx, op, 0);
    const tfl_tensor *paddings = tfl_input(ctx, op, 1), *value = tfl_input(ctx, op, 2);
    if (!tfl_same_quantization(in, out))
        return tfl_fail(ctx, op, "input and output quantization differ");
    int32_t pads[2 * DV_MAX_NDIM];
    uint32_t n, rank = in->ndim ? in->ndim : 1;
    if (!paddings || paddings->type != TFL_INT32 ||
        tfl_tensor_ints(paddings, pads, 2 * DV_MAX_NDIM, &n) != 0 || n != 2 * rank)
        return tfl_fail(ctx, op, "paddings: must be a constant int32 [%u, 2] tensor", rank);
    int32_t attrs[1 + 2 * DV_MAX_NDIM];
    if (value) {
        if (value->type != in->type)
            return tfl_fail(ctx, op, "constant_values: type differs from the input's");
        if (!tfl_same_quantization(value, out))
            return tfl_fail(ctx, op, "constant_values: quantization differs from the output's");
        if (tfl_tensor_ints(value, attrs, 1, &n) != 0 || n != 1)
            return tfl_fail(ctx, op, "constant_values: must hold one value");
    } else {
        int32_t lo, hi;
        if (tfl_type_range(out->type, &lo, &hi) != 0 || out->n_quant == 0 ||
            out->zero_point[0] < lo || out->zero_point[0] > hi)
            return tfl_fail(ctx, op, "the output zero point is outside its type");
        attrs[0] = (int32_t)out->zero_point[0];
    }
    for (uint32_t i = 0; i < rank; i++) {
        attrs[1 + i] = pads[2 * i];
        attrs[1 + rank + i] = pads[2 * i + 1];
    }
    return tfl_emit(ctx, op, DV_OP_PAD, 1, &x, 1, &y, attrs, 1 + 2 * rank, err);
}

/* TRANSPOSE: perm is a constant int32 vector, a permutation of the input's axes. */
detvm_status tfl_import_transpose(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    uint32_t x, y;
    detvm_status st = data_and_output(ctx, op, 2, 2, &x, &y, err);
    if (st)
        return st;
    if (!tfl_same_quantization(tfl_input(ctx, op, 0), tfl_output(ctx, op, 0)))
        return tfl_fail(ctx, op, "input and output quantization differ");
    int32_t perm[DV_MAX_NDIM];
    uint32_t n;
    const tfl_tensor *p = tfl_input(ctx, op, 1);
    if (!p || tfl_tensor_ints(p, perm, DV_MAX_NDIM, &n) != 0)
        return tfl_fail(ctx, op, "perm: must be a constant integer vector of at most 6 axes");
    return tfl_emit(ctx, op, DV_OP_TRANSPOSE, 1, &x, 1, &y, perm, n, err);
}

/* ---- STRIDED_SLICE ------------------------------------------------------------------------
 *
 * begin, end and strides are constant int32 vectors, one entry per input axis; ellipsis and
 * new-axis masks are refused, as TFLite Micro ignores them. Per axis of size d, as TFLite's
 * reference kernel resolves them:
 *   start: a negative begin counts from the end, then clamps to [0, d] (stride > 0) or
 *          [-1, d-1] (stride < 0); begin_mask makes it 0 or d-1;
 *   stop:  a shrunk axis stops at start + 1 (start when start >= d); otherwise end (plus start
 *          with the offset option), negative counts from the end, clamped the same way;
 *          end_mask makes it d or -1;
 * and the slice takes start, start + stride, ... while short of stop. The result goes to
 * STRIDED_SLICE (ops/transform.c), whose canonical begin and end are those resolved values
 * (an end of -1 written as -(d + 1), which that op clamps back to -1), then, when axes are
 * shrunk, to a RESHAPE that drops them. */
static int clamp_int(int64_t v, int64_t lo, int64_t hi)
{
    return (int)(v < lo ? lo : v > hi ? hi : v);
}

static int slice_start(int64_t begin, int64_t d, int32_t stride, int masked)
{
    if (begin < 0)
        begin += d;
    int start = stride > 0 ? clamp_int(begin, 0, d) : clamp_int(begin, -1, d - 1);
    if (masked)
        start = stride > 0 ? 0 : (int)d - 1;
    return start;
}

static int slice_stop(int64_t end, int64_t d, int32_t stride, int start, int masked,
                      int shrink, int offset)
{
    if (shrink)
        return start >= d ? start : start + 1;
    if (offset)
        end += start;
    if (end < 0)
        end += d;
    int stop = stride > 0 ? clamp_int(end, 0, d) : clamp_int(end, -1, d - 1);
    if (masked)
        stop = stride > 0 ? (int)d : -1;
    return stop;
}

detvm_status tfl_import_strided_slice(tfl_import *ctx, const tfl_operator *op,
                                      detvm_error *err)
{
    uint32_t x, y;
    detvm_status st = data_and_output(ctx, op, 4, 4, &x, &y, err);
    if (st)
        return st;
    const tfl_tensor *in = tfl_input(ctx, op, 0);
    if (!tfl_same_quantization(in, tfl_output(ctx, op, 0)))
        return tfl_fail(ctx, op, "input and output quantization differ");
    const tfl_options *o = &op->options;
    if (o->ellipsis_mask || o->new_axis_mask)
        return tfl_fail(ctx, op, "ellipsis_mask and new_axis_mask are not supported");
    uint32_t rank = in->ndim ? in->ndim : 1, n[3];
    int32_t v[3][DV_MAX_NDIM];
    for (uint32_t k = 0; k < 3; k++) {
        const tfl_tensor *t = tfl_input(ctx, op, 1 + k);
        if (!t || t->type != TFL_INT32 || tfl_tensor_ints(t, v[k], DV_MAX_NDIM, &n[k]) != 0 ||
            n[k] != rank)
            return tfl_fail(ctx, op, "%s: must be a constant int32 vector with %u entries",
                            k == 0 ? "begin" : k == 1 ? "end" : "strides", rank);
    }
    int32_t attrs[3 * DV_MAX_NDIM];
    dv_shape kept = {0, {0}}, sliced = {rank, {0}};
    for (uint32_t i = 0; i < rank; i++) {
        int64_t d = in->ndim ? in->dim[i] : 1;
        int32_t stride = v[2][i];
        if (stride == 0)
            return tfl_fail(ctx, op, "strides[%u]: must not be 0", i);
        int shrink = (o->shrink_axis_mask >> i) & 1;
        int start = slice_start(v[0][i], d, stride, (o->begin_mask >> i) & 1);
        int stop = slice_stop(v[1][i], d, stride, start, (o->end_mask >> i) & 1, shrink,
                              o->offset);
        int64_t span = stride > 0 ? (int64_t)stop - start : (int64_t)start - stop;
        int64_t step = stride > 0 ? stride : -(int64_t)stride;
        if (span <= 0 || start < 0 || start >= d)
            return tfl_fail(ctx, op, "axis %u: the slice is empty", i);
        sliced.dim[i] = (uint32_t)((span + step - 1) / step);
        attrs[i] = start;
        attrs[rank + i] = stop >= 0 ? stop : (int32_t)(-(d + 1));
        attrs[2 * rank + i] = stride;
        if (!shrink)
            kept.dim[kept.ndim++] = sliced.dim[i];
    }
    if (kept.ndim == rank)
        return tfl_emit(ctx, op, DV_OP_STRIDED_SLICE, 1, &x, 1, &y, attrs, 3 * rank, err);
    uint32_t tmp;
    st = tfl_temporary(ctx, &sliced, &tmp, err);
    if (!st)
        st = tfl_emit(ctx, op, DV_OP_STRIDED_SLICE, 1, &x, 1, &tmp, attrs, 3 * rank, err);
    if (st)
        return st;
    return emit_reshape(ctx, op, tmp, y, err);
}
