/* The CVM runtime's C API, as build/libcvm_runtime.so provides it: the same function names,
 * signatures, status codes (0 ok, 1 invalid model or input, 2 runtime error) and output byte
 * layouts, so that a host built against the CVM runtime works unchanged. device_type 0 (CPU)
 * and 2 (formal) are both served by detvm's reference kernels, which follow the formal
 * semantics where the CVM runtime's back ends disagree. Nothing is printed. A net handle is
 * used by one thread at a time; separate handles are independent. */
#ifndef DETVM_CVM_C_API_H
#define DETVM_CVM_C_API_H

#ifdef __cplusplus
extern "C" {
#endif

int CVMAPILoadModel(const char *graph_json, int graph_strlen, const char *param_bytes,
                    int param_strlen, void **net, int device_type, int device_id);
int CVMAPIFreeModel(void *net);
int CVMAPIInference(void *net, char *input_data, int input_len, char *output_data);

/* Copies the model's graph version (e.g. "cvm_1.0.0", at most 32 bytes with the NUL). */
int CVMAPIGetVersion(void *net, char *version);
/* Copies the model's postprocess method ("", "argmax" or "detection"). */
int CVMAPIGetPreprocessMethod(void *net, char *method);

int CVMAPIGetInputLength(void *net, unsigned long long *size);
int CVMAPIGetOutputLength(void *net, unsigned long long *size);
int CVMAPIGetInputTypeSize(void *net, unsigned long long *size);
int CVMAPIGetOutputTypeSize(void *net, unsigned long long *size);

int CVMAPIGetStorageSize(void *net, unsigned long long *gas);
int CVMAPIGetGasFromModel(void *net, unsigned long long *gas);
int CVMAPIGetGasFromGraphFile(const char *graph_json, unsigned long long *gas);

#ifdef __cplusplus
}
#endif

#endif
