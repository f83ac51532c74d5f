/* kmodel v4 node bodies: each nncase v0.2 runtime op's options (runtime/neutral/
 * neutral_ops_body.h, cpu/cpu_ops_body.h, k210/k210_ops_body.h: the fields in declaration
 * order, 4-byte fields, spans of weights right after) decoded into a plan (kmodel_v4.h): the
 * ops/nncase.c or ops/kpu.c instruction that computes the node, and where its result lies.
 *
 * Checks, besides every field the op needs: each memory range inside its memory, each source
 * range at least as large as what the kernel reads and the output range as what it writes
 * (the reference reads and writes by shape, past a short range), the output not in the
 * constants and not partly overlapping a source in the same memory (the reference reads
 * while it writes; detvm reads the memory as it was before the node), the body holding the
 * options with at most 7 bytes of padding after them, and the values for which the reference
 * fails (an unknown binary, reduce or unary op, a bad KPU filter type). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../ops/kpu.h"
#include "kmodel_v4.h"

typedef struct {
    const v4_file *f;
    const uint8_t *body;
    uint32_t size;
    v4_plan *p;
    uint64_t src_len[V4_MAX_SOURCES]; /* bytes each source is read */
    uint64_t dst_len;                 /* bytes written */
    char *why;
    size_t cap;
} node_ctx;

static int fail(node_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(node_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* The body holds `used` bytes of options. */
static int need(node_ctx *c, uint64_t used)
{
    if (used > c->size)
        return fail(c, "body: %u bytes, the options need %llu", c->size,
                    (unsigned long long)used);
    return 0;
}

/* The options end at `used`: what follows can only be the padding to 8 bytes. */
static int done(node_ctx *c, uint64_t used)
{
    if (need(c, used))
        return -1;
    if (c->size - used > 7)
        return fail(c, "body: %u bytes, %llu after the options (padding is at most 7)", c->size,
                    (unsigned long long)(c->size - used));
    return 0;
}

static int32_t i32(const node_ctx *c, uint32_t off) { return (int32_t)v4_u32(c->body + off); }

static void put(v4_plan *p, int32_t v) { p->attrs[p->n_attrs++] = v; }

/* The range at `off`, checked against its memory. */
static int range_at(node_ctx *c, uint32_t off, const char *what, v4_range *r)
{
    if (need(c, (uint64_t)off + V4_RANGE_BYTES))
        return -1;
    *r = v4_range_at(c->body + off);
    return v4_check_range(c->f, r, what, c->why, c->cap);
}

/* The input range at 0 and the output range at 16, where most ops' options start. */
static int in_out(node_ctx *c, v4_range *in, v4_range *out)
{
    return range_at(c, 0, "input", in) || range_at(c, 16, "output", out) ? -1 : 0;
}

/* A source read for `bytes` bytes. */
static int source(node_ctx *c, const v4_range *r, uint64_t bytes, const char *what)
{
    if (bytes > r->size)
        return fail(c, "%s: a range of %u bytes, the op reads %llu", what, r->size,
                    (unsigned long long)bytes);
    c->src_len[c->p->n_src] = bytes;
    c->p->src[c->p->n_src++] = *r;
    return 0;
}

/* The output, written for `bytes` bytes; the node's result is the whole range. */
static int output(node_ctx *c, const v4_range *r, uint64_t bytes)
{
    if (r->mem == V4_MEM_CONST)
        return fail(c, "output: in the constants (read-only)");
    if (bytes > r->size)
        return fail(c, "output: a range of %u bytes, the op writes %llu", r->size,
                    (unsigned long long)bytes);
    c->p->dst = *r;
    c->dst_len = bytes;
    c->p->result.mem = r->mem == V4_MEM_KPU ? KM_KPU : KM_MAIN;
    c->p->result.kpu_map = 0;
    c->p->result.offset = r->start;
    c->p->result.bytes = r->size;
    return 0;
}

/* After the sources and the output: no source partly under the output. */
static int no_overlap(node_ctx *c)
{
    const v4_plan *p = c->p;
    for (uint32_t i = 0; i < p->n_src; i++) {
        const v4_range *s = &p->src[i];
        uint64_t s0 = s->start, s1 = s0 + c->src_len[i];
        uint64_t d0 = p->dst.start, d1 = d0 + c->dst_len;
        if (s->mem == p->dst.mem && s0 < d1 && d0 < s1)
            return fail(c, "output: bytes %llu..%llu overlap input %u (bytes %llu..%llu)",
                        (unsigned long long)d0, (unsigned long long)d1, i,
                        (unsigned long long)s0, (unsigned long long)s1);
    }
    return 0;
}

/* A span of the body (weights, bias) that becomes a constant of the instruction. */
static int blob(node_ctx *c, uint64_t at, uint64_t len)
{
    if (need(c, at + len))
        return -1;
    c->p->blob[c->p->n_blobs].bytes = c->body + at;
    c->p->blob[c->p->n_blobs].len = (uint32_t)len;
    c->p->n_blobs++;
    return 0;
}

/* A runtime_shape_t at `off`: four dims in 1..2^24, at most 2^30 elements. */
static int shape_at(node_ctx *c, uint32_t off, const char *what, int32_t *d, uint64_t *count)
{
    uint64_t n = 1;
    for (int i = 0; i < 4; i++) {
        d[i] = i32(c, off + 4 * (uint32_t)i);
        if (d[i] < 1 || (uint32_t)d[i] > DV_MAX_DIM)
            return fail(c, "%s: dim %d is %d (must be 1..2^24)", what, i, d[i]);
        n *= (uint64_t)d[i];
        if (n > DV_MAX_ELEMS)
            return fail(c, "%s: more than 2^30 elements", what);
    }
    *count = n;
    return 0;
}

static void put_shape(v4_plan *p, const int32_t *d)
{
    for (int i = 0; i < 4; i++)
        put(p, d[i]);
}

/* The bytes per element of a range's datatype (the byte-moving kernels go by the input's). */
static uint32_t elem_bytes(const v4_range *r) { return r->dtype == V4_FLOAT32 ? 4 : 1; }

/* The end of the byte-moving ops (pad, resize_image, transpose, strided_slice): `n_in` input
 * and `n_out` output elements of the input's datatype; the instruction's attributes start
 * with the input and output offsets, the element bytes and the input shape. */
static int byte_mover(node_ctx *c, uint32_t dv_opcode, const v4_range *in, const v4_range *out,
                      const int32_t *s, uint64_t n_in, uint64_t n_out)
{
    uint32_t elem = elem_bytes(in);
    if (source(c, in, n_in * elem, "input") || output(c, out, n_out * elem))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = dv_opcode;
    put(p, (int32_t)in->start), put(p, (int32_t)out->start), put(p, (int32_t)elem);
    put_shape(p, s);
    return 0;
}

/* nncase's get_windowed_output_size for the window of 10 int32 at `off` (padding h, w; filter
 * h, w; stride h, w; dilation h, w), for an in_h x in_w map. */
static int window_out(node_ctx *c, uint32_t off, int64_t in_h, int64_t in_w, int64_t *out_h,
                      int64_t *out_w)
{
    int64_t v[10];
    for (int i = 0; i < 10; i++)
        v[i] = i32(c, off + 4 * (uint32_t)i);
    for (int i = 4; i < 10; i++)
        if (v[i] < 1)
            return fail(c, "window: filter, stride and dilation must be positive");
    *out_h = (in_h + v[0] + v[1] - ((v[4] - 1) * v[8] + 1) + v[6]) / v[6];
    *out_w = (in_w + v[2] + v[3] - ((v[5] - 1) * v[9] + 1) + v[7]) / v[7];
    if (*out_h < 1 || *out_w < 1 || *out_h > DV_MAX_DIM || *out_w > DV_MAX_DIM)
        return fail(c, "window: output size %lld x %lld", (long long)*out_h, (long long)*out_w);
    return 0;
}

static void put_window(node_ctx *c, uint32_t off)
{
    for (uint32_t i = 0; i < 10; i++)
        put(c->p, i32(c, off + 4 * i));
}

/* A shift the reference takes as uint8_t: its low byte, which must be 0..63. */
static int shift8(node_ctx *c, uint32_t off, const char *what, int32_t *s)
{
    *s = i32(c, off) & 0xff;
    if (*s > 63)
        return fail(c, "%s: %d (detvm takes 0..63)", what, *s);
    return 0;
}

/* ---- neutral ops ---- */

/* binary and quantized_binary: the same ranges, op and shapes; the quantized op reads uint8
 * and adds each operand's and the output's (offset, mul, shift). */
static int binary(node_ctx *c, int quantized)
{
    v4_range a, b, o;
    int32_t sa[4], sb[4], so[4], sh_a = 0, sh_b = 0, sh_o = 0;
    uint64_t na = 0, nb = 0, no = 0;
    if (done(c, quantized ? 136 : 108) || range_at(c, 0, "input a", &a) ||
        range_at(c, 16, "input b", &b) || range_at(c, 32, "output", &o) ||
        shape_at(c, 52, "in_a_shape", sa, &na) || shape_at(c, 68, "in_b_shape", sb, &nb) ||
        shape_at(c, 84, "out_shape", so, &no))
        return -1;
    if (quantized && (shift8(c, 108, "input_a_shift", &sh_a) ||
                      shift8(c, 120, "input_b_shift", &sh_b) ||
                      shift8(c, 132, "output_shift", &sh_o)))
        return -1;
    int32_t op = i32(c, 48);
    if (op < 0 || op >= DV_NNCASE_BINARY_LIMIT)
        return fail(c, "binary_op: %d unknown", op);
    if (memcmp(sa, sb, sizeof sa) == 0)
        no = na;
    uint64_t elem = quantized ? 1 : 4;
    if (source(c, &a, na * elem, "input a") || source(c, &b, nb * elem, "input b") ||
        output(c, &o, no * elem))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = quantized ? DV_OP_NNCASE_QUANTIZED_BINARY : DV_OP_NNCASE_BINARY;
    put(p, (int32_t)a.start), put(p, (int32_t)b.start), put(p, (int32_t)o.start), put(p, op);
    put_shape(p, sa), put_shape(p, sb), put_shape(p, so);
    if (!quantized) {
        put(p, i32(c, 100)), put(p, i32(c, 104)); /* the activation range */
        return 0;
    }
    /* body: a offset, mul, shift; b offset, mul, shift; output offset, mul, shift */
    put(p, i32(c, 100)), put(p, i32(c, 104)), put(p, sh_a);
    put(p, i32(c, 112)), put(p, i32(c, 116)), put(p, sh_b);
    put(p, i32(c, 128)), put(p, sh_o), put(p, i32(c, 124));
    return 0;
}

static int concat(node_ctx *c)
{
    v4_range o;
    if (need(c, 28) || range_at(c, 0, "output", &o))
        return -1;
    uint32_t inner = v4_u32(c->body + 16), outer = v4_u32(c->body + 20);
    uint32_t n = v4_u32(c->body + 24);
    if (n < 1 || n > V4_MAX_SOURCES)
        return fail(c, "inputs_count: %u (detvm takes 1..%u)", n, (unsigned)V4_MAX_SOURCES);
    if (inner > INT32_MAX || outer > INT32_MAX)
        return fail(c, "inner_size, outer_size: %u, %u (at most 2^31 - 1)", inner, outer);
    if (done(c, 28 + 20 * (uint64_t)n))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_CONCAT;
    put(p, (int32_t)o.start), put(p, (int32_t)inner), put(p, (int32_t)outer), put(p, (int32_t)n);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        v4_range r;
        char what[32];
        snprintf(what, sizeof what, "input %u", i);
        int32_t dim = i32(c, 28 + 16 * n + 4 * i);
        if (range_at(c, 28 + 16 * i, what, &r))
            return -1;
        if (dim < 0)
            return fail(c, "dims[%u]: %d", i, dim);
        uint64_t bytes = (uint64_t)inner * (uint64_t)dim * outer;
        if (source(c, &r, bytes, what))
            return -1;
        total += bytes;
        put(p, (int32_t)r.start), put(p, dim);
    }
    return output(c, &o, total);
}

/* conv2d (groups) and quantized_conv2d share their geometry fields; cpu_* ones have none of
 * groups or (depthwise) out_channels. `layout` is the op's enum dv_nncase_layout. */
typedef struct {
    uint32_t shape_at, oc_at, groups_at, window_at; /* offsets; 0 = field absent */
    int32_t layout;
} conv_fields;

typedef struct {
    int32_t s[4], groups, oc;
    int64_t c, out_h, out_w;
    uint64_t in_count, out_count, weights;
} conv_dims;

static int conv_dims_of(node_ctx *c, const conv_fields *cf, conv_dims *d)
{
    if (shape_at(c, cf->shape_at, "in_shape", d->s, &d->in_count))
        return -1;
    int nchw = cf->layout == DV_NNCASE_NCHW;
    int64_t ch = nchw ? d->s[1] : d->s[3], h = nchw ? d->s[2] : d->s[1];
    int64_t w = nchw ? d->s[3] : d->s[2];
    d->c = ch;
    d->groups = cf->groups_at ? i32(c, cf->groups_at) : cf->layout == DV_NNCASE_NHWC ? 1 : (int32_t)ch;
    d->oc = cf->oc_at ? i32(c, cf->oc_at) : (int32_t)ch;
    if (d->groups < 1 || d->oc < 1 || (uint32_t)d->oc > DV_MAX_DIM)
        return fail(c, "groups, out_channels: %d, %d (must be positive)", d->groups, d->oc);
    if (window_out(c, cf->window_at, h, w, &d->out_h, &d->out_w))
        return -1;
    d->out_count = (uint64_t)d->s[0] * (uint64_t)d->oc * (uint64_t)d->out_h * (uint64_t)d->out_w;
    if (d->out_count > DV_MAX_ELEMS)
        return fail(c, "output: more than 2^30 elements");
    /* the weights span as the reference sizes it: out_channels * channels / groups * fh * fw */
    int64_t fh = i32(c, cf->window_at + 16), fw = i32(c, cf->window_at + 20);
    d->weights = (uint64_t)d->oc * (uint64_t)ch / (uint64_t)d->groups * (uint64_t)fh * (uint64_t)fw;
    if (d->weights > DV_MAX_ELEMS)
        return fail(c, "weights: more than 2^30");
    return 0;
}

static void put_conv_prefix(node_ctx *c, const v4_range *in, const v4_range *out,
                            const conv_fields *cf, const conv_dims *d)
{
    v4_plan *p = c->p;
    put(p, (int32_t)in->start), put(p, (int32_t)out->start), put(p, cf->layout);
    put_shape(p, d->s);
    put(p, d->groups), put(p, d->oc);
    put_window(c, cf->window_at);
}

/* Float convolutions: conv2d (NCHW), cpu_conv2d, cpu_depthwise_conv2d (NHWC); the options
 * end at `fixed` with the activation range at fixed - 8, then weights and bias. */
static int conv2d(node_ctx *c, const conv_fields *cf, uint32_t fixed)
{
    v4_range in, out;
    conv_dims d;
    if (need(c, fixed) || in_out(c, &in, &out) || conv_dims_of(c, cf, &d))
        return -1;
    uint64_t wbytes = d.weights * 4, bbytes = (uint64_t)d.oc * 4;
    if (done(c, fixed + wbytes + bbytes) || blob(c, fixed, wbytes) ||
        blob(c, fixed + wbytes, bbytes) || source(c, &in, d.in_count * 4, "input") ||
        output(c, &out, d.out_count * 4))
        return -1;
    c->p->dv_opcode = DV_OP_NNCASE_CONV2D;
    put_conv_prefix(c, &in, &out, cf, &d);
    put(c->p, i32(c, fixed - 8)), put(c->p, i32(c, fixed - 4));
    return 0;
}

/* Quantized convolutions: the five int32 (input offset, filter offset, output mul, shift,
 * offset) end the fixed options; neutral puts bias before the weights, cpu_* after. */
static int quantized_conv2d(node_ctx *c, const conv_fields *cf, uint32_t fixed, int bias_first)
{
    v4_range in, out;
    conv_dims d;
    int32_t shift;
    if (need(c, fixed) || in_out(c, &in, &out) ||
        conv_dims_of(c, cf, &d) || shift8(c, fixed - 8, "output_shift", &shift))
        return -1;
    uint64_t wbytes = d.weights, bbytes = (uint64_t)d.oc * 4;
    uint64_t w_at = bias_first ? fixed + bbytes : fixed, b_at = bias_first ? fixed : fixed + wbytes;
    if (done(c, fixed + wbytes + bbytes) || blob(c, w_at, wbytes) || blob(c, b_at, bbytes) ||
        source(c, &in, d.in_count, "input") || output(c, &out, d.out_count))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_QUANTIZED_CONV2D;
    put_conv_prefix(c, &in, &out, cf, &d);
    put(p, i32(c, fixed - 20)), put(p, i32(c, fixed - 16)), put(p, i32(c, fixed - 12));
    put(p, shift), put(p, i32(c, fixed - 4));
    return 0;
}

static int conv2d_transpose(node_ctx *c)
{
    v4_range in, out;
    int32_t si[4], so[4];
    uint64_t ni = 0, no = 0;
    if (need(c, 116) || in_out(c, &in, &out) ||
        shape_at(c, 32, "in_shape", si, &ni) || shape_at(c, 48, "out_shape", so, &no))
        return -1;
    int32_t groups = i32(c, 64);
    if (groups < 1)
        return fail(c, "groups: %d", groups);
    int64_t fh = i32(c, 84), fw = i32(c, 88);
    if (fh < 1 || fw < 1)
        return fail(c, "filter: %lld x %lld", (long long)fh, (long long)fw);
    uint64_t weights = (uint64_t)so[1] * (uint64_t)si[1] / (uint64_t)groups * (uint64_t)fh * (uint64_t)fw;
    if (weights > DV_MAX_ELEMS)
        return fail(c, "weights: more than 2^30");
    uint64_t wbytes = weights * 4, bbytes = (uint64_t)so[1] * 4;
    /* the bias is in the body, read by the reference and never used */
    if (done(c, 116 + wbytes + bbytes) || blob(c, 116, wbytes) ||
        source(c, &in, ni * 4, "input") || output(c, &out, no * 4))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_CONV2D_TRANSPOSE;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start);
    put_shape(p, si), put_shape(p, so);
    put(p, groups);
    put_window(c, 68);
    put(p, i32(c, 108)), put(p, i32(c, 112));
    return 0;
}

/* dequantize (u8 -> f32) and quantize (f32 -> u8): count from the input range's size. */
static int dequantize(node_ctx *c, int quantize)
{
    v4_range in, out;
    if (done(c, 40) || in_out(c, &in, &out))
        return -1;
    uint64_t count = quantize ? in.size / 4 : in.size;
    if (source(c, &in, quantize ? count * 4 : count, "input") ||
        output(c, &out, quantize ? count : count * 4))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = quantize ? DV_OP_NNCASE_QUANTIZE : DV_OP_NNCASE_DEQUANTIZE;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, (int32_t)count);
    put(p, i32(c, 32)), put(p, i32(c, 36));
    return 0;
}

static int matmul(node_ctx *c, int quantized)
{
    v4_range a, b, o;
    uint32_t fixed = quantized ? 80 : 68;
    if (need(c, fixed) || range_at(c, 0, "input a", &a) || range_at(c, 16, "input b", &b) ||
        range_at(c, 32, "output", &o))
        return -1;
    int32_t rows = i32(c, 48), cols = i32(c, 52), bcols = i32(c, 56), shift = 0;
    if (rows < 1 || cols < 1 || bcols < 1 || (uint32_t)rows > DV_MAX_DIM ||
        (uint32_t)cols > DV_MAX_DIM || (uint32_t)bcols > DV_MAX_DIM)
        return fail(c, "a_rows, a_cols, b_cols: %d, %d, %d (must be 1..2^24)", rows, cols, bcols);
    if (quantized && shift8(c, 72, "output_shift", &shift))
        return -1;
    uint64_t elem = quantized ? 1 : 4;
    if (done(c, fixed + 4 * (uint64_t)bcols) || blob(c, fixed, 4 * (uint64_t)bcols) ||
        source(c, &a, (uint64_t)rows * (uint64_t)cols * elem, "input a") ||
        source(c, &b, (uint64_t)cols * (uint64_t)bcols * elem, "input b") ||
        output(c, &o, (uint64_t)rows * (uint64_t)bcols * elem))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = quantized ? DV_OP_NNCASE_QUANTIZED_MATMUL : DV_OP_NNCASE_MATMUL;
    put(p, (int32_t)a.start), put(p, (int32_t)b.start), put(p, (int32_t)o.start);
    put(p, rows), put(p, cols), put(p, bcols);
    if (!quantized) {
        put(p, i32(c, 60)), put(p, i32(c, 64));
        return 0;
    }
    put(p, i32(c, 60)), put(p, i32(c, 64)), put(p, i32(c, 68)), put(p, shift), put(p, i32(c, 76));
    return 0;
}

static int pad(node_ctx *c)
{
    v4_range in, out;
    int32_t s[4];
    uint64_t n = 0, total = 1;
    if (done(c, 88) || in_out(c, &in, &out) || shape_at(c, 32, "in_shape", s, &n))
        return -1;
    for (int k = 0; k < 4; k++) {
        int64_t d = (int64_t)s[k] + i32(c, 48 + 8 * (uint32_t)k) + i32(c, 52 + 8 * (uint32_t)k);
        if (d < 1 || d > DV_MAX_DIM)
            return fail(c, "paddings: output dim %d is %lld", k, (long long)d);
        total *= (uint64_t)d;
        if (total > DV_MAX_ELEMS)
            return fail(c, "paddings: more than 2^30 output elements");
    }
    if (byte_mover(c, DV_OP_NNCASE_PAD, &in, &out, s, n, total))
        return -1;
    for (uint32_t k = 0; k < 8; k++)
        put(c->p, i32(c, 48 + 4 * k));
    put(c->p, i32(c, 84)); /* the scalar's storage; its type field (at 80) is not used */
    return 0;
}

static int reduce(node_ctx *c)
{
    v4_range in, out;
    int32_t si[4], so[4];
    uint64_t ni = 0, no = 0;
    if (done(c, 72) || in_out(c, &in, &out) ||
        shape_at(c, 36, "in_shape", si, &ni) || shape_at(c, 52, "out_shape", so, &no))
        return -1;
    int32_t op = i32(c, 32);
    if (op < 0 || op >= DV_NNCASE_REDUCE_LIMIT)
        return fail(c, "reduce_op: %d unknown", op);
    if (source(c, &in, ni * 4, "input") || output(c, &out, no * 4))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_REDUCE;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, op);
    put_shape(p, si), put_shape(p, so);
    put(p, i32(c, 68)), put(p, (int32_t)(in.size / 4)), put(p, (int32_t)(out.size / 4));
    return 0;
}

/* reduce_window2d (NCHW) and cpu_reduce_window2d (NHWC): the same options. */
static int reduce_window2d(node_ctx *c, int32_t layout)
{
    v4_range in, out;
    int32_t s[4];
    uint64_t n = 0;
    int64_t oh = 0, ow = 0;
    if (done(c, 104) || in_out(c, &in, &out) || shape_at(c, 36, "in_shape", s, &n))
        return -1;
    int32_t op = i32(c, 32);
    if (op < 0 || op >= DV_NNCASE_REDUCE_LIMIT || (layout == DV_NNCASE_NHWC && op == DV_NNCASE_REDUCE_SUM))
        return fail(c, "reduce_op: %d unknown%s", op, layout == DV_NNCASE_NHWC ? " (cpu: mean, min, max)" : "");
    int nchw = layout == DV_NNCASE_NCHW;
    int64_t ch = nchw ? s[1] : s[3];
    if (window_out(c, 52, nchw ? s[2] : s[1], nchw ? s[3] : s[2], &oh, &ow))
        return -1;
    uint64_t total = (uint64_t)s[0] * (uint64_t)ch * (uint64_t)oh * (uint64_t)ow;
    if (total > DV_MAX_ELEMS)
        return fail(c, "output: more than 2^30 elements");
    if (source(c, &in, n * 4, "input") || output(c, &out, total * 4))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_REDUCE_WINDOW2D;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, layout), put(p, op);
    put_shape(p, s);
    put_window(c, 52);
    put(p, i32(c, 92)), put(p, i32(c, 96)), put(p, i32(c, 100));
    return 0;
}

static int memory_copy(node_ctx *c)
{
    v4_range in, out;
    if (done(c, 32) || in_out(c, &in, &out))
        return -1;
    uint64_t words = in.size / 4; /* the reference copies the input as floats */
    if (source(c, &in, words * 4, "input") || output(c, &out, words * 4))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_MEMORY_COPY;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, (int32_t)words);
    return 0;
}

static int resize_image(node_ctx *c)
{
    v4_range in, out;
    int32_t s[4];
    uint64_t n = 0;
    if (done(c, 64) || in_out(c, &in, &out) || shape_at(c, 32, "in_shape", s, &n))
        return -1;
    int32_t oh = i32(c, 48), ow = i32(c, 52);
    if (oh < 1 || ow < 1 || (uint32_t)oh > DV_MAX_DIM || (uint32_t)ow > DV_MAX_DIM)
        return fail(c, "out_h, out_w: %d, %d (must be 1..2^24)", oh, ow);
    uint64_t total = (uint64_t)s[0] * (uint64_t)s[1] * (uint64_t)oh * (uint64_t)ow;
    if (total > DV_MAX_ELEMS)
        return fail(c, "output: more than 2^30 elements");
    if (byte_mover(c, DV_OP_NNCASE_RESIZE_IMAGE, &in, &out, s, n, total))
        return -1;
    v4_plan *p = c->p;
    put(p, oh), put(p, ow);
    /* the runtime takes every mode but bilinear (0) as nearest neighbour, and any nonzero
     * align_corners byte as true */
    put(p, i32(c, 56) == 0 ? DV_NNCASE_BILINEAR : DV_NNCASE_NEAREST);
    put(p, c->body[60] != 0);
    return 0;
}

static int softmax(node_ctx *c)
{
    v4_range in, out;
    if (done(c, 44) || in_out(c, &in, &out))
        return -1;
    int32_t inner = i32(c, 32), outer = i32(c, 36);
    if (inner < 1 || outer < 1)
        return fail(c, "inner_size, outer_size: %d, %d (must be positive)", inner, outer);
    uint64_t bytes = (uint64_t)inner * (uint64_t)outer * 4;
    if (source(c, &in, bytes, "input") || output(c, &out, bytes))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_SOFTMAX;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, outer), put(p, inner);
    put(p, i32(c, 40));
    return 0;
}

static int transpose(node_ctx *c)
{
    v4_range in, out;
    int32_t s[4];
    uint64_t n = 0;
    if (done(c, 64) || in_out(c, &in, &out) || shape_at(c, 32, "in_shape", s, &n))
        return -1;
    if (byte_mover(c, DV_OP_NNCASE_TRANSPOSE, &in, &out, s, n, n))
        return -1;
    for (uint32_t k = 0; k < 4; k++)
        put(c->p, i32(c, 48 + 4 * k));
    return 0;
}

static int strided_slice(node_ctx *c)
{
    v4_range in, out;
    int32_t s[4];
    uint64_t n = 0, total = 1;
    if (done(c, 116) || in_out(c, &in, &out) || shape_at(c, 32, "in_shape", s, &n))
        return -1;
    for (uint32_t k = 0; k < 4; k++) {
        int64_t b = i32(c, 48 + 4 * k), e = i32(c, 64 + 4 * k), st = i32(c, 80 + 4 * k);
        if (st == 0)
            return fail(c, "strides: dim %u is 0", k);
        int64_t cnt = st > 0 ? (b < e ? (e - b + st - 1) / st : 0)
                             : (b > e ? (b - e - st - 1) / -st : 0);
        total *= (uint64_t)cnt;
    }
    if (total > DV_MAX_ELEMS)
        return fail(c, "output: more than 2^30 elements");
    if (byte_mover(c, DV_OP_NNCASE_STRIDED_SLICE, &in, &out, s, n, total))
        return -1;
    for (uint32_t k = 0; k < 12; k++) /* begin, end, strides; the masks are resolved */
        put(c->p, i32(c, 48 + 4 * k));
    return 0;
}

static int unary(node_ctx *c)
{
    v4_range in, out;
    if (done(c, 36) || in_out(c, &in, &out))
        return -1;
    int32_t op = i32(c, 32);
    if (op < 0 || op >= DV_NNCASE_UNARY_LIMIT)
        return fail(c, "unary_op: %d unknown", op);
    uint64_t count = in.size / 4;
    if (source(c, &in, count * 4, "input") || output(c, &out, count * 4))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_UNARY;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, (int32_t)count), put(p, op);
    return 0;
}

static int table_lookup1d(node_ctx *c)
{
    v4_range in, table, out;
    if (done(c, 48) || range_at(c, 0, "input", &in) || range_at(c, 16, "table", &table) ||
        range_at(c, 32, "output", &out))
        return -1;
    if (in.dtype != V4_UINT8)
        return fail(c, "input: datatype %u (the runtime takes uint8 only)", in.dtype);
    if (source(c, &in, in.size, "input") || source(c, &table, 256, "table") ||
        output(c, &out, in.size))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_TABLE_LOOKUP1D;
    put(p, (int32_t)in.start), put(p, (int32_t)table.start), put(p, (int32_t)out.start);
    put(p, (int32_t)in.size);
    return 0;
}

/* nnil_unary_method: the rest of the body is the program, read up to its ret. */
static int nnil_unary_method(node_ctx *c)
{
    v4_range in, out;
    if (need(c, 32) || in_out(c, &in, &out))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_NNCASE_NNIL_UNARY;
    uint64_t count = in.size / 4;
    put(p, (int32_t)in.start), put(p, (int32_t)out.start), put(p, (int32_t)count), put(p, 0);
    uint32_t at = 32, n = 0;
    while (at < c->size) {
        uint8_t op = c->body[at++];
        int32_t operand = 0;
        if (op == DV_NNIL_LDC_R4) {
            if (c->size - at < 4)
                return fail(c, "program: ldc_r4 at byte %u runs past the body", at - 1);
            operand = i32(c, at);
            at += 4;
        }
        if (n == DV_NNIL_MAX_OPS)
            return fail(c, "program: more than %d instructions", DV_NNIL_MAX_OPS);
        put(p, op), put(p, operand);
        n++;
        if (op == DV_NNIL_RET)
            break;
    }
    p->attrs[3] = (int32_t)n;
    /* the op's checks give the reason for a bad program; here only the ranges */
    if (source(c, &in, count * 4, "input") || output(c, &out, count * 4))
        return -1;
    return 0;
}

/* ---- K210 ops ---- */

static int kpu_upload(node_ctx *c)
{
    v4_range in, out;
    int32_t s[4];
    uint64_t n = 0;
    if (done(c, 48) || in_out(c, &in, &out) || shape_at(c, 32, "in_shape", s, &n))
        return -1;
    if (out.mem != V4_MEM_KPU)
        return fail(c, "output: memory type %u (kpu_upload writes KPU RAM)", out.mem);
    uint64_t kpu_bytes = (uint64_t)s[0] * dv_kpu_map_bytes((uint32_t)s[3], (uint32_t)s[2], (uint32_t)s[1]);
    if (source(c, &in, n, "input") || output(c, &out, kpu_bytes))
        return -1;
    v4_plan *p = c->p;
    p->dv_opcode = DV_OP_KPU_UPLOAD;
    put(p, DV_KPU_UPLOAD_IMAGE), put(p, (int32_t)in.start);
    put_shape(p, s);
    put(p, (int32_t)out.start);
    p->result.kpu_map = 1;
    p->result.offset = out.start;
    for (int k = 0; k < 4; k++)
        p->result.dims[k] = (uint32_t)s[k];
    return 0;
}

/* kpu_conv2d: main_mem_output, batches, reserved0, the 12-word layer argument; then, each
 * after a skip the layer's address field gives (the padding to a 256-byte boundary in the
 * file): batch norm (out_c x 8 bytes), the activation table (144), the weights. */
static int kpu_conv2d(node_ctx *c, int32_t semantics)
{
    v4_range main_out;
    if (need(c, 120) || range_at(c, 0, "main_mem_output", &main_out))
        return -1;
    int32_t batches = i32(c, 16);
    uint64_t words[DV_KPU_WORDS];
    for (uint32_t i = 0; i < DV_KPU_WORDS; i++)
        words[i] = (uint64_t)v4_u32(c->body + 24 + 8 * i) |
                   (uint64_t)v4_u32(c->body + 28 + 8 * i) << 32;
    dv_kpu_layer l;
    dv_kpu_decode_words(words, &l);
    if (batches < 1)
        return fail(c, "batches: %d", batches);
    if (l.kernel_type > 1)
        return fail(c, "layer: kernel_pool_type_cfg.kernel_type %u (1x1 or 3x3 only)",
                    l.kernel_type);
    uint64_t f = l.kernel_type ? 3 : 1;
    uint64_t weights = l.depthwise ? l.out_c * f * f : (uint64_t)l.in_c * l.out_c * f * f;
    uint64_t bn_at = 120 + (uint64_t)l.bwsx_base_addr;
    uint64_t act_at = bn_at + 8 * (uint64_t)l.out_c + l.active_addr;
    uint64_t w_at = act_at + DV_KPU_ACT_BYTES + l.para_start_addr;
    if (l.bwsx_base_addr > 255 || l.active_addr > 255 || l.para_start_addr > 255)
        return fail(c, "layer: the padding before batch norm, activation and weights is %u, "
                       "%u, %u bytes (at most 255)",
                    l.bwsx_base_addr, l.active_addr, l.para_start_addr);
    if (done(c, w_at + weights) || blob(c, w_at, weights) || blob(c, bn_at, 8 * (uint64_t)l.out_c) ||
        blob(c, act_at, DV_KPU_ACT_BYTES))
        return -1;
    /* the address fields are the device driver's to fill in */
    dv_kpu_set(words, DV_KPU_BWSX_BASE_ADDR, 0);
    dv_kpu_set(words, DV_KPU_ACTIVE_ADDR, 0);
    dv_kpu_set(words, DV_KPU_PARA_START_ADDR, 0);
    v4_plan *p = c->p;
    int32_t attrs[24];
    dv_kpu_words_to_attrs(words, attrs);
    for (int i = 0; i < 24; i++)
        put(p, attrs[i]);
    put(p, batches);
    uint64_t map_bytes = (uint64_t)l.out_c * l.out_h * l.out_w;
    if (main_out.size) {
        if (main_out.mem != V4_MEM_MAIN)
            return fail(c, "main_mem_output: memory type %u (must be main memory)", main_out.mem);
        if (main_out.size < (uint64_t)batches * map_bytes)
            return fail(c, "main_mem_output: a range of %u bytes, the layer writes %llu",
                        main_out.size, (unsigned long long)((uint64_t)batches * map_bytes));
        p->has_dst2 = 1;
        p->dst2 = main_out;
        put(p, (int32_t)main_out.start);
        p->dv_opcode = DV_OP_KPU_CONV2D_OUT;
    } else {
        put(p, 0);
        p->dv_opcode = DV_OP_KPU_CONV2D;
    }
    put(p, semantics);
    p->dst = (v4_range){V4_MEM_KPU, V4_UINT8, l.dst_row * DV_KPU_ROW_BYTES, 0};
    p->result.mem = KM_KPU;
    p->result.kpu_map = 1;
    p->result.offset = l.dst_row * DV_KPU_ROW_BYTES;
    p->result.dims[0] = (uint32_t)batches;
    p->result.dims[1] = l.out_c;
    p->result.dims[2] = l.out_h;
    p->result.dims[3] = l.out_w;
    return 0;
}

/* ---- the table ---- */

static const struct {
    uint32_t opcode;
    const char *name;
} op_names[] = {
    {0x00, "Binary"}, {0x01, "Concat"}, {0x02, "Conv2D"}, {0x03, "Dequantize"},
    {0x04, "MatMul"}, {0x05, "Pad"}, {0x06, "Quantize"}, {0x07, "Reduce"},
    {0x08, "ReduceWindow2D"}, {0x09, "MemoryCopy"}, {0x0A, "ResizeImage"}, {0x0B, "Softmax"},
    {0x0C, "Transpose"}, {0x0D, "StridedSlice"}, {0x0E, "Unary"}, {0x0F, "QuantizedConv2D"},
    {0x10, "QuantizedMatMul"}, {0x11, "QuantizedBinary"}, {0x12, "TableLookup1D"},
    /* conv2d_transpose: the runtime's name table (runtime_op.def) calls it so */
    {0x13, "QuantizedBinary"}, {0x14, "NNILUnaryMethod"},
    {0x1001, "CPUConv2D"}, {0x1002, "CPUDepthwiseConv2D"}, {0x1003, "CPUReduceWindow2D"},
    {0x1004, "CPUQuantizedConv2D"}, {0x1005, "CPUQuantizedDepthwiseConv2D"},
    {0x2001, "KPUUpload"}, {0x2002, "KPUConv2D"},
};

const char *v4_op_name(uint32_t opcode)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
        if (op_names[i].opcode == opcode)
            return op_names[i].name;
    return NULL;
}

static int decode(node_ctx *c, uint32_t opcode, int32_t semantics)
{
    /* conv_fields: in_shape, out_channels, groups, window offsets; layout */
    static const conv_fields neutral_conv = {32, 52, 48, 56, DV_NNCASE_NCHW};
    static const conv_fields cpu_conv = {32, 48, 0, 52, DV_NNCASE_NHWC};
    static const conv_fields cpu_dw_conv = {32, 0, 0, 48, DV_NNCASE_NHWC_DEPTHWISE};
    switch (opcode) {
    case 0x00: return binary(c, 0);
    case 0x01: return concat(c);
    case 0x02: return conv2d(c, &neutral_conv, 104);
    case 0x03: return dequantize(c, 0);
    case 0x04: return matmul(c, 0);
    case 0x05: return pad(c);
    case 0x06: return dequantize(c, 1);
    case 0x07: return reduce(c);
    case 0x08: return reduce_window2d(c, DV_NNCASE_NCHW);
    case 0x09: return memory_copy(c);
    case 0x0A: return resize_image(c);
    case 0x0B: return softmax(c);
    case 0x0C: return transpose(c);
    case 0x0D: return strided_slice(c);
    case 0x0E: return unary(c);
    case 0x0F: return quantized_conv2d(c, &neutral_conv, 116, 1);
    case 0x10: return matmul(c, 1);
    case 0x11: return binary(c, 1);
    case 0x12: return table_lookup1d(c);
    case 0x13: return conv2d_transpose(c);
    case 0x14: return nnil_unary_method(c);
    case 0x1001: return conv2d(c, &cpu_conv, 100);
    case 0x1002: return conv2d(c, &cpu_dw_conv, 96);
    case 0x1003: return reduce_window2d(c, DV_NNCASE_NHWC);
    case 0x1004: return quantized_conv2d(c, &cpu_conv, 112, 0);
    case 0x1005: return quantized_conv2d(c, &cpu_dw_conv, 108, 0);
    case 0x2001: return kpu_upload(c);
    case 0x2002: return kpu_conv2d(c, semantics);
    default: return fail(c, "opcode 0x%x unknown", opcode);
    }
}

int v4_decode_node(const v4_file *f, uint32_t i, int32_t kpu_semantics, v4_plan *p, char *why,
                   size_t why_cap)
{
    memset(p, 0, sizeof *p);
    const uint8_t *h = f->data + f->headers_at + 8 * (size_t)i;
    p->opcode = v4_u32(h);
    p->name = v4_op_name(p->opcode);
    node_ctx c = {.f = f, .body = f->data + f->body_at[i], .size = v4_u32(h + 4), .p = p,
                  .why = why, .cap = why_cap};
    if (decode(&c, p->opcode, kpu_semantics))
        return -1;
    if (p->dv_opcode != DV_OP_KPU_CONV2D && p->dv_opcode != DV_OP_KPU_CONV2D_OUT &&
        no_overlap(&c))
        return -1;
    return 0;
}
