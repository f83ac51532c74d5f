/* Differential tests of the CVM CONV2D, DENSE and fused CONV2D_SHIFT, DENSE_SHIFT and
 * CONV2D_SHIFT_MAX_POOL variants
 * (ops/x86/nn_conv.c, nn_dense.c) against the reference kernels of ops/nn.c: random shapes
 * (kernels 1..7, strides 1..3, dilations 1..3, asymmetric paddings, groups, depthwise and depth
 * multipliers, channel counts that are not multiples of the vector width, batches, with and
 * without bias) and values (int8, the -128 / 127 extremes, int16, INT32 extremes scattered so
 * that only some rows take the exact fallback, out-of-range weights); for the fused ops random
 * epilogues (precisions and shifts 1..32, no activation, relu, clips, cvm_clips), and for
 * CONV2D_SHIFT_MAX_POOL random pools (sizes 1..4, strides 1..3, paddings, ceil mode; rows
 * wide enough for the byte pooling's vectors too). Each instance
 * runs in one of the four storages of DV_VARIANT_INT8 (every tensor int32; the data int8; the
 * output int8; both), against the reference on the stored values with its output narrowed by
 * dv_store_i8 when the output is int8. Every output must have the reference's bytes, whether
 * the items run in one call, split into ranges with their own scratch, or through the CPU
 * device (hal/cpu.c) with 2 and 3 real threads; and again with the weights packed once ahead
 * (dv_variant_packing). The scratch and the packed buffer start as garbage, the output as a
 * sentinel. Variants the CPU lacks are skipped. The seed is fixed (DETVM_TEST_SEED overrides
 * it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hal/hal.h"
#include "check.h"
#include "nn_attrs.h"
#include "op.h"
#include "opcodes.h"
#include "variant.h"
#include "random.h"

extern const dv_op_info dv_info_CONV2D, dv_info_DENSE, dv_info_CONV2D_SHIFT, dv_info_DENSE_SHIFT;
extern const dv_op_info dv_info_CONV2D_SHIFT_MAX_POOL;

/* [fused][isa]: the plain op's variants, then the fused op's */
#if defined(__x86_64__)
extern const dv_variant dv_variant_cvm_conv2d_avx2, dv_variant_cvm_conv2d_vnni;
extern const dv_variant dv_variant_cvm_dense_avx2, dv_variant_cvm_dense_vnni;
extern const dv_variant dv_variant_cvm_conv2d_shift_avx2, dv_variant_cvm_conv2d_shift_vnni;
extern const dv_variant dv_variant_cvm_dense_shift_avx2, dv_variant_cvm_dense_shift_vnni;
extern const dv_variant_packing dv_packing_cvm_conv2d_avx2, dv_packing_cvm_conv2d_vnni;
extern const dv_variant_packing dv_packing_cvm_conv2d_shift_avx2, dv_packing_cvm_conv2d_shift_vnni;
extern const dv_variant dv_variant_cvm_conv2d_shift_max_pool_avx2,
    dv_variant_cvm_conv2d_shift_max_pool_vnni;
extern const dv_variant_packing dv_packing_cvm_conv2d_shift_max_pool_avx2,
    dv_packing_cvm_conv2d_shift_max_pool_vnni;
#define N_VARIANTS 2
static const dv_variant *conv_pool_variants[N_VARIANTS] = {
    &dv_variant_cvm_conv2d_shift_max_pool_avx2, &dv_variant_cvm_conv2d_shift_max_pool_vnni};
static const dv_variant_packing *conv_pool_packings[N_VARIANTS] = {
    &dv_packing_cvm_conv2d_shift_max_pool_avx2, &dv_packing_cvm_conv2d_shift_max_pool_vnni};
static const dv_variant_packing *conv_packings[2][N_VARIANTS] = {
    {&dv_packing_cvm_conv2d_avx2, &dv_packing_cvm_conv2d_vnni},
    {&dv_packing_cvm_conv2d_shift_avx2, &dv_packing_cvm_conv2d_shift_vnni}};
static const dv_variant *conv_variants[2][N_VARIANTS] = {
    {&dv_variant_cvm_conv2d_avx2, &dv_variant_cvm_conv2d_vnni},
    {&dv_variant_cvm_conv2d_shift_avx2, &dv_variant_cvm_conv2d_shift_vnni}};
static const dv_variant *dense_variants[2][N_VARIANTS] = {
    {&dv_variant_cvm_dense_avx2, &dv_variant_cvm_dense_vnni},
    {&dv_variant_cvm_dense_shift_avx2, &dv_variant_cvm_dense_shift_vnni}};
#else
#define N_VARIANTS 1
static const dv_variant *conv_variants[2][N_VARIANTS] = {{0}, {0}};
static const dv_variant *dense_variants[2][N_VARIANTS] = {{0}, {0}};
static const dv_variant_packing *conv_packings[2][N_VARIANTS] = {{0}, {0}};
static const dv_variant *conv_pool_variants[N_VARIANTS] = {0};
static const dv_variant_packing *conv_pool_packings[N_VARIANTS] = {0};
#endif


enum value_mode {
    VALUES_INT8,      /* every value in [-128, 127] */
    VALUES_EXTREME8,  /* only -128 and 127 */
    VALUES_INT16,     /* [-32768, 32767]: VNNI falls back, AVX2 does not */
    VALUES_SCATTERED, /* int8, with a few INT32 extremes and int16 values here and there */
    VALUES_SMALL,     /* [-3, 3] */
    N_VALUE_MODES
};

static int32_t value(int mode)
{
    static const int32_t wild[] = {INT32_MIN, INT32_MAX, -129, 128, 32767, -32768, 32768,
                                   -32769, 255, 65535};
    switch (mode) {
    case VALUES_EXTREME8: return rnd() & 1 ? 127 : -128;
    case VALUES_INT16: return between(-32768, 32767);
    case VALUES_SCATTERED:
        return rnd() % 97 == 0 ? wild[rnd() % (sizeof wild / sizeof wild[0])]
                               : between(-128, 127);
    case VALUES_SMALL: return between(-3, 3);
    default: return between(-128, 127);
    }
}

static void fill(int32_t *v, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++)
        v[i] = value(mode);
}

static hal_threads *pools[4]; /* pools[n]: n threads */

/* A random epilogue (nn_attrs.h): mostly what CVM models have (precision 8, shifts 6..12,
 * relu), and every precision, shift and activation sometimes. */
static void random_epilogue(int32_t *e)
{
    e[EPI_PRECISION] = rnd() % 2 ? 8 : between(1, 32);
    e[EPI_SHIFT_BIT] = rnd() % 2 ? between(6, 12) : between(1, 32);
    e[EPI_ACT] = e[EPI_ACT_A] = e[EPI_ACT_B] = 0;
    switch (rnd() % 5) {
    case 0: break;
    case 1:
    case 2: e[EPI_ACT] = DV_OP_RELU; break;
    case 3: {
        int32_t lo = rnd() % 3 ? between(-200, 200) : (int32_t)rnd();
        int32_t hi = rnd() % 3 ? between(-200, 200) : (int32_t)rnd();
        if (lo == INT32_MIN)
            lo++;
        if (hi == INT32_MIN)
            hi++;
        if (lo == hi && lo < INT32_MAX)
            hi = lo + 1;
        else if (lo == hi)
            lo = hi - 1;
        e[EPI_ACT] = DV_OP_CLIP;
        e[EPI_ACT_A] = lo < hi ? lo : hi;
        e[EPI_ACT_B] = lo < hi ? hi : lo;
        break;
    }
    default:
        e[EPI_ACT] = DV_OP_CVM_CLIP;
        e[EPI_ACT_A] = between(1, 32);
        break;
    }
}

/* The storages of DV_VARIANT_INT8: every tensor int32; the data int8; the output int8; both. */
enum { S_INT32, S_IN8, S_OUT8, S_BOTH8, N_STORAGES };
static const char *const storage_names[N_STORAGES] = {"int32", "int8 in", "int8 out",
                                                      "int8 in and out"};

/* An instance in one storage: the variant's view of the tensors (in[0] int8 when the data is,
 * out int8 when the output is) and the reference's output bytes on the stored values. */
typedef struct {
    dv_tensor in[3], out;
    int8_t *x8, *y8;
    int32_t *x_wide, *want32, *y32;
    const void *want;
    size_t n_out, out_bytes;
} stored;

/* Runs the reference `op` on the instance as `storage` stores it. `in` holds int32 data. */
static int stored_init(stored *st, const dv_op_info *op, const dv_attrs *attrs, uint32_t n_in,
                       const dv_tensor *in, const dv_shape *ys, int storage)
{
    memset(st, 0, sizeof *st);
    size_t nx = (size_t)dv_shape_size(&in[0].shape);
    st->n_out = (size_t)dv_shape_size(ys);
    st->x8 = malloc(nx + 64);
    st->x_wide = malloc(nx * 4 + 4);
    st->want32 = malloc(st->n_out * 4 + 4);
    st->y32 = malloc(st->n_out * 4 + 4);
    st->y8 = malloc(st->n_out + 64);
    if (!st->x8 || !st->x_wide || !st->want32 || !st->y32 || !st->y8)
        return 0;
    for (uint32_t i = 0; i < n_in; i++)
        st->in[i] = in[i];
    const int in8 = storage == S_IN8 || storage == S_BOTH8;
    const int out8 = storage == S_OUT8 || storage == S_BOTH8;
    dv_tensor ref_in[3];
    for (uint32_t i = 0; i < n_in; i++)
        ref_in[i] = in[i];
    if (in8) {
        for (size_t i = 0; i < nx; i++) {
            st->x8[i] = dv_store_i8(in[0].data[i]);
            st->x_wide[i] = st->x8[i];
        }
        ref_in[0].data = st->x_wide;
        st->in[0].data = NULL;
        st->in[0].i8 = st->x8;
    }
    dv_tensor ref_out = {st->want32, *ys, 0};
    int32_t *ref_scratch = NULL;
    if (op->scratch) {
        dv_shape shapes[3];
        for (uint32_t i = 0; i < n_in && i < 3; i++)
            shapes[i] = in[i].shape;
        ref_scratch = malloc((size_t)op->scratch(attrs, n_in, shapes) * 4 + 4);
        if (!ref_scratch)
            return 0;
    }
    op->run(attrs, n_in, ref_in, 1, &ref_out, ref_scratch);
    free(ref_scratch);
    st->out.shape = *ys;
    if (out8) {
        for (size_t i = 0; i < st->n_out; i++)
            st->y8[i] = dv_store_i8(st->want32[i]);
        st->want = st->y8;
        st->out_bytes = st->n_out;
        st->out.i8 = (int8_t *)st->y32;  /* the variant writes here; y8 holds the want */
    } else {
        st->want = st->want32;
        st->out_bytes = st->n_out * 4;
        st->out.data = st->y32;
    }
    return 1;
}

static void stored_free(stored *st)
{
    free(st->x8);
    free(st->x_wide);
    free(st->want32);
    free(st->y32);
    free(st->y8);
}

/* Runs all items through the CPU device with n threads (pools[n]), as a session step does. */
static void run_device(const dv_variant *v, const dv_variant_packing *packing, const void *packed,
                       const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, dv_tensor *out,
                       uint64_t items, int32_t *scratch, uint64_t scratch_stride, uint32_t n)
{
    const dv_op_info *op = dv_op_lookup(v->opcode);
    hal_step step = {.op = op, .attrs = *attrs, .n_in = n_in, .n_out = 1,
                     .in = (dv_tensor *)(uintptr_t)in, .out = out, .variant = v, .items = items,
                     .packing = packed ? packing : NULL, .packed = packed};
    hal_segment seg = {.steps = &step, .n_steps = 1, .threads = pools[n],
                       .thread_scratch = scratch, .thread_scratch_len = scratch_stride};
    void *handle = NULL, *tag = NULL;
    if (hal_cpu.prepare(&seg, &handle) != 0) {
        CHECK(0, "cpu prepare");
        return;
    }
    CHECK(hal_cpu.submit(handle, &seg) == 0 && hal_cpu.wait(handle, &tag) == 0);
    hal_cpu.release(handle);
}

static int variant_usable(const dv_variant *v, uint32_t isa)
{
    return v && (v->isa & isa) == v->isa;
}

/* Runs variant v over all items, in one call and split into three ranges, and compares both
 * with the reference's bytes; then again with its one-time packing, if it has one (`packing`,
 * may be NULL). Returns 1 when the variant accepted the instance. */
static int check_variant(const dv_variant *v, const dv_variant_packing *packing,
                         const dv_attrs *attrs, uint32_t n_in, stored *st,
                         const dv_shape *in_shapes, const char *what)
{
    const dv_tensor *in = st->in;
    dv_tensor *out = &st->out;
    uint8_t *got = out->i8 ? (uint8_t *)out->i8 : (uint8_t *)out->data;
    const uint8_t *want = st->want;
    const size_t n_out = st->out_bytes;
    if (!v->accepts(attrs, n_in, in_shapes))
        return 0;
    uint64_t items = v->items(attrs, n_in, in_shapes);
    uint64_t scratch_n = v->scratch ? v->scratch(attrs, n_in, in_shapes) : 0;
    CHECK(items >= 1, "%s %s: items", what, v->name);
    /* room for 3 threads' scratch, each starting on a 64-byte boundary */
    uint64_t stride = (scratch_n + 15) / 16 * 16;
    int32_t *scratch = malloc((size_t)(stride * 3 + 32) * sizeof *scratch);
    if (!scratch) {
        CHECK(0, "out of memory");
        return 1;
    }
    uint64_t packed_n = packing ? packing->packed_size(attrs, n_in, in_shapes) : 0;
    void *packed_block = NULL, *packed = NULL;
    if (packed_n) {
        CHECK(packing->variant == v && packing->inputs == 2u, "%s %s: packing", what, v->name);
        packed_block = malloc((size_t)packed_n + 64);
        if (!packed_block) {
            CHECK(0, "out of memory");
            free(scratch);
            return 1;
        }
        memset(packed_block, 0xa5, (size_t)packed_n + 64);
        packed = (void *)(((uintptr_t)packed_block + 63) & ~(uintptr_t)63);
        packing->pack(attrs, n_in, in, packed);
    }
    int32_t *scratch64 = (int32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    /* how % 4: one call, three ranges, 2 threads, 3 threads; how >= 4: with the packing */
    static const char *const hows[4] = {"whole", "ranges", "2 threads", "3 threads"};
    for (int how = 0; how < (packed ? 8 : 4); how++) {
        const int way = how % 4;
        const void *with = how >= 4 ? packed : NULL;
        if (way >= 2 && !pools[way])
            continue;
        uint64_t cut[4] = {0, items, items, items};
        if (way == 1) {
            cut[1] = items ? rnd() % (items + 1) : 0;
            cut[2] = cut[1] + (items - cut[1] ? rnd() % (items - cut[1] + 1) : 0);
        }
        memset(got, 0x5a, n_out);
        if (way >= 2) {
            memset(scratch, 0xa5, (size_t)(stride * 3 + 32) * sizeof *scratch);
            run_device(v, packing, with, attrs, n_in, in, out, items, scratch64, stride,
                       (uint32_t)way);
        }
        for (int r = 0; r < 3 && way < 2; r++) {
            memset(scratch, 0xa5, (size_t)(stride * 3 + 32) * sizeof *scratch);
            if (cut[r] < cut[r + 1] && !with)
                v->run(attrs, n_in, in, 1, out, scratch, cut[r], cut[r + 1]);
            else if (cut[r] < cut[r + 1])
                packing->run_packed(attrs, n_in, in, 1, out, with, scratch, cut[r], cut[r + 1]);
        }
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < n_out; i++)
            if (got[i] != want[i] && bad++ == 0)
                first = i;
        CHECK(bad == 0, "%s %s %s %s: %zu of %zu output bytes differ, first [%zu] = %u, want %u",
              what, v->name, with ? "run_packed" : "run", hows[way], bad, n_out, first,
              got[first], want[first]);
    }
    free(packed_block);
    free(scratch);
    return 1;
}

/* ---- conv2d -------------------------------------------------------------------------------- */

typedef struct {
    int32_t n, h, w, groups, in_pg, out_pg, kh, kw, sh, sw, dh, dw;
    int32_t pt, pl, pb, pr, bias;
} conv_case;

/* The data, weight and bias shapes of conv case k. */
static void conv_shapes(const conv_case *k, dv_shape shapes[3])
{
    shapes[0] = (dv_shape){4, {(uint32_t)k->n, (uint32_t)(k->groups * k->in_pg), (uint32_t)k->h,
                               (uint32_t)k->w}};
    shapes[1] = (dv_shape){4, {(uint32_t)(k->groups * k->out_pg), (uint32_t)k->in_pg,
                               (uint32_t)k->kh, (uint32_t)k->kw}};
    shapes[2] = (dv_shape){1, {(uint32_t)(k->groups * k->out_pg)}};
}

/* Random data and weights by their modes, and biases mostly in [-40000, 40000]. */
static void conv_fill(const dv_shape shapes[3], int32_t *x, int32_t *w, int32_t *b, int wmode,
                      int xmode)
{
    fill(x, dv_shape_size(&shapes[0]), xmode);
    fill(w, dv_shape_size(&shapes[1]), wmode);
    for (size_t i = 0; i < shapes[2].dim[0]; i++)
        b[i] = rnd() % 5 == 0 ? (int32_t)rnd() : between(-40000, 40000);
}

/* One instance: CONV2D, or CONV2D_SHIFT with a random epilogue when `fused`, in `storage`.
 * accepted[fused][v] counts the instances variant v took. Returns 0 for shapes infer refuses. */
static int conv_instance(const conv_case *k, int wmode, int xmode, uint32_t isa,
                         int accepted[2][N_VARIANTS], int fused, int storage)
{
    int32_t a[CONV_N_ATTRS + EPI_N_ATTRS] = {k->groups * k->out_pg, k->kh, k->kw, k->sh, k->sw,
                                             k->pt, k->pl, k->pb, k->pr, k->dh, k->dw,
                                             k->groups, k->bias};
    random_epilogue(a + CONV_N_ATTRS);
    dv_attrs attrs = {a, fused ? CONV_N_ATTRS + EPI_N_ATTRS : CONV_N_ATTRS};
    const dv_op_info *op = fused ? &dv_info_CONV2D_SHIFT : &dv_info_CONV2D;
    uint32_t n_in = 2 + (uint32_t)k->bias;
    dv_shape shapes[3];
    conv_shapes(k, shapes);
    dv_shape ys;
    if (op->infer(&attrs, n_in, shapes, 1, &ys))
        return 0;
    int32_t *x = malloc(dv_shape_size(&shapes[0]) * 4), *w = malloc(dv_shape_size(&shapes[1]) * 4),
            *b = malloc(shapes[2].dim[0] * 4);
    if (!x || !w || !b) {
        CHECK(0, "out of memory");
        free(x), free(w), free(b);
        return 0;
    }
    conv_fill(shapes, x, w, b, wmode, xmode);
    dv_tensor in[3] = {{x, shapes[0], 0}, {w, shapes[1], 0}, {b, shapes[2], 0}};
    stored st;
    if (!stored_init(&st, op, &attrs, n_in, in, &ys, storage)) {
        CHECK(0, "out of memory");
        stored_free(&st);
        free(x), free(w), free(b);
        return 0;
    }
    char what[300];
    const int32_t *e = a + CONV_N_ATTRS;
    snprintf(what, sizeof what,
             "%s (%s) n%d c%d %dx%d g%d opg%d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d b%d w%d x%d "
             "epilogue %d %d %d %d %d",
             op->name, storage_names[storage], k->n, k->groups * k->in_pg, k->h, k->w,
             k->groups, k->out_pg, k->kh, k->kw, k->sh, k->sw, k->dh, k->dw, k->pt, k->pl, k->pb,
             k->pr, k->bias, wmode, xmode, e[0], e[1], e[2], e[3], e[4]);
    for (int v = 0; v < N_VARIANTS; v++)
        if (variant_usable(conv_variants[fused][v], isa))
            accepted[fused][v] += check_variant(conv_variants[fused][v], conv_packings[fused][v],
                                                &attrs, n_in, &st, shapes, what);
    stored_free(&st);
    free(x), free(w), free(b);
    return 1;
}

static void random_conv_case(conv_case *k, int shape_kind)
{
    k->n = between(1, 2);
    k->kh = between(1, 7);
    k->kw = rnd() % 3 ? k->kh : between(1, 7);
    k->sh = between(1, 3);
    k->sw = rnd() % 3 ? k->sh : between(1, 3);
    k->dh = rnd() % 3 ? 1 : between(1, 3);
    k->dw = rnd() % 3 ? k->dh : between(1, 3);
    k->pt = between(0, 3);
    k->pl = between(0, 3);
    k->pb = rnd() % 2 ? k->pt : between(0, 3);
    k->pr = rnd() % 2 ? k->pl : between(0, 3);
    k->h = between(1, 18);
    k->w = between(1, 18);
    k->bias = (int32_t)(rnd() & 1);
    switch (shape_kind) {
    case 0: /* dense convolution, channel counts around the vector widths */
        k->groups = 1;
        k->in_pg = between(1, 40);
        k->out_pg = between(1, 80);
        break;
    case 1: /* grouped */
        k->groups = between(2, 4);
        k->in_pg = between(1, 12);
        k->out_pg = between(1, 36);
        break;
    default: /* depthwise, with a depth multiplier sometimes */
        k->groups = between(1, 24);
        k->in_pg = 1;
        k->out_pg = rnd() % 3 ? 1 : between(2, 5);
        break;
    }
}

static void test_conv_random(uint32_t isa)
{
    int accepted[2][N_VARIANTS] = {{0}}, ran[2] = {0};
    for (int t = 0; t < 900; t++) {
        conv_case k;
        random_conv_case(&k, t % 3);
        int wmode = rnd() % 8 == 0 ? (int)(rnd() % N_VALUE_MODES) : VALUES_INT8;
        int xmode = (int)(rnd() % N_VALUE_MODES);
        int fused = (int)(rnd() % 2);
        ran[fused] += conv_instance(&k, wmode, xmode, isa, accepted, fused,
                                    (int)(rnd() % N_STORAGES));
    }
    CHECK(ran[0] > 200 && ran[1] > 200, "only %d + %d random conv instances were valid", ran[0],
          ran[1]);
    for (int f = 0; f < 2; f++)
        for (int v = 0; v < N_VARIANTS; v++)
            if (variant_usable(conv_variants[f][v], isa))
                CHECK(accepted[f][v] == ran[f], "%s %s accepted %d of %d",
                      f ? "conv2d_shift" : "conv2d", conv_variants[f][v]->name, accepted[f][v],
                      ran[f]);
}

/* Shapes of the CVM models (ResNet-18, MobileNet-v1), smaller planes, and edge cases. */
static void test_conv_fixed(uint32_t isa)
{
    static const conv_case cases[] = {
        /* n  h   w  g  ipg opg kh kw sh sw dh dw pt pl pb pr bias */
        {1, 30, 30, 1, 3, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
        {1, 14, 14, 1, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 14, 14, 1, 64, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
        {1, 14, 14, 1, 64, 128, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
        {1, 7, 7, 1, 256, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 20, 20, 1, 3, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
        {1, 20, 20, 32, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 20, 20, 64, 1, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
        {1, 9, 9, 1, 32, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
        {1, 7, 7, 1, 64, 18, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
        {2, 5, 70, 1, 5, 17, 2, 5, 1, 3, 2, 3, 0, 4, 1, 0, 1},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
        {1, 1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  /* window mostly padding */
        {1, 2, 3, 1, 4, 16, 7, 7, 1, 1, 3, 3, 9, 9, 9, 9, 1}, /* dilated, all but one tap padding */
        {1, 3, 100, 3, 2, 7, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, 0},
        {1, 40, 3, 1, 1, 100, 3, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1},
        /* the direct path's flat form: strides 1, out_w == in_w < 16 */
        {1, 7, 7, 64, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {2, 14, 13, 8, 1, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0},
        {1, 9, 5, 4, 3, 1, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},
        {1, 1, 15, 3, 1, 1, 1, 7, 1, 1, 1, 1, 0, 3, 0, 3, 1},
        {1, 3, 4, 2, 1, 1, 3, 3, 1, 1, 1, 1, 0, 1, 2, 1, 1},
    };
    int accepted[2][N_VARIANTS] = {{0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int mode = 0; mode < N_VALUE_MODES; mode++) {
            /* every storage, plain and fused, over the modes of each case */
            const int storage = (int)((i + (size_t)mode) % N_STORAGES), fused = mode & 1;
            CHECK(conv_instance(&cases[i], mode == VALUES_INT16 ? VALUES_INT8 : mode, mode, isa,
                                accepted, fused, storage),
                  "fixed conv case %zu is valid", i);
            conv_instance(&cases[i], mode, VALUES_INT8, isa, accepted, !fused,
                          (storage + 1) % N_STORAGES);
        }
}

/* ---- conv2d_shift then max_pool2d ------------------------------------------------------------ */

/* CONV2D_SHIFT_MAX_POOL: the conv case k with a random epilogue, then the pool (pool_h, pool_w,
 * stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, ceil_mode), in `storage`.
 * Returns 1 when the variant of index v took it, 0 for shapes infer refuses, -1 otherwise. */
static int conv_pool_instance(const conv_case *k, const int32_t *pool, int wmode, int xmode,
                              uint32_t isa, int accepted[N_VARIANTS], int storage)
{
    int32_t a[CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS] = {
        k->groups * k->out_pg, k->kh, k->kw, k->sh, k->sw, k->pt, k->pl, k->pb, k->pr, k->dh,
        k->dw, k->groups, k->bias};
    random_epilogue(a + CONV_N_ATTRS);
    memcpy(a + CONV_N_ATTRS + EPI_N_ATTRS, pool, POOL_N_ATTRS * sizeof *pool);
    dv_attrs attrs = {a, CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS};
    const dv_op_info *op = &dv_info_CONV2D_SHIFT_MAX_POOL;
    uint32_t n_in = 2 + (uint32_t)k->bias;
    dv_shape shapes[3];
    conv_shapes(k, shapes);
    dv_shape ys;
    if (op->infer(&attrs, n_in, shapes, 1, &ys))
        return 0;
    int32_t *x = malloc(dv_shape_size(&shapes[0]) * 4), *w = malloc(dv_shape_size(&shapes[1]) * 4),
            *b = malloc(shapes[2].dim[0] * 4);
    stored st;
    if (!x || !w || !b) {
        CHECK(0, "out of memory");
        free(x), free(w), free(b);
        return 0;
    }
    conv_fill(shapes, x, w, b, wmode, xmode);
    dv_tensor in[3] = {{x, shapes[0], 0}, {w, shapes[1], 0}, {b, shapes[2], 0}};
    if (!stored_init(&st, op, &attrs, n_in, in, &ys, storage)) {
        CHECK(0, "out of memory");
    } else {
        char what[300];
        const int32_t *e = a + CONV_N_ATTRS;
        snprintf(what, sizeof what,
                 "%s (%s) n%d c%d %dx%d g%d opg%d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d b%d w%d x%d "
                 "epilogue %d %d %d %d %d pool %dx%d s%d,%d p%d,%d,%d,%d ceil %d",
                 op->name, storage_names[storage], k->n, k->groups * k->in_pg, k->h, k->w,
                 k->groups, k->out_pg, k->kh, k->kw, k->sh, k->sw, k->dh, k->dw, k->pt, k->pl,
                 k->pb, k->pr, k->bias, wmode, xmode, e[0], e[1], e[2], e[3], e[4], pool[0],
                 pool[1], pool[2], pool[3], pool[4], pool[5], pool[6], pool[7], pool[8]);
        for (int v = 0; v < N_VARIANTS; v++)
            if (variant_usable(conv_pool_variants[v], isa))
                accepted[v] += check_variant(conv_pool_variants[v], conv_pool_packings[v],
                                             &attrs, n_in, &st, shapes, what);
    }
    stored_free(&st);
    free(x), free(w), free(b);
    return 1;
}

static void test_conv_pool(uint32_t isa)
{
    int accepted[N_VARIANTS] = {0}, ran = 0;
    /* ResNet-18's stem (on smaller images), and wide rows for every pool stride */
    static const conv_case stems[] = {
        /* n  h   w  g  ipg opg kh kw sh sw dh dw pt pl pb pr bias */
        {1, 40, 36, 1, 3, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
        {1, 24, 150, 1, 3, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},
        {2, 9, 140, 1, 4, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0},
        {1, 8, 131, 6, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    };
    static const int32_t pools_fixed[][POOL_N_ATTRS] = {
        {3, 3, 2, 2, 1, 1, 1, 1, 0}, {3, 3, 1, 1, 1, 1, 1, 1, 0}, {2, 2, 2, 2, 0, 0, 0, 0, 1},
        {3, 4, 3, 3, 2, 3, 0, 1, 1}, {1, 1, 1, 1, 0, 0, 0, 0, 0}, {4, 2, 1, 2, 0, 1, 3, 0, 1},
    };
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++)
        for (size_t j = 0; j < sizeof pools_fixed / sizeof pools_fixed[0]; j++) {
            const int mode = (int)((i + j) % N_VALUE_MODES);
            CHECK(conv_pool_instance(&stems[i], pools_fixed[j], VALUES_INT8, mode, isa,
                                     accepted, (int)((i * 3 + j) % N_STORAGES)) == 1,
                  "fixed conv2d_shift_max_pool case %zu, %zu is valid", i, j);
            ran++;
        }
    for (int t = 0; t < 600; t++) {
        conv_case k;
        random_conv_case(&k, t % 3);
        k.h += 4;   /* room for the pool */
        k.w += rnd() % 4 ? 4 : between(30, 140);
        int32_t pool[POOL_N_ATTRS];
        pool[POOL_H] = between(1, 4);
        pool[POOL_W] = rnd() % 3 ? pool[POOL_H] : between(1, 4);
        pool[POOL_STRIDE_H] = between(1, 3);
        pool[POOL_STRIDE_W] = rnd() % 3 ? pool[POOL_STRIDE_H] : between(1, 3);
        pool[POOL_PAD_TOP] = between(0, pool[POOL_H] - 1);
        pool[POOL_PAD_LEFT] = between(0, pool[POOL_W] - 1);
        pool[POOL_PAD_BOTTOM] = rnd() % 2 ? pool[POOL_PAD_TOP] : between(0, 3);
        pool[POOL_PAD_RIGHT] = rnd() % 2 ? pool[POOL_PAD_LEFT] : between(0, 3);
        pool[POOL_CEIL_MODE] = (int32_t)(rnd() & 1);
        int wmode = rnd() % 8 == 0 ? (int)(rnd() % N_VALUE_MODES) : VALUES_INT8;
        ran += conv_pool_instance(&k, pool, wmode, (int)(rnd() % N_VALUE_MODES), isa, accepted,
                                  (int)(rnd() % N_STORAGES));
    }
    CHECK(ran > 200, "only %d random conv2d_shift_max_pool instances were valid", ran);
    for (int v = 0; v < N_VARIANTS; v++)
        if (variant_usable(conv_pool_variants[v], isa))
            CHECK(accepted[v] == ran, "conv2d_shift_max_pool %s accepted %d of %d",
                  conv_pool_variants[v]->name, accepted[v], ran);
}

/* ---- dense --------------------------------------------------------------------------------- */

/* DENSE, or DENSE_SHIFT with a random epilogue when `fused`, in `storage`. */
static void dense_instance(int32_t rows, int32_t depth, int32_t units, int32_t bias, int wmode,
                           int xmode, uint32_t isa, int fused, int storage)
{
    int32_t a[DENSE_N_ATTRS + EPI_N_ATTRS] = {units, bias};
    random_epilogue(a + DENSE_N_ATTRS);
    dv_attrs attrs = {a, fused ? DENSE_N_ATTRS + EPI_N_ATTRS : DENSE_N_ATTRS};
    const dv_op_info *op = fused ? &dv_info_DENSE_SHIFT : &dv_info_DENSE;
    uint32_t n_in = 2 + (uint32_t)bias;
    dv_shape shapes[3] = {{2, {(uint32_t)rows, (uint32_t)depth}},
                          {2, {(uint32_t)units, (uint32_t)depth}},
                          {1, {(uint32_t)units}}};
    dv_shape ys;
    CHECK(op->infer(&attrs, n_in, shapes, 1, &ys) == NULL, "dense infer");
    size_t nx = (size_t)rows * depth, nw = (size_t)units * depth;
    int32_t *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)units * 4);
    stored st;
    if (!x || !w || !b) {
        CHECK(0, "out of memory");
        free(x), free(w), free(b);
        return;
    }
    fill(x, nx, xmode);
    fill(w, nw, wmode);
    for (int32_t i = 0; i < units; i++)
        b[i] = (int32_t)rnd();
    dv_tensor in[3] = {{x, shapes[0], 0}, {w, shapes[1], 0}, {b, shapes[2], 0}};
    if (!stored_init(&st, op, &attrs, n_in, in, &ys, storage)) {
        CHECK(0, "out of memory");
    } else {
        char what[200];
        snprintf(what, sizeof what, "%s (%s) %dx%d units %d bias %d w%d x%d epilogue %d %d %d",
                 op->name, storage_names[storage], rows, depth, units, bias, wmode, xmode,
                 a[2], a[3], a[4]);
        for (int v = 0; v < N_VARIANTS; v++)
            if (variant_usable(dense_variants[fused][v], isa))
                CHECK(check_variant(dense_variants[fused][v], NULL, &attrs, n_in, &st, shapes,
                                    what),
                      "%s: %s declined", what, dense_variants[fused][v]->name);
    }
    stored_free(&st);
    free(x), free(w), free(b);
}

static void test_dense(uint32_t isa)
{
    for (int s = 0; s < N_STORAGES; s++) {
        dense_instance(1, 512, 1000, 1, VALUES_INT8, VALUES_INT8, isa, s & 1, s);
        dense_instance(1, 1024, 1000, 1, VALUES_SCATTERED, VALUES_SCATTERED, isa, !(s & 1), s);
    }
    for (int t = 0; t < 400; t++)
        dense_instance(between(1, 9), between(1, 70), between(1, 40), (int32_t)(rnd() & 1),
                       (int)(rnd() % N_VALUE_MODES), (int)(rnd() % N_VALUE_MODES), isa,
                       (int)(rnd() % 2), (int)(rnd() % N_STORAGES));
    dense_instance(3, 33, 5, 1, VALUES_SCATTERED, VALUES_INT16, isa, 1, S_INT32);
}

int main(void)
{
    const char *seed = getenv("DETVM_TEST_SEED");
    if (seed)
        rng_state = strtoull(seed, NULL, 0) | 1;
    uint32_t isa = dv_isa_detect();
#if defined(__x86_64__)
    if (!(isa & DV_ISA_AVX2))
        SKIP("the CVM variants: this CPU has no AVX2");
    else if (!(isa & DV_ISA_VNNI))
        SKIP("the CVM VNNI variants: this CPU has no AVX-512 VNNI");
#else
    SKIP("the CVM variants: x86-64 only");
#endif
    for (uint32_t n = 2; n < 4; n++)
        if (hal_threads_max() >= n)
            pools[n] = hal_threads_new(n);
    if (!pools[2])
        SKIP("runs with real threads: this build has none");
    test_conv_fixed(isa);
    test_conv_random(isa);
    test_conv_pool(isa);
    test_dense(isa);
    for (uint32_t n = 2; n < 4; n++)
        hal_threads_free(pools[n]);
    return check_summary("test_variants_nn");
}
