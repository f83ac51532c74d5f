/* Importers of TFLite's int8 neural-network operators: CONV_2D, DEPTHWISE_CONV_2D,
 * FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D and MEAN, onto the kernels of ops/qnn.c.
 *
 * Each importer checks what TFLite Micro's Prepare checks (and refuses what this importer does
 * not support: anything but int8 activations and weights and int32 bias), then computes the
 * parameters that Prepare computes, with the same floating-point operations in the same
 * order, since the multipliers they give are part of the model's arithmetic:
 *
 *   padding      ComputePaddingHeightWidth: SAME gives ceil(in / stride) outputs, VALID
 *                (in - dilated window) / stride + 1, and the total padding
 *                max(0, (out - 1) * stride + dilated window - in) is split with the odd unit
 *                at the bottom or right (which only sizes the output).
 *   multipliers  conv, depthwise, per-channel fully connected (PopulateConvolutionQuantization-
 *                Params, CalculateOpDataFullyConnected): per output channel,
 *                QuantizeMultiplier(double(input_scale) * double(filter_scale[c])
 *                / double(output_scale)); a single filter scale is repeated.
 *                per-tensor fully connected (GetQuantizedConvolutionMultipler): the scales
 *                are multiplied in float first, double(float(input_scale * filter_scale))
 *                / double(output_scale).
 *                MEAN: QuantizeMultiplier(double(input_scale) / double(output_scale)).
 *   activation   CalculateActivationRangeQuantized of the fused activation on the output.
 *   offsets      input_offset = -input zero point, output_offset = output zero point,
 *                filter_offset = -weights zero point (per-tensor fully connected only).
 *
 * The attribute layouts written here are documented at the kernels in ops/qnn.c. */
#include <math.h>
#include <stdlib.h>

#include "../ops/quant.h"
#include "../vm/error.h"
#include "../ops/qnn_attrs.h"
#include "tflite.h"

static const char *type_name(int32_t type)
{
    static const char *const names[] = {
        "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16",
        "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT",
        "UINT32", "UINT16", "INT4"};
    return type >= 0 && type < (int32_t)(sizeof names / sizeof names[0]) ? names[type] : "UNKNOWN";
}

static uint64_t element_count(const tfl_tensor *t)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < t->ndim; i++)
        n *= (uint64_t)t->dim[i];
    return n;
}

static detvm_status check_arity(const tfl_import *ctx, const tfl_operator *op, uint32_t min_in,
                                uint32_t max_in)
{
    if (op->n_inputs < min_in || op->n_inputs > max_in || op->n_outputs != 1)
        return tfl_fail(ctx, op, "expects %u to %u inputs and 1 output, has %u and %u", min_in,
                        max_in, op->n_inputs, op->n_outputs);
    return DETVM_OK;
}

/* The per-tensor quantization of an int8 activation tensor. TFLite Micro reads a tensor's
 * first scale and zero point; this importer wants exactly one of each, a positive finite
 * scale and a zero point that int8 can hold. */
typedef struct {
    float scale;
    int32_t zero_point;
} quant;

static detvm_status int8_activation(const tfl_import *ctx, const tfl_operator *op,
                                    const tfl_tensor *t, const char *what, quant *q)
{
    if (!t)
        return tfl_fail(ctx, op, "%s: missing", what);
    if (t->type != TFL_INT8)
        return tfl_fail(ctx, op, "%s: type %s unsupported (int8 only)", what, type_name(t->type));
    if (t->n_quant != 1)
        return tfl_fail(ctx, op, "%s: needs per-tensor quantization (has %u scales)", what,
                        t->n_quant);
    if (!(t->scale[0] > 0.0f) || !isfinite(t->scale[0]))
        return tfl_fail(ctx, op, "%s: scale %g unsupported (must be positive and finite)", what,
                        (double)t->scale[0]);
    if (t->zero_point[0] < -128 || t->zero_point[0] > 127)
        return tfl_fail(ctx, op, "%s: zero point %lld outside int8", what,
                        (long long)t->zero_point[0]);
    q->scale = t->scale[0];
    q->zero_point = (int32_t)t->zero_point[0];
    return DETVM_OK;
}

static detvm_status int8_weights(const tfl_import *ctx, const tfl_operator *op,
                                 const tfl_tensor *t, const char *what)
{
    if (!t)
        return tfl_fail(ctx, op, "%s: missing", what);
    if (t->type != TFL_INT8)
        return tfl_fail(ctx, op, "%s: type %s unsupported (int8 only)", what, type_name(t->type));
    if (t->n_quant == 0)
        return tfl_fail(ctx, op, "%s: not quantized", what);
    return DETVM_OK;
}

/* A filter's scales: one (per tensor) or one per output channel, along a quantized dimension
 * of that size (TFLite Micro's checks). Symmetric weights are required: the convolution
 * kernels ignore the filter zero point, so a non-zero one would silently change the model's
 * meaning. */
static detvm_status check_channel_scales(const tfl_import *ctx, const tfl_operator *op,
                                         const tfl_tensor *filter, const char *what,
                                         uint32_t channels)
{
    if (filter->n_quant != 1 && filter->n_quant != channels)
        return tfl_fail(ctx, op, "%s: %u scales for %u output channels", what, filter->n_quant,
                        channels);
    if (filter->n_quant > 1 &&
        (filter->quantized_dimension < 0 || (uint32_t)filter->quantized_dimension >= filter->ndim ||
         (uint32_t)filter->dim[filter->quantized_dimension] != filter->n_quant))
        return tfl_fail(ctx, op, "%s: quantized dimension %d does not have %u entries", what,
                        filter->quantized_dimension, filter->n_quant);
    for (uint32_t c = 0; c < filter->n_quant; c++)
        if (filter->zero_point[c] != 0)
            return tfl_fail(ctx, op, "%s: zero point %lld unsupported (symmetric weights only)",
                            what, (long long)filter->zero_point[c]);
    return DETVM_OK;
}

/* Per-channel multipliers and shifts as PopulateConvolutionQuantizationParams computes them. */
static detvm_status channel_multipliers(const tfl_import *ctx, const tfl_operator *op,
                                        const tfl_tensor *filter, uint32_t channels,
                                        quant in, quant out, int32_t *multiplier, int32_t *shift)
{
    for (uint32_t c = 0; c < channels; c++) {
        const float filter_scale = filter->scale[filter->n_quant > 1 ? c : 0];
        const double real = (double)in.scale * (double)filter_scale / (double)out.scale;
        if (tfl_quantize_multiplier(real, tfl_rounding(ctx), &multiplier[c], &shift[c]) != 0)
            return tfl_fail(ctx, op, "channel %u: multiplier %g cannot be represented", c, real);
    }
    return DETVM_OK;
}

static detvm_status activation_range(const tfl_import *ctx, const tfl_operator *op, quant out,
                                     int32_t *act_min, int32_t *act_max)
{
    if (tfl_activation_range(op->options.activation, out.scale, out.zero_point, TFL_INT8, act_min,
                             act_max) != 0)
        return tfl_fail(ctx, op, "fused activation %d unsupported", op->options.activation);
    return DETVM_OK;
}

/* One spatial axis of TFLite's ComputePaddingHeightWidth, in 64 bits: the output extent and
 * the padding before and after. Fails when the output would be empty or a value leaves int32
 * (where TFLite's int arithmetic would overflow). */
static int tflite_padding(int32_t padding, int64_t in, int64_t window, int64_t stride,
                          int64_t dilation, int64_t *out, int32_t *before, int32_t *after)
{
    const int64_t dilated = (window - 1) * dilation + 1;
    if (dilated > INT32_MAX)
        return -1;
    if (padding == TFL_PAD_SAME)
        *out = (in + stride - 1) / stride;
    else if (padding == TFL_PAD_VALID)
        *out = (in + stride - dilated) / stride;
    else
        return -1;
    if (*out < 1)
        return -1;
    int64_t total = (*out - 1) * stride + dilated - in;
    if (total < 0)
        total = 0;
    if (total > INT32_MAX)
        return -1;
    *before = (int32_t)(total / 2);
    *after = (int32_t)(total - total / 2);
    return 0;
}

typedef struct {
    int64_t out_h, out_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
} window_plan;

static detvm_status plan_window(const tfl_import *ctx, const tfl_operator *op,
                                const tfl_tensor *input, int64_t window_h, int64_t window_w,
                                int32_t dilation_h, int32_t dilation_w, window_plan *w)
{
    const tfl_options *o = &op->options;
    if (o->stride_h < 1 || o->stride_w < 1)
        return tfl_fail(ctx, op, "strides (%d, %d) must be positive", o->stride_h, o->stride_w);
    if (dilation_h < 1 || dilation_w < 1)
        return tfl_fail(ctx, op, "dilations (%d, %d) must be positive", dilation_h, dilation_w);
    if (o->padding != TFL_PAD_SAME && o->padding != TFL_PAD_VALID)
        return tfl_fail(ctx, op, "padding %d unsupported", o->padding);
    if (tflite_padding(o->padding, input->dim[1], window_h, o->stride_h, dilation_h, &w->out_h,
                       &w->pad_top, &w->pad_bottom) != 0 ||
        tflite_padding(o->padding, input->dim[2], window_w, o->stride_w, dilation_w, &w->out_w,
                       &w->pad_left, &w->pad_right) != 0)
        return tfl_fail(ctx, op, "the window does not fit the input (empty output)");
    return DETVM_OK;
}

/* The output tensor must be (batch, out_h, out_w, channels): TFLite Micro takes the output
 * extents from the file, the kernels here from the padding. */
static detvm_status check_nhwc_output(const tfl_import *ctx, const tfl_operator *op,
                                      const tfl_tensor *output, int64_t batch, const window_plan *w,
                                      int64_t channels)
{
    if (output->ndim != 4 || output->dim[0] != batch || output->dim[1] != w->out_h ||
        output->dim[2] != w->out_w || output->dim[3] != channels)
        return tfl_fail(ctx, op, "output: shape must be [%lld, %lld, %lld, %lld]",
                        (long long)batch, (long long)w->out_h, (long long)w->out_w,
                        (long long)channels);
    return DETVM_OK;
}

/* The bias operand: the model's int32 [channels] tensor, or zeros when the op has none (the
 * kernels then add 0, as TFLite adds nothing). */
static detvm_status bias_operand(tfl_import *ctx, const tfl_operator *op, uint32_t channels,
                                 uint32_t *ir, detvm_error *err)
{
    const tfl_tensor *bias = tfl_input(ctx, op, 2);
    if (!bias) {
        int32_t *zeros = calloc(channels, sizeof *zeros);
        if (!zeros)
            return dv_fail(err, DETVM_ERUNTIME, "out of memory");
        dv_shape shape = {1, {channels}};
        detvm_status st = tfl_constant(ctx, &shape, zeros, ir, err);
        free(zeros);
        return st;
    }
    if (bias->type != TFL_INT32)
        return tfl_fail(ctx, op, "bias: type %s unsupported (int32 only)", type_name(bias->type));
    if (bias->ndim != 1 || (uint32_t)bias->dim[0] != channels)
        return tfl_fail(ctx, op, "bias: shape must be [%u]", channels);
    return tfl_value(ctx, op->inputs[2], ir, err);
}

/* Emits a five-operand kernel (data, filter, bias, multiplier, shift) into `out`. */
static detvm_status emit_with_channels(tfl_import *ctx, const tfl_operator *op, uint32_t opcode,
                                       uint32_t data, uint32_t filter, uint32_t channels,
                                       const int32_t *multiplier, const int32_t *shift,
                                       uint32_t out, const int32_t *attrs, uint32_t n_attrs,
                                       detvm_error *err)
{
    uint32_t in[5] = {data, filter};
    dv_shape vector = {1, {channels}};
    detvm_status st = bias_operand(ctx, op, channels, &in[2], err);
    if (st == DETVM_OK)
        st = tfl_constant(ctx, &vector, multiplier, &in[3], err);
    if (st == DETVM_OK)
        st = tfl_constant(ctx, &vector, shift, &in[4], err);
    if (st == DETVM_OK)
        st = tfl_emit(ctx, op, opcode, 5, in, 1, &out, attrs, n_attrs, err);
    return st;
}

/* ---- CONV_2D and DEPTHWISE_CONV_2D ------------------------------------------------------ */

static detvm_status import_conv(tfl_import *ctx, const tfl_operator *op, int depthwise,
                                detvm_error *err)
{
    detvm_status st = check_arity(ctx, op, 2, 3);
    if (st != DETVM_OK)
        return st;
    const tfl_tensor *input = tfl_input(ctx, op, 0), *filter = tfl_input(ctx, op, 1);
    const tfl_tensor *output = tfl_output(ctx, op, 0);
    quant in = {0.0f, 0}, out = {0.0f, 0};
    if ((st = int8_activation(ctx, op, input, "input", &in)) != DETVM_OK ||
        (st = int8_activation(ctx, op, output, "output", &out)) != DETVM_OK ||
        (st = int8_weights(ctx, op, filter, "filter")) != DETVM_OK)
        return st;
    if (input->ndim != 4)
        return tfl_fail(ctx, op, "input: must be 4-D (NHWC), is %u-D", input->ndim);
    if (filter->ndim != 4)
        return tfl_fail(ctx, op, "filter: must be 4-D, is %u-D", filter->ndim);

    const int64_t channels = input->dim[3];
    int64_t out_channels;
    if (depthwise) {
        out_channels = filter->dim[3];
        const int32_t multiplier = op->options.depth_multiplier;
        if (filter->dim[0] != 1)
            return tfl_fail(ctx, op, "filter: first dimension must be 1");
        if (multiplier < 1 || channels * multiplier != out_channels)
            return tfl_fail(ctx, op, "depth_multiplier %d: input channels %lld times it must be "
                            "the filter's %lld", multiplier, (long long)channels,
                            (long long)out_channels);
    } else {
        out_channels = filter->dim[0];
        const int64_t depth = filter->dim[3];
        if (depth < 1 || channels % depth != 0 || out_channels % (channels / depth) != 0)
            return tfl_fail(ctx, op, "filter: depth %lld must divide the input's %lld channels "
                            "into groups that divide the %lld filters", (long long)depth,
                            (long long)channels, (long long)out_channels);
    }
    if (out_channels < 1 || out_channels > (int64_t)DV_MAX_DIM)
        return tfl_fail(ctx, op, "filter: %lld output channels", (long long)out_channels);
    const uint32_t n_channels = (uint32_t)out_channels;
    if ((st = check_channel_scales(ctx, op, filter, "filter", n_channels)) != DETVM_OK)
        return st;

    window_plan w;
    if ((st = plan_window(ctx, op, input, filter->dim[1], filter->dim[2], op->options.dilation_h,
                          op->options.dilation_w, &w)) != DETVM_OK ||
        (st = check_nhwc_output(ctx, op, output, input->dim[0], &w, out_channels)) != DETVM_OK)
        return st;
    int32_t act_min = 0, act_max = 0;
    if ((st = activation_range(ctx, op, out, &act_min, &act_max)) != DETVM_OK)
        return st;

    int32_t *multiplier = malloc(2 * (size_t)n_channels * sizeof *multiplier);
    if (!multiplier)
        return dv_fail(err, DETVM_ERUNTIME, "out of memory");
    int32_t *shift = multiplier + n_channels;
    st = channel_multipliers(ctx, op, filter, n_channels, in, out, multiplier, shift);

    /* A PAD folded into this conv (tfl_pad_fold): read its input, with its amounts added. */
    int32_t source = op->inputs[0], folded[4] = {0, 0, 0, 0};
    tfl_folded_pad(ctx, op, &source, folded);
    const int32_t attrs[QDW_N_ATTRS] = {
        [QC_STRIDE_H] = op->options.stride_h, [QC_STRIDE_W] = op->options.stride_w,
        [QC_DILATION_H] = op->options.dilation_h, [QC_DILATION_W] = op->options.dilation_w,
        [QC_PAD_TOP] = w.pad_top + folded[0], [QC_PAD_LEFT] = w.pad_left + folded[1],
        [QC_PAD_BOTTOM] = w.pad_bottom + folded[2], [QC_PAD_RIGHT] = w.pad_right + folded[3],
        [QC_INPUT_OFFSET] = -in.zero_point, [QC_OUTPUT_OFFSET] = out.zero_point,
        [QC_ACT_MIN] = act_min, [QC_ACT_MAX] = act_max, [QC_ROUNDING] = tfl_rounding(ctx),
        [QDW_DEPTH_MULTIPLIER] = op->options.depth_multiplier};
    uint32_t data, weights, y;
    if (st == DETVM_OK)
        st = tfl_value(ctx, source, &data, err);
    if (st == DETVM_OK)
        st = tfl_value(ctx, op->inputs[1], &weights, err);
    if (st == DETVM_OK)
        st = tfl_value(ctx, op->outputs[0], &y, err);
    if (st == DETVM_OK)
        st = emit_with_channels(ctx, op, depthwise ? DV_OP_QDEPTHWISE_CONV2D : DV_OP_QCONV2D, data,
                                weights, n_channels, multiplier, shift, y, attrs,
                                depthwise ? QDW_N_ATTRS : QCONV_N_ATTRS, err);
    free(multiplier);
    return st;
}

detvm_status tfl_import_conv_2d(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_conv(ctx, op, 0, err);
}

detvm_status tfl_import_depthwise_conv_2d(tfl_import *ctx, const tfl_operator *op,
                                          detvm_error *err)
{
    return import_conv(ctx, op, 1, err);
}

/* ---- FULLY_CONNECTED ---------------------------------------------------------------------
 *
 * The kernel computes (rows, units) with rows = input size / depth, which is what TFLite
 * Micro computes whatever the output's rank; when the output tensor has another shape
 * (keep_num_dims), the result goes to a temporary and a RESHAPE gives it that shape. */
detvm_status tfl_import_fully_connected(tfl_import *ctx, const tfl_operator *op,
                                        detvm_error *err)
{
    detvm_status st = check_arity(ctx, op, 2, 3);
    if (st != DETVM_OK)
        return st;
    const tfl_tensor *input = tfl_input(ctx, op, 0), *weights = tfl_input(ctx, op, 1);
    const tfl_tensor *bias = tfl_input(ctx, op, 2), *output = tfl_output(ctx, op, 0);
    quant in = {0.0f, 0}, out = {0.0f, 0};
    if ((st = int8_activation(ctx, op, input, "input", &in)) != DETVM_OK ||
        (st = int8_activation(ctx, op, output, "output", &out)) != DETVM_OK ||
        (st = int8_weights(ctx, op, weights, "weights")) != DETVM_OK)
        return st;
    if (op->options.weights_format != 0)
        return tfl_fail(ctx, op, "weights_format %d unsupported (DEFAULT only)",
                        op->options.weights_format);
    if (weights->ndim != 2 || weights->dim[0] < 1 || weights->dim[1] < 1)
        return tfl_fail(ctx, op, "weights: must be 2-D [units, depth] and not empty");
    const uint32_t units = (uint32_t)weights->dim[0];
    const uint64_t depth = (uint64_t)weights->dim[1], size = element_count(input);
    if (size == 0 || size % depth != 0)
        return tfl_fail(ctx, op, "input: %llu elements are not rows of the weights' depth %llu",
                        (unsigned long long)size, (unsigned long long)depth);
    const uint64_t rows = size / depth;
    if (output->ndim < 1 || (uint32_t)output->dim[output->ndim - 1] != units ||
        element_count(output) != rows * units)
        return tfl_fail(ctx, op, "output: must hold %llu rows of %u units",
                        (unsigned long long)rows, units);
    if (rows > DV_MAX_DIM)
        return tfl_fail(ctx, op, "input: %llu rows unsupported", (unsigned long long)rows);

    /* Per-channel weights (more than one scale): CalculateOpDataFullyConnected takes the
     * FullyConnectedPerChannel path, which leaves the weights' zero point out. Per tensor: the
     * FullyConnected path, with the bias scale check and the float product of scales. */
    int32_t filter_offset = 0;
    int32_t *multiplier = malloc(2 * (size_t)units * sizeof *multiplier);
    if (!multiplier)
        return dv_fail(err, DETVM_ERUNTIME, "out of memory");
    int32_t *shift = multiplier + units;
    if (weights->n_quant > 1) {
        st = check_channel_scales(ctx, op, weights, "weights", units);
        if (st == DETVM_OK)
            st = channel_multipliers(ctx, op, weights, units, in, out, multiplier, shift);
    } else if (weights->zero_point[0] < -128 || weights->zero_point[0] > 127) {
        st = tfl_fail(ctx, op, "weights: zero point %lld outside int8",
                      (long long)weights->zero_point[0]);
    } else {
        filter_offset = -(int32_t)weights->zero_point[0];
        const float weights_scale = weights->scale[0];
        if (bias) {
            const double bias_scale = bias->n_quant ? (double)bias->scale[0] : 0.0;
            const double difference = fabs((double)in.scale * (double)weights_scale - bias_scale);
            if (!(difference / (double)out.scale <= 0.02))
                st = tfl_fail(ctx, op, "bias: scale %g is not input scale * weights scale",
                              bias_scale);
        }
        const float product = in.scale * weights_scale;
        const double real = (double)product / (double)out.scale;
        if (st == DETVM_OK && (!(product >= 0.0f) ||
                               tfl_quantize_multiplier(real, tfl_rounding(ctx), &multiplier[0],
                                                       &shift[0]) != 0))
            st = tfl_fail(ctx, op, "multiplier %g cannot be represented", real);
        for (uint32_t c = 1; c < units; c++) {
            multiplier[c] = multiplier[0];
            shift[c] = shift[0];
        }
    }
    int32_t act_min = 0, act_max = 0;
    if (st == DETVM_OK)
        st = activation_range(ctx, op, out, &act_min, &act_max);

    /* The kernel writes the output tensor itself when it already is (rows, units). */
    const int direct = output->ndim == 2 && (uint64_t)output->dim[0] == rows;
    if (st == DETVM_OK && !direct && output->ndim > DV_MAX_NDIM)
        st = tfl_fail(ctx, op, "output: %u dimensions unsupported", output->ndim);
    uint32_t data, filter, y, result;
    if (st == DETVM_OK)
        st = tfl_value(ctx, op->inputs[0], &data, err);
    if (st == DETVM_OK)
        st = tfl_value(ctx, op->inputs[1], &filter, err);
    if (st == DETVM_OK)
        st = tfl_value(ctx, op->outputs[0], &y, err);
    if (st == DETVM_OK && !direct) {
        dv_shape matrix = {2, {(uint32_t)rows, units}};
        st = tfl_temporary(ctx, &matrix, &result, err);
    } else {
        result = y;
    }
    const int32_t attrs[QFC_N_ATTRS] = {
        [QFC_INPUT_OFFSET] = -in.zero_point, [QFC_FILTER_OFFSET] = filter_offset,
        [QFC_OUTPUT_OFFSET] = out.zero_point, [QFC_ACT_MIN] = act_min, [QFC_ACT_MAX] = act_max,
        [QFC_ROUNDING] = tfl_rounding(ctx)};
    if (st == DETVM_OK)
        st = emit_with_channels(ctx, op, DV_OP_QFULLY_CONNECTED, data, filter, units, multiplier,
                                shift, result, attrs, QFC_N_ATTRS, err);
    free(multiplier);
    if (st == DETVM_OK && !direct) {
        int32_t shape[DV_MAX_NDIM];
        for (uint32_t i = 0; i < output->ndim; i++)
            shape[i] = output->dim[i];
        st = tfl_emit(ctx, op, DV_OP_RESHAPE, 1, &result, 1, &y, shape, output->ndim, err);
    }
    return st;
}

/* ---- AVERAGE_POOL_2D and MAX_POOL_2D ---------------------------------------------------- */

static detvm_status import_pool(tfl_import *ctx, const tfl_operator *op, uint32_t opcode,
                                detvm_error *err)
{
    detvm_status st = check_arity(ctx, op, 1, 1);
    if (st != DETVM_OK)
        return st;
    const tfl_tensor *input = tfl_input(ctx, op, 0), *output = tfl_output(ctx, op, 0);
    quant in = {0.0f, 0}, out = {0.0f, 0};
    if ((st = int8_activation(ctx, op, input, "input", &in)) != DETVM_OK ||
        (st = int8_activation(ctx, op, output, "output", &out)) != DETVM_OK)
        return st;
    /* PoolingPrepare: the pools do not requantize, so input and output must share their
     * quantization (the scales compared in float, as TFLite Micro does). */
    if (!((double)fabsf(in.scale - out.scale) <= 1.0e-6) || in.zero_point != out.zero_point)
        return tfl_fail(ctx, op, "input and output quantization differ");
    if (input->ndim != 4)
        return tfl_fail(ctx, op, "input: must be 4-D (NHWC), is %u-D", input->ndim);
    const tfl_options *o = &op->options;
    if (o->filter_h < 1 || o->filter_w < 1)
        return tfl_fail(ctx, op, "filter (%d, %d) must be positive", o->filter_h, o->filter_w);
    window_plan w;
    int32_t act_min = 0, act_max = 0;
    if ((st = plan_window(ctx, op, input, o->filter_h, o->filter_w, 1, 1, &w)) != DETVM_OK ||
        (st = check_nhwc_output(ctx, op, output, input->dim[0], &w, input->dim[3])) != DETVM_OK ||
        (st = activation_range(ctx, op, out, &act_min, &act_max)) != DETVM_OK)
        return st;
    uint32_t x, y;
    if ((st = tfl_value(ctx, op->inputs[0], &x, err)) != DETVM_OK ||
        (st = tfl_value(ctx, op->outputs[0], &y, err)) != DETVM_OK)
        return st;
    const int32_t attrs[QP_N_ATTRS] = {
        [QP_FILTER_H] = o->filter_h, [QP_FILTER_W] = o->filter_w, [QP_STRIDE_H] = o->stride_h,
        [QP_STRIDE_W] = o->stride_w, [QP_PAD_TOP] = w.pad_top, [QP_PAD_LEFT] = w.pad_left,
        [QP_PAD_BOTTOM] = w.pad_bottom, [QP_PAD_RIGHT] = w.pad_right, [QP_ACT_MIN] = act_min,
        [QP_ACT_MAX] = act_max};
    return tfl_emit(ctx, op, opcode, 1, &x, 1, &y, attrs, QP_N_ATTRS, err);
}

detvm_status tfl_import_average_pool_2d(tfl_import *ctx, const tfl_operator *op,
                                        detvm_error *err)
{
    return import_pool(ctx, op, DV_OP_QAVG_POOL2D, err);
}

detvm_status tfl_import_max_pool_2d(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_pool(ctx, op, DV_OP_QMAX_POOL2D, err);
}

/* ---- MEAN --------------------------------------------------------------------------------
 *
 * TFLite Micro's int8 MEAN has one path, reference_ops::QuantizedMeanOrSum, for every axis
 * set, keep_dims, and equal or different input and output quantization; QMEAN is that path.
 * The axes come from a constant int32 tensor: negative ones count from the end, repeats are
 * ignored (ResolveAxis), and an axis outside the rank is refused (TFLite's Eval fails). */
static int32_t read_le_int32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return u < 0x80000000u ? (int32_t)u : -(int32_t)~u - 1;
}

detvm_status tfl_import_mean(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    detvm_status st = check_arity(ctx, op, 2, 2);
    if (st != DETVM_OK)
        return st;
    const tfl_tensor *input = tfl_input(ctx, op, 0), *axis = tfl_input(ctx, op, 1);
    const tfl_tensor *output = tfl_output(ctx, op, 0);
    quant in = {0.0f, 0}, out = {0.0f, 0};
    if ((st = int8_activation(ctx, op, input, "input", &in)) != DETVM_OK ||
        (st = int8_activation(ctx, op, output, "output", &out)) != DETVM_OK)
        return st;
    if (!axis || axis->type != TFL_INT32)
        return tfl_fail(ctx, op, "axis: must be an int32 tensor");
    if (!axis->data)
        return tfl_fail(ctx, op, "axis: must be a constant");
    if (input->ndim < 1 || input->ndim > DV_MAX_NDIM)
        return tfl_fail(ctx, op, "input: %u dimensions unsupported", input->ndim);
    const int32_t rank = (int32_t)input->ndim;
    const uint64_t n_axes = element_count(axis);
    if (axis->data_len < n_axes * 4)
        return tfl_fail(ctx, op, "axis: data too short");
    uint32_t mask = 0;
    for (uint64_t i = 0; i < n_axes; i++) {
        int32_t a = read_le_int32(axis->data + 4 * i);
        int64_t resolved = a < 0 ? (int64_t)a + rank : a;
        if (resolved < 0 || resolved >= rank)
            return tfl_fail(ctx, op, "axis: %d out of range for a %d-D input", a, rank);
        mask |= 1u << resolved;
    }
    int32_t multiplier, shift;
    const double real = (double)in.scale / (double)out.scale;
    if (tfl_quantize_multiplier(real, tfl_rounding(ctx), &multiplier, &shift) != 0)
        return tfl_fail(ctx, op, "multiplier %g cannot be represented", real);
    uint32_t x, y;
    if ((st = tfl_value(ctx, op->inputs[0], &x, err)) != DETVM_OK ||
        (st = tfl_value(ctx, op->outputs[0], &y, err)) != DETVM_OK)
        return st;
    const int32_t attrs[QM_N_ATTRS] = {
        [QM_AXIS_MASK] = (int32_t)mask, [QM_KEEP_DIMS] = op->options.keep_dims ? 1 : 0,
        [QM_INPUT_ZERO_POINT] = in.zero_point, [QM_OUTPUT_ZERO_POINT] = out.zero_point,
        [QM_MULTIPLIER] = multiplier, [QM_SHIFT] = shift, [QM_ROUNDING] = tfl_rounding(ctx)};
    return tfl_emit(ctx, op, DV_OP_QMEAN, 1, &x, 1, &y, attrs, QM_N_ATTRS, err);
}
