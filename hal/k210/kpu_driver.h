/* The KPU driver: runs KPU_UPLOAD, KPU_CONV2D and KPU_CONV2D_OUT steps through a sink
 * (kpu_regs.h). The same code runs on the board and, against the emulator, on the host. */
#ifndef DETVM_HAL_K210_KPU_DRIVER_H
#define DETVM_HAL_K210_KPU_DRIVER_H

#include <stdint.h>

#include "../../ops/kpu.h"
#include "../hal.h"
#include "kpu_regs.h"

enum k210_step_kind {
    K210_STEP_UPLOAD,     /* writes the KPU RAM window */
    K210_STEP_LAYER,      /* a layer the KPU computes */
    K210_STEP_REFERENCE   /* a layer whose hardware-only fields disagree with its geometry
                           * (dv_kpu_check_hardware): silicon would compute something else,
                           * so the driver runs the reference kernel instead */
};

/* One step, prepared: the layer words with the constants' bus addresses filled in. */
typedef struct {
    const hal_step *step;
    int kind;               /* enum k210_step_kind */
    int main_output;        /* KPU_CONV2D_OUT */
    uint64_t words[DV_KPU_WORDS];
    uint32_t batches, in_rows, out_rows, out_bytes, main_offset, weight_bits, semantics;
    dv_kpu_layer layer;
} k210_kpu_job;

/* The driver's state across steps: what the KPU RAM window holds. */
typedef struct {
    const k210_kpu_sink *sink;
    const int32_t *window;     /* the window last used */
    const int32_t *resident;   /* the image whose bytes it holds */
    uint32_t poll_limit;       /* interrupt polls before a layer counts as failed */
} k210_kpu_driver;

void k210_kpu_driver_init(k210_kpu_driver *d, const k210_kpu_sink *sink);

/* Starts a run of steps: forgets what the window held (between runs other code may have
 * written the arena). */
void k210_kpu_driver_begin(k210_kpu_driver *d);

/* Prepares a step (maps its constants); 0 on success, else -1 with *why set. */
int k210_kpu_prepare(k210_kpu_driver *d, const hal_step *step, k210_kpu_job *job,
                     const char **why);

/* Runs a prepared step; `scratch` serves the reference fallback. 0 on success, -1 when the
 * KPU did not signal completion. */
int k210_kpu_run(k210_kpu_driver *d, const k210_kpu_job *job, int32_t *scratch);

#endif
