/* The determinism matrix's runner: built from the runtime core alone (vm/, ops/, hal/) in
 * each configuration of tests/determinism.sh, it runs a work directory that
 * determinism_prepare wrote and prints the lines of tests/determinism.h on stdout.
 *
 *   determinism_runner WORKDIR [--variant ref|avx2|vnni] [--threads N]
 *
 * The variant level and the thread count reach every session through DETVM_KERNELS and
 * DETVM_THREADS, as they would in any program. A level this build or CPU lacks (avx2 and vnni
 * exist on x86-64 only) is not run: the runner says so and exits 3, which the matrix reports
 * as skipped rather than as a pass of the lower level. */
#include "determinism.h"

int main(int argc, char **argv)
{
    const char *work = NULL, *variant = "reference";
    long threads = 1;
    int failures, bad = 0;
    detvm_kernels level = DETVM_KERNELS_REFERENCE;
    char count[16];
    for (int i = 1; i < argc && !bad; i++) {
        if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc)
            variant = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !work)
            work = argv[i];
        else
            bad = 1;
    }
    if (bad || !work || detvm_kernels_parse(variant, &level, NULL) != DETVM_OK || threads < 1 ||
        threads > DETVM_MAX_THREADS) {
        fprintf(stderr, "usage: determinism_runner WORKDIR [--variant ref|avx2|vnni] "
                        "[--threads 1..%d]\n", DETVM_MAX_THREADS);
        return 2;
    }
    if (!detvm_kernels_available(level)) {
        printf("# variant %s: not in this build or CPU\n", variant);
        return 3;
    }
    snprintf(count, sizeof count, "%ld", threads);
    if (setenv("DETVM_KERNELS", variant, 1) != 0 || setenv("DETVM_THREADS", count, 1) != 0) {
        fprintf(stderr, "determinism_runner: setenv failed\n");
        return 2;
    }
    printf("# variant %s, %ld thread%s\n", variant, threads, threads == 1 ? "" : "s");
    failures = det_run_manifest(work, stdout);
    if (failures > 0)
        fprintf(stderr, "determinism_runner: %d items could not be run\n", failures);
    if (fflush(stdout) != 0 || failures != 0)
        return 1;
    return 0;
}
