/* detvm: a deterministic virtual machine for integer-quantized neural networks.
 *
 * A model is compiled once into a bytecode module; a loaded module is immutable and may be
 * shared between threads, and each thread runs it in its own session. Every call returns a
 * status and, when it fails, fills a one-line message. Lengths are explicit and nothing is
 * global. */
#ifndef DETVM_H
#define DETVM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DETVM_VERSION "0.1.0"

/* The status classes of the CVM runtime: 1 is the caller's fault (an invalid model or
 * input, deterministic), 2 is a runtime or environment error. */
typedef enum {
    DETVM_OK = 0,
    DETVM_EINVALID = 1,
    DETVM_ERUNTIME = 2
} detvm_status;

typedef struct {
    detvm_status status;
    char message[256];
} detvm_error;

typedef struct detvm_module detvm_module;
typedef struct detvm_session detvm_session;

/* ---- Compiling (loader/) --------------------------------------------------------------- */

/* Compiles a CVM model (graph JSON and params blob) into module bytes, allocated with
 * malloc; the caller frees them. Compiling the same model twice gives identical bytes. */
detvm_status detvm_compile_cvm(const char *json, size_t json_len, const uint8_t *params,
                               size_t params_len, uint8_t **module, size_t *module_len,
                               detvm_error *err);

/* TFLite's two requantization roundings: TFLite Micro's default (SaturatingRoundingDoubling-
 * HighMul, then RoundingDivideByPOT) and the TFLITE_SINGLE_ROUNDING build's. */
typedef enum {
    DETVM_ROUNDING_DOUBLE = 0,
    DETVM_ROUNDING_SINGLE = 1
} detvm_rounding;

typedef struct {
    detvm_rounding rounding;
} detvm_tflite_options;

/* Compiles an int8 .tflite model (subgraph 0, one input) into module bytes, allocated with
 * malloc. `options` may be NULL (double rounding). A float32 input or output with QUANTIZE or
 * DEQUANTIZE at the edge is folded into the binding's quantization (see detvm_io_desc); the
 * module itself computes in integers only. */
detvm_status detvm_compile_tflite(const uint8_t *tflite, size_t tflite_len,
                                  const detvm_tflite_options *options, uint8_t **module,
                                  size_t *module_len, detvm_error *err);

/* Reads a whole file into malloc'd bytes (with a NUL after them, which len leaves out). */
detvm_status detvm_read_file(const char *path, uint8_t **data, size_t *len, detvm_error *err);

/* Reads a model from files: a .dvm module or a .tflite file (params_path must be NULL), or a
 * CVM graph JSON with its params; the last two are compiled, the .tflite with `tflite`
 * options (NULL for the defaults). The bytes are malloc'd; the caller frees them. */
detvm_status detvm_load_model_files(const char *model_path, const char *params_path,
                                    const detvm_tflite_options *tflite, uint8_t **module,
                                    size_t *module_len, detvm_error *err);

/* Gas of a CVM graph JSON alone, exactly as CVMAPIGetGasFromGraphFile. */
detvm_status detvm_cvm_gas_from_json(const char *json, size_t json_len, uint64_t *gas,
                                     detvm_error *err);

/* ---- Modules (vm/) --------------------------------------------------------------------- */

/* Validates module bytes and loads them. The bytes are used in place and must outlive the
 * module. Every offset, index, shape and arity is checked here. */
detvm_status detvm_module_load(const uint8_t *bytes, size_t len, detvm_module **module,
                               detvm_error *err);
void detvm_module_free(detvm_module *module);

/* The module's identity: BLAKE2b-256 over "DTVM", the format version, and each section but
 * the signature as (u32 kind, u32 length, bytes), in kind order. Layout and padding do not
 * enter it, and signing a module does not change it. */
void detvm_module_id(const detvm_module *module, uint8_t id[32]);

typedef enum {
    DETVM_POST_NONE = 0,
    DETVM_POST_ARGMAX = 1,
    DETVM_POST_DETECTION = 2
} detvm_postprocess;

typedef struct {
    uint64_t input_len;        /* bytes detvm_run takes */
    uint64_t output_len;       /* bytes detvm_run writes */
    uint32_t input_type_size;  /* 1 or 4 */
    uint32_t output_type_size; /* 1 or 4 */
    uint64_t gas;              /* the CVM gas */
    uint64_t storage_size;     /* the CVM runtime's storage size */
    uint64_t arena_bytes;      /* our planned arena */
    uint32_t n_instructions;
    uint32_t n_outputs;
    detvm_postprocess postprocess;
    char version[32];          /* the source graph's version string */
    char postprocess_name[32]; /* "", "argmax", "detection" as in the source, or "separate" */
    char source_format[16];    /* "cvm" or "tflite" */
    char rounding[8];          /* "double" or "single" for TFLite modules, else "" */
} detvm_module_info;

detvm_status detvm_module_get_info(const detvm_module *module, detvm_module_info *info);

typedef struct {
    uint32_t id;               /* tensor index */
    uint32_t ndim;
    uint32_t dim[6];
    uint32_t precision;
    int is_constant;
    uint64_t offset;           /* arena byte offset, or constant byte offset */
    const char *name;
} detvm_tensor_desc;

typedef struct {
    uint32_t index;
    uint32_t opcode;
    const char *op;            /* operator name */
    const char *name;          /* the source layer's name */
    uint32_t n_inputs, n_outputs;
    const uint32_t *tensors;   /* n_inputs then n_outputs tensor ids */
    const int32_t *attrs;
    uint32_t n_attrs;
    uint64_t gas;              /* this layer's share of the gas */
    uint64_t param_bytes;      /* bytes of constant inputs in the module */
} detvm_layer_desc;

detvm_status detvm_module_layer(const detvm_module *module, uint32_t index,
                                detvm_layer_desc *layer, detvm_error *err);
detvm_status detvm_module_tensor(const detvm_module *module, uint32_t id,
                                 detvm_tensor_desc *tensor, detvm_error *err);
/* The input tensor id, and output k's tensor id (k < n_outputs). */
uint32_t detvm_module_input(const detvm_module *module);
uint32_t detvm_module_output(const detvm_module *module, uint32_t k);
typedef enum {
    DETVM_DTYPE_INT32 = 0,
    DETVM_DTYPE_INT8 = 1,
    DETVM_DTYPE_UINT8 = 2,
    DETVM_DTYPE_INT16 = 3
} detvm_dtype;

/* An input or output binding. For TFLite modules (layout "separate") the outputs follow one
 * another in detvm_run's buffer, each in its own dtype, and offset and bytes locate this one;
 * for CVM modules offset is 0 and bytes is the whole buffer's length. */
typedef struct {
    uint32_t tensor;           /* tensor id */
    detvm_dtype dtype;
    uint32_t element_bytes;
    uint64_t count;            /* elements */
    uint64_t offset, bytes;    /* where it lies in detvm_run's input or output buffer */
    int quantized;             /* 1 when scale and zero_point are known */
    float scale;               /* real = scale * (q - zero_point) */
    int32_t zero_point;
    int float_in_source;       /* the source model takes or gives float32 here */
} detvm_io_desc;

/* The input binding (is_output 0, k 0) or output binding k (is_output 1). */
detvm_status detvm_module_io(const detvm_module *module, int is_output, uint32_t k,
                             detvm_io_desc *io, detvm_error *err);

/* TFLite's own float boundary formulas (loader/float_io.c), for a quantized binding:
 *   quantize    q = clamp(roundf(x / scale) + zero_point) to the dtype's range, in float
 *               with round half away from zero (TFLite's AffineQuantize);
 *   dequantize  x = (float)((double)scale * (q - zero_point)) (TFLite's Dequantize).
 * `count` floats map to count * element_bytes bytes. */
detvm_status detvm_quantize(const detvm_io_desc *io, const float *x, uint64_t count, void *q,
                            detvm_error *err);
detvm_status detvm_dequantize(const detvm_io_desc *io, const void *q, uint64_t count, float *x,
                              detvm_error *err);

/* Warning i (0, 1, ...) the compiler recorded, e.g. constructs where the CVM runtime's back
 * ends disagree; NULL past the last one. */
const char *detvm_module_warning(const detvm_module *module, uint32_t i);

/* ---- Sessions (vm/) -------------------------------------------------------------------- */

detvm_status detvm_session_new(const detvm_module *module, detvm_session **session,
                               detvm_error *err);
void detvm_session_free(detvm_session *session);

/* Runs the module on input bytes (int8 elements, or little-endian int32 when the input
 * type size is 4) and writes the output bytes, in the CVM runtime's layout. */
detvm_status detvm_run(detvm_session *session, const void *input, size_t input_len,
                       void *output, size_t output_len, detvm_error *err);

/* ---- Stepping (vm/) -------------------------------------------------------------------- */

typedef struct {
    uint32_t ndim;
    uint32_t dim[6];
    uint32_t precision;
    uint64_t count;            /* elements */
    const int32_t *data;       /* valid until the session runs again */
} detvm_tensor_view;

typedef struct {
    uint32_t index;            /* instruction index */
    uint32_t opcode;
    const char *op;            /* operator name */
    const char *name;          /* the source layer's name */
    uint32_t n_outputs;
    detvm_tensor_view outputs[2];
} detvm_step;

/* Called after every instruction; a nonzero return stops the run there, and the run returns
 * DETVM_ERUNTIME ("stopped by the step hook") without writing outputs. */
typedef int (*detvm_step_hook)(void *user, const detvm_step *step);

/* Installs (or, with NULL, removes) the hook for later runs of this session. */
void detvm_session_set_hook(detvm_session *session, detvm_step_hook hook, void *user);

/* Runs instructions 0..last_step only and describes the last one's outputs, like MaixPy's
 * KPU.forward(task, img, end_layer). The views stay valid until the session runs again. */
detvm_status detvm_run_until(detvm_session *session, const void *input, size_t input_len,
                             uint32_t last_step, detvm_step *step, detvm_error *err);

/* ---- Traces (vm/trace.c) ------------------------------------------------------------------
 *
 * With tracing on, every instruction's outputs are hashed as the run goes, in the runtime core,
 * so a run on any device gives the same trace. Two modes: fast (XXH3-128, 16-byte digests)
 * and secure (BLAKE2b-256, 32-byte digests), each with a one-byte domain prefix:
 *
 *   output hash  H(0x02 || for each output: u32 ndim, u32 dim[ndim], int32 elements), all
 *                little-endian
 *   leaf k       H(0x00 || u32 k || u32 opcode || output hash k)
 *   node         H(0x01 || left || right)
 *   root         the Merkle tree of RFC 6962 over leaves 0..n-1: one leaf is its own root;
 *                otherwise NODE(root of the first 2^m leaves, root of the rest), 2^m being the
 *                largest power of two below n. */
typedef enum {
    DETVM_TRACE_OFF = 0,
    DETVM_TRACE_FAST = 1,
    DETVM_TRACE_SECURE = 2
} detvm_trace_mode;

#define DETVM_DIGEST_MAX 32

/* 16 for fast, 32 for secure, 0 otherwise. */
uint32_t detvm_trace_digest_len(detvm_trace_mode mode);

/* Hashes every later run of this session (allocating the digest arrays now; a run itself
 * still allocates nothing). DETVM_TRACE_OFF turns it off. */
detvm_status detvm_session_set_trace(detvm_session *session, detvm_trace_mode mode,
                                     detvm_error *err);

typedef struct {
    detvm_trace_mode mode;
    uint32_t digest_len;
    uint32_t n_steps;
    const uint8_t *output_hashes;  /* n_steps * digest_len */
    const uint8_t *leaves;         /* n_steps * digest_len */
    uint8_t root[DETVM_DIGEST_MAX];
} detvm_trace;

/* The trace of the session's last complete run (valid until the next run). */
detvm_status detvm_session_trace(const detvm_session *session, detvm_trace *trace,
                                 detvm_error *err);

/* The pieces, for checkers that rebuild a trace: an output hash from tensor views, a leaf, a
 * node, and the root of n leaves (n >= 1) laid out one after another. */
void detvm_trace_output_hash(detvm_trace_mode mode, uint32_t n_outputs,
                             const detvm_tensor_view *outputs, uint8_t *digest);
void detvm_trace_leaf(detvm_trace_mode mode, uint32_t step, uint32_t opcode,
                      const uint8_t *output_hash, uint8_t *digest);
void detvm_trace_node(detvm_trace_mode mode, const uint8_t *left, const uint8_t *right,
                      uint8_t *digest);
void detvm_trace_root(detvm_trace_mode mode, const uint8_t *leaves, uint32_t n,
                      uint8_t *digest);

#ifdef __cplusplus
}
#endif

#endif
