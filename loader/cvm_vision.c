/* The CVM detection operators: get_valid_counts and non_max_suppression (ops/vision.c). */
#include "cvm_ops.h"

/* ---- get_valid_counts --------------------------------------------------------------------
 * GetValidCountsParam: score_threshold (int, default 0). Shape inference (rank 3, 2 <= K < 32)
 * is ops/ infer's. */
static int gvc_parse(cvm_node *n, detvm_error *err)
{
    n->attrs->err = err; /* the getters report through it */
    int64_t score_threshold;
    if (cvm_attr_int(n->attrs, "score_threshold", 0, 0, &score_threshold) != 0 ||
        cvm_attr_finish(n->attrs) != 0)
        return -1;
    n->attr[0] = (int32_t)score_threshold;
    cvm_node_set(n, DV_OP_GET_VALID_COUNTS, 1, 1);
    n->n_out = 2; /* the valid count and the boxes */
    return 0;
}

/* The count's precision is that of the number of elements in one batch (N * K), not of N:
 * the runtime's rule, kept as it is. */
static int gvc_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape, (void)err;
    const dv_shape *x = &n->in_shape[0];
    n->out_prec[0] = cvm_number_precision((int64_t)dv_shape_size(x) / x->dim[0]);
    n->out_prec[1] = n->in_prec[0];
    return 0;
}

const cvm_op_def cvm_def_GET_VALID_COUNTS = {
    "get_valid_counts", gvc_parse, 0, gvc_precision, 0,
};

/* ---- non_max_suppression -----------------------------------------------------------------
 * NonMaximumSuppressionParam: max_output_size (int, -1), iou_threshold (int, 50),
 * force_suppress (bool, false), top_k (int, -1), coord_start (int, 2), score_index (int, 1),
 * id_index (int, 0), return_indices (bool, false), invalid_to_bottom (bool, true).
 * The runtime's shape inference accepts only the default layout fields (checked in
 * nms_check) and iou_threshold > 0 (ops/ infer). */
static int nms_parse(cvm_node *n, detvm_error *err)
{
    cvm_attrs *a = n->attrs;
    a->err = err;
    int64_t max_output_size, iou_threshold, top_k, coord_start, score_index, id_index;
    int force_suppress, return_indices, invalid_to_bottom;
    if (cvm_attr_int(a, "max_output_size", 0, -1, &max_output_size) != 0 ||
        cvm_attr_int(a, "iou_threshold", 0, 50, &iou_threshold) != 0 ||
        cvm_attr_bool(a, "force_suppress", 0, 0, &force_suppress) != 0 ||
        cvm_attr_int(a, "top_k", 0, -1, &top_k) != 0 ||
        cvm_attr_int(a, "coord_start", 0, 2, &coord_start) != 0 ||
        cvm_attr_int(a, "score_index", 0, 1, &score_index) != 0 ||
        cvm_attr_int(a, "id_index", 0, 0, &id_index) != 0 ||
        cvm_attr_bool(a, "return_indices", 0, 0, &return_indices) != 0 ||
        cvm_attr_bool(a, "invalid_to_bottom", 0, 1, &invalid_to_bottom) != 0 ||
        cvm_attr_finish(a) != 0)
        return -1;
    n->attr[0] = (int32_t)iou_threshold;
    n->attr[1] = force_suppress;
    n->attr[2] = (int32_t)top_k;
    n->attr[3] = (int32_t)max_output_size;
    return cvm_node_set(n, DV_OP_NON_MAX_SUPPRESSION, 2, 4);
}

/* The layout fields are not canonical attributes (detvm supports only the one layout the
 * runtime accepts), so they are read again here; parse has already validated their format. */
static int nms_check(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape;
    cvm_attrs *a = n->attrs;
    a->err = err;
    int64_t coord_start, score_index, id_index;
    int return_indices, invalid_to_bottom;
    if (cvm_attr_int(a, "coord_start", 0, 2, &coord_start) != 0 ||
        cvm_attr_int(a, "score_index", 0, 1, &score_index) != 0 ||
        cvm_attr_int(a, "id_index", 0, 0, &id_index) != 0 ||
        cvm_attr_bool(a, "return_indices", 0, 0, &return_indices) != 0 ||
        cvm_attr_bool(a, "invalid_to_bottom", 0, 1, &invalid_to_bottom) != 0)
        return -1;
    if (coord_start != 2)
        return cvm_fail(err, DETVM_EINVALID, n, "coord_start: only 2 is supported");
    if (score_index != 1)
        return cvm_fail(err, DETVM_EINVALID, n, "score_index: only 1 is supported");
    if (id_index != 0)
        return cvm_fail(err, DETVM_EINVALID, n, "id_index: only 0 is supported");
    if (return_indices)
        return cvm_fail(err, DETVM_EINVALID, n, "return_indices: only false is supported");
    if (!invalid_to_bottom)
        return cvm_fail(err, DETVM_EINVALID, n, "invalid_to_bottom: only true is supported");
    return 0;
}

/* The runtime defines a <= 30-bit check on the boxes' precision but does not register it:
 * the output simply has the boxes' precision. */
static int nms_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape, (void)err;
    n->out_prec[0] = n->in_prec[0];
    return 0;
}

/* The CPU back end departs from formal in four ways: it reads max_output_size 0 as "no
 * limit"; a box with a negative class id still suppresses the boxes ranked after it, and it
 * ends the suppression scan of every box ranked before it; a batch with no valid box ends the
 * whole op, leaving the later batches unwritten; and with 0 < top_k it overwrites its own
 * input rows past top_k with -1. The first is certain, the others depend on the data. */
static const char *nms_divergence(const cvm_node *n)
{
    if (n->attr[3] == 0)
        return "max_output_size=0: the CPU back end keeps all boxes, formal (followed) none";
    return "boxes with a negative class id, an empty batch before a later one, or top_k > 0 "
           "(input rows overwritten) make the CPU back end differ from formal (followed)";
}

const cvm_op_def cvm_def_NON_MAX_SUPPRESSION = {
    "non_max_suppression", nms_parse, nms_check, nms_precision, nms_divergence,
};
