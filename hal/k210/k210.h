/* The K210 device (hal.h): KPU_UPLOAD, KPU_CONV2D and KPU_CONV2D_OUT on the KPU. On the host
 * the KPU is the emulator (kpu_emulator.c); a board build (DETVM_K210_BOARD defined) drives
 * the chip's registers (kpu_mmio.c). The driver code is the same. */
#ifndef DETVM_HAL_K210_K210_H
#define DETVM_HAL_K210_K210_H

#include "../hal.h"

extern const hal_device hal_k210;

#endif
