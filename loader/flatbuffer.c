/* The bounds-checked FlatBuffers reader (flatbuffer.h).
 *
 * Invariant: every position held in an fb_table or fb_vector is <= len, and everything the
 * struct describes (vtable, inline part, elements) has been checked to end at or before len.
 * Checks are written as "n <= len - pos" once pos <= len is known, so no sum can wrap, and
 * all 32-bit quantities from the file are widened to 64 bits before they are added. */
#include <string.h>

#include "flatbuffer.h"

/* 1 when n bytes starting at pos lie inside buf[0..len). */
static int fits(size_t len, uint64_t pos, uint64_t n)
{
    return pos <= len && n <= (uint64_t)len - pos;
}

float fb_f32_of(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f); /* IEEE-754 binary32 on every host this project targets */
    return f;
}

/* Opens the table at pos: its soffset, its vtable, and its inline part. */
static const char *open_table(const uint8_t *buf, size_t len, uint64_t pos, fb_table *t)
{
    if (!fits(len, pos, 4))
        return "table lies past the end of the buffer";
    /* vtable = pos - soffset; a negative soffset puts the vtable after the table */
    int64_t vtable = (int64_t)pos - (int64_t)fb_i32_of(fb_load_u32(buf + pos));
    if (vtable < 0 || !fits(len, (uint64_t)vtable, 4))
        return "vtable lies outside the buffer";
    uint32_t vt_size = fb_load_u16(buf + vtable);
    uint32_t size = fb_load_u16(buf + vtable + 2);
    if (vt_size < 4)
        return "vtable is shorter than its 4-byte header";
    if (!fits(len, (uint64_t)vtable, vt_size))
        return "vtable runs past the end of the buffer";
    if (size < 4)
        return "table is shorter than its 4-byte vtable offset";
    if (!fits(len, pos, size))
        return "table runs past the end of the buffer";
    t->buf = buf;
    t->len = len;
    t->pos = (size_t)pos;
    t->vtable = (size_t)vtable;
    t->vt_size = vt_size;
    t->size = size;
    return NULL;
}

/* The target of the uoffset stored at pos (which holds 4 bytes: the caller checked). */
static const char *follow(const uint8_t *buf, size_t len, size_t pos, uint64_t *target)
{
    uint64_t t = (uint64_t)pos + fb_load_u32(buf + pos);
    if (t >= len)
        return "offset points past the end of the buffer";
    *target = t;
    return NULL;
}

/* The vector (or string, elem 1) whose length word is at pos. */
static const char *open_vector(const uint8_t *buf, size_t len, uint64_t pos, uint32_t elem,
                               fb_vector *v)
{
    if (!fits(len, pos, 4))
        return "vector length lies past the end of the buffer";
    uint32_t n = fb_load_u32(buf + pos);
    if (!fits(len, pos + 4, (uint64_t)n * elem))
        return "vector runs past the end of the buffer";
    v->buf = buf;
    v->len = len;
    v->pos = (size_t)(pos + 4);
    v->n = n;
    v->elem = elem;
    return NULL;
}

const char *fb_root(const uint8_t *buf, size_t len, fb_table *root)
{
    if (!buf || len < 8)
        return "buffer is shorter than a FlatBuffer header (8 bytes)";
    uint64_t pos;
    const char *why = follow(buf, len, 0, &pos);
    return why ? why : open_table(buf, len, pos, root);
}

int fb_has_identifier(const uint8_t *buf, size_t len, const char *id)
{
    return buf && len >= 8 && memcmp(buf + 4, id, 4) == 0;
}

/* The offset of field inside the table, 0 when absent. */
static uint32_t field_offset(const fb_table *t, unsigned field)
{
    uint64_t slot = 4 + 2 * (uint64_t)field;
    if (slot + 2 > t->vt_size)
        return 0; /* a vtable written by an older schema: the field is absent */
    return fb_load_u16(t->buf + t->vtable + slot);
}

int fb_present(const fb_table *t, unsigned field)
{
    return field_offset(t, field) != 0;
}

/* The position of a present field of `size` bytes, or 0 when absent. */
static const char *field_pos(const fb_table *t, unsigned field, uint32_t size, size_t *pos)
{
    uint32_t off = field_offset(t, field);
    *pos = 0;
    if (off == 0)
        return NULL;
    if ((uint64_t)off + size > t->size)
        return "field lies outside its table";
    *pos = t->pos + off; /* within the table, which lies inside the buffer */
    return NULL;
}

const char *fb_u8(const fb_table *t, unsigned field, uint8_t def, uint8_t *out)
{
    size_t p;
    const char *why = field_pos(t, field, 1, &p);
    *out = why || !p ? def : t->buf[p];
    return why;
}

const char *fb_i8(const fb_table *t, unsigned field, int8_t def, int8_t *out)
{
    size_t p;
    const char *why = field_pos(t, field, 1, &p);
    *out = why || !p ? def : fb_i8_of(t->buf[p]);
    return why;
}

const char *fb_u32(const fb_table *t, unsigned field, uint32_t def, uint32_t *out)
{
    size_t p;
    const char *why = field_pos(t, field, 4, &p);
    *out = why || !p ? def : fb_load_u32(t->buf + p);
    return why;
}

const char *fb_i32(const fb_table *t, unsigned field, int32_t def, int32_t *out)
{
    size_t p;
    const char *why = field_pos(t, field, 4, &p);
    *out = why || !p ? def : fb_i32_of(fb_load_u32(t->buf + p));
    return why;
}

const char *fb_u64(const fb_table *t, unsigned field, uint64_t def, uint64_t *out)
{
    size_t p;
    const char *why = field_pos(t, field, 8, &p);
    *out = why || !p ? def : fb_load_u64(t->buf + p);
    return why;
}

const char *fb_f32(const fb_table *t, unsigned field, float def, float *out)
{
    size_t p;
    const char *why = field_pos(t, field, 4, &p);
    *out = why || !p ? def : fb_f32_of(fb_load_u32(t->buf + p));
    return why;
}

/* The target of a present offset field; *present 0 when absent. */
static const char *field_target(const fb_table *t, unsigned field, uint64_t *target,
                                int *present)
{
    size_t p;
    *present = 0;
    const char *why = field_pos(t, field, 4, &p);
    if (why || !p)
        return why;
    why = follow(t->buf, t->len, p, target);
    *present = why == NULL;
    return why;
}

const char *fb_table_field(const fb_table *t, unsigned field, fb_table *out, int *present)
{
    uint64_t target;
    const char *why = field_target(t, field, &target, present);
    if (why || !*present)
        return why;
    why = open_table(t->buf, t->len, target, out);
    if (why)
        *present = 0;
    return why;
}

const char *fb_vector_field(const fb_table *t, unsigned field, uint32_t elem, fb_vector *out,
                            int *present)
{
    uint64_t target;
    memset(out, 0, sizeof *out);
    out->elem = elem;
    const char *why = field_target(t, field, &target, present);
    if (why || !*present)
        return why;
    why = open_vector(t->buf, t->len, target, elem, out);
    if (why) {
        *present = 0;
        memset(out, 0, sizeof *out);
        out->elem = elem;
    }
    return why;
}

static const char *string_at(const uint8_t *buf, size_t len, uint64_t pos, fb_string *out)
{
    fb_vector v;
    const char *why = open_vector(buf, len, pos, 1, &v);
    if (why)
        return why;
    out->bytes = buf + v.pos;
    out->len = v.n;
    return NULL;
}

const char *fb_string_field(const fb_table *t, unsigned field, fb_string *out, int *present)
{
    uint64_t target;
    out->bytes = NULL;
    out->len = 0;
    const char *why = field_target(t, field, &target, present);
    if (why || !*present)
        return why;
    why = string_at(t->buf, t->len, target, out);
    if (why)
        *present = 0;
    return why;
}

const char *fb_union(const fb_table *t, unsigned type_field, uint8_t *type, fb_table *value,
                     int *present)
{
    *present = 0;
    const char *why = fb_u8(t, type_field, 0, type);
    if (why || *type == 0)
        return why;
    return fb_table_field(t, type_field + 1, value, present);
}

/* The position of element i, 0 when i or the element size is wrong. */
static size_t element(const fb_vector *v, uint32_t i, uint32_t elem)
{
    if (i >= v->n || v->elem != elem)
        return 0;
    return v->pos + (size_t)i * elem; /* inside the checked extent */
}

uint8_t fb_vec_u8(const fb_vector *v, uint32_t i)
{
    size_t p = element(v, i, 1);
    return p ? v->buf[p] : 0;
}

int32_t fb_vec_i32(const fb_vector *v, uint32_t i)
{
    size_t p = element(v, i, 4);
    return p ? fb_i32_of(fb_load_u32(v->buf + p)) : 0;
}

int64_t fb_vec_i64(const fb_vector *v, uint32_t i)
{
    size_t p = element(v, i, 8);
    return p ? fb_i64_of(fb_load_u64(v->buf + p)) : 0;
}

float fb_vec_f32(const fb_vector *v, uint32_t i)
{
    size_t p = element(v, i, 4);
    return p ? fb_f32_of(fb_load_u32(v->buf + p)) : 0.0f;
}

const uint8_t *fb_vec_bytes(const fb_vector *v)
{
    return v->n && v->elem == 1 ? v->buf + v->pos : NULL;
}

const char *fb_vec_table(const fb_vector *v, uint32_t i, fb_table *out)
{
    size_t p = element(v, i, 4);
    uint64_t target;
    if (!p)
        return "element index out of range";
    const char *why = follow(v->buf, v->len, p, &target);
    return why ? why : open_table(v->buf, v->len, target, out);
}

const char *fb_vec_string(const fb_vector *v, uint32_t i, fb_string *out)
{
    size_t p = element(v, i, 4);
    uint64_t target;
    out->bytes = NULL;
    out->len = 0;
    if (!p)
        return "element index out of range";
    const char *why = follow(v->buf, v->len, p, &target);
    return why ? why : string_at(v->buf, v->len, target, out);
}
