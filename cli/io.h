/* Writing files from the CLI so that no half-written file is ever left behind. */
#ifndef DETVM_CLI_IO_H
#define DETVM_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

/* Writes to a temporary file beside PATH, syncs it and renames it over PATH; the file gets the
 * mode a new file would (0666 less the umask). */
int io_write_file(const char *path, const void *data, size_t len);
/* The same with the permission bits `mode` (less the umask) instead of 0666: 0600 for secrets. */
int io_write_file_mode(const char *path, const void *data, size_t len, unsigned mode);

#endif
