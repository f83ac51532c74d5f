/* The kmodel v4 reader (loader/kmodel_v4*.c) on broken and hostile files.
 *
 * A synthetic model built here (every op kind the nncase v0.2 runtime has, a KPU layer
 * included) must compile and run; then every truncation of it, a bit flip in every byte,
 * 0xff in every byte, and edge values (0, 1, 255, 2^31 - 1, -1, inf, NaN, ...) in every
 * 4-byte field must either compile into a module that runs, or fail with a one-line error
 * that starts with "kmodel:"; never crash (run it under SANITIZE=1). Named hostile
 * edits must fail naming their field. Real files from ../shared (when present): sampled
 * truncations and mutations, a short tail and trailing bytes accepted, km_describe. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "kmodel.h"
#include "kpu.h"

/* ---- building a model ---------------------------------------------------------------- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf;

static void put_bytes(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->b = realloc(b->b, b->cap);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void u32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_bytes(b, x, 4);
}

static void f32(buf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u32(b, u);
}

static void u8s(buf *b, const uint8_t *p, size_t n) { put_bytes(b, p, n); }

enum { CONST = 0, MAIN = 1, KPU = 2, F32 = 0, U8 = 1 };

static void rng(buf *b, uint32_t mem, uint32_t dt, uint32_t start, uint32_t size)
{
    u32(b, mem), u32(b, dt), u32(b, start), u32(b, size);
}

static void shape(buf *b, uint32_t a, uint32_t c, uint32_t d, uint32_t e)
{
    u32(b, a), u32(b, c), u32(b, d), u32(b, e);
}

/* padding h, w (before, after), filter h, w, stride h, w, dilation h, w */
static void window(buf *b, uint32_t fh, uint32_t fw)
{
    for (int i = 0; i < 4; i++)
        u32(b, 0);
    u32(b, fh), u32(b, fw), u32(b, 1), u32(b, 1), u32(b, 1), u32(b, 1);
}

static void act_full(buf *b) { f32(b, -0x1.fffffep127f), f32(b, 0x1.fffffep127f); }

#define MAX_NODES 40

typedef struct {
    buf head, consts, body[MAX_NODES];
    uint32_t op[MAX_NODES], n;
} model;

static buf *node(model *m, uint32_t opcode)
{
    m->op[m->n] = opcode;
    return &m->body[m->n++];
}

/* The KPU layer: 1x1, 2 -> 2 channels, 2x2, no pooling, src row 0, dst row 2. */
static void kpu_layer(buf *b)
{
    uint64_t w[DV_KPU_WORDS] = {0};
    dv_kpu_set(w, DV_KPU_IMAGE_SRC_ADDR, 0);
    dv_kpu_set(w, DV_KPU_IMAGE_DST_ADDR, 2);
    dv_kpu_set(w, DV_KPU_I_CH_NUM, 1);
    dv_kpu_set(w, DV_KPU_O_CH_NUM, 1);
    dv_kpu_set(w, DV_KPU_O_CH_NUM_COEF, 1);
    dv_kpu_set(w, DV_KPU_I_ROW_WID, 1);
    dv_kpu_set(w, DV_KPU_I_COL_HIGH, 1);
    dv_kpu_set(w, DV_KPU_O_ROW_WID, 1);
    dv_kpu_set(w, DV_KPU_O_COL_HIGH, 1);
    dv_kpu_set(w, DV_KPU_LOAD_PARA, 1);
    dv_kpu_set(w, DV_KPU_DMA_BURST_SIZE, 15);
    dv_kpu_set(w, DV_KPU_LOAD_COOR, 1);
    dv_kpu_set(w, DV_KPU_PARA_SIZE, 4);
    dv_kpu_set(w, DV_KPU_CHANNEL_SWITCH_ADDR, 2);
    dv_kpu_set(w, DV_KPU_ROW_SWITCH_ADDR, 1);
    dv_kpu_set(w, DV_KPU_COEF_GROUP, 4);
    dv_kpu_set(w, DV_KPU_LOAD_ACT, 1);
    dv_kpu_set(w, DV_KPU_WB_CHANNEL_SWITCH_ADDR, 2);
    dv_kpu_set(w, DV_KPU_WB_ROW_SWITCH_ADDR, 1);
    dv_kpu_set(w, DV_KPU_WB_GROUP, 4);
    dv_kpu_set(w, DV_KPU_SEND_DATA_OUT, 1);
    dv_kpu_set(w, DV_KPU_CHANNEL_BYTE_NUM, 3);
    dv_kpu_set(w, DV_KPU_DMA_TOTAL_BYTE, 7);
    for (int i = 0; i < DV_KPU_WORDS; i++)
        u32(b, (uint32_t)w[i]), u32(b, (uint32_t)(w[i] >> 32));
    /* batch norm: mul 1, shift 0, add 0 per channel; the paddings before it are 0 bytes */
    for (int c = 0; c < 2; c++)
        u32(b, 1), u32(b, 0);
    /* activation: 16 segments starting at the lowest x, mul 1, shift 0; bias 0 */
    for (int s = 0; s < 16; s++) {
        uint64_t seg = (uint64_t)0 | (uint64_t)1 << 8 | (uint64_t)0x800000000ull << 24;
        u32(b, (uint32_t)seg), u32(b, (uint32_t)(seg >> 32));
    }
    for (int i = 0; i < 4; i++)
        u32(b, 0);
    uint8_t weights[4] = {1, 2, 3, 4};
    u8s(b, weights, 4);
}

/* Main memory layout (bytes): input x f32[8] at 0; see each node for the rest. */
#define SYNTH_MAIN 624

static void build_synthetic(model *m)
{
    memset(m, 0, sizeof *m);
    /* constants: W f32[10][3] at 0, a byte table at 120 */
    for (int i = 0; i < 30; i++)
        f32(&m->consts, (float)(i % 7) * 0.25f - 0.5f);
    uint8_t table[256];
    for (int i = 0; i < 256; i++)
        table[i] = (uint8_t)(255 - i);
    u8s(&m->consts, table, 256);
    buf *b;
    b = node(m, 0x06); /* quantize x -> q u8[8] at 32 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, U8, 32, 8), u32(b, 128), f32(b, 10.0f);
    b = node(m, 0x03); /* dequantize q -> f32[8] at 40 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, F32, 40, 32), u32(b, 128), f32(b, 10.0f);
    b = node(m, 0x0E); /* exp -> 72 */
    rng(b, MAIN, F32, 40, 32), rng(b, MAIN, F32, 72, 32), u32(b, 3);
    b = node(m, 0x00); /* add with x -> 104 */
    rng(b, MAIN, F32, 72, 32), rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 104, 32), u32(b, 0);
    shape(b, 1, 1, 2, 4), shape(b, 1, 1, 2, 4), shape(b, 1, 1, 2, 4), act_full(b);
    b = node(m, 0x0C); /* transpose (1,1,2,4) -> 136 */
    rng(b, MAIN, F32, 104, 32), rng(b, MAIN, F32, 136, 32), shape(b, 1, 1, 2, 4);
    shape(b, 0, 1, 3, 2);
    b = node(m, 0x05); /* pad (1,1,4,2) by 1 row each side -> 168, 12 floats */
    rng(b, MAIN, F32, 136, 32), rng(b, MAIN, F32, 168, 48), shape(b, 1, 1, 4, 2);
    u32(b, 0), u32(b, 0), u32(b, 0), u32(b, 0), u32(b, 1), u32(b, 1), u32(b, 0), u32(b, 0);
    u32(b, F32), f32(b, 0.5f);
    b = node(m, 0x07); /* reduce sum to (1,1,1,2) -> 216 */
    rng(b, MAIN, F32, 168, 48), rng(b, MAIN, F32, 216, 8), u32(b, 3);
    shape(b, 1, 1, 6, 2), shape(b, 1, 1, 1, 2), f32(b, 0.0f);
    b = node(m, 0x01); /* concat (2 floats, x) -> 224, 40 bytes */
    rng(b, MAIN, F32, 224, 40), u32(b, 4), u32(b, 1), u32(b, 2);
    rng(b, MAIN, F32, 216, 8), rng(b, MAIN, F32, 0, 32), u32(b, 2), u32(b, 8);
    b = node(m, 0x04); /* matmul [1x10] x W[10x3] + bias -> 264 */
    rng(b, MAIN, F32, 224, 40), rng(b, CONST, F32, 0, 120), rng(b, MAIN, F32, 264, 12);
    u32(b, 1), u32(b, 10), u32(b, 3), act_full(b), f32(b, 0.1f), f32(b, 0.2f), f32(b, -0.3f);
    b = node(m, 0x0B); /* softmax -> 276 */
    rng(b, MAIN, F32, 264, 12), rng(b, MAIN, F32, 276, 12), u32(b, 3), u32(b, 1), f32(b, 1.0f);
    b = node(m, 0x11); /* quantized add q + q -> 288 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 288, 8), u32(b, 0);
    shape(b, 1, 1, 2, 4), shape(b, 1, 1, 2, 4), shape(b, 1, 1, 2, 4);
    u32(b, (uint32_t)-128), u32(b, 1), u32(b, 0), u32(b, (uint32_t)-128), u32(b, 1), u32(b, 0);
    u32(b, 128), u32(b, 1), u32(b, 1);
    b = node(m, 0x12); /* table lookup -> 296 */
    rng(b, MAIN, U8, 288, 8), rng(b, CONST, U8, 120, 256), rng(b, MAIN, U8, 296, 8);
    b = node(m, 0x2001); /* kpu_upload (1,2,2,2) -> KPU 0 */
    rng(b, MAIN, U8, 296, 8), rng(b, KPU, U8, 0, 128), shape(b, 1, 2, 2, 2);
    b = node(m, 0x2002); /* kpu_conv2d, its output also to main 304 */
    rng(b, MAIN, U8, 304, 8), u32(b, 1), u32(b, 0), kpu_layer(b);
    b = node(m, 0x03); /* dequantize -> 312 (output 0) */
    rng(b, MAIN, U8, 304, 8), rng(b, MAIN, F32, 312, 32), u32(b, 0), f32(b, 1.0f);
    b = node(m, 0x09); /* memory copy x -> 344 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 344, 32);
    b = node(m, 0x0D); /* strided slice every other column -> 376 */
    rng(b, MAIN, F32, 344, 32), rng(b, MAIN, F32, 376, 16), shape(b, 1, 1, 2, 4);
    shape(b, 0, 0, 0, 0), shape(b, 1, 1, 2, 4), shape(b, 1, 1, 1, 2);
    for (int i = 0; i < 5; i++)
        u32(b, 0);
    b = node(m, 0x0A); /* bilinear resize of q to 4x8 -> 392 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 392, 32), shape(b, 1, 1, 2, 4);
    u32(b, 4), u32(b, 8), u32(b, 0), u32(b, 0);
    b = node(m, 0x08); /* 2x2 max pool -> 424 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 424, 12), u32(b, 2), shape(b, 1, 1, 2, 4);
    window(b, 2, 2), f32(b, -0x1.fffffep127f), act_full(b);
    b = node(m, 0x02); /* conv2d 1x2, 2 output channels -> 436 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 436, 48), shape(b, 1, 1, 2, 4), u32(b, 1);
    u32(b, 2), window(b, 1, 2), act_full(b);
    f32(b, 1.0f), f32(b, -1.0f), f32(b, 0.5f), f32(b, 0.25f), f32(b, 0.0f), f32(b, 1.0f);
    b = node(m, 0x0F); /* quantized conv2d 2x2 -> 484 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 484, 3), shape(b, 1, 1, 2, 4), u32(b, 1), u32(b, 1);
    window(b, 2, 2), u32(b, (uint32_t)-128), u32(b, 0), u32(b, 1), u32(b, 2), u32(b, 128);
    u32(b, 7);
    uint8_t qw[4] = {1, 2, 3, 4};
    u8s(b, qw, 4);
    b = node(m, 0x14); /* nnil: 2x + 1 -> 488 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 488, 32);
    uint8_t prog[] = {0x03, 0x06, 0, 0, 0, 0x40, 0x42, 0x05, 0x40, 0xA0};
    u8s(b, prog, sizeof prog);
    b = node(m, 0x10); /* quantized matmul [2x4] x [4x1] -> 520 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 36, 4), rng(b, MAIN, U8, 520, 2);
    u32(b, 2), u32(b, 4), u32(b, 1), u32(b, (uint32_t)-128), u32(b, (uint32_t)-128), u32(b, 1);
    u32(b, 4), u32(b, 128), u32(b, 3);
    b = node(m, 0x13); /* conv2d transpose 2x2 to (1,1,3,5) -> 524 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 524, 60), shape(b, 1, 1, 2, 4), shape(b, 1, 1, 3, 5);
    u32(b, 1), window(b, 2, 2), act_full(b);
    f32(b, 1.0f), f32(b, 2.0f), f32(b, 3.0f), f32(b, 4.0f), f32(b, 9.0f);
    b = node(m, 0x1001); /* cpu conv2d NHWC (1,2,2,2), 1x1, 1 channel -> 584 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 584, 16), shape(b, 1, 2, 2, 2), u32(b, 1);
    window(b, 1, 1), act_full(b), f32(b, 1.0f), f32(b, -2.0f), f32(b, 0.5f);
    b = node(m, 0x1002); /* cpu depthwise 2x2 -> 600 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 600, 8), shape(b, 1, 2, 2, 2), window(b, 2, 2);
    act_full(b);
    for (int i = 0; i < 10; i++)
        f32(b, (float)i);
    b = node(m, 0x1003); /* cpu mean pool 2x2 -> 608 */
    rng(b, MAIN, F32, 0, 32), rng(b, MAIN, F32, 608, 8), u32(b, 0), shape(b, 1, 2, 2, 2);
    window(b, 2, 2), f32(b, 0.0f), act_full(b);
    b = node(m, 0x1004); /* cpu quantized conv2d 1x1 -> 616 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 616, 4), shape(b, 1, 2, 2, 2), u32(b, 1);
    window(b, 1, 1), u32(b, 128), u32(b, 128), u32(b, 1), u32(b, 1), u32(b, 128);
    uint8_t cw[2] = {129, 127};
    u8s(b, cw, 2), u32(b, 5);
    b = node(m, 0x1005); /* cpu quantized depthwise 2x2 -> 620 */
    rng(b, MAIN, U8, 32, 8), rng(b, MAIN, U8, 620, 2), shape(b, 1, 2, 2, 2), window(b, 2, 2);
    u32(b, 128), u32(b, 128), u32(b, 1), u32(b, 3), u32(b, 128);
    uint8_t dw[8] = {130, 126, 128, 129, 127, 131, 125, 128};
    u8s(b, dw, 8), u32(b, 1), u32(b, (uint32_t)-1);
}

/* The file bytes: header, tables, constants, node headers, bodies padded to 8. */
static uint8_t *assemble(model *m, size_t *len)
{
    buf f = {0};
    put_bytes(&f, "LDMK", 4);
    u32(&f, 4), u32(&f, 0), u32(&f, 1), u32(&f, (uint32_t)m->consts.n), u32(&f, SYNTH_MAIN);
    u32(&f, m->n), u32(&f, 1), u32(&f, 2), u32(&f, 0);
    rng(&f, MAIN, F32, 0, 32);
    shape(&f, 1, 1, 2, 4);
    rng(&f, MAIN, F32, 312, 32);
    rng(&f, MAIN, F32, 276, 12);
    put_bytes(&f, m->consts.b, m->consts.n);
    for (uint32_t i = 0; i < m->n; i++)
        u32(&f, m->op[i]), u32(&f, (uint32_t)((m->body[i].n + 7) & ~(size_t)7));
    for (uint32_t i = 0; i < m->n; i++) {
        static const uint8_t zeros[8] = {0};
        put_bytes(&f, m->body[i].b, m->body[i].n);
        put_bytes(&f, zeros, ((m->body[i].n + 7) & ~(size_t)7) - m->body[i].n);
    }
    for (uint32_t i = 0; i < m->n; i++)
        free(m->body[i].b);
    free(m->consts.b);
    *len = f.n;
    return f.b;
}

/* ---- compiling and running ------------------------------------------------------------ */

/* Compiles; on success runs once on `input` (or a default) and returns 1. On failure checks
 * that the error is one line starting with "kmodel:" and returns 0; `msg` gets it. */
static int try_model(const uint8_t *k, size_t len, const uint8_t *input, size_t input_len,
                     char *msg, size_t msg_cap, uint8_t **out, size_t *out_len)
{
    uint8_t *module = NULL;
    size_t module_len = 0;
    detvm_error err = {0};
    if (msg)
        msg[0] = 0;
    detvm_status st = detvm_compile_kmodel(k, len, NULL, &module, &module_len, &err);
    if (st) {
        CHECK(strncmp(err.message, "kmodel:", 7) == 0 && !strchr(err.message, '\n'),
              "error message: %s", err.message);
        if (msg)
            snprintf(msg, msg_cap, "%s", err.message);
        return 0;
    }
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    st = detvm_module_load(module, module_len, &m, &err);
    CHECK(st == DETVM_OK, "a compiled module does not load: %s", err.message);
    if (!st)
        st = detvm_session_new(m, &s, &err);
    if (!st) {
        detvm_module_info info;
        detvm_module_get_info(m, &info);
        uint8_t *o = calloc(1, info.output_len + 1);
        uint8_t *in = calloc(1, info.input_len + 1);
        if (input && input_len == info.input_len)
            memcpy(in, input, input_len);
        st = detvm_run(s, in, info.input_len, o, info.output_len, &err);
        CHECK(st == DETVM_OK, "a compiled module does not run: %s", err.message);
        if (out && !st) {
            *out = o;
            *out_len = info.output_len;
            o = NULL;
        }
        free(o);
        free(in);
    }
    detvm_session_free(s);
    detvm_module_free(m);
    free(module);
    return st == DETVM_OK;
}

/* Compiles only: 1 when the file compiles, else checks the error's form and returns 0. */
static int compile_only(const uint8_t *k, size_t len)
{
    uint8_t *module = NULL;
    size_t module_len = 0;
    detvm_error err = {0};
    detvm_status st = detvm_compile_kmodel(k, len, NULL, &module, &module_len, &err);
    if (st)
        CHECK(strncmp(err.message, "kmodel:", 7) == 0 && !strchr(err.message, '\n'),
              "error message: %s", err.message);
    free(module);
    return st == DETVM_OK;
}

/* The file with `patch` applied at `at` fails with an error containing `want`. */
static void expect_error(const uint8_t *k, size_t len, size_t at, const void *patch, size_t n,
                         const char *want, int line)
{
    uint8_t *c = malloc(len);
    memcpy(c, k, len);
    memcpy(c + at, patch, n);
    char msg[512];
    int ok = try_model(c, len, NULL, 0, msg, sizeof msg, NULL, NULL);
    CHECK(!ok && strstr(msg, want), "line %d: want an error with \"%s\", got \"%s\"", line, want,
          ok ? "(compiled)" : msg);
    free(c);
}

#define EXPECT_ERROR(k, len, at, want, ...)                                                  \
    do {                                                                                     \
        const uint32_t patch_[] = {__VA_ARGS__};                                             \
        expect_error(k, len, at, patch_, sizeof patch_, want, __LINE__);                     \
    } while (0)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Where node i's body starts in a v4 file. */
static size_t body_of(const uint8_t *k, uint32_t i)
{
    uint32_t n_in = le32(k + 28), n_out = le32(k + 32), nodes = le32(k + 24);
    size_t heads = 40 + 32 * (size_t)n_in + 16 * (size_t)n_out + le32(k + 16);
    size_t at = heads + 8 * (size_t)nodes;
    for (uint32_t j = 0; j < i; j++)
        at += le32(k + heads + 8 * j + 4);
    return at;
}

/* ---- the synthetic model -------------------------------------------------------------- */

static void test_synthetic(void)
{
    model m;
    build_synthetic(&m);
    uint32_t n_nodes = m.n;
    size_t len;
    uint8_t *k = assemble(&m, &len);
    float x[8] = {0.5f, -1.25f, 2.0f, 0.0f, 3.5f, -0.75f, 1.0f, 4.0f};
    uint8_t *out = NULL;
    size_t out_len = 0;
    char msg[512];
    int ok = try_model(k, len, (const uint8_t *)x, sizeof x, msg, sizeof msg, &out, &out_len);
    CHECK(ok, "the synthetic model: %s", msg);
    CHECK(out_len == 44, "outputs: %zu bytes", out_len);
    if (ok && out_len == 44) {
        /* output 1 is a softmax: three positive floats summing to about 1 */
        float sm[3];
        memcpy(sm, out + 32, sizeof sm);
        CHECK(sm[0] > 0 && sm[1] > 0 && sm[2] > 0 && fabsf(sm[0] + sm[1] + sm[2] - 1) < 1e-5f,
              "softmax output %g %g %g", sm[0], sm[1], sm[2]);
        /* the same input again: the same bytes */
        uint8_t *again = NULL;
        size_t again_len = 0;
        try_model(k, len, (const uint8_t *)x, sizeof x, NULL, 0, &again, &again_len);
        CHECK(again && again_len == out_len && memcmp(again, out, out_len) == 0,
              "two runs differ");
        free(again);
    }
    free(out);

    /* km_describe: one result per node, named as the dumps are */
    km_node_result *r = NULL;
    uint32_t n = 0;
    detvm_error err = {0};
    CHECK(km_describe(k, len, &r, &n, &err) == DETVM_OK && n == n_nodes, "describe: %s",
          err.message);
    if (r && n == n_nodes) {
        CHECK(strcmp(r[0].name, "000_Quantize") == 0 && r[0].mem == KM_MAIN && !r[0].kpu_map &&
                  r[0].offset == 32 && r[0].bytes == 8,
              "node 0: %s mem %d offset %u bytes %u", r[0].name, r[0].mem, r[0].offset,
              r[0].bytes);
        CHECK(strcmp(r[12].name, "012_KPUUpload") == 0 && r[12].kpu_map && r[12].offset == 0 &&
                  r[12].dims[1] == 2 && r[12].dims[3] == 2,
              "node 12: %s", r[12].name);
        CHECK(strcmp(r[13].name, "013_KPUConv2D") == 0 && r[13].kpu_map && r[13].mem == KM_KPU &&
                  r[13].offset == 128 && r[13].dims[0] == 1 && r[13].dims[1] == 2,
              "node 13: %s offset %u", r[13].name, r[13].offset);
        CHECK(strcmp(r[23].name, "023_QuantizedBinary") == 0, "node 23 (conv2d_transpose) is "
              "named as the runtime names it: %s", r[23].name);
    }
    free(r);

    /* every truncation: up to 7 bytes short compiles (zero padding), shorter fails */
    int short_ok = 1, long_fail = 1;
    for (size_t l = 0; l < len; l++) {
        int got = try_model(k, l, NULL, 0, NULL, 0, NULL, NULL);
        if (l + 7 >= len)
            short_ok &= got;
        else
            long_fail &= !got;
    }
    CHECK(short_ok, "a file up to 7 bytes short must compile");
    CHECK(long_fail, "a file more than 7 bytes short must fail");

    /* a flipped bit in every byte (bit i % 8), and 0xff in every byte */
    uint8_t *c = malloc(len);
    int compiled = 0, failed = 0;
    for (size_t i = 0; i < len; i++) {
        if (i >= 40 + 32 + 32 && i < 40 + 32 + 32 + 376)
            continue; /* the constants: data */
        for (int kind = 0; kind < 2; kind++) {
            memcpy(c, k, len);
            c[i] = kind ? 0xff : (uint8_t)(c[i] ^ (1u << (i % 8)));
            if (try_model(c, len, (const uint8_t *)x, sizeof x, NULL, 0, NULL, NULL))
                compiled++;
            else
                failed++;
        }
    }
    /* every 4-byte field set to edge values: sizes, offsets, counts, shifts, floats */
    static const uint32_t edges[] = {0, 1, 64, 256, 65535, 0x7fffffff, 0x80000000u,
                                     0xffffffffu, 0x7f800000u, 0xffc00000u};
    size_t consts_at = 40 + 32 + 32, consts_end = consts_at + 376; /* data, not structure */
    for (size_t i = 0; i + 4 <= len; i += 4) {
        if (i >= consts_at && i < consts_end)
            continue;
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
            memcpy(c, k, len);
            uint8_t v[4] = {(uint8_t)edges[e], (uint8_t)(edges[e] >> 8),
                            (uint8_t)(edges[e] >> 16), (uint8_t)(edges[e] >> 24)};
            memcpy(c + i, v, 4);
            if (try_model(c, len, (const uint8_t *)x, sizeof x, NULL, 0, NULL, NULL))
                compiled++;
            else
                failed++;
        }
    }
    CHECK(compiled > 0 && failed > 0, "mutations: %d compiled, %d failed", compiled, failed);
    fprintf(stderr, "synthetic: %zu bytes, %u nodes; %d mutations compiled and ran, %d refused\n",
            len, n_nodes, compiled, failed);

    /* trailing bytes are not the model's */
    uint8_t *longer = calloc(1, len + 1000);
    memcpy(longer, k, len);
    memset(longer + len, 0xa5, 1000);
    CHECK(try_model(longer, len + 1000, NULL, 0, NULL, 0, NULL, NULL),
          "trailing bytes must be accepted");
    free(longer);

    /* named hostile edits */
    size_t b3 = body_of(k, 3), b7 = body_of(k, 7), b13 = body_of(k, 13), b21 = body_of(k, 21);
    size_t heads = 40 + 32 + 32 + 376; /* node headers */
    EXPECT_ERROR(k, len, 0, "header: not a kmodel", 0x4c444d4c);
    EXPECT_ERROR(k, len, 4, "header: not a kmodel", 5);
    EXPECT_ERROR(k, len, 12, "target 7", 7);
    EXPECT_ERROR(k, len, 16, "constants and node headers need", 0x7fffffff);
    EXPECT_ERROR(k, len, 24, "node headers need", 0x10000000);
    EXPECT_ERROR(k, len, 28, "kmodel: ", 2); /* the tables shift: some field fails */
    EXPECT_ERROR(k, len, 40, "input 0: memory type 9 unknown", 9);
    EXPECT_ERROR(k, len, 40, "input 0: in the constants", 0);
    EXPECT_ERROR(k, len, 44, "input 0: datatype 3 unknown", 3);
    EXPECT_ERROR(k, len, 48, "input 0: bytes 700..732 lie outside main memory", 700);
    EXPECT_ERROR(k, len, 56, "input 0: shape: dim 0 is 0", 0);
    EXPECT_ERROR(k, len, 40, "input 0: in KPU RAM but not uint8", 2);
    EXPECT_ERROR(k, len, 72, "output 0: in the constants", 0);
    EXPECT_ERROR(k, len, 84, "output 0: 31 bytes is not a whole number of float32", 31);
    EXPECT_ERROR(k, len, heads, "node 0: opcode 0x77 is not an op", 0x77);
    EXPECT_ERROR(k, len, heads + 4, "node 0 (Quantize): body: 4000000000 bytes", 4000000000u);
    EXPECT_ERROR(k, len, heads + 4, "node 0 (Quantize): body: 8 bytes, the options need 40", 8);
    EXPECT_ERROR(k, len, b3 + 48, "node 3 (Binary): binary_op: 9 unknown", 9);
    EXPECT_ERROR(k, len, b3 + 52, "node 3 (Binary): in_a_shape: dim 0 is -1", 0xffffffff);
    EXPECT_ERROR(k, len, b3 + 40, "node 3 (Binary): output: bytes 10000..10032 lie outside main", 10000);
    EXPECT_ERROR(k, len, b3 + 44, "output: a range of 16 bytes, the op writes 32", 16);
    EXPECT_ERROR(k, len, b3 + 16, "input b: a range of 16 bytes, the op reads 32", MAIN, F32, 0, 16);
    EXPECT_ERROR(k, len, b3 + 32, "output: in the constants", CONST, F32, 0, 32);
    EXPECT_ERROR(k, len, b3 + 40, "output: bytes 80..112 overlap input 0", 80);
    EXPECT_ERROR(k, len, b7 + 24, "inputs_count: 0", 0);
    EXPECT_ERROR(k, len, b7 + 24, "inputs_count: 99", 99);
    EXPECT_ERROR(k, len, b21 + 32, "nncase_nnil_unary: program: unknown opcode", 0x77);
    EXPECT_ERROR(k, len, b21 + 32, "nncase_nnil_unary: program: the stack underflows", 0x40);
    EXPECT_ERROR(k, len, b13 + 16, "node 13 (KPUConv2D): batches: 0", 0);
    EXPECT_ERROR(k, len, b13 + 24 + 32, "kernel_type 7", 7);
    EXPECT_ERROR(k, len, b13 + 24 + 36, "padding before batch norm", 300);
    EXPECT_ERROR(k, len, b13 + 0, "main_mem_output: memory type 2", KPU, U8, 0, 8);
    EXPECT_ERROR(k, len, b13 + 12, "main_mem_output: a range of 4 bytes, the layer writes 8", 4);
    EXPECT_ERROR(k, len, b13 + 24 + 24, "node 13 (KPUConv2D): image_size.o_row_wid", 0x3ff);
    /* more than 7 bytes after a body's options */
    uint8_t *padded = calloc(1, len + 8);
    memcpy(padded, k, len);
    size_t last = heads + 8 * (n_nodes - 1) + 4;
    uint32_t size = le32(k + last) + 8;
    uint8_t le[4] = {(uint8_t)size, (uint8_t)(size >> 8), (uint8_t)(size >> 16), 0};
    memcpy(padded + last, le, 4);
    CHECK(!try_model(padded, len + 8, NULL, 0, msg, sizeof msg, NULL, NULL) &&
              strstr(msg, "node 28 (CPUQuantizedDepthwiseConv2D): body: 136 bytes, 12 after "
                          "the options"),
          "padding: %s", msg);
    free(padded);
    free(c);
    free(k);
}

/* ---- real files ----------------------------------------------------------------------- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void test_real(const char *dir, const char *name, const char *input)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s/model.kmodel", dir, name);
    size_t len;
    uint8_t *k = read_file(path, &len);
    snprintf(path, sizeof path, "%s/%s/inputs/%s.bin", dir, name, input);
    size_t in_len;
    uint8_t *in = read_file(path, &in_len);
    if (!k || !in) {
        CHECK(0, "%s: model or input missing", name);
        free(k);
        free(in);
        return;
    }
    uint8_t *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    CHECK(try_model(k, len, in, in_len, NULL, 0, &want, &want_len), "%s compiles", name);
    /* 1 MB of unrelated bytes after the last body, and the last 4 bytes missing (the last
     * body here has no padding, so they are its last field: the outputs may change) */
    uint8_t *longer = malloc(len + (1 << 20));
    memcpy(longer, k, len);
    for (size_t i = 0; i < (1 << 20); i++)
        longer[len + i] = (uint8_t)(i * 7);
    CHECK(try_model(longer, len + (1 << 20), in, in_len, NULL, 0, &got, &got_len) &&
              got_len == want_len && memcmp(got, want, want_len) == 0,
          "%s: trailing bytes change the outputs", name);
    free(got);
    got = NULL;
    free(longer);
    CHECK(try_model(k, len - 4, in, in_len, NULL, 0, NULL, NULL), "%s: 4 bytes short", name);
    /* truncations: every length through the node headers and every body boundary +-8,
     * then a sample */
    uint32_t nodes = le32(k + 24);
    size_t bodies = body_of(k, 0);
    uint8_t *c = malloc(len);
    int bad = 0;
    for (size_t l = 0; l < bodies && l + 7 < len; l += (l < 1024 ? 1 : 61))
        bad += compile_only(k, l);
    for (uint32_t i = 1; i < nodes; i++) {
        size_t at = body_of(k, i);
        static const int around[] = {-8, -1, 0, 1, 8};
        for (int j = 0; j < 5; j++)
            if (at + (size_t)(ptrdiff_t)around[j] + 7 < len)
                bad += compile_only(k, at + (size_t)(ptrdiff_t)around[j]);
    }
    CHECK(bad == 0, "%s: %d truncations compiled", name, bad);
    /* mutations of the header, the tables and the start of each body (the options; the
     * weights behind them are data), a bit or 0xff, sampled with a fixed seed; compiled
     * only: a mutated KPU layer may be a legal one of billions of operations (the synthetic
     * model's mutants are all run) */
    uint32_t seed = 12345;
    int compiled = 0, failed = 0;
    for (int t = 0; t < 300; t++) {
        uint32_t node_i = lcg(&seed) % (nodes + 1);
        size_t at = node_i == nodes ? lcg(&seed) % bodies
                                    : body_of(k, node_i) + lcg(&seed) % 136;
        if (at >= len)
            continue;
        memcpy(c, k, len);
        c[at] = (t & 1) ? 0xff : (uint8_t)(c[at] ^ (1u << (lcg(&seed) % 8)));
        if (compile_only(c, len))
            compiled++;
        else
            failed++;
    }
    fprintf(stderr, "%s: %d mutations compiled, %d refused\n", name, compiled, failed);
    /* describe agrees with the layer index for a few nodes */
    km_node_result *r = NULL;
    uint32_t n = 0;
    detvm_error err = {0};
    CHECK(km_describe(k, len, &r, &n, &err) == DETVM_OK && n == nodes, "%s: describe: %s", name,
          err.message);
    free(r);
    free(c);
    free(want);
    free(k);
    free(in);
}

static void test_real_describe(const char *dir)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/rfb320_v4/model.kmodel", dir);
    size_t len;
    uint8_t *k = read_file(path, &len);
    if (!k)
        return;
    km_node_result *r = NULL;
    uint32_t n = 0;
    detvm_error err = {0};
    if (km_describe(k, len, &r, &n, &err) == DETVM_OK && n == 109) {
        /* layers/index.tsv: 17 KPUUpload 4,16,17,22 kpu_byte_off=72704; 18 KPUConv2D
         * kpu_dst_row=592; 42 Concat bytes=230400 mem=1 start=318336 */
        CHECK(r[17].kpu_map && r[17].offset == 72704 && r[17].dims[0] == 4 &&
                  r[17].dims[1] == 16 && r[17].dims[2] == 17 && r[17].dims[3] == 22,
              "rfb320 node 17");
        CHECK(r[18].kpu_map && r[18].offset == 592 * 64 && r[18].dims[0] == 4, "rfb320 node 18");
        CHECK(!r[42].kpu_map && r[42].mem == KM_MAIN && r[42].offset == 318336 &&
                  r[42].bytes == 230400 && strcmp(r[42].name, "042_Concat") == 0,
              "rfb320 node 42");
    } else {
        CHECK(0, "rfb320 describe: %s", err.message);
    }
    free(r);
    free(k);
}

int main(void)
{
    test_synthetic();
    const char *shared = getenv("DETVM_SHARED");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models/kmodel", shared && *shared ? shared : "../shared");
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/iris_v4/model.kmodel", dir);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        SKIP("%s is absent: the real v4 files are not tested", dir);
        return check_summary("test_kmodel_v4_file");
    }
    fclose(f);
    test_real(dir, "iris_v4", "setosa");
    test_real(dir, "yolo20_v4_nncase02", "dog");
    test_real(dir, "rfb320_v4", "face");
    test_real_describe(dir);
    return check_summary("test_kmodel_v4_file");
}
