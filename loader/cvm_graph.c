/* Reading a CVM graph JSON exactly as the CVM runtime does (CvmRuntime::Load,
 * PrepareGraphWithVersion, SetupShape, SetupPrecision), with its status classes: a malformed
 * document, an unknown key or operator and attribute errors are runtime errors (2); every
 * VERIFY of the runtime is an invalid model (1).
 *
 * One difference in order: the runtime parses every node's attributes before its structural
 * checks; detvm parses them right after, once the input shapes are known to be sound. A graph
 * with both kinds of fault may therefore report another of them first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "cvm_graph.h"

#define INVALID(...) dv_fail(err, DETVM_EINVALID, "graph: " __VA_ARGS__)
#define RUNTIME(...) dv_fail(err, DETVM_ERUNTIME, "graph: " __VA_ARGS__)

/* ---- JSON shapes -------------------------------------------------------------------- */

static int json_uint32(const json_t *v, uint32_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX)
        return -1;
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int json_int32(const json_t *v, int32_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
        json_integer_value(v) > INT32_MAX)
        return -1;
    *out = (int32_t)json_integer_value(v);
    return 0;
}

static detvm_status read_uint_list(const json_t *arr, const char *what, uint32_t **out,
                                   uint32_t *n, detvm_error *err)
{
    if (!json_is_array(arr))
        return RUNTIME("%s: not an array", what);
    *n = (uint32_t)json_array_size(arr);
    *out = calloc(*n + 1, sizeof **out);
    if (!*out)
        return RUNTIME("out of memory");
    for (uint32_t i = 0; i < *n; i++)
        if (json_uint32(json_array_get(arr, i), &(*out)[i]) != 0)
            return RUNTIME("%s[%u]: not an unsigned integer", what, i);
    return DETVM_OK;
}

/* [node, index] or [node, index, version] */
static detvm_status read_entry(const json_t *v, const char *what, uint32_t i, cvm_entry *e,
                               detvm_error *err)
{
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n < 2 || n > 3 || json_uint32(json_array_get(v, 0), &e->node) ||
        json_uint32(json_array_get(v, 1), &e->index) ||
        (n == 3 && !json_is_integer(json_array_get(v, 2))))
        return RUNTIME("%s[%u]: not a [node, index] entry", what, i);
    return DETVM_OK;
}

/* A graph attribute: ["list_TYPE", [...]]. Returns the list, or NULL after filling err. */
static const json_t *typed_list(const json_t *v, const char *key, const char *type,
                                detvm_error *err)
{
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
        !json_is_array(json_array_get(v, 1))) {
        RUNTIME("attrs.%s: not a [type, list] pair", key);
        return NULL;
    }
    if (strcmp(json_string_value(json_array_get(v, 0)), type) != 0) {
        INVALID("attrs.%s: type %s, expected %s", key, json_string_value(json_array_get(v, 0)),
                type);
        return NULL;
    }
    return json_array_get(v, 1);
}

/* ---- Loading ------------------------------------------------------------------------ */

static void strip_index_suffix(char *name)
{
    /* "conv2d_3" names the operator conv2d: a trailing "_<digits>" is dropped */
    size_t i = strlen(name);
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    if (i > 0 && i < strlen(name) && name[i - 1] == '_')
        name[i - 1] = 0;
}

static detvm_status read_node_attrs(const json_t *obj, cvm_graph_node *node, uint32_t nid,
                                    detvm_error *err)
{
    const char *key;
    json_t *v;
    int has_func = 0;
    if (!json_is_object(obj))
        return RUNTIME("nodes[%u].attrs: not an object", nid);
    json_object_foreach((json_t *)obj, key, v) {
        if (!json_is_string(v))
            return RUNTIME("nodes[%u].attrs.%s: not a string", nid, key);
        if (strcmp(key, "func_name") == 0) {
            node->func_name = json_string_value(v);
            has_func = 1;
        } else if (strcmp(key, "num_inputs") != 0 && strcmp(key, "num_outputs") != 0 &&
                   strcmp(key, "op_attrs") != 0 && strcmp(key, "flatten_data") != 0) {
            return RUNTIME("nodes[%u].attrs: key %s not supported", nid, key);
        }
    }
    if (!has_func)
        return INVALID("nodes[%u].attrs: func_name missing", nid);
    return DETVM_OK;
}

static detvm_status read_node(const json_t *obj, cvm_graph_node *node, uint32_t nid,
                              detvm_error *err)
{
    const char *key;
    json_t *v;
    int seen = 0;
    if (!json_is_object(obj))
        return RUNTIME("nodes[%u]: not an object", nid);
    json_object_foreach((json_t *)obj, key, v) {
        if (strcmp(key, "op") == 0) {
            if (!json_is_string(v))
                return RUNTIME("nodes[%u].op: not a string", nid);
            if (strcmp(json_string_value(v), "cvm_op") == 0)
                node->is_op = 1;
            else if (strcmp(json_string_value(v), "null") != 0)
                return INVALID("nodes[%u].op: %s (only cvm_op or null)", nid,
                               json_string_value(v));
            seen |= 1;
        } else if (strcmp(key, "name") == 0) {
            if (!json_is_string(v))
                return RUNTIME("nodes[%u].name: not a string", nid);
            node->name = json_string_value(v);
            seen |= 2;
        } else if (strcmp(key, "inputs") == 0) {
            if (!json_is_array(v))
                return RUNTIME("nodes[%u].inputs: not an array", nid);
            node->n_in = (uint32_t)json_array_size(v);
            node->inputs = calloc(node->n_in + 1, sizeof *node->inputs);
            if (!node->inputs)
                return RUNTIME("out of memory");
            for (uint32_t i = 0; i < node->n_in; i++) {
                detvm_status st = read_entry(json_array_get(v, i), "inputs", i,
                                             &node->inputs[i], err);
                if (st)
                    return st;
            }
            seen |= 4;
        } else if (strcmp(key, "attrs") == 0) {
            detvm_status st = read_node_attrs(v, node, nid, err);
            if (st)
                return st;
        } else if (strcmp(key, "precision") == 0) {
            if (!json_is_integer(v))
                return RUNTIME("nodes[%u].precision: not an integer", nid);
        } else {
            return RUNTIME("nodes[%u]: key %s not supported", nid, key);
        }
    }
    if (seen != 7)
        return INVALID("nodes[%u]: op, name or inputs missing", nid);
    return DETVM_OK;
}

typedef struct {
    const json_t *dltype, *storage_id, *shape, *device_index, *precision, *op_attrs;
} graph_attrs;

static detvm_status read_graph_attrs(const json_t *obj, graph_attrs *a, detvm_error *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return RUNTIME("attrs: not an object");
    json_object_foreach((json_t *)obj, key, v) {
        const json_t **slot = NULL;
        const char *type = NULL;
        if (strcmp(key, "dltype") == 0)
            slot = &a->dltype, type = "list_str";
        else if (strcmp(key, "storage_id") == 0)
            slot = &a->storage_id, type = "list_int";
        else if (strcmp(key, "shape") == 0)
            slot = &a->shape, type = "list_shape";
        else if (strcmp(key, "device_index") == 0)
            slot = &a->device_index, type = "list_int";
        else if (strcmp(key, "precision") == 0)
            slot = &a->precision, type = "list_int";
        else if (strcmp(key, "op_attrs") == 0)
            slot = &a->op_attrs, type = "list_str";
        else if (strcmp(key, "dtype") == 0) {
            const char *t = json_is_array(v) && json_is_string(json_array_get(v, 0))
                                ? json_string_value(json_array_get(v, 0))
                                : "";
            if (strcmp(t, "list_int") != 0 && strcmp(t, "list_str") != 0)
                return RUNTIME("attrs.dtype: cannot skip type %s", t);
            continue;
        } else
            return RUNTIME("attrs: graph attribute %s not supported", key);
        *slot = typed_list(v, key, type, err);
        if (!*slot)
            return err ? err->status : DETVM_EINVALID;
    }
    if (!a->storage_id || !a->shape || !a->op_attrs)
        return INVALID("attrs: storage_id, shape or op_attrs missing");
    return DETVM_OK;
}

static detvm_status read_top(cvm_graph *g, graph_attrs *a, detvm_error *err)
{
    const char *key;
    json_t *v;
    int seen = 0;
    if (!json_is_object(g->root))
        return RUNTIME("JSON: top level is not an object");
    strcpy(g->version, "cvm_1.0.0");
    json_object_foreach(g->root, key, v) {
        detvm_status st = DETVM_OK;
        if (strcmp(key, "nodes") == 0) {
            if (!json_is_array(v))
                return RUNTIME("nodes: not an array");
            g->n_nodes = (uint32_t)json_array_size(v);
            g->nodes = calloc(g->n_nodes + 1, sizeof *g->nodes);
            if (!g->nodes)
                return RUNTIME("out of memory");
            for (uint32_t i = 0; i < g->n_nodes && !st; i++)
                st = read_node(json_array_get(v, i), &g->nodes[i], i, err);
            seen |= 1;
        } else if (strcmp(key, "arg_nodes") == 0) {
            st = read_uint_list(v, "arg_nodes", &g->args, &g->n_args, err);
        } else if (strcmp(key, "node_row_ptr") == 0) {
            uint32_t n;
            free(g->row_ptr);
            st = read_uint_list(v, "node_row_ptr", &g->row_ptr, &n, err);
            g->n_entries = n; /* the given length, checked below */
        } else if (strcmp(key, "heads") == 0) {
            if (!json_is_array(v))
                return RUNTIME("heads: not an array");
            g->n_heads = (uint32_t)json_array_size(v);
            g->heads = calloc(g->n_heads + 1, sizeof *g->heads);
            if (!g->heads)
                return RUNTIME("out of memory");
            for (uint32_t i = 0; i < g->n_heads && !st; i++)
                st = read_entry(json_array_get(v, i), "heads", i, &g->heads[i], err);
            seen |= 2;
        } else if (strcmp(key, "attrs") == 0) {
            st = read_graph_attrs(v, a, err);
            seen |= 4;
        } else if (strcmp(key, "version") == 0 || strcmp(key, "postprocess") == 0) {
            if (!json_is_string(v))
                return RUNTIME("%s: not a string", key);
            char *dst = key[0] == 'v' ? g->version : g->postprocess;
            snprintf(dst, 33, "%.32s", json_string_value(v));
        } else {
            return RUNTIME("key %s not supported", key);
        }
        if (st)
            return st;
    }
    if (seen != 7)
        return INVALID("nodes, heads or attrs missing");
    return DETVM_OK;
}

/* The op_attrs string of each op node is itself a JSON object of strings. */
static detvm_status read_op_attrs(cvm_graph *g, const json_t *list, detvm_error *err)
{
    if (json_array_size(list) != g->n_nodes)
        return INVALID("attrs.op_attrs: %zu entries for %u nodes", json_array_size(list),
                       g->n_nodes);
    g->op_attrs = calloc(g->n_nodes + 1, sizeof *g->op_attrs);
    if (!g->op_attrs)
        return RUNTIME("out of memory");
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        cvm_graph_node *n = &g->nodes[i];
        const json_t *s = json_array_get(list, i);
        if (!json_is_string(s))
            return RUNTIME("attrs.op_attrs[%u]: not a string", i);
        if (!n->is_op)
            continue;
        char op_name[64];
        snprintf(op_name, sizeof op_name, "%s", n->func_name ? n->func_name : "");
        strip_index_suffix(op_name);
        n->def = cvm_op_find(op_name);
        if (!n->def)
            return RUNTIME("node %s: operator %s not supported", n->name, op_name);
        n->func_name = n->def->name;
        json_error_t jerr;
        g->op_attrs[i] = json_loads(json_string_value(s), JSON_DECODE_ANY, &jerr);
        json_t *obj = g->op_attrs[i];
        if (!obj || !json_is_object(obj))
            return RUNTIME("node %s: op_attrs is not a JSON object", n->name);
        cvm_attrs *a = &n->attrs;
        a->node = n->name;
        a->op = n->func_name;
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v) {
            if (!json_is_string(v))
                return RUNTIME("node %s: op_attrs.%s is not a string", n->name, key);
            if (a->n == CVM_MAX_KEYS)
                return RUNTIME("node %s: too many attributes", n->name);
            a->key[a->n] = key;
            a->value[a->n] = json_string_value(v);
            a->n++;
        }
    }
    return DETVM_OK;
}

static detvm_status check_structure(cvm_graph *g, const graph_attrs *a, detvm_error *err)
{
    /* argument names are unique */
    for (uint32_t i = 0; i < g->n_args; i++) {
        if (g->args[i] >= g->n_nodes)
            return INVALID("arg_nodes[%u]: node %u does not exist", i, g->args[i]);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(g->nodes[g->args[i]].name, g->nodes[g->args[j]].name) == 0)
                return RUNTIME("node name %s duplicated among the arguments",
                               g->nodes[g->args[i]].name);
    }
    detvm_status st = read_op_attrs(g, a->op_attrs, err);
    if (st)
        return st;

    /* entries: one per output; get_valid_counts has two */
    uint32_t given_len = g->n_entries;
    uint32_t *given_row_ptr = g->row_ptr;
    g->row_ptr = calloc(g->n_nodes + 1, sizeof *g->row_ptr);
    if (!g->row_ptr) {
        free(given_row_ptr);
        return RUNTIME("out of memory");
    }
    uint32_t entries = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        g->row_ptr[i] = entries;
        const cvm_graph_node *n = &g->nodes[i];
        entries += n->is_op && strcmp(n->func_name, "get_valid_counts") == 0 ? 2 : 1;
    }
    g->row_ptr[g->n_nodes] = entries;
    g->n_entries = entries;

    st = DETVM_OK;
    size_t n_sid = json_array_size(a->storage_id);
    if (n_sid != entries)
        st = INVALID("attrs.storage_id: %zu entries, expected %u", n_sid, entries);
    g->storage_id = calloc(entries + 1, sizeof *g->storage_id);
    g->shape = calloc(entries + 1, sizeof *g->shape);
    g->precision = calloc(entries + 1, sizeof *g->precision);
    if (!st && (!g->storage_id || !g->shape || !g->precision))
        st = RUNTIME("out of memory");
    for (uint32_t i = 0; i < entries && !st; i++) {
        if (json_int32(json_array_get(a->storage_id, i), &g->storage_id[i]) != 0)
            st = RUNTIME("attrs.storage_id[%u]: not an integer", i);
        else if (g->storage_id[i] < 0)
            st = INVALID("attrs.storage_id[%u]: %d is negative", i, g->storage_id[i]);
    }
    if (st)
        goto done;

    /* no operator but the in-place ones shares a storage slot with its inputs */
    static const char *const inplace_ops[] = {
        "flatten", "relu", "expand_dims", "reshape", "squeeze", "abs", "cvm_precision",
        "elemwise_add", "elemwise_sub", "clip", "cvm_clip", "cvm_right_shift",
        "cvm_left_shift"};
    for (uint32_t i = 0; i < g->n_nodes && !st; i++) {
        const cvm_graph_node *n = &g->nodes[i];
        if (!n->is_op)
            continue;
        int inplace = 0;
        for (size_t k = 0; k < sizeof inplace_ops / sizeof inplace_ops[0]; k++)
            inplace |= strcmp(n->func_name, inplace_ops[k]) == 0;
        if (inplace)
            continue;
        for (uint32_t o = g->row_ptr[i]; o < g->row_ptr[i + 1] && !st; o++) {
            for (uint32_t j = 0; j < n->n_in && !st; j++) {
                cvm_entry e = n->inputs[j];
                if (e.node >= g->n_nodes || e.index >= g->row_ptr[e.node + 1] - g->row_ptr[e.node])
                    st = INVALID("node %s: input %u refers to entry [%u, %u] that does not exist",
                                 n->name, j, e.node, e.index);
                else if (g->storage_id[cvm_entry_id(g, e)] == g->storage_id[o])
                    st = INVALID("node %s (%s): output shares storage_id %d with input %u",
                                 n->name, n->func_name, g->storage_id[o], j);
            }
        }
    }
    if (st)
        goto done;

    if (json_array_size(a->shape) != entries) {
        st = INVALID("attrs.shape: %zu entries, expected %u", json_array_size(a->shape), entries);
        goto done;
    }
    for (uint32_t i = 0; i < entries && !st; i++) {
        const json_t *s = json_array_get(a->shape, i);
        if (!json_is_array(s)) {
            st = RUNTIME("attrs.shape[%u]: not a list", i);
            break;
        }
        size_t nd = json_array_size(s);
        if (nd < 1 || nd > DV_MAX_NDIM) {
            st = INVALID("attrs.shape[%u]: rank %zu, must be 1 to 6", i, nd);
            break;
        }
        g->shape[i].ndim = (uint32_t)nd;
        uint64_t size = 1;
        for (size_t d = 0; d < nd; d++) {
            const json_t *x = json_array_get(s, d);
            if (!json_is_integer(x)) {
                st = RUNTIME("attrs.shape[%u][%zu]: not an integer", i, d);
                break;
            }
            json_int_t dim = json_integer_value(x);
            if (dim < 1 || dim > DV_MAX_DIM) {
                st = INVALID("attrs.shape[%u][%zu]: dimension %lld not in 1..2^24", i, d,
                             (long long)dim);
                break;
            }
            size *= (uint64_t)dim;
            if (size > DV_MAX_ELEMS) {
                st = INVALID("attrs.shape[%u]: more than 2^30 elements", i);
                break;
            }
            g->shape[i].dim[d] = (uint32_t)dim;
        }
    }
    if (st)
        goto done;

    if (!a->precision || json_array_size(a->precision) != entries) {
        st = INVALID("attrs.precision: %zu entries, expected %u",
                     a->precision ? json_array_size(a->precision) : 0, entries);
        goto done;
    }
    for (uint32_t i = 0; i < entries; i++) {
        if (json_int32(json_array_get(a->precision, i), &g->precision[i]) != 0) {
            st = RUNTIME("attrs.precision[%u]: not an integer", i);
            break;
        }
        int32_t p = g->precision[i];
        if (p != -1 && (p < 1 || p > 32)) {
            st = INVALID("attrs.precision[%u]: %d, must be -1 or 1..32", i, p);
            break;
        }
    }
    if (st)
        goto done;

    if (a->device_index && json_array_size(a->device_index) != 0) {
        st = INVALID("attrs.device_index: must be empty");
        goto done;
    }

    if (strcmp(g->version, "cvm_1.0.0") == 0) {
        if (!a->dltype || json_array_size(a->dltype) != entries) {
            st = INVALID("attrs.dltype: %zu entries, expected %u",
                         a->dltype ? json_array_size(a->dltype) : 0, entries);
            goto done;
        }
        for (uint32_t i = 0; i < entries; i++) {
            const json_t *t = json_array_get(a->dltype, i);
            if (!json_is_string(t)) {
                st = RUNTIME("attrs.dltype[%u]: not a string", i);
                goto done;
            }
            if (strcmp(json_string_value(t), "int32") != 0) {
                st = INVALID("attrs.dltype[%u]: type %s not supported", i, json_string_value(t));
                goto done;
            }
        }
        if (given_len != g->n_nodes + 1) {
            st = INVALID("node_row_ptr: %u entries, expected %u", given_len, g->n_nodes + 1);
            goto done;
        }
        for (uint32_t i = 0; i <= g->n_nodes; i++) {
            if (given_row_ptr[i] != g->row_ptr[i]) {
                st = INVALID("node_row_ptr[%u]: %u, expected %u", i, given_row_ptr[i],
                             g->row_ptr[i]);
                goto done;
            }
        }
        uint32_t n_vars = 0;
        for (uint32_t i = 0; i < g->n_nodes; i++)
            n_vars += !g->nodes[i].is_op;
        if (g->n_args != n_vars) {
            st = INVALID("arg_nodes: %u entries, expected %u", g->n_args, n_vars);
            goto done;
        }
        for (uint32_t i = 0, k = 0; i < g->n_nodes; i++) {
            if (g->nodes[i].is_op)
                continue;
            if (g->args[k] != i) {
                st = INVALID("arg_nodes[%u]: %u, expected %u", k, g->args[k], i);
                goto done;
            }
            k++;
        }
    } else if (strcmp(g->version, "cvm_1.1.0") == 0) {
        free(g->args);
        g->n_args = 0;
        g->args = calloc(g->n_nodes + 1, sizeof *g->args);
        if (!g->args) {
            st = RUNTIME("out of memory");
            goto done;
        }
        for (uint32_t i = 0; i < g->n_nodes; i++)
            if (!g->nodes[i].is_op)
                g->args[g->n_args++] = i;
    } else {
        st = RUNTIME("version %s not supported", g->version);
        goto done;
    }

    /* topological order: every input is an earlier entry */
    for (uint32_t i = 0; i < g->n_nodes && !st; i++) {
        const cvm_graph_node *n = &g->nodes[i];
        for (uint32_t j = 0; j < n->n_in; j++) {
            cvm_entry e = n->inputs[j];
            if (e.node >= g->n_nodes || e.index >= g->row_ptr[e.node + 1] - g->row_ptr[e.node]) {
                st = INVALID("node %s: input %u refers to entry [%u, %u] that does not exist",
                             n->name, j, e.node, e.index);
                break;
            }
            if (cvm_entry_id(g, e) >= g->row_ptr[i]) {
                st = INVALID("node %s: input %u is not an earlier node (graph not in "
                             "topological order)",
                             n->name, j);
                break;
            }
        }
    }
    for (uint32_t i = 0; i < g->n_heads && !st; i++) {
        cvm_entry e = g->heads[i];
        if (e.node >= g->n_nodes || e.index >= g->row_ptr[e.node + 1] - g->row_ptr[e.node])
            st = INVALID("heads[%u]: entry [%u, %u] does not exist", i, e.node, e.index);
    }
done:
    free(given_row_ptr);
    return st;
}

/* ---- Shape and precision inference ---------------------------------------------------- */

/* The inputs' shapes and precisions as the JSON declares them. */
static void gather_inputs(const cvm_graph *g, const cvm_graph_node *n, dv_shape *in_shape,
                          int32_t *in_prec)
{
    for (uint32_t j = 0; j < n->n_in; j++) {
        uint32_t eid = cvm_entry_id(g, n->inputs[j]);
        in_shape[j] = g->shape[eid];
        in_prec[j] = g->precision[eid];
    }
}

/* Parses the node's attributes into canonical ones and checks its arity. */
static detvm_status parse_node(cvm_graph *g, uint32_t nid, detvm_error *err)
{
    cvm_graph_node *n = &g->nodes[nid];
    dv_shape in_shape[DV_MAX_OP_INPUTS];
    int32_t in_prec[DV_MAX_OP_INPUTS];
    if (n->n_in > DV_MAX_OP_INPUTS)
        return INVALID("node %s: %u inputs, at most %u", n->name, n->n_in, DV_MAX_OP_INPUTS);
    gather_inputs(g, n, in_shape, in_prec);
    cvm_node *op = &n->op;
    memset(op, 0, sizeof *op);
    op->attrs = &n->attrs;
    n->attrs.err = err;
    op->n_in = n->n_in;
    op->in_shape = in_shape;
    op->in_prec = in_prec;
    if (n->def->parse(op, err) != 0)
        return err ? err->status : DETVM_EINVALID;
    op->in_shape = NULL;
    op->in_prec = NULL;
    if (op->n_in_expected != n->n_in)
        return INVALID("node %s (%s): %u inputs, the operator takes %u", n->name, n->func_name,
                       n->n_in, op->n_in_expected);
    return DETVM_OK;
}

/* Infers the node's output shapes and checks them against the JSON's. */
static detvm_status infer_node(cvm_graph *g, uint32_t nid, detvm_error *err)
{
    cvm_graph_node *n = &g->nodes[nid];
    dv_shape in_shape[DV_MAX_OP_INPUTS];
    int32_t in_prec[DV_MAX_OP_INPUTS];
    gather_inputs(g, n, in_shape, in_prec);
    cvm_node *op = &n->op;
    op->in_shape = in_shape;
    op->in_prec = in_prec;
    n->attrs.err = err;
    const dv_op_info *info = dv_op_lookup(op->opcode);
    uint32_t n_out = g->row_ptr[nid + 1] - g->row_ptr[nid];
    if (!info || info->n_outputs != n_out || op->n_out != n_out)
        return RUNTIME("node %s (%s): operator table inconsistent", n->name, n->func_name);
    dv_attrs attrs = {op->attr, op->n_attr};
    dv_shape out_shape[DV_MAX_OP_OUTPUTS];
    const char *why = info->infer(&attrs, n->n_in, in_shape, n_out, out_shape);
    if (why)
        return INVALID("node %s (%s): %s", n->name, n->func_name, why);
    for (uint32_t o = 0; o < n_out; o++)
        if (!dv_shape_equal(&out_shape[o], &g->shape[g->row_ptr[nid] + o]))
            return INVALID("node %s (%s): output %u shape in attrs.shape differs from the "
                           "inferred shape",
                           n->name, n->func_name, o);
    detvm_status st = DETVM_OK;
    if (n->def->check && n->def->check(op, out_shape, err) != 0)
        st = err ? err->status : DETVM_EINVALID;
    op->in_shape = NULL;
    op->in_prec = NULL;
    return st;
}

static detvm_status infer_precision(cvm_graph *g, uint32_t nid, detvm_error *err)
{
    cvm_graph_node *n = &g->nodes[nid];
    if (!n->is_op) {
        if (g->precision[g->row_ptr[nid]] == -1)
            return INVALID("variable %s: precision not set", n->name);
        return DETVM_OK;
    }
    int32_t in_prec[DV_MAX_OP_INPUTS];
    dv_shape in_shape[DV_MAX_OP_INPUTS], out_shape[DV_MAX_OP_OUTPUTS];
    gather_inputs(g, n, in_shape, in_prec);
    uint32_t n_out = g->row_ptr[nid + 1] - g->row_ptr[nid];
    for (uint32_t o = 0; o < n_out; o++)
        out_shape[o] = g->shape[g->row_ptr[nid] + o];
    n->op.in_prec = in_prec;
    n->op.in_shape = in_shape;
    if (n->def->precision(&n->op, out_shape, err) != 0)
        return err ? err->status : DETVM_EINVALID;
    n->op.in_prec = NULL;
    n->op.in_shape = NULL;
    for (uint32_t o = 0; o < n_out; o++) {
        int32_t p = n->op.out_prec[o];
        if (p < 1 || p > 32)
            return INVALID("node %s (%s): output precision %d, must be 1..32", n->name,
                           n->func_name, p);
        g->precision[g->row_ptr[nid] + o] = p;
    }
    return DETVM_OK;
}

detvm_status cvm_graph_load(const char *json, size_t len, cvm_graph *g, detvm_error *err)
{
    memset(g, 0, sizeof *g);
    json_error_t jerr;
    g->root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!g->root)
        return RUNTIME("JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
    graph_attrs a = {0};
    detvm_status st = read_top(g, &a, err);
    if (!st)
        st = check_structure(g, &a, err);
    /* as the runtime: every node's attributes, then every node's shapes, then precisions */
    for (uint32_t i = 0; i < g->n_nodes && !st; i++)
        if (g->nodes[i].is_op)
            st = parse_node(g, i, err);
    for (uint32_t i = 0; i < g->n_nodes && !st; i++)
        if (g->nodes[i].is_op)
            st = infer_node(g, i, err);
    for (uint32_t i = 0; i < g->n_nodes && !st; i++)
        st = infer_precision(g, i, err);
    /* only a loaded graph's arg_nodes are checked indices of named nodes */
    g->data_node = UINT32_MAX;
    for (uint32_t i = 0; i < g->n_args && !st; i++)
        if (strcmp(g->nodes[g->args[i]].name, "data") == 0)
            g->data_node = g->args[i];
    return st;
}

void cvm_graph_free(cvm_graph *g)
{
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].inputs);
        if (g->op_attrs && g->op_attrs[i])
            json_decref(g->op_attrs[i]);
    }
    free(g->nodes);
    free(g->op_attrs);
    free(g->row_ptr);
    free(g->shape);
    free(g->precision);
    free(g->storage_id);
    free(g->heads);
    free(g->args);
    free(g->param_values);
    if (g->root)
        json_decref(g->root);
    memset(g, 0, sizeof *g);
}
