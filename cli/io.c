/* Writing files from the CLI. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

int io_write_file(const char *path, const void *data, size_t len)
{
    return io_write_file_mode(path, data, len, 0666);
}

int io_write_file_mode(const char *path, const void *data, size_t len, unsigned mode)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        fprintf(stderr, "detvm: %s: out of memory\n", path);
        return -1;
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "detvm: %s: %s\n", path, strerror(errno));
        free(tmp);
        return -1;
    }
    /* mkstemp creates the file 0600; give it the mode asked for, less the umask, before any
     * byte is written, so a secret is never readable by others even for a moment. */
    mode_t mask = umask(0);
    umask(mask);
    const uint8_t *p = data;
    size_t done = 0;
    int ok = fchmod(fd, (mode_t)mode & 0777 & ~mask) == 0;
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
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "detvm: %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
