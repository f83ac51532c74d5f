/* Element-wise CVM variants for x86-64, AVX2 and AVX-512: CVM_RIGHT_SHIFT, CVM_CLIP, CLIP,
 * RELU, ELEMWISE_ADD, BROADCAST_ADD when both inputs have the same shape, and the fused
 * ELEMWISE_ADD_SHIFT (ops/nn.c: elemwise_add, then cvm_right_shift, then an optional
 * activation).
 *
 * They give exactly the bytes of the reference kernels (ops/elemwise.c, ops/broadcast.c,
 * ops/nn.c) for every int32 input, on 32-bit lanes, with no range check and no fallback. Why
 * 32 bits are exact everywhere:
 *   - clip_formal(v, lo, hi) (v >= hi gives hi, else v <= lo gives lo, else v) equals
 *     min(max(v, lo), hi) whenever lo <= hi, and every clip here has lo <= hi with both in
 *     int32: CLIP's infer demands a_min < a_max within +-(2^31-1); CVM_CLIP and the shifts
 *     clip to [-alpha, alpha] with alpha = 2^(precision-1) - 1 in [0, 2^31-1]. vpmaxsd and
 *     vpminsd are that signed max and min.
 *   - RELU, max(x, 0), is vpmaxsd with 0 (a clip to [0, INT32_MAX]).
 *   - CVM_RIGHT_SHIFT: floor(x / 2^(shift_bit-1)) is the arithmetic shift vpsrad by
 *     shift_bit - 1 in 0..31 (vpsrad by a register count: counts up to 31 are the plain
 *     shift); the + 1 wraps modulo 2^32 in the reference (wrap_int32) as vpaddd does; the
 *     second floor halving is vpsrad by 1; then the clip above. shift_bit 32 gives 0 in both.
 *   - ELEMWISE_ADD and BROADCAST_ADD on equal shapes: y[i] = a[i] + b[i] modulo 2^32, vpaddd.
 *     (BROADCAST_ADD with equal shapes walks both inputs in row-major order with unit strides:
 *     the same flat index for a, b and y.)
 *   - ELEMWISE_ADD_SHIFT: the sum, then the shift and its clip, then the activation's clip.
 *
 * int8 storage (DV_VARIANT_INT8): each input may be int8 (sign-extended on load: vpmovsxbd)
 * and the output too (stored with signed saturation, which is dv_store_i8: vpmovsdb, or
 * vpackssdw then vpacksswb for AVX2).
 *
 * Work items: consecutive ranges of BLOCK elements of the flat tensor (the last may be
 * shorter); an item writes only its own range. */
#if defined(__x86_64__)

#include <immintrin.h>

#include "../nn.h"
#include "../nn_attrs.h"
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
static void range_of(const dv_tensor *out, uint64_t begin, uint64_t end, size_t *first,
                     size_t *count)
{
    uint64_t n = elements(&out[0].shape);
    uint64_t lo = begin * BLOCK, hi = end * BLOCK;
    if (hi > n)
        hi = n;
    if (lo > hi)
        lo = hi;
    *first = (size_t)lo;
    *count = (size_t)(hi - lo);
}

/* What one instance computes per element: y = clip(clip(shift(x), lo, hi), act_lo, act_hi),
 * x being the input, or the sum of the two inputs when `binary`; the shift is
 * CVM_RIGHT_SHIFT's rounding one when `rounding` is set (see the top), else none. */
typedef struct {
    int binary, rounding;
    uint32_t shift;             /* shift_bit - 1, 0..31 */
    int32_t lo, hi, act_lo, act_hi;
} clip_params;

/* 2^(precision-1) - 1 for precision 1..32. */
static int32_t precision_max(int32_t precision)
{
    return (int32_t)(((int64_t)1 << (precision - 1)) - 1);
}

static clip_params no_clip(void)
{
    clip_params p = {0, 0, 0, INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX};
    return p;
}

static clip_params params_relu(const dv_attrs *attrs)
{
    clip_params p = no_clip();
    p.lo = 0;
    return p;
}

static clip_params params_clip(const dv_attrs *attrs)
{
    clip_params p = no_clip();
    p.lo = attrs->v[0];
    p.hi = attrs->v[1];
    return p;
}

static clip_params params_cvm_clip(const dv_attrs *attrs)
{
    clip_params p = no_clip();
    p.hi = precision_max(attrs->v[0]);
    p.lo = -p.hi;
    return p;
}

static clip_params params_right_shift(const dv_attrs *attrs)
{
    clip_params p = params_cvm_clip(attrs);
    p.rounding = 1;
    p.shift = (uint32_t)attrs->v[1] - 1;
    return p;
}

static clip_params params_add(const dv_attrs *attrs)
{
    clip_params p = no_clip();
    p.binary = 1;
    return p;
}

/* The epilogue (nn_attrs.h): the shift as CVM_RIGHT_SHIFT, then the activation's clip. */
static clip_params params_add_shift(const dv_attrs *attrs)
{
    const int32_t *e = attrs->v;
    clip_params p = params_right_shift(attrs);
    p.binary = 1;
    if (e[EPI_ACT] == DV_OP_RELU) {
        p.act_lo = 0;
    } else if (e[EPI_ACT] == DV_OP_CLIP) {
        p.act_lo = e[EPI_ACT_A];
        p.act_hi = e[EPI_ACT_B];
    } else if (e[EPI_ACT] == DV_OP_CVM_CLIP) {
        p.act_hi = precision_max(e[EPI_ACT_A]);
        p.act_lo = -p.act_hi;
    }
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

static int accepts_add_shift(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return attrs->n == EPI_N_ATTRS && n_in == 2 && dv_shape_equal(&in[0], &in[1]) &&
           dv_epilogue_valid(attrs->v);
}

/* The tensors of one run: each input and the output int32 or int8. */
typedef struct {
    const int32_t *a32, *b32;
    const int8_t *a8, *b8;
    int32_t *y32;
    int8_t *y8;
} operands;

static operands operands_of(const dv_tensor *in, dv_tensor *out, const clip_params *p)
{
    operands o = {in[0].data, p->binary ? in[1].data : 0, in[0].i8, p->binary ? in[1].i8 : 0,
                  out[0].data, out[0].i8};
    return o;
}

/* ---- AVX-512 -------------------------------------------------------------------------------- */

DV_TARGET_VNNI DV_INLINE __m512i avx512_load(const int32_t *p32, const int8_t *p8, size_t i,
                                            __mmask16 m)
{
    if (p8)
        return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p8 + i));
    return _mm512_maskz_loadu_epi32(m, p32 + i);
}

DV_TARGET_VNNI DV_INLINE __m512i avx512_clip(__m512i x, const clip_params *p, __m128i count)
{
    if (p->rounding) {
        x = _mm512_sra_epi32(x, count);
        x = _mm512_srai_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(1)), 1);
    }
    x = _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(p->lo)), _mm512_set1_epi32(p->hi));
    return _mm512_min_epi32(_mm512_max_epi32(x, _mm512_set1_epi32(p->act_lo)),
                            _mm512_set1_epi32(p->act_hi));
}

DV_TARGET_VNNI static void avx512_range(const operands *o, size_t first, size_t n,
                                       clip_params p)
{
    const __m128i count = _mm_cvtsi32_si128((int)p.shift);
    for (size_t i = first; i < first + n; i += 16) {
        const size_t left = first + n - i;
        const __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        __m512i x = avx512_load(o->a32, o->a8, i, m);
        if (p.binary)
            x = _mm512_add_epi32(x, avx512_load(o->b32, o->b8, i, m));
        x = avx512_clip(x, &p, count);
        if (o->y8)
            _mm512_mask_cvtsepi32_storeu_epi8(o->y8 + i, m, x);
        else
            _mm512_mask_storeu_epi32(o->y32 + i, m, x);
    }
}

/* ---- AVX2 ----------------------------------------------------------------------------------- */

/* Lanes [0, left) set, for left in 1..8. */
DV_TARGET_AVX2 DV_INLINE __m256i avx2_mask(size_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Elements [i, i + left) (left <= 8; the lanes past it are 0). */
DV_TARGET_AVX2 DV_INLINE __m256i avx2_load(const int32_t *p32, const int8_t *p8, size_t i,
                                          size_t left)
{
    if (p8) {
        int64_t bytes = 0;
        memcpy(&bytes, p8 + i, left >= 8 ? 8 : left);
        return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
    }
    if (left >= 8)
        return _mm256_loadu_si256((const __m256i *)(const void *)(p32 + i));
    return _mm256_maskload_epi32(p32 + i, avx2_mask(left));
}

DV_TARGET_AVX2 DV_INLINE __m256i avx2_clip(__m256i x, const clip_params *p, __m128i count)
{
    if (p->rounding) {
        x = _mm256_sra_epi32(x, count);
        x = _mm256_srai_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(1)), 1);
    }
    x = _mm256_min_epi32(_mm256_max_epi32(x, _mm256_set1_epi32(p->lo)), _mm256_set1_epi32(p->hi));
    return _mm256_min_epi32(_mm256_max_epi32(x, _mm256_set1_epi32(p->act_lo)),
                            _mm256_set1_epi32(p->act_hi));
}

DV_TARGET_AVX2 static void avx2_range(const operands *o, size_t first, size_t n, clip_params p)
{
    const __m128i count = _mm_cvtsi32_si128((int)p.shift);
    for (size_t i = first; i < first + n; i += 8) {
        const size_t left = first + n - i;
        __m256i x = avx2_load(o->a32, o->a8, i, left);
        if (p.binary)
            x = _mm256_add_epi32(x, avx2_load(o->b32, o->b8, i, left));
        x = avx2_clip(x, &p, count);
        if (!o->y8) {
            if (left >= 8)
                _mm256_storeu_si256((__m256i *)(void *)(o->y32 + i), x);
            else
                _mm256_maskstore_epi32(o->y32 + i, avx2_mask(left), x);
            continue;
        }
        dv_store_i8x8(o->y8 + i, x, left >= 8 ? 8 : left);
    }
}

/* ---- the variants --------------------------------------------------------------------------- */

#define RUN(ISA, OP)                                                                               \
    static void ISA##_run_##OP(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,         \
                               uint32_t n_out, dv_tensor *out, int32_t *scratch, uint64_t begin,   \
                               uint64_t end)                                                       \
    {                                                                                              \
        size_t first, count;                                                                       \
        range_of(out, begin, end, &first, &count);                                                 \
        const clip_params p = params_##OP(attrs);                                                  \
        const operands o = operands_of(in, out, &p);                                               \
        if (count)                                                                                 \
            ISA##_range(&o, first, count, p);                                                      \
    }

RUN(avx512, relu)
RUN(avx512, clip)
RUN(avx512, cvm_clip)
RUN(avx512, right_shift)
RUN(avx512, add)
RUN(avx512, add_shift)
RUN(avx2, relu)
RUN(avx2, clip)
RUN(avx2, cvm_clip)
RUN(avx2, right_shift)
RUN(avx2, add)
RUN(avx2, add_shift)

#define VARIANTS(NAME, OPCODE, ACCEPTS, RUN)                                                       \
    const dv_variant dv_variant_##NAME##_vnni = {OPCODE, DV_ISA_VNNI, "vnni", ACCEPTS,            \
                                                 block_items, 0, avx512_run_##RUN,                 \
                                                 DV_VARIANT_INT8};                                 \
    const dv_variant dv_variant_##NAME##_avx2 = {OPCODE, DV_ISA_AVX2, "avx2", ACCEPTS,            \
                                                 block_items, 0, avx2_run_##RUN, DV_VARIANT_INT8};

VARIANTS(cvm_right_shift, DV_OP_CVM_RIGHT_SHIFT, accepts_right_shift, right_shift)
VARIANTS(cvm_clip, DV_OP_CVM_CLIP, accepts_cvm_clip, cvm_clip)
VARIANTS(clip, DV_OP_CLIP, accepts_clip, clip)
VARIANTS(relu, DV_OP_RELU, accepts_none, relu)
VARIANTS(elemwise_add, DV_OP_ELEMWISE_ADD, accepts_add, add)
VARIANTS(broadcast_add, DV_OP_BROADCAST_ADD, accepts_add, add)
VARIANTS(elemwise_add_shift, DV_OP_ELEMWISE_ADD_SHIFT, accepts_add_shift, add_shift)

#endif
