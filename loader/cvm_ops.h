/* The CVM operators as the CVM runtime defines them: attribute parsing, the extra checks of
 * its shape inference, and precision inference. Shapes themselves come from ops/ (each op's
 * infer function); this table adds what is specific to the CVM format.
 *
 * Status classes follow the CVM runtime: attribute format and range errors are 2 (runtime),
 * VERIFY failures in shape or precision inference are 1 (invalid model). */
#ifndef DETVM_LOADER_CVM_OPS_H
#define DETVM_LOADER_CVM_OPS_H

#include <stdint.h>

#include "detvm.h"
#include "cvm_attrs.h"
#include "../ops/op.h"

#define CVM_MAX_ATTRS 64

typedef struct {
    cvm_attrs *attrs;          /* the node's op_attrs */
    uint32_t n_in;             /* inputs given in the graph */
    const dv_shape *in_shape;  /* their shapes, as the JSON declares them */
    const int32_t *in_prec;    /* their precisions (already inferred) */
    /* Set by parse: */
    uint32_t opcode;
    int32_t attr[CVM_MAX_ATTRS];  /* canonical attributes, the layout ops/ documents */
    uint32_t n_attr;
    uint32_t n_in_expected;       /* the arity the op requires given its attributes */
    uint32_t n_out;               /* outputs the op produces */
    /* Set by precision: */
    int32_t out_prec[DV_MAX_OP_OUTPUTS];
} cvm_node;

typedef struct {
    const char *name;
    /* Parse the attributes into canonical ones, set opcode, n_in_expected and n_out. May
     * read in_shape (some canonical attributes depend on the input rank). The loader sets
     * attrs->err to err before calling it. */
    int (*parse)(cvm_node *n, detvm_error *err);
    /* Check what the CVM runtime's shape inference checks beyond ops/ infer (run after it
     * succeeded; may be NULL). out_shape holds the inferred output shapes. */
    int (*check)(cvm_node *n, const dv_shape *out_shape, detvm_error *err);
    /* Infer output precisions from in_prec, as FInferPrecision does. */
    int (*precision)(cvm_node *n, const dv_shape *out_shape, detvm_error *err);
    /* When the CVM runtime's CPU and formal back ends can disagree on this node (the
     * conformance corpus's divergent/ cases), a static one-line description of how; else
     * NULL. detvm follows the formal semantics and `detvm info` prints this as a warning.
     * The function may be NULL: the op never diverges. in_shape and in_prec are set. */
    const char *(*divergence)(const cvm_node *n);
} cvm_op_def;

/* NULL for an unknown operator name. */
const cvm_op_def *cvm_op_find(const char *name);

/* Fills err with "node NAME (OP): message" and returns -1. */
int cvm_fail(detvm_error *err, detvm_status status, const cvm_node *n, const char *fmt, ...);

/* Precision helpers shared by the families (the CVM runtime's GetBit and GetReduceSumBit). */
int32_t cvm_number_precision(int64_t n); /* GetNumberPrecision: p with |n| <= 2^(p-1)-1 */
int32_t cvm_reduce_sum_bits(int64_t n);  /* GetReduceSumBit: bits of n, extra for n terms */

#endif
