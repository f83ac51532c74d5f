/* Tests of the .tflite reader (loader/tflite_model.c over loader/flatbuffer.c).
 *
 * Self-made models: a small FlatBuffer writer below builds TFLite files from a description,
 * so that every field the reader decodes (builtin options with their schema defaults,
 * quantization, both kinds of buffer, operator codes) and every refusal can be checked
 * without the shared corpus. Hostile files: corrupted offsets, vtables and lengths,
 * out-of-range indices, truncation at every length and byte flips, of a self-made model and
 * of hello_world; each must fail with DETVM_EINVALID and a one-line "tflite: " message, or
 * parse into a model whose every pointer is readable. Every buffer handed to the parser is
 * an exact-size heap copy, so AddressSanitizer (make test SANITIZE=1) sees any read past it.
 *
 * Real models: each ../shared/models/tflite/<model>/model.tflite against its meta.json
 * (operator count, input and output tensors with their quantization); skipped when the
 * shared folder is absent. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "corpus.h"
#include "tflite.h"

#define COUNT(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* A hostile file may make the parser try a big allocation; fail it as malloc would. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* ---- a FlatBuffer writer, front to back ----------------------------------------------
 * Objects are appended in order; a reference is written as a placeholder and patched once
 * its target (always later in the buffer, as a uoffset must be) has been written. A table's
 * vtable is written just before it (soffset positive). */

typedef struct {
    uint8_t b[1 << 16];
    uint32_t n;
} fbb;

static void put_u16_at(fbb *f, uint32_t at, uint32_t v)
{
    f->b[at] = (uint8_t)v;
    f->b[at + 1] = (uint8_t)(v >> 8);
}

static void put_u32_at(fbb *f, uint32_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        f->b[at + i] = (uint8_t)(v >> 8 * i);
}

static uint32_t put(fbb *f, const void *p, uint32_t len)
{
    uint32_t at = f->n;
    if (p)
        memcpy(f->b + at, p, len);
    else
        memset(f->b + at, 0, len);
    f->n += len;
    return at;
}

static uint32_t put_le(fbb *f, uint64_t v, uint32_t size)
{
    uint8_t bytes[8];
    for (uint32_t i = 0; i < size; i++)
        bytes[i] = (uint8_t)(v >> 8 * i);
    return put(f, bytes, size);
}

static void align4(fbb *f)
{
    while (f->n % 4)
        f->b[f->n++] = 0;
}

static void patch(fbb *f, uint32_t slot, uint32_t target)
{
    put_u32_at(f, slot, target - slot);
}

typedef struct {
    fbb *f;
    uint32_t vt, pos, nfields;
} tbl;

static tbl tb_begin(fbb *f, uint32_t nfields)
{
    tbl t = {f, 0, 0, nfields};
    align4(f);
    t.vt = put(f, NULL, 4 + 2 * nfields);
    align4(f);
    t.pos = put(f, NULL, 4);
    put_u32_at(f, t.pos, t.pos - t.vt); /* soffset: the vtable is just before */
    return t;
}

/* A scalar field of size bytes; returns its position. */
static uint32_t tb_scalar(tbl *t, uint32_t field, uint64_t v, uint32_t size)
{
    put_u16_at(t->f, t->vt + 4 + 2 * field, t->f->n - t->pos);
    return put_le(t->f, v, size);
}

/* A reference field: a placeholder to patch. */
static uint32_t tb_ref(tbl *t, uint32_t field)
{
    return tb_scalar(t, field, 0, 4);
}

static void tb_end(tbl *t)
{
    put_u16_at(t->f, t->vt, 4 + 2 * t->nfields);
    put_u16_at(t->f, t->vt + 2, t->f->n - t->pos);
}

static uint32_t vec(fbb *f, const void *values, uint32_t n, uint32_t elem)
{
    align4(f);
    uint32_t at = put_le(f, n, 4);
    const uint8_t *v = values;
    for (uint32_t i = 0; i < n * elem; i += elem) {
        uint64_t x = 0;
        memcpy(&x, v + i, elem); /* little-endian host */
        put_le(f, x, elem);
    }
    return at;
}

static uint32_t str(fbb *f, const char *s, uint32_t len, int nul)
{
    align4(f);
    uint32_t at = put_le(f, len, 4);
    put(f, s, len);
    if (nul)
        put(f, NULL, 1);
    return at;
}

/* ---- a model description and its writer ---------------------------------------------- */

typedef struct {
    uint32_t ndim;
    int32_t dim[10];
    int8_t type;
    uint32_t buffer;
    const char *name;
    uint32_t name_len; /* 0: strlen(name) */
    int quant;         /* write a QuantizationParameters table */
    uint32_t nq, nzp;
    float scale[8];
    int64_t zp[8];
    int32_t qdim;
    uint8_t details_type; /* a QuantizationDetails union type (with an empty table) */
    int sparsity;         /* write an (empty) SparsityParameters table */
    uint32_t external_buffer;
} tspec;

typedef struct {
    uint32_t len;       /* bytes of data (the vector's length) */
    uint8_t fill;       /* their value */
    int external;       /* store them after the FlatBuffer, through offset and size */
    uint64_t offset, size; /* when set (nonzero), written as they are */
} bspec;

typedef struct {
    uint8_t field, size;
    uint64_t v;
} optfield;

typedef struct {
    uint32_t opcode_index;
    uint32_t nin, nout;
    int32_t in[6], out[4];
    uint8_t opt_type;  /* BuiltinOptions union type; 0 none */
    uint32_t nopt;     /* scalar fields of the options table */
    optfield opt[8];
    int opt_vec;       /* write an int vector at field opt_vec_field */
    uint8_t opt_vec_field;
    uint32_t nvec;
    int32_t vec[12];
} opspec;

typedef struct {
    int has_deprecated, has_builtin, has_version;
    int8_t deprecated;
    int32_t builtin, version;
    const char *custom;
} codespec;

typedef struct {
    const char *ident;        /* default "TFL3" */
    int no_version;           /* leave Model.version out */
    uint32_t version;
    uint32_t ncodes;
    codespec codes[4];
    uint32_t nsub;            /* subgraphs (> 1: the others are empty tables) */
    uint32_t ntensors;
    tspec t[8];
    uint32_t share_tensor0;   /* > 0: the tensors vector has this many entries, all tensor 0 */
    uint32_t nops;
    opspec ops[4];
    uint32_t nin, nout;
    int32_t in[4], out[4];
    uint32_t nbuf;
    bspec buf[6];
    const char *description;
    int last_name_unterminated; /* tensor names go last; the last one without its NUL */
} mspec;

/* Positions inside the last file written, for the corruption tests. */
static struct {
    uint32_t root, root_vt, tensors_vec, tensor0, name0, buffers_vec, op0_inputs_vec,
        op0_outputs_vec, subgraphs_vec;
} mark;

static uint32_t build(const mspec *m, fbb *f)
{
    memset(f, 0, sizeof *f);
    uint32_t root_slot = put(f, NULL, 4);
    put(f, m->ident ? m->ident : "TFL3", 4);

    tbl root = tb_begin(f, 5);
    mark.root = root.pos;
    mark.root_vt = root.vt;
    if (!m->no_version)
        tb_scalar(&root, 0, m->version, 4);
    uint32_t codes_ref = tb_ref(&root, 1);
    uint32_t subs_ref = tb_ref(&root, 2);
    uint32_t desc_ref = m->description ? tb_ref(&root, 3) : 0;
    uint32_t bufs_ref = tb_ref(&root, 4);
    tb_end(&root);
    patch(f, root_slot, root.pos);

    /* operator codes */
    align4(f);
    patch(f, codes_ref, f->n);
    uint32_t codes_vec = vec(f, NULL, 0, 4);
    put_u32_at(f, codes_vec, m->ncodes);
    uint32_t code_slots = put(f, NULL, 4 * m->ncodes);
    for (uint32_t i = 0; i < m->ncodes; i++) {
        const codespec *c = &m->codes[i];
        tbl t = tb_begin(f, 4);
        patch(f, code_slots + 4 * i, t.pos);
        if (c->has_deprecated)
            tb_scalar(&t, 0, (uint8_t)c->deprecated, 1);
        uint32_t custom_ref = c->custom ? tb_ref(&t, 1) : 0;
        if (c->has_version)
            tb_scalar(&t, 2, (uint32_t)c->version, 4);
        if (c->has_builtin)
            tb_scalar(&t, 3, (uint32_t)c->builtin, 4);
        tb_end(&t);
        if (c->custom)
            patch(f, custom_ref, str(f, c->custom, (uint32_t)strlen(c->custom), 1));
    }

    /* subgraphs: 0 is the model, the others empty */
    uint32_t nsub = m->nsub ? m->nsub : 1;
    align4(f);
    patch(f, subs_ref, f->n);
    mark.subgraphs_vec = vec(f, NULL, 0, 4);
    put_u32_at(f, mark.subgraphs_vec, nsub);
    uint32_t sub_slots = put(f, NULL, 4 * nsub);
    for (uint32_t s = 1; s < nsub; s++) {
        tbl e = tb_begin(f, 0);
        tb_end(&e);
        patch(f, sub_slots + 4 * s, e.pos);
    }
    tbl sg = tb_begin(f, 5);
    patch(f, sub_slots, sg.pos);
    uint32_t tensors_ref = tb_ref(&sg, 0);
    uint32_t in_ref = tb_ref(&sg, 1);
    uint32_t out_ref = tb_ref(&sg, 2);
    uint32_t ops_ref = tb_ref(&sg, 3);
    tb_end(&sg);

    /* tensors */
    uint32_t n_entries = m->share_tensor0 ? m->share_tensor0 : m->ntensors;
    uint32_t name_refs[8] = {0};
    align4(f);
    patch(f, tensors_ref, f->n);
    mark.tensors_vec = vec(f, NULL, 0, 4);
    put_u32_at(f, mark.tensors_vec, n_entries);
    uint32_t tensor_slots = put(f, NULL, 4 * n_entries);
    for (uint32_t i = 0; i < m->ntensors; i++) {
        const tspec *t = &m->t[i];
        tbl tt = tb_begin(f, 11);
        if (i == 0)
            mark.tensor0 = tt.pos;
        if (m->share_tensor0)
            for (uint32_t k = 0; k < n_entries; k++)
                patch(f, tensor_slots + 4 * k, tt.pos);
        else
            patch(f, tensor_slots + 4 * i, tt.pos);
        uint32_t shape_ref = tb_ref(&tt, 0);
        tb_scalar(&tt, 1, (uint8_t)t->type, 1);
        tb_scalar(&tt, 2, t->buffer, 4);
        name_refs[i] = t->name ? tb_ref(&tt, 3) : 0;
        uint32_t quant_ref = t->quant ? tb_ref(&tt, 4) : 0;
        uint32_t sparsity_ref = t->sparsity ? tb_ref(&tt, 6) : 0;
        if (t->external_buffer)
            tb_scalar(&tt, 10, t->external_buffer, 4);
        tb_end(&tt);
        patch(f, shape_ref, vec(f, t->dim, t->ndim, 4));
        if (t->quant) {
            tbl q = tb_begin(f, 7);
            patch(f, quant_ref, q.pos);
            uint32_t scale_ref = t->nq ? tb_ref(&q, 2) : 0;
            uint32_t zp_ref = t->nzp ? tb_ref(&q, 3) : 0;
            uint32_t details_ref = 0;
            if (t->details_type) {
                tb_scalar(&q, 4, t->details_type, 1);
                details_ref = tb_ref(&q, 5);
            }
            tb_scalar(&q, 6, (uint32_t)t->qdim, 4);
            tb_end(&q);
            if (t->nq)
                patch(f, scale_ref, vec(f, t->scale, t->nq, 4));
            if (t->nzp)
                patch(f, zp_ref, vec(f, t->zp, t->nzp, 8));
            if (t->details_type) {
                tbl d = tb_begin(f, 0);
                tb_end(&d);
                patch(f, details_ref, d.pos);
            }
        }
        if (t->sparsity) {
            tbl sp = tb_begin(f, 0);
            tb_end(&sp);
            patch(f, sparsity_ref, sp.pos);
        }
    }

    /* operators */
    align4(f);
    patch(f, ops_ref, f->n);
    uint32_t ops_vec = vec(f, NULL, 0, 4);
    put_u32_at(f, ops_vec, m->nops);
    uint32_t op_slots = put(f, NULL, 4 * m->nops);
    for (uint32_t i = 0; i < m->nops; i++) {
        const opspec *o = &m->ops[i];
        tbl ot = tb_begin(f, 5);
        patch(f, op_slots + 4 * i, ot.pos);
        tb_scalar(&ot, 0, o->opcode_index, 4);
        uint32_t ins_ref = tb_ref(&ot, 1);
        uint32_t outs_ref = tb_ref(&ot, 2);
        uint32_t opt_ref = 0;
        if (o->opt_type) {
            tb_scalar(&ot, 3, o->opt_type, 1);
            opt_ref = tb_ref(&ot, 4);
        }
        tb_end(&ot);
        uint32_t v = vec(f, o->in, o->nin, 4);
        patch(f, ins_ref, v);
        if (i == 0)
            mark.op0_inputs_vec = v;
        v = vec(f, o->out, o->nout, 4);
        patch(f, outs_ref, v);
        if (i == 0)
            mark.op0_outputs_vec = v;
        if (o->opt_type) {
            tbl opt = tb_begin(f, 8);
            patch(f, opt_ref, opt.pos);
            for (uint32_t k = 0; k < o->nopt; k++)
                tb_scalar(&opt, o->opt[k].field, o->opt[k].v, o->opt[k].size);
            uint32_t vec_ref = o->opt_vec ? tb_ref(&opt, o->opt_vec_field) : 0;
            tb_end(&opt);
            if (o->opt_vec)
                patch(f, vec_ref, vec(f, o->vec, o->nvec, 4));
        }
    }
    patch(f, in_ref, vec(f, m->in, m->nin, 4));
    patch(f, out_ref, vec(f, m->out, m->nout, 4));

    if (m->description)
        patch(f, desc_ref, str(f, m->description, (uint32_t)strlen(m->description), 1));

    /* buffers */
    uint32_t ext_fields[6][2] = {{0}};
    align4(f);
    patch(f, bufs_ref, f->n);
    mark.buffers_vec = vec(f, NULL, 0, 4);
    put_u32_at(f, mark.buffers_vec, m->nbuf);
    uint32_t buf_slots = put(f, NULL, 4 * m->nbuf);
    for (uint32_t i = 0; i < m->nbuf; i++) {
        const bspec *b = &m->buf[i];
        tbl bt = tb_begin(f, 3);
        patch(f, buf_slots + 4 * i, bt.pos);
        uint32_t data_ref = b->len && !b->external ? tb_ref(&bt, 0) : 0;
        if (b->external || b->offset) {
            ext_fields[i][0] = tb_scalar(&bt, 1, b->offset, 8);
            ext_fields[i][1] = tb_scalar(&bt, 2, b->size, 8);
        }
        tb_end(&bt);
        if (data_ref) {
            align4(f);
            patch(f, data_ref, put_le(f, b->len, 4));
            memset(f->b + put(f, NULL, b->len), b->fill, b->len);
        }
    }

    /* tensor names, possibly last of all */
    for (uint32_t i = 0; i < m->ntensors; i++) {
        const tspec *t = &m->t[i];
        if (!t->name)
            continue;
        uint32_t len = t->name_len ? t->name_len : (uint32_t)strlen(t->name);
        int last = i + 1 == m->ntensors;
        uint32_t at = str(f, t->name, len, !(last && m->last_name_unterminated));
        patch(f, name_refs[i], at);
        if (i == 0)
            mark.name0 = at;
    }

    /* data stored after the FlatBuffer */
    for (uint32_t i = 0; i < m->nbuf; i++) {
        const bspec *b = &m->buf[i];
        if (!b->external)
            continue;
        uint32_t at = put(f, NULL, b->len);
        memset(f->b + at, b->fill, b->len);
        for (int k = 0; k < 8; k++) {
            f->b[ext_fields[i][0] + k] = (uint8_t)((uint64_t)at >> 8 * k);
            f->b[ext_fields[i][1] + k] = (uint8_t)((uint64_t)b->len >> 8 * k);
        }
    }
    return f->n;
}

/* The base model: FULLY_CONNECTED(input [1,4] int8, weights [2,4] int8 per-channel, bias
 * [2] int32) -> output [1,2] int8, then RESHAPE(output) -> [2]. Buffer 0 is the empty
 * sentinel, 1 the weights, 2 the bias, 3 the reshape's (empty) buffer. */
static mspec base_model(void)
{
    mspec m;
    memset(&m, 0, sizeof m);
    m.version = 3;
    m.ncodes = 2;
    m.codes[0] = (codespec){1, 1, 1, 9, 9, 1, NULL};  /* FULLY_CONNECTED, version 1 */
    m.codes[1] = (codespec){1, 1, 0, 22, 22, 0, NULL}; /* RESHAPE, version absent */
    m.ntensors = 5;
    m.t[0] = (tspec){2, {1, 4}, TFL_INT8, 0, "input", 0, 1, 1, 1, {0.5f}, {-3}, 0, 0, 0, 0};
    m.t[1] = (tspec){2, {2, 4}, TFL_INT8, 1, "weights", 0, 1, 2, 2, {0.25f, 0.125f}, {0, 0},
                     0, 0, 0, 0};
    m.t[2] = (tspec){1, {2}, TFL_INT32, 2, "bias", 0, 1, 2, 0, {0.125f, 0.0625f}, {0}, 0, 0,
                     0, 0};
    m.t[3] = (tspec){2, {1, 2}, TFL_INT8, 0, "output", 0, 1, 1, 1, {0.75f}, {7}, 0, 0, 0, 0};
    m.t[4] = (tspec){1, {2}, TFL_INT8, 3, "reshaped", 0, 1, 1, 1, {0.75f}, {7}, 5, 0, 0, 0};
    m.nops = 2;
    m.ops[0] = (opspec){0, 3, 1, {0, 1, 2}, {3}, 8, 3,
                        {{0, 1, TFL_ACT_RELU6}, {1, 1, 0}, {2, 1, 1}}, 0, 0, 0, {0}};
    m.ops[1] = (opspec){1, 1, 1, {3}, {4}, 17, 0, {{0}}, 1, 0, 1, {2}};
    m.nin = 1;
    m.in[0] = 0;
    m.nout = 1;
    m.out[0] = 4;
    m.nbuf = 4;
    m.buf[1] = (bspec){8, 0x11, 0, 0, 0};
    m.buf[2] = (bspec){8, 0x22, 0, 0, 0};
    m.description = "made by test_tflite_reader";
    return m;
}

/* ---- running the parser --------------------------------------------------------------- */

static volatile uint64_t sink;

/* Reads everything a parsed model points to, so that AddressSanitizer checks it. */
static void walk(const tfl_model *m)
{
    uint64_t h = m->version + strlen(m->description);
    for (uint32_t i = 0; i < m->n_tensors; i++) {
        const tfl_tensor *t = &m->tensors[i];
        h += strlen(t->name) + (uint64_t)t->type + t->ndim;
        for (size_t k = 0; k < t->data_len; k++)
            h += t->data[k];
        for (uint32_t k = 0; k < t->n_quant; k++)
            h += (uint64_t)t->zero_point[k] + (uint64_t)(t->scale[k] != 0);
    }
    for (uint32_t i = 0; i < m->n_operators; i++) {
        const tfl_operator *o = &m->operators[i];
        for (uint32_t k = 0; k < o->n_inputs; k++)
            h += (uint64_t)o->inputs[k];
        for (uint32_t k = 0; k < o->n_outputs; k++)
            h += (uint64_t)o->outputs[k];
        if (o->custom_code)
            h += strlen(o->custom_code);
        h += strlen(tfl_builtin_name(o->builtin));
    }
    for (uint32_t k = 0; k < m->n_inputs; k++)
        h += (uint64_t)m->inputs[k];
    for (uint32_t k = 0; k < m->n_outputs; k++)
        h += (uint64_t)m->outputs[k];
    sink += h;
}

/* Parses an exact-size heap copy of bytes[0..len). The model is freed unless kept. */
static detvm_status parse(const uint8_t *bytes, size_t len, tfl_model *keep, uint8_t **copy,
                          detvm_error *err)
{
    uint8_t *c = malloc(len ? len : 1);
    if (len)
        memcpy(c, bytes, len);
    tfl_model m;
    memset(err, 0, sizeof *err);
    detvm_status st = tfl_model_parse(c, len, &m, err);
    if (st == DETVM_OK)
        walk(&m);
    if (keep && st == DETVM_OK) {
        *keep = m;
        *copy = c;
        return st;
    }
    tfl_model_free(&m);
    free(c);
    return st;
}

/* A clean failure: DETVM_EINVALID, "tflite: ...", one line. */
static int clean_failure(detvm_status st, const detvm_error *err)
{
    return st == DETVM_EINVALID && strncmp(err->message, "tflite: ", 8) == 0 &&
           !strchr(err->message, '\n');
}

/* Builds and parses m; expects the failure message to contain `want`. */
static void expect_fail(const mspec *m, const char *want, const char *what)
{
    static fbb f;
    uint32_t len = build(m, &f);
    detvm_error err;
    detvm_status st = parse(f.b, len, NULL, NULL, &err);
    CHECK(clean_failure(st, &err) && strstr(err.message, want), "%s: status %d, \"%s\"", what,
          st, err.message);
}

/* Parses a file after a corruption; expects a failure containing `want`. */
static void expect_fail_bytes(const uint8_t *b, size_t len, const char *want, const char *what)
{
    detvm_error err;
    detvm_status st = parse(b, len, NULL, NULL, &err);
    CHECK(clean_failure(st, &err) && strstr(err.message, want), "%s: status %d, \"%s\"", what,
          st, err.message);
}

/* ---- self-made models: what is read ---------------------------------------------------- */

static void test_base_model(void)
{
    static fbb f;
    mspec spec = base_model();
    uint32_t len = build(&spec, &f);
    tfl_model m;
    uint8_t *copy = NULL;
    detvm_error err;
    detvm_status st = parse(f.b, len, &m, &copy, &err);
    CHECK(st == DETVM_OK, "%s", err.message);
    if (st != DETVM_OK)
        return;
    CHECK(m.version == 3);
    CHECK(strcmp(m.description, "made by test_tflite_reader") == 0);
    CHECK(m.n_tensors == 5 && m.n_operators == 2);
    CHECK(m.n_inputs == 1 && m.inputs[0] == 0 && m.n_outputs == 1 && m.outputs[0] == 4);

    const tfl_tensor *t = m.tensors;
    CHECK(strcmp(t[0].name, "input") == 0 && t[0].type == TFL_INT8 && t[0].ndim == 2 &&
          t[0].dim[0] == 1 && t[0].dim[1] == 4);
    CHECK(t[0].data == NULL && t[0].data_len == 0, "no buffer: an activation");
    CHECK(t[0].n_quant == 1 && t[0].scale[0] == 0.5f && t[0].zero_point[0] == -3);
    CHECK(t[1].data && t[1].data_len == 8 && t[1].data[0] == 0x11 && t[1].data[7] == 0x11);
    CHECK(t[1].data >= copy && t[1].data + 8 <= copy + len, "data points into the file");
    CHECK(t[1].n_quant == 2 && t[1].scale[1] == 0.125f && t[1].quantized_dimension == 0);
    CHECK(t[2].type == TFL_INT32 && t[2].data_len == 8 && t[2].data[0] == 0x22);
    CHECK(t[2].n_quant == 2 && t[2].zero_point[0] == 0 && t[2].zero_point[1] == 0,
          "absent zero points read as zeros");
    CHECK(t[3].zero_point[0] == 7 && t[3].scale[0] == 0.75f);
    CHECK(t[4].data == NULL, "an empty buffer: an activation");
    CHECK(t[4].n_quant == 1 && t[4].quantized_dimension == 5,
          "one scale: any quantized_dimension is accepted as it is");

    const tfl_operator *o = m.operators;
    CHECK(o[0].builtin == TFL_OP_FULLY_CONNECTED && o[0].version == 1 && !o[0].custom_code);
    CHECK(o[0].n_inputs == 3 && o[0].inputs[2] == 2 && o[0].n_outputs == 1 &&
          o[0].outputs[0] == 3);
    CHECK(o[0].options.activation == TFL_ACT_RELU6 && o[0].options.weights_format == 0 &&
          o[0].options.keep_num_dims == 1);
    CHECK(o[0].options.stride_w == 1 && o[0].options.beta == 1.0f,
          "fields the table does not have keep the defaults");
    CHECK(o[1].builtin == TFL_OP_RESHAPE && o[1].version == 1, "version defaults to 1");
    CHECK(o[1].options.has_new_shape == 1 && o[1].options.n_new_shape == 1 &&
          o[1].options.new_shape[0] == 2);
    tfl_model_free(&m);
    free(copy);
    CHECK(m.storage == NULL && m.tensors == NULL, "tfl_model_free zeroes the model");
    tfl_model_free(&m); /* twice, and on a zeroed model: harmless */
}

/* One operator with the given options; returns its decoded options (or fails the check). */
static int options_of(uint8_t type, const optfield *fields, uint32_t n, const int32_t *vec_v,
                      uint32_t nvec, uint8_t vec_field, tfl_options *out)
{
    static fbb f;
    mspec spec = base_model();
    opspec *o = &spec.ops[1];
    o->opt_type = type;
    o->nopt = n;
    if (n)
        memcpy(o->opt, fields, n * sizeof *fields);
    o->opt_vec = vec_v != NULL;
    o->opt_vec_field = vec_field;
    o->nvec = nvec;
    if (vec_v)
        memcpy(o->vec, vec_v, nvec * sizeof *vec_v);
    uint32_t len = build(&spec, &f);
    tfl_model m;
    uint8_t *copy = NULL;
    detvm_error err;
    detvm_status st = parse(f.b, len, &m, &copy, &err);
    CHECK(st == DETVM_OK, "options type %u: %s", type, err.message);
    if (st != DETVM_OK)
        return 0;
    *out = m.operators[1].options;
    tfl_model_free(&m);
    free(copy);
    return 1;
}

static float f32_of_bits(uint32_t b)
{
    float x;
    memcpy(&x, &b, 4);
    return x;
}

static uint64_t bits_of(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

static void test_options(void)
{
    tfl_options o;
    /* Conv2DOptions: every field set */
    optfield conv[] = {{0, 1, TFL_PAD_VALID}, {1, 4, 2}, {2, 4, 3}, {3, 1, TFL_ACT_RELU},
                       {4, 4, 4}, {5, 4, 5}};
    if (options_of(1, conv, COUNT(conv), NULL, 0, 0, &o))
        CHECK(o.padding == 1 && o.stride_w == 2 && o.stride_h == 3 && o.activation == 1 &&
              o.dilation_w == 4 && o.dilation_h == 5 && o.depth_multiplier == 1);
    /* an empty Conv2DOptions: the schema defaults (stride 0, dilation 1) */
    if (options_of(1, NULL, 0, NULL, 0, 0, &o))
        CHECK(o.padding == 0 && o.stride_w == 0 && o.stride_h == 0 && o.dilation_w == 1 &&
              o.dilation_h == 1 && o.activation == 0);
    optfield dw[] = {{0, 1, 0}, {1, 4, 1}, {2, 4, 2}, {3, 4, 8}, {4, 1, TFL_ACT_RELU6},
                     {5, 4, 2}, {6, 4, 3}};
    if (options_of(2, dw, COUNT(dw), NULL, 0, 0, &o))
        CHECK(o.stride_w == 1 && o.stride_h == 2 && o.depth_multiplier == 8 &&
              o.activation == 3 && o.dilation_w == 2 && o.dilation_h == 3);
    if (options_of(2, NULL, 0, NULL, 0, 0, &o))
        CHECK(o.depth_multiplier == 0 && o.dilation_w == 1 && o.stride_w == 0);
    optfield pool[] = {{0, 1, 1}, {1, 4, 2}, {2, 4, 2}, {3, 4, 3}, {4, 4, 5},
                       {5, 1, TFL_ACT_RELU}};
    if (options_of(5, pool, COUNT(pool), NULL, 0, 0, &o))
        CHECK(o.padding == 1 && o.stride_w == 2 && o.filter_w == 3 && o.filter_h == 5 &&
              o.activation == 1);
    if (options_of(5, NULL, 0, NULL, 0, 0, &o))
        CHECK(o.filter_w == 0 && o.filter_h == 0 && o.stride_h == 0);
    optfield fc[] = {{0, 1, 2}, {1, 1, 1}};
    if (options_of(8, fc, COUNT(fc), NULL, 0, 0, &o))
        CHECK(o.activation == 2 && o.weights_format == 1 && o.keep_num_dims == 0);
    optfield sm[] = {{0, 4, bits_of(0.5f)}};
    if (options_of(9, sm, COUNT(sm), NULL, 0, 0, &o))
        CHECK(o.beta == 0.5f);
    if (options_of(9, NULL, 0, NULL, 0, 0, &o))
        CHECK(o.beta == 0.0f, "SoftmaxOptions without beta: the schema default 0");
    optfield cat[] = {{0, 4, (uint32_t)-1}, {1, 1, 1}};
    if (options_of(10, cat, COUNT(cat), NULL, 0, 0, &o))
        CHECK(o.axis == -1 && o.activation == 1);
    optfield add[] = {{0, 1, 3}};
    if (options_of(11, add, COUNT(add), NULL, 0, 0, &o))
        CHECK(o.activation == 3 && o.pot_scale_int16 == 1, "pot_scale_int16 defaults to true");
    optfield sub[] = {{0, 1, 1}, {1, 1, 0}};
    if (options_of(28, sub, COUNT(sub), NULL, 0, 0, &o))
        CHECK(o.activation == 1 && o.pot_scale_int16 == 0);
    optfield mul[] = {{0, 1, 1}};
    if (options_of(21, mul, COUNT(mul), NULL, 0, 0, &o))
        CHECK(o.activation == 1);
    optfield red[] = {{0, 1, 1}};
    if (options_of(27, red, COUNT(red), NULL, 0, 0, &o))
        CHECK(o.keep_dims == 1);
    optfield ss[] = {{0, 4, 1}, {1, 4, 2}, {2, 4, 4}, {3, 4, 8}, {4, 4, 16}, {5, 1, 1}};
    if (options_of(32, ss, COUNT(ss), NULL, 0, 0, &o))
        CHECK(o.begin_mask == 1 && o.end_mask == 2 && o.ellipsis_mask == 4 &&
              o.new_axis_mask == 8 && o.shrink_axis_mask == 16 && o.offset == 1);
    optfield lr[] = {{0, 4, bits_of(0.2f)}};
    if (options_of(75, lr, COUNT(lr), NULL, 0, 0, &o))
        CHECK(o.alpha == f32_of_bits((uint32_t)bits_of(0.2f)));
    const int32_t shape[] = {1, -1, 3, 4, 5, 6, 7, 8};
    if (options_of(17, NULL, 0, shape, 8, 0, &o))
        CHECK(o.has_new_shape && o.n_new_shape == 8 && o.new_shape[1] == -1 &&
              o.new_shape[7] == 8);
    if (options_of(17, NULL, 0, NULL, 0, 0, &o))
        CHECK(o.has_new_shape == 0 && o.n_new_shape == 0);
    const int32_t sq[] = {0, 2};
    if (options_of(30, NULL, 0, sq, 2, 0, &o))
        CHECK(o.n_squeeze_dims == 2 && o.squeeze_dims[1] == 2);
    /* a table this importer does not decode (GatherOptions) is ignored */
    optfield gather[] = {{0, 4, 7}};
    if (options_of(23, gather, COUNT(gather), NULL, 0, 0, &o))
        CHECK(o.axis == 0 && o.stride_w == 1 && o.beta == 1.0f);
    /* no options at all */
    if (options_of(0, NULL, 0, NULL, 0, 0, &o))
        CHECK(o.stride_w == 1 && o.stride_h == 1 && o.dilation_w == 1 && o.filter_h == 1 &&
              o.depth_multiplier == 1 && o.beta == 1.0f && o.activation == 0 &&
              o.pot_scale_int16 == 0);
}

static void test_codes_and_edges(void)
{
    static fbb f;
    mspec spec = base_model();
    /* builtin = max(deprecated_builtin_code, builtin_code) */
    spec.ncodes = 4;
    spec.codes[0] = (codespec){1, 0, 0, 9, 0, 0, NULL};      /* old writer: byte only */
    spec.codes[1] = (codespec){1, 1, 1, 127, 150, 2, NULL};  /* GELU through the new field */
    spec.codes[2] = (codespec){1, 1, 1, 32, 32, 1, "MyOp"};  /* custom */
    spec.codes[3] = (codespec){0, 0, 0, 0, 0, 0, NULL};      /* empty table: ADD v1 */
    spec.nops = 4;
    spec.ops[1].opcode_index = 1;
    spec.ops[2] = spec.ops[1];
    spec.ops[2].opcode_index = 2;
    spec.ops[3] = spec.ops[1];
    spec.ops[3].opcode_index = 3;
    spec.nsub = 3; /* the other subgraphs are ignored */
    spec.t[0].name = "in\0put";
    spec.t[0].name_len = 6;
    spec.t[4].name = "last";
    spec.last_name_unterminated = 1;
    spec.buf[1].external = 1; /* weights after the FlatBuffer, through offset and size */
    spec.t[2].qdim = 3;       /* per-channel 1-D bias with quantized_dimension 3 */
    spec.t[1].nzp = 0;
    uint32_t len = build(&spec, &f);
    CHECK(f.b[len - 1] == 0x11, "the external data is last");
    tfl_model m;
    uint8_t *copy = NULL;
    detvm_error err;
    detvm_status st = parse(f.b, len, &m, &copy, &err);
    CHECK(st == DETVM_OK, "%s", err.message);
    if (st == DETVM_OK) {
        CHECK(m.operators[0].builtin == TFL_OP_FULLY_CONNECTED && m.operators[0].version == 1);
        CHECK(m.operators[1].builtin == 150 && m.operators[1].version == 2 &&
              strcmp(tfl_builtin_name(150), "GELU") == 0);
        CHECK(m.operators[2].builtin == TFL_OP_CUSTOM && m.operators[2].custom_code &&
              strcmp(m.operators[2].custom_code, "MyOp") == 0);
        CHECK(m.operators[3].builtin == TFL_OP_ADD && m.operators[3].version == 1);
        CHECK(strcmp(m.tensors[0].name, "in") == 0, "a name stops at its first NUL");
        CHECK(strcmp(m.tensors[4].name, "last") == 0, "a name without its NUL is copied");
        CHECK(m.tensors[1].data == copy + len - 8 && m.tensors[1].data_len == 8);
        CHECK(m.tensors[1].zero_point[0] == 0 && m.tensors[1].zero_point[1] == 0);
        CHECK(m.tensors[2].n_quant == 2 && m.tensors[2].quantized_dimension == 0,
              "a 1-D tensor is quantized along dimension 0");
        tfl_model_free(&m);
        free(copy);
    }
    /* the unterminated name is the last byte of the file: one byte less must fail */
    spec.buf[1].external = 0;
    len = build(&spec, &f);
    CHECK(f.b[len - 1] == 't');
    st = parse(f.b, len, NULL, NULL, &err);
    CHECK(st == DETVM_OK, "%s", err.message);
    st = parse(f.b, len - 1, NULL, NULL, &err);
    CHECK(clean_failure(st, &err) && strstr(err.message, "tensor 4: name"), "%s", err.message);

    CHECK(strcmp(tfl_builtin_name(0), "ADD") == 0 && strcmp(tfl_builtin_name(3), "CONV_2D") == 0);
    CHECK(strcmp(tfl_builtin_name(117), "HARD_SWISH") == 0 &&
          strcmp(tfl_builtin_name(114), "QUANTIZE") == 0);
    CHECK(strcmp(tfl_builtin_name(127), "PLACEHOLDER_FOR_GREATER_OP_CODES") == 0);
    CHECK(strcmp(tfl_builtin_name(209), "STABLEHLO_CASE") == 0);
    CHECK(strcmp(tfl_builtin_name(210), "UNKNOWN") == 0 &&
          strcmp(tfl_builtin_name(-1), "UNKNOWN") == 0 &&
          strcmp(tfl_builtin_name(INT32_MIN), "UNKNOWN") == 0);
}

/* ---- self-made models: what is refused ------------------------------------------------- */

static void test_refusals(void)
{
    mspec s;

    s = base_model(); s.ident = "TFL2";
    expect_fail(&s, "file identifier \"TFL2\" is not \"TFL3\"", "wrong identifier");
    s = base_model(); s.ident = "\n\x01zz";
    expect_fail(&s, "file identifier \"??zz\"", "identifier with control bytes");
    s = base_model(); s.version = 2;
    expect_fail(&s, "tflite: schema version 2 is not supported (3 is)", "version 2");
    s = base_model(); s.no_version = 1;
    expect_fail(&s, "schema version 0 is not supported", "version absent");
    s = base_model(); s.t[3].buffer = 9;
    expect_fail(&s, "tflite: subgraph 0: tensor 3: buffer 9 out of range (the model has 4)",
                "buffer index");
    s = base_model(); s.t[1].ndim = 9;
    expect_fail(&s, "tensor 1: shape has 9 dimensions (at most 8", "9 dimensions");
    s = base_model(); s.t[0].dim[1] = -4;
    expect_fail(&s, "tensor 0: shape[1] is -4", "negative dimension");
    s = base_model(); s.t[1].dim[1] = 5;
    s.t[1].nq = 1; s.t[1].nzp = 1;
    expect_fail(&s, "tensor 1: buffer 1 holds 8 bytes, but 10 elements", "data size");
    s = base_model(); s.t[2].type = TFL_INT64;
    expect_fail(&s, "tensor 2: buffer 2 holds 8 bytes, but 2 elements", "data size by type");
    s = base_model(); s.t[1].ndim = 8;
    for (int d = 0; d < 8; d++)
        s.t[1].dim[d] = INT32_MAX;
    s.t[1].nq = 1; s.t[1].nzp = 1;
    expect_fail(&s, "tensor 1: shape: the element count overflows", "element count overflow");
    s = base_model(); s.t[1].ndim = 3; s.t[1].dim[2] = 65536; s.t[1].dim[0] = 65536;
    s.t[1].dim[1] = 65536; s.t[1].nq = 1; s.t[1].nzp = 1;
    expect_fail(&s, "holds 8 bytes, but 281474976710656 elements", "2^48 elements");

    s = base_model(); s.t[1].nzp = 1;
    expect_fail(&s, "tensor 1: quantization: zero_point has 1 values but scale has 2",
                "zero point count");
    s = base_model(); s.t[3].nq = 0;
    expect_fail(&s, "tensor 3: quantization: zero_point has 1 values but scale has 0",
                "zero points without scales");
    s = base_model(); s.t[1].qdim = 2;
    expect_fail(&s, "tensor 1: quantization: quantized_dimension 2 out of range for a 2-D",
                "quantized_dimension");
    s = base_model(); s.t[1].qdim = -1;
    expect_fail(&s, "quantized_dimension -1 out of range", "negative quantized_dimension");
    s = base_model(); s.t[1].qdim = 1;
    expect_fail(&s, "tensor 1: quantization: 2 scales for dimension 1 of size 4",
                "per-channel count");
    s = base_model(); s.t[2].dim[0] = 3; s.t[2].qdim = 3; s.t[2].type = TFL_INT8;
    s.buf[2].len = 3;
    expect_fail(&s, "tensor 2: quantization: quantized_dimension 3 out of range for a 1-D",
                "1-D per-channel count");
    s = base_model(); s.t[0].details_type = 1;
    expect_fail(&s, "tensor 0: quantization: details (union type 1) are not supported",
                "quantization details");
    s = base_model(); s.t[1].sparsity = 1;
    expect_fail(&s, "tensor 1: sparsity: sparse tensors are not supported", "sparsity");
    s = base_model(); s.t[0].external_buffer = 2;
    expect_fail(&s, "tensor 0: external_buffer 2", "external buffer");

    int32_t bad_inputs[] = {-2, 5, INT32_MIN, INT32_MAX};
    for (uint32_t k = 0; k < COUNT(bad_inputs); k++) {
        char want[120];
        s = base_model();
        s.ops[0].in[1] = bad_inputs[k];
        snprintf(want, sizeof want,
                 "tflite: subgraph 0: operator 0 (FULLY_CONNECTED): inputs[1]: tensor %d out of "
                 "range (the subgraph has 5)", bad_inputs[k]);
        expect_fail(&s, want, "operator input");
    }
    s = base_model(); s.ops[0].in[2] = -1;
    {
        static fbb f;
        detvm_error err;
        tfl_model m;
        uint8_t *copy;
        uint32_t len = build(&s, &f);
        detvm_status st = parse(f.b, len, &m, &copy, &err);
        CHECK(st == DETVM_OK && m.operators[0].inputs[2] == -1, "omitted input: %s",
              err.message);
        if (st == DETVM_OK) {
            tfl_model_free(&m);
            free(copy);
        }
    }
    s = base_model(); s.ops[1].out[0] = -1;
    expect_fail(&s, "operator 1 (RESHAPE): outputs[0]: tensor -1 out of range", "output -1");
    s = base_model(); s.ops[1].opcode_index = 2;
    expect_fail(&s, "operator 1: opcode_index 2 out of range (the model has 2 operator codes)",
                "opcode index");
    s = base_model(); s.in[0] = 5;
    expect_fail(&s, "tflite: subgraph 0: inputs[0]: tensor 5 out of range", "subgraph input");
    s = base_model(); s.out[0] = -1;
    expect_fail(&s, "tflite: subgraph 0: outputs[0]: tensor -1 out of range", "subgraph output");

    const int32_t nine[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    s = base_model(); s.ops[1].opt_vec = 1; s.ops[1].nvec = 9;
    memcpy(s.ops[1].vec, nine, sizeof nine);
    expect_fail(&s, "operator 1 (RESHAPE): ReshapeOptions.new_shape has 9 values (at most 8",
                "new_shape too long");
    s = base_model(); s.ops[1].opt_type = 30; s.ops[1].nvec = 9;
    memcpy(s.ops[1].vec, nine, sizeof nine);
    expect_fail(&s, "SqueezeOptions.squeeze_dims has 9 values", "squeeze_dims too long");

    s = base_model(); s.buf[1].offset = 100000; s.buf[1].size = 8;
    expect_fail(&s, "tensor 1: buffer 1: offset 100000 and size 8 reach past the end",
                "external offset");
    s = base_model(); s.buf[1].offset = UINT64_MAX - 3; s.buf[1].size = 8;
    expect_fail(&s, "reach past the end of the file", "external offset overflow");
    s = base_model(); s.buf[1].offset = 8; s.buf[1].size = UINT64_MAX;
    expect_fail(&s, "reach past the end of the file", "external size overflow");
}

/* Corruptions of a built file at the positions the writer marked. */
static void test_corruptions(void)
{
    static fbb f;
    static uint8_t b[sizeof f.b];
    mspec spec = base_model();
    uint32_t len = build(&spec, &f);
#define RESET() memcpy(b, f.b, len)
#define SET32(at, v) (b[(at)] = (uint8_t)(v), b[(at) + 1] = (uint8_t)((v) >> 8),              \
                      b[(at) + 2] = (uint8_t)((v) >> 16), b[(at) + 3] = (uint8_t)((v) >> 24))
#define SET16(at, v) (b[(at)] = (uint8_t)(v), b[(at) + 1] = (uint8_t)((v) >> 8))

    RESET(); SET32(0, len);
    expect_fail_bytes(b, len, "root table: offset points past the end", "root offset = len");
    RESET(); SET32(0, 0xFFFFFFFFu);
    expect_fail_bytes(b, len, "root table: offset points past the end", "root offset huge");
    RESET(); SET32(0, len - 2);
    expect_fail_bytes(b, len, "root table: table lies past the end", "root at the last bytes");
    RESET(); SET32(mark.root, 0x7FFFFFFF);
    expect_fail_bytes(b, len, "root table: vtable lies outside", "vtable before the start");
    RESET(); SET32(mark.root, 0x80000000u);
    expect_fail_bytes(b, len, "root table: vtable lies outside", "vtable past the end");
    RESET(); SET32(mark.root, (uint32_t)-(int32_t)(len - mark.root - 2));
    expect_fail_bytes(b, len, "root table: vtable lies outside", "vtable in the last 2 bytes");
    RESET(); SET16(mark.root_vt, 0xFFFF);
    expect_fail_bytes(b, len, "root table: vtable runs past the end", "vtable larger than file");
    RESET(); SET16(mark.root_vt, 2);
    expect_fail_bytes(b, len, "root table: vtable is shorter", "vtable of 2 bytes");
    RESET(); SET16(mark.root_vt + 2, 0xFFFF);
    expect_fail_bytes(b, len, "root table: table runs past the end", "table larger than file");
    RESET(); SET16(mark.root_vt + 2, 2);
    expect_fail_bytes(b, len, "root table: table is shorter", "table of 2 bytes");
    RESET(); SET16(mark.root_vt + 4, 0xFFF0);
    expect_fail_bytes(b, len, "version: field lies outside its table", "field past the table");
    RESET(); SET16(mark.root_vt + 6, 0xFFF0);
    expect_fail_bytes(b, len, "operator_codes: field lies outside its table", "ref past table");
    RESET(); SET32(mark.tensors_vec, 0xFFFFFFFFu);
    expect_fail_bytes(b, len, "subgraph 0: tensors: vector runs past the end", "vector huge");
    RESET(); SET32(mark.tensors_vec, 0x40000000u); /* 4 * n wraps to 0 in 32 bits */
    expect_fail_bytes(b, len, "subgraph 0: tensors: vector runs past the end", "vector 2^30");
    RESET(); SET32(mark.subgraphs_vec, 0);
    expect_fail_bytes(b, len, "tflite: the model has no subgraph", "no subgraph");
    RESET(); SET32(mark.buffers_vec, 0x3FFFFFFFu);
    expect_fail_bytes(b, len, "tflite: buffers: vector runs past the end", "buffers huge");
    RESET(); SET32(mark.name0, 0xFFFFFFFCu);
    expect_fail_bytes(b, len, "tensor 0: name: vector runs past the end", "string huge");
    RESET(); SET32(mark.op0_inputs_vec + 4, 0xFFFFFFFEu);
    expect_fail_bytes(b, len, "inputs[0]: tensor -2 out of range", "input -2 in place");
    RESET(); SET32(mark.op0_outputs_vec + 4, 0x7FFFFFFF);
    expect_fail_bytes(b, len, "outputs[0]: tensor 2147483647 out of range", "output huge");
    RESET(); SET32(mark.tensors_vec + 4, 0x7FFFFFF0);
    expect_fail_bytes(b, len, "tflite: subgraph 0: tensor 0: offset points past the end",
                      "element offset");
    RESET(); SET32(mark.tensor0, (uint32_t)-(int32_t)(len - mark.tensor0 - 1));
    expect_fail_bytes(b, len, "subgraph 0: tensor 0: vtable", "tensor vtable at the end");
    expect_fail_bytes(f.b, 7, "the file is 7 bytes long", "7 bytes");
    expect_fail_bytes(f.b, 0, "the file is 0 bytes long", "empty file");
    {
        detvm_error err;
        tfl_model m;
        memset(&m, 0x5A, sizeof m);
        detvm_status st = tfl_model_parse(NULL, 0, &m, &err);
        CHECK(clean_failure(st, &err) && m.storage == NULL && m.tensors == NULL,
              "NULL bytes: %s", err.message);
        tfl_model_free(&m);
    }
#undef RESET
#undef SET32
#undef SET16
}

/* Many tensors sharing one table with a long scale vector: copying it for each would take
 * memory quadratic in the file size; the store's limit refuses it. */
static void test_shared_tables(void)
{
    static fbb f;
    mspec spec = base_model();
    spec.ntensors = 1;
    spec.nops = 0;
    spec.nin = spec.nout = 0;
    spec.share_tensor0 = 12000;
    /* 8 channels along dimension 1 of a 2-D activation */
    spec.t[0] = (tspec){2, {1 << 20, 8}, TFL_INT8, 0, NULL, 0, 1, 8, 8, {0}, {0}, 1, 0, 0, 0};
    for (int i = 0; i < 8; i++)
        spec.t[0].scale[i] = 1.0f;
    spec.t[0].name = "a long name shared by every tensor: "
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    uint32_t len = build(&spec, &f);
    detvm_error err;
    detvm_status st = parse(f.b, len, NULL, NULL, &err);
    /* the file is ~49 KB, so the limit is 16 * 49 KB + 1 MiB; the copies would need some
     * 12000 * (name 220 + scales 32 + zero points 64 + tfl_tensor) bytes, over 5 MB */
    CHECK(clean_failure(st, &err) && strstr(err.message, "16 times the file size"),
          "shared tables: status %d, %s", st, err.message);
    spec.share_tensor0 = 100; /* the same sharing, a little of it: fine */
    len = build(&spec, &f);
    st = parse(f.b, len, NULL, NULL, &err);
    CHECK(st == DETVM_OK, "a little sharing: %s", err.message);
}

/* ---- truncation and byte flips ------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static struct {
    int cases, bad, parsed;
    char first[400];
} tally;

static void tally_reset(void)
{
    memset(&tally, 0, sizeof tally);
}

/* A case: parse, and require a clean failure (or, when ok_allowed, success). */
static void tally_case(const uint8_t *b, size_t len, int ok_allowed, const char *what,
                       size_t where)
{
    detvm_error err;
    detvm_status st = parse(b, len, NULL, NULL, &err);
    tally.cases++;
    if (st == DETVM_OK)
        tally.parsed++;
    if ((st == DETVM_OK && ok_allowed) || clean_failure(st, &err))
        return;
    if (!tally.bad++)
        snprintf(tally.first, sizeof tally.first, "%s at %zu: status %d \"%s\"", what, where,
                 st, err.message);
}

static void hostile_suite(const uint8_t *file, size_t len, const char *name)
{
    uint8_t *b = malloc(len);
    /* every truncation: every field a prefix loses is referenced, so all must fail */
    tally_reset();
    for (size_t n = 0; n < len; n++)
        tally_case(file, n, 0, "truncation", n);
    CHECK(tally.bad == 0 && tally.cases == (int)len, "%s: %d of %d truncations: %s", name,
          tally.bad, tally.cases, tally.first);

    /* every byte set to 0x00, 0xFF, its top bit flipped, +1: clean failure or a model */
    tally_reset();
    for (size_t i = 0; i < len; i++) {
        const uint8_t values[4] = {0x00, 0xFF, (uint8_t)(file[i] ^ 0x80),
                                   (uint8_t)(file[i] + 1)};
        for (int k = 0; k < 4; k++) {
            memcpy(b, file, len);
            b[i] = values[k];
            tally_case(b, len, 1, "byte", i);
        }
    }
    CHECK(tally.bad == 0, "%s: %d of %d byte mutations: %s", name, tally.bad, tally.cases,
          tally.first);
    CHECK(tally.parsed < tally.cases, "%s: some mutations must be refused", name);

    /* random flips: 1 to 8 random bits, a few thousand times (fixed seed) */
    tally_reset();
    for (int r = 0; r < 3000; r++) {
        memcpy(b, file, len);
        int flips = 1 + (int)(rng() % 8);
        size_t at = 0;
        for (int k = 0; k < flips; k++) {
            at = (size_t)(rng() % len);
            b[at] ^= (uint8_t)(1u << (rng() % 8));
        }
        tally_case(b, len, 1, "random flips, last", at);
    }
    CHECK(tally.bad == 0, "%s: %d of %d random flips: %s", name, tally.bad, tally.cases,
          tally.first);
    free(b);
}

static void test_hostile_self_made(void)
{
    static fbb f;
    mspec spec = base_model();
    spec.last_name_unterminated = 1; /* so that the last byte matters too */
    uint32_t len = build(&spec, &f);
    CHECK(f.b[len - 1] == 'd', "the base model ends with a referenced byte");
    hostile_suite(f.b, len, "self-made");
}

/* ---- the shared models ------------------------------------------------------------------- */

static int tensor_matches(const tfl_model *m, int32_t index, json_t *want, const char *model)
{
    int ok = 1;
    json_t *idx = json_object_get(want, "tensor_index");
    CHECK(json_integer_value(idx) == index, "%s: tensor index %d, meta says %lld", model, index,
          (long long)json_integer_value(idx));
    if (index < 0 || (uint32_t)index >= m->n_tensors)
        return 0;
    const tfl_tensor *t = &m->tensors[index];
    const char *name = json_string_value(json_object_get(want, "name"));
    CHECK(name && strcmp(name, t->name) == 0, "%s: tensor %d name \"%s\"", model, index,
          t->name);
    const char *dtype = json_string_value(json_object_get(want, "dtype"));
    CHECK(dtype && strcmp(dtype, "INT8") == 0 && t->type == TFL_INT8, "%s: tensor %d type %d",
          model, index, t->type);
    json_t *shape = json_object_get(want, "shape");
    CHECK(json_array_size(shape) == t->ndim, "%s: tensor %d has %u dims", model, index,
          t->ndim);
    for (size_t d = 0; d < json_array_size(shape) && d < t->ndim; d++)
        if (json_integer_value(json_array_get(shape, d)) != t->dim[d])
            ok = 0;
    CHECK(ok, "%s: tensor %d shape differs", model, index);
    double scale = json_number_value(json_object_get(want, "scale"));
    long long zp = json_integer_value(json_object_get(want, "zero_point"));
    CHECK(t->n_quant == 1, "%s: tensor %d n_quant %u", model, index, t->n_quant);
    if (t->n_quant == 1) {
        CHECK(fabs(t->scale[0] - scale) <= 1e-6 * fabs(scale), "%s: tensor %d scale %.9g vs %.9g",
              model, index, t->scale[0], scale);
        CHECK(t->zero_point[0] == zp, "%s: tensor %d zero point %lld vs %lld", model, index,
              (long long)t->zero_point[0], zp);
    }
    return ok;
}

static int models_seen;
static uint8_t *person_file, *patched_file;
static size_t person_len, patched_len;

static void check_model(const char *dir, json_t *meta, void *user)
{
    char path[1400];
    size_t len;
    snprintf(path, sizeof path, "%s/model.tflite", dir);
    const char *model = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    uint8_t *file = read_file(path, &len);
    CHECK(file != NULL, "%s: cannot read", path);
    if (!file)
        return;
    models_seen++;
    tfl_model m;
    uint8_t *copy = NULL;
    detvm_error err;
    detvm_status st = parse(file, len, &m, &copy, &err);
    CHECK(st == DETVM_OK, "%s: %s", model, err.message);
    if (st == DETVM_OK) {
        CHECK((long long)m.n_operators == meta_int(meta, "operators"),
              "%s: %u operators, meta says %lld", model, m.n_operators,
              meta_int(meta, "operators"));
        json_t *ins = json_object_get(meta, "inputs_tensors");
        json_t *outs = json_object_get(meta, "outputs_tensors");
        CHECK(json_array_size(ins) == m.n_inputs && json_array_size(outs) == m.n_outputs,
              "%s: %u inputs, %u outputs", model, m.n_inputs, m.n_outputs);
        for (uint32_t i = 0; i < m.n_inputs && i < json_array_size(ins); i++)
            tensor_matches(&m, m.inputs[i], json_array_get(ins, i), model);
        for (uint32_t i = 0; i < m.n_outputs && i < json_array_size(outs); i++)
            tensor_matches(&m, m.outputs[i], json_array_get(outs, i), model);
        tfl_model_free(&m);
        free(copy);
    }
    if (strcmp(model, "hello_world_int8") == 0)
        hostile_suite(file, len, "hello_world");
    if (strcmp(model, "person_detect") == 0) {
        person_file = file;
        person_len = len;
    } else if (strcmp(model, "person_detect_biasqdim0_patched") == 0) {
        patched_file = file;
        patched_len = len;
    } else {
        free(file);
    }
}

/* person_detect has quantized_dimension 3 on its per-channel 1-D biases, the patched copy
 * 0: both must read as the same model. */
static void compare_person_detect(void)
{
    tfl_model a, b;
    uint8_t *ca = NULL, *cb = NULL;
    detvm_error err;
    if (parse(person_file, person_len, &a, &ca, &err) != DETVM_OK)
        return;
    if (parse(patched_file, patched_len, &b, &cb, &err) != DETVM_OK) {
        tfl_model_free(&a);
        free(ca);
        return;
    }
    int same = a.n_tensors == b.n_tensors, per_channel_biases = 0;
    for (uint32_t i = 0; same && i < a.n_tensors; i++) {
        const tfl_tensor *x = &a.tensors[i], *y = &b.tensors[i];
        same = x->type == y->type && x->ndim == y->ndim &&
               !memcmp(x->dim, y->dim, sizeof x->dim) && x->n_quant == y->n_quant &&
               x->quantized_dimension == y->quantized_dimension && x->data_len == y->data_len &&
               (!x->data_len || !memcmp(x->data, y->data, x->data_len)) &&
               (!x->n_quant || (!memcmp(x->scale, y->scale, x->n_quant * sizeof(float)) &&
                                !memcmp(x->zero_point, y->zero_point,
                                        x->n_quant * sizeof(int64_t))));
        per_channel_biases += x->ndim == 1 && x->n_quant > 1;
    }
    CHECK(same, "person_detect and its patched copy read differently");
    /* 14 depthwise biases (quantized_dimension 3 in person_detect) and 14 conv biases */
    CHECK(per_channel_biases == 28, "%d per-channel 1-D tensors", per_channel_biases);
    tfl_model_free(&a);
    tfl_model_free(&b);
    free(ca);
    free(cb);
}

static void test_shared_models(void)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("tflite reader: ../shared (or $DETVM_SHARED) is absent; real models not checked");
        return;
    }
    char base[1100];
    snprintf(base, sizeof base, "%s/models/tflite", shared);
    cases_each(base, check_model, NULL);
    if (getenv("DETVM_CASE")) {
        CHECK(models_seen > 0);
    } else {
        CHECK(models_seen == 6, "%d models in %s", models_seen, base);
    }
    if (person_file && patched_file)
        compare_person_detect();
    free(person_file);
    free(patched_file);
}

int main(void)
{
    test_base_model();
    test_options();
    test_codes_and_edges();
    test_refusals();
    test_corruptions();
    test_shared_tables();
    test_hostile_self_made();
    test_shared_models();
    return check_summary("test_tflite_reader");
}
