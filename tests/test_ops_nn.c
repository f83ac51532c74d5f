/* Unit tests of ops/nn.c (conv2d, dense, max_pool2d, upsampling): hand-computed results
 * (worked out in the comments), wrapping at the INT32 extremes, hostile attribute values,
 * infer rejections; and of loader/cvm_nn.c: the CVM runtime's statuses for broken nodes and
 * its precision inference. */
#include "op.h"
#include "cvm_ops.h"
#include "check.h"

extern const dv_op_info dv_info_CONV2D, dv_info_DENSE, dv_info_MAX_POOL2D, dv_info_UPSAMPLING;
extern const cvm_op_def cvm_def_CONV2D, cvm_def_DENSE, cvm_def_MAX_POOL2D, cvm_def_UPSAMPLING;

#define MAX32 INT32_MAX
#define MIN32 INT32_MIN
#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* Canonical attributes (ops/nn.c). */
static const int32_t *conv_attrs(int32_t *a, int32_t channels, int32_t kh, int32_t kw,
                                 int32_t sh, int32_t sw, int32_t pad_h, int32_t pad_w,
                                 int32_t dh, int32_t dw, int32_t groups, int32_t use_bias)
{
    const int32_t v[13] = {channels, kh, kw, sh, sw, pad_h, pad_w, pad_h, pad_w, dh, dw,
                           groups, use_bias};
    memcpy(a, v, sizeof v);
    return a;
}

static dv_shape shape4(uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    dv_shape s = {4, {n, c, h, w}};
    return s;
}

static dv_shape shape2(uint32_t a, uint32_t b)
{
    dv_shape s = {2, {a, b}};
    return s;
}

static dv_shape shape1(uint32_t a)
{
    dv_shape s = {1, {a}};
    return s;
}

/* Infers, checks the output shape, runs, and compares every element with `want`. */
static void check_op(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                     uint32_t n_in, dv_tensor *in, dv_shape want_shape, const int32_t *want,
                     const char *what)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape in_shape[3], out_shape;
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
    int32_t y[64];
    if (n > COUNT(y)) {
        CHECK(0, "%s: test output too large", what);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        y[i] = 0x5a5a5a5a; /* every element must be written */
    dv_tensor out = {y, out_shape};
    op->run(&attrs, n_in, in, 1, &out, NULL);
    for (uint32_t i = 0; i < n; i++)
        CHECK(y[i] == want[i], "%s: [%u] = %d, want %d", what, i, y[i], want[i]);
}

static const char *infer(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                         uint32_t n_in, const dv_shape *in)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape out[2];
    return op->infer(&attrs, n_in, in, 1, out);
}

/* ---- conv2d ------------------------------------------------------------------------------ */

static void test_conv2d(void)
{
    int32_t a[13];
    /* x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]], no padding:
     * y00 = 1+2*2+3*4+4*5 = 37, y01 = 2+2*3+3*5+4*6 = 47,
     * y10 = 4+2*5+3*7+4*8 = 67, y11 = 5+2*6+3*8+4*9 = 77. */
    int32_t x9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int32_t w4[] = {1, 2, 3, 4};
    dv_tensor in[3] = {{x9, shape4(1, 1, 3, 3)}, {w4, shape4(1, 1, 2, 2)}};
    const int32_t want_plain[] = {37, 47, 67, 77};
    check_op(&dv_info_CONV2D, conv_attrs(a, 1, 2, 2, 1, 1, 0, 0, 1, 1, 1, 0), 13, 2, in,
             shape4(1, 1, 2, 2), want_plain, "conv2d plain");

    /* 3x3 ones, padding 1, stride 2, bias 100: output (3+2-3)/2+1 = 2 per axis. The windows
     * centred on the corners see 2x2 of the data: 1+2+4+5 = 12, 2+3+5+6 = 16,
     * 4+5+7+8 = 24, 5+6+8+9 = 28. */
    int32_t ones[] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, bias100[] = {100};
    dv_tensor padded[3] = {{x9, shape4(1, 1, 3, 3)}, {ones, shape4(1, 1, 3, 3)},
                           {bias100, shape1(1)}};
    const int32_t want_padded[] = {112, 116, 124, 128};
    check_op(&dv_info_CONV2D, conv_attrs(a, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1), 13, 3, padded,
             shape4(1, 1, 2, 2), want_padded, "conv2d padding stride bias");

    /* x[h][w] = 5h + w on 4x5; kernel (1, 2) = [1, 10], strides (2, 1), padding (0, 1),
     * dilation (1, 2): dilated width 3, OH = (4-1)/2+1 = 2, OW = (5+2-3)/1+1 = 5, and
     * y[oh][ow] = x[2oh][ow-1] + 10 x[2oh][ow+1], leaving out columns -1 and 5.
     * Row 0 (0..4):   10, 0+20, 1+30, 2+40, 3.   Row 1 (10..14): 110, 10+120, 11+130,
     * 12+140, 13. */
    int32_t x20[20];
    for (int i = 0; i < 20; i++)
        x20[i] = i;
    int32_t w_rect[] = {1, 10};
    dv_tensor rect[2] = {{x20, shape4(1, 1, 4, 5)}, {w_rect, shape4(1, 1, 1, 2)}};
    const int32_t want_rect[] = {10, 20, 31, 42, 3, 110, 130, 141, 152, 13};
    check_op(&dv_info_CONV2D, conv_attrs(a, 1, 1, 2, 2, 1, 0, 1, 1, 2, 1, 0), 13, 2, rect,
             shape4(1, 1, 2, 5), want_rect, "conv2d rectangular dilated asymmetric");

    /* groups 2 over 4 input channels [1,2,3,4]: channel 0 sees inputs 0,1 and channel 1
     * inputs 2,3: 1*10+2*20 = 50, 3*30+4*40 = 250. */
    int32_t x4[] = {1, 2, 3, 4}, w_groups[] = {10, 20, 30, 40};
    dv_tensor grouped[2] = {{x4, shape4(1, 4, 1, 1)}, {w_groups, shape4(2, 2, 1, 1)}};
    const int32_t want_groups[] = {50, 250};
    check_op(&dv_info_CONV2D, conv_attrs(a, 2, 1, 1, 1, 1, 0, 0, 1, 1, 2, 0), 13, 2, grouped,
             shape4(1, 2, 1, 1), want_groups, "conv2d groups");

    /* Depthwise with multiplier 2: channels [1,2] and [3,4], weights 1,2 (from channel 0)
     * and 3,4 (from channel 1): [1,2], [2,4], [9,12], [12,16]. */
    int32_t w_dw[] = {1, 2, 3, 4};
    dv_tensor depthwise[2] = {{x4, shape4(1, 2, 1, 2)}, {w_dw, shape4(4, 1, 1, 1)}};
    const int32_t want_dw[] = {1, 2, 2, 4, 9, 12, 12, 16};
    check_op(&dv_info_CONV2D, conv_attrs(a, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2, 0), 13, 2, depthwise,
             shape4(1, 4, 1, 2), want_dw, "conv2d depthwise multiplier");

    /* Batch 2, two input channels, bias 7: 1*5+2*6+7 = 24, 3*5+4*6+7 = 46. */
    int32_t w56[] = {5, 6}, bias7[] = {7};
    dv_tensor batched[3] = {{x4, shape4(2, 2, 1, 1)}, {w56, shape4(1, 2, 1, 1)},
                            {bias7, shape1(1)}};
    const int32_t want_batch[] = {24, 46};
    check_op(&dv_info_CONV2D, conv_attrs(a, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1), 13, 3, batched,
             shape4(2, 1, 1, 1), want_batch, "conv2d batch");

    /* Wrapping: MIN32 * -1 = 2^31 wraps to MIN32; + 1 * MAX32 = -1; + bias 1 = 0. And
     * MAX32 * 2 = 2^32 - 2 wraps to -2; + 2 * MIN32 = -2^32 wraps to 0; + bias 1 = -1. */
    int32_t x_ext[] = {MIN32, 1, MAX32, 2}, w_ext[] = {-1, MAX32, 2, MIN32}, bias1[] = {1, 1};
    dv_tensor extreme[3] = {{x_ext, shape4(1, 4, 1, 1)}, {w_ext, shape4(2, 2, 1, 1)},
                            {bias1, shape1(2)}};
    const int32_t want_ext[] = {0, -1};
    check_op(&dv_info_CONV2D, conv_attrs(a, 2, 1, 1, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, extreme,
             shape4(1, 2, 1, 1), want_ext, "conv2d wraps");
}

/* Hostile attribute values that infer accepts must not make the kernel misbehave (this
 * test is most useful under the sanitizers). */
static void test_conv2d_extreme_geometry(void)
{
    int32_t a[13];
    /* Padding and stride MAX32 on a 1x1 input: padded 2^32 - 1, output (2^32-2)/MAX32 + 1
     * = 3 per axis. Only ih = oh * MAX32 - MAX32 = 0 at oh = 1 (and ow = 1) sees the data:
     * the centre is 1 + 3*7 = 22, the rest the bias 1. */
    int32_t x7[] = {7}, w3[] = {3}, bias1[] = {1};
    dv_tensor in[3] = {{x7, shape4(1, 1, 1, 1)}, {w3, shape4(1, 1, 1, 1)}, {bias1, shape1(1)}};
    const int32_t want[] = {1, 1, 1, 1, 22, 1, 1, 1, 1};
    check_op(&dv_info_CONV2D, conv_attrs(a, 1, 1, 1, MAX32, MAX32, MAX32, MAX32, 1, 1, 1, 1),
             13, 3, in, shape4(1, 1, 3, 3), want, "conv2d extreme padding");

    /* Kernel 2x2 [1,2,3,4] with dilation, padding and stride MAX32: dilated 2^31, output
     * (2^32-1-2^31)/MAX32 + 1 = 2; ih = (oh + kh - 1) * MAX32 is 0 only when oh + kh = 1:
     * y00 = 4*7 (kh=kw=1), y01 = 3*7 (kh=1, kw=0), y10 = 2*7, y11 = 1*7. */
    int32_t w_big[] = {1, 2, 3, 4};
    dv_tensor dilated[2] = {{x7, shape4(1, 1, 1, 1)}, {w_big, shape4(1, 1, 2, 2)}};
    const int32_t want_dilated[] = {28, 21, 14, 7};
    check_op(&dv_info_CONV2D,
             conv_attrs(a, 1, 2, 2, MAX32, MAX32, MAX32, MAX32, MAX32, MAX32, 1, 0), 13, 2,
             dilated, shape4(1, 1, 2, 2), want_dilated, "conv2d extreme dilation");
}

static void test_conv2d_infer_rejects(void)
{
    int32_t a[13];
    dv_shape ok[3] = {shape4(1, 4, 5, 5), shape4(2, 2, 3, 3), shape1(2)};
#define CONV_OK(...) conv_attrs(a, __VA_ARGS__)
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, ok) == NULL,
          "the baseline is accepted");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 12, 3, ok) != NULL,
          "attribute count");
    CHECK(infer(&dv_info_CONV2D, NULL, 0, 3, ok) != NULL, "no attributes");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 2), 13, 3, ok) != NULL,
          "use_bias 2");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 2, ok) != NULL,
          "bias missing");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 0), 13, 3, ok) != NULL,
          "bias given without use_bias");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(0, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "channels 0");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 0, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "kernel 0");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 0, 1, 0, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "stride 0");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, MIN32, 0, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "stride negative");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 0, 1, 2, 1), 13, 3, ok) != NULL,
          "dilation 0");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, -1, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "padding negative");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 0, 1), 13, 3, ok) != NULL,
          "groups 0");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 3, 1), 13, 3, ok) != NULL,
          "groups not dividing the channels");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1), 13, 3, ok) != NULL,
          "weight with C/groups channels for another groups value");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 2, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "kernel differs from the weight");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(4, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, ok) != NULL,
          "channels differ from the weight");
    dv_shape bad_bias[3] = {ok[0], ok[1], shape1(3)};
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, bad_bias) !=
              NULL,
          "bias length");
    dv_shape data3d[3] = {{3, {4, 5, 5}}, ok[1], ok[2]};
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13, 3, data3d) !=
              NULL,
          "3-D data");
    /* Dilation 3 makes the 3x3 kernel 7 wide: more than 5 + 2*0, but not 5 + 2*1. */
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 0, 0, 3, 3, 2, 1), 13, 3, ok) != NULL,
          "dilated kernel larger than the input");
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 1, 1, 3, 3, 2, 1), 13, 3, ok) == NULL,
          "dilated kernel fits the padded input");
    /* Padding 2^24 with stride 1 asks for an output taller than 2^24. */
    CHECK(infer(&dv_info_CONV2D, CONV_OK(2, 3, 3, 1, 1, 1 << 24, 0, 1, 1, 2, 1), 13, 3, ok) !=
              NULL,
          "output dimension too large");
    dv_attrs attrs = {CONV_OK(2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 1), 13};
    dv_shape out[2];
    CHECK(dv_info_CONV2D.infer(&attrs, 3, ok, 2, out) != NULL, "two outputs");
#undef CONV_OK
}

/* ---- dense ------------------------------------------------------------------------------- */

static void test_dense(void)
{
    /* x = [[1,2,3],[-1,0,4]], w = [[1,0,-1],[2,2,2]], bias [10,-10]:
     * y00 = 1-3+10 = 8, y01 = 2+4+6-10 = 2, y10 = -1-4+10 = 5, y11 = -2+8-10 = -4,
     * and without the bias -2, 12, -5, 6. */
    int32_t x[] = {1, 2, 3, -1, 0, 4}, w[] = {1, 0, -1, 2, 2, 2}, bias[] = {10, -10};
    const int32_t biased[] = {2, 1}, unbiased[] = {2, 0};
    dv_tensor in[3] = {{x, shape2(2, 3)}, {w, shape2(2, 3)}, {bias, shape1(2)}};
    const int32_t want_bias[] = {8, 2, 5, -4};
    check_op(&dv_info_DENSE, biased, 2, 3, in, shape2(2, 2), want_bias, "dense bias");
    const int32_t want_plain[] = {-2, 12, -5, 6};
    check_op(&dv_info_DENSE, unbiased, 2, 2, in, shape2(2, 2), want_plain, "dense no bias");

    /* MAX32 * MAX32 = 2^62 - 2^32 + 1 wraps to 1; + MAX32 * 1 = 2^31 wraps to MIN32.
     * Bias MIN32 on top of 0 * 0: MIN32. */
    int32_t x_ext[] = {MAX32, MAX32}, w_ext[] = {MAX32, 1, 0, 0}, bias_ext[] = {0, MIN32};
    dv_tensor ext[3] = {{x_ext, shape2(1, 2)}, {w_ext, shape2(2, 2)}, {bias_ext, shape1(2)}};
    const int32_t want_ext[] = {MIN32, MIN32};
    check_op(&dv_info_DENSE, biased, 2, 3, ext, shape2(1, 2), want_ext, "dense wraps");

    dv_shape ok[3] = {shape2(2, 3), shape2(4, 3), shape1(4)};
    const int32_t units4_bias[] = {4, 1}, units4[] = {4, 0}, units0[] = {0, 1},
                  units4_bias2[] = {4, 2}, units5_bias[] = {5, 1};
    CHECK(infer(&dv_info_DENSE, units4_bias, 2, 3, ok) == NULL, "dense baseline");
    CHECK(infer(&dv_info_DENSE, units4_bias, 1, 3, ok) != NULL, "dense attribute count");
    CHECK(infer(&dv_info_DENSE, units4, 2, 3, ok) != NULL, "dense bias without use_bias");
    CHECK(infer(&dv_info_DENSE, units0, 2, 3, ok) != NULL, "dense units 0");
    CHECK(infer(&dv_info_DENSE, units4_bias2, 2, 3, ok) != NULL, "dense use_bias 2");
    CHECK(infer(&dv_info_DENSE, units5_bias, 2, 3, ok) != NULL, "dense units vs weight");
    dv_shape data3d[3] = {{3, {2, 3, 1}}, ok[1], ok[2]};
    CHECK(infer(&dv_info_DENSE, units4_bias, 2, 3, data3d) != NULL, "dense 3-D data");
    dv_shape depth[3] = {shape2(2, 2), ok[1], ok[2]};
    CHECK(infer(&dv_info_DENSE, units4_bias, 2, 3, depth) != NULL, "dense depth vs weight");
    dv_shape short_bias[3] = {ok[0], ok[1], shape1(3)};
    CHECK(infer(&dv_info_DENSE, units4_bias, 2, 3, short_bias) != NULL, "dense bias length");
}

/* ---- max_pool2d -------------------------------------------------------------------------- */

static void test_max_pool2d(void)
{
    /* All negative, pool 2x2, stride 2, padding 1: output (3+2-2)/2+1 = 2 per axis. The
     * padding must not act as 0: windows rows {0}/{1,2} x cols {0}/{1,2} give
     * -1, max(-2,-3) = -2, max(-4,-7) = -4, max(-5,-6,-8,-9) = -5. */
    int32_t neg[] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    dv_tensor in = {neg, shape4(1, 1, 3, 3)};
    const int32_t pad1[] = {2, 2, 2, 2, 1, 1, 1, 1, 0};
    const int32_t want_pad[] = {-1, -2, -4, -5};
    check_op(&dv_info_MAX_POOL2D, pad1, 9, 1, &in, shape4(1, 1, 2, 2), want_pad,
             "max_pool2d padding");

    /* 1..9, pool 2x2, stride 2: floor mode keeps the one full window (max 5); ceil mode
     * (3-2+1)/2+1 = 2 adds the clipped ones: 6 (col 2), 8 (row 2), 9. */
    int32_t x9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    dv_tensor in9 = {x9, shape4(1, 1, 3, 3)};
    const int32_t floor_mode[] = {2, 2, 2, 2, 0, 0, 0, 0, 0}, ceil_mode[] = {2, 2, 2, 2, 0, 0,
                                                                           0, 0, 1};
    const int32_t want_floor[] = {5}, want_ceil[] = {5, 6, 8, 9};
    check_op(&dv_info_MAX_POOL2D, floor_mode, 9, 1, &in9, shape4(1, 1, 1, 1), want_floor,
             "max_pool2d floor");
    check_op(&dv_info_MAX_POOL2D, ceil_mode, 9, 1, &in9, shape4(1, 1, 2, 2), want_ceil,
             "max_pool2d ceil");

    /* Rectangular pool (1, 3), strides (2, 1), two planes with INT32 extremes:
     * plane 0 rows [MIN32, MIN32, MIN32, 0], [5,6,7,8] -> row 0 only (stride 2):
     *   MIN32, max(MIN32, MIN32, 0) = 0;  plane 1 [MAX32, -1, -1, -1] -> MAX32, -1. */
    int32_t x_ext[] = {MIN32, MIN32, MIN32, 0, 5, 6, 7, 8, MAX32, -1, -1, -1, 1, 1, 1, 1};
    dv_tensor ext = {x_ext, shape4(1, 2, 2, 4)};
    const int32_t rect[] = {1, 3, 2, 1, 0, 0, 0, 0, 0};
    const int32_t want_rect[] = {MIN32, 0, MAX32, -1};
    check_op(&dv_info_MAX_POOL2D, rect, 9, 1, &ext, shape4(1, 2, 1, 2), want_rect,
             "max_pool2d rectangular extremes");

    /* A window wholly in the padding (pad_top 1 with a 1x1 pool): INT32_MIN. */
    int32_t x5[] = {5};
    dv_tensor one = {x5, shape4(1, 1, 1, 1)};
    const int32_t empty[] = {1, 1, 1, 1, 1, 0, 0, 0, 0};
    const int32_t want_empty[] = {MIN32, 5};
    check_op(&dv_info_MAX_POOL2D, empty, 9, 1, &one, shape4(1, 1, 2, 1), want_empty,
             "max_pool2d empty window");

    dv_shape x = shape4(1, 1, 3, 3);
    const int32_t good[] = {2, 2, 1, 1, 0, 0, 0, 0, 0};
    CHECK(infer(&dv_info_MAX_POOL2D, good, 9, 1, &x) == NULL, "max_pool2d baseline");
    CHECK(infer(&dv_info_MAX_POOL2D, good, 8, 1, &x) != NULL, "max_pool2d attribute count");
    const int32_t pool0[] = {0, 2, 1, 1, 0, 0, 0, 0, 0}, stride0[] = {2, 2, 1, 0, 0, 0, 0, 0, 0},
                  pad_neg[] = {2, 2, 1, 1, 0, 0, 0, -1, 0}, ceil2[] = {2, 2, 1, 1, 0, 0, 0, 0, 2},
                  too_big[] = {4, 2, 1, 1, 0, 0, 0, 0, 0}, fits[] = {4, 2, 1, 1, 1, 0, 0, 0, 0},
                  huge[] = {1, 1, 1, 1, MAX32, 0, MAX32, 0, 0};
    CHECK(infer(&dv_info_MAX_POOL2D, pool0, 9, 1, &x) != NULL, "max_pool2d pool 0");
    CHECK(infer(&dv_info_MAX_POOL2D, stride0, 9, 1, &x) != NULL, "max_pool2d stride 0");
    CHECK(infer(&dv_info_MAX_POOL2D, pad_neg, 9, 1, &x) != NULL, "max_pool2d padding < 0");
    CHECK(infer(&dv_info_MAX_POOL2D, ceil2, 9, 1, &x) != NULL, "max_pool2d ceil_mode 2");
    CHECK(infer(&dv_info_MAX_POOL2D, too_big, 9, 1, &x) != NULL, "max_pool2d pool > input");
    CHECK(infer(&dv_info_MAX_POOL2D, fits, 9, 1, &x) == NULL, "max_pool2d pool fits padding");
    CHECK(infer(&dv_info_MAX_POOL2D, huge, 9, 1, &x) != NULL, "max_pool2d output too tall");
    dv_shape x3d = {3, {1, 3, 3}};
    CHECK(infer(&dv_info_MAX_POOL2D, good, 9, 1, &x3d) != NULL, "max_pool2d 3-D data");
    dv_shape two[2] = {x, x};
    CHECK(infer(&dv_info_MAX_POOL2D, good, 9, 2, two) != NULL, "max_pool2d two inputs");
}

/* ---- upsampling -------------------------------------------------------------------------- */

static void test_upsampling(void)
{
    /* [[1,2],[3,4]] scaled by 2: each value becomes a 2x2 block. */
    int32_t x[] = {1, 2, 3, 4};
    dv_tensor in = {x, shape4(1, 1, 2, 2)};
    const int32_t scale2[] = {2};
    const int32_t want2[] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    check_op(&dv_info_UPSAMPLING, scale2, 1, 1, &in, shape4(1, 1, 4, 4), want2,
             "upsampling 2");

    /* Two channels of one pixel, MIN32 and MAX32, scaled by 3. */
    int32_t ext[] = {MIN32, MAX32};
    dv_tensor in_ext = {ext, shape4(1, 2, 1, 1)};
    const int32_t scale3[] = {3};
    int32_t want3[18];
    for (int i = 0; i < 18; i++)
        want3[i] = i < 9 ? MIN32 : MAX32;
    check_op(&dv_info_UPSAMPLING, scale3, 1, 1, &in_ext, shape4(1, 2, 3, 3), want3,
             "upsampling 3");

    const int32_t scale1[] = {1};
    check_op(&dv_info_UPSAMPLING, scale1, 1, 1, &in, shape4(1, 1, 2, 2), x, "upsampling 1");

    dv_shape s = shape4(1, 1, 2, 2), tall = shape4(1, 1, 1 << 23, 1), flat = {3, {1, 2, 2}};
    const int32_t scale0[] = {0}, scale_max[] = {MAX32};
    CHECK(infer(&dv_info_UPSAMPLING, scale0, 1, 1, &s) != NULL, "upsampling scale 0");
    CHECK(infer(&dv_info_UPSAMPLING, scale_max, 1, 1, &s) != NULL, "upsampling scale MAX32");
    CHECK(infer(&dv_info_UPSAMPLING, scale2, 1, 1, &tall) == NULL, "upsampling to 2^24");
    CHECK(infer(&dv_info_UPSAMPLING, scale3, 1, 1, &tall) != NULL, "upsampling past 2^24");
    CHECK(infer(&dv_info_UPSAMPLING, scale2, 1, 1, &flat) != NULL, "upsampling 3-D data");
    CHECK(infer(&dv_info_UPSAMPLING, scale2, 0, 1, &s) != NULL, "upsampling no attributes");
}

/* ---- loader/cvm_nn.c --------------------------------------------------------------------- */

typedef struct {
    cvm_attrs attrs;
    cvm_node node;
    detvm_error err;
    dv_shape in_shape[3];
    int32_t in_prec[3];
} cvm_case;

/* Sets up a node with the given attribute key/value pairs (NULL-terminated) and inputs. */
static void cvm_case_init(cvm_case *c, const char *op, const char *const *kv, uint32_t n_in,
                          const dv_shape *in)
{
    memset(c, 0, sizeof *c);
    c->attrs.node = "node";
    c->attrs.op = op;
    for (; kv[0]; kv += 2) {
        c->attrs.key[c->attrs.n] = kv[0];
        c->attrs.value[c->attrs.n] = kv[1];
        c->attrs.n++;
    }
    for (uint32_t i = 0; i < n_in; i++) {
        c->in_shape[i] = in[i];
        c->in_prec[i] = 8;
    }
    c->node.attrs = &c->attrs;
    c->node.n_in = n_in;
    c->node.in_shape = c->in_shape;
    c->node.in_prec = c->in_prec;
}

/* The status parse, ops' infer and the output shape check give together (0 when
 * accepted), as the graph loader applies them. */
static int cvm_status(const cvm_op_def *def, const char *const *kv, uint32_t n_in,
                      const dv_shape *in, cvm_case *c)
{
    cvm_case_init(c, def->name, kv, n_in, in);
    if (def->parse(&c->node, &c->err) != 0)
        return (int)c->err.status;
    if (c->node.n_in_expected != n_in)
        return 1;
    const dv_op_info *info = dv_op_lookup(c->node.opcode);
    if (!info)
        return -1;
    dv_attrs attrs = {c->node.attr, c->node.n_attr};
    dv_shape out[2];
    if (info->infer(&attrs, n_in, in, 1, out) != NULL)
        return 1;
    if (def->check && def->check(&c->node, out, &c->err) != 0)
        return (int)c->err.status;
    return 0;
}

static int status_of(const cvm_op_def *def, const char *const *kv, uint32_t n_in,
                     const dv_shape *in)
{
    cvm_case c;
    return cvm_status(def, kv, n_in, in, &c);
}

static void test_cvm_conv2d(void)
{
    /* The shapes of the corpus's conv2d nodes: data (1,3,8,8), weight (3,3,3,3), bias (3). */
    dv_shape in[3] = {shape4(1, 3, 8, 8), shape4(3, 3, 3, 3), shape1(3)};
#define CONV(...) ((const char *const[]){"channels", "3", "kernel_size", "(3, 3)", __VA_ARGS__})
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1, 1)", NULL), 3, in) == 0, "baseline");

    /* The corpus's invalid cases. */
    dv_shape grouped_weight[3] = {in[0], shape4(3, 1, 3, 3), in[2]};
    CHECK(status_of(&cvm_def_CONV2D, CONV("groups", "2", NULL), 3, grouped_weight) == 1,
          "invalid_conv_groups: groups does not divide the channels");
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "[1,1]", "strides", "(0, 0)", NULL), 3,
                    in) == 1,
          "invalid_bad_attr_value: strides (0, 0)");
    CHECK(status_of(&cvm_def_CONV2D, CONV("use_bias", "False", NULL), 3, in) == 1,
          "invalid_input_count: use_bias false with 3 inputs");
    CHECK(status_of(&cvm_def_CONV2D, CONV("bogus", "1", NULL), 3, in) == 2,
          "invalid_unknown_attr");

    /* Attribute format and declared-field errors: status 2. */
    CHECK(status_of(&cvm_def_CONV2D, (const char *const[]){"kernel_size", "(3, 3)", NULL}, 3,
                    in) == 2,
          "channels missing");
    CHECK(status_of(&cvm_def_CONV2D, (const char *const[]){"channels", "3", NULL}, 3, in) == 2,
          "kernel_size missing");
    CHECK(status_of(&cvm_def_CONV2D, CONV("strides", "None", NULL), 3, in) == 2,
          "a shape attribute cannot be None");
    CHECK(status_of(&cvm_def_CONV2D, CONV("use_bias", "yes", NULL), 3, in) == 2, "bad bool");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_dtype", "int33", NULL), 3, in) == 2,
          "out_dtype outside the enum");
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1, 1)", "__hidden__", "x", NULL), 3,
                    in) == 0,
          "hidden keys are ignored");

    /* Shape inference VERIFYs: status 1. */
    CHECK(status_of(&cvm_def_CONV2D, CONV("layout", "NHWC", NULL), 3, in) == 1, "layout NHWC");
    CHECK(status_of(&cvm_def_CONV2D, CONV("kernel_layout", "HWIO", NULL), 3, in) == 1,
          "kernel_layout HWIO");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "NHWC", NULL), 3, in) == 1,
          "out_layout NHWC (well formed)");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "NCHW", NULL), 3, in) == 0,
          "out_layout NCHW");
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(4097, 0)", NULL), 3, in) == 1,
          "padding above 4096");
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1,)", NULL), 3, in) == 1,
          "padding with one value");
    CHECK(status_of(&cvm_def_CONV2D, CONV("dilation", "(1, 4097)", NULL), 3, in) == 1,
          "dilation above 4096");
    CHECK(status_of(&cvm_def_CONV2D, CONV("dilation", "(4, 4)", NULL), 3, in) == 1,
          "dilated kernel 9 > 8");
    CHECK(status_of(&cvm_def_CONV2D, CONV("groups", "0", NULL), 3, in) == 1, "groups 0");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_dtype", "int8", NULL), 3, in) == 1,
          "out_dtype int8 fails type inference");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_dtype", "int32", NULL), 3, in) == 0,
          "out_dtype int32");
    dv_shape data3d[3] = {{3, {3, 8, 8}}, in[1], in[2]};
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1, 1)", NULL), 3, data3d) == 1,
          "3-D data");

    /* The weight and bias shapes the op assigns: a mismatch is LOG(FATAL), status 2, unless
     * an earlier VERIFY fails first. */
    dv_shape wrong_weight[3] = {in[0], shape4(3, 3, 1, 1), in[2]};
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1, 1)", NULL), 3, wrong_weight) == 2,
          "weight shape differs");
    CHECK(status_of(&cvm_def_CONV2D, CONV("strides", "(0, 1)", NULL), 3, wrong_weight) == 1,
          "stride VERIFY precedes the weight assignment");
    dv_shape wrong_bias[3] = {in[0], in[1], shape1(4)};
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1, 1)", NULL), 3, wrong_bias) == 2,
          "bias shape differs");
    dv_shape bias2d[3] = {in[0], in[1], shape2(3, 1)};
    CHECK(status_of(&cvm_def_CONV2D, CONV("padding", "(1, 1)", NULL), 3, bias2d) == 2,
          "bias rank differs");
    CHECK(status_of(&cvm_def_CONV2D, CONV("kernel_size", "(-3, 3)", NULL), 3, in) == 2,
          "negative kernel size cannot match the weight");
    CHECK(status_of(&cvm_def_CONV2D,
                    (const char *const[]){"channels", "-3", "kernel_size", "(3, 3)", NULL}, 3,
                    in) == 2,
          "negative channels cannot match the weight");
    /* channels 0 matches any weight in the runtime's assignment, and then its output shape
     * (N, 0, H, W) matches no JSON shape: status 1. */
    CHECK(status_of(&cvm_def_CONV2D,
                    (const char *const[]){"channels", "0", "kernel_size", "(3, 3)", NULL}, 3,
                    in) == 1,
          "channels 0");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "NC1", NULL), 3, in) == 1,
          "out_layout with a trailing factor is well formed");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "NCHWc", NULL), 3, in) == 2,
          "out_layout split axis without factor");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "NCHW8c", NULL), 3, in) == 1,
          "out_layout NCHW8c is well formed");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "NCC", NULL), 3, in) == 2,
          "out_layout repeats an axis");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "", NULL), 3, in) == 2,
          "out_layout empty");
    CHECK(status_of(&cvm_def_CONV2D, CONV("out_layout", "N-CHW", NULL), 3, in) == 2,
          "out_layout with a stray character");
    CHECK(status_of(&cvm_def_CONV2D, CONV("layout", "NHWC", "out_layout", "N-CHW", NULL), 3,
                    in) == 1,
          "layout VERIFY precedes the out_layout parse");

    /* Canonical attributes and precision: 8 + 8 + bits(27) = 21, then max(21, bias 8) + 1. */
    cvm_case c;
    CHECK(cvm_status(&cvm_def_CONV2D,
                     CONV("strides", "(2, 1)", "padding", "(1, 0)", "dilation", "[1,2]", NULL),
                     3, in, &c) == 0,
          "strides/padding/dilation accepted");
    const int32_t want[13] = {3, 3, 3, 2, 1, 1, 0, 1, 0, 1, 2, 1, 1};
    CHECK(c.node.n_attr == 13 && memcmp(c.node.attr, want, sizeof want) == 0,
          "canonical conv2d attributes");
    CHECK(c.node.opcode == DV_OP_CONV2D && c.node.n_in_expected == 3 && c.node.n_out == 1,
          "conv2d node");
    dv_shape out = shape4(1, 3, 4, 4);
    CHECK(cvm_def_CONV2D.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 22,
          "conv2d precision %d", c.node.out_prec[0]);
    c.in_prec[2] = 30;
    CHECK(cvm_def_CONV2D.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 31,
          "conv2d precision with a wide bias");
    c.in_prec[0] = 9;
    CHECK(cvm_def_CONV2D.precision(&c.node, &out, &c.err) != 0 && c.err.status == 1,
          "invalid_conv_input_prec: data precision 9");
    c.in_prec[0] = 8;
    c.in_prec[1] = 9;
    CHECK(cvm_def_CONV2D.precision(&c.node, &out, &c.err) != 0 && c.err.status == 1,
          "conv2d weight precision 9");
    CHECK(cvm_status(&cvm_def_CONV2D, CONV("use_bias", "0", NULL), 2, in, &c) == 0,
          "conv2d without bias");
    CHECK(cvm_def_CONV2D.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 21,
          "conv2d precision without bias");
#undef CONV
}

static void test_cvm_dense(void)
{
    dv_shape in[3] = {shape2(1, 12), shape2(4, 12), shape1(4)};
#define DENSE(...) ((const char *const[]){"units", "4", __VA_ARGS__})
    CHECK(status_of(&cvm_def_DENSE, DENSE("use_bias", "True", NULL), 3, in) == 0, "baseline");
    dv_shape data3d[2] = {{3, {1, 3, 4}}, shape2(4, 4)};
    CHECK(status_of(&cvm_def_DENSE, DENSE("use_bias", "False", NULL), 2, data3d) == 1,
          "invalid_dense_3d");
    dv_shape wrong_bias[3] = {in[0], in[1], shape1(5)};
    CHECK(status_of(&cvm_def_DENSE, DENSE("use_bias", "True", NULL), 3, wrong_bias) == 2,
          "invalid_var_shape_mismatch: bias shape differs");
    dv_shape wrong_weight[3] = {in[0], shape2(4, 11), in[2]};
    CHECK(status_of(&cvm_def_DENSE, DENSE(NULL), 3, wrong_weight) == 2, "weight shape differs");
    dv_shape weight3d[3] = {in[0], {3, {4, 12, 1}}, in[2]};
    CHECK(status_of(&cvm_def_DENSE, DENSE(NULL), 3, weight3d) == 1, "3-D weight");
    CHECK(status_of(&cvm_def_DENSE, DENSE(NULL), 2, in) == 1, "bias missing");
    CHECK(status_of(&cvm_def_DENSE, (const char *const[]){"units", "0", NULL}, 3, in) == 2,
          "units below its declared bound");
    CHECK(status_of(&cvm_def_DENSE, (const char *const[]){NULL}, 3, in) == 2, "units missing");
    CHECK(status_of(&cvm_def_DENSE, DENSE("use_bias", "None", NULL), 3, in) == 2,
          "use_bias None");

    /* 8 + 8 + bits(12) = 20, then max(20, 8) + 1 = 21; 20 without bias. */
    cvm_case c;
    CHECK(cvm_status(&cvm_def_DENSE, DENSE(NULL), 3, in, &c) == 0, "dense accepted");
    const int32_t want[2] = {4, 1};
    CHECK(c.node.n_attr == 2 && memcmp(c.node.attr, want, sizeof want) == 0,
          "canonical dense attributes");
    dv_shape out = shape2(1, 4);
    CHECK(cvm_def_DENSE.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 21,
          "dense precision %d", c.node.out_prec[0]);
    c.in_prec[1] = 9;
    CHECK(cvm_def_DENSE.precision(&c.node, &out, &c.err) != 0 && c.err.status == 1,
          "invalid_dense_weight_prec: weight precision 9");
    CHECK(cvm_status(&cvm_def_DENSE, DENSE("use_bias", "false", NULL), 2, in, &c) == 0,
          "dense without bias");
    CHECK(cvm_def_DENSE.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 20,
          "dense precision without bias");
#undef DENSE
}

static void test_cvm_max_pool2d(void)
{
    dv_shape in[1] = {shape4(1, 2, 5, 5)};
#define POOL(...) ((const char *const[]){"pool_size", "(2, 2)", __VA_ARGS__})
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL(NULL), 1, in) == 0, "baseline");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("padding", "(2, 2)", NULL), 1, in) == 1,
          "invalid_pool_padding: padding not smaller than pool_size");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("padding", "(1, 2, 1, 2)", NULL), 1, in) == 1,
          "four padding values");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("padding", "()", NULL), 1, in) == 1,
          "no padding values");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("padding", "-1", NULL), 1, in) == 1,
          "negative padding");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("strides", "(1, 4097)", NULL), 1, in) == 1,
          "stride above 4096");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("layout", "NHWC", NULL), 1, in) == 1,
          "layout NHWC");
    CHECK(status_of(&cvm_def_MAX_POOL2D, POOL("ceil_mode", "maybe", NULL), 1, in) == 2,
          "ceil_mode not a bool");
    CHECK(status_of(&cvm_def_MAX_POOL2D, (const char *const[]){"pool_size", "(6, 2)", NULL}, 1,
                    in) == 1,
          "pool larger than the input");
    CHECK(status_of(&cvm_def_MAX_POOL2D, (const char *const[]){"pool_size", "(2,)", NULL}, 1,
                    in) == 1,
          "pool_size with one value");
    CHECK(status_of(&cvm_def_MAX_POOL2D, (const char *const[]){NULL}, 1, in) == 2,
          "pool_size missing");
    /* ceil_mode, pool 3, stride 3, padding 2 on 5: output (5+4-3+2)/3+1 = 3, and the last
     * window starts at 2*3-2 = 4 < 5: accepted. Pool 3 stride 4 padding 2 on 5:
     * (5+4-3+3)/4+1 = 3, last start 2*4-2 = 6 >= 5: rejected. */
    CHECK(status_of(&cvm_def_MAX_POOL2D,
                    (const char *const[]){"pool_size", "(3, 3)", "strides", "(3, 3)", "padding",
                                          "2", "ceil_mode", "true", NULL},
                    1, in) == 0,
          "ceil_mode window inside");
    CHECK(status_of(&cvm_def_MAX_POOL2D,
                    (const char *const[]){"pool_size", "(3, 3)", "strides", "(4, 4)", "padding",
                                          "2", "ceil_mode", "true", NULL},
                    1, in) == 1,
          "ceil_mode window past the data");

    cvm_case c;
    CHECK(cvm_status(&cvm_def_MAX_POOL2D,
                     (const char *const[]){"pool_size", "[3,2]", "strides", "[3,3]", "padding",
                                           "[0,1]", NULL},
                     1, in, &c) == 0,
          "max_pool2d_4 attributes");
    const int32_t want[9] = {3, 2, 3, 3, 0, 1, 0, 1, 0};
    CHECK(c.node.n_attr == 9 && memcmp(c.node.attr, want, sizeof want) == 0,
          "canonical max_pool2d attributes");
    CHECK(cvm_status(&cvm_def_MAX_POOL2D, POOL("padding", "1", "ceil_mode", "1", NULL), 1, in,
                     &c) == 0,
          "one padding value");
    const int32_t want_one[9] = {2, 2, 1, 1, 1, 1, 1, 1, 1};
    CHECK(memcmp(c.node.attr, want_one, sizeof want_one) == 0, "one padding value for both");
    c.in_prec[0] = 13;
    CHECK(cvm_def_MAX_POOL2D.precision(&c.node, in, &c.err) == 0 && c.node.out_prec[0] == 13,
          "max_pool2d keeps the precision");
#undef POOL
}

static void test_cvm_upsampling(void)
{
    dv_shape in[1] = {shape4(1, 2, 3, 3)};
    CHECK(status_of(&cvm_def_UPSAMPLING, (const char *const[]){"scale", "2", NULL}, 1, in) == 0,
          "baseline");
    CHECK(status_of(&cvm_def_UPSAMPLING,
                    (const char *const[]){"scale", "2", "method", "BILINEAR", NULL}, 1,
                    in) == 1,
          "invalid_upsampling_method");
    CHECK(status_of(&cvm_def_UPSAMPLING, (const char *const[]){"scale", "0", NULL}, 1, in) == 1,
          "scale 0");
    CHECK(status_of(&cvm_def_UPSAMPLING, (const char *const[]){"scale", "4097", NULL}, 1,
                    in) == 1,
          "scale above 4096");
    CHECK(status_of(&cvm_def_UPSAMPLING,
                    (const char *const[]){"scale", "2", "layout", "NHWC", NULL}, 1, in) == 1,
          "layout NHWC");
    CHECK(status_of(&cvm_def_UPSAMPLING, (const char *const[]){"scale", "2.5", NULL}, 1,
                    in) == 2,
          "scale not an int");
    CHECK(status_of(&cvm_def_UPSAMPLING, (const char *const[]){NULL}, 1, in) == 2,
          "scale missing");
    dv_shape flat[1] = {{3, {2, 3, 3}}};
    CHECK(status_of(&cvm_def_UPSAMPLING,
                    (const char *const[]){"scale", "2", "method", "BILINEAR", NULL}, 1,
                    flat) == 1,
          "3-D data");
    cvm_case c;
    CHECK(cvm_status(&cvm_def_UPSAMPLING, (const char *const[]){"scale", "3", NULL}, 1, in,
                     &c) == 0 &&
              c.node.n_attr == 1 && c.node.attr[0] == 3,
          "canonical upsampling attributes");
    c.in_prec[0] = 5;
    CHECK(cvm_def_UPSAMPLING.precision(&c.node, in, &c.err) == 0 && c.node.out_prec[0] == 5,
          "upsampling keeps the precision");
}

int main(void)
{
    test_conv2d();
    test_conv2d_extreme_geometry();
    test_conv2d_infer_rejects();
    test_dense();
    test_max_pool2d();
    test_upsampling();
    test_cvm_conv2d();
    test_cvm_dense();
    test_cvm_max_pool2d();
    test_cvm_upsampling();
    return check_summary("test_ops_nn");
}
