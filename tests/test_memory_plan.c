/* The memory plan: on every model we have (the fixtures always; the CVM conformance corpus,
 * the TFLite models and the kmodels of ../shared when present) the arena stays within 1.2 times
 * the peak of live tensor bytes, the static check finds no two live tensors sharing a byte,
 * and compiling again gives the same bytes. DETVM_PLAN_REPORT=1 prints each model's figures. */
#include <dirent.h>
#include <sys/stat.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "ir.h"
#include "ir_build.h"
#include "module_format.h"

#define RATIO_LIMIT 1.2

static int report;
static int n_models;
static double worst_ratio;
static char worst_model[512];

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void memory_finding(void *user, const detvm_finding *f)
{
    if (f->section == DETVM_VERIFY_MEMORY && f->result == DETVM_FINDING_FAILED)
        (*(int *)user)++;
}

/* Compiles and checks one model; params NULL for .tflite and .kmodel files. */
static void check_model(const char *label, const char *model, const char *params)
{
    uint8_t *bytes = NULL, *again = NULL;
    size_t len = 0, again_len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    if (detvm_load_model_files(model, params, NULL, &bytes, &len, &err) ||
        detvm_module_load(bytes, len, &m, &err)) {
        CHECK(0, "%s: %s", label, err.message);
        free(bytes);
        return;
    }
    detvm_memory_plan plan;
    CHECK(detvm_module_memory_plan(m, &plan, &err) == DETVM_OK, "%s: %s", label, err.message);
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    CHECK(plan.arena_bytes + plan.scratch_bytes == info.arena_bytes,
          "%s: the plan's arena and scratch add up to the module's", label);
    CHECK(plan.peak_live_bytes <= plan.peak_live_aligned &&
              plan.peak_live_aligned <= plan.arena_bytes &&
              plan.peak_live_bytes <= plan.tensor_bytes,
          "%s: peak %llu, aligned %llu, arena %llu, all tensors %llu out of order", label,
          (unsigned long long)plan.peak_live_bytes, (unsigned long long)plan.peak_live_aligned,
          (unsigned long long)plan.arena_bytes, (unsigned long long)plan.tensor_bytes);
    /* Tiny models are all alignment: a 4-byte tensor takes 64 bytes of any 64-byte aligned
     * plan. Their bound is the aligned peak; every model within 1.2 of it. */
    double ratio = plan.peak_live_aligned ? (double)plan.arena_bytes / plan.peak_live_aligned : 1;
    double raw = plan.peak_live_bytes ? (double)plan.arena_bytes / plan.peak_live_bytes : 1;
    CHECK(ratio <= RATIO_LIMIT, "%s: arena %llu bytes, %.3f x the aligned peak of live bytes %llu",
          label, (unsigned long long)plan.arena_bytes, ratio,
          (unsigned long long)plan.peak_live_aligned);
    /* Models whose peak is above a few KiB are held to the raw peak itself. */
    if (plan.peak_live_bytes >= 64 * 1024)
        CHECK(raw <= RATIO_LIMIT, "%s: arena %llu bytes, %.3f x the peak of live bytes %llu",
              label, (unsigned long long)plan.arena_bytes, raw,
              (unsigned long long)plan.peak_live_bytes);
    if (ratio > worst_ratio) {
        worst_ratio = ratio;
        snprintf(worst_model, sizeof worst_model, "%s", label);
    }
    int overlaps = 0;
    detvm_verify_module(m, memory_finding, &overlaps, NULL, &err);
    CHECK(overlaps == 0, "%s: the static check of the memory plan fails %d times", label,
          overlaps);
    if (detvm_load_model_files(model, params, NULL, &again, &again_len, &err) == DETVM_OK)
        CHECK(again_len == len && memcmp(again, bytes, len) == 0,
              "%s: compiling again gives other bytes", label);
    else
        CHECK(0, "%s: compiling again: %s", label, err.message);
    if (report)
        printf("%-48s arena %11llu  peak %11llu (aligned %11llu)  ratio %.3f (raw %.3f)  "
               "all tensors %12llu  %u tensors\n",
               label, (unsigned long long)plan.arena_bytes,
               (unsigned long long)plan.peak_live_bytes,
               (unsigned long long)plan.peak_live_aligned, ratio, raw,
               (unsigned long long)plan.tensor_bytes, plan.n_tensors);
    n_models++;
    free(again);
    detvm_module_free(m);
    free(bytes);
}

/* Every model folder under base: symbol.json + params.bin, model.tflite or model.kmodel. */
static void check_folder(const char *base, const char *group)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    char *names[2048];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 2048;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    for (int i = 0; i < n; i++) {
        char dir[1200], model[1300], params[1300], label[600], meta_path[1300];
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
        snprintf(label, sizeof label, "%s/%s", group, names[i]);
        snprintf(model, sizeof model, "%s/model.tflite", dir);
        if (file_exists(model)) {
            check_model(label, model, NULL);
        } else if (snprintf(model, sizeof model, "%s/model.kmodel", dir), file_exists(model)) {
            check_model(label, model, NULL);
        } else {
            snprintf(model, sizeof model, "%s/symbol.json", dir);
            snprintf(params, sizeof params, "%s/params.bin", dir);
            snprintf(meta_path, sizeof meta_path, "%s/meta.json", dir);
            json_t *meta = json_load_file(meta_path, 0, NULL);
            /* corpus cases the CVM runtime refuses to load are not models */
            long long load_status = meta ? meta_int(meta, "load_status") : 0;
            json_decref(meta);
            if (file_exists(model) && file_exists(params) && load_status == 0)
                check_model(label, model, params);
        }
        free(names[i]);
    }
}

/* x -> relu a; x -> negative b; a + b -> c, on 4-element (16-byte) vectors. Live bytes: 16 at
 * the start, 32 at relu, 48 at negative (x, a, b), 48 at the add (a, b, c), 16 at the end: the
 * peak is 48 bytes at instruction 1, 192 with each tensor taking its 64 aligned bytes. */
static void test_diamond(void)
{
    ir_module ir;
    memset(&ir, 0, sizeof ir);
    ir_builder b = {.ir = &ir};
    ir.source_format = DVM_SOURCE_CVM;
    ir.postprocess = "";
    ir.source_version = "hand";
    ir.rounding = -1;
    ir.input_bytes = ir.output_bytes = 4;
    dv_shape vec = {1, {4}};
    uint32_t x, a, bb, c;
    char why[256];
    int ok = ir_new_temporary(&b, &vec, &x) == 0 && ir_new_temporary(&b, &vec, &a) == 0 &&
             ir_new_temporary(&b, &vec, &bb) == 0 && ir_new_temporary(&b, &vec, &c) == 0;
    ir.input = x;
    ok = ok && !ir_append(&b, DV_OP_RELU, 1, &x, 1, &a, NULL, 0, "relu", why, sizeof why) &&
         !ir_append(&b, DV_OP_NEGATIVE, 1, &x, 1, &bb, NULL, 0, "negative", why, sizeof why) &&
         !ir_append(&b, DV_OP_ELEMWISE_ADD, 2, (const uint32_t[]){a, bb}, 1, &c, NULL, 0, "add",
                    why, sizeof why);
    ir.outputs[0] = c;
    ir.n_outputs = 1;
    detvm_error err = {0};
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_module *m = NULL;
    ok = ok && ir_plan_memory(&ir, &err) == DETVM_OK && ir_emit(&ir, &bytes, &len, &err) == 0 &&
         detvm_module_load(bytes, len, &m, &err) == DETVM_OK;
    CHECK(ok, "the diamond: %s", err.message);
    detvm_memory_plan plan;
    if (ok && detvm_module_memory_plan(m, &plan, &err) == DETVM_OK) {
        CHECK(plan.peak_live_bytes == 48 && plan.peak_live_aligned == 192 &&
                  plan.peak_step == 1 && plan.tensor_bytes == 64 && plan.n_tensors == 4,
              "the diamond: peak %llu (aligned %llu) at %u, %llu bytes in %u tensors",
              (unsigned long long)plan.peak_live_bytes,
              (unsigned long long)plan.peak_live_aligned, plan.peak_step,
              (unsigned long long)plan.tensor_bytes, plan.n_tensors);
        CHECK(plan.arena_bytes == 192, "the diamond: arena %llu, want 192",
              (unsigned long long)plan.arena_bytes);
    }
    detvm_module_free(m);
    free(bytes);
    ir_builder_free(&b);
}

int main(void)
{
    test_diamond();
    report = getenv("DETVM_PLAN_REPORT") != NULL;
    check_folder("fixtures/cvm", "fixtures/cvm");
    check_folder("fixtures/tflite", "fixtures/tflite");
    CHECK(n_models >= 2, "the fixtures: %d models", n_models);
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared is absent: the memory plan is checked on the fixtures only");
    } else {
        static const char *const groups[] = {"conformance/cvm/medium", "conformance/cvm/valid",
                                             "models/tflite", "models/kmodel"};
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            char base[1200];
            snprintf(base, sizeof base, "%s/%s", shared, groups[g]);
            check_folder(base, groups[g]);
        }
    }
    printf("memory plan: %d models, the largest arena is %.3f x its aligned peak of live "
           "bytes (%s)\n",
           n_models, worst_ratio, worst_model);
    return check_summary("test_memory_plan");
}
