/* kmodel v3 (nncase v0.1 and the Kendryte SDK's kpu_load_kmodel), shared by the container
 * (kmodel_v3.c: header, output table, layer headers, import, describe) and the layers
 * (kmodel_v3_layers.c: each layer body decoded, checked and planned as one instruction).
 *
 * The file (all fields little-endian uint32):
 *   header      version (3), flags (bit 0: the KPU runs in 8-bit weight mode), arch (0),
 *               layers_length, max_start_address (KPU rows), main_mem_usage, output_count
 *   outputs     output_count x {address, size}: byte ranges of main memory
 *   layers      layers_length x {type, body_size}
 *   bodies      one after the other; a body's fields are the SDK's kpu_model_*_argument_t
 * Real files may end up to 7 bytes before the last body does (the writer seeks for the last
 * alignment without writing); those bytes read as zero. Bytes after the last body are
 * ignored. */
#ifndef DETVM_LOADER_KMODEL_V3_H
#define DETVM_LOADER_KMODEL_V3_H

#include <stddef.h>
#include <stdint.h>

#include "../ops/kpu.h"
#include "kmodel.h"

/* Layer types (the SDK's kpu_model_layer_type_t). */
enum v3_layer_type {
    V3_INVALID = 0,
    V3_ADD = 1,
    V3_QUANTIZED_ADD = 2,
    V3_GLOBAL_MAX_POOL2D = 3,
    V3_QUANTIZED_GLOBAL_MAX_POOL2D = 4,
    V3_GLOBAL_AVERAGE_POOL2D = 5,
    V3_QUANTIZED_GLOBAL_AVERAGE_POOL2D = 6,
    V3_MAX_POOL2D = 7,
    V3_QUANTIZED_MAX_POOL2D = 8,
    V3_AVERAGE_POOL2D = 9,
    V3_QUANTIZED_AVERAGE_POOL2D = 10,
    V3_QUANTIZE = 11,
    V3_DEQUANTIZE = 12,
    V3_REQUANTIZE = 13,
    V3_L2_NORMALIZATION = 14,
    V3_SOFTMAX = 15,
    V3_CONCAT = 16,
    V3_QUANTIZED_CONCAT = 17,
    V3_FULLY_CONNECTED = 18,
    V3_QUANTIZED_FULLY_CONNECTED = 19,
    V3_TENSORFLOW_FLATTEN = 20,
    V3_QUANTIZED_TENSORFLOW_FLATTEN = 21,
    V3_RESIZE_NEAREST_NEIGHBOR = 22,
    V3_QUANTIZED_RESIZE_NEAREST_NEIGHBOR = 23,
    V3_CHANNELWISE_DEQUANTIZE = 24,
    V3_LOGISTIC = 25,
    V3_K210_CONV = 10240,
    V3_K210_ADD_PADDING = 10241,
    V3_K210_REMOVE_PADDING = 10242,
    V3_K210_UPLOAD = 10243
};

#define V3_HEADER_BYTES 28u
#define V3_MAX_CONSTANTS 3

/* How a layer's instruction takes its operands. */
enum v3_operands {
    V3_OPS_MAIN,       /* main, constants... -> main' */
    V3_OPS_KPU_MAIN,   /* kpu, main -> kpu' (SDK_ADD_PADDING, KPU_UPLOAD from main memory) */
    V3_OPS_CONV,       /* kpu, weights, bn, act -> kpu' */
    V3_OPS_CONV_OUT    /* kpu, weights, bn, act, main -> kpu', main' */
};

typedef struct {
    const uint8_t *bytes;   /* the file; a zero-padded copy when its tail is missing */
    uint8_t *owned;         /* that copy, or NULL */
    uint32_t len;           /* bytes readable from `bytes`: the file, or header + bodies */
    uint32_t flags, main_bytes, n_outputs, n_layers, max_start_address;
    uint32_t outputs_at;    /* offset of the output table */
    struct v3_layer *layers;
} v3_file;

typedef struct v3_layer {
    uint32_t index, type, body, size;   /* body: offset of the body in the file */
    const char *name;                   /* the SDK's spelling, as in the dumps: "K210_CONV" */
    /* the instruction */
    uint32_t opcode, operands;          /* enum v3_operands */
    int32_t *attrs;                     /* malloc'd */
    uint32_t n_attrs;
    struct { uint32_t at, bytes; } constants[V3_MAX_CONSTANTS]; /* byte ranges of the file */
    uint32_t n_constants;
    /* what it leaves behind */
    int writes_main, float_out;         /* float_out: the bytes written to main are float32 */
    uint32_t main_at, main_bytes;       /* the main memory bytes written */
    km_node_result result;              /* (name filled by the describe) */
    /* the model input, when the layer is the first */
    uint32_t input_dtype;               /* DVM_DTYPE_UINT8 (a KPU map) or DVM_DTYPE_FLOAT32 */
    dv_shape input_shape;
    uint32_t input_at;                  /* byte offset in KPU RAM or main memory */
} v3_layer;

uint32_t v3_u32(const uint8_t *p);
/* The SDK's name of a layer type ("K210_CONV"), or "UNKNOWN". */
const char *v3_type_name(uint32_t type);

/* Decodes, checks and plans layer `l` (its header fields set) of file `f`. Returns 0, or -1
 * with a one-line reason naming the field in `why`. */
int v3_plan_layer(const v3_file *f, v3_layer *l, char *why, size_t why_cap);

#endif
