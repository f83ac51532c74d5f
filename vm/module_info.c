/* Describing a loaded module to its user. */
#include <stdio.h>
#include <string.h>

#include "../ops/quant.h"
#include "error.h"
#include "module.h"
#include "module_format.h"
#include "session.h"

detvm_status detvm_module_get_info(const detvm_module *m, detvm_module_info *info)
{
    memset(info, 0, sizeof *info);
    const vm_tensor *in = &m->tensors[m->input];
    info->input_len = dv_shape_size(&in->shape) * m->input_bytes;
    info->output_len = vm_output_length(m);
    info->input_type_size = m->input_bytes;
    info->output_type_size = strcmp(m->postprocess, "separate") == 0
                                 ? dvm_dtype_bytes(m->tensors[m->outputs[0]].dtype)
                                 : m->output_bytes;
    info->gas = m->gas;
    info->storage_size = m->storage_size;
    info->arena_bytes = m->arena_bytes + m->scratch_bytes;
    info->n_instructions = m->n_instrs;
    info->n_outputs = m->n_outputs;
    info->postprocess = strcmp(m->postprocess, "argmax") == 0      ? DETVM_POST_ARGMAX
                        : strcmp(m->postprocess, "detection") == 0 ? DETVM_POST_DETECTION
                                                                   : DETVM_POST_NONE;
    memcpy(info->version, m->source_version, sizeof info->version);
    memcpy(info->postprocess_name, m->postprocess, sizeof info->postprocess_name);
    strcpy(info->source_format, m->source_format == DVM_SOURCE_CVM      ? "cvm"
                                : m->source_format == DVM_SOURCE_TFLITE ? "tflite"
                                : m->source_format == DVM_SOURCE_KMODEL ? "kmodel"
                                                                        : "unknown");
    strcpy(info->rounding, m->rounding == DV_ROUND_DOUBLE   ? "double"
                           : m->rounding == DV_ROUND_SINGLE ? "single"
                                                            : "");
    info->n_segments = m->n_segments;
    uint32_t seen = 0;
    for (uint32_t k = 0; k < m->n_segments; k++) {
        uint32_t first, count, kind;
        vm_segment(m, k, &first, &count, &kind);
        info->segment_instructions += count;
        const hal_device *device = hal_device_of_kind(kind);
        size_t used = strlen(info->segment_devices);
        if (!(seen & (1u << kind)) && used + 18 < sizeof info->segment_devices)
            snprintf(info->segment_devices + used, sizeof info->segment_devices - used, "%s%s",
                     used ? "," : "", device ? device->name : "unknown");
        seen |= 1u << kind;
    }
    info->n_packs = m->n_pack_entries;
    info->n_packs_used = m->n_packs;
    info->packed_bytes = m->pack_bytes;
    return DETVM_OK;
}

detvm_status detvm_module_io(const detvm_module *m, int is_output, uint32_t k,
                             detvm_io_desc *io, detvm_error *err)
{
    memset(io, 0, sizeof *io);
    if (is_output ? k >= m->n_outputs : k != 0)
        return dv_fail(err, DETVM_EINVALID, "%s %u out of range", is_output ? "output" : "input",
                       k);
    io->tensor = is_output ? m->outputs[k] : m->input;
    const vm_tensor *t = &m->tensors[io->tensor];
    io->dtype = (detvm_dtype)t->dtype;
    io->count = dv_shape_size(&t->shape);
    io->element_bytes = is_output ? (t->dtype == DVM_DTYPE_INT32 ? m->output_bytes
                                                                 : dvm_dtype_bytes(t->dtype))
                                  : m->input_bytes;
    if (!is_output) {
        io->bytes = io->count * io->element_bytes;
    } else if (strcmp(m->postprocess, "separate") == 0) {
        for (uint32_t j = 0; j < k; j++)
            io->offset += vm_output_part_length(m, j);
        io->bytes = vm_output_part_length(m, k);
    } else {
        io->bytes = vm_output_length(m);
    }
    if (m->has_io_quant) {
        const vm_io_quant *q = &m->io_quant[is_output ? 1 + k : 0];
        io->quantized = 1;
        io->scale = q->scale;
        io->zero_point = q->zero_point;
        io->float_in_source = (q->flags & DVM_IO_FLOAT_IN_SOURCE) != 0;
    }
    return DETVM_OK;
}

detvm_status detvm_module_tensor(const detvm_module *m, uint32_t id, detvm_tensor_desc *out,
                                 detvm_error *err)
{
    if (id >= m->n_tensors)
        return dv_fail(err, DETVM_EINVALID, "tensor %u out of range (%u tensors)", id,
                       m->n_tensors);
    const vm_tensor *t = &m->tensors[id];
    memset(out, 0, sizeof *out);
    out->id = id;
    out->ndim = t->shape.ndim;
    memcpy(out->dim, t->shape.dim, sizeof out->dim);
    out->precision = t->precision;
    out->is_constant = t->storage == DVM_STORAGE_CONST;
    out->offset = t->offset;
    out->name = t->name;
    out->element_bytes = t->elem_bytes;
    return DETVM_OK;
}

detvm_status detvm_module_layer(const detvm_module *m, uint32_t index, detvm_layer_desc *out,
                                detvm_error *err)
{
    if (index >= m->n_instrs)
        return dv_fail(err, DETVM_EINVALID, "layer %u out of range (%u layers)", index,
                       m->n_instrs);
    const vm_instr *ins = &m->instrs[index];
    memset(out, 0, sizeof *out);
    out->index = index;
    out->opcode = ins->opcode;
    out->op = ins->op->name;
    out->name = ins->name;
    out->n_inputs = ins->n_in;
    out->n_outputs = ins->n_out;
    out->tensors = ins->operands;
    out->attrs = ins->attrs.v;
    out->n_attrs = ins->attrs.n;
    out->gas = m->layer_gas ? dvm_u64(m->layer_gas + 8ull * index) : 0;
    for (uint32_t j = 0; j < ins->n_in; j++) {
        const vm_tensor *t = &m->tensors[ins->operands[j]];
        if (t->storage == DVM_STORAGE_CONST)
            out->param_bytes += dv_shape_size(&t->shape) * 4;
    }
    return DETVM_OK;
}

uint32_t detvm_module_input(const detvm_module *m) { return m->input; }

uint32_t detvm_module_output(const detvm_module *m, uint32_t k)
{
    return k < m->n_outputs ? m->outputs[k] : UINT32_MAX;
}

const char *detvm_module_warning(const detvm_module *m, uint32_t i)
{
    uint32_t pos = 0;
    while (pos < m->warnings_len) {
        if (i == 0)
            return m->warnings + pos;
        pos += (uint32_t)strlen(m->warnings + pos) + 1;
        i--;
    }
    return NULL;
}
