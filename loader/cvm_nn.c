/* The CVM side of the neural-network ops (kernels in ops/nn.c): conv2d, dense, max_pool2d
 * and upsampling.
 *
 * The CVM runtime parses attributes first (format, missing, unknown and declared bounds:
 * ParamError, status 2), then runs each op's shape inference, which VERIFYs attribute ranges
 * and layouts (status 1) but also assigns the weight and bias shapes the op requires, and a
 * disagreement with the JSON shape there is a LOG(FATAL) (status 2). Which status a broken
 * node gets therefore depends on the order of those checks, so each parse function below
 * reads the attributes and then replays the runtime's shape inference checks in its order,
 * on the JSON input shapes. The canonical attributes it writes are the layouts documented
 * at the kernels in ops/nn.c; ops' infer then computes the output shape from them. */
#include <string.h>

#include "../ops/nn_attrs.h"
#include "cvm_ops.h"

/* ---- Helpers ----------------------------------------------------------------------------- */

static const cvm_tuple pair_of_ones = {{1, 1}, 2};
static const cvm_tuple pair_of_zeros = {{0, 0}, 2};

static int verify_fail(cvm_node *n, detvm_error *err, const char *what)
{
    return cvm_fail(err, DETVM_EINVALID, n, "%s", what);
}

/* The runtime checks a node's input count when it loads the node, before shape inference;
 * the shape checks below need it anyway to read the right input shapes. */
static int verify_input_count(cvm_node *n, detvm_error *err, uint32_t expected)
{
    if (n->n_in != expected)
        return cvm_fail(err, DETVM_EINVALID, n, "inputs: %u given, the operator takes %u",
                        n->n_in, expected);
    return 0;
}

/* CVM_ASSIGN_INPUT_SHAPE: the JSON shape of input `index` must equal `want`, where a 0 in
 * `want` matches anything (the runtime's shape_assign); else LOG(FATAL), status 2. */
static int assign_input_shape(cvm_node *n, detvm_error *err, uint32_t index, const char *name,
                              const int64_t *want, uint32_t ndim)
{
    const dv_shape *given = &n->in_shape[index];
    int same = given->ndim == ndim;
    for (uint32_t i = 0; same && i < ndim; i++)
        same = want[i] == 0 || want[i] == (int64_t)given->dim[i];
    if (!same)
        return cvm_fail(err, DETVM_ERUNTIME, n, "%s: JSON shape differs from the shape the "
                        "operator requires", name);
    return 0;
}

/* The runtime's Layout parser: accepts upper-case axes, lower-case split axes preceded by
 * their factor, and nothing else; a malformed layout is a CHECK failure (status 2). */
static int layout_is_well_formed(const char *layout)
{
    int super_seen[26] = {0}, sub_seen[26] = {0}, n_axes = 0;
    int64_t factor = 0;
    for (const char *c = layout; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            if (factor != 0 || super_seen[*c - 'A'])
                return 0;
            super_seen[*c - 'A'] = 1;
            n_axes++;
        } else if (*c >= 'a' && *c <= 'z') {
            if (factor <= 0 || sub_seen[*c - 'a'])
                return 0;
            sub_seen[*c - 'a'] = 1;
            n_axes++;
            factor = 0;
        } else if (*c >= '0' && *c <= '9') {
            factor = factor * 10 + (*c - '0');
            if (factor > INT32_MAX) /* the runtime's int32 factor would overflow */
                return 0;
        } else {
            return 0;
        }
    }
    if (n_axes == 0)
        return 0;
    for (int i = 0; i < 26; i++)
        if (sub_seen[i] && !super_seen[i])
            return 0;
    return 1;
}

static int verify_input_precision(cvm_node *n, detvm_error *err, uint32_t index,
                                  const char *name)
{
    if (n->in_prec[index] > 8)
        return cvm_fail(err, DETVM_EINVALID, n, "%s: precision %d, must be at most 8", name,
                        n->in_prec[index]);
    return 0;
}

/* Conv2DInferPrecision and DenseInferPrecision: data bits + weight bits + the bits of the
 * number of terms summed, then one more bit than the larger of that and the bias. */
static int product_sum_precision(cvm_node *n, detvm_error *err, int64_t terms, int use_bias)
{
    if (verify_input_precision(n, err, 0, "data") || verify_input_precision(n, err, 1, "weight"))
        return -1;
    int32_t prec = n->in_prec[0] + n->in_prec[1] + cvm_reduce_sum_bits(terms);
    if (use_bias)
        prec = (prec > n->in_prec[2] ? prec : n->in_prec[2]) + 1;
    n->out_prec[0] = prec;
    return 0;
}

/* max_pool2d and upsampling keep the input's precision (SamePrecision). */
static int same_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape, (void)err;
    n->out_prec[0] = n->in_prec[0];
    return 0;
}

/* ---- conv2d ------------------------------------------------------------------------------ */

typedef struct {
    int64_t channels, groups;
    cvm_tuple kernel_size, strides, padding, dilation;
    const char *layout, *kernel_layout, *out_layout, *out_dtype;
    int use_bias;
} conv2d_param;

static int read_conv2d_param(cvm_node *n, conv2d_param *p, detvm_error *err)
{
    cvm_attrs *a = n->attrs;
    if (cvm_attr_int(a, "channels", 1, 0, &p->channels) ||
        cvm_read_shape_attr(n, "kernel_size", 1, 0, &p->kernel_size, err) ||
        cvm_read_shape_attr(n, "strides", 0, &pair_of_ones, &p->strides, err) ||
        cvm_read_shape_attr(n, "padding", 0, &pair_of_zeros, &p->padding, err) ||
        cvm_read_shape_attr(n, "dilation", 0, &pair_of_ones, &p->dilation, err) ||
        cvm_attr_int(a, "groups", 0, 1, &p->groups) ||
        cvm_attr_string(a, "layout", 0, "NCHW", &p->layout) ||
        cvm_attr_string(a, "kernel_layout", 0, "OIHW", &p->kernel_layout) ||
        cvm_attr_string(a, "out_layout", 0, "__undef__", &p->out_layout) ||
        cvm_attr_string(a, "out_dtype", 0, "same", &p->out_dtype) ||
        cvm_attr_bool(a, "use_bias", 0, 1, &p->use_bias))
        return -1;
    /* out_dtype is an enum field: "same" or a dtype name; anything else is a ParamError. */
    if (strcmp(p->out_dtype, "same") != 0 && !cvm_dtype_known(p->out_dtype))
        return cvm_fail(err, DETVM_ERUNTIME, n, "out_dtype: invalid value '%s'", p->out_dtype);
    return cvm_attr_finish(a);
}

/* The input count (checked when the runtime loads the node), Conv2DInferShape's checks in
 * its order, then Conv2DInferType's. */
static int verify_conv2d(cvm_node *n, const conv2d_param *p, detvm_error *err)
{
    if (verify_input_count(n, err, 2 + (uint32_t)p->use_bias))
        return -1;
    if (strcmp(p->layout, "NCHW") != 0)
        return verify_fail(n, err, "layout: only NCHW is supported");
    if (strcmp(p->kernel_layout, "OIHW") != 0)
        return verify_fail(n, err, "kernel_layout: only OIHW is supported");
    if (strcmp(p->out_layout, "__undef__") != 0) {
        if (!layout_is_well_formed(p->out_layout))
            return cvm_fail(err, DETVM_ERUNTIME, n, "out_layout: invalid layout '%s'",
                            p->out_layout);
        if (strcmp(p->out_layout, "NCHW") != 0)
            return verify_fail(n, err, "out_layout: only NCHW is supported");
    }
    const dv_shape *data = &n->in_shape[0];
    if (data->ndim != 4)
        return verify_fail(n, err, "data: must be 4-D");
    if (p->kernel_size.n != 2)
        return verify_fail(n, err, "kernel_size: must have 2 values");
    if (p->padding.n != 2)
        return verify_fail(n, err, "padding: must have 2 values");
    if (cvm_verify_range(n, err, "padding[0]", p->padding.v[0], 0, CVM_ATTR_MAX) ||
        cvm_verify_range(n, err, "padding[1]", p->padding.v[1], 0, CVM_ATTR_MAX))
        return -1;
    if (p->strides.n != 2)
        return verify_fail(n, err, "strides: must have 2 values");
    if (cvm_verify_range(n, err, "strides[0]", p->strides.v[0], 1, CVM_ATTR_MAX) ||
        cvm_verify_range(n, err, "strides[1]", p->strides.v[1], 1, CVM_ATTR_MAX))
        return -1;
    if (p->dilation.n != 2)
        return verify_fail(n, err, "dilation: must have 2 values");
    if (cvm_verify_range(n, err, "dilation[0]", p->dilation.v[0], 1, CVM_ATTR_MAX) ||
        cvm_verify_range(n, err, "dilation[1]", p->dilation.v[1], 1, CVM_ATTR_MAX))
        return -1;
    int64_t in_channels = data->dim[1];
    if (!(p->groups > 0 && in_channels % p->groups == 0 && p->channels % p->groups == 0))
        return verify_fail(n, err, "groups: must divide the input and output channels");

    const int64_t weight[4] = {p->channels, in_channels / p->groups, p->kernel_size.v[0],
                               p->kernel_size.v[1]};
    if (assign_input_shape(n, err, 1, "weight", weight, 4))
        return -1;
    if (p->use_bias && assign_input_shape(n, err, 2, "bias", &p->channels, 1))
        return -1;
    for (int axis = 0; axis < 2; axis++) {
        int64_t dilated = 1 + ((int64_t)p->kernel_size.v[axis] - 1) * p->dilation.v[axis];
        if (dilated > (int64_t)data->dim[2 + axis] + 2 * (int64_t)p->padding.v[axis])
            return verify_fail(n, err, "kernel_size: the dilated kernel exceeds the input");
    }
    /* The runtime types every tensor int32, so an explicit out_dtype must say so. */
    if (strcmp(p->out_dtype, "same") != 0 && strcmp(p->out_dtype, "int32") != 0)
        return verify_fail(n, err, "out_dtype: must be int32");
    return 0;
}

static int conv2d_parse(cvm_node *n, detvm_error *err)
{
    n->attrs->err = err;
    conv2d_param p;
    if (read_conv2d_param(n, &p, err) || verify_conv2d(n, &p, err))
        return -1;
    int32_t *c = n->attr;
    c[CONV_CHANNELS] = (int32_t)p.channels;
    c[CONV_KERNEL_H] = p.kernel_size.v[0];
    c[CONV_KERNEL_W] = p.kernel_size.v[1];
    c[CONV_STRIDE_H] = p.strides.v[0];
    c[CONV_STRIDE_W] = p.strides.v[1];
    c[CONV_PAD_TOP] = c[CONV_PAD_BOTTOM] = p.padding.v[0];
    c[CONV_PAD_LEFT] = c[CONV_PAD_RIGHT] = p.padding.v[1];
    c[CONV_DILATION_H] = p.dilation.v[0];
    c[CONV_DILATION_W] = p.dilation.v[1];
    c[CONV_GROUPS] = (int32_t)p.groups;
    c[CONV_USE_BIAS] = p.use_bias;
    return cvm_node_set(n, DV_OP_CONV2D, 2 + (uint32_t)p.use_bias, CONV_N_ATTRS);
}

/* Each output sums (weight size / output channels) products. */
static int conv2d_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape;
    const dv_shape *w = &n->in_shape[1];
    int64_t terms = (int64_t)(dv_shape_size(w) / w->dim[0]);
    return product_sum_precision(n, err, terms, n->attr[CONV_USE_BIAS]);
}

const cvm_op_def cvm_def_CONV2D = {"conv2d", conv2d_parse, 0, conv2d_precision, 0};

/* ---- dense ------------------------------------------------------------------------------- */

static int dense_parse(cvm_node *n, detvm_error *err)
{
    cvm_attrs *a = n->attrs;
    a->err = err;
    int64_t units;
    int use_bias;
    if (cvm_attr_int_min(a, "units", 1, 0, 1, &units) ||
        cvm_attr_bool(a, "use_bias", 0, 1, &use_bias) || cvm_attr_finish(a))
        return -1;
    /* The input count, then DenseInferShape's checks in its order. */
    if (verify_input_count(n, err, 2 + (uint32_t)use_bias))
        return -1;
    if (n->in_shape[0].ndim != 2)
        return verify_fail(n, err, "data: must be 2-D");
    if (n->in_shape[1].ndim != 2)
        return verify_fail(n, err, "weight: must be 2-D");
    const int64_t weight[2] = {units, n->in_shape[0].dim[1]};
    if (assign_input_shape(n, err, 1, "weight", weight, 2) ||
        (use_bias && assign_input_shape(n, err, 2, "bias", &units, 1)))
        return -1;
    n->attr[DENSE_UNITS] = (int32_t)units;
    n->attr[DENSE_USE_BIAS] = use_bias;
    return cvm_node_set(n, DV_OP_DENSE, 2 + (uint32_t)use_bias, DENSE_N_ATTRS);
}

/* Each output sums one product per data column. */
static int dense_precision(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    (void)out_shape;
    return product_sum_precision(n, err, n->in_shape[0].dim[1], n->attr[DENSE_USE_BIAS]);
}

const cvm_op_def cvm_def_DENSE = {"dense", dense_parse, 0, dense_precision, 0};

/* ---- max_pool2d -------------------------------------------------------------------------- */

static int max_pool2d_parse(cvm_node *n, detvm_error *err)
{
    cvm_attrs *a = n->attrs;
    a->err = err;
    cvm_tuple pool, strides, padding;
    const char *layout;
    int ceil_mode;
    if (cvm_read_shape_attr(n, "pool_size", 1, 0, &pool, err) ||
        cvm_read_shape_attr(n, "strides", 0, &pair_of_ones, &strides, err) ||
        cvm_read_shape_attr(n, "padding", 0, &pair_of_zeros, &padding, err) ||
        cvm_attr_string(a, "layout", 0, "NCHW", &layout) ||
        cvm_attr_bool(a, "ceil_mode", 0, 0, &ceil_mode) || cvm_attr_finish(a))
        return -1;

    /* The input count, then Pool2DInferShape's checks in its order. One padding value
     * serves both axes. */
    if (verify_input_count(n, err, 1))
        return -1;
    const dv_shape *data = &n->in_shape[0];
    if (data->ndim != 4)
        return verify_fail(n, err, "data: must be 4-D");
    if (strcmp(layout, "NCHW") != 0)
        return verify_fail(n, err, "layout: only NCHW is supported");
    if (padding.n != 1 && padding.n != 2)
        return verify_fail(n, err, "padding: must have 1 or 2 values");
    int64_t pad[2] = {padding.v[0], padding.v[padding.n - 1]};
    if (cvm_verify_range(n, err, "padding[0]", pad[0], 0, CVM_ATTR_MAX) ||
        cvm_verify_range(n, err, "padding[1]", pad[1], 0, CVM_ATTR_MAX))
        return -1;
    if (pool.n != 2)
        return verify_fail(n, err, "pool_size: must have 2 values");
    if (strides.n != 2)
        return verify_fail(n, err, "strides: must have 2 values");
    if (cvm_verify_range(n, err, "strides[0]", strides.v[0], 1, CVM_ATTR_MAX) ||
        cvm_verify_range(n, err, "strides[1]", strides.v[1], 1, CVM_ATTR_MAX))
        return -1;
    int64_t padded[2] = {(int64_t)data->dim[2] + 2 * pad[0], (int64_t)data->dim[3] + 2 * pad[1]};
    if (cvm_verify_range(n, err, "pool_size[0]", pool.v[0], 0, padded[0]) ||
        cvm_verify_range(n, err, "pool_size[1]", pool.v[1], 0, padded[1]))
        return -1;
    if (pad[0] >= pool.v[0] || pad[1] >= pool.v[1])
        return verify_fail(n, err, "padding: must be smaller than pool_size");
    for (int axis = 0; ceil_mode && axis < 2; axis++) {
        /* With ceil_mode the last window must still start inside the data. */
        int64_t out = (padded[axis] - pool.v[axis] + strides.v[axis] - 1) / strides.v[axis] + 1;
        if ((out - 1) * strides.v[axis] - pad[axis] >= (int64_t)data->dim[2 + axis])
            return verify_fail(n, err, "ceil_mode: the last window starts past the data");
    }

    int32_t *c = n->attr;
    c[POOL_H] = pool.v[0];
    c[POOL_W] = pool.v[1];
    c[POOL_STRIDE_H] = strides.v[0];
    c[POOL_STRIDE_W] = strides.v[1];
    c[POOL_PAD_TOP] = c[POOL_PAD_BOTTOM] = (int32_t)pad[0];
    c[POOL_PAD_LEFT] = c[POOL_PAD_RIGHT] = (int32_t)pad[1];
    c[POOL_CEIL_MODE] = ceil_mode;
    return cvm_node_set(n, DV_OP_MAX_POOL2D, 1, POOL_N_ATTRS);
}

const cvm_op_def cvm_def_MAX_POOL2D = {"max_pool2d", max_pool2d_parse, 0, same_precision, 0};

/* ---- upsampling -------------------------------------------------------------------------- */

static int upsampling_parse(cvm_node *n, detvm_error *err)
{
    cvm_attrs *a = n->attrs;
    a->err = err;
    int64_t scale;
    const char *layout, *method;
    if (cvm_attr_int(a, "scale", 1, 0, &scale) ||
        cvm_attr_string(a, "layout", 0, "NCHW", &layout) ||
        cvm_attr_string(a, "method", 0, "NEAREST_NEIGHBOR", &method) || cvm_attr_finish(a))
        return -1;
    /* The input count, then UpSamplingInferShape's checks in its order. */
    if (verify_input_count(n, err, 1))
        return -1;
    if (n->in_shape[0].ndim != 4)
        return verify_fail(n, err, "data: must be 4-D");
    if (strcmp(method, "NEAREST_NEIGHBOR") != 0)
        return verify_fail(n, err, "method: only NEAREST_NEIGHBOR is supported");
    if (cvm_verify_range(n, err, "scale", scale, 1, CVM_ATTR_MAX))
        return -1;
    if (strcmp(layout, "NCHW") != 0)
        return verify_fail(n, err, "layout: only NCHW is supported");
    n->attr[UPSAMPLING_SCALE] = (int32_t)scale;
    return cvm_node_set(n, DV_OP_UPSAMPLING, 1, UPSAMPLING_N_ATTRS);
}

const cvm_op_def cvm_def_UPSAMPLING = {"upsampling", upsampling_parse, 0, same_precision, 0};
