/* Compiling a kmodel: the import context of loader/kmodel.h, and detvm_compile_kmodel, which
 * tells the versions apart and hands the file to its importer. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/kimage.h"
#include "../vm/error.h"
#include "../vm/module_format.h"
#include "ir_build.h"
#include "kmodel.h"

#define KM_MAX_NODE_NAMES 4096

struct km_import {
    ir_module *ir;
    ir_builder build;
    int32_t kpu_semantics;
    uint32_t memory_bytes[2];
    uint32_t image[2];          /* per memory: its current image + 1, or 0 before the first */
    int begun, has_node, has_input;
    uint32_t node;
    const char *node_op;
    const char *node_name;      /* "NNN_<op>", owned by the builder */
    struct {                    /* the outputs, read after the last node */
        int mem;
        uint32_t offset, dtype;
        dv_shape shape;
    } outputs[VM_MAX_OUTPUTS];
    uint32_t n_outputs;
};

int32_t km_kpu_semantics(const km_import *ctx) { return ctx->kpu_semantics; }

detvm_status km_fail(const km_import *ctx, detvm_error *err, const char *fmt, ...)
{
    char what[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ctx->has_node)
        return dv_fail(err, DETVM_EINVALID, "kmodel: node %u (%s): %s", ctx->node,
                       ctx->node_op, what);
    return dv_fail(err, DETVM_EINVALID, "kmodel: %s", what);
}

static detvm_status out_of_memory(detvm_error *err)
{
    return dv_fail(err, DETVM_ERUNTIME, "kmodel: out of memory");
}

detvm_status km_begin(km_import *ctx, uint32_t main_bytes, detvm_error *err)
{
    if (ctx->begun)
        return km_fail(ctx, err, "internal: km_begin called twice");
    if (main_bytes > (1u << 30))
        return km_fail(ctx, err, "header: main memory of %u bytes (at most 2^30)", main_bytes);
    ctx->begun = 1;
    ctx->memory_bytes[KM_MAIN] = main_bytes ? (main_bytes + 3) & ~3u : 4;
    ctx->memory_bytes[KM_KPU] = DV_KPU_RAM_BYTES;
    return DETVM_OK;
}

uint32_t km_memory_bytes(const km_import *ctx, int mem) { return ctx->memory_bytes[mem]; }

void km_node(km_import *ctx, uint32_t index, const char *op)
{
    ctx->has_node = 1;
    ctx->node = index;
    ctx->node_op = op;
    char buf[64];
    snprintf(buf, sizeof buf, "%03u_%s", index, op);
    char *name = ir_own(&ctx->build, strdup(buf));
    ctx->node_name = name ? name : op;
}

/* Instructions before the first node bind the input; after the last, the outputs. */
static const char *node_name(const km_import *ctx)
{
    return ctx->node_name ? ctx->node_name : "input";
}

static detvm_status new_image(km_import *ctx, int mem, uint32_t *ir_index, detvm_error *err)
{
    if (!ctx->begun)
        return km_fail(ctx, err, "internal: memory used before km_begin");
    dv_shape s = {1, {ctx->memory_bytes[mem] / 4}};
    if (ir_new_temporary(&ctx->build, &s, ir_index))
        return out_of_memory(err);
    ctx->ir->tensors[*ir_index].name = mem == KM_MAIN ? "main" : "kpu";
    return DETVM_OK;
}

detvm_status km_image(km_import *ctx, int mem, uint32_t *ir_index, detvm_error *err)
{
    if (ctx->image[mem]) {
        *ir_index = ctx->image[mem] - 1;
        return DETVM_OK;
    }
    uint32_t zero;
    detvm_status st = new_image(ctx, mem, &zero, err);
    if (st)
        return st;
    int32_t bytes = (int32_t)ctx->memory_bytes[mem];
    st = km_emit(ctx, DV_OP_IMAGE_ZERO, 0, NULL, 1, &zero, &bytes, 1, err);
    if (st)
        return st;
    ctx->image[mem] = zero + 1;
    *ir_index = zero;
    return DETVM_OK;
}

detvm_status km_next_image(km_import *ctx, int mem, uint32_t *ir_index, detvm_error *err)
{
    uint32_t current;
    detvm_status st = km_image(ctx, mem, &current, err);
    if (!st)
        st = new_image(ctx, mem, ir_index, err);
    if (!st)
        ctx->image[mem] = *ir_index + 1;
    return st;
}

detvm_status km_bytes(km_import *ctx, const uint8_t *bytes, size_t len, uint32_t *ir_index,
                      detvm_error *err)
{
    if (len == 0 || len > (size_t)4 * DV_MAX_DIM)
        return km_fail(ctx, err, "a constant of %zu bytes", len);
    dv_shape s = {1, {(uint32_t)((len + 3) / 4)}};
    int32_t *words = calloc(s.dim[0], sizeof *words);
    if (!words)
        return out_of_memory(err);
    for (size_t i = 0; i < len; i++)
        dv_image_put_u8(words, (uint32_t)i, bytes[i]);
    int failed = ir_new_constant(&ctx->build, &s, words, ir_index);
    free(words);
    return failed ? out_of_memory(err) : DETVM_OK;
}

detvm_status km_constant(km_import *ctx, const dv_shape *shape, const int32_t *values,
                         uint32_t *ir_index, detvm_error *err)
{
    return ir_new_constant(&ctx->build, shape, values, ir_index) ? out_of_memory(err)
                                                                 : DETVM_OK;
}

detvm_status km_temporary(km_import *ctx, const dv_shape *shape, uint32_t *ir_index,
                          detvm_error *err)
{
    return ir_new_temporary(&ctx->build, shape, ir_index) ? out_of_memory(err) : DETVM_OK;
}

detvm_status km_emit(km_import *ctx, uint32_t opcode, uint32_t n_in, const uint32_t *in,
                     uint32_t n_out, const uint32_t *out, const int32_t *attrs,
                     uint32_t n_attrs, detvm_error *err)
{
    char why[240];
    if (ir_append(&ctx->build, opcode, n_in, in, n_out, out, attrs, n_attrs, node_name(ctx),
                  why, sizeof why))
        return km_fail(ctx, err, "%s", why);
    return DETVM_OK;
}

static int is_io_dtype(uint32_t dtype)
{
    return dtype == DVM_DTYPE_UINT8 || dtype == DVM_DTYPE_FLOAT32;
}

detvm_status km_input(km_import *ctx, uint32_t dtype, const dv_shape *shape,
                      uint32_t *ir_index, detvm_error *err)
{
    const char *why = dv_shape_check(shape);
    if (ctx->has_input)
        return km_fail(ctx, err, "internal: a second input");
    if (!is_io_dtype(dtype))
        return km_fail(ctx, err, "input: dtype %u (detvm takes uint8 or float32)", dtype);
    if (why)
        return km_fail(ctx, err, "input: shape: %s", why);
    if (ir_new_temporary(&ctx->build, shape, ir_index))
        return out_of_memory(err);
    ir_tensor *t = &ctx->ir->tensors[*ir_index];
    t->dtype = (uint8_t)dtype;
    t->precision = dtype == DVM_DTYPE_UINT8 ? 9 : 32;
    t->name = "input";
    ctx->ir->input = *ir_index;
    ctx->ir->input_bytes = dvm_dtype_bytes(dtype);
    ctx->has_input = 1;
    return DETVM_OK;
}

detvm_status km_output(km_import *ctx, int mem, uint32_t offset, uint32_t dtype,
                       const dv_shape *shape, detvm_error *err)
{
    const char *why = dv_shape_check(shape);
    if (ctx->n_outputs == VM_MAX_OUTPUTS)
        return km_fail(ctx, err, "outputs: more than %u", VM_MAX_OUTPUTS);
    if (!is_io_dtype(dtype))
        return km_fail(ctx, err, "output %u: dtype %u (detvm gives uint8 or float32)",
                       ctx->n_outputs, dtype);
    if (why)
        return km_fail(ctx, err, "output %u: shape: %s", ctx->n_outputs, why);
    uint64_t bytes = dv_shape_size(shape) * dvm_dtype_bytes(dtype);
    if (!ctx->begun || (uint64_t)offset + bytes > ctx->memory_bytes[mem])
        return km_fail(ctx, err, "output %u: bytes %u..%llu lie outside %s memory",
                       ctx->n_outputs, offset, (unsigned long long)(offset + bytes),
                       mem == KM_MAIN ? "main" : "KPU");
    ctx->outputs[ctx->n_outputs].mem = mem;
    ctx->outputs[ctx->n_outputs].offset = offset;
    ctx->outputs[ctx->n_outputs].dtype = dtype;
    ctx->outputs[ctx->n_outputs].shape = *shape;
    ctx->n_outputs++;
    return DETVM_OK;
}

/* After the last node: one IMAGE_READ per output, from the memories' final images. */
static detvm_status read_outputs(km_import *ctx, detvm_error *err)
{
    ir_module *m = ctx->ir;
    if (!ctx->has_input)
        return km_fail(ctx, err, "the model has no input");
    if (ctx->n_outputs == 0)
        return km_fail(ctx, err, "the model has no outputs");
    ctx->has_node = 0;
    for (uint32_t k = 0; k < ctx->n_outputs; k++) {
        char name[32];
        snprintf(name, sizeof name, "output_%u", k);
        ctx->node_name = ir_own(&ctx->build, strdup(name));
        if (!ctx->node_name)
            return out_of_memory(err);
        uint32_t image, y;
        detvm_status st = km_image(ctx, ctx->outputs[k].mem, &image, err);
        if (!st)
            st = km_temporary(ctx, &ctx->outputs[k].shape, &y, err);
        if (st)
            return st;
        int32_t attrs[3 + DV_MAX_NDIM] = {(int32_t)ctx->outputs[k].offset,
                                          ctx->outputs[k].dtype == DVM_DTYPE_UINT8 ? DV_IMAGE_U8
                                                                                   : DV_IMAGE_WORD,
                                          (int32_t)ctx->outputs[k].shape.ndim};
        for (uint32_t i = 0; i < ctx->outputs[k].shape.ndim; i++)
            attrs[3 + i] = (int32_t)ctx->outputs[k].shape.dim[i];
        st = km_emit(ctx, DV_OP_IMAGE_READ, 1, &image, 1, &y, attrs,
                     3 + ctx->outputs[k].shape.ndim, err);
        if (st)
            return st;
        m->tensors[y].name = ctx->node_name;
        m->tensors[y].dtype = (uint8_t)ctx->outputs[k].dtype;
        m->tensors[y].precision = ctx->outputs[k].dtype == DVM_DTYPE_UINT8 ? 9 : 32;
        m->outputs[k] = y;
    }
    m->n_outputs = ctx->n_outputs;
    m->output_bytes = dvm_dtype_bytes(ctx->outputs[0].dtype);
    return DETVM_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int detvm_is_kmodel(const uint8_t *bytes, size_t len)
{
    return len >= 8 && ((memcmp(bytes, "LDMK", 4) == 0 && le32(bytes + 4) == 4) ||
                        le32(bytes) == 3);
}

detvm_status detvm_compile_kmodel(const uint8_t *kmodel, size_t len,
                                  const detvm_kmodel_options *options, uint8_t **module,
                                  size_t *module_len, detvm_error *err)
{
    *module = NULL;
    *module_len = 0;
    if (!kmodel || !detvm_is_kmodel(kmodel, len))
        return dv_fail(err, DETVM_EINVALID,
                       "kmodel: header: not a kmodel v3 (version 3) or v4 (\"KMDL\", version 4)");
    int32_t semantics = options ? (int32_t)options->kpu : KM_KPU_NNCASE_V02;
    if (semantics != KM_KPU_NNCASE_V02 && semantics != KM_KPU_SDK)
        return dv_fail(err, DETVM_EINVALID, "kmodel: KPU semantics %d unknown", semantics);
    int v4 = memcmp(kmodel, "LDMK", 4) == 0;
    ir_module m;
    memset(&m, 0, sizeof m);
    m.pack_isa = ir_pack_isa(options);
    km_import ctx = {.ir = &m, .build = {.ir = &m}, .kpu_semantics = semantics};
    detvm_status st = v4 ? km_import_v4(&ctx, kmodel, len, err)
                         : km_import_v3(&ctx, kmodel, len, err);
    if (!st)
        st = read_outputs(&ctx, err);
    if (!st) {
        m.source_format = DVM_SOURCE_KMODEL;
        m.source_version = v4 ? "kmodel_v4" : "kmodel_v3";
        m.postprocess = "separate";
        m.rounding = -1;
        crypto_generichash(m.source_hash, sizeof m.source_hash, kmodel, len, NULL, 0);
        st = ir_plan_memory(&m, err);
    }
    if (!st)
        st = ir_place_devices(&m, err);
    if (!st)
        st = ir_emit(&m, module, module_len, err);
    ir_builder_free(&ctx.build);
    return st;
}

detvm_status km_describe(const uint8_t *bytes, size_t len, km_node_result **nodes,
                         uint32_t *n_nodes, detvm_error *err)
{
    *nodes = NULL;
    *n_nodes = 0;
    if (!bytes || !detvm_is_kmodel(bytes, len))
        return dv_fail(err, DETVM_EINVALID, "kmodel: header: not a kmodel v3 or v4");
    return memcmp(bytes, "LDMK", 4) == 0 ? km_describe_v4(bytes, len, nodes, n_nodes, err)
                                         : km_describe_v3(bytes, len, nodes, n_nodes, err);
}
