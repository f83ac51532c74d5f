/* detvm keygen and detvm receipt (verify, show): Ed25519 key files and signed receipts of runs
 * (detvm run --receipt writes them; see cli/detvm.c). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

const char keygen_help[] =
    "usage: detvm keygen -o KEY\n"
    "Makes an Ed25519 key pair and writes the secret key to KEY (mode 0600) and the public key\n"
    "to KEY.pub, each one line of text (\"detvm-ed25519-secret-key <hex>\" and\n"
    "\"detvm-ed25519-public-key <hex>\"). An existing KEY or KEY.pub is never overwritten.\n"
    "Sign runs with `detvm run ... --receipt R --key KEY`; check them with\n"
    "`detvm receipt verify R --pub KEY.pub`.\n";

const char receipt_help[] =
    "usage: detvm receipt verify RECEIPT --pub KEY.pub [--rerun MODEL [PARAMS] -i INPUT]\n"
    "       detvm receipt show RECEIPT [--pub KEY.pub] [--json]\n"
    "verify checks the receipt's signature and that KEY.pub is its signer. With --rerun it\n"
    "also loads MODEL, checks that its module id is the receipt's, runs it on INPUT (the raw\n"
    "bytes the signed run took) with tracing in the receipt's mode, and compares the input hash,\n"
    "the output hash, the trace root, the number of steps and the gas. It prints one line per\n"
    "check, then \"receipt: valid\" or what failed, and exits 0 only when everything holds.\n"
    "show prints the fields of a receipt whose signature holds (as JSON with --json).\n"
    "A malformed or tampered receipt is refused with a one-line message naming the field.\n"
    "Exit status: 0 valid, 1 invalid (or invalid input), 2 runtime error.\n";

static void hex_text(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int cmd_keygen(int argc, char **argv)
{
    const char *key = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc && !key) {
            key = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0) {
            return usage_error("keygen", i + 1 < argc ? "one -o only" : "-o needs a value");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "detvm keygen: unknown option %s (see detvm keygen --help)\n",
                    argv[i]);
            return EXIT_INVALID;
        } else {
            return usage_error("keygen", "takes no arguments but -o KEY");
        }
    }
    if (!key)
        return usage_error("keygen", "-o KEY is required");
    size_t n = strlen(key);
    char *pub = malloc(n + 5);
    if (!pub)
        return EXIT_RUNTIME;
    snprintf(pub, n + 5, "%s.pub", key);
    uint8_t pk[DETVM_PUBLIC_KEY_BYTES], sk[DETVM_SECRET_KEY_BYTES];
    char pk_text[DETVM_KEY_TEXT_MAX], sk_text[DETVM_KEY_TEXT_MAX];
    detvm_error err = {0};
    int rc = 0;
    /* A key may sign receipts already given out: losing it to a typo would be for good. */
    if (file_exists(key) || file_exists(pub)) {
        fprintf(stderr, "detvm keygen: %s exists; remove it or choose another name\n",
                file_exists(key) ? key : pub);
        rc = EXIT_INVALID;
    } else if (detvm_keygen(pk, sk, &err)) {
        rc = fail(&err);
    } else {
        detvm_secret_key_text(sk, sk_text);
        detvm_public_key_text(pk, pk_text);
        /* The pair is written whole or not at all: a secret without its .pub is removed. */
        if (io_write_file_mode(key, sk_text, strlen(sk_text), 0600)) {
            rc = EXIT_RUNTIME;
        } else if (io_write_file(pub, pk_text, strlen(pk_text))) {
            unlink(key);
            rc = EXIT_RUNTIME;
        }
    }
    /* Leave no copy of the secret in memory that is given back. */
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(sk_text, sizeof sk_text);
    free(pub);
    return rc;
}

/* Reads, parses and checks a receipt (signature, and signer when pub is not NULL). */
static int read_receipt(const char *path, const uint8_t *pub, detvm_receipt *r, size_t *len)
{
    uint8_t *bytes = NULL;
    detvm_error err = {0};
    int rc = 0;
    if (detvm_read_file(path, &bytes, len, &err) ||
        detvm_receipt_verify(bytes, *len, pub, r, &err))
        rc = fail(&err);
    free(bytes);
    return rc;
}

static const char *mode_name(detvm_trace_mode mode)
{
    return mode == DETVM_TRACE_SECURE ? "secure" : "fast";
}

/* One comparison line; returns 1 when the values differ. */
static int check_bytes(const char *what, const uint8_t *want, const uint8_t *got, size_t n)
{
    if (memcmp(want, got, n) == 0) {
        printf("%s: ok\n", what);
        return 0;
    }
    char a[2 * DETVM_DIGEST_MAX + 1], b[2 * DETVM_DIGEST_MAX + 1];
    hex_text(want, n, a);
    hex_text(got, n, b);
    printf("%s: differs (receipt %s, rerun %s)\n", what, a, b);
    return 1;
}

static int check_number(const char *what, uint64_t want, uint64_t got)
{
    if (want == got) {
        printf("%s: ok\n", what);
        return 0;
    }
    printf("%s: differs (receipt %llu, rerun %llu)\n", what, (unsigned long long)want,
           (unsigned long long)got);
    return 1;
}

/* Appends a failed check's name to the summary. */
static void note(char *failed, size_t cap, const char *what)
{
    size_t used = strlen(failed);
    snprintf(failed + used, cap - used, "%s%s", used ? ", " : "", what);
}

/* Runs MODEL on INPUT as the receipt says (tracing in its mode) and compares; the summary of
 * what differs goes to `failed`. Returns an exit status for errors that stop the rerun. */
static int rerun(const args *a, const detvm_receipt *want, char *failed, size_t cap)
{
    args model = *a;
    model.model = a->positional[2];
    model.params = a->positional[3];
    uint8_t *bytes = NULL, *input = NULL, *output = NULL;
    size_t in_len = 0;
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    detvm_receipt got;
    int rc = open_model(&model, &bytes, &m);
    if (rc)
        return rc;
    uint8_t id[32];
    detvm_module_id(m, id);
    if (check_bytes("module id", want->module_id, id, sizeof id)) {
        note(failed, cap, "module id");
        goto done;
    }
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    output = malloc(info.output_len + 1);
    if (!output) {
        rc = EXIT_RUNTIME;
        goto done;
    }
    if (detvm_read_file(a->input, &input, &in_len, &err) ||
        detvm_session_new(m, &s, &err) || detvm_session_set_trace(s, want->mode, &err) ||
        detvm_run(s, input, in_len, output, info.output_len, &err) ||
        detvm_receipt_describe(s, input, in_len, output, info.output_len, &got, &err)) {
        rc = fail(&err);
        goto done;
    }
    uint32_t root_len = detvm_trace_digest_len(want->mode);
    if (check_bytes("input hash", want->input_hash, got.input_hash, 32))
        note(failed, cap, "input hash");
    if (check_bytes("output hash", want->output_hash, got.output_hash, 32))
        note(failed, cap, "output hash");
    if (check_bytes("trace root", want->trace_root, got.trace_root, root_len))
        note(failed, cap, "trace root");
    if (check_number("steps", want->n_steps, got.n_steps))
        note(failed, cap, "steps");
    if (check_number("gas", want->gas, got.gas))
        note(failed, cap, "gas");
done:
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
    free(input);
    free(output);
    return rc;
}

static int receipt_verify(const args *a)
{
    if (a->n_positional < 2)
        return usage_error("receipt", "verify needs a RECEIPT");
    if (!a->pub)
        return usage_error("receipt", "verify needs --pub KEY.pub, the key you trust");
    if (a->rerun && (a->n_positional < 3 || !a->input))
        return usage_error("receipt", "--rerun needs MODEL [PARAMS] and -i INPUT");
    if (!a->rerun && (a->n_positional > 2 || a->input))
        return usage_error("receipt", "MODEL and -i go with --rerun");
    if (a->float_io)
        return usage_error("receipt", "--rerun takes the raw input bytes; --float-io does not apply");
    uint8_t pub[DETVM_PUBLIC_KEY_BYTES];
    detvm_error err = {0};
    detvm_receipt r;
    size_t len = 0;
    int rc;
    if (detvm_public_key_read(a->pub, pub, &err))
        return fail(&err);
    if ((rc = read_receipt(a->positional[1], NULL, &r, &len)))
        return rc;
    printf("signature: ok\n");
    char failed[128] = "";
    if (memcmp(pub, r.signer, sizeof pub) != 0) {
        char signer[2 * DETVM_PUBLIC_KEY_BYTES + 1];
        hex_text(r.signer, sizeof r.signer, signer);
        printf("signer: differs from %s (the receipt was signed by %s)\n", a->pub, signer);
        note(failed, sizeof failed, "signer");
    } else {
        printf("signer: ok (%s)\n", a->pub);
        if (a->rerun && (rc = rerun(a, &r, failed, sizeof failed)))
            return rc;
    }
    if (failed[0]) {
        printf("receipt: invalid (%s)\n", failed);
        return EXIT_INVALID;
    }
    printf("receipt: valid\n");
    return 0;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char text[2 * 64 + 1];
    hex_text(p, n, text);
    return json_string(text);
}

static json_t *names_json(uint32_t n, const char names[][DETVM_RECEIPT_NAME_MAX + 1])
{
    json_t *list = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(names[i]));
    return list;
}

static void print_names(const char *what, uint32_t n,
                        const char names[][DETVM_RECEIPT_NAME_MAX + 1])
{
    printf("%-16s", what);
    for (uint32_t i = 0; i < n; i++)
        printf(i ? " %s" : "%s", names[i]);
    printf("\n");
}

static int receipt_show(const args *a)
{
    if (a->n_positional != 2)
        return usage_error("receipt", "show takes one RECEIPT");
    if (a->rerun || a->input)
        return usage_error("receipt", "--rerun and -i go with verify");
    uint8_t pub[DETVM_PUBLIC_KEY_BYTES];
    detvm_error err = {0};
    detvm_receipt r;
    size_t len = 0;
    int rc;
    if (a->pub && detvm_public_key_read(a->pub, pub, &err))
        return fail(&err);
    if ((rc = read_receipt(a->positional[1], a->pub ? pub : NULL, &r, &len)))
        return rc;
    uint32_t root_len = detvm_trace_digest_len(r.mode);
    if (a->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "format_version", json_integer(r.format_version));
        json_object_set_new(doc, "module_id", hex_json(r.module_id, 32));
        json_object_set_new(doc, "input_hash", hex_json(r.input_hash, 32));
        json_object_set_new(doc, "output_hash", hex_json(r.output_hash, 32));
        json_object_set_new(doc, "trace_mode", json_string(mode_name(r.mode)));
        json_object_set_new(doc, "steps", json_integer(r.n_steps));
        json_object_set_new(doc, "trace_root", hex_json(r.trace_root, root_len));
        json_object_set_new(doc, "gas", json_integer((json_int_t)r.gas));
        json_object_set_new(doc, "engine_version", json_string(r.engine_version));
        json_object_set_new(doc, "devices", names_json(r.n_devices, r.devices));
        json_object_set_new(doc, "kernel_variants",
                            names_json(r.n_kernel_variants, r.kernel_variants));
        json_object_set_new(doc, "signer", hex_json(r.signer, sizeof r.signer));
        json_object_set_new(doc, "signature", hex_json(r.signature, sizeof r.signature));
        json_object_set_new(doc, "bytes", json_integer((json_int_t)len));
        char *text = json_dumps(doc, JSON_INDENT(1));
        puts(text);
        free(text);
        json_decref(doc);
        return 0;
    }
    char hex[2 * 64 + 1];
    printf("%-16s%u\n", "format version", r.format_version);
    hex_text(r.module_id, 32, hex);
    printf("%-16s%s\n", "module id", hex);
    hex_text(r.input_hash, 32, hex);
    printf("%-16s%s\n", "input hash", hex);
    hex_text(r.output_hash, 32, hex);
    printf("%-16s%s\n", "output hash", hex);
    hex_text(r.trace_root, root_len, hex);
    printf("%-16s%s, %u steps, root %s\n", "trace", mode_name(r.mode), r.n_steps, hex);
    printf("%-16s%llu\n", "gas", (unsigned long long)r.gas);
    printf("%-16s%s\n", "engine version", r.engine_version);
    print_names("devices", r.n_devices, r.devices);
    print_names("kernel variants", r.n_kernel_variants, r.kernel_variants);
    hex_text(r.signer, sizeof r.signer, hex);
    printf("%-16s%s\n", "signer", hex);
    printf("%-16svalid%s\n", "signature", a->pub ? ", by the key given" : "");
    printf("%-16s%zu bytes\n", "size", len);
    return 0;
}

int cmd_receipt(int argc, char **argv)
{
    if (argc == 0)
        return usage_error("receipt", "verify or show expected");
    args a;
    int rc = parse_args_n("receipt", 4, argc, argv, &a);
    if (rc)
        return rc;
    if (strcmp(a.positional[0], "verify") == 0)
        return receipt_verify(&a);
    if (strcmp(a.positional[0], "show") == 0)
        return receipt_show(&a);
    return usage_error("receipt", "verify or show expected");
}
