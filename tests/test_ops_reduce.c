/* sum and max: shapes, hand-computed reductions, infer rejections, and the CVM loader side
 * (attribute parsing, precision, divergence). */
#include <stdint.h>

#include "check.h"
#include "cvm_ops.h"
#include "op.h"

extern const dv_op_info dv_info_SUM, dv_info_MAX;
extern const cvm_op_def cvm_def_SUM, cvm_def_MAX;

/* Attributes are written as {keepdims, exclude, axis...}. */
static const char *infer(const int32_t *v, uint32_t n, dv_shape in, dv_shape *out)
{
    dv_attrs a = {v, n};
    const char *why_sum = dv_info_SUM.infer(&a, 1, &in, 1, out);
    dv_shape out_max;
    const char *why_max = dv_info_MAX.infer(&a, 1, &in, 1, &out_max);
    if ((why_sum == NULL) != (why_max == NULL) || (!why_sum && !dv_shape_equal(out, &out_max)))
        return "sum and max disagree";
    return why_sum;
}

static int infers(const int32_t *v, uint32_t n, dv_shape in, dv_shape want)
{
    dv_shape out;
    return infer(v, n, in, &out) == NULL && dv_shape_equal(&out, &want);
}

#define ATTRS(...) ((const int32_t[]){__VA_ARGS__}), (uint32_t)(sizeof((int32_t[]){__VA_ARGS__}) / 4)

static void test_infer(void)
{
    const dv_shape x = {3, {2, 3, 4}};
    CHECK(infers(ATTRS(0, 0, 1), x, (dv_shape){2, {2, 4}}));
    CHECK(infers(ATTRS(1, 0, 1), x, (dv_shape){3, {2, 1, 4}}));
    CHECK(infers(ATTRS(0, 0, -1), x, (dv_shape){2, {2, 3}}));
    CHECK(infers(ATTRS(0, 0, 2, 0), x, (dv_shape){1, {3}}));        /* order is free */
    CHECK(infers(ATTRS(0, 1, 1), x, (dv_shape){1, {3}}));           /* exclude: 0 and 2 */
    CHECK(infers(ATTRS(1, 1, 1), x, (dv_shape){3, {1, 3, 1}}));
    CHECK(infers(ATTRS(0, 1, 0, 1, 2), x, x));                      /* nothing reduced */
    CHECK(infers(ATTRS(1, 1, -3, -2, -1), x, x));
    CHECK(infers(ATTRS(0, 0), x, (dv_shape){1, {1}}));              /* default: all */
    CHECK(infers(ATTRS(1, 0), x, (dv_shape){3, {1, 1, 1}}));
    CHECK(infers(ATTRS(0, 1), x, (dv_shape){1, {1}}));              /* edge_15 */
    CHECK(infers(ATTRS(0, 0, 0, 1, 2), x, (dv_shape){1, {1}}));
    CHECK(infers(ATTRS(1, 0, 0, 1, 2), x, (dv_shape){3, {1, 1, 1}}));
    CHECK(infers(ATTRS(0, 0, 2), (dv_shape){4, {2, 3, 4, 1}}, (dv_shape){3, {2, 3, 1}}));

    dv_shape out;
    CHECK(infer(ATTRS(0, 0, 3), x, &out) != NULL);                  /* out of range */
    CHECK(infer(ATTRS(0, 0, -4), x, &out) != NULL);
    CHECK(infer(ATTRS(0, 0, INT32_MIN), x, &out) != NULL);
    CHECK(infer(ATTRS(0, 0, INT32_MAX), x, &out) != NULL);
    CHECK(infer(ATTRS(0, 0, 1, -2), x, &out) != NULL);              /* duplicate */
    CHECK(infer(ATTRS(0, 1, 0, 0), x, &out) != NULL);
    CHECK(infer(ATTRS(0, 0, 0, 1, 2, 0), x, &out) != NULL);         /* more axes than rank */
    CHECK(infer(ATTRS(2, 0), x, &out) != NULL);                     /* keepdims not 0/1 */
    CHECK(infer(ATTRS(0, -1), x, &out) != NULL);                    /* exclude not 0/1 */
    CHECK(infer(ATTRS(0), x, &out) != NULL);                        /* too few attributes */
    dv_attrs a = {(const int32_t[]){0, 0}, 2};
    dv_shape outs[2];
    CHECK(dv_info_SUM.infer(&a, 1, &x, 2, outs) != NULL);
    CHECK(dv_info_MAX.infer(&a, 2, (dv_shape[]){x, x}, 1, outs) != NULL);
    CHECK(dv_info_SUM.scratch == NULL && dv_info_MAX.scratch == NULL);
}

/* Runs op on x and compares every output element with want. */
static int reduces(const dv_op_info *op, const int32_t *v, uint32_t n, dv_shape shape,
                   const int32_t *x, const int32_t *want, uint32_t n_want)
{
    dv_attrs a = {v, n};
    dv_shape out_shape;
    if (op->infer(&a, 1, &shape, 1, &out_shape) != NULL || dv_shape_size(&out_shape) != n_want)
        return 0;
    int32_t y[64];
    for (int i = 0; i < 64; i++)
        y[i] = 0x5a5a5a5a;
    dv_tensor in = {(int32_t *)x, shape}, out = {y, out_shape};
    op->run(&a, 1, &in, 1, &out, NULL);
    for (uint32_t i = 0; i < n_want; i++)
        if (y[i] != want[i]) {
            fprintf(stderr, "  element %u: got %d, want %d\n", i, y[i], want[i]);
            return 0;
        }
    return 1;
}

#define VALUES(...) ((const int32_t[]){__VA_ARGS__})
#define WANT(...) VALUES(__VA_ARGS__), (uint32_t)(sizeof((int32_t[]){__VA_ARGS__}) / 4)

static void test_sum(void)
{
    const dv_shape s23 = {2, {2, 3}};
    const int32_t *x = VALUES(1, 2, 3, 4, 5, 6);
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0, 0), s23, x, WANT(5, 7, 9)));
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0, 1), s23, x, WANT(6, 15)));
    CHECK(reduces(&dv_info_SUM, ATTRS(1, 0, -1), s23, x, WANT(6, 15)));
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0), s23, x, WANT(21)));
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 1), s23, x, WANT(21)));       /* edge_15 */
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 1, 1, 0), s23, x, WANT(1, 2, 3, 4, 5, 6)));
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 1, 1), s23, x, WANT(5, 7, 9)));

    /* int32 wraps modulo 2^32. */
    const dv_shape s2 = {1, {2}};
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0), s2, VALUES(INT32_MAX, 1), WANT(INT32_MIN)));
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0), s2, VALUES(INT32_MIN, -1), WANT(INT32_MAX)));
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0, 0), s2, VALUES(INT32_MIN, INT32_MIN), WANT(0)));

    /* Non-adjacent axes: x[i][j][k] = 6i + 2j + k over (2,3,2), summed over i and k:
     * 4 * 2j + (0 + 6 + 0 + 6) + (0 + 0 + 1 + 1) = 8j + 14. */
    const dv_shape s232 = {3, {2, 3, 2}};
    const int32_t *iota12 = VALUES(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0, 0, 2), s232, iota12, WANT(14, 22, 30)));
    CHECK(reduces(&dv_info_SUM, ATTRS(1, 1, 1), s232, iota12, WANT(14, 22, 30)));

    /* edge_16's layout: (2,3,4,1) over axis 2, x = 12i + 4j + k:
     * 4 * (12i + 4j) + 6 = 48i + 16j + 6. */
    int32_t iota24[24];
    for (int i = 0; i < 24; i++)
        iota24[i] = i;
    CHECK(reduces(&dv_info_SUM, ATTRS(0, 0, 2), (dv_shape){4, {2, 3, 4, 1}}, iota24,
                  WANT(6, 22, 38, 54, 70, 86)));
}

static void test_max(void)
{
    /* edge_05: an empty axis list without exclude starts at 0. */
    const dv_shape s23 = {2, {2, 3}};
    const int32_t *neg = VALUES(-5, -3, -9, -1, -7, -2);
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0), s23, neg, WANT(0)));
    CHECK(reduces(&dv_info_MAX, ATTRS(1, 0), s23, neg, WANT(0)));
    /* Every other form starts at the first element. */
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 1), s23, neg, WANT(-1)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0, 0, 1), s23, neg, WANT(-1)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0, 1), s23, neg, WANT(-3, -1)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0, 0), s23, neg, WANT(-1, -3, -2)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 1, 0, 1), s23, neg, WANT(-5, -3, -9, -1, -7, -2)));

    const int32_t *mixed = VALUES(1, 9, 3, -4, -5, -6);
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0, 1), s23, mixed, WANT(9, -4)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0), s23, mixed, WANT(9)));

    const dv_shape s2 = {1, {2}};
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0, 0), s2, VALUES(INT32_MIN, INT32_MIN),
                  WANT(INT32_MIN)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0), s2, VALUES(INT32_MIN, INT32_MIN), WANT(0)));
    CHECK(reduces(&dv_info_MAX, ATTRS(0, 0), s2, VALUES(INT32_MAX, INT32_MIN),
                  WANT(INT32_MAX)));

    /* edge_17's layout: (4,3,5,1) over axes 0 and 2 with keepdims, x = -(15i + 5j + k):
     * the largest of each j is at i = k = 0: -5j. */
    int32_t x[60];
    for (int i = 0; i < 60; i++)
        x[i] = -i;
    CHECK(reduces(&dv_info_MAX, ATTRS(1, 0, 0, 2), (dv_shape){4, {4, 3, 5, 1}}, x,
                  WANT(0, -5, -10)));
}

/* ---- loader side ------------------------------------------------------------------------- */

typedef struct {
    cvm_attrs attrs;
    cvm_node node;
    detvm_error err;
    dv_shape in;
    int32_t in_prec;
} loader_case;

static int parse(loader_case *c, const cvm_op_def *def, dv_shape in, int32_t prec,
                 const char *const *kv, uint32_t n_kv)
{
    memset(c, 0, sizeof *c);
    c->attrs.node = "n0";
    c->attrs.op = def->name;
    for (uint32_t i = 0; i < n_kv; i++) {
        c->attrs.key[i] = kv[2 * i];
        c->attrs.value[i] = kv[2 * i + 1];
    }
    c->attrs.n = n_kv;
    c->attrs.err = &c->err;
    c->in = in;
    c->in_prec = prec;
    c->node.attrs = &c->attrs;
    c->node.n_in = 1;
    c->node.in_shape = &c->in;
    c->node.in_prec = &c->in_prec;
    return def->parse(&c->node, &c->err);
}

static int canonical_is(const loader_case *c, const int32_t *v, uint32_t n)
{
    return c->node.n_attr == n && memcmp(c->node.attr, v, n * sizeof *v) == 0;
}

static const char *divergence(const cvm_op_def *def, dv_shape in, const char *const *kv,
                              uint32_t n_kv)
{
    loader_case c;
    if (parse(&c, def, in, 8, kv, n_kv) != 0)
        return "parse failed";
    return def->divergence(&c.node);
}

static void test_loader_parse(void)
{
    const dv_shape x = {2, {2, 3}};
    loader_case c;
    CHECK(parse(&c, &cvm_def_SUM, x, 8, NULL, 0) == 0);
    CHECK(c.node.opcode == DV_OP_SUM && canonical_is(&c, ATTRS(0, 0)) &&
          c.node.n_in_expected == 1 && c.node.n_out == 1);

    const char *kv[] = {"axis", "(1, -1)", "keepdims", "True", "exclude", "0",
                        "dtype", "int32", "__layout__", "x"};
    CHECK(parse(&c, &cvm_def_MAX, x, 8, kv, 5) == 0);
    CHECK(c.node.opcode == DV_OP_MAX && canonical_is(&c, ATTRS(1, 0, 1, -1)));
    /* invalid_reduce_dup_axis: parsed, then rejected by infer (status 1 in the loader). */
    dv_attrs a = {c.node.attr, c.node.n_attr};
    dv_shape out;
    CHECK(dv_info_MAX.infer(&a, 1, &x, 1, &out) != NULL);

    const char *bare[] = {"axis", "0", "exclude", "1"};
    CHECK(parse(&c, &cvm_def_SUM, x, 8, bare, 2) == 0 && canonical_is(&c, ATTRS(0, 1, 0)));
    const char *empty[] = {"axis", "()", "exclude", "true"};
    CHECK(parse(&c, &cvm_def_SUM, x, 8, empty, 2) == 0 && canonical_is(&c, ATTRS(0, 1)));
    const char *dtype[] = {"dtype", "float32"};
    CHECK(parse(&c, &cvm_def_SUM, x, 8, dtype, 1) == 0);

    /* Format errors and unknown keys or values are status 2. */
    static const char *const bad[][2] = {
        {"dtype", "int33"}, {"dtype", "Int32"}, {"keepdims", "2"}, {"axis", "(1, 2"},
        {"axis", "x"}, {"axis", "None"}, {"axes", "(1,)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse(&c, &cvm_def_SUM, x, 8, bad[i], 1) != 0 && c.err.status == DETVM_ERUNTIME,
              "%s=%s", bad[i][0], bad[i][1]);
}

static void test_loader_precision(void)
{
    loader_case c;
    const dv_shape x = {2, {2, 3}};
    dv_shape out;
    /* sum adds the bits of the number of terms: 2 -> 2 bits, 6 -> 3, 1 -> 1. */
    parse(&c, &cvm_def_SUM, x, 8, NULL, 0);
    out = (dv_shape){1, {3}};
    CHECK(cvm_def_SUM.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 10);
    out = (dv_shape){1, {1}};
    CHECK(cvm_def_SUM.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 11);
    out = x;
    CHECK(cvm_def_SUM.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 9);
    parse(&c, &cvm_def_MAX, x, 8, NULL, 0);
    out = (dv_shape){1, {1}};
    CHECK(cvm_def_MAX.precision(&c.node, &out, &c.err) == 0 && c.node.out_prec[0] == 8);
}

static void test_loader_divergence(void)
{
    /* edge_16 and edge_17: a kept size-1 axis after a longer kept axis. */
    const char *axis2[] = {"axis", "[2]"};
    CHECK(divergence(&cvm_def_SUM, (dv_shape){4, {2, 3, 4, 1}}, axis2, 1) != NULL);
    const char *axes02[] = {"axis", "[0,2]", "keepdims", "true"};
    CHECK(divergence(&cvm_def_MAX, (dv_shape){4, {4, 3, 5, 1}}, axes02, 2) != NULL);
    const char *axis1[] = {"axis", "1"};
    CHECK(divergence(&cvm_def_SUM, (dv_shape){3, {3, 2, 1}}, axis1, 1) != NULL);

    /* The CPU back end gets these right: no kept size-1 axis, or one whose stride equals
     * that of the axis the CPU pairs it with (max_2: (1,5,1,5) over the last axis). */
    CHECK(divergence(&cvm_def_SUM, (dv_shape){3, {2, 3, 4}}, axis1, 1) == NULL);
    const char *last[] = {"axis", "(-1,)", "keepdims", "1"};
    CHECK(divergence(&cvm_def_MAX, (dv_shape){4, {1, 5, 1, 5}}, last, 2) == NULL);
    CHECK(divergence(&cvm_def_SUM, (dv_shape){3, {2, 1, 3}}, (const char *[]){"axis", "2"},
                     1) == NULL);
    CHECK(divergence(&cvm_def_SUM, (dv_shape){4, {2, 3, 4, 1}}, NULL, 0) == NULL);
    const char *copy[] = {"axis", "[0,1,2,3]", "exclude", "1"};
    CHECK(divergence(&cvm_def_SUM, (dv_shape){4, {2, 3, 4, 1}}, copy, 2) == NULL);
}

int main(void)
{
    test_infer();
    test_sum();
    test_max();
    test_loader_parse();
    test_loader_precision();
    test_loader_divergence();
    return check_summary("test_ops_reduce");
}
