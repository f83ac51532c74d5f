/* The device interface. The VM runs every instruction through a device, the CPU included.
 * A segment is a run of resolved steps; a device computes exactly the reference results for
 * the steps it accepts. Submission is asynchronous in form (submit with a user tag, then wait),
 * as accelerator SDKs are; the CPU completes the work inside submit. */
#ifndef DETVM_HAL_HAL_H
#define DETVM_HAL_HAL_H

#include <stdint.h>

#include "../ops/op.h"
#include "../ops/variant.h"

/* A tensor stored as int8 that a step's kernel takes as int32 (a reference kernel, or a variant
 * without DV_VARIANT_INT8). The step's in and out lists hold `wide`; the CPU widens `stored` into
 * it before the kernel when it is an input, and narrows it into `stored` with dv_store_i8 after
 * the kernel when it is an output. */
typedef struct {
    dv_tensor stored, wide;
    int is_output;
} hal_staged;

/* One instruction with its tensors resolved to memory. On the CPU, a step with a variant runs
 * it (its items split among the segment's threads) instead of the reference kernel. */
typedef struct {
    const dv_op_info *op;
    dv_attrs attrs;
    uint32_t n_in, n_out;
    dv_tensor *in;
    dv_tensor *out;
    const dv_variant *variant;  /* NULL: op->run, on the calling thread */
    uint64_t items;             /* the variant's work items for this instance */
    /* When the step's constant inputs are packed ahead (by the session, or in the module):
     * packing->run_packed runs instead of variant->run, with `packed`. */
    const dv_variant_packing *packing;
    const void *packed;
    const hal_staged *staged;   /* n_staged int8 operands the kernel takes as int32 */
    uint32_t n_staged;
} hal_step;

/* A fixed set of threads (hal/cpu_threads.c), created with a session, never while a model
 * runs. Builds without threads (freestanding) have only the calling thread. */
typedef struct hal_threads hal_threads;

/* The largest number of threads a session may ask for; 1 in builds without threads. */
uint32_t hal_threads_max(void);
/* n threads in all: the caller's and n - 1 workers; NULL when n < 2 or on failure. */
hal_threads *hal_threads_new(uint32_t n);
void hal_threads_free(hal_threads *threads);
uint32_t hal_threads_count(const hal_threads *threads);   /* 1 for NULL */
/* Sets sleeping workers polling for a while, ahead of a step that will need them. */
void hal_threads_wake(hal_threads *threads);
/* Calls task(user, t) for t in [0, n_tasks), n_tasks <= hal_threads_count: task 0 on the
 * calling thread, task t on worker t; returns when every task has returned. */
void hal_threads_run(hal_threads *threads, uint32_t n_tasks, void (*task)(void *user, uint32_t t),
                     void *user);

/* Called after each step with its index in the segment; a nonzero return stops the segment
 * after that step. */
typedef int (*hal_step_hook)(void *user, uint32_t step);

typedef struct {
    const hal_step *steps;
    uint32_t n_steps;
    int32_t *scratch;
    hal_step_hook after_step;   /* may be NULL */
    void *hook_user;
    /* For the steps' variants (CPU): the threads (NULL: the calling thread alone) and each
     * thread's scratch, thread t's at thread_scratch + t * thread_scratch_len int32s. */
    hal_threads *threads;
    int32_t *thread_scratch;
    uint64_t thread_scratch_len;
} hal_segment;

typedef struct hal_device {
    const char *name;
    /* 0 when the device is present and usable. */
    int (*probe)(void);
    /* Nonzero when the device computes this opcode exactly as the reference kernel. */
    int (*supports)(uint32_t opcode);
    /* Prepares a segment for repeated submission; *handle is the device's own state. */
    int (*prepare)(const hal_segment *segment, void **handle);
    /* Starts the segment; `tag` comes back from wait. */
    int (*submit)(void *handle, void *tag);
    /* Waits for the oldest submitted segment and returns its tag. */
    int (*wait)(void *handle, void **tag);
    void (*release)(void *handle);
} hal_device;

extern const hal_device hal_cpu;

/* The devices a module's segments can name (the META segments record). The CPU runs every
 * instruction, so it needs no segment: whatever no present device takes runs on it. */
enum hal_device_kind {
    HAL_DEVICE_CPU = 0,
    HAL_DEVICE_K210 = 1,
    HAL_DEVICE_LIMIT = 2
};

/* The device of a kind, or NULL when this build has none. */
const hal_device *hal_device_of_kind(uint32_t kind);

#endif
