/* Static checks (detvm_verify_module, `detvm verify`). Bounds computed by hand: the dense and
 * broadcast_mul layers and a right shift of the fixture chain_23, and hand-made modules (the
 * compiler's IR, emitted as is) with a padded conv2d with bias, a sum and a TFLite depthwise
 * convolution; hello_world_int8's first layer against all 256 inputs. Patched modules: a
 * dense weight at the exact int32 boundary of its accumulator, two live tensors on the same
 * bytes, a total gas that does not add up, requantization shifts out of TFLite's range, a
 * float input in the source, and every attribute and constant word set to extreme values.
 * The command's lines, JSON, help and exit statuses. With ../shared: every CVM valid and
 * medium case verifies cleanly or fails only on what the corpus documents (the CVM back ends'
 * divergences, `where` passing values wider than its declared precision), every output of
 * every instruction on the cases' inputs lies inside its computed range, every divergent
 * case fails on its warning, and every TFLite model verifies cleanly. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"
#include "ir.h"
#include "module.h"
#include "module_format.h"
#include "../verify/static_check.h"

#define CHAIN "fixtures/cvm/chain_23"
#define HELLO "fixtures/tflite/hello_world_int8/model.tflite"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct {
    uint8_t *bytes;
    size_t len;
    detvm_module *m;
} loaded;

static int load_files(const char *model, const char *params, loaded *l)
{
    detvm_error err = {0};
    memset(l, 0, sizeof *l);
    if (detvm_load_model_files(model, params, NULL, &l->bytes, &l->len, &err) ||
        detvm_module_load(l->bytes, l->len, &l->m, &err)) {
        CHECK(0, "%s: %s", model, err.message);
        free(l->bytes);
        l->bytes = NULL;
        return -1;
    }
    return 0;
}

/* Loads patched bytes (which the caller owns); NULL when the loader refuses them. */
static detvm_module *load_bytes(const uint8_t *bytes, size_t len)
{
    detvm_module *m = NULL;
    detvm_error err = {0};
    return detvm_module_load(bytes, len, &m, &err) ? NULL : m;
}

static void unload(loaded *l)
{
    detvm_module_free(l->m);
    free(l->bytes);
}

static uint8_t *copy_of(const uint8_t *p, size_t len)
{
    uint8_t *c = malloc(len + 1);
    memcpy(c, p, len);
    return c;
}

/* The section table entry of `kind` in module bytes. */
static uint8_t *section_entry(uint8_t *b, uint32_t kind)
{
    uint32_t n = dvm_u32(b + 8);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = b + DVM_HEADER_BYTES + i * DVM_SECTION_ENTRY_BYTES;
        if (dvm_u32(e) == kind)
            return e;
    }
    return NULL;
}

static uint8_t *section_data(uint8_t *b, uint32_t kind)
{
    return b + dvm_u32(section_entry(b, kind) + 4);
}

static void fix_crc(uint8_t *b, uint32_t kind)
{
    uint8_t *e = section_entry(b, kind);
    dvm_put_u32(e + 12, dvm_crc32(b + dvm_u32(e + 4), dvm_u32(e + 8)));
}

/* The value of META record `key`. */
static uint8_t *meta_value(uint8_t *b, uint32_t key)
{
    uint8_t *meta = section_data(b, DVM_SEC_META);
    uint32_t len = dvm_u32(section_entry(b, DVM_SEC_META) + 8);
    for (uint32_t p = 0; p + 8 <= len; p += 8 + dvm_u32(meta + p + 4))
        if (dvm_u16(meta + p) == key)
            return meta + p + 8;
    return NULL;
}

static uint32_t find_op(const detvm_module *m, uint32_t opcode)
{
    for (uint32_t k = 0; k < m->n_instrs; k++)
        if (m->instrs[k].opcode == opcode)
            return k;
    return UINT32_MAX;
}

/* Everything detvm_verify_module reported, for looking things up. */
#define MAX_FINDINGS 4096
typedef struct {
    detvm_finding f;
    char text[700], what[32], op[32], name[128];
} kept_finding;

typedef struct {
    kept_finding *all;
    uint32_t n;
    int sections_in_order;
} findings;

static void keep(void *user, const detvm_finding *f)
{
    findings *fs = user;
    if (fs->n && f->section < fs->all[fs->n - 1].f.section)
        fs->sections_in_order = 0;
    if (fs->n == MAX_FINDINGS)
        return;
    kept_finding *k = &fs->all[fs->n++];
    k->f = *f;
    snprintf(k->text, sizeof k->text, "%s", f->text);
    snprintf(k->what, sizeof k->what, "%s", f->what);
    snprintf(k->op, sizeof k->op, "%s", f->op);
    snprintf(k->name, sizeof k->name, "%s", f->name);
}

static detvm_status verify(const detvm_module *m, findings *fs, detvm_verify_summary *sum,
                           detvm_error *err)
{
    if (!fs->all)
        fs->all = calloc(MAX_FINDINGS, sizeof *fs->all);
    fs->n = 0;
    fs->sections_in_order = 1;
    return detvm_verify_module(m, keep, fs, sum, err);
}

/* The first finding about instruction k with this `what`, or NULL. */
static const kept_finding *finding_of(const findings *fs, int64_t k, const char *what)
{
    for (uint32_t i = 0; i < fs->n; i++)
        if (fs->all[i].f.instruction == k && strcmp(fs->all[i].what, what) == 0)
            return &fs->all[i];
    return NULL;
}

static uint32_t count_failed(const findings *fs, const char *what)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < fs->n; i++)
        n += fs->all[i].f.result == DETVM_FINDING_FAILED && strcmp(fs->all[i].what, what) == 0;
    return n;
}

/* ---- the command, through the shell ------------------------------------------------------ */

/* `detvm verify ARGS` (ARGS shell-quoted); the caller frees the result. */
static void run_cli(result *r, const char *args)
{
    char line[4096];
    snprintf(line, sizeof line, "verify %s", args);
    r->out = r->err = NULL;
    cli_shell(r, line);
}

static void free_result(result *r)
{
    free(r->out);
    free(r->err);
}

static void write_module(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, len, f) == len, "write %s", path);
    if (f)
        fclose(f);
}

/* ---- chain_23: bounds by hand ------------------------------------------------------------ */

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

static void test_chain_by_hand(findings *fs)
{
    loaded l;
    if (load_files(CHAIN "/symbol.json", CHAIN "/params.bin", &l))
        return;
    const detvm_module *m = l.m;

    /* dense_0: data (6,1) of precision p, weight (8,1) constant, no bias. Each output is
     * sum_k data[k] * w[u][k] with |data| <= 2^(p-1) - 1, so the accumulator's bound is
     * (2^(p-1) - 1) * max over u of sum_k |w[u][k]|. */
    uint32_t k = find_op(m, DV_OP_DENSE);
    CHECK(k != UINT32_MAX, "chain_23 has a dense layer");
    if (k == UINT32_MAX) {
        unload(&l);
        return;
    }
    const vm_instr *ins = &m->instrs[k];
    const vm_tensor *data = &m->tensors[ins->operands[0]], *w = &m->tensors[ins->operands[1]];
    CHECK(w->storage == DVM_STORAGE_CONST && ins->n_in == 2, "dense_0: constant weight, no bias");
    int64_t data_max = ((int64_t)1 << (data->precision - 1)) - 1, widest = 0;
    for (uint32_t u = 0; u < w->shape.dim[0]; u++) {
        int64_t row = 0;
        for (uint32_t c = 0; c < w->shape.dim[1]; c++)
            row += abs64(w->const_data[u * w->shape.dim[1] + c]);
        if (row > widest)
            widest = row;
    }
    int64_t by_hand = data_max * widest;
    CHECK(data->precision == 8 && by_hand == 15748,
          "dense_0 by hand: precision %u, 127 * %lld = %lld", data->precision, (long long)widest,
          (long long)by_hand);

    sc_bounds b;
    sc_instr_bounds(m, k, &b);
    CHECK(b.n_stages == 1 && strcmp(b.stage[0].what, "accumulator") == 0 &&
              b.stage[0].bits == 32 && b.stage[0].bound.lo == -by_hand &&
              b.stage[0].bound.hi == by_hand,
          "dense_0: analysis [%lld, %lld], by hand +-%lld", (long long)b.stage[0].bound.lo,
          (long long)b.stage[0].bound.hi, (long long)by_hand);
    CHECK(b.output_known[0] && b.output[0].lo == -by_hand && b.output[0].hi == by_hand,
          "dense_0: output range");

    /* broadcast_mul_0: (12,8) of precision 8 times the constant b (12,1): 127 * max |b| */
    uint32_t km = find_op(m, DV_OP_BROADCAST_MUL);
    const vm_instr *mul = &m->instrs[km];
    const vm_tensor *bt = &m->tensors[mul->operands[1]];
    int64_t bmax = 0;
    for (uint32_t i = 0; i < bt->shape.dim[0]; i++)
        if (abs64(bt->const_data[i]) > bmax)
            bmax = abs64(bt->const_data[i]);
    sc_instr_bounds(m, km, &b);
    CHECK(b.n_stages == 1 && b.stage[0].bound.hi == 127 * bmax &&
              b.stage[0].bound.lo == -127 * bmax,
          "broadcast_mul_0: [%lld, %lld], by hand +-127 * %lld", (long long)b.stage[0].bound.lo,
          (long long)b.stage[0].bound.hi, (long long)bmax);

    /* cvm_right_shift_0: input cvm_clip to precision 9 (+-255), shift_bit 7: the rounding step
     * t = floor(x / 64) + 1 lies in [-4 + 1, 3 + 1], and y = floor(t / 2) in [-2, 2]. */
    sc_instr_bounds(m, 2, &b);
    CHECK(m->instrs[2].opcode == DV_OP_CVM_RIGHT_SHIFT && b.stage[0].bound.lo == -3 &&
              b.stage[0].bound.hi == 4 && b.output[0].lo == -2 && b.output[0].hi == 2,
          "cvm_right_shift_0: rounding [%lld, %lld], output [%lld, %lld]",
          (long long)b.stage[0].bound.lo, (long long)b.stage[0].bound.hi,
          (long long)b.output[0].lo, (long long)b.output[0].hi);

    /* the report: every check holds; the dense line carries the bound */
    detvm_verify_summary sum;
    detvm_error err = {0};
    detvm_status st = verify(m, fs, &sum, &err);
    CHECK(st == DETVM_OK && sum.failed == 0 && sum.checks > 0, "chain_23 verifies: %s",
          err.message);
    CHECK(fs->sections_in_order, "findings come section by section");
    const kept_finding *f = finding_of(fs, k, "accumulator");
    CHECK(f && f->f.result == DETVM_FINDING_OK && f->f.has_bound && f->f.lo == -by_hand &&
              f->f.hi == by_hand && f->f.limit_bits == 32 && strcmp(f->name, "dense_0") == 0,
          "the dense finding");
    CHECK(f && strcmp(f->text, "step 7 dense dense_0: accumulator [-15748, 15748] within "
                               "int32: ok") == 0,
          "dense line: %s", f ? f->text : "none");
    f = finding_of(fs, k, "output precision");
    CHECK(f && f->f.result == DETVM_FINDING_OK && f->f.limit_bits == 17, "dense output line");
    for (uint32_t i = 0; i < m->n_instrs; i++)
        CHECK(finding_of(fs, i, "shape") && finding_of(fs, i, "layer gas") &&
                  finding_of(fs, i, "output precision"),
              "instruction %u: shape, gas and precision findings", i);
    f = finding_of(fs, -1, "gas");
    CHECK(f && f->f.result == DETVM_FINDING_OK && strstr(f->text, "total 2680 = layers 2550"),
          "gas: %s", f ? f->text : "none");
    f = finding_of(fs, -1, "overlap");
    CHECK(f && f->f.result == DETVM_FINDING_OK, "memory: no overlap");
    unload(&l);
}

/* ---- hello_world_int8: the first layer's bound against every input ------------------------ */

static void test_hello_exhaustive(findings *fs)
{
    loaded l;
    if (load_files(HELLO, NULL, &l))
        return;
    const detvm_module *m = l.m;
    /* step 0: FULLY_CONNECTED on one int8 input: acc = (w[o] + filter_offset) *
     * (x + input_offset) + bias[o], exactly, for each of the 256 inputs */
    const vm_instr *ins = &m->instrs[0];
    CHECK(ins->opcode == DV_OP_QFULLY_CONNECTED && m->tensors[ins->operands[0]].shape.dim[1] == 1,
          "hello_world step 0 is a one-input fully connected layer");
    const vm_tensor *w = &m->tensors[ins->operands[1]], *bias = &m->tensors[ins->operands[2]];
    int64_t lo = INT64_MAX, hi = INT64_MIN, bias_max = 0;
    for (uint32_t o = 0; o < w->shape.dim[0]; o++) {
        bias_max = abs64(bias->const_data[o]) > bias_max ? abs64(bias->const_data[o]) : bias_max;
        for (int x = -128; x <= 127; x++) {
            int64_t acc = ((int64_t)w->const_data[o] + ins->attrs.v[1]) *
                              ((int64_t)x + ins->attrs.v[0]) + bias->const_data[o];
            lo = acc < lo ? acc : lo;
            hi = acc > hi ? acc : hi;
        }
    }
    sc_bounds b;
    sc_instr_bounds(m, 0, &b);
    CHECK(b.stage[0].bound.lo <= lo && b.stage[0].bound.hi >= hi, "the bound holds every input");
    CHECK(lo - b.stage[0].bound.lo <= bias_max && b.stage[0].bound.hi - hi <= bias_max,
          "the bound is tight (within the bias): [%lld, %lld] for exact [%lld, %lld]",
          (long long)b.stage[0].bound.lo, (long long)b.stage[0].bound.hi, (long long)lo,
          (long long)hi);
    detvm_verify_summary sum;
    detvm_error err = {0};
    CHECK(verify(m, fs, &sum, &err) == DETVM_OK && sum.failed == 0, "hello_world verifies");
    CHECK(finding_of(fs, 0, "requantization") && finding_of(fs, -1, "rounding"),
          "requantization parameters and rounding are reported");
    CHECK(!finding_of(fs, 0, "output precision"), "no precision checks for TFLite");
    unload(&l);
}

/* ---- patched modules ----------------------------------------------------------------------- */

/* chain_23 with weight element `index` of dense_0 set to v (checksum repaired). */
static uint8_t *chain_with_weight(const loaded *l, uint32_t index, int32_t v)
{
    const vm_instr *ins = &l->m->instrs[find_op(l->m, DV_OP_DENSE)];
    const vm_tensor *w = &l->m->tensors[ins->operands[1]];
    uint8_t *b = copy_of(l->bytes, l->len);
    dvm_put_u32(section_data(b, DVM_SEC_CONSTS) + w->offset + 4 * index, (uint32_t)v);
    fix_crc(b, DVM_SEC_CONSTS);
    return b;
}

static void test_overflowing_dense(findings *fs)
{
    loaded l;
    if (load_files(CHAIN "/symbol.json", CHAIN "/params.bin", &l))
        return;
    uint32_t k = find_op(l.m, DV_OP_DENSE);
    /* weight (8,1): row 0 is the one weight w, so the bound is 127 * |w| exactly; the largest
     * w that fits is floor((2^31 - 1) / 127) = 16909320 */
    static const struct {
        int32_t w;
        int fits;
    } cases[] = {{16909320, 1}, {16909321, 0}, {-16909320, 1}, {-16909321, 0},
                 {INT32_MAX, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b = chain_with_weight(&l, 0, cases[i].w);
        detvm_module *m = load_bytes(b, l.len);
        CHECK(m != NULL, "the patched module loads");
        if (!m) {
            free(b);
            continue;
        }
        detvm_verify_summary sum;
        detvm_error err = {0};
        detvm_status st = verify(m, fs, &sum, &err);
        const kept_finding *f = finding_of(fs, k, "accumulator");
        int64_t want = 127 * abs64(cases[i].w);
        CHECK(f && f->f.hi == want && f->f.lo == -want, "w %d: bound +-%lld", cases[i].w,
              (long long)want);
        CHECK(f && f->f.result == (cases[i].fits ? DETVM_FINDING_OK : DETVM_FINDING_FAILED),
              "w %d: %s", cases[i].w, f ? f->text : "no finding");
        if (!cases[i].fits)
            CHECK(f && strstr(f->text, "dense_0") && strstr(f->text, "CAN OVERFLOW"),
                  "the failure names the layer: %s", f ? f->text : "");
        /* either way the output is far beyond its declared 17 bits */
        CHECK(st == DETVM_EINVALID && sum.failed >= 1 && strstr(err.message, "dense_0"),
              "w %d: verify fails naming dense_0: %s", cases[i].w, err.message);
        detvm_module_free(m);
        free(b);
    }

    /* through the command */
    char path[1200], args[1400];
    snprintf(path, sizeof path, "%s/overflow.dvm", tmp_dir);
    uint8_t *b = chain_with_weight(&l, 0, 20000000);
    write_module(path, b, l.len);
    free(b);
    result r;
    snprintf(args, sizeof args, "'%s'", path);
    run_cli(&r, args);
    CHECK(r.status == 1, "verify of the overflowing module exits 1, not %d", r.status);
    CHECK(strstr(r.out, "overflow: step 7 dense dense_0: accumulator [-2540000000, 2540000000] "
                        "exceeds int32: CAN OVERFLOW\n") != NULL,
          "the overflow line: %s", r.out);
    CHECK(strstr(r.out, "\nverify: 30 checks, 2 failed\n"), "summary: %s", r.out);
    free_result(&r);
    unload(&l);
}

/* ---- hand-made modules (the compiler's IR, emitted as is) --------------------------------- */

typedef struct {
    ir_module ir;
    ir_tensor t[16];
    ir_instr ins[8];
} hand_model;

static void hand_init(hand_model *h, uint32_t source_format)
{
    memset(h, 0, sizeof *h);
    h->ir.tensors = h->t;
    h->ir.instrs = h->ins;
    h->ir.source_format = source_format;
    h->ir.postprocess = "";
    h->ir.source_version = "hand";
    h->ir.rounding = source_format == DVM_SOURCE_TFLITE ? 0 : -1;
    h->ir.input_bytes = 4;
    h->ir.output_bytes = 4;
    h->ir.n_outputs = 1;
}

/* A tensor of shape dims[0..ndim-1]; constant when data is not NULL. */
static uint32_t hand_tensor(hand_model *h, const char *name, uint32_t ndim, const uint32_t *dims,
                            uint8_t precision, uint8_t dtype, const int32_t *data)
{
    ir_tensor *t = &h->t[h->ir.n_tensors];
    t->shape.ndim = ndim;
    memcpy(t->shape.dim, dims, ndim * sizeof *dims);
    t->precision = precision;
    t->dtype = dtype;
    t->name = name;
    t->data = data;
    t->storage = data ? DVM_STORAGE_CONST : DVM_STORAGE_ARENA;
    return h->ir.n_tensors++;
}

static void hand_instr(hand_model *h, uint32_t opcode, const char *name, uint32_t n_in,
                       const uint32_t *operands, const int32_t *attrs, uint32_t n_attrs)
{
    ir_instr *ins = &h->ins[h->ir.n_instrs++];
    ins->opcode = opcode;
    ins->name = name;
    ins->n_in = n_in;
    ins->n_out = 1;
    memcpy(ins->operands, operands, (n_in + 1) * sizeof *operands);
    ins->attrs = attrs;
    ins->n_attrs = n_attrs;
}

/* Plans the memory (unless the caller placed the tensors) and emits the module. The layers
 * cost no gas; a CVM module's total is then its variables' memory cost, 5 per element of the
 * input and the constants. */
static uint8_t *hand_emit(hand_model *h, int plan, size_t *len)
{
    detvm_error err = {0};
    uint8_t *bytes = NULL;
    h->ir.gas = 0;
    for (uint32_t i = 0; h->ir.source_format == DVM_SOURCE_CVM && i < h->ir.n_tensors; i++)
        if (i == h->ir.input || h->t[i].storage == DVM_STORAGE_CONST)
            h->ir.gas += 5 * dv_shape_size(&h->t[i].shape);
    if (plan)
        CHECK(ir_plan_memory(&h->ir, &err) == DETVM_OK, "plan: %s", err.message);
    CHECK(ir_emit(&h->ir, &bytes, len, &err) == DETVM_OK, "emit: %s", err.message);
    return bytes;
}

/* x -> relu -> a; x -> negative -> b; a + b -> c. While negative runs, a is live (c reads it)
 * without being negative's operand: putting b on a's bytes passes the loader's per-instruction
 * checks, and verify must find it. */
static void test_overlap(findings *fs)
{
    static const uint32_t vec[] = {4};
    hand_model h;
    hand_init(&h, DVM_SOURCE_CVM);
    uint32_t x = hand_tensor(&h, "x", 1, vec, 8, DVM_DTYPE_INT32, NULL);
    uint32_t a = hand_tensor(&h, "a", 1, vec, 8, DVM_DTYPE_INT32, NULL);
    uint32_t b = hand_tensor(&h, "b", 1, vec, 8, DVM_DTYPE_INT32, NULL);
    uint32_t c = hand_tensor(&h, "c", 1, vec, 9, DVM_DTYPE_INT32, NULL);
    hand_instr(&h, DV_OP_RELU, "relu_a", 1, (const uint32_t[]){x, a}, NULL, 0);
    hand_instr(&h, DV_OP_NEGATIVE, "negative_b", 1, (const uint32_t[]){x, b}, NULL, 0);
    hand_instr(&h, DV_OP_ELEMWISE_ADD, "add_c", 2, (const uint32_t[]){a, b, c}, NULL, 0);
    h.ir.input = x;
    h.ir.outputs[0] = c;
    size_t len;
    uint8_t *bytes = hand_emit(&h, 1, &len);
    detvm_module *m = load_bytes(bytes, len);
    detvm_verify_summary sum;
    detvm_error err = {0};
    CHECK(m && verify(m, fs, &sum, &err) == DETVM_OK, "the planned diamond verifies: %s",
          err.message);
    detvm_module_free(m);
    free(bytes);

    h.t[b].offset = h.t[a].offset;
    uint64_t end = 0;
    for (uint32_t i = 0; i < h.ir.n_tensors; i++)
        if (h.t[i].offset + 16 > end)
            end = h.t[i].offset + 16;
    h.ir.arena_bytes = (end + 63) / 64 * 64;
    bytes = hand_emit(&h, 0, &len);
    m = load_bytes(bytes, len);
    CHECK(m != NULL, "the module with b on a's bytes loads");
    if (m) {
        detvm_status st = verify(m, fs, &sum, &err);
        CHECK(st == DETVM_EINVALID && count_failed(fs, "overlap") == 1, "verify finds it");
        const kept_finding *f = NULL;
        for (uint32_t i = 0; i < fs->n && !f; i++)
            if (strcmp(fs->all[i].what, "overlap") == 0)
                f = &fs->all[i];
        CHECK(f && strstr(f->text, "t1 a [") && strstr(f->text, "t2 b [") &&
                  strstr(f->text, "share bytes while both live at step 1: FAILED"),
              "the overlap names both tensors and the step: %s", f ? f->text : "");
        CHECK(strstr(err.message, "memory: t1 a"), "the message names it: %s", err.message);
    }
    detvm_module_free(m);
    free(bytes);
}

/* conv2d with padding and a bias, by hand: channel o's accumulator lies in
 * [min(0, bias) - 127 * sum|w|, max(0, bias) + 127 * sum|w|]:
 *   channel 0: w 1 -2 3 -4 (sum 10), bias 100: [-1270, 1370]
 *   channel 1: w 5 6 -7 0 (sum 18), bias -50:  [-2336, 2286]
 * and its outputs (taps in the padding left out) in bias +- 127 * sum|w|:
 *   [-1170, 1370] and [-2336, 2236]. Then a sum over the last axis of four 10-bit values. */
static void test_conv_and_sum_by_hand(findings *fs)
{
    static const int32_t weight[] = {1, -2, 3, -4, 5, 6, -7, 0}, bias[] = {100, -50};
    static const int32_t conv_attrs[] = {2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const int32_t sum_attrs[] = {0, 0, 3};
    hand_model h;
    hand_init(&h, DVM_SOURCE_CVM);
    uint32_t x = hand_tensor(&h, "x", 4, (const uint32_t[]){1, 1, 3, 3}, 8, 0, NULL);
    uint32_t w = hand_tensor(&h, "w", 4, (const uint32_t[]){2, 1, 2, 2}, 4, 0, weight);
    uint32_t bs = hand_tensor(&h, "bias", 1, (const uint32_t[]){2}, 8, 0, bias);
    uint32_t y = hand_tensor(&h, "y", 4, (const uint32_t[]){1, 2, 4, 4}, 13, 0, NULL);
    uint32_t s = hand_tensor(&h, "s", 3, (const uint32_t[]){1, 2, 4}, 15, 0, NULL);
    hand_instr(&h, DV_OP_CONV2D, "conv", 3, (const uint32_t[]){x, w, bs, y}, conv_attrs, 13);
    hand_instr(&h, DV_OP_SUM, "sum", 1, (const uint32_t[]){y, s}, sum_attrs, 3);
    h.ir.input = x;
    h.ir.outputs[0] = s;
    size_t len;
    uint8_t *bytes = hand_emit(&h, 1, &len);
    detvm_module *m = load_bytes(bytes, len);
    CHECK(m != NULL, "the hand-made conv module loads");
    if (m) {
        sc_bounds b;
        sc_instr_bounds(m, 0, &b);
        CHECK(b.n_stages == 1 && b.stage[0].bound.lo == -2336 && b.stage[0].bound.hi == 2286,
              "conv accumulator [%lld, %lld]", (long long)b.stage[0].bound.lo,
              (long long)b.stage[0].bound.hi);
        CHECK(b.output[0].lo == -2336 && b.output[0].hi == 2236, "conv output [%lld, %lld]",
              (long long)b.output[0].lo, (long long)b.output[0].hi);
        /* the sum reads y by its declared 13 bits: 4 * 4095 */
        sc_instr_bounds(m, 1, &b);
        CHECK(b.n_stages == 1 && b.stage[0].bound.lo == -16380 && b.stage[0].bound.hi == 16380,
              "sum accumulator [%lld, %lld]", (long long)b.stage[0].bound.lo,
              (long long)b.stage[0].bound.hi);
        detvm_verify_summary sum;
        detvm_error err = {0};
        CHECK(verify(m, fs, &sum, &err) == DETVM_OK, "verifies: %s", err.message);
        detvm_module_free(m);
    }
    free(bytes);

    /* a 12-bit output precision cannot hold the conv's 2336: a precision failure only */
    h.t[y].precision = 12;
    bytes = hand_emit(&h, 0, &len);
    m = load_bytes(bytes, len);
    if (m) {
        detvm_verify_summary sum;
        detvm_error err = {0};
        CHECK(verify(m, fs, &sum, &err) == DETVM_EINVALID && sum.failed == 1 &&
                  count_failed(fs, "output precision") == 1,
              "an output beyond its precision fails: %s", err.message);
        const kept_finding *f = finding_of(fs, 0, "output precision");
        CHECK(f && strcmp(f->text, "step 0 conv2d conv: output [-2336, 2236] exceeds precision "
                                   "12 (+-2047): FAILED") == 0,
              "precision line: %s", f ? f->text : "");
        detvm_module_free(m);
    }
    free(bytes);
}

/* TFLite depthwise convolution, C = 2 channels times M = 2: output channel o = c * 2 + m
 * reads filter[0][ky][kx][o] (stride 4 between taps) and data channel o / 2. With input zero
 * point -128, x + 128 lies in [0, 255], so channel o's accumulator lies in
 * [min(0, bias) + 255 * (negative weights), max(0, bias) + 255 * (positive weights)]:
 *   o = 0: taps 1 -1 2 0            [-255, 765]
 *   o = 1: taps 2 5 -3 0            [-765, 1785]
 *   o = 2: taps 3 0 0 -8            [-2040, 765]
 *   o = 3: taps 4 0 1 1, bias 1000  [0, 2530] */
static void test_depthwise_by_hand(findings *fs)
{
    static const int32_t filter[] = {1, 2, 3, 4, -1, 5, 0, 0, 2, -3, 0, 1, 0, 0, -8, 1};
    static const int32_t bias[] = {0, 0, 0, 1000}, mult[] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
    static const int32_t shift[] = {0, 0, 0, 0};
    static const int32_t attrs[] = {1, 1, 1, 1, 0, 0, 0, 0, 128, 0, -128, 127, 0, 2};
    hand_model h;
    hand_init(&h, DVM_SOURCE_TFLITE);
    h.ir.input_bytes = 1;
    h.ir.output_bytes = 1;
    uint32_t x = hand_tensor(&h, "x", 4, (const uint32_t[]){1, 3, 3, 2}, 8, DVM_DTYPE_INT8, NULL);
    uint32_t f = hand_tensor(&h, "f", 4, (const uint32_t[]){1, 2, 2, 4}, 8, DVM_DTYPE_INT8,
                             filter);
    const uint32_t vec4[] = {4};
    uint32_t bs = hand_tensor(&h, "bias", 1, vec4, 32, DVM_DTYPE_INT32, bias);
    uint32_t mu = hand_tensor(&h, "mult", 1, vec4, 32, DVM_DTYPE_INT32, mult);
    uint32_t sh = hand_tensor(&h, "shift", 1, vec4, 32, DVM_DTYPE_INT32, shift);
    uint32_t y = hand_tensor(&h, "y", 4, (const uint32_t[]){1, 2, 2, 4}, 8, DVM_DTYPE_INT8, NULL);
    hand_instr(&h, DV_OP_QDEPTHWISE_CONV2D, "dw", 5, (const uint32_t[]){x, f, bs, mu, sh, y},
               attrs, 14);
    h.ir.input = x;
    h.ir.outputs[0] = y;
    size_t len;
    uint8_t *bytes = hand_emit(&h, 1, &len);
    detvm_module *m = load_bytes(bytes, len);
    CHECK(m != NULL, "the hand-made depthwise module loads");
    if (m) {
        sc_bounds b;
        sc_instr_bounds(m, 0, &b);
        CHECK(b.n_stages == 1 && b.stage[0].bound.lo == -2040 && b.stage[0].bound.hi == 2530,
              "depthwise accumulator [%lld, %lld]", (long long)b.stage[0].bound.lo,
              (long long)b.stage[0].bound.hi);
        detvm_verify_summary sum;
        detvm_error err = {0};
        CHECK(verify(m, fs, &sum, &err) == DETVM_OK, "verifies: %s", err.message);
        detvm_module_free(m);
    }
    free(bytes);
}

static void test_gas_mismatch(findings *fs)
{
    loaded l;
    if (load_files(CHAIN "/symbol.json", CHAIN "/params.bin", &l))
        return;
    uint8_t *b = copy_of(l.bytes, l.len);
    uint8_t *gas = meta_value(b, DVM_META_GAS);
    dvm_put_u64(gas, dvm_u64(gas) + 1);
    fix_crc(b, DVM_SEC_META);
    detvm_module *m = load_bytes(b, l.len);
    CHECK(m != NULL, "the module with another total gas loads");
    if (m) {
        detvm_verify_summary sum;
        detvm_error err = {0};
        CHECK(verify(m, fs, &sum, &err) == DETVM_EINVALID && sum.failed == 1 &&
                  count_failed(fs, "gas") == 1,
              "a total gas that is not the layers' and variables' fails");
        detvm_module_free(m);
    }
    free(b);
    unload(&l);
}

/* hello_world with layer 0's shift set to 31 (outside QuantizeMultiplier's range) and then
 * 3 (inside, but a left shift of the accumulator), and with a float input in the source. */
static void test_tflite_patches(findings *fs)
{
    loaded l;
    if (load_files(HELLO, NULL, &l))
        return;
    const vm_tensor *shift = &l.m->tensors[l.m->instrs[0].operands[4]];
    static const int32_t shifts[] = {31, 3};
    for (int i = 0; i < 2; i++) {
        uint8_t *b = copy_of(l.bytes, l.len);
        for (uint32_t c = 0; c < shift->shape.dim[0]; c++)
            dvm_put_u32(section_data(b, DVM_SEC_CONSTS) + shift->offset + 4 * c,
                        (uint32_t)shifts[i]);
        fix_crc(b, DVM_SEC_CONSTS);
        detvm_module *m = load_bytes(b, l.len);
        CHECK(m != NULL, "the module with shift %d loads", shifts[i]);
        if (m) {
            detvm_verify_summary sum;
            detvm_error err = {0};
            detvm_status st = verify(m, fs, &sum, &err);
            const kept_finding *rq = finding_of(fs, 0, "requantization");
            const kept_finding *rs = finding_of(fs, 0, "rescale");
            CHECK(rq && rq->f.result == (shifts[i] > 30 ? DETVM_FINDING_FAILED
                                                        : DETVM_FINDING_OK),
                  "shift %d: requantization range: %s", shifts[i], rq ? rq->text : "");
            /* the accumulator times 2^shift (clamped to 30): 2^3 fits, 2^30 cannot */
            const kept_finding *acc = finding_of(fs, 0, "accumulator");
            CHECK(rs && acc && rs->f.result == (shifts[i] > 30 ? DETVM_FINDING_FAILED
                                                               : DETVM_FINDING_OK),
                  "shift %d: rescale: %s", shifts[i], rs ? rs->text : "");
            CHECK(st == (shifts[i] > 30 ? DETVM_EINVALID : DETVM_OK), "shift %d: status",
                  shifts[i]);
            detvm_module_free(m);
        }
        free(b);
    }

    uint8_t *b = copy_of(l.bytes, l.len);
    uint8_t *q = meta_value(b, DVM_META_IO_QUANT);
    CHECK(q != NULL, "TFLite modules record their bindings' quantization");
    if (q) {
        dvm_put_u32(q + 8, DVM_IO_FLOAT_IN_SOURCE);
        fix_crc(b, DVM_SEC_META);
        detvm_module *m = load_bytes(b, l.len);
        if (m) {
            detvm_verify_summary sum;
            detvm_error err = {0};
            CHECK(verify(m, fs, &sum, &err) == DETVM_OK, "a float boundary is a note");
            const kept_finding *f = finding_of(fs, -1, "float boundary");
            CHECK(f && f->f.result == DETVM_FINDING_NOTE && strncmp(f->text, "input: ", 7) == 0,
                  "the float input is reported: %s", f ? f->text : "");
            detvm_module_free(m);
        }
    }
    free(b);
    unload(&l);
}

/* Every attribute and constant word of the two fixtures set to extreme values: whatever the
 * loader accepts, verify must examine without crashing or undefined behaviour (run this test
 * under make test SANITIZE=1), and its status must agree with its count of failures. */
static void test_extreme_values(findings *fs)
{
    static const int32_t values[] = {INT32_MIN, -65536, -1, 0, 1, 31, 32, 65536, INT32_MAX};
    static const uint32_t kinds[] = {DVM_SEC_ATTRS, DVM_SEC_CONSTS};
    const char *models[][2] = {{CHAIN "/symbol.json", CHAIN "/params.bin"}, {HELLO, NULL}};
    uint32_t loaded_count = 0, failing = 0;
    for (int mi = 0; mi < 2; mi++) {
        loaded l;
        if (load_files(models[mi][0], models[mi][1], &l))
            continue;
        for (int ki = 0; ki < 2; ki++) {
            uint32_t words = dvm_u32(section_entry(l.bytes, kinds[ki]) + 8) / 4;
            for (uint32_t w = 0; w < words; w++) {
                for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                    uint8_t *b = copy_of(l.bytes, l.len);
                    dvm_put_u32(section_data(b, kinds[ki]) + 4 * w, (uint32_t)values[v]);
                    fix_crc(b, kinds[ki]);
                    detvm_module *m = load_bytes(b, l.len);
                    if (m) {
                        detvm_verify_summary sum;
                        detvm_error err = {0};
                        detvm_status st = verify(m, fs, &sum, &err);
                        loaded_count++;
                        failing += st != DETVM_OK;
                        if (st != (sum.failed ? DETVM_EINVALID : DETVM_OK))
                            CHECK(0, "word %u = %d: status %d with %u failures", w, values[v],
                                  st, sum.failed);
                        detvm_module_free(m);
                    }
                    free(b);
                }
            }
        }
        unload(&l);
    }
    CHECK(loaded_count > 100 && failing > 0, "%u patched modules verified, %u failing",
          loaded_count, failing);
}

/* ---- the command --------------------------------------------------------------------------- */

static void test_cli(void)
{
    result r;
    run_cli(&r, "'" CHAIN "/symbol.json' '" CHAIN "/params.bin'");
    CHECK(r.status == 0 && r.err[0] == 0, "verify chain_23: exit %d, %s", r.status, r.err);
    const char *last = r.out + strlen(r.out);
    while (last > r.out && last[-1] == '\n')
        last--;
    while (last > r.out && last[-1] != '\n')
        last--;
    CHECK(strcmp(last, "verify: 30 checks, 0 failed\n") == 0, "summary line: %s", last);
    static const char *const order[] = {"overflow: ", "shapes: ", "memory: ", "gas: "};
    const char *prev = r.out;
    for (int i = 0; i < 4; i++) {
        const char *at = strstr(r.out, order[i]);
        CHECK(at && at >= prev, "section %s in order", order[i]);
        prev = at ? at : prev;
    }
    free_result(&r);

    run_cli(&r, "'" CHAIN "/symbol.json' '" CHAIN "/params.bin' --json");
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    CHECK(r.status == 0 && doc, "--json prints JSON: %s", jerr.text);
    if (doc) {
        json_t *all = json_object_get(doc, "findings");
        CHECK(json_integer_value(json_object_get(doc, "checks")) == 30 &&
                  json_integer_value(json_object_get(doc, "failed")) == 0 &&
                  json_array_size(all) > 30,
              "--json counts");
        int seen = 0;
        size_t i;
        json_t *f;
        json_array_foreach(all, i, f) {
            if (json_integer_value(json_object_get(f, "instruction")) == 7 &&
                strcmp(json_string_value(json_object_get(f, "what")), "accumulator") == 0)
                seen = json_integer_value(json_object_get(f, "hi")) == 15748 &&
                       json_integer_value(json_object_get(f, "lo")) == -15748 &&
                       strcmp(json_string_value(json_object_get(f, "result")), "ok") == 0;
        }
        CHECK(seen, "--json has the dense bound");
        json_decref(doc);
    }
    free_result(&r);

    run_cli(&r, "--help");
    CHECK(r.status == 0 && strncmp(r.out, "usage: detvm verify MODEL [PARAMS]", 34) == 0,
          "--help: %s", r.out);
    free_result(&r);
    run_cli(&r, "");
    CHECK(r.status == 1 && strstr(r.err, "MODEL missing"), "no model: exit %d", r.status);
    free_result(&r);
    run_cli(&r, "/nonexistent/model.dvm");
    CHECK(r.status != 0 && r.out[0] == 0 && strncmp(r.err, "detvm", 5) == 0,
          "a missing file: exit %d, %s", r.status, r.err);
    free_result(&r);

    char path[1200], args[1300];
    snprintf(path, sizeof path, "%s/truncated.dvm", tmp_dir);
    loaded l;
    if (!load_files(CHAIN "/symbol.json", CHAIN "/params.bin", &l)) {
        write_module(path, l.bytes, l.len / 2);
        unload(&l);
        snprintf(args, sizeof args, "'%s'", path);
        run_cli(&r, args);
        CHECK(r.status == 1 && r.out[0] == 0 && strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
              "a truncated module: exit 1 and one line: %s", r.err);
        free_result(&r);
    }

    run_cli(&r, "'" HELLO "'");
    CHECK(r.status == 0 && strstr(r.out, "contract: requantization rounds as TFLite Micro's "),
          "verify hello_world: exit %d", r.status);
    free_result(&r);
}

/* ---- the shared corpus and models -------------------------------------------------------- */

/* During a run, every instruction's outputs must lie in their computed ranges. */
static uint64_t values_watched;

typedef struct {
    const detvm_module *m;
    sc_bounds *bounds;
    const char *name;
    uint32_t outside;
} range_watch;

static int watch_step(void *user, const detvm_step *step)
{
    range_watch *w = user;
    const sc_bounds *b = &w->bounds[step->index];
    for (uint32_t o = 0; o < step->n_outputs; o++) {
        if (!b->output_known[o])
            continue;
        values_watched += step->outputs[o].count;
        for (uint64_t i = 0; i < step->outputs[o].count; i++) {
            int32_t v = step->outputs[o].data[i];
            if (v < b->output[o].lo || v > b->output[o].hi) {
                if (w->outside++ == 0)
                    CHECK(0, "%s: step %u (%s) output %u value %d outside [%lld, %lld]", w->name,
                          step->index, step->op, o, v, (long long)b->output[o].lo,
                          (long long)b->output[o].hi);
                break;
            }
        }
    }
    return 0;
}

/* The CVM runtime gives `where` its condition's precision whatever x and y hold
 * (loader/cvm_broadcast.c): values wider than that are the documented way for a valid model
 * to leave its declared precision. */
static int where_takes_condition_precision(const detvm_module *m, uint32_t k)
{
    const vm_instr *ins = &m->instrs[k];
    return m->tensors[ins->operands[3]].precision == m->tensors[ins->operands[0]].precision;
}

typedef struct {
    findings *fs;
    int divergent;
    uint32_t cases, clean, failing;
    char failing_names[2048];
} corpus_tally;

static void check_case(const char *dir, json_t *meta, void *user)
{
    corpus_tally *t = user;
    const char *name = strrchr(dir, '/') + 1;
    char symbol[1300], params[1300];
    snprintf(symbol, sizeof symbol, "%s/symbol.json", dir);
    snprintf(params, sizeof params, "%s/params.bin", dir);
    loaded l;
    detvm_error err = {0};
    memset(&l, 0, sizeof l);
    if (detvm_load_model_files(symbol, params, NULL, &l.bytes, &l.len, &err) ||
        detvm_module_load(l.bytes, l.len, &l.m, &err)) {
        free(l.bytes); /* a case whose model does not load: nothing to verify */
        return;
    }
    t->cases++;
    detvm_verify_summary sum;
    detvm_status st = verify(l.m, t->fs, &sum, &err);
    CHECK(st == (sum.failed ? DETVM_EINVALID : DETVM_OK), "%s: status", name);
    uint32_t warnings = 0, where_precision = 0, other = 0, overflows = 0;
    for (uint32_t i = 0; i < t->fs->n; i++) {
        const kept_finding *f = &t->fs->all[i];
        if (f->f.result != DETVM_FINDING_FAILED)
            continue;
        if (strcmp(f->what, "warning") == 0)
            warnings++;
        else if (strcmp(f->what, "output precision") == 0 && strcmp(f->op, "where") == 0 &&
                 where_takes_condition_precision(l.m, (uint32_t)f->f.instruction))
            where_precision++;
        else if (f->f.section == DETVM_VERIFY_OVERFLOW)
            overflows++;
        else
            other++;
    }
    if (t->divergent) {
        /* the corpus documents each divergence; the compiler warns of each */
        CHECK(warnings >= 1, "%s: the divergence is reported", name);
        CHECK(other == 0, "%s: %u unexpected failures", name, other);
    } else {
        /* CVM precision inference keeps every accumulator in int32 */
        CHECK(overflows == 0 && other == 0, "%s: %u overflows, %u other failures: %s", name,
              overflows, other, err.message);
    }
    if (sum.failed) {
        t->failing++;
        size_t used = strlen(t->failing_names);
        snprintf(t->failing_names + used, sizeof t->failing_names - used, " %s", name);
    } else {
        t->clean++;
    }

    /* soundness: run the case's inputs and watch every output (only where every output
     * stays within its declared precision, which the next instruction's bound assumes) */
    if (!t->divergent && where_precision == 0) {
        range_watch w = {l.m, calloc(l.m->n_instrs, sizeof(sc_bounds)), name, 0};
        for (uint32_t k = 0; k < l.m->n_instrs; k++)
            sc_instr_bounds(l.m, k, &w.bounds[k]);
        detvm_session *s = NULL;
        detvm_module_info info;
        detvm_module_get_info(l.m, &info);
        corpus_run runs[4];
        int n_runs = corpus_runs(meta, dir, runs, 4);
        if (!detvm_session_new(l.m, &s, &err)) {
            detvm_session_set_hook(s, watch_step, &w);
            uint8_t *out = malloc(info.output_len + 1);
            for (int i = 0; i < n_runs; i++) {
                char path[2048];
                size_t in_len;
                snprintf(path, sizeof path, "%s/%s", dir, runs[i].input);
                uint8_t *in = read_file(path, &in_len);
                if (in)
                    detvm_run(s, in, in_len, out, info.output_len, &err);
                free(in);
            }
            free(out);
            detvm_session_free(s);
        }
        free(w.bounds);
    }
    unload(&l);
}

static void test_corpus(findings *fs)
{
    static const char *const groups[] = {"valid", "medium", "divergent"};
    for (int g = 0; g < 3; g++) {
        corpus_tally t = {.fs = fs, .divergent = g == 2};
        if (corpus_each(groups[g], check_case, &t) < 0) {
            SKIP("../shared/conformance/cvm is absent: the corpus was not verified");
            return;
        }
        printf("corpus %s: %u cases, %u verify cleanly, %u fail:%s\n", groups[g], t.cases,
               t.clean, t.failing, t.failing_names);
        if (g == 2)
            CHECK(t.failing == t.cases, "every divergent case fails verification");
    }
    printf("corpus: %llu output values of the valid and medium cases' runs checked against "
           "their bounds\n", (unsigned long long)values_watched);
    CHECK(values_watched > 0, "the runs were watched");
}

static void test_tflite_models(findings *fs)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared is absent: the TFLite models were not verified");
        return;
    }
    static const char *const models[] = {
        "hello_world_int8", "kws_ref_model", "mobilenet_v2_quantized_1x3x224x224",
        "person_detect", "person_detect_biasqdim0_patched", "pretrainedResnet_quant"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/models/tflite/%s/model.tflite", shared, models[i]);
        loaded l;
        if (load_files(path, NULL, &l))
            continue;
        detvm_verify_summary sum;
        detvm_error err = {0};
        detvm_status st = verify(l.m, fs, &sum, &err);
        CHECK(st == DETVM_OK && sum.failed == 0, "%s: %s", models[i], err.message);
        int64_t widest = 0;
        uint32_t stages = 0;
        for (uint32_t j = 0; j < fs->n; j++) {
            const kept_finding *f = &fs->all[j];
            if (f->f.section != DETVM_VERIFY_OVERFLOW || !f->f.has_bound)
                continue;
            stages++;
            widest = abs64(f->f.lo) > widest ? abs64(f->f.lo) : widest;
            widest = abs64(f->f.hi) > widest ? abs64(f->f.hi) : widest;
        }
        printf("tflite %s: %u checks (%u bounds), widest bound %lld, %u failed\n", models[i],
               sum.checks, stages, (long long)widest, sum.failed);
        unload(&l);
    }
}

int main(void)
{
    if (cli_setup("static_check") != 0)
        return check_summary("test_static_check");
    findings fs = {0};
    test_chain_by_hand(&fs);
    test_hello_exhaustive(&fs);
    test_overflowing_dense(&fs);
    test_overlap(&fs);
    test_conv_and_sum_by_hand(&fs);
    test_depthwise_by_hand(&fs);
    test_gas_mismatch(&fs);
    test_tflite_patches(&fs);
    test_extreme_values(&fs);
    test_cli();
    test_corpus(&fs);
    test_tflite_models(&fs);
    free(fs.all);
    remove_tmp_dir();
    return check_summary("test_static_check");
}
