/* `detvm bench` and the memory figures of `detvm info`, on the fixtures: usage errors, the
 * --json keys and their consistency, --layers. Nothing here judges a time: speed is measured in
 * bench/, never in tests. */
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"

#define SYMBOL "fixtures/cvm/chain_23/symbol.json"
#define PARAMS "fixtures/cvm/chain_23/params.bin"
#define INPUT "fixtures/cvm/chain_23/input.bin"
#define TFLITE "fixtures/tflite/hello_world_int8/model.tflite"

/* The module's MACs and memory plan, through the library. */
static int library_figures(const char *model, const char *params, uint64_t *macs,
                           detvm_memory_plan *plan)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    int ok = detvm_load_model_files(model, params, NULL, &bytes, &len, &err) == DETVM_OK &&
             detvm_module_load(bytes, len, &m, &err) == DETVM_OK &&
             detvm_module_memory_plan(m, plan, &err) == DETVM_OK;
    CHECK(ok, "%s: %s", model, err.message);
    if (ok)
        *macs = detvm_module_macs(m);
    detvm_module_free(m);
    free(bytes);
    return ok;
}

static void test_usage_errors(void)
{
    result r = {0};
    static const char *const bad[][4] = {
        {"--threads", "0", NULL},   {"--threads", "65", NULL}, {"--threads", "two", NULL},
        {"--runs", "19", NULL},     {"--runs", "x", NULL},     {"--layers", "0", NULL},
        {"--layers", "-3", NULL},   {"--no-such-option", NULL}, {"-o", "/tmp/x", NULL},
        {"--record", NULL},         {"--kernels", "fast", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[8] = {"bench", SYMBOL, PARAMS};
        int n = 3;
        for (int j = 0; bad[i][j]; j++)
            argv[n++] = bad[i][j];
        argv[n] = NULL;
        cli_argv(&r, argv);
        CHECK(r.status == 1 && one_line_message(r.err) && r.out[0] == 0,
              "bench %s %s: exit %d, stderr [%s]", bad[i][0], bad[i][1] ? bad[i][1] : "",
              r.status, r.err);
    }
    CLI(&r, "bench", SYMBOL, PARAMS, "--threads");
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "needs a value"),
          "--threads without its value: %d %s", r.status, r.err);
    CLI(&r, "bench");
    CHECK(r.status == 1 && one_line_message(r.err), "bench without a model: %d %s", r.status,
          r.err);
    CLI(&r, "bench", SYMBOL, PARAMS, "extra");
    CHECK(r.status == 1 && one_line_message(r.err), "bench with too many arguments: %d %s",
          r.status, r.err);
    CLI(&r, "bench", "fixtures/no/such/model.tflite");
    CHECK(r.status == 1 || r.status == 2, "a missing model: %d %s", r.status, r.err);
    CHECK(one_line_message(r.err), "a missing model: one line: %s", r.err);
    CLI(&r, "bench", SYMBOL, PARAMS, "-i", PARAMS);
    CHECK(r.status == 1 && one_line_message(r.err), "an input of the wrong size: %d %s",
          r.status, r.err);
    CLI(&r, "bench", "--help");
    CHECK(r.status == 0 && strncmp(r.out, "usage: detvm bench ", 19) == 0,
          "bench --help: %d %s", r.status, r.out);
    CLI(&r, "--help");
    CHECK(strstr(r.out, "  bench\n") != NULL, "detvm --help lists bench");
    free(r.out);
    free(r.err);
}

static double number(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_number(v) ? json_number_value(v) : -1;
}

/* --json: the four keys the issue names, and the others, consistent with each other. */
static void test_json(const char *label, const char *const *argv, const char *model,
                      const char *params, int threads)
{
    result r = {0};
    uint64_t macs = 0;
    detvm_memory_plan plan;
    library_figures(model, params, &macs, &plan);
    cli_argv(&r, argv);
    CHECK(r.status == 0 && r.err[0] == 0, "%s: exit %d, stderr %s", label, r.status, r.err);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    CHECK(json_is_object(doc), "%s: the output parses: %s", label, jerr.text);
    static const char *const keys[] = {"ms_median", "gmacs", "peak_gmacs", "peak_fraction",
                                       "macs", "runs", "threads", "ms_min", "ms_max",
                                       "avx2_peak_gmacs"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK(json_is_number(json_object_get(doc, keys[i])), "%s: %s is a number", label,
              keys[i]);
    CHECK(json_is_string(json_object_get(doc, "model")) &&
              json_is_string(json_object_get(doc, "kernels")) &&
              json_is_string(json_object_get(doc, "kernels_used")),
          "%s: model, kernels and kernels_used are strings", label);
    double ms = number(doc, "ms_median"), gmacs = number(doc, "gmacs");
    double peak = number(doc, "peak_gmacs"), fraction = number(doc, "peak_fraction");
    CHECK(ms > 0 && number(doc, "ms_min") <= ms && ms <= number(doc, "ms_max"),
          "%s: min <= median <= max", label);
    CHECK(number(doc, "macs") == (double)macs, "%s: macs %.0f, the library counts %llu", label,
          number(doc, "macs"), (unsigned long long)macs);
    CHECK(gmacs >= 0 && fabs(gmacs - macs / (ms * 1e6)) <= 1e-3 * gmacs + 1e-9,
          "%s: gmacs is the MACs over the median", label);
    CHECK(peak >= 0 && (peak == 0 ? fraction == 0 : fabs(fraction - gmacs / peak) <= 1e-3 * fraction + 1e-9),
          "%s: peak_fraction is gmacs over peak_gmacs", label);
    CHECK(number(doc, "runs") >= 20, "%s: at least 20 runs", label);
    CHECK(number(doc, "threads") == threads, "%s: %d threads", label, threads);
    json_decref(doc);
    free(r.out);
    free(r.err);
}

static void test_layers(void)
{
    result r = {0};
    CLI(&r, "bench", SYMBOL, PARAMS, "-i", INPUT, "--layers", "3", "--json");
    json_t *doc = json_loads(r.out, 0, NULL);
    json_t *layers = json_object_get(doc, "layers"), *ops = json_object_get(doc, "ops");
    CHECK(r.status == 0 && json_is_array(layers) && json_array_size(layers) == 3,
          "--layers 3: three layers: %d %s", r.status, r.err);
    CHECK(json_is_array(ops) && json_array_size(ops) >= 1, "--layers: the ops' totals");
    double prev = 1e300;
    size_t i;
    json_t *l;
    int ordered = 1, complete = 1;
    json_array_foreach(layers, i, l) {
        double ms = number(l, "ms");
        ordered = ordered && ms <= prev;
        prev = ms;
        complete = complete && json_is_integer(json_object_get(l, "index")) &&
                   json_is_string(json_object_get(l, "op")) &&
                   json_is_integer(json_object_get(l, "macs")) &&
                   json_is_number(json_object_get(l, "gmacs")) &&
                   json_is_number(json_object_get(l, "peak_fraction"));
    }
    CHECK(ordered && complete, "--layers: slowest first, each with index, op, macs, gmacs and "
                               "peak_fraction");
    json_decref(doc);

    CLI(&r, "bench", TFLITE, "--layers", "50");
    CHECK(r.status == 0 && strstr(r.out, "slowest 3 of 3 layers") && strstr(r.out, "by op:") &&
              strstr(r.out, "qfully_connected"),
          "--layers 50 on a 3-layer model lists 3: %d %s %s", r.status, r.out, r.err);
    CHECK(strstr(r.out, "hello_world_int8: median ") == r.out && strstr(r.out, "GMAC/s") &&
              strstr(r.out, "% of the VNNI peak"),
          "the text report starts with the model's median: %s", r.out);
    free(r.out);
    free(r.err);
}

/* detvm info: the memory line and the JSON memory object agree with the library. */
static void test_info_memory(void)
{
    result r = {0};
    uint64_t macs = 0;
    detvm_memory_plan plan;
    if (!library_figures(SYMBOL, PARAMS, &macs, &plan))
        return;
    CLI(&r, "info", SYMBOL, PARAMS);
    char want[256];
    snprintf(want, sizeof want, "\nmemory: arena %llu bytes, ", (unsigned long long)plan.arena_bytes);
    CHECK(r.status == 0 && strstr(r.out, want), "info: the memory line: %s", r.out);
    snprintf(want, sizeof want, ", MACs %llu\n", (unsigned long long)macs);
    CHECK(strstr(r.out, want) != NULL, "info: the totals give the MACs");
    CLI(&r, "info", SYMBOL, PARAMS, "--json");
    json_t *doc = json_loads(r.out, 0, NULL);
    json_t *mem = json_object_get(doc, "memory");
    CHECK(json_is_object(mem), "info --json: a memory object");
    CHECK(json_integer_value(json_object_get(mem, "arena_bytes")) == (json_int_t)plan.arena_bytes &&
              json_integer_value(json_object_get(mem, "peak_live_bytes")) ==
                  (json_int_t)plan.peak_live_bytes &&
              json_integer_value(json_object_get(mem, "peak_live_aligned_bytes")) ==
                  (json_int_t)plan.peak_live_aligned &&
              json_integer_value(json_object_get(mem, "scratch_bytes")) ==
                  (json_int_t)plan.scratch_bytes,
          "info --json: the memory figures are the library's");
    double ratio = number(mem, "arena_to_peak");
    CHECK(ratio >= 1 && ratio <= 1.2, "info --json: arena_to_peak %.3f within 1.2", ratio);
    CHECK(json_integer_value(json_object_get(json_object_get(doc, "totals"), "macs")) ==
              (json_int_t)macs,
          "info --json: totals.macs");
    json_t *layers = json_object_get(doc, "layers"), *l;
    size_t i;
    json_int_t sum = 0;
    json_array_foreach(layers, i, l) sum += json_integer_value(json_object_get(l, "macs"));
    CHECK(sum == (json_int_t)macs, "info --json: the layers' macs add up to the total");
    json_decref(doc);
    free(r.out);
    free(r.err);
}

int main(void)
{
    struct stat st;
    if (stat(SYMBOL, &st) != 0) {
        CHECK(0, "%s is missing (run the test from the repository root)", SYMBOL);
        return check_summary("test_bench");
    }
    if (cli_setup("bench") != 0)
        return check_summary("test_bench");
    test_usage_errors();
    test_json("cvm", (const char *const[]){"bench", SYMBOL, PARAMS, "-i", INPUT, "--json", NULL},
              SYMBOL, PARAMS, 1);
    test_json("cvm, reference kernels",
              (const char *const[]){"bench", SYMBOL, PARAMS, "--kernels", "ref", "--json", NULL},
              SYMBOL, PARAMS, 1);
    test_json("tflite, 2 threads, 25 runs, generated input",
              (const char *const[]){"bench", TFLITE, "--threads", "2", "--runs", "25", "--json",
                                    NULL},
              TFLITE, NULL, 2);
    test_layers();
    test_info_memory();
    remove_tmp_dir();
    return check_summary("test_bench");
}
