/* CVM MAX_POOL2D variants for x86-64 (NCHW), AVX2 and AVX-512.
 *
 * They give exactly the bytes of the reference kernel (ops/nn.c, max_pool2d) for every int32
 * input and every geometry infer accepts: the maximum is exact on 32-bit lanes (vpmaxsd), the
 * order of a maximum's operands does not change it, and the reference's padding, which never
 * contributes and makes a window wholly in the padding give INT32_MIN, is INT32_MIN here:
 * max(v, INT32_MIN) = v for every v. So no range check and no fallback.
 *
 * One output row (n, c, oh) is one work item. Its input rows [top, top + pool_h) clipped to
 * the input are reduced with a vertical max into the thread's scratch row r, which holds
 * padded column j at r[j] (input column j - pad_left), INT32_MIN outside the input (and
 * everywhere when no input row is in the window). Then y[oh][ow] = max over s < pool_w of
 * r[ow * stride_w + s]: contiguous loads for stride 1, loads deinterleaved by a permute for
 * stride 2 (the 3x3 stride-2 pooling of ResNet), masked gathers for larger strides.
 *
 * The row r spans L = (OW - 1) * stride_w + pool_w columns (at most the padded width plus
 * stride_w - 1, the ceil_mode overhang), and 32 more set to INT32_MIN that the last vector's
 * lanes past OW read (those lanes are never stored).
 *
 * int8 storage (DV_VARIANT_INT8): int8 input rows are sign-extended as they are loaded, and
 * an int8 output is stored with signed saturation (dv_store_i8; a window wholly in the padding
 * gives INT32_MIN, stored as -128 like the reference's output narrowed). */
#if defined(__x86_64__)

#include <immintrin.h>

#include "../nn_attrs.h"
#include "../variant.h"
#include "x86.h"

#define SLACK 64            /* int32s of the scratch row past the padded width + stride */
#define MAX_ROW (1u << 20)  /* padded widths beyond this are left to the reference */

static int64_t padded_width(const dv_attrs *attrs, const dv_shape *in)
{
    const int32_t *a = attrs->v;
    return (int64_t)in[0].dim[3] + a[POOL_PAD_LEFT] + a[POOL_PAD_RIGHT];
}

static int pool_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    if (attrs->n != POOL_N_ATTRS || n_in != 1 || in[0].ndim != 4)
        return 0;
    const int32_t *a = attrs->v;
    /* infer has checked these; the bound keeps the scratch row and the gather indices small */
    return a[POOL_W] >= 1 && a[POOL_STRIDE_W] >= 1 && a[POOL_PAD_LEFT] >= 0 &&
           a[POOL_PAD_RIGHT] >= 0 &&
           padded_width(attrs, in) + a[POOL_STRIDE_W] + a[POOL_W] <= (int64_t)MAX_ROW;
}

/* The output height, as max_pool2d's infer computes it. */
static uint64_t out_height(const dv_attrs *attrs, const dv_shape *in)
{
    const int32_t *a = attrs->v;
    int64_t padded = (int64_t)in[0].dim[2] + a[POOL_PAD_TOP] + a[POOL_PAD_BOTTOM];
    int64_t round_up = a[POOL_CEIL_MODE] ? a[POOL_STRIDE_H] - 1 : 0;
    return (uint64_t)((padded - a[POOL_H] + round_up) / a[POOL_STRIDE_H] + 1);
}

static uint64_t pool_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return (uint64_t)in[0].dim[0] * in[0].dim[1] * out_height(attrs, in);
}

static uint64_t pool_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return (uint64_t)(padded_width(attrs, in) + attrs->v[POOL_STRIDE_W] + SLACK);
}

/* The geometry of one output row. */
typedef struct {
    const int32_t *x;       /* the first input row of the window that is inside the input */
    const int8_t *x8;       /* the same when the input is int8 (x is NULL then) */
    int32_t *y;             /* the output row */
    int8_t *y8;             /* the same when the output is int8 (y is NULL then) */
    size_t in_w, rows;      /* input width; input rows in the window (0: all padding) */
    size_t pad_left, cols;  /* r[pad_left, pad_left + cols) come from the input */
    size_t len;             /* L */
    size_t out_w, pool_w, stride_w;
} pool_row;

static pool_row row_of(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                       uint64_t item)
{
    const int32_t *a = attrs->v;
    const dv_shape *xs = &in[0].shape, *ys = &out[0].shape;
    const int64_t in_h = xs->dim[2], in_w = xs->dim[3], out_h = ys->dim[2], out_w = ys->dim[3];
    const uint64_t plane = item / (uint64_t)out_h;
    const int64_t oh = (int64_t)(item % (uint64_t)out_h);
    const int64_t top = oh * a[POOL_STRIDE_H] - a[POOL_PAD_TOP];
    const int64_t h_begin = top > 0 ? top : 0;
    const int64_t h_end = top + a[POOL_H] < in_h ? top + a[POOL_H] : in_h;
    pool_row r;
    r.in_w = (size_t)in_w;
    const size_t x_at = (size_t)plane * (size_t)(in_h * in_w) +
                        (h_begin < in_h ? (size_t)(h_begin * in_w) : 0);
    const size_t y_at = (size_t)plane * (size_t)(out_h * out_w) + (size_t)(oh * out_w);
    r.x = in[0].i8 ? NULL : in[0].data + x_at;
    r.x8 = in[0].i8 ? in[0].i8 + x_at : NULL;
    r.rows = h_end > h_begin ? (size_t)(h_end - h_begin) : 0;
    r.y = out[0].i8 ? NULL : out[0].data + y_at;
    r.y8 = out[0].i8 ? out[0].i8 + y_at : NULL;
    r.out_w = (size_t)out_w;
    r.pool_w = (size_t)a[POOL_W];
    r.stride_w = (size_t)a[POOL_STRIDE_W];
    r.pad_left = (size_t)a[POOL_PAD_LEFT];
    r.len = (r.out_w - 1) * r.stride_w + r.pool_w;
    r.cols = 0;
    if (r.rows && r.pad_left < r.len)
        r.cols = r.len - r.pad_left < r.in_w ? r.len - r.pad_left : r.in_w;
    return r;
}

/* ---- AVX-512 -------------------------------------------------------------------------------- */

DV_TARGET_VNNI DV_INLINE __mmask16 avx512_mask(size_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

DV_TARGET_VNNI static void avx512_fill(int32_t *p, size_t n)
{
    const __m512i lowest = _mm512_set1_epi32(INT32_MIN);
    for (size_t i = 0; i < n; i += 16)
        _mm512_mask_storeu_epi32(p + i, avx512_mask(n - i), lowest);
}

/* Input elements [at, at + 16) where m is set, int32 or int8. */
DV_TARGET_VNNI DV_INLINE __m512i avx512_input(const pool_row *p, size_t at, __mmask16 m)
{
    if (p->x8)
        return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p->x8 + at));
    return _mm512_maskz_loadu_epi32(m, p->x + at);
}

/* r[0, len + 32) as the top describes. */
DV_TARGET_VNNI static void avx512_vertical(const pool_row *p, int32_t *r)
{
    const size_t end = p->pad_left + p->cols;
    avx512_fill(r, p->cols ? p->pad_left : p->len + 32);
    if (!p->cols)
        return;
    avx512_fill(r + end, p->len + 32 - end);
    for (size_t c = 0; c < p->cols; c += 16) {
        const __mmask16 m = avx512_mask(p->cols - c);
        __m512i v = avx512_input(p, c, m);
        for (size_t k = 1; k < p->rows; k++)
            v = _mm512_max_epi32(v, avx512_input(p, k * p->in_w + c, m));
        _mm512_mask_storeu_epi32(r + p->pad_left + c, m, v);
    }
}

DV_TARGET_VNNI static void avx512_row(const pool_row *p, int32_t *r)
{
    avx512_vertical(p, r);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i step = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)p->stride_w));
    for (size_t o = 0; o < p->out_w; o += 16) {
        const __mmask16 m = avx512_mask(p->out_w - o);
        const int32_t *q = r + o * p->stride_w;
        __m512i best = _mm512_set1_epi32(INT32_MIN);
        for (size_t s = 0; s < p->pool_w; s++) {
            __m512i v;
            if (p->stride_w == 1)
                v = _mm512_loadu_si512(q + s);
            else if (p->stride_w == 2)
                v = _mm512_permutex2var_epi32(_mm512_loadu_si512(q + s), even,
                                              _mm512_loadu_si512(q + s + 16));
            else
                v = _mm512_mask_i32gather_epi32(best, m, step, q + s, 4);
            best = _mm512_max_epi32(best, v);
        }
        if (p->y8)
            _mm512_mask_cvtsepi32_storeu_epi8(p->y8 + o, m, best);
        else
            _mm512_mask_storeu_epi32(p->y + o, m, best);
    }
}

static void avx512_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                       uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,
                       uint64_t end)
{
    for (uint64_t item = begin; item < end; item++) {
        pool_row p = row_of(attrs, in, out, item);
        avx512_row(&p, scratch);
    }
}

/* ---- AVX2 ----------------------------------------------------------------------------------- */

/* Lanes [0, left) set, for left >= 1. */
DV_TARGET_AVX2 DV_INLINE __m256i avx2_mask(size_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

DV_TARGET_AVX2 DV_INLINE __m256i avx2_load(const int32_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

DV_TARGET_AVX2 static void avx2_fill(int32_t *p, size_t n)
{
    const __m256i lowest = _mm256_set1_epi32(INT32_MIN);
    for (size_t i = 0; i < n; i += 8)
        _mm256_maskstore_epi32(p + i, avx2_mask(n - i), lowest);
}

/* Input elements [at, at + left) (left >= 1; lanes past 8 are not read), int32 or int8. */
DV_TARGET_AVX2 DV_INLINE __m256i avx2_input(const pool_row *p, size_t at, size_t left,
                                           __m256i m)
{
    if (p->x8) {
        int64_t bytes = 0;
        memcpy(&bytes, p->x8 + at, left >= 8 ? 8 : left);
        return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
    }
    return _mm256_maskload_epi32(p->x + at, m);
}

DV_TARGET_AVX2 static void avx2_vertical(const pool_row *p, int32_t *r)
{
    const size_t end = p->pad_left + p->cols;
    avx2_fill(r, p->cols ? p->pad_left : p->len + 32);
    if (!p->cols)
        return;
    avx2_fill(r + end, p->len + 32 - end);
    for (size_t c = 0; c < p->cols; c += 8) {
        const __m256i m = avx2_mask(p->cols - c);
        __m256i v = avx2_input(p, c, p->cols - c, m);
        for (size_t k = 1; k < p->rows; k++)
            v = _mm256_max_epi32(v, avx2_input(p, k * p->in_w + c, p->cols - c, m));
        _mm256_maskstore_epi32(r + p->pad_left + c, m, v);
    }
}

DV_TARGET_AVX2 static void avx2_row(const pool_row *p, int32_t *r)
{
    avx2_vertical(p, r);
    const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i step = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                            _mm256_set1_epi32((int)p->stride_w));
    for (size_t o = 0; o < p->out_w; o += 8) {
        const __m256i m = avx2_mask(p->out_w - o);
        const int32_t *q = r + o * p->stride_w;
        __m256i best = _mm256_set1_epi32(INT32_MIN);
        for (size_t s = 0; s < p->pool_w; s++) {
            __m256i v;
            if (p->stride_w == 1) {
                v = avx2_load(q + s);
            } else if (p->stride_w == 2) {
                __m256i lo = _mm256_permutevar8x32_epi32(avx2_load(q + s), split);
                __m256i hi = _mm256_permutevar8x32_epi32(avx2_load(q + s + 8), split);
                v = _mm256_permute2x128_si256(lo, hi, 0x20);
            } else {
                v = _mm256_mask_i32gather_epi32(best, q + s, step, m, 4);
            }
            best = _mm256_max_epi32(best, v);
        }
        if (!p->y8) {
            _mm256_maskstore_epi32(p->y + o, m, best);
            continue;
        }
        dv_store_i8x8(p->y8 + o, best, p->out_w - o >= 8 ? 8 : p->out_w - o);
    }
}

static void avx2_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                     uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,
                     uint64_t end)
{
    for (uint64_t item = begin; item < end; item++) {
        pool_row p = row_of(attrs, in, out, item);
        avx2_row(&p, scratch);
    }
}

const dv_variant dv_variant_max_pool2d_vnni = {DV_OP_MAX_POOL2D, DV_ISA_VNNI, "vnni",
                                               pool_accepts, pool_items, pool_scratch,
                                               avx512_run, DV_VARIANT_INT8};
const dv_variant dv_variant_max_pool2d_avx2 = {DV_OP_MAX_POOL2D, DV_ISA_AVX2, "avx2",
                                               pool_accepts, pool_items, pool_scratch,
                                               avx2_run, DV_VARIANT_INT8};

#endif
