/* Unit tests of the nncase v0.2 CPU ops (ops/nncase.c) and their float functions. Every
 * expected value is worked out by hand in the comments (float results that depend on
 * rounding are given with the rounding spelled out). Hostile attributes must be refused by
 * infer. The float functions are compared with glibc (expf) and with long double
 * references (logf, sinf, cosf: correctly rounded) on sweeps of floats. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "kimage.h"
#include "nncase.h"
#include "op.h"

#define OPS(X)                                                                                 \
    X(BINARY) X(CONCAT) X(CONV2D) X(DEQUANTIZE) X(MATMUL) X(PAD) X(QUANTIZE) X(REDUCE)         \
    X(REDUCE_WINDOW2D) X(MEMORY_COPY) X(RESIZE_IMAGE) X(SOFTMAX) X(TRANSPOSE) X(STRIDED_SLICE) \
    X(UNARY) X(QUANTIZED_CONV2D) X(QUANTIZED_MATMUL) X(QUANTIZED_BINARY) X(TABLE_LOOKUP1D)     \
    X(CONV2D_TRANSPOSE) X(NNIL_UNARY)
#define DECLARE(name) extern const dv_op_info dv_info_NNCASE_##name;
OPS(DECLARE)

#define COUNT(...) (sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t))
#define ATTRS(...) ((dv_attrs){(const int32_t[]){__VA_ARGS__}, (uint32_t)COUNT(__VA_ARGS__)})

/* Images of 64 words (256 bytes): the output image starts as a pattern so that bytes an op
 * must not write can be checked. */
#define WORDS 64
#define PATTERN 0x5a5a5a5a

static int32_t img[6][WORDS], out[WORDS];

static void reset(void)
{
    memset(img, 0, sizeof img);
    for (int i = 0; i < WORDS; i++)
        img[0][i] = PATTERN;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float fof(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int32_t fa(float f) { return (int32_t)fbits(f); } /* a float attribute */

static void set_f(int k, uint32_t at, const float *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        dv_image_put_f32(img[k], at + 4 * i, v[i]);
}

static void set_u8(int k, uint32_t at, const uint8_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        dv_image_put_u8(img[k], at + i, v[i]);
}

/* Runs `op` on images 0..n_in-1 after infer accepted them; the result is in `out`. */
static int run(const dv_op_info *op, dv_attrs a, uint32_t n_in, int line)
{
    dv_shape s[6], o[2];
    dv_tensor t[6];
    for (uint32_t i = 0; i < n_in; i++) {
        s[i] = (dv_shape){1, {WORDS}};
        t[i] = (dv_tensor){img[i], s[i]};
    }
    const char *why = op->infer(&a, n_in, s, 1, o);
    CHECK(!why, "line %d: %s: infer refused: %s", line, op->name, why ? why : "");
    if (why)
        return 0;
    CHECK(o[0].ndim == 1 && o[0].dim[0] == WORDS, "line %d: output shape", line);
    dv_tensor ot = {out, o[0]};
    memset(out, 0x11, sizeof out);
    op->run(&a, n_in, t, 1, &ot, NULL);
    return 1;
}

/* infer refuses. `words` sizes image 1 (the other images have WORDS). */
static void refuse(const dv_op_info *op, dv_attrs a, uint32_t n_in, uint32_t words, int line)
{
    dv_shape s[6], o[2];
    for (uint32_t i = 0; i < n_in; i++)
        s[i] = (dv_shape){1, {i == 1 ? words : WORDS}};
    CHECK(op->infer(&a, n_in, s, 1, o) != NULL, "line %d: %s: infer accepted", line, op->name);
}

#define RUN(op, n_in, ...) run(&dv_info_NNCASE_##op, ATTRS(__VA_ARGS__), n_in, __LINE__)
#define REFUSE(op, n_in, ...) refuse(&dv_info_NNCASE_##op, ATTRS(__VA_ARGS__), n_in, WORDS, __LINE__)
#define REFUSE_SMALL(op, n_in, words, ...)                                                     \
    refuse(&dv_info_NNCASE_##op, ATTRS(__VA_ARGS__), n_in, words, __LINE__)

/* The output floats from byte `at` equal `want`. */
static void want_f(uint32_t at, const float *want, uint32_t n, int line)
{
    for (uint32_t i = 0; i < n; i++) {
        float got = dv_image_f32(out, at + 4 * i);
        CHECK(fbits(got) == fbits(want[i]), "line %d: float %u = %a (%g), want %a (%g)", line, i,
              got, got, want[i], want[i]);
    }
}

static void want_u8(uint32_t at, const uint8_t *want, uint32_t n, int line)
{
    for (uint32_t i = 0; i < n; i++)
        CHECK(dv_image_u8(out, at + i) == want[i], "line %d: byte %u = %u, want %u", line, i,
              dv_image_u8(out, at + i), want[i]);
}

/* Bytes [from, to) of the output are the pattern: the op did not write them. */
static void untouched(uint32_t from, uint32_t to, int line)
{
    for (uint32_t a = from; a < to; a++)
        CHECK(dv_image_u8(out, a) == 0x5a, "line %d: byte %u was written", line, a);
}

#define WANT_F(at, ...)                                                                        \
    want_f(at, (const float[]){__VA_ARGS__}, (uint32_t)(sizeof((float[]){__VA_ARGS__}) / 4),   \
           __LINE__)
#define WANT_U8(at, ...)                                                                       \
    want_u8(at, (const uint8_t[]){__VA_ARGS__}, (uint32_t)sizeof((uint8_t[]){__VA_ARGS__}),    \
            __LINE__)
#define SET_F(k, at, ...) set_f(k, at, (const float[]){__VA_ARGS__}, (uint32_t)(sizeof((float[]){__VA_ARGS__}) / 4))
#define SET_U8(k, at, ...) set_u8(k, at, (const uint8_t[]){__VA_ARGS__}, (uint32_t)sizeof((uint8_t[]){__VA_ARGS__}))

static const int32_t FULL_LO = (int32_t)0xff7fffff, FULL_HI = 0x7f7fffff; /* -+FLT_MAX */

/* ---- binary ops ---- */

static void test_binary(void)
{
    /* a + b elementwise: [1,2,3,4] + [10,20,30,40], clamped to [0, 25] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4);
    SET_F(2, 16, 10, 20, 30, 40);
    if (RUN(BINARY, 3, 0, 16, 32, DV_NNCASE_ADD, 1, 1, 1, 4, 1, 1, 1, 4, 1, 1, 1, 4, fa(0),
            fa(25))) {
        WANT_F(32, 11, 22, 25, 25);
        untouched(0, 32, __LINE__);
        untouched(48, 256, __LINE__);
    }
    /* broadcast: a (1,1,2,2) - b (1,1,1,2) = [1-10, 2-20, 3-10, 4-20] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4);
    SET_F(2, 0, 10, 20);
    if (RUN(BINARY, 3, 0, 0, 0, DV_NNCASE_SUB, 1, 1, 2, 2, 1, 1, 1, 2, 1, 1, 2, 2, FULL_LO, FULL_HI))
        WANT_F(0, -9, -18, -7, -16);
    /* min and max as std::min/std::max with NaN: min(NaN, 1) = NaN (1 < NaN is false),
     * min(1, NaN) = 1; every NaN stored is the quiet NaN; 1 / 0 = inf */
    reset();
    SET_F(1, 0, NAN, 1);
    SET_F(2, 0, 1, NAN);
    if (RUN(BINARY, 3, 0, 0, 0, DV_NNCASE_MIN, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, FULL_LO, FULL_HI)) {
        CHECK(dv_image_u32(out, 0) == 0x7fc00000u, "min(NaN, 1): %08x", dv_image_u32(out, 0));
        WANT_F(4, 1);
    }
    reset();
    SET_F(1, 0, 1, -1);
    SET_F(2, 0, 0, 0);
    if (RUN(BINARY, 3, 0, 0, 0, DV_NNCASE_DIV, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, fa(-INFINITY),
            fa(INFINITY)))
        WANT_F(0, INFINITY, -INFINITY);
    /* the activation range of "none", -FLT_MAX..FLT_MAX, clamps infinities */
    if (RUN(BINARY, 3, 0, 0, 0, DV_NNCASE_DIV, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, FULL_LO, FULL_HI))
        WANT_F(0, FLT_MAX, -FLT_MAX);
    /* hostile */
    REFUSE(BINARY, 3, 0, 0, 0, 6, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 0, 0);   /* op */
    REFUSE(BINARY, 3, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 2, 1, 1, 1, 2, 0, 0);   /* dim 0 */
    REFUSE(BINARY, 3, 0, 0, 0, 0, 1, 1, 1, -5, 1, 1, 1, 2, 1, 1, 1, 2, 0, 0);  /* dim < 0 */
    REFUSE(BINARY, 3, 250, 0, 0, 0, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 0, 0); /* past a */
    REFUSE(BINARY, 3, -4, 0, 0, 0, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 0, 0);  /* negative */
    REFUSE(BINARY, 3, 0, 0, 4, 0, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 8, 8, 0, 0);   /* out > image */
    REFUSE(BINARY, 3, 0, 0, 0, 0, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2);         /* count */
    REFUSE(BINARY, 3, 0, 0, 0, 0, 1 << 20, 1 << 20, 1, 1, 1, 1, 1, 2, 1, 1, 1, 2, 0, 0);
}

static void test_quantized_binary(void)
{
    /* a' = mcs(a - 128, 3, 1), b' = mcs(b - 128, 1, 0), out = mcs(a' + b', 1, 1) + 128:
     * a=10: -118*3 = -354, (-354 + 1) >> 1 = -177 (floor); b=20: -108; sum -285;
     *       (-285 + 1) >> 1 = -142; + 128 = -14 -> 0
     * a=200: 72*3 = 216, 217 >> 1 = 108; b=100: -28; sum 80; 81 >> 1 = 40; + 128 = 168 */
    reset();
    SET_U8(1, 0, 10, 200);
    SET_U8(2, 0, 20, 100);
    if (RUN(QUANTIZED_BINARY, 3, 0, 0, 5, DV_NNCASE_ADD, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2,
            -128, 3, 1, -128, 1, 0, 1, 1, 128)) {
        WANT_U8(5, 0, 168);
        untouched(0, 5, __LINE__);
        untouched(7, 256, __LINE__);
    }
    /* div: (a + b/2) / b truncating; b = 0 gives 0; a = 7-10 = -3, b = 2: (-3 + 1) / 2 = -1,
     * then + 5 = 4 */
    reset();
    SET_U8(1, 0, 7, 7, 7);
    SET_U8(2, 0, 3, 0, 2);
    if (RUN(QUANTIZED_BINARY, 3, 0, 0, 0, DV_NNCASE_DIV, 1, 1, 1, 3, 1, 1, 1, 3, 1, 1, 1, 3, 0, 1,
            0, 0, 1, 0, 1, 0, 5))
        WANT_U8(0, 7, 5, 9); /* (7 + 1) / 3 = 2; b = 0: 0; (7 + 1) / 2 = 4; each + 5 */
    reset();
    SET_U8(1, 0, 7);
    SET_U8(2, 0, 2);
    if (RUN(QUANTIZED_BINARY, 3, 0, 0, 0, DV_NNCASE_DIV, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -10,
            1, 0, 0, 1, 0, 1, 0, 5))
        WANT_U8(0, 4);
    /* broadcast b (1,1,1,1) over a (1,1,1,3): max(a, 100) */
    reset();
    SET_U8(1, 0, 50, 150, 100);
    SET_U8(2, 0, 100);
    if (RUN(QUANTIZED_BINARY, 3, 0, 0, 0, DV_NNCASE_MAX, 1, 1, 1, 3, 1, 1, 1, 1, 1, 1, 1, 3, 0, 1,
            0, 0, 1, 0, 1, 0, 0))
        WANT_U8(0, 100, 150, 100);
    REFUSE(QUANTIZED_BINARY, 3, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 64, 0, 1, 0,
           1, 0, 0); /* shift */
    REFUSE(QUANTIZED_BINARY, 3, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0,
           1, -1, 0);
    REFUSE(QUANTIZED_BINARY, 3, 0, 0, 0, 7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0,
           1, 0, 0); /* op */
    REFUSE(QUANTIZED_BINARY, 3, 0, 0, 255, 0, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2, 0, 1, 0, 0, 1,
           0, 1, 0, 0); /* output past the image */
}

/* Against a direct evaluation, for a sweep of pairs (a, b), with the parameters of the real
 * rfb320 model's node 47 (an add): offsets -158 and -120, muls 24139 and 27053, shifts 10,
 * output mul 268988160, shift 32, offset 0. */
static void test_quantized_binary_sweep(void)
{
    int bad = 0;
    for (int a0 = 0; a0 < 256; a0 += 5) {
        reset();
        for (int b0 = 0; b0 < 256; b0++) {
            dv_image_put_u8(img[1], (uint32_t)b0, (uint8_t)a0);
            dv_image_put_u8(img[2], (uint32_t)b0, (uint8_t)b0);
        }
        if (!RUN(QUANTIZED_BINARY, 3, 0, 0, 0, DV_NNCASE_ADD, 1, 1, 1, 256, 1, 1, 1, 256, 1, 1,
                 1, 256, -158, 24139, 10, -120, 27053, 10, 268988160, 32, 0))
            return;
        for (int b0 = 0; b0 < 256; b0++) {
            int64_t x = ((int64_t)(a0 - 158) * 24139 + 512) >> 10;
            int64_t y = ((int64_t)(b0 - 120) * 27053 + 512) >> 10;
            int64_t r = ((x + y) * 268988160 + (1ll << 31)) >> 32;
            int want = r < 0 ? 0 : r > 255 ? 255 : (int)r;
            bad += dv_image_u8(out, (uint32_t)b0) != want;
        }
    }
    CHECK(bad == 0, "quantized add sweep: %d wrong", bad);
}

/* ---- concat, memory copy, table lookup, transpose, strided slice, pad ---- */

static void test_moves(void)
{
    /* concat: outer 3, inner 1: [1,2],[3,4],[5,6] from src0, 7,8,9 from src1 */
    reset();
    SET_U8(1, 0, 1, 2, 3, 4, 5, 6);
    SET_U8(2, 8, 7, 8, 9);
    if (RUN(CONCAT, 3, 100, 1, 3, 2, 0, 2, 8, 1)) {
        WANT_U8(100, 1, 2, 7, 3, 4, 8, 5, 6, 9);
        untouched(0, 100, __LINE__);
        untouched(109, 256, __LINE__);
    }
    REFUSE(CONCAT, 3, 100, 1, 3, 3, 0, 2, 8, 1);         /* n does not match */
    REFUSE(CONCAT, 3, 100, 1, 3, 2, 0, -2, 8, 1);        /* negative dim */
    REFUSE(CONCAT, 3, 100, -1, 3, 2, 0, 2, 8, 1);        /* negative inner */
    REFUSE(CONCAT, 3, 250, 1, 3, 2, 0, 2, 8, 1);         /* output past the image */
    REFUSE(CONCAT, 3, 0, 1, 100, 2, 0, 2, 8, 1);         /* sources past their images */
    REFUSE(CONCAT, 3, 0, 0x10000, 0x10000, 2, 0, 2, 8, 1); /* huge */
    /* memory copy: 2 words */
    reset();
    SET_F(1, 8, 1.5f, -2.5f, 9);
    if (RUN(MEMORY_COPY, 2, 8, 0, 2)) {
        WANT_F(0, 1.5f, -2.5f);
        untouched(8, 256, __LINE__);
    }
    REFUSE(MEMORY_COPY, 2, 0, 0, 65);
    REFUSE(MEMORY_COPY, 2, 0, 0, -1);
    /* table lookup: table[i] = 255 - i */
    reset();
    for (int i = 0; i < 256; i++)
        dv_image_put_u8(img[2], (uint32_t)i, (uint8_t)(255 - i));
    SET_U8(1, 0, 0, 1, 255);
    if (RUN(TABLE_LOOKUP1D, 3, 0, 0, 10, 3))
        WANT_U8(10, 255, 254, 0);
    REFUSE(TABLE_LOOKUP1D, 3, 0, 1, 10, 3); /* the table runs past its image */
    REFUSE(TABLE_LOOKUP1D, 3, 0, 0, 254, 3);
    /* transpose (1,1,2,3) perm (0,1,3,2): [[1,2,3],[4,5,6]] -> [[1,4],[2,5],[3,6]] */
    reset();
    SET_U8(1, 0, 1, 2, 3, 4, 5, 6);
    if (RUN(TRANSPOSE, 2, 0, 0, 1, 1, 1, 2, 3, 0, 1, 3, 2))
        WANT_U8(0, 1, 4, 2, 5, 3, 6);
    /* float, (2,1,1,2) perm (3,2,1,0) -> (2,1,1,2): [a b; c d] -> [a c; b d] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4);
    if (RUN(TRANSPOSE, 2, 0, 0, 4, 2, 1, 1, 2, 3, 2, 1, 0))
        WANT_F(0, 1, 3, 2, 4);
    REFUSE(TRANSPOSE, 2, 0, 0, 1, 1, 1, 2, 3, 0, 1, 1, 2); /* not a permutation */
    REFUSE(TRANSPOSE, 2, 0, 0, 1, 1, 1, 2, 3, 0, 1, 4, 2);
    REFUSE(TRANSPOSE, 2, 0, 0, 2, 1, 1, 2, 3, 0, 1, 3, 2); /* element bytes */
    REFUSE(TRANSPOSE, 2, 0, 0, 4, 1, 1, 8, 9, 0, 1, 3, 2); /* 288 bytes */
    /* strided slice: [0..5] from 5 down by 2 -> 5, 3, 1; from 1 up by 2 -> 1, 3, 5 */
    reset();
    SET_U8(1, 0, 0, 1, 2, 3, 4, 5);
    if (RUN(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 5, 1, 1, 1, 0, 1, 1, 1, -2))
        WANT_U8(0, 5, 3, 1);
    if (RUN(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 1, 1, 1, 1, 6, 1, 1, 1, 2))
        WANT_U8(0, 1, 3, 5);
    /* an empty slice writes nothing */
    if (RUN(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 3, 1, 1, 1, 3, 1, 1, 1, 1))
        untouched(0, 256, __LINE__);
    REFUSE(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 0, 1, 1, 1, 6, 1, 1, 1, 0);  /* 0 */
    REFUSE(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 0, 1, 1, 1, 7, 1, 1, 1, 1);  /* end */
    REFUSE(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, -1, 1, 1, 1, 3, 1, 1, 1, 1); /* begin */
    REFUSE(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 6, 1, 1, 1, 0, 1, 1, 1, -1); /* begin */
    REFUSE(STRIDED_SLICE, 2, 0, 0, 1, 1, 1, 1, 6, 0, 0, 0, 0, 1, 1, 1, 6, 1, 1, 1, 0x7fffffff);
    /* pad (1,1,2,2) [1,2;3,4] with a row before and a column after, value 9 */
    reset();
    SET_U8(1, 0, 1, 2, 3, 4);
    if (RUN(PAD, 2, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 0, 1, 0, 0, 1, 9))
        WANT_U8(0, 9, 9, 9, 1, 2, 9, 3, 4, 9);
    /* negative padding crops: the first column off -> [2; 4] */
    reset();
    SET_U8(1, 0, 1, 2, 3, 4);
    if (RUN(PAD, 2, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, -1, 0, 9)) {
        WANT_U8(0, 2, 4);
        untouched(2, 256, __LINE__);
    }
    /* float: the pad value's four bytes */
    reset();
    SET_F(1, 0, 7);
    if (RUN(PAD, 2, 0, 0, 4, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, fa(0.5f)))
        WANT_F(0, 0.5f, 7, 0.5f);
    REFUSE(PAD, 2, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, -2, 0, 9); /* a zero dim */
    REFUSE(PAD, 2, 0, 0, 3, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 9);  /* element bytes */
    REFUSE(PAD, 2, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0, 300, 9); /* past the image */
    REFUSE(PAD, 2, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 0, 0, 0, 0x7fffffff, 0x7fffffff, 9);
}

/* ---- dequantize, quantize ---- */

static void test_quantization(void)
{
    /* (q - 128) * (1/4): [-32, 0, 31.75]; with scale 3, 1/3 rounds to 0x3eaaaaab first */
    reset();
    SET_U8(1, 0, 0, 128, 255);
    if (RUN(DEQUANTIZE, 2, 0, 0, 3, 128, fa(4.0f))) {
        WANT_F(0, -32, 0, 31.75f);
        untouched(12, 256, __LINE__);
    }
    reset();
    SET_U8(1, 0, 129, 131);
    if (RUN(DEQUANTIZE, 2, 0, 0, 2, 128, fa(3.0f)))
        WANT_F(0, fof(0x3eaaaaabu), 3.0f * fof(0x3eaaaaabu)); /* not 1/3, 3/3 = 1 */
    /* quantize with scale 2, zero point 10: x*2 + 10 rounded half away from zero:
     * 0 -> 10; 1.26 -> 12.52 -> 13; -1.26 -> 7.48 -> 7; 1.25 -> 12.5 -> 13; 0.25 -> 10.5 -> 11;
     * -5.25 -> -0.5 -> -1 -> 0; 200 -> 410 -> 255; 1e10 -> out of int32 -> INT32_MIN -> 0
     * (as x86-64 converts); NaN -> 0 */
    reset();
    SET_F(1, 0, 0, 1.26f, -1.26f, 1.25f, 0.25f, -5.25f, 200, 1e10f, NAN);
    if (RUN(QUANTIZE, 2, 0, 100, 9, 10, fa(2.0f))) {
        WANT_U8(100, 10, 13, 7, 13, 11, 0, 255, 0, 0);
        untouched(109, 256, __LINE__);
    }
    REFUSE(DEQUANTIZE, 2, 0, 0, 65, 0, fa(1)); /* 260 bytes of output */
    REFUSE(DEQUANTIZE, 2, 0, 0, -1, 0, fa(1));
    REFUSE(QUANTIZE, 2, 0, 0, 65, 0, fa(1));
    REFUSE(QUANTIZE, 2, 0, 0, 1, 0);
}

/* ---- matmul ---- */

static void test_matmul(void)
{
    /* [1 2 3; 4 5 6] x [1 0; 0 1; 1 1] + [0.5, -0.5] = [4.5 4.5; 10.5 10.5], clamped to 10 */
    reset();
    SET_F(1, 0, 1, 2, 3, 4, 5, 6);
    SET_F(2, 0, 1, 0, 0, 1, 1, 1);
    SET_F(3, 0, 0.5f, -0.5f);
    if (RUN(MATMUL, 4, 0, 0, 64, 2, 3, 2, fa(0), fa(10)))
        WANT_F(64, 4.5f, 4.5f, 10, 10);
    /* the sum in order: bias 1e8, then +1, then -1e8: (1e8 + 1) rounds to 1e8 -> 0 */
    reset();
    SET_F(1, 0, 1, -1e8f);
    SET_F(2, 0, 1, 1);
    SET_F(3, 0, 1e8f);
    if (RUN(MATMUL, 4, 0, 0, 64, 1, 2, 1, FULL_LO, FULL_HI))
        WANT_F(64, 0);
    /* quantized: (130-128)(131-128) + (120-128)(129-128) + 10 = 8; mcs(8, 5, 1) =
     * (40 + 1) >> 1 = 20; + 100 */
    reset();
    SET_U8(1, 0, 130, 120);
    SET_U8(2, 0, 131, 129);
    dv_image_put_u32(img[3], 0, 10);
    if (RUN(QUANTIZED_MATMUL, 4, 0, 0, 7, 1, 2, 1, -128, -128, 5, 1, 100)) {
        WANT_U8(7, 120);
        untouched(8, 256, __LINE__);
    }
    REFUSE(MATMUL, 4, 0, 0, 64, 0, 3, 2, 0, 0);
    REFUSE(MATMUL, 4, 0, 0, 64, 8, 9, 2, 0, 0);     /* a: 288 bytes */
    REFUSE(MATMUL, 4, 0, 0, 64, 1, 1, 100, 0, 0);   /* bias too short */
    REFUSE(MATMUL, 4, 0, 0, 64, 1 << 24, 1 << 24, 1, 0, 0);
    REFUSE(QUANTIZED_MATMUL, 4, 0, 0, 7, 1, 2, 1, -128, -128, 5, 70, 100);
}

/* ---- convolutions ---- */

static void test_conv(void)
{
    /* 3x3 [1..9], 2x2 diagonal filter, bias 0.5, stride 1: [1+5, 2+6, 4+8, 5+9] + 0.5 */
    reset();
    SET_F(1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    SET_F(2, 0, 1, 0, 0, 1);
    SET_F(3, 0, 0.5f);
    if (RUN(CONV2D, 4, 0, 0, DV_NNCASE_NCHW, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1,
            FULL_LO, FULL_HI))
        WANT_F(0, 6.5f, 8.5f, 12.5f, 14.5f);
    /* padding 1 all round, stride 2: out 2x2 = (3 + 2 - 2 + 2) / 2; the taps inside:
     * (0,0): w11*in00 = 1; (0,1): w10*in01 + w11*in02 = 3; (1,0): w01*in10 + w11*in20 = 7;
     * (1,1): in11 + in22 = 14; plus 0.5 */
    if (RUN(CONV2D, 4, 0, 0, DV_NNCASE_NCHW, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1,
            FULL_LO, FULL_HI))
        WANT_F(0, 1.5f, 3.5f, 7.5f, 14.5f);
    /* dilation 2 over 3x3: one output, in00 * w00 + in22 * w11 = 1 + 9 */
    if (RUN(CONV2D, 4, 0, 0, DV_NNCASE_NCHW, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 2, 2,
            FULL_LO, FULL_HI))
        WANT_F(0, 10.5f);
    /* 2 groups of one channel: [2, 3] * [10, 100] + [1, 2] */
    reset();
    SET_F(1, 0, 2, 3);
    SET_F(2, 0, 10, 100);
    SET_F(3, 0, 1, 2);
    if (RUN(CONV2D, 4, 0, 0, DV_NNCASE_NCHW, 1, 2, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
            FULL_LO, fa(250)))
        WANT_F(0, 21, 250);
    /* NHWC (1,1,2,2) [1 2 | 3 4], weights [10, 1]: [12, 34] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4);
    SET_F(2, 0, 10, 1);
    SET_F(3, 0, 0);
    if (RUN(CONV2D, 4, 0, 0, DV_NNCASE_NHWC, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
            FULL_LO, FULL_HI))
        WANT_F(0, 12, 34);
    /* NHWC depthwise, filter 1x2: c0 weights [1, 1]: 1 + 3; c1 [2, 0]: 2*2 + 0.5 */
    reset();
    SET_F(1, 0, 1, 2, 3, 4);
    SET_F(2, 0, 1, 1, 2, 0);
    SET_F(3, 0, 0, 0.5f);
    if (RUN(CONV2D, 4, 0, 0, DV_NNCASE_NHWC_DEPTHWISE, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 2, 1, 1,
            1, 1, FULL_LO, FULL_HI))
        WANT_F(0, 4, 4.5f);
    /* hostile */
    REFUSE(CONV2D, 4, 0, 0, 3, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0); /* layout */
    REFUSE(CONV2D, 4, 0, 0, 0, 1, 3, 3, 3, 2, 2, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0); /* groups */
    REFUSE(CONV2D, 4, 0, 0, 0, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 0, 1, 1, 1, 0, 0); /* stride 0 */
    REFUSE(CONV2D, 4, 0, 0, 0, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 4, 2, 1, 1, 1, 1, 0, 0); /* out 0 */
    REFUSE(CONV2D, 4, 0, 0, 0, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 70000, 2, 1, 1, 1, 1, 0, 0);
    REFUSE(CONV2D, 4, 0, 0, 0, 1, 1, 3, 3, 1, 1, -70000, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0);
    REFUSE(CONV2D, 4, 0, 0, 0, 1, 1, 3, 3, 1, 100, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0); /* out */
    REFUSE(CONV2D, 4, 0, 0, 1, 1, 1, 3, 3, 2, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0); /* NHWC groups */
    REFUSE(CONV2D, 4, 0, 0, 2, 1, 1, 3, 3, 3, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0); /* dw */
    REFUSE_SMALL(CONV2D, 4, 2, 0, 0, 0, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0);

    /* quantized NCHW: (in + (-128)) * (w + (-128)): in [130,126,128,140] -> [2,-2,0,12],
     * w [129,127,128,130] -> [1,-1,0,2]; 5 + 2 + 2 + 0 + 24 = 33; mcs(33, 3, 2) =
     * (99 + 2) >> 2 = 25; + 100 */
    reset();
    SET_U8(1, 0, 130, 126, 128, 140);
    SET_U8(2, 0, 129, 127, 128, 130);
    dv_image_put_u32(img[3], 0, 5);
    if (RUN(QUANTIZED_CONV2D, 4, 0, 9, DV_NNCASE_NCHW, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1,
            1, 1, -128, -128, 3, 2, 100)) {
        WANT_U8(9, 125);
        untouched(10, 256, __LINE__);
    }
    /* NHWC subtracts the offsets: (130 - 128)(129 - 128) + (126 - 128)(127 - 128) = 4, + 10 */
    reset();
    SET_U8(1, 0, 130, 126);
    SET_U8(2, 0, 129, 127);
    if (RUN(QUANTIZED_CONV2D, 4, 0, 0, DV_NNCASE_NHWC, 1, 1, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1,
            1, 1, 128, 128, 1, 0, 10))
        WANT_U8(0, 14);
    /* NHWC depthwise (1,1,1,2), 1x1: c0 (130-128)(130-128) = 4 -> 4; c1 (126-128)(129-128) +
     * bias -1 = -3 -> clamp 0 */
    reset();
    SET_U8(1, 0, 130, 126);
    SET_U8(2, 0, 130, 129);
    dv_image_put_u32(img[3], 0, 0);
    dv_image_put_u32(img[3], 4, (uint32_t)-1);
    if (RUN(QUANTIZED_CONV2D, 4, 0, 0, DV_NNCASE_NHWC_DEPTHWISE, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 1,
            1, 1, 1, 1, 1, 128, 128, 1, 0, 0))
        WANT_U8(0, 4, 0);
    REFUSE(QUANTIZED_CONV2D, 4, 0, 9, 0, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0, 1,
           64, 0); /* shift */

    /* transposed: [1, 2] with a 2x2 filter [1 2; 3 4], stride 1, into 2x3:
     * x=1 adds [1 2; 3 4] at column 0, x=2 adds [2 4; 6 8] at column 1:
     * [1, 2+2, 4; 3, 4+6, 8]; clamped to [0, 5] in the second run */
    reset();
    SET_F(1, 0, 1, 2);
    SET_F(2, 0, 1, 2, 3, 4);
    if (RUN(CONV2D_TRANSPOSE, 3, 0, 0, 1, 1, 1, 2, 1, 1, 2, 3, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1,
            FULL_LO, FULL_HI)) {
        WANT_F(0, 1, 4, 4, 3, 10, 8);
        untouched(24, 256, __LINE__);
    }
    if (RUN(CONV2D_TRANSPOSE, 3, 0, 0, 1, 1, 1, 2, 1, 1, 2, 3, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1,
            fa(0), fa(5)))
        WANT_F(0, 1, 4, 4, 3, 5, 5);
    /* stride 2, padding 1 before: x0 at (-1,-1) keeps tap (1,1); x1 at (-1, 1) keeps the
     * bottom row: out (1,3): [0, 0+... ] -> row 0 = [4*1, 3*2, 4*2] */
    if (RUN(CONV2D_TRANSPOSE, 3, 0, 0, 1, 1, 1, 2, 1, 1, 1, 3, 1, 1, 0, 1, 0, 2, 2, 2, 2, 1, 1,
            FULL_LO, FULL_HI))
        WANT_F(0, 4, 6, 8);
    REFUSE(CONV2D_TRANSPOSE, 3, 0, 0, 1, 1, 1, 2, 2, 1, 2, 3, 1, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0);
    REFUSE(CONV2D_TRANSPOSE, 3, 0, 0, 1, 2, 1, 2, 1, 1, 2, 3, 2, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0);
    REFUSE(CONV2D_TRANSPOSE, 3, 0, 0, 1, 1, 1, 2, 1, 1, 2, 3, 1, 0, 0, 0, 0, 2, 2, 0, 1, 1, 1, 0, 0);
}

/* ---- pooling, reduce ---- */

static void test_reduce(void)
{
    /* (1,1,2,3) [1..6]: sum over rows -> [5, 7, 9]; max -> [4, 5, 6] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4, 5, 6);
    if (RUN(REDUCE, 2, 0, 0, DV_NNCASE_REDUCE_SUM, 1, 1, 2, 3, 1, 1, 1, 3, fa(0), 6, 3))
        WANT_F(0, 5, 7, 9);
    if (RUN(REDUCE, 2, 0, 0, DV_NNCASE_REDUCE_MAX, 1, 1, 2, 3, 1, 1, 1, 3, fa(-INFINITY), 6, 3)) {
        WANT_F(0, 4, 5, 6);
        untouched(12, 256, __LINE__);
    }
    /* mean of [1, 2, 4]: 7 * (float)(1/3 as float) = 7 * 0x3eaaaaab = 2.33333340 -> 0x40155556,
     * not 7/3 rounded (0x40155555) */
    reset();
    SET_F(1, 0, 1, 2, 4);
    if (RUN(REDUCE, 2, 0, 0, DV_NNCASE_REDUCE_MEAN, 1, 1, 1, 3, 1, 1, 1, 1, fa(0), 3, 1))
        CHECK(dv_image_u32(out, 0) == 0x40155556u, "mean: %08x", dv_image_u32(out, 0));
    /* mean multiplies `output count` elements, the range's, not only the reduced shape's */
    reset();
    SET_F(1, 0, 1, 2, 4);
    memcpy(out, img[0], sizeof out);
    dv_image_put_f32(img[0], 4, 3.0f);
    if (RUN(REDUCE, 2, 0, 0, DV_NNCASE_REDUCE_MEAN, 1, 1, 1, 3, 1, 1, 1, 1, fa(0), 3, 2))
        WANT_F(4, 3.0f * (2.0f / 3.0f));
    REFUSE(REDUCE, 2, 0, 0, 4, 1, 1, 2, 3, 1, 1, 1, 3, 0, 6, 3);
    REFUSE(REDUCE, 2, 0, 0, 0, 1, 1, 2, 3, 1, 1, 1, 3, 0, 6, 65); /* mean past the image */
    REFUSE(REDUCE, 2, 0, 0, 0, 1, 1, 2, 3, 1, 1, 1, 3, 0, -1, 3);
    REFUSE(REDUCE, 2, 0, 0, 3, 1, 1, 9, 9, 1, 1, 1, 3, 0, 6, 3);

    /* 2x2 windows over (1,1,2,3) [1..6], stride 1: max [5, 6]; mean [3, 4] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4, 5, 6);
    if (RUN(REDUCE_WINDOW2D, 2, 0, 0, DV_NNCASE_NCHW, DV_NNCASE_REDUCE_MAX, 1, 1, 2, 3, 0, 0, 0,
            0, 2, 2, 1, 1, 1, 1, fa(-FLT_MAX), FULL_LO, FULL_HI))
        WANT_F(0, 5, 6);
    /* mean with one column of padding after: the last window holds 3 and 6 only (the count
     * excludes padding): [3, 4, 4.5] */
    if (RUN(REDUCE_WINDOW2D, 2, 0, 0, DV_NNCASE_NCHW, DV_NNCASE_REDUCE_MEAN, 1, 1, 2, 3, 0, 0, 0,
            1, 2, 2, 1, 1, 1, 1, fa(0), FULL_LO, FULL_HI))
        WANT_F(0, 3, 4, 4.5f);
    /* NHWC (1,1,2,2) [1 2 | 3 4], 1x2 max: [3, 4]; min with init 2.5: [1, 2] */
    reset();
    SET_F(1, 0, 1, 2, 3, 4);
    if (RUN(REDUCE_WINDOW2D, 2, 0, 0, DV_NNCASE_NHWC, DV_NNCASE_REDUCE_MAX, 1, 1, 2, 2, 0, 0, 0,
            0, 1, 2, 1, 1, 1, 1, fa(-FLT_MAX), FULL_LO, FULL_HI))
        WANT_F(0, 3, 4);
    if (RUN(REDUCE_WINDOW2D, 2, 0, 0, DV_NNCASE_NHWC, DV_NNCASE_REDUCE_MIN, 1, 1, 2, 2, 0, 0, 0,
            0, 1, 2, 1, 1, 1, 1, fa(2.5f), FULL_LO, FULL_HI))
        WANT_F(0, 1, 2);
    REFUSE(REDUCE_WINDOW2D, 2, 0, 0, 2, 0, 1, 1, 2, 3, 0, 0, 0, 0, 2, 2, 1, 1, 1, 1, 0, 0, 0);
    REFUSE(REDUCE_WINDOW2D, 2, 0, 0, 0, 0, 1, 1, 2, 3, 0, 0, 0, 0, 3, 2, 1, 1, 1, 1, 0, 0, 0);
    REFUSE(REDUCE_WINDOW2D, 2, 0, 0, 0, 0, 1, 1, 2, 3, 0, 0, 0, 0, 2, 2, 1, 1, 0, 1, 0, 0, 0);
}

/* ---- resize ---- */

static void test_resize(void)
{
    /* nearest 2x2 -> 4x4: scale 0.5, rows 0,0,1,1 and columns 0,0,1,1 */
    reset();
    SET_U8(1, 0, 10, 20, 30, 40);
    if (RUN(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 2, 2, 4, 4, DV_NNCASE_NEAREST, 0)) {
        WANT_U8(0, 10, 10, 20, 20, 10, 10, 20, 20, 30, 30, 40, 40, 30, 30, 40, 40);
        untouched(16, 256, __LINE__);
    }
    /* bilinear [0, 100] -> 4 wide: x = 0, 0.5, 1, 1.5 -> 0, 50, 100, 100 (x1 clamps) */
    reset();
    SET_U8(1, 0, 0, 100);
    if (RUN(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 1, 2, 1, 4, DV_NNCASE_BILINEAR, 0))
        WANT_U8(0, 0, 50, 100, 100);
    /* uint8 results truncate: [0, 3] -> 1.5 -> 1 */
    reset();
    SET_U8(1, 0, 0, 3);
    if (RUN(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 1, 2, 1, 4, DV_NNCASE_BILINEAR, 0))
        WANT_U8(0, 0, 1, 3, 3);
    /* float with align corners: [0, 1] -> 3 wide, scale (2-1)/(3-1) = 0.5: [0, 0.5, 1] */
    reset();
    SET_F(1, 0, 0, 1);
    if (RUN(RESIZE_IMAGE, 2, 0, 0, 4, 1, 1, 1, 2, 1, 3, DV_NNCASE_BILINEAR, 1))
        WANT_F(0, 0, 0.5f, 1);
    REFUSE(RESIZE_IMAGE, 2, 0, 0, 2, 1, 1, 2, 2, 4, 4, 0, 0);
    REFUSE(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 2, 2, 4, 4, 2, 0);
    REFUSE(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 2, 2, 4, 4, 0, 2);
    REFUSE(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 2, 2, 0, 4, 0, 0);
    REFUSE(RESIZE_IMAGE, 2, 0, 0, 1, 1, 1, 2, 2, 17, 16, 0, 0); /* 272 bytes */
}

/* ---- softmax, unary, nnil ---- */

static void test_float_maps(void)
{
    /* softmax of [1, 2, 3] in the reference's order, with glibc's expf (equal to dv_expf) */
    reset();
    SET_F(1, 0, 1, 2, 3);
    if (RUN(SOFTMAX, 2, 0, 16, 1, 3, fa(1.0f))) {
        float e0 = expf(-2.0f), e1 = expf(-1.0f), e2 = expf(0.0f);
        float sum = 0.0f;
        sum = sum + e0;
        sum = sum + e1;
        sum = sum + e2;
        WANT_F(16, e0 / sum, e1 / sum, e2 / sum);
        untouched(0, 16, __LINE__);
    }
    /* the first of equal maxima; beta 0.5: two rows */
    reset();
    SET_F(1, 0, 4, 4, 0, -1);
    if (RUN(SOFTMAX, 2, 0, 0, 2, 2, fa(0.5f))) {
        float a = expf(0.0f), b = expf(-0.5f);
        WANT_F(0, a / (a + a), a / (a + a), a / (a + b), b / (a + b));
    }
    REFUSE(SOFTMAX, 2, 0, 0, 0, 3, fa(1));
    REFUSE(SOFTMAX, 2, 0, 0, 8, 9, fa(1));

    /* unary: abs, ceil, floor, neg, rsqrt, square, exp, log, sin, cos */
    static const struct {
        int32_t op;
        float x, want;
    } u[] = {
        {DV_NNCASE_ABS, -2, 2},        {DV_NNCASE_CEIL, 1.25f, 2},   {DV_NNCASE_CEIL, -0.5f, -0.0f},
        {DV_NNCASE_FLOOR, -1.25f, -2}, {DV_NNCASE_NEG, 3, -3},       {DV_NNCASE_RSQRT, 4, 0.5f},
        {DV_NNCASE_SQUARE, -3, 9},     {DV_NNCASE_EXP, 0, 1},        {DV_NNCASE_LOG, 1, 0},
        {DV_NNCASE_SIN, 0, 0},         {DV_NNCASE_COS, 0, 1},        {DV_NNCASE_RSQRT, 0, INFINITY},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        reset();
        SET_F(1, 0, u[i].x);
        if (RUN(UNARY, 2, 0, 0, 1, u[i].op)) {
            want_f(0, &u[i].want, 1, __LINE__);
            untouched(4, 256, __LINE__);
        }
    }
    /* NaN in, the quiet NaN out (abs of a negative NaN with a payload) */
    reset();
    dv_image_put_u32(img[1], 0, 0xffa00001u);
    if (RUN(UNARY, 2, 0, 0, 1, DV_NNCASE_ABS))
        CHECK(dv_image_u32(out, 0) == 0x7fc00000u, "NaN: %08x", dv_image_u32(out, 0));
    REFUSE(UNARY, 2, 0, 0, 1, 10);
    REFUSE(UNARY, 2, 0, 0, 65, 0);

    /* nnil: 2x + 1 for [1, -0.5]: lda_0, ldc_r4 2, mul, ldc_r4_1, add, ret */
    reset();
    SET_F(1, 0, 1, -0.5f);
    if (RUN(NNIL_UNARY, 2, 0, 0, 2, 6, DV_NNIL_LDA_0, 0, DV_NNIL_LDC_R4, fa(2), DV_NNIL_MUL, 0,
            DV_NNIL_LDC_R4_1, 0, DV_NNIL_ADD, 0, DV_NNIL_RET, 0))
        WANT_F(0, 3, 0);
    /* clamp(x, 0, 1) for [2, -1, 0.5]; x*x by dup */
    reset();
    SET_F(1, 0, 2, -1, 0.5f);
    if (RUN(NNIL_UNARY, 2, 0, 0, 3, 5, DV_NNIL_LDA_0, 0, DV_NNIL_LDC_R4_0, 0, DV_NNIL_LDC_R4_1, 0,
            DV_NNIL_CLAMP, 0, DV_NNIL_RET, 0))
        WANT_F(0, 1, 0, 0.5f);
    if (RUN(NNIL_UNARY, 2, 0, 0, 3, 4, DV_NNIL_LDA_0, 0, DV_NNIL_DUP, 0, DV_NNIL_MUL, 0,
            DV_NNIL_RET, 0))
        WANT_F(0, 4, 1, 0.25f);
    /* exp(x) - 1 by sub; a program without ret writes nothing */
    reset();
    SET_F(1, 0, 0);
    if (RUN(NNIL_UNARY, 2, 0, 0, 1, 5, DV_NNIL_LDA_0, 0, DV_NNIL_EXP, 0, DV_NNIL_LDC_R4_1, 0,
            DV_NNIL_SUB, 0, DV_NNIL_RET, 0))
        WANT_F(0, 0);
    if (RUN(NNIL_UNARY, 2, 0, 0, 1, 2, DV_NNIL_LDA_0, 0, DV_NNIL_POP, 0))
        untouched(0, 256, __LINE__);
    /* after ret, nothing is checked or run */
    if (RUN(NNIL_UNARY, 2, 0, 0, 1, 3, DV_NNIL_LDA_0, 0, DV_NNIL_RET, 0, 0x99, 7))
        WANT_F(0, 0);
    REFUSE(NNIL_UNARY, 2, 0, 0, 1, 2, DV_NNIL_ADD, 0, DV_NNIL_RET, 0); /* underflow */
    REFUSE(NNIL_UNARY, 2, 0, 0, 1, 1, DV_NNIL_RET, 0);
    REFUSE(NNIL_UNARY, 2, 0, 0, 1, 1, 0x99, 0);                        /* unknown */
    REFUSE(NNIL_UNARY, 2, 0, 0, 1, 1, DV_NNIL_LDA_0, 5);               /* operand */
    REFUSE(NNIL_UNARY, 2, 0, 0, 1, 2, DV_NNIL_LDA_0, 0);               /* n */
    REFUSE(NNIL_UNARY, 2, 0, 0, 1, 1, DV_NNIL_DUP, 0);                 /* empty dup */
    /* 65 pushes overflow the 64-float stack */
    int32_t a[4 + 2 * 66] = {0, 0, 1, 66};
    for (int i = 0; i < 65; i++)
        a[4 + 2 * i] = DV_NNIL_LDA_0;
    a[4 + 2 * 65] = DV_NNIL_RET;
    refuse(&dv_info_NNCASE_NNIL_UNARY, (dv_attrs){a, 4 + 2 * 66}, 2, WORDS, __LINE__);
    a[3] = 65; /* 64 pushes then ret: fine */
    a[4 + 2 * 64] = DV_NNIL_RET;
    dv_shape s[2] = {{1, {WORDS}}, {1, {WORDS}}}, o;
    CHECK(dv_info_NNCASE_NNIL_UNARY.infer(&(dv_attrs){a, 4 + 2 * 65}, 2, s, 1, &o) == NULL,
          "64 pushes are within the stack");
}

/* ---- the float functions ---- */

/* Is v within 2^-50 (relative) of a float midpoint? Then a long double reference cannot
 * decide the rounding. */
static int near_midpoint(long double v)
{
    float f = (float)v;
    float g = nextafterf(f, v > (long double)f ? INFINITY : -INFINITY);
    long double mid = ((long double)f + (long double)g) / 2;
    return fabsl(v - mid) < fabsl(v) * 0x1p-50L;
}

static void test_float_functions(void)
{
    /* expf: glibc's (x86-64 FMA path) on a sweep of every 1021st float; the two inputs where
     * glibc's SSE2 path differs are checked against the FMA path's values */
    uint32_t bad = 0, n = 0;
    for (uint64_t b = 0; b < 0x100000000ull; b += 1021) {
        float x = fof((uint32_t)b);
        float g = expf(x), d = dv_expf(x);
        if (x == 0x1.04845ep+5f || x == -0x1.f8cbb2p+5f || (isnan(g) && isnan(d)))
            continue;
        n++;
        bad += fbits(g) != fbits(d);
    }
    CHECK(bad == 0, "expf: %u of %u differ from glibc", bad, n);
    CHECK(fbits(dv_expf(0x1.04845ep+5f)) == fbits(0x1.f93e38p+46f), "expf FMA case 1");
    CHECK(fbits(dv_expf(-0x1.f8cbb2p+5f)) == fbits(0x1.f45326p-92f), "expf FMA case 2");
    /* logf, sinf, cosf correctly rounded: against long double on every 4099th float */
    uint32_t bl = 0, bs = 0, bc = 0, gl = 0, gs = 0, gc = 0;
    for (uint64_t b = 0; b < 0x100000000ull; b += 4099) {
        float x = fof((uint32_t)b);
        if (!isfinite(x))
            continue;
        long double xl = x;
        if (x > 0) {
            long double r = logl(xl);
            float d = dv_logf(x);
            if (!near_midpoint(r))
                bl += fbits((float)r) != fbits(d);
            gl += fbits(logf(x)) != fbits(d);
        }
        long double r = sinl(xl);
        float d = dv_sinf(x);
        if (!near_midpoint(r))
            bs += fbits((float)r) != fbits(d);
        gs += fbits(sinf(x)) != fbits(d);
        r = cosl(xl);
        d = dv_cosf(x);
        if (!near_midpoint(r))
            bc += fbits((float)r) != fbits(d);
        gc += fbits(cosf(x)) != fbits(d);
    }
    CHECK(bl == 0 && bs == 0 && bc == 0, "not correctly rounded: log %u sin %u cos %u", bl, bs,
          bc);
    fprintf(stderr, "glibc differs from the correctly rounded results on a sweep of 1M "
                    "floats: logf %u, sinf %u, cosf %u\n", gl, gs, gc);
    /* special values */
    CHECK(dv_logf(0.0f) == -INFINITY && dv_logf(-0.0f) == -INFINITY && isnan(dv_logf(-1.0f)) &&
              dv_logf(INFINITY) == INFINITY,
          "logf special values");
    CHECK(isnan(dv_sinf(INFINITY)) && isnan(dv_cosf(-INFINITY)) &&
              fbits(dv_sinf(-0.0f)) == 0x80000000u && dv_cosf(-0.0f) == 1.0f,
          "sin/cos special values");
    /* sin of the float nearest pi: pi - that float ~ -8.74e-8 */
    CHECK(fbits(dv_sinf(0x1.921fb6p+1f)) == fbits((float)sinl(0x1.921fb6p+1L)), "sin(pi)");
    /* ceilf on a sweep, and the x86 conversion */
    bad = 0;
    for (uint64_t b = 0; b < 0x100000000ull; b += 1013) {
        float x = fof((uint32_t)b);
        if (!isnan(x))
            bad += fbits(ceilf(x)) != fbits(dv_ceilf(x));
    }
    CHECK(bad == 0, "ceilf: %u differ", bad);
    CHECK(dv_f32_to_i32_x86(2.9f) == 2 && dv_f32_to_i32_x86(-2.9f) == -2 &&
              dv_f32_to_i32_x86(2147483648.0f) == INT32_MIN &&
              dv_f32_to_i32_x86(-2147483648.0f) == INT32_MIN && dv_f32_to_i32_x86(NAN) == INT32_MIN &&
              dv_f32_to_i32_x86(2147483520.0f) == 2147483520,
          "x86 float to int32");
}

int main(void)
{
    test_binary();
    test_quantized_binary();
    test_quantized_binary_sweep();
    test_moves();
    test_quantization();
    test_matmul();
    test_conv();
    test_reduce();
    test_resize();
    test_float_maps();
    test_float_functions();
    return check_summary("test_ops_nncase");
}
