/* The CVM side of the broadcasting ops and `where` (kernels in ops/broadcast.c): none has
 * attributes; their shapes are all checked by ops/ infer; what remains is precision
 * inference as the CVM runtime's FInferPrecision functions do it. Their CPU and formal
 * back ends agree on every shape the kernels accept. */
#include <stdint.h>

#include "cvm_ops.h"

CVM_PARSE_WITHOUT_ATTRS(parse_broadcast_add, DV_OP_BROADCAST_ADD, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_broadcast_sub, DV_OP_BROADCAST_SUB, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_broadcast_mul, DV_OP_BROADCAST_MUL, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_broadcast_div, DV_OP_BROADCAST_DIV, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_broadcast_greater, DV_OP_BROADCAST_GREATER, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_broadcast_max, DV_OP_BROADCAST_MAX, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_where, DV_OP_WHERE, 3)

/* broadcast_mul: the sum of the input precisions (BinaryMultiplyPrecision). */
static int precision_multiply(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err))
        return -1;
    n->out_prec[0] = n->in_prec[0] + n->in_prec[1];
    return 0;
}

/* The other rules are shared: broadcast_add and broadcast_sub, cvm_precision_plus
 * (BinaryPlusPrecision); broadcast_max, cvm_precision_max_in (MaxInPrecision);
 * broadcast_div, broadcast_greater and where, cvm_precision_same (SamePrecision). For
 * `where` that is the condition's precision, whatever x and y hold: its output can carry
 * values wider than its declared precision, which is why the kernels downstream wrap. */

const cvm_op_def cvm_def_BROADCAST_ADD = {"broadcast_add", parse_broadcast_add, 0,
                                          cvm_precision_plus, 0};
const cvm_op_def cvm_def_BROADCAST_SUB = {"broadcast_sub", parse_broadcast_sub, 0,
                                          cvm_precision_plus, 0};
const cvm_op_def cvm_def_BROADCAST_MUL = {"broadcast_mul", parse_broadcast_mul, 0,
                                          precision_multiply, 0};
const cvm_op_def cvm_def_BROADCAST_DIV = {"broadcast_div", parse_broadcast_div, 0,
                                          cvm_precision_same, 0};
const cvm_op_def cvm_def_BROADCAST_GREATER = {"broadcast_greater", parse_broadcast_greater,
                                              0, cvm_precision_same, 0};
const cvm_op_def cvm_def_BROADCAST_MAX = {"broadcast_max", parse_broadcast_max, 0,
                                          cvm_precision_max_in, 0};
const cvm_op_def cvm_def_WHERE = {"where", parse_where, 0, cvm_precision_same, 0};
