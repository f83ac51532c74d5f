/* The memory plan: a tensor is live from the instruction that writes it (the input: from the
 * start) to the last instruction that reads it (a model output: to the end). Tensors are
 * placed first fit, in order of definition, at 64-byte aligned offsets, so a tensor never
 * overlaps another that is live at the same time; an instruction's outputs never share memory
 * with its inputs, because both are live at that instruction. */
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "ir.h"

typedef struct {
    uint64_t begin, end;        /* bytes */
    uint32_t last_use;
} block;

static uint64_t align_up(uint64_t v) { return (v + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN; }

/* First fit among the live blocks, which are kept sorted by address. */
static uint64_t place(block *live, uint32_t n_live, uint64_t bytes)
{
    uint64_t at = 0;
    for (uint32_t i = 0; i < n_live; i++) {
        if (live[i].begin >= at + bytes)
            return at;
        if (align_up(live[i].end) > at)
            at = align_up(live[i].end);
    }
    return at;
}

static void insert_sorted(block *live, uint32_t *n_live, block b)
{
    uint32_t i = *n_live;
    while (i > 0 && live[i - 1].begin > b.begin) {
        live[i] = live[i - 1];
        i--;
    }
    live[i] = b;
    (*n_live)++;
}

detvm_status ir_plan_memory(ir_module *m, detvm_error *err)
{
    uint32_t *last_use = calloc(m->n_tensors + 1, sizeof *last_use);
    block *live = calloc(m->n_tensors + 1, sizeof *live);
    if (!last_use || !live) {
        free(last_use);
        free(live);
        return dv_fail(err, DETVM_ERUNTIME, "memory plan: out of memory");
    }
    for (uint32_t k = 0; k < m->n_instrs; k++)
        for (uint32_t j = 0; j < m->instrs[k].n_in + m->instrs[k].n_out; j++)
            last_use[m->instrs[k].operands[j]] = k;
    for (uint32_t i = 0; i < m->n_outputs; i++)
        last_use[m->outputs[i]] = UINT32_MAX;

    uint32_t n_live = 0;
    uint64_t arena = 0, scratch = 0;
    block input = {0, dv_shape_size(&m->tensors[m->input].shape) * 4, last_use[m->input]};
    m->tensors[m->input].offset = 0;
    insert_sorted(live, &n_live, input);
    arena = input.end;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        ir_instr *ins = &m->instrs[k];
        for (uint32_t o = 0; o < ins->n_out; o++) {
            ir_tensor *t = &m->tensors[ins->operands[ins->n_in + o]];
            uint64_t bytes = dv_shape_size(&t->shape) * 4;
            block b = {place(live, n_live, bytes), 0, last_use[ins->operands[ins->n_in + o]]};
            b.end = b.begin + bytes;
            t->offset = b.begin;
            insert_sorted(live, &n_live, b);
            if (b.end > arena)
                arena = b.end;
        }
        const dv_op_info *info = dv_op_lookup(ins->opcode);
        if (info && info->scratch) {
            dv_shape in[DV_MAX_OP_INPUTS];
            for (uint32_t j = 0; j < ins->n_in; j++)
                in[j] = m->tensors[ins->operands[j]].shape;
            dv_attrs attrs = {ins->attrs, ins->n_attrs};
            uint64_t need = info->scratch(&attrs, ins->n_in, in) * 4;
            if (need > scratch)
                scratch = need;
        }
        /* free what this instruction read for the last time */
        uint32_t kept = 0;
        for (uint32_t i = 0; i < n_live; i++)
            if (live[i].last_use > k)
                live[kept++] = live[i];
        n_live = kept;
    }
    free(last_use);
    free(live);
    m->arena_bytes = align_up(arena);
    m->scratch_bytes = align_up(scratch);
    return DETVM_OK;
}
