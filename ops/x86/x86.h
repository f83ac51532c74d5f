/* Shared by the x86-64 kernel variants in ops/x86/: the target attributes that enable an
 * instruction set for one function, and small helpers. No file is built with -mavx2 or
 * -march: each function states the instructions it uses, so the library runs on any x86-64
 * and a variant is only called when dv_isa_detect found its instruction set. */
#ifndef DETVM_OPS_X86_H
#define DETVM_OPS_X86_H

#if defined(__x86_64__)

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define DV_TARGET_AVX2 __attribute__((target("avx2")))
#define DV_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define DV_INLINE static inline __attribute__((always_inline))
/* Unrolls the loop that follows completely, so that arrays of vectors live in registers. */
#define DV_UNROLL _Pragma("GCC unroll 16")

/* A 32-bit load from any address (packed buffers hold bytes). */
DV_INLINE int32_t dv_load32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lanes [0, n) of v (n <= 8) stored at dst as int8: two saturating packs clamp each lane to
 * [-128, 127], which is dv_store_i8. */
DV_TARGET_AVX2 DV_INLINE void dv_store_i8x8(int8_t *dst, __m256i v, size_t n)
{
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const int64_t bytes = _mm_cvtsi128_si64(_mm_packs_epi16(w, w));
    memcpy(dst, &bytes, n);
}

/* p rounded up to a multiple of 64 bytes. */
DV_INLINE void *dv_align64(void *p)
{
    return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

#endif
#endif
