/* Reading whole files, for the host-side tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "detvm.h"

detvm_status detvm_read_file(const char *path, uint8_t **out, size_t *len, detvm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dv_fail(err, DETVM_ERUNTIME, "%s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *p = realloc(buf, cap + 1);
            if (!p) {
                free(buf);
                fclose(f);
                return dv_fail(err, DETVM_ERUNTIME, "%s: out of memory", path);
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return dv_fail(err, DETVM_ERUNTIME, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return DETVM_OK;
}
