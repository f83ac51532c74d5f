/* Reading and writing whole files, for the host-side tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vm/error.h"
#include "detvm.h"

detvm_status detvm_read_file(const char *path, uint8_t **out, size_t *len, detvm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dv_fail(err, DETVM_ERUNTIME, "%s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    /* a regular file's size is known: one allocation, one copy (the loop still reads to the
     * end, in case the file grew) */
    struct stat st;
    size_t hint = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
                          (uint64_t)st.st_size < SIZE_MAX / 2
                      ? (size_t)st.st_size + 1
                      : 0;
    for (;;) {
        if (n == cap) { /* grow, keeping the bytes 64-byte aligned (module constants and
                           pre-packed weights are used in place) */
            cap = cap ? cap * 2 : hint > (1 << 16) ? hint : 1 << 16;
            void *p = NULL;
            if (posix_memalign(&p, 64, cap + 1) != 0) {
                free(buf);
                fclose(f);
                return dv_fail(err, DETVM_ERUNTIME, "%s: out of memory", path);
            }
            if (n)
                memcpy(p, buf, n);
            free(buf);
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

/* Writes `len` bytes to a new file "PATH.tmp.XXXXXX" whose permission bits are set to `mode`
 * before any byte is written, then syncs and closes it. Returns its name (malloc'd); or NULL
 * with errno set, the temporary file removed. */
static char *write_temp_file(const char *path, const void *data, size_t len, unsigned mode)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) {
        errno = ENOMEM;
        return NULL;
    }
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        errno = e;
        return NULL;
    }
    const uint8_t *p = data;
    size_t done = 0;
    int ok = fchmod(fd, (mode_t)mode) == 0;
    while (ok && done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (ok)
            done += (size_t)w;
    }
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        int e = errno ? errno : EIO;
        unlink(tmp);
        free(tmp);
        errno = e;
        return NULL;
    }
    return tmp;
}

detvm_status detvm_write_file(const char *path, const void *data, size_t len, unsigned mode,
                              int create_only, detvm_error *err)
{
    char *tmp = write_temp_file(path, data, len, mode);
    int e = tmp ? 0 : errno;
    if (tmp) {
        if ((create_only ? link(tmp, path) : rename(tmp, path)) != 0)
            e = errno;
        if (create_only || e)
            unlink(tmp);
        free(tmp);
    }
    if (!e)
        return DETVM_OK;
    detvm_status st = dv_fail(err, DETVM_ERUNTIME, "%s: %s", path, strerror(e));
    errno = e;
    return st;
}
