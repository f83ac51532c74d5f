/* Building the IR one tensor and one instruction at a time, as the importers of .tflite files
 * and kmodels do: growing arrays, blocks the IR points into, and the checks every appended
 * instruction must pass. */
#ifndef DETVM_LOADER_IR_BUILD_H
#define DETVM_LOADER_IR_BUILD_H

#include <stddef.h>

#include "ir.h"

typedef struct {
    ir_module *ir;
    uint8_t *written;           /* per IR tensor: an instruction has written it */
    uint32_t tensor_cap, instr_cap;
    void **owned;               /* constant values and attribute copies the IR points to */
    uint32_t n_owned, owned_cap;
} ir_builder;

/* Keeps a malloc'd block alive until ir_builder_free; returns it, or NULL (and frees it) when
 * out of memory. */
void *ir_own(ir_builder *b, void *p);
/* A new zeroed tensor (name ""); NULL when out of memory. */
ir_tensor *ir_new_tensor(ir_builder *b, uint32_t *index);
/* A new int32 constant holding a copy of `values`, or an arena tensor; -1 when out of memory. */
int ir_new_constant(ir_builder *b, const dv_shape *shape, const int32_t *values,
                    uint32_t *index);
int ir_new_temporary(ir_builder *b, const dv_shape *shape, uint32_t *index);
/* Appends an instruction (attributes copied) after checking it: the opcode and arity exist,
 * every arena input was written before (or is the model input), infer accepts the inputs, and
 * each output is an unwritten arena tensor of exactly the shape infer gives. Returns NULL, or
 * the reason in `why` ("out of memory" included). */
const char *ir_append(ir_builder *b, uint32_t opcode, uint32_t n_in, const uint32_t *in,
                      uint32_t n_out, const uint32_t *out, const int32_t *attrs,
                      uint32_t n_attrs, const char *name, char *why, size_t why_cap);
/* Frees what the builder owns and the IR's tensor and instruction arrays. */
void ir_builder_free(ir_builder *b);

#endif
