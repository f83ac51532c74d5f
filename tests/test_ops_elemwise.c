/* Unit tests of ops/elemwise.c: hand-computed results (worked out in the comments), INT32
 * extremes, rounding ties, and infer rejections. */
#include "op.h"
#include "cvm_ops.h"
#include "check.h"

extern const dv_op_info dv_info_ABS, dv_info_NEGATIVE, dv_info_RELU, dv_info_CLIP,
    dv_info_CVM_CLIP, dv_info_CVM_LEFT_SHIFT, dv_info_CVM_RIGHT_SHIFT, dv_info_CVM_PRECISION,
    dv_info_ELEMWISE_ADD, dv_info_ELEMWISE_SUB;

#define MAX32 INT32_MAX
#define MIN32 INT32_MIN
#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static dv_shape vector_shape(uint32_t n)
{
    dv_shape s = {1, {n}};
    return s;
}

/* Runs a one-input op on a vector and compares with `want`. */
static void check_unary(const dv_op_info *op, const int32_t *attr_values, uint32_t n_attrs,
                        const int32_t *x, const int32_t *want, uint32_t n, const char *what)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape in_shape = vector_shape(n), out_shape;
    const char *why = op->infer(&attrs, 1, &in_shape, 1, &out_shape);
    CHECK(why == NULL, "%s: infer: %s", what, why);
    if (why)
        return;
    CHECK(dv_shape_equal(&in_shape, &out_shape), "%s: output shape", what);
    int32_t y[32];
    dv_tensor in = {(int32_t *)x, in_shape};
    dv_tensor out = {y, out_shape};
    op->run(&attrs, 1, &in, 1, &out, NULL);
    for (uint32_t i = 0; i < n; i++)
        CHECK(y[i] == want[i], "%s: [%u] = %d, want %d", what, i, y[i], want[i]);
}

static void check_binary(const dv_op_info *op, const int32_t *a, const int32_t *b,
                         const int32_t *want, uint32_t n, const char *what)
{
    dv_attrs attrs = {NULL, 0};
    dv_shape shapes[2] = {vector_shape(n), vector_shape(n)}, out_shape;
    const char *why = op->infer(&attrs, 2, shapes, 1, &out_shape);
    CHECK(why == NULL, "%s: infer: %s", what, why);
    if (why)
        return;
    int32_t y[32];
    dv_tensor in[2] = {{(int32_t *)a, shapes[0]}, {(int32_t *)b, shapes[1]}};
    dv_tensor out = {y, out_shape};
    op->run(&attrs, 2, in, 1, &out, NULL);
    for (uint32_t i = 0; i < n; i++)
        CHECK(y[i] == want[i], "%s: [%u] = %d, want %d", what, i, y[i], want[i]);
}

/* infer's verdict on a one-input op over a (2, 3) input. */
static const char *infer_unary(const dv_op_info *op, const int32_t *attr_values,
                               uint32_t n_attrs)
{
    dv_attrs attrs = {attr_values, n_attrs};
    dv_shape in = {2, {2, 3}}, out;
    return op->infer(&attrs, 1, &in, 1, &out);
}

static void test_abs_negative_relu(void)
{
    /* |INT32_MIN| wraps to INT32_MIN, as the runtime's std::abs does. */
    const int32_t x[] = {-5, 0, 7, MAX32, -MAX32, MIN32};
    const int32_t abs_want[] = {5, 0, 7, MAX32, MAX32, MIN32};
    check_unary(&dv_info_ABS, NULL, 0, x, abs_want, COUNT(x), "abs");

    /* -INT32_MIN wraps to INT32_MIN. */
    const int32_t neg_want[] = {5, 0, -7, -MAX32, MAX32, MIN32};
    check_unary(&dv_info_NEGATIVE, NULL, 0, x, neg_want, COUNT(x), "negative");

    const int32_t relu_want[] = {0, 0, 7, MAX32, 0, 0};
    check_unary(&dv_info_RELU, NULL, 0, x, relu_want, COUNT(x), "relu");

    const int32_t one = 1;
    CHECK(infer_unary(&dv_info_ABS, &one, 1) != NULL, "abs takes no attributes");
    dv_attrs none = {NULL, 0};
    dv_shape two[2] = {{1, {3}}, {1, {3}}}, out;
    CHECK(dv_info_RELU.infer(&none, 2, two, 1, &out) != NULL, "relu takes one input");
}

static void test_clip(void)
{
    /* a_min -10, a_max 10: x >= 10 gives 10, x <= -10 gives -10. */
    const int32_t bounds[] = {-10, 10};
    const int32_t x[] = {-11, -10, -9, 0, 9, 10, 11, MIN32, MAX32};
    const int32_t want[] = {-10, -10, -9, 0, 9, 10, 10, -10, 10};
    check_unary(&dv_info_CLIP, bounds, 2, x, want, COUNT(x), "clip -10..10");

    /* The narrowest range: a_min 5, a_max 6. */
    const int32_t narrow[] = {5, 6};
    const int32_t x2[] = {4, 5, 6, 7};
    const int32_t want2[] = {5, 5, 6, 6};
    check_unary(&dv_info_CLIP, narrow, 2, x2, want2, COUNT(x2), "clip 5..6");

    /* The widest: +-(2^31-2) moves only the two extremes. */
    const int32_t wide[] = {-MAX32 + 1, MAX32 - 1};
    const int32_t x3[] = {MIN32, -MAX32, 0, MAX32};
    const int32_t want3[] = {-MAX32 + 1, -MAX32 + 1, 0, MAX32 - 1};
    check_unary(&dv_info_CLIP, wide, 2, x3, want3, COUNT(x3), "clip wide");

    const int32_t equal[] = {5, 5}, reversed[] = {6, 5}, low_min[] = {MIN32, 0};
    CHECK(infer_unary(&dv_info_CLIP, equal, 2) != NULL, "clip a_min == a_max");
    CHECK(infer_unary(&dv_info_CLIP, reversed, 2) != NULL, "clip a_min > a_max");
    CHECK(infer_unary(&dv_info_CLIP, low_min, 2) != NULL, "clip a_min = INT32_MIN");
    CHECK(infer_unary(&dv_info_CLIP, bounds, 1) != NULL, "clip with one attribute");
}

static void test_cvm_clip(void)
{
    /* precision 8: alpha = 127. */
    const int32_t p8 = 8;
    const int32_t x[] = {275, 157, -23, -168, -275, 127, -127, 128, -128};
    const int32_t want[] = {127, 127, -23, -127, -127, 127, -127, 127, -127};
    check_unary(&dv_info_CVM_CLIP, &p8, 1, x, want, COUNT(x), "cvm_clip 8");

    /* precision 1: alpha = 0, everything becomes 0. */
    const int32_t p1 = 1;
    const int32_t x1[] = {5, -5, 0, MIN32};
    const int32_t want1[] = {0, 0, 0, 0};
    check_unary(&dv_info_CVM_CLIP, &p1, 1, x1, want1, COUNT(x1), "cvm_clip 1");

    /* precision 32: alpha = 2^31-1, only INT32_MIN moves. */
    const int32_t p32 = 32;
    const int32_t x32[] = {MIN32, MAX32, -MAX32};
    const int32_t want32[] = {-MAX32, MAX32, -MAX32};
    check_unary(&dv_info_CVM_CLIP, &p32, 1, x32, want32, COUNT(x32), "cvm_clip 32");

    const int32_t p0 = 0, p33 = 33;
    CHECK(infer_unary(&dv_info_CVM_CLIP, &p0, 1) != NULL, "cvm_clip precision 0");
    CHECK(infer_unary(&dv_info_CVM_CLIP, &p33, 1) != NULL, "cvm_clip precision 33");
    CHECK(infer_unary(&dv_info_CVM_CLIP, NULL, 0) != NULL, "cvm_clip without precision");
}

/* The extremes the corpus's edge cases feed to cvm_right_shift. */
static const int32_t extremes[] = {MAX32, -MAX32, 1073741824, -1073741824, 1073741823,
                                   -1073741823, 2139095040, -1, 1, 0, 12345678, -12345678};

static void test_cvm_right_shift(void)
{
    /* precision 16, shift 1: t = (x + 1) >> 1, ties toward +infinity:
     * 5 -> 6 >> 1 = 3, -5 -> -4 >> 1 = -2, 3 -> 2, -3 -> -2 >> 1 = -1, 4 -> 5 >> 1 = 2. */
    const int32_t p16s1[] = {16, 1};
    const int32_t x1[] = {5, -5, 3, -3, 4};
    const int32_t want1[] = {3, -2, 2, -1, 2};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p16s1, 2, x1, want1, COUNT(x1), "rshift ties");

    /* shift 2: (x >> 1) + 1 >> 1 rounds x / 4 half up:
     * 6 -> 3 -> 4 -> 2; -6 -> -3 -> -2 -> -1; 5 -> 2 -> 3 -> 1; -5 -> -3 -> -2 -> -1;
     * 2 -> 1 -> 2 -> 1; -2 -> -1 -> 0 -> 0. */
    const int32_t p16s2[] = {16, 2};
    const int32_t x2[] = {6, -6, 5, -5, 2, -2};
    const int32_t want2[] = {2, -1, 1, -1, 1, 0};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p16s2, 2, x2, want2, COUNT(x2), "rshift 2");

    /* precision 8, shift 1: 2^31-1 + 1 wraps to -2^31, >> 1 = -2^30, clipped to -127
     * (the formal back end; corpus divergent/edge_04). Others: (x + 1) >> 1 clipped to 127. */
    const int32_t p8s1[] = {8, 1};
    const int32_t want_edge04[] = {-127, -127, 127, -127, 127, -127, 127, 0, 1, 0, 127, -127};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p8s1, 2, extremes, want_edge04, COUNT(extremes),
                "rshift edge_04");

    /* precision 8, shift 31: (x >> 30) is -2, -1, 0 or 1; + 1 >> 1 gives -1, 0, 0, 1
     * (divergent/edge_00). */
    const int32_t p8s31[] = {8, 31};
    const int32_t want_edge00[] = {1, -1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p8s31, 2, extremes, want_edge00, COUNT(extremes),
                "rshift edge_00");

    /* shift 32: x >> 31 is 0 or -1, + 1 >> 1 is 0 (divergent/edge_01). */
    const int32_t p8s32[] = {8, 32};
    const int32_t zeros[COUNT(extremes)] = {0};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p8s32, 2, extremes, zeros, COUNT(extremes),
                "rshift edge_01");

    /* precision 8, shift 24: 2^31-1 >> 23 = 255, 256 >> 1 = 128, clipped to 127; 2^30 >> 23
     * = 128 -> 64; 12345678 >> 23 = 1 -> 1; -12345678 >> 23 = -2 -> -1 (divergent/edge_02). */
    const int32_t p8s24[] = {8, 24};
    const int32_t want_edge02[] = {127, -127, 64, -64, 64, -64, 127, 0, 0, 0, 1, -1};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p8s24, 2, extremes, want_edge02, COUNT(extremes),
                "rshift edge_02");

    /* precision 16, shift 16: 2^31-1 rounds to 32768, clipped to 32767; 2139095040 / 65536 =
     * 32640 exactly; 12345678 / 65536 = 188.4 -> 188 (divergent/edge_03). */
    const int32_t p16s16[] = {16, 16};
    const int32_t want_edge03[] = {32767, -32767, 16384, -16384, 16384, -16384,
                                   32640, 0,      0,     0,      188,   -188};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p16s16, 2, extremes, want_edge03, COUNT(extremes),
                "rshift edge_03");

    /* precision 31, shift 1: alpha = 2^30-1; 2^31-1 wraps to -2^30, clipped to -(2^30-1)
     * (divergent/edge_14). */
    const int32_t p31s1[] = {31, 1};
    const int32_t x14[] = {MAX32, -MAX32, 3, -3, 5, -5};
    const int32_t want14[] = {-1073741823, -1073741823, 2, -1, 3, -2};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p31s1, 2, x14, want14, COUNT(x14), "rshift edge_14");

    /* INT32_MIN, shift 1: -2^31 + 1 >> 1 = -2^30 (floor of -1073741823.5). */
    const int32_t p32s1[] = {32, 1};
    const int32_t xmin[] = {MIN32};
    const int32_t want_min[] = {-1073741824};
    check_unary(&dv_info_CVM_RIGHT_SHIFT, p32s1, 2, xmin, want_min, 1, "rshift INT32_MIN");

    const int32_t s0[] = {8, 0}, s33[] = {8, 33}, p0[] = {0, 4}, p33[] = {33, 4};
    CHECK(infer_unary(&dv_info_CVM_RIGHT_SHIFT, s0, 2) != NULL, "rshift shift_bit 0");
    CHECK(infer_unary(&dv_info_CVM_RIGHT_SHIFT, s33, 2) != NULL, "rshift shift_bit 33");
    CHECK(infer_unary(&dv_info_CVM_RIGHT_SHIFT, p0, 2) != NULL, "rshift precision 0");
    CHECK(infer_unary(&dv_info_CVM_RIGHT_SHIFT, p33, 2) != NULL, "rshift precision 33");
    CHECK(infer_unary(&dv_info_CVM_RIGHT_SHIFT, p8s1, 1) != NULL, "rshift one attribute");
}

static void test_cvm_left_shift(void)
{
    /* precision 32, shift 1 at the limit: (2^30-1) * 2 = 2^31-2 (divergent/edge_13). */
    const int32_t p32s1[] = {32, 1};
    const int32_t x13[] = {1073741823, -1073741823, 1, -1};
    const int32_t want13[] = {2147483646, -2147483646, 2, -2};
    check_unary(&dv_info_CVM_LEFT_SHIFT, p32s1, 2, x13, want13, COUNT(x13), "lshift edge_13");

    /* precision 8, shift 4: 6 * 16 = 96, -4 * 16 = -64, 7 * 16 = 112; 8 * 16 = 128 and
     * -128 clip to +-127 (cvm_left_shift_2 and beyond). */
    const int32_t p8s4[] = {8, 4};
    const int32_t x[] = {6, -4, 7, 8, -8};
    const int32_t want[] = {96, -64, 112, 127, -127};
    check_unary(&dv_info_CVM_LEFT_SHIFT, p8s4, 2, x, want, COUNT(x), "lshift 8/4");

    /* Wrapping (values wider than their precision): 2^30 << 1 = 2^31 wraps to INT32_MIN,
     * clipped to -(2^31-1); 0x10000001 << 4 keeps the low 32 bits: 16. */
    const int32_t p32s4[] = {32, 4};
    const int32_t xw[] = {0x10000001};
    const int32_t wantw[] = {16};
    check_unary(&dv_info_CVM_LEFT_SHIFT, p32s4, 2, xw, wantw, 1, "lshift wraps");
    const int32_t xw1[] = {1073741824};
    const int32_t wantw1[] = {-MAX32};
    check_unary(&dv_info_CVM_LEFT_SHIFT, p32s1, 2, xw1, wantw1, 1, "lshift into sign");

    /* shift 32 (only hand-made bytecode): every bit is shifted out. */
    const int32_t p8s32[] = {8, 32};
    const int32_t x32[] = {5, -5};
    const int32_t want32[] = {0, 0};
    check_unary(&dv_info_CVM_LEFT_SHIFT, p8s32, 2, x32, want32, COUNT(x32), "lshift 32");

    const int32_t s0[] = {8, 0}, s33[] = {8, 33}, p0[] = {0, 4};
    CHECK(infer_unary(&dv_info_CVM_LEFT_SHIFT, s0, 2) != NULL, "lshift shift_bit 0");
    CHECK(infer_unary(&dv_info_CVM_LEFT_SHIFT, s33, 2) != NULL, "lshift shift_bit 33");
    CHECK(infer_unary(&dv_info_CVM_LEFT_SHIFT, p0, 2) != NULL, "lshift precision 0");
}

static void test_cvm_precision(void)
{
    /* Bits of |x|, at least 1: 0, 1 -> 1; 2, 3 -> 2; 4, -4, 7 -> 3; 8 -> 4; 2^31-1 -> 31;
     * |INT32_MIN| = 2^31 -> 32 (corpus valid/edge_08 for the rest). */
    const int32_t x[] = {0, 1, 2, 3, 4, -4, 7, 8, -1, MAX32, -MAX32, MIN32};
    const int32_t want[] = {1, 1, 2, 2, 3, 3, 3, 4, 1, 31, 31, 32};
    check_unary(&dv_info_CVM_PRECISION, NULL, 0, x, want, COUNT(x), "cvm_precision");
}

static void test_elemwise_add_sub(void)
{
    /* Wrapping modulo 2^32: 2^31-1 + 1 = -2^31; -2^31 + -1 = 2^31-1. */
    const int32_t a[] = {1, MAX32, MIN32, -MAX32, -7};
    const int32_t b[] = {2, 1, -1, -1, 3};
    const int32_t sum[] = {3, MIN32, MAX32, MIN32, -4};
    check_binary(&dv_info_ELEMWISE_ADD, a, b, sum, COUNT(a), "elemwise_add");

    /* 1 - 2 = -1; -2^31 - 1 wraps to 2^31-1; 2^31-1 - -1 wraps to -2^31; 0 - -2^31 = 2^31
     * wraps to -2^31. */
    const int32_t c[] = {1, MIN32, MAX32, 0};
    const int32_t d[] = {2, 1, -1, MIN32};
    const int32_t diff[] = {-1, MAX32, MIN32, MIN32};
    check_binary(&dv_info_ELEMWISE_SUB, c, d, diff, COUNT(c), "elemwise_sub");

    dv_attrs none = {NULL, 0};
    dv_shape differ[2] = {{2, {2, 3}}, {2, {3, 2}}}, out;
    CHECK(dv_info_ELEMWISE_ADD.infer(&none, 2, differ, 1, &out) != NULL,
          "elemwise_add shapes (2,3) and (3,2)");
    dv_shape broadcastable[2] = {{2, {2, 3}}, {1, {3}}};
    CHECK(dv_info_ELEMWISE_SUB.infer(&none, 2, broadcastable, 1, &out) != NULL,
          "elemwise_sub does not broadcast");
    dv_shape same[2] = {{3, {4, 1, 2}}, {3, {4, 1, 2}}};
    CHECK(dv_info_ELEMWISE_ADD.infer(&none, 2, same, 1, &out) == NULL &&
              dv_shape_equal(&out, &same[0]),
          "elemwise_add (4,1,2)");
    CHECK(dv_info_ELEMWISE_ADD.infer(&none, 1, same, 1, &out) != NULL,
          "elemwise_add with one input");
}


/* ---- The CVM side (loader/cvm_elemwise.c) --------------------------------------------- */

typedef struct {
    cvm_attrs attrs;
    cvm_node node;
    detvm_error err;
    int32_t in_prec[2];
} cvm_case;

/* A node of operator `op` with attributes given as key, value pairs (NULL-terminated). */
static void cvm_case_init(cvm_case *c, const char *op, const char *const *kv, int32_t prec0,
                          int32_t prec1)
{
    memset(c, 0, sizeof *c);
    c->attrs.node = "node0";
    c->attrs.op = op;
    c->attrs.err = &c->err;
    for (; kv && kv[0]; kv += 2) {
        c->attrs.key[c->attrs.n] = kv[0];
        c->attrs.value[c->attrs.n++] = kv[1];
    }
    c->in_prec[0] = prec0;
    c->in_prec[1] = prec1;
    c->node.attrs = &c->attrs;
    c->node.n_in = prec1 ? 2 : 1;
    c->node.in_prec = c->in_prec;
}

/* Parses then infers precision; returns the status of the first failure (0 when none). */
static int cvm_case_run(cvm_case *c)
{
    const cvm_op_def *def = cvm_op_find(c->attrs.op);
    if (!def)
        return -1;
    if (def->parse(&c->node, &c->err) != 0)
        return (int)c->err.status;
    if (def->precision(&c->node, NULL, &c->err) != 0)
        return (int)c->err.status;
    return 0;
}

static void test_cvm_parse_and_precision(void)
{
    cvm_case c;

    /* clip: canonical [a_min, a_max]; precision of max(|a_min|, |a_max|) by the runtime's
     * GetNumberPrecision: 100000 + 1 has 17 bits, + 1 = 18 (corpus valid/clip_2). */
    const char *const clip_kv[] = {"a_min", "-100000", "a_max", "3", NULL};
    cvm_case_init(&c, "clip", clip_kv, 16, 0);
    CHECK(cvm_case_run(&c) == 0, "clip: %s", c.err.message);
    CHECK(c.node.opcode == DV_OP_CLIP && c.node.n_attr == 2 && c.node.attr[0] == -100000 &&
              c.node.attr[1] == 3 && c.node.n_in_expected == 1 && c.node.n_out == 1,
          "clip canonical attrs");
    CHECK(c.node.out_prec[0] == 18, "clip precision %d, want 18", c.node.out_prec[0]);
    /* a_max 2^31-1: 2^31 has 32 bits, + 1 = 33, which the graph then refuses
     * (invalid/invalid_clip_prec33). */
    const char *const clip33_kv[] = {"a_min", "-5", "a_max", "2147483647", NULL};
    cvm_case_init(&c, "clip", clip33_kv, 8, 0);
    CHECK(cvm_case_run(&c) == 0 && c.node.out_prec[0] == 33, "clip 2^31-1 precision 33");
    const char *const clip_eq_kv[] = {"a_min", "5", "a_max", "5", NULL};
    cvm_case_init(&c, "clip", clip_eq_kv, 8, 0);
    CHECK(cvm_case_run(&c) == 1, "clip a_min == a_max is status 1");
    const char *const clip_range_kv[] = {"a_min", "-2147483648", "a_max", "5", NULL};
    cvm_case_init(&c, "clip", clip_range_kv, 8, 0);
    CHECK(cvm_case_run(&c) == 1, "clip a_min = -2^31 is status 1");
    const char *const clip_missing_kv[] = {"a_min", "-5", NULL};
    cvm_case_init(&c, "clip", clip_missing_kv, 8, 0);
    CHECK(cvm_case_run(&c) == 2, "clip without a_max is status 2");

    /* cvm_clip: is_sign parses but is ignored. */
    const char *const cvm_clip_kv[] = {"precision", "8", "is_sign", "False", NULL};
    cvm_case_init(&c, "cvm_clip", cvm_clip_kv, 16, 0);
    CHECK(cvm_case_run(&c) == 0 && c.node.n_attr == 1 && c.node.attr[0] == 8 &&
              c.node.out_prec[0] == 8,
          "cvm_clip: %s", c.err.message);
    const char *const cvm_clip_bad_kv[] = {"precision", "8", "is_sign", "maybe", NULL};
    cvm_case_init(&c, "cvm_clip", cvm_clip_bad_kv, 16, 0);
    CHECK(cvm_case_run(&c) == 2, "cvm_clip is_sign 'maybe' is status 2");
    const char *const cvm_clip_33_kv[] = {"precision", "33", NULL};
    cvm_case_init(&c, "cvm_clip", cvm_clip_33_kv, 16, 0);
    CHECK(cvm_case_run(&c) == 1, "cvm_clip precision 33 is status 1");
    const char *const cvm_clip_extra_kv[] = {"precision", "8", "bogus", "1", NULL};
    cvm_case_init(&c, "cvm_clip", cvm_clip_extra_kv, 16, 0);
    CHECK(cvm_case_run(&c) == 2, "cvm_clip unknown key is status 2");

    /* cvm_right_shift: precision 33 is status 1 (invalid/invalid_attr_range); a missing
     * shift_bit is status 2 (invalid/invalid_missing_attr). */
    const char *const rs_kv[] = {"precision", "8", "shift_bit", "4", NULL};
    cvm_case_init(&c, "cvm_right_shift", rs_kv, 32, 0);
    CHECK(cvm_case_run(&c) == 0 && c.node.opcode == DV_OP_CVM_RIGHT_SHIFT &&
              c.node.attr[0] == 8 && c.node.attr[1] == 4 && c.node.out_prec[0] == 8,
          "cvm_right_shift: %s", c.err.message);
    const char *const rs33_kv[] = {"precision", "33", "shift_bit", "4", NULL};
    cvm_case_init(&c, "cvm_right_shift", rs33_kv, 32, 0);
    CHECK(cvm_case_run(&c) == 1, "cvm_right_shift precision 33 is status 1");
    const char *const rs_s0_kv[] = {"precision", "8", "shift_bit", "0", NULL};
    cvm_case_init(&c, "cvm_right_shift", rs_s0_kv, 32, 0);
    CHECK(cvm_case_run(&c) == 1, "cvm_right_shift shift_bit 0 is status 1");
    const char *const rs_missing_kv[] = {"precision", "8", NULL};
    cvm_case_init(&c, "cvm_right_shift", rs_missing_kv, 32, 0);
    CHECK(cvm_case_run(&c) == 2, "cvm_right_shift without shift_bit is status 2");

    /* cvm_left_shift: input precision 16 + shift 17 > 32 fails precision inference with
     * status 2 (invalid/invalid_lshift_overflow); 31 + 1 = 32 is accepted (edge_13). */
    const char *const ls_over_kv[] = {"precision", "24", "shift_bit", "17", NULL};
    cvm_case_init(&c, "cvm_left_shift", ls_over_kv, 16, 0);
    CHECK(cvm_case_run(&c) == 2, "cvm_left_shift 16 + 17 bits is status 2");
    const char *const ls_kv[] = {"precision", "32", "shift_bit", "1", NULL};
    cvm_case_init(&c, "cvm_left_shift", ls_kv, 31, 0);
    CHECK(cvm_case_run(&c) == 0 && c.node.out_prec[0] == 32, "cvm_left_shift 31 + 1: %s",
          c.err.message);

    /* Ops without attributes: any key at all is status 1; the runtime has no parser for
     * them that would skip __x__ keys (its check counts the whole dictionary). */
    const char *const hidden_kv[] = {"__shape__", "(1,)", NULL};
    cvm_case_init(&c, "abs", hidden_kv, 9, 0);
    CHECK(cvm_case_run(&c) == 1, "abs with a __x__ key is status 1: %s", c.err.message);
    cvm_case_init(&c, "abs", NULL, 9, 0);
    CHECK(cvm_case_run(&c) == 0 && c.node.opcode == DV_OP_ABS && c.node.out_prec[0] == 9,
          "abs: %s", c.err.message);
    const char *const stray_kv[] = {"axis", "1", NULL};
    cvm_case_init(&c, "relu", stray_kv, 9, 0);
    CHECK(cvm_case_run(&c) == 1, "relu with an attribute is status 1");
    cvm_case_init(&c, "cvm_precision", NULL, 32, 0);
    CHECK(cvm_case_run(&c) == 0 && c.node.out_prec[0] == 6, "cvm_precision precision 6");
    cvm_case_init(&c, "elemwise_add", NULL, 31, 8);
    CHECK(cvm_case_run(&c) == 0 && c.node.n_in_expected == 2 && c.node.out_prec[0] == 32,
          "elemwise_add precision max + 1");
    cvm_case_init(&c, "elemwise_sub", NULL, 8, 16);
    CHECK(cvm_case_run(&c) == 0 && c.node.out_prec[0] == 17, "elemwise_sub precision 17");
    cvm_case_init(&c, "negative", NULL, -1, 0);
    CHECK(cvm_case_run(&c) == 1, "negative of an input without precision is status 1");
}

/* divergence() after parse; in_prec as given. */
static const char *divergence_of(const char *op, const char *precision, const char *shift,
                                 int32_t in_prec)
{
    const char *const kv[] = {"precision", precision, "shift_bit", shift, NULL};
    static cvm_case c;
    cvm_case_init(&c, op, kv, in_prec, 0);
    const cvm_op_def *def = cvm_op_find(op);
    if (def->parse(&c.node, &c.err) != 0)
        return "parse failed";
    return def->divergence ? def->divergence(&c.node) : NULL;
}

static void test_cvm_divergence(void)
{
    CHECK(divergence_of("cvm_left_shift", "20", "12", 8) != NULL, "every cvm_left_shift");
    /* The corpus's divergent right shifts: edge_00..04 and edge_14 (32-bit inputs). */
    CHECK(divergence_of("cvm_right_shift", "8", "31", 32) != NULL, "edge_00");
    CHECK(divergence_of("cvm_right_shift", "8", "32", 32) != NULL, "edge_01");
    CHECK(divergence_of("cvm_right_shift", "8", "24", 32) != NULL, "edge_02");
    CHECK(divergence_of("cvm_right_shift", "16", "16", 32) != NULL, "edge_03");
    CHECK(divergence_of("cvm_right_shift", "8", "1", 32) != NULL, "edge_04");
    CHECK(divergence_of("cvm_right_shift", "31", "1", 32) != NULL, "edge_14");
    CHECK(divergence_of("cvm_right_shift", "8", "31", 8) != NULL, "shift 31 on 8-bit input");
    /* The corpus's agreeing ones (valid/cvm_right_shift_0..5), and precision 1. */
    CHECK(divergence_of("cvm_right_shift", "31", "1", 24) == NULL, "cvm_right_shift_0");
    CHECK(divergence_of("cvm_right_shift", "8", "2", 8) == NULL, "cvm_right_shift_1");
    CHECK(divergence_of("cvm_right_shift", "16", "4", 31) == NULL, "cvm_right_shift_2");
    CHECK(divergence_of("cvm_right_shift", "24", "7", 31) == NULL, "cvm_right_shift_3");
    CHECK(divergence_of("cvm_right_shift", "16", "13", 16) == NULL, "cvm_right_shift_4");
    CHECK(divergence_of("cvm_right_shift", "24", "30", 24) == NULL, "cvm_right_shift_5");
    CHECK(divergence_of("cvm_right_shift", "1", "31", 32) == NULL, "precision 1");
    CHECK(divergence_of("cvm_right_shift", "32", "1", 32) == NULL, "precision 32 shift 1");
}

int main(void)
{
    test_abs_negative_relu();
    test_clip();
    test_cvm_clip();
    test_cvm_right_shift();
    test_cvm_left_shift();
    test_cvm_precision();
    test_elemwise_add_sub();
    test_cvm_parse_and_precision();
    test_cvm_divergence();
    return check_summary("test_ops_elemwise");
}
