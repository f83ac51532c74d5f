/* kmodel v4 (nncase v0.2): the container, and the import that turns each node's plan
 * (kmodel_v4_nodes.c) into instructions.
 *
 * A run of the imported program does what `ncc infer` does with the reference runtime: main
 * memory and KPU RAM start zeroed; the input goes to its memory range (a KPU input is
 * uploaded in the KPU row layout, KPU_UPLOAD; a main memory input is stored as it is,
 * IMAGE_WRITE); the nodes run in order; each output is read from its memory range. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/kimage.h"
#include "../ops/kpu.h"
#include "../vm/error.h"
#include "../vm/module_format.h"
#include "kmodel_v4.h"

uint32_t v4_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

v4_range v4_range_at(const uint8_t *p)
{
    v4_range r = {v4_u32(p), v4_u32(p + 4), v4_u32(p + 8), v4_u32(p + 12)};
    return r;
}

static const char *memory_name(uint32_t mem)
{
    return mem == V4_MEM_CONST ? "the constants" : mem == V4_MEM_MAIN ? "main memory" : "KPU RAM";
}

int v4_check_range(const v4_file *f, const v4_range *r, const char *what, char *why,
                   size_t why_cap)
{
    if (r->mem >= V4_MEM_LIMIT) {
        snprintf(why, why_cap, "%s: memory type %u unknown", what, r->mem);
        return -1;
    }
    if (r->dtype >= V4_DATATYPE_LIMIT) {
        snprintf(why, why_cap, "%s: datatype %u unknown", what, r->dtype);
        return -1;
    }
    uint64_t bytes = r->mem == V4_MEM_CONST ? f->constants
                     : r->mem == V4_MEM_MAIN ? f->main_mem
                                             : DV_KPU_RAM_BYTES;
    if ((uint64_t)r->start + r->size > bytes) {
        snprintf(why, why_cap, "%s: bytes %u..%llu lie outside %s (%llu bytes)", what, r->start,
                 (unsigned long long)r->start + r->size, memory_name(r->mem),
                 (unsigned long long)bytes);
        return -1;
    }
    return 0;
}

void v4_close(v4_file *f)
{
    free(f->owned);
    free(f->body_at);
    memset(f, 0, sizeof *f);
}

static int open_fail(v4_file *f, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int open_fail(v4_file *f, char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    v4_close(f);
    return -1;
}

/* The file may be up to 7 bytes shorter than its parts add up to: the writer seeks past the
 * last body's padding without writing it. Such a file is read as if zero-padded. */
#define V4_SHORT_TAIL 7

int v4_open(const uint8_t *bytes, size_t len, v4_file *f, char *why, size_t why_cap)
{
    memset(f, 0, sizeof *f);
    if (len < V4_HEADER_BYTES)
        return open_fail(f, why, why_cap, "header: the file has %zu bytes, the header %u", len,
                         V4_HEADER_BYTES);
    if (memcmp(bytes, "LDMK", 4) != 0)
        return open_fail(f, why, why_cap, "header: identifier is not \"KMDL\"");
    if (v4_u32(bytes + 4) != 4)
        return open_fail(f, why, why_cap, "header: version %u (this reader takes 4)",
                         v4_u32(bytes + 4));
    f->flags = v4_u32(bytes + 8);
    f->target = v4_u32(bytes + 12);
    f->constants = v4_u32(bytes + 16);
    f->main_mem = v4_u32(bytes + 20);
    f->n_nodes = v4_u32(bytes + 24);
    f->n_inputs = v4_u32(bytes + 28);
    f->n_outputs = v4_u32(bytes + 32);
    if (f->target > 1)
        return open_fail(f, why, why_cap, "header: target %u (0 cpu or 1 k210)", f->target);
    /* every table must fit in the file: the counts are bounded by its length */
    uint64_t at = V4_HEADER_BYTES;
    f->inputs_at = at;
    at += (uint64_t)V4_RANGE_BYTES * f->n_inputs;
    f->shapes_at = at;
    at += 16ull * f->n_inputs;
    f->outputs_at = at;
    at += (uint64_t)V4_RANGE_BYTES * f->n_outputs;
    f->constants_at = at;
    at += f->constants;
    f->headers_at = at;
    at += 8ull * f->n_nodes;
    f->bodies_at = at;
    if (at > len)
        return open_fail(f, why, why_cap,
                         "header: tables, constants and node headers need %llu bytes, the file "
                         "has %zu",
                         (unsigned long long)at, len);
    f->body_at = malloc(((size_t)f->n_nodes + 1) * sizeof *f->body_at);
    if (!f->body_at) {
        open_fail(f, why, why_cap, "out of memory");
        return -2;
    }
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const uint8_t *h = bytes + f->headers_at + 8 * (size_t)i;
        uint32_t opcode = v4_u32(h), size = v4_u32(h + 4);
        if (!v4_op_name(opcode)) {
            return open_fail(f, why, why_cap,
                             "node %u: opcode 0x%x is not an op of the nncase v0.2 runtime", i,
                             opcode);
        }
        f->body_at[i] = (size_t)at;
        at += size;
        if (at > len + (uint64_t)V4_SHORT_TAIL) {
            return open_fail(f, why, why_cap,
                             "node %u (%s): body: %u bytes from byte %zu run past the end of the "
                             "file (%zu bytes)",
                             i, v4_op_name(opcode), size, f->body_at[i], len);
        }
    }
    f->size = (size_t)at;
    if (at > len) { /* the missing padding reads as zeros */
        f->owned = calloc(1, f->size);
        if (!f->owned) {
            open_fail(f, why, why_cap, "out of memory");
            return -2;
        }
        memcpy(f->owned, bytes, len);
        f->data = f->owned;
    } else {
        f->data = bytes; /* bytes after the last body are not the model's */
    }
    return 0;
}

/* ---- import ---- */

typedef struct {
    km_import *ctx;
    const v4_file *f;
    uint32_t const_image; /* the constants as an image, + 1 (0: not made yet) */
} v4_import;

static int km_mem(uint32_t mem) { return mem == V4_MEM_KPU ? KM_KPU : KM_MAIN; }

/* The current image holding memory `mem`. */
static detvm_status image_of(v4_import *im, uint32_t mem, uint32_t *index, detvm_error *err)
{
    if (mem != V4_MEM_CONST)
        return km_image(im->ctx, km_mem(mem), index, err);
    if (!im->const_image) {
        static const uint8_t none[1] = {0};
        const uint8_t *blob = im->f->constants ? im->f->data + im->f->constants_at : none;
        detvm_status st = km_bytes(im->ctx, blob, im->f->constants ? im->f->constants : 1,
                                   index, err);
        if (st)
            return st;
        im->const_image = *index + 1;
    }
    *index = im->const_image - 1;
    return DETVM_OK;
}

static detvm_status emit_plan(v4_import *im, const v4_plan *p, detvm_error *err)
{
    uint32_t in[DV_MAX_OP_INPUTS], out[DV_MAX_OP_OUTPUTS], n_in = 0, n_out = 0;
    detvm_status st = km_image(im->ctx, km_mem(p->dst.mem), &in[n_in++], err);
    for (uint32_t i = 0; !st && i < p->n_src; i++)
        st = image_of(im, p->src[i].mem, &in[n_in++], err);
    for (uint32_t i = 0; !st && i < p->n_blobs; i++)
        st = km_bytes(im->ctx, p->blob[i].bytes, p->blob[i].len, &in[n_in++], err);
    if (!st && p->has_dst2)
        st = km_image(im->ctx, KM_MAIN, &in[n_in++], err);
    /* the next images only after every current one was taken */
    if (!st)
        st = km_next_image(im->ctx, km_mem(p->dst.mem), &out[n_out++], err);
    if (!st && p->has_dst2)
        st = km_next_image(im->ctx, KM_MAIN, &out[n_out++], err);
    if (!st)
        st = km_emit(im->ctx, p->dv_opcode, n_in, in, n_out, out, p->attrs, p->n_attrs, err);
    return st;
}

/* The model's input 0: a plain tensor, put into its memory range as `ncc infer` does. */
static detvm_status import_input(v4_import *im, detvm_error *err)
{
    km_import *ctx = im->ctx;
    const v4_file *f = im->f;
    char why[240];
    v4_range r = v4_range_at(f->data + f->inputs_at);
    if (v4_check_range(f, &r, "input 0", why, sizeof why))
        return km_fail(ctx, err, "%s", why);
    dv_shape s = {4, {0}};
    uint64_t count = 1;
    for (int k = 0; k < 4; k++) {
        int32_t d = (int32_t)v4_u32(f->data + f->shapes_at + 4 * (size_t)k);
        if (d < 1 || (uint32_t)d > DV_MAX_DIM)
            return km_fail(ctx, err, "input 0: shape: dim %d is %d (must be 1..2^24)", k, d);
        s.dim[k] = (uint32_t)d;
        count *= (uint64_t)d;
    }
    uint32_t image, next, tensor;
    detvm_status st;
    if (r.mem == V4_MEM_KPU) {
        if (r.dtype != V4_UINT8)
            return km_fail(ctx, err, "input 0: in KPU RAM but not uint8 (the runtime refuses it)");
        uint64_t bytes = (uint64_t)s.dim[0] * dv_kpu_map_bytes(s.dim[3], s.dim[2], s.dim[1]);
        if (bytes > r.size)
            return km_fail(ctx, err, "input 0: a range of %u bytes, the upload writes %llu",
                           r.size, (unsigned long long)bytes);
        int32_t attrs[DV_KPU_UPLOAD_ATTRS] = {DV_KPU_UPLOAD_PLAIN, 0, (int32_t)s.dim[0],
                                              (int32_t)s.dim[1], (int32_t)s.dim[2],
                                              (int32_t)s.dim[3], (int32_t)r.start};
        st = km_input(ctx, DVM_DTYPE_UINT8, &s, &tensor, err);
        if (!st)
            st = km_image(ctx, KM_KPU, &image, err);
        if (!st)
            st = km_next_image(ctx, KM_KPU, &next, err);
        uint32_t ins[2] = {image, tensor};
        return st ? st : km_emit(ctx, DV_OP_KPU_UPLOAD, 2, ins, 1, &next, attrs, 7, err);
    }
    if (r.mem != V4_MEM_MAIN)
        return km_fail(ctx, err, "input 0: in the constants (the runtime refuses it)");
    uint32_t elem = r.dtype == V4_FLOAT32 ? 4 : 1;
    if (count * elem > r.size)
        return km_fail(ctx, err, "input 0: a range of %u bytes, the shape holds %llu", r.size,
                       (unsigned long long)(count * elem));
    int32_t attrs[2] = {(int32_t)r.start, elem == 4 ? DV_IMAGE_WORD : DV_IMAGE_U8};
    st = km_input(ctx, elem == 4 ? DVM_DTYPE_FLOAT32 : DVM_DTYPE_UINT8, &s, &tensor, err);
    if (!st)
        st = km_image(ctx, KM_MAIN, &image, err);
    if (!st)
        st = km_next_image(ctx, KM_MAIN, &next, err);
    uint32_t ins[2] = {image, tensor};
    return st ? st : km_emit(ctx, DV_OP_IMAGE_WRITE, 2, ins, 1, &next, attrs, 2, err);
}

static detvm_status import_outputs(v4_import *im, detvm_error *err)
{
    const v4_file *f = im->f;
    for (uint32_t k = 0; k < f->n_outputs; k++) {
        char what[32], why[240];
        snprintf(what, sizeof what, "output %u", k);
        v4_range r = v4_range_at(f->data + f->outputs_at + V4_RANGE_BYTES * (size_t)k);
        if (v4_check_range(f, &r, what, why, sizeof why))
            return km_fail(im->ctx, err, "%s", why);
        if (r.mem == V4_MEM_CONST)
            return km_fail(im->ctx, err, "%s: in the constants (detvm reads main or KPU RAM)", what);
        uint32_t elem = r.dtype == V4_FLOAT32 ? 4 : 1;
        if (r.size == 0 || r.size % elem)
            return km_fail(im->ctx, err, "%s: %u bytes is not a whole number of %s", what, r.size,
                           elem == 4 ? "float32" : "uint8");
        dv_shape s = {1, {r.size / elem}};
        detvm_status st = km_output(im->ctx, km_mem(r.mem), r.start,
                                    elem == 4 ? DVM_DTYPE_FLOAT32 : DVM_DTYPE_UINT8, &s, err);
        if (st)
            return st;
    }
    return DETVM_OK;
}

detvm_status km_import_v4(km_import *ctx, const uint8_t *bytes, size_t len, detvm_error *err)
{
    v4_file f;
    char why[240];
    int rc = v4_open(bytes, len, &f, why, sizeof why);
    if (rc)
        return rc == -2 ? dv_fail(err, DETVM_ERUNTIME, "kmodel: out of memory")
                        : km_fail(ctx, err, "%s", why);
    v4_plan *p = malloc(sizeof *p);
    detvm_status st = p ? DETVM_OK : dv_fail(err, DETVM_ERUNTIME, "kmodel: out of memory");
    if (!st && f.n_inputs != 1)
        st = km_fail(ctx, err, "header: %u inputs (detvm takes models with one)", f.n_inputs);
    if (!st && f.n_outputs == 0)
        st = km_fail(ctx, err, "header: no outputs");
    /* every node is checked before anything is emitted */
    for (uint32_t i = 0; !st && i < f.n_nodes; i++) {
        if (v4_decode_node(&f, i, km_kpu_semantics(ctx), p, why, sizeof why)) {
            km_node(ctx, i, p->name);
            st = km_fail(ctx, err, "%s", why);
        }
    }
    v4_import im = {ctx, &f, 0};
    if (!st)
        st = km_begin(ctx, f.main_mem, err);
    if (!st)
        st = import_input(&im, err);
    for (uint32_t i = 0; !st && i < f.n_nodes; i++) {
        v4_decode_node(&f, i, km_kpu_semantics(ctx), p, why, sizeof why);
        km_node(ctx, i, p->name);
        st = emit_plan(&im, p, err);
    }
    if (!st)
        st = import_outputs(&im, err);
    free(p);
    v4_close(&f);
    return st;
}

/* ---- describe ---- */

detvm_status km_describe_v4(const uint8_t *bytes, size_t len, km_node_result **nodes,
                            uint32_t *n_nodes, detvm_error *err)
{
    v4_file f;
    char why[240];
    *nodes = NULL;
    *n_nodes = 0;
    int rc = v4_open(bytes, len, &f, why, sizeof why);
    if (rc)
        return dv_fail(err, rc == -2 ? DETVM_ERUNTIME : DETVM_EINVALID, "kmodel: %s", why);
    v4_plan *p = malloc(sizeof *p);
    km_node_result *r = calloc((size_t)f.n_nodes + 1, sizeof *r);
    detvm_status st = p && r ? DETVM_OK : dv_fail(err, DETVM_ERUNTIME, "kmodel: out of memory");
    for (uint32_t i = 0; !st && i < f.n_nodes; i++) {
        if (v4_decode_node(&f, i, KM_KPU_NNCASE_V02, p, why, sizeof why)) {
            st = dv_fail(err, DETVM_EINVALID, "kmodel: node %u (%s): %s", i, p->name, why);
            break;
        }
        r[i] = p->result;
        snprintf(r[i].name, sizeof r[i].name, "%03u_%s", i, p->name);
    }
    free(p);
    if (st) {
        free(r);
    } else {
        *nodes = r;
        *n_nodes = f.n_nodes;
    }
    v4_close(&f);
    return st;
}
