/* A loaded module: the validated, decoded view of a .dvm file. Immutable once loaded. */
#ifndef DETVM_VM_MODULE_H
#define DETVM_VM_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "detvm.h"
#include "../ops/op.h"
#include "../ops/variant.h"

#define VM_MAX_OUTPUTS 64

typedef struct {
    dv_shape shape;
    uint8_t precision;
    uint8_t storage;            /* DVM_STORAGE_ARENA (int8 ones too) or DVM_STORAGE_CONST */
    uint8_t elem_bytes;         /* 4, or 1 for an activation stored as int8 */
    uint8_t dtype;              /* enum dvm_dtype */
    uint64_t offset;            /* arena byte offset, or CONSTS byte offset */
    const char *name;
    const int32_t *const_data;  /* constants: the native-order values */
} vm_tensor;

typedef struct {
    uint32_t opcode;
    const dv_op_info *op;
    uint32_t n_in, n_out;
    const uint32_t *operands;   /* n_in inputs then n_out outputs, tensor indices */
    dv_attrs attrs;
    const char *name;
} vm_instr;

typedef struct {
    const uint8_t *p;
    uint32_t len;
} vm_section;

/* A PACKS entry this build can use: instruction `instr`'s constants as `packing` packs them,
 * checked on load, in the module bytes (64-byte aligned). */
typedef struct {
    uint32_t instr;
    const dv_variant_packing *packing;
    const void *bytes;
} vm_pack;

/* The quantization of an I/O binding (TFLite models): real = scale * (q - zero_point). */
typedef struct {
    float scale;
    int32_t zero_point;
    uint32_t flags;             /* DVM_IO_FLOAT_IN_SOURCE */
} vm_io_quant;

struct detvm_module {
    const uint8_t *bytes;
    size_t len;
    vm_section sections[16];    /* by kind (enum dvm_section_kind); p is NULL when absent */
    uint32_t n_tensors, n_instrs;
    vm_tensor *tensors;
    vm_instr *instrs;
    uint32_t *operands;         /* decoded operand lists */
    int32_t *attrs;             /* decoded attributes */
    int32_t *consts;            /* constants in native order when they cannot be used in place */
    vm_pack *packs;             /* the usable PACKS entries, by instruction */
    uint32_t n_packs;
    uint32_t n_pack_entries;    /* all PACKS entries, usable or not */
    uint64_t pack_bytes;        /* the bytes of the usable ones */

    /* metadata */
    uint32_t source_format;
    uint8_t source_hash[32];
    char producer[64];
    char source_version[32];
    char postprocess[32];
    uint32_t input;             /* tensor index of the input */
    uint32_t input_bytes;       /* element bytes of the input: 1 or 4 */
    uint32_t n_outputs;
    uint32_t outputs[VM_MAX_OUTPUTS];
    uint32_t output_bytes;      /* element bytes of the outputs: 1 or 4 */
    uint64_t gas, storage_size, arena_bytes, scratch_bytes;
    const char *warnings;       /* NUL-separated, in the module bytes */
    uint32_t warnings_len;
    const uint8_t *layer_gas;   /* u64 per instruction, little-endian, or NULL */
    uint32_t layer_gas_len;
    int has_io_quant;
    vm_io_quant io_quant[1 + VM_MAX_OUTPUTS]; /* the input, then each output */
    int32_t rounding;           /* enum dv_rounding, or -1 when the module has no such ops */
    const uint8_t *segments;    /* META segments: n_segments records of 3 u32, or NULL */
    uint32_t n_segments;
};

/* The bytes tensor t's elements take. */
static inline uint64_t vm_tensor_bytes(const vm_tensor *t)
{
    return dv_shape_size(&t->shape) * t->elem_bytes;
}

/* Reads the PACKS section (p is NULL when the module has none): checks every entry's place,
 * and keeps those whose instruction set this CPU has, whose packing this build makes with the
 * same layout, and whose bytes are 64-byte aligned in memory, after checking that they equal
 * the packing of the instruction's constants. Called last when a module is loaded. */
detvm_status vm_read_packs(detvm_module *m, const uint8_t *p, uint32_t len, detvm_error *err);

/* Instruction k's constants packed by `packing`, in the module, or NULL. */
const void *vm_module_packed(const detvm_module *m, uint32_t k,
                             const dv_variant_packing *packing);

/* An instruction's inputs as kernels see them: their shapes, and the constants' data. */
typedef struct {
    dv_shape shapes[DV_MAX_OP_INPUTS];
    dv_tensor in[DV_MAX_OP_INPUTS];
} vm_instr_inputs;

/* The packing of the variant this build picks for instruction k among the instruction sets in
 * `isa` (pk->variant->isa is the one picked), or NULL when it has none or the instruction's
 * inputs do not allow it; *x gets the instruction's inputs. */
const dv_variant_packing *vm_instr_packing(const detvm_module *m, uint32_t k, uint32_t isa,
                                           vm_instr_inputs *x);

/* Bit i set: input i of the instruction is a constant of the module (inputs 0..31). */
uint32_t vm_constant_inputs(const detvm_module *m, const vm_instr *ins);

/* Packs `in` with `packing` into a new zeroed, 64-byte aligned block of `size` bytes: returns
 * the packed bytes, and the block to free in *block; NULL (and *block NULL) without memory. */
void *vm_pack_new(const dv_variant_packing *packing, const dv_attrs *attrs, uint32_t n_in,
                  const dv_tensor *in, uint64_t size, void **block);

/* Each tensor's lifetime over times 0 (the start), k + 1 (instruction k) and n + 1 (the end):
 * born[t] is 1 + the time tensor t is written (0: never), dies[t] its last time. Both arrays
 * hold n_tensors zeroed entries (vm/liveness.c). */
void vm_lifetimes(const detvm_module *m, uint32_t *born, uint32_t *dies);

/* Device segment k of the module (k < n_segments). */
void vm_segment(const detvm_module *m, uint32_t k, uint32_t *first, uint32_t *count,
                uint32_t *device);

#endif
