/* kmodel v3 files (loader/kmodel_v3*.c): a synthetic model with every layer type the SDK
 * runs, compiled, run and checked by hand; broken and hostile files (each field wrong, every
 * truncation, bit flips) refused with one clear line naming the field, never a crash (run
 * this under SANITIZE=1); and, when ../shared is present, the real v3 models truncated and
 * bit-flipped the same way, and mnist's K210_ADD_PADDING node against its dump. */
#include <stdint.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "fmath.h"
#include "kimage.h"
#include "kmodel.h"
#include "kpu.h"

/* ---- building files ------------------------------------------------------------------- */

typedef struct {
    uint8_t b[4096];
    uint32_t len;
} blob;

static void put32(blob *x, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x->b[x->len++] = (uint8_t)(v >> (8 * i));
}

static void putf(blob *x, float f) { put32(x, dv_f32_bits(f)); }

static void set32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#define MAX_LAYERS 32

typedef struct {
    uint32_t flags, arch, main_bytes, max_start;
    uint32_t n_outputs, outputs[4][2];
    uint32_t n_layers, type[MAX_LAYERS];
    blob body[MAX_LAYERS];
} model;

typedef struct {
    uint8_t b[65536];
    uint32_t len;
    uint32_t body_at[MAX_LAYERS]; /* where each body starts in the file */
    uint32_t header_at[MAX_LAYERS];
} file;

static uint32_t v3_u32_of(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void build(const model *m, file *f)
{
    uint32_t at = 0;
    uint32_t words[7] = {3, m->flags, m->arch, m->n_layers, m->max_start, m->main_bytes,
                         m->n_outputs};
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 7; i++)
        set32(f->b + 4 * i, words[i]);
    at = 28;
    for (uint32_t k = 0; k < m->n_outputs; k++, at += 8)
        set32(f->b + at, m->outputs[k][0]), set32(f->b + at + 4, m->outputs[k][1]);
    for (uint32_t i = 0; i < m->n_layers; i++, at += 8) {
        f->header_at[i] = at;
        set32(f->b + at, m->type[i]), set32(f->b + at + 4, m->body[i].len);
    }
    for (uint32_t i = 0; i < m->n_layers; i++) {
        f->body_at[i] = at;
        memcpy(f->b + at, m->body[i].b, m->body[i].len);
        at += m->body[i].len;
    }
    f->len = at;
}

/* Starts layer `type`; the returned body gets its fields with put32. */
static blob *layer(model *m, uint32_t type)
{
    m->type[m->n_layers] = type;
    blob *b = &m->body[m->n_layers++];
    b->len = 0;
    return b;
}

static void fields(blob *b, int n, const uint32_t *v)
{
    for (int i = 0; i < n; i++)
        put32(b, v[i]);
}

#define FIELDS(b, ...) \
    fields(b, (int)(sizeof((uint32_t[]){__VA_ARGS__}) / 4), (const uint32_t[]){__VA_ARGS__})

/* A K210_CONV body: a 1x1 layer from a 2 x 2 x 1 map at KPU row 0 to row 4, its output also
 * sent to main memory at `main_out`; the layer argument block, weights, batch norm and
 * activation table follow the fields inside the body, 8-byte aligned. `body_at` is where
 * the body will lie in the file (the offsets are file offsets). */
static void conv_body(blob *b, uint32_t body_at, uint32_t main_out)
{
    uint64_t w[DV_KPU_WORDS] = {0};
    dv_kpu_set(w, DV_KPU_IMAGE_SRC_ADDR, 0);
    dv_kpu_set(w, DV_KPU_IMAGE_DST_ADDR, 4);
    dv_kpu_set(w, DV_KPU_I_ROW_WID, 1), dv_kpu_set(w, DV_KPU_I_COL_HIGH, 1);
    dv_kpu_set(w, DV_KPU_O_ROW_WID, 1), dv_kpu_set(w, DV_KPU_O_COL_HIGH, 1);
    dv_kpu_set(w, DV_KPU_ARG_W, 0), dv_kpu_set(w, DV_KPU_ARG_X, 0);
    uint32_t arg = 24;
    while ((body_at + arg) % 8)
        arg += 4;
    uint32_t weights = arg + 96, bn = weights + 8, act = bn + 8;
    FIELDS(b, 1, main_out, body_at + arg, body_at + weights, body_at + bn, body_at + act);
    while (b->len < arg)
        put32(b, 0);
    for (int i = 0; i < DV_KPU_WORDS; i++)
        put32(b, (uint32_t)w[i]), put32(b, (uint32_t)(w[i] >> 32));
    put32(b, 1), put32(b, 0);               /* weight 1 */
    put32(b, 1), put32(b, 0);               /* bn: norm_mul 1, add 0, shift 0 */
    for (int i = 0; i < 16; i++)            /* 16 segments: shift 0, mul 1, start 0 */
        put32(b, 1u << 8), put32(b, 0);
    put32(b, 0), put32(b, 0), put32(b, 0), put32(b, 0);
}

/* The synthetic model: float32[4] in, every CPU layer type the SDK runs, a K210_UPLOAD and a
 * K210_CONV; outputs: CONCAT's 8 floats (L2 then softmax of the dequantized bytes) and
 * QUANTIZED_CONCAT's 8 bytes. Main memory addresses in the comments. */
static void synthetic(model *m)
{
    memset(m, 0, sizeof *m);
    m->flags = 1;
    m->main_bytes = 288;
    m->n_outputs = 2;
    m->outputs[0][0] = 208, m->outputs[0][1] = 32;
    m->outputs[1][0] = 240, m->outputs[1][1] = 8;
    /* 0 FC: x (0) -> 16, the identity, linear */
    blob *b = layer(m, 18);
    FIELDS(b, 0, 0, 16, 4, 4, 0);
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < 4; i++)
            putf(b, o == i ? 1.0f : 0.0f);
    for (int o = 0; o < 4; o++)
        putf(b, 0.0f);
    /* 1 QUANTIZE 16 -> 32 (bytes), scale 1, bias 0 */
    FIELDS(layer(m, 11), 0, 16, 32, 4, dv_f32_bits(1.0f), 0);
    /* 2 K210_UPLOAD 32 -> KPU row 0, 2 x 2 x 1 */
    FIELDS(layer(m, 10243), 0, 32, 0, 2, 2, 1);
    /* 3 K210_CONV row 0 -> row 4, main out 40 (4 bytes); its body offset is filled below */
    layer(m, 10240);
    /* 4 K210_ADD_PADDING 32 -> KPU row 8, 4 channels */
    FIELDS(layer(m, 10241), 0, 32, 8, 4);
    /* 5 K210_REMOVE_PADDING 32 (bytes 32, 48) -> 100 */
    FIELDS(layer(m, 10242), 0, 32, 100, 2);
    /* 6 DEQUANTIZE 32 -> 104, q * 0.5 + 1 */
    FIELDS(layer(m, 12), 0, 32, 104, 4, dv_f32_bits(0.5f), dv_f32_bits(1.0f));
    /* 7 ADD 104 + 16 -> 120 */
    FIELDS(layer(m, 1), 0, 104, 16, 120, 4);
    /* 8 QUANTIZED_ADD 32 + 36 -> 136 (8 bytes), plain sum */
    FIELDS(layer(m, 2), 0, 32, 36, 136, 4, 0, 1, 0, 0, 1, 0, 0, 1, 0);
    /* 9 REQUANTIZE 136 -> 144, 255 - q */
    b = layer(m, 13);
    FIELDS(b, 0, 136, 144, 4);
    for (int i = 0; i < 256; i += 4)
        put32(b, (uint32_t)(255 - i) | (uint32_t)(254 - i) << 8 | (uint32_t)(253 - i) << 16 |
                     (uint32_t)(252 - i) << 24);
    /* 10 QUANTIZED_MAX_POOL2D 32 (2 x 2) -> 148 (1 x 1), 2x2 stride 2 */
    FIELDS(layer(m, 8), 0, 32, 148, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0);
    /* 11 AVERAGE_POOL2D 104 (2 x 2 floats) -> 152, activation field ignored */
    FIELDS(layer(m, 9), 0, 104, 152, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 1);
    /* 12 GLOBAL_AVERAGE_POOL2D 104 -> 156, kernel 4, 1 channel */
    FIELDS(layer(m, 5), 0, 104, 156, 4, 1);
    /* 13 L2_NORMALIZATION 104 -> 160; 14 SOFTMAX 104 -> 176; 15 LOGISTIC 104 -> 192 */
    FIELDS(layer(m, 14), 0, 104, 160, 4);
    FIELDS(layer(m, 15), 0, 104, 176, 4);
    FIELDS(layer(m, 25), 0, 104, 192, 4);
    /* 16 CONCAT (160, 16), (176, 16) -> 208 */
    FIELDS(layer(m, 16), 0, 208, 2, 160, 16, 176, 16);
    /* 17 QUANTIZED_CONCAT (32, 4), (144, 4) -> 240 */
    FIELDS(layer(m, 17), 0, 240, 2, 32, 4, 144, 4);
    /* 18 TENSORFLOW_FLATTEN 104 (w 2, h 1, c 2) -> 248 */
    FIELDS(layer(m, 20), 0, 104, 248, 2, 1, 2);
    /* 19 RESIZE_NEAREST_NEIGHBOR 104 (2 x 2 x 1 floats) -> 264 (1 x 1) */
    FIELDS(layer(m, 22), 0, 104, 264, 2, 2, 1, 1, 1, 0);
    /* 20 QUANTIZED_RESIZE_NEAREST_NEIGHBOR 32 (2 x 2 x 1) -> 268 (2 x 2) */
    FIELDS(layer(m, 23), 0, 32, 268, 2, 2, 1, 2, 2, 0);
    /* 21 CHANNELWISE_DEQUANTIZE 32 (2 channels of 2) -> 272, (1, 0) and (2, -1) */
    FIELDS(layer(m, 24), 0, 32, 272, 2, 2, dv_f32_bits(1.0f), 0, dv_f32_bits(2.0f),
           dv_f32_bits(-1.0f));
}

/* Builds the synthetic model into f: the conv body needs its own file offset. */
static void synthetic_file(model *m, file *f)
{
    synthetic(m);
    build(m, f); /* with an empty conv body, to learn where it starts */
    conv_body(&m->body[3], f->body_at[3], 40);
    build(m, f);
}

/* ---- compiling and running ------------------------------------------------------------ */

static detvm_status compile(const uint8_t *b, size_t len, uint8_t **module, size_t *module_len,
                            detvm_error *err)
{
    *module = NULL;
    return detvm_compile_kmodel(b, len, NULL, module, module_len, err);
}

/* Compiles, loads and runs on `input`; returns the output bytes (malloc'd) or NULL. */
static uint8_t *run_file(const uint8_t *b, size_t len, const void *input, size_t input_len,
                         size_t *out_len, detvm_error *err)
{
    uint8_t *module = NULL, *out = NULL;
    size_t module_len = 0;
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_module_info info;
    if (compile(b, len, &module, &module_len, err) ||
        detvm_module_load(module, module_len, &m, err) || detvm_module_get_info(m, &info) ||
        detvm_session_new(m, &s, err))
        goto done;
    *out_len = info.output_len;
    out = malloc(info.output_len + 1);
    if (out && detvm_run(s, input, input_len, out, info.output_len, err)) {
        free(out);
        out = NULL;
    }
done:
    detvm_session_free(s);
    detvm_module_free(m);
    free(module);
    return out;
}

/* A file must either compile, or fail with one line "kmodel: ..." naming something; then
 * describe must agree. Returns 1 when it compiled. */
static int robust(const uint8_t *b, size_t len, const char *what, long i)
{
    uint8_t *module = NULL;
    size_t module_len = 0;
    detvm_error err = {0};
    detvm_status st = compile(b, len, &module, &module_len, &err);
    free(module);
    if (st) {
        CHECK(strncmp(err.message, "kmodel: ", 8) == 0 && !strchr(err.message, '\n') &&
                  strlen(err.message) > 12,
              "%s %ld: message \"%s\"", what, i, err.message);
    }
    km_node_result *nodes = NULL;
    uint32_t n = 0;
    detvm_error err2 = {0};
    detvm_status st2 = km_describe(b, len, &nodes, &n, &err2);
    free(nodes);
    /* describe parses what compile parses: it fails at least when the parse fails (compile
     * may fail later too, e.g. on an input the KPU upload refuses) */
    if (!st)
        CHECK(st2 == DETVM_OK, "%s %ld: compiles but describe fails: %s", what, i, err2.message);
    return st == DETVM_OK;
}

/* A mutated file that compiles must also run without harm on a zero input. */
static void run_zero(const uint8_t *b, size_t len)
{
    uint8_t *module = NULL;
    size_t module_len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_module_info info;
    if (!compile(b, len, &module, &module_len, &err) &&
        !detvm_module_load(module, module_len, &m, &err) && !detvm_module_get_info(m, &info) &&
        !detvm_session_new(m, &s, &err)) {
        uint8_t *in = calloc(1, info.input_len + 1), *out = malloc(info.output_len + 1);
        detvm_status st = in && out ? detvm_run(s, in, info.input_len, out, info.output_len, &err)
                                    : DETVM_ERUNTIME;
        CHECK(st == DETVM_OK, "a mutated file compiled but did not run: %s", err.message);
        free(in);
        free(out);
    }
    detvm_session_free(s);
    detvm_module_free(m);
    free(module);
}

/* ---- the synthetic model ---------------------------------------------------------------- */

static void test_synthetic(void)
{
    static model m;
    static file f;
    synthetic_file(&m, &f);
    float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    size_t n = 0;
    detvm_error err = {0};
    uint8_t *out = run_file(f.b, f.len, x, sizeof x, &n, &err);
    CHECK(out && n == 40, "synthetic model: %s", err.message);
    if (out && n == 40) {
        /* dequantized d = q * 0.5 + 1 = 1.5, 2, 2.5, 3 */
        float d[4] = {1.5f, 2.0f, 2.5f, 3.0f}, sum = 0.0f, e[4], esum = 0.0f;
        for (int i = 0; i < 4; i++) {
            float sq = d[i] * d[i];
            sum = sum + sq;
        }
        float k = 1.0f / dv_sqrtf(sum);
        for (int i = 0; i < 4; i++) {
            e[i] = dv_expf(d[i] - 3.0f);
            esum = esum + e[i];
        }
        for (int i = 0; i < 4; i++) {
            float l2 = d[i] * k, sm = e[i] / esum;
            CHECK(memcmp(out + 4 * i, &l2, 4) == 0 && memcmp(out + 16 + 4 * i, &sm, 4) == 0,
                  "synthetic output element %d", i);
        }
        static const uint8_t bytes[8] = {1, 2, 3, 4, 254, 253, 252, 251};
        CHECK(memcmp(out + 32, bytes, 8) == 0, "synthetic output 1: %u %u %u %u %u", out[32],
              out[33], out[34], out[35], out[36]);
    }
    free(out);
    /* describe: one result per layer, named as the dumps are */
    km_node_result *nodes = NULL;
    uint32_t count = 0;
    CHECK(km_describe(f.b, f.len, &nodes, &count, &err) == DETVM_OK && count == m.n_layers,
          "describe: %s", err.message);
    if (count == m.n_layers) {
        CHECK(strcmp(nodes[0].name, "000_FULLY_CONNECTED") == 0 && nodes[0].mem == KM_MAIN &&
              !nodes[0].kpu_map && nodes[0].offset == 16 && nodes[0].bytes == 16);
        CHECK(strcmp(nodes[2].name, "002_K210_UPLOAD") == 0 && nodes[2].kpu_map &&
              nodes[2].offset == 0 && nodes[2].dims[1] == 1 && nodes[2].dims[3] == 2);
        CHECK(strcmp(nodes[3].name, "003_K210_CONV") == 0 && nodes[3].mem == KM_KPU &&
              nodes[3].kpu_map && nodes[3].offset == 256 && nodes[3].dims[2] == 2);
        CHECK(nodes[4].kpu_map && nodes[4].offset == 512 && nodes[4].dims[1] == 4 &&
              nodes[4].dims[2] == 4 && nodes[4].dims[3] == 4);
        CHECK(nodes[8].bytes == 4 && nodes[21].offset == 272 && nodes[21].bytes == 16);
        CHECK(strncmp(nodes[20].name, "020_QUANTIZED_RESIZE_NEAREST", 28) == 0);
    }
    free(nodes);
    /* the SDK's semantics option compiles the same file */
    uint8_t *module = NULL;
    size_t module_len;
    detvm_kmodel_options sdk = {.kpu = DETVM_KPU_SDK};
    CHECK(detvm_compile_kmodel(f.b, f.len, &sdk, &module, &module_len, &err) == DETVM_OK,
          "SDK semantics: %s", err.message);
    free(module);
}

/* ---- hostile files ---------------------------------------------------------------------- */

static void expect_error(const uint8_t *b, size_t len, const char *want, int line)
{
    uint8_t *module = NULL;
    size_t module_len;
    detvm_error err = {0};
    detvm_status st = compile(b, len, &module, &module_len, &err);
    free(module);
    CHECK(st == DETVM_EINVALID && strstr(err.message, want) && !strchr(err.message, '\n') &&
              strncmp(err.message, "kmodel: ", 8) == 0,
          "line %d: want \"%s\", got \"%s\"", line, want, st ? err.message : "success");
}

/* Builds the synthetic model, lets `edit` change the model or the file, and expects `want` in
 * the error. */
#define EXPECT_BODY(edit, want)                                                              \
    do {                                                                                     \
        static model m_;                                                                     \
        static file f_;                                                                      \
        synthetic_file(&m_, &f_);                                                            \
        model *m = &m_;                                                                      \
        file *f = &f_;                                                                       \
        edit;                                                                                \
        expect_error(f->b, f->len, want, __LINE__);                                          \
        (void)m;                                                                             \
    } while (0)

/* Sets field i of layer l's body in the built file. */
#define BODY(l, i, v) set32(f->b + f->body_at[l] + 4 * (i), (uint32_t)(v))
#define REBUILD build(m, f)
/* Sets 32-bit half i of the K210_CONV's (layer 3) layer argument block. */
#define ARG(i, v) set32(f->b + v3_u32_of(f->b + f->body_at[3] + 8) + 4 * (i), (uint32_t)(v))

static void test_hostile_fields(void)
{
    EXPECT_BODY(set32(f->b + 8, 1), "header: arch 1");
    EXPECT_BODY(set32(f->b + 4, 3), "header: flags 0x3");
    EXPECT_BODY(set32(f->b + 12, 0), "header: layers_length is 0");
    EXPECT_BODY(set32(f->b + 24, 0), "header: output_count is 0");
    EXPECT_BODY(set32(f->b + 12, 0x10000000), "bytes of tables");
    EXPECT_BODY(set32(f->b + 24, 0xffffffff), "bytes of tables");
    EXPECT_BODY(set32(f->b + 16, 40000), "max_start_address");
    EXPECT_BODY(set32(f->b + 20, 0x40000001), "main_mem_usage");
    EXPECT_BODY(set32(f->b + 20, 200), "node 15 (LOGISTIC): main_mem_out_address");
    EXPECT_BODY(set32(f->b + f->header_at[1] + 4, 22), "node 1 (QUANTIZE): body_size 22 is not");
    EXPECT_BODY(set32(f->b + f->header_at[21] + 4, 48), "at most 7 bytes may be missing");
    EXPECT_BODY(f->len -= 8, "at most 7 bytes may be missing");
    EXPECT_BODY(set32(f->b + f->header_at[5], 7), "node 5 (MAX_POOL2D): type: the SDK");
    EXPECT_BODY(set32(f->b + f->header_at[5], 19), "cannot run QUANTIZED_FULLY_CONNECTED");
    EXPECT_BODY(set32(f->b + f->header_at[5], 99), "node 5 (UNKNOWN): type: 99 is not");
    EXPECT_BODY(set32(f->b + f->header_at[5], 0), "cannot run INVALID");
    EXPECT_BODY(set32(f->b + f->header_at[0], 11), "starts a model only with");
    EXPECT_BODY(set32(f->b + 28, 280), "output 0: address 280");
    EXPECT_BODY(set32(f->b + 36 + 4, 0), "output 1: address 240, size 0");
    /* bodies */
    EXPECT_BODY(BODY(0, 5, 3), "node 0 (FULLY_CONNECTED): act: 3");
    EXPECT_BODY(BODY(0, 3, 0), "in_channels: must be positive");
    EXPECT_BODY(BODY(0, 4, 5), "node 0 (FULLY_CONNECTED): body_size");
    EXPECT_BODY(BODY(0, 1, 280), "main_mem_in_address: bytes 280..296");
    EXPECT_BODY(BODY(1, 3, 100), "node 1 (QUANTIZE): main_mem_in_address");
    EXPECT_BODY(BODY(1, 2, 287), "node 1 (QUANTIZE): mem_out_address");
    EXPECT_BODY(BODY(2, 3, 0), "node 2 (K210_UPLOAD): width: must be positive");
    EXPECT_BODY(BODY(2, 2, 32768), "node 2 (K210_UPLOAD): kpu_mem_out_address: row 32768");
    EXPECT_BODY((BODY(2, 2, 32767), BODY(2, 5, 5)),
                "node 2 (K210_UPLOAD): kpu_mem_out_address: a 5 x 2 x 2");
    EXPECT_BODY(BODY(3, 0, 3), "node 3 (K210_CONV): flags: 0x3");
    EXPECT_BODY(BODY(3, 2, v3_u32_of(f->b + f->body_at[3] + 8) + 4), "layer_offset: ");
    EXPECT_BODY(BODY(3, 2, 0xfffffff8), "layer_offset: bytes");
    EXPECT_BODY(BODY(3, 3, (f->len + 7) & ~7u), "weights_offset: bytes");
    EXPECT_BODY(BODY(3, 4, 3), "bn_offset: 3 is not a multiple of 8");
    EXPECT_BODY(BODY(3, 5, 0x80000000), "act_offset: bytes");
    EXPECT_BODY(BODY(3, 1, 285), "node 3 (K210_CONV): main_mem_out_address");
    EXPECT_BODY(ARG(2 * 4, 7), "layer argument: kernel_pool_type_cfg.kernel_type");
    EXPECT_BODY(ARG(2 * 4, 4 << 4), "layer argument: image_size.o_row_wid");
    EXPECT_BODY(ARG(0, 4), "layer argument: interrupt_enabe.full_add");
    EXPECT_BODY((BODY(4, 2, 32767), BODY(4, 3, 5)),
                "node 4 (K210_ADD_PADDING): kpu_mem_out_address");
    EXPECT_BODY(BODY(4, 3, 0), "node 4 (K210_ADD_PADDING): channels: must be positive");
    EXPECT_BODY(BODY(5, 3, 17), "node 5 (K210_REMOVE_PADDING): main_mem_in_address");
    EXPECT_BODY(BODY(8, 7, 64), "node 8 (QUANTIZED_ADD): in_a_shift: 64");
    EXPECT_BODY(BODY(8, 13, (uint32_t)-1), "node 8 (QUANTIZED_ADD): out_shift: -1");
    EXPECT_BODY(BODY(8, 4, 160), "node 8 (QUANTIZED_ADD): main_mem_out_address");
    EXPECT_BODY(BODY(10, 6, 3), "node 10 (QUANTIZED_MAX_POOL2D): sdk_pool2d: a window");
    EXPECT_BODY(BODY(10, 13, 0x80000000u), "padding_width: 2147483648 is larger");
    EXPECT_BODY(BODY(11, 7, 40), "node 11 (AVERAGE_POOL2D): main_mem_out_address");
    EXPECT_BODY(BODY(12, 3, 100), "node 12 (GLOBAL_AVERAGE_POOL2D): main_mem_in_address");
    EXPECT_BODY(BODY(14, 3, 0x40000000), "node 14 (SOFTMAX): main_mem_in_address");
    EXPECT_BODY(BODY(16, 2, 3), "node 16 (CONCAT): input_count: 3 ranges");
    EXPECT_BODY(BODY(16, 4, 300), "node 16 (CONCAT): inputs_mem[0]");
    EXPECT_BODY(BODY(17, 1, 284), "node 17 (QUANTIZED_CONCAT): main_mem_out_address");
    EXPECT_BODY(BODY(18, 5, 0x40000000), "node 18 (TENSORFLOW_FLATTEN): main_mem_in_address");
    EXPECT_BODY(BODY(19, 3, 0), "node 19 (RESIZE_NEAREST_NEIGHBOR): in_shape");
    EXPECT_BODY(BODY(20, 6, 100), "node 20 (QUANTIZED_RESIZE_NEAREST_NEIGHBOR): main_mem_out");
    EXPECT_BODY(BODY(21, 3, 3), "node 21 (CHANNELWISE_DEQUANTIZE): channels: 3 quantization");
    EXPECT_BODY(BODY(21, 4, 100), "node 21 (CHANNELWISE_DEQUANTIZE): main_mem_out_address");
    /* body too short for its type */
    EXPECT_BODY((m->body[9].len = 268, REBUILD), "node 9 (REQUANTIZE): body_size: 268 bytes");
    EXPECT_BODY((m->body[1].len = 20, REBUILD), "node 1 (QUANTIZE): body_size: 20 bytes");
    /* 16-bit weights (flags bit 0 clear): the layer then needs twice the weight bytes, which
     * this conv body has (8 bytes for 1 weight), so it compiles */
    {
        static model m;
        static file f;
        synthetic_file(&m, &f);
        set32(f.b + 4, 0);
        CHECK(robust(f.b, f.len, "16-bit weights", 0));
    }
    /* a tail up to 7 bytes short reads as zeros; more is refused (above) */
    {
        static model m;
        static file f;
        synthetic_file(&m, &f);
        CHECK(robust(f.b, f.len - 7, "7 bytes short", 0));
        /* extra bytes after the bodies are ignored */
        CHECK(robust(f.b, f.len + 1000, "extra bytes", 0));
    }
}

/* Every truncation, and one bit flipped in every byte (a different bit each time), of the
 * synthetic file; accepted mutants also run. */
static void test_mutations(void)
{
    static model m;
    static file f;
    static uint8_t copy[sizeof f.b];
    synthetic_file(&m, &f);
    int accepted = 0;
    for (uint32_t len = 0; len < f.len; len++) {
        int ok = robust(f.b, len, "truncated to", len);
        CHECK(ok == (len >= f.len - 7), "truncated to %u: %s", len, ok ? "accepted" : "refused");
    }
    for (uint32_t i = 0; i < f.len; i++) {
        memcpy(copy, f.b, f.len);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        if (robust(copy, f.len, "bit flip at", i)) {
            accepted++;
            run_zero(copy, f.len);
        }
    }
    CHECK(accepted > 0);
}

/* ---- the real models ------------------------------------------------------------------- */

static uint8_t *shared_file(const char *model_name, const char *name, size_t *len)
{
    const char *shared = getenv("DETVM_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/kmodel/%s/%s", shared && *shared ? shared : "../shared",
             model_name, name);
    return read_file(path, len);
}

static void test_real_mutations(const char *name, uint32_t stride, int flips)
{
    size_t len;
    uint8_t *b = shared_file(name, "model.kmodel", &len);
    if (!b) {
        SKIP("../shared/models/kmodel/%s is absent: no real v3 file to mutate", name);
        return;
    }
    CHECK(robust(b, len, name, 0));
    uint32_t headers = 28 + 8 * (v3_u32_of(b + 24) + v3_u32_of(b + 12));
    for (size_t cut = 0; cut < len; cut += cut < headers + 64 ? 1 : stride)
        CHECK(!robust(b, cut, "truncated to", (long)cut) || cut + 7 >= len);
    uint8_t *copy = flips ? malloc(len) : NULL;
    int runs = 0;
    for (uint32_t i = 0; copy && i < headers; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, b, len);
            copy[i] ^= (uint8_t)(1u << bit);
            if (robust(copy, len, "bit flip at", i) && runs++ % 4 == 0)
                run_zero(copy, len);
        }
    /* the layer bodies' fields (not the weights): the first 24 bytes of each body, and each
     * K210_CONV's layer argument block */
    uint32_t body = headers, n = v3_u32_of(b + 12);
    for (uint32_t l = 0; copy && l < n; l++) {
        uint32_t type = v3_u32_of(b + 28 + 8 * v3_u32_of(b + 24) + 8 * l);
        uint32_t size = v3_u32_of(b + 28 + 8 * v3_u32_of(b + 24) + 8 * l + 4);
        uint32_t spans[2][2] = {{body, size < 24 ? size : 24}, {0, 0}};
        if (type == 10240)
            spans[1][0] = v3_u32_of(b + body + 8), spans[1][1] = 96;
        for (int s = 0; s < 2; s++)
            for (uint32_t i = spans[s][0]; i < spans[s][0] + spans[s][1] && i < len; i++) {
                memcpy(copy, b, len);
                copy[i] ^= (uint8_t)(1u << (i % 8));
                if (robust(copy, len, "bit flip at", i) && runs++ % 4 == 0)
                    run_zero(copy, len);
            }
        body += size;
    }
    free(copy);
    free(b);
}

/* mnist's node 6 (K210_ADD_PADDING) wrote the 32 channel bytes at pixel (0, 0) of 4 x 4 KPU
 * maps; its dump holds just those bytes: compare them with pixel (0, 0) of each channel of
 * the map describe names. */
static void test_mnist_padding(void)
{
    size_t len, in_len, dump_len;
    uint8_t *b = shared_file("mnist_v3", "model.kmodel", &len);
    uint8_t *input = shared_file("mnist_v3", "inputs/random_0.bin", &in_len);
    uint8_t *dump = shared_file("mnist_v3", "layers/006_K210_ADD_PADDING.bin", &dump_len);
    if (!b || !input || !dump) {
        SKIP("../shared/models/kmodel/mnist_v3 is absent");
        free(b), free(input), free(dump);
        return;
    }
    km_node_result *nodes = NULL;
    uint32_t n = 0;
    uint8_t *module = NULL;
    size_t module_len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    if (km_describe(b, len, &nodes, &n, &err) || n != 11 || compile(b, len, &module, &module_len,
                                                                     &err) ||
        detvm_module_load(module, module_len, &m, &err) || detvm_session_new(m, &s, &err)) {
        CHECK(0, "mnist_v3: %s", err.message);
    } else {
        const km_node_result *node = &nodes[6];
        CHECK(node->kpu_map && node->mem == KM_KPU && node->dims[1] == 32 &&
              node->dims[2] == 4 && node->dims[3] == 4 && node->offset == 32736 * 64);
        detvm_module_info info;
        detvm_module_get_info(m, &info);
        uint32_t last = UINT32_MAX;
        for (uint32_t k = 0; k < info.n_instructions; k++) {
            detvm_layer_desc layer;
            if (!detvm_module_layer(m, k, &layer, &err) && strcmp(layer.name, node->name) == 0)
                last = k;
        }
        detvm_step step;
        uint8_t map[32 * 16];
        if (last != UINT32_MAX && dump_len == 32 &&
            !detvm_run_until(s, input, in_len, last, &step, &err)) {
            dv_kpu_download(step.outputs[0].data, node->offset, 1, 32, 4, 4, map);
            int same = 1;
            for (int c = 0; c < 32; c++)
                same &= map[16 * c] == dump[c];
            CHECK(same, "mnist_v3: 006_K210_ADD_PADDING differs from its dump");
        } else {
            CHECK(0, "mnist_v3: node 6 not run: %s", err.message);
        }
    }
    detvm_session_free(s);
    detvm_module_free(m);
    free(module);
    free(nodes);
    free(b), free(input), free(dump);
}

int main(void)
{
    test_synthetic();
    test_hostile_fields();
    test_mutations();
    test_real_mutations("iris_v3", 1, 1);
    test_real_mutations("mnist_v3", 997, 1);
    test_real_mutations("face_detect_v3", 9973, 0);
    test_mnist_padding();
    return check_summary("test_kmodel_v3_file");
}
