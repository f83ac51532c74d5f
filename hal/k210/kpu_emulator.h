/* The KPU emulator: a sink (kpu_regs.h) that keeps the register state and, on the twelfth
 * word pushed into the layer argument FIFO, computes the layer with ops/kpu.c's
 * dv_kpu_compute on the KPU RAM window, raises calc_done and queues the layer's DMA output
 * for fifo_data_out. It works in memory its owner provides. */
#ifndef DETVM_HAL_K210_KPU_EMULATOR_H
#define DETVM_HAL_K210_KPU_EMULATOR_H

#include <stddef.h>
#include <stdint.h>

#include "kpu_regs.h"

typedef struct {
    uint32_t bus, bytes;
    const int32_t *data;
} k210_emu_region;

typedef struct {
    uint64_t args[12];
    uint32_t n_args;
    uint64_t raw, mask, threshold, ctrl, eight_bit;
    int32_t semantics;
    uint64_t *queue;            /* DMA output words */
    uint32_t queue_cap, queue_head, queue_len;
    k210_emu_region *regions;   /* constants the KPU can read, by bus address */
    uint32_t n_regions, cap_regions;
    uint64_t next_bus;
    int32_t *window;            /* the KPU RAM: the current step's output image */
    uint8_t *scratch;
    uint64_t scratch_bytes;
    const char *fault;          /* why the last layer did not run, or NULL */
    uint32_t layers;            /* layers computed */
} k210_kpu_emulator;

/* Bytes of memory an emulator needs to run layers using up to `scratch_bytes` of
 * dv_kpu_compute scratch and sending up to `out_bytes` of DMA output each, with up to
 * `regions` mapped constants. */
uint64_t k210_kpu_emulator_bytes(uint64_t scratch_bytes, uint32_t out_bytes, uint32_t regions);

/* Sets up an emulator in `memory` (k210_kpu_emulator_bytes of it, pointer-aligned). */
void k210_kpu_emulator_init(k210_kpu_emulator *e, void *memory, uint64_t scratch_bytes,
                            uint32_t out_bytes, uint32_t regions);

/* The sink that drives `e`. */
void k210_kpu_emulator_sink(k210_kpu_emulator *e, int fifo_output, k210_kpu_sink *sink);

#endif
