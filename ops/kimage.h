/* Memory images: how a kmodel's memories live in int32 tensors.
 *
 * A kmodel addresses main memory and the KPU's 2 MiB RAM by byte offset, and its nodes read
 * and write overlapping ranges of them. detvm keeps each memory as one tensor of shape
 * [bytes / 4] whose elements hold four bytes each, little-endian: byte a is bits
 * 8*(a%4) .. 8*(a%4)+7 of element a/4. Reading and writing through these accessors gives the
 * same bytes on every host, whatever its byte order. An instruction never writes its input
 * image: it copies it to its output image and changes the copy. */
#ifndef DETVM_OPS_KIMAGE_H
#define DETVM_OPS_KIMAGE_H

#include <stdint.h>
#include <string.h>

#include "op.h"

#define DV_KPU_RAM_BYTES (2u << 20)

/* Element types of IMAGE_WRITE and IMAGE_READ (attribute 1). */
enum dv_image_elem {
    DV_IMAGE_U8 = 0,    /* one byte per element, 0..255 */
    DV_IMAGE_WORD = 1,  /* four bytes per element: an int32, or a float32's bits */
    DV_IMAGE_LIMIT = 2
};

static inline uint32_t dv_image_bytes(const dv_shape *s) { return 4 * s->dim[0]; }

static inline uint8_t dv_image_u8(const int32_t *img, uint32_t addr)
{
    return (uint8_t)((uint32_t)img[addr >> 2] >> (8 * (addr & 3)));
}

static inline void dv_image_put_u8(int32_t *img, uint32_t addr, uint8_t v)
{
    uint32_t shift = 8 * (addr & 3);
    uint32_t w = (uint32_t)img[addr >> 2];
    w = (w & ~(0xffu << shift)) | ((uint32_t)v << shift);
    img[addr >> 2] = (int32_t)w;
}

/* Four bytes at any (even unaligned) address, little-endian. */
static inline uint32_t dv_image_u32(const int32_t *img, uint32_t addr)
{
    if ((addr & 3) == 0)
        return (uint32_t)img[addr >> 2];
    return (uint32_t)dv_image_u8(img, addr) | (uint32_t)dv_image_u8(img, addr + 1) << 8 |
           (uint32_t)dv_image_u8(img, addr + 2) << 16 | (uint32_t)dv_image_u8(img, addr + 3) << 24;
}

static inline void dv_image_put_u32(int32_t *img, uint32_t addr, uint32_t v)
{
    if ((addr & 3) == 0) {
        img[addr >> 2] = (int32_t)v;
        return;
    }
    for (uint32_t i = 0; i < 4; i++)
        dv_image_put_u8(img, addr + i, (uint8_t)(v >> (8 * i)));
}

static inline float dv_image_f32(const int32_t *img, uint32_t addr)
{
    uint32_t bits = dv_image_u32(img, addr);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline void dv_image_put_f32(int32_t *img, uint32_t addr, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    dv_image_put_u32(img, addr, bits);
}

/* The first step of every instruction that writes a memory: the output image starts as a copy
 * of the input image. */
static inline void dv_image_copy(int32_t *dst, const dv_tensor *src)
{
    memcpy(dst, src->data, (size_t)src->shape.dim[0] * sizeof *dst);
}

/* NULL when `t` is an image (one dimension) holding the byte range [offset, offset + len). */
static inline const char *dv_image_check_range(const dv_shape *t, int64_t offset, int64_t len)
{
    if (t->ndim != 1)
        return "image: must have one dimension";
    if (offset < 0 || len < 0 || offset + len > (int64_t)dv_image_bytes(t))
        return "image: byte range outside the memory";
    return NULL;
}

#endif
