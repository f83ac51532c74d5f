/* Importing K210 kmodels (v3: nncase v0.1 and the Kendryte SDK; v4: nncase v0.2).
 *
 * A kmodel is a program over two memories addressed by byte offset: main memory (the size its
 * header gives) and the KPU's 2 MiB RAM. detvm keeps each memory as a memory image tensor
 * (ops/kimage.h). Every run starts from zeroed images (IMAGE_ZERO); each instruction that
 * writes a memory takes the memory's current image and yields the next one, so the trace
 * hashes each step's effect and any step can be re-run from its inputs alone.
 *
 * The importer of each version (kmodel_v3.c, kmodel_v4.c) parses and checks the file, then
 * adds tensors and instructions through this context (kmodel_import.c), which also binds the
 * model's input and outputs and names every instruction after its node: "NNN_<Op>", the node
 * index in three digits and the op's name in the file's own spelling ("000_K210_CONV",
 * "016_KPUConv2D"), the names of the reference per-layer dumps. */
#ifndef DETVM_LOADER_KMODEL_H
#define DETVM_LOADER_KMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "../ops/op.h"
#include "detvm.h"

enum km_memory { KM_MAIN = 0, KM_KPU = 1 };

/* The KPU's arithmetic: nncase v0.2's (the default) or v0.1's and the SDK's (activation
 * segment chosen with start_x <= x, round-half-up shifts). The value of KPU_CONV2D's
 * semantics attribute. */
enum km_kpu_semantics { KM_KPU_NNCASE_V02 = 0, KM_KPU_SDK = 1 };

typedef struct km_import km_import;

/* The KPU semantics chosen for this compile (enum km_kpu_semantics). */
int32_t km_kpu_semantics(const km_import *ctx);

/* Declares main memory's size in bytes (from the header). Call once, before anything else. */
detvm_status km_begin(km_import *ctx, uint32_t main_bytes, detvm_error *err);
/* Memory `mem`'s size in bytes (main memory rounded up to a multiple of 4). */
uint32_t km_memory_bytes(const km_import *ctx, int mem);

/* Starts node `index`: the instructions emitted next are named "NNN_<op>", and km_fail
 * names the node. `op` must outlive the compile (a string literal). */
void km_node(km_import *ctx, uint32_t index, const char *op);

/* The current image of memory `mem` (the zeroed image before any write). */
detvm_status km_image(km_import *ctx, int mem, uint32_t *ir_index, detvm_error *err);
/* A new image of memory `mem`, to be the output of the next instruction that writes it; from
 * then on it is the memory's current image. */
detvm_status km_next_image(km_import *ctx, int mem, uint32_t *ir_index, detvm_error *err);

/* A constant holding `len` raw bytes as an image (four per element, little-endian, the last
 * element zero-padded): weights, tables and other blobs the ops read with ops/kimage.h. */
detvm_status km_bytes(km_import *ctx, const uint8_t *bytes, size_t len, uint32_t *ir_index,
                      detvm_error *err);
/* A constant of int32 values, and an arena tensor for a value between two instructions. */
detvm_status km_constant(km_import *ctx, const dv_shape *shape, const int32_t *values,
                         uint32_t *ir_index, detvm_error *err);
detvm_status km_temporary(km_import *ctx, const dv_shape *shape, uint32_t *ir_index,
                          detvm_error *err);

/* Appends an instruction (attributes copied) for the current node, after the checks of
 * ir_append (loader/ir_build.h); on failure the error names the node. */
detvm_status km_emit(km_import *ctx, uint32_t opcode, uint32_t n_in, const uint32_t *in,
                     uint32_t n_out, const uint32_t *out, const int32_t *attrs,
                     uint32_t n_attrs, detvm_error *err);

/* The model's input: a plain tensor of `dtype` (DVM_DTYPE_UINT8 or DVM_DTYPE_FLOAT32) and
 * `shape`, as the application hands it over (uint8 CHW for a KPU input). The importer emits
 * the instructions that put it into memory (IMAGE_WRITE, or KPU_UPLOAD for a KPU input). */
detvm_status km_input(km_import *ctx, uint32_t dtype, const dv_shape *shape,
                      uint32_t *ir_index, detvm_error *err);
/* Output k (in call order): `shape` elements of `dtype` (DVM_DTYPE_UINT8 or
 * DVM_DTYPE_FLOAT32) read from memory `mem` at byte `offset` after the last node. */
detvm_status km_output(km_import *ctx, int mem, uint32_t offset, uint32_t dtype,
                       const dv_shape *shape, detvm_error *err);

/* A one-line error: "kmodel: node 7 (K210_CONV): <message>", or "kmodel: <message>" before
 * the first node. Always DETVM_EINVALID. */
detvm_status km_fail(const km_import *ctx, detvm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where a node leaves its result, for the per-layer checks and tools: either a KPU map (in KPU
 * RAM from byte `offset`, dims n, c, h, w, in the KPU's row layout; read it with
 * dv_kpu_download of ops/kpu.h) or `bytes` plain bytes of memory `mem` from `offset`. */
typedef struct {
    char name[48];              /* the node's instruction name, "NNN_<op>" */
    int mem;                    /* enum km_memory */
    int kpu_map;                /* 1: a KPU map of dims; 0: plain bytes */
    uint32_t offset, bytes;
    uint32_t dims[4];           /* n, c, h, w of a KPU map */
} km_node_result;

/* Every node's result location, in node order (malloc'd array; the caller frees it). */
detvm_status km_describe(const uint8_t *bytes, size_t len, km_node_result **nodes,
                         uint32_t *n_nodes, detvm_error *err);
detvm_status km_describe_v3(const uint8_t *bytes, size_t len, km_node_result **nodes,
                            uint32_t *n_nodes, detvm_error *err);
detvm_status km_describe_v4(const uint8_t *bytes, size_t len, km_node_result **nodes,
                            uint32_t *n_nodes, detvm_error *err);

/* The importers: parse and check the whole file, then build the program. A file may be up to
 * 7 bytes shorter than its header and bodies add up to (real files are), and may carry
 * unrelated bytes after its last body. */
detvm_status km_import_v3(km_import *ctx, const uint8_t *bytes, size_t len, detvm_error *err);
detvm_status km_import_v4(km_import *ctx, const uint8_t *bytes, size_t len, detvm_error *err);

#endif
