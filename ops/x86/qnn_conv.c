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
 * Storage (DV_VARIANT_INT8). The data may be int32 or int8 (in[0].i8), and so may the output.
 * An int8 input needs no check for VNNI (x ^ 0x80 is x + 128), and for AVX2 only when
 * x + input_offset may leave int16. An int8 output is written one byte per element: the
 * requantized values lie in [act_min, act_max], inside [-128, 127] (infer), so the narrowing
 * is dv_store_i8's. A pixel computed by the reference body (which reads and writes int32) gets
 * a small int32 copy of its window, taken tap by tap and rebased so that the same body sees the
 * same values at the same filter taps (fallback_pixel), and its outputs are stored from there.
 *
 * Tiles. A tile is T output pixels; each call of the inner kernel accumulates T pixels times q
 * blocks of channels in registers (T * q <= 24 for VNNI, 12 for AVX2), so T is chosen per
 * instance from the blocks per call: 24 pixels for one block (16 channels), 6 for four. The
 * blocks of a group are split evenly into calls of at most 4 (VNNI) or 3 (AVX2) blocks. The
 * accumulators start from the blocks' corrections and go through a small buffer to the
 * requantization (VNNI), which runs from constants prepared once per block (dv_rq16w_prepare:
 * in the packing when the multipliers and shifts are constants, else once per run call), in
 * its branch-free form for an int8 output when the block allows it (vnni_store_fast).
 *
 * Work items. The output pixels (n, oy, ox), flattened, are cut into tiles. When the weights
 * outweigh the pixels (out channels > pixels: the late layers of a MobileNet), each group's
 * blocks are cut into chunks of one call as well, and an item is (chunk, tile), chunk-major,
 * so that threads pack disjoint weights; otherwise an item is a tile with every channel. A run
 * call packs the weights of the chunks its items touch, then computes its items; each output
 * element belongs to exactly one item. When the filter and the bias are constants of the
 * module, the session packs them once instead (dv_packing_qconv2d_*: conv_pack), and
 * run_packed skips that step. */
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
#define UNROLL _Pragma("GCC unroll 32")
#else
#define UNROLL
#endif

/* Scratch beyond this many int32s: the variant declines and the reference runs. */
#define SCRATCH_LIMIT ((uint64_t)1 << 26)
#define MAX_TILE 24

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
    size_t qmax;                          /* blocks per compute call, at most */
    size_t tile;                          /* pixels per tile */
    size_t pixels, tiles;
    size_t chunks;                        /* chunks (of qmax blocks) per group when split, else 0 */
    size_t cgroups;                       /* items = cgroups * tiles */
    int pointwise;                        /* 1x1, stride 1, no padding, one group */
    /* scratch layout, bytes from the start (64-byte aligned) */
    size_t packed_at, corr_at, patch_at, ok_at, window_at, row_at, rq_at, scratch_bytes;
    dv_requant_op rq;
    /* set by conv_run: the storage of this run, and the blocks' prepared requantizations */
    int x8, y8;
    const void *prepared;
} conv_plan;

/* Packs n consecutive activations (int32 or int8 as the function says); 1 when they are all
 * exact. */
typedef int (*convert_fn)(const void *src, size_t n, uint8_t *dst, int32_t input_offset);

struct conv_isa {
    size_t lanes;       /* output channels per block */
    size_t k_step;      /* taps per multiply-add lane */
    size_t elem;        /* bytes per packed activation or weight */
    size_t budget;      /* accumulators per compute call: tile * q <= budget */
    size_t qlim;        /* blocks per compute call, at most */
    size_t rq_bytes;    /* bytes of one block's prepared requantization (0: none) */
    /* Packs global blocks [b0, b1); 1 when every weight fits. */
    int (*pack_weights)(const conv_plan *p, const int32_t *filter, const int32_t *bias,
                        size_t b0, size_t b1, uint8_t *packed, int32_t *corr);
    /* Packs the patches of the n output pixels at[i] (flattened index, n, oy, ox) for group g
     * from int32 (patches32) or int8 data (patches8), pixel i's at patches + i * kp * elem, and
     * sets ok[i] when it is exact; returns whether all are. */
    int (*patches32)(const conv_plan *p, const void *x, const size_t (*at)[4], size_t n,
                     size_t g, uint8_t *patches, uint8_t *ok);
    int (*patches8)(const conv_plan *p, const void *x, const size_t (*at)[4], size_t n,
                    size_t g, uint8_t *patches, uint8_t *ok);
    convert_fn convert32, convert8;
    /* Prepares the requantization of global blocks [b0, b1) into prepared (indexed by block). */
    void (*prepare)(const conv_plan *p, const int32_t *multiplier, const int32_t *shift,
                    size_t b0, size_t b1, void *prepared);
    /* Requantized outputs of blocks [b, b + q) of group g for the tile's pixels: y[i] is pixel
     * i's first output byte. */
    void (*compute)(const conv_plan *p, const uint8_t *patches, const uint8_t *packed,
                    const int32_t *corr, size_t g, size_t b, size_t q, const int32_t *multiplier,
                    const int32_t *shift, uint8_t *const *y, const uint8_t *ok, size_t n);
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
    const size_t calls = (p->blocks + isa->qlim - 1) / isa->qlim;
    p->qmax = (p->blocks + calls - 1) / calls;
    p->tile = isa->budget / p->qmax;
    p->pixels = p->batches * p->out_h * p->out_w;
    p->tiles = (p->pixels + p->tile - 1) / p->tile;
    p->pointwise = p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 &&
                   p->stride_w == 1 && a[QC_PAD_TOP] == 0 && a[QC_PAD_LEFT] == 0 &&
                   a[QC_PAD_BOTTOM] == 0 && a[QC_PAD_RIGHT] == 0 && p->groups == 1;
    if (p->out_channels > p->pixels && p->blocks > p->qmax) {
        p->chunks = (p->blocks + p->qmax - 1) / p->qmax;
        p->cgroups = p->groups * p->chunks;
    } else {
        p->cgroups = 1;
    }
    /* scratch: packed weights, corrections, one tile's patches, their flags, a fallback
     * pixel's window and outputs */
    const uint64_t blocks = (uint64_t)p->groups * p->blocks;
    const uint64_t packed = blocks * p->kp * isa->lanes * isa->elem;
    const uint64_t corr = blocks * isa->lanes * 4;
    const uint64_t patches = (uint64_t)p->tile * p->kp * isa->elem;
    const uint64_t window = (uint64_t)p->kernel_h * p->kernel_w * p->channels * 4;
    const uint64_t row = (uint64_t)p->out_channels * 4;
    const uint64_t rq = blocks * isa->rq_bytes;
    const uint64_t total = round_up(packed, 64) + round_up(corr, 64) + round_up(patches, 64) +
                           64 + round_up(window, 64) + round_up(row, 64) + rq;
    if (total / 4 > SCRATCH_LIMIT)
        return 0;
    p->packed_at = 0;
    p->corr_at = round_up(packed, 64);
    p->patch_at = p->corr_at + round_up(corr, 64);
    p->ok_at = p->patch_at + round_up(patches, 64);
    p->window_at = p->ok_at + 64;
    p->row_at = p->window_at + round_up(window, 64);
    p->rq_at = p->row_at + round_up(row, 64);
    p->scratch_bytes = p->rq_at + (size_t)rq;
    return 1;
}

/* The global blocks [*b0, *b1) of chunk group cg. */
static void cgroup_blocks(const conv_plan *p, size_t cg, size_t *b0, size_t *b1)
{
    if (!p->chunks) {
        *b0 = 0;
        *b1 = p->groups * p->blocks;
        return;
    }
    const size_t g = cg / p->chunks, c = cg % p->chunks;
    const size_t end = (c + 1) * p->qmax < p->blocks ? (c + 1) * p->qmax : p->blocks;
    *b0 = g * p->blocks + c * p->qmax;
    *b1 = g * p->blocks + end;
}

/* The patch of output pixel `at` for group g; 1 when exact. Inlined into each instruction
 * set's patch functions with its own `convert` (packs n activations of `x_elem` bytes, 1 when
 * they are exact) and `fill` (writes n padding taps), so that both are inlined too. */
DV_INLINE int build_patch(const conv_plan *p, size_t elem, const void *x_base, size_t x_elem,
                          const size_t *at, size_t g, uint8_t *dst, convert_fn convert,
                          void (*fill)(uint8_t *dst, size_t n, int32_t input_offset))
{
    const uint8_t *x = x_base;
    const size_t ic = p->depth;
    int ok = 1;
    if (p->pointwise) {
        ok = convert(x + at[0] * p->channels * x_elem, p->channels, dst, p->input_offset);
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
            const uint8_t *x_row = x + (n * p->in_h + (size_t)iy) * p->in_w * p->channels * x_elem;
            if (p->dilation_w == 1 && p->groups == 1) {
                /* the taps inside the input are one run of memory */
                int64_t lo = x0 < 0 ? -x0 : 0, hi = in_w - x0 < kw ? in_w - x0 : kw;
                if (hi < lo)
                    hi = lo;
                if (lo > kw)
                    lo = hi = kw;
                fill(d, (size_t)lo * ic, p->input_offset);
                if (hi > lo)
                    ok &= convert(x_row + (size_t)(x0 + lo) * p->channels * x_elem,
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
                    ok &= convert(x_row + ((size_t)ix * p->channels + g * ic) * x_elem, ic,
                                  d + kx * ic * elem, p->input_offset);
            }
        }
    }
    for (size_t i = p->k * elem; i < p->kp * elem; i++)
        dst[i] = 0;
    return ok;
}

/* Output channels [o0, o1) of pixel `at` by the reference's body, dv_qconv2d_pixel. With int32
 * data and output it runs on the tensors themselves. Otherwise it runs on a rebased copy: the
 * taps of the pixel's window that lie inside the data, widened to int32 into `window`, as a
 * (1, hh, ww, C) tensor whose row r is data row y0 + (ky_lo + r) * dilation_h (ky_lo, the
 * first filter row inside the data, becomes the copy's top padding, and the dilation 1);
 * columns likewise. The body then reads, for each filter tap, the value the tensor holds there
 * and leaves out the same taps, so it computes the same sums; its outputs go to `row` and are
 * stored from there (narrowed by dv_store_i8 for an int8 output). */
static void interval(int64_t origin, int64_t dilation, size_t taps, int64_t extent,
                     size_t *lo, size_t *hi)
{
    /* the taps t in [lo, hi) with 0 <= origin + t * dilation < extent (dilation >= 1) */
    size_t l = 0, h = taps;
    if (origin < 0)
        l = (size_t)((-origin + dilation - 1) / dilation);
    if (origin >= extent)
        h = 0;
    else if ((extent - origin + dilation - 1) / dilation < (int64_t)taps)
        h = (size_t)((extent - origin + dilation - 1) / dilation);
    if (l > taps)
        l = taps;
    if (h < l)
        h = l;
    *lo = l;
    *hi = h;
}

static void fallback_pixel(const conv_plan *p, const dv_attrs *attrs, const dv_tensor *in,
                           dv_tensor *out, const size_t *at, size_t o0, size_t o1,
                           int32_t *window, int32_t *row)
{
    if (!p->x8 && !p->y8) {
        dv_qconv2d_pixel(attrs, in, out, at[1], at[2], at[3], o0, o1);
        return;
    }
    const int64_t y0 = (int64_t)at[2] * p->stride_h - p->pad_top;
    const int64_t x0 = (int64_t)at[3] * p->stride_w - p->pad_left;
    size_t ky_lo, ky_hi, kx_lo, kx_hi;
    interval(y0, p->dilation_h, p->kernel_h, (int64_t)p->in_h, &ky_lo, &ky_hi);
    interval(x0, p->dilation_w, p->kernel_w, (int64_t)p->in_w, &kx_lo, &kx_hi);
    int32_t a[QCONV_N_ATTRS];
    memcpy(a, attrs->v, sizeof a);
    a[QC_STRIDE_H] = a[QC_STRIDE_W] = a[QC_DILATION_H] = a[QC_DILATION_W] = 1;
    a[QC_PAD_BOTTOM] = a[QC_PAD_RIGHT] = 0;
    /* no tap inside: one row (or column) of zeros that every tap misses, from below */
    a[QC_PAD_TOP] = ky_hi > ky_lo ? (int32_t)ky_lo : -1;
    a[QC_PAD_LEFT] = kx_hi > kx_lo ? (int32_t)kx_lo : -1;
    const size_t hh = ky_hi > ky_lo ? ky_hi - ky_lo : 1, ww = kx_hi > kx_lo ? kx_hi - kx_lo : 1;
    const size_t c = p->channels;
    if (ky_hi == ky_lo || kx_hi == kx_lo) {
        memset(window, 0, hh * ww * c * sizeof *window);
    } else {
        for (size_t r = 0; r < hh; r++) {
            const size_t iy = (size_t)(y0 + (int64_t)(ky_lo + r) * p->dilation_h);
            for (size_t q = 0; q < ww; q++) {
                const size_t ix = (size_t)(x0 + (int64_t)(kx_lo + q) * p->dilation_w);
                const size_t from = ((at[1] * p->in_h + iy) * p->in_w + ix) * c;
                int32_t *to = window + (r * ww + q) * c;
                if (p->x8)
                    for (size_t i = 0; i < c; i++)
                        to[i] = in[0].i8[from + i];
                else
                    memcpy(to, in[0].data + from, c * sizeof *to);
            }
        }
    }
    const dv_attrs sub_attrs = {a, QCONV_N_ATTRS};
    dv_tensor sub_in[5] = {in[0], in[1], in[2], in[3], in[4]};
    sub_in[0].data = window;
    sub_in[0].i8 = NULL;
    sub_in[0].shape.dim[0] = 1;
    sub_in[0].shape.dim[1] = (uint32_t)hh;
    sub_in[0].shape.dim[2] = (uint32_t)ww;
    dv_tensor sub_out = out[0];
    sub_out.data = row;
    sub_out.i8 = NULL;
    sub_out.shape.dim[0] = sub_out.shape.dim[1] = sub_out.shape.dim[2] = 1;
    dv_qconv2d_pixel(&sub_attrs, sub_in, &sub_out, 0, 0, 0, o0, o1);
    const size_t base = at[0] * p->out_channels;
    for (size_t o = o0; o < o1; o++) {
        if (p->y8)
            out[0].i8[base + o] = dv_store_i8(row[o]);
        else
            out[0].data[base + o] = row[o];
    }
}

/* The one-time packing (dv_variant_packing): the packed weights and corrections of every
 * block, laid out as the scratch's first parts, then whether every weight fit (64 bytes), then
 * every block's prepared requantization (VNNI). */
static uint64_t conv_packed_size(const conv_isa *isa, const dv_attrs *attrs, const dv_shape *in)
{
    conv_plan p;
    plan(&p, isa, attrs, in);
    return p.patch_at + 64 + (uint64_t)p.groups * p.blocks * isa->rq_bytes;
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
    if (isa->prepare)
        isa->prepare(&p, in[3].data, in[4].data, 0, p.groups * p.blocks, base + p.patch_at + 64);
}

/* The flattened index, n, oy and ox of output pixels first .. first + n - 1; returns 1. */
static int locate(const conv_plan *p, size_t first, size_t n, size_t (*at)[4])
{
    size_t ox = first % p->out_w, r = first / p->out_w;
    size_t oy = r % p->out_h, nb = r / p->out_h;
    for (size_t i = 0; i < n; i++) {
        at[i][0] = first + i;
        at[i][1] = nb;
        at[i][2] = oy;
        at[i][3] = ox;
        if (++ox == p->out_w) {
            ox = 0;
            if (++oy == p->out_h) {
                oy = 0;
                nb++;
            }
        }
    }
    return 1;
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
    p.x8 = in[0].i8 != NULL;
    p.y8 = out[0].i8 != NULL;
    uint8_t *base = (uint8_t *)scratch;
    uint8_t *patches = base + p.patch_at, *ok = base + p.ok_at;
    int32_t *window = (int32_t *)(void *)(base + p.window_at);
    int32_t *row = (int32_t *)(void *)(base + p.row_at);
    const uint8_t *x = p.x8 ? (const uint8_t *)in[0].i8 : (const uint8_t *)in[0].data;
    const size_t x_elem = p.x8 ? 1 : 4, y_elem = p.y8 ? 1 : 4;
    uint8_t *y_base = p.y8 ? (uint8_t *)out[0].i8 : (uint8_t *)out[0].data;
    const convert_fn convert = p.x8 ? isa->convert8 : isa->convert32;
    int (*const patches_of)(const conv_plan *, const void *, const size_t(*)[4], size_t, size_t,
                            uint8_t *, uint8_t *) = p.x8 ? isa->patches8 : isa->patches32;
    const int32_t *multiplier = in[3].data, *shift = in[4].data;
    const size_t cg_first = (size_t)(begin / p.tiles), cg_last = (size_t)((end - 1) / p.tiles);
    size_t b_begin, b_end, unused;   /* the blocks the items touch */
    cgroup_blocks(&p, cg_first, &b_begin, &unused);
    cgroup_blocks(&p, cg_last, &unused, &b_end);
    const uint8_t *packed;
    const int32_t *corr;
    int32_t weights_ok;
    if (isa->prepare && prepacked) {
        p.prepared = prepacked + p.patch_at + 64;
    } else if (isa->prepare) {
        isa->prepare(&p, multiplier, shift, b_begin, b_end, base + p.rq_at);
        p.prepared = base + p.rq_at;
    }
    if (prepacked) {
        packed = prepacked + p.packed_at;
        corr = (const int32_t *)(const void *)(prepacked + p.corr_at);
        memcpy(&weights_ok, prepacked + p.patch_at, sizeof weights_ok);
    } else {
        int32_t *own_corr = (int32_t *)(void *)(base + p.corr_at);
        weights_ok = isa->pack_weights(&p, in[1].data, in[2].data, b_begin, b_end,
                                       base + p.packed_at, own_corr);
        packed = base + p.packed_at;
        corr = own_corr;
    }
    const size_t patch_bytes = p.kp * isa->elem, tile = p.tile;

    for (size_t cg = cg_first; cg <= cg_last; cg++) {
        const size_t t_begin = cg == cg_first ? (size_t)(begin % p.tiles) : 0;
        const size_t t_end = cg == cg_last ? (size_t)((end - 1) % p.tiles) + 1 : p.tiles;
        size_t gb0, gb1;
        cgroup_blocks(&p, cg, &gb0, &gb1);
        for (size_t t = t_begin; t < t_end; t++) {
            const size_t first = t * tile;
            const size_t n = p.pixels - first < tile ? p.pixels - first : tile;
            uint8_t *y[MAX_TILE];
            size_t at[MAX_TILE][4];   /* each pixel's flattened index, n, oy, ox, when needed */
            int located = 0;
            for (size_t i = 0; i < n; i++)
                y[i] = y_base + (first + i) * p.out_channels * y_elem;
            for (size_t g = gb0 / p.blocks; g * p.blocks < gb1; g++) {
                const size_t b0 = gb0 > g * p.blocks ? gb0 - g * p.blocks : 0;
                const size_t b1 = gb1 < (g + 1) * p.blocks ? gb1 - g * p.blocks : p.blocks;
                const size_t o0 = g * p.per_group + b0 * isa->lanes;
                const size_t o1 = g * p.per_group +
                                  (b1 * isa->lanes < p.per_group ? b1 * isa->lanes : p.per_group);
                int all_ok = weights_ok;
                if (weights_ok) {
                    /* 1x1 with whole steps of channels: the tile's patches are its pixels'
                     * consecutive inputs, packed in one go (pixel by pixel if any is
                     * inexact) */
                    const int in_one_go = p.pointwise && p.kp == p.channels &&
                                          convert(x + first * p.channels * x_elem,
                                                  n * p.channels, patches, p.input_offset);
                    if (in_one_go) {
                        memset(ok, 1, n);
                    } else {
                        if (!located)
                            located = locate(&p, first, n, at);
                        all_ok &= patches_of(&p, x, (const size_t(*)[4])at, n, g, patches, ok);
                    }
                    for (size_t i = n; i < tile; i++) {
                        ok[i] = 0;
                        memset(patches + i * patch_bytes, 0, patch_bytes);
                    }
                    for (size_t b = b0; b < b1; b += p.qmax) {
                        const size_t q = b1 - b < p.qmax ? b1 - b : p.qmax;
                        isa->compute(&p, patches, packed, corr, g, b, q, multiplier, shift, y,
                                     ok, n);
                    }
                }
                if (!all_ok) {
                    if (!located)
                        located = locate(&p, first, n, at);
                    for (size_t i = 0; i < n; i++)
                        if (!weights_ok || !ok[i])
                            fallback_pixel(&p, attrs, in, out, at[i], o0, o1, window, row);
                }
            }
        }
    }
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- AVX-512 VNNI -------------------------------------------------------------------------- */

DV_TARGET_VNNI DV_INLINE int vnni_convert(const void *source, size_t n, uint8_t *dst,
                                          int32_t input_offset)
{
    (void)input_offset;
    const int32_t *src = source;
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

/* int8 data: x + 128 is x ^ 0x80, always exact. */
DV_TARGET_VNNI DV_INLINE int vnni_convert8(const void *source, size_t n, uint8_t *dst,
                                           int32_t input_offset)
{
    (void)input_offset;
    dv_flip_i8(dst, source, n);
    return 1;
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

DV_TARGET_VNNI static int vnni_convert_run(const void *src, size_t n, uint8_t *dst,
                                           int32_t input_offset)
{
    return vnni_convert(src, n, dst, input_offset);
}

DV_TARGET_VNNI static int vnni_convert8_run(const void *src, size_t n, uint8_t *dst,
                                            int32_t input_offset)
{
    return vnni_convert8(src, n, dst, input_offset);
}

DV_TARGET_VNNI static int vnni_patches(const conv_plan *p, const void *x, const size_t (*at)[4],
                                       size_t n, size_t g, uint8_t *patches, uint8_t *ok)
{
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        ok[i] = (uint8_t)build_patch(p, 1, x, 4, at[i], g, patches + i * p->kp, vnni_convert,
                                     vnni_fill);
        all &= ok[i];
    }
    return all;
}

/* int8 data, always exact. A window inside the data whose rows are runs of at most 64 bytes
 * (dilation_w 1, one group: the first convolution of an image network) is copied row by row
 * with one masked load and store each; any other goes through build_patch. */
DV_TARGET_VNNI static int vnni_patches8(const conv_plan *p, const void *x, const size_t (*at)[4],
                                        size_t n, size_t g, uint8_t *patches, uint8_t *ok)
{
    const size_t run = p->kernel_w * p->depth;
    const int rows = !p->pointwise && p->dilation_w == 1 && p->groups == 1 && run <= 64;
    const __mmask64 m = run >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << run) - 1;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const size_t row_step = (size_t)p->dilation_h * p->in_w * p->channels;
    const int64_t last_y = ((int64_t)p->kernel_h - 1) * p->dilation_h;
    for (size_t i = 0; i < n; i++) {
        uint8_t *dst = patches + i * p->kp;
        ok[i] = 1;
        const int64_t y0 = (int64_t)at[i][2] * p->stride_h - p->pad_top;
        const int64_t x0 = (int64_t)at[i][3] * p->stride_w - p->pad_left;
        if (!rows || y0 < 0 || x0 < 0 || y0 + last_y >= (int64_t)p->in_h ||
            x0 + (int64_t)p->kernel_w > (int64_t)p->in_w) {
            build_patch(p, 1, x, 1, at[i], g, dst, vnni_convert8, vnni_fill);
            continue;
        }
        const uint8_t *src = (const uint8_t *)x +
                             ((at[i][1] * p->in_h + (size_t)y0) * p->in_w + (size_t)x0) * p->channels;
        if (run <= 16) {
            const __mmask16 m16 = (__mmask16)m;
            for (size_t ky = 0; ky < p->kernel_h; ky++, src += row_step)
                _mm_mask_storeu_epi8(dst + ky * run, m16,
                                     _mm_xor_si128(_mm_maskz_loadu_epi8(m16, src),
                                                   _mm512_castsi512_si128(flip)));
        } else {
            for (size_t ky = 0; ky < p->kernel_h; ky++, src += row_step)
                _mm512_mask_storeu_epi8(dst + ky * run, m,
                                        _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), flip));
        }
        for (size_t k = p->k; k < p->kp; k++)
            dst[k] = 0;
    }
    return 1;
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
            const int32_t *wrow = filter + (o0 + l) * p->k;
            __m512i sum = _mm512_setzero_si512();
            for (size_t kk = 0; kk < p->kp; kk += 16) {
                const __mmask16 m = dv_lanes16((uint32_t)(p->k > kk ? p->k - kk : 0));
                __m512i v = _mm512_maskz_loadu_epi32(m, wrow + kk);
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

/* Requantizes blocks [b, b + q) of the tile's first n pixels from their accumulators, acc[i * q
 * + j] for pixel i and block b + j, and stores the pixels whose `ok` is set.
 *
 * The common case, an int8 output whose blocks all take dv_rq16w_fast the same way (`adj`),
 * runs branch-free. The Q vectors of a pixel (Q = 2..4) are narrowed together by two rounds of
 * saturating packs, whose composition saturates int32 to int8 as dv_store_i8 does, and one
 * permutation back into channel order; one block alone by vpmovsdb. As the narrowing saturates,
 * the clamp to [act_min, act_max] inside [-128, 127] can be applied to the bytes. */
DV_TARGET_VNNI DV_INLINE void vnni_store_fast(const __m512i *acc, const dv_rq16w_prepared *rq,
                                              __mmask64 bytes, size_t o, uint8_t *const *y,
                                              const uint8_t *ok, size_t n, int8_t act_min,
                                              int8_t act_max, const int Q, const int adj)
{
    /* after the packs, 128-bit lane L holds lane L of each vector: dword 4L + j is vector j's */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i below = _mm512_set1_epi8(act_min), above = _mm512_set1_epi8(act_max);
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        __m512i v[4];
        DV_UNROLL for (int j = 0; j < Q; j++) {
            const __m512i *x = acc + i * (size_t)Q + (size_t)j;
            const __m512i xv = _mm512_load_si512((const void *)x);
            v[j] = dv_rq16w_fast(xv, _mm512_srli_epi64(xv, 32), &rq[j], adj);
        }
        if (Q == 1) {
            __m128i c = _mm512_cvtsepi32_epi8(v[0]);
            c = _mm_min_epi8(_mm_max_epi8(c, _mm512_castsi512_si128(below)),
                             _mm512_castsi512_si128(above));
            _mm_mask_storeu_epi8(y[i] + o, (__mmask16)bytes, c);
            continue;
        }
        const __m512i a = _mm512_packs_epi32(v[0], v[1]);
        const __m512i b = Q == 2 ? a : _mm512_packs_epi32(v[2], v[Q == 4 ? 3 : 2]);
        __m512i c = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(a, b));
        c = _mm512_min_epi8(_mm512_max_epi8(c, below), above);
        _mm512_mask_storeu_epi8(y[i] + o, bytes, c);
    }
}

/* Every other case, block by block through dv_rq16w_apply. */
DV_TARGET_VNNI static void vnni_store_any(const __m512i *acc, size_t q, size_t j,
                                          const dv_rq16w_prepared *rq, __mmask16 m, size_t o,
                                          uint8_t *const *y, const uint8_t *ok, size_t n, int y8)
{
    for (size_t i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        const __m512i v = dv_rq16w_apply(acc[i * q + j], rq);
        if (y8)
            _mm_mask_storeu_epi8(y[i] + o, m, _mm512_cvtepi32_epi8(v));
        else
            _mm512_mask_storeu_epi32(y[i] + o * 4, m, v);
    }
}

/* The prepared requantizations of blocks [b0, b1), lanes past the channels with any values (a
 * shift of -1 keeps a block's case uniform). */
DV_TARGET_VNNI static void vnni_prepare(const conv_plan *p, const int32_t *multiplier,
                                        const int32_t *shift, size_t b0, size_t b1,
                                        void *prepared)
{
    dv_rq16w_prepared *rq = prepared;
    for (size_t gb = b0; gb < b1; gb++) {
        const size_t g = gb / p->blocks, b = gb % p->blocks, o = g * p->per_group + b * 16;
        const __mmask16 m = dv_lanes16((uint32_t)(p->per_group - b * 16));
        dv_rq16w_prepare(&rq[gb], _mm512_maskz_loadu_epi32(m, multiplier + o),
                         _mm512_mask_loadu_epi32(_mm512_set1_epi32(-1), m, shift + o), &p->rq);
    }
}

DV_TARGET_VNNI static void vnni_store(const conv_plan *p, const __m512i *acc, size_t g,
                                      size_t b, size_t q, uint8_t *const *y, const uint8_t *ok,
                                      size_t n)
{
    const size_t o0 = g * p->per_group + b * 16;
    const dv_rq16w_prepared *rq = (const dv_rq16w_prepared *)p->prepared + g * p->blocks + b;
    int fast = rq[0].fast;
    for (size_t j = 1; j < q; j++)
        fast = fast == rq[j].fast ? fast : 0;
    if (p->y8 && fast > 0) {
        const size_t last = p->per_group - (b + q - 1) * 16;
        const size_t total = (q - 1) * 16 + (last < 16 ? last : 16);
        const __mmask64 bytes = total >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << total) - 1;
        const int8_t amin = (int8_t)p->rq.act_min, amax = (int8_t)p->rq.act_max;
#define FAST(Q, A) vnni_store_fast(acc, rq, bytes, o0, y, ok, n, amin, amax, Q, A)
        switch ((q - 1) * 2 + (size_t)(fast - 1)) {
        case 0: FAST(1, 0); break;
        case 1: FAST(1, 1); break;
        case 2: FAST(2, 0); break;
        case 3: FAST(2, 1); break;
        case 4: FAST(3, 0); break;
        case 5: FAST(3, 1); break;
        case 6: FAST(4, 0); break;
        default: FAST(4, 1); break;
        }
#undef FAST
        return;
    }
    for (size_t j = 0; j < q; j++) {
        const __mmask16 m = dv_lanes16((uint32_t)(p->per_group - (b + j) * 16));
        vnni_store_any(acc, q, j, &rq[j], m, o0 + j * 16, y, ok, n, p->y8);
    }
}

/* T pixels by q blocks: T * q accumulators in registers, starting from the blocks' bias and
 * correction, then stored for vnni_store. */
DV_TARGET_VNNI DV_INLINE void vnni_tile(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *w, const int32_t *corr, __m512i *out,
                                        const int T, const int q)
{
    __m512i acc[MAX_TILE][4];
    const size_t k4 = p->kp / 4, block_bytes = p->kp * 16, kp = p->kp;
    UNROLL for (int j = 0; j < q; j++) {
        const __m512i c = _mm512_loadu_si512((const void *)(corr + j * 16));
        UNROLL for (int i = 0; i < T; i++)
            acc[i][j] = c;
    }
    for (size_t k = 0; k < k4; k++) {
        __m512i wv[4];
        UNROLL for (int j = 0; j < q; j++)
            wv[j] = _mm512_load_si512((const void *)(w + j * block_bytes + k * 64));
        UNROLL for (int i = 0; i < T; i++) {
            const __m512i xb = _mm512_set1_epi32((int32_t)load32(patches + i * kp + k * 4));
            UNROLL for (int j = 0; j < q; j++)
                acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], xb, wv[j]);
        }
    }
    UNROLL for (int i = 0; i < T; i++)
        UNROLL for (int j = 0; j < q; j++)
            out[i * q + j] = acc[i][j];
}

#define VNNI_TILE(T, Q) vnni_tile(p, patches, w, c, acc, T, Q)

DV_TARGET_VNNI static void vnni_compute(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *packed, const int32_t *corr, size_t g,
                                        size_t b, size_t q, const int32_t *multiplier,
                                        const int32_t *shift, uint8_t *const *y,
                                        const uint8_t *ok, size_t n)
{
    const uint8_t *w = packed + (g * p->blocks + b) * p->kp * 16;
    const int32_t *c = corr + (g * p->blocks + b) * 16;
    __m512i acc[MAX_TILE];
    switch (p->tile * 8 + q) {
    case 24 * 8 + 1: VNNI_TILE(24, 1); break;
    case 12 * 8 + 1: VNNI_TILE(12, 1); break;
    case 12 * 8 + 2: VNNI_TILE(12, 2); break;
    case 8 * 8 + 1: VNNI_TILE(8, 1); break;
    case 8 * 8 + 2: VNNI_TILE(8, 2); break;
    case 8 * 8 + 3: VNNI_TILE(8, 3); break;
    case 6 * 8 + 1: VNNI_TILE(6, 1); break;
    case 6 * 8 + 2: VNNI_TILE(6, 2); break;
    case 6 * 8 + 3: VNNI_TILE(6, 3); break;
    default: VNNI_TILE(6, 4); break;
    }
    vnni_store(p, acc, g, b, q, y, ok, n);
}

/* 16 lanes, 4 taps per lane, 24 accumulators, at most 4 blocks per call */
static const conv_isa vnni = {16, 4, 1, 24, 4, sizeof(dv_rq16w_prepared), vnni_pack_weights,
                              vnni_patches, vnni_patches8, vnni_convert_run, vnni_convert8_run,
                              vnni_prepare, vnni_compute};

/* ---- AVX2 ---------------------------------------------------------------------------------- */

/* Eight x + input_offset, wrapped to int32 as the reference wraps them, as int16; `bad` gets
 * the lanes that do not fit. */
DV_TARGET_AVX2 DV_INLINE __m128i avx2_offset8(__m256i v, __m256i offset, __m256i *bad)
{
    const __m256i hi = _mm256_set1_epi32(INT16_MAX), lo = _mm256_set1_epi32(INT16_MIN);
    v = _mm256_add_epi32(v, offset);
    *bad = _mm256_or_si256(*bad, _mm256_or_si256(_mm256_cmpgt_epi32(v, hi),
                                                 _mm256_cmpgt_epi32(lo, v)));
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08));
}

/* x + input_offset, wrapped to int32 as the reference wraps it, must fit int16. */
DV_TARGET_AVX2 DV_INLINE int avx2_convert(const void *source, size_t n, uint8_t *dst,
                                          int32_t input_offset)
{
    const int32_t *src = source;
    const __m256i offset = _mm256_set1_epi32(input_offset);
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i),
                         avx2_offset8(_mm256_loadu_si256((const __m256i *)(const void *)(src + i)),
                                      offset, &bad));
    int ok = _mm256_testz_si256(bad, bad);
    for (; i < n; i++) {
        const int32_t v = dv_qnn_as_int32((uint32_t)src[i] + (uint32_t)input_offset);
        ok &= v >= INT16_MIN && v <= INT16_MAX;
        const int16_t h = (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
        memcpy(dst + 2 * i, &h, 2);
    }
    return ok;
}

/* The same from int8 data (exact unless input_offset is beyond a zero point's range). */
DV_TARGET_AVX2 DV_INLINE int avx2_convert8(const void *source, size_t n, uint8_t *dst,
                                           int32_t input_offset)
{
    const int8_t *src = source;
    const __m256i offset = _mm256_set1_epi32(input_offset);
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        int64_t eight;
        memcpy(&eight, src + i, 8);
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i),
                         avx2_offset8(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight)), offset,
                                      &bad));
    }
    int ok = _mm256_testz_si256(bad, bad);
    for (; i < n; i++) {
        const int32_t v = dv_qnn_as_int32((uint32_t)(int32_t)src[i] + (uint32_t)input_offset);
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

DV_TARGET_AVX2 static int avx2_convert_run(const void *src, size_t n, uint8_t *dst,
                                           int32_t input_offset)
{
    return avx2_convert(src, n, dst, input_offset);
}

DV_TARGET_AVX2 static int avx2_convert8_run(const void *src, size_t n, uint8_t *dst,
                                            int32_t input_offset)
{
    return avx2_convert8(src, n, dst, input_offset);
}

DV_TARGET_AVX2 static int avx2_patches(const conv_plan *p, const void *x, const size_t (*at)[4],
                                       size_t n, size_t g, uint8_t *patches, uint8_t *ok)
{
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        ok[i] = (uint8_t)build_patch(p, 2, x, 4, at[i], g, patches + i * p->kp * 2, avx2_convert,
                                     avx2_fill);
        all &= ok[i];
    }
    return all;
}

DV_TARGET_AVX2 static int avx2_patches8(const conv_plan *p, const void *x, const size_t (*at)[4],
                                        size_t n, size_t g, uint8_t *patches, uint8_t *ok)
{
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        ok[i] = (uint8_t)build_patch(p, 2, x, 1, at[i], g, patches + i * p->kp * 2, avx2_convert8,
                                     avx2_fill);
        all &= ok[i];
    }
    return all;
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

DV_TARGET_AVX2 DV_INLINE void avx2_tile(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *w, const int32_t *corr, size_t g,
                                        size_t b, const int32_t *multiplier,
                                        const int32_t *shift, uint8_t *const *y,
                                        const uint8_t *ok, size_t n, const int T, const int q)
{
    __m256i acc[12][3];
    const size_t k2 = p->kp / 2, block_bytes = p->kp * 16, row_bytes = p->kp * 2;
    UNROLL for (int i = 0; i < T; i++)
        UNROLL for (int j = 0; j < q; j++)
            acc[i][j] = _mm256_setzero_si256();
    for (size_t k = 0; k < k2; k++) {
        __m256i wv[3];
        UNROLL for (int j = 0; j < q; j++)
            wv[j] = _mm256_load_si256((const __m256i *)(const void *)(w + j * block_bytes + k * 32));
        UNROLL for (int i = 0; i < T; i++) {
            const __m256i xb = _mm256_set1_epi32((int32_t)load32(patches + i * row_bytes + k * 4));
            UNROLL for (int j = 0; j < q; j++)
                acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(xb, wv[j]));
        }
    }
    const int y8 = p->y8;
    UNROLL for (int j = 0; j < q; j++) {
        const size_t bj = b + (size_t)j, o = g * p->per_group + bj * 8;
        const size_t lanes = p->per_group - bj * 8 < 8 ? p->per_group - bj * 8 : 8;
        const __m256i m = dv_lanes8((uint32_t)lanes);
        const __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(corr + (g * p->blocks + bj) * 8));
        dv_rq8_prepared rq;
        dv_rq8_prepare(&rq, _mm256_maskload_epi32(multiplier + o, m),
                       _mm256_maskload_epi32(shift + o, m), &p->rq);
        UNROLL for (int i = 0; i < T; i++) {
            if ((size_t)i >= n || !ok[i])
                continue;
            const __m256i v = dv_rq8_apply(_mm256_add_epi32(acc[i][j], c), &rq);
            if (y8) {
                /* the values lie in [-128, 127]: two saturating packs are the narrowing */
                const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(v),
                                                  _mm256_extracti128_si256(v, 1));
                const __m128i bytes = _mm_packs_epi16(h, h);
                if (lanes == 8) {
                    _mm_storel_epi64((__m128i *)(void *)(y[i] + o), bytes);
                } else {
                    uint8_t tmp[16];
                    _mm_storeu_si128((__m128i *)(void *)tmp, bytes);
                    memcpy(y[i] + o, tmp, lanes);
                }
            } else {
                _mm256_maskstore_epi32((int32_t *)(void *)(y[i] + o * 4), m, v);
            }
        }
    }
}

#define AVX2_TILE(T, Q) avx2_tile(p, patches, w, corr, g, b, multiplier, shift, y, ok, n, T, Q)

DV_TARGET_AVX2 static void avx2_compute(const conv_plan *p, const uint8_t *patches,
                                        const uint8_t *packed, const int32_t *corr, size_t g,
                                        size_t b, size_t q, const int32_t *multiplier,
                                        const int32_t *shift, uint8_t *const *y,
                                        const uint8_t *ok, size_t n)
{
    const uint8_t *w = packed + (g * p->blocks + b) * p->kp * 16;
    switch (p->tile * 8 + q) {
    case 12 * 8 + 1: AVX2_TILE(12, 1); break;
    case 6 * 8 + 1: AVX2_TILE(6, 1); break;
    case 6 * 8 + 2: AVX2_TILE(6, 2); break;
    case 4 * 8 + 1: AVX2_TILE(4, 1); break;
    case 4 * 8 + 2: AVX2_TILE(4, 2); break;
    default: AVX2_TILE(4, 3); break;
    }
}

/* 8 lanes, 2 taps per lane, 12 accumulators, at most 3 blocks per call */
static const conv_isa avx2 = {8, 2, 2, 12, 3, 0, avx2_pack_weights, avx2_patches, avx2_patches8,
                              avx2_convert_run, avx2_convert8_run, NULL, avx2_compute};

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
                                            vnni_items, vnni_scratch, vnni_run, DV_VARIANT_INT8};
const dv_variant dv_variant_qconv2d_avx2 = {DV_OP_QCONV2D, DV_ISA_AVX2, "avx2", avx2_accepts,
                                            avx2_items, avx2_scratch, avx2_run, DV_VARIANT_INT8};

/* The packings: the filter (input 1), the bias (input 2, folded into the corrections), and for
 * VNNI the multipliers and shifts (inputs 3 and 4, prepared for the requantization). */
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

const dv_variant_packing dv_packing_qconv2d_vnni = {
    &dv_variant_qconv2d_vnni, 0x1Eu, vnni_packed_size, vnni_pack, vnni_run_packed, 1};
const dv_variant_packing dv_packing_qconv2d_avx2 = {
    &dv_variant_qconv2d_avx2, 6u, avx2_packed_size, avx2_pack, avx2_run_packed, 1};

#endif
