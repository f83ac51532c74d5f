/* Bisection: finding the first step where two traced runs part, by walking down the Merkle
 * tree and asking the other party only for the nodes on the way (docs/verification.md).
 *
 * The questions and answers are text lines:
 *   HELLO            -> TRACE <mode> <steps> <module id hex> <root hex>
 *   NODE <lo> <hi>   -> NODE <left hex> <right hex>: the two children of the subtree over leaves
 *                       [lo, hi), split where the tree splits
 *   LEAF <k>         -> LEAF <k> <opcode> <output hash hex>
 * The challenger checks every answer against the node it already holds from the other party
 * (the children must hash to their parent, the leaf to its node), so the other party cannot
 * steer the search without breaking the hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "merkle.h"

static void to_hex(const uint8_t *b, uint32_t n, char *hex)
{
    for (uint32_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
}

/* Parses exactly n bytes of hex; returns the characters read, or 0. */
static int from_hex(const char *hex, uint32_t n, uint8_t *b)
{
    for (uint32_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return 0;
        b[i] = (uint8_t)v;
    }
    char next = hex[2 * n];
    return next == 0 || next == ' ' ? (int)(2 * n) : 0;
}

detvm_status detvm_bisect_answer(const detvm_trace_file *t, const char *q, char *answer,
                                 size_t cap, detvm_error *err)
{
    detvm_trace_summary s;
    detvm_trace_file_summary(t, &s);
    char id[65], a[2 * DETVM_DIGEST_MAX + 1], b[2 * DETVM_DIGEST_MAX + 1];
    unsigned lo, hi, k;
    char end;
    if (strcmp(q, "HELLO") == 0) {
        to_hex(s.module_id, 32, id);
        to_hex(s.root, s.digest_len, a);
        snprintf(answer, cap, "TRACE %d %u %s %s", (int)s.mode, s.n_steps, id, a);
        return DETVM_OK;
    }
    if (sscanf(q, "NODE %u %u%c", &lo, &hi, &end) == 2) {
        if (!(lo < hi && hi <= s.n_steps && hi - lo >= 2))
            return dv_fail(err, DETVM_EINVALID, "bisect: question '%.40s' out of range", q);
        uint32_t mid = lo + merkle_split(hi - lo);
        uint8_t left[DETVM_DIGEST_MAX], right[DETVM_DIGEST_MAX];
        detvm_trace_file_node(t, lo, mid, left, err);
        detvm_trace_file_node(t, mid, hi, right, err);
        to_hex(left, s.digest_len, a);
        to_hex(right, s.digest_len, b);
        snprintf(answer, cap, "NODE %s %s", a, b);
        return DETVM_OK;
    }
    if (sscanf(q, "LEAF %u%c", &k, &end) == 1) {
        detvm_trace_step_desc step;
        if (detvm_trace_file_step(t, k, &step, err))
            return DETVM_EINVALID;
        to_hex(step.output_hash, s.digest_len, a);
        snprintf(answer, cap, "LEAF %u %u %s", k, step.opcode, a);
        return DETVM_OK;
    }
    return dv_fail(err, DETVM_EINVALID, "bisect: question '%.40s' not understood", q);
}

/* Asks one question and counts the two lines. */
static detvm_status ask_line(detvm_bisect_ask ask, void *user, const char *q, char *answer,
                             size_t cap, detvm_bisect_result *r, detvm_error *err)
{
    answer[0] = 0;
    if (ask(user, q, answer, cap) != 0)
        return dv_fail(err, DETVM_ERUNTIME, "bisect: the other party did not answer '%s'", q);
    r->messages += 2;
    return DETVM_OK;
}

static detvm_status bad_answer(const char *q, detvm_error *err)
{
    return dv_fail(err, DETVM_EINVALID, "bisect: the answer to '%s' is malformed or does not "
                   "hash to the node it claims to open", q);
}

detvm_status detvm_bisect(const detvm_trace_file *mine, detvm_bisect_ask ask, void *user,
                          detvm_bisect_result *r, detvm_error *err)
{
    memset(r, 0, sizeof *r);
    detvm_trace_summary s;
    detvm_trace_file_summary(mine, &s);
    uint32_t dl = s.digest_len;
    char answer[512], q[64], id_hex[65], root_hex[2 * DETVM_DIGEST_MAX + 1];
    detvm_status st = ask_line(ask, user, "HELLO", answer, sizeof answer, r, err);
    if (st)
        return st;
    int mode;
    unsigned n;
    uint8_t their_id[32], node[DETVM_DIGEST_MAX];
    if (sscanf(answer, "TRACE %d %u %64s %64s", &mode, &n, id_hex, root_hex) != 4 ||
        !from_hex(id_hex, 32, their_id))
        return bad_answer("HELLO", err);
    if (memcmp(their_id, s.module_id, 32) != 0)
        return dv_fail(err, DETVM_EINVALID, "bisect: the traces are of different modules");
    if (mode != (int)s.mode || n != s.n_steps || !from_hex(root_hex, dl, node))
        return dv_fail(err, DETVM_EINVALID,
                       "bisect: the other trace has mode %d and %u steps, this one %d and %u",
                       mode, n, (int)s.mode, s.n_steps);
    if (memcmp(node, s.root, dl) == 0) {
        r->identical = 1;
        return DETVM_OK;
    }
    /* node is their root of [lo, hi); descend into the first child that differs from ours */
    uint32_t lo = 0, hi = s.n_steps;
    while (hi - lo > 1) {
        snprintf(q, sizeof q, "NODE %u %u", lo, hi);
        if ((st = ask_line(ask, user, q, answer, sizeof answer, r, err)))
            return st;
        uint8_t left[DETVM_DIGEST_MAX], right[DETVM_DIGEST_MAX], parent[DETVM_DIGEST_MAX];
        const char *space = strchr(answer + 5, ' ');
        if (strncmp(answer, "NODE ", 5) != 0 || !space || !from_hex(answer + 5, dl, left) ||
            !from_hex(space + 1, dl, right))
            return bad_answer(q, err);
        detvm_trace_node(s.mode, left, right, parent);
        if (memcmp(parent, node, dl) != 0)
            return bad_answer(q, err);
        uint32_t mid = lo + merkle_split(hi - lo);
        uint8_t ours[DETVM_DIGEST_MAX];
        detvm_trace_file_node(mine, lo, mid, ours, err);
        if (memcmp(ours, left, dl) != 0) {
            hi = mid;
            memcpy(node, left, dl);
        } else {
            lo = mid;
            memcpy(node, right, dl);
        }
    }
    snprintf(q, sizeof q, "LEAF %u", lo);
    if ((st = ask_line(ask, user, q, answer, sizeof answer, r, err)))
        return st;
    unsigned k, opcode;
    char hash_hex[2 * DETVM_DIGEST_MAX + 1];
    uint8_t leaf[DETVM_DIGEST_MAX];
    if (sscanf(answer, "LEAF %u %u %64s", &k, &opcode, hash_hex) != 3 || k != lo ||
        !from_hex(hash_hex, dl, r->their_output_hash))
        return bad_answer(q, err);
    detvm_trace_leaf(s.mode, lo, opcode, r->their_output_hash, leaf);
    if (memcmp(leaf, node, dl) != 0)
        return bad_answer(q, err);
    r->first_divergence = lo;
    return DETVM_OK;
}
