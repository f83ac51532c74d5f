/* File helpers of the CLI: whole-file reads, and writes that never leave a half-written file. */
#ifndef DETVM_CLI_IO_H
#define DETVM_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0, or -1 after printing "detvm: PATH: reason" to stderr. */
int io_read_file(const char *path, uint8_t **data, size_t *len);
/* Writes to a temporary file beside PATH, syncs it and renames it over PATH. */
int io_write_file(const char *path, const void *data, size_t len);

#endif
