/* QDEPTHWISE_CONV2D (ops/qnn.c) on x86-64: AVX-512 (the "vnni" level: 16 lanes) and AVX2 (8
 * lanes) variants.
 *
 * Each output pixel's channels are computed in blocks of lanes held in registers: acc = bias,
 * then for every tap inside the input acc += filter * (x + input_offset), then the
 * requantization of ops/x86/qnn_simd.h. The products and sums are vpmulld and vpaddd on the
 * tensors' int32 values themselves: the low 32 bits of each product and wrapping sums, which is
 * the reference's uint32 arithmetic for every input, so nothing is packed, nothing needs
 * checking and no pixel falls back. A depth multiplier above 1 reads data channel o / M for
 * output channel o through a gather.
 *
 * Work items: output rows (n, oy). Scratch: the current pixel's taps inside the input (two
 * offsets each), and the gather indices o / M. */
#if defined(__x86_64__)

#include <string.h>

#include "../qnn.h"
#include "../qnn_attrs.h"
#include "../variant.h"
#include "qnn_simd.h"

#define SCRATCH_LIMIT ((uint64_t)1 << 26)

typedef struct {
    size_t batches, in_h, in_w, channels;
    size_t out_h, out_w, out_channels, multiplier;
    size_t kernel_h, kernel_w;
    int64_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t input_offset;
    dv_requant_op rq;
} dw_plan;

static size_t out_extent(int64_t in, int64_t window, int64_t dilation, int64_t stride,
                         int64_t pad_before, int64_t pad_after)
{
    return (size_t)((in + pad_before + pad_after - ((window - 1) * dilation + 1)) / stride + 1);
}

static void plan(dw_plan *p, const dv_attrs *attrs, const dv_shape *in)
{
    const int32_t *a = attrs->v;
    p->batches = in[0].dim[0];
    p->in_h = in[0].dim[1];
    p->in_w = in[0].dim[2];
    p->channels = in[0].dim[3];
    p->kernel_h = in[1].dim[1];
    p->kernel_w = in[1].dim[2];
    p->out_channels = in[1].dim[3];
    p->multiplier = (size_t)a[QDW_DEPTH_MULTIPLIER];
    p->stride_h = a[QC_STRIDE_H];
    p->stride_w = a[QC_STRIDE_W];
    p->dilation_h = a[QC_DILATION_H];
    p->dilation_w = a[QC_DILATION_W];
    p->pad_top = a[QC_PAD_TOP];
    p->pad_left = a[QC_PAD_LEFT];
    p->out_h = out_extent((int64_t)p->in_h, (int64_t)p->kernel_h, p->dilation_h, p->stride_h,
                          a[QC_PAD_TOP], a[QC_PAD_BOTTOM]);
    p->out_w = out_extent((int64_t)p->in_w, (int64_t)p->kernel_w, p->dilation_w, p->stride_w,
                          a[QC_PAD_LEFT], a[QC_PAD_RIGHT]);
    p->input_offset = a[QC_INPUT_OFFSET];
    p->rq = (dv_requant_op){a[QC_ROUNDING], a[QC_OUTPUT_OFFSET], a[QC_ACT_MIN], a[QC_ACT_MAX]};
}

/* Scratch int32s: two size_t offsets per tap, then the gather indices. */
static uint64_t scratch_of(const dw_plan *p)
{
    return (uint64_t)p->kernel_h * p->kernel_w * 2 * (sizeof(size_t) / 4) + p->out_channels + 16;
}

/* The taps of output pixel (n, oy, ox) inside the input: the data offset of channel 0 and the
 * filter offset of output channel 0 of each. Returns how many. */
static size_t pixel_taps(const dw_plan *p, size_t n, size_t oy, size_t ox, size_t *x_at,
                         size_t *w_at)
{
    const int64_t y0 = (int64_t)oy * p->stride_h - p->pad_top;
    const int64_t x0 = (int64_t)ox * p->stride_w - p->pad_left;
    size_t count = 0;
    for (size_t ky = 0; ky < p->kernel_h; ky++) {
        const int64_t iy = y0 + (int64_t)ky * p->dilation_h;
        if (iy < 0 || iy >= (int64_t)p->in_h)
            continue;
        for (size_t kx = 0; kx < p->kernel_w; kx++) {
            const int64_t ix = x0 + (int64_t)kx * p->dilation_w;
            if (ix < 0 || ix >= (int64_t)p->in_w)
                continue;
            x_at[count] = ((n * p->in_h + (size_t)iy) * p->in_w + (size_t)ix) * p->channels;
            w_at[count] = (ky * p->kernel_w + kx) * p->out_channels;
            count++;
        }
    }
    return count;
}

static int accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    if (n_in != 5)
        return 0;
    dw_plan p;
    plan(&p, attrs, in);
    return scratch_of(&p) <= SCRATCH_LIMIT;
}

static uint64_t items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, attrs, in);
    return (uint64_t)p.batches * p.out_h;
}

static uint64_t scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, attrs, in);
    return scratch_of(&p);
}

/* The scratch's parts. */
static void layout(const dw_plan *p, int32_t *scratch, size_t **x_at, size_t **w_at,
                   int32_t **gather)
{
    const size_t taps = p->kernel_h * p->kernel_w;
    *x_at = (size_t *)(void *)scratch;
    *w_at = *x_at + taps;
    *gather = (int32_t *)(void *)(*w_at + taps);
    if (p->multiplier > 1)
        for (size_t o = 0; o < p->out_channels; o++)
            (*gather)[o] = (int32_t)(o / p->multiplier);
}

/* Whether the 3x3 path applies: a 3x3 filter. It keeps the nine filter vectors of a channel
 * block in registers along an output row; for a pixel whose taps are all inside the input,
 * (x + input_offset) * w summed over the taps is computed as sum(x * w) + (bias +
 * input_offset * sum(w)), the same value modulo 2^32. With a depth multiplier M > 1, the
 * block's output channels c..c+15 read data channels c / M .. (c + 15) / M: one short load,
 * spread over the lanes by a permutation. */
static int is_3x3(const dw_plan *p)
{
    return p->kernel_h == 3 && p->kernel_w == 3;
}

/* For the block of output channels [c, c + lanes): each lane's data channel less the first
 * one, c / M; returns how many data channels the block reads. */
static size_t block_sources(const dw_plan *p, size_t c, size_t lanes, int32_t *index)
{
    size_t r = c % p->multiplier, v = 0;
    for (size_t l = 0; l < lanes; l++) {
        index[l] = (int32_t)v;
        if (++r == p->multiplier) {
            r = 0;
            v++;
        }
    }
    return (size_t)index[lanes - 1] + 1;
}

/* Output row (n, oy) of a 3x3 filter: which tap rows are inside the input (bit ky), and where
 * each starts (channel 0 of column 0). */
typedef struct {
    unsigned inside;
    const int32_t *start[3];
    size_t step_h, step_w;      /* from one tap row, and one tap column, to the next */
} row_taps;

static void plan_row(const dw_plan *p, const int32_t *x, size_t n, size_t oy, row_taps *t)
{
    const int64_t y0 = (int64_t)oy * p->stride_h - p->pad_top;
    t->inside = 0;
    for (unsigned k = 0; k < 3; k++) {
        const int64_t iy = y0 + (int64_t)k * p->dilation_h;
        t->start[k] = x;
        if (iy >= 0 && iy < (int64_t)p->in_h) {
            t->inside |= 1u << k;
            t->start[k] = x + (n * p->in_h + (size_t)iy) * p->in_w * p->channels;
        }
    }
    t->step_h = (size_t)p->dilation_h * p->in_w * p->channels;
    t->step_w = (size_t)p->dilation_w * p->channels;
}

/* The tap columns of output column ox inside the input (bit kx), and the first one's
 * column (which may be negative). */
static unsigned plan_column(const dw_plan *p, size_t ox, int64_t *x0)
{
    unsigned bits = 0;
    *x0 = (int64_t)ox * p->stride_w - p->pad_left;
    for (unsigned k = 0; k < 3; k++) {
        const int64_t ix = *x0 + (int64_t)k * p->dilation_w;
        bits |= (unsigned)(ix >= 0 && ix < (int64_t)p->in_w) << k;
    }
    return bits;
}

/* ---- AVX-512 ------------------------------------------------------------------------------- */

DV_TARGET_VNNI static void row16_3x3(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                     size_t n, size_t oy)
{
    const int32_t *filter = in[1].data, *bias = in[2].data;
    const size_t oc = p->out_channels;
    row_taps rt;
    plan_row(p, in[0].data, n, oy, &rt);
    const __m512i offset = _mm512_set1_epi32(p->input_offset);
    int32_t *y_row = out[0].data + (n * p->out_h + oy) * p->out_w * oc;
    for (size_t c = 0; c < oc; c += 16) {
        const __mmask16 m = dv_lanes16((uint32_t)(oc - c));
        /* the lanes' data: mx lanes loaded from channel xc on, then permuted (M > 1) */
        int32_t lane_index[16] = {0};
        __mmask16 mx = m;
        if (p->multiplier > 1)
            mx = dv_lanes16((uint32_t)block_sources(p, c, oc - c < 16 ? oc - c : 16, lane_index));
        const size_t xc = c / p->multiplier;
        const __m512i index = _mm512_loadu_si512((const void *)lane_index);
#define LOAD_X16(ptr)                                                                              \
    (p->multiplier > 1 ? _mm512_permutexvar_epi32(index, _mm512_maskz_loadu_epi32(mx, ptr))        \
                       : _mm512_maskz_loadu_epi32(mx, ptr))
        __m512i w[9], sum = _mm512_setzero_si512();
        for (int t = 0; t < 9; t++) {
            w[t] = _mm512_maskz_loadu_epi32(m, filter + (size_t)t * oc + c);
            sum = _mm512_add_epi32(sum, w[t]);
        }
        const __m512i b = _mm512_maskz_loadu_epi32(m, bias + c);
        const __m512i base = _mm512_add_epi32(b, _mm512_mullo_epi32(sum, offset));
        dv_rq16_prepared rq;
        dv_rq16_prepare(&rq, _mm512_maskz_loadu_epi32(m, in[3].data + c),
                        _mm512_maskz_loadu_epi32(m, in[4].data + c), &p->rq);
        for (size_t ox = 0; ox < p->out_w; ox++) {
            int64_t x0;
            const unsigned kx_in = plan_column(p, ox, &x0);
            __m512i acc;
            if (rt.inside == 7 && kx_in == 7) {
                const int32_t *at = rt.start[0] + (size_t)x0 * p->channels + xc;
                acc = base;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        acc = _mm512_add_epi32(
                            acc, _mm512_mullo_epi32(w[ky * 3 + kx],
                                                    LOAD_X16(at + (size_t)ky * rt.step_h +
                                                             (size_t)kx * rt.step_w)));
            } else {
                acc = b;
                for (unsigned ky = 0; ky < 3; ky++)
                    for (unsigned kx = 0; kx < 3; kx++)
                        if ((rt.inside >> ky) & (kx_in >> kx) & 1) {
                            const size_t column = (size_t)(x0 + (int64_t)kx * p->dilation_w);
                            const __m512i v = LOAD_X16(rt.start[ky] + column * p->channels + xc);
                            acc = _mm512_add_epi32(
                                acc, _mm512_mullo_epi32(w[ky * 3 + kx], _mm512_add_epi32(v, offset)));
                        }
            }
            _mm512_mask_storeu_epi32(y_row + ox * oc + c, m, dv_rq16_apply(acc, &rq));
        }
#undef LOAD_X16
    }
}

DV_TARGET_VNNI static void row16(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                 size_t n, size_t oy, size_t *x_at, size_t *w_at,
                                 const int32_t *gather)
{
    const int32_t *x = in[0].data, *filter = in[1].data, *bias = in[2].data;
    const int32_t *multiplier = in[3].data, *shift = in[4].data;
    const __m512i offset = _mm512_set1_epi32(p->input_offset);
    const size_t oc = p->out_channels;
    for (size_t ox = 0; ox < p->out_w; ox++) {
        const size_t taps = pixel_taps(p, n, oy, ox, x_at, w_at);
        int32_t *y = out[0].data + ((n * p->out_h + oy) * p->out_w + ox) * oc;
        for (size_t c = 0; c < oc; c += 16) {
            const __mmask16 m = dv_lanes16((uint32_t)(oc - c));
            __m512i acc = _mm512_maskz_loadu_epi32(m, bias + c);
            const __m512i index = p->multiplier > 1 ? _mm512_maskz_loadu_epi32(m, gather + c)
                                                    : _mm512_setzero_si512();
            for (size_t t = 0; t < taps; t++) {
                const __m512i w = _mm512_maskz_loadu_epi32(m, filter + w_at[t] + c);
                __m512i v = p->multiplier > 1
                                ? _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, index,
                                                              x + x_at[t], 4)
                                : _mm512_maskz_loadu_epi32(m, x + x_at[t] + c);
                v = _mm512_add_epi32(v, offset);
                acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(w, v));
            }
            dv_rq16_prepared rq;
            dv_rq16_prepare(&rq, _mm512_maskz_loadu_epi32(m, multiplier + c),
                            _mm512_maskz_loadu_epi32(m, shift + c), &p->rq);
            _mm512_mask_storeu_epi32(y + c, m, dv_rq16_apply(acc, &rq));
        }
    }
}

static void run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                  dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    dw_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, attrs, shapes);
    size_t *x_at, *w_at;
    int32_t *gather;
    layout(&p, scratch, &x_at, &w_at, &gather);
    for (uint64_t r = begin; r < end; r++) {
        const size_t n = (size_t)(r / p.out_h), oy = (size_t)(r % p.out_h);
        if (is_3x3(&p))
            row16_3x3(&p, in, out, n, oy);
        else
            row16(&p, in, out, n, oy, x_at, w_at, gather);
    }
}

/* ---- AVX2 ---------------------------------------------------------------------------------- */

DV_TARGET_AVX2 static void row8_3x3(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                    size_t n, size_t oy)
{
    const int32_t *filter = in[1].data, *bias = in[2].data;
    const size_t oc = p->out_channels;
    row_taps rt;
    plan_row(p, in[0].data, n, oy, &rt);
    const __m256i offset = _mm256_set1_epi32(p->input_offset);
    int32_t *y_row = out[0].data + (n * p->out_h + oy) * p->out_w * oc;
    for (size_t c = 0; c < oc; c += 8) {
        const size_t lanes = oc - c < 8 ? oc - c : 8;
        const __m256i m = dv_lanes8((uint32_t)lanes);
        int32_t lane_index[8] = {0};
        __m256i mx = m;
        if (p->multiplier > 1)
            mx = dv_lanes8((uint32_t)block_sources(p, c, lanes, lane_index));
        const size_t xc = c / p->multiplier;
        const __m256i index = _mm256_loadu_si256((const __m256i *)(const void *)lane_index);
#define LOAD_X8(ptr)                                                                               \
    (p->multiplier > 1 ? _mm256_permutevar8x32_epi32(_mm256_maskload_epi32(ptr, mx), index)        \
                       : _mm256_maskload_epi32(ptr, mx))
        __m256i w[9], sum = _mm256_setzero_si256();
        for (int t = 0; t < 9; t++) {
            w[t] = _mm256_maskload_epi32(filter + (size_t)t * oc + c, m);
            sum = _mm256_add_epi32(sum, w[t]);
        }
        const __m256i b = _mm256_maskload_epi32(bias + c, m);
        const __m256i base = _mm256_add_epi32(b, _mm256_mullo_epi32(sum, offset));
        dv_rq8_prepared rq;
        dv_rq8_prepare(&rq, _mm256_maskload_epi32(in[3].data + c, m),
                       _mm256_maskload_epi32(in[4].data + c, m), &p->rq);
        for (size_t ox = 0; ox < p->out_w; ox++) {
            int64_t x0;
            const unsigned kx_in = plan_column(p, ox, &x0);
            __m256i acc;
            if (rt.inside == 7 && kx_in == 7) {
                const int32_t *at = rt.start[0] + (size_t)x0 * p->channels + xc;
                acc = base;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        acc = _mm256_add_epi32(
                            acc, _mm256_mullo_epi32(w[ky * 3 + kx],
                                                    LOAD_X8(at + (size_t)ky * rt.step_h +
                                                            (size_t)kx * rt.step_w)));
            } else {
                acc = b;
                for (unsigned ky = 0; ky < 3; ky++)
                    for (unsigned kx = 0; kx < 3; kx++)
                        if ((rt.inside >> ky) & (kx_in >> kx) & 1) {
                            const size_t column = (size_t)(x0 + (int64_t)kx * p->dilation_w);
                            const __m256i v = LOAD_X8(rt.start[ky] + column * p->channels + xc);
                            acc = _mm256_add_epi32(
                                acc, _mm256_mullo_epi32(w[ky * 3 + kx], _mm256_add_epi32(v, offset)));
                        }
            }
            _mm256_maskstore_epi32(y_row + ox * oc + c, m, dv_rq8_apply(acc, &rq));
        }
#undef LOAD_X8
    }
}

DV_TARGET_AVX2 static void row8(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                size_t n, size_t oy, size_t *x_at, size_t *w_at,
                                const int32_t *gather)
{
    const int32_t *x = in[0].data, *filter = in[1].data, *bias = in[2].data;
    const int32_t *multiplier = in[3].data, *shift = in[4].data;
    const __m256i offset = _mm256_set1_epi32(p->input_offset);
    const size_t oc = p->out_channels;
    for (size_t ox = 0; ox < p->out_w; ox++) {
        const size_t taps = pixel_taps(p, n, oy, ox, x_at, w_at);
        int32_t *y = out[0].data + ((n * p->out_h + oy) * p->out_w + ox) * oc;
        for (size_t c = 0; c < oc; c += 8) {
            const __m256i m = dv_lanes8((uint32_t)(oc - c < 8 ? oc - c : 8));
            __m256i acc = _mm256_maskload_epi32(bias + c, m);
            const __m256i index = p->multiplier > 1 ? _mm256_maskload_epi32(gather + c, m)
                                                    : _mm256_setzero_si256();
            for (size_t t = 0; t < taps; t++) {
                const __m256i w = _mm256_maskload_epi32(filter + w_at[t] + c, m);
                __m256i v = p->multiplier > 1
                                ? _mm256_mask_i32gather_epi32(_mm256_setzero_si256(),
                                                              x + x_at[t], index, m, 4)
                                : _mm256_maskload_epi32(x + x_at[t] + c, m);
                v = _mm256_add_epi32(v, offset);
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(w, v));
            }
            dv_rq8_prepared rq;
            dv_rq8_prepare(&rq, _mm256_maskload_epi32(multiplier + c, m),
                           _mm256_maskload_epi32(shift + c, m), &p->rq);
            _mm256_maskstore_epi32(y + c, m, dv_rq8_apply(acc, &rq));
        }
    }
}

static void run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                 dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    dw_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, attrs, shapes);
    size_t *x_at, *w_at;
    int32_t *gather;
    layout(&p, scratch, &x_at, &w_at, &gather);
    for (uint64_t r = begin; r < end; r++) {
        const size_t n = (size_t)(r / p.out_h), oy = (size_t)(r % p.out_h);
        if (is_3x3(&p))
            row8_3x3(&p, in, out, n, oy);
        else
            row8(&p, in, out, n, oy, x_at, w_at, gather);
    }
}

const dv_variant dv_variant_qdepthwise_conv2d_vnni = {
    DV_OP_QDEPTHWISE_CONV2D, DV_ISA_VNNI, "vnni", accepts, items, scratch, run16, 0};
const dv_variant dv_variant_qdepthwise_conv2d_avx2 = {
    DV_OP_QDEPTHWISE_CONV2D, DV_ISA_AVX2, "avx2", accepts, items, scratch, run8, 0};

#endif
