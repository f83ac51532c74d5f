/* Reading a model from files, whatever its format: a module is taken as it is, a CVM graph
 * JSON is compiled with its params. Formats are told apart by content, not by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "detvm.h"

static detvm_status slurp(const char *path, uint8_t **out, size_t *len, detvm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dv_fail(err, DETVM_ERUNTIME, "%s: cannot open", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *p = realloc(buf, cap + 1);
            if (!p) {
                free(buf);
                fclose(f);
                return dv_fail(err, DETVM_ERUNTIME, "%s: out of memory", path);
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return dv_fail(err, DETVM_ERUNTIME, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return DETVM_OK;
}

detvm_status detvm_load_model_files(const char *model_path, const char *params_path,
                                    uint8_t **module, size_t *module_len, detvm_error *err)
{
    *module = NULL;
    *module_len = 0;
    uint8_t *model = NULL;
    size_t model_len = 0;
    detvm_status st = slurp(model_path, &model, &model_len, err);
    if (st)
        return st;
    if (model_len >= 4 && memcmp(model, DVM_MAGIC, 4) == 0) {
        if (params_path) {
            free(model);
            return dv_fail(err, DETVM_EINVALID, "%s: a module takes no params file",
                           model_path);
        }
        *module = model;
        *module_len = model_len;
        return DETVM_OK;
    }
    if (!params_path) {
        free(model);
        return dv_fail(err, DETVM_EINVALID, "%s: a CVM graph needs its params file",
                       model_path);
    }
    uint8_t *params = NULL;
    size_t params_len = 0;
    st = slurp(params_path, &params, &params_len, err);
    if (!st)
        st = detvm_compile_cvm((const char *)model, model_len, params, params_len, module,
                               module_len, err);
    free(model);
    free(params);
    return st;
}
