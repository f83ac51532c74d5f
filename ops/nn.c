/* Neural-network ops: conv2d, dense, max_pool2d and upsampling, on NCHW int32 tensors.
 *
 * Integer wrapping. conv2d and dense multiply and add in uint32_t arithmetic, that is modulo
 * 2^32, and store the bits as int32: the result is the exact integer result reduced to two's
 * complement int32. The CVM runtime's formal back end computes the same sums in int32 and
 * only wraps where C++ would overflow; on a model that passes CVM precision inference (data
 * and weight <= 8 bits, output precision <= 32) no sum leaves int32, so both agree. Modular
 * addition is associative and commutative, so every summation order (and so every SIMD or
 * threaded variant) gives the same bytes, and a hostile module with out-of-range values
 * gets well-defined wrapped results instead of undefined behaviour.
 *
 * Coordinates are computed in int64_t: each is bounded by dimensions (< 2^24) times int32
 * attributes, far below 2^63. Element offsets fit in size_t because every tensor has at
 * most 2^30 elements (dv_shape_check). */
#include "nn.h"
#include "nn_attrs.h"
#include "op.h"

/* Stores through uint32_t views of int32 tensors: C allows an object to be accessed through
 * the unsigned type corresponding to its type, and int32_t is two's complement, so the stored
 * bits read back as the wrapped int32 value. */
static uint32_t *as_wrapping(int32_t *data)
{
    return (uint32_t *)data;
}

static const char *check_arity(uint32_t n_in, uint32_t want_in, uint32_t n_out)
{
    if (n_in != want_in)
        return "inputs: wrong number of inputs for the attributes";
    if (n_out != 1)
        return "outputs: the op has exactly one output";
    return 0;
}

/* Output extent of a sliding window: (padded - window + round_up) / stride + 1, or 0 when
 * the window does not fit or the extent exceeds DV_MAX_DIM. */
static uint32_t window_extent(int64_t padded, int64_t window, int64_t stride, int64_t round_up)
{
    if (window > padded)
        return 0;
    int64_t n = (padded - window + round_up) / stride + 1;
    return n > (int64_t)DV_MAX_DIM ? 0 : (uint32_t)n;
}

/* ---- conv2d ------------------------------------------------------------------------------
 *
 * CONV2D  data, weight[, bias] -> y
 *
 * attrs (13): channels, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
 *             pad_bottom, pad_right, dilation_h, dilation_w, groups, use_bias
 *
 * data is (N, C, H, W), weight (channels, C/groups, kernel_h, kernel_w), bias (channels)
 * when use_bias is 1; y is (N, channels, OH, OW) with
 *     OH = (H + pad_top + pad_bottom - ((kernel_h - 1) * dilation_h + 1)) / stride_h + 1
 * and OW likewise (integer division of non-negative numbers). Input channel c of group g
 * is data channel g * C/groups + c; output channel o belongs to group o / (channels/groups).
 *
 *     y[n][o][oh][ow] = bias[o] (0 without bias)
 *                     + sum over c < C/groups, kh < kernel_h, kw < kernel_w of
 *                         data[n][g * C/groups + c][ih][iw] * weight[o][c][kh][kw]
 *     with ih = oh * stride_h + kh * dilation_h - pad_top,
 *          iw = ow * stride_w + kw * dilation_w - pad_left,
 *
 * where terms with ih or iw outside the data are left out (zero padding); pad_bottom and
 * pad_right only size the output. All products and sums wrap modulo 2^32 (see the top of
 * this file). Groups = C gives depthwise convolution, channels = k * C a depth multiplier k.
 *
 * The CVM format always has pad_bottom = pad_top and pad_right = pad_left. */
static const char *conv2d_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (attrs->n != CONV_N_ATTRS)
        return "attrs: conv2d takes 13 values";
    const int32_t *a = attrs->v;
    if (a[CONV_USE_BIAS] != 0 && a[CONV_USE_BIAS] != 1)
        return "use_bias: must be 0 or 1";
    const char *why = check_arity(n_in, 2 + (uint32_t)a[CONV_USE_BIAS], n_out);
    if (why)
        return why;
    if (a[CONV_CHANNELS] < 1)
        return "channels: must be positive";
    if (a[CONV_KERNEL_H] < 1 || a[CONV_KERNEL_W] < 1)
        return "kernel_size: must be positive";
    if (a[CONV_STRIDE_H] < 1 || a[CONV_STRIDE_W] < 1)
        return "strides: must be positive";
    if (a[CONV_DILATION_H] < 1 || a[CONV_DILATION_W] < 1)
        return "dilation: must be positive";
    if (a[CONV_PAD_TOP] < 0 || a[CONV_PAD_LEFT] < 0 || a[CONV_PAD_BOTTOM] < 0 ||
        a[CONV_PAD_RIGHT] < 0)
        return "padding: must not be negative";
    if (a[CONV_GROUPS] < 1)
        return "groups: must be positive";

    const dv_shape *data = &in[0], *weight = &in[1];
    if (data->ndim != 4)
        return "data: must be 4-D (NCHW)";
    uint32_t channels = (uint32_t)a[CONV_CHANNELS], groups = (uint32_t)a[CONV_GROUPS];
    if (data->dim[1] % groups != 0 || channels % groups != 0)
        return "groups: must divide the input and output channels";
    if (weight->ndim != 4 || weight->dim[0] != channels ||
        weight->dim[1] != data->dim[1] / groups || weight->dim[2] != (uint32_t)a[CONV_KERNEL_H] ||
        weight->dim[3] != (uint32_t)a[CONV_KERNEL_W])
        return "weight: shape must be (channels, in_channels/groups, kernel_h, kernel_w)";
    if (a[CONV_USE_BIAS] && (in[2].ndim != 1 || in[2].dim[0] != channels))
        return "bias: shape must be (channels)";

    int64_t dilated_h = (int64_t)(a[CONV_KERNEL_H] - 1) * a[CONV_DILATION_H] + 1;
    int64_t dilated_w = (int64_t)(a[CONV_KERNEL_W] - 1) * a[CONV_DILATION_W] + 1;
    int64_t padded_h = (int64_t)data->dim[2] + a[CONV_PAD_TOP] + a[CONV_PAD_BOTTOM];
    int64_t padded_w = (int64_t)data->dim[3] + a[CONV_PAD_LEFT] + a[CONV_PAD_RIGHT];
    if (dilated_h > padded_h || dilated_w > padded_w)
        return "kernel_size: the dilated kernel exceeds the padded input";
    uint32_t out_h = window_extent(padded_h, dilated_h, a[CONV_STRIDE_H], 0);
    uint32_t out_w = window_extent(padded_w, dilated_w, a[CONV_STRIDE_W], 0);
    if (out_h == 0 || out_w == 0)
        return "padding: output larger than 2^24";
    out[0].ndim = 4;
    out[0].dim[0] = data->dim[0];
    out[0].dim[1] = channels;
    out[0].dim[2] = out_h;
    out[0].dim[3] = out_w;
    return dv_shape_check(&out[0]);
}

/* The range [*lo, *hi) of output positions o < n_out whose input position
 * o * stride + offset lies in [0, n_in). */
static void valid_outputs(int64_t offset, int64_t stride, int64_t n_in, int64_t n_out,
                          int64_t *lo, int64_t *hi)
{
    *lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    *hi = n_in - offset <= 0 ? 0 : (n_in - offset + stride - 1) / stride;
    if (*hi > n_out)
        *hi = n_out;
    if (*lo > *hi)
        *lo = *hi;
}

typedef struct {
    int64_t in_h, in_w, out_h, out_w;
    int64_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
} conv_geometry;

/* Adds one kernel tap, weight * data[ih][iw], to every output position of rows
 * [row_begin, row_end) of one plane whose input position is inside the data. */
static void conv2d_add_tap(uint32_t *y_plane, const int32_t *x_plane, uint32_t weight,
                           const conv_geometry *g, int64_t kh, int64_t kw, int64_t row_begin,
                           int64_t row_end)
{
    int64_t offset_h = kh * g->dilation_h - g->pad_top;
    int64_t offset_w = kw * g->dilation_w - g->pad_left;
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    valid_outputs(offset_h, g->stride_h, g->in_h, g->out_h, &oh_lo, &oh_hi);
    valid_outputs(offset_w, g->stride_w, g->in_w, g->out_w, &ow_lo, &ow_hi);
    if (oh_lo < row_begin)
        oh_lo = row_begin;
    if (oh_hi > row_end)
        oh_hi = row_end;
    size_t count = (size_t)(ow_hi - ow_lo), stride_w = (size_t)g->stride_w;
    for (int64_t oh = oh_lo; oh < oh_hi; oh++) {
        int64_t ih = oh * g->stride_h + offset_h;
        const int32_t *x = x_plane + (size_t)(ih * g->in_w + ow_lo * g->stride_w + offset_w);
        uint32_t *y = y_plane + (size_t)(oh * g->out_w + ow_lo);
        if (stride_w == 1) { /* the common case, kept contiguous so that it vectorises */
            for (size_t i = 0; i < count; i++)
                y[i] += weight * (uint32_t)x[i];
        } else {
            for (size_t i = 0; i < count; i++)
                y[i] += weight * (uint32_t)x[i * stride_w];
        }
    }
}

/* Rows [row_begin, row_end) of output plane (n, o): the reference's unit of work, which the
 * variants' exact fallback calls too (nn.h). */
void dv_conv2d_ref_rows(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out, size_t n,
                        size_t o, size_t row_begin, size_t row_end)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &in[0].shape, *ws = &in[1].shape, *ys = &out[0].shape;
    conv_geometry g = {
        .in_h = xs->dim[2], .in_w = xs->dim[3], .out_h = ys->dim[2], .out_w = ys->dim[3],
        .stride_h = a[CONV_STRIDE_H], .stride_w = a[CONV_STRIDE_W],
        .dilation_h = a[CONV_DILATION_H], .dilation_w = a[CONV_DILATION_W],
        .pad_top = a[CONV_PAD_TOP], .pad_left = a[CONV_PAD_LEFT],
    };
    size_t in_channels = xs->dim[1], out_channels = ys->dim[1];
    size_t kernel_h = ws->dim[2], kernel_w = ws->dim[3];
    size_t in_per_group = ws->dim[1];
    size_t out_per_group = out_channels / (size_t)a[CONV_GROUPS];
    size_t x_plane_size = (size_t)(g.in_h * g.in_w), y_plane_size = (size_t)(g.out_h * g.out_w);
    const int32_t *bias = a[CONV_USE_BIAS] ? in[2].data : 0;

    uint32_t *y_plane = as_wrapping(out[0].data) + (n * out_channels + o) * y_plane_size;
    uint32_t start = bias ? (uint32_t)bias[o] : 0;
    for (size_t i = row_begin * (size_t)g.out_w; i < row_end * (size_t)g.out_w; i++)
        y_plane[i] = start;
    size_t first_in_channel = o / out_per_group * in_per_group;
    const int32_t *x_group = in[0].data + (n * in_channels + first_in_channel) * x_plane_size;
    const int32_t *filter = in[1].data + o * in_per_group * kernel_h * kernel_w;
    for (size_t c = 0; c < in_per_group; c++)
        for (size_t kh = 0; kh < kernel_h; kh++)
            for (size_t kw = 0; kw < kernel_w; kw++)
                conv2d_add_tap(y_plane, x_group + c * x_plane_size,
                               (uint32_t)filter[(c * kernel_h + kh) * kernel_w + kw], &g,
                               (int64_t)kh, (int64_t)kw, (int64_t)row_begin, (int64_t)row_end);
}

static void conv2d_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                       uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    size_t batch = in[0].shape.dim[0], out_channels = out[0].shape.dim[1];
    for (size_t n = 0; n < batch; n++)
        for (size_t o = 0; o < out_channels; o++)
            dv_conv2d_ref_rows(attrs, in, out, n, o, 0, out[0].shape.dim[2]);
}

const dv_op_info dv_info_CONV2D = {"conv2d", 2, 3, 1, conv2d_infer, conv2d_run, 0};

/* ---- dense -------------------------------------------------------------------------------
 *
 * DENSE  data, weight[, bias] -> y
 *
 * attrs (2): units, use_bias
 *
 * data is (M, K), weight (units, K), bias (units) when use_bias is 1; y is (M, units):
 *
 *     y[m][u] = bias[u] (0 without bias) + sum over k < K of data[m][k] * weight[u][k]
 *
 * with every product and sum wrapping modulo 2^32 (see the top of this file). */
static const char *dense_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    if (attrs->n != DENSE_N_ATTRS)
        return "attrs: dense takes 2 values";
    const int32_t *a = attrs->v;
    if (a[DENSE_USE_BIAS] != 0 && a[DENSE_USE_BIAS] != 1)
        return "use_bias: must be 0 or 1";
    const char *why = check_arity(n_in, 2 + (uint32_t)a[DENSE_USE_BIAS], n_out);
    if (why)
        return why;
    if (a[DENSE_UNITS] < 1)
        return "units: must be positive";
    uint32_t units = (uint32_t)a[DENSE_UNITS];
    if (in[0].ndim != 2)
        return "data: must be 2-D";
    if (in[1].ndim != 2 || in[1].dim[0] != units || in[1].dim[1] != in[0].dim[1])
        return "weight: shape must be (units, data columns)";
    if (a[DENSE_USE_BIAS] && (in[2].ndim != 1 || in[2].dim[0] != units))
        return "bias: shape must be (units)";
    out[0].ndim = 2;
    out[0].dim[0] = in[0].dim[0];
    out[0].dim[1] = units;
    return dv_shape_check(&out[0]);
}

/* Outputs y[m][u] for rows [row_begin, row_end) and units [unit_begin, unit_end): the
 * reference's unit of work, which the variants' exact fallback calls too (nn.h). */
void dv_dense_ref_block(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                        size_t row_begin, size_t row_end, size_t unit_begin, size_t unit_end)
{
    size_t depth = in[0].shape.dim[1], units = out[0].shape.dim[1];
    const int32_t *bias = attrs->v[DENSE_USE_BIAS] ? in[2].data : 0;
    uint32_t *y = as_wrapping(out[0].data);
    for (size_t m = row_begin; m < row_end; m++) {
        const int32_t *x_row = in[0].data + m * depth;
        for (size_t u = unit_begin; u < unit_end; u++) {
            const int32_t *w_row = in[1].data + u * depth;
            uint32_t sum = bias ? (uint32_t)bias[u] : 0;
            for (size_t k = 0; k < depth; k++)
                sum += (uint32_t)x_row[k] * (uint32_t)w_row[k];
            y[m * units + u] = sum;
        }
    }
}

static void dense_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                      uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_dense_ref_block(attrs, in, out, 0, in[0].shape.dim[0], 0, out[0].shape.dim[1]);
}

const dv_op_info dv_info_DENSE = {"dense", 2, 3, 1, dense_infer, dense_run, 0};

/* ---- max_pool2d --------------------------------------------------------------------------
 *
 * MAX_POOL2D  x -> y
 *
 * attrs (9): pool_h, pool_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right,
 *            ceil_mode
 *
 * x is (N, C, H, W); y is (N, C, OH, OW) with
 *     OH = (H + pad_top + pad_bottom - pool_h + (ceil_mode ? stride_h - 1 : 0)) / stride_h + 1
 * and OW likewise (the pool must fit in the padded input).
 *
 *     y[n][c][oh][ow] = max of x[n][c][ih][iw] over ih = oh * stride_h - pad_top + r,
 *                       iw = ow * stride_w - pad_left + s, r < pool_h, s < pool_w,
 *
 * taking only positions inside x: padding never contributes, so it acts as INT32_MIN, and a
 * window wholly in the padding gives INT32_MIN. The CVM format has symmetric padding and
 * checks that every window overlaps x. */
static const char *max_pool2d_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    if (attrs->n != POOL_N_ATTRS)
        return "attrs: max_pool2d takes 9 values";
    const int32_t *a = attrs->v;
    const char *why = check_arity(n_in, 1, n_out);
    if (why)
        return why;
    if (a[POOL_H] < 1 || a[POOL_W] < 1)
        return "pool_size: must be positive";
    if (a[POOL_STRIDE_H] < 1 || a[POOL_STRIDE_W] < 1)
        return "strides: must be positive";
    if (a[POOL_PAD_TOP] < 0 || a[POOL_PAD_LEFT] < 0 || a[POOL_PAD_BOTTOM] < 0 ||
        a[POOL_PAD_RIGHT] < 0)
        return "padding: must not be negative";
    if (a[POOL_CEIL_MODE] != 0 && a[POOL_CEIL_MODE] != 1)
        return "ceil_mode: must be 0 or 1";
    if (in[0].ndim != 4)
        return "data: must be 4-D (NCHW)";
    int64_t padded_h = (int64_t)in[0].dim[2] + a[POOL_PAD_TOP] + a[POOL_PAD_BOTTOM];
    int64_t padded_w = (int64_t)in[0].dim[3] + a[POOL_PAD_LEFT] + a[POOL_PAD_RIGHT];
    if (a[POOL_H] > padded_h || a[POOL_W] > padded_w)
        return "pool_size: exceeds the padded input";
    int ceil_mode = a[POOL_CEIL_MODE];
    uint32_t out_h = window_extent(padded_h, a[POOL_H], a[POOL_STRIDE_H],
                                   ceil_mode ? a[POOL_STRIDE_H] - 1 : 0);
    uint32_t out_w = window_extent(padded_w, a[POOL_W], a[POOL_STRIDE_W],
                                   ceil_mode ? a[POOL_STRIDE_W] - 1 : 0);
    if (out_h == 0 || out_w == 0)
        return "padding: output larger than 2^24";
    out[0] = in[0];
    out[0].dim[2] = out_h;
    out[0].dim[3] = out_w;
    return dv_shape_check(&out[0]);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void max_pool2d_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &in[0].shape, *ys = &out[0].shape;
    int64_t in_h = xs->dim[2], in_w = xs->dim[3], out_h = ys->dim[2], out_w = ys->dim[3];
    size_t planes = (size_t)xs->dim[0] * xs->dim[1];
    for (size_t p = 0; p < planes; p++) {
        const int32_t *x = in[0].data + p * (size_t)(in_h * in_w);
        int32_t *y = out[0].data + p * (size_t)(out_h * out_w);
        for (int64_t oh = 0; oh < out_h; oh++) {
            int64_t top = oh * a[POOL_STRIDE_H] - a[POOL_PAD_TOP];
            int64_t h_begin = max64(top, 0), h_end = min64(top + a[POOL_H], in_h);
            for (int64_t ow = 0; ow < out_w; ow++) {
                int64_t left = ow * a[POOL_STRIDE_W] - a[POOL_PAD_LEFT];
                int64_t w_begin = max64(left, 0), w_end = min64(left + a[POOL_W], in_w);
                int32_t best = INT32_MIN;
                for (int64_t ih = h_begin; ih < h_end; ih++)
                    for (int64_t iw = w_begin; iw < w_end; iw++)
                        if (x[ih * in_w + iw] > best)
                            best = x[ih * in_w + iw];
                y[oh * out_w + ow] = best;
            }
        }
    }
}

const dv_op_info dv_info_MAX_POOL2D = {"max_pool2d", 1, 1, 1, max_pool2d_infer, max_pool2d_run, 0};

/* ---- upsampling --------------------------------------------------------------------------
 *
 * UPSAMPLING  x -> y
 *
 * attrs (1): scale
 *
 * Nearest-neighbour upsampling: x is (N, C, H, W), y is (N, C, H * scale, W * scale) and
 *
 *     y[n][c][i][j] = x[n][c][i / scale][j / scale]   (integer division). */
static const char *upsampling_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    if (attrs->n != UPSAMPLING_N_ATTRS)
        return "attrs: upsampling takes 1 value";
    const char *why = check_arity(n_in, 1, n_out);
    if (why)
        return why;
    int32_t scale = attrs->v[UPSAMPLING_SCALE];
    if (scale < 1)
        return "scale: must be positive";
    if (in[0].ndim != 4)
        return "data: must be 4-D (NCHW)";
    uint64_t out_h = (uint64_t)in[0].dim[2] * (uint64_t)scale;
    uint64_t out_w = (uint64_t)in[0].dim[3] * (uint64_t)scale;
    if (out_h > DV_MAX_DIM || out_w > DV_MAX_DIM)
        return "scale: output larger than 2^24";
    out[0] = in[0];
    out[0].dim[2] = (uint32_t)out_h;
    out[0].dim[3] = (uint32_t)out_w;
    return dv_shape_check(&out[0]);
}

static void upsampling_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    size_t scale = (size_t)attrs->v[UPSAMPLING_SCALE];
    const dv_shape *xs = &in[0].shape, *ys = &out[0].shape;
    size_t in_h = xs->dim[2], in_w = xs->dim[3], out_h = ys->dim[2], out_w = ys->dim[3];
    size_t planes = (size_t)xs->dim[0] * xs->dim[1];
    for (size_t p = 0; p < planes; p++) {
        const int32_t *x = in[0].data + p * in_h * in_w;
        int32_t *y = out[0].data + p * out_h * out_w;
        for (size_t i = 0; i < out_h; i++) {
            const int32_t *x_row = x + i / scale * in_w;
            for (size_t j = 0; j < out_w; j++)
                y[i * out_w + j] = x_row[j / scale];
        }
    }
}

const dv_op_info dv_info_UPSAMPLING = {"upsampling", 1, 1, 1, upsampling_infer, upsampling_run, 0};

/* ---- the fused ops -----------------------------------------------------------------------
 *
 * CONV2D_SHIFT        data, weight[, bias] -> y    attrs (18): conv2d's 13, then the epilogue
 * DENSE_SHIFT         data, weight[, bias] -> y    attrs (7): dense's 2, then the epilogue
 * ELEMWISE_ADD_SHIFT  a, b -> y                    attrs (5): the epilogue
 *
 * The compiler (loader/fuse.c) joins an op, the CVM_RIGHT_SHIFT that alone reads its output,
 * and optionally the RELU, CLIP or CVM_CLIP that alone reads the shift's output, into one
 * instruction:
 *
 *     y = act(cvm_right_shift(op(inputs), precision, shift_bit))
 *
 * The epilogue's 5 attributes (nn_attrs.h, EPI_*) are precision and shift_bit, as
 * CVM_RIGHT_SHIFT takes them, then act: 0 (none) or the activation's opcode, RELU (3), CLIP (4)
 * with a_min = act_a and a_max = act_b, or CVM_CLIP (5) with precision = act_a; the values an
 * activation does not take are 0.
 *
 * Each step is the reference kernel of the unfused op, run in turn on the whole output, so the
 * arithmetic is theirs (conv2d and dense above, ELEMWISE_ADD, CVM_RIGHT_SHIFT and the
 * activations in ops/elemwise.c) and the fused op gives the bytes of the unfused chain by
 * construction. Infer checks the op's attributes and shapes with the op's own infer, and the
 * epilogue with CVM_RIGHT_SHIFT's and the activation's. The element-wise steps run in place:
 * those kernels read x[i] and then write y[i] at the same index, touching no other element, so
 * running one with y = x is the same as running it into a copy. */

/* The attributes of the epilogue's activation (act_a, act_b as that op takes them). */
static dv_attrs activation_attrs(const int32_t *e)
{
    dv_attrs a = {e + EPI_ACT_A, e[EPI_ACT] == DV_OP_CLIP ? 2u : e[EPI_ACT] == DV_OP_CVM_CLIP};
    return a;
}

static const char *epilogue_infer(const int32_t *e, const dv_shape *y)
{
    dv_shape same;
    dv_attrs shift = {e, 2};
    const char *why = dv_op_lookup(DV_OP_CVM_RIGHT_SHIFT)->infer(&shift, 1, y, 1, &same);
    if (why)
        return why;
    dv_attrs act = activation_attrs(e);
    switch (e[EPI_ACT]) {
    case 0:
    case DV_OP_RELU:
        if (e[EPI_ACT_A] != 0 || e[EPI_ACT_B] != 0)
            return "act_a, act_b: must be 0 without an activation and with relu";
        return 0;
    case DV_OP_CVM_CLIP:
        if (e[EPI_ACT_B] != 0)
            return "act_b: must be 0 with cvm_clip";
        return dv_op_lookup(DV_OP_CVM_CLIP)->infer(&act, 1, y, 1, &same);
    case DV_OP_CLIP:
        return dv_op_lookup(DV_OP_CLIP)->infer(&act, 1, y, 1, &same);
    default:
        return "act: must be 0, 3 (relu), 4 (clip) or 5 (cvm_clip)";
    }
}

int dv_epilogue_valid(const int32_t *epilogue)
{
    const dv_shape one = {1, {1}};
    return epilogue_infer(epilogue, &one) == 0;
}

void dv_epilogue_ref(const int32_t *epilogue, int32_t *values, size_t n)
{
    dv_tensor t = {values, {1, {(uint32_t)n}}, 0};
    dv_attrs shift = {epilogue, 2};
    dv_op_lookup(DV_OP_CVM_RIGHT_SHIFT)->run(&shift, 1, &t, 1, &t, 0);
    if (epilogue[EPI_ACT] != 0) {
        dv_attrs act = activation_attrs(epilogue);
        dv_op_lookup((uint32_t)epilogue[EPI_ACT])->run(&act, 1, &t, 1, &t, 0);
    }
}

static const char *conv2d_shift_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                      uint32_t n_out, dv_shape *out)
{
    if (attrs->n != CONV_N_ATTRS + EPI_N_ATTRS)
        return "attrs: conv2d_shift takes 18 values";
    const dv_attrs conv = {attrs->v, CONV_N_ATTRS};
    const char *why = conv2d_infer(&conv, n_in, in, n_out, out);
    return why ? why : epilogue_infer(attrs->v + CONV_N_ATTRS, &out[0]);
}

static void conv2d_shift_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                             uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const dv_attrs conv = {attrs->v, CONV_N_ATTRS};
    conv2d_run(&conv, n_in, in, n_out, out, scratch);
    dv_epilogue_ref(attrs->v + CONV_N_ATTRS, out[0].data, (size_t)dv_shape_size(&out[0].shape));
}

static const char *dense_shift_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    if (attrs->n != DENSE_N_ATTRS + EPI_N_ATTRS)
        return "attrs: dense_shift takes 7 values";
    const dv_attrs dense = {attrs->v, DENSE_N_ATTRS};
    const char *why = dense_infer(&dense, n_in, in, n_out, out);
    return why ? why : epilogue_infer(attrs->v + DENSE_N_ATTRS, &out[0]);
}

static void dense_shift_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const dv_attrs dense = {attrs->v, DENSE_N_ATTRS};
    dense_run(&dense, n_in, in, n_out, out, scratch);
    dv_epilogue_ref(attrs->v + DENSE_N_ATTRS, out[0].data, (size_t)dv_shape_size(&out[0].shape));
}

static const char *add_shift_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                   uint32_t n_out, dv_shape *out)
{
    if (attrs->n != EPI_N_ATTRS)
        return "attrs: elemwise_add_shift takes 5 values";
    const dv_attrs none = {attrs->v, 0};
    const char *why = dv_op_lookup(DV_OP_ELEMWISE_ADD)->infer(&none, n_in, in, n_out, out);
    return why ? why : epilogue_infer(attrs->v, &out[0]);
}

static void add_shift_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                          uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const dv_attrs none = {attrs->v, 0};
    dv_op_lookup(DV_OP_ELEMWISE_ADD)->run(&none, n_in, in, n_out, out, scratch);
    dv_epilogue_ref(attrs->v, out[0].data, (size_t)dv_shape_size(&out[0].shape));
}

const dv_op_info dv_info_CONV2D_SHIFT = {"conv2d_shift", 2, 3, 1, conv2d_shift_infer,
                                         conv2d_shift_run, 0};
const dv_op_info dv_info_DENSE_SHIFT = {"dense_shift", 2, 3, 1, dense_shift_infer,
                                        dense_shift_run, 0};
const dv_op_info dv_info_ELEMWISE_ADD_SHIFT = {"elemwise_add_shift", 2, 2, 1, add_shift_infer,
                                               add_shift_run, 0};

/* ---- conv2d_shift then max_pool2d ----------------------------------------------------------
 *
 * CONV2D_SHIFT_MAX_POOL  data, weight[, bias] -> y
 *
 * attrs (27): CONV2D_SHIFT's 18 (conv2d's 13, then the epilogue), then MAX_POOL2D's 9
 *
 * The compiler (loader/fuse.c) joins a CONV2D_SHIFT and the MAX_POOL2D that alone reads its
 * output into one instruction:
 *
 *     y = max_pool2d(conv2d_shift(data, weight, bias))
 *
 * The intermediate is int32: the reference runs CONV2D_SHIFT's reference kernel into its
 * scratch (the op table's scratch function gives its size, the conv output's elements), then
 * MAX_POOL2D's on it, so the bytes are the unfused pair's by construction. Infer checks the
 * conv part with CONV2D_SHIFT's infer and the pool part with MAX_POOL2D's, on the conv output's
 * shape. */
static const char *conv2d_shift_max_pool_parts(const dv_attrs *attrs, dv_attrs *conv,
                                               dv_attrs *pool)
{
    if (attrs->n != CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS)
        return "attrs: conv2d_shift_max_pool takes 27 values";
    conv->v = attrs->v;
    conv->n = CONV_N_ATTRS + EPI_N_ATTRS;
    pool->v = attrs->v + CONV_N_ATTRS + EPI_N_ATTRS;
    pool->n = POOL_N_ATTRS;
    return 0;
}

static const char *conv2d_shift_max_pool_infer(const dv_attrs *attrs, uint32_t n_in,
                                               const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    dv_attrs conv, pool;
    dv_shape mid;
    const char *why = conv2d_shift_max_pool_parts(attrs, &conv, &pool);
    if (!why)
        why = conv2d_shift_infer(&conv, n_in, in, n_out, &mid);
    return why ? why : max_pool2d_infer(&pool, 1, &mid, n_out, out);
}

static uint64_t conv2d_shift_max_pool_scratch(const dv_attrs *attrs, uint32_t n_in,
                                              const dv_shape *in)
{
    dv_attrs conv, pool;
    dv_shape mid;
    if (conv2d_shift_max_pool_parts(attrs, &conv, &pool) ||
        conv2d_shift_infer(&conv, n_in, in, 1, &mid))
        return 0;
    return dv_shape_size(&mid);
}

static void conv2d_shift_max_pool_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                      uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_attrs conv, pool;
    dv_shape shapes[3];
    dv_tensor mid = {scratch, {0, {0}}, 0};
    for (uint32_t i = 0; i < n_in && i < 3; i++)
        shapes[i] = in[i].shape;
    if (conv2d_shift_max_pool_parts(attrs, &conv, &pool) ||
        conv2d_shift_infer(&conv, n_in, shapes, 1, &mid.shape))
        return; /* not reached: infer accepted the instruction */
    conv2d_shift_run(&conv, n_in, in, 1, &mid, 0);
    max_pool2d_run(&pool, 1, &mid, n_out, out, 0);
}

const dv_op_info dv_info_CONV2D_SHIFT_MAX_POOL = {"conv2d_shift_max_pool", 2, 3, 1,
                                                  conv2d_shift_max_pool_infer,
                                                  conv2d_shift_max_pool_run,
                                                  conv2d_shift_max_pool_scratch};
