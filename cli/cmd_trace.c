/* detvm trace, bisect, prove-step and check-step: writing a run's trace, finding where two runs
 * part, and proving or checking a single step (docs/verification.md). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

static void print_hex(const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

/* Runs the model on -i with tracing in --mode, for trace and prove-step. */
typedef struct {
    uint8_t *bytes, *input, *output;
    size_t input_len;
    detvm_module *module;
    detvm_session *session;
} traced_run;

static void traced_run_free(traced_run *t)
{
    detvm_session_free(t->session);
    detvm_module_free(t->module);
    free(t->bytes);
    free(t->input);
    free(t->output);
}

static int open_traced(const args *a, traced_run *t)
{
    memset(t, 0, sizeof *t);
    detvm_error err = {0};
    int rc = open_model(a, &t->bytes, &t->module);
    if (rc)
        return rc;
    if (detvm_read_file(a->input, &t->input, &t->input_len, &err) ||
        detvm_session_new(t->module, &t->session, &err) ||
        detvm_session_set_trace(t->session, a->mode, &err))
        return fail(&err);
    return 0;
}

const char trace_help[] =
    "usage: detvm trace MODEL [PARAMS] -i INPUT -o TRACE [--mode fast|secure]\n"
    "Runs MODEL on INPUT with every instruction's outputs hashed (fast: XXH3-128, the default;\n"
    "secure: BLAKE2b-256) and writes the whole trace: each step's opcode, op, layer name, shapes\n"
    "and output hash, with the module id and the Merkle root. Prints the root.\n";

int cmd_trace(int argc, char **argv)
{
    args a;
    int rc = parse_args("trace", argc, argv, &a);
    if (rc)
        return rc;
    if (!a.input || a.n_outputs != 1)
        return usage_error("trace", "-i INPUT and -o TRACE are required");
    traced_run t;
    detvm_error err = {0};
    uint8_t *file = NULL;
    size_t file_len = 0;
    if (!(rc = open_traced(&a, &t))) {
        detvm_module_info info;
        detvm_module_get_info(t.module, &info);
        t.output = malloc(info.output_len + 1);
        if (!t.output ||
            detvm_run(t.session, t.input, t.input_len, t.output, info.output_len, &err) ||
            detvm_trace_file_write(t.module, t.session, &file, &file_len, &err))
            rc = t.output ? fail(&err) : EXIT_RUNTIME;
        else if (io_write_file(a.outputs[0], file, file_len))
            rc = EXIT_RUNTIME;
    }
    if (!rc) {
        detvm_trace tr;
        detvm_session_trace(t.session, &tr, &err);
        printf("trace: %u steps, %s, root ", tr.n_steps,
               tr.mode == DETVM_TRACE_SECURE ? "secure" : "fast");
        print_hex(tr.root, tr.digest_len);
        printf("\n");
    }
    free(file);
    traced_run_free(&t);
    return rc;
}

/* ---- bisect ------------------------------------------------------------------------------ */

const char bisect_help[] =
    "usage: detvm bisect TRACE1 TRACE2\n"
    "       detvm bisect RECEIPT1 RECEIPT2\n"
    "       detvm bisect TRACE --peer 'COMMAND' [--receipt THEIR_RECEIPT [--pub THEIR_KEY]]\n"
    "       detvm bisect --serve TRACE\n"
    "Finds the first step where two traced runs of the same module differ, walking down their\n"
    "Merkle trees: prints 'identical' (exit 0) or 'first divergence: step K <op> <layer>\n"
    "<shapes>' (exit 1), then how many messages the parties exchanged. With --peer the other\n"
    "trace stays with another process: COMMAND is started with pipes on its standard input and\n"
    "output, and must be 'detvm bisect --serve TRACE2' (or anything speaking the protocol of\n"
    "docs/verification.md); each answer is checked against the hashes already received.\n"
    "With --receipt, the root the peer announces must be the one its signed receipt states\n"
    "(signed by --pub when given), so the peer is held to its claim. Two receipts alone are\n"
    "compared by their signed roots: 'identical', or the roots differ (exit 1) and the parties\n"
    "bisect their traces.\n";

static int load_trace(const char *path, uint8_t **bytes, detvm_trace_file **t)
{
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_read_file(path, bytes, &len, &err) || detvm_trace_file_read(*bytes, len, t, &err)) {
        fprintf(stderr, "detvm: %s: %s\n", path, err.message);
        return err.status == DETVM_EINVALID ? EXIT_INVALID : EXIT_RUNTIME;
    }
    return 0;
}

/* The other party in this process. */
static int ask_local(void *user, const char *q, char *answer, size_t cap)
{
    detvm_error err = {0};
    return detvm_bisect_answer(user, q, answer, cap, &err) != DETVM_OK;
}

/* The other party in another process, one line each way. */
typedef struct {
    FILE *to, *from;
} peer;

static int ask_peer(void *user, const char *q, char *answer, size_t cap)
{
    peer *p = user;
    if (fprintf(p->to, "%s\n", q) < 0 || fflush(p->to) != 0 || !fgets(answer, (int)cap, p->from))
        return -1;
    answer[strcspn(answer, "\r\n")] = 0;
    return 0;
}

static pid_t start_peer(const char *command, peer *p)
{
    int down[2], up[2];
    if (pipe(down) != 0)
        return -1;
    if (pipe(up) != 0) {
        close(down[0]);
        close(down[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(down[0], 0);
        dup2(up[1], 1);
        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    p->to = fdopen(down[1], "w");
    p->from = fdopen(up[0], "r");
    return pid;
}

static int serve(const char *path)
{
    uint8_t *bytes = NULL;
    detvm_trace_file *t = NULL;
    int rc = load_trace(path, &bytes, &t);
    char line[256], answer[512];
    while (!rc && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        if (strcmp(line, "BYE") == 0)
            break;
        detvm_error err = {0};
        if (detvm_bisect_answer(t, line, answer, sizeof answer, &err)) {
            fprintf(stderr, "detvm: %s\n", err.message);
            rc = EXIT_INVALID;
            break;
        }
        printf("%s\n", answer);
        fflush(stdout);
    }
    detvm_trace_file_free(t);
    free(bytes);
    return rc;
}

/* The peer's side of the protocol, with its HELLO checked against its signed receipt. */
typedef struct {
    peer *p;
    const detvm_receipt *claim;
    int broke_claim;           /* the peer announced another root than its receipt's */
} held_peer;

static int ask_held_peer(void *user, const char *q, char *answer, size_t cap)
{
    held_peer *h = user;
    if (ask_peer(h->p, q, answer, cap) != 0)
        return -1;
    if (strcmp(q, "HELLO") != 0 || !h->claim)
        return 0;
    char root[2 * DETVM_DIGEST_MAX + 1];
    uint32_t len = detvm_trace_digest_len(h->claim->mode);
    for (uint32_t i = 0; i < len; i++)
        snprintf(root + 2 * i, 3, "%02x", h->claim->trace_root[i]);
    const char *last = strrchr(answer, ' ');
    if (!last || strcmp(last + 1, root) != 0) {
        h->broke_claim = 1;
        return -1;
    }
    return 0;
}

static int read_receipt(const char *path, const char *pub_path, detvm_receipt *r)
{
    uint8_t *bytes = NULL, pub[DETVM_PUBLIC_KEY_BYTES];
    size_t len = 0;
    detvm_error err = {0};
    int rc = 0;
    if ((pub_path && detvm_public_key_read(pub_path, pub, &err)) ||
        detvm_read_file(path, &bytes, &len, &err) ||
        detvm_receipt_verify(bytes, len, pub_path ? pub : NULL, r, &err)) {
        fprintf(stderr, "detvm: %s: %s\n", path, err.message);
        rc = err.status == DETVM_EINVALID ? EXIT_INVALID : EXIT_RUNTIME;
    }
    free(bytes);
    return rc;
}

static int is_receipt(const char *path)
{
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(magic, 1, 4, f) : 0;
    if (f)
        fclose(f);
    return n == 4 && memcmp(magic, "DVRC", 4) == 0;
}

/* Two signed receipts: the same module and root, or not. */
static int compare_receipts(const char *a, const char *b)
{
    detvm_receipt ra, rb;
    int rc = read_receipt(a, NULL, &ra);
    if (!rc)
        rc = read_receipt(b, NULL, &rb);
    if (rc)
        return rc;
    if (memcmp(ra.module_id, rb.module_id, 32) != 0 || ra.mode != rb.mode) {
        fprintf(stderr, "detvm: bisect: the receipts are of different modules or modes\n");
        return EXIT_INVALID;
    }
    if (ra.n_steps == rb.n_steps &&
        memcmp(ra.trace_root, rb.trace_root, detvm_trace_digest_len(ra.mode)) == 0) {
        printf("identical\n(0 messages exchanged)\n");
        return 0;
    }
    printf("the signed trace roots differ: bisect the traces behind them "
           "(detvm bisect TRACE --peer 'detvm bisect --serve THEIR_TRACE' --receipt %s)\n", b);
    return 1;
}

static int report(const detvm_trace_file *mine, const detvm_bisect_result *r)
{
    if (r->identical) {
        printf("identical\n(%u messages exchanged)\n", r->messages);
        return 0;
    }
    detvm_trace_step_desc step;
    detvm_trace_file_step(mine, r->first_divergence, &step, NULL);
    printf("first divergence: step %u %s %s %s\n(%u messages exchanged)\n", step.index, step.op,
           step.name[0] ? step.name : "-", step.shapes, r->messages);
    return 1;
}

int cmd_bisect(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[0], "--serve") == 0)
        return serve(argv[1]);
    args a;
    int rc = parse_args("bisect", argc, argv, &a);
    if (rc)
        return rc;
    if ((a.peer != NULL) == (a.params != NULL))
        return usage_error("bisect", "give two traces, or one trace and --peer");
    if (!a.peer && is_receipt(a.model) && is_receipt(a.params))
        return compare_receipts(a.model, a.params);
    detvm_receipt claim;
    if (a.receipt && (!a.peer || (rc = read_receipt(a.receipt, a.pub, &claim))))
        return rc ? rc : usage_error("bisect", "--receipt goes with --peer");
    uint8_t *mine_bytes = NULL, *their_bytes = NULL;
    detvm_trace_file *mine = NULL, *theirs = NULL;
    detvm_bisect_result r;
    detvm_error err = {0};
    rc = load_trace(a.model, &mine_bytes, &mine);
    if (!rc && !a.peer) {
        rc = load_trace(a.params, &their_bytes, &theirs);
        if (!rc)
            rc = detvm_bisect(mine, ask_local, theirs, &r, &err) ? fail(&err) : report(mine, &r);
    } else if (!rc) {
        signal(SIGPIPE, SIG_IGN);
        peer p = {0};
        pid_t pid = start_peer(a.peer, &p);
        if (pid < 0 || !p.to || !p.from) {
            fprintf(stderr, "detvm: bisect: cannot start the peer '%s'\n", a.peer);
            rc = EXIT_RUNTIME;
        } else {
            held_peer h = {&p, a.receipt ? &claim : NULL, 0};
            if (!detvm_bisect(mine, ask_held_peer, &h, &r, &err))
                rc = report(mine, &r);
            else if (h.broke_claim)
                rc = (fprintf(stderr, "detvm: bisect: the peer's root is not the one its "
                                      "receipt signs\n"),
                      EXIT_INVALID);
            else
                rc = fail(&err);
            fprintf(p.to, "BYE\n");
        }
        if (p.to)
            fclose(p.to);
        if (p.from)
            fclose(p.from);
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    detvm_trace_file_free(mine);
    detvm_trace_file_free(theirs);
    free(mine_bytes);
    free(their_bytes);
    return rc;
}

/* ---- one-step proofs --------------------------------------------------------------------- */

const char prove_step_help[] =
    "usage: detvm prove-step MODEL [PARAMS] -i INPUT --step K -o PROOF [--mode fast|secure]\n"
    "Runs MODEL on INPUT with tracing and writes a proof for instruction K: the instruction's\n"
    "input tensors, each with the Merkle proof of the step that computed it, and the claimed\n"
    "output hash with its own proof, all against the trace root.\n";

int cmd_prove_step(int argc, char **argv)
{
    args a;
    int rc = parse_args("prove-step", argc, argv, &a);
    if (rc)
        return rc;
    if (!a.input || a.n_outputs != 1 || a.step < 0)
        return usage_error("prove-step", "-i INPUT, --step K and -o PROOF are required");
    traced_run t;
    uint8_t *proof = NULL;
    size_t proof_len = 0;
    detvm_error err = {0};
    if (!(rc = open_traced(&a, &t))) {
        if (detvm_prove_step(t.module, t.session, t.input, t.input_len, (uint32_t)a.step, a.mode,
                             &proof, &proof_len, &err))
            rc = fail(&err);
        else if (io_write_file(a.outputs[0], proof, proof_len))
            rc = EXIT_RUNTIME;
    }
    free(proof);
    traced_run_free(&t);
    return rc;
}

const char check_step_help[] =
    "usage: detvm check-step MODEL [PARAMS] PROOF\n"
    "Checks a proof made by prove-step against MODEL: every input's Merkle proof and the claimed\n"
    "output's against the root, then re-executes only that instruction. Prints whether the\n"
    "claimed output is right: exit 0 when it is, 1 when it is wrong or the proof is invalid.\n";

int cmd_check_step(int argc, char **argv)
{
    args a;
    int rc = parse_args_n("check-step", 3, argc, argv, &a);
    if (rc)
        return rc;
    if (a.n_positional < 2)
        return usage_error("check-step", "MODEL [PARAMS] and PROOF are required");
    const char *proof_path = a.positional[a.n_positional - 1];
    if (a.n_positional == 2)
        a.params = NULL;
    uint8_t *bytes = NULL, *proof = NULL;
    size_t proof_len = 0;
    detvm_module *m = NULL;
    detvm_error err = {0};
    detvm_step_check check;
    if ((rc = open_model(&a, &bytes, &m)))
        return rc;
    if (detvm_read_file(proof_path, &proof, &proof_len, &err) ||
        detvm_check_step(m, proof, proof_len, &check, &err)) {
        rc = fail(&err);
    } else {
        detvm_layer_desc l;
        detvm_module_layer(m, check.step, &l, NULL);
        printf("step %u (%s %s): the proof holds against root ", check.step, l.op, l.name);
        print_hex(check.root, detvm_trace_digest_len(check.mode));
        printf("\nstep %u: the claimed output is %s\n", check.step,
               check.output_correct ? "correct" : "WRONG");
        rc = check.output_correct ? 0 : EXIT_INVALID;
    }
    free(proof);
    detvm_module_free(m);
    free(bytes);
    return rc;
}
