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
 * malloc; the caller frees them. Compiling the same model twice gives identical bytes. The
 * module holds pre-packed weights (see detvm_compile_options; detvm_load_model_files takes
 * options for CVM models too). */
detvm_status detvm_compile_cvm(const char *json, size_t json_len, const uint8_t *params,
                               size_t params_len, uint8_t **module, size_t *module_len,
                               detvm_error *err);

/* TFLite's two requantization roundings: TFLite Micro's default (SaturatingRoundingDoubling-
 * HighMul, then RoundingDivideByPOT) and the TFLITE_SINGLE_ROUNDING build's. */
typedef enum {
    DETVM_ROUNDING_DOUBLE = 0,
    DETVM_ROUNDING_SINGLE = 1
} detvm_rounding;

/* The K210 KPU's arithmetic for kmodels: nncase v0.2's (the default, which the nncase
 * simulator computes) or v0.1's and the Kendryte SDK's (activation segment chosen with
 * start_x <= x, round-half-up shifts). */
typedef enum {
    DETVM_KPU_NNCASE_V02 = 0,
    DETVM_KPU_SDK = 1
} detvm_kpu_semantics;

/* What compiling may be told: TFLite's requantization rounding (for .tflite files), the KPU's
 * semantics (for kmodels), and whether to leave out the pre-packed weights. Zeroed, it asks for
 * the defaults.
 *
 * By default the module also holds the weights of its convolutions and fully connected layers
 * packed in the layout the kernel variants this CPU runs want (the PACKS section), so that
 * sessions use them in place instead of packing their own copies. They are derived from the
 * module's constants, checked against them when the module is loaded, and left out of the
 * module id; a machine whose CPU has other instruction sets simply packs for itself. With
 * no_packs the module bytes are the same on every compiling machine. */
typedef struct {
    detvm_rounding rounding;
    detvm_kpu_semantics kpu;
    int no_packs;
} detvm_compile_options;

typedef detvm_compile_options detvm_tflite_options;
typedef detvm_compile_options detvm_kmodel_options;

/* Compiles an int8 .tflite model (subgraph 0, one input) into module bytes, allocated with
 * malloc. `options` may be NULL (double rounding). A float32 input or output with QUANTIZE or
 * DEQUANTIZE at the edge is folded into the binding's quantization (see detvm_io_desc); the
 * module itself computes in integers only. */
detvm_status detvm_compile_tflite(const uint8_t *tflite, size_t tflite_len,
                                  const detvm_tflite_options *options, uint8_t **module,
                                  size_t *module_len, detvm_error *err);

/* Nonzero when the bytes begin like a kmodel v3 or v4. */
int detvm_is_kmodel(const uint8_t *bytes, size_t len);

/* Compiles a K210 kmodel (v3 or v4) into module bytes, allocated with malloc. `options` may be
 * NULL (nncase v0.2 semantics). KPU layers run on the k210 device when it is present (on a
 * host, its emulator) and otherwise on the CPU, with the same bytes; float CPU layers run in
 * strict IEEE single precision and are outside the integer contract. */
detvm_status detvm_compile_kmodel(const uint8_t *kmodel, size_t kmodel_len,
                                  const detvm_kmodel_options *options, uint8_t **module,
                                  size_t *module_len, detvm_error *err);

/* Reads a whole file into malloc'd bytes (with a NUL after them, which len leaves out),
 * 64-byte aligned, so that a module read this way has its packed weights used in place. */
detvm_status detvm_read_file(const char *path, uint8_t **data, size_t *len, detvm_error *err);

/* Writes a whole file or nothing: the bytes go to a temporary file beside `path` whose
 * permission bits are `mode` before any byte is written; it is synced, then renamed over
 * `path`, or with `create_only` linked to it (failing when `path` exists). On failure no file
 * is left behind, errno tells why (EEXIST: another writer got there first), and the message
 * is "PATH: <reason>". */
detvm_status detvm_write_file(const char *path, const void *data, size_t len, unsigned mode,
                              int create_only, detvm_error *err);

/* Reads a model from files: a .dvm module, a .tflite file or a kmodel (params_path must be
 * NULL), or a CVM graph JSON with its params; all but the module are compiled, with `options`
 * (NULL for the defaults). The bytes are malloc'd; the caller frees them. */
detvm_status detvm_load_model_files(const char *model_path, const char *params_path,
                                    const detvm_compile_options *options, uint8_t **module,
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
 * the pre-packed weights and the signature as (u32 kind, u32 length, bytes), in kind order.
 * Layout and padding do not enter it, and neither packing (which is derived from the other
 * sections and checked against them on load) nor signing a module changes it. */
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
    char source_format[16];    /* "cvm", "tflite" or "kmodel" */
    char rounding[8];          /* "double" or "single" for TFLite modules, else "" */
    uint32_t n_segments;       /* device segments (the rest runs on the CPU) */
    uint32_t segment_instructions; /* instructions in them */
    char segment_devices[32];  /* their devices, comma-separated ("k210"), or "" */
    uint32_t n_packs;          /* instructions with pre-packed weights in the module */
    uint32_t n_packs_used;     /* of which this machine checked and uses in place */
    uint64_t packed_bytes;     /* the bytes of those used */
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
    uint32_t element_bytes;    /* 4, or 1 for an activation stored as int8 */
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
    DETVM_DTYPE_INT16 = 3,
    DETVM_DTYPE_FLOAT32 = 4    /* IEEE-754 single, little-endian (kmodel float layers) */
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
/* With want_data 0, later hook calls get views whose data is NULL (shapes and counts stay):
 * for hooks that only count or time steps, which then cost nothing per element (an activation
 * stored as int8 is otherwise widened for its view). The default is 1. */
void detvm_session_set_hook_data(detvm_session *session, int want_data);

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

/* ---- Trace files and bisection (verify/) ---------------------------------------------------
 *
 * A trace file holds a traced run's every step: its opcode, op and layer names, shapes and
 * output hash, with the module id, the mode and the root; a checksum covers the whole file,
 * and the leaves must rebuild the root (see docs/verification.md). */
typedef struct detvm_trace_file detvm_trace_file;

/* The trace file bytes (malloc'd) of the session's last traced run of module m. */
detvm_status detvm_trace_file_write(const detvm_module *m, const detvm_session *session,
                                    uint8_t **bytes, size_t *len, detvm_error *err);
/* Parses and checks a trace file (the bytes must outlive it). */
detvm_status detvm_trace_file_read(const uint8_t *bytes, size_t len, detvm_trace_file **trace,
                                   detvm_error *err);
void detvm_trace_file_free(detvm_trace_file *trace);

typedef struct {
    uint32_t index, opcode;
    const char *op, *name, *shapes;  /* "(1,3,4,4) (8,3,3,3) -> (1,8,2,2)" */
    const uint8_t *output_hash, *leaf;
} detvm_trace_step_desc;

typedef struct {
    detvm_trace_mode mode;
    uint32_t digest_len, n_steps;
    uint8_t module_id[32];
    uint8_t root[DETVM_DIGEST_MAX];
} detvm_trace_summary;

void detvm_trace_file_summary(const detvm_trace_file *trace, detvm_trace_summary *summary);
detvm_status detvm_trace_file_step(const detvm_trace_file *trace, uint32_t k,
                                   detvm_trace_step_desc *step, detvm_error *err);
/* The root of the Merkle subtree over leaves [lo, hi), as the tree of detvm_trace_root splits
 * it (lo < hi <= n_steps). */
detvm_status detvm_trace_file_node(const detvm_trace_file *trace, uint32_t lo, uint32_t hi,
                                   uint8_t *digest, detvm_error *err);

/* The bisection protocol, seen from the challenger, who holds its own trace and asks the other
 * party, through `ask`, for one line at a time (the messages are in docs/verification.md):
 * "HELLO" first, then "NODE lo hi" down the tree, then "LEAF k". `ask` writes the answer line
 * (no newline) and returns 0, or nonzero when the peer is gone. */
typedef int (*detvm_bisect_ask)(void *user, const char *question, char *answer, size_t cap);

typedef struct {
    int identical;             /* same module, same root */
    uint32_t first_divergence; /* the first step whose leaf differs, when not identical */
    uint32_t messages;         /* lines exchanged, questions and answers */
    uint8_t their_output_hash[DETVM_DIGEST_MAX];
} detvm_bisect_result;

detvm_status detvm_bisect(const detvm_trace_file *mine, detvm_bisect_ask ask, void *user,
                          detvm_bisect_result *result, detvm_error *err);
/* The other party's side: the answer to one question about its trace (fails on a malformed
 * question). */
detvm_status detvm_bisect_answer(const detvm_trace_file *trace, const char *question,
                                 char *answer, size_t cap, detvm_error *err);

/* ---- One-step proofs (verify/) -----------------------------------------------------------
 *
 * A proof that instruction K of a traced run produced its output: the instruction's input
 * tensors that earlier steps computed (or the model input), each with the Merkle proof of the
 * producing step's leaf, and step K's own leaf with its proof, all against the trace root. */
detvm_status detvm_prove_step(const detvm_module *m, detvm_session *session, const void *input,
                              size_t input_len, uint32_t step, detvm_trace_mode mode,
                              uint8_t **proof, size_t *proof_len, detvm_error *err);

typedef struct {
    uint32_t step;
    int output_correct;        /* re-executing the step gives the claimed output hash */
    uint8_t root[DETVM_DIGEST_MAX];
    detvm_trace_mode mode;
} detvm_step_check;

/* Checks a proof against module m: the proofs of every input and of the claimed output against
 * the root, then re-executes only that instruction. DETVM_OK with output_correct 0 means the
 * proof is consistent but the claimed output is wrong. */
detvm_status detvm_check_step(const detvm_module *m, const uint8_t *proof, size_t proof_len,
                              detvm_step_check *check, detvm_error *err);

/* ---- Receipts (verify/) ------------------------------------------------------------------
 *
 * A receipt states that a module (its id), given input bytes (their hash), wrote output bytes
 * (their hash) through a trace (its mode, root and number of steps), with this engine version,
 * devices and kernel variants, for this gas; and it is signed with Ed25519 (libsodium). It is a
 * canonical binary record, every field in a fixed order, little-endian, without padding
 * (docs/verification.md gives the byte layout), so the same run signed with the same key gives
 * the same bytes. Keys are libsodium's: a 32-byte public key and a 64-byte secret key (the
 * 32-byte seed, then the public key). */
#define DETVM_PUBLIC_KEY_BYTES 32
#define DETVM_SECRET_KEY_BYTES 64
#define DETVM_SIGNATURE_BYTES 64
#define DETVM_RECEIPT_NAME_MAX 63  /* bytes of the engine version, a device or a variant */
#define DETVM_RECEIPT_LIST_MAX 8   /* devices, kernel variants */

typedef struct {
    uint32_t format_version;
    uint8_t module_id[32];         /* detvm_module_id */
    uint8_t input_hash[32];        /* BLAKE2b-256 of the bytes detvm_run took */
    uint8_t output_hash[32];       /* BLAKE2b-256 of the bytes detvm_run wrote */
    detvm_trace_mode mode;         /* fast or secure */
    uint32_t n_steps;
    uint8_t trace_root[DETVM_DIGEST_MAX];  /* detvm_trace_digest_len(mode) bytes of it */
    uint64_t gas;                  /* detvm_module_info.gas */
    char engine_version[DETVM_RECEIPT_NAME_MAX + 1];  /* DETVM_VERSION of the signer's build */
    uint32_t n_devices, n_kernel_variants;            /* 1..DETVM_RECEIPT_LIST_MAX each */
    char devices[DETVM_RECEIPT_LIST_MAX][DETVM_RECEIPT_NAME_MAX + 1];          /* "cpu", ... */
    char kernel_variants[DETVM_RECEIPT_LIST_MAX][DETVM_RECEIPT_NAME_MAX + 1];  /* "reference" */
    uint8_t signer[DETVM_PUBLIC_KEY_BYTES];
    uint8_t signature[DETVM_SIGNATURE_BYTES];
} detvm_receipt;

/* A new key pair, from the system's random source. */
detvm_status detvm_keygen(uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                          uint8_t secret_key[DETVM_SECRET_KEY_BYTES], detvm_error *err);

/* Describes the session's last run, which must have been traced from start to end
 * (detvm_session_set_trace): every field but signer and signature, which are left zero.
 * `input` and `output` are the bytes detvm_run took and wrote. */
detvm_status detvm_receipt_describe(const detvm_session *session, const void *input,
                                    size_t input_len, const void *output, size_t output_len,
                                    detvm_receipt *receipt, detvm_error *err);

/* Describes the session's last traced run and signs it: the receipt bytes are malloc'd, and the
 * caller frees them. A secret key whose public half does not come from its seed is refused. */
detvm_status detvm_receipt_make(const detvm_session *session, const void *input,
                                size_t input_len, const void *output, size_t output_len,
                                const uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                                uint8_t **receipt, size_t *receipt_len, detvm_error *err);

/* Parses receipt bytes strictly (exact length, known version and mode, bounded names, no
 * trailing bytes), checks the signature against the signer key the receipt holds, and, when
 * `public_key` is not NULL, that this is the signer. A valid signature only shows that the
 * key in the receipt signed it: pass the key you trust. On success *receipt holds the fields. */
detvm_status detvm_receipt_verify(const uint8_t *bytes, size_t len, const uint8_t *public_key,
                                  detvm_receipt *receipt, detvm_error *err);

/* Key files are one line of text: "detvm-ed25519-public-key " or "detvm-ed25519-secret-key ",
 * then the key in lowercase hex (64 or 128 digits), then a newline. The text functions write
 * that line, NUL-terminated; the read functions refuse anything else (a missing final newline
 * aside) with a one-line message naming the file. */
#define DETVM_KEY_TEXT_MAX 160
void detvm_public_key_text(const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                           char text[DETVM_KEY_TEXT_MAX]);
void detvm_secret_key_text(const uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                           char text[DETVM_KEY_TEXT_MAX]);
detvm_status detvm_public_key_read(const char *path,
                                   uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                                   detvm_error *err);
detvm_status detvm_secret_key_read(const char *path,
                                   uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                                   detvm_error *err);

/* ---- Static checks (verify/) ---------------------------------------------------------------
 *
 * detvm_verify_module examines a loaded module without running it (`detvm verify`) and
 * reports one finding per line, section after section:
 *   DETVM_VERIFY_OVERFLOW  every arithmetic step that could leave its C type (the accumulators
 *                          of conv2d, dense, sum and the TFLite kernels, element-wise sums and
 *                          products, shifts, requantization's left shift): the worst-case bound
 *                          of its value in any summation order, from the operands' ranges
 *                          (constants: their actual values; arena tensors: +-(2^(p-1) - 1) for
 *                          their declared precision p in CVM modules, their dtype's range in
 *                          TFLite ones), against the type; and in CVM modules every output's
 *                          bound against its declared precision, which is what the next
 *                          instruction assumes;
 *   DETVM_VERIFY_SHAPES    every instruction's shapes, re-inferred;
 *   DETVM_VERIFY_MEMORY    the arena, each arena tensor's offset, size and lifetime (from the
 *                          instruction that writes it, or the start, to its last reader, or the
 *                          end for outputs), and that no two tensors live at once share a byte;
 *   DETVM_VERIFY_GAS       each layer's gas, and (CVM) that they add up to the total;
 *   DETVM_VERIFY_CONTRACT  constructs outside the determinism contract: the compiler's
 *                          warnings (the CVM runtime's back ends disagree there), float32 at
 *                          the source model's boundaries, requantization parameters outside
 *                          TFLite's range.
 * A finding is a check that holds, a check that fails, or a note. */
typedef enum {
    DETVM_VERIFY_OVERFLOW = 0,
    DETVM_VERIFY_SHAPES = 1,
    DETVM_VERIFY_MEMORY = 2,
    DETVM_VERIFY_GAS = 3,
    DETVM_VERIFY_CONTRACT = 4
} detvm_verify_section;

typedef enum {
    DETVM_FINDING_NOTE = 0,
    DETVM_FINDING_OK = 1,
    DETVM_FINDING_FAILED = 2
} detvm_finding_result;

/* One finding; its strings are valid during the callback only. */
typedef struct {
    detvm_verify_section section;
    const char *section_name;  /* "overflow", "shapes", "memory", "gas", "contract" */
    detvm_finding_result result;
    int64_t instruction;       /* the instruction it is about, or -1 */
    const char *op, *name;     /* that instruction's op and layer name, or "" */
    const char *what;          /* "accumulator", "output precision", "shape", "overlap", ... */
    int has_bound;             /* lo..hi is a bound (saturating at +-INT64_MAX: "or beyond") */
    int64_t lo, hi;
    uint32_t limit_bits;       /* the bound's limit: a type's width or a declared precision */
    const char *text;          /* the line without the section name, e.g. "step 7 dense
                                  dense_0: accumulator [-1016, 1016] within int32: ok" */
} detvm_finding;

typedef void (*detvm_finding_fn)(void *user, const detvm_finding *finding);

typedef struct {
    uint32_t checks, failed, notes;
} detvm_verify_summary;

/* Calls fn (which may be NULL) once per finding, in section order, and fills summary (which
 * may be NULL). Returns DETVM_OK when every check holds, DETVM_EINVALID when one fails (the
 * message names the first), DETVM_ERUNTIME when memory runs out. */
detvm_status detvm_verify_module(const detvm_module *module, detvm_finding_fn fn, void *user,
                                 detvm_verify_summary *summary, detvm_error *err);

/* ---- K210 and MaixPy features (vm/kpu_info.c, vm/yolo2.c, vm/face.c) ---------------------
 *
 * What MaixPy's KPU module offers (kpu.netinfo, kpu.forward to an end layer, kpu.fmap,
 * kpu.set_outputs, kpu.init_yolo2 / run_yolo2, kpu.face_encode / face_compare), on a module
 * compiled from a kmodel. A layer is a kmodel node, numbered as in the file (the NNN of its
 * instructions' names "NNN_<op>"), which is MaixPy's layer number. Nothing here allocates. */

typedef struct {
    uint32_t index;            /* the node's number in the kmodel */
    char type[32];             /* its op as the file names it: "K210_CONV", "KPUConv2D", ... */
    uint32_t first_step, last_step;  /* its instructions in the module */
    int is_kpu;                /* a KPU convolution: the MaixPy fields below are its own */
    uint32_t wi, hi, wo, ho;   /* input and output width and height (output after pooling) */
    uint32_t chi, cho;         /* input and output channels */
    uint32_t dw;               /* 1 for a depthwise layer */
    uint32_t kernel_type;      /* 0: 1x1, 1: 3x3 */
    uint32_t pool_type;        /* the KPU's pool type: 0 none, 1 max 2x2 stride 2, 2 mean 2x2
                                  stride 2, 3 max 4x4 s4, 4 mean 4x4 s4, 5 left-top 2x2 s2,
                                  6 right-top 2x2 s2, 7 left-top 4x4 s4, 8 mean 2x2 s1,
                                  9 max 2x2 s1 */
    uint32_t para_size;        /* kernel_load_cfg.para_size: weight bytes per load */
    uint32_t batches;          /* maps the layer computes one after another (1 but in v4) */
    int has_fmap;              /* the node leaves a map in KPU RAM (a KPU layer or an upload) */
    uint32_t fmap_step;        /* the instruction that writes it */
    uint32_t fmap_n, fmap_ch, fmap_h, fmap_w;  /* that map: n batches of ch x h x w */
    uint64_t param_bytes;      /* bytes of constants the node's instructions read */
} detvm_kpu_layer;

/* MaixPy's kpu.netinfo: the layers of a kmodel module in file order. Layers of other modules
 * (CVM, TFLite) are none. detvm_kpu_netinfo describes the k-th (k < count), detvm_kpu_layer_find
 * the layer numbered `index`. */
uint32_t detvm_kpu_layer_count(const detvm_module *module);
detvm_status detvm_kpu_netinfo(const detvm_module *module, uint32_t k, detvm_kpu_layer *layer,
                               detvm_error *err);
detvm_status detvm_kpu_layer_find(const detvm_module *module, uint32_t index,
                                  detvm_kpu_layer *layer, detvm_error *err);

/* A layer's output map, in KPU RAM after a forward run. */
typedef struct {
    uint32_t layer;            /* the node's number */
    uint32_t step;             /* the instruction that wrote the map */
    uint32_t n, ch, h, w;      /* n batches of ch channels of h x w bytes */
    uint32_t offset;           /* the map's first byte in KPU RAM */
    const int32_t *kpu;        /* the KPU RAM image (ops/kimage.h layout) after that step;
                                  valid until the session runs again */
} detvm_kpu_fmap;

/* MaixPy's kpu.forward(task, img, end_layer): runs the model on `input` up to the instruction
 * of layer `index` that writes its map (the layers after it do not run), and describes the
 * map. DETVM_EINVALID for a layer that leaves no map in KPU RAM (use detvm_run_until). */
detvm_status detvm_kpu_forward(detvm_session *session, const void *input, size_t input_len,
                               uint32_t index, detvm_kpu_fmap *fmap, detvm_error *err);
/* MaixPy's kpu.fmap(fmap, ch): channel `channel` of batch `batch` of the map, h*w bytes row by
 * row (len must be h*w), read from the KPU's row layout. */
detvm_status detvm_kpu_fmap_channel(const detvm_kpu_fmap *fmap, uint32_t batch,
                                    uint32_t channel, uint8_t *pixels, size_t len,
                                    detvm_error *err);

/* MaixPy's kpu.set_outputs(task, k, w, h, ch) and what forward then returns: output k of the
 * session's last detvm_run seen as ch channels of h x w (CHW: view dims ch, h, w), checked
 * against the output's element count; w = h = ch = 0 gives the shape the module declares.
 * The elements are the output's int32 values (float32 bits for a float output); the view is
 * valid until the session runs again. */
detvm_status detvm_session_output_view(const detvm_session *session, uint32_t k, uint32_t w,
                                       uint32_t h, uint32_t ch, detvm_tensor_view *view,
                                       detvm_error *err);

/* YOLOv2 region decoding, as MaixPy's kpu.init_yolo2 / run_yolo2, deterministic: the order of
 * every float operation, the exp function and the tie-breaks are fixed (see vm/yolo2.c), so
 * the detections and their bits are the same on every machine. The output map holds, for
 * each anchor a, channels a*(5+classes) .. : tx, ty, tw, th, objectness, class logits. */
typedef struct {
    uint32_t w, h, channels;   /* the output map: channels x h x w floats, CHW */
    uint32_t n_anchors;
    const float *anchors;      /* n_anchors (width, height) pairs, in grid cells, > 0 */
    uint32_t classes;          /* 0: channels / n_anchors - 5; else it must agree */
    float threshold;           /* 0..1: a class prob must exceed it */
    float nms;                 /* 0..1: a box whose IoU with a better box of its class
                                  exceeds this is dropped */
    uint32_t image_w, image_h; /* the network input size, for pixel coordinates */
} detvm_yolo2_params;

typedef struct {
    uint32_t index;            /* the box: anchor * h * w + row * w + column */
    uint32_t classid;
    float prob;                /* objectness * class probability */
    float x, y, w, h;          /* center and size, relative to the image (0..1) */
    float x1, y1, x2, y2;      /* corners in pixels */
    int32_t rect[4];           /* MaixPy's rect: x, y, w, h in whole pixels */
} detvm_yolo2_object;

/* Workspace bytes detvm_yolo2_decode needs (0 when the parameters are invalid). */
uint64_t detvm_yolo2_workspace_bytes(const detvm_yolo2_params *params);
/* Decodes `count` floats (channels*h*w); the input is not modified. Writes the first
 * max_objects objects, in box order (MaixPy's), and sets *n_objects to how many there are.
 * The workspace must be 4-byte aligned. */
detvm_status detvm_yolo2_decode(const detvm_yolo2_params *params, const float *output,
                                uint64_t count, void *workspace, uint64_t workspace_bytes,
                                detvm_yolo2_object *objects, uint32_t max_objects,
                                uint32_t *n_objects, detvm_error *err);

/* MaixPy's kpu.face_encode: a face feature of len floats (1..65536) to len bytes, each
 * min(max(x, -0.25), 0.25) * 512 truncated, as MaixPy stores it (x >= 0.25 gives -128 there,
 * and here: MaixPy keeps the low byte of 128). */
detvm_status detvm_face_encode(const float *feature, uint32_t len, int8_t *code,
                               detvm_error *err);
/* MaixPy's kpu.face_compare: the similarity of two codes of len bytes, 50 + 50 * cosine
 * (0..100), computed as MaixPy does (vm/face.c); NaN (0x7fc00000) when a code is all zero. */
detvm_status detvm_face_compare(const int8_t *a, const int8_t *b, uint32_t len, float *score,
                                detvm_error *err);

/* ---- Registry (registry/) -----------------------------------------------------------------
 *
 * An SQLite database of modules, named model versions, recorded runs and their audits (the
 * schema and its guarantees are in docs/registry.md). Modules are stored once, by module id.
 * A model reference is "NAME" (its latest version) or "NAME@VERSION". A handle is one
 * connection, for one thread at a time; any number of processes may share a database. A
 * committed record survives the writer being killed; with DETVM_REGISTRY_SYNC_FULL it also
 * survives a power loss. */
typedef struct detvm_registry detvm_registry;

#define DETVM_REGISTRY_NAME_MAX 128     /* bytes of a model name */
#define DETVM_REGISTRY_VERSION_MAX 64   /* bytes of a version */
#define DETVM_REGISTRY_TAG_MAX 64       /* bytes of a tag */
#define DETVM_REGISTRY_TAGS_MAX 16      /* tags per model version */
#define DETVM_REGISTRY_TEXT_MAX 512     /* bytes of a stored path or list */

/* detvm_registry_open flags: fsync every commit (synchronous=FULL) instead of at checkpoints. */
#define DETVM_REGISTRY_SYNC_FULL 1u

/* The database path when none is given: $DETVM_REGISTRY, else $XDG_DATA_HOME/detvm/registry.db,
 * else $HOME/.local/share/detvm/registry.db. */
detvm_status detvm_registry_default_path(char *path, size_t cap, detvm_error *err);

/* Opens the database at `path` (NULL: the default path), creating it and its folders when
 * absent, and brings its schema up to date. A file that is not a detvm registry is refused
 * untouched. */
detvm_status detvm_registry_open(const char *path, unsigned flags, detvm_registry **registry,
                                 detvm_error *err);
void detvm_registry_close(detvm_registry *registry);
/* The database file the handle opened. */
const char *detvm_registry_file(const detvm_registry *registry);

/* Which models may be loaded from the registry: by reference (detvm_registry_load), judging
 * that model version, and in audits, judging a run's module by every version holding it.
 * Whatever the policy, a model whose stored signature does not verify is refused. With
 * require_signed, so is a model without a signature by a trusted key: one in the registry's
 * list (detvm_registry_trust_add) or among the n_keys 32-byte keys of `keys`. */
typedef struct {
    int require_signed;
    const uint8_t *keys;
    uint32_t n_keys;
} detvm_trust_policy;

detvm_status detvm_registry_set_policy(detvm_registry *registry,
                                       const detvm_trust_policy *policy, detvm_error *err);

typedef struct {
    char path[DETVM_REGISTRY_TEXT_MAX + 1];  /* as given to detvm_registry_add */
    uint64_t size;
    uint8_t hash[32];                        /* BLAKE2b-256 of the file's bytes */
} detvm_source_file;

/* One model version. The signature is Ed25519 over the 32-byte module id. */
typedef struct {
    int64_t id;
    char name[DETVM_REGISTRY_NAME_MAX + 1];
    char version[DETVM_REGISTRY_VERSION_MAX + 1];
    uint8_t module_id[32];
    uint64_t size;                 /* module bytes */
    char source_format[16];        /* "cvm" or "tflite" */
    char given_format[8];          /* what was added: "cvm", "tflite" or "dvm" (a module) */
    char producer[64];             /* the engine that compiled the module */
    uint8_t source_hash[32];       /* the module's own record of its source files */
    uint32_t n_tags;
    char tags[DETVM_REGISTRY_TAGS_MAX][DETVM_REGISTRY_TAG_MAX + 1];
    uint32_t n_sources;            /* 0 (added from bytes), 1 or 2 (graph JSON and params) */
    detvm_source_file sources[2];
    int is_signed;
    int signature_valid;           /* the signature verifies over the module id */
    int signer_trusted;            /* the signer is trusted (the registry's list, the policy) */
    uint8_t signer[DETVM_PUBLIC_KEY_BYTES];
    uint8_t signature[DETVM_SIGNATURE_BYTES];
    int64_t created;               /* nanoseconds since 1970-01-01 UTC */
} detvm_model_record;

typedef struct {
    const char *name;                    /* letters, digits, '.', '_', '-', '/'; required */
    const char *version;                 /* NULL: one above the name's highest integer version */
    const char *const *tags;             /* printable ASCII without spaces */
    uint32_t n_tags;
    const uint8_t *secret_key;           /* signs the model; NULL: unsigned */
    const detvm_tflite_options *tflite;  /* for .tflite files; NULL: the defaults */
} detvm_model_add_options;

/* Reads a model from files as detvm_load_model_files does (a module, a .tflite file, or a CVM
 * graph JSON with its params), compiles it, and stores it as name@version with the files'
 * hashes. Adding a module that is already stored, under any name, stores no second copy. */
detvm_status detvm_registry_add(detvm_registry *registry, const char *model_path,
                                const char *params_path, const detvm_model_add_options *options,
                                detvm_model_record *record, detvm_error *err);
/* The same from module bytes (no source files). */
detvm_status detvm_registry_add_module(detvm_registry *registry, const uint8_t *module,
                                       size_t module_len, const detvm_model_add_options *options,
                                       detvm_model_record *record, detvm_error *err);

/* The record of a reference, without applying the trust policy. */
detvm_status detvm_registry_model(detvm_registry *registry, const char *ref,
                                  detvm_model_record *record, detvm_error *err);

/* Calls fn for each model version (only those of `name` unless it is NULL), by name, then
 * newest first; a nonzero return from fn stops the listing. */
typedef int (*detvm_model_fn)(void *user, const detvm_model_record *record);
detvm_status detvm_registry_models(detvm_registry *registry, const char *name, detvm_model_fn fn,
                                   void *user, detvm_error *err);

/* The stored module bytes of a reference (malloc'd), after applying the trust policy and
 * checking that they load and hash to their module id. `record` may be NULL. */
detvm_status detvm_registry_load(detvm_registry *registry, const char *ref, uint8_t **module,
                                 size_t *module_len, detvm_model_record *record,
                                 detvm_error *err);

/* Removes NAME@VERSION, or every version of NAME; stored modules that no model and no run
 * refers to any more go with them. */
detvm_status detvm_registry_remove(detvm_registry *registry, const char *ref, uint32_t *removed,
                                   detvm_error *err);

/* Signs a model version (replacing any signature it had). */
detvm_status detvm_registry_sign(detvm_registry *registry, const char *ref,
                                 const uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                                 detvm_model_record *record, detvm_error *err);

/* The registry's list of trusted public keys. */
detvm_status detvm_registry_trust_add(detvm_registry *registry,
                                      const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                                      detvm_error *err);
detvm_status detvm_registry_trust_remove(detvm_registry *registry,
                                         const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                                         detvm_error *err);
typedef int (*detvm_key_fn)(void *user, const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                            int64_t added);
detvm_status detvm_registry_trusted_keys(detvm_registry *registry, detvm_key_fn fn, void *user,
                                         detvm_error *err);

/* Recording a run: the session's last run, traced from start to end (detvm_session_set_trace),
 * on `input`, having written `output`. The record holds the module (stored if it is not yet),
 * the input hash (and the input bytes with store_input), the output hash, the trace root and
 * every step's output hash, a receipt (detvm_receipt_make), the engine version, devices,
 * kernel variants, duration and time. */
typedef struct {
    const char *model, *version;  /* the registry model that ran; NULL: the latest model
                                     version holding the module, if any */
    int store_input;
    const uint8_t *secret_key;    /* signs the receipt; NULL: the registry's own key, kept
                                     beside the database (FILE.key, mode 0600) */
    uint64_t duration_ns;         /* the run's time, as the caller measured it */
} detvm_record_options;

detvm_status detvm_registry_record(detvm_registry *registry, const detvm_session *session,
                                   const void *input, size_t input_len, const void *output,
                                   size_t output_len, const detvm_record_options *options,
                                   int64_t *run_id, detvm_error *err);

typedef struct {
    int64_t id;
    char model[DETVM_REGISTRY_NAME_MAX + 1];        /* "" when the module had no name */
    char version[DETVM_REGISTRY_VERSION_MAX + 1];
    uint8_t module_id[32];
    uint8_t input_hash[32], output_hash[32];        /* BLAKE2b-256 */
    uint64_t input_len, output_len;
    int has_input;                                  /* the input bytes are stored */
    detvm_trace_mode mode;
    uint32_t n_steps;
    uint8_t trace_root[DETVM_DIGEST_MAX];
    uint64_t gas;
    char engine_version[DETVM_RECEIPT_NAME_MAX + 1];
    char devices[DETVM_REGISTRY_TEXT_MAX + 1];         /* comma-separated */
    char kernel_variants[DETVM_REGISTRY_TEXT_MAX + 1]; /* comma-separated */
    uint8_t signer[DETVM_PUBLIC_KEY_BYTES];         /* of the receipt */
    uint64_t duration_ns;
    int64_t created;                                /* nanoseconds since 1970-01-01 UTC */
} detvm_run_record;

typedef struct {
    const char *model;   /* only this model's runs; NULL: all */
    int64_t since;       /* only runs created at or after this time (ns); 0: all */
    int64_t run_id;      /* only this run; 0: all */
    uint32_t limit;      /* at most this many, newest first; 0: no limit */
} detvm_run_query;

typedef int (*detvm_run_fn)(void *user, const detvm_run_record *run);
detvm_status detvm_registry_runs(detvm_registry *registry, const detvm_run_query *query,
                                 detvm_run_fn fn, void *user, detvm_error *err);
/* A run's stored receipt bytes (malloc'd). */
detvm_status detvm_registry_receipt(detvm_registry *registry, int64_t run_id, uint8_t **receipt,
                                    size_t *receipt_len, detvm_error *err);

/* Audits: the selected runs whose input is stored run again, traced in their recorded mode,
 * and their output hash, trace root and each step's output hash are compared bit for bit with
 * the record (whose receipt must verify and agree with it). Each audit is recorded. */
typedef enum {
    DETVM_AUDIT_REPRODUCED = 0,
    DETVM_AUDIT_DIVERGED = 1,      /* the replay differs from the record */
    DETVM_AUDIT_FAILED = 2,        /* the record cannot be replayed or is inconsistent */
    DETVM_AUDIT_SKIPPED = 3        /* no stored input (not recorded as an audit) */
} detvm_audit_result;

typedef struct {
    const char *model;             /* only this model's runs; NULL: all */
    int64_t run_id;                /* only this run; 0: all */
    uint32_t shard, shard_count;   /* runs whose id % shard_count == shard - 1 (1-based shard);
                                      0, 0: every run */
} detvm_audit_selection;

typedef struct {
    int64_t run_id, audit_id;      /* audit_id 0 when skipped */
    const char *model, *version;   /* "" when the run's module had no name */
    detvm_audit_result result;
    int64_t step;                  /* the first diverging instruction, or -1 */
    const char *op, *layer;        /* its op and layer name, or "" */
    const char *message;           /* one line: what differs, or why it failed */
    uint64_t done, total;          /* progress: runs handled so far, runs selected */
} detvm_audit_outcome;

typedef void (*detvm_audit_fn)(void *user, const detvm_audit_outcome *outcome);

typedef struct {
    uint64_t selected, audited, reproduced, diverged, failed, skipped;
} detvm_audit_summary;

/* Audits the selection in run id order, calling fn (which may be NULL) after each run. Returns
 * DETVM_OK when the audit could be carried out, whatever it found: see the summary. */
detvm_status detvm_registry_audit(detvm_registry *registry, const detvm_audit_selection *select,
                                  detvm_audit_fn fn, void *user, detvm_audit_summary *summary,
                                  detvm_error *err);

/* The database's own check (PRAGMA integrity_check and foreign_key_check), then every stored
 * module loaded and hashed again, every signature and receipt verified, and every run's record
 * compared with its receipt and stored input. fn (which may be NULL) gets one line per
 * problem. DETVM_EINVALID when there is a problem (the message names the first). */
typedef void (*detvm_problem_fn)(void *user, const char *problem);

typedef struct {
    uint64_t modules, models, runs, audits, problems;
} detvm_check_summary;

detvm_status detvm_registry_check(detvm_registry *registry, detvm_problem_fn fn, void *user,
                                  detvm_check_summary *summary, detvm_error *err);

/* ---- Benchmarks and the memory plan (vm/macs.c, vm/liveness.c) ---------------------------
 *
 * Multiply-accumulates: what a layer multiplies and adds, counted as the published figures
 * count them (every tap of the window, padding included, once per output element):
 *   CONV2D             N * channels * OH * OW * (C / groups) * kernel_h * kernel_w
 *   DENSE              M * units * K
 *   QCONV2D            N * OH * OW * O * KH * KW * IC
 *   QDEPTHWISE_CONV2D  N * OH * OW * C * M * KH * KW
 *   QFULLY_CONNECTED   B * O * D
 *   KPU_CONV2D(_OUT)   batches * in_w * in_h * out_c * (depthwise ? 1 : in_c) * filter^2
 *                      (the KPU convolves at the input's size and pools after)
 *   nncase conv2d, quantized conv2d, conv2d_transpose, matmul, quantized matmul, and the
 *   SDK's fully connected layer likewise; BROADCAST_MUL and QMUL one per output element.
 * Every other op counts 0. Counts saturate at UINT64_MAX. */

/* Instruction `index`'s multiply-accumulates (0 when out of range). */
uint64_t detvm_layer_macs(const detvm_module *module, uint32_t index);
/* The sum over the module's instructions. */
uint64_t detvm_module_macs(const detvm_module *module);

/* The memory plan against its lower bound. An arena tensor is live from the instruction that
 * writes it (the input: from the start) to the last instruction that reads it (a model output:
 * to the end); an instruction's inputs and outputs are live together. The peak of live bytes
 * is the least arena any plan can have; the compiler keeps arena_bytes within 1.2 times it. */
typedef struct {
    uint64_t arena_bytes;       /* the planned arena of the tensors (64-byte aligned) */
    uint64_t scratch_bytes;     /* the kernels' scratch, after the arena */
    uint64_t peak_live_bytes;   /* the most bytes of arena tensors live at one time */
    uint64_t peak_live_aligned; /* the same with each tensor rounded up to 64 bytes, the
                                   least arena of a plan that aligns tensors as ours does */
    uint64_t tensor_bytes;      /* every arena tensor's bytes, as if none shared memory */
    uint32_t peak_step;         /* where the peak is: the instruction, or UINT32_MAX for the
                                   start (the input alone) */
    uint32_t n_tensors;         /* arena tensors */
    uint32_t n_int8_tensors;    /* of which stored as int8 (one byte per element) */
} detvm_memory_plan;

detvm_status detvm_module_memory_plan(const detvm_module *module, detvm_memory_plan *plan,
                                      detvm_error *err);

/* ---- Kernels and threads (vm/) -----------------------------------------------------------
 *
 * A session runs each CPU instruction through a kernel variant when one fits the CPU and the
 * instance (AVX2 or AVX-512 VNNI, ops/x86/), else through the reference kernel, and splits a
 * variant's work among the session's threads: each output element is computed by one thread,
 * in a fixed order. Every variant and every thread count gives exactly the reference kernels'
 * bytes, so these settings change the speed, never an output, a trace root or a hash.
 *
 * Every new session takes its settings from the environment, whatever the entry point (the
 * CVM ABI and the `detvm` command included):
 *   DETVM_KERNELS=ref|avx2|vnni   the best variants allowed (unset, empty or "auto": all the
 *                                  CPU has); the session option can only narrow this further
 *   DETVM_THREADS=N               the thread count, 1..DETVM_MAX_THREADS (unset: 1); the
 *                                  session option replaces it
 * A malformed value makes detvm_session_new fail with DETVM_ERUNTIME, naming the variable.
 * The options below may be changed between runs (before the first one, typically); each
 * chooses the variants again and creates the threads and their scratch at once. */
typedef enum {
    DETVM_KERNELS_AUTO = 0,        /* the best variants the CPU has */
    DETVM_KERNELS_REFERENCE = 1,   /* the reference kernels only */
    DETVM_KERNELS_AVX2 = 2,        /* AVX2 variants at most */
    DETVM_KERNELS_VNNI = 3         /* AVX-512 VNNI variants, and AVX2 where VNNI has none */
} detvm_kernels;

#define DETVM_MAX_THREADS 64

/* Limits the session's variants: the stricter of this and DETVM_KERNELS applies. */
detvm_status detvm_session_set_kernels(detvm_session *session, detvm_kernels kernels,
                                       detvm_error *err);
/* Sets the thread count, 1..DETVM_MAX_THREADS (builds without threads, such as the
 * freestanding K210 one, take 1 only), replacing DETVM_THREADS. */
detvm_status detvm_session_set_threads(detvm_session *session, uint32_t threads,
                                       detvm_error *err);
uint32_t detvm_session_threads(const detvm_session *session);
/* What instruction k runs with: "reference", a variant ("avx2", "vnni"), or the device's name
 * for instructions placed on another device; NULL past the last instruction. */
const char *detvm_session_kernel(const detvm_session *session, uint32_t k);
/* Nonzero when this build and this CPU have variants of that level (AUTO and REFERENCE
 * always). Asking for a level the CPU lacks is not an error: the session takes what it has. */
int detvm_kernels_available(detvm_kernels kernels);
/* "auto", "ref" (or "reference"), "avx2" or "vnni"; DETVM_EINVALID for anything else. */
detvm_status detvm_kernels_parse(const char *name, detvm_kernels *kernels, detvm_error *err);

#ifdef __cplusplus
}
#endif

#endif
