/* Audit paths: walking down the tree, each level keeps the subtree the leaf is in and records
 * the root of the other one; checking walks back up combining them in the same order. */
#include <string.h>

#include "merkle.h"

uint32_t merkle_split(uint32_t n)
{
    uint32_t split = 1;
    while (split * 2 < n)
        split *= 2;
    return split;
}

uint32_t merkle_path(detvm_trace_mode mode, const uint8_t *leaves, uint32_t n, uint32_t k,
                     uint8_t path[][DETVM_DIGEST_MAX])
{
    uint32_t len = detvm_trace_digest_len(mode), lo = 0, hi = n, depth = 0;
    while (hi - lo > 1) {
        uint32_t mid = lo + merkle_split(hi - lo);
        if (k < mid) {
            detvm_trace_root(mode, leaves + (size_t)mid * len, hi - mid, path[depth++]);
            hi = mid;
        } else {
            detvm_trace_root(mode, leaves + (size_t)lo * len, mid - lo, path[depth++]);
            lo = mid;
        }
    }
    return depth;
}

int merkle_root_from_path(detvm_trace_mode mode, uint32_t n, uint32_t k, const uint8_t *leaf,
                          const uint8_t (*path)[DETVM_DIGEST_MAX], uint32_t n_path,
                          uint8_t *root)
{
    uint32_t len = detvm_trace_digest_len(mode), lo = 0, hi = n, depth = 0;
    int went_left[MERKLE_MAX_DEPTH];
    if (k >= n)
        return -1;
    while (hi - lo > 1) {
        if (depth == MERKLE_MAX_DEPTH)
            return -1;
        uint32_t mid = lo + merkle_split(hi - lo);
        went_left[depth++] = k < mid;
        if (k < mid)
            hi = mid;
        else
            lo = mid;
    }
    if (depth != n_path)
        return -1;
    uint8_t cur[DETVM_DIGEST_MAX];
    memcpy(cur, leaf, len);
    while (depth-- > 0) {
        if (went_left[depth])
            detvm_trace_node(mode, cur, path[depth], cur);
        else
            detvm_trace_node(mode, path[depth], cur, cur);
    }
    memcpy(root, cur, len);
    return 0;
}
