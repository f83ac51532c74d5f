/* CVM DENSE and DENSE_SHIFT variants for x86-64: AVX2 and AVX-512.
 *
 * They give exactly the bytes of the reference kernels (ops/nn.c, dense and the fused ops):
 * y[m][u] is the bias plus the sum of x[m][k] * w[u][k], modulo 2^32, then for DENSE_SHIFT the
 * epilogue, applied to each block of outputs by the reference's own routine (dv_epilogue_ref:
 * a dense layer has few outputs, so it costs nothing to speak of). The products are taken on 32-bit lanes with
 * vpmulld (the low 32 bits of the product: exact modulo 2^32 for every int32) and summed with
 * vpaddd, so the variants need no range check and no fallback: they hold for every value a
 * hostile module can store. Modular sums are associative and commutative, so the lane-wise
 * partial sums and their final reduction give the reference's result.
 *
 * CVM dense layers have one row (batch 1), where the time is the read of the int32 weights,
 * which this streams once; an int8 packing (vpdpbusd) would only pay with many rows.
 *
 * int8 storage (DV_VARIANT_INT8): int8 data rows are widened into scratch first (the products
 * are the same), and an int8 output is stored saturated (dv_narrow_i8, which is dv_store_i8).
 *
 * Work items: (block of 4 rows, block of 16 units), rows outer; each item writes only its
 * own outputs. */
#if defined(__x86_64__)

#include <immintrin.h>

#include "../nn.h"
#include "../nn_attrs.h"
#include "../variant.h"
#include "x86.h"

#define ROW_BLOCK 4
#define UNIT_BLOCK 16

static uint64_t unit_blocks(uint32_t units)
{
    return (units + UNIT_BLOCK - 1) / UNIT_BLOCK;
}

static int dense_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == DENSE_N_ATTRS && n_in >= 2;
}

static int dense_shift_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == DENSE_N_ATTRS + EPI_N_ATTRS && n_in >= 2 &&
           dv_epilogue_valid(attrs->v + DENSE_N_ATTRS);
}

/* A block's sums, then the widened int8 data rows. */
static uint64_t dense_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return ROW_BLOCK * UNIT_BLOCK + (uint64_t)ROW_BLOCK * in[0].dim[1] + 16;
}

static uint64_t dense_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return (in[0].dim[0] + ROW_BLOCK - 1) / ROW_BLOCK * unit_blocks(in[1].dim[0]);
}

static uint32_t sum_lanes(const uint32_t *lanes, int n)
{
    uint32_t s = 0;
    for (int i = 0; i < n; i++)
        s += lanes[i];
    return s;
}

/* The geometry of one item: rows [m0, m1) (x is row m0, int32) and units [u0, u1); the tiles
 * write the sums to sums[(m - m0) * UNIT_BLOCK + u - u0]. */
typedef struct {
    const int32_t *x, *w, *bias;
    uint32_t *sums;
    size_t depth, units, m0, m1, u0, u1;
} dense_block;

/* Item `item`'s block; int8 data rows are widened into `scratch` (after the sums). */
static dense_block block_of(const dv_attrs *attrs, const dv_tensor *in, uint64_t item,
                            int32_t *scratch)
{
    dense_block b;
    uint64_t n_ub = unit_blocks(in[1].shape.dim[0]);
    size_t rows = in[0].shape.dim[0];
    b.w = in[1].data;
    b.bias = attrs->v[DENSE_USE_BIAS] ? in[2].data : 0;
    b.sums = (uint32_t *)scratch;
    b.depth = in[0].shape.dim[1];
    b.units = in[1].shape.dim[0];
    b.m0 = (size_t)(item / n_ub) * ROW_BLOCK;
    b.m1 = b.m0 + ROW_BLOCK < rows ? b.m0 + ROW_BLOCK : rows;
    b.u0 = (size_t)(item % n_ub) * UNIT_BLOCK;
    b.u1 = b.u0 + UNIT_BLOCK < b.units ? b.u0 + UNIT_BLOCK : b.units;
    if (in[0].i8) {
        int32_t *wide = scratch + ROW_BLOCK * UNIT_BLOCK;
        dv_widen_i8(in[0].i8 + b.m0 * b.depth, wide, (b.m1 - b.m0) * b.depth);
        b.x = wide;
    } else {
        b.x = in[0].data + b.m0 * b.depth;
    }
    return b;
}

/* The block's sums to the output: the epilogue first when there is one, then int32 or
 * saturated int8. */
static void block_store(const dv_attrs *attrs, const dense_block *b, dv_tensor *out)
{
    const size_t n = b->u1 - b->u0;
    for (size_t m = b->m0; m < b->m1; m++) {
        int32_t *sums = (int32_t *)(b->sums + (m - b->m0) * UNIT_BLOCK);
        if (attrs->n == DENSE_N_ATTRS + EPI_N_ATTRS)
            dv_epilogue_ref(attrs->v + DENSE_N_ATTRS, sums, n);
        if (out[0].i8)
            dv_narrow_i8(sums, out[0].i8 + m * b->units + b->u0, n);
        else
            memcpy(out[0].data + m * b->units + b->u0, sums, n * sizeof *sums);
    }
}

/* ---- AVX-512 -------------------------------------------------------------------------------- */

/* Rows [m, m + R) and units [u, u + U), R <= 4, U <= 4. */
#define AVX512_TILE(R, U)                                                                          \
    DV_TARGET_VNNI static void avx512_tile_##R##x##U(const dense_block *b, size_t m, size_t u)     \
    {                                                                                              \
        __m512i acc[R][U];                                                                         \
        DV_UNROLL for (int r = 0; r < R; r++)                                                      \
            DV_UNROLL for (int j = 0; j < U; j++)                                                  \
                acc[r][j] = _mm512_setzero_si512();                                                \
        for (size_t k = 0; k < b->depth; k += 16) {                                                \
            __mmask16 mk = b->depth - k >= 16 ? 0xffff : (__mmask16)((1u << (b->depth - k)) - 1);  \
            __m512i xv[R], wv[U];                                                                  \
            DV_UNROLL for (int r = 0; r < R; r++)                                                  \
                xv[r] = _mm512_maskz_loadu_epi32(mk, b->x + (m - b->m0 + (size_t)r) * b->depth + k); \
            DV_UNROLL for (int j = 0; j < U; j++)                                                  \
                wv[j] = _mm512_maskz_loadu_epi32(mk, b->w + (u + (size_t)j) * b->depth + k);       \
            DV_UNROLL for (int r = 0; r < R; r++)                                                  \
                DV_UNROLL for (int j = 0; j < U; j++)                                              \
                    acc[r][j] = _mm512_add_epi32(acc[r][j], _mm512_mullo_epi32(xv[r], wv[j]));     \
        }                                                                                          \
        DV_UNROLL for (int r = 0; r < R; r++)                                                      \
            DV_UNROLL for (int j = 0; j < U; j++) {                                                \
                uint32_t lanes[16];                                                                \
                _mm512_storeu_si512(lanes, acc[r][j]);                                             \
                uint32_t start = b->bias ? (uint32_t)b->bias[u + (size_t)j] : 0;                   \
                b->sums[(m - b->m0 + (size_t)r) * UNIT_BLOCK + u - b->u0 + (size_t)j] =            \
                    start + sum_lanes(lanes, 16);                                                  \
            }                                                                                      \
    }

AVX512_TILE(4, 4)
AVX512_TILE(1, 4)
AVX512_TILE(4, 1)
AVX512_TILE(1, 1)

static void avx512_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                       uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,
                       uint64_t end)
{
    for (uint64_t item = begin; item < end; item++) {
        dense_block b = block_of(attrs, in, item, scratch);
        for (size_t m = b.m0; m < b.m1;) {
            size_t rows = b.m1 - m >= 4 ? 4 : 1;
            for (size_t u = b.u0; u < b.u1;) {
                size_t units = b.u1 - u >= 4 ? 4 : 1;
                if (rows == 4)
                    (units == 4 ? avx512_tile_4x4 : avx512_tile_4x1)(&b, m, u);
                else
                    (units == 4 ? avx512_tile_1x4 : avx512_tile_1x1)(&b, m, u);
                u += units;
            }
            m += rows;
        }
        block_store(attrs, &b, out);
    }
}

/* ---- AVX2 ----------------------------------------------------------------------------------- */

#define AVX2_TILE(R, U)                                                                            \
    DV_TARGET_AVX2 static void avx2_tile_##R##x##U(const dense_block *b, size_t m, size_t u)       \
    {                                                                                              \
        __m256i acc[R][U];                                                                         \
        __m256i lane_ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                              \
        DV_UNROLL for (int r = 0; r < R; r++)                                                      \
            DV_UNROLL for (int j = 0; j < U; j++)                                                  \
                acc[r][j] = _mm256_setzero_si256();                                                \
        for (size_t k = 0; k < b->depth; k += 8) {                                                 \
            size_t left = b->depth - k < 8 ? b->depth - k : 8;                                     \
            __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lane_ids);               \
            __m256i xv[R], wv[U];                                                                  \
            DV_UNROLL for (int r = 0; r < R; r++)                                                  \
                xv[r] = _mm256_maskload_epi32(b->x + (m - b->m0 + (size_t)r) * b->depth + k, mk);  \
            DV_UNROLL for (int j = 0; j < U; j++)                                                  \
                wv[j] = _mm256_maskload_epi32(b->w + (u + (size_t)j) * b->depth + k, mk);          \
            DV_UNROLL for (int r = 0; r < R; r++)                                                  \
                DV_UNROLL for (int j = 0; j < U; j++)                                              \
                    acc[r][j] = _mm256_add_epi32(acc[r][j], _mm256_mullo_epi32(xv[r], wv[j]));     \
        }                                                                                          \
        DV_UNROLL for (int r = 0; r < R; r++)                                                      \
            DV_UNROLL for (int j = 0; j < U; j++) {                                                \
                uint32_t lanes[8];                                                                 \
                _mm256_storeu_si256((__m256i *)(void *)lanes, acc[r][j]);                          \
                uint32_t start = b->bias ? (uint32_t)b->bias[u + (size_t)j] : 0;                   \
                b->sums[(m - b->m0 + (size_t)r) * UNIT_BLOCK + u - b->u0 + (size_t)j] =            \
                    start + sum_lanes(lanes, 8);                                                   \
            }                                                                                      \
    }

AVX2_TILE(4, 2)
AVX2_TILE(1, 4)
AVX2_TILE(4, 1)
AVX2_TILE(1, 1)

static void avx2_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                     uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,
                     uint64_t end)
{
    for (uint64_t item = begin; item < end; item++) {
        dense_block b = block_of(attrs, in, item, scratch);
        for (size_t m = b.m0; m < b.m1;) {
            size_t rows = b.m1 - m >= 4 ? 4 : 1;
            for (size_t u = b.u0; u < b.u1;) {
                size_t units = rows == 4 ? (b.u1 - u >= 2 ? 2 : 1) : (b.u1 - u >= 4 ? 4 : 1);
                if (rows == 4)
                    (units == 2 ? avx2_tile_4x2 : avx2_tile_4x1)(&b, m, u);
                else
                    (units == 4 ? avx2_tile_1x4 : avx2_tile_1x1)(&b, m, u);
                u += units;
            }
            m += rows;
        }
        block_store(attrs, &b, out);
    }
}

const dv_variant dv_variant_cvm_dense_avx2 = {DV_OP_DENSE, DV_ISA_AVX2, "avx2", dense_accepts,
                                              dense_items, dense_scratch, avx2_run,
                                              DV_VARIANT_INT8};
const dv_variant dv_variant_cvm_dense_vnni = {DV_OP_DENSE, DV_ISA_VNNI, "vnni", dense_accepts,
                                              dense_items, dense_scratch, avx512_run,
                                              DV_VARIANT_INT8};
const dv_variant dv_variant_cvm_dense_shift_avx2 = {DV_OP_DENSE_SHIFT, DV_ISA_AVX2, "avx2",
                                                    dense_shift_accepts, dense_items,
                                                    dense_scratch, avx2_run, DV_VARIANT_INT8};
const dv_variant dv_variant_cvm_dense_shift_vnni = {DV_OP_DENSE_SHIFT, DV_ISA_VNNI, "vnni",
                                                    dense_shift_accepts, dense_items,
                                                    dense_scratch, avx512_run, DV_VARIANT_INT8};

#endif
