/* A minimal test harness: CHECK counts, and check_summary prints the counts in the line
 * tests/run.sh adds up ("N passed, N failed"). */
#ifndef DETVM_TESTS_CHECK_H
#define DETVM_TESTS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed, check_skipped;

/* Prints a failure's explanation; not a format-checked function, so CHECK(x) may have none. */
static void check_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (cond) {                                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
            check_note("" __VA_ARGS__);                                               \
        }                                                                             \
    } while (0)

#define SKIP(...)                                                                     \
    do {                                                                              \
        check_skipped++;                                                              \
        fprintf(stderr, "skip: " __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                          \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed, %d skipped\n", name, check_passed, check_failed,
           check_skipped);
    return check_failed ? 1 : 0;
}

#endif
