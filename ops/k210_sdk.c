/* The CPU layers of kmodel v3, computed as the Kendryte standalone SDK's kpu.c (commit 02576ba,
 * lib/drivers/kpu.c, ai_step and the kpu_* layer functions) computes them.
 *
 * Every op works on memory images (ops/kimage.h). The SDK runs each layer in place in one
 * main buffer, reading its sources and writing its destination in a fixed order, so a layer
 * whose destination overlaps its source sees its own earlier writes. To give those bytes too,
 * each op first copies its input image to its output image and then reads and writes only the
 * output image, in the SDK's order.
 *
 * Addresses and sizes are attributes: byte offsets in main memory (or KPU RAM), counts as
 * stored in the layer body. Floats in attributes (quantization scales and biases) are their
 * IEEE-754 bits. Constants the layer body carries (weights, tables, per-channel parameters)
 * are constant images of the body's bytes.
 *
 * Float arithmetic is IEEE-754 single precision, round to nearest, one operation per statement
 * in the SDK's order, never fused (-ffp-contract=off); the reference ran on x86-64 with SSE,
 * where float expressions are evaluated in float. expf, sqrtf, roundf and floorf are
 * ops/fmath.h's. A NaN result is stored as 0x7fc00000 (hosts differ in NaN payloads). These
 * layers are outside the integer contract (FLOAT_OP in optable.inc) except those marked
 * integer below. */
#include "fmath.h"
#include "kimage.h"
#include "kpu.h"
#include "quant.h"

/* ---- helpers ---------------------------------------------------------------------------- */

#define SAT_LIMIT (1ull << 62)

/* a * b, or SAT_LIMIT when that is larger (every range check then fails). */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    if (a && b > SAT_LIMIT / a)
        return SAT_LIMIT;
    return a * b;
}

static uint64_t mul3(int32_t a, int32_t b, int32_t c)
{
    return mul_sat(mul_sat((uint32_t)a, (uint32_t)b), (uint32_t)c);
}

static int any_negative(const dv_attrs *a, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++)
        if (a->v[i] < 0)
            return 1;
    return 0;
}

/* NULL when [offset, offset + bytes) lies inside the image. */
static const char *range(const dv_shape *img, int32_t offset, uint64_t bytes)
{
    return dv_image_check_range(img, offset, bytes > SAT_LIMIT ? (int64_t)SAT_LIMIT
                                                               : (int64_t)bytes);
}

/* The shared infer of ops whose only image is main memory, read at `in` for `in_bytes` and
 * written at `out` for `out_bytes`. */
static const char *main_op(const dv_shape *in, dv_shape *out, int32_t src, uint64_t src_bytes,
                           int32_t dst, uint64_t dst_bytes)
{
    const char *why = range(&in[0], src, src_bytes);
    if (!why)
        why = range(&in[0], dst, dst_bytes);
    if (!why)
        out[0] = in[0];
    return why;
}

static float f32_attr(int32_t bits) { return dv_f32_from_bits((uint32_t)bits); }

static float get_f32(const int32_t *img, uint32_t addr) { return dv_image_f32(img, addr); }

static void put_f32(int32_t *img, uint32_t addr, float v)
{
    dv_image_put_u32(img, addr, v != v ? DV_F32_QNAN : dv_f32_bits(v));
}

/* The SDK's min/max macros on floats: max(x, 0) is x > 0 ? x : 0, so NaN and -0 give +0. */
static float relu(float x) { return x > 0.0f ? x : 0.0f; }

static float relu6(float x)
{
    float m = relu(x);
    return m < 6.0f ? m : 6.0f;
}

/* ---- SDK_ADD ---------------------------------------------------------------------------
 * SDK_ADD: main -> main'
 *   attrs: a, b, out, count (byte offsets of float32 arrays; element count)
 * out[i] = a[i] + b[i] for i = 0, 1, ... (kpu_kmodel_add). */
static const char *add_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                             uint32_t n_out, dv_shape *out)
{
    if (a->n != 4 || any_negative(a, 0, 4))
        return "sdk_add: takes 4 non-negative attributes (a, b, out, count)";
    uint64_t bytes = 4 * (uint64_t)a->v[3];
    const char *why = range(&in[0], a->v[1], bytes);
    return why ? why : main_op(in, out, a->v[0], bytes, a->v[2], bytes);
}

static void add_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t pa = (uint32_t)a->v[0], pb = (uint32_t)a->v[1], po = (uint32_t)a->v[2];
    for (uint32_t i = 0; i < (uint32_t)a->v[3]; i++) {
        float sum = get_f32(m, pa + 4 * i) + get_f32(m, pb + 4 * i);
        put_f32(m, po + 4 * i, sum);
    }
}

const dv_op_info dv_info_SDK_ADD = {"sdk_add", 1, 1, 1, add_infer, add_run, NULL};

/* ---- SDK_QUANTIZED_ADD (integer) ---------------------------------------------------------
 * SDK_QUANTIZED_ADD: main -> main'
 *   attrs: a, b, out, count, a_offset, a_mul, a_shift, b_offset, b_mul, b_shift,
 *          out_offset, out_mul, out_shift
 * uint8 arrays, processed in groups of 8 (count rounded up to a multiple of 8, so up to 7
 * bytes past `count` are read and written, as the SDK does). Per element, in int64:
 *   x = (a + a_offset) * a_mul, y = (b + b_offset) * b_mul
 *   v = (x + y) >> a_shift                     when a_shift == b_shift
 *   v = (x >> a_shift) + (y >> b_shift)        otherwise
 *   v = carry_shift(v * out_mul, out_shift) + out_offset, clamped to 0..255,
 * where >> is arithmetic and carry_shift(v, s) = v for s = 0, else with u = v >> (s - 1):
 * u odd ? (u >> 1) + (u < 0 ? -1 : 1) : u >> 1 (kpu_carry_shift, rounding half away from
 * zero, and one further away on negative odd values). Products and sums wrap modulo 2^64 as
 * the 64-bit machines running the SDK do (never in a real model). Shifts must be 0..63.
 * A group's 8 pairs are all read before its 8 results are written. */
static int64_t wrap64(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static int64_t carry_shift(int64_t v, uint32_t shift)
{
    if (shift == 0)
        return v;
    v = dv_asr(v, (int)shift - 1);
    if ((uint64_t)v & 1)
        return dv_asr(v, 1) + (v < 0 ? -1 : 1);
    return dv_asr(v, 1);
}

static const char *qadd_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    if (a->n != 13 || any_negative(a, 0, 4))
        return "sdk_quantized_add: takes a, b, out, count (non-negative) and 9 parameters";
    for (uint32_t i = 6; i < 13; i += 3)
        if (a->v[i] < 0 || a->v[i] > 63)
            return "sdk_quantized_add: shifts must be 0..63";
    uint64_t bytes = ((uint64_t)a->v[3] + 7) & ~7ull;
    const char *why = range(&in[0], a->v[1], bytes);
    return why ? why : main_op(in, out, a->v[0], bytes, a->v[2], bytes);
}

static void qadd_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    const int32_t *v = a->v;
    uint32_t pa = (uint32_t)v[0], pb = (uint32_t)v[1], po = (uint32_t)v[2];
    uint32_t groups = (uint32_t)(((uint64_t)v[3] + 7) / 8);
    for (uint32_t g = 0; g < groups; g++) {
        uint8_t result[8];
        for (uint32_t j = 0; j < 8; j++) {
            uint32_t k = 8 * g + j;
            int64_t qa = (int64_t)dv_image_u8(m, pa + k) + v[4];
            int64_t qb = (int64_t)dv_image_u8(m, pb + k) + v[7];
            uint64_t x = (uint64_t)qa * (uint64_t)(int64_t)v[5];
            uint64_t y = (uint64_t)qb * (uint64_t)(int64_t)v[8];
            int64_t sum;
            if (v[6] == v[9])
                sum = dv_asr(wrap64(x + y), v[6]);
            else
                sum = wrap64((uint64_t)dv_asr(wrap64(x), v[6]) + (uint64_t)dv_asr(wrap64(y), v[9]));
            int64_t o = wrap64((uint64_t)sum * (uint64_t)(int64_t)v[11]);
            o = carry_shift(o, (uint32_t)v[12]);
            o = wrap64((uint64_t)o + (uint64_t)(int64_t)v[10]);
            result[j] = (uint8_t)(o < 0 ? 0 : o > 255 ? 255 : o);
        }
        for (uint32_t j = 0; j < 8; j++)
            dv_image_put_u8(m, po + 8 * g + j, result[j]);
    }
}

const dv_op_info dv_info_SDK_QUANTIZED_ADD = {"sdk_quantized_add", 1, 1, 1, qadd_infer,
                                              qadd_run, NULL};

/* ---- SDK_GLOBAL_AVERAGE_POOL2D -----------------------------------------------------------
 * SDK_GLOBAL_AVERAGE_POOL2D: main -> main'
 *   attrs: in, out, kernel_size, channels
 * For each channel c: sum = 0, then sum += in[c * kernel_size + i] for i = 0, 1, ...;
 * out[c] = sum / (float)kernel_size (kpu_global_average_pool2d; kernel_size 0 gives NaN). */
static const char *gap_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                             uint32_t n_out, dv_shape *out)
{
    if (a->n != 4 || any_negative(a, 0, 4))
        return "sdk_global_average_pool2d: takes 4 non-negative attributes "
               "(in, out, kernel_size, channels)";
    return main_op(in, out, a->v[0], mul3(a->v[2], a->v[3], 4), a->v[1], 4 * (uint64_t)a->v[3]);
}

static void gap_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t src = (uint32_t)a->v[0], dst = (uint32_t)a->v[1], size = (uint32_t)a->v[2];
    float divisor = (float)size;
    for (uint32_t c = 0; c < (uint32_t)a->v[3]; c++) {
        float sum = 0.0f;
        for (uint32_t i = 0; i < size; i++) {
            sum = sum + get_f32(m, src);
            src += 4;
        }
        put_f32(m, dst + 4 * c, sum / divisor);
    }
}

const dv_op_info dv_info_SDK_GLOBAL_AVERAGE_POOL2D = {"sdk_global_average_pool2d", 1, 1, 1,
                                                      gap_infer, gap_run, NULL};

/* ---- SDK_QUANTIZED_MAX_POOL2D (integer) and SDK_AVERAGE_POOL2D ----------------------------
 * SDK_QUANTIZED_MAX_POOL2D, SDK_AVERAGE_POOL2D: main -> main'
 *   attrs: in, out, in_w, in_h, out_w, out_h, channels, kernel_w, kernel_h, stride_w,
 *          stride_h, pad_w, pad_h
 * CHW maps (uint8 for max, float32 for average). For output (c, oy, ox) the window starts at
 * (oy*stride_h - pad_h, ox*stride_w - pad_w) and is clipped to the input; max starts from 0
 * and takes the larger byte; average adds the floats row by row into a float starting at 0,
 * counts them in a float, and divides (an empty window gives NaN). Channel c of the input
 * starts at in + c*in_w*in_h elements (the SDK uses the output channel count for both). The
 * SDK ignores the body's input channel count and activation, and so do these ops.
 * infer refuses windows that would start past the input's end (where the SDK's unsigned
 * arithmetic would read outside the map) and values above 2^30. */
#define POOL_LIMIT (1 << 30)

/* The clipped window [*start, *end) along one axis for output position o. */
static void pool_window(int64_t o, int32_t stride, int32_t pad, int32_t kernel, int32_t size,
                        int64_t *origin, int64_t *start, int64_t *end)
{
    *origin = o * stride - pad;
    *start = *origin < 0 ? -*origin : 0;
    int64_t room = size - *origin;
    *end = kernel < room ? kernel : room;
}

static const char *pool_infer(const dv_attrs *a, const dv_shape *in, dv_shape *out,
                              uint32_t elem)
{
    if (a->n != 13 || any_negative(a, 0, 13))
        return "sdk_pool2d: takes 13 non-negative attributes (in, out, in_w, in_h, out_w, "
               "out_h, channels, kernel_w, kernel_h, stride_w, stride_h, pad_w, pad_h)";
    for (uint32_t i = 2; i < 13; i++)
        if (a->v[i] > POOL_LIMIT)
            return "sdk_pool2d: sizes, strides and pads must be at most 2^30";
    const int32_t *v = a->v;
    for (int axis = 0; axis < 2; axis++) {
        int64_t last = (int64_t)v[4 + axis] - 1; /* last output position */
        if (last >= 0 && last * v[9 + axis] - v[11 + axis] > v[2 + axis])
            return "sdk_pool2d: a window starts past the end of the input";
        if (last >= 0 && last * v[9 + axis] > POOL_LIMIT)
            return "sdk_pool2d: output size times stride must be at most 2^30";
    }
    return main_op(in, out, v[0], mul_sat(mul3(v[2], v[3], v[6]), elem), v[1],
                   mul_sat(mul3(v[4], v[5], v[6]), elem));
}

static void pool_run(const dv_attrs *a, const dv_tensor *in, dv_tensor *out, int average)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    const int32_t *v = a->v;
    uint32_t elem = average ? 4 : 1, dst = (uint32_t)v[1];
    uint32_t in_w = (uint32_t)v[2], in_h = (uint32_t)v[3];
    for (uint32_t c = 0; c < (uint32_t)v[6]; c++) {
        uint32_t channel = (uint32_t)v[0] + c * in_w * in_h * elem;
        for (int64_t oy = 0; oy < v[5]; oy++) {
            int64_t y0, ys, ye;
            pool_window(oy, v[10], v[12], v[8], v[3], &y0, &ys, &ye);
            for (int64_t ox = 0; ox < v[4]; ox++) {
                int64_t x0, xs, xe;
                pool_window(ox, v[9], v[11], v[7], v[2], &x0, &xs, &xe);
                uint8_t max = 0;
                float sum = 0.0f, count = 0.0f;
                for (int64_t ky = ys; ky < ye; ky++)
                    for (int64_t kx = xs; kx < xe; kx++) {
                        uint32_t at = (uint32_t)((y0 + ky) * in_w + x0 + kx) * elem + channel;
                        if (average) {
                            sum = sum + get_f32(m, at);
                            count = count + 1.0f;
                        } else {
                            uint8_t b = dv_image_u8(m, at);
                            max = b > max ? b : max;
                        }
                    }
                if (average)
                    put_f32(m, dst, sum / count);
                else
                    dv_image_put_u8(m, dst, max);
                dst += elem;
            }
        }
    }
}

static const char *qmax_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    return pool_infer(a, in, out, 1);
}

static void qmax_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    pool_run(a, in, out, 0);
}

const dv_op_info dv_info_SDK_QUANTIZED_MAX_POOL2D = {"sdk_quantized_max_pool2d", 1, 1, 1,
                                                     qmax_infer, qmax_run, NULL};

static const char *avg_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                             uint32_t n_out, dv_shape *out)
{
    return pool_infer(a, in, out, 4);
}

static void avg_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    pool_run(a, in, out, 1);
}

const dv_op_info dv_info_SDK_AVERAGE_POOL2D = {"sdk_average_pool2d", 1, 1, 1, avg_infer,
                                               avg_run, NULL};

/* ---- SDK_QUANTIZE, SDK_DEQUANTIZE --------------------------------------------------------
 * SDK_QUANTIZE: main -> main'
 *   attrs: in, out, count, scale (float bits), bias (float bits)
 * inv = 1 / scale once; per element q = roundf((x - bias) * inv) (half away from zero),
 * converted to int as x86-64 does (a value outside the int range, or NaN, becomes INT_MIN),
 * then clamped to 0..255 and stored as a byte (kpu_quantize). So a NaN or a result of 2^31 or
 * more stores 0, as on the reference host.
 *
 * SDK_DEQUANTIZE: main -> main'
 *   attrs: in, out, count, scale (float bits), bias (float bits)
 * out[i] = (float)in[i] * scale + bias, uint8 in, float32 out (kpu_kmodel_dequantize). */
static const char *quant_infer(const dv_attrs *a, const dv_shape *in, dv_shape *out,
                               uint32_t in_elem, uint32_t out_elem)
{
    if (a->n != 5 || any_negative(a, 0, 3))
        return "sdk_(de)quantize: takes in, out, count (non-negative), scale and bias";
    return main_op(in, out, a->v[0], (uint64_t)a->v[2] * in_elem, a->v[1],
                   (uint64_t)a->v[2] * out_elem);
}

static uint8_t quantize_value(float x)
{
    float r = dv_roundf(x);
    if (!(r >= 0.0f) || r >= 2147483648.0f)
        return 0; /* negative, NaN, or INT_MIN from an out-of-range conversion */
    return r > 255.0f ? 255 : (uint8_t)r;
}

static const char *quantize_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    return quant_infer(a, in, out, 4, 1);
}

static void quantize_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                         dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    float inv = 1.0f / f32_attr(a->v[3]), bias = f32_attr(a->v[4]);
    for (uint32_t i = 0; i < (uint32_t)a->v[2]; i++) {
        float x = get_f32(m, (uint32_t)a->v[0] + 4 * i);
        x = x - bias;
        x = x * inv;
        dv_image_put_u8(m, (uint32_t)a->v[1] + i, quantize_value(x));
    }
}

const dv_op_info dv_info_SDK_QUANTIZE = {"sdk_quantize", 1, 1, 1, quantize_infer, quantize_run,
                                         NULL};

static const char *dequantize_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    return quant_infer(a, in, out, 1, 4);
}

static float dequantize_value(uint8_t q, float scale, float bias)
{
    float x = (float)q * scale;
    return x + bias;
}

static void dequantize_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    float scale = f32_attr(a->v[3]), bias = f32_attr(a->v[4]);
    for (uint32_t i = 0; i < (uint32_t)a->v[2]; i++)
        put_f32(m, (uint32_t)a->v[1] + 4 * i,
                dequantize_value(dv_image_u8(m, (uint32_t)a->v[0] + i), scale, bias));
}

const dv_op_info dv_info_SDK_DEQUANTIZE = {"sdk_dequantize", 1, 1, 1, dequantize_infer,
                                           dequantize_run, NULL};

/* ---- SDK_CHANNELWISE_DEQUANTIZE ----------------------------------------------------------
 * SDK_CHANNELWISE_DEQUANTIZE: main, params -> main'
 *   attrs: in, out, channels, channel_size
 *   params: an image of channels x (scale, bias) float32 pairs, as in the layer body
 * Channel c's channel_size bytes map to (float)q * scale[c] + bias[c], in order
 * (kpu_kmodel_channelwise_dequantize). */
static const char *cdequant_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    if (a->n != 4 || any_negative(a, 0, 4))
        return "sdk_channelwise_dequantize: takes 4 non-negative attributes "
               "(in, out, channels, channel_size)";
    if (in[1].ndim != 1 || in[1].dim[0] != 2 * (uint64_t)a->v[2])
        return "sdk_channelwise_dequantize: params must hold 2 words per channel";
    uint64_t n = mul_sat((uint32_t)a->v[2], (uint32_t)a->v[3]);
    return main_op(in, out, a->v[0], n, a->v[1], mul_sat(n, 4));
}

static void cdequant_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                         dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t src = (uint32_t)a->v[0], dst = (uint32_t)a->v[1];
    for (uint32_t c = 0; c < (uint32_t)a->v[2]; c++) {
        float scale = get_f32(in[1].data, 8 * c), bias = get_f32(in[1].data, 8 * c + 4);
        for (uint32_t i = 0; i < (uint32_t)a->v[3]; i++) {
            put_f32(m, dst, dequantize_value(dv_image_u8(m, src), scale, bias));
            src += 1;
            dst += 4;
        }
    }
}

const dv_op_info dv_info_SDK_CHANNELWISE_DEQUANTIZE = {"sdk_channelwise_dequantize", 2, 2, 1,
                                                       cdequant_infer, cdequant_run, NULL};

/* ---- SDK_REQUANTIZE (integer) ------------------------------------------------------------
 * SDK_REQUANTIZE: main, table -> main'
 *   attrs: in, out, count
 *   table: an image of the body's 256 bytes
 * out[i] = table[in[i]] for i = 0, 1, ... (kpu_requantize). */
static const char *requant_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (a->n != 3 || any_negative(a, 0, 3))
        return "sdk_requantize: takes 3 non-negative attributes (in, out, count)";
    if (in[1].ndim != 1 || in[1].dim[0] != 64)
        return "sdk_requantize: the table must hold 256 bytes";
    return main_op(in, out, a->v[0], (uint32_t)a->v[2], a->v[1], (uint32_t)a->v[2]);
}

static void requant_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    for (uint32_t i = 0; i < (uint32_t)a->v[2]; i++)
        dv_image_put_u8(m, (uint32_t)a->v[1] + i,
                        dv_image_u8(in[1].data, dv_image_u8(m, (uint32_t)a->v[0] + i)));
}

const dv_op_info dv_info_SDK_REQUANTIZE = {"sdk_requantize", 2, 2, 1, requant_infer,
                                           requant_run, NULL};

/* ---- SDK_L2_NORMALIZATION, SDK_SOFTMAX, SDK_LOGISTIC -------------------------------------
 * All three: main -> main'
 *   attrs: in, out, channels (float32 vectors)
 * SDK_L2_NORMALIZATION (kpu_l2_normalization): sum = 0, sum += x[c] * x[c] in order; if
 *   sum < 1e-10f then sum = 1e-10f; k = 1 / sqrtf(sum); out[c] = x[c] * k in order.
 * SDK_SOFTMAX (kpu_softmax): max starts at FLT_MIN (the smallest positive normal float, not
 *   -FLT_MAX) and takes fmaxf with each x[c] (NaNs ignored); then for each c in order
 *   e = expf(x[c] - max), sum += e, out[c] = e; then out[c] = out[c] / sum in order.
 * SDK_LOGISTIC (kpu_logistic): out[c] = 1 / (1 + expf(-x[c])). */
static const char *vector_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (a->n != 3 || any_negative(a, 0, 3))
        return "sdk vector layer: takes 3 non-negative attributes (in, out, channels)";
    uint64_t bytes = 4 * (uint64_t)a->v[2];
    return main_op(in, out, a->v[0], bytes, a->v[1], bytes);
}

static void l2norm_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t src = (uint32_t)a->v[0], dst = (uint32_t)a->v[1], n = (uint32_t)a->v[2];
    float sum = 0.0f;
    for (uint32_t c = 0; c < n; c++) {
        float x = get_f32(m, src + 4 * c);
        float sq = x * x;
        sum = sum + sq;
    }
    if (sum < 1e-10f)
        sum = 1e-10f;
    float k = 1.0f / dv_sqrtf(sum);
    for (uint32_t c = 0; c < n; c++) {
        float x = get_f32(m, src + 4 * c);
        put_f32(m, dst + 4 * c, x * k);
    }
}

const dv_op_info dv_info_SDK_L2_NORMALIZATION = {"sdk_l2_normalization", 1, 1, 1,
                                                 vector_infer, l2norm_run, NULL};

static void softmax_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t src = (uint32_t)a->v[0], dst = (uint32_t)a->v[1], n = (uint32_t)a->v[2];
    float max = 0x1p-126f; /* FLT_MIN */
    for (uint32_t c = 0; c < n; c++) {
        float x = get_f32(m, src + 4 * c);
        if (x > max) /* fmaxf: a NaN never wins; max > 0 so signed zeros never tie */
            max = x;
    }
    float sum = 0.0f;
    for (uint32_t c = 0; c < n; c++) {
        float x = get_f32(m, src + 4 * c);
        float e = dv_expf(x - max);
        sum = sum + e;
        put_f32(m, dst + 4 * c, e);
    }
    for (uint32_t c = 0; c < n; c++)
        put_f32(m, dst + 4 * c, get_f32(m, dst + 4 * c) / sum);
}

const dv_op_info dv_info_SDK_SOFTMAX = {"sdk_softmax", 1, 1, 1, vector_infer, softmax_run, NULL};

static void logistic_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                         dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    for (uint32_t c = 0; c < (uint32_t)a->v[2]; c++) {
        float x = get_f32(m, (uint32_t)a->v[0] + 4 * c);
        float d = 1.0f + dv_expf(-x);
        put_f32(m, (uint32_t)a->v[1] + 4 * c, 1.0f / d);
    }
}

const dv_op_info dv_info_SDK_LOGISTIC = {"sdk_logistic", 1, 1, 1, vector_infer, logistic_run,
                                         NULL};

/* ---- SDK_CONCAT (integer) ----------------------------------------------------------------
 * SDK_CONCAT: main -> main'
 *   attrs: out, n, then n pairs (start, size)
 * Copies each input range's bytes in turn to out, one after the other (kpu_concat, for
 * CONCAT and QUANTIZED_CONCAT alike). The SDK uses memcpy; overlapping ranges are copied
 * byte by byte upward. */
static const char *concat_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (a->n < 2 || a->v[1] < 0 || a->n != 2 + 2 * (uint64_t)a->v[1] || any_negative(a, 0, a->n))
        return "sdk_concat: takes out, n and n non-negative (start, size) pairs";
    uint64_t total = 0;
    for (uint32_t i = 0; i < (uint32_t)a->v[1]; i++) {
        const char *why = range(&in[0], a->v[2 + 2 * i], (uint32_t)a->v[3 + 2 * i]);
        if (why)
            return why;
        total += (uint32_t)a->v[3 + 2 * i];
    }
    return main_op(in, out, a->v[0], 0, a->v[0], total);
}

static void concat_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t dst = (uint32_t)a->v[0];
    for (uint32_t i = 0; i < (uint32_t)a->v[1]; i++) {
        uint32_t src = (uint32_t)a->v[2 + 2 * i], size = (uint32_t)a->v[3 + 2 * i];
        for (uint32_t k = 0; k < size; k++)
            dv_image_put_u8(m, dst++, dv_image_u8(m, src + k));
    }
}

const dv_op_info dv_info_SDK_CONCAT = {"sdk_concat", 1, 1, 1, concat_infer, concat_run, NULL};

/* ---- SDK_FULLY_CONNECTED -----------------------------------------------------------------
 * SDK_FULLY_CONNECTED: main, weights -> main'
 *   attrs: in, out, in_channels, out_channels, activation (0 linear, 1 relu, 2 relu6)
 *   weights: an image of out x in float32 weights (row per output) then out biases
 * For each output o in order: sum = 0, then sum += x[i] * w[o][i] for i = 0, 1, ... (product
 * rounded, then the sum), out[o] = sum + bias[o]; then the activation over out in order:
 * relu(v) = v > 0 ? v : +0, relu6(v) = min(relu(v), 6) (kpu_kmodel_fully_connected; its
 * unrolled path adds in the same order). */
static const char *fc_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                            uint32_t n_out, dv_shape *out)
{
    if (a->n != 5 || any_negative(a, 0, 5))
        return "sdk_fully_connected: takes 5 non-negative attributes "
               "(in, out, in_channels, out_channels, activation)";
    if (a->v[4] > 2)
        return "sdk_fully_connected: activation must be 0 (linear), 1 (relu) or 2 (relu6)";
    uint64_t words = mul_sat((uint32_t)a->v[2] + 1ull, (uint32_t)a->v[3]);
    if (in[1].ndim != 1 || in[1].dim[0] != words)
        return "sdk_fully_connected: weights must hold (in_channels + 1) x out_channels words";
    return main_op(in, out, a->v[0], 4 * (uint64_t)a->v[2], a->v[1], 4 * (uint64_t)a->v[3]);
}

static void fc_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                   dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    const int32_t *w = in[1].data;
    uint32_t src = (uint32_t)a->v[0], dst = (uint32_t)a->v[1];
    uint32_t n_i = (uint32_t)a->v[2], n_o = (uint32_t)a->v[3];
    for (uint32_t o = 0; o < n_o; o++) {
        float sum = 0.0f;
        for (uint32_t i = 0; i < n_i; i++) {
            float p = get_f32(m, src + 4 * i) * get_f32(w, 4 * (o * n_i + i));
            sum = sum + p;
        }
        put_f32(m, dst + 4 * o, sum + get_f32(w, 4 * (n_o * n_i + o)));
    }
    if (a->v[4] == 0)
        return;
    for (uint32_t o = 0; o < n_o; o++) {
        float v = get_f32(m, dst + 4 * o);
        put_f32(m, dst + 4 * o, a->v[4] == 1 ? relu(v) : relu6(v));
    }
}

const dv_op_info dv_info_SDK_FULLY_CONNECTED = {"sdk_fully_connected", 2, 2, 1, fc_infer, fc_run,
                                                NULL};

/* ---- SDK_TF_FLATTEN (integer: moves words) ------------------------------------------------
 * SDK_TF_FLATTEN: main -> main'
 *   attrs: in, out, width, height, channels
 * CHW float32 to HWC: out is written in order y, x, c with in[(c * height + y) * width + x]
 * (kpu_tf_flatten); the four bytes are copied unchanged. */
static const char *flatten_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    if (a->n != 5 || any_negative(a, 0, 5))
        return "sdk_tf_flatten: takes 5 non-negative attributes (in, out, width, height, "
               "channels)";
    uint64_t bytes = mul_sat(mul3(a->v[2], a->v[3], a->v[4]), 4);
    return main_op(in, out, a->v[0], bytes, a->v[1], bytes);
}

static void flatten_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    uint32_t src = (uint32_t)a->v[0], dst = (uint32_t)a->v[1];
    uint32_t w = (uint32_t)a->v[2], h = (uint32_t)a->v[3], ch = (uint32_t)a->v[4];
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++) {
                dv_image_put_u32(m, dst, dv_image_u32(m, src + 4 * ((c * h + y) * w + x)));
                dst += 4;
            }
}

const dv_op_info dv_info_SDK_TF_FLATTEN = {"sdk_tf_flatten", 1, 1, 1, flatten_infer,
                                           flatten_run, NULL};

/* ---- SDK_RESIZE_NEAREST_NEIGHBOR ---------------------------------------------------------
 * SDK_RESIZE_NEAREST_NEIGHBOR: main -> main'
 *   attrs: in, out, in_w, in_h, channels, out_w, out_h, element (0 uint8, 1 float32)
 * In float: sy = (float)in_h / (float)out_h, sx likewise; output (c, oy, ox), written in that
 * order, copies input (c, min(floorf(oy * sy), in_h - 1), min(floorf(ox * sx), in_w - 1))
 * (kpu_resize_nearest_neighbor and its quantized twin; align_corners is ignored, as there).
 * in_w and in_h must be 1..2^24, where (float)(in_h - 1) is exact. */
static const char *resize_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (a->n != 8 || any_negative(a, 0, 8) || a->v[7] > 1)
        return "sdk_resize_nearest_neighbor: takes in, out, in_w, in_h, channels, out_w, "
               "out_h (non-negative) and element 0 or 1";
    if (a->v[2] < 1 || a->v[3] < 1 || a->v[2] > (1 << 24) || a->v[3] > (1 << 24))
        return "sdk_resize_nearest_neighbor: in_w and in_h must be 1..2^24";
    uint32_t elem = a->v[7] ? 4 : 1;
    return main_op(in, out, a->v[0], mul_sat(mul3(a->v[2], a->v[3], a->v[4]), elem), a->v[1],
                   mul_sat(mul3(a->v[5], a->v[6], a->v[4]), elem));
}

static uint32_t nearest(uint32_t o, float scale, uint32_t in_size)
{
    float f = dv_floorf((float)o * scale);
    float last = (float)(in_size - 1);
    return (uint32_t)(f < last ? f : last);
}

static void resize_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    const int32_t *v = a->v;
    uint32_t in_w = (uint32_t)v[2], in_h = (uint32_t)v[3], out_w = (uint32_t)v[5];
    uint32_t out_h = (uint32_t)v[6], elem = v[7] ? 4 : 1, dst = (uint32_t)v[1];
    float sy = (float)in_h / (float)out_h, sx = (float)in_w / (float)out_w;
    for (uint32_t c = 0; c < (uint32_t)v[4]; c++)
        for (uint32_t oy = 0; oy < out_h; oy++) {
            uint32_t row = (uint32_t)v[0] + (c * in_h + nearest(oy, sy, in_h)) * in_w * elem;
            for (uint32_t ox = 0; ox < out_w; ox++) {
                uint32_t at = row + nearest(ox, sx, in_w) * elem;
                if (elem == 4)
                    dv_image_put_u32(m, dst, dv_image_u32(m, at));
                else
                    dv_image_put_u8(m, dst, dv_image_u8(m, at));
                dst += elem;
            }
        }
}

const dv_op_info dv_info_SDK_RESIZE_NEAREST_NEIGHBOR = {"sdk_resize_nearest_neighbor", 1, 1, 1,
                                                        resize_infer, resize_run, NULL};

/* ---- SDK_ADD_PADDING, SDK_REMOVE_PADDING (integer) ----------------------------------------
 * SDK_ADD_PADDING: kpu, main -> kpu'
 *   attrs: in (main byte offset), out (KPU RAM byte offset), channels
 * Byte c of main memory at `in` goes to pixel (0, 0) of channel c of a 4 x 4 map in the KPU
 * layout at `out` (kpu_add_padding: four channels per 64-byte row at 16-byte pitch, 4 rows per
 * group of four channels); the other 15 pixels keep whatever KPU RAM held.
 *
 * SDK_REMOVE_PADDING: main -> main'
 *   attrs: in, out, channels
 * out[c] = in[16 * c] for c = 0, 1, ... (kpu_remove_padding: pixel (0, 0) of each channel of
 * a 4 x 4 map the KPU sent to main memory as plain CHW bytes). */
static const char *add_padding_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    if (a->n != 3 || any_negative(a, 0, 3))
        return "sdk_add_padding: takes 3 non-negative attributes (in, out, channels)";
    const char *why = range(&in[1], a->v[0], (uint32_t)a->v[2]);
    if (!why && a->v[2] > 0)
        why = range(&in[0], 0,
                    dv_kpu_addr((uint32_t)a->v[1], 4, 4, (uint32_t)a->v[2] - 1, 0, 0) + 1);
    if (!why)
        out[0] = in[0];
    return why;
}

static void add_padding_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t c = 0; c < (uint32_t)a->v[2]; c++)
        dv_image_put_u8(out[0].data, (uint32_t)dv_kpu_addr((uint32_t)a->v[1], 4, 4, c, 0, 0),
                        dv_image_u8(in[1].data, (uint32_t)a->v[0] + c));
}

const dv_op_info dv_info_SDK_ADD_PADDING = {"sdk_add_padding", 2, 2, 1, add_padding_infer,
                                            add_padding_run, NULL};

static const char *remove_padding_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                        uint32_t n_out, dv_shape *out)
{
    if (a->n != 3 || any_negative(a, 0, 3))
        return "sdk_remove_padding: takes 3 non-negative attributes (in, out, channels)";
    uint64_t read = a->v[2] ? 16 * ((uint64_t)a->v[2] - 1) + 1 : 0;
    return main_op(in, out, a->v[0], read, a->v[1], (uint32_t)a->v[2]);
}

static void remove_padding_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                               uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    int32_t *m = out[0].data;
    dv_image_copy(m, &in[0]);
    for (uint32_t c = 0; c < (uint32_t)a->v[2]; c++)
        dv_image_put_u8(m, (uint32_t)a->v[1] + c, dv_image_u8(m, (uint32_t)a->v[0] + 16 * c));
}

const dv_op_info dv_info_SDK_REMOVE_PADDING = {"sdk_remove_padding", 1, 1, 1,
                                               remove_padding_infer, remove_padding_run, NULL};
