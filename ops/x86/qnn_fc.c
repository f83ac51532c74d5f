/* QFULLY_CONNECTED (ops/qnn.c) on x86-64: AVX-512 (the "vnni" level: 16 lanes) and AVX2 (8
 * lanes) variants.
 *
 * A fully connected layer with few rows reads each weight once, so its speed is the speed of
 * reading the int32 weights; packing them would cost more than it saves. These variants
 * multiply the tensors' int32 values directly: (w + filter_offset) * (x + input_offset) by
 * vpmulld and wrapping vpaddd, four output units at a time sharing the data loads, then a
 * wrapping horizontal sum and the scalar requantization of ops/qnn.h. That is the reference's
 * uint32 arithmetic for every input, in another order of the same modular sum, so nothing
 * needs checking.
 *
 * Work items: (row, block of 16 output units), row-major. No scratch. */
#if defined(__x86_64__)

#include "../qnn.h"
#include "../qnn_attrs.h"
#include "../variant.h"
#include "qnn_simd.h"

#define UNITS_PER_ITEM 16

typedef struct {
    size_t rows, units, depth, unit_blocks;
} fc_plan;

static void plan(fc_plan *p, const dv_shape *in)
{
    p->depth = in[1].dim[1];
    p->units = in[1].dim[0];
    p->rows = (size_t)(dv_shape_size(&in[0]) / p->depth);
    p->unit_blocks = (p->units + UNITS_PER_ITEM - 1) / UNITS_PER_ITEM;
}

static int accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 5;
}

static uint64_t items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    fc_plan p;
    plan(&p, in);
    return (uint64_t)p.rows * p.unit_blocks;
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
    out[0].data[row * units + unit] =
        dv_qnn_requantize(acc + (uint32_t)in[2].data[unit], in[3].data[unit], in[4].data[unit],
                          a[QFC_ROUNDING], a[QFC_OUTPUT_OFFSET], a[QFC_ACT_MIN], a[QFC_ACT_MAX]);
}

/* ---- AVX-512 ------------------------------------------------------------------------------- */

DV_TARGET_VNNI static void run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                 uint32_t n_out, dv_tensor *out, int32_t *scratch,
                                 uint64_t begin, uint64_t end)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, shapes);
    const __m512i x_offset = _mm512_set1_epi32(attrs->v[QFC_INPUT_OFFSET]);
    const __m512i w_offset = _mm512_set1_epi32(attrs->v[QFC_FILTER_OFFSET]);
    const size_t d_n = p.depth;
    for (uint64_t item = begin; item < end; item++) {
        const size_t row = (size_t)(item / p.unit_blocks);
        const size_t u0 = (size_t)(item % p.unit_blocks) * UNITS_PER_ITEM;
        const size_t u1 = u0 + UNITS_PER_ITEM < p.units ? u0 + UNITS_PER_ITEM : p.units;
        const int32_t *x = in[0].data + row * d_n;
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
                finish(attrs, in, out, row, u + (size_t)j, sum_lanes(lanes[j], 16), p.units);
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
            finish(attrs, in, out, row, u, sum_lanes(lanes, 16), p.units);
        }
    }
}

/* ---- AVX2 ---------------------------------------------------------------------------------- */

DV_TARGET_AVX2 static void run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                uint32_t n_out, dv_tensor *out, int32_t *scratch,
                                uint64_t begin, uint64_t end)
{
    fc_plan p;
    const dv_shape shapes[2] = {in[0].shape, in[1].shape};
    plan(&p, shapes);
    const __m256i x_offset = _mm256_set1_epi32(attrs->v[QFC_INPUT_OFFSET]);
    const __m256i w_offset = _mm256_set1_epi32(attrs->v[QFC_FILTER_OFFSET]);
    const size_t d_n = p.depth;
    for (uint64_t item = begin; item < end; item++) {
        const size_t row = (size_t)(item / p.unit_blocks);
        const size_t u0 = (size_t)(item % p.unit_blocks) * UNITS_PER_ITEM;
        const size_t u1 = u0 + UNITS_PER_ITEM < p.units ? u0 + UNITS_PER_ITEM : p.units;
        const int32_t *x = in[0].data + row * d_n;
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
            finish(attrs, in, out, row, u, sum_lanes(lanes, 8), p.units);
        }
    }
}

const dv_variant dv_variant_qfully_connected_vnni = {
    DV_OP_QFULLY_CONNECTED, DV_ISA_VNNI, "vnni", accepts, items, NULL, run16, 0};
const dv_variant dv_variant_qfully_connected_avx2 = {
    DV_OP_QFULLY_CONNECTED, DV_ISA_AVX2, "avx2", accepts, items, NULL, run8, 0};

#endif
