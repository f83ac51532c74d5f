/* Multiply-accumulates per instruction (include/detvm.h lists what each op counts), for
 * benchmarks: GMAC/s is a model's MACs over its time. Counted from the shapes and attributes
 * that validation accepted, the way published figures count a layer: every window tap, padding
 * included, once per output element. */
#include "../ops/kpu.h"
#include "../ops/nn_attrs.h"
#include "module.h"

/* a * b, saturating at UINT64_MAX */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t mul_sat4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    return mul_sat(mul_sat(a, b), mul_sat(c, d));
}

static uint64_t dim(const detvm_module *m, const vm_instr *ins, uint32_t operand, uint32_t d)
{
    const dv_shape *s = &m->tensors[ins->operands[operand]].shape;
    return d < s->ndim ? s->dim[d] : 1;
}

static uint64_t out_size(const detvm_module *m, const vm_instr *ins)
{
    return dv_shape_size(&m->tensors[ins->operands[ins->n_in]].shape);
}

/* CONV2D_SHIFT_MAX_POOL: the elements of the conv's output, which the pool then reads (its
 * attributes begin with CONV2D_SHIFT's). */
static uint64_t pooled_conv_size(const detvm_module *m, const vm_instr *ins)
{
    dv_shape in[3], conv;
    for (uint32_t j = 0; j < ins->n_in && j < 3; j++)
        in[j] = m->tensors[ins->operands[j]].shape;
    const dv_attrs attrs = {ins->attrs.v, CONV_N_ATTRS + EPI_N_ATTRS};
    const dv_op_info *op = dv_op_lookup(DV_OP_CONV2D_SHIFT);
    return ins->n_in <= 3 && !op->infer(&attrs, ins->n_in, in, 1, &conv) ? dv_shape_size(&conv)
                                                                        : 0;
}

/* nncase's output extent of a window (ops/nncase.c, window_of): attrs pad_before, pad_after,
 * filter, stride, dilation, with C's truncating division; 0 when it is not positive. */
static uint64_t window_extent(int64_t in, int64_t pad_before, int64_t pad_after, int64_t filter,
                              int64_t stride, int64_t dilation)
{
    if (stride < 1 || filter < 1 || dilation < 1)
        return 0;
    int64_t n = (in + pad_before + pad_after - ((filter - 1) * dilation + 1) + stride) / stride;
    return n > 0 ? (uint64_t)n : 0;
}

static uint64_t u(int32_t v) { return v > 0 ? (uint64_t)v : 0; }

/* NNCASE_CONV2D and NNCASE_QUANTIZED_CONV2D: [2] layout, [3..6] input shape, [7] groups,
 * [8] output channels, [9..18] window (pads h, w; filter h, w; stride h, w; dilation h, w). */
static uint64_t nncase_conv_macs(const int32_t *v)
{
    int nchw = v[2] == 0;
    uint64_t n = u(v[3]), c = u(nchw ? v[4] : v[6]), h = u(nchw ? v[5] : v[4]),
             w = u(nchw ? v[6] : v[5]), groups = u(v[7]), oc = u(v[8]);
    if (groups == 0)
        return 0;
    uint64_t oh = window_extent((int64_t)h, v[9], v[10], v[13], v[15], v[17]);
    uint64_t ow = window_extent((int64_t)w, v[11], v[12], v[14], v[16], v[18]);
    return mul_sat(mul_sat4(n, oc, oh, ow), mul_sat4(c / groups, u(v[13]), u(v[14]), 1));
}

uint64_t detvm_layer_macs(const detvm_module *m, uint32_t index)
{
    if (!m || index >= m->n_instrs)
        return 0;
    const vm_instr *ins = &m->instrs[index];
    const int32_t *v = ins->attrs.v;
    switch (ins->opcode) {
    case DV_OP_CONV2D: /* weight (channels, C/groups, KH, KW) */
    case DV_OP_CONV2D_SHIFT:
    case DV_OP_CONV2D_SHIFT_MAX_POOL: /* the conv's, not the pool's */
        return mul_sat(ins->opcode == DV_OP_CONV2D_SHIFT_MAX_POOL ? pooled_conv_size(m, ins)
                                                                  : out_size(m, ins),
                       mul_sat4(dim(m, ins, 1, 1), dim(m, ins, 1, 2), dim(m, ins, 1, 3), 1));
    case DV_OP_DENSE: /* weight (units, K) */
    case DV_OP_DENSE_SHIFT:
        return mul_sat(out_size(m, ins), dim(m, ins, 1, 1));
    case DV_OP_QCONV2D: /* filter (O, KH, KW, IC) */
        return mul_sat(out_size(m, ins),
                       mul_sat4(dim(m, ins, 1, 1), dim(m, ins, 1, 2), dim(m, ins, 1, 3), 1));
    case DV_OP_QDEPTHWISE_CONV2D: /* filter (1, KH, KW, C*M) */
        return mul_sat(out_size(m, ins), mul_sat(dim(m, ins, 1, 1), dim(m, ins, 1, 2)));
    case DV_OP_QFULLY_CONNECTED: /* weights (O, D) */
        return mul_sat(out_size(m, ins), dim(m, ins, 1, 1));
    case DV_OP_BROADCAST_MUL:
    case DV_OP_QMUL:
        return out_size(m, ins);
    case DV_OP_KPU_CONV2D:
    case DV_OP_KPU_CONV2D_OUT: {
        if (ins->attrs.n < DV_KPU_CONV_ATTRS)
            return 0;
        dv_kpu_layer l;
        dv_kpu_decode(v, &l);
        uint64_t taps = mul_sat4(l.depthwise ? 1 : l.in_c, l.filter, l.filter, 1);
        return mul_sat(mul_sat4(u(v[DV_KPU_ATTR_BATCHES]), l.in_w, l.in_h, l.out_c), taps);
    }
    case DV_OP_NNCASE_CONV2D:
    case DV_OP_NNCASE_QUANTIZED_CONV2D:
        return ins->attrs.n >= 19 ? nncase_conv_macs(v) : 0;
    case DV_OP_NNCASE_CONV2D_TRANSPOSE: /* each input element meets oc/groups * fh * fw taps */
        if (ins->attrs.n < 21 || v[10] < 1)
            return 0;
        return mul_sat(mul_sat4(u(v[2]), u(v[3]), u(v[4]), u(v[5])),
                       mul_sat4(u(v[7]) / u(v[10]), u(v[15]), u(v[16]), 1));
    case DV_OP_NNCASE_MATMUL:
    case DV_OP_NNCASE_QUANTIZED_MATMUL: /* [3] rows, [4] cols, [5] b cols */
        return ins->attrs.n >= 6 ? mul_sat4(u(v[3]), u(v[4]), u(v[5]), 1) : 0;
    case DV_OP_SDK_FULLY_CONNECTED: /* [2] in channels, [3] out channels */
        return ins->attrs.n >= 4 ? mul_sat(u(v[2]), u(v[3])) : 0;
    default:
        return 0;
    }
}

uint64_t detvm_module_macs(const detvm_module *m)
{
    uint64_t sum = 0;
    for (uint32_t k = 0; m && k < m->n_instrs; k++) {
        uint64_t macs = detvm_layer_macs(m, k);
        sum = macs > UINT64_MAX - sum ? UINT64_MAX : sum + macs;
    }
    return sum;
}
