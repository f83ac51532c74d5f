/* Differential tests of the CVM CONV2D and DENSE variants (ops/x86/nn_conv.c, nn_dense.c)
 * against the reference kernels of ops/nn.c: random shapes (kernels 1..7, strides 1..3,
 * dilations 1..3, asymmetric paddings, groups, depthwise and depth multipliers, channel counts
 * that are not multiples of the vector width, batches, with and without bias) and values
 * (int8, the -128 / 127 extremes, int16, INT32 extremes scattered so that only some rows take
 * the exact fallback, out-of-range weights). Every output must have the reference's bytes,
 * whether the items run in one call, split into ranges with their own scratch, or through the
 * CPU device (hal/cpu.c) with 2 and 3 real threads; and again with the weights packed once
 * ahead (dv_variant_packing). The scratch and the packed buffer start as garbage, the output as
 * a sentinel. Variants the CPU lacks are skipped. The seed is fixed (DETVM_TEST_SEED overrides
 * it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hal/hal.h"
#include "check.h"
#include "nn_attrs.h"
#include "op.h"
#include "variant.h"

extern const dv_op_info dv_info_CONV2D, dv_info_DENSE;

#if defined(__x86_64__)
extern const dv_variant dv_variant_cvm_conv2d_avx2, dv_variant_cvm_conv2d_vnni;
extern const dv_variant dv_variant_cvm_dense_avx2, dv_variant_cvm_dense_vnni;
extern const dv_variant_packing dv_packing_cvm_conv2d_avx2, dv_packing_cvm_conv2d_vnni;
#define N_VARIANTS 2
static const dv_variant_packing *conv_packings[N_VARIANTS] = {&dv_packing_cvm_conv2d_avx2,
                                                              &dv_packing_cvm_conv2d_vnni};
static const dv_variant *conv_variants[N_VARIANTS] = {&dv_variant_cvm_conv2d_avx2,
                                                      &dv_variant_cvm_conv2d_vnni};
static const dv_variant *dense_variants[N_VARIANTS] = {&dv_variant_cvm_dense_avx2,
                                                       &dv_variant_cvm_dense_vnni};
#else
#define N_VARIANTS 1
static const dv_variant *conv_variants[N_VARIANTS] = {0};
static const dv_variant *dense_variants[N_VARIANTS] = {0};
static const dv_variant_packing *conv_packings[N_VARIANTS] = {0};
#endif

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* An integer in [lo, hi]. */
static int32_t between(int32_t lo, int32_t hi)
{
    return (int32_t)((int64_t)lo + (int64_t)(rnd() % (uint32_t)((int64_t)hi - lo + 1)));
}

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
 * with `want`; then again with its one-time packing, if it has one (`packing`, may be NULL).
 * Returns 1 when the variant accepted the instance. */
static int check_variant(const dv_variant *v, const dv_variant_packing *packing,
                         const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                         const dv_shape *in_shapes, dv_tensor *out, const int32_t *want,
                         size_t n_out, const char *what)
{
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
        for (size_t i = 0; i < n_out; i++)
            out->data[i] = 0x5a5a5a5a;
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
            if (out->data[i] != want[i] && bad++ == 0)
                first = i;
        CHECK(bad == 0, "%s %s %s %s: %zu of %zu outputs differ, first [%zu] = %d, want %d",
              what, v->name, with ? "run_packed" : "run", hows[way], bad, n_out, first,
              out->data[first], want[first]);
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

static int conv_instance(const conv_case *k, int wmode, int xmode, uint32_t isa,
                         int *accepted)
{
    int32_t a[CONV_N_ATTRS] = {k->groups * k->out_pg, k->kh, k->kw, k->sh, k->sw, k->pt,
                               k->pl, k->pb, k->pr, k->dh, k->dw, k->groups, k->bias};
    dv_attrs attrs = {a, CONV_N_ATTRS};
    uint32_t n_in = 2 + (uint32_t)k->bias;
    dv_shape shapes[3] = {
        {4, {(uint32_t)k->n, (uint32_t)(k->groups * k->in_pg), (uint32_t)k->h, (uint32_t)k->w}},
        {4, {(uint32_t)(k->groups * k->out_pg), (uint32_t)k->in_pg, (uint32_t)k->kh,
             (uint32_t)k->kw}},
        {1, {(uint32_t)(k->groups * k->out_pg)}}};
    dv_shape ys;
    if (dv_info_CONV2D.infer(&attrs, n_in, shapes, 1, &ys))
        return 0;
    size_t nx = dv_shape_size(&shapes[0]), nw = dv_shape_size(&shapes[1]);
    size_t nb = shapes[2].dim[0], ny = dv_shape_size(&ys);
    int32_t *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(nb * 4);
    int32_t *want = malloc(ny * 4), *got = malloc(ny * 4);
    if (!x || !w || !b || !want || !got) {
        CHECK(0, "out of memory");
        free(x), free(w), free(b), free(want), free(got);
        return 0;
    }
    fill(x, nx, xmode);
    fill(w, nw, wmode);
    for (size_t i = 0; i < nb; i++)
        b[i] = rnd() % 5 == 0 ? (int32_t)rnd() : between(-40000, 40000);
    dv_tensor in[3] = {{x, shapes[0]}, {w, shapes[1]}, {b, shapes[2]}};
    dv_tensor ref_out = {want, ys}, out = {got, ys};
    dv_info_CONV2D.run(&attrs, n_in, in, 1, &ref_out, NULL);
    char what[200];
    snprintf(what, sizeof what,
             "conv n%d c%d %dx%d g%d opg%d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d b%d w%d x%d", k->n,
             k->groups * k->in_pg, k->h, k->w, k->groups, k->out_pg, k->kh, k->kw, k->sh,
             k->sw, k->dh, k->dw, k->pt, k->pl, k->pb, k->pr, k->bias, wmode, xmode);
    for (int v = 0; v < N_VARIANTS; v++)
        if (variant_usable(conv_variants[v], isa))
            accepted[v] += check_variant(conv_variants[v], conv_packings[v], &attrs, n_in, in,
                                         shapes, &out, want, ny, what);
    free(x), free(w), free(b), free(want), free(got);
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
    int accepted[N_VARIANTS] = {0}, ran = 0;
    for (int t = 0; t < 600; t++) {
        conv_case k;
        random_conv_case(&k, t % 3);
        int wmode = rnd() % 8 == 0 ? (int)(rnd() % N_VALUE_MODES) : VALUES_INT8;
        int xmode = (int)(rnd() % N_VALUE_MODES);
        ran += conv_instance(&k, wmode, xmode, isa, accepted);
    }
    CHECK(ran > 300, "only %d random conv instances were valid", ran);
    for (int v = 0; v < N_VARIANTS; v++)
        if (variant_usable(conv_variants[v], isa))
            CHECK(accepted[v] == ran, "conv %s accepted %d of %d", conv_variants[v]->name,
                  accepted[v], ran);
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
    int accepted[N_VARIANTS] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int mode = 0; mode < N_VALUE_MODES; mode++) {
            CHECK(conv_instance(&cases[i], mode == VALUES_INT16 ? VALUES_INT8 : mode, mode, isa,
                                accepted),
                  "fixed conv case %zu is valid", i);
            conv_instance(&cases[i], mode, VALUES_INT8, isa, accepted);
        }
}

/* ---- dense --------------------------------------------------------------------------------- */

static void dense_instance(int32_t rows, int32_t depth, int32_t units, int32_t bias, int wmode,
                           int xmode, uint32_t isa)
{
    int32_t a[DENSE_N_ATTRS] = {units, bias};
    dv_attrs attrs = {a, DENSE_N_ATTRS};
    uint32_t n_in = 2 + (uint32_t)bias;
    dv_shape shapes[3] = {{2, {(uint32_t)rows, (uint32_t)depth}},
                          {2, {(uint32_t)units, (uint32_t)depth}},
                          {1, {(uint32_t)units}}};
    dv_shape ys;
    CHECK(dv_info_DENSE.infer(&attrs, n_in, shapes, 1, &ys) == NULL, "dense infer");
    size_t nx = (size_t)rows * depth, nw = (size_t)units * depth, ny = (size_t)rows * units;
    int32_t *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)units * 4);
    int32_t *want = malloc(ny * 4), *got = malloc(ny * 4);
    if (!x || !w || !b || !want || !got) {
        CHECK(0, "out of memory");
        free(x), free(w), free(b), free(want), free(got);
        return;
    }
    fill(x, nx, xmode);
    fill(w, nw, wmode);
    for (int32_t i = 0; i < units; i++)
        b[i] = (int32_t)rnd();
    dv_tensor in[3] = {{x, shapes[0]}, {w, shapes[1]}, {b, shapes[2]}};
    dv_tensor ref_out = {want, ys}, out = {got, ys};
    dv_info_DENSE.run(&attrs, n_in, in, 1, &ref_out, NULL);
    char what[120];
    snprintf(what, sizeof what, "dense %dx%d units %d bias %d w%d x%d", rows, depth, units,
             bias, wmode, xmode);
    for (int v = 0; v < N_VARIANTS; v++)
        if (variant_usable(dense_variants[v], isa))
            CHECK(check_variant(dense_variants[v], NULL, &attrs, n_in, in, shapes, &out, want,
                                ny, what),
                  "%s: %s declined", what, dense_variants[v]->name);
    free(x), free(w), free(b), free(want), free(got);
}

static void test_dense(uint32_t isa)
{
    dense_instance(1, 512, 1000, 1, VALUES_INT8, VALUES_INT8, isa);
    dense_instance(1, 1024, 1000, 1, VALUES_SCATTERED, VALUES_SCATTERED, isa);
    for (int t = 0; t < 300; t++)
        dense_instance(between(1, 9), between(1, 70), between(1, 40), (int32_t)(rnd() & 1),
                       (int)(rnd() % N_VALUE_MODES), (int)(rnd() % N_VALUE_MODES), isa);
    dense_instance(3, 33, 5, 1, VALUES_SCATTERED, VALUES_INT16, isa);
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
    test_dense(isa);
    for (uint32_t n = 2; n < 4; n++)
        hal_threads_free(pools[n]);
    return check_summary("test_variants_nn");
}
