/* MaixPy's view of a kmodel on a compiled module: its layers (kpu.netinfo), running up to a
 * layer and reading its feature map (kpu.forward, kpu.fmap), and an output seen in the shape
 * the user declares (kpu.set_outputs).
 *
 * The kmodel importers name every instruction after its node, "NNN_<op>", so a layer is a run
 * of instructions with the same NNN. A KPU layer's geometry comes from its KPU_CONV2D or
 * KPU_CONV2D_OUT instruction's layer argument block (ops/kpu.h decodes it); its feature map is
 * the KPU RAM image that instruction writes, read in the KPU's row layout. */
#include <string.h>

#include "../ops/kpu.h"
#include "error.h"
#include "module.h"
#include "module_format.h"
#include "session.h"

/* Parses "NNN_<op>": the node number and where the op name starts; 0 for any other name. */
static int node_of(const char *name, uint32_t *index, const char **op)
{
    if (!name)
        return 0;
    uint64_t v = 0;
    const char *p = name;
    while (*p >= '0' && *p <= '9' && v <= UINT32_MAX)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (p == name || *p != '_' || p[1] == 0 || v > UINT32_MAX)
        return 0;
    *index = (uint32_t)v;
    *op = p + 1;
    return 1;
}

static int is_kpu_conv(uint32_t opcode)
{
    return opcode == DV_OP_KPU_CONV2D || opcode == DV_OP_KPU_CONV2D_OUT;
}

/* Describes the layer whose instructions run from `first` (a named node) to the end of the
 * run; returns the instruction after it. */
static uint32_t describe(const detvm_module *m, uint32_t first, detvm_kpu_layer *l)
{
    uint32_t index = 0;
    const char *op = "";
    node_of(m->instrs[first].name, &index, &op);
    memset(l, 0, sizeof *l);
    l->index = index;
    size_t n = strlen(op);
    if (n >= sizeof l->type)
        n = sizeof l->type - 1;
    memcpy(l->type, op, n);
    l->first_step = first;
    uint32_t k = first;
    for (; k < m->n_instrs; k++) {
        const vm_instr *ins = &m->instrs[k];
        uint32_t idx;
        const char *o;
        if (!node_of(ins->name, &idx, &o) || idx != index)
            break;
        l->last_step = k;
        for (uint32_t j = 0; j < ins->n_in; j++) {
            const vm_tensor *t = &m->tensors[ins->operands[j]];
            if (t->storage == DVM_STORAGE_CONST)
                l->param_bytes += dv_shape_size(&t->shape) * 4;
        }
        if (is_kpu_conv(ins->opcode) && ins->attrs.n >= DV_KPU_CONV_ATTRS) {
            dv_kpu_layer layer;
            dv_kpu_netinfo info;
            dv_kpu_decode(ins->attrs.v, &layer);
            dv_kpu_netinfo_of(&layer, &info);
            l->is_kpu = 1;
            l->wi = info.wi, l->hi = info.hi, l->wo = info.wo, l->ho = info.ho;
            l->chi = info.chi, l->cho = info.cho, l->dw = info.dw;
            l->kernel_type = info.kernel_type, l->pool_type = info.pool_type;
            l->para_size = info.para_size;
            l->batches = (uint32_t)ins->attrs.v[DV_KPU_ATTR_BATCHES];
            l->has_fmap = 1;
            l->fmap_step = k;
            l->fmap_n = l->batches, l->fmap_ch = layer.out_c;
            l->fmap_h = layer.out_h, l->fmap_w = layer.out_w;
        } else if (ins->opcode == DV_OP_KPU_UPLOAD && ins->attrs.n == DV_KPU_UPLOAD_ATTRS) {
            const int32_t *v = ins->attrs.v;
            l->has_fmap = 1;
            l->fmap_step = k;
            l->fmap_n = (uint32_t)v[DV_KPU_UP_N], l->fmap_ch = (uint32_t)v[DV_KPU_UP_C];
            l->fmap_h = (uint32_t)v[DV_KPU_UP_H], l->fmap_w = (uint32_t)v[DV_KPU_UP_W];
        }
    }
    return k;
}

/* Walks the layers in order: stops at the k-th one (by_number 0) or at the one numbered `key`
 * (by_number 1), filling *l and returning 1; else returns 0 with *count the number of layers. */
static int find_layer(const detvm_module *m, int by_number, uint32_t key, detvm_kpu_layer *l,
                      uint32_t *count)
{
    uint32_t k = 0, n = 0;
    while (k < m->n_instrs) {
        uint32_t index;
        const char *op;
        if (!node_of(m->instrs[k].name, &index, &op)) {
            k++;
            continue;
        }
        k = describe(m, k, l);
        if (by_number ? l->index == key : n == key)
            return 1;
        n++;
    }
    *count = n;
    return 0;
}

uint32_t detvm_kpu_layer_count(const detvm_module *m)
{
    detvm_kpu_layer l;
    uint32_t count = 0;
    find_layer(m, 0, UINT32_MAX, &l, &count);
    return count;
}

detvm_status detvm_kpu_netinfo(const detvm_module *m, uint32_t k, detvm_kpu_layer *layer,
                               detvm_error *err)
{
    uint32_t count = 0;
    if (!find_layer(m, 0, k, layer, &count))
        return dv_fail(err, DETVM_EINVALID, "netinfo: layer %u out of range (%u layers)", k,
                       count);
    return DETVM_OK;
}

detvm_status detvm_kpu_layer_find(const detvm_module *m, uint32_t index,
                                  detvm_kpu_layer *layer, detvm_error *err)
{
    uint32_t count = 0;
    if (!find_layer(m, 1, index, layer, &count))
        return dv_fail(err, DETVM_EINVALID, "layer %u: the module has no such kmodel layer",
                       index);
    return DETVM_OK;
}

detvm_status detvm_kpu_forward(detvm_session *s, const void *input, size_t input_len,
                               uint32_t index, detvm_kpu_fmap *fmap, detvm_error *err)
{
    detvm_kpu_layer l;
    memset(fmap, 0, sizeof *fmap);
    detvm_status st = detvm_kpu_layer_find(s->module, index, &l, err);
    if (st)
        return st;
    if (!l.has_fmap)
        return dv_fail(err, DETVM_EINVALID,
                       "layer %u (%s): leaves no map in KPU RAM (detvm_run_until gives its "
                       "outputs)",
                       index, l.type);
    detvm_step step;
    st = detvm_run_until(s, input, input_len, l.fmap_step, &step, err);
    if (st)
        return st;
    const detvm_tensor_view *kpu = &step.outputs[0];
    uint32_t offset = 0;
    const vm_instr *ins = &s->module->instrs[l.fmap_step];
    if (ins->opcode == DV_OP_KPU_UPLOAD) {
        offset = (uint32_t)ins->attrs.v[DV_KPU_UP_DST_OFFSET];
    } else {
        dv_kpu_layer layer;
        dv_kpu_decode(ins->attrs.v, &layer);
        offset = layer.dst_row * DV_KPU_ROW_BYTES;
    }
    /* the op's infer accepted the instruction when the module loaded, so this holds; checked
     * again because fmap_channel trusts it */
    if (kpu->count != DV_KPU_RAM_BYTES / 4 ||
        dv_kpu_map_check(offset, l.fmap_n, l.fmap_ch, l.fmap_h, l.fmap_w))
        return dv_fail(err, DETVM_ERUNTIME, "layer %u (%s): its map lies outside KPU RAM",
                       index, l.type);
    fmap->layer = index;
    fmap->step = l.fmap_step;
    fmap->n = l.fmap_n, fmap->ch = l.fmap_ch, fmap->h = l.fmap_h, fmap->w = l.fmap_w;
    fmap->offset = offset;
    fmap->kpu = kpu->data;
    return DETVM_OK;
}

detvm_status detvm_kpu_fmap_channel(const detvm_kpu_fmap *fmap, uint32_t batch,
                                    uint32_t channel, uint8_t *pixels, size_t len,
                                    detvm_error *err)
{
    if (!fmap || !fmap->kpu || !pixels ||
        dv_kpu_map_check(fmap->offset, fmap->n, fmap->ch, fmap->h, fmap->w))
        return dv_fail(err, DETVM_EINVALID, "fmap: not a map from detvm_kpu_forward");
    if (batch >= fmap->n || channel >= fmap->ch)
        return dv_fail(err, DETVM_EINVALID,
                       "fmap: batch %u channel %u out of range (%u batches of %u channels)",
                       batch, channel, fmap->n, fmap->ch);
    if (len != (uint64_t)fmap->h * fmap->w)
        return dv_fail(err, DETVM_EINVALID, "fmap: %zu bytes given, a channel is %u x %u", len,
                       fmap->h, fmap->w);
    uint64_t base = fmap->offset + batch * dv_kpu_map_bytes(fmap->w, fmap->h, fmap->ch);
    for (uint32_t y = 0; y < fmap->h; y++) {
        uint32_t line = (uint32_t)dv_kpu_addr(base, fmap->w, fmap->h, channel, y, 0);
        for (uint32_t x = 0; x < fmap->w; x++)
            *pixels++ = dv_image_u8(fmap->kpu, line + x);
    }
    return DETVM_OK;
}

detvm_status detvm_session_output_view(const detvm_session *s, uint32_t k, uint32_t w,
                                       uint32_t h, uint32_t ch, detvm_tensor_view *view,
                                       detvm_error *err)
{
    const detvm_module *m = s->module;
    memset(view, 0, sizeof *view);
    if (k >= m->n_outputs)
        return dv_fail(err, DETVM_EINVALID, "output %u out of range (%u outputs)", k,
                       m->n_outputs);
    const vm_tensor *t = &m->tensors[m->outputs[k]];
    uint64_t count = dv_shape_size(&t->shape);
    view->precision = t->precision;
    view->count = count;
    view->data = s->tensors[m->outputs[k]].data;
    if (w == 0 && h == 0 && ch == 0) {
        view->ndim = t->shape.ndim;
        memcpy(view->dim, t->shape.dim, sizeof view->dim);
        return DETVM_OK;
    }
    if ((uint64_t)w * h * ch != count) {
        memset(view, 0, sizeof *view);
        return dv_fail(err, DETVM_EINVALID,
                       "output %u: %u x %u x %u (w, h, ch) does not match its %llu elements", k,
                       w, h, ch, (unsigned long long)count);
    }
    view->ndim = 3;
    view->dim[0] = ch, view->dim[1] = h, view->dim[2] = w;
    return DETVM_OK;
}
