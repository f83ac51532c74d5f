/* Reading a .tflite file (a FlatBuffer of schema.fbs, identifier "TFL3", schema version 3)
 * into the tfl_model of tflite.h, through the bounds-checked reader of flatbuffer.h.
 *
 * What is read: the operator codes, the buffers that subgraph 0's tensors refer to, and
 * subgraph 0 (tensors, operators in execution order, inputs, outputs). Other subgraphs are
 * accepted and ignored: only control-flow operators (CALL, IF, WHILE...) refer to them, and
 * the importer has no such operator, so it refuses them by their builtin code. Metadata,
 * signature defs and the Tensor fields the importer does not use (min/max, shape_signature,
 * is_variable, has_rank, variant_tensors) are not read; fields whose presence would change
 * the meaning of a tensor (sparsity, quantization details, external buffers) are refused.
 *
 * Everything the model owns (tensor and operator arrays, names, quantization vectors,
 * operator index lists) is allocated from one store, a list of blocks reached through
 * model->storage and freed by tfl_model_free. Constant data is not copied: tfl_tensor.data
 * points into the caller's file. The store refuses to grow past 16 times the file size plus
 * 1 MiB: a hostile file can make many tables share one large vector, and copying it once
 * per reference would otherwise take memory and time quadratic in the file size. The
 * reference models need at most 1.1 times their size (hello_world; the bigger ones less). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "flatbuffer.h"
#include "tflite.h"

/* ---- field indices of schema.fbs (a union counts as two: its _type byte, then its table) */
enum { MODEL_VERSION = 0, MODEL_OPERATOR_CODES = 1, MODEL_SUBGRAPHS = 2, MODEL_DESCRIPTION = 3,
       MODEL_BUFFERS = 4 };
enum { CODE_DEPRECATED_BUILTIN = 0, CODE_CUSTOM = 1, CODE_VERSION = 2, CODE_BUILTIN = 3 };
enum { SUBGRAPH_TENSORS = 0, SUBGRAPH_INPUTS = 1, SUBGRAPH_OUTPUTS = 2, SUBGRAPH_OPERATORS = 3 };
enum { TENSOR_SHAPE = 0, TENSOR_TYPE = 1, TENSOR_BUFFER = 2, TENSOR_NAME = 3,
       TENSOR_QUANTIZATION = 4, TENSOR_SPARSITY = 6, TENSOR_EXTERNAL_BUFFER = 10 };
enum { QUANT_SCALE = 2, QUANT_ZERO_POINT = 3, QUANT_DETAILS_TYPE = 4, QUANT_DIMENSION = 6 };
enum { BUFFER_DATA = 0, BUFFER_OFFSET = 1, BUFFER_SIZE = 2 };
enum { OPERATOR_OPCODE_INDEX = 0, OPERATOR_INPUTS = 1, OPERATOR_OUTPUTS = 2,
       OPERATOR_OPTIONS_TYPE = 3 /* builtin_options is field 4 */ };

/* The members of the BuiltinOptions union decoded here (their position in the union, NONE
 * being 0). */
enum {
    OPT_CONV_2D = 1, OPT_DEPTHWISE_CONV_2D = 2, OPT_POOL_2D = 5, OPT_FULLY_CONNECTED = 8,
    OPT_SOFTMAX = 9, OPT_CONCATENATION = 10, OPT_ADD = 11, OPT_RESHAPE = 17, OPT_MUL = 21,
    OPT_REDUCER = 27, OPT_SUB = 28, OPT_SQUEEZE = 30, OPT_STRIDED_SLICE = 32,
    OPT_LEAKY_RELU = 75
};

/* ---- the store ------------------------------------------------------------------------- */

typedef struct block {
    struct block *next;
    max_align_t data[]; /* aligned for anything */
} block;

typedef struct {
    block *blocks;
    size_t used, limit; /* bytes handed out, and the most it may hand out */
} store;

#define STORE_FACTOR 16
#define STORE_SLACK ((size_t)1 << 20)

/* ---- the parser -------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *bytes;
    size_t len;
    tfl_model *model;
    store *store;
    detvm_error *err;
    detvm_status status; /* of the last failure, for alloc's callers */
    char where[96];      /* "subgraph 0: tensor 12", prefixed to messages */
} parser;

typedef struct {
    int32_t builtin, version;
    const char *custom_code;
} opcode;

static detvm_status fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static detvm_status fail(parser *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->status = DETVM_EINVALID;
    return dv_fail(p->err, DETVM_EINVALID, "tflite: %s%s%s", p->where, *p->where ? ": " : "",
                   msg);
}

/* A reason from flatbuffer.h, for the named field (NULL: the table itself). */
static detvm_status bad(parser *p, const char *field, const char *why)
{
    return field ? fail(p, "%s: %s", field, why) : fail(p, "%s", why);
}

#define TRY(p, field, call)                                                                   \
    do {                                                                                      \
        const char *why_ = (call);                                                            \
        if (why_)                                                                             \
            return bad(p, field, why_);                                                       \
    } while (0)

#define PASS(call)                                                                            \
    do {                                                                                      \
        detvm_status st_ = (call);                                                            \
        if (st_ != DETVM_OK)                                                                  \
            return st_;                                                                       \
    } while (0)

/* count * size zeroed bytes from the store (at least one, so never NULL on success); NULL
 * once the error is set. */
static void *alloc(parser *p, size_t count, size_t size)
{
    store *s = p->store;
    /* each block counts with its header, so that many tiny ones cannot escape the limit */
    size_t room = s->limit - s->used;
    room = room > sizeof(block) ? room - sizeof(block) : 0;
    if ((size && count > room / size) || room == 0) {
        fail(p, "the parsed model would take more than %zu bytes, %d times the file size "
                "(tables shared by many references?)", s->limit, STORE_FACTOR);
        return NULL;
    }
    size_t n = count * size; /* <= room: no wrap */
    if (n == 0)
        n = 1;
    block *b = calloc(1, sizeof(block) + n);
    if (!b) {
        p->status = dv_fail(p->err, DETVM_ERUNTIME, "tflite: out of memory");
        return NULL;
    }
    b->next = s->blocks;
    s->blocks = b;
    s->used += sizeof(block) + n;
    return b->data;
}

/* A NUL-terminated copy of a string's bytes up to its first NUL. */
static const char *copy_string(parser *p, fb_string s)
{
    const uint8_t *nul = s.len ? memchr(s.bytes, 0, s.len) : NULL;
    size_t n = nul ? (size_t)(nul - s.bytes) : s.len;
    char *c = alloc(p, n + 1, 1);
    if (c && n)
        memcpy(c, s.bytes, n);
    return c;
}

/* Bytes per element of the fixed-size types, 0 for the others (STRING, INT4, RESOURCE...). */
static size_t type_size(int32_t type)
{
    switch (type) {
    case TFL_INT8: case TFL_UINT8: case TFL_BOOL:
        return 1;
    case TFL_INT16: case TFL_UINT16: case TFL_FLOAT16:
        return 2;
    case TFL_INT32: case TFL_UINT32: case TFL_FLOAT32:
        return 4;
    case TFL_INT64: case TFL_UINT64: case TFL_FLOAT64: case TFL_COMPLEX64:
        return 8;
    case TFL_COMPLEX128:
        return 16;
    default:
        return 0;
    }
}

/* ---- tensors ----------------------------------------------------------------------------- */

static detvm_status parse_quantization(parser *p, const fb_table *tt, tfl_tensor *t)
{
    fb_table q;
    int present;
    TRY(p, "quantization", fb_table_field(tt, TENSOR_QUANTIZATION, &q, &present));
    if (!present)
        return DETVM_OK;
    uint8_t details;
    TRY(p, "quantization: details_type", fb_u8(&q, QUANT_DETAILS_TYPE, 0, &details));
    if (details)
        return fail(p, "quantization: details (union type %u) are not supported", details);
    fb_vector scale, zero;
    int32_t qdim;
    TRY(p, "quantization: scale", fb_vector_field(&q, QUANT_SCALE, 4, &scale, &present));
    TRY(p, "quantization: zero_point", fb_vector_field(&q, QUANT_ZERO_POINT, 8, &zero, &present));
    TRY(p, "quantization: quantized_dimension", fb_i32(&q, QUANT_DIMENSION, 0, &qdim));
    /* an empty zero_point means zeros; otherwise one per scale */
    if (zero.n && zero.n != scale.n)
        return fail(p, "quantization: zero_point has %u values but scale has %u", zero.n,
                    scale.n);
    uint32_t n = scale.n;
    /* One set of parameters applies to the whole tensor whatever quantized_dimension says
     * (TFLite Micro ignores it then). Per-channel parameters must match their dimension,
     * with one exception TFLite Micro accepts: person_detect.tflite (an old converter's
     * output) has per-channel biases, 1-D tensors, with quantized_dimension 3; TFLM never
     * reads a bias's quantized_dimension, full TFLite rejects the file. A 1-D tensor can only
     * be quantized along dimension 0, so that is what the model records for it. */
    if (n > 1 && t->ndim == 1 && qdim != 0 && n == (uint32_t)t->dim[0])
        qdim = 0;
    if (n > 1) {
        if (qdim < 0 || (uint32_t)qdim >= t->ndim)
            return fail(p, "quantization: quantized_dimension %d out of range for a %u-D tensor",
                        qdim, t->ndim);
        if ((int64_t)n != t->dim[qdim])
            return fail(p, "quantization: %u scales for dimension %d of size %d", n, qdim,
                        t->dim[qdim]);
    }
    t->n_quant = n;
    t->quantized_dimension = qdim;
    if (n == 0)
        return DETVM_OK;
    float *s = alloc(p, n, sizeof *s);
    int64_t *z = s ? alloc(p, n, sizeof *z) : NULL;
    if (!z)
        return p->status;
    for (uint32_t i = 0; i < n; i++) {
        s[i] = fb_vec_f32(&scale, i);
        z[i] = zero.n ? fb_vec_i64(&zero, i) : 0;
    }
    t->scale = s;
    t->zero_point = z;
    return DETVM_OK;
}

/* The tensor's constant bytes: Buffer.data, or (offset > 1, size) pointing into the file
 * beyond the FlatBuffer, as models over 2 GB store them. */
static detvm_status parse_data(parser *p, const fb_vector *buffers, uint32_t index,
                               tfl_tensor *t, uint64_t count)
{
    char field[40];
    fb_table bt;
    uint64_t offset, size;
    snprintf(field, sizeof field, "buffer %u", index);
    if (index >= buffers->n)
        return fail(p, "buffer %u out of range (the model has %u)", index, buffers->n);
    TRY(p, field, fb_vec_table(buffers, index, &bt));
    TRY(p, field, fb_u64(&bt, BUFFER_OFFSET, 0, &offset));
    TRY(p, field, fb_u64(&bt, BUFFER_SIZE, 0, &size));
    if (offset > 1) {
        if (offset > p->len || size > p->len - offset)
            return fail(p, "buffer %u: offset %llu and size %llu reach past the end of the "
                           "file (%zu bytes)", index, (unsigned long long)offset,
                        (unsigned long long)size, p->len);
        t->data = p->bytes + offset;
        t->data_len = (size_t)size;
    } else {
        fb_vector data;
        int present;
        TRY(p, field, fb_vector_field(&bt, BUFFER_DATA, 1, &data, &present));
        t->data = fb_vec_bytes(&data);
        t->data_len = data.n;
    }
    if (t->data_len == 0) {
        t->data = NULL; /* an empty buffer: an activation */
        return DETVM_OK;
    }
    size_t esize = type_size(t->type);
    if (esize && (count > t->data_len / esize || count * esize != t->data_len))
        return fail(p, "buffer %u holds %zu bytes, but %llu elements of type %d take %llu",
                    index, t->data_len, (unsigned long long)count, t->type,
                    count > UINT64_MAX / esize ? UINT64_MAX
                                               : (unsigned long long)(count * esize));
    return DETVM_OK;
}

static detvm_status parse_tensor(parser *p, const fb_vector *tensors, uint32_t i,
                                 const fb_vector *buffers)
{
    tfl_tensor *t = &p->model->tensors[i];
    fb_table tt;
    fb_vector shape;
    fb_string name;
    int present;
    int8_t type;
    uint32_t buffer, external;
    snprintf(p->where, sizeof p->where, "subgraph 0: tensor %u", i);
    TRY(p, NULL, fb_vec_table(tensors, i, &tt));

    TRY(p, "shape", fb_vector_field(&tt, TENSOR_SHAPE, 4, &shape, &present));
    if (shape.n > TFL_MAX_NDIM)
        return fail(p, "shape has %u dimensions (at most %d are supported)", shape.n,
                    TFL_MAX_NDIM);
    t->ndim = shape.n;
    uint64_t count = 1;
    int zero = 0, overflow = 0;
    for (uint32_t d = 0; d < shape.n; d++) {
        int32_t v = fb_vec_i32(&shape, d);
        if (v < 0)
            return fail(p, "shape[%u] is %d (negative)", d, v);
        t->dim[d] = v;
        if (v == 0)
            zero = 1;
        else if (count > UINT64_MAX / (uint64_t)v)
            overflow = 1;
        else
            count *= (uint64_t)v;
    }
    if (zero)
        count = 0;
    else if (overflow)
        return fail(p, "shape: the element count overflows 64 bits");

    TRY(p, "type", fb_i8(&tt, TENSOR_TYPE, 0, &type));
    t->type = type;
    TRY(p, "name", fb_string_field(&tt, TENSOR_NAME, &name, &present));
    if (!(t->name = copy_string(p, name)))
        return p->status;
    if (fb_present(&tt, TENSOR_SPARSITY))
        return fail(p, "sparsity: sparse tensors are not supported");
    TRY(p, "external_buffer", fb_u32(&tt, TENSOR_EXTERNAL_BUFFER, 0, &external));
    if (external)
        return fail(p, "external_buffer %u: external weights are not supported", external);
    PASS(parse_quantization(p, &tt, t));
    TRY(p, "buffer", fb_u32(&tt, TENSOR_BUFFER, 0, &buffer));
    /* buffer 0 is the schema's empty sentinel: no data whatever it holds */
    return buffer ? parse_data(p, buffers, buffer, t, count) : DETVM_OK;
}

/* ---- builtin options ----------------------------------------------------------------------
 * Each decoder reads every field its table has that tfl_options keeps, with the schema's
 * default for an absent field (a writer leaves out a field equal to its default: a
 * Conv2DOptions without stride_w means stride 0, a SoftmaxOptions without beta means 0.0). */

typedef struct {
    parser *p;
    const fb_table *t;
    const char *table; /* "Conv2DOptions", for messages */
} options_reader;

static detvm_status opt_field_fail(options_reader *r, const char *field, const char *why)
{
    return fail(r->p, "%s.%s: %s", r->table, field, why);
}

static detvm_status opt_int(options_reader *r, unsigned field, const char *name, int32_t def,
                            int32_t *out)
{
    const char *why = fb_i32(r->t, field, def, out);
    return why ? opt_field_fail(r, name, why) : DETVM_OK;
}

/* A byte-sized enum (Padding, ActivationFunctionType...) */
static detvm_status opt_byte(options_reader *r, unsigned field, const char *name, int8_t def,
                             int32_t *out)
{
    int8_t v;
    const char *why = fb_i8(r->t, field, def, &v);
    *out = v;
    return why ? opt_field_fail(r, name, why) : DETVM_OK;
}

static detvm_status opt_bool(options_reader *r, unsigned field, const char *name, uint8_t def,
                             int32_t *out)
{
    uint8_t v;
    const char *why = fb_u8(r->t, field, def, &v);
    *out = v != 0;
    return why ? opt_field_fail(r, name, why) : DETVM_OK;
}

static detvm_status opt_float(options_reader *r, unsigned field, const char *name, float def,
                              float *out)
{
    const char *why = fb_f32(r->t, field, def, out);
    return why ? opt_field_fail(r, name, why) : DETVM_OK;
}

/* An int vector of at most TFL_MAX_NDIM values; *has is 1 when the field is present. */
static detvm_status opt_ints(options_reader *r, unsigned field, const char *name,
                             uint32_t *n, int32_t *values, int32_t *has)
{
    fb_vector v;
    int present;
    const char *why = fb_vector_field(r->t, field, 4, &v, &present);
    if (why)
        return opt_field_fail(r, name, why);
    if (v.n > TFL_MAX_NDIM)
        return fail(r->p, "%s.%s has %u values (at most %d are supported)", r->table, name,
                    v.n, TFL_MAX_NDIM);
    for (uint32_t i = 0; i < v.n; i++)
        values[i] = fb_vec_i32(&v, i);
    *n = v.n;
    if (has)
        *has = present;
    return DETVM_OK;
}

static detvm_status decode_options(parser *p, uint8_t type, const fb_table *t, tfl_options *o)
{
    memset(o, 0, sizeof *o);
    /* the defaults of fields an operator's table does not have */
    o->stride_w = o->stride_h = 1;
    o->dilation_w = o->dilation_h = 1;
    o->filter_w = o->filter_h = 1;
    o->depth_multiplier = 1;
    o->beta = 1.0f;
    if (!t)
        return DETVM_OK;
    options_reader r = {p, t, ""};
    switch (type) {
    case OPT_CONV_2D:
        r.table = "Conv2DOptions";
        PASS(opt_byte(&r, 0, "padding", 0, &o->padding));
        PASS(opt_int(&r, 1, "stride_w", 0, &o->stride_w));
        PASS(opt_int(&r, 2, "stride_h", 0, &o->stride_h));
        PASS(opt_byte(&r, 3, "fused_activation_function", 0, &o->activation));
        PASS(opt_int(&r, 4, "dilation_w_factor", 1, &o->dilation_w));
        PASS(opt_int(&r, 5, "dilation_h_factor", 1, &o->dilation_h));
        break;
    case OPT_DEPTHWISE_CONV_2D:
        r.table = "DepthwiseConv2DOptions";
        PASS(opt_byte(&r, 0, "padding", 0, &o->padding));
        PASS(opt_int(&r, 1, "stride_w", 0, &o->stride_w));
        PASS(opt_int(&r, 2, "stride_h", 0, &o->stride_h));
        PASS(opt_int(&r, 3, "depth_multiplier", 0, &o->depth_multiplier));
        PASS(opt_byte(&r, 4, "fused_activation_function", 0, &o->activation));
        PASS(opt_int(&r, 5, "dilation_w_factor", 1, &o->dilation_w));
        PASS(opt_int(&r, 6, "dilation_h_factor", 1, &o->dilation_h));
        break;
    case OPT_POOL_2D:
        r.table = "Pool2DOptions";
        PASS(opt_byte(&r, 0, "padding", 0, &o->padding));
        PASS(opt_int(&r, 1, "stride_w", 0, &o->stride_w));
        PASS(opt_int(&r, 2, "stride_h", 0, &o->stride_h));
        PASS(opt_int(&r, 3, "filter_width", 0, &o->filter_w));
        PASS(opt_int(&r, 4, "filter_height", 0, &o->filter_h));
        PASS(opt_byte(&r, 5, "fused_activation_function", 0, &o->activation));
        break;
    case OPT_FULLY_CONNECTED:
        r.table = "FullyConnectedOptions";
        PASS(opt_byte(&r, 0, "fused_activation_function", 0, &o->activation));
        PASS(opt_byte(&r, 1, "weights_format", 0, &o->weights_format));
        PASS(opt_bool(&r, 2, "keep_num_dims", 0, &o->keep_num_dims));
        break;
    case OPT_SOFTMAX:
        r.table = "SoftmaxOptions";
        PASS(opt_float(&r, 0, "beta", 0.0f, &o->beta));
        break;
    case OPT_CONCATENATION:
        r.table = "ConcatenationOptions";
        PASS(opt_int(&r, 0, "axis", 0, &o->axis));
        PASS(opt_byte(&r, 1, "fused_activation_function", 0, &o->activation));
        break;
    case OPT_ADD:
    case OPT_SUB:
        r.table = type == OPT_ADD ? "AddOptions" : "SubOptions";
        PASS(opt_byte(&r, 0, "fused_activation_function", 0, &o->activation));
        PASS(opt_bool(&r, 1, "pot_scale_int16", 1, &o->pot_scale_int16));
        break;
    case OPT_MUL:
        r.table = "MulOptions";
        PASS(opt_byte(&r, 0, "fused_activation_function", 0, &o->activation));
        break;
    case OPT_RESHAPE:
        r.table = "ReshapeOptions";
        PASS(opt_ints(&r, 0, "new_shape", &o->n_new_shape, o->new_shape, &o->has_new_shape));
        break;
    case OPT_REDUCER:
        r.table = "ReducerOptions";
        PASS(opt_bool(&r, 0, "keep_dims", 0, &o->keep_dims));
        break;
    case OPT_SQUEEZE:
        r.table = "SqueezeOptions";
        PASS(opt_ints(&r, 0, "squeeze_dims", &o->n_squeeze_dims, o->squeeze_dims, NULL));
        break;
    case OPT_STRIDED_SLICE:
        r.table = "StridedSliceOptions";
        PASS(opt_int(&r, 0, "begin_mask", 0, &o->begin_mask));
        PASS(opt_int(&r, 1, "end_mask", 0, &o->end_mask));
        PASS(opt_int(&r, 2, "ellipsis_mask", 0, &o->ellipsis_mask));
        PASS(opt_int(&r, 3, "new_axis_mask", 0, &o->new_axis_mask));
        PASS(opt_int(&r, 4, "shrink_axis_mask", 0, &o->shrink_axis_mask));
        PASS(opt_bool(&r, 5, "offset", 0, &o->offset));
        break;
    case OPT_LEAKY_RELU:
        r.table = "LeakyReluOptions";
        PASS(opt_float(&r, 0, "alpha", 0.0f, &o->alpha));
        break;
    default:
        break; /* a table this importer has no use for */
    }
    return DETVM_OK;
}

/* ---- operators ----------------------------------------------------------------------- */

/* A copy of an operator's tensor list; allow_omitted admits -1 (an omitted optional input). */
static detvm_status tensor_list(parser *p, const fb_table *t, unsigned field, const char *name,
                                int allow_omitted, uint32_t *n, const int32_t **out)
{
    fb_vector v;
    int present;
    uint32_t n_tensors = p->model->n_tensors;
    TRY(p, name, fb_vector_field(t, field, 4, &v, &present));
    int32_t *list = alloc(p, v.n, sizeof *list);
    if (!list)
        return p->status;
    for (uint32_t i = 0; i < v.n; i++) {
        int32_t x = fb_vec_i32(&v, i);
        if (!(x == -1 && allow_omitted) && (x < 0 || (uint32_t)x >= n_tensors))
            return fail(p, "%s[%u]: tensor %d out of range (the subgraph has %u)", name, i, x,
                        n_tensors);
        list[i] = x;
    }
    *n = v.n;
    *out = list;
    return DETVM_OK;
}

static detvm_status parse_operator(parser *p, const fb_vector *ops, uint32_t i,
                                   const opcode *codes, uint32_t n_codes)
{
    tfl_operator *op = &p->model->operators[i];
    fb_table ot, options;
    uint32_t index;
    uint8_t type;
    int present;
    snprintf(p->where, sizeof p->where, "subgraph 0: operator %u", i);
    TRY(p, NULL, fb_vec_table(ops, i, &ot));
    TRY(p, "opcode_index", fb_u32(&ot, OPERATOR_OPCODE_INDEX, 0, &index));
    if (index >= n_codes)
        return fail(p, "opcode_index %u out of range (the model has %u operator codes)", index,
                    n_codes);
    op->builtin = codes[index].builtin;
    op->version = codes[index].version;
    op->custom_code = codes[index].custom_code;
    snprintf(p->where, sizeof p->where, "subgraph 0: operator %u (%s)", i,
             tfl_builtin_name(op->builtin));
    PASS(tensor_list(p, &ot, OPERATOR_INPUTS, "inputs", 1, &op->n_inputs, &op->inputs));
    PASS(tensor_list(p, &ot, OPERATOR_OUTPUTS, "outputs", 0, &op->n_outputs, &op->outputs));
    TRY(p, "builtin_options", fb_union(&ot, OPERATOR_OPTIONS_TYPE, &type, &options, &present));
    return decode_options(p, type, present ? &options : NULL, &op->options);
}

static detvm_status parse_codes(parser *p, const fb_table *root, opcode **out, uint32_t *n)
{
    fb_vector v;
    int present;
    TRY(p, "operator_codes", fb_vector_field(root, MODEL_OPERATOR_CODES, 4, &v, &present));
    opcode *codes = alloc(p, v.n, sizeof *codes);
    if (!codes)
        return p->status;
    for (uint32_t i = 0; i < v.n; i++) {
        fb_table ct;
        fb_string custom;
        int8_t deprecated;
        int32_t builtin;
        snprintf(p->where, sizeof p->where, "operator code %u", i);
        TRY(p, NULL, fb_vec_table(&v, i, &ct));
        TRY(p, "deprecated_builtin_code", fb_i8(&ct, CODE_DEPRECATED_BUILTIN, 0, &deprecated));
        TRY(p, "builtin_code", fb_i32(&ct, CODE_BUILTIN, 0, &builtin));
        TRY(p, "version", fb_i32(&ct, CODE_VERSION, 1, &codes[i].version));
        /* The schema's rule: builtin_code came later, for codes past 127; old writers fill
         * only the byte, new ones both (the byte saturating at 127). */
        codes[i].builtin = deprecated > builtin ? deprecated : builtin;
        if (codes[i].builtin == TFL_OP_CUSTOM) {
            TRY(p, "custom_code", fb_string_field(&ct, CODE_CUSTOM, &custom, &present));
            if (!(codes[i].custom_code = copy_string(p, custom)))
                return p->status;
        }
    }
    *out = codes;
    *n = v.n;
    return DETVM_OK;
}

static detvm_status parse_model(parser *p)
{
    tfl_model *m = p->model;
    fb_table root, sub;
    fb_vector subgraphs, buffers, tensors, ops;
    fb_string description;
    int present;
    opcode *codes = NULL;
    uint32_t n_codes = 0;

    if (!p->bytes || p->len < 8)
        return fail(p, "the file is %zu bytes long, too short for a model", p->len);
    if (!fb_has_identifier(p->bytes, p->len, "TFL3")) {
        char id[5];
        for (int i = 0; i < 4; i++)
            id[i] = p->bytes[4 + i] >= 0x20 && p->bytes[4 + i] < 0x7F ? (char)p->bytes[4 + i]
                                                                       : '?';
        id[4] = 0;
        return fail(p, "file identifier \"%s\" is not \"TFL3\" (not a TFLite model)", id);
    }
    TRY(p, "root table", fb_root(p->bytes, p->len, &root));
    TRY(p, "version", fb_u32(&root, MODEL_VERSION, 0, &m->version));
    if (m->version != 3)
        return fail(p, "schema version %u is not supported (3 is)", m->version);

    PASS(parse_codes(p, &root, &codes, &n_codes));
    *p->where = 0;
    TRY(p, "buffers", fb_vector_field(&root, MODEL_BUFFERS, 4, &buffers, &present));
    TRY(p, "subgraphs", fb_vector_field(&root, MODEL_SUBGRAPHS, 4, &subgraphs, &present));
    if (subgraphs.n == 0)
        return fail(p, "the model has no subgraph");
    TRY(p, "subgraph 0", fb_vec_table(&subgraphs, 0, &sub));
    TRY(p, "description", fb_string_field(&root, MODEL_DESCRIPTION, &description, &present));
    if (!(m->description = copy_string(p, description)))
        return p->status;

    snprintf(p->where, sizeof p->where, "subgraph 0");
    TRY(p, "tensors", fb_vector_field(&sub, SUBGRAPH_TENSORS, 4, &tensors, &present));
    TRY(p, "operators", fb_vector_field(&sub, SUBGRAPH_OPERATORS, 4, &ops, &present));
    if (!(m->tensors = alloc(p, tensors.n, sizeof *m->tensors)))
        return p->status;
    m->n_tensors = tensors.n;
    for (uint32_t i = 0; i < tensors.n; i++)
        PASS(parse_tensor(p, &tensors, i, &buffers));

    if (!(m->operators = alloc(p, ops.n, sizeof *m->operators)))
        return p->status;
    m->n_operators = ops.n;
    for (uint32_t i = 0; i < ops.n; i++)
        PASS(parse_operator(p, &ops, i, codes, n_codes));

    snprintf(p->where, sizeof p->where, "subgraph 0");
    PASS(tensor_list(p, &sub, SUBGRAPH_INPUTS, "inputs", 0, &m->n_inputs, &m->inputs));
    PASS(tensor_list(p, &sub, SUBGRAPH_OUTPUTS, "outputs", 0, &m->n_outputs, &m->outputs));
    return DETVM_OK;
}

detvm_status tfl_model_parse(const uint8_t *bytes, size_t len, tfl_model *model,
                             detvm_error *err)
{
    memset(model, 0, sizeof *model);
    parser p = {bytes, len, model, NULL, err, DETVM_OK, ""};
    store *s = calloc(1, sizeof *s);
    if (!s)
        return dv_fail(err, DETVM_ERUNTIME, "tflite: out of memory");
    s->limit = len > (SIZE_MAX / 2 - STORE_SLACK) / STORE_FACTOR
                   ? SIZE_MAX / 2
                   : len * STORE_FACTOR + STORE_SLACK;
    model->storage = s;
    p.store = s;
    detvm_status st = parse_model(&p);
    if (st != DETVM_OK)
        tfl_model_free(model);
    return st;
}

void tfl_model_free(tfl_model *model)
{
    if (!model)
        return;
    store *s = model->storage;
    if (s) {
        block *b = s->blocks;
        while (b) {
            block *next = b->next;
            free(b);
            b = next;
        }
        free(s);
    }
    memset(model, 0, sizeof *model);
}

/* ---- names --------------------------------------------------------------------------------
 * The BuiltinOperator enum of schema.fbs, 0 to 209 without gaps. */
static const char *const builtin_names[] = {
    /*   0 */ "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
    /*   5 */ "DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
    /*  10 */ "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    /*  13 */ "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D",
    /*  18 */ "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN",
    /*  25 */ "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM",
    /*  31 */ "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN",
    /*  36 */ "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB",
    /*  42 */ "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE",
    /*  46 */ "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
    /*  52 */ "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM",
    /*  58 */ "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE",
    /*  66 */ "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
    /*  72 */ "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT",
    /*  81 */ "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND",
    /*  87 */ "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE",
    /*  93 */ "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
    /*  99 */ "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL",
    /* 105 */ "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
    /* 112 */ "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
    /* 117 */ "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
    /* 122 */ "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
    /* 127 */ "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
    /* 132 */ "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
    /* 138 */ "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE",
    /* 142 */ "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS",
    /* 146 */ "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
    /* 151 */ "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD",
    /* 154 */ "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN",
    /* 158 */ "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC",
    /* 163 */ "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
    /* 167 */ "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
    /* 170 */ "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE",
    /* 173 */ "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND",
    /* 177 */ "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    /* 181 */ "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER",
    /* 185 */ "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT",
    /* 189 */ "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE", "STABLEHLO_CONVERT",
    /* 193 */ "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD",
    /* 196 */ "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW",
    /* 199 */ "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE",
    /* 203 */ "DILATE", "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE",
    /* 207 */ "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
};

const char *tfl_builtin_name(int32_t builtin)
{
    if (builtin < 0 || (size_t)builtin >= sizeof builtin_names / sizeof builtin_names[0])
        return "UNKNOWN";
    return builtin_names[builtin];
}
