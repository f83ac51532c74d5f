/* A session's kernels and threads: which variant each CPU step runs, the session's threads and
 * their scratch (detvm.h, "Kernels and threads"). All of it is prepared when the session is
 * created or an option changes, never while a model runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "module_format.h"
#include "session.h"

#define ALL_ISA 0xFFFFFFFFu

static const struct {
    const char *name;
    detvm_kernels kernels;
} kernel_names[] = {
    {"auto", DETVM_KERNELS_AUTO}, {"ref", DETVM_KERNELS_REFERENCE},
    {"reference", DETVM_KERNELS_REFERENCE}, {"avx2", DETVM_KERNELS_AVX2},
    {"vnni", DETVM_KERNELS_VNNI},
};

detvm_status detvm_kernels_parse(const char *name, detvm_kernels *kernels, detvm_error *err)
{
    for (size_t i = 0; i < sizeof kernel_names / sizeof kernel_names[0]; i++)
        if (name && strcmp(name, kernel_names[i].name) == 0) {
            *kernels = kernel_names[i].kernels;
            return DETVM_OK;
        }
    return dv_fail(err, DETVM_EINVALID, "kernels: \"%s\" is not auto, ref, avx2 or vnni",
                   name ? name : "(null)");
}

/* The instruction sets a level allows. */
static uint32_t isa_allowed(detvm_kernels kernels)
{
    switch (kernels) {
    case DETVM_KERNELS_REFERENCE: return 0;
    case DETVM_KERNELS_AVX2: return DV_ISA_AVX2;
    case DETVM_KERNELS_VNNI: return DV_ISA_AVX2 | DV_ISA_VNNI;
    default: return ALL_ISA;
    }
}

int detvm_kernels_available(detvm_kernels kernels)
{
    if (kernels == DETVM_KERNELS_AUTO || kernels == DETVM_KERNELS_REFERENCE)
        return 1;
    uint32_t want = isa_allowed(kernels);
    if (kernels != DETVM_KERNELS_AVX2 && kernels != DETVM_KERNELS_VNNI)
        return 0;
    if ((dv_isa_detect() & want) != want)
        return 0;
    /* and this build has variants of that instruction set */
    uint32_t top = kernels == DETVM_KERNELS_VNNI ? DV_ISA_VNNI : DV_ISA_AVX2;
    for (uint32_t i = 0; i < dv_variant_count(); i++)
        if (dv_variant_at(i)->isa == top)
            return 1;
    return 0;
}

/* DETVM_THREADS: decimal, 1..DETVM_MAX_THREADS. */
static detvm_status parse_threads(const char *text, uint32_t *n, detvm_error *err)
{
    uint32_t v = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9' && v <= DETVM_MAX_THREADS)
        v = v * 10 + (uint32_t)(*p++ - '0');
    if (p == text || *p || v < 1 || v > DETVM_MAX_THREADS)
        return dv_fail(err, DETVM_ERUNTIME, "DETVM_THREADS: \"%s\" is not a number in 1..%d",
                       text, DETVM_MAX_THREADS);
    *n = v;
    return DETVM_OK;
}

static detvm_status check_threads(uint32_t n, const char *what, detvm_error *err)
{
    if (n < 1 || n > DETVM_MAX_THREADS)
        return dv_fail(err, DETVM_EINVALID, "%s: %u threads, need 1..%d", what, n,
                       DETVM_MAX_THREADS);
    if (n > hal_threads_max())
        return dv_fail(err, DETVM_ERUNTIME, "%s: %u threads, this build has at most %u", what, n,
                       hal_threads_max());
    return DETVM_OK;
}

/* Drops the variants, threads and scratch; the steps run the reference kernels. */
static void clear_kernels(detvm_session *s)
{
    for (uint32_t k = 0; k < s->module->n_instrs; k++) {
        s->steps[k].variant = NULL;
        s->steps[k].items = 0;
        s->steps[k].packing = NULL;
        s->steps[k].packed = NULL;
        if (s->packed_blocks) {
            free(s->packed_blocks[k]);
            s->packed_blocks[k] = NULL;
        }
    }
    for (uint32_t i = 0; i < s->n_segments; i++) {
        s->segments[i].segment.threads = NULL;
        s->segments[i].segment.thread_scratch = NULL;
        s->segments[i].segment.thread_scratch_len = 0;
    }
    hal_threads_free(s->threads);
    s->threads = NULL;
    free(s->thread_scratch_block);
    s->thread_scratch_block = NULL;
    s->thread_scratch = NULL;
    s->thread_scratch_len = 0;
}

/* Gives step k its constant inputs packed ahead when its variant has a packing and every
 * input the packing reads is a constant of the module: the module's own packed bytes when it
 * has them (vm/packs.c), else a packing made here. Without memory for it, the step packs in
 * every run as before: the bytes are the same. */
static void pack_constants(detvm_session *s, uint32_t k, const dv_shape *shapes)
{
    hal_step *st = &s->steps[k];
    const vm_instr *ins = &s->module->instrs[k];
    const dv_variant_packing *pk =
        dv_variant_packing_for(st->variant, ins->n_in, vm_constant_inputs(s->module, ins));
    if (!pk || !s->packed_blocks)
        return;
    const void *packed = vm_module_packed(s->module, k, pk);
    const uint64_t size = packed ? 0 : pk->packed_size(&st->attrs, st->n_in, shapes);
    if (!packed && size > 0)
        packed = vm_pack_new(pk, &st->attrs, st->n_in, st->in, size, &s->packed_blocks[k]);
    if (!packed)
        return;
    st->packing = pk;
    st->packed = packed;
}

/* Chooses the variant of every CPU step; returns the largest scratch one needs (int32s) and
 * whether any step has one. */
static uint64_t choose_variants(detvm_session *s, int *any)
{
    const uint32_t isa = dv_isa_detect() & s->env_isa & s->option_isa;
    uint64_t scratch = 0;
    *any = 0;
    for (uint32_t i = 0; i < s->n_segments && isa; i++) {
        const vm_segment_run *run = &s->segments[i];
        if (run->device != &hal_cpu)
            continue;
        for (uint32_t j = 0; j < run->segment.n_steps; j++) {
            hal_step *st = &s->steps[run->first + j];
            dv_shape shapes[DV_MAX_OP_INPUTS];
            for (uint32_t x = 0; x < st->n_in && x < DV_MAX_OP_INPUTS; x++)
                shapes[x] = st->in[x].shape;
            const uint32_t opcode = s->module->instrs[run->first + j].opcode;
            const dv_variant *v = st->n_in <= DV_MAX_OP_INPUTS
                                      ? dv_variant_find(opcode, isa, &st->attrs, st->n_in, shapes)
                                      : NULL;
            if (!v)
                continue;
            uint64_t items = v->items(&st->attrs, st->n_in, shapes);
            if (items < 1)
                continue;
            uint64_t need = v->scratch ? v->scratch(&st->attrs, st->n_in, shapes) : 0;
            if (need > scratch)
                scratch = need;
            st->variant = v;
            st->items = items;
            pack_constants(s, run->first + j, shapes);
            *any = 1;
        }
    }
    return scratch;
}

/* Chooses the variants again and creates the threads and scratch they need. On failure the
 * session is left on the reference kernels, which still run. */
static detvm_status prepare_variants(detvm_session *s, detvm_error *err)
{
    clear_kernels(s);
    int any;
    uint64_t need = choose_variants(s, &any);
    if (!any)
        return DETVM_OK;
    if (s->n_threads > 1) {
        s->threads = hal_threads_new(s->n_threads);
        if (!s->threads) {
            clear_kernels(s);
            return dv_fail(err, DETVM_ERUNTIME, "session: could not start %u threads",
                           s->n_threads);
        }
    }
    uint32_t n = hal_threads_count(s->threads);
    /* Each thread's part starts on a 64-byte boundary, so that threads share no cache line. */
    uint64_t len = (need + 15) / 16 * 16;
    if (len > 0) {
        if (len > (SIZE_MAX / sizeof(int32_t) - 16) / n) {
            clear_kernels(s);
            return dv_fail(err, DETVM_ERUNTIME, "session: kernel scratch too large");
        }
        s->thread_scratch_block = calloc((size_t)(len * n + 16), sizeof(int32_t));
        if (!s->thread_scratch_block) {
            clear_kernels(s);
            return dv_fail(err, DETVM_ERUNTIME,
                           "session: out of memory for %llu bytes of kernel scratch",
                           (unsigned long long)(len * n * sizeof(int32_t)));
        }
        uintptr_t at = (uintptr_t)s->thread_scratch_block;
        s->thread_scratch = (int32_t *)(at + (64 - at % 64) % 64);
        s->thread_scratch_len = len;
    }
    for (uint32_t i = 0; i < s->n_segments; i++) {
        hal_segment *seg = &s->segments[i].segment;
        seg->threads = s->threads;
        seg->thread_scratch = s->thread_scratch;
        seg->thread_scratch_len = s->thread_scratch_len;
    }
    return DETVM_OK;
}

/* Chooses the variants, then stages the int8 operands of the kernels that take int32 only
 * (which kernels those are depends on the choice). */
static detvm_status prepare(detvm_session *s, detvm_error *err)
{
    detvm_status st = prepare_variants(s, err);
    return st ? st : vm_session_stage(s, err);
}

detvm_status vm_session_prepare_kernels(detvm_session *s, detvm_error *err)
{
    s->packed_blocks = calloc(s->module->n_instrs + 1, sizeof *s->packed_blocks);
    if (!s->packed_blocks)
        return dv_fail(err, DETVM_ERUNTIME, "session: out of memory");
    s->env_isa = ALL_ISA;
    s->option_isa = ALL_ISA;
    s->n_threads = 1;
    const char *kernels = getenv("DETVM_KERNELS");
    if (kernels && *kernels) {
        detvm_kernels k = DETVM_KERNELS_AUTO;
        if (detvm_kernels_parse(kernels, &k, NULL) != DETVM_OK)
            return dv_fail(err, DETVM_ERUNTIME,
                           "DETVM_KERNELS: \"%s\" is not auto, ref, avx2 or vnni", kernels);
        s->env_isa = isa_allowed(k);
    }
    const char *threads = getenv("DETVM_THREADS");
    if (threads && *threads) {
        detvm_status st = parse_threads(threads, &s->n_threads, err);
        if (!st)
            st = check_threads(s->n_threads, "DETVM_THREADS", err);
        if (st)
            return st;
    }
    return prepare(s, err);
}

void vm_session_free_kernels(detvm_session *s)
{
    clear_kernels(s);
    free(s->packed_blocks);
    s->packed_blocks = NULL;
}

detvm_status detvm_session_set_kernels(detvm_session *s, detvm_kernels kernels, detvm_error *err)
{
    if (kernels != DETVM_KERNELS_AUTO && kernels != DETVM_KERNELS_REFERENCE &&
        kernels != DETVM_KERNELS_AVX2 && kernels != DETVM_KERNELS_VNNI)
        return dv_fail(err, DETVM_EINVALID, "kernels: %d is not a detvm_kernels value",
                       (int)kernels);
    s->option_isa = isa_allowed(kernels);
    return prepare(s, err);
}

detvm_status detvm_session_set_threads(detvm_session *s, uint32_t threads, detvm_error *err)
{
    detvm_status st = check_threads(threads, "threads", err);
    if (st)
        return st;
    s->n_threads = threads;
    return prepare(s, err);
}

uint32_t detvm_session_threads(const detvm_session *s)
{
    return s->n_threads;
}

/* The segment holding step k. */
static const vm_segment_run *segment_of(const detvm_session *s, uint32_t k)
{
    for (uint32_t i = 0; i < s->n_segments; i++)
        if (k >= s->segments[i].first && k - s->segments[i].first < s->segments[i].segment.n_steps)
            return &s->segments[i];
    return NULL;
}

const char *detvm_session_kernel(const detvm_session *s, uint32_t k)
{
    if (k >= s->module->n_instrs)
        return NULL;
    const vm_segment_run *run = segment_of(s, k);
    if (run && run->device != &hal_cpu)
        return run->device->name;
    return s->steps[k].variant ? s->steps[k].variant->name : "reference";
}

uint32_t vm_session_kernels(const detvm_session *s, const char **names, uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n_segments; i++) {
        const vm_segment_run *run = &s->segments[i];
        if (run->device != &hal_cpu)
            continue;
        for (uint32_t j = 0; j < run->segment.n_steps; j++) {
            const hal_step *st = &s->steps[run->first + j];
            const char *name = st->variant ? st->variant->name : "reference";
            uint32_t x = 0;
            while (x < n && strcmp(names[x], name) != 0)
                x++;
            if (x == n && n < cap)
                names[n++] = name;
        }
    }
    return n;
}
