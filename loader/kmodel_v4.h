/* kmodel v4 (nncase v0.2), shared by its two halves: kmodel_v4.c reads the container (header,
 * input and output tables, constants, node headers) and drives the import; kmodel_v4_nodes.c
 * decodes one node's body into a plan: the detvm instruction that computes it, and where the
 * node leaves its result.
 *
 * The file layout (nncase src/runtime/interpreter.cpp, src/codegen/codegen.cpp), all
 * little-endian: the 40-byte model_header {identifier "KMDL", version 4, flags, target
 * (0 cpu, 1 k210), constants, main_mem, nodes, inputs, outputs, reserved0}; then inputs x
 * memory_range, inputs x runtime_shape_t (4 x int32), outputs x memory_range; the constants
 * (`constants` bytes); nodes x node_header {opcode, body_size}; the bodies, one after the
 * other, each padded to 8 bytes (the last one's padding may be missing from the file).
 * A memory_range is {memory_type (0 const, 1 main, 2 KPU RAM), datatype (0 float32,
 * 1 uint8), start, size}. */
#ifndef DETVM_LOADER_KMODEL_V4_H
#define DETVM_LOADER_KMODEL_V4_H

#include <stddef.h>
#include <stdint.h>

#include "../ops/nncase.h"
#include "kmodel.h"

#define V4_HEADER_BYTES 40u
#define V4_RANGE_BYTES 16u

enum v4_memory { V4_MEM_CONST = 0, V4_MEM_MAIN = 1, V4_MEM_KPU = 2, V4_MEM_LIMIT = 3 };
enum v4_datatype { V4_FLOAT32 = 0, V4_UINT8 = 1, V4_DATATYPE_LIMIT = 2 };

typedef struct {
    uint32_t mem, dtype, start, size;
} v4_range;

/* A checked file: every table and body lies inside `data`. */
typedef struct {
    const uint8_t *data;        /* the file, zero-extended to `size` when it was short */
    uint8_t *owned;             /* that copy, when one was made */
    size_t size;                /* header + tables + constants + headers + bodies */
    uint32_t flags, target, constants, main_mem, n_nodes, n_inputs, n_outputs;
    size_t inputs_at, shapes_at, outputs_at, constants_at, headers_at, bodies_at;
    size_t *body_at;            /* per node: where its body starts */
} v4_file;

/* Opens and checks the container (not the bodies). Returns 0, or -1 with a reason in `why`
 * (-2: out of memory). v4_close frees what v4_open allocated. */
int v4_open(const uint8_t *bytes, size_t len, v4_file *f, char *why, size_t why_cap);
void v4_close(v4_file *f);

uint32_t v4_u32(const uint8_t *p);
/* Range `i` of a table at `at`, and its check against its memory ("what" names it in the
 * reason). */
v4_range v4_range_at(const uint8_t *p);
int v4_check_range(const v4_file *f, const v4_range *r, const char *what, char *why,
                   size_t why_cap);

/* The runtime's name of an opcode ("Conv2D", "KPUConv2D"), or NULL for an unknown one. */
const char *v4_op_name(uint32_t opcode);

#define V4_MAX_SOURCES (DV_MAX_OP_INPUTS - 1)
#define V4_MAX_ATTRS (4 + 2 * DV_NNIL_MAX_OPS)
#define V4_MAX_BLOBS 3

/* How one node is computed. Instruction inputs: the current image of dst's memory, the
 * images of the sources in order, the blobs (as constants), then (KPU convolutions with a
 * main memory output) the current main memory image; outputs: the next image of dst's
 * memory, then of main memory when has_dst2. */
typedef struct {
    uint32_t opcode;            /* the nncase runtime opcode */
    const char *name;           /* its runtime name */
    uint32_t dv_opcode;
    int32_t attrs[V4_MAX_ATTRS];
    uint32_t n_attrs;
    v4_range dst;               /* the written memory (the range written, for the checks) */
    v4_range src[V4_MAX_SOURCES];
    uint32_t n_src;
    struct {
        const uint8_t *bytes;
        uint32_t len;
    } blob[V4_MAX_BLOBS];
    uint32_t n_blobs;
    int has_dst2;
    v4_range dst2;              /* kpu_conv2d's copy of its output in main memory */
    km_node_result result;      /* where the node leaves its result (name not set) */
} v4_plan;

/* Decodes and checks node `i`. Returns 0, or -1 with a reason in `why` (without the node's
 * name: the caller adds it). */
int v4_decode_node(const v4_file *f, uint32_t i, int32_t kpu_semantics, v4_plan *p, char *why,
                   size_t why_cap);

#endif
