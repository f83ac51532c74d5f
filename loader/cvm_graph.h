/* A CVM model as the CVM runtime reads it: the graph JSON with its checks, shape and
 * precision inference, the params blob, gas and storage size. */
#ifndef DETVM_LOADER_CVM_GRAPH_H
#define DETVM_LOADER_CVM_GRAPH_H

#include <jansson.h>
#include <stdint.h>

#include "cvm_ops.h"
#include "detvm.h"

typedef struct {
    uint32_t node, index;
} cvm_entry;

typedef struct {
    const char *name;
    int is_op;
    const char *func_name;     /* op nodes: the operator name, "_N" suffix removed */
    const cvm_op_def *def;
    cvm_attrs attrs;
    uint32_t n_in;
    cvm_entry *inputs;
    cvm_node op;               /* parse and precision results */
    const int32_t *param;      /* variables: the values from the params blob */
} cvm_graph_node;

typedef struct {
    json_t *root;
    json_t **op_attrs;         /* each node's parsed op_attrs object */
    uint32_t n_nodes;
    cvm_graph_node *nodes;
    uint32_t *row_ptr;         /* n_nodes + 1 entries */
    uint32_t n_entries;
    dv_shape *shape;           /* per entry */
    int32_t *precision;        /* per entry */
    int32_t *storage_id;       /* per entry */
    uint32_t n_heads;
    cvm_entry *heads;
    uint32_t n_args;
    uint32_t *args;
    char version[33];
    char postprocess[33];
    uint32_t data_node;
    int32_t *param_values;     /* owned storage behind the nodes' param pointers */
} cvm_graph;

/* Reads and checks the graph JSON, then infers shapes and precisions (the CVM runtime's
 * Init: everything CVMAPIGetGasFromGraphFile needs). */
detvm_status cvm_graph_load(const char *json, size_t len, cvm_graph *g, detvm_error *err);

/* Reads the params blob into the variables; every variable but `data` must receive one. */
detvm_status cvm_graph_load_params(cvm_graph *g, const uint8_t *params, size_t len,
                                   detvm_error *err);

void cvm_graph_free(cvm_graph *g);

static inline uint32_t cvm_entry_id(const cvm_graph *g, cvm_entry e)
{
    return g->row_ptr[e.node] + e.index;
}

/* The CVM runtime's gas (GetOps) and storage size (GetStorageSize). node_gas (may be NULL)
 * receives each node's share: its operations plus its memory cost. */
detvm_status cvm_graph_gas(const cvm_graph *g, uint64_t *gas, uint64_t *node_gas,
                           detvm_error *err);
detvm_status cvm_graph_storage_size(const cvm_graph *g, uint64_t *size, detvm_error *err);

#endif
