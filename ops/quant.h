/* Fixed-point requantization, the one place where the TFLite quantized kernels' rounding lives.
 *
 * A real multiplier M is stored as a Q31 integer `multiplier` in [2^30, 2^31) (or 0) and a
 * power-of-two `shift` (positive = left), M = multiplier * 2^(shift - 31), exactly as TFLite's
 * QuantizeMultiplier produces them at compile time (loader/tflite_quant.c).
 *
 * Two roundings exist, and an op's `rounding` attribute picks one:
 *
 *   DV_ROUND_DOUBLE (TFLite Micro's default)
 *       y = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^left, multiplier),
 *                               right)
 *       with left = max(shift, 0), right = max(-shift, 0). The product x * 2^left wraps
 *       modulo 2^32 as TFLite's int32 multiply does on every machine it runs on.
 *
 *   DV_ROUND_SINGLE (TFLite built with TFLITE_SINGLE_ROUNDING)
 *       y = (x * multiplier + 2^(30 - shift)) >> (31 - shift), in 64 bits, then truncated to
 *       int32.
 *
 * SaturatingRoundingDoublingHighMul(a, b) is the high 32 bits of 2ab rounded to nearest with
 * ties toward +infinity ((ab + 2^30) / 2^31 for ab >= 0, (ab + 1 - 2^30) / 2^31 otherwise, C
 * division truncating toward zero: both are floor((ab + 2^30) / 2^31), so -0.5 gives 0 and
 * 0.5 gives 1); INT32_MIN * INT32_MIN saturates to INT32_MAX.
 * RoundingDivideByPOT(x, e) is x / 2^e rounded to nearest with ties away from zero.
 *
 * Shifts outside [-31, 30] are clamped into it: the compiler never emits them, and a hostile
 * module gets a defined result instead of undefined behaviour. Right shifts of negative values
 * are written as arithmetic shifts through dv_asr, which does not depend on the compiler's
 * implementation-defined choice. */
#ifndef DETVM_OPS_QUANT_H
#define DETVM_OPS_QUANT_H

#include <stdint.h>

enum dv_rounding {
    DV_ROUND_DOUBLE = 0,
    DV_ROUND_SINGLE = 1
};

/* x >> e with the sign bit copied in, for 0 <= e <= 63. */
static inline int64_t dv_asr(int64_t x, int e)
{
    return x >= 0 ? x >> e : -1 - ((-1 - x) >> e);
}

static inline int32_t dv_saturating_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? (1 << 30) : 1 - (1 << 30);
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static inline int32_t dv_rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (int32_t)dv_asr(x, exponent) + (remainder > threshold ? 1 : 0);
}

static inline int dv_clamp_shift(int32_t shift)
{
    return shift < -31 ? -31 : shift > 30 ? 30 : (int)shift;
}

/* x * M with the given rounding (enum dv_rounding; anything else is DV_ROUND_SINGLE). */
static inline int32_t dv_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                          int32_t shift, int32_t rounding)
{
    int s = dv_clamp_shift(shift);
    if (rounding == DV_ROUND_DOUBLE) {
        int left = s > 0 ? s : 0, right = s > 0 ? 0 : -s;
        int32_t shifted = (int32_t)((uint32_t)x << left);
        return dv_rounding_divide_by_pot(
            dv_saturating_rounding_doubling_high_mul(shifted, multiplier), right);
    }
    int total = 31 - s;
    int64_t product = (int64_t)x * multiplier + ((int64_t)1 << (total - 1));
    return (int32_t)(uint32_t)(uint64_t)dv_asr(product, total);
}

/* TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp: the same with shift <= 0, which
 * under double rounding skips the left shift entirely. */
static inline int32_t dv_multiply_by_quantized_multiplier_smaller_than_one(
    int32_t x, int32_t multiplier, int32_t shift, int32_t rounding)
{
    return dv_multiply_by_quantized_multiplier(x, multiplier, shift > 0 ? 0 : shift, rounding);
}

static inline int32_t dv_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

#endif
