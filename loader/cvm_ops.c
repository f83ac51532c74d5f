/* The CVM operator table (operator name -> definition; each family file defines its entries
 * as cvm_def_<OPCODE SUFFIX>), and the helpers the families share. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../vm/error.h"
#include "cvm_ops.h"

#define OP(name)
#define FLOAT_OP(name)
#define CVM_OP(name) extern const cvm_op_def cvm_def_##name;
#include "../ops/optable.inc"
#undef CVM_OP

static const cvm_op_def *const cvm_defs[] = {
#define CVM_OP(name) &cvm_def_##name,
#include "../ops/optable.inc"
#undef CVM_OP
#undef FLOAT_OP
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
    dv_one_line(err->message);
    return -1;
}

int cvm_node_set(cvm_node *n, uint32_t opcode, uint32_t n_in, uint32_t n_attr)
{
    n->opcode = opcode;
    n->n_in_expected = n_in;
    n->n_out = 1;
    n->n_attr = n_attr;
    return 0;
}

int cvm_parse_without_attrs(cvm_node *n, uint32_t opcode, uint32_t n_in, detvm_error *err)
{
    n->attrs->err = err; /* cvm_attr_none reports through it */
    if (cvm_attr_none(n->attrs))
        return -1;
    return cvm_node_set(n, opcode, n_in, 0);
}

int cvm_read_shape_attr(cvm_node *n, const char *key, int required, const cvm_tuple *def,
                        cvm_tuple *out, detvm_error *err)
{
    const char *raw;
    if (cvm_attr_string(n->attrs, key, 0, 0, &raw) != 0)
        return -1;
    if (raw && strcmp(raw, "None") == 0)
        return cvm_fail(err, DETVM_ERUNTIME, n, "%s: invalid tuple 'None'", key);
    return cvm_attr_tuple(n->attrs, key, required, def, out, 0);
}

int cvm_dtype_known(const char *name)
{
    static const char *const names[] = {
        "float16", "float32", "float64", "uint8", "uint16", "uint32",
        "uint64",  "int8",    "int16",   "int32", "int64",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

int cvm_verify_range(cvm_node *n, detvm_error *err, const char *name, int64_t value,
                     int64_t min, int64_t max)
{
    if (value < min || value > max)
        return cvm_fail(err, DETVM_EINVALID, n, "%s: %lld is out of range [%lld, %lld]", name,
                        (long long)value, (long long)min, (long long)max);
    return 0;
}

int cvm_check_input_precisions(cvm_node *n, detvm_error *err)
{
    for (uint32_t i = 0; i < n->n_in; i++)
        if (n->in_prec[i] == -1)
            return cvm_fail(err, DETVM_EINVALID, n, "input %u: precision has not been inferred",
                            i);
    return 0;
}

int cvm_precision_same(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err))
        return -1;
    n->out_prec[0] = n->in_prec[0];
    return 0;
}

int cvm_precision_plus(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err))
        return -1;
    int32_t a = n->in_prec[0], b = n->in_prec[1];
    n->out_prec[0] = (a > b ? a : b) + 1;
    return 0;
}

int cvm_precision_max_in(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err))
        return -1;
    if (n->n_in == 0)
        return cvm_fail(err, DETVM_EINVALID, n, "no inputs");
    int32_t widest = n->in_prec[0];
    for (uint32_t i = 1; i < n->n_in; i++)
        if (n->in_prec[i] > widest)
            widest = n->in_prec[i];
    n->out_prec[0] = widest;
    return 0;
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
