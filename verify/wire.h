/* Little-endian record writing and bounds-checked reading, for the verification files
 * (traces, step proofs). A writer grows a malloc'd buffer and remembers a failed allocation; a
 * reader refuses to read past its end and remembers the first field it could not read, so a
 * format's parser reads every field in order and checks once. */
#ifndef DETVM_VERIFY_WIRE_H
#define DETVM_VERIFY_WIRE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} wire_writer;

void wire_bytes(wire_writer *w, const void *data, size_t len);
void wire_u8(wire_writer *w, uint8_t v);
void wire_u16(wire_writer *w, uint16_t v);
void wire_u32(wire_writer *w, uint32_t v);
void wire_u64(wire_writer *w, uint64_t v);
/* A u16 length, then the bytes (strings longer than 65535 bytes are cut). */
void wire_string(wire_writer *w, const char *s);
/* Appends BLAKE2b-256 of everything written so far. */
void wire_checksum(wire_writer *w);

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *missing;       /* the first field that ran past the end, or NULL */
} wire_reader;

/* Each returns 0 (and records `field`) when the bytes run out. */
const uint8_t *wire_take(wire_reader *r, size_t len, const char *field);
uint8_t wire_get_u8(wire_reader *r, const char *field);
uint16_t wire_get_u16(wire_reader *r, const char *field);
uint32_t wire_get_u32(wire_reader *r, const char *field);
uint64_t wire_get_u64(wire_reader *r, const char *field);
/* A u16-length string copied into a malloc'd NUL-terminated buffer (NULL when truncated, out of
 * memory, or when it holds a NUL or control character). */
char *wire_get_string(wire_reader *r, const char *field);
/* 1 when the last 32 bytes are the BLAKE2b-256 of the rest; shortens the reader to the rest. */
int wire_checksum_ok(wire_reader *r);

#endif
