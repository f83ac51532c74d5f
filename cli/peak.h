/* This core's peak int8 multiply-accumulate rates, measured by micro-kernels (cli/peak.c),
 * for `detvm bench` to report a model's speed as a fraction of them. */
#ifndef DETVM_CLI_PEAK_H
#define DETVM_CLI_PEAK_H

#include <stdint.h>

typedef struct {
    double gmacs;           /* billions of multiply-accumulates per second, all threads */
    double per_thread;      /* the same per thread */
    uint32_t threads;
    const char *kernel;     /* what was timed, e.g. "vpdpbusd zmm" */
} peak_rate;

/* The rate of AVX-512 VNNI vpdpbusd (u8 x s8, 64 MACs per 512-bit instruction) on `threads`
 * threads at once, each a loop on registers with 16 independent accumulators, which keeps
 * every port that executes it busy. 0 when the CPU or the OS lacks it, or off x86-64. */
int peak_vnni(uint32_t threads, peak_rate *rate);
/* The rate of AVX2 vpmaddwd (s16 x s16 pairs, 16 MACs per 256-bit instruction, with the
 * vpaddd that accumulates; 12 accumulators), the exact AVX2 route of the int8 kernels. 0 when
 * absent. */
int peak_avx2(uint32_t threads, peak_rate *rate);

#endif
