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

/* Lanes [0, n) of v (n <= 8) stored at element `at` of an int8 tensor (saturated, dv_store_i8)
 * or of an int32 one. */
DV_TARGET_AVX2 DV_INLINE void dv_store_lanes8(void *base, size_t at, __m256i v, uint32_t n,
                                              int as_int8)
{
    if (as_int8)
        dv_store_i8x8((int8_t *)base + at, v, n);
    else if (n == 8)
        _mm256_storeu_si256((__m256i *)(void *)((int32_t *)base + at), v);
    else
        _mm256_maskstore_epi32((int32_t *)base + at, dv_lanes8(n), v);
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

/* ---- AVX-512: both roundings as one 64-bit shift ----------------------------------------
 *
 * The same values as dv_rq16_apply with fewer instructions, for the conv kernels' inner
 * loops. With a = x << left (wrapping; left = max(s, 0) under double rounding, 0 under single)
 * and P = a * m, exact in 64 bits, lane by lane:
 *
 *   double rounding, r = max(-s, 0):
 *       y = (P + 2^30 + [r >= 1] (2^(30 + r) - 2^31 [P < -2^30])) >> (31 + r)
 *   single rounding:
 *       y = (P + 2^(30 - s)) >> (31 - s)
 *
 * arithmetic shifts, truncated to 32 bits. The double-rounding form: h = floor((P + 2^30) /
 * 2^31) is SaturatingRoundingDoublingHighMul's value when m is not INT32_MIN, and
 * RoundingDivideByPOT(h, r) = floor((h + 2^(r - 1) - [h < 0]) / 2^r) for r >= 1 (quant.h's
 * remainder > threshold test: ties away from zero). As floor((floor(A / 2^31) + B) / 2^r) =
 * floor((A + 2^31 B) / 2^(31 + r)) for any integer B, and h < 0 exactly when P < -2^30, the two
 * roundings fold into one. SaturatingRoundingDoublingHighMul's saturating case, a = m =
 * INT32_MIN, is the only P above 2^62 - 2^31 (= (2^31 - 1) * 2^31); capping P there makes h
 * INT32_MAX, as saturation does, and leaves every other P alone (done only when a multiplier
 * is INT32_MIN under double rounding). |P| <= 2^62 and the constants stay below 2^62, so no
 * lane overflows. */
typedef struct {
    __m512i m, m_odd, left;
    __m512i k_even, k_odd, t_even, t_odd;   /* the constant added and the shift, 64-bit lanes */
    __m512i offset, lo, hi;
    __mmask8 adj_even, adj_odd;             /* the lanes that subtract 2^31 when P < -2^30 */
    int any_left, saturation;
    /* k + output_offset * 2^t, when `folded` (|output_offset| <= 256 and every t <= 52: the sum
     * stays below 2^62 + 2^61 + 2^60 + 2^30 in magnitude): adding it instead of k gives the
     * shifted value plus output_offset exactly, whose low 32 bits are the wrapping sum. */
    __m512i k_even_off, k_odd_off;
    int folded;
    /* t - 32 on 32-bit lanes, and dv_rq16w_fast's case: 0 none, 1 without the adjustment (no
     * lane has it), 2 with it on every lane */
    __m512i t_high;
    int fast;
} dv_rq16w_prepared;

DV_TARGET_VNNI DV_INLINE void dv_rq16w_prepare(dv_rq16w_prepared *r, __m512i multiplier,
                                               __m512i shift, const dv_requant_op *op)
{
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi64(1);
    r->saturation = op->rounding == DV_ROUND_DOUBLE &&
                    _mm512_cmpeq_epi32_mask(multiplier, _mm512_set1_epi32(INT32_MIN)) != 0;
    const __m512i s = _mm512_min_epi32(_mm512_max_epi32(shift, _mm512_set1_epi32(-31)),
                                       _mm512_set1_epi32(30));
    const __m512i s_even = _mm512_srai_epi64(_mm512_slli_epi64(s, 32), 32);
    const __m512i s_odd = _mm512_srai_epi64(s, 32);
    r->m = multiplier;
    r->m_odd = _mm512_srli_epi64(multiplier, 32);
    if (op->rounding == DV_ROUND_DOUBLE) {
        r->left = _mm512_max_epi32(s, zero);
        r->any_left = _mm512_test_epi32_mask(r->left, r->left) != 0;
        const __m512i right_even = _mm512_max_epi64(_mm512_sub_epi64(zero, s_even), zero);
        const __m512i right_odd = _mm512_max_epi64(_mm512_sub_epi64(zero, s_odd), zero);
        const __m512i thirty = _mm512_set1_epi64(30), nudge = _mm512_set1_epi64((int64_t)1 << 30);
        r->adj_even = _mm512_cmpgt_epi64_mask(right_even, zero);
        r->adj_odd = _mm512_cmpgt_epi64_mask(right_odd, zero);
        r->t_even = _mm512_add_epi64(right_even, _mm512_set1_epi64(31));
        r->t_odd = _mm512_add_epi64(right_odd, _mm512_set1_epi64(31));
        r->k_even = _mm512_add_epi64(
            nudge, _mm512_maskz_sllv_epi64(r->adj_even, one, _mm512_add_epi64(right_even, thirty)));
        r->k_odd = _mm512_add_epi64(
            nudge, _mm512_maskz_sllv_epi64(r->adj_odd, one, _mm512_add_epi64(right_odd, thirty)));
    } else {
        r->left = zero;
        r->any_left = 0;
        r->adj_even = r->adj_odd = 0;
        r->t_even = _mm512_sub_epi64(_mm512_set1_epi64(31), s_even);     /* 1..62 */
        r->t_odd = _mm512_sub_epi64(_mm512_set1_epi64(31), s_odd);
        r->k_even = _mm512_sllv_epi64(one, _mm512_sub_epi64(r->t_even, one));
        r->k_odd = _mm512_sllv_epi64(one, _mm512_sub_epi64(r->t_odd, one));
    }
    r->offset = _mm512_set1_epi32(op->output_offset);
    r->lo = _mm512_set1_epi32(op->act_min);
    r->hi = _mm512_set1_epi32(op->act_max);
    const __m512i t_max = _mm512_max_epi64(r->t_even, r->t_odd);
    r->folded = op->output_offset >= -256 && op->output_offset <= 256 &&
                _mm512_cmpgt_epi64_mask(t_max, _mm512_set1_epi64(52)) == 0;
    const __m512i off64 = _mm512_set1_epi64(op->output_offset);
    r->k_even_off = _mm512_add_epi64(r->k_even, _mm512_sllv_epi64(off64, r->t_even));
    r->k_odd_off = _mm512_add_epi64(r->k_odd, _mm512_sllv_epi64(off64, r->t_odd));
    const __m512i thirty_two = _mm512_set1_epi64(32);
    r->t_high = _mm512_or_si512(_mm512_sub_epi64(r->t_even, thirty_two),
                                _mm512_slli_epi64(_mm512_sub_epi64(r->t_odd, thirty_two), 32));
    const int high = _mm512_cmplt_epi64_mask(_mm512_min_epi64(r->t_even, r->t_odd), thirty_two) == 0;
    const unsigned adj = (unsigned)r->adj_even | (unsigned)r->adj_odd << 8;
    r->fast = !r->any_left && !r->saturation && r->folded && high
                  ? (adj == 0 ? 1 : adj == 0xFFFF ? 2 : 0)
                  : 0;
}

DV_TARGET_VNNI DV_INLINE __m512i dv_rq16w_apply(__m512i x, const dv_rq16w_prepared *r)
{
    const __m512i a = r->any_left ? _mm512_sllv_epi32(x, r->left) : x;
    __m512i even = _mm512_mul_epi32(a, r->m);
    __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), r->m_odd);
    if (r->saturation) {
        const __m512i cap = _mm512_set1_epi64(((int64_t)1 << 62) - ((int64_t)1 << 31));
        even = _mm512_min_epi64(even, cap);
        odd = _mm512_min_epi64(odd, cap);
    }
    if (r->adj_even | r->adj_odd) {
        const __m512i limit = _mm512_set1_epi64(-((int64_t)1 << 30));
        const __m512i half = _mm512_set1_epi64((int64_t)1 << 31);
        even = _mm512_mask_sub_epi64(even, _mm512_mask_cmplt_epi64_mask(r->adj_even, even, limit),
                                     even, half);
        odd = _mm512_mask_sub_epi64(odd, _mm512_mask_cmplt_epi64_mask(r->adj_odd, odd, limit),
                                    odd, half);
    }
    even = _mm512_srav_epi64(_mm512_add_epi64(even, r->k_even), r->t_even);
    odd = _mm512_srav_epi64(_mm512_add_epi64(odd, r->k_odd), r->t_odd);
    __m512i v = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
    v = _mm512_add_epi32(v, r->offset);
    return _mm512_min_epi32(_mm512_max_epi32(v, r->lo), r->hi);
}

/* dv_rq16w_apply's values before the clamp, output offset included, for a prepared vector
 * with r->fast = 1 (call with adj = 0) or 2 (adj = 1), on x and x_odd = x >> 32 per 64-bit
 * lane: no left shift, no saturating multiplier, the adjustment on every lane or none, the
 * offset folded into the constant, and every shift t at least 32, so that X >> t is taken as
 * (the high 32 bits of X) >> (t - 32) on 32-bit lanes: floor(floor(X / 2^32) / 2^(t - 32)) =
 * floor(X / 2^t), which fits 32 bits as |X| < 2^63. */
DV_TARGET_VNNI DV_INLINE __m512i dv_rq16w_fast(__m512i x, __m512i x_odd,
                                               const dv_rq16w_prepared *r, const int adj)
{
    __m512i even = _mm512_mul_epi32(x, r->m);
    __m512i odd = _mm512_mul_epi32(x_odd, r->m_odd);
    if (adj) {
        const __m512i limit = _mm512_set1_epi64(-((int64_t)1 << 30));
        const __m512i half = _mm512_set1_epi64((int64_t)1 << 31);
        even = _mm512_mask_sub_epi64(even, _mm512_cmplt_epi64_mask(even, limit), even, half);
        odd = _mm512_mask_sub_epi64(odd, _mm512_cmplt_epi64_mask(odd, limit), odd, half);
    }
    even = _mm512_add_epi64(even, r->k_even_off);
    odd = _mm512_add_epi64(odd, r->k_odd_off);
    /* the high halves: even's moved down into the even lanes, odd's in place */
    const __m512i high = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
    return _mm512_srav_epi32(high, r->t_high);
}

/* dst[i] = src[i] + 128 for n int8 values, the unsigned operand vpdpbusd takes (x ^ 0x80, exact). */
DV_TARGET_VNNI DV_INLINE void dv_flip_i8(uint8_t *dst, const int8_t *src, size_t n)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        _mm512_storeu_si512((void *)(dst + i),
                            _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), flip));
    if (i < n) {
        const __mmask64 m = ((__mmask64)1 << (n - i)) - 1;
        _mm512_mask_storeu_epi8(dst + i, m,
                                _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
    }
}

#endif
