/* The fusion pass for CVM graphs: an op, the CVM_RIGHT_SHIFT that rescales its output, and the
 * activation after it become one instruction (ops/nn.c, "the fused ops").
 *
 * The chains it joins, each link being the only reader of the tensor before it:
 *
 *     CONV2D        -> CVM_RIGHT_SHIFT [-> RELU | CLIP | CVM_CLIP]   =>  CONV2D_SHIFT
 *     DENSE         -> CVM_RIGHT_SHIFT [-> RELU | CLIP | CVM_CLIP]   =>  DENSE_SHIFT
 *     ELEMWISE_ADD  -> CVM_RIGHT_SHIFT [-> RELU | CLIP | CVM_CLIP]   =>  ELEMWISE_ADD_SHIFT
 *
 * and then, on the result of those:
 *
 *     CONV2D_SHIFT  -> MAX_POOL2D                                     =>  CONV2D_SHIFT_MAX_POOL
 *
 * (the stem of ResNet: its variants compute the conv rows a few pool rows need into scratch
 * and pool them there, so the conv output never goes through memory).
 *
 * A link is taken only when the tensor between the two ops has exactly one reader (one operand
 * of one instruction) and is not a model output, so no other instruction and no caller ever sees
 * the intermediate values that fusion leaves unwritten. A chain is fused only when its output
 * (for the pool, the conv's output) has at least FUSE_MIN_ELEMENTS elements: fusion saves a
 * pass over the intermediate tensors and an instruction's dispatch, which below that size is
 * lost in the noise, while an unfused chain keeps one instruction per CVM node, which traces,
 * step proofs and audits report more plainly (a dense layer's 1000 outputs stay unfused). The
 * fused instruction takes the first op's place: the shift and the activation read nothing but
 * the chain, so every input it has is ready there. It writes the last link's output tensor,
 * keeps the first op's name, and carries the sum of the links' gas (DVM_META_LAYER_GAS), so
 * the per-layer gas still adds up to the model's. The intermediate tensors are dropped from the
 * tensor table.
 *
 * The fused op's reference kernel runs the unfused ops' reference kernels in turn, so a fused
 * module gives the unfused one's bytes; its gas and storage size come from the graph, before
 * this pass. */
#include <stdlib.h>
#include <string.h>

#include "../ops/nn.h"
#include "../ops/nn_attrs.h"
#include "../vm/error.h"
#include "ir.h"

/* The most attributes one fusion writes; each fusion drops at least one instruction, so
 * n_instrs times this bounds the attribute pool. */
#define MAX_FUSED_ATTRS (CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS)
#define FUSE_MIN_ELEMENTS 4096

typedef struct {
    uint32_t readers;           /* operands that read it, over all instructions */
    uint32_t reader;            /* the instruction of the last such operand */
    int pinned;                 /* the input or a model output */
} tensor_use;

/* The instruction that alone reads tensor t, as operand 0 of `opcode`, or UINT32_MAX. */
static uint32_t only_reader(const ir_module *m, const tensor_use *use, uint32_t t)
{
    if (use[t].readers != 1 || use[t].pinned)
        return UINT32_MAX;
    const ir_instr *r = &m->instrs[use[t].reader];
    return r->n_out == 1 && r->operands[0] == t ? use[t].reader : UINT32_MAX;
}

/* The fused opcode for a chain that starts with `ins`, or 0. */
static uint32_t fused_opcode(const ir_instr *ins)
{
    if (ins->n_out != 1)
        return 0;
    switch (ins->opcode) {
    case DV_OP_CONV2D: return ins->n_attrs == CONV_N_ATTRS ? DV_OP_CONV2D_SHIFT : 0;
    case DV_OP_DENSE: return ins->n_attrs == DENSE_N_ATTRS ? DV_OP_DENSE_SHIFT : 0;
    case DV_OP_ELEMWISE_ADD: return ins->n_attrs == 0 ? DV_OP_ELEMWISE_ADD_SHIFT : 0;
    default: return 0;
    }
}

static int is_activation(const ir_instr *ins)
{
    return ins->n_in == 1 &&
           ((ins->opcode == DV_OP_RELU && ins->n_attrs == 0) ||
            (ins->opcode == DV_OP_CLIP && ins->n_attrs == 2) ||
            (ins->opcode == DV_OP_CVM_CLIP && ins->n_attrs == 1));
}

/* The fused instruction's shapes check out (they do for any graph the CVM loader accepted; the
 * check keeps the pass from ever writing an instruction the module validator refuses). */
static int fused_infers(const ir_module *m, const ir_instr *fused)
{
    const dv_op_info *op = dv_op_lookup(fused->opcode);
    dv_shape in[DV_MAX_OP_INPUTS], out;
    for (uint32_t j = 0; j < fused->n_in; j++)
        in[j] = m->tensors[fused->operands[j]].shape;
    dv_attrs attrs = {fused->attrs, fused->n_attrs};
    return op && op->infer(&attrs, fused->n_in, in, 1, &out) == NULL &&
           dv_shape_equal(&out, &m->tensors[fused->operands[fused->n_in]].shape);
}

/* Drops the instructions marked in `gone` and the tensors marked in `dead`, renumbering the
 * tensors that stay. */
static detvm_status compact(ir_module *m, const uint8_t *gone, const uint8_t *dead,
                            detvm_error *err)
{
    uint32_t *renumber = calloc((size_t)m->n_tensors + 1, sizeof *renumber);
    if (!renumber)
        return dv_fail(err, DETVM_ERUNTIME, "fuse: out of memory");
    uint32_t kept = 0;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        renumber[t] = kept;
        if (!dead[t])
            m->tensors[kept++] = m->tensors[t];
    }
    m->n_tensors = kept;
    uint32_t n = 0;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        if (gone[k])
            continue;
        ir_instr *ins = &m->instrs[n++];
        *ins = m->instrs[k];
        for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++)
            ins->operands[j] = renumber[ins->operands[j]];
    }
    m->n_instrs = n;
    m->input = renumber[m->input];
    for (uint32_t i = 0; i < m->n_outputs; i++)
        m->outputs[i] = renumber[m->outputs[i]];
    free(renumber);
    return DETVM_OK;
}

detvm_status ir_fuse_cvm(ir_module *m, int32_t **attr_pool, detvm_error *err)
{
    *attr_pool = NULL;
    tensor_use *use = calloc((size_t)m->n_tensors + 1, sizeof *use);
    uint8_t *gone = calloc((size_t)m->n_instrs + 1, 1);
    uint8_t *dead = calloc((size_t)m->n_tensors + 1, 1);
    int32_t *pool = calloc((size_t)m->n_instrs * MAX_FUSED_ATTRS + 1, sizeof *pool);
    detvm_status st = DETVM_OK;
    if (!use || !gone || !dead || !pool) {
        st = dv_fail(err, DETVM_ERUNTIME, "fuse: out of memory");
        goto done;
    }
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const ir_instr *ins = &m->instrs[k];
        for (uint32_t j = 0; j < ins->n_in; j++) {
            use[ins->operands[j]].readers++;
            use[ins->operands[j]].reader = k;
        }
    }
    use[m->input].pinned = 1;
    for (uint32_t i = 0; i < m->n_outputs; i++)
        use[m->outputs[i]].pinned = 1;

    int32_t *next_attrs = pool;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        ir_instr *first = &m->instrs[k];
        const uint32_t fused_op = fused_opcode(first);
        if (gone[k] || !fused_op)
            continue;
        const uint32_t t0 = first->operands[first->n_in];
        if (dv_shape_size(&m->tensors[t0].shape) < FUSE_MIN_ELEMENTS)
            continue;
        const uint32_t s = only_reader(m, use, t0);
        if (s == UINT32_MAX || m->instrs[s].opcode != DV_OP_CVM_RIGHT_SHIFT ||
            m->instrs[s].n_in != 1 || m->instrs[s].n_attrs != 2)
            continue;
        const ir_instr *shift = &m->instrs[s];
        const uint32_t t1 = shift->operands[1];
        uint32_t a = only_reader(m, use, t1);
        if (a != UINT32_MAX && !is_activation(&m->instrs[a]))
            a = UINT32_MAX;

        int32_t *attrs = next_attrs;
        const uint32_t n_own = first->n_attrs;
        if (n_own)
            memcpy(attrs, first->attrs, n_own * sizeof *attrs);
        int32_t *e = attrs + n_own;
        memset(e, 0, EPI_N_ATTRS * sizeof *e);
        e[EPI_PRECISION] = shift->attrs[0];
        e[EPI_SHIFT_BIT] = shift->attrs[1];
        if (a != UINT32_MAX) {
            const ir_instr *act = &m->instrs[a];
            e[EPI_ACT] = (int32_t)act->opcode;
            for (uint32_t i = 0; i < act->n_attrs; i++)
                e[EPI_ACT_A + i] = act->attrs[i];
        }
        ir_instr fused = *first;
        fused.opcode = fused_op;
        fused.attrs = attrs;
        fused.n_attrs = n_own + EPI_N_ATTRS;
        fused.operands[fused.n_in] = a != UINT32_MAX ? m->instrs[a].operands[1] : t1;
        fused.gas = first->gas + shift->gas + (a != UINT32_MAX ? m->instrs[a].gas : 0);
        if (!dv_epilogue_valid(e) || !fused_infers(m, &fused))
            continue;
        next_attrs += fused.n_attrs;
        *first = fused;
        gone[s] = 1;
        dead[t0] = 1;
        if (a != UINT32_MAX) {
            gone[a] = 1;
            dead[t1] = 1;
        }
    }

    /* CONV2D_SHIFT -> MAX_POOL2D, the shift chains being fused above */
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        ir_instr *conv = &m->instrs[k];
        if (gone[k] || conv->opcode != DV_OP_CONV2D_SHIFT || conv->n_out != 1 ||
            conv->n_attrs != CONV_N_ATTRS + EPI_N_ATTRS)
            continue;
        const uint32_t t = conv->operands[conv->n_in];
        if (dv_shape_size(&m->tensors[t].shape) < FUSE_MIN_ELEMENTS)
            continue;
        const uint32_t p = only_reader(m, use, t);
        if (p == UINT32_MAX || m->instrs[p].opcode != DV_OP_MAX_POOL2D ||
            m->instrs[p].n_in != 1 || m->instrs[p].n_attrs != POOL_N_ATTRS)
            continue;
        const ir_instr *pool2d = &m->instrs[p];
        int32_t *attrs = next_attrs;
        memcpy(attrs, conv->attrs, conv->n_attrs * sizeof *attrs);
        memcpy(attrs + conv->n_attrs, pool2d->attrs, POOL_N_ATTRS * sizeof *attrs);
        ir_instr fused = *conv;
        fused.opcode = DV_OP_CONV2D_SHIFT_MAX_POOL;
        fused.attrs = attrs;
        fused.n_attrs = conv->n_attrs + POOL_N_ATTRS;
        fused.operands[fused.n_in] = pool2d->operands[1];
        fused.gas = conv->gas + pool2d->gas;
        if (!fused_infers(m, &fused))
            continue;
        next_attrs += fused.n_attrs;
        *conv = fused;
        gone[p] = 1;
        dead[t] = 1;
    }
    st = compact(m, gone, dead, err);
done:
    free(use);
    free(gone);
    free(dead);
    if (st == DETVM_OK)
        *attr_pool = pool;
    else
        free(pool);
    return st;
}
