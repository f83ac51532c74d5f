/* Peak multiply-accumulate rates of this core (cli/peak.h): tight loops on registers, timed.
 *
 * x86-64 only, with per-function target attributes (never global -m flags: the program must
 * run on any x86-64), and only called when the CPU and the OS have the instruction set. The
 * loops keep 16 (AVX2: 12) accumulators, each a dependency chain of its own, so that the
 * instruction's latency (about 5 cycles) never limits it: every port that executes it stays
 * busy. The loop bodies are asm, so the compiler can neither hoist, fold nor pad them with
 * register moves. */
#include "peak.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ACCUMULATORS 16
#define MIN_SECONDS 0.02   /* one timed trial lasts at least this long */
#define TRIALS 5           /* the fastest counts: the others met interrupts or neighbours */

typedef uint64_t (*peak_loop)(uint64_t iterations, int32_t seed);

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
#include <immintrin.h>

static volatile uint32_t peak_sink;

/* 64 u8 x s8 products into 16 int32 lanes per vpdpbusd; returns the MACs done. The loop body
 * is asm, so that it is exactly the 16 instructions and the loop counter. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) static uint64_t
vnni_loop(uint64_t iterations, int32_t seed)
{
    __m512i a = _mm512_set1_epi32(seed), b = _mm512_set1_epi32(seed ^ 0x01010101);
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
            c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0,
            c15 = c0;
    /* two asm statements of 8 (an asm takes at most 30 operands, and "+v" counts twice) */
#define DPBUSD8(x0, x1, x2, x3, x4, x5, x6, x7)                                                 \
    __asm__("vpdpbusd %[b], %[a], %[d0]\n\tvpdpbusd %[b], %[a], %[d1]\n\t"                        \
            "vpdpbusd %[b], %[a], %[d2]\n\tvpdpbusd %[b], %[a], %[d3]\n\t"                        \
            "vpdpbusd %[b], %[a], %[d4]\n\tvpdpbusd %[b], %[a], %[d5]\n\t"                        \
            "vpdpbusd %[b], %[a], %[d6]\n\tvpdpbusd %[b], %[a], %[d7]"                            \
            : [d0] "+v"(x0), [d1] "+v"(x1), [d2] "+v"(x2), [d3] "+v"(x3), [d4] "+v"(x4),          \
              [d5] "+v"(x5), [d6] "+v"(x6), [d7] "+v"(x7)                                         \
            : [a] "v"(a), [b] "v"(b))
    for (uint64_t n = 0; n < iterations; n++) {
        DPBUSD8(c0, c1, c2, c3, c4, c5, c6, c7);
        DPBUSD8(c8, c9, c10, c11, c12, c13, c14, c15);
    }
#undef DPBUSD8
    __m512i s = _mm512_add_epi32(
        _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                         _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7))),
        _mm512_add_epi32(
            _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)),
            _mm512_add_epi32(_mm512_add_epi32(c12, c13), _mm512_add_epi32(c14, c15))));
    uint32_t lanes[16], sum = 0; /* unsigned: the sums wrap (GCC's reduce_add would not) */
    _mm512_storeu_si512((void *)lanes, s);
    for (int i = 0; i < 16; i++)
        sum += lanes[i];
    peak_sink = sum;
    return iterations * ACCUMULATORS * 64;
}

/* 16 s16 x s16 products, summed in pairs into 8 int32 lanes, per vpmaddwd, and the vpaddd
 * that accumulates them: 12 accumulators (AVX2 has 16 registers; the products go through two
 * temporaries, which renaming makes independent). */
__attribute__((target("avx2"))) static uint64_t avx2_loop(uint64_t iterations, int32_t seed)
{
    __m256i a = _mm256_set1_epi32(seed), b = _mm256_set1_epi32(seed ^ 0x00010001), t0, t1;
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
            c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
#define MADD(t, c) "vpmaddwd %[b], %[a], %[" #t "]\n\tvpaddd %[" #t "], %[" #c "], %[" #c "]\n\t"
    for (uint64_t n = 0; n < iterations; n++)
        __asm__(MADD(t0, c0) MADD(t1, c1) MADD(t0, c2) MADD(t1, c3) MADD(t0, c4) MADD(t1, c5)
                MADD(t0, c6) MADD(t1, c7) MADD(t0, c8) MADD(t1, c9) MADD(t0, c10) MADD(t1, c11)
                : [c0] "+x"(c0), [c1] "+x"(c1), [c2] "+x"(c2), [c3] "+x"(c3), [c4] "+x"(c4),
                  [c5] "+x"(c5), [c6] "+x"(c6), [c7] "+x"(c7), [c8] "+x"(c8), [c9] "+x"(c9),
                  [c10] "+x"(c10), [c11] "+x"(c11), [t0] "=&x"(t0), [t1] "=&x"(t1)
                : [a] "x"(a), [b] "x"(b));
#undef MADD
    __m256i s = _mm256_add_epi32(
        _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                         _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7))),
        _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
    uint32_t lanes[8];
    _mm256_storeu_si256((__m256i *)(void *)lanes, s);
    peak_sink = lanes[0] + lanes[7];
    return iterations * 12 * 16;
}

static int has_vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#else
static uint64_t vnni_loop(uint64_t iterations, int32_t seed) { return 0; }
static uint64_t avx2_loop(uint64_t iterations, int32_t seed) { return 0; }
static int has_vnni(void) { return 0; }
static int has_avx2(void) { return 0; }
#endif

typedef struct {
    peak_loop loop;
    uint64_t iterations;
    pthread_barrier_t *start;
    double rate;                /* MACs per second */
} worker;

static void *run_worker(void *p)
{
    worker *w = p;
    if (w->start)
        pthread_barrier_wait(w->start);
    double t0 = now_seconds();
    uint64_t macs = w->loop(w->iterations, 0x01020304);
    double t = now_seconds() - t0;
    w->rate = t > 0 ? (double)macs / t : 0;
    return NULL;
}

/* The loop on `threads` threads at once, each timed: the sum of their rates. */
static double trial(peak_loop loop, uint64_t iterations, uint32_t threads)
{
    worker w[64];
    if (threads <= 1) {
        w[0] = (worker){loop, iterations, NULL, 0};
        run_worker(&w[0]);
        return w[0].rate;
    }
    pthread_t id[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, threads);
    uint32_t started = 0;
    for (; started < threads; started++) {
        w[started] = (worker){loop, iterations, &start, 0};
        if (pthread_create(&id[started], NULL, run_worker, &w[started]) != 0)
            break;
    }
    double sum = 0;
    if (started < threads) {   /* the barrier would never open: run the missing ones here */
        for (uint32_t i = started; i < threads; i++) {
            w[i] = (worker){loop, iterations, &start, 0};
            run_worker(&w[i]);
        }
    }
    for (uint32_t i = 0; i < started; i++)
        pthread_join(id[i], NULL);
    for (uint32_t i = 0; i < threads; i++)
        sum += w[i].rate;
    pthread_barrier_destroy(&start);
    return sum;
}

static int measure(peak_loop loop, uint32_t threads, const char *kernel, peak_rate *rate)
{
    memset(rate, 0, sizeof *rate);
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    /* long enough for one trial to take MIN_SECONDS (this also ramps the clock up) */
    uint64_t iterations = 1 << 14;
    for (;;) {
        double t0 = now_seconds();
        loop(iterations, 0x01020304);
        if (now_seconds() - t0 >= MIN_SECONDS || iterations >= (1ull << 40))
            break;
        iterations *= 2;
    }
    double best = 0;
    for (int i = 0; i < TRIALS; i++) {
        double r = trial(loop, iterations, threads);
        if (r > best)
            best = r;
    }
    rate->gmacs = best / 1e9;
    rate->per_thread = rate->gmacs / threads;
    rate->threads = threads;
    rate->kernel = kernel;
    return 1;
}

int peak_vnni(uint32_t threads, peak_rate *rate)
{
    if (!has_vnni()) {
        memset(rate, 0, sizeof *rate);
        return 0;
    }
    return measure(vnni_loop, threads, "vpdpbusd zmm, 16 accumulators", rate);
}

int peak_avx2(uint32_t threads, peak_rate *rate)
{
    if (!has_avx2()) {
        memset(rate, 0, sizeof *rate);
        return 0;
    }
    return measure(avx2_loop, threads, "vpmaddwd + vpaddd ymm, 12 accumulators", rate);
}
