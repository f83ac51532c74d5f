/* The command's output: files written so that no half-written file is ever left behind, and
 * JSON documents printed. */
#ifndef DETVM_CLI_IO_H
#define DETVM_CLI_IO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Writes to a temporary file beside PATH, syncs it and renames it over PATH; the file gets the
 * mode a new file would (0666 less the umask). */
int io_write_file(const char *path, const void *data, size_t len);
/* The same with the permission bits `mode` (less the umask) instead of 0666: 0600 for secrets. */
int io_write_file_mode(const char *path, const void *data, size_t len, unsigned mode);

/* Prints `doc` to stdout (indented by one space a level, then a newline) and frees it. */
void io_print_json(json_t *doc);

#endif
