/* Reading and validating a .dvm module. Nothing in the bytes is trusted: every offset, index,
 * shape and arity is checked here, and every instruction's shapes are re-inferred with the
 * op's own infer function, so that a loaded module can never make a kernel read or write
 * outside its arena and constants. */
#include <stdlib.h>
#include <string.h>

#include "../hal/hal.h"
#include "error.h"
#include "module.h"
#include "module_format.h"

typedef vm_section section;

typedef struct {
    const uint8_t *bytes;
    size_t len;
    section sec[DVM_SEC_LIMIT];
    detvm_error *err;
} reader;

#define FAIL(...) dv_fail(r->err, DETVM_EINVALID, "module: " __VA_ARGS__)

static uint64_t align64(uint64_t v) { return (v + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN; }

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static detvm_status read_sections(reader *r)
{
    if (r->len < DVM_HEADER_BYTES || memcmp(r->bytes, DVM_MAGIC, 4) != 0)
        return FAIL("header: bad magic (not a detvm module)");
    if (dvm_u16(r->bytes + 4) != DVM_FORMAT_VERSION)
        return FAIL("header: format version %u not supported", dvm_u16(r->bytes + 4));
    if (dvm_u16(r->bytes + 6) != 0 || dvm_u32(r->bytes + 12) != 0 || dvm_u64(r->bytes + 24) != 0)
        return FAIL("header: flags and reserved fields must be 0");
    if (dvm_u64(r->bytes + 16) != r->len)
        return FAIL("header: file length %llu but %zu bytes given",
                    (unsigned long long)dvm_u64(r->bytes + 16), r->len);
    uint32_t count = dvm_u32(r->bytes + 8);
    if (count >= DVM_SEC_LIMIT)
        return FAIL("header: %u sections", count);
    uint64_t table_end = DVM_HEADER_BYTES + (uint64_t)count * DVM_SECTION_ENTRY_BYTES;
    if (table_end > r->len)
        return FAIL("section table: truncated");
    uint64_t prev_end = table_end;
    uint32_t prev_kind = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = r->bytes + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        uint32_t kind = dvm_u32(e), off = dvm_u32(e + 4), len = dvm_u32(e + 8);
        if (kind <= prev_kind || kind >= DVM_SEC_LIMIT)
            return FAIL("section %u: kind %u out of order or unknown", i, kind);
        if (off % DVM_ALIGN != 0 || off < prev_end || (uint64_t)off + len > r->len)
            return FAIL("section %u (kind %u): offset %u length %u out of bounds", i, kind, off,
                        len);
        for (uint64_t g = prev_end; g < off; g++)
            if (r->bytes[g] != 0)
                return FAIL("section %u: padding before it is not zero", i);
        /* PACKS needs none: each blob in use is compared with a fresh packing (vm/packs.c) */
        if (kind != DVM_SEC_PACKS && dvm_crc32(r->bytes + off, len) != dvm_u32(e + 12))
            return FAIL("section %u (kind %u): checksum mismatch", i, kind);
        r->sec[kind].p = r->bytes + off;
        r->sec[kind].len = len;
        prev_end = (uint64_t)off + len;
        prev_kind = kind;
    }
    if (prev_end != r->len)
        return FAIL("trailing bytes after the last section");
    static const uint32_t required[] = {DVM_SEC_META, DVM_SEC_TENSORS, DVM_SEC_CODE,
                                        DVM_SEC_NAMES};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!r->sec[required[i]].p)
            return FAIL("section kind %u missing", required[i]);
    return DETVM_OK;
}

/* A name reference: an offset into NAMES whose string ends inside the section. */
static const char *name_at(reader *r, uint32_t off)
{
    const section *s = &r->sec[DVM_SEC_NAMES];
    if (s->len == 0 || s->p[0] != 0 || off >= s->len)
        return NULL;
    if (!memchr(s->p + off, 0, s->len - off))
        return NULL;
    return (const char *)s->p + off;
}

static void copy_string(char *dst, size_t cap, const uint8_t *src, uint32_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    /* a NUL inside ends the string; nothing after it is used */
}

static detvm_status read_meta(reader *r, detvm_module *m)
{
    const section *s = &r->sec[DVM_SEC_META];
    uint32_t pos = 0, prev_key = 0, layer_gas_len = 0, io_quant_len = 0;
    const uint8_t *io_quant = NULL;
    m->rounding = -1;
    uint32_t seen = 0;
    while (pos < s->len) {
        if (s->len - pos < 8)
            return FAIL("META: truncated record at byte %u", pos);
        uint32_t key = dvm_u16(s->p + pos), len = dvm_u32(s->p + pos + 4);
        if (dvm_u16(s->p + pos + 2) != 0)
            return FAIL("META: reserved field not 0 at byte %u", pos);
        if (key <= prev_key)
            return FAIL("META: key %u out of order", key);
        pos += 8;
        if (len > s->len - pos)
            return FAIL("META: key %u: length %u past the section", key, len);
        const uint8_t *v = s->p + pos;
        switch (key) {
        case DVM_META_PRODUCER: copy_string(m->producer, sizeof m->producer, v, len); break;
        case DVM_META_SOURCE_VERSION:
            copy_string(m->source_version, sizeof m->source_version, v, len);
            break;
        case DVM_META_POSTPROCESS:
            copy_string(m->postprocess, sizeof m->postprocess, v, len);
            break;
        case DVM_META_SOURCE_FORMAT:
            if (len != 4)
                return FAIL("META: source format: length %u", len);
            m->source_format = dvm_u32(v);
            break;
        case DVM_META_SOURCE_HASH:
            if (len != 32)
                return FAIL("META: source hash: length %u", len);
            memcpy(m->source_hash, v, 32);
            break;
        case DVM_META_INPUT:
            if (len != 8)
                return FAIL("META: input: length %u", len);
            m->input = dvm_u32(v);
            m->input_bytes = dvm_u32(v + 4);
            break;
        case DVM_META_OUTPUTS:
            if (len < 8 || dvm_u32(v) == 0 || dvm_u32(v) > VM_MAX_OUTPUTS ||
                len != 8 + 4 * dvm_u32(v))
                return FAIL("META: outputs: bad count or length");
            m->n_outputs = dvm_u32(v);
            m->output_bytes = dvm_u32(v + 4);
            for (uint32_t i = 0; i < m->n_outputs; i++)
                m->outputs[i] = dvm_u32(v + 8 + 4 * i);
            break;
        case DVM_META_GAS:
        case DVM_META_STORAGE_SIZE:
            if (len != 8)
                return FAIL("META: key %u: length %u", key, len);
            *(key == DVM_META_GAS ? &m->gas : &m->storage_size) = dvm_u64(v);
            break;
        case DVM_META_ARENA:
            if (len != 16)
                return FAIL("META: arena: length %u", len);
            m->arena_bytes = dvm_u64(v);
            m->scratch_bytes = dvm_u64(v + 8);
            break;
        case DVM_META_LAYER_GAS:
            layer_gas_len = len;
            m->layer_gas = v;
            break;
        case DVM_META_IO_QUANT:
            io_quant = v;
            io_quant_len = len;
            break;
        case DVM_META_ROUNDING:
            if (len != 4 || dvm_u32(v) > 1)
                return FAIL("META: rounding: length %u or value not 0 or 1", len);
            m->rounding = (int32_t)dvm_u32(v);
            break;
        case DVM_META_SEGMENTS:
            if (len < 4 || len != 4 + 12ull * dvm_u32(v))
                return FAIL("META: segments: length %u does not fit the count", len);
            m->n_segments = dvm_u32(v);
            m->segments = v + 4;
            break;
        case DVM_META_WARNINGS:
            if (len > 0 && v[len - 1] != 0)
                return FAIL("META: warnings not NUL-terminated");
            m->warnings = (const char *)v;
            m->warnings_len = len;
            break;
        default:
            return FAIL("META: unknown key %u", key);
        }
        seen |= 1u << key;
        prev_key = key;
        pos += len;
    }
    const uint32_t needed = (1u << DVM_META_INPUT) | (1u << DVM_META_OUTPUTS) |
                            (1u << DVM_META_ARENA) | (1u << DVM_META_SOURCE_FORMAT);
    if ((seen & needed) != needed)
        return FAIL("META: input, outputs, arena or source format missing");
    m->layer_gas_len = layer_gas_len;
    if (io_quant) {
        if (io_quant_len != 12 * (1 + m->n_outputs))
            return FAIL("META: io quantization: length %u for %u bindings", io_quant_len,
                        1 + m->n_outputs);
        for (uint32_t i = 0; i <= m->n_outputs; i++) {
            vm_io_quant *q = &m->io_quant[i];
            uint32_t bits = dvm_u32(io_quant + 12 * i);
            memcpy(&q->scale, &bits, sizeof q->scale);
            q->zero_point = dvm_i32(io_quant + 12 * i + 4);
            q->flags = dvm_u32(io_quant + 12 * i + 8);
            if (!(q->scale > 0 && q->scale < 1e30f) || q->flags > DVM_IO_FLOAT_IN_SOURCE)
                return FAIL("META: io quantization %u: scale or flags invalid", i);
        }
        m->has_io_quant = 1;
    }
    if (m->input_bytes != 1 && m->input_bytes != 2 && m->input_bytes != 4)
        return FAIL("META: input element bytes %u", m->input_bytes);
    if (m->output_bytes != 1 && m->output_bytes != 4)
        return FAIL("META: output element bytes %u", m->output_bytes);
    /* argmax writes int32 indices: the output length counts 4 bytes per index */
    if (strcmp(m->postprocess, "argmax") == 0 && m->output_bytes != 4)
        return FAIL("META: argmax output element bytes %u, must be 4", m->output_bytes);
    /* every tensor's elements are int32, so the arena holds whole int32s */
    if (m->arena_bytes % 4 != 0 || m->scratch_bytes % 4 != 0 || m->arena_bytes > (1ull << 40) ||
        m->scratch_bytes > (1ull << 40))
        return FAIL("META: arena %llu or scratch %llu bytes invalid",
                    (unsigned long long)m->arena_bytes, (unsigned long long)m->scratch_bytes);
    return DETVM_OK;
}

static detvm_status read_consts(reader *r, detvm_module *m)
{
    const section *s = &r->sec[DVM_SEC_CONSTS];
    if (s->len % 4 != 0)
        return FAIL("CONSTS: length %u not a multiple of 4", s->len);
    if (s->len == 0)
        return DETVM_OK;
    if (host_is_little_endian() && ((uintptr_t)s->p % _Alignof(int32_t)) == 0)
        return DETVM_OK; /* used in place */
    m->consts = malloc(s->len);
    if (!m->consts)
        return dv_fail(r->err, DETVM_ERUNTIME, "module: out of memory for constants");
    for (uint32_t i = 0; i < s->len / 4; i++)
        m->consts[i] = dvm_i32(s->p + 4 * i);
    return DETVM_OK;
}

static detvm_status read_tensors(reader *r, detvm_module *m)
{
    const section *s = &r->sec[DVM_SEC_TENSORS];
    if (s->len < 4)
        return FAIL("TENSORS: truncated");
    uint32_t n = dvm_u32(s->p);
    if (n == 0 || (uint64_t)n * DVM_TENSOR_BYTES != s->len - 4)
        return FAIL("TENSORS: count %u does not match the section length %u", n, s->len);
    m->n_tensors = n;
    m->tensors = calloc(n, sizeof *m->tensors);
    if (!m->tensors)
        return dv_fail(r->err, DETVM_ERUNTIME, "module: out of memory for tensors");
    const section *c = &r->sec[DVM_SEC_CONSTS];
    const int32_t *const_base = m->consts ? m->consts : (const int32_t *)(const void *)c->p;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = s->p + 4 + (uint64_t)i * DVM_TENSOR_BYTES;
        vm_tensor *t = &m->tensors[i];
        if (e[0] >= DVM_DTYPE_LIMIT)
            return FAIL("tensor %u: dtype %u not supported", i, e[0]);
        t->dtype = e[0];
        t->shape.ndim = e[1];
        t->precision = e[2];
        if (e[3] >= DVM_STORAGE_LIMIT)
            return FAIL("tensor %u: storage %u unknown", i, e[3]);
        /* int8 activations are arena tensors whose elements take one byte */
        t->storage = e[3] == DVM_STORAGE_ARENA_INT8 ? DVM_STORAGE_ARENA : e[3];
        t->elem_bytes = (uint8_t)dvm_storage_bytes(e[3]);
        t->name = name_at(r, dvm_u32(e + 4));
        if (!t->name)
            return FAIL("tensor %u: name offset out of bounds", i);
        if (t->shape.ndim > DV_MAX_NDIM)
            return FAIL("tensor %u (%s): rank %u", i, t->name, t->shape.ndim);
        for (uint32_t d = 0; d < DV_MAX_NDIM; d++) {
            uint32_t dim = dvm_u32(e + 8 + 4 * d);
            if (d < t->shape.ndim)
                t->shape.dim[d] = dim;
            else if (dim != 0)
                return FAIL("tensor %u (%s): unused dimension %u not 0", i, t->name, d);
        }
        const char *why = dv_shape_check(&t->shape);
        if (why)
            return FAIL("tensor %u (%s): %s", i, t->name, why);
        if (t->precision < 1 || t->precision > 32)
            return FAIL("tensor %u (%s): precision %u", i, t->name, t->precision);
        if (t->elem_bytes == 1 && (t->precision > 8 || t->dtype == DVM_DTYPE_FLOAT32))
            return FAIL("tensor %u (%s): int8 storage for precision %u", i, t->name,
                        t->precision);
        t->offset = dvm_u64(e + 32);
        uint64_t bytes = vm_tensor_bytes(t);
        if (t->storage == DVM_STORAGE_ARENA) {
            if (t->offset % 4 != 0 || t->offset > m->arena_bytes ||
                bytes > m->arena_bytes - t->offset)
                return FAIL("tensor %u (%s): arena offset %llu out of bounds", i, t->name,
                            (unsigned long long)t->offset);
        } else if (t->storage == DVM_STORAGE_CONST) {
            if (t->offset % DVM_ALIGN != 0 || t->offset > c->len || bytes > c->len - t->offset)
                return FAIL("tensor %u (%s): constant offset %llu out of bounds", i, t->name,
                            (unsigned long long)t->offset);
            t->const_data = const_base + t->offset / 4;
        }
    }
    return DETVM_OK;
}

static detvm_status read_attrs(reader *r, detvm_module *m)
{
    const section *s = &r->sec[DVM_SEC_ATTRS];
    if (s->len % 4 != 0)
        return FAIL("ATTRS: length %u not a multiple of 4", s->len);
    if (s->len == 0)
        return DETVM_OK;
    m->attrs = malloc(s->len);
    if (!m->attrs)
        return dv_fail(r->err, DETVM_ERUNTIME, "module: out of memory for attributes");
    for (uint32_t i = 0; i < s->len / 4; i++)
        m->attrs[i] = dvm_i32(s->p + 4 * i);
    return DETVM_OK;
}

void vm_segment(const detvm_module *m, uint32_t k, uint32_t *first, uint32_t *count,
                uint32_t *device)
{
    const uint8_t *p = m->segments + 12 * k;
    *first = dvm_u32(p);
    *count = dvm_u32(p + 4);
    *device = dvm_u32(p + 8);
}

/* Device segments lie inside the code, in order, without overlapping, and name a device
 * other than the CPU. The device need not exist here: its instructions then run on the CPU. */
static detvm_status check_segments(const reader *r, const detvm_module *m)
{
    uint64_t next = 0;
    for (uint32_t k = 0; k < m->n_segments; k++) {
        uint32_t first, count, device;
        vm_segment(m, k, &first, &count, &device);
        if (count == 0 || first < next || (uint64_t)first + count > m->n_instrs)
            return FAIL("META: segment %u: instructions %u..+%u out of order or range", k,
                        first, count);
        if (device == HAL_DEVICE_CPU || device >= HAL_DEVICE_LIMIT)
            return FAIL("META: segment %u: device %u unknown", k, device);
        next = (uint64_t)first + count;
    }
    return DETVM_OK;
}

/* A device computes on int32 tensors: no operand of a segment's instructions is stored as
 * int8. */
static detvm_status check_segment_storage(const reader *r, const detvm_module *m)
{
    for (uint32_t k = 0; k < m->n_segments; k++) {
        uint32_t first, count, device;
        vm_segment(m, k, &first, &count, &device);
        for (uint32_t i = first; i < first + count; i++) {
            const vm_instr *ins = &m->instrs[i];
            for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++)
                if (m->tensors[ins->operands[j]].elem_bytes != 4)
                    return FAIL("instruction %u (%s): operand %u is stored as int8 in a device "
                                "segment", i, ins->name, j);
        }
    }
    return DETVM_OK;
}

/* Checks one instruction's operands and re-infers its output shapes. Activations must be
 * written before they are read, and written once: `written` tracks that. */
static detvm_status check_instr(reader *r, detvm_module *m, uint32_t k, uint8_t *written,
                                uint64_t *scratch_need)
{
    const vm_instr *ins = &m->instrs[k];
    dv_shape in[DV_MAX_OP_INPUTS], out[DV_MAX_OP_OUTPUTS];
    for (uint32_t i = 0; i < ins->n_in; i++) {
        uint32_t t = ins->operands[i];
        if (m->tensors[t].storage == DVM_STORAGE_ARENA && !written[t])
            return FAIL("instruction %u (%s): input %u reads tensor %u before it is written", k,
                        ins->name, i, t);
        in[i] = m->tensors[t].shape;
    }
    const char *why = ins->op->infer(&ins->attrs, ins->n_in, in, ins->n_out, out);
    if (why)
        return FAIL("instruction %u (%s, %s): %s", k, ins->name, ins->op->name, why);
    for (uint32_t o = 0; o < ins->n_out; o++) {
        uint32_t t = ins->operands[ins->n_in + o];
        const vm_tensor *vt = &m->tensors[t];
        if (vt->storage != DVM_STORAGE_ARENA || written[t])
            return FAIL("instruction %u (%s): output %u must be a fresh arena tensor", k,
                        ins->name, o);
        if (!dv_shape_equal(&vt->shape, &out[o]))
            return FAIL("instruction %u (%s): output %u shape differs from the inferred one", k,
                        ins->name, o);
        written[t] = 1;
    }
    /* outputs never alias inputs or each other */
    for (uint32_t o = 0; o < ins->n_out; o++) {
        const vm_tensor *a = &m->tensors[ins->operands[ins->n_in + o]];
        uint64_t a_end = a->offset + vm_tensor_bytes(a);
        for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++) {
            if (j == ins->n_in + o)
                continue;
            const vm_tensor *b = &m->tensors[ins->operands[j]];
            if (b->storage != DVM_STORAGE_ARENA)
                continue;
            uint64_t b_end = b->offset + vm_tensor_bytes(b);
            if (a->offset < b_end && b->offset < a_end)
                return FAIL("instruction %u (%s): output %u overlaps operand %u in the arena", k,
                            ins->name, o, j);
        }
    }
    uint64_t scratch = ins->op->scratch ? ins->op->scratch(&ins->attrs, ins->n_in, in) : 0;
    if (scratch * 4 > *scratch_need)
        *scratch_need = scratch * 4;
    if (scratch > m->scratch_bytes / 4)
        return FAIL("instruction %u (%s): needs %llu scratch elements, the module plans %llu", k,
                    ins->name, (unsigned long long)scratch,
                    (unsigned long long)(m->scratch_bytes / 4));
    return DETVM_OK;
}

static detvm_status read_code(reader *r, detvm_module *m)
{
    const section *s = &r->sec[DVM_SEC_CODE];
    if (s->len < 4)
        return FAIL("CODE: truncated");
    uint32_t n = dvm_u32(s->p);
    if (n == 0 || n > s->len / DVM_INSTR_FIXED_BYTES)
        return FAIL("CODE: count %u does not fit the section", n);
    m->n_instrs = n;
    m->instrs = calloc(n, sizeof *m->instrs);
    m->operands = calloc((s->len - 4) / 4, sizeof *m->operands);
    uint8_t *written = calloc(m->n_tensors, 1);
    detvm_status st = DETVM_OK;
    if (!m->instrs || !m->operands || !written) {
        st = dv_fail(r->err, DETVM_ERUNTIME, "module: out of memory for code");
        goto done;
    }
    written[m->input] = 1;
    uint32_t attr_count = r->sec[DVM_SEC_ATTRS].len / 4;
    uint64_t pos = 4, scratch_need = 0;
    uint32_t used = 0;
    for (uint32_t k = 0; k < n; k++) {
        vm_instr *ins = &m->instrs[k];
        if (s->len - pos < DVM_INSTR_FIXED_BYTES) {
            st = FAIL("instruction %u: truncated", k);
            goto done;
        }
        const uint8_t *e = s->p + pos;
        ins->opcode = dvm_u16(e);
        ins->n_in = e[2];
        ins->n_out = e[3];
        ins->name = name_at(r, dvm_u32(e + 4));
        uint32_t first = dvm_u32(e + 8), count = dvm_u32(e + 12);
        ins->op = dv_op_lookup(ins->opcode);
        if (!ins->name) {
            st = FAIL("instruction %u: name offset out of bounds", k);
            goto done;
        }
        if (!ins->op) {
            st = FAIL("instruction %u (%s): unknown opcode %u", k, ins->name, ins->opcode);
            goto done;
        }
        if (ins->n_in < ins->op->min_inputs || ins->n_in > ins->op->max_inputs ||
            ins->n_out != ins->op->n_outputs) {
            st = FAIL("instruction %u (%s): %s takes %u..%u inputs and %u outputs, not %u and %u",
                      k, ins->name, ins->op->name, ins->op->min_inputs, ins->op->max_inputs,
                      ins->op->n_outputs, ins->n_in, ins->n_out);
            goto done;
        }
        if (first > attr_count || count > attr_count - first) {
            st = FAIL("instruction %u (%s): attributes %u+%u out of bounds", k, ins->name, first,
                      count);
            goto done;
        }
        ins->attrs.v = m->attrs ? m->attrs + first : NULL;
        ins->attrs.n = count;
        pos += DVM_INSTR_FIXED_BYTES;
        uint32_t n_ops = ins->n_in + ins->n_out;
        if ((s->len - pos) / 4 < n_ops) {
            st = FAIL("instruction %u (%s): operands truncated", k, ins->name);
            goto done;
        }
        ins->operands = m->operands + used;
        for (uint32_t j = 0; j < n_ops; j++) {
            uint32_t t = dvm_u32(s->p + pos + 4 * j);
            if (t >= m->n_tensors) {
                st = FAIL("instruction %u (%s): operand %u names tensor %u of %u", k, ins->name,
                          j, t, m->n_tensors);
                goto done;
            }
            m->operands[used + j] = t;
        }
        used += n_ops;
        pos += 4ull * n_ops;
        st = check_instr(r, m, k, written, &scratch_need);
        if (st)
            goto done;
    }
    if (pos != s->len) {
        st = FAIL("CODE: %llu trailing bytes", (unsigned long long)(s->len - pos));
        goto done;
    }
    if (m->layer_gas && m->layer_gas_len != 8ull * n) {
        st = FAIL("META: layer gas has %u bytes for %u instructions", m->layer_gas_len, n);
        goto done;
    }
    st = check_segments(r, m);
    if (st)
        goto done;
    /* the arena and scratch sizes are exactly what the tensors and kernels need (64-byte
     * aligned), so that a module cannot make a session allocate more than it uses */
    uint64_t arena_need = 0;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const vm_tensor *vt = &m->tensors[t];
        uint64_t end = vt->offset + vm_tensor_bytes(vt);
        if (vt->storage == DVM_STORAGE_ARENA && end > arena_need)
            arena_need = end;
    }
    if (m->arena_bytes != align64(arena_need) || m->scratch_bytes != align64(scratch_need)) {
        st = FAIL("META: arena %llu and scratch %llu bytes, the tensors need %llu and %llu",
                  (unsigned long long)m->arena_bytes, (unsigned long long)m->scratch_bytes,
                  (unsigned long long)align64(arena_need),
                  (unsigned long long)align64(scratch_need));
        goto done;
    }
    for (uint32_t i = 0; i < m->n_outputs; i++) {
        if (m->outputs[i] >= m->n_tensors || !written[m->outputs[i]]) {
            st = FAIL("output %u: tensor %u is never computed", i, m->outputs[i]);
            goto done;
        }
        if (m->tensors[m->outputs[i]].elem_bytes != 4) {
            st = FAIL("output %u: tensor %u is stored as int8", i, m->outputs[i]);
            goto done;
        }
    }
    st = check_segment_storage(r, m);
done:
    free(written);
    return st;
}

/* The input binding: an arena tensor, read as int8 or int32 elements (CVM models, dtype
 * int32) or as elements of its own dtype (TFLite models). */
static detvm_status check_input(reader *r, const detvm_module *m)
{
    if (m->input >= m->n_tensors || m->tensors[m->input].storage != DVM_STORAGE_ARENA ||
        m->tensors[m->input].elem_bytes != 4)
        return FAIL("META: input tensor %u is not an int32 arena tensor", m->input);
    uint32_t dtype = m->tensors[m->input].dtype;
    if (dtype == DVM_DTYPE_INT32 ? m->input_bytes == 2 : m->input_bytes != dvm_dtype_bytes(dtype))
        return FAIL("META: input element bytes %u do not fit its dtype %u", m->input_bytes,
                    dtype);
    return DETVM_OK;
}

detvm_status detvm_module_load(const uint8_t *bytes, size_t len, detvm_module **out,
                               detvm_error *err)
{
    *out = NULL;
    if (!bytes)
        return dv_fail(err, DETVM_EINVALID, "module: no bytes given");
    reader rd = {.bytes = bytes, .len = len, .err = err};
    reader *r = &rd;
    detvm_module *m = calloc(1, sizeof *m);
    if (!m)
        return dv_fail(err, DETVM_ERUNTIME, "module: out of memory");
    m->bytes = bytes;
    m->len = len;
    detvm_status st = read_sections(r);
    if (!st)
        st = read_meta(r, m);
    if (!st)
        st = read_consts(r, m);
    if (!st)
        st = read_tensors(r, m);
    if (!st)
        st = check_input(r, m);
    if (!st)
        st = read_attrs(r, m);
    if (!st)
        st = read_code(r, m);
    if (!st)
        st = vm_read_packs(m, r->sec[DVM_SEC_PACKS].p, r->sec[DVM_SEC_PACKS].len, err);
    if (st) {
        detvm_module_free(m);
        return st;
    }
    memcpy(m->sections, r->sec, sizeof r->sec);
    *out = m;
    return DETVM_OK;
}

void detvm_module_free(detvm_module *m)
{
    if (!m)
        return;
    free(m->tensors);
    free(m->instrs);
    free(m->operands);
    free(m->attrs);
    free(m->consts);
    free(m->packs);
    free(m);
}
