/* Ed25519 key files: one line, a label saying which key it is, then the key in hex. The label
 * keeps a secret key from being passed where a public one is meant, and the other way round. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "receipt.h"

#define PUBLIC_LABEL "detvm-ed25519-public-key "
#define SECRET_LABEL "detvm-ed25519-secret-key "

static void key_text(const char *label, const uint8_t *key, size_t len,
                     char text[DETVM_KEY_TEXT_MAX])
{
    size_t n = strlen(label);
    memcpy(text, label, n);
    sodium_bin2hex(text + n, DETVM_KEY_TEXT_MAX - n - 1, key, len);
    strcat(text + n, "\n");
}

void detvm_public_key_text(const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                           char text[DETVM_KEY_TEXT_MAX])
{
    key_text(PUBLIC_LABEL, public_key, DETVM_PUBLIC_KEY_BYTES, text);
}

void detvm_secret_key_text(const uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                           char text[DETVM_KEY_TEXT_MAX])
{
    key_text(SECRET_LABEL, secret_key, DETVM_SECRET_KEY_BYTES, text);
}

int secret_key_is_consistent(const uint8_t secret_key[DETVM_SECRET_KEY_BYTES])
{
    uint8_t pk[DETVM_PUBLIC_KEY_BYTES], sk[DETVM_SECRET_KEY_BYTES];
    crypto_sign_seed_keypair(pk, sk, secret_key);
    int same = sodium_memcmp(pk, secret_key + 32, sizeof pk) == 0;
    sodium_memzero(sk, sizeof sk);
    return same;
}

static int is_hex_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Parses one key file's text: `label`, exactly 2 * len lowercase hex digits, and an optional
 * final newline; `kind` ("public", "secret") and `path` go into the messages. */
static detvm_status parse_key(const char *path, const char *kind, const char *label,
                              const char *other_label, const uint8_t *text, size_t text_len,
                              uint8_t *key, size_t len, detvm_error *err)
{
    size_t n = strlen(label), digits = 2 * len;
    if (text_len >= n && memcmp(text, other_label, n) == 0)
        return dv_fail(err, DETVM_EINVALID, "%s: this is a %s key file, a %s key is needed",
                       path, strcmp(kind, "public") == 0 ? "secret" : "public", kind);
    if (text_len < n || memcmp(text, label, n) != 0)
        return dv_fail(err, DETVM_EINVALID,
                       "%s: not a detvm %s key file (it does not start with \"%.*s\")", path,
                       kind, (int)(n - 1), label);
    size_t i = 0;
    while (n + i < text_len && is_hex_digit(text[n + i]))
        i++;
    if (i != digits && (n + i == text_len || text[n + i] == '\n'))
        return dv_fail(err, DETVM_EINVALID, "%s: the %s key has %zu hex digits, not %zu", path,
                       kind, i, digits);
    if (i != digits)
        return dv_fail(err, DETVM_EINVALID,
                       "%s: byte %zu of the %s key file is not a lowercase hex digit", path,
                       n + i, kind);
    size_t end = n + digits;
    if (end < text_len && text[end] == '\n')
        end++;
    if (end != text_len)
        return dv_fail(err, DETVM_EINVALID, "%s: %zu bytes after the %s key", path,
                       text_len - end, kind);
    sodium_hex2bin(key, len, (const char *)text + n, digits, NULL, NULL, NULL);
    return DETVM_OK;
}

/* Reads the file, parses it, and wipes the copy the reading made. */
static detvm_status read_key(const char *path, const char *kind, const char *label,
                             const char *other_label, uint8_t *key, size_t len,
                             detvm_error *err)
{
    uint8_t *text = NULL;
    size_t text_len = 0;
    detvm_status st = detvm_read_file(path, &text, &text_len, err);
    if (st)
        return st;
    st = parse_key(path, kind, label, other_label, text, text_len, key, len, err);
    sodium_memzero(text, text_len);
    free(text);
    return st;
}

detvm_status detvm_public_key_read(const char *path,
                                   uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                                   detvm_error *err)
{
    return read_key(path, "public", PUBLIC_LABEL, SECRET_LABEL, public_key,
                    DETVM_PUBLIC_KEY_BYTES, err);
}

detvm_status detvm_secret_key_read(const char *path,
                                   uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                                   detvm_error *err)
{
    detvm_status st = read_key(path, "secret", SECRET_LABEL, PUBLIC_LABEL, secret_key,
                               DETVM_SECRET_KEY_BYTES, err);
    if (st)
        return st;
    if (secret_key_is_consistent(secret_key))
        return DETVM_OK;
    sodium_memzero(secret_key, DETVM_SECRET_KEY_BYTES);
    return dv_fail(err, DETVM_EINVALID,
                   "%s: the secret key's public half does not match its seed", path);
}
