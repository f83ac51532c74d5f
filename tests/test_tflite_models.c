/* Real int8 .tflite models against TensorFlow Lite Micro's golden outputs: every model and
 * input in ../shared/models/tflite (and the fixture hello_world_int8, always) must give the
 * expected bytes exactly. Where the goldens include per-layer dumps, every operator's output
 * is compared too, which names the first layer that differs (except the outputs of PADs the
 * importer folds into the conv after them, which the module does not have). Also: compiling twice gives the
 * same module, the module records its rounding, and the float helpers invert each other.
 * DETVM_CASE=substring limits the run to matching models. */
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "tflite.h"

#define FIXTURE "fixtures/tflite/hello_world_int8"

static uint8_t *compile_file(const char *path, detvm_rounding rounding, size_t *len)
{
    size_t n;
    uint8_t *model = read_file(path, &n);
    CHECK(model != NULL, "%s: unreadable", path);
    if (!model)
        return NULL;
    detvm_tflite_options options = {.rounding = rounding};
    uint8_t *module = NULL;
    detvm_error err = {0};
    detvm_status st = detvm_compile_tflite(model, n, &options, &module, len, &err);
    CHECK(st == DETVM_OK, "%s: compile: %s", path, err.message);
    free(model);
    return module;
}

/* ---- per-layer dumps ----------------------------------------------------------------------
 * The hook keeps, for each instruction, the low bytes of its output under the layer name
 * (the TFLite tensor the operator writes); an operator compiled into several instructions
 * leaves its last one's output there, which is the operator's. */
typedef struct {
    char **names;
    uint8_t **bytes;
    uint64_t *counts;
    uint32_t n, cap;
} layer_capture;

static int capture_step(void *user, const detvm_step *step)
{
    layer_capture *c = user;
    uint32_t i = 0;
    while (i < c->n && strcmp(c->names[i], step->name) != 0)
        i++;
    if (i == c->n) {
        if (c->n == c->cap)
            return 1;
        c->names[c->n] = strdup(step->name);
        c->bytes[c->n] = NULL;
        c->n++;
    }
    const detvm_tensor_view *v = &step->outputs[0];
    free(c->bytes[i]);
    c->bytes[i] = malloc(v->count + 1);
    for (uint64_t k = 0; k < v->count; k++)
        c->bytes[i][k] = (uint8_t)v->data[k];
    c->counts[i] = v->count;
    return 0;
}

/* 1 when TFLite tensor `tensor` of dir's model is the output of a PAD that the importer folds
 * into the conv reading it (loader/tflite.h, tfl_pad_fold): the module has no such tensor, and
 * the conv after it is compared instead. Only those layers are excused from the comparison. */
static int folded_away(const char *dir, int tensor)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/model.tflite", dir);
    size_t n = 0;
    uint8_t *bytes = read_file(path, &n);
    tfl_model model;
    detvm_error err = {0};
    int folded = 0;
    if (bytes && tfl_model_parse(bytes, n, &model, &err) == DETVM_OK) {
        for (uint32_t k = 0; k < model.n_operators; k++) {
            int32_t conv, source, pads[4];
            if (model.operators[k].n_outputs == 1 && model.operators[k].outputs[0] == tensor &&
                tfl_pad_fold(&model, k, model.outputs, model.n_outputs, &conv, &source, pads))
                folded = 1;
        }
        tfl_model_free(&model);
    }
    free(bytes);
    return folded;
}

/* Compares each row of layers/index.tsv (tensor, name, dtype, ...) with the captured layer of
 * that name; the dump file is the one whose name holds _t<tensor>_. Returns the number of
 * layers compared. */
static int check_layers(const char *dir, layer_capture *c)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/layers/index.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    DIR *d = NULL;
    char line[1024];
    int compared = 0, reported = 0;
    while (fgets(line, sizeof line, f)) {
        int tensor;
        char name[512], dtype[32];
        if (sscanf(line, "%d\t%511[^\t]\t%31s", &tensor, name, dtype) != 3 ||
            strcmp(dtype, "int8") != 0)
            continue;
        char tag[32], file[1400] = "";
        snprintf(tag, sizeof tag, "_t%03d_", tensor);
        snprintf(path, sizeof path, "%s/layers", dir);
        d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));)
            if (strstr(e->d_name, tag))
                snprintf(file, sizeof file, "%s/layers/%s", dir, e->d_name);
        if (d)
            closedir(d);
        size_t n = 0;
        uint8_t *want = file[0] ? read_file(file, &n) : NULL;
        uint32_t i = 0;
        while (i < c->n && strcmp(c->names[i], name) != 0)
            i++;
        if (want && i == c->n && folded_away(dir, tensor)) {
            free(want);
            continue;
        }
        if (!want || i == c->n) {
            CHECK(0, "%s: layer %s: %s", dir, name, want ? "never computed" : "no dump");
            free(want);
            continue;
        }
        int same = c->counts[i] == n && memcmp(c->bytes[i], want, n) == 0;
        if (!same && reported++ < 3) {
            uint64_t k = 0;
            while (k < n && k < c->counts[i] && c->bytes[i][k] == want[k])
                k++;
            CHECK(0, "%s: layer %s (tensor %d) differs first at element %llu: %d, TFLM %d", dir,
                  name, tensor, (unsigned long long)k,
                  k < c->counts[i] ? (int8_t)c->bytes[i][k] : 0, k < n ? (int8_t)want[k] : 0);
        } else if (same) {
            CHECK(1);
        }
        compared++;
        free(want);
    }
    fclose(f);
    return compared;
}

static void free_capture(layer_capture *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        free(c->names[i]);
        free(c->bytes[i]);
    }
    free(c->names);
    free(c->bytes);
    free(c->counts);
}

/* ---- one model ------------------------------------------------------------------------- */

static int is_bin(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".bin") == 0;
}

/* The layer dumps were made for this input (meta.json layers.input). */
static int dumped_input(json_t *meta, const char *input)
{
    json_t *layers = json_object_get(meta, "layers");
    const char *which = json_string_value(json_object_get(layers, "input"));
    return which && strcmp(which, input) == 0;
}

static void check_model(const char *dir)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/model.tflite", dir);
    size_t len = 0, len2 = 0;
    uint8_t *bytes = compile_file(path, DETVM_ROUNDING_DOUBLE, &len);
    uint8_t *again = compile_file(path, DETVM_ROUNDING_DOUBLE, &len2);
    CHECK(bytes && again && len == len2 && memcmp(bytes, again, len) == 0,
          "%s: two compiles differ", dir);
    free(again);
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    if (!bytes || detvm_module_load(bytes, len, &m, &err) || detvm_session_new(m, &s, &err)) {
        CHECK(0, "%s: load: %s", dir, err.message);
        detvm_module_free(m);
        free(bytes);
        return;
    }
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    CHECK(strcmp(info.rounding, "double") == 0 && strcmp(info.source_format, "tflite") == 0,
          "%s: rounding %s, source %s", dir, info.rounding, info.source_format);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    snprintf(path, sizeof path, "%s/inputs", dir);
    DIR *d = opendir(path);
    int runs = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!is_bin(e->d_name))
            continue;
        char input_name[256];
        snprintf(input_name, sizeof input_name, "%.*s", (int)strlen(e->d_name) - 4, e->d_name);
        size_t in_len = 0;
        snprintf(path, sizeof path, "%s/inputs/%s", dir, e->d_name);
        uint8_t *input = read_file(path, &in_len);
        uint8_t *output = malloc(info.output_len + 1);
        layer_capture cap = {calloc(4096, sizeof(char *)), calloc(4096, sizeof(uint8_t *)),
                             calloc(4096, sizeof(uint64_t)), 0, 4096};
        int dumps = meta && dumped_input(meta, input_name);
        detvm_session_set_hook(s, dumps ? capture_step : NULL, &cap);
        detvm_status st = detvm_run(s, input, in_len, output, info.output_len, &err);
        CHECK(st == DETVM_OK, "%s/%s: run: %s", dir, input_name, err.message);
        for (uint32_t k = 0; st == DETVM_OK && k < info.n_outputs; k++) {
            detvm_io_desc io;
            detvm_module_io(m, 1, k, &io, &err);
            snprintf(path, sizeof path, "%s/expected/%s.out%u.bin", dir, input_name, k);
            size_t want_len = 0;
            uint8_t *want = read_file(path, &want_len);
            CHECK(want && want_len == io.bytes && memcmp(want, output + io.offset, want_len) == 0,
                  "%s/%s: output %u differs from TensorFlow Lite Micro's", dir, input_name, k);
            free(want);
        }
        if (dumps)
            CHECK(check_layers(dir, &cap) > 0, "%s: no layer compared", dir);
        detvm_session_set_hook(s, NULL, NULL);
        free_capture(&cap);
        free(input);
        free(output);
        runs++;
    }
    if (d)
        closedir(d);
    CHECK(runs > 0, "%s: no inputs", dir);
    json_decref(meta);
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
}

/* ---- options and float helpers ------------------------------------------------------------ */

static void check_single_rounding(void)
{
    size_t len;
    uint8_t *bytes = compile_file(FIXTURE "/model.tflite", DETVM_ROUNDING_SINGLE, &len);
    detvm_module *m = NULL;
    detvm_error err = {0};
    CHECK(bytes && detvm_module_load(bytes, len, &m, &err) == DETVM_OK, "%s", err.message);
    if (m) {
        detvm_module_info info;
        detvm_module_get_info(m, &info);
        CHECK(strcmp(info.rounding, "single") == 0, "rounding %s", info.rounding);
    }
    detvm_module_free(m);
    free(bytes);
}

/* Dequantize then quantize gives back every int8 value, and the formulas match a direct
 * computation: 0.0244801156 * (q + 128) for the fixture's input binding. */
static void check_float_helpers(void)
{
    size_t len;
    uint8_t *bytes = compile_file(FIXTURE "/model.tflite", DETVM_ROUNDING_DOUBLE, &len);
    detvm_module *m = NULL;
    detvm_error err = {0};
    if (!bytes || detvm_module_load(bytes, len, &m, &err)) {
        CHECK(0, "%s", err.message);
        free(bytes);
        return;
    }
    detvm_io_desc io;
    CHECK(detvm_module_io(m, 0, 0, &io, &err) == DETVM_OK && io.quantized && io.count == 1 &&
          io.dtype == DETVM_DTYPE_INT8 && io.zero_point == -128 &&
          fabsf(io.scale - 0.0244801156f) < 1e-9f);
    for (int q = -128; q <= 127; q++) {
        int8_t in = (int8_t)q, back = 0;
        float x;
        detvm_dequantize(&io, &in, 1, &x, &err);
        CHECK(x == (float)((double)io.scale * (q + 128)), "dequantize %d", q);
        detvm_quantize(&io, &x, 1, &back, &err);
        CHECK(back == in, "quantize(dequantize(%d)) = %d", q, back);
    }
    float big[1] = {1e30f}, nan_value[1] = {NAN};
    int8_t q;
    CHECK(detvm_quantize(&io, big, 1, &q, &err) == DETVM_OK && q == 127, "saturates");
    CHECK(detvm_quantize(&io, nan_value, 1, &q, &err) == DETVM_EINVALID, "NaN refused");
    CHECK(detvm_quantize(&io, big, 2, &q, &err) == DETVM_EINVALID, "count checked");
    detvm_module_free(m);
    free(bytes);
}

/* Hostile files through the whole pipeline: every truncation and a few thousand seeded
 * byte mutations of the fixture model are compiled; whatever compiles must load, and must run
 * (or fail cleanly). Nothing may crash or read out of bounds (the sanitizer build checks). */
static void check_hostile_compiles(void)
{
    size_t n = 0;
    uint8_t *model = read_file(FIXTURE "/model.tflite", &n);
    CHECK(model != NULL);
    if (!model)
        return;
    uint8_t *copy = malloc(n);
    uint32_t seed = 20261121, compiled = 0, refused = 0;
    for (uint32_t trial = 0; trial < n + 3000; trial++) {
        memcpy(copy, model, n);
        size_t len = n;
        if (trial < n) {
            len = trial;
        } else {
            for (int flips = 1 + (int)(seed % 4); flips > 0; flips--) {
                seed = seed * 1103515245u + 12345u;
                copy[(seed >> 8) % n] ^= (uint8_t)(1u << (seed % 8));
            }
        }
        uint8_t *bytes = NULL, *output = NULL;
        size_t module_len = 0;
        detvm_error err = {0};
        detvm_module *m = NULL;
        detvm_session *s = NULL;
        if (detvm_compile_tflite(copy, len, NULL, &bytes, &module_len, &err) != DETVM_OK) {
            refused += err.status == DETVM_EINVALID && strncmp(err.message, "tflite: ", 8) == 0;
            continue;
        }
        compiled++;
        detvm_status st = detvm_module_load(bytes, module_len, &m, &err);
        CHECK(st == DETVM_OK, "trial %u: a compiled module does not load: %s", trial, err.message);
        if (!st && !detvm_session_new(m, &s, &err)) {
            detvm_module_info info;
            detvm_module_get_info(m, &info);
            uint8_t *input = calloc(info.input_len + 1, 1);
            output = malloc(info.output_len + 1);
            detvm_run(s, input, info.input_len, output, info.output_len, &err);
            free(input);
        }
        detvm_session_free(s);
        detvm_module_free(m);
        free(output);
        free(bytes);
    }
    CHECK(compiled + refused == n + 3000, "%u of %zu trials failed without a tflite: message",
          (uint32_t)(n + 3000) - compiled - refused, n + 3000);
    free(copy);
    free(model);
}

int main(void)
{
    check_model(FIXTURE);
    check_single_rounding();
    check_float_helpers();
    check_hostile_compiles();
    const char *shared = shared_dir();
    char base[1024];
    if (shared)
        snprintf(base, sizeof base, "%s/models/tflite", shared);
    DIR *d = shared ? opendir(base) : NULL;
    if (!d) {
        SKIP("../shared/models/tflite is absent: only the fixture model was checked");
        return check_summary("test_tflite_models");
    }
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    const char *filter = getenv("DETVM_CASE");
    for (int i = 0; i < n; i++) {
        char dir[1400];
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
        if (!filter || strstr(names[i], filter))
            check_model(dir);
        free(names[i]);
    }
    return check_summary("test_tflite_models");
}
