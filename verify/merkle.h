/* Audit paths in the trace's Merkle tree (the RFC 6962 shape of detvm_trace_root). */
#ifndef DETVM_VERIFY_MERKLE_H
#define DETVM_VERIFY_MERKLE_H

#include <stdint.h>

#include "detvm.h"

#define MERKLE_MAX_DEPTH 32

/* The siblings on the way from the root down to leaf k of n (k < n), top first; returns how
 * many there are. */
uint32_t merkle_path(detvm_trace_mode mode, const uint8_t *leaves, uint32_t n, uint32_t k,
                     uint8_t path[][DETVM_DIGEST_MAX]);

/* The root that leaf k's digest gives with that path; -1 when the path's length does not fit a
 * tree of n leaves. */
int merkle_root_from_path(detvm_trace_mode mode, uint32_t n, uint32_t k, const uint8_t *leaf,
                          const uint8_t (*path)[DETVM_DIGEST_MAX], uint32_t n_path,
                          uint8_t *root);

/* The largest power of two below n (n >= 2): where the tree splits n leaves. */
uint32_t merkle_split(uint32_t n);

#endif
