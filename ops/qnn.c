/* TFLite int8 neural-network kernels on NHWC tensors: convolution, depthwise convolution,
 * fully connected, average and max pooling, and mean. Each gives the bytes of TensorFlow Lite
 * Micro's reference kernel (commit 90b983c) for the parameters its Prepare computes; the
 * importer (loader/tflite_nn.c) computes those parameters at compile time.
 *
 * Conventions shared by the family.
 *
 * Values. Every element is an int32 holding an int8 value (weights and activations), or an
 * int32 (bias, multiplier, shift). Outputs are clamped to [act_min, act_max], which infer
 * requires to lie in [-128, 127], so every output is an int8 value and TFLite's final
 * static_cast<int8_t> changes nothing.
 *
 * Offsets, as TFLite Micro keeps them: input_offset = -input_zero_point is added to every
 * input element before it is multiplied, filter_offset = -filter_zero_point likewise to
 * every weight (fully connected only), and output_offset = output_zero_point is added after
 * requantization.
 *
 * Accumulation. TFLite Micro sums products in int32. Here every product and sum is taken in
 * uint32_t, that is modulo 2^32, and read back as two's complement int32: the result equals
 * TFLite's whenever TFLite's int32 arithmetic does not overflow (always, for int8 data and
 * fewer than 2^16 terms), and stays defined for hostile values. Modular addition is
 * associative and commutative, so the summation order is free (and so is any SIMD or
 * threaded variant). The addition of output_offset after requantization wraps the same way.
 *
 * Requantization. acc * M with M = multiplier * 2^(shift - 31), per output channel, through
 * dv_multiply_by_quantized_multiplier with the op's `rounding` attribute (ops/quant.h:
 * 0 double rounding, TFLite Micro's default; 1 single rounding). Multiplier and shift are
 * int32 tensors, so their values may be anything; quant.h defines the result for any value.
 *
 * Window geometry (conv, depthwise, pools). For output row oy the window starts at input
 * row oy * stride_h - pad_top and tap ky reads row oy * stride_h - pad_top + ky * dilation_h
 * (pools: dilation 1); taps outside the input are left out (TFLite's "zero padding by
 * omission": nothing is added, not even input_offset * weight). Columns likewise. pad_bottom
 * and pad_right only size the output:
 *     OH = (H + pad_top + pad_bottom - ((KH - 1) * dilation_h + 1)) / stride_h + 1
 * and the dilated window must fit in the padded input. Coordinates are int64: each is a
 * dimension (< 2^24) times an int32 attribute plus another, far below 2^63.
 *
 * Element offsets fit in size_t: every tensor has at most 2^30 elements (dv_shape_check). */
#include "op.h"
#include "qnn.h"
#include "qnn_attrs.h"
#include "quant.h"

/* ---- shared helpers ---------------------------------------------------------------------- */

static int32_t as_int32(uint32_t u)
{
    return dv_qnn_as_int32(u);
}

/* Stores through uint32_t views of int32 tensors (the accumulators of depthwise convolution,
 * pooling and mean live in the output until they are finished): C allows an object to be
 * accessed through the unsigned type corresponding to its type. */
static uint32_t *as_wrapping(int32_t *data)
{
    return (uint32_t *)data;
}

/* acc * M (rounding as given) + output_offset, clamped to [act_min, act_max]. */
static int32_t requantize(uint32_t acc, int32_t multiplier, int32_t shift, int32_t rounding,
                          int32_t output_offset, int32_t act_min, int32_t act_max)
{
    return dv_qnn_requantize(acc, multiplier, shift, rounding, output_offset, act_min, act_max);
}

static const char *check_act_range(int32_t act_min, int32_t act_max)
{
    if (act_min < -128 || act_max > 127 || act_min > act_max)
        return "act_min, act_max: need -128 <= act_min <= act_max <= 127";
    return NULL;
}

static const char *check_rounding(int32_t rounding)
{
    if (rounding != DV_ROUND_DOUBLE && rounding != DV_ROUND_SINGLE)
        return "rounding: must be 0 (double) or 1 (single)";
    return NULL;
}

/* Checks the arity and every input shape, so that a hostile module's zero dimension cannot
 * reach a division below. */
static const char *check_inputs(uint32_t n_in, uint32_t want_in, const dv_shape *in,
                                uint32_t n_out)
{
    if (n_in != want_in)
        return "inputs: wrong number of inputs";
    if (n_out != 1)
        return "outputs: the op has exactly one output";
    for (uint32_t i = 0; i < n_in; i++) {
        const char *why = dv_shape_check(&in[i]);
        if (why)
            return why;
    }
    return NULL;
}

static int is_vector(const dv_shape *s, uint32_t n)
{
    return s->ndim == 1 && s->dim[0] == n;
}

/* The sliding-window geometry of one spatial axis. */
typedef struct {
    int64_t in, out, window, stride, dilation, pad_before;
} axis_geometry;

/* Validates one axis (window, stride, dilation >= 1, pads >= 0, the dilated window inside the
 * padded input) and computes its output extent. */
static const char *plan_axis(axis_geometry *g, int64_t in, int32_t window, int32_t stride,
                             int32_t dilation, int32_t pad_before, int32_t pad_after)
{
    if (window < 1)
        return "filter: the window must not be empty";
    if (stride < 1)
        return "strides: must be positive";
    if (dilation < 1)
        return "dilations: must be positive";
    if (pad_before < 0 || pad_after < 0)
        return "padding: must not be negative";
    int64_t dilated = (int64_t)(window - 1) * dilation + 1;
    int64_t padded = in + pad_before + pad_after;
    if (dilated > padded)
        return "filter: the dilated window exceeds the padded input";
    int64_t out = (padded - dilated) / stride + 1;
    if (out > (int64_t)DV_MAX_DIM)
        return "padding: output larger than 2^24";
    *g = (axis_geometry){in, out, window, stride, dilation, pad_before};
    return NULL;
}

/* The taps [*lo, *hi) of a window starting at input position `start` that fall inside the
 * input (dilation 1). */
static void taps_inside(int64_t start, const axis_geometry *g, int64_t *lo, int64_t *hi)
{
    *lo = start < 0 ? -start : 0;
    *hi = g->in - start < g->window ? g->in - start : g->window;
}

/* ---- convolution attributes -------------------------------------------------------------
 *
 * QCONV2D and QDEPTHWISE_CONV2D share their first 13 attributes:
 *
 *   [0] stride_h   [1] stride_w   [2] dilation_h   [3] dilation_w
 *   [4] pad_top    [5] pad_left   [6] pad_bottom   [7] pad_right
 *   [8] input_offset   [9] output_offset   [10] act_min   [11] act_max   [12] rounding
 *
 * and QDEPTHWISE_CONV2D has a 14th, [13] depth_multiplier. */

/* The checks and output extents shared by both convolutions; kernel_h and kernel_w come
 * from the filter shape. */
static const char *plan_conv(const int32_t *a, const dv_shape *data, uint32_t kernel_h,
                             uint32_t kernel_w, axis_geometry *gh, axis_geometry *gw)
{
    const char *why = check_rounding(a[QC_ROUNDING]);
    if (!why)
        why = check_act_range(a[QC_ACT_MIN], a[QC_ACT_MAX]);
    if (!why)
        why = plan_axis(gh, data->dim[1], (int32_t)kernel_h, a[QC_STRIDE_H], a[QC_DILATION_H],
                        a[QC_PAD_TOP], a[QC_PAD_BOTTOM]);
    if (!why)
        why = plan_axis(gw, data->dim[2], (int32_t)kernel_w, a[QC_STRIDE_W], a[QC_DILATION_W],
                        a[QC_PAD_LEFT], a[QC_PAD_RIGHT]);
    return why;
}

/* bias, multiplier and shift: one value per output channel each. */
static const char *check_channel_vectors(const dv_shape *in, uint32_t channels)
{
    if (!is_vector(&in[2], channels))
        return "bias: shape must be (output channels)";
    if (!is_vector(&in[3], channels))
        return "multiplier: shape must be (output channels)";
    if (!is_vector(&in[4], channels))
        return "shift: shape must be (output channels)";
    return NULL;
}

static void set_nhwc(dv_shape *out, uint32_t n, int64_t h, int64_t w, uint32_t c)
{
    out->ndim = 4;
    out->dim[0] = n;
    out->dim[1] = (uint32_t)h;
    out->dim[2] = (uint32_t)w;
    out->dim[3] = c;
}

/* ---- QCONV2D ----------------------------------------------------------------------------
 *
 * QCONV2D  data, filter, bias, multiplier, shift -> y     attrs (13): see above
 *
 * TFLite Micro's reference_integer_ops::ConvPerChannel. data is (N, H, W, C), filter
 * (O, KH, KW, IC) with C a multiple of IC (groups = C / IC, and O a multiple of groups), bias,
 * multiplier and shift are (O); y is (N, OH, OW, O). Output channel o belongs to group
 * g = o / (O / groups), which reads data channels g * IC .. g * IC + IC - 1:
 *
 *     acc = sum over ky, kx with (iy, ix) inside the data, and ic < IC, of
 *               filter[o][ky][kx][ic] * (data[n][iy][ix][g * IC + ic] + input_offset)
 *     y[n][oy][ox][o] = clamp(MBQM(acc + bias[o], multiplier[o], shift[o])
 *                             + output_offset, act_min, act_max)
 *
 * with iy = oy * stride_h - pad_top + ky * dilation_h, ix likewise, MBQM the rounding
 * requantization and all of acc in wrapping int32 (see the top of this file). */
static const char *qconv2d_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (attrs->n != QCONV_N_ATTRS)
        return "attrs: qconv2d takes 13 values";
    const char *why = check_inputs(n_in, 5, in, n_out);
    if (why)
        return why;
    const dv_shape *data = &in[0], *filter = &in[1];
    if (data->ndim != 4)
        return "data: must be 4-D (NHWC)";
    if (filter->ndim != 4)
        return "filter: must be 4-D (OHWI)";
    uint32_t channels = data->dim[3], filter_depth = filter->dim[3], out_channels = filter->dim[0];
    if (channels % filter_depth != 0)
        return "filter: input depth must divide the data's channels";
    if (out_channels % (channels / filter_depth) != 0)
        return "filter: the groups must divide the output channels";
    why = check_channel_vectors(in, out_channels);
    if (why)
        return why;
    axis_geometry gh, gw;
    why = plan_conv(attrs->v, data, filter->dim[1], filter->dim[2], &gh, &gw);
    if (why)
        return why;
    set_nhwc(&out[0], data->dim[0], gh.out, gw.out, out_channels);
    return dv_shape_check(&out[0]);
}

void dv_qconv2d_pixel(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out, size_t n,
                      size_t oy, size_t ox, size_t o_begin, size_t o_end)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &in[0].shape, *fs = &in[1].shape, *ys = &out[0].shape;
    const int32_t *x = in[0].data, *filter = in[1].data, *bias = in[2].data;
    const int32_t *multiplier = in[3].data, *shift = in[4].data;
    const int64_t in_h = xs->dim[1], in_w = xs->dim[2];
    const size_t channels = xs->dim[3];
    const size_t out_h = ys->dim[1], out_w = ys->dim[2], out_channels = ys->dim[3];
    const size_t kernel_h = fs->dim[1], kernel_w = fs->dim[2], depth = fs->dim[3];
    const size_t per_group = out_channels / (channels / depth);
    const uint32_t input_offset = (uint32_t)a[QC_INPUT_OFFSET];
    const int64_t y_origin = (int64_t)oy * a[QC_STRIDE_H] - a[QC_PAD_TOP];
    const int64_t x_origin = (int64_t)ox * a[QC_STRIDE_W] - a[QC_PAD_LEFT];
    int32_t *y_pixel = out[0].data + ((n * out_h + oy) * out_w + ox) * out_channels;
    for (size_t o = o_begin; o < o_end; o++) {
        const size_t first_channel = o / per_group * depth;
        uint32_t acc = 0;
        for (size_t ky = 0; ky < kernel_h; ky++) {
            const int64_t iy = y_origin + (int64_t)ky * a[QC_DILATION_H];
            if (iy < 0 || iy >= in_h)
                continue;
            for (size_t kx = 0; kx < kernel_w; kx++) {
                const int64_t ix = x_origin + (int64_t)kx * a[QC_DILATION_W];
                if (ix < 0 || ix >= in_w)
                    continue;
                const int32_t *xp = x + ((n * (size_t)in_h + (size_t)iy) * (size_t)in_w +
                                         (size_t)ix) * channels + first_channel;
                const int32_t *fp = filter + ((o * kernel_h + ky) * kernel_w + kx) * depth;
                for (size_t c = 0; c < depth; c++)
                    acc += (uint32_t)fp[c] * ((uint32_t)xp[c] + input_offset);
            }
        }
        y_pixel[o] = requantize(acc + (uint32_t)bias[o], multiplier[o], shift[o],
                                a[QC_ROUNDING], a[QC_OUTPUT_OFFSET], a[QC_ACT_MIN],
                                a[QC_ACT_MAX]);
    }
}

static void qconv2d_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                        uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const dv_shape *ys = &out[0].shape;
    for (size_t n = 0; n < ys->dim[0]; n++)
        for (size_t oy = 0; oy < ys->dim[1]; oy++)
            for (size_t ox = 0; ox < ys->dim[2]; ox++)
                dv_qconv2d_pixel(attrs, in, out, n, oy, ox, 0, ys->dim[3]);
}

const dv_op_info dv_info_QCONV2D = {"qconv2d", 5, 5, 1, qconv2d_infer, qconv2d_run, 0};

/* ---- QDEPTHWISE_CONV2D ------------------------------------------------------------------
 *
 * QDEPTHWISE_CONV2D  data, filter, bias, multiplier, shift -> y    attrs (14): see above
 *
 * TFLite Micro's reference_integer_ops::DepthwiseConvPerChannel. data is (N, H, W, C),
 * filter (1, KH, KW, C * M) with M = depth_multiplier, bias, multiplier and shift (C * M);
 * y is (N, OH, OW, C * M). Output channel o = c * M + m reads data channel c only:
 *
 *     acc = sum over ky, kx with (iy, ix) inside the data of
 *               filter[0][ky][kx][o] * (data[n][iy][ix][c] + input_offset)
 *     y[n][oy][ox][o] = clamp(MBQM(acc + bias[o], multiplier[o], shift[o])
 *                             + output_offset, act_min, act_max)
 *
 * with the geometry and wrapping of QCONV2D. */
static const char *qdepthwise_conv2d_infer(const dv_attrs *attrs, uint32_t n_in,
                                           const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    if (attrs->n != QDW_N_ATTRS)
        return "attrs: qdepthwise_conv2d takes 14 values";
    const char *why = check_inputs(n_in, 5, in, n_out);
    if (why)
        return why;
    const dv_shape *data = &in[0], *filter = &in[1];
    const int32_t multiplier = attrs->v[QDW_DEPTH_MULTIPLIER];
    if (data->ndim != 4)
        return "data: must be 4-D (NHWC)";
    if (multiplier < 1)
        return "depth_multiplier: must be positive";
    uint64_t out_channels = (uint64_t)data->dim[3] * (uint64_t)multiplier;
    if (filter->ndim != 4 || filter->dim[0] != 1 || filter->dim[3] != out_channels)
        return "filter: shape must be (1, KH, KW, channels * depth_multiplier)";
    why = check_channel_vectors(in, (uint32_t)out_channels);
    if (why)
        return why;
    axis_geometry gh, gw;
    why = plan_conv(attrs->v, data, filter->dim[1], filter->dim[2], &gh, &gw);
    if (why)
        return why;
    set_nhwc(&out[0], data->dim[0], gh.out, gw.out, (uint32_t)out_channels);
    return dv_shape_check(&out[0]);
}

static void qdepthwise_conv2d_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                  uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &in[0].shape, *fs = &in[1].shape, *ys = &out[0].shape;
    const int32_t *x = in[0].data, *filter = in[1].data, *bias = in[2].data;
    const int32_t *multiplier = in[3].data, *shift = in[4].data;
    const int64_t in_h = xs->dim[1], in_w = xs->dim[2];
    const size_t batches = xs->dim[0], channels = xs->dim[3];
    const size_t out_h = ys->dim[1], out_w = ys->dim[2], out_channels = ys->dim[3];
    const size_t kernel_h = fs->dim[1], kernel_w = fs->dim[2];
    const size_t depth_multiplier = (size_t)a[QDW_DEPTH_MULTIPLIER];
    const uint32_t input_offset = (uint32_t)a[QC_INPUT_OFFSET];

    /* Each output pixel's channels are accumulated in place, one filter tap at a time, so
     * that the inner loops run along contiguous channels. */
    for (size_t n = 0; n < batches; n++) {
        for (size_t oy = 0; oy < out_h; oy++) {
            const int64_t y_origin = (int64_t)oy * a[QC_STRIDE_H] - a[QC_PAD_TOP];
            for (size_t ox = 0; ox < out_w; ox++) {
                const int64_t x_origin = (int64_t)ox * a[QC_STRIDE_W] - a[QC_PAD_LEFT];
                int32_t *y_pixel = out[0].data + ((n * out_h + oy) * out_w + ox) * out_channels;
                uint32_t *acc = as_wrapping(y_pixel);
                for (size_t o = 0; o < out_channels; o++)
                    acc[o] = (uint32_t)bias[o];
                for (size_t ky = 0; ky < kernel_h; ky++) {
                    const int64_t iy = y_origin + (int64_t)ky * a[QC_DILATION_H];
                    if (iy < 0 || iy >= in_h)
                        continue;
                    for (size_t kx = 0; kx < kernel_w; kx++) {
                        const int64_t ix = x_origin + (int64_t)kx * a[QC_DILATION_W];
                        if (ix < 0 || ix >= in_w)
                            continue;
                        const int32_t *xp = x + ((n * (size_t)in_h + (size_t)iy) * (size_t)in_w +
                                                 (size_t)ix) * channels;
                        const int32_t *fp = filter + (ky * kernel_w + kx) * out_channels;
                        for (size_t c = 0; c < channels; c++) {
                            const uint32_t value = (uint32_t)xp[c] + input_offset;
                            for (size_t m = 0; m < depth_multiplier; m++)
                                acc[c * depth_multiplier + m] +=
                                    (uint32_t)fp[c * depth_multiplier + m] * value;
                        }
                    }
                }
                for (size_t o = 0; o < out_channels; o++)
                    y_pixel[o] = requantize(acc[o], multiplier[o], shift[o], a[QC_ROUNDING],
                                            a[QC_OUTPUT_OFFSET], a[QC_ACT_MIN], a[QC_ACT_MAX]);
            }
        }
    }
}

const dv_op_info dv_info_QDEPTHWISE_CONV2D = {"qdepthwise_conv2d", 5, 5, 1,
                                              qdepthwise_conv2d_infer, qdepthwise_conv2d_run, 0};

/* ---- QFULLY_CONNECTED -------------------------------------------------------------------
 *
 * QFULLY_CONNECTED  data, weights, bias, multiplier, shift -> y
 *
 * attrs (6): [0] input_offset  [1] filter_offset  [2] output_offset  [3] act_min
 *            [4] act_max  [5] rounding
 *
 * TFLite Micro's reference_integer_ops::FullyConnected (per-tensor weights: filter_offset =
 * -weights zero point, the one multiplier repeated per channel) and FullyConnectedPerChannel
 * (filter_offset 0: that kernel leaves the weights' zero point out). weights is (O, D); data
 * has any shape whose size is a multiple of D and is read as B = size / D rows of D; bias,
 * multiplier and shift are (O); y is (B, O):
 *
 *     acc = sum over d < D of (weights[o][d] + filter_offset) * (data[b * D + d] + input_offset)
 *     y[b][o] = clamp(MBQM(acc + bias[o], multiplier[o], shift[o]) + output_offset,
 *                     act_min, act_max)
 *
 * with acc in wrapping int32. */

static const char *qfully_connected_infer(const dv_attrs *attrs, uint32_t n_in,
                                          const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    if (attrs->n != QFC_N_ATTRS)
        return "attrs: qfully_connected takes 6 values";
    const int32_t *a = attrs->v;
    const char *why = check_inputs(n_in, 5, in, n_out);
    if (!why)
        why = check_rounding(a[QFC_ROUNDING]);
    if (!why)
        why = check_act_range(a[QFC_ACT_MIN], a[QFC_ACT_MAX]);
    if (why)
        return why;
    const dv_shape *weights = &in[1];
    if (weights->ndim != 2)
        return "weights: must be 2-D (output channels, depth)";
    uint64_t size = dv_shape_size(&in[0]), depth = weights->dim[1];
    if (size % depth != 0)
        return "data: size must be a multiple of the weights' depth";
    why = check_channel_vectors(in, weights->dim[0]);
    if (why)
        return why;
    out[0].ndim = 2;
    out[0].dim[0] = (uint32_t)(size / depth);
    out[0].dim[1] = weights->dim[0];
    return dv_shape_check(&out[0]);
}

static void qfully_connected_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                 uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *a = attrs->v;
    const int32_t *x = in[0].data, *weights = in[1].data, *bias = in[2].data;
    const int32_t *multiplier = in[3].data, *shift = in[4].data;
    const size_t rows = out[0].shape.dim[0], units = out[0].shape.dim[1];
    const size_t depth = in[1].shape.dim[1];
    const uint32_t input_offset = (uint32_t)a[QFC_INPUT_OFFSET];
    const uint32_t filter_offset = (uint32_t)a[QFC_FILTER_OFFSET];
    for (size_t b = 0; b < rows; b++) {
        const int32_t *x_row = x + b * depth;
        for (size_t o = 0; o < units; o++) {
            const int32_t *w_row = weights + o * depth;
            uint32_t acc = 0;
            for (size_t d = 0; d < depth; d++)
                acc += ((uint32_t)w_row[d] + filter_offset) * ((uint32_t)x_row[d] + input_offset);
            out[0].data[b * units + o] =
                requantize(acc + (uint32_t)bias[o], multiplier[o], shift[o], a[QFC_ROUNDING],
                           a[QFC_OUTPUT_OFFSET], a[QFC_ACT_MIN], a[QFC_ACT_MAX]);
        }
    }
}

const dv_op_info dv_info_QFULLY_CONNECTED = {"qfully_connected", 5, 5, 1,
                                             qfully_connected_infer, qfully_connected_run, 0};

/* ---- pooling ----------------------------------------------------------------------------
 *
 * QAVG_POOL2D  x -> y        QMAX_POOL2D  x -> y
 *
 * attrs (10): [0] filter_h  [1] filter_w  [2] stride_h  [3] stride_w  [4] pad_top
 *             [5] pad_left  [6] pad_bottom  [7] pad_right  [8] act_min  [9] act_max
 *
 * TFLite Micro's reference_integer_ops::AveragePool and MaxPool (input and output share their
 * scale and zero point, so nothing is requantized). x is (N, H, W, C), y (N, OH, OW, C) with
 * the window geometry at the top of this file (dilation 1). Each window takes the positions
 * inside x only; infer refuses padding that leaves a window with none (TFLite's AveragePool
 * fails on it; its padding rules never produce it).
 *
 * Average: with s the sum (wrapping int32) of the k positions inside the window,
 *     y = clamp(s > 0 ? (s + k/2) / k : (s - k/2) / k, act_min, act_max)
 * in C's truncating division (computed in 64 bits), i.e. rounded to nearest with ties away
 * from zero: 5/2 -> 3, -5/2 -> -3, 3/4 -> 1, -3/4 -> -1 (odd k has no ties).
 *
 * Max: y = clamp(max(-128, the k values), act_min, act_max). TFLite starts from int8's lowest
 * value; the -128 only matters for values outside int8, which TFLite cannot hold. */

/* Every window must overlap the input: the first starts at -pad_before and must end past 0,
 * the last starts at (out - 1) * stride - pad_before and must start before the end; windows
 * in between start between those two. */
static int windows_overlap(const axis_geometry *g)
{
    return g->pad_before < g->window && (g->out - 1) * g->stride - g->pad_before < g->in;
}

static const char *qpool_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    if (attrs->n != QP_N_ATTRS)
        return "attrs: quantized pooling takes 10 values";
    const int32_t *a = attrs->v;
    const char *why = check_inputs(n_in, 1, in, n_out);
    if (!why)
        why = check_act_range(a[QP_ACT_MIN], a[QP_ACT_MAX]);
    if (why)
        return why;
    if (in[0].ndim != 4)
        return "x: must be 4-D (NHWC)";
    axis_geometry gh, gw;
    why = plan_axis(&gh, in[0].dim[1], a[QP_FILTER_H], a[QP_STRIDE_H], 1, a[QP_PAD_TOP],
                    a[QP_PAD_BOTTOM]);
    if (!why)
        why = plan_axis(&gw, in[0].dim[2], a[QP_FILTER_W], a[QP_STRIDE_W], 1, a[QP_PAD_LEFT],
                        a[QP_PAD_RIGHT]);
    if (why)
        return why;
    if (!windows_overlap(&gh) || !windows_overlap(&gw))
        return "padding: a window lies wholly in the padding";
    set_nhwc(&out[0], in[0].dim[0], gh.out, gw.out, in[0].dim[3]);
    return dv_shape_check(&out[0]);
}

/* Average (is_max 0) or max (is_max 1) over each window. The channels of one output pixel
 * are accumulated in place, one input pixel at a time, along contiguous memory; the average's
 * sums wrap in uint32 and are read back as int32 before the rounded division. */
static void qpool_run(const dv_attrs *attrs, const dv_tensor *x, dv_tensor *y, int is_max)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &x->shape, *ys = &y->shape;
    const axis_geometry gh = {xs->dim[1], ys->dim[1], a[QP_FILTER_H], a[QP_STRIDE_H], 1,
                              a[QP_PAD_TOP]};
    const axis_geometry gw = {xs->dim[2], ys->dim[2], a[QP_FILTER_W], a[QP_STRIDE_W], 1,
                              a[QP_PAD_LEFT]};
    const size_t batches = xs->dim[0], channels = xs->dim[3];
    const size_t in_h = xs->dim[1], in_w = xs->dim[2], out_h = ys->dim[1], out_w = ys->dim[2];
    for (size_t n = 0; n < batches; n++) {
        for (size_t oy = 0; oy < out_h; oy++) {
            int64_t y_start = (int64_t)oy * gh.stride - gh.pad_before, ky_lo, ky_hi;
            taps_inside(y_start, &gh, &ky_lo, &ky_hi);
            for (size_t ox = 0; ox < out_w; ox++) {
                int64_t x_start = (int64_t)ox * gw.stride - gw.pad_before, kx_lo, kx_hi;
                taps_inside(x_start, &gw, &kx_lo, &kx_hi);
                int32_t *y_pixel = y->data + ((n * out_h + oy) * out_w + ox) * channels;
                uint32_t *acc = as_wrapping(y_pixel);
                for (size_t c = 0; c < channels; c++)
                    y_pixel[c] = is_max ? -128 : 0;
                for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
                    for (int64_t kx = kx_lo; kx < kx_hi; kx++) {
                        const int32_t *xp = x->data + ((n * in_h + (size_t)(y_start + ky)) * in_w +
                                                       (size_t)(x_start + kx)) * channels;
                        if (is_max) {
                            for (size_t c = 0; c < channels; c++)
                                if (xp[c] > y_pixel[c])
                                    y_pixel[c] = xp[c];
                        } else {
                            for (size_t c = 0; c < channels; c++)
                                acc[c] += (uint32_t)xp[c];
                        }
                    }
                }
                const int64_t count = (ky_hi - ky_lo) * (kx_hi - kx_lo);
                for (size_t c = 0; c < channels; c++) {
                    int64_t v = y_pixel[c];
                    if (!is_max)
                        v = v > 0 ? (v + count / 2) / count : (v - count / 2) / count;
                    y_pixel[c] = dv_clamp((int32_t)v, a[QP_ACT_MIN], a[QP_ACT_MAX]);
                }
            }
        }
    }
}

static void qavg_pool2d_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    qpool_run(attrs, &in[0], &out[0], 0);
}

static void qmax_pool2d_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    qpool_run(attrs, &in[0], &out[0], 1);
}

const dv_op_info dv_info_QAVG_POOL2D = {"qavg_pool2d", 1, 1, 1, qpool_infer, qavg_pool2d_run, 0};
const dv_op_info dv_info_QMAX_POOL2D = {"qmax_pool2d", 1, 1, 1, qpool_infer, qmax_pool2d_run, 0};

/* ---- QMEAN ------------------------------------------------------------------------------
 *
 * QMEAN  x -> y
 *
 * attrs (7): [0] axis_mask  [1] keep_dims  [2] input_zero_point  [3] output_zero_point
 *            [4] multiplier  [5] shift  [6] rounding
 *
 * TFLite Micro's int8 MEAN, which at this commit always runs reference_ops::QuantizedMeanOrSum
 * (whatever the axes, keep_dims, or input and output quantization): multiplier and shift are
 * QuantizeMultiplier(input_scale / output_scale), and the 1/count of the mean is folded into
 * them at run time. Axis d of x (1 to 6 dimensions) is reduced when bit d of axis_mask is
 * set (no bit at or above the rank; no bit at all reduces nothing, count 1). y has x's shape
 * with each reduced axis set to 1 when keep_dims is 1, or left out when it is 0 ((1) when
 * nothing is left); either way its elements are in row-major order of the kept axes.
 *
 * With count = the product of the reduced dimensions and sum the wrapping int32 sum of the x
 * elements that share the output's kept coordinates:
 *
 *     e = min(floor(log2(count)), 32, 31 + shift)
 *     m = (multiplier * 2^e) / count          (int64, truncating; fits int32)
 *     y = clamp(MBQM(sum - input_zero_point * count, m, shift - e) + output_zero_point,
 *               -128, 127)
 *
 * where sum - input_zero_point * count is reduced modulo 2^32 (TFLite computes it in int64 and
 * casts to int32) and shift - e >= -31. infer requires 0 <= multiplier and
 * -31 <= shift <= 30, QuantizeMultiplier's range, so that m stays in int32. */

static const char *qmean_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    if (attrs->n != QM_N_ATTRS)
        return "attrs: qmean takes 7 values";
    const int32_t *a = attrs->v;
    const char *why = check_inputs(n_in, 1, in, n_out);
    if (!why)
        why = check_rounding(a[QM_ROUNDING]);
    if (why)
        return why;
    const uint32_t ndim = in[0].ndim;
    if (a[QM_AXIS_MASK] < 0 || (uint32_t)a[QM_AXIS_MASK] >= (1u << ndim))
        return "axis_mask: names an axis beyond the input's rank";
    if (a[QM_KEEP_DIMS] != 0 && a[QM_KEEP_DIMS] != 1)
        return "keep_dims: must be 0 or 1";
    if (a[QM_MULTIPLIER] < 0)
        return "multiplier: must not be negative";
    if (a[QM_SHIFT] < -31 || a[QM_SHIFT] > 30)
        return "shift: must be in [-31, 30]";
    const uint32_t mask = (uint32_t)a[QM_AXIS_MASK];
    out[0].ndim = 0;
    for (uint32_t d = 0; d < ndim; d++) {
        if (!(mask & (1u << d)))
            out[0].dim[out[0].ndim++] = in[0].dim[d];
        else if (a[QM_KEEP_DIMS])
            out[0].dim[out[0].ndim++] = 1;
    }
    if (out[0].ndim == 0)
        out[0].dim[out[0].ndim++] = 1;
    return dv_shape_check(&out[0]);
}

/* Folds 1/count into the multiplier as TFLite does: count < 2^31 and the multiplier < 2^31,
 * so multiplier * 2^e < 2^63, and the quotient is below 2^31 since 2^e <= count. */
dv_qmean_scaling dv_qmean_scaling_of(const int32_t *a, int64_t count)
{
    int e = 0;
    while (e < 62 && ((int64_t)1 << (e + 1)) <= count)
        e++;
    if (e > 32)
        e = 32;
    if (e > 31 + a[QM_SHIFT])
        e = 31 + a[QM_SHIFT];
    dv_qmean_scaling q;
    q.multiplier = (int32_t)(((int64_t)a[QM_MULTIPLIER] << e) / count);
    q.shift = a[QM_SHIFT] - e;
    q.zero_sum = (uint32_t)((uint64_t)(int64_t)a[QM_INPUT_ZERO_POINT] * (uint64_t)count);
    return q;
}

static void qmean_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                      uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &in[0].shape;
    const uint32_t ndim = xs->ndim, mask = (uint32_t)a[QM_AXIS_MASK];

    /* out_step[d]: how far the output offset moves when input coordinate d does (0 along a
     * reduced axis, the row-major stride among the kept axes otherwise). */
    int64_t out_step[DV_MAX_NDIM], count = 1, step = 1;
    for (uint32_t d = ndim; d-- > 0;) {
        if (mask & (1u << d)) {
            out_step[d] = 0;
            count *= xs->dim[d];
        } else {
            out_step[d] = step;
            step *= xs->dim[d];
        }
    }

    uint32_t *acc = as_wrapping(out[0].data);
    const size_t n_outputs = (size_t)dv_shape_size(&out[0].shape);
    for (size_t i = 0; i < n_outputs; i++)
        acc[i] = 0;
    uint32_t coord[DV_MAX_NDIM] = {0};
    int64_t offset = 0;
    const size_t total = (size_t)dv_shape_size(xs);
    for (size_t i = 0; i < total; i++) {
        acc[offset] += (uint32_t)in[0].data[i];
        for (uint32_t d = ndim; d-- > 0;) {
            offset += out_step[d];
            if (++coord[d] < xs->dim[d])
                break;
            offset -= out_step[d] * xs->dim[d];
            coord[d] = 0;
        }
    }

    const dv_qmean_scaling q = dv_qmean_scaling_of(a, count);
    for (size_t i = 0; i < n_outputs; i++) {
        int32_t scaled = dv_multiply_by_quantized_multiplier(as_int32(acc[i] - q.zero_sum),
                                                             q.multiplier, q.shift, a[QM_ROUNDING]);
        out[0].data[i] =
            dv_clamp(as_int32((uint32_t)scaled + (uint32_t)a[QM_OUTPUT_ZERO_POINT]), -128, 127);
    }
}

const dv_op_info dv_info_QMEAN = {"qmean", 1, 1, 1, qmean_infer, qmean_run, 0};
