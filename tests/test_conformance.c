/* The CVM conformance corpus through the detvm API: load statuses, lengths, type sizes, gas,
 * storage size, inference statuses and output bytes, case by case. Divergent cases follow the
 * formal back end. Skips when ../shared is absent. */
#include "check.h"
#include "corpus.h"
#include "detvm.h"

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

    /* gas from the graph alone */
    uint64_t gas = 0;
    detvm_error err = {0};
    long long want_gas_json = meta_int(facts, "gas_from_json");
    detvm_status st = detvm_cvm_gas_from_json(json, json_len, &gas, &err);
    if (want_gas_json >= 0)
        CHECK(st == DETVM_OK && gas == (uint64_t)want_gas_json, "%s: gas from json %llu (%s), want %lld",
              name, (unsigned long long)gas, st ? err.message : "ok", want_gas_json);
    else
        CHECK(st != DETVM_OK, "%s: gas from json should fail", name);

    uint8_t *module = NULL;
    size_t module_len = 0;
    long long want_load = meta_int(facts, "load_status");
    if (want_load < 0)
        want_load = meta_int(meta, "load_status");
    st = detvm_compile_cvm(json, json_len, params, params_len, &module, &module_len, &err);
    CHECK((long long)st == want_load, "%s: load status %d (%s), want %lld", name, st,
          st ? err.message : "ok", want_load);
    if (st != DETVM_OK) {
        free(json);
        free(params);
        return;
    }

    /* compiling twice gives the same bytes */
    uint8_t *again = NULL;
    size_t again_len = 0;
    detvm_compile_cvm(json, json_len, params, params_len, &again, &again_len, &err);
    CHECK(again_len == module_len && again && memcmp(again, module, module_len) == 0,
          "%s: compiling twice differs", name);
    free(again);

    detvm_module *m = NULL;
    st = detvm_module_load(module, module_len, &m, &err);
    CHECK(st == DETVM_OK, "%s: module load: %s", name, err.message);
    if (st != DETVM_OK) {
        free(module);
        free(json);
        free(params);
        return;
    }
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    CHECK((long long)info.input_len == meta_int(facts, "input_len"), "%s: input_len %llu", name,
          (unsigned long long)info.input_len);
    CHECK((long long)info.output_len == meta_int(facts, "output_len"), "%s: output_len %llu",
          name, (unsigned long long)info.output_len);
    CHECK((long long)info.input_type_size == meta_int(facts, "input_type_size"),
          "%s: input type size %u", name, info.input_type_size);
    CHECK((long long)info.output_type_size == meta_int(facts, "output_type_size"),
          "%s: output type size %u", name, info.output_type_size);
    CHECK((long long)info.gas == meta_int(facts, "gas"), "%s: gas %llu, want %lld", name,
          (unsigned long long)info.gas, meta_int(facts, "gas"));
    CHECK((long long)info.storage_size == meta_int(facts, "storage_size"),
          "%s: storage size %llu, want %lld", name, (unsigned long long)info.storage_size,
          meta_int(facts, "storage_size"));

    detvm_session *s = NULL;
    st = detvm_session_new(m, &s, &err);
    CHECK(st == DETVM_OK, "%s: session: %s", name, err.message);
    corpus_run runs[4];
    int n_runs = corpus_runs(meta, dir, runs, 4);
    for (int r = 0; s && r < n_runs; r++) {
        size_t in_len = 0, exp_len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, runs[r].input);
        uint8_t *input = read_file(path, &in_len);
        uint8_t *out = malloc(info.output_len + 1);
        st = detvm_run(s, input, in_len, out, info.output_len, &err);
        CHECK((int)st == runs[r].status, "%s/%s: inference status %d (%s), want %d", name,
              runs[r].input, st, st ? err.message : "ok", runs[r].status);
        if (st == DETVM_OK && runs[r].expected[0]) {
            snprintf(path, sizeof path, "%s/%s", dir, runs[r].expected);
            uint8_t *expected = read_file(path, &exp_len);
            size_t first = 0;
            while (expected && first < exp_len && first < info.output_len &&
                   out[first] == expected[first])
                first++;
            CHECK(expected && exp_len == info.output_len && first == exp_len,
                  "%s/%s: output differs from %s at byte %zu of %zu", name, runs[r].input,
                  runs[r].expected, first, exp_len);
            free(expected);
        }
        free(out);
        free(input);
    }
    detvm_session_free(s);
    detvm_module_free(m);
    free(module);
    free(json);
    free(params);
}

int main(void)
{
    static const char *const groups[] = {"valid", "invalid", "divergent", "medium"};
    int fixtures = cases_each("fixtures/cvm", run_case, NULL);
    CHECK(fixtures > 0 || getenv("DETVM_CASE"), "fixtures/cvm has no case");
    const char *skip_medium = getenv("DETVM_SKIP_MEDIUM");
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (i == 3 && skip_medium && *skip_medium) {
            SKIP("medium models (DETVM_SKIP_MEDIUM is set)");
            continue;
        }
        if (corpus_each(groups[i], run_case, NULL) < 0) {
            SKIP("../shared/conformance/cvm is absent: conformance corpus not run");
            break;
        }
    }
    return check_summary("test_conformance");
}
