/* The CVM conformance corpus through build/libcvm_runtime.so, loaded with dlopen as a host of
 * the CVM runtime would load it. Skips when ../shared is absent. */
#include <dlfcn.h>

#include "check.h"
#include "corpus.h"

typedef int (*load_fn)(const char *, int, const char *, int, void **, int, int);
typedef int (*free_fn)(void *);
typedef int (*infer_fn)(void *, char *, int, char *);
typedef int (*query_fn)(void *, unsigned long long *);
typedef int (*text_fn)(void *, char *);
typedef int (*gas_json_fn)(const char *, unsigned long long *);

static struct {
    load_fn load;
    free_fn free_model;
    infer_fn infer;
    query_fn input_len, output_len, input_type, output_type, storage, gas;
    text_fn version, postprocess;
    gas_json_fn gas_json;
} api;

static int device = 0;

static void run_case(const char *dir, json_t *meta, void *user)
{
    (void)user;
    char path[1400];
    size_t json_len = 0, params_len = 0;
    char *json;
    uint8_t *params;
    case_model(dir, &json, &json_len, &params, &params_len);
    json_t *facts = corpus_facts(meta, dir);
    const char *name = strrchr(dir, '/') + 1;

    unsigned long long v = 0;
    int st = api.gas_json(json, &v);
    long long want = meta_int(facts, "gas_from_json");
    CHECK(want < 0 ? st != 0 : (st == 0 && v == (unsigned long long)want),
          "%s: CVMAPIGetGasFromGraphFile %d %llu, want %lld", name, st, v, want);

    void *net = NULL;
    long long want_load = meta_int(facts, "load_status");
    st = api.load(json, (int)json_len, (const char *)params, (int)params_len, &net, device, 0);
    CHECK(st == want_load, "%s: CVMAPILoadModel status %d, want %lld", name, st, want_load);
    if (st == 0) {
        static const char *const keys[] = {"input_len",        "output_len",   "input_type_size",
                                           "output_type_size", "storage_size", "gas"};
        query_fn queries[] = {api.input_len, api.output_len, api.input_type,
                              api.output_type, api.storage, api.gas};
        for (int k = 0; k < 6; k++) {
            CHECK(queries[k](net, &v) == 0 && (long long)v == meta_int(facts, keys[k]),
                  "%s: %s %llu, want %lld", name, keys[k], v, meta_int(facts, keys[k]));
        }
        char text[64];
        const char *post = json_string_value(json_object_get(facts, "postprocess"));
        CHECK(api.postprocess(net, text) == 0 && (!post || strcmp(text, post) == 0),
              "%s: postprocess '%s'", name, text);
        CHECK(api.version(net, text) == 0 && strncmp(text, "cvm_", 4) == 0, "%s: version '%s'",
              name, text);
        unsigned long long out_len = 0;
        api.output_len(net, &out_len);
        corpus_run runs[4];
        int n_runs = corpus_runs(meta, dir, runs, 4);
        for (int r = 0; r < n_runs; r++) {
            size_t in_len = 0, exp_len = 0;
            snprintf(path, sizeof path, "%s/%s", dir, runs[r].input);
            char *input = (char *)read_file(path, &in_len);
            char *out = calloc(out_len + 1, 1);
            st = api.infer(net, input, (int)in_len, out);
            CHECK(st == runs[r].status, "%s/%s: CVMAPIInference status %d, want %d", name,
                  runs[r].input, st, runs[r].status);
            if (st == 0 && runs[r].expected[0]) {
                snprintf(path, sizeof path, "%s/%s", dir, runs[r].expected);
                uint8_t *expected = read_file(path, &exp_len);
                CHECK(expected && exp_len == out_len && memcmp(out, expected, exp_len) == 0,
                      "%s/%s: output differs from %s", name, runs[r].input, runs[r].expected);
                free(expected);
            }
            free(out);
            free(input);
        }
        api.free_model(net);
    }
    free(json);
    free(params);
}

int main(void)
{
    const char *build = getenv("BUILD");
    char lib[512];
    snprintf(lib, sizeof lib, "%s/libcvm_runtime.so", build && *build ? build : "build");
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen %s: %s", lib, dlerror());
    if (!h)
        return check_summary("test_cvm_abi");
    api.load = (load_fn)dlsym(h, "CVMAPILoadModel");
    api.free_model = (free_fn)dlsym(h, "CVMAPIFreeModel");
    api.infer = (infer_fn)dlsym(h, "CVMAPIInference");
    api.input_len = (query_fn)dlsym(h, "CVMAPIGetInputLength");
    api.output_len = (query_fn)dlsym(h, "CVMAPIGetOutputLength");
    api.input_type = (query_fn)dlsym(h, "CVMAPIGetInputTypeSize");
    api.output_type = (query_fn)dlsym(h, "CVMAPIGetOutputTypeSize");
    api.storage = (query_fn)dlsym(h, "CVMAPIGetStorageSize");
    api.gas = (query_fn)dlsym(h, "CVMAPIGetGasFromModel");
    api.version = (text_fn)dlsym(h, "CVMAPIGetVersion");
    api.postprocess = (text_fn)dlsym(h, "CVMAPIGetPreprocessMethod");
    api.gas_json = (gas_json_fn)dlsym(h, "CVMAPIGetGasFromGraphFile");
    CHECK(api.load && api.free_model && api.infer && api.input_len && api.output_len &&
              api.input_type && api.output_type && api.storage && api.gas && api.version &&
              api.postprocess && api.gas_json,
          "a CVMAPI symbol is missing");
    if (!api.load || !api.gas_json || !api.postprocess || !api.version)
        return check_summary("test_cvm_abi");

    /* the formal device (2) on the small cases, the CPU device (0) on everything */
    static const char *const groups[] = {"valid", "invalid", "divergent", "medium"};
    int absent = 0;
    for (device = 0; device <= 2 && !absent; device += 2) {
        for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
            if (i == 3 && (device == 2 || getenv("DETVM_SKIP_MEDIUM")))
                continue;
            if (corpus_each(groups[i], run_case, NULL) < 0) {
                SKIP("../shared/conformance/cvm is absent: CVM ABI corpus not run");
                absent = 1;
                break;
            }
        }
    }
    void *net = NULL;
    CHECK(api.load("{}", 2, "", 0, &net, 1, 0) == 2 && net == NULL, "GPU device refused");
    dlclose(h);
    return check_summary("test_cvm_abi");
}
