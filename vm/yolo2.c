/* YOLOv2 region decoding, as MaixPy's kpu.run_yolo2 does it (sipeed_yolo2.c, itself the
 * Kendryte example's region_layer.c), made deterministic: the same detections and the same
 * float bits on every machine.
 *
 * The model's output is a float map of ch = anchors * (5 + classes) channels of h x w, CHW:
 * channel a*(5+classes) + e holds entry e of anchor a at every grid cell, the entries being
 * tx, ty, tw, th, objectness, then one logit per class. Box b = a*h*w + y*w + x.
 *
 * The arithmetic, in IEEE single precision unless said otherwise, one operation at a time in
 * the order written (no contraction), with exp the project's dv_expf (ops/fmath.h: glibc's expf
 * bit for bit, on every machine):
 *   1. sigmoid of tx, ty and objectness: s(v) = (float)(1.0 / (1.0 + (double)exp(-v))), the
 *      division and addition in double as MaixPy writes them;
 *   2. softmax of each box's class logits: m = the largest (first maximum, starting from the
 *      first logit), e_j = exp(l_j - m), sum = e_0 + e_1 + ... in class order, p_j = e_j / sum;
 *   3. the box: x = ((float)col + s(tx)) / w, y = ((float)row + s(ty)) / h,
 *      bw = (exp(tw) * anchor_w) / w, bh = (exp(th) * anchor_h) / h (relative to the image);
 *      MaixPy's correction for letterboxing is the identity here (the image is the network
 *      input), so it is left out;
 *   4. per class j: prob = s(objectness) * p_j, kept when prob > threshold, else 0;
 *   5. non-maximum suppression per class j, in class order: the boxes with a kept prob are
 *      sorted by prob, largest first, ties by box index ascending (a stable merge sort; MaixPy's
 *      qsort leaves ties unspecified); walking that order, a box whose prob is still nonzero
 *      zeroes the prob of every later box whose IoU with it exceeds the nms value;
 *      IoU(a, b): for each axis, overlap = min(a.c + a.s/2, b.c + b.s/2) - max(a.c - a.s/2,
 *      b.c - b.s/2) (each half size s/2 computed first); intersection = 0 if either overlap
 *      is negative, else ow * oh; union = (a.w * a.h + b.w * b.h) - intersection;
 *      IoU = intersection / union;
 *   6. each box, in box order, gives one object when its best class (the first maximum of its
 *      probs) has a prob above the threshold; pixel corners: x1 = x*W - (bw*W)/2, x2 = x*W +
 *      (bw*W)/2 (W the image width as float; the same for y), and MaixPy's whole-pixel rect:
 *      the corners truncated toward zero, negatives as 0 (as the K210's conversion to unsigned
 *      gives), then (x1, y1, x2 - x1, y2 - y1).
 * NaN never becomes a detection (no comparison with it holds); a NaN corner is reported as the
 * quiet NaN 0x7fc00000. Nothing is allocated: the caller provides the workspace. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ops/fmath.h"
#include "error.h"

#define YOLO_MAX_ELEMS (1u << 30)
#define YOLO_MAX_CLASSES 65536u

typedef struct {
    float x, y, w, h;
} yolo_box;

/* The workspace: the activated map (count floats), the boxes, the probs (boxes x classes),
 * and two index arrays for the sort, laid out in that order. */
typedef struct {
    float *map;
    yolo_box *boxes;
    float *probs;
    uint32_t *order, *tmp;
} yolo_work;

static uint64_t workspace_layout(uint64_t count, uint64_t boxes, uint64_t classes,
                                 uint64_t offsets[5])
{
    uint64_t at = 0;
    offsets[0] = at;
    at += count * sizeof(float);
    offsets[1] = at;
    at += boxes * sizeof(yolo_box);
    offsets[2] = at;
    at += boxes * classes * sizeof(float);
    offsets[3] = at;
    at += boxes * sizeof(uint32_t);
    offsets[4] = at;
    at += boxes * sizeof(uint32_t);
    return at;
}

/* NULL when the parameters describe a decodable map; sets *classes. */
static const char *check_params(const detvm_yolo2_params *p, uint32_t *classes)
{
    if (!p)
        return "parameters: NULL";
    if (p->w == 0 || p->h == 0 || p->channels == 0)
        return "shape: w, h and channels must be positive";
    if ((uint64_t)p->w * p->h * p->channels > YOLO_MAX_ELEMS)
        return "shape: more than 2^30 elements";
    if (p->n_anchors == 0 || !p->anchors)
        return "anchors: none given";
    if (p->channels % p->n_anchors != 0)
        return "anchors: the channel count is not a multiple of the anchor count";
    uint32_t per_anchor = p->channels / p->n_anchors;
    if (per_anchor <= 5)
        return "shape: fewer than 6 channels per anchor (4 box, 1 objectness, classes)";
    if (p->classes != 0 && p->classes != per_anchor - 5)
        return "classes: channels != anchors * (5 + classes)";
    if (per_anchor - 5 > YOLO_MAX_CLASSES)
        return "classes: more than 65536";
    for (uint32_t i = 0; i < 2 * p->n_anchors; i++)
        if (!(p->anchors[i] > 0.0f && p->anchors[i] < 3.0e38f))
            return "anchors: every value must be positive and finite";
    if (!(p->threshold >= 0.0f && p->threshold <= 1.0f))
        return "threshold: must be in [0, 1]";
    if (!(p->nms >= 0.0f && p->nms <= 1.0f))
        return "nms: must be in [0, 1]";
    if (p->image_w == 0 || p->image_h == 0 || p->image_w > (1u << 24) ||
        p->image_h > (1u << 24))
        return "image: width and height must be in 1..2^24";
    *classes = per_anchor - 5;
    return NULL;
}

uint64_t detvm_yolo2_workspace_bytes(const detvm_yolo2_params *p)
{
    uint32_t classes;
    if (check_params(p, &classes))
        return 0;
    uint64_t offsets[5];
    uint64_t boxes = (uint64_t)p->n_anchors * p->w * p->h;
    return workspace_layout((uint64_t)p->channels * p->w * p->h, boxes, classes, offsets);
}

static float sigmoid(float v)
{
    float e = dv_expf(-v);
    double d = (double)e;
    d = 1.0 + d;
    d = 1.0 / d;
    return (float)d;
}

/* Softmax over n values `stride` apart, in place. */
static void softmax(float *v, uint32_t n, uint32_t stride)
{
    float largest = v[0];
    for (uint32_t i = 0; i < n; i++)
        if (v[(uint64_t)i * stride] > largest)
            largest = v[(uint64_t)i * stride];
    float sum = 0.0f;
    for (uint32_t i = 0; i < n; i++) {
        float diff = v[(uint64_t)i * stride] - largest;
        float e = dv_expf(diff);
        sum = sum + e;
        v[(uint64_t)i * stride] = e;
    }
    for (uint32_t i = 0; i < n; i++)
        v[(uint64_t)i * stride] = v[(uint64_t)i * stride] / sum;
}

/* One axis of the overlap of two boxes (centers c, sizes s). */
static float overlap(float c1, float s1, float c2, float s2)
{
    float h1 = s1 / 2.0f;
    float h2 = s2 / 2.0f;
    float l1 = c1 - h1;
    float l2 = c2 - h2;
    float left = l1 > l2 ? l1 : l2;
    float r1 = c1 + h1;
    float r2 = c2 + h2;
    float right = r1 < r2 ? r1 : r2;
    return right - left;
}

static float iou(const yolo_box *a, const yolo_box *b)
{
    float ow = overlap(a->x, a->w, b->x, b->w);
    float oh = overlap(a->y, a->h, b->y, b->h);
    float inter = 0.0f;
    if (!(ow < 0.0f || oh < 0.0f))
        inter = ow * oh;
    float area_a = a->w * a->h;
    float area_b = b->w * b->h;
    float uni = area_a + area_b;
    uni = uni - inter;
    return inter / uni;
}

/* Whether box i goes before box j for class prob row `probs` (column stride `classes`):
 * larger prob first, then smaller index. */
static int before(const float *probs, uint32_t classes, uint32_t i, uint32_t j)
{
    float pi = probs[(uint64_t)i * classes], pj = probs[(uint64_t)j * classes];
    if (pi != pj)
        return pi > pj;
    return i < j;
}

/* Stable bottom-up merge sort of n indices. */
static void sort_boxes(uint32_t *order, uint32_t *tmp, uint32_t n, const float *probs,
                       uint32_t classes)
{
    uint32_t *src = order, *dst = tmp;
    for (uint64_t width = 1; width < n; width *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * width) {
            uint64_t mid = lo + width < n ? lo + width : n;
            uint64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint64_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                dst[k++] = before(probs, classes, src[b], src[a]) ? src[b++] : src[a++];
            while (a < mid)
                dst[k++] = src[a++];
            while (b < hi)
                dst[k++] = src[b++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != order)
        memcpy(order, src, (size_t)n * sizeof *order);
}

static float canonical(float v)
{
    if (v == v)
        return v;
    uint32_t bits = 0x7fc00000u;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* A pixel coordinate as the K210 converts it to an unsigned integer, kept in int32:
 * truncated toward zero, negatives and NaN as 0, large values as 2^31 - 1. */
static int32_t whole_pixel(float v)
{
    if (!(v > 0.0f))
        return 0;
    if (v >= 2147483520.0f)
        return INT32_MAX;
    return (int32_t)v;
}

detvm_status detvm_yolo2_decode(const detvm_yolo2_params *p, const float *output,
                                uint64_t count, void *workspace, uint64_t workspace_bytes,
                                detvm_yolo2_object *objects, uint32_t max_objects,
                                uint32_t *n_objects, detvm_error *err)
{
    uint32_t classes = 0;
    const char *why = check_params(p, &classes);
    if (why)
        return dv_fail(err, DETVM_EINVALID, "yolo2: %s", why);
    if (n_objects)
        *n_objects = 0;
    const uint32_t w = p->w, h = p->h, wh = w * h;
    const uint32_t per_anchor = 5 + classes;
    const uint64_t expect = (uint64_t)p->channels * wh;
    const uint32_t n_boxes = p->n_anchors * wh;
    if (!output || count != expect)
        return dv_fail(err, DETVM_EINVALID,
                       "yolo2: output: %llu floats given, %u channels of %u x %u take %llu",
                       (unsigned long long)count, p->channels, h, w,
                       (unsigned long long)expect);
    if (!n_objects || (max_objects && !objects))
        return dv_fail(err, DETVM_EINVALID, "yolo2: NULL object count or objects");
    uint64_t off[5];
    uint64_t need = workspace_layout(expect, n_boxes, classes, off);
    if (!workspace || workspace_bytes < need || need > (uint64_t)SIZE_MAX ||
        ((uintptr_t)workspace & 3) != 0)
        return dv_fail(err, DETVM_EINVALID,
                       "yolo2: workspace: %llu bytes given, %llu needed (4-byte aligned)",
                       (unsigned long long)workspace_bytes, (unsigned long long)need);
    uint8_t *base = workspace;
    yolo_work wk = {(float *)(void *)(base + off[0]), (yolo_box *)(void *)(base + off[1]),
                    (float *)(void *)(base + off[2]), (uint32_t *)(void *)(base + off[3]),
                    (uint32_t *)(void *)(base + off[4])};
    float *map = wk.map;
    memcpy(map, output, (size_t)expect * sizeof *map);

    /* 1, 2: activations */
    for (uint32_t a = 0; a < p->n_anchors; a++) {
        float *at = map + (uint64_t)a * per_anchor * wh;
        for (uint64_t i = 0; i < 2ull * wh; i++)
            at[i] = sigmoid(at[i]);
        for (uint64_t i = 4ull * wh; i < 5ull * wh; i++)
            at[i] = sigmoid(at[i]);
        for (uint32_t g = 0; g < wh; g++)
            softmax(at + 5ull * wh + g, classes, wh);
    }

    /* 3, 4: boxes and probs */
    const float fw = (float)w, fh = (float)h;
    for (uint32_t i = 0; i < wh; i++) {
        float col = (float)(i % w), row = (float)(i / w);
        for (uint32_t a = 0; a < p->n_anchors; a++) {
            uint32_t box = a * wh + i;
            const float *at = map + (uint64_t)a * per_anchor * wh + i;
            yolo_box *b = &wk.boxes[box];
            float t = col + at[0];
            b->x = t / fw;
            t = row + at[(uint64_t)wh];
            b->y = t / fh;
            t = dv_expf(at[2ull * wh]);
            t = t * p->anchors[2 * a];
            b->w = t / fw;
            t = dv_expf(at[3ull * wh]);
            t = t * p->anchors[2 * a + 1];
            b->h = t / fh;
            float obj = at[4ull * wh];
            float *pr = wk.probs + (uint64_t)box * classes;
            for (uint32_t j = 0; j < classes; j++) {
                float prob = obj * at[(5ull + j) * wh];
                pr[j] = prob > p->threshold ? prob : 0.0f;
            }
        }
    }

    /* 5: suppression per class */
    for (uint32_t j = 0; j < classes; j++) {
        uint32_t n = 0;
        for (uint32_t box = 0; box < n_boxes; box++)
            if (wk.probs[(uint64_t)box * classes + j] != 0.0f)
                wk.order[n++] = box;
        sort_boxes(wk.order, wk.tmp, n, wk.probs + j, classes);
        for (uint32_t s = 0; s < n; s++) {
            if (wk.probs[(uint64_t)wk.order[s] * classes + j] == 0.0f)
                continue;
            const yolo_box *a = &wk.boxes[wk.order[s]];
            for (uint32_t t = s + 1; t < n; t++) {
                float v = iou(a, &wk.boxes[wk.order[t]]);
                if (v > p->nms)
                    wk.probs[(uint64_t)wk.order[t] * classes + j] = 0.0f;
            }
        }
    }

    /* 6: one object per box whose best class passes the threshold */
    const float img_w = (float)p->image_w, img_h = (float)p->image_h;
    uint32_t found = 0;
    for (uint32_t box = 0; box < n_boxes; box++) {
        const float *pr = wk.probs + (uint64_t)box * classes;
        uint32_t best = 0;
        for (uint32_t j = 1; j < classes; j++)
            if (pr[j] > pr[best])
                best = j;
        if (!(pr[best] > p->threshold))
            continue;
        if (found < max_objects) {
            const yolo_box *b = &wk.boxes[box];
            detvm_yolo2_object *o = &objects[found];
            memset(o, 0, sizeof *o);
            o->index = box;
            o->classid = best;
            o->prob = pr[best];
            o->x = canonical(b->x);
            o->y = canonical(b->y);
            o->w = canonical(b->w);
            o->h = canonical(b->h);
            float cx = b->x * img_w;
            float half = b->w * img_w;
            half = half / 2.0f;
            o->x1 = canonical(cx - half);
            o->x2 = canonical(cx + half);
            float cy = b->y * img_h;
            half = b->h * img_h;
            half = half / 2.0f;
            o->y1 = canonical(cy - half);
            o->y2 = canonical(cy + half);
            int32_t x1 = whole_pixel(o->x1), y1 = whole_pixel(o->y1);
            int32_t x2 = whole_pixel(o->x2), y2 = whole_pixel(o->y2);
            o->rect[0] = x1;
            o->rect[1] = y1;
            o->rect[2] = x2 >= x1 ? x2 - x1 : 0;
            o->rect[3] = y2 >= y1 ? y2 - y1 : 0;
        }
        found++;
    }
    *n_objects = found;
    return DETVM_OK;
}
