/* Trace files: a traced run written down step by step, so that two parties can compare runs
 * and find where they part (docs/verification.md gives the layout).
 *
 *   "DTVMTRC1", u16 format version (1), u16 mode, module id (32), u32 steps, u32 digest
 *   length, root; per step: u32 opcode, output hash, then the op name, the layer name and the
 *   shapes as u16-length strings; BLAKE2b-256 of all the bytes before it.
 *
 * Reading checks the checksum, every length, and that the leaves rebuilt from the steps give
 * the stored root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module.h"
#include "merkle.h"
#include "wire.h"

#define TRACE_MAGIC "DTVMTRC1"
#define TRACE_VERSION 1

struct detvm_trace_file {
    detvm_trace_summary summary;
    detvm_trace_step_desc *steps;
    uint8_t *leaves;           /* n_steps * digest_len */
};

static void shapes_text(const detvm_module *m, uint32_t k, char *buf, size_t cap)
{
    detvm_layer_desc l;
    detvm_module_layer(m, k, &l, NULL);
    size_t used = 0;
    buf[0] = 0;
    for (uint32_t j = 0; j < l.n_inputs + l.n_outputs && used < cap; j++) {
        detvm_tensor_desc t;
        detvm_module_tensor(m, l.tensors[j], &t, NULL);
        used += (size_t)snprintf(buf + used, cap - used, "%s(",
                                 j == 0 ? "" : j == l.n_inputs ? " -> " : " ");
        for (uint32_t d = 0; d < t.ndim && used < cap; d++)
            used += (size_t)snprintf(buf + used, cap - used, d ? ",%u" : "%u", t.dim[d]);
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, ")");
    }
}

detvm_status detvm_trace_file_write(const detvm_module *m, const detvm_session *s,
                                    uint8_t **bytes, size_t *len, detvm_error *err)
{
    *bytes = NULL;
    *len = 0;
    detvm_trace t;
    detvm_status st = detvm_session_trace(s, &t, err);
    if (st)
        return st;
    wire_writer w = {0};
    uint8_t id[32];
    detvm_module_id(m, id);
    wire_bytes(&w, TRACE_MAGIC, 8);
    wire_u16(&w, TRACE_VERSION);
    wire_u16(&w, (uint16_t)t.mode);
    wire_bytes(&w, id, 32);
    wire_u32(&w, t.n_steps);
    wire_u32(&w, t.digest_len);
    wire_bytes(&w, t.root, t.digest_len);
    for (uint32_t k = 0; k < t.n_steps; k++) {
        detvm_layer_desc l;
        char shapes[1024];
        detvm_module_layer(m, k, &l, NULL);
        shapes_text(m, k, shapes, sizeof shapes);
        wire_u32(&w, l.opcode);
        wire_bytes(&w, t.output_hashes + (size_t)k * t.digest_len, t.digest_len);
        wire_string(&w, l.op);
        wire_string(&w, l.name);
        wire_string(&w, shapes);
    }
    wire_checksum(&w);
    if (w.failed) {
        free(w.p);
        return dv_fail(err, DETVM_ERUNTIME, "trace: out of memory");
    }
    *bytes = w.p;
    *len = w.len;
    return DETVM_OK;
}

void detvm_trace_file_free(detvm_trace_file *t)
{
    if (!t)
        return;
    for (uint32_t k = 0; t->steps && k < t->summary.n_steps; k++) {
        free((char *)t->steps[k].op);
        free((char *)t->steps[k].name);
        free((char *)t->steps[k].shapes);
    }
    free(t->steps);
    free(t->leaves);
    free(t);
}

static detvm_status read_steps(wire_reader *r, detvm_trace_file *t, detvm_error *err)
{
    const detvm_trace_summary *sum = &t->summary;
    for (uint32_t k = 0; k < sum->n_steps; k++) {
        detvm_trace_step_desc *step = &t->steps[k];
        step->index = k;
        step->opcode = wire_get_u32(r, "a step's opcode");
        step->output_hash = wire_take(r, sum->digest_len, "a step's output hash");
        step->op = wire_get_string(r, "a step's op name");
        step->name = step->op ? wire_get_string(r, "a step's layer name") : NULL;
        step->shapes = step->name ? wire_get_string(r, "a step's shapes") : NULL;
        if (!step->shapes)
            return dv_fail(err, DETVM_EINVALID, "trace: step %u: %s truncated or not text", k,
                           r->missing ? r->missing : "a name");
        step->leaf = t->leaves + (size_t)k * sum->digest_len;
        detvm_trace_leaf(sum->mode, k, step->opcode, step->output_hash, (uint8_t *)step->leaf);
    }
    if (r->pos != r->len)
        return dv_fail(err, DETVM_EINVALID, "trace: %zu bytes after the last step",
                       r->len - r->pos);
    uint8_t root[DETVM_DIGEST_MAX];
    detvm_trace_root(sum->mode, t->leaves, sum->n_steps, root);
    if (memcmp(root, sum->root, sum->digest_len) != 0)
        return dv_fail(err, DETVM_EINVALID, "trace: the steps do not give the stored root");
    return DETVM_OK;
}

detvm_status detvm_trace_file_read(const uint8_t *bytes, size_t len, detvm_trace_file **out,
                                   detvm_error *err)
{
    *out = NULL;
    wire_reader r = {bytes, len, 0, NULL};
    if (len < 8 || memcmp(bytes, TRACE_MAGIC, 8) != 0)
        return dv_fail(err, DETVM_EINVALID, "trace: not a detvm trace file (magic)");
    if (!wire_checksum_ok(&r))
        return dv_fail(err, DETVM_EINVALID, "trace: checksum does not match (truncated or altered)");
    r.pos = 8;
    detvm_trace_file *t = calloc(1, sizeof *t);
    if (!t)
        return dv_fail(err, DETVM_ERUNTIME, "trace: out of memory");
    detvm_trace_summary *sum = &t->summary;
    uint16_t version = wire_get_u16(&r, "version");
    uint16_t mode = wire_get_u16(&r, "mode");
    const uint8_t *id = wire_take(&r, 32, "module id");
    sum->n_steps = wire_get_u32(&r, "step count");
    sum->digest_len = wire_get_u32(&r, "digest length");
    sum->mode = (detvm_trace_mode)mode;
    detvm_status st = DETVM_OK;
    if (r.missing)
        st = dv_fail(err, DETVM_EINVALID, "trace: truncated in the %s", r.missing);
    else if (version != TRACE_VERSION)
        st = dv_fail(err, DETVM_EINVALID, "trace: format version %u unknown", version);
    else if (detvm_trace_digest_len(sum->mode) == 0 ||
             sum->digest_len != detvm_trace_digest_len(sum->mode))
        st = dv_fail(err, DETVM_EINVALID, "trace: mode %u with %u-byte digests", mode,
                     sum->digest_len);
    else if (sum->n_steps == 0 || sum->n_steps > (r.len - r.pos) / (4 + sum->digest_len + 6))
        st = dv_fail(err, DETVM_EINVALID, "trace: step count %u does not fit the file",
                     sum->n_steps);
    const uint8_t *root = st ? NULL : wire_take(&r, sum->digest_len, "root");
    if (!st && !root)
        st = dv_fail(err, DETVM_EINVALID, "trace: truncated in the root");
    if (!st) {
        memcpy(sum->module_id, id, 32);
        memcpy(sum->root, root, sum->digest_len);
        t->steps = calloc(sum->n_steps, sizeof *t->steps);
        t->leaves = malloc((size_t)sum->n_steps * sum->digest_len);
        st = t->steps && t->leaves ? read_steps(&r, t, err)
                                   : dv_fail(err, DETVM_ERUNTIME, "trace: out of memory");
    }
    if (st) {
        if (!t->steps)
            sum->n_steps = 0;
        detvm_trace_file_free(t);
        return st;
    }
    *out = t;
    return DETVM_OK;
}

void detvm_trace_file_summary(const detvm_trace_file *t, detvm_trace_summary *summary)
{
    *summary = t->summary;
}

detvm_status detvm_trace_file_step(const detvm_trace_file *t, uint32_t k,
                                   detvm_trace_step_desc *step, detvm_error *err)
{
    if (k >= t->summary.n_steps)
        return dv_fail(err, DETVM_EINVALID, "trace: step %u out of range (%u steps)", k,
                       t->summary.n_steps);
    *step = t->steps[k];
    return DETVM_OK;
}

detvm_status detvm_trace_file_node(const detvm_trace_file *t, uint32_t lo, uint32_t hi,
                                   uint8_t *digest, detvm_error *err)
{
    if (!(lo < hi && hi <= t->summary.n_steps))
        return dv_fail(err, DETVM_EINVALID, "trace: node [%u, %u) out of range (%u steps)", lo,
                       hi, t->summary.n_steps);
    detvm_trace_root(t->summary.mode, t->leaves + (size_t)lo * t->summary.digest_len, hi - lo,
                     digest);
    return DETVM_OK;
}
