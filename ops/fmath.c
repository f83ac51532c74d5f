/* Deterministic single-precision functions (ops/fmath.h): basic IEEE-754 operations and integer
 * bit manipulation only, no libm. */
#include "fmath.h"

/* ---- expf ----------------------------------------------------------------------------------
 * glibc's expf: with N = 32, k = round(x * N/ln2) and r = x * N/ln2 - k,
 *   exp(x) = 2^(k/N) * 2^(r/N) ~= s * (C0 r^3 + C1 r^2 + C2 r + 1),
 * s = 2^(k/N) built from a table of 2^(i/N) by adding k/N to the exponent, everything in
 * double, one rounding to float at the end.
 *
 * glibc's x86-64 FMA build (the one every x86-64 CPU since 2013 runs) fuses the products of
 * x * N/ln2 into the two operations that use them: k = rint(fma(x, N/ln2, shift) - shift)
 * and r = fma(x, N/ln2, -k). Without an fma instruction we get the same two results exactly:
 * N/ln2 is split as HI + LO with HI holding 29 significant bits and LO the other 24, so that
 * a = x*HI and b = x*LO are exact (24 + 29 and 24 + 24 bits) and a + b is the exact product.
 * r = (a - k) + b rounds once: a - k is exact because |a - k| < 0.6 is below 2|a| whenever
 * k != 0 (and is a itself when k = 0). k is the integer nearest to a + b: rounding a + b to
 * double keeps it on the same side of every half-integer, except when the rounded sum is
 * itself a half-integer, where the exact remainder b - (s - a) decides. The polynomial is
 * evaluated as glibc writes it (its FMA build gives the same float on every input, checked
 * exhaustively). */

/* The doubles nearest 2^(i/32), i = 0..31, as bits. */
static const uint64_t exp2_32ths[32] = {
    0x3ff0000000000000ull, 0x3ff059b0d3158574ull, 0x3ff0b5586cf9890full, 0x3ff11301d0125b51ull,
    0x3ff172b83c7d517bull, 0x3ff1d4873168b9aaull, 0x3ff2387a6e756238ull, 0x3ff29e9df51fdee1ull,
    0x3ff306fe0a31b715ull, 0x3ff371a7373aa9cbull, 0x3ff3dea64c123422ull, 0x3ff44e086061892dull,
    0x3ff4bfdad5362a27ull, 0x3ff5342b569d4f82ull, 0x3ff5ab07dd485429ull, 0x3ff6247eb03a5585ull,
    0x3ff6a09e667f3bcdull, 0x3ff71f75e8ec5f74ull, 0x3ff7a11473eb0187ull, 0x3ff82589994cce13ull,
    0x3ff8ace5422aa0dbull, 0x3ff93737b0cdc5e5ull, 0x3ff9c49182a3f090ull, 0x3ffa5503b23e255dull,
    0x3ffae89f995ad3adull, 0x3ffb7f76f2fb5e47ull, 0x3ffc199bdd85529cull, 0x3ffcb720dcef9069ull,
    0x3ffd5818dcfba487ull, 0x3ffdfc97337b9b5full, 0x3ffea4afa2a490daull, 0x3fff50765b6e4540ull,
};

#define EXP_N_OVER_LN2 0x1.71547652b82fep+5     /* 32 * (1/ln 2 rounded to double) */
#define EXP_N_OVER_LN2_HI 0x1.7154765p+5        /* its first 29 significant bits */
#define EXP_SHIFT 0x1.8p+52                     /* adding it rounds a small double to an integer */
#define EXP_C0 0x1.c6af84b912394p-20            /* glibc's coefficients, already divided by */
#define EXP_C1 0x1.ebfce50fac4f3p-13            /* N^3, N^2 and N */
#define EXP_C2 0x1.62e42ff0c52d6p-6

static double f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

float dv_expf(float x)
{
    static const double lo = EXP_N_OVER_LN2 - EXP_N_OVER_LN2_HI; /* exact */
    uint32_t bits = dv_f32_bits(x), mag = bits & 0x7fffffffu;
    if (mag >= 0x42b00000u) { /* |x| >= 88, an infinity or NaN */
        if (mag > 0x7f800000u)
            return dv_f32_from_bits(DV_F32_QNAN);
        if (bits == 0xff800000u)
            return 0.0f;
        if (bits == 0x7f800000u || x > 0x1.62e42ep6f) /* exp(x) > FLT_MAX */
            return dv_f32_from_bits(0x7f800000u);
        if (x < -0x1.9fe368p6f) /* exp(x) < 2^-150: rounds to zero */
            return 0.0f;
    }
    double xd = x;
    double a = xd * EXP_N_OVER_LN2_HI;
    double b = xd * lo;
    double s = a + b;
    double kd = s + EXP_SHIFT;
    kd = kd - EXP_SHIFT;
    double off = s - kd;
    if (off == 0.5 || off == -0.5) { /* s is a half-integer: the exact product decides */
        double t = s - a;
        double err = b - t;
        if (err > 0)
            kd = s + 0.5;
        else if (err < 0)
            kd = s - 0.5;
    }
    double r = a - kd;
    r = r + b;
    int64_t k = (int64_t)kd; /* |k| <= 150 * 32 */
    uint64_t i = (uint64_t)k & 31;
    uint64_t scale_bits = exp2_32ths[i] + (((uint64_t)k - i) << 47); /* adds (k - i)/32 to e */
    double scale = f64_from_bits(scale_bits);
    double p = EXP_C0 * r;
    p = p + EXP_C1;
    double r2 = r * r;
    double y = EXP_C2 * r;
    y = y + 1.0;
    double pr2 = p * r2;
    y = pr2 + y;
    y = y * scale;
    return (float)y;
}

/* ---- sqrtf ---------------------------------------------------------------------------------
 * x = m * 2^E with m a 24-bit integer; M = m * 2^s with s in {23, 24} chosen so that E - s is
 * even; then sqrt(x) = sqrt(M) * 2^((E - s) / 2) with sqrt(M) in [2^23, 2^24). The integer
 * square root q of M and its remainder give the rounding: sqrt(M) >= q + 1/2 exactly when
 * M - q^2 > q (never equal: sqrt(M) + 1/2 would be an integer's square root, irrational). */
static uint64_t isqrt64(uint64_t n)
{
    uint64_t root = 0, bit = 1ull << 62;
    while (bit > n)
        bit >>= 2;
    while (bit) {
        if (n >= root + bit) {
            n -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

float dv_sqrtf(float x)
{
    uint32_t bits = dv_f32_bits(x);
    if ((bits & 0x7fffffffu) == 0 || bits == 0x7f800000u) /* +-0, +inf */
        return x;
    if (bits > 0x7f800000u) /* NaN or negative */
        return dv_f32_from_bits(DV_F32_QNAN);
    int32_t e = (int32_t)(bits >> 23);
    uint32_t m = bits & 0x7fffffu;
    if (e == 0) { /* subnormal: normalise */
        e = 1;
        while (!(m & 0x800000u)) {
            m <<= 1;
            e--;
        }
    } else {
        m |= 0x800000u;
    }
    int32_t E = e - 150; /* x = m * 2^E */
    uint32_t s = ((uint32_t)(E - 23) & 1u) ? 24 : 23;
    uint64_t M = (uint64_t)m << s;
    uint64_t q = isqrt64(M);
    uint64_t rem = M - q * q;
    uint32_t rounded = (uint32_t)q + (rem > q ? 1u : 0u);
    int32_t exponent = (E - (int32_t)s) / 2 + 23 + 127;
    /* a carry out of the 24 bits (rounded == 2^24) moves into the exponent, as it should */
    return dv_f32_from_bits(((uint32_t)exponent << 23) + (rounded - 0x800000u));
}

/* ---- roundf, floorf ------------------------------------------------------------------------
 * On the bits: with e the unbiased exponent (0..22), the low 23 - e bits of the magnitude
 * are the fraction. Adding half a unit and clearing the fraction rounds half away from zero;
 * a carry out of the mantissa moves into the exponent. */
float dv_roundf(float x)
{
    uint32_t bits = dv_f32_bits(x), mag = bits & 0x7fffffffu, sign = bits & 0x80000000u;
    if (mag > 0x7f800000u)
        return dv_f32_from_bits(DV_F32_QNAN);
    if (mag >= 0x4b000000u) /* |x| >= 2^23: already an integer, or an infinity */
        return x;
    if (mag < 0x3f000000u) /* |x| < 1/2 */
        return dv_f32_from_bits(sign);
    if (mag < 0x3f800000u) /* 1/2 <= |x| < 1 */
        return dv_f32_from_bits(sign | 0x3f800000u);
    uint32_t e = (mag >> 23) - 127;
    mag += 0x400000u >> e;
    mag &= ~(0x7fffffu >> e);
    return dv_f32_from_bits(sign | mag);
}

float dv_floorf(float x)
{
    uint32_t bits = dv_f32_bits(x), mag = bits & 0x7fffffffu, sign = bits & 0x80000000u;
    if (mag > 0x7f800000u)
        return dv_f32_from_bits(DV_F32_QNAN);
    if (mag >= 0x4b000000u || mag == 0) /* an integer, an infinity, or +-0 */
        return x;
    if (mag < 0x3f800000u) /* 0 < |x| < 1 */
        return dv_f32_from_bits(sign ? 0xbf800000u : 0u);
    uint32_t frac = 0x7fffffu >> ((mag >> 23) - 127);
    if (!(mag & frac))
        return x;
    if (sign) /* away from zero */
        mag += frac;
    mag &= ~frac;
    return dv_f32_from_bits(sign | mag);
}
