/* Signed receipts of traced runs: describing a run, encoding and signing the record, and
 * parsing and checking one (the layout is in receipt.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "../vm/session.h"
#include "receipt.h"
#include "wire.h"

#define FAIL(...) dv_fail(err, DETVM_EINVALID, __VA_ARGS__)

/* libsodium picks its implementations once; after the first call this is a no-op. */
static detvm_status sodium_ready(detvm_error *err)
{
    if (sodium_init() < 0)
        return dv_fail(err, DETVM_ERUNTIME, "receipt: libsodium could not be initialised");
    return DETVM_OK;
}

detvm_status detvm_keygen(uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                          uint8_t secret_key[DETVM_SECRET_KEY_BYTES], detvm_error *err)
{
    if (sodium_ready(err))
        return DETVM_ERUNTIME;
    crypto_sign_keypair(public_key, secret_key);
    return DETVM_OK;
}

static void copy_name(char dst[DETVM_RECEIPT_NAME_MAX + 1], const char *src)
{
    snprintf(dst, DETVM_RECEIPT_NAME_MAX + 1, "%s", src);
}

detvm_status detvm_receipt_describe(const detvm_session *s, const void *input, size_t input_len,
                                    const void *output, size_t output_len, detvm_receipt *r,
                                    detvm_error *err)
{
    memset(r, 0, sizeof *r);
    detvm_trace trace;
    detvm_module_info info;
    detvm_module_get_info(s->module, &info);
    if (input_len != info.input_len)
        return FAIL("receipt: the input is %zu bytes, the module takes %llu", input_len,
                    (unsigned long long)info.input_len);
    if (output_len != info.output_len)
        return FAIL("receipt: the output is %zu bytes, the module writes %llu", output_len,
                    (unsigned long long)info.output_len);
    detvm_status st = detvm_session_trace(s, &trace, err);
    if (st)
        return st;
    r->format_version = RECEIPT_FORMAT_VERSION;
    detvm_module_id(s->module, r->module_id);
    crypto_generichash(r->input_hash, RECEIPT_HASH_BYTES, input, input_len, NULL, 0);
    crypto_generichash(r->output_hash, RECEIPT_HASH_BYTES, output, output_len, NULL, 0);
    r->mode = trace.mode;
    r->n_steps = trace.n_steps;
    memcpy(r->trace_root, trace.root, trace.digest_len);
    r->gas = info.gas;
    copy_name(r->engine_version, DETVM_VERSION);
    const char *devices[DETVM_RECEIPT_LIST_MAX];
    r->n_devices = vm_session_devices(s, devices, DETVM_RECEIPT_LIST_MAX);
    for (uint32_t i = 0; i < r->n_devices; i++)
        copy_name(r->devices[i], devices[i]);
    /* The variants the run's CPU steps used: "reference", "avx2", "vnni" (detvm.h, "Kernels
     * and threads"); a run wholly on other devices lists "reference". */
    const char *variants[DETVM_RECEIPT_LIST_MAX];
    r->n_kernel_variants = vm_session_kernels(s, variants, DETVM_RECEIPT_LIST_MAX);
    if (r->n_kernel_variants == 0)
        variants[r->n_kernel_variants++] = "reference";
    for (uint32_t i = 0; i < r->n_kernel_variants; i++)
        copy_name(r->kernel_variants[i], variants[i]);
    return DETVM_OK;
}

static void put_name(wire_writer *w, const char *name)
{
    size_t n = strlen(name);
    wire_u8(w, (uint8_t)n);
    wire_bytes(w, name, n);
}

static void put_list(wire_writer *w, uint32_t n, const char names[][DETVM_RECEIPT_NAME_MAX + 1])
{
    wire_u8(w, (uint8_t)n);
    for (uint32_t i = 0; i < n; i++)
        put_name(w, names[i]);
}

/* Everything the signature covers: the record up to and with the signer's key. */
static void put_signed_part(wire_writer *w, const detvm_receipt *r)
{
    wire_bytes(w, RECEIPT_MAGIC, 4);
    wire_u16(w, (uint16_t)r->format_version);
    wire_u8(w, (uint8_t)r->mode);
    wire_bytes(w, r->module_id, RECEIPT_HASH_BYTES);
    wire_bytes(w, r->input_hash, RECEIPT_HASH_BYTES);
    wire_bytes(w, r->output_hash, RECEIPT_HASH_BYTES);
    wire_u32(w, r->n_steps);
    wire_bytes(w, r->trace_root, detvm_trace_digest_len(r->mode));
    wire_u64(w, r->gas);
    put_name(w, r->engine_version);
    put_list(w, r->n_devices, r->devices);
    put_list(w, r->n_kernel_variants, r->kernel_variants);
    wire_bytes(w, r->signer, DETVM_PUBLIC_KEY_BYTES);
}

detvm_status detvm_receipt_make(const detvm_session *s, const void *input, size_t input_len,
                                const void *output, size_t output_len,
                                const uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                                uint8_t **receipt, size_t *receipt_len, detvm_error *err)
{
    *receipt = NULL;
    *receipt_len = 0;
    detvm_receipt r;
    detvm_status st;
    if ((st = sodium_ready(err)))
        return st;
    if (!secret_key_is_consistent(secret_key))
        return FAIL("secret key: its public half does not match its seed");
    if ((st = detvm_receipt_describe(s, input, input_len, output, output_len, &r, err)))
        return st;
    crypto_sign_ed25519_sk_to_pk(r.signer, secret_key);
    wire_writer w = {0};
    put_signed_part(&w, &r);
    wire_bytes(&w, r.signature, DETVM_SIGNATURE_BYTES);  /* room for the signature */
    if (w.failed) {
        free(w.p);
        return dv_fail(err, DETVM_ERUNTIME, "receipt: out of memory");
    }
    size_t signed_len = w.len - DETVM_SIGNATURE_BYTES;
    crypto_sign_detached(w.p + signed_len, NULL, w.p, signed_len, secret_key);
    *receipt = w.p;
    *receipt_len = w.len;
    return DETVM_OK;
}

/* ---- parsing ------------------------------------------------------------------------------ */

static detvm_status truncated(const wire_reader *rd, detvm_error *err)
{
    return FAIL("receipt: truncated in the %s", rd->missing);
}

/* Copies `len` bytes of field `field` into dst. */
static detvm_status take(wire_reader *rd, void *dst, size_t len, const char *field,
                         detvm_error *err)
{
    const uint8_t *p = wire_take(rd, len, field);
    if (!p)
        return truncated(rd, err);
    memcpy(dst, p, len);
    return DETVM_OK;
}

static detvm_status get_name(wire_reader *rd, const char *field,
                             char dst[DETVM_RECEIPT_NAME_MAX + 1], detvm_error *err)
{
    uint8_t n = wire_get_u8(rd, field);
    const uint8_t *p = wire_take(rd, n, field);
    if (!p)
        return FAIL("receipt: truncated in the %s", field);  /* field lives only here */
    if (n < 1 || n > DETVM_RECEIPT_NAME_MAX)
        return FAIL("receipt: the %s is %u bytes long (1 to %d allowed)", field, n,
                    DETVM_RECEIPT_NAME_MAX);
    for (uint8_t i = 0; i < n; i++)
        if (p[i] < RECEIPT_NAME_FIRST || p[i] > RECEIPT_NAME_LAST)
            return FAIL("receipt: the %s holds byte 0x%02x, outside printable ASCII", field,
                        p[i]);
    memcpy(dst, p, n);
    dst[n] = 0;
    return DETVM_OK;
}

/* A count, then that many names; `what` is the plural ("devices"), `one` a single one. */
static detvm_status get_list(wire_reader *rd, const char *what, const char *one, uint32_t *n,
                             char names[][DETVM_RECEIPT_NAME_MAX + 1], detvm_error *err)
{
    char field[64];
    snprintf(field, sizeof field, "count of %s", what);
    *n = wire_get_u8(rd, field);
    if (rd->missing)
        return FAIL("receipt: truncated in the %s", field);
    if (*n < 1 || *n > DETVM_RECEIPT_LIST_MAX)
        return FAIL("receipt: %u %s listed (1 to %d allowed)", *n, what,
                    DETVM_RECEIPT_LIST_MAX);
    for (uint32_t i = 0; i < *n; i++) {
        snprintf(field, sizeof field, "%s %u", one, i + 1);
        detvm_status st = get_name(rd, field, names[i], err);
        if (st)
            return st;
    }
    return DETVM_OK;
}

/* Reads every field in order, checking each value as soon as it is read. */
static detvm_status parse(wire_reader *rd, detvm_receipt *r, detvm_error *err)
{
    const uint8_t *magic = wire_take(rd, 4, "magic");
    if (!magic)
        return truncated(rd, err);
    if (memcmp(magic, RECEIPT_MAGIC, 4) != 0)
        return FAIL("receipt: not a detvm receipt (the magic is not \"" RECEIPT_MAGIC "\")");
    r->format_version = wire_get_u16(rd, "format version");
    if (rd->missing)
        return truncated(rd, err);
    if (r->format_version != RECEIPT_FORMAT_VERSION)
        return FAIL("receipt: format version %u unknown (this build reads %d)",
                    r->format_version, RECEIPT_FORMAT_VERSION);
    uint8_t mode = wire_get_u8(rd, "trace mode");
    if (rd->missing)
        return truncated(rd, err);
    if (mode != DETVM_TRACE_FAST && mode != DETVM_TRACE_SECURE)
        return FAIL("receipt: trace mode %u unknown (1 fast, 2 secure)", mode);
    r->mode = (detvm_trace_mode)mode;
    detvm_status st;
    if ((st = take(rd, r->module_id, RECEIPT_HASH_BYTES, "module id", err)) ||
        (st = take(rd, r->input_hash, RECEIPT_HASH_BYTES, "input hash", err)) ||
        (st = take(rd, r->output_hash, RECEIPT_HASH_BYTES, "output hash", err)))
        return st;
    r->n_steps = wire_get_u32(rd, "number of steps");
    if (rd->missing)
        return truncated(rd, err);
    if (r->n_steps == 0)
        return FAIL("receipt: the number of steps is 0 (a run has at least one)");
    if ((st = take(rd, r->trace_root, detvm_trace_digest_len(r->mode), "trace root", err)))
        return st;
    r->gas = wire_get_u64(rd, "gas");
    if (rd->missing)
        return truncated(rd, err);
    if ((st = get_name(rd, "engine version", r->engine_version, err)) ||
        (st = get_list(rd, "devices", "device", &r->n_devices, r->devices, err)) ||
        (st = get_list(rd, "kernel variants", "kernel variant", &r->n_kernel_variants,
                       r->kernel_variants, err)) ||
        (st = take(rd, r->signer, DETVM_PUBLIC_KEY_BYTES, "signer key", err)) ||
        (st = take(rd, r->signature, DETVM_SIGNATURE_BYTES, "signature", err)))
        return st;
    if (rd->pos != rd->len)
        return FAIL("receipt: %zu trailing bytes after the signature", rd->len - rd->pos);
    return DETVM_OK;
}

detvm_status detvm_receipt_verify(const uint8_t *bytes, size_t len, const uint8_t *public_key,
                                  detvm_receipt *receipt, detvm_error *err)
{
    detvm_receipt r;
    memset(&r, 0, sizeof r);
    memset(receipt, 0, sizeof *receipt);
    wire_reader rd = {bytes, len, 0, NULL};
    detvm_status st;
    if ((st = sodium_ready(err)) || (st = parse(&rd, &r, err)))
        return st;
    if (crypto_sign_verify_detached(r.signature, bytes, len - DETVM_SIGNATURE_BYTES,
                                    r.signer) != 0)
        return FAIL("receipt: signature does not match its content");
    if (public_key && memcmp(public_key, r.signer, DETVM_PUBLIC_KEY_BYTES) != 0)
        return FAIL("receipt: signed by another key than the one given");
    *receipt = r;
    return DETVM_OK;
}
