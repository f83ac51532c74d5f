/* The float edge of a quantized model: TFLite's AffineQuantize and Dequantize, operation for
 * operation, for callers that hold float32 data. These run outside the module, on the host;
 * the module itself never sees a float. */
#include <math.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "detvm.h"

static detvm_status check_binding(const detvm_io_desc *io, uint64_t count, detvm_error *err)
{
    if (!io->quantized)
        return dv_fail(err, DETVM_EINVALID, "float io: tensor %u has no quantization",
                       io->tensor);
    if (count != io->count)
        return dv_fail(err, DETVM_EINVALID, "float io: %llu values given, tensor %u holds %llu",
                       (unsigned long long)count, io->tensor, (unsigned long long)io->count);
    if (io->dtype > DETVM_DTYPE_INT16)
        return dv_fail(err, DETVM_EINVALID, "float io: dtype %u unknown", (unsigned)io->dtype);
    return DETVM_OK;
}

static void type_range(detvm_dtype dtype, int64_t *lo, int64_t *hi)
{
    switch (dtype) {
    case DETVM_DTYPE_INT8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case DETVM_DTYPE_UINT8: *lo = 0; *hi = UINT8_MAX; break;
    case DETVM_DTYPE_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    default: *lo = INT32_MIN; *hi = INT32_MAX; break;
    }
}

/* q = clamp((int)roundf(x / scale) + zero_point): the division and the rounding (half away
 * from zero) in float, as TFLite does. Values beyond int32 saturate first, where TFLite's
 * float-to-int conversion would be undefined. */
detvm_status detvm_quantize(const detvm_io_desc *io, const float *x, uint64_t count, void *q,
                            detvm_error *err)
{
    detvm_status st = check_binding(io, count, err);
    if (st)
        return st;
    int64_t lo, hi;
    type_range(io->dtype, &lo, &hi);
    uint8_t *out = q;
    for (uint64_t i = 0; i < count; i++) {
        if (isnan(x[i]))
            return dv_fail(err, DETVM_EINVALID, "float io: value %llu is NaN",
                           (unsigned long long)i);
        float r = roundf(x[i] / io->scale);
        int64_t v = r >= 2147483648.0f    ? INT32_MAX
                    : r < -2147483648.0f ? INT32_MIN
                                         : (int64_t)r;
        v += io->zero_point;
        v = v < lo ? lo : v > hi ? hi : v;
        uint32_t bits = (uint32_t)(int32_t)v;
        if (io->element_bytes == 1)
            out[i] = (uint8_t)bits;
        else if (io->element_bytes == 2)
            dvm_put_u16(out + 2 * i, (uint16_t)bits);
        else
            dvm_put_u32(out + 4 * i, bits);
    }
    return DETVM_OK;
}

/* x = (float)((double)scale * (q - zero_point)), as TFLite's Dequantize. */
detvm_status detvm_dequantize(const detvm_io_desc *io, const void *q, uint64_t count, float *x,
                              detvm_error *err)
{
    detvm_status st = check_binding(io, count, err);
    if (st)
        return st;
    const uint8_t *in = q;
    for (uint64_t i = 0; i < count; i++) {
        int64_t v;
        switch (io->element_bytes == 1 ? io->dtype : io->element_bytes == 2 ? DETVM_DTYPE_INT16
                                                                             : DETVM_DTYPE_INT32) {
        case DETVM_DTYPE_INT8: v = (int8_t)in[i]; break;
        case DETVM_DTYPE_UINT8: v = in[i]; break;
        case DETVM_DTYPE_INT16: v = (int16_t)dvm_u16(in + 2 * i); break;
        default: v = dvm_i32(in + 4 * i); break;
        }
        x[i] = (float)((double)io->scale * (double)(v - io->zero_point));
    }
    return DETVM_OK;
}
