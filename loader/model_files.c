/* Reading a model from files, whatever its format: a module is taken as it is, a .tflite
 * file or a kmodel is compiled alone, a CVM graph JSON with its params. Formats are told apart
 * by content (the module magic, the flatbuffer identifier "TFL3", the kmodel header), not by
 * name. */
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "detvm.h"
#include "ir.h"

static int is_tflite(const uint8_t *bytes, size_t len)
{
    return len >= 8 && memcmp(bytes + 4, "TFL3", 4) == 0;
}

detvm_status detvm_load_model_files(const char *model_path, const char *params_path,
                                    const detvm_compile_options *options, uint8_t **module,
                                    size_t *module_len, detvm_error *err)
{
    *module = NULL;
    *module_len = 0;
    uint8_t *model = NULL;
    size_t model_len = 0;
    detvm_status st = detvm_read_file(model_path, &model, &model_len, err);
    if (st)
        return st;
    int is_module = model_len >= 4 && memcmp(model, DVM_MAGIC, 4) == 0;
    int is_kmodel = detvm_is_kmodel(model, model_len);
    if ((is_module || is_tflite(model, model_len) || is_kmodel) && params_path) {
        free(model);
        return dv_fail(err, DETVM_EINVALID, "%s: a %s takes no params file", model_path,
                       is_module ? "module" : is_kmodel ? "kmodel" : ".tflite model");
    }
    if (is_module) {
        *module = model;
        *module_len = model_len;
        return DETVM_OK;
    }
    if (is_tflite(model, model_len)) {
        st = detvm_compile_tflite(model, model_len, options, module, module_len, err);
        free(model);
        return st;
    }
    if (is_kmodel) {
        st = detvm_compile_kmodel(model, model_len, options, module, module_len, err);
        free(model);
        return st;
    }
    if (!params_path) {
        free(model);
        return dv_fail(err, DETVM_EINVALID, "%s: a CVM graph needs its params file",
                       model_path);
    }
    uint8_t *params = NULL;
    size_t params_len = 0;
    st = detvm_read_file(params_path, &params, &params_len, err);
    if (!st)
        st = ir_compile_cvm((const char *)model, model_len, params, params_len, options, module,
                            module_len, err);
    free(model);
    free(params);
    return st;
}
