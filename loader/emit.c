/* Writing a module in the canonical layout of vm/module_format.h. The same IR always gives
 * the same bytes: sections in kind order, zero padding, names deduplicated in first-use order. */
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "../ops/variant.h"
#include "ir.h"

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buffer;

static uint8_t *grow(buffer *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

static void put_u16(buffer *b, uint16_t v)
{
    uint8_t *p = grow(b, 2);
    if (p)
        dvm_put_u16(p, v);
}
static void put_u32(buffer *b, uint32_t v)
{
    uint8_t *p = grow(b, 4);
    if (p)
        dvm_put_u32(p, v);
}
static void put_bytes(buffer *b, const void *src, size_t n)
{
    uint8_t *p = grow(b, n);
    if (p && n)
        memcpy(p, src, n);
}
static void pad_to(buffer *b, size_t align)
{
    if (b->len % align)
        grow(b, align - b->len % align);
}

/* NAMES: offset of `s`, adding it when new. Offset 0 is the empty string. */
static uint32_t name_ref(buffer *names, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s) + 1;
    for (size_t at = 1; at + n <= names->len; at += strlen((char *)names->p + at) + 1)
        if (memcmp(names->p + at, s, n) == 0)
            return (uint32_t)at;
    uint32_t at = (uint32_t)names->len;
    put_bytes(names, s, n);
    return at;
}

static void meta_record(buffer *b, uint16_t key, const void *v, uint32_t len)
{
    put_u16(b, key);
    put_u16(b, 0);
    put_u32(b, len);
    put_bytes(b, v, len);
}

static void meta_u64(buffer *b, uint16_t key, uint64_t v)
{
    uint8_t raw[8];
    dvm_put_u64(raw, v);
    meta_record(b, key, raw, 8);
}

static void build_meta(const ir_module *m, buffer *b)
{
    uint8_t raw[8 + 4 * VM_MAX_OUTPUTS];
    meta_record(b, DVM_META_PRODUCER, "detvm " DETVM_VERSION, (uint32_t)strlen("detvm " DETVM_VERSION));
    dvm_put_u32(raw, m->source_format);
    meta_record(b, DVM_META_SOURCE_FORMAT, raw, 4);
    meta_record(b, DVM_META_SOURCE_HASH, m->source_hash, 32);
    meta_record(b, DVM_META_SOURCE_VERSION, m->source_version,
                (uint32_t)strlen(m->source_version));
    dvm_put_u32(raw, m->input);
    dvm_put_u32(raw + 4, m->input_bytes);
    meta_record(b, DVM_META_INPUT, raw, 8);
    dvm_put_u32(raw, m->n_outputs);
    dvm_put_u32(raw + 4, m->output_bytes);
    for (uint32_t i = 0; i < m->n_outputs; i++)
        dvm_put_u32(raw + 8 + 4 * i, m->outputs[i]);
    meta_record(b, DVM_META_OUTPUTS, raw, 8 + 4 * m->n_outputs);
    meta_record(b, DVM_META_POSTPROCESS, m->postprocess, (uint32_t)strlen(m->postprocess));
    meta_u64(b, DVM_META_GAS, m->gas);
    meta_u64(b, DVM_META_STORAGE_SIZE, m->storage_size);
    dvm_put_u64(raw, m->arena_bytes);
    dvm_put_u64(raw + 8, m->scratch_bytes);
    meta_record(b, DVM_META_ARENA, raw, 16);
    if (m->warnings_len)
        meta_record(b, DVM_META_WARNINGS, m->warnings, m->warnings_len);
    put_u16(b, DVM_META_LAYER_GAS);
    put_u16(b, 0);
    put_u32(b, 8 * m->n_instrs);
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        uint8_t *p = grow(b, 8);
        if (p)
            dvm_put_u64(p, m->instrs[k].gas);
    }
    if (m->has_io_quant) {
        put_u16(b, DVM_META_IO_QUANT);
        put_u16(b, 0);
        put_u32(b, 12 * (1 + m->n_outputs));
        for (uint32_t i = 0; i <= m->n_outputs; i++) {
            uint32_t bits;
            memcpy(&bits, &m->io_quant[i].scale, sizeof bits);
            put_u32(b, bits);
            put_u32(b, (uint32_t)m->io_quant[i].zero_point);
            put_u32(b, m->io_quant[i].flags);
        }
    }
    if (m->rounding >= 0) {
        dvm_put_u32(raw, (uint32_t)m->rounding);
        meta_record(b, DVM_META_ROUNDING, raw, 4);
    }
    if (m->n_segments) {
        put_u16(b, DVM_META_SEGMENTS);
        put_u16(b, 0);
        put_u32(b, 4 + 12 * m->n_segments);
        put_u32(b, m->n_segments);
        for (uint32_t i = 0; i < 3 * m->n_segments; i++)
            put_u32(b, m->segments[i]);
    }
}

/* Lays the sections out: the header, the section table, then each non-empty section on a
 * 64-byte boundary. The bytes are 64-byte aligned in memory too, so that pre-packed weights
 * can be used in place. */
static detvm_status assemble(const buffer *sec, uint8_t **out, size_t *out_len,
                             detvm_error *err)
{
    *out = NULL;
    *out_len = 0;
    static const uint32_t kinds[] = {DVM_SEC_META, DVM_SEC_TENSORS, DVM_SEC_CONSTS, DVM_SEC_CODE,
                                     DVM_SEC_ATTRS, DVM_SEC_NAMES, DVM_SEC_PACKS};
    uint32_t order[DVM_SEC_LIMIT], n_sec = 0;
    for (uint32_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i] != DVM_SEC_PACKS || sec[kinds[i]].len > 0)
            order[n_sec++] = kinds[i];
    uint64_t len = DVM_HEADER_BYTES + (uint64_t)n_sec * DVM_SECTION_ENTRY_BYTES;
    for (uint32_t i = 0; i < n_sec; i++) {
        len = (len + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN;
        if (len > UINT32_MAX || sec[order[i]].len > UINT32_MAX - len)
            return dv_fail(err, DETVM_ERUNTIME, "emit: module above 4 GiB");
        len += sec[order[i]].len;
    }
    void *file = NULL;
    if (posix_memalign(&file, DVM_ALIGN, (size_t)len) != 0)
        return dv_fail(err, DETVM_ERUNTIME, "emit: out of memory for a %llu-byte module",
                       (unsigned long long)len);
    uint8_t *p = file;
    memset(p, 0, (size_t)len);
    memcpy(p, DVM_MAGIC, 4);
    dvm_put_u16(p + 4, DVM_FORMAT_VERSION);
    dvm_put_u32(p + 8, n_sec);
    dvm_put_u64(p + 16, len);
    uint64_t at = DVM_HEADER_BYTES + (uint64_t)n_sec * DVM_SECTION_ENTRY_BYTES;
    for (uint32_t i = 0; i < n_sec; i++) {
        const buffer *s = &sec[order[i]];
        at = (at + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN;
        if (s->len)
            memcpy(p + at, s->p, s->len);
        uint8_t *e = p + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        dvm_put_u32(e, order[i]);
        dvm_put_u32(e + 4, (uint32_t)at);
        dvm_put_u32(e + 8, (uint32_t)s->len);
        dvm_put_u32(e + 12, dvm_crc32(s->p, s->len));
        at += s->len;
    }
    *out = p;
    *out_len = (size_t)len;
    return DETVM_OK;
}

/* The PACKS section of a module: for each instruction whose variant (the one this build picks
 * among the instruction sets in `isa`) packs its constants, those packed bytes. The module is
 * loaded to find them, so that they are made from exactly what a session will see. The blobs
 * are gathered first, then laid out after the table of entries. */
static detvm_status build_packs(const uint8_t *bytes, size_t len, uint32_t isa, buffer *b,
                                detvm_error *err)
{
    detvm_module *m;
    detvm_status st = detvm_module_load(bytes, len, &m, err);
    if (st)
        return st;
    buffer table = {0}, blobs = {0};
    uint32_t n = 0;
    int out_of_memory = 0;
    vm_instr_inputs x;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const vm_instr *ins = &m->instrs[k];
        const dv_variant_packing *pk = vm_instr_packing(m, k, isa, &x);
        const uint64_t size = pk ? pk->packed_size(&ins->attrs, ins->n_in, x.shapes) : 0;
        if (size == 0)
            continue;
        void *block; /* packed where run_packed reads it: 64-byte aligned */
        const void *packed = vm_pack_new(pk, &ins->attrs, ins->n_in, x.in, size, &block);
        pad_to(&blobs, DVM_ALIGN);
        const uint64_t off = blobs.len;
        if (packed)
            put_bytes(&blobs, packed, (size_t)size);
        free(block);
        uint8_t *e = grow(&table, DVM_PACK_ENTRY_BYTES);
        if (!packed || !e) {
            out_of_memory = 1;
            break;
        }
        dvm_put_u32(e, k);
        dvm_put_u32(e + 4, pk->variant->isa);
        dvm_put_u32(e + 8, pk->layout);
        dvm_put_u64(e + 16, off); /* from the blobs' start until they are placed */
        dvm_put_u64(e + 24, size);
        n++;
    }
    detvm_module_free(m);
    const size_t blobs_at = (DVM_PACKS_HEADER_BYTES + table.len + DVM_ALIGN - 1) / DVM_ALIGN *
                            DVM_ALIGN;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = table.p + (size_t)i * DVM_PACK_ENTRY_BYTES;
        dvm_put_u64(e + 16, dvm_u64(e + 16) + blobs_at);
    }
    if (n > 0) {
        put_u32(b, n);
        put_u32(b, 0);
        put_bytes(b, table.p, table.len);
        pad_to(b, DVM_ALIGN);
        put_bytes(b, blobs.p, blobs.len);
    }
    if (out_of_memory || blobs.failed || b->failed)
        st = dv_fail(err, DETVM_ERUNTIME, "emit: out of memory for packed weights");
    free(table.p);
    free(blobs.p);
    if (st) {
        free(b->p);
        *b = (buffer){0};
    }
    return st;
}

detvm_status ir_emit(const ir_module *m, uint8_t **out, size_t *out_len, detvm_error *err)
{
    buffer sec[DVM_SEC_LIMIT] = {{0}};
    buffer *names = &sec[DVM_SEC_NAMES];
    put_bytes(names, "", 1);

    build_meta(m, &sec[DVM_SEC_META]);

    buffer *consts = &sec[DVM_SEC_CONSTS];
    buffer *tensors = &sec[DVM_SEC_TENSORS];
    put_u32(tensors, m->n_tensors);
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const ir_tensor *t = &m->tensors[i];
        uint64_t offset = t->offset;
        if (t->storage == DVM_STORAGE_CONST) {
            pad_to(consts, DVM_ALIGN);
            offset = consts->len;
            uint64_t n = dv_shape_size(&t->shape);
            uint8_t *p = grow(consts, n * 4);
            for (uint64_t k = 0; p && k < n; k++)
                dvm_put_u32(p + 4 * k, (uint32_t)t->data[k]);
        }
        uint8_t *e = grow(tensors, DVM_TENSOR_BYTES);
        if (!e)
            break;
        e[0] = t->dtype;
        e[1] = (uint8_t)t->shape.ndim;
        e[2] = t->precision;
        e[3] = t->storage;
        dvm_put_u32(e + 4, name_ref(names, t->name));
        for (uint32_t d = 0; d < t->shape.ndim; d++)
            dvm_put_u32(e + 8 + 4 * d, t->shape.dim[d]);
        dvm_put_u64(e + 32, offset);
    }

    buffer *code = &sec[DVM_SEC_CODE], *attrs = &sec[DVM_SEC_ATTRS];
    put_u32(code, m->n_instrs);
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const ir_instr *ins = &m->instrs[k];
        put_u16(code, (uint16_t)ins->opcode);
        put_bytes(code, &(uint8_t){(uint8_t)ins->n_in}, 1);
        put_bytes(code, &(uint8_t){(uint8_t)ins->n_out}, 1);
        put_u32(code, name_ref(names, ins->name));
        put_u32(code, (uint32_t)(attrs->len / 4));
        put_u32(code, ins->n_attrs);
        for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++)
            put_u32(code, ins->operands[j]);
        for (uint32_t j = 0; j < ins->n_attrs; j++)
            put_u32(attrs, (uint32_t)ins->attrs[j]);
    }

    int failed = 0;
    for (uint32_t i = 0; i < DVM_SEC_LIMIT; i++)
        failed |= sec[i].failed;
    detvm_status st = failed ? dv_fail(err, DETVM_ERUNTIME, "emit: out of memory")
                             : assemble(sec, out, out_len, err);
    if (!st && m->pack_isa) {
        st = build_packs(*out, *out_len, m->pack_isa, &sec[DVM_SEC_PACKS], err);
        if (!st && sec[DVM_SEC_PACKS].len > 0) {
            free(*out);
            st = assemble(sec, out, out_len, err);
        }
    }
    for (uint32_t i = 0; i < DVM_SEC_LIMIT; i++)
        free(sec[i].p);
    if (st) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    return st;
}

uint32_t ir_pack_isa(const detvm_compile_options *options)
{
    return options && options->no_packs ? 0 : dv_isa_detect();
}
