/* QADD and QSUB (ops/qelemwise.c) on x86-64: AVX-512 (the "vnni" level: 16 lanes) and AVX2 (8
 * lanes) variants, for two inputs of the same shape (MobileNetV2's residual adds); broadcasting
 * instances are declined and run on the reference kernel.
 *
 * Per element, the reference computes (attrs v[0..12], ops/qelemwise.c):
 *     a' = MBQM1(wrap32(wrap32(a - v[0]) * 2^v[6]), v[1], v[2])
 *     b' = MBQM1(wrap32(wrap32(b - v[3]) * 2^v[6]), v[4], v[5])
 *     y  = clamp(wrap32(MBQM1(wrap32(a' +- b'), v[7], v[8]) + v[9]), v[10], v[11])
 * with MBQM1 = dv_multiply_by_quantized_multiplier_smaller_than_one under rounding v[12], that
 * is dv_multiply_by_quantized_multiplier with the shift min(shift, 0). Every step is modular
 * int32 arithmetic, which vpsubd, vpslld (a left shift by 0..30 is the multiplication by 2^v[6]
 * modulo 2^32), vpaddd and the lane-exact requantization of qnn_simd.h compute for any int32
 * input: no range check and no fallback are needed. The input scalings use qnn_simd.h's
 * requantization with offset 0 and the clamp [INT32_MIN, INT32_MAX] (the identity); the
 * output's with v[9], v[10], v[11] (infer guarantees v[10] <= v[11], so max then min is
 * dv_clamp).
 *
 * Work items: blocks of CHUNK consecutive elements. No scratch. */
#if defined(__x86_64__)

#include "../op.h"
#include "../quant.h"
#include "../variant.h"
#include "qnn_simd.h"

#define CHUNK 2048

static int accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 2 && attrs->n == 13 && dv_shape_equal(&in[0], &in[1]);
}

static uint64_t items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    const uint64_t n = dv_shape_size(&in[0]);
    return n ? (n + CHUNK - 1) / CHUNK : 1;
}

/* The shift MBQM1 uses. */
static int32_t below_one(int32_t shift)
{
    return shift > 0 ? 0 : shift;
}

/* ---- AVX2 --------------------------------------------------------------------------------- */

typedef struct {
    dv_rq8_prepared a, b, y;
    __m256i a_zero, b_zero, left;
} plan8;

DV_TARGET_AVX2 static void prepare8(plan8 *p, const int32_t *v)
{
    const dv_requant_op identity = {v[12], 0, INT32_MIN, INT32_MAX};
    const dv_requant_op output = {v[12], v[9], v[10], v[11]};
    dv_rq8_prepare(&p->a, _mm256_set1_epi32(v[1]), _mm256_set1_epi32(below_one(v[2])), &identity);
    dv_rq8_prepare(&p->b, _mm256_set1_epi32(v[4]), _mm256_set1_epi32(below_one(v[5])), &identity);
    dv_rq8_prepare(&p->y, _mm256_set1_epi32(v[7]), _mm256_set1_epi32(below_one(v[8])), &output);
    p->a_zero = _mm256_set1_epi32(v[0]);
    p->b_zero = _mm256_set1_epi32(v[3]);
    p->left = _mm256_set1_epi32(v[6]);
}

DV_TARGET_AVX2 DV_INLINE __m256i element8(const plan8 *p, __m256i a, __m256i b, int sub)
{
    a = dv_rq8_apply(_mm256_sllv_epi32(_mm256_sub_epi32(a, p->a_zero), p->left), &p->a);
    b = dv_rq8_apply(_mm256_sllv_epi32(_mm256_sub_epi32(b, p->b_zero), p->left), &p->b);
    return dv_rq8_apply(sub ? _mm256_sub_epi32(a, b) : _mm256_add_epi32(a, b), &p->y);
}

DV_TARGET_AVX2 static void run8(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                uint64_t begin, uint64_t end, int sub)
{
    plan8 p;
    prepare8(&p, attrs->v);
    const uint64_t n = dv_shape_size(&in[0].shape);
    const int32_t *a = in[0].data, *b = in[1].data;
    int32_t *y = out[0].data;
    for (uint64_t item = begin; item < end; item++) {
        const uint64_t i1 = (item + 1) * CHUNK < n ? (item + 1) * CHUNK : n;
        uint64_t i = item * CHUNK;
        for (; i + 8 <= i1; i += 8) {
            const __m256i va = _mm256_loadu_si256((const __m256i *)(const void *)(a + i));
            const __m256i vb = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
            _mm256_storeu_si256((__m256i *)(void *)(y + i), element8(&p, va, vb, sub));
        }
        if (i < i1) {
            const __m256i m = dv_lanes8((uint32_t)(i1 - i));
            const __m256i va = _mm256_maskload_epi32(a + i, m);
            const __m256i vb = _mm256_maskload_epi32(b + i, m);
            _mm256_maskstore_epi32(y + i, m, element8(&p, va, vb, sub));
        }
    }
}

static void qadd_run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run8(attrs, in, out, begin, end, 0);
}

static void qsub_run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run8(attrs, in, out, begin, end, 1);
}

/* ---- AVX-512 ------------------------------------------------------------------------------ */

typedef struct {
    dv_rq16_prepared a, b, y;
    __m512i a_zero, b_zero, left;
} plan16;

DV_TARGET_VNNI static void prepare16(plan16 *p, const int32_t *v)
{
    const dv_requant_op identity = {v[12], 0, INT32_MIN, INT32_MAX};
    const dv_requant_op output = {v[12], v[9], v[10], v[11]};
    dv_rq16_prepare(&p->a, _mm512_set1_epi32(v[1]), _mm512_set1_epi32(below_one(v[2])),
                    &identity);
    dv_rq16_prepare(&p->b, _mm512_set1_epi32(v[4]), _mm512_set1_epi32(below_one(v[5])),
                    &identity);
    dv_rq16_prepare(&p->y, _mm512_set1_epi32(v[7]), _mm512_set1_epi32(below_one(v[8])), &output);
    p->a_zero = _mm512_set1_epi32(v[0]);
    p->b_zero = _mm512_set1_epi32(v[3]);
    p->left = _mm512_set1_epi32(v[6]);
}

DV_TARGET_VNNI DV_INLINE __m512i element16(const plan16 *p, __m512i a, __m512i b, int sub)
{
    a = dv_rq16_apply(_mm512_sllv_epi32(_mm512_sub_epi32(a, p->a_zero), p->left), &p->a);
    b = dv_rq16_apply(_mm512_sllv_epi32(_mm512_sub_epi32(b, p->b_zero), p->left), &p->b);
    return dv_rq16_apply(sub ? _mm512_sub_epi32(a, b) : _mm512_add_epi32(a, b), &p->y);
}

DV_TARGET_VNNI static void run16(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                 uint64_t begin, uint64_t end, int sub)
{
    plan16 p;
    prepare16(&p, attrs->v);
    const uint64_t n = dv_shape_size(&in[0].shape);
    const int32_t *a = in[0].data, *b = in[1].data;
    int32_t *y = out[0].data;
    for (uint64_t item = begin; item < end; item++) {
        const uint64_t i1 = (item + 1) * CHUNK < n ? (item + 1) * CHUNK : n;
        uint64_t i = item * CHUNK;
        for (; i + 16 <= i1; i += 16) {
            const __m512i va = _mm512_loadu_si512((const void *)(a + i));
            const __m512i vb = _mm512_loadu_si512((const void *)(b + i));
            _mm512_storeu_si512((void *)(y + i), element16(&p, va, vb, sub));
        }
        if (i < i1) {
            const __mmask16 m = dv_lanes16((uint32_t)(i1 - i));
            const __m512i va = _mm512_maskz_loadu_epi32(m, a + i);
            const __m512i vb = _mm512_maskz_loadu_epi32(m, b + i);
            _mm512_mask_storeu_epi32(y + i, m, element16(&p, va, vb, sub));
        }
    }
}

static void qadd_run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run16(attrs, in, out, begin, end, 0);
}

static void qsub_run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run16(attrs, in, out, begin, end, 1);
}

const dv_variant dv_variant_qadd_vnni = {DV_OP_QADD, DV_ISA_VNNI, "vnni", accepts, items, NULL,
                                         qadd_run16, 0};
const dv_variant dv_variant_qadd_avx2 = {DV_OP_QADD, DV_ISA_AVX2, "avx2", accepts, items, NULL,
                                         qadd_run8, 0};
const dv_variant dv_variant_qsub_vnni = {DV_OP_QSUB, DV_ISA_VNNI, "vnni", accepts, items, NULL,
                                         qsub_run16, 0};
const dv_variant dv_variant_qsub_avx2 = {DV_OP_QSUB, DV_ISA_AVX2, "avx2", accepts, items, NULL,
                                         qsub_run8, 0};

#endif
