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
        if (t->storage == DVM_STORAGE_CONST)
            s->tensors[i].data = (int32_t *)(uintptr_t)t->const_data;
        else if (t->elem_bytes == 1)
            s->tensors[i].i8 = (int8_t *)s->arena + t->offset;
        else
            s->tensors[i].data = s->arena + t->offset / 4;
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

/* Whether the step's kernel takes its int8 operands as they are. */
static int takes_int8(const hal_step *st)
{
    return st->variant && (st->variant->flags & DV_VARIANT_INT8);
}

static void free_staging(detvm_session *s)
{
    free(s->staged);
    free(s->staging);
    free(s->views);
    s->staged = NULL;
    s->staging = s->views = NULL;
    s->view_len = 0;
}

/* Stages the int8 operands of every step whose kernel takes int32 only: each gets an int32
 * region of the staging buffer (the regions of one step are disjoint; steps share the buffer),
 * and the step's operand list points at it. Also sizes the views of int8 outputs. */
detvm_status vm_session_stage(detvm_session *s, detvm_error *err)
{
    const detvm_module *m = s->module;
    free_staging(s);
    resolve_steps(s);
    uint32_t n_staged = 0;
    uint64_t need = 0;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        hal_step *st = &s->steps[k];
        st->staged = NULL; /* free_staging freed what an earlier choice staged */
        st->n_staged = 0;
        uint64_t step_need = 0;
        for (uint32_t j = 0; j < st->n_in + st->n_out; j++) {
            const dv_tensor *t = &st->in[j];
            if (!t->i8)
                continue;
            if (j >= st->n_in && dv_shape_size(&t->shape) > s->view_len)
                s->view_len = dv_shape_size(&t->shape);
            if (!takes_int8(st)) {
                n_staged++;
                step_need += dv_shape_size(&t->shape);
            }
        }
        if (step_need > need)
            need = step_need;
    }
    if (!n_staged && !s->view_len)
        return DETVM_OK;
    s->staged = calloc(n_staged + 1, sizeof *s->staged);
    s->staging = calloc((size_t)need + 1, sizeof *s->staging);
    s->views = calloc((size_t)(s->view_len * DV_MAX_OP_OUTPUTS) + 1, sizeof *s->views);
    if (!s->staged || !s->staging || !s->views)
        return dv_fail(err, DETVM_ERUNTIME, "session: out of memory for int8 staging");
    hal_staged *g = s->staged;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        hal_step *st = &s->steps[k];
        if (takes_int8(st))
            continue;
        int32_t *at = s->staging;
        st->staged = g;
        for (uint32_t j = 0; j < st->n_in + st->n_out; j++) {
            dv_tensor *t = &st->in[j];
            if (!t->i8)
                continue;
            g->stored = *t;
            g->is_output = j >= st->n_in;
            t->data = at;
            t->i8 = NULL;
            g->wide = *t;
            at += dv_shape_size(&t->shape);
            g++;
        }
        st->n_staged = (uint32_t)(g - st->staged);
    }
    return DETVM_OK;
}

/* Whether DETVM_DEVICES (a comma-separated list of device names; unset means every device)
 * lets the session use `device`. "DETVM_DEVICES=cpu" runs everything on the CPU. */
static int device_allowed(const hal_device *device)
{
    const char *list = getenv("DETVM_DEVICES");
    if (!list)
        return 1;
    size_t n = strlen(device->name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, device->name, n) == 0)
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

/* The device of each step: the device its module segment names, when this build has it, it is
 * allowed and present, and it takes every instruction of the segment; else the CPU. */
static void choose_devices(const detvm_module *m, const hal_device **device_of)
{
    for (uint32_t k = 0; k < m->n_instrs; k++)
        device_of[k] = &hal_cpu;
    for (uint32_t i = 0; i < m->n_segments; i++) {
        uint32_t first, count, kind;
        vm_segment(m, i, &first, &count, &kind);
        const hal_device *device = hal_device_of_kind(kind);
        if (!device || !device_allowed(device) || device->probe() != 0)
            continue;
        uint32_t k = first;
        while (k < first + count && device->supports(m->instrs[k].opcode))
            k++;
        if (k < first + count)
            continue;
        for (k = first; k < first + count; k++)
            device_of[k] = device;
    }
}

/* Groups the steps into runs on one device and prepares each run. */
static detvm_status prepare_segments(detvm_session *s, detvm_error *err)
{
    const detvm_module *m = s->module;
    const hal_device **device_of = calloc(m->n_instrs + 1, sizeof *device_of);
    s->segments = calloc(m->n_instrs + 1, sizeof *s->segments);
    if (!device_of || !s->segments) {
        free(device_of);
        return dv_fail(err, DETVM_ERUNTIME, "session: out of memory");
    }
    choose_devices(m, device_of);
    detvm_status st = DETVM_OK;
    for (uint32_t k = 0; k < m->n_instrs && !st;) {
        uint32_t first = k;
        while (k < m->n_instrs && device_of[k] == device_of[first])
            k++;
        vm_segment_run *run = &s->segments[s->n_segments];
        run->device = device_of[first];
        run->first = first;
        run->session = s;
        run->segment.steps = s->steps + first;
        run->segment.n_steps = k - first;
        run->segment.scratch = s->arena + m->arena_bytes / 4;
        if (run->device->prepare(&run->segment, &run->handle) != 0)
            st = dv_fail(err, DETVM_ERUNTIME,
                         "session: device %s could not prepare instructions %u..%u",
                         run->device->name, first, k - 1);
        else
            s->n_segments++;
    }
    free(device_of);
    return st;
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
    detvm_status st = prepare_segments(s, err);
    if (!st)
        st = vm_session_prepare_kernels(s, err);
    if (st) {
        detvm_session_free(s);
        return st;
    }
    *out = s;
    return DETVM_OK;
}

uint32_t vm_session_devices(const detvm_session *s, const char **names, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_segments; i++) {
        uint32_t j = 0;
        while (j < n && strcmp(names[j], s->segments[i].device->name) != 0)
            j++;
        if (j == n && n < cap)
            names[n++] = s->segments[i].device->name;
    }
    return n;
}

void detvm_session_free(detvm_session *s)
{
    if (!s)
        return;
    if (s->steps && s->segments)
        vm_session_free_kernels(s);
    for (uint32_t i = 0; i < s->n_segments; i++)
        s->segments[i].device->release(s->segments[i].handle);
    free(s->segments);
    free(s->arena);
    free(s->tensors);
    free(s->steps);
    free(s->step_io);
    free(s->trace_digests);
    free_staging(s);
    free(s);
}

void detvm_session_set_hook(detvm_session *s, detvm_step_hook hook, void *user)
{
    s->hook = hook;
    s->hook_user = user;
}

void detvm_session_set_hook_data(detvm_session *s, int want_data)
{
    s->hook_without_data = !want_data;
}

/* A view of an output, with its data when `with_data`; one stored as int8 is widened into
 * `wide` (view_len elements). */
static void view_of(const dv_tensor *t, uint32_t precision, int with_data, int32_t *wide,
                    detvm_tensor_view *v)
{
    memset(v, 0, sizeof *v);
    v->ndim = t->shape.ndim;
    memcpy(v->dim, t->shape.dim, sizeof v->dim);
    v->precision = precision;
    v->count = dv_shape_size(&t->shape);
    if (!with_data)
        return;
    v->data = t->data;
    if (t->i8) {
        dv_widen_i8(t->i8, wide, v->count);
        v->data = wide;
    }
}

static void describe_step(const detvm_session *s, uint32_t k, int with_data, detvm_step *out)
{
    const vm_instr *ins = &s->module->instrs[k];
    memset(out, 0, sizeof *out);
    out->index = k;
    out->opcode = ins->opcode;
    out->op = ins->op->name;
    out->name = ins->name;
    out->n_outputs = ins->n_out;
    for (uint32_t o = 0; o < ins->n_out && o < 2; o++) {
        const uint32_t t = ins->operands[ins->n_in + o];
        view_of(&s->tensors[t], s->module->tensors[t].precision, with_data,
                s->views + o * s->view_len, &out->outputs[o]);
    }
}

/* The device's per-step callback (k counts the segment's steps): calls the user's hook and
 * stops at last_step. */
static int after_step(void *user, uint32_t k_in_segment)
{
    const vm_segment_run *run = user;
    detvm_session *s = run->session;
    uint32_t k = run->first + k_in_segment;
    if (s->hook || s->trace_mode != DETVM_TRACE_OFF) {
        detvm_step step;
        describe_step(s, k, s->trace_mode != DETVM_TRACE_OFF || !s->hook_without_data, &step);
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
    for (uint32_t i = 0; i < s->n_segments && s->segments[i].first <= last_step && !s->stopped;
         i++) {
        vm_segment_run *run = &s->segments[i];
        run->segment.after_step = after_step;
        run->segment.hook_user = run;
        void *tag = NULL;
        if (run->device->submit(run->handle, run) != 0 ||
            run->device->wait(run->handle, &tag) != 0 || tag != run)
            return dv_fail(err, DETVM_ERUNTIME, "run: device %s failed at instructions %u..%u",
                           run->device->name, run->first,
                           run->first + run->segment.n_steps - 1);
    }
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
    describe_step(s, last_step, 1, step);
    return DETVM_OK;
}
