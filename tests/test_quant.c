/* Unit tests of ops/quant.h (TFLite's fixed-point requantization) and loader/tflite_quant.c
 * (QuantizeMultiplier and the fused activation range), against hand-computed cases worked
 * out in the comments: rounding ties of both signs, saturation, shifts at both ends of their
 * range and beyond, the double and single roundings disagreeing, multipliers that round up
 * to 2^31, flush to zero, refusals. */
#include <math.h>

#include "quant.h"
#include "tflite.h"
#include "check.h"

#define MAX32 INT32_MAX
#define MIN32 INT32_MIN
#define P30 (1 << 30)

static void test_srdhm(void)
{
    /* SRDHM(a, b) = floor((a*b + 2^30) / 2^31): the real product a*b / 2^31, ties upward */
    CHECK(dv_saturating_rounding_doubling_high_mul(1 << 15, 1 << 15) == 1, "2^30 / 2^31 = 0.5 -> 1");
    CHECK(dv_saturating_rounding_doubling_high_mul(-(1 << 15), 1 << 15) == 0, "-0.5 -> 0");
    CHECK(dv_saturating_rounding_doubling_high_mul(3 << 14, 1 << 16) == 2, "1.5 -> 2");
    CHECK(dv_saturating_rounding_doubling_high_mul(-(3 << 14), 1 << 16) == -1, "-1.5 -> -1");
    /* just off the ties: 2^30 - 1 over 2^31 is below one half, -(2^30 + 1) is below -0.5 */
    CHECK(dv_saturating_rounding_doubling_high_mul(P30 - 1, 1) == 0, "(2^30-1)/2^31 -> 0");
    CHECK(dv_saturating_rounding_doubling_high_mul(-(P30 + 1), 1) == -1, "-(2^30+1)/2^31 -> -1");
    /* 0.5 * 0.5 in Q0.31 is 0.25: 2^29 exactly */
    CHECK(dv_saturating_rounding_doubling_high_mul(P30, P30) == 1 << 29, "0.5 * 0.5");
    CHECK(dv_saturating_rounding_doubling_high_mul(-P30, P30) == -(1 << 29), "-0.5 * 0.5");
    CHECK(dv_saturating_rounding_doubling_high_mul(1000, 0) == 0, "times 0");
    /* the one overflowing product, -1 * -1, saturates */
    CHECK(dv_saturating_rounding_doubling_high_mul(MIN32, MIN32) == MAX32, "MIN * MIN saturates");
    /* -2^31 * (2^31 - 1) / 2^31 = -(2^31 - 1) exactly */
    CHECK(dv_saturating_rounding_doubling_high_mul(MIN32, MAX32) == -MAX32, "MIN * MAX");
    /* (2^31-1)^2 / 2^31 = 2^31 - 2 + 1/2^31: floor((2^62 - 2^32 + 1 + 2^30) / 2^31) */
    CHECK(dv_saturating_rounding_doubling_high_mul(MAX32, MAX32) == MAX32 - 1, "MAX * MAX");
    CHECK(dv_saturating_rounding_doubling_high_mul(MIN32, -1) == 1, "2^31 / 2^31 = 1");
    CHECK(dv_saturating_rounding_doubling_high_mul(MIN32, 1) == -1, "-1");
}

static void test_rounding_divide_by_pot(void)
{
    /* exponent 0 is the identity, even at the extremes */
    CHECK(dv_rounding_divide_by_pot(MAX32, 0) == MAX32, "MAX / 1");
    CHECK(dv_rounding_divide_by_pot(MIN32, 0) == MIN32, "MIN / 1");
    CHECK(dv_rounding_divide_by_pot(-7, 0) == -7, "-7 / 1");
    /* ties away from zero */
    CHECK(dv_rounding_divide_by_pot(5, 1) == 3, "2.5 -> 3");
    CHECK(dv_rounding_divide_by_pot(-5, 1) == -3, "-2.5 -> -3");
    CHECK(dv_rounding_divide_by_pot(3, 1) == 2, "1.5 -> 2");
    CHECK(dv_rounding_divide_by_pot(-3, 1) == -2, "-1.5 -> -2");
    CHECK(dv_rounding_divide_by_pot(1, 1) == 1, "0.5 -> 1");
    CHECK(dv_rounding_divide_by_pot(-1, 1) == -1, "-0.5 -> -1");
    CHECK(dv_rounding_divide_by_pot(-1, 2) == 0, "-0.25 -> 0");
    CHECK(dv_rounding_divide_by_pot(-6, 2) == -2, "-1.5 -> -2");
    CHECK(dv_rounding_divide_by_pot(-5, 2) == -1, "-1.25 -> -1");
    CHECK(dv_rounding_divide_by_pot(-7, 2) == -2, "-1.75 -> -2");
    /* exponent 31: |x| / 2^31 is at most 1 */
    CHECK(dv_rounding_divide_by_pot(MAX32, 31) == 1, "(2^31-1)/2^31 -> 1");
    CHECK(dv_rounding_divide_by_pot(P30, 31) == 1, "0.5 -> 1");
    CHECK(dv_rounding_divide_by_pot(P30 - 1, 31) == 0, "below 0.5 -> 0");
    CHECK(dv_rounding_divide_by_pot(-P30, 31) == -1, "-0.5 -> -1");
    CHECK(dv_rounding_divide_by_pot(-P30 + 1, 31) == 0, "above -0.5 -> 0");
    CHECK(dv_rounding_divide_by_pot(MIN32, 31) == -1, "-1 -> -1");
    CHECK(dv_rounding_divide_by_pot(0, 31) == 0, "0");
}

static int32_t mbqm(int32_t x, int32_t m, int32_t shift, int32_t rounding)
{
    return dv_multiply_by_quantized_multiplier(x, m, shift, rounding);
}

static void test_mbqm(void)
{
    const int32_t D = DV_ROUND_DOUBLE, S = DV_ROUND_SINGLE;
    /* 1 * 0.5 * 2^-1 = 0.25. Double: SRDHM(1, 2^30) = 0.5 -> 1, then 1 / 2 = 0.5 -> 1.
     * Single: (2^30 + 2^31) >> 32 = 0 (0.75 floors). The double rounding rounds twice up. */
    CHECK(mbqm(1, P30, -1, D) == 1, "double rounding: 0.25 -> 1");
    CHECK(mbqm(1, P30, -1, S) == 0, "single rounding: 0.25 -> 0");
    /* 3 * 0.5 * 2^-1 = 0.75: double SRDHM(3, 2^30) = 1.5 -> 2, 2 / 2 = 1; single
     * (3*2^30 + 2^31) >> 32 = 1 */
    CHECK(mbqm(3, P30, -1, D) == 1 && mbqm(3, P30, -1, S) == 1, "0.75 -> 1 both");
    /* -3 * 0.5 = -1.5: double SRDHM -> -1 (tie upward), single (-3*2^30 + 2^30) >> 31 = -1 */
    CHECK(mbqm(-3, P30, 0, D) == -1 && mbqm(-3, P30, 0, S) == -1, "-1.5 -> -1 both");
    /* -5 * 0.5 * 2^-1 = -1.25: double SRDHM(-5, 2^30) = -2.5 -> -2, -2 / 2 = -1;
     * single (-5*2^30 + 2^31) >> 32 = floor(-0.75) = -1 */
    CHECK(mbqm(-5, P30, -1, D) == -1 && mbqm(-5, P30, -1, S) == -1, "-1.25 -> -1");
    /* -3 * 0.5 * 2^-2 = -0.375: double SRDHM = -1 (-1.5 up), -1 / 4 = -0.25 -> 0;
     * single floor(-0.375 + 0.5) = 0 */
    CHECK(mbqm(-3, P30, -2, D) == 0 && mbqm(-3, P30, -2, S) == 0, "-0.375 -> 0");
    /* -7 * 0.5 * 2^-2 = -0.875: double SRDHM(-7, 2^30) = -3.5 -> -3, -3 / 4 = -0.75 -> -1;
     * single floor(-0.875 + 0.5) = -1 */
    CHECK(mbqm(-7, P30, -2, D) == -1 && mbqm(-7, P30, -2, S) == -1, "-0.875 -> -1");
    /* the identity multiplier (2^30, shift 1) gives x back under both roundings */
    for (int32_t x = -300; x <= 300; x += 7)
        CHECK(mbqm(x, P30, 1, D) == x && mbqm(x, P30, 1, S) == x, "identity on %d", x);
    CHECK(mbqm(P30 - 1, P30, 1, D) == P30 - 1 && mbqm(-P30, P30, 1, S) == -P30, "identity ends");

    /* shift 30, the largest: 1 * 0.5 * 2^30 = 2^29 exactly */
    CHECK(mbqm(1, P30, 30, D) == 1 << 29 && mbqm(1, P30, 30, S) == 1 << 29, "shift 30");
    /* shift -31, the smallest: 2^30 * 0.5 * 2^-31 = 0.25 -> 0 both; (2^31-1)^2 / 2^62 -> 1 */
    CHECK(mbqm(P30, P30, -31, D) == 0 && mbqm(P30, P30, -31, S) == 0, "shift -31, 0.25");
    CHECK(mbqm(MAX32, MAX32, -31, D) == 1 && mbqm(MAX32, MAX32, -31, S) == 1, "shift -31, ~1");
    CHECK(mbqm(MIN32, MAX32, -31, D) == -1 && mbqm(MIN32, MAX32, -31, S) == -1, "shift -31, ~-1");
    /* shifts beyond [-31, 30] are clamped into it */
    CHECK(mbqm(12345, 1234567890, 31, D) == mbqm(12345, 1234567890, 30, D), "shift 31 -> 30");
    CHECK(mbqm(12345, 1234567890, 1000, S) == mbqm(12345, 1234567890, 30, S), "shift 1000");
    CHECK(mbqm(MAX32, 1234567890, -40, D) == mbqm(MAX32, 1234567890, -31, D), "shift -40");
    CHECK(mbqm(MIN32, 1234567890, MIN32, S) == mbqm(MIN32, 1234567890, -31, S), "shift MIN");
    /* double rounding's left shift wraps as TFLite's int32 multiply does: 2^30 * 2 = -2^31,
     * then SRDHM(-2^31, 2^30) = -2^30 */
    CHECK(mbqm(P30, P30, 1, D) == -P30, "left shift wraps");
    /* single rounding computes in 64 bits and truncates: 2^30 * 2^30 * 2^(1-31) = 2^30 */
    CHECK(mbqm(P30, P30, 1, S) == P30, "single: no wrap before the product");
    /* a real Q31 multiplier: 0.75 = 1610612736 * 2^-31; 100 * 0.75 * 2^-3 = 9.375 -> 9 */
    CHECK(mbqm(100, 1610612736, -3, D) == 9 && mbqm(100, 1610612736, -3, S) == 9, "9.375");
    /* rounding values other than 0 act as single */
    CHECK(mbqm(1, P30, -1, 7) == 0, "unknown rounding is single");

    /* MultiplyByQuantizedMultiplierSmallerThanOneExp ignores a positive shift */
    CHECK(dv_multiply_by_quantized_multiplier_smaller_than_one(100, P30, 3, D) == 50,
          "smaller_than_one: shift 3 taken as 0");
    CHECK(dv_multiply_by_quantized_multiplier_smaller_than_one(1, P30, -1, D) == 1 &&
              dv_multiply_by_quantized_multiplier_smaller_than_one(1, P30, -1, S) == 0,
          "smaller_than_one keeps the two roundings apart");

    CHECK(dv_clamp(5, -3, 3) == 3 && dv_clamp(-5, -3, 3) == -3 && dv_clamp(1, -3, 3) == 1,
          "clamp");
    CHECK(dv_asr(-1, 63) == -1 && dv_asr(-5, 1) == -3 && dv_asr(5, 1) == 2 &&
              dv_asr(INT64_MIN, 63) == -1,
          "asr floors");
}

static void check_qm(double real, int32_t rounding, int want_rc, int32_t want_m, int32_t want_s,
                     const char *what)
{
    int32_t m = -1, s = -1;
    int rc = tfl_quantize_multiplier(real, rounding, &m, &s);
    CHECK(rc == want_rc, "%s: rc %d", what, rc);
    if (rc == 0 && want_rc == 0)
        CHECK(m == want_m && s == want_s, "%s: (%d, %d), want (%d, %d)", what, m, s, want_m,
              want_s);
}

static void test_quantize_multiplier(void)
{
    const int32_t D = DV_ROUND_DOUBLE, S = DV_ROUND_SINGLE;
    /* powers of two: frexp gives 0.5 * 2^(e+1), so the multiplier is 2^30 */
    check_qm(1.0, D, 0, P30, 1, "1.0");
    check_qm(0.5, D, 0, P30, 0, "0.5");
    check_qm(0.25, S, 0, P30, -1, "0.25");
    check_qm(ldexp(1, 29), D, 0, P30, 30, "2^29: shift 30, the largest");
    check_qm(ldexp(1, -31), D, 0, P30, -30, "2^-31");
    check_qm(ldexp(1, -32), D, 0, P30, -31, "2^-32: shift -31, the smallest");
    /* below 2^-32 the shift would be under -31: flushed to (0, 0) */
    check_qm(ldexp(1, -33), D, 0, 0, 0, "2^-33 flushes to zero");
    check_qm(ldexp(1.99, -33), S, 0, 0, 0, "1.99 * 2^-33 flushes to zero");
    check_qm(1e-12, D, 0, 0, 0, "1e-12");
    check_qm(0.0, D, 0, 0, 0, "zero");
    /* 0.75 = 0.75 * 2^0: round(0.75 * 2^31) */
    check_qm(0.75, D, 0, 1610612736, 0, "0.75");
    /* 0.1 = 0.8 * 2^-3: round(0.8 * 2^31) = round(1717986918.4) */
    check_qm(0.1, D, 0, 1717986918, -3, "0.1");
    /* a mantissa tie: (2^30 + 0.5) / 2^31 rounds half away from zero to 2^30 + 1 */
    check_qm((P30 + 0.5) / 2147483648.0, D, 0, P30 + 1, 0, "tie rounds away from zero");
    /* a mantissa rounding up to 2^31 becomes 2^30 with the shift plus one:
     * 1 - 2^-33 = (1 - 2^-33) * 2^0, round((1 - 2^-33) * 2^31) = round(2^31 - 0.25) = 2^31 */
    check_qm(1.0 - ldexp(1, -33), D, 0, P30, 1, "1 - 2^-33 rounds up to 1.0");
    check_qm(0.5 - ldexp(1, -34), S, 0, P30, 0, "0.5 - 2^-34 rounds up to 0.5");
    /* just below that: 1 - 2^-31 keeps its own mantissa 2^31 - 1 */
    check_qm(1.0 - ldexp(1, -31), D, 0, MAX32, 0, "1 - 2^-31");
    /* large values: 2^30 needs shift 31, which double rounding cannot apply (refused) and
     * single rounding saturates to (2^31 - 1, 30) */
    check_qm(ldexp(1, 30), D, -1, 0, 0, "2^30 refused under double rounding");
    check_qm(ldexp(1, 30), S, 0, MAX32, 30, "2^30 saturates under single rounding");
    check_qm(3e9, S, 0, MAX32, 30, "3e9 saturates");
    check_qm(1e300, D, -1, 0, 0, "1e300 refused");
    /* 1e9 = 0.931322574615478515625 * 2^30 exactly: round(q * 2^31) = 2000000000 */
    check_qm(1e9, D, 0, 2000000000, 30, "1e9");
    /* refused: negative, NaN, infinite */
    check_qm(-0.5, D, -1, 0, 0, "negative");
    check_qm(-1e-40, S, -1, 0, 0, "tiny negative");
    check_qm(NAN, D, -1, 0, 0, "NaN");
    check_qm(INFINITY, S, -1, 0, 0, "infinity");
    int32_t m = 5, s = 5;
    CHECK(tfl_quantize_multiplier(-1.0, D, &m, &s) == -1 && m == 0 && s == 0,
          "a refusal leaves (0, 0)");
}

static void check_range(int32_t act, float scale, int32_t zp, int32_t type, int want_rc,
                        int32_t want_lo, int32_t want_hi, const char *what)
{
    int32_t lo = 999, hi = 999;
    int rc = tfl_activation_range(act, scale, zp, type, &lo, &hi);
    CHECK(rc == want_rc, "%s: rc %d", what, rc);
    if (rc == 0 && want_rc == 0)
        CHECK(lo == want_lo && hi == want_hi, "%s: [%d, %d], want [%d, %d]", what, lo, hi,
              want_lo, want_hi);
}

static void test_activation_range(void)
{
    /* NONE: the type's range */
    check_range(TFL_ACT_NONE, 0.5f, 3, TFL_INT8, 0, -128, 127, "none int8");
    check_range(TFL_ACT_NONE, 0.5f, 3, TFL_UINT8, 0, 0, 255, "none uint8");
    check_range(TFL_ACT_NONE, 0.5f, 0, TFL_INT16, 0, -32768, 32767, "none int16");
    /* RELU: the quantized 0 is the zero point */
    check_range(TFL_ACT_RELU, 0.5f, -10, TFL_INT8, 0, -10, 127, "relu");
    check_range(TFL_ACT_RELU, 0.5f, -128, TFL_INT8, 0, -128, 127, "relu, zp at the minimum");
    check_range(TFL_ACT_RELU, 0.5f, 128, TFL_UINT8, 0, 128, 255, "relu uint8");
    /* RELU6: 6 / 0.5 = 12 steps above the zero point */
    check_range(TFL_ACT_RELU6, 0.5f, -10, TFL_INT8, 0, -10, 2, "relu6");
    /* 6 / 0.01 = 600 steps: clamped to the type */
    check_range(TFL_ACT_RELU6, 0.01f, 0, TFL_INT8, 0, 0, 127, "relu6 clamped");
    /* ties round away from zero: 6 / 4 = 1.5 -> 2 */
    check_range(TFL_ACT_RELU6, 4.0f, 7, TFL_INT8, 0, 7, 9, "relu6 tie 1.5 -> 2");
    /* RELU_N1_TO_1 with scale 2: -1/2 = -0.5 -> -1 and 1/2 = 0.5 -> 1 (both away from 0) */
    check_range(TFL_ACT_RELU_N1_TO_1, 2.0f, 3, TFL_INT8, 0, 2, 4, "n1_to_1 ties");
    check_range(TFL_ACT_RELU_N1_TO_1, 0.01f, 0, TFL_INT8, 0, -100, 100, "n1_to_1");
    check_range(TFL_ACT_RELU_N1_TO_1, 0.001f, 0, TFL_INT8, 0, -128, 127, "n1_to_1 clamped");
    /* 0.4f is slightly above 0.4, so 1 / 0.4f is 2.49999996 in real numbers; but the float
     * quotient is exactly 2.5, which rounds to 3: the bounds are computed in float, as in
     * TFLite, not in exact arithmetic */
    check_range(TFL_ACT_RELU_N1_TO_1, 0.4f, 0, TFL_INT8, 0, -3, 3, "n1_to_1 float tie");
    /* TANH, SIGN_BIT (and unknown values) clamp nothing, as TFLite's else branch */
    check_range(TFL_ACT_TANH, 0.5f, 0, TFL_INT8, 0, -128, 127, "tanh");
    check_range(TFL_ACT_SIGN_BIT, 0.5f, 0, TFL_UINT8, 0, 0, 255, "sign bit");
    check_range(77, 0.5f, 0, TFL_INT16, 0, -32768, 32767, "unknown activation");
    /* refused: an unknown type, a bound that does not fit int32 */
    check_range(TFL_ACT_RELU, 0.5f, 0, TFL_FLOAT32, -1, 0, 0, "float32");
    check_range(TFL_ACT_RELU6, 1e-30f, 0, TFL_INT8, -1, 0, 0, "6 / 1e-30 overflows");

    int32_t lo, hi;
    CHECK(tfl_type_range(TFL_INT32, &lo, &hi) == 0 && lo == MIN32 && hi == MAX32, "int32 range");
    CHECK(tfl_type_range(TFL_INT64, &lo, &hi) == -1, "int64 has no range here");
}

int main(void)
{
    test_srdhm();
    test_rounding_divide_by_pot();
    test_mbqm();
    test_quantize_multiplier();
    test_activation_range();
    return check_summary("test_quant");
}
