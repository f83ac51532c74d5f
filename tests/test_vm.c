/* The VM on the fixture model: the per-instruction hook, stopping after instruction N,
 * session reuse, and the memory plan (no two tensors live at once share arena bytes). */
#include "check.h"
#include "corpus.h"
#include "detvm.h"

#include <sodium.h>

#define FIXTURE "fixtures/cvm/chain_23/"
#define MAX_STEPS 64

typedef struct {
    uint32_t calls;
    uint32_t index[MAX_STEPS];
    uint64_t count[MAX_STEPS];
    int32_t *data[MAX_STEPS];   /* copies of output 0 of each step */
    uint32_t stop_at;           /* stop after this step (UINT32_MAX: never) */
} recorder;

static int record(void *user, const detvm_step *step)
{
    recorder *r = user;
    if (r->calls < MAX_STEPS) {
        r->index[r->calls] = step->index;
        r->count[r->calls] = step->outputs[0].count;
        r->data[r->calls] = malloc(step->outputs[0].count * sizeof(int32_t));
        memcpy(r->data[r->calls], step->outputs[0].data, step->outputs[0].count * sizeof(int32_t));
    }
    r->calls++;
    return step->index == r->stop_at;
}

/* A hook that only counts, and checks that it was given no data. */
static int count_without_data(void *user, const detvm_step *step)
{
    uint32_t *calls = user;
    *calls += step->outputs[0].data == NULL && step->outputs[0].count > 0;
    return 0;
}

static void recorder_free(recorder *r)
{
    for (uint32_t i = 0; i < r->calls && i < MAX_STEPS; i++)
        free(r->data[i]);
    memset(r, 0, sizeof *r);
}

/* Tensors live at the same time never overlap in the arena. */
static void check_memory_plan(const detvm_module *m)
{
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    uint32_t n = info.n_instructions;
    /* live range of each tensor: [first write or 0 for the input, last read or end] */
    enum { MAX_T = 256 };
    int64_t first[MAX_T], last[MAX_T];
    for (int i = 0; i < MAX_T; i++)
        first[i] = -1, last[i] = -1;
    first[detvm_module_input(m)] = 0;
    for (uint32_t k = 0; k < n; k++) {
        detvm_layer_desc l;
        detvm_module_layer(m, k, &l, NULL);
        for (uint32_t j = 0; j < l.n_inputs + l.n_outputs; j++) {
            uint32_t t = l.tensors[j];
            if (t >= MAX_T)
                continue;
            if (first[t] < 0)
                first[t] = k;
            last[t] = k;
        }
    }
    for (uint32_t k = 0; k < info.n_outputs; k++)
        last[detvm_module_output(m, k)] = n;
    int overlaps = 0;
    uint64_t live_peak_check = 0;
    for (uint32_t a = 0; a < MAX_T; a++) {
        detvm_tensor_desc ta, tb;
        if (first[a] < 0 || detvm_module_tensor(m, a, &ta, NULL) || ta.is_constant)
            continue;
        uint64_t sa = 4;
        for (uint32_t d = 0; d < ta.ndim; d++)
            sa *= ta.dim[d];
        live_peak_check = ta.offset + sa > live_peak_check ? ta.offset + sa : live_peak_check;
        for (uint32_t b = a + 1; b < MAX_T; b++) {
            if (first[b] < 0 || detvm_module_tensor(m, b, &tb, NULL) || tb.is_constant)
                continue;
            uint64_t sb = 4;
            for (uint32_t d = 0; d < tb.ndim; d++)
                sb *= tb.dim[d];
            int live_together = first[a] <= last[b] && first[b] <= last[a];
            int share = ta.offset < tb.offset + sb && tb.offset < ta.offset + sa;
            overlaps += live_together && share;
        }
    }
    CHECK(overlaps == 0, "%d pairs of live tensors share arena bytes", overlaps);
    CHECK(live_peak_check <= info.arena_bytes, "a tensor ends past the arena");
}

/* The module id by its definition, walking the section table of the bytes directly. */
static void expected_id(const uint8_t *b, uint8_t id[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, b, 6); /* "DTVM" and the u16 format version */
    uint32_t n = b[8] | b[9] << 8;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + 32 + 16 * i;
        uint32_t kind = e[0] | e[1] << 8, off = e[4] | e[5] << 8 | e[6] << 16 | (uint32_t)e[7] << 24;
        uint32_t len = e[8] | e[9] << 8 | e[10] << 16 | (uint32_t)e[11] << 24;
        if (kind == 7 || kind == 8) /* PACKS and SIGNATURE */
            continue;
        crypto_generichash_update(&h, e, 4);
        crypto_generichash_update(&h, e + 8, 4);
        crypto_generichash_update(&h, b + off, len);
    }
    crypto_generichash_final(&h, id, 32);
}

int main(void)
{
    uint8_t *bytes = NULL;
    size_t len = 0, in_len = 0, exp_len = 0;
    detvm_error err = {0};
    detvm_status st = detvm_load_model_files(FIXTURE "symbol.json", FIXTURE "params.bin", NULL, &bytes,
                                             &len, &err);
    CHECK(st == DETVM_OK, "compile the fixture: %s", err.message);
    if (st)
        return check_summary("test_vm");
    uint8_t *input = read_file(FIXTURE "input.bin", &in_len);
    uint8_t *expected = read_file(FIXTURE "expected.bin", &exp_len);
    detvm_module *m = NULL;
    detvm_session *s = NULL, *s2 = NULL;
    CHECK(detvm_module_load(bytes, len, &m, &err) == DETVM_OK, "%s", err.message);
    CHECK(detvm_session_new(m, &s, &err) == DETVM_OK, "%s", err.message);
    CHECK(detvm_session_new(m, &s2, &err) == DETVM_OK, "%s", err.message);
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    uint8_t *out = malloc(info.output_len), *out2 = malloc(info.output_len);

    /* the hook sees every instruction, in order */
    recorder full = {.stop_at = UINT32_MAX};
    detvm_session_set_hook(s, record, &full);
    st = detvm_run(s, input, in_len, out, info.output_len, &err);
    CHECK(st == DETVM_OK && exp_len == info.output_len && memcmp(out, expected, exp_len) == 0,
          "hooked run gives the expected bytes: %s", err.message);
    CHECK(full.calls == info.n_instructions, "hook called %u times for %u instructions",
          full.calls, info.n_instructions);
    for (uint32_t k = 0; k < full.calls && k < MAX_STEPS; k++)
        CHECK(full.index[k] == k, "hook call %u has index %u", k, full.index[k]);

    /* a hook that asked for no data gets shapes and counts only, and then data again */
    uint32_t bare = 0;
    detvm_session_set_hook(s, count_without_data, &bare);
    detvm_session_set_hook_data(s, 0);
    st = detvm_run(s, input, in_len, out, info.output_len, &err);
    CHECK(st == DETVM_OK && bare == info.n_instructions &&
              memcmp(out, expected, exp_len) == 0,
          "a hook without data: %u of %u calls bare: %s", bare, info.n_instructions, err.message);
    detvm_session_set_hook_data(s, 1);
    bare = 0;
    st = detvm_run(s, input, in_len, out, info.output_len, &err);
    CHECK(st == DETVM_OK && bare == 0, "data again: %u bare calls", bare);

    /* stopping after instruction k hands out exactly what the full run computed there */
    detvm_session_set_hook(s, NULL, NULL);
    for (uint32_t k = 0; k < info.n_instructions && k < MAX_STEPS; k++) {
        detvm_step step;
        st = detvm_run_until(s, input, in_len, k, &step, &err);
        CHECK(st == DETVM_OK && step.index == k && step.outputs[0].count == full.count[k] &&
                  memcmp(step.outputs[0].data, full.data[k], full.count[k] * 4) == 0,
              "run_until %u: %s", k, st ? err.message : "output differs");
    }
    detvm_step step;
    CHECK(detvm_run_until(s, input, in_len, info.n_instructions, &step, &err) == DETVM_EINVALID,
          "run_until past the end is refused");

    /* a hook that asks to stop ends the run with a runtime status and no output */
    recorder stopper = {.stop_at = 2};
    detvm_session_set_hook(s, record, &stopper);
    st = detvm_run(s, input, in_len, out, info.output_len, &err);
    CHECK(st == DETVM_ERUNTIME && strstr(err.message, "stopped") && stopper.calls == 3,
          "stopping hook: status %d, %u calls, %s", st, stopper.calls, err.message);
    detvm_session_set_hook(s, NULL, NULL);

    /* sessions are independent and reusable: interleaved runs give the same bytes */
    memset(out, 0, info.output_len);
    CHECK(detvm_run(s, input, in_len, out, info.output_len, &err) == DETVM_OK &&
              detvm_run(s2, input, in_len, out2, info.output_len, &err) == DETVM_OK &&
              detvm_run(s, input, in_len, out, info.output_len, &err) == DETVM_OK,
          "%s", err.message);
    CHECK(memcmp(out, expected, exp_len) == 0 && memcmp(out2, expected, exp_len) == 0,
          "reused and second sessions give the expected bytes");

    /* wrong lengths are the caller's fault, and name the buffer */
    st = detvm_run(s, input, in_len - 1, out, info.output_len, &err);
    CHECK(st == DETVM_EINVALID && strstr(err.message, "input"), "short input: %s", err.message);
    st = detvm_run(s, input, in_len, out, info.output_len + 1, &err);
    CHECK(st == DETVM_EINVALID && strstr(err.message, "output"), "long output: %s", err.message);

    check_memory_plan(m);

    uint8_t id[32], want[32];
    detvm_module_id(m, id);
    expected_id(bytes, want);
    CHECK(memcmp(id, want, 32) == 0, "module id is BLAKE2b-256 over the sections");

    recorder_free(&full);
    recorder_free(&stopper);
    free(out);
    free(out2);
    detvm_session_free(s);
    detvm_session_free(s2);
    detvm_module_free(m);
    free(bytes);
    free(input);
    free(expected);
    return check_summary("test_vm");
}
