/* TRANSPOSE (ops/transform.c) on x86-64: AVX-512 (the "vnni" level) and AVX2 variants.
 *
 * A transpose only moves elements, so its bytes are fixed by the index map alone; each input
 * and the output may be int32 or int8 (DV_VARIANT_INT8), and an element is read widened and
 * stored as is (int32) or through dv_store_i8 (int8), which is the reference on the widened
 * input followed by the narrowing. Every permutation of up to 6 axes is accepted.
 *
 * The instance is first reduced to its simplest form: axes of size 1 are dropped, and output
 * axes that are consecutive in the input too are merged. The output is then a row-major array
 * of m axes, axis i of size dim[i] moving the input offset by stride[i]. Two forms follow:
 *
 *   - a batched 2-D transpose: out[b][y][x] = in[b][x][y] (NCHW -> NHWC is (N, C, HW) ->
 *     (N, HW, C), NHWC -> NCHW the converse). Computed in 8x8 tiles transposed in registers;
 *     when X or Y is at most 4 (an NCHW image of 3 channels), groups of 8 (AVX2) or 16
 *     (AVX-512, which narrows to int8 with vpmovsdb) along the long axis are interleaved or
 *     deinterleaved by lane permutes instead. Work items: the blocks of a grid over (b, y, x),
 *     about CHUNK elements each.
 *   - anything else: output rows of dim[m-1] elements, read with the input stride
 *     stride[m-1] (contiguous rows are converted by vectors). Work items: CHUNK consecutive
 *     output elements.
 * No scratch. */
#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#include "../variant.h"
#include "x86.h"

#define CHUNK 8192      /* output elements of one work item */
#define SMALL 4         /* the widest side that is (de)interleaved rather than tiled (2..4) */

typedef struct {
    uint32_t m;
    uint64_t dim[DV_MAX_NDIM], stride[DV_MAX_NDIM];
    uint64_t total;
    int batched;                        /* out[b][y][x] = in[b][x][y] */
    uint64_t b, x, y;
    uint64_t y_block, x_block, y_blocks, x_blocks;
} plan;

/* Block sides are multiples of 16, whole vectors for both widths. */
static uint64_t round_up16(uint64_t v)
{
    return (v + 15) / 16 * 16;
}

static void make_plan(const dv_attrs *attrs, const dv_shape *in, plan *p)
{
    uint64_t in_stride[DV_MAX_NDIM], step = 1;
    for (uint32_t k = in->ndim; k-- > 0;) {
        in_stride[k] = step;
        step *= in->dim[k];
    }
    memset(p, 0, sizeof *p);
    p->total = step;
    for (uint32_t i = 0; i < in->ndim; i++) {
        const uint32_t k = (uint32_t)attrs->v[i];
        const uint64_t d = in->dim[k], s = in_stride[k];
        if (d == 1)
            continue;
        if (p->m && p->stride[p->m - 1] == s * d) {
            p->dim[p->m - 1] *= d;
            p->stride[p->m - 1] = s;
        } else {
            p->dim[p->m] = d;
            p->stride[p->m] = s;
            p->m++;
        }
    }
    if (!p->m) {
        p->m = 1;
        p->dim[0] = 1;
        p->stride[0] = 1;
    }
    if (p->m == 2 && p->stride[0] == 1 && p->stride[1] == p->dim[0]) {
        p->batched = 1;
        p->b = 1;
        p->y = p->dim[0];
        p->x = p->dim[1];
    } else if (p->m == 3 && p->stride[1] == 1 && p->stride[2] == p->dim[1] &&
               p->stride[0] == p->dim[1] * p->dim[2]) {
        p->batched = 1;
        p->b = p->dim[0];
        p->y = p->dim[1];
        p->x = p->dim[2];
    }
    if (!p->batched)
        return;
    if (p->x <= SMALL) {
        p->x_block = p->x;
        p->y_block = round_up16(CHUNK / p->x);
    } else if (p->y <= SMALL) {
        p->y_block = p->y;
        p->x_block = round_up16(CHUNK / p->y);
    } else {
        p->x_block = p->x < 128 ? round_up16(p->x) : 128;
        p->y_block = round_up16(CHUNK / p->x_block);
    }
    p->y_blocks = (p->y + p->y_block - 1) / p->y_block;
    p->x_blocks = (p->x + p->x_block - 1) / p->x_block;
}

static int accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 1 && attrs->n == in[0].ndim;
}

static uint64_t items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    plan p;
    make_plan(attrs, &in[0], &p);
    if (p.batched)
        return p.b * p.y_blocks * p.x_blocks;
    return (p.total + CHUNK - 1) / CHUNK;
}

/* ---- 8 lanes in, 8 lanes out, for int32 or int8 memory ------------------------------------ */

DV_TARGET_AVX2 DV_INLINE __m256i load8(const void *base, uint64_t at, int in8)
{
    if (in8)
        return _mm256_cvtepi8_epi32(
            _mm_loadl_epi64((const __m128i *)(const void *)((const int8_t *)base + at)));
    return _mm256_loadu_si256((const __m256i *)(const void *)((const int32_t *)base + at));
}

/* int32 -> int8 with saturation (two saturating packs clamp to [-128, 127]: dv_store_i8). */
DV_TARGET_AVX2 DV_INLINE __m128i narrow8(__m256i v)
{
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_packs_epi16(w, w);
}

DV_TARGET_AVX2 DV_INLINE void store8(void *base, uint64_t at, __m256i v, int out8)
{
    if (out8)
        _mm_storel_epi64((__m128i *)(void *)((int8_t *)base + at), narrow8(v));
    else
        _mm256_storeu_si256((__m256i *)(void *)((int32_t *)base + at), v);
}

static int32_t get(const void *base, uint64_t at, int in8)
{
    return in8 ? ((const int8_t *)base)[at] : ((const int32_t *)base)[at];
}

static void put(void *base, uint64_t at, int32_t v, int out8)
{
    if (out8)
        ((int8_t *)base)[at] = dv_store_i8(v);
    else
        ((int32_t *)base)[at] = v;
}

/* ---- the batched 2-D transpose ------------------------------------------------------------ */

/* out[b][y][x] = in[b][x][y] for y in [y0, y1), x in [x0, x1), element by element. */
static void block_scalar(const plan *p, const void *in, int in8, void *out, int out8,
                         uint64_t b, uint64_t y0, uint64_t y1, uint64_t x0, uint64_t x1)
{
    const uint64_t in_base = b * p->x * p->y, out_base = in_base;
    for (uint64_t y = y0; y < y1; y++)
        for (uint64_t x = x0; x < x1; x++)
            put(out, out_base + y * p->x + x, get(in, in_base + x * p->y + y, in8), out8);
}

/* Lane permutes that move n vectors of 8 lanes (n <= SMALL), read as 8n consecutive values,
 * to n output vectors: output lane (t, j) takes source lane from[8t + j] (vector
 * from / 8, lane from % 8). */
typedef struct {
    __m256i lane[SMALL];
    __m256i pick[SMALL][SMALL];     /* all ones where output t takes from source s */
} shuffle_plan;

DV_TARGET_AVX2 static void shuffle_prepare(shuffle_plan *sp, uint32_t n, const uint32_t *from)
{
    for (uint32_t t = 0; t < n; t++) {
        int32_t lane[8], pick[SMALL][8];
        for (uint32_t j = 0; j < 8; j++) {
            lane[j] = (int32_t)(from[8 * t + j] % 8);
            for (uint32_t s = 0; s < n; s++)
                pick[s][j] = from[8 * t + j] / 8 == s ? -1 : 0;
        }
        sp->lane[t] = _mm256_loadu_si256((const __m256i *)(const void *)lane);
        for (uint32_t s = 0; s < n; s++)
            sp->pick[t][s] = _mm256_loadu_si256((const __m256i *)(const void *)pick[s]);
    }
}

DV_TARGET_AVX2 DV_INLINE __m256i shuffle_one(const shuffle_plan *sp, const __m256i *src,
                                             uint32_t n, uint32_t t)
{
    __m256i v = _mm256_permutevar8x32_epi32(src[0], sp->lane[t]);
    for (uint32_t s = 1; s < n; s++)
        v = _mm256_blendv_epi8(v, _mm256_permutevar8x32_epi32(src[s], sp->lane[t]),
                               sp->pick[t][s]);
    return v;
}

/* X <= SMALL: for 8 consecutive y, the n = X input rows (8 values each) become the 8n
 * consecutive output values out[b][y..y+8][0..X). */
DV_TARGET_AVX2 DV_INLINE void interleave(const plan *p, const void *in, int in8, void *out,
                                         int out8, uint64_t b, uint64_t y0, uint64_t y1,
                                         uint32_t n)
{
    uint32_t from[8 * SMALL];
    for (uint32_t f = 0; f < 8 * n; f++)
        from[f] = (f % n) * 8 + f / n;
    shuffle_plan sp;
    shuffle_prepare(&sp, n, from);
    const uint64_t in_base = b * p->x * p->y;
    uint64_t y = y0;
    for (; y + 8 <= y1; y += 8) {
        __m256i src[SMALL];
        for (uint32_t s = 0; s < n; s++)
            src[s] = load8(in, in_base + s * p->y + y, in8);
        for (uint32_t t = 0; t < n; t++)
            store8(out, in_base + y * n + 8 * t, shuffle_one(&sp, src, n, t), out8);
    }
    block_scalar(p, in, in8, out, out8, b, y, y1, 0, n);
}

/* Y <= SMALL: for 8 consecutive x, the 8n consecutive input values in[b][x..x+8][0..Y)
 * become the output rows out[b][0..Y)[x..x+8). */
DV_TARGET_AVX2 DV_INLINE void deinterleave(const plan *p, const void *in, int in8, void *out,
                                           int out8, uint64_t b, uint64_t x0, uint64_t x1,
                                           uint32_t n)
{
    uint32_t from[8 * SMALL];
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t j = 0; j < 8; j++)
            from[8 * t + j] = j * n + t;
    shuffle_plan sp;
    shuffle_prepare(&sp, n, from);
    const uint64_t in_base = b * p->x * p->y;
    uint64_t x = x0;
    for (; x + 8 <= x1; x += 8) {
        __m256i src[SMALL];
        for (uint32_t s = 0; s < n; s++)
            src[s] = load8(in, in_base + x * n + 8 * s, in8);
        for (uint32_t t = 0; t < n; t++)
            store8(out, in_base + t * p->x + x, shuffle_one(&sp, src, n, t), out8);
    }
    block_scalar(p, in, in8, out, out8, b, 0, n, x, x1);
}

/* The 8x8 tile at (y, x): rows in[b][x + i][y..y+8) to rows out[b][y + j][x..x+8). */
DV_TARGET_AVX2 DV_INLINE void tile(const plan *p, const void *in, int in8, void *out, int out8,
                                   uint64_t in_base, uint64_t y, uint64_t x)
{
    __m256i r[8], t[8], u[8];
    for (int i = 0; i < 8; i++)
        r[i] = load8(in, in_base + (x + (uint64_t)i) * p->y + y, in8);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int j = 0; j < 4; j++) {
        store8(out, in_base + (y + (uint64_t)j) * p->x + x,
               _mm256_permute2x128_si256(u[j], u[j + 4], 0x20), out8);
        store8(out, in_base + (y + 4 + (uint64_t)j) * p->x + x,
               _mm256_permute2x128_si256(u[j], u[j + 4], 0x31), out8);
    }
}

DV_TARGET_AVX2 DV_INLINE void tiles(const plan *p, const void *in, int in8, void *out, int out8,
                                    uint64_t b, uint64_t y0, uint64_t y1, uint64_t x0,
                                    uint64_t x1)
{
    const uint64_t in_base = b * p->x * p->y;
    const uint64_t y_full = y0 + (y1 - y0) / 8 * 8, x_full = x0 + (x1 - x0) / 8 * 8;
    for (uint64_t y = y0; y < y_full; y += 8)
        for (uint64_t x = x0; x < x_full; x += 8)
            tile(p, in, in8, out, out8, in_base, y, x);
    block_scalar(p, in, in8, out, out8, b, y0, y_full, x_full, x1);
    block_scalar(p, in, in8, out, out8, b, y_full, y1, x0, x1);
}

/* Work item `item`: batch b, y in [y0, y1), x in [x0, x1). */
static void block_of(const plan *p, uint64_t item, uint64_t *b, uint64_t *y0, uint64_t *y1,
                     uint64_t *x0, uint64_t *x1)
{
    *b = item / p->x_blocks / p->y_blocks;
    *y0 = item / p->x_blocks % p->y_blocks * p->y_block;
    *x0 = item % p->x_blocks * p->x_block;
    *y1 = *y0 + p->y_block < p->y ? *y0 + p->y_block : p->y;
    *x1 = *x0 + p->x_block < p->x ? *x0 + p->x_block : p->x;
}

DV_TARGET_AVX2 DV_INLINE void batched(const plan *p, const void *in, int in8, void *out,
                                      int out8, uint64_t begin, uint64_t end)
{
    for (uint64_t item = begin; item < end; item++) {
        uint64_t b, y0, y1, x0, x1;
        block_of(p, item, &b, &y0, &y1, &x0, &x1);
        /* the sides of 2 to SMALL elements as constants, so that the lane loops unroll */
        if (p->x == 2)
            interleave(p, in, in8, out, out8, b, y0, y1, 2);
        else if (p->x == 3)
            interleave(p, in, in8, out, out8, b, y0, y1, 3);
        else if (p->x == 4)
            interleave(p, in, in8, out, out8, b, y0, y1, 4);
        else if (p->y == 2)
            deinterleave(p, in, in8, out, out8, b, x0, x1, 2);
        else if (p->y == 3)
            deinterleave(p, in, in8, out, out8, b, x0, x1, 3);
        else if (p->y == 4)
            deinterleave(p, in, in8, out, out8, b, x0, x1, 4);
        else
            tiles(p, in, in8, out, out8, b, y0, y1, x0, x1);
    }
}

/* ---- rows --------------------------------------------------------------------------------- */

/* n contiguous elements, converted. */
DV_TARGET_AVX2 DV_INLINE void copy_row(const void *in, uint64_t from, int in8, void *out,
                                       uint64_t to, int out8, uint64_t n)
{
    if (in8 == out8) {
        const size_t size = in8 ? 1 : 4;
        memcpy((char *)out + to * size, (const char *)in + from * size, (size_t)n * size);
        return;
    }
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8)
        store8(out, to + i, load8(in, from + i, in8), out8);
    for (; i < n; i++)
        put(out, to + i, get(in, from + i, in8), out8);
}

DV_TARGET_AVX2 DV_INLINE void rows(const plan *p, const void *in, int in8, void *out, int out8,
                                   uint64_t begin, uint64_t end)
{
    const uint32_t m = p->m;
    const uint64_t len = p->dim[m - 1], step = p->stride[m - 1];
    uint64_t f = begin * CHUNK;
    const uint64_t f1 = end * CHUNK < p->total ? end * CHUNK : p->total;
    /* the coordinates of f's row, and its input offset */
    uint64_t coord[DV_MAX_NDIM] = {0}, row = f / len, pos = f % len, base = 0;
    for (uint32_t k = m - 1; k-- > 0;) {
        coord[k] = row % p->dim[k];
        row /= p->dim[k];
        base += coord[k] * p->stride[k];
    }
    while (f < f1) {
        const uint64_t n = len - pos < f1 - f ? len - pos : f1 - f;
        if (step == 1) {
            copy_row(in, base + pos, in8, out, f, out8, n);
        } else {
            for (uint64_t i = 0; i < n; i++)
                put(out, f + i, get(in, base + (pos + i) * step, in8), out8);
        }
        f += n;
        pos = 0;
        for (uint32_t k = m - 1; k-- > 0;) {
            base += p->stride[k];
            if (++coord[k] < p->dim[k])
                break;
            base -= p->stride[k] * p->dim[k];
            coord[k] = 0;
        }
    }
}

/* ---- AVX-512: the (de)interleaving paths with 16 lanes ------------------------------------ */

DV_TARGET_VNNI DV_INLINE __m512i load16(const void *base, uint64_t at, int in8)
{
    if (in8)
        return _mm512_cvtepi8_epi32(
            _mm_loadu_si128((const __m128i *)(const void *)((const int8_t *)base + at)));
    return _mm512_loadu_si512((const void *)((const int32_t *)base + at));
}

/* vpmovsdb saturates to [-128, 127]: dv_store_i8. */
DV_TARGET_VNNI DV_INLINE void store16(void *base, uint64_t at, __m512i v, int out8)
{
    if (out8)
        _mm_storeu_si128((__m128i *)(void *)((int8_t *)base + at), _mm512_cvtsepi32_epi8(v));
    else
        _mm512_storeu_si512((void *)((int32_t *)base + at), v);
}

/* As shuffle_plan, with 16 lanes a vector: output lane (t, j) takes source lane from[16t + j]. */
typedef struct {
    __m512i lane[SMALL];
    __mmask16 pick[SMALL][SMALL];
} shuffle16_plan;

DV_TARGET_VNNI static void shuffle16_prepare(shuffle16_plan *sp, uint32_t n, const uint32_t *from)
{
    for (uint32_t t = 0; t < n; t++) {
        int32_t lane[16];
        for (uint32_t s = 0; s < n; s++)
            sp->pick[t][s] = 0;
        for (uint32_t j = 0; j < 16; j++) {
            lane[j] = (int32_t)(from[16 * t + j] % 16);
            sp->pick[t][from[16 * t + j] / 16] |= (__mmask16)(1u << j);
        }
        sp->lane[t] = _mm512_loadu_si512((const void *)lane);
    }
}

DV_TARGET_VNNI DV_INLINE __m512i shuffle16_one(const shuffle16_plan *sp, const __m512i *src,
                                               uint32_t n, uint32_t t)
{
    __m512i v = _mm512_permutexvar_epi32(sp->lane[t], src[0]);
    for (uint32_t s = 1; s < n; s++)
        v = _mm512_mask_permutexvar_epi32(v, sp->pick[t][s], sp->lane[t], src[s]);
    return v;
}

DV_TARGET_VNNI DV_INLINE void interleave16(const plan *p, const void *in, int in8, void *out,
                                           int out8, uint64_t b, uint64_t y0, uint64_t y1,
                                           uint32_t n)
{
    uint32_t from[16 * SMALL];
    for (uint32_t f = 0; f < 16 * n; f++)
        from[f] = (f % n) * 16 + f / n;
    shuffle16_plan sp;
    shuffle16_prepare(&sp, n, from);
    const uint64_t in_base = b * p->x * p->y;
    uint64_t y = y0;
    for (; y + 16 <= y1; y += 16) {
        __m512i src[SMALL];
        for (uint32_t s = 0; s < n; s++)
            src[s] = load16(in, in_base + s * p->y + y, in8);
        for (uint32_t t = 0; t < n; t++)
            store16(out, in_base + y * n + 16 * t, shuffle16_one(&sp, src, n, t), out8);
    }
    interleave(p, in, in8, out, out8, b, y, y1, n);
}

DV_TARGET_VNNI DV_INLINE void deinterleave16(const plan *p, const void *in, int in8, void *out,
                                             int out8, uint64_t b, uint64_t x0, uint64_t x1,
                                             uint32_t n)
{
    uint32_t from[16 * SMALL];
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t j = 0; j < 16; j++)
            from[16 * t + j] = j * n + t;
    shuffle16_plan sp;
    shuffle16_prepare(&sp, n, from);
    const uint64_t in_base = b * p->x * p->y;
    uint64_t x = x0;
    for (; x + 16 <= x1; x += 16) {
        __m512i src[SMALL];
        for (uint32_t s = 0; s < n; s++)
            src[s] = load16(in, in_base + x * n + 16 * s, in8);
        for (uint32_t t = 0; t < n; t++)
            store16(out, in_base + t * p->x + x, shuffle16_one(&sp, src, n, t), out8);
    }
    deinterleave(p, in, in8, out, out8, b, x, x1, n);
}

DV_TARGET_VNNI DV_INLINE void batched16(const plan *p, const void *in, int in8, void *out,
                                        int out8, uint64_t begin, uint64_t end)
{
    for (uint64_t item = begin; item < end; item++) {
        uint64_t b, y0, y1, x0, x1;
        block_of(p, item, &b, &y0, &y1, &x0, &x1);
        if (p->x == 2)
            interleave16(p, in, in8, out, out8, b, y0, y1, 2);
        else if (p->x == 3)
            interleave16(p, in, in8, out, out8, b, y0, y1, 3);
        else if (p->x == 4)
            interleave16(p, in, in8, out, out8, b, y0, y1, 4);
        else if (p->y == 2)
            deinterleave16(p, in, in8, out, out8, b, x0, x1, 2);
        else if (p->y == 3)
            deinterleave16(p, in, in8, out, out8, b, x0, x1, 3);
        else if (p->y == 4)
            deinterleave16(p, in, in8, out, out8, b, x0, x1, 4);
        else
            tiles(p, in, in8, out, out8, b, y0, y1, x0, x1);
    }
}

/* ---- entry -------------------------------------------------------------------------------- */

DV_TARGET_AVX2 DV_INLINE void run_typed(const plan *p, const void *in, int in8, void *out, int out8,
                                     uint64_t begin, uint64_t end)
{
    if (p->batched)
        batched(p, in, in8, out, out8, begin, end);
    else
        rows(p, in, in8, out, out8, begin, end);
}

DV_TARGET_VNNI DV_INLINE void run16_typed(const plan *p, const void *in, int in8, void *out,
                                          int out8, uint64_t begin, uint64_t end)
{
    if (p->batched)
        batched16(p, in, in8, out, out8, begin, end);
    else
        rows(p, in, in8, out, out8, begin, end);
}

/* One instance of the loops per pair of element types, so that the type tests fold away. */
DV_TARGET_AVX2 static void run_i32_i32(const plan *p, const void *in, void *out, uint64_t b,
                                       uint64_t e)
{
    run_typed(p, in, 0, out, 0, b, e);
}

DV_TARGET_AVX2 static void run_i32_i8(const plan *p, const void *in, void *out, uint64_t b,
                                      uint64_t e)
{
    run_typed(p, in, 0, out, 1, b, e);
}

DV_TARGET_AVX2 static void run_i8_i32(const plan *p, const void *in, void *out, uint64_t b,
                                      uint64_t e)
{
    run_typed(p, in, 1, out, 0, b, e);
}

DV_TARGET_AVX2 static void run_i8_i8(const plan *p, const void *in, void *out, uint64_t b,
                                     uint64_t e)
{
    run_typed(p, in, 1, out, 1, b, e);
}

DV_TARGET_VNNI static void run16_i32_i32(const plan *p, const void *in, void *out, uint64_t b,
                                         uint64_t e)
{
    run16_typed(p, in, 0, out, 0, b, e);
}

DV_TARGET_VNNI static void run16_i32_i8(const plan *p, const void *in, void *out, uint64_t b,
                                        uint64_t e)
{
    run16_typed(p, in, 0, out, 1, b, e);
}

DV_TARGET_VNNI static void run16_i8_i32(const plan *p, const void *in, void *out, uint64_t b,
                                        uint64_t e)
{
    run16_typed(p, in, 1, out, 0, b, e);
}

DV_TARGET_VNNI static void run16_i8_i8(const plan *p, const void *in, void *out, uint64_t b,
                                       uint64_t e)
{
    run16_typed(p, in, 1, out, 1, b, e);
}

typedef void (*typed_fn)(const plan *p, const void *in, void *out, uint64_t b, uint64_t e);

/* fns: the instances for int32 -> int32, int32 -> int8, int8 -> int32, int8 -> int8. */
static void run_with(const typed_fn *fns, const dv_tensor *in, dv_tensor *out,
                     const dv_attrs *attrs, uint64_t begin, uint64_t end)
{
    plan p;
    make_plan(attrs, &in[0].shape, &p);
    const int in8 = in[0].i8 != NULL, out8 = out[0].i8 != NULL;
    const void *x = in8 ? (const void *)in[0].i8 : (const void *)in[0].data;
    void *y = out8 ? (void *)out[0].i8 : (void *)out[0].data;
    fns[2 * in8 + out8](&p, x, y, begin, end);
}

static void transpose_run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                           uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,
                           uint64_t end)
{
    static const typed_fn fns[4] = {run_i32_i32, run_i32_i8, run_i8_i32, run_i8_i8};
    run_with(fns, in, out, attrs, begin, end);
}

static void transpose_run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                            uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,
                            uint64_t end)
{
    static const typed_fn fns[4] = {run16_i32_i32, run16_i32_i8, run16_i8_i32, run16_i8_i8};
    run_with(fns, in, out, attrs, begin, end);
}

const dv_variant dv_variant_transpose_vnni = {DV_OP_TRANSPOSE, DV_ISA_VNNI, "vnni", accepts,
                                              items, NULL, transpose_run16, DV_VARIANT_INT8};
const dv_variant dv_variant_transpose_avx2 = {DV_OP_TRANSPOSE, DV_ISA_AVX2, "avx2", accepts,
                                              items, NULL, transpose_run8, DV_VARIANT_INT8};

#endif
