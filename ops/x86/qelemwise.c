/* QADD and QSUB (ops/qelemwise.c) on x86-64: AVX-512 (the "vnni" level: 16 lanes) and AVX2 (8
 * lanes) variants, for two inputs of the same shape (MobileNetV2's residual adds); broadcasting
 * instances are declined and run on the reference kernel. Each input and the output may be
 * int32 or int8 (DV_VARIANT_INT8): int8 inputs are sign-extended, and an int8 output is
 * narrowed with signed saturation (dv_store_i8).
 *
 * Per element, the reference computes (attrs v[0..12], ops/qelemwise.c):
 *     a' = MBQM1(wrap32(wrap32(a - v[0]) * 2^v[6]), v[1], v[2])
 *     b' = MBQM1(wrap32(wrap32(b - v[3]) * 2^v[6]), v[4], v[5])
 *     y  = clamp(wrap32(MBQM1(wrap32(a' +- b'), v[7], v[8]) + v[9]), v[10], v[11])
 * with MBQM1 = dv_multiply_by_quantized_multiplier_smaller_than_one under rounding v[12], that
 * is dv_multiply_by_quantized_multiplier with the shift min(shift, 0). Every step is modular
 * int32 arithmetic, which vpsubd, vpslld (a left shift by 0..30 is the multiplication by 2^v[6]
 * modulo 2^32), vpaddd and the lane-exact requantizations of qnn_simd.h compute for any int32
 * input: no range check and no fallback are needed. AVX2 scales the inputs with qnn_simd.h's
 * dv_rq8 (offset 0 and the clamp [INT32_MIN, INT32_MAX], the identity) and the output with
 * v[9], v[10], v[11] (infer guarantees v[10] <= v[11], so max then min is dv_clamp). AVX-512
 * uses the folded form dv_rq16w, which needs about half the instructions, and an input whose
 * multiplier is 2^30 (TFLite's ratio 1/2 for the input of the larger scale) is scaled by an
 * arithmetic shift, exact as explained at scale16.
 *
 * Work items: blocks of CHUNK consecutive elements. No scratch. */
#if defined(__x86_64__)

#include <string.h>

#include "../op.h"
#include "../quant.h"
#include "../variant.h"
#include "qnn_simd.h"

#define CHUNK 2048

static int accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 2 && attrs->n == 13 && dv_shape_equal(&in[0], &in[1]);
}

static uint64_t items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    const uint64_t n = dv_shape_size(&in[0]);
    return n ? (n + CHUNK - 1) / CHUNK : 1;
}

/* The shift MBQM1 uses. */
static int32_t below_one(int32_t shift)
{
    return shift > 0 ? 0 : shift;
}

/* ---- AVX2 --------------------------------------------------------------------------------- */

typedef struct {
    dv_rq8_prepared a, b, y;
    __m256i a_zero, b_zero, left;
} plan8;

DV_TARGET_AVX2 static void prepare8(plan8 *p, const int32_t *v)
{
    const dv_requant_op identity = {v[12], 0, INT32_MIN, INT32_MAX};
    const dv_requant_op output = {v[12], v[9], v[10], v[11]};
    dv_rq8_prepare(&p->a, _mm256_set1_epi32(v[1]), _mm256_set1_epi32(below_one(v[2])), &identity);
    dv_rq8_prepare(&p->b, _mm256_set1_epi32(v[4]), _mm256_set1_epi32(below_one(v[5])), &identity);
    dv_rq8_prepare(&p->y, _mm256_set1_epi32(v[7]), _mm256_set1_epi32(below_one(v[8])), &output);
    p->a_zero = _mm256_set1_epi32(v[0]);
    p->b_zero = _mm256_set1_epi32(v[3]);
    p->left = _mm256_set1_epi32(v[6]);
}

DV_TARGET_AVX2 DV_INLINE __m256i element8(const plan8 *p, __m256i a, __m256i b, int sub)
{
    a = dv_rq8_apply(_mm256_sllv_epi32(_mm256_sub_epi32(a, p->a_zero), p->left), &p->a);
    b = dv_rq8_apply(_mm256_sllv_epi32(_mm256_sub_epi32(b, p->b_zero), p->left), &p->b);
    return dv_rq8_apply(sub ? _mm256_sub_epi32(a, b) : _mm256_add_epi32(a, b), &p->y);
}

/* As load16 and store16, with 8 lanes: a partial vector of int8 goes through a buffer. */
DV_TARGET_AVX2 DV_INLINE __m256i load8(const void *t, uint64_t i, uint32_t n, int is8)
{
    if (is8) {
        int8_t bytes[16] = {0};
        const int8_t *from = (const int8_t *)t + i;
        if (n < 8) {
            memcpy(bytes, from, n);
            from = bytes;
        }
        return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)from));
    }
    if (n == 8)
        return _mm256_loadu_si256((const __m256i *)(const void *)((const int32_t *)t + i));
    return _mm256_maskload_epi32((const int32_t *)t + i, dv_lanes8(n));
}

DV_TARGET_AVX2 DV_INLINE void loop8(const plan8 *p, const void *a, const void *b, void *y,
                                    uint64_t i, uint64_t i1, int a8, int b8, int y8, int sub)
{
    for (; i + 8 <= i1; i += 8)
        dv_store_lanes8(y, i, element8(p, load8(a, i, 8, a8), load8(b, i, 8, b8), sub), 8, y8);
    if (i < i1) {
        const uint32_t n = (uint32_t)(i1 - i);
        dv_store_lanes8(y, i, element8(p, load8(a, i, n, a8), load8(b, i, n, b8), sub), n, y8);
    }
}

#define LOOP8(k)                                                                               \
    case k:                                                                                    \
        loop8(&p, a, b, y, i0, i1, (k) & 1, (k) >> 1 & 1, (k) >> 2 & 1, (k) >> 3 & 1);        \
        break;

DV_TARGET_AVX2 static void run8(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                uint64_t begin, uint64_t end, int sub)
{
    plan8 p;
    prepare8(&p, attrs->v);
    const uint64_t n = dv_shape_size(&in[0].shape);
    const void *a = in[0].i8 ? (const void *)in[0].i8 : (const void *)in[0].data;
    const void *b = in[1].i8 ? (const void *)in[1].i8 : (const void *)in[1].data;
    void *y = out[0].i8 ? (void *)out[0].i8 : (void *)out[0].data;
    const int kind = (in[0].i8 != NULL) | (in[1].i8 != NULL) << 1 | (out[0].i8 != NULL) << 2 |
                     sub << 3;
    const uint64_t i0 = begin * CHUNK, i1 = end * CHUNK < n ? end * CHUNK : n;
    switch (kind) {
        LOOP8(0) LOOP8(1) LOOP8(2) LOOP8(3) LOOP8(4) LOOP8(5) LOOP8(6) LOOP8(7)
        LOOP8(8) LOOP8(9) LOOP8(10) LOOP8(11) LOOP8(12) LOOP8(13) LOOP8(14) LOOP8(15)
    }
}

static void qadd_run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run8(attrs, in, out, begin, end, 0);
}

static void qsub_run8(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                      dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run8(attrs, in, out, begin, end, 1);
}

/* ---- AVX-512 ------------------------------------------------------------------------------ */

/* MBQM1(X, m, -r) for X = (x - zero) * 2^left, in the form of qnn_simd.h's dv_rq16w (see there
 * for the proof): with P = x * m (vpmuldq, exact in 64 bits),
 *     double rounding: low32((P + 2^(30-left) + [r >= 1] (2^(30+r-left) - [P' < -2^(30-left)]
 *                      2^(31-left)) - zero * m) >> (31 + r - left)),  P' = P - zero * m
 *     single rounding: low32((P + 2^(30+r-left) - zero * m) >> (31 + r - left))
 * which is dv_rq16w's form on X * m with numerator and denominator divided by 2^left (every
 * power of two in it is at least 2^(30-left)), and zero * m moved out of the product. Valid
 * whenever X does not wrap: always for left = zero = 0, which serves any int32 x; for an int8
 * x with |zero| <= 256 and left <= 20, |X| < 384 * 2^20. The numerator stays below 2^62 + 2^39
 * in magnitude. r is in [0, 31]: infer's shifts -31..0 (MBQM1 takes min(shift, 0), then
 * quant.h clamps to -31). */
typedef struct {
    __m512i m, c, t, d;  /* t = INT64_MIN (no adjustment) but under double rounding, r >= 1 */
    __m128i k;
} affine16;

static int32_t right_of(int32_t shift)
{
    return shift >= 0 ? 0 : shift < -31 ? 31 : -shift;
}

DV_TARGET_VNNI static void affine_prepare(affine16 *f, int32_t multiplier, int32_t r,
                                          int32_t left, int32_t zero, int32_t rounding)
{
    const int64_t zm = (int64_t)zero * multiplier;
    int64_t c = -zm, t = INT64_MIN, d = 0;
    if (rounding == DV_ROUND_DOUBLE) {
        c += (int64_t)1 << (30 - left);
        if (r >= 1) {
            c += (int64_t)1 << (30 + r - left);
            t = zm - ((int64_t)1 << (30 - left));
            d = (int64_t)1 << (31 - left);
        }
    } else {
        c += (int64_t)1 << (30 + r - left);
    }
    f->m = _mm512_set1_epi32(multiplier);
    f->c = _mm512_set1_epi64(c);
    f->t = _mm512_set1_epi64(t);
    f->d = _mm512_set1_epi64(d);
    f->k = _mm_cvtsi32_si128(31 + r - left);
}

DV_TARGET_VNNI DV_INLINE __m512i affine16_apply(__m512i x, const affine16 *f)
{
    const __m512i merge = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28,
                                            14, 30);
    __m512i even = _mm512_mul_epi32(x, f->m);
    __m512i odd = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), f->m);
    even = _mm512_mask_sub_epi64(even, _mm512_cmplt_epi64_mask(even, f->t), even, f->d);
    odd = _mm512_mask_sub_epi64(odd, _mm512_cmplt_epi64_mask(odd, f->t), odd, f->d);
    even = _mm512_sra_epi64(_mm512_add_epi64(even, f->c), f->k);
    odd = _mm512_sra_epi64(_mm512_add_epi64(odd, f->c), f->k);
    return _mm512_permutex2var_epi32(even, merge, odd);
}

/* One input's scaling. For the multiplier 2^30 with 1 + r <= left_shift (TFLite's ratio 1/2,
 * which it gives to the input of the larger scale) it is a shift: X = wrap32(d * 2^left_shift)
 * is a multiple of 2^(1 + r), so SaturatingRoundingDoublingHighMul(X, 2^30) =
 * floor((X + 1) / 2) = X / 2 and RoundingDivideByPOT by r divides exactly, as does single
 * rounding's floor(X / 2^(1 + r) + 1/2): the result is X >> (1 + r), and (x - zero) <<
 * (left_shift - 1 - r) when X does not wrap. Otherwise affine16, on X (`any`, for any int32
 * input) or folded (`int8`, for an int8 input when |zero| <= 256 and left_shift <= 20). */
typedef struct {
    affine16 any, int8;
    __m512i zero, left;
    __m128i halve, shift8;
    int shift;
} input16;

DV_TARGET_VNNI static void prepare_input16(input16 *p, const int32_t *v, int32_t zero,
                                           int32_t multiplier, int32_t shift)
{
    const int32_t r = right_of(shift), left = v[6];
    p->shift = multiplier == (1 << 30) && 1 + r <= left;
    p->zero = _mm512_set1_epi32(zero);
    p->left = _mm512_set1_epi32(left);
    p->halve = _mm_cvtsi32_si128(1 + r);
    p->shift8 = _mm_cvtsi32_si128(p->shift ? left - 1 - r : 0);
    affine_prepare(&p->any, multiplier, r, 0, 0, v[12]);
    if (zero >= -256 && zero <= 256 && left <= 20)
        affine_prepare(&p->int8, multiplier, r, left, zero, v[12]);
}

DV_TARGET_VNNI DV_INLINE __m512i scale16(__m512i x, const input16 *p)
{
    x = _mm512_sllv_epi32(_mm512_sub_epi32(x, p->zero), p->left);
    return p->shift ? _mm512_sra_epi32(x, p->halve) : affine16_apply(x, &p->any);
}

/* The same for an int8 input, with its kind (`shift`) known. */
DV_TARGET_VNNI DV_INLINE __m512i scale16_int8(__m512i x, const input16 *p, int shift)
{
    if (shift)
        return _mm512_sll_epi32(_mm512_sub_epi32(x, p->zero), p->shift8);
    return affine16_apply(x, &p->int8);
}

typedef struct {
    input16 a, b;
    affine16 y;
    __m512i offset, lo, hi;
    int clamp;          /* [act_min, act_max] narrower than [-128, 127] */
    int int8;           /* the folded forms are valid for int8 inputs */
} plan16;

DV_TARGET_VNNI static void prepare16(plan16 *p, const int32_t *v)
{
    prepare_input16(&p->a, v, v[0], v[1], v[2]);
    prepare_input16(&p->b, v, v[3], v[4], v[5]);
    affine_prepare(&p->y, v[7], right_of(v[8]), 0, 0, v[12]);
    p->offset = _mm512_set1_epi32(v[9]);
    p->lo = _mm512_set1_epi32(v[10]);
    p->hi = _mm512_set1_epi32(v[11]);
    p->clamp = v[10] > -128 || v[11] < 127;
    p->int8 = v[0] >= -256 && v[0] <= 256 && v[3] >= -256 && v[3] <= 256 && v[6] <= 20;
}

/* y from the scaled inputs; clamp = 0 when the int8 store's saturation makes it redundant
 * (act_min <= -128 and act_max >= 127). */
DV_TARGET_VNNI DV_INLINE __m512i output16(const plan16 *p, __m512i a, __m512i b, int sub,
                                          int clamp)
{
    const __m512i v = _mm512_add_epi32(
        affine16_apply(sub ? _mm512_sub_epi32(a, b) : _mm512_add_epi32(a, b), &p->y), p->offset);
    return clamp ? _mm512_min_epi32(_mm512_max_epi32(v, p->lo), p->hi) : v;
}

/* Elements [i0, i1) from int32 or int8 memory (a8, b8, y8). */
DV_TARGET_VNNI DV_INLINE __m512i load16(const void *t, uint64_t i, __mmask16 m, int is8)
{
    if (is8)
        return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, (const int8_t *)t + i));
    return _mm512_maskz_loadu_epi32(m, (const int32_t *)t + i);
}

/* vpmovsdb saturates to [-128, 127]: dv_store_i8. */
DV_TARGET_VNNI DV_INLINE void store16(void *t, uint64_t i, __mmask16 m, __m512i v, int is8)
{
    if (is8)
        _mm512_mask_cvtsepi32_storeu_epi8((int8_t *)t + i, m, v);
    else
        _mm512_mask_storeu_epi32((int32_t *)t + i, m, v);
}

/* One vector: int8 = 1 takes both inputs as int8 with the folded scalings, their kinds sa and
 * sb; otherwise the storages a8, b8 and the scalings for any int32. */
DV_TARGET_VNNI DV_INLINE void vector16(const plan16 *p, const void *a, const void *b, void *y,
                                       uint64_t i, __mmask16 m, int a8, int b8, int y8, int sub,
                                       int int8, int sa, int sb, int clamp)
{
    __m512i va, vb;
    if (int8) {
        va = scale16_int8(load16(a, i, m, 1), &p->a, sa);
        vb = scale16_int8(load16(b, i, m, 1), &p->b, sb);
    } else {
        va = scale16(load16(a, i, m, a8), &p->a);
        vb = scale16(load16(b, i, m, b8), &p->b);
    }
    store16(y, i, m, output16(p, va, vb, sub, clamp), y8);
}

DV_TARGET_VNNI DV_INLINE void loop16(const plan16 *p, const void *a, const void *b, void *y,
                                     uint64_t i, uint64_t i1, int a8, int b8, int y8, int sub,
                                     int int8, int sa, int sb)
{
    if (!y8 || p->clamp) {
        for (; i + 16 <= i1; i += 16)
            vector16(p, a, b, y, i, 0xFFFF, a8, b8, y8, sub, int8, sa, sb, 1);
    } else {
        for (; i + 16 <= i1; i += 16)
            vector16(p, a, b, y, i, 0xFFFF, a8, b8, y8, sub, int8, sa, sb, 0);
    }
    if (i < i1)
        vector16(p, a, b, y, i, dv_lanes16((uint32_t)(i1 - i)), a8, b8, y8, sub, int8, sa, sb,
                 1);
}

/* The loop for every storage and operation (bits of k: a8, b8, y8, sub), and for int8 inputs
 * with the folded forms, every pair of input kinds (bits of k: y8, sub, sa, sb); each test
 * folds away in its instance. */
#define ANY16(k)                                                                               \
    case k:                                                                                    \
        loop16(&p, a, b, y, i0, i1, (k) & 1, (k) >> 1 & 1, (k) >> 2 & 1, (k) >> 3 & 1, 0, 0,  \
               0);                                                                             \
        break;
#define INT8_16(k)                                                                             \
    case k:                                                                                    \
        loop16(&p, a, b, y, i0, i1, 1, 1, (k) & 1, (k) >> 1 & 1, 1, (k) >> 2 & 1,             \
               (k) >> 3 & 1);                                                                  \
        break;

DV_TARGET_VNNI static void run16(const dv_attrs *attrs, const dv_tensor *in, dv_tensor *out,
                                 uint64_t begin, uint64_t end, int sub)
{
    plan16 p;
    prepare16(&p, attrs->v);
    const uint64_t n = dv_shape_size(&in[0].shape);
    const void *a = in[0].i8 ? (const void *)in[0].i8 : (const void *)in[0].data;
    const void *b = in[1].i8 ? (const void *)in[1].i8 : (const void *)in[1].data;
    void *y = out[0].i8 ? (void *)out[0].i8 : (void *)out[0].data;
    const int y8 = out[0].i8 != NULL;
    const uint64_t i0 = begin * CHUNK, i1 = end * CHUNK < n ? end * CHUNK : n;
    if (in[0].i8 && in[1].i8 && p.int8) {
        switch (y8 | sub << 1 | p.a.shift << 2 | p.b.shift << 3) {
            INT8_16(0) INT8_16(1) INT8_16(2) INT8_16(3) INT8_16(4) INT8_16(5) INT8_16(6)
            INT8_16(7) INT8_16(8) INT8_16(9) INT8_16(10) INT8_16(11) INT8_16(12) INT8_16(13)
            INT8_16(14) INT8_16(15)
        }
        return;
    }
    switch ((in[0].i8 != NULL) | (in[1].i8 != NULL) << 1 | y8 << 2 | sub << 3) {
        ANY16(0) ANY16(1) ANY16(2) ANY16(3) ANY16(4) ANY16(5) ANY16(6) ANY16(7)
        ANY16(8) ANY16(9) ANY16(10) ANY16(11) ANY16(12) ANY16(13) ANY16(14) ANY16(15)
    }
}

static void qadd_run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run16(attrs, in, out, begin, end, 0);
}

static void qsub_run16(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end)
{
    run16(attrs, in, out, begin, end, 1);
}

const dv_variant dv_variant_qadd_vnni = {DV_OP_QADD, DV_ISA_VNNI, "vnni", accepts, items, NULL,
                                         qadd_run16, DV_VARIANT_INT8};
const dv_variant dv_variant_qadd_avx2 = {DV_OP_QADD, DV_ISA_AVX2, "avx2", accepts, items, NULL,
                                         qadd_run8, DV_VARIANT_INT8};
const dv_variant dv_variant_qsub_vnni = {DV_OP_QSUB, DV_ISA_VNNI, "vnni", accepts, items, NULL,
                                         qsub_run16, DV_VARIANT_INT8};
const dv_variant dv_variant_qsub_avx2 = {DV_OP_QSUB, DV_ISA_AVX2, "avx2", accepts, items, NULL,
                                         qsub_run8, DV_VARIANT_INT8};

#endif
