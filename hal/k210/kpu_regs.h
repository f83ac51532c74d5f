/* The K210 KPU as the driver sees it: its register block and the "sink" the driver talks to.
 *
 * The registers are the SDK's kpu_config_t (lib/drivers/include/kpu.h), nine 64-bit registers
 * at AI_BASE_ADDR. The sink is the one thing that differs between the board and the host: on
 * the board its functions are memory-mapped I/O at the chip's addresses (kpu_mmio.c), on the
 * host they drive the emulator (kpu_emulator.c). The driver (kpu_driver.c) is the same code
 * for both. */
#ifndef DETVM_HAL_K210_KPU_REGS_H
#define DETVM_HAL_K210_KPU_REGS_H

#include <stdint.h>

/* Physical addresses on the K210 (the SDK's platform.h). */
#define K210_AI_BASE_ADDR 0x40800000u   /* the register block */
#define K210_AI_IO_BASE_ADDR 0x40600000u /* the 2 MiB KPU RAM, uncached */
#define K210_IOMEM 0x40000000u          /* SRAM at 0x80000000 seen uncached; the KPU's base */

/* Register offsets in the block, bytes. */
enum k210_kpu_reg {
    K210_KPU_LAYER_ARGUMENT_FIFO = 0x00, /* write the 12 words of a layer, in order */
    K210_KPU_INTERRUPT_STATUS = 0x08,    /* raw & ~mask */
    K210_KPU_INTERRUPT_RAW = 0x10,
    K210_KPU_INTERRUPT_MASK = 0x18,      /* a set bit masks the interrupt */
    K210_KPU_INTERRUPT_CLEAR = 0x20,     /* write 1s to clear raw bits */
    K210_KPU_FIFO_THRESHOLD = 0x28,      /* full threshold bits 0..3, empty bits 4..7 */
    K210_KPU_FIFO_DATA_OUT = 0x30,       /* the layer's DMA output, 8 bytes per read */
    K210_KPU_FIFO_CTRL = 0x38,           /* flush bits (active low) */
    K210_KPU_EIGHT_BIT_MODE = 0x40,      /* bit 0: 8-bit weights (else 16-bit) */
    K210_KPU_REG_BLOCK_BYTES = 0x48,
    /* Not a chip register: the arithmetic the emulator follows (enum dv_kpu_semantics). The
     * board sink ignores writes to it; which one silicon follows has not been measured. */
    K210_KPU_EMU_SEMANTICS = 0x1000
};

/* Interrupt bits (kpu_config_interrupt_t). */
#define K210_KPU_INT_CALC_DONE 1u
#define K210_KPU_INT_CFG_ALMOST_EMPTY 2u
#define K210_KPU_INT_CFG_ALMOST_FULL 4u
#define K210_KPU_INT_ALL 7u

/* What the driver talks to. */
typedef struct k210_kpu_sink {
    void *ctx;
    void (*write64)(void *ctx, uint32_t reg, uint64_t value);
    uint64_t (*read64)(void *ctx, uint32_t reg);
    /* The KPU RAM window for a step whose output KPU image is `out`: a memory image
     * (ops/kimage.h) of the 2 MiB the KPU computes in. The driver fills it with the step's
     * input image unless it already holds it. Emulator: the window is `out` itself. Board:
     * the AI RAM, whose little-endian bytes are an image on the (little-endian) K210. */
    int32_t *(*ram_begin)(void *ctx, int32_t *out);
    /* After the step: `out` gets the window's bytes (board: a copy; emulator: nothing). */
    void (*ram_end)(void *ctx, int32_t *out);
    /* The 32-bit address at which the KPU reads `bytes` bytes of the memory image `data`
     * (weights, batch norm, activation table), 0 when it cannot. Board: the uncached alias
     * of the buffer (address - IOMEM, as the SDK computes it); emulator: an address it maps
     * back to `data`. Called while preparing, never during a run. */
    uint32_t (*bus_address)(void *ctx, const int32_t *data, uint32_t bytes);
    /* 1: a layer's main memory output is read from fifo_data_out (the DMA the SDK programs).
     * 0: it is read back from the KPU RAM window after the layer, as nncase v0.2 does on the
     * board; the bytes are the same. */
    int fifo_output;
} k210_kpu_sink;

#endif
