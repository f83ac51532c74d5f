/* Traces, trace files, bisection and one-step proofs, on the fixture models:
 * - BLAKE2b (vm/blake2b.c) against libsodium, and the fast output hash against XXH3-128 of the
 *   canonical bytes computed here;
 * - a traced run's leaves and root against their definitions; same input, same root;
 * - audit paths for every leaf of trees of 1 to 70 leaves;
 * - trace files: round trip, every truncation and byte flip refused, a re-checksummed file with
 *   an altered step refused by its root;
 * - bisection: the first diverging step equals a linear scan's, and a 100-step trace needs
 *   O(log n) messages;
 * - one-step proofs for every step, a forged proof (consistent hashes, wrong output) judged
 *   wrong, altered proofs refused. */
#include <sodium.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../verify/merkle.h"
#include "../verify/wire.h"
#include "blake2b.h"
#include "check.h"
#include "corpus.h"
#include "detvm.h"

#define FIXTURE "fixtures/cvm/chain_23"

static void check_blake2b(void)
{
    uint8_t data[300], want[32], got[32];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof data; len++) {
        crypto_generichash(want, 32, data, len, NULL, 0);
        vm_blake2b s;
        vm_blake2b_init(&s, 32);
        for (size_t at = 0; at < len; at += 1 + at % 37) /* uneven pieces */
            vm_blake2b_update(&s, data + at, (at + 1 + at % 37 > len ? len : at + 1 + at % 37) - at);
        vm_blake2b_final(&s, got);
        CHECK(memcmp(want, got, 32) == 0, "BLAKE2b of %zu bytes", len);
    }
}

typedef struct {
    uint8_t *bytes;
    detvm_module *m;
    detvm_session *s;
    uint8_t *input, *output;
    size_t input_len, output_len;
} fixture;

static int open_fixture(fixture *f, const char *input_path)
{
    memset(f, 0, sizeof *f);
    size_t len;
    detvm_error err = {0};
    if (detvm_load_model_files(FIXTURE "/symbol.json", FIXTURE "/params.bin", NULL, &f->bytes,
                               &len, &err) ||
        detvm_module_load(f->bytes, len, &f->m, &err) || detvm_session_new(f->m, &f->s, &err)) {
        CHECK(0, "fixture: %s", err.message);
        return -1;
    }
    f->input = read_file(input_path, &f->input_len);
    detvm_module_info info;
    detvm_module_get_info(f->m, &info);
    f->output_len = info.output_len;
    f->output = malloc(f->output_len + 1);
    return f->input ? 0 : -1;
}

static void close_fixture(fixture *f)
{
    detvm_session_free(f->s);
    detvm_module_free(f->m);
    free(f->bytes);
    free(f->input);
    free(f->output);
}

static detvm_status traced(fixture *f, detvm_trace_mode mode, detvm_trace *t)
{
    detvm_error err = {0};
    detvm_status st = detvm_session_set_trace(f->s, mode, &err);
    if (!st)
        st = detvm_run(f->s, f->input, f->input_len, f->output, f->output_len, &err);
    if (!st)
        st = detvm_session_trace(f->s, t, &err);
    CHECK(st == DETVM_OK, "traced run: %s", err.message);
    return st;
}

/* The fast output hash of step k, computed here from the definition. */
typedef struct {
    uint32_t step;
    uint8_t hash[16];
} expected_hash;

static int hash_step(void *user, const detvm_step *st)
{
    expected_hash *e = user;
    if (st->index != e->step)
        return 0;
    XXH3_state_t h;
    XXH3_128bits_reset(&h);
    uint8_t domain = 2, b[4];
    XXH3_128bits_update(&h, &domain, 1);
    for (uint32_t o = 0; o < st->n_outputs; o++) {
        const detvm_tensor_view *v = &st->outputs[o];
        uint32_t words[1 + 6];
        words[0] = v->ndim;
        for (uint32_t d = 0; d < v->ndim; d++)
            words[1 + d] = v->dim[d];
        for (uint32_t w = 0; w <= v->ndim; w++) {
            for (int i = 0; i < 4; i++)
                b[i] = (uint8_t)(words[w] >> (8 * i));
            XXH3_128bits_update(&h, b, 4);
        }
        for (uint64_t i = 0; i < v->count; i++) {
            for (int j = 0; j < 4; j++)
                b[j] = (uint8_t)((uint32_t)v->data[i] >> (8 * j));
            XXH3_128bits_update(&h, b, 4);
        }
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&h));
    memcpy(e->hash, c.digest, 16);
    return 0;
}

static void check_traced_run(void)
{
    fixture f;
    if (open_fixture(&f, FIXTURE "/input.bin"))
        return close_fixture(&f);
    detvm_trace t;
    expected_hash e = {5, {0}};
    detvm_session_set_hook(f.s, hash_step, &e);
    if (traced(&f, DETVM_TRACE_FAST, &t) == DETVM_OK) {
        CHECK(t.n_steps == 12 && t.digest_len == 16);
        CHECK(memcmp(t.output_hashes + 5 * 16, e.hash, 16) == 0, "output hash of step 5");
        uint8_t leaf[32], root[32];
        detvm_layer_desc l;
        detvm_module_layer(f.m, 5, &l, NULL);
        detvm_trace_leaf(DETVM_TRACE_FAST, 5, l.opcode, e.hash, leaf);
        CHECK(memcmp(leaf, t.leaves + 5 * 16, 16) == 0, "leaf 5");
        /* the root of 12 leaves: node(root of 8, node(root of the last 4)) */
        uint8_t left[16], right[16];
        detvm_trace_root(DETVM_TRACE_FAST, t.leaves, 8, left);
        detvm_trace_root(DETVM_TRACE_FAST, t.leaves + 8 * 16, 4, right);
        detvm_trace_node(DETVM_TRACE_FAST, left, right, root);
        CHECK(memcmp(root, t.root, 16) == 0, "root of 12 leaves");
        uint8_t first[16];
        memcpy(first, t.root, 16);
        CHECK(traced(&f, DETVM_TRACE_FAST, &t) == DETVM_OK && memcmp(first, t.root, 16) == 0,
              "same input, same root");
    }
    detvm_session_set_hook(f.s, NULL, NULL);
    if (traced(&f, DETVM_TRACE_SECURE, &t) == DETVM_OK)
        CHECK(t.digest_len == 32 && t.mode == DETVM_TRACE_SECURE);
    detvm_error err = {0};
    detvm_session_set_trace(f.s, DETVM_TRACE_OFF, &err);
    CHECK(detvm_session_trace(f.s, &t, &err) == DETVM_EINVALID, "no trace when off");
    CHECK(detvm_session_set_trace(f.s, (detvm_trace_mode)7, &err) == DETVM_EINVALID);
    close_fixture(&f);
}

static void check_audit_paths(void)
{
    uint8_t leaves[70 * 32], path[MERKLE_MAX_DEPTH][DETVM_DIGEST_MAX], root[32], got[32];
    for (size_t i = 0; i < sizeof leaves; i++)
        leaves[i] = (uint8_t)(i * 7 + 3);
    int bad = 0;
    for (uint32_t n = 1; n <= 70; n++) {
        detvm_trace_root(DETVM_TRACE_SECURE, leaves, n, root);
        for (uint32_t k = 0; k < n; k++) {
            uint32_t depth = merkle_path(DETVM_TRACE_SECURE, leaves, n, k, path);
            if (merkle_root_from_path(DETVM_TRACE_SECURE, n, k, leaves + 32 * k,
                                      (const uint8_t(*)[DETVM_DIGEST_MAX])path, depth, got) ||
                memcmp(got, root, 32) != 0)
                bad++;
            if (n > 1 && merkle_root_from_path(DETVM_TRACE_SECURE, n, k, leaves + 32 * k,
                                               (const uint8_t(*)[DETVM_DIGEST_MAX])path,
                                               depth - 1, got) == 0)
                bad++;
        }
    }
    CHECK(bad == 0, "%d audit paths wrong", bad);
}

/* A trace file of the fixture run on `input_path`. */
static uint8_t *trace_bytes(const char *input_path, detvm_trace_mode mode, size_t *len)
{
    fixture f;
    uint8_t *bytes = NULL;
    detvm_trace t;
    detvm_error err = {0};
    if (!open_fixture(&f, input_path) && !traced(&f, mode, &t))
        CHECK(detvm_trace_file_write(f.m, f.s, &bytes, len, &err) == DETVM_OK, "%s", err.message);
    close_fixture(&f);
    return bytes;
}

static void check_trace_files(void)
{
    size_t len = 0;
    uint8_t *bytes = trace_bytes(FIXTURE "/input.bin", DETVM_TRACE_FAST, &len);
    if (!bytes)
        return;
    detvm_trace_file *t = NULL;
    detvm_error err = {0};
    CHECK(detvm_trace_file_read(bytes, len, &t, &err) == DETVM_OK, "%s", err.message);
    detvm_trace_step_desc step;
    CHECK(t && detvm_trace_file_step(t, 7, &step, &err) == DETVM_OK &&
          strcmp(step.op, "dense") == 0 && strstr(step.shapes, "->"), "step 7 described");
    detvm_trace_file_free(t);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        t = NULL;
        accepted += detvm_trace_file_read(bytes, cut, &t, &err) != DETVM_EINVALID;
        detvm_trace_file_free(t);
    }
    CHECK(accepted == 0, "%d truncations accepted", accepted);
    uint8_t *copy = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, bytes, len);
        copy[i] ^= 0x10;
        t = NULL;
        accepted += detvm_trace_file_read(copy, len, &t, &err) != DETVM_EINVALID;
        detvm_trace_file_free(t);
    }
    CHECK(accepted == 0, "%d flipped bytes accepted", accepted);
    /* alter step 3's output hash and repair the checksum: the root gives it away */
    memcpy(copy, bytes, len);
    size_t step0 = 8 + 4 + 32 + 8 + 16; /* header and root */
    copy[step0 + 4] ^= 1;
    crypto_generichash(copy + len - 32, 32, copy, len - 32, NULL, 0);
    t = NULL;
    CHECK(detvm_trace_file_read(copy, len, &t, &err) == DETVM_EINVALID &&
          strstr(err.message, "root"), "altered step: %s", err.message);
    detvm_trace_file_free(t);
    free(copy);
    free(bytes);
}

/* A synthetic trace file of n steps whose output hashes differ from the base at `from` on. */
static uint8_t *synthetic_trace(uint32_t n, uint32_t from, size_t *len)
{
    uint8_t *hashes = malloc((size_t)n * 16), *leaves = malloc((size_t)n * 16), root[16];
    for (uint32_t k = 0; k < n; k++) {
        memset(hashes + 16 * k, (int)(k + (k >= from ? 100 : 0)), 16);
        detvm_trace_leaf(DETVM_TRACE_FAST, k, 9, hashes + 16 * k, leaves + 16 * k);
    }
    detvm_trace_root(DETVM_TRACE_FAST, leaves, n, root);
    wire_writer w = {0};
    uint8_t id[32] = {1};
    wire_bytes(&w, "DTVMTRC1", 8);
    wire_u16(&w, 1);
    wire_u16(&w, DETVM_TRACE_FAST);
    wire_bytes(&w, id, 32);
    wire_u32(&w, n);
    wire_u32(&w, 16);
    wire_bytes(&w, root, 16);
    for (uint32_t k = 0; k < n; k++) {
        wire_u32(&w, 9);
        wire_bytes(&w, hashes + 16 * k, 16);
        wire_string(&w, "elemwise_add");
        wire_string(&w, "layer");
        wire_string(&w, "(4) (4) -> (4)");
    }
    wire_checksum(&w);
    free(hashes);
    free(leaves);
    *len = w.len;
    return w.p;
}

static int ask_local(void *user, const char *q, char *answer, size_t cap)
{
    detvm_error err = {0};
    return detvm_bisect_answer(user, q, answer, cap, &err) != DETVM_OK;
}

static void check_bisect(void)
{
    uint32_t worst = 0;
    int wrong = 0;
    for (uint32_t from = 0; from <= 100; from++) {
        size_t la, lb;
        uint8_t *a = synthetic_trace(100, 100, &la), *b = synthetic_trace(100, from, &lb);
        detvm_trace_file *ta = NULL, *tb = NULL;
        detvm_error err = {0};
        detvm_bisect_result r;
        if (detvm_trace_file_read(a, la, &ta, &err) || detvm_trace_file_read(b, lb, &tb, &err) ||
            detvm_bisect(ta, ask_local, tb, &r, &err)) {
            CHECK(0, "bisect from %u: %s", from, err.message);
        } else {
            wrong += from == 100 ? !r.identical : r.identical || r.first_divergence != from;
            if (r.messages > worst)
                worst = r.messages;
        }
        detvm_trace_file_free(ta);
        detvm_trace_file_free(tb);
        free(a);
        free(b);
    }
    CHECK(wrong == 0, "%d bisections wrong", wrong);
    /* HELLO, then one NODE question per level (7 for 100 leaves), then LEAF: 9 questions */
    CHECK(worst == 18, "a 100-step bisection took %u messages", worst);
    printf("bisecting a 100-step trace: at most %u messages (%u questions)\n", worst, worst / 2);

    /* a real divergence: the fixture on two inputs */
    size_t la, lb;
    uint8_t *a = trace_bytes(FIXTURE "/input.bin", DETVM_TRACE_FAST, &la);
    size_t n;
    uint8_t *in = read_file(FIXTURE "/input.bin", &n);
    in[n - 1] ^= 0x40;
    char other[1100];
    const char *tmp = getenv("TMPDIR");
    snprintf(other, sizeof other, "%s/detvm_trace_input_%d.bin", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    FILE *f = fopen(other, "wb");
    CHECK(f && fwrite(in, 1, n, f) == n, "write %s", other);
    if (f)
        fclose(f);
    uint8_t *b = trace_bytes(other, DETVM_TRACE_FAST, &lb);
    remove(other);
    detvm_trace_file *ta = NULL, *tb = NULL;
    detvm_error err = {0};
    detvm_bisect_result r;
    if (a && b && !detvm_trace_file_read(a, la, &ta, &err) &&
        !detvm_trace_file_read(b, lb, &tb, &err) && !detvm_bisect(ta, ask_local, tb, &r, &err)) {
        uint32_t linear = 0;
        detvm_trace_step_desc x, y;
        while (!detvm_trace_file_step(ta, linear, &x, &err) &&
               !detvm_trace_file_step(tb, linear, &y, &err) && memcmp(x.leaf, y.leaf, 16) == 0)
            linear++;
        CHECK(!r.identical && r.first_divergence == linear, "first divergence %u, scan %u",
              r.first_divergence, linear);
    } else {
        CHECK(0, "real bisect: %s", err.message);
    }
    detvm_trace_file_free(ta);
    detvm_trace_file_free(tb);
    free(a);
    free(b);
    free(in);
}

/* ---- one-step proofs ---------------------------------------------------------------------- */

static void check_proofs(void)
{
    fixture f;
    if (open_fixture(&f, FIXTURE "/input.bin"))
        return close_fixture(&f);
    detvm_error err = {0};
    for (uint32_t k = 0; k < 12; k++) {
        uint8_t *proof = NULL;
        size_t len = 0;
        detvm_step_check c;
        detvm_trace_mode mode = k % 2 ? DETVM_TRACE_SECURE : DETVM_TRACE_FAST;
        CHECK(detvm_prove_step(f.m, f.s, f.input, f.input_len, k, mode, &proof, &len, &err) ==
                  DETVM_OK, "prove %u: %s", k, err.message);
        CHECK(proof && detvm_check_step(f.m, proof, len, &c, &err) == DETVM_OK &&
                  c.output_correct && c.step == k, "check %u: %s", k, err.message);
        if (k == 7 && proof) { /* every truncation and flip of a proof is refused */
            int accepted = 0;
            uint8_t *copy = malloc(len);
            for (size_t cut = 0; cut < len; cut++)
                accepted += detvm_check_step(f.m, proof, cut, &c, &err) == DETVM_OK;
            for (size_t i = 0; i < len; i++) {
                memcpy(copy, proof, len);
                copy[i] ^= 0x04;
                accepted += detvm_check_step(f.m, copy, len, &c, &err) == DETVM_OK;
            }
            CHECK(accepted == 0, "%d altered proofs accepted", accepted);
            free(copy);
        }
        free(proof);
    }
    /* A forged proof for step 0 (it reads only the model input): the prover claims another
     * output hash and a root that agrees with it. Every hash is consistent; the re-executed
     * step shows the claim is wrong. */
    uint8_t *proof = NULL;
    size_t len = 0;
    if (!detvm_prove_step(f.m, f.s, f.input, f.input_len, 0, DETVM_TRACE_FAST, &proof, &len,
                          &err)) {
        size_t claimed = len - 32 - 1 - 16 * 4 - 16; /* hash, path length, 4 siblings, sum */
        uint8_t path[MERKLE_MAX_DEPTH][DETVM_DIGEST_MAX], leaf[16], root[16];
        for (int i = 0; i < 4; i++)
            memcpy(path[i], proof + claimed + 16 + 1 + 16 * i, 16);
        CHECK(proof[claimed + 16] == 4, "step 0's path has 4 nodes");
        proof[claimed] ^= 0xff;
        detvm_layer_desc l;
        detvm_module_layer(f.m, 0, &l, NULL);
        detvm_trace_leaf(DETVM_TRACE_FAST, 0, l.opcode, proof + claimed, leaf);
        merkle_root_from_path(DETVM_TRACE_FAST, 12, 0, leaf,
                              (const uint8_t(*)[DETVM_DIGEST_MAX])path, 4, root);
        memcpy(proof + 8 + 4 + 32 + 8, root, 16);
        crypto_generichash(proof + len - 32, 32, proof, len - 32, NULL, 0);
        detvm_step_check c;
        CHECK(detvm_check_step(f.m, proof, len, &c, &err) == DETVM_OK && !c.output_correct,
              "forged proof: %s", err.message);
    }
    free(proof);
    CHECK(detvm_prove_step(f.m, f.s, f.input, f.input_len, 12, DETVM_TRACE_FAST, &proof, &len,
                           &err) == DETVM_EINVALID, "step out of range");
    close_fixture(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    check_blake2b();
    check_traced_run();
    check_audit_paths();
    check_trace_files();
    check_bisect();
    check_proofs();
    return check_summary("test_trace");
}
