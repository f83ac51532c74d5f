/* PLACEHOLDER: the kmodel v3 importer (being written). */
#include "kmodel.h"

detvm_status km_import_v3(km_import *ctx, const uint8_t *bytes, size_t len, detvm_error *err)
{
    return km_fail(ctx, err, "kmodel v3 is not supported yet");
}

detvm_status km_describe_v3(const uint8_t *bytes, size_t len, km_node_result **nodes,
                            uint32_t *n_nodes, detvm_error *err)
{
    return DETVM_EINVALID;
}
