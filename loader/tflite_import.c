/* Compiling an int8 .tflite model: the flatbuffer is parsed (tflite_model.c), each operator
 * of subgraph 0 is handed to its importer, which adds IR tensors and instructions through the
 * context below, and the IR then goes through the memory plan and the emitter like a CVM
 * model's.
 *
 * Float boundaries. A model whose input is float32 and goes straight into QUANTIZE, or whose
 * output is float32 and comes straight out of DEQUANTIZE, is compiled without those two ops:
 * the binding becomes the integer tensor next to them, and the module records its scale and
 * zero point so that detvm_quantize and detvm_dequantize can do TFLite's conversion at the
 * edge. Everything the module computes is integer. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/quant.h"
#include "../vm/error.h"
#include "../vm/module_format.h"
#include "ir_build.h"
#include "tflite.h"

struct tfl_import {
    const tfl_model *model;
    ir_module *ir;
    ir_builder build;
    int32_t rounding;
    detvm_error *err;           /* where tfl_fail writes */
    uint32_t *ir_of;            /* per TFLite tensor: its IR tensor + 1, or 0 */
    int32_t *fold_source;       /* per operator: the tensor a folded PAD read, or -1 */
    int32_t (*fold_pads)[4];    /* per operator: the folded PAD's top, left, bottom, right */
};

const tfl_model *tfl_ctx_model(const tfl_import *ctx) { return ctx->model; }
int32_t tfl_rounding(const tfl_import *ctx) { return ctx->rounding; }

static uint32_t operator_index(const tfl_import *ctx, const tfl_operator *op)
{
    return (uint32_t)(op - ctx->model->operators);
}

detvm_status tfl_fail(const tfl_import *ctx, const tfl_operator *op, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dv_fail(ctx->err, DETVM_EINVALID, "tflite: operator %u (%s): %s",
                   operator_index(ctx, op), tfl_builtin_name(op->builtin), what);
}

static detvm_status out_of_memory(const tfl_import *ctx)
{
    return dv_fail(ctx->err, DETVM_ERUNTIME, "tflite: out of memory");
}

const tfl_tensor *tfl_input(const tfl_import *ctx, const tfl_operator *op, uint32_t i)
{
    if (i >= op->n_inputs || op->inputs[i] < 0)
        return NULL;
    return &ctx->model->tensors[op->inputs[i]];
}

const tfl_tensor *tfl_output(const tfl_import *ctx, const tfl_operator *op, uint32_t i)
{
    return i < op->n_outputs ? &ctx->model->tensors[op->outputs[i]] : NULL;
}

static const char *type_name(int32_t type)
{
    static const char *names[] = {"FLOAT32", "FLOAT16",   "INT32",      "UINT8",   "INT64",
                                  "STRING",  "BOOL",      "INT16",      "COMPLEX64", "INT8",
                                  "FLOAT64", "COMPLEX128", "UINT64",    "RESOURCE", "VARIANT",
                                  "UINT32",  "UINT16",    "INT4"};
    return type >= 0 && (uint32_t)type < sizeof names / sizeof names[0] ? names[type] : "UNKNOWN";
}

/* The IR shape of a TFLite tensor: a scalar becomes [1]; ranks above 6 and empty tensors
 * are refused. */
static const char *shape_of(const tfl_tensor *t, dv_shape *s)
{
    memset(s, 0, sizeof *s);
    if (t->ndim > DV_MAX_NDIM)
        return "rank above 6";
    s->ndim = t->ndim ? t->ndim : 1;
    s->dim[0] = 1;
    for (uint32_t i = 0; i < t->ndim; i++) {
        if (t->dim[i] < 1)
            return "an empty dimension";
        s->dim[i] = (uint32_t)t->dim[i];
    }
    return dv_shape_check(s);
}

detvm_status tfl_value(tfl_import *ctx, int32_t tensor, uint32_t *ir_index, detvm_error *err)
{
    if (ctx->ir_of[tensor]) {
        *ir_index = ctx->ir_of[tensor] - 1;
        return DETVM_OK;
    }
    const tfl_tensor *t = &ctx->model->tensors[tensor];
    uint8_t dtype, precision;
    switch (t->type) {
    case TFL_INT8: dtype = DVM_DTYPE_INT8; precision = 8; break;
    case TFL_UINT8: dtype = DVM_DTYPE_UINT8; precision = 9; break;
    case TFL_INT16: dtype = DVM_DTYPE_INT16; precision = 16; break;
    case TFL_INT32: dtype = DVM_DTYPE_INT32; precision = 32; break;
    default:
        return dv_fail(err, DETVM_EINVALID,
                       "tflite: tensor %d (%s): type %s is not supported (detvm runs integer "
                       "tensors)",
                       tensor, t->name, type_name(t->type));
    }
    dv_shape shape;
    const char *why = shape_of(t, &shape);
    if (why)
        return dv_fail(err, DETVM_EINVALID, "tflite: tensor %d (%s): shape: %s", tensor,
                       t->name, why);
    uint32_t index;
    ir_tensor *ir = ir_new_tensor(&ctx->build, &index);
    if (!ir)
        return out_of_memory(ctx);
    ir->shape = shape;
    ir->dtype = dtype;
    ir->precision = precision;
    ir->name = t->name;
    if (t->data) {
        uint64_t n = dv_shape_size(&shape);
        int32_t *v = ir_own(&ctx->build, malloc(n * sizeof *v));
        if (!v)
            return out_of_memory(ctx);
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t *p = t->data + i * dvm_dtype_bytes(dtype);
            v[i] = dtype == DVM_DTYPE_INT8    ? (int8_t)p[0]
                   : dtype == DVM_DTYPE_UINT8 ? p[0]
                   : dtype == DVM_DTYPE_INT16 ? (int16_t)dvm_u16(p)
                                              : dvm_i32(p);
        }
        ir->storage = DVM_STORAGE_CONST;
        ir->data = v;
    }
    ctx->ir_of[tensor] = index + 1;
    *ir_index = index;
    return DETVM_OK;
}

int tfl_tensor_ints(const tfl_tensor *t, int32_t *values, uint32_t max, uint32_t *n)
{
    uint32_t size = t->type == TFL_INT8 || t->type == TFL_UINT8 ? 1
                    : t->type == TFL_INT16                     ? 2
                    : t->type == TFL_INT32                     ? 4
                    : t->type == TFL_INT64                     ? 8
                                                               : 0;
    if (!t->data || size == 0 || t->data_len % size != 0 || t->data_len / size > max)
        return -1;
    *n = (uint32_t)(t->data_len / size);
    for (uint32_t i = 0; i < *n; i++) {
        const uint8_t *p = t->data + (size_t)i * size;
        uint64_t v = 0;
        for (uint32_t b = 0; b < size; b++)
            v |= (uint64_t)p[b] << (8 * b);
        /* sign-extend from the element's width, except for uint8 */
        int64_t s = t->type == TFL_UINT8 || size == 8
                        ? (int64_t)v
                        : (int64_t)(v ^ (1ull << (8 * size - 1))) - (int64_t)(1ull << (8 * size - 1));
        if (s < INT32_MIN || s > INT32_MAX)
            return -1;
        values[i] = (int32_t)s;
    }
    return 0;
}

dv_shape tfl_ctx_shape(const tfl_import *ctx, uint32_t ir_index)
{
    return ctx->ir->tensors[ir_index].shape;
}

detvm_status tfl_constant(tfl_import *ctx, const dv_shape *shape, const int32_t *values,
                          uint32_t *ir_index, detvm_error *err)
{
    return ir_new_constant(&ctx->build, shape, values, ir_index) ? out_of_memory(ctx) : DETVM_OK;
}

detvm_status tfl_temporary(tfl_import *ctx, const dv_shape *shape, uint32_t *ir_index,
                           detvm_error *err)
{
    return ir_new_temporary(&ctx->build, shape, ir_index) ? out_of_memory(ctx) : DETVM_OK;
}

detvm_status tfl_emit(tfl_import *ctx, const tfl_operator *op, uint32_t opcode, uint32_t n_in,
                      const uint32_t *in, uint32_t n_out, const uint32_t *out,
                      const int32_t *attrs, uint32_t n_attrs, detvm_error *err)
{
    char why[200];
    const char *name = op->n_outputs ? ctx->model->tensors[op->outputs[0]].name : "";
    if (ir_append(&ctx->build, opcode, n_in, in, n_out, out, attrs, n_attrs, name, why,
                  sizeof why))
        return tfl_fail(ctx, op, "%s", why);
    return DETVM_OK;
}

/* ---- the operator table ---------------------------------------------------------------- */

static const struct {
    int32_t builtin;
    tfl_import_fn import;
} importers[] = {
    {TFL_OP_ADD, tfl_import_add},
    {TFL_OP_AVERAGE_POOL_2D, tfl_import_average_pool_2d},
    {TFL_OP_CONCATENATION, tfl_import_concatenation},
    {TFL_OP_CONV_2D, tfl_import_conv_2d},
    {TFL_OP_DEPTHWISE_CONV_2D, tfl_import_depthwise_conv_2d},
    {TFL_OP_FULLY_CONNECTED, tfl_import_fully_connected},
    {TFL_OP_LOGISTIC, tfl_import_logistic},
    {TFL_OP_MAX_POOL_2D, tfl_import_max_pool_2d},
    {TFL_OP_MUL, tfl_import_mul},
    {TFL_OP_RELU, tfl_import_relu},
    {TFL_OP_RELU6, tfl_import_relu6},
    {TFL_OP_RESHAPE, tfl_import_reshape},
    {TFL_OP_SOFTMAX, tfl_import_softmax},
    {TFL_OP_TANH, tfl_import_tanh},
    {TFL_OP_PAD, tfl_import_pad},
    {TFL_OP_TRANSPOSE, tfl_import_transpose},
    {TFL_OP_MEAN, tfl_import_mean},
    {TFL_OP_SUB, tfl_import_sub},
    {TFL_OP_SQUEEZE, tfl_import_squeeze},
    {TFL_OP_STRIDED_SLICE, tfl_import_strided_slice},
    {TFL_OP_PADV2, tfl_import_pad},
    {TFL_OP_LEAKY_RELU, tfl_import_leaky_relu},
    {TFL_OP_QUANTIZE, tfl_import_quantize},
    {TFL_OP_HARD_SWISH, tfl_import_hard_swish},
};

static tfl_import_fn importer_of(int32_t builtin)
{
    for (size_t i = 0; i < sizeof importers / sizeof importers[0]; i++)
        if (importers[i].builtin == builtin)
            return importers[i].import;
    return NULL;
}

/* ---- the bindings ---------------------------------------------------------------------- */

/* The only operator that reads `tensor`, or -1 when none or several do. */
static int32_t sole_reader(const tfl_model *model, int32_t tensor)
{
    int32_t found = -1;
    for (uint32_t k = 0; k < model->n_operators; k++) {
        const tfl_operator *op = &model->operators[k];
        for (uint32_t i = 0; i < op->n_inputs; i++) {
            if (op->inputs[i] != tensor)
                continue;
            if (found >= 0 && found != (int32_t)k)
                return -1;
            found = (int32_t)k;
        }
    }
    return found;
}

static int32_t writer_of(const tfl_model *model, int32_t tensor)
{
    for (uint32_t k = 0; k < model->n_operators; k++)
        for (uint32_t o = 0; o < model->operators[k].n_outputs; o++)
            if (model->operators[k].outputs[o] == tensor)
                return (int32_t)k;
    return -1;
}

/* ---- PAD folding (tflite.h) ------------------------------------------------------------ */

int tfl_pad_fold(const tfl_model *model, uint32_t pad_op, const int32_t *outputs,
                 uint32_t n_outputs, int32_t *conv_op, int32_t *source, int32_t pads[4])
{
    if (pad_op >= model->n_operators)
        return 0;
    const tfl_operator *op = &model->operators[pad_op];
    if ((op->builtin != TFL_OP_PAD && op->builtin != TFL_OP_PADV2) || op->n_outputs != 1 ||
        op->n_inputs < 2 || op->n_inputs > (op->builtin == TFL_OP_PAD ? 2u : 3u) ||
        op->inputs[0] < 0 || op->inputs[1] < 0)
        return 0;
    const int32_t t = op->outputs[0];
    const tfl_tensor *in = &model->tensors[op->inputs[0]], *out = &model->tensors[t];
    const tfl_tensor *paddings = &model->tensors[op->inputs[1]];
    if (in->type != TFL_INT8 || out->type != TFL_INT8 || in->ndim != 4 || out->ndim != 4 ||
        out->data || !tfl_same_quantization(in, out) || out->n_quant != 1 ||
        out->zero_point[0] < -128 || out->zero_point[0] > 127)
        return 0;
    int32_t p[8];
    uint32_t n;
    if (paddings->type != TFL_INT32 || tfl_tensor_ints(paddings, p, 8, &n) != 0 || n != 8 ||
        p[0] || p[1] || p[6] || p[7])
        return 0;
    for (uint32_t i = 2; i < 6; i++)
        if (p[i] < 0 || p[i] > 65535)
            return 0;
    for (uint32_t i = 0; i < 4; i++)
        if (in->dim[i] < 1 || (int64_t)out->dim[i] != (int64_t)in->dim[i] + p[2 * i] + p[2 * i + 1])
            return 0;
    if (op->n_inputs == 3 && op->inputs[2] >= 0) {
        const tfl_tensor *value = &model->tensors[op->inputs[2]];
        int32_t v;
        if (value->type != TFL_INT8 || !tfl_same_quantization(value, out) ||
            tfl_tensor_ints(value, &v, 1, &n) != 0 || n != 1 || v != out->zero_point[0])
            return 0;
    }
    for (uint32_t k = 0; k < n_outputs; k++)
        if (outputs[k] == t)
            return 0;
    for (uint32_t k = 0; k < model->n_outputs; k++)
        if (model->outputs[k] == t)
            return 0;
    const int32_t reader = sole_reader(model, t);
    if (reader < 0)
        return 0;
    const tfl_operator *conv = &model->operators[reader];
    if ((conv->builtin != TFL_OP_CONV_2D && conv->builtin != TFL_OP_DEPTHWISE_CONV_2D) ||
        conv->n_inputs < 1 || conv->inputs[0] != t || (uint32_t)reader <= pad_op)
        return 0;
    for (uint32_t i = 1; i < conv->n_inputs; i++)
        if (conv->inputs[i] == t)
            return 0;
    *conv_op = reader;
    *source = op->inputs[0];
    pads[0] = p[2];     /* top */
    pads[1] = p[4];     /* left */
    pads[2] = p[3];     /* bottom */
    pads[3] = p[5];     /* right */
    return 1;
}

int tfl_folded_pad(const tfl_import *ctx, const tfl_operator *op, int32_t *source,
                   int32_t pads[4])
{
    const uint32_t k = operator_index(ctx, op);
    if (!ctx->fold_source || ctx->fold_source[k] < 0)
        return 0;
    *source = ctx->fold_source[k];
    for (int i = 0; i < 4; i++)
        pads[i] = ctx->fold_pads[k][i];
    return 1;
}

static int is_integer_io(int32_t type)
{
    return type == TFL_INT8 || type == TFL_UINT8 || type == TFL_INT16 || type == TFL_INT32;
}

/* Resolves the input binding (and outputs': is_output) past a float QUANTIZE or DEQUANTIZE at
 * the edge; marks the folded operator in `skip`. */
static detvm_status resolve_binding(const tfl_model *model, int is_output, uint32_t k,
                                    uint8_t *skip, int32_t *tensor, uint32_t *flags,
                                    detvm_error *err)
{
    const char *what = is_output ? "output" : "input";
    int32_t t = is_output ? model->outputs[k] : model->inputs[k];
    *tensor = t;
    *flags = 0;
    if (is_integer_io(model->tensors[t].type))
        return DETVM_OK;
    if (model->tensors[t].type != TFL_FLOAT32)
        return dv_fail(err, DETVM_EINVALID, "tflite: %s %u (%s): type %s is not supported",
                       what, k, model->tensors[t].name, type_name(model->tensors[t].type));
    int32_t op = is_output ? writer_of(model, t) : sole_reader(model, t);
    int32_t want = is_output ? TFL_OP_DEQUANTIZE : TFL_OP_QUANTIZE;
    const tfl_operator *edge = op >= 0 ? &model->operators[op] : NULL;
    int32_t inner = -1;
    if (edge && edge->builtin == want && edge->n_inputs == 1 && edge->n_outputs == 1)
        inner = is_output ? edge->inputs[0] : edge->outputs[0];
    if (inner < 0 || (is_output && sole_reader(model, t) >= 0) ||
        (model->tensors[inner].type != TFL_INT8 && model->tensors[inner].type != TFL_UINT8) ||
        model->tensors[inner].n_quant != 1)
        return dv_fail(err, DETVM_EINVALID,
                       "tflite: %s %u (%s) is float32 without a quantized %s at the edge", what,
                       k, model->tensors[t].name, is_output ? "DEQUANTIZE" : "QUANTIZE");
    skip[op] = 1;
    *tensor = inner;
    *flags = DVM_IO_FLOAT_IN_SOURCE;
    return DETVM_OK;
}

static vm_io_quant io_quant_of(const tfl_tensor *t, uint32_t flags)
{
    vm_io_quant q = {1.0f, 0, flags};
    if (t->n_quant == 1 && t->scale[0] > 0 && t->scale[0] < 1e30f &&
        t->zero_point[0] >= INT32_MIN && t->zero_point[0] <= INT32_MAX) {
        q.scale = t->scale[0];
        q.zero_point = (int32_t)t->zero_point[0];
    }
    return q;
}

static detvm_status bind_io(tfl_import *ctx, const int32_t *bound, const uint32_t *flags,
                            detvm_error *err)
{
    const tfl_model *model = ctx->model;
    ir_module *m = ctx->ir;
    m->n_outputs = model->n_outputs;
    for (uint32_t k = 0; k < model->n_outputs; k++) {
        int32_t t = bound[1 + k];
        if (!ctx->ir_of[t] || !ctx->build.written[ctx->ir_of[t] - 1])
            return dv_fail(err, DETVM_EINVALID,
                           "tflite: output %u (%s) is not computed by any operator", k,
                           model->tensors[t].name);
        m->outputs[k] = ctx->ir_of[t] - 1;
        m->io_quant[1 + k] = io_quant_of(&model->tensors[t], flags[1 + k]);
    }
    m->input_bytes = dvm_dtype_bytes(m->tensors[m->input].dtype);
    m->output_bytes = dvm_dtype_bytes(m->tensors[m->outputs[0]].dtype);
    m->io_quant[0] = io_quant_of(&model->tensors[bound[0]], flags[0]);
    m->has_io_quant = 1;
    return DETVM_OK;
}

/* ---- the compile ----------------------------------------------------------------------- */

static detvm_status import_graph(tfl_import *ctx, detvm_error *err)
{
    const tfl_model *model = ctx->model;
    if (model->n_inputs != 1)
        return dv_fail(err, DETVM_EINVALID,
                       "tflite: subgraph 0 has %u inputs; detvm runs models with one input",
                       model->n_inputs);
    if (model->n_outputs < 1 || model->n_outputs > VM_MAX_OUTPUTS)
        return dv_fail(err, DETVM_EINVALID, "tflite: subgraph 0 has %u outputs (1 to %u)",
                       model->n_outputs, VM_MAX_OUTPUTS);
    int32_t bound[1 + VM_MAX_OUTPUTS];
    uint32_t flags[1 + VM_MAX_OUTPUTS];
    uint8_t *skip = calloc(model->n_operators + 1, 1);
    ctx->ir_of = calloc(model->n_tensors + 1, sizeof *ctx->ir_of);
    if (!skip || !ctx->ir_of) {
        free(skip);
        return out_of_memory(ctx);
    }
    detvm_status st = DETVM_OK;
    for (uint32_t k = 0; !st && k <= model->n_outputs; k++)
        st = resolve_binding(model, k > 0, k ? k - 1 : 0, skip, &bound[k], &flags[k], err);
    if (!st && writer_of(model, bound[0]) >= 0)
        st = dv_fail(err, DETVM_EINVALID, "tflite: the input (%s) is written by an operator",
                     model->tensors[bound[0]].name);
    if (!st && model->tensors[bound[0]].data)
        st = dv_fail(err, DETVM_EINVALID, "tflite: the input (%s) is a constant",
                     model->tensors[bound[0]].name);
    if (!st)
        st = tfl_value(ctx, bound[0], &ctx->ir->input, err);
    /* PADs that fold into the conv reading them (tfl_pad_fold) are not emitted. */
    ctx->fold_source = malloc((model->n_operators + 1) * sizeof *ctx->fold_source);
    ctx->fold_pads = malloc((model->n_operators + 1) * sizeof *ctx->fold_pads);
    if (!st && (!ctx->fold_source || !ctx->fold_pads))
        st = out_of_memory(ctx);
    for (uint32_t k = 0; !st && k < model->n_operators; k++)
        ctx->fold_source[k] = -1;
    for (uint32_t k = 0; !st && k < model->n_operators; k++) {
        int32_t conv, source, pads[4];
        if (skip[k] ||
            !tfl_pad_fold(model, k, bound + 1, model->n_outputs, &conv, &source, pads) ||
            skip[conv] || ctx->fold_source[conv] >= 0)
            continue;
        skip[k] = 1;
        ctx->fold_source[conv] = source;
        memcpy(ctx->fold_pads[conv], pads, sizeof pads);
    }
    for (uint32_t k = 0; !st && k < model->n_operators; k++) {
        const tfl_operator *op = &model->operators[k];
        if (skip[k])
            continue;
        tfl_import_fn import = importer_of(op->builtin);
        if (op->builtin == TFL_OP_CUSTOM)
            st = tfl_fail(ctx, op, "custom operator '%s' is not supported",
                          op->custom_code ? op->custom_code : "");
        else if (!import)
            st = tfl_fail(ctx, op, "operator not supported");
        else
            st = import(ctx, op, err);
    }
    if (!st && ctx->ir->n_instrs == 0)
        st = dv_fail(err, DETVM_EINVALID, "tflite: the model has no operators to run");
    if (!st)
        st = bind_io(ctx, bound, flags, err);
    free(skip);
    return st;
}

detvm_status detvm_compile_tflite(const uint8_t *tflite, size_t tflite_len,
                                  const detvm_tflite_options *options, uint8_t **module,
                                  size_t *module_len, detvm_error *err)
{
    *module = NULL;
    *module_len = 0;
    if (!tflite)
        return dv_fail(err, DETVM_EINVALID, "tflite: no bytes given");
    int32_t rounding = options ? (int32_t)options->rounding : DV_ROUND_DOUBLE;
    if (rounding != DV_ROUND_DOUBLE && rounding != DV_ROUND_SINGLE)
        return dv_fail(err, DETVM_EINVALID, "tflite: rounding %d unknown", rounding);
    tfl_model model;
    memset(&model, 0, sizeof model);
    ir_module m;
    memset(&m, 0, sizeof m);
    m.pack_isa = ir_pack_isa(options);
    tfl_import ctx = {.model = &model, .ir = &m, .build = {.ir = &m}, .rounding = rounding,
                      .err = err};
    detvm_status st = tfl_model_parse(tflite, tflite_len, &model, err);
    if (!st)
        st = import_graph(&ctx, err);
    if (!st) {
        m.source_format = DVM_SOURCE_TFLITE;
        m.source_version = "tflite_v3";
        m.postprocess = "separate";
        m.rounding = rounding;
        crypto_generichash(m.source_hash, sizeof m.source_hash, tflite, tflite_len, NULL, 0);
        ir_choose_storage(&m);
        st = ir_plan_memory(&m, err);
    }
    if (!st)
        st = ir_emit(&m, module, module_len, err);
    free(ctx.ir_of);
    free(ctx.fold_source);
    free(ctx.fold_pads);
    ir_builder_free(&ctx.build);
    tfl_model_free(&model);
    return st;
}
