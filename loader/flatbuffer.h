/* A small, bounds-checked reader of FlatBuffers, for files that may be hostile.
 *
 * No code generator: the caller knows its schema and asks for fields by their index in the
 * table declaration (the n-th field, counting a union as two: its _type byte, then its value).
 *
 * The layout, as the FlatBuffers format defines it (all little-endian):
 *   - the buffer starts with a uoffset (uint32) to the root table; a file identifier, when
 *     the schema has one, is bytes 4..7;
 *   - a uoffset is relative to where it is stored and points forward;
 *   - a table starts with an soffset (int32): its vtable is at table - soffset;
 *   - a vtable is uint16 words: its own size in bytes, the table's inline size in bytes, then
 *     one word per field, the field's offset from the table start (0 = absent: the default);
 *   - a vector or string is a uint32 element count followed by the elements (a string's bytes
 *     are normally followed by a NUL, which is not counted and not required here);
 *   - a vector of tables or strings holds uoffsets, each relative to its own slot.
 *
 * Every offset, size and count is checked against the buffer before it is used, positions
 * are computed so that they cannot wrap, and every multi-byte value is assembled from
 * single-byte loads, so unaligned or big-endian hosts read the same numbers.
 *
 * The functions that can fail return NULL on success or a static one-line reason ("vector
 * runs past the end of the buffer"); the caller prefixes it with the field it was reading. */
#ifndef DETVM_LOADER_FLATBUFFER_H
#define DETVM_LOADER_FLATBUFFER_H

#include <stddef.h>
#include <stdint.h>

/* A table, once its vtable and inline part have been checked to lie inside the buffer. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;       /* table start (where its soffset is) */
    size_t vtable;    /* vtable start */
    uint32_t vt_size; /* vtable bytes, >= 4 */
    uint32_t size;    /* the table's inline bytes, >= 4 */
} fb_table;

/* A vector whose n elements of elem bytes each have been checked to lie inside the buffer.
 * An absent vector reads as n = 0. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;    /* first element */
    uint32_t n;    /* element count */
    uint32_t elem; /* bytes per element */
} fb_vector;

/* A string's bytes (len of them, inside the buffer; not necessarily NUL-terminated and
 * possibly holding NULs). An absent string reads as len = 0. */
typedef struct {
    const uint8_t *bytes;
    uint32_t len;
} fb_string;

/* ---- little-endian loads (the caller guarantees the bytes exist) ------------------------ */
static inline uint16_t fb_load_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t fb_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t fb_load_u64(const uint8_t *p)
{
    return (uint64_t)fb_load_u32(p) | (uint64_t)fb_load_u32(p + 4) << 32;
}

/* Two's complement reinterpretations, written out so that no conversion is
 * implementation-defined. */
static inline int32_t fb_i32_of(uint32_t v)
{
    return v <= INT32_MAX ? (int32_t)v : (int32_t)(v - 2147483648u) - INT32_MAX - 1;
}

static inline int64_t fb_i64_of(uint64_t v)
{
    return v <= INT64_MAX ? (int64_t)v : (int64_t)(v - 9223372036854775808u) - INT64_MAX - 1;
}

static inline int8_t fb_i8_of(uint8_t v)
{
    return v <= 127 ? (int8_t)v : (int8_t)((int)v - 256);
}

float fb_f32_of(uint32_t bits);

/* ---- the root ---------------------------------------------------------------------------- */

/* The root table of buf[0..len). */
const char *fb_root(const uint8_t *buf, size_t len, fb_table *root);
/* 1 when bytes 4..7 of buf are the 4-character identifier id. */
int fb_has_identifier(const uint8_t *buf, size_t len, const char *id);

/* ---- table fields ------------------------------------------------------------------------ */

/* 1 when the table's vtable gives field an offset (its value may still equal the default). */
int fb_present(const fb_table *t, unsigned field);

/* Scalar fields: *out is the stored value, or def when the field is absent. Fails when the
 * field does not fit inside the table's inline part. Booleans are read with fb_u8. */
const char *fb_u8(const fb_table *t, unsigned field, uint8_t def, uint8_t *out);
const char *fb_i8(const fb_table *t, unsigned field, int8_t def, int8_t *out);
const char *fb_u32(const fb_table *t, unsigned field, uint32_t def, uint32_t *out);
const char *fb_i32(const fb_table *t, unsigned field, int32_t def, int32_t *out);
const char *fb_u64(const fb_table *t, unsigned field, uint64_t def, uint64_t *out);
const char *fb_f32(const fb_table *t, unsigned field, float def, float *out);

/* A sub-table field. *present is 0 (and *out untouched) when the field is absent. */
const char *fb_table_field(const fb_table *t, unsigned field, fb_table *out, int *present);
/* A vector field of elem-byte elements (1, 2, 4 or 8 for scalars, 4 for tables and strings). */
const char *fb_vector_field(const fb_table *t, unsigned field, uint32_t elem, fb_vector *out,
                            int *present);
const char *fb_string_field(const fb_table *t, unsigned field, fb_string *out, int *present);
/* A union: type_field is the index of its _type byte, the value is the next field. *type is
 * 0 (NONE) when absent; *present is 1 only when the type is not NONE and the value table
 * exists. */
const char *fb_union(const fb_table *t, unsigned type_field, uint8_t *type, fb_table *value,
                     int *present);

/* ---- vector elements (i < v->n and a matching elem size; else 0) ------------------------ */
uint8_t fb_vec_u8(const fb_vector *v, uint32_t i);
int32_t fb_vec_i32(const fb_vector *v, uint32_t i);
int64_t fb_vec_i64(const fb_vector *v, uint32_t i);
float fb_vec_f32(const fb_vector *v, uint32_t i);
/* The bytes of a vector of 1-byte elements, NULL when it is empty. */
const uint8_t *fb_vec_bytes(const fb_vector *v);
/* The i-th element of a vector of tables or of strings (i >= n fails). */
const char *fb_vec_table(const fb_vector *v, uint32_t i, fb_table *out);
const char *fb_vec_string(const fb_vector *v, uint32_t i, fb_string *out);

#endif
