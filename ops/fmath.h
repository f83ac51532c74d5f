/* Deterministic single-precision functions for the float layers of imported kmodels.
 *
 * The runtimes that produced the kmodel goldens called the C library (expf, sqrtf, roundf,
 * floorf, ceilf, logf, sinf, cosf). The basic operations + - * / are exact IEEE-754
 * everywhere, but library functions are not: expf is not correctly rounded, and its last bit
 * depends on the library, its version and even the CPU it selects code for. detvm therefore
 * carries its own versions, built from basic operations and integer bit manipulation only, so
 * the runtime core needs no libm and gives the same bits on every host (checked on x86-64,
 * i386 with SSE, aarch64 and s390x):
 *
 *   dv_expf   bit for bit glibc's expf (2.28 and later: the algorithm of Arm's optimized
 *             routines, 32-entry table of 2^(i/32), degree-3 polynomial in double) as its
 *             x86-64 FMA build computes it, on every float. glibc's SSE2-only build differs
 *             from it on two inputs only (tests/test_ops_k210_sdk.c lists them).
 *   dv_sqrtf  correctly rounded (IEEE-754 requires it of sqrtf, so every conforming sqrtf).
 *   dv_roundf half-way cases away from zero, as C's roundf.
 *   dv_floorf, dv_ceilf  as C's floorf and ceilf (exact, as every libm).
 *   dv_logf   correctly rounded (glibc's logf is not: it may differ from this in the last bit).
 *   dv_sinf, dv_cosf  correctly rounded for every float (glibc's sinf/cosf are not always);
 *             logf, sinf and cosf are computed in double-double arithmetic, then rounded once.
 *   dv_f32_to_i32_x86  (int32_t)x as x86-64 computes it (cvttss2si): truncation, and
 *             INT32_MIN for NaN and for values outside the int32 range (where C leaves the
 *             conversion undefined).
 *
 * NaN results are the quiet NaN 0x7fc00000; hosts disagree on NaN payloads. The tests compare
 * them with the C library: tests/test_ops_k210_sdk.c and tests/test_ops_nncase.c. */
#ifndef DETVM_OPS_FMATH_H
#define DETVM_OPS_FMATH_H

#include <stdint.h>
#include <string.h>

float dv_expf(float x);
float dv_sqrtf(float x);
float dv_roundf(float x);
float dv_floorf(float x);
float dv_ceilf(float x);
float dv_logf(float x);
float dv_sinf(float x);
float dv_cosf(float x);
int32_t dv_f32_to_i32_x86(float x);

static inline uint32_t dv_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float dv_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline int dv_f32_is_nan(float f) { return (dv_f32_bits(f) & 0x7fffffffu) > 0x7f800000u; }

#define DV_F32_QNAN 0x7fc00000u

#endif
