/* QMEAN and QAVG_POOL2D (ops/qnn.c) on x86-64: one AVX2 variant each, which the "vnni" level
 * uses too. Both take int8 activations (DV_VARIANT_INT8): the input int32 or int8, the output
 * int32 or int8 (their outputs lie in [-128, 127], so narrowing them changes nothing).
 *
 * Both sum input elements modulo 2^32 (vpaddd on the values, sign-extended from int8), which is
 * the reference's uint32 accumulation for every input, in any order; then each sum is finished
 * for a block of outputs at once, 8 lanes per vector, so nothing is range-checked and nothing
 * falls back:
 *   - QMEAN: dv_qmean_scaling_of (shared with the reference) gives the multiplier with 1/count
 *     folded in, its shift and zero_sum; then the lane-exact requantization of qnn_simd.h on
 *     sum - zero_sum, + output_zero_point, clamped to [-128, 127], as the reference does.
 *   - QAVG_POOL2D: with k the taps of the window inside the input, the reference's
 *     (s + k/2) / k for s > 0 and (s - k/2) / k otherwise (truncating) is sign(s) * q with
 *     q = (|s| + k/2) / k, |s| and the numerator taken as uint32 (|s| <= 2^31 and k/2 < 2^29,
 *     so it is below 2^32, and -q wraps to INT32_MIN only for s = INT32_MIN, k = 1, where the
 *     reference gives INT32_MIN too). q is computed with Granlund and Montgomery's division by
 *     an invariant integer (1994, figure 4.1), exact for every 32-bit numerator and divisor:
 *       l = ceil(log2 k), m = floor(2^32 (2^l - k) / k) + 1,
 *       t = (m * n) >> 32, q = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0).
 *     Then the clamp to [act_min, act_max].
 *
 * QMEAN's axes are first reduced to their simplest form (axes of size 1 dropped, neighbours
 * both reduced or both kept merged). With at most one run of reduced axes the input is
 * (O, R, I) and y[o][i] = sum over r of x[o][r][i]: for I > 1 summed 8 channels a vector down
 * the R rows; for I = 1 a contiguous sum per output. Other masks sum each output's elements
 * through an odometer over the reduced axes. Work items: QMEAN, blocks of up to BLOCK outputs
 * in one o; QAVG_POOL2D, one output pixel's channels in blocks of BLOCK. No scratch. */
#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#include "../qnn.h"
#include "../qnn_attrs.h"
#include "../variant.h"
#include "qnn_simd.h"

#define BLOCK 256      /* outputs (channels) finished together */
#define LANES 32       /* channels summed at once: 4 vectors */

/* ---- shared: 8 lanes from int32 or int8 memory, and the finishing stores ------------------ */

DV_TARGET_AVX2 DV_INLINE __m256i load8(const void *base, size_t at, int in8)
{
    if (in8)
        return _mm256_cvtepi8_epi32(
            _mm_loadl_epi64((const __m128i *)(const void *)((const int8_t *)base + at)));
    return _mm256_loadu_si256((const __m256i *)(const void *)((const int32_t *)base + at));
}

static uint32_t get(const void *base, size_t at, int in8)
{
    return in8 ? (uint32_t)(int32_t)((const int8_t *)base)[at]
               : (uint32_t)((const int32_t *)base)[at];
}

/* sums[i] += the LANES (or fewer: n) channels at x + i, for the rows x + r * row_step of
 * [0, rows): vectors for whole groups of 8, one element at a time for the rest. */
DV_TARGET_AVX2 DV_INLINE void sum_rows(uint32_t *sums, const void *x, size_t at, int in8,
                                       size_t rows, size_t row_step, size_t n)
{
    const size_t whole = n / 8;
    __m256i acc[LANES / 8];
    for (size_t v = 0; v < LANES / 8; v++)
        acc[v] = _mm256_loadu_si256((const __m256i *)(const void *)(sums + 8 * v));
    if (whole == LANES / 8) {
        for (size_t r = 0; r < rows; r++)
            for (size_t v = 0; v < LANES / 8; v++)
                acc[v] = _mm256_add_epi32(acc[v], load8(x, at + r * row_step + 8 * v, in8));
    } else {
        for (size_t r = 0; r < rows; r++)
            for (size_t v = 0; v < whole; v++)
                acc[v] = _mm256_add_epi32(acc[v], load8(x, at + r * row_step + 8 * v, in8));
    }
    for (size_t v = 0; v < LANES / 8; v++)
        _mm256_storeu_si256((__m256i *)(void *)(sums + 8 * v), acc[v]);
    for (size_t c = whole * 8; c < n; c++)
        for (size_t r = 0; r < rows; r++)
            sums[c] += get(x, at + r * row_step + c, in8);
}

/* ---- QMEAN -------------------------------------------------------------------------------- */

typedef struct {
    int simple;                     /* (O, R, I) */
    size_t o, r, i;
    /* otherwise: the kept axes (output order) and the reduced ones, with input strides */
    uint32_t n_kept, n_reduced;
    size_t kept_dim[DV_MAX_NDIM], kept_stride[DV_MAX_NDIM];
    size_t red_dim[DV_MAX_NDIM], red_stride[DV_MAX_NDIM];
    size_t outputs, blocks;         /* items: per o, blocks of BLOCK outputs (simple) */
    int64_t count;
} mean_plan;

static void mean_plan_of(const dv_attrs *attrs, const dv_shape *in, mean_plan *p)
{
    const uint32_t mask = (uint32_t)attrs->v[QM_AXIS_MASK];
    memset(p, 0, sizeof *p);
    size_t stride[DV_MAX_NDIM], step = 1;
    for (uint32_t d = in->ndim; d-- > 0;) {
        stride[d] = step;
        step *= in->dim[d];
    }
    p->count = 1;
    p->outputs = 1;
    /* runs of axes of one kind (size-1 axes left out) */
    uint32_t runs = 0, last = 2;
    size_t run_dim[DV_MAX_NDIM];
    uint32_t run_kind[DV_MAX_NDIM];
    for (uint32_t d = 0; d < in->ndim; d++) {
        const uint32_t reduced = mask >> d & 1u;
        if (reduced) {
            p->count *= in->dim[d];
            p->red_dim[p->n_reduced] = in->dim[d];
            p->red_stride[p->n_reduced++] = stride[d];
        } else {
            p->outputs *= in->dim[d];
            p->kept_dim[p->n_kept] = in->dim[d];
            p->kept_stride[p->n_kept++] = stride[d];
        }
        if (in->dim[d] == 1)
            continue;
        if (runs && last == reduced) {
            run_dim[runs - 1] *= in->dim[d];
        } else {
            run_dim[runs] = in->dim[d];
            run_kind[runs++] = reduced;
        }
        last = reduced;
    }
    uint32_t first_reduced = runs, n_reduced_runs = 0;
    for (uint32_t k = 0; k < runs; k++)
        if (run_kind[k]) {
            n_reduced_runs++;
            if (first_reduced == runs)
                first_reduced = k;
        }
    if (n_reduced_runs <= 1) {
        p->simple = 1;
        p->o = p->r = p->i = 1;
        for (uint32_t k = 0; k < runs; k++) {
            if (k < first_reduced)
                p->o *= run_dim[k];
            else if (k == first_reduced)
                p->r = run_dim[k];
            else
                p->i *= run_dim[k];
        }
        p->blocks = p->i > 1 ? (p->i + BLOCK - 1) / BLOCK : (p->o + BLOCK - 1) / BLOCK;
    } else {
        p->blocks = (p->outputs + BLOCK - 1) / BLOCK;
    }
}

static int mean_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 1 && attrs->n == QM_N_ATTRS;
}

static uint64_t mean_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    mean_plan p;
    mean_plan_of(attrs, &in[0], &p);
    return p.simple && p.i > 1 ? (uint64_t)p.o * p.blocks : p.blocks;
}

/* The sums of outputs [f, f + n) of the general form, each through its reduced odometer. */
static void mean_sums_general(const mean_plan *p, const void *x, int in8, size_t f, size_t n,
                              uint32_t *sums)
{
    for (size_t k = 0; k < n; k++) {
        size_t rest = f + k, base = 0;
        for (uint32_t a = p->n_kept; a-- > 0;) {
            base += rest % p->kept_dim[a] * p->kept_stride[a];
            rest /= p->kept_dim[a];
        }
        size_t coord[DV_MAX_NDIM] = {0}, offset = base;
        uint32_t sum = 0;
        for (int64_t e = 0; e < p->count; e++) {
            sum += get(x, offset, in8);
            for (uint32_t a = p->n_reduced; a-- > 0;) {
                offset += p->red_stride[a];
                if (++coord[a] < p->red_dim[a])
                    break;
                offset -= p->red_stride[a] * p->red_dim[a];
                coord[a] = 0;
            }
        }
        sums[k] = sum;
    }
}

/* The sum of n contiguous elements. */
DV_TARGET_AVX2 DV_INLINE uint32_t sum_row(const void *x, size_t at, int in8, size_t n)
{
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                      _mm256_setzero_si256()};
    size_t k = 0;
    for (; k + 32 <= n; k += 32)
        for (int v = 0; v < 4; v++)
            acc[v] = _mm256_add_epi32(acc[v], load8(x, at + k + 8 * (size_t)v, in8));
    for (; k + 8 <= n; k += 8)
        acc[0] = _mm256_add_epi32(acc[0], load8(x, at + k, in8));
    __m256i a = _mm256_add_epi32(_mm256_add_epi32(acc[0], acc[1]),
                                 _mm256_add_epi32(acc[2], acc[3]));
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    uint32_t sum = (uint32_t)_mm_cvtsi128_si32(h);
    for (; k < n; k++)
        sum += get(x, at + k, in8);
    return sum;
}

DV_TARGET_AVX2 DV_INLINE void mean_typed(const dv_attrs *attrs, const dv_tensor *in,
                                         dv_tensor *out, uint64_t begin, uint64_t end, int in8,
                                         int out8)
{
    const int32_t *a = attrs->v;
    mean_plan p;
    mean_plan_of(attrs, &in[0].shape, &p);
    const void *x = in8 ? (const void *)in[0].i8 : (const void *)in[0].data;
    void *y = out8 ? (void *)out[0].i8 : (void *)out[0].data;
    const dv_qmean_scaling q = dv_qmean_scaling_of(a, p.count);
    const dv_requant_op op = {a[QM_ROUNDING], a[QM_OUTPUT_ZERO_POINT], -128, 127};
    dv_rq8_prepared rq;
    dv_rq8_prepare(&rq, _mm256_set1_epi32(q.multiplier), _mm256_set1_epi32(q.shift), &op);
    const __m256i zero_sum = _mm256_set1_epi32((int32_t)q.zero_sum);
    uint32_t sums[BLOCK + LANES];
    for (uint64_t item = begin; item < end; item++) {
        size_t f, n;
        if (p.simple && p.i > 1) {
            const size_t o = (size_t)(item / p.blocks), c0 = (size_t)(item % p.blocks) * BLOCK;
            n = p.i - c0 < BLOCK ? p.i - c0 : BLOCK;
            f = o * p.i + c0;
            memset(sums, 0, sizeof sums);
            for (size_t c = 0; c < n; c += LANES)
                sum_rows(sums + c, x, o * p.r * p.i + c0 + c, in8, p.r, p.i,
                         n - c < LANES ? n - c : LANES);
        } else {
            f = (size_t)item * BLOCK;
            n = p.outputs - f < BLOCK ? p.outputs - f : BLOCK;
            if (p.simple) {
                for (size_t k = 0; k < n; k++)
                    sums[k] = sum_row(x, (f + k) * p.r, in8, p.r);
            } else {
                mean_sums_general(&p, x, in8, f, n, sums);
            }
        }
        for (size_t k = 0; k < n; k += 8) {
            const __m256i s = _mm256_loadu_si256((const __m256i *)(const void *)(sums + k));
            const __m256i v = dv_rq8_apply(_mm256_sub_epi32(s, zero_sum), &rq);
            dv_store_lanes8(y, f + k, v, n - k < 8 ? (uint32_t)(n - k) : 8, out8);
        }
    }
}

DV_TARGET_AVX2 static void mean_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                    uint32_t n_out, dv_tensor *out, int32_t *scratch,
                                    uint64_t begin, uint64_t end)
{
    const int in8 = in[0].i8 != NULL, out8 = out[0].i8 != NULL;
    if (in8 && out8)
        mean_typed(attrs, in, out, begin, end, 1, 1);
    else if (in8)
        mean_typed(attrs, in, out, begin, end, 1, 0);
    else if (out8)
        mean_typed(attrs, in, out, begin, end, 0, 1);
    else
        mean_typed(attrs, in, out, begin, end, 0, 0);
}

/* ---- QAVG_POOL2D -------------------------------------------------------------------------- */

typedef struct {
    size_t batches, in_h, in_w, channels, out_h, out_w, blocks;
    int64_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
} avg_plan;

static void avg_plan_of(const dv_attrs *attrs, const dv_shape *in, avg_plan *p)
{
    const int32_t *a = attrs->v;
    p->batches = in->dim[0];
    p->in_h = in->dim[1];
    p->in_w = in->dim[2];
    p->channels = in->dim[3];
    p->filter_h = a[QP_FILTER_H];
    p->filter_w = a[QP_FILTER_W];
    p->stride_h = a[QP_STRIDE_H];
    p->stride_w = a[QP_STRIDE_W];
    p->pad_top = a[QP_PAD_TOP];
    p->pad_left = a[QP_PAD_LEFT];
    p->out_h = (size_t)(((int64_t)p->in_h + a[QP_PAD_TOP] + a[QP_PAD_BOTTOM] - p->filter_h) /
                            p->stride_h + 1);
    p->out_w = (size_t)(((int64_t)p->in_w + a[QP_PAD_LEFT] + a[QP_PAD_RIGHT] - p->filter_w) /
                            p->stride_w + 1);
    p->blocks = (p->channels + BLOCK - 1) / BLOCK;
}

static int avg_accepts(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    return n_in == 1 && attrs->n == QP_N_ATTRS && in[0].ndim == 4;
}

static uint64_t avg_items(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    avg_plan p;
    avg_plan_of(attrs, &in[0], &p);
    return (uint64_t)p.batches * p.out_h * p.out_w * p.blocks;
}

/* Division of 8 uint32 numerators by k (Granlund and Montgomery, see the top of the file). */
typedef struct {
    __m256i magic, half;
    __m128i shift1, shift2;
} divider;

DV_TARGET_AVX2 static void divider_of(divider *d, uint32_t k)
{
    uint32_t l = 0;
    while (((uint64_t)1 << l) < k)
        l++;
    const uint64_t magic = ((((uint64_t)1 << l) - k) << 32) / k + 1;
    d->magic = _mm256_set1_epi32((int32_t)(uint32_t)magic);
    d->half = _mm256_set1_epi32((int32_t)(k / 2));
    d->shift1 = _mm_cvtsi32_si128(l < 1 ? (int)l : 1);
    d->shift2 = _mm_cvtsi32_si128(l > 1 ? (int)l - 1 : 0);
}

/* The rounded average of 8 sums s, as the reference divides: sign(s) * ((|s| + k/2) / k). */
DV_TARGET_AVX2 DV_INLINE __m256i average8(__m256i s, const divider *d)
{
    const __m256i n = _mm256_add_epi32(_mm256_abs_epi32(s), d->half);
    const __m256i even = _mm256_mul_epu32(n, d->magic);
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(n, 32), d->magic);
    const __m256i t = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    const __m256i q = _mm256_srl_epi32(
        _mm256_add_epi32(t, _mm256_srl_epi32(_mm256_sub_epi32(n, t), d->shift1)), d->shift2);
    const __m256i positive = _mm256_cmpgt_epi32(s, _mm256_setzero_si256());
    return _mm256_blendv_epi8(_mm256_sub_epi32(_mm256_setzero_si256(), q), q, positive);
}

DV_TARGET_AVX2 DV_INLINE void avg_typed(const dv_attrs *attrs, const dv_tensor *in,
                                        dv_tensor *out, uint64_t begin, uint64_t end, int in8,
                                        int out8)
{
    avg_plan p;
    avg_plan_of(attrs, &in[0].shape, &p);
    const void *x = in8 ? (const void *)in[0].i8 : (const void *)in[0].data;
    void *y = out8 ? (void *)out[0].i8 : (void *)out[0].data;
    const __m256i act_min = _mm256_set1_epi32(attrs->v[QP_ACT_MIN]);
    const __m256i act_max = _mm256_set1_epi32(attrs->v[QP_ACT_MAX]);
    uint32_t sums[BLOCK + LANES];
    divider d;
    uint32_t divisor = 1;
    divider_of(&d, divisor);
    for (uint64_t item = begin; item < end; item++) {
        const size_t c0 = (size_t)(item % p.blocks) * BLOCK;
        const size_t pixel = (size_t)(item / p.blocks);
        const size_t ox = pixel % p.out_w, oy = pixel / p.out_w % p.out_h;
        const size_t nb = pixel / p.out_w / p.out_h;
        const int64_t y_start = (int64_t)oy * p.stride_h - p.pad_top;
        const int64_t x_start = (int64_t)ox * p.stride_w - p.pad_left;
        const int64_t ky_lo = y_start < 0 ? -y_start : 0;
        const int64_t ky_hi = (int64_t)p.in_h - y_start < p.filter_h ? (int64_t)p.in_h - y_start
                                                                     : p.filter_h;
        const int64_t kx_lo = x_start < 0 ? -x_start : 0;
        const int64_t kx_hi = (int64_t)p.in_w - x_start < p.filter_w ? (int64_t)p.in_w - x_start
                                                                     : p.filter_w;
        const uint32_t k = (uint32_t)((ky_hi - ky_lo) * (kx_hi - kx_lo));
        if (k != divisor) {
            divider_of(&d, k);
            divisor = k;
        }
        const size_t n = p.channels - c0 < BLOCK ? p.channels - c0 : BLOCK;
        memset(sums, 0, sizeof sums);
        /* one window row at a time: its taps are (kx_hi - kx_lo) consecutive pixels */
        for (int64_t ky = ky_lo; ky < ky_hi; ky++) {
            const size_t row = (nb * p.in_h + (size_t)(y_start + ky)) * p.in_w;
            const size_t at = (row + (size_t)(x_start + kx_lo)) * p.channels + c0;
            for (size_t c = 0; c < n; c += LANES)
                sum_rows(sums + c, x, at + c, in8, (size_t)(kx_hi - kx_lo), p.channels,
                         n - c < LANES ? n - c : LANES);
        }
        const size_t f = pixel * p.channels + c0;
        for (size_t c = 0; c < n; c += 8) {
            const __m256i s = _mm256_loadu_si256((const __m256i *)(const void *)(sums + c));
            __m256i v = average8(s, &d);
            v = _mm256_min_epi32(_mm256_max_epi32(v, act_min), act_max);
            dv_store_lanes8(y, f + c, v, n - c < 8 ? (uint32_t)(n - c) : 8, out8);
        }
    }
}

DV_TARGET_AVX2 static void avg_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                   uint32_t n_out, dv_tensor *out, int32_t *scratch,
                                   uint64_t begin, uint64_t end)
{
    const int in8 = in[0].i8 != NULL, out8 = out[0].i8 != NULL;
    if (in8 && out8)
        avg_typed(attrs, in, out, begin, end, 1, 1);
    else if (in8)
        avg_typed(attrs, in, out, begin, end, 1, 0);
    else if (out8)
        avg_typed(attrs, in, out, begin, end, 0, 1);
    else
        avg_typed(attrs, in, out, begin, end, 0, 0);
}

const dv_variant dv_variant_qmean_avx2 = {DV_OP_QMEAN, DV_ISA_AVX2, "avx2", mean_accepts,
                                          mean_items, NULL, mean_run, DV_VARIANT_INT8};
const dv_variant dv_variant_qavg_pool2d_avx2 = {DV_OP_QAVG_POOL2D, DV_ISA_AVX2, "avx2",
                                                avg_accepts, avg_items, NULL, avg_run,
                                                DV_VARIANT_INT8};

#endif
