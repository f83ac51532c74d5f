/* A session: one thread's arena and resolved steps for a loaded module. */
#ifndef DETVM_VM_SESSION_H
#define DETVM_VM_SESSION_H

#include "detvm.h"
#include "module.h"
#include "../hal/hal.h"

/* A run of steps on one device, prepared when the session is created. */
typedef struct {
    hal_segment segment;
    const hal_device *device;
    void *handle;
    uint32_t first;             /* the session step of the segment's step 0 */
    struct detvm_session *session;
} vm_segment_run;

struct detvm_session {
    const detvm_module *module;
    int32_t *arena;             /* arena_bytes, then scratch_bytes */
    dv_tensor *tensors;         /* every tensor resolved to memory */
    hal_step *steps;
    dv_tensor *step_io;         /* the steps' input and output tensor lists */
    vm_segment_run *segments;   /* in step order, covering every step */
    uint32_t n_segments;
    detvm_step_hook hook;
    void *hook_user;
    int hook_without_data;      /* detvm_session_set_hook_data(s, 0) */
    uint32_t last_step;         /* stop after this instruction */
    uint32_t stopped_at;        /* instruction after which the hook stopped the run */
    int stopped;
    detvm_trace_mode trace_mode;
    uint8_t *trace_digests;     /* output hashes, then leaves: n_instrs digests each */
    int trace_complete;         /* the last run traced every instruction */
    /* Kernels and threads (vm/session_kernels.c): the variants' instruction sets allowed by
     * DETVM_KERNELS and by the session option, the threads and their scratch. */
    uint32_t env_isa, option_isa;
    uint32_t n_threads;
    hal_threads *threads;
    void *thread_scratch_block; /* malloc'd; thread_scratch is 64-byte aligned inside it */
    void **packed_blocks;       /* per step: malloc'd block holding its packed constants */
    int32_t *thread_scratch;
    uint64_t thread_scratch_len;
    /* int8 activations (vm/session.c): the staged operands of the steps whose kernels take
     * int32 only, the int32 buffer they are widened into, and the buffer step views widen
     * int8 outputs into (DV_MAX_OP_OUTPUTS regions of view_len elements). */
    hal_staged *staged;
    int32_t *staging;
    int32_t *views;
    uint64_t view_len;
};

/* Reads DETVM_KERNELS and DETVM_THREADS into a new session, chooses every CPU step's variant
 * and creates the threads and their scratch (vm/session_kernels.c). */
detvm_status vm_session_prepare_kernels(detvm_session *s, detvm_error *err);
void vm_session_free_kernels(detvm_session *s);

/* Resolves the steps' operands again and stages the int8 ones of every step whose kernel takes
 * int32 only (vm/session.c); after every choice of kernels. */
detvm_status vm_session_stage(detvm_session *s, detvm_error *err);

/* The kernel variants the session's CPU steps run ("reference" for those without one), each
 * once, in the order of first use; returns how many (at most cap). */
uint32_t vm_session_kernels(const detvm_session *s, const char **names, uint32_t cap);

/* The names of the devices the session runs on, each once, in the order of first use; returns
 * how many (at most cap). */
uint32_t vm_session_devices(const detvm_session *s, const char **names, uint32_t cap);

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
