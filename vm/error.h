/* Filling a detvm_error: one line, naming what went wrong and where. */
#ifndef DETVM_VM_ERROR_H
#define DETVM_VM_ERROR_H

#include <stdarg.h>

#include "detvm.h"

/* Sets err (when not NULL) and returns the status. */
detvm_status dv_fail(detvm_error *err, detvm_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
detvm_status dv_vfail(detvm_error *err, detvm_status status, const char *fmt, va_list ap);

/* Replaces control characters (a newline inside a name quoted from a hostile file, say) with
 * '?', so that a message stays one line. Every writer of a message calls it. */
void dv_one_line(char *message);

#endif
