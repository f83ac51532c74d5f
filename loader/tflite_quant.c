/* TFLite's compile-time quantization formulas (QuantizeMultiplier and the fused activation
 * range), reproduced operation for operation: the multipliers they give are part of the
 * model's arithmetic, so a different rounding here would change output bytes. */
#include <math.h>

#include "../ops/quant.h"
#include "tflite.h"

int tfl_quantize_multiplier(double real, int32_t rounding, int32_t *multiplier, int32_t *shift)
{
    *multiplier = 0;
    *shift = 0;
    if (!isfinite(real) || real < 0)
        return -1;
    if (real == 0.)
        return 0;
    int exponent;
    const double q = frexp(real, &exponent);
    int64_t q_fixed = (int64_t)round(q * (double)(1LL << 31));
    if (q_fixed == (1LL << 31)) {
        q_fixed /= 2;
        exponent++;
    }
    if (exponent < -31) {
        exponent = 0;
        q_fixed = 0;
    }
    if (exponent > 30) {
        if (rounding == DV_ROUND_DOUBLE)
            return -1;
        exponent = 30;
        q_fixed = (1LL << 31) - 1;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = exponent;
    return 0;
}

int tfl_type_range(int32_t type, int32_t *min, int32_t *max)
{
    switch (type) {
    case TFL_INT8: *min = -128; *max = 127; return 0;
    case TFL_UINT8: *min = 0; *max = 255; return 0;
    case TFL_INT16: *min = -32768; *max = 32767; return 0;
    case TFL_INT32: *min = INT32_MIN; *max = INT32_MAX; return 0;
    default: return -1;
    }
}

/* kernel_util.cc's Quantize: zero_point + (int)round(f / scale), all in float. */
static int quantize_bound(float scale, int32_t zero_point, float f, int32_t *q)
{
    const float t = roundf(f / scale);
    if (!(t >= -2147483648.0f && t <= 2147483520.0f))
        return -1;
    int64_t v = (int64_t)zero_point + (int32_t)t;
    if (v < INT32_MIN || v > INT32_MAX)
        return -1;
    *q = (int32_t)v;
    return 0;
}

int tfl_activation_range(int32_t activation, float scale, int32_t zero_point, int32_t type,
                         int32_t *act_min, int32_t *act_max)
{
    int32_t qmin, qmax, lo, hi;
    if (tfl_type_range(type, &qmin, &qmax) != 0)
        return -1;
    *act_min = qmin;
    *act_max = qmax;
    switch (activation) {
    case TFL_ACT_NONE:
        return 0;
    case TFL_ACT_RELU:
        if (quantize_bound(scale, zero_point, 0.0f, &lo) != 0)
            return -1;
        *act_min = lo > qmin ? lo : qmin;
        return 0;
    case TFL_ACT_RELU6:
    case TFL_ACT_RELU_N1_TO_1: {
        float low = activation == TFL_ACT_RELU6 ? 0.0f : -1.0f;
        float high = activation == TFL_ACT_RELU6 ? 6.0f : 1.0f;
        if (quantize_bound(scale, zero_point, low, &lo) != 0 ||
            quantize_bound(scale, zero_point, high, &hi) != 0)
            return -1;
        *act_min = lo > qmin ? lo : qmin;
        *act_max = hi < qmax ? hi : qmax;
        return 0;
    }
    default: /* TANH, SIGN_BIT and unknown values: TFLite leaves the output unclamped */
        return 0;
    }
}

int tfl_same_quantization(const tfl_tensor *a, const tfl_tensor *b)
{
    if (a->n_quant != b->n_quant)
        return 0;
    for (uint32_t i = 0; i < a->n_quant; i++)
        if (a->scale[i] != b->scale[i] || a->zero_point[i] != b->zero_point[i])
            return 0;
    return 1;
}
