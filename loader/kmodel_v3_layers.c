/* kmodel v3 layers: each body decoded and checked, and planned as one instruction
 * (kmodel_v3.h). The fields and their meaning are the SDK's (kpu.h kpu_model_*_argument_t,
 * kpu.c ai_step); the arithmetic is in ops/k210_sdk.c and ops/kpu.c.
 *
 * Every byte range a layer reads or writes is checked here against the memory it lies in
 * (main memory of main_mem_usage bytes, the 2 MiB KPU RAM, or the file), so that a hostile
 * file is refused with the field named; the planned instruction's infer then checks it again
 * (as the compiler and the module loader always do). The first field of every body, flags,
 * means something only to K210_CONV (bit 0: main memory output); the SDK never reads it in
 * the CPU layers, and neither do we. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/kimage.h"
#include "../vm/module_format.h"
#include "kmodel_v3.h"

typedef struct {
    const v3_file *f;
    v3_layer *l;
    char *why;
    size_t cap;
} plan;

static int fail(plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, p->cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Field i of the body (a uint32). */
static uint32_t F(const plan *p, uint32_t i) { return v3_u32(p->f->bytes + p->l->body + 4 * i); }

#define SAT (1ull << 62)

static uint64_t mul(uint64_t a, uint64_t b) { return a && b > SAT / a ? SAT : a * b; }

/* [at, at + bytes) must lie in main memory. */
static int main_range(plan *p, const char *field, uint64_t at, uint64_t bytes)
{
    if (at + bytes > p->f->main_bytes)
        return fail(p, "%s: bytes %llu..%llu lie outside main memory (main_mem_usage %u)",
                    field, (unsigned long long)at, (unsigned long long)(at + bytes),
                    p->f->main_bytes);
    return 0;
}

/* [at, at + bytes) must lie in the file, at a multiple of `align`. */
static int file_range(plan *p, const char *field, uint32_t at, uint64_t bytes, uint32_t align)
{
    if (at % align)
        return fail(p, "%s: %u is not a multiple of %u", field, at, align);
    if ((uint64_t)at + bytes > p->f->len)
        return fail(p, "%s: bytes %u..%llu lie outside the file (%u bytes)", field, at,
                    (unsigned long long)at + bytes, p->f->len);
    return 0;
}

/* A KPU RAM row address (64-byte rows) whose byte offset is valid. */
static int kpu_row(plan *p, const char *field, uint32_t row)
{
    if (row >= DV_KPU_RAM_ROWS)
        return fail(p, "%s: row %u lies outside the %u rows of KPU RAM", field, row,
                    DV_KPU_RAM_ROWS);
    return 0;
}

static int positive(plan *p, const char *field, uint32_t v)
{
    return v ? 0 : fail(p, "%s: must be positive", field);
}

static int set_attrs(plan *p, const int32_t *v, uint32_t n)
{
    p->l->attrs = malloc((n ? n : 1) * sizeof *v);
    if (!p->l->attrs)
        return fail(p, "out of memory");
    memcpy(p->l->attrs, v, n * sizeof *v);
    p->l->n_attrs = n;
    return 0;
}

static void add_constant(plan *p, uint32_t at, uint32_t bytes)
{
    p->l->constants[p->l->n_constants].at = at;
    p->l->constants[p->l->n_constants].bytes = bytes;
    p->l->n_constants++;
}

/* A CPU layer of main memory: opcode, attributes, and the bytes it writes (the node's result;
 * `shown` of them are its output, the rest scratch the SDK also writes). */
static int cpu_layer(plan *p, uint32_t opcode, const int32_t *attrs, uint32_t n, uint32_t out,
                     uint64_t written, uint64_t shown, int float_out)
{
    v3_layer *l = p->l;
    l->opcode = opcode;
    l->operands = V3_OPS_MAIN;
    l->writes_main = 1;
    l->float_out = float_out;
    l->main_at = out;
    l->main_bytes = (uint32_t)written;
    l->result.mem = KM_MAIN;
    l->result.offset = out;
    l->result.bytes = (uint32_t)shown;
    return set_attrs(p, attrs, n);
}

#define A(x) ((int32_t)(x))

/* ---- the layers ----------------------------------------------------------------------- */

/* ADD: flags, in_a, in_b, out, count (float32). */
static int plan_add(plan *p)
{
    uint32_t a = F(p, 1), b = F(p, 2), out = F(p, 3), n = F(p, 4);
    uint64_t bytes = 4ull * n;
    if (main_range(p, "main_mem_in_a_address", a, bytes) ||
        main_range(p, "main_mem_in_b_address", b, bytes) ||
        main_range(p, "main_mem_out_address", out, bytes))
        return -1;
    int32_t v[] = {A(a), A(b), A(out), A(n)};
    return cpu_layer(p, DV_OP_SDK_ADD, v, 4, out, bytes, bytes, 1);
}

/* QUANTIZED_ADD: flags, in_a, in_b, out, count, then in_a offset, mul, shift, in_b offset,
 * mul, shift, out offset, mul, shift (int32). The SDK works on count rounded up to 8. */
static int plan_quantized_add(plan *p)
{
    uint32_t a = F(p, 1), b = F(p, 2), out = F(p, 3), n = F(p, 4);
    uint64_t bytes = ((uint64_t)n + 7) & ~7ull;
    if (main_range(p, "main_mem_in_a_address", a, bytes) ||
        main_range(p, "main_mem_in_b_address", b, bytes) ||
        main_range(p, "main_mem_out_address", out, bytes))
        return -1;
    static const char *const shifts[] = {"in_a_shift", "in_b_shift", "out_shift"};
    for (uint32_t i = 0; i < 3; i++)
        if (F(p, 7 + 3 * i) > 63)
            return fail(p, "%s: %d must be 0..63", shifts[i], A(F(p, 7 + 3 * i)));
    int32_t v[13] = {A(a), A(b), A(out), A(n)};
    for (uint32_t i = 0; i < 9; i++)
        v[4 + i] = A(F(p, 5 + i));
    return cpu_layer(p, DV_OP_SDK_QUANTIZED_ADD, v, 13, out, bytes, n, 0);
}

/* GLOBAL_AVERAGE_POOL2D: flags, in, out, kernel_size, channels (float32). */
static int plan_global_average_pool2d(plan *p)
{
    uint32_t in = F(p, 1), out = F(p, 2), k = F(p, 3), c = F(p, 4);
    if (main_range(p, "main_mem_in_address", in, mul(mul(k, c), 4)) ||
        main_range(p, "main_mem_out_address", out, 4ull * c))
        return -1;
    int32_t v[] = {A(in), A(out), A(k), A(c)};
    return cpu_layer(p, DV_OP_SDK_GLOBAL_AVERAGE_POOL2D, v, 4, out, 4ull * c, 4ull * c, 1);
}

/* QUANTIZED_MAX_POOL2D (uint8) and AVERAGE_POOL2D (float32): flags, in, out, in_shape {w, h,
 * c}, out_shape {w, h, c}, kernel w, h, stride w, h, padding w, h (and, unused by the SDK,
 * the activation). */
static int plan_pool(plan *p, uint32_t opcode, uint32_t elem)
{
    static const char *const names[] = {
        "in_shape.width", "in_shape.height", "in_shape.channels", "out_shape.width",
        "out_shape.height", "out_shape.channels", "kernel_width", "kernel_height",
        "stride_width", "stride_height", "padding_width", "padding_height"};
    for (uint32_t i = 0; i < 12; i++)
        if (F(p, 3 + i) > (1u << 30))
            return fail(p, "%s: %u is larger than 2^30", names[i], F(p, 3 + i));
    uint32_t in = F(p, 1), out = F(p, 2);
    uint64_t in_bytes = mul(mul(mul(F(p, 3), F(p, 4)), F(p, 8)), elem);
    uint64_t out_bytes = mul(mul(mul(F(p, 6), F(p, 7)), F(p, 8)), elem);
    if (main_range(p, "main_mem_in_address", in, in_bytes) ||
        main_range(p, "main_mem_out_address", out, out_bytes))
        return -1;
    int32_t v[13] = {A(in), A(out), A(F(p, 3)), A(F(p, 4)), A(F(p, 6)), A(F(p, 7)), A(F(p, 8))};
    for (uint32_t i = 0; i < 6; i++)
        v[7 + i] = A(F(p, 9 + i));
    return cpu_layer(p, opcode, v, 13, out, out_bytes, out_bytes, elem == 4);
}

/* QUANTIZE (float32 -> uint8) and DEQUANTIZE (uint8 -> float32): flags, in, out, count,
 * scale, bias (float32). */
static int plan_quantize(plan *p, int dequantize)
{
    uint32_t in = F(p, 1), out = F(p, 2), n = F(p, 3);
    uint64_t in_bytes = dequantize ? n : 4ull * n, out_bytes = dequantize ? 4ull * n : n;
    if (main_range(p, "main_mem_in_address", in, in_bytes) ||
        main_range(p, dequantize ? "main_mem_out_address" : "mem_out_address", out, out_bytes))
        return -1;
    int32_t v[] = {A(in), A(out), A(n), A(F(p, 4)), A(F(p, 5))};
    return cpu_layer(p, dequantize ? DV_OP_SDK_DEQUANTIZE : DV_OP_SDK_QUANTIZE, v, 5, out,
                     out_bytes, out_bytes, dequantize);
}

/* REQUANTIZE: flags, in, out, count, table[256] (uint8). */
static int plan_requantize(plan *p)
{
    uint32_t in = F(p, 1), out = F(p, 2), n = F(p, 3);
    if (main_range(p, "main_mem_in_address", in, n) ||
        main_range(p, "main_mem_out_address", out, n))
        return -1;
    add_constant(p, p->l->body + 16, 256);
    int32_t v[] = {A(in), A(out), A(n)};
    return cpu_layer(p, DV_OP_SDK_REQUANTIZE, v, 3, out, n, n, 0);
}

/* L2_NORMALIZATION, SOFTMAX, LOGISTIC: flags, in, out, channels (float32). */
static int plan_vector(plan *p, uint32_t opcode)
{
    uint32_t in = F(p, 1), out = F(p, 2), n = F(p, 3);
    if (main_range(p, "main_mem_in_address", in, 4ull * n) ||
        main_range(p, "main_mem_out_address", out, 4ull * n))
        return -1;
    int32_t v[] = {A(in), A(out), A(n)};
    return cpu_layer(p, opcode, v, 3, out, 4ull * n, 4ull * n, 1);
}

/* CONCAT (float32) and QUANTIZED_CONCAT (uint8): flags, out, input_count, then input_count
 * {start, size} byte ranges. */
static int plan_concat(plan *p, int float_out)
{
    uint32_t out = F(p, 1), n = F(p, 2);
    if ((uint64_t)n * 8 + 12 > p->l->size)
        return fail(p, "input_count: %u ranges do not fit in a body of %u bytes", n,
                    p->l->size);
    int32_t *v = malloc((2 + 2 * (size_t)n) * sizeof *v);
    if (!v)
        return fail(p, "out of memory");
    v[0] = A(out), v[1] = A(n);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t start = F(p, 3 + 2 * i), size = F(p, 4 + 2 * i);
        char field[48];
        snprintf(field, sizeof field, "inputs_mem[%u]", i);
        if (main_range(p, field, start, size)) {
            free(v);
            return -1;
        }
        v[2 + 2 * i] = A(start), v[3 + 2 * i] = A(size);
        total += size;
    }
    int st = main_range(p, "main_mem_out_address", out, total);
    if (!st)
        st = cpu_layer(p, DV_OP_SDK_CONCAT, v, 2 + 2 * n, out, total, total, float_out);
    free(v);
    return st;
}

/* FULLY_CONNECTED: flags, in, out, in_channels, out_channels, act, then the float32 weights
 * (out_channels rows of in_channels) and out_channels biases. */
static int plan_fully_connected(plan *p)
{
    uint32_t in = F(p, 1), out = F(p, 2), ni = F(p, 3), no = F(p, 4), act = F(p, 5);
    if (positive(p, "in_channels", ni) || positive(p, "out_channels", no))
        return -1;
    if (act > 2)
        return fail(p, "act: %u is not 0 (linear), 1 (relu) or 2 (relu6)", act);
    uint64_t weights = mul(mul((uint64_t)ni + 1, no), 4);
    if (weights + 24 > p->l->size)
        return fail(p, "body_size: %u bytes cannot hold %u x %u weights and %u biases",
                    p->l->size, no, ni, no);
    if (main_range(p, "main_mem_in_address", in, 4ull * ni) ||
        main_range(p, "main_mem_out_address", out, 4ull * no))
        return -1;
    add_constant(p, p->l->body + 24, (uint32_t)weights);
    p->l->input_dtype = DVM_DTYPE_FLOAT32;
    p->l->input_shape = (dv_shape){1, {ni}};
    p->l->input_at = in;
    int32_t v[] = {A(in), A(out), A(ni), A(no), A(act)};
    return cpu_layer(p, DV_OP_SDK_FULLY_CONNECTED, v, 5, out, 4ull * no, 4ull * no, 1);
}

/* TENSORFLOW_FLATTEN: flags, in, out, shape {w, h, c} (float32). */
static int plan_tf_flatten(plan *p)
{
    uint32_t in = F(p, 1), out = F(p, 2);
    uint64_t bytes = mul(mul(mul(F(p, 3), F(p, 4)), F(p, 5)), 4);
    if (main_range(p, "main_mem_in_address", in, bytes) ||
        main_range(p, "main_mem_out_address", out, bytes))
        return -1;
    int32_t v[] = {A(in), A(out), A(F(p, 3)), A(F(p, 4)), A(F(p, 5))};
    return cpu_layer(p, DV_OP_SDK_TF_FLATTEN, v, 5, out, bytes, bytes, 1);
}

/* RESIZE_NEAREST_NEIGHBOR (float32) and its QUANTIZED twin (uint8): flags, in, out,
 * in_shape {w, h, c}, out_width, out_height, align_corners (unused by the SDK). */
static int plan_resize(plan *p, uint32_t elem)
{
    uint32_t in = F(p, 1), out = F(p, 2), w = F(p, 3), h = F(p, 4), c = F(p, 5);
    uint32_t ow = F(p, 6), oh = F(p, 7);
    if (w < 1 || h < 1 || w > (1u << 24) || h > (1u << 24))
        return fail(p, "in_shape: width %u and height %u must be 1..2^24", w, h);
    uint64_t in_bytes = mul(mul(mul(w, h), c), elem), out_bytes = mul(mul(mul(ow, oh), c), elem);
    if (main_range(p, "main_mem_in_address", in, in_bytes) ||
        main_range(p, "main_mem_out_address", out, out_bytes))
        return -1;
    int32_t v[] = {A(in), A(out), A(w), A(h), A(c), A(ow), A(oh), elem == 4};
    return cpu_layer(p, DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR, v, 8, out, out_bytes, out_bytes,
                     elem == 4);
}

/* CHANNELWISE_DEQUANTIZE: flags, in, out, channels, channel_size, then channels x {scale,
 * bias} (float32). */
static int plan_channelwise_dequantize(plan *p)
{
    uint32_t in = F(p, 1), out = F(p, 2), c = F(p, 3), size = F(p, 4);
    if (positive(p, "channels", c))
        return -1;
    if ((uint64_t)c * 8 + 20 > p->l->size)
        return fail(p, "channels: %u quantization parameters do not fit in a body of %u bytes",
                    c, p->l->size);
    uint64_t n = mul(c, size);
    if (main_range(p, "main_mem_in_address", in, n) ||
        main_range(p, "main_mem_out_address", out, mul(n, 4)))
        return -1;
    add_constant(p, p->l->body + 20, 8 * c);
    int32_t v[] = {A(in), A(out), A(c), A(size)};
    return cpu_layer(p, DV_OP_SDK_CHANNELWISE_DEQUANTIZE, v, 4, out, 4 * n, 4 * n, 1);
}

/* K210_ADD_PADDING: flags, main_mem_in_address, kpu_mem_out_address (row), channels. */
static int plan_add_padding(plan *p)
{
    uint32_t in = F(p, 1), row = F(p, 2), c = F(p, 3);
    if (positive(p, "channels", c) || main_range(p, "main_mem_in_address", in, c) ||
        kpu_row(p, "kpu_mem_out_address", row))
        return -1;
    uint64_t last = dv_kpu_addr((uint64_t)row * 64, 4, 4, c - 1, 0, 0);
    if (last >= DV_KPU_RAM_BYTES)
        return fail(p, "kpu_mem_out_address: %u channels from row %u run past KPU RAM", c, row);
    v3_layer *l = p->l;
    l->opcode = DV_OP_SDK_ADD_PADDING;
    l->operands = V3_OPS_KPU_MAIN;
    l->result = (km_node_result){.mem = KM_KPU, .kpu_map = 1, .offset = row * 64,
                                 .dims = {1, c, 4, 4}};
    int32_t v[] = {A(in), A(row * 64), A(c)};
    return set_attrs(p, v, 3);
}

/* K210_REMOVE_PADDING: flags, in, out, channels (uint8; byte 16c of the input). */
static int plan_remove_padding(plan *p)
{
    uint32_t in = F(p, 1), out = F(p, 2), c = F(p, 3);
    if (positive(p, "channels", c) || main_range(p, "main_mem_in_address", in, 16ull * c - 15) ||
        main_range(p, "main_mem_out_address", out, c))
        return -1;
    int32_t v[] = {A(in), A(out), A(c)};
    return cpu_layer(p, DV_OP_SDK_REMOVE_PADDING, v, 3, out, c, c, 0);
}

/* K210_UPLOAD: flags, main_mem_in_address, kpu_mem_out_address (row), width, height,
 * channels: KPU_UPLOAD from main memory (the SDK's kpu_upload_core has nncase's layout). */
static int plan_upload(plan *p)
{
    uint32_t in = F(p, 1), row = F(p, 2), w = F(p, 3), h = F(p, 4), c = F(p, 5);
    if (positive(p, "width", w) || positive(p, "height", h) || positive(p, "channels", c) ||
        kpu_row(p, "kpu_mem_out_address", row) ||
        main_range(p, "main_mem_in_address", in, mul(mul(w, h), c)))
        return -1;
    if (dv_kpu_map_check((int64_t)row * 64, 1, c, h, w))
        return fail(p, "kpu_mem_out_address: a %u x %u x %u map from row %u runs past KPU RAM",
                    c, h, w, row);
    v3_layer *l = p->l;
    l->opcode = DV_OP_KPU_UPLOAD;
    l->operands = V3_OPS_KPU_MAIN;
    l->result = (km_node_result){.mem = KM_KPU, .kpu_map = 1, .offset = row * 64,
                                 .dims = {1, c, h, w}};
    int32_t v[DV_KPU_UPLOAD_ATTRS] = {DV_KPU_UPLOAD_IMAGE, A(in), 1, A(c), A(h), A(w), A(row * 64)};
    return set_attrs(p, v, DV_KPU_UPLOAD_ATTRS);
}

/* K210_CONV: flags (bit 0: the layer also sends its output to main memory),
 * main_mem_out_address, and the file offsets of the layer argument block (12 x uint64),
 * the weights, the batch norm words and the activation table. */
static int plan_conv(plan *p)
{
    v3_layer *l = p->l;
    uint32_t flags = F(p, 0), main_out = F(p, 1), arg = F(p, 2);
    if (flags & ~1u)
        return fail(p, "flags: 0x%x has bits other than bit 0 (main memory output)", flags);
    if (file_range(p, "layer_offset", arg, 8 * DV_KPU_WORDS, 8))
        return -1;
    uint64_t words[DV_KPU_WORDS];
    for (uint32_t i = 0; i < DV_KPU_WORDS; i++)
        words[i] = v3_u32(p->f->bytes + arg + 8 * i) |
                   (uint64_t)v3_u32(p->f->bytes + arg + 8 * i + 4) << 32;
    /* As the SDK's kpu_conv sends it: the driver fills in the three bus addresses (zero in a
     * module), and the layer either raises the done interrupt or streams its output. */
    dv_kpu_set(words, DV_KPU_BWSX_BASE_ADDR, 0);
    dv_kpu_set(words, DV_KPU_PARA_START_ADDR, 0);
    dv_kpu_set(words, DV_KPU_ACTIVE_ADDR, 0);
    dv_kpu_set(words, (flags & 1) ? DV_KPU_SEND_DATA_OUT : DV_KPU_INT_EN, 1);
    dv_kpu_layer k;
    dv_kpu_decode_words(words, &k);
    uint32_t bits = (p->f->flags & 1) ? 8 : 16;
    const char *why = dv_kpu_check(&k, 1, bits, 0);
    if (why)
        return fail(p, "layer argument: %s", why);
    static const char *const names[] = {"weights_offset", "bn_offset", "act_offset"};
    uint32_t sizes[3] = {dv_kpu_weights_bytes(&k, bits), dv_kpu_bn_bytes(&k), DV_KPU_ACT_BYTES};
    for (uint32_t i = 0; i < 3; i++) {
        if (file_range(p, names[i], F(p, 3 + i), sizes[i], 8))
            return -1;
        add_constant(p, F(p, 3 + i), sizes[i]);
    }
    int32_t v[DV_KPU_CONV_ATTRS_MAX] = {0};
    dv_kpu_words_to_attrs(words, v);
    v[DV_KPU_ATTR_BATCHES] = 1;
    v[DV_KPU_ATTR_SEMANTICS] = 0; /* the importer's choice, set when emitting */
    v[DV_KPU_ATTR_WEIGHT_BITS] = (int32_t)bits;
    if (flags & 1) {
        uint64_t bytes = (uint64_t)k.out_c * k.out_h * k.out_w;
        if (main_range(p, "main_mem_out_address", main_out, bytes))
            return -1;
        v[DV_KPU_ATTR_MAIN_OFFSET] = A(main_out);
        l->writes_main = 1;
        l->main_at = main_out;
        l->main_bytes = (uint32_t)bytes;
    }
    l->opcode = (flags & 1) ? DV_OP_KPU_CONV2D_OUT : DV_OP_KPU_CONV2D;
    l->operands = (flags & 1) ? V3_OPS_CONV_OUT : V3_OPS_CONV;
    l->result = (km_node_result){.mem = KM_KPU, .kpu_map = 1, .offset = k.dst_row * 64,
                                 .dims = {1, k.out_c, k.out_h, k.out_w}};
    /* As the model's first layer, it takes the input: kpu_run_kmodel uploads it to the
     * layer's source rows, in the KPU layout when the width is not a multiple of 64 and as
     * one DMA of channel_switch_addr rows per channel when it is, which is the same layout
     * only if channel_switch_addr is the map's rows per channel. */
    l->input_dtype = DVM_DTYPE_UINT8;
    l->input_shape = (dv_shape){4, {1, k.in_c, k.in_h, k.in_w}};
    l->input_at = k.src_row * 64;
    if (l->index == 0 && k.in_w % 64 == 0 &&
        k.channel_switch_addr != dv_kpu_map_rows(k.in_w, k.in_h, 1))
        return fail(p, "kernel_calc_type_cfg.channel_switch_addr: %u rows per channel, but a "
                    "%u x %u input map has %llu", k.channel_switch_addr, k.in_w, k.in_h,
                    (unsigned long long)dv_kpu_map_rows(k.in_w, k.in_h, 1));
    return set_attrs(p, v, bits == 8 ? DV_KPU_CONV_ATTRS : DV_KPU_CONV_ATTRS_MAX);
}

/* ---- the layer table ------------------------------------------------------------------ */

typedef struct {
    uint32_t type;
    const char *name;
    uint32_t body;   /* bytes of the fixed part of the body; 0: the SDK cannot run it */
} v3_kind;

static const v3_kind kinds[] = {
    {V3_INVALID, "INVALID", 0},
    {V3_ADD, "ADD", 20},
    {V3_QUANTIZED_ADD, "QUANTIZED_ADD", 56},
    {V3_GLOBAL_MAX_POOL2D, "GLOBAL_MAX_POOL2D", 0},
    {V3_QUANTIZED_GLOBAL_MAX_POOL2D, "QUANTIZED_GLOBAL_MAX_POOL2D", 0},
    {V3_GLOBAL_AVERAGE_POOL2D, "GLOBAL_AVERAGE_POOL2D", 20},
    {V3_QUANTIZED_GLOBAL_AVERAGE_POOL2D, "QUANTIZED_GLOBAL_AVERAGE_POOL2D", 0},
    {V3_MAX_POOL2D, "MAX_POOL2D", 0},
    {V3_QUANTIZED_MAX_POOL2D, "QUANTIZED_MAX_POOL2D", 60},
    {V3_AVERAGE_POOL2D, "AVERAGE_POOL2D", 64},
    {V3_QUANTIZED_AVERAGE_POOL2D, "QUANTIZED_AVERAGE_POOL2D", 0},
    {V3_QUANTIZE, "QUANTIZE", 24},
    {V3_DEQUANTIZE, "DEQUANTIZE", 24},
    {V3_REQUANTIZE, "REQUANTIZE", 272},
    {V3_L2_NORMALIZATION, "L2_NORMALIZATION", 16},
    {V3_SOFTMAX, "SOFTMAX", 16},
    {V3_CONCAT, "CONCAT", 12},
    {V3_QUANTIZED_CONCAT, "QUANTIZED_CONCAT", 12},
    {V3_FULLY_CONNECTED, "FULLY_CONNECTED", 24},
    {V3_QUANTIZED_FULLY_CONNECTED, "QUANTIZED_FULLY_CONNECTED", 0},
    {V3_TENSORFLOW_FLATTEN, "TENSORFLOW_FLATTEN", 24},
    {V3_QUANTIZED_TENSORFLOW_FLATTEN, "QUANTIZED_TENSORFLOW_FLATTEN", 0},
    {V3_RESIZE_NEAREST_NEIGHBOR, "RESIZE_NEAREST_NEIGHBOR", 36},
    {V3_QUANTIZED_RESIZE_NEAREST_NEIGHBOR, "QUANTIZED_RESIZE_NEAREST_NEIGHBOR", 36},
    {V3_CHANNELWISE_DEQUANTIZE, "CHANNELWISE_DEQUANTIZE", 20},
    {V3_LOGISTIC, "LOGISTIC", 16},
    {V3_K210_CONV, "K210_CONV", 24},
    {V3_K210_ADD_PADDING, "K210_ADD_PADDING", 16},
    {V3_K210_REMOVE_PADDING, "K210_REMOVE_PADDING", 16},
    {V3_K210_UPLOAD, "K210_UPLOAD", 24},
};

static const v3_kind *kind_of(uint32_t type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].type == type)
            return &kinds[i];
    return NULL;
}

const char *v3_type_name(uint32_t type)
{
    const v3_kind *k = kind_of(type);
    return k ? k->name : "UNKNOWN";
}

static int dispatch(plan *p)
{
    switch (p->l->type) {
    case V3_ADD: return plan_add(p);
    case V3_QUANTIZED_ADD: return plan_quantized_add(p);
    case V3_GLOBAL_AVERAGE_POOL2D: return plan_global_average_pool2d(p);
    case V3_QUANTIZED_MAX_POOL2D: return plan_pool(p, DV_OP_SDK_QUANTIZED_MAX_POOL2D, 1);
    case V3_AVERAGE_POOL2D: return plan_pool(p, DV_OP_SDK_AVERAGE_POOL2D, 4);
    case V3_QUANTIZE: return plan_quantize(p, 0);
    case V3_DEQUANTIZE: return plan_quantize(p, 1);
    case V3_REQUANTIZE: return plan_requantize(p);
    case V3_L2_NORMALIZATION: return plan_vector(p, DV_OP_SDK_L2_NORMALIZATION);
    case V3_SOFTMAX: return plan_vector(p, DV_OP_SDK_SOFTMAX);
    case V3_LOGISTIC: return plan_vector(p, DV_OP_SDK_LOGISTIC);
    case V3_CONCAT: return plan_concat(p, 1);
    case V3_QUANTIZED_CONCAT: return plan_concat(p, 0);
    case V3_FULLY_CONNECTED: return plan_fully_connected(p);
    case V3_TENSORFLOW_FLATTEN: return plan_tf_flatten(p);
    case V3_RESIZE_NEAREST_NEIGHBOR: return plan_resize(p, 4);
    case V3_QUANTIZED_RESIZE_NEAREST_NEIGHBOR: return plan_resize(p, 1);
    case V3_CHANNELWISE_DEQUANTIZE: return plan_channelwise_dequantize(p);
    case V3_K210_CONV: return plan_conv(p);
    case V3_K210_ADD_PADDING: return plan_add_padding(p);
    case V3_K210_REMOVE_PADDING: return plan_remove_padding(p);
    case V3_K210_UPLOAD: return plan_upload(p);
    default: return fail(p, "internal: no plan for layer type %u", p->l->type);
    }
}

/* The planned instruction's infer, on the shapes the import will give it. */
static int check_infer(plan *p)
{
    const v3_layer *l = p->l;
    const dv_op_info *op = dv_op_lookup(l->opcode);
    dv_shape in[8], out[2];
    uint32_t n_in = 0, n_out = 1;
    dv_shape main_image = {1, {(p->f->main_bytes ? (p->f->main_bytes + 3) / 4 : 1)}};
    dv_shape kpu_image = {1, {DV_KPU_RAM_BYTES / 4}};
    in[n_in++] = l->operands == V3_OPS_MAIN ? main_image : kpu_image;
    if (l->operands == V3_OPS_KPU_MAIN)
        in[n_in++] = main_image;
    for (uint32_t i = 0; i < l->n_constants; i++)
        in[n_in++] = (dv_shape){1, {(l->constants[i].bytes + 3) / 4}};
    if (l->operands == V3_OPS_CONV_OUT) {
        in[n_in++] = main_image;
        n_out = 2;
    }
    dv_attrs attrs = {l->attrs, l->n_attrs};
    const char *why = op && op->n_outputs == n_out ? op->infer(&attrs, n_in, in, n_out, out)
                                                   : "internal: operands do not fit the op";
    return why ? fail(p, "%s", why) : 0;
}

int v3_plan_layer(const v3_file *f, v3_layer *l, char *why, size_t why_cap)
{
    plan p = {f, l, why, why_cap};
    const v3_kind *k = kind_of(l->type);
    l->name = k ? k->name : "UNKNOWN";
    if (!k)
        return fail(&p, "type: %u is not a kmodel v3 layer type", l->type);
    if (!k->body)
        return fail(&p, "type: the SDK's kmodel v3 runtime cannot run %s layers (it has no "
                        "code for them)", k->name);
    if (l->size < k->body)
        return fail(&p, "body_size: %u bytes, a %s body has at least %u", l->size, k->name,
                    k->body);
    if (dispatch(&p) || check_infer(&p))
        return -1;
    for (uint32_t i = 0; i < l->n_constants; i++)
        if (l->constants[i].bytes == 0 || l->constants[i].bytes > 4 * DV_MAX_DIM)
            return fail(&p, "a constant of %u bytes (1..2^26 allowed)", l->constants[i].bytes);
    return 0;
}
