/* The runtime core as K210 firmware: `make riscv64` cross-compiles vm/, ops/ and hal/ (the
 * k210 device with its memory-mapped register sink) freestanding for riscv64 with picolibc and
 * links them with this program, which runs a module held in flash. It proves the core builds
 * and links for the board with no library beyond a small C library; it is not run here. */
#include <stddef.h>
#include <stdint.h>

#include "detvm.h"

/* A firmware image links its module in; the build here gives an empty one. */
__attribute__((weak)) const uint8_t detvm_firmware_module[64];
__attribute__((weak)) const size_t detvm_firmware_module_len = sizeof detvm_firmware_module;

static uint8_t input[320 * 240 * 3];
static uint8_t output[64 * 1024];

int main(void)
{
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err;
    if (detvm_module_load(detvm_firmware_module, detvm_firmware_module_len, &m, &err))
        return 1;
    int status = detvm_session_new(m, &s, &err);
    if (!status)
        status = detvm_session_set_trace(s, DETVM_TRACE_FAST, &err);
    if (!status)
        status = detvm_run(s, input, sizeof input, output, sizeof output, &err);
    detvm_session_free(s);
    detvm_module_free(m);
    return status;
}
