/* The kernel variants: which instruction sets this CPU has, and the table every variant is
 * listed in, best first.
 *
 * Detection follows the vendors' rules: an instruction set counts only when the CPU reports it
 * (cpuid) and the operating system saves the registers it uses (OSXSAVE, then XCR0 through
 * xgetbv: XMM and YMM state for AVX2; opmask, ZMM0-15 upper halves and ZMM16-31 as well for
 * AVX-512). DV_ISA_VNNI needs AVX-512 F, BW, VL and VNNI, and is only reported together with
 * DV_ISA_AVX2, so that a mask holding VNNI always holds AVX2 too. Other architectures have no
 * variants yet: dv_isa_detect returns 0 and the table is empty. */
#include "variant.h"

#if defined(__x86_64__)

/* The variants in ops/x86/qnn_*.c. */
extern const dv_variant dv_variant_qconv2d_vnni, dv_variant_qconv2d_avx2;
extern const dv_variant dv_variant_qdepthwise_conv2d_vnni, dv_variant_qdepthwise_conv2d_avx2;
extern const dv_variant dv_variant_qfully_connected_vnni, dv_variant_qfully_connected_avx2;
/* The TFLite QADD and QSUB variants in ops/x86/qelemwise.c. */
extern const dv_variant dv_variant_qadd_vnni, dv_variant_qadd_avx2;
extern const dv_variant dv_variant_qsub_vnni, dv_variant_qsub_avx2;

/* The CVM variants in ops/x86/nn_conv.c and nn_dense.c. */
extern const dv_variant dv_variant_cvm_conv2d_vnni, dv_variant_cvm_conv2d_avx2;
extern const dv_variant dv_variant_cvm_dense_vnni, dv_variant_cvm_dense_avx2;
/* The fused CVM ops (ops/nn.c, loader/fuse.c), in the same files. */
extern const dv_variant dv_variant_cvm_conv2d_shift_vnni, dv_variant_cvm_conv2d_shift_avx2;
extern const dv_variant dv_variant_cvm_dense_shift_vnni, dv_variant_cvm_dense_shift_avx2;
extern const dv_variant dv_variant_elemwise_add_shift_vnni, dv_variant_elemwise_add_shift_avx2;
extern const dv_variant dv_variant_cvm_conv2d_shift_max_pool_vnni,
    dv_variant_cvm_conv2d_shift_max_pool_avx2;

/* The CVM element-wise and pooling variants in ops/x86/elemwise.c and pool.c. */
extern const dv_variant dv_variant_cvm_right_shift_vnni, dv_variant_cvm_right_shift_avx2;
extern const dv_variant dv_variant_cvm_clip_vnni, dv_variant_cvm_clip_avx2;
extern const dv_variant dv_variant_clip_vnni, dv_variant_clip_avx2;
extern const dv_variant dv_variant_relu_vnni, dv_variant_relu_avx2;
extern const dv_variant dv_variant_elemwise_add_vnni, dv_variant_elemwise_add_avx2;
extern const dv_variant dv_variant_broadcast_add_vnni, dv_variant_broadcast_add_avx2;
extern const dv_variant dv_variant_max_pool2d_vnni, dv_variant_max_pool2d_avx2;

/* TRANSPOSE in ops/x86/transform.c. */
extern const dv_variant dv_variant_transpose_vnni, dv_variant_transpose_avx2;
/* QMEAN and QAVG_POOL2D in ops/x86/qpool.c (one AVX2 variant serves both levels). */
extern const dv_variant dv_variant_qmean_avx2, dv_variant_qavg_pool2d_avx2;

/* Every variant; for one opcode, the better ones first (VNNI before AVX2). */
static const dv_variant *const variants[] = {
    &dv_variant_qconv2d_vnni,           &dv_variant_qconv2d_avx2,
    &dv_variant_qdepthwise_conv2d_vnni, &dv_variant_qdepthwise_conv2d_avx2,
    &dv_variant_qfully_connected_vnni,  &dv_variant_qfully_connected_avx2,
    &dv_variant_qadd_vnni,              &dv_variant_qadd_avx2,
    &dv_variant_qsub_vnni,              &dv_variant_qsub_avx2,
    &dv_variant_cvm_conv2d_vnni,        &dv_variant_cvm_conv2d_avx2,
    &dv_variant_cvm_dense_vnni,         &dv_variant_cvm_dense_avx2,
    &dv_variant_cvm_conv2d_shift_vnni,  &dv_variant_cvm_conv2d_shift_avx2,
    &dv_variant_cvm_dense_shift_vnni,   &dv_variant_cvm_dense_shift_avx2,
    &dv_variant_elemwise_add_shift_vnni, &dv_variant_elemwise_add_shift_avx2,
    &dv_variant_cvm_conv2d_shift_max_pool_vnni, &dv_variant_cvm_conv2d_shift_max_pool_avx2,
    &dv_variant_cvm_right_shift_vnni,   &dv_variant_cvm_right_shift_avx2,
    &dv_variant_cvm_clip_vnni,          &dv_variant_cvm_clip_avx2,
    &dv_variant_clip_vnni,              &dv_variant_clip_avx2,
    &dv_variant_relu_vnni,              &dv_variant_relu_avx2,
    &dv_variant_elemwise_add_vnni,      &dv_variant_elemwise_add_avx2,
    &dv_variant_broadcast_add_vnni,     &dv_variant_broadcast_add_avx2,
    &dv_variant_max_pool2d_vnni,        &dv_variant_max_pool2d_avx2,
    &dv_variant_transpose_vnni,         &dv_variant_transpose_avx2,
    &dv_variant_qmean_avx2,             &dv_variant_qavg_pool2d_avx2,
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

extern const dv_variant_packing dv_packing_qconv2d_vnni, dv_packing_qconv2d_avx2;
extern const dv_variant_packing dv_packing_cvm_conv2d_vnni, dv_packing_cvm_conv2d_avx2;
extern const dv_variant_packing dv_packing_cvm_conv2d_shift_vnni, dv_packing_cvm_conv2d_shift_avx2;
extern const dv_variant_packing dv_packing_cvm_conv2d_shift_max_pool_vnni,
    dv_packing_cvm_conv2d_shift_max_pool_avx2;
extern const dv_variant_packing dv_packing_qdepthwise_conv2d_vnni,
    dv_packing_qdepthwise_conv2d_avx2;
extern const dv_variant_packing dv_packing_qfully_connected_vnni,
    dv_packing_qfully_connected_avx2;

static const dv_variant_packing *const packings[] = {
    &dv_packing_qconv2d_vnni,    &dv_packing_qconv2d_avx2,
    &dv_packing_cvm_conv2d_vnni, &dv_packing_cvm_conv2d_avx2,
    &dv_packing_cvm_conv2d_shift_vnni, &dv_packing_cvm_conv2d_shift_avx2,
    &dv_packing_cvm_conv2d_shift_max_pool_vnni, &dv_packing_cvm_conv2d_shift_max_pool_avx2,
    &dv_packing_qdepthwise_conv2d_vnni, &dv_packing_qdepthwise_conv2d_avx2,
    &dv_packing_qfully_connected_vnni, &dv_packing_qfully_connected_avx2,
};
#define N_PACKINGS (sizeof packings / sizeof packings[0])

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(subleaf));
}

/* XCR0, the state components the operating system saves; call only when OSXSAVE is set. */
static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    if (r[0] < 7)
        return 0;
    cpuid(1, 0, r);
    const int osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    const uint64_t xcr = xcr0();
    if ((xcr & 0x6) != 0x6)             /* XMM and YMM state */
        return 0;
    cpuid(7, 0, r);
    const uint32_t ebx = r[1], ecx = r[2];
    if (!((ebx >> 5) & 1))              /* AVX2 */
        return 0;
    uint32_t isa = DV_ISA_AVX2;
    const int avx512 = ((ebx >> 16) & 1)     /* AVX512F */
                       && ((ebx >> 30) & 1)  /* AVX512BW */
                       && ((ebx >> 31) & 1)  /* AVX512VL */
                       && ((ecx >> 11) & 1); /* AVX512_VNNI */
    if (avx512 && (xcr & 0xE6) == 0xE6)      /* and opmask, ZMM_Hi256, Hi16_ZMM state */
        isa |= DV_ISA_VNNI;
    return isa;
}

/* Not cached: sessions call it when they are created, never while a model runs, and a cache
 * shared by threads would need atomics the freestanding builds lack. */
uint32_t dv_isa_detect(void)
{
    return detect();
}

#else

/* No variants: one empty slot keeps the loops below free of always-false comparisons. */
static const dv_variant *const variants[] = {0};
#define N_VARIANTS (sizeof variants / sizeof variants[0])
static const dv_variant_packing *const packings[] = {0};
#define N_PACKINGS (sizeof packings / sizeof packings[0])

uint32_t dv_isa_detect(void)
{
    return 0;
}

#endif

const dv_variant *dv_variant_find(uint32_t opcode, uint32_t isa_mask, const dv_attrs *attrs,
                                  uint32_t n_in, const dv_shape *in)
{
    for (uint32_t i = 0; i < N_VARIANTS; i++) {
        const dv_variant *v = variants[i];
        if (v && v->opcode == opcode && (v->isa & isa_mask) == v->isa &&
            v->accepts(attrs, n_in, in))
            return v;
    }
    return 0;
}

uint32_t dv_variant_count(void)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < N_VARIANTS; i++)
        n += variants[i] != 0;
    return n;
}

const dv_variant *dv_variant_at(uint32_t i)
{
    for (uint32_t k = 0; k < N_VARIANTS; k++)
        if (variants[k] && i-- == 0)
            return variants[k];
    return 0;
}

const dv_variant_packing *dv_variant_packing_of(const dv_variant *variant)
{
    for (uint32_t i = 0; i < N_PACKINGS; i++)
        if (packings[i] && packings[i]->variant == variant)
            return packings[i];
    return 0;
}

const dv_variant_packing *dv_variant_packing_for(const dv_variant *variant, uint32_t n_in,
                                                 uint32_t constants)
{
    const dv_variant_packing *pk = variant ? dv_variant_packing_of(variant) : 0;
    if (!pk || (pk->inputs & ~constants) != 0)
        return 0;
    return n_in >= 32 || (pk->inputs >> n_in) == 0 ? pk : 0;
}
