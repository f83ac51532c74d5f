/* The storage pass: which activations the arena holds as int8.
 *
 * An activation whose precision is at most 8 bits holds values in [-128, 127] (TFLite int8
 * tensors; CVM tensors whose precision inference bounds them by 127), so one byte per element
 * holds it exactly, and kernels move a quarter of the bytes. The module's input and outputs stay
 * int32, since they are what callers read and write, and so do the operands of device segments,
 * since devices compute on int32 images. Kernels without an int8 path get their operands widened
 * and narrowed by the CPU device (hal/cpu.c), so the choice never changes a result. */
#include "../vm/module_format.h"
#include "ir.h"

static int is_output(const ir_module *m, uint32_t t)
{
    for (uint32_t i = 0; i < m->n_outputs; i++)
        if (m->outputs[i] == t)
            return 1;
    return 0;
}

static int in_device_segment(const ir_module *m, uint32_t t)
{
    for (uint32_t s = 0; s < m->n_segments; s++) {
        const uint32_t first = m->segments[3 * s], count = m->segments[3 * s + 1];
        for (uint32_t k = first; k < first + count; k++) {
            const ir_instr *ins = &m->instrs[k];
            for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++)
                if (ins->operands[j] == t)
                    return 1;
        }
    }
    return 0;
}

void ir_choose_storage(ir_module *m)
{
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        ir_tensor *it = &m->tensors[t];
        if (it->storage == DVM_STORAGE_ARENA && it->precision <= 8 &&
            it->dtype != DVM_DTYPE_FLOAT32 && t != m->input && !is_output(m, t) &&
            !in_device_segment(m, t))
            it->storage = DVM_STORAGE_ARENA_INT8;
    }
}
