/* The units of work of ops/nn.c's reference kernels, for the variants' exact fallback.
 *
 * A variant (ops/x86/nn_*.c) that cannot compute some outputs exactly in its fast form (an
 * operand outside the range its packing holds) computes them with these routines, which are
 * the reference kernels' own bodies: the reference stays the single statement of the
 * arithmetic. Each writes only the outputs it names. */
#ifndef DETVM_OPS_NN_H
#define DETVM_OPS_NN_H

#include "op.h"

/* CONV2D: rows [row_begin, row_end) of output plane (n, o). */
void dv_conv2d_ref_rows(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out, size_t n,
                        size_t o, size_t row_begin, size_t row_end);

/* DENSE: y[m][u] for m in [row_begin, row_end) and u in [unit_begin, unit_end). */
void dv_dense_ref_block(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                        size_t row_begin, size_t row_end, size_t unit_begin, size_t unit_end);

/* The epilogue of the fused ops (nn_attrs.h, EPI_*) applied in place to n values: the
 * reference kernels of CVM_RIGHT_SHIFT and of the activation, one after the other. */
void dv_epilogue_ref(const int32_t *epilogue, int32_t *values, size_t n);

/* Whether the 5 epilogue attributes are valid (what the fused ops' infer accepts of them). */
int dv_epilogue_valid(const int32_t *epilogue);

#endif
