/* The CVM runtime's C API as a thin shim over detvm: each call maps onto the detvm API. */
#include <stdlib.h>
#include <string.h>

#include "cvm_c_api.h"
#include "detvm.h"

#define API __attribute__((visibility("default")))

typedef struct {
    uint8_t *module_bytes;
    detvm_module *module;
    detvm_session *session;
    detvm_module_info info;
} cvm_net;

API int CVMAPILoadModel(const char *graph_json, int graph_strlen, const char *param_bytes,
                        int param_strlen, void **net, int device_type, int device_id)
{
    (void)device_id;
    if (!net)
        return DETVM_ERUNTIME;
    *net = NULL;
    if (device_type != 0 && device_type != 2)
        return DETVM_ERUNTIME; /* only the CPU and formal devices exist here */
    if (!graph_json || !param_bytes || graph_strlen < 0 || param_strlen < 0)
        return DETVM_ERUNTIME;
    cvm_net *n = calloc(1, sizeof *n);
    if (!n)
        return DETVM_ERUNTIME;
    size_t len = 0;
    detvm_error err = {0};
    detvm_status st = detvm_compile_cvm(graph_json, (size_t)graph_strlen,
                                        (const uint8_t *)param_bytes, (size_t)param_strlen,
                                        &n->module_bytes, &len, &err);
    if (!st)
        st = detvm_module_load(n->module_bytes, len, &n->module, &err);
    if (!st)
        st = detvm_session_new(n->module, &n->session, &err);
    if (st) {
        CVMAPIFreeModel(n);
        return (int)st;
    }
    detvm_module_get_info(n->module, &n->info);
    *net = n;
    return DETVM_OK;
}

API int CVMAPIFreeModel(void *net)
{
    cvm_net *n = net;
    if (n) {
        detvm_session_free(n->session);
        detvm_module_free(n->module);
        free(n->module_bytes);
        free(n);
    }
    return DETVM_OK;
}

API int CVMAPIInference(void *net, char *input_data, int input_len, char *output_data)
{
    cvm_net *n = net;
    if (!n || !input_data || !output_data)
        return DETVM_ERUNTIME;
    if (input_len < 0)
        return DETVM_EINVALID;
    detvm_error err = {0};
    return (int)detvm_run(n->session, input_data, (size_t)input_len, output_data,
                          n->info.output_len, &err);
}

static int copy_text(void *net, char *dst, const char *src)
{
    if (!net || !dst)
        return DETVM_ERUNTIME;
    strcpy(dst, src);
    return DETVM_OK;
}

API int CVMAPIGetVersion(void *net, char *version)
{
    return copy_text(net, version, net ? ((cvm_net *)net)->info.version : "");
}

API int CVMAPIGetPreprocessMethod(void *net, char *method)
{
    return copy_text(net, method, net ? ((cvm_net *)net)->info.postprocess_name : "");
}

static int report(void *net, unsigned long long *out, int which)
{
    cvm_net *n = net;
    if (!n || !out)
        return DETVM_ERUNTIME;
    const detvm_module_info *i = &n->info;
    const uint64_t values[] = {i->input_len,        i->output_len,   i->input_type_size,
                               i->output_type_size, i->storage_size, i->gas};
    *out = (unsigned long long)values[which];
    return DETVM_OK;
}

API int CVMAPIGetInputLength(void *net, unsigned long long *size) { return report(net, size, 0); }
API int CVMAPIGetOutputLength(void *net, unsigned long long *size) { return report(net, size, 1); }
API int CVMAPIGetInputTypeSize(void *net, unsigned long long *size) { return report(net, size, 2); }
API int CVMAPIGetOutputTypeSize(void *net, unsigned long long *size) { return report(net, size, 3); }
API int CVMAPIGetStorageSize(void *net, unsigned long long *gas) { return report(net, gas, 4); }
API int CVMAPIGetGasFromModel(void *net, unsigned long long *gas) { return report(net, gas, 5); }

API int CVMAPIGetGasFromGraphFile(const char *graph_json, unsigned long long *gas)
{
    if (!graph_json || !gas)
        return DETVM_ERUNTIME;
    uint64_t g = 0;
    detvm_error err = {0};
    detvm_status st = detvm_cvm_gas_from_json(graph_json, strlen(graph_json), &g, &err);
    if (!st)
        *gas = (unsigned long long)g;
    return (int)st;
}
