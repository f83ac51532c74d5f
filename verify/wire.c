/* Little-endian record writing and reading (see wire.h). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/module_format.h"
#include "wire.h"

void wire_bytes(wire_writer *w, const void *data, size_t len)
{
    if (w->failed)
        return;
    if (w->len + len > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + len)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->failed = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    if (len)
        memcpy(w->p + w->len, data, len);
    w->len += len;
}

void wire_u8(wire_writer *w, uint8_t v) { wire_bytes(w, &v, 1); }

void wire_u16(wire_writer *w, uint16_t v)
{
    uint8_t b[2];
    dvm_put_u16(b, v);
    wire_bytes(w, b, 2);
}

void wire_u32(wire_writer *w, uint32_t v)
{
    uint8_t b[4];
    dvm_put_u32(b, v);
    wire_bytes(w, b, 4);
}

void wire_u64(wire_writer *w, uint64_t v)
{
    uint8_t b[8];
    dvm_put_u64(b, v);
    wire_bytes(w, b, 8);
}

void wire_string(wire_writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT16_MAX)
        n = UINT16_MAX;
    wire_u16(w, (uint16_t)n);
    wire_bytes(w, s, n);
}

void wire_checksum(wire_writer *w)
{
    uint8_t sum[32];
    if (w->failed)
        return;
    crypto_generichash(sum, sizeof sum, w->p, w->len, NULL, 0);
    wire_bytes(w, sum, sizeof sum);
}

const uint8_t *wire_take(wire_reader *r, size_t len, const char *field)
{
    if (r->missing || len > r->len - r->pos) {
        if (!r->missing)
            r->missing = field;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += len;
    return p;
}

uint8_t wire_get_u8(wire_reader *r, const char *field)
{
    const uint8_t *p = wire_take(r, 1, field);
    return p ? p[0] : 0;
}

uint16_t wire_get_u16(wire_reader *r, const char *field)
{
    const uint8_t *p = wire_take(r, 2, field);
    return p ? dvm_u16(p) : 0;
}

uint32_t wire_get_u32(wire_reader *r, const char *field)
{
    const uint8_t *p = wire_take(r, 4, field);
    return p ? dvm_u32(p) : 0;
}

uint64_t wire_get_u64(wire_reader *r, const char *field)
{
    const uint8_t *p = wire_take(r, 8, field);
    return p ? dvm_u64(p) : 0;
}

char *wire_get_string(wire_reader *r, const char *field)
{
    uint16_t n = wire_get_u16(r, field);
    const uint8_t *p = wire_take(r, n, field);
    if (!p)
        return NULL;
    for (uint16_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

int wire_checksum_ok(wire_reader *r)
{
    if (r->len < 32)
        return 0;
    uint8_t sum[32];
    crypto_generichash(sum, sizeof sum, r->p, r->len - 32, NULL, 0);
    if (sodium_memcmp(sum, r->p + r->len - 32, 32) != 0)
        return 0;
    r->len -= 32;
    return 1;
}
