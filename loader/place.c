/* The placement pass (ir.h): device segments. */
#include <stdlib.h>

#include "../hal/hal.h"
#include "../vm/error.h"
#include "ir.h"

detvm_status ir_place_devices(ir_module *m, detvm_error *err)
{
    free(m->segments);
    m->segments = NULL;
    m->n_segments = 0;
    uint32_t cap = 0;
    for (uint32_t k = 0; k < m->n_instrs;) {
        const hal_device *device = NULL;
        uint32_t kind = HAL_DEVICE_CPU + 1;
        for (; kind < HAL_DEVICE_LIMIT; kind++) {
            device = hal_device_of_kind(kind);
            if (device && device->supports(m->instrs[k].opcode))
                break;
        }
        if (kind == HAL_DEVICE_LIMIT) {
            k++;
            continue;
        }
        uint32_t first = k;
        while (k < m->n_instrs && device->supports(m->instrs[k].opcode))
            k++;
        if (m->n_segments == cap) {
            cap = cap ? 2 * cap : 16;
            uint32_t *grown = realloc(m->segments, 3 * sizeof *grown * cap);
            if (!grown)
                return dv_fail(err, DETVM_ERUNTIME, "placement: out of memory");
            m->segments = grown;
        }
        uint32_t *seg = m->segments + 3 * m->n_segments++;
        seg[0] = first;
        seg[1] = k - first;
        seg[2] = kind;
    }
    return DETVM_OK;
}
