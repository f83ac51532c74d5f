/* Element-wise CVM variants for x86-64, AVX2 and AVX-512: CVM_RIGHT_SHIFT, CVM_CLIP, CLIP,
 * RELU, ELEMWISE_ADD, and BROADCAST_ADD when both inputs have the same shape.
 *
 * They give exactly the bytes of the reference kernels (ops/elemwise.c, ops/broadcast.c) for
 * every int32 input, on 32-bit lanes, with no range check and no fallback. Why 32 bits are
 * exact everywhere:
 *   - clip_formal(v, lo, hi) (v >= hi gives hi, else v <= lo gives lo, else v) equals
 *     min(max(v, lo), hi) whenever lo <= hi, and every clip here has lo <= hi with both in
 *     int32: CLIP's infer demands a_min < a_max within +-(2^31-1); CVM_CLIP and the shifts
 *     clip to [-alpha, alpha] with alpha = 2^(precision-1) - 1 in [0, 2^31-1]. vpmaxsd and
 *     vpminsd are that signed max and min.
 *   - RELU, max(x, 0), is vpmaxsd with 0.
 *   - CVM_RIGHT_SHIFT: floor(x / 2^(shift_bit-1)) is the arithmetic shift vpsrad by
 *     shift_bit - 1 in 0..31 (vpsrad by a register count: counts up to 31 are the plain
 *     shift); the + 1 wraps modulo 2^32 in the reference (wrap_int32) as vpaddd does; the
 *     second floor halving is vpsrad by 1; then the clip above. shift_bit 32 gives 0 in both.
 *   - ELEMWISE_ADD and BROADCAST_ADD on equal shapes: y[i] = a[i] + b[i] modulo 2^32, vpaddd.
 *     (BROADCAST_ADD with equal shapes walks both inputs in row-major order with unit strides:
 *     the same flat index for a, b and y.)
 *
 * Work items: consecutive ranges of BLOCK elements of the flat tensor (the last may be
 * shorter); an item writes only its own range. */
#if defined(__x86_64__)

#include <immintrin.h>

#include "../variant.h"
#include "x86.h"

#define BLOCK 8192

static uint64_t elements(const dv_shape *s)
{
    return dv_shape_size(s);
}

static uint64_t block_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    uint64_t n = elements(&in[0]);
    return n ? (n + BLOCK - 1) / BLOCK : 1;
}

/* The element range of items [begin, end). */
static void range_of(const dv_tensor *in, uint64_t begin, uint64_t end, size_t *first,
                     size_t *count)
{
    uint64_t n = elements(&in[0].shape);
    uint64_t lo = begin * BLOCK, hi = end * BLOCK;
    if (hi > n)
        hi = n;
    if (lo > hi)
        lo = hi;
    *first = (size_t)lo;
    *count = (size_t)(hi - lo);
}

/* The clip bounds and shift of one instance: y = min(max(x >> shift, lo), hi), the shift
 * being CVM_RIGHT_SHIFT's rounding one when `rounding` is set (see the top). */
typedef struct {
    int32_t lo, hi;
    int rounding;
    uint32_t shift;     /* shift_bit - 1, 0..31 */
} clip_params;

/* 2^(precision-1) - 1 for precision 1..32. */
static int32_t precision_max(int32_t precision)
{
    return (int32_t)(((int64_t)1 << (precision - 1)) - 1);
}

static clip_params params_relu(const dv_attrs *attrs)
{
    clip_params p = {0, INT32_MAX, 0, 0};
    return p;
}

static clip_params params_clip(const dv_attrs *attrs)
{
    clip_params p = {attrs->v[0], attrs->v[1], 0, 0};
    return p;
}

static clip_params params_cvm_clip(const dv_attrs *attrs)
{
    int32_t alpha = precision_max(attrs->v[0]);
    clip_params p = {-alpha, alpha, 0, 0};
    return p;
}

static clip_params params_right_shift(const dv_attrs *attrs)
{
    int32_t alpha = precision_max(attrs->v[0]);
    clip_params p = {-alpha, alpha, 1, (uint32_t)attrs->v[1] - 1};
    return p;
}

/* What infer guarantees, checked again so that a variant never computes from attributes
 * outside the ranges the proof above covers. */
static int accepts_none(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == 0 && n_in == 1;
}

static int accepts_clip(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == 2 && n_in == 1 && attrs->v[0] != INT32_MIN && attrs->v[0] < attrs->v[1];
}

static int accepts_cvm_clip(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == 1 && n_in == 1 && attrs->v[0] >= 1 && attrs->v[0] <= 32;
}

static int accepts_right_shift(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == 2 && n_in == 1 && attrs->v[0] >= 1 && attrs->v[0] <= 32 &&
           attrs->v[1] >= 1 && attrs->v[1] <= 32;
}

static int accepts_add(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == 0 && n_in == 2 && dv_shape_equal(&in[0], &in[1]);
}

/* ---- AVX-512 -------------------------------------------------------------------------------- */

DV_TARGET_VNNI DV_INLINE __m512i avx512_clip(__m512i x, const clip_params *p, __m128i count,
                                            __m512i one, __m512i lo, __m512i hi)
{
    if (p->rounding) {
        x = _mm512_sra_epi32(x, count);
        x = _mm512_srai_epi32(_mm512_add_epi32(x, one), 1);
    }
    return _mm512_min_epi32(_mm512_max_epi32(x, lo), hi);
}

DV_TARGET_VNNI static void avx512_clip_range(const int32_t *x, int32_t *y, size_t n,
                                            clip_params p)
{
    const __m128i count = _mm_cvtsi32_si128((int)p.shift);
    const __m512i one = _mm512_set1_epi32(1), lo = _mm512_set1_epi32(p.lo),
                  hi = _mm512_set1_epi32(p.hi);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512i v[4];
        DV_UNROLL for (int k = 0; k < 4; k++)
            v[k] = avx512_clip(_mm512_loadu_si512(x + i + 16 * k), &p, count, one, lo, hi);
        DV_UNROLL for (int k = 0; k < 4; k++)
            _mm512_storeu_si512(y + i + 16 * k, v[k]);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512i v = avx512_clip(_mm512_maskz_loadu_epi32(m, x + i), &p, count, one, lo, hi);
        _mm512_mask_storeu_epi32(y + i, m, v);
    }
}

DV_TARGET_VNNI static void avx512_add_range(const int32_t *a, const int32_t *b, int32_t *y,
                                           size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i s0 = _mm512_add_epi32(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
        __m512i s1 = _mm512_add_epi32(_mm512_loadu_si512(a + i + 16),
                                      _mm512_loadu_si512(b + i + 16));
        _mm512_storeu_si512(y + i, s0);
        _mm512_storeu_si512(y + i + 16, s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512i s = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, a + i),
                                     _mm512_maskz_loadu_epi32(m, b + i));
        _mm512_mask_storeu_epi32(y + i, m, s);
    }
}

/* ---- AVX2 ----------------------------------------------------------------------------------- */

DV_TARGET_AVX2 DV_INLINE __m256i avx2_clip(__m256i x, const clip_params *p, __m128i count,
                                          __m256i one, __m256i lo, __m256i hi)
{
    if (p->rounding) {
        x = _mm256_sra_epi32(x, count);
        x = _mm256_srai_epi32(_mm256_add_epi32(x, one), 1);
    }
    return _mm256_min_epi32(_mm256_max_epi32(x, lo), hi);
}

/* Lanes [0, left) set, for left in 1..8. */
DV_TARGET_AVX2 DV_INLINE __m256i avx2_mask(size_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

DV_TARGET_AVX2 static void avx2_clip_range(const int32_t *x, int32_t *y, size_t n,
                                          clip_params p)
{
    const __m128i count = _mm_cvtsi32_si128((int)p.shift);
    const __m256i one = _mm256_set1_epi32(1), lo = _mm256_set1_epi32(p.lo),
                  hi = _mm256_set1_epi32(p.hi);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v[4];
        DV_UNROLL for (int k = 0; k < 4; k++)
            v[k] = avx2_clip(_mm256_loadu_si256((const __m256i *)(const void *)(x + i + 8 * k)),
                             &p, count, one, lo, hi);
        DV_UNROLL for (int k = 0; k < 4; k++)
            _mm256_storeu_si256((__m256i *)(void *)(y + i + 8 * k), v[k]);
    }
    for (; i < n; i += 8) {
        __m256i m = avx2_mask(n - i);
        __m256i v = avx2_clip(_mm256_maskload_epi32(x + i, m), &p, count, one, lo, hi);
        _mm256_maskstore_epi32(y + i, m, v);
    }
}

DV_TARGET_AVX2 static void avx2_add_range(const int32_t *a, const int32_t *b, int32_t *y,
                                         size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i s0 = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(a + i)),
                                      _mm256_loadu_si256((const __m256i *)(const void *)(b + i)));
        __m256i s1 =
            _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(a + i + 8)),
                             _mm256_loadu_si256((const __m256i *)(const void *)(b + i + 8)));
        _mm256_storeu_si256((__m256i *)(void *)(y + i), s0);
        _mm256_storeu_si256((__m256i *)(void *)(y + i + 8), s1);
    }
    for (; i < n; i += 8) {
        __m256i m = avx2_mask(n - i);
        __m256i s = _mm256_add_epi32(_mm256_maskload_epi32(a + i, m),
                                     _mm256_maskload_epi32(b + i, m));
        _mm256_maskstore_epi32(y + i, m, s);
    }
}

/* ---- the variants --------------------------------------------------------------------------- */

#define CLIP_RUN(ISA, OP)                                                                          \
    static void ISA##_run_##OP(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,         \
                               uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,   \
                               uint64_t end)                                                       \
    {                                                                                              \
        size_t first, count;                                                                       \
        range_of(in, begin, end, &first, &count);                                                  \
        if (count)                                                                                 \
            ISA##_clip_range(in[0].data + first, out[0].data + first, count, params_##OP(attrs));  \
    }

#define ADD_RUN(ISA)                                                                               \
    static void ISA##_run_add(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,          \
                              uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,    \
                              uint64_t end)                                                        \
    {                                                                                              \
        size_t first, count;                                                                       \
        range_of(in, begin, end, &first, &count);                                                  \
        if (count)                                                                                 \
            ISA##_add_range(in[0].data + first, in[1].data + first, out[0].data + first, count);   \
    }

CLIP_RUN(avx512, relu)
CLIP_RUN(avx512, clip)
CLIP_RUN(avx512, cvm_clip)
CLIP_RUN(avx512, right_shift)
ADD_RUN(avx512)
CLIP_RUN(avx2, relu)
CLIP_RUN(avx2, clip)
CLIP_RUN(avx2, cvm_clip)
CLIP_RUN(avx2, right_shift)
ADD_RUN(avx2)

#define VARIANTS(NAME, OPCODE, ACCEPTS, RUN)                                                       \
    const dv_variant dv_variant_##NAME##_vnni = {OPCODE, DV_ISA_VNNI, "vnni", ACCEPTS,            \
                                                 block_items, 0, avx512_run_##RUN, 0};             \
    const dv_variant dv_variant_##NAME##_avx2 = {OPCODE, DV_ISA_AVX2, "avx2", ACCEPTS,            \
                                                 block_items, 0, avx2_run_##RUN, 0};

VARIANTS(cvm_right_shift, DV_OP_CVM_RIGHT_SHIFT, accepts_right_shift, right_shift)
VARIANTS(cvm_clip, DV_OP_CVM_CLIP, accepts_cvm_clip, cvm_clip)
VARIANTS(clip, DV_OP_CLIP, accepts_clip, clip)
VARIANTS(relu, DV_OP_RELU, accepts_none, relu)
VARIANTS(elemwise_add, DV_OP_ELEMWISE_ADD, accepts_add, add)
VARIANTS(broadcast_add, DV_OP_BROADCAST_ADD, accepts_add, add)

#endif
