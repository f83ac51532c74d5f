/* Time per inference of models: compile, then the median and minimum of N runs after a
 * warm-up; and the time to load the module and make a session, with the weights pre-packed in
 * the module and without. Usage: bench_models [-n RUNS] DIR...   Each DIR holds a CVM model
 * (symbol.json, params.bin, input.bin), a TFLite model (model.tflite, and inputs/ whose first
 * file in name order is the input) or a kmodel (model.kmodel and inputs/ likewise). Prints two
 * lines per model. */
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

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* The model's files: the .tflite or .kmodel and its first input, else the CVM case's three
 * files. */
static void locate(const char *dir, char *model, char *params, char *input_path, size_t cap)
{
    snprintf(model, cap, "%s/model.tflite", dir);
    if (!exists(model))
        snprintf(model, cap, "%s/model.kmodel", dir);
    if (!exists(model)) {
        snprintf(model, cap, "%s/symbol.json", dir);
        snprintf(params, cap, "%s/params.bin", dir);
        snprintf(input_path, cap, "%s/input.bin", dir);
        return;
    }
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

/* The median of `runs` timed runs with the session's trace mode, after a warm-up. */
static int time_runs(detvm_session *s, detvm_trace_mode mode, const uint8_t *input,
                     size_t in_len, uint8_t *out, size_t out_len, int runs, double *t,
                     detvm_error *err)
{
    int rc = detvm_session_set_trace(s, mode, err) ||
             detvm_run(s, input, in_len, out, out_len, err);
    for (int i = 0; i < runs && !rc; i++) {
        double start = now_ms();
        rc = detvm_run(s, input, in_len, out, out_len, err);
        t[i] = now_ms() - start;
    }
    if (!rc)
        qsort(t, (size_t)runs, sizeof *t, by_value);
    return rc;
}

/* The median time to load the module and to make a session, over `runs` tries. */
static int time_load(const uint8_t *bytes, size_t len, int runs, double *load_ms,
                     double *session_ms, detvm_module_info *info, detvm_error *err)
{
    double *t = calloc(2 * (size_t)runs, sizeof *t);
    int rc = !t;
    for (int i = 0; i < runs && !rc; i++) {
        detvm_module *m = NULL;
        detvm_session *s = NULL;
        double t0 = now_ms();
        rc = detvm_module_load(bytes, len, &m, err);
        double t1 = now_ms();
        rc = rc || detvm_session_new(m, &s, err);
        t[i] = t1 - t0;
        t[runs + i] = now_ms() - t1;
        if (!rc && i == 0)
            detvm_module_get_info(m, info);
        detvm_session_free(s);
        detvm_module_free(m);
    }
    if (!rc) {
        qsort(t, (size_t)runs, sizeof *t, by_value);
        qsort(t + runs, (size_t)runs, sizeof *t, by_value);
        *load_ms = t[runs / 2];
        *session_ms = t[runs + runs / 2];
    }
    free(t);
    return rc;
}

/* Loading with and without pre-packed weights (detvm_compile_options.no_packs). */
static int bench_load(const char *name, const char *model, const char *params, int runs)
{
    double load[2] = {0}, session[2] = {0};
    size_t len[2] = {0};
    detvm_module_info info[2] = {{0}};
    detvm_error err = {0};
    int rc = 0;
    for (int no_packs = 0; no_packs < 2 && !rc; no_packs++) {
        detvm_compile_options options = {0};
        options.no_packs = no_packs;
        uint8_t *bytes = NULL;
        rc = detvm_load_model_files(model, params[0] ? params : NULL, &options, &bytes,
                                    &len[no_packs], &err) ||
             time_load(bytes, len[no_packs], runs, &load[no_packs], &session[no_packs],
                       &info[no_packs], &err);
        free(bytes);
    }
    if (rc) {
        fprintf(stderr, "bench: %s: %s\n", name, err.message);
        return 1;
    }
    printf("%-34s load + session: packed %7.2f + %6.2f ms (%u of %u packs used in place, "
           "%.1f MB; module %.1f MB)  without packs %7.2f + %6.2f ms (module %.1f MB)\n",
           name, load[0], session[0], info[0].n_packs_used, info[0].n_packs,
           info[0].packed_bytes / 1e6, len[0] / 1e6, load[1], session[1], len[1] / 1e6);
    return 0;
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
    double *t = NULL, *fast = NULL, *secure = NULL;
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
        fast = calloc((size_t)runs, sizeof *fast);
        secure = calloc((size_t)runs, sizeof *secure);
        rc = time_runs(s, DETVM_TRACE_OFF, input, in_len, out, info.output_len, runs, t, &err) ||
             time_runs(s, DETVM_TRACE_FAST, input, in_len, out, info.output_len, runs, fast,
                       &err) ||
             time_runs(s, DETVM_TRACE_SECURE, input, in_len, out, info.output_len, runs, secure,
                       &err);
    }
    if (rc) {
        fprintf(stderr, "bench: %s: %s\n", dir, err.message);
    } else {
        const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
        double base = t[runs / 2];
        printf("%-34s median %9.3f ms  min %9.3f ms  traced: fast %9.3f ms (%+.1f%%), secure "
               "%9.3f ms (%+.1f%%)  (%d runs; compile and load %.0f ms; module %.1f MB; arena "
               "%.1f MB)\n",
               name, base, t[0], fast[runs / 2], 100 * (fast[runs / 2] - base) / base,
               secure[runs / 2], 100 * (secure[runs / 2] - base) / base, runs, compile_ms,
               len / 1e6, info.arena_bytes / 1e6);
        rc = bench_load(name, model, params, runs);
    }
    free(t);
    free(fast);
    free(secure);
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
