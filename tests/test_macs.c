/* Multiply-accumulate counts (vm/macs.c): small conv2d, dense, TFLite conv, depthwise and fully
 * connected layers counted by hand, and the published figures of the models in ../shared
 * (ResNet-18: 1.81 GMAC; MobileNetV2: 300.8 M; MobileNet v1: 569 M). */
#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "ir.h"
#include "ir_build.h"
#include "module_format.h"
#include "nn_attrs.h"
#include "qnn_attrs.h"
#include "quant.h"

typedef struct {
    ir_module ir;
    ir_builder b;
    int ok;
} hand;

static void hand_init(hand *h, uint32_t source_format)
{
    memset(h, 0, sizeof *h);
    h->b.ir = &h->ir;
    h->ir.source_format = source_format;
    h->ir.postprocess = source_format == DVM_SOURCE_TFLITE ? "separate" : "";
    h->ir.source_version = "hand";
    h->ir.rounding = source_format == DVM_SOURCE_TFLITE ? DV_ROUND_DOUBLE : -1;
    h->ir.input_bytes = 4;
    h->ir.output_bytes = 4;
    h->ok = 1;
}

static dv_shape shape4(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    dv_shape s = {4, {a, b, c, d}};
    return s;
}

static dv_shape shape2(uint32_t a, uint32_t b)
{
    dv_shape s = {2, {a, b}};
    return s;
}

static dv_shape shape1(uint32_t a)
{
    dv_shape s = {1, {a}};
    return s;
}

/* An arena tensor, or a constant of `fill` values (int8 weights, say). */
static uint32_t tensor(hand *h, dv_shape shape, int constant, int32_t fill)
{
    uint32_t id = 0;
    if (!constant) {
        h->ok = h->ok && ir_new_temporary(&h->b, &shape, &id) == 0;
        if (h->ok)
            h->ir.tensors[id].precision = 8;
        return id;
    }
    uint64_t n = dv_shape_size(&shape);
    int32_t *v = malloc(n * sizeof *v + 1);
    for (uint64_t i = 0; v && i < n; i++)
        v[i] = fill;
    h->ok = h->ok && v && ir_new_constant(&h->b, &shape, v, &id) == 0;
    free(v);
    return id;
}

static void append(hand *h, uint32_t opcode, uint32_t n_in, const uint32_t *in, uint32_t out,
                   const int32_t *attrs, uint32_t n_attrs)
{
    char why[256] = "";
    const char *e = h->ok ? ir_append(&h->b, opcode, n_in, in, 1, &out, attrs, n_attrs, "layer",
                                      why, sizeof why)
                          : "an earlier step failed";
    CHECK(e == NULL, "append opcode %u: %s", opcode, e ? e : "");
    h->ok = h->ok && e == NULL;
}

/* Plans, emits and loads the module (NULL on failure); *bytes must be freed after it. */
static detvm_module *finish(hand *h, uint32_t input, uint32_t output, uint8_t **bytes)
{
    detvm_error err = {0};
    size_t len = 0;
    detvm_module *m = NULL;
    *bytes = NULL;
    h->ir.input = input;
    h->ir.outputs[0] = output;
    h->ir.n_outputs = 1;
    if (h->ok && ir_plan_memory(&h->ir, &err) == DETVM_OK &&
        ir_emit(&h->ir, bytes, &len, &err) == DETVM_OK)
        detvm_module_load(*bytes, len, &m, &err);
    CHECK(m != NULL, "the hand-made module loads: %s", err.message);
    ir_builder_free(&h->b);
    return m;
}

/* conv2d (N 2, C 4, 7 x 9; 6 channels in 2 groups, 3 x 3, stride 2, pad 1): OH 4, OW 5,
 * 2 * 6 * 4 * 5 * (4/2) * 3 * 3 = 4320; then flatten (2, 120) and dense to 7 units:
 * 2 * 7 * 120 = 1680. */
static void test_cvm(void)
{
    hand h;
    hand_init(&h, DVM_SOURCE_CVM);
    uint32_t x = tensor(&h, shape4(2, 4, 7, 9), 0, 0);
    uint32_t w = tensor(&h, shape4(6, 2, 3, 3), 1, 1);
    uint32_t bias = tensor(&h, shape1(6), 1, 0);
    uint32_t y = tensor(&h, shape4(2, 6, 4, 5), 0, 0);
    uint32_t flat = tensor(&h, shape2(2, 120), 0, 0);
    uint32_t dw = tensor(&h, shape2(7, 120), 1, -1);
    uint32_t out = tensor(&h, shape2(2, 7), 0, 0);
    h.ir.input = x;
    int32_t conv[CONV_N_ATTRS] = {0};
    conv[CONV_CHANNELS] = 6;
    conv[CONV_KERNEL_H] = conv[CONV_KERNEL_W] = 3;
    conv[CONV_STRIDE_H] = conv[CONV_STRIDE_W] = 2;
    conv[CONV_PAD_TOP] = conv[CONV_PAD_LEFT] = conv[CONV_PAD_BOTTOM] = conv[CONV_PAD_RIGHT] = 1;
    conv[CONV_DILATION_H] = conv[CONV_DILATION_W] = 1;
    conv[CONV_GROUPS] = 2;
    conv[CONV_USE_BIAS] = 1;
    append(&h, DV_OP_CONV2D, 3, (const uint32_t[]){x, w, bias}, y, conv, CONV_N_ATTRS);
    append(&h, DV_OP_FLATTEN, 1, (const uint32_t[]){y}, flat, NULL, 0);
    const int32_t dense[DENSE_N_ATTRS] = {7, 0};
    append(&h, DV_OP_DENSE, 2, (const uint32_t[]){flat, dw}, out, dense, DENSE_N_ATTRS);
    uint8_t *bytes;
    detvm_module *m = finish(&h, x, out, &bytes);
    if (m) {
        CHECK(detvm_layer_macs(m, 0) == 4320, "conv2d: %llu MACs, want 4320",
              (unsigned long long)detvm_layer_macs(m, 0));
        CHECK(detvm_layer_macs(m, 1) == 0, "flatten multiplies nothing");
        CHECK(detvm_layer_macs(m, 2) == 1680, "dense: %llu MACs, want 1680",
              (unsigned long long)detvm_layer_macs(m, 2));
        CHECK(detvm_layer_macs(m, 3) == 0, "past the last layer: 0");
        CHECK(detvm_module_macs(m) == 6000, "the module: %llu MACs, want 6000",
              (unsigned long long)detvm_module_macs(m));
    }
    detvm_module_free(m);
    free(bytes);
}

static void qconv_attrs(int32_t *a, int32_t stride, int32_t pad)
{
    a[QC_STRIDE_H] = a[QC_STRIDE_W] = stride;
    a[QC_DILATION_H] = a[QC_DILATION_W] = 1;
    a[QC_PAD_TOP] = a[QC_PAD_LEFT] = a[QC_PAD_BOTTOM] = a[QC_PAD_RIGHT] = pad;
    a[QC_INPUT_OFFSET] = 1;
    a[QC_OUTPUT_OFFSET] = 0;
    a[QC_ACT_MIN] = -128;
    a[QC_ACT_MAX] = 127;
    a[QC_ROUNDING] = 0;
}

/* TFLite: conv (1, 5, 6, 4) with 8 filters 3 x 3 x 4, stride 1, pad 1: OH 5, OW 6,
 * 5 * 6 * 8 * 3 * 3 * 4 = 8640; depthwise (1, 5, 6, 8), multiplier 2, 3 x 3, stride 2, no
 * pad: OH 2, OW 2, 2 * 2 * 16 * 3 * 3 = 576; fully connected of the (1, 2, 2, 16) = 64 values
 * to 5 units: 1 * 5 * 64 = 320. */
static void test_tflite(void)
{
    hand h;
    hand_init(&h, DVM_SOURCE_TFLITE);
    uint32_t x = tensor(&h, shape4(1, 5, 6, 4), 0, 0);
    uint32_t f = tensor(&h, shape4(8, 3, 3, 4), 1, 3);
    uint32_t b8 = tensor(&h, shape1(8), 1, 0), m8 = tensor(&h, shape1(8), 1, 1 << 30);
    uint32_t s8 = tensor(&h, shape1(8), 1, 0);
    uint32_t y = tensor(&h, shape4(1, 5, 6, 8), 0, 0);
    uint32_t df = tensor(&h, shape4(1, 3, 3, 16), 1, -2);
    uint32_t b16 = tensor(&h, shape1(16), 1, 0), m16 = tensor(&h, shape1(16), 1, 1 << 30);
    uint32_t s16 = tensor(&h, shape1(16), 1, 0);
    uint32_t z = tensor(&h, shape4(1, 2, 2, 16), 0, 0);
    uint32_t fw = tensor(&h, shape2(5, 64), 1, 1);
    uint32_t b5 = tensor(&h, shape1(5), 1, 0), m5 = tensor(&h, shape1(5), 1, 1 << 30);
    uint32_t s5 = tensor(&h, shape1(5), 1, 0);
    uint32_t out = tensor(&h, shape2(1, 5), 0, 0);
    h.ir.input = x;
    int32_t conv[QCONV_N_ATTRS], dw[QDW_N_ATTRS];
    qconv_attrs(conv, 1, 1);
    append(&h, DV_OP_QCONV2D, 5, (const uint32_t[]){x, f, b8, m8, s8}, y, conv, QCONV_N_ATTRS);
    qconv_attrs(dw, 2, 0);
    dw[QDW_DEPTH_MULTIPLIER] = 2;
    append(&h, DV_OP_QDEPTHWISE_CONV2D, 5, (const uint32_t[]){y, df, b16, m16, s16}, z, dw,
           QDW_N_ATTRS);
    const int32_t fc[QFC_N_ATTRS] = {1, 0, 0, -128, 127, 0};
    append(&h, DV_OP_QFULLY_CONNECTED, 5, (const uint32_t[]){z, fw, b5, m5, s5}, out, fc,
           QFC_N_ATTRS);
    uint8_t *bytes;
    detvm_module *m = finish(&h, x, out, &bytes);
    if (m) {
        CHECK(detvm_layer_macs(m, 0) == 8640, "qconv2d: %llu MACs, want 8640",
              (unsigned long long)detvm_layer_macs(m, 0));
        CHECK(detvm_layer_macs(m, 1) == 576, "qdepthwise_conv2d: %llu MACs, want 576",
              (unsigned long long)detvm_layer_macs(m, 1));
        CHECK(detvm_layer_macs(m, 2) == 320, "qfully_connected: %llu MACs, want 320",
              (unsigned long long)detvm_layer_macs(m, 2));
        CHECK(detvm_module_macs(m) == 9536, "the module: %llu MACs, want 9536",
              (unsigned long long)detvm_module_macs(m));
    }
    detvm_module_free(m);
    free(bytes);
}

/* The fixture's TFLite model: three fully connected layers, 1 -> 16 -> 16 -> 1. */
static void test_fixture(void)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    if (detvm_load_model_files("fixtures/tflite/hello_world_int8/model.tflite", NULL, NULL,
                               &bytes, &len, &err) ||
        detvm_module_load(bytes, len, &m, &err)) {
        CHECK(0, "hello_world_int8: %s", err.message);
    } else {
        CHECK(detvm_module_macs(m) == 16 + 16 * 16 + 16, "hello_world_int8: %llu MACs, want 288",
              (unsigned long long)detvm_module_macs(m));
    }
    detvm_module_free(m);
    free(bytes);
}

static uint64_t macs_of(const char *model, const char *params)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    detvm_module *m = NULL;
    uint64_t macs = 0;
    if (detvm_load_model_files(model, params, NULL, &bytes, &len, &err) ||
        detvm_module_load(bytes, len, &m, &err))
        CHECK(0, "%s: %s", model, err.message);
    else
        macs = detvm_module_macs(m);
    detvm_module_free(m);
    free(bytes);
    return macs;
}

/* The published figures. ResNet-18 at 224 x 224: 1.81 G multiply-adds, exactly 1,814,073,344
 * counted this way (conv1 118.0 M, the 3 x 3 stages 1,684.5 M with the 1 x 1 shortcuts, the
 * classifier 0.5 M). MobileNetV2 1.0 at 224: 300.8 M (the paper's "300 M", 300,774,272 with the
 * 1280 x 1000 classifier). MobileNet v1 1.0 at 224: the paper's 569 M. */
static void test_published(void)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared is absent: the published MAC counts are not checked");
        return;
    }
    char model[1200], params[1200];
    snprintf(model, sizeof model, "%s/conformance/cvm/medium/medium_resnet18/symbol.json", shared);
    snprintf(params, sizeof params, "%s/conformance/cvm/medium/medium_resnet18/params.bin",
             shared);
    uint64_t resnet = macs_of(model, params);
    CHECK(resnet == 1814073344ull, "ResNet-18-shaped: %llu MACs, want 1,814,073,344 (1.81 G)",
          (unsigned long long)resnet);
    snprintf(model, sizeof model,
             "%s/models/tflite/mobilenet_v2_quantized_1x3x224x224/model.tflite", shared);
    uint64_t v2 = macs_of(model, NULL);
    CHECK(v2 == 300774272ull, "MobileNetV2: %llu MACs, want 300,774,272 (300.8 M)",
          (unsigned long long)v2);
    snprintf(model, sizeof model, "%s/conformance/cvm/medium/medium_mobilenet_v1/symbol.json",
             shared);
    snprintf(params, sizeof params, "%s/conformance/cvm/medium/medium_mobilenet_v1/params.bin",
             shared);
    uint64_t v1 = macs_of(model, params);
    CHECK(v1 >= 568500000ull && v1 <= 569500000ull, "MobileNet-v1-shaped: %llu MACs, want 569 M",
          (unsigned long long)v1);
}

int main(void)
{
    test_cvm();
    test_tflite();
    test_fixture();
    test_published();
    return check_summary("test_macs");
}
