/* Real K210 kmodels (v3 and v4) against the nncase simulator's goldens: every model and input
 * in ../shared/models/kmodel must give the expected output bytes exactly, and where the goldens
 * include per-layer dumps, every node's result too (read where km_describe says the node
 * leaves it: a KPU map in KPU RAM, or a byte range of main memory). Every model also runs with
 * DETVM_DEVICES=cpu, which keeps the KPU layers off the k210 device, and must give the same
 * bytes and the same trace root. Compiling twice gives the same module.
 * DETVM_CASE=substring limits the run to matching models. */
#include <dirent.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "kimage.h"
#include "kmodel.h"
#include "kpu.h"

static int is_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d)
        closedir(d);
    return d != NULL;
}

/* ---- per-layer dumps ----------------------------------------------------------------------
 * The hook runs after every instruction. After the last instruction of a node, the node's
 * result is read from the memory image that instruction wrote and compared with the dump
 * layers/<node name>.bin. */
typedef struct {
    const char *dir;
    const detvm_module *module;
    const km_node_result *nodes;
    uint32_t n_nodes;
    uint32_t *last_instr;       /* per node: its last instruction, or UINT32_MAX */
    int compared, reported;
} layer_check;

/* The output view of `step` that is an image of memory `mem` ("main" or "kpu"), or NULL. */
static const detvm_tensor_view *image_of(const layer_check *c, const detvm_step *step, int mem)
{
    detvm_layer_desc layer;
    detvm_error err = {0};
    if (detvm_module_layer(c->module, step->index, &layer, &err))
        return NULL;
    for (uint32_t o = 0; o < step->n_outputs; o++) {
        detvm_tensor_desc t;
        if (detvm_module_tensor(c->module, layer.tensors[layer.n_inputs + o], &t, &err) == 0 &&
            strcmp(t.name, mem == KM_MAIN ? "main" : "kpu") == 0)
            return &step->outputs[o];
    }
    return NULL;
}

static void compare_node(layer_check *c, const km_node_result *node, const detvm_step *step)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/layers/%s.bin", c->dir, node->name);
    size_t n = 0;
    uint8_t *want = read_file(path, &n);
    if (!want)
        return; /* not every node is dumped */
    const detvm_tensor_view *image = image_of(c, step, node->mem);
    uint64_t len = node->kpu_map ? (uint64_t)node->dims[0] * node->dims[1] * node->dims[2] *
                                       node->dims[3]
                                 : node->bytes;
    /* K210_ADD_PADDING's dump holds one byte per channel: pixel (0,0) of each channel's map */
    int corner_only = node->kpu_map && n == (size_t)node->dims[0] * node->dims[1] && n < len;
    uint8_t *got = malloc(len + 1);
    if (!image || (len != n && !corner_only) || !got) {
        CHECK(0, "%s: %s: %s", c->dir, node->name,
              !image ? "its instruction writes no such memory" : "size differs from the dump");
    } else {
        if (node->kpu_map)
            dv_kpu_download(image->data, node->offset, node->dims[0], node->dims[1],
                            node->dims[2], node->dims[3], got);
        else
            for (uint64_t i = 0; i < len; i++)
                got[i] = dv_image_u8(image->data, node->offset + (uint32_t)i);
        uint64_t plane = (uint64_t)node->dims[2] * node->dims[3];
        for (uint64_t i = 0; corner_only && i < n; i++)
            got[i] = got[i * plane];
        uint64_t k = 0;
        while (k < n && got[k] == want[k])
            k++;
        if (k < n && c->reported++ < 5)
            CHECK(0, "%s: %s differs first at byte %llu of %zu: %u, the simulator %u", c->dir,
                  node->name, (unsigned long long)k, n, got[k], want[k]);
        else if (k == n)
            CHECK(1);
        c->compared++;
    }
    free(got);
    free(want);
}

static int check_step(void *user, const detvm_step *step)
{
    layer_check *c = user;
    for (uint32_t i = 0; i < c->n_nodes; i++)
        if (c->last_instr[i] == step->index)
            compare_node(c, &c->nodes[i], step);
    return 0;
}

/* Finds each node's last instruction by name. */
static void find_last_instrs(layer_check *c)
{
    detvm_module_info info;
    detvm_module_get_info(c->module, &info);
    for (uint32_t i = 0; i < c->n_nodes; i++)
        c->last_instr[i] = UINT32_MAX;
    for (uint32_t k = 0; k < info.n_instructions; k++) {
        detvm_layer_desc layer;
        detvm_error err = {0};
        if (detvm_module_layer(c->module, k, &layer, &err))
            continue;
        for (uint32_t i = 0; i < c->n_nodes; i++)
            if (strcmp(layer.name, c->nodes[i].name) == 0)
                c->last_instr[i] = k;
    }
}

/* ---- one model ------------------------------------------------------------------------- */

/* The expected output bytes of an input: expected/<input>.out0.bin, .out1.bin, ... joined. */
static uint8_t *expected_outputs(const char *dir, const char *input, size_t *len)
{
    uint8_t *all = NULL;
    *len = 0;
    for (int k = 0;; k++) {
        char path[2100];
        snprintf(path, sizeof path, "%s/expected/%s.out%d.bin", dir, input, k);
        size_t n;
        uint8_t *part = read_file(path, &n);
        if (!part)
            break;
        uint8_t *grown = realloc(all, *len + n + 1);
        if (grown) {
            memcpy(grown + *len, part, n);
            all = grown;
            *len += n;
        }
        free(part);
    }
    return all;
}

/* Runs the module on one input; returns the output bytes and the fast trace root. */
static uint8_t *run_once(const detvm_module *m, const uint8_t *input, size_t input_len,
                         size_t out_len, detvm_step_hook hook, void *user, uint8_t *root)
{
    detvm_session *s = NULL;
    detvm_error err = {0};
    uint8_t *out = malloc(out_len + 1);
    if (!out || detvm_session_new(m, &s, &err)) {
        CHECK(0, "session: %s", err.message);
        free(out);
        return NULL;
    }
    detvm_session_set_hook(s, hook, user);
    detvm_session_set_trace(s, DETVM_TRACE_FAST, &err);
    detvm_status st = detvm_run(s, input, input_len, out, out_len, &err);
    CHECK(st == DETVM_OK, "run: %s", err.message);
    detvm_trace trace;
    if (!st && detvm_session_trace(s, &trace, &err) == 0)
        memcpy(root, trace.root, trace.digest_len);
    detvm_session_free(s);
    if (st) {
        free(out);
        return NULL;
    }
    return out;
}

static void check_model(const char *dir)
{
    char path[2100];
    snprintf(path, sizeof path, "%s/model.kmodel", dir);
    size_t len;
    uint8_t *kmodel = read_file(path, &len);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    if (!kmodel || !meta) {
        CHECK(0, "%s: model.kmodel or meta.json unreadable", dir);
        free(kmodel);
        json_decref(meta);
        return;
    }
    uint8_t *module = NULL, *again = NULL;
    size_t module_len = 0, again_len = 0;
    detvm_error err = {0};
    detvm_status st = detvm_compile_kmodel(kmodel, len, NULL, &module, &module_len, &err);
    CHECK(st == DETVM_OK, "%s: compile: %s", dir, err.message);
    st = st ? st : detvm_compile_kmodel(kmodel, len, NULL, &again, &again_len, &err);
    CHECK(!st && again_len == module_len && memcmp(module, again, module_len) == 0,
          "%s: compiling twice gives different modules", dir);
    free(again);
    detvm_module *m = NULL;
    if (!st && detvm_module_load(module, module_len, &m, &err)) {
        CHECK(0, "%s: load: %s", dir, err.message);
        st = DETVM_EINVALID;
    }
    layer_check layers = {.dir = dir, .module = m};
    if (!st && km_describe(kmodel, len, (km_node_result **)&layers.nodes, &layers.n_nodes,
                           &err)) {
        CHECK(0, "%s: describe: %s", dir, err.message);
        st = DETVM_EINVALID;
    }
    layers.last_instr = calloc(layers.n_nodes + 1, sizeof *layers.last_instr);
    if (!st)
        find_last_instrs(&layers);
    detvm_module_info info;
    if (!st)
        detvm_module_get_info(m, &info);
    json_t *inputs = json_object_get(meta, "inputs");
    json_t *layers_of = json_object_get(json_object_get(meta, "layers"), "input");
    int matched = 0;
    for (size_t i = 0; !st && i < json_array_size(inputs); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(inputs, i), "name"));
        snprintf(path, sizeof path, "%s/inputs/%s.bin", dir, name ? name : "");
        size_t in_len = 0, want_len = 0;
        uint8_t *input = read_file(path, &in_len);
        uint8_t *want = expected_outputs(dir, name ? name : "", &want_len);
        int dumped = layers_of && name && strcmp(json_string_value(layers_of), name) == 0;
        uint8_t root[DETVM_DIGEST_MAX] = {0}, cpu_root[DETVM_DIGEST_MAX] = {0};
        uint8_t *got = input && want ? run_once(m, input, in_len, info.output_len,
                                                dumped ? check_step : NULL, &layers, root)
                                     : NULL;
        CHECK(input && want, "%s: input %s or its expected outputs missing", dir, name);
        int same = got && want_len == info.output_len && memcmp(got, want, want_len) == 0;
        if (!same && got && want) {
            size_t k = 0;
            while (k < want_len && k < info.output_len && got[k] == want[k])
                k++;
            CHECK(0, "%s: input %s: output differs first at byte %zu of %zu", dir, name, k,
                  want_len);
        }
        matched += same;
        /* the same run with every instruction on the CPU */
        setenv("DETVM_DEVICES", "cpu", 1);
        uint8_t *cpu = got ? run_once(m, input, in_len, info.output_len, NULL, NULL, cpu_root)
                           : NULL;
        unsetenv("DETVM_DEVICES");
        CHECK(!got || (cpu && memcmp(cpu, got, info.output_len) == 0 &&
                       memcmp(cpu_root, root, DETVM_DIGEST_MAX) == 0),
              "%s: input %s: the CPU alone gives other bytes or another trace root", dir, name);
        free(cpu);
        free(got);
        free(want);
        free(input);
    }
    CHECK(st || (matched == (int)json_array_size(inputs) && matched > 0), "%s: %d of %zu inputs",
          dir, matched, json_array_size(inputs));
    fprintf(stderr, "%s: %d/%zu inputs match, %d layers compared\n", dir, matched,
            json_array_size(inputs), layers.compared);
    free(layers.last_instr);
    free((void *)layers.nodes);
    detvm_module_free(m);
    free(module);
    free(kmodel);
    json_decref(meta);
}

/* The SDK's KPU semantics (start_x <= x, the SDK's carry shift) compile to another module
 * whose outputs differ from the nncase simulator's on the dog picture, as the two published
 * references do. */
static void check_sdk_semantics(const char *base)
{
    char dir[1400], path[2100];
    snprintf(dir, sizeof dir, "%s/yolo20_v3_nncase01", base);
    snprintf(path, sizeof path, "%s/model.kmodel", dir);
    size_t len, in_len, want_len;
    uint8_t *kmodel = read_file(path, &len);
    snprintf(path, sizeof path, "%s/inputs/dog.bin", dir);
    uint8_t *input = read_file(path, &in_len);
    uint8_t *want = expected_outputs(dir, "dog", &want_len);
    if (!kmodel || !input || !want) {
        SKIP("%s: the dog picture's files are absent", dir);
    } else {
        detvm_kmodel_options sdk = {.kpu = DETVM_KPU_SDK};
        uint8_t *module = NULL, *v02 = NULL;
        size_t module_len = 0, v02_len = 0;
        detvm_error err = {0};
        detvm_module *m = NULL;
        CHECK(detvm_compile_kmodel(kmodel, len, &sdk, &module, &module_len, &err) == 0 &&
                  detvm_compile_kmodel(kmodel, len, NULL, &v02, &v02_len, &err) == 0 &&
                  detvm_module_load(module, module_len, &m, &err) == 0,
              "SDK semantics: %s", err.message);
        CHECK(module && v02 && (module_len != v02_len || memcmp(module, v02, v02_len) != 0),
              "the semantics do not enter the module");
        uint8_t root[DETVM_DIGEST_MAX];
        uint8_t *got = m ? run_once(m, input, in_len, want_len, NULL, NULL, root) : NULL;
        CHECK(got && memcmp(got, want, want_len) != 0,
              "the SDK semantics give the nncase simulator's bytes");
        free(got);
        detvm_module_free(m);
        free(module);
        free(v02);
    }
    free(kmodel);
    free(input);
    free(want);
}

int main(void)
{
    const char *shared = getenv("DETVM_SHARED");
    char base[1024];
    snprintf(base, sizeof base, "%s/models/kmodel", shared && *shared ? shared : "../shared");
    DIR *d = opendir(base);
    if (!d) {
        SKIP("%s is absent: no kmodel goldens to compare with", base);
        return check_summary("test_kmodels");
    }
    char *names[64];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 64;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    const char *only = getenv("DETVM_CASE");
    for (int i = 0; i < n; i++) {
        char dir[1400];
        snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
        if (is_dir(dir) && (!only || strstr(names[i], only)))
            check_model(dir);
        free(names[i]);
    }
    if (!only || strstr("yolo20_v3_nncase01", only))
        check_sdk_semantics(base);
    return check_summary("test_kmodels");
}
