/* Filling a detvm_error. */
#include <stdio.h>

#include "error.h"

detvm_status dv_vfail(detvm_error *err, detvm_status status, const char *fmt, va_list ap)
{
    if (err) {
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return status;
}

detvm_status dv_fail(detvm_error *err, detvm_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dv_vfail(err, status, fmt, ap);
    va_end(ap);
    return status;
}
