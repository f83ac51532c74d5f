/* Broadcasting two operands as NumPy does: the shapes are aligned at their last dimension,
 * the shorter padded with leading 1s; in each dimension the sizes are equal or one is 1, and
 * the output takes the larger, the input of size 1 being read at index 0 throughout. Shared
 * by the broadcasting ops of ops/broadcast.c and ops/qelemwise.c. */
#ifndef DETVM_OPS_BROADCAST_H
#define DETVM_OPS_BROADCAST_H

#include "op.h"

/* The element function: a, b and the instruction's attributes. */
typedef int32_t (*dv_binary_fn)(int32_t a, int32_t b, const int32_t *attrs);

/* The broadcast output shape of a and b, or a reason why they do not broadcast. */
const char *dv_broadcast_shape(const dv_shape *a, const dv_shape *b, dv_shape *out);

/* The infer of a broadcasting op: two inputs, one output, n_attrs attributes, shapes that
 * broadcast. */
const char *dv_broadcast_check(const dv_attrs *attrs, uint32_t n_attrs, uint32_t n_in,
                               const dv_shape *in, uint32_t n_out, dv_shape *out);

/* out[0] = f(in[0], in[1], attrs) element by element under broadcasting. */
void dv_broadcast_apply(const dv_tensor *in, dv_tensor *out, dv_binary_fn f,
                        const int32_t *attrs);

#endif
