/* Sessions and the run loop. Everything a run needs is allocated when the session is created;
 * a run itself allocates nothing. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "module_format.h"
#include "session.h"

static void resolve_tensors(detvm_session *s)
{
    const detvm_module *m = s->module;
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const vm_tensor *t = &m->tensors[i];
        s->tensors[i].shape = t->shape;
        /* constants are never written: kernels take inputs through const dv_tensor */
        s->tensors[i].data = t->storage == DVM_STORAGE_CONST
                                 ? (int32_t *)(uintptr_t)t->const_data
                                 : s->arena + t->offset / 4;
    }
}

static void resolve_steps(detvm_session *s)
{
    const detvm_module *m = s->module;
    dv_tensor *io = s->step_io;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const vm_instr *ins = &m->instrs[k];
        hal_step *st = &s->steps[k];
        st->op = ins->op;
        st->attrs = ins->attrs;
        st->n_in = ins->n_in;
        st->n_out = ins->n_out;
        st->in = io;
        for (uint32_t j = 0; j < ins->n_in + ins->n_out; j++)
            *io++ = s->tensors[ins->operands[j]];
        st->out = st->in + ins->n_in;
    }
}

detvm_status detvm_session_new(const detvm_module *m, detvm_session **out, detvm_error *err)
{
    *out = NULL;
    detvm_session *s = calloc(1, sizeof *s);
    if (!s)
        return dv_fail(err, DETVM_ERUNTIME, "session: out of memory");
    s->module = m;
    size_t n_io = 0;
    for (uint32_t k = 0; k < m->n_instrs; k++)
        n_io += m->instrs[k].n_in + m->instrs[k].n_out;
    /* calloc: the arena starts zeroed, so no uninitialised byte can ever reach an output */
    s->arena = calloc((size_t)((m->arena_bytes + m->scratch_bytes) / 4) + 1, sizeof(int32_t));
    s->tensors = calloc(m->n_tensors, sizeof *s->tensors);
    s->steps = calloc(m->n_instrs, sizeof *s->steps);
    s->step_io = calloc(n_io, sizeof *s->step_io);
    if (!s->arena || !s->tensors || !s->steps || !s->step_io) {
        detvm_session_free(s);
        return dv_fail(err, DETVM_ERUNTIME, "session: out of memory for a %llu-byte arena",
                       (unsigned long long)(m->arena_bytes + m->scratch_bytes));
    }
    resolve_tensors(s);
    resolve_steps(s);
    s->device = &hal_cpu;
    s->segment.steps = s->steps;
    s->segment.n_steps = m->n_instrs;
    s->segment.scratch = s->arena + m->arena_bytes / 4;
    if (s->device->prepare(&s->segment, &s->device_handle) != 0) {
        const char *device = s->device->name;
        detvm_session_free(s);
        return dv_fail(err, DETVM_ERUNTIME, "session: device %s could not prepare the segment",
                       device);
    }
    *out = s;
    return DETVM_OK;
}

void detvm_session_free(detvm_session *s)
{
    if (!s)
        return;
    if (s->device && s->device_handle)
        s->device->release(s->device_handle);
    free(s->arena);
    free(s->tensors);
    free(s->steps);
    free(s->step_io);
    free(s->trace_digests);
    free(s);
}

void detvm_session_set_hook(detvm_session *s, detvm_step_hook hook, void *user)
{
    s->hook = hook;
    s->hook_user = user;
}

static void view_of(const dv_tensor *t, uint32_t precision, detvm_tensor_view *v)
{
    memset(v, 0, sizeof *v);
    v->ndim = t->shape.ndim;
    memcpy(v->dim, t->shape.dim, sizeof v->dim);
    v->precision = precision;
    v->count = dv_shape_size(&t->shape);
    v->data = t->data;
}

static void describe_step(const detvm_session *s, uint32_t k, detvm_step *out)
{
    const vm_instr *ins = &s->module->instrs[k];
    memset(out, 0, sizeof *out);
    out->index = k;
    out->opcode = ins->opcode;
    out->op = ins->op->name;
    out->name = ins->name;
    out->n_outputs = ins->n_out;
    for (uint32_t o = 0; o < ins->n_out && o < 2; o++)
        view_of(&s->steps[k].out[o], s->module->tensors[ins->operands[ins->n_in + o]].precision,
                &out->outputs[o]);
}

/* The device's per-step callback: calls the user's hook and stops at last_step. */
static int after_step(void *user, uint32_t k)
{
    detvm_session *s = user;
    if (s->hook || s->trace_mode != DETVM_TRACE_OFF) {
        detvm_step step;
        describe_step(s, k, &step);
        if (s->trace_mode != DETVM_TRACE_OFF)
            vm_trace_step(s, k, &step);
        if (s->hook && s->hook(s->hook_user, &step)) {
            s->stopped = 1;
            s->stopped_at = k;
            return 1;
        }
    }
    return k >= s->last_step;
}

/* Copies the input bytes into the input tensor. A TFLite or kmodel input (dtype int8, uint8,
 * int16 or float32) is taken as elements of that type. A CVM input is taken as the CVM runtime does: int8 or
 * little-endian int32 elements, clamped to +-(2^(p-1) - 1) for the input's precision p. */
detvm_status vm_load_input(const detvm_module *m, const void *input, size_t len, int32_t *dst,
                           detvm_error *err)
{
    const vm_tensor *t = &m->tensors[m->input];
    uint64_t n = dv_shape_size(&t->shape);
    if (!input || len != n * m->input_bytes)
        return dv_fail(err, DETVM_EINVALID, "input: %zu bytes given, the model takes %llu", len,
                       (unsigned long long)(n * m->input_bytes));
    const int64_t range = ((int64_t)1 << (t->precision - 1)) - 1;
    const uint8_t *in = input;
    switch (t->dtype) {
    case DVM_DTYPE_INT8:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = (int8_t)in[i];
        break;
    case DVM_DTYPE_UINT8:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = in[i];
        break;
    case DVM_DTYPE_INT16:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = (int16_t)dvm_u16(in + 2 * i);
        break;
    case DVM_DTYPE_FLOAT32: /* the bits, as they are */
        for (uint64_t i = 0; i < n; i++)
            dst[i] = dvm_i32(in + 4 * i);
        break;
    default:
        for (uint64_t i = 0; i < n; i++) {
            int64_t v = m->input_bytes == 1 ? (int8_t)in[i] : dvm_i32(in + 4 * i);
            dst[i] = (int32_t)(v > range ? range : v < -range ? -range : v);
        }
    }
    return DETVM_OK;
}

static detvm_status run_steps(detvm_session *s, const void *input, size_t input_len,
                              uint32_t last_step, detvm_error *err)
{
    detvm_status st = vm_load_input(s->module, input, input_len,
                                    s->tensors[s->module->input].data, err);
    if (st)
        return st;
    s->last_step = last_step;
    s->stopped = 0;
    s->trace_complete = 0;
    s->segment.after_step = after_step;
    s->segment.hook_user = s;
    void *tag = NULL;
    if (s->device->submit(s->device_handle, s) != 0 ||
        s->device->wait(s->device_handle, &tag) != 0 || tag != s)
        return dv_fail(err, DETVM_ERUNTIME, "run: device %s failed", s->device->name);
    if (s->stopped)
        return dv_fail(err, DETVM_ERUNTIME, "run: stopped by the step hook after instruction %u",
                       s->stopped_at);
    s->trace_complete = last_step == s->module->n_instrs - 1;
    return DETVM_OK;
}

detvm_status detvm_run(detvm_session *s, const void *input, size_t input_len, void *output,
                       size_t output_len, detvm_error *err)
{
    uint64_t need = vm_output_length(s->module);
    if (!output || output_len != need)
        return dv_fail(err, DETVM_EINVALID, "output: buffer of %zu bytes, the model writes %llu",
                       output_len, (unsigned long long)need);
    detvm_status st = run_steps(s, input, input_len, s->module->n_instrs - 1, err);
    if (st)
        return st;
    return vm_output_write(s->module, s->tensors, output, err);
}

detvm_status detvm_run_until(detvm_session *s, const void *input, size_t input_len,
                             uint32_t last_step, detvm_step *step, detvm_error *err)
{
    if (last_step >= s->module->n_instrs)
        return dv_fail(err, DETVM_EINVALID, "run: step %u out of range (the module has %u)",
                       last_step, s->module->n_instrs);
    detvm_status st = run_steps(s, input, input_len, last_step, err);
    if (st)
        return st;
    describe_step(s, last_step, step);
    return DETVM_OK;
}
