/* Unit tests of ops/broadcast.c: broadcast shapes and index rules, hand-computed results
 * (worked out in the comments), INT32 extremes, division rules, `where`, and infer
 * rejections. */
#include "op.h"
#include "cvm_ops.h"
#include "check.h"

extern const dv_op_info dv_info_BROADCAST_ADD, dv_info_BROADCAST_SUB, dv_info_BROADCAST_MUL,
    dv_info_BROADCAST_DIV, dv_info_BROADCAST_GREATER, dv_info_BROADCAST_MAX, dv_info_WHERE;

#define MAX32 INT32_MAX
#define MIN32 INT32_MIN
#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static const dv_attrs no_attrs = {NULL, 0};

/* Runs a broadcasting op and compares the output shape and values. */
static void check_broadcast(const dv_op_info *op, dv_shape a_shape, const int32_t *a,
                            dv_shape b_shape, const int32_t *b, dv_shape want_shape,
                            const int32_t *want, const char *what)
{
    dv_shape shapes[2] = {a_shape, b_shape}, out_shape;
    const char *why = op->infer(&no_attrs, 2, shapes, 1, &out_shape);
    CHECK(why == NULL, "%s: infer: %s", what, why);
    if (why)
        return;
    CHECK(dv_shape_equal(&out_shape, &want_shape), "%s: output shape", what);
    if (!dv_shape_equal(&out_shape, &want_shape))
        return;
    int32_t y[64];
    dv_tensor in[2] = {{(int32_t *)a, a_shape}, {(int32_t *)b, b_shape}};
    dv_tensor out = {y, out_shape};
    op->run(&no_attrs, 2, in, 1, &out, NULL);
    uint64_t n = dv_shape_size(&out_shape);
    for (uint64_t i = 0; i < n; i++)
        CHECK(y[i] == want[i], "%s: [%llu] = %d, want %d", what, (unsigned long long)i, y[i],
              want[i]);
}

static const char *infer_pair(dv_shape a, dv_shape b, dv_shape *out)
{
    dv_shape shapes[2] = {a, b};
    return dv_info_BROADCAST_ADD.infer(&no_attrs, 2, shapes, 1, out);
}

static void test_shapes(void)
{
    dv_shape out;
    dv_shape s23 = {2, {2, 3}}, s3 = {1, {3}}, s32 = {2, {3, 2}}, s2 = {1, {2}};
    CHECK(infer_pair(s23, s3, &out) == NULL && dv_shape_equal(&out, &s23), "(2,3) with (3)");
    CHECK(infer_pair(s3, s23, &out) == NULL && dv_shape_equal(&out, &s23), "(3) with (2,3)");
    CHECK(infer_pair(s23, s32, &out) != NULL, "(2,3) with (3,2) do not broadcast");
    CHECK(infer_pair(s2, s3, &out) != NULL, "(2) with (3) do not broadcast");

    /* (4,1,1) with (2,2): padded to (1,2,2), output (4,2,2). */
    dv_shape s411 = {3, {4, 1, 1}}, s22 = {2, {2, 2}}, s422 = {3, {4, 2, 2}};
    CHECK(infer_pair(s411, s22, &out) == NULL && dv_shape_equal(&out, &s422),
          "(4,1,1) with (2,2)");

    /* (5,1,3) with (5,2,3) gives (5,2,3) (corpus valid/broadcast_add_4). */
    dv_shape s513 = {3, {5, 1, 3}}, s523 = {3, {5, 2, 3}};
    CHECK(infer_pair(s513, s523, &out) == NULL && dv_shape_equal(&out, &s523),
          "(5,1,3) with (5,2,3)");

    /* Each input is valid but (2^20, 1) with (1, 2^20) has 2^40 elements. */
    dv_shape tall = {2, {1u << 20, 1}}, wide = {2, {1, 1u << 20}};
    CHECK(infer_pair(tall, wide, &out) != NULL, "broadcast beyond 2^30 elements");
    /* (2^15, 1) with (1, 2^15) has exactly 2^30: accepted. */
    dv_shape tall15 = {2, {1u << 15, 1}}, wide15 = {2, {1, 1u << 15}};
    CHECK(infer_pair(tall15, wide15, &out) == NULL, "broadcast of exactly 2^30 elements");

    dv_shape pair[2] = {s23, s3};
    const int32_t one = 1;
    dv_attrs attrs = {&one, 1};
    CHECK(dv_info_BROADCAST_MUL.infer(&attrs, 2, pair, 1, &out) != NULL,
          "broadcast_mul takes no attributes");
    CHECK(dv_info_BROADCAST_MUL.infer(&no_attrs, 1, pair, 1, &out) != NULL,
          "broadcast_mul with one input");
}

static void test_add_sub(void)
{
    /* (2,3) + (3): each row plus [10,20,30]. */
    dv_shape s23 = {2, {2, 3}}, s3 = {1, {3}};
    const int32_t a[] = {1, 2, 3, 4, 5, 6}, row[] = {10, 20, 30};
    const int32_t sum[] = {11, 22, 33, 14, 25, 36};
    check_broadcast(&dv_info_BROADCAST_ADD, s23, a, s3, row, s23, sum, "add rows");

    /* (2,1) - (1,3): out[i][j] = col[i] - row[j] = [1-10, 1-20, 1-30, 2-10, 2-20, 2-30]. */
    dv_shape s21 = {2, {2, 1}}, s13 = {2, {1, 3}};
    const int32_t col[] = {1, 2};
    const int32_t diff[] = {-9, -19, -29, -8, -18, -28};
    check_broadcast(&dv_info_BROADCAST_SUB, s21, col, s13, row, s23, diff, "sub outer");

    /* A size-1 first operand: (1) - (3) = [10-1, 10-2, 10-3]. */
    dv_shape s1 = {1, {1}};
    const int32_t ten[] = {10}, small[] = {1, 2, 3}, ten_minus[] = {9, 8, 7};
    check_broadcast(&dv_info_BROADCAST_SUB, s1, ten, s3, small, s3, ten_minus, "sub scalar");

    /* A broadcast middle dimension: (2,1,2) + (1,3,1) -> (2,3,2),
     * out[i][j][k] = a[i][0][k] + b[0][j][0]: a rows [1,2] and [3,4], b = 10, 20, 30. */
    dv_shape s212 = {3, {2, 1, 2}}, s131 = {3, {1, 3, 1}}, s232 = {3, {2, 3, 2}};
    const int32_t a3[] = {1, 2, 3, 4}, b3[] = {10, 20, 30};
    const int32_t sum3[] = {11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34};
    check_broadcast(&dv_info_BROADCAST_ADD, s212, a3, s131, b3, s232, sum3, "add middle");

    /* Wrapping: 2^31-1 + 1 = -2^31; -2^31 - 1 = 2^31-1. */
    dv_shape s2 = {1, {2}};
    const int32_t ext[] = {MAX32, MIN32}, plus_one[] = {1, -1}, wrapped[] = {MIN32, MAX32};
    check_broadcast(&dv_info_BROADCAST_ADD, s2, ext, s2, plus_one, s2, wrapped, "add wraps");
    const int32_t minus[] = {-1, 1}, wrapped_sub[] = {MIN32, MAX32};
    check_broadcast(&dv_info_BROADCAST_SUB, s2, ext, s2, minus, s2, wrapped_sub, "sub wraps");
}

static void test_mul(void)
{
    /* (3) * (1): 7 * 65536 = 458752; -3 * 65536 = -196608; 65536 * 65536 = 2^32 wraps to 0;
     * (2^31-1) * 65536 = 0x7FFFFFFF0000, low 32 bits 0xFFFF0000 = -65536. */
    dv_shape s4 = {1, {4}}, s1 = {1, {1}};
    const int32_t a[] = {7, -3, 65536, MAX32}, b[] = {65536};
    const int32_t want[] = {458752, -196608, 0, -65536};
    check_broadcast(&dv_info_BROADCAST_MUL, s4, a, s1, b, s4, want, "mul");

    /* (2) * (3,2) (corpus valid/broadcast_mul_4 shapes): each row times [2, -1]. */
    dv_shape s2 = {1, {2}}, s32 = {2, {3, 2}};
    const int32_t k[] = {2, -1}, m[] = {1, 2, 3, 4, 5, 6};
    const int32_t km[] = {2, -2, 6, -4, 10, -6};
    check_broadcast(&dv_info_BROADCAST_MUL, s2, k, s32, m, s32, km, "mul rows");
}

static void test_div(void)
{
    /* Truncation toward zero: 7/2 = 3, 7/-2 = -3, -7/2 = -3, -7/-2 = 3, -8/3 = -2, -9/-3 = 3;
     * x/0 = 0; INT32_MIN / -1 = INT32_MIN (wrapped); 0/5 = 0 (corpus valid/edge_07). */
    dv_shape s9 = {1, {9}};
    const int32_t a[] = {7, 7, -7, -7, 5, -8, -9, MIN32, 0};
    const int32_t b[] = {2, -2, 2, -2, 0, 3, -3, -1, 5};
    const int32_t want[] = {3, -3, -3, 3, 0, -2, 3, MIN32, 0};
    check_broadcast(&dv_info_BROADCAST_DIV, s9, a, s9, b, s9, want, "div");

    /* (2,2) / (2): columns divided by [0, -1]: everything / 0 = 0, x / -1 = -x. */
    dv_shape s22 = {2, {2, 2}}, s2 = {1, {2}};
    const int32_t m[] = {MAX32, MAX32, -5, MIN32}, d[] = {0, -1};
    const int32_t md[] = {0, -MAX32, 0, MIN32};
    check_broadcast(&dv_info_BROADCAST_DIV, s22, m, s2, d, s22, md, "div by 0 and -1");
}

static void test_greater_max(void)
{
    /* (3) > (1): [1 > 2, 2 > 2, 3 > 2] = [0, 0, 1]. */
    dv_shape s3 = {1, {3}}, s1 = {1, {1}};
    const int32_t a[] = {1, 2, 3}, two[] = {2}, gt[] = {0, 0, 1};
    check_broadcast(&dv_info_BROADCAST_GREATER, s3, a, s1, two, s3, gt, "greater");
    /* Swapped: 2 > [1, 2, 3] = [1, 0, 0]. */
    const int32_t lt[] = {1, 0, 0};
    check_broadcast(&dv_info_BROADCAST_GREATER, s1, two, s3, a, s3, lt, "greater swapped");
    dv_shape s2 = {1, {2}};
    const int32_t ext[] = {MIN32, MAX32}, ext_rev[] = {MAX32, MIN32}, ext_gt[] = {0, 1};
    check_broadcast(&dv_info_BROADCAST_GREATER, s2, ext, s2, ext_rev, s2, ext_gt,
                    "greater extremes");

    /* (2,2) max (2): [[1,5],[3,2]] against [2,4] -> [[2,5],[3,4]]. */
    dv_shape s22 = {2, {2, 2}};
    const int32_t m[] = {1, 5, 3, 2}, r[] = {2, 4}, mx[] = {2, 5, 3, 4};
    check_broadcast(&dv_info_BROADCAST_MAX, s22, m, s2, r, s22, mx, "max");
    const int32_t mx_ext[] = {MAX32, MAX32};
    check_broadcast(&dv_info_BROADCAST_MAX, s2, ext, s2, ext_rev, s2, mx_ext, "max extremes");
}

static void test_where(void)
{
    /* Non-zero (even negative) conditions pick x: [0,1,-1,0] picks y, x, x, y. */
    dv_shape s4 = {1, {4}};
    const int32_t cond[] = {0, 1, -1, 0}, x[] = {1, 2, 3, 4}, y[] = {5, 6, 7, 8};
    const int32_t want[] = {5, 2, 3, 8};
    dv_shape shapes[3] = {s4, s4, s4}, out_shape;
    const char *why = dv_info_WHERE.infer(&no_attrs, 3, shapes, 1, &out_shape);
    CHECK(why == NULL && dv_shape_equal(&out_shape, &s4), "where infer: %s", why);
    int32_t result[4];
    dv_tensor in[3] = {{(int32_t *)cond, s4}, {(int32_t *)x, s4}, {(int32_t *)y, s4}};
    dv_tensor out = {result, s4};
    dv_info_WHERE.run(&no_attrs, 3, in, 1, &out, NULL);
    for (uint32_t i = 0; i < 4; i++)
        CHECK(result[i] == want[i], "where [%u] = %d, want %d", i, result[i], want[i]);

    /* x and y must agree (corpus invalid/invalid_where_shape: (3,2) vs (2,3)). */
    dv_shape s23 = {2, {2, 3}}, s32 = {2, {3, 2}}, s2 = {1, {2}}, s3 = {1, {3}};
    dv_shape xy_differ[3] = {s23, s32, s23};
    CHECK(dv_info_WHERE.infer(&no_attrs, 3, xy_differ, 1, &out_shape) != NULL,
          "where x (3,2), y (2,3)");
    /* A 1-D row condition is refused: the CVM runtime leaves part of its output unset. */
    dv_shape row_cond[3] = {s2, s23, s23};
    CHECK(dv_info_WHERE.infer(&no_attrs, 3, row_cond, 1, &out_shape) != NULL,
          "where with a 1-D row condition");
    dv_shape bad_cond[3] = {s3, s23, s23};
    CHECK(dv_info_WHERE.infer(&no_attrs, 3, bad_cond, 1, &out_shape) != NULL,
          "where with an unrelated condition shape");
    dv_shape ok[3] = {s23, s23, s23};
    CHECK(dv_info_WHERE.infer(&no_attrs, 2, ok, 1, &out_shape) != NULL,
          "where with two inputs");
    CHECK(dv_info_WHERE.infer(&no_attrs, 3, ok, 1, &out_shape) == NULL &&
              dv_shape_equal(&out_shape, &s23),
          "where (2,3)");
}


/* ---- The CVM side (loader/cvm_broadcast.c) -------------------------------------------- */

/* Parses `op` (no attributes, or the one key given) and infers its precision from the
 * input precisions; returns the first failure's status, 0 when none. */
static int cvm_precision_of(const char *op, const char *key, const int32_t *in_prec,
                            uint32_t n_in, int32_t *out_prec)
{
    detvm_error err = {0};
    cvm_attrs attrs = {0};
    attrs.node = "node0";
    attrs.op = op;
    attrs.err = &err;
    if (key) {
        attrs.key[0] = key;
        attrs.value[0] = "1";
        attrs.n = 1;
    }
    cvm_node node = {0};
    node.attrs = &attrs;
    node.n_in = n_in;
    node.in_prec = in_prec;
    const cvm_op_def *def = cvm_op_find(op);
    if (!def)
        return -1;
    if (def->parse(&node, &err) != 0)
        return (int)err.status;
    if (node.n_in_expected != n_in || node.n_out != 1 || node.n_attr != 0)
        return -1;
    if (def->precision(&node, NULL, &err) != 0)
        return (int)err.status;
    *out_prec = node.out_prec[0];
    return 0;
}

static void test_cvm_precision(void)
{
    const int32_t p20_16[] = {20, 16}, p8_16_16[] = {8, 16, 16}, unknown[] = {8, -1};
    int32_t p = 0;
    /* add, sub: max + 1 = 21; mul: 20 + 16 = 36, refused later by the graph's 1..32 check
     * (invalid/invalid_prec_overflow); max: 20; div, greater: the first input's, 20. */
    CHECK(cvm_precision_of("broadcast_add", NULL, p20_16, 2, &p) == 0 && p == 21, "add");
    CHECK(cvm_precision_of("broadcast_sub", NULL, p20_16, 2, &p) == 0 && p == 21, "sub");
    CHECK(cvm_precision_of("broadcast_mul", NULL, p20_16, 2, &p) == 0 && p == 36, "mul");
    CHECK(cvm_precision_of("broadcast_max", NULL, p20_16, 2, &p) == 0 && p == 20, "max");
    CHECK(cvm_precision_of("broadcast_div", NULL, p20_16, 2, &p) == 0 && p == 20, "div");
    CHECK(cvm_precision_of("broadcast_greater", NULL, p20_16, 2, &p) == 0 && p == 20,
          "greater");
    /* where: the condition's precision, 8, though x and y are 16-bit (valid/where_0). */
    CHECK(cvm_precision_of("where", NULL, p8_16_16, 3, &p) == 0 && p == 8, "where");
    CHECK(cvm_precision_of("broadcast_add", "axis", p20_16, 2, &p) == 1,
          "an attribute on broadcast_add is status 1");
    CHECK(cvm_precision_of("broadcast_add", NULL, unknown, 2, &p) == 1,
          "an input without precision is status 1");
}

int main(void)
{
    test_shapes();
    test_add_sub();
    test_mul();
    test_div();
    test_greater_max();
    test_where();
    test_cvm_precision();
    return check_summary("test_ops_broadcast");
}
