/* Importing TFLite's int8 element-wise operators: ADD, SUB, MUL, QUANTIZE (integer to
 * integer), RELU, RELU6, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH and SOFTMAX, each as one op of
 * ops/qelemwise.c.
 *
 * Each importer computes the kernel's fixed-point parameters as TFLite Micro's Prepare does,
 * operation for operation and in the same precision: double where Prepare uses double (ADD,
 * MUL, QUANTIZE, LOGISTIC, TANH, SOFTMAX) and float where it divides floats before widening
 * (SUB, RELU, LEAKY_RELU, HARD_SWISH). The multipliers are part of the arithmetic: a different
 * rounding here would change output bytes. What TFLite Micro refuses, or computes with
 * undefined behaviour, is refused with a message; so are int16 activations, except through
 * QUANTIZE, whose arithmetic does not depend on the types. */
#include <math.h>

#include "../ops/quant.h"
#include "tflite.h"

/* ---- checks shared by the importers --------------------------------------------------- */

static detvm_status expect_arity(tfl_import *ctx, const tfl_operator *op, uint32_t n_in)
{
    if (op->n_inputs != n_in || op->n_outputs != 1)
        return tfl_fail(ctx, op, "expects %u input%s and one output", n_in, n_in == 1 ? "" : "s");
    for (uint32_t i = 0; i < n_in; i++)
        if (!tfl_input(ctx, op, i))
            return tfl_fail(ctx, op, "input %u is missing", i);
    return DETVM_OK;
}

static const char *type_name(int32_t type)
{
    switch (type) {
    case TFL_FLOAT32: return "float32";
    case TFL_INT8: return "int8";
    case TFL_UINT8: return "uint8";
    case TFL_INT16: return "int16";
    case TFL_INT32: return "int32";
    default: return "this type";
    }
}

static detvm_status expect_int8(tfl_import *ctx, const tfl_operator *op, const tfl_tensor *t,
                                const char *what)
{
    if (t->type != TFL_INT8)
        return tfl_fail(ctx, op, "%s: %s is not supported (int8 only)", what,
                        type_name(t->type));
    return DETVM_OK;
}

/* The tensor's per-tensor scale and zero point, which TFLite Micro reads as params.scale and
 * params.zero_point. The scale must be positive and finite and the zero point inside the
 * type's range: otherwise TFLite's Prepare divides by zero or its kernels' int8 assumptions
 * break. */
static detvm_status per_tensor(tfl_import *ctx, const tfl_operator *op, const tfl_tensor *t,
                               const char *what, float *scale, int32_t *zero_point)
{
    int32_t lo, hi;
    if (t->n_quant != 1)
        return tfl_fail(ctx, op, "%s: needs per-tensor quantization (one scale, one zero point)",
                        what);
    if (!(t->scale[0] > 0.0f) || isinf(t->scale[0]))
        return tfl_fail(ctx, op, "%s: scale %g must be positive and finite", what,
                        (double)t->scale[0]);
    if (tfl_type_range(t->type, &lo, &hi) != 0 || t->zero_point[0] < lo ||
        t->zero_point[0] > hi)
        return tfl_fail(ctx, op, "%s: zero point %lld is outside the %s range", what,
                        (long long)t->zero_point[0], type_name(t->type));
    *scale = t->scale[0];
    *zero_point = (int32_t)t->zero_point[0];
    return DETVM_OK;
}

/* QuantizeMultiplier (loader/tflite_quant.c) with the import's rounding. */
static detvm_status quantize_multiplier(tfl_import *ctx, const tfl_operator *op, double real,
                                        const char *what, int32_t *multiplier, int32_t *shift)
{
    if (tfl_quantize_multiplier(real, tfl_rounding(ctx), multiplier, shift) != 0)
        return tfl_fail(ctx, op, "%s: the real multiplier %g cannot be quantized", what, real);
    return DETVM_OK;
}

/* QuantizeMultiplierSmallerThanOneExp: TFLite checks 0 < real < 1 and a shift <= 0 (a real
 * just below 1 rounds up to shift 1). */
static detvm_status quantize_multiplier_below_one(tfl_import *ctx, const tfl_operator *op,
                                                  double real, const char *what,
                                                  int32_t *multiplier, int32_t *shift)
{
    if (!(real > 0.0 && real < 1.0))
        return tfl_fail(ctx, op, "%s: the real multiplier %g must be in (0, 1)", what, real);
    detvm_status st = quantize_multiplier(ctx, op, real, what, multiplier, shift);
    if (!st && *shift > 0)
        return tfl_fail(ctx, op, "%s: the real multiplier %g rounds up to 1", what, real);
    return st;
}

static detvm_status activation_range(tfl_import *ctx, const tfl_operator *op, float scale,
                                     int32_t zero_point, int32_t *lo, int32_t *hi)
{
    if (tfl_activation_range(op->options.activation, scale, zero_point, TFL_INT8, lo, hi) != 0)
        return tfl_fail(ctx, op, "fused activation %d: its bounds do not fit int32 at "
                        "output scale %g", op->options.activation, (double)scale);
    return DETVM_OK;
}

/* Emits `opcode` reading the operator's first n_in inputs and writing its output. */
static detvm_status emit(tfl_import *ctx, const tfl_operator *op, uint32_t opcode,
                         uint32_t n_in, const int32_t *attrs, uint32_t n_attrs,
                         detvm_error *err)
{
    uint32_t in[2], out;
    for (uint32_t i = 0; i < n_in; i++) {
        detvm_status st = tfl_value(ctx, op->inputs[i], &in[i], err);
        if (st)
            return st;
    }
    detvm_status st = tfl_value(ctx, op->outputs[0], &out, err);
    return st ? st : tfl_emit(ctx, op, opcode, n_in, in, 1, &out, attrs, n_attrs, err);
}

/* The scales and zero points of a one-input operator whose input and output are int8. */
static detvm_status unary_int8(tfl_import *ctx, const tfl_operator *op, float *in_scale,
                               int32_t *in_zero_point, float *out_scale, int32_t *out_zero_point)
{
    detvm_status st = expect_arity(ctx, op, 1);
    if (!st)
        st = expect_int8(ctx, op, tfl_input(ctx, op, 0), "input");
    if (!st)
        st = expect_int8(ctx, op, tfl_output(ctx, op, 0), "output");
    if (!st)
        st = per_tensor(ctx, op, tfl_input(ctx, op, 0), "input", in_scale, in_zero_point);
    if (!st && out_scale)
        st = per_tensor(ctx, op, tfl_output(ctx, op, 0), "output", out_scale, out_zero_point);
    return st;
}

/* ---- ADD, SUB, MUL ---------------------------------------------------------------------- */

/* The scales and zero points of a two-input int8 operator. */
static detvm_status binary_int8(tfl_import *ctx, const tfl_operator *op, float *scale,
                                int32_t *zero_point)
{
    static const char *const what[3] = {"input 0", "input 1", "output"};
    detvm_status st = expect_arity(ctx, op, 2);
    for (uint32_t i = 0; !st && i < 3; i++) {
        const tfl_tensor *t = i < 2 ? tfl_input(ctx, op, i) : tfl_output(ctx, op, 0);
        st = expect_int8(ctx, op, t, what[i]);
        if (!st)
            st = per_tensor(ctx, op, t, what[i], &scale[i], &zero_point[i]);
    }
    return st;
}

/* add_common.cc / sub_common.cc CalculateOpData for int8: both inputs are rescaled to twice
 * the larger input scale with 20 bits of headroom. ADD computes the real multipliers in
 * double; SUB computes twice_max_input_scale and the quotients in float and widens them. */
static detvm_status import_add_sub(tfl_import *ctx, const tfl_operator *op, uint32_t opcode,
                                   detvm_error *err)
{
    float s[3];
    int32_t zp[3];
    detvm_status st = binary_int8(ctx, op, s, zp);
    if (st)
        return st;
    const int32_t left_shift = 20;
    double real_a, real_b, real_y;
    if (opcode == DV_OP_QADD) {
        const double twice_max_input_scale = 2 * (double)(s[0] < s[1] ? s[1] : s[0]);
        real_a = (double)s[0] / twice_max_input_scale;
        real_b = (double)s[1] / twice_max_input_scale;
        real_y = twice_max_input_scale / ((1 << left_shift) * (double)s[2]);
    } else {
        const float twice_max_input_scale = 2 * (s[0] < s[1] ? s[1] : s[0]);
        const float a = s[0] / twice_max_input_scale;
        const float b = s[1] / twice_max_input_scale;
        const float y = twice_max_input_scale / ((1 << left_shift) * s[2]);
        real_a = a;
        real_b = b;
        real_y = y;
    }
    int32_t attrs[13];
    attrs[0] = zp[0];
    attrs[3] = zp[1];
    attrs[6] = left_shift;
    attrs[9] = zp[2];
    attrs[12] = tfl_rounding(ctx);
    if ((st = quantize_multiplier_below_one(ctx, op, real_a, "input 0", &attrs[1], &attrs[2])) ||
        (st = quantize_multiplier_below_one(ctx, op, real_b, "input 1", &attrs[4], &attrs[5])) ||
        (st = quantize_multiplier_below_one(ctx, op, real_y, "output", &attrs[7], &attrs[8])) ||
        (st = activation_range(ctx, op, s[2], zp[2], &attrs[10], &attrs[11])))
        return st;
    return emit(ctx, op, opcode, 2, attrs, 13, err);
}

detvm_status tfl_import_add(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_add_sub(ctx, op, DV_OP_QADD, err);
}

detvm_status tfl_import_sub(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_add_sub(ctx, op, DV_OP_QSUB, err);
}

/* mul_common.cc CalculateOpDataMul: one multiplier a_scale * b_scale / y_scale, in double. */
detvm_status tfl_import_mul(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    float s[3];
    int32_t zp[3];
    detvm_status st = binary_int8(ctx, op, s, zp);
    if (st)
        return st;
    const double real = (double)s[0] * (double)s[1] / (double)s[2];
    int32_t attrs[8] = {zp[0], zp[1], 0, 0, zp[2], 0, 0, tfl_rounding(ctx)};
    if ((st = quantize_multiplier(ctx, op, real, "output", &attrs[2], &attrs[3])) ||
        (st = activation_range(ctx, op, s[2], zp[2], &attrs[5], &attrs[6])))
        return st;
    return emit(ctx, op, DV_OP_QMUL, 2, attrs, 8, err);
}

/* ---- QUANTIZE, RELU, RELU6 (QREQUANTIZE) ------------------------------------------------ */

/* quantize_common.cc: the integer pairs TFLite Micro's Requantize handles, with
 * effective_scale = input_scale / output_scale in double; the output is clamped to its
 * type's range. A float QUANTIZE exists only at the graph's input, where the driver converts
 * (loader/tflite_import.c folds it into the binding). */
static int quantize_pair_supported(int32_t in, int32_t out)
{
    switch (in) {
    case TFL_INT8:
        return out == TFL_INT8 || out == TFL_UINT8 || out == TFL_INT16 || out == TFL_INT32;
    case TFL_UINT8: return out == TFL_INT8;
    case TFL_INT16: return out == TFL_INT8 || out == TFL_INT16 || out == TFL_INT32;
    case TFL_INT32: return out == TFL_INT8 || out == TFL_INT16;
    default: return 0;
    }
}

detvm_status tfl_import_quantize(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    detvm_status st = expect_arity(ctx, op, 1);
    if (st)
        return st;
    const tfl_tensor *in = tfl_input(ctx, op, 0), *out = tfl_output(ctx, op, 0);
    if (in->type == TFL_FLOAT32)
        return tfl_fail(ctx, op, "a float32 QUANTIZE is only supported at the model's input");
    if (!quantize_pair_supported(in->type, out->type))
        return tfl_fail(ctx, op, "%s to %s is not supported", type_name(in->type),
                        type_name(out->type));
    float in_scale, out_scale;
    int32_t attrs[7];
    if ((st = per_tensor(ctx, op, in, "input", &in_scale, &attrs[0])) ||
        (st = per_tensor(ctx, op, out, "output", &out_scale, &attrs[3])))
        return st;
    const double effective_scale = (double)in_scale / (double)out_scale;
    if ((st = quantize_multiplier(ctx, op, effective_scale, "output", &attrs[1], &attrs[2])))
        return st;
    tfl_type_range(out->type, &attrs[4], &attrs[5]);
    attrs[6] = tfl_rounding(ctx);
    return emit(ctx, op, DV_OP_QREQUANTIZE, 1, attrs, 7, err);
}

/* activations_common.cc CalculateReluOpData<int8_t>: multiplier float(in_scale / out_scale),
 * lower bound the quantized 0 (zero_point + roundf(0 / scale)) but at least -128, no upper
 * bound but 127. */
detvm_status tfl_import_relu(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    float in_scale, out_scale;
    int32_t in_zp, out_zp;
    detvm_status st = unary_int8(ctx, op, &in_scale, &in_zp, &out_scale, &out_zp);
    if (st)
        return st;
    const float ratio = in_scale / out_scale;
    const float act_min = 0.0f;
    const int32_t quantized_zero = out_zp + (int32_t)roundf(act_min / out_scale);
    int32_t attrs[7] = {in_zp, 0, 0, out_zp, quantized_zero > -128 ? quantized_zero : -128, 127,
                        tfl_rounding(ctx)};
    if ((st = quantize_multiplier(ctx, op, (double)ratio, "output", &attrs[1], &attrs[2])))
        return st;
    return emit(ctx, op, DV_OP_QREQUANTIZE, 1, attrs, 7, err);
}

/* activations_common.cc Relu6Prepare and Relu6Quantized<int8_t>: a clamp of the input to
 * [zero_point, six], six = clamp(round(6 / scale) + zero_point, -128, 127), with no
 * requantization at all (the output's quantization is not read). QREQUANTIZE with zero points
 * 0 and the identity multiplier (2^30, shift 1) is exactly that clamp. */
detvm_status tfl_import_relu6(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    float scale;
    int32_t zp;
    detvm_status st = unary_int8(ctx, op, &scale, &zp, NULL, NULL);
    if (st)
        return st;
    const float six_steps = roundf(6.0f / scale);
    /* TFLite converts round(6 / scale) + zero_point to int32, undefined from 2^31 on;
     * anything above 127 clamps to 127, so a far lower bound refuses nothing real. */
    if (!(six_steps <= 1073741824.0f))
        return tfl_fail(ctx, op, "input: scale %g is too small for 6 to be quantized",
                        (double)scale);
    int64_t six = (int64_t)six_steps + zp;
    six = six < -128 ? -128 : six > 127 ? 127 : six;
    const int32_t attrs[7] = {0, (int32_t)1 << 30, 1, 0, zp, (int32_t)six, tfl_rounding(ctx)};
    return emit(ctx, op, DV_OP_QREQUANTIZE, 1, attrs, 7, err);
}

/* ---- LEAKY_RELU ------------------------------------------------------------------------- */

/* leaky_relu_common.cc: QuantizeMultiplier of float(in_scale * alpha / out_scale), which is
 * negative for a negative alpha; the kernel then negates the product by the magnitude. The
 * magnitude's multiplier is TFLite's but for two cases TFLite gets wrong, refused here: a
 * mantissa rounding up to 2^31 (TFLite keeps -2^31 and overflows negating it) and an exponent
 * above 30 (single rounding saturates it to a positive multiplier, losing the sign). */
static detvm_status alpha_multiplier(tfl_import *ctx, const tfl_operator *op, double real,
                                     int32_t *multiplier, int32_t *shift, int32_t *negative)
{
    *negative = real < 0;
    double magnitude = *negative ? -real : real;
    if (*negative) {
        int exponent;
        const double q = frexp(magnitude, &exponent);
        if (round(q * (double)(1LL << 31)) == (double)(1LL << 31) || exponent > 30)
            return tfl_fail(ctx, op, "alpha: the real multiplier %g cannot be quantized", real);
    }
    detvm_status st = quantize_multiplier(ctx, op, magnitude, "alpha", multiplier, shift);
    if (!st && *multiplier == 0)
        *negative = 0;
    return st;
}

detvm_status tfl_import_leaky_relu(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    float in_scale, out_scale;
    int32_t in_zp, out_zp;
    detvm_status st = unary_int8(ctx, op, &in_scale, &in_zp, &out_scale, &out_zp);
    if (st)
        return st;
    const float alpha_product = in_scale * op->options.alpha;
    const float alpha_ratio = alpha_product / out_scale;
    const float identity_ratio = in_scale / out_scale;
    int32_t attrs[8] = {in_zp, out_zp, 0, 0, 0, 0, 0, tfl_rounding(ctx)};
    if ((st = quantize_multiplier(ctx, op, (double)identity_ratio, "identity", &attrs[2],
                                  &attrs[3])) ||
        (st = alpha_multiplier(ctx, op, (double)alpha_ratio, &attrs[4], &attrs[5], &attrs[6])))
        return st;
    return emit(ctx, op, DV_OP_QLEAKY_RELU, 1, attrs, 8, err);
}

/* ---- HARD_SWISH ------------------------------------------------------------------------- */

/* DownScaleInt32ToInt16Multiplier: the Q31 multiplier rounded to Q15, saturating. */
static int32_t downscale_to_int16(int32_t multiplier)
{
    if (multiplier >= INT32_MAX - (1 << 15))
        return INT16_MAX;
    return (multiplier + (1 << 15)) >> 16;
}

/* hard_swish_common.cc HardSwishPrepare, all scales in float: the "hires" input scale is
 * in_scale / 128, the output multiplier hires / out_scale (its exponent must be <= 0) and
 * the reluish multiplier hires / (3 / 32768). */
detvm_status tfl_import_hard_swish(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    float in_scale, out_scale;
    int32_t in_zp, out_zp;
    detvm_status st = unary_int8(ctx, op, &in_scale, &in_zp, &out_scale, &out_zp);
    if (st)
        return st;
    const float hires_input_scale = (1.0f / 128.0f) * in_scale;
    const float reluish_scale = 3.0f / 32768.0f;
    const float output_ratio = hires_input_scale / out_scale;
    const float reluish_ratio = hires_input_scale / reluish_scale;
    int32_t output_multiplier, output_exponent, reluish_multiplier, reluish_exponent;
    if ((st = quantize_multiplier(ctx, op, (double)output_ratio, "output", &output_multiplier,
                                  &output_exponent)) ||
        (st = quantize_multiplier(ctx, op, (double)reluish_ratio, "reluish",
                                  &reluish_multiplier, &reluish_exponent)))
        return st;
    if (output_exponent > 0)
        return tfl_fail(ctx, op, "output: the multiplier %g is not below 1 (TFLite requires it)",
                        (double)output_ratio);
    const int32_t attrs[6] = {in_zp, out_zp, downscale_to_int16(output_multiplier),
                              output_exponent, downscale_to_int16(reluish_multiplier),
                              reluish_exponent};
    return emit(ctx, op, DV_OP_QHARD_SWISH, 1, attrs, 6, err);
}

/* ---- LOGISTIC, TANH --------------------------------------------------------------------- */

/* logistic_common.cc / tanh.cc for int8: the input is brought to Q4.27 by
 * in_scale * 2^27 = q * 2^shift (frexp; the multiplier is q rounded to Q31, without
 * QuantizeMultiplier's renormalisation), and inputs at least
 * input_range_radius = floor(15 * 2^27 / 2^shift) from the zero point saturate. TFLite's
 * arithmetic is only defined for shifts 0..30 (scales 2^-28 to 8). */
static detvm_status import_sigmoid(tfl_import *ctx, const tfl_operator *op, uint32_t opcode,
                                   detvm_error *err)
{
    float in_scale;
    int32_t in_zp;
    detvm_status st = unary_int8(ctx, op, &in_scale, &in_zp, NULL, NULL);
    if (st)
        return st;
    if (opcode == DV_OP_QLOGISTIC) {
        /* TFLite checks the output zero point only (its scale is taken as 1/256) */
        const tfl_tensor *out = tfl_output(ctx, op, 0);
        if (out->n_quant != 1 || out->zero_point[0] != -128)
            return tfl_fail(ctx, op, "output: the zero point must be -128");
    }
    const int input_integer_bits = 4;
    const double real = (double)in_scale * (double)(1 << (31 - input_integer_bits));
    int shift;
    const double q = frexp(real, &shift);
    const double multiplier = round(q * (double)(1LL << 31));
    if (shift < 0 || shift > 30 || multiplier >= (double)(1LL << 31))
        return tfl_fail(ctx, op, "input: scale %g is outside what TFLite supports here",
                        (double)in_scale);
    const double radius = 1.0 * ((1 << input_integer_bits) - 1) *
                          (double)(1LL << (31 - input_integer_bits)) / (double)(1LL << shift);
    const int32_t attrs[5] = {in_zp, (int32_t)floor(radius), (int32_t)multiplier, shift,
                              tfl_rounding(ctx)};
    return emit(ctx, op, opcode, 1, attrs, 5, err);
}

detvm_status tfl_import_logistic(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_sigmoid(ctx, op, DV_OP_QLOGISTIC, err);
}

detvm_status tfl_import_tanh(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    return import_sigmoid(ctx, op, DV_OP_QTANH, err);
}

/* ---- SOFTMAX ---------------------------------------------------------------------------- */

/* softmax_common.cc CalculateSoftmaxParams for int8 input, and PreprocessSoftmaxScaling:
 * the input difference is scaled by min(beta * in_scale * 2^26, max), max = 2^31 - 1 (2^30 - 1
 * under single rounding), to Q5.26, with QuantizeMultiplierGreaterThanOne (TFLite checks the
 * real multiplier is above 1); diff_min = -floor(31 * 2^26 / 2^shift). Output int8 with zero
 * point -128 and scale exactly 1/256, or int16 with zero point -32768 and scale within 0.1% of
 * 1/65536. */
detvm_status tfl_import_softmax(tfl_import *ctx, const tfl_operator *op, detvm_error *err)
{
    detvm_status st = expect_arity(ctx, op, 1);
    if (st)
        return st;
    const tfl_tensor *in = tfl_input(ctx, op, 0), *out = tfl_output(ctx, op, 0);
    float in_scale, out_scale;
    int32_t in_zp, out_zp, output_bits;
    if ((st = expect_int8(ctx, op, in, "input")) ||
        (st = per_tensor(ctx, op, in, "input", &in_scale, &in_zp)))
        return st;
    if (in->ndim < 1)
        return tfl_fail(ctx, op, "input: must have at least one dimension");
    if (out->type != TFL_INT8 && out->type != TFL_INT16)
        return tfl_fail(ctx, op, "output: %s is not supported (int8 or int16)",
                        type_name(out->type));
    if ((st = per_tensor(ctx, op, out, "output", &out_scale, &out_zp)))
        return st;
    if (out->type == TFL_INT8) {
        output_bits = 8;
        if (out_zp != -128 || out_scale != 1.f / 256)
            return tfl_fail(ctx, op, "output: int8 needs zero point -128 and scale 1/256");
    } else {
        output_bits = 16;
        const float want = 1.f / 65536, epsilon = 0.001f * 1.f / 65536;
        const float delta = out_scale > want ? out_scale - want : want - out_scale;
        if (out_zp != -32768 || delta > epsilon)
            return tfl_fail(ctx, op, "output: int16 needs zero point -32768 and scale 1/65536");
    }

    const int32_t rounding = tfl_rounding(ctx);
    const int scaled_diff_integer_bits = 5;
    const double max_real = rounding == DV_ROUND_SINGLE ? (1LL << 30) - 1.0 : (1LL << 31) - 1.0;
    double real = (double)op->options.beta * (double)in_scale *
                  (double)(1 << (31 - scaled_diff_integer_bits));
    if (max_real < real)
        real = max_real;
    if (!(real > 1.0))
        return tfl_fail(ctx, op, "beta * input scale * 2^26 = %g must be above 1", real);
    int32_t multiplier, shift;
    if (real >= (double)(1 << 29) && rounding == DV_ROUND_DOUBLE) {
        /* From about 2^30 on, QuantizeMultiplier gives shift 31, which
         * tfl_quantize_multiplier refuses in general (and TFLite's kernel survives only
         * because diff_min is then 0). Halving is exact and keeps the mantissa, so the
         * multiplier of real / 2 with the shift plus one is TFLite's. */
        if ((st = quantize_multiplier(ctx, op, real / 2, "input", &multiplier, &shift)))
            return st;
        shift++;
    } else if ((st = quantize_multiplier(ctx, op, real, "input", &multiplier, &shift))) {
        return st;
    }
    const double radius = 1.0 * ((1 << scaled_diff_integer_bits) - 1) *
                          (double)(1LL << (31 - scaled_diff_integer_bits)) /
                          (double)(1LL << shift);
    const int32_t diff_min = (int32_t)(-1.0 * (int32_t)floor(radius));
    const int32_t attrs[5] = {multiplier, shift, diff_min, output_bits, rounding};
    return emit(ctx, op, DV_OP_QSOFTMAX, 1, attrs, 5, err);
}
