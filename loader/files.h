/* Writing whole files, for the host-side tools (the registry, the command): the bytes go to a
 * temporary file beside the destination, synced, and the caller moves it into place (rename
 * to replace, link to create only), so that no half-written file is ever left behind. */
#ifndef DETVM_LOADER_FILES_H
#define DETVM_LOADER_FILES_H

#include <stddef.h>

/* Writes `len` bytes to a new file "PATH.tmp.XXXXXX" whose permission bits are set to `mode`
 * before any byte is written, then syncs and closes it. Returns its name (malloc'd), for the
 * caller to move into place and then unlink and free; or NULL with errno set, the temporary
 * file removed. */
char *dv_write_temp_file(const char *path, const void *data, size_t len, unsigned mode);

#endif
