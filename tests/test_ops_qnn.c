/* Unit tests of ops/qnn.c (the TFLite int8 kernels) and loader/tflite_nn.c (their importers).
 *
 * Kernels: hand-computed cases (worked out in the comments) for padding edges, groups,
 * dilation, per-channel multipliers, both roundings, offsets, the activation clamp, the
 * average pool's ties, the mean's folded multiplier; wrapping and hostile values; infer
 * rejections; two differential checks between ops that must agree (1x1 conv against fully
 * connected, grouped conv against depthwise); and outputs of TFLite Micro's reference kernels
 * (commit 90b983c, built with and without TFLITE_SINGLE_ROUNDING) for inputs drawn from the
 * generator below.
 *
 * Importers: run through a mock import context (defined here, in place of
 * loader/tflite_import.c) on hand-built operators: padding, multipliers and attributes, the
 * FULLY_CONNECTED reshape, the refusals; and, with ../shared, on the layer dumps of the
 * reference models (MEAN of mobilenet_v2, AVERAGE_POOL_2D of three models): the previous
 * layer's dump goes in, the layer's dump must come out. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "op.h"
#include "quant.h"
#include "tflite.h"
#include "check.h"

extern const dv_op_info dv_info_QCONV2D, dv_info_QDEPTHWISE_CONV2D, dv_info_QFULLY_CONNECTED,
    dv_info_QAVG_POOL2D, dv_info_QMAX_POOL2D, dv_info_QMEAN;

#define MAX32 INT32_MAX
#define MIN32 INT32_MIN
#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))
#define Q30 (1 << 30) /* multiplier 2^30: M = 2^(shift - 1), so shift 1 is 1.0, 0 is 0.5 */

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

static dv_shape shape4(uint32_t n, uint32_t h, uint32_t w, uint32_t c)
{
    dv_shape s = {4, {n, h, w, c}};
    return s;
}

/* Infers, checks the output shape, runs, and compares every element with `want`. */
static void check_op(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                     uint32_t n_in, const dv_tensor *in, dv_shape want_shape, const int32_t *want,
                     const char *what)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape in_shape[5], out_shape;
    for (uint32_t i = 0; i < n_in; i++)
        in_shape[i] = in[i].shape;
    const char *why = op->infer(&attrs, n_in, in_shape, 1, &out_shape);
    CHECK(why == NULL, "%s: infer: %s", what, why);
    if (why)
        return;
    CHECK(dv_shape_equal(&out_shape, &want_shape), "%s: output shape", what);
    if (!dv_shape_equal(&out_shape, &want_shape))
        return;
    uint32_t n = (uint32_t)dv_shape_size(&out_shape);
    int32_t *y = malloc(n * sizeof *y);
    for (uint32_t i = 0; i < n; i++)
        y[i] = 0x5a5a5a5a; /* every element must be written */
    dv_tensor out = {y, out_shape};
    op->run(&attrs, n_in, in, 1, &out, NULL);
    uint32_t wrong = 0;
    for (uint32_t i = 0; i < n; i++)
        if (y[i] != want[i] && wrong++ < 4)
            CHECK(0, "%s: [%u] = %d, want %d", what, i, y[i], want[i]);
    if (!wrong)
        CHECK(1);
    free(y);
}

static const char *infer(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                         uint32_t n_in, const dv_shape *in)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape out[2];
    return op->infer(&attrs, n_in, in, 1, out);
}

/* The attribute layouts of ops/qnn.c. */
static const int32_t *conv_attrs(int32_t *a, int32_t sh, int32_t sw, int32_t dh, int32_t dw,
                                 int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t in_off,
                                 int32_t out_off, int32_t act_min, int32_t act_max,
                                 int32_t rounding, int32_t depth_multiplier)
{
    const int32_t v[14] = {sh, sw, dh, dw, pt, pl, pb, pr, in_off, out_off, act_min, act_max,
                           rounding, depth_multiplier};
    memcpy(a, v, sizeof v);
    return a;
}

static const int32_t *pool_attrs(int32_t *a, int32_t fh, int32_t fw, int32_t sh, int32_t sw,
                                 int32_t pt, int32_t pl, int32_t pb, int32_t pr, int32_t act_min,
                                 int32_t act_max)
{
    const int32_t v[10] = {fh, fw, sh, sw, pt, pl, pb, pr, act_min, act_max};
    memcpy(a, v, sizeof v);
    return a;
}

/* The generator of the TFLite Micro cases' inputs. */
static uint32_t lcg_state;
static int32_t lcg(int32_t lo, int32_t hi)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lo + (int32_t)((lcg_state >> 8) % (uint32_t)(hi - lo + 1));
}

static void fill(int32_t *v, uint32_t n, int32_t lo, int32_t hi)
{
    for (uint32_t i = 0; i < n; i++)
        v[i] = lcg(lo, hi);
}

static void quantize_all(const double *real, uint32_t n, int32_t rounding, int32_t *m,
                         int32_t *s)
{
    for (uint32_t i = 0; i < n; i++)
        CHECK(tfl_quantize_multiplier(real[i], rounding, &m[i], &s[i]) == 0);
}

/* ---- QCONV2D ----------------------------------------------------------------------------- */

static void test_qconv2d(void)
{
    int32_t a[14];
    /* x = 1..9 on 3x3 (one channel), input_offset 1 so the taps see 2..10:
     *     2  3  4
     *     5  6  7
     *     8  9 10
     * 3x3 filters, stride 2, TFLite SAME: out ceil(3/2) = 2, total padding (2-1)*2+3-3 = 2,
     * top/left 1 (bottom/right 1). Output (oy, ox) sees rows 2oy-1..2oy+1.
     * o0 = all ones: the in-bounds 2x2 blocks: 2+3+5+6 = 16, 3+4+6+7 = 20, 5+6+8+9 = 28,
     *      6+7+9+10 = 32; bias 4: 20, 24, 32, 36; M = 0.5: 10, 12, 16, 18.
     * o1 = 2 at the centre, -1 at the corner (0,0): centres (0,0) (0,2) (2,0) (2,2) give
     *      4, 8, 16, 20; the corner reads (2oy-1, 2ox-1), inside only for (1,1): 6, so
     *      20 - 6 = 14; bias -100: -96, -92, -84, -86; M = 1.
     * output_offset 3: o0 13 15 19 21, o1 -93 -89 -81 -83; clamp to [-90, 20]:
     *      o0 13 15 19 20, o1 -90 -89 -81 -83 (NHWC: the two channels of each pixel). */
    int32_t x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t f[18] = {1, 1, 1, 1, 1, 1, 1, 1, 1, -1, 0, 0, 0, 2, 0, 0, 0, 0};
    int32_t bias[2] = {4, -100}, mult[2] = {Q30, Q30}, shift[2] = {0, 1};
    dv_tensor in[5] = {{x, shape4(1, 3, 3, 1)}, {f, shape4(2, 3, 3, 1)}, {bias, shape1(2)},
                       {mult, shape1(2)}, {shift, shape1(2)}};
    const int32_t want[8] = {13, -90, 15, -89, 19, -81, 20, -83};
    check_op(&dv_info_QCONV2D, conv_attrs(a, 2, 2, 1, 1, 1, 1, 1, 1, 1, 3, -90, 20, 0, 0), 13, 5,
             in, shape4(1, 2, 2, 2), want, "qconv2d SAME stride 2 per-channel clamp");

    /* Groups: 4 channels [1,2,3,4], 1x1 filters of depth 2: o0 = [10,20] on channels 0,1
     * = 50; o1 = [30,40] on channels 2,3 = 250. o0 M = 1 -> 50; o1 M = 0.25 -> 62.5:
     * double rounding SRDHM(250, 2^30) = 125, then 125/2 = 62.5 rounds away -> 63. */
    int32_t x4[4] = {1, 2, 3, 4}, fg[4] = {10, 20, 30, 40}, zero2[2] = {0, 0};
    int32_t mult_g[2] = {Q30, Q30}, shift_g[2] = {1, -1};
    dv_tensor grouped[5] = {{x4, shape4(1, 1, 1, 4)}, {fg, shape4(2, 1, 1, 2)},
                            {zero2, shape1(2)}, {mult_g, shape1(2)}, {shift_g, shape1(2)}};
    const int32_t want_g[2] = {50, 63};
    check_op(&dv_info_QCONV2D, conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, 0), 13,
             5, grouped, shape4(1, 1, 1, 2), want_g, "qconv2d groups");

    /* Dilation, stride and asymmetric padding on one row: x = [1,2,3,4,5], filter [10, 1],
     * dilation 2 (window 3), stride 2, pad_left 1, pad_right 2: out (5+3-3)/2+1 = 3.
     * ox 0 starts at -1: taps -1 (outside), 1 -> 2*1 = 2; ox 1: taps 1, 3 -> 20 + 4 = 24;
     * ox 2: taps 3, 5 (outside) -> 40. */
    int32_t x5[5] = {1, 2, 3, 4, 5}, fd[2] = {10, 1}, zero1[1] = {0}, one_m[1] = {Q30},
            one_s[1] = {1};
    dv_tensor dilated[5] = {{x5, shape4(1, 1, 5, 1)}, {fd, shape4(1, 1, 2, 1)},
                            {zero1, shape1(1)}, {one_m, shape1(1)}, {one_s, shape1(1)}};
    const int32_t want_d[3] = {2, 24, 40};
    check_op(&dv_info_QCONV2D, conv_attrs(a, 1, 2, 1, 2, 0, 1, 0, 2, 0, 0, -128, 127, 0, 0), 13,
             5, dilated, shape4(1, 1, 3, 1), want_d, "qconv2d dilation stride asymmetric");

    /* Rounding: acc 5 with M = 0.25 (shift -1). Double: SRDHM(5, 2^30) = 2.5 -> 3, then
     * 3/2 = 1.5 -> 2. Single: (5 * 2^30 + 2^31) >> 32 = 1.75 -> 1. */
    int32_t x1[1] = {5}, f1[1] = {1}, quarter_s[1] = {-1};
    dv_tensor rounding[5] = {{x1, shape4(1, 1, 1, 1)}, {f1, shape4(1, 1, 1, 1)},
                             {zero1, shape1(1)}, {one_m, shape1(1)}, {quarter_s, shape1(1)}};
    const int32_t want_double[1] = {2}, want_single[1] = {1};
    check_op(&dv_info_QCONV2D, conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, 0), 13,
             5, rounding, shape4(1, 1, 1, 1), want_double, "qconv2d double rounding");
    check_op(&dv_info_QCONV2D, conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 1, 0), 13,
             5, rounding, shape4(1, 1, 1, 1), want_single, "qconv2d single rounding");

    /* Wrapping, for values no int8 model holds: (MAX32 + input_offset 1) wraps to MIN32,
     * times 2 is 2^32, which wraps to 0; bias 7 -> 7 (M = 1). */
    int32_t xw[1] = {MAX32}, fw[1] = {2}, bias7[1] = {7};
    dv_tensor wrap[5] = {{xw, shape4(1, 1, 1, 1)}, {fw, shape4(1, 1, 1, 1)}, {bias7, shape1(1)},
                         {one_m, shape1(1)}, {one_s, shape1(1)}};
    const int32_t want_w[1] = {7};
    check_op(&dv_info_QCONV2D, conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, -128, 127, 0, 0), 13,
             5, wrap, shape4(1, 1, 1, 1), want_w, "qconv2d wraps");
    /* Windows wholly in the padding: a 1x1 input [3] padded by 5 all round, 1x1 filter [2],
     * stride 5: out (11-1)/5+1 = 3 per axis; only (1,1) reads x (5 - 5 = 0):
     * 2 * (3 + 1) + 7 = 15; the others add nothing to the bias 7. */
    int32_t x3[1] = {3};
    dv_tensor padded[5] = {{x3, shape4(1, 1, 1, 1)}, {fw, shape4(1, 1, 1, 1)},
                           {bias7, shape1(1)}, {one_m, shape1(1)}, {one_s, shape1(1)}};
    const int32_t want_pad[9] = {7, 7, 7, 7, 15, 7, 7, 7, 7};
    check_op(&dv_info_QCONV2D, conv_attrs(a, 5, 5, 1, 1, 5, 5, 5, 5, 1, 0, -128, 127, 0, 0), 13,
             5, padded, shape4(1, 3, 3, 1), want_pad, "qconv2d windows in the padding");
}

/* Hostile values that infer accepts: the kernel must stay defined (run under UBSan). */
static void test_qconv2d_hostile(void)
{
    int32_t a[14];
    /* Stride, padding and dilation MAX32 on a 1x1 input with a 2x2 filter [1,2,3,4]: dilated
     * 2^31, padded 2^32 - 1, out (2^32-1-2^31)/MAX32 + 1 = 2; tap (ky, kx) of output
     * (oy, ox) reads (oy + ky - 1) * MAX32, inside only when oy + ky = 1: y00 = 4*7,
     * y01 = 3*7, y10 = 2*7, y11 = 1*7 (M = 1). */
    int32_t x[1] = {7}, f[4] = {1, 2, 3, 4}, zero[1] = {0}, m[1] = {Q30}, s[1] = {1};
    dv_tensor in[5] = {{x, shape4(1, 1, 1, 1)}, {f, shape4(1, 2, 2, 1)}, {zero, shape1(1)},
                       {m, shape1(1)}, {s, shape1(1)}};
    const int32_t want[4] = {28, 21, 14, 7};
    check_op(&dv_info_QCONV2D,
             conv_attrs(a, MAX32, MAX32, MAX32, MAX32, MAX32, MAX32, MAX32, MAX32, 0, 0, -128,
                        127, 0, 0),
             13, 5, in, shape4(1, 2, 2, 1), want, "qconv2d extreme geometry");

    /* Multipliers and shifts are tensors: any value must give a defined result. Shift 100
     * is clamped to 30, -100 to -31; multiplier MIN32 with MIN32 saturates in SRDHM.
     * Offsets MAX32 wrap. Only definedness and the clamp are checked. */
    int32_t xs[2] = {MIN32, MAX32}, fs[4] = {MIN32, MAX32, -1, 1}, b[2] = {MAX32, MIN32};
    int32_t ms[2] = {MIN32, -1}, ss[2] = {100, -100};
    dv_tensor hostile[5] = {{xs, shape4(1, 1, 1, 2)}, {fs, shape4(2, 1, 1, 2)}, {b, shape1(2)},
                            {ms, shape1(2)}, {ss, shape1(2)}};
    for (int32_t rounding = 0; rounding <= 1; rounding++) {
        dv_attrs at = {conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, MAX32, MAX32, -5, 5, rounding, 0),
                       13};
        int32_t y[2] = {0x5a5a5a5a, 0x5a5a5a5a};
        dv_tensor out = {y, shape4(1, 1, 1, 2)};
        dv_info_QCONV2D.run(&at, 5, hostile, 1, &out, NULL);
        CHECK(y[0] >= -5 && y[0] <= 5 && y[1] >= -5 && y[1] <= 5, "hostile values clamp");
    }
}

static void test_qconv2d_infer_rejects(void)
{
    int32_t a[14];
    dv_shape ok[5] = {shape4(1, 5, 5, 4), shape4(6, 3, 3, 2), shape1(6), shape1(6), shape1(6)};
#define QC(...) conv_attrs(a, __VA_ARGS__, 0)
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5, ok) ==
          NULL, "the baseline is accepted");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 14, 5, ok) !=
          NULL, "14 attributes");
    CHECK(infer(&dv_info_QCONV2D, NULL, 0, 5, ok) != NULL, "no attributes");
    CHECK(infer(&dv_info_QCONV2D, QC(0, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5, ok) !=
          NULL, "stride 0");
    CHECK(infer(&dv_info_QCONV2D, QC(1, -1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5, ok) !=
          NULL, "negative stride");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 0, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5, ok) !=
          NULL, "dilation 0");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, -1, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5, ok) !=
          NULL, "negative pad");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, MIN32, 0, 0, -128, 127, 0), 13, 5, ok) !=
          NULL, "pad MIN32");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 2), 13, 5, ok) !=
          NULL, "rounding 2");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -129, 127, 0), 13, 5, ok) !=
          NULL, "act_min below int8");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 128, 0), 13, 5, ok) !=
          NULL, "act_max above int8");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 5, 4, 0), 13, 5, ok) != NULL,
          "act_min > act_max");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 5, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5, ok) !=
          NULL, "dilated filter larger than the input");
    CHECK(infer(&dv_info_QCONV2D, QC(1, 1, 1, 1, 0, 0, 0, 1 << 25, 0, 0, -128, 127, 0), 13, 5,
                ok) != NULL, "output wider than 2^24");
    /* a stride beyond the input only leaves one output */
    CHECK(infer(&dv_info_QCONV2D, QC(MAX32, MAX32, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0), 13, 5,
                ok) == NULL, "stride MAX32 accepted");
    const int32_t *base = QC(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0);
    dv_shape bad[5];
#define WITH(i, s) (memcpy(bad, ok, sizeof ok), bad[i] = (s), bad)
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(0, shape3(5, 5, 4))) != NULL, "3-D data");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(0, shape4(1, 5, 5, 0))) != NULL,
          "zero channels");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(1, shape3(6, 3, 3))) != NULL, "3-D filter");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(1, shape4(6, 3, 3, 3))) != NULL,
          "filter depth not dividing the channels");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(1, shape4(5, 3, 3, 2))) != NULL,
          "groups not dividing the filters");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(1, shape4(6, 3, 3, 4))) == NULL,
          "one group accepted");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(2, shape1(5))) != NULL, "short bias");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(3, shape1(7))) != NULL, "long multiplier");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 5, WITH(4, shape2(1, 6))) != NULL, "2-D shift");
    CHECK(infer(&dv_info_QCONV2D, base, 13, 4, ok) != NULL, "four inputs");
    dv_attrs at = {base, 13};
    dv_shape out[2];
    CHECK(dv_info_QCONV2D.infer(&at, 5, ok, 2, out) != NULL, "two outputs");
}

/* ---- QDEPTHWISE_CONV2D ------------------------------------------------------------------- */

static void test_qdepthwise_conv2d(void)
{
    int32_t a[14];
    /* 2x2 input, channels c0 = [[1,2],[3,4]], c1 = [[10,20],[30,40]], input_offset -2:
     * c0 -> -1 0 1 2, c1 -> 8 18 28 38. depth_multiplier 2, 2x2 filter, VALID: one pixel,
     * output channels o = c*2 + m; filter taps t = (0,0) (0,1) (1,0) (1,1):
     *   o0 (c0) [1,1,1,1]  -> -1+0+1+2 = 2      bias 1 -> 3,   M 1   -> 3
     *   o1 (c0) [1,0,0,-1] -> -1-2 = -3        bias 2 -> -1,  M 1   -> -1
     *   o2 (c1) [1,1,1,1]  -> 92               bias 3 -> 95,  M 0.5 -> 47.5 -> 48
     *   o3 (c1) [0,1,0,0]  -> 18               bias 4 -> 22,  M 2   -> 44
     * output_offset -1: 2, -2, 47, 43. */
    int32_t x[8] = {1, 10, 2, 20, 3, 30, 4, 40};
    int32_t f[16] = {1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, -1, 1, 0};
    int32_t bias[4] = {1, 2, 3, 4}, mult[4] = {Q30, Q30, Q30, Q30}, shift[4] = {1, 1, 0, 2};
    dv_tensor in[5] = {{x, shape4(1, 2, 2, 2)}, {f, shape4(1, 2, 2, 4)}, {bias, shape1(4)},
                       {mult, shape1(4)}, {shift, shape1(4)}};
    const int32_t want[4] = {2, -2, 47, 43};
    check_op(&dv_info_QDEPTHWISE_CONV2D,
             conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, -2, -1, -128, 127, 0, 2), 14, 5, in,
             shape4(1, 1, 1, 4), want, "qdepthwise multiplier 2");

    /* x = 1..9 on 3x3, 3x3 ones, SAME stride 1 (pad 1 all round): neighbourhood sums
     *   12 21 16 / 27 45 33 / 24 39 28, times M = 0.25 (shift -1). Double rounding,
     * floor((floor((v+1)/2)+1)/2) for v > 0: 3 6 4 / 7 12 9 / 6 10 7; single rounding,
     * floor((v+2)/4): 3 5 4 / 7 11 8 / 6 10 7 (5.25, 11.25 and 8.25 differ). */
    int32_t x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    int32_t zero[1] = {0}, m[1] = {Q30}, s[1] = {-1};
    dv_tensor same[5] = {{x9, shape4(1, 3, 3, 1)}, {ones, shape4(1, 3, 3, 1)}, {zero, shape1(1)},
                         {m, shape1(1)}, {s, shape1(1)}};
    const int32_t want_double[9] = {3, 6, 4, 7, 12, 9, 6, 10, 7};
    const int32_t want_single[9] = {3, 5, 4, 7, 11, 8, 6, 10, 7};
    check_op(&dv_info_QDEPTHWISE_CONV2D,
             conv_attrs(a, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, -128, 127, 0, 1), 14, 5, same,
             shape4(1, 3, 3, 1), want_double, "qdepthwise SAME double rounding");
    check_op(&dv_info_QDEPTHWISE_CONV2D,
             conv_attrs(a, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, -128, 127, 1, 1), 14, 5, same,
             shape4(1, 3, 3, 1), want_single, "qdepthwise SAME single rounding");

    /* infer */
    dv_shape ok[5] = {shape4(1, 4, 4, 3), shape4(1, 3, 3, 6), shape1(6), shape1(6), shape1(6)};
    dv_shape bad[5];
    const int32_t *base = conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, 2);
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D, base, 14, 5, ok) == NULL, "baseline");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D, base, 13, 5, ok) != NULL, "13 attributes");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D,
                conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, 0), 14, 5, ok) != NULL,
          "depth_multiplier 0");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D,
                conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, 3), 14, 5, ok) != NULL,
          "depth_multiplier disagreeing with the filter");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D,
                conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, MAX32), 14, 5, ok) !=
          NULL, "depth_multiplier MAX32");
    base = conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, -128, 127, 0, 2);
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D, base, 14, 5, WITH(1, shape4(2, 3, 3, 6))) != NULL,
          "filter first dimension 2");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D, base, 14, 5, WITH(2, shape1(3))) != NULL,
          "bias per input channel");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D, base, 14, 5, WITH(1, shape4(1, 5, 3, 6))) != NULL,
          "filter taller than the input");
    CHECK(infer(&dv_info_QDEPTHWISE_CONV2D,
                conv_attrs(a, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, -128, 127, 3, 2), 14, 5, ok) != NULL,
          "rounding 3");
}

/* ---- QFULLY_CONNECTED -------------------------------------------------------------------- */

static void test_qfully_connected(void)
{
    /* Rows [1,2,3] and [-1,0,1], input_offset 1 -> [2,3,4], [0,1,2]. Weights [1,1,1] and
     * [2,0,-1] with filter_offset -1 -> [0,0,0], [1,-1,-2]:
     *   row 0: o0 0, o1 2-3-8 = -9;   row 1: o0 0, o1 0-1-4 = -5
     * bias [5, 1]: 5, -8 / 5, -4. o0 M = 3 (multiplier 3 * 2^29, shift 2): MBQM(5) = 15;
     * o1 M = 1. output_offset 10: 25, 2 / 25, 6. The data's shape does not matter, only
     * its size (6 = 2 rows of 3). */
    int32_t x[6] = {1, 2, 3, -1, 0, 1}, w[6] = {1, 1, 1, 2, 0, -1}, bias[2] = {5, 1};
    int32_t mult[2] = {3 << 29, Q30}, shift[2] = {2, 1};
    dv_tensor in[5] = {{x, shape3(3, 1, 2)}, {w, shape2(2, 3)}, {bias, shape1(2)},
                       {mult, shape1(2)}, {shift, shape1(2)}};
    const int32_t fc[6] = {1, -1, 10, -128, 127, 0};
    const int32_t want[4] = {25, 2, 25, 6};
    check_op(&dv_info_QFULLY_CONNECTED, fc, 6, 5, in, shape2(2, 2), want, "qfc offsets");
    /* act [0, 20] clamps the 25s */
    const int32_t fc_clamp[6] = {1, -1, 10, 0, 20, 0};
    const int32_t want_clamp[4] = {20, 2, 20, 6};
    check_op(&dv_info_QFULLY_CONNECTED, fc_clamp, 6, 5, in, shape2(2, 2), want_clamp,
             "qfc clamp");

    /* Wrapping: (MIN32 + filter_offset -1) wraps to MAX32; times (1 + input_offset 0) gives
     * MAX32; + bias 1 wraps to MIN32; M = 0.5 halves it; the clamp gives -128. */
    int32_t xw[1] = {1}, ww[1] = {MIN32}, bw[1] = {1}, mw[1] = {Q30}, sw[1] = {0};
    dv_tensor wrap[5] = {{xw, shape1(1)}, {ww, shape2(1, 1)}, {bw, shape1(1)}, {mw, shape1(1)},
                         {sw, shape1(1)}};
    const int32_t fc_wrap[6] = {0, -1, 0, -128, 127, 0};
    const int32_t want_wrap[1] = {-128};
    check_op(&dv_info_QFULLY_CONNECTED, fc_wrap, 6, 5, wrap, shape2(1, 1), want_wrap, "qfc wraps");

    dv_shape ok[5] = {shape2(4, 6), shape2(3, 6), shape1(3), shape1(3), shape1(3)};
    dv_shape bad[5];
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 6, 5, ok) == NULL, "baseline");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 5, 5, ok) != NULL, "5 attributes");
    const int32_t bad_round[6] = {0, 0, 0, -128, 127, 7}, bad_act[6] = {0, 0, 0, 10, 9, 0};
    CHECK(infer(&dv_info_QFULLY_CONNECTED, bad_round, 6, 5, ok) != NULL, "rounding 7");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, bad_act, 6, 5, ok) != NULL, "act_min > act_max");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 6, 5, WITH(0, shape2(5, 5))) != NULL,
          "size not a multiple of the depth");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 6, 5, WITH(0, shape1(12))) == NULL,
          "1-D data of two rows");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 6, 5, WITH(1, shape3(3, 2, 3))) != NULL,
          "3-D weights");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 6, 5, WITH(3, shape1(2))) != NULL,
          "short multiplier");
    CHECK(infer(&dv_info_QFULLY_CONNECTED, fc, 6, 5, WITH(2, shape1(4))) != NULL, "long bias");
}

/* ---- pooling ----------------------------------------------------------------------------- */

static void test_qpool(void)
{
    int32_t a[10];
    /* Ties, 2x2 windows on a 2x2 input (VALID, count 4), one case per channel:
     *   sums 2, -2, 6, -6, 1, -1, 3:  (2+2)/4 = 1, (-2-2)/4 = -1, (6+2)/4 = 2,
     *   (-6-2)/4 = -2, (1+2)/4 = 0, (-1-2)/4 = 0, (3+2)/4 = 1
     * i.e. 0.5 -> 1, -0.5 -> -1, 1.5 -> 2, -1.5 -> -2 (ties away from zero),
     * 0.25 -> 0, -0.25 -> 0, 0.75 -> 1. */
    int32_t x_ties[28] = {1, -1, 3, -3, 1, -1, 3, /* pixel (0,0) */
                          1, -1, 3, -3, 0, 0, 0,  /* (0,1) */
                          0, 0, 0, 0, 0, 0, 0,    /* (1,0) */
                          0, 0, 0, 0, 0, 0, 0};   /* (1,1) */
    dv_tensor ties[1] = {{x_ties, shape4(1, 2, 2, 7)}};
    const int32_t want_ties[7] = {1, -1, 2, -2, 0, 0, 1};
    check_op(&dv_info_QAVG_POOL2D, pool_attrs(a, 2, 2, 1, 1, 0, 0, 0, 0, -128, 127), 10, 1, ties,
             shape4(1, 1, 1, 7), want_ties, "qavg_pool ties");

    /* x = 1..9 on 3x3, 2x2 windows, stride 2, TFLite SAME: out 2, total padding 1, all of
     * it at the bottom/right. Windows: {1,2,4,5} = 12/4 = 3; {3,6} = 9/2 = 4.5 -> 5;
     * {7,8} = 15/2 = 7.5 -> 8; {9} = 9. act_max 7: 3 5 7 7. Negated input: -3 -5 -8 -9,
     * act_min -6: -3 -5 -6 -6. The padding does not count. */
    int32_t x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, xn[9];
    for (int i = 0; i < 9; i++)
        xn[i] = -x9[i];
    dv_tensor pos[1] = {{x9, shape4(1, 3, 3, 1)}}, neg[1] = {{xn, shape4(1, 3, 3, 1)}};
    const int32_t want_pos[4] = {3, 5, 7, 7}, want_neg[4] = {-3, -5, -6, -6};
    check_op(&dv_info_QAVG_POOL2D, pool_attrs(a, 2, 2, 2, 2, 0, 0, 1, 1, -128, 7), 10, 1, pos,
             shape4(1, 2, 2, 1), want_pos, "qavg_pool SAME edges");
    check_op(&dv_info_QAVG_POOL2D, pool_attrs(a, 2, 2, 2, 2, 0, 0, 1, 1, -6, 127), 10, 1, neg,
             shape4(1, 2, 2, 1), want_neg, "qavg_pool SAME edges negative");

    /* Max of the same windows: 5 6 8 9; negated: -1 -3 -7 -9, act_min -8 -> -8 (the padding
     * never wins, or -9 would read 0). */
    const int32_t want_max[4] = {5, 6, 8, 9}, want_max_neg[4] = {-1, -3, -7, -8};
    check_op(&dv_info_QMAX_POOL2D, pool_attrs(a, 2, 2, 2, 2, 0, 0, 1, 1, -128, 127), 10, 1, pos,
             shape4(1, 2, 2, 1), want_max, "qmax_pool SAME");
    check_op(&dv_info_QMAX_POOL2D, pool_attrs(a, 2, 2, 2, 2, 0, 0, 1, 1, -8, 127), 10, 1, neg,
             shape4(1, 2, 2, 1), want_max_neg, "qmax_pool SAME negative");

    /* 3x3 windows with padding 1 all round, stride 1, on a 1x2 input [4, -7] with two
     * channels (second [100, 101]): each window sees both columns: (4-7)/2 = -1.5 -> -2,
     * (100+101)/2 = 100.5 -> 101 (clamped by act_max 100 -> 100); max 4 and 101 -> 100. */
    int32_t x2[4] = {4, 100, -7, 101};
    dv_tensor two[1] = {{x2, shape4(1, 1, 2, 2)}};
    const int32_t want_avg2[4] = {-2, 100, -2, 100}, want_max2[4] = {4, 100, 4, 100};
    check_op(&dv_info_QAVG_POOL2D, pool_attrs(a, 3, 3, 1, 1, 1, 1, 1, 1, -128, 100), 10, 1, two,
             shape4(1, 1, 2, 2), want_avg2, "qavg_pool padded both sides");
    check_op(&dv_info_QMAX_POOL2D, pool_attrs(a, 3, 3, 1, 1, 1, 1, 1, 1, -128, 100), 10, 1, two,
             shape4(1, 1, 2, 2), want_max2, "qmax_pool padded both sides");

    /* Wrapping sum: MAX32 + 1 wraps to MIN32, / 2 -> -2^30 clamps to -128. */
    int32_t xw[2] = {MAX32, 1};
    dv_tensor wrap[1] = {{xw, shape4(1, 1, 2, 1)}};
    const int32_t want_wrap[1] = {-128};
    check_op(&dv_info_QAVG_POOL2D, pool_attrs(a, 1, 2, 1, 1, 0, 0, 0, 0, -128, 127), 10, 1, wrap,
             shape4(1, 1, 1, 1), want_wrap, "qavg_pool wraps");

    /* infer */
    dv_shape x = shape4(1, 4, 4, 3);
    const dv_op_info *pools[2] = {&dv_info_QAVG_POOL2D, &dv_info_QMAX_POOL2D};
    for (int p = 0; p < 2; p++) {
        const dv_op_info *op = pools[p];
        CHECK(infer(op, pool_attrs(a, 2, 2, 2, 2, 0, 0, 0, 0, -128, 127), 10, 1, &x) == NULL,
              "baseline");
        CHECK(infer(op, a, 9, 1, &x) != NULL, "9 attributes");
        CHECK(infer(op, pool_attrs(a, 0, 2, 2, 2, 0, 0, 0, 0, -128, 127), 10, 1, &x) != NULL,
              "filter 0");
        CHECK(infer(op, pool_attrs(a, 2, 2, 0, 2, 0, 0, 0, 0, -128, 127), 10, 1, &x) != NULL,
              "stride 0");
        CHECK(infer(op, pool_attrs(a, 2, 2, 2, 2, 0, -1, 0, 0, -128, 127), 10, 1, &x) != NULL,
              "negative pad");
        CHECK(infer(op, pool_attrs(a, 5, 2, 2, 2, 0, 0, 0, 0, -128, 127), 10, 1, &x) != NULL,
              "filter taller than the input");
        CHECK(infer(op, pool_attrs(a, 2, 2, 2, 2, 2, 0, 0, 0, -128, 127), 10, 1, &x) != NULL,
              "first window wholly in the top padding");
        /* H 4, filter 2, stride 2, pad_bottom 2: out 3, the last window starts at 4 */
        CHECK(infer(op, pool_attrs(a, 2, 2, 2, 2, 0, 0, 2, 0, -128, 127), 10, 1, &x) != NULL,
              "last window wholly in the bottom padding");
        /* filter 2, stride 3, pad_bottom 1: out (5-2)/3+1 = 2, the last window rows 3, 4 */
        CHECK(infer(op, pool_attrs(a, 2, 2, 3, 2, 0, 0, 1, 0, -128, 127), 10, 1, &x) == NULL,
              "last window half in the padding");
        CHECK(infer(op, pool_attrs(a, 2, 2, 2, 2, 0, 0, 0, 0, 0, -1), 10, 1, &x) != NULL,
              "act_min > act_max");
        CHECK(infer(op, pool_attrs(a, 2, 2, MAX32, MAX32, 1, 1, MAX32, MAX32, -128, 127), 10, 1,
                    &x) != NULL, "hostile padding leaves windows in the padding");
        dv_shape x3 = shape3(4, 4, 3);
        CHECK(infer(op, pool_attrs(a, 2, 2, 2, 2, 0, 0, 0, 0, -128, 127), 10, 1, &x3) != NULL,
              "3-D input");
    }
}

/* ---- QMEAN ------------------------------------------------------------------------------- */

static const int32_t *mean_attrs(int32_t *a, int32_t mask, int32_t keep, int32_t in_zp,
                                 int32_t out_zp, int32_t mult, int32_t shift, int32_t rounding)
{
    const int32_t v[7] = {mask, keep, in_zp, out_zp, mult, shift, rounding};
    memcpy(a, v, sizeof v);
    return a;
}

static void test_qmean(void)
{
    int32_t a[7];
    /* Axes 1, 2 of 1x2x2x2 with M = 1 (2^30, shift 1). count 4: e = floor(log2 4) = 2,
     * m = (2^30 << 2) / 4 = 2^30, shift 1 - 2 = -1: y = sum / 4 in double rounding.
     * c0 [1,2,3,4] = 10: SRDHM(10, 2^30) = 5, 5/2 -> 3 (2.5 away from zero).
     * c1 [-1,-2,-3,-4] = -10: SRDHM = -5.5 -> -5 (gemmlowp's nudge), -5/2 -> -3.
     * With input zero point 2 and output zero point -1: c0 10 - 8 = 2 -> 0.5 -> 1, -1 = 0;
     * c1 -10 - 8 = -18 -> -4.5: SRDHM(-18) = -9, -9/2 -> -5, -1 = -6. */
    int32_t x[8] = {1, -1, 2, -2, 3, -3, 4, -4};
    dv_tensor in[1] = {{x, shape4(1, 2, 2, 2)}};
    const int32_t want[2] = {3, -3}, want_zp[2] = {0, -6};
    check_op(&dv_info_QMEAN, mean_attrs(a, 6, 1, 0, 0, Q30, 1, 0), 7, 1, in, shape4(1, 1, 1, 2),
             want, "qmean axes 1 2 keep_dims");
    check_op(&dv_info_QMEAN, mean_attrs(a, 6, 1, 2, -1, Q30, 1, 0), 7, 1, in, shape4(1, 1, 1, 2),
             want_zp, "qmean zero points");
    check_op(&dv_info_QMEAN, mean_attrs(a, 6, 0, 0, 0, Q30, 1, 0), 7, 1, in, shape2(1, 2), want,
             "qmean without keep_dims");

    /* count 3 (not a power of two): e = 1, m = (2^30 << 1) / 3 = 715827882, shift 0.
     * [1,1,0]: SRDHM(2, 715827882) = 1.17 -> 1 (0.67 -> 1); [1,0,0]: 0.83 -> 0. All axes
     * without keep_dims leave (1). */
    int32_t x3a[3] = {1, 1, 0}, x3b[3] = {1, 0, 0};
    dv_tensor in3a[1] = {{x3a, shape1(3)}}, in3b[1] = {{x3b, shape1(3)}};
    const int32_t one[1] = {1}, zero[1] = {0};
    check_op(&dv_info_QMEAN, mean_attrs(a, 1, 0, 0, 0, Q30, 1, 0), 7, 1, in3a, shape1(1), one,
             "qmean count 3 rounds up");
    check_op(&dv_info_QMEAN, mean_attrs(a, 1, 0, 0, 0, Q30, 1, 0), 7, 1, in3b, shape1(1), zero,
             "qmean count 3 rounds down");

    /* The middle axis of 2x3x2, x[i][j][k] = 100i + 10j + k: the mean over j is
     * 100i + 10 + k; sums 30, 33, 330, 333 times 715827882 / 2^31 give 10.49.., 11.49..,
     * 110.49.., 111.49.. -> 10 11 110 111 (clamped to 127). Output (2,2) or (2,1,2). */
    int32_t x12[12];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                x12[(i * 3 + j) * 2 + k] = 100 * i + 10 * j + k;
    dv_tensor in12[1] = {{x12, shape3(2, 3, 2)}};
    const int32_t want12[4] = {10, 11, 110, 111};
    check_op(&dv_info_QMEAN, mean_attrs(a, 2, 0, 0, 0, Q30, 1, 0), 7, 1, in12, shape2(2, 2),
             want12, "qmean middle axis");
    check_op(&dv_info_QMEAN, mean_attrs(a, 2, 1, 0, 0, Q30, 1, 0), 7, 1, in12, shape3(2, 1, 2),
             want12, "qmean middle axis keep_dims");

    /* No axis: count 1, e = 0, y = MBQM(x - zp) + zp'. M = 2 (2^30, shift 2): 5 -> 10,
     * -7 -> -14, 100 -> 200 clamps to 127. */
    int32_t x_id[3] = {5, -7, 100};
    dv_tensor id[1] = {{x_id, shape1(3)}};
    const int32_t want_id[3] = {10, -14, 127};
    check_op(&dv_info_QMEAN, mean_attrs(a, 0, 1, 0, 0, Q30, 2, 0), 7, 1, id, shape1(3), want_id,
             "qmean no axis");

    /* e limited by 31 + shift: shift -30 and count 4 give e = min(2, 1) = 1,
     * m = (2^30 << 1) / 4 = 2^29, shift -31: SRDHM(508, 2^29) = 127, 127 / 2^31 -> 0. */
    int32_t x_small[4] = {127, 127, 127, 127};
    dv_tensor small[1] = {{x_small, shape1(4)}};
    check_op(&dv_info_QMEAN, mean_attrs(a, 1, 0, 0, 0, Q30, -30, 0), 7, 1, small, shape1(1),
             zero, "qmean shift clamp");

    /* Wrapping: the sum MAX32 + 1 wraps to MIN32; M = 1, count 2: e = 1, m = 2^30, shift 0:
     * MIN32 / 2 = -2^30 clamps to -128. With hostile zero points: MIN32 - MIN32 * 2 wraps to
     * MIN32, halved -2^30, plus output zero point MAX32 gives 2^30 - 1, clamped to 127. */
    int32_t xw[2] = {MAX32, 1};
    dv_tensor wrap[1] = {{xw, shape1(2)}};
    const int32_t want_wrap[1] = {-128};
    check_op(&dv_info_QMEAN, mean_attrs(a, 1, 0, 0, 0, Q30, 1, 0), 7, 1, wrap, shape1(1),
             want_wrap, "qmean wraps");
    const int32_t want_zp_wrap[1] = {127};
    check_op(&dv_info_QMEAN, mean_attrs(a, 1, 0, MIN32, MAX32, Q30, 1, 0), 7, 1, wrap,
             shape1(1), want_zp_wrap, "qmean hostile zero points");

    /* infer */
    dv_shape s = shape4(1, 2, 2, 2);
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 15, 0, 0, 0, Q30, 1, 0), 7, 1, &s) == NULL,
          "all four axes");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 16, 0, 0, 0, Q30, 1, 0), 7, 1, &s) != NULL,
          "axis 4 of a 4-D input");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, -1, 0, 0, 0, Q30, 1, 0), 7, 1, &s) != NULL,
          "negative mask");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 6, 2, 0, 0, Q30, 1, 0), 7, 1, &s) != NULL,
          "keep_dims 2");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 6, 1, 0, 0, -1, 1, 0), 7, 1, &s) != NULL,
          "negative multiplier");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 6, 1, 0, 0, Q30, 31, 0), 7, 1, &s) != NULL,
          "shift 31");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 6, 1, 0, 0, Q30, -32, 0), 7, 1, &s) != NULL,
          "shift -32");
    CHECK(infer(&dv_info_QMEAN, mean_attrs(a, 6, 1, 0, 0, Q30, 1, -1), 7, 1, &s) != NULL,
          "rounding -1");
    CHECK(infer(&dv_info_QMEAN, a, 6, 1, &s) != NULL, "6 attributes");
}

/* ---- differential checks ------------------------------------------------------------------ */

/* A 1x1 convolution over (N, H, W, D) is a fully connected layer over N*H*W rows of D. */
static void test_conv_against_fully_connected(void)
{
    enum { ROWS = 12, DEPTH = 7, UNITS = 5 };
    int32_t x[ROWS * DEPTH], w[UNITS * DEPTH], bias[UNITS], mult[UNITS], shift[UNITS];
    int32_t y_conv[ROWS * UNITS], y_fc[ROWS * UNITS];
    lcg_state = 99;
    fill(x, ROWS * DEPTH, -128, 127);
    fill(w, UNITS * DEPTH, -127, 127);
    fill(bias, UNITS, -5000, 5000);
    const double real[UNITS] = {0.003, 0.0011, 0.0052, 0.0007, 0.0021};
    for (int32_t rounding = 0; rounding <= 1; rounding++) {
        quantize_all(real, UNITS, rounding, mult, shift);
        int32_t a[14];
        dv_attrs conv = {conv_attrs(a, 1, 1, 1, 1, 0, 0, 0, 0, 17, -3, -100, 90, rounding, 0),
                         13};
        const int32_t fc_values[6] = {17, 0, -3, -100, 90, rounding};
        dv_attrs fc = {fc_values, 6};
        dv_tensor in_conv[5] = {{x, shape4(2, 2, 3, DEPTH)}, {w, shape4(UNITS, 1, 1, DEPTH)},
                                {bias, shape1(UNITS)}, {mult, shape1(UNITS)},
                                {shift, shape1(UNITS)}};
        dv_tensor in_fc[5] = {{x, shape2(ROWS, DEPTH)}, {w, shape2(UNITS, DEPTH)},
                              {bias, shape1(UNITS)}, {mult, shape1(UNITS)},
                              {shift, shape1(UNITS)}};
        dv_tensor out_conv = {y_conv, shape4(2, 2, 3, UNITS)}, out_fc = {y_fc, shape2(ROWS, UNITS)};
        dv_info_QCONV2D.run(&conv, 5, in_conv, 1, &out_conv, NULL);
        dv_info_QFULLY_CONNECTED.run(&fc, 5, in_fc, 1, &out_fc, NULL);
        CHECK(memcmp(y_conv, y_fc, sizeof y_fc) == 0, "1x1 conv = fully connected (rounding %d)",
              rounding);
    }
}

/* A convolution with one group per input channel is a depthwise convolution: output channel
 * o = c * M + m reads channel c in both, with filter[o][ky][kx][0] = dw[0][ky][kx][o]. */
static void test_grouped_conv_against_depthwise(void)
{
    enum { C = 3, M = 2, O = C * M, K = 3, H = 6, W = 5 };
    int32_t x[H * W * C], dw[K * K * O], conv_filter[O * K * K], bias[O], mult[O], shift[O];
    int32_t y_conv[3 * 3 * O], y_dw[3 * 3 * O];
    lcg_state = 7;
    fill(x, H * W * C, -128, 127);
    fill(dw, K * K * O, -127, 127);
    fill(bias, O, -2000, 2000);
    for (int o = 0; o < O; o++)
        for (int t = 0; t < K * K; t++)
            conv_filter[o * K * K + t] = dw[t * O + o];
    const double real[O] = {0.004, 0.0009, 0.0031, 0.0017, 0.0022, 0.0063};
    quantize_all(real, O, 0, mult, shift);
    int32_t a[14];
    /* stride 2, dilation (1, 2), SAME-like padding: H out (6+1+1-3)/2+1 = 3, W dilated 5,
     * out (5+2+2-5)/2+1 = 3 */
    conv_attrs(a, 2, 2, 1, 2, 1, 2, 1, 2, -4, 6, -128, 127, 0, M);
    dv_attrs conv = {a, 13}, depthwise = {a, 14};
    dv_tensor in_conv[5] = {{x, shape4(1, H, W, C)}, {conv_filter, shape4(O, K, K, 1)},
                            {bias, shape1(O)}, {mult, shape1(O)}, {shift, shape1(O)}};
    dv_tensor in_dw[5] = {{x, shape4(1, H, W, C)}, {dw, shape4(1, K, K, O)}, {bias, shape1(O)},
                          {mult, shape1(O)}, {shift, shape1(O)}};
    dv_shape shapes[5], out_shape;
    for (int i = 0; i < 5; i++)
        shapes[i] = in_conv[i].shape;
    CHECK(dv_info_QCONV2D.infer(&conv, 5, shapes, 1, &out_shape) == NULL &&
          out_shape.dim[1] == 3 && out_shape.dim[2] == 3, "grouped conv geometry");
    dv_tensor out_conv = {y_conv, shape4(1, 3, 3, O)}, out_dw = {y_dw, shape4(1, 3, 3, O)};
    dv_info_QCONV2D.run(&conv, 5, in_conv, 1, &out_conv, NULL);
    dv_info_QDEPTHWISE_CONV2D.run(&depthwise, 5, in_dw, 1, &out_dw, NULL);
    CHECK(memcmp(y_conv, y_dw, sizeof y_dw) == 0, "grouped conv = depthwise");
}

/* ---- TFLite Micro's reference kernels ------------------------------------------------------
 *
 * Outputs of TFLite Micro's reference_integer_ops (and reference_ops::QuantizedMeanOrSum) at
 * commit 90b983c, built with double rounding and again with TFLITE_SINGLE_ROUNDING, for the
 * inputs lcg() draws from the seeds below and the multipliers QuantizeMultiplier gives for the
 * listed real values. Conv, depthwise and fully connected give the same bytes under both
 * roundings for these inputs; the mean differs in one element. */
static const int32_t tflm_conv[72] = {
    -6, -12, -2, -17, -14, 8, -11, -19, -7, -19, -7, -16, -10, 21, -8, -17,
    -6, -16, -3, 4, -6, 0, -7, -11, -7, -32, 1, 16, -5, 30, -13, -6,
    -8, -19, 1, 15, 5, -25, -10, 2, -8, -58, 2, 5, -5, -28, -15, -6,
    -8, -14, -10, -15, -5, 17, -8, -43, -3, 10, -12, 3, -11, -12, -14, -18,
    -18, -42, -10, 10, -11, -18, -8, -23};
static const int32_t tflm_depthwise[96] = {
    17, 13, -15, 16, -9, -2, 10, 29, -5, 11, -10, 2, -16, 15, 60, -3,
    42, -9, -19, -4, -30, 17, -17, 17, -14, 0, 23, 2, 7, 20, -15, -33,
    43, 10, -8, 1, 11, 26, 43, 4, 46, 7, 6, 15, -1, 11, 20, 6,
    11, -5, 7, 7, 13, -5, -17, 32, 67, 1, -7, 26, -15, -44, -43, 19,
    1, -28, 16, 32, 20, 0, 12, 16, -23, -2, -8, 10, 27, 16, 10, 0,
    18, 4, -23, -3, 1, 27, -31, 3, -9, 14, -7, -14, 25, 5, -4, -3};
static const int32_t tflm_fc[15] = {-17, -22, -4, -6, -25, -10, -9, -14, -21, 6, -19, -1, -30,
                                    -14, -3};
static const int32_t tflm_mean_double[6] = {-13, 5, 1, -5, -31, 17};
static const int32_t tflm_mean_single[6] = {-13, 5, 1, -4, -31, 17};
static const int32_t tflm_avg_pool[27] = {75, -38, 73, 18, -83, 40, 44, 9, 36, 21, -13, 51, 14,
                                          -30, -15, 16, 8, -12, -19, -40, 62, -40, -15, -5, 9,
                                          -2, -15};

static void test_against_tflite_micro(void)
{
    int32_t a[14];
    for (int32_t rounding = 0; rounding <= 1; rounding++) {
        /* conv: 1x5x6x4 data, 4 filters 3x2 of depth 2 (2 groups), stride (2,1), dilation
         * (1,2), padding 1 all round, input_offset 5, output_offset -7, act [-100, 110] */
        int32_t x[120], f[48], bias[4], mult[6], shift[6];
        lcg_state = 1;
        fill(x, 120, -128, 127);
        fill(f, 48, -127, 127);
        fill(bias, 4, -3000, 3000);
        const double conv_real[4] = {0.00031, 0.00123, 0.00047, 0.0009};
        quantize_all(conv_real, 4, rounding, mult, shift);
        dv_tensor conv[5] = {{x, shape4(1, 5, 6, 4)}, {f, shape4(4, 3, 2, 2)}, {bias, shape1(4)},
                             {mult, shape1(4)}, {shift, shape1(4)}};
        check_op(&dv_info_QCONV2D, conv_attrs(a, 2, 1, 1, 2, 1, 1, 1, 1, 5, -7, -100, 110,
                                              rounding, 0),
                 13, 5, conv, shape4(1, 3, 6, 4), tflm_conv, "TFLite Micro conv");

        /* depthwise: 1x4x4x3, multiplier 2, 3x3, stride 1, padding 1, offsets -3 and 4 */
        int32_t xd[48], fd[54], bd[6];
        lcg_state = 2;
        fill(xd, 48, -128, 127);
        fill(fd, 54, -127, 127);
        fill(bd, 6, -3000, 3000);
        const double dw_real[6] = {0.001, 0.0013, 0.0022, 0.00075, 0.0017, 0.0008};
        quantize_all(dw_real, 6, rounding, mult, shift);
        dv_tensor dw[5] = {{xd, shape4(1, 4, 4, 3)}, {fd, shape4(1, 3, 3, 6)}, {bd, shape1(6)},
                           {mult, shape1(6)}, {shift, shape1(6)}};
        check_op(&dv_info_QDEPTHWISE_CONV2D,
                 conv_attrs(a, 1, 1, 1, 1, 1, 1, 1, 1, -3, 4, -128, 127, rounding, 2), 14, 5, dw,
                 shape4(1, 4, 4, 6), tflm_depthwise, "TFLite Micro depthwise");

        /* fully connected, per tensor: 3 rows of 17, 5 units, input_offset 9, weights
         * offset -2, output_offset -11, M 0.00042 repeated */
        int32_t xf[51], wf[85], bf[5], mf[5], sf[5];
        lcg_state = 3;
        fill(xf, 51, -128, 127);
        fill(wf, 85, -127, 127);
        fill(bf, 5, -3000, 3000);
        const double fc_real[5] = {0.00042, 0.00042, 0.00042, 0.00042, 0.00042};
        quantize_all(fc_real, 5, rounding, mf, sf);
        dv_tensor fc[5] = {{xf, shape2(3, 17)}, {wf, shape2(5, 17)}, {bf, shape1(5)},
                           {mf, shape1(5)}, {sf, shape1(5)}};
        const int32_t fc_attrs[6] = {9, -2, -11, -128, 127, rounding};
        check_op(&dv_info_QFULLY_CONNECTED, fc_attrs, 6, 5, fc, shape2(3, 5), tflm_fc,
                 "TFLite Micro fully connected");

        /* mean: axes 1, 2 of 1x5x7x3 (keep dims), zero points 3 and -4, ratio 0.7; then
         * axes {0, -1, 2} = {0, 2} of 2x3x5 (no keep dims), zero points -6 and 8, ratio 1.3 */
        int32_t xm[105], xm2[30], m, s;
        lcg_state = 4;
        fill(xm, 105, -128, 127);
        fill(xm2, 30, -128, 127);
        const int32_t *want = rounding ? tflm_mean_single : tflm_mean_double;
        CHECK(tfl_quantize_multiplier(0.7, rounding, &m, &s) == 0);
        dv_tensor mean1[1] = {{xm, shape4(1, 5, 7, 3)}};
        check_op(&dv_info_QMEAN, mean_attrs(a, 6, 1, 3, -4, m, s, rounding), 7, 1, mean1,
                 shape4(1, 1, 1, 3), want, "TFLite Micro mean 4-D");
        CHECK(tfl_quantize_multiplier(1.3, rounding, &m, &s) == 0);
        dv_tensor mean2[1] = {{xm2, shape3(2, 3, 5)}};
        check_op(&dv_info_QMEAN, mean_attrs(a, 5, 0, -6, 8, m, s, rounding), 7, 1, mean2,
                 shape1(3), want + 3, "TFLite Micro mean 3-D");
    }
    /* average pool 3x3, stride 2, padding 1 (SAME) on 1x5x5x3 */
    int32_t xp[75];
    lcg_state = 5;
    fill(xp, 75, -128, 127);
    dv_tensor pool[1] = {{xp, shape4(1, 5, 5, 3)}};
    check_op(&dv_info_QAVG_POOL2D, pool_attrs(a, 3, 3, 2, 2, 1, 1, 1, 1, -128, 127), 10, 1, pool,
             shape4(1, 3, 3, 3), tflm_avg_pool, "TFLite Micro average pool");
}

/* ---- the importers, through a mock import context ----------------------------------------- */

#define MOCK_TENSORS 32
#define MOCK_INSTRS 4

struct tfl_import {
    const tfl_model *model;
    int32_t rounding;
    uint32_t n_ir;
    dv_shape shape[MOCK_TENSORS];
    int32_t *data[MOCK_TENSORS];     /* constants; activations once mock_run allocates them */
    uint32_t ir_of[MOCK_TENSORS];    /* per TFLite tensor: IR tensor + 1, or 0 */
    uint32_t n_instr;
    struct {
        uint32_t opcode, n_in, in[5], out;
        int32_t attrs[16];
        uint32_t n_attrs;
    } instr[MOCK_INSTRS];
    char message[256];
};

const tfl_tensor *tfl_input(const tfl_import *ctx, const tfl_operator *op, uint32_t i)
{
    if (i >= op->n_inputs || op->inputs[i] < 0)
        return NULL;
    return &ctx->model->tensors[op->inputs[i]];
}

const tfl_tensor *tfl_output(const tfl_import *ctx, const tfl_operator *op, uint32_t i)
{
    return i < op->n_outputs ? &ctx->model->tensors[op->outputs[i]] : NULL;
}

int32_t tfl_rounding(const tfl_import *ctx)
{
    return ctx->rounding;
}

/* The mock imports operators one by one: no PAD is ever folded (loader/tflite.h). */
int tfl_folded_pad(const tfl_import *ctx, const tfl_operator *op, int32_t *source,
                   int32_t pads[4])
{
    return 0;
}

detvm_status tfl_fail(const tfl_import *ctx, const tfl_operator *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(((tfl_import *)ctx)->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
    return DETVM_EINVALID;
}

static uint32_t mock_new(tfl_import *ctx, const dv_shape *shape)
{
    uint32_t id = ctx->n_ir++;
    ctx->shape[id] = *shape;
    ctx->data[id] = NULL;
    return id;
}

detvm_status tfl_value(tfl_import *ctx, int32_t tensor, uint32_t *ir_index, detvm_error *err)
{
    if (ctx->ir_of[tensor]) {
        *ir_index = ctx->ir_of[tensor] - 1;
        return DETVM_OK;
    }
    const tfl_tensor *t = &ctx->model->tensors[tensor];
    dv_shape shape = {t->ndim ? t->ndim : 1, {1}};
    for (uint32_t i = 0; i < t->ndim; i++)
        shape.dim[i] = (uint32_t)t->dim[i];
    uint32_t id = mock_new(ctx, &shape);
    if (t->data) {
        uint32_t n = (uint32_t)dv_shape_size(&shape);
        ctx->data[id] = malloc(n * sizeof(int32_t));
        for (uint32_t i = 0; i < n; i++)
            ctx->data[id][i] = t->type == TFL_INT8 ? (int8_t)t->data[i]
                                                   : (int32_t)((uint32_t)t->data[4 * i] |
                                                               (uint32_t)t->data[4 * i + 1] << 8 |
                                                               (uint32_t)t->data[4 * i + 2] << 16 |
                                                               (uint32_t)t->data[4 * i + 3] << 24);
    }
    ctx->ir_of[tensor] = id + 1;
    *ir_index = id;
    return DETVM_OK;
}

detvm_status tfl_constant(tfl_import *ctx, const dv_shape *shape, const int32_t *values,
                          uint32_t *ir_index, detvm_error *err)
{
    uint32_t id = mock_new(ctx, shape);
    size_t n = (size_t)dv_shape_size(shape);
    ctx->data[id] = malloc(n * sizeof(int32_t));
    memcpy(ctx->data[id], values, n * sizeof(int32_t));
    *ir_index = id;
    return DETVM_OK;
}

detvm_status tfl_temporary(tfl_import *ctx, const dv_shape *shape, uint32_t *ir_index,
                           detvm_error *err)
{
    *ir_index = mock_new(ctx, shape);
    return DETVM_OK;
}

/* As the real context: the op's infer must accept the operands and infer the output
 * tensor's shape. */
detvm_status tfl_emit(tfl_import *ctx, const tfl_operator *op, uint32_t opcode, uint32_t n_in,
                      const uint32_t *in, uint32_t n_out, const uint32_t *out,
                      const int32_t *attrs, uint32_t n_attrs, detvm_error *err)
{
    const dv_op_info *info = dv_op_lookup(opcode);
    dv_shape in_shapes[5], inferred;
    for (uint32_t i = 0; i < n_in; i++)
        in_shapes[i] = ctx->shape[in[i]];
    dv_attrs a = {attrs, n_attrs};
    const char *why = info->infer(&a, n_in, in_shapes, n_out, &inferred);
    if (why || !dv_shape_equal(&inferred, &ctx->shape[out[0]])) {
        snprintf(ctx->message, sizeof ctx->message, "emit: %s", why ? why : "shape differs");
        return DETVM_EINVALID;
    }
    if (ctx->n_instr == MOCK_INSTRS || n_attrs > 16)
        return DETVM_ERUNTIME;
    ctx->instr[ctx->n_instr].opcode = opcode;
    ctx->instr[ctx->n_instr].n_in = n_in;
    memcpy(ctx->instr[ctx->n_instr].in, in, n_in * sizeof *in);
    ctx->instr[ctx->n_instr].out = out[0];
    memcpy(ctx->instr[ctx->n_instr].attrs, attrs, n_attrs * sizeof *attrs);
    ctx->instr[ctx->n_instr].n_attrs = n_attrs;
    ctx->n_instr++;
    return DETVM_OK;
}

static void mock_free(tfl_import *ctx)
{
    for (uint32_t i = 0; i < ctx->n_ir; i++)
        free(ctx->data[i]);
    memset(ctx, 0, sizeof *ctx);
}

/* Runs the emitted instructions, the TFLite input tensor's IR tensor holding `x`; returns
 * the output tensor's IR data (owned by ctx). */
static const int32_t *mock_run(tfl_import *ctx, int32_t input_tensor, const int32_t *x,
                               int32_t output_tensor)
{
    for (uint32_t i = 0; i < ctx->n_ir; i++)
        if (!ctx->data[i])
            ctx->data[i] = calloc((size_t)dv_shape_size(&ctx->shape[i]), sizeof(int32_t));
    uint32_t xi = ctx->ir_of[input_tensor] - 1;
    memcpy(ctx->data[xi], x, (size_t)dv_shape_size(&ctx->shape[xi]) * sizeof(int32_t));
    for (uint32_t k = 0; k < ctx->n_instr; k++) {
        dv_tensor in[5], out;
        for (uint32_t i = 0; i < ctx->instr[k].n_in; i++) {
            in[i].data = ctx->data[ctx->instr[k].in[i]];
            in[i].shape = ctx->shape[ctx->instr[k].in[i]];
        }
        out.data = ctx->data[ctx->instr[k].out];
        out.shape = ctx->shape[ctx->instr[k].out];
        dv_attrs a = {ctx->instr[k].attrs, ctx->instr[k].n_attrs};
        dv_op_lookup(ctx->instr[k].opcode)->run(&a, ctx->instr[k].n_in, in, 1, &out, NULL);
    }
    return ctx->data[ctx->ir_of[output_tensor] - 1];
}

/* A one-operator model under construction: tensors are numbered as added. */
typedef struct {
    tfl_model model;
    tfl_tensor tensors[8];
    float scales[8][16];
    int64_t zero_points[8][16];
    uint8_t bytes[8][512];
    tfl_operator op;
    int32_t inputs[4], outputs[1];
} mock_model;

static void model_init(mock_model *m, int32_t builtin)
{
    memset(m, 0, sizeof *m);
    m->model.tensors = m->tensors;
    m->model.operators = &m->op;
    m->model.n_operators = 1;
    m->op.builtin = builtin;
    m->op.inputs = m->inputs;
    m->op.outputs = m->outputs;
    m->op.n_outputs = 1;
    tfl_options *o = &m->op.options;
    o->stride_w = o->stride_h = o->dilation_w = o->dilation_h = 1;
    o->filter_w = o->filter_h = o->depth_multiplier = 1;
    o->beta = 1.0f;
}

/* Adds a tensor (dims terminated by -1) quantized per tensor; returns its index. */
static int32_t add_tensor(mock_model *m, int32_t type, float scale, int64_t zero_point, ...)
{
    int32_t t = (int32_t)m->model.n_tensors++;
    tfl_tensor *tensor = &m->tensors[t];
    tensor->name = "";
    tensor->type = type;
    va_list ap;
    va_start(ap, zero_point);
    for (int32_t d; (d = va_arg(ap, int32_t)) >= 0;)
        tensor->dim[tensor->ndim++] = d;
    va_end(ap);
    tensor->scale = m->scales[t];
    tensor->zero_point = m->zero_points[t];
    if (scale > 0) {
        tensor->n_quant = 1;
        m->scales[t][0] = scale;
        m->zero_points[t][0] = zero_point;
    }
    return t;
}

static void set_channel_scales(mock_model *m, int32_t t, uint32_t n, const float *scales,
                               int32_t dimension)
{
    m->tensors[t].n_quant = n;
    m->tensors[t].quantized_dimension = dimension;
    memcpy(m->scales[t], scales, n * sizeof *scales);
}

static void set_int8_data(mock_model *m, int32_t t, const int8_t *v, size_t n)
{
    memcpy(m->bytes[t], v, n);
    m->tensors[t].data = m->bytes[t];
    m->tensors[t].data_len = n;
}

static void set_int32_data(mock_model *m, int32_t t, const int32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            m->bytes[t][4 * i + b] = (uint8_t)((uint32_t)v[i] >> (8 * b));
    m->tensors[t].data = m->bytes[t];
    m->tensors[t].data_len = 4 * n;
}

static void set_operands(mock_model *m, uint32_t n_in, const int32_t *in, int32_t out)
{
    m->op.n_inputs = n_in;
    memcpy(m->inputs, in, n_in * sizeof *in);
    m->outputs[0] = out;
}

static detvm_status import(tfl_import *ctx, mock_model *m, tfl_import_fn fn, int32_t rounding)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->model = &m->model;
    ctx->rounding = rounding;
    detvm_error err = {0};
    return fn(ctx, &m->op, &err);
}

static int message_has(const tfl_import *ctx, const char *what)
{
    return strstr(ctx->message, what) != NULL;
}

static void test_import_conv(void)
{
    mock_model m;
    tfl_import ctx;
    /* 1x5x5x2 input (scale 0.5, zp -3), two 3x3x2 filters per channel (scales 0.01, 0.04),
     * output scale 0.25 zp 7, stride 2 SAME, RELU6: out ceil(5/2) = 3, total padding
     * (3-1)*2+3-5 = 2 -> 1 each side. Multipliers 0.5*0.01/0.25 = 0.02 and 0.08:
     * QuantizeMultiplier(0.02) = (0.64 * 2^31 rounded, -5), (0.08) = (0.64 * 2^31, -3).
     * RELU6 on scale 0.25 zp 7: [7 + 0, 7 + 24] = [7, 31]. */
    model_init(&m, TFL_OP_CONV_2D);
    int32_t x = add_tensor(&m, TFL_INT8, 0.5f, -3, 1, 5, 5, 2, -1);
    int32_t f = add_tensor(&m, TFL_INT8, 0.01f, 0, 2, 3, 3, 2, -1);
    int32_t y = add_tensor(&m, TFL_INT8, 0.25f, 7, 1, 3, 3, 2, -1);
    const float filter_scales[2] = {0.01f, 0.04f};
    set_channel_scales(&m, f, 2, filter_scales, 0);
    int8_t weights[36];
    for (int i = 0; i < 36; i++)
        weights[i] = (int8_t)(i % 7 - 3);
    set_int8_data(&m, f, weights, 36);
    m.op.options.stride_h = m.op.options.stride_w = 2;
    m.op.options.padding = TFL_PAD_SAME;
    m.op.options.activation = TFL_ACT_RELU6;
    set_operands(&m, 2, (int32_t[]){x, f}, y);
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_OK, "conv import: %s", ctx.message);
    if (ctx.n_instr == 1) {
        const int32_t want[13] = {2, 2, 1, 1, 1, 1, 1, 1, 3, 7, 7, 31, 0};
        CHECK(ctx.instr[0].opcode == DV_OP_QCONV2D && ctx.instr[0].n_attrs == 13 &&
              memcmp(ctx.instr[0].attrs, want, sizeof want) == 0, "conv attributes");
        const int32_t *mult = ctx.data[ctx.instr[0].in[3]], *shift = ctx.data[ctx.instr[0].in[4]];
        const int32_t *bias = ctx.data[ctx.instr[0].in[2]];
        int32_t m0, s0, m1, s1;
        tfl_quantize_multiplier(0.5 * (double)0.01f / 0.25, 0, &m0, &s0);
        tfl_quantize_multiplier(0.5 * (double)0.04f / 0.25, 0, &m1, &s1);
        CHECK(mult[0] == m0 && shift[0] == s0 && mult[1] == m1 && shift[1] == s1 && s0 == -5 &&
              s1 == -3, "conv multipliers %d %d %d %d", mult[0], shift[0], mult[1], shift[1]);
        CHECK(bias[0] == 0 && bias[1] == 0, "conv without bias gets zeros");
    }
    mock_free(&ctx);

    /* Refusals. */
    m.zero_points[f][1] = 2;
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "zero point"), "non-zero filter zero point: %s", ctx.message);
    mock_free(&ctx);
    m.zero_points[f][1] = 0;
    m.tensors[x].type = TFL_INT16;
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "INT16"), "int16 input: %s", ctx.message);
    mock_free(&ctx);
    m.tensors[x].type = TFL_INT8;
    m.tensors[f].type = TFL_INT4;
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "INT4"), "int4 filter: %s", ctx.message);
    mock_free(&ctx);
    m.tensors[f].type = TFL_INT8;
    m.tensors[y].dim[1] = 2;
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "output"), "output shape: %s", ctx.message);
    mock_free(&ctx);
    m.tensors[y].dim[1] = 3;
    m.op.options.activation = TFL_ACT_TANH; /* TFLite leaves a fused TANH unclamped */
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_OK, "TANH activation: %s",
          ctx.message);
    mock_free(&ctx);
    m.op.options.activation = TFL_ACT_RELU6;
    m.op.options.stride_w = 0;
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "strides"), "stride 0: %s", ctx.message);
    mock_free(&ctx);
    m.op.options.stride_w = 2;
    set_channel_scales(&m, f, 3, (const float[]){0.1f, 0.1f, 0.1f}, 0);
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID, "3 scales for 2 channels");
    mock_free(&ctx);
    set_channel_scales(&m, f, 2, filter_scales, 0);
    int32_t float_bias = add_tensor(&m, TFL_FLOAT32, 0, 0, 2, -1);
    set_operands(&m, 3, (int32_t[]){x, f, float_bias}, y);
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "bias"), "float bias: %s", ctx.message);
    mock_free(&ctx);

    /* VALID and a bias; the output then (5-3)/2+1 = 2. */
    int32_t bias = add_tensor(&m, TFL_INT32, 0.005f, 0, 2, -1);
    set_int32_data(&m, bias, (const int32_t[]){100, -100}, 2);
    m.tensors[y].dim[1] = m.tensors[y].dim[2] = 2;
    m.op.options.padding = TFL_PAD_VALID;
    set_operands(&m, 3, (int32_t[]){x, f, bias}, y);
    CHECK(import(&ctx, &m, tfl_import_conv_2d, 1) == DETVM_OK, "VALID import: %s", ctx.message);
    if (ctx.n_instr == 1) {
        const int32_t *a = ctx.instr[0].attrs, *b = ctx.data[ctx.instr[0].in[2]];
        CHECK(a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0 && a[12] == 1 && b[0] == 100 &&
              b[1] == -100, "VALID: no padding, single rounding, the model's bias");
    }
    mock_free(&ctx);
}

static void test_import_depthwise(void)
{
    mock_model m;
    tfl_import ctx;
    /* 1x4x4x2 input, depth multiplier 3, 3x3 filter (1,3,3,6), stride 1 SAME: padding 1. */
    model_init(&m, TFL_OP_DEPTHWISE_CONV_2D);
    int32_t x = add_tensor(&m, TFL_INT8, 0.1f, 0, 1, 4, 4, 2, -1);
    int32_t f = add_tensor(&m, TFL_INT8, 0.02f, 0, 1, 3, 3, 6, -1);
    int32_t y = add_tensor(&m, TFL_INT8, 0.2f, -1, 1, 4, 4, 6, -1);
    const float scales[6] = {0.02f, 0.01f, 0.03f, 0.02f, 0.05f, 0.04f};
    set_channel_scales(&m, f, 6, scales, 3);
    m.op.options.padding = TFL_PAD_SAME;
    m.op.options.depth_multiplier = 3;
    set_operands(&m, 2, (int32_t[]){x, f}, y);
    CHECK(import(&ctx, &m, tfl_import_depthwise_conv_2d, 0) == DETVM_OK, "depthwise import: %s",
          ctx.message);
    if (ctx.n_instr == 1) {
        const int32_t want[14] = {1, 1, 1, 1, 1, 1, 1, 1, 0, -1, -128, 127, 0, 3};
        CHECK(ctx.instr[0].opcode == DV_OP_QDEPTHWISE_CONV2D && ctx.instr[0].n_attrs == 14 &&
              memcmp(ctx.instr[0].attrs, want, sizeof want) == 0, "depthwise attributes");
        int32_t m4, s4;
        tfl_quantize_multiplier((double)0.1f * (double)0.05f / (double)0.2f, 0, &m4, &s4);
        CHECK(ctx.data[ctx.instr[0].in[3]][4] == m4 && ctx.data[ctx.instr[0].in[4]][4] == s4,
              "depthwise channel 4 multiplier");
    }
    mock_free(&ctx);
    m.op.options.depth_multiplier = 2;
    CHECK(import(&ctx, &m, tfl_import_depthwise_conv_2d, 0) == DETVM_EINVALID &&
          message_has(&ctx, "depth_multiplier"), "wrong depth multiplier: %s", ctx.message);
    mock_free(&ctx);
}

static void test_import_fully_connected(void)
{
    mock_model m;
    tfl_import ctx;
    /* Input 2x3x4 (scale 0.5, zp 1) read as 6 rows of 4, weights 5x4 per tensor (scale 0.25,
     * zp -2), output (scale 1, zp -5) kept as 2x3x5 (keep_num_dims): a QFULLY_CONNECTED into
     * a (6, 5) temporary, then RESHAPE. Multiplier: float(0.5 * 0.25) / 1 = 0.125. Offsets
     * -1, 2, -5. */
    model_init(&m, TFL_OP_FULLY_CONNECTED);
    int32_t x = add_tensor(&m, TFL_INT8, 0.5f, 1, 2, 3, 4, -1);
    int32_t w = add_tensor(&m, TFL_INT8, 0.25f, -2, 5, 4, -1);
    int32_t y = add_tensor(&m, TFL_INT8, 1.0f, -5, 2, 3, 5, -1);
    int8_t weights[20];
    for (int i = 0; i < 20; i++)
        weights[i] = (int8_t)(3 * i - 30);
    set_int8_data(&m, w, weights, 20);
    set_operands(&m, 2, (int32_t[]){x, w}, y);
    m.op.options.keep_num_dims = 1;
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_OK, "fc import: %s",
          ctx.message);
    CHECK(ctx.n_instr == 2, "fc with keep_num_dims emits two instructions");
    if (ctx.n_instr == 2) {
        const int32_t want[6] = {-1, 2, -5, -128, 127, 0}, shape[3] = {2, 3, 5};
        CHECK(ctx.instr[0].opcode == DV_OP_QFULLY_CONNECTED &&
              memcmp(ctx.instr[0].attrs, want, sizeof want) == 0, "fc attributes");
        CHECK(ctx.instr[1].opcode == DV_OP_RESHAPE && ctx.instr[1].n_attrs == 3 &&
              memcmp(ctx.instr[1].attrs, shape, sizeof shape) == 0 &&
              ctx.instr[1].in[0] == ctx.instr[0].out, "fc reshape");
        int32_t m0, s0;
        float product = 0.5f * 0.25f;
        tfl_quantize_multiplier((double)product / 1.0, 0, &m0, &s0);
        const int32_t *mult = ctx.data[ctx.instr[0].in[3]];
        CHECK(mult[0] == m0 && mult[4] == m0, "fc per-tensor multiplier repeated");

        /* and it runs: row r of the input is all r - 1; the last output, row 5 unit 4, is
         * sum (w[4][d] + 2) * (4 - 1) = (20+23+26+29) * 3 = 294, * 0.125 = 36.75 -> 37,
         * - 5 = 32 */
        int32_t input[24];
        for (int i = 0; i < 24; i++)
            input[i] = i / 4 - 1;
        const int32_t *out = mock_run(&ctx, x, input, y);
        int32_t expect = 0;
        uint32_t acc = 0;
        for (int d = 0; d < 4; d++)
            acc += (uint32_t)((weights[4 * 4 + d] + 2) * (input[20 + d] - 1));
        expect = dv_clamp(dv_multiply_by_quantized_multiplier((int32_t)acc, m0, s0, 0) - 5, -128,
                          127);
        CHECK(out[29] == expect && expect == 32, "fc runs: %d want %d", out[29], expect);
    }
    mock_free(&ctx);

    /* Direct output, a bias whose scale matches, RELU. */
    m.tensors[y].ndim = 2;
    m.tensors[y].dim[0] = 6;
    m.tensors[y].dim[1] = 5;
    int32_t bias = add_tensor(&m, TFL_INT32, 0.125f, 0, 5, -1);
    set_int32_data(&m, bias, (const int32_t[]){1, 2, 3, 4, 5}, 5);
    set_operands(&m, 3, (int32_t[]){x, w, bias}, y);
    m.op.options.activation = TFL_ACT_RELU;
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_OK && ctx.n_instr == 1 &&
          ctx.instr[0].attrs[3] == -5, "fc direct with bias and RELU: %s", ctx.message);
    mock_free(&ctx);

    /* The bias scale check: 0.125 vs 0.5 * 0.25 = 0.125 passes; 0.2 differs by 0.075, which
     * is 0.075 output scales (> 0.02): refused as TFLite Micro does. */
    m.scales[bias][0] = 0.2f;
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_EINVALID &&
          message_has(&ctx, "bias"), "bias scale mismatch: %s", ctx.message);
    mock_free(&ctx);
    m.scales[bias][0] = 0.135f; /* 0.01 / 1 <= 0.02: accepted */
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_OK, "bias scale within 2%%");
    mock_free(&ctx);

    /* Per channel: the weights' zero points must be 0, filter_offset is 0. */
    set_channel_scales(&m, w, 5, (const float[]){0.25f, 0.5f, 0.125f, 0.25f, 0.25f}, 0);
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_EINVALID &&
          message_has(&ctx, "zero point"), "per-channel weights with a zero point: %s",
          ctx.message);
    mock_free(&ctx);
    m.zero_points[w][0] = 0;
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_OK && ctx.n_instr == 1 &&
          ctx.instr[0].attrs[1] == 0, "per-channel fc: %s", ctx.message);
    if (ctx.n_instr == 1) {
        int32_t m1, s1;
        tfl_quantize_multiplier((double)0.5f * (double)0.5f / 1.0, 0, &m1, &s1);
        CHECK(ctx.data[ctx.instr[0].in[3]][1] == m1 && ctx.data[ctx.instr[0].in[4]][1] == s1,
              "per-channel fc multiplier");
    }
    mock_free(&ctx);

    /* Rows that do not match the output. */
    m.tensors[y].dim[0] = 5;
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_EINVALID &&
          message_has(&ctx, "output"), "fc output rows: %s", ctx.message);
    mock_free(&ctx);
    m.tensors[y].dim[0] = 6;
    m.op.options.weights_format = 1;
    CHECK(import(&ctx, &m, tfl_import_fully_connected, 0) == DETVM_EINVALID,
          "shuffled weights refused");
    mock_free(&ctx);
}

static void test_import_pool_and_mean(void)
{
    mock_model m;
    tfl_import ctx;
    /* MAX_POOL_2D 3x3 stride 2 SAME on 1x7x7x4: out 4, total (4-1)*2+3-7 = 2 -> 1, 1. */
    model_init(&m, TFL_OP_MAX_POOL_2D);
    int32_t x = add_tensor(&m, TFL_INT8, 0.3f, 4, 1, 7, 7, 4, -1);
    int32_t y = add_tensor(&m, TFL_INT8, 0.3f, 4, 1, 4, 4, 4, -1);
    m.op.options.filter_h = m.op.options.filter_w = 3;
    m.op.options.stride_h = m.op.options.stride_w = 2;
    m.op.options.padding = TFL_PAD_SAME;
    m.op.options.activation = TFL_ACT_RELU;
    set_operands(&m, 1, (int32_t[]){x}, y);
    CHECK(import(&ctx, &m, tfl_import_max_pool_2d, 0) == DETVM_OK, "max pool: %s", ctx.message);
    const int32_t want[10] = {3, 3, 2, 2, 1, 1, 1, 1, 4, 127};
    CHECK(ctx.n_instr == 1 && ctx.instr[0].opcode == DV_OP_QMAX_POOL2D &&
          memcmp(ctx.instr[0].attrs, want, sizeof want) == 0, "max pool attributes");
    mock_free(&ctx);
    m.zero_points[y][0] = 5;
    CHECK(import(&ctx, &m, tfl_import_average_pool_2d, 0) == DETVM_EINVALID,
          "pool with different zero points");
    mock_free(&ctx);
    m.zero_points[y][0] = 4;
    m.scales[y][0] = 0.3f + 1e-5f;
    CHECK(import(&ctx, &m, tfl_import_average_pool_2d, 0) == DETVM_EINVALID,
          "pool with different scales");
    mock_free(&ctx);

    /* MEAN over axes {-2, 1, 1} of 1x3x3x2 = {1, 2} (repeats ignored). */
    model_init(&m, TFL_OP_MEAN);
    x = add_tensor(&m, TFL_INT8, 0.4f, -2, 1, 3, 3, 2, -1);
    int32_t axes = add_tensor(&m, TFL_INT32, 0, 0, 3, -1);
    set_int32_data(&m, axes, (const int32_t[]){-2, 1, 1}, 3);
    y = add_tensor(&m, TFL_INT8, 0.2f, 3, 1, 2, -1);
    set_operands(&m, 2, (int32_t[]){x, axes}, y);
    CHECK(import(&ctx, &m, tfl_import_mean, 0) == DETVM_OK, "mean: %s", ctx.message);
    int32_t mult, shift;
    tfl_quantize_multiplier((double)0.4f / (double)0.2f, 0, &mult, &shift);
    const int32_t want_mean[7] = {6, 0, -2, 3, mult, shift, 0};
    CHECK(ctx.n_instr == 1 && memcmp(ctx.instr[0].attrs, want_mean, sizeof want_mean) == 0,
          "mean attributes");
    mock_free(&ctx);
    set_int32_data(&m, axes, (const int32_t[]){4, 1, 1}, 3);
    CHECK(import(&ctx, &m, tfl_import_mean, 0) == DETVM_EINVALID && message_has(&ctx, "axis"),
          "mean axis 4: %s", ctx.message);
    mock_free(&ctx);
    m.tensors[axes].data = NULL;
    CHECK(import(&ctx, &m, tfl_import_mean, 0) == DETVM_EINVALID &&
          message_has(&ctx, "constant"), "mean axis not constant: %s", ctx.message);
    mock_free(&ctx);
}

/* ---- the reference models' layer dumps (../shared) ----------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc(n > 0 ? (size_t)n : 1);
    *len = p ? fread(p, 1, (size_t)n, f) : 0;
    fclose(f);
    return p;
}

static const char *models_dir(void)
{
    const char *env = getenv("DETVM_SHARED");
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s/models/tflite", env && *env ? env : "../shared");
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/person_detect/layers/index.tsv", dir);
    FILE *f = fopen(probe, "r");
    if (!f)
        return NULL;
    fclose(f);
    return dir;
}

/* Imports a one-operator model whose input and output are the given layer dumps (int8 NHWC)
 * and checks that the kernel reproduces the output dump exactly. */
static void check_layer(mock_model *m, tfl_import_fn fn, const char *model, const char *in_file,
                        const char *out_file, int32_t x, int32_t y)
{
    const char *dir = models_dir();
    char path[1400];
    size_t n_in = 0, n_out = 0;
    snprintf(path, sizeof path, "%s/%s/layers/%s", dir, model, in_file);
    char *in = read_file(path, &n_in);
    snprintf(path, sizeof path, "%s/%s/layers/%s", dir, model, out_file);
    char *out = read_file(path, &n_out);
    tfl_import ctx;
    CHECK(in && out, "%s: layer dumps", model);
    if (in && out && import(&ctx, m, fn, 0) == DETVM_OK) {
        int32_t *x_values = malloc(n_in * sizeof *x_values);
        for (size_t i = 0; i < n_in; i++)
            x_values[i] = (int8_t)in[i];
        const int32_t *got = mock_run(&ctx, x, x_values, y);
        size_t wrong = 0;
        for (size_t i = 0; i < n_out; i++)
            wrong += got[i] != (int8_t)out[i];
        CHECK(wrong == 0, "%s %s: %zu of %zu bytes differ", model, out_file, wrong, n_out);
        free(x_values);
        mock_free(&ctx);
    } else if (in && out) {
        CHECK(0, "%s: import: %s", model, ctx.message);
        mock_free(&ctx);
    }
    free(in);
    free(out);
}

static void test_layer_dumps(void)
{
    if (!models_dir()) {
        SKIP("../shared/models/tflite is absent: layer dumps not checked");
        return;
    }
    mock_model m;
    /* mobilenet_v2 op 81: MEAN over axes 1, 2 (keep dims) of 1x7x7x1280, scale 0.0705478862
     * and zero point -9 on both sides (index.tsv). */
    model_init(&m, TFL_OP_MEAN);
    int32_t x = add_tensor(&m, TFL_INT8, 0.0705478862f, -9, 1, 7, 7, 1280, -1);
    int32_t axes = add_tensor(&m, TFL_INT32, 0, 0, 2, -1);
    set_int32_data(&m, axes, (const int32_t[]){1, 2}, 2);
    int32_t y = add_tensor(&m, TFL_INT8, 0.0705478862f, -9, 1, 1, 1, 1280, -1);
    set_operands(&m, 2, (int32_t[]){x, axes}, y);
    m.op.options.keep_dims = 1;
    check_layer(&m, tfl_import_mean, "mobilenet_v2_quantized_1x3x224x224",
                "op080_t098_CONV_2D.bin", "op081_t063_MEAN.bin", x, y);

    /* Global average pools (VALID, window = the whole input, so any stride). */
    static const struct {
        const char *model, *in_file, *out_file;
        int32_t h, w, c;
        float scale;
        int32_t zero_point;
    } pools[] = {
        {"person_detect", "op026_t050_CONV_2D.bin", "op027_t027_AVERAGE_POOL_2D.bin", 3, 3, 256,
         0.0186093301f, -128},
        {"kws_ref_model", "op008_t030_CONV_2D.bin", "op009_t031_AVERAGE_POOL_2D.bin", 25, 5, 64,
         0.0802361593f, -128},
        {"pretrainedResnet_quant", "op011_t033_ADD.bin", "op012_t034_AVERAGE_POOL_2D.bin", 8, 8,
         64, 0.127069145f, -128},
    };
    for (uint32_t i = 0; i < COUNT(pools); i++) {
        model_init(&m, TFL_OP_AVERAGE_POOL_2D);
        x = add_tensor(&m, TFL_INT8, pools[i].scale, pools[i].zero_point, 1, pools[i].h,
                       pools[i].w, pools[i].c, -1);
        y = add_tensor(&m, TFL_INT8, pools[i].scale, pools[i].zero_point, 1, 1, 1, pools[i].c,
                       -1);
        m.op.options.filter_h = pools[i].h;
        m.op.options.filter_w = pools[i].w;
        m.op.options.stride_h = m.op.options.stride_w = 2;
        m.op.options.padding = TFL_PAD_VALID;
        set_operands(&m, 1, (int32_t[]){x}, y);
        check_layer(&m, tfl_import_average_pool_2d, pools[i].model, pools[i].in_file,
                    pools[i].out_file, x, y);
    }
}

int main(void)
{
    test_qconv2d();
    test_qconv2d_hostile();
    test_qconv2d_infer_rejects();
    test_qdepthwise_conv2d();
    test_qfully_connected();
    test_qpool();
    test_qmean();
    test_conv_against_fully_connected();
    test_grouped_conv_against_depthwise();
    test_against_tflite_micro();
    test_import_conv();
    test_import_depthwise();
    test_import_fully_connected();
    test_import_pool_and_mean();
    test_layer_dumps();
    return check_summary("test_ops_qnn");
}
