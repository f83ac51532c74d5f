/* The CPU nodes of kmodel v4, as the nncase v0.2.0-beta4 runtime computes them (its generic,
 * non-RISC-V kernels: src/common/include/kernels/neutral and kernels/cpu, driven by
 * src/runtime/neutral/neutral_ops.cpp and cpu/cpu_ops.cpp), on memory images.
 *
 * The operand pattern and the attribute conventions are in ops/nncase.h. What every kernel
 * here shares:
 *  - Float arithmetic is IEEE-754 single precision, one operation at a time in the order the
 *    reference writes it (it was built for x86-64 without FMA), never contracted.
 *    std::min(a, b) is (b < a ? b : a), std::max(a, b) is (a < b ? b : a), std::clamp(v, lo,
 *    hi) is (v < lo ? lo : hi < v ? hi : v): that is what they do with NaN too.
 *  - Every float an op stores that is a NaN is stored as DV_NNCASE_NAN_BITS.
 *  - int32 arithmetic that the reference lets overflow wraps modulo 2^32, as x86-64 does; it
 *    is written with uint32_t so that C never overflows a signed type. Conversions from float
 *    to int follow x86-64 (dv_f32_to_i32_x86).
 *  - Where the reference would read outside its tensors for some attribute values, infer
 *    refuses those values; the few index computations whose bound depends on float rounding
 *    are clamped to the tensor (documented at the kernel). */

#include "kimage.h"
#include "nncase.h"
#include "op.h"

/* ==== Bits and integers ================================================================== */

/* The int32 (int64) whose two's complement bits are u, without an implementation-defined
 * conversion. */
static int32_t s32(uint32_t u)
{
    return u <= 0x7fffffffu ? (int32_t)u : -(int32_t)(~u) - 1;
}

static int64_t s64(uint64_t u)
{
    return u <= 0x7fffffffffffffffull ? (int64_t)u : -(int64_t)(~u) - 1;
}

static int32_t add32(int32_t a, int32_t b) { return s32((uint32_t)a + (uint32_t)b); }
static int32_t sub32(int32_t a, int32_t b) { return s32((uint32_t)a - (uint32_t)b); }
static int32_t mul32(int32_t a, int32_t b) { return s32((uint32_t)a * (uint32_t)b); }

/* v >> s rounding toward minus infinity (an arithmetic shift), s in 0..63. */
static int64_t asr64(int64_t v, uint32_t s)
{
    return v >= 0 ? v >> s : s64(~(~(uint64_t)v >> s));
}

/* nncase's mul_and_carry_shift(value, mul, shift): the product in int64, then, for shift > 0,
 * plus 2^(shift-1) (wrapping, as x86-64 does in the one case it can overflow: both factors
 * -2^31 and shift 63) and an arithmetic shift right; the low 32 bits of the result.
 * shift is 0..63 (the reference takes it as uint8_t; the importer refuses 64..255). */
static int32_t mul_carry_shift(int32_t value, int32_t mul, uint32_t shift)
{
    int64_t p = (int64_t)value * mul;
    if (shift > 0)
        p = asr64(s64((uint64_t)p + (1ull << (shift - 1))), shift);
    return s32((uint32_t)(uint64_t)p);
}

static int32_t clamp_u8(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/* Loads and stores of float32 in an image; stores make every NaN DV_NNCASE_NAN_BITS. */
static float ld_f32(const int32_t *img, uint32_t addr) { return dv_image_f32(img, addr); }

static void st_f32(int32_t *img, uint32_t addr, float f)
{
    dv_image_put_u32(img, addr, dv_f32_is_nan(f) ? DV_NNCASE_NAN_BITS : dv_f32_bits(f));
}

static float attr_f32(int32_t v) { return dv_f32_from_bits((uint32_t)v); }

static float min_f(float a, float b) { return b < a ? b : a; }
static float max_f(float a, float b) { return a < b ? b : a; }
static float clamp_f(float v, float lo, float hi) { return v < lo ? lo : hi < v ? hi : v; }

/* ==== Shapes, ranges and windows ========================================================= */

/* Shorthands for infer: a reason when the condition fails. */
#define REQUIRE(cond, why)                                                                  \
    do {                                                                                    \
        if (!(cond))                                                                        \
            return why;                                                                     \
    } while (0)

/* A 4-D shape from attributes: each dim in 1..2^24 and at most 2^30 elements. */
static int shape4(const int32_t *v, uint32_t *d, uint64_t *count)
{
    uint64_t n = 1;
    for (int i = 0; i < 4; i++) {
        if (v[i] < 1 || (uint32_t)v[i] > DV_MAX_DIM)
            return 0;
        d[i] = (uint32_t)v[i];
        n *= d[i];
        if (n > DV_MAX_ELEMS)
            return 0;
    }
    *count = n;
    return 1;
}

static int same_shape4(const uint32_t *a, const uint32_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Row-major offset of index i in a 4-D shape. */
static uint64_t offset4(const uint32_t *s, const uint32_t *i)
{
    return (((uint64_t)i[0] * s[1] + i[1]) * s[2] + i[2]) * s[3] + i[3];
}

/* nncase's get_reduced_offset, then the offset: each index at or past the reduced dim
 * becomes 0 (its broadcast rule). */
static uint64_t reduced_offset4(const uint32_t *s, const uint32_t *i)
{
    uint32_t r[4];
    for (int k = 0; k < 4; k++)
        r[k] = i[k] >= s[k] ? 0 : i[k];
    return offset4(s, r);
}

/* Bytes [off, off + len) inside an image. */
static int in_image(const dv_shape *img, int32_t off, uint64_t len)
{
    return len <= (uint64_t)INT64_MAX / 2 && dv_image_check_range(img, off, (int64_t)len) == NULL;
}

static int is_image(const dv_shape *s) { return s->ndim == 1; }

/* A memory image large enough for `len` bytes of a constant (weights, bias). */
static int holds(const dv_shape *img, uint64_t len)
{
    return is_image(img) && len <= dv_image_bytes(img);
}

/* Copies one element of `elem` bytes (1 or 4) from byte `from` of src to byte `to` of dst. */
static void copy_elem(int32_t *dst, uint32_t to, const int32_t *src, uint32_t from, uint32_t elem)
{
    if (elem == 1)
        dv_image_put_u8(dst, to, dv_image_u8(src, from));
    else
        dv_image_put_u32(dst, to, dv_image_u32(src, from));
}

/* The window geometry of a convolution or a pooling (nncase's padding, filter, stride,
 * dilation and get_windowed_output_size). Attribute order: pad_h before, after, pad_w before,
 * after, filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w. */
typedef struct {
    int64_t pad_t, pad_b, pad_l, pad_r, fh, fw, sh, sw, dh, dw;
    int64_t out_h, out_w;
} window;

#define WINDOW_ATTRS 10
#define WINDOW_LIMIT 65535

/* Reads and checks a window over an in_h x in_w map: filter, stride and dilation in
 * 1..65535, paddings within +-65535, and a positive output size. Every index the kernels
 * compute then stays far inside int32, where the reference computes them. */
static int window_of(const int32_t *v, int64_t in_h, int64_t in_w, window *w)
{
    for (int i = 0; i < 4; i++)
        if (v[i] < -WINDOW_LIMIT || v[i] > WINDOW_LIMIT)
            return 0;
    for (int i = 4; i < WINDOW_ATTRS; i++)
        if (v[i] < 1 || v[i] > WINDOW_LIMIT)
            return 0;
    w->pad_t = v[0], w->pad_b = v[1], w->pad_l = v[2], w->pad_r = v[3];
    w->fh = v[4], w->fw = v[5], w->sh = v[6], w->sw = v[7], w->dh = v[8], w->dw = v[9];
    /* (size + pads - effective filter + stride) / stride, C division (toward zero) */
    int64_t eff_h = (w->fh - 1) * w->dh + 1, eff_w = (w->fw - 1) * w->dw + 1;
    w->out_h = (in_h + w->pad_t + w->pad_b - eff_h + w->sh) / w->sh;
    w->out_w = (in_w + w->pad_l + w->pad_r - eff_w + w->sw) / w->sw;
    return w->out_h >= 1 && w->out_w >= 1 && w->out_h <= DV_MAX_DIM && w->out_w <= DV_MAX_DIM;
}

/* The filter taps [*start, *end) of output position o that fall inside the input (nncase's
 * filter_y_start / filter_y_end, with C's truncating division). */
static void taps(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t filter, int64_t in,
                 int64_t *origin, int64_t *start, int64_t *end)
{
    int64_t org = o * stride - pad;
    int64_t s = (-org + dil - 1) / dil;
    int64_t e = (in - org + dil - 1) / dil;
    *origin = org;
    *start = s > 0 ? s : 0;
    *end = e < filter ? e : filter;
}

/* Ranges that must be separate or identical (in place): not partly overlapping. */

/* ==== BINARY, QUANTIZED_BINARY ============================================================
 *
 * NNCASE_BINARY: dst, a, b -> dst'
 *   attrs: [0] a offset, [1] b offset, [2] output offset, [3] op (enum dv_nncase_binary),
 *          [4..7] a shape, [8..11] b shape, [12..15] output shape, [16] activation min,
 *          [17] activation max (float bits)
 * float32 elements. When a and b have the same shape, out[i] = clamp(a[i] op b[i], min, max)
 * for every element of a; otherwise, for every index of the output shape in row-major order,
 * out[idx] = clamp(a[ra] op b[rb]) where ra (rb) is idx with each coordinate at or past a's
 * (b's) dim replaced by 0. add, sub, mul, div are the IEEE operations, min and max std::min
 * and std::max; clamp is std::clamp. */
static float binary_f(int32_t op, float a, float b)
{
    switch (op) {
    case DV_NNCASE_ADD: return a + b;
    case DV_NNCASE_SUB: return a - b;
    case DV_NNCASE_MUL: return a * b;
    case DV_NNCASE_DIV: return a / b;
    case DV_NNCASE_MIN: return min_f(a, b);
    default: return max_f(a, b);
    }
}

/* The elements a binary op writes: all of a's when the shapes agree, else the output's. */
static const char *binary_shapes(const int32_t *v, uint32_t *sa, uint32_t *sb, uint32_t *so,
                                 uint64_t *na, uint64_t *nb, uint64_t *nout)
{
    REQUIRE(shape4(v + 4, sa, na), "nncase_binary: a shape: dims must be 1..2^24");
    REQUIRE(shape4(v + 8, sb, nb), "nncase_binary: b shape: dims must be 1..2^24");
    REQUIRE(shape4(v + 12, so, nout), "nncase_binary: output shape: dims must be 1..2^24");
    if (same_shape4(sa, sb))
        *nout = *na;
    return NULL;
}

static const char *binary_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 18, "nncase_binary: takes 18 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[3] >= 0 && v[3] < DV_NNCASE_BINARY_LIMIT, "nncase_binary: op must be 0..5");
    uint32_t sa[4], sb[4], so[4];
    uint64_t na, nb, no;
    const char *why = binary_shapes(v, sa, sb, so, &na, &nb, &no);
    if (why)
        return why;
    REQUIRE(in_image(&in[1], v[0], na * 4), "nncase_binary: a: bytes outside its image");
    REQUIRE(in_image(&in[2], v[1], nb * 4), "nncase_binary: b: bytes outside its image");
    REQUIRE(in_image(&in[0], v[2], no * 4), "nncase_binary: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

/* NNCASE_QUANTIZED_BINARY: dst, a, b -> dst'
 *   attrs: [0] a offset, [1] b offset, [2] output offset, [3] op (enum dv_nncase_binary),
 *          [4..15] a, b and output shapes, [16] a offset value, [17] a mul, [18] a shift,
 *          [19] b offset value, [20] b mul, [21] b shift, [22] output mul, [23] output shift,
 *          [24] output offset value; shifts 0..63
 * uint8 elements, indexed as NNCASE_BINARY. For each element, in int32:
 *   a' = mul_carry_shift(a + a_off, a_mul, a_shift), b' likewise,
 *   r = a' op b' (add, sub, mul wrapping; div = (a' + b'/2) / b' truncating, 0 when b' = 0
 *       (where the reference traps) and wrapping for -2^31 / -1; min, max),
 *   out = clamp(mul_carry_shift(r, out_mul, out_shift) + out_off, 0, 255)
 * with every + wrapping modulo 2^32 and mul_carry_shift as defined at its helper. */
static int32_t qbinary_op(int32_t op, int32_t a, int32_t b)
{
    switch (op) {
    case DV_NNCASE_ADD: return add32(a, b);
    case DV_NNCASE_SUB: return sub32(a, b);
    case DV_NNCASE_MUL: return mul32(a, b);
    case DV_NNCASE_DIV: {
        if (b == 0)
            return 0;
        int32_t n = add32(a, b / 2);
        if (b == -1)
            return sub32(0, n);
        return n / b;
    }
    case DV_NNCASE_MIN: return b < a ? b : a;
    default: return a < b ? b : a;
    }
}

static int shift_ok(int32_t s) { return s >= 0 && s <= 63; }

static uint8_t qbinary_elem(const int32_t *v, int32_t x, int32_t y)
{
    int32_t a = mul_carry_shift(add32(x, v[16]), v[17], (uint32_t)v[18]);
    int32_t b = mul_carry_shift(add32(y, v[19]), v[20], (uint32_t)v[21]);
    int32_t r = mul_carry_shift(qbinary_op(v[3], a, b), v[22], (uint32_t)v[23]);
    return (uint8_t)clamp_u8(add32(r, v[24]));
}

static const char *qbinary_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 25, "nncase_quantized_binary: takes 25 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[3] >= 0 && v[3] < DV_NNCASE_BINARY_LIMIT,
            "nncase_quantized_binary: op must be 0..5");
    REQUIRE(shift_ok(v[18]) && shift_ok(v[21]) && shift_ok(v[23]),
            "nncase_quantized_binary: shifts must be 0..63");
    uint32_t sa[4], sb[4], so[4];
    uint64_t na, nb, no;
    const char *why = binary_shapes(v, sa, sb, so, &na, &nb, &no);
    if (why)
        return why;
    REQUIRE(in_image(&in[1], v[0], na), "nncase_quantized_binary: a: bytes outside its image");
    REQUIRE(in_image(&in[2], v[1], nb), "nncase_quantized_binary: b: bytes outside its image");
    REQUIRE(in_image(&in[0], v[2], no),
            "nncase_quantized_binary: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

/* One element of NNCASE_BINARY (float32) or NNCASE_QUANTIZED_BINARY (uint8): a's element
 * ia and b's element ib give the output's element io. */
static void binary_elem(const int32_t *v, int quantized, const dv_tensor *in, int32_t *dst,
                        uint32_t ia, uint32_t ib, uint32_t io)
{
    uint32_t ao = (uint32_t)v[0], bo = (uint32_t)v[1], oo = (uint32_t)v[2];
    if (quantized) {
        dv_image_put_u8(dst, oo + io,
                        qbinary_elem(v, dv_image_u8(in[1].data, ao + ia),
                                     dv_image_u8(in[2].data, bo + ib)));
        return;
    }
    float x = ld_f32(in[1].data, ao + 4 * ia);
    float y = ld_f32(in[2].data, bo + 4 * ib);
    st_f32(dst, oo + 4 * io, clamp_f(binary_f(v[3], x, y), attr_f32(v[16]), attr_f32(v[17])));
}

/* The element order both binary ops share (documented at NNCASE_BINARY). */
static void binary_walk(const dv_attrs *a, const dv_tensor *in, dv_tensor *out, int quantized)
{
    const int32_t *v = a->v;
    uint32_t sa[4], sb[4], so[4];
    uint64_t na = 0, nb = 0, no = 0;
    binary_shapes(v, sa, sb, so, &na, &nb, &no);
    dv_image_copy(out[0].data, &in[0]);
    if (same_shape4(sa, sb)) {
        for (uint32_t i = 0; i < (uint32_t)na; i++)
            binary_elem(v, quantized, in, out[0].data, i, i, i);
        return;
    }
    uint32_t i[4];
    for (i[0] = 0; i[0] < so[0]; i[0]++)
        for (i[1] = 0; i[1] < so[1]; i[1]++)
            for (i[2] = 0; i[2] < so[2]; i[2]++)
                for (i[3] = 0; i[3] < so[3]; i[3]++)
                    binary_elem(v, quantized, in, out[0].data, (uint32_t)reduced_offset4(sa, i),
                                (uint32_t)reduced_offset4(sb, i), (uint32_t)offset4(so, i));
}

static void binary_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    binary_walk(a, in, out, 0);
}

static void qbinary_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    binary_walk(a, in, out, 1);
}

const dv_op_info dv_info_NNCASE_BINARY = {"nncase_binary", 3, 3, 1, binary_infer, binary_run,
                                          NULL};

const dv_op_info dv_info_NNCASE_QUANTIZED_BINARY = {"nncase_quantized_binary", 3, 3, 1,
                                                    qbinary_infer, qbinary_run, NULL};

/* ==== CONCAT ==============================================================================
 *
 * NNCASE_CONCAT: dst, src_0 .. src_{n-1} -> dst'
 *   attrs: [0] output offset, [1] inner (bytes), [2] outer, [3] n, then for each source
 *          [4+2i] its offset, [5+2i] its dim
 * A byte copy: for o in 0..outer-1, for each source i in order, inner * dim_i bytes from
 * src_i at offset_i + o * inner * dim_i are appended to the output. */
static const char *concat_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    const int32_t *v = a->v;
    REQUIRE(a->n >= 4 && v[3] >= 1 && a->n == 4 + 2 * (uint32_t)v[3] && n_in == 1 + (uint32_t)v[3],
            "nncase_concat: takes offset, inner, outer, n and n (offset, dim) pairs, n sources");
    REQUIRE(v[1] >= 0 && v[2] >= 0, "nncase_concat: inner and outer must not be negative");
    uint64_t total = 0;
    for (uint32_t i = 0; i < (uint32_t)v[3]; i++) {
        int32_t dim = v[5 + 2 * i];
        REQUIRE(dim >= 0, "nncase_concat: dims must not be negative");
        uint64_t bytes = (uint64_t)v[1] * (uint64_t)dim * (uint64_t)v[2];
        REQUIRE(in_image(&in[1 + i], v[4 + 2 * i], bytes),
                "nncase_concat: a source: bytes outside its image");
        total += bytes;
    }
    REQUIRE(in_image(&in[0], v[0], total), "nncase_concat: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void concat_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    dv_image_copy(out[0].data, &in[0]);
    uint32_t at = (uint32_t)v[0];
    for (uint32_t o = 0; o < (uint32_t)v[2]; o++)
        for (uint32_t i = 0; i < (uint32_t)v[3]; i++) {
            uint32_t size = (uint32_t)v[1] * (uint32_t)v[5 + 2 * i];
            uint32_t src = (uint32_t)v[4 + 2 * i] + o * size;
            for (uint32_t k = 0; k < size; k++)
                dv_image_put_u8(out[0].data, at++, dv_image_u8(in[1 + i].data, src + k));
        }
}

const dv_op_info dv_info_NNCASE_CONCAT = {"nncase_concat", 2, DV_MAX_OP_INPUTS, 1,
                                          concat_infer, concat_run, NULL};

/* ==== CONV2D, QUANTIZED_CONV2D ============================================================
 *
 * NNCASE_CONV2D: dst, src, weights, bias -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] layout (enum dv_nncase_layout),
 *          [3..6] input shape, [7] groups, [8] output channels, [9..18] window (padding h
 *          before/after, w before/after, filter h, w, stride h, w, dilation h, w),
 *          [19] activation min, [20] activation max (float bits)
 * float32; weights and bias are float32 arrays from byte 0 of their images.
 *  NCHW (nncase conv2d): input n, c, h, w; g_ic = c / groups, g_oc = oc / groups; weights
 *   [oc][g_ic][fh][fw]. For n, group g, channel o of the group, oy, ox (output order, NCHW):
 *   v = bias[g g_oc + o]; for ic, ky, kx over the taps inside the input:
 *   v = v + in[n][g g_ic + ic][oy sh - pad_t + dh ky][ox sw - pad_l + dw kx] * w[...]; the
 *   output is clamp(v, min, max).
 *  NHWC (cpu_conv2d, groups 1): input n, h, w, c; weights [oc][fh][fw][c]; for n, oy, ox, oc:
 *   v = bias[oc]; for ky, kx, ic: v = v + in * w; output NHWC.
 *  NHWC_DEPTHWISE (cpu_depthwise_conv2d, groups = oc = c): weights [c][fh][fw]; for n, oy,
 *   ox, c: v = bias[c]; for ky, kx: v = v + in[..][c] * w[c][ky][kx]; output NHWC.
 * Each product is rounded, then each sum (no fused multiply-add). */

typedef struct {
    uint32_t s[4], n, c, h, w, oc, groups;
    window win;
    uint64_t out_count, weight_count;
} conv_geom;

/* The geometry of NNCASE_CONV2D and NNCASE_QUANTIZED_CONV2D (same attribute prefix). */
static const char *conv_geometry(const int32_t *v, conv_geom *g)
{
    uint64_t count;
    REQUIRE(v[2] >= 0 && v[2] < DV_NNCASE_LAYOUT_LIMIT, "nncase_conv2d: layout must be 0..2");
    REQUIRE(shape4(v + 3, g->s, &count), "nncase_conv2d: input shape: dims must be 1..2^24");
    int nchw = v[2] == DV_NNCASE_NCHW;
    g->n = g->s[0];
    g->c = nchw ? g->s[1] : g->s[3];
    g->h = nchw ? g->s[2] : g->s[1];
    g->w = nchw ? g->s[3] : g->s[2];
    REQUIRE(v[7] >= 1 && v[8] >= 1 && (uint32_t)v[8] <= DV_MAX_DIM,
            "nncase_conv2d: groups and output channels must be positive");
    g->groups = (uint32_t)v[7];
    g->oc = (uint32_t)v[8];
    if (v[2] == DV_NNCASE_NCHW)
        REQUIRE(g->c % g->groups == 0 && g->oc % g->groups == 0,
                "nncase_conv2d: groups must divide the input and output channels");
    else if (v[2] == DV_NNCASE_NHWC)
        REQUIRE(g->groups == 1, "nncase_conv2d: an NHWC convolution has one group");
    else
        REQUIRE(g->groups == g->c && g->oc == g->c,
                "nncase_conv2d: a depthwise convolution has groups = output channels = channels");
    REQUIRE(window_of(v + 9, g->h, g->w, &g->win),
            "nncase_conv2d: window: filter, stride, dilation 1..65535, padding within 65535, "
            "and a positive output size");
    g->out_count = (uint64_t)g->n * g->oc * (uint64_t)g->win.out_h * (uint64_t)g->win.out_w;
    REQUIRE(g->out_count <= DV_MAX_ELEMS, "nncase_conv2d: output: more than 2^30 elements");
    g->weight_count = (uint64_t)g->oc * (g->c / g->groups) * (uint64_t)g->win.fh * g->win.fw;
    return NULL;
}

static const char *conv2d_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 21, "nncase_conv2d: takes 21 attributes");
    conv_geom g;
    const char *why = conv_geometry(a->v, &g);
    if (why)
        return why;
    REQUIRE(in_image(&in[1], a->v[0], (uint64_t)g.n * g.c * g.h * g.w * 4),
            "nncase_conv2d: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], g.out_count * 4),
            "nncase_conv2d: output: bytes outside its image");
    REQUIRE(holds(&in[2], g.weight_count * 4), "nncase_conv2d: weights: too few");
    REQUIRE(holds(&in[3], (uint64_t)g.oc * 4), "nncase_conv2d: bias: too few");
    out[0] = in[0];
    return NULL;
}

/* NNCASE_QUANTIZED_CONV2D: dst, src, weights, bias -> dst'
 *   attrs: [0..18] as NNCASE_CONV2D, [19] input offset value, [20] filter offset value,
 *          [21] output mul, [22] output shift (0..63), [23] output offset value
 * uint8 input, output and weights (same layouts and loop orders as NNCASE_CONV2D), int32
 * bias (little-endian). v = bias; v = v + x' * w' per tap, with x' = x + input_offset,
 * w' = w + filter_offset for NCHW (nncase quantized_conv2d) and x' = x - input_offset,
 * w' = w - filter_offset for the NHWC layouts (cpu_quantized_conv2d and its depthwise form),
 * all int32 wrapping modulo 2^32; out = clamp(mul_carry_shift(v, mul, shift) + out_offset,
 * 0, 255). */
static const char *qconv2d_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 24, "nncase_quantized_conv2d: takes 24 attributes");
    REQUIRE(shift_ok(a->v[22]), "nncase_quantized_conv2d: output shift must be 0..63");
    conv_geom g;
    const char *why = conv_geometry(a->v, &g);
    if (why)
        return why;
    REQUIRE(in_image(&in[1], a->v[0], (uint64_t)g.n * g.c * g.h * g.w),
            "nncase_quantized_conv2d: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], g.out_count),
            "nncase_quantized_conv2d: output: bytes outside its image");
    REQUIRE(holds(&in[2], g.weight_count), "nncase_quantized_conv2d: weights: too few");
    REQUIRE(holds(&in[3], (uint64_t)g.oc * 4), "nncase_quantized_conv2d: bias: too few");
    out[0] = in[0];
    return NULL;
}

/* The sum of one output element of NNCASE_CONV2D (float) or NNCASE_QUANTIZED_CONV2D (int32):
 * both ops visit the same taps in the same order (conv_walk); only the arithmetic differs. */
typedef struct {
    const int32_t *v, *src, *wt;
    int quantized;
    float f;
    int32_t q;
} conv_sum;

/* Starts the sum of output channel oc at its bias. */
static void conv_start(conv_sum *s, const int32_t *bias, uint32_t oc)
{
    if (s->quantized)
        s->q = (int32_t)dv_image_u32(bias, 4 * oc);
    else
        s->f = ld_f32(bias, 4 * oc);
}

/* Adds input element x_at times weight k_at (element indices). */
static void conv_add(conv_sum *s, uint32_t x_at, uint32_t k_at)
{
    const int32_t *v = s->v;
    if (!s->quantized) {
        float x = ld_f32(s->src, (uint32_t)v[0] + 4 * x_at);
        float k = ld_f32(s->wt, 4 * k_at);
        float p = x * k;
        s->f = s->f + p;
        return;
    }
    int32_t x = dv_image_u8(s->src, (uint32_t)v[0] + x_at);
    int32_t k = dv_image_u8(s->wt, k_at);
    if (v[2] == DV_NNCASE_NCHW)
        s->q = add32(s->q, mul32(add32(x, v[19]), add32(k, v[20])));
    else
        s->q = add32(s->q, mul32(sub32(x, v[19]), sub32(k, v[20])));
}

/* Stores the finished sum at byte `at` of the output image; returns the next element's. */
static uint32_t conv_store(const conv_sum *s, int32_t *dst, uint32_t at)
{
    const int32_t *v = s->v;
    if (!s->quantized) {
        st_f32(dst, at, clamp_f(s->f, attr_f32(v[19]), attr_f32(v[20])));
        return at + 4;
    }
    int32_t r = add32(mul_carry_shift(s->q, v[21], (uint32_t)v[22]), v[23]);
    dv_image_put_u8(dst, at, (uint8_t)clamp_u8(r));
    return at + 1;
}

/* The loops both convolutions share, in the orders documented at NNCASE_CONV2D. */
static void conv_walk(const dv_attrs *a, const dv_tensor *in, dv_tensor *out, int quantized)
{
    const int32_t *v = a->v;
    conv_geom g = {0}; /* conv_geometry fills it: infer accepted these attributes */
    conv_geometry(v, &g);
    const window *w = &g.win;
    const int32_t *bias = in[3].data;
    conv_sum s = {v, in[1].data, in[2].data, quantized, 0.0f, 0};
    uint32_t at = (uint32_t)v[1];
    dv_image_copy(out[0].data, &in[0]);
    int64_t y0, ys, ye, x0, xs, xe;
    if (v[2] == DV_NNCASE_NCHW) {
        uint32_t g_ic = g.c / g.groups, g_oc = g.oc / g.groups;
        for (uint32_t b = 0; b < g.n; b++)
            for (uint32_t og = 0; og < g.groups; og++)
                for (uint32_t o = 0; o < g_oc; o++)
                    for (int64_t oy = 0; oy < w->out_h; oy++)
                        for (int64_t ox = 0; ox < w->out_w; ox++) {
                            taps(oy, w->sh, w->pad_t, w->dh, w->fh, g.h, &y0, &ys, &ye);
                            taps(ox, w->sw, w->pad_l, w->dw, w->fw, g.w, &x0, &xs, &xe);
                            uint32_t oc = og * g_oc + o;
                            conv_start(&s, bias, oc);
                            for (uint32_t ic = 0; ic < g_ic; ic++) {
                                uint64_t plane = ((uint64_t)b * g.c + og * g_ic + ic) * g.h;
                                uint64_t filt = ((uint64_t)oc * g_ic + ic) * (uint64_t)w->fh;
                                for (int64_t ky = ys; ky < ye; ky++)
                                    for (int64_t kx = xs; kx < xe; kx++) {
                                        uint64_t iy = (uint64_t)(y0 + w->dh * ky);
                                        uint64_t ix = (uint64_t)(x0 + w->dw * kx);
                                        conv_add(&s, (uint32_t)((plane + iy) * g.w + ix),
                                                 (uint32_t)((filt + (uint64_t)ky) * (uint64_t)w->fw + (uint64_t)kx));
                                    }
                            }
                            at = conv_store(&s, out[0].data, at);
                        }
        return;
    }
    int depthwise = v[2] == DV_NNCASE_NHWC_DEPTHWISE;
    for (uint32_t b = 0; b < g.n; b++)
        for (int64_t oy = 0; oy < w->out_h; oy++)
            for (int64_t ox = 0; ox < w->out_w; ox++) {
                taps(oy, w->sh, w->pad_t, w->dh, w->fh, g.h, &y0, &ys, &ye);
                taps(ox, w->sw, w->pad_l, w->dw, w->fw, g.w, &x0, &xs, &xe);
                for (uint32_t oc = 0; oc < g.oc; oc++) {
                    conv_start(&s, bias, oc);
                    for (int64_t ky = ys; ky < ye; ky++)
                        for (int64_t kx = xs; kx < xe; kx++) {
                            uint64_t iy = (uint64_t)(y0 + w->dh * ky);
                            uint64_t ix = (uint64_t)(x0 + w->dw * kx);
                            uint64_t pix = (((uint64_t)b * g.h + iy) * g.w + ix) * g.c;
                            uint64_t tap = (uint64_t)ky * (uint64_t)w->fw + (uint64_t)kx;
                            if (depthwise) {
                                conv_add(&s, (uint32_t)(pix + oc),
                                         (uint32_t)((uint64_t)oc * (uint64_t)(w->fh * w->fw) + tap));
                                continue;
                            }
                            uint64_t wpix = ((uint64_t)oc * (uint64_t)(w->fh * w->fw) + tap) * g.c;
                            for (uint32_t ic = 0; ic < g.c; ic++)
                                conv_add(&s, (uint32_t)(pix + ic), (uint32_t)(wpix + ic));
                        }
                    at = conv_store(&s, out[0].data, at);
                }
            }
}

static void conv2d_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    conv_walk(a, in, out, 0);
}

static void qconv2d_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    conv_walk(a, in, out, 1);
}

const dv_op_info dv_info_NNCASE_CONV2D = {"nncase_conv2d", 4, 4, 1, conv2d_infer, conv2d_run,
                                          NULL};

const dv_op_info dv_info_NNCASE_QUANTIZED_CONV2D = {"nncase_quantized_conv2d", 4, 4, 1,
                                                    qconv2d_infer, qconv2d_run, NULL};

/* ==== DEQUANTIZE, QUANTIZE ================================================================
 *
 * NNCASE_DEQUANTIZE: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] count, [3] zero point, [4] scale (bits)
 * count uint8 in, count float32 out: div = 1.0f / scale (rounded to float first), then
 * out[i] = (float)(q[i] - zero_point) * div, the difference in int32 (wrapping).
 *
 * NNCASE_QUANTIZE: dst, src -> dst'
 *   attrs: as NNCASE_DEQUANTIZE
 * count float32 in, count uint8 out: t = x * scale, then t + (float)zero_point, rounded half
 * away from zero (roundf), converted to int32 as x86-64 does (INT32_MIN for NaN and values
 * out of range, which then clamp to 0), clamped to 0..255. */
static const char *quant_check(const dv_attrs *a, const dv_shape *in, uint64_t in_bytes,
                               uint64_t out_bytes)
{
    REQUIRE(a->n == 5, "nncase_(de)quantize: takes 5 attributes");
    REQUIRE(a->v[2] >= 0, "nncase_(de)quantize: count must not be negative");
    REQUIRE(in_image(&in[1], a->v[0], in_bytes * (uint64_t)a->v[2]),
            "nncase_(de)quantize: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], out_bytes * (uint64_t)a->v[2]),
            "nncase_(de)quantize: output: bytes outside its image");
    return NULL;
}

static const char *dequantize_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    const char *why = quant_check(a, in, 1, 4);
    if (!why)
        out[0] = in[0];
    return why;
}

static void dequantize_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    float div = 1.0f / attr_f32(v[4]);
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t i = 0; i < (uint32_t)v[2]; i++) {
        int32_t q = sub32(dv_image_u8(in[1].data, (uint32_t)v[0] + i), v[3]);
        float f = (float)q;
        st_f32(out[0].data, (uint32_t)v[1] + 4 * i, f * div);
    }
}

const dv_op_info dv_info_NNCASE_DEQUANTIZE = {"nncase_dequantize", 2, 2, 1, dequantize_infer,
                                              dequantize_run, NULL};

static const char *quantize_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    const char *why = quant_check(a, in, 4, 1);
    if (!why)
        out[0] = in[0];
    return why;
}

static void quantize_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                         dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    float scale = attr_f32(v[4]), zero = (float)v[3];
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t i = 0; i < (uint32_t)v[2]; i++) {
        float x = ld_f32(in[1].data, (uint32_t)v[0] + 4 * i);
        float t = x * scale;
        t = t + zero;
        int32_t q = dv_f32_to_i32_x86(dv_roundf(t));
        dv_image_put_u8(out[0].data, (uint32_t)v[1] + i, (uint8_t)clamp_u8(q));
    }
}

const dv_op_info dv_info_NNCASE_QUANTIZE = {"nncase_quantize", 2, 2, 1, quantize_infer,
                                            quantize_run, NULL};

/* ==== MATMUL, QUANTIZED_MATMUL ============================================================
 *
 * NNCASE_MATMUL: dst, a, b, bias -> dst'
 *   attrs: [0] a offset, [1] b offset, [2] output offset, [3] a rows, [4] a cols, [5] b cols,
 *          [6] activation min, [7] activation max (float bits)
 * float32, row-major a[rows][cols], b[cols][b_cols], bias[b_cols] (from byte 0 of its
 * image): out[y][x] = clamp(v, min, max) with v = bias[x], then v = v + a[y][i] * b[i][x]
 * for i = 0, 1, ... in order.
 *
 * NNCASE_QUANTIZED_MATMUL: dst, a, b, bias -> dst'
 *   attrs: [0..5] as NNCASE_MATMUL, [6] a offset value, [7] b offset value, [8] output mul,
 *          [9] output shift (0..63), [10] output offset value
 * uint8 a, b, out; int32 bias: v = bias[x]; v = v + (a + a_off) * (b + b_off) (int32,
 * wrapping); out = clamp(mul_carry_shift(v, mul, shift) + out_off, 0, 255). */
static const char *matmul_check(const dv_attrs *a, const dv_shape *in, uint32_t elem)
{
    const int32_t *v = a->v;
    for (int i = 3; i < 6; i++)
        REQUIRE(v[i] >= 1 && (uint32_t)v[i] <= DV_MAX_DIM, "nncase_matmul: sizes must be 1..2^24");
    uint64_t rows = (uint64_t)v[3], cols = (uint64_t)v[4], bcols = (uint64_t)v[5];
    REQUIRE(rows * cols <= DV_MAX_ELEMS && cols * bcols <= DV_MAX_ELEMS &&
                rows * bcols <= DV_MAX_ELEMS,
            "nncase_matmul: more than 2^30 elements");
    REQUIRE(in_image(&in[1], v[0], rows * cols * elem), "nncase_matmul: a: bytes outside its image");
    REQUIRE(in_image(&in[2], v[1], cols * bcols * elem), "nncase_matmul: b: bytes outside its image");
    REQUIRE(in_image(&in[0], v[2], rows * bcols * elem),
            "nncase_matmul: output: bytes outside its image");
    REQUIRE(holds(&in[3], bcols * 4), "nncase_matmul: bias: too few");
    return NULL;
}

static const char *matmul_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 8, "nncase_matmul: takes 8 attributes");
    const char *why = matmul_check(a, in, 4);
    if (!why)
        out[0] = in[0];
    return why;
}

static void matmul_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t rows = (uint32_t)v[3], cols = (uint32_t)v[4], bcols = (uint32_t)v[5];
    uint32_t ao = (uint32_t)v[0], bo = (uint32_t)v[1], oo = (uint32_t)v[2];
    float lo = attr_f32(v[6]), hi = attr_f32(v[7]);
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t y = 0; y < rows; y++)
        for (uint32_t x = 0; x < bcols; x++) {
            float value = ld_f32(in[3].data, 4 * x);
            for (uint32_t i = 0; i < cols; i++) {
                float p = ld_f32(in[1].data, ao + 4 * (y * cols + i));
                float q = ld_f32(in[2].data, bo + 4 * (i * bcols + x));
                float pq = p * q;
                value = value + pq;
            }
            st_f32(out[0].data, oo + 4 * (y * bcols + x), clamp_f(value, lo, hi));
        }
}

const dv_op_info dv_info_NNCASE_MATMUL = {"nncase_matmul", 4, 4, 1, matmul_infer, matmul_run,
                                          NULL};

static const char *qmatmul_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 11, "nncase_quantized_matmul: takes 11 attributes");
    REQUIRE(shift_ok(a->v[9]), "nncase_quantized_matmul: output shift must be 0..63");
    const char *why = matmul_check(a, in, 1);
    if (!why)
        out[0] = in[0];
    return why;
}

static void qmatmul_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t rows = (uint32_t)v[3], cols = (uint32_t)v[4], bcols = (uint32_t)v[5];
    uint32_t ao = (uint32_t)v[0], bo = (uint32_t)v[1], oo = (uint32_t)v[2];
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t y = 0; y < rows; y++)
        for (uint32_t x = 0; x < bcols; x++) {
            int32_t value = (int32_t)dv_image_u32(in[3].data, 4 * x);
            for (uint32_t i = 0; i < cols; i++) {
                int32_t p = add32(dv_image_u8(in[1].data, ao + y * cols + i), v[6]);
                int32_t q = add32(dv_image_u8(in[2].data, bo + i * bcols + x), v[7]);
                value = add32(value, mul32(p, q));
            }
            int32_t r = add32(mul_carry_shift(value, v[8], (uint32_t)v[9]), v[10]);
            dv_image_put_u8(out[0].data, oo + y * bcols + x, (uint8_t)clamp_u8(r));
        }
}

const dv_op_info dv_info_NNCASE_QUANTIZED_MATMUL = {"nncase_quantized_matmul", 4, 4, 1,
                                                    qmatmul_infer, qmatmul_run, NULL};

/* ==== PAD =================================================================================
 *
 * NNCASE_PAD: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] element bytes (1 or 4), [3..6] input
 *          shape, [7..14] padding before and after of each of the 4 dims (negative crops),
 *          [15] pad value (its 4 storage bytes, little-endian; one-byte elements use the
 *          first)
 * Output dim k is in_k + before_k + after_k (each must be 1..2^24). For each output index in
 * row-major order: if some coordinate d_k < before_k or d_k >= out_k - after_k, the element
 * is the pad value, else the input element at (d_k - before_k). Elements are copied as
 * bytes. */
static const char *pad_shapes(const int32_t *v, uint32_t *si, int32_t *so)
{
    uint64_t count, total = 1;
    REQUIRE(shape4(v + 3, si, &count), "nncase_pad: input shape: dims must be 1..2^24");
    for (int k = 0; k < 4; k++) {
        int64_t d = (int64_t)si[k] + v[7 + 2 * k] + v[8 + 2 * k];
        REQUIRE(d >= 1 && d <= DV_MAX_DIM, "nncase_pad: paddings: output dims must be 1..2^24");
        so[k] = (int32_t)d;
        total *= (uint64_t)d;
        REQUIRE(total <= DV_MAX_ELEMS, "nncase_pad: output: more than 2^30 elements");
    }
    return NULL;
}

static const char *pad_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                             uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 16, "nncase_pad: takes 16 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[2] == 1 || v[2] == 4, "nncase_pad: element bytes must be 1 or 4");
    uint32_t si[4];
    int32_t so[4];
    const char *why = pad_shapes(v, si, so);
    if (why)
        return why;
    uint64_t n_in_elems = (uint64_t)si[0] * si[1] * si[2] * si[3];
    uint64_t n_out_elems = (uint64_t)so[0] * (uint64_t)so[1] * (uint64_t)so[2] * (uint64_t)so[3];
    REQUIRE(in_image(&in[1], v[0], n_in_elems * (uint64_t)v[2]),
            "nncase_pad: input: bytes outside its image");
    REQUIRE(in_image(&in[0], v[1], n_out_elems * (uint64_t)v[2]),
            "nncase_pad: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void pad_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t si[4];
    int32_t so[4];
    pad_shapes(v, si, so);
    uint32_t elem = (uint32_t)v[2], src = (uint32_t)v[0], at = (uint32_t)v[1];
    uint32_t pad = (uint32_t)v[15];
    const int32_t *before = v + 7; /* before_k = before[2k], after_k = before[2k + 1] */
    dv_image_copy(out[0].data, &in[0]);
    int32_t d[4];
    for (d[0] = 0; d[0] < so[0]; d[0]++)
        for (d[1] = 0; d[1] < so[1]; d[1]++)
            for (d[2] = 0; d[2] < so[2]; d[2]++)
                for (d[3] = 0; d[3] < so[3]; d[3]++) {
                    int padded = 0;
                    uint32_t idx[4] = {0, 0, 0, 0};
                    for (int k = 0; k < 4; k++) {
                        if (d[k] < before[2 * k] || d[k] >= so[k] - before[2 * k + 1])
                            padded = 1;
                        else
                            idx[k] = (uint32_t)(d[k] - before[2 * k]);
                    }
                    if (!padded)
                        copy_elem(out[0].data, at, in[1].data,
                                  src + elem * (uint32_t)offset4(si, idx), elem);
                    else if (elem == 1)
                        dv_image_put_u8(out[0].data, at, (uint8_t)pad);
                    else
                        dv_image_put_u32(out[0].data, at, pad);
                    at += elem;
                }
}

const dv_op_info dv_info_NNCASE_PAD = {"nncase_pad", 2, 2, 1, pad_infer, pad_run, NULL};

/* ==== REDUCE ==============================================================================
 *
 * NNCASE_REDUCE: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] op (enum dv_nncase_reduce), [3..6] input
 *          shape, [7..10] reduced shape, [11] init value (bits), [12] input count,
 *          [13] output count (the element counts of the node's memory ranges)
 * float32. The reduced-shape elements are set to init; then for each input index in
 * row-major order, out[r] = f(out[r], in[idx]) with r = idx with every coordinate at or past
 * the reduced dim set to 0, f = out + in (mean, sum), std::min(out, in), std::max(out, in).
 * For mean, afterwards each of the first `output count` elements is multiplied by
 * (float)output count / (float)input count (that quotient rounded to float first). */
static const char *reduce_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 14, "nncase_reduce: takes 14 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[2] >= 0 && v[2] < DV_NNCASE_REDUCE_LIMIT, "nncase_reduce: op must be 0..3");
    uint32_t si[4], so[4];
    uint64_t ni, no;
    REQUIRE(shape4(v + 3, si, &ni), "nncase_reduce: input shape: dims must be 1..2^24");
    REQUIRE(shape4(v + 7, so, &no), "nncase_reduce: reduced shape: dims must be 1..2^24");
    REQUIRE(v[12] >= 0 && v[13] >= 0, "nncase_reduce: counts must not be negative");
    uint64_t written = no;
    if (v[2] == DV_NNCASE_REDUCE_MEAN && (uint64_t)v[13] > written)
        written = (uint64_t)v[13];
    REQUIRE(in_image(&in[1], v[0], ni * 4), "nncase_reduce: input: bytes outside its image");
    REQUIRE(in_image(&in[0], v[1], written * 4), "nncase_reduce: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void reduce_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t si[4], so[4];
    uint64_t ni = 0, no = 0;
    shape4(v + 3, si, &ni);
    shape4(v + 7, so, &no);
    uint32_t src = (uint32_t)v[0], dst = (uint32_t)v[1];
    int32_t *o = out[0].data;
    dv_image_copy(o, &in[0]);
    for (uint32_t i = 0; i < (uint32_t)no; i++)
        dv_image_put_u32(o, dst + 4 * i, (uint32_t)v[11]);
    uint32_t idx[4];
    for (idx[0] = 0; idx[0] < si[0]; idx[0]++)
        for (idx[1] = 0; idx[1] < si[1]; idx[1]++)
            for (idx[2] = 0; idx[2] < si[2]; idx[2]++)
                for (idx[3] = 0; idx[3] < si[3]; idx[3]++) {
                    float x = ld_f32(in[1].data, src + 4 * (uint32_t)offset4(si, idx));
                    uint32_t r = dst + 4 * (uint32_t)reduced_offset4(so, idx);
                    float acc = ld_f32(o, r);
                    if (v[2] == DV_NNCASE_REDUCE_MIN)
                        acc = min_f(acc, x);
                    else if (v[2] == DV_NNCASE_REDUCE_MAX)
                        acc = max_f(acc, x);
                    else
                        acc = acc + x;
                    st_f32(o, r, acc);
                }
    if (v[2] == DV_NNCASE_REDUCE_MEAN) {
        float mul = (float)(uint32_t)v[13] / (float)(uint32_t)v[12];
        for (uint32_t i = 0; i < (uint32_t)v[13]; i++)
            st_f32(o, dst + 4 * i, ld_f32(o, dst + 4 * i) * mul);
    }
}

const dv_op_info dv_info_NNCASE_REDUCE = {"nncase_reduce", 2, 2, 1, reduce_infer, reduce_run,
                                          NULL};

/* ==== REDUCE_WINDOW2D =====================================================================
 *
 * NNCASE_REDUCE_WINDOW2D: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] layout (0 NCHW: nncase reduce_window2d,
 *          1 NHWC: cpu_reduce_window2d), [3] op (enum dv_nncase_reduce), [4..7] input shape,
 *          [8..17] window (as NNCASE_CONV2D), [18] init value, [19] activation min,
 *          [20] activation max (float bits)
 * float32. For each output position (NCHW: n, c, oy, ox; NHWC: n, oy, ox, c): v = init,
 * k = 0; for each tap inside the input (ky, kx in order): v = f(v, x), k = k + 1, f as in
 * NNCASE_REDUCE; out = clamp(mean ? v / (float)k : v, min, max). */
static const char *rwin_geometry(const int32_t *v, uint32_t *n, uint32_t *c, uint32_t *h,
                                 uint32_t *w, window *win)
{
    uint32_t s[4];
    uint64_t count;
    REQUIRE(v[2] == DV_NNCASE_NCHW || v[2] == DV_NNCASE_NHWC,
            "nncase_reduce_window2d: layout must be 0 or 1");
    REQUIRE(v[3] >= 0 && v[3] < DV_NNCASE_REDUCE_LIMIT, "nncase_reduce_window2d: op must be 0..3");
    REQUIRE(shape4(v + 4, s, &count), "nncase_reduce_window2d: input shape: dims must be 1..2^24");
    int nchw = v[2] == DV_NNCASE_NCHW;
    *n = s[0], *c = nchw ? s[1] : s[3], *h = nchw ? s[2] : s[1], *w = nchw ? s[3] : s[2];
    REQUIRE(window_of(v + 8, *h, *w, win),
            "nncase_reduce_window2d: window: filter, stride, dilation 1..65535, padding within "
            "65535, and a positive output size");
    REQUIRE((uint64_t)*n * *c * (uint64_t)win->out_h * (uint64_t)win->out_w <= DV_MAX_ELEMS,
            "nncase_reduce_window2d: output: more than 2^30 elements");
    return NULL;
}

static const char *rwin_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 21, "nncase_reduce_window2d: takes 21 attributes");
    uint32_t n = 0, c = 0, h = 0, w = 0;
    window win;
    const char *why = rwin_geometry(a->v, &n, &c, &h, &w, &win);
    if (why)
        return why;
    REQUIRE(in_image(&in[1], a->v[0], (uint64_t)n * c * h * w * 4),
            "nncase_reduce_window2d: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], (uint64_t)n * c * (uint64_t)win.out_h * (uint64_t)win.out_w * 4),
            "nncase_reduce_window2d: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

/* One window: the reduction over the taps of (oy, ox) in channel ch. */
static float rwin_value(const dv_attrs *a, const int32_t *src, uint32_t n_i, uint32_t ch,
                        uint32_t c, uint32_t h, uint32_t w, const window *win, int64_t oy,
                        int64_t ox)
{
    const int32_t *v = a->v;
    int64_t y0, ys, ye, x0, xs, xe;
    taps(oy, win->sh, win->pad_t, win->dh, win->fh, h, &y0, &ys, &ye);
    taps(ox, win->sw, win->pad_l, win->dw, win->fw, w, &x0, &xs, &xe);
    float value = attr_f32(v[18]);
    int32_t k = 0;
    for (int64_t ky = ys; ky < ye; ky++)
        for (int64_t kx = xs; kx < xe; kx++) {
            uint64_t iy = (uint64_t)(y0 + win->dh * ky), ix = (uint64_t)(x0 + win->dw * kx);
            uint64_t at = v[2] == DV_NNCASE_NCHW ? (((uint64_t)n_i * c + ch) * h + iy) * w + ix
                                                 : (((uint64_t)n_i * h + iy) * w + ix) * c + ch;
            float x = ld_f32(src, (uint32_t)v[0] + 4 * (uint32_t)at);
            if (v[3] == DV_NNCASE_REDUCE_MIN)
                value = min_f(value, x);
            else if (v[3] == DV_NNCASE_REDUCE_MAX)
                value = max_f(value, x);
            else
                value = value + x;
            k++;
        }
    if (v[3] == DV_NNCASE_REDUCE_MEAN)
        value = value / (float)k;
    return clamp_f(value, attr_f32(v[19]), attr_f32(v[20]));
}

static void rwin_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    uint32_t n = 0, c = 0, h = 0, w = 0;
    window win;
    rwin_geometry(a->v, &n, &c, &h, &w, &win);
    uint32_t at = (uint32_t)a->v[1];
    dv_image_copy(out[0].data, &in[0]);
    if (a->v[2] == DV_NNCASE_NCHW) {
        for (uint32_t b = 0; b < n; b++)
            for (uint32_t ch = 0; ch < c; ch++)
                for (int64_t oy = 0; oy < win.out_h; oy++)
                    for (int64_t ox = 0; ox < win.out_w; ox++, at += 4)
                        st_f32(out[0].data, at, rwin_value(a, in[1].data, b, ch, c, h, w, &win, oy, ox));
        return;
    }
    for (uint32_t b = 0; b < n; b++)
        for (int64_t oy = 0; oy < win.out_h; oy++)
            for (int64_t ox = 0; ox < win.out_w; ox++)
                for (uint32_t ch = 0; ch < c; ch++, at += 4)
                    st_f32(out[0].data, at, rwin_value(a, in[1].data, b, ch, c, h, w, &win, oy, ox));
}

const dv_op_info dv_info_NNCASE_REDUCE_WINDOW2D = {"nncase_reduce_window2d", 2, 2, 1,
                                                   rwin_infer, rwin_run, NULL};

/* ==== MEMORY_COPY, TABLE_LOOKUP1D =========================================================
 *
 * NNCASE_MEMORY_COPY: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] count of 4-byte words
 * The 4 * count bytes from the input offset, copied to the output offset.
 *
 * NNCASE_TABLE_LOOKUP1D: dst, src, table -> dst'
 *   attrs: [0] input offset, [1] table offset, [2] output offset, [3] count
 * out[i] = table[in[i]] for count uint8 elements; the table holds 256 bytes. */
static const char *copy_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 3 && a->v[2] >= 0, "nncase_memory_copy: takes offsets and a count");
    REQUIRE(in_image(&in[1], a->v[0], 4 * (uint64_t)a->v[2]),
            "nncase_memory_copy: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], 4 * (uint64_t)a->v[2]),
            "nncase_memory_copy: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void copy_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t i = 0; i < 4 * (uint32_t)a->v[2]; i++)
        dv_image_put_u8(out[0].data, (uint32_t)a->v[1] + i,
                        dv_image_u8(in[1].data, (uint32_t)a->v[0] + i));
}

const dv_op_info dv_info_NNCASE_MEMORY_COPY = {"nncase_memory_copy", 2, 2, 1, copy_infer,
                                               copy_run, NULL};

static const char *lookup_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 4 && a->v[3] >= 0, "nncase_table_lookup1d: takes 3 offsets and a count");
    REQUIRE(in_image(&in[1], a->v[0], (uint64_t)a->v[3]),
            "nncase_table_lookup1d: input: bytes outside its image");
    REQUIRE(in_image(&in[2], a->v[1], 256), "nncase_table_lookup1d: table: 256 bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[2], (uint64_t)a->v[3]),
            "nncase_table_lookup1d: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void lookup_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t i = 0; i < (uint32_t)v[3]; i++) {
        uint8_t x = dv_image_u8(in[1].data, (uint32_t)v[0] + i);
        dv_image_put_u8(out[0].data, (uint32_t)v[2] + i, dv_image_u8(in[2].data, (uint32_t)v[1] + x));
    }
}

const dv_op_info dv_info_NNCASE_TABLE_LOOKUP1D = {"nncase_table_lookup1d", 3, 3, 1,
                                                  lookup_infer, lookup_run, NULL};

/* ==== RESIZE_IMAGE ========================================================================
 *
 * NNCASE_RESIZE_IMAGE: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] element bytes (1: uint8, 4: float32),
 *          [3..6] input shape (NCHW), [7] output h, [8] output w, [9] mode
 *          (enum dv_nncase_resize), [10] align corners (0 or 1)
 * Output n, c, out_h, out_w, in row-major order. Scales sh = (float)in_h / out_h (likewise
 * w); bilinear with align corners and out > 1: (float)(in - 1) / (out - 1).
 *  nearest: iy = min((int)floorf(oy * sh), in_h - 1), ix likewise; out = in[iy][ix].
 *  bilinear: fy = oy * sh, y0 = (int)floorf(fy), y1 = min(y0 + 1, in_h - 1) (x likewise);
 *   dy = fy - y0, dx = fx - x0; a0 = (1 - dy) * (1 - dx), a1 = dy * (1 - dx),
 *   a2 = (1 - dy) * dx, a3 = dy * dx; out = ((v00 a0 + v10 a1) + v01 a2) + v11 a3 with v_yx
 *   the input at (y0|y1, x0|x1), all in float; for uint8 the sum is converted as x86-64
 *   converts a float to uint8_t (truncation to int32, then its low byte).
 * y0 and x0 are clamped to the input (min(.., in - 1)); the reference would read past its
 * tensor there, which float rounding allows only for output sizes near 2^22 and more. */
static const char *resize_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 11, "nncase_resize_image: takes 11 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[2] == 1 || v[2] == 4, "nncase_resize_image: element bytes must be 1 or 4");
    REQUIRE(v[9] >= 0 && v[9] < DV_NNCASE_RESIZE_LIMIT, "nncase_resize_image: mode must be 0 or 1");
    REQUIRE(v[10] == 0 || v[10] == 1, "nncase_resize_image: align corners must be 0 or 1");
    uint32_t s[4];
    uint64_t count;
    REQUIRE(shape4(v + 3, s, &count), "nncase_resize_image: input shape: dims must be 1..2^24");
    REQUIRE(v[7] >= 1 && v[8] >= 1 && (uint32_t)v[7] <= DV_MAX_DIM && (uint32_t)v[8] <= DV_MAX_DIM,
            "nncase_resize_image: output size must be 1..2^24");
    uint64_t n_out_elems = (uint64_t)s[0] * s[1] * (uint64_t)v[7] * (uint64_t)v[8];
    REQUIRE(n_out_elems <= DV_MAX_ELEMS, "nncase_resize_image: output: more than 2^30 elements");
    REQUIRE(in_image(&in[1], v[0], count * (uint64_t)v[2]),
            "nncase_resize_image: input: bytes outside its image");
    REQUIRE(in_image(&in[0], v[1], n_out_elems * (uint64_t)v[2]),
            "nncase_resize_image: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

/* Element e of the input, as a float (uint8 or float32). */
static float resize_elem(const int32_t *img, uint32_t base, uint32_t elem, uint64_t e)
{
    if (elem == 1)
        return (float)dv_image_u8(img, base + (uint32_t)e);
    return ld_f32(img, base + 4 * (uint32_t)e);
}

/* (int)floorf(f) clamped to 0..limit. */
static uint32_t floor_index(float f, uint32_t limit)
{
    int32_t i = dv_f32_to_i32_x86(dv_floorf(f));
    if (i < 0)
        return 0;
    return (uint32_t)i > limit ? limit : (uint32_t)i;
}

static void resize_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t s[4];
    uint64_t count;
    shape4(v + 3, s, &count);
    uint32_t elem = (uint32_t)v[2], src = (uint32_t)v[0], at = (uint32_t)v[1];
    uint32_t in_h = s[2], in_w = s[3], out_h = (uint32_t)v[7], out_w = (uint32_t)v[8];
    float sh = (float)in_h / (float)out_h, sw = (float)in_w / (float)out_w;
    int bilinear = v[9] == DV_NNCASE_BILINEAR;
    if (bilinear && v[10] && out_h > 1)
        sh = (float)(in_h - 1) / (float)(out_h - 1);
    if (bilinear && v[10] && out_w > 1)
        sw = (float)(in_w - 1) / (float)(out_w - 1);
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t b = 0; b < s[0]; b++)
        for (uint32_t ch = 0; ch < s[1]; ch++) {
            uint64_t plane = ((uint64_t)b * s[1] + ch) * in_h * in_w;
            for (uint32_t oy = 0; oy < out_h; oy++)
                for (uint32_t ox = 0; ox < out_w; ox++, at += elem) {
                    float fy = (float)oy * sh, fx = (float)ox * sw;
                    float r;
                    if (!bilinear) {
                        uint32_t iy = floor_index(fy, in_h - 1), ix = floor_index(fx, in_w - 1);
                        copy_elem(out[0].data, at, in[1].data,
                                  src + elem * (uint32_t)(plane + (uint64_t)iy * in_w + ix), elem);
                        continue;
                    }
                    uint32_t y0 = floor_index(fy, in_h - 1), x0 = floor_index(fx, in_w - 1);
                    uint32_t y1 = y0 + 1 < in_h - 1 ? y0 + 1 : in_h - 1;
                    uint32_t x1 = x0 + 1 < in_w - 1 ? x0 + 1 : in_w - 1;
                    float v0 = resize_elem(in[1].data, src, elem, plane + (uint64_t)y0 * in_w + x0);
                    float v1 = resize_elem(in[1].data, src, elem, plane + (uint64_t)y1 * in_w + x0);
                    float v2 = resize_elem(in[1].data, src, elem, plane + (uint64_t)y0 * in_w + x1);
                    float v3 = resize_elem(in[1].data, src, elem, plane + (uint64_t)y1 * in_w + x1);
                    float dy = fy - (float)y0, dx = fx - (float)x0;
                    float ry = 1.0f - dy, rx = 1.0f - dx;
                    float a0 = ry * rx, a1 = dy * rx, a2 = ry * dx, a3 = dy * dx;
                    float p0 = v0 * a0, p1 = v1 * a1, p2 = v2 * a2, p3 = v3 * a3;
                    r = p0 + p1;
                    r = r + p2;
                    r = r + p3;
                    if (elem == 1)
                        dv_image_put_u8(out[0].data, at, (uint8_t)(uint32_t)dv_f32_to_i32_x86(r));
                    else
                        st_f32(out[0].data, at, r);
                }
        }
}

const dv_op_info dv_info_NNCASE_RESIZE_IMAGE = {"nncase_resize_image", 2, 2, 1, resize_infer,
                                                resize_run, NULL};

/* ==== SOFTMAX =============================================================================
 *
 * NNCASE_SOFTMAX: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] outer, [3] inner, [4] beta (bits)
 * float32, outer rows of inner elements. Per row: m = the first largest element
 * (std::max_element); sum = 0; for i in order: e = expf((x[i] - m) * beta) (dv_expf, equal to
 * glibc's), sum = sum + e, out[i] = e; then out[i] = out[i] / sum for i in order. */
static const char *softmax_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                 uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 5, "nncase_softmax: takes 5 attributes");
    REQUIRE(a->v[2] >= 1 && a->v[3] >= 1, "nncase_softmax: outer and inner must be positive");
    uint64_t n = (uint64_t)a->v[2] * (uint64_t)a->v[3];
    REQUIRE(n <= DV_MAX_ELEMS, "nncase_softmax: more than 2^30 elements");
    REQUIRE(in_image(&in[1], a->v[0], n * 4), "nncase_softmax: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], n * 4), "nncase_softmax: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void softmax_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                        dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t inner = (uint32_t)v[3];
    float beta = attr_f32(v[4]);
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t row = 0; row < (uint32_t)v[2]; row++) {
        uint32_t src = (uint32_t)v[0] + 4 * row * inner, dst = (uint32_t)v[1] + 4 * row * inner;
        float m = ld_f32(in[1].data, src);
        for (uint32_t i = 1; i < inner; i++) {
            float x = ld_f32(in[1].data, src + 4 * i);
            if (m < x)
                m = x;
        }
        float sum = 0.0f;
        for (uint32_t i = 0; i < inner; i++) {
            float d = ld_f32(in[1].data, src + 4 * i) - m;
            float e = dv_expf(d * beta);
            sum = sum + e;
            st_f32(out[0].data, dst + 4 * i, e);
        }
        for (uint32_t i = 0; i < inner; i++)
            st_f32(out[0].data, dst + 4 * i, ld_f32(out[0].data, dst + 4 * i) / sum);
    }
}

const dv_op_info dv_info_NNCASE_SOFTMAX = {"nncase_softmax", 2, 2, 1, softmax_infer,
                                           softmax_run, NULL};

/* ==== TRANSPOSE, STRIDED_SLICE ============================================================
 *
 * NNCASE_TRANSPOSE: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] element bytes (1 or 4), [3..6] input
 *          shape, [7..10] perm (a permutation of 0..3)
 * Output dim k is input dim perm[k]; out[o] = in[i] with i[perm[k]] = o[k]. Bytes copied.
 *
 * NNCASE_STRIDED_SLICE: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] element bytes, [3..6] input shape,
 *          [7..10] begin, [11..14] end, [15..18] strides (nonzero, |s| <= 2^24)
 * For d0 = begin0 while (s0 > 0 ? d0 < end0 : d0 > end0), d0 += s0 (then d1, d2, d3 inside,
 * likewise), the element in[d0][d1][d2][d3] is appended to the output. Every visited index
 * must lie inside the input. */
static const char *transpose_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                   uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 11, "nncase_transpose: takes 11 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[2] == 1 || v[2] == 4, "nncase_transpose: element bytes must be 1 or 4");
    uint32_t s[4];
    uint64_t count;
    REQUIRE(shape4(v + 3, s, &count), "nncase_transpose: input shape: dims must be 1..2^24");
    uint32_t seen = 0;
    for (int k = 0; k < 4; k++) {
        REQUIRE(v[7 + k] >= 0 && v[7 + k] < 4, "nncase_transpose: perm must be a permutation of 0..3");
        seen |= 1u << v[7 + k];
    }
    REQUIRE(seen == 15, "nncase_transpose: perm must be a permutation of 0..3");
    REQUIRE(in_image(&in[1], v[0], count * (uint64_t)v[2]),
            "nncase_transpose: input: bytes outside its image");
    REQUIRE(in_image(&in[0], v[1], count * (uint64_t)v[2]),
            "nncase_transpose: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void transpose_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                          dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t s[4], os[4], o[4], i[4];
    uint64_t count;
    shape4(v + 3, s, &count);
    for (int k = 0; k < 4; k++)
        os[k] = s[v[7 + k]];
    uint32_t elem = (uint32_t)v[2], src = (uint32_t)v[0], dst = (uint32_t)v[1];
    dv_image_copy(out[0].data, &in[0]);
    for (o[0] = 0; o[0] < os[0]; o[0]++)
        for (o[1] = 0; o[1] < os[1]; o[1]++)
            for (o[2] = 0; o[2] < os[2]; o[2]++)
                for (o[3] = 0; o[3] < os[3]; o[3]++) {
                    for (int k = 0; k < 4; k++)
                        i[v[7 + k]] = o[k];
                    uint32_t from = (uint32_t)offset4(s, i), to = (uint32_t)offset4(os, o);
                    copy_elem(out[0].data, dst + elem * to, in[1].data, src + elem * from, elem);
                }
}

const dv_op_info dv_info_NNCASE_TRANSPOSE = {"nncase_transpose", 2, 2, 1, transpose_infer,
                                             transpose_run, NULL};

/* The number of indices a strided loop visits (0 or more). */
static int64_t slice_count(int64_t begin, int64_t end, int64_t stride)
{
    if (stride > 0)
        return begin < end ? (end - begin + stride - 1) / stride : 0;
    return begin > end ? (begin - end - stride - 1) / -stride : 0;
}

static const char *slice_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 19, "nncase_strided_slice: takes 19 attributes");
    const int32_t *v = a->v;
    REQUIRE(v[2] == 1 || v[2] == 4, "nncase_strided_slice: element bytes must be 1 or 4");
    uint32_t s[4];
    uint64_t count, total = 1;
    REQUIRE(shape4(v + 3, s, &count), "nncase_strided_slice: input shape: dims must be 1..2^24");
    for (int k = 0; k < 4; k++) {
        int64_t b = v[7 + k], e = v[11 + k], st = v[15 + k];
        REQUIRE(st != 0 && st >= -(int64_t)DV_MAX_DIM && st <= DV_MAX_DIM,
                "nncase_strided_slice: strides must be nonzero, within 2^24");
        int64_t n = slice_count(b, e, st);
        if (n > 0) {
            int64_t last = b + (n - 1) * st;
            REQUIRE(b >= 0 && b < s[k] && last >= 0 && last < s[k],
                    "nncase_strided_slice: begin, end: the slice leaves the input");
        }
        total *= (uint64_t)n;
    }
    REQUIRE(in_image(&in[1], v[0], count * (uint64_t)v[2]),
            "nncase_strided_slice: input: bytes outside its image");
    REQUIRE(in_image(&in[0], v[1], total * (uint64_t)v[2]),
            "nncase_strided_slice: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void slice_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t s[4];
    uint64_t count;
    shape4(v + 3, s, &count);
    uint32_t elem = (uint32_t)v[2], src = (uint32_t)v[0], at = (uint32_t)v[1];
    int64_t n[4];
    for (int k = 0; k < 4; k++)
        n[k] = slice_count(v[7 + k], v[11 + k], v[15 + k]);
    dv_image_copy(out[0].data, &in[0]);
    uint32_t i[4];
    for (int64_t c0 = 0; c0 < n[0]; c0++)
        for (int64_t c1 = 0; c1 < n[1]; c1++)
            for (int64_t c2 = 0; c2 < n[2]; c2++)
                for (int64_t c3 = 0; c3 < n[3]; c3++, at += elem) {
                    int64_t c[4] = {c0, c1, c2, c3};
                    for (int k = 0; k < 4; k++)
                        i[k] = (uint32_t)(v[7 + k] + c[k] * v[15 + k]);
                    copy_elem(out[0].data, at, in[1].data, src + elem * (uint32_t)offset4(s, i), elem);
                }
}

const dv_op_info dv_info_NNCASE_STRIDED_SLICE = {"nncase_strided_slice", 2, 2, 1, slice_infer,
                                                 slice_run, NULL};

/* ==== UNARY ===============================================================================
 *
 * NNCASE_UNARY: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] count, [3] op (enum dv_nncase_unary)
 * count float32 elements: abs (clears the sign), ceil, cos, exp, floor, log, neg (flips the
 * sign), rsqrt = 1.0f / sqrtf(x), sin, square = x * x. exp is bit-identical to glibc's expf;
 * cos, sin and log are correctly rounded (glibc's may differ in the last bit; see
 * ops/nncase.h). */
static float unary_f(int32_t op, float x)
{
    switch (op) {
    case DV_NNCASE_ABS: return dv_f32_from_bits(dv_f32_bits(x) & 0x7fffffffu);
    case DV_NNCASE_CEIL: return dv_ceilf(x);
    case DV_NNCASE_COS: return dv_cosf(x);
    case DV_NNCASE_EXP: return dv_expf(x);
    case DV_NNCASE_FLOOR: return dv_floorf(x);
    case DV_NNCASE_LOG: return dv_logf(x);
    case DV_NNCASE_NEG: return dv_f32_from_bits(dv_f32_bits(x) ^ 0x80000000u);
    case DV_NNCASE_RSQRT: return 1.0f / dv_sqrtf(x);
    case DV_NNCASE_SIN: return dv_sinf(x);
    default: return x * x;
    }
}

static const char *unary_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 4, "nncase_unary: takes 4 attributes");
    REQUIRE(a->v[2] >= 0, "nncase_unary: count must not be negative");
    REQUIRE(a->v[3] >= 0 && a->v[3] < DV_NNCASE_UNARY_LIMIT, "nncase_unary: op must be 0..9");
    REQUIRE(in_image(&in[1], a->v[0], 4 * (uint64_t)a->v[2]),
            "nncase_unary: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], 4 * (uint64_t)a->v[2]),
            "nncase_unary: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static void unary_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t i = 0; i < (uint32_t)v[2]; i++)
        st_f32(out[0].data, (uint32_t)v[1] + 4 * i,
               unary_f(v[3], ld_f32(in[1].data, (uint32_t)v[0] + 4 * i)));
}

const dv_op_info dv_info_NNCASE_UNARY = {"nncase_unary", 2, 2, 1, unary_infer, unary_run, NULL};

/* ==== CONV2D_TRANSPOSE ====================================================================
 *
 * NNCASE_CONV2D_TRANSPOSE: dst, src, weights -> dst'
 *   attrs: [0] input offset, [1] output offset, [2..5] input shape, [6..9] output shape
 *          (NCHW, same batch), [10] groups (dividing both channel counts), [11..20] window
 *          (as NNCASE_CONV2D), [21] activation min, [22] activation max (float bits)
 * float32; weights [out_c][in_c / groups][fh][fw]. The output is first all +0.0; then for
 * n, group g, input channel ic of the group, iy, ix (input order), for each output channel
 * oc of the group and each tap (ky, kx) inside the output:
 *   out[n][g g_oc + oc][iy sh - pad_t + dh ky][ix sw - pad_l + dw kx] += x * w
 * (product rounded, then the sum). Last, unless min is -FLT_MAX and max is FLT_MAX, every
 * output element is clamped. The reference reads a bias but never adds it; so neither does
 * this op. */
static const char *tconv_geometry(const int32_t *v, uint32_t *si, uint32_t *so, window *w)
{
    uint64_t ni, no;
    REQUIRE(shape4(v + 2, si, &ni), "nncase_conv2d_transpose: input shape: dims must be 1..2^24");
    REQUIRE(shape4(v + 6, so, &no), "nncase_conv2d_transpose: output shape: dims must be 1..2^24");
    REQUIRE(si[0] == so[0], "nncase_conv2d_transpose: input and output batches differ");
    REQUIRE(v[10] >= 1 && si[1] % (uint32_t)v[10] == 0 && so[1] % (uint32_t)v[10] == 0,
            "nncase_conv2d_transpose: groups must divide both channel counts");
    /* the output size is given, not derived as for a convolution: only the parameter
     * ranges are checked */
    for (int i = 0; i < 4; i++)
        REQUIRE(v[11 + i] >= -WINDOW_LIMIT && v[11 + i] <= WINDOW_LIMIT,
                "nncase_conv2d_transpose: paddings must be within 65535");
    for (int i = 4; i < WINDOW_ATTRS; i++)
        REQUIRE(v[11 + i] >= 1 && v[11 + i] <= WINDOW_LIMIT,
                "nncase_conv2d_transpose: filter, stride, dilation must be 1..65535");
    w->pad_t = v[11], w->pad_b = v[12], w->pad_l = v[13], w->pad_r = v[14];
    w->fh = v[15], w->fw = v[16], w->sh = v[17], w->sw = v[18], w->dh = v[19], w->dw = v[20];
    w->out_h = so[2], w->out_w = so[3];
    /* input positions times strides stay inside int32, as the reference computes them */
    REQUIRE(((int64_t)si[2] - 1) * w->sh + WINDOW_LIMIT < INT32_MAX &&
                ((int64_t)si[3] - 1) * w->sw + WINDOW_LIMIT < INT32_MAX,
            "nncase_conv2d_transpose: input size times stride is too large");
    return NULL;
}

static const char *tconv_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                               uint32_t n_out, dv_shape *out)
{
    REQUIRE(a->n == 23, "nncase_conv2d_transpose: takes 23 attributes");
    uint32_t si[4], so[4];
    window w;
    const char *why = tconv_geometry(a->v, si, so, &w);
    if (why)
        return why;
    uint64_t weights = (uint64_t)so[1] * (si[1] / (uint32_t)a->v[10]) * (uint64_t)w.fh * w.fw;
    REQUIRE(in_image(&in[1], a->v[0], (uint64_t)si[0] * si[1] * si[2] * si[3] * 4),
            "nncase_conv2d_transpose: input: bytes outside its image");
    REQUIRE(in_image(&in[0], a->v[1], (uint64_t)so[0] * so[1] * so[2] * so[3] * 4),
            "nncase_conv2d_transpose: output: bytes outside its image");
    REQUIRE(holds(&in[2], weights * 4), "nncase_conv2d_transpose: weights: too few");
    out[0] = in[0];
    return NULL;
}

static void tconv_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t si[4], so[4];
    window w;
    tconv_geometry(v, si, so, &w);
    uint32_t groups = (uint32_t)v[10], g_ic = si[1] / groups, g_oc = so[1] / groups;
    uint32_t src = (uint32_t)v[0], dst = (uint32_t)v[1];
    uint64_t total = (uint64_t)so[0] * so[1] * so[2] * so[3];
    int32_t *o = out[0].data;
    dv_image_copy(o, &in[0]);
    for (uint64_t i = 0; i < total; i++)
        dv_image_put_u32(o, dst + 4 * (uint32_t)i, 0);
    uint32_t at = src;
    int64_t y0, ys, ye, x0, xs, xe;
    for (uint32_t b = 0; b < si[0]; b++)
        for (uint32_t g = 0; g < groups; g++)
            for (uint32_t ic = 0; ic < g_ic; ic++)
                for (int64_t iy = 0; iy < si[2]; iy++)
                    for (int64_t ix = 0; ix < si[3]; ix++, at += 4) {
                        taps(iy, w.sh, w.pad_t, w.dh, w.fh, so[2], &y0, &ys, &ye);
                        taps(ix, w.sw, w.pad_l, w.dw, w.fw, so[3], &x0, &xs, &xe);
                        float x = ld_f32(in[1].data, at);
                        for (uint32_t oc = 0; oc < g_oc; oc++) {
                            uint64_t plane = ((uint64_t)b * so[1] + g * g_oc + oc) * so[2];
                            uint64_t filt = (((uint64_t)g * g_oc + oc) * g_ic + ic) * (uint64_t)w.fh;
                            for (int64_t ky = ys; ky < ye; ky++)
                                for (int64_t kx = xs; kx < xe; kx++) {
                                    uint64_t oy = (uint64_t)(y0 + w.dh * ky), ox = (uint64_t)(x0 + w.dw * kx);
                                    uint32_t to = dst + 4 * (uint32_t)((plane + oy) * so[3] + ox);
                                    float k = ld_f32(in[2].data, 4 * (uint32_t)((filt + (uint64_t)ky) * (uint64_t)w.fw + (uint64_t)kx));
                                    float p = x * k;
                                    st_f32(o, to, ld_f32(o, to) + p);
                                }
                        }
                    }
    float lo = attr_f32(v[21]), hi = attr_f32(v[22]);
    if (lo != -0x1.fffffep127f || hi != 0x1.fffffep127f)
        for (uint64_t i = 0; i < total; i++)
            st_f32(o, dst + 4 * (uint32_t)i, clamp_f(ld_f32(o, dst + 4 * (uint32_t)i), lo, hi));
}

const dv_op_info dv_info_NNCASE_CONV2D_TRANSPOSE = {"nncase_conv2d_transpose", 3, 3, 1,
                                                    tconv_infer, tconv_run, NULL};

/* ==== NNIL_UNARY_METHOD ===================================================================
 *
 * NNCASE_NNIL_UNARY: dst, src -> dst'
 *   attrs: [0] input offset, [1] output offset, [2] count, [3] n, then n instructions as
 *          (opcode, operand) pairs (enum dv_nnil_op; the operand is the float bits of
 *          ldc_r4's constant, 0 for the others)
 * For each of count float32 elements x, the program runs on an empty float stack of 64:
 * lda_0 pushes x, ldc_r4_0 / ldc_r4_1 / ldc_r4 push 0, 1, the constant; dup, pop; the unary
 * ops replace the top (abs, ceil, cos, exp, floor, log, neg, rsqrt, sin, square, as
 * NNCASE_UNARY); add, sub, mul, div, min, max pop b then a and push a op b (min, max as
 * std::min, std::max); clamp pops high, low, v and pushes std::clamp(v, low, high); ret pops
 * the result into the output and ends the element. A program without ret leaves the output
 * element unchanged. infer refuses programs that would underflow or overflow the stack or
 * hold an unknown opcode before their ret. */
static int nnil_effect(int32_t op, int *pops, int *pushes)
{
    switch (op) {
    case DV_NNIL_NOP: *pops = 0, *pushes = 0; return 1;
    case DV_NNIL_DUP: *pops = 1, *pushes = 2; return 1;
    case DV_NNIL_POP: *pops = 1, *pushes = 0; return 1;
    case DV_NNIL_LDA_0: case DV_NNIL_LDC_R4_0: case DV_NNIL_LDC_R4_1: case DV_NNIL_LDC_R4:
        *pops = 0, *pushes = 1; return 1;
    case DV_NNIL_ABS: case DV_NNIL_CEIL: case DV_NNIL_COS: case DV_NNIL_EXP: case DV_NNIL_FLOOR:
    case DV_NNIL_LOG: case DV_NNIL_NEG: case DV_NNIL_RSQRT: case DV_NNIL_SIN: case DV_NNIL_SQUARE:
        *pops = 1, *pushes = 1; return 1;
    case DV_NNIL_ADD: case DV_NNIL_SUB: case DV_NNIL_MUL: case DV_NNIL_DIV: case DV_NNIL_MIN:
    case DV_NNIL_MAX:
        *pops = 2, *pushes = 1; return 1;
    case DV_NNIL_CLAMP: *pops = 3, *pushes = 1; return 1;
    case DV_NNIL_RET: *pops = 1, *pushes = 0; return 1;
    default: return 0;
    }
}

static const char *nnil_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    const int32_t *v = a->v;
    REQUIRE(a->n >= 4 && v[3] >= 0 && v[3] <= DV_NNIL_MAX_OPS && a->n == 4 + 2 * (uint32_t)v[3],
            "nncase_nnil_unary: takes offsets, count, n and n (opcode, operand) pairs");
    REQUIRE(v[2] >= 0, "nncase_nnil_unary: count must not be negative");
    int depth = 0;
    for (int32_t i = 0; i < v[3]; i++) {
        int32_t op = v[4 + 2 * i];
        int pops, pushes;
        REQUIRE(nnil_effect(op, &pops, &pushes), "nncase_nnil_unary: program: unknown opcode");
        REQUIRE(op == DV_NNIL_LDC_R4 || v[5 + 2 * i] == 0,
                "nncase_nnil_unary: program: only ldc_r4 has an operand");
        REQUIRE(depth >= pops, "nncase_nnil_unary: program: the stack underflows");
        depth += pushes - pops;
        REQUIRE(depth <= DV_NNIL_STACK, "nncase_nnil_unary: program: the stack overflows");
        if (op == DV_NNIL_RET)
            break;
    }
    REQUIRE(in_image(&in[1], v[0], 4 * (uint64_t)v[2]),
            "nncase_nnil_unary: input: bytes outside its image");
    REQUIRE(in_image(&in[0], v[1], 4 * (uint64_t)v[2]),
            "nncase_nnil_unary: output: bytes outside its image");
    out[0] = in[0];
    return NULL;
}

static float nnil_unary(int32_t op, float x)
{
    switch (op) {
    case DV_NNIL_ABS: return unary_f(DV_NNCASE_ABS, x);
    case DV_NNIL_CEIL: return unary_f(DV_NNCASE_CEIL, x);
    case DV_NNIL_COS: return unary_f(DV_NNCASE_COS, x);
    case DV_NNIL_EXP: return unary_f(DV_NNCASE_EXP, x);
    case DV_NNIL_FLOOR: return unary_f(DV_NNCASE_FLOOR, x);
    case DV_NNIL_LOG: return unary_f(DV_NNCASE_LOG, x);
    case DV_NNIL_NEG: return unary_f(DV_NNCASE_NEG, x);
    case DV_NNIL_RSQRT: return unary_f(DV_NNCASE_RSQRT, x);
    case DV_NNIL_SIN: return unary_f(DV_NNCASE_SIN, x);
    default: return unary_f(DV_NNCASE_SQUARE, x);
    }
}

static void nnil_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    dv_image_copy(out[0].data, &in[0]);
    for (uint32_t e = 0; e < (uint32_t)v[2]; e++) {
        float x = ld_f32(in[1].data, (uint32_t)v[0] + 4 * e);
        float st[DV_NNIL_STACK];
        int top = 0;
        for (int32_t i = 0; i < v[3]; i++) {
            int32_t op = v[4 + 2 * i];
            float p, q, r;
            switch (op) {
            case DV_NNIL_NOP: break;
            case DV_NNIL_DUP: st[top] = st[top - 1]; top++; break;
            case DV_NNIL_POP: top--; break;
            case DV_NNIL_LDA_0: st[top++] = x; break;
            case DV_NNIL_LDC_R4_0: st[top++] = 0.0f; break;
            case DV_NNIL_LDC_R4_1: st[top++] = 1.0f; break;
            case DV_NNIL_LDC_R4: st[top++] = attr_f32(v[5 + 2 * i]); break;
            case DV_NNIL_ADD: case DV_NNIL_SUB: case DV_NNIL_MUL: case DV_NNIL_DIV:
            case DV_NNIL_MIN: case DV_NNIL_MAX:
                q = st[--top];
                p = st[--top];
                st[top++] = binary_f(op - DV_NNIL_ADD, p, q);
                break;
            case DV_NNIL_CLAMP:
                r = st[--top];
                q = st[--top];
                p = st[--top];
                st[top++] = clamp_f(p, q, r);
                break;
            case DV_NNIL_RET:
                st_f32(out[0].data, (uint32_t)v[1] + 4 * e, st[--top]);
                i = v[3];
                break;
            default:
                st[top - 1] = nnil_unary(op, st[top - 1]);
                break;
            }
        }
    }
}

const dv_op_info dv_info_NNCASE_NNIL_UNARY = {"nncase_nnil_unary", 2, 2, 1, nnil_infer,
                                              nnil_run, NULL};
