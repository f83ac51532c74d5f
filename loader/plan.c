/* The memory plan: where each arena tensor lives, so that the arena stays near the peak of
 * simultaneously live tensor bytes (include/detvm.h, detvm_module_memory_plan, measures both).
 *
 * Lifetimes. Time 0 is the start, time k + 1 instruction k, time n + 1 the end. A tensor is
 * live from the time it is written (the input: 0) to the last time it is read (a model output:
 * n + 1; a tensor nobody reads: its own time). Two tensors whose lifetimes meet must not share
 * a byte; so an instruction's outputs never share memory with its inputs, which are live at
 * that instruction too.
 *
 * Placement. Offset assignment is the classic interval-packing problem (NP-hard in general);
 * the greedy heuristics below are near the bound on real models. Each takes the tensors in one
 * order and puts each at an offset among the tensors already placed whose lifetimes meet its
 * own: the lowest gap that holds it (first fit) or the smallest such gap (best fit), else after
 * the last of them. The orders: by size, largest first (TFLite's greedy-by-size planner); by
 * the breadth of the busiest time each tensor is live at, then size; by time of birth; and by
 * time of death, latest first (which packs chains from their end). The
 * plan with the smallest arena wins, the earlier in this list on a tie. Every order is total
 * (ties fall to the tensor index), so a model always gets the same plan: the module bytes do
 * not depend on the C library's sort. Offsets are 64-byte aligned (DVM_ALIGN). */
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "ir.h"

static uint64_t align_up(uint64_t v) { return (v + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN; }

typedef struct {
    uint32_t id;
    uint32_t born, dies;        /* times, inclusive */
    uint64_t bytes;
    uint64_t breadth;           /* the most live bytes at any time of its lifetime */
    uint32_t index;             /* its place in the list of lifetimes */
} lifetime;

typedef struct {
    uint64_t begin, end;
} span;

enum order { BY_SIZE, BY_BREADTH, BY_BIRTH, BY_DEATH, N_ORDERS };

static int cmp_u64_desc(uint64_t a, uint64_t b) { return (a < b) - (a > b); }
static int cmp_u32_asc(uint32_t a, uint32_t b) { return (a > b) - (a < b); }

static int by_size(const void *pa, const void *pb)
{
    const lifetime *a = pa, *b = pb;
    int c = cmp_u64_desc(a->bytes, b->bytes);
    if (!c)
        c = cmp_u32_asc(a->born, b->born);
    return c ? c : cmp_u32_asc(a->id, b->id);
}

static int by_breadth(const void *pa, const void *pb)
{
    const lifetime *a = pa, *b = pb;
    int c = cmp_u64_desc(a->breadth, b->breadth);
    return c ? c : by_size(pa, pb);
}

static int by_birth(const void *pa, const void *pb)
{
    const lifetime *a = pa, *b = pb;
    int c = cmp_u32_asc(a->born, b->born);
    return c ? c : cmp_u32_asc(a->id, b->id);
}

static int by_death(const void *pa, const void *pb)
{
    const lifetime *a = pa, *b = pb;
    int c = cmp_u32_asc(b->dies, a->dies);
    return c ? c : by_size(pa, pb);
}

static int by_begin(const void *pa, const void *pb)
{
    const span *a = pa, *b = pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    return (a->end > b->end) - (a->end < b->end);
}

/* Places the tensors of `order` (indices into life) one by one; writes offsets[i] for life[i]
 * and returns the arena's end. `placed` and `spans` are scratch of n entries. */
static uint64_t place_all(const lifetime *life, const uint32_t *order, uint32_t n, int best_fit,
                          uint64_t *offsets, uint32_t *placed, span *spans)
{
    uint64_t arena = 0;
    for (uint32_t i = 0; i < n; i++) {
        const lifetime *l = &life[order[i]];
        uint32_t n_spans = 0;
        for (uint32_t j = 0; j < i; j++) {
            const lifetime *o = &life[placed[j]];
            if (o->born <= l->dies && l->born <= o->dies)
                spans[n_spans++] = (span){offsets[placed[j]], offsets[placed[j]] + o->bytes};
        }
        qsort(spans, n_spans, sizeof *spans, by_begin);
        uint64_t at = 0, chosen = UINT64_MAX, chosen_gap = UINT64_MAX;
        for (uint32_t s = 0; s < n_spans; s++) {
            if (spans[s].begin >= at + l->bytes) {
                uint64_t gap = spans[s].begin - at;
                if (!best_fit) {
                    chosen = at;
                    break;
                }
                if (gap < chosen_gap) {
                    chosen_gap = gap;
                    chosen = at;
                }
            }
            if (align_up(spans[s].end) > at)
                at = align_up(spans[s].end);
        }
        if (chosen == UINT64_MAX)
            chosen = at;
        offsets[order[i]] = chosen;
        placed[i] = order[i];
        if (chosen + l->bytes > arena)
            arena = chosen + l->bytes;
    }
    return arena;
}

/* Each tensor's lifetime; the input and every tensor an instruction writes, in index order. */
static uint32_t lifetimes(const ir_module *m, lifetime *life, uint32_t *born, uint32_t *dies)
{
    const uint32_t n = m->n_instrs;
    born[m->input] = 1;
    for (uint32_t k = 0; k < n; k++) {
        const ir_instr *ins = &m->instrs[k];
        for (uint32_t j = 0; j < ins->n_in; j++)
            dies[ins->operands[j]] = k + 1;
        for (uint32_t o = 0; o < ins->n_out; o++) {
            uint32_t t = ins->operands[ins->n_in + o];
            born[t] = k + 2;
            if (dies[t] < k + 1)
                dies[t] = k + 1;
        }
    }
    for (uint32_t i = 0; i < m->n_outputs; i++)
        dies[m->outputs[i]] = n + 1;
    uint32_t count = 0;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const ir_tensor *it = &m->tensors[t];
        if (!dvm_storage_in_arena(it->storage) || !born[t])
            continue;
        uint32_t from = born[t] - 1;
        life[count] = (lifetime){t, from, dies[t] > from ? dies[t] : from,
                                 dv_shape_size(&it->shape) * dvm_storage_bytes(it->storage), 0,
                                 count};
        count++;
    }
    return count;
}

/* Each lifetime's breadth: the most bytes live at once during it. */
static void breadths(lifetime *life, uint32_t count, uint32_t times, uint64_t *live)
{
    memset(live, 0, (size_t)times * sizeof *live);
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t t = life[i].born; t <= life[i].dies; t++)
            live[t] += life[i].bytes;
    for (uint32_t i = 0; i < count; i++)
        for (uint32_t t = life[i].born; t <= life[i].dies; t++)
            if (live[t] > life[i].breadth)
                life[i].breadth = live[t];
}

static uint64_t kernel_scratch(const ir_module *m)
{
    uint64_t scratch = 0;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const ir_instr *ins = &m->instrs[k];
        const dv_op_info *info = dv_op_lookup(ins->opcode);
        if (!info || !info->scratch)
            continue;
        dv_shape in[DV_MAX_OP_INPUTS];
        for (uint32_t j = 0; j < ins->n_in; j++)
            in[j] = m->tensors[ins->operands[j]].shape;
        dv_attrs attrs = {ins->attrs, ins->n_attrs};
        uint64_t need = info->scratch(&attrs, ins->n_in, in) * 4;
        if (need > scratch)
            scratch = need;
    }
    return scratch;
}

detvm_status ir_plan_memory(ir_module *m, detvm_error *err)
{
    const uint32_t n_t = m->n_tensors, times = m->n_instrs + 2;
    uint32_t *born = calloc((size_t)n_t + 1, sizeof *born);
    uint32_t *dies = calloc((size_t)n_t + 1, sizeof *dies);
    lifetime *life = calloc((size_t)n_t + 1, sizeof *life);
    lifetime *sorted = calloc((size_t)n_t + 1, sizeof *sorted);
    uint32_t *order = calloc((size_t)n_t + 1, sizeof *order);
    uint32_t *placed = calloc((size_t)n_t + 1, sizeof *placed);
    span *spans = calloc((size_t)n_t + 1, sizeof *spans);
    uint64_t *offsets = calloc((size_t)n_t + 1, sizeof *offsets);
    uint64_t *best = calloc((size_t)n_t + 1, sizeof *best);
    uint64_t *live = calloc((size_t)times, sizeof *live);
    detvm_status st = DETVM_OK;
    if (!born || !dies || !life || !sorted || !order || !placed || !spans || !offsets || !best ||
        !live) {
        st = dv_fail(err, DETVM_ERUNTIME, "memory plan: out of memory");
        goto done;
    }
    uint32_t count = lifetimes(m, life, born, dies);
    breadths(life, count, times, live);

    static int (*const orders[N_ORDERS])(const void *, const void *) = {by_size, by_breadth,
                                                                        by_birth, by_death};
    uint64_t best_arena = UINT64_MAX;
    for (int o = 0; o < N_ORDERS; o++) {
        memcpy(sorted, life, (size_t)count * sizeof *sorted);
        qsort(sorted, count, sizeof *sorted, orders[o]);
        for (uint32_t i = 0; i < count; i++)
            order[i] = sorted[i].index;
        for (int best_fit = 0; best_fit < 2; best_fit++) {
            uint64_t arena = place_all(life, order, count, best_fit, offsets, placed, spans);
            if (arena < best_arena) {
                best_arena = arena;
                memcpy(best, offsets, (size_t)count * sizeof *best);
            }
        }
    }
    uint64_t arena = 0;
    for (uint32_t t = 0; t < n_t; t++) /* tensors nobody writes: at 0, inside the arena */
        if (dvm_storage_in_arena(m->tensors[t].storage)) {
            m->tensors[t].offset = 0;
            uint64_t bytes =
                dv_shape_size(&m->tensors[t].shape) * dvm_storage_bytes(m->tensors[t].storage);
            if (bytes > arena)
                arena = bytes;
        }
    for (uint32_t i = 0; i < count; i++) {
        m->tensors[life[i].id].offset = best[i];
        if (best[i] + life[i].bytes > arena)
            arena = best[i] + life[i].bytes;
    }
    m->arena_bytes = align_up(arena);
    m->scratch_bytes = align_up(kernel_scratch(m));
done:
    free(born);
    free(dies);
    free(life);
    free(sorted);
    free(order);
    free(placed);
    free(spans);
    free(offsets);
    free(best);
    free(live);
    return st;
}
