/* The output byte layouts of the CVM runtime, which the module's I/O binding follows:
 *
 *   plain      the outputs one after another, each element as int8 (output element bytes 1,
 *              the value truncated to its low byte) or little-endian int32 (bytes 4);
 *   argmax     for each output, rows r = size / last_dim; for i = 0, last_dim, 2*last_dim ...
 *              while i < r, the index of the first maximum of elements i .. i+last_dim-1,
 *              compared as int8 (their low bytes), as int32. The CVM runtime steps i by
 *              last_dim but bounds it by the row count, so it computes only the first
 *              ceil(r / last_dim) of the r values its output length promises; the rest of the
 *              buffer is zero here (it is the caller's memory there);
 *   detection  (and any model with several outputs) row-interleaved: for each row x of the
 *              first output's rows, each output's row x in turn. Every output must have the
 *              same row count (size / last dim), and there must be more than one output;
 *              otherwise the run fails with status 1, as the CVM runtime's does;
 *   separate   (TFLite models) the outputs one after another, each element in its tensor's
 *              own dtype: 1 byte for int8 and uint8 (the low byte), 2 for int16 and 4 for
 *              int32, little-endian. */
#include <string.h>

#include "error.h"
#include "module_format.h"
#include "session.h"

static uint32_t last_dim(const dv_shape *s) { return s->dim[s->ndim - 1]; }

uint64_t vm_output_part_length(const detvm_module *m, uint32_t k)
{
    const vm_tensor *t = &m->tensors[m->outputs[k]];
    return dv_shape_size(&t->shape) * dvm_dtype_bytes(t->dtype);
}

uint64_t vm_output_length(const detvm_module *m)
{
    uint64_t total = 0;
    if (strcmp(m->postprocess, "separate") == 0) {
        for (uint32_t k = 0; k < m->n_outputs; k++)
            total += vm_output_part_length(m, k);
        return total;
    }
    if (strcmp(m->postprocess, "argmax") == 0) {
        for (uint32_t k = 0; k < m->n_outputs; k++) {
            const dv_shape *s = &m->tensors[m->outputs[k]].shape;
            total += dv_shape_size(s) / last_dim(s);
        }
    } else if (strcmp(m->postprocess, "detection") == 0) {
        const dv_shape *first = &m->tensors[m->outputs[0]].shape;
        uint64_t rows = first->ndim >= 2 ? first->dim[first->ndim - 2] : 0;
        for (uint32_t k = 0; k < m->n_outputs; k++)
            total += last_dim(&m->tensors[m->outputs[k]].shape);
        total *= rows;
    } else {
        for (uint32_t k = 0; k < m->n_outputs; k++)
            total += dv_shape_size(&m->tensors[m->outputs[k]].shape);
    }
    return total * m->output_bytes;
}

static uint8_t *put_element(uint8_t *p, int32_t v, uint32_t bytes)
{
    if (bytes == 1)
        *p = (uint8_t)v;
    else if (bytes == 2)
        dvm_put_u16(p, (uint16_t)v);
    else
        dvm_put_u32(p, (uint32_t)v);
    return p + bytes;
}

static void write_argmax(const detvm_module *m, const dv_tensor *tensors, uint8_t *out)
{
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        const dv_tensor *t = &tensors[m->outputs[k]];
        uint64_t cols = last_dim(&t->shape), rows = dv_shape_size(&t->shape) / cols;
        for (uint64_t i = 0; i < rows; i += cols) {
            uint32_t best = 0;
            for (uint64_t j = 1; j < cols; j++)
                if ((int8_t)t->data[i + j] > (int8_t)t->data[i + best])
                    best = (uint32_t)j;
            out = put_element(out, (int32_t)best, 4);
        }
    }
}

static detvm_status write_interleaved(const detvm_module *m, const dv_tensor *tensors,
                                      uint8_t *out, uint64_t out_len, detvm_error *err)
{
    if (m->n_outputs < 2)
        return dv_fail(err, DETVM_EINVALID,
                       "output: a detection model needs several outputs to interleave");
    const dv_shape *first = &tensors[m->outputs[0]].shape;
    uint64_t rows = dv_shape_size(first) / last_dim(first);
    uint64_t row_elems = 0;
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        const dv_shape *s = &tensors[m->outputs[k]].shape;
        if (dv_shape_size(s) / last_dim(s) != rows)
            return dv_fail(err, DETVM_EINVALID,
                           "output %u: %llu rows, output 0 has %llu: the outputs cannot be "
                           "interleaved",
                           k, (unsigned long long)(dv_shape_size(s) / last_dim(s)),
                           (unsigned long long)rows);
        row_elems += last_dim(s);
    }
    if (rows * row_elems * m->output_bytes > out_len)
        return dv_fail(err, DETVM_EINVALID,
                       "output: the interleaved rows exceed the declared output length");
    for (uint64_t x = 0; x < rows; x++) {
        for (uint32_t k = 0; k < m->n_outputs; k++) {
            const dv_tensor *t = &tensors[m->outputs[k]];
            uint64_t cols = last_dim(&t->shape);
            for (uint64_t i = 0; i < cols; i++)
                out = put_element(out, t->data[x * cols + i], m->output_bytes);
        }
    }
    return DETVM_OK;
}

detvm_status vm_output_write(const detvm_module *m, const dv_tensor *tensors, uint8_t *out,
                             detvm_error *err)
{
    uint64_t len = vm_output_length(m);
    memset(out, 0, len);
    if (strcmp(m->postprocess, "separate") == 0) {
        for (uint32_t k = 0; k < m->n_outputs; k++) {
            const dv_tensor *t = &tensors[m->outputs[k]];
            uint32_t bytes = dvm_dtype_bytes(m->tensors[m->outputs[k]].dtype);
            uint64_t n = dv_shape_size(&t->shape);
            for (uint64_t i = 0; i < n; i++)
                out = put_element(out, t->data[i], bytes);
        }
        return DETVM_OK;
    }
    if (strcmp(m->postprocess, "argmax") == 0) {
        write_argmax(m, tensors, out);
        return DETVM_OK;
    }
    if (strcmp(m->postprocess, "detection") == 0 || m->n_outputs > 1)
        return write_interleaved(m, tensors, out, len, err);
    const dv_tensor *t = &tensors[m->outputs[0]];
    uint64_t n = dv_shape_size(&t->shape);
    for (uint64_t i = 0; i < n; i++)
        out = put_element(out, t->data[i], m->output_bytes);
    return DETVM_OK;
}
