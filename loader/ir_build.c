/* Building the IR incrementally (ir_build.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/module_format.h"
#include "ir_build.h"

void *ir_own(ir_builder *b, void *p)
{
    if (!p)
        return NULL;
    if (b->n_owned == b->owned_cap) {
        uint32_t cap = b->owned_cap ? 2 * b->owned_cap : 64;
        void **grown = realloc(b->owned, cap * sizeof *grown);
        if (!grown) {
            free(p);
            return NULL;
        }
        b->owned = grown;
        b->owned_cap = cap;
    }
    return b->owned[b->n_owned++] = p;
}

ir_tensor *ir_new_tensor(ir_builder *b, uint32_t *index)
{
    ir_module *m = b->ir;
    if (m->n_tensors == b->tensor_cap) {
        uint32_t cap = b->tensor_cap ? 2 * b->tensor_cap : 64;
        ir_tensor *t = realloc(m->tensors, cap * sizeof *t);
        if (t)
            m->tensors = t;
        uint8_t *w = realloc(b->written, cap);
        if (w)
            b->written = w;
        if (!t || !w)
            return NULL;
        b->tensor_cap = cap;
    }
    *index = m->n_tensors;
    b->written[m->n_tensors] = 0;
    ir_tensor *t = &m->tensors[m->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = "";
    return t;
}

int ir_new_constant(ir_builder *b, const dv_shape *shape, const int32_t *values,
                    uint32_t *index)
{
    uint64_t n = dv_shape_size(shape);
    int32_t *v = ir_own(b, malloc(n * sizeof *v));
    ir_tensor *t = v ? ir_new_tensor(b, index) : NULL;
    if (!t)
        return -1;
    memcpy(v, values, n * sizeof *v);
    t->shape = *shape;
    t->dtype = DVM_DTYPE_INT32;
    t->precision = 32;
    t->storage = DVM_STORAGE_CONST;
    t->data = v;
    return 0;
}

int ir_new_temporary(ir_builder *b, const dv_shape *shape, uint32_t *index)
{
    ir_tensor *t = ir_new_tensor(b, index);
    if (!t)
        return -1;
    t->shape = *shape;
    t->dtype = DVM_DTYPE_INT32;
    t->precision = 32;
    return 0;
}

static void format_shape(const dv_shape *s, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < s->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%u" : "%u", s->dim[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

const char *ir_append(ir_builder *b, uint32_t opcode, uint32_t n_in, const uint32_t *in,
                      uint32_t n_out, const uint32_t *out, const int32_t *attrs,
                      uint32_t n_attrs, const char *name, char *why, size_t why_cap)
{
    const dv_op_info *info = dv_op_lookup(opcode);
    if (!info || n_in < info->min_inputs || n_in > info->max_inputs || n_out != info->n_outputs) {
        snprintf(why, why_cap, "internal: opcode %u with %u inputs", opcode, n_in);
        return why;
    }
    ir_module *m = b->ir;
    dv_shape in_shape[DV_MAX_OP_INPUTS], out_shape[DV_MAX_OP_OUTPUTS];
    for (uint32_t i = 0; i < n_in; i++) {
        const ir_tensor *t = &m->tensors[in[i]];
        if (t->storage == DVM_STORAGE_ARENA && !b->written[in[i]] && in[i] != m->input) {
            snprintf(why, why_cap, "input %u (%s) is read before any operator writes it", i,
                     t->name);
            return why;
        }
        in_shape[i] = t->shape;
    }
    dv_attrs a = {attrs, n_attrs};
    const char *reason = info->infer(&a, n_in, in_shape, n_out, out_shape);
    if (reason) {
        snprintf(why, why_cap, "%s", reason);
        return why;
    }
    for (uint32_t o = 0; o < n_out; o++) {
        const ir_tensor *t = &m->tensors[out[o]];
        if (t->storage != DVM_STORAGE_ARENA || b->written[out[o]] || out[o] == m->input) {
            snprintf(why, why_cap, "output %u (%s) is a constant, the input or written twice", o,
                     t->name);
            return why;
        }
        if (!dv_shape_equal(&t->shape, &out_shape[o])) {
            char want[64], got[64];
            format_shape(&t->shape, want, sizeof want);
            format_shape(&out_shape[o], got, sizeof got);
            snprintf(why, why_cap, "output %u (%s): the file says %s, the op gives %s", o,
                     t->name, want, got);
            return why;
        }
    }
    if (m->n_instrs == b->instr_cap) {
        uint32_t cap = b->instr_cap ? 2 * b->instr_cap : 64;
        ir_instr *grown = realloc(m->instrs, cap * sizeof *grown);
        if (!grown)
            return "out of memory";
        m->instrs = grown;
        b->instr_cap = cap;
    }
    int32_t *attr_copy = NULL;
    if (n_attrs && !(attr_copy = ir_own(b, malloc(n_attrs * sizeof *attr_copy))))
        return "out of memory";
    if (n_attrs)
        memcpy(attr_copy, attrs, n_attrs * sizeof *attr_copy);
    ir_instr *ins = &m->instrs[m->n_instrs++];
    memset(ins, 0, sizeof *ins);
    ins->opcode = opcode;
    ins->n_in = n_in;
    ins->n_out = n_out;
    for (uint32_t i = 0; i < n_in; i++)
        ins->operands[i] = in[i];
    for (uint32_t o = 0; o < n_out; o++)
        ins->operands[n_in + o] = out[o];
    ins->attrs = attr_copy;
    ins->n_attrs = n_attrs;
    ins->name = name;
    for (uint32_t o = 0; o < n_out; o++)
        b->written[out[o]] = 1;
    return NULL;
}

void ir_builder_free(ir_builder *b)
{
    for (uint32_t i = 0; i < b->n_owned; i++)
        free(b->owned[i]);
    free(b->owned);
    free(b->written);
    free(b->ir->tensors);
    free(b->ir->instrs);
    free(b->ir->segments);
    b->ir->tensors = NULL;
    b->ir->instrs = NULL;
    b->ir->segments = NULL;
}
