/* QFULLY_CONNECTED (ops/qnn.c) on x86-64: AVX-512 VNNI (16 lanes) and AVX2 (8 lanes) variants.
 *
 * Two paths, both exact for every input:
 *
 *   packed (run_packed, when the weights and the bias are constants of the module: the session
 *   packs them once, dv_packing_qfully_connected_*): the output units in blocks of 16 (VNNI)
 *   or 8 (AVX2) lanes, each lane a unit, the depth in steps of 4 (vpdpbusd) or 2 (vpmaddwd)
 *   taps. The weights are packed as w + filter_offset (wrapped to int32 as the reference wraps
 *   it) in s8 (VNNI) or int16 (AVX2), chunk by chunk in the order the kernel reads them, so
 *   that a chunk is one sequential stream; a row of data is packed per work item as
 *     VNNI  u8 = x + 128; since x + input_offset = u8 - 128 + input_offset, the accumulator
 *           starts from bias + (input_offset - 128) * sum(w + filter_offset), one correction
 *           per unit made when packing;
 *     AVX2  int16 = x + input_offset (wrapped to int32 first); the accumulator starts from the
 *           bias.
 *   Depth taps past the end have weight 0 and data 0. vpdpbusd (not vpdpbusds), vpmaddwd and
 *   vpaddd are exact modulo 2^32, and so is the reference's uint32 sum, so the accumulators are
 *   the reference's whenever the packed operands equal the true values: packing checks every
 *   weight (a failure sends every item to the exact path), and each row of data is checked as
 *   it is packed (int32 data: in [-128, 127] for VNNI; x + input_offset in int16 for AVX2;
 *   int8 data needs no check for VNNI), a failing row's items taking the exact path.
 *   Requantization is ops/x86/qnn_simd.h's, lane for lane ops/quant.h's.
 *
 *   exact (run, and the fallback): (w + filter_offset) * (x + input_offset) on the int32
 *   values by vpmulld and wrapping vpaddd, four units at a time sharing the data loads, a
 *   wrapping horizontal sum and the scalar requantization of ops/qnn.h: the reference's uint32
 *   arithmetic in another order of the same modular sum. int8 data is widened into the scratch
 *   first.
 *
 * Storage (DV_VARIANT_INT8): the data may be int8 (in[0].i8) and so may the output, stored one
 * byte per element; requantized values lie in [act_min, act_max] inside [-128, 127] (infer), so
 * narrowing them is dv_store_i8's.
 *
 * Work items: (row, chunk of units), row-major; a chunk is up to 8 blocks (VNNI: 128 units,
 * AVX2: 64). Scratch: one packed row and one widened row. */
#if defined(__x86_64__)

#include <string.h>

#include "../qnn.h"
#include "../qnn_attrs.h"
#include "../variant.h"
#include "qnn_simd.h"

typedef struct fc_isa fc_isa;

typedef struct {
    size_t rows, units, depth;
    size_t kq;            /* depth rounded up to the ISA's taps per lane */
    size_t blocks;        /* blocks of lanes covering the units */
    size_t cblocks;       /* blocks per chunk: a power of two */
    size_t chunks;        /* chunks per row */
    /* the packed buffer: offsets in bytes */
    size_t corr_at, weights_at, packed_bytes;
    /* the scratch: offsets in bytes */
    size_t row_at, wide_at, scratch_bytes;
} fc_plan;

struct fc_isa {
    size_t lanes, k_step, elem, max_cblocks;
};

static const fc_isa isa16 = {16, 4, 1, 8};
static const fc_isa isa8 = {8, 2, 2, 8};

static size_t round_up(size_t v, size_t m)
{
    return (v + m - 1) / m * m;
}

static void plan(fc_plan *p, const fc_isa *isa, const dv_shape *in)
{
    p->depth = in[1].dim[1];
    p->units = in[1].dim[0];
    p->rows = (size_t)(dv_shape_size(&in[0]) / p->depth);
    p->kq = round_up(p->depth, isa->k_step);
    p->blocks = (p->units + isa->lanes - 1) / isa->lanes;
    p->cblocks = 1;
    while (p->cblocks < p->blocks && p->cblocks < isa->max_cblocks)
        p->cblocks *= 2;
    p->chunks = (p->blocks + p->cblocks - 1) / p->cblocks;
    const size_t padded = p->chunks * p->cblocks * isa->lanes;
    p->corr_at = 64;
    p->weights_at = p->corr_at + round_up(padded * 4, 64);
    p->packed_bytes = p->weights_at + round_up(padded * p->kq * isa->elem, 64);
    p->row_at = 0;
    p->wide_at = round_up(p->kq * isa->elem, 64);
    p->scratch_bytes = p->wide_at + round_up(p->depth * 4, 64);
}

static int accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 5;
}

static uint64_t items16(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, &isa16, in);
    return (uint64_t)p.rows * p.chunks;
}

static uint64_t items8(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, &isa8, in);
    return (uint64_t)p.rows * p.chunks;
}

static uint64_t scratch16(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, &isa16, in);
    return p.scratch_bytes / 4;
}

static uint64_t scratch8(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, &isa8, in);
    return p.scratch_bytes / 4;
}

static uint64_t packed_size16(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, &isa16, in);
    return p.packed_bytes;
}

static uint64_t packed_size8(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, &isa8, in);
    return p.packed_bytes;
}

/* Row `row` of the data as int32: the tensor itself, or int8 data widened into `wide`. */
static const int32_t *data_row(const fc_plan *p, const dv_tensor *x, size_t row, int32_t *wide)
{
    if (x->data)
        return x->data + row * p->depth;
    const int8_t *src = x->i8 + row * p->depth;
    for (size_t d = 0; d < p->depth; d++)
        wide[d] = src[d];
    return wide;
}

static void store(dv_tensor *out, size_t at, int32_t v)
{
    if (out->i8)
        out->i8[at] = dv_store_i8(v);
    else
        out->data[at] = v;
}

static uint32_t sum_lanes(const uint32_t *v, int n)
{
    uint32_t total = 0;
    for (int i = 0; i < n; i++)
        total += v[i];
    return total;
}

static void finish(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out, size_t row,
                   size_t unit, uint32_t acc, size_t units)
{
    const int32_t *a = attrs->v;
    store(&out[0], row * units + unit,
          dv_qnn_requantize(acc + (uint32_t)in[2].data[unit], in[3].data[unit], in[4].data[unit],
                            a[QFC_ROUNDING], a[QFC_OUTPUT_OFFSET], a[QFC_ACT_MIN],
                            a[QFC_ACT_MAX]));
}

/* The chunk of item `item`: its row and units [*u0, *u1). */
static size_t item_units(const fc_plan *p, const fc_isa *isa, uint64_t item, size_t *u0,
                         size_t *u1)
{
    const size_t chunk_units = p->cblocks * isa->lanes;
    *u0 = (size_t)(item % p->chunks) * chunk_units;
    *u1 = *u0 + chunk_units < p->units ? *u0 + chunk_units : p->units;
    return (size_t)(item / p->chunks);
}

/* ---- AVX-512 ------------------------------------------------------------------------------- */

/* Units [u0, u1) of row `row` by the exact path. */
DV_TARGET_VNNI static void exact16(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                   const fc_plan *p, const int32_t *x, size_t row, size_t u0,
                                   size_t u1)
{
    const __m512i x_offset = _mm512_set1_epi32(attrs->v[QFC_INPUT_OFFSET]);
    const __m512i w_offset = _mm512_set1_epi32(attrs->v[QFC_FILTER_OFFSET]);
    const size_t d_n = p->depth;
    size_t u = u0;
    for (; u + 4 <= u1; u += 4) {
        const int32_t *w = in[1].data + u * d_n;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (size_t d = 0; d < d_n; d += 16) {
            const __mmask16 m = dv_lanes16((uint32_t)(d_n - d < 16 ? d_n - d : 16));
            const __m512i xv = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, x + d), x_offset);
/* lanes past the depth are left out: their products would be offset * offset */
#define FC_LANE(acc, j)                                                                            \
    acc = _mm512_mask_add_epi32(                                                                   \
        acc, m, acc,                                                                               \
        _mm512_mullo_epi32(                                                                        \
            _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, w + (j) * d_n + d), w_offset), xv))
            FC_LANE(acc0, 0);
            FC_LANE(acc1, 1);
            FC_LANE(acc2, 2);
            FC_LANE(acc3, 3);
#undef FC_LANE
        }
        uint32_t lanes[4][16];
        _mm512_storeu_si512((void *)lanes[0], acc0);
        _mm512_storeu_si512((void *)lanes[1], acc1);
        _mm512_storeu_si512((void *)lanes[2], acc2);
        _mm512_storeu_si512((void *)lanes[3], acc3);
        for (int j = 0; j < 4; j++)
            finish(attrs, in, out, row, u + (size_t)j, sum_lanes(lanes[j], 16), p->units);
    }
    for (; u < u1; u++) {
        const int32_t *w = in[1].data + u * d_n;
        __m512i acc = _mm512_setzero_si512();
        for (size_t d = 0; d < d_n; d += 16) {
            const __mmask16 m = dv_lanes16((uint32_t)(d_n - d < 16 ? d_n - d : 16));
            const __m512i xv = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, x + d), x_offset);
            const __m512i wv = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, w + d), w_offset);
            acc = _mm512_mask_add_epi32(acc, m, acc, _mm512_mullo_epi32(wv, xv));
        }
        uint32_t lanes[16];
        _mm512_storeu_si512((void *)lanes, acc);
        finish(attrs, in, out, row, u, sum_lanes(lanes, 16), p->units);
    }
}

DV_TARGET_VNNI static void run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                 uint32_t n_out, dv_tensor *out, int32_t *scratch,
                                 uint64_t begin, uint64_t end)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &isa16, shapes);
    int32_t *wide = (int32_t *)(void *)((uint8_t *)scratch + p.wide_at);
    size_t widened = SIZE_MAX;
    for (uint64_t item = begin; item < end; item++) {
        size_t u0, u1;
        const size_t row = item_units(&p, &isa16, item, &u0, &u1);
        const int32_t *x = in[0].data ? in[0].data + row * p.depth : wide;
        if (!in[0].data && widened != row) {
            data_row(&p, &in[0], row, wide);
            widened = row;
        }
        exact16(attrs, in, out, &p, x, row, u0, u1);
    }
}

/* The weights (input 1) as w + filter_offset in s8, chunk by chunk: for each step of 4 taps,
 * the chunk's blocks of 16 units one after another (64 bytes each); the corrections bias +
 * (input_offset - 128) * sum(w + filter_offset) per unit; and whether every weight fit. */
DV_TARGET_VNNI static void pack16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                  void *packed)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &isa16, shapes);
    uint8_t *base = packed;
    int32_t *corr = (int32_t *)(void *)(base + p.corr_at);
    uint8_t *weights = base + p.weights_at;
    const uint32_t w_offset = (uint32_t)attrs->v[QFC_FILTER_OFFSET];
    const uint32_t correction = (uint32_t)attrs->v[QFC_INPUT_OFFSET] - 128u;
    const size_t k4 = p.kq / 4, padded = p.chunks * p.cblocks * 16;
    int32_t ok = 1;
    memset(weights, 0, padded * p.kq);
    for (size_t u = 0; u < padded; u++) {
        if (u >= p.units) {
            corr[u] = 0;
            continue;
        }
        const size_t c = u / (p.cblocks * 16), j = u / 16 % p.cblocks, lane = u % 16;
        uint8_t *dst = weights + c * k4 * p.cblocks * 64 + j * 64 + lane * 4;
        const int32_t *w = in[1].data + u * p.depth;
        uint32_t total = 0;
        for (size_t d = 0; d < p.depth; d++) {
            const int32_t v = dv_qnn_as_int32((uint32_t)w[d] + w_offset);
            ok &= v >= -128 && v <= 127;
            total += (uint32_t)v;
            dst[d / 4 * p.cblocks * 64 + d % 4] = (uint8_t)(int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
        corr[u] = dv_qnn_as_int32((uint32_t)in[2].data[u] + correction * total);
    }
    memcpy(base, &ok, sizeof ok);
}

/* The data row as u8 = x + 128 into `dst` (kq bytes, zero past the depth); 1 when exact. */
DV_TARGET_VNNI static int row16(const fc_plan *p, const dv_tensor *x, size_t row, uint8_t *dst)
{
    const size_t n = p->depth;
    memset(dst + (n & ~(size_t)63), 0, p->kq - (n & ~(size_t)63));
    if (x->i8) {
        dv_flip_i8(dst, x->i8 + row * n, n);
        return 1;
    }
    const int32_t *src = x->data + row * n;
    const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
    const __m512i offset = _mm512_set1_epi32(128);
    __mmask16 bad = 0;
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = dv_lanes16((uint32_t)(n - i < 16 ? n - i : 16));
        const __m512i v = _mm512_maskz_loadu_epi32(m, src + i);
        bad |= _mm512_mask_cmplt_epi32_mask(m, v, lo) | _mm512_mask_cmpgt_epi32_mask(m, v, hi);
        _mm512_mask_cvtepi32_storeu_epi8(dst + i, m, _mm512_add_epi32(v, offset));
    }
    return bad == 0;
}

/* One chunk of Q blocks for one row: Q accumulators from the corrections, then the
 * requantization, stored for units [u0, u1). */
DV_TARGET_VNNI DV_INLINE void chunk16(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                      const fc_plan *p, const uint8_t *xu, const uint8_t *w,
                                      const int32_t *corr, size_t row, size_t u0, size_t u1,
                                      const int Q)
{
    __m512i acc[8];
    const size_t k4 = p->kq / 4;
    DV_UNROLL for (int j = 0; j < Q; j++)
        acc[j] = _mm512_load_si512((const void *)(corr + u0 + (size_t)j * 16));
    for (size_t k = 0; k < k4; k++) {
        const __m512i xb = _mm512_set1_epi32(dv_load32(xu + k * 4));
        DV_UNROLL for (int j = 0; j < Q; j++)
            acc[j] = _mm512_dpbusd_epi32(
                acc[j], xb, _mm512_load_si512((const void *)(w + (k * (size_t)Q + (size_t)j) * 64)));
    }
    const int32_t *a = attrs->v;
    const dv_requant_op op = {a[QFC_ROUNDING], a[QFC_OUTPUT_OFFSET], a[QFC_ACT_MIN],
                              a[QFC_ACT_MAX]};
    for (int j = 0; j < Q; j++) {
        const size_t u = u0 + (size_t)j * 16;
        if (u >= u1)
            break;
        const __mmask16 m = dv_lanes16((uint32_t)(u1 - u));
        dv_rq16w_prepared rq;
        dv_rq16w_prepare(&rq, _mm512_maskz_loadu_epi32(m, in[3].data + u),
                         _mm512_maskz_loadu_epi32(m, in[4].data + u), &op);
        const __m512i v = dv_rq16w_apply(acc[j], &rq);
        if (out[0].i8)
            _mm_mask_storeu_epi8(out[0].i8 + row * p->units + u, m, _mm512_cvtepi32_epi8(v));
        else
            _mm512_mask_storeu_epi32(out[0].data + row * p->units + u, m, v);
    }
}

DV_TARGET_VNNI static void run_packed16(const dv_attrs *attrs, uint32_t n_in,
                                        const dv_tensor *in, uint32_t n_out, dv_tensor *out,
                                        const void *packed, int32_t *scratch, uint64_t begin,
                                        uint64_t end)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &isa16, shapes);
    const uint8_t *base = packed;
    int32_t weights_ok;
    memcpy(&weights_ok, base, sizeof weights_ok);
    if (!weights_ok) {
        run16(attrs, n_in, in, n_out, out, scratch, begin, end);
        return;
    }
    const int32_t *corr = (const int32_t *)(const void *)(base + p.corr_at);
    uint8_t *xu = (uint8_t *)scratch + p.row_at;
    int32_t *wide = (int32_t *)(void *)((uint8_t *)scratch + p.wide_at);
    size_t packed_row = SIZE_MAX;
    int row_ok = 0;
    const size_t chunk_bytes = p.kq / 4 * p.cblocks * 64;
    for (uint64_t item = begin; item < end; item++) {
        size_t u0, u1;
        const size_t row = item_units(&p, &isa16, item, &u0, &u1);
        if (row != packed_row) {
            row_ok = row16(&p, &in[0], row, xu);
            packed_row = row;
        }
        if (!row_ok) {
            exact16(attrs, in, out, &p, data_row(&p, &in[0], row, wide), row, u0, u1);
            continue;
        }
        const uint8_t *w = base + p.weights_at + (size_t)(item % p.chunks) * chunk_bytes;
        switch (p.cblocks) {
        case 1: chunk16(attrs, in, out, &p, xu, w, corr, row, u0, u1, 1); break;
        case 2: chunk16(attrs, in, out, &p, xu, w, corr, row, u0, u1, 2); break;
        case 4: chunk16(attrs, in, out, &p, xu, w, corr, row, u0, u1, 4); break;
        default: chunk16(attrs, in, out, &p, xu, w, corr, row, u0, u1, 8); break;
        }
    }
}

/* ---- AVX2 ---------------------------------------------------------------------------------- */

DV_TARGET_AVX2 static void exact8(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                  const fc_plan *p, const int32_t *x, size_t row, size_t u0,
                                  size_t u1)
{
    const __m256i x_offset = _mm256_set1_epi32(attrs->v[QFC_INPUT_OFFSET]);
    const __m256i w_offset = _mm256_set1_epi32(attrs->v[QFC_FILTER_OFFSET]);
    const size_t d_n = p->depth;
    for (size_t u = u0; u < u1; u++) {
        const int32_t *w = in[1].data + u * d_n;
        __m256i acc = _mm256_setzero_si256();
        for (size_t d = 0; d < d_n; d += 8) {
            const __m256i m = dv_lanes8((uint32_t)(d_n - d < 8 ? d_n - d : 8));
            const __m256i xv = _mm256_add_epi32(_mm256_maskload_epi32(x + d, m), x_offset);
            const __m256i wv = _mm256_add_epi32(_mm256_maskload_epi32(w + d, m), w_offset);
            acc = _mm256_add_epi32(acc, _mm256_and_si256(_mm256_mullo_epi32(wv, xv), m));
        }
        uint32_t lanes[8];
        _mm256_storeu_si256((__m256i *)(void *)lanes, acc);
        finish(attrs, in, out, row, u, sum_lanes(lanes, 8), p->units);
    }
}

DV_TARGET_AVX2 static void run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                uint32_t n_out, dv_tensor *out, int32_t *scratch,
                                uint64_t begin, uint64_t end)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &isa8, shapes);
    int32_t *wide = (int32_t *)(void *)((uint8_t *)scratch + p.wide_at);
    size_t widened = SIZE_MAX;
    for (uint64_t item = begin; item < end; item++) {
        size_t u0, u1;
        const size_t row = item_units(&p, &isa8, item, &u0, &u1);
        const int32_t *x = in[0].data ? in[0].data + row * p.depth : wide;
        if (!in[0].data && widened != row) {
            data_row(&p, &in[0], row, wide);
            widened = row;
        }
        exact8(attrs, in, out, &p, x, row, u0, u1);
    }
}

/* The weights as w + filter_offset in int16, for each step of 2 taps the chunk's blocks of 8
 * units (32 bytes each); the bias as the corrections; whether every weight fit. */
DV_TARGET_AVX2 static void pack8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                 void *packed)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &isa8, shapes);
    uint8_t *base = packed;
    int32_t *corr = (int32_t *)(void *)(base + p.corr_at);
    uint8_t *weights = base + p.weights_at;
    const uint32_t w_offset = (uint32_t)attrs->v[QFC_FILTER_OFFSET];
    const size_t k2 = p.kq / 2, padded = p.chunks * p.cblocks * 8;
    int32_t ok = 1;
    memset(weights, 0, padded * p.kq * 2);
    for (size_t u = 0; u < padded; u++) {
        if (u >= p.units) {
            corr[u] = 0;
            continue;
        }
        const size_t c = u / (p.cblocks * 8), j = u / 8 % p.cblocks, lane = u % 8;
        uint8_t *dst = weights + c * k2 * p.cblocks * 32 + j * 32 + lane * 4;
        const int32_t *w = in[1].data + u * p.depth;
        for (size_t d = 0; d < p.depth; d++) {
            const int32_t v = dv_qnn_as_int32((uint32_t)w[d] + w_offset);
            ok &= v >= INT16_MIN && v <= INT16_MAX;
            const int16_t h = (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
            memcpy(dst + d / 2 * p.cblocks * 32 + d % 2 * 2, &h, 2);
        }
        corr[u] = in[2].data[u];
    }
    memcpy(base, &ok, sizeof ok);
}

/* The data row as int16 = x + input_offset (wrapped to int32 first) into `dst` (kq int16s,
 * zero past the depth); 1 when every value fits. */
DV_TARGET_AVX2 static int row8(const fc_plan *p, const dv_tensor *x, size_t row, uint8_t *dst,
                               int32_t input_offset)
{
    const size_t n = p->depth;
    const __m256i offset = _mm256_set1_epi32(input_offset);
    const __m256i hi = _mm256_set1_epi32(INT16_MAX), lo = _mm256_set1_epi32(INT16_MIN);
    __m256i bad = _mm256_setzero_si256();
    memset(dst, 0, p->kq * 2);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v;
        if (x->i8) {
            int64_t eight;
            memcpy(&eight, x->i8 + row * n + i, 8);
            v = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(eight));
        } else {
            v = _mm256_loadu_si256((const __m256i *)(const void *)(x->data + row * n + i));
        }
        v = _mm256_add_epi32(v, offset);
        bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi32(v, hi),
                                                   _mm256_cmpgt_epi32(lo, v)));
        const __m256i h = _mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08);
        _mm_storeu_si128((__m128i *)(void *)(dst + 2 * i), _mm256_castsi256_si128(h));
    }
    int ok = _mm256_testz_si256(bad, bad);
    for (; i < n; i++) {
        const int32_t value = x->i8 ? x->i8[row * n + i] : x->data[row * n + i];
        const int32_t v = dv_qnn_as_int32((uint32_t)value + (uint32_t)input_offset);
        ok &= v >= INT16_MIN && v <= INT16_MAX;
        const int16_t h = (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
        memcpy(dst + 2 * i, &h, 2);
    }
    return ok;
}

DV_TARGET_AVX2 DV_INLINE void chunk8(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                     const fc_plan *p, const uint8_t *xh, const uint8_t *w,
                                     const int32_t *corr, size_t row, size_t u0, size_t u1,
                                     const int Q)
{
    __m256i acc[8];
    const size_t k2 = p->kq / 2;
    DV_UNROLL for (int j = 0; j < Q; j++)
        acc[j] = _mm256_load_si256((const __m256i *)(const void *)(corr + u0 + (size_t)j * 8));
    for (size_t k = 0; k < k2; k++) {
        const __m256i xb = _mm256_set1_epi32(dv_load32(xh + k * 4));
        DV_UNROLL for (int j = 0; j < Q; j++)
            acc[j] = _mm256_add_epi32(
                acc[j], _mm256_madd_epi16(xb, _mm256_load_si256((const __m256i *)(const void *)(
                                                  w + (k * (size_t)Q + (size_t)j) * 32))));
    }
    const int32_t *a = attrs->v;
    const dv_requant_op op = {a[QFC_ROUNDING], a[QFC_OUTPUT_OFFSET], a[QFC_ACT_MIN],
                              a[QFC_ACT_MAX]};
    for (int j = 0; j < Q; j++) {
        const size_t u = u0 + (size_t)j * 8;
        if (u >= u1)
            break;
        const size_t lanes = u1 - u < 8 ? u1 - u : 8;
        const __m256i m = dv_lanes8((uint32_t)lanes);
        const __m256i v = dv_rq8(acc[j], _mm256_maskload_epi32(in[3].data + u, m),
                                 _mm256_maskload_epi32(in[4].data + u, m), &op);
        int32_t values[8];
        _mm256_storeu_si256((__m256i *)(void *)values, v);
        for (size_t l = 0; l < lanes; l++)
            store(&out[0], row * p->units + u + l, values[l]);
    }
}

DV_TARGET_AVX2 static void run_packed8(const dv_attrs *attrs, uint32_t n_in,
                                       const dv_tensor *in, uint32_t n_out, dv_tensor *out,
                                       const void *packed, int32_t *scratch, uint64_t begin,
                                       uint64_t end)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, &isa8, shapes);
    const uint8_t *base = packed;
    int32_t weights_ok;
    memcpy(&weights_ok, base, sizeof weights_ok);
    if (!weights_ok) {
        run8(attrs, n_in, in, n_out, out, scratch, begin, end);
        return;
    }
    const int32_t *corr = (const int32_t *)(const void *)(base + p.corr_at);
    uint8_t *xh = (uint8_t *)scratch + p.row_at;
    int32_t *wide = (int32_t *)(void *)((uint8_t *)scratch + p.wide_at);
    size_t packed_row = SIZE_MAX;
    int row_ok = 0;
    const size_t chunk_bytes = p.kq / 2 * p.cblocks * 32;
    for (uint64_t item = begin; item < end; item++) {
        size_t u0, u1;
        const size_t row = item_units(&p, &isa8, item, &u0, &u1);
        if (row != packed_row) {
            row_ok = row8(&p, &in[0], row, xh, attrs->v[QFC_INPUT_OFFSET]);
            packed_row = row;
        }
        if (!row_ok) {
            exact8(attrs, in, out, &p, data_row(&p, &in[0], row, wide), row, u0, u1);
            continue;
        }
        const uint8_t *w = base + p.weights_at + (size_t)(item % p.chunks) * chunk_bytes;
        switch (p.cblocks) {
        case 1: chunk8(attrs, in, out, &p, xh, w, corr, row, u0, u1, 1); break;
        case 2: chunk8(attrs, in, out, &p, xh, w, corr, row, u0, u1, 2); break;
        case 4: chunk8(attrs, in, out, &p, xh, w, corr, row, u0, u1, 4); break;
        default: chunk8(attrs, in, out, &p, xh, w, corr, row, u0, u1, 8); break;
        }
    }
}

const dv_variant dv_variant_qfully_connected_vnni = {
    DV_OP_QFULLY_CONNECTED, DV_ISA_VNNI, "vnni", accepts, items16, scratch16, run16,
    DV_VARIANT_INT8};
const dv_variant dv_variant_qfully_connected_avx2 = {
    DV_OP_QFULLY_CONNECTED, DV_ISA_AVX2, "avx2", accepts, items8, scratch8, run8,
    DV_VARIANT_INT8};

/* The packings: the weights (input 1) and the bias (input 2, in the corrections). */
const dv_variant_packing dv_packing_qfully_connected_vnni = {
    &dv_variant_qfully_connected_vnni, 6u, packed_size16, pack16, run_packed16, 1};
const dv_variant_packing dv_packing_qfully_connected_avx2 = {
    &dv_variant_qfully_connected_avx2, 6u, packed_size8, pack8, run_packed8, 1};

#endif
