/* Describing a loaded module to its user. */
#include <string.h>

#include "module.h"
#include "session.h"

detvm_status detvm_module_get_info(const detvm_module *m, detvm_module_info *info)
{
    memset(info, 0, sizeof *info);
    const vm_tensor *in = &m->tensors[m->input];
    info->input_len = dv_shape_size(&in->shape) * m->input_bytes;
    info->output_len = vm_output_length(m);
    info->input_type_size = m->input_bytes;
    info->output_type_size = m->output_bytes;
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
    return DETVM_OK;
}
