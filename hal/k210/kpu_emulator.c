/* The KPU emulator (kpu_emulator.h). The arithmetic is not here: a layer is computed by
 * ops/kpu.c's dv_kpu_compute, the same function the reference op runs, so the emulated
 * device gives the reference bytes by construction; this file models what is around it (the
 * FIFO, the interrupt registers, the bus addresses of the constants, the DMA queue). */
#include <string.h>

#include "../../ops/kpu.h"
#include "kpu_emulator.h"

#define FIRST_BUS 0x10000000u  /* any nonzero start: 0 means "not mapped" to the driver */

static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

uint64_t k210_kpu_emulator_bytes(uint64_t scratch_bytes, uint32_t out_bytes, uint32_t regions)
{
    return align8((uint64_t)regions * sizeof(k210_emu_region)) +
           8 * (((uint64_t)out_bytes + 7) / 8) + scratch_bytes;
}

void k210_kpu_emulator_init(k210_kpu_emulator *e, void *memory, uint64_t scratch_bytes,
                            uint32_t out_bytes, uint32_t regions)
{
    memset(e, 0, sizeof *e);
    uint8_t *m = memory;
    e->regions = (k210_emu_region *)(void *)m;
    e->cap_regions = regions;
    m += align8((uint64_t)regions * sizeof(k210_emu_region));
    e->queue = (uint64_t *)(void *)m;
    e->queue_cap = (out_bytes + 7) / 8;
    m += 8 * (size_t)e->queue_cap;
    e->scratch = m;
    e->scratch_bytes = scratch_bytes;
    e->next_bus = FIRST_BUS;
    e->eight_bit = 1;
    e->mask = K210_KPU_INT_ALL;
}

/* The image a bus address stands for, when `need` bytes from it lie in one mapped region. */
static const int32_t *resolve(const k210_kpu_emulator *e, uint32_t bus, uint32_t need)
{
    for (uint32_t i = 0; i < e->n_regions; i++) {
        const k210_emu_region *r = &e->regions[i];
        if (bus >= r->bus && bus - r->bus < r->bytes) {
            uint32_t off = bus - r->bus;
            if (off % 4 || need > r->bytes - off)
                return NULL;
            return r->data + off / 4;
        }
    }
    return NULL;
}

/* The twelfth word arrived: run the layer. */
static void run_layer(k210_kpu_emulator *e)
{
    dv_kpu_layer l;
    dv_kpu_decode_words(e->args, &l);
    uint32_t bits = e->eight_bit ? 8 : 16;
    e->fault = dv_kpu_check(&l, 1, bits, 1);
    if (e->fault)
        return;
    dv_kpu_params p;
    p.weights = resolve(e, l.para_start_addr, dv_kpu_weights_bytes(&l, bits));
    p.bn = resolve(e, l.bwsx_base_addr, dv_kpu_bn_bytes(&l));
    p.act = resolve(e, l.active_addr, DV_KPU_ACT_BYTES);
    p.weight_bits = bits;
    p.semantics = e->semantics;
    uint32_t out_bytes = l.out_c * l.out_h * l.out_w;
    if (!p.weights || !p.bn || !p.act)
        e->fault = "k210 emulator: a layer address is not mapped";
    else if (!e->window)
        e->fault = "k210 emulator: no KPU RAM window";
    else if (dv_kpu_scratch_bytes(&l) > e->scratch_bytes)
        e->fault = "k210 emulator: layer larger than its scratch";
    else if (l.send_data_out && (out_bytes + 7) / 8 > e->queue_cap - e->queue_len)
        e->fault = "k210 emulator: DMA output larger than its queue";
    else if (e->semantics != DV_KPU_NNCASE_V02 && e->semantics != DV_KPU_SDK)
        e->fault = "k210 emulator: unknown semantics";
    if (e->fault)
        return;
    const uint8_t *map = dv_kpu_compute(&l, &p, e->window, e->scratch);
    if (l.send_data_out) {
        /* The DMA sends the map as NCHW bytes, eight to a word, the last word zero-padded. */
        for (uint32_t i = 0; i < out_bytes; i += 8) {
            uint64_t w = 0;
            for (uint32_t k = 0; k < 8 && i + k < out_bytes; k++)
                w |= (uint64_t)map[i + k] << (8 * k);
            e->queue[(e->queue_head + e->queue_len++) % e->queue_cap] = w;
        }
    }
    if (l.int_en)
        e->raw |= K210_KPU_INT_CALC_DONE;
    e->layers++;
}

static void emu_write64(void *ctx, uint32_t reg, uint64_t value)
{
    k210_kpu_emulator *e = ctx;
    switch (reg) {
    case K210_KPU_LAYER_ARGUMENT_FIFO:
        e->args[e->n_args++] = value;
        if (e->n_args == DV_KPU_WORDS) {
            e->n_args = 0;
            run_layer(e);
        }
        break;
    case K210_KPU_INTERRUPT_CLEAR: e->raw &= ~value; break;
    case K210_KPU_INTERRUPT_MASK: e->mask = value; break;
    case K210_KPU_FIFO_THRESHOLD: e->threshold = value; break;
    case K210_KPU_FIFO_CTRL:
        e->ctrl = value;
        if (!(value & 1)) /* dma_fifo_flush_n low: drop the queued output */
            e->queue_len = 0;
        break;
    case K210_KPU_EIGHT_BIT_MODE: e->eight_bit = value & 1; break;
    case K210_KPU_EMU_SEMANTICS: e->semantics = (int32_t)(value & 0xff); break;
    default: break; /* read-only or unknown: ignored, as writes to them are on the chip */
    }
}

static uint64_t emu_read64(void *ctx, uint32_t reg)
{
    k210_kpu_emulator *e = ctx;
    switch (reg) {
    case K210_KPU_INTERRUPT_STATUS: return e->raw & ~e->mask;
    case K210_KPU_INTERRUPT_RAW: return e->raw;
    case K210_KPU_INTERRUPT_MASK: return e->mask;
    case K210_KPU_FIFO_THRESHOLD: return e->threshold;
    case K210_KPU_FIFO_CTRL: return e->ctrl;
    case K210_KPU_EIGHT_BIT_MODE: return e->eight_bit;
    case K210_KPU_FIFO_DATA_OUT: {
        if (!e->queue_len)
            return 0;
        uint64_t w = e->queue[e->queue_head];
        e->queue_head = (e->queue_head + 1) % e->queue_cap;
        e->queue_len--;
        return w;
    }
    default: return 0;
    }
}

static int32_t *emu_ram_begin(void *ctx, int32_t *out)
{
    k210_kpu_emulator *e = ctx;
    e->window = out;
    return out;
}

static void emu_ram_end(void *ctx, int32_t *out) { (void)ctx, (void)out; }

static uint32_t emu_bus_address(void *ctx, const int32_t *data, uint32_t bytes)
{
    k210_kpu_emulator *e = ctx;
    for (uint32_t i = 0; i < e->n_regions; i++)
        if (e->regions[i].data == data && e->regions[i].bytes >= bytes)
            return e->regions[i].bus;
    if (e->n_regions == e->cap_regions || bytes == 0 || e->next_bus + bytes > 0xffffffffu)
        return 0;
    k210_emu_region *r = &e->regions[e->n_regions++];
    r->bus = (uint32_t)e->next_bus;
    r->bytes = bytes;
    r->data = data;
    e->next_bus = (e->next_bus + bytes + 255) & ~(uint64_t)255;
    return r->bus;
}

void k210_kpu_emulator_sink(k210_kpu_emulator *e, int fifo_output, k210_kpu_sink *sink)
{
    sink->ctx = e;
    sink->write64 = emu_write64;
    sink->read64 = emu_read64;
    sink->ram_begin = emu_ram_begin;
    sink->ram_end = emu_ram_end;
    sink->bus_address = emu_bus_address;
    sink->fifo_output = fifo_output;
}
