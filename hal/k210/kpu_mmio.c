/* The board's sink (kpu_regs.h): the KPU's registers and RAM at the K210's physical
 * addresses. It is compiled everywhere but only selected in a board build (DETVM_K210_BOARD,
 * hal/k210/device.c); on the host it is never called.
 *
 * Not yet run on silicon. Layer outputs for main memory are read back from the KPU RAM
 * (fifo_output = 0), as nncase v0.2 does on the board, rather than through fifo_data_out,
 * which needs the DMA controller's handshake with the KPU to be read safely. */
#include <string.h>

#include "../../ops/kimage.h"
#include "kpu_mmio.h"

#define SRAM_BEGIN 0x80000000u
#define SRAM_END 0x80600000u /* 6 MiB of general SRAM; the AI RAM follows it */

static volatile uint64_t *reg_at(uint32_t reg)
{
    return (volatile uint64_t *)(uintptr_t)(K210_AI_BASE_ADDR + reg);
}

static void mmio_write64(void *ctx, uint32_t reg, uint64_t value)
{
    (void)ctx;
    if (reg < K210_KPU_REG_BLOCK_BYTES && reg % 8 == 0)
        *reg_at(reg) = value;
}

static uint64_t mmio_read64(void *ctx, uint32_t reg)
{
    (void)ctx;
    return reg < K210_KPU_REG_BLOCK_BYTES && reg % 8 == 0 ? *reg_at(reg) : 0;
}

static int32_t *mmio_ram_begin(void *ctx, int32_t *out)
{
    (void)ctx, (void)out;
    return (int32_t *)(uintptr_t)K210_AI_IO_BASE_ADDR;
}

static void mmio_ram_end(void *ctx, int32_t *out)
{
    (void)ctx;
    memcpy(out, (const void *)(uintptr_t)K210_AI_IO_BASE_ADDR, DV_KPU_RAM_BYTES);
}

/* The KPU reads SRAM through the uncached alias (address - IOMEM). The bytes are written
 * once more through that alias so that what the CPU wrote through its cache is what the KPU
 * reads, as the SDK's kpu_load_kmodel copies a model's bodies. */
static uint32_t mmio_bus_address(void *ctx, const int32_t *data, uint32_t bytes)
{
    (void)ctx;
    uintptr_t a = (uintptr_t)data;
    if (a < SRAM_BEGIN || a >= SRAM_END || bytes > SRAM_END - a)
        return 0;
    volatile uint8_t *io = (volatile uint8_t *)(a - K210_IOMEM);
    const uint8_t *cached = (const uint8_t *)data;
    for (uint32_t i = 0; i < bytes; i++)
        io[i] = cached[i];
    return (uint32_t)(a - K210_IOMEM);
}

void k210_kpu_mmio_sink(k210_kpu_sink *sink)
{
    sink->ctx = NULL;
    sink->write64 = mmio_write64;
    sink->read64 = mmio_read64;
    sink->ram_begin = mmio_ram_begin;
    sink->ram_end = mmio_ram_end;
    sink->bus_address = mmio_bus_address;
    sink->fifo_output = 0;
}
