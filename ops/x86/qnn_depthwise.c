/* QDEPTHWISE_CONV2D (ops/qnn.c) on x86-64: AVX-512 VNNI (vpdpbusd) and AVX2 (vpmaddwd)
 * variants. Both read the data and write the output as int32 or int8 (DV_VARIANT_INT8).
 *
 * The packed path. A work item is one output row (n, oy), or two (pairing, below). Its input
 * rows are packed first into a row buffer V in the thread's scratch, whose 32-bit elements hold,
 * for one input column and one output channel, the values of several input rows side by side:
 *   VNNI  4 rows per element, as u8 = x + 128 (int8 data: x ^ 0x80), so that one vpdpbusd adds
 *         the products of 4 taps of a filter column (3x3: 3 vpdpbusd per 16 outputs);
 *   AVX2  2 rows per element, as int16 x; one vpmaddwd adds 2 products.
 * The weights are packed alike (0 in the fields of no filter row), once per session when they are
 * constants (dv_packing_qdepthwise_conv2d_*, which also holds the per-lane requantization
 * constants). A tap outside the input, in a row or a column of padding, holds the value p that
 * makes its term vanish: VNNI p = 128 - input_offset, AVX2 p = -input_offset. With corr = bias +
 * (input_offset - 128) * sum(w) (AVX2: bias + input_offset * sum(w)),
 *     corr + sum over all taps of w * packed = bias + sum over the taps inside of w * (x + input_offset)
 * modulo 2^32, which is the reference's accumulator (ops/qnn.c sums in uint32): vpdpbusd (the
 * non-saturating one) and vpmaddwd are exact modulo 2^32, and so is every vector addition. So
 * border pixels need no other path.
 *
 * V's layout. An output row reads the padded input columns [0, wp). Column ixp is stored in
 * phase ixp % stride_w at index ixp / stride_w, so that tap kx of output pixel ox is at phase
 * (kx * dilation_w) % stride_w, index ox + (kx * dilation_w) / stride_w: consecutive output
 * pixels read consecutive elements. Each column has ocp elements, the output channels rounded
 * up to a multiple of the lanes, or, below the lanes, to a power of two, and then one vector
 * holds several whole pixels (person_detect's 8-channel layers). A depth multiplier M > 1 packs
 * the data channels once per column (Q) and copies each to its M output channels.
 *
 * VNNI specifics.
 * - Packing is in-lane byte and word unpacking of 64 channels of 4 rows at a time, so a block of
 *   64 channels (and of 32) holds its channels in unpack order (lane_channel); the weights and
 *   constants follow it, and the int8 store undoes it for free: the saturating packs of the 4
 *   vectors of a block are the inverse in-lane interleave (int32 outputs are transposed back).
 *   16 channels take 4 columns per unpack; fewer, and M > 1, go in order.
 * - Pairing (stride_h 1 or 2, dilation_h 1, 3 filter rows or fewer): the two output rows of an
 *   item share one V of 4 input rows, with the filter rows in fields 0.. for the first and
 *   stride_h.. for the second. With stride 2 the second row's last filter row is in the next
 *   item's V, which the item builds and the next one of the same run call reuses. Both rows are
 *   computed in one pass over V, sharing its loads and the requantization constants.
 * - Requantization: per lane, with constants made in the packing; double rounding is fused into
 *   one 64-bit computation per lane, the output offset folded in when that cannot overflow (see
 *   rq_lanes); clamped at the store.
 * AVX2 keeps one output row per item and ops/x86/qnn_simd.h's dv_rq8_apply.
 *
 * Exactness. The packed path needs every weight to fit (s8; AVX2 int16), the padding value to
 * fit (input_offset in [-127, 128]; AVX2 [-32767, 32768]), and the data to fit: int8 data
 * always does, int32 data is checked as it is packed (s8; AVX2 int16). An item whose data does
 * not fit, and every item when the weights or the offset do not, is computed by the exact path:
 * per pixel and block of 8 channels, bias + sum w * (x + input_offset) with vpmulld and vpaddd
 * (the low 32 bits, the reference's uint32 arithmetic for every value) and dv_rq8. Requantized
 * values are clamped to [act_min, act_max], inside [-128, 127], so storing them as int8 is
 * dv_store_i8's narrowing.
 *
 * Scratch: the packing (when the session did not make it), the exact path's tap offsets, Q, V
 * (two when pairing with stride 2) and, for int32 data (VNNI), 4 input rows narrowed to bytes. */
#if defined(__x86_64__)

#include <string.h>

#include "../qnn.h"
#include "../qnn_attrs.h"
#include "../variant.h"
#include "qnn_simd.h"

/* Scratch beyond this many bytes: the variant declines and the reference runs. */
#define LIMIT_BYTES ((uint64_t)1 << 28)

/* What distinguishes the two instruction sets. */
typedef struct {
    size_t lanes;                   /* output channels per vector */
    size_t rows;                    /* filter rows per packed element */
    int64_t offset_lo, offset_hi;   /* the input_offsets whose padding value fits */
    int64_t value_lo, value_hi;     /* the weights (and int32 data) that fit */
    int64_t corr_shift;             /* corr = bias + (input_offset - corr_shift) * sum(w) */
} dw_isa;

static const dw_isa vnni_isa = {16, 4, -127, 128, -128, 127, 128};
static const dw_isa avx2_isa = {8, 2, -32767, 32768, -32768, 32767, 0};

typedef struct {
    size_t batches, in_h, in_w, channels, out_h, out_w, oc, mult;
    size_t kh, kw, sh, sw, dh, dw, pt, pl;
    int32_t input_offset;
    dv_requant_op rq;
    int offset_fits;
    size_t lanes, rows, groups;     /* groups: packed elements per filter column */
    int pair;                       /* VNNI, stride_h 1 or 2, dilation_h 1, kh <= 3: the output
                                     * rows oy, oy + 1 of an item read input rows y0 .. y0 + sh + kh
                                     * - 1. V holds y0 .. y0 + 3, with the filter rows in fields
                                     * 0..kh-1 for the first and sh..sh+kh-1 for the second; the
                                     * rest of the second's (pair_v2) come from the next item's V,
                                     * rows y0 + 4.., kept between the items of one call */
    int pair_v2;
    size_t rows_per_item, items_per_batch;
    size_t ocp, blocks;             /* elements per column; vectors per pixel (1 when shared) */
    size_t vectors;                 /* vectors per output row when pixels share one */
    size_t wp, phases, phase_cols, plane;   /* plane: elements per (group, phase), with slack */
    int permuted;                   /* VNNI, ocp >= 16, M = 1: blocks of 64 and 32 channels in
                                     * unpack order */
    /* the packing, bytes from its start: a flag (every weight fits), the packed weights, the
     * per-lane corrections, multipliers and shifts, then the constants as given */
    size_t wq_at, wq2_at, wq3_at, corr_at, mul_at, shift_at, filter_at, bias_at, multiplier_at, shift_raw_at;
    size_t rq_at;                   /* VNNI: each vector position's requantization constants */
    size_t packed_bytes;
    /* the scratch after the packing: the exact path's tap offsets, Q, V, and (VNNI) int32 input
     * rows narrowed to bytes */
    size_t taps_at, q_at, v_at, v2_at, rows_at, scratch_bytes;
} dw_plan;

/* The requantization constants of one vector position (VNNI), per lane, in one of three forms
 * (enum rq_form). m_odd holds the odd lanes' multipliers in the even positions, as vpmuldq reads
 * them; the v[] are 64-bit lanes (even lanes' values, then odd lanes') unless said otherwise.
 *
 * RQ_DOUBLE (double rounding, no multiplier INT32_MIN). With a = x << left, P = a * m (64-bit)
 * and h = floor((P + 2^30) / 2^31), quant.h's SaturatingRoundingDoublingHighMul (it saturates
 * only for a = m = INT32_MIN), RoundingDivideByPOT(h, r) is floor((h + 2^(r-1)) / 2^r) for
 * h >= 0 and floor((h + 2^(r-1) - 1) / 2^r) for h < 0 when r > 0, and h when r = 0. Since
 * floor((floor(Y / 2^31) + c) / 2^r) = floor((Y + c 2^31) / 2^(31 + r)) for integers Y, c:
 *     q = (P + K - [P < -2^30] 2^31) >> (31 + r)       (arithmetic, 64-bit)
 * with K = 2^30 + 2^(30 + r) when r > 0 (the condition is h < 0), K = 2^30 and no condition when
 * r = 0. |P| < 2^62, so nothing overflows. The output offset c is folded in as K + c 2^(31 + r)
 * (the low 32 bits of the quotient are then q + c modulo 2^32, the reference's wrapping add)
 * when every lane has |c| 2^(31 + r) <= 2^60, so that the sum stays below 2^63.
 *     v[0], v[1] K; v[2], v[3] the threshold -2^30 (INT64_MIN when r = 0); v[4], v[5] 31 + r;
 *     v[6] the left shifts (32-bit lanes).
 * RQ_SINGLE: q = (x * m + 2^(t - 1)) >> t with t = 31 - shift, the offset folded alike when
 * |c| 2^t <= 2^60. v[0], v[1] the rounding terms; v[4], v[5] t.
 * RQ_SATURATING (double rounding with some multiplier INT32_MIN): dv_rq16_prepare's constants in
 * 32-bit lanes, v[0] left, v[1] right, v[2] mask, v[3] half; the offset added apart. */
typedef struct {
    int32_t m[16], m_odd[16], v[7][16];
} rq_lanes;

enum rq_form { RQ_DOUBLE, RQ_SINGLE, RQ_SATURATING };

enum { FLAG_WEIGHTS_FIT, FLAG_ANY_LEFT, FLAG_FORM, FLAG_FOLDED, N_FLAGS };

/* a * b, or LIMIT_BYTES + 1 when that is larger */
static uint64_t cap_mul(uint64_t a, uint64_t b)
{
    return a && b > LIMIT_BYTES / a ? LIMIT_BYTES + 1 : a * b;
}

static uint64_t cap_add(uint64_t a, uint64_t b)
{
    return a > LIMIT_BYTES || b > LIMIT_BYTES ? LIMIT_BYTES + 1 : a + b;
}

static uint64_t round64(uint64_t v)
{
    return (v + 63) / 64 * 64;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* The plan of an instance that infer accepted; 0 when its scratch is beyond the limit. */
static int plan(dw_plan *p, const dw_isa *isa, const dv_attrs *attrs, const dv_shape *in)
{
    const int32_t *a = attrs->v;
    memset(p, 0, sizeof *p);
    p->batches = in[0].dim[0];
    p->in_h = in[0].dim[1];
    p->in_w = in[0].dim[2];
    p->channels = in[0].dim[3];
    p->kh = in[1].dim[1];
    p->kw = in[1].dim[2];
    p->oc = in[1].dim[3];
    p->mult = (size_t)a[QDW_DEPTH_MULTIPLIER];
    p->sh = (size_t)a[QC_STRIDE_H];
    p->sw = (size_t)a[QC_STRIDE_W];
    p->dh = (size_t)a[QC_DILATION_H];
    p->dw = (size_t)a[QC_DILATION_W];
    p->pt = (size_t)a[QC_PAD_TOP];
    p->pl = (size_t)a[QC_PAD_LEFT];
    p->out_h = (p->in_h + p->pt + (size_t)a[QC_PAD_BOTTOM] - ((p->kh - 1) * p->dh + 1)) / p->sh + 1;
    p->out_w = (p->in_w + p->pl + (size_t)a[QC_PAD_RIGHT] - ((p->kw - 1) * p->dw + 1)) / p->sw + 1;
    p->input_offset = a[QC_INPUT_OFFSET];
    p->rq = (dv_requant_op){a[QC_ROUNDING], a[QC_OUTPUT_OFFSET], a[QC_ACT_MIN], a[QC_ACT_MAX]};
    p->offset_fits = p->input_offset >= isa->offset_lo && p->input_offset <= isa->offset_hi;
    p->lanes = isa->lanes;
    p->rows = isa->rows;
    p->groups = (p->kh + p->rows - 1) / p->rows;
    p->pair = p->rows == 4 && (p->sh == 1 || p->sh == 2) && p->dh == 1 && p->kh <= 3;
    p->pair_v2 = p->pair && p->sh + p->kh > 4;
    p->rows_per_item = p->pair ? 2 : 1;
    p->items_per_batch = (p->out_h + p->rows_per_item - 1) / p->rows_per_item;
    if (p->oc >= p->lanes) {
        p->ocp = (p->oc + p->lanes - 1) / p->lanes * p->lanes;
        p->blocks = p->ocp / p->lanes;
    } else {
        p->ocp = 1;
        while (p->ocp < p->oc)
            p->ocp *= 2;
        p->blocks = 1;
    }
    p->permuted = p->lanes == 16 && p->ocp >= 16 && p->mult == 1;
    p->vectors = (p->out_w * p->ocp + p->lanes - 1) / p->lanes;
    p->wp = (p->out_w - 1) * p->sw + (p->kw - 1) * p->dw + 1;
    p->phases = min_size(p->sw, p->wp);
    p->phase_cols = (p->wp + p->sw - 1) / p->sw;
    p->plane = (size_t)cap_add(cap_mul(p->phase_cols, p->ocp), p->lanes);

    const uint64_t taps = cap_mul(p->kh, p->kw);
    const uint64_t lane_bytes = (uint64_t)p->blocks * p->lanes * 4;
    uint64_t at = 64;
    p->wq_at = (size_t)at;
    at = cap_add(at, round64(cap_mul(cap_mul(p->groups, p->kw), lane_bytes)));
    p->wq2_at = (size_t)at;
    if (p->pair)
        at = cap_add(at, round64(cap_mul(cap_mul(p->groups, p->kw), lane_bytes)));
    p->wq3_at = (size_t)at;
    if (p->pair_v2)
        at = cap_add(at, round64(cap_mul(cap_mul(p->groups, p->kw), lane_bytes)));
    p->corr_at = (size_t)at;
    at = cap_add(at, round64(lane_bytes));
    p->mul_at = (size_t)at;
    at = cap_add(at, round64(lane_bytes));
    p->shift_at = (size_t)at;
    at = cap_add(at, round64(lane_bytes));
    p->filter_at = (size_t)at;
    at = cap_add(at, round64(cap_mul(taps, (uint64_t)p->oc * 4)));
    p->bias_at = (size_t)at;
    at = cap_add(at, round64((uint64_t)p->oc * 4));
    p->multiplier_at = (size_t)at;
    at = cap_add(at, round64((uint64_t)p->oc * 4));
    p->shift_raw_at = (size_t)at;
    at = cap_add(at, round64((uint64_t)p->oc * 4));
    p->rq_at = (size_t)at;
    if (p->lanes == 16)
        at = cap_add(at, cap_mul(p->blocks, sizeof(rq_lanes)));
    p->packed_bytes = (size_t)at;
    p->taps_at = (size_t)at;
    at = cap_add(at, round64(cap_mul(taps, 2 * sizeof(size_t))));
    p->q_at = (size_t)at;
    if (p->offset_fits) {
        if (p->mult > 1)
            at = cap_add(at, round64(cap_mul(p->wp, (uint64_t)p->channels * 4)));
        const uint64_t v_bytes = round64(cap_mul(cap_mul(p->groups, p->phases), (uint64_t)p->plane * 4));
        p->v_at = (size_t)at;
        at = cap_add(at, v_bytes);
        p->v2_at = (size_t)at;
        if (p->pair_v2)
            at = cap_add(at, v_bytes);
        p->rows_at = (size_t)at;
        if (p->lanes == 16)
            at = cap_add(at, round64(cap_mul(4 * (uint64_t)p->in_w, p->channels)));
    }
    p->scratch_bytes = (size_t)at;
    return at <= LIMIT_BYTES;
}

/* The output channel of lane l of block b. When permuted, a block of 64 channels is stored as
 * the 4 vectors of its in-lane unpacking: vector k, lane 4L + j holds channel 16L + 4k + j; a
 * block of 32 likewise with 256-bit halves (vector k of 8 lanes); the last 16 are in order. */
static size_t lane_channel(const dw_plan *p, size_t b, size_t l)
{
    if (p->ocp < p->lanes)
        return l % p->ocp;
    const size_t f = b * p->lanes + l, full = p->ocp / 64 * 64;
    if (!p->permuted)
        return f;
    if (f < full) {
        const size_t r = f % 64;
        return f - r + 16 * (r % 16 / 4) + 4 * (r / 16) + r % 4;
    }
    if (p->ocp - full >= 32 && f < full + 32) {
        const size_t r = f - full;
        return full + 16 * (r % 8 / 4) + 4 * (r / 8) + r % 4;
    }
    return f;
}

static int32_t value_at(const dv_tensor *t, size_t i)
{
    return t->i8 ? t->i8[i] : t->data[i];
}

/* The rq_lanes of every vector position, from the lane-ordered multipliers and shifts, and
 * the flags that say which form they take. */
static void pack_requantization(const dw_plan *p, const int32_t *lane_mul, const int32_t *lane_shift,
                                rq_lanes *rq, int32_t *flags)
{
    const size_t n = p->blocks * 16;
    const int64_t c = p->rq.output_offset;
    const uint64_t c_abs = c < 0 ? (uint64_t)(-c) : (uint64_t)c;
    int form = p->rq.rounding == DV_ROUND_DOUBLE ? RQ_DOUBLE : RQ_SINGLE;
    int folded = 1;
    for (size_t i = 0; i < n; i++) {
        const int s = dv_clamp_shift(lane_shift[i]);
        const int t = form == RQ_SINGLE ? 31 - s : 31 + (s > 0 ? 0 : -s);
        folded &= t <= 60 && c_abs <= ((uint64_t)1 << (60 - t));
        if (form == RQ_DOUBLE && lane_mul[i] == INT32_MIN)
            form = RQ_SATURATING;
    }
    folded &= form != RQ_SATURATING;
    flags[FLAG_FORM] = form;
    flags[FLAG_FOLDED] = folded;
    for (size_t i = 0; i < n; i++) {
        rq_lanes *r = &rq[i / 16];
        const size_t l = i % 16, q = l / 2 + (l % 2) * 8;   /* 64-bit slot: even, then odd */
        const int s = dv_clamp_shift(lane_shift[i]);
        const int left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
        int64_t *v64 = (int64_t *)(void *)r->v;
        r->m[l] = lane_mul[i];
        r->m_odd[l] = l % 2 ? 0 : lane_mul[i + 1];
        flags[FLAG_ANY_LEFT] |= left > 0;
        if (form == RQ_SATURATING) {
            r->v[0][l] = left;
            r->v[1][l] = right;
            r->v[2][l] = (int32_t)(((uint32_t)1 << right) - 1);
            r->v[3][l] = r->v[2][l] >> 1;
            continue;
        }
        /* q: lane l's 64-bit slot within v[2k] (even lanes) or v[2k + 1] (odd lanes), as
         * eight int64 per vector */
        const int t = form == RQ_SINGLE ? 31 - s : 31 + right;
        int64_t k = form == RQ_SINGLE ? (int64_t)1 << (t - 1)
                                      : ((int64_t)1 << 30) + (right ? (int64_t)1 << (30 + right) : 0);
        if (folded)
            k += c * ((int64_t)1 << t);
        v64[q] = k;
        v64[16 + q] = right ? -((int64_t)1 << 30) : INT64_MIN;
        v64[32 + q] = t;
        r->v[6][l] = left;
    }
}

/* Packs the filter, bias, multiplier and shift (inputs 1 to 4). */
static void dw_pack(const dw_plan *p, const dw_isa *isa, const dv_tensor *in, uint8_t *packed)
{
    int32_t *filter = (int32_t *)(void *)(packed + p->filter_at);
    int32_t *bias = (int32_t *)(void *)(packed + p->bias_at);
    int32_t *multiplier = (int32_t *)(void *)(packed + p->multiplier_at);
    int32_t *shift = (int32_t *)(void *)(packed + p->shift_raw_at);
    int32_t *wq = (int32_t *)(void *)(packed + p->wq_at);
    int32_t *corr = (int32_t *)(void *)(packed + p->corr_at);
    int32_t *lane_mul = (int32_t *)(void *)(packed + p->mul_at);
    int32_t *lane_shift = (int32_t *)(void *)(packed + p->shift_at);
    const size_t taps = p->kh * p->kw, oc = p->oc, lanes = p->lanes;
    int32_t ok = 1;
    for (size_t i = 0; i < taps * oc; i++) {
        filter[i] = value_at(&in[1], i);
        ok &= filter[i] >= isa->value_lo && filter[i] <= isa->value_hi;
    }
    for (size_t o = 0; o < oc; o++) {
        bias[o] = value_at(&in[2], o);
        multiplier[o] = value_at(&in[3], o);
        shift[o] = value_at(&in[4], o);
    }
    const uint32_t scale = (uint32_t)((int64_t)p->input_offset - isa->corr_shift);
    for (size_t b = 0; b < p->blocks; b++) {
        for (size_t l = 0; l < lanes; l++) {
            const size_t i = b * lanes + l, o = lane_channel(p, b, l);
            uint32_t sum = 0;
            if (o < oc)
                for (size_t t = 0; t < taps; t++)
                    sum += (uint32_t)filter[t * oc + o];
            corr[i] = o < oc ? dv_qnn_as_int32((uint32_t)bias[o] + scale * sum) : 0;
            lane_mul[i] = o < oc ? multiplier[o] : 0;
            lane_shift[i] = o < oc ? shift[o] : 0;
        }
    }
    const unsigned bits = isa->rows == 4 ? 8 : 16;
    const uint32_t field = isa->rows == 4 ? 0xFFu : 0xFFFFu;
    /* pairing: set 1 for the second row's fields in V (filter row ky in field sh + ky), set 2
     * for its fields in the next V (field sh + ky - 4) */
    for (size_t set = 0; set < (p->pair_v2 ? 3u : p->pair ? 2u : 1u); set++) {
        int32_t *dst = set == 2 ? (int32_t *)(void *)(packed + p->wq3_at)
                       : set ? (int32_t *)(void *)(packed + p->wq2_at) : wq;
        const size_t first = set == 0 ? 0 : p->sh;     /* V's row = ky + first */
        for (size_t g = 0; g < p->groups; g++)
            for (size_t kx = 0; kx < p->kw; kx++)
                for (size_t b = 0; b < p->blocks; b++)
                    for (size_t l = 0; l < lanes; l++) {
                        const size_t o = lane_channel(p, b, l);
                        uint32_t e = 0;
                        for (size_t r = 0; r < p->rows && o < oc; r++) {
                            const size_t row = g * p->rows + r + (set == 2 ? 4 : 0);
                            if (row < first)
                                continue;
                            const size_t ky = row - first;
                            if (ky < p->kh)
                                e |= ((uint32_t)filter[(ky * p->kw + kx) * oc + o] & field)
                                     << (bits * r);
                        }
                        dst[((g * p->kw + kx) * p->blocks + b) * lanes + l] = dv_qnn_as_int32(e);
                    }
    }
    int32_t flags[N_FLAGS] = {0};
    flags[FLAG_WEIGHTS_FIT] = ok;
    if (lanes == 16)
        pack_requantization(p, lane_mul, lane_shift, (rq_lanes *)(void *)(packed + p->rq_at), flags);
    memcpy(packed, flags, sizeof flags);
}

/* The input rows of group g of output row (n, oy): a pointer to the start of each row inside
 * the input (int8 or int32, as the data is stored), or none for a row of padding (or past the
 * filter), whose value `pad` then stands in its field of `pad_word`. */
typedef struct {
    const int8_t *r8[4];
    const int32_t *r32[4];
    uint32_t pad_word;
} group_rows;

static void rows_of(const dw_plan *p, const dv_tensor *x, size_t n, size_t oy, size_t g,
                    unsigned bits, uint32_t pad, group_rows *r)
{
    const int64_t y0 = (int64_t)(oy * p->sh) - (int64_t)p->pt;
    r->pad_word = 0;
    for (size_t k = 0; k < 4; k++) {
        const size_t ky = g * p->rows + k;
        const int64_t iy = y0 + (int64_t)(ky * p->dh);
        r->r8[k] = NULL;
        r->r32[k] = NULL;
        if (k >= p->rows)
            continue;
        if (ky < p->kh && iy >= 0 && iy < (int64_t)p->in_h) {
            const size_t at = (n * p->in_h + (size_t)iy) * p->in_w * p->channels;
            if (x->i8)
                r->r8[k] = x->i8 + at;
            else
                r->r32[k] = x->data + at;
        } else {
            r->pad_word |= pad << (bits * k);
        }
    }
}

/* ---- AVX-512 VNNI --------------------------------------------------------------------------- */

/* One group of 4 input rows as bytes: a row's start (column 0, channel 0), or NULL for a row of
 * padding (or past the filter). Stored bytes become u8 = x + 128 by an xor with `flip` (0x80 for
 * an int8 tensor; 0 for int32 rows narrowed as x + 128). */
typedef struct {
    const uint8_t *row[4];
    uint8_t flip, pad;          /* pad: 128 - input_offset */
} byte_rows;

DV_TARGET_VNNI DV_INLINE void vnni_fill(int32_t *dst, size_t n, uint32_t value)
{
    const __m512i v = _mm512_set1_epi32((int32_t)value);
    for (size_t i = 0; i < n; i += 16)
        _mm512_mask_storeu_epi32(dst + i, dv_lanes16((uint32_t)min_size(n - i, 16)), v);
}

/* An int32 input row as bytes x + 128; 0 when a value is outside [-128, 127]. */
DV_TARGET_VNNI static int vnni_narrow(const int32_t *src, size_t n, uint8_t *dst)
{
    const __m512i half = _mm512_set1_epi32(128);
    __m512i seen = _mm512_setzero_si512();
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = dv_lanes16((uint32_t)min_size(n - i, 16));
        const __m512i t = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, src + i), half);
        seen = _mm512_or_si512(seen, t);
        _mm512_mask_cvtepi32_storeu_epi8(dst + i, m, t);
    }
    return _mm512_test_epi32_mask(seen, _mm512_set1_epi32(~0xFF)) == 0;
}

/* The packed elements of `count` consecutive bytes of the rows, from `at` on (the bytes past
 * count read as 0): the rows' bytes interleaved by in-lane unpacking. 16 bytes give 16 elements
 * in order; 32 and 64 give the unpack order of lane_channel. */
#define ROW_SOURCE(load, xor_, set1)                                                               \
    for (int k = 0; k < 4; k++)                                                                    \
        s[k] = r->row[k] ? xor_(load(k), set1((char)r->flip)) : set1((char)r->pad);

DV_TARGET_VNNI DV_INLINE void vnni_block64(const byte_rows *r, size_t at, size_t count, int32_t *dst)
{
    const __mmask64 m = count >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << count) - 1);
    __m512i s[4];
#define LOAD64(k) _mm512_maskz_loadu_epi8(m, r->row[k] + at)
    ROW_SOURCE(LOAD64, _mm512_xor_si512, _mm512_set1_epi8)
#undef LOAD64
    const __m512i lo01 = _mm512_unpacklo_epi8(s[0], s[1]), hi01 = _mm512_unpackhi_epi8(s[0], s[1]);
    const __m512i lo23 = _mm512_unpacklo_epi8(s[2], s[3]), hi23 = _mm512_unpackhi_epi8(s[2], s[3]);
    _mm512_storeu_si512((void *)dst, _mm512_unpacklo_epi16(lo01, lo23));
    _mm512_storeu_si512((void *)(dst + 16), _mm512_unpackhi_epi16(lo01, lo23));
    _mm512_storeu_si512((void *)(dst + 32), _mm512_unpacklo_epi16(hi01, hi23));
    _mm512_storeu_si512((void *)(dst + 48), _mm512_unpackhi_epi16(hi01, hi23));
}

DV_TARGET_VNNI DV_INLINE void vnni_block32(const byte_rows *r, size_t at, size_t count, int32_t *dst)
{
    const __mmask32 m = count >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << count) - 1);
    __m256i s[4];
#define LOAD32(k) _mm256_maskz_loadu_epi8(m, r->row[k] + at)
    ROW_SOURCE(LOAD32, _mm256_xor_si256, _mm256_set1_epi8)
#undef LOAD32
    const __m256i lo01 = _mm256_unpacklo_epi8(s[0], s[1]), hi01 = _mm256_unpackhi_epi8(s[0], s[1]);
    const __m256i lo23 = _mm256_unpacklo_epi8(s[2], s[3]), hi23 = _mm256_unpackhi_epi8(s[2], s[3]);
    _mm256_storeu_si256((__m256i *)(void *)dst, _mm256_unpacklo_epi16(lo01, lo23));
    _mm256_storeu_si256((__m256i *)(void *)(dst + 8), _mm256_unpackhi_epi16(lo01, lo23));
    _mm256_storeu_si256((__m256i *)(void *)(dst + 16), _mm256_unpacklo_epi16(hi01, hi23));
    _mm256_storeu_si256((__m256i *)(void *)(dst + 24), _mm256_unpackhi_epi16(hi01, hi23));
}

/* 16 elements in order, `stores` of them stored. */
DV_TARGET_VNNI DV_INLINE void vnni_block16(const byte_rows *r, size_t at, size_t count, int32_t *dst,
                                           size_t stores)
{
    const __mmask16 m = dv_lanes16((uint32_t)count);
    __m128i s[4];
#define LOAD16(k) _mm_maskz_loadu_epi8(m, r->row[k] + at)
    ROW_SOURCE(LOAD16, _mm_xor_si128, _mm_set1_epi8)
#undef LOAD16
    const __m128i lo01 = _mm_unpacklo_epi8(s[0], s[1]), hi01 = _mm_unpackhi_epi8(s[0], s[1]);
    const __m128i lo23 = _mm_unpacklo_epi8(s[2], s[3]), hi23 = _mm_unpackhi_epi8(s[2], s[3]);
    __m512i e = _mm512_castsi128_si512(_mm_unpacklo_epi16(lo01, lo23));
    e = _mm512_inserti32x4(e, _mm_unpackhi_epi16(lo01, lo23), 1);
    e = _mm512_inserti32x4(e, _mm_unpacklo_epi16(hi01, hi23), 2);
    e = _mm512_inserti32x4(e, _mm_unpackhi_epi16(hi01, hi23), 3);
    _mm512_mask_storeu_epi32(dst, dv_lanes16((uint32_t)stores), e);
}
#undef ROW_SOURCE

/* Packs the padded columns [0, wp) of one group of rows: column ixp at
 * base + (ixp % sw) * plane + (ixp / sw) * stride, `stride` elements of which the first
 * `channels` come from data channels, in lane_channel's order when `permuted`, else in order. */
DV_TARGET_VNNI DV_INLINE void vnni_columns(const dw_plan *p, const byte_rows *r, int32_t *base,
                                           size_t phases, size_t plane, size_t stride,
                                           int permuted, uint32_t pad_quad)
{
    const size_t c = p->channels, wp = p->wp, pl = p->pl, in_w = p->in_w;
    if (!permuted && phases == 1 && stride == c) {
        /* the columns inside the input are one run of elements */
        const size_t lo = min_size(pl, wp), hi = min_size(pl + in_w, wp) > lo ? min_size(pl + in_w, wp) : lo;
        vnni_fill(base, lo * c, pad_quad);
        const size_t total = (hi - lo) * c;
        for (size_t e = 0; e < total; e += 16) {
            const size_t count = min_size(total - e, 16);
            vnni_block16(r, e, count, base + lo * c + e, count);
        }
        vnni_fill(base + hi * c, (wp - hi) * c, pad_quad);
        return;
    }
    const size_t full = stride / 64 * 64;
    if (c == 16 && stride == 16) {
        /* 16 channels: 4 columns at a time (64 consecutive bytes of each row), then each column's
         * 4 quarters gathered from the 4 unpacked vectors */
        size_t ph = 0, idx = 0;
        for (size_t ixp = 0; ixp < wp;) {
            if (ixp >= pl && ixp + 4 <= pl + in_w && ixp + 4 <= wp) {
                __m512i s[4];
                for (int k = 0; k < 4; k++)
                    s[k] = r->row[k] ? _mm512_xor_si512(
                                           _mm512_loadu_si512((const void *)(r->row[k] + (ixp - pl) * 16)),
                                           _mm512_set1_epi8((char)r->flip))
                                     : _mm512_set1_epi8((char)r->pad);
                const __m512i lo01 = _mm512_unpacklo_epi8(s[0], s[1]), hi01 = _mm512_unpackhi_epi8(s[0], s[1]);
                const __m512i lo23 = _mm512_unpacklo_epi8(s[2], s[3]), hi23 = _mm512_unpackhi_epi8(s[2], s[3]);
                const __m512i q0 = _mm512_unpacklo_epi16(lo01, lo23), q1 = _mm512_unpackhi_epi16(lo01, lo23);
                const __m512i q2 = _mm512_unpacklo_epi16(hi01, hi23), q3 = _mm512_unpackhi_epi16(hi01, hi23);
                /* q_k's lane L: column L's channels 4k..4k+3 */
                const __m512i t0 = _mm512_shuffle_i32x4(q0, q1, _MM_SHUFFLE(1, 0, 1, 0));
                const __m512i t1 = _mm512_shuffle_i32x4(q2, q3, _MM_SHUFFLE(1, 0, 1, 0));
                const __m512i t2 = _mm512_shuffle_i32x4(q0, q1, _MM_SHUFFLE(3, 2, 3, 2));
                const __m512i t3 = _mm512_shuffle_i32x4(q2, q3, _MM_SHUFFLE(3, 2, 3, 2));
                const __m512i col[4] = {_mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0)),
                                        _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)),
                                        _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0)),
                                        _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1))};
                for (int l = 0; l < 4; l++) {
                    _mm512_storeu_si512((void *)(base + ph * plane + idx * 16), col[l]);
                    ixp++;
                    if (++ph == p->sw) {
                        ph = 0;
                        idx++;
                    }
                }
                continue;
            }
            int32_t *dst = base + ph * plane + idx * 16;
            if (ixp < pl || ixp - pl >= in_w)
                vnni_fill(dst, 16, pad_quad);
            else
                vnni_block16(r, (ixp - pl) * 16, 16, dst, 16);
            ixp++;
            if (++ph == p->sw) {
                ph = 0;
                idx++;
            }
        }
        return;
    }
    for (size_t ph = 0; ph < phases; ph++) {
        int32_t *col = base + ph * plane;
        for (size_t ixp = ph; ixp < wp; ixp += p->sw, col += stride) {
            if (ixp < pl || ixp - pl >= in_w) {
                vnni_fill(col, stride, pad_quad);
                continue;
            }
            const size_t at = (ixp - pl) * c;
            size_t c0 = 0;
#define REAL(width) (c > c0 ? min_size(c - c0, width) : 0)
            if (permuted) {
                for (; c0 < full; c0 += 64)
                    vnni_block64(r, at + c0, REAL(64), col + c0);
                if (stride - c0 >= 32) {
                    vnni_block32(r, at + c0, REAL(32), col + c0);
                    c0 += 32;
                }
            }
            for (; c0 < stride; c0 += 16)
                vnni_block16(r, at + c0, REAL(16), col + c0, min_size(stride - c0, 16));
#undef REAL
        }
    }
}

/* Copies each data channel's element of Q to its M output channels in V (depth multiplier M > 1),
 * and fills the channels [oc, ocp). */
DV_TARGET_VNNI static void vnni_expand(const dw_plan *p, const int32_t *q, int32_t *planes,
                                       uint32_t pad_quad)
{
    const size_t c = p->channels, mult = p->mult, oc = p->oc, ocp = p->ocp, wp = p->wp;
    const size_t sw = p->sw, plane = p->plane, phases = p->phases;
    const __m512i padv = _mm512_set1_epi32((int32_t)pad_quad);
    for (size_t ph = 0; ph < phases; ph++) {
        int32_t *col = planes + ph * plane;
        for (size_t ixp = ph; ixp < wp; ixp += sw, col += ocp) {
            const int32_t *src = q + ixp * c;
            if (c == 1 && ocp <= 16) {
                /* the first layer of a network: one channel */
                const __m512i e = _mm512_mask_set1_epi32(padv, dv_lanes16((uint32_t)mult), src[0]);
                _mm512_mask_storeu_epi32(col, dv_lanes16((uint32_t)ocp), e);
                continue;
            }
            for (size_t ch = 0; ch < c; ch++) {
                const __m512i e = _mm512_set1_epi32(src[ch]);
                for (size_t m = 0; m < mult; m += 16)
                    _mm512_mask_storeu_epi32(col + ch * mult + m,
                                             dv_lanes16((uint32_t)min_size(mult - m, 16)), e);
            }
            for (size_t o = oc; o < ocp; o += 16)
                _mm512_mask_storeu_epi32(col + o, dv_lanes16((uint32_t)min_size(ocp - o, 16)), padv);
        }
    }
}

/* Packs V for output row (n, oy); 0 when an int32 value does not fit. */
DV_TARGET_VNNI static int vnni_build(const dw_plan *p, const dv_tensor *x, size_t n, size_t oy,
                                     uint8_t *rows, int32_t *q, int32_t *v)
{
    const size_t row_len = p->in_w * p->channels;
    const int64_t y0 = (int64_t)(oy * p->sh) - (int64_t)p->pt;
    byte_rows r;
    r.pad = (uint8_t)(uint32_t)(128 - (int64_t)p->input_offset);
    r.flip = x->i8 ? 0x80 : 0;
    const uint32_t pad_quad = r.pad * 0x01010101u;
    const size_t rows_read = p->pair ? min_size(4, p->sh + p->kh) : p->kh;
    for (size_t g = 0; g < p->groups; g++) {
        for (size_t k = 0; k < 4; k++) {
            const size_t ky = g * 4 + k;
            const int64_t iy = y0 + (int64_t)(ky * p->dh);
            r.row[k] = NULL;
            if (ky >= rows_read || iy < 0 || iy >= (int64_t)p->in_h)
                continue;
            const size_t at = (n * p->in_h + (size_t)iy) * row_len;
            if (x->i8) {
                r.row[k] = (const uint8_t *)x->i8 + at;
            } else {
                if (!vnni_narrow(x->data + at, row_len, rows + k * row_len))
                    return 0;
                r.row[k] = rows + k * row_len;
            }
        }
        int32_t *planes = v + g * p->phases * p->plane;
        if (p->mult == 1) {
            vnni_columns(p, &r, planes, p->phases, p->plane, p->ocp, p->permuted, pad_quad);
        } else {
            /* each data channel's element, then copied to its M output channels */
            vnni_columns(p, &r, q, 1, 0, p->channels, 0, pad_quad);
            vnni_expand(p, q, planes, pad_quad);
        }
        /* what the last vectors read past the columns: defined values, never stored */
        for (size_t ph = 0; ph < p->phases; ph++) {
            const size_t cols = (p->wp - ph + p->sw - 1) / p->sw;
            vnni_fill(planes + ph * p->plane + cols * p->ocp, p->plane - cols * p->ocp, 0);
        }
    }
    return 1;
}

/* What the compute loops share. */
typedef struct {
    const int32_t *v, *v2;      /* V, and the next item's V (pair_v2) */
    const int32_t *tap[4], *tap2[4];   /* for up to 4 taps (3x3): where tap t of output pixel 0
                                        * starts in V and in v2 */
    const int32_t *wq, *wq2, *wq3, *corr;   /* wq2, wq3: the second row's weights (pairing) in V
                                             * and in v2 */
    const rq_lanes *rq;
    int form, any_left, folded;
    __m512i out_offset;
    int8_t act_min, act_max;
} vnni_job;

/* One vector position's rq_lanes in registers. */
typedef struct {
    __m512i m, m_odd, v[7];
} rq_regs;

/* Loads the constants the form uses. The empty asm keeps each in a register: without it the
 * compiler folds every use into a memory operand, and with two output rows (pairing) sharing
 * them, the loads are what limits the loop. */
DV_TARGET_VNNI DV_INLINE void vnni_rq_load(rq_regs *c, const rq_lanes *r, int form, int any_left)
{
#define LOAD(dst, src)                                                                             \
    do {                                                                                           \
        dst = _mm512_load_si512((const void *)(src));                                              \
        __asm__("" : "+v"(dst));                                                                   \
    } while (0)
    LOAD(c->m, r->m);
    LOAD(c->m_odd, r->m_odd);
    DV_UNROLL for (int i = 0; i < 7; i++)
        c->v[i] = _mm512_setzero_si512();
    const int used = form == RQ_SATURATING ? 4 : form == RQ_SINGLE ? 6 : 7;
    DV_UNROLL for (int i = 0; i < used; i++) {
        if ((form == RQ_SINGLE && (i == 2 || i == 3)) || (i == 6 && !any_left)) {
            c->v[i] = _mm512_setzero_si512();
            continue;
        }
        LOAD(c->v[i], r->v[i]);
    }
#undef LOAD
}

/* dv_qnn_requantize of each lane without the final clamp, which is left to the store: the
 * forms of rq_lanes. form, any_left and folded are constants where it is inlined into the
 * common case. */
DV_TARGET_VNNI DV_INLINE __m512i vnni_requantize(__m512i x, const rq_regs *r, int form,
                                                 int any_left, int folded, __m512i out_offset)
{
    const __m512i m = r->m, m_odd = r->m_odd;
    if (form == RQ_SATURATING) {
        /* as dv_rq16_apply */
        const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
        const __m512i a = any_left ? _mm512_sllv_epi32(x, r->v[0]) : x;
        const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
        const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, m), nudge);
        const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), m_odd), nudge);
        __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31),
                                            _mm512_slli_epi64(odd, 1));
        const __m512i min32 = _mm512_set1_epi32(INT32_MIN);
        const __mmask16 sat = _mm512_cmpeq_epi32_mask(a, min32) & _mm512_cmpeq_epi32_mask(m, min32);
        h = _mm512_mask_mov_epi32(h, sat, _mm512_set1_epi32(INT32_MAX));
        const __m512i half = r->v[3];
        const __m512i remainder = _mm512_and_si512(h, r->v[2]);
        const __m512i threshold =
            _mm512_mask_add_epi32(half, _mm512_cmplt_epi32_mask(h, zero), half, one);
        const __m512i q = _mm512_srav_epi32(h, r->v[1]);
        return _mm512_add_epi32(
            _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, one), out_offset);
    }
    const __m512i a = form == RQ_DOUBLE && any_left ? _mm512_sllv_epi32(x, r->v[6]) : x;
    const __m512i even = _mm512_mul_epi32(a, m);
    const __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), m_odd);
    __m512i t_even = _mm512_add_epi64(even, r->v[0]);
    __m512i t_odd = _mm512_add_epi64(odd, r->v[1]);
    if (form == RQ_DOUBLE) {
        const __m512i n = _mm512_set1_epi64((int64_t)1 << 31);
        t_even = _mm512_mask_sub_epi64(t_even, _mm512_cmplt_epi64_mask(even, r->v[2]), t_even, n);
        t_odd = _mm512_mask_sub_epi64(t_odd, _mm512_cmplt_epi64_mask(odd, r->v[3]), t_odd, n);
    }
    /* the low halves of the even and the odd 64-bit quotients, interleaved */
    const __m512i q = _mm512_permutex2var_epi32(
        _mm512_srav_epi64(t_even, r->v[4]),
        _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
        _mm512_srav_epi64(t_odd, r->v[5]));
    return folded ? q : _mm512_add_epi32(q, out_offset);
}

/* Where tap t (of the kw * groups) of output pixel 0 starts in V. */
static const int32_t *tap_start(const dw_plan *p, const int32_t *v, size_t t)
{
    const size_t kx = t % p->kw, g = t / p->kw;
    return v + (g * p->phases + kx * p->dw % p->sw) * p->plane + kx * p->dw / p->sw * p->ocp;
}

/* The accumulators of vector position pos + k for element `at` of the taps, for `rows` output
 * rows: the second (pairing) with the weights wq2 on the same loads of V, and with v2 (pair_v2)
 * also wq3 on v2. taps <= 4 read tb[t], tb2[t] and the weights wb[set][t] (16 elements further
 * per position); more compute their own. */
DV_TARGET_VNNI DV_INLINE void vnni_accumulate(const dw_plan *p, const vnni_job *j,
                                              const int32_t *const *tb, const int32_t *const *tb2,
                                              const int32_t *const (*wb)[4], size_t taps,
                                              size_t rows, int v2, size_t k, size_t pos, size_t at,
                                              __m512i *acc)
{
    const __m512i corr = _mm512_load_si512((const void *)(j->corr + (pos + k) * 16));
    for (size_t r = 0; r < rows; r++)
        acc[r] = corr;
    for (size_t t = 0; t < taps; t++) {
        const int32_t *src = taps <= 4 ? tb[t] + 16 * k : tap_start(p, j->v, t) + pos * 16 + 16 * k;
        const __m512i d = _mm512_loadu_si512((const void *)(src + at));
        for (size_t r = 0; r < rows; r++) {
            const int32_t *w = taps <= 4 ? wb[r][t] + 16 * k
                                         : (r ? j->wq2 : j->wq) + (t * p->blocks + pos + k) * 16;
            acc[r] = _mm512_dpbusd_epi32(acc[r], d, _mm512_load_si512((const void *)w));
        }
    }
    if (!v2 || rows < 2)
        return;
    for (size_t t = 0; t < taps; t++) {
        const int32_t *src = taps <= 4 ? tb2[t] + 16 * k : tap_start(p, j->v2, t) + pos * 16 + 16 * k;
        const int32_t *w = taps <= 4 ? wb[2][t] + 16 * k : j->wq3 + (t * p->blocks + pos + k) * 16;
        acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_loadu_si512((const void *)(src + at)),
                                     _mm512_load_si512((const void *)w));
    }
}

/* Stores nv requantized vectors of one pixel (channels [c0, c0 + 16 nv), valid of them) as int8
 * at d8 or int32 at d32. nv = 4 is a block of 64 in unpack order, 2 a block of 32, 1 a block of
 * 16 in order. */
DV_TARGET_VNNI DV_INLINE void vnni_store(__m512i *q, size_t nv, size_t valid, int out8, int8_t *d8,
                                         int32_t *d32, __m512i lo8, __m512i hi8, __m512i lo32,
                                         __m512i hi32)
{
    const __mmask64 m64 = valid >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << valid) - 1);
    if (out8) {
        /* the packs saturate to int8, and the clamp to [act_min, act_max] follows */
        if (nv == 4) {
            __m512i b = _mm512_packs_epi16(_mm512_packs_epi32(q[0], q[1]),
                                           _mm512_packs_epi32(q[2], q[3]));
            b = _mm512_min_epi8(_mm512_max_epi8(b, lo8), hi8);
            _mm512_mask_storeu_epi8(d8, m64, b);
        } else if (nv == 2) {
            /* after the packs, the 32 channels are in dwords 0, 8, 1, 9, 4, 12, 5, 13 */
            const __m512i order = _mm512_setr_epi32(0, 8, 1, 9, 4, 12, 5, 13, 0, 0, 0, 0, 0, 0, 0, 0);
            const __m512i w = _mm512_packs_epi32(q[0], q[1]);
            __m256i b = _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, _mm512_packs_epi16(w, w)));
            b = _mm256_min_epi8(_mm256_max_epi8(b, _mm512_castsi512_si256(lo8)),
                                _mm512_castsi512_si256(hi8));
            _mm256_mask_storeu_epi8(d8, (__mmask32)m64, b);
        } else {
            __m128i b = _mm512_cvtsepi32_epi8(q[0]);
            b = _mm_min_epi8(_mm_max_epi8(b, _mm512_castsi512_si128(lo8)), _mm512_castsi512_si128(hi8));
            _mm_mask_storeu_epi8(d8, (__mmask16)m64, b);
        }
        return;
    }
    __m512i o[4];
    DV_UNROLL for (size_t k = 0; k < nv; k++)
        q[k] = _mm512_min_epi32(_mm512_max_epi32(q[k], lo32), hi32);
    if (nv == 4) {
        const __m512i t0 = _mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i t1 = _mm512_shuffle_i32x4(q[2], q[3], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i t2 = _mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(3, 2, 3, 2));
        const __m512i t3 = _mm512_shuffle_i32x4(q[2], q[3], _MM_SHUFFLE(3, 2, 3, 2));
        o[0] = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
        o[1] = _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));
        o[2] = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0));
        o[3] = _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1));
    } else if (nv == 2) {
        o[0] = _mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(2, 0, 2, 0));
        o[1] = _mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(3, 1, 3, 1));
    } else {
        o[0] = q[0];
    }
    for (size_t k = 0; k < nv && 16 * k < valid; k++)
        _mm512_mask_storeu_epi32(d32 + 16 * k, dv_lanes16((uint32_t)(valid - 16 * k)), o[k]);
}

/* Output channels [c0, c0 + 16 nv) of every pixel of `rows` output rows (y8[r] or y32[r]), from
 * vector positions c0 / 16 on (ocp >= 16). */
DV_TARGET_VNNI DV_INLINE void vnni_group(const dw_plan *p, const vnni_job *j, size_t taps,
                                         size_t c0, size_t nv, size_t rows, int v2, int out8,
                                         int form, int any_left, int folded, int8_t *const *y8,
                                         int32_t *const *y32)
{
    const size_t oc = p->oc, ocp = p->ocp, pos = c0 / 16, ow = p->out_w;
    const size_t valid = min_size(oc - c0, 16 * nv);
    const int32_t *tb[4], *tb2[4], *wb[3][4];
    for (size_t t = 0; t < taps && t < 4; t++) {
        tb[t] = j->tap[t] + c0;
        tb2[t] = v2 ? j->tap2[t] + c0 : NULL;
        wb[0][t] = j->wq + (t * p->blocks + pos) * 16;
        wb[1][t] = j->wq2 + (t * p->blocks + pos) * 16;
        wb[2][t] = j->wq3 + (t * p->blocks + pos) * 16;
    }
    const rq_lanes *rq = j->rq + pos;
    const __m512i out_offset = j->out_offset;
    const __m512i lo8 = _mm512_set1_epi8(j->act_min), hi8 = _mm512_set1_epi8(j->act_max);
    const __m512i lo32 = _mm512_set1_epi32(j->act_min), hi32 = _mm512_set1_epi32(j->act_max);
    int8_t *d8[2] = {NULL, NULL};
    int32_t *d32[2] = {NULL, NULL};
    for (size_t r = 0; r < rows; r++) {
        if (out8)
            d8[r] = y8[r] + c0;
        else
            d32[r] = y32[r] + c0;
    }
    for (size_t ox = 0, at = 0; ox < ow; ox++, at += ocp) {
        __m512i q[2][4] = {{_mm512_setzero_si512()}};
        DV_UNROLL for (size_t k = 0; k < nv; k++) {
            __m512i acc[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
            vnni_accumulate(p, j, tb, tb2, (const int32_t *const (*)[4])wb, taps, rows, v2, k, pos,
                            at, acc);
            rq_regs c;
            vnni_rq_load(&c, &rq[k], form, any_left);
            DV_UNROLL for (size_t r = 0; r < rows; r++)
                q[r][k] = vnni_requantize(acc[r], &c, form, any_left, folded, out_offset);
        }
        DV_UNROLL for (size_t r = 0; r < rows; r++) {
            vnni_store(q[r], nv, valid, out8, d8[r], d32[r], lo8, hi8, lo32, hi32);
            if (out8)
                d8[r] += oc;
            else
                d32[r] += oc;
        }
    }
}

/* The common case, 3x3 with int8 output, double rounding and the offset folded, with everything
 * the compiler can know made constant; the rest through the general form. */
DV_TARGET_VNNI static void vnni_group_any(const dw_plan *p, const vnni_job *j, size_t taps,
                                          size_t c0, size_t nv, size_t rows, int out8,
                                          int8_t *const *y8, int32_t *const *y32)
{
    const int v2 = rows == 2 && j->v2 != NULL;
    if (taps == 3 && out8 && j->form == RQ_DOUBLE && j->folded && !j->any_left) {
#define FAST(nv_) (v2 ? vnni_group(p, j, 3, c0, nv_, 2, 1, 1, RQ_DOUBLE, 0, 1, y8, y32)             \
                  : rows == 2 ? vnni_group(p, j, 3, c0, nv_, 2, 0, 1, RQ_DOUBLE, 0, 1, y8, y32)     \
                              : vnni_group(p, j, 3, c0, nv_, 1, 0, 1, RQ_DOUBLE, 0, 1, y8, y32))
        if (nv == 4)
            FAST(4);
        else if (nv == 2)
            FAST(2);
        else
            FAST(1);
#undef FAST
        return;
    }
#define ANY(nv_)                                                                                   \
    (v2 ? vnni_group(p, j, taps, c0, nv_, 2, 1, out8, j->form, j->any_left, j->folded, y8, y32)      \
     : rows == 2                                                                                   \
         ? vnni_group(p, j, taps, c0, nv_, 2, 0, out8, j->form, j->any_left, j->folded, y8, y32)     \
         : vnni_group(p, j, taps, c0, nv_, 1, 0, out8, j->form, j->any_left, j->folded, y8, y32))
    if (nv == 4)
        ANY(4);
    else if (nv == 2)
        ANY(2);
    else
        ANY(1);
#undef ANY
}

/* ocp < 16: each vector holds 16 / ocp pixels of `rows` output rows; the lanes of channels past
 * oc are dropped. */
DV_TARGET_VNNI DV_INLINE void vnni_shared(const dw_plan *p, const vnni_job *j, size_t taps,
                                          size_t rows, int v2, int out8, int form, int any_left,
                                          int folded, int8_t *const *y8, int32_t *const *y32)
{
    const size_t oc = p->oc, ocp = p->ocp;
    const int32_t *wb[3][4];
    for (size_t t = 0; t < taps && t < 4; t++) {
        wb[0][t] = j->wq + t * 16;
        wb[1][t] = j->wq2 + t * 16;
        wb[2][t] = j->wq3 + t * 16;
    }
    __mmask16 pattern = 0;
    for (unsigned l = 0; l < 16; l++)
        pattern |= (__mmask16)((l % ocp < oc) << l);
    rq_regs c;
    vnni_rq_load(&c, j->rq, form, any_left);
    const __m512i lo32 = _mm512_set1_epi32(j->act_min), hi32 = _mm512_set1_epi32(j->act_max);
    for (size_t vec = 0; vec < p->vectors; vec++) {
        const size_t f0 = vec * 16;
        __m512i acc[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
        vnni_accumulate(p, j, j->tap, j->tap2, (const int32_t *const (*)[4])wb, taps, rows, v2, 0, 0,
                        f0, acc);
        __mmask16 keep = dv_lanes16((uint32_t)min_size(p->out_w * ocp - f0, 16));
        size_t at = f0;
        if (oc != ocp) {
            keep &= pattern;
            at = f0 / ocp * oc;
        }
        DV_UNROLL for (size_t r = 0; r < rows; r++) {
            __m512i out = vnni_requantize(acc[r], &c, form, any_left, folded, j->out_offset);
            out = _mm512_min_epi32(_mm512_max_epi32(out, lo32), hi32);
            __mmask16 k = keep;
            if (oc != ocp) {
                out = _mm512_maskz_compress_epi32(keep, out);
                k = dv_lanes16((uint32_t)__builtin_popcount(keep));
            }
            if (out8)
                _mm512_mask_cvtepi32_storeu_epi8(y8[r] + at, k, out);
            else
                _mm512_mask_storeu_epi32(y32[r] + at, k, out);
        }
    }
}

DV_TARGET_VNNI static void vnni_shared_any(const dw_plan *p, const vnni_job *j, size_t taps,
                                           size_t rows, int out8, int8_t *const *y8,
                                           int32_t *const *y32)
{
    const int v2 = rows == 2 && j->v2 != NULL;
    if (taps == 3 && out8 && j->form == RQ_DOUBLE && j->folded && !j->any_left) {
        if (v2)
            vnni_shared(p, j, 3, 2, 1, 1, RQ_DOUBLE, 0, 1, y8, y32);
        else if (rows == 2)
            vnni_shared(p, j, 3, 2, 0, 1, RQ_DOUBLE, 0, 1, y8, y32);
        else
            vnni_shared(p, j, 3, 1, 0, 1, RQ_DOUBLE, 0, 1, y8, y32);
        return;
    }
    if (v2)
        vnni_shared(p, j, taps, 2, 1, out8, j->form, j->any_left, j->folded, y8, y32);
    else if (rows == 2)
        vnni_shared(p, j, taps, 2, 0, out8, j->form, j->any_left, j->folded, y8, y32);
    else
        vnni_shared(p, j, taps, 1, 0, out8, j->form, j->any_left, j->folded, y8, y32);
}

/* Which of the two V buffers holds the V of which rows, between the items of one run call
 * (pair_v2: an item's second V is the next item's first). */
typedef struct {
    int valid;
    size_t n, oy;
    int which;
} dw_cache;

/* Output rows oy .. oy + count - 1 (count 2 only when pairing). */
DV_TARGET_VNNI static int vnni_rows(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                    const uint8_t *pk, uint8_t *scratch, size_t n, size_t oy,
                                    size_t count, dw_cache *cache)
{
    int32_t *buffers[2] = {(int32_t *)(void *)(scratch + p->v_at),
                           (int32_t *)(void *)(scratch + p->v2_at)};
    uint8_t *rows = scratch + p->rows_at;
    int32_t *q = (int32_t *)(void *)(scratch + p->q_at);
    int which = 0;
    if (p->pair_v2 && cache->valid && cache->n == n && cache->oy == oy)
        which = cache->which;
    else if (!vnni_build(p, &in[0], n, oy, rows, q, buffers[0]))
        return 0;
    const int32_t *v = buffers[which], *v2 = NULL;
    cache->valid = 0;
    if (p->pair_v2 && count == 2) {
        if (!vnni_build(p, &in[0], n, oy + 2, rows, q, buffers[which ^ 1]))
            return 0;
        v2 = buffers[which ^ 1];
        *cache = (dw_cache){1, n, oy + 2, which ^ 1};
    }
    int32_t flags[N_FLAGS];
    memcpy(flags, pk, sizeof flags);
    vnni_job j;
    const size_t taps = p->kw * p->groups;
    j.v = v;
    j.v2 = v2;
    for (size_t t = 0; t < taps && t < 4; t++) {
        j.tap[t] = tap_start(p, v, t);
        j.tap2[t] = v2 ? tap_start(p, v2, t) : NULL;
    }
    j.corr = (const int32_t *)(const void *)(pk + p->corr_at);
    j.rq = (const rq_lanes *)(const void *)(pk + p->rq_at);
    j.form = flags[FLAG_FORM];
    j.any_left = flags[FLAG_ANY_LEFT];
    j.folded = flags[FLAG_FOLDED];
    j.out_offset = _mm512_set1_epi32(p->rq.output_offset);
    j.act_min = (int8_t)p->rq.act_min;
    j.act_max = (int8_t)p->rq.act_max;
    j.wq = (const int32_t *)(const void *)(pk + p->wq_at);
    j.wq2 = (const int32_t *)(const void *)(pk + p->wq2_at);
    j.wq3 = (const int32_t *)(const void *)(pk + p->wq3_at);
    const int out8 = out[0].i8 != NULL;
    const size_t stride = p->out_w * p->oc;
    int8_t *y8[2] = {NULL, NULL};
    int32_t *y32[2] = {NULL, NULL};
    for (size_t i = 0; i < count; i++) {
        const size_t row = n * p->out_h + oy + i;
        if (out8)
            y8[i] = out[0].i8 + row * stride;
        else
            y32[i] = out[0].data + row * stride;
    }
    if (p->ocp < 16) {
        vnni_shared_any(p, &j, taps, count, out8, y8, y32);
        return 1;
    }
    const size_t full = p->permuted ? p->ocp / 64 * 64 : 0;
    size_t c0 = 0;
    for (; c0 < full; c0 += 64)
        vnni_group_any(p, &j, taps, c0, 4, count, out8, y8, y32);
    if (p->permuted && p->ocp - c0 >= 32) {
        vnni_group_any(p, &j, taps, c0, 2, count, out8, y8, y32);
        c0 += 32;
    }
    for (; c0 < p->ocp; c0 += 16)
        vnni_group_any(p, &j, taps, c0, 1, count, out8, y8, y32);
    return 1;
}

/* ---- AVX2 ----------------------------------------------------------------------------------- */

DV_TARGET_AVX2 DV_INLINE void avx2_fill(int32_t *dst, size_t n, uint32_t value)
{
    const __m256i v = _mm256_set1_epi32((int32_t)value);
    for (size_t i = 0; i < n; i += 8)
        _mm256_maskstore_epi32(dst + i, dv_lanes8((uint32_t)min_size(n - i, 8)), v);
}

/* 8 int8 values from p, of which the first count are read, sign-extended. */
DV_TARGET_AVX2 DV_INLINE __m256i avx2_load_i8(const int8_t *p, size_t count)
{
    if (count == 8)
        return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p));
    int8_t b[8] = {0};
    memcpy(b, p, count);
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)b));
}

/* As vnni_chunk, 8 elements of 2 int16 fields; 0 when an int32 value does not fit in int16. */
DV_TARGET_AVX2 DV_INLINE int avx2_chunk(const group_rows *r, int is8, size_t at, size_t count,
                                        int32_t *dst, size_t stores)
{
    const __m256i low = _mm256_set1_epi32(0xFFFF);
    __m256i acc = _mm256_set1_epi32((int32_t)r->pad_word), seen = _mm256_setzero_si256();
    for (int k = 0; k < 2; k++) {
        __m256i t;
        if (is8) {
            if (!r->r8[k] || !count)
                continue;
            t = avx2_load_i8(r->r8[k] + at, count);
        } else {
            if (!r->r32[k])
                continue;
            t = _mm256_maskload_epi32(r->r32[k] + at, dv_lanes8((uint32_t)count));
            seen = _mm256_or_si256(seen, _mm256_add_epi32(t, _mm256_set1_epi32(32768)));
        }
        acc = _mm256_or_si256(acc, k == 0 ? _mm256_and_si256(t, low) : _mm256_slli_epi32(t, 16));
    }
    _mm256_maskstore_epi32(dst, dv_lanes8((uint32_t)stores), acc);
    return _mm256_testz_si256(seen, _mm256_set1_epi32((int32_t)0xFFFF0000u));
}

DV_TARGET_AVX2 DV_INLINE int avx2_columns(const dw_plan *p, const group_rows *r, int is8,
                                          int32_t *base, size_t phases, size_t plane,
                                          size_t stride, uint32_t pad)
{
    const size_t c = p->channels, wp = p->wp, pl = p->pl, in_w = p->in_w;
    if (phases == 1 && stride == c) {
        const size_t lo = min_size(pl, wp), hi = min_size(pl + in_w, wp);
        avx2_fill(base, lo * c, pad);
        const size_t total = hi > lo ? (hi - lo) * c : 0;
        for (size_t e = 0; e < total; e += 8) {
            const size_t count = min_size(total - e, 8);
            if (!avx2_chunk(r, is8, e, count, base + lo * c + e, count))
                return 0;
        }
        avx2_fill(base + (hi > lo ? hi : lo) * c, (wp - (hi > lo ? hi : lo)) * c, pad);
        return 1;
    }
    for (size_t ph = 0; ph < phases; ph++) {
        int32_t *col = base + ph * plane;
        for (size_t ixp = ph; ixp < wp; ixp += p->sw, col += stride) {
            if (ixp < pl || ixp - pl >= in_w) {
                avx2_fill(col, stride, pad);
                continue;
            }
            const size_t at = (ixp - pl) * c;
            for (size_t c0 = 0; c0 < stride; c0 += 8) {
                const size_t count = c0 < c ? min_size(c - c0, 8) : 0;
                if (!avx2_chunk(r, is8, at + c0, count, col + c0, min_size(stride - c0, 8)))
                    return 0;
            }
        }
    }
    return 1;
}

DV_TARGET_AVX2 static int avx2_build(const dw_plan *p, const dv_tensor *x, size_t n, size_t oy,
                                     int32_t *q, int32_t *v)
{
    const int is8 = x->i8 != NULL;
    const uint32_t pad = (uint16_t)(uint32_t)(-(int64_t)p->input_offset);
    const uint32_t pad_pair = pad * 0x00010001u;
    for (size_t g = 0; g < p->groups; g++) {
        group_rows r;
        rows_of(p, x, n, oy, g, 16, pad, &r);
        int32_t *planes = v + g * p->phases * p->plane;
        if (p->mult == 1) {
            if (!avx2_columns(p, &r, is8, planes, p->phases, p->plane, p->ocp, pad_pair))
                return 0;
        } else {
            if (!avx2_columns(p, &r, is8, q, 1, 0, p->channels, pad_pair))
                return 0;
            for (size_t ph = 0; ph < p->phases; ph++) {
                int32_t *col = planes + ph * p->plane;
                for (size_t ixp = ph; ixp < p->wp; ixp += p->sw, col += p->ocp) {
                    const int32_t *src = q + ixp * p->channels;
                    for (size_t c = 0; c < p->channels; c++)
                        avx2_fill(col + c * p->mult, p->mult, (uint32_t)src[c]);
                    avx2_fill(col + p->oc, p->ocp - p->oc, pad_pair);
                }
            }
        }
        for (size_t ph = 0; ph < p->phases; ph++) {
            const size_t cols = (p->wp - ph + p->sw - 1) / p->sw;
            avx2_fill(planes + ph * p->plane + cols * p->ocp, p->plane - cols * p->ocp, 0);
        }
    }
    return 1;
}

/* The int8 values of 8 requantized lanes (each in [-128, 127]), in the low 8 bytes. */
DV_TARGET_AVX2 DV_INLINE __m128i avx2_narrow(__m256i v)
{
    const __m256i w = _mm256_packs_epi32(v, v);
    const __m256i b = _mm256_packs_epi16(w, w);
    return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

/* Stores lanes [0, count) of v (count <= 8) as int8 or int32. */
DV_TARGET_AVX2 DV_INLINE void avx2_store(int8_t *y8, int32_t *y32, __m256i v, size_t count)
{
    if (y8) {
        const __m128i b = avx2_narrow(v);
        if (count == 8) {
            _mm_storel_epi64((__m128i *)(void *)y8, b);
        } else {
            int8_t tmp[16];
            _mm_storeu_si128((__m128i *)(void *)tmp, b);
            memcpy(y8, tmp, count);
        }
    } else {
        _mm256_maskstore_epi32(y32, dv_lanes8((uint32_t)count), v);
    }
}

DV_TARGET_AVX2 DV_INLINE void avx2_compute(const dw_plan *p, const uint8_t *pk, const int32_t *v,
                                           dv_tensor *y, size_t row, size_t kw, size_t groups,
                                           int out8)
{
    enum { REGS = 6 };
    const size_t taps = kw * groups, ocp = p->ocp, oc = p->oc, ow = p->out_w;
    const int32_t *tap[REGS];
    const int32_t *wq = (const int32_t *)(const void *)(pk + p->wq_at);
    const int32_t *corr = (const int32_t *)(const void *)(pk + p->corr_at);
    const int32_t *mul = (const int32_t *)(const void *)(pk + p->mul_at);
    const int32_t *shift = (const int32_t *)(const void *)(pk + p->shift_at);
    int8_t *y8 = out8 ? y->i8 + row * ow * oc : NULL;
    int32_t *y32 = out8 ? NULL : y->data + row * ow * oc;
#define TAP_AT(t)                                                                                  \
    (v + ((t) / kw * p->phases + ((t) % kw) * p->dw % p->sw) * p->plane +                          \
     ((t) % kw) * p->dw / p->sw * ocp)
    if (taps <= REGS)
        for (size_t t = 0; t < taps; t++)
            tap[t] = TAP_AT(t);
    for (size_t b = 0; b < p->blocks; b++) {
        const size_t c0 = b * 8;
        __m256i w[REGS];
        if (taps <= REGS)
            for (size_t t = 0; t < taps; t++)
                w[t] = _mm256_load_si256((const __m256i *)(const void *)(wq + (t * p->blocks + b) * 8));
        const __m256i base = _mm256_load_si256((const __m256i *)(const void *)(corr + c0));
        dv_rq8_prepared rq;
        dv_rq8_prepare(&rq, _mm256_load_si256((const __m256i *)(const void *)(mul + c0)),
                       _mm256_load_si256((const __m256i *)(const void *)(shift + c0)), &p->rq);
        const size_t n_vec = ocp >= 8 ? ow : p->vectors;
        const size_t step = ocp >= 8 ? ocp : 8;
        for (size_t i = 0; i < n_vec; i++) {
            const size_t at = i * step + c0;
            __m256i acc = base;
            for (size_t t = 0; t < taps; t++) {
                const __m256i d = _mm256_loadu_si256(
                    (const __m256i *)(const void *)((taps <= REGS ? tap[t] : TAP_AT(t)) + at));
                const __m256i wt =
                    taps <= REGS ? w[t]
                                 : _mm256_load_si256((const __m256i *)(const void *)(
                                       wq + (t * p->blocks + b) * 8));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, wt));
            }
            const __m256i out = dv_rq8_apply(acc, &rq);
            if (ocp >= 8) {
                avx2_store(y8 ? y8 + i * oc + c0 : NULL, y32 ? y32 + i * oc + c0 : NULL, out,
                           min_size(oc - c0, 8));
            } else {
                /* 8 / ocp pixels per vector */
                const size_t lanes = min_size(ow * ocp - at, 8);
                if (oc == ocp) {
                    avx2_store(y8 ? y8 + at : NULL, y32 ? y32 + at : NULL, out, lanes);
                } else {
                    int32_t lane[8];
                    _mm256_storeu_si256((__m256i *)(void *)lane, out);
                    size_t o = at / ocp * oc;
                    for (size_t l = 0; l < lanes; l++) {
                        if (l % ocp >= oc)
                            continue;
                        if (y8)
                            y8[o++] = dv_store_i8(lane[l]);
                        else
                            y32[o++] = lane[l];
                    }
                }
            }
        }
    }
#undef TAP_AT
}

DV_TARGET_AVX2 static int avx2_rows(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                    const uint8_t *pk, uint8_t *scratch, size_t n, size_t oy,
                                    size_t count, dw_cache *cache)
{
    int32_t *v = (int32_t *)(void *)(scratch + p->v_at);
    if (!avx2_build(p, &in[0], n, oy, (int32_t *)(void *)(scratch + p->q_at), v))
        return 0;
    const size_t row = n * p->out_h + oy;
    const int out8 = out[0].i8 != NULL;
    if (p->kw == 3 && p->groups == 2) {
        if (out8)
            avx2_compute(p, pk, v, &out[0], row, 3, 2, 1);
        else
            avx2_compute(p, pk, v, &out[0], row, 3, 2, 0);
    } else {
        avx2_compute(p, pk, v, &out[0], row, p->kw, p->groups, out8);
    }
    return 1;
}

/* ---- the exact path ------------------------------------------------------------------------ */

/* The taps of output pixel (n, oy, ox) inside the input: the data offset of its channel 0 and
 * the filter offset of output channel 0 of each. Returns how many. */
static size_t pixel_taps(const dw_plan *p, size_t n, size_t oy, size_t ox, size_t *x_at,
                         size_t *w_at)
{
    const int64_t y0 = (int64_t)(oy * p->sh) - (int64_t)p->pt;
    const int64_t x0 = (int64_t)(ox * p->sw) - (int64_t)p->pl;
    size_t count = 0;
    for (size_t ky = 0; ky < p->kh; ky++) {
        const int64_t iy = y0 + (int64_t)(ky * p->dh);
        if (iy < 0 || iy >= (int64_t)p->in_h)
            continue;
        for (size_t kx = 0; kx < p->kw; kx++) {
            const int64_t ix = x0 + (int64_t)(kx * p->dw);
            if (ix < 0 || ix >= (int64_t)p->in_w)
                continue;
            x_at[count] = ((n * p->in_h + (size_t)iy) * p->in_w + (size_t)ix) * p->channels;
            w_at[count] = (ky * p->kw + kx) * p->oc;
            count++;
        }
    }
    return count;
}

/* Output row (n, oy) for any values, with the constants from the packing's copies. */
DV_TARGET_AVX2 static void exact_row(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                                     const uint8_t *pk, uint8_t *scratch, size_t n, size_t oy)
{
    const int32_t *filter = (const int32_t *)(const void *)(pk + p->filter_at);
    const int32_t *bias = (const int32_t *)(const void *)(pk + p->bias_at);
    const int32_t *multiplier = (const int32_t *)(const void *)(pk + p->multiplier_at);
    const int32_t *shift = (const int32_t *)(const void *)(pk + p->shift_raw_at);
    size_t *x_at = (size_t *)(void *)(scratch + p->taps_at);
    size_t *w_at = x_at + p->kh * p->kw;
    const __m256i offset = _mm256_set1_epi32(p->input_offset);
    const size_t oc = p->oc, m = p->mult;
    const int8_t *x8 = in[0].i8;
    const int32_t *x32 = in[0].data;
    for (size_t ox = 0; ox < p->out_w; ox++) {
        const size_t taps = pixel_taps(p, n, oy, ox, x_at, w_at);
        const size_t y_at = ((n * p->out_h + oy) * p->out_w + ox) * oc;
        for (size_t c0 = 0; c0 < oc; c0 += 8) {
            const size_t lanes = min_size(oc - c0, 8);
            const __m256i mask = dv_lanes8((uint32_t)lanes);
            /* lane l reads data channel (c0 + l) / m: from xc on, `count` of them */
            const size_t xc = c0 / m, count = (c0 + lanes - 1) / m - xc + 1;
            int32_t index[8] = {0};
            for (size_t l = 0; l < lanes; l++)
                index[l] = (int32_t)((c0 + l) / m - xc);
            const __m256i spread_index = _mm256_loadu_si256((const __m256i *)(const void *)index);
            __m256i acc = _mm256_maskload_epi32(bias + c0, mask);
            for (size_t t = 0; t < taps; t++) {
                const __m256i w = _mm256_maskload_epi32(filter + w_at[t] + c0, mask);
                __m256i d = x8 ? avx2_load_i8(x8 + x_at[t] + xc, count)
                               : _mm256_maskload_epi32(x32 + x_at[t] + xc, dv_lanes8((uint32_t)count));
                if (m > 1)
                    d = _mm256_permutevar8x32_epi32(d, spread_index);
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(w, _mm256_add_epi32(d, offset)));
            }
            const __m256i y = dv_rq8(acc, _mm256_maskload_epi32(multiplier + c0, mask),
                                     _mm256_maskload_epi32(shift + c0, mask), &p->rq);
            avx2_store(out[0].i8 ? out[0].i8 + y_at + c0 : NULL,
                       out[0].i8 ? NULL : out[0].data + y_at + c0, y, lanes);
        }
    }
}

/* ---- the variants --------------------------------------------------------------------------- */

/* Computes output rows oy .. oy + count - 1 of batch n through the packed path; 0 when an int32
 * value does not fit. */
typedef int (*fast_rows_fn)(const dw_plan *p, const dv_tensor *in, dv_tensor *out,
                            const uint8_t *pk, uint8_t *scratch, size_t n, size_t oy,
                            size_t count, dw_cache *cache);

/* Items [begin, end), with the constants packed ahead (`prepacked`) or packed now into the
 * scratch (NULL). */
static void dw_run(const dw_isa *isa, fast_rows_fn fast_rows, const dv_attrs *attrs,
                   const dv_tensor *in, dv_tensor *out, const uint8_t *prepacked, int32_t *scratch,
                   uint64_t begin, uint64_t end)
{
    dw_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, isa, attrs, shapes);
    uint8_t *base = (uint8_t *)scratch;
    const uint8_t *pk = prepacked;
    if (!pk) {
        dw_pack(&p, isa, in, base);
        pk = base;
    }
    int32_t weights_fit;
    memcpy(&weights_fit, pk, sizeof weights_fit);
    const int packed_path = weights_fit && p.offset_fits;
    dw_cache cache = {0, 0, 0, 0};
    for (uint64_t r = begin; r < end; r++) {
        const size_t n = (size_t)(r / p.items_per_batch);
        const size_t oy = (size_t)(r % p.items_per_batch) * p.rows_per_item;
        const size_t count = min_size(p.rows_per_item, p.out_h - oy);
        if (!packed_path || !fast_rows(&p, in, out, pk, base, n, oy, count, &cache))
            for (size_t i = 0; i < count; i++)
                exact_row(&p, in, out, pk, base, n, oy + i);
    }
}

static int vnni_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    return n_in == 5 && plan(&p, &vnni_isa, attrs, in);
}

static int avx2_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    return n_in == 5 && plan(&p, &avx2_isa, attrs, in);
}

/* Work items: output rows, or pairs of them. */
static uint64_t vnni_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, &vnni_isa, attrs, in);
    return (uint64_t)p.batches * p.items_per_batch;
}

static uint64_t avx2_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, &avx2_isa, attrs, in);
    return (uint64_t)p.batches * p.items_per_batch;
}

static uint64_t vnni_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, &vnni_isa, attrs, in);
    return p.scratch_bytes / 4;
}

static uint64_t avx2_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, &avx2_isa, attrs, in);
    return p.scratch_bytes / 4;
}

static void vnni_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    dw_run(&vnni_isa, vnni_rows, attrs, in, out, NULL, scratch, begin, end);
}

static void avx2_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    dw_run(&avx2_isa, avx2_rows, attrs, in, out, NULL, scratch, begin, end);
}

const dv_variant dv_variant_qdepthwise_conv2d_vnni = {
    DV_OP_QDEPTHWISE_CONV2D, DV_ISA_VNNI, "vnni", vnni_accepts, vnni_items, vnni_scratch, vnni_run,
    DV_VARIANT_INT8};
const dv_variant dv_variant_qdepthwise_conv2d_avx2 = {
    DV_OP_QDEPTHWISE_CONV2D, DV_ISA_AVX2, "avx2", avx2_accepts, avx2_items, avx2_scratch, avx2_run,
    DV_VARIANT_INT8};

/* The packings: the filter, bias, multiplier and shift (inputs 1 to 4). */
static uint64_t vnni_packed_size(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, &vnni_isa, attrs, in);
    return p.packed_bytes;
}

static uint64_t avx2_packed_size(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    dw_plan p;
    plan(&p, &avx2_isa, attrs, in);
    return p.packed_bytes;
}

static void vnni_pack(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, void *packed)
{
    dw_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &vnni_isa, attrs, shapes);
    dw_pack(&p, &vnni_isa, in, packed);
}

static void avx2_pack(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, void *packed)
{
    dw_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &avx2_isa, attrs, shapes);
    dw_pack(&p, &avx2_isa, in, packed);
}

static void vnni_run_packed(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, const void *packed, int32_t *scratch,
                            uint64_t begin, uint64_t end)
{
    dw_run(&vnni_isa, vnni_rows, attrs, in, out, packed, scratch, begin, end);
}

static void avx2_run_packed(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, const void *packed, int32_t *scratch,
                            uint64_t begin, uint64_t end)
{
    dw_run(&avx2_isa, avx2_rows, attrs, in, out, packed, scratch, begin, end);
}

const dv_variant_packing dv_packing_qdepthwise_conv2d_vnni = {
    &dv_variant_qdepthwise_conv2d_vnni, 0x1Eu, vnni_packed_size, vnni_pack, vnni_run_packed, 1};
const dv_variant_packing dv_packing_qdepthwise_conv2d_avx2 = {
    &dv_variant_qdepthwise_conv2d_avx2, 0x1Eu, avx2_packed_size, avx2_pack, avx2_run_packed, 1};

#endif
