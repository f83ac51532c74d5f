/* TFLite int8 element-wise kernels: add, sub, mul (broadcasting), requantize (QUANTIZE,
 * RELU, RELU6), leaky relu, hard swish, logistic, tanh and softmax, bit-exact with TFLite
 * Micro's reference kernels (reference_integer_ops/ and reference_ops/). The fixed-point
 * parameters are computed at import time exactly as TFLite Micro's Prepare computes them
 * (loader/tflite_elemwise.c) and arrive here as attributes.
 *
 * Values are int32 elements holding int8 (or uint8, int16) values. TFLite computes in int32
 * where its inputs make overflow impossible; these kernels compute the same expressions in
 * int64 and reduce them modulo 2^32 (or 2^16 where TFLite stores into an int16), so they are
 * identical wherever TFLite is defined, and a hostile module with out-of-range values or
 * attributes gets a defined result instead of undefined behaviour.
 *
 * Every op that multiplies by a quantized multiplier has a `rounding` attribute, last in its
 * list: 0 for TFLite Micro's default double rounding, 1 for a TFLITE_SINGLE_ROUNDING build
 * (ops/quant.h). */
#include "fixedpoint.h"
#include "broadcast.h"
#include "op.h"
#include "quant.h"

/* The int32 congruent to v modulo 2^32. */
static inline int32_t wrap32(int64_t v)
{
    return dv_fp_from_bits((uint32_t)(uint64_t)v);
}

/* ---- attribute checks shared by the ops --------------------------------------------------- */

static const char *check_unary(const dv_attrs *attrs, uint32_t n_attrs, uint32_t n_in,
                               const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    if (n_in != 1)
        return "inputs: expected 1";
    if (n_out != 1)
        return "outputs: expected 1";
    if (attrs->n != n_attrs)
        return "attrs: wrong number of values";
    out[0] = in[0];
    return 0;
}

static const char *check_rounding(int32_t rounding)
{
    return rounding == DV_ROUND_DOUBLE || rounding == DV_ROUND_SINGLE
               ? 0
               : "rounding: must be 0 (double) or 1 (single)";
}

/* A quantized multiplier: Q31 multiplier >= 0 and a shift in [lo, hi]. */
static const char *check_multiplier(int32_t multiplier, int32_t shift, int32_t lo, int32_t hi,
                                    const char *why)
{
    if (multiplier < 0 || shift < lo || shift > hi)
        return why;
    return 0;
}

static const char *check_range(int32_t lo, int32_t hi)
{
    return lo <= hi ? 0 : "act_min: must not exceed act_max";
}

/* The binary ops broadcast as NumPy and TFLite's BroadcastBinaryOpSimple do (ops/broadcast.h);
 * equal shapes take the same path, as TFLite's non-broadcast path computes the same function
 * element by element. */

/* ---- QADD, QSUB ----------------------------------------------------------------------------
 *
 * QADD  a, b -> y    QSUB  a, b -> y    (broadcasting)
 *
 * attrs (13): [0] a_zero_point, [1] a_multiplier, [2] a_shift, [3] b_zero_point,
 *             [4] b_multiplier, [5] b_shift, [6] left_shift, [7] output_multiplier,
 *             [8] output_shift, [9] output_zero_point, [10] act_min, [11] act_max,
 *             [12] rounding
 *
 * TFLite's int8 Add/Sub (reference_integer_ops/add.h AddFunc, reference_ops/sub.h): both
 * inputs are brought to a common scale with 2^left_shift of headroom (20 for int8), then the
 * sum (difference) is scaled to the output:
 *     a' = MBQMSmallerThanOneExp((a - a_zero_point) * 2^left_shift, a_multiplier, a_shift)
 *     b' = MBQMSmallerThanOneExp((b - b_zero_point) * 2^left_shift, b_multiplier, b_shift)
 *     y  = clamp(MBQMSmallerThanOneExp(a' +- b', output_multiplier, output_shift)
 *                + output_zero_point, act_min, act_max)
 * with MBQM... = dv_multiply_by_quantized_multiplier_smaller_than_one (ops/quant.h). The
 * shifts are <= 0 (TFLite's QuantizeMultiplierSmallerThanOneExp checks it), multipliers >= 0,
 * left_shift 0..30. Every int32 step wraps (TFLite's int8 operands never overflow). */
static const char *qaddsub_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    const char *why = dv_broadcast_check(attrs, 13, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if ((why = check_multiplier(v[1], v[2], -31, 0, "a_multiplier, a_shift: multiplier must "
                                "be >= 0 and shift in -31..0")) != 0 ||
        (why = check_multiplier(v[4], v[5], -31, 0, "b_multiplier, b_shift: multiplier must "
                                "be >= 0 and shift in -31..0")) != 0 ||
        (why = check_multiplier(v[7], v[8], -31, 0, "output_multiplier, output_shift: "
                                "multiplier must be >= 0 and shift in -31..0")) != 0)
        return why;
    if (v[6] < 0 || v[6] > 30)
        return "left_shift: must be 0 to 30";
    if ((why = check_range(v[10], v[11])) != 0)
        return why;
    return check_rounding(v[12]);
}

/* One input brought to the common scale. */
static int32_t qaddsub_scaled(int32_t x, int32_t zero_point, int32_t multiplier, int32_t shift,
                              int32_t left_shift, int32_t rounding)
{
    int32_t shifted = wrap32((int64_t)wrap32((int64_t)x - zero_point) * ((int64_t)1 << left_shift));
    return dv_multiply_by_quantized_multiplier_smaller_than_one(shifted, multiplier, shift,
                                                                rounding);
}

static int32_t qaddsub_output(int64_t raw, const int32_t *v)
{
    int32_t scaled = dv_multiply_by_quantized_multiplier_smaller_than_one(wrap32(raw), v[7],
                                                                          v[8], v[12]);
    return dv_clamp(wrap32((int64_t)scaled + v[9]), v[10], v[11]);
}

static int32_t qadd_element(int32_t a, int32_t b, const int32_t *v)
{
    int32_t sa = qaddsub_scaled(a, v[0], v[1], v[2], v[6], v[12]);
    int32_t sb = qaddsub_scaled(b, v[3], v[4], v[5], v[6], v[12]);
    return qaddsub_output((int64_t)sa + sb, v);
}

static int32_t qsub_element(int32_t a, int32_t b, const int32_t *v)
{
    int32_t sa = qaddsub_scaled(a, v[0], v[1], v[2], v[6], v[12]);
    int32_t sb = qaddsub_scaled(b, v[3], v[4], v[5], v[6], v[12]);
    return qaddsub_output((int64_t)sa - sb, v);
}

static void qadd_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, qadd_element, attrs->v);
}

static void qsub_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, qsub_element, attrs->v);
}

/* ---- QMUL ----------------------------------------------------------------------------------
 *
 * QMUL  a, b -> y    (broadcasting)
 *
 * attrs (8): [0] a_zero_point, [1] b_zero_point, [2] multiplier, [3] shift,
 *            [4] output_zero_point, [5] act_min, [6] act_max, [7] rounding
 *
 * TFLite's int8 Mul (reference_integer_ops/mul.h): the int32 product of the offset inputs,
 * scaled by a_scale * b_scale / y_scale:
 *     y = clamp(output_zero_point + MBQM((a - a_zero_point) * (b - b_zero_point),
 *                                        multiplier, shift), act_min, act_max)
 * multiplier >= 0, shift -31..30; the product wraps modulo 2^32. */
static const char *qmul_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    const char *why = dv_broadcast_check(attrs, 8, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if ((why = check_multiplier(v[2], v[3], -31, 30, "multiplier, shift: multiplier must be "
                                ">= 0 and shift in -31..30")) != 0 ||
        (why = check_range(v[5], v[6])) != 0)
        return why;
    return check_rounding(v[7]);
}

static int32_t qmul_element(int32_t a, int32_t b, const int32_t *v)
{
    int64_t product = (int64_t)wrap32((int64_t)a - v[0]) * wrap32((int64_t)b - v[1]);
    int32_t scaled = dv_multiply_by_quantized_multiplier(wrap32(product), v[2], v[3], v[7]);
    return dv_clamp(wrap32((int64_t)v[4] + scaled), v[5], v[6]);
}

static void qmul_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    dv_broadcast_apply(in, out, qmul_element, attrs->v);
}

/* ---- QREQUANTIZE ---------------------------------------------------------------------------
 *
 * QREQUANTIZE  x -> y
 *
 * attrs (7): [0] input_zero_point, [1] multiplier, [2] shift, [3] output_zero_point,
 *            [4] lo, [5] hi, [6] rounding
 *
 *     y = clamp(MBQM(x - input_zero_point, multiplier, shift) + output_zero_point, lo, hi)
 * multiplier >= 0, shift -31..30, lo <= hi.
 *
 * It is TFLite's Requantize (QUANTIZE between integer types: lo, hi the output type's range;
 * the int8 <-> uint8 "xor 0x80" fast path gives the same values) and its int8 ReluQuantized
 * (lo = max(-128, output_zero_point), hi = 127). TFLite's int8 RELU6 is a plain clamp of the
 * input to [zero_point, quantized 6] without requantization: the importer expresses it with
 * zero points 0 and the identity multiplier (2^30, shift 1), which gives x exactly for
 * |x| < 2^30 under both roundings. */
static const char *qrequantize_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    const char *why = check_unary(attrs, 7, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if ((why = check_multiplier(v[1], v[2], -31, 30, "multiplier, shift: multiplier must be "
                                ">= 0 and shift in -31..30")) != 0 ||
        (why = check_range(v[4], v[5])) != 0)
        return why;
    return check_rounding(v[6]);
}

static void qrequantize_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = attrs->v;
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = dv_shape_size(&in[0].shape);
    for (uint64_t i = 0; i < n; i++) {
        int32_t scaled = dv_multiply_by_quantized_multiplier(wrap32((int64_t)x[i] - v[0]), v[1],
                                                             v[2], v[6]);
        y[i] = dv_clamp(wrap32((int64_t)scaled + v[3]), v[4], v[5]);
    }
}

/* ---- QLEAKY_RELU ---------------------------------------------------------------------------
 *
 * QLEAKY_RELU  x -> y
 *
 * attrs (8): [0] input_zero_point, [1] output_zero_point, [2] identity_multiplier,
 *            [3] identity_shift, [4] alpha_multiplier, [5] alpha_shift, [6] alpha_negative,
 *            [7] rounding
 *
 * TFLite's QuantizeLeakyRelu (reference_ops/leaky_relu.h), int8 output: with
 * d = x - input_zero_point,
 *     d >= 0:  y = output_zero_point + MBQM(d, identity_multiplier, identity_shift)
 *     d <  0:  y = output_zero_point +- MBQM(d, alpha_multiplier, alpha_shift)
 * then y is clamped to [-128, 127]. A negative alpha is carried as its magnitude's multiplier
 * and alpha_negative = 1, which negates the scaled value, as TFLite does with the negative
 * multiplier QuantizeMultiplier gives it. Multipliers >= 0, shifts -31..30. */
static const char *qleaky_relu_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    const char *why = check_unary(attrs, 8, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if ((why = check_multiplier(v[2], v[3], -31, 30, "identity_multiplier, identity_shift: "
                                "multiplier must be >= 0 and shift in -31..30")) != 0 ||
        (why = check_multiplier(v[4], v[5], -31, 30, "alpha_multiplier, alpha_shift: "
                                "multiplier must be >= 0 and shift in -31..30")) != 0)
        return why;
    if (v[6] != 0 && v[6] != 1)
        return "alpha_negative: must be 0 or 1";
    return check_rounding(v[7]);
}

static void qleaky_relu_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = attrs->v;
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = dv_shape_size(&in[0].shape);
    for (uint64_t i = 0; i < n; i++) {
        int32_t d = wrap32((int64_t)x[i] - v[0]);
        int64_t scaled;
        if (d >= 0) {
            scaled = dv_multiply_by_quantized_multiplier(d, v[2], v[3], v[7]);
        } else {
            scaled = dv_multiply_by_quantized_multiplier(d, v[4], v[5], v[7]);
            if (v[6])
                scaled = wrap32(-scaled);
        }
        y[i] = dv_clamp(wrap32(v[1] + scaled), -128, 127);
    }
}

/* ---- QHARD_SWISH ---------------------------------------------------------------------------
 *
 * QHARD_SWISH  x -> y
 *
 * attrs (6): [0] input_zero_point, [1] output_zero_point, [2] output_multiplier,
 *            [3] output_exponent, [4] reluish_multiplier, [5] reluish_exponent
 *
 * TFLite's quantized HardSwish (reference_ops/hard_swish.h) with HardSwishParams: the zero
 * points and the two multipliers are int16 values (the multipliers are Q15, TFLite's
 * DownScaleInt32ToInt16Multiplier of Q31 ones), output_exponent -31..0, reluish_exponent
 * -31..30. y = x * relu6(x + 3) / 6, all in int16 (every store wraps modulo 2^16):
 *     v        = x - input_zero_point
 *     hires    = v * 2^7                                     (input on scale s/128)
 *     preshift = SRDHM16(hires, output_multiplier)           (~output scale)
 *     r        = hires; if reluish_exponent > 0:
 *                  r = SatShl16(r, e - 1); r = SRDHM16(r, reluish_multiplier); r = SatShl16(r, 1)
 *                else r = RDBPOT16(SRDHM16(r, reluish_multiplier), -e)
 *                                                            (x/3 in [-1, 1], 32768 = 3.0)
 *     r        = (r + 2^15) >> 1                             (relu6(x+3)/6 in [0, 1], Q15)
 *     y        = RDBPOT16(SDHM16(r, preshift), -output_exponent) + output_zero_point
 *     y        = clamp(y, -128, 127)
 * SRDHM16 rounds, SDHM16 truncates toward zero (TFLite chose it to cancel the bias of the
 * first), RDBPOT16 is gemmlowp's int16 RoundingDivideByPOT (ops/fixedpoint.h, including its
 * behaviour for exponents >= 16), SatShl16 a left shift saturating to int16. */
static int attr_is_int16(int32_t v)
{
    return v >= INT16_MIN && v <= INT16_MAX;
}

static const char *qhard_swish_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    const char *why = check_unary(attrs, 6, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if (!attr_is_int16(v[0]) || !attr_is_int16(v[1]))
        return "input_zero_point, output_zero_point: must be int16 values";
    if (!attr_is_int16(v[2]) || v[3] < -31 || v[3] > 0)
        return "output_multiplier, output_exponent: must be int16 and -31..0";
    if (!attr_is_int16(v[4]) || v[5] < -31 || v[5] > 30)
        return "reluish_multiplier, reluish_exponent: must be int16 and -31..30";
    return 0;
}

static void qhard_swish_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = attrs->v;
    const int16_t input_zero_point = (int16_t)v[0], output_zero_point = (int16_t)v[1];
    const int16_t output_multiplier = (int16_t)v[2], reluish_multiplier = (int16_t)v[4];
    const int output_exponent = v[3], reluish_exponent = v[5];
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = dv_shape_size(&in[0].shape);
    for (uint64_t i = 0; i < n; i++) {
        int16_t value = dv_fp16_wrap((int64_t)x[i] - input_zero_point);
        int16_t hires = dv_fp16_wrap((int64_t)value * 128);
        int16_t preshift = dv_fp16_saturating_rounding_doubling_high_mul(hires,
                                                                         output_multiplier);
        int16_t reluish = hires;
        if (reluish_exponent > 0)
            reluish = dv_fp16_saturating_left_shift(reluish, reluish_exponent - 1);
        reluish = dv_fp16_saturating_rounding_doubling_high_mul(reluish, reluish_multiplier);
        if (reluish_exponent > 0)
            reluish = dv_fp16_saturating_left_shift(reluish, 1);
        if (reluish_exponent < 0)
            reluish = dv_fp16_rounding_divide_by_pot(reluish, -reluish_exponent);
        reluish = (int16_t)(((int32_t)reluish + (1 << 15)) >> 1);
        int16_t product = dv_fp16_saturating_doubling_high_mul(reluish, preshift);
        int16_t result = dv_fp16_rounding_divide_by_pot(product, -output_exponent);
        result = dv_fp16_wrap((int32_t)result + output_zero_point);
        y[i] = dv_clamp(result, -128, 127);
    }
}

/* ---- QLOGISTIC, QTANH ----------------------------------------------------------------------
 *
 * QLOGISTIC  x -> y    QTANH  x -> y
 *
 * attrs (5): [0] input_zero_point, [1] input_range_radius, [2] input_multiplier,
 *            [3] input_left_shift, [4] rounding
 *
 * TFLite's int8 Logistic and Tanh (reference_integer_ops/logistic.h, tanh.h). With
 * d = x - input_zero_point:
 *     d <= -input_range_radius:  y = -128
 *     d >=  input_range_radius:  y = 127
 *     else  q = MBQM(d, input_multiplier, input_left_shift)   (the input in Q4.27)
 *           logistic: y = clamp(RDBPOT(logistic(q), 23) - 128, -128, 127)   (scale 1/256)
 *           tanh:     y = clamp(RDBPOT(tanh(q), 24), -128, 127)             (scale 1/128)
 * with gemmlowp's fixed-point logistic and tanh (ops/fixedpoint.h, 4 integer bits in, Q0.31
 * out). The output quantization is implied, as in TFLite. radius >= 0, multiplier >= 0,
 * shift -31..30. */
static const char *qsigmoid_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    const char *why = check_unary(attrs, 5, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if (v[1] < 0)
        return "input_range_radius: must be >= 0";
    if ((why = check_multiplier(v[2], v[3], -31, 30, "input_multiplier, input_left_shift: "
                                "multiplier must be >= 0 and shift in -31..30")) != 0)
        return why;
    return check_rounding(v[4]);
}

/* The input in Q4.27, or 0 with *saturated = -1 or +1 when it is outside the radius. */
static int32_t sigmoid_input(int32_t x, const int32_t *v, int *saturated)
{
    int32_t d = wrap32((int64_t)x - v[0]);
    *saturated = d <= -v[1] ? -1 : d >= v[1] ? 1 : 0;
    return *saturated ? 0 : dv_multiply_by_quantized_multiplier(d, v[2], v[3], v[4]);
}

static void qlogistic_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                          uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = dv_shape_size(&in[0].shape);
    for (uint64_t i = 0; i < n; i++) {
        int saturated;
        int32_t q4 = sigmoid_input(x[i], attrs->v, &saturated);
        if (saturated) {
            y[i] = saturated < 0 ? -128 : 127;
            continue;
        }
        int32_t q0 = dv_fp_logistic(q4, 4);
        y[i] = dv_clamp(dv_rounding_divide_by_pot(q0, 23) - 128, -128, 127);
    }
}

static void qtanh_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch)
{
    const int32_t *x = in[0].data;
    int32_t *y = out[0].data;
    uint64_t n = dv_shape_size(&in[0].shape);
    for (uint64_t i = 0; i < n; i++) {
        int saturated;
        int32_t q4 = sigmoid_input(x[i], attrs->v, &saturated);
        if (saturated) {
            y[i] = saturated < 0 ? -128 : 127;
            continue;
        }
        int32_t q0 = dv_fp_tanh(q4, 4);
        y[i] = dv_clamp(dv_rounding_divide_by_pot(q0, 24), -128, 127);
    }
}

/* ---- QSOFTMAX ------------------------------------------------------------------------------
 *
 * QSOFTMAX  x -> y    (over the last dimension)
 *
 * attrs (5): [0] input_multiplier, [1] input_left_shift, [2] diff_min, [3] output_bits,
 *            [4] rounding
 *
 * TFLite's quantized Softmax for int8 input (reference_ops/softmax.h), with int8 output
 * (output_bits 8: zero point -128, scale 1/256) or int16 output (output_bits 16: zero point
 * -32768, scale 1/65536). For each row (the elements along the last dimension):
 *     max  = max(-128, every x in the row)
 *     d    = x - max; only elements with d >= diff_min count, the others give the minimum
 *     e(d) = exp_on_negative_values(MBQMGreaterThanOne(d, input_multiplier, input_left_shift))
 *            (the scaled difference read as Q5.26; the result Q0.31)
 *     sum  = sum over counted elements of RDBPOT(e(d), 12)      (Q12.19, wrapping)
 *     s, b = GetReciprocal(sum, 12)                            (1/sum = s * 2^-b)
 *     y    = clamp(RDBPOT(SRDHM(s, e(d)), b + 31 - output_bits) + min, min, max)
 * MBQMGreaterThanOne is SRDHM(d * 2^left_shift, multiplier) under double rounding and the
 * single-rounding MBQM under single rounding. input_left_shift is 0..31 (31 comes from TFLite's
 * double-rounding Prepare for scales * beta >= 16, where diff_min is 0 and only d = 0
 * counts); diff_min <= 0, so the row's maximum always counts.
 * TFLite stops (TFLITE_CHECK) when the final exponent b + 31 - output_bits is outside 0..31:
 * with int8 output, when the sum of exps reaches 512 (rows of 512 or more elements close to
 * their maximum). This kernel must give some defined result there: an exponent above 31
 * gives 0 before the offset (the exact quotient of a value below 2^31 by 2^32 or more rounds
 * to 0), one below 0 is taken as 0. */
static const char *qsoftmax_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    const char *why = check_unary(attrs, 5, n_in, in, n_out, out);
    if (why)
        return why;
    const int32_t *v = attrs->v;
    if ((why = check_multiplier(v[0], v[1], 0, 31, "input_multiplier, input_left_shift: "
                                "multiplier must be >= 0 and shift in 0..31")) != 0)
        return why;
    if (v[2] > 0)
        return "diff_min: must be <= 0";
    if (v[3] != 8 && v[3] != 16)
        return "output_bits: must be 8 or 16";
    return check_rounding(v[4]);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne, left_shift 0..31. */
static int32_t softmax_rescale(int32_t d, int32_t multiplier, int32_t left_shift,
                               int32_t rounding)
{
    if (rounding == DV_ROUND_DOUBLE)
        return dv_saturating_rounding_doubling_high_mul(
            dv_fp_from_bits((uint32_t)d << left_shift), multiplier);
    return dv_multiply_by_quantized_multiplier(d, multiplier, left_shift, rounding);
}

static void qsoftmax_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                         uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = attrs->v;
    const int32_t multiplier = v[0], left_shift = v[1], diff_min = v[2], rounding = v[4];
    const int output_bits = v[3];
    const int32_t out_min = output_bits == 8 ? -128 : -32768;
    const int32_t out_max = output_bits == 8 ? 127 : 32767;
    const dv_shape *shape = &in[0].shape;
    const uint64_t depth = shape->dim[shape->ndim - 1];
    const uint64_t rows = dv_shape_size(shape) / depth;
    for (uint64_t r = 0; r < rows; r++) {
        const int32_t *x = in[0].data + r * depth;
        int32_t *y = out[0].data + r * depth;
        int32_t max = -128;
        for (uint64_t c = 0; c < depth; c++)
            max = x[c] > max ? x[c] : max;

        int32_t sum = 0;
        for (uint64_t c = 0; c < depth; c++) {
            int32_t d = wrap32((int64_t)x[c] - max);
            if (d >= diff_min) {
                int32_t e = dv_fp_exp_on_negative_values(
                    softmax_rescale(d, multiplier, left_shift, rounding), 5);
                sum = dv_fp_add(sum, dv_fp_rescale(e, 0, 12));
            }
        }
        int num_bits_over_unit;
        int32_t reciprocal = dv_fp_get_reciprocal(sum, 12, &num_bits_over_unit);
        int exponent = num_bits_over_unit + 31 - output_bits;

        for (uint64_t c = 0; c < depth; c++) {
            int32_t d = wrap32((int64_t)x[c] - max);
            if (d < diff_min) {
                y[c] = out_min;
                continue;
            }
            int32_t e = dv_fp_exp_on_negative_values(
                softmax_rescale(d, multiplier, left_shift, rounding), 5);
            int32_t product = dv_fp_mul(reciprocal, e);
            int32_t unsaturated = exponent > 31 ? 0
                                  : dv_rounding_divide_by_pot(product, exponent < 0 ? 0 : exponent);
            y[c] = dv_clamp(wrap32((int64_t)unsaturated + out_min), out_min, out_max);
        }
    }
}

const dv_op_info dv_info_QADD = {"qadd", 2, 2, 1, qaddsub_infer, qadd_run, 0};
const dv_op_info dv_info_QSUB = {"qsub", 2, 2, 1, qaddsub_infer, qsub_run, 0};
const dv_op_info dv_info_QMUL = {"qmul", 2, 2, 1, qmul_infer, qmul_run, 0};
const dv_op_info dv_info_QREQUANTIZE = {"qrequantize", 1, 1, 1, qrequantize_infer,
                                        qrequantize_run, 0};
const dv_op_info dv_info_QLEAKY_RELU = {"qleaky_relu", 1, 1, 1, qleaky_relu_infer,
                                        qleaky_relu_run, 0};
const dv_op_info dv_info_QHARD_SWISH = {"qhard_swish", 1, 1, 1, qhard_swish_infer,
                                        qhard_swish_run, 0};
const dv_op_info dv_info_QLOGISTIC = {"qlogistic", 1, 1, 1, qsigmoid_infer, qlogistic_run, 0};
const dv_op_info dv_info_QTANH = {"qtanh", 1, 1, 1, qsigmoid_infer, qtanh_run, 0};
const dv_op_info dv_info_QSOFTMAX = {"qsoftmax", 1, 1, 1, qsoftmax_infer, qsoftmax_run, 0};
