/* Deterministic single-precision functions (ops/fmath.h): basic IEEE-754 operations and integer
 * bit manipulation only, no libm. One operation per statement where rounding matters; the
 * build has -ffp-contract=off. */
#include "fmath.h"

/* ---- bits ---------------------------------------------------------------------------------- */

static double f64_from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* The bits of a positive, finite, nonzero float as m * 2^(e - 150): returns the 24-bit
 * significand m (2^23 <= m < 2^24, a subnormal's normalised) and sets e, the biased exponent. */
static uint32_t significand(uint32_t bits, int32_t *biased_exp)
{
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
    *biased_exp = e;
    return m;
}

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
    int32_t e;
    uint32_t m = significand(bits, &e);
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

/* ---- roundf, floorf, ceilf -----------------------------------------------------------------
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

/* floorf and ceilf alike: a float with a fraction loses it, moving away from zero first when
 * its sign is `away_sign` (negative for floorf, positive for ceilf). */
static float round_toward(float x, uint32_t away_sign)
{
    uint32_t bits = dv_f32_bits(x), mag = bits & 0x7fffffffu, sign = bits & 0x80000000u;
    if (mag > 0x7f800000u)
        return dv_f32_from_bits(DV_F32_QNAN);
    if (mag >= 0x4b000000u || mag == 0) /* an integer, an infinity, or +-0 */
        return x;
    if (mag < 0x3f800000u) /* 0 < |x| < 1: +-0 or +-1 */
        return dv_f32_from_bits(sign | (sign == away_sign ? 0x3f800000u : 0u));
    uint32_t frac = 0x7fffffu >> ((mag >> 23) - 127);
    if (!(mag & frac))
        return x;
    if (sign == away_sign)
        mag += frac;
    mag &= ~frac;
    return dv_f32_from_bits(sign | mag);
}

float dv_floorf(float x) { return round_toward(x, 0x80000000u); }

float dv_ceilf(float x) { return round_toward(x, 0); }

/* ---- float to int32 ------------------------------------------------------------------------ */
int32_t dv_f32_to_i32_x86(float x)
{
    if (!(x >= -2147483648.0f && x < 2147483648.0f))
        return INT32_MIN;
    return (int32_t)x;
}

/* ---- exact products and double-double arithmetic ----------------------------------------- */

/* a = hi + lo, each half with at most 26 significant bits (Veltkamp), so that products of
 * halves are exact in double. */
static void split(double a, double *hi, double *lo)
{
    double c = 134217729.0 * a; /* 2^27 + 1 */
    double t = c - a;
    double h = c - t;
    *hi = h;
    *lo = a - h;
}

/* a * b = p + e exactly (Dekker), for products far from overflow and underflow. */
static void two_prod(double a, double b, double *p, double *e)
{
    double ah, al, bh, bl;
    split(a, &ah, &al);
    split(b, &bh, &bl);
    double x = a * b;
    double t1 = ah * bh;
    double t2 = t1 - x;
    double t3 = ah * bl;
    double t4 = t2 + t3;
    double t5 = al * bh;
    double t6 = t4 + t5;
    double t7 = al * bl;
    *p = x;
    *e = t6 + t7;
}

/* a + b = s + e exactly (Knuth). */
static void two_sum(double a, double b, double *s, double *e)
{
    double x = a + b;
    double bv = x - a;
    double av = x - bv;
    double br = b - bv;
    double ar = a - av;
    *s = x;
    *e = ar + br;
}

typedef struct {
    double hi, lo;
} dd;

static dd dd_norm(double hi, double lo)
{
    dd r;
    two_sum(hi, lo, &r.hi, &r.lo);
    return r;
}

static dd dd_add(dd a, dd b)
{
    double s, e;
    two_sum(a.hi, b.hi, &s, &e);
    double t = a.lo + b.lo;
    double u = e + t;
    return dd_norm(s, u);
}

static dd dd_neg(dd a)
{
    dd r = {-a.hi, -a.lo};
    return r;
}

static dd dd_mul(dd a, dd b)
{
    double p, e;
    two_prod(a.hi, b.hi, &p, &e);
    double t1 = a.hi * b.lo;
    double t2 = a.lo * b.hi;
    double t3 = t1 + t2;
    double t4 = e + t3;
    return dd_norm(p, t4);
}

static dd dd_div(dd a, dd b)
{
    double q1 = a.hi / b.hi;
    dd r = dd_add(a, dd_neg(dd_mul((dd){q1, 0.0}, b)));
    double q2 = r.hi / b.hi;
    r = dd_add(r, dd_neg(dd_mul((dd){q2, 0.0}, b)));
    double q3 = r.hi / b.hi;
    return dd_add(dd_norm(q1, q2), (dd){q3, 0.0});
}

static dd dd_of(double a)
{
    dd r = {a, 0.0};
    return r;
}

/* hi + lo (|lo| <= ulp(hi)/2) rounded to the nearest float, ties to even. (float)hi is right
 * unless hi lies exactly halfway between two floats: then lo's sign decides. */
static float dd_to_float(dd v)
{
    float f = (float)v.hi;
    double fd = f;
    if (fd == v.hi || v.lo == 0.0 || dv_f32_is_nan(f))
        return f;
    uint32_t u = dv_f32_bits(f);
    /* the float next to f on hi's side */
    int up = (v.hi > fd) == !(u >> 31);
    uint32_t nu = (u & 0x7fffffffu) == 0 ? ((v.hi > 0 ? 0u : 0x80000000u) | 1u)
                                         : (up ? u + 1 : u - 1);
    double gd = dv_f32_from_bits(nu);
    double mid = fd + (gd - fd) * 0.5;
    if (v.hi != mid)
        return f;
    /* hi is the midpoint: the exact value lies on lo's side of it */
    int toward_g = (v.lo > 0) == (gd > fd);
    return toward_g ? dv_f32_from_bits(nu) : f;
}

/* ---- logf, correctly rounded ---------------------------------------------------------------
 * x = m * 2^k with m in [sqrt(1/2), sqrt(2)]; log x = k ln 2 + 2 atanh(s), s = (m-1)/(m+1),
 * |s| <= 0.1716, the series of atanh summed in double-double to about 2^-100, then rounded
 * once to float. */
static const dd ln2_dd = {0x1.62e42fefa39efp-1, 0x1.abc9e3b39803fp-56};

/* 1/(2j+1) in double-double (to 2^-106) */
#define ATANH_TERMS 25
static const dd atanh_coef[ATANH_TERMS] = {
    {0x1.0000000000000p+0, 0x0.0p+0},
    {0x1.5555555555555p-2, 0x1.5555555555555p-56},
    {0x1.999999999999ap-3, -0x1.999999999999ap-57},
    {0x1.2492492492492p-3, 0x1.2492492492492p-57},
    {0x1.c71c71c71c71cp-4, 0x1.c71c71c71c71cp-58},
    {0x1.745d1745d1746p-4, -0x1.745d1745d1746p-59},
    {0x1.3b13b13b13b14p-4, -0x1.3b13b13b13b14p-58},
    {0x1.1111111111111p-4, 0x1.1111111111111p-60},
    {0x1.e1e1e1e1e1e1ep-5, 0x1.e1e1e1e1e1e1ep-61},
    {0x1.af286bca1af28p-5, 0x1.af286bca1af28p-59},
    {0x1.8618618618618p-5, 0x1.8618618618618p-59},
    {0x1.642c8590b2164p-5, 0x1.642c8590b2164p-60},
    {0x1.47ae147ae147bp-5, -0x1.eb851eb851eb8p-61},
    {0x1.2f684bda12f68p-5, 0x1.2f684bda12f68p-59},
    {0x1.1a7b9611a7b96p-5, 0x1.1a7b9611a7b96p-61},
    {0x1.0842108421084p-5, 0x1.0842108421084p-60},
    {0x1.f07c1f07c1f08p-6, -0x1.f07c1f07c1f08p-61},
    {0x1.d41d41d41d41dp-6, 0x1.0750750750750p-60},
    {0x1.bacf914c1bad0p-6, -0x1.bacf914c1bad0p-60},
    {0x1.a41a41a41a41ap-6, 0x1.0690690690690p-60},
    {0x1.8f9c18f9c18fap-6, -0x1.f3831f3831f38p-61},
    {0x1.7d05f417d05f4p-6, 0x1.7d05f417d05f4p-62},
    {0x1.6c16c16c16c17p-6, -0x1.f49f49f49f49fp-61},
    {0x1.5c9882b931057p-6, 0x1.310572620ae4cp-61},
    {0x1.4e5e0a72f0539p-6, 0x1.e0a72f0539783p-60},
};

float dv_logf(float x)
{
    uint32_t u = dv_f32_bits(x);
    if (u == 0x3f800000u)
        return 0.0f;
    if ((u & 0x7fffffffu) == 0)
        return dv_f32_from_bits(0xff800000u); /* log(+-0) = -inf */
    if ((u & 0x7fffffffu) > 0x7f800000u || (u >> 31))
        return dv_f32_from_bits(DV_F32_QNAN); /* NaN, x < 0 */
    if (u == 0x7f800000u)
        return x;
    int32_t e;
    uint32_t m = significand(u, &e);
    double md = (double)m * 0x1p-23; /* in [1, 2) */
    int32_t k = e - 127;
    if (md > 1.4142135623730951) {
        md = md * 0.5;
        k++;
    }
    dd s = dd_div(dd_of(md - 1.0), dd_of(md + 1.0)); /* numerator and denominator exact */
    dd s2 = dd_mul(s, s);
    dd acc = atanh_coef[ATANH_TERMS - 1]; /* s2^24 / 49 < 2^-125 */
    for (int j = ATANH_TERMS - 2; j >= 0; j--)
        acc = dd_add(dd_mul(acc, s2), atanh_coef[j]);
    dd lm = dd_mul(dd_mul(s, acc), dd_of(2.0));
    dd r = dd_add(dd_mul(dd_of((double)k), ln2_dd), lm);
    return dd_to_float(r);
}

/* ---- sinf and cosf, correctly rounded ------------------------------------------------------
 * Reduction: x = M 2^E (M < 2^24 an integer) times 2/pi, modulo 4, computed exactly in
 * integers from 384 bits of 2/pi (Payne-Hanek): bits of 2/pi that make M 2^E 2/pi a multiple
 * of 4 are skipped, the next 192 are multiplied by M. The quadrant q is the nearest integer,
 * the rest f = x 2/pi - q in [-1/2, 1/2] keeps about 190 bits, enough for the worst
 * cancellation among floats. y = f pi/2 in double-double; sin y and cos y by their Taylor
 * series in double-double, combined by quadrant, rounded once to float. */
static const uint32_t two_over_pi[12] = {
    0xa2f9836eu, 0x4e441529u, 0xfc2757d1u, 0xf534ddc0u, 0xdb629599u, 0x3c439041u,
    0xfe5163abu, 0xdebbc561u, 0xb7246e3au, 0x424dd2e0u, 0x06492eeau, 0x09d1921cu,
};
static const dd half_pi_dd = {0x1.921fb54442d18p+0, 0x1.1a62633145c07p-54};

/* Bit i (1 = the first after the binary point) of 2/pi. */
static uint32_t two_over_pi_bit(uint32_t i)
{
    return (two_over_pi[(i - 1) / 32] >> (31 - (i - 1) % 32)) & 1;
}

/* 2^e as a double, e in -1022..1023. */
static double pow2(int32_t e) { return f64_from_bits((uint64_t)(e + 1023) << 52); }

#define RED_WORDS 6 /* 192 bits of 2/pi in the product */

/* |x| (finite, >= pi/4) reduced: returns y with x = (q + y / (pi/2)) * pi/2 in quadrant q. */
static dd reduce_half_pi(float ax, uint32_t *quadrant)
{
    uint32_t u = dv_f32_bits(ax);
    int32_t be = (int32_t)(u >> 23);
    uint64_t m = (u & 0x007fffffu) | 0x00800000u; /* ax >= pi/4 is normal */
    int32_t e = be - 150;                         /* ax = m 2^e */
    uint32_t s = e >= 2 ? (uint32_t)(e - 2) : 0;  /* bits 1..s make multiples of 4 */
    /* window w = bits s+1 .. s+192 as 6 words, most significant first */
    uint32_t w[RED_WORDS] = {0};
    for (uint32_t i = 0; i < 32 * RED_WORDS; i++)
        w[i / 32] |= two_over_pi_bit(s + 1 + i) << (31 - i % 32);
    /* g = m * w, 7 words, most significant first */
    uint32_t g[RED_WORDS + 1];
    uint64_t carry = 0;
    for (int i = RED_WORDS - 1; i >= 0; i--) {
        uint64_t t = (uint64_t)w[i] * m + carry;
        g[i + 1] = (uint32_t)t;
        carry = t >> 32;
    }
    g[0] = (uint32_t)carry;
    /* x 2/pi = g 2^-L, L = 192 + s - e; L in 190..216 */
    uint32_t L = 32 * RED_WORDS + s - (uint32_t)e;
    uint32_t total = 32 * (RED_WORDS + 1); /* bits of g */
    /* the integer part: bits of g above position L; read it with its first fraction bit */
    uint32_t ip = 0;
    for (uint32_t b = L - 1; b < total; b++) {
        uint32_t word = RED_WORDS - b / 32, bit = b % 32;
        if (b - (L - 1) < 32 && ((g[word] >> bit) & 1))
            ip |= 1u << (b - (L - 1));
    }
    uint32_t q = (ip + 1) >> 1; /* nearest integer (the half bit rounds up) */
    *quadrant = q & 3;
    /* f = fraction - (round bit ? 1 : 0): keep the L fraction bits as a signed value */
    int neg = ip & 1;
    uint32_t fr[RED_WORDS + 1];
    for (int i = 0; i <= RED_WORDS; i++)
        fr[i] = g[i];
    /* clear the integer bits */
    for (uint32_t b = L; b < total; b++)
        fr[RED_WORDS - b / 32] &= ~(1u << (b % 32));
    if (neg) { /* f - 1 < 0: take its magnitude 2^L - fraction */
        uint64_t borrow = 0;
        for (int i = RED_WORDS; i >= 0; i--) {
            uint32_t word_pos = (uint32_t)(RED_WORDS - i) * 32; /* lowest bit of fr[i] */
            uint64_t one = 0;
            if (L >= word_pos && L < word_pos + 32)
                one = 1ull << (L - word_pos);
            uint64_t t = one - fr[i] - borrow;
            fr[i] = (uint32_t)t;
            borrow = (t >> 32) & 1;
        }
    }
    /* the magnitude as double-double: sum of its words, each exact in a double */
    dd y = dd_of(0.0);
    for (int i = 0; i <= RED_WORDS; i++) {
        int32_t pos = (int32_t)((RED_WORDS - i) * 32) - (int32_t)L; /* weight of the word */
        if (fr[i])
            y = dd_add(y, dd_of((double)fr[i] * pow2(pos)));
    }
    if (neg)
        y = dd_neg(y);
    return dd_mul(y, half_pi_dd);
}

/* (-1)^k / (2k+1)! and (-1)^k / (2k)! in double-double */
#define TAYLOR_TERMS 15
static const dd sin_coef[TAYLOR_TERMS] = {
    {0x1.0000000000000p+0, 0x0.0p+0},
    {-0x1.5555555555555p-3, -0x1.5555555555555p-57},
    {0x1.1111111111111p-7, 0x1.1111111111111p-63},
    {-0x1.a01a01a01a01ap-13, -0x1.a01a01a01a01ap-73},
    {0x1.71de3a556c734p-19, -0x1.c154f8ddc6c00p-73},
    {-0x1.ae64567f544e4p-26, 0x1.c062e06d1f209p-80},
    {0x1.6124613a86d09p-33, 0x1.f28e0cc748ebep-87},
    {-0x1.ae7f3e733b81fp-41, -0x1.1d8656b0ee8cbp-97},
    {0x1.952c77030ad4ap-49, 0x1.ac981465ddc6cp-103},
    {-0x1.2f49b46814157p-57, -0x1.2650f61dbdcb4p-112},
    {0x1.71b8ef6dcf572p-66, -0x1.d043ae40c4647p-120},
    {-0x1.761b41316381ap-75, 0x1.3423c7d91404fp-130},
    {0x1.3f3ccdd165fa9p-84, -0x1.58ddadf344487p-139},
    {-0x1.d1ab1c2dccea3p-94, -0x1.054d0c78aea14p-149},
    {0x1.259f98b4358adp-103, 0x1.eaf8c39dd9bc5p-157},
};
static const dd cos_coef[TAYLOR_TERMS] = {
    {0x1.0000000000000p+0, 0x0.0p+0},
    {-0x1.0000000000000p-1, 0x0.0p+0},
    {0x1.5555555555555p-5, 0x1.5555555555555p-59},
    {-0x1.6c16c16c16c17p-10, 0x1.f49f49f49f49fp-65},
    {0x1.a01a01a01a01ap-16, 0x1.a01a01a01a01ap-76},
    {-0x1.27e4fb7789f5cp-22, -0x1.cbbc05b4fa99ap-76},
    {0x1.1eed8eff8d898p-29, -0x1.2aec959e14c06p-83},
    {-0x1.93974a8c07c9dp-37, -0x1.05d6f8a2efd1fp-92},
    {0x1.ae7f3e733b81fp-45, 0x1.1d8656b0ee8cbp-101},
    {-0x1.6827863b97d97p-53, -0x1.eec01221a8b0bp-107},
    {0x1.e542ba4020225p-62, 0x1.ea72b4afe3c2fp-120},
    {-0x1.0ce396db7f853p-70, 0x1.aebcdbd20331cp-124},
    {0x1.f2cf01972f578p-80, -0x1.9ada5fcc1ab14p-135},
    {-0x1.88e85fc6a4e5ap-89, 0x1.71c37ebd16540p-143},
    {0x1.0a18a2635085dp-98, 0x1.b9e2e28e1aa54p-153},
};

/* sin y (odd = 1) or cos y (odd = 0) for |y| <= pi/4 + a little, Taylor in double-double. */
static dd taylor_sin_cos(dd y, int odd)
{
    const dd *coef = odd ? sin_coef : cos_coef;
    dd y2 = dd_mul(y, y);
    dd acc = coef[TAYLOR_TERMS - 1];
    for (int k = TAYLOR_TERMS - 2; k >= 0; k--)
        acc = dd_add(dd_mul(acc, y2), coef[k]);
    return odd ? dd_mul(acc, y) : acc;
}

static float sin_cos(float x, int want_cos)
{
    uint32_t u = dv_f32_bits(x);
    uint32_t au = u & 0x7fffffffu;
    if (au >= 0x7f800000u)
        return dv_f32_from_bits(DV_F32_QNAN); /* an infinity or a NaN */
    if (au == 0)
        return want_cos ? 1.0f : x;
    float ax = dv_f32_from_bits(au);
    uint32_t q = 0;
    dd y;
    if (ax < 0.78539816f) /* below pi/4 (the float just under it) */
        y = dd_of((double)ax);
    else
        y = reduce_half_pi(ax, &q);
    /* sin(q pi/2 + y), cos(q pi/2 + y) */
    int use_sin = want_cos ? (q & 1) : !(q & 1);
    int negate = want_cos ? (q == 1 || q == 2) : (q >= 2);
    dd r = taylor_sin_cos(y, use_sin);
    if (negate)
        r = dd_neg(r);
    if (!want_cos && (u >> 31))
        r = dd_neg(r);
    return dd_to_float(r);
}

float dv_sinf(float x) { return sin_cos(x, 0); }
float dv_cosf(float x) { return sin_cos(x, 1); }
