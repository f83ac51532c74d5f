/* The compiler's intermediate form: tensors and instructions in execution order, with the
 * module's metadata. Every importer builds one; the passes and the emitter take it from there. */
#ifndef DETVM_LOADER_IR_H
#define DETVM_LOADER_IR_H

#include <stdint.h>

#include "../ops/op.h"
#include "../vm/module.h"
#include "detvm.h"

typedef struct {
    dv_shape shape;
    uint8_t precision;
    uint8_t storage;            /* enum dvm_storage (ARENA_INT8 only after ir_choose_storage) */
    uint8_t dtype;              /* enum dvm_dtype */
    const int32_t *data;        /* constants: their values */
    const char *name;
    uint64_t offset;            /* arena offset, set by the memory plan */
} ir_tensor;

typedef struct {
    uint32_t opcode;
    uint32_t n_in, n_out;
    uint32_t operands[DV_MAX_OP_INPUTS + DV_MAX_OP_OUTPUTS];
    const int32_t *attrs;
    uint32_t n_attrs;
    const char *name;
    uint64_t gas;               /* this instruction's share of the source's gas */
} ir_instr;

typedef struct {
    ir_tensor *tensors;
    uint32_t n_tensors;
    ir_instr *instrs;
    uint32_t n_instrs;
    uint32_t input, input_bytes;
    uint32_t outputs[VM_MAX_OUTPUTS];
    uint32_t n_outputs, output_bytes;
    const char *postprocess;
    const char *source_version;
    uint32_t source_format;
    uint8_t source_hash[32];
    uint64_t gas, storage_size;
    uint64_t arena_bytes, scratch_bytes;
    int has_io_quant;           /* TFLite: the bindings' quantization, input then outputs */
    vm_io_quant io_quant[1 + VM_MAX_OUTPUTS];
    int32_t rounding;           /* enum dv_rounding, or -1 when not recorded */
    char warnings[2048];        /* NUL-separated lines */
    uint32_t warnings_len;
    uint32_t *segments;         /* device segments: first, count, device (malloc'd) */
    uint32_t n_segments;
    uint32_t pack_isa;          /* instruction sets to pre-pack weights for (0: none) */
} ir_module;

/* The placement pass: every maximal run of instructions that a device of this build computes
 * exactly (its `supports`) becomes a segment for that device; the rest stays on the CPU. */
detvm_status ir_place_devices(ir_module *m, detvm_error *err);

/* The fusion pass for CVM graphs (loader/fuse.c): conv2d, dense or elemwise_add, then
 * cvm_right_shift, then an optional relu / clip / cvm_clip, become one fused instruction when
 * each intermediate tensor has exactly one reader and is not an output. The fused instructions'
 * attributes live in *attr_pool (malloc'd, the caller frees it after emitting). */
detvm_status ir_fuse_cvm(ir_module *m, int32_t **attr_pool, detvm_error *err);

/* Stores as int8 every activation of precision <= 8 other than the input, the outputs and
 * device segments' operands (loader/storage.c). Runs before the memory plan. */
void ir_choose_storage(ir_module *m);

/* Places every arena tensor by liveness (the best of a few greedy placements, 64-byte aligned;
 * loader/plan.c) and sizes the scratch area; sets offsets, arena_bytes and scratch_bytes. */
detvm_status ir_plan_memory(ir_module *m, detvm_error *err);

/* Writes the module bytes (malloc'd, 64-byte aligned) in the canonical layout of
 * vm/module_format.h, with a PACKS section of weights pre-packed for the variants this build
 * picks among the instruction sets in m->pack_isa (none when 0 or nothing packs). */
detvm_status ir_emit(const ir_module *m, uint8_t **out, size_t *out_len, detvm_error *err);

/* The instruction sets to pre-pack weights for under `options` (NULL: the defaults): this
 * CPU's, unless no_packs. */
uint32_t ir_pack_isa(const detvm_compile_options *options);

/* detvm_compile_cvm with compile options (NULL: the defaults; only no_packs applies). */
detvm_status ir_compile_cvm(const char *json, size_t json_len, const uint8_t *params,
                            size_t params_len, const detvm_compile_options *options,
                            uint8_t **module, size_t *module_len, detvm_error *err);

/* Appends a warning line (dropped when the buffer is full). */
void ir_warn(ir_module *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
