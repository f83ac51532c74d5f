/* get_valid_counts and non_max_suppression: hand-computed cases, infer rejections, and the
 * CVM loader side (attribute parsing, checks, precision, divergence). */
#include <stdint.h>

#include "check.h"
#include "cvm_ops.h"
#include "op.h"

extern const dv_op_info dv_info_GET_VALID_COUNTS, dv_info_NON_MAX_SUPPRESSION;
extern const cvm_op_def cvm_def_GET_VALID_COUNTS, cvm_def_NON_MAX_SUPPRESSION;

static dv_shape shape3(uint32_t a, uint32_t b, uint32_t c)
{
    dv_shape s = {3, {a, b, c}};
    return s;
}

static dv_shape shape1(uint32_t a)
{
    dv_shape s = {1, {a}};
    return s;
}

static int all_minus_one(const int32_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != -1)
            return 0;
    return 1;
}

/* ---- get_valid_counts -------------------------------------------------------------------- */

static const char *gvc_infer(int32_t threshold, dv_shape x, dv_shape *out)
{
    int32_t v[1] = {threshold};
    dv_attrs a = {v, 1};
    return dv_info_GET_VALID_COUNTS.infer(&a, 1, &x, 2, out);
}

static void test_gvc_infer(void)
{
    dv_shape out[2];
    CHECK(gvc_infer(0, shape3(2, 3, 4), out) == NULL);
    CHECK(out[0].ndim == 1 && out[0].dim[0] == 2);
    CHECK(dv_shape_equal(&out[1], &(dv_shape){3, {2, 3, 4}}));
    CHECK(gvc_infer(0, shape3(1, 1, 2), out) == NULL);   /* K = 2: the smallest */
    CHECK(gvc_infer(0, shape3(1, 1, 31), out) == NULL);  /* K = 31: the largest */
    CHECK(gvc_infer(0, shape3(1, 1, 1), out) != NULL);   /* no score field */
    CHECK(gvc_infer(0, shape3(1, 2, 32), out) != NULL);  /* invalid_gvc_k32 */
    dv_shape flat = {2, {3, 4}};
    CHECK(gvc_infer(0, flat, out) != NULL);
    dv_attrs none = {NULL, 0};
    CHECK(dv_info_GET_VALID_COUNTS.infer(&none, 1, &flat, 2, out) != NULL);
    dv_shape x = shape3(1, 2, 6);
    int32_t v[1] = {0};
    dv_attrs a = {v, 1};
    CHECK(dv_info_GET_VALID_COUNTS.infer(&a, 1, &x, 1, out) != NULL); /* two outputs */
}

static void test_gvc_run(void)
{
    /* B=2, N=3, K=2, threshold 10: a score must be strictly above 10. */
    int32_t x[12] = {
        7, 11,  8, 10,  9, 12,                   /* batch 0: rows 0 and 2 pass */
        1, INT32_MAX,  2, INT32_MIN,  3, 10,     /* batch 1: row 0 passes */
    };
    int32_t count[2], boxes[12];
    int32_t v[1] = {10};
    dv_attrs a = {v, 1};
    dv_tensor in = {x, shape3(2, 3, 2)};
    dv_tensor out[2] = {{count, shape1(2)}, {boxes, shape3(2, 3, 2)}};
    dv_info_GET_VALID_COUNTS.run(&a, 1, &in, 2, out, NULL);
    CHECK(count[0] == 2 && count[1] == 1);
    const int32_t want[12] = {7, 11, 9, 12, -1, -1, 1, INT32_MAX, -1, -1, -1, -1};
    CHECK(memcmp(boxes, want, sizeof want) == 0);

    /* Threshold INT32_MIN: every score but INT32_MIN passes. */
    v[0] = INT32_MIN;
    dv_info_GET_VALID_COUNTS.run(&a, 1, &in, 2, out, NULL);
    CHECK(count[0] == 3 && count[1] == 2);
    const int32_t want_min[12] = {7, 11, 8, 10, 9, 12, 1, INT32_MAX, 3, 10, -1, -1};
    CHECK(memcmp(boxes, want_min, sizeof want_min) == 0);

    /* Threshold INT32_MAX: nothing passes. */
    v[0] = INT32_MAX;
    dv_info_GET_VALID_COUNTS.run(&a, 1, &in, 2, out, NULL);
    CHECK(count[0] == 0 && count[1] == 0 && all_minus_one(boxes, 12));
}

/* ---- non_max_suppression ----------------------------------------------------------------- */

typedef struct {
    int32_t iou, force, top_k, max_out;
} nms_params;

static const nms_params nms_default = {50, 0, -1, -1};

static const char *nms_infer(const int32_t *v, uint32_t n, dv_shape boxes, dv_shape count)
{
    dv_attrs a = {v, n};
    dv_shape in[2] = {boxes, count}, out[1];
    const char *why = dv_info_NON_MAX_SUPPRESSION.infer(&a, 2, in, 1, out);
    if (!why && !dv_shape_equal(&out[0], &boxes))
        return "wrong output shape";
    return why;
}

static void test_nms_infer(void)
{
    const int32_t ok[4] = {50, 0, -1, -1};
    CHECK(nms_infer(ok, 4, shape3(2, 5, 6), shape1(2)) == NULL);
    const int32_t any_limits[4] = {1, 1, INT32_MIN, INT32_MAX};
    CHECK(nms_infer(any_limits, 4, shape3(1, 5, 6), shape1(1)) == NULL);
    const int32_t iou0[4] = {0, 0, -1, -1}; /* invalid_nms_iou0 */
    CHECK(nms_infer(iou0, 4, shape3(1, 4, 6), shape1(1)) != NULL);
    const int32_t iou_neg[4] = {INT32_MIN, 0, -1, -1};
    CHECK(nms_infer(iou_neg, 4, shape3(1, 4, 6), shape1(1)) != NULL);
    const int32_t force2[4] = {50, 2, -1, -1};
    CHECK(nms_infer(force2, 4, shape3(1, 4, 6), shape1(1)) != NULL);
    CHECK(nms_infer(ok, 3, shape3(1, 4, 6), shape1(1)) != NULL);
    CHECK(nms_infer(ok, 4, shape3(1, 4, 5), shape1(1)) != NULL);  /* K must be 6 */
    CHECK(nms_infer(ok, 4, shape3(1, 4, 7), shape1(1)) != NULL);
    CHECK(nms_infer(ok, 4, shape3(2, 4, 6), shape1(1)) != NULL);  /* batch mismatch */
    CHECK(nms_infer(ok, 4, shape3(1, 4, 6), (dv_shape){2, {1, 1}}) != NULL);
    CHECK(nms_infer(ok, 4, (dv_shape){2, {4, 6}}, shape1(1)) != NULL);
    dv_attrs a = {ok, 4};
    dv_shape in[2] = {shape3(3, 7, 6), shape1(3)};
    CHECK(dv_info_NON_MAX_SUPPRESSION.scratch(&a, 2, in) == 7);
}

/* Runs one batch of `rows` boxes (6 fields each) with the given count. */
static void nms_run1(nms_params p, const int32_t *boxes, uint32_t rows, int32_t count,
                     int32_t *y)
{
    int32_t v[4] = {p.iou, p.force, p.top_k, p.max_out};
    dv_attrs a = {v, 4};
    int32_t scratch[16];
    dv_tensor in[2] = {{(int32_t *)boxes, shape3(1, rows, 6)}, {&count, shape1(1)}};
    dv_tensor out = {y, shape3(1, rows, 6)};
    dv_info_NON_MAX_SUPPRESSION.run(&a, 2, in, 1, &out, scratch);
}

static int row_is(const int32_t *y, uint32_t i, const int32_t *row)
{
    return memcmp(y + 6 * i, row, 6 * sizeof *row) == 0;
}

static void test_nms_order(void)
{
    int32_t y[24];
    /* Disjoint boxes of one class come out by descending score. */
    const int32_t b[18] = {
        0, 10, 0, 0, 1, 1,
        0, 90, 5, 5, 6, 6,
        0, 50, 9, 9, 10, 10,
    };
    nms_run1(nms_default, b, 3, 3, y);
    CHECK(row_is(y, 0, b + 6) && row_is(y, 1, b + 12) && row_is(y, 2, b));

    /* Equal scores: the lower row index ranks first (stable sort), so of two overlapping
     * boxes the first in the input survives, whichever it is. IoU of (0,0,10,10) and
     * (0,0,10,9): overlap 90, sum 190, 9000 / 100 = 90 >= 50. */
    const int32_t tie[12] = {
        0, 50, 0, 0, 10, 10,
        0, 50, 0, 0, 10, 9,
    };
    nms_run1(nms_default, tie, 2, 2, y);
    CHECK(row_is(y, 0, tie) && all_minus_one(y + 6, 6));
    const int32_t tie_swapped[12] = {
        0, 50, 0, 0, 10, 9,
        0, 50, 0, 0, 10, 10,
    };
    nms_run1(nms_default, tie_swapped, 2, 2, y);
    CHECK(row_is(y, 0, tie_swapped) && all_minus_one(y + 6, 6));

    /* Many ties with one higher score in the middle: ranks are row 2, then 0, 1, 3. */
    const int32_t ties[24] = {
        0, 5, 0, 0, 1, 1,
        1, 5, 0, 0, 1, 1,
        2, 6, 0, 0, 1, 1,
        3, 5, 0, 0, 1, 1,
    };
    nms_run1(nms_default, ties, 4, 4, y); /* different classes: nothing suppressed */
    CHECK(row_is(y, 0, ties + 12) && row_is(y, 1, ties) && row_is(y, 2, ties + 6) &&
          row_is(y, 3, ties + 18));
}

static void test_nms_threshold(void)
{
    int32_t y[24];
    /* (0,0,10,10) and (0,0,10,5): overlap 50, sum 150, rest 100, 5000 / 100 = 50. */
    const int32_t b[12] = {
        0, 90, 0, 0, 10, 10,
        0, 80, 0, 0, 10, 5,
    };
    nms_params p = nms_default;
    p.iou = 50;
    nms_run1(p, b, 2, 2, y);
    CHECK(row_is(y, 0, b) && all_minus_one(y + 6, 6)); /* 50 >= 50: suppressed */
    p.iou = 51;
    nms_run1(p, b, 2, 2, y);
    CHECK(row_is(y, 0, b) && row_is(y, 1, b + 6));

    /* Another class is kept, unless force_suppress. */
    const int32_t classes[12] = {
        0, 90, 0, 0, 10, 10,
        1, 80, 0, 0, 10, 5,
    };
    p.iou = 50;
    nms_run1(p, classes, 2, 2, y);
    CHECK(row_is(y, 0, classes) && row_is(y, 1, classes + 6));
    p.force = 1;
    nms_run1(p, classes, 2, 2, y);
    CHECK(row_is(y, 0, classes) && all_minus_one(y + 6, 6));

    /* A suppressed box does not suppress: A(0..10) kills B(2..12, IoU 8*10/(200-80) = 66%),
     * B would kill C(4..14) but C vs A is 6*10/(200-60) = 42% < 50: C stays. */
    const int32_t chain[18] = {
        0, 90, 0, 0, 10, 10,
        0, 80, 2, 0, 12, 10,
        0, 70, 4, 0, 14, 10,
    };
    nms_run1(nms_default, chain, 3, 3, y);
    CHECK(row_is(y, 0, chain) && row_is(y, 1, chain + 12) && all_minus_one(y + 12, 6));
}

static void test_nms_limits(void)
{
    int32_t y[24];
    const int32_t b[24] = {
        -1, 95, 0, 0, 1, 1,   /* negative class id: skipped, but counts as a candidate */
        0, 90, 2, 2, 3, 3,
        1, 80, 4, 4, 5, 5,
        2, 70, 6, 6, 7, 7,
    };
    nms_params p = nms_default;
    nms_run1(p, b, 4, 4, y);
    CHECK(row_is(y, 0, b + 6) && row_is(y, 1, b + 12) && row_is(y, 2, b + 18) &&
          all_minus_one(y + 18, 6));

    p.top_k = 2; /* candidates: rows 0 (skipped) and 1 */
    nms_run1(p, b, 4, 4, y);
    CHECK(row_is(y, 0, b + 6) && all_minus_one(y + 6, 18));
    p.top_k = 0;
    nms_run1(p, b, 4, 4, y);
    CHECK(all_minus_one(y, 24));

    p = nms_default;
    p.max_out = 2;
    nms_run1(p, b, 4, 4, y);
    CHECK(row_is(y, 0, b + 6) && row_is(y, 1, b + 12) && all_minus_one(y + 12, 12));
    p.max_out = 0; /* edge_10: formal keeps nothing */
    nms_run1(p, b, 4, 4, y);
    CHECK(all_minus_one(y, 24));

    /* The count: only the first rows take part; it is clamped to [0, N]. */
    p = nms_default;
    nms_run1(p, b, 4, 2, y); /* rows 0 and 1 */
    CHECK(row_is(y, 0, b + 6) && all_minus_one(y + 6, 18));
    nms_run1(p, b, 4, -7, y);
    CHECK(all_minus_one(y, 24));
    nms_run1(p, b, 4, INT32_MAX, y);
    CHECK(row_is(y, 0, b + 6) && row_is(y, 2, b + 18));
}

static void test_nms_iou_arithmetic(void)
{
    int32_t y[24];
    /* 31-bit boxes take the rest / 100 path: two copies of (0,0,2^30,2^30) have overlap
     * 2^60 > INT64_MAX / 100, rest = 2^60 / 100 = 11529215046068469 and
     * 2^60 / 11529215046068469 = 100: suppressed even at threshold 100. */
    const int32_t big[12] = {
        0, 9, 0, 0, 1 << 30, 1 << 30,
        0, 8, 0, 0, 1 << 30, 1 << 30,
    };
    nms_params p = nms_default;
    p.iou = 100;
    nms_run1(p, big, 2, 2, y);
    CHECK(row_is(y, 0, big) && all_minus_one(y + 6, 6));
    p.iou = 101;
    nms_run1(p, big, 2, 2, y);
    CHECK(row_is(y, 1, big + 6));

    /* A width that wraps: INT32_MAX - INT32_MIN is -1 in int32, so the first box's area is
     * -10; with (0,0,10,10): sum 90, overlap 10*10 = 100, rest -10 <= 0: IoU 0, kept. */
    const int32_t wrap[12] = {
        0, 9, INT32_MIN, 0, INT32_MAX, 10,
        0, 8, 0, 0, 10, 10,
    };
    p.iou = 1;
    nms_run1(p, wrap, 2, 2, y);
    CHECK(row_is(y, 0, wrap) && row_is(y, 1, wrap + 6));

    /* Both sides wrap to -1, area 1; with (0,0,2^30,2^30): sum 2^60 + 1, overlap 2^60,
     * rest 1 becomes 0 after / 100 (the runtime would trap): detvm's IoU is INT64_MAX. */
    const int32_t trap[12] = {
        0, 9, INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX,
        0, 8, 0, 0, 1 << 30, 1 << 30,
    };
    p.iou = INT32_MAX;
    nms_run1(p, trap, 2, 2, y);
    CHECK(row_is(y, 0, trap) && all_minus_one(y + 6, 6));

    /* Degenerate boxes: sum of areas <= 0 gives IoU 0; inverted boxes overlap nothing. */
    const int32_t flat[12] = {
        0, 9, 5, 5, 5, 5,
        0, 8, 5, 5, 5, 5,
    };
    nms_run1(nms_default, flat, 2, 2, y);
    CHECK(row_is(y, 0, flat) && row_is(y, 1, flat + 6));
}

static void test_nms_batches(void)
{
    /* B=2, N=2: batch 0 has count 0, batch 1 keeps both (disjoint). */
    const int32_t b[24] = {
        0, 9, 0, 0, 1, 1,   0, 8, 0, 0, 1, 1,
        0, 7, 0, 0, 1, 1,   0, 8, 2, 2, 3, 3,
    };
    int32_t count[2] = {0, 2}, y[24], scratch[2];
    int32_t v[4] = {50, 0, -1, -1};
    dv_attrs a = {v, 4};
    dv_tensor in[2] = {{(int32_t *)b, shape3(2, 2, 6)}, {count, shape1(2)}};
    dv_tensor out = {y, shape3(2, 2, 6)};
    dv_info_NON_MAX_SUPPRESSION.run(&a, 2, in, 1, &out, scratch);
    CHECK(all_minus_one(y, 12));
    CHECK(row_is(y, 2, b + 18) && row_is(y, 3, b + 12));
}

/* ---- loader side ------------------------------------------------------------------------- */

typedef struct {
    cvm_attrs attrs;
    cvm_node node;
    detvm_error err;
} loader_case;

static void loader_init(loader_case *c, const char *op, const char *const *kv, uint32_t n_kv,
                        uint32_t n_in, const dv_shape *in_shape, const int32_t *in_prec)
{
    memset(c, 0, sizeof *c);
    c->attrs.node = "n0";
    c->attrs.op = op;
    for (uint32_t i = 0; i < n_kv; i++) {
        c->attrs.key[i] = kv[2 * i];
        c->attrs.value[i] = kv[2 * i + 1];
    }
    c->attrs.n = n_kv;
    c->attrs.err = &c->err;
    c->node.attrs = &c->attrs;
    c->node.n_in = n_in;
    c->node.in_shape = in_shape;
    c->node.in_prec = in_prec;
}

static void test_loader_gvc(void)
{
    loader_case c;
    dv_shape x = shape3(1, 5, 6);
    int32_t prec = 31;
    loader_init(&c, "get_valid_counts", NULL, 0, 1, &x, &prec);
    CHECK(cvm_def_GET_VALID_COUNTS.parse(&c.node, &c.err) == 0);
    CHECK(c.node.opcode == DV_OP_GET_VALID_COUNTS && c.node.n_attr == 1 &&
          c.node.attr[0] == 0 && c.node.n_out == 2 && c.node.n_in_expected == 1);
    dv_shape out[2] = {shape1(1), x};
    CHECK(cvm_def_GET_VALID_COUNTS.precision(&c.node, out, &c.err) == 0);
    /* The count's precision is that of N*K = 30: 30 + 1 = 31 has 5 bits, plus 1 (edge_18). */
    CHECK(c.node.out_prec[0] == 6 && c.node.out_prec[1] == 31);
    CHECK(cvm_def_GET_VALID_COUNTS.divergence == NULL);

    const char *kv[] = {"score_threshold", "-3", "__shape__", "x"};
    loader_init(&c, "get_valid_counts", kv, 2, 1, &x, &prec);
    CHECK(cvm_def_GET_VALID_COUNTS.parse(&c.node, &c.err) == 0 && c.node.attr[0] == -3);
    const char *bad[] = {"score_threshold", "1.5"};
    loader_init(&c, "get_valid_counts", bad, 1, 1, &x, &prec);
    CHECK(cvm_def_GET_VALID_COUNTS.parse(&c.node, &c.err) != 0 &&
          c.err.status == DETVM_ERUNTIME);
    const char *unknown[] = {"threshold", "1"};
    loader_init(&c, "get_valid_counts", unknown, 1, 1, &x, &prec);
    CHECK(cvm_def_GET_VALID_COUNTS.parse(&c.node, &c.err) != 0 &&
          c.err.status == DETVM_ERUNTIME);
}

static void test_loader_nms(void)
{
    loader_case c;
    dv_shape in[2] = {shape3(1, 8, 6), shape1(1)};
    int32_t prec[2] = {16, 7};
    dv_shape out = in[0];

    loader_init(&c, "non_max_suppression", NULL, 0, 2, in, prec);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.parse(&c.node, &c.err) == 0);
    CHECK(c.node.opcode == DV_OP_NON_MAX_SUPPRESSION && c.node.n_attr == 4 &&
          c.node.attr[0] == 50 && c.node.attr[1] == 0 && c.node.attr[2] == -1 &&
          c.node.attr[3] == -1 && c.node.n_in_expected == 2 && c.node.n_out == 1);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.check(&c.node, &out, &c.err) == 0);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.precision(&c.node, &out, &c.err) == 0 &&
          c.node.out_prec[0] == 16);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.divergence(&c.node) != NULL);

    const char *all[] = {"iou_threshold", "45", "force_suppress", "True", "top_k", "64",
                         "max_output_size", "0", "coord_start", "2", "score_index", "1",
                         "id_index", "0", "return_indices", "false",
                         "invalid_to_bottom", "1"};
    loader_init(&c, "non_max_suppression", all, 9, 2, in, prec);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.parse(&c.node, &c.err) == 0);
    CHECK(c.node.attr[0] == 45 && c.node.attr[1] == 1 && c.node.attr[2] == 64 &&
          c.node.attr[3] == 0);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.check(&c.node, &out, &c.err) == 0);
    const char *why = cvm_def_NON_MAX_SUPPRESSION.divergence(&c.node);
    CHECK(why && strstr(why, "max_output_size"));

    /* The layout fields the runtime's shape inference rejects: status 1. */
    static const char *const layouts[][2] = {
        {"coord_start", "1"}, {"score_index", "0"}, {"id_index", "-1"},
        {"return_indices", "true"}, {"invalid_to_bottom", "false"},
    };
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        loader_init(&c, "non_max_suppression", layouts[i], 1, 2, in, prec);
        CHECK(cvm_def_NON_MAX_SUPPRESSION.parse(&c.node, &c.err) == 0, "%s", layouts[i][0]);
        CHECK(cvm_def_NON_MAX_SUPPRESSION.check(&c.node, &out, &c.err) != 0 &&
                  c.err.status == DETVM_EINVALID,
              "%s", layouts[i][0]);
    }
    /* Format errors: status 2. */
    const char *bad_bool[] = {"force_suppress", "yes"};
    loader_init(&c, "non_max_suppression", bad_bool, 1, 2, in, prec);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.parse(&c.node, &c.err) != 0 &&
          c.err.status == DETVM_ERUNTIME);
    const char *too_big[] = {"top_k", "2147483648"};
    loader_init(&c, "non_max_suppression", too_big, 1, 2, in, prec);
    CHECK(cvm_def_NON_MAX_SUPPRESSION.parse(&c.node, &c.err) != 0 &&
          c.err.status == DETVM_ERUNTIME);
}

int main(void)
{
    test_gvc_infer();
    test_gvc_run();
    test_nms_infer();
    test_nms_order();
    test_nms_threshold();
    test_nms_limits();
    test_nms_iou_arithmetic();
    test_nms_batches();
    test_loader_gvc();
    test_loader_nms();
    return check_summary("test_ops_vision");
}
