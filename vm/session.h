/* A session: one thread's arena and resolved steps for a loaded module. */
#ifndef DETVM_VM_SESSION_H
#define DETVM_VM_SESSION_H

#include "detvm.h"
#include "module.h"
#include "../hal/hal.h"

struct detvm_session {
    const detvm_module *module;
    int32_t *arena;             /* arena_bytes, then scratch_bytes */
    dv_tensor *tensors;         /* every tensor resolved to memory */
    hal_step *steps;
    dv_tensor *step_io;         /* the steps' input and output tensor lists */
    hal_segment segment;
    const hal_device *device;
    void *device_handle;
    detvm_step_hook hook;
    void *hook_user;
    uint32_t last_step;         /* stop after this instruction */
    uint32_t stopped_at;        /* instruction after which the hook stopped the run */
    int stopped;
    detvm_trace_mode trace_mode;
    uint8_t *trace_digests;     /* output hashes, then leaves: n_instrs digests each */
    int trace_complete;         /* the last run traced every instruction */
};

/* Converts the input bytes into the input tensor's int32 elements (vm/session.c). */
detvm_status vm_load_input(const detvm_module *m, const void *input, size_t len, int32_t *dst,
                           detvm_error *err);

/* Hashes instruction k's outputs into the session's trace (vm/trace.c). */
void vm_trace_step(detvm_session *s, uint32_t k, const detvm_step *step);

/* The CVM runtime's output layouts (vm/output.c). */
uint64_t vm_output_length(const detvm_module *m);
/* Bytes of output k in the "separate" layout. */
uint64_t vm_output_part_length(const detvm_module *m, uint32_t k);
detvm_status vm_output_write(const detvm_module *m, const dv_tensor *tensors, uint8_t *out,
                             detvm_error *err);

#endif
