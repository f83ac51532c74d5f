/* Static checks of a loaded module (detvm verify): the overflow proof, the shapes, the memory
 * plan and the gas, and the constructs outside the determinism contract (DESIGN.md), each
 * reported as one finding per line. See static_check.h for how the overflow proof composes.
 *
 * Bounds are taken over every summation order: an accumulator's bound is the largest and
 * smallest value any partial sum can reach (the sum of the positive and of the negative parts
 * of its terms), so it holds for every SIMD or threaded variant too. The reference kernels
 * wrap modulo 2^32 where the CVM's formal semantics or TFLite's int32 would overflow; a bound
 * beyond the type is still a failed check, because the model then leaves the contract its
 * source runtime defines (CVM precision inference, TFLite's int32 arithmetic). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/nn_attrs.h"
#include "../ops/qnn_attrs.h"
#include "../ops/quant.h"
#include "../vm/error.h"
#include "../vm/module.h"
#include "../vm/module_format.h"
#include "static_check.h"

/* ---- saturating bound arithmetic --------------------------------------------------------- */

static int is_huge(int64_t v) { return v == SC_HUGE || v == -SC_HUGE; }

/* Once a bound saturates it stays saturated: "beyond int64" never comes back into range. */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (is_huge(a))
        return a;
    if (is_huge(b))
        return b;
    if (b > 0 && a > SC_HUGE - b)
        return SC_HUGE;
    if (b < 0 && a < -SC_HUGE - b)
        return -SC_HUGE;
    return a + b;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    int negative = (a < 0) != (b < 0);
    uint64_t ua = a < 0 ? (uint64_t)-a : (uint64_t)a, ub = b < 0 ? (uint64_t)-b : (uint64_t)b;
    if (ua == (uint64_t)SC_HUGE || ub == (uint64_t)SC_HUGE || ua > (uint64_t)SC_HUGE / ub)
        return negative ? -SC_HUGE : SC_HUGE;
    return negative ? -(int64_t)(ua * ub) : (int64_t)(ua * ub);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static sc_range range_of(int64_t lo, int64_t hi) { return (sc_range){lo, hi}; }
static sc_range point(int64_t v) { return (sc_range){v, v}; }

static sc_range r_add(sc_range a, sc_range b)
{
    return range_of(sat_add(a.lo, b.lo), sat_add(a.hi, b.hi));
}

static sc_range r_sub(sc_range a, sc_range b)
{
    return range_of(sat_add(a.lo, -b.hi), sat_add(a.hi, -b.lo));
}

static sc_range r_mul(sc_range a, sc_range b)
{
    int64_t p[4] = {sat_mul(a.lo, b.lo), sat_mul(a.lo, b.hi), sat_mul(a.hi, b.lo),
                    sat_mul(a.hi, b.hi)};
    sc_range r = point(p[0]);
    for (int i = 1; i < 4; i++)
        r = range_of(min64(r.lo, p[i]), max64(r.hi, p[i]));
    return r;
}

static sc_range r_union(sc_range a, sc_range b)
{
    return range_of(min64(a.lo, b.lo), max64(a.hi, b.hi));
}

static sc_range r_with_zero(sc_range a) { return r_union(a, point(0)); }

/* n copies of a value of range a added up, n >= 0. */
static sc_range r_times(sc_range a, uint64_t n)
{
    int64_t k = n > (uint64_t)SC_HUGE ? SC_HUGE : (int64_t)n;
    return range_of(sat_mul(a.lo, k), sat_mul(a.hi, k));
}

/* a * 2^shift, 0 <= shift <= 62. */
static sc_range r_shl(sc_range a, int shift)
{
    return r_times(a, (uint64_t)1 << shift);
}

/* The formal back end's clip (ops/elemwise.c) applied to every value of a. */
static sc_range r_clip(sc_range a, int64_t lo, int64_t hi)
{
    return range_of(min64(max64(a.lo, lo), hi), min64(max64(a.hi, lo), hi));
}

/* floor(v / 2^n), 0 <= n <= 62. */
static int64_t floor_shift(int64_t v, int n)
{
    if (is_huge(v))
        return v;
    return v >= 0 ? v >> n : -((-v + ((int64_t)1 << n) - 1) >> n);
}

static int64_t magnitude(sc_range a)
{
    return max64(a.lo < 0 ? -a.lo : a.lo, a.hi < 0 ? -a.hi : a.hi);
}

static int fits_bits(sc_range a, uint32_t bits)
{
    int64_t top = bits >= 64 ? SC_HUGE - 1 : ((int64_t)1 << (bits - 1)) - 1;
    int64_t bottom = bits >= 64 ? -SC_HUGE + 1 : -((int64_t)1 << (bits - 1));
    return a.lo >= bottom && a.hi <= top;
}

/* +-(2^(p-1) - 1), the values a CVM precision of p bits holds. */
static sc_range precision_range(uint32_t p)
{
    int64_t top = ((int64_t)1 << (p - 1)) - 1;
    return range_of(-top, top);
}

/* ---- operand ranges ---------------------------------------------------------------------- */

static const vm_tensor *tensor_of(const detvm_module *m, const vm_instr *ins, uint32_t j)
{
    return &m->tensors[ins->operands[j]];
}

static int is_constant(const vm_tensor *t) { return t->storage == DVM_STORAGE_CONST; }

static sc_range dtype_range(uint32_t dtype)
{
    switch (dtype) {
    case DVM_DTYPE_INT8: return range_of(INT8_MIN, INT8_MAX);
    case DVM_DTYPE_UINT8: return range_of(0, UINT8_MAX);
    case DVM_DTYPE_INT16: return range_of(INT16_MIN, INT16_MAX);
    default: return range_of(INT32_MIN, INT32_MAX);
    }
}

static sc_range range_of_tensor(const detvm_module *m, const vm_tensor *t)
{
    if (is_constant(t)) {
        uint64_t n = dv_shape_size(&t->shape);
        sc_range r = point(t->const_data[0]);
        for (uint64_t i = 1; i < n; i++)
            r = r_union(r, point(t->const_data[i]));
        return r;
    }
    return m->source_format == DVM_SOURCE_CVM ? precision_range(t->precision)
                                               : dtype_range(t->dtype);
}

sc_range sc_tensor_range(const detvm_module *m, uint32_t tensor)
{
    return range_of_tensor(m, &m->tensors[tensor]);
}

static sc_range operand_range(const detvm_module *m, const vm_instr *ins, uint32_t j)
{
    return range_of_tensor(m, tensor_of(m, ins, j));
}

/* ---- bounds of the ops ------------------------------------------------------------------- */

static void add_stage(sc_bounds *b, const char *what, sc_range bound, uint32_t bits)
{
    if (b->n_stages < SC_MAX_STAGES)
        b->stage[b->n_stages++] = (sc_stage){what, bound, bits};
}

static void set_output(sc_bounds *b, uint32_t o, sc_range r)
{
    b->output_known[o] = 1;
    b->output[o] = r;
}

/* A weighted sum per output channel: conv2d, dense and the TFLite convolutions and fully
 * connected layer. Channel c's terms are (w[c * channel_stride + i * tap_stride] + w_offset)
 * * x for i < taps, x any value of the data range; then bias[c] is added. */
typedef struct {
    const vm_tensor *w;
    int32_t w_offset;
    sc_range x;                 /* the data, its offset included */
    uint64_t channels, taps, channel_stride, tap_stride;
    const vm_tensor *bias;      /* NULL without a bias */
    int padded;                 /* some taps fall in the padding and are left out */
    const vm_tensor *shift;     /* TFLite double rounding: the per-channel shifts, else NULL */
} dot_desc;

typedef struct {
    sc_range acc;               /* every partial sum, bias included, in any order */
    sc_range value;             /* every finished sum */
    sc_range rescaled;          /* finished sums times 2^shift where shift > 0 */
    int any_rescale;
} dot_bounds;

/* The left shift dv_multiply_by_quantized_multiplier applies before its multiply under
 * double rounding (none under single rounding, whose product is taken in 64 bits). */
static int left_shift_of(int64_t shift, int32_t rounding)
{
    if (rounding != DV_ROUND_DOUBLE || shift <= 0)
        return 0;
    return shift > 30 ? 30 : (int)shift;
}

static void dot_channel(const detvm_module *m, const dot_desc *d, uint64_t c, sc_range *neg_pos,
                        sc_range *sum)
{
    *neg_pos = point(0);
    *sum = point(0);
    if (!is_constant(d->w)) {
        sc_range term = r_mul(r_add(range_of_tensor(m, d->w), point(d->w_offset)), d->x);
        *sum = r_times(term, d->taps);
        *neg_pos = r_times(r_with_zero(term), d->taps);
        return;
    }
    const int32_t *w = d->w->const_data + c * d->channel_stride;
    for (uint64_t i = 0; i < d->taps; i++) {
        int64_t weight = (int64_t)w[i * d->tap_stride] + d->w_offset;
        sc_range term = r_mul(point(weight), d->x);
        *sum = r_add(*sum, term);
        *neg_pos = r_add(*neg_pos, r_with_zero(term));
    }
}

static dot_bounds dot_product_bounds(const detvm_module *m, const dot_desc *d, int32_t rounding)
{
    dot_bounds out = {{0, 0}, {0, 0}, {0, 0}, 0};
    sc_range bias_all = d->bias && !is_constant(d->bias) ? range_of_tensor(m, d->bias) : point(0);
    sc_range shift_all = d->shift && !is_constant(d->shift) ? range_of_tensor(m, d->shift)
                                                             : point(0);
    for (uint64_t c = 0; c < d->channels; c++) {
        sc_range neg_pos, sum;
        dot_channel(m, d, c, &neg_pos, &sum);
        sc_range bias = d->bias && is_constant(d->bias) ? point(d->bias->const_data[c]) : bias_all;
        sc_range acc = r_add(r_with_zero(bias), neg_pos);
        sc_range value = r_add(bias, d->padded ? neg_pos : sum);
        out.acc = c ? r_union(out.acc, acc) : acc;
        out.value = c ? r_union(out.value, value) : value;
        if (d->shift) {
            int64_t shift = is_constant(d->shift) ? d->shift->const_data[c] : shift_all.hi;
            int left = left_shift_of(shift, rounding);
            if (left > 0) {
                sc_range r = r_shl(value, left);
                out.rescaled = out.any_rescale ? r_union(out.rescaled, r) : r;
                out.any_rescale = 1;
            }
        }
        if (!is_constant(d->w))
            break; /* every channel is alike */
    }
    return out;
}

static void report_dot(sc_bounds *b, const dot_bounds *d, int tflite, int32_t act_min,
                       int32_t act_max)
{
    add_stage(b, "accumulator", d->acc, 32);
    if (d->any_rescale)
        add_stage(b, "rescale", d->rescaled, 32);
    set_output(b, 0, tflite ? range_of(act_min, act_max) : d->value);
}

static void conv2d_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const int32_t *a = ins->attrs.v;
    const vm_tensor *w = tensor_of(m, ins, 1);
    uint64_t taps = dv_shape_size(&w->shape) / w->shape.dim[0];
    dot_desc d = {
        .w = w, .x = operand_range(m, ins, 0), .channels = w->shape.dim[0], .taps = taps,
        .channel_stride = taps, .tap_stride = 1,
        .bias = a[CONV_USE_BIAS] ? tensor_of(m, ins, 2) : NULL,
        .padded = a[CONV_PAD_TOP] || a[CONV_PAD_LEFT] || a[CONV_PAD_BOTTOM] || a[CONV_PAD_RIGHT],
    };
    dot_bounds r = dot_product_bounds(m, &d, 0);
    report_dot(b, &r, 0, 0, 0);
}

static void dense_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const vm_tensor *w = tensor_of(m, ins, 1);
    dot_desc d = {
        .w = w, .x = operand_range(m, ins, 0), .channels = w->shape.dim[0],
        .taps = w->shape.dim[1], .channel_stride = w->shape.dim[1], .tap_stride = 1,
        .bias = ins->attrs.v[DENSE_USE_BIAS] ? tensor_of(m, ins, 2) : NULL,
    };
    dot_bounds r = dot_product_bounds(m, &d, 0);
    report_dot(b, &r, 0, 0, 0);
}

/* The TFLite kernels' attribute layouts, as documented at each kernel in ops/qnn.c. */

static void qconv_bounds(const detvm_module *m, const vm_instr *ins, int depthwise, sc_bounds *b)
{
    const int32_t *a = ins->attrs.v;
    const vm_tensor *f = tensor_of(m, ins, 1);
    uint64_t out_channels = depthwise ? f->shape.dim[3] : f->shape.dim[0];
    uint64_t per_channel = dv_shape_size(&f->shape) / (depthwise ? 1 : out_channels);
    dot_desc d = {
        .w = f, .x = r_add(operand_range(m, ins, 0), point(a[QC_INPUT_OFFSET])),
        .channels = out_channels,
        .taps = depthwise ? (uint64_t)f->shape.dim[1] * f->shape.dim[2] : per_channel,
        .channel_stride = depthwise ? 1 : per_channel,
        .tap_stride = depthwise ? out_channels : 1, .bias = tensor_of(m, ins, 2),
        .padded = a[QC_PAD_TOP] || a[QC_PAD_LEFT] || a[QC_PAD_BOTTOM] || a[QC_PAD_RIGHT],
        .shift = tensor_of(m, ins, 4),
    };
    dot_bounds r = dot_product_bounds(m, &d, a[QC_ROUNDING]);
    report_dot(b, &r, 1, a[QC_ACT_MIN], a[QC_ACT_MAX]);
}

static void qfully_connected_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const int32_t *a = ins->attrs.v;
    const vm_tensor *w = tensor_of(m, ins, 1);
    dot_desc d = {
        .w = w, .w_offset = a[QFC_FILTER_OFFSET],
        .x = r_add(operand_range(m, ins, 0), point(a[QFC_INPUT_OFFSET])),
        .channels = w->shape.dim[0], .taps = w->shape.dim[1],
        .channel_stride = w->shape.dim[1], .tap_stride = 1, .bias = tensor_of(m, ins, 2),
        .shift = tensor_of(m, ins, 4),
    };
    dot_bounds r = dot_product_bounds(m, &d, a[QFC_ROUNDING]);
    report_dot(b, &r, 1, a[QFC_ACT_MIN], a[QFC_ACT_MAX]);
}

/* Elements folded into one output element by a reduction (input size / output size). */
static uint64_t fold_count(const detvm_module *m, const vm_instr *ins)
{
    return dv_shape_size(&tensor_of(m, ins, 0)->shape) /
           dv_shape_size(&tensor_of(m, ins, ins->n_in)->shape);
}

/* QMEAN: the sum, the sum less the zero point's share (TFLite casts it to int32), and the left
 * shift of its requantization, with the 1/count folded into the shift as the kernel does. */
static void qmean_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const int32_t *a = ins->attrs.v;
    uint64_t count = fold_count(m, ins);
    sc_range x = operand_range(m, ins, 0);
    add_stage(b, "sum", r_times(r_with_zero(x), count), 32);
    sc_range centered = r_times(r_sub(x, point(a[QM_INPUT_ZERO_POINT])), count);
    add_stage(b, "centered sum", centered, 32);
    int e = 0;
    while (e < 62 && ((uint64_t)1 << (e + 1)) <= count)
        e++;
    e = (int)min64(e, min64(32, 31 + (int64_t)a[QM_SHIFT]));
    int left = left_shift_of((int64_t)a[QM_SHIFT] - e, a[QM_ROUNDING]);
    if (left > 0)
        add_stage(b, "rescale", r_shl(centered, left), 32);
    set_output(b, 0, range_of(-128, 127));
}

/* What dv_multiply_by_quantized_multiplier_smaller_than_one can give for x in r: at most
 * |x| * multiplier / 2^(31 - shift), plus one for each of its two roundings. */
static sc_range scaled_down(sc_range r, int32_t multiplier, int32_t shift)
{
    int64_t x = min64(magnitude(r), (int64_t)1 << 31);
    int e = 31 - (shift > 0 ? 0 : shift < -31 ? -31 : shift);
    int64_t top = (int64_t)(((uint64_t)x * (uint64_t)(uint32_t)multiplier) >> e) + 2;
    return range_of(-top, top);
}

/* QADD, QSUB: both inputs shifted left onto a common scale, scaled down, then added. */
static void qaddsub_bounds(const detvm_module *m, const vm_instr *ins, int subtract,
                           sc_bounds *b)
{
    const int32_t *v = ins->attrs.v;
    int left = (int)min64(max64(v[6], 0), 30);
    sc_range sa = r_shl(r_sub(operand_range(m, ins, 0), point(v[0])), left);
    sc_range sb = r_shl(r_sub(operand_range(m, ins, 1), point(v[3])), left);
    add_stage(b, "shifted inputs", r_union(sa, sb), 32);
    sc_range da = scaled_down(sa, v[1], v[2]), db = scaled_down(sb, v[4], v[5]);
    add_stage(b, subtract ? "difference" : "sum", subtract ? r_sub(da, db) : r_add(da, db), 32);
    set_output(b, 0, range_of(v[10], v[11]));
}

static void qmul_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const int32_t *v = ins->attrs.v;
    sc_range product = r_mul(r_sub(operand_range(m, ins, 0), point(v[0])),
                             r_sub(operand_range(m, ins, 1), point(v[1])));
    add_stage(b, "product", product, 32);
    int left = left_shift_of(v[3], v[7]);
    if (left > 0)
        add_stage(b, "rescale", r_shl(product, left), 32);
    set_output(b, 0, range_of(v[5], v[6]));
}

/* QREQUANTIZE and QLEAKY_RELU: x - zero point, scaled with a left shift when it is positive. */
static void qrescale_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const int32_t *v = ins->attrs.v;
    sc_range d = r_sub(operand_range(m, ins, 0), point(v[0]));
    if (ins->opcode == DV_OP_QREQUANTIZE) {
        int left = left_shift_of(v[2], v[6]);
        if (left > 0)
            add_stage(b, "rescale", r_shl(d, left), 32);
        set_output(b, 0, range_of(v[4], v[5]));
        return;
    }
    int left_pos = left_shift_of(v[3], v[7]), left_neg = left_shift_of(v[5], v[7]);
    sc_range pos = range_of(max64(d.lo, 0), max64(d.hi, 0));
    sc_range neg = range_of(min64(d.lo, 0), min64(d.hi, 0));
    if (left_pos > 0 || left_neg > 0)
        add_stage(b, "rescale", r_union(r_shl(pos, left_pos), r_shl(neg, left_neg)), 32);
    set_output(b, 0, range_of(-128, 127));
}

/* NON_MAX_SUPPRESSION's IoU: box extents (x_max - x_min) in int32, and the sum of two areas
 * in int64 (ops/vision.c). */
static void nms_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    sc_range boxes = operand_range(m, ins, 0);
    sc_range extent = r_sub(boxes, boxes);
    add_stage(b, "box extents", extent, 32);
    add_stage(b, "box area sum", r_times(r_mul(extent, extent), 2), 64);
    set_output(b, 0, r_union(boxes, point(-1)));
}

static void right_shift_bounds(sc_range x, const int32_t *a, sc_bounds *b)
{
    int shift = a[1];
    sc_range t = range_of(floor_shift(x.lo, shift - 1), floor_shift(x.hi, shift - 1));
    t = r_add(t, point(1));
    add_stage(b, "rounding", t, 32);
    sc_range y = range_of(floor_shift(t.lo, 1), floor_shift(t.hi, 1));
    int64_t alpha = precision_range((uint32_t)a[0]).hi;
    set_output(b, 0, r_clip(y, -alpha, alpha));
}

/* MAX_POOL2D (attributes a) gives INT32_MIN for a window wholly in the padding (ops/nn.c). */
static int pool_window_outside(const int32_t *a, const dv_shape *x, const dv_shape *y)
{
    for (int axis = 0; axis < 2; axis++) {
        int64_t pad = a[POOL_PAD_TOP + axis], window = a[POOL_H + axis];
        int64_t stride = a[POOL_STRIDE_H + axis];
        int64_t in = x->dim[2 + axis], out = y->dim[2 + axis];
        if (pad >= window || (out - 1) * stride - pad >= in)
            return 1;
    }
    return 0;
}

/* The fused ops (ops/nn.c, "the fused ops"): the op's stages, then the shift's on its output,
 * then the activation's clip, then CONV2D_SHIFT_MAX_POOL's pool; the op's output is never
 * stored, so only its stages count. */
static void fused_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    uint32_t own = 0;
    if (ins->opcode == DV_OP_CONV2D_SHIFT || ins->opcode == DV_OP_CONV2D_SHIFT_MAX_POOL) {
        conv2d_bounds(m, ins, b);
        own = CONV_N_ATTRS;
    } else if (ins->opcode == DV_OP_DENSE_SHIFT) {
        dense_bounds(m, ins, b);
        own = DENSE_N_ATTRS;
    } else {
        sc_range sum = r_add(operand_range(m, ins, 0), operand_range(m, ins, 1));
        add_stage(b, "sum", sum, 32);
        set_output(b, 0, sum);
    }
    const int32_t *e = ins->attrs.v + own;
    right_shift_bounds(b->output[0], e, b);
    sc_range y = b->output[0];
    if (e[EPI_ACT] == DV_OP_RELU) {
        y = range_of(max64(y.lo, 0), max64(y.hi, 0));
    } else if (e[EPI_ACT] == DV_OP_CLIP) {
        y = r_clip(y, e[EPI_ACT_A], e[EPI_ACT_B]);
    } else if (e[EPI_ACT] == DV_OP_CVM_CLIP) {
        int64_t alpha = precision_range((uint32_t)e[EPI_ACT_A]).hi;
        y = r_clip(y, -alpha, alpha);
    }
    if (ins->opcode == DV_OP_CONV2D_SHIFT_MAX_POOL) {
        /* the pool's input is the conv's output, which the module does not hold: infer it */
        dv_shape in[3], conv;
        for (uint32_t j = 0; j < ins->n_in && j < 3; j++)
            in[j] = tensor_of(m, ins, j)->shape;
        const dv_attrs conv_attrs = {ins->attrs.v, CONV_N_ATTRS + EPI_N_ATTRS};
        if (dv_op_lookup(DV_OP_CONV2D_SHIFT)->infer(&conv_attrs, ins->n_in, in, 1, &conv) ||
            pool_window_outside(e + EPI_N_ATTRS, &conv, &tensor_of(m, ins, ins->n_in)->shape))
            y = r_union(y, point(INT32_MIN));
    }
    set_output(b, 0, y);
}

/* Every value of an output that copies its input's values (transforms, pooling, where...). */
static sc_range union_of_inputs(const detvm_module *m, const vm_instr *ins, uint32_t first,
                                uint32_t last)
{
    sc_range r = operand_range(m, ins, first);
    for (uint32_t j = first + 1; j <= last; j++)
        r = r_union(r, operand_range(m, ins, j));
    return r;
}


/* The ops with nothing beyond their operands' ranges to prove: only output ranges. */
static void copy_bounds(const detvm_module *m, const vm_instr *ins, sc_bounds *b)
{
    const int32_t *a = ins->attrs.v;
    sc_range x = operand_range(m, ins, 0);
    switch (ins->opcode) {
    case DV_OP_ABS:
        set_output(b, 0, x.lo >= 0 ? x : x.hi <= 0 ? range_of(-x.hi, -x.lo)
                                                   : range_of(0, magnitude(x)));
        break;
    case DV_OP_NEGATIVE: set_output(b, 0, range_of(-x.hi, -x.lo)); break;
    case DV_OP_RELU: set_output(b, 0, range_of(max64(x.lo, 0), max64(x.hi, 0))); break;
    case DV_OP_CLIP: set_output(b, 0, r_clip(x, a[0], a[1])); break;
    case DV_OP_CVM_CLIP: {
        int64_t alpha = precision_range((uint32_t)a[0]).hi;
        set_output(b, 0, r_clip(x, -alpha, alpha));
        break;
    }
    case DV_OP_CVM_PRECISION: {
        int64_t mag = magnitude(x), bits = 1;
        while (bits < 64 && (mag >> bits) != 0)
            bits++;
        set_output(b, 0, range_of(1, max64(bits, 1)));
        break;
    }
    case DV_OP_BROADCAST_DIV: set_output(b, 0, range_of(-magnitude(x), magnitude(x))); break;
    case DV_OP_BROADCAST_GREATER: set_output(b, 0, range_of(0, 1)); break;
    case DV_OP_BROADCAST_MAX: {
        sc_range y = operand_range(m, ins, 1);
        set_output(b, 0, range_of(max64(x.lo, y.lo), max64(x.hi, y.hi)));
        break;
    }
    case DV_OP_WHERE: set_output(b, 0, union_of_inputs(m, ins, 1, 2)); break;
    case DV_OP_MAX_POOL2D:
        set_output(b, 0, pool_window_outside(a, &tensor_of(m, ins, 0)->shape,
                                             &tensor_of(m, ins, 1)->shape)
                             ? r_union(x, point(INT32_MIN))
                             : x);
        break;
    case DV_OP_MAX: set_output(b, 0, r_with_zero(x)); break;
    case DV_OP_CONCATENATE: set_output(b, 0, union_of_inputs(m, ins, 0, ins->n_in - 1)); break;
    case DV_OP_CVM_LUT: set_output(b, 0, operand_range(m, ins, 1)); break;
    case DV_OP_PAD: set_output(b, 0, r_union(x, point(a[0]))); break;
    case DV_OP_GET_VALID_COUNTS:
        set_output(b, 0, range_of(0, tensor_of(m, ins, 0)->shape.dim[1]));
        set_output(b, 1, r_union(x, point(-1)));
        break;
    case DV_OP_QMAX_POOL2D:
    case DV_OP_QAVG_POOL2D: set_output(b, 0, range_of(a[QP_ACT_MIN], a[QP_ACT_MAX])); break;
    case DV_OP_UPSAMPLING: case DV_OP_FLATTEN: case DV_OP_RESHAPE: case DV_OP_EXPAND_DIMS:
    case DV_OP_SQUEEZE: case DV_OP_TRANSPOSE: case DV_OP_REPEAT: case DV_OP_TILE:
    case DV_OP_STRIDED_SLICE: case DV_OP_SLICE_LIKE: case DV_OP_TAKE:
        set_output(b, 0, x);
        break;
    default: break; /* the TFLite lookup-style ops: their outputs are clamped to int8 */
    }
}

void sc_instr_bounds(const detvm_module *m, uint32_t k, sc_bounds *b)
{
    memset(b, 0, sizeof *b);
    const vm_instr *ins = &m->instrs[k];
    const int32_t *a = ins->attrs.v;
    switch (ins->opcode) {
    case DV_OP_CONV2D: conv2d_bounds(m, ins, b); return;
    case DV_OP_DENSE: dense_bounds(m, ins, b); return;
    case DV_OP_QCONV2D: qconv_bounds(m, ins, 0, b); return;
    case DV_OP_QDEPTHWISE_CONV2D: qconv_bounds(m, ins, 1, b); return;
    case DV_OP_QFULLY_CONNECTED: qfully_connected_bounds(m, ins, b); return;
    case DV_OP_QMEAN: qmean_bounds(m, ins, b); return;
    case DV_OP_QADD: qaddsub_bounds(m, ins, 0, b); return;
    case DV_OP_QSUB: qaddsub_bounds(m, ins, 1, b); return;
    case DV_OP_QMUL: qmul_bounds(m, ins, b); return;
    case DV_OP_QREQUANTIZE: case DV_OP_QLEAKY_RELU: qrescale_bounds(m, ins, b); return;
    case DV_OP_NON_MAX_SUPPRESSION: nms_bounds(m, ins, b); return;
    case DV_OP_QAVG_POOL2D: {
        uint64_t window = (uint64_t)a[QP_FILTER_H] * (uint64_t)a[QP_FILTER_W];
        add_stage(b, "window sum", r_times(r_with_zero(operand_range(m, ins, 0)), window), 32);
        copy_bounds(m, ins, b);
        return;
    }
    case DV_OP_SUM: {
        sc_range x = operand_range(m, ins, 0);
        uint64_t count = fold_count(m, ins);
        add_stage(b, "accumulator", r_times(r_with_zero(x), count), 32);
        set_output(b, 0, r_times(x, count));
        return;
    }
    case DV_OP_ELEMWISE_ADD: case DV_OP_BROADCAST_ADD:
    case DV_OP_ELEMWISE_SUB: case DV_OP_BROADCAST_SUB:
    case DV_OP_BROADCAST_MUL: {
        sc_range x = operand_range(m, ins, 0), y = operand_range(m, ins, 1);
        int add = ins->opcode == DV_OP_ELEMWISE_ADD || ins->opcode == DV_OP_BROADCAST_ADD;
        int mul = ins->opcode == DV_OP_BROADCAST_MUL;
        sc_range r = mul ? r_mul(x, y) : add ? r_add(x, y) : r_sub(x, y);
        add_stage(b, mul ? "product" : add ? "sum" : "difference", r, 32);
        set_output(b, 0, r);
        return;
    }
    case DV_OP_CVM_LEFT_SHIFT: {
        /* shift_bit 32 shifts every bit out: t = 0 */
        sc_range t = a[1] >= 32 ? point(0) : r_shl(operand_range(m, ins, 0), a[1]);
        add_stage(b, "shift", t, 32);
        int64_t alpha = precision_range((uint32_t)a[0]).hi;
        set_output(b, 0, r_clip(t, -alpha, alpha));
        return;
    }
    case DV_OP_CVM_RIGHT_SHIFT: right_shift_bounds(operand_range(m, ins, 0), a, b); return;
    case DV_OP_CONV2D_SHIFT: case DV_OP_DENSE_SHIFT: case DV_OP_ELEMWISE_ADD_SHIFT:
    case DV_OP_CONV2D_SHIFT_MAX_POOL:
        fused_bounds(m, ins, b);
        return;
    default: copy_bounds(m, ins, b); return;
    }
}

/* ---- reporting --------------------------------------------------------------------------- */

static const char *const section_names[] = {"overflow", "shapes", "memory", "gas", "contract"};

typedef struct {
    const detvm_module *m;
    detvm_finding_fn fn;
    void *user;
    detvm_verify_summary sum;
    char first_failure[200];
} reporter;

/* One finding. `instr` is the instruction it is about (or -1), `bound` NULL unless the
 * finding holds a bound, and `fail_word` what a failed check says ("FAILED", or
 * "CAN OVERFLOW"). The line ends in ": ok" or ": <fail_word>" for checks; notes end as
 * written. */
static void emit(reporter *r, detvm_verify_section section, detvm_finding_result result,
                 int64_t instr, const char *what, const sc_range *bound, uint32_t limit_bits,
                 const char *fail_word, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static void emit(reporter *r, detvm_verify_section section, detvm_finding_result result,
                 int64_t instr, const char *what, const sc_range *bound, uint32_t limit_bits,
                 const char *fail_word, const char *fmt, ...)
{
    /* the body may be cut short (a layer name can be long), the verdict never is */
    char text[640];
    const size_t body_cap = sizeof text - 24;
    size_t used = 0;
    const vm_instr *ins = instr >= 0 ? &r->m->instrs[instr] : NULL;
    if (ins)
        used = (size_t)snprintf(text, body_cap, "step %lld %s %s: ", (long long)instr,
                                ins->op->name, ins->name);
    if (used < body_cap) {
        va_list ap;
        va_start(ap, fmt);
        used += (size_t)vsnprintf(text + used, body_cap - used, fmt, ap);
        va_end(ap);
    }
    if (used >= body_cap)
        used = body_cap - 1;
    if (result != DETVM_FINDING_NOTE)
        snprintf(text + used, sizeof text - used, ": %s",
                 result == DETVM_FINDING_OK ? "ok" : fail_word);
    dv_one_line(text);
    if (result == DETVM_FINDING_NOTE) {
        r->sum.notes++;
    } else {
        r->sum.checks++;
        if (result == DETVM_FINDING_FAILED && r->sum.failed++ == 0)
            snprintf(r->first_failure, sizeof r->first_failure, "%s: %.180s",
                     section_names[section], text);
    }
    if (!r->fn)
        return;
    detvm_finding f = {
        .section = section, .section_name = section_names[section], .result = result,
        .instruction = instr, .op = ins ? ins->op->name : "", .name = ins ? ins->name : "",
        .what = what, .has_bound = bound != NULL, .lo = bound ? bound->lo : 0,
        .hi = bound ? bound->hi : 0, .limit_bits = limit_bits, .text = text,
    };
    r->fn(r->user, &f);
}

static void bound_text(int64_t v, char *buf, size_t cap)
{
    if (v == SC_HUGE || v == -SC_HUGE)
        snprintf(buf, cap, "%s2^63", v < 0 ? "-" : "");
    else
        snprintf(buf, cap, "%lld", (long long)v);
}

static void range_text(sc_range r, char *buf, size_t cap)
{
    char lo[32], hi[32];
    bound_text(r.lo, lo, sizeof lo);
    bound_text(r.hi, hi, sizeof hi);
    snprintf(buf, cap, "[%s, %s]", lo, hi);
}

static void shape_text(const dv_shape *s, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (uint32_t d = 0; d < s->ndim && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, d ? ",%u" : "%u", s->dim[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, ")");
}

/* Section 1: each arithmetic step against its type, and (CVM) each output against its
 * declared precision. */
static void check_overflow(reporter *r)
{
    const detvm_module *m = r->m;
    int cvm = m->source_format == DVM_SOURCE_CVM;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const vm_instr *ins = &m->instrs[k];
        sc_bounds b;
        sc_instr_bounds(m, k, &b);
        for (uint32_t s = 0; s < b.n_stages; s++) {
            const sc_stage *st = &b.stage[s];
            char range[80];
            range_text(st->bound, range, sizeof range);
            int ok = fits_bits(st->bound, st->bits);
            emit(r, DETVM_VERIFY_OVERFLOW, ok ? DETVM_FINDING_OK : DETVM_FINDING_FAILED, k,
                 st->what, &st->bound, st->bits, "CAN OVERFLOW", "%s %s %s int%u", st->what,
                 range, ok ? "within" : "exceeds", st->bits);
        }
        if (!cvm)
            continue;
        for (uint32_t o = 0; o < ins->n_out; o++) {
            const vm_tensor *t = &m->tensors[ins->operands[ins->n_in + o]];
            char range[80], limit[32], which[16] = "";
            if (!b.output_known[o])
                continue;
            if (ins->n_out > 1)
                snprintf(which, sizeof which, " %u", o);
            range_text(b.output[o], range, sizeof range);
            sc_range allowed = precision_range(t->precision);
            bound_text(allowed.hi, limit, sizeof limit);
            int ok = b.output[o].lo >= allowed.lo && b.output[o].hi <= allowed.hi;
            emit(r, DETVM_VERIFY_OVERFLOW, ok ? DETVM_FINDING_OK : DETVM_FINDING_FAILED, k,
                 "output precision", &b.output[o], t->precision, "FAILED",
                 "output%s %s %s precision %u (+-%s)", which, range,
                 ok ? "within" : "exceeds", t->precision, limit);
        }
    }
}

/* Section 2a: every instruction's shapes, re-inferred by the op's own infer. */
static void check_shapes(reporter *r)
{
    const detvm_module *m = r->m;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const vm_instr *ins = &m->instrs[k];
        dv_shape in[DV_MAX_OP_INPUTS], out[DV_MAX_OP_OUTPUTS];
        char text[480] = "", shape[96];
        size_t used = 0;
        for (uint32_t j = 0; j < ins->n_in; j++)
            in[j] = m->tensors[ins->operands[j]].shape;
        for (uint32_t j = 0; j < ins->n_in + ins->n_out && used < sizeof text; j++) {
            shape_text(&m->tensors[ins->operands[j]].shape, shape, sizeof shape);
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%s",
                                     j == ins->n_in ? " -> " : j ? " " : "", shape);
        }
        const char *why = ins->op->infer(&ins->attrs, ins->n_in, in, ins->n_out, out);
        int ok = !why;
        for (uint32_t o = 0; ok && o < ins->n_out; o++)
            ok = dv_shape_equal(&out[o], &m->tensors[ins->operands[ins->n_in + o]].shape);
        emit(r, DETVM_VERIFY_SHAPES, ok ? DETVM_FINDING_OK : DETVM_FINDING_FAILED, k, "shape",
             NULL, 0, "FAILED", "%s%s%s", text, why ? " (" : "", why ? why : "");
    }
}

/* When each arena tensor is live, in steps of time: 0 is the start (the input), k + 1 the
 * instruction k that writes it, n + 1 the end (the model outputs). */
typedef struct {
    uint32_t id, born, dies;
    uint64_t begin, end;        /* arena bytes */
} lifetime;

static void live_text(const lifetime *l, uint32_t n_instrs, char *buf, size_t cap)
{
    char from[32], to[32];
    snprintf(from, sizeof from, l->born == 0 ? "the start" : "step %u", l->born - 1);
    snprintf(to, sizeof to, l->dies > n_instrs ? "the end" : "step %u", l->dies - 1);
    if (l->dies == l->born)
        snprintf(buf, cap, "live at %s only (never read)", from);
    else
        snprintf(buf, cap, "live from %s to %s", from, to);
}

#define MAX_OVERLAP_LINES 10

/* In order of birth, then of tensor index. */
static int by_birth(const void *a, const void *b)
{
    const lifetime *x = a, *y = b;
    if (x->born != y->born)
        return x->born < y->born ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Section 2b: the arena, each arena tensor's place and lifetime, and that no two tensors
 * live at the same time share a byte (a sweep over time keeping the live tensors). */
static detvm_status check_memory(reporter *r, detvm_error *err)
{
    const detvm_module *m = r->m;
    lifetime *life = calloc(m->n_tensors + 1, sizeof *life);
    lifetime **live = calloc(m->n_tensors + 1, sizeof *live);
    /* born[t]: 1 + the time t is written (0: never); dies[t]: the last time it is needed */
    uint32_t *born = calloc(m->n_tensors + 1, sizeof *born);
    uint32_t *dies = calloc(m->n_tensors + 1, sizeof *dies);
    if (!life || !live || !born || !dies) {
        free(life);
        free(live);
        free(born);
        free(dies);
        return dv_fail(err, DETVM_ERUNTIME, "verify: out of memory for the memory plan");
    }
    vm_lifetimes(m, born, dies);
    uint32_t n_life = 0;
    uint64_t tensor_bytes = 0;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const vm_tensor *vt = &m->tensors[t];
        if (vt->storage != DVM_STORAGE_ARENA || !born[t])
            continue;
        uint64_t bytes = vm_tensor_bytes(vt);
        life[n_life++] = (lifetime){t, born[t] - 1, dies[t] > born[t] - 1 ? dies[t] : born[t] - 1,
                                    vt->offset, vt->offset + bytes};
        tensor_bytes += bytes;
    }
    qsort(life, n_life, sizeof *life, by_birth);
    uint32_t n_live = 0, overlaps = 0;
    uint64_t live_bytes = 0, peak = 0;
    const lifetime *pair[MAX_OVERLAP_LINES][2];
    for (uint32_t i = 0; i < n_life; i++) {
        lifetime *l = &life[i];
        uint32_t kept = 0;
        for (uint32_t j = 0; j < n_live; j++) {
            if (live[j]->dies >= l->born)
                live[kept++] = live[j];
            else
                live_bytes -= live[j]->end - live[j]->begin;
        }
        n_live = kept;
        for (uint32_t j = 0; j < n_live; j++) {
            const lifetime *o = live[j];
            if (o->begin >= l->end || l->begin >= o->end)
                continue;
            if (overlaps < MAX_OVERLAP_LINES) {
                pair[overlaps][0] = o;
                pair[overlaps][1] = l;
            }
            overlaps++;
        }
        live[n_live++] = l;
        live_bytes += l->end - l->begin;
        if (live_bytes > peak)
            peak = live_bytes;
    }
    emit(r, DETVM_VERIFY_MEMORY, DETVM_FINDING_NOTE, -1, "arena", NULL, 0, "",
         "arena %llu bytes, scratch %llu bytes; %u arena tensors of %llu bytes in all, at most "
         "%llu bytes live at once",
         (unsigned long long)m->arena_bytes, (unsigned long long)m->scratch_bytes, n_life,
         (unsigned long long)tensor_bytes, (unsigned long long)peak);
    /* the tensors in order of birth, each with its place and lifetime */
    for (uint32_t i = 0; i < n_life; i++) {
        char when[96];
        live_text(&life[i], m->n_instrs, when, sizeof when);
        emit(r, DETVM_VERIFY_MEMORY, DETVM_FINDING_NOTE, -1, "tensor", NULL, 0, "",
             "t%u %s: offset %llu, %llu bytes, %s", life[i].id, m->tensors[life[i].id].name,
             (unsigned long long)life[i].begin, (unsigned long long)(life[i].end - life[i].begin),
             when);
    }
    for (uint32_t i = 0; i < overlaps && i < MAX_OVERLAP_LINES; i++) {
        const lifetime *a = pair[i][0], *b = pair[i][1];
        char when[48];
        snprintf(when, sizeof when, b->born == 0 ? "at the start" : "at step %u", b->born - 1);
        emit(r, DETVM_VERIFY_MEMORY, DETVM_FINDING_FAILED, -1, "overlap", NULL, 0, "FAILED",
             "t%u %s [%llu, %llu) and t%u %s [%llu, %llu) share bytes while both live %s",
             a->id, m->tensors[a->id].name, (unsigned long long)a->begin,
             (unsigned long long)a->end, b->id, m->tensors[b->id].name,
             (unsigned long long)b->begin, (unsigned long long)b->end, when);
    }
    if (overlaps > MAX_OVERLAP_LINES)
        emit(r, DETVM_VERIFY_MEMORY, DETVM_FINDING_FAILED, -1, "overlap", NULL, 0, "FAILED",
             "%u more pairs of live tensors share bytes", overlaps - MAX_OVERLAP_LINES);
    else if (overlaps == 0)
        emit(r, DETVM_VERIFY_MEMORY, DETVM_FINDING_OK, -1, "overlap", NULL, 0, "FAILED",
             "no two tensors live at the same time share a byte");
    free(life);
    free(live);
    free(born);
    free(dies);
    return DETVM_OK;
}

/* Section 2c: each layer's gas, and for CVM modules that the total is the layers' gas plus
 * the memory cost of the variables (5 per element of the input and of each constant, as
 * loader/cvm_gas.c charges them). */
static void check_gas(reporter *r)
{
    const detvm_module *m = r->m;
    if (!m->layer_gas) {
        emit(r, DETVM_VERIFY_GAS, DETVM_FINDING_NOTE, -1, "gas", NULL, 0, "",
             "total %llu; the module records no gas per layer", (unsigned long long)m->gas);
        return;
    }
    uint64_t layers = 0, variables = 0;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        uint64_t gas = dvm_u64(m->layer_gas + 8ull * k);
        layers += gas;
        emit(r, DETVM_VERIFY_GAS, DETVM_FINDING_NOTE, k, "layer gas", NULL, 0, "", "%llu",
             (unsigned long long)gas);
    }
    if (m->source_format != DVM_SOURCE_CVM) {
        emit(r, DETVM_VERIFY_GAS, DETVM_FINDING_NOTE, -1, "gas", NULL, 0, "",
             "total %llu, layers %llu", (unsigned long long)m->gas, (unsigned long long)layers);
        return;
    }
    for (uint32_t t = 0; t < m->n_tensors; t++)
        if (t == m->input || m->tensors[t].storage == DVM_STORAGE_CONST)
            variables += dv_shape_size(&m->tensors[t].shape) * 5;
    int ok = layers + variables == m->gas;
    emit(r, DETVM_VERIFY_GAS, ok ? DETVM_FINDING_OK : DETVM_FINDING_FAILED, -1, "gas", NULL, 0,
         "FAILED", "total %llu %s layers %llu + variables %llu (5 per element of the input and "
         "the constants)",
         (unsigned long long)m->gas, ok ? "=" : "!=", (unsigned long long)layers,
         (unsigned long long)variables);
}

/* Per-channel requantization parameters of the TFLite kernels (inputs 3 and 4): constants
 * in QuantizeMultiplier's range, multiplier >= 0 and shift in [-31, 30]; the kernels give a
 * defined result outside it (ops/quant.h clamps the shift), but not TFLite's. */
static void check_requantization(reporter *r, uint32_t k)
{
    const detvm_module *m = r->m;
    const vm_instr *ins = &m->instrs[k];
    const vm_tensor *mult = tensor_of(m, ins, 3), *shift = tensor_of(m, ins, 4);
    if (!is_constant(mult) || !is_constant(shift)) {
        emit(r, DETVM_VERIFY_CONTRACT, DETVM_FINDING_FAILED, k, "requantization", NULL, 0,
             "FAILED", "multipliers and shifts are not constants");
        return;
    }
    sc_range rm = range_of_tensor(m, mult), rs = range_of_tensor(m, shift);
    int ok = rm.lo >= 0 && rs.lo >= -31 && rs.hi <= 30;
    emit(r, DETVM_VERIFY_CONTRACT, ok ? DETVM_FINDING_OK : DETVM_FINDING_FAILED, k,
         "requantization", NULL, 0, "FAILED",
         "multipliers [%lld, %lld], shifts [%lld, %lld] within TFLite's range (>= 0, -31..30)",
         (long long)rm.lo, (long long)rm.hi, (long long)rs.lo, (long long)rs.hi);
}

/* Section 3: what lies outside the determinism contract. */
static void check_contract(reporter *r)
{
    const detvm_module *m = r->m;
    if (m->source_format != DVM_SOURCE_CVM && m->source_format != DVM_SOURCE_TFLITE &&
        m->source_format != DVM_SOURCE_KMODEL)
        emit(r, DETVM_VERIFY_CONTRACT, DETVM_FINDING_FAILED, -1, "source", NULL, 0, "FAILED",
             "source format %u is unknown: no contract defines its arithmetic",
             m->source_format);
    for (uint32_t k = 0; k < m->n_instrs; k++)
        if (dv_op_is_float(m->instrs[k].opcode))
            emit(r, DETVM_VERIFY_CONTRACT, DETVM_FINDING_NOTE, k, "float layer", NULL, 0, "",
                 "%s computes in IEEE-754 single precision, in its declared order and without "
                 "contraction: outside the integer contract", m->instrs[k].op->name);
    for (uint32_t i = 0; detvm_module_warning(m, i); i++)
        emit(r, DETVM_VERIFY_CONTRACT, DETVM_FINDING_FAILED, -1, "warning", NULL, 0,
             "FAILED", "compiler warning: %s; outside the contract",
             detvm_module_warning(m, i));
    for (uint32_t b = 0; m->has_io_quant && b <= m->n_outputs; b++) {
        if (!(m->io_quant[b].flags & DVM_IO_FLOAT_IN_SOURCE))
            continue;
        char role[32];
        snprintf(role, sizeof role, b == 0 ? "input" : "output %u", b - 1);
        emit(r, DETVM_VERIFY_CONTRACT, DETVM_FINDING_NOTE, -1, "float boundary", NULL, 0, "",
             "%s: float32 in the source model; the module is integer-only, and converting at "
             "this boundary (--float-io, detvm_quantize/detvm_dequantize: scale %.9g, zero "
             "point %d) is float arithmetic outside the integer contract",
             role, (double)m->io_quant[b].scale, m->io_quant[b].zero_point);
    }
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        uint32_t op = m->instrs[k].opcode;
        if (op == DV_OP_QCONV2D || op == DV_OP_QDEPTHWISE_CONV2D || op == DV_OP_QFULLY_CONNECTED)
            check_requantization(r, k);
    }
    if (m->rounding >= 0)
        emit(r, DETVM_VERIFY_CONTRACT, DETVM_FINDING_NOTE, -1, "rounding", NULL, 0, "",
             "requantization rounds as %s", m->rounding == DV_ROUND_DOUBLE
                                                 ? "TFLite Micro's default (double rounding)"
                                                 : "TFLite's single-rounding build");
}

detvm_status detvm_verify_module(const detvm_module *module, detvm_finding_fn fn, void *user,
                                 detvm_verify_summary *summary, detvm_error *err)
{
    reporter r = {.m = module, .fn = fn, .user = user};
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!module)
        return dv_fail(err, DETVM_EINVALID, "verify: no module given");
    check_overflow(&r);
    check_shapes(&r);
    detvm_status st = check_memory(&r, err);
    if (st)
        return st;
    check_gas(&r);
    check_contract(&r);
    if (summary)
        *summary = r.sum;
    if (r.sum.failed)
        return dv_fail(err, DETVM_EINVALID, "verify: %u of %u checks failed; the first: %s",
                       r.sum.failed, r.sum.checks, r.first_failure);
    return DETVM_OK;
}
