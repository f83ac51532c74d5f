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

/* Reads a whole file into malloc'd bytes (with a NUL after them, which len leaves out). */
detvm_status detvm_read_file(const char *path, uint8_t **data, size_t *len, detvm_error *err);

/* Reads a model from files: a .dvm module (params_path must be NULL), or a CVM graph JSON
 * with its params, which is compiled. The bytes are malloc'd; the caller frees them. */
detvm_status detvm_load_model_files(const char *model_path, const char *params_path,
                                    uint8_t **module, size_t *module_len, detvm_error *err);

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
    char postprocess_name[32]; /* "" , "argmax" or "detection" as in the source */
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

#ifdef __cplusplus
}
#endif

#endif
