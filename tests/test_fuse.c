/* The fused CVM ops (ops/nn.c: CONV2D_SHIFT, DENSE_SHIFT, ELEMWISE_ADD_SHIFT and
 * CONV2D_SHIFT_MAX_POOL) and the fusion pass (loader/fuse.c).
 *   - The fused reference kernels against the unfused chain run op by op (conv2d / dense /
 *     elemwise_add, then cvm_right_shift, then relu / clip / cvm_clip), on random shapes,
 *     values (the int32 extremes included, so that sums wrap) and epilogues.
 *   - Their infer against broken attributes: counts, precisions, shifts, activations and the
 *     activations' own attributes, and the underlying op's attributes and shapes.
 *   - CONV2D_SHIFT_MAX_POOL against CONV2D_SHIFT then MAX_POOL2D, and its infer against
 *     broken conv, epilogue and pool attributes.
 *   - The pass on hand-built graphs: which chains it fuses (with and without an activation,
 *     conv2d, dense and elemwise_add; then conv2d_shift with max_pool2d) and which it leaves
 *     (an intermediate with two readers, read twice by one instruction, or a model output, for
 *     the pool too; an activation that is not one; small tensors), the fused attributes, the
 *     summed gas, the renumbered tensors; and that the
 *     fused module, compiled and run with the default kernels (int8 storage included), gives
 *     the unfused module's output bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "detvm.h"
#include "ir.h"
#include "ir_build.h"
#include "module_format.h"
#include "nn_attrs.h"
#include "op.h"
#include "random.h"


/* Mostly int8, sometimes anything (the int32 extremes too). */
static int32_t value(void)
{
    static const int32_t wild[] = {INT32_MIN, INT32_MAX, INT32_MIN + 1, -1, 1 << 30, 65535};
    switch (rnd() % 8) {
    case 0: return wild[rnd() % (sizeof wild / sizeof wild[0])];
    case 1: return (int32_t)(rnd() ^ (rnd() << 16));
    case 2: return between(-40000, 40000);
    default: return between(-128, 127);
    }
}

static void fill(int32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = value();
}

static void random_epilogue(int32_t *e)
{
    e[EPI_PRECISION] = rnd() % 2 ? 8 : between(1, 32);
    e[EPI_SHIFT_BIT] = rnd() % 2 ? between(6, 12) : between(1, 32);
    e[EPI_ACT] = e[EPI_ACT_A] = e[EPI_ACT_B] = 0;
    switch (rnd() % 4) {
    case 1: e[EPI_ACT] = DV_OP_RELU; break;
    case 2:
        e[EPI_ACT] = DV_OP_CLIP;
        e[EPI_ACT_A] = between(-300, 100);
        e[EPI_ACT_B] = e[EPI_ACT_A] + between(1, 300);
        break;
    case 3:
        e[EPI_ACT] = DV_OP_CVM_CLIP;
        e[EPI_ACT_A] = between(1, 32);
        break;
    default: break;
    }
}

/* ---- the reference kernels against the unfused chain ---------------------------------------- */

/* Runs `op` (1 output) on `in`, into a malloc'd buffer of the inferred shape. */
static int32_t *run_op(uint32_t opcode, const int32_t *attrs, uint32_t n_attrs, uint32_t n_in,
                       const dv_tensor *in, dv_shape *shape)
{
    const dv_op_info *op = dv_op_lookup(opcode);
    dv_attrs a = {attrs, n_attrs};
    dv_shape in_shapes[3];
    for (uint32_t i = 0; i < n_in; i++)
        in_shapes[i] = in[i].shape;
    const char *why = op->infer(&a, n_in, in_shapes, 1, shape);
    CHECK(why == NULL, "%s: %s", op->name, why);
    if (why)
        return NULL;
    int32_t *y = malloc((size_t)dv_shape_size(shape) * 4 + 4);
    int32_t *scratch = op->scratch ? malloc((size_t)op->scratch(&a, n_in, in_shapes) * 4 + 4) : NULL;
    dv_tensor out = {y, *shape, 0};
    op->run(&a, n_in, in, 1, &out, scratch);
    free(scratch);
    return y;
}

/* The fused op `fused` with its own attributes `own` (n_own) and epilogue e, against `plain`
 * then CVM_RIGHT_SHIFT then the activation, each run on its own. */
static void compare_chain(uint32_t plain, uint32_t fused, const int32_t *own, uint32_t n_own,
                          const int32_t *e, uint32_t n_in, const dv_tensor *in, const char *what)
{
    int32_t attrs[CONV_N_ATTRS + EPI_N_ATTRS];
    memcpy(attrs, own, n_own * sizeof *own);
    memcpy(attrs + n_own, e, EPI_N_ATTRS * sizeof *e);
    dv_shape s1, s2, s3, sf;
    int32_t *y1 = run_op(plain, own, n_own, n_in, in, &s1);
    dv_tensor t1 = {y1, s1, 0};
    int32_t *y2 = y1 ? run_op(DV_OP_CVM_RIGHT_SHIFT, e, 2, 1, &t1, &s2) : NULL;
    dv_tensor t2 = {y2, s2, 0};
    int32_t *y3 = NULL;
    if (y2 && e[EPI_ACT])
        y3 = run_op((uint32_t)e[EPI_ACT], e + EPI_ACT_A,
                    e[EPI_ACT] == DV_OP_RELU ? 0 : e[EPI_ACT] == DV_OP_CLIP ? 2 : 1, 1, &t2, &s3);
    int32_t *yf = run_op(fused, attrs, n_own + EPI_N_ATTRS, n_in, in, &sf);
    const int32_t *want = e[EPI_ACT] ? y3 : y2;
    if (want && yf) {
        size_t n = (size_t)dv_shape_size(&sf), bad = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (yf[i] != want[i] && bad++ == 0)
                first = i;
        CHECK(bad == 0 && dv_shape_equal(&sf, &s2),
              "%s (epilogue %d %d %d %d %d): %zu of %zu differ, first [%zu] %d, chain %d", what,
              e[0], e[1], e[2], e[3], e[4], bad, n, first, yf[first], want[first]);
    }
    free(y1);
    free(y2);
    free(y3);
    free(yf);
}

static void test_reference_conv(void)
{
    for (int t = 0; t < 300; t++) {
        const int32_t groups = rnd() % 3 ? 1 : between(1, 3);
        const int32_t in_pg = between(1, 4), out_pg = between(1, 5);
        const int32_t kh = between(1, 3), kw = between(1, 3), bias = (int32_t)(rnd() % 2);
        int32_t a[CONV_N_ATTRS] = {groups * out_pg, kh, kw, between(1, 2), between(1, 2),
                                   between(0, 2), between(0, 2), between(0, 2), between(0, 2),
                                   between(1, 2), between(1, 2), groups, bias};
        dv_shape xs = {4, {(uint32_t)between(1, 2), (uint32_t)(groups * in_pg),
                           (uint32_t)between(3, 9), (uint32_t)between(3, 9)}};
        dv_shape ws = {4, {(uint32_t)(groups * out_pg), (uint32_t)in_pg, (uint32_t)kh,
                           (uint32_t)kw}};
        dv_shape bs = {1, {(uint32_t)(groups * out_pg)}};
        dv_shape in_shapes[3] = {xs, ws, bs}, ys;
        dv_attrs attrs = {a, CONV_N_ATTRS};
        if (dv_op_lookup(DV_OP_CONV2D)->infer(&attrs, 2 + (uint32_t)bias, in_shapes, 1, &ys)) {
            t--;
            continue;
        }
        int32_t *x = malloc(dv_shape_size(&xs) * 4), *w = malloc(dv_shape_size(&ws) * 4);
        int32_t *b = malloc(dv_shape_size(&bs) * 4), e[EPI_N_ATTRS];
        fill(x, dv_shape_size(&xs));
        fill(w, dv_shape_size(&ws));
        fill(b, dv_shape_size(&bs));
        random_epilogue(e);
        dv_tensor in[3] = {{x, xs, 0}, {w, ws, 0}, {b, bs, 0}};
        compare_chain(DV_OP_CONV2D, DV_OP_CONV2D_SHIFT, a, CONV_N_ATTRS, e,
                      2 + (uint32_t)bias, in, "conv2d_shift");
        free(x);
        free(w);
        free(b);
    }
}

static void test_reference_dense_add(void)
{
    for (int t = 0; t < 300; t++) {
        const uint32_t rows = (uint32_t)between(1, 4), depth = (uint32_t)between(1, 40);
        const uint32_t units = (uint32_t)between(1, 30);
        const int32_t bias = (int32_t)(rnd() % 2);
        int32_t a[DENSE_N_ATTRS] = {(int32_t)units, bias}, e[EPI_N_ATTRS];
        dv_shape xs = {2, {rows, depth}}, ws = {2, {units, depth}}, bs = {1, {units}};
        int32_t *x = malloc(rows * depth * 4), *w = malloc(units * depth * 4);
        int32_t *b = malloc(units * 4);
        fill(x, rows * depth);
        fill(w, units * depth);
        fill(b, units);
        random_epilogue(e);
        dv_tensor in[3] = {{x, xs, 0}, {w, ws, 0}, {b, bs, 0}};
        compare_chain(DV_OP_DENSE, DV_OP_DENSE_SHIFT, a, DENSE_N_ATTRS, e, 2 + (uint32_t)bias,
                      in, "dense_shift");
        /* elemwise_add on two tensors of x's shape */
        random_epilogue(e);
        dv_tensor pair[2] = {{x, xs, 0}, {w, xs, 0}};
        if (units >= rows) /* w holds at least rows * depth values */
            compare_chain(DV_OP_ELEMWISE_ADD, DV_OP_ELEMWISE_ADD_SHIFT, a, 0, e, 2, pair,
                          "elemwise_add_shift");
        free(x);
        free(w);
        free(b);
    }
}

/* CONV2D_SHIFT_MAX_POOL against CONV2D_SHIFT, then MAX_POOL2D, each run on its own. */
static void test_reference_conv_pool(void)
{
    int made = 0;
    for (int t = 0; t < 300; t++) {
        const int32_t groups = rnd() % 3 ? 1 : between(1, 3);
        const int32_t in_pg = between(1, 4), out_pg = between(1, 5);
        const int32_t kh = between(1, 3), kw = between(1, 3), bias = (int32_t)(rnd() % 2);
        int32_t a[CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS] = {
            groups * out_pg, kh, kw, between(1, 2), between(1, 2), between(0, 2), between(0, 2),
            between(0, 2), between(0, 2), between(1, 2), between(1, 2), groups, bias};
        random_epilogue(a + CONV_N_ATTRS);
        int32_t *pool = a + CONV_N_ATTRS + EPI_N_ATTRS;
        pool[POOL_H] = between(1, 3);
        pool[POOL_W] = between(1, 3);
        pool[POOL_STRIDE_H] = between(1, 3);
        pool[POOL_STRIDE_W] = between(1, 3);
        pool[POOL_PAD_TOP] = between(0, 2);
        pool[POOL_PAD_LEFT] = between(0, 2);
        pool[POOL_PAD_BOTTOM] = between(0, 2);
        pool[POOL_PAD_RIGHT] = between(0, 2);
        pool[POOL_CEIL_MODE] = (int32_t)(rnd() % 2);
        dv_shape xs = {4, {(uint32_t)between(1, 2), (uint32_t)(groups * in_pg),
                           (uint32_t)between(3, 12), (uint32_t)between(3, 12)}};
        dv_shape ws = {4, {(uint32_t)(groups * out_pg), (uint32_t)in_pg, (uint32_t)kh,
                           (uint32_t)kw}};
        dv_shape bs = {1, {(uint32_t)(groups * out_pg)}};
        dv_shape in_shapes[3] = {xs, ws, bs}, ys;
        const uint32_t n_in = 2 + (uint32_t)bias;
        dv_attrs attrs = {a, CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS};
        if (dv_op_lookup(DV_OP_CONV2D_SHIFT_MAX_POOL)->infer(&attrs, n_in, in_shapes, 1, &ys))
            continue;
        made++;
        int32_t *x = malloc(dv_shape_size(&xs) * 4), *w = malloc(dv_shape_size(&ws) * 4);
        int32_t *b = malloc(dv_shape_size(&bs) * 4);
        fill(x, dv_shape_size(&xs));
        fill(w, dv_shape_size(&ws));
        fill(b, dv_shape_size(&bs));
        dv_tensor in[3] = {{x, xs, 0}, {w, ws, 0}, {b, bs, 0}};
        dv_shape s1, s2, sf;
        int32_t *y1 = run_op(DV_OP_CONV2D_SHIFT, a, CONV_N_ATTRS + EPI_N_ATTRS, n_in, in, &s1);
        dv_tensor t1 = {y1, s1, 0};
        int32_t *y2 = y1 ? run_op(DV_OP_MAX_POOL2D, pool, POOL_N_ATTRS, 1, &t1, &s2) : NULL;
        int32_t *yf = run_op(DV_OP_CONV2D_SHIFT_MAX_POOL, a, attrs.n, n_in, in, &sf);
        if (y2 && yf) {
            size_t n = (size_t)dv_shape_size(&sf), bad = 0;
            for (size_t i = 0; i < n; i++)
                bad += yf[i] != y2[i];
            CHECK(bad == 0 && dv_shape_equal(&sf, &s2),
                  "conv2d_shift_max_pool case %d: %zu of %zu differ from the chain", t, bad, n);
        }
        free(y1);
        free(y2);
        free(yf);
        free(x);
        free(w);
        free(b);
    }
    CHECK(made > 100, "only %d conv2d_shift_max_pool instances were valid", made);
}

/* ---- infer against broken attributes -------------------------------------------------------- */

static const char *infer(uint32_t opcode, const int32_t *attrs, uint32_t n_attrs, uint32_t n_in,
                         const dv_shape *in)
{
    const dv_op_info *op = dv_op_lookup(opcode);
    dv_attrs a = {attrs, n_attrs};
    dv_shape out[2];
    if (n_in < op->min_inputs || n_in > op->max_inputs)
        return "arity";
    return op->infer(&a, n_in, in, 1, out);
}

static void test_broken_attributes(void)
{
    /* a valid base for each op */
    int32_t conv[CONV_N_ATTRS + EPI_N_ATTRS] = {4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                8, 9, DV_OP_RELU, 0, 0};
    dv_shape conv_in[3] = {{4, {1, 2, 6, 6}}, {4, {4, 2, 3, 3}}, {1, {4}}};
    int32_t dense[DENSE_N_ATTRS + EPI_N_ATTRS] = {5, 0, 8, 7, 0, 0, 0};
    dv_shape dense_in[2] = {{2, {1, 6}}, {2, {5, 6}}};
    int32_t add[EPI_N_ATTRS] = {8, 1, DV_OP_CVM_CLIP, 7, 0};
    dv_shape add_in[2] = {{3, {2, 3, 4}}, {3, {2, 3, 4}}};
    CHECK(infer(DV_OP_CONV2D_SHIFT, conv, 18, 3, conv_in) == NULL, "the valid conv2d_shift");
    CHECK(infer(DV_OP_DENSE_SHIFT, dense, 7, 2, dense_in) == NULL, "the valid dense_shift");
    CHECK(infer(DV_OP_ELEMWISE_ADD_SHIFT, add, 5, 2, add_in) == NULL, "the valid add_shift");

    /* epilogue values: (index in the epilogue, value), each refused on all three ops */
    static const struct {
        int at;
        int32_t v;
    } bad_epilogue[] = {
        {EPI_PRECISION, 0}, {EPI_PRECISION, 33}, {EPI_PRECISION, -1}, {EPI_PRECISION, INT32_MIN},
        {EPI_SHIFT_BIT, 0}, {EPI_SHIFT_BIT, 33}, {EPI_SHIFT_BIT, INT32_MAX},
        {EPI_ACT, 1}, {EPI_ACT, 2}, {EPI_ACT, 6}, {EPI_ACT, -3}, {EPI_ACT, DV_OP_CVM_RIGHT_SHIFT},
        {EPI_ACT, DV_OP_CONV2D_SHIFT}, {EPI_ACT_A, 1}, {EPI_ACT_B, -1},
    };
    for (size_t i = 0; i < sizeof bad_epilogue / sizeof bad_epilogue[0]; i++) {
        int32_t c[18], d[7], s[5];
        memcpy(c, conv, sizeof c);
        memcpy(d, dense, sizeof d);
        memcpy(s, add, sizeof s);
        c[CONV_N_ATTRS + bad_epilogue[i].at] = bad_epilogue[i].v;
        d[DENSE_N_ATTRS + bad_epilogue[i].at] = bad_epilogue[i].v;
        s[bad_epilogue[i].at] = bad_epilogue[i].v;
        /* add's base is a cvm_clip: act_a is its precision, valid at 1 */
        int add_valid = bad_epilogue[i].at == EPI_ACT_A && bad_epilogue[i].v == 1;
        CHECK(infer(DV_OP_CONV2D_SHIFT, c, 18, 3, conv_in) != NULL, "conv epilogue case %zu", i);
        CHECK(infer(DV_OP_DENSE_SHIFT, d, 7, 2, dense_in) != NULL, "dense epilogue case %zu", i);
        CHECK((infer(DV_OP_ELEMWISE_ADD_SHIFT, s, 5, 2, add_in) != NULL) == !add_valid,
              "add epilogue case %zu", i);
    }
    /* the activations' own attributes */
    static const int32_t bad_act[][3] = {
        {DV_OP_CLIP, 5, 5},          {DV_OP_CLIP, 6, 5},          {DV_OP_CLIP, INT32_MIN, 0},
        {DV_OP_CLIP, 0, INT32_MIN},  {DV_OP_CVM_CLIP, 0, 0},      {DV_OP_CVM_CLIP, 33, 0},
        {DV_OP_CVM_CLIP, 8, 1},      {DV_OP_RELU, 0, 1},          {0, 1, 0},
    };
    for (size_t i = 0; i < sizeof bad_act / sizeof bad_act[0]; i++) {
        int32_t s[5] = {8, 1, bad_act[i][0], bad_act[i][1], bad_act[i][2]};
        const char *why = infer(DV_OP_ELEMWISE_ADD_SHIFT, s, 5, 2, add_in);
        CHECK(why != NULL, "activation case %zu accepted", i);
    }
    static const int32_t good_act[][3] = {
        {DV_OP_CLIP, -5, 5}, {DV_OP_CLIP, -INT32_MAX, INT32_MAX}, {DV_OP_CVM_CLIP, 1, 0},
        {DV_OP_CVM_CLIP, 32, 0}, {DV_OP_RELU, 0, 0}, {0, 0, 0},
    };
    for (size_t i = 0; i < sizeof good_act / sizeof good_act[0]; i++) {
        int32_t s[5] = {32, 32, good_act[i][0], good_act[i][1], good_act[i][2]};
        const char *why = infer(DV_OP_ELEMWISE_ADD_SHIFT, s, 5, 2, add_in);
        CHECK(why == NULL, "activation case %zu refused: %s", i, why);
    }
    /* counts, and the underlying ops' own checks */
    CHECK(infer(DV_OP_CONV2D_SHIFT, conv, 17, 3, conv_in) != NULL, "17 conv attributes");
    CHECK(infer(DV_OP_CONV2D_SHIFT, conv, 13, 3, conv_in) != NULL, "13 conv attributes");
    CHECK(infer(DV_OP_DENSE_SHIFT, dense, 2, 2, dense_in) != NULL, "2 dense attributes");
    CHECK(infer(DV_OP_DENSE_SHIFT, dense, 8, 2, dense_in) != NULL, "8 dense attributes");
    CHECK(infer(DV_OP_ELEMWISE_ADD_SHIFT, add, 4, 2, add_in) != NULL, "4 add attributes");
    CHECK(infer(DV_OP_ELEMWISE_ADD_SHIFT, add, 0, 2, add_in) != NULL, "no add attributes");
    CHECK(infer(DV_OP_CONV2D_SHIFT, conv, 18, 2, conv_in) != NULL, "use_bias without a bias");
    CHECK(infer(DV_OP_DENSE_SHIFT, dense, 7, 3, dense_in) != NULL, "a bias without use_bias");
    static const int conv_fields[] = {CONV_CHANNELS, CONV_KERNEL_H, CONV_STRIDE_W,
                                      CONV_DILATION_H, CONV_GROUPS, CONV_USE_BIAS};
    for (size_t i = 0; i < sizeof conv_fields / sizeof conv_fields[0]; i++) {
        int32_t c[18];
        memcpy(c, conv, sizeof c);
        c[conv_fields[i]] = 0;
        CHECK(infer(DV_OP_CONV2D_SHIFT, c, 18, 3, conv_in) != NULL, "conv field %d = 0",
              conv_fields[i]);
        c[conv_fields[i]] = -7;
        CHECK(infer(DV_OP_CONV2D_SHIFT, c, 18, 3, conv_in) != NULL, "conv field %d = -7",
              conv_fields[i]);
    }
    dv_shape bad_w[3] = {conv_in[0], {4, {4, 3, 3, 3}}, conv_in[2]};
    CHECK(infer(DV_OP_CONV2D_SHIFT, conv, 18, 3, bad_w) != NULL, "a weight of the wrong shape");
    dv_shape bad_pair[2] = {add_in[0], {3, {2, 3, 5}}};
    CHECK(infer(DV_OP_ELEMWISE_ADD_SHIFT, add, 5, 2, bad_pair) != NULL, "unequal add inputs");

    /* conv2d_shift_max_pool: conv2d_shift's checks, then max_pool2d's on the conv output
     * (6x6 here) */
    int32_t cp[27];
    const int32_t pool_ok[POOL_N_ATTRS] = {3, 3, 2, 2, 1, 1, 1, 1, 0};
    memcpy(cp, conv, sizeof conv);
    memcpy(cp + 18, pool_ok, sizeof pool_ok);
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, cp, 27, 3, conv_in) == NULL,
          "the valid conv2d_shift_max_pool");
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, cp, 26, 3, conv_in) != NULL, "26 attributes");
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, cp, 18, 3, conv_in) != NULL, "18 attributes");
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, cp, 27, 2, conv_in) != NULL,
          "use_bias without a bias");
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, cp, 27, 3, bad_w) != NULL, "a wrong weight");
    for (size_t i = 0; i < sizeof bad_epilogue / sizeof bad_epilogue[0]; i++) {
        int32_t c[27];
        memcpy(c, cp, sizeof c);
        c[CONV_N_ATTRS + bad_epilogue[i].at] = bad_epilogue[i].v;
        CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, c, 27, 3, conv_in) != NULL,
              "conv2d_shift_max_pool epilogue case %zu", i);
    }
    static const struct {
        int at;
        int32_t v;
    } bad_pool[] = {
        {POOL_H, 0}, {POOL_W, -1}, {POOL_H, 9}, {POOL_W, INT32_MAX}, {POOL_STRIDE_H, 0},
        {POOL_STRIDE_W, INT32_MIN}, {POOL_PAD_TOP, -1}, {POOL_PAD_RIGHT, -5},
        {POOL_CEIL_MODE, 2}, {POOL_CEIL_MODE, -1},
    };
    for (size_t i = 0; i < sizeof bad_pool / sizeof bad_pool[0]; i++) {
        int32_t c[27];
        memcpy(c, cp, sizeof c);
        c[CONV_N_ATTRS + EPI_N_ATTRS + bad_pool[i].at] = bad_pool[i].v;
        CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, c, 27, 3, conv_in) != NULL,
              "conv2d_shift_max_pool pool case %zu", i);
    }
    for (size_t i = 0; i < sizeof conv_fields / sizeof conv_fields[0]; i++) {
        int32_t c[27];
        memcpy(c, cp, sizeof c);
        c[conv_fields[i]] = 0;
        CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, c, 27, 3, conv_in) != NULL,
              "conv2d_shift_max_pool conv field %d = 0", conv_fields[i]);
    }
    /* a pool that fits the 6x6 conv output only with its padding, and one that does not fit */
    int32_t edge[27];
    memcpy(edge, cp, sizeof edge);
    edge[CONV_N_ATTRS + EPI_N_ATTRS + POOL_H] = 8;
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, edge, 27, 3, conv_in) == NULL,
          "a pool that fits with its padding");
    edge[CONV_N_ATTRS + EPI_N_ATTRS + POOL_H] = 9;
    CHECK(infer(DV_OP_CONV2D_SHIFT_MAX_POOL, edge, 27, 3, conv_in) != NULL,
          "a pool larger than the padded conv output");
}

/* ---- the pass --------------------------------------------------------------------------------- */

typedef struct {
    ir_module ir;
    ir_builder b;
    int ok;
    uint32_t x;        /* the input, (1, 16, 16, 16) int32 */
} graph;

static void graph_init(graph *g)
{
    memset(g, 0, sizeof *g);
    g->b.ir = &g->ir;
    g->ir.source_format = DVM_SOURCE_CVM;
    g->ir.postprocess = "";
    g->ir.source_version = "hand";
    g->ir.rounding = -1;
    g->ir.input_bytes = g->ir.output_bytes = 4;
    dv_shape s = {4, {1, 16, 16, 16}};
    g->ok = ir_new_temporary(&g->b, &s, &g->x) == 0;
    g->ir.tensors[g->x].precision = 8;
    g->ir.input = g->x;
}

/* Appends opcode(in...) -> a new tensor of the inferred shape and `precision`, with gas `gas`;
 * returns the tensor. */
static uint32_t add_op(graph *g, uint32_t opcode, uint32_t n_in, const uint32_t *in,
                       const int32_t *attrs, uint32_t n_attrs, int precision, uint64_t gas,
                       const char *name)
{
    if (!g->ok)
        return 0;
    const dv_op_info *op = dv_op_lookup(opcode);
    dv_shape in_shapes[3], out;
    for (uint32_t i = 0; i < n_in; i++)
        in_shapes[i] = g->ir.tensors[in[i]].shape;
    dv_attrs a = {attrs, n_attrs};
    uint32_t y;
    char why[200];
    if (op->infer(&a, n_in, in_shapes, 1, &out) || ir_new_temporary(&g->b, &out, &y) ||
        ir_append(&g->b, opcode, n_in, in, 1, &y, attrs, n_attrs, name, why, sizeof why)) {
        CHECK(0, "building %s", name);
        g->ok = 0;
        return 0;
    }
    g->ir.tensors[y].precision = (uint8_t)precision;
    g->ir.tensors[y].name = name;
    g->ir.instrs[g->ir.n_instrs - 1].gas = gas;
    return y;
}

static uint32_t constant(graph *g, dv_shape s)
{
    size_t n = (size_t)dv_shape_size(&s);
    int32_t *v = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        v[i] = between(-127, 127);
    uint32_t t = 0;
    if (!g->ok || ir_new_constant(&g->b, &s, v, &t)) {
        g->ok = 0;
    } else {
        g->ir.tensors[t].precision = 8;
    }
    free(v);
    return t;
}

static const int32_t conv3x3[CONV_N_ATTRS] = {16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const int32_t shift_8_9[2] = {8, 9};

/* x -> conv2d (16 channels, 3x3) -> tensor; gas 100. */
static uint32_t conv_of(graph *g, uint32_t x)
{
    uint32_t w = constant(g, (dv_shape){4, {16, 16, 3, 3}});
    uint32_t b = constant(g, (dv_shape){1, {16}});
    return add_op(g, DV_OP_CONV2D, 3, (const uint32_t[]){x, w, b}, conv3x3, CONV_N_ATTRS, 24,
                  100, "conv");
}

static uint32_t shift_of(graph *g, uint32_t t)
{
    return add_op(g, DV_OP_CVM_RIGHT_SHIFT, 1, &t, shift_8_9, 2, 8, 10, "shift");
}

static void set_outputs(graph *g, uint32_t n, const uint32_t *outs)
{
    g->ir.n_outputs = n;
    for (uint32_t i = 0; i < n; i++)
        g->ir.outputs[i] = outs[i];
}

/* Compiles the IR (storage choice, memory plan) and runs it on a fixed input, with the
 * default kernels; the output bytes (malloc'd) or NULL. */
static uint8_t *compile_and_run(ir_module *ir, size_t *out_len)
{
    detvm_error err = {0};
    uint8_t *bytes = NULL, *out = NULL;
    size_t len = 0;
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    ir_choose_storage(ir);
    int ok = ir_plan_memory(ir, &err) == DETVM_OK && ir_emit(ir, &bytes, &len, &err) == 0 &&
             detvm_module_load(bytes, len, &m, &err) == DETVM_OK &&
             detvm_session_new(m, &s, &err) == DETVM_OK;
    if (ok) {
        detvm_module_info info;
        detvm_module_get_info(m, &info);
        int32_t *input = malloc((size_t)info.input_len);
        uint64_t seed = 12345;
        for (size_t i = 0; i < (size_t)info.input_len / 4; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            int32_t v = (int32_t)((seed >> 33) % 255) - 127;
            memcpy(input + i, &(uint32_t){(uint32_t)v}, 4); /* little-endian hosts only */
        }
        out = malloc((size_t)info.output_len + 1);
        *out_len = (size_t)info.output_len;
        ok = detvm_run(s, input, (size_t)info.input_len, out, *out_len, &err) == DETVM_OK;
        free(input);
    }
    CHECK(ok, "compile and run: %s", err.message);
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

/* The opcodes of the IR's instructions, as a string of their op names. */
static void opcodes_of(const ir_module *ir, char *text, size_t cap)
{
    text[0] = 0;
    for (uint32_t k = 0; k < ir->n_instrs; k++) {
        const char *name = dv_op_lookup(ir->instrs[k].opcode)->name;
        if (strlen(text) + strlen(name) + 2 < cap) {
            strcat(text, k ? " " : "");
            strcat(text, name);
        }
    }
}

typedef void (*graph_fn)(graph *g);

/* Builds the graph twice, fuses one copy, and checks the fused opcodes (`want`), the gas, and
 * that both compile and run to the same output bytes. Returns the fused graph's first
 * instruction's attributes count for the caller's checks via `first_attrs` (may be NULL). */
static void check_pass(graph_fn build, const char *want, const char *what, int32_t *first_attrs)
{
    graph plain, fused;
    uint64_t seed = rng_state;
    graph_init(&plain);
    build(&plain);
    rng_state = seed; /* the same constants in both */
    graph_init(&fused);
    build(&fused);
    if (!plain.ok || !fused.ok) {
        CHECK(0, "%s: building the graph", what);
        ir_builder_free(&plain.b);
        ir_builder_free(&fused.b);
        return;
    }
    uint64_t gas_before = 0, gas_after = 0;
    for (uint32_t k = 0; k < fused.ir.n_instrs; k++)
        gas_before += fused.ir.instrs[k].gas;
    const uint32_t tensors_before = fused.ir.n_tensors, instrs_before = fused.ir.n_instrs;
    int32_t *pool = NULL;
    detvm_error err = {0};
    CHECK(ir_fuse_cvm(&fused.ir, &pool, &err) == DETVM_OK, "%s: %s", what, err.message);
    for (uint32_t k = 0; k < fused.ir.n_instrs; k++)
        gas_after += fused.ir.instrs[k].gas;
    char ops[400];
    opcodes_of(&fused.ir, ops, sizeof ops);
    CHECK(strcmp(ops, want) == 0, "%s: fused to \"%s\", want \"%s\"", what, ops, want);
    CHECK(gas_after == gas_before, "%s: gas %llu after, %llu before", what,
          (unsigned long long)gas_after, (unsigned long long)gas_before);
    CHECK(tensors_before - fused.ir.n_tensors == instrs_before - fused.ir.n_instrs,
          "%s: one tensor dropped per instruction fused (%u -> %u tensors, %u -> %u)", what,
          tensors_before, fused.ir.n_tensors, instrs_before, fused.ir.n_instrs);
    if (first_attrs && fused.ir.n_instrs)
        memcpy(first_attrs, fused.ir.instrs[0].attrs, fused.ir.instrs[0].n_attrs * 4);
    /* every operand in range, every output written once, before it is read */
    uint8_t *written = calloc(fused.ir.n_tensors + 1, 1);
    int sound = fused.ir.input < fused.ir.n_tensors;
    written[fused.ir.input] = 1;
    for (uint32_t k = 0; k < fused.ir.n_instrs && sound; k++) {
        const ir_instr *ins = &fused.ir.instrs[k];
        for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++) {
            uint32_t t = ins->operands[j];
            if (t >= fused.ir.n_tensors) {
                sound = 0;
                break;
            }
            const int arena = fused.ir.tensors[t].storage != DVM_STORAGE_CONST;
            if (j < ins->n_in && arena && !written[t])
                sound = 0;
            if (j >= ins->n_in && written[t]++)
                sound = 0;
        }
    }
    for (uint32_t i = 0; i < fused.ir.n_outputs; i++)
        sound = sound && fused.ir.outputs[i] < fused.ir.n_tensors && written[fused.ir.outputs[i]];
    CHECK(sound, "%s: the fused IR reads, writes or outputs a tensor wrongly", what);
    free(written);
    size_t n_plain = 0, n_fused = 0;
    uint8_t *out_plain = compile_and_run(&plain.ir, &n_plain);
    uint8_t *out_fused = sound ? compile_and_run(&fused.ir, &n_fused) : NULL;
    CHECK(out_plain && out_fused && n_plain == n_fused && memcmp(out_plain, out_fused, n_plain) == 0,
          "%s: the fused module's output differs from the unfused one's", what);
    free(out_plain);
    free(out_fused);
    free(pool);
    ir_builder_free(&plain.b);
    ir_builder_free(&fused.b);
}

/* conv -> shift -> relu -> conv -> shift -> clip -> negative: both chains fuse, with their
 * activations. */
static void build_two_chains(graph *g)
{
    uint32_t a = add_op(g, DV_OP_RELU, 1, (const uint32_t[]){shift_of(g, conv_of(g, g->x))}, NULL,
                        0, 8, 1, "relu");
    const int32_t clip[2] = {-20, 90};
    uint32_t b = add_op(g, DV_OP_CLIP, 1, (const uint32_t[]){shift_of(g, conv_of(g, a))}, clip, 2,
                        8, 1, "clip");
    uint32_t y = add_op(g, DV_OP_NEGATIVE, 1, &b, NULL, 0, 8, 1, "negative");
    set_outputs(g, 1, &y);
}

/* The conv output read twice: by the shift and by an add; nothing fuses but the add chain. */
static void build_two_readers(graph *g)
{
    uint32_t c = conv_of(g, g->x);
    uint32_t s = shift_of(g, c);
    uint32_t sum = add_op(g, DV_OP_ELEMWISE_ADD, 2, (const uint32_t[]){c, s}, NULL, 0, 26, 1,
                          "add");
    uint32_t y = add_op(g, DV_OP_CVM_RIGHT_SHIFT, 1, &sum, shift_8_9, 2, 8, 1, "shift_2");
    set_outputs(g, 1, &y);
}

/* The shift's output read by the relu and by a negative: conv + shift fuse, the relu stays. */
static void build_shift_two_readers(graph *g)
{
    uint32_t s = shift_of(g, conv_of(g, g->x));
    uint32_t a = add_op(g, DV_OP_RELU, 1, &s, NULL, 0, 8, 1, "relu");
    uint32_t n = add_op(g, DV_OP_NEGATIVE, 1, &s, NULL, 0, 8, 1, "negative");
    uint32_t y = add_op(g, DV_OP_ELEMWISE_SUB, 2, (const uint32_t[]){a, n}, NULL, 0, 9, 1, "sub");
    set_outputs(g, 1, &y);
}

/* The shift's output is a model output (and read by the relu): conv + shift fuse only. */
static void build_shift_output(graph *g)
{
    uint32_t s = shift_of(g, conv_of(g, g->x));
    uint32_t a = add_op(g, DV_OP_RELU, 1, &s, NULL, 0, 8, 1, "relu");
    set_outputs(g, 2, (const uint32_t[]){a, s});
}

/* The conv's output is a model output: nothing fuses. */
static void build_conv_output(graph *g)
{
    uint32_t c = conv_of(g, g->x);
    uint32_t s = shift_of(g, c);
    set_outputs(g, 2, (const uint32_t[]){s, c});
}

/* An add reading the shift's output twice (one instruction, two operands): that counts as two
 * readers, so the conv's chain stops at the shift; the add's own chain fuses, and abs, not an
 * activation, stays. */
static void build_read_twice(graph *g)
{
    uint32_t s = shift_of(g, conv_of(g, g->x));
    uint32_t sum = add_op(g, DV_OP_ELEMWISE_ADD, 2, (const uint32_t[]){s, s}, NULL, 0, 9, 1, "add");
    uint32_t y = add_op(g, DV_OP_CVM_RIGHT_SHIFT, 1, &sum, shift_8_9, 2, 8, 1, "shift_2");
    uint32_t z = add_op(g, DV_OP_ABS, 1, &y, NULL, 0, 8, 1, "abs");
    set_outputs(g, 1, &z);
}

/* A 3x3 conv of a 1x8x8x8 input (512 elements: below the pass's threshold); its output. */
static uint32_t small_conv(graph *g)
{
    dv_shape s = {4, {1, 8, 8, 8}};
    uint32_t x;
    g->ok = g->ok && ir_new_temporary(&g->b, &s, &x) == 0;
    g->ir.input = x;
    const int32_t c8[CONV_N_ATTRS] = {8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    uint32_t w = constant(g, (dv_shape){4, {8, 8, 3, 3}});
    return add_op(g, DV_OP_CONV2D, 2, (const uint32_t[]){x, w}, c8, CONV_N_ATTRS, 24, 5, "conv");
}

/* Tensors below the pass's threshold: nothing fuses. */
static void build_small(graph *g)
{
    uint32_t c = small_conv(g);
    uint32_t a = add_op(g, DV_OP_RELU, 1, (const uint32_t[]){shift_of(g, c)}, NULL, 0, 8, 1, "relu");
    set_outputs(g, 1, &a);
}

/* flatten -> dense (4096 outputs) -> shift -> cvm_clip; add -> shift -> relu. */
static void build_dense_and_add(graph *g)
{
    /* a (16, 256) view of the input through reshape */
    const int32_t shape2[2] = {16, 256};
    uint32_t r = add_op(g, DV_OP_RESHAPE, 1, &g->x, shape2, 2, 8, 1, "reshape");
    uint32_t w = constant(g, (dv_shape){2, {256, 256}});
    uint32_t b = constant(g, (dv_shape){1, {256}});
    const int32_t dense[DENSE_N_ATTRS] = {256, 1};
    uint32_t d = add_op(g, DV_OP_DENSE, 3, (const uint32_t[]){r, w, b}, dense, DENSE_N_ATTRS, 20,
                        300, "dense");
    uint32_t s = add_op(g, DV_OP_CVM_RIGHT_SHIFT, 1, &d, (const int32_t[]){8, 8}, 2, 8, 3,
                        "shift_d");
    uint32_t k = add_op(g, DV_OP_CVM_CLIP, 1, &s, (const int32_t[]){6}, 1, 6, 2, "cvm_clip");
    uint32_t sum = add_op(g, DV_OP_ELEMWISE_ADD, 2, (const uint32_t[]){k, r}, NULL, 0, 9, 4, "add");
    uint32_t s2 = add_op(g, DV_OP_CVM_RIGHT_SHIFT, 1, &sum, (const int32_t[]){8, 1}, 2, 8, 5,
                         "shift_a");
    uint32_t y = add_op(g, DV_OP_RELU, 1, &s2, NULL, 0, 8, 6, "relu");
    set_outputs(g, 1, &y);
}

static const int32_t pool3x3s2[POOL_N_ATTRS] = {3, 3, 2, 2, 1, 1, 1, 1, 0};

/* conv -> shift -> relu -> max_pool2d -> negative: conv, shift and relu fuse, then the pool. */
static void build_conv_pool(graph *g)
{
    uint32_t a = add_op(g, DV_OP_RELU, 1, (const uint32_t[]){shift_of(g, conv_of(g, g->x))}, NULL,
                        0, 8, 1, "relu");
    uint32_t p = add_op(g, DV_OP_MAX_POOL2D, 1, &a, pool3x3s2, POOL_N_ATTRS, 8, 7, "pool");
    uint32_t y = add_op(g, DV_OP_NEGATIVE, 1, &p, NULL, 0, 8, 1, "negative");
    set_outputs(g, 1, &y);
}

/* The conv chain's output read by two pools: neither fuses. */
static void build_pool_two_readers(graph *g)
{
    static const int32_t pool2x2s2[POOL_N_ATTRS] = {2, 2, 2, 2, 0, 0, 0, 0, 0};
    uint32_t s = shift_of(g, conv_of(g, g->x));
    uint32_t p = add_op(g, DV_OP_MAX_POOL2D, 1, &s, pool3x3s2, POOL_N_ATTRS, 8, 7, "pool");
    uint32_t q = add_op(g, DV_OP_MAX_POOL2D, 1, &s, pool2x2s2, POOL_N_ATTRS, 8, 7, "pool_2");
    uint32_t y = add_op(g, DV_OP_ELEMWISE_ADD, 2, (const uint32_t[]){p, q}, NULL, 0, 9, 1, "add");
    set_outputs(g, 1, &y);
}

/* The conv chain's output is a model output (with the pool's, upsampled to its shape): the
 * pool stays. */
static void build_pool_conv_output(graph *g)
{
    uint32_t s = shift_of(g, conv_of(g, g->x));
    uint32_t p = add_op(g, DV_OP_MAX_POOL2D, 1, &s, pool3x3s2, POOL_N_ATTRS, 8, 7, "pool");
    uint32_t u = add_op(g, DV_OP_UPSAMPLING, 1, &p, (const int32_t[]){2}, 1, 8, 1, "upsampling");
    set_outputs(g, 2, (const uint32_t[]){u, s});
}

/* A pool after a small conv (below the threshold): nothing of it fuses. */
static void build_pool_small(graph *g)
{
    uint32_t c = small_conv(g);
    uint32_t p = add_op(g, DV_OP_MAX_POOL2D, 1, (const uint32_t[]){shift_of(g, c)}, pool3x3s2,
                        POOL_N_ATTRS, 8, 7, "pool");
    set_outputs(g, 1, &p);
}

static void test_pass(void)
{
    int32_t attrs[CONV_N_ATTRS + EPI_N_ATTRS] = {0};
    check_pass(build_two_chains, "conv2d_shift conv2d_shift negative", "two chains", attrs);
    CHECK(memcmp(attrs, conv3x3, sizeof conv3x3) == 0 && attrs[13] == 8 && attrs[14] == 9 &&
              attrs[15] == DV_OP_RELU && attrs[16] == 0 && attrs[17] == 0,
          "two chains: the first fused instruction's attributes");
    check_pass(build_two_readers, "conv2d cvm_right_shift elemwise_add_shift",
               "the conv output read twice", NULL);
    check_pass(build_shift_two_readers, "conv2d_shift relu negative elemwise_sub",
               "the shift output read twice", attrs);
    CHECK(attrs[15] == 0 && attrs[16] == 0 && attrs[17] == 0,
          "the shift output read twice: no activation");
    check_pass(build_shift_output, "conv2d_shift relu", "the shift output is a model output",
               NULL);
    check_pass(build_conv_output, "conv2d cvm_right_shift", "the conv output is a model output",
               NULL);
    check_pass(build_read_twice, "conv2d_shift elemwise_add_shift abs",
               "one instruction reads the shift output twice", NULL);
    check_pass(build_small, "conv2d cvm_right_shift relu", "small tensors", NULL);
    check_pass(build_dense_and_add, "reshape dense_shift elemwise_add_shift",
               "dense and add chains", NULL);
    int32_t pooled[CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS] = {0};
    check_pass(build_conv_pool, "conv2d_shift_max_pool negative", "conv, shift, relu, pool",
               pooled);
    CHECK(memcmp(pooled, conv3x3, sizeof conv3x3) == 0 && pooled[13] == 8 && pooled[14] == 9 &&
              pooled[15] == DV_OP_RELU &&
              memcmp(pooled + 18, pool3x3s2, sizeof pool3x3s2) == 0,
          "conv, shift, relu, pool: the fused attributes");
    check_pass(build_pool_two_readers, "conv2d_shift max_pool2d max_pool2d elemwise_add",
               "the conv chain's output read by two pools", NULL);
    check_pass(build_pool_conv_output, "conv2d_shift max_pool2d upsampling",
               "the conv chain's output is a model output", NULL);
    check_pass(build_pool_small, "conv2d cvm_right_shift max_pool2d", "a pool after a small conv",
               NULL);
}

int main(void)
{
    const char *seed = getenv("DETVM_TEST_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) | 1 : 0x853c49e6748fea9bu;
    test_reference_conv();
    test_reference_dense_add();
    test_reference_conv_pool();
    test_broken_attributes();
    test_pass();
    return check_summary("test_fuse");
}
