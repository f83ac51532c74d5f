/* detvm audit: replays recorded runs from their stored inputs and compares them with the record
 * bit for bit (docs/registry.md). One registry call plus printing: a progress bar on stderr
 * when it is a terminal, a line per run that did not reproduce, and a summary. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"

const char audit_help[] =
    "usage: detvm audit (--model N | --run ID | --all) [--shard K/N] [--json]\n"
    "                   [--registry PATH] [--require-signed] [--trust KEY.pub ...]\n"
    "Runs the selected recorded runs again from their stored inputs (runs recorded without\n"
    "--store-input are skipped), traced in their recorded mode, and compares the output hash,\n"
    "the trace root and every step's output hash with the record, and the record with its\n"
    "signed receipt. A run that diverges is reported with the first instruction whose output\n"
    "differs (step, op, layer). Every audit is recorded in the registry.\n"
    "--shard K/N audits only the runs whose id % N is K - 1 (K counts from 1): N processes or\n"
    "  machines given 1/N .. N/N split the runs exactly, with no run twice.\n"
    "A progress bar shows on stderr when it is a terminal; then a line per run that did not\n"
    "reproduce and a summary (--json: one JSON object instead).\n"
    "Exit status: 0 when every audited run reproduced, 1 when one diverged or failed (or an\n"
    "invalid option), 2 on a runtime error.\n";

typedef struct {
    int json, bar;
    json_t *runs;
} audit_view;

static const char *result_name(detvm_audit_result r)
{
    static const char *names[] = {"reproduced", "diverged", "failed", "skipped"};
    return names[r];
}

static void draw_bar(uint64_t done, uint64_t total)
{
    int width = 40, filled = total ? (int)(done * (uint64_t)width / total) : width;
    fprintf(stderr, "\raudit [");
    for (int i = 0; i < width; i++)
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %llu/%llu runs", (unsigned long long)done, (unsigned long long)total);
    fflush(stderr);
}

static void on_run(void *user, const detvm_audit_outcome *o)
{
    audit_view *v = user;
    if (v->json) {
        json_t *run = json_pack("{s:I, s:s, s:s}", "run", (json_int_t)o->run_id, "result",
                                result_name(o->result), "message", o->message);
        if (o->model[0]) {
            json_object_set_new(run, "model", json_string(o->model));
            json_object_set_new(run, "version", json_string(o->version));
        }
        if (o->audit_id)
            json_object_set_new(run, "audit", json_integer((json_int_t)o->audit_id));
        if (o->step >= 0) {
            json_object_set_new(run, "step", json_integer((json_int_t)o->step));
            json_object_set_new(run, "op", json_string(o->op));
            json_object_set_new(run, "layer", json_string(o->layer));
        }
        json_array_append_new(v->runs, run);
    } else if (o->result == DETVM_AUDIT_DIVERGED || o->result == DETVM_AUDIT_FAILED) {
        if (v->bar)
            fprintf(stderr, "\r\033[K");
        printf("run %lld", (long long)o->run_id);
        if (o->model[0])
            printf(" (%s@%s)", o->model, o->version);
        printf(": %s", result_name(o->result));
        if (o->step >= 0)
            printf(" at step %lld (%s %s)", (long long)o->step, o->op, o->layer);
        printf(": %s\n", o->message);
        fflush(stdout);
    }
    if (v->bar)
        draw_bar(o->done, o->total);
}

/* K/N with 1 <= K <= N. */
static int parse_shard(const char *text, uint32_t *k, uint32_t *n)
{
    char *end;
    unsigned long long a = strtoull(text, &end, 10);
    if (end == text || *end != '/' || text[0] == '-' || text[0] == '+')
        return -1;
    const char *b_text = end + 1;
    unsigned long long b = strtoull(b_text, &end, 10);
    if (end == b_text || *end || b_text[0] == '-' || b_text[0] == '+' || a < 1 || b < 1 ||
        a > b || b > UINT32_MAX)
        return -1;
    *k = (uint32_t)a;
    *n = (uint32_t)b;
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    args a;
    memset(&a, 0, sizeof a);
    const char *model = NULL, *run = NULL, *shard = NULL;
    int all = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int is_trust = strcmp(s, "--trust") == 0;
        const char **slot = strcmp(s, "--model") == 0      ? &model
                            : strcmp(s, "--run") == 0      ? &run
                            : strcmp(s, "--shard") == 0    ? &shard
                            : strcmp(s, "--registry") == 0 ? &a.registry
                                                           : NULL;
        if ((slot || is_trust) && i + 1 >= argc) {
            fprintf(stderr, "detvm audit: option %s needs a value (see detvm audit --help)\n", s);
            return EXIT_INVALID;
        }
        if (slot) {
            *slot = argv[++i];
        } else if (is_trust) {
            if (a.n_trust == 16)
                return usage_error("audit", "too many --trust");
            a.trust[a.n_trust++] = argv[++i];
        } else if (strcmp(s, "--all") == 0) {
            all = 1;
        } else if (strcmp(s, "--json") == 0) {
            a.json = 1;
        } else if (strcmp(s, "--require-signed") == 0) {
            a.require_signed = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "detvm audit: unknown option %s (see detvm audit --help)\n", s);
            return EXIT_INVALID;
        } else {
            return usage_error("audit", "takes no arguments but options");
        }
    }
    if ((model != NULL) + (run != NULL) + all != 1)
        return usage_error("audit", "choose one of --model N, --run ID and --all");
    detvm_audit_selection sel = {model, 0, 0, 0};
    if (run) {
        char *end;
        long long id = strtoll(run, &end, 10);
        if (end == run || *end || id < 1)
            return usage_error("audit", "--run takes a run id (1, 2, ...)");
        sel.run_id = id;
    }
    if (shard && parse_shard(shard, &sel.shard, &sel.shard_count))
        return usage_error("audit", "--shard takes K/N with 1 <= K <= N (shards count from 1)");
    detvm_registry *reg = NULL;
    int rc = open_registry(&a, &reg);
    if (rc)
        return rc;
    audit_view v = {a.json, !a.json && isatty(2), json_array()};
    detvm_audit_summary s;
    detvm_error err = {0};
    detvm_status st = detvm_registry_audit(reg, &sel, on_run, &v, &s, &err);
    detvm_registry_close(reg);
    if (v.bar)
        fprintf(stderr, "\r\033[K");
    if (st) {
        json_decref(v.runs);
        return fail(&err);
    }
    if (a.json) {
        json_t *doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "selected",
                                (json_int_t)s.selected, "audited", (json_int_t)s.audited,
                                "reproduced", (json_int_t)s.reproduced, "diverged",
                                (json_int_t)s.diverged, "failed", (json_int_t)s.failed,
                                "skipped", (json_int_t)s.skipped, "runs", v.runs);
        if (shard)
            json_object_set_new(doc, "shard", json_string(shard));
        io_print_json(doc);
    } else {
        json_decref(v.runs);
        printf("audit%s%s: %llu runs audited, %llu reproduced, %llu diverged, %llu failed, "
               "%llu skipped without input\n",
               shard ? " of shard " : "", shard ? shard : "", (unsigned long long)s.audited,
               (unsigned long long)s.reproduced, (unsigned long long)s.diverged,
               (unsigned long long)s.failed, (unsigned long long)s.skipped);
    }
    if (s.diverged || s.failed)
        return EXIT_INVALID;
    if (sel.run_id && s.skipped) {
        fprintf(stderr, "detvm audit: run %lld has no stored input (record it with "
                        "--store-input)\n",
                (long long)sel.run_id);
        return EXIT_INVALID;
    }
    return 0;
}
