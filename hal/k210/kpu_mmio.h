/* The board's sink: memory-mapped I/O at the K210's addresses (kpu_mmio.c). */
#ifndef DETVM_HAL_K210_KPU_MMIO_H
#define DETVM_HAL_K210_KPU_MMIO_H

#include "kpu_regs.h"

void k210_kpu_mmio_sink(k210_kpu_sink *sink);

#endif
