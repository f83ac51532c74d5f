/* The K210 device (k210.h). Preparing a segment maps every layer's constants to KPU bus
 * addresses and, on the host, sets up an emulator sized for the segment's largest layer; a
 * run then only pushes words and copies bytes. Like the CPU device, submit completes the
 * work and wait hands back the tag. */
#include <stdlib.h>

#include "k210.h"
#include "kpu_driver.h"
#include "kpu_emulator.h"
#include "kpu_mmio.h"

typedef struct {
    const hal_segment *segment;
    k210_kpu_sink sink;
    k210_kpu_driver driver;
    k210_kpu_job *jobs;
    k210_kpu_emulator emu;
    void *emu_memory;
    void *tag;
    int pending;
} k210_handle;

/* On the host the emulator is always there; a board build has the chip. */
static int k210_probe(void) { return 0; }

static int k210_supports(uint32_t opcode)
{
    return opcode == DV_OP_KPU_UPLOAD || opcode == DV_OP_KPU_CONV2D ||
           opcode == DV_OP_KPU_CONV2D_OUT;
}

static void k210_release(void *handle)
{
    k210_handle *h = handle;
    if (!h)
        return;
    free(h->jobs);
    free(h->emu_memory);
    free(h);
}

#ifndef DETVM_K210_BOARD
/* An emulator big enough for every layer of the segment. */
static int make_emulator(k210_handle *h, const hal_segment *seg)
{
    uint64_t scratch = 0;
    uint32_t out = 0;
    for (uint32_t i = 0; i < seg->n_steps; i++) {
        const hal_step *st = &seg->steps[i];
        if (st->op == dv_op_lookup(DV_OP_KPU_UPLOAD) || st->attrs.n < 24)
            continue;
        dv_kpu_layer l;
        dv_kpu_decode(st->attrs.v, &l);
        uint64_t s = dv_kpu_scratch_bytes(&l);
        scratch = s > scratch ? s : scratch;
        uint32_t o = l.out_c * l.out_h * l.out_w;
        out = o > out ? o : out;
    }
    uint32_t regions = 3 * seg->n_steps;
    uint64_t bytes = k210_kpu_emulator_bytes(scratch, out, regions);
    if (bytes != (size_t)bytes)
        return -1;
    h->emu_memory = calloc(1, (size_t)bytes + 8);
    if (!h->emu_memory)
        return -1;
    k210_kpu_emulator_init(&h->emu, h->emu_memory, scratch, out, regions);
    k210_kpu_emulator_sink(&h->emu, 1, &h->sink);
    return 0;
}
#endif

static int k210_prepare(const hal_segment *segment, void **handle)
{
    k210_handle *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->segment = segment;
    h->jobs = calloc(segment->n_steps + 1, sizeof *h->jobs);
#ifdef DETVM_K210_BOARD
    k210_kpu_mmio_sink(&h->sink);
    int rc = h->jobs ? 0 : -1;
#else
    int rc = h->jobs ? make_emulator(h, segment) : -1;
#endif
    k210_kpu_driver_init(&h->driver, &h->sink);
    for (uint32_t i = 0; i < segment->n_steps && rc == 0; i++) {
        const char *why = NULL;
        rc = k210_kpu_prepare(&h->driver, &segment->steps[i], &h->jobs[i], &why);
    }
    if (rc) {
        k210_release(h);
        return -1;
    }
    *handle = h;
    return 0;
}

static int k210_submit(void *handle, void *tag)
{
    k210_handle *h = handle;
    if (h->pending)
        return -1;
    const hal_segment *seg = h->segment;
    k210_kpu_driver_begin(&h->driver);
    for (uint32_t i = 0; i < seg->n_steps; i++) {
        if (k210_kpu_run(&h->driver, &h->jobs[i], seg->scratch) != 0)
            return -1;
        if (seg->after_step && seg->after_step(seg->hook_user, i))
            break;
    }
    h->tag = tag;
    h->pending = 1;
    return 0;
}

static int k210_wait(void *handle, void **tag)
{
    k210_handle *h = handle;
    if (!h->pending)
        return -1;
    h->pending = 0;
    *tag = h->tag;
    return 0;
}

const hal_device hal_k210 = {
    .name = "k210",
    .probe = k210_probe,
    .supports = k210_supports,
    .prepare = k210_prepare,
    .submit = k210_submit,
    .wait = k210_wait,
    .release = k210_release,
};
