/* MaixPy's KPU features: netinfo, forward to a layer and fmap, set_outputs (output views),
 * YOLOv2 region decoding, face_encode and face_compare.
 *
 * Always: hand-computed unit cases (face codes and scores, small YOLO maps, hostile
 * parameters) and a synthetic module (an upload and a KPU convolution built with the IR
 * builder) for netinfo, fmap and output views. With ../shared (else skipped): netinfo against
 * every models/kmodel/<model>/layers/index.tsv, fmap channels against the per-layer dumps
 * (through the API, and through `detvm fmap` with the PNG read back with libpng), and YOLOv2
 * decoding of the yolo20 goldens. DETVM_CASE=substring limits the models. */
#include <math.h>
#include <png.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"
#include "fmath.h"
#include "ir_build.h"
#include "kimage.h"
#include "kpu.h"
#include "module_format.h"

/* ---- face_encode / face_compare ------------------------------------------------------------ */

/* The score as MaixPy's K210 code computes it, with libm's sqrt (correctly rounded). */
static float reference_score(const int8_t *a, const int8_t *b, uint32_t n)
{
    int64_t dot = 0, na = 0, nb = 0;
    for (uint32_t i = 0; i < n; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    float half = (float)dot;
    half = half * 0.5f;
    double d = (double)(na * nb);
    double t = (double)half / sqrt(d);
    t = t + 0.5;
    t = t * 100.0;
    return (float)t;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static void test_face(void)
{
    detvm_error err = {0};
    float feature[11] = {0.1f, -0.3f, 0.25f, 0.0f, 1.0f / 512, -2.0f / 512, NAN, 0.2499f,
                         -0.001f, INFINITY, -INFINITY};
    int8_t want[11] = {51, -128, -128, 0, 1, -2, -128, 127, 0, -128, -128};
    int8_t code[11];
    CHECK(detvm_face_encode(feature, 11, code, &err) == DETVM_OK, "%s", err.message);
    for (int i = 0; i < 11; i++)
        CHECK(code[i] == want[i], "face_encode[%d]: %d, want %d", i, code[i], want[i]);
    CHECK(detvm_face_encode(feature, 0, code, &err) == DETVM_EINVALID);
    CHECK(detvm_face_encode(feature, 65537, code, &err) == DETVM_EINVALID);
    CHECK(detvm_face_encode(NULL, 3, code, &err) == DETVM_EINVALID);

    float score = 0;
    int8_t a[3] = {1, 2, 3}, b[3] = {-1, -2, -3}, c[2] = {3, 4}, d[2] = {4, 3}, e[2] = {1, 0},
           f[2] = {0, 1}, g[2] = {1, 1}, z[2] = {0, 0};
    CHECK(detvm_face_compare(a, a, 3, &score, &err) == DETVM_OK && score == 100.0f,
          "identical: %.9g", (double)score);
    CHECK(detvm_face_compare(a, b, 3, &score, &err) == DETVM_OK && score == 0.0f,
          "opposite: %.9g", (double)score);
    CHECK(detvm_face_compare(e, f, 2, &score, &err) == DETVM_OK && score == 50.0f,
          "orthogonal: %.9g", (double)score);
    /* (12 / 25 + 0.5) * 100 = 98, rounded to float */
    CHECK(detvm_face_compare(c, d, 2, &score, &err) == DETVM_OK && score == 98.0f,
          "3,4 / 4,3: %.9g", (double)score);
    /* 0.5 / sqrt(2) = 0.35355339..., so 85.3553390...: float 85.35534 */
    CHECK(detvm_face_compare(g, e, 2, &score, &err) == DETVM_OK &&
              dv_f32_bits(score) == dv_f32_bits(85.3553390593f),
          "1,1 / 1,0: %.9g", (double)score);
    CHECK(detvm_face_compare(z, e, 2, &score, &err) == DETVM_OK &&
              dv_f32_bits(score) == 0x7fc00000u,
          "zero code: %08x, want the quiet NaN", dv_f32_bits(score));
    CHECK(detvm_face_compare(a, a, 0, &score, &err) == DETVM_EINVALID);
    CHECK(detvm_face_compare(a, NULL, 3, &score, &err) == DETVM_EINVALID);

    /* random codes, lengths up to 65536 (products up to 2^60, rounded to double first) */
    static int8_t x[65536], y[65536];
    int mismatches = 0;
    for (int t = 0; t < 400; t++) {
        uint32_t n = t < 20 ? 65536 - (uint32_t)t : 1 + rng() % (t < 200 ? 512 : 8192);
        int wide = t % 3 != 0;
        for (uint32_t i = 0; i < n; i++) {
            x[i] = (int8_t)(wide ? (int)(rng() & 0xff) - 128 : (int)(rng() % 7) - 3);
            y[i] = (int8_t)(wide ? (int)(rng() & 0xff) - 128 : (int)(rng() % 7) - 3);
        }
        if (t % 5 == 0) /* near-identical codes: scores near 100 */
            for (uint32_t i = 0; i < n; i += 3)
                y[i] = x[i];
        if (detvm_face_compare(x, y, n, &score, &err) != DETVM_OK) {
            mismatches++;
            continue;
        }
        float want_score = reference_score(x, y, n);
        if (dv_f32_bits(score) != dv_f32_bits(want_score) && !(isnan(score) && isnan(want_score)) &&
            mismatches++ < 5)
            CHECK(0, "random codes (n %u): %.9g, the reference %.9g", n, (double)score,
                  (double)want_score);
    }
    CHECK(mismatches == 0, "%d random codes scored differently", mismatches);
}

/* ---- YOLOv2 decoding, hand-computed maps ---------------------------------------------------- */

/* Decodes with a fresh workspace; returns the status. */
static detvm_status decode(const detvm_yolo2_params *p, const float *map, uint64_t count,
                           detvm_yolo2_object *objs, uint32_t cap, uint32_t *n)
{
    uint64_t need = detvm_yolo2_workspace_bytes(p);
    void *work = malloc(need ? need : 4);
    detvm_error err = {0};
    detvm_status st = detvm_yolo2_decode(p, map, count, work, need, objs, cap, n, &err);
    if (st)
        fprintf(stderr, "  (%s)\n", err.message);
    free(work);
    return st;
}

static void test_yolo2_units(void)
{
    /* one cell, one anchor, one class: tx = ty = tw = th = 0, objectness 20 (sigmoid 1.0f
     * after rounding), the only class's softmax 1 -> prob 1; the box is centered (0.5, 0.5)
     * with the anchor's size, 0.5 x 0.25 of a 100 x 80 image: corners (25, 30)-(75, 50). */
    float anchors1[2] = {0.5f, 0.25f};
    float map1[6] = {0, 0, 0, 0, 20, 3};
    detvm_yolo2_params p = {1, 1, 6, 1, anchors1, 0, 0.5f, 0.3f, 100, 80};
    detvm_yolo2_object o[8];
    uint32_t n = 99;
    CHECK(decode(&p, map1, 6, o, 8, &n) == DETVM_OK && n == 1, "one box: %u objects", n);
    if (n == 1) {
        CHECK(o[0].index == 0 && o[0].classid == 0 && o[0].prob == 1.0f, "prob %.9g",
              (double)o[0].prob);
        CHECK(o[0].x == 0.5f && o[0].y == 0.5f && o[0].w == 0.5f && o[0].h == 0.25f,
              "box %g %g %g %g", (double)o[0].x, (double)o[0].y, (double)o[0].w,
              (double)o[0].h);
        CHECK(o[0].x1 == 25.0f && o[0].y1 == 30.0f && o[0].x2 == 75.0f && o[0].y2 == 50.0f,
              "corners %g %g %g %g", (double)o[0].x1, (double)o[0].y1, (double)o[0].x2,
              (double)o[0].y2);
        CHECK(o[0].rect[0] == 25 && o[0].rect[1] == 30 && o[0].rect[2] == 50 &&
                  o[0].rect[3] == 20,
              "rect");
    }
    /* objectness 0: sigmoid 0.5, so prob 0.5, which does not exceed a threshold of 0.5 */
    map1[4] = 0;
    CHECK(decode(&p, map1, 6, o, 8, &n) == DETVM_OK && n == 0, "prob 0.5 at 0.5: %u", n);
    p.threshold = 0.49f;
    CHECK(decode(&p, map1, 6, o, 8, &n) == DETVM_OK && n == 1 && o[0].prob == 0.5f,
          "prob 0.5 at 0.49: %u", n);

    /* two classes, logits 0 and ln 3: softmax 0.25, 0.75; objectness 0 -> 0.5:
     * probs 0.125 and 0.375; the best class is 1 */
    float map2[7] = {0, 0, 0, 0, 0, 0, 1.0986123f};
    detvm_yolo2_params p2 = {1, 1, 7, 1, anchors1, 2, 0.1f, 0.3f, 100, 80};
    CHECK(decode(&p2, map2, 7, o, 8, &n) == DETVM_OK && n == 1 && o[0].classid == 1 &&
              fabsf(o[0].prob - 0.375f) < 1e-6f,
          "two classes: %u objects, class %u prob %.9g", n, n ? o[0].classid : 0,
          n ? (double)o[0].prob : 0.0);

    /* two anchors at one cell with the same box: IoU 1. The better prob survives NMS; on a
     * tie, the lower box index (anchor 0). */
    float anchors2[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    float map3[12] = {0, 0, 0, 0, 1, 0, /* anchor 0 */ 0, 0, 0, 0, 2, 0 /* anchor 1 */};
    detvm_yolo2_params p3 = {1, 1, 12, 2, anchors2, 0, 0.1f, 0.5f, 64, 64};
    CHECK(decode(&p3, map3, 12, o, 8, &n) == DETVM_OK && n == 1 && o[0].index == 1,
          "NMS keeps the better box: %u objects, box %u", n, n ? o[0].index : 99);
    map3[10] = 1; /* the same objectness: a tie */
    CHECK(decode(&p3, map3, 12, o, 8, &n) == DETVM_OK && n == 1 && o[0].index == 0,
          "NMS tie keeps box 0: %u objects, box %u", n, n ? o[0].index : 99);
    p3.nms = 1.0f; /* IoU 1 does not exceed 1: both stay */
    CHECK(decode(&p3, map3, 12, o, 8, &n) == DETVM_OK && n == 2, "nms 1: %u objects", n);
    /* max_objects limits what is written, not the count */
    CHECK(decode(&p3, map3, 12, o, 1, &n) == DETVM_OK && n == 2, "max 1: count %u", n);
    CHECK(decode(&p3, map3, 12, NULL, 0, &n) == DETVM_OK && n == 2, "max 0: count %u", n);

    /* NaN and infinities never become detections and never crash */
    float map4[12];
    for (int i = 0; i < 12; i++)
        map4[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -INFINITY;
    CHECK(decode(&p3, map4, 12, o, 8, &n) == DETVM_OK, "non-finite map");
    for (uint32_t i = 0; i < n && i < 8; i++)
        CHECK(o[i].prob > p3.threshold && o[i].prob <= 1.0f, "non-finite map: prob %g",
              (double)o[i].prob);

    /* hostile parameters: refused with a reason, never read out of bounds */
    detvm_yolo2_params bad;
    uint32_t cnt;
    char work[4096];
    detvm_error err = {0};
#define REFUSED(field, value, count_)                                                        \
    do {                                                                                     \
        bad = p3;                                                                            \
        bad.nms = 0.5f;                                                                      \
        bad.field = value;                                                                   \
        CHECK(detvm_yolo2_decode(&bad, map3, count_, work, sizeof work, o, 8, &cnt, &err) == \
                  DETVM_EINVALID,                                                            \
              "%s = %s accepted", #field, #value);                                           \
    } while (0)
    REFUSED(channels, 11, 12);        /* not a multiple of the anchors */
    REFUSED(channels, 10, 10);        /* 5 per anchor: no classes */
    REFUSED(classes, 2, 12);          /* disagrees with the channels */
    REFUSED(threshold, NAN, 12);
    REFUSED(threshold, 1.5f, 12);
    REFUSED(nms, -0.1f, 12);
    REFUSED(n_anchors, 0, 12);
    REFUSED(anchors, NULL, 12);
    REFUSED(w, 0, 12);
    REFUSED(w, 70000, 12);            /* count mismatch */
    REFUSED(image_w, 0, 12);
    REFUSED(h, 1u << 20, 12);         /* 2 x 2^20 x 12 elements: more than 2^30 */
    REFUSED(w, 1, 11);                /* count mismatch */
    float neg[4] = {0.5f, -1.0f, 0.5f, 0.5f}, inf[4] = {0.5f, INFINITY, 0.5f, 0.5f};
    REFUSED(anchors, neg, 12);
    REFUSED(anchors, inf, 12);
#undef REFUSED
    p3.nms = 0.5f;
    CHECK(detvm_yolo2_decode(&p3, map3, 12, work, 8, o, 8, &cnt, &err) == DETVM_EINVALID,
          "a small workspace accepted");
    CHECK(detvm_yolo2_decode(&p3, map3, 12, work + 1, sizeof work - 1, o, 8, &cnt, &err) ==
              DETVM_EINVALID,
          "a misaligned workspace accepted");
    CHECK(detvm_yolo2_decode(&p3, NULL, 12, work, sizeof work, o, 8, &cnt, &err) ==
              DETVM_EINVALID,
          "no map accepted");
    CHECK(strncmp(err.message, "yolo2: ", 7) == 0 && !strchr(err.message, '\n'),
          "message: %s", err.message);
    bad = p3;
    bad.channels = 11;
    CHECK(detvm_yolo2_workspace_bytes(&bad) == 0, "workspace size of invalid parameters");
}

/* ---- a synthetic module: an upload and a KPU convolution ---------------------------------- */

enum { SYN_N = 2, SYN_C = 3, SYN_H = 6, SYN_W = 8, SYN_UP_AT = 4096, SYN_DST_ROW = 1024,
       SYN_OUT_C = 2, SYN_READ = 24 };

static uint8_t *synthetic_module(size_t *len)
{
    ir_module ir;
    memset(&ir, 0, sizeof ir);
    ir_builder b = {.ir = &ir};
    char why[256] = "";
    uint32_t in, kpu0, kpu1, kpu2, w, bn, act, out;
    dv_shape s_in = {4, {SYN_N, SYN_C, SYN_H, SYN_W}}, s_kpu = {1, {DV_KPU_RAM_BYTES / 4}},
             s_out = {1, {SYN_READ}};
    ir_new_temporary(&b, &s_in, &in);
    ir.tensors[in].dtype = DVM_DTYPE_UINT8;
    ir.tensors[in].precision = 9;
    ir.tensors[in].name = "input";
    ir.input = in;
    ir.input_bytes = 1;
    ir_new_temporary(&b, &s_kpu, &kpu0);
    ir_new_temporary(&b, &s_kpu, &kpu1);
    ir_new_temporary(&b, &s_kpu, &kpu2);
    ir.tensors[kpu0].name = ir.tensors[kpu1].name = ir.tensors[kpu2].name = "kpu";
    int32_t zero_attrs[1] = {(int32_t)DV_KPU_RAM_BYTES};
    uint32_t none[1] = {0}; /* no inputs (a non-NULL pointer all the same) */
    const char *fail = ir_append(&b, DV_OP_IMAGE_ZERO, 0, none, 1, &kpu0, zero_attrs, 1,
                                 "000_KPUUpload", why, sizeof why);
    int32_t up[DV_KPU_UPLOAD_ATTRS] = {DV_KPU_UPLOAD_PLAIN, 0, SYN_N, SYN_C, SYN_H, SYN_W,
                                       SYN_UP_AT};
    uint32_t up_in[2] = {kpu0, in};
    if (!fail)
        fail = ir_append(&b, DV_OP_KPU_UPLOAD, 2, up_in, 1, &kpu1, up, DV_KPU_UPLOAD_ATTRS,
                         "000_KPUUpload", why, sizeof why);
    /* a 3x3 convolution, 3 -> 2 channels, max pool 2x2 stride 2: 8 x 6 -> 4 x 3, two batches */
    uint64_t words[DV_KPU_WORDS] = {0};
    dv_kpu_set(words, DV_KPU_I_CH_NUM, SYN_C - 1);
    dv_kpu_set(words, DV_KPU_O_CH_NUM, SYN_OUT_C - 1);
    dv_kpu_set(words, DV_KPU_I_ROW_WID, SYN_W - 1);
    dv_kpu_set(words, DV_KPU_I_COL_HIGH, SYN_H - 1);
    dv_kpu_set(words, DV_KPU_O_ROW_WID, SYN_W / 2 - 1);
    dv_kpu_set(words, DV_KPU_O_COL_HIGH, SYN_H / 2 - 1);
    dv_kpu_set(words, DV_KPU_KERNEL_TYPE, 1);
    dv_kpu_set(words, DV_KPU_POOL_TYPE, DV_KPU_POOL_MAX_2_S2);
    dv_kpu_set(words, DV_KPU_PARA_SIZE, 54);
    dv_kpu_set(words, DV_KPU_IMAGE_SRC_ADDR, SYN_UP_AT / 64);
    dv_kpu_set(words, DV_KPU_IMAGE_DST_ADDR, SYN_DST_ROW);
    int32_t conv[DV_KPU_CONV_ATTRS] = {0};
    dv_kpu_words_to_attrs(words, conv);
    conv[DV_KPU_ATTR_BATCHES] = SYN_N;
    conv[DV_KPU_ATTR_MAIN_OFFSET] = 0;
    conv[DV_KPU_ATTR_SEMANTICS] = DV_KPU_NNCASE_V02;
    dv_kpu_layer layer;
    dv_kpu_decode(conv, &layer);
    uint32_t wbytes = dv_kpu_weights_bytes(&layer, 8);
    int32_t consts[3][256];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 256; j++)
            consts[i][j] = (int32_t)(rng() & 0x3f3f3f3f);
    dv_shape s_w = {1, {(wbytes + 3) / 4}}, s_bn = {1, {SYN_OUT_C * DV_KPU_BN_BYTES / 4}},
             s_act = {1, {DV_KPU_ACT_BYTES / 4}};
    ir_new_constant(&b, &s_w, consts[0], &w);
    ir_new_constant(&b, &s_bn, consts[1], &bn);
    ir_new_constant(&b, &s_act, consts[2], &act);
    uint32_t conv_in[4] = {kpu1, w, bn, act};
    if (!fail)
        fail = ir_append(&b, DV_OP_KPU_CONV2D, 4, conv_in, 1, &kpu2, conv, DV_KPU_CONV_ATTRS,
                         "001_KPUConv2D", why, sizeof why);
    ir_new_temporary(&b, &s_out, &out);
    int32_t rd[4] = {SYN_DST_ROW * 64, DV_IMAGE_U8, 1, SYN_READ};
    if (!fail)
        fail = ir_append(&b, DV_OP_IMAGE_READ, 1, &kpu2, 1, &out, rd, 4, "output_0", why,
                         sizeof why);
    ir.tensors[out].dtype = DVM_DTYPE_UINT8;
    ir.tensors[out].precision = 9;
    ir.outputs[0] = out;
    ir.n_outputs = 1;
    ir.output_bytes = 1;
    ir.source_format = DVM_SOURCE_KMODEL;
    ir.source_version = "synthetic";
    ir.postprocess = "separate";
    ir.rounding = -1;
    uint8_t *bytes = NULL;
    detvm_error err = {0};
    if (fail)
        CHECK(0, "synthetic module: %s", why);
    else if (ir_plan_memory(&ir, &err) || ir_place_devices(&ir, &err) ||
             ir_emit(&ir, &bytes, len, &err))
        CHECK(0, "synthetic module: %s", err.message);
    ir_builder_free(&b);
    return bytes;
}

static void test_synthetic(void)
{
    size_t len = 0;
    uint8_t *bytes = synthetic_module(&len);
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    if (!bytes || detvm_module_load(bytes, len, &m, &err) || detvm_session_new(m, &s, &err)) {
        CHECK(0, "synthetic module: %s", err.message);
        free(bytes);
        return;
    }
    CHECK(detvm_kpu_layer_count(m) == 2, "%u layers", detvm_kpu_layer_count(m));
    detvm_kpu_layer l;
    CHECK(detvm_kpu_netinfo(m, 0, &l, &err) == DETVM_OK && l.index == 0 &&
              strcmp(l.type, "KPUUpload") == 0 && !l.is_kpu && l.has_fmap &&
              l.first_step == 0 && l.last_step == 1 && l.fmap_step == 1 && l.fmap_n == SYN_N &&
              l.fmap_ch == SYN_C && l.fmap_h == SYN_H && l.fmap_w == SYN_W && l.wi == 0,
          "layer 0: %s", err.message);
    CHECK(detvm_kpu_netinfo(m, 1, &l, &err) == DETVM_OK && l.index == 1 &&
              strcmp(l.type, "KPUConv2D") == 0 && l.is_kpu && l.wi == SYN_W && l.hi == SYN_H &&
              l.wo == SYN_W / 2 && l.ho == SYN_H / 2 && l.chi == SYN_C && l.cho == SYN_OUT_C &&
              l.dw == 0 && l.kernel_type == 1 && l.pool_type == 1 && l.para_size == 54 &&
              l.batches == SYN_N && l.fmap_n == SYN_N && l.fmap_ch == SYN_OUT_C &&
              l.fmap_h == SYN_H / 2 && l.fmap_w == SYN_W / 2 && l.param_bytes > 0,
          "layer 1: %s", err.message);
    CHECK(detvm_kpu_netinfo(m, 2, &l, &err) == DETVM_EINVALID, "layer 2 exists");
    CHECK(detvm_kpu_layer_find(m, 1, &l, &err) == DETVM_OK && l.is_kpu, "find 1");
    CHECK(detvm_kpu_layer_find(m, 7, &l, &err) == DETVM_EINVALID, "find 7");

    uint8_t input[SYN_N * SYN_C * SYN_H * SYN_W];
    for (size_t i = 0; i < sizeof input; i++)
        input[i] = (uint8_t)(rng() >> 3);
    /* forward to the upload: its map is the input itself */
    detvm_kpu_fmap map;
    uint8_t plane[SYN_H * SYN_W];
    CHECK(detvm_kpu_forward(s, input, sizeof input, 0, &map, &err) == DETVM_OK, "%s",
          err.message);
    int same = 1;
    for (uint32_t b = 0; b < SYN_N; b++)
        for (uint32_t c = 0; c < SYN_C; c++) {
            if (detvm_kpu_fmap_channel(&map, b, c, plane, sizeof plane, &err)) {
                same = 0;
                break;
            }
            same &= memcmp(plane, input + (b * SYN_C + c) * SYN_H * SYN_W, sizeof plane) == 0;
        }
    CHECK(same, "upload map: the channels differ from the input");
    CHECK(detvm_kpu_fmap_channel(&map, SYN_N, 0, plane, sizeof plane, &err) == DETVM_EINVALID,
          "batch out of range");
    CHECK(detvm_kpu_fmap_channel(&map, 0, SYN_C, plane, sizeof plane, &err) == DETVM_EINVALID,
          "channel out of range");
    CHECK(detvm_kpu_fmap_channel(&map, 0, 0, plane, sizeof plane - 1, &err) == DETVM_EINVALID,
          "short buffer");
    detvm_kpu_fmap forged = map;
    forged.offset = DV_KPU_RAM_BYTES - 64;
    CHECK(detvm_kpu_fmap_channel(&forged, 0, 0, plane, sizeof plane, &err) == DETVM_EINVALID,
          "a map past KPU RAM");

    /* forward to the convolution: the channels, batch by batch, are what the KPU's own
     * download reads (the layer's output in plain NCHW) */
    CHECK(detvm_kpu_forward(s, input, sizeof input, 1, &map, &err) == DETVM_OK &&
              map.n == SYN_N && map.ch == SYN_OUT_C && map.h == SYN_H / 2 &&
              map.w == SYN_W / 2 && map.offset == SYN_DST_ROW * 64 && map.step == 2,
          "%s", err.message);
    uint8_t all[SYN_N * SYN_OUT_C * (SYN_H / 2) * (SYN_W / 2)], one[(SYN_H / 2) * (SYN_W / 2)];
    dv_kpu_download(map.kpu, map.offset, map.n, map.ch, map.h, map.w, all);
    same = 1;
    for (uint32_t b = 0; b < SYN_N; b++)
        for (uint32_t c = 0; c < SYN_OUT_C; c++) {
            detvm_kpu_fmap_channel(&map, b, c, one, sizeof one, &err);
            same &= memcmp(one, all + (b * SYN_OUT_C + c) * sizeof one, sizeof one) == 0;
        }
    CHECK(same, "conv map: channels differ from dv_kpu_download");
    CHECK(detvm_kpu_forward(s, input, sizeof input - 1, 1, &map, &err) == DETVM_EINVALID,
          "a short input accepted");
    CHECK(detvm_kpu_forward(s, input, sizeof input, 9, &map, &err) == DETVM_EINVALID,
          "layer 9 accepted");

    /* output views (set_outputs) after a full run */
    uint8_t outbuf[SYN_READ];
    detvm_tensor_view v;
    CHECK(detvm_run(s, input, sizeof input, outbuf, sizeof outbuf, &err) == DETVM_OK, "%s",
          err.message);
    CHECK(detvm_session_output_view(s, 0, 0, 0, 0, &v, &err) == DETVM_OK && v.ndim == 1 &&
              v.dim[0] == SYN_READ && v.count == SYN_READ,
          "declared view");
    CHECK(detvm_session_output_view(s, 0, 4, 3, 2, &v, &err) == DETVM_OK && v.ndim == 3 &&
              v.dim[0] == 2 && v.dim[1] == 3 && v.dim[2] == 4 && v.count == SYN_READ,
          "4 x 3 x 2 view");
    same = v.data != NULL;
    for (int i = 0; same && i < SYN_READ; i++)
        same = (uint8_t)v.data[i] == outbuf[i];
    CHECK(same, "the view's elements differ from the run's output");
    CHECK(detvm_session_output_view(s, 0, 4, 3, 3, &v, &err) == DETVM_EINVALID && v.count == 0,
          "a 36-element view of 24 accepted");
    CHECK(detvm_session_output_view(s, 1, 4, 3, 2, &v, &err) == DETVM_EINVALID,
          "output 1 accepted");
    CHECK(detvm_session_output_view(s, 0, 0xffffffffu, 0xffffffffu, 2, &v, &err) ==
              DETVM_EINVALID,
          "an overflowing shape accepted");

    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
}

/* ---- the shared models -------------------------------------------------------------------- */

static const float voc_anchors[10] = {1.08f, 1.19f, 3.42f, 4.41f, 6.63f,
                                      11.38f, 9.42f, 5.11f, 16.62f, 10.52f};

/* The object of class `cls` in the list, or NULL. */
static const detvm_yolo2_object *find_class(const detvm_yolo2_object *o, uint32_t n,
                                            uint32_t cls)
{
    for (uint32_t i = 0; i < n; i++)
        if (o[i].classid == cls)
            return &o[i];
    return NULL;
}

static int round3(float p) { return (int)lround((double)p * 1000.0); }

/* Boxes inside (or just at) the 320 x 240 image, with positive size. */
static int sane(const detvm_yolo2_object *o)
{
    return o->x1 < o->x2 && o->y1 < o->y2 && o->x1 > -40 && o->y1 > -40 && o->x2 < 360 &&
           o->y2 < 280 && o->w > 0 && o->h > 0 && o->rect[2] > 0 && o->rect[3] > 0;
}

/* n little-endian float32s, in a malloc'd array. */
static float *le_floats(const uint8_t *bytes, size_t n)
{
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++)
        f[i] = dv_f32_from_bits((uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                                (uint32_t)bytes[4 * i + 2] << 16 |
                                (uint32_t)bytes[4 * i + 3] << 24);
    return f;
}

static void test_yolo2_goldens(const char *kdir)
{
    static const struct {
        const char *model;
        float threshold, nms;
        uint32_t n;
        uint32_t classes[3];
        int probs[3]; /* x 1000 */
    } cases[] = {
        /* the example's region layer (threshold 0.5, nms 0.2): meta.json's detections */
        {"yolo20_v3_nncase01", 0.5f, 0.2f, 3, {1, 6, 11}, {967, 747, 595}},
        /* v4 with nms 1 (nothing suppressed), threshold 0.39: meta.json's numbers for v4
         * (bicycle 0.468, car 0.440, dog 0.395) are those of boxes 114, 17 and 122 */
        {"yolo20_v4_nncase02", 0.39f, 1.0f, 0, {1, 6, 11}, {468, 440, 395}},
        /* v4 with the example's nms 0.2: the best box of each class */
        {"yolo20_v4_nncase02", 0.3f, 0.2f, 3, {1, 6, 11}, {921, 838, 395}},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s/expected/dog.out0.bin", kdir, cases[t].model);
        const char *only = getenv("DETVM_CASE");
        if (only && !strstr(cases[t].model, only))
            continue;
        size_t len = 0;
        uint8_t *bytes = read_file(path, &len);
        if (!bytes || len != 8750 * 4) {
            CHECK(0, "%s: missing or not 8750 floats", path);
            free(bytes);
            continue;
        }
        float *map = le_floats(bytes, 8750);
        detvm_yolo2_params p = {10, 7, 125, 5, voc_anchors, 20, cases[t].threshold,
                                cases[t].nms, 320, 240};
        detvm_yolo2_object o[350];
        uint32_t n = 0;
        CHECK(decode(&p, map, 8750, o, 350, &n) == DETVM_OK, "%s", cases[t].model);
        if (cases[t].n)
            CHECK(n == cases[t].n, "%s: %u objects, want %u", cases[t].model, n, cases[t].n);
        for (int k = 0; k < 3; k++) {
            const detvm_yolo2_object *obj = NULL;
            /* with nms 1 a class may have several boxes: the one with the wanted prob */
            for (uint32_t i = 0; i < n; i++)
                if (o[i].classid == cases[t].classes[k] &&
                    (!obj || round3(o[i].prob) == cases[t].probs[k]))
                    obj = &o[i];
            if (cases[t].n)
                obj = find_class(o, n, cases[t].classes[k]);
            CHECK(obj && round3(obj->prob) == cases[t].probs[k] && sane(obj),
                  "%s (threshold %g, nms %g): class %u: %s %.6f", cases[t].model,
                  (double)cases[t].threshold, (double)cases[t].nms, cases[t].classes[k],
                  obj ? "prob" : "missing", obj ? (double)obj->prob : 0.0);
        }
        /* where the objects are in the dog picture: the bicycle in the middle, the dog at the
         * lower left, the car at the upper right */
        const detvm_yolo2_object *bike = find_class(o, n, 1), *car = find_class(o, n, 6),
                                 *dog = find_class(o, n, 11);
        if (bike && car && dog && cases[t].n)
            CHECK(bike->x > 0.35f && bike->x < 0.6f && car->x > 0.55f && car->y < 0.35f &&
                      dog->x < 0.35f && dog->y > 0.5f,
                  "%s: boxes in unexpected places", cases[t].model);
        free(map);
        free(bytes);
    }
    /* the decoding's bits are part of the contract: pinned for the v3 golden */
    char path[1400];
    snprintf(path, sizeof path, "%s/yolo20_v3_nncase01/expected/dog.out0.bin", kdir);
    size_t len = 0;
    uint8_t *bytes = read_file(path, &len);
    if (bytes && len == 35000) {
        float *map = le_floats(bytes, 8750);
        detvm_yolo2_params p = {10, 7, 125, 5, voc_anchors, 0, 0.5f, 0.2f, 320, 240};
        detvm_yolo2_object o[8];
        uint32_t n = 0;
        static const uint32_t want[3][3] = {/* box, prob bits, x1 bits */
                                            {16, 0x3f3f2167u, 0x43350e74u},
                                            {112, 0x3f185fe8u, 0x421bd204u},
                                            {244, 0x3f7797feu, 0x4210d29eu}};
        if (decode(&p, map, 8750, o, 8, &n) == DETVM_OK && n == 3)
            for (int k = 0; k < 3; k++)
                CHECK(o[k].index == want[k][0] && dv_f32_bits(o[k].prob) == want[k][1] &&
                          dv_f32_bits(o[k].x1) == want[k][2],
                      "v3 object %d: box %u prob %08x x1 %08x", k, o[k].index,
                      dv_f32_bits(o[k].prob), dv_f32_bits(o[k].x1));
        free(map);
    }
    free(bytes);
}

/* A tab-separated line's fields, in place (at most cap). */
static int split_tabs(char *line, char **f, int cap)
{
    int n = 0;
    while (line && n < cap) {
        f[n++] = line;
        char *tab = strchr(line, '\t');
        if (tab)
            *tab++ = 0;
        line = tab;
    }
    return n;
}

typedef struct {
    uint32_t node;
    char type[32];
    int has_shape;
    uint32_t dims[4];
} tsv_row;

static int read_index(const char *dir, tsv_row *rows, int cap)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/layers/index.tsv", dir);
    size_t len = 0;
    char *text = (char *)read_file(path, &len);
    if (!text)
        return -1;
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && n < cap;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[6];
        if (split_tabs(line, f, 6) < 4 || !(f[0][0] >= '0' && f[0][0] <= '9'))
            continue;
        tsv_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->node = (uint32_t)strtoul(f[0], NULL, 10);
        snprintf(r->type, sizeof r->type, "%s", f[1]);
        r->has_shape = sscanf(f[3], "%u,%u,%u,%u", &r->dims[0], &r->dims[1], &r->dims[2],
                              &r->dims[3]) == 4;
    }
    free(text);
    return n;
}

static int is_kpu_type(const char *t)
{
    return strcmp(t, "K210_CONV") == 0 || strcmp(t, "KPUConv2D") == 0;
}

/* netinfo against index.tsv, and the first KPU layer's input against meta.json. */
static void check_netinfo(const char *name, const char *dir, const detvm_module *m,
                          const tsv_row *rows, int n_rows)
{
    detvm_error err = {0};
    detvm_kpu_layer prev;
    memset(&prev, 0, sizeof prev);
    int prev_kpu = 0, checked = 0;
    for (int i = 0; i < n_rows; i++) {
        const tsv_row *r = &rows[i];
        detvm_kpu_layer l;
        int kpu = is_kpu_type(r->type), upload = strcmp(r->type, "KPUUpload") == 0;
        if (detvm_kpu_layer_find(m, r->node, &l, &err)) {
            CHECK(!kpu && !upload, "%s: layer %u (%s) missing: %s", name, r->node, r->type,
                  err.message);
            prev_kpu = 0;
            continue;
        }
        CHECK(strcmp(l.type, r->type) == 0, "%s: layer %u: type %s, index.tsv %s", name,
              r->node, l.type, r->type);
        if (kpu && r->has_shape) {
            CHECK(l.is_kpu && l.cho == r->dims[1] && l.ho == r->dims[2] &&
                      l.wo == r->dims[3] && l.batches == r->dims[0] && l.has_fmap &&
                      l.fmap_n == r->dims[0] && l.fmap_ch == r->dims[1] &&
                      l.fmap_h == r->dims[2] && l.fmap_w == r->dims[3],
                  "%s: layer %u: netinfo cho %u ho %u wo %u batches %u, index.tsv %u,%u,%u,%u",
                  name, r->node, l.cho, l.ho, l.wo, l.batches, r->dims[0], r->dims[1],
                  r->dims[2], r->dims[3]);
            CHECK(l.kernel_type <= 1 && l.pool_type <= 9 && l.dw <= 1 &&
                      l.wo == l.wi / dv_kpu_pool_stride(l.pool_type) &&
                      l.ho == l.hi / dv_kpu_pool_stride(l.pool_type) && l.para_size > 0,
                  "%s: layer %u: inconsistent geometry", name, r->node);
            /* a KPU layer right after another reads that one's output */
            if (prev_kpu && i > 0 && is_kpu_type(rows[i - 1].type) && rows[i - 1].dims[0] == 1)
                CHECK(l.chi == prev.cho && l.hi == prev.ho && l.wi == prev.wo,
                      "%s: layer %u: input %u x %u x %u, the previous layer gives %u x %u x %u",
                      name, r->node, l.chi, l.hi, l.wi, prev.cho, prev.ho, prev.wo);
            checked++;
        } else if (upload && r->has_shape) {
            CHECK(!l.is_kpu && l.has_fmap && l.fmap_n == r->dims[0] &&
                      l.fmap_ch == r->dims[1] && l.fmap_h == r->dims[2] &&
                      l.fmap_w == r->dims[3],
                  "%s: upload %u: map %u,%u,%u,%u", name, r->node, l.fmap_n, l.fmap_ch,
                  l.fmap_h, l.fmap_w);
            checked++;
        } else {
            CHECK(!l.is_kpu, "%s: layer %u (%s) is a KPU layer", name, r->node, r->type);
        }
        prev = l;
        prev_kpu = kpu;
    }
    /* the first KPU layer's input: meta.json first_conv / first_kpu_conv */
    char path[1400];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = json_load_file(path, 0, NULL);
    json_t *first = json_object_get(meta, "first_conv");
    if (!first)
        first = json_object_get(meta, "first_kpu_conv");
    json_t *in = json_object_get(first, "in_chw");
    for (int i = 0; in && i < n_rows; i++)
        if (is_kpu_type(rows[i].type)) {
            detvm_kpu_layer l;
            detvm_kpu_layer_find(m, rows[i].node, &l, &err);
            CHECK(l.chi == json_integer_value(json_array_get(in, 0)) &&
                      l.hi == json_integer_value(json_array_get(in, 1)) &&
                      l.wi == json_integer_value(json_array_get(in, 2)),
                  "%s: the first KPU layer's input %u x %u x %u differs from meta.json", name,
                  l.chi, l.hi, l.wi);
            break;
        }
    json_decref(meta);
    CHECK(checked > 0 || n_rows == 0 || strstr(name, "iris"), "%s: no KPU layer checked",
          name);
}

/* fmap of a few layers against the dumps, through the API. */
static void check_fmaps(const char *name, const char *dir, const detvm_module *m,
                        const tsv_row *rows, int n_rows, const uint8_t *input, size_t in_len)
{
    int picks[8], n_picks = 0, first_upload = -1;
    int kpu_rows[512], n_kpu = 0;
    for (int i = 0; i < n_rows && n_kpu < 512; i++) {
        if (is_kpu_type(rows[i].type))
            kpu_rows[n_kpu++] = i;
        if (first_upload < 0 && strcmp(rows[i].type, "KPUUpload") == 0)
            first_upload = i;
    }
    if (n_kpu == 0)
        return;
    picks[n_picks++] = kpu_rows[0];
    if (n_kpu > 2)
        picks[n_picks++] = kpu_rows[n_kpu / 2];
    if (n_kpu > 1)
        picks[n_picks++] = kpu_rows[n_kpu - 1];
    if (first_upload >= 0)
        picks[n_picks++] = first_upload;
    detvm_session *s = NULL;
    detvm_error err = {0};
    if (detvm_session_new(m, &s, &err)) {
        CHECK(0, "%s: %s", name, err.message);
        return;
    }
    for (int k = 0; k < n_picks; k++) {
        const tsv_row *r = &rows[picks[k]];
        char path[1400];
        snprintf(path, sizeof path, "%s/layers/%03u_%s.bin", dir, r->node, r->type);
        size_t len = 0;
        uint8_t *want = read_file(path, &len);
        detvm_kpu_fmap map;
        if (!want) {
            CHECK(0, "%s: %s missing", name, path);
            continue;
        }
        if (detvm_kpu_forward(s, input, in_len, r->node, &map, &err)) {
            CHECK(0, "%s: forward to %u: %s", name, r->node, err.message);
            free(want);
            continue;
        }
        uint64_t plane = (uint64_t)map.h * map.w;
        CHECK(len == map.n * map.ch * plane, "%s: layer %u: map %u x %u x %u x %u, dump %zu",
              name, r->node, map.n, map.ch, map.h, map.w, len);
        uint8_t *got = malloc(plane + 1);
        int diff = -1;
        for (uint32_t b = 0; b < map.n && diff < 0 && len == map.n * map.ch * plane; b++)
            for (uint32_t c = 0; c < map.ch && diff < 0; c++) {
                detvm_kpu_fmap_channel(&map, b, c, got, (size_t)plane, &err);
                if (memcmp(got, want + (b * map.ch + c) * plane, (size_t)plane) != 0)
                    diff = (int)(b * map.ch + c);
            }
        CHECK(diff < 0, "%s: layer %u: channel %d differs from %s", name, r->node, diff, path);
        free(got);
        free(want);
    }
    detvm_session_free(s);
}

/* A grayscale PNG read back with libpng; NULL on failure. */
static uint8_t *read_png(const char *path, uint32_t *w, uint32_t *h)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path))
        return NULL;
    image.format = PNG_FORMAT_GRAY;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(image));
    if (!buf || !png_image_finish_read(&image, NULL, buf, 0, NULL)) {
        png_image_free(&image);
        free(buf);
        return NULL;
    }
    *w = image.width;
    *h = image.height;
    return buf;
}

/* detvm fmap: a channel as PNG (read back with libpng) and the whole map with -o, against the
 * dump; detvm netinfo --json; detvm yolo2 on a model run. */
static void check_cli(const char *name, const char *dir, const char *input_path,
                      const tsv_row *rows, int n_rows)
{
    int row = -1;
    for (int i = 0; i < n_rows; i++)
        if (is_kpu_type(rows[i].type) && rows[i].dims[0] == 1) {
            row = i; /* the second KPU layer if there is one */
            if (i > 0)
                break;
        }
    char model[1400], dump[1400], png[1400], raw[1200], layer[16];
    snprintf(model, sizeof model, "%s/model.kmodel", dir);
    result r = {0};
    CLI(&r, "netinfo", model, "--json");
    json_t *doc = json_loads(r.out, 0, NULL);
    CHECK(r.status == 0 && json_is_array(doc) && json_array_size(doc) > 0,
          "%s: netinfo --json: %s", name, r.err);
    json_decref(doc);
    if (row >= 0) {
        const tsv_row *t = &rows[row];
        uint32_t c = t->dims[1] / 2;
        snprintf(dump, sizeof dump, "%s/layers/%03u_%s.bin", dir, t->node, t->type);
        snprintf(layer, sizeof layer, "%u", t->node);
        char channel[16];
        snprintf(channel, sizeof channel, "%u", c);
        tmp_path(raw, sizeof raw, "map.bin");
        CLI(&r, "fmap", model, "-i", input_path, "--layer", layer, "--png", tmp_dir,
            "--channel", channel);
        CHECK(r.status == 0, "%s: fmap --png: %s", name, r.err);
        snprintf(png, sizeof png, "%s/ch%u.png", tmp_dir, c);
        size_t len = 0;
        uint8_t *want = read_file(dump, &len);
        uint32_t w = 0, h = 0;
        uint8_t *got = read_png(png, &w, &h);
        uint64_t plane = (uint64_t)t->dims[2] * t->dims[3];
        CHECK(got && want && w == t->dims[3] && h == t->dims[2] &&
                  len == plane * t->dims[1] && memcmp(got, want + c * plane, plane) == 0,
              "%s: layer %u channel %u: the PNG differs from the dump", name, t->node, c);
        free(got);
        unlink(png);
        CLI(&r, "fmap", model, "-i", input_path, "--layer", layer, "-o", raw);
        size_t raw_len = 0;
        uint8_t *all = read_file(raw, &raw_len);
        CHECK(r.status == 0 && all && want && raw_len == len && memcmp(all, want, len) == 0,
              "%s: fmap -o: the map differs from the dump: %s", name, r.err);
        free(all);
        free(want);
        unlink(raw);
        CLI(&r, "fmap", model, "-i", input_path, "--layer", layer, "--png", tmp_dir,
            "--channel", "100000");
        CHECK(r.status == 1, "%s: fmap: channel 100000 accepted", name);
    }
    if (strstr(name, "yolo20")) {
        CLI(&r, "yolo2", model, "-i", input_path, "--anchors",
            "1.08,1.19,3.42,4.41,6.63,11.38,9.42,5.11,16.62,10.52", "--labels", "voc",
            "--threshold", "0.3");
        CHECK(r.status == 0 && strstr(r.out, "bicycle") && strstr(r.out, "car") &&
                  strstr(r.out, "dog"),
              "%s: yolo2 on a run: %s%s", name, r.out, r.err);
    }
    free(r.out);
    free(r.err);
}

static int is_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d)
        closedir(d);
    return d != NULL;
}

static void test_models(const char *kdir)
{
    DIR *d = opendir(kdir);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 64)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    const char *only = getenv("DETVM_CASE");
    for (int i = 0; i < n; i++) {
        char dir[1200], path[1400];
        snprintf(dir, sizeof dir, "%s/%s", kdir, names[i]);
        if ((only && !strstr(names[i], only)) || !is_dir(dir)) {
            free(names[i]);
            continue;
        }
        snprintf(path, sizeof path, "%s/model.kmodel", dir);
        size_t len = 0, mlen = 0;
        uint8_t *kmodel = read_file(path, &len), *bytes = NULL;
        detvm_module *m = NULL;
        detvm_error err = {0};
        if (!kmodel || detvm_compile_kmodel(kmodel, len, NULL, &bytes, &mlen, &err)) {
            SKIP("%s: cannot be compiled here (%s)", names[i], kmodel ? err.message : "no file");
        } else if (detvm_module_load(bytes, mlen, &m, &err)) {
            CHECK(0, "%s: %s", names[i], err.message);
        } else {
            tsv_row rows[256];
            int n_rows = read_index(dir, rows, 256);
            CHECK(n_rows > 0, "%s: layers/index.tsv unreadable", names[i]);
            check_netinfo(names[i], dir, m, rows, n_rows);
            snprintf(path, sizeof path, "%s/meta.json", dir);
            json_t *meta = json_load_file(path, 0, NULL);
            const char *input =
                json_string_value(json_object_get(json_object_get(meta, "layers"), "input"));
            char input_path[1400];
            snprintf(input_path, sizeof input_path, "%s/inputs/%s.bin", dir,
                     input ? input : "?");
            size_t in_len = 0;
            uint8_t *in = read_file(input_path, &in_len);
            if (in) {
                check_fmaps(names[i], dir, m, rows, n_rows, in, in_len);
                check_cli(names[i], dir, input_path, rows, n_rows);
            } else {
                CHECK(0, "%s: %s missing", names[i], input_path);
            }
            free(in);
            json_decref(meta);
        }
        detvm_module_free(m);
        free(bytes);
        free(kmodel);
        free(names[i]);
    }
}

/* The commands that need no kmodel: face-encode, face-compare, usage errors, netinfo of a
 * model that is not a kmodel, and yolo2 --from-output on a golden (when ../shared exists). */
static void test_cli(const char *kdir)
{
    char feat[1200], code_a[1200], code_b[1200];
    tmp_path(feat, sizeof feat, "feature.f32");
    tmp_path(code_a, sizeof code_a, "a.code");
    tmp_path(code_b, sizeof code_b, "b.code");
    /* 0.1 -> 51, -0.3 -> -128, 0.25 -> -128 (MaixPy's byte), 0.001953125 -> 1 */
    uint8_t f32[16];
    float values[4] = {0.1f, -0.3f, 0.25f, 1.0f / 512};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++)
            f32[4 * i + k] = (uint8_t)(dv_f32_bits(values[i]) >> (8 * k));
    FILE *f = fopen(feat, "wb");
    if (f) {
        fwrite(f32, 1, sizeof f32, f);
        fclose(f);
    }
    result r = {0};
    CLI(&r, "face-encode", feat, "-o", code_a);
    size_t len = 0;
    uint8_t *code = read_file(code_a, &len);
    CHECK(r.status == 0 && code && len == 4 && code[0] == 51 && code[1] == 0x80 &&
              code[2] == 0x80 && code[3] == 1,
          "face-encode: %s", r.err);
    free(code);
    f = fopen(code_b, "wb");
    if (f) {
        fwrite("\x33\x80\x80\x01", 1, 4, f); /* the same code */
        fclose(f);
    }
    CLI(&r, "face-compare", code_a, code_b);
    CHECK(r.status == 0 && strcmp(r.out, "100.000000\n") == 0, "face-compare: %s%s", r.out,
          r.err);
    CLI(&r, "face-compare", code_a, feat);
    CHECK(r.status == 1 && strstr(r.err, "length"), "face-compare of unequal lengths: %s",
          r.err);
    unlink(feat);
    unlink(code_a);
    unlink(code_b);

    CLI(&r, "yolo2", "--from-output", "x.bin");
    CHECK(r.status == 1 && strstr(r.err, "--anchors"), "yolo2 without anchors: %s", r.err);
    CLI(&r, "fmap", "m.kmodel", "-i", "x.bin", "--layer", "3");
    CHECK(r.status == 1 && strstr(r.err, "--png"), "fmap without --png: %s", r.err);
    CLI(&r, "fmap", "m.kmodel", "-i", "x.bin", "--layer", "three", "--png", "d");
    CHECK(r.status == 1, "fmap --layer three: %s", r.err);
    CLI(&r, "netinfo", "fixtures/tflite/hello_world_int8/model.tflite");
    CHECK(r.status == 0 && strstr(r.out, "no kmodel layers"), "netinfo of a .tflite: %s%s",
          r.out, r.err);
    CLI(&r, "netinfo", "fixtures/tflite/hello_world_int8/model.tflite", "--json");
    CHECK(r.status == 0 && strncmp(r.out, "[]", 2) == 0, "netinfo --json of a .tflite: %s",
          r.out);

    if (kdir) {
        char out[1400];
        snprintf(out, sizeof out, "%s/yolo20_v3_nncase01/expected/dog.out0.bin", kdir);
        CLI(&r, "yolo2", "--from-output", out, "--shape", "10,7,125", "--image", "320,240",
            "--anchors", "1.08,1.19,3.42,4.41,6.63,11.38,9.42,5.11,16.62,10.52", "--labels",
            "voc", "--json");
        json_t *doc = json_loads(r.out, 0, NULL);
        json_t *objs = json_object_get(doc, "objects");
        CHECK(r.status == 0 && json_integer_value(json_object_get(doc, "count")) == 3 &&
                  json_array_size(objs) == 3 &&
                  strcmp(json_string_value(json_object_get(json_array_get(objs, 2), "class")),
                         "bicycle") == 0,
              "yolo2 --from-output: %s%s", r.out, r.err);
        json_decref(doc);
        CLI(&r, "yolo2", "--from-output", out, "--shape", "10,7,124", "--image", "320,240",
            "--anchors", "1,1");
        CHECK(r.status == 1 && strstr(r.err, "yolo2: "), "yolo2 with a wrong shape: %s",
              r.err);
    }
    free(r.out);
    free(r.err);
}

int main(void)
{
    test_face();
    test_yolo2_units();
    test_synthetic();
    const char *shared = getenv("DETVM_SHARED");
    char kdir[1024];
    snprintf(kdir, sizeof kdir, "%s/models/kmodel", shared && *shared ? shared : "../shared");
    int have = is_dir(kdir);
    if (cli_setup("maixpy") == 0) {
        test_cli(have ? kdir : NULL);
        if (!have) {
            SKIP("%s is absent: the kmodel goldens are not checked", kdir);
        } else {
            test_yolo2_goldens(kdir);
            test_models(kdir);
        }
        remove_tmp_dir();
    }
    return check_summary("test_maixpy");
}
