/* Pre-packed weights: the PACKS section. The compiler packs the constant inputs of the
 * instructions whose kernel variant has a packing (ops/variant.h) and stores the bytes in the
 * module, so that a session uses them in place instead of packing its own copy.
 *
 * The bytes are derived data, and nothing in a module is trusted: an entry is used only after
 * its bytes were found equal to a fresh packing of the instruction's constants, so a module can
 * never make a variant compute with weights other than its constants (which is what the
 * reference kernel and the module id see). An entry this build cannot check, because the CPU
 * lacks its instruction set, the build has no such packing, its layout number differs, or the
 * bytes are not 64-byte aligned in memory, is left unused: the session packs for itself, with
 * the same result bytes. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "module.h"
#include "module_format.h"

#define FAIL(...) dv_fail(err, DETVM_EINVALID, "module: PACKS: " __VA_ARGS__)

uint32_t vm_constant_inputs(const detvm_module *m, const vm_instr *ins)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < ins->n_in && i < 32; i++)
        if (m->tensors[ins->operands[i]].storage == DVM_STORAGE_CONST)
            mask |= 1u << i;
    return mask;
}

/* A zeroed, 64-byte aligned area of `size` bytes in a new block (*block, to free), or NULL. */
static void *aligned_zeroed(uint64_t size, void **block)
{
    *block = size <= SIZE_MAX - 64 ? calloc(1, (size_t)size + 64) : NULL;
    if (!*block)
        return NULL;
    uintptr_t at = (uintptr_t)*block;
    return (void *)(at + (64 - at % 64) % 64);
}

void *vm_pack_new(const dv_variant_packing *packing, const dv_attrs *attrs, uint32_t n_in,
                  const dv_tensor *in, uint64_t size, void **block)
{
    void *packed = aligned_zeroed(size, block);
    if (packed)
        packing->pack(attrs, n_in, in, packed);
    return packed;
}

/* Where check_entry packs afresh: one area for all entries, grown as needed, so that checking
 * a module's packs touches new memory only as often as an entry is the largest yet. */
typedef struct {
    void *block, *area;
    uint64_t cap;
} check_area;

const dv_variant_packing *vm_instr_packing(const detvm_module *m, uint32_t k, uint32_t isa,
                                           vm_instr_inputs *x)
{
    const vm_instr *ins = &m->instrs[k];
    if (ins->n_in > DV_MAX_OP_INPUTS)
        return NULL;
    for (uint32_t i = 0; i < ins->n_in; i++) {
        const vm_tensor *t = &m->tensors[ins->operands[i]];
        x->in[i] = (dv_tensor){(int32_t *)(uintptr_t)t->const_data, t->shape, NULL};
        x->shapes[i] = t->shape;
    }
    const dv_variant *v = dv_variant_find(ins->opcode, isa, &ins->attrs, ins->n_in, x->shapes);
    return dv_variant_packing_for(v, ins->n_in, vm_constant_inputs(m, ins));
}

/* Entry i, for instruction k, of an instruction set this CPU has: DETVM_OK, with *use set
 * when its bytes are to be used. */
static detvm_status check_entry(const detvm_module *m, uint32_t i, uint32_t k, uint32_t isa,
                                uint32_t layout, const uint8_t *bytes, uint64_t len,
                                check_area *a, const dv_variant_packing **use, detvm_error *err)
{
    *use = NULL;
    const vm_instr *ins = &m->instrs[k];
    vm_instr_inputs x;
    const dv_variant_packing *pk = vm_instr_packing(m, k, isa, &x);
    if (!pk || pk->variant->isa != isa || pk->layout != layout)
        return DETVM_OK;
    const uint64_t size = pk->packed_size(&ins->attrs, ins->n_in, x.shapes);
    if (size == 0 && len == 0)
        return DETVM_OK; /* nothing to pack for this instance: the session runs unpacked */
    if (size != len)
        return FAIL("entry %u (instruction %u): length %llu, but its packing makes %llu bytes", i,
                    k, (unsigned long long)len, (unsigned long long)size);
    if ((uintptr_t)bytes % 64 != 0)
        return DETVM_OK;
    if (size > a->cap) {
        free(a->block);
        a->area = aligned_zeroed(size, &a->block);
        a->cap = a->area ? size : 0;
        if (!a->area)
            return dv_fail(err, DETVM_ERUNTIME, "module: PACKS: out of memory to check entry %u",
                           i);
    } else {
        memset(a->area, 0, (size_t)size);
    }
    pk->pack(&ins->attrs, ins->n_in, x.in, a->area);
    if (memcmp(a->area, bytes, (size_t)size) != 0)
        return FAIL("entry %u (instruction %u): bytes differ from the packing of its constants",
                    i, k);
    *use = pk;
    return DETVM_OK;
}

/* Entry i's fields, checked against the section (`end`: where the previous blob ended). */
typedef struct {
    uint32_t instr, isa, layout;
    uint64_t offset, length;
} pack_entry;

static detvm_status read_entry(const detvm_module *m, const uint8_t *p, uint32_t len, uint32_t i,
                               uint64_t end, pack_entry *prev, pack_entry *e, detvm_error *err)
{
    const uint8_t *at = p + DVM_PACKS_HEADER_BYTES + (size_t)i * DVM_PACK_ENTRY_BYTES;
    *e = (pack_entry){dvm_u32(at), dvm_u32(at + 4), dvm_u32(at + 8), dvm_u64(at + 16),
                      dvm_u64(at + 24)};
    if (e->instr >= m->n_instrs)
        return FAIL("entry %u: instruction %u of %u", i, e->instr, m->n_instrs);
    if (e->isa == 0 || (e->isa & (e->isa - 1)) != 0)
        return FAIL("entry %u: isa %#x is not one instruction set", i, e->isa);
    if (dvm_u32(at + 12) != 0)
        return FAIL("entry %u: reserved field not 0", i);
    if (i > 0 && (e->instr < prev->instr || (e->instr == prev->instr && e->isa <= prev->isa)))
        return FAIL("entry %u: instruction %u, isa %#x out of order", i, e->instr, e->isa);
    if (e->offset % DVM_ALIGN != 0 || e->offset < end || e->offset > len ||
        e->length > len - e->offset)
        return FAIL("entry %u: offset %llu length %llu out of place", i,
                    (unsigned long long)e->offset, (unsigned long long)e->length);
    return DETVM_OK;
}

detvm_status vm_read_packs(detvm_module *m, const uint8_t *p, uint32_t len, detvm_error *err)
{
    if (!p)
        return DETVM_OK;
    if (len < DVM_PACKS_HEADER_BYTES)
        return FAIL("truncated");
    const uint32_t n = dvm_u32(p);
    if (dvm_u32(p + 4) != 0)
        return FAIL("reserved field not 0");
    if (n > (len - DVM_PACKS_HEADER_BYTES) / DVM_PACK_ENTRY_BYTES)
        return FAIL("count %u does not fit the section length %u", n, len);
    m->packs = calloc(n + 1, sizeof *m->packs);
    if (!m->packs)
        return dv_fail(err, DETVM_ERUNTIME, "module: PACKS: out of memory");
    m->n_pack_entries = n;
    const uint32_t cpu = dv_isa_detect();
    uint64_t end = DVM_PACKS_HEADER_BYTES + (uint64_t)n * DVM_PACK_ENTRY_BYTES;
    pack_entry prev = {0}, e;
    check_area area = {NULL, NULL, 0};
    detvm_status st = DETVM_OK;
    for (uint32_t i = 0; i < n && !st; i++, prev = e) {
        const dv_variant_packing *use = NULL;
        st = read_entry(m, p, len, i, end, &prev, &e, err);
        if (!st && (cpu & e.isa) == e.isa)
            st = check_entry(m, i, e.instr, e.isa, e.layout, p + e.offset, e.length, &area,
                             &use, err);
        if (!st && use) {
            m->packs[m->n_packs++] = (vm_pack){e.instr, use, p + e.offset};
            m->pack_bytes += e.length;
        }
        end = e.offset + e.length;
    }
    free(area.block);
    return st;
}

const void *vm_module_packed(const detvm_module *m, uint32_t k, const dv_variant_packing *packing)
{
    uint32_t lo = 0, hi = m->n_packs;
    while (lo < hi) { /* the first entry of instruction k or later */
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->packs[mid].instr < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < m->n_packs && m->packs[lo].instr == k; lo++)
        if (m->packs[lo].packing == packing)
            return m->packs[lo].bytes;
    return NULL;
}
