/* Unit tests of the kmodel v3 CPU layers (ops/k210_sdk.c) and of the deterministic float
 * functions they use (ops/fmath.c). Expected values are worked out by hand in the comments,
 * or, for the float functions, taken from the C library (glibc) over large sweeps. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "fmath.h"
#include "kimage.h"
#include "kpu.h"
#include "op.h"

#define COUNT(...) (sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t))
#define ATTRS(...) ((dv_attrs){(const int32_t[]){__VA_ARGS__}, (uint32_t)COUNT(__VA_ARGS__)})

#define WORDS 64 /* every test image: 256 bytes */

typedef struct {
    int32_t w[WORDS];
} image;

static float f32(const image *m, uint32_t at) { return dv_image_f32(m->w, at); }
static uint8_t u8(const image *m, uint32_t at) { return dv_image_u8(m->w, at); }
static void set_f32(image *m, uint32_t at, float v) { dv_image_put_f32(m->w, at, v); }
static void set_u8(image *m, uint32_t at, uint8_t v) { dv_image_put_u8(m->w, at, v); }
static uint32_t bits(float f) { return dv_f32_bits(f); }

/* Runs `opcode` with the images in[0..n_in) (in[k] of words[k] words) after checking that
 * infer accepts it and keeps the first image's shape; the result goes to *out. */
static int run_op(uint32_t opcode, dv_attrs a, uint32_t n_in, const int32_t *const *in,
                  const uint32_t *words, int32_t *out, uint32_t out_words, int line)
{
    const dv_op_info *op = dv_op_lookup(opcode);
    dv_shape shapes[4], result;
    dv_tensor tin[4], tout;
    for (uint32_t i = 0; i < n_in; i++) {
        shapes[i] = (dv_shape){1, {words[i]}};
        tin[i] = (dv_tensor){(int32_t *)in[i], shapes[i]};
    }
    const char *why = op ? op->infer(&a, n_in, shapes, 1, &result) : "no such op";
    CHECK(!why && result.dim[0] == out_words, "line %d: %s", line, why ? why : "other shape");
    if (why)
        return -1;
    tout = (dv_tensor){out, result};
    op->run(&a, n_in, tin, 1, &tout, NULL);
    return 0;
}

/* One main image in, one out. */
static int run_main(uint32_t opcode, dv_attrs a, const image *in, image *out, int line)
{
    const int32_t *ins[1] = {in->w};
    uint32_t words[1] = {WORDS};
    return run_op(opcode, a, 1, ins, words, out->w, WORDS, line);
}

/* A main image and a constant. */
static int run_const(uint32_t opcode, dv_attrs a, const image *in, const int32_t *c,
                     uint32_t c_words, image *out, int line)
{
    const int32_t *ins[2] = {in->w, c};
    uint32_t words[2] = {WORDS, c_words};
    return run_op(opcode, a, 2, ins, words, out->w, WORDS, line);
}

static void expect_reject(uint32_t opcode, dv_attrs a, uint32_t n_in, const uint32_t *words,
                          int line)
{
    const dv_op_info *op = dv_op_lookup(opcode);
    dv_shape shapes[4], out;
    for (uint32_t i = 0; i < n_in; i++)
        shapes[i] = (dv_shape){1, {words[i]}};
    CHECK(op && op->infer(&a, n_in, shapes, 1, &out) != NULL, "line %d: %s accepted", line,
          op ? op->name : "?");
}

#define REJECT(opcode, a) expect_reject(opcode, a, 1, (const uint32_t[]){WORDS}, __LINE__)
#define REJECT2(opcode, a, c_words) \
    expect_reject(opcode, a, 2, (const uint32_t[]){WORDS, c_words}, __LINE__)
#define RUN(opcode, a, in, out) run_main(opcode, a, in, out, __LINE__)
#define RUN_C(opcode, a, in, c, c_words, out) run_const(opcode, a, in, c, c_words, out, __LINE__)

/* ---- the float functions ------------------------------------------------------------- */

static int same_float(float a, float b) { return (a != a && b != b) || bits(a) == bits(b); }

/* dv_expf against glibc's expf: every 37th float of [-104, 89] (about 60 million, where
 * results are neither 0 nor infinite, and every input of softmax and logistic lands in the
 * interesting part), plus specials. glibc's SSE2-only build (CPUs without FMA) differs from
 * its FMA build, and from dv_expf, on two inputs only (checked over all 2^32 floats when
 * dv_expf was written); there the FMA build's values are checked. */
static void test_expf(void)
{
    CHECK(bits(dv_expf(0x1.04845ep+5f)) == bits(0x1.f93e38p+46f));
    CHECK(bits(dv_expf(-0x1.f8cbb2p+5f)) == bits(0x1.f45326p-92f));
    CHECK(dv_expf(0.0f) == 1.0f && dv_expf(-0.0f) == 1.0f);
    CHECK(bits(dv_expf(-INFINITY)) == 0 && dv_expf(INFINITY) == INFINITY);
    CHECK(bits(dv_expf(NAN)) == DV_F32_QNAN && bits(dv_expf(-NAN)) == DV_F32_QNAN);
    CHECK(dv_expf(89.0f) == INFINITY && dv_expf(0x1.62e42ep6f) < INFINITY);
    CHECK(bits(dv_expf(-104.0f)) == 0 && dv_expf(-103.0f) > 0);
    CHECK(dv_expf(1e-30f) == 1.0f);
#ifdef __GLIBC__
    long checked = 0, differ = 0;
    uint32_t lo = bits(-104.0f), hi = bits(89.0f);
    /* negatives: bits from 0x80000000 (-0) up to lo; positives: 0 up to hi */
    for (uint64_t u = 0x80000000u; u <= lo; u += 37) {
        float x = dv_f32_from_bits((uint32_t)u);
        if (bits(x) == bits(-0x1.f8cbb2p+5f))
            continue;
        checked++;
        if (!same_float(dv_expf(x), expf(x)) && differ++ < 3)
            CHECK(0, "expf(%a): glibc %a, dv_expf %a", x, expf(x), dv_expf(x));
    }
    for (uint64_t u = 0; u <= hi; u += 37) {
        float x = dv_f32_from_bits((uint32_t)u);
        if (bits(x) == bits(0x1.04845ep+5f))
            continue;
        checked++;
        if (!same_float(dv_expf(x), expf(x)) && differ++ < 3)
            CHECK(0, "expf(%a): glibc %a, dv_expf %a", x, expf(x), dv_expf(x));
    }
    CHECK(differ == 0 && checked > 50000000, "%ld of %ld differ", differ, checked);
    /* outside the range too: every 4099th float */
    for (uint64_t u = 0; u <= 0xffffffffu; u += 4099) {
        float x = dv_f32_from_bits((uint32_t)u);
        if (!same_float(dv_expf(x), expf(x)) && differ++ < 3)
            CHECK(0, "expf(%a): glibc %a, dv_expf %a", x, expf(x), dv_expf(x));
    }
    CHECK(differ == 0);
#else
    SKIP("expf sweep: the C library is not glibc, whose expf dv_expf reproduces");
#endif
}

/* sqrtf, roundf and floorf are exact functions: any conforming C library gives them. */
static void test_sqrt_round_floor(void)
{
    long differ = 0;
    for (uint64_t u = 0; u <= 0xffffffffu; u += 97) {
        float x = dv_f32_from_bits((uint32_t)u);
        differ += !same_float(dv_sqrtf(x), sqrtf(x));
        differ += !same_float(dv_roundf(x), roundf(x));
        differ += !same_float(dv_floorf(x), floorf(x));
    }
    CHECK(differ == 0, "%ld results differ from the C library", differ);
    CHECK(dv_sqrtf(4.0f) == 2.0f && dv_sqrtf(2.0f) == 0x1.6a09e6p+0f);
    CHECK(bits(dv_sqrtf(-0.0f)) == 0x80000000u && bits(dv_sqrtf(-1.0f)) == DV_F32_QNAN);
    CHECK(dv_sqrtf(0x1p-149f) == 0x1.6a09e6p-75f && dv_sqrtf(INFINITY) == INFINITY);
    CHECK(dv_roundf(0.5f) == 1.0f && dv_roundf(-0.5f) == -1.0f && dv_roundf(2.5f) == 3.0f);
    CHECK(bits(dv_roundf(-0.49999997f)) == 0x80000000u && dv_roundf(0x1.fffffep22f) == 0x1p23f);
    CHECK(dv_floorf(-0.5f) == -1.0f && bits(dv_floorf(0.5f)) == 0 && dv_floorf(-2.0f) == -2.0f);
    CHECK(dv_floorf(-0x1.fffffep22f) == -0x1p23f);
}

/* ---- the layers ------------------------------------------------------------------------ */

static void test_add(void)
{
    image in = {{0}}, out;
    for (int i = 0; i < 4; i++) {
        set_f32(&in, 4 * i, (float)i);         /* a = 0 1 2 3 at 0 */
        set_f32(&in, 16 + 4 * i, 0.5f);        /* b = .5 .5 .5 .5 at 16 */
    }
    /* out at 4 overlaps a shifted by one element: the SDK's loop sees its own writes:
     * out[0] = a0 + b0 = 0.5 -> a1; out[1] = 0.5 + 0.5 = 1 -> a2; out[2] = 1.5; out[3] = 2 */
    if (!RUN(DV_OP_SDK_ADD, ATTRS(0, 16, 4, 4), &in, &out))
        CHECK(f32(&out, 4) == 0.5f && f32(&out, 8) == 1.0f && f32(&out, 12) == 1.5f &&
              f32(&out, 16) == 2.0f && f32(&out, 0) == 0.0f);
    REJECT(DV_OP_SDK_ADD, ATTRS(0, 16, 4));
    REJECT(DV_OP_SDK_ADD, ATTRS(0, 16, 250, 2));  /* out runs past 256 bytes */
    REJECT(DV_OP_SDK_ADD, ATTRS(-4, 16, 4, 2));
    REJECT(DV_OP_SDK_ADD, ATTRS(0, 0, 0, 0x40000000));
}

static void test_quantized_add(void)
{
    image in = {{0}}, out;
    /* a = 10, 20 at 0; b = 30, 40 at 16; count 2 (the SDK processes 8) */
    set_u8(&in, 0, 10), set_u8(&in, 1, 20), set_u8(&in, 16, 30), set_u8(&in, 17, 40);
    /* equal shifts: ((a - 5) * 3 + (b + 1) * 2) >> 1, * 5, carry_shift 2, + 7:
     * a=10 b=30: (15 + 62) >> 1 = 38; * 5 = 190; 190 >> 1 = 95, odd -> 47 + 1 = 48; + 7 = 55
     * a=20 b=40: (45 + 82) >> 1 = 63; 315 >> 1 = 157, odd -> 78 + 1 = 79; + 7 = 86
     * a=0 b=0 (elements 2..7): (-15 + 2) >> 1 = -7 (floor); -35 >> 1 = -18, even -> -9;
     *   + 7 = -2 -> 0 */
    if (!RUN(DV_OP_SDK_QUANTIZED_ADD, ATTRS(0, 16, 32, 2, -5, 3, 1, 1, 2, 1, 7, 5, 2), &in,
             &out)) {
        CHECK(u8(&out, 32) == 55 && u8(&out, 33) == 86);
        for (uint32_t i = 34; i < 40; i++) /* the rest of the group of 8 is written too */
            CHECK(u8(&out, i) == 0);
    }
    /* different shifts: (a * 1) >> 0 + (b * 1) >> 2, * 1, carry_shift 0, offset -3, with
     * a = 200, b = 255: 200 + 63 = 263 - 3 = 260 -> 255 */
    set_u8(&in, 0, 200), set_u8(&in, 16, 255);
    if (!RUN(DV_OP_SDK_QUANTIZED_ADD, ATTRS(0, 16, 32, 1, 0, 1, 0, 0, 1, 2, -3, 1, 0), &in,
             &out))
        CHECK(u8(&out, 32) == 255 && u8(&out, 33) == 20 - 3 + 10);
    /* carry_shift on a negative odd value: -3 * 1 = -3; shift 1: -3 >> 0 = -3, odd ->
     * (-3 >> 1) - 1 = -3; + 10 = 7 (round half up would give -1 + 10 = 9) */
    set_u8(&in, 0, 0), set_u8(&in, 16, 0);
    if (!RUN(DV_OP_SDK_QUANTIZED_ADD, ATTRS(0, 16, 32, 1, -3, 1, 0, 0, 0, 0, 10, 1, 1), &in,
             &out))
        CHECK(u8(&out, 32) == 7);
    REJECT(DV_OP_SDK_QUANTIZED_ADD, ATTRS(0, 16, 32, 1, 0, 1, 64, 0, 1, 2, 0, 1, 0));
    REJECT(DV_OP_SDK_QUANTIZED_ADD, ATTRS(0, 16, 32, 1, 0, 1, 0, 0, 1, 2, 0, 1, -1));
    REJECT(DV_OP_SDK_QUANTIZED_ADD, ATTRS(0, 16, 250, 1, 0, 1, 0, 0, 1, 2, 0, 1, 0)); /* 8 */
    /* extreme parameters wrap instead of overflowing (UBSan would object) */
    set_u8(&in, 0, 255), set_u8(&in, 16, 255);
    RUN(DV_OP_SDK_QUANTIZED_ADD,
        ATTRS(0, 16, 32, 8, INT32_MAX, INT32_MIN, 0, INT32_MAX, INT32_MIN, 0, INT32_MAX,
              INT32_MIN, 63),
        &in, &out);
}

static void test_global_average_pool(void)
{
    image in = {{0}}, out;
    float v[6] = {1, 2, 4, 0.5f, 0.25f, 0.125f};
    for (int i = 0; i < 6; i++)
        set_f32(&in, 4 * i, v[i]);
    /* kernel 3, 2 channels: (1 + 2 + 4) / 3 = 7/3 and 0.875 / 3 */
    if (!RUN(DV_OP_SDK_GLOBAL_AVERAGE_POOL2D, ATTRS(0, 100, 3, 2), &in, &out))
        CHECK(f32(&out, 100) == 7.0f / 3.0f && f32(&out, 104) == 0.875f / 3.0f);
    REJECT(DV_OP_SDK_GLOBAL_AVERAGE_POOL2D, ATTRS(0, 100, 64, 2));
    REJECT(DV_OP_SDK_GLOBAL_AVERAGE_POOL2D, ATTRS(0, 100, 0x10000, 0x10000));
}

static void test_pools(void)
{
    image in = {{0}}, out;
    /* a 4 x 3 (w x h) uint8 map: value 10 * y + x */
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            set_u8(&in, (uint32_t)(4 * y + x), (uint8_t)(10 * y + x));
    /* 2x2 windows, stride 2, padding 1 on both axes: output 3 x 2:
     * (0,0): window rows -1..0, cols -1..0 -> only (0,0) = 0
     * (0,1): cols 1..2 -> max(1, 2) = 2; (0,2): cols 3..4 -> 3
     * (1,0): rows 1..2 col 0 -> 20; (1,1): 22; (1,2): 23 */
    if (!RUN(DV_OP_SDK_QUANTIZED_MAX_POOL2D, ATTRS(0, 100, 4, 3, 3, 2, 1, 2, 2, 2, 2, 1, 1),
             &in, &out)) {
        static const uint8_t want[6] = {0, 2, 3, 20, 22, 23};
        for (int i = 0; i < 6; i++)
            CHECK(u8(&out, 100 + (uint32_t)i) == want[i], "max pool %d: %u", i,
                  u8(&out, 100 + (uint32_t)i));
    }
    /* average of floats over the clipped windows: a 3 x 2 float map 1..6 at 0; 2x2, stride
     * 1, pad 0, output 2 x 1: (1 + 2 + 4 + 5) / 4 = 3 and (2 + 3 + 5 + 6) / 4 = 4; with
     * pad 1 and output 1 x 1 the window is only (0,0): 1 / 1 */
    for (int i = 0; i < 6; i++)
        set_f32(&in, 4 * i, (float)(i + 1));
    if (!RUN(DV_OP_SDK_AVERAGE_POOL2D, ATTRS(0, 100, 3, 2, 2, 1, 1, 2, 2, 1, 1, 0, 0), &in,
             &out))
        CHECK(f32(&out, 100) == 3.0f && f32(&out, 104) == 4.0f);
    if (!RUN(DV_OP_SDK_AVERAGE_POOL2D, ATTRS(0, 100, 3, 2, 1, 1, 1, 2, 2, 1, 1, 1, 1), &in,
             &out))
        CHECK(f32(&out, 100) == 1.0f);
    /* an empty window (kernel 0) averages to NaN, stored as the canonical quiet NaN */
    if (!RUN(DV_OP_SDK_AVERAGE_POOL2D, ATTRS(0, 100, 3, 2, 1, 1, 1, 0, 2, 1, 1, 0, 0), &in,
             &out))
        CHECK(dv_image_u32(out.w, 100) == DV_F32_QNAN);
    /* a window starting past the input (origin 2*2 - 0 = 4 > width 3) is refused */
    REJECT(DV_OP_SDK_QUANTIZED_MAX_POOL2D, ATTRS(0, 100, 3, 2, 3, 1, 1, 2, 2, 2, 2, 0, 0));
    REJECT(DV_OP_SDK_QUANTIZED_MAX_POOL2D, ATTRS(0, 100, 3, 2, 3, 1, 1, 2, 2, 2, 2, 0));
    REJECT(DV_OP_SDK_QUANTIZED_MAX_POOL2D,
           ATTRS(0, 100, 3, 2, 1, 1, 1, 2, 2, 2, 2, 0x40000001, 0));
    REJECT(DV_OP_SDK_AVERAGE_POOL2D, ATTRS(0, 100, 9, 8, 2, 1, 1, 2, 2, 1, 1, 0, 0));
}

static void test_quantize(void)
{
    image in = {{0}}, out;
    /* (x - 1) * (1 / 0.5): 1.25 -> 0.5 -> 1 (half away from zero); 2.75 -> 3.5 -> 4;
     * 0.5 -> -1 -> 0; 200 -> 398 -> 255; NaN -> 0; 3e9 -> 0 (x86's INT_MIN, clamped) */
    float x[6] = {1.25f, 2.75f, 0.5f, 200.0f, NAN, 3e9f};
    for (int i = 0; i < 6; i++)
        set_f32(&in, 4 * i, x[i]);
    if (!RUN(DV_OP_SDK_QUANTIZE, ATTRS(0, 100, 6, (int32_t)bits(0.5f), (int32_t)bits(1.0f)),
             &in, &out)) {
        static const uint8_t want[6] = {1, 4, 0, 255, 0, 0};
        for (int i = 0; i < 6; i++)
            CHECK(u8(&out, 100 + (uint32_t)i) == want[i], "quantize %d", i);
    }
    /* dequantize: q * 0.5 + -1: 3 -> 0.5, 0 -> -1, 255 -> 126.5 */
    set_u8(&in, 200, 3), set_u8(&in, 201, 0), set_u8(&in, 202, 255);
    if (!RUN(DV_OP_SDK_DEQUANTIZE, ATTRS(200, 0, 3, (int32_t)bits(0.5f), (int32_t)bits(-1.0f)),
             &in, &out))
        CHECK(f32(&out, 0) == 0.5f && f32(&out, 4) == -1.0f && f32(&out, 8) == 126.5f);
    /* the golden models' arithmetic: q * scale rounded, then + bias rounded (no FMA):
     * 7 * 0.1f = 0.70000005f; + 0.3f = 1.0000001f (fused: 1.0f) */
    set_u8(&in, 200, 7);
    if (!RUN(DV_OP_SDK_DEQUANTIZE, ATTRS(200, 0, 1, (int32_t)bits(0.1f), (int32_t)bits(0.3f)),
             &in, &out)) {
        volatile float p = 7.0f * 0.1f;
        CHECK(bits(f32(&out, 0)) == bits(p + 0.3f));
    }
    REJECT(DV_OP_SDK_QUANTIZE, ATTRS(0, 100, 65, 0, 0));
    REJECT(DV_OP_SDK_DEQUANTIZE, ATTRS(200, 0, 57, 0, 0));
    REJECT(DV_OP_SDK_DEQUANTIZE, ATTRS(200, 0, -1, 0, 0));
}

static void test_channelwise_dequantize(void)
{
    image in = {{0}}, out;
    int32_t params[4] = {(int32_t)bits(2.0f), (int32_t)bits(1.0f), (int32_t)bits(-1.0f),
                         (int32_t)bits(0.5f)};
    /* 2 channels of 2: channel 0 (x2 + 1): 1 -> 3, 2 -> 5; channel 1 (-x + .5): 3 -> -2.5,
     * 4 -> -3.5 */
    for (int i = 0; i < 4; i++)
        set_u8(&in, 200 + (uint32_t)i, (uint8_t)(i + 1));
    if (!RUN_C(DV_OP_SDK_CHANNELWISE_DEQUANTIZE, ATTRS(200, 0, 2, 2), &in, params, 4, &out))
        CHECK(f32(&out, 0) == 3.0f && f32(&out, 4) == 5.0f && f32(&out, 8) == -2.5f &&
              f32(&out, 12) == -3.5f);
    REJECT2(DV_OP_SDK_CHANNELWISE_DEQUANTIZE, ATTRS(200, 0, 2, 2), 3);
    REJECT2(DV_OP_SDK_CHANNELWISE_DEQUANTIZE, ATTRS(200, 0, 2, 100), 4);
}

static void test_requantize(void)
{
    image in = {{0}}, out;
    int32_t table[64];
    for (uint32_t i = 0; i < 256; i++)
        dv_image_put_u8(table, i, (uint8_t)(255 - i));
    set_u8(&in, 0, 0), set_u8(&in, 1, 100), set_u8(&in, 2, 255);
    /* in place: out = in */
    if (!RUN_C(DV_OP_SDK_REQUANTIZE, ATTRS(0, 0, 3), &in, table, 64, &out))
        CHECK(u8(&out, 0) == 255 && u8(&out, 1) == 155 && u8(&out, 2) == 0);
    REJECT2(DV_OP_SDK_REQUANTIZE, ATTRS(0, 0, 3), 63);
    REJECT2(DV_OP_SDK_REQUANTIZE, ATTRS(0, 0, 257), 64);
}

static void test_vectors(void)
{
    image in = {{0}}, out;
    /* l2: [3, 4] -> sum 25, k = 1 / sqrtf(25) = 0.2f; 3 * 0.2f, 4 * 0.2f */
    set_f32(&in, 0, 3.0f), set_f32(&in, 4, 4.0f);
    if (!RUN(DV_OP_SDK_L2_NORMALIZATION, ATTRS(0, 100, 2), &in, &out)) {
        volatile float k = 1.0f / 5.0f;
        CHECK(f32(&out, 100) == 3.0f * k && f32(&out, 104) == 4.0f * k);
    }
    /* zeros: the sum is raised to 1e-10f, so 0 * k = 0 */
    set_f32(&in, 0, 0.0f), set_f32(&in, 4, 0.0f);
    if (!RUN(DV_OP_SDK_L2_NORMALIZATION, ATTRS(0, 100, 2), &in, &out))
        CHECK(f32(&out, 100) == 0.0f);
    /* softmax of [-1, -1]: max stays FLT_MIN (above both), exp(-1 - FLT_MIN) twice: 0.5 each;
     * of [1, 1, 1, 1]: 0.25 each; of [0, ln 2 rounded] against expf */
    set_f32(&in, 0, -1.0f), set_f32(&in, 4, -1.0f);
    if (!RUN(DV_OP_SDK_SOFTMAX, ATTRS(0, 100, 2), &in, &out))
        CHECK(f32(&out, 100) == 0.5f && f32(&out, 104) == 0.5f);
    for (int i = 0; i < 4; i++)
        set_f32(&in, 4 * i, 1.0f);
    if (!RUN(DV_OP_SDK_SOFTMAX, ATTRS(0, 0, 4), &in, &out)) /* in place */
        CHECK(f32(&out, 0) == 0.25f && f32(&out, 12) == 0.25f);
    set_f32(&in, 0, 2.0f), set_f32(&in, 4, 0.0f);
    if (!RUN(DV_OP_SDK_SOFTMAX, ATTRS(0, 100, 2), &in, &out)) {
        volatile float e = dv_expf(-2.0f), sum = 1.0f + e;
        CHECK(f32(&out, 100) == 1.0f / sum && f32(&out, 104) == e / sum);
    }
    /* a NaN is ignored by the max and gives NaN itself */
    set_f32(&in, 0, NAN), set_f32(&in, 4, 0.5f);
    if (!RUN(DV_OP_SDK_SOFTMAX, ATTRS(0, 100, 2), &in, &out))
        CHECK(dv_image_u32(out.w, 100) == DV_F32_QNAN && dv_image_u32(out.w, 104) == DV_F32_QNAN);
    /* logistic: 0 -> 0.5; -inf -> 1 / (1 + inf) = 0; 1 -> 1 / (1 + expf(-1)) */
    set_f32(&in, 0, 0.0f), set_f32(&in, 4, -INFINITY), set_f32(&in, 8, 1.0f);
    if (!RUN(DV_OP_SDK_LOGISTIC, ATTRS(0, 100, 3), &in, &out)) {
        volatile float d = 1.0f + dv_expf(-1.0f);
        CHECK(f32(&out, 100) == 0.5f && f32(&out, 104) == 0.0f && f32(&out, 108) == 1.0f / d);
    }
    REJECT(DV_OP_SDK_SOFTMAX, ATTRS(0, 100, 40));
    REJECT(DV_OP_SDK_LOGISTIC, ATTRS(0, 100));
    REJECT(DV_OP_SDK_L2_NORMALIZATION, ATTRS(0, -100, 1));
}

static void test_concat(void)
{
    image in = {{0}}, out;
    for (int i = 0; i < 8; i++)
        set_u8(&in, (uint32_t)i, (uint8_t)(i + 1));
    /* [4..6) then [0..3) to 100: 5 6 1 2 3 */
    if (!RUN(DV_OP_SDK_CONCAT, ATTRS(100, 2, 4, 2, 0, 3), &in, &out)) {
        static const uint8_t want[5] = {5, 6, 1, 2, 3};
        for (int i = 0; i < 5; i++)
            CHECK(u8(&out, 100 + (uint32_t)i) == want[i]);
    }
    /* overlapping: copy [0..4) to 2, byte by byte upward: 1 2 1 2 1 2 */
    if (!RUN(DV_OP_SDK_CONCAT, ATTRS(2, 1, 0, 4), &in, &out))
        CHECK(u8(&out, 2) == 1 && u8(&out, 3) == 2 && u8(&out, 4) == 1 && u8(&out, 5) == 2);
    REJECT(DV_OP_SDK_CONCAT, ATTRS(100, 2, 4, 2, 0));
    REJECT(DV_OP_SDK_CONCAT, ATTRS(100, 1, 250, 10));
    REJECT(DV_OP_SDK_CONCAT, ATTRS(250, 1, 0, 10));
    REJECT(DV_OP_SDK_CONCAT, ATTRS(0, -1));
}

static void test_fully_connected(void)
{
    image in = {{0}}, out;
    /* x = [1, 2, 3]; w = [[1, 1, 1], [-1, 0, 0]]; bias = [0.5, -3] -> [6.5, -4] */
    int32_t w[8];
    float wf[8] = {1, 1, 1, -1, 0, 0, 0.5f, -3};
    for (int i = 0; i < 8; i++)
        w[i] = (int32_t)bits(wf[i]);
    set_f32(&in, 0, 1.0f), set_f32(&in, 4, 2.0f), set_f32(&in, 8, 3.0f);
    if (!RUN_C(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 3, 2, 0), &in, w, 8, &out))
        CHECK(f32(&out, 100) == 6.5f && f32(&out, 104) == -4.0f);
    if (!RUN_C(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 3, 2, 1), &in, w, 8, &out))
        CHECK(f32(&out, 100) == 6.5f && bits(f32(&out, 104)) == 0);
    if (!RUN_C(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 3, 2, 2), &in, w, 8, &out))
        CHECK(f32(&out, 100) == 6.0f && bits(f32(&out, 104)) == 0);
    /* in place, out = in: out[0] is written before out[1] reads x again: x becomes
     * [6.5, 2, 3], then out[1] = -6.5 - 3 = -9.5 */
    if (!RUN_C(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 0, 3, 2, 0), &in, w, 8, &out))
        CHECK(f32(&out, 0) == 6.5f && f32(&out, 4) == -9.5f);
    /* the sum is rounded after each product: 1e8 + 1 - 1e8 in float is 0 (not 1) */
    float big[4] = {1e8f, 1.0f, -1e8f, 0.0f};
    int32_t wb[4] = {(int32_t)bits(1.0f), (int32_t)bits(1.0f), (int32_t)bits(1.0f), 0};
    for (int i = 0; i < 3; i++)
        set_f32(&in, 4 * (uint32_t)i, big[i]);
    if (!RUN_C(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 3, 1, 0), &in, wb, 4, &out))
        CHECK(f32(&out, 100) == 0.0f);
    REJECT2(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 3, 2, 3), 8);
    REJECT2(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 3, 2, 0), 7);
    REJECT2(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 250, 3, 2, 0), 8);
    REJECT2(DV_OP_SDK_FULLY_CONNECTED, ATTRS(0, 100, 0x7fffffff, 0x7fffffff, 0), 8);
}

static void test_flatten_resize(void)
{
    image in = {{0}}, out;
    /* CHW 2 x 1 x 3 (c, h, w) = [[a0 a1 a2], [b0 b1 b2]] -> HWC a0 b0 a1 b1 a2 b2 */
    for (int i = 0; i < 6; i++)
        dv_image_put_u32(in.w, 4 * (uint32_t)i, 0xff000000u + (uint32_t)i);
    if (!RUN(DV_OP_SDK_TF_FLATTEN, ATTRS(0, 100, 3, 1, 2), &in, &out)) {
        static const uint32_t order[6] = {0, 3, 1, 4, 2, 5};
        for (int i = 0; i < 6; i++) /* bits copied, NaN payloads and all */
            CHECK(dv_image_u32(out.w, 100 + 4 * (uint32_t)i) == 0xff000000u + order[i]);
    }
    REJECT(DV_OP_SDK_TF_FLATTEN, ATTRS(0, 100, 3, 1, 20));
    /* nearest 2 x 2 -> 3 x 3 (uint8): scale 2/3; rows/cols floor(0), floor(0.67), floor(1.33)
     * = 0, 0, 1: the map [[1, 2], [3, 4]] gives 1 1 2 / 1 1 2 / 3 3 4 */
    set_u8(&in, 0, 1), set_u8(&in, 1, 2), set_u8(&in, 2, 3), set_u8(&in, 3, 4);
    if (!RUN(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 2, 2, 1, 3, 3, 0), &in, &out)) {
        static const uint8_t want[9] = {1, 1, 2, 1, 1, 2, 3, 3, 4};
        for (int i = 0; i < 9; i++)
            CHECK(u8(&out, 100 + (uint32_t)i) == want[i], "resize %d", i);
    }
    /* float, 3 wide -> 1 wide: scale 3, column floor(0) = 0; 2 channels of 3 x 1 */
    for (int i = 0; i < 6; i++)
        set_f32(&in, 4 * (uint32_t)i, (float)i);
    if (!RUN(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 3, 1, 2, 1, 1, 1), &in, &out))
        CHECK(f32(&out, 100) == 0.0f && f32(&out, 104) == 3.0f);
    /* 1 -> 2 wide: scale 0.5: columns 0, 0 (floor 0.5), clamped to in_w - 1 = 0 */
    if (!RUN(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 1, 1, 1, 2, 1, 1), &in, &out))
        CHECK(f32(&out, 100) == 0.0f && f32(&out, 104) == 0.0f);
    REJECT(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 0, 2, 1, 3, 3, 0));
    REJECT(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 2, 2, 1, 3, 3, 2));
    REJECT(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 2, 2, 1, 30, 30, 0));
    REJECT(DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, ATTRS(0, 100, 1 << 25, 1, 0, 3, 3, 0));
}

static void test_padding(void)
{
    static int32_t kpu[DV_KPU_RAM_BYTES / 4], kpu_out[DV_KPU_RAM_BYTES / 4];
    image in = {{0}}, out;
    for (int i = 0; i < 6; i++)
        set_u8(&in, (uint32_t)i, (uint8_t)(100 + i));
    dv_image_put_u8(kpu, 640 + 1, 77); /* a stale byte next to channel 0's pixel */
    /* channel c at row 10 (byte 640) + (c / 4) * 4 rows + (c % 4) * 16 */
    const int32_t *ins[2] = {kpu, in.w};
    uint32_t words[2] = {DV_KPU_RAM_BYTES / 4, WORDS};
    if (!run_op(DV_OP_SDK_ADD_PADDING, ATTRS(0, 640, 6), 2, ins, words, kpu_out,
                DV_KPU_RAM_BYTES / 4, __LINE__)) {
        CHECK(dv_image_u8(kpu_out, 640) == 100 && dv_image_u8(kpu_out, 640 + 16) == 101 &&
              dv_image_u8(kpu_out, 640 + 48) == 103 && dv_image_u8(kpu_out, 640 + 256) == 104 &&
              dv_image_u8(kpu_out, 640 + 256 + 16) == 105 && dv_image_u8(kpu_out, 641) == 77);
        CHECK(dv_kpu_addr(640, 4, 4, 5, 0, 0) == 640 + 256 + 16);
    }
    /* the last channel's byte must lie in KPU RAM: 5 channels from the last row reach
     * 2 MiB - 64 + 256 */
    expect_reject(DV_OP_SDK_ADD_PADDING, ATTRS(0, DV_KPU_RAM_BYTES - 64, 5), 2, words, __LINE__);
    expect_reject(DV_OP_SDK_ADD_PADDING, ATTRS(250, 640, 7), 2, words, __LINE__);
    /* remove: out[c] = in[16 c] */
    for (int c = 0; c < 3; c++)
        set_u8(&in, 16 * (uint32_t)c, (uint8_t)(c + 50));
    if (!RUN(DV_OP_SDK_REMOVE_PADDING, ATTRS(0, 200, 3), &in, &out))
        CHECK(u8(&out, 200) == 50 && u8(&out, 201) == 51 && u8(&out, 202) == 52);
    REJECT(DV_OP_SDK_REMOVE_PADDING, ATTRS(0, 200, 17));
    REJECT(DV_OP_SDK_REMOVE_PADDING, ATTRS(0, 250, 8));
}

int main(void)
{
    test_expf();
    test_sqrt_round_floor();
    test_add();
    test_quantized_add();
    test_global_average_pool();
    test_pools();
    test_quantize();
    test_channelwise_dequantize();
    test_requantize();
    test_vectors();
    test_concat();
    test_fully_connected();
    test_flatten_resize();
    test_padding();
    return check_summary("test_ops_k210_sdk");
}
