/* The PACKS section (vm/module_format.h, vm/packs.c): weights the compiler pre-packs for the
 * kernel variants this CPU runs, which sessions then use in place instead of packing their own.
 * PACKS is derived data that must never change a result, so every check here holds it to
 * something it cannot influence: the module's other sections, the module id computed by its
 * definition, TensorFlow Lite Micro's goldens, and the reference kernels' outputs.
 *
 *   1. hello_world_int8 (the fixture, always): compiled with and without packs, the section
 *      tables, ids and non-PACKS bytes agree; every entry's fields match what the variant this
 *      CPU picks would pack; both modules give the goldens and the reference kernels' output for
 *      all 256 inputs at every kernel level; and a session's steps run on the module's own bytes
 *      (or, without packs, on blocks of their own).
 *   2. Hostile PACKS: each broken field refused with a one-line "PACKS" message naming it;
 *      entries this build cannot check (another layout, an unknown instruction set, bytes not
 *      64-byte aligned in memory) loaded but unused, with the outputs unchanged; and an entry
 *      of length 0 for an instruction that packs nothing, refused or unused.
 *   3. Random convolutions built as IR (CVM CONV2D, CONV2D_SHIFT and CONV2D_SHIFT_MAX_POOL with
 *      groups and depthwise shapes, int8 activations between them, QCONV2D, QDEPTHWISE_CONV2D,
 *      QFULLY_CONNECTED), emitted without packs, with this CPU's, with AVX2's only, and with
 *      both AVX2's and VNNI's entries for one instruction: every module and every kernel level
 *      gives the reference kernels' bytes, with each step on the bytes it should use.
 *   4. MobileNetV2 from ../shared, when present: its convolutions, depthwise convolutions and
 *      fully connected layer are packed, used in place, and the output is the golden.
 *
 * On a CPU without AVX2 (or not x86) the compiler writes no PACKS: the pack-specific checks are
 * skipped with a message, and the outputs are still checked. DETVM_TEST_SEED changes the seed
 * of part 3; a failing graph's message quotes the seed that draws it first. */
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "corpus.h"
#include "detvm.h"
#include "ir.h"
#include "ir_build.h"
#include "module_format.h"
#include "nn_attrs.h"
#include "qnn_attrs.h"
#include "quant.h"
#include "random.h"
#include "session.h"
#include "variant.h"

#define HELLO "fixtures/tflite/hello_world_int8"
#define MOBILENET "models/tflite/mobilenet_v2_quantized_1x3x224x224"

/* ---- the section table, read directly -------------------------------------------------------- */

typedef struct {
    uint32_t kind, off, len, crc;
} sec_ref;

typedef struct {
    uint32_t n;
    sec_ref s[DVM_SEC_LIMIT];
} sec_table;

/* The table of a module this test compiled (so well-formed; bounds are checked regardless). */
static sec_table table_of(const uint8_t *b, size_t len)
{
    sec_table t;
    memset(&t, 0, sizeof t);
    uint32_t n = len >= DVM_HEADER_BYTES ? dvm_u32(b + 8) : 0;
    for (uint32_t i = 0; i < n && i < DVM_SEC_LIMIT; i++) {
        const size_t at = DVM_HEADER_BYTES + (size_t)i * DVM_SECTION_ENTRY_BYTES;
        if (at + DVM_SECTION_ENTRY_BYTES > len)
            break;
        t.s[t.n++] = (sec_ref){dvm_u32(b + at), dvm_u32(b + at + 4), dvm_u32(b + at + 8),
                               dvm_u32(b + at + 12)};
    }
    return t;
}

static const sec_ref *sec_find(const sec_table *t, uint32_t kind)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->s[i].kind == kind)
            return &t->s[i];
    return NULL;
}

/* The module id by include/detvm.h's definition, as tests/test_vm.c computes it: BLAKE2b-256
 * over "DTVM", the format version, then (kind, length, bytes) of each section but PACKS (7)
 * and SIGNATURE (8). */
static void expected_id(const uint8_t *b, size_t len, uint8_t id[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, b, 6);
    sec_table t = table_of(b, len);
    for (uint32_t i = 0; i < t.n; i++) {
        if (t.s[i].kind == 7 || t.s[i].kind == 8)
            continue;
        uint8_t raw[4];
        dvm_put_u32(raw, t.s[i].kind);
        crypto_generichash_update(&h, raw, 4);
        dvm_put_u32(raw, t.s[i].len);
        crypto_generichash_update(&h, raw, 4);
        crypto_generichash_update(&h, b + t.s[i].off, t.s[i].len);
    }
    crypto_generichash_final(&h, id, 32);
}

/* 1 when the two modules have the same sections but PACKS, in the same order, with the same
 * checksums and bytes: adding PACKS must not disturb anything else. (Their offsets may differ:
 * one more row in the section table can push the first section to the next 64 bytes.) */
static int same_but_packs(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                          char *why, size_t cap)
{
    sec_table ta = table_of(a, a_len), tb = table_of(b, b_len);
    uint32_t i = 0, j = 0;
    for (;;) {
        while (i < ta.n && ta.s[i].kind == DVM_SEC_PACKS)
            i++;
        while (j < tb.n && tb.s[j].kind == DVM_SEC_PACKS)
            j++;
        if (i == ta.n || j == tb.n)
            break;
        const sec_ref *x = &ta.s[i++], *y = &tb.s[j++];
        if (x->kind != y->kind || x->len != y->len || x->crc != y->crc ||
            memcmp(a + x->off, b + y->off, x->len) != 0) {
            snprintf(why, cap, "section kind %u differs", x->kind);
            return 0;
        }
    }
    if (i != ta.n || j != tb.n) {
        snprintf(why, cap, "the section lists differ");
        return 0;
    }
    return 1;
}

/* ---- modules laid out by hand ---------------------------------------------------------------- */

typedef struct {
    void *block;     /* what to free */
    uint8_t *p;      /* the module, `misalign` bytes past a 64-byte boundary */
    size_t len;
} modbuf;

static size_t align64(size_t v)
{
    return (v + DVM_ALIGN - 1) / DVM_ALIGN * DVM_ALIGN;
}

/* The sections of `base` but its PACKS, then (packs, packs_len) as PACKS when packs is not
 * NULL, laid out as loader/emit.c's assemble does (header, table, each section at the next
 * multiple of 64, checksums and file length filled in), `misalign` bytes past a 64-byte
 * boundary in memory. Every checksum being recomputed, a module made this way is wrong only
 * where the test put something wrong. */
static modbuf assemble(const uint8_t *base, size_t base_len, const uint8_t *packs,
                       uint32_t packs_len, size_t misalign)
{
    sec_table t = table_of(base, base_len);
    sec_ref parts[DVM_SEC_LIMIT];
    const uint8_t *src[DVM_SEC_LIMIT];
    uint32_t n = 0;
    for (uint32_t i = 0; i < t.n; i++)
        if (t.s[i].kind != DVM_SEC_PACKS) {
            parts[n] = t.s[i];
            src[n++] = base + t.s[i].off;
        }
    if (packs) {
        parts[n] = (sec_ref){DVM_SEC_PACKS, 0, packs_len, 0};
        src[n++] = packs;
    }
    size_t total = DVM_HEADER_BYTES + (size_t)n * DVM_SECTION_ENTRY_BYTES;
    for (uint32_t i = 0; i < n; i++)
        total = align64(total) + parts[i].len;
    modbuf mb = {NULL, NULL, total};
    if (posix_memalign(&mb.block, DVM_ALIGN, total + misalign + 1) != 0) {
        fprintf(stderr, "test_packs: out of memory\n");
        exit(2);
    }
    mb.p = (uint8_t *)mb.block + misalign;
    memset(mb.block, 0, total + misalign + 1);
    memcpy(mb.p, DVM_MAGIC, 4);
    dvm_put_u16(mb.p + 4, DVM_FORMAT_VERSION);
    dvm_put_u32(mb.p + 8, n);
    dvm_put_u64(mb.p + 16, total);
    size_t at = DVM_HEADER_BYTES + (size_t)n * DVM_SECTION_ENTRY_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        at = align64(at);
        uint8_t *e = mb.p + DVM_HEADER_BYTES + (size_t)i * DVM_SECTION_ENTRY_BYTES;
        dvm_put_u32(e, parts[i].kind);
        dvm_put_u32(e + 4, (uint32_t)at);
        dvm_put_u32(e + 8, parts[i].len);
        dvm_put_u32(e + 12, dvm_crc32(src[i], parts[i].len));
        if (parts[i].len)
            memcpy(mb.p + at, src[i], parts[i].len);
        at += parts[i].len;
    }
    return mb;
}

/* ---- PACKS entries ------------------------------------------------------------------------- */

typedef struct {
    uint32_t k, isa, layout, reserved;
    uint64_t off, len;
    int usable;      /* the test's expectation: this machine uses it in place */
} pack_entry;

/* The entries of a PACKS section (malloc'd; *n of them), each marked usable. The count is
 * bounded by the section length, so a hostile count reads no further. */
static pack_entry *packs_parse(const uint8_t *p, uint32_t len, uint32_t *n)
{
    *n = 0;
    if (!p || len < DVM_PACKS_HEADER_BYTES)
        return calloc(1, sizeof(pack_entry));
    uint32_t count = dvm_u32(p);
    const uint32_t room = (len - DVM_PACKS_HEADER_BYTES) / DVM_PACK_ENTRY_BYTES;
    if (count > room)
        count = room;
    pack_entry *e = calloc(count + 1, sizeof *e);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *r = p + DVM_PACKS_HEADER_BYTES + (size_t)i * DVM_PACK_ENTRY_BYTES;
        e[i] = (pack_entry){dvm_u32(r), dvm_u32(r + 4), dvm_u32(r + 8), dvm_u32(r + 12),
                            dvm_u64(r + 16), dvm_u64(r + 24), 1};
    }
    *n = count;
    return e;
}

static int entry_order(const void *a, const void *b)
{
    const pack_entry *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return x->isa < y->isa ? -1 : x->isa > y->isa;
}

/* A PACKS section (malloc'd, *len bytes) holding entries e[0..n) with entry i's blob copied
 * from blob[i] (e[i].len bytes), laid out as loader/emit.c's build_packs does: the table,
 * then each blob at the next multiple of 64 from the section start. e[i].off is rewritten. */
static uint8_t *packs_make(pack_entry *e, const uint8_t *const *blob, uint32_t n, uint32_t *len)
{
    size_t total = DVM_PACKS_HEADER_BYTES + (size_t)n * DVM_PACK_ENTRY_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        e[i].off = align64(total);
        total = (size_t)e[i].off + (size_t)e[i].len;
    }
    uint8_t *p = calloc(total + 1, 1);
    dvm_put_u32(p, n);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *r = p + DVM_PACKS_HEADER_BYTES + (size_t)i * DVM_PACK_ENTRY_BYTES;
        dvm_put_u32(r, e[i].k);
        dvm_put_u32(r + 4, e[i].isa);
        dvm_put_u32(r + 8, e[i].layout);
        dvm_put_u32(r + 12, e[i].reserved);
        dvm_put_u64(r + 16, e[i].off);
        dvm_put_u64(r + 24, e[i].len);
        memcpy(p + e[i].off, blob[i], (size_t)e[i].len);
    }
    *len = (uint32_t)total;
    return p;
}

/* ---- sessions: which bytes each step runs with --------------------------------------------- */

typedef struct {
    uint32_t in_place, own, wrong;
    char first[300];
} step_tally;

/* Steps run in place, by opcode, over part 3: each packing must have been exercised. */
static uint32_t in_place_by_opcode[128];

/* Classifies every step of s. A step whose variant has a usable entry (same instruction, same
 * instruction set) must run on exactly that blob of the module and own no block; any other
 * step with a packing must have packed into a 64-byte aligned block of its own, outside the
 * module; a step without a packing has neither. */
static void classify_steps(const detvm_session *s, const uint8_t *mod, size_t mod_len,
                           const uint8_t *packs, const pack_entry *e, uint32_t n, step_tally *t)
{
    const detvm_module *m = s->module;
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        const hal_step *st = &s->steps[k];
        const pack_entry *want = NULL;
        for (uint32_t i = 0; i < n && st->variant; i++)
            if (e[i].k == k && e[i].isa == st->variant->isa && e[i].usable)
                want = &e[i];
        const uint8_t *at = st->packed;
        const int inside = at && at >= mod && at < mod + mod_len;
        int ok;
        const char *expect;
        if (want) {
            expect = "the module's blob";
            ok = st->packing && st->packing->variant == st->variant &&
                 at == packs + want->off && !s->packed_blocks[k];
            t->in_place += ok;
            if (ok && m->instrs[k].opcode < 128)
                in_place_by_opcode[m->instrs[k].opcode]++;
        } else if (st->packing) {
            expect = "a block of its own";
            ok = s->packed_blocks[k] && at && !inside && (uintptr_t)at % 64 == 0;
            t->own += ok;
        } else {
            expect = "nothing packed";
            ok = !at && !s->packed_blocks[k];
        }
        if (!ok && t->wrong++ == 0)
            snprintf(t->first, sizeof t->first,
                     "step %u (%s, kernel %s) should run on %s: packed %s, own block %s", k,
                     m->instrs[k].op->name, st->variant ? st->variant->name : "reference",
                     expect, !at ? "none" : inside ? "in the module" : "elsewhere",
                     s->packed_blocks[k] ? "yes" : "no");
    }
}

static const struct {
    detvm_kernels kernels;
    const char *name;
} levels[] = {
    {DETVM_KERNELS_AUTO, "auto"},
    {DETVM_KERNELS_REFERENCE, "ref"},
    {DETVM_KERNELS_AVX2, "avx2"},
    {DETVM_KERNELS_VNNI, "vnni"},
};
#define N_LEVELS (sizeof levels / sizeof levels[0])

/* Runs the module at `kernels` with `threads` threads on n_inputs inputs of in_len bytes each
 * (back to back in `inputs`) and compares the outputs (out_len bytes each) with `truth`; the
 * steps are classified into *t. Returns 1 when the outputs equal the truth. */
static int run_compare(const detvm_module *m, const uint8_t *mod, size_t mod_len,
                       const uint8_t *packs, const pack_entry *e, uint32_t n,
                       detvm_kernels kernels, uint32_t threads, const uint8_t *inputs,
                       uint32_t n_inputs, size_t in_len, const uint8_t *truth, size_t out_len,
                       step_tally *t, char *why, size_t cap)
{
    detvm_session *s = NULL;
    detvm_error err = {0};
    if (detvm_session_new(m, &s, &err) || detvm_session_set_kernels(s, kernels, &err) ||
        (threads > 1 && detvm_session_set_threads(s, threads, &err))) {
        snprintf(why, cap, "session: %s", err.message);
        detvm_session_free(s);
        return 0;
    }
    classify_steps(s, mod, mod_len, packs, e, n, t);
    uint8_t *out = malloc(out_len + 1);
    int same = 1;
    for (uint32_t i = 0; i < n_inputs && same; i++) {
        if (detvm_run(s, inputs + i * in_len, in_len, out, out_len, &err)) {
            snprintf(why, cap, "run: %s", err.message);
            same = 0;
        } else if (memcmp(out, truth + i * out_len, out_len) != 0) {
            snprintf(why, cap, "input %u: the output differs from the truth", i);
            same = 0;
        }
    }
    free(out);
    detvm_session_free(s);
    return same;
}

/* A one-line message: no control characters. */
static int one_line(const char *msg)
{
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return 0;
    return msg[0] != 0;
}

/* 1 when the CPU runs variants, so that the compiler must write PACKS. */
static int cpu_packs(void)
{
    return (dv_isa_detect() & DV_ISA_AVX2) != 0;
}

/* ---- 1. hello_world_int8 ------------------------------------------------------------------- */

static struct {
    uint8_t *packed, *plain;
    size_t packed_len, plain_len;
    const uint8_t *packs;           /* the PACKS section inside `packed`, or NULL */
    uint32_t packs_len;
    pack_entry *e;
    uint32_t n;
    size_t in_len, out_len;
    uint8_t inputs[256];            /* every int8 input */
    uint8_t *truth;                 /* the reference kernels' output for each */
} hw;

static uint8_t *compile_tflite(const uint8_t *model, size_t n, int no_packs, size_t *len,
                               const char *what)
{
    detvm_compile_options options = {.no_packs = no_packs};
    uint8_t *bytes = NULL;
    detvm_error err = {0};
    detvm_status st = detvm_compile_tflite(model, n, &options, &bytes, len, &err);
    CHECK(st == DETVM_OK, "%s: compile (no_packs %d): %s", what, no_packs, err.message);
    return st ? NULL : bytes;
}

/* The goldens of HELLO, each input against its expected output, on module bytes `mod`. */
static void hello_goldens(const uint8_t *mod, size_t mod_len, detvm_kernels kernels,
                          const char *what)
{
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    if (detvm_module_load(mod, mod_len, &m, &err) || detvm_session_new(m, &s, &err) ||
        detvm_session_set_kernels(s, kernels, &err)) {
        CHECK(0, "%s: %s", what, err.message);
        detvm_session_free(s);
        detvm_module_free(m);
        return;
    }
    DIR *d = opendir(HELLO "/inputs");
    int runs = 0, bad = 0;
    char first[300] = "";
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".bin") != 0)
            continue;
        char path[600];
        size_t in_len = 0, want_len = 0;
        snprintf(path, sizeof path, HELLO "/inputs/%s", de->d_name);
        uint8_t *in = read_file(path, &in_len);
        snprintf(path, sizeof path, HELLO "/expected/%.*s.out0.bin", (int)nl - 4, de->d_name);
        uint8_t *want = read_file(path, &want_len);
        uint8_t out[16];
        int ok = in && want && want_len == hw.out_len && want_len <= sizeof out &&
                 detvm_run(s, in, in_len, out, want_len, &err) == DETVM_OK &&
                 memcmp(out, want, want_len) == 0;
        if (!ok && bad++ == 0)
            snprintf(first, sizeof first, "%s: %s", de->d_name, err.message);
        runs++;
        free(in);
        free(want);
    }
    if (d)
        closedir(d);
    CHECK(runs >= 6 && bad == 0, "%s: %d of %d goldens differ; first %s", what, bad, runs, first);
    detvm_session_free(s);
    detvm_module_free(m);
}

/* What the emitter must have written, derived here from the module without packs: for each
 * instruction whose variant (the one this CPU picks) packs something, an entry of that
 * variant's instruction set, its packing's layout and packed size, and bytes equal to a fresh
 * packing of the constants. */
static void check_entry_fields(const uint8_t *plain, size_t plain_len, uint32_t isa,
                               const uint8_t *packs, const pack_entry *e, uint32_t n,
                               int require_top, const char *what)
{
    detvm_module *m = NULL;
    detvm_error err = {0};
    if (detvm_module_load(plain, plain_len, &m, &err)) {
        CHECK(0, "%s: %s", what, err.message);
        return;
    }
    const uint32_t top = isa & DV_ISA_VNNI ? DV_ISA_VNNI : DV_ISA_AVX2;
    uint32_t i = 0, bad = 0, top_isa = 0;
    char first[300] = "";
    for (uint32_t k = 0; k < m->n_instrs; k++) {
        vm_instr_inputs x;
        const vm_instr *ins = &m->instrs[k];
        const dv_variant_packing *pk = vm_instr_packing(m, k, isa, &x);
        const uint64_t size = pk ? pk->packed_size(&ins->attrs, ins->n_in, x.shapes) : 0;
        if (size == 0)
            continue;
        int ok = i < n && e[i].k == k && e[i].isa == pk->variant->isa &&
                 e[i].layout == pk->layout && e[i].reserved == 0 && e[i].len == size &&
                 e[i].off % 64 == 0 &&
                 e[i].off >= DVM_PACKS_HEADER_BYTES + (uint64_t)n * DVM_PACK_ENTRY_BYTES &&
                 (i == 0 || e[i].off >= e[i - 1].off + e[i - 1].len);
        if (ok) {
            void *block;
            const void *fresh = vm_pack_new(pk, &ins->attrs, ins->n_in, x.in, size, &block);
            ok = fresh && memcmp(fresh, packs + e[i].off, (size_t)size) == 0;
            free(block);
        }
        top_isa += i < n && e[i].isa == top;
        if (!ok && bad++ == 0)
            snprintf(first, sizeof first,
                     "instruction %u (%s): entry %u {instruction %u, isa %#x, layout %u, "
                     "length %llu}, want {isa %#x, layout %u, length %llu}",
                     k, ins->op->name, i, i < n ? e[i].k : 0, i < n ? e[i].isa : 0,
                     i < n ? e[i].layout : 0, i < n ? (unsigned long long)e[i].len : 0,
                     pk->variant->isa, pk->layout, (unsigned long long)size);
        i++;
    }
    CHECK(bad == 0 && i == n, "%s: %u of %u entries wrong (%u expected); first %s", what, bad, n,
          i, first);
    /* Independently of the variant table, for real models: the best instruction set is the
     * one the entries name (their instructions are all ones its variants take). */
    if (require_top)
        CHECK(top_isa == n, "%s: %u of %u entries name isa %#x", what, top_isa, n, top);
    detvm_module_free(m);
}

static void test_hello_world(void)
{
    size_t n = 0;
    uint8_t *model = read_file(HELLO "/model.tflite", &n);
    CHECK(model != NULL, HELLO "/model.tflite unreadable");
    if (!model)
        return;
    size_t again_len = 0;
    hw.packed = compile_tflite(model, n, 0, &hw.packed_len, "hello_world");
    hw.plain = compile_tflite(model, n, 1, &hw.plain_len, "hello_world");
    uint8_t *again = compile_tflite(model, n, 0, &again_len, "hello_world again");
    free(model);
    if (!hw.packed || !hw.plain || !again) {
        free(again);
        return;
    }
    CHECK(again_len == hw.packed_len && memcmp(again, hw.packed, again_len) == 0,
          "hello_world: two compiles with packs differ");
    free(again);
    CHECK((uintptr_t)hw.packed % 64 == 0, "hello_world: the compiled bytes are not 64-aligned");

    /* (a) the section tables */
    sec_table tp = table_of(hw.packed, hw.packed_len), tn = table_of(hw.plain, hw.plain_len);
    const sec_ref *ps = sec_find(&tp, DVM_SEC_PACKS);
    CHECK(sec_find(&tn, DVM_SEC_PACKS) == NULL, "hello_world: no_packs wrote a PACKS section");
    if (ps) {
        hw.packs = hw.packed + ps->off;
        hw.packs_len = ps->len;
        CHECK(tp.n == tn.n + 1 && &tp.s[tp.n - 1] == ps,
              "hello_world: PACKS is not the one extra, last section (%u vs %u sections)", tp.n,
              tn.n);
        CHECK(ps->off % 64 == 0 && ps->off + ps->len == hw.packed_len,
              "hello_world: PACKS at %u, %u bytes, in a %zu-byte module", ps->off, ps->len,
              hw.packed_len);
    } else if (cpu_packs()) {
        CHECK(0, "hello_world: this CPU has AVX2 but the module has no PACKS section");
    } else {
        SKIP("this CPU runs no kernel variants: the compiler wrote no PACKS, pack checks skipped");
    }

    /* (b) one module id, by its definition; (c) the other sections byte for byte */
    detvm_module *mp = NULL, *mn = NULL;
    detvm_error err = {0};
    CHECK(detvm_module_load(hw.packed, hw.packed_len, &mp, &err) == DETVM_OK, "%s", err.message);
    CHECK(detvm_module_load(hw.plain, hw.plain_len, &mn, &err) == DETVM_OK, "%s", err.message);
    if (!mp || !mn) {
        detvm_module_free(mp);
        detvm_module_free(mn);
        return;
    }
    uint8_t id_p[32], id_n[32], want[32];
    detvm_module_id(mp, id_p);
    detvm_module_id(mn, id_n);
    expected_id(hw.plain, hw.plain_len, want);
    CHECK(memcmp(id_p, id_n, 32) == 0, "hello_world: PACKS changed the module id");
    CHECK(memcmp(id_n, want, 32) == 0, "hello_world: the id is not BLAKE2b-256 by its definition");
    expected_id(hw.packed, hw.packed_len, want);
    CHECK(memcmp(id_p, want, 32) == 0, "hello_world: the packed module's id by its definition");
    char why[300] = "";
    CHECK(same_but_packs(hw.packed, hw.packed_len, hw.plain, hw.plain_len, why, sizeof why),
          "hello_world: %s", why);
    /* the hand layout reproduces the emitter's, so that hostile modules below differ from the
     * compiled one only where a test changes them */
    modbuf mb = assemble(hw.plain, hw.plain_len, hw.packs, hw.packs_len, 0);
    CHECK(mb.len == hw.packed_len && memcmp(mb.p, hw.packed, mb.len) == 0,
          "hello_world: the hand-assembled module differs from the compiled one");
    free(mb.block);

    /* (f) the entries */
    detvm_module_info info;
    detvm_module_get_info(mp, &info);
    hw.e = packs_parse(hw.packs, hw.packs_len, &hw.n);
    hw.in_len = (size_t)info.input_len;
    hw.out_len = (size_t)info.output_len;
    if (hw.packs) {
        CHECK(dvm_u32(hw.packs) == hw.n && dvm_u32(hw.packs + 4) == 0,
              "hello_world: PACKS header count %u reserved %u", dvm_u32(hw.packs),
              dvm_u32(hw.packs + 4));
        uint32_t fc = 0;
        for (uint32_t i = 0; i < hw.n; i++)
            fc += hw.e[i].k < mn->n_instrs &&
                  mn->instrs[hw.e[i].k].opcode == DV_OP_QFULLY_CONNECTED;
        CHECK(hw.n == 3 && fc == 3, "hello_world: %u entries, %u of them QFULLY_CONNECTED", hw.n,
              fc);
        for (uint32_t i = 1; i < hw.n; i++)
            CHECK(entry_order(&hw.e[i - 1], &hw.e[i]) < 0, "hello_world: entries %u, %u unsorted",
                  i - 1, i);
        check_entry_fields(hw.plain, hw.plain_len, dv_isa_detect(), hw.packs, hw.e, hw.n, 1,
                           "hello_world");
        uint64_t bytes = 0;
        for (uint32_t i = 0; i < hw.n; i++)
            bytes += hw.e[i].len;
        CHECK(info.n_packs == hw.n && info.n_packs_used == hw.n && info.packed_bytes == bytes,
              "hello_world: info says %u entries, %u used, %llu bytes", info.n_packs,
              info.n_packs_used, (unsigned long long)info.packed_bytes);
    }
    detvm_module_get_info(mn, &info);
    CHECK(info.n_packs == 0 && info.n_packs_used == 0 && info.packed_bytes == 0,
          "hello_world without packs: info says %u entries", info.n_packs);

    /* (d) the goldens at every level, then all 256 inputs against the reference kernels */
    for (uint32_t l = 0; l < N_LEVELS; l++) {
        if (!detvm_kernels_available(levels[l].kernels))
            continue;
        char what[80];
        snprintf(what, sizeof what, "hello_world packed, %s", levels[l].name);
        hello_goldens(hw.packed, hw.packed_len, levels[l].kernels, what);
        snprintf(what, sizeof what, "hello_world no_packs, %s", levels[l].name);
        hello_goldens(hw.plain, hw.plain_len, levels[l].kernels, what);
    }
    for (int v = 0; v < 256; v++)
        hw.inputs[v] = (uint8_t)v;
    hw.truth = malloc(256 * hw.out_len + 1);
    detvm_session *ref = NULL;
    int ok = hw.in_len == 1 && detvm_session_new(mn, &ref, &err) == DETVM_OK &&
             detvm_session_set_kernels(ref, DETVM_KERNELS_REFERENCE, &err) == DETVM_OK;
    for (int v = 0; v < 256 && ok; v++)
        ok = detvm_run(ref, &hw.inputs[v], 1, hw.truth + v * hw.out_len, hw.out_len, &err) == 0;
    CHECK(ok, "hello_world: reference outputs (input %zu bytes): %s", hw.in_len, err.message);
    detvm_session_free(ref);
    if (!ok) {
        free(hw.truth);
        hw.truth = NULL;
    }

    /* (e) with the packs, steps run on the module's bytes; without, on blocks of their own */
    for (uint32_t l = 0; l < N_LEVELS && hw.truth; l++) {
        if (!detvm_kernels_available(levels[l].kernels))
            continue;
        for (uint32_t threads = 1; threads <= 2; threads++) {
            step_tally on_packed = {0}, on_plain = {0};
            ok = run_compare(mp, hw.packed, hw.packed_len, hw.packs, hw.e, hw.n,
                             levels[l].kernels, threads, hw.inputs, 256, 1, hw.truth, hw.out_len,
                             &on_packed, why, sizeof why);
            CHECK(ok, "hello_world packed, %s, %u threads: %s", levels[l].name, threads, why);
            ok = run_compare(mn, hw.plain, hw.plain_len, NULL, NULL, 0, levels[l].kernels,
                             threads, hw.inputs, 256, 1, hw.truth, hw.out_len, &on_plain, why,
                             sizeof why);
            CHECK(ok, "hello_world no_packs, %s, %u threads: %s", levels[l].name, threads, why);
            CHECK(on_packed.wrong == 0 && on_plain.wrong == 0, "hello_world, %s: packed: %s; no_packs: %s",
                  levels[l].name, on_packed.first, on_plain.first);
            /* Which steps: at the CPU's best level every entry is used, and the module without
             * packs packs exactly those steps itself; the reference level packs nothing. */
            const int best = levels[l].kernels == DETVM_KERNELS_AUTO ||
                             (levels[l].kernels == DETVM_KERNELS_VNNI) ==
                                 ((dv_isa_detect() & DV_ISA_VNNI) != 0);
            if (levels[l].kernels == DETVM_KERNELS_REFERENCE)
                CHECK(on_packed.in_place + on_packed.own + on_plain.own == 0, "hello_world, ref: steps packed");
            else if (best && hw.n)
                CHECK(on_packed.in_place == hw.n && on_packed.own == 0 && on_plain.own == hw.n,
                      "hello_world, %s: %u steps in place, %u own; no_packs %u own (%u entries)",
                      levels[l].name, on_packed.in_place, on_packed.own, on_plain.own, hw.n);
            else if (hw.n) /* a lower level: its variant's packing is not in the module */
                CHECK(on_packed.in_place == 0 && on_packed.own == hw.n,
                      "hello_world, %s: %u steps in place, %u own", levels[l].name,
                      on_packed.in_place, on_packed.own);
        }
    }
    detvm_module_free(mp);
    detvm_module_free(mn);
}

/* ---- 2. hostile PACKS ------------------------------------------------------------------------ */

/* A copy of the fixture's PACKS section to break, with `extra` zero bytes after it. */
static uint8_t *packs_copy(size_t extra)
{
    uint8_t *p = calloc(hw.packs_len + extra + 1, 1);
    memcpy(p, hw.packs, hw.packs_len);
    return p;
}

static uint8_t *entry_field(uint8_t *p, uint32_t i, uint32_t at)
{
    return p + DVM_PACKS_HEADER_BYTES + (size_t)i * DVM_PACK_ENTRY_BYTES + at;
}

enum { E_K = 0, E_ISA = 4, E_LAYOUT = 8, E_RESERVED = 12, E_OFF = 16, E_LEN = 24 };

/* The fixture with PACKS = (p, len) must be refused: DETVM_EINVALID, no module, and a one-line
 * message that says "PACKS" and holds `want` (and `want2` when not NULL). */
static void refused(const uint8_t *p, uint32_t len, const char *want, const char *want2,
                    const char *what)
{
    modbuf mb = assemble(hw.plain, hw.plain_len, p, len, 0);
    detvm_module *m = (detvm_module *)1;
    detvm_error err = {0};
    detvm_status st = detvm_module_load(mb.p, mb.len, &m, &err);
    CHECK(st == DETVM_EINVALID && m == NULL && err.status == DETVM_EINVALID &&
              strstr(err.message, "PACKS") && strstr(err.message, want) &&
              (!want2 || strstr(err.message, want2)) && one_line(err.message),
          "%s: status %d, message \"%s\" (want \"%s\"%s%s)", what, st, err.message, want,
          want2 ? " and " : "", want2 ? want2 : "");
    if (st == DETVM_OK)
        detvm_module_free(m);
    free(mb.block);
}

static void refuse_u32(uint32_t entry, uint32_t field, uint32_t v, const char *want,
                       const char *want2, const char *what)
{
    uint8_t *p = packs_copy(0);
    dvm_put_u32(entry_field(p, entry, field), v);
    refused(p, hw.packs_len, want, want2, what);
    free(p);
}

static void refuse_u64(uint32_t entry, uint32_t field, uint64_t v, const char *want,
                       const char *want2, const char *what)
{
    uint8_t *p = packs_copy(0);
    dvm_put_u64(entry_field(p, entry, field), v);
    refused(p, hw.packs_len, want, want2, what);
    free(p);
}

/* The fixture with PACKS = (p, len), `misalign` bytes past a 64-byte boundary, must load with
 * exactly the entries marked in `usable` (NULL: none) used in place, and give the reference
 * kernels' output for all 256 inputs with the sessions' steps running where they must. */
static void loads(const uint8_t *p, uint32_t len, size_t misalign, const int *usable,
                  const char *what)
{
    modbuf mb = assemble(hw.plain, hw.plain_len, p, len, misalign);
    detvm_module *m = NULL;
    detvm_error err = {0};
    if (detvm_module_load(mb.p, mb.len, &m, &err)) {
        CHECK(0, "%s: refused: %s", what, err.message);
        free(mb.block);
        return;
    }
    uint32_t n;
    pack_entry *e = packs_parse(p, len, &n);
    uint32_t want_used = 0;
    for (uint32_t i = 0; i < n; i++) {
        e[i].usable = usable && usable[i];
        want_used += e[i].usable;
    }
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    CHECK(info.n_packs == n && info.n_packs_used == want_used,
          "%s: %u entries, %u used; want %u and %u", what, info.n_packs, info.n_packs_used, n,
          want_used);
    step_tally t = {0};
    char why[300] = "";
    const sec_table t_ = table_of(mb.p, mb.len);
    const uint8_t *sec = mb.p + sec_find(&t_, DVM_SEC_PACKS)->off;
    int ok = run_compare(m, mb.p, mb.len, sec, e, n, DETVM_KERNELS_AUTO, 1, hw.inputs, 256, 1,
                         hw.truth, hw.out_len, &t, why, sizeof why);
    CHECK(ok, "%s: %s", what, why);
    CHECK(t.wrong == 0 && t.in_place == want_used && t.in_place + t.own == hw.n,
          "%s: %u steps in place, %u own (want %u in place of %u); %s", what, t.in_place, t.own,
          want_used, hw.n, t.first);
    free(e);
    detvm_module_free(m);
    free(mb.block);
}

static void test_hostile(void)
{
    if (!hw.packs || !hw.truth || hw.n < 2) {
        SKIP("hostile PACKS: the fixture has no PACKS section with 2 entries or more here");
        return;
    }
    const uint32_t n = hw.n, len = hw.packs_len;
    const sec_table tt = table_of(hw.plain, hw.plain_len);
    const uint32_t n_instrs = dvm_u32(hw.plain + sec_find(&tt, DVM_SEC_CODE)->off); /* count */
    const uint64_t table_end = DVM_PACKS_HEADER_BYTES + (uint64_t)n * DVM_PACK_ENTRY_BYTES;
    char what[160];

    /* the header */
    uint8_t *p = packs_copy(0);
    dvm_put_u32(p, (len - DVM_PACKS_HEADER_BYTES) / DVM_PACK_ENTRY_BYTES + 1);
    refused(p, len, "count", NULL, "count one more than the section holds");
    dvm_put_u32(p, UINT32_MAX);
    refused(p, len, "count", NULL, "count 2^32-1");
    dvm_put_u32(p, n);
    dvm_put_u32(p + 4, 1);
    refused(p, len, "reserved", NULL, "header reserved field 1");
    dvm_put_u32(p + 4, 0x80000000u);
    refused(p, len, "reserved", NULL, "header reserved field 2^31");
    free(p);
    /* count n + 1: the extra row is read from the blobs' padding and bytes; whatever it says,
     * the module must not load (the first blob now starts inside the table) */
    p = packs_copy(0);
    dvm_put_u32(p, n + 1);
    refused(p, len, "entry", NULL, "count one more than the entries");
    free(p);
    /* truncated sections */
    static const uint32_t short_lens[] = {0, 1, 4, 7};
    for (size_t i = 0; i < sizeof short_lens / sizeof short_lens[0]; i++) {
        snprintf(what, sizeof what, "a %u-byte PACKS section", short_lens[i]);
        refused(hw.packs, short_lens[i], "truncated", NULL, what);
    }
    refused(hw.packs, (uint32_t)table_end, "entry 0", "out of place",
            "the section cut after the table");
    refused(hw.packs, len - 1, "entry", "out of place", "the section one byte short");

    /* each entry's fields */
    for (uint32_t i = 0; i < n; i++) {
        char entry[32];
        snprintf(entry, sizeof entry, "entry %u", i);
        snprintf(what, sizeof what, "entry %u: reserved 1", i);
        refuse_u32(i, E_RESERVED, 1, entry, "reserved", what);
        snprintf(what, sizeof what, "entry %u: instruction %u of %u", i, n_instrs, n_instrs);
        refuse_u32(i, E_K, n_instrs, entry, "instruction", what);
        snprintf(what, sizeof what, "entry %u: instruction 2^32-1", i);
        refuse_u32(i, E_K, UINT32_MAX, entry, "instruction", what);
        static const uint32_t bad_isa[] = {0, DV_ISA_AVX2 | DV_ISA_VNNI, 0x80000001u,
                                           0xFFFFFFFFu};
        for (size_t v = 0; v < sizeof bad_isa / sizeof bad_isa[0]; v++) {
            snprintf(what, sizeof what, "entry %u: isa %#x", i, bad_isa[v]);
            refuse_u32(i, E_ISA, bad_isa[v], entry, "isa", what);
        }
        const uint64_t off = hw.e[i].off, size = hw.e[i].len;
        static const uint64_t skew[] = {1, 4, 32, 63};
        for (size_t v = 0; v < sizeof skew / sizeof skew[0]; v++) {
            snprintf(what, sizeof what, "entry %u: offset %llu", i,
                     (unsigned long long)(off + skew[v]));
            refuse_u64(i, E_OFF, off + skew[v], entry, "out of place", what);
        }
        snprintf(what, sizeof what, "entry %u: offset 0 (the header)", i);
        refuse_u64(i, E_OFF, 0, entry, "out of place", what);
        if (table_end > 64) {
            snprintf(what, sizeof what, "entry %u: offset 64 (inside the table)", i);
            refuse_u64(i, E_OFF, 64, entry, "out of place", what);
        }
        snprintf(what, sizeof what, "entry %u: offset past the section", i);
        refuse_u64(i, E_OFF, align64(len + 1), entry, "out of place", what);
        snprintf(what, sizeof what, "entry %u: offset 2^64-64", i);
        refuse_u64(i, E_OFF, UINT64_MAX - 63, entry, "out of place", what);
        snprintf(what, sizeof what, "entry %u: length to one byte past the section", i);
        refuse_u64(i, E_LEN, len - off + 1, entry, "out of place", what);
        snprintf(what, sizeof what, "entry %u: length 2^64-1", i);
        refuse_u64(i, E_LEN, UINT64_MAX, entry, "out of place", what);
        /* a length that fits but is not the packing's size */
        char named[48];
        snprintf(named, sizeof named, "entry %u (instruction %u)", i, hw.e[i].k);
        snprintf(what, sizeof what, "entry %u: length %llu - 1", i, (unsigned long long)size);
        refuse_u64(i, E_LEN, size - 1, named, "length", what);
        snprintf(what, sizeof what, "entry %u: length 0", i);
        refuse_u64(i, E_LEN, 0, named, "length", what);
        if (i + 1 < n && off + size + 1 <= hw.e[i + 1].off) { /* room in the padding */
            snprintf(what, sizeof what, "entry %u: length %llu + 1", i, (unsigned long long)size);
            refuse_u64(i, E_LEN, size + 1, named, "length", what);
        }
        /* a blob byte changed: its first, middle and last */
        const uint64_t at[] = {0, size / 2, size - 1};
        for (size_t v = 0; v < 3; v++) {
            p = packs_copy(0);
            p[off + at[v]] ^= 0x01;
            snprintf(what, sizeof what, "entry %u: blob byte %llu flipped", i,
                     (unsigned long long)at[v]);
            refused(p, len, named, "differ", what);
            free(p);
        }
        /* another instruction set's claim on these bytes: checked against that set's packing,
         * whose size or bytes differ */
        if (hw.e[i].isa == DV_ISA_VNNI && (dv_isa_detect() & DV_ISA_AVX2)) {
            snprintf(what, sizeof what, "entry %u: VNNI bytes said to be AVX2's", i);
            refuse_u32(i, E_ISA, DV_ISA_AVX2, named, NULL, what);
        }
    }

    /* order and overlap */
    for (uint32_t i = 1; i < n; i++) {
        char entry[32];
        snprintf(entry, sizeof entry, "entry %u", i);
        p = packs_copy(0);
        uint8_t row[DVM_PACK_ENTRY_BYTES];
        memcpy(row, entry_field(p, i - 1, 0), sizeof row);
        memcpy(entry_field(p, i - 1, 0), entry_field(p, i, 0), sizeof row);
        memcpy(entry_field(p, i, 0), row, sizeof row);
        snprintf(what, sizeof what, "entries %u and %u swapped", i - 1, i);
        refused(p, len, entry, "out of order", what);
        memcpy(p, hw.packs, len);
        memcpy(entry_field(p, i, 0), entry_field(p, i - 1, 0), sizeof row);
        snprintf(what, sizeof what, "entry %u a copy of entry %u", i, i - 1);
        refused(p, len, entry, "out of order", what);
        /* the same instruction again with a lower (or equal) instruction set */
        memcpy(p, hw.packs, len);
        dvm_put_u32(entry_field(p, i, E_K), hw.e[i - 1].k);
        dvm_put_u32(entry_field(p, i, E_ISA), DV_ISA_AVX2);
        snprintf(what, sizeof what, "entry %u: entry %u's instruction with isa AVX2", i, i - 1);
        refused(p, len, entry, "out of order", what);
        free(p);
        /* blobs overlapping the previous one: at its start, and 64 bytes in when longer */
        snprintf(what, sizeof what, "entry %u: at entry %u's blob", i, i - 1);
        refuse_u64(i, E_OFF, hw.e[i - 1].off, entry, "out of place", what);
        if (hw.e[i - 1].len > 64) {
            snprintf(what, sizeof what, "entry %u: inside entry %u's blob", i, i - 1);
            refuse_u64(i, E_OFF, hw.e[i - 1].off + 64, entry, "out of place", what);
        }
    }

    /* Entries this build cannot check are left unused, not refused; the outputs stay exact
     * because the session packs those steps itself. */
    int usable[64];
    for (uint32_t i = 0; i < 64; i++)
        usable[i] = 1;
    loads(hw.packs, len, 0, usable, "the compiled PACKS as is");
    for (uint32_t i = 0; i < n && i < 64; i++) {
        usable[i] = 0;
        p = packs_copy(0);
        dvm_put_u32(entry_field(p, i, E_LAYOUT), hw.e[i].layout + 1);
        snprintf(what, sizeof what, "entry %u: layout %u", i, hw.e[i].layout + 1);
        loads(p, len, 0, usable, what);
        /* an unknown layout is not checked at all: wrong bytes behind it do not matter */
        p[hw.e[i].off] ^= 0x01;
        snprintf(what, sizeof what, "entry %u: layout %u, a blob byte flipped", i,
                 hw.e[i].layout + 1);
        loads(p, len, 0, usable, what);
        memcpy(p, hw.packs, len);
        dvm_put_u32(entry_field(p, i, E_ISA), 1u << 20);
        snprintf(what, sizeof what, "entry %u: isa 1<<20 (unknown)", i);
        loads(p, len, 0, usable, what);
        dvm_put_u32(entry_field(p, i, E_ISA), 1u << 31);
        snprintf(what, sizeof what, "entry %u: isa 1<<31 (unknown)", i);
        loads(p, len, 0, usable, what);
        free(p);
        usable[i] = 1;
    }
    p = packs_copy(0);
    for (uint32_t i = 0; i < n; i++)
        dvm_put_u32(entry_field(p, i, E_LAYOUT), 0xFFFFFFFFu);
    loads(p, len, 0, NULL, "every layout 2^32-1");
    free(p);
    /* an empty table is a valid PACKS */
    uint8_t empty[8] = {0};
    loads(empty, 8, 0, NULL, "an empty PACKS section");
    /* Not 64-byte aligned in memory: the blobs cannot be used in place, so they are neither
     * checked nor used (vm/packs.c), even with a byte flipped; a wrong length is still
     * refused, being known without reading the blob. */
    static const size_t misaligned[] = {4, 8, 16, 32, 48};
    for (size_t v = 0; v < sizeof misaligned / sizeof misaligned[0]; v++) {
        snprintf(what, sizeof what, "the module at 64k + %zu", misaligned[v]);
        loads(hw.packs, len, misaligned[v], NULL, what);
    }
    p = packs_copy(0);
    p[hw.e[0].off] ^= 0x01;
    loads(p, len, 16, NULL, "the module at 64k + 16, a blob byte flipped");
    free(p);
    p = packs_copy(0);
    dvm_put_u64(entry_field(p, 0, E_LEN), hw.e[0].len - 1);
    modbuf mb = assemble(hw.plain, hw.plain_len, p, len, 16);
    detvm_module *m = NULL;
    detvm_error err = {0};
    detvm_status st = detvm_module_load(mb.p, mb.len, &m, &err);
    CHECK(st == DETVM_EINVALID && strstr(err.message, "entry 0") && strstr(err.message, "length"),
          "the module at 64k + 16, entry 0's length short: status %d, %s", st, err.message);
    detvm_module_free(m);
    free(mb.block);
    free(p);
}

/* ---- 3. random convolutions as IR ------------------------------------------------------------ */

typedef struct {
    ir_module ir;
    ir_builder b;
    int ok;
    int wide;          /* weights outside int8 too, forcing the variants' exact fallbacks */
} graph;

static void graph_init(graph *g, uint32_t source_format)
{
    memset(g, 0, sizeof *g);
    g->b.ir = &g->ir;
    g->ok = 1;
    g->ir.source_format = source_format;
    g->ir.postprocess = "";
    g->ir.source_version = "test_packs";
    g->ir.rounding = -1;
    g->ir.input_bytes = g->ir.output_bytes = 4;
    g->wide = rnd() % 7 == 0;
}

static uint32_t graph_input(graph *g, dv_shape s, uint8_t dtype, uint32_t input_bytes)
{
    uint32_t x = 0;
    g->ok = g->ok && ir_new_temporary(&g->b, &s, &x) == 0;
    if (g->ok) {
        g->ir.tensors[x].precision = 8;
        g->ir.tensors[x].dtype = dtype;
        g->ir.input = x;
        g->ir.input_bytes = input_bytes;
    }
    return x;
}

static int32_t weight(const graph *g)
{
    static const int32_t wild[] = {128, -129, 255, -300, 32767, -32768, 40000, INT32_MIN};
    if (g->wide && rnd() % 50 == 0)
        return wild[rnd() % (sizeof wild / sizeof wild[0])];
    return rnd() % 10 == 0 ? (rnd() % 2 ? 127 : -128) : between(-128, 127);
}

/* A constant of shape s: `kind` 0 weights, 1 small biases, 2 multipliers, 3 shifts. */
static uint32_t constant(graph *g, dv_shape s, int kind)
{
    size_t n = (size_t)dv_shape_size(&s);
    int32_t *v = malloc(n * 4 + 4);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: v[i] = weight(g); break;
        case 1: v[i] = rnd() % 20 == 0 ? (int32_t)rnd() : between(-3000, 3000); break;
        case 2: v[i] = rnd() % 20 == 0 ? INT32_MAX : between(1 << 30, INT32_MAX); break;
        default: v[i] = rnd() % 20 == 0 ? between(-31, 4) : between(-12, 0); break;
        }
    }
    uint32_t t = 0;
    if (!g->ok || ir_new_constant(&g->b, &s, v, &t))
        g->ok = 0;
    else
        g->ir.tensors[t].precision = kind == 0 && !g->wide ? 8 : 32;
    free(v);
    return t;
}

/* Appends opcode(in...) -> a new tensor of precision `precision`; 0 when infer refuses the
 * drawn attributes (the caller draws again) or building fails. */
static int append(graph *g, uint32_t opcode, uint32_t n_in, const uint32_t *in,
                  const int32_t *attrs, uint32_t n_attrs, int precision, uint32_t *y)
{
    if (!g->ok)
        return 0;
    dv_shape in_shapes[5], out;
    for (uint32_t i = 0; i < n_in; i++)
        in_shapes[i] = g->ir.tensors[in[i]].shape;
    dv_attrs a = {attrs, n_attrs};
    if (dv_op_lookup(opcode)->infer(&a, n_in, in_shapes, 1, &out) ||
        dv_shape_size(&out) > 200000)
        return 0;
    char why[200];
    if (ir_new_temporary(&g->b, &out, y) ||
        ir_append(&g->b, opcode, n_in, in, 1, y, attrs, n_attrs, dv_op_lookup(opcode)->name,
                  why, sizeof why)) {
        CHECK(0, "building %s: %s", dv_op_lookup(opcode)->name, why);
        g->ok = 0;
        return 0;
    }
    g->ir.tensors[*y].precision = (uint8_t)precision;
    return 1;
}

/* Output channels per group: mostly enough for the variants' packed paths (half a vector and
 * up), sometimes few (the CVM direct path, which packs nothing). */
static uint32_t per_group(void)
{
    return rnd() % 3 ? (uint32_t)between(8, 40) : (uint32_t)between(1, 7);
}

/* CVM CONV2D of x (N, C, H, W), or with `fused` 1 CONV2D_SHIFT with a random epilogue, 2
 * CONV2D_SHIFT_MAX_POOL (that and a random max pool): groups 1, a small divisor of C, or C
 * (depthwise-like, with a channel multiplier). */
static int cvm_conv(graph *g, uint32_t x, int fused, uint32_t *y)
{
    const uint32_t c = g->ir.tensors[x].shape.dim[1];
    uint32_t groups = 1;
    switch (rnd() % 4) {
    case 1: groups = c % 3 == 0 ? 3 : c % 2 == 0 ? 2 : 1; break;
    case 2: groups = c; break;
    default: break;
    }
    const uint32_t out_pg = groups == c && rnd() % 2 ? (uint32_t)between(1, 2) : per_group();
    const uint32_t kh = (uint32_t)between(1, 3), kw = rnd() % 4 ? kh : (uint32_t)between(1, 3);
    const int32_t bias = (int32_t)(rnd() % 2);
    int32_t a[CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS] = {
        (int32_t)(groups * out_pg), (int32_t)kh, (int32_t)kw, between(1, 2), between(1, 2),
        between(0, 2), between(0, 2), between(0, 2), between(0, 2),
        rnd() % 4 ? 1 : 2, rnd() % 4 ? 1 : 2, (int32_t)groups, bias};
    int precision = 32;
    if (fused) {
        int32_t *e = a + CONV_N_ATTRS;
        e[EPI_PRECISION] = rnd() % 3 ? 8 : between(1, 32);
        e[EPI_SHIFT_BIT] = between(1, 14);
        e[EPI_ACT] = e[EPI_ACT_A] = e[EPI_ACT_B] = 0;
        switch (rnd() % 4) {
        case 1: e[EPI_ACT] = DV_OP_RELU; break;
        case 2:
            e[EPI_ACT] = DV_OP_CLIP;
            e[EPI_ACT_A] = between(-100, 50);
            e[EPI_ACT_B] = e[EPI_ACT_A] + between(1, 100);
            break;
        case 3:
            e[EPI_ACT] = DV_OP_CVM_CLIP;
            e[EPI_ACT_A] = between(1, 8);
            break;
        default: break;
        }
        precision = e[EPI_PRECISION];
    }
    if (fused == 2) {
        int32_t *pool = a + CONV_N_ATTRS + EPI_N_ATTRS;
        pool[POOL_H] = between(1, 3);
        pool[POOL_W] = between(1, 3);
        pool[POOL_STRIDE_H] = between(1, 2);
        pool[POOL_STRIDE_W] = between(1, 2);
        for (int i = POOL_PAD_TOP; i <= POOL_PAD_RIGHT; i++)
            pool[i] = rnd() % 2 ? 0 : between(0, 1);
        pool[POOL_CEIL_MODE] = (int32_t)(rnd() % 2);
    }
    uint32_t w = constant(g, (dv_shape){4, {groups * out_pg, c / groups, kh, kw}}, 0);
    uint32_t b = bias ? constant(g, (dv_shape){1, {groups * out_pg}}, 1) : 0;
    const uint32_t in[3] = {x, w, b};
    static const uint32_t opcode[3] = {DV_OP_CONV2D, DV_OP_CONV2D_SHIFT,
                                       DV_OP_CONV2D_SHIFT_MAX_POOL};
    static const uint32_t n_attrs[3] = {CONV_N_ATTRS, CONV_N_ATTRS + EPI_N_ATTRS,
                                        CONV_N_ATTRS + EPI_N_ATTRS + POOL_N_ATTRS};
    return append(g, opcode[fused], 2 + (uint32_t)bias, in, a, n_attrs[fused], precision, y);
}

/* x (N, C, H, W) -> CONV2D -> CVM_RIGHT_SHIFT to 8 bits (stored as int8) -> CONV2D_SHIFT or
 * CONV2D_SHIFT_MAX_POOL. */
static int build_cvm(graph *g)
{
    graph_init(g, DVM_SOURCE_CVM);
    const uint32_t c = (uint32_t)(rnd() % 3 ? between(1, 12) : between(13, 40));
    uint32_t x = graph_input(g, (dv_shape){4, {(uint32_t)between(1, 2), c,
                                                (uint32_t)between(3, 12),
                                                (uint32_t)between(3, 12)}},
                             DVM_DTYPE_INT32, 4);
    uint32_t y1, y2, y3;
    if (!cvm_conv(g, x, 0, &y1))
        return 0;
    const int32_t shift[2] = {8, between(6, 14)};
    if (!append(g, DV_OP_CVM_RIGHT_SHIFT, 1, &y1, shift, 2, 8, &y2) || !cvm_conv(g, y2, 1 + (int)(rnd() % 2), &y3))
        return 0;
    g->ir.n_outputs = 1;
    g->ir.outputs[0] = y3;
    return g->ok;
}

static void q_common(int32_t *a, int32_t rounding)
{
    a[QC_STRIDE_H] = between(1, 2);
    a[QC_STRIDE_W] = between(1, 2);
    a[QC_DILATION_H] = rnd() % 4 ? 1 : 2;
    a[QC_DILATION_W] = rnd() % 4 ? 1 : 2;
    for (int i = QC_PAD_TOP; i <= QC_PAD_RIGHT; i++)
        a[i] = rnd() % 2 ? 0 : between(0, 2);
    a[QC_INPUT_OFFSET] = rnd() % 10 ? between(-127, 128) : between(-129, 129);
    a[QC_OUTPUT_OFFSET] = between(-128, 127);
    a[QC_ACT_MIN] = rnd() % 2 ? -128 : between(-128, 0);
    a[QC_ACT_MAX] = rnd() % 2 ? 127 : between(1, 127);
    a[QC_ROUNDING] = rounding;
}

/* bias, multiplier and shift of `channels` outputs as inputs 2..4 of in. */
static void q_vectors(graph *g, uint32_t channels, uint32_t *in)
{
    in[2] = constant(g, (dv_shape){1, {channels}}, 1);
    in[3] = constant(g, (dv_shape){1, {channels}}, 2);
    in[4] = constant(g, (dv_shape){1, {channels}}, 3);
}

/* x (N, H, W, C) int8 -> QCONV2D (groups 1 to 3; stored as int8) -> QDEPTHWISE_CONV2D. */
static int build_qconv(graph *g)
{
    graph_init(g, DVM_SOURCE_TFLITE);
    const int32_t rounding = rnd() % 2 ? DV_ROUND_DOUBLE : DV_ROUND_SINGLE;
    g->ir.rounding = rounding;
    const uint32_t groups = rnd() % 4 ? 1 : (uint32_t)between(2, 3);
    const uint32_t depth = (uint32_t)(rnd() % 4 ? between(1, 16) : between(17, 48));
    const uint32_t out_c = groups * (rnd() % 5 ? per_group() : (uint32_t)between(33, 90));
    uint32_t in[5];
    in[0] = graph_input(g, (dv_shape){4, {(uint32_t)between(1, 2), (uint32_t)between(2, 12),
                                          (uint32_t)between(2, 12), groups * depth}},
                        DVM_DTYPE_INT8, 1);
    const uint32_t kh = (uint32_t)between(1, 3), kw = rnd() % 4 ? kh : (uint32_t)between(1, 3);
    in[1] = constant(g, (dv_shape){4, {out_c, kh, kw, depth}}, 0);
    q_vectors(g, out_c, in);
    int32_t a[QDW_N_ATTRS];
    q_common(a, rounding);
    uint32_t y1, y2;
    if (!append(g, DV_OP_QCONV2D, 5, in, a, QCONV_N_ATTRS, 8, &y1))
        return 0;
    const uint32_t mult = rnd() % 3 ? 1 : (uint32_t)between(2, 4);
    const int three = rnd() % 3 != 0;
    const uint32_t dkh = three ? 3 : (uint32_t)between(1, 5);
    const uint32_t dkw = three ? 3 : (uint32_t)between(1, 5);
    in[0] = y1;
    in[1] = constant(g, (dv_shape){4, {1, dkh, dkw, out_c * mult}}, 0);
    q_vectors(g, out_c * mult, in);
    q_common(a, rounding);
    a[QDW_DEPTH_MULTIPLIER] = (int32_t)mult;
    if (!append(g, DV_OP_QDEPTHWISE_CONV2D, 5, in, a, QDW_N_ATTRS, 8, &y2))
        return 0;
    g->ir.n_outputs = 1;
    g->ir.outputs[0] = y2;
    return g->ok;
}

/* x (rows, depth) int8 -> QFULLY_CONNECTED (stored as int8) -> QFULLY_CONNECTED. */
static int build_qfc(graph *g)
{
    graph_init(g, DVM_SOURCE_TFLITE);
    const int32_t rounding = rnd() % 2 ? DV_ROUND_DOUBLE : DV_ROUND_SINGLE;
    g->ir.rounding = rounding;
    uint32_t depth = (uint32_t)(rnd() % 4 ? between(1, 70) : between(60, 300));
    uint32_t in[5], y = 0;
    in[0] = graph_input(g, (dv_shape){2, {(uint32_t)between(1, 4), depth}}, DVM_DTYPE_INT8, 1);
    for (int layer = 0; layer < 2; layer++) {
        const uint32_t units = (uint32_t)(rnd() % 4 ? between(1, 70) : between(100, 300));
        in[1] = constant(g, (dv_shape){2, {units, depth}}, 0);
        q_vectors(g, units, in);
        int32_t a[QFC_N_ATTRS] = {between(-127, 128), rnd() % 2 ? 0 : between(-128, 127),
                                  between(-128, 127), rnd() % 2 ? -128 : between(-128, 0),
                                  rnd() % 2 ? 127 : between(1, 127), rounding};
        if (!append(g, DV_OP_QFULLY_CONNECTED, 5, in, a, QFC_N_ATTRS, 8, &y))
            return 0;
        in[0] = y;
        depth = units;
    }
    g->ir.n_outputs = 1;
    g->ir.outputs[0] = y;
    return g->ok;
}

/* A PACKS section holding the entries of both sections (the union, sorted; an entry in both
 * taken once), for modules with the same other sections. */
static uint8_t *packs_merge(const uint8_t *a, uint32_t a_len, const uint8_t *b, uint32_t b_len,
                            uint32_t *len, uint32_t *n_out)
{
    uint32_t na, nb;
    pack_entry *ea = packs_parse(a, a_len, &na), *eb = packs_parse(b, b_len, &nb);
    pack_entry *e = calloc(na + nb + 1, sizeof *e);
    const uint8_t **blob = calloc(na + nb + 1, sizeof *blob);
    uint32_t n = 0;
    for (uint32_t i = 0; i < na; i++) {
        blob[n] = a + ea[i].off;
        e[n++] = ea[i];
    }
    for (uint32_t i = 0; i < nb; i++) {
        uint32_t j = 0;
        while (j < na && entry_order(&ea[j], &eb[i]) != 0)
            j++;
        if (j == na) {
            blob[n] = b + eb[i].off;
            e[n++] = eb[i];
        }
    }
    /* sort entries and blobs together (insertion sort: a few entries) */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && entry_order(&e[j - 1], &e[j]) > 0; j--) {
            pack_entry te = e[j];
            e[j] = e[j - 1];
            e[j - 1] = te;
            const uint8_t *tb = blob[j];
            blob[j] = blob[j - 1];
            blob[j - 1] = tb;
        }
    uint8_t *p = packs_make(e, blob, n, len);
    *n_out = n;
    free(ea);
    free(eb);
    free(e);
    free(blob);
    return p;
}

typedef struct {
    const char *name;
    uint8_t *bytes;
    size_t len;
    int own;         /* bytes malloc'd here (else an emitted module's) */
} variant_module;

static uint32_t graphs_checked, modules_checked, runs_checked, merged_checked;

/* Emits g without packs, with this CPU's and with AVX2's only, adds a module with both AVX2's
 * and VNNI's entries, and holds every module at every kernel level to the reference kernels'
 * output on the module without packs. */
static void check_graph(graph *g, const char *what)
{
    detvm_error err = {0};
    char why[300] = "";
    ir_choose_storage(&g->ir);
    if (ir_plan_memory(&g->ir, &err)) {
        CHECK(0, "%s: plan: %s", what, err.message);
        return;
    }
    const uint32_t cpu = dv_isa_detect();
    variant_module mods[4] = {{"no packs", 0, 0, 0}, {"packs", 0, 0, 0}, {"avx2 packs", 0, 0, 0},
                              {"avx2+vnni packs", 0, 0, 1}};
    const uint32_t isa[3] = {0, cpu, cpu & DV_ISA_AVX2};
    uint32_t n_mods = 0, n_entries[4] = {0, 0, 0, 0};
    for (uint32_t i = 0; i < 3; i++) {
        if (i == 2 && (!isa[2] || isa[2] == cpu))
            break; /* no AVX2, or AVX2 is all this CPU has: the same as "packs" */
        g->ir.pack_isa = isa[i];
        if (ir_emit(&g->ir, &mods[i].bytes, &mods[i].len, &err)) {
            CHECK(0, "%s: emit with pack_isa %#x: %s", what, isa[i], err.message);
            break;
        }
        n_mods = i + 1;
    }
    if (n_mods < 2)
        goto done;
    if (n_mods == 3) {
        /* both instruction sets' entries for the same instructions: the session takes the one
         * of the variant it runs */
        sec_table ta = table_of(mods[2].bytes, mods[2].len), tb = table_of(mods[1].bytes,
                                                                           mods[1].len);
        const sec_ref *sa = sec_find(&ta, DVM_SEC_PACKS), *sb = sec_find(&tb, DVM_SEC_PACKS);
        if (sa && sb) {
            uint32_t plen, pn;
            uint8_t *p = packs_merge(mods[2].bytes + sa->off, sa->len, mods[1].bytes + sb->off,
                                     sb->len, &plen, &pn);
            modbuf mb = assemble(mods[0].bytes, mods[0].len, p, plen, 0);
            free(p);
            mods[3].bytes = mb.block; /* misalign 0: the block is the module */
            mods[3].len = mb.len;
            n_mods = 4;
            merged_checked++;
        }
    }

    /* the truth: the reference kernels on the module without packs */
    detvm_module *m0 = NULL;
    detvm_session *ref = NULL;
    if (detvm_module_load(mods[0].bytes, mods[0].len, &m0, &err) ||
        detvm_session_new(m0, &ref, &err) ||
        detvm_session_set_kernels(ref, DETVM_KERNELS_REFERENCE, &err)) {
        CHECK(0, "%s: %s", what, err.message);
        detvm_session_free(ref);
        detvm_module_free(m0);
        goto done;
    }
    detvm_module_info info;
    detvm_module_get_info(m0, &info);
    const size_t in_len = (size_t)info.input_len, out_len = (size_t)info.output_len;
    uint8_t *input = malloc(in_len + 1), *truth = malloc(out_len + 1);
    for (size_t i = 0; i < in_len; i++)
        input[i] = (uint8_t)rnd();
    if (g->ir.input_bytes == 4)
        for (size_t i = 0; i < in_len; i += 4) /* int8 values as int32: mostly in range */
            dvm_put_u32(input + i, (uint32_t)(rnd() % 16 ? between(-128, 127) : (int32_t)rnd()));
    const int have_truth = detvm_run(ref, input, in_len, truth, out_len, &err) == DETVM_OK;
    CHECK(have_truth, "%s: the reference run: %s", what, err.message);
    detvm_session_free(ref);
    uint8_t id0[32];
    detvm_module_id(m0, id0);
    detvm_module_free(m0);

    for (uint32_t v = 0; v < n_mods && have_truth; v++) {
        variant_module *vm = &mods[v];
        sec_table t = table_of(vm->bytes, vm->len);
        const sec_ref *ps = sec_find(&t, DVM_SEC_PACKS);
        if (v == 0)
            CHECK(ps == NULL, "%s, no packs: a PACKS section", what);
        if (v > 0)
            CHECK(same_but_packs(vm->bytes, vm->len, mods[0].bytes, mods[0].len, why, sizeof why),
                  "%s, %s: %s", what, vm->name, why);
        const uint8_t *packs = ps ? vm->bytes + ps->off : NULL;
        uint32_t n;
        pack_entry *e = packs_parse(packs, ps ? ps->len : 0, &n);
        detvm_module *m = NULL;
        if (detvm_module_load(vm->bytes, vm->len, &m, &err)) {
            CHECK(0, "%s, %s: %s", what, vm->name, err.message);
            free(e);
            continue;
        }
        uint8_t id[32];
        detvm_module_id(m, id);
        CHECK(memcmp(id, id0, 32) == 0, "%s, %s: the module id changed", what, vm->name);
        detvm_module_get_info(m, &info);
        CHECK(info.n_packs == n && info.n_packs_used == n, "%s, %s: %u of %u entries used", what,
              vm->name, info.n_packs_used, n);
        for (uint32_t i = 0; i < n; i++)
            CHECK(e[i].isa & isa[v < 3 ? v : 1], "%s, %s: entry %u has isa %#x", what, vm->name,
                  i, e[i].isa);
        n_entries[v] = n;
        if (v == 1 || v == 2) /* exactly what the variants picked among those sets pack */
            check_entry_fields(mods[0].bytes, mods[0].len, isa[v], packs, e, n, 0, what);
        for (uint32_t l = 0; l < N_LEVELS; l++) {
            if (!detvm_kernels_available(levels[l].kernels))
                continue;
            const uint32_t threads = v == 1 && l == 0 ? 3 : 1;
            step_tally st = {0};
            const int ok = run_compare(m, vm->bytes, vm->len, packs, e, n, levels[l].kernels,
                                       threads, input, 1, in_len, truth, out_len, &st, why,
                                       sizeof why);
            CHECK(ok, "%s, %s, %s: %s", what, vm->name, levels[l].name, why);
            CHECK(st.wrong == 0, "%s, %s, %s: %s", what, vm->name, levels[l].name, st.first);
            /* at the level the entries were made for, every one of them is used */
            /* At the level the entries were made for, every one of them is used; the merged
             * module's AVX2 entries serve the AVX2 level, its best ones the CPU's best. */
            uint32_t want = UINT32_MAX;
            if (v == 0)
                want = 0;
            else if ((v == 1 || v == 3) && levels[l].kernels == DETVM_KERNELS_AUTO)
                want = n_entries[1];
            else if ((v == 2 || v == 3) && levels[l].kernels == DETVM_KERNELS_AVX2)
                want = n_entries[2];
            if (want != UINT32_MAX)
                CHECK(st.in_place == want, "%s, %s, %s: %u steps in place, want %u", what,
                      vm->name, levels[l].name, st.in_place, want);
            runs_checked++;
        }
        modules_checked++;
        detvm_module_free(m);
        free(e);
    }
    graphs_checked++;
    free(input);
    free(truth);
done:
    for (uint32_t i = 0; i < 4; i++)
        free(mods[i].bytes);
}

static void test_synthetic(void)
{
    static const struct {
        const char *name;
        int (*build)(graph *g);
        int count;
    } kinds[] = {
        {"cvm conv2d", build_cvm, 40},
        {"qconv2d + qdepthwise", build_qconv, 40},
        {"qfully_connected", build_qfc, 30},
    };
    memset(in_place_by_opcode, 0, sizeof in_place_by_opcode);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int built = 0, refused_draws = 0;
        while (built < kinds[k].count && refused_draws < 2000) {
            const uint64_t seed = rng_state;
            graph g;
            if (!kinds[k].build(&g)) {
                ir_builder_free(&g.b);
                refused_draws++;
                continue;
            }
            char what[120];
            snprintf(what, sizeof what, "%s %d (DETVM_TEST_SEED=%#llx)", kinds[k].name, built,
                     (unsigned long long)seed);
            check_graph(&g, what);
            ir_builder_free(&g.b);
            built++;
        }
        CHECK(built == kinds[k].count, "%s: only %d graphs built", kinds[k].name, built);
    }
    if (!cpu_packs()) {
        SKIP("this CPU runs no kernel variants: no step of the random graphs could be packed");
        return;
    }
    /* every packing of an op the graphs hold (those this build and CPU have) ran in place */
    static const uint32_t ops[] = {DV_OP_CONV2D, DV_OP_CONV2D_SHIFT, DV_OP_CONV2D_SHIFT_MAX_POOL,
                                   DV_OP_QCONV2D, DV_OP_QDEPTHWISE_CONV2D,
                                   DV_OP_QFULLY_CONNECTED};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        int packs_here = 0;
        for (uint32_t v = 0; v < dv_variant_count(); v++)
            packs_here |= dv_variant_at(v)->opcode == ops[i] &&
                          (dv_variant_at(v)->isa & dv_isa_detect()) &&
                          dv_variant_packing_of(dv_variant_at(v)) != NULL;
        if (packs_here)
            CHECK(in_place_by_opcode[ops[i]] > 0, "no %s step ran on module bytes",
                  dv_op_lookup(ops[i])->name);
    }
    if (dv_isa_detect() & DV_ISA_VNNI)
        CHECK(merged_checked > 0, "no module had both AVX2 and VNNI entries");
    else
        SKIP("this CPU has no AVX-512 VNNI: modules with two instruction sets' entries skipped");
}

/* An entry of length 0 for an instruction whose packing makes 0 bytes (a CVM depthwise conv, on
 * the variants' direct path, packs nothing): the emitter never writes one, but a module may.
 * There is nothing to pack (the emitter and the session both skip a packed size of 0), so the
 * entry must be refused or left unused; in no case may a step run with a "packed" pointer at
 * the end of the module. Under SANITIZE=1 this also catches checking it with a null area. */
static void test_zero_length_entry(void)
{
    const uint32_t cpu = dv_isa_detect();
    if (!cpu_packs()) {
        SKIP("this CPU runs no kernel variants: the zero-length entry is not checked");
        return;
    }
    graph g;
    graph_init(&g, DVM_SOURCE_CVM);
    g.wide = 0;
    uint32_t x = graph_input(&g, (dv_shape){4, {1, 4, 6, 6}}, DVM_DTYPE_INT32, 4), y = 0;
    const int32_t a[CONV_N_ATTRS] = {4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, 0};
    const uint32_t in[2] = {x, constant(&g, (dv_shape){4, {4, 1, 3, 3}}, 0)};
    detvm_error err = {0};
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int ok = append(&g, DV_OP_CONV2D, 2, in, a, CONV_N_ATTRS, 32, &y);
    g.ir.n_outputs = 1;
    g.ir.outputs[0] = y;
    ir_choose_storage(&g.ir);
    ok = ok && ir_plan_memory(&g.ir, &err) == DETVM_OK &&
         ir_emit(&g.ir, &plain, &plain_len, &err) == DETVM_OK;
    ir_builder_free(&g.b);
    detvm_module *m = NULL;
    if (!ok || detvm_module_load(plain, plain_len, &m, &err)) {
        CHECK(0, "zero-length entry: building the module: %s", err.message);
        free(plain);
        return;
    }
    vm_instr_inputs xi;
    const dv_variant_packing *pk = vm_instr_packing(m, 0, cpu, &xi);
    const uint64_t size =
        pk ? pk->packed_size(&m->instrs[0].attrs, m->instrs[0].n_in, xi.shapes) : 1;
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    const size_t in_len = (size_t)info.input_len, out_len = (size_t)info.output_len;
    uint8_t *input = calloc(in_len + 1, 1), *truth = malloc(out_len + 1);
    for (size_t i = 0; i < in_len; i += 4)
        dvm_put_u32(input + i, (uint32_t)between(-128, 127));
    detvm_session *ref = NULL;
    ok = detvm_session_new(m, &ref, &err) == DETVM_OK &&
         detvm_session_set_kernels(ref, DETVM_KERNELS_REFERENCE, &err) == DETVM_OK &&
         detvm_run(ref, input, in_len, truth, out_len, &err) == DETVM_OK;
    CHECK(ok, "zero-length entry: the reference run: %s", err.message);
    detvm_session_free(ref);
    detvm_module_free(m);
    if (!ok || !pk || size != 0) {
        SKIP("zero-length entry: the depthwise conv's packing makes %llu bytes here",
             (unsigned long long)size);
        free(input);
        free(truth);
        free(plain);
        return;
    }
    /* the table (40 bytes), then the empty blob at 64, the section's end */
    uint8_t packs[64] = {0};
    dvm_put_u32(packs, 1);
    dvm_put_u32(packs + 8, 0);
    dvm_put_u32(packs + 12, pk->variant->isa);
    dvm_put_u32(packs + 16, pk->layout);
    dvm_put_u64(packs + 24, 64);
    dvm_put_u64(packs + 32, 0);
    modbuf mb = assemble(plain, plain_len, packs, sizeof packs, 0);
    detvm_status st = detvm_module_load(mb.p, mb.len, &m, &err);
    if (st) {
        CHECK(st == DETVM_EINVALID && strstr(err.message, "PACKS") && one_line(err.message),
              "zero-length entry: refused uncleanly: %d %s", st, err.message);
    } else {
        detvm_module_get_info(m, &info);
        CHECK(info.n_packs == 1 && info.n_packs_used == 0 && info.packed_bytes == 0,
              "zero-length entry: loaded with %u of %u entries used", info.n_packs_used,
              info.n_packs);
        uint8_t *out = malloc(out_len + 1);
        for (uint32_t l = 0; l < N_LEVELS; l++) {
            if (!detvm_kernels_available(levels[l].kernels))
                continue;
            detvm_session *s = NULL;
            ok = detvm_session_new(m, &s, &err) == DETVM_OK &&
                 detvm_session_set_kernels(s, levels[l].kernels, &err) == DETVM_OK;
            const uint8_t *at = ok ? s->steps[0].packed : NULL;
            CHECK(ok && !at && !s->packed_blocks[0],
                  "zero-length entry, %s: step 0 runs with packed bytes at module offset %lld "
                  "(the module has %zu bytes): %s", levels[l].name,
                  at ? (long long)(at - mb.p) : -1LL, mb.len, err.message);
            ok = ok && detvm_run(s, input, in_len, out, out_len, &err) == DETVM_OK;
            CHECK(ok && memcmp(out, truth, out_len) == 0,
                  "zero-length entry, %s: the output differs: %s", levels[l].name, err.message);
            detvm_session_free(s);
        }
        free(out);
        detvm_module_free(m);
    }
    free(mb.block);
    free(input);
    free(truth);
    free(plain);
}

/* ---- 4. MobileNetV2 ---------------------------------------------------------------------- */

static void test_mobilenet(void)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared is absent (or DETVM_SHARED unset): MobileNetV2 not checked");
        return;
    }
    char dir[1200], path[1400];
    snprintf(dir, sizeof dir, "%s/" MOBILENET, shared);
    snprintf(path, sizeof path, "%s/model.tflite", dir);
    size_t n = 0;
    uint8_t *model = read_file(path, &n);
    if (!model) {
        SKIP("%s is absent: MobileNetV2 not checked", path);
        return;
    }
    size_t len = 0, plain_len = 0;
    uint8_t *bytes = compile_tflite(model, n, 0, &len, "mobilenet_v2");
    uint8_t *plain = compile_tflite(model, n, 1, &plain_len, "mobilenet_v2");
    free(model);
    detvm_module *m = NULL;
    detvm_error err = {0};
    if (!bytes || !plain || detvm_module_load(bytes, len, &m, &err)) {
        CHECK(0, "mobilenet_v2: %s", err.message);
        free(bytes);
        free(plain);
        return;
    }
    char why[300] = "";
    CHECK(same_but_packs(bytes, len, plain, plain_len, why, sizeof why), "mobilenet_v2: %s", why);
    uint8_t id[32], want[32];
    detvm_module_id(m, id);
    expected_id(plain, plain_len, want);
    CHECK(memcmp(id, want, 32) == 0, "mobilenet_v2: the id is not that of the module without packs");
    sec_table t = table_of(bytes, len);
    const sec_ref *ps = sec_find(&t, DVM_SEC_PACKS);
    const uint8_t *packs = ps ? bytes + ps->off : NULL;
    uint32_t ne = 0;
    pack_entry *e = packs_parse(packs, ps ? ps->len : 0, &ne);
    if (!ps && !cpu_packs())
        SKIP("this CPU runs no kernel variants: MobileNetV2's packs not checked");
    else {
        uint32_t by_op[3] = {0, 0, 0};
        for (uint32_t i = 0; i < ne; i++) {
            const uint32_t op = e[i].k < m->n_instrs ? m->instrs[e[i].k].opcode : 0;
            by_op[0] += op == DV_OP_QCONV2D;
            by_op[1] += op == DV_OP_QDEPTHWISE_CONV2D;
            by_op[2] += op == DV_OP_QFULLY_CONNECTED;
        }
        CHECK(by_op[0] >= 10 && by_op[1] >= 10 && by_op[2] >= 1,
              "mobilenet_v2: %u entries: %u QCONV2D, %u QDEPTHWISE_CONV2D, %u QFULLY_CONNECTED",
              ne, by_op[0], by_op[1], by_op[2]);
        detvm_module_info info;
        detvm_module_get_info(m, &info);
        CHECK(info.n_packs == ne && info.n_packs_used == ne, "mobilenet_v2: %u of %u used",
              info.n_packs_used, ne);
        check_entry_fields(plain, plain_len, dv_isa_detect(), packs, e, ne, 1, "mobilenet_v2");
    }
    /* the goldens, on the module with packs (steps in place) and on the one without */
    detvm_module *mn = NULL;
    CHECK(detvm_module_load(plain, plain_len, &mn, &err) == DETVM_OK, "%s", err.message);
    snprintf(path, sizeof path, "%s/inputs", dir);
    DIR *d = opendir(path);
    int runs = 0;
    for (struct dirent *de; d && mn && (de = readdir(d));) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".bin") != 0)
            continue;
        size_t in_len = 0, want_len = 0;
        snprintf(path, sizeof path, "%s/inputs/%s", dir, de->d_name);
        uint8_t *in = read_file(path, &in_len);
        snprintf(path, sizeof path, "%s/expected/%.*s.out0.bin", dir, (int)nl - 4, de->d_name);
        uint8_t *golden = read_file(path, &want_len);
        for (int which = 0; which < 2 && in && golden; which++) {
            step_tally st = {0};
            int ok = run_compare(which ? mn : m, which ? plain : bytes, which ? plain_len : len,
                                 which ? NULL : packs, which ? NULL : e, which ? 0 : ne,
                                 DETVM_KERNELS_AUTO, 1, in, 1, in_len, golden, want_len, &st,
                                 why, sizeof why);
            CHECK(ok, "mobilenet_v2 %s, %s: %s", which ? "no_packs" : "packed", de->d_name, why);
            CHECK(st.wrong == 0 && (which || st.in_place == ne) && (!which || st.own == ne),
                  "mobilenet_v2 %s: %u in place, %u own of %u entries; %s",
                  which ? "no_packs" : "packed", st.in_place, st.own, ne, st.first);
        }
        CHECK(in && golden, "mobilenet_v2: %s or its golden unreadable", de->d_name);
        runs++;
        free(in);
        free(golden);
    }
    if (d)
        closedir(d);
    CHECK(runs >= 1, "mobilenet_v2: no inputs in %s/inputs", dir);
    free(e);
    detvm_module_free(mn);
    detvm_module_free(m);
    free(bytes);
    free(plain);
}

int main(void)
{
    /* The checks of which bytes each step runs with assume the kernel level each session sets;
     * DETVM_KERNELS would narrow it further. Threads are the test's own too. */
    unsetenv("DETVM_KERNELS");
    unsetenv("DETVM_THREADS");
    const char *seed = getenv("DETVM_TEST_SEED");
    rng_state = seed && *seed ? strtoull(seed, NULL, 0) : 0x5eed9ac5c0ffee11u;
    if (!rng_state)
        rng_state = 1;
    for (uint32_t l = 0; l < N_LEVELS; l++)
        if (!detvm_kernels_available(levels[l].kernels))
            SKIP("kernels %s: not available on this CPU", levels[l].name);
    test_hello_world();
    test_hostile();
    test_synthetic();
    test_zero_length_entry();
    test_mobilenet();
    free(hw.packed);
    free(hw.plain);
    free(hw.e);
    free(hw.truth);
    printf("test_packs: %u random graphs, %u modules, %u runs\n", graphs_checked,
           modules_checked, runs_checked);
    return check_summary("test_packs");
}
