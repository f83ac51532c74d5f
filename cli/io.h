/* Writing files from the CLI so that no half-written file is ever left behind. */
#ifndef DETVM_CLI_IO_H
#define DETVM_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

/* Writes to a temporary file beside PATH, syncs it and renames it over PATH. */
int io_write_file(const char *path, const void *data, size_t len);

#endif
