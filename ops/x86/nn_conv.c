/* CVM CONV2D and CONV2D_SHIFT variants for x86-64: AVX2 (vpmaddwd) and AVX-512 VNNI
 * (vpdpbusd).
 *
 * They give exactly the bytes of the reference kernels (ops/nn.c, conv2d and the fused ops):
 * every output is the bias plus the sum of its products, modulo 2^32, then for CONV2D_SHIFT the
 * epilogue (cvm_right_shift, then the activation), lane-wise before the store. Each instance
 * takes one of two paths.
 *
 * The packed path (out_channels/groups >= half a vector) is a matrix product per group:
 * output channels across the vector lanes, output pixels across a register tile, the
 * reduction over (kh, kw, c) in 32-bit steps of packed operands.
 *   - The data rows a band of output rows reads are packed into scratch as NHWC: pixel-major,
 *     the group's channels contiguous, zero padding written out, so that each output pixel's
 *     window is a few contiguous runs (one per kernel row when dilation_w is 1).
 *     VNNI packs x + 128 as uint8 (vpdpbusd multiplies unsigned by signed bytes) and subtracts
 *     128 * sum(w) per channel afterwards: sum(w * x) = sum(w * (x + 128)) - 128 * sum(w)
 *     modulo 2^32, padding being 128, the packed zero. AVX2 packs int16 and multiplies with
 *     vpmaddwd, whose pair sums are exact modulo 2^32 for every int16 value.
 *   - The group's weights are packed into [16 channels][k step][lane][4 bytes] (VNNI) or
 *     [8][k step][lane][2 int16] (AVX2), with the VNNI correction per channel; the bias is
 *     added at the end. They are packed in every run, into scratch, unless the session packed
 *     them once ahead through the variant's dv_variant_packing (dv_packing_cvm_conv2d_*,
 *     ops/variant.h): reading the int32 weights in every run costs ResNet-18 about as much
 *     time as its products.
 *   - Products are exact only for operands that fit the packing: VNNI needs every packed
 *     weight and activation in [-128, 127], AVX2 in [-32768, 32767]. The packers check every
 *     int32 value they pack (an int8 activation fits by its type). A group whose weights do not
 *     fit, and an output row whose window reads a data row that does not fit, are computed by
 *     the reference's own routines (dv_conv2d_ref_rows and dv_epilogue_ref, ops/nn.h) on a
 *     copy of the rows the output row reads: never by a second copy of the arithmetic.
 *   - Modular sums are associative and commutative, so the order of the vector sums does not
 *     matter, and neither does the wrap of vpdpbusd / vpaddd (both wrap modulo 2^32).
 *
 * The direct path (depthwise and other convolutions with few output channels per group) is
 * the reference's tap loop on 32-bit lanes: y[row][ow..] += w * x[...] with vpmulld and vpaddd
 * (both exact modulo 2^32 for every int32), reading the data in place: masked loads leave out
 * the taps in the padding (lanes of stride 2 are compacted from two loads, larger strides
 * gathered). It is exact for every value, so it has no fallback.
 *
 * int8 storage (DV_VARIANT_INT8). The data may be int8 (dv_tensor.i8) and the output too.
 * The packers read int8 data with a sign extension and no range check; the direct path widens
 * the data rows a band of output rows reads into scratch and runs on them. An int8 output is
 * stored with signed saturation (vpmovsdb; vpackssdw then vpacksswb for AVX2), which is
 * dv_store_i8.
 *
 * The epilogue of CONV2D_SHIFT on 32-bit lanes is exact for every int32, as in
 * ops/x86/elemwise.c: floor(x / 2^(shift_bit-1)) is vpsrad by shift_bit - 1 in 0..31, the + 1
 * wraps as the reference's does (vpaddd), the halving is vpsrad by 1, and each clip with
 * lo <= hi (the shift's [-alpha, alpha], relu's [0, INT32_MAX], CLIP's [a_min, a_max] with
 * a_min < a_max, CVM_CLIP's [-alpha, alpha]) is min(max(v, lo), hi), the reference's clip.
 *
 * Work items. Packed path: (n, group, output row); direct path: (n, output channel, output
 * row). Each item writes only its own output row(s); a run over a range of items packs what
 * the range shares (a group's weights, a band of data rows) once.
 *
 * CONV2D_SHIFT_MAX_POOL (the last section) runs the same conv code into scratch and pools it
 * there. */
#if defined(__x86_64__)

#include <immintrin.h>

#include "../nn.h"
#include "../nn_attrs.h"
#include "../variant.h"
#include "x86.h"

#define PIX_CHUNK 96                   /* output pixels per epilogue chunk: 6, 8 and 16 divide it */
#define BAND_BUDGET ((size_t)512 << 10) /* bytes of packed data rows per band */
#define SCRATCH_CAP ((uint64_t)64 << 20) /* larger instances run the reference */
#define WIDTH_CAP ((uint64_t)1 << 20)   /* wider rows or taller windows: the reference */
#define DIRECT_BUDGET ((size_t)256 << 10) /* bytes of widened int8 data rows per direct band */

/* The epilogue of CONV2D_SHIFT, as lane parameters (see the top). */
typedef struct {
    int on;
    uint32_t shift;             /* shift_bit - 1 */
    int32_t lo, hi;             /* the shift's clip */
    int32_t act_lo, act_hi;     /* the activation's clip: the whole int32 range without one */
} conv_epi;

/* The differences between the two instruction sets, for the shared driver. */
typedef struct conv_isa conv_isa;

typedef struct {
    const conv_isa *isa;
    int direct;
    size_t batch, in_c, in_h, in_w, out_c, out_h, out_w, kh, kw;
    size_t groups, in_pg, out_pg;
    size_t sh, sw, dh, dw, pt, pl;
    size_t win_h;        /* (kh - 1) * dh + 1: padded data rows one output row reads */
    size_t wp;           /* (out_w - 1) * sw + (kw - 1) * dw + 1: padded columns the outputs read */
    size_t band;         /* output rows per band */
    size_t band_rows;    /* padded data rows of a band: (band - 1) * sh + win_h */
    /* packed path */
    size_t row_bytes;    /* one packed data row: wp * in_pg * elem */
    size_t n_seg;        /* contiguous runs of one pixel's window: kh, or kh * kw when dw > 1 */
    size_t seg_len;      /* elements per run: kw * in_pg, or in_pg */
    size_t seg_units;    /* 32-bit steps per run: seg_len rounded up to the unit */
    size_t k_units;      /* n_seg * seg_units */
    size_t kp;           /* k_units * unit: packed weight elements per output channel */
    size_t kps;          /* kp rounded up to 16: the stride of the weight packers' rows */
    size_t ocp;          /* out_pg rounded up to the lanes */
    /* scratch layout, byte offsets from the 64-aligned base */
    size_t off_w, off_corr, off_kidx, off_wtmp, off_uoff, off_x, off_bad, off_px, off_yt;
    size_t total;
    /* the one-time packing (dv_variant_packing): per group, the packed weights, their
     * corrections and a flag (nonzero: they fit), then the packer's temporaries */
    size_t group_bytes, packed_bytes, off_pw, off_pcorr, off_pok, off_pkidx, off_pwtmp;
    /* the exact fallback (packed path): the data rows of one output row, its outputs */
    size_t off_fwin, off_frow;
    /* the direct path with int8 data: output rows per widened band (scratch at 0) */
    size_t direct_band;
    conv_epi epi;
} conv_plan;

typedef struct {
    const conv_plan *p;
    const dv_attrs *attrs;
    const dv_tensor *in;
    dv_tensor *out;
    const int8_t *x8;    /* the data when stored as int8, else NULL */
    int32_t *y32;        /* the output, int32 or int8 */
    int8_t *y8;
    /* the direct path's data: channel ch of the current group, row ih at
     * xsrc + ch * xcs + (ih - xorigin) * in_w; the rows widened into scratch are recorded */
    const int32_t *xsrc;
    size_t xcs;
    int64_t xorigin;
    size_t band_ng;      /* n * groups + g of the widened rows [band_lo, band_hi), or SIZE_MAX */
    int64_t band_lo, band_hi;
    uint8_t *base;       /* 64-aligned scratch */
    /* the weight packer's temporaries: source indices (kps) and rows (lanes x kps) */
    int32_t *kidx;
    uint8_t *wtmp;
    /* the current group's packed weights and per-channel corrections (VNNI: -128 * sum(w)) */
    const uint8_t *w;
    const uint32_t *wcorr;
} conv_ctx;

struct conv_isa {
    size_t unit, elem, lanes, oc_tile;
    /* Packs group g's weights into w and their per-channel corrections into wcorr (c->kidx
     * ready); 0 when a weight does not fit. */
    int (*pack_weights)(const conv_ctx *c, size_t g, uint8_t *w, uint32_t *wcorr);
    /* Packs padded rows [pr0, pr0 + rows) of (n, g); sets bad[r] for a data row that does
     * not fit. */
    void (*pack_rows)(const conv_ctx *c, size_t n, size_t g, size_t pr0, size_t rows);
    /* Output rows [r0, r1) of (n, g) from the packed band starting at padded row pr0. */
    void (*gemm_rows)(const conv_ctx *c, size_t n, size_t g, size_t pr0, size_t r0, size_t r1);
    /* Output rows [r0, r1) of plane (n, o), on the direct path. */
    void (*direct_rows)(const conv_ctx *c, size_t n, size_t o, size_t r0, size_t r1);
};

static size_t round_up(size_t v, size_t m)
{
    return (v + m - 1) / m * m;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- the plan: geometry and scratch layout ------------------------------------------------ */

/* The epilogue's lane parameters from CONV2D_SHIFT's attributes (none for CONV2D); 0 when
 * they are not what infer accepts. */
static int epilogue_of(const dv_attrs *attrs, conv_epi *e)
{
    memset(e, 0, sizeof *e);
    if (attrs->n == CONV_N_ATTRS)
        return 1;
    const int32_t *v = attrs->v + CONV_N_ATTRS;
    if (attrs->n != CONV_N_ATTRS + EPI_N_ATTRS || !dv_epilogue_valid(v))
        return 0;
    const int32_t alpha = (int32_t)(((int64_t)1 << (v[EPI_PRECISION] - 1)) - 1);
    e->on = 1;
    e->shift = (uint32_t)v[EPI_SHIFT_BIT] - 1;
    e->lo = -alpha;
    e->hi = alpha;
    e->act_lo = INT32_MIN;
    e->act_hi = INT32_MAX;
    if (v[EPI_ACT] == DV_OP_RELU) {
        e->act_lo = 0;
    } else if (v[EPI_ACT] == DV_OP_CLIP) {
        e->act_lo = v[EPI_ACT_A];
        e->act_hi = v[EPI_ACT_B];
    } else if (v[EPI_ACT] == DV_OP_CVM_CLIP) {
        e->act_hi = (int32_t)(((int64_t)1 << (v[EPI_ACT_A] - 1)) - 1);
        e->act_lo = -e->act_hi;
    }
    return 1;
}

static int make_plan(const conv_isa *isa, const dv_attrs *attrs, const dv_shape *in,
                     conv_plan *p)
{
    const int32_t *a = attrs->v;
    memset(p, 0, sizeof *p);
    if (!epilogue_of(attrs, &p->epi))
        return 0;
    p->isa = isa;
    p->batch = in[0].dim[0];
    p->in_c = in[0].dim[1];
    p->in_h = in[0].dim[2];
    p->in_w = in[0].dim[3];
    p->out_c = in[1].dim[0];
    p->kh = in[1].dim[2];
    p->kw = in[1].dim[3];
    p->groups = (size_t)a[CONV_GROUPS];
    p->in_pg = in[1].dim[1];
    p->out_pg = p->out_c / p->groups;
    p->sh = (size_t)a[CONV_STRIDE_H];
    p->sw = (size_t)a[CONV_STRIDE_W];
    p->dh = (size_t)a[CONV_DILATION_H];
    p->dw = (size_t)a[CONV_DILATION_W];
    p->pt = (size_t)a[CONV_PAD_TOP];
    p->pl = (size_t)a[CONV_PAD_LEFT];
    uint64_t win_h = (uint64_t)(p->kh - 1) * p->dh + 1;
    uint64_t win_w = (uint64_t)(p->kw - 1) * p->dw + 1;
    uint64_t padded_h = (uint64_t)p->in_h + p->pt + (uint64_t)a[CONV_PAD_BOTTOM];
    uint64_t padded_w = (uint64_t)p->in_w + p->pl + (uint64_t)a[CONV_PAD_RIGHT];
    if (win_h > padded_h || win_w > padded_w)
        return 0;
    p->out_h = (size_t)((padded_h - win_h) / p->sh + 1);
    p->out_w = (size_t)((padded_w - win_w) / p->sw + 1);
    uint64_t wp = (uint64_t)(p->out_w - 1) * p->sw + win_w;
    if (wp > WIDTH_CAP || win_h > WIDTH_CAP || p->pl > WIDTH_CAP || p->pt > WIDTH_CAP)
        return 0; /* so that every coordinate below fits 32 bits */
    p->win_h = (size_t)win_h;
    p->wp = (size_t)wp;
    p->direct = p->out_pg * 2 < isa->lanes;
    if (p->direct) {
        /* scratch: the widened int8 data rows of a band of output rows */
        uint64_t row_bytes = (uint64_t)p->in_pg * p->in_w * 4;
        if (row_bytes > SCRATCH_CAP || row_bytes * p->win_h > SCRATCH_CAP)
            return 0;
        size_t budget_rows = (size_t)(DIRECT_BUDGET / row_bytes);
        p->direct_band = budget_rows > p->win_h ? (budget_rows - p->win_h) / p->sh + 1 : 1;
        if (p->direct_band > p->out_h)
            p->direct_band = p->out_h;
        p->total = ((p->direct_band - 1) * p->sh + p->win_h) * (size_t)row_bytes + 64;
        return 1;
    }

    /* the band: as many output rows as fit the budget, at least one */
    uint64_t row_bytes = (uint64_t)p->wp * p->in_pg * isa->elem;
    if (row_bytes > SCRATCH_CAP || row_bytes * p->win_h > SCRATCH_CAP)
        return 0;
    size_t budget_rows = (size_t)(BAND_BUDGET / row_bytes);
    p->band = budget_rows > p->win_h ? (budget_rows - p->win_h) / p->sh + 1 : 1;
    if (p->band > p->out_h)
        p->band = p->out_h;
    p->band_rows = (p->band - 1) * p->sh + p->win_h;

    size_t off = 0, unit = isa->unit, elem = isa->elem;
    p->row_bytes = (size_t)row_bytes;
    if (p->dw == 1) {
        p->n_seg = p->kh;
        p->seg_len = p->kw * p->in_pg;
    } else {
        p->n_seg = p->kh * p->kw;
        p->seg_len = p->in_pg;
    }
    p->seg_units = (p->seg_len + unit - 1) / unit;
    p->k_units = p->n_seg * p->seg_units;
    p->kp = p->k_units * unit;
    p->kps = round_up(p->kp, 16);
    p->ocp = round_up(p->out_pg, isa->lanes);
    if ((uint64_t)p->ocp * p->kp * elem > SCRATCH_CAP)
        return 0;
    p->off_w = off;
    off += round_up(p->ocp * p->kp * elem, 64);
    p->off_corr = off;
    off += round_up(p->ocp * 4, 64);
    p->off_kidx = off;
    off += p->kps * 4;
    p->off_wtmp = off;
    off += round_up(isa->lanes * p->kps * elem, 64);
    p->off_uoff = off;
    off += round_up(p->k_units * 4, 64);
    p->off_x = off;
    off += round_up(p->band_rows * p->row_bytes + 64, 64);
    p->off_bad = off;
    off += round_up(p->band_rows, 64);
    p->off_px = off;
    off += round_up(PIX_CHUNK * sizeof(size_t), 64);
    p->off_yt = off;
    off += (size_t)PIX_CHUNK * isa->oc_tile * 4;
    uint64_t fwin = (uint64_t)p->in_pg * p->win_h * p->in_w * 4;
    uint64_t frow = (uint64_t)p->out_pg * p->out_w * 4;
    if (fwin > SCRATCH_CAP || frow > SCRATCH_CAP)
        return 0;
    p->off_fwin = off;
    off += round_up((size_t)fwin, 64);
    p->off_frow = off;
    off += round_up((size_t)frow, 64);
    p->total = off;

    size_t wbytes = round_up(p->ocp * p->kp * isa->elem, 64), cbytes = round_up(p->ocp * 4, 64);
    p->off_pw = 0;
    p->off_pcorr = wbytes;
    p->off_pok = wbytes + cbytes;
    p->group_bytes = wbytes + cbytes + 64;
    p->off_pkidx = p->groups * p->group_bytes;
    p->off_pwtmp = p->off_pkidx + p->kps * 4;
    p->packed_bytes = p->off_pwtmp + round_up(isa->lanes * p->kps * isa->elem, 64);
    return p->total <= SCRATCH_CAP;
}

/* ---- the driver ----------------------------------------------------------------------------- */

/* Rows [r0, r1) of (n, g) by the reference, for every output channel of the group.
 *
 * One output row at a time: the win_h data rows its window spans are copied (widened from
 * int8) into scratch as a (1, in_pg, win_h, in_w) tensor, the rows in the padding as zeros,
 * and the reference computes the group's channels of that row on it as a convolution with one
 * group, no vertical padding and one output row: output row 0 there reads window row
 * kh * dilation_h, which is data row r * stride_h - pad_top + kh * dilation_h here, and a zero
 * row adds 0 * w = 0, which is what leaving a padding tap out adds. Then the reference epilogue,
 * and the store (saturated to int8 when the output is int8). */
static void fallback_rows(const conv_ctx *c, size_t n, size_t g, size_t r0, size_t r1)
{
    const conv_plan *p = c->p;
    int32_t *win = (int32_t *)(void *)(c->base + p->off_fwin);
    int32_t *row = (int32_t *)(void *)(c->base + p->off_frow);
    int32_t a[CONV_N_ATTRS];
    memcpy(a, c->attrs->v, sizeof a);
    a[CONV_CHANNELS] = (int32_t)p->out_pg;
    a[CONV_STRIDE_H] = 1;
    a[CONV_PAD_TOP] = 0;
    a[CONV_PAD_BOTTOM] = 0;
    a[CONV_GROUPS] = 1;
    const dv_attrs attrs = {a, CONV_N_ATTRS};
    const size_t taps = p->in_pg * p->kh * p->kw, plane = p->in_h * p->in_w;
    const int use_bias = c->attrs->v[CONV_USE_BIAS] != 0;
    dv_tensor in[3] = {
        {win, {4, {1, (uint32_t)p->in_pg, (uint32_t)p->win_h, (uint32_t)p->in_w}}, 0},
        {c->in[1].data + g * p->out_pg * taps,
         {4, {(uint32_t)p->out_pg, (uint32_t)p->in_pg, (uint32_t)p->kh, (uint32_t)p->kw}}, 0},
        {use_bias ? c->in[2].data + g * p->out_pg : 0, {1, {(uint32_t)p->out_pg}}, 0}};
    dv_tensor out = {row, {4, {1, (uint32_t)p->out_pg, 1, (uint32_t)p->out_w}}, 0};
    const int32_t *epilogue = p->epi.on ? c->attrs->v + CONV_N_ATTRS : 0;
    for (size_t r = r0; r < r1; r++) {
        for (size_t ch = 0; ch < p->in_pg; ch++) {
            const size_t first = (n * p->in_c + g * p->in_pg + ch) * plane;
            for (size_t k = 0; k < p->win_h; k++) {
                int32_t *dst = win + (ch * p->win_h + k) * p->in_w;
                const int64_t ih = (int64_t)(r * p->sh + k) - (int64_t)p->pt;
                if (ih < 0 || ih >= (int64_t)p->in_h)
                    memset(dst, 0, p->in_w * sizeof *dst);
                else if (c->x8)
                    dv_widen_i8(c->x8 + first + (size_t)ih * p->in_w, dst, p->in_w);
                else
                    memcpy(dst, c->in[0].data + first + (size_t)ih * p->in_w,
                           p->in_w * sizeof *dst);
            }
        }
        for (size_t o = 0; o < p->out_pg; o++)
            dv_conv2d_ref_rows(&attrs, in, &out, 0, o, 0, 1);
        if (epilogue)
            dv_epilogue_ref(epilogue, row, p->out_pg * p->out_w);
        for (size_t o = 0; o < p->out_pg; o++) {
            const size_t at = ((n * p->out_c + g * p->out_pg + o) * p->out_h + r) * p->out_w;
            if (c->y8)
                dv_narrow_i8(row + o * p->out_w, c->y8 + at, p->out_w);
            else
                memcpy(c->y32 + at, row + o * p->out_w, p->out_w * sizeof *row);
        }
    }
}

/* Output rows [r0, r1) of (n, g) on the packed path, band by band. */
static void packed_rows(const conv_ctx *c, size_t n, size_t g, size_t r0, size_t r1)
{
    const conv_plan *p = c->p;
    const uint8_t *bad = c->base + p->off_bad;
    for (size_t b0 = r0; b0 < r1; b0 += p->band) {
        size_t b1 = min_size(r1, b0 + p->band);
        size_t pr0 = b0 * p->sh, rows = (b1 - 1 - b0) * p->sh + p->win_h;
        p->isa->pack_rows(c, n, g, pr0, rows);
        /* maximal runs of output rows whose windows read only rows that fit */
        size_t run = b0;
        for (size_t r = b0; r <= b1; r++) {
            int ok = 0;
            if (r < b1) {
                ok = 1;
                for (size_t k = 0; k < p->kh && ok; k++)
                    ok = !bad[(r - b0) * p->sh + k * p->dh];
            }
            if (ok)
                continue;
            if (run < r)
                p->isa->gemm_rows(c, n, g, pr0, run, r);
            if (r < b1)
                fallback_rows(c, n, g, r, r + 1);
            run = r + 1;
        }
    }
}

/* The source index, in a weight row, of every packed weight element (-1: zero padding). */
static void weight_indices(const conv_plan *p, int32_t *kidx)
{
    size_t run_elems = p->seg_units * p->isa->unit;
    for (size_t k = 0; k < p->kps; k++) {
        size_t s = k / run_elems, e = k % run_elems, kh, kw, ch;
        if (k >= p->kp || e >= p->seg_len) {
            kidx[k] = -1;
            continue;
        }
        if (p->dw == 1) {
            kh = s;
            kw = e / p->in_pg;
            ch = e % p->in_pg;
        } else {
            kh = s / p->kw;
            kw = s % p->kw;
            ch = e;
        }
        kidx[k] = (int32_t)((ch * p->kh + kh) * p->kw + kw);
    }
}

/* Items [begin, end) on the packed path, with the weights packed once ahead (`packed`, from
 * conv_pack) or, when packed is NULL, per group here. */
static void packed_run(conv_ctx *c, uint64_t begin, uint64_t end, const uint8_t *packed)
{
    const conv_plan *p = c->p;
    /* the packed-band byte offset of every 32-bit step, from the pixel's window origin
     * (below SCRATCH_CAP: it fits 32 bits) */
    uint32_t *uoff = (uint32_t *)(void *)(c->base + p->off_uoff);
    for (size_t u = 0; u < p->k_units; u++) {
        size_t s = u / p->seg_units, j = u % p->seg_units;
        size_t kh = p->dw == 1 ? s : s / p->kw, kw = p->dw == 1 ? 0 : s % p->kw;
        uoff[u] = (uint32_t)(kh * p->dh * p->row_bytes + kw * p->dw * p->in_pg * p->isa->elem +
                             4 * j);
    }
    if (!packed) {
        c->kidx = (int32_t *)(void *)(c->base + p->off_kidx);
        c->wtmp = c->base + p->off_wtmp;
        weight_indices(p, c->kidx);
    }

    size_t packed_g = SIZE_MAX;
    int weights_ok = 0;
    for (uint64_t i = begin; i < end;) {
        size_t r0 = (size_t)(i % p->out_h), ng = (size_t)(i / p->out_h);
        size_t n = ng / p->groups, g = ng % p->groups;
        size_t r1 = (size_t)min_size(p->out_h, r0 + (size_t)(end - i));
        if (g != packed_g) {
            if (packed) {
                const uint8_t *group = packed + g * p->group_bytes;
                c->w = group + p->off_pw;
                c->wcorr = (const uint32_t *)(const void *)(group + p->off_pcorr);
                weights_ok = group[p->off_pok];
            } else {
                uint8_t *w = c->base + p->off_w;
                uint32_t *wcorr = (uint32_t *)(void *)(c->base + p->off_corr);
                weights_ok = p->isa->pack_weights(c, g, w, wcorr);
                c->w = w;
                c->wcorr = wcorr;
            }
            packed_g = g;
        }
        if (weights_ok)
            packed_rows(c, n, g, r0, r1);
        else
            fallback_rows(c, n, g, r0, r1);
        i += r1 - r0;
    }
}

/* Points the direct path's data source at group g of batch n for output rows [r0, r1): the
 * int32 data in place, or the data rows those outputs read, widened from int8 into scratch
 * (kept while the next rows need no others). */
static void direct_source(conv_ctx *c, size_t n, size_t g, size_t r0, size_t r1)
{
    const conv_plan *p = c->p;
    const size_t plane = p->in_h * p->in_w, first = (n * p->in_c + g * p->in_pg) * plane;
    if (!c->x8) {
        c->xsrc = c->in[0].data + first;
        c->xcs = plane;
        c->xorigin = 0;
        return;
    }
    int64_t lo = (int64_t)(r0 * p->sh) - (int64_t)p->pt;
    int64_t hi = (int64_t)((r1 - 1) * p->sh + p->win_h) - (int64_t)p->pt;
    lo = lo < 0 ? 0 : lo;
    hi = hi > (int64_t)p->in_h ? (int64_t)p->in_h : hi;
    hi = hi < lo ? lo : hi;
    const size_t ng = n * p->groups + g;
    if (c->band_ng == ng && c->band_lo <= lo && hi <= c->band_hi)
        return;
    int32_t *dst = (int32_t *)(void *)c->base;
    const size_t count = (size_t)(hi - lo) * p->in_w;
    for (size_t ch = 0; ch < p->in_pg; ch++)
        dv_widen_i8(c->x8 + first + ch * plane + (size_t)lo * p->in_w, dst + ch * count, count);
    c->xsrc = dst;
    c->xcs = count;
    c->xorigin = lo;
    c->band_ng = ng;
    c->band_lo = lo;
    c->band_hi = hi;
}

static void direct_run(conv_ctx *c, uint64_t begin, uint64_t end)
{
    const conv_plan *p = c->p;
    c->band_ng = SIZE_MAX;
    for (uint64_t i = begin; i < end;) {
        size_t r0 = (size_t)(i % p->out_h), no = (size_t)(i / p->out_h);
        size_t r1 = (size_t)min_size(p->out_h, r0 + (size_t)(end - i));
        size_t n = no / p->out_c, o = no % p->out_c;
        for (size_t b0 = r0; b0 < r1; b0 += c->x8 ? p->direct_band : r1 - r0) {
            size_t b1 = min_size(r1, b0 + (c->x8 ? p->direct_band : r1 - r0));
            direct_source(c, n, o / p->out_pg, b0, b1);
            p->isa->direct_rows(c, n, o, b0, b1);
        }
        i += r1 - r0;
    }
}

static int conv_accepts(const conv_isa *isa, const dv_attrs *attrs, uint32_t n_in,
                        const dv_shape *in)
{
    conv_plan p;
    return n_in >= 2 && make_plan(isa, attrs, in, &p);
}

static uint64_t conv_items(const conv_isa *isa, const dv_attrs *attrs, uint32_t n_in,
                           const dv_shape *in)
{
    conv_plan p;
    if (!make_plan(isa, attrs, in, &p))
        return 1;
    return (uint64_t)p.batch * (p.direct ? p.out_c : p.groups) * p.out_h;
}

static uint64_t conv_scratch(const conv_isa *isa, const dv_attrs *attrs, uint32_t n_in,
                             const dv_shape *in)
{
    conv_plan p;
    if (!make_plan(isa, attrs, in, &p))
        return 0;
    return (p.total + 63) / 4 + 1;
}

static void conv_run(const conv_isa *isa, const dv_attrs *attrs, const dv_tensor *in,
                     dv_tensor *out, const uint8_t *packed, int32_t *scratch, uint64_t begin,
                     uint64_t end)
{
    dv_shape shapes[3];
    for (int i = 0; i < 2 + (attrs->v[CONV_USE_BIAS] != 0); i++)
        shapes[i] = in[i].shape;
    conv_plan p;
    if (!make_plan(isa, attrs, shapes, &p))
        return; /* not reached: accepts said yes */
    conv_ctx c = {.p = &p, .attrs = attrs, .in = in, .out = out, .x8 = in[0].i8,
                  .y32 = out[0].data, .y8 = out[0].i8, .band_ng = SIZE_MAX,
                  .base = (uint8_t *)dv_align64(scratch)};
    if (p.direct)
        direct_run(&c, begin, end);
    else
        packed_run(&c, begin, end, packed);
}

/* The one-time packing: every group's weights as the run would pack them, for
 * dv_variant_packing (ops/variant.h). It reads only the weight (input 1). */
static uint64_t conv_packed_size(const conv_isa *isa, const dv_attrs *attrs, uint32_t n_in,
                                 const dv_shape *in)
{
    conv_plan p;
    if (n_in < 2 || !make_plan(isa, attrs, in, &p) || p.direct)
        return 0;
    return p.packed_bytes;
}

static void conv_pack(const conv_isa *isa, const dv_attrs *attrs, uint32_t n_in,
                      const dv_tensor *in, void *packed)
{
    dv_shape shapes[3];
    for (uint32_t i = 0; i < n_in && i < 3; i++)
        shapes[i] = in[i].shape;
    conv_plan p;
    if (n_in < 2 || !make_plan(isa, attrs, shapes, &p) || p.direct)
        return;
    uint8_t *base = packed;
    conv_ctx c = {.p = &p, .attrs = attrs, .in = in,
                  .kidx = (int32_t *)(void *)(base + p.off_pkidx), .wtmp = base + p.off_pwtmp};
    weight_indices(&p, c.kidx);
    for (size_t g = 0; g < p.groups; g++) {
        uint8_t *group = base + g * p.group_bytes;
        memset(group + p.off_pok, 0, 64);
        group[p.off_pok] = (uint8_t)isa->pack_weights(&c, g, group + p.off_pw,
                                                      (uint32_t *)(void *)(group + p.off_pcorr));
    }
}

/* The per-output-channel start value: the bias, 0 without. */
static uint32_t bias_of(const conv_ctx *c, size_t o)
{
    return c->attrs->v[CONV_USE_BIAS] ? (uint32_t)c->in[2].data[o] : 0;
}

/* Lanes [lo, hi) of `lanes` (clamped), as a bit mask. */
static uint32_t lane_range(int64_t lo, int64_t hi, int64_t lanes)
{
    lo = lo < 0 ? 0 : lo;
    hi = hi > lanes ? lanes : hi;
    if (hi <= lo)
        return 0;
    uint32_t below_hi = hi >= 32 ? 0xffffffffu : (1u << hi) - 1;
    return below_hi & ~((1u << lo) - 1);
}

/* The address of row[col], col possibly outside the row: for masked loads, which touch only
 * the lanes inside it. Formed in integers, as C has no pointer outside an array. */
static const int32_t *column(const int32_t *row, int64_t col)
{
    return (const int32_t *)(uintptr_t)((uintptr_t)row + (uintptr_t)col * 4u);
}

/* Fills px[0..PIX_CHUNK) with the packed-band byte offsets of output pixels q0.. (plane
 * index), repeating the last of the np real ones. */
static void pixel_offsets(const conv_plan *p, size_t *px, size_t pr0, size_t q0, size_t np)
{
    size_t oh = q0 / p->out_w, ow = q0 % p->out_w, pixel = p->in_pg * p->isa->elem;
    for (size_t i = 0; i < np; i++) {
        px[i] = ((oh * p->sh - pr0) * p->wp + ow * p->sw) * pixel;
        if (++ow == p->out_w) {
            ow = 0;
            oh++;
        }
    }
    for (size_t i = np; i < PIX_CHUNK; i++)
        px[i] = px[np - 1];
}

/* ---- AVX-512 VNNI -------------------------------------------------------------------------- */

/* The 16x16 transpose of 32-bit elements: r[i][j] -> r[j][i]. */
DV_TARGET_VNNI DV_INLINE void vnni_transpose16(__m512i r[16])
{
    __m512i t[16], u[16];
    DV_UNROLL for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    DV_UNROLL for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* u[4a + j] holds, in 128-bit lane L, column 4L + j of rows 4a..4a+3 */
    DV_UNROLL for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
        t[4 + j] = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
        t[8 + j] = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
    }
    DV_UNROLL for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
        r[4 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
        r[12 + j] = _mm512_shuffle_i32x4(t[4 + j], t[12 + j], 0xdd);
    }
}

DV_TARGET_VNNI DV_INLINE __m512i vnni_epilogue(const conv_epi *e, __m512i x)
{
    if (!e->on)
        return x;
    x = _mm512_sra_epi32(x, _mm_cvtsi32_si128((int)e->shift));
    x = _mm512_srai_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(1)), 1);
    x = _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(e->lo)), _mm512_set1_epi32(e->hi));
    return _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(e->act_lo)),
                            _mm512_set1_epi32(e->act_hi));
}

/* Output elements [at, at + 16) where m is set: the epilogue, then int32 or saturated int8. */
DV_TARGET_VNNI DV_INLINE void vnni_store(const conv_ctx *c, size_t at, __mmask16 m, __m512i v)
{
    v = vnni_epilogue(&c->p->epi, v);
    if (c->y8)
        _mm512_mask_cvtsepi32_storeu_epi8(c->y8 + at, m, v);
    else
        _mm512_mask_storeu_epi32(c->y32 + at, m, v);
}

DV_TARGET_VNNI static int vnni_pack_weights(const conv_ctx *c, size_t g, uint8_t *wpack,
                                            uint32_t *corr)
{
    const conv_plan *p = c->p;
    const int32_t *kidx = c->kidx;
    uint8_t *wtmp = c->wtmp;
    size_t k_all = p->in_pg * p->kh * p->kw;
    __m512i high = _mm512_setzero_si512();
    for (size_t ob = 0; ob < p->ocp / 16; ob++) {
        for (size_t l = 0; l < 16; l++) {
            size_t oc = ob * 16 + l;
            uint8_t *row = wtmp + l * p->kps;
            if (oc >= p->out_pg) {
                memset(row, 0, p->kps);
                corr[oc] = 0;
                continue;
            }
            const int32_t *src = c->in[1].data + (g * p->out_pg + oc) * k_all;
            __m512i sum = _mm512_setzero_si512();
            for (size_t k = 0; k < p->kps; k += 16) {
                __m512i idx = _mm512_loadu_si512(kidx + k);
                __mmask16 valid = _mm512_cmpge_epi32_mask(idx, _mm512_setzero_si512());
                __m512i w = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, idx, src, 4);
                high = _mm512_or_si512(high, _mm512_add_epi32(w, _mm512_set1_epi32(128)));
                sum = _mm512_add_epi32(sum, w);
                _mm_storeu_si128((__m128i *)(void *)(row + k), _mm512_cvtepi32_epi8(w));
            }
            uint32_t lanes[16], wsum = 0;
            _mm512_storeu_si512(lanes, sum);
            for (int i = 0; i < 16; i++)
                wsum += lanes[i];
            corr[oc] = 0u - 128u * wsum;
        }
        /* [lane][k] -> [k / 4][lane][k % 4] */
        __m512i rows = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                            11, 12, 13, 14, 15),
                                          _mm512_set1_epi32((int)(p->kps / 4)));
        uint8_t *dst = wpack + ob * p->k_units * 64;
        for (size_t u = 0; u < p->k_units; u++) {
            __m512i idx = _mm512_add_epi32(rows, _mm512_set1_epi32((int)u));
            _mm512_storeu_si512(dst + u * 64, _mm512_i32gather_epi32(idx, wtmp, 4));
        }
    }
    return !_mm512_test_epi32_mask(high, _mm512_set1_epi32(~0xff));
}

DV_TARGET_VNNI static void vnni_pack_rows(const conv_ctx *c, size_t n, size_t g, size_t pr0,
                                          size_t rows)
{
    const conv_plan *p = c->p;
    uint8_t *dst = c->base + p->off_x, *bad = c->base + p->off_bad;
    size_t ipg = p->in_pg;
    for (size_t r = 0; r < rows; r++) {
        uint8_t *d = dst + r * p->row_bytes;
        size_t pr = pr0 + r;
        bad[r] = 0;
        if (pr < p->pt || pr - p->pt >= p->in_h) {
            memset(d, 128, p->row_bytes);
            continue;
        }
        size_t ih = pr - p->pt;
        size_t left = min_size(p->pl, p->wp);
        size_t count = p->wp > p->pl ? min_size(p->in_w, p->wp - p->pl) : 0;
        memset(d, 128, left * ipg);
        memset(d + (left + count) * ipg, 128, (p->wp - left - count) * ipg);
        uint32_t high = 0;
        size_t plane_size = p->in_h * p->in_w;
        const size_t at = (n * p->in_c + g * ipg) * plane_size + ih * p->in_w;
        const int32_t *plane = c->x8 ? NULL : c->in[0].data + at;
        const int8_t *plane8 = c->x8 ? c->x8 + at : NULL;
        uint8_t *dd = d + left * ipg;
        size_t ch = 0;
        /* 16 channels x 16 pixels at a time: transposed, then one pixel's 16 bytes a store */
        __m512i high16 = _mm512_setzero_si512(), offset = _mm512_set1_epi32(128);
        for (; ch + 16 <= ipg; ch += 16) {
            for (size_t iw = 0; iw < count; iw += 16) {
                size_t valid = min_size(16, count - iw);
                __mmask16 m = (__mmask16)((1u << valid) - 1);
                __m512i t[16];
                if (plane8) {
                    DV_UNROLL for (int k = 0; k < 16; k++) t[k] = _mm512_cvtepi8_epi32(
                        _mm_maskz_loadu_epi8(m, plane8 + (ch + (size_t)k) * plane_size + iw));
                } else {
                    DV_UNROLL for (int k = 0; k < 16; k++) t[k] = _mm512_maskz_loadu_epi32(
                        m, plane + (ch + (size_t)k) * plane_size + iw);
                }
                vnni_transpose16(t);
                for (size_t k = 0; k < valid; k++) {
                    __m512i v = _mm512_add_epi32(t[k], offset);
                    high16 = _mm512_or_si512(high16, v);
                    _mm_storeu_si128((__m128i *)(void *)(dd + (iw + k) * ipg + ch),
                                     _mm512_cvtepi32_epi8(v));
                }
            }
        }
        for (; ch < ipg; ch++) {
            for (size_t iw = 0; iw < count; iw++) {
                int32_t x = plane8 ? plane8[ch * plane_size + iw] : plane[ch * plane_size + iw];
                uint32_t v = (uint32_t)x + 128u;
                high |= v;
                dd[iw * ipg + ch] = (uint8_t)v;
            }
        }
        bad[r] = (high & ~0xffu) != 0 ||
                 _mm512_test_epi32_mask(high16, _mm512_set1_epi32(~0xff)) != 0;
    }
    memset(dst + rows * p->row_bytes, 128, 64); /* read by runs rounded up to 4 bytes */
}

/* NOC blocks of 16 output channels by B pixels: adds steps [0, nu) of the packed weights w
 * (block stride wstride) times the pixels' data at xp + uoff[u] to the sums in yt
 * ([pixel][64 channels]), which start at 0 when `first`. */
#define VNNI_TILE(NOC, B)                                                                          \
    DV_TARGET_VNNI static void vnni_tile_##NOC##x##B(const uint8_t *x, const size_t *px,           \
                                                      const uint8_t *w, size_t wstride,            \
                                                      const uint32_t *uoff, size_t nu,             \
                                                      int32_t *yt, int first)                      \
    {                                                                                              \
        __m512i acc[NOC][B];                                                                       \
        const uint8_t *xp[B];                                                                      \
        DV_UNROLL for (int i = 0; i < B; i++) {                                                    \
            xp[i] = x + px[i];                                                                     \
            DV_UNROLL for (int b = 0; b < NOC; b++)                                                \
                acc[b][i] = _mm512_setzero_si512();                                                \
        }                                                                                          \
        for (size_t u = 0; u < nu; u++, w += 64) {                                                 \
            size_t off = uoff[u];                                                                  \
            __m512i wv[NOC];                                                                       \
            DV_UNROLL for (int b = 0; b < NOC; b++)                                                \
                wv[b] = _mm512_loadu_si512(w + b * wstride);                                       \
            DV_UNROLL for (int i = 0; i < B; i++) {                                                \
                __m512i xv = _mm512_set1_epi32(dv_load32(xp[i] + off));                            \
                DV_UNROLL for (int b = 0; b < NOC; b++)                                            \
                    acc[b][i] = _mm512_dpbusd_epi32(acc[b][i], xv, wv[b]);                         \
            }                                                                                      \
        }                                                                                          \
        if (first) {                                                                               \
            DV_UNROLL for (int i = 0; i < B; i++)                                                  \
                DV_UNROLL for (int b = 0; b < NOC; b++)                                            \
                    _mm512_storeu_si512(yt + i * 64 + b * 16, acc[b][i]);                          \
        } else {                                                                                   \
            DV_UNROLL for (int i = 0; i < B; i++)                                                  \
                DV_UNROLL for (int b = 0; b < NOC; b++)                                            \
                    _mm512_storeu_si512(                                                           \
                        yt + i * 64 + b * 16,                                                      \
                        _mm512_add_epi32(acc[b][i], _mm512_loadu_si512(yt + i * 64 + b * 16)));    \
        }                                                                                          \
    }

VNNI_TILE(4, 6)
VNNI_TILE(4, 5)
VNNI_TILE(4, 4)
VNNI_TILE(4, 3)
VNNI_TILE(4, 2)
VNNI_TILE(4, 1)
VNNI_TILE(3, 8)
VNNI_TILE(2, 8)
VNNI_TILE(1, 8)

typedef void (*vnni_tile_fn)(const uint8_t *x, const size_t *px, const uint8_t *w,
                             size_t wstride, const uint32_t *uoff, size_t nu, int32_t *yt,
                             int first);

#define VNNI_KC 64 /* steps per K block: 4 x 64 x 64 bytes of weights stay in L1 */

DV_TARGET_VNNI static void vnni_gemm_rows(const conv_ctx *c, size_t n, size_t g, size_t pr0,
                                          size_t r0, size_t r1)
{
    static const vnni_tile_fn tiles4[7] = {0, vnni_tile_4x1, vnni_tile_4x2, vnni_tile_4x3,
                                           vnni_tile_4x4, vnni_tile_4x5, vnni_tile_4x6};
    static const vnni_tile_fn tiles8[4] = {0, vnni_tile_1x8, vnni_tile_2x8, vnni_tile_3x8};
    const conv_plan *p = c->p;
    const uint8_t *x = c->base + p->off_x, *wpack = c->w;
    const uint32_t *corr = c->wcorr;
    const uint32_t *uoff = (const uint32_t *)(const void *)(c->base + p->off_uoff);
    size_t *px = (size_t *)(void *)(c->base + p->off_px);
    int32_t *yt = (int32_t *)(void *)(c->base + p->off_yt);
    size_t plane = p->out_h * p->out_w, wstride = p->k_units * 64;
    const int32_t *bias = c->attrs->v[CONV_USE_BIAS] ? c->in[2].data + g * p->out_pg : 0;
    const size_t y = (n * p->out_c + g * p->out_pg) * plane;
    for (size_t q0 = r0 * p->out_w; q0 < r1 * p->out_w; q0 += PIX_CHUNK) {
        size_t np = min_size(PIX_CHUNK, r1 * p->out_w - q0);
        pixel_offsets(p, px, pr0, q0, np);
        for (size_t ob = 0; ob < p->ocp; ob += 64) {
            size_t noc = min_size(4, (p->ocp - ob) / 16);
            const uint8_t *w = wpack + ob / 16 * wstride;
            for (size_t u0 = 0; u0 < p->k_units; u0 += VNNI_KC) {
                size_t nu = min_size(VNNI_KC, p->k_units - u0);
                for (size_t t = 0; t < np;) {
                    size_t b = noc == 4 ? min_size(6, np - t) : 8;
                    (noc == 4 ? tiles4[b] : tiles8[noc])(x, px + t, w + u0 * 64, wstride,
                                                         uoff + u0, nu, yt + t * 64, u0 == 0);
                    t += b;
                }
            }
            /* yt[pixel][channel] + start -> y[channel][pixel], 16 x 16 at a time */
            for (size_t b = 0; b < noc; b++) {
                size_t oc0 = ob + b * 16;
                if (oc0 >= p->out_pg)
                    break;
                /* the bias plus the correction; channels past out_pg are never stored */
                __mmask16 real = (__mmask16)lane_range(0, (int64_t)(p->out_pg - oc0), 16);
                __m512i start = _mm512_add_epi32(_mm512_loadu_si512(corr + oc0),
                                                 bias ? _mm512_maskz_loadu_epi32(real, bias + oc0)
                                                      : _mm512_setzero_si512());
                for (size_t i = 0; i < np; i += 16) {
                    __m512i r[16];
                    DV_UNROLL for (int k = 0; k < 16; k++)
                        r[k] = _mm512_add_epi32(
                            _mm512_loadu_si512(yt + (i + (size_t)k) * 64 + b * 16), start);
                    vnni_transpose16(r);
                    __mmask16 m = np - i >= 16 ? 0xffff : (__mmask16)((1u << (np - i)) - 1);
                    size_t count = min_size(16, p->out_pg - oc0);
                    for (size_t k = 0; k < count; k++)
                        vnni_store(c, y + (oc0 + k) * plane + q0 + i, m, r[k]);
                }
            }
        }
    }
}

/* Where one kernel column's taps come from, for 16 output columns: the first data column,
 * and the lanes of the load(s) inside the row (stride 1: one load; stride 2: two loads of
 * 16 columns whose even lanes are kept; larger strides: a gather). */
typedef struct {
    int64_t col;
    __mmask16 m0, m1;
} vnni_tap;

DV_TARGET_VNNI DV_INLINE vnni_tap vnni_tap_at(const conv_plan *p, int64_t col)
{
    int64_t w = (int64_t)p->in_w;
    vnni_tap t = {col, 0, 0};
    if (p->sw <= 2) {
        t.m0 = (__mmask16)lane_range(-col, w - col, 16);
        t.m1 = (__mmask16)lane_range(-col - 16, w - col - 16, 16);
    }
    return t;
}

DV_TARGET_VNNI DV_INLINE __m512i vnni_taps(const conv_plan *p, size_t sw, const int32_t *row,
                                           vnni_tap t)
{
    if (sw == 1)
        return _mm512_maskz_loadu_epi32(t.m0, column(row, t.col));
    if (sw == 2) {
        __m512i a = _mm512_maskz_loadu_epi32(t.m0, column(row, t.col));
        __m512i b = _mm512_maskz_loadu_epi32(t.m1, column(row, t.col + 16));
        __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                          28, 30);
        return _mm512_permutex2var_epi32(a, even, b);
    }
    __m512i cols = _mm512_add_epi32(
        _mm512_set1_epi32((int32_t)t.col),
        _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                           _mm512_set1_epi32((int32_t)p->sw)));
    __mmask16 m = _mm512_cmpge_epi32_mask(cols, _mm512_setzero_si512()) &
                  _mm512_cmplt_epi32_mask(cols, _mm512_set1_epi32((int32_t)p->in_w));
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, cols, row, 4);
}

#define DIRECT_KW 8 /* kernel columns whose taps are worked out once per call */

/* Output columns [ow0, ow0 + 16 * NV) of rows [r0, r1) of plane (n, o). */
#define VNNI_DIRECT(NV, SW)                                                                        \
    DV_TARGET_VNNI static void vnni_direct_##NV##_##SW(const conv_ctx *c, size_t n, size_t o,      \
                                                 size_t r0, size_t r1, size_t ow0)                 \
    {                                                                                              \
        const conv_plan *p = c->p;                                                                 \
        const size_t sw = SW ? SW : p->sw;                                                         \
        vnni_tap taps[DIRECT_KW][NV];                                                              \
        for (size_t kw = 0; SW && kw < p->kw; kw++)                                                \
            DV_UNROLL for (int v = 0; v < NV; v++) taps[kw][v] = vnni_tap_at(                      \
                p, (int64_t)((ow0 + 16 * (size_t)v) * p->sw + kw * p->dw) - (int64_t)p->pl);       \
        __m512i start = _mm512_set1_epi32((int)bias_of(c, o));                                     \
        for (size_t oh = r0; oh < r1; oh++) {                                                      \
            const int32_t *wo = c->in[1].data + o * p->in_pg * p->kh * p->kw;                      \
            __m512i acc[NV];                                                                       \
            DV_UNROLL for (int v = 0; v < NV; v++) acc[v] = start;                                 \
            for (size_t ch = 0; ch < p->in_pg; ch++) {                                             \
                const int32_t *x = c->xsrc + ch * c->xcs;                                          \
                for (size_t kh = 0; kh < p->kh; kh++, wo += p->kw) {                               \
                    int64_t ih = (int64_t)(oh * p->sh + kh * p->dh) - (int64_t)p->pt;              \
                    if (ih < 0 || ih >= (int64_t)p->in_h)                                          \
                        continue;                                                                  \
                    const int32_t *row = x + (size_t)(ih - c->xorigin) * p->in_w;                  \
                    for (size_t kw = 0; kw < p->kw; kw++) {                                        \
                        __m512i wv = _mm512_set1_epi32(wo[kw]);                                    \
                        DV_UNROLL for (int v = 0; v < NV; v++) {                                   \
                            vnni_tap t = SW ? taps[kw][v]                                          \
                                             : vnni_tap_at(p, (int64_t)((ow0 + 16 * (size_t)v) *   \
                                                                            p->sw +                \
                                                                        kw * p->dw) -              \
                                                                  (int64_t)p->pl);                 \
                            acc[v] = _mm512_add_epi32(                                             \
                                acc[v], _mm512_mullo_epi32(wv, vnni_taps(p, sw, row, t)));         \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            size_t y = ((n * p->out_c + o) * p->out_h + oh) * p->out_w;                            \
            DV_UNROLL for (int v = 0; v < NV; v++) vnni_store(                                     \
                c, y + ow0 + 16 * (size_t)v,                                                       \
                (__mmask16)lane_range(0, (int64_t)(p->out_w - ow0) - 16 * v, 16), acc[v]);         \
        }                                                                                          \
    }

VNNI_DIRECT(1, 1)
VNNI_DIRECT(2, 1)
VNNI_DIRECT(3, 1)
VNNI_DIRECT(4, 1)
VNNI_DIRECT(1, 2)
VNNI_DIRECT(2, 2)
VNNI_DIRECT(3, 2)
VNNI_DIRECT(4, 2)
VNNI_DIRECT(1, 0)
VNNI_DIRECT(2, 0)
VNNI_DIRECT(3, 0)
VNNI_DIRECT(4, 0)

typedef void (*vnni_direct_fn)(const conv_ctx *c, size_t n, size_t o, size_t r0, size_t r1,
                              size_t ow0);

#define FLAT_TAPS 16 /* kernel rows and columns whose masks the flat form keeps */

/* Whether the flat form applies and pays: strides 1 and out_w == in_w, so that output
 * q = oh * W + ow of a plane reads data element q + (kh * dh - pt) * W + kw * dw - pl, and a
 * run of output rows is one run of vectors whatever the width. It fills the lanes with rows
 * narrower than a vector (7 x 7, 14 x 14 planes); wider rows go faster row by row. */
static int flat_form(const conv_plan *p)
{
    return p->sh == 1 && p->sw == 1 && p->out_w == p->in_w && p->out_w < p->isa->lanes &&
           p->kh <= FLAT_TAPS && p->kw <= FLAT_TAPS;
}

/* Output rows [r0, r1) of plane (n, o) in the flat form, 16 outputs at a time: a lane's tap
 * is read when its data row and column are inside the data, which two masks per kernel row
 * and column tell. */
DV_TARGET_VNNI static void vnni_flat_rows(const conv_ctx *c, size_t n, size_t o, size_t r0,
                                          size_t r1)
{
    const conv_plan *p = c->p;
    const size_t w = p->in_w;
    const int32_t *x0 = c->xsrc;
    const int64_t origin = c->xorigin * (int64_t)w;
    const int32_t *w0 = c->in[1].data + o * p->in_pg * p->kh * p->kw;
    const size_t y = (n * p->out_c + o) * p->out_h * p->out_w;
    const __m512i width = _mm512_set1_epi32((int32_t)w);
    const __m512i height = _mm512_set1_epi32((int32_t)p->in_h);
    const __m512i start = _mm512_set1_epi32((int)bias_of(c, o));
    /* the output row and column of each lane, kept as q advances by 16 */
    __m512i ow = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i oh = _mm512_set1_epi32((int32_t)r0);
    const size_t q_end = r1 * w;
    for (size_t q0 = r0 * w; q0 < q_end; q0 += 16) {
        for (__mmask16 wrap; (wrap = _mm512_cmpge_epu32_mask(ow, width)) != 0;) {
            ow = _mm512_mask_sub_epi32(ow, wrap, ow, width);
            oh = _mm512_mask_add_epi32(oh, wrap, oh, _mm512_set1_epi32(1));
        }
        __mmask16 rows[FLAT_TAPS], cols[FLAT_TAPS];
        __mmask16 tail = (__mmask16)lane_range(0, (int64_t)(q_end - q0), 16);
        for (size_t kh = 0; kh < p->kh; kh++)
            rows[kh] = tail & _mm512_cmplt_epu32_mask(
                                  _mm512_add_epi32(oh, _mm512_set1_epi32((int32_t)(
                                                           kh * p->dh - p->pt))),
                                  height);
        for (size_t kw = 0; kw < p->kw; kw++)
            cols[kw] = _mm512_cmplt_epu32_mask(
                _mm512_add_epi32(ow, _mm512_set1_epi32((int32_t)(kw * p->dw - p->pl))), width);
        __m512i acc = start;
        const int32_t *wt = w0;
        for (size_t ch = 0; ch < p->in_pg; ch++) {
            const int32_t *x = x0 + ch * c->xcs;
            for (size_t kh = 0; kh < p->kh; kh++) {
                int64_t row = (int64_t)q0 + ((int64_t)(kh * p->dh) - (int64_t)p->pt) * (int64_t)w -
                              (int64_t)p->pl - origin;
                for (size_t kw = 0; kw < p->kw; kw++, wt++) {
                    __m512i xv = _mm512_maskz_loadu_epi32(
                        rows[kh] & cols[kw], column(x, row + (int64_t)(kw * p->dw)));
                    acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(*wt), xv));
                }
            }
        }
        vnni_store(c, y + q0, tail, acc);
        ow = _mm512_add_epi32(ow, _mm512_set1_epi32(16));
    }
}

DV_TARGET_VNNI static void vnni_direct_rows(const conv_ctx *c, size_t n, size_t o, size_t r0,
                                            size_t r1)
{
    if (flat_form(c->p)) {
        vnni_flat_rows(c, n, o, r0, r1);
        return;
    }
    /* [stride 1, stride 2, any stride][vectors - 1]; the first two need kw <= DIRECT_KW */
    static const vnni_direct_fn kernels[3][4] = {
        {vnni_direct_1_1, vnni_direct_2_1, vnni_direct_3_1, vnni_direct_4_1},
        {vnni_direct_1_2, vnni_direct_2_2, vnni_direct_3_2, vnni_direct_4_2},
        {vnni_direct_1_0, vnni_direct_2_0, vnni_direct_3_0, vnni_direct_4_0}};
    const conv_plan *p = c->p;
    size_t form = p->kw <= DIRECT_KW && p->sw <= 2 ? p->sw - 1 : 2;
    for (size_t ow0 = 0; ow0 < p->out_w; ow0 += 64)
        kernels[form][min_size(4, (p->out_w - ow0 + 15) / 16) - 1](c, n, o, r0, r1, ow0);
}

static const conv_isa isa_vnni = {4, 1, 16, 64, vnni_pack_weights, vnni_pack_rows,
                                  vnni_gemm_rows, vnni_direct_rows};

/* ---- AVX2 ---------------------------------------------------------------------------------- */

DV_TARGET_AVX2 DV_INLINE __m256i avx2_epilogue(const conv_epi *e, __m256i x)
{
    if (!e->on)
        return x;
    x = _mm256_sra_epi32(x, _mm_cvtsi32_si128((int)e->shift));
    x = _mm256_srai_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(1)), 1);
    x = _mm256_min_epi32(_mm256_max_epi32(x, _mm256_set1_epi32(e->lo)), _mm256_set1_epi32(e->hi));
    return _mm256_min_epi32(_mm256_max_epi32(x, _mm256_set1_epi32(e->act_lo)),
                            _mm256_set1_epi32(e->act_hi));
}

/* Output elements [at, at + count), count clamped to 0..8: the epilogue, then int32, or int8
 * saturated by two signed packs (int32 -> int16 -> int8 saturation clamps to [-128, 127]). */
DV_TARGET_AVX2 DV_INLINE void avx2_store(const conv_ctx *c, size_t at, int64_t count, __m256i v)
{
    count = count < 0 ? 0 : count > 8 ? 8 : count;
    v = avx2_epilogue(&c->p->epi, v);
    if (!c->y8) {
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        _mm256_maskstore_epi32(c->y32 + at, m, v);
        return;
    }
    dv_store_i8x8(c->y8 + at, v, (size_t)count);
}

DV_TARGET_AVX2 static int avx2_pack_weights(const conv_ctx *c, size_t g, uint8_t *wpack,
                                            uint32_t *corr)
{
    const conv_plan *p = c->p;
    const int32_t *kidx = c->kidx;
    uint16_t *wtmp = (uint16_t *)(void *)c->wtmp;
    size_t k_all = p->in_pg * p->kh * p->kw;
    uint32_t high = 0;
    for (size_t ob = 0; ob < p->ocp / 8; ob++) {
        for (size_t l = 0; l < 8; l++) {
            size_t oc = ob * 8 + l;
            uint16_t *row = wtmp + l * p->kps;
            if (oc >= p->out_pg) {
                memset(row, 0, p->kps * 2);
                corr[oc] = 0;
                continue;
            }
            const int32_t *src = c->in[1].data + (g * p->out_pg + oc) * k_all;
            for (size_t k = 0; k < p->kp; k++) {
                uint32_t v = (kidx[k] >= 0 ? (uint32_t)src[kidx[k]] : 0) + 32768u;
                high |= v;
                row[k] = (uint16_t)(v - 32768u);
            }
            corr[oc] = 0;
        }
        /* [lane][k] -> [k / 2][lane][k % 2] */
        __m256i rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32((int)(p->kps / 2)));
        uint8_t *dst = wpack + ob * p->k_units * 32;
        for (size_t u = 0; u < p->k_units; u++) {
            __m256i idx = _mm256_add_epi32(rows, _mm256_set1_epi32((int)u));
            _mm256_storeu_si256((__m256i *)(void *)(dst + u * 32),
                                _mm256_i32gather_epi32((const int *)(const void *)wtmp, idx, 4));
        }
    }
    return (high & 0xffff0000u) == 0;
}

DV_TARGET_AVX2 static void avx2_pack_rows(const conv_ctx *c, size_t n, size_t g, size_t pr0,
                                          size_t rows)
{
    const conv_plan *p = c->p;
    uint8_t *dst = c->base + p->off_x, *bad = c->base + p->off_bad;
    size_t ipg = p->in_pg;
    for (size_t r = 0; r < rows; r++) {
        uint16_t *d = (uint16_t *)(void *)(dst + r * p->row_bytes);
        size_t pr = pr0 + r;
        bad[r] = 0;
        if (pr < p->pt || pr - p->pt >= p->in_h) {
            memset(d, 0, p->row_bytes);
            continue;
        }
        size_t ih = pr - p->pt;
        size_t left = min_size(p->pl, p->wp);
        size_t count = p->wp > p->pl ? min_size(p->in_w, p->wp - p->pl) : 0;
        memset(d, 0, left * ipg * 2);
        memset(d + (left + count) * ipg, 0, (p->wp - left - count) * ipg * 2);
        uint32_t high = 0;
        const size_t plane = p->in_h * p->in_w, at = (n * p->in_c + g * ipg) * plane + ih * p->in_w;
        uint16_t *dd = d + left * ipg;
        for (size_t ch = 0; ch < ipg; ch++) {
            if (c->x8) {
                const int8_t *src = c->x8 + at + ch * plane;
                for (size_t iw = 0; iw < count; iw++)
                    dd[iw * ipg + ch] = (uint16_t)(uint32_t)(int32_t)src[iw];
                continue;
            }
            const int32_t *src = c->in[0].data + at + ch * plane;
            for (size_t iw = 0; iw < count; iw++) {
                uint32_t v = (uint32_t)src[iw] + 32768u;
                high |= v;
                dd[iw * ipg + ch] = (uint16_t)(v - 32768u);
            }
        }
        bad[r] = (high & 0xffff0000u) != 0;
    }
    memset(dst + rows * p->row_bytes, 0, 64); /* read by runs rounded up to 2 elements */
}

#define AVX2_TILE(NOC, B)                                                                          \
    DV_TARGET_AVX2 static void avx2_tile_##NOC##x##B(const uint8_t *x, const size_t *px,           \
                                                      const uint8_t *w, size_t wstride,            \
                                                      const uint32_t *uoff, size_t nu,             \
                                                      int32_t *yt, int first)                      \
    {                                                                                              \
        __m256i acc[NOC][B];                                                                       \
        const uint8_t *xp[B];                                                                      \
        DV_UNROLL for (int i = 0; i < B; i++) {                                                    \
            xp[i] = x + px[i];                                                                     \
            DV_UNROLL for (int b = 0; b < NOC; b++)                                                \
                acc[b][i] = _mm256_setzero_si256();                                                \
        }                                                                                          \
        for (size_t u = 0; u < nu; u++, w += 32) {                                                 \
            size_t off = uoff[u];                                                                  \
            __m256i wv[NOC];                                                                       \
            DV_UNROLL for (int b = 0; b < NOC; b++)                                                \
                wv[b] = _mm256_loadu_si256((const __m256i *)(const void *)(w + b * wstride));      \
            DV_UNROLL for (int i = 0; i < B; i++) {                                                \
                __m256i xv = _mm256_set1_epi32(dv_load32(xp[i] + off));                            \
                DV_UNROLL for (int b = 0; b < NOC; b++)                                            \
                    acc[b][i] = _mm256_add_epi32(acc[b][i], _mm256_madd_epi16(xv, wv[b]));         \
            }                                                                                      \
        }                                                                                          \
        DV_UNROLL for (int i = 0; i < B; i++)                                                      \
            DV_UNROLL for (int b = 0; b < NOC; b++) {                                              \
                __m256i *dst = (__m256i *)(void *)(yt + i * 16 + b * 8);                           \
                _mm256_storeu_si256(dst, first ? acc[b][i]                                         \
                                               : _mm256_add_epi32(acc[b][i],                       \
                                                                  _mm256_loadu_si256(dst)));       \
            }                                                                                      \
    }

AVX2_TILE(2, 4)
AVX2_TILE(2, 3)
AVX2_TILE(2, 2)
AVX2_TILE(2, 1)
AVX2_TILE(1, 8)

typedef void (*avx2_tile_fn)(const uint8_t *x, const size_t *px, const uint8_t *w,
                             size_t wstride, const uint32_t *uoff, size_t nu, int32_t *yt,
                             int first);

#define AVX2_KC 128 /* steps per K block: 2 x 128 x 32 bytes of weights */

DV_TARGET_AVX2 static void avx2_gemm_rows(const conv_ctx *c, size_t n, size_t g, size_t pr0,
                                          size_t r0, size_t r1)
{
    static const avx2_tile_fn tiles2[5] = {0, avx2_tile_2x1, avx2_tile_2x2, avx2_tile_2x3,
                                           avx2_tile_2x4};
    const conv_plan *p = c->p;
    const uint8_t *x = c->base + p->off_x, *wpack = c->w;
    const uint32_t *corr = c->wcorr;
    const uint32_t *uoff = (const uint32_t *)(const void *)(c->base + p->off_uoff);
    size_t *px = (size_t *)(void *)(c->base + p->off_px);
    int32_t *yt = (int32_t *)(void *)(c->base + p->off_yt);
    size_t plane = p->out_h * p->out_w, wstride = p->k_units * 32;
    const size_t y = (n * p->out_c + g * p->out_pg) * plane;
    __m256i lane_rows = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
    __m256i lane_ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (size_t q0 = r0 * p->out_w; q0 < r1 * p->out_w; q0 += PIX_CHUNK) {
        size_t np = min_size(PIX_CHUNK, r1 * p->out_w - q0);
        pixel_offsets(p, px, pr0, q0, np);
        for (size_t ob = 0; ob < p->ocp; ob += 16) {
            size_t noc = min_size(2, (p->ocp - ob) / 8);
            const uint8_t *w = wpack + ob / 8 * wstride;
            for (size_t u0 = 0; u0 < p->k_units; u0 += AVX2_KC) {
                size_t nu = min_size(AVX2_KC, p->k_units - u0);
                for (size_t t = 0; t < np;) {
                    size_t b = noc == 2 ? min_size(4, np - t) : 8;
                    (noc == 2 ? tiles2[b] : avx2_tile_1x8)(x, px + t, w + u0 * 32, wstride,
                                                           uoff + u0, nu, yt + t * 16, u0 == 0);
                    t += b;
                }
            }
            size_t oc_end = min_size(p->out_pg, ob + noc * 8);
            for (size_t oc = ob; oc < oc_end; oc++) {
                __m256i start = _mm256_set1_epi32((int)(corr[oc] + bias_of(c, g * p->out_pg + oc)));
                const size_t yo = y + oc * plane + q0;
                for (size_t i = 0; i < np; i += 8) {
                    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(np - i)), lane_ids);
                    __m256i v = _mm256_mask_i32gather_epi32(
                        _mm256_setzero_si256(), yt + i * 16 + (oc - ob), lane_rows, m, 4);
                    avx2_store(c, yo + i, (int64_t)(np - i), _mm256_add_epi32(v, start));
                }
            }
        }
    }
}

/* As vnni_tap, for 8 output columns: lane masks as vectors. */
typedef struct {
    int64_t col;
    __m256i m0, m1;
} avx2_tap;

DV_TARGET_AVX2 DV_INLINE __m256i avx2_lanes(int64_t lo, int64_t hi)
{
    __m256i ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    lo = lo < -1 ? -1 : lo > 8 ? 8 : lo;
    hi = hi < -1 ? -1 : hi > 8 ? 8 : hi;
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)lo), ids),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)hi), ids));
}

DV_TARGET_AVX2 DV_INLINE avx2_tap avx2_tap_at(const conv_plan *p, int64_t col)
{
    int64_t w = (int64_t)p->in_w;
    avx2_tap t = {col, avx2_lanes(-col, w - col), avx2_lanes(-col - 8, w - col - 8)};
    return t;
}

DV_TARGET_AVX2 DV_INLINE __m256i avx2_taps(const conv_plan *p, size_t sw, const int32_t *row,
                                           avx2_tap t)
{
    if (sw == 1)
        return _mm256_maskload_epi32(column(row, t.col), t.m0);
    if (sw == 2) {
        __m256i a = _mm256_maskload_epi32(column(row, t.col), t.m0);
        __m256i b = _mm256_maskload_epi32(column(row, t.col + 8), t.m1);
        __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        return _mm256_blend_epi32(_mm256_permutevar8x32_epi32(a, even),
                                  _mm256_permutevar8x32_epi32(b, even), 0xf0);
    }
    __m256i cols = _mm256_add_epi32(_mm256_set1_epi32((int32_t)t.col),
                                    _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                       _mm256_set1_epi32((int32_t)p->sw)));
    __m256i m = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), cols),
                                    _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)p->in_w), cols));
    return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), row, cols, m, 4);
}

#define AVX2_DIRECT(NV, SW)                                                                        \
    DV_TARGET_AVX2 static void avx2_direct_##NV##_##SW(const conv_ctx *c, size_t n, size_t o,      \
                                                 size_t r0, size_t r1, size_t ow0)                 \
    {                                                                                              \
        const conv_plan *p = c->p;                                                                 \
        const size_t sw = SW ? SW : p->sw;                                                         \
        avx2_tap taps[DIRECT_KW][NV];                                                              \
        for (size_t kw = 0; SW && kw < p->kw; kw++)                                                \
            DV_UNROLL for (int v = 0; v < NV; v++) taps[kw][v] = avx2_tap_at(                      \
                p, (int64_t)((ow0 + 8 * (size_t)v) * p->sw + kw * p->dw) - (int64_t)p->pl);        \
        __m256i start = _mm256_set1_epi32((int)bias_of(c, o));                                     \
        for (size_t oh = r0; oh < r1; oh++) {                                                      \
            const int32_t *wo = c->in[1].data + o * p->in_pg * p->kh * p->kw;                      \
            __m256i acc[NV];                                                                       \
            DV_UNROLL for (int v = 0; v < NV; v++) acc[v] = start;                                 \
            for (size_t ch = 0; ch < p->in_pg; ch++) {                                             \
                const int32_t *x = c->xsrc + ch * c->xcs;                                          \
                for (size_t kh = 0; kh < p->kh; kh++, wo += p->kw) {                               \
                    int64_t ih = (int64_t)(oh * p->sh + kh * p->dh) - (int64_t)p->pt;              \
                    if (ih < 0 || ih >= (int64_t)p->in_h)                                          \
                        continue;                                                                  \
                    const int32_t *row = x + (size_t)(ih - c->xorigin) * p->in_w;                  \
                    for (size_t kw = 0; kw < p->kw; kw++) {                                        \
                        __m256i wv = _mm256_set1_epi32(wo[kw]);                                    \
                        DV_UNROLL for (int v = 0; v < NV; v++) {                                   \
                            avx2_tap t = SW ? taps[kw][v]                                          \
                                             : avx2_tap_at(p, (int64_t)((ow0 + 8 * (size_t)v) *    \
                                                                            p->sw +                \
                                                                        kw * p->dw) -              \
                                                                  (int64_t)p->pl);                 \
                            acc[v] = _mm256_add_epi32(                                             \
                                acc[v], _mm256_mullo_epi32(wv, avx2_taps(p, sw, row, t)));         \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            size_t y = ((n * p->out_c + o) * p->out_h + oh) * p->out_w;                            \
            DV_UNROLL for (int v = 0; v < NV; v++) avx2_store(                                     \
                c, y + ow0 + 8 * (size_t)v, (int64_t)(p->out_w - ow0) - 8 * v, acc[v]);            \
        }                                                                                          \
    }

AVX2_DIRECT(1, 1)
AVX2_DIRECT(2, 1)
AVX2_DIRECT(3, 1)
AVX2_DIRECT(4, 1)
AVX2_DIRECT(1, 2)
AVX2_DIRECT(2, 2)
AVX2_DIRECT(3, 2)
AVX2_DIRECT(4, 2)
AVX2_DIRECT(1, 0)
AVX2_DIRECT(2, 0)
AVX2_DIRECT(3, 0)
AVX2_DIRECT(4, 0)

typedef void (*avx2_direct_fn)(const conv_ctx *c, size_t n, size_t o, size_t r0, size_t r1,
                              size_t ow0);

/* As vnni_flat_rows, 8 outputs at a time. */
DV_TARGET_AVX2 static void avx2_flat_rows(const conv_ctx *c, size_t n, size_t o, size_t r0,
                                          size_t r1)
{
    const conv_plan *p = c->p;
    const size_t w = p->in_w;
    const int32_t *x0 = c->xsrc;
    const int64_t origin = c->xorigin * (int64_t)w;
    const int32_t *w0 = c->in[1].data + o * p->in_pg * p->kh * p->kw;
    const size_t y = (n * p->out_c + o) * p->out_h * p->out_w;
    const __m256i width = _mm256_set1_epi32((int32_t)w);
    const __m256i height = _mm256_set1_epi32((int32_t)p->in_h);
    const __m256i start = _mm256_set1_epi32((int)bias_of(c, o)), zero = _mm256_setzero_si256();
    __m256i ow = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i oh = _mm256_set1_epi32((int32_t)r0);
    const size_t q_end = r1 * w;
    for (size_t q0 = r0 * w; q0 < q_end; q0 += 8) {
        for (;;) {
            __m256i wrap = _mm256_cmpgt_epi32(ow, _mm256_sub_epi32(width, _mm256_set1_epi32(1)));
            if (_mm256_testz_si256(wrap, wrap))
                break;
            ow = _mm256_sub_epi32(ow, _mm256_and_si256(wrap, width));
            oh = _mm256_sub_epi32(oh, wrap); /* wrap lanes are -1 */
        }
        __m256i rows[FLAT_TAPS], cols[FLAT_TAPS];
        __m256i tail = avx2_lanes(0, (int64_t)(q_end - q0));
        for (size_t kh = 0; kh < p->kh; kh++) {
            __m256i r = _mm256_add_epi32(oh, _mm256_set1_epi32((int32_t)(kh * p->dh - p->pt)));
            rows[kh] = _mm256_and_si256(
                tail, _mm256_andnot_si256(_mm256_cmpgt_epi32(zero, r),
                                          _mm256_cmpgt_epi32(height, r)));
        }
        for (size_t kw = 0; kw < p->kw; kw++) {
            __m256i col = _mm256_add_epi32(ow, _mm256_set1_epi32((int32_t)(kw * p->dw - p->pl)));
            cols[kw] = _mm256_andnot_si256(_mm256_cmpgt_epi32(zero, col),
                                           _mm256_cmpgt_epi32(width, col));
        }
        __m256i acc = start;
        const int32_t *wt = w0;
        for (size_t ch = 0; ch < p->in_pg; ch++) {
            const int32_t *x = x0 + ch * c->xcs;
            for (size_t kh = 0; kh < p->kh; kh++) {
                int64_t row = (int64_t)q0 + ((int64_t)(kh * p->dh) - (int64_t)p->pt) * (int64_t)w -
                              (int64_t)p->pl - origin;
                for (size_t kw = 0; kw < p->kw; kw++, wt++) {
                    __m256i xv = _mm256_maskload_epi32(column(x, row + (int64_t)(kw * p->dw)),
                                                       _mm256_and_si256(rows[kh], cols[kw]));
                    acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(*wt), xv));
                }
            }
        }
        avx2_store(c, y + q0, (int64_t)(q_end - q0), acc);
        ow = _mm256_add_epi32(ow, _mm256_set1_epi32(8));
    }
}

DV_TARGET_AVX2 static void avx2_direct_rows(const conv_ctx *c, size_t n, size_t o, size_t r0,
                                            size_t r1)
{
    if (flat_form(c->p)) {
        avx2_flat_rows(c, n, o, r0, r1);
        return;
    }
    /* [stride 1, stride 2, any stride][vectors - 1]; the first two need kw <= DIRECT_KW */
    static const avx2_direct_fn kernels[3][4] = {
        {avx2_direct_1_1, avx2_direct_2_1, avx2_direct_3_1, avx2_direct_4_1},
        {avx2_direct_1_2, avx2_direct_2_2, avx2_direct_3_2, avx2_direct_4_2},
        {avx2_direct_1_0, avx2_direct_2_0, avx2_direct_3_0, avx2_direct_4_0}};
    const conv_plan *p = c->p;
    size_t form = p->kw <= DIRECT_KW && p->sw <= 2 ? p->sw - 1 : 2;
    for (size_t ow0 = 0; ow0 < p->out_w; ow0 += 32)
        kernels[form][min_size(4, (p->out_w - ow0 + 7) / 8) - 1](c, n, o, r0, r1, ow0);
}

static const conv_isa isa_avx2 = {2, 2, 8, 16, avx2_pack_weights, avx2_pack_rows,
                                  avx2_gemm_rows, avx2_direct_rows};

/* ---- the variants -------------------------------------------------------------------------- */

#define CONV_VARIANT(NAME, OPCODE, LABEL, ISA_BIT, ISA)                                            \
    static int NAME##_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)            \
    {                                                                                              \
        return conv_accepts(&ISA, attrs, n_in, in);                                                \
    }                                                                                              \
    static uint64_t NAME##_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)         \
    {                                                                                              \
        return conv_items(&ISA, attrs, n_in, in);                                                  \
    }                                                                                              \
    static uint64_t NAME##_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)       \
    {                                                                                              \
        return conv_scratch(&ISA, attrs, n_in, in);                                                \
    }                                                                                              \
    static void NAME##_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,              \
                           uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,       \
                           uint64_t end)                                                           \
    {                                                                                              \
        conv_run(&ISA, attrs, in, out, NULL, scratch, begin, end);                                 \
    }                                                                                              \
    const dv_variant dv_variant_cvm_##NAME = {OPCODE, ISA_BIT, LABEL,                              \
                                              NAME##_accepts, NAME##_items, NAME##_scratch,        \
                                              NAME##_run, DV_VARIANT_INT8};                        \
    static uint64_t NAME##_packed_size(const dv_attrs *attrs, uint32_t n_in,                       \
                                       const dv_shape *in)                                         \
    {                                                                                              \
        return conv_packed_size(&ISA, attrs, n_in, in);                                            \
    }                                                                                              \
    static void NAME##_pack(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,             \
                            void *packed)                                                          \
    {                                                                                              \
        conv_pack(&ISA, attrs, n_in, in, packed);                                                  \
    }                                                                                              \
    static void NAME##_run_packed(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,       \
                                  uint32_t n_out, dv_tensor *out, const void *packed,              \
                                  int32_t *scratch, uint64_t begin, uint64_t end)                  \
    {                                                                                              \
        conv_run(&ISA, attrs, in, out, packed, scratch, begin, end);                               \
    }                                                                                              \
    const dv_variant_packing dv_packing_cvm_##NAME = {&dv_variant_cvm_##NAME, 1u << 1,             \
                                                      NAME##_packed_size, NAME##_pack,             \
                                                      NAME##_run_packed, 1};

CONV_VARIANT(conv2d_avx2, DV_OP_CONV2D, "avx2", DV_ISA_AVX2, isa_avx2)
CONV_VARIANT(conv2d_vnni, DV_OP_CONV2D, "vnni", DV_ISA_VNNI, isa_vnni)
CONV_VARIANT(conv2d_shift_avx2, DV_OP_CONV2D_SHIFT, "avx2", DV_ISA_AVX2, isa_avx2)
CONV_VARIANT(conv2d_shift_vnni, DV_OP_CONV2D_SHIFT, "vnni", DV_ISA_VNNI, isa_vnni)

/* ---- CONV2D_SHIFT_MAX_POOL ------------------------------------------------------------------
 *
 * The conv computes into the thread's scratch, where the pool reads it while it is still in
 * cache: the conv output never goes to the arena. One work item is one pool output row of one
 * batch element, (n, pool row), all channels (the threads take contiguous ranges of items, so
 * blocks are formed inside a range). A run over items [begin, end) takes, for each batch
 * element, each group on the packed path (each output channel on the direct path: a pool
 * channel reads only its conv channel), the pool rows in blocks whose windows span about
 * POOL_BLOCK_BYTES of the intermediate:
 *   - the conv rows the block's pool windows read, clipped to the conv output, are computed by
 *     packed_run / direct_run above, for that group or channel of a one-element batch (the
 *     data viewed from batch element n), into an intermediate in scratch laid out as that
 *     element's whole conv output (1, out_c, out_h, out_w), so the conv code addresses it as
 *     it addresses a real output. The windows move down, so a conv row computed for one block
 *     and read by the next is not computed again: it holds the same values either way.
 *   - then the pool rows of the block, for the group's channels, by the MAX_POOL2D variant of
 *     the same instruction set (ops/x86/pool.c) on that intermediate, into the real output;
 *     or, for an int8 output, by the byte pooling below.
 * The intermediate has the output's storage: int32 for an int32 output (the reference's
 * intermediate, exactly), int8 for an int8 output. That is exact too: the reference's output
 * narrowed is dv_store_i8(max(window)), dv_store_i8 is monotonic so that equals
 * max(dv_store_i8(each)), which pooling the conv's int8 output gives; a window wholly in the
 * padding gives INT32_MIN stored as -128 in both.
 *
 * Byte pooling (int8 output). MAX_POOL2D's variant widens every value to 32 bits: on
 * ResNet-18's stem it costs as much as fusion saves, while on bytes a vector holds 4 times as
 * many. As the padding never contributes and -128 is the least int8, the padding is -128 here:
 * max(-128, v) = v for every int8 v, and a window wholly in the padding gives -128, as above.
 * One pool row of a channel: the vertical maximum of the intermediate rows its windows read,
 * into a scratch row R that holds padded column j at R[j] and -128 outside the intermediate;
 * then
 * y[ow] = max over s < pool_w of R[ow * stride_w + s], for stride 1 from unaligned loads, for
 * stride 2 from the even bytes of the same (vpmovwb; AVX2: vpshufb), else one by one.
 *
 * Scratch: the conv's (its plan for one batch element), the intermediate sized for int32,
 * then the pool variant's. An instance either part declines runs the reference. */

#define POOL_BLOCK_BYTES ((size_t)128 << 10) /* intermediate bytes a block of pool rows reads */

extern const dv_variant dv_variant_max_pool2d_vnni, dv_variant_max_pool2d_avx2;

/* One pool output row of one channel on bytes (see above). */
typedef struct {
    const int8_t *x;            /* the first intermediate row of the window that is inside */
    size_t rows;                /* intermediate rows in the window (0: all padding) */
    size_t in_w;                /* the intermediate's width */
    size_t pad_left, cols;      /* R[pad_left, pad_left + cols) come from the intermediate */
    size_t len;                 /* R's length: (out_w - 1) * stride_w + pool_w */
    size_t out_w, pool_w, stride_w;
    int8_t *r;                  /* R, len + 64 bytes (the vectors past len read -128) */
    int8_t *y;                  /* the output row */
} pool8_row;

typedef void (*pool8_fn)(const pool8_row *p);

/* y[ow] for ow in [o0, out_w), one at a time. */
static void pool8_tail(const pool8_row *p, size_t o0)
{
    for (size_t ow = o0; ow < p->out_w; ow++) {
        const int8_t *q = p->r + ow * p->stride_w;
        int8_t best = q[0];
        for (size_t s = 1; s < p->pool_w; s++)
            best = q[s] > best ? q[s] : best;
        p->y[ow] = best;
    }
}

DV_TARGET_VNNI static void vnni_pool8(const pool8_row *p)
{
    memset(p->r, -128, p->len + 64);
    for (size_t c = 0; c < p->cols; c += 64) {
        const __mmask64 m = p->cols - c >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (p->cols - c)) - 1;
        __m512i v = _mm512_maskz_loadu_epi8(m, p->x + c);
        for (size_t k = 1; k < p->rows; k++)
            v = _mm512_max_epi8(v, _mm512_maskz_loadu_epi8(m, p->x + k * p->in_w + c));
        _mm512_mask_storeu_epi8(p->r + p->pad_left + c, m, v);
    }
    if (p->stride_w > 2) {
        pool8_tail(p, 0);
        return;
    }
    const size_t step = 64 / p->stride_w;
    for (size_t o = 0; o < p->out_w; o += step) {
        const int8_t *q = p->r + o * p->stride_w;
        __m512i best = _mm512_loadu_si512(q);
        for (size_t s = 1; s < p->pool_w; s++)
            best = _mm512_max_epi8(best, _mm512_loadu_si512(q + s));
        const size_t left = p->out_w - o;
        if (p->stride_w == 1)
            _mm512_mask_storeu_epi8(p->y + o, left >= 64 ? ~(__mmask64)0
                                                         : ((__mmask64)1 << left) - 1, best);
        else
            _mm256_mask_storeu_epi8(p->y + o, left >= 32 ? ~(__mmask32)0
                                                         : ((__mmask32)1 << left) - 1,
                                    _mm512_cvtepi16_epi8(best));
    }
}

/* AVX2 has no byte masks: the last vector of a row is moved back to end at the row's end,
 * computing some values twice (the same values), and a row shorter than a vector goes one by
 * one. */
DV_TARGET_AVX2 static void avx2_pool8(const pool8_row *p)
{
    memset(p->r, -128, p->len + 64);
    if (p->cols >= 32) {
        for (size_t c0 = 0; c0 < p->cols; c0 += 32) {
            const size_t c = c0 + 32 <= p->cols ? c0 : p->cols - 32;
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p->x + c));
            for (size_t k = 1; k < p->rows; k++)
                v = _mm256_max_epi8(
                    v, _mm256_loadu_si256((const __m256i *)(const void *)(p->x + k * p->in_w + c)));
            _mm256_storeu_si256((__m256i *)(void *)(p->r + p->pad_left + c), v);
        }
    } else {
        for (size_t c = 0; c < p->cols; c++) {
            int8_t v = p->x[c];
            for (size_t k = 1; k < p->rows; k++)
                v = p->x[k * p->in_w + c] > v ? p->x[k * p->in_w + c] : v;
            p->r[p->pad_left + c] = v;
        }
    }
    const size_t step = p->stride_w == 1 ? 32 : 16;
    if (p->stride_w > 2 || p->out_w < step) {
        pool8_tail(p, 0);
        return;
    }
    const __m256i evens = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1,
                                           -1, 0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1,
                                           -1, -1);
    for (size_t o0 = 0; o0 < p->out_w; o0 += step) {
        const size_t o = o0 + step <= p->out_w ? o0 : p->out_w - step;
        const int8_t *q = p->r + o * p->stride_w;
        __m256i best = _mm256_loadu_si256((const __m256i *)(const void *)q);
        for (size_t s = 1; s < p->pool_w; s++)
            best = _mm256_max_epi8(best,
                                   _mm256_loadu_si256((const __m256i *)(const void *)(q + s)));
        if (p->stride_w == 1) {
            _mm256_storeu_si256((__m256i *)(void *)(p->y + o), best);
        } else {
            best = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(best, evens), 0x08);
            _mm_storeu_si128((__m128i *)(void *)(p->y + o), _mm256_castsi256_si128(best));
        }
    }
}

typedef struct {
    conv_plan conv;             /* the conv of one batch element */
    const dv_variant *pool;
    dv_attrs conv_attrs, pool_attrs;
    dv_shape mid, out;          /* the intermediate, (1, out_c, out_h, out_w); the output */
    size_t pool_out_h;
    size_t off_mid, off_pool;   /* byte offsets in scratch, after the conv's */
    size_t total;
} conv_pool_plan;

static int make_conv_pool_plan(const conv_isa *isa, const dv_variant *pool, const dv_attrs *attrs,
                               uint32_t n_in, const dv_shape *in, conv_pool_plan *cp)
{
    const dv_op_info *op = dv_op_lookup(DV_OP_CONV2D_SHIFT_MAX_POOL);
    memset(cp, 0, sizeof *cp);
    if (n_in < 2 || n_in > 3 || attrs->n != CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS ||
        op->infer(attrs, n_in, in, 1, &cp->out))
        return 0;
    cp->pool = pool;
    cp->conv_attrs.v = attrs->v;
    cp->conv_attrs.n = CONV_N_ATTRS + EPI_N_ATTRS;
    cp->pool_attrs.v = attrs->v + CONV_N_ATTRS + EPI_N_ATTRS;
    cp->pool_attrs.n = POOL_N_ATTRS;
    dv_shape one[3];
    for (uint32_t i = 0; i < n_in; i++)
        one[i] = in[i];
    one[0].dim[0] = 1;
    if (!make_plan(isa, &cp->conv_attrs, one, &cp->conv))
        return 0;
    const conv_plan *p = &cp->conv;
    cp->mid = (dv_shape){4, {1, (uint32_t)p->out_c, (uint32_t)p->out_h, (uint32_t)p->out_w}};
    cp->pool_out_h = cp->out.dim[2];
    uint64_t mid_bytes = dv_shape_size(&cp->mid) * 4;
    if (mid_bytes > SCRATCH_CAP || !pool->accepts(&cp->pool_attrs, 1, &cp->mid))
        return 0;
    uint64_t pool_bytes = (pool->scratch ? pool->scratch(&cp->pool_attrs, 1, &cp->mid) : 0) * 4;
    const int32_t *pa = cp->pool_attrs.v;
    const uint64_t len = (uint64_t)(cp->out.dim[3] - 1) * (uint64_t)pa[POOL_STRIDE_W] +
                         (uint64_t)pa[POOL_W];
    if (pool_bytes < len + 64)
        pool_bytes = len + 64;     /* pool8_row's R */
    if (pool_bytes > SCRATCH_CAP)
        return 0;
    cp->off_mid = round_up(p->total, 64);
    cp->off_pool = cp->off_mid + round_up((size_t)mid_bytes, 64);
    cp->total = cp->off_pool + (size_t)pool_bytes;
    return 1;
}

/* Conv rows [r0, r1) of group or channel u (see conv_pool_run) into the intermediate. */
static void conv_pool_conv_rows(conv_ctx *c, size_t u, size_t r0, size_t r1, const uint8_t *packed)
{
    const uint64_t first = (uint64_t)u * c->p->out_h;
    if (c->p->direct)
        direct_run(c, first + r0, first + r1);
    else
        packed_run(c, first + r0, first + r1, packed);
}

/* Pool rows [q0, q1) of channel ch from the int8 intermediate `mid`, into y (int8). */
static void conv_pool_bytes(const conv_pool_plan *cp, pool8_fn pool8, const int8_t *mid,
                            int8_t *y, int8_t *r, size_t ch, size_t q0, size_t q1)
{
    const int32_t *pa = cp->pool_attrs.v;
    const int64_t in_h = cp->mid.dim[2];
    pool8_row p;
    p.in_w = cp->mid.dim[3];
    p.out_w = cp->out.dim[3];
    p.pool_w = (size_t)pa[POOL_W];
    p.stride_w = (size_t)pa[POOL_STRIDE_W];
    p.pad_left = (size_t)pa[POOL_PAD_LEFT];
    p.len = (p.out_w - 1) * p.stride_w + p.pool_w;
    p.r = r;
    for (size_t q = q0; q < q1; q++) {
        const int64_t top = (int64_t)q * pa[POOL_STRIDE_H] - pa[POOL_PAD_TOP];
        const int64_t h_begin = top > 0 ? top : 0;
        const int64_t h_end = top + pa[POOL_H] < in_h ? top + pa[POOL_H] : in_h;
        p.rows = h_end > h_begin ? (size_t)(h_end - h_begin) : 0;
        p.x = mid + (ch * (size_t)in_h + (p.rows ? (size_t)h_begin : 0)) * p.in_w;
        p.cols = 0;
        if (p.rows && p.pad_left < p.len)
            p.cols = p.len - p.pad_left < p.in_w ? p.len - p.pad_left : p.in_w;
        p.y = y + (ch * cp->pool_out_h + q) * p.out_w;
        pool8(&p);
    }
}

static void conv_pool_run(const conv_isa *isa, const dv_variant *pool, pool8_fn pool8,
                          const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                          dv_tensor *out, const uint8_t *packed, int32_t *scratch, uint64_t begin,
                          uint64_t end)
{
    dv_shape shapes[3];
    for (uint32_t i = 0; i < n_in && i < 3; i++)
        shapes[i] = in[i].shape;
    conv_pool_plan cp;
    if (!make_conv_pool_plan(isa, pool, attrs, n_in, shapes, &cp))
        return; /* not reached: accepts said yes */
    const conv_plan *p = &cp.conv;
    uint8_t *base = (uint8_t *)dv_align64(scratch);
    int32_t *pool_scratch = (int32_t *)(void *)(base + cp.off_pool);
    const int int8_out = out[0].i8 != NULL;
    const size_t in_elems = p->in_c * p->in_h * p->in_w, ph = cp.pool_out_h;
    const size_t out_elems = (size_t)dv_shape_size(&cp.out) / cp.out.dim[0];
    const size_t units = p->direct ? p->out_c : p->groups, per_unit = p->direct ? 1 : p->out_pg;
    const int32_t *pa = cp.pool_attrs.v;
    const int64_t psh = pa[POOL_STRIDE_H], ppt = pa[POOL_PAD_TOP], pool_h = pa[POOL_H];
    /* pool rows per block: their windows span about POOL_BLOCK_BYTES of the intermediate */
    const size_t conv_row = p->out_c * p->out_w * (int8_out ? 1 : 4);
    const size_t rows = POOL_BLOCK_BYTES / conv_row;
    const size_t block = rows > (size_t)pool_h ? (rows - (size_t)pool_h) / (size_t)psh + 1 : 1;

    dv_tensor mid = {int8_out ? NULL : (int32_t *)(void *)(base + cp.off_mid), cp.mid,
                     int8_out ? (int8_t *)(base + cp.off_mid) : NULL};
    for (uint64_t i = begin; i < end;) {
        const size_t n = (size_t)(i / ph), q0 = (size_t)(i % ph);
        const size_t q1 = (size_t)min_size(ph, q0 + (size_t)(end - i));
        /* batch element n as a batch of one */
        dv_tensor one[3];
        for (uint32_t k = 0; k < n_in && k < 3; k++)
            one[k] = in[k];
        one[0].shape.dim[0] = 1;
        if (in[0].i8)
            one[0].i8 = in[0].i8 + n * in_elems;
        else
            one[0].data = in[0].data + n * in_elems;
        dv_tensor y = {out[0].data ? out[0].data + n * out_elems : NULL, cp.out,
                       out[0].i8 ? out[0].i8 + n * out_elems : NULL};
        y.shape.dim[0] = 1;
        conv_ctx c = {.p = p, .attrs = &cp.conv_attrs, .in = one, .out = &mid, .x8 = one[0].i8,
                      .y32 = mid.data, .y8 = mid.i8, .band_ng = SIZE_MAX, .base = base};
        for (size_t u = 0; u < units; u++) {
            size_t done = 0; /* conv rows [lo, done) hold this unit's values for the block */
            for (size_t b0 = q0; b0 < q1; b0 += block) {
                const size_t b1 = min_size(q1, b0 + block);
                int64_t lo = (int64_t)b0 * psh - ppt, hi = (int64_t)(b1 - 1) * psh - ppt + pool_h;
                lo = lo < 0 ? 0 : lo;
                hi = hi > (int64_t)p->out_h ? (int64_t)p->out_h : hi;
                if (lo < hi) {
                    const size_t from = (size_t)lo > done ? (size_t)lo : done;
                    if (from < (size_t)hi)
                        conv_pool_conv_rows(&c, u, from, (size_t)hi, packed);
                    done = (size_t)hi > done ? (size_t)hi : done;
                }
                for (size_t ch = u * per_unit; ch < (u + 1) * per_unit; ch++) {
                    if (int8_out)
                        conv_pool_bytes(&cp, pool8, mid.i8, y.i8, (int8_t *)pool_scratch, ch, b0,
                                        b1);
                    else
                        pool->run(&cp.pool_attrs, 1, &mid, 1, &y, pool_scratch, ch * ph + b0,
                                  ch * ph + b1);
                }
            }
        }
        i += q1 - q0;
    }
}

static uint64_t conv_pool_items(const conv_isa *isa, const dv_variant *pool,
                                const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_pool_plan cp;
    if (!make_conv_pool_plan(isa, pool, attrs, n_in, in, &cp))
        return 1;
    return (uint64_t)cp.out.dim[0] * cp.pool_out_h;
}

static uint64_t conv_pool_scratch(const conv_isa *isa, const dv_variant *pool,
                                  const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    conv_pool_plan cp;
    if (!make_conv_pool_plan(isa, pool, attrs, n_in, in, &cp))
        return 0;
    return (cp.total + 63) / 4 + 1;
}

#define CONV_POOL_VARIANT(NAME, LABEL, ISA_BIT, ISA, POOL, POOL8)                                  \
    static int NAME##_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)            \
    {                                                                                              \
        conv_pool_plan cp;                                                                         \
        return make_conv_pool_plan(&ISA, &POOL, attrs, n_in, in, &cp);                             \
    }                                                                                              \
    static uint64_t NAME##_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)         \
    {                                                                                              \
        return conv_pool_items(&ISA, &POOL, attrs, n_in, in);                                      \
    }                                                                                              \
    static uint64_t NAME##_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)       \
    {                                                                                              \
        return conv_pool_scratch(&ISA, &POOL, attrs, n_in, in);                                    \
    }                                                                                              \
    static void NAME##_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,              \
                           uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,       \
                           uint64_t end)                                                           \
    {                                                                                              \
        conv_pool_run(&ISA, &POOL, POOL8, attrs, n_in, in, out, NULL, scratch, begin, end);        \
    }                                                                                              \
    const dv_variant dv_variant_cvm_##NAME = {DV_OP_CONV2D_SHIFT_MAX_POOL, ISA_BIT, LABEL,         \
                                              NAME##_accepts, NAME##_items, NAME##_scratch,        \
                                              NAME##_run, DV_VARIANT_INT8};                        \
    /* CONV2D_SHIFT's packing: the conv part's weights, packed as its variant packs them */       \
    static uint64_t NAME##_packed_size(const dv_attrs *attrs, uint32_t n_in,                       \
                                       const dv_shape *in)                                         \
    {                                                                                              \
        const dv_attrs conv = {attrs->v, CONV_N_ATTRS + EPI_N_ATTRS};                              \
        return NAME##_accepts(attrs, n_in, in) ? conv_packed_size(&ISA, &conv, n_in, in) : 0;      \
    }                                                                                              \
    static void NAME##_pack(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,             \
                            void *packed)                                                          \
    {                                                                                              \
        const dv_attrs conv = {attrs->v, CONV_N_ATTRS + EPI_N_ATTRS};                              \
        conv_pack(&ISA, &conv, n_in, in, packed);                                                  \
    }                                                                                              \
    static void NAME##_run_packed(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,       \
                                  uint32_t n_out, dv_tensor *out, const void *packed,              \
                                  int32_t *scratch, uint64_t begin, uint64_t end)                  \
    {                                                                                              \
        conv_pool_run(&ISA, &POOL, POOL8, attrs, n_in, in, out, packed, scratch, begin, end);      \
    }                                                                                              \
    const dv_variant_packing dv_packing_cvm_##NAME = {&dv_variant_cvm_##NAME, 1u << 1,             \
                                                      NAME##_packed_size, NAME##_pack,             \
                                                      NAME##_run_packed, 1};

CONV_POOL_VARIANT(conv2d_shift_max_pool_avx2, "avx2", DV_ISA_AVX2, isa_avx2,
                  dv_variant_max_pool2d_avx2, avx2_pool8)
CONV_POOL_VARIANT(conv2d_shift_max_pool_vnni, "vnni", DV_ISA_VNNI, isa_vnni,
                  dv_variant_max_pool2d_vnni, vnni_pool8)

#endif
