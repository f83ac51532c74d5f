/* The CVM side of the broadcasting ops and `where` (kernels in ops/broadcast.c): none has
 * attributes; their shapes are all checked by ops/ infer; what remains is precision
 * inference as the CVM runtime's FInferPrecision functions do it. Their CPU and formal
 * back ends agree on every shape the kernels accept. */
#include <stdint.h>

#include "cvm_ops.h"

static int parse_without_attrs(cvm_node *n, uint32_t opcode, uint32_t n_in,
                               detvm_error *err)
{
    n->attrs->err = err; /* cvm_attr_none reports through it */
    if (cvm_attr_none(n->attrs))
        return -1;
    n->opcode = opcode;
    n->n_attr = 0;
    n->n_in_expected = n_in;
    n->n_out = 1;
    return 0;
}

#define PARSE_WITHOUT_ATTRS(fn, code, arity)                                                \
    static int fn(cvm_node *n, detvm_error *err)                                            \
    {                                                                                       \
        return parse_without_attrs(n, code, arity, err);                                    \
    }

PARSE_WITHOUT_ATTRS(parse_broadcast_add, DV_OP_BROADCAST_ADD, 2)
PARSE_WITHOUT_ATTRS(parse_broadcast_sub, DV_OP_BROADCAST_SUB, 2)
PARSE_WITHOUT_ATTRS(parse_broadcast_mul, DV_OP_BROADCAST_MUL, 2)
PARSE_WITHOUT_ATTRS(parse_broadcast_div, DV_OP_BROADCAST_DIV, 2)
PARSE_WITHOUT_ATTRS(parse_broadcast_greater, DV_OP_BROADCAST_GREATER, 2)
PARSE_WITHOUT_ATTRS(parse_broadcast_max, DV_OP_BROADCAST_MAX, 2)
PARSE_WITHOUT_ATTRS(parse_where, DV_OP_WHERE, 3)

/* Fails unless every input's precision is known (the runtime's IN_PREC_CHECK). */
static int check_input_precisions(cvm_node *n, detvm_error *err)
{
    for (uint32_t i = 0; i < n->n_in; i++)
        if (n->in_prec[i] == -1)
            return cvm_fail(err, DETVM_EINVALID, n, "input %u: precision has not been inferred",
                            i);
    return 0;
}

/* broadcast_add, broadcast_sub: one bit more than the wider input (BinaryPlusPrecision). */
static int precision_plus(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (check_input_precisions(n, err))
        return -1;
    int32_t a = n->in_prec[0], b = n->in_prec[1];
    n->out_prec[0] = (a > b ? a : b) + 1;
    return 0;
}

/* broadcast_mul: the sum of the input precisions (BinaryMultiplyPrecision). */
static int precision_multiply(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (check_input_precisions(n, err))
        return -1;
    n->out_prec[0] = n->in_prec[0] + n->in_prec[1];
    return 0;
}

/* broadcast_max: the wider input's (MaxInPrecision). */
static int precision_max_in(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (check_input_precisions(n, err))
        return -1;
    int32_t a = n->in_prec[0], b = n->in_prec[1];
    n->out_prec[0] = a > b ? a : b;
    return 0;
}

/* broadcast_div, broadcast_greater, where: the first input's (SamePrecision). For `where`
 * that is the condition's precision, whatever x and y hold: its output can carry values
 * wider than its declared precision, which is why the kernels downstream wrap. */
static int precision_first(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (check_input_precisions(n, err))
        return -1;
    n->out_prec[0] = n->in_prec[0];
    return 0;
}

const cvm_op_def cvm_def_BROADCAST_ADD = {"broadcast_add", parse_broadcast_add, 0,
                                          precision_plus, 0};
const cvm_op_def cvm_def_BROADCAST_SUB = {"broadcast_sub", parse_broadcast_sub, 0,
                                          precision_plus, 0};
const cvm_op_def cvm_def_BROADCAST_MUL = {"broadcast_mul", parse_broadcast_mul, 0,
                                          precision_multiply, 0};
const cvm_op_def cvm_def_BROADCAST_DIV = {"broadcast_div", parse_broadcast_div, 0,
                                          precision_first, 0};
const cvm_op_def cvm_def_BROADCAST_GREATER = {"broadcast_greater", parse_broadcast_greater,
                                              0, precision_first, 0};
const cvm_op_def cvm_def_BROADCAST_MAX = {"broadcast_max", parse_broadcast_max, 0,
                                          precision_max_in, 0};
const cvm_op_def cvm_def_WHERE = {"where", parse_where, 0, precision_first, 0};
