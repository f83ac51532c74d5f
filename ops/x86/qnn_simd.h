/* Vector forms of ops/quant.h's requantization for the x86 variants: 8 lanes (AVX2) or 16
 * (AVX-512), each lane computing exactly what dv_qnn_requantize computes for one element.
 * tests/test_variants.c holds them to the scalar functions on random and extreme values.
 *
 * dv_multiply_by_quantized_multiplier, lane by lane, with s = the shift clamped to [-31, 30]:
 *
 *   double rounding  a = x << max(s, 0) (wrapping); h = floor((a * m + 2^30) / 2^31), which is
 *                    SaturatingRoundingDoublingHighMul's value (quant.h), INT32_MAX when a and m
 *                    are both INT32_MIN; then RoundingDivideByPOT(h, max(-s, 0)) with the
 *                    remainder and threshold of quant.h. The 64-bit product is formed by
 *                    vpmuldq on even and odd lanes; bits 31..62 of a * m + 2^30 are the low 32
 *                    bits of h, so a logical 64-bit shift serves.
 *   single rounding  (x * m + 2^(30 - s)) >> (31 - s), arithmetic, in 64 bits, truncated to 32.
 *
 * Then + output_offset (wrapping) and the clamp to [act_min, act_max]. Only included inside
 * `#if defined(__x86_64__)`. */
#ifndef DETVM_OPS_X86_QNN_SIMD_H
#define DETVM_OPS_X86_QNN_SIMD_H

#include <immintrin.h>
#include <stdint.h>

#include "../quant.h"
#include "x86.h"

/* The per-channel requantization parameters of 8 or 16 lanes, and the op's own. */
typedef struct {
    int32_t rounding, output_offset, act_min, act_max;
} dv_requant_op;

/* ---- AVX2: 8 lanes ----------------------------------------------------------------------- */

DV_TARGET_AVX2 DV_INLINE __m256i dv_rq8_double(__m256i x, __m256i m, __m256i s)
{
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    const __m256i left = _mm256_max_epi32(s, zero);
    const __m256i right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i a = _mm256_sllv_epi32(x, left);
    const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, m), nudge);
    const __m256i odd = _mm256_add_epi64(
        _mm256_mul_epi32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(m, 32)), nudge);
    __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
    const __m256i min32 = _mm256_set1_epi32(INT32_MIN);
    const __m256i sat = _mm256_and_si256(_mm256_cmpeq_epi32(a, min32), _mm256_cmpeq_epi32(m, min32));
    h = _mm256_blendv_epi8(h, _mm256_set1_epi32(INT32_MAX), sat);
    const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    const __m256i remainder = _mm256_and_si256(h, mask);
    /* threshold = mask / 2 + (h < 0): subtracting the all-ones compare adds 1 */
    const __m256i threshold =
        _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), _mm256_cmpgt_epi32(zero, h));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, right), _mm256_cmpgt_epi32(remainder, threshold));
}

/* p >> t (arithmetic) per 64-bit lane, 0 <= t <= 63, from AVX2's logical shifts. */
DV_TARGET_AVX2 DV_INLINE __m256i dv_asr64x4(__m256i p, __m256i t)
{
    const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
    return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, sign), t), sign);
}

DV_TARGET_AVX2 DV_INLINE __m256i dv_rq8_single(__m256i x, __m256i m, __m256i s)
{
    const __m256i total = _mm256_sub_epi32(_mm256_set1_epi32(31), s);       /* 1..62 */
    const __m256i low = _mm256_set1_epi64x(0xFFFFFFFF), one = _mm256_set1_epi64x(1);
    const __m256i t_even = _mm256_and_si256(total, low), t_odd = _mm256_srli_epi64(total, 32);
    __m256i even = _mm256_mul_epi32(x, m);
    __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32));
    even = _mm256_add_epi64(even, _mm256_sllv_epi64(one, _mm256_sub_epi64(t_even, one)));
    odd = _mm256_add_epi64(odd, _mm256_sllv_epi64(one, _mm256_sub_epi64(t_odd, one)));
    even = dv_asr64x4(even, t_even);
    odd = dv_asr64x4(odd, t_odd);
    return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/* Requantizes 8 accumulators with the multipliers and shifts of their channels. */
DV_TARGET_AVX2 DV_INLINE __m256i dv_rq8(__m256i acc, __m256i multiplier, __m256i shift,
                                        const dv_requant_op *op)
{
    const __m256i s = _mm256_min_epi32(_mm256_max_epi32(shift, _mm256_set1_epi32(-31)),
                                       _mm256_set1_epi32(30));
    __m256i v = op->rounding == DV_ROUND_DOUBLE ? dv_rq8_double(acc, multiplier, s)
                                                : dv_rq8_single(acc, multiplier, s);
    v = _mm256_add_epi32(v, _mm256_set1_epi32(op->output_offset));
    v = _mm256_max_epi32(v, _mm256_set1_epi32(op->act_min));
    return _mm256_min_epi32(v, _mm256_set1_epi32(op->act_max));
}

/* The same with the per-channel work done once per block of channels: dv_rq8_prepare, then
 * dv_rq8_apply for every pixel. */
typedef struct {
    __m256i m, shift_left, right, mask, half;   /* double rounding */
    __m256i t_even, t_odd, r_even, r_odd;       /* single rounding */
    int any_left, saturation;
    dv_requant_op op;
} dv_rq8_prepared;

DV_TARGET_AVX2 DV_INLINE void dv_rq8_prepare(dv_rq8_prepared *r, __m256i multiplier,
                                             __m256i shift, const dv_requant_op *op)
{
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    const __m256i s = _mm256_min_epi32(_mm256_max_epi32(shift, _mm256_set1_epi32(-31)),
                                       _mm256_set1_epi32(30));
    r->op = *op;
    r->m = multiplier;
    r->shift_left = _mm256_max_epi32(s, zero);
    r->right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    r->mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, r->right), one);
    r->half = _mm256_srli_epi32(r->mask, 1);
    r->any_left = !_mm256_testz_si256(r->shift_left, r->shift_left);
    const __m256i min32 = _mm256_cmpeq_epi32(multiplier, _mm256_set1_epi32(INT32_MIN));
    r->saturation = !_mm256_testz_si256(min32, min32);
    const __m256i total = _mm256_sub_epi32(_mm256_set1_epi32(31), s);
    const __m256i one64 = _mm256_set1_epi64x(1);
    r->t_even = _mm256_and_si256(total, _mm256_set1_epi64x(0xFFFFFFFF));
    r->t_odd = _mm256_srli_epi64(total, 32);
    r->r_even = _mm256_sllv_epi64(one64, _mm256_sub_epi64(r->t_even, one64));
    r->r_odd = _mm256_sllv_epi64(one64, _mm256_sub_epi64(r->t_odd, one64));
}

DV_TARGET_AVX2 DV_INLINE __m256i dv_rq8_apply(__m256i x, const dv_rq8_prepared *r)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i m_odd = _mm256_srli_epi64(r->m, 32);
    __m256i v;
    if (r->op.rounding == DV_ROUND_DOUBLE) {
        const __m256i a = r->any_left ? _mm256_sllv_epi32(x, r->shift_left) : x;
        const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
        const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, r->m), nudge);
        const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), m_odd),
                                             nudge);
        __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1),
                                       0xAA);
        if (r->saturation) {
            const __m256i min32 = _mm256_set1_epi32(INT32_MIN);
            const __m256i sat = _mm256_and_si256(_mm256_cmpeq_epi32(a, min32),
                                                 _mm256_cmpeq_epi32(r->m, min32));
            h = _mm256_blendv_epi8(h, _mm256_set1_epi32(INT32_MAX), sat);
        }
        const __m256i remainder = _mm256_and_si256(h, r->mask);
        const __m256i threshold = _mm256_sub_epi32(r->half, _mm256_cmpgt_epi32(zero, h));
        v = _mm256_sub_epi32(_mm256_srav_epi32(h, r->right),
                             _mm256_cmpgt_epi32(remainder, threshold));
    } else {
        __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, r->m), r->r_even);
        __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m_odd),
                                       r->r_odd);
        even = dv_asr64x4(even, r->t_even);
        odd = dv_asr64x4(odd, r->t_odd);
        v = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    }
    v = _mm256_add_epi32(v, _mm256_set1_epi32(r->op.output_offset));
    v = _mm256_max_epi32(v, _mm256_set1_epi32(r->op.act_min));
    return _mm256_min_epi32(v, _mm256_set1_epi32(r->op.act_max));
}

/* The lanes [0, n) as a mask for vpmaskmovd. */
DV_TARGET_AVX2 DV_INLINE __m256i dv_lanes8(uint32_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ---- AVX-512: 16 lanes ------------------------------------------------------------------- */

DV_TARGET_VNNI DV_INLINE __m512i dv_rq16_double(__m512i x, __m512i m, __m512i s)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i left = _mm512_max_epi32(s, zero);
    const __m512i right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    const __m512i a = _mm512_sllv_epi32(x, left);
    const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
    const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, m), nudge);
    const __m512i odd = _mm512_add_epi64(
        _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32)), nudge);
    __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31),
                                        _mm512_slli_epi64(odd, 1));
    const __m512i min32 = _mm512_set1_epi32(INT32_MIN);
    const __mmask16 sat = _mm512_cmpeq_epi32_mask(a, min32) & _mm512_cmpeq_epi32_mask(m, min32);
    h = _mm512_mask_mov_epi32(h, sat, _mm512_set1_epi32(INT32_MAX));
    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, right), one);
    const __m512i remainder = _mm512_and_si512(h, mask);
    __m512i threshold = _mm512_srli_epi32(mask, 1);
    threshold = _mm512_mask_add_epi32(threshold, _mm512_cmplt_epi32_mask(h, zero), threshold, one);
    const __m512i q = _mm512_srav_epi32(h, right);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, one);
}

DV_TARGET_VNNI DV_INLINE __m512i dv_rq16_single(__m512i x, __m512i m, __m512i s)
{
    const __m512i total = _mm512_sub_epi32(_mm512_set1_epi32(31), s);       /* 1..62 */
    const __m512i low = _mm512_set1_epi64(0xFFFFFFFF), one = _mm512_set1_epi64(1);
    const __m512i t_even = _mm512_and_si512(total, low), t_odd = _mm512_srli_epi64(total, 32);
    __m512i even = _mm512_mul_epi32(x, m);
    __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32));
    even = _mm512_add_epi64(even, _mm512_sllv_epi64(one, _mm512_sub_epi64(t_even, one)));
    odd = _mm512_add_epi64(odd, _mm512_sllv_epi64(one, _mm512_sub_epi64(t_odd, one)));
    even = _mm512_srav_epi64(even, t_even);
    odd = _mm512_srav_epi64(odd, t_odd);
    return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

DV_TARGET_VNNI DV_INLINE __m512i dv_rq16(__m512i acc, __m512i multiplier, __m512i shift,
                                         const dv_requant_op *op)
{
    const __m512i s = _mm512_min_epi32(_mm512_max_epi32(shift, _mm512_set1_epi32(-31)),
                                       _mm512_set1_epi32(30));
    __m512i v = op->rounding == DV_ROUND_DOUBLE ? dv_rq16_double(acc, multiplier, s)
                                                : dv_rq16_single(acc, multiplier, s);
    v = _mm512_add_epi32(v, _mm512_set1_epi32(op->output_offset));
    v = _mm512_max_epi32(v, _mm512_set1_epi32(op->act_min));
    return _mm512_min_epi32(v, _mm512_set1_epi32(op->act_max));
}

typedef struct {
    __m512i m, shift_left, right, mask, half;   /* double rounding */
    __m512i t_even, t_odd, r_even, r_odd;       /* single rounding */
    int any_left, saturation;
    dv_requant_op op;
} dv_rq16_prepared;

DV_TARGET_VNNI DV_INLINE void dv_rq16_prepare(dv_rq16_prepared *r, __m512i multiplier,
                                              __m512i shift, const dv_requant_op *op)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i s = _mm512_min_epi32(_mm512_max_epi32(shift, _mm512_set1_epi32(-31)),
                                       _mm512_set1_epi32(30));
    r->op = *op;
    r->m = multiplier;
    r->shift_left = _mm512_max_epi32(s, zero);
    r->right = _mm512_max_epi32(_mm512_sub_epi32(zero, s), zero);
    r->mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, r->right), one);
    r->half = _mm512_srli_epi32(r->mask, 1);
    r->any_left = _mm512_test_epi32_mask(r->shift_left, r->shift_left) != 0;
    r->saturation = _mm512_cmpeq_epi32_mask(multiplier, _mm512_set1_epi32(INT32_MIN)) != 0;
    const __m512i total = _mm512_sub_epi32(_mm512_set1_epi32(31), s);
    const __m512i one64 = _mm512_set1_epi64(1);
    r->t_even = _mm512_and_si512(total, _mm512_set1_epi64(0xFFFFFFFF));
    r->t_odd = _mm512_srli_epi64(total, 32);
    r->r_even = _mm512_sllv_epi64(one64, _mm512_sub_epi64(r->t_even, one64));
    r->r_odd = _mm512_sllv_epi64(one64, _mm512_sub_epi64(r->t_odd, one64));
}

DV_TARGET_VNNI DV_INLINE __m512i dv_rq16_apply(__m512i x, const dv_rq16_prepared *r)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    const __m512i m_odd = _mm512_srli_epi64(r->m, 32);
    __m512i v;
    if (r->op.rounding == DV_ROUND_DOUBLE) {
        const __m512i a = r->any_left ? _mm512_sllv_epi32(x, r->shift_left) : x;
        const __m512i nudge = _mm512_set1_epi64((int64_t)1 << 30);
        const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(a, r->m), nudge);
        const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), m_odd),
                                             nudge);
        __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31),
                                            _mm512_slli_epi64(odd, 1));
        if (r->saturation) {
            const __m512i min32 = _mm512_set1_epi32(INT32_MIN);
            const __mmask16 sat = _mm512_cmpeq_epi32_mask(a, min32) &
                                  _mm512_cmpeq_epi32_mask(r->m, min32);
            h = _mm512_mask_mov_epi32(h, sat, _mm512_set1_epi32(INT32_MAX));
        }
        const __m512i remainder = _mm512_and_si512(h, r->mask);
        const __m512i threshold =
            _mm512_mask_add_epi32(r->half, _mm512_cmplt_epi32_mask(h, zero), r->half, one);
        const __m512i q = _mm512_srav_epi32(h, r->right);
        v = _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q, one);
    } else {
        __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, r->m), r->r_even);
        __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m_odd),
                                       r->r_odd);
        even = _mm512_srav_epi64(even, r->t_even);
        odd = _mm512_srav_epi64(odd, r->t_odd);
        v = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    }
    v = _mm512_add_epi32(v, _mm512_set1_epi32(r->op.output_offset));
    v = _mm512_max_epi32(v, _mm512_set1_epi32(r->op.act_min));
    return _mm512_min_epi32(v, _mm512_set1_epi32(r->op.act_max));
}

DV_TARGET_VNNI DV_INLINE __mmask16 dv_lanes16(uint32_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

#endif
