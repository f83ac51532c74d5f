/* detvm bench: a model's time per inference against this core's peak, measured in the same run.
 *
 * The model is compiled and loaded, a session made (its threads and kernels set from --threads
 * and --kernels, else from the environment), two runs warm it up, and R timed runs (at least
 * 20) give the median. The model's multiply-accumulates (detvm_module_macs) over the median
 * give GMAC/s; the VNNI micro-kernel (cli/peak.c), on as many threads as the session, gives the
 * peak it is a fraction of. --layers K times every
 * instruction through the step hook in R more runs, and lists the K slowest with their own
 * GMAC/s, and the time of each op. Timing is for this command and bench/ only; no test times
 * anything. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "peak.h"

#define WARMUP_RUNS 2
#define MIN_RUNS 20

const char bench_help[] =
    "usage: detvm bench MODEL [PARAMS] [-i INPUT] [--threads N] [--kernels K] [--runs R]\n"
    "                   [--layers K] [--json] [--rounding double|single]\n"
    "Times MODEL (a .dvm module, a .tflite file, a kmodel, or a CVM graph JSON followed by its\n"
    "params): compiles and loads it, warms it up with 2 runs, then runs it R times (20 unless\n"
    "--runs says more; at least 20) and prints the median time, the model's multiply-\n"
    "accumulates per second (GMAC/s: its MACs, as detvm info counts them, over the median),\n"
    "this core's peak measured in the same run by an AVX-512 VNNI micro-kernel (vpdpbusd on\n"
    "registers, on as many threads as the session), and the fraction of it the model reaches.\n"
    "The AVX2 peak (vpmaddwd) is given too; a peak is 0 when the CPU lacks the instructions.\n"
    "-i INPUT     the input bytes (as detvm run takes them); else deterministic pseudo-random\n"
    "             values of the input's type.\n"
    "--threads N  the session's threads, 1..64 (else DETVM_THREADS, else 1).\n"
    "--kernels K  auto, ref, avx2 or vnni: the best kernel variants allowed (DETVM_KERNELS\n"
    "             narrows it further); the report says which each instruction ran with.\n"
    "--layers K   then times each instruction in R more runs (through the step hook) and lists\n"
    "             the K slowest with their kernel, GMAC/s and fraction of the peak, and each\n"
    "             op's total.\n"
    "--json       one JSON object with the keys ms_median, gmacs, peak_gmacs and peak_fraction,\n"
    "             and model, source, macs, runs, threads, kernels, kernels_used, ms_min, ms_max,\n"
    "             avx2_peak_gmacs, peak_kernel, load_ms; with --layers also layers and ops.\n";

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, size_t n)
{
    qsort(v, n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A count option's value: 1 when it is a whole number in [lo, hi]. */
static int count_value(const char *text, long lo, long hi, long *value)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi)
        return 0;
    *value = v;
    return 1;
}

/* The model's name for the report: the folder of a file named symbol.json, model.tflite,
 * model.kmodel or params.bin, else the file's name. */
static void model_name(const char *path, char *name, size_t cap)
{
    const char *slash = strrchr(path, '/');
    const char *file = slash ? slash + 1 : path;
    if (slash && (!strcmp(file, "symbol.json") || !strcmp(file, "model.tflite") ||
                  !strcmp(file, "model.kmodel"))) {
        const char *start = slash;
        while (start > path && start[-1] != '/')
            start--;
        snprintf(name, cap, "%.*s", (int)(slash - start), start);
        if (name[0])
            return;
    }
    snprintf(name, cap, "%s", file);
}

/* Deterministic input bytes within the input's type: an LCG's high bytes, or floats in [0, 1)
 * for a float32 input. The run clamps CVM inputs to their precision. */
static void fill_input(const detvm_module *m, uint8_t *input, size_t len)
{
    detvm_io_desc io;
    detvm_module_io(m, 0, 0, &io, NULL);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        input[i] = (uint8_t)(state >> 56);
    }
    if (io.dtype == DETVM_DTYPE_FLOAT32)
        for (size_t i = 0; i + 4 <= len; i += 4) {
            float f = (float)(input[i] | input[i + 1] << 8) / 65536.0f;
            uint32_t bits;
            memcpy(&bits, &f, 4);
            for (int b = 0; b < 4; b++) /* little-endian, as detvm_run takes them */
                input[i + b] = (uint8_t)(bits >> (8 * b));
        }
}

/* The step hook's record: each instruction's time in each profiled run. */
typedef struct {
    double *ms;                 /* runs x n_layers */
    uint32_t n_layers, run;
    double last;
} profile;

static int time_step(void *user, const detvm_step *step)
{
    profile *p = user;
    double t = now_ms();
    if (step->index < p->n_layers)
        p->ms[(size_t)p->run * p->n_layers + step->index] = t - p->last;
    p->last = now_ms();
    return 0;
}

typedef struct {
    uint32_t index;
    double ms;
} layer_time;

/* A layer name for a 36-column field: its end, where TFLite names say what the layer is. */
static const char *name_tail(const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    if (n <= 36)
        return name;
    snprintf(buf, cap, "...%s", name + n - 33);
    return buf;
}

static int slowest_first(const void *a, const void *b)
{
    const layer_time *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

typedef struct {
    const char *op;
    uint32_t count;
    double ms;
    uint64_t macs;
} op_total;

/* A MAC count in words: 288, 7.16 M, 1.814 G. */
static void macs_text(uint64_t macs, char *buf, size_t cap)
{
    if (macs >= 1000000000ull)
        snprintf(buf, cap, "%.3f G", macs / 1e9);
    else if (macs >= 1000000ull)
        snprintf(buf, cap, "%.2f M", macs / 1e6);
    else
        snprintf(buf, cap, "%llu", (unsigned long long)macs);
}

static double gmacs_of(uint64_t macs, double ms) { return ms > 0 ? macs / (ms * 1e6) : 0; }

/* --layers: R profiled runs, then the K slowest layers and every op's total, printed or added
 * to doc. */
static int profile_layers(detvm_session *s, const detvm_module *m, const uint8_t *input,
                          size_t in_len, uint8_t *output, size_t out_len, long runs, long top,
                          double peak, json_t *doc)
{
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    uint32_t n = info.n_instructions;
    profile p = {calloc((size_t)runs * n + 1, sizeof(double)), n, 0, 0};
    layer_time *layers = calloc((size_t)n + 1, sizeof *layers);
    double *column = calloc((size_t)runs + 1, sizeof *column);
    op_total *ops = calloc((size_t)n + 1, sizeof *ops);
    int rc = 0;
    if (!p.ms || !layers || !column || !ops) {
        fprintf(stderr, "detvm bench: out of memory\n");
        rc = EXIT_RUNTIME;
        goto done;
    }
    detvm_error err = {0};
    detvm_session_set_hook(s, time_step, &p);
    detvm_session_set_hook_data(s, 0); /* timing needs no element, and views cost time */
    for (p.run = 0; p.run < (uint32_t)runs; p.run++) {
        p.last = now_ms();
        if (detvm_run(s, input, in_len, output, out_len, &err)) {
            detvm_session_set_hook(s, NULL, NULL);
            rc = fail(&err);
            goto done;
        }
    }
    detvm_session_set_hook(s, NULL, NULL);
    uint32_t n_ops = 0;
    double total = 0;
    for (uint32_t k = 0; k < n; k++) {
        for (long r = 0; r < runs; r++)
            column[r] = p.ms[(size_t)r * n + k];
        layers[k] = (layer_time){k, median_of(column, (size_t)runs)};
        total += layers[k].ms;
        detvm_layer_desc l;
        detvm_module_layer(m, k, &l, NULL);
        uint32_t o = 0;
        while (o < n_ops && strcmp(ops[o].op, l.op) != 0)
            o++;
        if (o == n_ops)
            ops[n_ops++] = (op_total){l.op, 0, 0, 0};
        ops[o].count++;
        ops[o].ms += layers[k].ms;
        ops[o].macs += detvm_layer_macs(m, k);
    }
    qsort(layers, n, sizeof *layers, slowest_first);
    if ((uint32_t)top > n)
        top = n;
    json_t *jl = json_array(), *jo = json_array();
    if (!doc)
        printf("  slowest %ld of %u layers (median of %ld runs each; they add up to %.3f ms):\n"
               "  %5s  %-20s %-36s %-10s %10s %6s %14s %9s %7s\n",
               top, n, runs, total, "index", "op", "name", "kernel", "ms", "%", "MACs", "GMAC/s",
               "% peak");
    for (long i = 0; i < top; i++) {
        char tail[40];
        detvm_layer_desc l;
        detvm_module_layer(m, layers[i].index, &l, NULL);
        uint64_t macs = detvm_layer_macs(m, layers[i].index);
        const char *kernel = detvm_session_kernel(s, layers[i].index);
        double g = gmacs_of(macs, layers[i].ms), share = total > 0 ? layers[i].ms / total : 0;
        if (doc)
            json_array_append_new(
                jl, json_pack("{s:i, s:s, s:s, s:s, s:f, s:I, s:f, s:f}", "index",
                              (int)layers[i].index, "op", l.op, "name", l.name, "kernel",
                              kernel ? kernel : "", "ms",
                              layers[i].ms, "macs", (json_int_t)macs, "gmacs", g,
                              "peak_fraction", peak > 0 ? g / peak : 0.0));
        else
            printf("  %5u  %-20s %-36s %-10s %10.4f %6.1f %14llu %9.2f %7.2f\n",
                   layers[i].index, l.op, name_tail(l.name, tail, sizeof tail),
                   kernel ? kernel : "", layers[i].ms, 100 * share, (unsigned long long)macs, g,
                   peak > 0 ? 100 * g / peak : 0.0);
    }
    if (!doc)
        printf("  by op:\n  %-20s %6s %10s %6s %14s %9s %7s\n", "op", "layers", "ms", "%", "MACs",
               "GMAC/s", "% peak");
    for (uint32_t o = 0; o < n_ops; o++) {
        double g = gmacs_of(ops[o].macs, ops[o].ms);
        if (doc)
            json_array_append_new(
                jo, json_pack("{s:s, s:i, s:f, s:I, s:f, s:f}", "op", ops[o].op, "layers",
                              (int)ops[o].count, "ms", ops[o].ms, "macs",
                              (json_int_t)ops[o].macs, "gmacs", g, "peak_fraction",
                              peak > 0 ? g / peak : 0.0));
        else
            printf("  %-20s %6u %10.4f %6.1f %14llu %9.2f %7.2f\n", ops[o].op, ops[o].count,
                   ops[o].ms, total > 0 ? 100 * ops[o].ms / total : 0,
                   (unsigned long long)ops[o].macs, g, peak > 0 ? 100 * g / peak : 0.0);
    }
    if (doc) {
        json_object_set_new(doc, "layers", jl);
        json_object_set_new(doc, "ops", jo);
    } else {
        json_decref(jl);
        json_decref(jo);
    }
done:
    free(p.ms);
    free(layers);
    free(column);
    free(ops);
    return rc;
}

/* The options of bench alone, taken out of argv (the rest goes to parse_args). */
typedef struct {
    long threads, runs, layers;
    const char *kernels;        /* --kernels, or NULL */
} bench_options;

static int take_options(int argc, char **argv, char **rest, int *n_rest, bench_options *o)
{
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int is_kernels = !strcmp(s, "--kernels");
        long *slot = !strcmp(s, "--threads") ? &o->threads
                     : !strcmp(s, "--runs")  ? &o->runs
                     : !strcmp(s, "--layers") ? &o->layers
                                              : NULL;
        if (!slot && !is_kernels) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "detvm bench: option %s needs a value (see detvm bench --help)\n", s);
            return EXIT_INVALID;
        }
        const char *v = argv[++i];
        detvm_kernels level;
        if (is_kernels && detvm_kernels_parse(v, &level, NULL) != DETVM_OK)
            return usage_error("bench", "--kernels takes auto, ref, avx2 or vnni");
        if (is_kernels)
            o->kernels = v;
        if (slot == &o->threads && !count_value(v, 1, DETVM_MAX_THREADS, slot))
            return usage_error("bench", "--threads takes a count from 1 to 64");
        if (slot == &o->runs && !count_value(v, MIN_RUNS, 1000000, slot))
            return usage_error("bench", "--runs takes a count of at least 20");
        if (slot == &o->layers && !count_value(v, 1, 1000000, slot))
            return usage_error("bench", "--layers takes a positive count");
    }
    return 0;
}

/* The session's threads and kernels from the options (else the environment's). */
static int configure(detvm_session *s, const bench_options *o)
{
    detvm_error err = {0};
    detvm_kernels level = DETVM_KERNELS_AUTO;
    if (o->kernels && (detvm_kernels_parse(o->kernels, &level, &err) ||
                       detvm_session_set_kernels(s, level, &err)))
        return fail(&err);
    if (o->threads && detvm_session_set_threads(s, (uint32_t)o->threads, &err))
        return fail(&err);
    return 0;
}

/* Which kernels the instructions run with, as "vnni 20, reference 58" (in order of first use). */
static void kernels_used(const detvm_session *s, uint32_t n, char *buf, size_t cap)
{
    const char *names[16];
    uint32_t counts[16], n_names = 0;
    for (uint32_t k = 0; k < n; k++) {
        const char *name = detvm_session_kernel(s, k);
        if (!name)
            break;
        uint32_t i = 0;
        while (i < n_names && strcmp(names[i], name) != 0)
            i++;
        if (i == n_names && n_names < 16) {
            names[n_names] = name;
            counts[n_names++] = 0;
        }
        if (i < n_names)
            counts[i]++;
    }
    buf[0] = 0;
    for (uint32_t i = 0, used = 0; i < n_names && used < cap; i++)
        used += (uint32_t)snprintf(buf + used, cap - used, "%s%s %u", i ? ", " : "", names[i],
                                   counts[i]);
}

int cmd_bench(int argc, char **argv)
{
    bench_options o = {0, MIN_RUNS, 0, NULL};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int n_rest = 0;
    if (!rest)
        return EXIT_RUNTIME;
    int rc = take_options(argc, argv, rest, &n_rest, &o);
    args a;
    if (!rc)
        rc = parse_args("bench", n_rest, rest, &a);
    free(rest);
    if (rc)
        return rc;
    if (a.n_outputs || a.receipt || a.key || a.pub || a.peer || a.step_text || a.record ||
        a.store_input || a.float_io || a.rerun)
        return usage_error("bench", "takes MODEL [PARAMS], -i, --threads, --kernels, --runs, "
                                    "--layers, --json and --rounding only");
    const long runs = o.runs, top = o.layers;
    const char *env_kernels = getenv("DETVM_KERNELS");
    const char *kernels = o.kernels                   ? o.kernels
                          : env_kernels && *env_kernels ? env_kernels
                                                        : "auto";

    uint8_t *bytes = NULL, *input = NULL, *output = NULL;
    size_t in_len = 0;
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    double *t = calloc((size_t)runs, sizeof *t);
    if (!t)
        return EXIT_RUNTIME;
    double t0 = now_ms();
    if ((rc = open_model(&a, &bytes, &m)))
        goto done;
    double load_ms = now_ms() - t0;
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    if (a.input) {
        if (detvm_read_file(a.input, &input, &in_len, &err)) {
            rc = fail(&err);
            goto done;
        }
    } else {
        in_len = (size_t)info.input_len;
        input = malloc(in_len + 1);
        if (!input) {
            rc = EXIT_RUNTIME;
            goto done;
        }
        fill_input(m, input, in_len);
    }
    output = malloc(info.output_len + 1);
    if (!output || detvm_session_new(m, &s, &err)) {
        rc = output ? fail(&err) : EXIT_RUNTIME;
        goto done;
    }
    if ((rc = configure(s, &o)))
        goto done;
    const long used_threads = (long)detvm_session_threads(s);
    char used[256];
    kernels_used(s, info.n_instructions, used, sizeof used);
    for (int i = 0; i < WARMUP_RUNS; i++)
        if (detvm_run(s, input, in_len, output, info.output_len, &err)) {
            rc = fail(&err);
            goto done;
        }
    for (long i = 0; i < runs; i++) {
        double start = now_ms();
        if (detvm_run(s, input, in_len, output, info.output_len, &err)) {
            rc = fail(&err);
            goto done;
        }
        t[i] = now_ms() - start;
    }
    double ms = median_of(t, (size_t)runs);
    uint64_t macs = detvm_module_macs(m);
    double gmacs = gmacs_of(macs, ms);
    peak_rate vnni, avx2;
    peak_vnni((uint32_t)used_threads, &vnni);
    peak_avx2((uint32_t)used_threads, &avx2);
    double fraction = vnni.gmacs > 0 ? gmacs / vnni.gmacs : 0;
    char name[256];
    model_name(a.model, name, sizeof name);

    json_t *doc = NULL;
    if (a.json) {
        doc = json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:I, s:i, s:i, s:s, s:f, s:f, s:f, "
                        "s:s, s:f, s:s}",
                        "model", name, "source", info.source_format, "ms_median", ms, "gmacs",
                        gmacs, "peak_gmacs", vnni.gmacs, "peak_fraction", fraction, "macs",
                        (json_int_t)macs, "runs", (int)runs, "threads", (int)used_threads,
                        "kernels", kernels, "ms_min", t[0], "ms_max",
                        t[runs - 1], "avx2_peak_gmacs", avx2.gmacs, "peak_kernel",
                        vnni.kernel ? vnni.kernel : "none", "load_ms", load_ms,
                        "kernels_used", used);
    } else {
        char count[32];
        macs_text(macs, count, sizeof count);
        printf("%s: median %.4f ms, %.2f GMAC/s, %.2f %% of the VNNI peak %.1f GMAC/s (%ld "
               "thread%s, kernels %s)\n",
               name, ms, gmacs, 100 * fraction, vnni.gmacs, used_threads,
               used_threads == 1 ? "" : "s", kernels);
        printf("  %s MACs in %u layers (%s); %ld runs after %d warm-up runs, min %.4f ms, max "
               "%.4f ms; peak: %s; AVX2 peak (vpmaddwd) %.1f GMAC/s\n  kernels used: %s\n",
               count, info.n_instructions, info.source_format, runs, WARMUP_RUNS, t[0],
               t[runs - 1], vnni.kernel ? vnni.kernel : "no VNNI here", avx2.gmacs, used);
    }
    if (top)
        rc = profile_layers(s, m, input, in_len, output, info.output_len, runs, top,
                            vnni.gmacs, doc);
    if (doc) {
        if (!rc) {
            char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
            puts(text);
            free(text);
        }
        json_decref(doc);
    }
done:
    free(t);
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
    free(input);
    free(output);
    return rc;
}
