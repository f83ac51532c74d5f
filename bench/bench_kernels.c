/* Time per call of the CVM CONV2D and DENSE kernels on the layer shapes of the ResNet-18- and
 * MobileNet-v1-shaped CVM models: the reference kernel and each variant this CPU has, one
 * thread, int8 data, the median of N calls after a warm-up. Prints GMAC/s and the fraction of
 * this core's VNNI peak, which a vpdpbusd micro-kernel measures in the same run.
 * "vnni+" is the VNNI variant with its weights packed once ahead (dv_variant_packing).
 * Usage: bench_kernels [-n RUNS] [-r] [-m] [-v avx2|vnni] [-l TEXT] [resnet|mobilenet|all]
 * (-r: skip the reference; -m: the minimum instead of the median; -v: those variants;
 * -l: the layers whose name holds TEXT) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ops/nn_attrs.h"
#include "../ops/op.h"
#include "../ops/variant.h"

extern const dv_op_info dv_info_CONV2D, dv_info_DENSE;
#if defined(__x86_64__)
#include <immintrin.h>
extern const dv_variant dv_variant_cvm_conv2d_avx2, dv_variant_cvm_conv2d_vnni;
extern const dv_variant dv_variant_cvm_dense_avx2, dv_variant_cvm_dense_vnni;
extern const dv_variant_packing dv_packing_cvm_conv2d_avx2, dv_packing_cvm_conv2d_vnni;
#endif

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#if defined(__x86_64__)
/* 24 independent vpdpbusd chains in registers: the core's int8 MAC rate, in GMAC/s. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) static double vnni_peak(void)
{
    const long n = 20000000;
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        long left = n;
        double t = now_ms();
#define DP(i) "vpdpbusd %%zmm31, %%zmm30, %%zmm" #i "\n\t"
        __asm__ volatile("vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
                         "vmovdqa64 %%zmm30, %%zmm31\n\t"
                         "1:\n\t"
                         DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7) DP(8) DP(9) DP(10)
                         DP(11) DP(12) DP(13) DP(14) DP(15) DP(16) DP(17) DP(18) DP(19) DP(20)
                         DP(21) DP(22) DP(23)
                         "dec %0\n\t"
                         "jnz 1b"
                         : "+r"(left)
                         :
                         : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                           "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                           "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
                           "xmm22", "xmm23", "xmm30", "xmm31");
#undef DP
        t = now_ms() - t;
        if (t < best)
            best = t;
    }
    return n * 24.0 * 64 / (best * 1e6);
}
#endif

static uint64_t rng = 88172645463325252u;
static int use_min; /* -m: the minimum instead of the median (a loaded machine) */
static const char *only;  /* -v NAME: only this variant */
static const char *layer_filter; /* -l TEXT: only the layers whose name holds TEXT */

static int32_t small(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int32_t)(rng % 255) - 127;
}

typedef struct {
    const char *name;
    int c, h, w, oc, k, stride, pad, groups;
} layer;

static const layer resnet[] = {
    {"conv1 7x7/2 3->64 224", 3, 224, 224, 64, 7, 2, 3, 1},
    {"l1 3x3 64->64 56", 64, 56, 56, 64, 3, 1, 1, 1},
    {"l2a 3x3/2 64->128 56", 64, 56, 56, 128, 3, 2, 1, 1},
    {"l2 3x3 128->128 28", 128, 28, 28, 128, 3, 1, 1, 1},
    {"l2ds 1x1/2 64->128 56", 64, 56, 56, 128, 1, 2, 0, 1},
    {"l3a 3x3/2 128->256 28", 128, 28, 28, 256, 3, 2, 1, 1},
    {"l3 3x3 256->256 14", 256, 14, 14, 256, 3, 1, 1, 1},
    {"l3ds 1x1/2 128->256 28", 128, 28, 28, 256, 1, 2, 0, 1},
    {"l4a 3x3/2 256->512 14", 256, 14, 14, 512, 3, 2, 1, 1},
    {"l4 3x3 512->512 7", 512, 7, 7, 512, 3, 1, 1, 1},
    {"l4ds 1x1/2 256->512 14", 256, 14, 14, 512, 1, 2, 0, 1},
};
/* how many times each layer occurs in the model */
static const int resnet_count[] = {1, 4, 1, 3, 1, 1, 3, 1, 1, 3, 1};

static const layer mobilenet[] = {
    {"conv0 3x3/2 3->32 224", 3, 224, 224, 32, 3, 2, 1, 1},
    {"dw 3x3 32 112", 32, 112, 112, 32, 3, 1, 1, 32},
    {"pw 32->64 112", 32, 112, 112, 64, 1, 1, 0, 1},
    {"dw 3x3/2 64 112", 64, 112, 112, 64, 3, 2, 1, 64},
    {"pw 64->128 56", 64, 56, 56, 128, 1, 1, 0, 1},
    {"dw 3x3 128 56", 128, 56, 56, 128, 3, 1, 1, 128},
    {"pw 128->128 56", 128, 56, 56, 128, 1, 1, 0, 1},
    {"dw 3x3/2 128 56", 128, 56, 56, 128, 3, 2, 1, 128},
    {"pw 128->256 28", 128, 28, 28, 256, 1, 1, 0, 1},
    {"dw 3x3 256 28", 256, 28, 28, 256, 3, 1, 1, 256},
    {"pw 256->256 28", 256, 28, 28, 256, 1, 1, 0, 1},
    {"dw 3x3/2 256 28", 256, 28, 28, 256, 3, 2, 1, 256},
    {"pw 256->512 14", 256, 14, 14, 512, 1, 1, 0, 1},
    {"dw 3x3 512 14", 512, 14, 14, 512, 3, 1, 1, 512},
    {"pw 512->512 14", 512, 14, 14, 512, 1, 1, 0, 1},
    {"dw 3x3/2 512 14", 512, 14, 14, 512, 3, 2, 1, 512},
    {"pw 512->1024 7", 512, 7, 7, 1024, 1, 1, 0, 1},
    {"dw 3x3 1024 7", 1024, 7, 7, 1024, 3, 1, 1, 1024},
    {"pw 1024->1024 7", 1024, 7, 7, 1024, 1, 1, 0, 1},
};
static const int mobilenet_count[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5, 1, 1, 1, 1};

/* The median (or minimum) time of op's reference kernel, or of a variant (with its one-time
 * packing made ahead, outside the timing, when `packing` is given). */
static double median_ms(const dv_op_info *op, const void *variant,
                        const dv_variant_packing *packing, const dv_attrs *attrs, uint32_t n_in,
                        const dv_tensor *in, dv_tensor *out, int runs)
{
    const dv_variant *v = variant;
    dv_shape shapes[3];
    for (uint32_t i = 0; i < n_in; i++)
        shapes[i] = in[i].shape;
    int32_t *scratch = NULL;
    uint64_t items = 0;
    if (v) {
        if (!v->accepts(attrs, n_in, shapes))
            return -1;
        items = v->items(attrs, n_in, shapes);
        uint64_t n = v->scratch ? v->scratch(attrs, n_in, shapes) : 0;
        scratch = calloc((size_t)n + 16, 4);
    }
    void *block = NULL, *packed = NULL;
    if (packing) {
        uint64_t bytes = packing->packed_size(attrs, n_in, shapes);
        if (!bytes)
            return -1;
        block = malloc((size_t)bytes + 64);
        packed = (void *)(((uintptr_t)block + 63) & ~(uintptr_t)63);
        packing->pack(attrs, n_in, in, packed);
    }
    double *t = malloc(sizeof *t * (size_t)runs);
    for (int r = -1; r < runs; r++) {
        double start = now_ms();
        if (packing)
            packing->run_packed(attrs, n_in, in, 1, out, packed, scratch, 0, items);
        else if (v)
            v->run(attrs, n_in, in, 1, out, scratch, 0, items);
        else
            op->run(attrs, n_in, in, 1, out, NULL);
        if (r >= 0)
            t[r] = now_ms() - start;
    }
    qsort(t, (size_t)runs, sizeof *t, by_value);
    double m = use_min ? t[0] : t[runs / 2];
    free(t);
    free(scratch);
    free(block);
    return m;
}

static double total[4];
static const char *const kind_name[4] = {"ref", "avx2", "vnni", "vnni+"};

static void bench_layer(const layer *l, int count, int runs, int skip_ref, double peak)
{
    if (layer_filter && !strstr(l->name, layer_filter))
        return;
    int32_t a[CONV_N_ATTRS] = {l->oc, l->k, l->k, l->stride, l->stride, l->pad, l->pad, l->pad,
                               l->pad, 1, 1, l->groups, 1};
    dv_attrs attrs = {a, CONV_N_ATTRS};
    dv_shape shapes[3] = {{4, {1, (uint32_t)l->c, (uint32_t)l->h, (uint32_t)l->w}},
                          {4, {(uint32_t)l->oc, (uint32_t)(l->c / l->groups), (uint32_t)l->k,
                               (uint32_t)l->k}},
                          {1, {(uint32_t)l->oc}}};
    dv_shape ys;
    if (dv_info_CONV2D.infer(&attrs, 3, shapes, 1, &ys)) {
        printf("%s: invalid\n", l->name);
        return;
    }
    size_t nx = dv_shape_size(&shapes[0]), nw = dv_shape_size(&shapes[1]), ny = dv_shape_size(&ys);
    int32_t *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)l->oc * 4);
    int32_t *y = malloc(ny * 4), *y_ref = malloc(ny * 4);
    for (size_t i = 0; i < nx; i++)
        x[i] = small();
    for (size_t i = 0; i < nw; i++)
        w[i] = small();
    for (int i = 0; i < l->oc; i++)
        b[i] = small() * 100;
    dv_tensor in[3] = {{x, shapes[0]}, {w, shapes[1]}, {b, shapes[2]}};
    dv_tensor out = {y, ys}, ref_out = {y_ref, ys};
    double macs = (double)ny * (double)nw / l->oc;
    /* the reference, avx2, vnni, and vnni with its weights packed once ahead ("vnni+") */
    const void *variants[4] = {NULL, NULL, NULL, NULL};
    const dv_variant_packing *packings[4] = {NULL, NULL, NULL, NULL};
#if defined(__x86_64__)
    uint32_t isa = dv_isa_detect();
    if (isa & DV_ISA_AVX2)
        variants[1] = &dv_variant_cvm_conv2d_avx2;
    if (isa & DV_ISA_VNNI) {
        variants[2] = variants[3] = &dv_variant_cvm_conv2d_vnni;
        packings[3] = &dv_packing_cvm_conv2d_vnni;
    }
#endif
    printf("%-24s x%d %6.1f MMAC", l->name, count, macs / 1e6);
    dv_info_CONV2D.run(&attrs, 3, in, 1, &ref_out, NULL);
    for (int k = skip_ref ? 1 : 0; k < 4; k++) {
        if (k && (!variants[k] || (only && strncmp(only, kind_name[k], strlen(only)))))
            continue;
        double ms = median_ms(&dv_info_CONV2D, variants[k], packings[k], &attrs, 3, in, &out,
                              runs);
        if (ms < 0) {
            total[k] += total[k - 1] - total[k]; /* direct path: nothing packed, same time */
            continue;
        }
        int same = memcmp(y, y_ref, ny * 4) == 0;
        total[k] += ms * count;
        printf("  %s %7.3f ms %5.1f GMAC/s %4.1f%%%s", kind_name[k], ms, macs / (ms * 1e6),
               peak > 0 ? 100 * macs / (ms * 1e6) / peak : 0, same ? "" : " MISMATCH");
    }
    printf("\n");
    free(x), free(w), free(b), free(y), free(y_ref);
}

static void bench_dense(int depth, int units, int runs, int skip_ref)
{
    int32_t a[DENSE_N_ATTRS] = {units, 1};
    dv_attrs attrs = {a, DENSE_N_ATTRS};
    dv_shape shapes[3] = {{2, {1, (uint32_t)depth}}, {2, {(uint32_t)units, (uint32_t)depth}},
                          {1, {(uint32_t)units}}};
    dv_shape ys = {2, {1, (uint32_t)units}};
    int32_t *x = malloc((size_t)depth * 4), *w = malloc((size_t)depth * units * 4);
    int32_t *b = malloc((size_t)units * 4), *y = malloc((size_t)units * 4);
    for (int i = 0; i < depth; i++)
        x[i] = small();
    for (size_t i = 0; i < (size_t)depth * units; i++)
        w[i] = small();
    for (int i = 0; i < units; i++)
        b[i] = small();
    dv_tensor in[3] = {{x, shapes[0]}, {w, shapes[1]}, {b, shapes[2]}};
    dv_tensor out = {y, ys};
    printf("dense %d->%d", depth, units);
    const void *variants[3] = {NULL, NULL, NULL};
#if defined(__x86_64__)
    uint32_t isa = dv_isa_detect();
    if (isa & DV_ISA_AVX2)
        variants[1] = &dv_variant_cvm_dense_avx2;
    if (isa & DV_ISA_VNNI)
        variants[2] = &dv_variant_cvm_dense_vnni;
#endif
    for (int k = skip_ref ? 1 : 0; k < 3; k++)
        if (!k || variants[k])
            printf("  %s %8.3f ms", kind_name[k],
                   median_ms(&dv_info_DENSE, variants[k], NULL, &attrs, 3, in, &out, runs));
    printf("\n");
    free(x), free(w), free(b), free(y);
}

int main(int argc, char **argv)
{
    int runs = 10, skip_ref = 0;
    const char *which = "all";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-r"))
            skip_ref = 1;
        else if (!strcmp(argv[i], "-m"))
            use_min = 1;
        else if (!strcmp(argv[i], "-v") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "-l") && i + 1 < argc)
            layer_filter = argv[++i];
        else
            which = argv[i];
    }
    if (runs < 1)
        runs = 1;
    double peak = 0;
#if defined(__x86_64__)
    if (dv_isa_detect() & DV_ISA_VNNI)
        peak = vnni_peak();
#endif
    printf("VNNI peak (vpdpbusd micro-kernel, this run): %.1f GMAC/s\n", peak);
    if (strcmp(which, "mobilenet")) {
        memset(total, 0, sizeof total);
        for (size_t i = 0; i < sizeof resnet / sizeof resnet[0]; i++)
            bench_layer(&resnet[i], resnet_count[i], runs, skip_ref, peak);
        bench_dense(512, 1000, runs, skip_ref);
        printf("ResNet-18 convs, summed over the model: ref %.2f ms, avx2 %.2f ms, vnni %.2f ms, "
               "vnni+ %.2f ms (1814 MMAC: vnni %.1f%%, vnni+ %.1f%% of peak)\n",
               total[0], total[1], total[2], total[3],
               total[2] > 0 && peak > 0 ? 100 * 1814.0 / total[2] / peak : 0,
               total[3] > 0 && peak > 0 ? 100 * 1814.0 / total[3] / peak : 0);
    }
    if (strcmp(which, "resnet")) {
        memset(total, 0, sizeof total);
        for (size_t i = 0; i < sizeof mobilenet / sizeof mobilenet[0]; i++)
            bench_layer(&mobilenet[i], mobilenet_count[i], runs, skip_ref, peak);
        bench_dense(1024, 1000, runs, skip_ref);
        printf("MobileNet-v1 convs, summed over the model: ref %.2f ms, avx2 %.2f ms, "
               "vnni %.2f ms, vnni+ %.2f ms\n", total[0], total[1], total[2], total[3]);
    }
    return 0;
}
