/* Per-instruction hashes and their Merkle root (the definitions are in detvm.h). The hashing
 * runs in the core, after each instruction, whatever device ran it; its digests are kept in
 * arrays the session allocated when tracing was turned on, so a traced run allocates nothing.
 *
 * Elements are hashed as little-endian int32. On a little-endian host that is the arena's own
 * memory, hashed in place; elsewhere they are converted through a small stack buffer. */
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <stdlib.h>
#include <string.h>

#include "blake2b.h"
#include "error.h"
#include "module_format.h"
#include "session.h"

typedef struct {
    detvm_trace_mode mode;
    union {
        XXH3_state_t fast;
        vm_blake2b secure;
    } u;
} hasher;

uint32_t detvm_trace_digest_len(detvm_trace_mode mode)
{
    return mode == DETVM_TRACE_FAST ? 16 : mode == DETVM_TRACE_SECURE ? 32 : 0;
}

static void hash_add(hasher *h, const void *data, size_t len)
{
    if (h->mode == DETVM_TRACE_FAST)
        XXH3_128bits_update(&h->u.fast, data, len);
    else
        vm_blake2b_update(&h->u.secure, data, len);
}

/* Starts a hash with its one-byte domain tag. */
static void hash_begin(hasher *h, detvm_trace_mode mode, uint8_t domain)
{
    h->mode = mode;
    if (mode == DETVM_TRACE_FAST)
        XXH3_128bits_reset(&h->u.fast);
    else
        vm_blake2b_init(&h->u.secure, 32);
    hash_add(h, &domain, 1);
}

static void hash_u32(hasher *h, uint32_t v)
{
    uint8_t b[4];
    dvm_put_u32(b, v);
    hash_add(h, b, 4);
}

/* XXH3-128 digests are written high half first, as XXH128_canonicalFromHash does. */
static void hash_end(hasher *h, uint8_t *digest)
{
    if (h->mode == DETVM_TRACE_FAST) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&h->u.fast));
        memcpy(digest, c.digest, 16);
    } else {
        vm_blake2b_final(&h->u.secure, digest);
    }
}

static int host_is_little_endian(void)
{
    const uint16_t probe = 1;
    return *(const uint8_t *)&probe == 1;
}

static void hash_elements(hasher *h, const int32_t *data, uint64_t count)
{
    if (host_is_little_endian()) {
        hash_add(h, data, (size_t)count * 4);
        return;
    }
    uint8_t chunk[1024];
    while (count > 0) {
        size_t n = count < sizeof chunk / 4 ? (size_t)count : sizeof chunk / 4;
        for (size_t i = 0; i < n; i++)
            dvm_put_u32(chunk + 4 * i, (uint32_t)data[i]);
        hash_add(h, chunk, 4 * n);
        data += n;
        count -= n;
    }
}

void detvm_trace_output_hash(detvm_trace_mode mode, uint32_t n_outputs,
                             const detvm_tensor_view *outputs, uint8_t *digest)
{
    hasher h;
    hash_begin(&h, mode, 0x02);
    for (uint32_t o = 0; o < n_outputs; o++) {
        hash_u32(&h, outputs[o].ndim);
        for (uint32_t d = 0; d < outputs[o].ndim; d++)
            hash_u32(&h, outputs[o].dim[d]);
        hash_elements(&h, outputs[o].data, outputs[o].count);
    }
    hash_end(&h, digest);
}

void detvm_trace_leaf(detvm_trace_mode mode, uint32_t step, uint32_t opcode,
                      const uint8_t *output_hash, uint8_t *digest)
{
    hasher h;
    hash_begin(&h, mode, 0x00);
    hash_u32(&h, step);
    hash_u32(&h, opcode);
    hash_add(&h, output_hash, detvm_trace_digest_len(mode));
    hash_end(&h, digest);
}

void detvm_trace_node(detvm_trace_mode mode, const uint8_t *left, const uint8_t *right,
                      uint8_t *digest)
{
    hasher h;
    hash_begin(&h, mode, 0x01);
    hash_add(&h, left, detvm_trace_digest_len(mode));
    hash_add(&h, right, detvm_trace_digest_len(mode));
    hash_end(&h, digest);
}

void detvm_trace_root(detvm_trace_mode mode, const uint8_t *leaves, uint32_t n,
                      uint8_t *digest)
{
    uint32_t len = detvm_trace_digest_len(mode);
    if (n == 1) {
        memcpy(digest, leaves, len);
        return;
    }
    uint32_t split = 1;
    while (split * 2 < n)
        split *= 2;
    uint8_t left[DETVM_DIGEST_MAX], right[DETVM_DIGEST_MAX];
    detvm_trace_root(mode, leaves, split, left);
    detvm_trace_root(mode, leaves + (size_t)split * len, n - split, right);
    detvm_trace_node(mode, left, right, digest);
}

/* ---- sessions ---------------------------------------------------------------------------- */

detvm_status detvm_session_set_trace(detvm_session *s, detvm_trace_mode mode, detvm_error *err)
{
    if (mode != DETVM_TRACE_OFF && mode != DETVM_TRACE_FAST && mode != DETVM_TRACE_SECURE)
        return dv_fail(err, DETVM_EINVALID, "trace: mode %d unknown", (int)mode);
    free(s->trace_digests);
    s->trace_digests = NULL;
    s->trace_mode = DETVM_TRACE_OFF;
    s->trace_complete = 0;
    if (mode == DETVM_TRACE_OFF)
        return DETVM_OK;
    s->trace_digests = calloc(2 * (size_t)s->module->n_instrs, DETVM_DIGEST_MAX);
    if (!s->trace_digests)
        return dv_fail(err, DETVM_ERUNTIME, "trace: out of memory");
    s->trace_mode = mode;
    return DETVM_OK;
}

void vm_trace_step(detvm_session *s, uint32_t k, const detvm_step *step)
{
    uint32_t len = detvm_trace_digest_len(s->trace_mode);
    uint8_t *hash = s->trace_digests + (size_t)k * len;
    uint8_t *leaf = s->trace_digests + ((size_t)s->module->n_instrs + k) * len;
    detvm_trace_output_hash(s->trace_mode, step->n_outputs, step->outputs, hash);
    detvm_trace_leaf(s->trace_mode, k, step->opcode, hash, leaf);
}

detvm_status detvm_session_trace(const detvm_session *s, detvm_trace *t, detvm_error *err)
{
    memset(t, 0, sizeof *t);
    if (s->trace_mode == DETVM_TRACE_OFF)
        return dv_fail(err, DETVM_EINVALID, "trace: tracing is off for this session");
    if (!s->trace_complete)
        return dv_fail(err, DETVM_EINVALID, "trace: no complete traced run yet");
    t->mode = s->trace_mode;
    t->digest_len = detvm_trace_digest_len(t->mode);
    t->n_steps = s->module->n_instrs;
    t->output_hashes = s->trace_digests;
    t->leaves = s->trace_digests + (size_t)t->n_steps * t->digest_len;
    detvm_trace_root(t->mode, t->leaves, t->n_steps, t->root);
    return DETVM_OK;
}
