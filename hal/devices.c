/* The devices this build has, by kind (hal.h). */
#include "hal.h"

const hal_device *hal_device_of_kind(uint32_t kind)
{
    switch (kind) {
    case HAL_DEVICE_CPU: return &hal_cpu;
    default: return NULL;
    }
}
