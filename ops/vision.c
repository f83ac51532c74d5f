/* Detection post-processing: selecting scored boxes and non-maximum suppression.
 *
 * Both ops work on box tables of shape (B, N, K): B batches of N rows of K int32 fields. A
 * row's field 1 is its score; for non-maximum suppression K is 6 and a row is
 * (class_id, score, x_min, y_min, x_max, y_max). Rows that are not output are filled with -1
 * in every field. The semantics are those of the CVM runtime's formal back end; where its CPU
 * back end differs, loader/cvm_vision.c says so. */
#include "op.h"

#define NMS_ROW 6 /* class_id, score, x_min, y_min, x_max, y_max */

/* The int32 whose two's complement bits are u: the wrap-around the CVM runtime gets from its
 * machine arithmetic, written without signed overflow. */
static int32_t wrap_i32(uint32_t u)
{
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

static int64_t wrap_i64(uint64_t u)
{
    return u <= INT64_MAX ? (int64_t)u : (int64_t)(u - 0x8000000000000000u) + INT64_MIN;
}

static int32_t sub_wrap32(int32_t a, int32_t b)
{
    return wrap_i32((uint32_t)a - (uint32_t)b);
}

static int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static int32_t max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

static void fill_minus_one(int32_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        p[i] = -1;
}

/* ---- GET_VALID_COUNTS --------------------------------------------------------------------
 *
 * Operands: x (B, N, K) -> count (B), boxes (B, N, K).   2 <= K <= 31.
 * Attributes: [0] score_threshold (any int32).
 *
 * For each batch, the rows whose score (field 1) is strictly greater than score_threshold are
 * copied to the top of `boxes` in their input order; count[b] is how many there are, and the
 * remaining rows of `boxes` are -1 in every field. No arithmetic: only comparisons. */
static const char *get_valid_counts_infer(const dv_attrs *attrs, uint32_t n_in,
                                          const dv_shape *in, uint32_t n_out, dv_shape *out)
{
    if (attrs->n != 1)
        return "attributes: expected [score_threshold]";
    if (n_in != 1 || n_out != 2)
        return "operands: expected 1 input and 2 outputs";
    if (in[0].ndim != 3)
        return "data: must be 3-D (batch, rows, fields)";
    if (in[0].dim[2] < 2 || in[0].dim[2] >= 32)
        return "data: rows must have 2 to 31 fields";
    out[0].ndim = 1;
    out[0].dim[0] = in[0].dim[0];
    out[1] = in[0];
    return 0;
}

static void get_valid_counts_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in,
                                 uint32_t n_out, dv_tensor *out, int32_t *scratch)
{
    (void)n_in, (void)n_out, (void)scratch;
    const int32_t score_threshold = attrs->v[0];
    const uint32_t batches = in[0].shape.dim[0], rows = in[0].shape.dim[1];
    const uint32_t fields = in[0].shape.dim[2];
    const size_t batch_size = (size_t)rows * fields;

    for (uint32_t b = 0; b < batches; b++) {
        const int32_t *x = in[0].data + b * batch_size;
        int32_t *y = out[1].data + b * batch_size;
        uint32_t kept = 0;
        for (uint32_t r = 0; r < rows; r++) {
            const int32_t *row = x + (size_t)r * fields;
            if (row[1] > score_threshold) {
                for (uint32_t f = 0; f < fields; f++)
                    y[(size_t)kept * fields + f] = row[f];
                kept++;
            }
        }
        out[0].data[b] = (int32_t)kept;
        fill_minus_one(y + (size_t)kept * fields, (uint64_t)(rows - kept) * fields);
    }
}

const dv_op_info dv_info_GET_VALID_COUNTS = {
    "get_valid_counts", 1, 1, 2, get_valid_counts_infer, get_valid_counts_run, 0,
};

/* ---- NON_MAX_SUPPRESSION -----------------------------------------------------------------
 *
 * Operands: boxes (B, N, 6), count (B) -> y (B, N, 6).
 * Attributes: [0] iou_threshold (> 0, in percent), [1] force_suppress (0 or 1),
 *             [2] top_k (< 0: no limit), [3] max_output_size (< 0: no limit).
 *
 * For each batch b:
 *   T = count[b] clamped to [0, N]. Only the first T rows of boxes[b] take part.
 *   Those rows are ranked by score (field 1) descending; equal scores keep their input order
 *   (the runtime's std::stable_sort), i.e. ties go to the lower row index.
 *   The candidates are the first P ranked rows, P = min(T, top_k) (P = T when top_k < 0).
 *   Walking them in rank order, while fewer than M rows are kept (M = min(T,
 *   max_output_size), M = T when max_output_size < 0; so 0 keeps nothing):
 *     a candidate with a negative class id is skipped (it neither is kept nor suppresses);
 *     else it is dropped when some kept row, of the same class id or any class when
 *     force_suppress is set, has box_iou_percent(kept, candidate) >= iou_threshold;
 *     else it is appended to y[b].
 *   The rows of y[b] after the kept ones are -1 in every field.
 *
 * box_iou_percent (fields 2..5 as x_min, y_min, x_max, y_max) is the runtime's integer IoU:
 *   w_i = x_max - x_min, h_i = y_max - y_min     int32, wrapping
 *   sum_area = w_1*h_1 + w_2*h_2                  products exact in int64, the sum wrapping
 *   if sum_area <= 0: 0
 *   w = max(0, min(x_max) - max(x_min)), h likewise (the difference int32, wrapping)
 *   overlap = w*h (exact), rest = sum_area - overlap (exact); if rest <= 0: 0
 *   if overlap > INT64_MAX / 100: rest = rest / 100, else overlap = overlap * 100
 *   result = overlap / rest (truncating; both non-negative).
 * When rest / 100 is 0 the runtime divides by zero and traps; detvm defines that result as
 * INT64_MAX (the candidate overlaps completely). Only boxes whose width or height wraps
 * around 32 bits can reach it.
 *
 * Scratch: N int32, a binary heap of row indices used to rank the candidates lazily. */
static const char *nms_infer(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in,
                             uint32_t n_out, dv_shape *out)
{
    if (attrs->n != 4)
        return "attributes: expected [iou_threshold, force_suppress, top_k, max_output_size]";
    if (attrs->v[0] <= 0)
        return "iou_threshold: must be positive";
    if (attrs->v[1] != 0 && attrs->v[1] != 1)
        return "force_suppress: must be 0 or 1";
    if (n_in != 2 || n_out != 1)
        return "operands: expected 2 inputs and 1 output";
    if (in[0].ndim != 3)
        return "data: must be 3-D (batch, rows, 6)";
    if (in[1].ndim != 1)
        return "valid_count: must be 1-D";
    if (in[0].dim[2] != NMS_ROW)
        return "data: rows must have 6 fields";
    if (in[0].dim[0] != in[1].dim[0])
        return "valid_count: batch size differs from data";
    out[0] = in[0];
    return 0;
}

static uint64_t nms_scratch(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in)
{
    (void)attrs, (void)n_in;
    return in[0].dim[1];
}

static int64_t box_iou_percent(const int32_t *kept, const int32_t *cand)
{
    int64_t area_kept = (int64_t)sub_wrap32(kept[2], kept[0]) * sub_wrap32(kept[3], kept[1]);
    int64_t area_cand = (int64_t)sub_wrap32(cand[2], cand[0]) * sub_wrap32(cand[3], cand[1]);
    int64_t sum_area = wrap_i64((uint64_t)area_kept + (uint64_t)area_cand);
    if (sum_area <= 0)
        return 0;
    int32_t w = max_i32(0, sub_wrap32(min_i32(kept[2], cand[2]), max_i32(kept[0], cand[0])));
    int32_t h = max_i32(0, sub_wrap32(min_i32(kept[3], cand[3]), max_i32(kept[1], cand[1])));
    int64_t overlap = (int64_t)w * h;
    int64_t rest = sum_area - overlap;
    if (rest <= 0)
        return 0;
    if (overlap > INT64_MAX / 100)
        rest /= 100;
    else
        overlap *= 100;
    if (rest == 0)
        return INT64_MAX;
    return overlap / rest;
}

/* Does row a rank before row b? Higher score first, then the lower index: a total order, so
 * any correct sort gives the runtime's stable_sort order. */
static int ranks_before(const int32_t *rows, int32_t a, int32_t b)
{
    int32_t score_a = rows[(size_t)a * NMS_ROW + 1], score_b = rows[(size_t)b * NMS_ROW + 1];
    return score_a > score_b || (score_a == score_b && a < b);
}

/* A binary heap of row indices whose root is the row that ranks first. */
static void heap_sift_down(const int32_t *rows, int32_t *heap, uint32_t size, uint32_t i)
{
    for (;;) {
        uint32_t best = i, left = 2 * i + 1, right = left + 1;
        if (left < size && ranks_before(rows, heap[left], heap[best]))
            best = left;
        if (right < size && ranks_before(rows, heap[right], heap[best]))
            best = right;
        if (best == i)
            return;
        int32_t t = heap[i];
        heap[i] = heap[best];
        heap[best] = t;
        i = best;
    }
}

static int32_t heap_pop(const int32_t *rows, int32_t *heap, uint32_t *size)
{
    int32_t top = heap[0];
    heap[0] = heap[--*size];
    heap_sift_down(rows, heap, *size, 0);
    return top;
}

static void nms_run(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                    dv_tensor *out, int32_t *scratch)
{
    (void)n_in, (void)n_out;
    const int32_t iou_threshold = attrs->v[0], force_suppress = attrs->v[1];
    const int32_t top_k = attrs->v[2], max_output_size = attrs->v[3];
    const uint32_t batches = in[0].shape.dim[0], rows = in[0].shape.dim[1];
    const size_t batch_size = (size_t)rows * NMS_ROW;
    int32_t *heap = scratch;

    for (uint32_t b = 0; b < batches; b++) {
        const int32_t *x = in[0].data + b * batch_size;
        int32_t *y = out[0].data + b * batch_size;
        int32_t count = in[1].data[b];
        uint32_t valid = count < 0 ? 0 : (uint32_t)count > rows ? rows : (uint32_t)count;
        uint32_t candidates = top_k >= 0 && (uint32_t)top_k < valid ? (uint32_t)top_k : valid;
        uint32_t max_kept = max_output_size >= 0 && (uint32_t)max_output_size < valid
                                ? (uint32_t)max_output_size : valid;

        uint32_t heap_size = valid;
        for (uint32_t i = 0; i < valid; i++)
            heap[i] = (int32_t)i;
        for (uint32_t i = valid / 2; i-- > 0;)
            heap_sift_down(x, heap, heap_size, i);

        uint32_t kept = 0;
        for (uint32_t p = 0; p < candidates && kept < max_kept; p++) {
            const int32_t *cand = x + (size_t)heap_pop(x, heap, &heap_size) * NMS_ROW;
            if (cand[0] < 0)
                continue;
            int suppressed = 0;
            for (uint32_t i = 0; i < kept && !suppressed; i++) {
                const int32_t *k = y + (size_t)i * NMS_ROW;
                if ((force_suppress || k[0] == cand[0]) &&
                    box_iou_percent(k + 2, cand + 2) >= iou_threshold)
                    suppressed = 1;
            }
            if (!suppressed) {
                for (uint32_t f = 0; f < NMS_ROW; f++)
                    y[(size_t)kept * NMS_ROW + f] = cand[f];
                kept++;
            }
        }
        fill_minus_one(y + (size_t)kept * NMS_ROW, (uint64_t)(rows - kept) * NMS_ROW);
    }
}

const dv_op_info dv_info_NON_MAX_SUPPRESSION = {
    "non_max_suppression", 2, 2, 1, nms_infer, nms_run, nms_scratch,
};
