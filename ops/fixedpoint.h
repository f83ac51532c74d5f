/* gemmlowp-style fixed-point arithmetic, as TFLite's int8 logistic, tanh, softmax and hard swish
 * kernels use it (gemmlowp's fixedpoint/fixedpoint.h and the helpers of TFLite's common.h).
 *
 * A fixed-point value is a raw int32 with a number of integer bits k, 0 <= k <= 29 here:
 * it stands for raw / 2^(31 - k), so its range is [-2^k, 2^k). gemmlowp carries k in the C++
 * type; here it is a parameter. Products are SaturatingRoundingDoublingHighMul (ops/quant.h),
 * whose result has the sum of the operands' integer bits.
 *
 * gemmlowp's plain addition, subtraction and negation are C++ int32 operations whose overflow
 * is undefined; they wrap here (modulo 2^32), which is what TFLite's compiled code does on
 * every target, and identical whenever gemmlowp itself is defined. The constants are gemmlowp's
 * (each one is its Q0.31, Q2.29 or Q(k) raw value). Everything is exact integer arithmetic: the
 * results are bit-identical with gemmlowp's scalar code. */
#ifndef DETVM_OPS_FIXEDPOINT_H
#define DETVM_OPS_FIXEDPOINT_H

#include <stdint.h>

#include "quant.h"

/* The int32 whose two's complement bits are u, without the implementation-defined
 * conversion of an out-of-range unsigned value. */
static inline int32_t dv_fp_from_bits(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

/* a + b, a - b, -a, wrapping modulo 2^32. */
static inline int32_t dv_fp_add(int32_t a, int32_t b)
{
    return dv_fp_from_bits((uint32_t)a + (uint32_t)b);
}

static inline int32_t dv_fp_sub(int32_t a, int32_t b)
{
    return dv_fp_from_bits((uint32_t)a - (uint32_t)b);
}

static inline int32_t dv_fp_neg(int32_t a)
{
    return dv_fp_from_bits(0u - (uint32_t)a);
}

/* The fixed-point product (integer bits add up). */
static inline int32_t dv_fp_mul(int32_t a, int32_t b)
{
    return dv_saturating_rounding_doubling_high_mul(a, b);
}

/* (a + b) / 2 rounded to nearest, ties away from zero (gemmlowp's RoundingHalfSum: the sum
 * plus its sign, divided by 2 truncating). */
static inline int32_t dv_fp_rounding_half_sum(int32_t a, int32_t b)
{
    int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* x * 2^exponent for -31 <= exponent <= 31: a left shift saturating to the int32 range for a
 * positive exponent, RoundingDivideByPOT for a negative one (gemmlowp's
 * SaturatingRoundingMultiplyByPOT). */
static inline int32_t dv_fp_saturating_rounding_multiply_by_pot(int32_t x, int exponent)
{
    if (exponent == 0)
        return x;
    if (exponent < 0)
        return dv_rounding_divide_by_pot(x, -exponent);
    /* gemmlowp saturates above (2^(31-e) - 1) and below -(2^(31-e) - 1); inside that band
     * the shift is exact. */
    int64_t threshold = ((int64_t)1 << (31 - exponent)) - 1;
    if (x > threshold)
        return INT32_MAX;
    if (x < -threshold)
        return INT32_MIN;
    return (int32_t)((int64_t)x * ((int64_t)1 << exponent));
}

/* Rescale: the same value with dst_bits integer bits instead of src_bits (saturating when
 * fewer, rounding when more). */
static inline int32_t dv_fp_rescale(int32_t x, int src_bits, int dst_bits)
{
    return dv_fp_saturating_rounding_multiply_by_pot(x, src_bits - dst_bits);
}

/* 1.0 with k integer bits; with k = 0 it is not representable, and gemmlowp uses the largest
 * raw value. */
static inline int32_t dv_fp_one(int k)
{
    return k == 0 ? INT32_MAX : (int32_t)1 << (31 - k);
}

/* exp(a) for a in [-1/4, 0), Q0 in, Q0 out: gemmlowp's fourth-order Taylor expansion around
 * -1/8, x = a + 1/8:
 *   exp(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24), with the polynomial evaluated as
 *   ((x^4/4 + x^3) / 3 + x^2) / 2, rounding after every step exactly as gemmlowp does. */
static inline int32_t dv_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;   /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;               /* 1/3 in Q0.31 */
    int32_t x = dv_fp_add(a, (int32_t)1 << 28);        /* a + 1/8 */
    int32_t x2 = dv_fp_mul(x, x);
    int32_t x3 = dv_fp_mul(x2, x);
    int32_t x4 = dv_fp_mul(x2, x2);
    int32_t x4_over_4 = dv_fp_saturating_rounding_multiply_by_pot(x4, -2);
    int32_t poly = dv_fp_saturating_rounding_multiply_by_pot(
        dv_fp_add(dv_fp_mul(dv_fp_add(x4_over_4, x3), one_third), x2), -1);
    return dv_fp_add(exp_minus_one_eighth,
                     dv_fp_mul(exp_minus_one_eighth, dv_fp_add(x, poly)));
}

/* exp(a) for a <= 0 with k integer bits (0 <= k <= 29), result in Q0 (exp(0) gives the largest
 * raw value). gemmlowp splits a into a part in [-1/4, 0) (the Taylor expansion above) and a
 * multiple of 1/4 whose bits select factors exp(-1/4), exp(-1/2), exp(-1), ... exp(-16) (a
 * barrel shifter); with more than 5 integer bits, a < -32 gives 0. */
static inline int32_t dv_fp_exp_on_negative_values(int32_t a, int k)
{
    static const int32_t exp_of_minus_pot[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1) */
        290630308,  /* exp(-2) */
        39332535,   /* exp(-4) */
        720401,     /* exp(-8) */
        242         /* exp(-16) */
    };
    const int fractional_bits = 31 - k;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    int32_t a_mod_quarter_minus_one_quarter = dv_fp_sub(a & mask, one_quarter);
    int32_t result = dv_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(
        dv_fp_rescale(a_mod_quarter_minus_one_quarter, k, 0));
    int32_t remainder = dv_fp_sub(a_mod_quarter_minus_one_quarter, a);
    for (int e = -2; e <= 4; e++) {
        /* gemmlowp tests bit (fractional_bits + e) of the remainder, for the powers of two
         * the format can hold (k > e). */
        if (k > e && (remainder & ((int32_t)1 << (fractional_bits + e))) != 0)
            result = dv_fp_mul(result, exp_of_minus_pot[e + 2]);
    }
    if (k > 5) {
        const int32_t minus_32 = -((int32_t)1 << (36 - k));
        if (a < minus_32)
            result = 0;
    }
    if (a == 0)
        result = INT32_MAX;
    return result;
}

/* The Newton-Raphson iteration shared by the two divisions below: x ~ 1 / half_denominator,
 * in Q2.29, starting from 48/17 - 32/17 * d, three steps x += x * (1 - d * x). */
static inline int32_t dv_fp_newton_reciprocal_q2(int32_t half_denominator)
{
    const int32_t c48_over_17 = 1515870810;      /* 48/17 in Q2.29 */
    const int32_t c_neg_32_over_17 = -1010580540; /* -32/17 in Q2.29 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = dv_fp_add(c48_over_17, dv_fp_mul(half_denominator, c_neg_32_over_17));
    for (int i = 0; i < 3; i++) {
        int32_t half_denominator_times_x = dv_fp_mul(half_denominator, x);
        int32_t one_minus = dv_fp_sub(one_q2, half_denominator_times_x);
        /* x * one_minus has 4 integer bits; back to 2 */
        x = dv_fp_add(x, dv_fp_rescale(dv_fp_mul(x, one_minus), 4, 2));
    }
    return x;
}

/* 1 / (1 + a) for a in (0, 1), Q0 in and out. */
static inline int32_t dv_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    int32_t x = dv_fp_newton_reciprocal_q2(dv_fp_rounding_half_sum(a, INT32_MAX));
    /* x is 2 / (1 + a) in Q2.29: halving it is reading it as Q1.30, then back to Q0 */
    return dv_fp_rescale(x, 1, 0);
}

/* (1 - a) / (1 + a) for a in (0, 1), Q0 in and out. */
static inline int32_t dv_fp_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    int32_t x = dv_fp_newton_reciprocal_q2(dv_fp_rounding_half_sum(a, INT32_MAX));
    return dv_fp_rescale(dv_fp_sub(x, (int32_t)1 << 29), 2, 0);
}

/* tanh(a) with k integer bits (0 <= k <= 28), Q0 result: -tanh(n) for n = -|a| is
 * (1 - exp(2n)) / (1 + exp(2n)), where 2n is a read with k + 1 integer bits. */
static inline int32_t dv_fp_tanh(int32_t a, int k)
{
    int32_t n = a < 0 ? a : dv_fp_neg(a);
    int32_t t = dv_fp_one_minus_x_over_one_plus_x_for_x_in_0_1(
        dv_fp_exp_on_negative_values(n, k + 1));
    if (a == 0)
        return 0;
    return a < 0 ? dv_fp_neg(t) : t;
}

/* logistic(a) = 1 / (1 + exp(-a)) with k integer bits (0 <= k <= 29), Q0 result: computed
 * for |a| and reflected (1 - y) for negative a; logistic(0) is exactly 1/2. */
static inline int32_t dv_fp_logistic(int32_t a, int k)
{
    int32_t abs_a = a > 0 ? a : dv_fp_neg(a);
    int32_t if_positive = dv_fp_one_over_one_plus_x_for_x_in_0_1(
        dv_fp_exp_on_negative_values(dv_fp_neg(abs_a), k));
    int32_t if_negative = dv_fp_sub(INT32_MAX, if_positive);
    if (a == 0)
        return (int32_t)1 << 30;
    return a > 0 ? if_positive : if_negative;
}

/* The number of leading zero bits of x (32 for 0). */
static inline int dv_fp_count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0)
        return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

/* TFLite's GetReciprocal: for x > 0 with x_integer_digits integer bits, a Q0 value s in
 * (1/2, 1] and *num_bits_over_unit = b such that 1/x = s * 2^-b: x is normalised to
 * 1 + f (f in [0, 1)) by a shift, and s = 1 / (1 + f). For x = 0 the shift would be 32 bits
 * (undefined in TFLite's C++, and 0 on its targets): the normalised value is 0 here. */
static inline int32_t dv_fp_get_reciprocal(int32_t x, int x_integer_digits,
                                           int *num_bits_over_unit)
{
    int headroom_plus_one = dv_fp_count_leading_zeros((uint32_t)x);
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    uint32_t normalised = headroom_plus_one >= 32 ? 0u : (uint32_t)x << headroom_plus_one;
    return dv_fp_one_over_one_plus_x_for_x_in_0_1(dv_fp_from_bits(normalised - 0x80000000u));
}

/* ---- int16 arithmetic (TFLite's int8 hard swish works on int16 values) ------------------ */

/* The int16 congruent to v modulo 2^16: what storing an int into an int16_t gives on every
 * target TFLite runs on (implementation-defined in C; written out here). */
static inline int16_t dv_fp16_wrap(int64_t v)
{
    uint32_t u = (uint32_t)((uint64_t)v & 0xffffu);
    return (int16_t)(u <= 0x7fffu ? (int32_t)u : (int32_t)u - 0x10000);
}

static inline int16_t dv_fp16_saturate(int64_t v)
{
    return (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
}

/* gemmlowp's int16 SaturatingRoundingDoublingHighMul: (a * b + 2^14) / 2^15 (nudge 1 - 2^14
 * for a negative product, C division truncating), -32768 * -32768 saturating to 32767. */
static inline int16_t dv_fp16_saturating_rounding_doubling_high_mul(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN)
        return INT16_MAX;
    int32_t ab = (int32_t)a * b;
    int32_t nudge = ab >= 0 ? (1 << 14) : 1 - (1 << 14);
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* TFLite's SaturatingDoublingHighMul (hard_swish.h): the same without the nudge, so the
 * product is truncated toward zero. */
static inline int16_t dv_fp16_saturating_doubling_high_mul(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN)
        return INT16_MAX;
    return (int16_t)(((int32_t)a * b) / (1 << 15));
}

/* gemmlowp's RoundingDivideByPOT instantiated for int16, 0 <= exponent <= 31, step by step:
 * the mask (2^e - 1) is truncated to int16, so from e = 16 on it is -1 and the result is 1
 * for x >= 0 and -1 for x < 0. TFLite reaches those exponents with tiny output scales, so
 * the truncation is reproduced rather than "fixed". */
static inline int16_t dv_fp16_rounding_divide_by_pot(int16_t x, int exponent)
{
    int16_t mask = dv_fp16_wrap(((int64_t)1 << exponent) - 1);
    int16_t remainder = (int16_t)(x & mask);
    int16_t threshold = dv_fp16_wrap((int32_t)(int16_t)dv_asr(mask, 1) + (x < 0 ? 1 : 0));
    return dv_fp16_wrap(dv_asr(x, exponent) + (remainder > threshold ? 1 : 0));
}

/* TFLite's SaturatingLeftShift (hard_swish.h): value * 2^amount saturated to int16,
 * 0 <= amount <= 30. */
static inline int16_t dv_fp16_saturating_left_shift(int16_t value, int amount)
{
    return dv_fp16_saturate((int64_t)value * ((int64_t)1 << amount));
}

#endif
