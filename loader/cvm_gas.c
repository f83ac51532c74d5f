/* The CVM runtime's gas (CvmRuntime::GetOps) and storage size (GetStorageSize). Both are
 * consensus-relevant, so every quirk is kept:
 *
 *   gas = ops + memory cost
 *   memory cost: 5 x the elements of every variable and of every op output
 *   ops: for each op node, base x (elements of output 0), where base is
 *     dense        3 x weight columns, + 1 with a bias
 *     conv2d       3 x (weight elements / output channels), + 1 with a bias
 *     max_pool2d   pool height x pool width
 *     sum          input elements / output elements
 *     non_max_suppression   20 x the first dimension of its input
 *     anything else 1
 *   (the runtime means to use get_valid_counts' second output but misspells the operator's
 *   name, so its first output, the counts, is what counts.)
 *   Limits, each an invalid model (1): base <= 2^30, ops <= 2^40, memory cost <= 2^40.
 *
 *   storage size: for each storage_id, the largest entry assigned to it, in bytes (4 per
 *   element, rounded up to 4), summed; at most 2^32. */
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "cvm_graph.h"

static uint64_t entry_size(const cvm_graph *g, uint32_t eid) { return dv_shape_size(&g->shape[eid]); }

/* The pool size of a max_pool2d node, from its attributes (default 1 x 1 never applies: the
 * attribute is required and was parsed already). */
static uint64_t pool_area(const cvm_graph_node *n)
{
    for (uint32_t i = 0; i < n->attrs.n; i++) {
        if (strcmp(n->attrs.key[i], "pool_size") != 0)
            continue;
        cvm_attrs copy = n->attrs;
        copy.err = NULL;
        cvm_tuple t;
        if (cvm_attr_tuple(&copy, "pool_size", 1, NULL, &t, NULL) != 0)
            return 1;
        uint64_t area = 1;
        for (uint32_t k = 0; k < t.n; k++)
            area *= (uint64_t)(int64_t)t.v[k];
        return area;
    }
    return 1;
}

detvm_status cvm_graph_gas(const cvm_graph *g, uint64_t *gas, uint64_t *node_gas,
                           detvm_error *err)
{
    const int64_t max_base = (int64_t)1 << 30, max_ops = (int64_t)1 << 40,
                  max_mem = (int64_t)1 << 40;
    int64_t ops = 0, mem = 0;
    for (uint32_t nid = 0; nid < g->n_nodes; nid++) {
        const cvm_graph_node *n = &g->nodes[nid];
        int64_t ops_before = ops, mem_before = mem;
        uint32_t out = g->row_ptr[nid];
        if (!n->is_op) {
            mem += (int64_t)entry_size(g, out) * 5;
        } else {
            int64_t base = 1;
            const char *op = n->func_name;
            if (strcmp(op, "dense") == 0) {
                const dv_shape *w = &g->shape[cvm_entry_id(g, n->inputs[1])];
                base = (int64_t)w->dim[1] * 3 + (n->n_in == 3);
            } else if (strcmp(op, "non_max_suppression") == 0) {
                base = (int64_t)g->shape[cvm_entry_id(g, n->inputs[0])].dim[0] * 20;
            } else if (strcmp(op, "conv2d") == 0) {
                const dv_shape *w = &g->shape[cvm_entry_id(g, n->inputs[1])];
                base = (int64_t)(dv_shape_size(w) / w->dim[0]) * 3 + (n->n_in == 3);
            } else if (strcmp(op, "max_pool2d") == 0) {
                base = (int64_t)pool_area(n);
            } else if (strcmp(op, "sum") == 0) {
                base = (int64_t)(entry_size(g, cvm_entry_id(g, n->inputs[0])) /
                                 entry_size(g, out));
            }
            if (base > max_base)
                return dv_fail(err, DETVM_EINVALID,
                               "gas: node %s: %lld operations per output element, above 2^30",
                               n->name, (long long)base);
            ops += base * (int64_t)entry_size(g, out);
            if (ops > max_ops)
                return dv_fail(err, DETVM_EINVALID, "gas: operations exceed 2^40 at node %s",
                               n->name);
            for (uint32_t o = g->row_ptr[nid]; o < g->row_ptr[nid + 1]; o++)
                mem += (int64_t)entry_size(g, o) * 5;
        }
        if (mem > max_mem)
            return dv_fail(err, DETVM_EINVALID, "gas: memory cost exceeds 2^40 at node %s",
                           n->name);
        if (node_gas)
            node_gas[nid] = (uint64_t)((ops - ops_before) + (mem - mem_before));
    }
    *gas = (uint64_t)(ops + mem);
    return DETVM_OK;
}

typedef struct {
    int32_t sid;
    uint64_t bytes;
} slot;

static int by_sid(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    return (x->sid > y->sid) - (x->sid < y->sid);
}

detvm_status cvm_graph_storage_size(const cvm_graph *g, uint64_t *size, detvm_error *err)
{
    slot *slots = calloc(g->n_entries + 1, sizeof *slots);
    if (!slots)
        return dv_fail(err, DETVM_ERUNTIME, "storage size: out of memory");
    for (uint32_t e = 0; e < g->n_entries; e++)
        slots[e] = (slot){g->storage_id[e], (entry_size(g, e) * 4 + 3) / 4 * 4};
    qsort(slots, g->n_entries, sizeof *slots, by_sid);
    uint64_t total = 0;
    detvm_status st = DETVM_OK;
    for (uint32_t e = 0; e < g->n_entries; e++) {
        uint64_t largest = slots[e].bytes;
        while (e + 1 < g->n_entries && slots[e + 1].sid == slots[e].sid) {
            e++;
            if (slots[e].bytes > largest)
                largest = slots[e].bytes;
        }
        total += largest;
        if (total > ((uint64_t)1 << 32)) {
            st = dv_fail(err, DETVM_EINVALID, "storage size exceeds 2^32 bytes");
            break;
        }
    }
    free(slots);
    *size = total;
    return st;
}
