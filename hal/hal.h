/* The device interface. The VM runs every instruction through a device, the CPU included.
 * A segment is a run of resolved steps; a device computes exactly the reference results for
 * the steps it accepts. Submission is asynchronous in form (submit with a user tag, then wait),
 * as accelerator SDKs are; the CPU completes the work inside submit. */
#ifndef DETVM_HAL_HAL_H
#define DETVM_HAL_HAL_H

#include <stdint.h>

#include "../ops/op.h"

/* One instruction with its tensors resolved to memory. */
typedef struct {
    const dv_op_info *op;
    dv_attrs attrs;
    uint32_t n_in, n_out;
    dv_tensor *in;
    dv_tensor *out;
} hal_step;

/* Called after each step with its index in the segment; a nonzero return stops the segment
 * after that step. */
typedef int (*hal_step_hook)(void *user, uint32_t step);

typedef struct {
    const hal_step *steps;
    uint32_t n_steps;
    int32_t *scratch;
    hal_step_hook after_step;   /* may be NULL */
    void *hook_user;
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
