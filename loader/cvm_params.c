/* Reading a CVM params blob as the CVM runtime does (load_param_dict, NDArray::Load,
 * CvmRuntime::SetInput):
 *
 *   u64 list magic 0xF7E58D4F05049CB7, u64 reserved,
 *   u64 name count, then each name as u64 length + bytes,
 *   u64 array count (must equal the name count), then each array:
 *     u64 magic 0xDD5E40F096B4A13F, u64 reserved, i32 device type, i32 device id, i32 ndim,
 *     u8 type code, u8 bits, u16 lanes, i64 shape[ndim], i64 data bytes, the data.
 *
 * A bad list magic or count is an invalid model (1); a bad array record is a runtime error (2),
 * as is a name that is not an argument of the graph. Each array must be a CPU int8 or int32
 * array of the variable's shape whose values lie within its precision (1). */
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/module_format.h"
#include "cvm_graph.h"

#define LIST_MAGIC 0xF7E58D4F05049CB7ull
#define ARRAY_MAGIC 0xDD5E40F096B4A13Full
#define INVALID(...) dv_fail(err, DETVM_EINVALID, "params: " __VA_ARGS__)
#define RUNTIME(...) dv_fail(err, DETVM_ERUNTIME, "params: " __VA_ARGS__)

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} stream;

static int take(stream *s, void *dst, size_t n)
{
    if (s->len - s->pos < n)
        return -1;
    if (dst)
        memcpy(dst, s->p + s->pos, n);
    s->pos += n;
    return 0;
}

static int take_u64(stream *s, uint64_t *v)
{
    uint8_t b[8];
    if (take(s, b, 8))
        return -1;
    *v = dvm_u64(b);
    return 0;
}

static int take_u32(stream *s, uint32_t *v)
{
    uint8_t b[4];
    if (take(s, b, 4))
        return -1;
    *v = dvm_u32(b);
    return 0;
}

typedef struct {
    const uint8_t *name;
    uint64_t name_len;
} param_name;

static uint32_t find_argument(const cvm_graph *g, const param_name *n)
{
    for (uint32_t i = 0; i < g->n_args; i++) {
        const char *arg = g->nodes[g->args[i]].name;
        if (strlen(arg) == n->name_len && memcmp(arg, n->name, n->name_len) == 0)
            return g->args[i];
    }
    return UINT32_MAX;
}

static detvm_status read_array(cvm_graph *g, stream *s, const param_name *pn, int32_t *dst_pool,
                               uint64_t *pool_used, uint64_t pool_cap, detvm_error *err)
{
    uint64_t magic = 0, reserved = 0, data_bytes = 0;
    uint32_t device_type = 0, device_id = 0, ndim = 0, dtype = 0;
    if (take_u64(s, &magic) || take_u64(s, &reserved) || magic != ARRAY_MAGIC)
        return RUNTIME("array %.*s: bad array magic", (int)pn->name_len, pn->name);
    if (take_u32(s, &device_type) || take_u32(s, &device_id) || take_u32(s, &ndim) ||
        take_u32(s, &dtype))
        return RUNTIME("array %.*s: truncated header", (int)pn->name_len, pn->name);
    uint32_t code = dtype & 0xFF, bits = (dtype >> 8) & 0xFF, lanes = dtype >> 16;
    if ((int32_t)ndim < 0 || ndim > 32)
        return RUNTIME("array %.*s: ndim %d", (int)pn->name_len, pn->name, (int32_t)ndim);
    if (lanes < 1 || (bits != 1 && bits % 8 != 0) || (bits & (bits - 1)) != 0)
        return RUNTIME("array %.*s: data type with %u bits and %u lanes", (int)pn->name_len,
                       pn->name, bits, lanes);
    if (device_type != 1)
        return RUNTIME("array %.*s: device type %u (only CPU arrays)", (int)pn->name_len,
                       pn->name, device_type);
    uint64_t shape[32], elems = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        if (take_u64(s, &shape[d]))
            return RUNTIME("array %.*s: truncated shape", (int)pn->name_len, pn->name);
        if ((int64_t)shape[d] < 0 || shape[d] > DV_MAX_DIM)
            return RUNTIME("array %.*s: dimension %lld", (int)pn->name_len, pn->name,
                           (long long)shape[d]);
        elems *= shape[d];
        if (elems > DV_MAX_ELEMS)
            return RUNTIME("array %.*s: too many elements", (int)pn->name_len, pn->name);
    }
    uint64_t elem_bytes = (bits + 7) / 8;
    if (take_u64(s, &data_bytes) || data_bytes != elems * elem_bytes)
        return RUNTIME("array %.*s: data length %llu for %llu elements of %u bits",
                       (int)pn->name_len, pn->name, (unsigned long long)data_bytes,
                       (unsigned long long)elems, bits);
    const uint8_t *data = s->p + s->pos;
    if (take(s, NULL, data_bytes))
        return RUNTIME("array %.*s: data truncated", (int)pn->name_len, pn->name);

    uint32_t nid = find_argument(g, pn);
    if (nid == UINT32_MAX)
        return RUNTIME("array %.*s: not an argument of the graph", (int)pn->name_len, pn->name);
    cvm_graph_node *node = &g->nodes[nid];
    uint32_t eid = g->row_ptr[nid];
    const dv_shape *want = &g->shape[eid];
    if (code != 0)
        return INVALID("%s: type code %u, only int arrays", node->name, code);
    if (ndim != want->ndim)
        return INVALID("%s: rank %u, the graph says %u", node->name, ndim, want->ndim);
    for (uint32_t d = 0; d < ndim; d++)
        if (shape[d] != want->dim[d])
            return INVALID("%s: dimension %u is %llu, the graph says %u", node->name, d,
                           (unsigned long long)shape[d], want->dim[d]);
    if ((bits != 8 && bits != 32) || lanes != 1)
        return INVALID("%s: int%u arrays not supported (int8 or int32)", node->name, bits);
    /* a repeated name overwrites the earlier array, as the runtime's SetInput does */
    int32_t *dst = (int32_t *)node->param;
    if (!dst) {
        if (*pool_used + elems > pool_cap)
            return RUNTIME("%s: more parameter data than the graph declares", node->name);
        dst = dst_pool + *pool_used;
        *pool_used += elems;
    }
    int32_t prec = g->precision[eid];
    int64_t range = ((int64_t)1 << (prec - 1)) - 1;
    for (uint64_t i = 0; i < elems; i++) {
        int32_t v = bits == 8 ? (int8_t)data[i] : (int32_t)dvm_u32(data + 4 * i);
        if (nid == g->data_node)
            v = (int32_t)(v > range ? range : v < -range ? -range : v);
        else if (v > range || v < -range)
            return INVALID("%s: value %d at index %llu exceeds precision %d", node->name, v,
                           (unsigned long long)i, prec);
        dst[i] = v;
    }
    node->param = dst;
    return DETVM_OK;
}

detvm_status cvm_graph_load_params(cvm_graph *g, const uint8_t *params, size_t len,
                                   detvm_error *err)
{
    /* the runtime checks these when it creates the model, before reading the params */
    if (g->n_heads == 0)
        return dv_fail(err, DETVM_EINVALID, "graph: heads: the graph has no output");
    if (g->data_node == UINT32_MAX)
        return dv_fail(err, DETVM_ERUNTIME, "graph: no input variable named data");
    stream s = {params, len, 0};
    uint64_t magic = 0, reserved = 0, n_names = 0, n_arrays = 0;
    if (len == 0 || !params)
        return INVALID("empty params blob");
    if (take_u64(&s, &magic) || magic != LIST_MAGIC)
        return INVALID("bad list magic");
    if (take_u64(&s, &reserved) || take_u64(&s, &n_names))
        return INVALID("truncated header");
    if (n_names > len / 8)
        return INVALID("%llu names cannot fit in %zu bytes", (unsigned long long)n_names, len);
    param_name *names = calloc(n_names + 1, sizeof *names);
    if (!names)
        return RUNTIME("out of memory");
    detvm_status st = DETVM_OK;
    for (uint64_t i = 0; i < n_names && !st; i++) {
        if (take_u64(&s, &names[i].name_len) || names[i].name_len > len - s.pos)
            st = INVALID("name %llu truncated", (unsigned long long)i);
        else {
            names[i].name = s.p + s.pos;
            s.pos += names[i].name_len;
        }
    }
    if (!st && (take_u64(&s, &n_arrays) || n_arrays != n_names))
        st = INVALID("%llu names but a different array count", (unsigned long long)n_names);
    uint64_t cap = 0;
    for (uint32_t i = 0; i < g->n_args; i++)
        cap += dv_shape_size(&g->shape[g->row_ptr[g->args[i]]]);
    /* each element stored takes at least a byte of the blob (int8 or int32): a graph that
     * declares more than that cannot make us allocate it */
    if (cap > len)
        cap = len;
    if (!st) {
        free(g->param_values);
        g->param_values = calloc(cap + 1, sizeof *g->param_values);
        if (!g->param_values)
            st = RUNTIME("out of memory");
    }
    uint64_t used = 0;
    for (uint64_t i = 0; i < n_arrays && !st; i++)
        st = read_array(g, &s, &names[i], g->param_values, &used, cap, err);
    free(names);
    for (uint32_t i = 0; i < g->n_args && !st; i++) {
        const cvm_graph_node *n = &g->nodes[g->args[i]];
        if (!n->param && g->args[i] != g->data_node)
            st = INVALID("parameter %s has not been loaded", n->name);
    }
    return st;
}
