/* Importing int8 .tflite models: the parsed model (tflite_model.c reads it from the
 * flatbuffer, checking every offset first), and the import context through which each
 * operator's importer (tflite_<family>.c) adds tensors and instructions to the IR. */
#ifndef DETVM_LOADER_TFLITE_H
#define DETVM_LOADER_TFLITE_H

#include <stddef.h>
#include <stdint.h>

#include "../ops/op.h"
#include "detvm.h"

/* TensorType values of the TFLite schema. */
enum tfl_type {
    TFL_FLOAT32 = 0, TFL_FLOAT16 = 1, TFL_INT32 = 2, TFL_UINT8 = 3, TFL_INT64 = 4,
    TFL_STRING = 5, TFL_BOOL = 6, TFL_INT16 = 7, TFL_COMPLEX64 = 8, TFL_INT8 = 9,
    TFL_FLOAT64 = 10, TFL_COMPLEX128 = 11, TFL_UINT64 = 12, TFL_RESOURCE = 13,
    TFL_VARIANT = 14, TFL_UINT32 = 15, TFL_UINT16 = 16, TFL_INT4 = 17
};

/* ActivationFunctionType values. */
enum tfl_activation {
    TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU_N1_TO_1 = 2, TFL_ACT_RELU6 = 3,
    TFL_ACT_TANH = 4, TFL_ACT_SIGN_BIT = 5
};

/* Padding values. */
enum tfl_padding { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };

#define TFL_MAX_NDIM 8

typedef struct {
    const char *name;           /* NUL-terminated, owned by the model; "" when absent */
    int32_t type;               /* enum tfl_type */
    uint32_t ndim;              /* 0 for a scalar */
    int32_t dim[TFL_MAX_NDIM];  /* each >= 0 (checked by the parser) */
    const uint8_t *data;        /* constant contents (little-endian), NULL for an activation */
    size_t data_len;            /* bytes; the parser checks it equals elements * type size */
    /* quantization: n_quant is 0 (none), 1 (per tensor) or the size of dimension
     * quantized_dimension (per channel) */
    uint32_t n_quant;
    const float *scale;         /* n_quant values, owned by the model */
    const int64_t *zero_point;  /* n_quant values (0 when the file gives none) */
    int32_t quantized_dimension;
} tfl_tensor;

/* The builtin options this importer uses, decoded from whichever options table the operator
 * carries. Fields an operator's table does not have keep the schema defaults: 0, except
 * stride/dilation/filter/depth_multiplier (1) and beta (1.0). */
typedef struct {
    int32_t padding;                        /* enum tfl_padding */
    int32_t stride_w, stride_h;
    int32_t dilation_w, dilation_h;
    int32_t filter_w, filter_h;             /* Pool2DOptions */
    int32_t depth_multiplier;
    int32_t activation;                     /* enum tfl_activation */
    int32_t keep_num_dims;                  /* FullyConnectedOptions */
    int32_t weights_format;                 /* FullyConnectedOptions: 0 DEFAULT */
    int32_t axis;                           /* ConcatenationOptions */
    int32_t keep_dims;                      /* ReducerOptions */
    float beta;                             /* SoftmaxOptions */
    float alpha;                            /* LeakyReluOptions */
    int32_t begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask; /* StridedSlice */
    int32_t offset;                         /* StridedSliceOptions.offset (bool) */
    int32_t pot_scale_int16;                /* Add/SubOptions */
    uint32_t n_new_shape;                   /* ReshapeOptions.new_shape */
    int32_t new_shape[TFL_MAX_NDIM];
    int32_t has_new_shape;                  /* 1 when ReshapeOptions has a new_shape vector */
    uint32_t n_squeeze_dims;                /* SqueezeOptions.squeeze_dims */
    int32_t squeeze_dims[TFL_MAX_NDIM];
} tfl_options;

typedef struct {
    int32_t builtin;            /* BuiltinOperator: max(deprecated_builtin_code, builtin_code) */
    const char *custom_code;    /* NULL unless builtin is CUSTOM (32) */
    int32_t version;
    uint32_t n_inputs, n_outputs;
    const int32_t *inputs;      /* tensor indices, -1 for an omitted optional input; checked
                                   to be -1 or < n_tensors */
    const int32_t *outputs;     /* checked to be < n_tensors */
    tfl_options options;
} tfl_operator;

typedef struct {
    uint32_t version;           /* the schema version; the parser accepts 3 only */
    uint32_t n_tensors, n_operators;
    tfl_tensor *tensors;        /* of subgraph 0 */
    tfl_operator *operators;    /* of subgraph 0, in execution order */
    uint32_t n_inputs, n_outputs;
    const int32_t *inputs;      /* subgraph inputs and outputs, checked < n_tensors */
    const int32_t *outputs;
    const char *description;
    void *storage;              /* everything the model owns, freed by tfl_model_free */
} tfl_model;

/* BuiltinOperator codes used here. */
enum tfl_builtin {
    TFL_OP_ADD = 0, TFL_OP_AVERAGE_POOL_2D = 1, TFL_OP_CONCATENATION = 2, TFL_OP_CONV_2D = 3,
    TFL_OP_DEPTHWISE_CONV_2D = 4, TFL_OP_DEQUANTIZE = 6, TFL_OP_FULLY_CONNECTED = 9,
    TFL_OP_LOGISTIC = 14, TFL_OP_MAX_POOL_2D = 17, TFL_OP_MUL = 18, TFL_OP_RELU = 19,
    TFL_OP_RELU6 = 21, TFL_OP_RESHAPE = 22, TFL_OP_SOFTMAX = 25, TFL_OP_TANH = 28,
    TFL_OP_CUSTOM = 32, TFL_OP_PAD = 34, TFL_OP_TRANSPOSE = 39, TFL_OP_MEAN = 40,
    TFL_OP_SUB = 41, TFL_OP_SQUEEZE = 43, TFL_OP_STRIDED_SLICE = 45, TFL_OP_PADV2 = 60,
    TFL_OP_LEAKY_RELU = 98, TFL_OP_HARD_SWISH = 117, TFL_OP_QUANTIZE = 114
};

/* Parses a .tflite file held in memory (which must outlive the model). Checks every offset,
 * vtable, vector length and index before use; any fault is DETVM_EINVALID with a one-line
 * message naming the field ("tflite: operator 3: inputs[1]: tensor 99 out of range"). */
detvm_status tfl_model_parse(const uint8_t *bytes, size_t len, tfl_model *model,
                             detvm_error *err);
void tfl_model_free(tfl_model *model);

/* The schema's name of a BuiltinOperator code ("CONV_2D"), or "UNKNOWN". */
const char *tfl_builtin_name(int32_t builtin);

/* ---- the import context ------------------------------------------------------------------
 *
 * Every TFLite tensor the graph uses becomes one IR tensor holding int32 elements: constants
 * are widened to int32 once, activations live in the arena. An operator's importer reads the
 * TFLite tensors and options, computes the op's fixed-point parameters exactly as TFLite
 * Micro's Prepare does, and emits one or more instructions. */
typedef struct tfl_import tfl_import;

typedef detvm_status (*tfl_import_fn)(tfl_import *ctx, const tfl_operator *op,
                                      detvm_error *err);

const tfl_model *tfl_ctx_model(const tfl_import *ctx);
/* The operator's i-th input tensor, NULL when it is omitted (-1) or i >= n_inputs. */
const tfl_tensor *tfl_input(const tfl_import *ctx, const tfl_operator *op, uint32_t i);
const tfl_tensor *tfl_output(const tfl_import *ctx, const tfl_operator *op, uint32_t i);
/* The rounding chosen at import (enum dv_rounding), for the ops' rounding attribute. */
int32_t tfl_rounding(const tfl_import *ctx);

/* The IR tensor of a TFLite tensor (created on first use: a constant when the TFLite tensor
 * has data, else an arena tensor with its shape). Fails on an unsupported dtype or shape. */
detvm_status tfl_value(tfl_import *ctx, int32_t tensor, uint32_t *ir_index, detvm_error *err);
/* The values of a constant integer tensor (int8, uint8, int16, int32, or int64 when every
 * value fits int32), such as a shape, axes or paddings operand: at most `max` of them.
 * Returns -1 when the tensor is not such a constant or has more than `max` elements. */
int tfl_tensor_ints(const tfl_tensor *t, int32_t *values, uint32_t max, uint32_t *n);
/* The shape of IR tensor `ir_index`. */
dv_shape tfl_ctx_shape(const tfl_import *ctx, uint32_t ir_index);
/* A new constant IR tensor holding a copy of `values`. */
detvm_status tfl_constant(tfl_import *ctx, const dv_shape *shape, const int32_t *values,
                          uint32_t *ir_index, detvm_error *err);
/* A new arena IR tensor, for a value between two instructions of one operator. */
detvm_status tfl_temporary(tfl_import *ctx, const dv_shape *shape, uint32_t *ir_index,
                           detvm_error *err);
/* Appends an instruction (attributes copied). Its op's infer must accept the inputs, and the
 * shapes it infers must equal the output tensors' shapes; otherwise the error names the
 * operator. */
detvm_status tfl_emit(tfl_import *ctx, const tfl_operator *op, uint32_t opcode,
                      uint32_t n_in, const uint32_t *in, uint32_t n_out, const uint32_t *out,
                      const int32_t *attrs, uint32_t n_attrs, detvm_error *err);
/* A one-line error naming the operator: "tflite: operator 7 (CONV_2D): <message>". */
detvm_status tfl_fail(const tfl_import *ctx, const tfl_operator *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- PAD folding ------------------------------------------------------------------------
 *
 * A PAD or PADV2 (operator `pad_op`) folds into the CONV_2D or DEPTHWISE_CONV_2D that reads
 * its output when: it pads an int8 4-D NHWC tensor on H and W only, by amounts in
 * [0, 65535]; input and output share type and quantization; its pad value is the output's
 * zero point (PADV2: the constant_values scalar, of the same type and quantization); its
 * output is an activation (not a constant), is not a model output, and is read by that conv
 * alone, as the conv's data input only. Each padded element then contributes
 * (zero_point + input_offset) * w = 0 to the conv's sums, which is exactly what the conv's
 * own out-of-bounds taps contribute (nothing), so the conv reading the PAD's input with the
 * amounts added to its padding computes the same bytes. The PAD is not emitted and its
 * output tensor does not exist in the module. Returns 1 and fills *conv_op (the reader),
 * *source (the PAD's input tensor) and pads (top, left, bottom, right); 0 otherwise.
 * `outputs` are the tensors the module binds as its outputs. */
int tfl_pad_fold(const tfl_model *model, uint32_t pad_op, const int32_t *outputs,
                 uint32_t n_outputs, int32_t *conv_op, int32_t *source, int32_t pads[4]);

/* For a CONV_2D or DEPTHWISE_CONV_2D: 1 when a PAD was folded into it, with the tensor its
 * data input reads instead (*source) and the padding to add (top, left, bottom, right). */
int tfl_folded_pad(const tfl_import *ctx, const tfl_operator *op, int32_t *source,
                   int32_t pads[4]);

/* ---- compile-time quantization helpers (tflite_quant.c), TFLite's own formulas ---------- */

/* QuantizeMultiplier: frexp, round(q * 2^31) half away from zero, 2^31 -> 2^30 with shift
 * + 1, shift < -31 -> (0, 0). Under single rounding a shift > 30 saturates to
 * (2^31 - 1, 30). Fails (returns -1) on a negative, NaN or infinite multiplier or when the
 * shift exceeds 30 under double rounding. */
int tfl_quantize_multiplier(double real, int32_t rounding, int32_t *multiplier, int32_t *shift);
/* CalculateActivationRangeQuantized for an output of the given type (int8, uint8, int16):
 * the fused activation's bounds, q = zero_point + (int)roundf(x / scale) in float, clamped to
 * the type's range. Any other activation (TANH, SIGN_BIT) gets the type's whole range, as in
 * TFLite. Fails on an unknown type or a bound beyond int32. */
int tfl_activation_range(int32_t activation, float scale, int32_t zero_point, int32_t type,
                         int32_t *act_min, int32_t *act_max);
/* Nonzero when two tensors have the same quantization (every scale and zero point). */
int tfl_same_quantization(const tfl_tensor *a, const tfl_tensor *b);
/* The type's integer range: int8 [-128, 127], uint8 [0, 255], int16 [-32768, 32767],
 * int32; returns -1 for other types. */
int tfl_type_range(int32_t type, int32_t *min, int32_t *max);

/* ---- the per-family importers ----------------------------------------------------------- */
detvm_status tfl_import_conv_2d(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_depthwise_conv_2d(tfl_import *ctx, const tfl_operator *op,
                                          detvm_error *err);
detvm_status tfl_import_fully_connected(tfl_import *ctx, const tfl_operator *op,
                                        detvm_error *err);
detvm_status tfl_import_average_pool_2d(tfl_import *ctx, const tfl_operator *op,
                                        detvm_error *err);
detvm_status tfl_import_max_pool_2d(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_mean(tfl_import *ctx, const tfl_operator *op, detvm_error *err);

detvm_status tfl_import_add(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_sub(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_mul(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_quantize(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_relu(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_relu6(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_leaky_relu(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_hard_swish(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_logistic(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_tanh(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_softmax(tfl_import *ctx, const tfl_operator *op, detvm_error *err);

detvm_status tfl_import_reshape(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_squeeze(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_concatenation(tfl_import *ctx, const tfl_operator *op,
                                      detvm_error *err);
detvm_status tfl_import_pad(tfl_import *ctx, const tfl_operator *op, detvm_error *err);
detvm_status tfl_import_strided_slice(tfl_import *ctx, const tfl_operator *op,
                                      detvm_error *err);
detvm_status tfl_import_transpose(tfl_import *ctx, const tfl_operator *op, detvm_error *err);

#endif
