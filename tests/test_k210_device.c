/* The K210 device (hal/k210/): on random layers, random KPU RAM and random constants, in both
 * semantics, with 8- and 16-bit weights and several batches, the device (driver + emulator)
 * gives byte-identical outputs to the reference kernels run by the CPU device; both ways of
 * reading a layer's main memory output (fifo_data_out, or back from KPU RAM) agree; layers
 * whose hardware-only fields disagree with their geometry fall back to the reference; a layer
 * the KPU cannot run is reported, not hung on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hal/k210/k210.h"
#include "../hal/k210/kpu_driver.h"
#include "../hal/k210/kpu_emulator.h"
#include "check.h"
#include "corpus.h"
#include "kpu.h"
#include "op.h"

#define RAM_WORDS (DV_KPU_RAM_BYTES / 4)
#define MAIN_WORDS 8192

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static uint32_t rnd_in(uint32_t lo, uint32_t hi) { return lo + rnd() % (hi - lo + 1); }

/* The hardware-only fields as nncase writes them (so the KPU path, not the fallback, runs). */
static void fill_hardware(uint64_t w[DV_KPU_WORDS], uint32_t bits)
{
    dv_kpu_layer l;
    dv_kpu_decode_words(w, &l);
    dv_kpu_row_layout in = dv_kpu_layout(l.in_w), out = dv_kpu_layout(l.out_w);
    dv_kpu_set(w, DV_KPU_LOAD_PARA, 1), dv_kpu_set(w, DV_KPU_LOAD_COOR, 1);
    dv_kpu_set(w, DV_KPU_LOAD_ACT, 1), dv_kpu_set(w, DV_KPU_DMA_BURST_SIZE, 15);
    dv_kpu_set(w, DV_KPU_CHANNEL_SWITCH_ADDR, in.row_len * l.in_h);
    dv_kpu_set(w, DV_KPU_ROW_SWITCH_ADDR, in.row_len), dv_kpu_set(w, DV_KPU_COEF_GROUP, in.groups);
    dv_kpu_set(w, DV_KPU_WB_CHANNEL_SWITCH_ADDR, out.row_len * l.out_h);
    dv_kpu_set(w, DV_KPU_WB_ROW_SWITCH_ADDR, out.row_len), dv_kpu_set(w, DV_KPU_WB_GROUP, out.groups);
    dv_kpu_set(w, DV_KPU_CHANNEL_BYTE_NUM, l.out_w * l.out_h - 1);
    dv_kpu_set(w, DV_KPU_DMA_TOTAL_BYTE, l.out_w * l.out_h * l.out_c - 1);
    uint32_t per = l.out_c, para = dv_kpu_weights_bytes(&l, bits), loads = 1;
    if (!l.depthwise) {
        uint32_t one = l.filter * l.filter * l.in_c * bits / 8;
        uint32_t lim = (bits == 8 ? 30 : 60) * 1024;
        per = lim / one < l.out_c ? lim / one : l.out_c;
        para = one * per;
        loads = (l.out_c + per - 1) / per;
    }
    dv_kpu_set(w, DV_KPU_PARA_SIZE, para), dv_kpu_set(w, DV_KPU_LOAD_TIME, loads - 1);
    dv_kpu_set(w, DV_KPU_O_CH_NUM_COEF, per - 1);
}

/* A random KPU_CONV2D(_OUT) of valid geometry; its constants in *wts, *bn, *act. */
typedef struct {
    int32_t attrs[DV_KPU_CONV_ATTRS_MAX];
    uint32_t n_attrs;
    int main_output;
    int32_t *wts, *bn, *act;
    dv_shape wsh, bsh, ash;
    dv_kpu_layer l;
} layer_case;

static int32_t *random_image(uint32_t bytes, dv_shape *sh)
{
    uint32_t words = (bytes + 3) / 4;
    int32_t *img = calloc(words, 4);
    for (uint32_t i = 0; i < bytes; i++)
        dv_image_put_u8(img, i, (uint8_t)rnd());
    sh->ndim = 1, sh->dim[0] = words;
    return img;
}

static void random_case(layer_case *c, uint32_t src_row, uint32_t in_c, uint32_t in_w,
                        uint32_t in_h, int hardware_consistent, int main_output)
{
    memset(c, 0, sizeof *c);
    uint64_t w[DV_KPU_WORDS] = {0};
    uint32_t pool = rnd_in(0, 9), st = dv_kpu_pool_stride(pool);
    while (in_w < st || in_h < st)
        pool = rnd_in(0, 9), st = dv_kpu_pool_stride(pool);
    uint32_t dw = rnd() % 3 == 0, out_c = dw ? in_c : rnd_in(1, 10);
    uint32_t bits = rnd() % 4 ? 8 : 16;
    uint32_t batches = rnd() % 3 == 0 ? rnd_in(2, 3) : 1;
    uint32_t in_rows = (uint32_t)dv_kpu_map_rows(in_w, in_h, in_c);
    dv_kpu_set(w, DV_KPU_DEPTH_WISE_LAYER, dw);
    dv_kpu_set(w, DV_KPU_IMAGE_SRC_ADDR, src_row);
    dv_kpu_set(w, DV_KPU_IMAGE_DST_ADDR, src_row + batches * in_rows + rnd_in(0, 40));
    dv_kpu_set(w, DV_KPU_I_CH_NUM, in_c - 1), dv_kpu_set(w, DV_KPU_O_CH_NUM, out_c - 1);
    dv_kpu_set(w, DV_KPU_I_ROW_WID, in_w - 1), dv_kpu_set(w, DV_KPU_I_COL_HIGH, in_h - 1);
    dv_kpu_set(w, DV_KPU_O_ROW_WID, in_w / st - 1), dv_kpu_set(w, DV_KPU_O_COL_HIGH, in_h / st - 1);
    dv_kpu_set(w, DV_KPU_KERNEL_TYPE, rnd() & 1), dv_kpu_set(w, DV_KPU_POOL_TYPE, pool);
    dv_kpu_set(w, DV_KPU_PAD_VALUE, rnd());
    dv_kpu_set(w, DV_KPU_ARG_X, rnd()), dv_kpu_set(w, DV_KPU_ARG_W, rnd());
    dv_kpu_set(w, DV_KPU_SHR_X, rnd()), dv_kpu_set(w, DV_KPU_SHR_W, rnd());
    dv_kpu_set(w, DV_KPU_ARG_ADD, (uint64_t)rnd() << 8 | rnd());
    if (hardware_consistent)
        fill_hardware(w, bits);
    dv_kpu_words_to_attrs(w, c->attrs);
    c->attrs[DV_KPU_ATTR_BATCHES] = (int32_t)batches;
    c->attrs[DV_KPU_ATTR_SEMANTICS] = (int32_t)(rnd() & 1);
    c->attrs[DV_KPU_ATTR_WEIGHT_BITS] = (int32_t)bits;
    c->n_attrs = bits == 16 || rnd() & 1 ? DV_KPU_CONV_ATTRS_MAX : DV_KPU_CONV_ATTRS;
    c->main_output = main_output;
    dv_kpu_decode_words(w, &c->l);
    c->attrs[DV_KPU_ATTR_MAIN_OFFSET] =
        main_output ? (int32_t)rnd_in(0, 4 * MAIN_WORDS - batches * c->l.out_c * c->l.out_h * c->l.out_w) : 0;
    c->wts = random_image(dv_kpu_weights_bytes(&c->l, bits), &c->wsh);
    c->bn = random_image(dv_kpu_bn_bytes(&c->l), &c->bsh);
    /* batch norm multipliers mostly moderate, so that outputs are not all clamped */
    for (uint32_t o = 0; o < c->l.out_c; o++)
        if (rnd() % 4)
            dv_image_put_u32(c->bn, 8 * o, (dv_image_u32(c->bn, 8 * o) & 0xff000000u) | rnd_in(0, 3000));
    c->act = random_image(DV_KPU_ACT_BYTES, &c->ash);
    for (int s = 0; s < 16; s++) { /* increasing starts, moderate slopes */
        uint64_t start = (uint64_t)(-((int64_t)1 << 35) + (int64_t)s * (int64_t)rnd_in(0, 1u << 28));
        uint64_t word = (rnd() & 15) | (uint64_t)(rnd() & 0xffff) << 8 | (start & 0xfffffffffull) << 24;
        dv_image_put_u32(c->act, 8 * (uint32_t)s, (uint32_t)word);
        dv_image_put_u32(c->act, 8 * (uint32_t)s + 4, (uint32_t)(word >> 32));
    }
}

static void free_case(layer_case *c) { free(c->wts), free(c->bn), free(c->act); }

/* A program: steps over tensors; run twice (CPU, K210) on separate copies of its outputs. */
#define MAX_STEPS 8
typedef struct {
    hal_step steps[MAX_STEPS];
    dv_tensor io[MAX_STEPS][2][8];   /* [step][copy][operand] */
    int32_t *images[MAX_STEPS + 1][2][2]; /* [stage][copy][kpu, main] */
    uint32_t n;
    int32_t *scratch;
    uint64_t scratch_words;
} program;

static dv_tensor image_tensor(int32_t *data, uint32_t words)
{
    dv_tensor t;
    t.data = data;
    t.shape.ndim = 1;
    t.shape.dim[0] = words;
    return t;
}

/* Builds the program's two copies: stage 0 holds the random starting memories. */
static void program_init(program *p)
{
    memset(p, 0, sizeof *p);
    int32_t *ram = malloc(RAM_WORDS * 4), *main = malloc(MAIN_WORDS * 4);
    for (uint32_t i = 0; i < RAM_WORDS; i++)
        ram[i] = (int32_t)rnd();
    for (uint32_t i = 0; i < MAIN_WORDS; i++)
        main[i] = (int32_t)rnd();
    for (int c = 0; c < 2; c++) {
        p->images[0][c][0] = malloc(RAM_WORDS * 4);
        p->images[0][c][1] = malloc(MAIN_WORDS * 4);
        memcpy(p->images[0][c][0], ram, RAM_WORDS * 4);
        memcpy(p->images[0][c][1], main, MAIN_WORDS * 4);
    }
    free(ram), free(main);
}

/* Appends a step reading stage n's memories and producing stage n+1's. */
static void program_add(program *p, uint32_t opcode, const int32_t *attrs, uint32_t n_attrs,
                        const dv_tensor *extra, uint32_t n_extra)
{
    uint32_t k = p->n++;
    const dv_op_info *op = dv_op_lookup(opcode);
    int writes_main = opcode == DV_OP_KPU_CONV2D_OUT;
    for (int c = 0; c < 2; c++) {
        dv_tensor *io = p->io[k][c];
        uint32_t n_in = 0;
        io[n_in++] = image_tensor(p->images[k][c][0], RAM_WORDS);
        for (uint32_t e = 0; e < n_extra; e++)
            io[n_in++] = extra[e];
        if (writes_main)
            io[n_in++] = image_tensor(p->images[k][c][1], MAIN_WORDS);
        p->images[k + 1][c][0] = calloc(RAM_WORDS, 4);
        io[n_in] = image_tensor(p->images[k + 1][c][0], RAM_WORDS);
        if (writes_main) {
            p->images[k + 1][c][1] = calloc(MAIN_WORDS, 4);
            io[n_in + 1] = image_tensor(p->images[k + 1][c][1], MAIN_WORDS);
        } else {
            p->images[k + 1][c][1] = p->images[k][c][1]; /* main passes through */
        }
        if (c == 0) {
            hal_step *st = &p->steps[k];
            st->op = op;
            st->attrs.v = attrs;
            st->attrs.n = n_attrs;
            st->n_in = n_in;
            st->n_out = (uint32_t)op->n_outputs;
            dv_shape sh[8], osh[2];
            for (uint32_t i = 0; i < n_in; i++)
                sh[i] = io[i].shape;
            const char *why = op->infer(&st->attrs, n_in, sh, st->n_out, osh);
            CHECK(why == NULL, "step %u: %s", k, why);
            if (op->scratch) {
                uint64_t s = op->scratch(&st->attrs, n_in, sh);
                p->scratch_words = s > p->scratch_words ? s : p->scratch_words;
            }
        }
    }
}

static hal_step *steps_for(program *p, int copy, hal_step *out)
{
    for (uint32_t k = 0; k < p->n; k++) {
        out[k] = p->steps[k];
        out[k].in = p->io[k][copy];
        out[k].out = p->io[k][copy] + out[k].n_in;
    }
    return out;
}

static int run_on(const hal_device *dev, program *p, int copy, hal_step *steps)
{
    hal_segment seg = {steps_for(p, copy, steps), p->n, p->scratch, NULL, NULL};
    void *h = NULL, *tag = NULL;
    if (dev->prepare(&seg, &h) != 0)
        return -1;
    int rc = dev->submit(h, &seg) || dev->wait(h, &tag) || tag != &seg;
    dev->release(h);
    return rc;
}

/* Both copies' memories after every step, byte for byte. */
static int program_compare(program *p, int case_no)
{
    int same = 1;
    for (uint32_t k = 1; k <= p->n; k++) {
        int kpu = memcmp(p->images[k][0][0], p->images[k][1][0], RAM_WORDS * 4) == 0;
        int main = memcmp(p->images[k][0][1], p->images[k][1][1], MAIN_WORDS * 4) == 0;
        CHECK(kpu && main, "case %d step %u: the K210 device's %s differs from the reference",
              case_no, k - 1, kpu ? "main memory" : "KPU RAM");
        same &= kpu & main;
    }
    return same;
}

static void program_free(program *p)
{
    for (uint32_t k = 0; k <= p->n; k++)
        for (int c = 0; c < 2; c++) {
            free(p->images[k][c][0]);
            if (k == 0 || p->images[k][c][1] != p->images[k - 1][c][1])
                free(p->images[k][c][1]);
        }
    free(p->scratch);
}

/* upload -> layer -> layer, the second reading the first's output map. */
static void test_random_programs(void)
{
    int consistent_runs = 0;
    for (int t = 0; t < 60; t++) {
        program p;
        program_init(&p);
        uint32_t c = rnd_in(1, 6), h = rnd_in(4, 12);
        static const uint32_t widths[] = {4, 9, 16, 17, 32, 33, 64, 70};
        uint32_t w = widths[rnd() % 8];
        /* the input, as the model's plain uint8 tensor */
        int32_t *plain = malloc(4 * (size_t)c * h * w);
        for (uint32_t i = 0; i < c * h * w; i++)
            plain[i] = (int32_t)(rnd() & 255);
        dv_tensor in_t = {plain, {4, {1, c, h, w}}};
        uint32_t src_row = rnd_in(0, 300);
        int32_t up[7] = {0, 0, 1, (int32_t)c, (int32_t)h, (int32_t)w, (int32_t)src_row * 64};
        program_add(&p, DV_OP_KPU_UPLOAD, up, 7, &in_t, 1);
        layer_case l1, l2;
        int hw = t % 4 != 3;
        random_case(&l1, src_row, c, w, h, hw, rnd() & 1);
        dv_tensor k1[3] = {{l1.wts, l1.wsh}, {l1.bn, l1.bsh}, {l1.act, l1.ash}};
        program_add(&p, l1.main_output ? DV_OP_KPU_CONV2D_OUT : DV_OP_KPU_CONV2D, l1.attrs,
                    l1.n_attrs, k1, 3);
        /* the second layer reads batch 0 of the first one's output */
        random_case(&l2, l1.l.dst_row, l1.l.out_c, l1.l.out_w, l1.l.out_h, hw, 1);
        dv_tensor k2[3] = {{l2.wts, l2.wsh}, {l2.bn, l2.bsh}, {l2.act, l2.ash}};
        program_add(&p, DV_OP_KPU_CONV2D_OUT, l2.attrs, l2.n_attrs, k2, 3);
        p.scratch = calloc(p.scratch_words + 1, 4);
        hal_step s0[MAX_STEPS], s1[MAX_STEPS];
        CHECK(run_on(&hal_cpu, &p, 0, s0) == 0);
        CHECK(run_on(&hal_k210, &p, 1, s1) == 0, "case %d: device failed", t);
        program_compare(&p, t);
        consistent_runs += hw;
        program_free(&p);
        free_case(&l1), free_case(&l2), free(plain);
    }
    CHECK(consistent_runs > 30);
}

/* The driver and the emulator directly: the KPU path is taken for consistent layers, the
 * reference for others, and reading main memory output through fifo_data_out or back from
 * KPU RAM gives the same bytes. */
static void test_driver_paths(void)
{
    for (int t = 0; t < 40; t++) {
        program p;
        program_init(&p);
        uint32_t c = rnd_in(1, 5), h = rnd_in(2, 10), w = rnd_in(2, 40);
        layer_case l;
        int hw = t % 5 != 0;
        random_case(&l, rnd_in(0, 100), c, w, h, hw, 1);
        dv_tensor k[3] = {{l.wts, l.wsh}, {l.bn, l.bsh}, {l.act, l.ash}};
        program_add(&p, DV_OP_KPU_CONV2D_OUT, l.attrs, l.n_attrs, k, 3);
        p.scratch = calloc(p.scratch_words + 1, 4);
        hal_step s0[MAX_STEPS], s1[MAX_STEPS];
        CHECK(run_on(&hal_cpu, &p, 0, s0) == 0);
        steps_for(&p, 1, s1);
        uint64_t scratch = dv_kpu_scratch_bytes(&l.l);
        uint32_t out = l.l.out_c * l.l.out_h * l.l.out_w;
        void *mem = calloc(1, (size_t)k210_kpu_emulator_bytes(scratch, out, 3));
        k210_kpu_emulator emu;
        k210_kpu_emulator_init(&emu, mem, scratch, out, 3);
        k210_kpu_sink sink;
        k210_kpu_emulator_sink(&emu, t & 1, &sink);
        k210_kpu_driver d;
        k210_kpu_driver_init(&d, &sink);
        k210_kpu_job job;
        const char *why = NULL;
        CHECK(k210_kpu_prepare(&d, &s1[0], &job, &why) == 0, "%s", why);
        CHECK(job.kind == (hw ? K210_STEP_LAYER : K210_STEP_REFERENCE));
        k210_kpu_driver_begin(&d);
        CHECK(k210_kpu_run(&d, &job, p.scratch) == 0);
        CHECK(emu.fault == NULL, "%s", emu.fault);
        CHECK(emu.layers == (hw ? (uint32_t)l.attrs[DV_KPU_ATTR_BATCHES] : 0));
        CHECK(emu.queue_len == 0); /* every output word read */
        program_compare(&p, 1000 + t);
        free(mem);
        program_free(&p);
        free_case(&l);
    }
}

/* A layer whose constants the emulator cannot resolve faults; the driver reports it rather
 * than waiting forever. */
static void test_faults(void)
{
    program p;
    program_init(&p);
    layer_case l;
    random_case(&l, 10, 3, 20, 6, 1, 0);
    dv_tensor k[3] = {{l.wts, l.wsh}, {l.bn, l.bsh}, {l.act, l.ash}};
    program_add(&p, DV_OP_KPU_CONV2D, l.attrs, l.n_attrs, k, 3);
    program_add(&p, DV_OP_KPU_CONV2D, l.attrs, l.n_attrs, k, 3);
    p.scratch = calloc(p.scratch_words + 1, 4);
    hal_step s[MAX_STEPS];
    steps_for(&p, 1, s);
    uint64_t scratch = dv_kpu_scratch_bytes(&l.l);
    void *mem = calloc(1, (size_t)k210_kpu_emulator_bytes(scratch, 64, 3));
    k210_kpu_emulator emu;
    k210_kpu_emulator_init(&emu, mem, scratch, 64, 3);
    k210_kpu_sink sink;
    k210_kpu_emulator_sink(&emu, 1, &sink);
    k210_kpu_driver d;
    k210_kpu_driver_init(&d, &sink);
    d.poll_limit = 1000;
    k210_kpu_job job;
    const char *why = NULL;
    CHECK(k210_kpu_prepare(&d, &s[0], &job, &why) == 0, "%s", why);
    dv_kpu_set(job.words, DV_KPU_PARA_START_ADDR, 0x7000); /* not mapped */
    k210_kpu_driver_begin(&d);
    CHECK(k210_kpu_run(&d, &job, p.scratch) == -1);
    CHECK(emu.fault != NULL);
    /* too many constants for the emulator's region table: prepare refuses */
    k210_kpu_emulator_init(&emu, mem, scratch, 64, 1);
    CHECK(k210_kpu_prepare(&d, &s[0], &job, &why) == -1);
    free(mem);

    /* submit and wait: one segment pending at a time */
    hal_segment seg = {s, 2, p.scratch, NULL, NULL};
    void *h = NULL, *tag = NULL;
    CHECK(hal_k210.prepare(&seg, &h) == 0);
    CHECK(hal_k210.submit(h, &seg) == 0 && hal_k210.wait(h, &tag) == 0 && tag == &seg);
    CHECK(hal_k210.submit(h, &seg) == 0 && hal_k210.submit(h, &seg) == -1); /* one pending */
    CHECK(hal_k210.wait(h, &tag) == 0 && hal_k210.wait(h, &tag) == -1);
    hal_k210.release(h);
    free_case(&l);
    program_free(&p);
}

static int stop_after_first(void *user, uint32_t step)
{
    int *calls = user;
    ++*calls;
    return step == 0;
}

static void test_hook(void)
{
    program p;
    program_init(&p);
    layer_case l;
    random_case(&l, 10, 2, 12, 5, 1, 0);
    dv_tensor k[3] = {{l.wts, l.wsh}, {l.bn, l.bsh}, {l.act, l.ash}};
    program_add(&p, DV_OP_KPU_CONV2D, l.attrs, l.n_attrs, k, 3);
    program_add(&p, DV_OP_KPU_CONV2D, l.attrs, l.n_attrs, k, 3);
    p.scratch = calloc(p.scratch_words + 1, 4);
    hal_step s[MAX_STEPS];
    int calls = 0;
    hal_segment seg = {steps_for(&p, 1, s), 2, p.scratch, stop_after_first, &calls};
    void *h = NULL, *tag = NULL;
    CHECK(hal_k210.prepare(&seg, &h) == 0);
    CHECK(hal_k210.submit(h, &seg) == 0 && hal_k210.wait(h, &tag) == 0);
    hal_k210.release(h);
    CHECK(calls == 1);
    int untouched = 1;
    for (uint32_t i = 0; i < RAM_WORDS; i++)
        untouched &= p.images[2][1][0][i] == 0;
    CHECK(untouched);
    free_case(&l);
    program_free(&p);
}

/* ---- every KPU layer of the real models (../shared), on random KPU RAM ---- */

static uint32_t le32(const uint8_t *b, size_t at)
{
    return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | (uint32_t)b[at + 3] << 24;
}

static int32_t *bytes_image(const uint8_t *b, uint32_t n, dv_shape *sh)
{
    int32_t *img = calloc((n + 3) / 4 + 1, 4);
    for (uint32_t i = 0; i < n; i++)
        dv_image_put_u8(img, i, b[i]);
    sh->ndim = 1, sh->dim[0] = (n + 3) / 4;
    return img;
}

/* One real layer (its words from the file, the address fields cleared as importers do) as a
 * one-step program, on the CPU and on the device. */
static int real_layer(const uint8_t *m, size_t len, size_t layer_at, uint32_t batches,
                      size_t bn_at, size_t act_at, size_t w_at, int main_output, int semantics)
{
    int32_t attrs[DV_KPU_CONV_ATTRS_MAX];
    uint64_t w[DV_KPU_WORDS];
    for (int i = 0; i < 24; i++)
        attrs[i] = (int32_t)le32(m, layer_at + 4 * (size_t)i);
    dv_kpu_words_from_attrs(attrs, w);
    dv_kpu_set(w, DV_KPU_BWSX_BASE_ADDR, 0);
    dv_kpu_set(w, DV_KPU_PARA_START_ADDR, 0);
    dv_kpu_set(w, DV_KPU_ACTIVE_ADDR, 0);
    dv_kpu_words_to_attrs(w, attrs);
    dv_kpu_layer l;
    dv_kpu_decode_words(w, &l);
    uint32_t wb = dv_kpu_weights_bytes(&l, 8);
    if (w_at + wb > len || bn_at + 8 * l.out_c > len || act_at + DV_KPU_ACT_BYTES > len)
        return 0;
    attrs[DV_KPU_ATTR_BATCHES] = (int32_t)batches;
    attrs[DV_KPU_ATTR_SEMANTICS] = semantics;
    uint32_t out = batches * l.out_c * l.out_h * l.out_w;
    attrs[DV_KPU_ATTR_MAIN_OFFSET] = main_output && out <= 4 * MAIN_WORDS ? (int32_t)(4 * MAIN_WORDS - out) : 0;
    main_output &= out <= 4 * MAIN_WORDS;
    dv_shape sh[3];
    dv_tensor k[3];
    k[0].data = bytes_image(m + w_at, wb, &sh[0]), k[0].shape = sh[0];
    k[1].data = bytes_image(m + bn_at, 8 * l.out_c, &sh[1]), k[1].shape = sh[1];
    k[2].data = bytes_image(m + act_at, DV_KPU_ACT_BYTES, &sh[2]), k[2].shape = sh[2];
    program p;
    program_init(&p);
    program_add(&p, main_output ? DV_OP_KPU_CONV2D_OUT : DV_OP_KPU_CONV2D, attrs,
                DV_KPU_CONV_ATTRS, k, 3);
    p.scratch = calloc(p.scratch_words + 1, 4);
    hal_step s0[MAX_STEPS], s1[MAX_STEPS];
    CHECK(dv_kpu_check_hardware(&l, 8) == NULL); /* so the KPU path runs, not the fallback */
    CHECK(run_on(&hal_cpu, &p, 0, s0) == 0);
    CHECK(run_on(&hal_k210, &p, 1, s1) == 0);
    int same = program_compare(&p, 2000);
    program_free(&p);
    free(k[0].data), free(k[1].data), free(k[2].data);
    return same;
}

static void test_real_layers(void)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared is absent: real KPU layers not run on the device");
        return;
    }
    static const char *models[] = {"face_detect_v3", "mnist_v3", "yolo20_v3_nncase01",
                                   "yolo20_v4_nncase02", "rfb320_v4"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/models/kmodel/%s/model.kmodel", shared, models[i]);
        size_t len;
        uint8_t *m = read_file(path, &len);
        if (!m) {
            SKIP("%s missing", path);
            continue;
        }
        int layers = 0, same = 0;
        if (le32(m, 0) == 3) {
            uint32_t nl = le32(m, 12), outs = le32(m, 24);
            size_t hdr = 28 + 8 * (size_t)outs, body = hdr + 8 * (size_t)nl;
            for (uint32_t k = 0; k < nl; k++) {
                if (le32(m, hdr + 8 * k) == 10240) {
                    layers++;
                    same += real_layer(m, len, le32(m, body + 8), 1, le32(m, body + 16),
                                       le32(m, body + 20), le32(m, body + 12),
                                       le32(m, body) & 1, (int)(k & 1));
                }
                body += le32(m, hdr + 8 * k + 4);
            }
        } else {
            uint32_t consts = le32(m, 16), nodes = le32(m, 24), ni = le32(m, 28), no = le32(m, 32);
            size_t hdr = 40 + 32 * (size_t)ni + 16 * (size_t)no + consts;
            size_t body = hdr + 8 * (size_t)nodes;
            for (uint32_t k = 0; k < nodes; k++) {
                if (le32(m, hdr + 8 * k) == 0x2002) {
                    size_t lo = body + 24, at = lo + 96 + le32(m, lo + 36);
                    size_t bn_at = at;
                    at += 8 * (size_t)((le32(m, lo + 20) & 0x3ff) + 1) + le32(m, lo + 60);
                    size_t act_at = at;
                    at += DV_KPU_ACT_BYTES + le32(m, lo + 44);
                    layers++;
                    same += real_layer(m, len, lo, le32(m, body + 16), bn_at, act_at, at,
                                       le32(m, body + 12) != 0, (int)(k & 1));
                }
                body += le32(m, hdr + 8 * k + 4);
            }
        }
        printf("%s: %d of %d KPU layers identical on the K210 device\n", models[i], same, layers);
        free(m);
    }
}

static void test_capabilities(void)
{
    CHECK(strcmp(hal_k210.name, "k210") == 0);
    CHECK(hal_k210.probe() == 0);
    CHECK(hal_k210.supports(DV_OP_KPU_UPLOAD) && hal_k210.supports(DV_OP_KPU_CONV2D) &&
          hal_k210.supports(DV_OP_KPU_CONV2D_OUT));
    CHECK(!hal_k210.supports(DV_OP_IMAGE_WRITE) && !hal_k210.supports(DV_OP_CONV2D) &&
          !hal_k210.supports(0) && !hal_k210.supports(12345));
}

int main(void)
{
    test_capabilities();
    test_random_programs();
    test_driver_paths();
    test_faults();
    test_hook();
    test_real_layers();
    return check_summary("test_k210_device");
}
