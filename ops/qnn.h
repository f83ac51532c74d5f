/* What the TFLite int8 convolution kernels (ops/qnn.c) share with their variants
 * (ops/x86/qnn_*.c): the requantization of one accumulator, and QCONV2D's per-pixel body, which
 * a variant calls for the pixels whose operands it cannot pack exactly. The arithmetic is
 * documented in ops/qnn.c. */
#ifndef DETVM_OPS_QNN_H
#define DETVM_OPS_QNN_H

#include <stddef.h>

#include "op.h"
#include "quant.h"

/* The int32 whose two's complement bits are u, without implementation-defined conversion. */
static inline int32_t dv_qnn_as_int32(uint32_t u)
{
    return u < 0x80000000u ? (int32_t)u : -(int32_t)~u - 1;
}

/* acc * M (rounding as given) + output_offset, clamped to [act_min, act_max]. */
static inline int32_t dv_qnn_requantize(uint32_t acc, int32_t multiplier, int32_t shift,
                                        int32_t rounding, int32_t output_offset, int32_t act_min,
                                        int32_t act_max)
{
    int32_t scaled = dv_multiply_by_quantized_multiplier(dv_qnn_as_int32(acc), multiplier, shift,
                                                         rounding);
    return dv_clamp(dv_qnn_as_int32((uint32_t)scaled + (uint32_t)output_offset), act_min, act_max);
}

/* QCONV2D's output channels [o_begin, o_end) of pixel (n, oy, ox), exactly as the reference
 * kernel computes them (in and out as the kernel gets them). */
void dv_qconv2d_pixel(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out, size_t n,
                      size_t oy, size_t ox, size_t o_begin, size_t o_end);

/* QMEAN's requantization of the sums of `count` elements (attrs as QMEAN's, ops/qnn_attrs.h):
 * y = clamp(MBQM(sum - zero_sum, multiplier, shift) + output_zero_point, -128, 127), every
 * step modulo 2^32 as documented at the kernel. */
typedef struct {
    int32_t multiplier, shift;
    uint32_t zero_sum;
} dv_qmean_scaling;

dv_qmean_scaling dv_qmean_scaling_of(const int32_t *attrs, int64_t count);

#endif
