/* The KPU driver (kpu_driver.h). It programs the KPU the way the SDK's kpu_conv2d_output and
 * nncase's K210 runtime do: clear the interrupts, unmask calc_done, push the twelve layer
 * words, wait for calc_done; a layer of several batches is pushed once per batch with its
 * row addresses advanced. Nothing here allocates. */
#include <string.h>

#include "kpu_driver.h"

void k210_kpu_driver_init(k210_kpu_driver *d, const k210_kpu_sink *sink)
{
    d->sink = sink;
    d->window = NULL;
    d->resident = NULL;
    d->poll_limit = 1u << 26;
}

void k210_kpu_driver_begin(k210_kpu_driver *d)
{
    d->window = NULL;
    d->resident = NULL;
}

int k210_kpu_prepare(k210_kpu_driver *d, const hal_step *step, k210_kpu_job *job,
                     const char **why)
{
    memset(job, 0, sizeof *job);
    job->step = step;
    uint32_t opcode = step->op == dv_op_lookup(DV_OP_KPU_UPLOAD)        ? DV_OP_KPU_UPLOAD
                      : step->op == dv_op_lookup(DV_OP_KPU_CONV2D)      ? DV_OP_KPU_CONV2D
                      : step->op == dv_op_lookup(DV_OP_KPU_CONV2D_OUT) ? DV_OP_KPU_CONV2D_OUT
                                                                         : 0;
    if (!opcode) {
        *why = "k210: not a KPU instruction";
        return -1;
    }
    if (opcode == DV_OP_KPU_UPLOAD) {
        job->kind = K210_STEP_UPLOAD;
        return 0;
    }
    const int32_t *a = step->attrs.v;
    job->main_output = opcode == DV_OP_KPU_CONV2D_OUT;
    job->batches = (uint32_t)a[DV_KPU_ATTR_BATCHES];
    job->main_offset = (uint32_t)a[DV_KPU_ATTR_MAIN_OFFSET];
    job->semantics = (uint32_t)a[DV_KPU_ATTR_SEMANTICS];
    job->weight_bits =
        step->attrs.n == DV_KPU_CONV_ATTRS_MAX ? (uint32_t)a[DV_KPU_ATTR_WEIGHT_BITS] : 8;
    dv_kpu_decode(a, &job->layer);
    const dv_kpu_layer *l = &job->layer;
    /* The module validator ran the op's infer; checked again, as this drives hardware. */
    *why = dv_kpu_check(l, job->batches, job->weight_bits, 0);
    if (*why)
        return -1;
    job->in_rows = (uint32_t)dv_kpu_map_rows(l->in_w, l->in_h, l->in_c);
    job->out_rows = (uint32_t)dv_kpu_map_rows(l->out_w, l->out_h, l->out_c);
    job->out_bytes = l->out_c * l->out_h * l->out_w;
    if (dv_kpu_check_hardware(l, job->weight_bits)) {
        job->kind = K210_STEP_REFERENCE;
        return 0;
    }
    job->kind = K210_STEP_LAYER;
    const k210_kpu_sink *s = d->sink;
    uint32_t weights = s->bus_address(s->ctx, step->in[1].data,
                                      dv_kpu_weights_bytes(l, job->weight_bits));
    uint32_t bn = s->bus_address(s->ctx, step->in[2].data, dv_kpu_bn_bytes(l));
    uint32_t act = s->bus_address(s->ctx, step->in[3].data, DV_KPU_ACT_BYTES);
    if (!weights || !bn || !act) {
        *why = "k210: a layer constant has no KPU bus address";
        return -1;
    }
    memcpy(job->words, l->words, sizeof job->words);
    dv_kpu_set(job->words, DV_KPU_PARA_START_ADDR, weights);
    dv_kpu_set(job->words, DV_KPU_BWSX_BASE_ADDR, bn);
    dv_kpu_set(job->words, DV_KPU_ACTIVE_ADDR, act);
    dv_kpu_set(job->words, DV_KPU_INT_EN, 1);
    dv_kpu_set(job->words, DV_KPU_SEND_DATA_OUT, job->main_output && s->fifo_output);
    return 0;
}

/* The window for the step, holding the step's input KPU image. */
static int32_t *window_for(k210_kpu_driver *d, const dv_tensor *in, dv_tensor *out)
{
    const k210_kpu_sink *s = d->sink;
    int32_t *win = s->ram_begin(s->ctx, out->data);
    if (!(win == d->window && d->resident == in->data))
        memcpy(win, in->data, DV_KPU_RAM_BYTES);
    return win;
}

static void window_done(k210_kpu_driver *d, int32_t *win, dv_tensor *out)
{
    d->sink->ram_end(d->sink->ctx, out->data);
    d->window = win;
    d->resident = out->data;
}

/* KPU_UPLOAD: the map's bytes go into the window in the KPU row layout (ops/kpu.c). */
static int run_upload(k210_kpu_driver *d, const hal_step *st)
{
    const int32_t *v = st->attrs.v;
    uint32_t n = (uint32_t)v[DV_KPU_UP_N], c = (uint32_t)v[DV_KPU_UP_C];
    uint32_t h = (uint32_t)v[DV_KPU_UP_H], w = (uint32_t)v[DV_KPU_UP_W];
    uint32_t dst = (uint32_t)v[DV_KPU_UP_DST_OFFSET], src = (uint32_t)v[DV_KPU_UP_SRC_OFFSET];
    int plain = v[DV_KPU_UP_KIND] == DV_KPU_UPLOAD_PLAIN;
    int32_t *win = window_for(d, &st->in[0], &st->out[0]);
    uint32_t i = 0;
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t ch = 0; ch < c; ch++)
            for (uint32_t y = 0; y < h; y++) {
                uint32_t at = (uint32_t)dv_kpu_addr(dst + b * dv_kpu_map_bytes(w, h, c), w, h,
                                                    ch, y, 0);
                for (uint32_t x = 0; x < w; x++, i++)
                    dv_image_put_u8(win, at + x,
                                    plain ? (uint8_t)st->in[1].data[i]
                                          : dv_image_u8(st->in[1].data, src + i));
            }
    window_done(d, win, &st->out[0]);
    return 0;
}

/* Pushes one batch's words and waits for calc_done. */
static int run_batch(k210_kpu_driver *d, const k210_kpu_job *job, uint32_t b)
{
    const k210_kpu_sink *s = d->sink;
    uint64_t words[DV_KPU_WORDS];
    memcpy(words, job->words, sizeof words);
    dv_kpu_set(words, DV_KPU_IMAGE_SRC_ADDR, job->layer.src_row + b * job->in_rows);
    dv_kpu_set(words, DV_KPU_IMAGE_DST_ADDR, job->layer.dst_row + b * job->out_rows);
    s->write64(s->ctx, K210_KPU_INTERRUPT_CLEAR, K210_KPU_INT_ALL);
    s->write64(s->ctx, K210_KPU_INTERRUPT_MASK, K210_KPU_INT_ALL & ~K210_KPU_INT_CALC_DONE);
    for (int i = 0; i < DV_KPU_WORDS; i++)
        s->write64(s->ctx, K210_KPU_LAYER_ARGUMENT_FIFO, words[i]);
    for (uint32_t polls = 0;; polls++) {
        if (s->read64(s->ctx, K210_KPU_INTERRUPT_STATUS) & K210_KPU_INT_CALC_DONE)
            break;
        if (polls == d->poll_limit)
            return -1;
    }
    s->write64(s->ctx, K210_KPU_INTERRUPT_CLEAR, K210_KPU_INT_ALL);
    s->write64(s->ctx, K210_KPU_INTERRUPT_MASK, K210_KPU_INT_ALL);
    return 0;
}

/* One batch's main memory output: out_c * out_h * out_w bytes, plain NCHW. */
static void read_output(k210_kpu_driver *d, const k210_kpu_job *job, const int32_t *win,
                        uint32_t b, int32_t *main)
{
    const k210_kpu_sink *s = d->sink;
    const dv_kpu_layer *l = &job->layer;
    uint32_t at = job->main_offset + b * job->out_bytes;
    if (s->fifo_output) {
        for (uint32_t i = 0; i < job->out_bytes; i += 8) {
            uint64_t word = s->read64(s->ctx, K210_KPU_FIFO_DATA_OUT);
            for (uint32_t k = 0; k < 8 && i + k < job->out_bytes; k++)
                dv_image_put_u8(main, at + i + k, (uint8_t)(word >> (8 * k)));
        }
        return;
    }
    uint32_t base = (l->dst_row + b * job->out_rows) * DV_KPU_ROW_BYTES;
    for (uint32_t c = 0; c < l->out_c; c++)
        for (uint32_t y = 0; y < l->out_h; y++) {
            uint32_t line = (uint32_t)dv_kpu_addr(base, l->out_w, l->out_h, c, y, 0);
            for (uint32_t x = 0; x < l->out_w; x++)
                dv_image_put_u8(main, at++, dv_image_u8(win, line + x));
        }
}

static int run_layer(k210_kpu_driver *d, const k210_kpu_job *job)
{
    const hal_step *st = job->step;
    const k210_kpu_sink *s = d->sink;
    int32_t *win = window_for(d, &st->in[0], &st->out[0]);
    if (job->main_output)
        dv_image_copy(st->out[1].data, &st->in[4]);
    s->write64(s->ctx, K210_KPU_EIGHT_BIT_MODE, job->weight_bits == 8);
    s->write64(s->ctx, K210_KPU_EMU_SEMANTICS, job->semantics);
    int rc = 0;
    for (uint32_t b = 0; b < job->batches && !rc; b++) {
        rc = run_batch(d, job, b);
        if (!rc && job->main_output)
            read_output(d, job, win, b, st->out[1].data);
    }
    window_done(d, win, &st->out[0]);
    if (rc)
        d->resident = NULL; /* the window's state is unknown */
    return rc;
}

int k210_kpu_run(k210_kpu_driver *d, const k210_kpu_job *job, int32_t *scratch)
{
    const hal_step *st = job->step;
    switch (job->kind) {
    case K210_STEP_UPLOAD:
        return run_upload(d, st);
    case K210_STEP_LAYER:
        return run_layer(d, job);
    default:
        st->op->run(&st->attrs, st->n_in, st->in, st->n_out, st->out, scratch);
        d->resident = NULL; /* its output may sit where the window's image was */
        return 0;
    }
}
