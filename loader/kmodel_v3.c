/* kmodel v3 (kmodel_v3.h): the container, and the import and describe built on the layers'
 * plans (kmodel_v3_layers.c).
 *
 * A run of the imported program does what the SDK's kpu_run_kmodel does, from zeroed
 * memories (the reference harness zero-filled both; the SDK's malloc'd main buffer holds
 * whatever it held): the input goes where the first layer reads it (a K210_CONV first layer:
 * uint8 CHW uploaded in the KPU row layout at its source rows, KPU_UPLOAD; a FULLY_CONNECTED
 * first layer: float32 copied to its input address, IMAGE_WRITE; the SDK runs no other first
 * layer), then one instruction per layer in order, then each output table entry is read
 * from main memory (kpu_get_output), as float32 when the last layer writing it writes
 * floats, else as bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/kimage.h"
#include "../vm/error.h"
#include "../vm/module_format.h"
#include "kmodel_v3.h"

uint32_t v3_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void v3_free(v3_file *f)
{
    for (uint32_t i = 0; f->layers && i < f->n_layers; i++)
        free(f->layers[i].attrs);
    free(f->layers);
    free(f->owned);
    memset(f, 0, sizeof *f);
}

static int fail(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* Parses and checks the whole file into `f` (freed by v3_free, also on failure). */
static int v3_parse(const uint8_t *bytes, size_t len, v3_file *f, char *why, size_t cap)
{
    memset(f, 0, sizeof *f);
    if (len < V3_HEADER_BYTES)
        return fail(why, cap, "header: the file has %zu bytes, a v3 header needs %u", len,
                    V3_HEADER_BYTES);
    if (len > UINT32_MAX - 8)
        return fail(why, cap, "file: %zu bytes, larger than 4 GiB", len);
    uint32_t version = v3_u32(bytes), arch = v3_u32(bytes + 8);
    f->flags = v3_u32(bytes + 4);
    f->n_layers = v3_u32(bytes + 12);
    f->max_start_address = v3_u32(bytes + 16);
    f->main_bytes = v3_u32(bytes + 20);
    f->n_outputs = v3_u32(bytes + 24);
    if (version != 3)
        return fail(why, cap, "header: version %u (a v3 kmodel has 3)", version);
    if (arch != 0)
        return fail(why, cap, "header: arch %u (the SDK loads arch 0 only)", arch);
    if (f->flags & ~1u)
        return fail(why, cap, "header: flags 0x%x: bits other than bit 0 (8-bit weights) are "
                    "not defined", f->flags);
    if (f->n_layers == 0)
        return fail(why, cap, "header: layers_length is 0");
    if (f->n_outputs == 0)
        return fail(why, cap, "header: output_count is 0");
    if (f->max_start_address > DV_KPU_RAM_ROWS)
        return fail(why, cap, "header: max_start_address %u lies beyond the %u rows of KPU RAM",
                    f->max_start_address, DV_KPU_RAM_ROWS);
    if (f->main_bytes > (1u << 30))
        return fail(why, cap, "header: main_mem_usage %u bytes (at most 2^30)", f->main_bytes);
    uint64_t tables = V3_HEADER_BYTES + 8 * ((uint64_t)f->n_outputs + f->n_layers);
    if (tables > len)
        return fail(why, cap, "header: %u outputs and %u layers need %llu bytes of tables, the "
                    "file has %zu", f->n_outputs, f->n_layers, (unsigned long long)tables, len);
    f->outputs_at = V3_HEADER_BYTES;
    uint32_t headers = f->outputs_at + 8 * f->n_outputs;
    uint64_t end = tables;
    for (uint32_t i = 0; i < f->n_layers; i++) {
        uint32_t type = v3_u32(bytes + headers + 8 * i), size = v3_u32(bytes + headers + 8 * i + 4);
        if (size % 4)
            return fail(why, cap, "node %u (%s): body_size %u is not a multiple of 4", i,
                        v3_type_name(type), size);
        end += size;
    }
    if (end > (uint64_t)len + 7)
        return fail(why, cap, "file: %zu bytes, but its layer bodies end at byte %llu (at most 7 "
                    "bytes may be missing)", len, (unsigned long long)end);
    f->bytes = bytes;
    f->len = (uint32_t)len;
    if (end > len) { /* the missing tail reads as zeros */
        f->owned = calloc(1, (size_t)end);
        if (!f->owned)
            return fail(why, cap, "out of memory");
        memcpy(f->owned, bytes, len);
        f->bytes = f->owned;
        f->len = (uint32_t)end;
    }
    f->layers = calloc(f->n_layers, sizeof *f->layers);
    if (!f->layers)
        return fail(why, cap, "out of memory");
    uint32_t body = (uint32_t)tables;
    for (uint32_t i = 0; i < f->n_layers; i++) {
        v3_layer *l = &f->layers[i];
        l->index = i;
        l->type = v3_u32(f->bytes + headers + 8 * i);
        l->size = v3_u32(f->bytes + headers + 8 * i + 4);
        l->body = body;
        body += l->size;
        char reason[240];
        if (v3_plan_layer(f, l, reason, sizeof reason))
            return fail(why, cap, "node %u (%s): %s", i, l->name, reason);
    }
    if (f->layers[0].type != V3_K210_CONV && f->layers[0].type != V3_FULLY_CONNECTED)
        return fail(why, cap, "node 0 (%s): the SDK's kpu_run_kmodel starts a model only with a "
                    "K210_CONV or FULLY_CONNECTED layer", f->layers[0].name);
    for (uint32_t k = 0; k < f->n_outputs; k++) {
        uint32_t at = v3_u32(f->bytes + f->outputs_at + 8 * k);
        uint32_t size = v3_u32(f->bytes + f->outputs_at + 8 * k + 4);
        if (size == 0 || (uint64_t)at + size > f->main_bytes)
            return fail(why, cap, "output %u: address %u, size %u: not a non-empty range of main "
                        "memory (main_mem_usage %u)", k, at, size, f->main_bytes);
    }
    return 0;
}

/* Output k's element type and shape: float32 when the last layer that writes any of its
 * bytes writes floats (and the size is whole floats), else uint8. */
static void output_kind(const v3_file *f, uint32_t at, uint32_t size, uint32_t *dtype,
                        dv_shape *shape)
{
    const v3_layer *producer = NULL;
    for (uint32_t i = 0; i < f->n_layers; i++) {
        const v3_layer *l = &f->layers[i];
        if (l->writes_main && l->main_at < (uint64_t)at + size &&
            at < (uint64_t)l->main_at + l->main_bytes)
            producer = l;
    }
    int floats = producer && producer->float_out && size % 4 == 0;
    *dtype = floats ? DVM_DTYPE_FLOAT32 : DVM_DTYPE_UINT8;
    *shape = (dv_shape){1, {floats ? size / 4 : size}};
}

/* The instructions that put the model's input where the first layer reads it. */
static detvm_status emit_input(km_import *ctx, const v3_layer *first, detvm_error *err)
{
    uint32_t x, image, next;
    detvm_status st = km_input(ctx, first->input_dtype, &first->input_shape, &x, err);
    if (first->type == V3_K210_CONV) {
        const uint32_t *d = first->input_shape.dim;
        int32_t attrs[DV_KPU_UPLOAD_ATTRS] = {DV_KPU_UPLOAD_PLAIN, 0, 1, (int32_t)d[1],
                                              (int32_t)d[2], (int32_t)d[3],
                                              (int32_t)first->input_at};
        if (!st)
            st = km_image(ctx, KM_KPU, &image, err);
        if (!st)
            st = km_next_image(ctx, KM_KPU, &next, err);
        uint32_t in[2] = {image, x};
        return st ? st : km_emit(ctx, DV_OP_KPU_UPLOAD, 2, in, 1, &next, attrs,
                                 DV_KPU_UPLOAD_ATTRS, err);
    }
    int32_t attrs[2] = {(int32_t)first->input_at, DV_IMAGE_WORD};
    if (!st)
        st = km_image(ctx, KM_MAIN, &image, err);
    if (!st)
        st = km_next_image(ctx, KM_MAIN, &next, err);
    uint32_t in[2] = {image, x};
    return st ? st : km_emit(ctx, DV_OP_IMAGE_WRITE, 2, in, 1, &next, attrs, 2, err);
}

static detvm_status emit_layer(km_import *ctx, const v3_file *f, v3_layer *l, detvm_error *err)
{
    km_node(ctx, l->index, l->name);
    uint32_t in[8], out[2], n_in = 0, n_out = 0, consts[V3_MAX_CONSTANTS];
    detvm_status st = DETVM_OK;
    for (uint32_t i = 0; !st && i < l->n_constants; i++)
        st = km_bytes(ctx, f->bytes + l->constants[i].at, l->constants[i].bytes, &consts[i], err);
    if (st)
        return st;
    if (l->operands == V3_OPS_MAIN) {
        st = km_image(ctx, KM_MAIN, &in[n_in++], err);
    } else {
        st = km_image(ctx, KM_KPU, &in[n_in++], err);
        if (!st && l->operands == V3_OPS_KPU_MAIN)
            st = km_image(ctx, KM_MAIN, &in[n_in++], err);
    }
    for (uint32_t i = 0; i < l->n_constants; i++)
        in[n_in++] = consts[i];
    if (!st && l->operands == V3_OPS_CONV_OUT)
        st = km_image(ctx, KM_MAIN, &in[n_in++], err);
    if (!st)
        st = km_next_image(ctx, l->operands == V3_OPS_MAIN ? KM_MAIN : KM_KPU, &out[n_out++],
                           err);
    if (!st && l->operands == V3_OPS_CONV_OUT)
        st = km_next_image(ctx, KM_MAIN, &out[n_out++], err);
    if (st)
        return st;
    if (l->opcode == DV_OP_KPU_CONV2D || l->opcode == DV_OP_KPU_CONV2D_OUT)
        l->attrs[DV_KPU_ATTR_SEMANTICS] = km_kpu_semantics(ctx);
    return km_emit(ctx, l->opcode, n_in, in, n_out, out, l->attrs, l->n_attrs, err);
}

detvm_status km_import_v3(km_import *ctx, const uint8_t *bytes, size_t len, detvm_error *err)
{
    v3_file f;
    char why[300];
    detvm_status st = v3_parse(bytes, len, &f, why, sizeof why)
                          ? km_fail(ctx, err, "%s", why)
                          : km_begin(ctx, f.main_bytes, err);
    if (!st)
        st = emit_input(ctx, &f.layers[0], err);
    for (uint32_t i = 0; !st && i < f.n_layers; i++)
        st = emit_layer(ctx, &f, &f.layers[i], err);
    for (uint32_t k = 0; !st && k < f.n_outputs; k++) {
        uint32_t at = v3_u32(f.bytes + f.outputs_at + 8 * k);
        uint32_t dtype;
        dv_shape shape;
        output_kind(&f, at, v3_u32(f.bytes + f.outputs_at + 8 * k + 4), &dtype, &shape);
        st = km_output(ctx, KM_MAIN, at, dtype, &shape, err);
    }
    v3_free(&f);
    return st;
}

detvm_status km_describe_v3(const uint8_t *bytes, size_t len, km_node_result **nodes,
                            uint32_t *n_nodes, detvm_error *err)
{
    *nodes = NULL;
    *n_nodes = 0;
    v3_file f;
    char why[300];
    if (v3_parse(bytes, len, &f, why, sizeof why)) {
        v3_free(&f);
        return dv_fail(err, DETVM_EINVALID, "kmodel: %s", why);
    }
    km_node_result *r = calloc(f.n_layers, sizeof *r);
    if (!r) {
        v3_free(&f);
        return dv_fail(err, DETVM_ERUNTIME, "kmodel: out of memory");
    }
    for (uint32_t i = 0; i < f.n_layers; i++) {
        r[i] = f.layers[i].result;
        snprintf(r[i].name, sizeof r[i].name, "%03u_%s", i, f.layers[i].name);
    }
    *nodes = r;
    *n_nodes = f.n_layers;
    v3_free(&f);
    return DETVM_OK;
}
