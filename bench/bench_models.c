/* Time per inference of models: compile, then the median and minimum of N runs after a
 * warm-up. Usage: bench_models [-n RUNS] DIR...   Each DIR holds a CVM model (symbol.json,
 * params.bin, input.bin) or a TFLite model (model.tflite, and inputs/ whose first file in name
 * order is the input). Prints one line per model. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detvm.h"

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

/* The model's files: the .tflite and its first input, else the CVM case's three files. */
static void locate(const char *dir, char *model, char *params, char *input_path, size_t cap)
{
    snprintf(model, cap, "%s/model.tflite", dir);
    FILE *f = fopen(model, "rb");
    if (!f) {
        snprintf(model, cap, "%s/symbol.json", dir);
        snprintf(params, cap, "%s/params.bin", dir);
        snprintf(input_path, cap, "%s/input.bin", dir);
        return;
    }
    fclose(f);
    params[0] = 0;
    char inputs[1024], first[256] = "";
    snprintf(inputs, sizeof inputs, "%s/inputs", dir);
    DIR *d = opendir(inputs);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.' && (!first[0] || strcmp(e->d_name, first) < 0))
            snprintf(first, sizeof first, "%s", e->d_name);
    if (d)
        closedir(d);
    snprintf(input_path, cap, "%s/%s", inputs, first);
}

static int bench(const char *dir, int runs)
{
    char model[1400], params[1400], input_path[1400];
    locate(dir, model, params, input_path, sizeof model);
    uint8_t *bytes = NULL;
    size_t len = 0, in_len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    uint8_t *input = NULL, *out = NULL;
    double *t = NULL;
    double t0 = now_ms();
    int rc = detvm_load_model_files(model, params[0] ? params : NULL, NULL, &bytes, &len, &err) ||
             detvm_module_load(bytes, len, &m, &err) || detvm_session_new(m, &s, &err) ||
             detvm_read_file(input_path, &input, &in_len, &err);
    double compile_ms = now_ms() - t0;
    detvm_module_info info = {0};
    if (!rc) {
        detvm_module_get_info(m, &info);
        out = malloc(info.output_len + 1);
        t = calloc((size_t)runs, sizeof *t);
        rc = detvm_run(s, input, in_len, out, info.output_len, &err); /* warm-up */
    }
    for (int i = 0; i < runs && !rc; i++) {
        double start = now_ms();
        rc = detvm_run(s, input, in_len, out, info.output_len, &err);
        t[i] = now_ms() - start;
    }
    if (rc) {
        fprintf(stderr, "bench: %s: %s\n", dir, err.message);
    } else {
        qsort(t, (size_t)runs, sizeof *t, by_value);
        const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
        printf("%-24s median %9.2f ms  min %9.2f ms  (%d runs; compile and load %.0f ms; "
               "module %.1f MB; arena %.1f MB)\n",
               name, t[runs / 2], t[0], runs, compile_ms, len / 1e6, info.arena_bytes / 1e6);
    }
    free(t);
    free(out);
    free(input);
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
    return rc != 0;
}

int main(int argc, char **argv)
{
    int runs = 20, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else
            rc |= bench(argv[i], runs);
    }
    return rc;
}
