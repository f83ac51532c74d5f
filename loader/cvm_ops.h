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

/* ---- Helpers the families share, named after the CVM runtime's where it has one ---------- */

/* Sets what parse must set: the opcode, the arity, one output and n_attr canonical
 * attributes. Returns 0, so that a parse can end with it. */
int cvm_node_set(cvm_node *n, uint32_t opcode, uint32_t n_in, uint32_t n_attr);

/* The parse of an op without attributes: any key is an error (cvm_attr_none, status 1). */
int cvm_parse_without_attrs(cvm_node *n, uint32_t opcode, uint32_t n_in, detvm_error *err);

/* Defines `static int fn(cvm_node *, detvm_error *)`, the parse of an op without attributes. */
#define CVM_PARSE_WITHOUT_ATTRS(fn, opcode, n_in)                                           \
    static int fn(cvm_node *n, detvm_error *err)                                            \
    {                                                                                       \
        return cvm_parse_without_attrs(n, opcode, n_in, err);                               \
    }

/* A TShape attribute (a tuple; `def` as cvm_attr_tuple's). The runtime's tuple reader has no
 * "None" (these fields are not optional), so that is a format error (status 2). */
int cvm_read_shape_attr(cvm_node *n, const char *key, int required, const cvm_tuple *def,
                        cvm_tuple *out, detvm_error *err);

/* Whether `name` is one of the runtime's dtype enum names ("int32", "float32", ...); dtype
 * fields accept nothing else, and their value changes nothing (every tensor is int32). */
int cvm_dtype_known(const char *name);

/* The runtime's ATTR_MAX_VALUE, the usual upper bound of VerifyAttrRange. */
#define CVM_ATTR_MAX 4096

/* VerifyAttrRange: status 1 unless min <= value <= max. */
int cvm_verify_range(cvm_node *n, detvm_error *err, const char *name, int64_t value,
                     int64_t min, int64_t max);

/* IN_PREC_CHECK: status 1 unless every input's precision has been inferred. */
int cvm_check_input_precisions(cvm_node *n, detvm_error *err);

/* Precision rules, used as cvm_op_def.precision; each runs IN_PREC_CHECK first.
 * cvm_precision_same: the first input's (SamePrecision).
 * cvm_precision_plus: one bit more than the wider of two inputs (BinaryPlusPrecision).
 * cvm_precision_max_in: the widest input's (MaxInPrecision). */
int cvm_precision_same(cvm_node *n, const dv_shape *out_shape, detvm_error *err);
int cvm_precision_plus(cvm_node *n, const dv_shape *out_shape, detvm_error *err);
int cvm_precision_max_in(cvm_node *n, const dv_shape *out_shape, detvm_error *err);

/* The CVM runtime's GetBit and GetReduceSumBit. */
int32_t cvm_number_precision(int64_t n); /* GetNumberPrecision: p with |n| <= 2^(p-1)-1 */
int32_t cvm_reduce_sum_bits(int64_t n);  /* GetReduceSumBit: bits of n, extra for n terms */

#endif
