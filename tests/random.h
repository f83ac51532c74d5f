/* The tests' random numbers: xorshift64. Each test seeds rng_state itself (and DETVM_TEST_SEED
 * may replace the seed), so that a failing instance can be drawn again. */
#ifndef DETVM_TESTS_RANDOM_H
#define DETVM_TESTS_RANDOM_H

#include <stdint.h>

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

#endif
