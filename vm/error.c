/* Filling a detvm_error. */
#include <stdio.h>

#include "error.h"

void dv_one_line(char *message)
{
    for (unsigned char *p = (unsigned char *)message; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            *p = '?';
}

detvm_status dv_vfail(detvm_error *err, detvm_status status, const char *fmt, va_list ap)
{
    if (err) {
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        dv_one_line(err->message);
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
