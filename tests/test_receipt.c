/* Signed receipts (verify/receipt.c, verify/keys.c, cli/cmd_receipt.c) on the fixture models
 * fixtures/cvm/chain_23 and fixtures/tflite/hello_world_int8: making and verifying through the
 * API, in both trace modes; the same run gives the same bytes; every truncation, every
 * single-byte change and hand-made hostile records are refused with a message naming the
 * field; key files; and the commands keygen, run --receipt, receipt verify [--rerun] and
 * receipt show. */
#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"

#define FIXTURE "fixtures/cvm/chain_23"
#define SYMBOL FIXTURE "/symbol.json"
#define PARAMS FIXTURE "/params.bin"
#define INPUT FIXTURE "/input.bin"
#define EXPECTED FIXTURE "/expected.bin"
#define TFL "fixtures/tflite/hello_world_int8/model.tflite"
#define TFL_INPUT "fixtures/tflite/hello_world_int8/inputs/sin_x1.57.bin"

/* The record's fixed fields (verify/receipt.h): magic 4, version 2, mode 1, three 32-byte
 * hashes, u32 steps; then the root, u64 gas, the names, the signer and the signature. */
#define ROOT_AT 107
#define NAMES_AT(d) (ROOT_AT + (d) + 8)
/* engine DETVM_VERSION (1 + its length), devices [cpu] (1 + 1 + 3), variants [reference]
 * (1 + 1 + 9) */
#define NAMES_BYTES ((int)sizeof DETVM_VERSION + 16)
#define RECEIPT_BYTES(d) (NAMES_AT(d) + NAMES_BYTES + 32 + 64)

/* Name lists for hand-made records, as a string and its length: the usual one, and one with
 * eight devices and two kernel variants. */
#define NORMAL "\x05" "0.1.0" "\x01\x03" "cpu" "\x01\x09" "reference"
#define SEVERAL                                                                           \
    "\x05" "0.1.0" "\x08\x03" "cpu" "\x03" "npu" "\x04" "k210" "\x06" "kneron" "\x04" "fpga" \
    "\x01" "a" "\x01" "b" "\x01" "c" "\x02\x04" "avx2" "\x09" "reference"
#define TAIL(s) s, sizeof s - 1


/* ---- the API ------------------------------------------------------------------------------ */

/* A traced run of a model, kept open so that receipts can be made from its session. */
typedef struct {
    uint8_t *bytes, *input, *output;
    size_t input_len, output_len;
    detvm_module *module;
    detvm_session *session;
} traced_run;

static int open_run(traced_run *t, const char *model, const char *params, const char *input,
                    detvm_trace_mode mode)
{
    memset(t, 0, sizeof *t);
    detvm_error err = {0};
    size_t len = 0;
    detvm_module_info info;
    if (detvm_load_model_files(model, params, NULL, &t->bytes, &len, &err) ||
        detvm_module_load(t->bytes, len, &t->module, &err)) {
        CHECK(0, "load %s: %s", model, err.message);
        return -1;
    }
    detvm_module_get_info(t->module, &info);
    t->output_len = info.output_len;
    t->output = malloc(t->output_len + 1);
    t->input = read_file(input, &t->input_len);
    if (!t->output || !t->input || detvm_session_new(t->module, &t->session, &err) ||
        (mode && detvm_session_set_trace(t->session, mode, &err)) ||
        detvm_run(t->session, t->input, t->input_len, t->output, t->output_len, &err)) {
        CHECK(0, "run %s: %s", model, err.message);
        return -1;
    }
    return 0;
}

static void close_run(traced_run *t)
{
    detvm_session_free(t->session);
    detvm_module_free(t->module);
    free(t->bytes);
    free(t->input);
    free(t->output);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The receipt's fields are the run's. */
static void check_fields(const detvm_receipt *r, const traced_run *t, const uint8_t *pk,
                         const char *what)
{
    uint8_t id[32], in_hash[32], out_hash[32];
    detvm_module_info info;
    detvm_trace trace;
    detvm_module_id(t->module, id);
    detvm_module_get_info(t->module, &info);
    detvm_session_trace(t->session, &trace, NULL);
    crypto_generichash(in_hash, 32, t->input, t->input_len, NULL, 0);
    crypto_generichash(out_hash, 32, t->output, t->output_len, NULL, 0);
    CHECK(r->format_version == 1, "%s: format version %u", what, r->format_version);
    CHECK(memcmp(r->module_id, id, 32) == 0, "%s: module id", what);
    CHECK(memcmp(r->input_hash, in_hash, 32) == 0, "%s: input hash", what);
    CHECK(memcmp(r->output_hash, out_hash, 32) == 0, "%s: output hash", what);
    CHECK(r->mode == trace.mode && r->n_steps == trace.n_steps &&
              r->n_steps == info.n_instructions,
          "%s: mode %d, %u steps", what, (int)r->mode, r->n_steps);
    CHECK(memcmp(r->trace_root, trace.root, trace.digest_len) == 0, "%s: trace root", what);
    CHECK(r->gas == info.gas, "%s: gas %llu, module %llu", what, (unsigned long long)r->gas,
          (unsigned long long)info.gas);
    CHECK(strcmp(r->engine_version, DETVM_VERSION) == 0, "%s: engine %s", what,
          r->engine_version);
    CHECK(r->n_devices == 1 && strcmp(r->devices[0], "cpu") == 0, "%s: devices", what);
    CHECK(r->n_kernel_variants == 1 && strcmp(r->kernel_variants[0], "reference") == 0,
          "%s: kernel variants", what);
    CHECK(memcmp(r->signer, pk, 32) == 0, "%s: signer", what);
}

static void test_round_trip(const char *model, const char *params, const char *input,
                            detvm_trace_mode mode)
{
    const char *what = mode == DETVM_TRACE_FAST ? "fast" : "secure";
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    detvm_error err = {0};
    CHECK(detvm_keygen(pk, sk, &err) == DETVM_OK && detvm_keygen(pk2, sk2, &err) == DETVM_OK);
    traced_run t, again;
    if (open_run(&t, model, params, input, mode))
        return;
    uint8_t *bytes = NULL, *bytes2 = NULL, *bytes3 = NULL;
    size_t len = 0, len2 = 0, len3 = 0;
    detvm_status st = detvm_receipt_make(t.session, t.input, t.input_len, t.output,
                                         t.output_len, sk, &bytes, &len, &err);
    CHECK(st == DETVM_OK, "%s %s: make: %s", model, what, err.message);
    uint32_t d = detvm_trace_digest_len(mode);
    CHECK(len == RECEIPT_BYTES(d), "%s %s: %zu bytes, want %d", model, what, len,
          RECEIPT_BYTES(d));
    printf("%s, %s mode: the receipt is %zu bytes\n", model, what, len);

    detvm_receipt r;
    st = detvm_receipt_verify(bytes, len, pk, &r, &err);
    CHECK(st == DETVM_OK, "%s %s: verify: %s", model, what, err.message);
    check_fields(&r, &t, pk, what);
    CHECK(detvm_receipt_verify(bytes, len, NULL, &r, &err) == DETVM_OK,
          "verify without a trusted key reads the signer: %s", err.message);
    st = detvm_receipt_verify(bytes, len, pk2, &r, &err);
    CHECK(st == DETVM_EINVALID &&
              strcmp(err.message, "receipt: signed by another key than the one given") == 0,
          "another trusted key: %s", err.message);

    /* The same run gives the same bytes: made twice, and from a second run. */
    CHECK(detvm_receipt_make(t.session, t.input, t.input_len, t.output, t.output_len, sk,
                             &bytes2, &len2, &err) == DETVM_OK);
    CHECK(len2 == len && memcmp(bytes, bytes2, len) == 0, "%s: made twice, same bytes", what);
    if (!open_run(&again, model, params, input, mode)) {
        CHECK(detvm_receipt_make(again.session, again.input, again.input_len, again.output,
                                 again.output_len, sk, &bytes3, &len3, &err) == DETVM_OK);
        CHECK(len3 == len && memcmp(bytes, bytes3, len) == 0, "%s: run twice, same receipt",
              what);
        close_run(&again);
    }
    free(bytes);
    free(bytes2);
    free(bytes3);
    close_run(&t);
}

static void test_misuse(void)
{
    uint8_t pk[32], sk[64], *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    detvm_keygen(pk, sk, &err);
    traced_run t;
    if (open_run(&t, SYMBOL, PARAMS, INPUT, DETVM_TRACE_OFF))
        return;
    detvm_status st = detvm_receipt_make(t.session, t.input, t.input_len, t.output,
                                         t.output_len, sk, &bytes, &len, &err);
    CHECK(st == DETVM_EINVALID && !bytes && strstr(err.message, "trac"),
          "an untraced run: %d %s", st, err.message);
    close_run(&t);
    if (open_run(&t, SYMBOL, PARAMS, INPUT, DETVM_TRACE_FAST))
        return;
    st = detvm_receipt_make(t.session, t.input, t.input_len, t.output, t.output_len - 1, sk,
                            &bytes, &len, &err);
    CHECK(st == DETVM_EINVALID && strstr(err.message, "output"), "a short output: %s",
          err.message);
    st = detvm_receipt_make(t.session, t.input, t.input_len - 1, t.output, t.output_len, sk,
                            &bytes, &len, &err);
    CHECK(st == DETVM_EINVALID && strstr(err.message, "input"), "a short input: %s",
          err.message);
    sk[40] ^= 1;
    st = detvm_receipt_make(t.session, t.input, t.input_len, t.output, t.output_len, sk,
                            &bytes, &len, &err);
    CHECK(st == DETVM_EINVALID && strstr(err.message, "public half"),
          "a secret key with a foreign public half: %s", err.message);
    CHECK(!bytes);
    close_run(&t);
}

/* A receipt of chain_23 in the given mode, signed with sk. */
static uint8_t *chain_receipt(detvm_trace_mode mode, const uint8_t *sk, size_t *len)
{
    traced_run t;
    uint8_t *bytes = NULL;
    detvm_error err = {0};
    if (open_run(&t, SYMBOL, PARAMS, INPUT, mode))
        return NULL;
    detvm_receipt_make(t.session, t.input, t.input_len, t.output, t.output_len, sk, &bytes,
                       len, &err);
    close_run(&t);
    return bytes;
}

/* Every truncation is refused, naming the field it falls in; so is one byte too many. */
static void test_truncations(detvm_trace_mode mode)
{
    uint8_t pk[32], sk[64];
    size_t len = 0;
    detvm_keygen(pk, sk, NULL);
    uint8_t *bytes = chain_receipt(mode, sk, &len);
    if (!bytes)
        return;
    uint32_t d = detvm_trace_digest_len(mode);
    int bad = 0;
    size_t first_bad = 0;
    detvm_error err = {0};
    detvm_receipt r;
    for (size_t cut = 0; cut < len; cut++) {
        detvm_status st = detvm_receipt_verify(bytes, cut, pk, &r, &err);
        int ok = st == DETVM_EINVALID && starts_with(err.message, "receipt: truncated in the ");
        if (cut >= ROOT_AT && cut < ROOT_AT + d)
            ok = ok && strcmp(err.message, "receipt: truncated in the trace root") == 0;
        if (cut >= len - 64)
            ok = ok && strcmp(err.message, "receipt: truncated in the signature") == 0;
        if (!ok && !bad++)
            first_bad = cut;
    }
    CHECK(bad == 0, "%d truncations not refused as such, the first at %zu: %s", bad,
          first_bad, err.message);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    detvm_status st = detvm_receipt_verify(longer, len + 1, pk, &r, &err);
    CHECK(st == DETVM_EINVALID &&
              strcmp(err.message, "receipt: 1 trailing bytes after the signature") == 0,
          "a byte too many: %s", err.message);
    free(longer);
    free(bytes);
}

/* Every change of one byte, anywhere, by any bit pattern of a single bit or all eight, is
 * refused: as a parse error, or because the signature no longer matches. Changes inside the
 * hashes, the root and the gas leave a well-formed record whose signature was valid before. */
static void test_flips(detvm_trace_mode mode)
{
    uint8_t pk[32], sk[64];
    size_t len = 0;
    detvm_keygen(pk, sk, NULL);
    uint8_t *bytes = chain_receipt(mode, sk, &len);
    if (!bytes)
        return;
    uint32_t d = detvm_trace_digest_len(mode);
    uint8_t *copy = malloc(len);
    int bad = 0, tried = 0;
    size_t first_bad = 0;
    detvm_error err = {0};
    detvm_receipt r;
    static const uint8_t masks[] = {1, 2, 4, 8, 16, 32, 64, 128, 0xFF};
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(copy, bytes, len);
            copy[i] ^= masks[m];
            tried++;
            const uint8_t *keys[2] = {pk, NULL};
            for (int k = 0; k < 2; k++) {
                detvm_status st = detvm_receipt_verify(copy, len, keys[k], &r, &err);
                int ok = st == DETVM_EINVALID && starts_with(err.message, "receipt: ");
                if (i >= 7 && i < NAMES_AT(d) && (i < 103 || i >= ROOT_AT))
                    ok = ok && strcmp(err.message,
                                      "receipt: signature does not match its content") == 0;
                if (!ok && !bad++)
                    first_bad = i;
            }
        }
    }
    CHECK(bad == 0, "%d of %d changed receipts not refused, the first at byte %zu: %s", bad,
          tried, first_bad, err.message);
    free(copy);
    free(bytes);
}

/* A record built from a valid receipt's first `head` bytes (with `patch` applied there), a
 * tail of names, the signer's key, and a valid signature: only parsing can refuse it. */
static size_t forge(uint8_t *out, const uint8_t *valid, size_t head, size_t patch_at,
                    uint8_t patch, const void *tail, size_t tail_len, const uint8_t *sk)
{
    memcpy(out, valid, head);
    if (patch_at < head)
        out[patch_at] = patch;
    memcpy(out + head, tail, tail_len);
    memcpy(out + head + tail_len, sk + 32, 32);
    size_t signed_len = head + tail_len + 32;
    crypto_sign_detached(out + signed_len, NULL, out, signed_len, sk);
    return signed_len + 64;
}

static void test_hostile(void)
{
    uint8_t pk[32], sk[64], pk2[32], sk2[64];
    size_t len = 0;
    detvm_keygen(pk, sk, NULL);
    detvm_keygen(pk2, sk2, NULL);
    uint8_t *valid = chain_receipt(DETVM_TRACE_FAST, sk, &len);
    if (!valid)
        return;
    const size_t head = NAMES_AT(16);
    static const struct {
        const char *tail;
        size_t tail_len;
        size_t patch_at;
        uint8_t patch;
        const char *message;   /* NULL: accepted; "": refused, whatever the message */
    } cases[] = {
        {TAIL(NORMAL), (size_t)-1, 0, NULL},
        {TAIL(NORMAL), 4, 2, "receipt: format version 2 unknown (this build reads 1)"},
        {TAIL(NORMAL), 6, 3, "receipt: trace mode 3 unknown (1 fast, 2 secure)"},
        {TAIL(NORMAL), 6, 0, "receipt: trace mode 0 unknown (1 fast, 2 secure)"},
        {TAIL(NORMAL), 0, 'X', "receipt: not a detvm receipt (the magic is not \"DVRC\")"},
        {TAIL("\x00" "\x01\x03" "cpu" "\x01\x09" "reference"), (size_t)-1, 0,
         "receipt: the engine version is 0 bytes long (1 to 63 allowed)"},
        {TAIL("\x05" "0.1\n0" "\x01\x03" "cpu" "\x01\x09" "reference"), (size_t)-1, 0,
         "receipt: the engine version holds byte 0x0a, outside printable ASCII"},
        {TAIL("\x05" "0.1 0" "\x01\x03" "cpu" "\x01\x09" "reference"), (size_t)-1, 0,
         "receipt: the engine version holds byte 0x20, outside printable ASCII"},
        {TAIL("\x05" "0.1.0" "\x00" "\x01\x09" "reference"), (size_t)-1, 0,
         "receipt: 0 devices listed (1 to 8 allowed)"},
        {TAIL("\x05" "0.1.0" "\x09"), (size_t)-1, 0,
         "receipt: 9 devices listed (1 to 8 allowed)"},
        {TAIL(SEVERAL), (size_t)-1, 0, NULL},
        {TAIL("\x05" "0.1.0" "\x01\x03" "cpu" "\x01\x00"), (size_t)-1, 0,
         "receipt: the kernel variant 1 is 0 bytes long (1 to 63 allowed)"},
        {TAIL("\x05" "0.1.0" "\x01\x03" "cpu" "\x01\x40" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
         (size_t)-1, 0, "receipt: the kernel variant 1 is 64 bytes long (1 to 63 allowed)"},
        /* a name that runs into the signer's key: refused, whatever the key's bytes are */
        {TAIL("\x05" "0.1.0" "\x01\x03" "cpu" "\x01\x09" "refer"), (size_t)-1, 0, ""},
    };
    uint8_t forged[1024];
    detvm_error err = {0};
    detvm_receipt r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = forge(forged, valid, head, cases[i].patch_at, cases[i].patch, cases[i].tail,
                         cases[i].tail_len, sk);
        detvm_status st = detvm_receipt_verify(forged, n, pk, &r, &err);
        if (cases[i].message && !cases[i].message[0])
            CHECK(st == DETVM_EINVALID, "case %zu: %s", i, err.message);
        else if (cases[i].message)
            CHECK(st == DETVM_EINVALID && strcmp(err.message, cases[i].message) == 0,
                  "case %zu: %d %s", i, st, err.message);
        else
            CHECK(st == DETVM_OK, "case %zu: %s", i, err.message);
    }
    /* Eight devices and two kernel variants are read back in order. */
    size_t n = forge(forged, valid, head, (size_t)-1, 0, TAIL(SEVERAL), sk);
    CHECK(detvm_receipt_verify(forged, n, pk, &r, &err) == DETVM_OK && r.n_devices == 8 &&
              strcmp(r.devices[5], "a") == 0 && r.n_kernel_variants == 2 &&
              strcmp(r.kernel_variants[1], "reference") == 0,
          "several devices and variants: %s", err.message);
    /* Zero steps (chain_23 has 12: only the low byte is not zero). */
    n = forge(forged, valid, head, 103, 0, TAIL(NORMAL), sk);
    CHECK(detvm_receipt_verify(forged, n, pk, &r, &err) == DETVM_EINVALID &&
              strcmp(err.message, "receipt: the number of steps is 0 (a run has at least one)") ==
                  0,
          "zero steps: %s", err.message);

    /* A changed output hash, signed again by another key: the signature holds, the signer is
     * not the one trusted. */
    memcpy(forged, valid, len);
    forged[71] ^= 1;
    memcpy(forged + len - 96, pk2, 32);
    crypto_sign_detached(forged + len - 64, NULL, forged, len - 64, sk2);
    CHECK(detvm_receipt_verify(forged, len, NULL, &r, &err) == DETVM_OK,
          "re-signed by another key, the signature holds: %s", err.message);
    CHECK(detvm_receipt_verify(forged, len, pk, &r, &err) == DETVM_EINVALID &&
              strcmp(err.message, "receipt: signed by another key than the one given") == 0,
          "re-signed by another key: %s", err.message);
    /* The same change, keeping the first signer: the old signature no longer matches. */
    memcpy(forged, valid, len);
    forged[71] ^= 1;
    CHECK(detvm_receipt_verify(forged, len, pk, &r, &err) == DETVM_EINVALID &&
              strcmp(err.message, "receipt: signature does not match its content") == 0,
          "a changed output hash: %s", err.message);
    free(valid);
}

/* ---- the command -------------------------------------------------------------------------- */



/* One line on stderr, starting with "detvm". */
static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int files_equal(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    uint8_t *x = read_file(a, &la), *y = read_file(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void test_keygen(const char *key, const char *pub)
{
    result r = {0};
    CLI(&r, "keygen", "-o", key);
    CHECK(r.status == 0 && r.err[0] == 0, "keygen: %d %s", r.status, r.err);
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "the secret key is 0600 (%o)",
          (unsigned)(st.st_mode & 0777));
    CHECK(stat(pub, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask),
          "the public key has a new file's mode (%o)", (unsigned)(st.st_mode & 0777));
    size_t len = 0;
    char *text = (char *)read_file(key, &len);
    CHECK(text && len == 25 + 128 + 1 && starts_with(text, "detvm-ed25519-secret-key ") &&
              text[len - 1] == '\n',
          "the secret key file: %s", text ? text : "(none)");
    free(text);
    text = (char *)read_file(pub, &len);
    CHECK(text && len == 25 + 64 + 1 && starts_with(text, "detvm-ed25519-public-key ") &&
              text[len - 1] == '\n',
          "the public key file: %s", text ? text : "(none)");
    free(text);

    /* An existing key is never overwritten. */
    uint8_t *before = read_file(key, &len);
    CLI(&r, "keygen", "-o", key);
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "exists"),
          "keygen over a key: %d %s", r.status, r.err);
    size_t len2 = 0;
    uint8_t *after = read_file(key, &len2);
    CHECK(before && after && len == len2 && memcmp(before, after, len) == 0,
          "the existing key is kept");
    free(before);
    free(after);

    char no_dir[1100];
    tmp_path(no_dir, sizeof no_dir, "no_such_dir/k");
    CLI(&r, "keygen", "-o", no_dir);
    CHECK(r.status == 2 && one_line_message(r.err), "keygen into a missing folder: %d %s",
          r.status, r.err);
    CLI(&r, "keygen");
    CHECK(r.status == 1 && one_line_message(r.err), "keygen without -o: %s", r.err);
    CLI(&r, "keygen", "-o", key, "extra");
    CHECK(r.status == 1 && one_line_message(r.err), "keygen with an argument: %s", r.err);
    CLI(&r, "keygen", "--bogus");
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "--bogus"),
          "keygen, unknown option: %s", r.err);
    free(r.out);
    free(r.err);
}

static void test_cli_receipts(const char *key, const char *pub, const char *pub2)
{
    result r = {0};
    char out[1100], rec[1100], rec2[1100], sec[1100], sec2[1100], other_in[1100];
    char cut[1100], tampered[1100], tfl_out[1100], tfl_rec[1100];
    tmp_path(out, sizeof out, "out.bin");
    tmp_path(rec, sizeof rec, "fast.receipt");
    tmp_path(rec2, sizeof rec2, "fast_again.receipt");
    tmp_path(sec, sizeof sec, "secure.receipt");
    tmp_path(sec2, sizeof sec2, "secure_again.receipt");
    tmp_path(other_in, sizeof other_in, "other_input.bin");
    tmp_path(cut, sizeof cut, "cut.receipt");
    tmp_path(tampered, sizeof tampered, "tampered.receipt");
    tmp_path(tfl_out, sizeof tfl_out, "tfl.bin");
    tmp_path(tfl_rec, sizeof tfl_rec, "tfl.receipt");

    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out, "--receipt", rec, "--key", key);
    CHECK(r.status == 0 && r.err[0] == 0 && r.out[0] == 0, "run --receipt: %d %s", r.status,
          r.err);
    CHECK(files_equal(out, EXPECTED), "run --receipt still writes expected.bin");
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out, "--receipt", rec2, "--key", key);
    CHECK(r.status == 0 && files_equal(rec, rec2), "the same run, the same receipt bytes");
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out, "--receipt", sec, "--key", key,
        "--mode", "secure");
    CHECK(r.status == 0, "run --mode secure: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out, "--receipt", sec2, "--key", key,
        "--mode", "secure");
    CHECK(r.status == 0 && files_equal(sec, sec2), "secure: the same run, the same receipt");
    size_t len_fast = 0, len_secure = 0;
    free(read_file(rec, &len_fast));
    free(read_file(sec, &len_secure));
    CHECK(len_fast == RECEIPT_BYTES(16) && len_secure == RECEIPT_BYTES(32),
          "receipt sizes %zu and %zu", len_fast, len_secure);

    CLI(&r, "receipt", "verify", rec, "--pub", pub);
    CHECK(r.status == 0 && strstr(r.out, "signature: ok") && strstr(r.out, "receipt: valid"),
          "verify: %d %s %s", r.status, r.out, r.err);
    CLI(&r, "receipt", "verify", rec, "--pub", pub, "--rerun", SYMBOL, PARAMS, "-i", INPUT);
    CHECK(r.status == 0 && strstr(r.out, "module id: ok") && strstr(r.out, "trace root: ok") &&
              strstr(r.out, "output hash: ok") && strstr(r.out, "receipt: valid"),
          "verify --rerun: %d %s %s", r.status, r.out, r.err);
    CLI(&r, "receipt", "verify", sec, "--rerun", SYMBOL, PARAMS, "-i", INPUT, "--pub", pub);
    CHECK(r.status == 0 && strstr(r.out, "receipt: valid"), "verify --rerun, secure: %s %s",
          r.out, r.err);

    /* Another input: the hashes and the root differ. */
    CHECK(write_bytes(other_in, "\x01\x00\x00\x00\x02\x00\x00\x00", 8) == 0);
    CLI(&r, "receipt", "verify", rec, "--pub", pub, "--rerun", SYMBOL, PARAMS, "-i", other_in);
    CHECK(r.status == 1 && strstr(r.out, "input hash: differs") &&
              strstr(r.out, "trace root: differs") && strstr(r.out, "receipt: invalid") &&
              !strstr(r.out, "receipt: valid"),
          "rerun with another input: %d %s %s", r.status, r.out, r.err);
    /* Another model. */
    CLI(&r, "receipt", "verify", rec, "--pub", pub, "--rerun", TFL, "-i", TFL_INPUT);
    CHECK(r.status == 1 && strstr(r.out, "module id: differs") &&
              strstr(r.out, "receipt: invalid (module id)"),
          "rerun with another model: %d %s", r.status, r.out);
    /* Another key. */
    CLI(&r, "receipt", "verify", rec, "--pub", pub2);
    CHECK(r.status == 1 && strstr(r.out, "signer: differs") &&
              strstr(r.out, "receipt: invalid (signer)"),
          "the wrong public key: %d %s", r.status, r.out);
    CLI(&r, "receipt", "verify", rec, "--pub", pub2, "--rerun", SYMBOL, PARAMS, "-i", INPUT);
    CHECK(r.status == 1 && !strstr(r.out, "receipt: valid"), "wrong key with --rerun: %s",
          r.out);

    /* Truncated and tampered receipt files. */
    size_t len = 0;
    uint8_t *bytes = read_file(rec, &len);
    CHECK(bytes && write_bytes(cut, bytes, ROOT_AT + 3) == 0);
    CLI(&r, "receipt", "verify", cut, "--pub", pub);
    CHECK(r.status == 1 && one_line_message(r.err) &&
              strstr(r.err, "receipt: truncated in the trace root") &&
              !strstr(r.out, "receipt: valid"),
          "a truncated receipt: %d %s", r.status, r.err);
    if (bytes) {
        bytes[75] ^= 0x20;
        CHECK(write_bytes(tampered, bytes, len) == 0);
    }
    CLI(&r, "receipt", "verify", tampered, "--pub", pub);
    CHECK(r.status == 1 && one_line_message(r.err) &&
              strstr(r.err, "signature does not match its content"),
          "a tampered receipt: %d %s", r.status, r.err);
    CLI(&r, "receipt", "show", tampered);
    CHECK(r.status == 1 && one_line_message(r.err) && r.out[0] == 0, "show, tampered: %s",
          r.err);
    CLI(&r, "receipt", "verify", INPUT, "--pub", pub);
    CHECK(r.status == 1 && one_line_message(r.err), "not a receipt: %s", r.err);
    free(bytes);

    /* show, as text and JSON. */
    CLI(&r, "receipt", "show", rec);
    CHECK(r.status == 0 && strstr(r.out, "gas             2680") &&
              strstr(r.out, "fast, 12 steps") && strstr(r.out, "devices         cpu") &&
              strstr(r.out, "kernel variants reference"),
          "show: %d %s %s", r.status, r.out, r.err);
    CLI(&r, "receipt", "show", sec, "--json", "--pub", pub);
    json_t *doc = json_loads(r.out, 0, NULL);
    CHECK(r.status == 0 && doc &&
              strcmp(json_string_value(json_object_get(doc, "trace_mode")), "secure") == 0 &&
              json_integer_value(json_object_get(doc, "bytes")) == RECEIPT_BYTES(32) &&
              json_integer_value(json_object_get(doc, "gas")) == 2680 &&
              strlen(json_string_value(json_object_get(doc, "trace_root"))) == 64,
          "show --json: %d %s", r.status, r.out);
    json_decref(doc);
    CLI(&r, "receipt", "show", rec, "--pub", pub2);
    CHECK(r.status == 1 && one_line_message(r.err), "show with another key: %s", r.err);

    /* TFLite. */
    CLI(&r, "run", TFL, "-i", TFL_INPUT, "-o", tfl_out, "--receipt", tfl_rec, "--key", key,
        "--mode", "secure");
    CHECK(r.status == 0, "tflite run --receipt: %s", r.err);
    CLI(&r, "receipt", "verify", tfl_rec, "--pub", pub, "--rerun", TFL, "-i", TFL_INPUT);
    CHECK(r.status == 0 && strstr(r.out, "receipt: valid"), "tflite verify --rerun: %s %s",
          r.out, r.err);

    /* Usage. */
    char fresh[1100], fresh_rec[1100];
    tmp_path(fresh, sizeof fresh, "fresh.bin");
    tmp_path(fresh_rec, sizeof fresh_rec, "fresh.receipt");
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", fresh, "--receipt", fresh_rec);
    CHECK(r.status == 1 && one_line_message(r.err), "--receipt without --key: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", fresh, "--key", key);
    CHECK(r.status == 1 && one_line_message(r.err), "--key without --receipt: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", fresh, "--receipt", fresh_rec, "--key",
        pub);
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "public key file"),
          "a public key as --key: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", fresh, "--receipt", fresh_rec, "--key",
        key, "--mode", "slow");
    CHECK(r.status == 1 && one_line_message(r.err), "--mode slow: %s", r.err);
    CHECK(!file_exists(fresh) && !file_exists(fresh_rec), "failed runs write nothing");
    CLI(&r, "receipt", "verify", rec, "--pub", key);
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "secret key file"),
          "a secret key as --pub: %s", r.err);
    CLI(&r, "receipt", "verify", rec);
    CHECK(r.status == 1 && one_line_message(r.err), "verify without --pub: %s", r.err);
    CLI(&r, "receipt", "verify", rec, "--pub", pub, "--rerun", SYMBOL, PARAMS);
    CHECK(r.status == 1 && one_line_message(r.err), "--rerun without -i: %s", r.err);
    CLI(&r, "receipt", "verify", rec, "--pub", pub, SYMBOL, PARAMS, "-i", INPUT);
    CHECK(r.status == 1 && one_line_message(r.err), "a model without --rerun: %s", r.err);
    CLI(&r, "receipt", "verify", rec, "--pub", pub, "--rerun", FIXTURE "/none.json", PARAMS,
        "-i", INPUT);
    CHECK(r.status == 2 && one_line_message(r.err), "--rerun, a missing model: %d %s",
          r.status, r.err);
    CLI(&r, "receipt", "verify", FIXTURE "/none.receipt", "--pub", pub);
    CHECK(r.status == 2 && one_line_message(r.err), "a missing receipt: %d %s", r.status,
          r.err);
    CLI(&r, "receipt");
    CHECK(r.status == 1 && one_line_message(r.err), "receipt alone: %s", r.err);
    CLI(&r, "receipt", "frob", rec);
    CHECK(r.status == 1 && one_line_message(r.err), "receipt frob: %s", r.err);
    CLI(&r, "receipt", "show");
    CHECK(r.status == 1 && one_line_message(r.err), "show without a receipt: %s", r.err);
    static const char *const commands[] = {"keygen", "receipt"};
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: detvm %s ", commands[i]);
        CLI(&r, commands[i], "--help");
        CHECK(r.status == 0 && starts_with(r.out, want), "%s --help: %s", commands[i], r.out);
    }
    CLI(&r, "run", "--help");
    CHECK(r.status == 0 && strstr(r.out, "--receipt R --key KEY"), "run --help: %s", r.out);
    free(r.out);
    free(r.err);
}

/* Bad key files are refused, with the file named, and no receipt or output is written. */
static void test_bad_keys(const char *key, const char *pub)
{
    size_t len = 0, plen = 0;
    char *good = (char *)read_file(key, &len), *good_pub = (char *)read_file(pub, &plen);
    if (!good || len != 154 || !good_pub || plen != 90) {
        CHECK(0, "the key files");
        free(good);
        free(good_pub);
        return;
    }
    char text[400], bad_key[1100], out[1100], rec[1100];
    tmp_path(bad_key, sizeof bad_key, "bad.key");
    tmp_path(out, sizeof out, "bad_key_out.bin");
    tmp_path(rec, sizeof rec, "bad_key.receipt");
    struct {
        const char *name;
        const char *want;   /* in the message */
    } cases[] = {
        {"empty", "not a detvm secret key file"},
        {"another label", "not a detvm secret key file"},
        {"short hex", "127 hex digits, not 128"},
        {"long hex", "130 hex digits, not 128"},
        {"uppercase hex", "not a lowercase hex digit"},
        {"space before the newline", "2 bytes after the secret key"},
        {"a second line", "5 bytes after the secret key"},
        {"CRLF", "2 bytes after the secret key"},
        {"a foreign public half", "public half does not match its seed"},
        {"no final newline", NULL},
    };
    result r = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = len;
        memcpy(text, good, len);
        switch (i) {
        case 0: n = 0; break;
        case 1: memcpy(text, "detvm-ed25519-privat-key", 24); break;
        case 2: memmove(text + 152, "\n", 1); n = 153; break;
        case 3: memcpy(text + 153, "00\n", 3); n = 156; break;
        case 4: text[60] = text[60] >= 'a' ? (char)(text[60] - 32) : 'A'; break;
        case 5: memcpy(text + 153, " \n", 2); n = 155; break;
        case 6: memcpy(text + 154, "junk\n", 5); n = 159; break;
        case 7: memcpy(text + 153, "\r\n", 2); n = 155; break;
        case 8: text[25 + 64 + 5] = text[25 + 64 + 5] == '0' ? '1' : '0'; break;
        case 9: n = 153; break;
        }
        CHECK(write_bytes(bad_key, text, n) == 0);
        CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out, "--receipt", rec, "--key",
            bad_key);
        if (!cases[i].want) {
            CHECK(r.status == 0 && file_exists(rec), "key file, %s: %d %s", cases[i].name,
                  r.status, r.err);
            unlink(rec);
            unlink(out);
            continue;
        }
        CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, cases[i].want) &&
                  strstr(r.err, bad_key),
              "key file, %s: %d %s", cases[i].name, r.status, r.err);
        CHECK(!file_exists(rec) && !file_exists(out), "key file, %s: nothing written",
              cases[i].name);
    }
    /* A public key file with a bad digit, as --pub. */
    memcpy(text, good_pub, plen);
    text[40] = 'g';
    CHECK(write_bytes(bad_key, text, plen) == 0);
    CLI(&r, "receipt", "verify", FIXTURE "/none.receipt", "--pub", bad_key);
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "public key file"),
          "a bad public key: %s", r.err);
    free(good);
    free(good_pub);
    free(r.out);
    free(r.err);
}

int main(void)
{
    /* A receipt lists the kernel variants its run used (tests/test_variants.c checks them);
     * here every run uses the reference kernels, so that the records' sizes are fixed. */
    setenv("DETVM_KERNELS", "ref", 1);
    if (!file_exists(SYMBOL)) {
        CHECK(0, "%s is missing (run the test from the repository root)", SYMBOL);
        return check_summary("test_receipt");
    }
    CHECK(sodium_init() >= 0);
    for (int mode = DETVM_TRACE_FAST; mode <= DETVM_TRACE_SECURE; mode++) {
        test_round_trip(SYMBOL, PARAMS, INPUT, (detvm_trace_mode)mode);
        test_round_trip(TFL, NULL, TFL_INPUT, (detvm_trace_mode)mode);
        test_truncations((detvm_trace_mode)mode);
        test_flips((detvm_trace_mode)mode);
    }
    test_misuse();
    test_hostile();

    if (cli_setup("receipt") != 0)
        return check_summary("test_receipt");
    char key[1100], pub[1100], key2[1100], pub2[1100];
    tmp_path(key, sizeof key, "signer.key");
    tmp_path(pub, sizeof pub, "signer.key.pub");
    tmp_path(key2, sizeof key2, "other.key");
    tmp_path(pub2, sizeof pub2, "other.key.pub");
    test_keygen(key, pub);
    result r = {0};
    CLI(&r, "keygen", "-o", key2);
    CHECK(r.status == 0, "a second key: %s", r.err);
    free(r.out);
    free(r.err);
    test_cli_receipts(key, pub, pub2);
    test_bad_keys(key, pub);
    remove_tmp_dir();
    return check_summary("test_receipt");
}
