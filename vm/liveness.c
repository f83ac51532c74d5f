/* The memory plan against its lower bound: the most bytes of arena tensors live at one time
 * (include/detvm.h, detvm_module_memory_plan). Time runs 0 (the start: the input), k + 1
 * (instruction k, whose inputs and outputs are live together), n + 1 (the end: the outputs),
 * as in the static check of the plan (verify/static_check.c). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "module.h"
#include "module_format.h"

static uint64_t align64(uint64_t v) { return (v + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN; }

void vm_lifetimes(const detvm_module *m, uint32_t *born, uint32_t *dies)
{
    const uint32_t n = m->n_instrs;
    born[m->input] = 1;
    for (uint32_t k = 0; k < n; k++) {
        const vm_instr *ins = &m->instrs[k];
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
}

detvm_status detvm_module_memory_plan(const detvm_module *m, detvm_memory_plan *plan,
                                      detvm_error *err)
{
    memset(plan, 0, sizeof *plan);
    plan->arena_bytes = m->arena_bytes;
    plan->scratch_bytes = m->scratch_bytes;
    plan->peak_step = UINT32_MAX;
    const uint32_t n = m->n_instrs, times = n + 2;
    /* born[t]: 1 + the time tensor t is written (0: never); dies[t]: its last time */
    uint32_t *born = calloc((size_t)m->n_tensors + 1, sizeof *born);
    uint32_t *dies = calloc((size_t)m->n_tensors + 1, sizeof *dies);
    /* the change of live bytes at each time, raw and aligned, as differences */
    int64_t *delta = calloc((size_t)times + 1, 2 * sizeof *delta);
    if (!born || !dies || !delta) {
        free(born);
        free(dies);
        free(delta);
        return dv_fail(err, DETVM_ERUNTIME, "memory plan: out of memory");
    }
    vm_lifetimes(m, born, dies);
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const vm_tensor *vt = &m->tensors[t];
        if (vt->storage != DVM_STORAGE_ARENA || !born[t])
            continue;
        uint32_t from = born[t] - 1, to = dies[t] > from ? dies[t] : from;
        uint64_t bytes = vm_tensor_bytes(vt);
        delta[2 * from] += (int64_t)bytes;
        delta[2 * (to + 1)] -= (int64_t)bytes;
        delta[2 * from + 1] += (int64_t)align64(bytes);
        delta[2 * (to + 1) + 1] -= (int64_t)align64(bytes);
        plan->tensor_bytes += bytes;
        plan->n_tensors++;
        plan->n_int8_tensors += vt->elem_bytes == 1;
    }
    int64_t live = 0, live_aligned = 0;
    for (uint32_t time = 0; time < times; time++) {
        live += delta[2 * time];
        live_aligned += delta[2 * time + 1];
        if ((uint64_t)live > plan->peak_live_bytes) {
            plan->peak_live_bytes = (uint64_t)live;
            plan->peak_step = time == 0 || time > n ? UINT32_MAX : time - 1;
        }
        if ((uint64_t)live_aligned > plan->peak_live_aligned)
            plan->peak_live_aligned = (uint64_t)live_aligned;
    }
    free(born);
    free(dies);
    free(delta);
    return DETVM_OK;
}
