/* The devices this build has, by kind (hal.h). */
#include "hal.h"
#include "k210/k210.h"

const hal_device *hal_device_of_kind(uint32_t kind)
{
    switch (kind) {
    case HAL_DEVICE_CPU: return &hal_cpu;
    case HAL_DEVICE_K210: return &hal_k210;
    default: return NULL;
    }
}
