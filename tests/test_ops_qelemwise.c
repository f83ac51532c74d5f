/* Unit tests of ops/qelemwise.c, TFLite's int8 element-wise kernels, and of the fixed-point
 * helpers of ops/fixedpoint.h they use.
 *
 * Hand-computed cases (worked out in the comments) for every kernel, including broadcasting,
 * clamping and the two roundings; spot values of hard swish, logistic, tanh and softmax
 * (derived by hand where the arithmetic allows, else the values TFLite Micro's reference
 * kernels give at 90b983c, recorded from a separate cross-check harness: both are marked);
 * random cases against an independent int64 re-implementation of the requantizing kernels;
 * monotonicity, symmetry and accuracy of the nonlinear kernels against double precision;
 * extreme input values (defined results, no undefined behaviour under the sanitizers); and
 * infer rejections of hostile attributes. */
#include <math.h>

#include "fixedpoint.h"
#include "op.h"
#include "quant.h"
#include "check.h"

extern const dv_op_info dv_info_QADD, dv_info_QSUB, dv_info_QMUL, dv_info_QREQUANTIZE,
    dv_info_QLEAKY_RELU, dv_info_QHARD_SWISH, dv_info_QLOGISTIC, dv_info_QTANH, dv_info_QSOFTMAX;

#define MAX32 INT32_MAX
#define MIN32 INT32_MIN
#define P30 (1 << 30)
#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static dv_shape shape1(uint32_t a)
{
    dv_shape s = {1, {a}};
    return s;
}

static dv_shape shape2(uint32_t a, uint32_t b)
{
    dv_shape s = {2, {a, b}};
    return s;
}

static dv_shape shape3(uint32_t a, uint32_t b, uint32_t c)
{
    dv_shape s = {3, {a, b, c}};
    return s;
}

static const char *infer(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                         uint32_t n_in, const dv_shape *in)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape out[2];
    return op->infer(&attrs, n_in, in, 1, out);
}

/* Infers, checks the output shape, runs into a poisoned buffer, and returns the output in y
 * (at most 1024 elements). Returns 0 when infer refused. */
static int run(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs, uint32_t n_in,
               dv_tensor *in, dv_shape want_shape, int32_t *y, const char *what)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape in_shape[2], out_shape;
    for (uint32_t i = 0; i < n_in; i++)
        in_shape[i] = in[i].shape;
    const char *why = op->infer(&attrs, n_in, in_shape, 1, &out_shape);
    CHECK(why == NULL, "%s: infer: %s", what, why);
    if (why)
        return 0;
    CHECK(dv_shape_equal(&out_shape, &want_shape), "%s: output shape", what);
    uint64_t n = dv_shape_size(&out_shape);
    if (!dv_shape_equal(&out_shape, &want_shape) || n > 1024)
        return 0;
    for (uint64_t i = 0; i < n; i++)
        y[i] = 0x5a5a5a5a; /* every element must be written */
    dv_tensor out = {y, out_shape};
    op->run(&attrs, n_in, in, 1, &out, NULL);
    return 1;
}

static void check_op(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                     uint32_t n_in, dv_tensor *in, dv_shape want_shape, const int32_t *want,
                     const char *what)
{
    int32_t y[1024];
    if (!run(op, attr_values, n_attrs, n_in, in, want_shape, y, what))
        return;
    uint64_t n = dv_shape_size(&want_shape);
    for (uint64_t i = 0; i < n; i++)
        CHECK(y[i] == want[i], "%s: [%u] = %d, want %d", what, (unsigned)i, y[i], want[i]);
}

static void check_unary(const dv_op_info *op, const int32_t *attrs, uint32_t n_attrs,
                        const int32_t *x, const int32_t *want, uint32_t n, const char *what)
{
    dv_tensor in = {(int32_t *)x, shape1(n)};
    check_op(op, attrs, n_attrs, 1, &in, shape1(n), want, what);
}

/* ---- an independent re-implementation of TFLite's requantization, in int64 ------------- */

static int64_t floor_div_pot(int64_t n, int k)
{
    int64_t d = (int64_t)1 << k, q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
}

static int64_t wrap(int64_t v)
{
    v &= 0xffffffffLL;
    return v >= 0x80000000LL ? v - 0x100000000LL : v;
}

/* MultiplyByQuantizedMultiplier: double rounding rounds x * m / 2^31 half up, then divides by
 * 2^right rounding half away from zero (on the magnitude); single rounding floors
 * x * m / 2^(31 - shift) + 1/2 once. */
static int32_t ref_mbqm(int32_t x, int32_t m, int32_t shift, int32_t rounding)
{
    if (rounding == DV_ROUND_DOUBLE) {
        int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
        int64_t v = wrap((int64_t)x * ((int64_t)1 << left));
        int64_t high = (v == MIN32 && m == MIN32) ? MAX32
                                                  : floor_div_pot(v * m + ((int64_t)1 << 30), 31);
        if (right == 0)
            return (int32_t)high;
        int64_t magnitude = high < 0 ? -high : high;
        int64_t q = (magnitude + ((int64_t)1 << (right - 1))) >> right;
        return (int32_t)(high < 0 ? -q : q);
    }
    return (int32_t)wrap(floor_div_pot((int64_t)x * m + ((int64_t)1 << (30 - shift)), 31 - shift));
}

static int32_t clamp64(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static int32_t rnd_in(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

/* A Q31 multiplier in [2^30, 2^31) (or 0 now and then). */
static int32_t rnd_multiplier(void)
{
    return rnd() % 16 == 0 ? 0 : P30 + (int32_t)(rnd() % P30);
}

/* ---- QADD, QSUB ------------------------------------------------------------------------ */

static void test_qadd_qsub(void)
{
    /* a, b with scale 0.5 and y with scale 1: twice the larger input scale is 1, each input
     * multiplier 0.5 = (2^30, 0), the output one 1 / 2^20 = (2^30, -19). So
     * a' = (a - 10) * 2^20 * 0.5 = (a - 10) * 2^19 exactly, likewise b' = (b + 5) * 2^19,
     * and y = round((a' + b') * 0.5 / 2^19) + 3 = round(((a - 10) + (b + 5)) / 2) + 3, the
     * division by 2^19 rounding half away from zero (double rounding); clamp [-4, 6]. */
    const int32_t attrs[13] = {10, P30, 0, -5, P30, 0, 20, P30, -19, 3, -4, 6, DV_ROUND_DOUBLE};
    const int32_t a[6] = {10, 12, 16, 7, 30, -128}, b[3] = {-5, -4, 1};
    dv_tensor in[2] = {{(int32_t *)a, shape2(2, 3)}, {(int32_t *)b, shape1(3)}};
    /* b broadcasts along the rows: (a-10, b+5) = (0,0) (2,1) (6,6) / (-3,0) (20,1) (-138,6)
     * sums 0, 3, 12, -3, 21, -132 -> halves 0, 1.5->2, 6, -1.5->-2, 10.5->11, -66
     * +3: 3, 5, 9->6, 1, 14->6, -63->-4 */
    const int32_t want_add[6] = {3, 5, 6, 1, 6, -4};
    check_op(&dv_info_QADD, attrs, 13, 2, in, shape2(2, 3), want_add, "qadd");
    /* differences 0, 1, 0, -3, 19, -144 -> 0, 0.5->1, 0, -1.5->-2, 9.5->10, -72
     * +3: 3, 4, 3, 1, 13->6, -69->-4 */
    const int32_t want_sub[6] = {3, 4, 3, 1, 6, -4};
    check_op(&dv_info_QSUB, attrs, 13, 2, in, shape2(2, 3), want_sub, "qsub");

    /* single rounding: the last step is floor(S / 2 + 1/2), ties upward: -1.5 -> -1 gives
     * 2 instead of 1; the positive ties are unchanged */
    int32_t single[13];
    memcpy(single, attrs, sizeof single);
    single[12] = DV_ROUND_SINGLE;
    const int32_t want_add_single[6] = {3, 5, 6, 2, 6, -4};
    check_op(&dv_info_QADD, single, 13, 2, in, shape2(2, 3), want_add_single, "qadd single");

    /* broadcasting both ways: a (2, 1, 3) with b (2, 1) gives (2, 2, 3); y[i][j][k] uses
     * a[i][0][k] and b[j][0] */
    const int32_t a3[6] = {10, 11, 12, 13, 14, 15}, b2[2] = {-5, -3};
    dv_tensor in3[2] = {{(int32_t *)a3, shape3(2, 1, 3)}, {(int32_t *)b2, shape2(2, 1)}};
    /* (a - 10) + (b + 5): i=0: j=0: 0 1 2, j=1: 2 3 4; i=1: j=0: 3 4 5, j=1: 5 6 7
     * halves rounded away: 0 1 1 / 1 2 2 / 2 2 3 / 3 3 4, +3, clamp 6 */
    const int32_t want3[12] = {3, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6};
    check_op(&dv_info_QADD, attrs, 13, 2, in3, shape3(2, 2, 3), want3, "qadd broadcast 3-d");

    /* a scalar-like (1) operand on the left */
    const int32_t one[1] = {14};
    dv_tensor in1[2] = {{(int32_t *)one, shape1(1)}, {(int32_t *)b, shape1(3)}};
    /* 4 + (0, 1, 6): 2, 2.5->3, 5 -> +3: 5, 6, 8->6 */
    const int32_t want1[3] = {5, 6, 6};
    check_op(&dv_info_QADD, attrs, 13, 2, in1, shape1(3), want1, "qadd broadcast left");

    /* random cases against the int64 re-implementation */
    for (int iter = 0; iter < 2000; iter++) {
        int32_t v[13] = {rnd_in(-128, 127), rnd_multiplier(), rnd_in(-8, 0),
                         rnd_in(-128, 127), rnd_multiplier(), rnd_in(-8, 0),
                         20, rnd_multiplier(), rnd_in(-31, 0),
                         rnd_in(-128, 127), rnd_in(-128, 0), rnd_in(0, 127),
                         (int32_t)(rnd() % 2)};
        int32_t x[8], z[8], y[8];
        for (int k = 0; k < 8; k++) {
            x[k] = rnd_in(-128, 127);
            z[k] = rnd_in(-128, 127);
        }
        int sub = iter % 2;
        dv_tensor t[2] = {{x, shape1(8)}, {z, shape1(8)}};
        if (!run(sub ? &dv_info_QSUB : &dv_info_QADD, v, 13, 2, t, shape1(8), y, "random add"))
            break;
        for (int k = 0; k < 8; k++) {
            int32_t sa = ref_mbqm((x[k] - v[0]) * (1 << 20), v[1], v[2], v[12]);
            int32_t sb = ref_mbqm((z[k] - v[3]) * (1 << 20), v[4], v[5], v[12]);
            int64_t raw = sub ? (int64_t)sa - sb : (int64_t)sa + sb;
            int32_t want = clamp64((int64_t)ref_mbqm((int32_t)raw, v[7], v[8], v[12]) + v[9],
                                   v[10], v[11]);
            CHECK(y[k] == want, "random %s %d: %d, want %d", sub ? "sub" : "add", iter, y[k],
                  want);
        }
    }
}

/* ---- QMUL ------------------------------------------------------------------------------ */

static void test_qmul(void)
{
    /* multiplier 0.5 * 2^-2 = 1/8: y = 5 + round((a - 1) * (b + 2) / 8) (double rounding:
     * the product is exact after SRDHM here, then the division by 4 rounds ties away) */
    const int32_t attrs[8] = {1, -2, P30, -2, 5, -128, 127, DV_ROUND_DOUBLE};
    const int32_t a[2] = {3, -7}, b[3] = {2, 5, 0};
    dv_tensor in[2] = {{(int32_t *)a, shape2(2, 1)}, {(int32_t *)b, shape2(1, 3)}};
    /* (a-1) = 2, -8; (b+2) = 4, 7, 2. Products 8, 14, 4 / -32, -56, -16, over 8:
     * 1, 1.75->2, 0.5->1 / -4, -7, -2; +5 */
    const int32_t want[6] = {6, 7, 6, 1, -2, 3};
    check_op(&dv_info_QMUL, attrs, 8, 2, in, shape2(2, 3), want, "qmul");

    /* a large multiplier saturates at the clamp bounds: 0.5 * 2^10 = 512 per unit */
    const int32_t big[8] = {1, -2, P30, 10, 5, -100, 100, DV_ROUND_SINGLE};
    const int32_t want_big[6] = {100, 100, 100, -100, -100, -100};
    check_op(&dv_info_QMUL, big, 8, 2, in, shape2(2, 3), want_big, "qmul clamped");

    for (int iter = 0; iter < 2000; iter++) {
        int32_t v[8] = {rnd_in(-128, 127), rnd_in(-128, 127), rnd_multiplier(),
                        rnd_in(-20, 2),    rnd_in(-128, 127), rnd_in(-128, 0),
                        rnd_in(0, 127),    (int32_t)(rnd() % 2)};
        int32_t x[8], z[1] = {rnd_in(-128, 127)}, y[8];
        for (int k = 0; k < 8; k++)
            x[k] = rnd_in(-128, 127);
        dv_tensor t[2] = {{x, shape2(2, 4)}, {z, shape1(1)}};
        if (!run(&dv_info_QMUL, v, 8, 2, t, shape2(2, 4), y, "random mul"))
            break;
        for (int k = 0; k < 8; k++) {
            int32_t p = (x[k] - v[0]) * (z[0] - v[1]);
            int32_t want_k = clamp64((int64_t)v[4] + ref_mbqm(p, v[2], v[3], v[7]), v[5], v[6]);
            CHECK(y[k] == want_k, "random mul %d: %d, want %d", iter, y[k], want_k);
        }
    }
}

/* ---- QREQUANTIZE (QUANTIZE, RELU, RELU6) ------------------------------------------------ */

static void test_qrequantize(void)
{
    /* int8 scale 0.5 -> int8 scale 0.25: multiplier 2 = (2^30, 2);
     * y = clamp(2 * (x + 3) + 10, -128, 127) */
    const int32_t twice[7] = {-3, P30, 2, 10, -128, 127, DV_ROUND_DOUBLE};
    const int32_t x[6] = {-3, 0, 50, 60, -128, 127};
    const int32_t want[6] = {10, 16, 116, 127, -128, 127};
    check_unary(&dv_info_QREQUANTIZE, twice, 7, x, want, 6, "requantize x2");

    /* int8 -> uint8 with the same scale and zero points 0 -> 128 (TFLite's xor 0x80 path):
     * the identity multiplier, y = x + 128 */
    const int32_t to_u8[7] = {0, P30, 1, 128, 0, 255, DV_ROUND_DOUBLE};
    const int32_t xs[5] = {-128, -1, 0, 1, 127}, want_u8[5] = {0, 127, 128, 129, 255};
    check_unary(&dv_info_QREQUANTIZE, to_u8, 7, xs, want_u8, 5, "int8 -> uint8");
    /* and back: uint8 zero point 128 -> int8 zero point 0 */
    const int32_t to_i8[7] = {128, P30, 1, 0, -128, 127, DV_ROUND_SINGLE};
    check_unary(&dv_info_QREQUANTIZE, to_i8, 7, want_u8, xs, 5, "uint8 -> int8");

    /* RELU, input scale 0.5 zp 5, output scale 0.25 zp -20: multiplier 2, lower bound the
     * output zero point: y = clamp(2 * (x - 5) - 20, -20, 127) */
    const int32_t relu[7] = {5, P30, 2, -20, -20, 127, DV_ROUND_DOUBLE};
    const int32_t xr[5] = {5, 4, 0, 20, 100}, want_relu[5] = {-20, -20, -20, 10, 127};
    check_unary(&dv_info_QREQUANTIZE, relu, 7, xr, want_relu, 5, "relu");

    /* RELU6 on scale 0.1 zp -10: the clamp [-10, round(6 / 0.1) - 10 = 50], identity
     * multiplier, no requantization */
    const int32_t relu6[7] = {0, P30, 1, 0, -10, 50, DV_ROUND_DOUBLE};
    const int32_t x6[7] = {-128, -11, -10, 0, 50, 51, 127};
    const int32_t want6[7] = {-10, -10, -10, 0, 50, 50, 50};
    check_unary(&dv_info_QREQUANTIZE, relu6, 7, x6, want6, 7, "relu6");

    /* a 0.3 ratio: 0.3 = 0.6 * 2^-1, multiplier round(0.6 * 2^31) = 1288490189, shift -1.
     * x = 5: 1.5, a tie: double SRDHM(5, m) = floor(3.0000000004 + 0.5) = 3, 3 / 2 = 1.5 -> 2;
     * single floor(1.5000000002 + 0.5) = 2. x = -5: -1.5: double SRDHM = floor(-3.0000000004
     * + 0.5) = -3, -3 / 2 -> -2; single floor(-1.0000000002) = -2. */
    const int32_t ratio[7] = {0, 1288490189, -1, 0, -128, 127, DV_ROUND_DOUBLE};
    const int32_t xq[4] = {5, -5, 10, -10}, want_q[4] = {2, -2, 3, -3};
    check_unary(&dv_info_QREQUANTIZE, ratio, 7, xq, want_q, 4, "requantize 0.3");

    for (int iter = 0; iter < 2000; iter++) {
        int32_t v[7] = {rnd_in(-128, 255), rnd_multiplier(), rnd_in(-31, 30),
                        rnd_in(-128, 255), rnd_in(-128, 0), rnd_in(0, 255),
                        (int32_t)(rnd() % 2)};
        int32_t in[8], y[8];
        for (int k = 0; k < 8; k++)
            in[k] = rnd_in(-128, 255);
        dv_tensor t = {in, shape1(8)};
        if (!run(&dv_info_QREQUANTIZE, v, 7, 1, &t, shape1(8), y, "random requantize"))
            break;
        for (int k = 0; k < 8; k++) {
            int32_t want_k =
                clamp64(wrap((int64_t)ref_mbqm(in[k] - v[0], v[1], v[2], v[6]) + v[3]), v[4],
                        v[5]);
            CHECK(y[k] == want_k, "random requantize %d: %d, want %d", iter, y[k], want_k);
        }
    }
}

/* ---- QLEAKY_RELU ------------------------------------------------------------------------ */

static void test_qleaky_relu(void)
{
    /* input scale 0.1 zp 2, output scale 0.05 zp -3, alpha -0.5: identity multiplier 2 =
     * (2^30, 2), alpha multiplier -1 carried as (2^30, 1) with alpha_negative. d = x - 2:
     * d >= 0: y = -3 + 2d; d < 0: y = -3 - d. x = -128: d = -130 -> 127 (clamped);
     * x = -50: 49; x = -10: 9; x = -1: 0; x = 0: -1; x = 1: d = -1, MBQM(-1, 2^30, 1) =
     * SRDHM(-2, 2^30) = -1 -> -3 + 1 = -2; x = 10: -3 + 16 = 13; x = 127: 247 -> 127. These
     * are also TFLite's values. */
    const int32_t neg[8] = {2, -3, P30, 2, P30, 1, 1, DV_ROUND_DOUBLE};
    const int32_t x[8] = {-128, -50, -10, -1, 0, 1, 10, 127};
    const int32_t want[8] = {127, 49, 9, 0, -1, -2, 13, 127};
    check_unary(&dv_info_QLEAKY_RELU, neg, 8, x, want, 8, "leaky relu alpha -0.5");

    /* alpha 0.25, equal scales: alpha multiplier (2^30, -1), identity (2^30, 1). d = -10:
     * double SRDHM(-10, 2^30) = -5, -5 / 2 = -2.5 -> -3; single floor(-2.5 + 0.5) = -2.
     * d = -6: double SRDHM = floor(-3 + 0.5) = -3, -1.5 -> -2; single floor(-1) = -1.
     * d = -1: -0.25: double SRDHM(-1, 2^30) = floor(0) = 0 -> 0; single 0. d = 5: 5. */
    const int32_t quarter[8] = {0, 0, P30, 1, P30, -1, 0, DV_ROUND_DOUBLE};
    const int32_t xq[4] = {-10, -6, -1, 5}, want_d[4] = {-3, -2, 0, 5}, want_s[4] = {-2, -1, 0, 5};
    check_unary(&dv_info_QLEAKY_RELU, quarter, 8, xq, want_d, 4, "leaky relu double");
    int32_t quarter_single[8];
    memcpy(quarter_single, quarter, sizeof quarter_single);
    quarter_single[7] = DV_ROUND_SINGLE;
    check_unary(&dv_info_QLEAKY_RELU, quarter_single, 8, xq, want_s, 4, "leaky relu single");

    for (int iter = 0; iter < 2000; iter++) {
        int32_t v[8] = {rnd_in(-128, 127), rnd_in(-128, 127), rnd_multiplier(), rnd_in(-4, 4),
                        rnd_multiplier(),  rnd_in(-8, 2),     (int32_t)(rnd() % 2),
                        (int32_t)(rnd() % 2)};
        int32_t in[8], y[8];
        for (int k = 0; k < 8; k++)
            in[k] = rnd_in(-128, 127);
        dv_tensor t = {in, shape1(8)};
        if (!run(&dv_info_QLEAKY_RELU, v, 8, 1, &t, shape1(8), y, "random leaky"))
            break;
        for (int k = 0; k < 8; k++) {
            int32_t d = in[k] - v[0];
            int64_t s = d >= 0 ? ref_mbqm(d, v[2], v[3], v[7]) : ref_mbqm(d, v[4], v[5], v[7]);
            if (d < 0 && v[6])
                s = -s;
            int32_t want_k = clamp64(v[1] + s, -128, 127);
            CHECK(y[k] == want_k, "random leaky %d: %d, want %d", iter, y[k], want_k);
        }
    }
}

/* ---- QHARD_SWISH ------------------------------------------------------------------------ */

static const int32_t x17[17] = {-128, -120, -100, -64, -32, -16, -8, -1, 0,
                                1,    8,    16,   32,  64,  100, 119, 127};

static void test_qhard_swish(void)
{
    /* input and output scale 0.05, zero points 0. TFLite's Prepare: hires scale 0.05/128;
     * output multiplier 1/128 = (2^30, -6), to int16: (2^30 + 2^15) >> 16 = 16384; reluish
     * multiplier (0.05/128) / (3/32768) = 4.2667 = (1145324672, 3), to int16 17476.
     * x = 8 (0.4, true hard swish 0.2267 = 4.53 steps): hires = 1024;
     * preshift = SRDHM16(1024, 16384) = (16777216 + 16384) / 32768 = 512.5 -> 512 (C division);
     * reluish: SatShl16(1024, 2) = 4096, SRDHM16(4096, 17476) = 2184.5 -> 2184,
     * SatShl16(2184, 1) = 4368, (4368 + 32768) >> 1 = 18568;
     * SDHM16(18568, 512) = 9506816 / 32768 = 290.125 -> 290; RDBPOT16(290, 6) = 4.53 -> 5.
     * x = 64 (3.2, relu6(6.2) = 6, so 3.2 exactly): 64. x <= -60 (-3): 0. The remaining values
     * are TFLite's (recorded from its reference kernel). */
    const int32_t attrs[6] = {0, 0, 16384, -6, 17476, 3};
    const int32_t want[17] = {0, 0, 0, 0, -7, -6, -3, 0, 0, 1, 5, 10, 25, 64, 100, 119, 127};
    check_unary(&dv_info_QHARD_SWISH, attrs, 6, x17, want, 17, "hard swish");

    /* output zero point and a wide output exponent: with exponent -20 every preshift value
     * (|p| < 2^15) divides to 0 except through gemmlowp's int16 RoundingDivideByPOT, whose
     * mask (2^20 - 1) truncates to -1 in int16: x >= 0 gives 1 and x < 0 gives -1, then
     * the zero point -10 is added */
    const int32_t wide[6] = {0, -10, 16384, -20, 17476, 3};
    int32_t y[17];
    dv_tensor in = {(int32_t *)x17, shape1(17)};
    if (run(&dv_info_QHARD_SWISH, wide, 6, 1, &in, shape1(17), y, "hard swish wide"))
        for (int k = 0; k < 17; k++)
            CHECK(y[k] == -9 || y[k] == -11, "hard swish wide [%d] = %d", k, y[k]);

    /* monotone for x >= -3 and never below the true minimum -0.375 (-7.5 steps) by more than
     * one step; within one step of the true value outside the middle region */
    int32_t all[256], out[256];
    for (int k = 0; k < 256; k++)
        all[k] = k - 128;
    dv_tensor t = {all, shape1(256)};
    if (run(&dv_info_QHARD_SWISH, attrs, 6, 1, &t, shape1(256), out, "hard swish all")) {
        for (int k = 0; k < 256; k++) {
            double v = all[k] * 0.05, h = v * fmin(6, fmax(0, v + 3)) / 6 / 0.05;
            CHECK(fabs(out[k] - h) <= 1.0, "hard swish(%d) = %d, true %.2f", all[k], out[k], h);
            if (all[k] >= -60 && k > 0 && all[k] > 0)
                CHECK(out[k] >= out[k - 1], "hard swish monotone at %d", all[k]);
        }
    }
}

/* ---- QLOGISTIC, QTANH ------------------------------------------------------------------- */

static void test_qlogistic_qtanh(void)
{
    /* input scale 0.1f = 13421773 * 2^-27, so 0.1f * 2^27 = 13421773 = 0.8000000119 * 2^24:
     * multiplier 13421773 * 2^7 = 1717986944, shift 24, radius floor(15 * 2^27 / 2^24) = 120.
     * The input in Q4.27 is then d * 13421773 exactly. d <= -120 gives -128, d >= 120 gives
     * 127, d = 0 gives logistic 1/2 = 2^30 -> RDBPOT(2^30, 23) = 128 -> 0, and tanh 0. The
     * other values are TFLite's (recorded from its reference kernel); each is the rounded
     * 256 * logistic(0.1 x) - 128, or 128 * tanh(0.1 x), e.g. logistic(0.8) = 0.68997 ->
     * 176.6 -> 177 - 128 = 49, tanh(-0.1) = -0.0997 -> -12.76 -> -13. */
    const int32_t attrs[5] = {0, 120, 1717986944, 24, DV_ROUND_DOUBLE};
    const int32_t want_logistic[17] = {-128, -128, -128, -128, -118, -85, -49, -6, 0,
                                       6,    49,   85,   118,  127,  127, 127, 127};
    const int32_t want_tanh[17] = {-128, -128, -128, -128, -128, -118, -85, -13, 0,
                                   13,   85,   118,  127,  127,  127,  127, 127};
    check_unary(&dv_info_QLOGISTIC, attrs, 5, x17, want_logistic, 17, "logistic");
    check_unary(&dv_info_QTANH, attrs, 5, x17, want_tanh, 17, "tanh");
    /* the radius check: with zero point 7, x = 127 is d = 120 -> 127 and x = -113 is
     * d = -120 -> -128 without evaluating the function */
    const int32_t shifted[5] = {7, 120, 1717986944, 24, DV_ROUND_SINGLE};
    const int32_t xr[3] = {127, -113, 7}, want_lr[3] = {127, -128, 0}, want_tr[3] = {127, -128, 0};
    check_unary(&dv_info_QLOGISTIC, shifted, 5, xr, want_lr, 3, "logistic radius");
    check_unary(&dv_info_QTANH, shifted, 5, xr, want_tr, 3, "tanh radius");

    /* properties over every int8 input, for several input scales (computed as TFLite's
     * Prepare does: frexp of scale * 2^27, multiplier rounded to Q31, radius) */
    const float scales[5] = {0.1f, 0.0235294f, 0.5f, 1.0f / 16, 0.003f};
    const int32_t zero_points[5] = {0, -128, 17, 3, -5};
    int32_t all[256], yl[256], yt[256];
    for (int k = 0; k < 256; k++)
        all[k] = k - 128;
    for (int c = 0; c < 5; c++) {
        int shift;
        double q = frexp((double)scales[c] * (1 << 27), &shift);
        int32_t radius = (int32_t)floor(15.0 * (1 << 27) / ldexp(1, shift));
        for (int32_t rounding = 0; rounding < 2; rounding++) {
            const int32_t v[5] = {zero_points[c], radius, (int32_t)round(q * 2147483648.0),
                                  shift, rounding};
            dv_tensor t = {all, shape1(256)};
            if (!run(&dv_info_QLOGISTIC, v, 5, 1, &t, shape1(256), yl, "logistic all") ||
                !run(&dv_info_QTANH, v, 5, 1, &t, shape1(256), yt, "tanh all"))
                return;
            for (int k = 0; k < 256; k++) {
                double real = scales[c] * (all[k] - zero_points[c]);
                double l = fmin(127, round(256 / (1 + exp(-real)) - 128));
                double h = fmax(-128, fmin(127, round(128 * tanh(real))));
                CHECK(fabs(yl[k] - l) <= 1, "logistic(%g) = %d, true %g", real, yl[k], l);
                CHECK(fabs(yt[k] - h) <= 1, "tanh(%g) = %d, true %g", real, yt[k], h);
                if (k > 0) {
                    CHECK(yl[k] >= yl[k - 1], "logistic monotone at %d", all[k]);
                    CHECK(yt[k] >= yt[k - 1], "tanh monotone at %d", all[k]);
                }
                /* symmetry about the zero point: logistic(-a) = 1 - logistic(a), tanh odd */
                int32_t mirror = 2 * zero_points[c] - all[k];
                if (mirror >= -128 && mirror <= 127) {
                    CHECK(abs(yl[k] + yl[mirror + 128]) <= 1, "logistic symmetric at %d",
                          all[k]);
                    CHECK(abs(yt[k] + yt[mirror + 128]) <= 1, "tanh odd at %d", all[k]);
                }
            }
        }
    }
}

/* ---- QSOFTMAX --------------------------------------------------------------------------- */

static void test_qsoftmax(void)
{
    /* input scale 0.1f, beta 1: 0.1f * 2^26 = 6710886.5 = 0.8000000119 * 2^23, multiplier
     * 1717986944, shift 23, diff_min -floor(31 * 2^26 / 2^23) = -248.
     * A row of n equal values: each exp(0) is the largest Q0 value, 2^31 - 1, which is 2^19
     * in Q12.19 after RDBPOT(., 12); the sum n * 2^19 for n = 2^k normalises to exactly 1.0
     * (fraction 0), whose reciprocal is 2^31 - 1 with num_bits_over_unit k. So
     * y = RDBPOT(SRDHM(2^31 - 1, 2^31 - 1), k + 23) - 128 = RDBPOT(2^31 - 2, k + 23) - 128:
     * n = 1: 256 -> 127 (clamped), 2: 128 -> 0, 4: 64 -> -64, 8: 32 -> -96,
     * 256: RDBPOT(2^31 - 2, 31) = 1 -> -127. With int16 output the exponent is k + 15:
     * n = 4: 16384 - 32768 = -16384. */
    const int32_t attrs[5] = {1717986944, 23, -248, 8, DV_ROUND_DOUBLE};
    static int32_t row[256], y[256];
    const uint32_t sizes[5] = {1, 2, 4, 8, 256};
    const int32_t uniform_want[5] = {127, 0, -64, -96, -127};
    for (int c = 0; c < 5; c++) {
        for (uint32_t k = 0; k < sizes[c]; k++)
            row[k] = 7 - c;
        dv_tensor t = {row, shape2(1, sizes[c])};
        if (run(&dv_info_QSOFTMAX, attrs, 5, 1, &t, shape2(1, sizes[c]), y, "softmax uniform"))
            for (uint32_t k = 0; k < sizes[c]; k++)
                CHECK(y[k] == uniform_want[c], "uniform %u: %d, want %d", sizes[c], y[k],
                      uniform_want[c]);
    }
    const int32_t attrs16[5] = {1717986944, 23, -248, 16, DV_ROUND_DOUBLE};
    const int32_t four[4] = {7, 7, 7, 7}, want16[4] = {-16384, -16384, -16384, -16384};
    dv_tensor t4 = {(int32_t *)four, shape1(4)};
    check_op(&dv_info_QSOFTMAX, attrs16, 5, 1, &t4, shape1(4), want16, "softmax int16 uniform");

    /* two rows of a (2, 8) tensor, softmax along the last dimension; TFLite's values
     * (recorded from its reference kernel), each within 1 of 256 * p - 128:
     * row 0 p*256-128 = -62.4 -103.9 -119.1 -124.7 -62.4 -88.2 -128.0 -79.4,
     * row 1 = -96.4 (x7) -93.1 */
    const int32_t rows[16] = {10,   0,    -10,  -20,  10,   5,    -128, 7,
                              -128, -128, -128, -128, -128, -128, -128, -127};
    const int32_t want8[16] = {-62, -104, -119, -125, -62, -88, -128, -79,
                               -96, -96,  -96,  -96,  -96, -96, -96,  -93};
    const int32_t want_16[16] = {-15965, -26587, -30494, -31931, -15965, -22577,
                                 -32768, -20320, -24682, -24682, -24682, -24682,
                                 -24682, -24682, -24682, -23832};
    dv_tensor t = {(int32_t *)rows, shape2(2, 8)};
    check_op(&dv_info_QSOFTMAX, attrs, 5, 1, &t, shape2(2, 8), want8, "softmax rows");
    check_op(&dv_info_QSOFTMAX, attrs16, 5, 1, &t, shape2(2, 8), want_16, "softmax rows int16");
    /* the same data as (2, 2, 4): each group of 4 is its own row */
    dv_tensor t3 = {(int32_t *)rows, shape3(2, 2, 4)};
    if (run(&dv_info_QSOFTMAX, attrs, 5, 1, &t3, shape3(2, 2, 4), y, "softmax 3-d")) {
        for (int r = 0; r < 4; r++) {
            int32_t total = 0;
            for (int k = 0; k < 4; k++)
                total += y[4 * r + k] + 128;
            CHECK(total >= 252 && total <= 260, "softmax 3-d row %d sums to %d / 256", r, total);
        }
        CHECK(y[3] < y[2] && y[2] < y[1] && y[1] < y[0], "softmax 3-d order");
    }

    /* diff_min: input scale 1 gives (2^30, 27) and diff_min -floor(31 * 2^26 / 2^27) = -15;
     * d = -15 still counts (exp(-15) rounds to nothing), d = -16 is skipped and gives the
     * minimum directly; the maximum alone is 1.0 -> 127 */
    const int32_t scale1[5] = {P30, 27, -15, 8, DV_ROUND_SINGLE};
    const int32_t xd[4] = {0, -15, -16, -128}, want_d[4] = {127, -128, -128, -128};
    check_unary(&dv_info_QSOFTMAX, scale1, 5, xd, want_d, 4, "softmax diff_min");

    /* beta * scale >= 16 under double rounding: the multiplier saturates to (2^31 - 1,
     * shift 31) and diff_min is 0, so only the maxima count: two maxima share 1/2 each */
    const int32_t sharp[5] = {MAX32, 31, 0, 8, DV_ROUND_DOUBLE};
    const int32_t xs[4] = {3, 3, 2, -5}, want_s[4] = {0, 0, -128, -128};
    check_unary(&dv_info_QSOFTMAX, sharp, 5, xs, want_s, 4, "softmax shift 31");

    /* accuracy and monotonicity on random rows against double precision */
    for (int iter = 0; iter < 300; iter++) {
        uint32_t depth = (uint32_t)rnd_in(1, 40);
        int32_t spread = rnd_in(0, 255);
        for (uint32_t k = 0; k < depth; k++)
            row[k] = 127 - rnd_in(0, spread);
        int32_t rounding = (int32_t)(rnd() % 2);
        const int32_t v[5] = {1717986944, 23, -248, 8, rounding};
        dv_tensor tr = {row, shape1(depth)};
        if (!run(&dv_info_QSOFTMAX, v, 5, 1, &tr, shape1(depth), y, "softmax random"))
            break;
        int32_t max = -128;
        double sum = 0;
        for (uint32_t k = 0; k < depth; k++)
            max = row[k] > max ? row[k] : max;
        for (uint32_t k = 0; k < depth; k++)
            sum += exp(0.1f * (row[k] - max));
        for (uint32_t k = 0; k < depth; k++) {
            double p = fmin(127, round(256 * exp(0.1f * (row[k] - max)) / sum - 128));
            CHECK(fabs(y[k] - p) <= 1, "softmax random %d [%u] = %d, true %g", iter, k, y[k], p);
            for (uint32_t j = 0; j < depth; j++)
                if (row[j] < row[k])
                    CHECK(y[j] <= y[k], "softmax monotone");
        }
    }
}

/* ---- the fixed-point helpers ------------------------------------------------------------ */

static void test_fixedpoint(void)
{
    /* exp(0) is the largest Q0 value; exp(-k/2) in Q5.26 against double precision */
    CHECK(dv_fp_exp_on_negative_values(0, 5) == MAX32, "exp(0)");
    for (int k = 0; k <= 10; k++) {
        int32_t a = -(int32_t)(k * (1 << 25)); /* -k/2 in Q5.26 */
        double e = dv_fp_exp_on_negative_values(a, 5) / 2147483648.0;
        CHECK(fabs(e - exp(-k / 2.0)) < 1e-6, "exp(-%d/2) = %.9f", k, e);
    }
    /* with more than 5 integer bits, a < -32 gives 0: the barrel shifter stops at exp(-16),
     * so without that clamp -33 = -32.75 - 0.25 would come out as exp(-0.75 - 0.25) */
    CHECK(dv_fp_exp_on_negative_values(-(33 << 21), 10) == 0, "exp(-33) with 10 bits is 0");
    CHECK(fabs(dv_fp_exp_on_negative_values(-(5 << 21), 10) / 2147483648.0 - exp(-5.0)) < 1e-6,
          "exp(-5) with 10 bits");
    /* 1 / (1 + x) and (1 - x) / (1 + x) */
    for (int k = 1; k < 8; k++) {
        double x = k / 8.0;
        int32_t raw = (int32_t)(x * 2147483648.0);
        CHECK(fabs(dv_fp_one_over_one_plus_x_for_x_in_0_1(raw) / 2147483648.0 - 1 / (1 + x)) <
                  1e-8,
              "1/(1+%g)", x);
        CHECK(fabs(dv_fp_one_minus_x_over_one_plus_x_for_x_in_0_1(raw) / 2147483648.0 -
                   (1 - x) / (1 + x)) < 1e-8,
              "(1-x)/(1+x) at %g", x);
    }
    /* logistic(0) = 1/2 exactly, tanh(0) = 0; logistic(+-8) and tanh(+-2) in Q4.27 */
    CHECK(dv_fp_logistic(0, 4) == P30 && dv_fp_tanh(0, 4) == 0, "logistic(0), tanh(0)");
    CHECK(fabs(dv_fp_logistic(8 << 27, 4) / 2147483648.0 - 1 / (1 + exp(-8.0))) < 1e-8,
          "logistic(8)");
    CHECK(fabs(dv_fp_logistic(-(8 << 27), 4) / 2147483648.0 - 1 / (1 + exp(8.0))) < 1e-8,
          "logistic(-8)");
    CHECK(fabs(dv_fp_tanh(2 << 27, 4) / 2147483648.0 - tanh(2.0)) < 1e-6, "tanh(2)");
    CHECK(dv_fp_tanh(-(2 << 27), 4) == -dv_fp_tanh(2 << 27, 4), "tanh odd");
    /* the extremes stay defined: -INT32_MIN wraps as in TFLite, the results are saturated */
    CHECK(dv_fp_logistic(MIN32, 4) >= 0 && dv_fp_logistic(MAX32, 4) > 2147000000,
          "logistic extremes");
    CHECK(dv_fp_tanh(MAX32, 4) > 2147000000, "tanh max");
    (void)dv_fp_tanh(MIN32, 4);
    /* GetReciprocal: 3.0 in Q12.19 is 1.5 * 2^1, so 1/3 = (1/1.5) * 2^-1: 0.6667, 1 bit */
    int bits;
    int32_t r = dv_fp_get_reciprocal(3 << 19, 12, &bits);
    CHECK(bits == 1 && fabs(r / 2147483648.0 - 2 / 3.0) < 1e-8, "1/3: %d, %d", r, bits);
    r = dv_fp_get_reciprocal(1 << 19, 12, &bits);
    CHECK(bits == 0 && r == MAX32, "1/1");
    r = dv_fp_get_reciprocal(0, 12, &bits);
    CHECK(bits == -20, "1/0 gives a defined value with 32 bits of headroom");
    /* SaturatingRoundingMultiplyByPOT: saturating left, rounding right */
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(P30, 1) == MAX32, "2^30 * 2 saturates");
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(-P30, 1) == MIN32, "-2^30 * 2 = -2^31");
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(-P30 - 1, 1) == MIN32, "saturates low");
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(P30 - 1, 1) == 2 * (P30 - 1), "exact");
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(-5, -1) == -3, "-2.5 -> -3");
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(1, 31) == MAX32, "1 * 2^31 saturates");
    CHECK(dv_fp_saturating_rounding_multiply_by_pot(0, 31) == 0, "0 * 2^31");
    CHECK(dv_fp_rounding_half_sum(3, 4) == 4 && dv_fp_rounding_half_sum(-3, -4) == -4 &&
              dv_fp_rounding_half_sum(MAX32, MAX32) == MAX32 &&
              dv_fp_rounding_half_sum(MIN32, MIN32) == MIN32,
          "rounding half sum");
    /* int16 helpers */
    CHECK(dv_fp16_saturating_rounding_doubling_high_mul(INT16_MIN, INT16_MIN) == INT16_MAX,
          "int16 SRDHM saturates");
    CHECK(dv_fp16_saturating_rounding_doubling_high_mul(128, 128) == 1 &&
              dv_fp16_saturating_rounding_doubling_high_mul(-128, 128) == 0 &&
              dv_fp16_saturating_rounding_doubling_high_mul(-129, 128) == -1,
          "int16 SRDHM ties: 16384 / 32768 = 0.5 -> 1, -0.5 -> 0");
    CHECK(dv_fp16_saturating_doubling_high_mul(-129, 128) == 0 &&
              dv_fp16_saturating_doubling_high_mul(300, 300) == 2 &&
              dv_fp16_saturating_doubling_high_mul(INT16_MIN, INT16_MIN) == INT16_MAX,
          "int16 SDHM truncates toward zero");
    CHECK(dv_fp16_rounding_divide_by_pot(5, 1) == 3 && dv_fp16_rounding_divide_by_pot(-5, 1) == -3 &&
              dv_fp16_rounding_divide_by_pot(INT16_MAX, 15) == 1 &&
              dv_fp16_rounding_divide_by_pot(INT16_MIN, 15) == -1 &&
              dv_fp16_rounding_divide_by_pot(16383, 15) == 0,
          "int16 RDBPOT");
    CHECK(dv_fp16_rounding_divide_by_pot(0, 16) == 1 && dv_fp16_rounding_divide_by_pot(7, 31) == 1 &&
              dv_fp16_rounding_divide_by_pot(-7, 20) == -1,
          "int16 RDBPOT from exponent 16 on, as gemmlowp's int16 mask gives it");
    CHECK(dv_fp16_saturating_left_shift(300, 7) == INT16_MAX &&
              dv_fp16_saturating_left_shift(-300, 7) == INT16_MIN &&
              dv_fp16_saturating_left_shift(3, 2) == 12 &&
              dv_fp16_saturating_left_shift(1, 30) == INT16_MAX,
          "int16 saturating left shift");
    CHECK(dv_fp16_wrap(32768) == -32768 && dv_fp16_wrap(-32769) == 32767 && dv_fp16_wrap(65536) == 0,
          "int16 wrap");
}

/* ---- extreme inputs and hostile attributes --------------------------------------------- */

static void test_extremes(void)
{
    /* out-of-range values (int8 tensors never hold them, hostile modules might) and extreme
     * zero points: every step wraps, the result is defined and inside the clamp */
    const int32_t x[6] = {MIN32, MAX32, -1, 0, MIN32 + 1, 1 << 24};
    int32_t y[36];
    const int32_t add[13] = {MIN32, MAX32, 0, MAX32, MAX32, -31, 30, MAX32, 0, MIN32, -5, 5, 0};
    dv_tensor two[2] = {{(int32_t *)x, shape1(6)}, {(int32_t *)x, shape2(6, 1)}};
    if (run(&dv_info_QSUB, add, 13, 2, two, shape2(6, 6), y, "extreme sub"))
        for (int k = 0; k < 36; k++)
            CHECK(y[k] >= -5 && y[k] <= 5, "extreme sub [%d] = %d", k, y[k]);
    const int32_t mul[8] = {MIN32, MAX32, MAX32, 30, MAX32, MIN32, MAX32, 1};
    if (run(&dv_info_QMUL, mul, 8, 2, two, shape2(6, 6), y, "extreme mul"))
        CHECK(1, "ran");
    dv_tensor one = {(int32_t *)x, shape1(6)};
    const int32_t req[7] = {MIN32, MAX32, 30, MAX32, MIN32, MAX32, 0};
    (void)run(&dv_info_QREQUANTIZE, req, 7, 1, &one, shape1(6), y, "extreme requantize");
    const int32_t leaky[8] = {MAX32, MIN32, MAX32, 30, MAX32, -31, 1, 1};
    if (run(&dv_info_QLEAKY_RELU, leaky, 8, 1, &one, shape1(6), y, "extreme leaky"))
        for (int k = 0; k < 6; k++)
            CHECK(y[k] >= -128 && y[k] <= 127, "extreme leaky [%d]", k);
    const int32_t hs[6] = {INT16_MIN, INT16_MAX, INT16_MIN, -31, INT16_MIN, 30};
    if (run(&dv_info_QHARD_SWISH, hs, 6, 1, &one, shape1(6), y, "extreme hard swish"))
        for (int k = 0; k < 6; k++)
            CHECK(y[k] >= -128 && y[k] <= 127, "extreme hard swish [%d]", k);
    const int32_t sig[5] = {MIN32, MAX32, MAX32, 30, 0};
    const int32_t sig0[5] = {MAX32, 0, MAX32, -31, 1};
    (void)run(&dv_info_QLOGISTIC, sig, 5, 1, &one, shape1(6), y, "extreme logistic");
    (void)run(&dv_info_QTANH, sig0, 5, 1, &one, shape1(6), y, "extreme tanh");
    const int32_t sm[5] = {MAX32, 31, MIN32, 16, 0}, sm1[5] = {MAX32, 31, MIN32, 8, 1};
    if (run(&dv_info_QSOFTMAX, sm, 5, 1, &one, shape1(6), y, "extreme softmax"))
        for (int k = 0; k < 6; k++)
            CHECK(y[k] >= -32768 && y[k] <= 32767, "extreme softmax [%d]", k);
    (void)run(&dv_info_QSOFTMAX, sm1, 5, 1, &one, shape1(6), y, "extreme softmax single");
    /* a softmax row whose sum of exps exceeds 512 with int8 output, where TFLite stops:
     * 600 equal values give 1/600 = 0.43 steps -> -128 (the exponent 33 shifts all out) */
    static int32_t flat[600], out[600];
    const int32_t attrs[5] = {1717986944, 23, -248, 8, 0};
    dv_tensor tf = {flat, shape1(600)};
    dv_attrs a = {attrs, 5};
    dv_shape os;
    CHECK(dv_info_QSOFTMAX.infer(&a, 1, &tf.shape, 1, &os) == NULL, "600-wide softmax");
    dv_tensor to = {out, os};
    dv_info_QSOFTMAX.run(&a, 1, &tf, 1, &to, NULL);
    CHECK(out[0] == -128 && out[599] == -128, "sum of exps above 512: %d", out[0]);
}

static void test_infer_rejects(void)
{
    const dv_shape s6[2] = {shape1(6), shape1(6)};
    const dv_shape bad_bc[2] = {shape2(2, 3), shape1(2)};
    const dv_shape huge[2] = {shape2(1 << 20, 1), shape2(1, 1 << 20)};
    int32_t add[13] = {0, P30, 0, 0, P30, 0, 20, P30, -19, 0, -128, 127, 0};
    CHECK(infer(&dv_info_QADD, add, 13, 2, s6) == NULL, "valid qadd");
    CHECK(infer(&dv_info_QADD, add, 12, 2, s6) != NULL, "qadd: 12 attrs");
    CHECK(infer(&dv_info_QADD, add, 13, 1, s6) != NULL, "qadd: 1 input");
    CHECK(infer(&dv_info_QADD, add, 13, 2, bad_bc) != NULL, "qadd: shapes do not broadcast");
    CHECK(infer(&dv_info_QADD, add, 13, 2, huge) != NULL, "qadd: broadcast above 2^30");
    const struct {
        int index;
        int32_t value;
        const char *what;
    } bad_add[] = {{1, -1, "negative multiplier"}, {2, 1, "input shift above 0"},
                   {5, -32, "input shift below -31"}, {8, 1, "output shift above 0"},
                   {6, 31, "left shift 31"},       {6, -1, "negative left shift"},
                   {10, 128, "act_min above act_max"}, {12, 2, "rounding 2"},
                   {12, -1, "rounding -1"},        {7, MIN32, "output multiplier MIN"}};
    for (uint32_t k = 0; k < COUNT(bad_add); k++) {
        int32_t v[13];
        memcpy(v, add, sizeof v);
        v[bad_add[k].index] = bad_add[k].value;
        CHECK(infer(&dv_info_QADD, v, 13, 2, s6) != NULL, "qadd: %s", bad_add[k].what);
        CHECK(infer(&dv_info_QSUB, v, 13, 2, s6) != NULL, "qsub: %s", bad_add[k].what);
    }

    int32_t mul[8] = {0, 0, P30, 30, 0, -128, 127, 1};
    CHECK(infer(&dv_info_QMUL, mul, 8, 2, s6) == NULL, "valid qmul");
    mul[3] = 31;
    CHECK(infer(&dv_info_QMUL, mul, 8, 2, s6) != NULL, "qmul: shift 31");
    mul[3] = -32;
    CHECK(infer(&dv_info_QMUL, mul, 8, 2, s6) != NULL, "qmul: shift -32");
    mul[3] = 0;
    mul[5] = 1;
    mul[6] = 0;
    CHECK(infer(&dv_info_QMUL, mul, 8, 2, s6) != NULL, "qmul: act_min > act_max");

    int32_t req[7] = {0, P30, 1, 0, -128, 127, 0};
    CHECK(infer(&dv_info_QREQUANTIZE, req, 7, 1, s6) == NULL, "valid requantize");
    CHECK(infer(&dv_info_QREQUANTIZE, req, 7, 2, s6) != NULL, "requantize: 2 inputs");
    CHECK(infer(&dv_info_QREQUANTIZE, req, 0, 1, s6) != NULL, "requantize: no attrs");
    req[1] = -5;
    CHECK(infer(&dv_info_QREQUANTIZE, req, 7, 1, s6) != NULL, "requantize: negative mult");
    req[1] = P30;
    req[4] = 200;
    CHECK(infer(&dv_info_QREQUANTIZE, req, 7, 1, s6) != NULL, "requantize: lo > hi");
    req[4] = 0;
    req[6] = 3;
    CHECK(infer(&dv_info_QREQUANTIZE, req, 7, 1, s6) != NULL, "requantize: rounding 3");

    int32_t leaky[8] = {0, 0, P30, 1, P30, -1, 1, 0};
    CHECK(infer(&dv_info_QLEAKY_RELU, leaky, 8, 1, s6) == NULL, "valid leaky");
    leaky[6] = 2;
    CHECK(infer(&dv_info_QLEAKY_RELU, leaky, 8, 1, s6) != NULL, "leaky: alpha_negative 2");
    leaky[6] = 0;
    leaky[5] = 31;
    CHECK(infer(&dv_info_QLEAKY_RELU, leaky, 8, 1, s6) != NULL, "leaky: alpha shift 31");
    leaky[5] = 0;
    leaky[2] = -1;
    CHECK(infer(&dv_info_QLEAKY_RELU, leaky, 8, 1, s6) != NULL, "leaky: negative identity");

    int32_t hs[6] = {0, 0, 16384, -6, 17476, 3};
    CHECK(infer(&dv_info_QHARD_SWISH, hs, 6, 1, s6) == NULL, "valid hard swish");
    const struct {
        int index;
        int32_t value;
    } bad_hs[] = {{0, 32768}, {1, -32769}, {2, 40000}, {3, 1}, {3, -32}, {4, -40000},
                  {5, 31},    {5, -32}};
    for (uint32_t k = 0; k < COUNT(bad_hs); k++) {
        int32_t v[6];
        memcpy(v, hs, sizeof v);
        v[bad_hs[k].index] = bad_hs[k].value;
        CHECK(infer(&dv_info_QHARD_SWISH, v, 6, 1, s6) != NULL, "hard swish attr %d = %d",
              bad_hs[k].index, bad_hs[k].value);
    }

    int32_t sig[5] = {0, 120, 1717986944, 24, 0};
    CHECK(infer(&dv_info_QLOGISTIC, sig, 5, 1, s6) == NULL, "valid logistic");
    sig[1] = -1;
    CHECK(infer(&dv_info_QLOGISTIC, sig, 5, 1, s6) != NULL, "logistic: negative radius");
    CHECK(infer(&dv_info_QTANH, sig, 5, 1, s6) != NULL, "tanh: negative radius");
    sig[1] = 120;
    sig[3] = 31;
    CHECK(infer(&dv_info_QTANH, sig, 5, 1, s6) != NULL, "tanh: shift 31");
    sig[3] = 24;
    sig[4] = 9;
    CHECK(infer(&dv_info_QLOGISTIC, sig, 5, 1, s6) != NULL, "logistic: rounding 9");

    int32_t sm[5] = {1717986944, 23, -248, 8, 0};
    CHECK(infer(&dv_info_QSOFTMAX, sm, 5, 1, s6) == NULL, "valid softmax");
    const struct {
        int index;
        int32_t value;
    } bad_sm[] = {{0, -1}, {1, -1}, {1, 32}, {2, 1}, {3, 12}, {3, 0}, {4, 2}};
    for (uint32_t k = 0; k < COUNT(bad_sm); k++) {
        int32_t v[5];
        memcpy(v, sm, sizeof v);
        v[bad_sm[k].index] = bad_sm[k].value;
        CHECK(infer(&dv_info_QSOFTMAX, v, 5, 1, s6) != NULL, "softmax attr %d = %d",
              bad_sm[k].index, bad_sm[k].value);
    }
    CHECK(infer(&dv_info_QSOFTMAX, sm, 4, 1, s6) != NULL, "softmax: 4 attrs");
}

int main(void)
{
    test_qadd_qsub();
    test_qmul();
    test_qrequantize();
    test_qleaky_relu();
    test_qhard_swish();
    test_qlogistic_qtanh();
    test_qsoftmax();
    test_fixedpoint();
    test_extremes();
    test_infer_rejects();
    return check_summary("test_ops_qelemwise");
}
