/* Small helpers of the intermediate form. */
#include <stdarg.h>
#include <stdio.h>

#include "ir.h"

void ir_warn(ir_module *m, const char *fmt, ...)
{
    size_t room = sizeof m->warnings - m->warnings_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->warnings + m->warnings_len, room, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 1 <= room)
        m->warnings_len += (uint32_t)n + 1;
    else
        m->warnings[m->warnings_len] = 0;
}
