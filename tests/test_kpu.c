/* The KPU ops (ops/kpu.c): hand-computed layers, the RAM layout, activation rounding in both
 * semantics, random layers against a naive transcription of the documented arithmetic,
 * hostile attributes, and (when ../shared is present) every KPU layer of the real kmodels
 * replayed against the reference per-layer dumps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "corpus.h"
#include "kpu.h"
#include "op.h"

#define RAM_WORDS (DV_KPU_RAM_BYTES / 4)

/* ---- building layers ---- */

typedef struct {
    uint32_t in_c, out_c, in_w, in_h, kernel_type, pool, dw, src_row, dst_row, pad_value;
    int32_t arg_x, arg_w;
    uint32_t shr_x, shr_w;
    int64_t arg_add;
} spec;

static void make_words(const spec *s, uint64_t w[DV_KPU_WORDS])
{
    memset(w, 0, DV_KPU_WORDS * sizeof *w);
    uint32_t st = dv_kpu_pool_stride(s->pool);
    dv_kpu_set(w, DV_KPU_DEPTH_WISE_LAYER, s->dw);
    dv_kpu_set(w, DV_KPU_IMAGE_SRC_ADDR, s->src_row);
    dv_kpu_set(w, DV_KPU_IMAGE_DST_ADDR, s->dst_row);
    dv_kpu_set(w, DV_KPU_I_CH_NUM, s->in_c - 1);
    dv_kpu_set(w, DV_KPU_O_CH_NUM, s->out_c - 1);
    dv_kpu_set(w, DV_KPU_I_ROW_WID, s->in_w - 1);
    dv_kpu_set(w, DV_KPU_I_COL_HIGH, s->in_h - 1);
    dv_kpu_set(w, DV_KPU_O_ROW_WID, s->in_w / st - 1);
    dv_kpu_set(w, DV_KPU_O_COL_HIGH, s->in_h / st - 1);
    dv_kpu_set(w, DV_KPU_KERNEL_TYPE, s->kernel_type);
    dv_kpu_set(w, DV_KPU_POOL_TYPE, s->pool);
    dv_kpu_set(w, DV_KPU_PAD_VALUE, s->pad_value);
    dv_kpu_set(w, DV_KPU_LOAD_PARA, 1);
    dv_kpu_set(w, DV_KPU_ARG_X, (uint64_t)(int64_t)s->arg_x);
    dv_kpu_set(w, DV_KPU_ARG_W, (uint64_t)(int64_t)s->arg_w);
    dv_kpu_set(w, DV_KPU_SHR_X, s->shr_x);
    dv_kpu_set(w, DV_KPU_SHR_W, s->shr_w);
    dv_kpu_set(w, DV_KPU_ARG_ADD, (uint64_t)s->arg_add);
}

static void make_attrs(const spec *s, uint32_t batches, int32_t semantics, uint32_t main_off,
                       int32_t attrs[DV_KPU_CONV_ATTRS_MAX])
{
    uint64_t w[DV_KPU_WORDS];
    make_words(s, w);
    dv_kpu_words_to_attrs(w, attrs);
    attrs[DV_KPU_ATTR_BATCHES] = (int32_t)batches;
    attrs[DV_KPU_ATTR_MAIN_OFFSET] = (int32_t)main_off;
    attrs[DV_KPU_ATTR_SEMANTICS] = semantics;
    attrs[DV_KPU_ATTR_WEIGHT_BITS] = 8;
}

/* Images of raw bytes, as km_bytes makes them. */
static int32_t *bytes_image(const uint8_t *b, uint32_t n, dv_shape *shape)
{
    uint32_t words = (n + 3) / 4;
    int32_t *img = calloc(words ? words : 1, 4);
    for (uint32_t i = 0; i < n; i++)
        dv_image_put_u8(img, i, b[i]);
    shape->ndim = 1;
    shape->dim[0] = words;
    return img;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t bn_word(int32_t mul, int32_t add, uint32_t shift)
{
    return ((uint64_t)(uint32_t)mul & 0xffffff) | ((uint64_t)(uint32_t)add << 24) |
           ((uint64_t)(shift & 0xf) << 56);
}

typedef struct {
    int64_t start;
    int32_t mul;
    uint32_t shift;
    uint8_t add;
} seg;

static void act_table(const seg s[16], uint8_t out[DV_KPU_ACT_BYTES])
{
    for (int i = 0; i < 16; i++) {
        uint64_t w = (s[i].shift & 0xff) | ((uint64_t)(uint16_t)s[i].mul << 8) |
                     (((uint64_t)s[i].start & 0xfffffffffull) << 24);
        put_u64(out + 8 * i, w);
        out[128 + i] = s[i].add;
    }
}

#define MIN36 (-((int64_t)1 << 35))
#define MAX36 (((int64_t)1 << 35) - 1)

/* seg 0: everything below -> 0; seg 1 from start -1: y = x + 1 (v0.2) ... combined with a
 * batch norm adding -1 this is the identity on 0..255 in both semantics. */
static void identity_act(uint8_t out[DV_KPU_ACT_BYTES])
{
    seg s[16];
    for (int i = 0; i < 16; i++)
        s[i] = (seg){MAX36, 0, 0, 255};
    s[0] = (seg){MIN36, 0, 0, 0};
    s[1] = (seg){-1, 1, 0, 0};
    act_table(s, out);
}

/* Runs KPU_CONV2D (or _OUT when main != NULL) through the op table. */
typedef struct {
    int32_t *kpu_out, *main_out;
    const char *why;
} conv_result;

static conv_result run_conv(const int32_t *attrs, uint32_t n_attrs, const int32_t *kpu,
                            const uint8_t *wts, uint32_t wbytes, const uint8_t *bn, uint32_t bnbytes,
                            const uint8_t *act, const int32_t *main, uint32_t main_words)
{
    conv_result r = {NULL, NULL, NULL};
    dv_shape sh[5];
    dv_tensor in[5];
    sh[0].ndim = 1, sh[0].dim[0] = RAM_WORDS;
    in[0].data = (int32_t *)kpu, in[0].shape = sh[0];
    in[1].data = bytes_image(wts, wbytes, &sh[1]), in[1].shape = sh[1];
    in[2].data = bytes_image(bn, bnbytes, &sh[2]), in[2].shape = sh[2];
    in[3].data = bytes_image(act, DV_KPU_ACT_BYTES, &sh[3]), in[3].shape = sh[3];
    uint32_t n_in = 4;
    if (main) {
        sh[4].ndim = 1, sh[4].dim[0] = main_words;
        in[4].data = (int32_t *)main, in[4].shape = sh[4];
        n_in = 5;
    }
    const dv_op_info *op = dv_op_lookup(main ? DV_OP_KPU_CONV2D_OUT : DV_OP_KPU_CONV2D);
    dv_attrs a = {attrs, n_attrs};
    dv_shape osh[2];
    r.why = op->infer(&a, n_in, sh, op->n_outputs, osh);
    if (!r.why) {
        dv_tensor out[2];
        out[0].data = r.kpu_out = malloc(RAM_WORDS * 4), out[0].shape = osh[0];
        if (main) {
            out[1].data = r.main_out = malloc((size_t)main_words * 4);
            out[1].shape = osh[1];
        }
        int32_t *scratch = malloc((size_t)op->scratch(&a, n_in, sh) * 4 + 4);
        op->run(&a, n_in, in, op->n_outputs, out, scratch);
        free(scratch);
    }
    free(in[1].data), free(in[2].data), free(in[3].data);
    return r;
}

/* ---- the layout ---- */

static void test_layout(void)
{
    /* w = 10: 4 channels per row at 16-byte pitch. Channel 5 of a 3-line map: block 1
     * (1 * 3 * 64 = 192) + slot 1 (16); line 2: + 128; x 7. */
    CHECK(dv_kpu_addr(0, 10, 3, 5, 2, 7) == 343);
    /* w = 20: 2 channels per row at 32-byte pitch; w = 40: one channel a row. */
    CHECK(dv_kpu_addr(64, 20, 2, 3, 1, 0) == 64 + 128 + 32 + 64);
    CHECK(dv_kpu_addr(64, 40, 2, 3, 1, 0) == 64 + 3 * 128 + 64);
    /* w = 100: two rows per line. */
    CHECK(dv_kpu_addr(0, 100, 3, 2, 1, 70) == 2 * 2 * 3 * 64 + 128 + 70);
    CHECK(dv_kpu_map_rows(10, 3, 6) == 6);
    CHECK(dv_kpu_map_rows(10, 3, 1) == 3);
    CHECK(dv_kpu_map_rows(20, 2, 3) == 4);
    CHECK(dv_kpu_map_rows(40, 2, 3) == 6);
    CHECK(dv_kpu_map_rows(100, 3, 3) == 18);
    CHECK(dv_kpu_map_rows(64, 5, 7) == 35);
    CHECK(dv_kpu_map_check(0, 1, 1, 1, 1) == NULL);
    CHECK(dv_kpu_map_check(DV_KPU_RAM_BYTES - 64, 1, 1, 1, 1) == NULL);
    CHECK(dv_kpu_map_check(DV_KPU_RAM_BYTES - 63, 1, 1, 1, 1) != NULL);
    CHECK(dv_kpu_map_check(-64, 1, 1, 1, 1) != NULL);
    CHECK(dv_kpu_map_check(0, 2, 1024, 512, 1024) != NULL);
    CHECK(dv_kpu_map_check(0, 0xffffffffu, 1, 1, 1) != NULL);

    /* Upload then download gives the bytes back; bytes between lines keep their values;
     * a width that is a multiple of 64 is plain contiguous NCHW. */
    static int32_t ram[RAM_WORDS];
    const uint32_t dims[][4] = {{2, 6, 3, 10}, {1, 3, 2, 40}, {3, 2, 3, 100}, {1, 2, 2, 64}};
    for (int t = 0; t < 4; t++) {
        uint32_t n = dims[t][0], c = dims[t][1], h = dims[t][2], w = dims[t][3];
        uint32_t bytes = n * c * h * w;
        uint8_t *src = malloc(bytes), *back = malloc(bytes);
        for (uint32_t i = 0; i < bytes; i++)
            src[i] = (uint8_t)(i * 7 + 3);
        memset(ram, 0xa5, sizeof ram);
        dv_kpu_upload(ram, 128, n, c, h, w, src);
        dv_kpu_download(ram, 128, n, c, h, w, back);
        CHECK(memcmp(src, back, bytes) == 0, "layout %d", t);
        uint64_t total = n * dv_kpu_map_bytes(w, h, c), written = 0;
        for (uint32_t a = 0; a < 128 + total + 64; a++)
            written += dv_image_u8(ram, a) != 0xa5;
        CHECK(written <= bytes, "layout %d wrote outside its lines", t);
        CHECK(dv_image_u8(ram, 127) == 0xa5 && dv_image_u8(ram, 128 + (uint32_t)total) == 0xa5);
        if (w % 64 == 0)
            for (uint32_t i = 0; i < bytes; i++)
                CHECK(dv_image_u8(ram, 128 + i) == src[i]);
        free(src), free(back);
    }
}

/* ---- the field decoder ---- */

static void test_decode(void)
{
    uint64_t w[DV_KPU_WORDS] = {0};
    dv_kpu_set(w, DV_KPU_ARG_X, 0xffffff);          /* -1 in 24 bits */
    dv_kpu_set(w, DV_KPU_ARG_W, 0x800000);          /* -2^23 */
    dv_kpu_set(w, DV_KPU_ARG_ADD, 0x8000000000ull); /* -2^39 */
    dv_kpu_set(w, DV_KPU_I_ROW_WID, 1023);
    dv_kpu_set(w, DV_KPU_O_CH_NUM, 1023);
    dv_kpu_set(w, DV_KPU_DMA_TOTAL_BYTE, 0xffffffff);
    dv_kpu_set(w, DV_KPU_IMAGE_DST_ADDR, 0x7fff);
    dv_kpu_set(w, DV_KPU_RESERVED_9, 1);
    int32_t attrs[24];
    dv_kpu_words_to_attrs(w, attrs);
    dv_kpu_layer l;
    dv_kpu_decode(attrs, &l);
    CHECK(l.arg_x == -1 && l.arg_w == -(1 << 23) && l.arg_add == -((int64_t)1 << 39));
    CHECK(l.in_w == 1024 && l.out_c == 1024 && l.dma_total_byte == 0xffffffffu);
    CHECK(l.dst_row == 0x7fff && l.reserved == 1);
    CHECK(w[9] >> 56 == 1);
    /* Every field is where the SDK's bitfields put it: the table tiles each word. */
    for (int word = 0; word < DV_KPU_WORDS; word++) {
        uint64_t covered = 0;
        for (int f = 0; f < DV_KPU_FIELD_COUNT; f++)
            if (dv_kpu_fields[f].word == word) {
                uint64_t m = (dv_kpu_fields[f].bits == 64 ? ~0ull
                                                           : ((1ull << dv_kpu_fields[f].bits) - 1))
                             << dv_kpu_fields[f].shift;
                CHECK((covered & m) == 0, "field %s overlaps", dv_kpu_fields[f].name);
                covered |= m;
            }
        CHECK(covered == ~0ull, "word %d not tiled", word);
    }
    dv_kpu_netinfo ni;
    spec s = {3, 16, 320, 240, 1, DV_KPU_POOL_MAX_2_S2, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    make_words(&s, w);
    dv_kpu_set(w, DV_KPU_PARA_SIZE, 432);
    dv_kpu_decode_words(w, &l);
    dv_kpu_netinfo_of(&l, &ni);
    CHECK(ni.wi == 320 && ni.hi == 240 && ni.wo == 160 && ni.ho == 120 && ni.chi == 3 &&
          ni.cho == 16 && ni.dw == 0 && ni.kernel_type == 1 && ni.pool_type == 1 &&
          ni.para_size == 432);
    CHECK(dv_kpu_weights_bytes(&l, 8) == 3 * 16 * 9 && dv_kpu_weights_bytes(&l, 16) == 864);
}

/* ---- hand-computed layers ---- */

/* 1x1, 2 -> 1 channels, 2x2 map. Input ch0 = 1 2 3 4, ch1 = 4 6 7 8; weights 2, 3;
 * arg_x = -3 >> 1, arg_w = 5 >> 2, arg_add = -4 (times 2 input channels); batch norm
 * mul -3, shift 2, add 100; activation y = x + 1 (segment 1 from -1).
 *   value  = 14, 22, 27, 32;  sum_x = 5, 8, 10, 12;  -3*sum_x >> 1 = -8, -12, -15, -18
 *   sum_w = 5: 25 >> 2 = 6;   arg_add * 2 = -8
 *   conv   = 4, 8, 10, 12
 *   bn     = (-12 >> 2) + 100 = 97, (-24 >> 2) + 100 = 94, (-30 >> 2) + 100 = 92, 91
 *   y      = 98, 95, 93, 92 */
static void test_hand_1x1(void)
{
    static int32_t ram[RAM_WORDS];
    memset(ram, 0, sizeof ram);
    spec s = {2, 1, 2, 2, 0, 0, 0, 10, 20, 0, -3, 5, 1, 2, -4};
    const uint8_t input[8] = {1, 2, 3, 4, 4, 6, 7, 8}, wts[2] = {2, 3};
    dv_kpu_upload(ram, 10 * 64, 1, 2, 2, 2, input);
    uint8_t bn[8], act[DV_KPU_ACT_BYTES];
    put_u64(bn, bn_word(-3, 100, 2));
    identity_act(act);
    int32_t attrs[DV_KPU_CONV_ATTRS_MAX];
    for (int sem = 0; sem < 2; sem++) {
        make_attrs(&s, 1, sem, 0, attrs);
        conv_result r = run_conv(attrs, DV_KPU_CONV_ATTRS, ram, wts, 2, bn, 8, act, NULL, 0);
        CHECK(r.why == NULL, "%s", r.why);
        if (r.why)
            continue;
        uint8_t out[4];
        dv_kpu_download(r.kpu_out, 20 * 64, 1, 1, 2, 2, out);
        /* In SDK semantics bn >= -1 also takes segment 1 (start <= x): the same here. */
        CHECK(out[0] == 98 && out[1] == 95 && out[2] == 93 && out[3] == 92, "%d %d %d %d",
              out[0], out[1], out[2], out[3]);
        /* The input is untouched, everything else of KPU RAM too. */
        uint8_t in_back[8];
        dv_kpu_download(r.kpu_out, 10 * 64, 1, 2, 2, 2, in_back);
        CHECK(memcmp(in_back, input, 8) == 0);
        free(r.kpu_out);
    }
}

/* 3x3 over a 3x3 map of 1..9 with pad value 10, all weights 1: the window sums are
 *   62 51 66 / 57 45 63 / 74 69 78
 * (e.g. corner (0,0): 10+10+10 + 10+1+2 + 10+4+5). Batch norm identity with add 0 and
 * y = x + 1; depthwise and normal give the same for one channel; arg_add = 7 adds 7 once. */
static void test_hand_3x3(void)
{
    static int32_t ram[RAM_WORDS];
    memset(ram, 0, sizeof ram);
    const uint8_t input[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wts[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const uint8_t want[9] = {62, 51, 66, 57, 45, 63, 74, 69, 78};
    dv_kpu_upload(ram, 0, 1, 1, 3, 3, input);
    uint8_t bn[8], act[DV_KPU_ACT_BYTES];
    put_u64(bn, bn_word(1, 0, 0));
    identity_act(act);
    for (uint32_t dw = 0; dw < 2; dw++) {
        spec s = {1, 1, 3, 3, 1, 0, dw, 0, 1, 10, 0, 0, 0, 0, 7};
        int32_t attrs[DV_KPU_CONV_ATTRS_MAX];
        make_attrs(&s, 1, DV_KPU_NNCASE_V02, 0, attrs);
        conv_result r = run_conv(attrs, DV_KPU_CONV_ATTRS, ram, wts, 9, bn, 8, act, NULL, 0);
        CHECK(r.why == NULL, "%s", r.why);
        if (r.why)
            continue;
        uint8_t out[9];
        dv_kpu_download(r.kpu_out, 64, 1, 1, 3, 3, out);
        for (int i = 0; i < 9; i++)
            CHECK(out[i] == want[i] + 7 + 1, "dw %u pixel %d: %d", dw, i, out[i]);
        free(r.kpu_out);
    }
}

/* Every pooling mode over one 4x4 channel (1x1 conv with weight 1, batch norm add -1 and
 * y = x + 1: the identity), values
 *    10  20  30  41 /  50  60  70  81 /  90 100 110 121 / 130 140 150 255 */
static void test_hand_pool(void)
{
    static const uint8_t plane[16] = {10, 20, 30, 41, 50, 60, 70, 81,
                                      90, 100, 110, 121, 130, 140, 150, 255};
    static const struct {
        uint32_t type, n;
        uint8_t want[16];
    } cases[] = {
        {DV_KPU_POOL_BYPASS, 16, {10, 20, 30, 41, 50, 60, 70, 81, 90, 100, 110, 121, 130, 140, 150, 255}},
        {DV_KPU_POOL_MAX_2_S2, 4, {60, 81, 140, 255}},
        {DV_KPU_POOL_MEAN_2_S2, 4, {35, 55, 115, 159}},          /* 222/4 = 55.5 -> 55 */
        {DV_KPU_POOL_MAX_4_S4, 1, {255}},
        {DV_KPU_POOL_MEAN_4_S4, 1, {91}},                        /* 1458/16 = 91.125 */
        {DV_KPU_POOL_LEFT_TOP_2_S2, 4, {10, 30, 90, 110}},
        {DV_KPU_POOL_RIGHT_TOP_2_S2, 4, {20, 41, 100, 121}},
        {DV_KPU_POOL_LEFT_TOP_4_S4, 1, {10}},
        /* windows clamped into the plane at the right and bottom edges */
        {DV_KPU_POOL_MEAN_2_S1, 16, {35, 45, 55, 61, 75, 85, 95, 101, 115, 125, 159, 188, 135, 145, 202, 255}},
        /* pixels outside the plane count as 0 */
        {DV_KPU_POOL_MAX_2_S1, 16, {60, 70, 81, 81, 100, 110, 121, 121, 140, 150, 255, 255, 140, 150, 255, 255}},
    };
    static int32_t ram[RAM_WORDS];
    memset(ram, 0, sizeof ram);
    dv_kpu_upload(ram, 0, 1, 1, 4, 4, plane);
    const uint8_t wts[1] = {1};
    uint8_t bn[8], act[DV_KPU_ACT_BYTES];
    put_u64(bn, bn_word(1, -1, 0));
    identity_act(act);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        spec s = {1, 1, 4, 4, 0, cases[t].type, 0, 0, 100, 0, 0, 0, 0, 0, 0};
        int32_t attrs[DV_KPU_CONV_ATTRS_MAX];
        make_attrs(&s, 1, DV_KPU_NNCASE_V02, 0, attrs);
        conv_result r = run_conv(attrs, DV_KPU_CONV_ATTRS, ram, wts, 1, bn, 8, act, NULL, 0);
        CHECK(r.why == NULL, "pool %u: %s", cases[t].type, r.why);
        if (r.why)
            continue;
        uint32_t side = cases[t].n == 16 ? 4 : cases[t].n == 4 ? 2 : 1;
        uint8_t out[16];
        dv_kpu_download(r.kpu_out, 100 * 64, 1, 1, side, side, out);
        CHECK(memcmp(out, cases[t].want, cases[t].n) == 0, "pool type %u", cases[t].type);
        free(r.kpu_out);
    }
}

/* Activation: segment choice at the boundaries and the two roundings. */
static void test_activation(void)
{
    seg s[16];
    uint8_t raw[DV_KPU_ACT_BYTES];
    dv_shape sh;
    for (int i = 0; i < 16; i++)
        s[i] = (seg){MAX36, 0, 0, 255};
    s[0] = (seg){MIN36, 0, 0, 7};
    s[1] = (seg){0, 1, 0, 0};
    s[2] = (seg){100, 2, 1, 50};
    act_table(s, raw);
    int32_t *act = bytes_image(raw, DV_KPU_ACT_BYTES, &sh);
    /* v0.2: the last segment with start < x */
    CHECK(dv_kpu_activate(act, -5, 0) == 7);
    CHECK(dv_kpu_activate(act, 0, 0) == 7);
    CHECK(dv_kpu_activate(act, 1, 0) == 1);
    CHECK(dv_kpu_activate(act, 100, 0) == 100);
    CHECK(dv_kpu_activate(act, 101, 0) == 51);  /* (1 * 2) shifted by 1, + 50 */
    CHECK(dv_kpu_activate(act, 400, 0) == 255); /* 300 + 50 clamps */
    /* SDK: the last segment with start <= x */
    CHECK(dv_kpu_activate(act, 0, 1) == 0);
    CHECK(dv_kpu_activate(act, 100, 1) == 50);
    CHECK(dv_kpu_activate(act, 101, 1) == 51);
    /* below every start: segment 0 (defined by detvm; the reference reads outside) */
    s[0].start = 0;
    act_table(s, raw);
    free(act);
    act = bytes_image(raw, DV_KPU_ACT_BYTES, &sh);
    CHECK(dv_kpu_activate(act, -1000, 0) == 7);  /* segment 0: (x - 0) * 0 + 7 */
    CHECK(dv_kpu_activate(act, -1000, 1) == 7);
    free(act);

    /* Rounding of a shift by 2: t = x - 100 with mul +1, or -(x - 100) with mul -1;
     * add 100 shows negative results.
     *   v0.2 (tie: to odd-integral + sign; frac > half: + sign, so negatives go one lower):
     *     t = 1 -> 0, 2 -> 0, 3 -> 1, 6 -> 2, 10 -> 2, -1 -> -2, -2 -> -2, -3 -> -1, -4 -> -1
     *   SDK (v >>= 1; odd: +1, or -1 when negative; then >> 1):
     *     t = 1 -> 0, 2 -> 1, 3 -> 1, 6 -> 2, 10 -> 3, -1 -> -2, -2 -> -2, -3 -> -1, -4 -> -1 */
    for (int i = 0; i < 16; i++)
        s[i] = (seg){MAX36, 0, 0, 255};
    s[0] = (seg){MIN36, 0, 0, 0};
    for (int sign = 0; sign < 2; sign++) {
        s[1] = (seg){90, sign ? -1 : 1, 2, 100};
        act_table(s, raw);
        act = bytes_image(raw, DV_KPU_ACT_BYTES, &sh);
        static const int t_pos[] = {1, 2, 3, 6, 10}, v02_pos[] = {0, 0, 1, 2, 2},
                         sdk_pos[] = {0, 1, 1, 2, 3};
        static const int t_neg[] = {1, 2, 3, 4}, v02_neg[] = {-2, -2, -1, -1},
                         sdk_neg[] = {-2, -2, -1, -1};
        if (!sign) {
            for (int i = 0; i < 5; i++) {
                CHECK(dv_kpu_activate(act, 90 + t_pos[i], 0) == 100 + v02_pos[i], "v02 t=%d",
                      t_pos[i]);
                CHECK(dv_kpu_activate(act, 90 + t_pos[i], 1) == 100 + sdk_pos[i], "sdk t=%d",
                      t_pos[i]);
            }
        } else {
            for (int i = 0; i < 4; i++) {
                CHECK(dv_kpu_activate(act, 90 + t_neg[i], 0) == 100 + v02_neg[i], "v02 t=-%d",
                      t_neg[i]);
                CHECK(dv_kpu_activate(act, 90 + t_neg[i], 1) == 100 + sdk_neg[i], "sdk t=-%d",
                      t_neg[i]);
            }
        }
        free(act);
    }
    /* Shift counts past the operand width, as x86-64 reduces them: 64 -> 0 for v0.2
     * (t itself); the SDK's v >>= 63 leaves 0 for a small positive t. */
    s[1] = (seg){90, 1, 64, 100};
    act_table(s, raw);
    act = bytes_image(raw, DV_KPU_ACT_BYTES, &sh);
    CHECK(dv_kpu_activate(act, 95, 0) == 105);
    CHECK(dv_kpu_activate(act, 95, 1) == 100);
    free(act);
    /* Wrapping: a product beyond int64 wraps modulo 2^64 instead of trapping. */
    s[15] = (seg){MIN36, -32768, 0, 0};
    act_table(s, raw);
    act = bytes_image(raw, DV_KPU_ACT_BYTES, &sh);
    CHECK(dv_kpu_activate(act, INT64_MAX, 0) == 0); /* (2^63-1 + 2^35) * -2^15 wraps */
    free(act);
}

/* ---- random layers against a naive transcription of the documented arithmetic ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static uint32_t rnd_in(uint32_t lo, uint32_t hi) { return lo + rnd() % (hi - lo + 1); }

static int64_t floor_shift(int64_t v, uint32_t s) { return v >= 0 ? v >> s : -((-v - 1) >> s) - 1; }

/* The naive reference: every output pixel from scratch, reading KPU RAM by address. */
static uint8_t naive_act(const uint8_t *raw, int64_t x, int sem)
{
    int pick = 0;
    for (int i = 15; i >= 0; i--) {
        uint64_t w = 0;
        for (int b = 0; b < 8; b++)
            w |= (uint64_t)raw[8 * i + b] << (8 * b);
        int64_t start = (int64_t)(w >> 24 & 0xfffffffffull);
        if (start & ((int64_t)1 << 35))
            start -= (int64_t)1 << 36;
        if (sem ? start <= x : x > start) {
            pick = i;
            break;
        }
    }
    uint64_t w = 0;
    for (int b = 0; b < 8; b++)
        w |= (uint64_t)raw[8 * pick + b] << (8 * b);
    int64_t start = (int64_t)(w >> 24 & 0xfffffffffull);
    if (start & ((int64_t)1 << 35))
        start -= (int64_t)1 << 36;
    int64_t mul = (int16_t)(uint16_t)(w >> 8);
    uint32_t sh = (uint32_t)(w & 0xff);
    /* wrap to int64 as the reference does */
    uint64_t tu = (uint64_t)x - (uint64_t)start;
    tu *= (uint64_t)mul;
    int64_t t;
    memcpy(&t, &tu, 8);
    int64_t r;
    if (sh == 0) {
        r = t;
    } else if (sem == 0) {
        uint32_t n = sh & 63;
        int64_t integral = floor_shift(t, n);
        uint64_t frac = (uint64_t)t & (n ? (1ull << n) - 1 : 0);
        uint32_t k = (sh - 1) & 31;
        uint64_t half = k == 31 ? 0xffffffff80000000ull : 1ull << k;
        int64_t sign = t < 0 ? -1 : 1;
        r = frac < half ? integral : frac > half ? integral + sign
                                   : (integral & 1) ? integral + sign : integral;
    } else {
        int64_t v = floor_shift(t, (sh - 1) & 63);
        r = (v & 1) ? (v < 0 ? floor_shift(v, 1) - 1 : floor_shift(v, 1) + 1) : floor_shift(v, 1);
    }
    uint64_t yu = (uint64_t)r + raw[128 + pick];
    int64_t y;
    memcpy(&y, &yu, 8);
    return (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
}

static void naive_layer(const spec *s, uint32_t batches, int sem, uint32_t wbits,
                        const uint8_t *wts, const uint8_t *bn, const uint8_t *act,
                        const int32_t *ram_in, uint8_t *out /* batches x NCHW */)
{
    uint32_t f = s->kernel_type ? 3 : 1, pad = f / 2, st = dv_kpu_pool_stride(s->pool);
    uint32_t k = dv_kpu_pool_size(s->pool), ow = s->in_w / st, oh = s->in_h / st;
    uint32_t in_rows = (uint32_t)dv_kpu_map_rows(s->in_w, s->in_h, s->in_c);
    uint8_t *plane = malloc((size_t)s->in_w * s->in_h);
    for (uint32_t b = 0; b < batches; b++) {
        uint64_t base = (uint64_t)(s->src_row + b * in_rows) * 64;
        for (uint32_t oc = 0; oc < s->out_c; oc++) {
            uint64_t bw = 0;
            for (int i = 0; i < 8; i++)
                bw |= (uint64_t)bn[8 * oc + i] << (8 * i);
            int64_t mul = (int64_t)(bw & 0xffffff);
            if (mul & 0x800000)
                mul -= 0x1000000;
            int64_t add = (int32_t)(uint32_t)(bw >> 24);
            uint32_t bsh = (uint32_t)(bw >> 56 & 15);
            for (uint32_t y = 0; y < s->in_h; y++)
                for (uint32_t x = 0; x < s->in_w; x++) {
                    int64_t value = 0, sx = 0, sw = 0;
                    uint32_t n_ic = s->dw ? 1 : s->in_c;
                    for (uint32_t i = 0; i < n_ic; i++) {
                        uint32_t ic = s->dw ? oc : i;
                        for (uint32_t ky = 0; ky < f; ky++)
                            for (uint32_t kx = 0; kx < f; kx++) {
                                int iy = (int)y + (int)ky - (int)pad,
                                    ix = (int)x + (int)kx - (int)pad;
                                int64_t xv = iy < 0 || ix < 0 || iy >= (int)s->in_h ||
                                                     ix >= (int)s->in_w
                                                 ? s->pad_value
                                                 : dv_image_u8(ram_in,
                                                               (uint32_t)dv_kpu_addr(base, s->in_w, s->in_h, ic,
                                                                                     (uint32_t)iy, (uint32_t)ix));
                                uint32_t widx = (s->dw ? oc : oc * s->in_c + i) * f * f + ky * f + kx;
                                int64_t wv = wbits == 8 ? wts[widx]
                                                        : wts[2 * widx] | wts[2 * widx + 1] << 8;
                                value += xv * wv, sx += xv, sw += wv;
                            }
                    }
                    int64_t conv = value + floor_shift((int64_t)s->arg_x * sx, s->shr_x) +
                                   floor_shift((int64_t)s->arg_w * sw, s->shr_w) +
                                   s->arg_add * (int64_t)n_ic;
                    uint64_t pw = (uint64_t)conv * (uint64_t)mul; /* wraps */
                    int64_t pv;
                    memcpy(&pv, &pw, 8);
                    uint64_t bnu = (uint64_t)floor_shift(pv, bsh) + (uint64_t)add;
                    int64_t bnv;
                    memcpy(&bnv, &bnu, 8);
                    plane[y * s->in_w + x] = naive_act(act, bnv, sem);
                }
            for (uint32_t oy = 0; oy < oh; oy++)
                for (uint32_t ox = 0; ox < ow; ox++) {
                    uint32_t v = 0;
                    switch (s->pool) {
                    case 1: case 3: case 9:
                        for (uint32_t a = 0; a < k; a++)
                            for (uint32_t c = 0; c < k; c++) {
                                uint32_t yy = oy * st + a, xx = ox * st + c;
                                uint32_t p = yy < s->in_h && xx < s->in_w ? plane[yy * s->in_w + xx] : 0;
                                v = p > v ? p : v;
                            }
                        break;
                    case 2: case 4: case 8:
                        for (uint32_t a = 0; a < k; a++)
                            for (uint32_t c = 0; c < k; c++) {
                                uint32_t yy = oy * st + a, xx = ox * st + c;
                                yy = yy < s->in_h ? yy : s->in_h - 1;
                                xx = xx < s->in_w ? xx : s->in_w - 1;
                                v += plane[yy * s->in_w + xx];
                            }
                        v /= k * k;
                        break;
                    case 6:
                        v = plane[oy * 2 * s->in_w + ox * 2 + 1];
                        break;
                    default:
                        v = plane[oy * st * s->in_w + ox * st];
                    }
                    out[(((size_t)b * s->out_c + oc) * oh + oy) * ow + ox] = (uint8_t)v;
                }
        }
    }
    free(plane);
}

static void random_layer(int case_no)
{
    spec s;
    memset(&s, 0, sizeof s);
    s.kernel_type = rnd() & 1;
    s.pool = rnd_in(0, 9);
    uint32_t st = dv_kpu_pool_stride(s.pool);
    s.dw = rnd() % 3 == 0;
    s.in_c = rnd_in(1, 12);
    s.out_c = s.dw ? s.in_c : rnd_in(1, 12);
    static const uint32_t widths[] = {1, 3, 4, 8, 15, 16, 17, 31, 32, 33, 64, 70};
    s.in_w = widths[rnd() % 12];
    s.in_h = rnd_in(1, 9);
    if (s.in_w < st)
        s.in_w = st;
    if (s.in_h < st)
        s.in_h = st;
    s.pad_value = rnd() & 255;
    s.arg_x = (int32_t)(rnd() % (1 << 24)) - (1 << 23);
    s.arg_w = (int32_t)(rnd() % (1 << 24)) - (1 << 23);
    s.shr_x = rnd() & 15, s.shr_w = rnd() & 15;
    s.arg_add = (int64_t)rnd_in(0, 1u << 20) - (1 << 19);
    uint32_t batches = rnd_in(1, 3);
    uint32_t in_rows = (uint32_t)dv_kpu_map_rows(s.in_w, s.in_h, s.in_c);
    uint32_t out_rows = (uint32_t)dv_kpu_map_rows(s.in_w / st, s.in_h / st, s.out_c);
    s.src_row = rnd_in(0, 200);
    s.dst_row = rnd() % 4 == 0 ? s.src_row + batches * in_rows
                               : s.src_row + batches * in_rows + rnd_in(0, 50);
    if (batches == 1 && rnd() % 4 == 0)
        s.dst_row = s.src_row; /* in place: the input is read before writing */
    int sem = rnd() & 1;
    uint32_t wbits = rnd() % 4 == 0 ? 16 : 8;
    uint32_t f = s.kernel_type ? 3 : 1;
    uint32_t wn = (s.dw ? s.out_c : s.in_c * s.out_c) * f * f * (wbits / 8);
    uint8_t *wts = malloc(wn), *bn = malloc(8 * s.out_c), act[DV_KPU_ACT_BYTES];
    for (uint32_t i = 0; i < wn; i++)
        wts[i] = (uint8_t)rnd();
    /* batch norm: moderate multipliers mostly, occasionally extreme ones that wrap */
    for (uint32_t c = 0; c < s.out_c; c++) {
        int32_t mul = rnd() % 8 == 0 ? (int32_t)(rnd() % (1 << 24)) - (1 << 23)
                                     : (int32_t)rnd_in(0, 4000) - 2000;
        put_u64(bn + 8 * c, bn_word(mul, (int32_t)rnd(), rnd() & 15));
    }
    seg sg[16];
    int64_t start = MIN36;
    for (int i = 0; i < 16; i++) {
        sg[i] = (seg){start, (int32_t)(rnd() % 65536) - 32768, rnd() % 5 == 0 ? rnd() & 255 : rnd() & 31,
                      (uint8_t)rnd()};
        start += (int64_t)(rnd() % (1u << 31)) * (rnd() % 8 + 1);
        if (rnd() % 6 == 0)
            sg[i].start = MAX36; /* unsorted tables are legal too */
    }
    act_table(sg, act);

    static int32_t ram[RAM_WORDS];
    for (uint32_t i = 0; i < RAM_WORDS; i++)
        ram[i] = (int32_t)rnd();
    uint32_t main_words = 16384, main_off = rnd_in(0, 100);
    int32_t *main = calloc(main_words, 4);
    int32_t attrs[DV_KPU_CONV_ATTRS_MAX];
    make_attrs(&s, batches, sem, main_off, attrs);
    attrs[DV_KPU_ATTR_WEIGHT_BITS] = (int32_t)wbits;
    uint32_t n_attrs = wbits == 8 && rnd() & 1 ? DV_KPU_CONV_ATTRS : DV_KPU_CONV_ATTRS_MAX;
    conv_result r = run_conv(attrs, n_attrs, ram, wts, wn, bn, 8 * s.out_c, act, main, main_words);
    CHECK(r.why == NULL, "random %d: %s", case_no, r.why);
    if (!r.why) {
        uint32_t ow = s.in_w / st, oh = s.in_h / st, per = s.out_c * oh * ow;
        uint8_t *want = malloc((size_t)batches * per), *got = malloc((size_t)batches * per);
        naive_layer(&s, batches, sem, wbits, wts, bn, act, ram, want);
        dv_kpu_download(r.kpu_out, s.dst_row * 64, batches, s.out_c, oh, ow, got);
        CHECK(memcmp(want, got, (size_t)batches * per) == 0,
              "random %d: kpu output differs (pool %u dw %u k %u sem %d bits %u)", case_no,
              s.pool, s.dw, s.kernel_type, sem, wbits);
        int main_ok = 1;
        for (uint32_t i = 0; i < batches * per; i++)
            main_ok &= dv_image_u8(r.main_out, main_off + i) == want[i];
        CHECK(main_ok, "random %d: main output differs", case_no);
        CHECK(main_off == 0 || dv_image_u8(r.main_out, main_off - 1) == 0);
        CHECK(dv_image_u8(r.main_out, main_off + batches * per) == 0);
        /* Bytes outside the output lines are unchanged. */
        uint32_t out_lo = s.dst_row * 64, out_hi = out_lo + batches * out_rows * 64;
        int rest_ok = 1;
        for (uint32_t a = 0; a < DV_KPU_RAM_BYTES; a += 61)
            if (a < out_lo || a >= out_hi)
                rest_ok &= dv_image_u8(r.kpu_out, a) == dv_image_u8(ram, a);
        CHECK(rest_ok, "random %d: wrote outside its output", case_no);
        free(want), free(got);
    }
    free(r.kpu_out), free(r.main_out), free(main), free(wts), free(bn);
}

/* ---- KPU_UPLOAD ---- */

static void test_upload_op(void)
{
    const dv_op_info *op = dv_op_lookup(DV_OP_KPU_UPLOAD);
    static int32_t ram[RAM_WORDS], out_ram[RAM_WORDS];
    memset(ram, 0x11, sizeof ram);
    /* kind 0: the model's plain input, 2 x 3 x 5 x 20 */
    int32_t plain[600];
    uint8_t bytes[600], back[600];
    for (int i = 0; i < 600; i++)
        plain[i] = (int32_t)(bytes[i] = (uint8_t)(i * 13));
    dv_shape sh[2] = {{1, {RAM_WORDS}}, {4, {2, 3, 5, 20}}};
    int32_t a0[7] = {0, 0, 2, 3, 5, 20, 640};
    dv_attrs attrs = {a0, 7};
    dv_shape osh;
    CHECK(op->infer(&attrs, 2, sh, 1, &osh) == NULL);
    dv_tensor in[2] = {{ram, sh[0]}, {plain, sh[1]}}, out = {out_ram, osh};
    op->run(&attrs, 2, in, 1, &out, NULL);
    dv_kpu_download(out_ram, 640, 2, 3, 5, 20, back);
    CHECK(memcmp(bytes, back, 600) == 0);
    CHECK(dv_image_u8(out_ram, 639) == 0x11 && dv_image_u8(out_ram, 640 + 20) == 0x11);
    /* kind 1: from a main memory image at offset 3 */
    int32_t main[200];
    memset(main, 0, sizeof main);
    for (int i = 0; i < 600 && i + 3 < 800; i++)
        dv_image_put_u8(main, 3 + (uint32_t)i, bytes[i]);
    dv_shape msh = {1, {200}};
    int32_t a1[7] = {1, 3, 1, 2, 7, 33, 0};
    attrs.v = a1;
    dv_shape sh1[2] = {sh[0], msh};
    CHECK(op->infer(&attrs, 2, sh1, 1, &osh) == NULL);
    dv_tensor in1[2] = {{ram, sh[0]}, {main, msh}};
    op->run(&attrs, 2, in1, 1, &out, NULL);
    dv_kpu_download(out_ram, 0, 1, 2, 7, 33, back);
    CHECK(memcmp(bytes, back, 2 * 7 * 33) == 0);

    /* hostile attributes */
    static const int32_t bad[][7] = {
        {2, 0, 1, 1, 1, 1, 0},                      /* kind */
        {0, 4, 2, 3, 5, 20, 0},                     /* offset with a plain source */
        {0, 0, 2, 3, 5, 21, 0},                     /* element count */
        {0, 0, 0, 3, 5, 20, 0},                     /* n = 0 */
        {0, 0, 2, -3, 5, 20, 0},                    /* negative */
        {0, 0, 2, 3, 5, 20, -64},                   /* dst before RAM */
        {0, 0, 2, 3, 5, 20, (2 << 20) - 64},        /* dst past RAM */
        {0, 0, 2, 3, 5, 20, 0x7fffffff},
        {0, 0, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        attrs.v = bad[i];
        CHECK(op->infer(&attrs, 2, sh, 1, &osh) != NULL, "bad upload %zu accepted", i);
    }
    static const int32_t bad_img[][7] = {
        {1, 190 * 4, 1, 2, 7, 33, 0}, /* source past main */
        {1, -1, 1, 1, 1, 1, 0},
    };
    for (size_t i = 0; i < 2; i++) {
        attrs.v = bad_img[i];
        CHECK(op->infer(&attrs, 2, sh1, 1, &osh) != NULL, "bad upload image %zu", i);
    }
    attrs.v = a0;
    attrs.n = 6;
    CHECK(op->infer(&attrs, 2, sh, 1, &osh) != NULL);
    attrs.n = 7;
    dv_shape small[2] = {{1, {RAM_WORDS - 1}}, sh[1]};
    CHECK(op->infer(&attrs, 2, small, 1, &osh) != NULL);
}

/* ---- hostile KPU_CONV2D attributes ---- */

static const char *infer_conv(const int32_t *attrs, uint32_t n_attrs, uint32_t w_words,
                              uint32_t bn_words, uint32_t act_words, int out, uint32_t main_words)
{
    const dv_op_info *op = dv_op_lookup(out ? DV_OP_KPU_CONV2D_OUT : DV_OP_KPU_CONV2D);
    dv_shape sh[5] = {{1, {RAM_WORDS}}, {1, {w_words}}, {1, {bn_words}}, {1, {act_words}},
                      {1, {main_words}}};
    dv_attrs a = {attrs, n_attrs};
    dv_shape osh[2];
    return op->infer(&a, out ? 5 : 4, sh, out ? 2 : 1, osh);
}

static void test_hostile_conv(void)
{
    /* a valid base: 4 -> 6 channels, 3x3, 20 x 10, max 2 s2 */
    spec s = {4, 6, 20, 10, 1, DV_KPU_POOL_MAX_2_S2, 0, 100, 300, 0, 0, 0, 0, 0, 0};
    int32_t base[DV_KPU_CONV_ATTRS_MAX], a[DV_KPU_CONV_ATTRS_MAX];
    make_attrs(&s, 1, 0, 0, base);
    const uint32_t ww = (4 * 6 * 9 + 3) / 4, bw = 12, aw = 36;
    CHECK(infer_conv(base, 27, ww, bw, aw, 0, 0) == NULL);
    CHECK(infer_conv(base, 28, ww, bw, aw, 0, 0) == NULL);
    CHECK(infer_conv(base, 27, ww, bw, aw, 1, 1000) == NULL);

#define BAD(field, value, what)                                                           \
    do {                                                                                  \
        uint64_t w[DV_KPU_WORDS];                                                         \
        dv_kpu_words_from_attrs(base, w);                                                 \
        dv_kpu_set(w, field, value);                                                      \
        memcpy(a, base, sizeof a);                                                        \
        dv_kpu_words_to_attrs(w, a);                                                      \
        const char *why = infer_conv(a, 27, ww, bw, aw, 0, 0);                            \
        CHECK(why != NULL, "%s accepted", what);                                          \
    } while (0)
    BAD(DV_KPU_KERNEL_TYPE, 2, "kernel_type 2");
    BAD(DV_KPU_KERNEL_TYPE, 7, "kernel_type 7");
    BAD(DV_KPU_POOL_TYPE, 10, "pool_type 10");
    BAD(DV_KPU_POOL_TYPE, 15, "pool_type 15");
    BAD(DV_KPU_POOL_TYPE, 0, "pool bypass with halved output");
    BAD(DV_KPU_O_ROW_WID, 10, "output width");
    BAD(DV_KPU_O_COL_HIGH, 0, "output height");
    BAD(DV_KPU_DEPTH_WISE_LAYER, 1, "depthwise 4 -> 6");
    BAD(DV_KPU_FULL_ADD, 1, "full_add");
    BAD(DV_KPU_PAD_TYPE, 1, "pad_type");
    BAD(DV_KPU_FIRST_STRIDE, 1, "first_stride");
    BAD(DV_KPU_BYPASS_CONV, 1, "bypass_conv");
    BAD(DV_KPU_BWSX_BASE_ADDR, 64, "bn address");
    BAD(DV_KPU_PARA_START_ADDR, 1, "weights address");
    BAD(DV_KPU_ACTIVE_ADDR, 0x80000000u, "act address");
    BAD(DV_KPU_IMAGE_SRC_ADDR, 32767, "input past RAM");
    BAD(DV_KPU_IMAGE_DST_ADDR, 32767, "output past RAM");
    BAD(DV_KPU_I_CH_NUM, 1023, "weights size (channels)");
    BAD(DV_KPU_O_CH_NUM, 6, "bn size (channels)");
    BAD(DV_KPU_I_ROW_WID, 1023, "input width with output mismatch");
#undef BAD
    /* the whole geometry enormous: 1024 channels of 1024 x 512 does not fit */
    {
        uint64_t w[DV_KPU_WORDS];
        dv_kpu_words_from_attrs(base, w);
        dv_kpu_set(w, DV_KPU_I_CH_NUM, 1023), dv_kpu_set(w, DV_KPU_O_CH_NUM, 1023);
        dv_kpu_set(w, DV_KPU_I_ROW_WID, 1023), dv_kpu_set(w, DV_KPU_I_COL_HIGH, 511);
        dv_kpu_set(w, DV_KPU_O_ROW_WID, 511), dv_kpu_set(w, DV_KPU_O_COL_HIGH, 255);
        dv_kpu_words_to_attrs(w, a);
        memcpy(a + 24, base + 24, 4 * sizeof *a);
        CHECK(infer_conv(a, 27, 1024 * 1024 * 9 / 4, 2048, 36, 0, 0) != NULL);
    }
    memcpy(a, base, sizeof a);
    a[DV_KPU_ATTR_BATCHES] = 0;
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_BATCHES] = -5;
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_BATCHES] = 0x7fffffff;
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_BATCHES] = 200; /* batch 0's output (row 300) is batch 10's input */
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_BATCHES] = 1;
    a[DV_KPU_ATTR_SEMANTICS] = 2;
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_SEMANTICS] = -1;
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_SEMANTICS] = 0;
    a[DV_KPU_ATTR_WEIGHT_BITS] = 12;
    CHECK(infer_conv(a, 28, ww, bw, aw, 0, 0) != NULL);
    a[DV_KPU_ATTR_WEIGHT_BITS] = 16; /* twice the weights now */
    CHECK(infer_conv(a, 28, ww, bw, aw, 0, 0) != NULL);
    CHECK(infer_conv(a, 28, 2 * 4 * 6 * 9 / 4, bw, aw, 0, 0) == NULL);
    CHECK(infer_conv(base, 26, ww, bw, aw, 0, 0) != NULL);
    CHECK(infer_conv(base, 29, ww, bw, aw, 0, 0) != NULL);
    CHECK(infer_conv(base, 27, ww + 1, bw, aw, 0, 0) != NULL);
    CHECK(infer_conv(base, 27, ww, bw - 2, aw, 0, 0) != NULL);
    CHECK(infer_conv(base, 27, ww, bw, 35, 0, 0) != NULL);
    memcpy(a, base, sizeof a);
    a[DV_KPU_ATTR_MAIN_OFFSET] = 4;
    CHECK(infer_conv(a, 27, ww, bw, aw, 0, 0) != NULL); /* no main output in KPU_CONV2D */
    /* _OUT: 6 x 5 x 10 = 300 bytes from the offset must fit main memory */
    CHECK(infer_conv(a, 27, ww, bw, aw, 1, 76) == NULL);
    CHECK(infer_conv(a, 27, ww, bw, aw, 1, 75) != NULL);
    a[DV_KPU_ATTR_MAIN_OFFSET] = -4;
    CHECK(infer_conv(a, 27, ww, bw, aw, 1, 1000) != NULL);
    a[DV_KPU_ATTR_MAIN_OFFSET] = 0x7ffffff0;
    CHECK(infer_conv(a, 27, ww, bw, aw, 1, 1000) != NULL);
    /* a batch whose output lands on a later batch's input */
    {
        spec o = {4, 4, 20, 10, 1, 0, 0, 100, 110, 0, 0, 0, 0, 0, 0}; /* 20 rows a map */
        make_attrs(&o, 2, 0, 0, a);
        CHECK(infer_conv(a, 27, 4 * 4 * 9 / 4, 8, 36, 0, 0) != NULL);
        o.dst_row = 140;
        make_attrs(&o, 2, 0, 0, a);
        CHECK(infer_conv(a, 27, 4 * 4 * 9 / 4, 8, 36, 0, 0) == NULL);
        o.dst_row = 80; /* batch 1's output over batch 0's input: already read, fine */
        make_attrs(&o, 2, 0, 0, a);
        CHECK(infer_conv(a, 27, 4 * 4 * 9 / 4, 8, 36, 0, 0) == NULL);
    }
    /* the KPU image must be 2 MiB */
    {
        const dv_op_info *op = dv_op_lookup(DV_OP_KPU_CONV2D);
        dv_shape sh[4] = {{1, {RAM_WORDS / 2}}, {1, {ww}}, {1, {bw}}, {1, {aw}}};
        dv_attrs at = {base, 27};
        dv_shape osh[1];
        CHECK(op->infer(&at, 4, sh, 1, osh) != NULL);
        sh[0] = (dv_shape){2, {RAM_WORDS / 2, 2}};
        CHECK(op->infer(&at, 4, sh, 1, osh) != NULL);
    }
}

/* Mutations of a valid layer: whatever infer accepts must run inside its buffers (this test
 * is meant to be run under ASan and UBSan, `make test SANITIZE=1`). */
static void test_mutations(void)
{
    static int32_t ram[RAM_WORDS];
    int accepted = 0;
    for (int t = 0; t < 400; t++) {
        spec s = {3, 5, 12, 6, 1, DV_KPU_POOL_MEAN_2_S1, 0, 30, 90, 4, 9, -9, 3, 3, 77};
        int32_t a[DV_KPU_CONV_ATTRS_MAX];
        int out = rnd() & 1;
        make_attrs(&s, 1 + rnd() % 2, (int32_t)(rnd() & 1), out ? rnd() % 64 : 0, a);
        uint64_t w[DV_KPU_WORDS];
        dv_kpu_words_from_attrs(a, w);
        int n = 1 + (int)(rnd() % 3);
        for (int k = 0; k < n; k++) {
            enum dv_kpu_field f = (enum dv_kpu_field)(rnd() % DV_KPU_FIELD_COUNT);
            uint64_t v = (uint64_t)rnd() << 32 | rnd();
            if (rnd() & 1)
                v &= 0xf;
            dv_kpu_set(w, f, v);
        }
        dv_kpu_words_to_attrs(w, a);
        dv_kpu_layer l;
        dv_kpu_decode(a, &l);
        uint32_t wbytes = l.filter ? dv_kpu_weights_bytes(&l, 8) : 1;
        if (wbytes > (1u << 22))
            continue;
        uint8_t *wts = calloc(wbytes ? wbytes : 1, 1), *bn = calloc(8 * l.out_c, 1);
        uint8_t act[DV_KPU_ACT_BYTES];
        for (uint32_t i = 0; i < wbytes; i++)
            wts[i] = (uint8_t)rnd();
        for (uint32_t i = 0; i < 8 * l.out_c; i++)
            bn[i] = (uint8_t)rnd();
        for (uint32_t i = 0; i < DV_KPU_ACT_BYTES; i++)
            act[i] = (uint8_t)rnd();
        int32_t main[600] = {0};
        conv_result r = run_conv(a, 27, ram, wts, wbytes, bn, 8 * l.out_c, act,
                                 out ? main : NULL, 600);
        accepted += r.why == NULL;
        free(r.kpu_out), free(r.main_out), free(wts), free(bn);
    }
    CHECK(accepted > 10, "only %d mutated layers accepted", accepted);
}

/* ---- the real models' KPU layers against the reference dumps ---- */

static uint32_t le32(const uint8_t *b, size_t at) { return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | (uint32_t)b[at + 3] << 24; }

typedef struct {
    const char *dir;
    uint8_t *model;
    size_t len;
    int32_t *ram;
    int layers, failures;
} replay;

/* Runs one KPU_CONV2D through the op table on the replayed RAM and compares the output map
 * with layers/NNN_<name>.bin. */
static void replay_conv(replay *rp, uint32_t node, const char *name, size_t layer_at,
                        uint32_t batches, size_t bn_at, size_t act_at, size_t w_at)
{
    int32_t attrs[DV_KPU_CONV_ATTRS];
    for (int i = 0; i < 24; i++)
        attrs[i] = (int32_t)le32(rp->model, layer_at + 4 * (size_t)i);
    uint64_t w[DV_KPU_WORDS];
    dv_kpu_words_from_attrs(attrs, w);
    dv_kpu_set(w, DV_KPU_BWSX_BASE_ADDR, 0);
    dv_kpu_set(w, DV_KPU_PARA_START_ADDR, 0);
    dv_kpu_set(w, DV_KPU_ACTIVE_ADDR, 0);
    dv_kpu_words_to_attrs(w, attrs);
    attrs[DV_KPU_ATTR_BATCHES] = (int32_t)batches;
    attrs[DV_KPU_ATTR_MAIN_OFFSET] = 0;
    attrs[DV_KPU_ATTR_SEMANTICS] = DV_KPU_NNCASE_V02;
    dv_kpu_layer l;
    dv_kpu_decode(attrs, &l);
    CHECK(dv_kpu_check_hardware(&l, 8) == NULL, "%s node %u: hardware fields", rp->dir, node);
    uint32_t wb = dv_kpu_weights_bytes(&l, 8);
    if (w_at + wb > rp->len || bn_at + 8 * l.out_c > rp->len || act_at + 144 > rp->len) {
        CHECK(0, "%s node %u: constants outside the file", rp->dir, node);
        return;
    }
    conv_result r = run_conv(attrs, DV_KPU_CONV_ATTRS, rp->ram, rp->model + w_at, wb,
                             rp->model + bn_at, 8 * l.out_c, rp->model + act_at, NULL, 0);
    CHECK(r.why == NULL, "%s node %u: %s", rp->dir, node, r.why);
    if (r.why)
        return;
    memcpy(rp->ram, r.kpu_out, DV_KPU_RAM_BYTES);
    free(r.kpu_out);
    char path[1200];
    snprintf(path, sizeof path, "%s/layers/%03u_%s.bin", rp->dir, node, name);
    size_t n;
    uint8_t *dump = read_file(path, &n);
    size_t want = (size_t)batches * l.out_c * l.out_h * l.out_w;
    if (!dump) {
        CHECK(0, "%s missing", path);
        return;
    }
    uint8_t *got = malloc(want);
    dv_kpu_download(rp->ram, l.dst_row * 64, batches, l.out_c, l.out_h, l.out_w, got);
    size_t diff = 0;
    for (size_t i = 0; i < want && i < n; i++)
        diff += got[i] != dump[i];
    rp->layers++;
    rp->failures += diff || n != want;
    CHECK(diff == 0 && n == want, "%s: %zu of %zu bytes differ", path, diff, want);
    free(got), free(dump);
}

static void replay_model(const char *dir, const char *input)
{
    replay rp = {dir, NULL, 0, calloc(RAM_WORDS, 4), 0, 0};
    char path[1200];
    snprintf(path, sizeof path, "%s/model.kmodel", dir);
    rp.model = read_file(path, &rp.len);
    snprintf(path, sizeof path, "%s/inputs/%s.bin", dir, input);
    size_t in_len;
    uint8_t *in = read_file(path, &in_len);
    if (!rp.model || !in) {
        SKIP("%s: model or input missing", dir);
        free(rp.model), free(in), free(rp.ram);
        return;
    }
    const uint8_t *m = rp.model;
    if (le32(m, 0) == 3) { /* v3: K210_CONV, K210_ADD_PADDING (from its dump) */
        uint32_t nl = le32(m, 12), outs = le32(m, 24);
        size_t hdr = 28 + 8 * (size_t)outs, body = hdr + 8 * (size_t)nl;
        for (uint32_t i = 0; i < nl; i++) {
            uint32_t type = le32(m, hdr + 8 * i), size = le32(m, hdr + 8 * i + 4);
            if (type == 10240) {
                size_t lo = le32(m, body + 8);
                if (i == 0) {
                    int32_t at[24];
                    for (int k = 0; k < 24; k++)
                        at[k] = (int32_t)le32(m, lo + 4 * (size_t)k);
                    dv_kpu_layer l;
                    dv_kpu_decode(at, &l);
                    if ((uint64_t)l.in_c * l.in_h * l.in_w == in_len)
                        dv_kpu_upload(rp.ram, l.src_row * 64, 1, l.in_c, l.in_h, l.in_w, in);
                }
                replay_conv(&rp, i, "K210_CONV", lo, 1, le32(m, body + 16), le32(m, body + 20),
                            le32(m, body + 12));
            } else if (type == 10241) {
                snprintf(path, sizeof path, "%s/layers/%03u_K210_ADD_PADDING.bin", dir, i);
                size_t n;
                uint8_t *d = read_file(path, &n);
                for (uint32_t c = 0; d && c < le32(m, body + 12) && c < n; c++)
                    dv_image_put_u8(rp.ram, (uint32_t)dv_kpu_addr(le32(m, body + 8) * 64ull, 4, 4, c, 0, 0), d[c]);
                free(d);
            }
            body += size;
        }
    } else { /* v4: KPUConv2D, KPUUpload (from its dump), a KPU input */
        uint32_t consts = le32(m, 16), nodes = le32(m, 24), ni = le32(m, 28), no = le32(m, 32);
        if (le32(m, 40) == 2) {
            size_t sh = 40 + 16 * (size_t)ni;
            dv_kpu_upload(rp.ram, le32(m, 48), le32(m, sh), le32(m, sh + 4), le32(m, sh + 8),
                          le32(m, sh + 12), in);
        }
        size_t hdr = 40 + 32 * (size_t)ni + 16 * (size_t)no + consts, body = hdr + 8 * (size_t)nodes;
        for (uint32_t i = 0; i < nodes; i++) {
            uint32_t op = le32(m, hdr + 8 * i), size = le32(m, hdr + 8 * i + 4);
            if (op == 0x2002) {
                size_t lo = body + 24, at = lo + 96;
                uint32_t oc = (le32(m, lo + 20) & 0x3ff) + 1;
                at += le32(m, lo + 36); /* bwsx_base_addr: padding before bn */
                size_t bn_at = at;
                at += 8 * (size_t)oc + le32(m, lo + 60);
                size_t act_at = at;
                at += 144 + le32(m, lo + 44);
                replay_conv(&rp, i, "KPUConv2D", lo, le32(m, body + 16), bn_at, act_at, at);
            } else if (op == 0x2001) {
                snprintf(path, sizeof path, "%s/layers/%03u_KPUUpload.bin", dir, i);
                size_t n;
                uint8_t *d = read_file(path, &n);
                uint32_t s0 = le32(m, body + 32), s1 = le32(m, body + 36), s2 = le32(m, body + 40),
                         s3 = le32(m, body + 44);
                if (d && n == (size_t)s0 * s1 * s2 * s3)
                    dv_kpu_upload(rp.ram, le32(m, body + 24), s0, s1, s2, s3, d);
                free(d);
            }
            body += size;
        }
    }
    printf("%s: %d KPU layers replayed, %d differ\n", dir, rp.layers, rp.failures);
    free(rp.model), free(in), free(rp.ram);
}

static void test_golden_layers(void)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared is absent: real KPU layers not replayed");
        return;
    }
    static const char *models[][2] = {
        {"face_detect_v3", "face_borrowed"}, {"mnist_v3", "random_0"},
        {"yolo20_v3_nncase01", "dog"},      {"yolo20_v4_nncase02", "dog"},
        {"rfb320_v4", "face"},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/models/kmodel/%s", shared, models[i][0]);
        replay_model(dir, models[i][1]);
    }
}

int main(void)
{
    test_layout();
    test_decode();
    test_hand_1x1();
    test_hand_3x3();
    test_hand_pool();
    test_activation();
    for (int i = 0; i < 300; i++)
        random_layer(i);
    test_upload_op();
    test_hostile_conv();
    test_mutations();
    test_golden_layers();
    return check_summary("test_kpu");
}
