/* The CPU device: runs each step's reference kernel in order. It holds no state of its own,
 * so submit completes the work and wait hands back the tag. */
#include <stdlib.h>

#include "hal.h"

typedef struct {
    const hal_segment *segment;
    void *tag;
    int pending;
} cpu_job;

static int cpu_probe(void) { return 0; }

static int cpu_supports(uint32_t opcode) { return dv_op_lookup(opcode) != NULL; }

static void run_segment(const hal_segment *seg)
{
    for (uint32_t i = 0; i < seg->n_steps; i++) {
        const hal_step *s = &seg->steps[i];
        s->op->run(&s->attrs, s->n_in, s->in, s->n_out, s->out, seg->scratch);
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
