/* Moving a kmodel's plain input and outputs in and out of its memory images (ops/kimage.h).
 * These ops only copy bytes. */
#include "kimage.h"

/* Bytes per element of an element type. */
static uint32_t elem_bytes(int32_t type) { return type == DV_IMAGE_U8 ? 1 : 4; }

/* IMAGE_WRITE: image, x -> image'.
 *   attrs: offset, type (enum dv_image_elem)
 * image' is image with x's elements stored from byte `offset` on: for DV_IMAGE_U8 the low byte
 * of each element, for DV_IMAGE_WORD all four bytes, little-endian. */
static const char *image_write_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                     uint32_t n_out, dv_shape *out)
{
    if (a->n != 2)
        return "image_write: takes 2 attributes (offset, type)";
    if (a->v[1] < 0 || a->v[1] >= DV_IMAGE_LIMIT)
        return "image_write: type must be 0 (u8) or 1 (word)";
    const char *why = dv_image_check_range(&in[0], a->v[0],
                                           (int64_t)dv_shape_size(&in[1]) * elem_bytes(a->v[1]));
    if (why)
        return why;
    out[0] = in[0];
    return NULL;
}

static void image_write_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    dv_image_copy(out[0].data, &in[0]);
    uint32_t offset = (uint32_t)a->v[0];
    uint64_t n = dv_shape_size(&in[1].shape);
    for (uint64_t i = 0; i < n; i++) {
        if (a->v[1] == DV_IMAGE_U8)
            dv_image_put_u8(out[0].data, offset + (uint32_t)i, (uint8_t)in[1].data[i]);
        else
            dv_image_put_u32(out[0].data, offset + 4 * (uint32_t)i, (uint32_t)in[1].data[i]);
    }
}

const dv_op_info dv_info_IMAGE_WRITE = {"image_write", 2, 2, 1, image_write_infer,
                                        image_write_run, NULL};

/* IMAGE_READ: image -> y.
 *   attrs: offset, type (enum dv_image_elem), ndim, dim[ndim]
 * y has the given shape; its elements are read from byte `offset` on: for DV_IMAGE_U8 one
 * byte each (0..255), for DV_IMAGE_WORD four bytes each, little-endian. */
static const char *image_read_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    if (a->n < 3 || a->v[2] < 1 || a->v[2] > DV_MAX_NDIM || a->n != 3 + (uint32_t)a->v[2])
        return "image_read: takes offset, type, ndim and ndim dims";
    if (a->v[1] < 0 || a->v[1] >= DV_IMAGE_LIMIT)
        return "image_read: type must be 0 (u8) or 1 (word)";
    out[0].ndim = (uint32_t)a->v[2];
    for (uint32_t i = 0; i < out[0].ndim; i++) {
        if (a->v[3 + i] < 1)
            return "image_read: dims must be positive";
        out[0].dim[i] = (uint32_t)a->v[3 + i];
    }
    const char *why = dv_shape_check(&out[0]);
    if (why)
        return why;
    return dv_image_check_range(&in[0], a->v[0],
                                (int64_t)dv_shape_size(&out[0]) * elem_bytes(a->v[1]));
}

static void image_read_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    uint32_t offset = (uint32_t)a->v[0];
    uint64_t n = dv_shape_size(&out[0].shape);
    for (uint64_t i = 0; i < n; i++)
        out[0].data[i] = a->v[1] == DV_IMAGE_U8
                             ? dv_image_u8(in[0].data, offset + (uint32_t)i)
                             : (int32_t)dv_image_u32(in[0].data, offset + 4 * (uint32_t)i);
}

const dv_op_info dv_info_IMAGE_READ = {"image_read", 1, 1, 1, image_read_infer,
                                       image_read_run, NULL};

/* IMAGE_ZERO: -> image.
 *   attrs: bytes (a positive multiple of 4)
 * A memory as it is before a run: every byte zero. Each run starts from it, so no byte left
 * by an earlier run can reach an output. */
static const char *image_zero_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                    uint32_t n_out, dv_shape *out)
{
    if (a->n != 1 || a->v[0] < 4 || a->v[0] % 4)
        return "image_zero: bytes must be a positive multiple of 4";
    out[0].ndim = 1;
    out[0].dim[0] = (uint32_t)a->v[0] / 4;
    return dv_shape_check(&out[0]);
}

static void image_zero_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    memset(out[0].data, 0, (size_t)out[0].shape.dim[0] * sizeof *out[0].data);
}

const dv_op_info dv_info_IMAGE_ZERO = {"image_zero", 0, 0, 1, image_zero_infer,
                                       image_zero_run, NULL};
