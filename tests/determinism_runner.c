/* The determinism matrix's runner: built from the runtime core alone (vm/, ops/, hal/) in
 * each configuration of tests/determinism.sh, it runs a work directory that
 * determinism_prepare wrote and prints the lines of tests/determinism.h on stdout.
 *
 *   determinism_runner WORKDIR [--variant NAME] [--threads N]
 *
 * The kernels have one variant, the reference, and run on one thread. The options exist so
 * that the matrix can already loop over variants and thread counts: anything but
 * "reference" and 1 is refused (exit 2) until the core offers more. */
#include "determinism.h"

int main(int argc, char **argv)
{
    const char *work = NULL, *variant = "reference";
    long threads = 1;
    int failures, bad = 0;
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
    if (bad || !work) {
        fprintf(stderr, "usage: determinism_runner WORKDIR [--variant NAME] [--threads N]\n");
        return 2;
    }
    if (strcmp(variant, "reference") != 0 || threads != 1) {
        fprintf(stderr, "determinism_runner: variant %s with %ld threads is not available "
                        "(the core has the reference kernels, single-threaded)\n",
                variant, threads);
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
