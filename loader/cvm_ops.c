/* The CVM operator table (operator name -> definition; each family file defines its entries
 * as cvm_def_<OPCODE SUFFIX>), and the helpers the families share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cvm_ops.h"

#define OP(name) extern const cvm_op_def cvm_def_##name;
#include "../ops/optable.inc"
#undef OP

static const cvm_op_def *const cvm_defs[] = {
#define OP(name) &cvm_def_##name,
#include "../ops/optable.inc"
#undef OP
};

const cvm_op_def *cvm_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof cvm_defs / sizeof cvm_defs[0]; i++)
        if (strcmp(cvm_defs[i]->name, name) == 0)
            return cvm_defs[i];
    return NULL;
}

int cvm_fail(detvm_error *err, detvm_status status, const cvm_node *n, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->status = status;
    int used = 0;
    if (n && n->attrs)
        used = snprintf(err->message, sizeof err->message, "node %s (%s): ", n->attrs->node,
                        n->attrs->op);
    if (used < 0 || (size_t)used >= sizeof err->message)
        used = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof err->message - (size_t)used, fmt, ap);
    va_end(ap);
    return -1;
}

int32_t cvm_number_precision(int64_t n)
{
    int32_t prec = 0;
    uint64_t v = (uint64_t)n + 1;
    while (v != 0) {
        prec++;
        v >>= 1;
    }
    return prec + 1;
}

int32_t cvm_reduce_sum_bits(int64_t n)
{
    int32_t prec = 0;
    uint64_t v = (uint64_t)n;
    while (v != 0) {
        prec++;
        v >>= 1;
    }
    return prec;
}
