/* Broken and hostile input: the CVM readers, the module validator and detvm_run must turn every
 * bad byte into a clean failure, a status of 1 (invalid model or input) or 2 (runtime error)
 * with a one-line message, and must never crash, hang or read outside their buffers.
 *
 * Every buffer handed to the library is an exact-size heap copy, so under
 * `make test SANITIZE=1` AddressSanitizer reports any read past its end; output buffers are
 * exact-size too, so it reports any write past theirs. Modules that load after a mutation are
 * described, run and stepped through, which drives the kernels with whatever the validator let
 * through.
 *
 * Uses only fixtures/cvm/chain_23 and inputs made here. Each scenario is one CHECK that counts
 * its cases and quotes the first bad one. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "module_format.h"

#define FIXTURE "fixtures/cvm/chain_23/"
#define ANY (-1)                 /* any status will do, as long as the failure is clean */
#define RUN_LIMIT (64u << 20)    /* bytes of input or output a run may take here */
#define ARENA_LIMIT (256u << 20) /* and of arena (bigger ones: test_huge_arena) */

/* A hostile module may declare a 1 TiB arena: creating a session then fails with status 2
 * when the allocation fails. AddressSanitizer aborts on such an allocation unless it is told
 * to return NULL as malloc does; out-of-bounds detection is unaffected. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

static struct {
    char *json;
    uint8_t *params, *input, *expected, *module;
    size_t json_len, params_len, input_len, expected_len, module_len;
} fx;

static volatile uint64_t sink; /* keeps reads of results from being optimised away */

/* ---- tallies: one CHECK per scenario ------------------------------------------------- */

static struct {
    int cases, failures, loaded;
    char first[512];
} tally;

static char what[256];
#define WHAT(...) (snprintf(what, sizeof what, __VA_ARGS__), what)

static void tally_start(void)
{
    memset(&tally, 0, sizeof tally);
}

static void tally_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tally_fail(const char *fmt, ...)
{
    if (tally.failures++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(tally.first, sizeof tally.first, fmt, ap);
        va_end(ap);
    }
}

/* DETVM_STATS=1 prints how many cases of each scenario compiled or loaded (and so ran). */
#define TALLY_CHECK(name)                                                                  \
    do {                                                                                   \
        CHECK(tally.failures == 0 && tally.cases > 0, "%s: %d of %d cases bad; first: %s", \
              name, tally.failures, tally.cases, tally.first);                             \
        if (getenv("DETVM_STATS"))                                                         \
            printf("%-50s %6d cases, %6d ran\n", name, tally.cases, tally.loaded);        \
    } while (0)

/* ---- small helpers -------------------------------------------------------------------- */

static void *copy_of(const void *p, size_t n)
{
    void *c = malloc(n ? n : 1);
    if (!c) {
        fprintf(stderr, "test_broken_files: out of memory\n");
        exit(2);
    }
    if (n)
        memcpy(c, p, n);
    return c;
}

/* Random rounds per scenario; DETVM_FUZZ_ROUNDS=N runs N instead (a longer hunt). */
static long fuzz_rounds(long normal)
{
    const char *env = getenv("DETVM_FUZZ_ROUNDS");
    return env && atol(env) > 0 ? atol(env) : normal;
}

static uint32_t rng_state = 0x2545F491u;
static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

/* A clean failure: status 1 or 2, recorded in err, with a non-empty one-line message (no
 * control characters at all). */
static int is_clean(detvm_status st, const detvm_error *err)
{
    if ((st != DETVM_EINVALID && st != DETVM_ERUNTIME) || err->status != st ||
        !memchr(err->message, 0, sizeof err->message) || err->message[0] == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)err->message; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

static detvm_status compile(const char *json, size_t json_len, const uint8_t *params,
                            size_t params_len, uint8_t **module, size_t *module_len,
                            detvm_error *err)
{
    char *j = copy_of(json, json_len);
    uint8_t *p = copy_of(params, params_len);
    memset(err, 0, sizeof *err);
    *module = (uint8_t *)1; /* must be reset on failure */
    detvm_status st = detvm_compile_cvm(j, json_len, p, params_len, module, module_len, err);
    free(j);
    free(p);
    return st;
}

/* Everything a user can do with a loaded module: describe it, open a session, run it twice on
 * the fixture input (zeros when it takes another length) and step to its middle instruction.
 * Returns NULL when every call behaved, else what did not. */
static const char *use_module(const detvm_module *m)
{
    detvm_error err;
    detvm_module_info info;
    if (detvm_module_get_info(m, &info) != DETVM_OK)
        return "get_info failed";
    if (info.n_instructions == 0 || info.n_outputs == 0)
        return "a loaded module has no instructions or no outputs";
    sink += strlen(info.version) + strlen(info.postprocess_name);
    for (uint32_t k = 0; k <= info.n_instructions; k++) {
        detvm_layer_desc l;
        memset(&err, 0, sizeof err);
        detvm_status st = detvm_module_layer(m, k, &l, &err);
        if (k == info.n_instructions) {
            if (st == DETVM_OK || !is_clean(st, &err))
                return "module_layer past the end: no clean failure";
            break;
        }
        if (st)
            return "module_layer failed";
        sink += strlen(l.op) + strlen(l.name) + l.gas + l.param_bytes;
        for (uint32_t j = 0; j < l.n_inputs + l.n_outputs; j++)
            sink += l.tensors[j];
        for (uint32_t j = 0; j < l.n_attrs; j++)
            sink += (uint32_t)l.attrs[j];
    }
    for (uint32_t id = 0;; id++) {
        detvm_tensor_desc t;
        memset(&err, 0, sizeof err);
        detvm_status st = detvm_module_tensor(m, id, &t, &err);
        if (st) {
            if (!is_clean(st, &err))
                return "module_tensor past the end: no clean failure";
            break;
        }
        sink += strlen(t.name) + t.offset;
    }
    for (uint32_t i = 0;; i++) {
        const char *w = detvm_module_warning(m, i);
        if (!w)
            break;
        sink += strlen(w);
    }
    sink += detvm_module_input(m);
    for (uint32_t k = 0; k < info.n_outputs; k++)
        sink += detvm_module_output(m, k);
    if (detvm_module_output(m, info.n_outputs) != UINT32_MAX)
        return "module_output past the end is not UINT32_MAX";

    if (info.arena_bytes > ARENA_LIMIT)
        return NULL; /* test_huge_arena covers those sessions */
    detvm_session *s = NULL;
    memset(&err, 0, sizeof err);
    detvm_status st = detvm_session_new(m, &s, &err);
    if (st)
        return st == DETVM_ERUNTIME && is_clean(st, &err) && !s ? NULL
                                                                : "session_new: no clean failure";
    const char *why = NULL;
    if (info.input_len <= RUN_LIMIT && info.output_len <= RUN_LIMIT) {
        uint8_t *in = info.input_len == fx.input_len
                          ? copy_of(fx.input, fx.input_len)
                          : calloc(info.input_len ? (size_t)info.input_len : 1, 1);
        uint8_t *out = malloc(info.output_len ? (size_t)info.output_len : 1);
        for (int round = 0; round < 2 && !why; round++) {
            memset(&err, 0, sizeof err);
            st = detvm_run(s, in, (size_t)info.input_len, out, (size_t)info.output_len, &err);
            if (st && !is_clean(st, &err))
                why = "run: no clean failure";
            for (uint64_t i = 0; st == DETVM_OK && i < info.output_len; i++)
                sink += out[i];
        }
        detvm_step step;
        memset(&err, 0, sizeof err);
        st = detvm_run_until(s, in, (size_t)info.input_len, info.n_instructions / 2, &step, &err);
        if (st && !is_clean(st, &err) && !why)
            why = "run_until: no clean failure";
        for (uint32_t o = 0; st == DETVM_OK && o < step.n_outputs && o < 2; o++)
            for (uint64_t i = 0; i < step.outputs[o].count; i++)
                sink += (uint32_t)step.outputs[o].data[i];
        free(in);
        free(out);
    }
    detvm_session_free(s);
    return why;
}

/* Loads an exact-size copy of the bytes; a failure must be status 1 with a message, a
 * success must survive use_module. Returns the load status. */
static detvm_status try_module(const uint8_t *bytes, size_t len, const char *desc)
{
    uint8_t *copy = copy_of(bytes, len);
    detvm_module *m = (detvm_module *)1;
    detvm_error err;
    memset(&err, 0, sizeof err);
    tally.cases++;
    detvm_status st = detvm_module_load(copy, len, &m, &err);
    if (st) {
        if (st != DETVM_EINVALID || !is_clean(st, &err) || m)
            tally_fail("%s: load status %d, message '%s'", desc, st, err.message);
    } else {
        tally.loaded++;
        const char *why = use_module(m);
        if (why)
            tally_fail("%s: %s", desc, why);
        detvm_module_free(m);
    }
    free(copy);
    return st;
}

static void expect_rejected(const uint8_t *bytes, size_t len, const char *desc)
{
    if (try_module(bytes, len, desc) == DETVM_OK)
        tally_fail("%s: loaded", desc);
}

/* A module the compiler wrote must load and run. */
static const char *check_compiled(const uint8_t *module, size_t len)
{
    uint8_t *copy = copy_of(module, len);
    detvm_module *m = NULL;
    detvm_error err;
    memset(&err, 0, sizeof err);
    const char *why = NULL;
    if (detvm_module_load(copy, len, &m, &err) != DETVM_OK) {
        static char message[320];
        snprintf(message, sizeof message, "compiled module does not load: %s", err.message);
        why = message;
    } else {
        why = use_module(m);
        detvm_module_free(m);
    }
    free(copy);
    return why;
}

/* ---- the fixture module's layout ------------------------------------------------------ */

typedef struct {
    uint32_t kind, off, len;
} section_ref;

static section_ref sections[DVM_SEC_LIMIT];
static uint32_t n_sections;
static uint32_t n_tensors, n_instrs, attr_count;
static uint32_t instr_at[64]; /* byte offset of each instruction in CODE */
static uint64_t arena_bytes, scratch_bytes;

static const section_ref *section(uint32_t kind)
{
    for (uint32_t i = 0; i < n_sections; i++)
        if (sections[i].kind == kind)
            return &sections[i];
    fprintf(stderr, "test_broken_files: the fixture module has no section %u\n", kind);
    exit(2);
}

static const uint8_t *section_bytes(uint32_t kind)
{
    return fx.module + section(kind)->off;
}

static const uint8_t *tensor_entry(uint32_t i)
{
    return section_bytes(DVM_SEC_TENSORS) + 4 + DVM_TENSOR_BYTES * i;
}

static uint64_t tensor_bytes(uint32_t i)
{
    const uint8_t *e = tensor_entry(i);
    uint64_t n = 1;
    for (uint32_t d = 0; d < e[1]; d++)
        n *= dvm_u32(e + 8 + 4 * d);
    return n * dvm_storage_bytes(e[3]);
}

static void read_layout(void)
{
    n_sections = dvm_u32(fx.module + 8);
    for (uint32_t i = 0; i < n_sections && i < DVM_SEC_LIMIT; i++) {
        const uint8_t *e = fx.module + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        sections[i] = (section_ref){dvm_u32(e), dvm_u32(e + 4), dvm_u32(e + 8)};
    }
    n_tensors = dvm_u32(section_bytes(DVM_SEC_TENSORS));
    const uint8_t *code = section_bytes(DVM_SEC_CODE);
    n_instrs = dvm_u32(code);
    uint32_t pos = 4;
    for (uint32_t k = 0; k < n_instrs && k < 64; k++) {
        instr_at[k] = pos;
        pos += DVM_INSTR_FIXED_BYTES + 4u * (code[pos + 2] + code[pos + 3]);
    }
    attr_count = section(DVM_SEC_ATTRS)->len / 4;
    const uint8_t *meta = section_bytes(DVM_SEC_META);
    for (uint32_t p = 0; p + 8 <= section(DVM_SEC_META)->len; p += 8 + dvm_u32(meta + p + 4)) {
        if (dvm_u16(meta + p) == DVM_META_ARENA) {
            arena_bytes = dvm_u64(meta + p + 8);
            scratch_bytes = dvm_u64(meta + p + 16);
        }
    }
}

/* Recomputes the checksum of section `kind` in a module laid out as the fixture's. */
static void fix_crc(uint8_t *b, uint32_t kind)
{
    const section_ref *s = section(kind);
    for (uint32_t i = 0; i < n_sections; i++) {
        uint8_t *e = b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        if (sections[i].kind == kind)
            dvm_put_u32(e + 12, dvm_crc32(b + s->off, s->len));
    }
}

/* The fixture module with n bytes at `at` in section `kind` replaced, its checksum fixed. */
static detvm_status try_patch(uint32_t kind, uint32_t at, const void *v, size_t n,
                              int must_reject, const char *desc)
{
    uint8_t *b = copy_of(fx.module, fx.module_len);
    memcpy(b + section(kind)->off + at, v, n);
    fix_crc(b, kind);
    detvm_status st = try_module(b, fx.module_len, desc);
    if (must_reject && st == DETVM_OK)
        tally_fail("%s: loaded", desc);
    free(b);
    return st;
}

static detvm_status patch_u8(uint32_t kind, uint32_t at, uint8_t v, int must_reject,
                             const char *desc)
{
    return try_patch(kind, at, &v, 1, must_reject, desc);
}

static detvm_status patch_u16(uint32_t kind, uint32_t at, uint16_t v, int must_reject,
                              const char *desc)
{
    uint8_t raw[2];
    dvm_put_u16(raw, v);
    return try_patch(kind, at, raw, 2, must_reject, desc);
}

static detvm_status patch_u32(uint32_t kind, uint32_t at, uint32_t v, int must_reject,
                              const char *desc)
{
    uint8_t raw[4];
    dvm_put_u32(raw, v);
    return try_patch(kind, at, raw, 4, must_reject, desc);
}

static detvm_status patch_u64(uint32_t kind, uint32_t at, uint64_t v, int must_reject,
                              const char *desc)
{
    uint8_t raw[8];
    dvm_put_u64(raw, v);
    return try_patch(kind, at, raw, 8, must_reject, desc);
}

/* ---- assembling modules from sections ------------------------------------------------- */

typedef struct {
    uint32_t kind;
    const uint8_t *p;
    uint32_t len;
} part;

static part fixture_parts[DVM_SEC_LIMIT];

static size_t align64(size_t v)
{
    return (v + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN;
}

/* Lays the parts out as the emitter does (header, table, each part 64-byte aligned after
 * `gap` extra zero bytes) with checksums and the file length filled in. */
static uint8_t *assemble_gap(const part *parts, uint32_t n, size_t gap, size_t *len)
{
    size_t total = DVM_HEADER_BYTES + (size_t)n * DVM_SECTION_ENTRY_BYTES;
    for (uint32_t i = 0; i < n; i++)
        total = align64(total + gap) + parts[i].len;
    uint8_t *b = calloc(total, 1);
    memcpy(b, DVM_MAGIC, 4);
    dvm_put_u16(b + 4, DVM_FORMAT_VERSION);
    dvm_put_u32(b + 8, n);
    dvm_put_u64(b + 16, total);
    size_t pos = DVM_HEADER_BYTES + (size_t)n * DVM_SECTION_ENTRY_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        pos = align64(pos + gap);
        uint8_t *e = b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        dvm_put_u32(e, parts[i].kind);
        dvm_put_u32(e + 4, (uint32_t)pos);
        dvm_put_u32(e + 8, parts[i].len);
        dvm_put_u32(e + 12, dvm_crc32(parts[i].p, parts[i].len));
        if (parts[i].len)
            memcpy(b + pos, parts[i].p, parts[i].len);
        pos += parts[i].len;
    }
    *len = total;
    return b;
}

static uint8_t *assemble(const part *parts, uint32_t n, size_t *len)
{
    return assemble_gap(parts, n, 0, len);
}

/* The fixture's sections with section `kind` replaced by (p, len), or left out when p is
 * NULL; tried as a module. */
static detvm_status try_section(uint32_t kind, const uint8_t *p, uint32_t len, int must_reject,
                                const char *desc)
{
    part parts[DVM_SEC_LIMIT];
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_sections; i++) {
        if (fixture_parts[i].kind != kind)
            parts[n++] = fixture_parts[i];
        else if (p)
            parts[n++] = (part){kind, p, len};
    }
    size_t mlen;
    uint8_t *b = assemble(parts, n, &mlen);
    detvm_status st = try_module(b, mlen, desc);
    if (must_reject && st == DETVM_OK)
        tally_fail("%s: loaded", desc);
    free(b);
    return st;
}

/* ---- META records --------------------------------------------------------------------- */

typedef struct {
    uint16_t key;
    uint32_t len;
    const uint8_t *v;
} meta_rec;

static meta_rec fixture_meta[32];
static uint32_t n_meta;

static void read_meta_records(void)
{
    const uint8_t *meta = section_bytes(DVM_SEC_META);
    uint32_t len = section(DVM_SEC_META)->len;
    for (uint32_t p = 0; p + 8 <= len && n_meta < 32; p += 8 + dvm_u32(meta + p + 4))
        fixture_meta[n_meta++] = (meta_rec){dvm_u16(meta + p), dvm_u32(meta + p + 4), meta + p + 8};
}

static uint32_t put_record(uint8_t *dst, uint16_t key, const void *v, uint32_t len)
{
    dvm_put_u16(dst, key);
    dvm_put_u16(dst + 2, 0);
    dvm_put_u32(dst + 4, len);
    if (len)
        memcpy(dst + 8, v, len);
    return 8 + len;
}

/* The fixture's META with record `key` set to (v, len) (added in key order when absent), or
 * removed when v is NULL; tried as a module. */
static detvm_status try_meta(uint16_t key, const void *v, uint32_t len, int must_reject,
                             const char *desc)
{
    uint8_t *meta = calloc(section(DVM_SEC_META)->len + len + 64, 1);
    uint32_t pos = 0;
    int done = 0;
    for (uint32_t i = 0; i < n_meta; i++) {
        const meta_rec *r = &fixture_meta[i];
        if (!done && r->key >= key) {
            done = 1;
            if (v)
                pos += put_record(meta + pos, key, v, len);
            if (r->key == key)
                continue;
        }
        pos += put_record(meta + pos, r->key, r->v, r->len);
    }
    if (!done && v)
        pos += put_record(meta + pos, key, v, len);
    detvm_status st = try_section(DVM_SEC_META, meta, pos, must_reject, desc);
    free(meta);
    return st;
}

static const meta_rec *meta_get(uint16_t key)
{
    for (uint32_t i = 0; i < n_meta; i++)
        if (fixture_meta[i].key == key)
            return &fixture_meta[i];
    return NULL;
}

/* ======================================================================================= */
/* 1. Graph JSON                                                                           */
/* ======================================================================================= */

static void test_json_truncations(void)
{
    tally_start();
    for (size_t cut = 0; cut < fx.json_len; cut++) {
        uint8_t *mod;
        size_t mod_len = 7;
        detvm_error err;
        tally.cases++;
        detvm_status st = compile(fx.json, cut, fx.params, fx.params_len, &mod, &mod_len, &err);
        if (st != DETVM_ERUNTIME || !is_clean(st, &err) || mod != NULL || mod_len != 0)
            tally_fail("symbol.json cut to %zu bytes: compile status %d '%s' (want 2)", cut, st,
                       err.message);
        if (st == DETVM_OK)
            free(mod);
        char *j = copy_of(fx.json, cut);
        uint64_t gas = 0;
        memset(&err, 0, sizeof err);
        st = detvm_cvm_gas_from_json(j, cut, &gas, &err);
        if (st != DETVM_ERUNTIME || !is_clean(st, &err))
            tally_fail("symbol.json cut to %zu bytes: gas status %d '%s' (want 2)", cut, st,
                       err.message);
        free(j);
    }
    TALLY_CHECK("symbol.json truncations");
}

/* Compiles a hostile graph with the fixture params: the status must be `want` (ANY: 1 or 2),
 * the failure clean; a graph that compiles must load and run. The gas query must not crash
 * either. */
static const uint8_t no_params[32] = {0xB7, 0x9C, 0x04, 0x05, 0x4F, 0x8D, 0xE5, 0xF7};

static void graph_case_with(const char *name, const char *json, size_t len,
                            const uint8_t *params, size_t params_len, int want)
{
    uint8_t *mod;
    size_t mod_len = 7;
    detvm_error err;
    detvm_status st = compile(json, len, params, params_len, &mod, &mod_len, &err);
    if (st == DETVM_OK) {
        CHECK(want == 0 || want == ANY, "graph %s: compiled, want status %d", name, want);
        const char *why = check_compiled(mod, mod_len);
        CHECK(why == NULL, "graph %s: %s", name, why);
        free(mod);
    } else {
        CHECK(is_clean(st, &err) && (want == ANY || (int)st == want) && mod == NULL &&
                  mod_len == 0,
              "graph %s: status %d '%s', want %d", name, st, err.message, want);
    }
    char *j = copy_of(json, len);
    uint64_t gas = 0;
    memset(&err, 0, sizeof err);
    st = detvm_cvm_gas_from_json(j, len, &gas, &err);
    CHECK(st == DETVM_OK || is_clean(st, &err), "graph %s: gas status %d '%s'", name, st,
          err.message);
    free(j);
}

static void graph_case(const char *name, const char *json, size_t len, int want)
{
    graph_case_with(name, json, len, fx.params, fx.params_len, want);
}

static void graph_text(const char *name, const char *json, int want)
{
    graph_case(name, json, strlen(json), want);
}

/* The fixture graph with the value at `path` (keys and array indices separated by '/')
 * replaced by `value` (its reference is taken), or removed when value is NULL. */
static char *graph_edit(const char *path, json_t *value)
{
    json_t *root = json_loadb(fx.json, fx.json_len, 0, NULL);
    json_t *parent = root;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL, *key = strtok_r(buf, "/", &save), *next;
    while ((next = strtok_r(NULL, "/", &save)) != NULL) {
        parent = json_is_array(parent) ? json_array_get(parent, strtoul(key, NULL, 10))
                                       : json_object_get(parent, key);
        key = next;
    }
    if (json_is_array(parent)) {
        size_t i = strtoul(key, NULL, 10);
        if (value)
            json_array_set_new(parent, i, value);
        else
            json_array_remove(parent, i);
    } else if (json_is_object(parent)) {
        if (value)
            json_object_set_new(parent, key, value);
        else
            json_object_del(parent, key);
    } else {
        fprintf(stderr, "test_broken_files: bad edit path %s\n", path);
        exit(2);
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static void edit_case(const char *path, json_t *value, int want)
{
    char name[300];
    char *shown = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(name, sizeof name, "%s = %.60s", path, shown ? shown : "(removed)");
    free(shown);
    char *text = graph_edit(path, value);
    graph_case(name, text, strlen(text), want);
    free(text);
}

/* `json` parsed, for edits (a NULL result is a bug in the test). */
static json_t *J(const char *json)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    if (!v) {
        fprintf(stderr, "test_broken_files: bad JSON in the test: %s\n", json);
        exit(2);
    }
    return v;
}

/* A JSON list of n copies of `item`. */
static json_t *repeated(const char *item, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, J(item));
    return a;
}

/* A string of n copies of `unit` between `head` and `tail`. */
static char *repeat_text(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1), *p = s;
    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

/* The fixture text with its first `old` replaced by `new_text`. */
static char *replace_text(const char *old, const char *new_text)
{
    const char *at = strstr(fx.json, old);
    if (!at) {
        fprintf(stderr, "test_broken_files: '%s' not in symbol.json\n", old);
        exit(2);
    }
    size_t head = (size_t)(at - fx.json), ol = strlen(old), nl = strlen(new_text);
    char *s = malloc(fx.json_len - ol + nl + 1);
    memcpy(s, fx.json, head);
    memcpy(s + head, new_text, nl);
    memcpy(s + head + nl, at + ol, fx.json_len - head - ol + 1);
    return s;
}

static void test_hostile_documents(void)
{
    /* whole documents */
    graph_case("empty document", "", 0, DETVM_ERUNTIME);
    graph_text("top-level array", "[]", DETVM_ERUNTIME);
    graph_text("top-level number", "42", DETVM_ERUNTIME);
    graph_text("top-level string", "\"nodes\"", DETVM_ERUNTIME);
    graph_text("top-level null", "null", DETVM_ERUNTIME);
    graph_text("empty object", "{}", DETVM_EINVALID);
    graph_text("nodes only", "{\"nodes\": []}", DETVM_EINVALID);
    graph_text("unknown key", "{\"nodes\": [], \"bogus\": 1}", DETVM_ERUNTIME);
    graph_text("invalid UTF-8", "{\"nodes\": [], \"heads\": \"\xff\xfe\"}", DETVM_ERUNTIME);
    graph_case("NUL inside", "{\"nodes\": [\0]}", 14, DETVM_ERUNTIME);
    graph_text("arg_nodes then a bad nodes", "{\"arg_nodes\": [0], \"nodes\": 5}",
               DETVM_ERUNTIME);
    graph_text("arg_nodes then a nameless node",
               "{\"arg_nodes\": [0], \"nodes\": [{\"op\": \"null\"}]}", DETVM_EINVALID);
    graph_text("arg_nodes past the nodes",
               "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}], "
               "\"arg_nodes\": [7], \"heads\": [[0, 0]], \"attrs\": {\"storage_id\": "
               "[\"list_int\", [0]], \"shape\": [\"list_shape\", [[1]]], \"op_attrs\": "
               "[\"list_str\", [\"{}\"]]}}",
               DETVM_EINVALID);
    const char *no_ops = "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}], "
               "\"arg_nodes\": [0], \"node_row_ptr\": [0, 1], \"heads\": [[0, 0, 0]], "
               "\"attrs\": {\"dltype\": [\"list_str\", [\"int32\"]], \"storage_id\": "
               "[\"list_int\", [0]], \"shape\": [\"list_shape\", [[1]]], \"precision\": "
               "[\"list_int\", [8]], \"op_attrs\": [\"list_str\", [\"{}\"]]}}";
    graph_case_with("a graph without operators", no_ops, strlen(no_ops), no_params,
                    sizeof no_params, DETVM_EINVALID);

    /* nesting deeper than the parser allows, and deep but parseable nesting where a value
     * of another type is expected */
    char *deep = repeat_text("", "[", 100000, "");
    graph_text("100000 nested arrays", deep, DETVM_ERUNTIME);
    free(deep);
    deep = repeat_text("{\"nodes\": ", "[", 100000, "");
    graph_text("100000 nested arrays in nodes", deep, DETVM_ERUNTIME);
    free(deep);
    char *inner = repeat_text("", "[", 1000, "2");
    char *closing = repeat_text(inner, "]", 1000, ",");
    char *text = replace_text("[[2],", closing);
    graph_text("shape[0] nested 1000 deep", text, DETVM_ERUNTIME);
    free(text);
    free(closing);
    free(inner);
    inner = repeat_text("\"{\\\"shape\\\": ", "[", 1000, "1");
    closing = repeat_text(inner, "]", 1000, "}\"");
    text = replace_text("\"{\\\"shape\\\": \\\"-1\\\"}\"", closing);
    graph_text("op_attrs nested 1000 deep", text, DETVM_ERUNTIME);
    free(text);
    free(closing);
    free(inner);
    inner = repeat_text("\"{\\\"shape\\\": ", "[", 3000, "1");
    closing = repeat_text(inner, "]", 3000, "}\"");
    text = replace_text("\"{\\\"shape\\\": \\\"-1\\\"}\"", closing);
    graph_text("op_attrs nested 3000 deep", text, DETVM_ERUNTIME);
    free(text);
    free(closing);
    free(inner);

    /* nodes */
    edit_case("nodes", J("5"), DETVM_ERUNTIME);
    edit_case("nodes", J("{}"), DETVM_ERUNTIME);
    edit_case("nodes", J("\"x\""), DETVM_ERUNTIME);
    edit_case("nodes/1", J("7"), DETVM_ERUNTIME);
    edit_case("nodes/1/op", J("3"), DETVM_ERUNTIME);
    edit_case("nodes/1/op", J("\"tvm_op\""), DETVM_EINVALID);
    edit_case("nodes/1/op", NULL, DETVM_EINVALID);
    edit_case("nodes/1/name", J("3"), DETVM_ERUNTIME);
    edit_case("nodes/1/name", NULL, DETVM_EINVALID);
    edit_case("nodes/1/inputs", J("\"x\""), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs", NULL, DETVM_EINVALID);
    edit_case("nodes/1/inputs/0", J("5"), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0", J("[0]"), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0", J("[0, 0, 0, 0]"), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0/0", J("-1"), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0/0", J("4294967296"), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0/0", J("1.5"), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0/2", J("\"v\""), DETVM_ERUNTIME);
    edit_case("nodes/1/inputs/0/0", J("1000000000"), DETVM_EINVALID);
    edit_case("nodes/6/inputs/1/0", J("1000000000"), DETVM_EINVALID);
    edit_case("nodes/6/inputs/1/1", J("4294967295"), DETVM_EINVALID);
    edit_case("nodes/1/inputs/0/1", J("1"), DETVM_EINVALID);
    edit_case("nodes/1/inputs/0/0", J("1"), DETVM_EINVALID);  /* itself */
    edit_case("nodes/1/inputs/0/0", J("16"), DETVM_EINVALID); /* a later node */
    edit_case("nodes/2/inputs/0/0", J("2"), DETVM_EINVALID);
    edit_case("nodes/1/inputs", J("[]"), DETVM_EINVALID);
    edit_case("nodes/1/inputs", repeated("[0, 0, 0]", 70), DETVM_EINVALID);
    edit_case("nodes/6/inputs", repeated("[5, 0, 0]", 65), DETVM_EINVALID);
    edit_case("nodes/0/inputs", J("[[0, 0, 0]]"), DETVM_EINVALID);
    edit_case("nodes/1/attrs", J("\"x\""), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs", NULL, DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/num_inputs", J("1"), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/func_name", J("[\"flatten\"]"), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/func_name", NULL, DETVM_EINVALID);
    edit_case("nodes/1/attrs/bogus", J("\"1\""), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/func_name", J("\"no_such_op\""), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/func_name", J("\"\""), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/func_name", J("\"_0\""), DETVM_ERUNTIME);
    edit_case("nodes/1/attrs/func_name", J("\"flatten_99999999999999999999\""), 0);
    char *long_name = repeat_text("\"", "flatten_", 2000, "\"");
    edit_case("nodes/1/attrs/func_name", J(long_name), DETVM_ERUNTIME);
    edit_case("nodes/1/name", J(long_name), 0);
    free(long_name);
    edit_case("nodes/1/precision", J("\"8\""), DETVM_ERUNTIME);
    edit_case("nodes/1/bogus", J("1"), DETVM_ERUNTIME);
    edit_case("nodes/0/name", J("\"c\""), DETVM_ERUNTIME); /* an argument name twice */
    edit_case("nodes/0/name", J("\"input\""), DETVM_ERUNTIME); /* no variable named data */
    edit_case("nodes/0/op", J("\"cvm_op\""), ANY);

    /* arg_nodes and node_row_ptr */
    edit_case("arg_nodes", J("5"), DETVM_ERUNTIME);
    edit_case("arg_nodes/0", J("1000000000"), DETVM_EINVALID);
    edit_case("arg_nodes/0", J("-1"), DETVM_ERUNTIME);
    edit_case("arg_nodes/4", NULL, DETVM_EINVALID);
    edit_case("arg_nodes/1", J("1"), DETVM_EINVALID);
    edit_case("arg_nodes", NULL, DETVM_EINVALID);
    edit_case("node_row_ptr", J("\"x\""), DETVM_ERUNTIME);
    edit_case("node_row_ptr", J("[0, 1]"), DETVM_EINVALID);
    edit_case("node_row_ptr/3", J("99"), DETVM_EINVALID);
    edit_case("node_row_ptr/3", J("4294967295"), DETVM_EINVALID);
    edit_case("node_row_ptr/0", J("-5"), DETVM_ERUNTIME);
    edit_case("node_row_ptr/0", J("\"0\""), DETVM_ERUNTIME);
    edit_case("node_row_ptr", NULL, DETVM_EINVALID);
    edit_case("node_row_ptr", repeated("0", 10000), DETVM_EINVALID);

    /* heads */
    edit_case("heads", J("5"), DETVM_ERUNTIME);
    edit_case("heads", J("[]"), DETVM_EINVALID);
    edit_case("heads", NULL, DETVM_EINVALID);
    edit_case("heads/0/0", J("17"), DETVM_EINVALID);
    edit_case("heads/0/0", J("1000000000"), DETVM_EINVALID);
    edit_case("heads/0/1", J("1"), DETVM_EINVALID);
    edit_case("heads/0/1", J("4294967295"), DETVM_EINVALID);
    edit_case("heads/0", J("\"x\""), DETVM_ERUNTIME);
    edit_case("heads/0/0", J("0"), DETVM_EINVALID); /* the input */
    edit_case("heads/0/0", J("5"), DETVM_EINVALID); /* a parameter */
    edit_case("heads", repeated("[16, 0, 0]", 65), DETVM_EINVALID);
    edit_case("heads", repeated("[16, 0, 0]", 64), 0);
    edit_case("heads", J("[[16, 0, 0], [12, 0, 0]]"), 0);

    /* graph attributes */
    edit_case("attrs", J("5"), DETVM_ERUNTIME);
    edit_case("attrs", J("{}"), DETVM_EINVALID);
    edit_case("attrs/bogus", J("[\"list_int\", []]"), DETVM_ERUNTIME);
    edit_case("attrs/dtype", J("[\"list_int\", [0]]"), 0);
    edit_case("attrs/dtype", J("[\"list_float\", []]"), DETVM_ERUNTIME);
    edit_case("attrs/storage_id", J("\"x\""), DETVM_ERUNTIME);
    edit_case("attrs/storage_id", J("[1, 2]"), DETVM_ERUNTIME);
    edit_case("attrs/storage_id", J("[\"list_int\"]"), DETVM_ERUNTIME);
    edit_case("attrs/storage_id", J("[\"list_str\", [0]]"), DETVM_EINVALID);
    edit_case("attrs/storage_id/1", J("[0, 1]"), DETVM_EINVALID);
    edit_case("attrs/storage_id/1/3", J("-1"), DETVM_EINVALID);
    edit_case("attrs/storage_id/1/3", J("1099511627776"), DETVM_ERUNTIME);
    edit_case("attrs/storage_id/1/3", J("\"1\""), DETVM_ERUNTIME);
    edit_case("attrs/storage_id/1/3", J("2147483647"), 0);
    edit_case("attrs/storage_id/1/6", J("3"), DETVM_EINVALID); /* concatenate over its input */
    edit_case("attrs/storage_id", NULL, DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[1, 1, 1, 1, 1, 1, 2]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[0]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[-1]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[2147483648]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[4294967298]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[16777217]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[1024, 1024, 1024, 2]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/0", J("[\"2\"]"), DETVM_ERUNTIME);
    edit_case("attrs/shape/1/0", J("[2.0]"), DETVM_ERUNTIME);
    edit_case("attrs/shape/1/0", J("5"), DETVM_ERUNTIME);
    edit_case("attrs/shape/1/0", J("[3]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/5", J("[16777216, 64]"), DETVM_EINVALID);
    edit_case("attrs/shape/1/10", J("[8, 16777216]"), DETVM_ERUNTIME); /* as cvm_nn.c says */
    edit_case("attrs/shape/1/16", NULL, DETVM_EINVALID);
    edit_case("attrs/shape", J("[\"list_shape\", 5]"), DETVM_ERUNTIME);
    edit_case("attrs/precision/1/0", J("33"), DETVM_EINVALID);
    edit_case("attrs/precision/1/0", J("0"), DETVM_EINVALID);
    edit_case("attrs/precision/1/0", J("-2"), DETVM_EINVALID);
    edit_case("attrs/precision/1/0", J("-1"), DETVM_EINVALID);
    edit_case("attrs/precision/1/0", J("2147483648"), DETVM_ERUNTIME);
    edit_case("attrs/precision/1/0", J("\"8\""), DETVM_ERUNTIME);
    edit_case("attrs/precision/1/1", J("33"), DETVM_EINVALID);
    edit_case("attrs/precision/1/5", J("1"), DETVM_EINVALID); /* parameter values exceed it */
    edit_case("attrs/precision/1/0", J("32"), ANY);
    edit_case("attrs/precision/1/0", J("1"), ANY);
    edit_case("attrs/precision", NULL, DETVM_EINVALID);
    edit_case("attrs/precision/1/16", NULL, DETVM_EINVALID);
    edit_case("attrs/op_attrs/1/2", J("\"{\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"[]\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"5\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("17"), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"{\\\"precision\\\": 9}\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"{\\\"precision\\\": [\\\"9\\\"]}\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"{\\\"precision\\\": \\\"9\\\", \\\"bogus\\\": "
                                      "\\\"1\\\"}\""),
              DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"{\\\"precision\\\": \\\"33\\\"}\""), DETVM_EINVALID);
    edit_case("attrs/op_attrs/1/2", J("\"{\\\"precision\\\": \\\"nine\\\"}\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/2", J("\"{}\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/1", J("\"{\\\"__hidden__\\\": \\\"x\\\"}\""), DETVM_EINVALID);
    edit_case("attrs/op_attrs/1/4", J("\"{\\\"shape\\\": \\\"(1, 2\\\"}\""), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs/1/4", J("\"{\\\"shape\\\": \\\"(2,)\\\"}\""), 0);
    edit_case("attrs/op_attrs/1/4", J("\"{\\\"shape\\\": \\\"(4294967298,)\\\"}\""),
              DETVM_ERUNTIME);
    char *tuple = repeat_text("\"{\\\"shape\\\": \\\"(", "1, ", 100000, "2)\\\"}\"");
    edit_case("attrs/op_attrs/1/4", J(tuple), DETVM_ERUNTIME);
    free(tuple);
    tuple = repeat_text("\"{\\\"shape\\\": \\\"", "9", 1000000, "\\\"}\"");
    edit_case("attrs/op_attrs/1/4", J(tuple), DETVM_ERUNTIME);
    free(tuple);
    tuple = repeat_text("\"{\\\"shape\\\": \\\"(", " ", 1000000, "2)\\\"}\"");
    edit_case("attrs/op_attrs/1/4", J(tuple), 0);
    free(tuple);
    tuple = repeat_text("\"{", "\\\"k\\\": \\\"1\\\", ", 20, "\\\"shape\\\": \\\"-1\\\"}\"");
    edit_case("attrs/op_attrs/1/4", J(tuple), DETVM_ERUNTIME);
    free(tuple);
    edit_case("attrs/op_attrs/1/16", NULL, DETVM_EINVALID);
    edit_case("attrs/op_attrs", J("[\"list_str\", \"x\"]"), DETVM_ERUNTIME);
    edit_case("attrs/op_attrs", NULL, DETVM_EINVALID);
    edit_case("attrs/device_index", J("[\"list_int\", [1]]"), DETVM_EINVALID);
    edit_case("attrs/device_index", J("[\"list_int\", []]"), 0);
    edit_case("attrs/dltype/1/3", J("\"float32\""), DETVM_EINVALID);
    edit_case("attrs/dltype/1/3", J("5"), DETVM_ERUNTIME);
    edit_case("attrs/dltype", NULL, DETVM_EINVALID);

    /* version and postprocess */
    edit_case("version", J("\"cvm_2.0.0\""), DETVM_ERUNTIME);
    edit_case("version", J("5"), DETVM_ERUNTIME);
    edit_case("version", J("\"cvm_1.1.0\""), 0);
    char *long_version = repeat_text("\"cvm_1.0.0", "0", 100000, "\"");
    edit_case("version", J(long_version), DETVM_ERUNTIME);
    free(long_version);
    edit_case("postprocess", J("\"argmax\""), 0);
    edit_case("postprocess", J("\"detection\""), 0);
    edit_case("postprocess", J("\"argmax and then some more text past 32 bytes\""), 0);
    edit_case("postprocess", J("5"), DETVM_ERUNTIME);
    edit_case("bogus", J("1"), DETVM_ERUNTIME);
}

/* A chain of n nodes: data, then n - 1 relu nodes; `bad_input` makes the last one refer to
 * node 10^9. */
static char *relu_chain(uint32_t n, int bad_input)
{
    size_t cap = (size_t)n * 200 + 1000, len = 0;
    char *s = malloc(cap);
#define OUT(...) (len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__))
    OUT("{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}");
    for (uint32_t i = 1; i < n; i++)
        OUT(", {\"op\": \"cvm_op\", \"name\": \"relu_%u\", \"attrs\": {\"func_name\": \"relu\"}, "
            "\"inputs\": [[%u, 0, 0]]}",
            i, bad_input && i == n - 1 ? 1000000000u : i - 1);
    OUT("], \"arg_nodes\": [0], \"node_row_ptr\": [");
    for (uint32_t i = 0; i <= n; i++)
        OUT("%s%u", i ? ", " : "", i);
    OUT("], \"heads\": [[%u, 0, 0]], \"attrs\": {\"dltype\": [\"list_str\", [", n - 1);
    for (uint32_t i = 0; i < n; i++)
        OUT("%s\"int32\"", i ? ", " : "");
    OUT("]], \"storage_id\": [\"list_int\", [");
    for (uint32_t i = 0; i < n; i++)
        OUT("%s%u", i ? ", " : "", i % 2);
    OUT("]], \"shape\": [\"list_shape\", [");
    for (uint32_t i = 0; i < n; i++)
        OUT("%s[2]", i ? ", " : "");
    OUT("]], \"precision\": [\"list_int\", [8");
    for (uint32_t i = 1; i < n; i++)
        OUT(", -1");
    OUT("]], \"op_attrs\": [\"list_str\", [");
    for (uint32_t i = 0; i < n; i++)
        OUT("%s\"{}\"", i ? ", " : "");
    OUT("]]}, \"version\": \"cvm_1.0.0\"}");
#undef OUT
    return s;
}

static void test_long_chain(void)
{
    const uint8_t *params = no_params;
    char *json = relu_chain(10000, 0);
    uint8_t *mod;
    size_t mod_len;
    detvm_error err;
    detvm_status st = compile(json, strlen(json), params, sizeof no_params, &mod, &mod_len, &err);
    CHECK(st == DETVM_OK, "10000-node chain: compile status %d '%s'", st, err.message);
    if (st == DETVM_OK) {
        detvm_module *m = NULL;
        detvm_session *s = NULL;
        int8_t in[2] = {-5, 7};
        uint8_t out[2] = {9, 9};
        st = detvm_module_load(mod, mod_len, &m, &err);
        if (!st)
            st = detvm_session_new(m, &s, &err);
        if (!st)
            st = detvm_run(s, in, sizeof in, out, sizeof out, &err);
        CHECK(st == DETVM_OK && out[0] == 0 && out[1] == 7,
              "10000-node chain: run status %d '%s', output %u %u", st, err.message, out[0],
              out[1]);
        detvm_session_free(s);
        detvm_module_free(m);
        free(mod);
    }
    free(json);
    json = relu_chain(10000, 1);
    st = compile(json, strlen(json), params, sizeof no_params, &mod, &mod_len, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err),
          "10000-node chain, last input node 10^9: status %d '%s'", st, err.message);
    free(json);
}

static uint8_t *zero_params(const json_t *shapes, uint32_t n_params, size_t *len);

/* data, then n broadcast_max nodes, each with its own parameter p<i>: every entry of shape
 * (2^24, 64), 2^30 elements, as many as a tensor may hold. */
static char *big_param_chain(uint32_t n)
{
    uint32_t nodes = 1 + 2 * n;
    size_t cap = (size_t)nodes * 300 + 1000, len = 0;
    char *s = malloc(cap);
#define OUT(...) (len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__))
    OUT("{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}");
    for (uint32_t i = 1; i <= n; i++)
        OUT(", {\"op\": \"null\", \"name\": \"p%u\", \"inputs\": []}, {\"op\": \"cvm_op\", "
            "\"name\": \"max_%u\", \"attrs\": {\"func_name\": \"broadcast_max\"}, "
            "\"inputs\": [[%u, 0, 0], [%u, 0, 0]]}",
            i, i, 2 * i - 2, 2 * i - 1);
    OUT("], \"arg_nodes\": [0");
    for (uint32_t i = 1; i <= n; i++)
        OUT(", %u", 2 * i - 1);
    OUT("], \"node_row_ptr\": [");
    for (uint32_t i = 0; i <= nodes; i++)
        OUT("%s%u", i ? ", " : "", i);
    OUT("], \"heads\": [[%u, 0, 0]], \"attrs\": {\"dltype\": [\"list_str\", [", nodes - 1);
    for (uint32_t i = 0; i < nodes; i++)
        OUT("%s\"int32\"", i ? ", " : "");
    OUT("]], \"storage_id\": [\"list_int\", [");
    for (uint32_t i = 0; i < nodes; i++)
        OUT("%s%u", i ? ", " : "", i);
    OUT("]], \"shape\": [\"list_shape\", [");
    for (uint32_t i = 0; i < nodes; i++)
        OUT("%s[16777216, 64]", i ? ", " : "");
    OUT("]], \"precision\": [\"list_int\", [8");
    for (uint32_t i = 1; i < nodes; i++)
        OUT(", %d", i % 2 ? 8 : -1);
    OUT("]], \"op_attrs\": [\"list_str\", [");
    for (uint32_t i = 0; i < nodes; i++)
        OUT("%s\"{}\"", i ? ", " : "");
    OUT("]]}, \"version\": \"cvm_1.0.0\"}");
#undef OUT
    return s;
}

/* A graph may declare far more parameter data than its blob holds: the blob is what must
 * decide the outcome, not how much memory the machine has. Here the first array's shape is
 * wrong, an invalid model (1). */
static void test_big_declared_params(void)
{
    char *json = big_param_chain(40);
    static const char *const one_shape = "[[16777216, 64], [2]]";
    json_t *shapes = J(one_shape);
    size_t params_len;
    uint8_t *params = zero_params(shapes, 1, &params_len);
    json_decref(shapes);
    uint64_t gas = 0;
    detvm_error err;
    memset(&err, 0, sizeof err);
    detvm_status st = detvm_cvm_gas_from_json(json, strlen(json), &gas, &err);
    CHECK(st == DETVM_OK, "40 parameters of 2^30 elements: the graph loads: %s", err.message);
    uint8_t *mod;
    size_t mod_len;
    st = compile(json, strlen(json), params, params_len, &mod, &mod_len, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err),
          "40 parameters of 2^30 elements, a blob with one small array: status %d '%s'", st,
          err.message);
    free(params);
    free(json);
}

/* One byte of symbol.json replaced by a character that matters to JSON, for every byte. */
static void test_json_byte_changes(void)
{
    static const char chars[] = "\"0-9[]{},:x \\e.";
    tally_start();
    for (size_t i = 0; i < fx.json_len; i++) {
        char *j = copy_of(fx.json, fx.json_len);
        j[i] = chars[rng() % (sizeof chars - 1)];
        uint8_t *mod;
        size_t mod_len;
        detvm_error err;
        tally.cases++;
        detvm_status st = compile(j, fx.json_len, fx.params, fx.params_len, &mod, &mod_len, &err);
        if (st == DETVM_OK) {
            tally.loaded++;
            const char *why = check_compiled(mod, mod_len);
            if (why)
                tally_fail("symbol.json byte %zu = '%c': %s", i, j[i], why);
            free(mod);
        } else if (!is_clean(st, &err)) {
            tally_fail("symbol.json byte %zu = '%c': status %d '%s'", i, j[i], st, err.message);
        }
        free(j);
    }
    TALLY_CHECK("symbol.json byte changes");
}

/* ---- every operator with hostile attribute strings ------------------------------------ */

typedef struct {
    const char *op;
    const char *attrs;      /* a valid op_attrs object */
    const char *shapes;     /* data, parameters..., outputs */
    uint32_t n_params, n_out;
} op_case;

static const op_case op_cases[] = {
    {"conv2d", "{\"channels\": \"4\", \"kernel_size\": \"(3, 3)\", \"strides\": \"(1, 1)\", "
               "\"padding\": \"(1, 1)\", \"dilation\": \"(1, 1)\", \"groups\": \"1\", "
               "\"use_bias\": \"False\"}",
     "[[1, 2, 5, 5], [4, 2, 3, 3], [1, 4, 5, 5]]", 1, 1},
    {"conv2d", "{\"channels\": \"2\", \"kernel_size\": \"(2, 2)\", \"strides\": \"(2, 1)\", "
               "\"padding\": \"(0, 1)\", \"dilation\": \"(2, 1)\", \"groups\": \"2\", "
               "\"use_bias\": \"True\"}",
     "[[1, 2, 5, 5], [2, 1, 2, 2], [2], [1, 2, 2, 6]]", 2, 1},
    {"dense", "{\"units\": \"4\", \"use_bias\": \"False\"}", "[[2, 3], [4, 3], [2, 4]]", 1, 1},
    {"max_pool2d", "{\"pool_size\": \"(2, 2)\", \"strides\": \"(2, 2)\", \"padding\": "
                   "\"(0, 0)\", \"ceil_mode\": \"False\"}",
     "[[1, 1, 4, 4], [1, 1, 2, 2]]", 0, 1},
    {"upsampling", "{\"scale\": \"2\"}", "[[1, 1, 2, 2], [1, 1, 4, 4]]", 0, 1},
    {"sum", "{\"axis\": \"(1,)\", \"keepdims\": \"False\", \"exclude\": \"False\"}",
     "[[2, 3, 4], [2, 4]]", 0, 1},
    {"max", "{\"axis\": \"(-1, 0)\", \"keepdims\": \"True\"}", "[[2, 3, 4], [1, 3, 1]]", 0, 1},
    {"transpose", "{\"axes\": \"(2, 0, 1)\"}", "[[2, 3, 4], [4, 2, 3]]", 0, 1},
    {"strided_slice", "{\"begin\": \"(1, 0)\", \"end\": \"(3, 5)\", \"stride\": \"(1, 2)\"}",
     "[[4, 5], [2, 3]]", 0, 1},
    {"tile", "{\"reps\": \"(2, 1)\"}", "[[2, 3], [4, 3]]", 0, 1},
    {"take", "{\"axis\": \"0\"}", "[[5, 3], [2], [2, 3]]", 1, 1},
    {"squeeze", "{\"axis\": \"(1,)\"}", "[[2, 1, 3], [2, 3]]", 0, 1},
    {"expand_dims", "{\"axis\": \"1\", \"num_newaxis\": \"2\"}", "[[2, 3], [2, 1, 1, 3]]", 0, 1},
    {"reshape", "{\"shape\": \"(3, -1)\"}", "[[2, 3], [3, 2]]", 0, 1},
    {"flatten", "{}", "[[2, 3, 4], [2, 12]]", 0, 1},
    {"clip", "{\"a_min\": \"-3\", \"a_max\": \"5\"}", "[[4], [4]]", 0, 1},
    {"cvm_clip", "{\"precision\": \"4\"}", "[[4], [4]]", 0, 1},
    {"cvm_left_shift", "{\"precision\": \"8\", \"shift_bit\": \"2\"}", "[[4], [4]]", 0, 1},
    {"cvm_right_shift", "{\"precision\": \"8\", \"shift_bit\": \"2\"}", "[[4], [4]]", 0, 1},
    {"repeat", "{\"repeats\": \"2\", \"axis\": \"1\"}", "[[2, 3], [2, 6]]", 0, 1},
    {"slice_like", "{\"axis\": \"(0, 1)\"}", "[[3, 4], [2, 2], [2, 2]]", 1, 1},
    {"concatenate", "{\"axis\": \"1\"}", "[[2, 3], [2, 1], [2, 4]]", 1, 1},
    {"cvm_lut", "{\"in_dim\": \"8\"}", "[[4], [8], [4]]", 1, 1},
    {"where", "{}", "[[4], [4], [4], [4]]", 2, 1},
    {"broadcast_add", "{}", "[[2, 1], [1, 3], [2, 3]]", 1, 1},
    {"broadcast_div", "{}", "[[2, 3], [3], [2, 3]]", 1, 1},
    {"elemwise_add", "{}", "[[2, 3], [2, 3], [2, 3]]", 1, 1},
    {"get_valid_counts", "{\"score_threshold\": \"0\"}", "[[1, 4, 6], [1], [1, 4, 6]]", 0, 2},
    {"non_max_suppression", "{\"iou_threshold\": \"50\", \"force_suppress\": \"False\", "
                            "\"top_k\": \"-1\", \"max_output_size\": \"-1\"}",
     "[[1, 4, 6], [1], [1, 4, 6]]", 1, 1},
};

/* A CVM params blob of int32 zeros, one array per entry of `shapes` but the first, named
 * p1, p2, ... */
static uint8_t *zero_params(const json_t *shapes, uint32_t n_params, size_t *len)
{
    size_t cap = 64, pos = 0;
    for (uint32_t i = 1; i <= n_params; i++) {
        const json_t *s = json_array_get(shapes, i);
        size_t n = 1;
        for (size_t d = 0; d < json_array_size(s); d++)
            n *= (size_t)json_integer_value(json_array_get(s, d));
        cap += 16 + 40 + 8 * json_array_size(s) + 8 + 4 * n;
    }
    uint8_t *b = calloc(cap, 1);
    dvm_put_u64(b, 0xF7E58D4F05049CB7ull);
    dvm_put_u64(b + 16, n_params);
    pos = 24;
    for (uint32_t i = 1; i <= n_params; i++) {
        dvm_put_u64(b + pos, 2);
        b[pos + 8] = 'p';
        b[pos + 9] = (uint8_t)('0' + i);
        pos += 10;
    }
    dvm_put_u64(b + pos, n_params);
    pos += 8;
    for (uint32_t i = 1; i <= n_params; i++) {
        const json_t *s = json_array_get(shapes, i);
        size_t n = 1;
        dvm_put_u64(b + pos, 0xDD5E40F096B4A13Full);
        pos += 16;
        dvm_put_u32(b + pos, 1); /* CPU */
        dvm_put_u32(b + pos + 8, (uint32_t)json_array_size(s));
        dvm_put_u32(b + pos + 12, 0x00012000u); /* int, 32 bits, 1 lane */
        pos += 16;
        for (size_t d = 0; d < json_array_size(s); d++) {
            dvm_put_u64(b + pos, (uint64_t)json_integer_value(json_array_get(s, d)));
            n *= (size_t)json_integer_value(json_array_get(s, d));
            pos += 8;
        }
        dvm_put_u64(b + pos, 4 * n);
        pos += 8 + 4 * n;
    }
    *len = pos;
    return b;
}

/* The graph of one operator node over `data` and parameters p1..pn. */
static char *op_graph(const op_case *c, const char *attrs, const json_t *shapes)
{
    uint32_t n_in = 1 + c->n_params, entries = n_in + c->n_out;
    json_t *nodes = json_array(), *inputs = json_array(), *args = json_array();
    json_t *row_ptr = json_array(), *dltype = json_array(), *sid = json_array();
    json_t *prec = json_array(), *op_attrs = json_array();
    for (uint32_t i = 0; i < n_in; i++) {
        char name[16] = "data";
        if (i)
            snprintf(name, sizeof name, "p%u", i);
        json_array_append_new(nodes, json_pack("{s:s, s:s, s:[]}", "op", "null", "name", name,
                                               "inputs"));
        json_array_append_new(inputs, json_pack("[i, i, i]", i, 0, 0));
        json_array_append_new(args, json_integer(i));
        json_array_append_new(row_ptr, json_integer(i));
        json_array_append_new(op_attrs, json_string("{}"));
    }
    json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}, s:o}", "op", "cvm_op", "name",
                                           "op_0", "attrs", "func_name", c->op, "inputs",
                                           inputs));
    json_array_append_new(row_ptr, json_integer(n_in));
    json_array_append_new(row_ptr, json_integer(entries));
    json_array_append_new(op_attrs, json_string(attrs));
    for (uint32_t e = 0; e < entries; e++) {
        json_array_append_new(dltype, json_string("int32"));
        json_array_append_new(sid, json_integer(e));
        json_array_append_new(prec, json_integer(e < n_in ? 8 : -1));
    }
    json_t *g = json_pack("{s:o, s:o, s:o, s:[[i, i, i]], s:{s:[s, o], s:[s, o], s:[s, O], "
                          "s:[s, o], s:[s, o]}, s:s}",
                          "nodes", nodes, "arg_nodes", args, "node_row_ptr", row_ptr, "heads",
                          n_in, 0, 0, "attrs", "dltype", "list_str", dltype, "storage_id",
                          "list_int", sid, "shape", "list_shape", shapes, "precision",
                          "list_int", prec, "op_attrs", "list_str", op_attrs, "version",
                          "cvm_1.0.0");
    char *text = json_dumps(g, JSON_COMPACT);
    json_decref(g);
    return text;
}

/* The valid case of each operator, compiled: test_operator_modules attacks them. */
#define MAX_OP_MODULES 64
typedef struct {
    uint8_t *bytes;
    size_t len;
    const char *op;
} op_module;
static op_module op_modules[MAX_OP_MODULES];
static uint32_t n_op_modules;

static void test_operator_attributes(void)
{
    static const char *const values[] = {
        "", " ", "None", "0", "1", "-1", "2", "-2", "3", "7", "31", "32", "33", "2147483647",
        "-2147483648", "2147483648", "99999999999999999999", "1L", "+5", "0x10", "1 2", "-",
        "true", "False", "abc", "NCHW", "()", "[]", "(1,)", "(-1,)", "(0, 0)", "(1, 1)",
        "(2, 2)", "(-1, -1)", "(3, 3, 3)", "(2147483647, 2147483647)",
        "(-2147483648, -2147483648)", "(1, 2, 3, 4, 5, 6, 7)",
        "(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)", "(1, 2", "[3, 3]",
        "(1,,2)", "(0, 2147483647)", "(1048576, 1048576)"};
    int base_ok = 1;
    tally_start();
    for (size_t c = 0; c < sizeof op_cases / sizeof op_cases[0]; c++) {
        const op_case *oc = &op_cases[c];
        json_t *shapes = J(oc->shapes), *attrs = J(oc->attrs);
        size_t params_len;
        uint8_t *params = zero_params(shapes, oc->n_params, &params_len);
        /* the keys to vary: the op's own, plus an unknown and a hidden one */
        const char *keys[24];
        size_t n_keys = 0;
        const char *key;
        json_t *v;
        json_object_foreach(attrs, key, v) {
            if (n_keys < 20)
                keys[n_keys++] = key;
        }
        keys[n_keys++] = "bogus";
        keys[n_keys++] = "__hidden__";
        for (size_t k = 0; k <= n_keys; k++) {
            size_t n_values = k == n_keys ? 1 : sizeof values / sizeof values[0];
            for (size_t i = 0; i < n_values; i++) {
                json_t *a = json_deep_copy(attrs);
                if (k < n_keys)
                    json_object_set_new(a, keys[k], json_string(values[i]));
                char *attr_text = json_dumps(a, JSON_COMPACT);
                char *json = op_graph(oc, attr_text, shapes);
                uint8_t *mod;
                size_t mod_len;
                detvm_error err;
                tally.cases++;
                detvm_status st =
                    compile(json, strlen(json), params, params_len, &mod, &mod_len, &err);
                if (k == n_keys && st != DETVM_OK) {
                    base_ok = 0;
                    tally_fail("%s %s: the valid case fails: %s", oc->op, attr_text, err.message);
                }
                if (st == DETVM_OK) {
                    tally.loaded++;
                    const char *why = check_compiled(mod, mod_len);
                    if (why)
                        tally_fail("%s %s: %s", oc->op, attr_text, why);
                    if (k == n_keys && n_op_modules < MAX_OP_MODULES)
                        op_modules[n_op_modules++] = (op_module){mod, mod_len, oc->op};
                    else
                        free(mod);
                } else if (!is_clean(st, &err)) {
                    tally_fail("%s %s: status %d '%s'", oc->op, attr_text, st, err.message);
                }
                free(json);
                free(attr_text);
                json_decref(a);
            }
        }
        free(params);
        json_decref(attrs);
        json_decref(shapes);
    }
    TALLY_CHECK("operators with hostile attributes");
    CHECK(base_ok, "every operator's valid case compiles");
}

/* ======================================================================================= */
/* 2. Params                                                                               */
/* ======================================================================================= */

/* Compiles the fixture graph with these params: a failure must be clean, a module must run. */
static void params_case(const uint8_t *params, size_t len, int must_fail, const char *desc)
{
    uint8_t *mod;
    size_t mod_len = 7;
    detvm_error err;
    tally.cases++;
    detvm_status st = compile(fx.json, fx.json_len, params, len, &mod, &mod_len, &err);
    if (st == DETVM_OK) {
        tally.loaded++;
        if (must_fail)
            tally_fail("%s: compiled", desc);
        const char *why = check_compiled(mod, mod_len);
        if (why)
            tally_fail("%s: %s", desc, why);
        free(mod);
    } else if (!is_clean(st, &err) || mod != NULL || mod_len != 0) {
        tally_fail("%s: status %d '%s'", desc, st, err.message);
    }
}

static void test_params(void)
{
    tally_start();
    for (size_t cut = 0; cut < fx.params_len; cut++)
        params_case(fx.params, cut, 1, WHAT("params.bin cut to %zu bytes", cut));
    TALLY_CHECK("params.bin truncations");

    /* every byte: the list header, the names, each array's header and its data */
    static const struct {
        int set;
        uint8_t v;
    } changes[] = {{0, 0xFF}, {1, 0x00}, {1, 0x7F}, {1, 0x80}, {1, 0xFF}, {0, 0x01}};
    tally_start();
    for (size_t i = 0; i < fx.params_len; i++) {
        for (size_t c = 0; c < sizeof changes / sizeof changes[0]; c++) {
            uint8_t *p = copy_of(fx.params, fx.params_len);
            p[i] = changes[c].set ? changes[c].v : (uint8_t)(p[i] ^ changes[c].v);
            if (p[i] != fx.params[i])
                params_case(p, fx.params_len, 0,
                            WHAT("params.bin byte %zu %s 0x%02x", i,
                                 changes[c].set ? "=" : "^", changes[c].v));
            free(p);
        }
    }
    TALLY_CHECK("params.bin byte changes");

    tally_start();
    for (long round = 0, rounds = fuzz_rounds(2000); round < rounds; round++) {
        uint8_t *p = copy_of(fx.params, fx.params_len);
        uint32_t flips = 1 + rng() % 4;
        for (uint32_t f = 0; f < flips; f++)
            p[rng() % fx.params_len] ^= (uint8_t)(1u << (rng() % 8));
        params_case(p, fx.params_len, 0, WHAT("params.bin random flips, round %ld", round));
        free(p);
    }
    /* longer than it says, and empty lists */
    uint8_t *longer = calloc(fx.params_len + 64, 1);
    memcpy(longer, fx.params, fx.params_len);
    params_case(longer, fx.params_len + 64, 0, "params.bin with 64 trailing zero bytes");
    free(longer);
    params_case(NULL, 0, 1, "no params");
    uint8_t empty[32] = {0};
    dvm_put_u64(empty, 0xF7E58D4F05049CB7ull);
    params_case(empty, sizeof empty, 1, "params without arrays");
    dvm_put_u64(empty + 16, UINT64_MAX);
    params_case(empty, sizeof empty, 1, "params claiming 2^64-1 names");
    dvm_put_u64(empty + 16, 1);
    dvm_put_u64(empty + 24, UINT64_MAX);
    params_case(empty, sizeof empty, 1, "params whose first name is 2^64-1 bytes");
    TALLY_CHECK("params.bin random flips and odd blobs");
}

/* ======================================================================================= */
/* 3. Modules                                                                              */
/* ======================================================================================= */

static void test_module_baseline(void)
{
    part parts[DVM_SEC_LIMIT];
    for (uint32_t i = 0; i < n_sections; i++)
        parts[i] = (part){sections[i].kind, fx.module + sections[i].off, sections[i].len};
    memcpy(fixture_parts, parts, sizeof parts);
    size_t len;
    uint8_t *b = assemble(parts, n_sections, &len);
    CHECK(len == fx.module_len && memcmp(b, fx.module, len) == 0,
          "the test's assembler reproduces the compiler's module");
    free(b);

    /* the module itself, in place at an odd address (constants are then copied) */
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err;
    uint8_t *odd = malloc(fx.module_len + 1);
    memcpy(odd + 1, fx.module, fx.module_len);
    detvm_status st = detvm_module_load(odd + 1, fx.module_len, &m, &err);
    if (!st)
        st = detvm_session_new(m, &s, &err);
    uint8_t *out = malloc(fx.expected_len);
    if (!st)
        st = detvm_run(s, fx.input, fx.input_len, out, fx.expected_len, &err);
    CHECK(st == DETVM_OK && memcmp(out, fx.expected, fx.expected_len) == 0,
          "the module at an odd address runs and gives expected.bin: %d '%s'", st, err.message);
    free(out);
    detvm_session_free(s);
    detvm_module_free(m);
    free(odd);

    memset(&err, 0, sizeof err);
    m = (detvm_module *)1;
    st = detvm_module_load(NULL, 0, &m, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err) && m == NULL, "NULL module bytes: %d", st);
}

static void test_module_truncations_and_flips(void)
{
    tally_start();
    for (size_t cut = 0; cut < fx.module_len; cut++)
        expect_rejected(fx.module, cut, WHAT("module cut to %zu bytes", cut));
    uint8_t *longer = calloc(fx.module_len + 64, 1);
    memcpy(longer, fx.module, fx.module_len);
    expect_rejected(longer, fx.module_len + 64, "module with 64 trailing zero bytes");
    dvm_put_u64(longer + 16, fx.module_len + 64);
    expect_rejected(longer, fx.module_len + 64,
                    "module with 64 trailing zero bytes counted in its length");
    free(longer);
    TALLY_CHECK("module truncations");

    /* without fixing checksums, any changed byte is refused */
    static const uint8_t xors[] = {0x01, 0x80, 0xFF};
    tally_start();
    for (size_t i = 0; i < fx.module_len; i++) {
        for (size_t x = 0; x < sizeof xors; x++) {
            uint8_t *b = copy_of(fx.module, fx.module_len);
            b[i] ^= xors[x];
            expect_rejected(b, fx.module_len, WHAT("module byte %zu ^ 0x%02x", i, xors[x]));
            free(b);
        }
    }
    TALLY_CHECK("module byte changes without checksum repair");
}

/* Every byte of each section changed, with the section's checksum repaired. */
static void test_section_bytes(void)
{
    static const uint32_t kinds[] = {DVM_SEC_META,  DVM_SEC_TENSORS, DVM_SEC_CONSTS,
                                     DVM_SEC_CODE,  DVM_SEC_ATTRS,   DVM_SEC_NAMES};
    static const char *const names[] = {"", "META", "TENSORS", "CONSTS", "CODE", "ATTRS", "NAMES"};
    static const struct {
        int set;
        uint8_t v;
    } changes[] = {{0, 0x01}, {0, 0x80}, {0, 0xFF}, {1, 0x00}, {1, 0xFF}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const section_ref *s = section(kinds[k]);
        const uint8_t *orig = section_bytes(kinds[k]);
        tally_start();
        for (uint32_t i = 0; i < s->len; i++) {
            for (size_t c = 0; c < sizeof changes / sizeof changes[0]; c++) {
                uint8_t v = changes[c].set ? changes[c].v : (uint8_t)(orig[i] ^ changes[c].v);
                if (v != orig[i])
                    patch_u8(kinds[k], i, v, 0,
                             WHAT("%s byte %u %s 0x%02x", names[kinds[k]], i,
                                  changes[c].set ? "=" : "^", changes[c].v));
            }
        }
        char name[64];
        snprintf(name, sizeof name, "%s bytes changed, checksum repaired", names[kinds[k]]);
        TALLY_CHECK(name);
    }
}

static void test_tensor_attacks(void)
{
    const section_ref *consts = section(DVM_SEC_CONSTS);
    const section_ref *names = section(DVM_SEC_NAMES);
    tally_start();
    for (uint32_t i = 0; i < n_tensors; i++) {
        const uint8_t *e = tensor_entry(i);
        uint32_t at = 4 + DVM_TENSOR_BYTES * i;
        uint64_t bytes = tensor_bytes(i);
        if (dvm_storage_in_arena(e[3])) {
            const uint64_t offsets[] = {arena_bytes, arena_bytes - 4, arena_bytes + 64,
                                        arena_bytes - bytes + 4, 2, 1ull << 40, 1ull << 63,
                                        UINT64_MAX, UINT64_MAX - 3, UINT64_MAX - bytes + 4};
            for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
                uint64_t off = offsets[o];
                int outside = off % 4 != 0 || off > arena_bytes || bytes > arena_bytes - off;
                patch_u64(DVM_SEC_TENSORS, at + 32, off, outside,
                          WHAT("arena tensor %u at offset %llu", i, (unsigned long long)off));
            }
            for (uint64_t off = 0; off + bytes <= arena_bytes; off += 4)
                patch_u64(DVM_SEC_TENSORS, at + 32, off, 0,
                          WHAT("arena tensor %u moved to %llu", i, (unsigned long long)off));
        } else {
            const uint64_t offsets[] = {consts->len, consts->len - 64, consts->len + 64, 4, 32,
                                        1ull << 63, UINT64_MAX - 63, UINT64_MAX};
            for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++) {
                uint64_t off = offsets[o];
                int outside = off % 64 != 0 || off > consts->len || bytes > consts->len - off;
                patch_u64(DVM_SEC_TENSORS, at + 32, off, outside,
                          WHAT("constant %u at offset %llu", i, (unsigned long long)off));
            }
        }
        /* storage, dtype, precision */
        const uint8_t storages[] = {0, 1, 2, 3, 255};
        for (size_t v = 0; v < sizeof storages; v++)
            patch_u8(DVM_SEC_TENSORS, at + 3, storages[v],
                     storages[v] >= DVM_STORAGE_LIMIT ||
                         (storages[v] == DVM_STORAGE_ARENA_INT8 && e[2] > 8),
                     WHAT("tensor %u storage %u", i, storages[v]));
        const uint8_t bad_dtypes[] = {DVM_DTYPE_LIMIT, 255};
        for (size_t v = 0; v < sizeof bad_dtypes; v++)
            patch_u8(DVM_SEC_TENSORS, at, bad_dtypes[v], 1,
                     WHAT("tensor %u dtype %u", i, bad_dtypes[v]));
        const uint8_t precisions[] = {0, 1, 31, 32, 33, 255};
        for (size_t v = 0; v < sizeof precisions; v++)
            patch_u8(DVM_SEC_TENSORS, at + 2, precisions[v],
                     precisions[v] == 0 || precisions[v] > 32,
                     WHAT("tensor %u precision %u", i, precisions[v]));
        /* rank and dimensions */
        const uint8_t ranks[] = {0, 1, 2, 5, 6, 7, 255};
        for (size_t v = 0; v < sizeof ranks; v++)
            patch_u8(DVM_SEC_TENSORS, at + 1, ranks[v], ranks[v] == 0 || ranks[v] > 6,
                     WHAT("tensor %u rank %u", i, ranks[v]));
        for (uint32_t d = 0; d < 6; d++) {
            uint32_t dim = dvm_u32(e + 8 + 4 * d);
            if (d >= e[1]) {
                patch_u32(DVM_SEC_TENSORS, at + 8 + 4 * d, 1, 1,
                          WHAT("tensor %u unused dimension %u = 1", i, d));
                continue;
            }
            const uint32_t dims[] = {0,          dim - 1,        dim + 1,  dim * 2,
                                     1u << 24,   (1u << 24) + 1, 1u << 31, UINT32_MAX,
                                     dim + 0x100};
            for (size_t v = 0; v < sizeof dims / sizeof dims[0]; v++)
                patch_u32(DVM_SEC_TENSORS, at + 8 + 4 * d, dims[v],
                          dims[v] == 0 || dims[v] > (1u << 24),
                          WHAT("tensor %u dimension %u = %u", i, d, dims[v]));
        }
        /* name */
        const uint32_t name_offsets[] = {0, names->len - 1, names->len, names->len + 1,
                                         UINT32_MAX};
        for (size_t v = 0; v < sizeof name_offsets / sizeof name_offsets[0]; v++)
            patch_u32(DVM_SEC_TENSORS, at + 4, name_offsets[v], name_offsets[v] >= names->len,
                      WHAT("tensor %u name at %u", i, name_offsets[v]));
    }
    const uint32_t counts[] = {0, n_tensors - 1, n_tensors + 1, UINT32_MAX,
                               UINT32_MAX / DVM_TENSOR_BYTES + 1};
    for (size_t v = 0; v < sizeof counts / sizeof counts[0]; v++)
        patch_u32(DVM_SEC_TENSORS, 0, counts[v], 1, WHAT("tensor count %u", counts[v]));
    TALLY_CHECK("tensor table attacks");
}

/* int8 storage where the format forbids it: the input, an output, precision above 8 (with
 * precision 8 set too where it is not, so that only the binding is wrong). */
static void test_int8_storage_attacks(void)
{
    const uint8_t *meta = section_bytes(DVM_SEC_META);
    uint32_t bound[1 + 64], n_bound = 0;
    for (uint32_t p = 0; p + 8 <= section(DVM_SEC_META)->len; p += 8 + dvm_u32(meta + p + 4)) {
        const uint8_t *v = meta + p + 8;
        if (dvm_u16(meta + p) == DVM_META_INPUT)
            bound[n_bound++] = dvm_u32(v);
        if (dvm_u16(meta + p) == DVM_META_OUTPUTS)
            for (uint32_t k = 0; k < dvm_u32(v) && n_bound < 65; k++)
                bound[n_bound++] = dvm_u32(v + 8 + 4 * k);
    }
    CHECK(n_bound >= 2, "the fixture's input and outputs are found");
    tally_start();
    for (uint32_t b = 0; b < n_bound; b++) {
        const uint8_t as_int8[2] = {8, DVM_STORAGE_ARENA_INT8}; /* precision, storage */
        try_patch(DVM_SEC_TENSORS, 4 + DVM_TENSOR_BYTES * bound[b] + 2, as_int8, 2, 1,
                  WHAT("%s tensor %u stored as int8", b ? "output" : "input", bound[b]));
    }
    for (uint32_t i = 0; i < n_tensors; i++) {
        const uint8_t wide[2] = {9, DVM_STORAGE_ARENA_INT8};
        if (tensor_entry(i)[3] != DVM_STORAGE_CONST)
            try_patch(DVM_SEC_TENSORS, 4 + DVM_TENSOR_BYTES * i + 2, wide, 2, 1,
                      WHAT("tensor %u of precision 9 stored as int8", i));
    }
    TALLY_CHECK("int8 storage attacks");
}

static void test_code_attacks(void)
{
    const section_ref *names = section(DVM_SEC_NAMES);
    const uint8_t *code = section_bytes(DVM_SEC_CODE);
    tally_start();
    for (uint32_t k = 0; k < n_instrs; k++) {
        uint32_t at = instr_at[k];
        uint32_t n_ops = (uint32_t)code[at + 2] + code[at + 3];
        /* every opcode */
        for (uint32_t op = 0; op <= 0x100; op++)
            patch_u16(DVM_SEC_CODE, at, (uint16_t)op, op == 0 || op >= 128,
                      WHAT("instruction %u opcode %u", k, op));
        patch_u16(DVM_SEC_CODE, at, 0xFFFF, 1, WHAT("instruction %u opcode 65535", k));
        /* arities */
        for (uint32_t n = 0; n < 256; n++) {
            patch_u8(DVM_SEC_CODE, at + 2, (uint8_t)n, 0, WHAT("instruction %u n_in %u", k, n));
            patch_u8(DVM_SEC_CODE, at + 3, (uint8_t)n, 0, WHAT("instruction %u n_out %u", k, n));
        }
        /* name */
        const uint32_t name_offsets[] = {0, names->len - 1, names->len, UINT32_MAX};
        for (size_t v = 0; v < sizeof name_offsets / sizeof name_offsets[0]; v++)
            patch_u32(DVM_SEC_CODE, at + 4, name_offsets[v], name_offsets[v] >= names->len,
                      WHAT("instruction %u name at %u", k, name_offsets[v]));
        /* attribute ranges */
        uint32_t first = dvm_u32(code + at + 8), count = dvm_u32(code + at + 12);
        const uint32_t firsts[] = {0, first + 1, attr_count, attr_count + 1, UINT32_MAX,
                                   UINT32_MAX - count + 1};
        for (size_t v = 0; v < sizeof firsts / sizeof firsts[0]; v++) {
            uint32_t f = firsts[v];
            patch_u32(DVM_SEC_CODE, at + 8, f, f > attr_count || count > attr_count - f,
                      WHAT("instruction %u attributes %u+%u", k, f, count));
        }
        const uint32_t counts[] = {0, count + 1, attr_count - first, attr_count - first + 1,
                                   UINT32_MAX};
        for (size_t v = 0; v < sizeof counts / sizeof counts[0]; v++) {
            uint32_t c = counts[v];
            patch_u32(DVM_SEC_CODE, at + 12, c, c > attr_count - first,
                      WHAT("instruction %u attributes %u+%u", k, first, c));
        }
        /* operands: out of range, and every tensor in turn */
        for (uint32_t j = 0; j < n_ops; j++) {
            const uint32_t bad[] = {n_tensors, n_tensors + 1, 1u << 31, UINT32_MAX};
            for (size_t v = 0; v < sizeof bad / sizeof bad[0]; v++)
                patch_u32(DVM_SEC_CODE, at + 16 + 4 * j, bad[v], 1,
                          WHAT("instruction %u operand %u = tensor %u", k, j, bad[v]));
            for (uint32_t t = 0; t < n_tensors; t++)
                patch_u32(DVM_SEC_CODE, at + 16 + 4 * j, t, 0,
                          WHAT("instruction %u operand %u = tensor %u", k, j, t));
        }
        /* an output placed over an input */
        const uint8_t *ins = code + at;
        for (uint32_t j = 0; j < ins[2]; j++) {
            uint32_t in_t = dvm_u32(ins + 16 + 4 * j), out_t = dvm_u32(ins + 16 + 4 * ins[2]);
            if (tensor_entry(in_t)[3] != DVM_STORAGE_ARENA)
                continue;
            patch_u64(DVM_SEC_TENSORS, 4 + DVM_TENSOR_BYTES * out_t + 32,
                      dvm_u64(tensor_entry(in_t) + 32), 1,
                      WHAT("instruction %u output placed over input %u", k, j));
        }
    }
    const uint32_t counts[] = {0, n_instrs - 1, n_instrs + 1, UINT32_MAX};
    for (size_t v = 0; v < sizeof counts / sizeof counts[0]; v++)
        patch_u32(DVM_SEC_CODE, 0, counts[v], 1, WHAT("instruction count %u", counts[v]));
    TALLY_CHECK("code attacks");
}

/* The fixture module with a u32 or u64 of the header or section table replaced; the
 * checksum of each table entry is then recomputed over whatever it now names, when that is
 * inside the file. */
static void try_header(uint32_t at, uint64_t v, int width, const char *desc)
{
    uint8_t *b = copy_of(fx.module, fx.module_len);
    if (width == 8)
        dvm_put_u64(b + at, v);
    else
        dvm_put_u32(b + at, (uint32_t)v);
    for (uint32_t i = 0; i < n_sections; i++) {
        uint8_t *e = b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        uint64_t off = dvm_u32(e + 4), len = dvm_u32(e + 8);
        if (off + len <= fx.module_len)
            dvm_put_u32(e + 12, dvm_crc32(b + off, len));
    }
    expect_rejected(b, fx.module_len, desc);
    free(b);
}

static void test_structure_attacks(void)
{
    tally_start();
    /* header fields */
    try_header(0, 0x4454564Du, 4, "magic DTVM reversed");
    {
        uint8_t *b = copy_of(fx.module, fx.module_len);
        for (uint32_t v = 0; v < 4; v++) {
            const uint16_t versions[] = {0, 2, 0x100, 0xFFFF};
            const uint32_t fields[] = {4, 6, 6, 6};
            memcpy(b, fx.module, fx.module_len);
            dvm_put_u16(b + fields[v], versions[v]);
            expect_rejected(b, fx.module_len,
                            WHAT("header u16 at %u = %u", fields[v], versions[v]));
        }
        free(b);
    }
    const uint32_t counts[] = {0, 1, n_sections - 1, n_sections + 1, DVM_SEC_LIMIT, 255,
                               UINT32_MAX};
    for (size_t v = 0; v < sizeof counts / sizeof counts[0]; v++)
        try_header(8, counts[v], 4, WHAT("section count %u", counts[v]));
    try_header(12, 1, 4, "reserved u32 = 1");
    try_header(24, 1, 8, "reserved u64 = 1");
    const uint64_t lengths[] = {0, fx.module_len - 1, fx.module_len + 1, fx.module_len * 2,
                                1ull << 32, UINT64_MAX};
    for (size_t v = 0; v < sizeof lengths / sizeof lengths[0]; v++)
        try_header(16, lengths[v], 8, WHAT("file length %llu", (unsigned long long)lengths[v]));

    /* each table entry: kind, offset, length, checksum */
    for (uint32_t i = 0; i < n_sections; i++) {
        uint32_t e = DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        const section_ref *s = &sections[i];
        const uint32_t kinds[] = {0, s->kind - 1, s->kind + 1, 7, DVM_SEC_SIGNATURE,
                                  DVM_SEC_LIMIT, UINT32_MAX};
        for (size_t v = 0; v < sizeof kinds / sizeof kinds[0]; v++)
            if (kinds[v] != s->kind)
                try_header(e, kinds[v], 4, WHAT("section %u kind %u", i, kinds[v]));
        const uint32_t offsets[] = {0, s->off - 64, s->off + 64, s->off + 1, s->off - 1,
                                    (uint32_t)fx.module_len, UINT32_MAX - 63, UINT32_MAX};
        for (size_t v = 0; v < sizeof offsets / sizeof offsets[0]; v++)
            try_header(e + 4, offsets[v], 4, WHAT("section %u offset %u", i, offsets[v]));
        if (i > 0) {
            try_header(e + 4, sections[i - 1].off, 4,
                       WHAT("section %u overlaps section %u", i, i - 1));
            try_header(e + 4, sections[i - 1].off + sections[i - 1].len / 2 / 64 * 64, 4,
                       WHAT("section %u starts inside section %u", i, i - 1));
        }
        const uint32_t lens[] = {s->len + 1, s->len + 64, s->len - 1,
                                 (uint32_t)fx.module_len, UINT32_MAX};
        for (size_t v = 0; v < sizeof lens / sizeof lens[0]; v++)
            try_header(e + 8, lens[v], 4, WHAT("section %u length %u", i, lens[v]));
        uint8_t *b = copy_of(fx.module, fx.module_len);
        b[e + 12] ^= 1;
        expect_rejected(b, fx.module_len, WHAT("section %u checksum wrong", i));
        free(b);
    }
    /* entries swapped (out of order), and one kind twice */
    for (uint32_t i = 0; i + 1 < n_sections; i++) {
        uint8_t *b = copy_of(fx.module, fx.module_len);
        uint8_t *e = b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        uint8_t tmp[DVM_SECTION_ENTRY_BYTES];
        memcpy(tmp, e, sizeof tmp);
        memcpy(e, e + DVM_SECTION_ENTRY_BYTES, sizeof tmp);
        memcpy(e + DVM_SECTION_ENTRY_BYTES, tmp, sizeof tmp);
        expect_rejected(b, fx.module_len, WHAT("section entries %u and %u swapped", i, i + 1));
        memcpy(b, fx.module, fx.module_len);
        memcpy(e + DVM_SECTION_ENTRY_BYTES, e, DVM_SECTION_ENTRY_BYTES);
        expect_rejected(b, fx.module_len, WHAT("section entry %u twice", i));
        free(b);
    }
    /* non-zero padding between sections */
    for (uint32_t i = 0; i + 1 < n_sections; i++) {
        uint32_t end = sections[i].off + sections[i].len;
        if (end < sections[i + 1].off) {
            uint8_t *b = copy_of(fx.module, fx.module_len);
            b[sections[i + 1].off - 1] = 1;
            expect_rejected(b, fx.module_len, WHAT("padding after section %u not zero", i));
            free(b);
        }
    }
    /* sections missing, or too short or long for their contents */
    for (uint32_t i = 0; i < n_sections; i++)
        try_section(sections[i].kind, NULL, 0, 1, WHAT("section kind %u missing",
                                                       sections[i].kind));
    static const uint32_t kinds[] = {DVM_SEC_META, DVM_SEC_TENSORS, DVM_SEC_CONSTS, DVM_SEC_CODE,
                                     DVM_SEC_ATTRS, DVM_SEC_NAMES};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const section_ref *s = section(kinds[k]);
        uint8_t *bigger = calloc(s->len + 8, 1);
        memcpy(bigger, section_bytes(kinds[k]), s->len);
        const uint32_t extra[] = {1, 4, 8};
        for (size_t v = 0; v < 3; v++) {
            /* NAMES may end with more empty strings, CONSTS and ATTRS with unused words */
            int harmless = kinds[k] == DVM_SEC_NAMES ||
                           ((kinds[k] == DVM_SEC_CONSTS || kinds[k] == DVM_SEC_ATTRS) &&
                            extra[v] % 4 == 0);
            try_section(kinds[k], bigger, s->len + extra[v], !harmless,
                        WHAT("section kind %u with %u zero bytes more", kinds[k], extra[v]));
        }
        for (uint32_t cut = 1; cut <= 8 && cut <= s->len; cut++)
            try_section(kinds[k], bigger, s->len - cut, 1,
                        WHAT("section kind %u %u bytes short", kinds[k], cut));
        try_section(kinds[k], bigger, 0, 1, WHAT("section kind %u empty", kinds[k]));
        free(bigger);
    }
    TALLY_CHECK("section table and header attacks");

    /* layouts that are valid: gaps of zeros between sections, extra known sections */
    tally_start();
    size_t len;
    uint8_t *b = assemble_gap(fixture_parts, n_sections, 128, &len);
    if (try_module(b, len, "sections 128 zero bytes apart") != DETVM_OK)
        tally_fail("sections 128 zero bytes apart: refused");
    free(b);
    part parts[DVM_SEC_LIMIT];
    memcpy(parts, fixture_parts, sizeof parts);
    static const uint8_t signature[64] = {1, 2, 3};
    parts[n_sections] = (part){DVM_SEC_SIGNATURE, signature, sizeof signature};
    b = assemble(parts, n_sections + 1, &len);
    try_module(b, len, "with a signature section");
    free(b);
    parts[n_sections] = (part){7, signature, sizeof signature};
    b = assemble(parts, n_sections + 1, &len);
    try_module(b, len, "with a section of kind 7");
    free(b);
    TALLY_CHECK("valid layouts");
}

static void test_meta_attacks(void)
{
    uint8_t raw[8 + 4 * 80];
    const meta_rec *input = meta_get(DVM_META_INPUT), *outputs = meta_get(DVM_META_OUTPUTS);
    uint32_t in_tensor = dvm_u32(input->v), in_bytes = dvm_u32(input->v + 4);
    uint32_t out_tensor = dvm_u32(outputs->v + 8), out_bytes = dvm_u32(outputs->v + 4);
    uint32_t a_const = UINT32_MAX, an_arena = UINT32_MAX;
    for (uint32_t i = 0; i < n_tensors; i++) {
        if (tensor_entry(i)[3] == DVM_STORAGE_CONST && a_const == UINT32_MAX)
            a_const = i;
        if (tensor_entry(i)[3] == DVM_STORAGE_ARENA && i != in_tensor && i != out_tensor)
            an_arena = i;
    }
    tally_start();
    /* each record removed; the required ones must be there */
    for (uint32_t i = 0; i < n_meta; i++) {
        uint16_t key = fixture_meta[i].key;
        int required = key == DVM_META_INPUT || key == DVM_META_OUTPUTS ||
                       key == DVM_META_ARENA || key == DVM_META_SOURCE_FORMAT;
        try_meta(key, NULL, 0, required, WHAT("META key %u removed", key));
        try_meta(key, fixture_meta[i].v, fixture_meta[i].len ? fixture_meta[i].len - 1 : 0,
                 key != DVM_META_PRODUCER && key != DVM_META_SOURCE_VERSION &&
                     key != DVM_META_POSTPROCESS,
                 WHAT("META key %u one byte short", key));
    }
    /* unknown keys */
    const uint16_t unknown[] = {0, DVM_META_LIMIT, 100, 0xFFFF};
    for (size_t v = 0; v < sizeof unknown / sizeof unknown[0]; v++)
        try_meta(unknown[v], "x", 1, 1, WHAT("META unknown key %u", unknown[v]));

    /* the input binding */
    const uint32_t in_tensors[] = {n_tensors, UINT32_MAX, a_const, an_arena, out_tensor};
    for (size_t v = 0; v < sizeof in_tensors / sizeof in_tensors[0]; v++) {
        dvm_put_u32(raw, in_tensors[v]);
        dvm_put_u32(raw + 4, in_bytes);
        try_meta(DVM_META_INPUT, raw, 8,
                 in_tensors[v] >= n_tensors || in_tensors[v] == a_const,
                 WHAT("META input tensor %u", in_tensors[v]));
    }
    const uint32_t elem_bytes[] = {0, 1, 2, 3, 4, 5, 8, UINT32_MAX};
    for (size_t v = 0; v < sizeof elem_bytes / sizeof elem_bytes[0]; v++) {
        dvm_put_u32(raw, in_tensor);
        dvm_put_u32(raw + 4, elem_bytes[v]);
        try_meta(DVM_META_INPUT, raw, 8, elem_bytes[v] != 1 && elem_bytes[v] != 4,
                 WHAT("META input element bytes %u", elem_bytes[v]));
        dvm_put_u32(raw, 1);
        dvm_put_u32(raw + 4, elem_bytes[v]);
        dvm_put_u32(raw + 8, out_tensor);
        try_meta(DVM_META_OUTPUTS, raw, 12, elem_bytes[v] != 1 && elem_bytes[v] != 4,
                 WHAT("META output element bytes %u", elem_bytes[v]));
    }
    try_meta(DVM_META_INPUT, raw, 12, 1, "META input of 12 bytes");

    /* the output bindings */
    const uint32_t out_counts[] = {0, 2, 64, 65, UINT32_MAX};
    for (size_t v = 0; v < sizeof out_counts / sizeof out_counts[0]; v++) {
        dvm_put_u32(raw, out_counts[v]);
        dvm_put_u32(raw + 4, out_bytes);
        for (uint32_t k = 0; k < 80; k++)
            dvm_put_u32(raw + 8 + 4 * k, out_tensor);
        uint32_t n = out_counts[v] <= 64 ? out_counts[v] : 64;
        try_meta(DVM_META_OUTPUTS, raw, 8 + 4 * n, out_counts[v] == 0 || out_counts[v] > 64,
                 WHAT("META %u outputs", out_counts[v]));
        if (n > 0)
            try_meta(DVM_META_OUTPUTS, raw, 8 + 4 * (n - 1), 1,
                     WHAT("META %u outputs, one missing", out_counts[v]));
    }
    for (uint32_t t = 0; t <= n_tensors; t++) {
        dvm_put_u32(raw, 2);
        dvm_put_u32(raw + 4, out_bytes);
        dvm_put_u32(raw + 8, out_tensor);
        dvm_put_u32(raw + 12, t);
        try_meta(DVM_META_OUTPUTS, raw, 16,
                 t >= n_tensors || tensor_entry(t)[3] == DVM_STORAGE_CONST,
                 WHAT("META outputs %u and %u", out_tensor, t));
    }

    /* postprocess, with each output element size and a second output of each shape: argmax
     * writes 4-byte indices, detection interleaves rows */
    const char *const posts[] = {"argmax", "detection", "argmax\0junk", "none",
                                 "0123456789012345678901234567890123456789"};
    const uint32_t post_lens[] = {6, 9, 11, 4, 40};
    for (size_t p = 0; p < sizeof posts / sizeof posts[0]; p++) {
        for (uint32_t ob = 1; ob <= 4; ob += 3) {
            for (uint32_t second = 0; second <= n_tensors; second++) {
                uint32_t n_out = second == n_tensors ? 1 : 2;
                if (n_out == 2 && tensor_entry(second)[3] != DVM_STORAGE_ARENA)
                    continue;
                uint8_t *meta = calloc(section(DVM_SEC_META)->len + 256, 1);
                uint32_t pos = 0;
                for (uint32_t i = 0; i < n_meta; i++) {
                    const meta_rec *r = &fixture_meta[i];
                    if (r->key == DVM_META_POSTPROCESS) {
                        pos += put_record(meta + pos, r->key, posts[p], post_lens[p]);
                    } else if (r->key == DVM_META_OUTPUTS) {
                        dvm_put_u32(raw, n_out);
                        dvm_put_u32(raw + 4, ob);
                        dvm_put_u32(raw + 8, out_tensor);
                        dvm_put_u32(raw + 12, second);
                        pos += put_record(meta + pos, r->key, raw, 8 + 4 * n_out);
                    } else {
                        pos += put_record(meta + pos, r->key, r->v, r->len);
                    }
                }
                try_section(DVM_SEC_META, meta, pos, 0,
                            WHAT("postprocess '%s', %u-byte elements, outputs %u and %d",
                                 posts[p], ob, out_tensor, n_out == 2 ? (int)second : -1));
                free(meta);
            }
        }
    }

    /* arena and scratch */
    const uint64_t arenas[] = {0, arena_bytes - 4, arena_bytes + 4, arena_bytes + 2,
                               1ull << 39, 1ull << 40, (1ull << 40) + 4, UINT64_MAX - 3};
    for (size_t v = 0; v < sizeof arenas / sizeof arenas[0]; v++) {
        dvm_put_u64(raw, arenas[v]);
        dvm_put_u64(raw + 8, scratch_bytes);
        int bad = arenas[v] < arena_bytes - 4 || arenas[v] % 4 != 0 || arenas[v] > (1ull << 40);
        try_meta(DVM_META_ARENA, raw, 16, bad,
                 WHAT("META arena %llu bytes", (unsigned long long)arenas[v]));
        dvm_put_u64(raw, arena_bytes);
        dvm_put_u64(raw + 8, arenas[v]);
        try_meta(DVM_META_ARENA, raw, 16, arenas[v] % 4 != 0 || arenas[v] > (1ull << 40),
                 WHAT("META scratch %llu bytes", (unsigned long long)arenas[v]));
    }
    /* fixed-size records with other sizes, and odd values */
    dvm_put_u64(raw, UINT64_MAX);
    dvm_put_u64(raw + 8, UINT64_MAX);
    try_meta(DVM_META_GAS, raw, 8, 0, "META gas 2^64-1");
    try_meta(DVM_META_GAS, raw, 16, 1, "META gas of 16 bytes");
    try_meta(DVM_META_STORAGE_SIZE, raw, 4, 1, "META storage size of 4 bytes");
    try_meta(DVM_META_SOURCE_FORMAT, raw, 4, 0, "META source format 2^32-1");
    try_meta(DVM_META_SOURCE_FORMAT, raw, 8, 1, "META source format of 8 bytes");
    try_meta(DVM_META_SOURCE_HASH, raw, 16, 1, "META source hash of 16 bytes");
    try_meta(DVM_META_ARENA, raw, 8, 1, "META arena of 8 bytes");
    try_meta(DVM_META_WARNINGS, "abc", 3, 1, "META warnings not NUL-terminated");
    try_meta(DVM_META_WARNINGS, "a\0\0b\0", 5, 0, "META warnings with an empty one");
    try_meta(DVM_META_WARNINGS, "", 0, 0, "META warnings empty");
    const meta_rec *layer_gas = meta_get(DVM_META_LAYER_GAS);
    uint8_t *gas = calloc(layer_gas->len + 16, 1);
    memcpy(gas, layer_gas->v, layer_gas->len);
    const uint32_t gas_lens[] = {0, 8, layer_gas->len - 8, layer_gas->len - 1, layer_gas->len + 1,
                                 layer_gas->len + 8};
    for (size_t v = 0; v < sizeof gas_lens / sizeof gas_lens[0]; v++)
        try_meta(DVM_META_LAYER_GAS, gas, gas_lens[v], 1,
                 WHAT("META layer gas of %u bytes", gas_lens[v]));
    free(gas);
    char *long_text = repeat_text("", "producer ", 500, "");
    try_meta(DVM_META_PRODUCER, long_text, (uint32_t)strlen(long_text), 0, "META long producer");
    try_meta(DVM_META_SOURCE_VERSION, long_text, (uint32_t)strlen(long_text), 0,
             "META long source version");
    try_meta(DVM_META_POSTPROCESS, long_text, (uint32_t)strlen(long_text), 0,
             "META long postprocess");
    free(long_text);

    /* the record structure itself */
    const section_ref *ms = section(DVM_SEC_META);
    uint8_t *meta = calloc(ms->len + 64, 1);
    uint32_t pos = 0;
    for (uint32_t i = 0; i < n_meta; i++) { /* the first two records swapped */
        uint32_t j = i == 0 ? 1 : i == 1 ? 0 : i;
        pos += put_record(meta + pos, fixture_meta[j].key, fixture_meta[j].v, fixture_meta[j].len);
    }
    try_section(DVM_SEC_META, meta, pos, 1, "META records out of order");
    pos = 0;
    for (uint32_t i = 0; i < n_meta; i++) {
        pos += put_record(meta + pos, fixture_meta[i].key, fixture_meta[i].v, fixture_meta[i].len);
        if (i == 0)
            pos += put_record(meta + pos, fixture_meta[i].key, fixture_meta[i].v,
                              fixture_meta[i].len);
    }
    try_section(DVM_SEC_META, meta, pos, 1, "META first record twice");
    memcpy(meta, section_bytes(DVM_SEC_META), ms->len);
    for (uint32_t extra = 1; extra <= 8; extra++)
        try_section(DVM_SEC_META, meta, ms->len + extra, 1,
                    WHAT("META with %u zero bytes after the last record", extra));
    for (uint32_t p = 0, i = 0; i < n_meta; p += 8 + fixture_meta[i].len, i++) {
        memcpy(meta, section_bytes(DVM_SEC_META), ms->len);
        dvm_put_u16(meta + p + 2, 1);
        try_section(DVM_SEC_META, meta, ms->len, 1, WHAT("META record %u reserved field 1", i));
        memcpy(meta, section_bytes(DVM_SEC_META), ms->len);
        const uint32_t lens[] = {ms->len - p - 8 + 1, ms->len, UINT32_MAX - 7, UINT32_MAX};
        for (size_t v = 0; v < sizeof lens / sizeof lens[0]; v++) {
            dvm_put_u32(meta + p + 4, lens[v]);
            try_section(DVM_SEC_META, meta, ms->len, 1,
                        WHAT("META record %u length %u", i, lens[v]));
        }
    }
    free(meta);

    /* the bindings' quantization (TFLite modules) and the rounding of requantizing ops */
    uint32_t n_bindings = 1 + dvm_u32(outputs->v);
    uint8_t quant[12 * (1 + 64) + 12];
    const float scales[] = {0.5f, 1e-30f, 0.0f, -1.0f, NAN, INFINITY, 1e31f};
    for (size_t v = 0; v < sizeof scales / sizeof scales[0]; v++) {
        for (uint32_t flags = 0; flags <= 2; flags++) {
            for (uint32_t b = 0; b < n_bindings + 1; b++) {
                uint32_t bits;
                memcpy(&bits, &scales[v], 4);
                dvm_put_u32(quant + 12 * b, bits);
                dvm_put_u32(quant + 12 * b + 4, (uint32_t)-3);
                dvm_put_u32(quant + 12 * b + 8, flags);
            }
            int bad = !(scales[v] > 0 && scales[v] < 1e30f) || flags > 1;
            try_meta(DVM_META_IO_QUANT, quant, 12 * n_bindings, bad,
                     WHAT("META io quantization scale %g flags %u", (double)scales[v], flags));
            try_meta(DVM_META_IO_QUANT, quant, 12 * (n_bindings - 1), 1,
                     WHAT("META io quantization, one binding short (scale %g)",
                          (double)scales[v]));
            try_meta(DVM_META_IO_QUANT, quant, 12 * (n_bindings + 1), 1,
                     WHAT("META io quantization, one binding too many (scale %g)",
                          (double)scales[v]));
        }
    }
    const uint32_t roundings[] = {0, 1, 2, UINT32_MAX};
    for (size_t v = 0; v < sizeof roundings / sizeof roundings[0]; v++) {
        dvm_put_u32(raw, roundings[v]);
        try_meta(DVM_META_ROUNDING, raw, 4, roundings[v] > 1,
                 WHAT("META rounding %u", roundings[v]));
        try_meta(DVM_META_ROUNDING, raw, 3, 1, WHAT("META rounding %u in 3 bytes", roundings[v]));
    }
    /* device segments: (first, count, device) records; a valid k210 segment over instructions
     * the device does not take simply runs on the CPU */
    const struct {
        uint32_t n, first[2], count[2], device[2], len_delta;
        int bad;
        const char *what;
    } segments[] = {
        {0, {0}, {0}, {0}, 0, 0, "no segments"},
        {1, {0}, {1}, {1}, 0, 0, "one k210 segment of one instruction"},
        {1, {0}, {n_instrs}, {1}, 0, 0, "one k210 segment over the whole code"},
        {2, {0, 2}, {1, 3}, {1, 1}, 0, 0, "two k210 segments"},
        {1, {0}, {1}, {0}, 0, 1, "a segment for the CPU"},
        {1, {0}, {1}, {2}, 0, 1, "a segment for device 2"},
        {1, {0}, {1}, {UINT32_MAX}, 0, 1, "a segment for device 2^32-1"},
        {1, {0}, {0}, {1}, 0, 1, "an empty segment"},
        {1, {1}, {n_instrs}, {1}, 0, 1, "a segment past the code"},
        {1, {UINT32_MAX}, {2}, {1}, 0, 1, "a segment whose end wraps"},
        {2, {2, 0}, {1, 1}, {1, 1}, 0, 1, "segments out of order"},
        {2, {0, 1}, {2, 2}, {1, 1}, 0, 1, "overlapping segments"},
        {1, {0}, {1}, {1}, 4, 1, "a segment record with 4 extra bytes"},
        {2, {0, 2}, {1, 1}, {1, 1}, (uint32_t)-12, 1, "a count above the records"},
    };
    for (size_t v = 0; v < sizeof segments / sizeof segments[0]; v++) {
        uint8_t rec[4 + 3 * 4 * 2 + 4] = {0};
        dvm_put_u32(rec, segments[v].n);
        for (uint32_t i = 0; i < segments[v].n; i++) {
            dvm_put_u32(rec + 4 + 12 * i, segments[v].first[i]);
            dvm_put_u32(rec + 8 + 12 * i, segments[v].count[i]);
            dvm_put_u32(rec + 12 + 12 * i, segments[v].device[i]);
        }
        try_meta(DVM_META_SEGMENTS, rec, 4 + 12 * segments[v].n + segments[v].len_delta,
                 segments[v].bad, WHAT("META %s", segments[v].what));
    }
    TALLY_CHECK("META attacks");
}

static void test_names_and_data_attacks(void)
{
    const section_ref *ns = section(DVM_SEC_NAMES);
    uint8_t *names = copy_of(section_bytes(DVM_SEC_NAMES), ns->len);
    tally_start();
    names[0] = 'x';
    try_section(DVM_SEC_NAMES, names, ns->len, 1, "NAMES not starting with the empty string");
    memcpy(names, section_bytes(DVM_SEC_NAMES), ns->len);
    names[ns->len - 1] = 'x';
    try_section(DVM_SEC_NAMES, names, ns->len, 1, "NAMES not NUL-terminated");
    memset(names, 0, ns->len);
    try_section(DVM_SEC_NAMES, names, ns->len, 0, "NAMES all zero (every name empty)");
    memset(names, 'a', ns->len);
    names[0] = 0;
    try_section(DVM_SEC_NAMES, names, ns->len, 1, "NAMES one unterminated string");
    free(names);

    const section_ref *as = section(DVM_SEC_ATTRS);
    const uint32_t values[] = {0, 1, 2, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFEu, 64};
    for (uint32_t i = 0; i < as->len / 4; i++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
            patch_u32(DVM_SEC_ATTRS, 4 * i, values[v], 0,
                      WHAT("attribute %u = %d", i, (int32_t)values[v]));
    const section_ref *cs = section(DVM_SEC_CONSTS);
    for (uint32_t i = 0; i < cs->len / 4; i++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
            patch_u32(DVM_SEC_CONSTS, 4 * i, values[v], 0,
                      WHAT("constant word %u = %d", i, (int32_t)values[v]));
    TALLY_CHECK("NAMES, ATTRS and CONSTS values");
}

/* The module with byte `at` set to v (or the u32 there when word is set) and the checksum of
 * table entry `entry` repaired. */
static void try_changed(const op_module *om, uint32_t entry, uint32_t at, uint32_t v, int word,
                        const char *desc)
{
    uint8_t *b = copy_of(om->bytes, om->len);
    uint8_t *e = b + DVM_HEADER_BYTES + entry * DVM_SECTION_ENTRY_BYTES;
    if (word)
        dvm_put_u32(b + at, v);
    else
        b[at] = (uint8_t)v;
    dvm_put_u32(e + 12, dvm_crc32(b + dvm_u32(e + 4), dvm_u32(e + 8)));
    try_module(b, om->len, desc);
    free(b);
}

/* Each operator's module, attacked where its operator shows: every byte of TENSORS, CONSTS,
 * CODE and ATTRS changed, every attribute and constant word set to boundary values, every
 * instruction given every opcode. The checksums are repaired each time. */
static void test_operator_modules(void)
{
    static const uint8_t xors[] = {0x01, 0x80, 0xFF};
    static const uint32_t words[] = {0,          1,          2,          3,          4,
                                     5,          6,          7,          8,          13,
                                     31,         32,         33,         100,        0xFFFF,
                                     1u << 24,   0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF,
                                     0xFFFFFFFE, 0xFFFFFFF0};
    tally_start();
    for (uint32_t m = 0; m < n_op_modules; m++) {
        const op_module *om = &op_modules[m];
        uint32_t n = dvm_u32(om->bytes + 8);
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *e = om->bytes + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
            uint32_t kind = dvm_u32(e), off = dvm_u32(e + 4), len = dvm_u32(e + 8);
            if (kind == DVM_SEC_META || kind == DVM_SEC_NAMES)
                continue;
            for (uint32_t j = 0; j < len; j++) {
                uint8_t old = om->bytes[off + j];
                for (size_t x = 0; x < sizeof xors; x++)
                    try_changed(om, i, off + j, old ^ xors[x], 0,
                                WHAT("%s module: section %u byte %u ^ 0x%02x", om->op, kind, j,
                                     xors[x]));
                if (old != 0)
                    try_changed(om, i, off + j, 0, 0,
                                WHAT("%s module: section %u byte %u = 0", om->op, kind, j));
            }
            if (kind == DVM_SEC_ATTRS || kind == DVM_SEC_CONSTS || kind == DVM_SEC_TENSORS)
                for (uint32_t j = 0; j + 4 <= len; j += 4)
                    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
                        try_changed(om, i, off + j, words[w], 1,
                                    WHAT("%s module: section %u word %u = %d", om->op, kind,
                                         j / 4, (int32_t)words[w]));
            if (kind == DVM_SEC_CODE) {
                uint32_t pos = off + 4;
                for (uint32_t k = 0; k < dvm_u32(om->bytes + off); k++) {
                    for (uint32_t op = 1; op < 128; op++) {
                        uint8_t *b = copy_of(om->bytes, om->len);
                        dvm_put_u16(b + pos, (uint16_t)op);
                        dvm_put_u32(b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES + 12,
                                    dvm_crc32(b + off, len));
                        try_module(b, om->len,
                                   WHAT("%s module: instruction %u opcode %u", om->op, k, op));
                        free(b);
                    }
                    pos += DVM_INSTR_FIXED_BYTES +
                           4u * (om->bytes[pos + 2] + om->bytes[pos + 3]);
                }
            }
        }
    }
    /* and several changes at once */
    static const uint32_t kinds[] = {DVM_SEC_META, DVM_SEC_TENSORS, DVM_SEC_CONSTS,
                                     DVM_SEC_CODE, DVM_SEC_ATTRS};
    for (long round = 0, rounds = fuzz_rounds(20000); round < rounds; round++) {
        const op_module *om = &op_modules[rng() % n_op_modules];
        uint8_t *b = copy_of(om->bytes, om->len);
        for (uint32_t c = 0, changes = 2 + rng() % 4; c < changes; c++) {
            uint32_t kind = kinds[rng() % (sizeof kinds / sizeof kinds[0])];
            for (uint32_t i = 0; i < dvm_u32(b + 8); i++) {
                uint8_t *e = b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
                uint32_t off = dvm_u32(e + 4), len = dvm_u32(e + 8);
                if (dvm_u32(e) != kind || len < 4)
                    continue;
                if (rng() % 2)
                    dvm_put_u32(b + off + rng() % (len / 4) * 4,
                                words[rng() % (sizeof words / sizeof words[0])]);
                else
                    b[off + rng() % len] ^= (uint8_t)(1u << (rng() % 8));
                dvm_put_u32(e + 12, dvm_crc32(b + off, len));
            }
        }
        try_module(b, om->len, WHAT("%s module: random changes, round %ld", om->op, round));
        free(b);
    }
    TALLY_CHECK("every operator's module attacked");
    for (uint32_t m = 0; m < n_op_modules; m++)
        free(op_modules[m].bytes);
}

/* A module declaring more arena or scratch than its tensors and kernels need is refused, so
 * that no module can make a session allocate memory it does not use. */
static void test_huge_arena(void)
{
    uint8_t raw[16];
    dvm_put_u64(raw, 1ull << 40);
    dvm_put_u64(raw + 8, 1ull << 40);
    uint8_t *meta = calloc(section(DVM_SEC_META)->len, 1);
    uint32_t pos = 0;
    for (uint32_t i = 0; i < n_meta; i++) {
        const meta_rec *r = &fixture_meta[i];
        pos += put_record(meta + pos, r->key, r->key == DVM_META_ARENA ? raw : r->v, r->len);
    }
    part parts[DVM_SEC_LIMIT];
    memcpy(parts, fixture_parts, sizeof parts);
    for (uint32_t i = 0; i < n_sections; i++)
        if (parts[i].kind == DVM_SEC_META)
            parts[i] = (part){DVM_SEC_META, meta, pos};
    size_t len;
    uint8_t *b = assemble(parts, n_sections, &len);
    detvm_module *m = NULL;
    detvm_error err;
    memset(&err, 0, sizeof err);
    detvm_status st = detvm_module_load(b, len, &m, &err);
    CHECK(st == DETVM_EINVALID && m == NULL && strstr(err.message, "arena"),
          "a module declaring 2^40 bytes of arena and scratch is refused: %d '%s'", st,
          err.message);
    detvm_module_free(m);
    free(b);
    free(meta);
}

/* Several changes at once, in random sections, each checksum repaired: single bytes, and
 * 32-bit words set to values that sit on the validator's bounds. */
static void test_random_module_mutations(void)
{
    static const uint32_t kinds[] = {DVM_SEC_META, DVM_SEC_TENSORS, DVM_SEC_CONSTS,
                                     DVM_SEC_CODE, DVM_SEC_ATTRS,   DVM_SEC_NAMES};
    const uint32_t words[] = {0,          1,          2,           3,
                              4,          6,          7,           8,
                              32,         33,         64,          0xFF,
                              0x100,      1u << 24,   (1u << 24) + 1, 0x7FFFFFFF,
                              0x80000000, 0xFFFFFFFF, 0xFFFFFFFE,  n_tensors,
                              n_tensors - 1, n_instrs, attr_count, (uint32_t)arena_bytes,
                              (uint32_t)arena_bytes * 2, 1u << 20};
    tally_start();
    for (long round = 0, rounds = fuzz_rounds(20000); round < rounds; round++) {
        uint8_t *b = copy_of(fx.module, fx.module_len);
        uint32_t changes = 2 + rng() % 4;
        for (uint32_t c = 0; c < changes; c++) {
            uint32_t kind = kinds[rng() % (sizeof kinds / sizeof kinds[0])];
            const section_ref *s = section(kind);
            if (s->len >= 4 && rng() % 2) {
                uint32_t at = s->off + rng() % (s->len / 4) * 4;
                dvm_put_u32(b + at, words[rng() % (sizeof words / sizeof words[0])]);
            } else if (rng() % 2) {
                b[s->off + rng() % s->len] ^= (uint8_t)(1u << (rng() % 8));
            } else {
                b[s->off + rng() % s->len] = (uint8_t)rng();
            }
            fix_crc(b, kind);
        }
        try_module(b, fx.module_len, WHAT("random changes, round %ld", round));
        free(b);
    }
    TALLY_CHECK("random changes in several sections, checksums repaired");
}

/* ======================================================================================= */
/* 4. Runs with wrong buffers                                                              */
/* ======================================================================================= */

static void test_run_buffers(void)
{
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err;
    detvm_status st = detvm_module_load(fx.module, fx.module_len, &m, &err);
    if (!st)
        st = detvm_session_new(m, &s, &err);
    CHECK(st == DETVM_OK, "fixture module: %d '%s'", st, err.message);
    if (st)
        return;
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    CHECK(info.input_len == fx.input_len && info.output_len == fx.expected_len,
          "fixture I/O lengths %llu %llu", (unsigned long long)info.input_len,
          (unsigned long long)info.output_len);
    uint8_t *out = malloc(fx.expected_len);
    uint8_t *big = calloc(fx.input_len + 64, 1);
    memcpy(big, fx.input, fx.input_len);

    const size_t in_lens[] = {0, 1, fx.input_len - 1, fx.input_len + 1, fx.input_len * 4,
                              SIZE_MAX};
    for (size_t v = 0; v < sizeof in_lens / sizeof in_lens[0]; v++) {
        size_t n = in_lens[v];
        uint8_t *in = n <= fx.input_len + 64 ? copy_of(big, n) : big;
        memset(&err, 0, sizeof err);
        st = detvm_run(s, in, n, out, fx.expected_len, &err);
        CHECK(st == DETVM_EINVALID && is_clean(st, &err) && strstr(err.message, "input"),
              "input of %zu bytes: status %d '%s'", n, st, err.message);
        if (in != big)
            free(in);
    }
    memset(&err, 0, sizeof err);
    st = detvm_run(s, NULL, fx.input_len, out, fx.expected_len, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err) && strstr(err.message, "input"),
          "NULL input: status %d '%s'", st, err.message);
    memset(&err, 0, sizeof err);
    st = detvm_run(s, NULL, 0, out, fx.expected_len, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err) && strstr(err.message, "input"),
          "NULL input of 0 bytes: status %d '%s'", st, err.message);

    const size_t out_lens[] = {0, 1, fx.expected_len - 1, fx.expected_len + 1, SIZE_MAX};
    for (size_t v = 0; v < sizeof out_lens / sizeof out_lens[0]; v++) {
        size_t n = out_lens[v];
        uint8_t *o = n <= fx.expected_len + 1 ? malloc(n ? n : 1) : out;
        memset(&err, 0, sizeof err);
        st = detvm_run(s, fx.input, fx.input_len, o, n, &err);
        CHECK(st == DETVM_EINVALID && is_clean(st, &err) && strstr(err.message, "output"),
              "output buffer of %zu bytes: status %d '%s'", n, st, err.message);
        if (o != out)
            free(o);
    }
    memset(&err, 0, sizeof err);
    st = detvm_run(s, fx.input, fx.input_len, NULL, fx.expected_len, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err) && strstr(err.message, "output"),
          "NULL output: status %d '%s'", st, err.message);

    detvm_step step;
    memset(&err, 0, sizeof err);
    st = detvm_run_until(s, fx.input, fx.input_len, info.n_instructions, &step, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err), "run_until past the end: %d '%s'", st,
          err.message);
    memset(&err, 0, sizeof err);
    st = detvm_run_until(s, fx.input, fx.input_len - 1, 0, &step, &err);
    CHECK(st == DETVM_EINVALID && is_clean(st, &err) && strstr(err.message, "input"),
          "run_until with a short input: %d '%s'", st, err.message);

    /* after all that, the session still gives the right answer */
    memset(&err, 0, sizeof err);
    st = detvm_run(s, fx.input, fx.input_len, out, fx.expected_len, &err);
    CHECK(st == DETVM_OK && memcmp(out, fx.expected, fx.expected_len) == 0,
          "the session still runs correctly after refused runs: %d '%s'", st, err.message);
    free(big);
    free(out);
    detvm_session_free(s);
    detvm_module_free(m);
}

static void test_model_files(void)
{
    static const struct {
        const char *model, *params;
        int want;
    } cases[] = {
        {"no/such/model.json", FIXTURE "params.bin", DETVM_ERUNTIME},
        {FIXTURE "symbol.json", "no/such/params.bin", DETVM_ERUNTIME},
        {"no\nsuch\tfile", NULL, DETVM_ERUNTIME},
        {"fixtures", FIXTURE "params.bin", DETVM_ERUNTIME},
        {FIXTURE "symbol.json", "fixtures", DETVM_ERUNTIME},
        {FIXTURE "symbol.json", NULL, DETVM_EINVALID},
        {FIXTURE "input.bin", FIXTURE "params.bin", DETVM_ERUNTIME},
        {FIXTURE "params.bin", FIXTURE "symbol.json", DETVM_ERUNTIME},
        {FIXTURE "symbol.json", FIXTURE "symbol.json", DETVM_EINVALID},
        {"/dev/null", FIXTURE "params.bin", DETVM_ERUNTIME},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *mod = (uint8_t *)1;
        size_t len = 7;
        detvm_error err;
        memset(&err, 0, sizeof err);
        detvm_status st = detvm_load_model_files(cases[i].model, cases[i].params, NULL, &mod, &len, &err);
        CHECK(st == (detvm_status)cases[i].want && is_clean(st, &err) && mod == NULL && len == 0,
              "load_model_files(%s, %s): status %d '%s', want %d", cases[i].model,
              cases[i].params ? cases[i].params : "NULL", st, err.message, cases[i].want);
    }
}

int main(void)
{
    fx.json = (char *)read_file(FIXTURE "symbol.json", &fx.json_len);
    fx.params = read_file(FIXTURE "params.bin", &fx.params_len);
    fx.input = read_file(FIXTURE "input.bin", &fx.input_len);
    fx.expected = read_file(FIXTURE "expected.bin", &fx.expected_len);
    if (!fx.json || !fx.params || !fx.input || !fx.expected) {
        CHECK(0, "cannot read the fixture " FIXTURE);
        return check_summary("test_broken_files");
    }
    detvm_error err;
    detvm_status st = compile(fx.json, fx.json_len, fx.params, fx.params_len, &fx.module,
                              &fx.module_len, &err);
    CHECK(st == DETVM_OK, "the fixture compiles: %s", err.message);
    if (st)
        return check_summary("test_broken_files");
    read_layout();
    read_meta_records();
    CHECK(n_sections == 6 && n_instrs > 0 && n_instrs <= 64 && n_tensors > 0,
          "the fixture module has the expected layout");

    test_json_truncations();
    test_hostile_documents();
    test_long_chain();
    test_big_declared_params();
    test_json_byte_changes();
    test_operator_attributes();
    test_params();
    test_module_baseline();
    test_module_truncations_and_flips();
    test_section_bytes();
    test_tensor_attacks();
    test_int8_storage_attacks();
    test_code_attacks();
    test_structure_attacks();
    test_meta_attacks();
    test_names_and_data_attacks();
    test_random_module_mutations();
    test_huge_arena();
    test_operator_modules();
    test_model_files();
    test_run_buffers();

    free(fx.json);
    free(fx.params);
    free(fx.input);
    free(fx.expected);
    free(fx.module);
    return check_summary("test_broken_files");
}
