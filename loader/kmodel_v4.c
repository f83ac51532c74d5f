/* PLACEHOLDER: the kmodel v4 importer (being written). */
#include "kmodel.h"

detvm_status km_import_v4(km_import *ctx, const uint8_t *bytes, size_t len, detvm_error *err)
{
    return km_fail(ctx, err, "kmodel v4 is not supported yet");
}

detvm_status km_describe_v4(const uint8_t *bytes, size_t len, km_node_result **nodes,
                            uint32_t *n_nodes, detvm_error *err)
{
    return DETVM_EINVALID;
}
