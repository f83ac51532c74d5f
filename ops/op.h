/* The kernel interface: tensors, attributes, and the op table.
 *
 * Every op has two functions. `infer` validates the op's attributes and input shapes and
 * computes its output shapes; it is the single source of shape truth, used by the compiler and
 * again by the module validator, so a hostile module can never make a kernel index outside
 * its tensors. `run` is the reference kernel: its arithmetic is the specification (DESIGN.md,
 * determinism contract). Kernels may assume that `infer` accepted their attributes and shapes,
 * that outputs never alias inputs, and that every element is an int32: a reference kernel never
 * sees a tensor stored as int8 (the CPU device widens and narrows them around it, see dv_tensor
 * and hal/cpu.c).
 *
 * This layer includes nothing of the project outside ops/ and allocates nothing. */
#ifndef DETVM_OPS_OP_H
#define DETVM_OPS_OP_H

#include <stddef.h>
#include <stdint.h>

#include "opcodes.h"

#define DV_MAX_NDIM 6
#define DV_MAX_DIM (1u << 24)         /* the CVM runtime's bound on one dimension */
#define DV_MAX_ELEMS (1u << 30)       /* and on a tensor's element count */
#define DV_MAX_OP_INPUTS 64
#define DV_MAX_OP_OUTPUTS 2

typedef struct {
    uint32_t ndim;
    uint32_t dim[DV_MAX_NDIM];
} dv_shape;

/* A tensor's elements are int32 (`data`), or, for an activation whose values the compiler
 * proved to lie in [-128, 127], int8 (`i8`, and `data` is NULL). Only the kernel variants that
 * say so (DV_VARIANT_INT8, ops/variant.h) are given int8 tensors. Storing a value into an int8
 * tensor saturates it to [-128, 127] (dv_store_i8): the compiler's bound makes that the
 * identity for every module it writes, and a hostile module's values stay defined. */
typedef struct {
    int32_t *data;
    dv_shape shape;
    int8_t *i8;
} dv_tensor;

static inline int8_t dv_store_i8(int32_t v)
{
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* Copies between the two storages: widening is exact, narrowing saturates. */
void dv_widen_i8(const int8_t *from, int32_t *to, uint64_t n);
void dv_narrow_i8(const int32_t *from, int8_t *to, uint64_t n);
/* What narrowing and widening back gives, in place. */
void dv_narrow_in_place(int32_t *v, uint64_t n);

/* An op's attributes: a flat list of int32 values whose layout each op documents in
 * opcodes.h. */
typedef struct {
    const int32_t *v;
    uint32_t n;
} dv_attrs;

/* Returns NULL when the attributes and input shapes are acceptable, else a static one-line
 * reason that names the field ("strides: must be positive"). */
typedef const char *(*dv_infer_fn)(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                                   uint32_t n_out, dv_shape *out);

/* Scratch int32 elements the kernel needs besides its outputs; NULL in the table means none. */
typedef uint64_t (*dv_scratch_fn)(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in);

typedef void (*dv_kernel_fn)(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                             uint32_t n_out, dv_tensor *out, int32_t *scratch);

typedef struct {
    const char *name;
    uint8_t min_inputs, max_inputs;   /* arity bounds checked before infer */
    uint8_t n_outputs;
    dv_infer_fn infer;
    dv_kernel_fn run;
    dv_scratch_fn scratch;
} dv_op_info;

/* NULL for an opcode outside the table. */
const dv_op_info *dv_op_lookup(uint32_t opcode);
/* Nonzero for an op that computes in IEEE-754 single precision (FLOAT_OP in optable.inc): a
 * kmodel float layer, outside the integer contract (DESIGN.md, contract rule 1). */
int dv_op_is_float(uint32_t opcode);

/* Shape helpers shared by the op families. */
uint64_t dv_shape_size(const dv_shape *s);
int dv_shape_equal(const dv_shape *a, const dv_shape *b);
/* Validates ndim in 1..6, every dim in 1..2^24 and the size <= 2^30. */
const char *dv_shape_check(const dv_shape *s);

#endif
