/* The CPU device: runs each step in order, through its kernel variant when the session chose
 * one, else through the reference kernel, widening and narrowing the int8 operands of kernels
 * that take int32 only (hal_staged). It holds no state of its own, so submit completes the
 * work and wait hands back the tag.
 *
 * A variant's items [0, items) are split among the segment's T threads in a fixed way: thread
 * t computes [items * t / T, items * (t + 1) / T), with its own scratch. Each output element
 * belongs to exactly one item, so every T gives the bytes of T = 1 (ops/variant.h). */
#include <stdlib.h>

#include "hal.h"

typedef struct {
    const hal_segment *segment;
    const hal_step *step;
    uint32_t n_threads;
} variant_share;

static void run_share(void *user, uint32_t t)
{
    const variant_share *v = user;
    const hal_step *s = v->step;
    const uint64_t begin = s->items * t / v->n_threads;
    const uint64_t end = s->items * (t + 1) / v->n_threads;
    int32_t *scratch = v->segment->thread_scratch
                           ? v->segment->thread_scratch + v->segment->thread_scratch_len * t
                           : NULL;
    if (begin >= end)
        return;
    if (s->packed)
        s->packing->run_packed(&s->attrs, s->n_in, s->in, s->n_out, s->out, s->packed, scratch,
                               begin, end);
    else
        s->variant->run(&s->attrs, s->n_in, s->in, s->n_out, s->out, scratch, begin, end);
}

static void run_variant(const hal_segment *seg, const hal_step *s)
{
    uint32_t n = hal_threads_count(seg->threads);
    if ((uint64_t)n > s->items)
        n = (uint32_t)s->items;
    variant_share share = {seg, s, n};
    hal_threads_run(seg->threads, n, run_share, &share);
}

typedef struct {
    const hal_segment *segment;
    void *tag;
    int pending;
} cpu_job;

static int cpu_probe(void) { return 0; }

static int cpu_supports(uint32_t opcode) { return dv_op_lookup(opcode) != NULL; }

/* Widens the step's staged int8 inputs (before == 1) or narrows its outputs (before == 0). */
static void stage(const hal_step *s, int before)
{
    for (uint32_t i = 0; i < s->n_staged; i++) {
        const hal_staged *g = &s->staged[i];
        const uint64_t n = dv_shape_size(&g->stored.shape);
        if (before && !g->is_output)
            dv_widen_i8(g->stored.i8, g->wide.data, n);
        else if (!before && g->is_output)
            dv_narrow_i8(g->wide.data, g->stored.i8, n);
    }
}

static void run_segment(const hal_segment *seg)
{
    for (uint32_t i = 0; i < seg->n_steps; i++) {
        const hal_step *s = &seg->steps[i];
        stage(s, 1);
        if (s->variant) {
            run_variant(seg, s);
        } else {
            /* the workers take long to wake: start them now if the next step needs them */
            if (seg->threads && i + 1 < seg->n_steps && seg->steps[i + 1].variant)
                hal_threads_wake(seg->threads);
            s->op->run(&s->attrs, s->n_in, s->in, s->n_out, s->out, seg->scratch);
        }
        stage(s, 0);
        if (seg->after_step && seg->after_step(seg->hook_user, i))
            break;
    }
}

/* Preparing happens when a session is created, never while a model runs. */
static int cpu_prepare(const hal_segment *segment, void **handle)
{
    cpu_job *job = calloc(1, sizeof *job);
    if (!job)
        return -1;
    job->segment = segment;
    *handle = job;
    return 0;
}

static int cpu_submit(void *handle, void *tag)
{
    cpu_job *job = handle;
    if (job->pending)
        return -1;
    run_segment(job->segment);
    job->tag = tag;
    job->pending = 1;
    return 0;
}

static int cpu_wait(void *handle, void **tag)
{
    cpu_job *job = handle;
    if (!job->pending)
        return -1;
    job->pending = 0;
    *tag = job->tag;
    return 0;
}

static void cpu_release(void *handle) { free(handle); }

const hal_device hal_cpu = {
    .name = "cpu",
    .probe = cpu_probe,
    .supports = cpu_supports,
    .prepare = cpu_prepare,
    .submit = cpu_submit,
    .wait = cpu_wait,
    .release = cpu_release,
};
