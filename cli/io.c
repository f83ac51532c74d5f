/* The command's output: files written whole, JSON printed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "detvm.h"
#include "io.h"

int io_write_file(const char *path, const void *data, size_t len)
{
    return io_write_file_mode(path, data, len, 0666);
}

int io_write_file_mode(const char *path, const void *data, size_t len, unsigned mode)
{
    /* mkstemp creates the file 0600; it gets the mode asked for, less the umask, before any
     * byte is written, so a secret is never readable by others even for a moment. */
    mode_t mask = umask(0);
    umask(mask);
    detvm_error err = {0};
    if (detvm_write_file(path, data, len, (unsigned)((mode_t)mode & 0777 & ~mask), 0, &err)) {
        fprintf(stderr, "detvm: %s\n", err.message);
        return -1;
    }
    return 0;
}

void io_print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(1));
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}
