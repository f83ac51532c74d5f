/* QCONV2D (ops/qnn.c) on x86-64: AVX-512 VNNI (vpdpbusd) and AVX2 (vpmaddwd) variants.
 *
 * Both compute a tile of output pixels at a time from an im2col patch per pixel and weights
 * packed per block of output channels, both in the thread's scratch:
 *
 *   VNNI  patches hold u8 = x + 128 (padding taps: 128 - input_offset), weights s8, 16 output
 *         channels per block, 4 taps per vpdpbusd. Since x + input_offset = u8 - 128 +
 *         input_offset, acc = sum(w * u8) + (input_offset - 128) * sum(w) + bias, the last two
 *         terms folded into one per-channel correction. A padding tap gives w * (128 -
 *         input_offset) + (input_offset - 128) * w = 0: padding by omission, as the reference.
 *         Needs input_offset in [-127, 128] (any zero point of int8 data), so that the padding
 *         byte fits u8.
 *   AVX2  patches hold int16 = x + input_offset (padding taps: 0), weights int16, 8 output
 *         channels per block, 2 taps per vpmaddwd; acc = sum + bias.
 *
 * vpdpbusd (not the saturating vpdpbusds) and vpmaddwd are exact modulo 2^32 for every input,
 * as are the wrapping vector additions, and the reference sums in uint32: the accumulators
 * equal the reference's bit for bit whenever the packed operands equal the tensors' values.
 * So each pixel's patch is checked as it is packed (VNNI: every x in [-128, 127]; AVX2: every
 * x + input_offset, wrapped to int32 as the reference wraps it, in int16), and so are the
 * weights (s8, int16); a pixel that fails is computed by the reference's own per-pixel body
 * (dv_qconv2d_pixel), and when the weights fail, every pixel is. Requantization is
 * ops/x86/qnn_simd.h's, lane for lane ops/quant.h's.
 *
 * Work items. The output pixels (n, oy, ox), flattened, are cut into tiles of 6 (VNNI) or 4
 * (AVX2) pixels. When the weights outweigh the pixels (out channels > pixels: the late layers
 * of a MobileNet), the channel blocks are cut into chunks as well, and an item is (chunk,
 * tile), chunk-major, so that threads pack disjoint weights; otherwise an item is a tile with
 * every channel. A run call packs the weights of the chunks its items touch, then computes its
 * items; each output element belongs to exactly one item. When the filter and the bias are
 * constants of the module, the session packs them once instead (dv_packing_qconv2d_*:
 * conv_pack), and run_packed skips that step. */
#if defined(__x86_64__)

#include <string.h>

#include "../qnn.h"
#include "../qnn_attrs.h"
#include "../variant.h"
#include "qnn_simd.h"

/* The tiles' loops over pixels and blocks have constant bounds once inlined; unrolling them
 * fully lets the compiler keep the accumulators in registers. */
#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 8")
#else
#define UNROLL
#endif

/* Scratch beyond this many int32s: the variant declines and the reference runs. */
#define SCRATCH_LIMIT ((uint64_t)1 << 26)

typedef struct conv_isa conv_isa;

typedef struct {
    size_t batches, in_h, in_w, channels;
    size_t out_h, out_w, out_channels;
    size_t kernel_h, kernel_w, depth;     /* depth: input channels per group */
    size_t groups, per_group;             /* output channels per group */
    int64_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t input_offset;
    size_t k, kp;                         /* patch length, and rounded up to the ISA's step */
    size_t blocks;                        /* channel blocks per group */
    size_t pixels, tiles;
    size_t chunks;                        /* chunks per group when split, else 0 */
    size_t cgroups;                       /* items = cgroups * tiles */
    int pointwise;                        /* 1x1, stride 1, no padding, one group */
    /* scratch layout, bytes from the start (64-byte aligned) */
    size_t packed_at, corr_at, patch_at, ok_at, scratch_bytes;
    dv_requant_op rq;
} conv_plan;

struct conv_isa {
    size_t lanes;       /* output channels per block */
    size_t k_step;      /* taps per multiply-add lane */
    size_t elem;        /* bytes per packed activation or weight */
    size_t tile;        /* pixels per tile */
    size_t chunk;       /* blocks per compute call, at most */
    /* Packs global blocks [b0, b1); 1 when every weight fits. */
    int (*pack_weights)(const conv_plan *p, const int32_t *filter, const int32_t *bias,
                        size_t b0, size_t b1, uint8_t *packed, int32_t *corr);
    /* Packs the patch of output pixel `at` (flattened index, n, oy, ox) for group g; 1 when
     * exact. */
    int (*patch)(const conv_plan *p, const int32_t *x, const size_t *at, size_t g, uint8_t *dst);
    /* Packs n consecutive activations; 1 when they are all exact. */
    int (*convert)(const int32_t *src, size_t n, uint8_t *dst, int32_t input_offset);
    /* Requantized outputs of blocks [b, b + q) of group g for the tile's pixels. */
    void (*compute)(const conv_plan *p, const uint8_t *patches, const uint8_t *packed,
                    const int32_t *corr, size_t g, size_t b, size_t q, const int32_t *multiplier,
                    const int32_t *shift, int32_t *const *y, const uint8_t *ok, size_t n);
};

static size_t round_up(size_t v, size_t m)
{
    return (v + m - 1) / m * m;
}

static size_t out_extent(int64_t in, int64_t window, int64_t dilation, int64_t stride,
                         int64_t pad_before, int64_t pad_after)
{
    return (size_t)((in + pad_before + pad_after - ((window - 1) * dilation + 1)) / stride + 1);
}

/* The plan of an instance that infer accepted; 0 when it is beyond this variant. */
static int plan(conv_plan *p, const conv_isa *isa, const dv_attrs *attrs, const dv_shape *in)
{
    const int32_t *a = attrs->v;
    memset(p, 0, sizeof *p);
    p->batches = in[0].dim[0];
    p->in_h = in[0].dim[1];
    p->in_w = in[0].dim[2];
    p->channels = in[0].dim[3];
    p->out_channels = in[1].dim[0];
    p->kernel_h = in[1].dim[1];
    p->kernel_w = in[1].dim[2];
    p->depth = in[1].dim[3];
    p->groups = p->channels / p->depth;
    p->per_group = p->out_channels / p->groups;
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
    p->k = p->kernel_h * p->kernel_w * p->depth;
    p->kp = round_up(p->k, isa->k_step);
    p->blocks = (p->per_group + isa->lanes - 1) / isa->lanes;
    p->pixels = p->batches * p->out_h * p->out_w;
    p->tiles = (p->pixels + isa->tile - 1) / isa->tile;
    p->pointwise = p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 &&
                   p->stride_w == 1 && a[QC_PAD_TOP] == 0 && a[QC_PAD_LEFT] == 0 &&
                   a[QC_PAD_BOTTOM] == 0 && a[QC_PAD_RIGHT] == 0 && p->groups == 1;
    if (p->out_channels > p->pixels && p->blocks > isa->chunk) {
        p->chunks = (p->blocks + isa->chunk - 1) / isa->chunk;
        p->cgroups = p->groups * p->chunks;
    } else {
        p->cgroups = 1;
    }
    /* scratch: packed weights, corrections, one tile's patches, their flags */
    const uint64_t blocks = (uint64_t)p->groups * p->blocks;
    const uint64_t packed = blocks * p->kp * isa->lanes * isa->elem;
    const uint64_t corr = blocks * isa->lanes * 4;
    const uint64_t patches = (uint64_t)isa->tile * p->kp * isa->elem;
    const uint64_t total = round_up(packed, 64) + round_up(corr, 64) + round_up(patches, 64) + 64;
    if (total / 4 > SCRATCH_LIMIT)
        return 0;
    p->packed_at = 0;
    p->corr_at = round_up(packed, 64);
    p->patch_at = p->corr_at + round_up(corr, 64);
    p->ok_at = p->patch_at + round_up(patches, 64);
    p->scratch_bytes = p->ok_at + 64;
    return 1;
}

/* The global blocks [*b0, *b1) of chunk group cg. */
static void cgroup_blocks(const conv_plan *p, const conv_isa *isa, size_t cg, size_t *b0,
                          size_t *b1)
{
    if (!p->chunks) {
        *b0 = 0;
        *b1 = p->groups * p->blocks;
        return;
    }
    const size_t g = cg / p->chunks, c = cg % p->chunks;
    const size_t end = (c + 1) * isa->chunk < p->blocks ? (c + 1) * isa->chunk : p->blocks;
    *b0 = g * p->blocks + c * isa->chunk;
    *b1 = g * p->blocks + end;
}

/* The patch of output pixel `at` for group g; 1 when exact. Inlined into each
 * instruction set's patch function with its own `convert` (packs n activations, 1 when they
 * are exact) and `fill` (writes n padding taps), so that both are inlined too. */
DV_INLINE int build_patch(const conv_plan *p, size_t elem, const int32_t *x, const size_t *at,
                          size_t g, uint8_t *dst,
                          int (*convert)(const int32_t *src, size_t n, uint8_t *dst,
                                         int32_t input_offset),
                          void (*fill)(uint8_t *dst, size_t n, int32_t input_offset))
{
    const size_t ic = p->depth;
    int ok = 1;
    if (p->pointwise) {
        ok = convert(x + at[0] * p->channels, p->channels, dst, p->input_offset);
    } else {
        const size_t n = at[1], oy = at[2], ox = at[3];
        const int64_t y0 = (int64_t)oy * p->stride_h - p->pad_top;
        const int64_t x0 = (int64_t)ox * p->stride_w - p->pad_left;
        const int64_t in_h = (int64_t)p->in_h, in_w = (int64_t)p->in_w;
        const int64_t kw = (int64_t)p->kernel_w;
        for (size_t ky = 0; ky < p->kernel_h; ky++) {
            const int64_t iy = y0 + (int64_t)ky * p->dilation_h;
            uint8_t *d = dst + ky * p->kernel_w * ic * elem;
            if (iy < 0 || iy >= in_h) {
                fill(d, p->kernel_w * ic, p->input_offset);
                continue;
            }
            const int32_t *x_row = x + (n * p->in_h + (size_t)iy) * p->in_w * p->channels;
            if (p->dilation_w == 1 && p->groups == 1) {
                /* the taps inside the input are one run of memory */
                int64_t lo = x0 < 0 ? -x0 : 0, hi = in_w - x0 < kw ? in_w - x0 : kw;
                if (hi < lo)
                    hi = lo;
                if (lo > kw)
                    lo = hi = kw;
                fill(d, (size_t)lo * ic, p->input_offset);
                if (hi > lo)
                    ok &= convert(x_row + (size_t)(x0 + lo) * p->channels,
                                   (size_t)(hi - lo) * ic, d + (size_t)lo * ic * elem,
                                   p->input_offset);
                fill(d + (size_t)hi * ic * elem, (size_t)(kw - hi) * ic, p->input_offset);
                continue;
            }
            for (size_t kx = 0; kx < p->kernel_w; kx++) {
                const int64_t ix = x0 + (int64_t)kx * p->dilation_w;
                if (ix < 0 || ix >= in_w)
                    fill(d + kx * ic * elem, ic, p->input_offset);
                else
                    ok &= convert(x_row + (size_t)ix * p->channels + g * ic, ic,
                                   d + kx * ic * elem, p->input_offset);
            }
        }
    }
    for (size_t i = p->k * elem; i < p->kp * elem; i++)
        dst[i] = 0;
    return ok;
}

/* The one-time packing (dv_variant_packing): the packed weights and corrections of every
 * block, laid out as the scratch's first parts, then whether every weight fit. */
static uint64_t conv_packed_size(const conv_isa *isa, const dv_attrs *attrs, const dv_shape *in)
{
    conv_plan p;
    plan(&p, isa, attrs, in);
    return p.patch_at + 64;
}

static void conv_pack(const conv_isa *isa, const dv_attrs *attrs, const dv_tensor *in,
                      void *packed)
{
    conv_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, isa, attrs, shapes);
    uint8_t *base = packed;
    const int32_t ok = isa->pack_weights(&p, in[1].data, in[2].data, 0, p.groups * p.blocks,
                                         base + p.packed_at, (int32_t *)(void *)(base + p.corr_at));
    memcpy(base + p.patch_at, &ok, sizeof ok);
}

/* Items [begin, end), with the weights packed ahead (`prepacked`, from conv_pack) or packed
 * now into the scratch (NULL). */
static void conv_run(const conv_isa *isa, const dv_attrs *attrs, const dv_tensor *in,
                     dv_tensor *out, const uint8_t *prepacked, int32_t *scratch, uint64_t begin,
                     uint64_t end)
{
    conv_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, isa, attrs, shapes);
    uint8_t *base = (uint8_t *)scratch;
    uint8_t *patches = base + p.patch_at, *ok = base + p.ok_at;
    const int32_t *x = in[0].data, *multiplier = in[3].data, *shift = in[4].data;
    const size_t cg_first = (size_t)(begin / p.tiles), cg_last = (size_t)((end - 1) / p.tiles);
    const uint8_t *packed;
    const int32_t *corr;
    int32_t weights_ok;
    if (prepacked) {
        packed = prepacked + p.packed_at;
        corr = (const int32_t *)(const void *)(prepacked + p.corr_at);
        memcpy(&weights_ok, prepacked + p.patch_at, sizeof weights_ok);
    } else {
        size_t b_begin, b_end, unused;
        cgroup_blocks(&p, isa, cg_first, &b_begin, &unused);
        cgroup_blocks(&p, isa, cg_last, &unused, &b_end);
        int32_t *own_corr = (int32_t *)(void *)(base + p.corr_at);
        weights_ok = isa->pack_weights(&p, in[1].data, in[2].data, b_begin, b_end,
                                       base + p.packed_at, own_corr);
        packed = base + p.packed_at;
        corr = own_corr;
    }
    const size_t patch_bytes = p.kp * isa->elem;

    for (size_t cg = cg_first; cg <= cg_last; cg++) {
        const size_t t_begin = cg == cg_first ? (size_t)(begin % p.tiles) : 0;
        const size_t t_end = cg == cg_last ? (size_t)((end - 1) % p.tiles) + 1 : p.tiles;
        size_t gb0, gb1;
        cgroup_blocks(&p, isa, cg, &gb0, &gb1);
        for (size_t t = t_begin; t < t_end; t++) {
            const size_t first = t * isa->tile;
            const size_t n = p.pixels - first < isa->tile ? p.pixels - first : isa->tile;
            int32_t *y[8];
            size_t at[8][4];   /* each pixel's flattened index, n, oy, ox */
            {
                size_t ox = first % p.out_w, row = first / p.out_w;
                size_t oy = row % p.out_h, nb = row / p.out_h;
                for (size_t i = 0; i < n; i++) {
                    y[i] = out[0].data + (first + i) * p.out_channels;
                    at[i][0] = first + i;
                    at[i][1] = nb;
                    at[i][2] = oy;
                    at[i][3] = ox;
                    if (++ox == p.out_w) {
                        ox = 0;
                        if (++oy == p.out_h) {
                            oy = 0;
                            nb++;
                        }
                    }
                }
            }
            for (size_t g = gb0 / p.blocks; g * p.blocks < gb1; g++) {
                const size_t b0 = gb0 > g * p.blocks ? gb0 - g * p.blocks : 0;
                const size_t b1 = gb1 < (g + 1) * p.blocks ? gb1 - g * p.blocks : p.blocks;
                const size_t o0 = g * p.per_group + b0 * isa->lanes;
                const size_t o1 = g * p.per_group +
                                  (b1 * isa->lanes < p.per_group ? b1 * isa->lanes : p.per_group);
                int all_ok = weights_ok;
                /* 1x1 with whole steps of channels: the tile's patches are its pixels'
                 * consecutive inputs, packed in one go (pixel by pixel if any is inexact) */
                const int in_one_go = weights_ok && p.pointwise && p.kp == p.channels &&
                                      isa->convert(x + first * p.channels, n * p.channels,
                                                   patches, p.input_offset);
                if (in_one_go) {
                    for (size_t i = 0; i < isa->tile; i++) {
                        ok[i] = i < n;
                        if (i >= n)
                            memset(patches + i * patch_bytes, 0, patch_bytes);
                    }
                    for (size_t b = b0; b < b1; b += isa->chunk) {
                        const size_t q = b1 - b < isa->chunk ? b1 - b : isa->chunk;
                        isa->compute(&p, patches, packed, corr, g, b, q, multiplier, shift, y,
                                     ok, n);
                    }
                } else if (weights_ok) {
                    for (size_t i = 0; i < isa->tile; i++) {
                        if (i < n) {
                            ok[i] = (uint8_t)isa->patch(&p, x, at[i], g,
                                                        patches + i * patch_bytes);
                        } else {
                            ok[i] = 0;
                            memset(patches + i * patch_bytes, 0, patch_bytes);
                        }
                        all_ok &= i >= n || ok[i];
                    }
                    for (size_t b = b0; b < b1; b += isa->chunk) {
                        const size_t q = b1 - b < isa->chunk ? b1 - b : isa->chunk;
                        isa->compute(&p, patches, packed, corr, g, b, q, multiplier, shift, y,
                                     ok, n);
                    }
                }
                if (!all_ok) {
                    for (size_t i = 0; i < n; i++) {
                        if (weights_ok && ok[i])
                            continue;
                        dv_qconv2d_pixel(attrs, in, out, at[i][1], at[i][2], at[i][3], o0, o1);
                    }
                }
            }
        }
    }
}

/* ---- AVX-512 VNNI -------------------------------------------------------------------------- */

DV_TARGET_VNNI DV_INLINE int vnni_convert(const int32_t *src, size_t n, uint8_t *dst,
                                          int32_t input_offset)
{
    (void)input_offset;
    const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
    const __m512i offset = _mm512_set1_epi32(128);
    __mmask16 bad = 0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i v = _mm512_loadu_si512((const void *)(src + i));
        bad |= _mm512_cmplt_epi32_mask(v, lo) | _mm512_cmpgt_epi32_mask(v, hi);
        _mm_storeu_si128((__m128i *)(void *)(dst + i),
                         _mm512_cvtepi32_epi8(_mm512_add_epi32(v, offset)));
    }
    if (i < n) {
        const __mmask16 m = dv_lanes16((uint32_t)(n - i));
        __m512i v = _mm512_maskz_loadu_epi32(m, src + i);
        bad |= (_mm512_cmplt_epi32_mask(v, lo) | _mm512_cmpgt_epi32_mask(v, hi)) & m;
        _mm512_mask_cvtepi32_storeu_epi8(dst + i, m, _mm512_add_epi32(v, offset));
    }
    return bad == 0;
}

DV_TARGET_VNNI DV_INLINE void vnni_fill(uint8_t *dst, size_t n, int32_t input_offset)
{
    const __m512i v = _mm512_set1_epi8((char)(128 - input_offset));
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        _mm512_storeu_si512((void *)(dst + i), v);
    if (i < n)
        _mm512_mask_storeu_epi8(dst + i, ((__mmask64)1 << (n - i)) - 1, v);
}

DV_TARGET_VNNI static int vnni_convert_run(const int32_t *src, size_t n, uint8_t *dst,
                                           int32_t input_offset)
{
    return vnni_convert(src, n, dst, input_offset);
}

DV_TARGET_VNNI static int vnni_patch(const conv_plan *p, const int32_t *x, const size_t *at,
                                     size_t g, uint8_t *dst)
{
    return build_patch(p, 1, x, at, g, dst, vnni_convert, vnni_fill);
}

DV_TARGET_VNNI static int vnni_pack_weights(const conv_plan *p, const int32_t *filter,
                                            const int32_t *bias, size_t b0, size_t b1,
                                            uint8_t *packed, int32_t *corr)
{
    const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
    const uint32_t correction = (uint32_t)p->input_offset - 128u;
    const size_t block_bytes = p->kp * 16, k4 = p->kp / 4;
    __mmask16 bad = 0;
    __m512i low = _mm512_setzero_si512(), high = _mm512_setzero_si512();
    for (size_t gb = b0; gb < b1; gb++) {
        const size_t g = gb / p->blocks, b = gb % p->blocks;
        const size_t o0 = g * p->per_group + b * 16;
        const size_t lanes = p->per_group - b * 16 < 16 ? p->per_group - b * 16 : 16;
        uint8_t *dst = packed + gb * block_bytes;
        if (lanes == 16) {
            /* A full block, 16 taps of its 16 channels at a time: each channel's 16 bytes are
             * four 4-tap words, and the block's layout wants word j of every channel together,
             * a 16 x 4 transpose of words. The channels' weight sums come from the packed
             * words themselves (vpdpbusd by ones), exact when every weight fits s8. */
            const int32_t *rows = filter + o0 * p->k;
            const __m512i ones = _mm512_set1_epi8(1);
            __m512i sums = _mm512_setzero_si512();
            for (size_t kk = 0; kk < p->kp; kk += 16) {
                const __mmask16 m = dv_lanes16((uint32_t)(p->k > kk ? p->k - kk : 0));
                __m128i r[16];
                for (int l = 0; l < 16; l++) {
                    const __m512i v = _mm512_maskz_loadu_epi32(m, rows + (size_t)l * p->k + kk);
                    low = _mm512_min_epi32(low, v);
                    high = _mm512_max_epi32(high, v);
                    r[l] = _mm512_cvtepi32_epi8(v);
                }
                __m512i z[4];
                for (int q = 0; q < 4; q++) {
                    __m512i t = _mm512_castsi128_si512(r[4 * q]);
                    t = _mm512_inserti32x4(t, r[4 * q + 1], 1);
                    t = _mm512_inserti32x4(t, r[4 * q + 2], 2);
                    z[q] = _mm512_inserti32x4(t, r[4 * q + 3], 3);
                }
                const size_t first = kk / 4, n = k4 - first < 4 ? k4 - first : 4;
                for (size_t j = 0; j < n; j++) {
                    const int32_t i = (int32_t)j;
                    const __m512i index = _mm512_setr_epi32(i, 4 + i, 8 + i, 12 + i, 16 + i,
                                                            20 + i, 24 + i, 28 + i, 0, 0, 0, 0,
                                                            0, 0, 0, 0);
                    const __m512i lo8 = _mm512_permutex2var_epi32(z[0], index, z[1]);
                    const __m512i hi8 = _mm512_permutex2var_epi32(z[2], index, z[3]);
                    const __m512i word =
                        _mm512_inserti64x4(lo8, _mm512_castsi512_si256(hi8), 1);
                    sums = _mm512_dpbusd_epi32(sums, ones, word);
                    _mm512_store_si512((void *)(dst + (first + j) * 64), word);
                }
            }
            const __m512i c = _mm512_add_epi32(
                _mm512_loadu_si512((const void *)(bias + o0)),
                _mm512_mullo_epi32(sums, _mm512_set1_epi32((int32_t)correction)));
            _mm512_storeu_si512((void *)(corr + gb * 16), c);
            continue;
        }
        memset(dst, 0, block_bytes);
        for (size_t l = 0; l < lanes; l++) {
            const int32_t *row = filter + (o0 + l) * p->k;
            __m512i sum = _mm512_setzero_si512();
            for (size_t kk = 0; kk < p->kp; kk += 16) {
                const __mmask16 m = dv_lanes16((uint32_t)(p->k > kk ? p->k - kk : 0));
                __m512i v = _mm512_maskz_loadu_epi32(m, row + kk);
                bad |= _mm512_cmplt_epi32_mask(v, lo) | _mm512_cmpgt_epi32_mask(v, hi);
                sum = _mm512_add_epi32(sum, v);
                const __m128i bytes = _mm512_cvtepi32_epi8(v);
                int32_t words[4];
                _mm_storeu_si128((__m128i *)(void *)words, bytes);
                const size_t first = kk / 4, n = k4 - first < 4 ? k4 - first : 4;
                for (size_t j = 0; j < n; j++)
                    memcpy(dst + ((first + j) * 16 + l) * 4, &words[j], 4);
            }
            uint32_t parts[16], total = 0;
            _mm512_storeu_si512((void *)parts, sum);
            for (int j = 0; j < 16; j++)
                total += parts[j];
            corr[gb * 16 + l] = dv_qnn_as_int32((uint32_t)bias[o0 + l] + correction * total);
        }
        for (size_t l = lanes; l < 16; l++)
            corr[gb * 16 + l] = 0;
    }
    bad |= _mm512_cmplt_epi32_mask(low, lo) | _mm512_cmpgt_epi32_mask(high, hi);
    return bad == 0;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define VNNI_TILE 6

DV_TARGET_VNNI DV_INLINE void vnni_tile(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *w, const int32_t *corr, size_t g,
                                        size_t b, const int32_t *multiplier,
                                        const int32_t *shift, int32_t *const *y,
                                        const uint8_t *ok, size_t n, const int q)
{
    __m512i acc[VNNI_TILE][4];
    const size_t k4 = p->kp / 4, block_bytes = p->kp * 16;
    UNROLL for (int i = 0; i < VNNI_TILE; i++)
        UNROLL for (int j = 0; j < q; j++)
            acc[i][j] = _mm512_setzero_si512();
    for (size_t k = 0; k < k4; k++) {
        __m512i wv[4];
        UNROLL for (int j = 0; j < q; j++)
            wv[j] = _mm512_load_si512((const void *)(w + j * block_bytes + k * 64));
        UNROLL for (int i = 0; i < VNNI_TILE; i++) {
            const __m512i xb = _mm512_set1_epi32((int32_t)load32(patches + i * p->kp + k * 4));
            UNROLL for (int j = 0; j < q; j++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xb, wv[j]);
        }
    }
    UNROLL for (int j = 0; j < q; j++) {
        const size_t bj = b + (size_t)j, o = g * p->per_group + bj * 16;
        const __mmask16 m = dv_lanes16((uint32_t)(p->per_group - bj * 16));
        const __m512i c = _mm512_loadu_si512((const void *)(corr + (g * p->blocks + bj) * 16));
        dv_rq16_prepared rq;
        dv_rq16_prepare(&rq, _mm512_maskz_loadu_epi32(m, multiplier + o),
                        _mm512_maskz_loadu_epi32(m, shift + o), &p->rq);
        UNROLL for (int i = 0; i < VNNI_TILE; i++)
            if ((size_t)i < n && ok[i])
                _mm512_mask_storeu_epi32(y[i] + o, m,
                                         dv_rq16_apply(_mm512_add_epi32(acc[i][j], c), &rq));
    }
}

DV_TARGET_VNNI static void vnni_compute(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *packed, const int32_t *corr, size_t g,
                                        size_t b, size_t q, const int32_t *multiplier,
                                        const int32_t *shift, int32_t *const *y,
                                        const uint8_t *ok, size_t n)
{
    const uint8_t *w = packed + (g * p->blocks + b) * p->kp * 16;
    switch (q) {
    case 1: vnni_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 1); break;
    case 2: vnni_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 2); break;
    case 3: vnni_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 3); break;
    default: vnni_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 4); break;
    }
}

static const conv_isa vnni = {16, 4, 1, VNNI_TILE, 4, vnni_pack_weights, vnni_patch,
                              vnni_convert_run, vnni_compute};

/* ---- AVX2 ---------------------------------------------------------------------------------- */

/* x + input_offset, wrapped to int32 as the reference wraps it, must fit int16. */
DV_TARGET_AVX2 DV_INLINE int avx2_convert(const int32_t *src, size_t n, uint8_t *dst,
                                          int32_t input_offset)
{
    const __m256i offset = _mm256_set1_epi32(input_offset);
    const __m256i hi = _mm256_set1_epi32(INT16_MAX), lo = _mm256_set1_epi32(INT16_MIN);
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(src + i)),
                                     offset);
        bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi32(v, hi),
                                                   _mm256_cmpgt_epi32(lo, v)));
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08);
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), _mm256_castsi256_si128(packed));
    }
    int ok = _mm256_testz_si256(bad, bad);
    for (; i < n; i++) {
        const int32_t v = dv_qnn_as_int32((uint32_t)src[i] + (uint32_t)input_offset);
        ok &= v >= INT16_MIN && v <= INT16_MAX;
        const int16_t h = (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
        memcpy(dst + 2 * i, &h, 2);
    }
    return ok;
}

DV_TARGET_AVX2 DV_INLINE void avx2_fill(uint8_t *dst, size_t n, int32_t input_offset)
{
    (void)input_offset;
    memset(dst, 0, 2 * n);
}

DV_TARGET_AVX2 static int avx2_convert_run(const int32_t *src, size_t n, uint8_t *dst,
                                           int32_t input_offset)
{
    return avx2_convert(src, n, dst, input_offset);
}

DV_TARGET_AVX2 static int avx2_patch(const conv_plan *p, const int32_t *x, const size_t *at,
                                     size_t g, uint8_t *dst)
{
    return build_patch(p, 2, x, at, g, dst, avx2_convert, avx2_fill);
}

DV_TARGET_AVX2 static int avx2_pack_weights(const conv_plan *p, const int32_t *filter,
                                            const int32_t *bias, size_t b0, size_t b1,
                                            uint8_t *packed, int32_t *corr)
{
    const __m256i hi = _mm256_set1_epi32(INT16_MAX), lo = _mm256_set1_epi32(INT16_MIN);
    const size_t block_bytes = p->kp * 16, k2 = p->kp / 2;
    __m256i bad = _mm256_setzero_si256();
    for (size_t gb = b0; gb < b1; gb++) {
        const size_t g = gb / p->blocks, b = gb % p->blocks;
        const size_t o0 = g * p->per_group + b * 8;
        const size_t lanes = p->per_group - b * 8 < 8 ? p->per_group - b * 8 : 8;
        uint8_t *dst = packed + gb * block_bytes;
        if (lanes < 8)
            memset(dst, 0, block_bytes);
        for (size_t l = 0; l < lanes; l++) {
            const int32_t *row = filter + (o0 + l) * p->k;
            for (size_t kk = 0; kk < p->kp; kk += 8) {
                const size_t have = p->k > kk ? (p->k - kk < 8 ? p->k - kk : 8) : 0;
                const __m256i m = dv_lanes8((uint32_t)have);
                __m256i v = _mm256_maskload_epi32(row + kk, m);
                bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi32(v, hi),
                                                           _mm256_cmpgt_epi32(lo, v)));
                const __m256i h = _mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08);
                int32_t words[4];
                _mm_storeu_si128((__m128i *)(void *)words, _mm256_castsi256_si128(h));
                const size_t first = kk / 2, n = k2 - first < 4 ? k2 - first : 4;
                for (size_t j = 0; j < n; j++)
                    memcpy(dst + ((first + j) * 8 + l) * 4, &words[j], 4);
            }
            corr[gb * 8 + l] = bias[o0 + l];
        }
        for (size_t l = lanes; l < 8; l++)
            corr[gb * 8 + l] = 0;
    }
    return _mm256_testz_si256(bad, bad);
}

#define AVX2_TILE 4

DV_TARGET_AVX2 DV_INLINE void avx2_tile(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *w, const int32_t *corr, size_t g,
                                        size_t b, const int32_t *multiplier,
                                        const int32_t *shift, int32_t *const *y,
                                        const uint8_t *ok, size_t n, const int q)
{
    __m256i acc[AVX2_TILE][3];
    const size_t k2 = p->kp / 2, block_bytes = p->kp * 16, row_bytes = p->kp * 2;
    UNROLL for (int i = 0; i < AVX2_TILE; i++)
        UNROLL for (int j = 0; j < q; j++)
            acc[i][j] = _mm256_setzero_si256();
    for (size_t k = 0; k < k2; k++) {
        __m256i wv[3];
        UNROLL for (int j = 0; j < q; j++)
            wv[j] = _mm256_load_si256((const __m256i *)(const void *)(w + j * block_bytes + k * 32));
        UNROLL for (int i = 0; i < AVX2_TILE; i++) {
            const __m256i xb = _mm256_set1_epi32((int32_t)load32(patches + i * row_bytes + k * 4));
            UNROLL for (int j = 0; j < q; j++)
                acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(xb, wv[j]));
        }
    }
    UNROLL for (int j = 0; j < q; j++) {
        const size_t bj = b + (size_t)j, o = g * p->per_group + bj * 8;
        const size_t lanes = p->per_group - bj * 8 < 8 ? p->per_group - bj * 8 : 8;
        const __m256i m = dv_lanes8((uint32_t)lanes);
        const __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(corr + (g * p->blocks + bj) * 8));
        dv_rq8_prepared rq;
        dv_rq8_prepare(&rq, _mm256_maskload_epi32(multiplier + o, m),
                       _mm256_maskload_epi32(shift + o, m), &p->rq);
        UNROLL for (int i = 0; i < AVX2_TILE; i++)
            if ((size_t)i < n && ok[i])
                _mm256_maskstore_epi32(y[i] + o, m,
                                       dv_rq8_apply(_mm256_add_epi32(acc[i][j], c), &rq));
    }
}

DV_TARGET_AVX2 static void avx2_compute(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *packed, const int32_t *corr, size_t g,
                                        size_t b, size_t q, const int32_t *multiplier,
                                        const int32_t *shift, int32_t *const *y,
                                        const uint8_t *ok, size_t n)
{
    const uint8_t *w = packed + (g * p->blocks + b) * p->kp * 16;
    switch (q) {
    case 1: avx2_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 1); break;
    case 2: avx2_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 2); break;
    default: avx2_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, 3); break;
    }
}

static const conv_isa avx2 = {8, 2, 2, AVX2_TILE, 3, avx2_pack_weights, avx2_patch,
                              avx2_convert_run, avx2_compute};

/* ---- the variants -------------------------------------------------------------------------- */

static int vnni_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_plan p;
    const int32_t offset = attrs->v[QC_INPUT_OFFSET];
    return n_in == 5 && offset >= -127 && offset <= 128 && plan(&p, &vnni, attrs, in);
}

static int avx2_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_plan p;
    return n_in == 5 && plan(&p, &avx2, attrs, in);
}

static uint64_t vnni_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_plan p;
    plan(&p, &vnni, attrs, in);
    return (uint64_t)p.cgroups * p.tiles;
}

static uint64_t avx2_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_plan p;
    plan(&p, &avx2, attrs, in);
    return (uint64_t)p.cgroups * p.tiles;
}

static uint64_t vnni_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_plan p;
    plan(&p, &vnni, attrs, in);
    return p.scratch_bytes / 4;
}

static uint64_t avx2_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_plan p;
    plan(&p, &avx2, attrs, in);
    return p.scratch_bytes / 4;
}

static void vnni_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    conv_run(&vnni, attrs, in, out, NULL, scratch, begin, end);
}

static void avx2_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    conv_run(&avx2, attrs, in, out, NULL, scratch, begin, end);
}

const dv_variant dv_variant_qconv2d_vnni = {DV_OP_QCONV2D, DV_ISA_VNNI, "vnni", vnni_accepts,
                                            vnni_items, vnni_scratch, vnni_run, 0};
const dv_variant dv_variant_qconv2d_avx2 = {DV_OP_QCONV2D, DV_ISA_AVX2, "avx2", avx2_accepts,
                                            avx2_items, avx2_scratch, avx2_run, 0};

/* The packings: the filter (input 1) and the bias (input 2, folded into the corrections). */
static uint64_t vnni_packed_size(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return conv_packed_size(&vnni, attrs, in);
}

static uint64_t avx2_packed_size(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return conv_packed_size(&avx2, attrs, in);
}

static void vnni_pack(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, void *packed)
{
    conv_pack(&vnni, attrs, in, packed);
}

static void avx2_pack(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, void *packed)
{
    conv_pack(&avx2, attrs, in, packed);
}

static void vnni_run_packed(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, const void *packed, int32_t *scratch,
                            uint64_t begin, uint64_t end)
{
    conv_run(&vnni, attrs, in, out, packed, scratch, begin, end);
}

static void avx2_run_packed(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, const void *packed, int32_t *scratch,
                            uint64_t begin, uint64_t end)
{
    conv_run(&avx2, attrs, in, out, packed, scratch, begin, end);
}

const dv_variant_packing dv_packing_qconv2d_vnni = {&dv_variant_qconv2d_vnni, 6u, vnni_packed_size,
                                                    vnni_pack, vnni_run_packed};
const dv_variant_packing dv_packing_qconv2d_avx2 = {&dv_variant_qconv2d_avx2, 6u, avx2_packed_size,
                                                    avx2_pack, avx2_run_packed};

#endif
