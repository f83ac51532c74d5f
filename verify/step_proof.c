/* One-step proofs: everything a checker needs to re-execute one instruction of a traced run
 * and to tie its inputs and its claimed output to the trace root (docs/verification.md).
 *
 *   "DTVMPRF1", u16 format version (1), u16 mode, module id (32), u32 steps, u32 digest
 *   length, root, input hash (BLAKE2b-256 of the run's input bytes, 32), u32 step, u32 input
 *   count; per input of the step, u8 kind:
 *     0 a constant of the module (nothing follows: the checker has the module);
 *     1 the model input: u64 length and the raw input bytes, which must hash to the input hash;
 *     2 an output of an earlier step p: u32 p, u8 output count, per output u64 element count
 *       and the int32 elements, then p's audit path (u8 length, digests);
 *   then the claimed output hash of the step and its audit path; BLAKE2b-256 of all the bytes
 *   before it.
 * The checker derives each input's kind and producer from the module itself and refuses a proof
 * that says otherwise. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module.h"
#include "../vm/module_format.h"
#include "../vm/session.h"
#include "merkle.h"
#include "wire.h"

#define PROOF_MAGIC "DTVMPRF1"
#define PROOF_VERSION 1

enum { FROM_CONSTANT = 0, FROM_INPUT = 1, FROM_STEP = 2 };

/* Where tensor t comes from: a constant, the model input, or the step that writes it. */
static int source_of(const detvm_module *m, uint32_t t, uint32_t before, uint32_t *producer)
{
    if (m->tensors[t].storage == DVM_STORAGE_CONST)
        return FROM_CONSTANT;
    if (t == m->input)
        return FROM_INPUT;
    for (uint32_t p = 0; p < before; p++) {
        const vm_instr *ins = &m->instrs[p];
        for (uint32_t o = 0; o < ins->n_out; o++)
            if (ins->operands[ins->n_in + o] == t) {
                *producer = p;
                return FROM_STEP;
            }
    }
    return -1; /* the validator makes this impossible for a loaded module */
}

/* ---- proving ----------------------------------------------------------------------------- */

typedef struct {
    const detvm_module *m;
    uint32_t step;
    uint8_t *needed;           /* per step: its outputs are inputs of the proved step */
    int32_t **copies;          /* per needed step: its outputs, one after another */
} capture;

static int keep_producers(void *user, const detvm_step *st)
{
    capture *c = user;
    if (st->index >= c->step || !c->needed[st->index] || c->copies[st->index])
        return 0;
    uint64_t total = 0;
    for (uint32_t o = 0; o < st->n_outputs; o++)
        total += st->outputs[o].count;
    int32_t *copy = malloc(total * sizeof *copy + 1);
    if (!copy)
        return 1;
    for (uint32_t o = 0, at = 0; o < st->n_outputs; at += (uint32_t)st->outputs[o].count, o++)
        memcpy(copy + at, st->outputs[o].data, st->outputs[o].count * sizeof *copy);
    c->copies[st->index] = copy;
    return 0;
}

static void write_path(wire_writer *w, const detvm_trace *t, uint32_t k)
{
    uint8_t path[MERKLE_MAX_DEPTH][DETVM_DIGEST_MAX];
    uint32_t n = merkle_path(t->mode, t->leaves, t->n_steps, k, path);
    wire_u8(w, (uint8_t)n);
    for (uint32_t i = 0; i < n; i++)
        wire_bytes(w, path[i], t->digest_len);
}

static void write_elements(wire_writer *w, const int32_t *data, uint64_t count)
{
    wire_u64(w, count);
    for (uint64_t i = 0; i < count; i++)
        wire_u32(w, (uint32_t)data[i]);
}

static void write_proof(wire_writer *w, const detvm_module *m, const detvm_trace *t,
                        const capture *c, const void *input, size_t input_len)
{
    uint8_t id[32], input_hash[32];
    detvm_module_id(m, id);
    crypto_generichash(input_hash, 32, input, input_len, NULL, 0);
    wire_bytes(w, PROOF_MAGIC, 8);
    wire_u16(w, PROOF_VERSION);
    wire_u16(w, (uint16_t)t->mode);
    wire_bytes(w, id, 32);
    wire_u32(w, t->n_steps);
    wire_u32(w, t->digest_len);
    wire_bytes(w, t->root, t->digest_len);
    wire_bytes(w, input_hash, 32);
    const vm_instr *ins = &m->instrs[c->step];
    wire_u32(w, c->step);
    wire_u32(w, ins->n_in);
    for (uint32_t j = 0; j < ins->n_in; j++) {
        uint32_t p = 0;
        int kind = source_of(m, ins->operands[j], c->step, &p);
        wire_u8(w, (uint8_t)kind);
        if (kind == FROM_INPUT) {
            wire_u64(w, input_len);
            wire_bytes(w, input, input_len);
        } else if (kind == FROM_STEP) {
            const vm_instr *producer = &m->instrs[p];
            wire_u32(w, p);
            wire_u8(w, (uint8_t)producer->n_out);
            const int32_t *data = c->copies[p];
            for (uint32_t o = 0; o < producer->n_out; o++) {
                uint64_t count = dv_shape_size(&m->tensors[producer->operands[producer->n_in + o]].shape);
                write_elements(w, data, count);
                data += count;
            }
            write_path(w, t, p);
        }
    }
    wire_bytes(w, t->output_hashes + (size_t)c->step * t->digest_len, t->digest_len);
    write_path(w, t, c->step);
    wire_checksum(w);
}

detvm_status detvm_prove_step(const detvm_module *m, detvm_session *s, const void *input,
                              size_t input_len, uint32_t step, detvm_trace_mode mode,
                              uint8_t **proof, size_t *proof_len, detvm_error *err)
{
    *proof = NULL;
    *proof_len = 0;
    if (step >= m->n_instrs)
        return dv_fail(err, DETVM_EINVALID, "prove: step %u out of range (%u instructions)",
                       step, m->n_instrs);
    capture c = {m, step, calloc(m->n_instrs, 1), calloc(m->n_instrs, sizeof(int32_t *))};
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    uint8_t *output = malloc(info.output_len + 1);
    detvm_status st = c.needed && c.copies && output
                          ? detvm_session_set_trace(s, mode, err)
                          : dv_fail(err, DETVM_ERUNTIME, "prove: out of memory");
    for (uint32_t j = 0; !st && j < m->instrs[step].n_in; j++) {
        uint32_t p;
        if (source_of(m, m->instrs[step].operands[j], step, &p) == FROM_STEP)
            c.needed[p] = 1;
    }
    if (!st) {
        detvm_session_set_hook(s, keep_producers, &c);
        st = detvm_run(s, input, input_len, output, info.output_len, err);
        detvm_session_set_hook(s, NULL, NULL);
    }
    detvm_trace t;
    if (!st)
        st = detvm_session_trace(s, &t, err);
    if (!st) {
        wire_writer w = {0};
        write_proof(&w, m, &t, &c, input, input_len);
        if (w.failed) {
            free(w.p);
            st = dv_fail(err, DETVM_ERUNTIME, "prove: out of memory");
        } else {
            *proof = w.p;
            *proof_len = w.len;
        }
    }
    for (uint32_t k = 0; c.copies && k < m->n_instrs; k++)
        free(c.copies[k]);
    free(c.copies);
    free(c.needed);
    free(output);
    return st;
}

/* ---- checking ---------------------------------------------------------------------------- */

typedef struct {
    detvm_trace_mode mode;
    uint32_t n_steps, dl;
    uint8_t root[DETVM_DIGEST_MAX];
} proof_header;

/* Reads an audit path and checks that `leaf` of step k gives the root with it. */
static detvm_status check_path(wire_reader *r, const proof_header *h, uint32_t k,
                               const uint8_t *leaf, const char *what, detvm_error *err)
{
    uint8_t path[MERKLE_MAX_DEPTH][DETVM_DIGEST_MAX], root[DETVM_DIGEST_MAX];
    uint32_t n = wire_get_u8(r, what);
    if (n > MERKLE_MAX_DEPTH)
        return dv_fail(err, DETVM_EINVALID, "proof: %s: path of %u nodes", what, n);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *d = wire_take(r, h->dl, what);
        if (d)
            memcpy(path[i], d, h->dl);
    }
    if (r->missing)
        return dv_fail(err, DETVM_EINVALID, "proof: truncated in the %s", r->missing);
    if (merkle_root_from_path(h->mode, h->n_steps, k, leaf, (const uint8_t(*)[DETVM_DIGEST_MAX])path,
                              n, root) != 0 ||
        memcmp(root, h->root, h->dl) != 0)
        return dv_fail(err, DETVM_EINVALID, "proof: %s does not lead to the root", what);
    return DETVM_OK;
}

/* Reads the outputs of producing step p into fresh buffers (kept in `owned`), checks them
 * against the trace, and points `value` at the one the step reads. */
static detvm_status read_step_outputs(wire_reader *r, const detvm_module *m,
                                      const proof_header *h, uint32_t p, uint32_t tensor,
                                      int32_t **owned, dv_tensor *value, detvm_error *err)
{
    const vm_instr *producer = &m->instrs[p];
    if (wire_get_u8(r, "output count") != producer->n_out)
        return dv_fail(err, DETVM_EINVALID, "proof: step %u: output count differs", p);
    detvm_tensor_view views[DV_MAX_OP_OUTPUTS];
    for (uint32_t o = 0; o < producer->n_out; o++) {
        const vm_tensor *vt = &m->tensors[producer->operands[producer->n_in + o]];
        uint64_t count = dv_shape_size(&vt->shape);
        if (wire_get_u64(r, "element count") != count)
            return dv_fail(err, DETVM_EINVALID, "proof: step %u output %u: element count", p, o);
        const uint8_t *bytes = wire_take(r, count * 4, "elements");
        int32_t *data = bytes ? malloc(count * sizeof *data + 1) : NULL;
        if (!data)
            return dv_fail(err, bytes ? DETVM_ERUNTIME : DETVM_EINVALID,
                           "proof: step %u output %u: %s", p, o,
                           bytes ? "out of memory" : "truncated");
        owned[o] = data;
        for (uint64_t i = 0; i < count; i++)
            data[i] = dvm_i32(bytes + 4 * i);
        memset(&views[o], 0, sizeof views[o]);
        views[o].ndim = vt->shape.ndim;
        memcpy(views[o].dim, vt->shape.dim, sizeof vt->shape.dim);
        views[o].count = count;
        views[o].data = data;
        if (producer->operands[producer->n_in + o] == tensor)
            value->data = data;
    }
    uint8_t hash[DETVM_DIGEST_MAX], leaf[DETVM_DIGEST_MAX];
    detvm_trace_output_hash(h->mode, producer->n_out, views, hash);
    detvm_trace_leaf(h->mode, p, producer->opcode, hash, leaf);
    char what[48];
    snprintf(what, sizeof what, "the path of step %u", p);
    return check_path(r, h, p, leaf, what, err);
}

static detvm_status read_header(wire_reader *r, const detvm_module *m, proof_header *h,
                                uint8_t *input_hash, detvm_error *err)
{
    uint8_t id[32];
    detvm_module_id(m, id);
    r->pos = 8;
    uint16_t version = wire_get_u16(r, "version");
    h->mode = (detvm_trace_mode)wire_get_u16(r, "mode");
    const uint8_t *their_id = wire_take(r, 32, "module id");
    h->n_steps = wire_get_u32(r, "step count");
    h->dl = wire_get_u32(r, "digest length");
    if (r->missing)
        return dv_fail(err, DETVM_EINVALID, "proof: truncated in the %s", r->missing);
    if (version != PROOF_VERSION)
        return dv_fail(err, DETVM_EINVALID, "proof: format version %u unknown", version);
    if (detvm_trace_digest_len(h->mode) == 0 || h->dl != detvm_trace_digest_len(h->mode))
        return dv_fail(err, DETVM_EINVALID, "proof: mode %d with %u-byte digests", (int)h->mode,
                       h->dl);
    if (memcmp(their_id, id, 32) != 0 || h->n_steps != m->n_instrs)
        return dv_fail(err, DETVM_EINVALID, "proof: made for another module");
    const uint8_t *root = wire_take(r, h->dl, "root");
    const uint8_t *ih = wire_take(r, 32, "input hash");
    if (r->missing)
        return dv_fail(err, DETVM_EINVALID, "proof: truncated in the %s", r->missing);
    memcpy(h->root, root, h->dl);
    memcpy(input_hash, ih, 32);
    return DETVM_OK;
}

/* Reads input j of the step into `value` (shape from the module). */
static detvm_status read_input(wire_reader *r, const detvm_module *m, const proof_header *h,
                               const uint8_t *input_hash, uint32_t step, uint32_t j,
                               int32_t **owned, dv_tensor *value, detvm_error *err)
{
    uint32_t t = m->instrs[step].operands[j], p = 0;
    int kind = source_of(m, t, step, &p);
    value->shape = m->tensors[t].shape;
    value->data = NULL;
    int claimed = wire_get_u8(r, "input kind");
    if (r->missing || claimed != kind)
        return dv_fail(err, DETVM_EINVALID, "proof: input %u: kind %d, the module says %d", j,
                       claimed, kind);
    if (kind == FROM_CONSTANT) {
        value->data = (int32_t *)(uintptr_t)m->tensors[t].const_data;
        return DETVM_OK;
    }
    if (kind == FROM_INPUT) {
        uint64_t len = wire_get_u64(r, "input length");
        const uint8_t *bytes = len <= r->len ? wire_take(r, (size_t)len, "input bytes") : NULL;
        uint8_t hash[32];
        if (!bytes)
            return dv_fail(err, DETVM_EINVALID, "proof: input %u: truncated input bytes", j);
        crypto_generichash(hash, 32, bytes, (size_t)len, NULL, 0);
        if (memcmp(hash, input_hash, 32) != 0)
            return dv_fail(err, DETVM_EINVALID, "proof: the input bytes do not match the input hash");
        owned[0] = malloc(dv_shape_size(&value->shape) * sizeof(int32_t) + 1);
        if (!owned[0])
            return dv_fail(err, DETVM_ERUNTIME, "proof: out of memory");
        value->data = owned[0];
        return vm_load_input(m, bytes, (size_t)len, owned[0], err);
    }
    if (wire_get_u32(r, "producing step") != p)
        return dv_fail(err, DETVM_EINVALID, "proof: input %u: wrong producing step", j);
    return read_step_outputs(r, m, h, p, t, owned, value, err);
}

/* Runs only instruction k on the given inputs and hashes its outputs. */
static detvm_status execute(const detvm_module *m, uint32_t k, dv_tensor *in,
                            detvm_trace_mode mode, uint8_t *hash, detvm_error *err)
{
    const vm_instr *ins = &m->instrs[k];
    dv_tensor out[DV_MAX_OP_OUTPUTS];
    dv_shape shapes[DV_MAX_OP_INPUTS];
    detvm_tensor_view views[DV_MAX_OP_OUTPUTS];
    for (uint32_t j = 0; j < ins->n_in; j++)
        shapes[j] = in[j].shape;
    uint64_t scratch_n = ins->op->scratch ? ins->op->scratch(&ins->attrs, ins->n_in, shapes) : 0;
    int32_t *scratch = calloc(scratch_n + 1, sizeof *scratch);
    detvm_status st = scratch ? DETVM_OK : dv_fail(err, DETVM_ERUNTIME, "check: out of memory");
    uint32_t made = 0;
    for (; !st && made < ins->n_out; made++) {
        out[made].shape = m->tensors[ins->operands[ins->n_in + made]].shape;
        out[made].data = calloc(dv_shape_size(&out[made].shape) + 1, sizeof(int32_t));
        if (!out[made].data)
            st = dv_fail(err, DETVM_ERUNTIME, "check: out of memory");
    }
    if (!st) {
        ins->op->run(&ins->attrs, ins->n_in, in, ins->n_out, out, scratch);
        for (uint32_t o = 0; o < ins->n_out; o++) {
            /* an output stored as int8 holds the saturated values, as in a run (hal/cpu.c) */
            if (m->tensors[ins->operands[ins->n_in + o]].elem_bytes == 1)
                dv_narrow_in_place(out[o].data, dv_shape_size(&out[o].shape));
            memset(&views[o], 0, sizeof views[o]);
            views[o].ndim = out[o].shape.ndim;
            memcpy(views[o].dim, out[o].shape.dim, sizeof out[o].shape.dim);
            views[o].count = dv_shape_size(&out[o].shape);
            views[o].data = out[o].data;
        }
        detvm_trace_output_hash(mode, ins->n_out, views, hash);
    }
    for (uint32_t o = 0; o < made; o++)
        free(out[o].data);
    free(scratch);
    return st;
}

detvm_status detvm_check_step(const detvm_module *m, const uint8_t *proof, size_t proof_len,
                              detvm_step_check *check, detvm_error *err)
{
    memset(check, 0, sizeof *check);
    wire_reader r = {proof, proof_len, 0, NULL};
    if (proof_len < 8 || memcmp(proof, PROOF_MAGIC, 8) != 0)
        return dv_fail(err, DETVM_EINVALID, "proof: not a detvm step proof (magic)");
    if (!wire_checksum_ok(&r))
        return dv_fail(err, DETVM_EINVALID, "proof: checksum does not match (truncated or altered)");
    proof_header h;
    uint8_t input_hash[32];
    detvm_status st = read_header(&r, m, &h, input_hash, err);
    if (st)
        return st;
    uint32_t k = wire_get_u32(&r, "step"), n_in = wire_get_u32(&r, "input count");
    if (r.missing || k >= m->n_instrs || n_in != m->instrs[k].n_in)
        return dv_fail(err, DETVM_EINVALID, "proof: step %u or its input count %u invalid", k,
                       n_in);
    dv_tensor in[DV_MAX_OP_INPUTS];
    int32_t *owned[DV_MAX_OP_INPUTS][DV_MAX_OP_OUTPUTS];
    memset(owned, 0, sizeof owned);
    for (uint32_t j = 0; !st && j < n_in; j++)
        st = read_input(&r, m, &h, input_hash, k, j, owned[j], &in[j], err);
    const uint8_t *claimed = st ? NULL : wire_take(&r, h.dl, "claimed output hash");
    if (!st && !claimed)
        st = dv_fail(err, DETVM_EINVALID, "proof: truncated in the claimed output hash");
    uint8_t leaf[DETVM_DIGEST_MAX], hash[DETVM_DIGEST_MAX];
    if (!st) {
        detvm_trace_leaf(h.mode, k, m->instrs[k].opcode, claimed, leaf);
        st = check_path(&r, &h, k, leaf, "the path of the claimed output", err);
    }
    if (!st && r.pos != r.len)
        st = dv_fail(err, DETVM_EINVALID, "proof: %zu bytes after the last field", r.len - r.pos);
    if (!st)
        st = execute(m, k, in, h.mode, hash, err);
    if (!st) {
        check->step = k;
        check->mode = h.mode;
        memcpy(check->root, h.root, h.dl);
        check->output_correct = memcmp(hash, claimed, h.dl) == 0;
    }
    for (uint32_t j = 0; j < DV_MAX_OP_INPUTS; j++)
        for (uint32_t o = 0; o < DV_MAX_OP_OUTPUTS; o++)
            free(owned[j][o]);
    return st;
}
