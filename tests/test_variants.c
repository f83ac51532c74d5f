/* Differential tests of the kernel variants (ops/variant.h) against their reference kernels,
 * table-driven: every variant of ops/variant.c's table must have a row in `suites` below,
 * whose generator makes random instances of its opcode, and every instance a variant accepts
 * must give the reference's bytes
 *   - with its items run in one call, and split into 2 and 3 ranges with their own scratch
 *     (the scratch starting as garbage, the output as a sentinel);
 *   - through the CPU device with 1, 2 and 3 real threads (hal/cpu.c, hal/cpu_threads.c).
 * Instances cover random shapes, strides, paddings, dilations, groups, depth multipliers,
 * offsets, per-channel multipliers and shifts (INT32_MIN / INT32_MAX multipliers, shifts
 * -31..30 and beyond), both roundings, -128 / 127 everywhere, and values outside int8 that
 * force the exact fallback. A variant that takes int8 activations (DV_VARIANT_INT8) runs every
 * instance again with its activations stored as int8, its output stored as int8, and both,
 * against the reference on the widened values with its output narrowed by dv_store_i8. Variants
 * the CPU lacks are skipped with a message.
 *
 * Then the session side: DETVM_KERNELS / DETVM_THREADS parsing, detvm_session_set_kernels and
 * set_threads, and whole models (the fixtures, and person_detect when ../shared is there) with
 * every kernel level and 1, 2 and 3 threads giving the same outputs and trace roots.
 *
 * The CVM CONV2D and DENSE variants have their generators in tests/test_variants_nn.c. The
 * seed is fixed; DETVM_TEST_SEED changes it, DETVM_TEST_ROUNDS (default 300) sets the
 * instances per variant. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hal/hal.h"
#include "check.h"
#include "detvm.h"
#include "op.h"
#include "qnn_attrs.h"
#include "quant.h"
#include "variant.h"

/* ---- random values ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int32_t between(int32_t lo, int32_t hi)
{
    return (int32_t)((int64_t)lo + (int64_t)(rnd() % (uint32_t)((int64_t)hi - lo + 1)));
}

static int chance(int percent)
{
    return (int)(rnd() % 100) < percent;
}

static int32_t any32(void)
{
    return (int32_t)(rnd() ^ (rnd() << 16));
}

/* How an instance's data and weights are drawn. */
enum values {
    V_INT8,       /* [-128, 127] */
    V_EXTREME,    /* -128 and 127 only */
    V_SMALL,      /* [-3, 3] */
    V_SCATTERED,  /* int8 with a rare value outside it, forcing the fallback for some items */
    V_WIDE,       /* anything: int16 values, INT32 extremes */
    V_COUNT
};

static int32_t draw(int mode)
{
    static const int32_t wild[] = {INT32_MIN, INT32_MAX, -129, 128, 255, -255, 32767, -32768,
                                   32768, -32769, 1 << 20, -(1 << 20)};
    switch (mode) {
    case V_EXTREME: return chance(50) ? 127 : -128;
    case V_SMALL: return between(-3, 3);
    case V_SCATTERED:
        return rnd() % 211 == 0 ? wild[rnd() % (sizeof wild / sizeof wild[0])]
                                : between(-128, 127);
    case V_WIDE:
        return chance(50) ? between(-32768, 32767) : wild[rnd() % (sizeof wild / sizeof wild[0])];
    default: return between(-128, 127);
    }
}

static void fill(int32_t *v, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++)
        v[i] = draw(mode);
}

/* A per-channel multiplier: usually QuantizeMultiplier's range, sometimes anything. */
static int32_t draw_multiplier(void)
{
    static const int32_t odd[] = {INT32_MIN, INT32_MAX, 0, 1, -1, 1 << 30, -(1 << 30)};
    if (chance(15))
        return odd[rnd() % (sizeof odd / sizeof odd[0])];
    if (chance(10))
        return any32();
    return between(1 << 30, INT32_MAX);
}

static int32_t draw_shift(void)
{
    static const int32_t odd[] = {-31, 30, -32, 31, INT32_MIN, INT32_MAX, -100, 100};
    if (chance(15))
        return odd[rnd() % (sizeof odd / sizeof odd[0])];
    return between(-31, 30);
}

static int32_t draw_bias(void)
{
    static const int32_t odd[] = {INT32_MIN, INT32_MAX, 0, -1, 1 << 30, -(1 << 30)};
    if (chance(10))
        return odd[rnd() % (sizeof odd / sizeof odd[0])];
    if (chance(20))
        return any32();
    return between(-100000, 100000);
}

/* An input or output offset: a zero point's range mostly, sometimes extremes. */
static int32_t draw_offset(void)
{
    static const int32_t odd[] = {-128, 127, 128, -127, 129, -129, INT32_MIN, INT32_MAX, 0};
    if (chance(20))
        return odd[rnd() % (sizeof odd / sizeof odd[0])];
    return between(-128, 128);
}

/* ---- instances ---------------------------------------------------------------------------- */

#define MAX_IN 5

typedef struct {
    int32_t attrs[16];
    uint32_t n_attrs, n_in;
    dv_shape in_shape[MAX_IN];
    int32_t *in_data[MAX_IN];
} instance;

static void instance_free(instance *t)
{
    for (uint32_t i = 0; i < MAX_IN; i++)
        free(t->in_data[i]);
    memset(t, 0, sizeof *t);
}

static int32_t *alloc_for(const dv_shape *s)
{
    return malloc((size_t)dv_shape_size(s) * sizeof(int32_t) + 4);
}

static dv_shape shape(uint32_t ndim, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    dv_shape s = {ndim, {a, b, c, d}};
    return s;
}

/* bias, multiplier and shift of `channels`, as inputs 2..4. */
static void channel_vectors(instance *t, uint32_t channels)
{
    for (int i = 2; i < 5; i++) {
        t->in_shape[i] = shape(1, channels, 0, 0, 0);
        t->in_data[i] = alloc_for(&t->in_shape[i]);
    }
    int uniform = chance(30);
    for (uint32_t o = 0; o < channels; o++) {
        t->in_data[2][o] = draw_bias();
        t->in_data[3][o] = uniform && o ? t->in_data[3][0] : draw_multiplier();
        t->in_data[4][o] = uniform && o ? t->in_data[4][0] : draw_shift();
    }
}

/* attributes shared by QCONV2D and QDEPTHWISE_CONV2D */
static void conv_attrs(instance *t, int pointwise)
{
    int32_t *a = t->attrs;
    a[QC_STRIDE_H] = pointwise ? 1 : between(1, 3);
    a[QC_STRIDE_W] = pointwise ? 1 : between(1, 3);
    a[QC_DILATION_H] = pointwise || chance(60) ? 1 : between(1, 3);
    a[QC_DILATION_W] = pointwise || chance(60) ? 1 : between(1, 3);
    for (int i = QC_PAD_TOP; i <= QC_PAD_RIGHT; i++)
        a[i] = pointwise || chance(40) ? 0 : between(0, 3);
    a[QC_INPUT_OFFSET] = draw_offset();
    a[QC_OUTPUT_OFFSET] = draw_offset();
    int32_t lo = between(-128, 127), hi = between(-128, 127);
    if (chance(40)) {
        lo = -128;
        hi = 127;
    }
    a[QC_ACT_MIN] = lo < hi ? lo : hi;
    a[QC_ACT_MAX] = lo < hi ? hi : lo;
    a[QC_ROUNDING] = chance(50) ? DV_ROUND_DOUBLE : DV_ROUND_SINGLE;
}

/* Sometimes TFLite's own ranges on every channel (right shifts, multipliers in [2^30, 2^31),
 * a zero point's output offset), the case the conv kernels requantize fastest. */
static void tflite_requant(instance *t, uint32_t channels, int32_t *output_offset)
{
    if (!chance(35))
        return;
    const int32_t base = between(-14, -1);
    for (uint32_t o = 0; o < channels; o++) {
        t->in_data[3][o] = between(1 << 30, INT32_MAX);
        t->in_data[4][o] = chance(80) ? base : between(-20, -1);
    }
    *output_offset = between(-128, 127);
}

static void make_qconv2d(instance *t)
{
    const int pointwise = chance(35);
    const uint32_t groups = pointwise || chance(70) ? 1 : (uint32_t)between(2, 3);
    const uint32_t depth = (uint32_t)(chance(20) ? between(1, 3) : between(1, 40));
    /* sometimes many output channels over few pixels: the chunked items */
    const uint32_t per_group = (uint32_t)(chance(25) ? between(33, 90) : between(1, 40));
    const uint32_t kh = pointwise ? 1 : (uint32_t)between(1, 4);
    const uint32_t kw = pointwise ? 1 : (uint32_t)between(1, 4);
    const uint32_t h = (uint32_t)between(1, chance(30) ? 3 : 12);
    const uint32_t w = (uint32_t)between(1, chance(30) ? 3 : 12);
    t->n_attrs = QCONV_N_ATTRS;
    t->n_in = 5;
    conv_attrs(t, pointwise);
    t->in_shape[0] = shape(4, (uint32_t)between(1, 2), h, w, groups * depth);
    t->in_shape[1] = shape(4, groups * per_group, kh, kw, depth);
    int mode = (int)(rnd() % V_COUNT);
    t->in_data[0] = alloc_for(&t->in_shape[0]);
    fill(t->in_data[0], (size_t)dv_shape_size(&t->in_shape[0]), mode);
    t->in_data[1] = alloc_for(&t->in_shape[1]);
    fill(t->in_data[1], (size_t)dv_shape_size(&t->in_shape[1]),
         chance(85) ? (mode == V_WIDE || mode == V_SCATTERED ? V_INT8 : mode) : (int)(rnd() % V_COUNT));
    channel_vectors(t, groups * per_group);
    tflite_requant(t, groups * per_group, &t->attrs[QC_OUTPUT_OFFSET]);
}

static void make_qdepthwise(instance *t)
{
    /* sometimes MobileNet-wide: the VNNI variant packs blocks of 64 and 32 channels apart */
    const int wide = chance(20);
    const uint32_t channels = (uint32_t)(wide ? between(41, 200) : between(1, 40));
    const uint32_t multiplier = wide || chance(70) ? 1 : (uint32_t)between(2, 8);
    const int three = chance(60);
    const uint32_t kh = three ? 3 : (uint32_t)between(1, 5);
    const uint32_t kw = three ? 3 : (uint32_t)between(1, 5);
    t->n_attrs = QDW_N_ATTRS;
    t->n_in = 5;
    conv_attrs(t, 0);
    t->attrs[QDW_DEPTH_MULTIPLIER] = (int32_t)multiplier;
    t->in_shape[0] = shape(4, (uint32_t)between(1, 2), (uint32_t)between(1, 12),
                           (uint32_t)between(1, 12), channels);
    t->in_shape[1] = shape(4, 1, kh, kw, channels * multiplier);
    const int mode = (int)(rnd() % V_COUNT);
    t->in_data[0] = alloc_for(&t->in_shape[0]);
    fill(t->in_data[0], (size_t)dv_shape_size(&t->in_shape[0]), mode);
    t->in_data[1] = alloc_for(&t->in_shape[1]);
    fill(t->in_data[1], (size_t)dv_shape_size(&t->in_shape[1]), (int)(rnd() % V_COUNT));
    channel_vectors(t, channels * multiplier);
}

static void make_qfully_connected(instance *t)
{
    /* sometimes deep rows and many units: several chunks of the packed path */
    const uint32_t rows = (uint32_t)between(1, 4);
    const uint32_t depth = (uint32_t)(chance(20) ? between(60, 300) : between(1, 70));
    const uint32_t units = (uint32_t)(chance(20) ? between(100, 300) : between(1, 70));
    int32_t *a = t->attrs;
    t->n_attrs = QFC_N_ATTRS;
    t->n_in = 5;
    a[QFC_INPUT_OFFSET] = draw_offset();
    a[QFC_FILTER_OFFSET] = chance(50) ? 0 : draw_offset();
    a[QFC_OUTPUT_OFFSET] = draw_offset();
    int32_t lo = between(-128, 127), hi = between(-128, 127);
    a[QFC_ACT_MIN] = lo < hi ? lo : hi;
    a[QFC_ACT_MAX] = lo < hi ? hi : lo;
    a[QFC_ROUNDING] = chance(50) ? DV_ROUND_DOUBLE : DV_ROUND_SINGLE;
    t->in_shape[0] = chance(50) ? shape(2, rows, depth, 0, 0) : shape(3, rows, 1, depth, 0);
    t->in_shape[1] = shape(2, units, depth, 0, 0);
    t->in_data[0] = alloc_for(&t->in_shape[0]);
    fill(t->in_data[0], (size_t)dv_shape_size(&t->in_shape[0]), (int)(rnd() % V_COUNT));
    t->in_data[1] = alloc_for(&t->in_shape[1]);
    fill(t->in_data[1], (size_t)dv_shape_size(&t->in_shape[1]), (int)(rnd() % V_COUNT));
    channel_vectors(t, units);
    tflite_requant(t, units, &t->attrs[QFC_OUTPUT_OFFSET]);
}

/* ---- CVM element-wise ops and MAX_POOL2D (ops/x86/elemwise.c, pool.c) ----------------------- */

/* Any int32, the extremes and the values next to them often. */
static int32_t draw_elem(void)
{
    static const int32_t odd[] = {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1, 0, 1, -1,
                                  127, -128, 128, -129, 1 << 30, -(1 << 30), 32767, -32768};
    switch (rnd() % 4) {
    case 0: return odd[rnd() % (sizeof odd / sizeof odd[0])];
    case 1: return any32();
    case 2: return between(-(1 << 20), 1 << 20);
    default: return between(-300, 300);
    }
}

/* 1-D to 4-D, sometimes spanning several work items (8192 elements each). */
static dv_shape elem_shape(void)
{
    if (chance(20))
        return shape(4, (uint32_t)between(1, 2), (uint32_t)between(1, 8), (uint32_t)between(30, 70),
                     (uint32_t)between(30, 70));
    dv_shape s = shape((uint32_t)between(1, 4), 1, 1, 1, 1);
    for (uint32_t i = 0; i < s.ndim; i++)
        s.dim[i] = (uint32_t)between(1, chance(50) ? 9 : 40);
    return s;
}

static void elem_inputs(instance *t, uint32_t n_in)
{
    t->n_in = n_in;
    t->in_shape[0] = elem_shape();
    for (uint32_t i = 0; i < n_in; i++) {
        if (i)
            t->in_shape[i] = t->in_shape[0];
        t->in_data[i] = alloc_for(&t->in_shape[i]);
        const size_t n = (size_t)dv_shape_size(&t->in_shape[i]);
        for (size_t k = 0; k < n; k++)
            t->in_data[i][k] = draw_elem();
    }
}

static int32_t draw_precision(void)
{
    return chance(25) ? (chance(50) ? 1 : 32) : between(1, 32);
}

static void make_cvm_right_shift(instance *t)
{
    t->n_attrs = 2;
    t->attrs[0] = draw_precision();
    t->attrs[1] = chance(20) ? (chance(50) ? 1 : between(31, 32)) : between(1, 32);
    elem_inputs(t, 1);
}

static void make_cvm_clip(instance *t)
{
    t->n_attrs = 1;
    t->attrs[0] = draw_precision();
    elem_inputs(t, 1);
}

static void make_clip(instance *t)
{
    static const int32_t odd[] = {-INT32_MAX, INT32_MAX, 0, -1, 1, 127, -128};
    t->n_attrs = 2;
    do {
        for (int i = 0; i < 2; i++)
            t->attrs[i] = chance(30) ? odd[rnd() % (sizeof odd / sizeof odd[0])]
                                     : (chance(50) ? between(-1000, 1000) : any32());
        if (t->attrs[0] > t->attrs[1]) {
            int32_t swap = t->attrs[0];
            t->attrs[0] = t->attrs[1];
            t->attrs[1] = swap;
        }
    } while (t->attrs[0] == t->attrs[1] || t->attrs[0] == INT32_MIN);
    elem_inputs(t, 1);
}

static void make_relu(instance *t)
{
    t->n_attrs = 0;
    elem_inputs(t, 1);
}

static void make_elemwise_add(instance *t)
{
    t->n_attrs = 0;
    elem_inputs(t, 2);
}

/* ELEMWISE_ADD_SHIFT (ops/nn.c): the shift's attributes as make_cvm_right_shift draws them,
 * then no activation, relu, a clip or a cvm_clip (attrs: nn_attrs.h, EPI_*). */
static void make_elemwise_add_shift(instance *t)
{
    make_cvm_right_shift(t);
    free(t->in_data[0]);
    t->in_data[0] = NULL;
    t->n_attrs = 5;
    t->attrs[2] = t->attrs[3] = t->attrs[4] = 0;
    switch (rnd() % 4) {
    case 1: t->attrs[2] = DV_OP_RELU; break;
    case 2:
        make_clip(t);
        t->attrs[3] = t->attrs[0];
        t->attrs[4] = t->attrs[1];
        free(t->in_data[0]);
        t->in_data[0] = NULL;
        t->attrs[0] = draw_precision();
        t->attrs[1] = between(1, 32);
        t->attrs[2] = DV_OP_CLIP;
        t->n_attrs = 5;
        break;
    case 3:
        t->attrs[2] = DV_OP_CVM_CLIP;
        t->attrs[3] = draw_precision();
        break;
    default: break;
    }
    elem_inputs(t, 2);
}

/* Mostly equal shapes (the variant's case), sometimes a broadcast it declines. */
static void make_broadcast_add(instance *t)
{
    t->n_attrs = 0;
    elem_inputs(t, 2);
    if (chance(15)) {
        free(t->in_data[1]);
        dv_shape *b = &t->in_shape[1];
        b->dim[rnd() % b->ndim] = 1;
        t->in_data[1] = alloc_for(b);
        for (size_t k = 0; k < (size_t)dv_shape_size(b); k++)
            t->in_data[1][k] = draw_elem();
    }
}

static void make_max_pool2d(instance *t)
{
    int32_t *a = t->attrs;
    t->n_attrs = 9;
    if (chance(40)) {
        const int32_t resnet[9] = {3, 3, 2, 2, 1, 1, 1, 1, 0};
        memcpy(a, resnet, sizeof resnet);
    } else {
        a[0] = between(1, 4);
        a[1] = between(1, 4);
        a[2] = between(1, 4);
        a[3] = between(1, 4);
        for (int i = 4; i < 8; i++)
            a[i] = chance(40) ? 0 : between(0, 3);
    }
    a[8] = chance(30);
    t->n_in = 1;
    t->in_shape[0] = shape(4, (uint32_t)between(1, 2), (uint32_t)between(1, 5),
                           (uint32_t)between(1, 24),
                           (uint32_t)(chance(20) ? between(100, 130) : between(1, 40)));
    t->in_data[0] = alloc_for(&t->in_shape[0]);
    const size_t n = (size_t)dv_shape_size(&t->in_shape[0]);
    for (size_t k = 0; k < n; k++)
        t->in_data[0][k] = draw_elem();
}

/* QADD and QSUB (13 attrs, ops/qelemwise.c): mostly two inputs of one shape, sometimes a
 * broadcasting pair (which the variants decline); sizes from a few elements to several work
 * items, multipliers and shifts from TFLite's range and its edges, both roundings. */
static void make_qaddsub(instance *t)
{
    static const int32_t odd_shift[] = {-31, -30, -1, 0};
    const uint32_t ndim = (uint32_t)between(1, 4);
    const int big = chance(15);
    t->n_attrs = 13;
    t->n_in = 2;
    t->in_shape[0].ndim = t->in_shape[1].ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++) {
        const uint32_t d = (uint32_t)(big && i + 1 == ndim ? between(200, 3000) : between(1, 9));
        t->in_shape[0].dim[i] = t->in_shape[1].dim[i] = d;
        if (chance(10))   /* broadcasting: declined by the variants */
            t->in_shape[chance(50)].dim[i] = 1;
    }
    int32_t *a = t->attrs;
    for (int i = 0; i < 3; i++) {
        /* 2^30 is TFLite's ratio 1/2, which the AVX-512 variant scales by a shift */
        a[3 * i + 1] = chance(10)   ? (chance(50) ? 0 : INT32_MAX)
                       : chance(25) ? 1 << 30
                                    : between(1 << 30, INT32_MAX);
        a[3 * i + 2] = chance(15) ? odd_shift[rnd() % 4] : between(-31, 0);
    }
    a[0] = draw_offset();
    a[3] = draw_offset();
    a[6] = chance(60) ? 20 : between(0, 30);
    a[9] = draw_offset();
    int32_t lo = between(-128, 127), hi = between(-128, 127);
    if (chance(30)) {
        lo = chance(50) ? -128 : INT32_MIN;
        hi = chance(50) ? 127 : INT32_MAX;
    }
    a[10] = lo < hi ? lo : hi;
    a[11] = lo < hi ? hi : lo;
    a[12] = chance(50) ? DV_ROUND_DOUBLE : DV_ROUND_SINGLE;
    for (uint32_t i = 0; i < 2; i++) {
        t->in_data[i] = alloc_for(&t->in_shape[i]);
        fill(t->in_data[i], (size_t)dv_shape_size(&t->in_shape[i]), (int)(rnd() % V_COUNT));
    }
}

/* TRANSPOSE (ops/x86/transform.c): any permutation of 1 to 6 axes, often the 4-D layout
 * changes (NCHW <-> NHWC, 1 to 5 channels: the interleaving paths), sizes of 1 (dropped) and
 * sizes that leave partial 8x8 tiles; any int32 value. */
static void make_transpose(instance *t)
{
    const uint32_t ndim = (uint32_t)between(1, 6);
    dv_shape *s = &t->in_shape[0];
    int32_t *perm = t->attrs;
    t->n_in = 1;
    t->n_attrs = ndim;
    s->ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++) {
        s->dim[i] = (uint32_t)(chance(20) ? 1 : between(1, ndim <= 2 ? 300 : ndim <= 4 ? 20 : 6));
        perm[i] = (int32_t)i;
    }
    for (uint32_t i = ndim; i > 1; i--) {
        const uint32_t j = rnd() % i;
        const int32_t swap = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = swap;
    }
    if (ndim == 4 && chance(50)) {
        static const int32_t layouts[2][4] = {{0, 2, 3, 1}, {0, 3, 1, 2}};
        memcpy(perm, layouts[rnd() % 2], sizeof layouts[0]);
        *s = shape(4, (uint32_t)between(1, 2), (uint32_t)between(1, chance(50) ? 5 : 40),
                   (uint32_t)between(1, 60), (uint32_t)between(1, 70));
    }
    t->in_data[0] = alloc_for(s);
    for (size_t k = 0; k < (size_t)dv_shape_size(s); k++)
        t->in_data[0][k] = draw_elem();
}

/* QMEAN (ops/x86/qpool.c): any axis mask over 1 to 5 axes (reduced axes together or apart),
 * often MobileNet's mean over H and W of an NHWC tensor with many channels; zero points in
 * and beyond int8, multipliers and shifts over the whole range infer accepts. */
static void make_qmean(instance *t)
{
    const uint32_t ndim = (uint32_t)between(1, 5);
    dv_shape *s = &t->in_shape[0];
    int32_t *a = t->attrs;
    t->n_in = 1;
    t->n_attrs = QM_N_ATTRS;
    s->ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++)
        s->dim[i] = (uint32_t)(chance(20) ? 1 : between(1, ndim <= 2 ? 200 : 12));
    a[QM_AXIS_MASK] = (int32_t)(rnd() % (1u << ndim));
    if (chance(30)) {
        *s = shape(4, (uint32_t)between(1, 2), (uint32_t)between(1, 8), (uint32_t)between(1, 8),
                   (uint32_t)between(1, 1300));
        a[QM_AXIS_MASK] = 6;
    }
    a[QM_KEEP_DIMS] = chance(50);
    a[QM_INPUT_ZERO_POINT] = draw_offset();
    a[QM_OUTPUT_ZERO_POINT] = draw_offset();
    a[QM_MULTIPLIER] = chance(85) ? between(1 << 30, INT32_MAX) : (chance(50) ? 0 : INT32_MAX);
    a[QM_SHIFT] = chance(85) ? between(-31, 30) : (chance(50) ? -31 : 30);
    a[QM_ROUNDING] = chance(50) ? DV_ROUND_DOUBLE : DV_ROUND_SINGLE;
    t->in_data[0] = alloc_for(s);
    fill(t->in_data[0], (size_t)dv_shape_size(s), (int)(rnd() % V_COUNT));
}

/* QAVG_POOL2D (ops/x86/qpool.c): random windows, strides and paddings (windows cut by the
 * border divide by fewer taps), sometimes a global pool; channel counts across several
 * vectors; any int32 value, so that the rounded division sees every sign and magnitude. */
static void make_qavg_pool2d(instance *t)
{
    int32_t *a = t->attrs;
    dv_shape *s = &t->in_shape[0];
    t->n_in = 1;
    t->n_attrs = QP_N_ATTRS;
    *s = shape(4, (uint32_t)between(1, 2), (uint32_t)between(1, 9), (uint32_t)between(1, 9),
               (uint32_t)(chance(30) ? between(100, 300) : between(1, 40)));
    a[QP_FILTER_H] = between(1, 4);
    a[QP_FILTER_W] = between(1, 4);
    a[QP_STRIDE_H] = between(1, 3);
    a[QP_STRIDE_W] = between(1, 3);
    for (int i = QP_PAD_TOP; i <= QP_PAD_RIGHT; i++)
        a[i] = chance(50) ? 0 : between(0, 3);
    if (chance(20)) {
        a[QP_FILTER_H] = (int32_t)s->dim[1];
        a[QP_FILTER_W] = (int32_t)s->dim[2];
        for (int i = QP_PAD_TOP; i <= QP_PAD_RIGHT; i++)
            a[i] = 0;
    }
    int32_t lo = between(-128, 127), hi = between(-128, 127);
    if (chance(40)) {
        lo = -128;
        hi = 127;
    }
    a[QP_ACT_MIN] = lo < hi ? lo : hi;
    a[QP_ACT_MAX] = lo < hi ? hi : lo;
    t->in_data[0] = alloc_for(s);
    const size_t n = (size_t)dv_shape_size(s);
    const int mode = (int)(rnd() % V_COUNT), wide = chance(40);
    for (size_t k = 0; k < n; k++)
        t->in_data[0][k] = wide ? draw_elem() : draw(mode);
}

/* ---- the table ---------------------------------------------------------------------------- */

typedef struct {
    uint32_t opcode;
    const char *op;
    void (*make)(instance *t);   /* NULL: tested elsewhere, in `where` */
    const char *where;
    uint32_t activations;        /* bit i: input i is an activation (int8 storage possible) */
} suite;

static const suite suites[] = {
    {DV_OP_QCONV2D, "qconv2d", make_qconv2d, NULL, 1},
    {DV_OP_QDEPTHWISE_CONV2D, "qdepthwise_conv2d", make_qdepthwise, NULL, 1},
    {DV_OP_QFULLY_CONNECTED, "qfully_connected", make_qfully_connected, NULL, 1},
    {DV_OP_QADD, "qadd", make_qaddsub, NULL, 3},
    {DV_OP_QSUB, "qsub", make_qaddsub, NULL, 3},
    {DV_OP_CONV2D, "conv2d", NULL, "tests/test_variants_nn.c", 1},
    {DV_OP_DENSE, "dense", NULL, "tests/test_variants_nn.c", 1},
    {DV_OP_CONV2D_SHIFT, "conv2d_shift", NULL, "tests/test_variants_nn.c", 1},
    {DV_OP_CONV2D_SHIFT_MAX_POOL, "conv2d_shift_max_pool", NULL, "tests/test_variants_nn.c", 1},
    {DV_OP_DENSE_SHIFT, "dense_shift", NULL, "tests/test_variants_nn.c", 1},
    {DV_OP_ELEMWISE_ADD_SHIFT, "elemwise_add_shift", make_elemwise_add_shift, NULL, 3},
    {DV_OP_CVM_RIGHT_SHIFT, "cvm_right_shift", make_cvm_right_shift, NULL, 1},
    {DV_OP_CVM_CLIP, "cvm_clip", make_cvm_clip, NULL, 1},
    {DV_OP_CLIP, "clip", make_clip, NULL, 1},
    {DV_OP_RELU, "relu", make_relu, NULL, 1},
    {DV_OP_ELEMWISE_ADD, "elemwise_add", make_elemwise_add, NULL, 3},
    {DV_OP_BROADCAST_ADD, "broadcast_add", make_broadcast_add, NULL, 3},
    {DV_OP_MAX_POOL2D, "max_pool2d", make_max_pool2d, NULL, 1},
    {DV_OP_TRANSPOSE, "transpose", make_transpose, NULL, 1},
    {DV_OP_QMEAN, "qmean", make_qmean, NULL, 1},
    {DV_OP_QAVG_POOL2D, "qavg_pool2d", make_qavg_pool2d, NULL, 1},
};

static const suite *suite_of(uint32_t opcode)
{
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        if (suites[i].opcode == opcode)
            return &suites[i];
    return NULL;
}

/* ---- running ------------------------------------------------------------------------------ */

#define MAX_THREADS 3

static hal_threads *pools[MAX_THREADS + 1];   /* pools[n]: n threads (NULL for 1) */

typedef struct {
    dv_tensor in[MAX_IN], out[1];
    dv_attrs attrs;
    uint32_t n_in;
    size_t out_n;
} bound;

static int bind(const instance *t, const dv_op_info *op, bound *b, int32_t *out_data)
{
    memset(b, 0, sizeof *b);
    b->attrs.v = t->attrs;
    b->attrs.n = t->n_attrs;
    b->n_in = t->n_in;
    for (uint32_t i = 0; i < t->n_in; i++) {
        b->in[i].data = t->in_data[i];
        b->in[i].shape = t->in_shape[i];
    }
    dv_shape out_shape;
    if (op->infer(&b->attrs, t->n_in, t->in_shape, 1, &out_shape) != NULL)
        return 0;
    b->out[0].shape = out_shape;
    b->out[0].data = out_data;
    b->out_n = (size_t)dv_shape_size(&out_shape);
    return 1;
}

static void garbage(int32_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (int32_t)(rnd() | 1u);
}

/* Runs items [0, items) in `parts` consecutive ranges, each with its own garbage scratch;
 * through the packing's run_packed when `packed` is not NULL. */
static void run_parts(const dv_variant *v, const dv_variant_packing *pk, const void *packed,
                      bound *b, uint64_t items, uint64_t scratch_len, uint32_t parts,
                      int32_t *scratch)
{
    for (uint32_t t = 0; t < parts; t++) {
        uint64_t begin = items * t / parts, end = items * (t + 1) / parts;
        if (begin == end)
            continue;
        garbage(scratch, (size_t)scratch_len + 16);
        if (packed)
            pk->run_packed(&b->attrs, b->n_in, b->in, 1, b->out, packed, scratch, begin, end);
        else
            v->run(&b->attrs, b->n_in, b->in, 1, b->out, scratch, begin, end);
    }
}

/* Runs the step through the CPU device with n threads. */
static void run_device(const dv_variant *v, const dv_variant_packing *pk, const void *packed,
                       const dv_op_info *op, bound *b, uint64_t items, uint64_t scratch_len,
                       uint32_t n, int32_t *scratch)
{
    hal_step step = {.op = op, .attrs = b->attrs, .n_in = b->n_in, .n_out = 1, .in = b->in,
                     .out = b->out, .variant = v, .items = items, .packing = packed ? pk : NULL,
                     .packed = packed};
    const uint64_t stride = (scratch_len + 15) / 16 * 16;
    hal_segment seg = {&step, 1, NULL, NULL, NULL, pools[n], scratch, stride};
    void *handle = NULL, *tag = NULL;
    garbage(scratch, (size_t)(stride * n) + 16);
    if (hal_cpu.prepare(&seg, &handle) != 0) {
        CHECK(0, "cpu prepare");
        return;
    }
    CHECK(hal_cpu.submit(handle, &seg) == 0 && hal_cpu.wait(handle, &tag) == 0 && tag == &seg);
    hal_cpu.release(handle);
}

/* The 64-byte aligned start of an allocation with 16 spare int32s. */
static int32_t *aligned(int32_t *p)
{
    uintptr_t at = (uintptr_t)p;
    return (int32_t *)(at + (64 - at % 64) % 64);
}

static int rounds(void)
{
    const char *e = getenv("DETVM_TEST_ROUNDS");
    return e && atoi(e) > 0 ? atoi(e) : 300;
}

/* The storages an instance runs in: every tensor int32; and, for DV_VARIANT_INT8 variants,
 * int8 activations with an int32 output, int32 activations with an int8 output, and both. */
enum storage { S_INT32, S_IN8, S_OUT8, S_BOTH8, S_COUNT };

static int input_is_int8(int storage) { return storage == S_IN8 || storage == S_BOTH8; }
static int output_is_int8(int storage) { return storage == S_OUT8 || storage == S_BOTH8; }

/* The instance's activations as the storage holds them: saturated to int8 (kept both as int8
 * and widened, which is what the reference computes on) when the storage stores them as int8. */
typedef struct {
    int32_t *wide[MAX_IN];
    int8_t *narrow[MAX_IN];
} stored_inputs;

static void store_inputs(const instance *t, uint32_t activations, int storage, stored_inputs *si)
{
    memset(si, 0, sizeof *si);
    for (uint32_t i = 0; i < t->n_in; i++) {
        if (!input_is_int8(storage) || !(activations >> i & 1u))
            continue;
        size_t n = (size_t)dv_shape_size(&t->in_shape[i]);
        si->wide[i] = malloc(n * sizeof(int32_t) + 4);
        si->narrow[i] = malloc(n + 64);
        for (size_t k = 0; k < n; k++) {
            si->narrow[i][k] = dv_store_i8(t->in_data[i][k]);
            si->wide[i][k] = si->narrow[i][k];
        }
    }
}

static void stored_inputs_free(stored_inputs *si)
{
    for (uint32_t i = 0; i < MAX_IN; i++) {
        free(si->wide[i]);
        free(si->narrow[i]);
    }
}

/* Runs the variant every way (items in 1, 2 and 3 parts; 1, 2 and 3 threads; then the same
 * with its constants packed ahead) on the bound tensors and compares the output's `bytes`
 * with `want`; returns the failures. */
static int compare_runs(const dv_variant *v, const suite *s, const dv_op_info *op,
                        const instance *t, bound *var, const void *want, size_t bytes,
                        const char *storage_name, int r)
{
    const dv_attrs attrs = {t->attrs, t->n_attrs};
    const uint64_t items = v->items(&attrs, t->n_in, t->in_shape);
    const uint64_t len = v->scratch ? v->scratch(&attrs, t->n_in, t->in_shape) : 0;
    const uint64_t stride = (len + 15) / 16 * 16;
    int32_t *block = malloc((size_t)(stride * MAX_THREADS + 32) * sizeof(int32_t));
    int32_t *scratch = aligned(block);
    uint8_t *got = var->out[0].i8 ? (uint8_t *)var->out[0].i8 : (uint8_t *)var->out[0].data;
    int failures = 0;
    CHECK(items >= 1, "%s %s: %llu items", s->op, v->name, (unsigned long long)items);
    /* with its packing, the constants packed once ahead (into garbage-filled memory) */
    const dv_variant_packing *pk = dv_variant_packing_of(v);
    const uint64_t packed_size = pk ? pk->packed_size(&attrs, t->n_in, t->in_shape) : 0;
    int32_t *packed_block = NULL;
    const void *packed = NULL;
    if (packed_size) {
        CHECK(pk->variant == v && pk->pack && pk->run_packed);
        packed_block = malloc((size_t)packed_size + 128);
        garbage(packed_block, (size_t)(packed_size + 128) / 4);
        packed = aligned(packed_block);
        pk->pack(&attrs, t->n_in, var->in, (void *)(uintptr_t)packed);
    }
    const char *how[] = {"1 part", "2 parts", "3 parts", "1 thread", "2 threads", "3 threads"};
    for (int k = 0; k < 12 && failures < 5; k++) {
        const void *with = k < 6 ? NULL : packed;
        if (k >= 6 && !packed)
            break;
        memset(got, 0x5A, bytes);
        if (k % 6 < 3)
            run_parts(v, pk, with, var, items, len, (uint32_t)(k % 6 + 1), scratch);
        else
            run_device(v, pk, with, op, var, items, len, (uint32_t)(k % 6 - 2), scratch);
        if (memcmp(got, want, bytes) == 0) {
            check_passed++;
            continue;
        }
        size_t i = 0;
        while (got[i] == ((const uint8_t *)want)[i])
            i++;
        failures++;
        CHECK(0,
              "%s %s (%s, %s%s), round %d: byte %zu of %zu is %u, reference %u "
              "(input %u-D %ux%ux%ux%u, filter %ux%ux%ux%u, attrs %d %d %d %d %d %d "
              "%d %d in %d out %d act %d..%d rounding %d)",
              s->op, v->name, storage_name, how[k % 6], with ? ", packed" : "", r, i, bytes,
              got[i], ((const uint8_t *)want)[i], t->in_shape[0].ndim, t->in_shape[0].dim[0],
              t->in_shape[0].dim[1], t->in_shape[0].dim[2], t->in_shape[0].dim[3],
              t->in_shape[1].dim[0], t->in_shape[1].dim[1], t->in_shape[1].dim[2],
              t->in_shape[1].dim[3], t->attrs[0], t->attrs[1], t->attrs[2], t->attrs[3],
              t->attrs[4], t->attrs[5], t->attrs[6], t->attrs[7], t->attrs[8], t->attrs[9],
              t->attrs[10], t->attrs[11], t->attrs[12]);
    }
    free(block);
    free(packed_block);
    return failures;
}

/* One instance in one storage: the reference on the stored (widened) values, its output
 * narrowed with dv_store_i8 when the output is int8, against every way of running the variant.
 * Returns the failures. */
static int test_storage(const dv_variant *v, const suite *s, const dv_op_info *op,
                        instance *t, int storage, size_t out_n, int r)
{
    static const char *names[] = {"int32", "int8 in", "int8 out", "int8 in and out"};
    const dv_attrs attrs = {t->attrs, t->n_attrs};
    stored_inputs si;
    store_inputs(t, s->activations, storage, &si);
    int32_t *want = malloc(out_n * sizeof *want + 4);
    uint64_t ref_scratch = op->scratch ? op->scratch(&attrs, t->n_in, t->in_shape) : 0;
    int32_t *scratch_ref = calloc((size_t)ref_scratch + 1, sizeof(int32_t));
    bound ref, var;
    bind(t, op, &ref, want);
    for (uint32_t i = 0; i < t->n_in; i++)
        if (si.wide[i])
            ref.in[i].data = si.wide[i];
    op->run(&ref.attrs, t->n_in, ref.in, 1, ref.out, scratch_ref);
    int32_t *got = malloc(out_n * sizeof *got + 4);
    bind(t, op, &var, got);
    for (uint32_t i = 0; i < t->n_in; i++)
        if (si.narrow[i]) {
            var.in[i].data = NULL;
            var.in[i].i8 = si.narrow[i];
        }
    size_t bytes = out_n * sizeof(int32_t);
    if (output_is_int8(storage)) {
        int8_t *narrow = (int8_t *)want;
        for (size_t i = 0; i < out_n; i++)
            narrow[i] = dv_store_i8(want[i]);
        var.out[0].data = NULL;
        var.out[0].i8 = (int8_t *)got;
        bytes = out_n;
    }
    int failures = compare_runs(v, s, op, t, &var, want, bytes, names[storage], r);
    free(want);
    free(got);
    free(scratch_ref);
    stored_inputs_free(&si);
    return failures;
}

/* One variant against its reference on `n` random instances. */
static void test_variant(const dv_variant *v, const suite *s, int n)
{
    const dv_op_info *op = dv_op_lookup(v->opcode);
    int accepted = 0, made = 0, failures = 0;
    const int storages = v->flags & DV_VARIANT_INT8 ? S_COUNT : 1;
    CHECK(!(v->flags & DV_VARIANT_INT8) || s->activations != 0,
          "%s %s: an int8 variant needs the suite's activation mask", s->op, v->name);
    for (int r = 0; r < n && failures < 5; r++) {
        instance t;
        memset(&t, 0, sizeof t);
        s->make(&t);
        dv_shape out_shape;
        dv_attrs attrs = {t.attrs, t.n_attrs};
        if (op->infer(&attrs, t.n_in, t.in_shape, 1, &out_shape) != NULL ||
            dv_shape_size(&out_shape) > (1u << 20)) {
            instance_free(&t);
            r--;
            continue;
        }
        made++;
        if (v->accepts(&attrs, t.n_in, t.in_shape)) {
            accepted++;
            for (int storage = 0; storage < storages && failures < 5; storage++)
                failures += test_storage(v, s, op, &t, storage, (size_t)dv_shape_size(&out_shape),
                                         r);
        }
        instance_free(&t);
    }
    /* most instances must be taken, or the test tests little */
    CHECK(accepted * 10 >= made * 7, "%s %s accepted %d of %d instances", s->op, v->name,
          accepted, made);
    printf("  %-20s %-5s %d instances, %d accepted%s\n", s->op, v->name, made, accepted,
           storages > 1 ? ", int32 and int8 storage" : "");
}

static void test_all_variants(void)
{
    const uint32_t cpu = dv_isa_detect();
    const int n = rounds();
    CHECK(dv_variant_count() > 0 || !(cpu & DV_ISA_AVX2), "the table is empty");
    for (uint32_t i = 0; i < dv_variant_count(); i++) {
        const dv_variant *v = dv_variant_at(i);
        const suite *s = suite_of(v->opcode);
        const dv_op_info *op = dv_op_lookup(v->opcode);
        CHECK(s != NULL, "variant %u (%s, opcode %u) has no row in the test table", i, v->name,
              v->opcode);
        CHECK(op != NULL && v->name && v->accepts && v->items && v->run &&
                  (v->isa == DV_ISA_AVX2 || v->isa == DV_ISA_VNNI),
              "variant %u is malformed", i);
        if (!s || !op)
            continue;
        if (!s->make) {
            printf("  %-20s %-5s tested in %s\n", s->op, v->name, s->where);
            continue;
        }
        if ((cpu & v->isa) != v->isa) {
            SKIP("%s %s: this CPU lacks its instruction set", s->op, v->name);
            continue;
        }
        test_variant(v, s, n);
    }
}

/* Each variant's instruction set, and VNNI only with AVX2. */
static void test_detection(void)
{
    const uint32_t cpu = dv_isa_detect();
    CHECK((cpu & ~(uint32_t)(DV_ISA_AVX2 | DV_ISA_VNNI)) == 0, "unknown bits %x", cpu);
    CHECK(!(cpu & DV_ISA_VNNI) || (cpu & DV_ISA_AVX2), "VNNI without AVX2");
    /* the lookup honours the mask */
    int32_t attrs[QFC_N_ATTRS] = {0, 0, 0, -128, 127, 0};
    dv_attrs a = {attrs, QFC_N_ATTRS};
    dv_shape in[5] = {shape(2, 1, 8, 0, 0), shape(2, 4, 8, 0, 0), shape(1, 4, 0, 0, 0),
                      shape(1, 4, 0, 0, 0), shape(1, 4, 0, 0, 0)};
    CHECK(dv_variant_find(DV_OP_QFULLY_CONNECTED, 0, &a, 5, in) == NULL, "mask 0 finds one");
    const dv_variant *v = dv_variant_find(DV_OP_QFULLY_CONNECTED, DV_ISA_AVX2, &a, 5, in);
#if defined(__x86_64__)
    CHECK(v && v->isa == DV_ISA_AVX2, "avx2 mask");
    v = dv_variant_find(DV_OP_QFULLY_CONNECTED, DV_ISA_AVX2 | DV_ISA_VNNI, &a, 5, in);
    CHECK(v && v->isa == DV_ISA_VNNI, "VNNI comes first");
#else
    CHECK(v == NULL);
#endif
    CHECK(dv_variant_find(DV_OP_QMEAN, ~0u, &a, 5, in) == NULL, "an op without variants");
}

/* ---- sessions ----------------------------------------------------------------------------- */

static int read_all(const char *path, uint8_t **bytes, size_t *len)
{
    detvm_error err;
    return detvm_read_file(path, bytes, len, &err) == DETVM_OK;
}

typedef struct {
    uint8_t *module;
    size_t module_len;
    detvm_module *m;
    uint8_t *input;
    size_t input_len;
    detvm_module_info info;
} model;

static int model_open(model *md, const char *file, const char *params, const char *input)
{
    detvm_error err = {0};
    memset(md, 0, sizeof *md);
    if (detvm_load_model_files(file, params, NULL, &md->module, &md->module_len, &err) ||
        detvm_module_load(md->module, md->module_len, &md->m, &err) ||
        !read_all(input, &md->input, &md->input_len)) {
        CHECK(0, "%s: %s", file, err.message);
        return -1;
    }
    detvm_module_get_info(md->m, &md->info);
    return 0;
}

static void model_close(model *md)
{
    detvm_module_free(md->m);
    free(md->module);
    free(md->input);
}

/* Runs with the given kernels and threads, traced: output bytes and trace root. */
static int model_run(model *md, detvm_kernels k, uint32_t threads, uint8_t *out, uint8_t *root,
                     char *kernels_used, size_t cap)
{
    detvm_error err = {0};
    detvm_session *s = NULL;
    detvm_trace trace;
    int rc = detvm_session_new(md->m, &s, &err) || detvm_session_set_kernels(s, k, &err) ||
             detvm_session_set_threads(s, threads, &err) ||
             detvm_session_set_trace(s, DETVM_TRACE_FAST, &err) ||
             detvm_run(s, md->input, md->input_len, out, (size_t)md->info.output_len, &err) ||
             detvm_session_trace(s, &trace, &err);
    CHECK(rc == 0, "run (kernels %d, %u threads): %s", (int)k, threads, err.message);
    if (!rc) {
        memcpy(root, trace.root, 16);
        CHECK(detvm_session_threads(s) == threads);
        kernels_used[0] = 0;
        for (uint32_t i = 0; i < md->info.n_instructions; i++) {
            const char *name = detvm_session_kernel(s, i);
            if (!strstr(kernels_used, name) && strlen(kernels_used) + strlen(name) + 2 < cap) {
                strcat(kernels_used, name);
                strcat(kernels_used, " ");
            }
        }
        CHECK(detvm_session_kernel(s, md->info.n_instructions) == NULL);
        /* the receipt lists the same kernels, each once, in the order of first use */
        detvm_receipt receipt;
        CHECK(detvm_receipt_describe(s, md->input, md->input_len, out,
                                     (size_t)md->info.output_len, &receipt, &err) == DETVM_OK,
              "%s", err.message);
        char listed[128] = "";
        for (uint32_t i = 0; i < receipt.n_kernel_variants && strlen(listed) + 70 < sizeof listed;
             i++) {
            strcat(listed, receipt.kernel_variants[i]);
            strcat(listed, " ");
        }
        CHECK(strcmp(listed, kernels_used) == 0, "receipt lists \"%s\", the run used \"%s\"",
              listed, kernels_used);
    }
    detvm_session_free(s);
    return rc;
}

static void test_model(const char *file, const char *params, const char *input)
{
    model md;
    if (model_open(&md, file, params, input))
        return;
    const size_t n = (size_t)md.info.output_len;
    uint8_t *want = malloc(n + 1), *got = malloc(n + 1), want_root[16], root[16];
    char used[128];
    model_run(&md, DETVM_KERNELS_REFERENCE, 1, want, want_root, used, sizeof used);
    CHECK(strcmp(used, "reference ") == 0, "%s: reference kernels only: %s", file, used);
    const detvm_kernels levels[] = {DETVM_KERNELS_AVX2, DETVM_KERNELS_VNNI, DETVM_KERNELS_AUTO};
    const char *names[] = {"avx2", "vnni", "auto"};
    for (int l = 0; l < 3; l++) {
        for (uint32_t threads = 1; threads <= 3; threads++) {
            memset(got, 0xA5, n);
            if (model_run(&md, levels[l], threads, got, root, used, sizeof used))
                continue;
            CHECK(memcmp(got, want, n) == 0 && memcmp(root, want_root, 16) == 0,
                  "%s: kernels %s, %u threads: output or trace differs (used: %s)", file,
                  names[l], threads, used);
            if (levels[l] == DETVM_KERNELS_AVX2)
                CHECK(!strstr(used, "vnni"), "%s: avx2 level used %s", file, used);
        }
        printf("  %s: %s: %s\n", file, names[l], used);
    }
    free(want);
    free(got);
    model_close(&md);
}

static void test_session_api(void)
{
    detvm_error err = {0};
    detvm_kernels k;
    CHECK(detvm_kernels_parse("ref", &k, &err) == DETVM_OK && k == DETVM_KERNELS_REFERENCE);
    CHECK(detvm_kernels_parse("reference", &k, &err) == DETVM_OK && k == DETVM_KERNELS_REFERENCE);
    CHECK(detvm_kernels_parse("avx2", &k, &err) == DETVM_OK && k == DETVM_KERNELS_AVX2);
    CHECK(detvm_kernels_parse("vnni", &k, &err) == DETVM_OK && k == DETVM_KERNELS_VNNI);
    CHECK(detvm_kernels_parse("auto", &k, &err) == DETVM_OK && k == DETVM_KERNELS_AUTO);
    CHECK(detvm_kernels_parse("avx512", &k, &err) == DETVM_EINVALID && strstr(err.message, "avx512"),
          "%s", err.message);
    CHECK(detvm_kernels_available(DETVM_KERNELS_REFERENCE) && detvm_kernels_available(DETVM_KERNELS_AUTO));
    CHECK(detvm_kernels_available(DETVM_KERNELS_VNNI) == !!(dv_isa_detect() & DV_ISA_VNNI));
    CHECK(detvm_kernels_available(DETVM_KERNELS_AVX2) == !!(dv_isa_detect() & DV_ISA_AVX2));

    model md;
    if (model_open(&md, "fixtures/tflite/hello_world_int8/model.tflite", NULL,
                   "fixtures/tflite/hello_world_int8/inputs/sin_x1.57.bin"))
        return;
    detvm_session *s = NULL;
    CHECK(detvm_session_new(md.m, &s, &err) == DETVM_OK, "%s", err.message);
    if (s) {
        CHECK(detvm_session_threads(s) == 1, "one thread by default");
        CHECK(detvm_session_set_threads(s, 0, &err) == DETVM_EINVALID, "0 threads");
        CHECK(detvm_session_set_threads(s, DETVM_MAX_THREADS + 1, &err) == DETVM_EINVALID);
        CHECK(detvm_session_set_kernels(s, (detvm_kernels)9, &err) == DETVM_EINVALID);
        CHECK(detvm_session_set_kernels(s, DETVM_KERNELS_REFERENCE, &err) == DETVM_OK);
        CHECK(strcmp(detvm_session_kernel(s, 0), "reference") == 0);
        CHECK(detvm_session_set_threads(s, 4, &err) == DETVM_OK && detvm_session_threads(s) == 4);
        detvm_session_free(s);
    }
    /* the environment: a malformed value is refused, naming the variable */
    setenv("DETVM_KERNELS", "fast", 1);
    s = NULL;
    CHECK(detvm_session_new(md.m, &s, &err) == DETVM_ERUNTIME && strstr(err.message, "DETVM_KERNELS"),
          "%s", err.message);
    detvm_session_free(s);
    unsetenv("DETVM_KERNELS");
    const char *bad_threads[] = {"0", "x", "65", "2x", "-1", ""};
    for (int i = 0; i < 5; i++) {
        setenv("DETVM_THREADS", bad_threads[i], 1);
        s = NULL;
        CHECK(detvm_session_new(md.m, &s, &err) == DETVM_ERUNTIME &&
                  strstr(err.message, "DETVM_THREADS"),
              "DETVM_THREADS=%s: %s", bad_threads[i], err.message);
        detvm_session_free(s);
    }
    setenv("DETVM_THREADS", "3", 1);
    setenv("DETVM_KERNELS", "ref", 1);
    s = NULL;
    CHECK(detvm_session_new(md.m, &s, &err) == DETVM_OK, "%s", err.message);
    if (s) {
        CHECK(detvm_session_threads(s) == 3);
        /* the option cannot widen what the environment allows */
        CHECK(detvm_session_set_kernels(s, DETVM_KERNELS_VNNI, &err) == DETVM_OK &&
              strcmp(detvm_session_kernel(s, 0), "reference") == 0);
        detvm_session_free(s);
    }
    unsetenv("DETVM_THREADS");
    unsetenv("DETVM_KERNELS");
    model_close(&md);
}

int main(void)
{
    const char *seed = getenv("DETVM_TEST_SEED");
    if (seed && *seed) {
        /* splitmix64, so that nearby seeds give unrelated streams */
        uint64_t z = strtoull(seed, NULL, 0) + 0x9E3779B97F4A7C15u;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        rng_state = (z ^ (z >> 31)) | 1;
    }
    for (uint32_t n = 2; n <= MAX_THREADS; n++) {
        pools[n] = hal_threads_new(n);
        CHECK(pools[n] != NULL, "%u threads", n);
    }
    test_detection();
    test_all_variants();
    test_session_api();
    test_model("fixtures/tflite/hello_world_int8/model.tflite", NULL,
               "fixtures/tflite/hello_world_int8/inputs/sin_x1.57.bin");
    test_model("fixtures/cvm/chain_23/symbol.json", "fixtures/cvm/chain_23/params.bin",
               "fixtures/cvm/chain_23/input.bin");
    const char *shared = getenv("DETVM_SHARED") ? getenv("DETVM_SHARED") : "../shared";
    char model_path[1024], input_path[1024];
    snprintf(model_path, sizeof model_path, "%s/models/tflite/person_detect/model.tflite", shared);
    snprintf(input_path, sizeof input_path, "%s/models/tflite/person_detect/inputs/person.bin",
             shared);
    FILE *f = fopen(model_path, "rb");
    if (f) {
        fclose(f);
        test_model(model_path, NULL, input_path);
    } else {
        SKIP("%s is absent", model_path);
    }
    for (uint32_t n = 2; n <= MAX_THREADS; n++)
        hal_threads_free(pools[n]);
    return check_summary("test_variants");
}
