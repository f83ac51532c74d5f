/* MaixPy's kpu.face_encode and kpu.face_compare, with the arithmetic MaixPy's K210 build does
 * (sipeed_kpu_face_encode / _compare in MaixPy's lib_sipeed_kpu.a), so that features encoded by
 * MaixPy and by detvm compare alike, and the same score on every machine.
 *
 * Encoding, per element x (float):
 *   v = min(max(x, -0.25f), 0.25f)      (a NaN counts as below -0.25, as RISC-V fmax does)
 *   v = v * 512.0f                      (exact: a power of two)
 *   code = the low byte of (int32)v, truncated toward zero
 * so codes run -128..127, and x >= 0.25 gives 128, whose low byte is -128: MaixPy stores that
 * byte, and detvm does too, so that stored features stay comparable.
 *
 * Comparison of two codes a, b of n bytes:
 *   dot = sum a[i]*b[i], na = sum a[i]^2, nb = sum b[i]^2      (exact, int64)
 *   half = 0.5f * (float)dot                                   (float)
 *   d = (double)(na * nb)                      (the product is exact in int64, then rounded)
 *   score = (float)((((double)half / sqrt(d)) + 0.5) * 100.0)  (double, then rounded to float)
 * sqrt is the correctly rounded double square root, computed here with integers (so no libm),
 * which is what any IEEE-754 sqrt gives. The score is 50 + 50 * cosine, from 0 to 100. When a
 * code is all zeros the cosine is 0/0: MaixPy returns NaN, and so does detvm, as the quiet NaN
 * 0x7fc00000. */
#include <string.h>

#include "error.h"

#define FACE_MAX_LEN 65536u

detvm_status detvm_face_encode(const float *feature, uint32_t len, int8_t *code,
                               detvm_error *err)
{
    if (!feature || !code)
        return dv_fail(err, DETVM_EINVALID, "face_encode: NULL feature or code buffer");
    if (len == 0 || len > FACE_MAX_LEN)
        return dv_fail(err, DETVM_EINVALID, "face_encode: length %u (1..%u)", len,
                       FACE_MAX_LEN);
    for (uint32_t i = 0; i < len; i++) {
        float v = feature[i];
        if (!(v >= -0.25f)) /* also a NaN */
            v = -0.25f;
        if (v > 0.25f)
            v = 0.25f;
        v = v * 512.0f;
        int32_t t = (int32_t)v; /* in -128..128, truncated toward zero */
        ((uint8_t *)code)[i] = (uint8_t)((uint32_t)t & 0xffu); /* the low byte */
    }
    return DETVM_OK;
}

/* The correctly rounded double square root of an integer 1 <= u < 2^62 (here an integral
 * double): the 54-bit integer
 * root of u * 4^k (bit by bit, over a 128-bit value held in two words), rounded to 53 bits
 * to nearest even with the remainder as sticky bit, then scaled by 2^-k. */
static double sqrt_of_integer(uint64_t u)
{
    uint32_t bits = 0;
    while (bits < 64 && (u >> bits) != 0)
        bits++;
    uint32_t k = (108 - bits) / 2; /* u * 4^k has 107 or 108 bits */
    uint32_t s = 2 * k;
    uint64_t hi = s >= 64 ? u << (s - 64) : u >> (64 - s);
    uint64_t lo = s >= 64 ? 0 : u << s;
    uint64_t root = 0, rem = 0;
    for (int32_t pair = 53; pair >= 0; pair--) {
        uint32_t b = 2 * (uint32_t)pair;
        uint64_t two = b >= 64 ? (hi >> (b - 64)) & 3 : (lo >> b) & 3;
        rem = (rem << 2) | two;
        root <<= 1;
        uint64_t trial = (root << 1) | 1;
        if (rem >= trial) {
            rem -= trial;
            root |= 1;
        }
    }
    uint64_t q = root >> 1;
    if ((root & 1) && (rem != 0 || (q & 1)))
        q++;
    double r = (double)q; /* q <= 2^53: exact */
    /* times 2^(1-k), one exact halving at a time (k <= 53) */
    for (uint32_t i = 1; i < k; i++)
        r = r * 0.5;
    return r;
}

detvm_status detvm_face_compare(const int8_t *a, const int8_t *b, uint32_t len, float *score,
                                detvm_error *err)
{
    if (!a || !b || !score)
        return dv_fail(err, DETVM_EINVALID, "face_compare: NULL code or score");
    if (len == 0 || len > FACE_MAX_LEN)
        return dv_fail(err, DETVM_EINVALID, "face_compare: length %u (1..%u)", len,
                       FACE_MAX_LEN);
    int64_t dot = 0, na = 0, nb = 0; /* |each| <= 2^16 * 2^14: no overflow */
    for (uint32_t i = 0; i < len; i++) {
        dot += (int64_t)a[i] * b[i];
        na += (int64_t)a[i] * a[i];
        nb += (int64_t)b[i] * b[i];
    }
    if (na == 0 || nb == 0) {
        uint32_t nan_bits = 0x7fc00000u;
        memcpy(score, &nan_bits, sizeof *score);
        return DETVM_OK;
    }
    float half = (float)dot;
    half = half * 0.5f;
    double d = (double)(na * nb); /* rounded to double first, as MaixPy does */
    double root = sqrt_of_integer((uint64_t)d);
    double t = (double)half;
    t = t / root;
    t = t + 0.5;
    t = t * 100.0;
    *score = (float)t;
    return DETVM_OK;
}
