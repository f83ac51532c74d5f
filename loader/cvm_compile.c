/* Compiling a CVM model: the graph and params as the CVM runtime reads them, then one
 * instruction per operator node, the memory plan, and the module bytes. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "cvm_graph.h"
#include "ir.h"

static uint32_t element_bytes(int32_t precision) { return precision > 8 ? 4 : 1; }

/* The node's divergence warning, with its input shapes and precisions in view. */
static const char *divergence_of(const cvm_graph *g, const cvm_graph_node *n)
{
    dv_shape in_shape[DV_MAX_OP_INPUTS];
    int32_t in_prec[DV_MAX_OP_INPUTS];
    for (uint32_t j = 0; j < n->n_in; j++) {
        in_shape[j] = g->shape[cvm_entry_id(g, n->inputs[j])];
        in_prec[j] = g->precision[cvm_entry_id(g, n->inputs[j])];
    }
    cvm_node op = n->op;
    op.in_shape = in_shape;
    op.in_prec = in_prec;
    return n->def->divergence(&op);
}

/* The IR of a loaded graph: a tensor per entry, an instruction per op node. */
static detvm_status build_ir(const cvm_graph *g, const uint64_t *node_gas, ir_module *m,
                             detvm_error *err)
{
    m->n_tensors = g->n_entries;
    m->tensors = calloc(g->n_entries + 1, sizeof *m->tensors);
    m->instrs = calloc(g->n_nodes + 1, sizeof *m->instrs);
    if (!m->tensors || !m->instrs)
        return dv_fail(err, DETVM_ERUNTIME, "compile: out of memory");
    for (uint32_t nid = 0; nid < g->n_nodes; nid++) {
        const cvm_graph_node *n = &g->nodes[nid];
        for (uint32_t e = g->row_ptr[nid]; e < g->row_ptr[nid + 1]; e++) {
            ir_tensor *t = &m->tensors[e];
            t->shape = g->shape[e];
            t->precision = (uint8_t)g->precision[e];
            t->name = n->name;
            if (!n->is_op && nid != g->data_node) {
                t->storage = DVM_STORAGE_CONST;
                t->data = n->param;
            }
        }
        if (!n->is_op)
            continue;
        ir_instr *ins = &m->instrs[m->n_instrs++];
        ins->opcode = n->op.opcode;
        ins->n_in = n->n_in;
        ins->n_out = g->row_ptr[nid + 1] - g->row_ptr[nid];
        for (uint32_t j = 0; j < n->n_in; j++)
            ins->operands[j] = cvm_entry_id(g, n->inputs[j]);
        for (uint32_t o = 0; o < ins->n_out; o++)
            ins->operands[n->n_in + o] = g->row_ptr[nid] + o;
        ins->attrs = n->op.attr;
        ins->n_attrs = n->op.n_attr;
        ins->name = n->name;
        ins->gas = node_gas[nid];
        const char *diverges = n->def->divergence ? divergence_of(g, n) : NULL;
        if (diverges)
            ir_warn(m, "node %s (%s): %s", n->name, n->func_name, diverges);
    }
    if (m->n_instrs == 0)
        return dv_fail(err, DETVM_EINVALID, "graph: no operator nodes");
    if (g->n_heads > VM_MAX_OUTPUTS)
        return dv_fail(err, DETVM_EINVALID, "graph: %u heads, at most %u", g->n_heads,
                       VM_MAX_OUTPUTS);
    m->input = g->row_ptr[g->data_node];
    m->input_bytes = element_bytes(g->precision[m->input]);
    int32_t out_prec = 0;
    for (uint32_t i = 0; i < g->n_heads; i++) {
        m->outputs[i] = cvm_entry_id(g, g->heads[i]);
        if (m->tensors[m->outputs[i]].storage != DVM_STORAGE_ARENA || m->outputs[i] == m->input)
            return dv_fail(err, DETVM_EINVALID, "graph: heads[%u] is not an operator output", i);
        if (g->precision[m->outputs[i]] > out_prec)
            out_prec = g->precision[m->outputs[i]];
    }
    m->n_outputs = g->n_heads;
    m->postprocess = g->postprocess;
    m->source_version = g->version;
    m->output_bytes = element_bytes(out_prec);
    int argmax = strcmp(g->postprocess, "argmax") == 0;
    int detection = strcmp(g->postprocess, "detection") == 0;
    if (argmax || detection)
        m->output_bytes = 4;
    if (detection) {
        /* the runtime writes every row of the first output but sizes its buffer by the
         * second-to-last dimension alone: refuse shapes where the two differ */
        const dv_shape *s = &m->tensors[m->outputs[0]].shape;
        if (s->ndim < 2 || dv_shape_size(s) / s->dim[s->ndim - 1] != s->dim[s->ndim - 2])
            return dv_fail(err, DETVM_EINVALID,
                           "graph: detection output 0 must be [.., rows, columns] with leading "
                           "dimensions of 1 (the CVM runtime overruns its buffer otherwise)");
    }
    m->source_format = DVM_SOURCE_CVM;
    return DETVM_OK;
}

detvm_status detvm_compile_cvm(const char *json, size_t json_len, const uint8_t *params,
                               size_t params_len, uint8_t **module, size_t *module_len,
                               detvm_error *err)
{
    return ir_compile_cvm(json, json_len, params, params_len, NULL, module, module_len, err);
}

detvm_status ir_compile_cvm(const char *json, size_t json_len, const uint8_t *params,
                            size_t params_len, const detvm_compile_options *options,
                            uint8_t **module, size_t *module_len, detvm_error *err)
{
    *module = NULL;
    *module_len = 0;
    if (!json)
        return dv_fail(err, DETVM_EINVALID, "graph: no JSON given");
    cvm_graph g;
    ir_module m;
    memset(&m, 0, sizeof m);
    m.rounding = -1;
    m.pack_isa = ir_pack_isa(options);
    uint64_t *node_gas = NULL;
    int32_t *fused_attrs = NULL;
    detvm_status st = cvm_graph_load(json, json_len, &g, err);
    if (!st)
        st = cvm_graph_load_params(&g, params, params_len, err);
    if (!st && !(node_gas = calloc(g.n_nodes + 1, sizeof *node_gas)))
        st = dv_fail(err, DETVM_ERUNTIME, "compile: out of memory");
    if (!st)
        st = cvm_graph_storage_size(&g, &m.storage_size, err);
    if (!st)
        st = cvm_graph_gas(&g, &m.gas, node_gas, err);
    if (!st)
        st = build_ir(&g, node_gas, &m, err);
    if (!st)
        st = ir_fuse_cvm(&m, &fused_attrs, err);
    if (!st) {
        ir_choose_storage(&m);
        st = ir_plan_memory(&m, err);
    }
    if (!st) {
        crypto_generichash_state h;
        crypto_generichash_init(&h, NULL, 0, sizeof m.source_hash);
        crypto_generichash_update(&h, (const unsigned char *)json, json_len);
        crypto_generichash_update(&h, params, params_len);
        crypto_generichash_final(&h, m.source_hash, sizeof m.source_hash);
        st = ir_emit(&m, module, module_len, err);
    }
    free(m.tensors);
    free(m.instrs);
    free(node_gas);
    free(fused_attrs);
    cvm_graph_free(&g);
    return st;
}

detvm_status detvm_cvm_gas_from_json(const char *json, size_t json_len, uint64_t *gas,
                                     detvm_error *err)
{
    cvm_graph g;
    detvm_status st = cvm_graph_load(json, json_len, &g, err);
    if (!st)
        st = cvm_graph_gas(&g, gas, NULL, err);
    cvm_graph_free(&g);
    return st;
}
