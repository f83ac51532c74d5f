/* detvm registry: models, runs and trusted keys in the SQLite registry (docs/registry.md).
 * Each subcommand is one registry call plus printing, as text or, with --json, as JSON. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "io.h"

const char registry_help[] =
    "usage: detvm registry COMMAND [ARGS] [--registry PATH] [--json]\n"
    "  add MODEL [PARAMS] --name N [--version V] [--tag T ...] [--key KEY] [--rounding R]\n"
    "                     compile MODEL and store it as N@V (V: one above N's highest integer\n"
    "                     version), with its source files' BLAKE2b hashes; signed with KEY\n"
    "  list [NAME]        every model version (or NAME's), newest first\n"
    "  show NAME[@VERSION]                    one model version (NAME alone: its latest)\n"
    "  export NAME[@VERSION] -o FILE          the stored module's exact bytes\n"
    "  rm NAME[@VERSION]                      remove one version, or every version of NAME\n"
    "  sign NAME[@VERSION] --key KEY          sign a model version (Ed25519 over its module id)\n"
    "  runs [--model N] [--since T] [--limit K] [--run ID]   recorded runs, newest first\n"
    "  receipt RUN -o FILE                    a recorded run's signed receipt\n"
    "  check                                  integrity and foreign key checks; every module\n"
    "                                         hashed again, every signature and receipt checked\n"
    "  trust add KEY.pub | trust list | trust rm KEY.pub   the trusted keys\n"
    "  path                                   the database file used\n"
    "The database is --registry PATH, else $DETVM_REGISTRY, else\n"
    "$XDG_DATA_HOME/detvm/registry.db, else ~/.local/share/detvm/registry.db; it is made on\n"
    "first use. DETVM_REGISTRY_SYNC=full fsyncs every commit (against power loss).\n"
    "Trust policy: --require-signed refuses, wherever a model is loaded from the registry\n"
    "(export, detvm run registry:NAME[@VERSION], detvm audit), a model without a valid signature\n"
    "by a trusted key: one added with `trust add`, or given with --trust KEY.pub. A signature\n"
    "that does not verify is always refused.\n"
    "T is a date or time in UTC (2024-05-01, 2024-05-01T12:00:00Z), @UNIX_SECONDS, or an age\n"
    "(30s, 15m, 2h, 7d, 2w).\n"
    "Exit status: 0, 1 (invalid input, unknown model, a problem found) or 2 (runtime error).\n";

/* The options only registry subcommands take, pulled out before the shared parser runs. */
typedef struct {
    const char *name, *version, *model, *since, *limit, *run;
    const char *tags[DETVM_REGISTRY_TAGS_MAX + 1];
    uint32_t n_tags;
    const char *given[8];   /* which of these were given, for the error message */
    int n_given;
} registry_opts;

static int take_registry_opts(int argc, char **argv, registry_opts *o, int *n_rest,
                              char **rest)
{
    memset(o, 0, sizeof *o);
    *n_rest = 0;
    for (int i = 0; i < argc; i++) {
        static const char *names[] = {"--name", "--version", "--model", "--since",
                                      "--limit", "--run", "--tag"};
        const char **slots[] = {&o->name, &o->version, &o->model, &o->since, &o->limit, &o->run,
                                NULL};
        int k = -1;
        for (int j = 0; j < 7; j++)
            if (strcmp(argv[i], names[j]) == 0)
                k = j;
        if (k < 0) {
            rest[(*n_rest)++] = argv[i];
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "detvm registry: option %s needs a value (see detvm registry --help)\n",
                    argv[i]);
            return EXIT_INVALID;
        }
        if (o->n_given < 8)
            o->given[o->n_given++] = names[k];
        if (slots[k]) {
            *slots[k] = argv[++i];
        } else if (o->n_tags == DETVM_REGISTRY_TAGS_MAX) {
            return usage_error("registry", "too many --tag");
        } else {
            o->tags[o->n_tags++] = argv[++i];
        }
    }
    return 0;
}

/* Refuses registry options that the subcommand does not take. */
static int only(const registry_opts *o, const char *sub, const char *allowed)
{
    for (int i = 0; i < o->n_given; i++) {
        char want[24];
        snprintf(want, sizeof want, "%s ", o->given[i]);
        if (!strstr(allowed, want)) {
            fprintf(stderr, "detvm registry %s: %s does not apply (see detvm registry --help)\n",
                    sub, o->given[i]);
            return EXIT_INVALID;
        }
    }
    return 0;
}

/* ---- formatting ------------------------------------------------------------------------- */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = 0;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char text[2 * 64 + 1];
    hex(p, n, text);
    return json_string(text);
}

/* 2024-05-01T12:00:00.123Z */
static void time_text(int64_t ns, char out[40])
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    if (ns < 0 || !gmtime_r(&s, &tm)) {
        snprintf(out, 40, "?");
        return;
    }
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)(ns / 1000000 % 1000));
}

static json_t *time_json(int64_t ns)
{
    char text[40];
    time_text(ns, text);
    return json_string(text);
}

static const char *signature_state(const detvm_model_record *m)
{
    return !m->is_signed          ? "unsigned"
           : !m->signature_valid  ? "INVALID signature"
           : m->signer_trusted    ? "signed (trusted)"
                                  : "signed (untrusted)";
}

static json_t *model_json(const detvm_model_record *m)
{
    json_t *tags = json_array(), *sources = json_array();
    for (uint32_t i = 0; i < m->n_tags; i++)
        json_array_append_new(tags, json_string(m->tags[i]));
    for (uint32_t i = 0; i < m->n_sources; i++)
        json_array_append_new(sources, json_pack("{s:s, s:I, s:o}", "path", m->sources[i].path,
                                                 "size", (json_int_t)m->sources[i].size, "blake2b",
                                                 hex_json(m->sources[i].hash, 32)));
    json_t *doc = json_pack("{s:s, s:s, s:o, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b}",
                            "name", m->name, "version", m->version, "module_id",
                            hex_json(m->module_id, 32), "size", (json_int_t)m->size, "format",
                            m->source_format, "added_as", m->given_format, "producer",
                            m->producer, "source_hash", hex_json(m->source_hash, 32), "tags",
                            tags, "sources", sources, "created", time_json(m->created),
                            "signed", m->is_signed);
    if (m->is_signed) {
        json_object_set_new(doc, "signer", hex_json(m->signer, 32));
        json_object_set_new(doc, "signature", hex_json(m->signature, 64));
        json_object_set_new(doc, "signature_valid", json_boolean(m->signature_valid));
        json_object_set_new(doc, "signer_trusted", json_boolean(m->signer_trusted));
    }
    return doc;
}

static void model_line(const detvm_model_record *m)
{
    char id[65], created[40], tags[DETVM_REGISTRY_TAGS_MAX * (DETVM_REGISTRY_TAG_MAX + 1) + 1] = "";
    hex(m->module_id, 32, id);
    time_text(m->created, created);
    for (uint32_t i = 0; i < m->n_tags; i++) {
        size_t used = strlen(tags);
        snprintf(tags + used, sizeof tags - used, "%s%s", i ? "," : "", m->tags[i]);
    }
    char ref[DETVM_REGISTRY_NAME_MAX + DETVM_REGISTRY_VERSION_MAX + 2];
    snprintf(ref, sizeof ref, "%s@%s", m->name, m->version);
    printf("%-24s %.16s  %-6s %9llu bytes  %-18s %s  %s\n", ref, id, m->source_format,
           (unsigned long long)m->size, signature_state(m), created, tags[0] ? tags : "-");
}

static void model_show(const detvm_model_record *m)
{
    char text[129], created[40];
    printf("%-16s%s@%s\n", "model", m->name, m->version);
    hex(m->module_id, 32, text);
    printf("%-16s%s\n", "module id", text);
    printf("%-16s%llu bytes\n", "size", (unsigned long long)m->size);
    printf("%-16s%s (added as %s)\n", "format", m->source_format, m->given_format);
    printf("%-16s%s\n", "producer", m->producer);
    hex(m->source_hash, 32, text);
    printf("%-16s%s\n", "source hash", text);
    for (uint32_t i = 0; i < m->n_sources; i++) {
        hex(m->sources[i].hash, 32, text);
        printf("%-16s%s (%llu bytes, blake2b %s)\n", "source file", m->sources[i].path,
               (unsigned long long)m->sources[i].size, text);
    }
    printf("%-16s", "tags");
    for (uint32_t i = 0; i < m->n_tags; i++)
        printf(i ? " %s" : "%s", m->tags[i]);
    printf("%s\n", m->n_tags ? "" : "-");
    time_text(m->created, created);
    printf("%-16s%s\n", "created", created);
    printf("%-16s%s\n", "signature", signature_state(m));
    if (m->is_signed) {
        hex(m->signer, 32, text);
        printf("%-16s%s\n", "signer", text);
    }
}

/* ---- models ----------------------------------------------------------------------------- */

static int do_add(const args *a, const registry_opts *o, detvm_registry *reg)
{
    if (a->n_positional < 2 || a->n_positional > 3)
        return usage_error("registry", "add takes MODEL [PARAMS]");
    if (!o->name)
        return usage_error("registry", "add needs --name N");
    uint8_t key[DETVM_SECRET_KEY_BYTES];
    detvm_error err = {0};
    if (a->key && detvm_secret_key_read(a->key, key, &err))
        return fail(&err);
    detvm_model_add_options opt = {o->name, o->version, o->tags, o->n_tags,
                                   a->key ? key : NULL, &a->tflite};
    detvm_model_record rec;
    if (detvm_registry_add(reg, a->positional[1], a->positional[2], &opt, &rec, &err))
        return fail(&err);
    if (a->json) {
        io_print_json(model_json(&rec));
    } else {
        char id[65];
        hex(rec.module_id, 32, id);
        printf("added %s@%s (module %s, %llu bytes, %s)\n", rec.name, rec.version, id,
               (unsigned long long)rec.size, signature_state(&rec));
    }
    return 0;
}

typedef struct {
    int json;
    json_t *list;
    unsigned long n;
} listing;

/* Ends a listing after the registry call that filled it (st): prints the JSON array when asked
 * for (--json); 1, with the error printed, when the call failed. */
static int end_listing(listing *l, detvm_status st, const detvm_error *err)
{
    if (st) {
        json_decref(l->list);
        return fail(err);
    }
    if (l->json)
        io_print_json(l->list);
    else
        json_decref(l->list);
    return 0;
}

static int list_model(void *user, const detvm_model_record *m)
{
    listing *l = user;
    l->n++;
    if (l->json)
        json_array_append_new(l->list, model_json(m));
    else
        model_line(m);
    return 0;
}

static int do_list(const args *a, detvm_registry *reg)
{
    if (a->n_positional > 2)
        return usage_error("registry", "list takes at most one NAME");
    listing l = {a->json, json_array(), 0};
    detvm_error err = {0};
    return end_listing(&l, detvm_registry_models(reg, a->positional[1], list_model, &l, &err),
                       &err);
}

static int do_show(const args *a, detvm_registry *reg)
{
    if (a->n_positional != 2)
        return usage_error("registry", "show takes one NAME[@VERSION]");
    detvm_model_record rec;
    detvm_error err = {0};
    if (detvm_registry_model(reg, a->positional[1], &rec, &err))
        return fail(&err);
    if (a->json)
        io_print_json(model_json(&rec));
    else
        model_show(&rec);
    return 0;
}

static int do_export(const args *a, detvm_registry *reg)
{
    if (a->n_positional != 2 || a->n_outputs != 1)
        return usage_error("registry", "export takes NAME[@VERSION] -o FILE");
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_registry_load(reg, a->positional[1], &bytes, &len, NULL, &err))
        return fail(&err);
    int rc = io_write_file(a->outputs[0], bytes, len) ? EXIT_RUNTIME : 0;
    free(bytes);
    return rc;
}

static int do_rm(const args *a, detvm_registry *reg)
{
    if (a->n_positional != 2)
        return usage_error("registry", "rm takes one NAME[@VERSION]");
    uint32_t removed = 0;
    detvm_error err = {0};
    if (detvm_registry_remove(reg, a->positional[1], &removed, &err))
        return fail(&err);
    printf("removed %u model version%s\n", removed, removed == 1 ? "" : "s");
    return 0;
}

static int do_sign(const args *a, detvm_registry *reg)
{
    if (a->n_positional != 2 || !a->key)
        return usage_error("registry", "sign takes NAME[@VERSION] --key KEY");
    uint8_t key[DETVM_SECRET_KEY_BYTES];
    detvm_model_record rec;
    detvm_error err = {0};
    if (detvm_secret_key_read(a->key, key, &err) ||
        detvm_registry_sign(reg, a->positional[1], key, &rec, &err))
        return fail(&err);
    if (a->json) {
        io_print_json(model_json(&rec));
    } else {
        char signer[65];
        hex(rec.signer, 32, signer);
        printf("signed %s@%s by %s\n", rec.name, rec.version, signer);
    }
    return 0;
}

/* ---- runs -------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* --since: a UTC date or time, @UNIX_SECONDS, or an age (30s, 15m, 2h, 7d, 2w). */
static int parse_since(const char *text, int64_t *ns)
{
    char *end;
    if (text[0] == '@') {
        long long s = strtoll(text + 1, &end, 10);
        if (end == text + 1 || *end || s < 0 || s > 9000000000LL)
            return -1;
        *ns = (int64_t)s * 1000000000;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
    size_t len = strlen(text);
    if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
        const char *rest = text + 10;
        int m2 = 0;
        if (*rest == 'T' || *rest == ' ') {
            if (sscanf(rest + 1, "%2d:%2d%n", &h, &mi, &m2) != 2 || m2 != 5)
                return -1;
            rest += 1 + m2;
            if (*rest == ':') {
                if (sscanf(rest + 1, "%2d%n", &s, &m2) != 1 || m2 != 2)
                    return -1;
                rest += 3;
            }
            if (*rest == 'Z')
                rest++;
        }
        /* nanoseconds in an int64 reach 2262 */
        if (*rest || y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
            mi > 59 ||
            s > 60 || h < 0 || mi < 0 || s < 0)
            return -1;
        *ns = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60 + s;
        *ns *= 1000000000;
        return 0;
    }
    long long count = strtoll(text, &end, 10);
    if (end == text || count < 0 || len < 2 || end != text + len - 1)
        return -1;
    int64_t unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600
                 : *end == 'd' ? 86400 : *end == 'w' ? 604800 : 0;
    if (!unit || count > 100LL * 365 * 86400 / unit)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *ns = ((int64_t)now.tv_sec - count * unit) * 1000000000 + now.tv_nsec;
    return 0;
}

static json_t *names_json(const char *list)
{
    json_t *a = json_array();
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, n));
        p += n + (comma != NULL);
    }
    return a;
}

static const char *mode_name(detvm_trace_mode mode)
{
    return mode == DETVM_TRACE_SECURE ? "secure" : "fast";
}

static json_t *run_json(const detvm_run_record *r)
{
    uint32_t dlen = detvm_trace_digest_len(r->mode);
    json_t *doc = json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:b, s:o, s:I, s:s, s:I, s:o, s:I, "
                            "s:s, s:o, s:o, s:o, s:I, s:o}",
                            "id", (json_int_t)r->id, "model",
                            r->model[0] ? json_string(r->model) : json_null(), "version",
                            r->model[0] ? json_string(r->version) : json_null(), "module_id",
                            hex_json(r->module_id, 32), "input_hash", hex_json(r->input_hash, 32),
                            "input_bytes", (json_int_t)r->input_len, "input_stored", r->has_input,
                            "output_hash", hex_json(r->output_hash, 32), "output_bytes",
                            (json_int_t)r->output_len, "trace_mode", mode_name(r->mode), "steps",
                            (json_int_t)r->n_steps, "trace_root", hex_json(r->trace_root, dlen),
                            "gas", (json_int_t)r->gas, "engine_version", r->engine_version,
                            "devices", names_json(r->devices), "kernel_variants",
                            names_json(r->kernel_variants), "receipt_signer",
                            hex_json(r->signer, 32), "duration_ns", (json_int_t)r->duration_ns,
                            "created", time_json(r->created));
    return doc;
}

static int list_run(void *user, const detvm_run_record *r)
{
    listing *l = user;
    l->n++;
    if (l->json) {
        json_array_append_new(l->list, run_json(r));
        return 0;
    }
    char created[40], root[65], out[65], module[65];
    char ref[DETVM_REGISTRY_NAME_MAX + DETVM_REGISTRY_VERSION_MAX + 2];
    time_text(r->created, created);
    hex(r->trace_root, detvm_trace_digest_len(r->mode), root);
    hex(r->output_hash, 32, out);
    hex(r->module_id, 32, module);
    if (r->model[0])
        snprintf(ref, sizeof ref, "%s@%s", r->model, r->version);
    else
        snprintf(ref, sizeof ref, "-");
    printf("%6lld  %s  %-20s module %.16s  %s %u steps root %.16s  output %.16s  input %s  "
           "%.3f ms\n",
           (long long)r->id, created, ref, module, mode_name(r->mode), r->n_steps, root, out,
           r->has_input ? "stored" : "hash only", (double)r->duration_ns / 1e6);
    return 0;
}

static int parse_id(const char *text, int64_t *id)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || v < 1)
        return -1;
    *id = v;
    return 0;
}

static int do_runs(const args *a, const registry_opts *o, detvm_registry *reg)
{
    if (a->n_positional != 1)
        return usage_error("registry", "runs takes no arguments but options");
    detvm_run_query q = {o->model, 0, 0, 0};
    if (o->since && parse_since(o->since, &q.since))
        return usage_error("registry", "--since takes a UTC date or time (2024-05-01, "
                                       "2024-05-01T12:00:00Z), @UNIX_SECONDS or an age (2h, 7d)");
    if (o->run && parse_id(o->run, &q.run_id))
        return usage_error("registry", "--run takes a run id (1, 2, ...)");
    if (o->limit) {
        int64_t limit;
        if (parse_id(o->limit, &limit) || limit > UINT32_MAX)
            return usage_error("registry", "--limit takes a positive count");
        q.limit = (uint32_t)limit;
    }
    listing l = {a->json, json_array(), 0};
    detvm_error err = {0};
    return end_listing(&l, detvm_registry_runs(reg, &q, list_run, &l, &err), &err);
}

static int do_receipt(const args *a, detvm_registry *reg)
{
    int64_t id;
    if (a->n_positional != 2 || a->n_outputs != 1)
        return usage_error("registry", "receipt takes RUN -o FILE");
    if (parse_id(a->positional[1], &id))
        return usage_error("registry", "receipt takes a run id (1, 2, ...)");
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_registry_receipt(reg, id, &bytes, &len, &err))
        return fail(&err);
    int rc = io_write_file(a->outputs[0], bytes, len) ? EXIT_RUNTIME : 0;
    free(bytes);
    return rc;
}

/* ---- check and trust -------------------------------------------------------------------- */

static void print_problem(void *user, const char *problem)
{
    if (user)
        json_array_append_new(user, json_string(problem));
    else
        printf("problem: %s\n", problem);
}

static int do_check(const args *a, detvm_registry *reg)
{
    if (a->n_positional != 1)
        return usage_error("registry", "check takes no arguments");
    json_t *problems = a->json ? json_array() : NULL;
    detvm_check_summary s;
    detvm_error err = {0};
    detvm_status st = detvm_registry_check(reg, print_problem, problems, &s, &err);
    if (a->json) {
        io_print_json(json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "ok", st == DETVM_OK,
                                "modules", (json_int_t)s.modules, "models",
                                (json_int_t)s.models, "runs", (json_int_t)s.runs, "audits",
                                (json_int_t)s.audits, "problems", problems));
    } else {
        printf("registry check: %llu modules, %llu models, %llu runs, %llu audits: ",
               (unsigned long long)s.modules, (unsigned long long)s.models,
               (unsigned long long)s.runs, (unsigned long long)s.audits);
        if (st == DETVM_OK)
            printf("ok\n");
        else
            printf("%llu problem%s\n", (unsigned long long)s.problems,
                   s.problems == 1 ? "" : "s");
    }
    if (st && s.problems == 0)
        return fail(&err);
    return st ? EXIT_INVALID : 0;
}

static int list_key(void *user, const uint8_t key[DETVM_PUBLIC_KEY_BYTES], int64_t added)
{
    listing *l = user;
    l->n++;
    if (l->json) {
        json_array_append_new(l->list, json_pack("{s:o, s:o}", "public_key", hex_json(key, 32),
                                                 "added", time_json(added)));
    } else {
        char text[65], when[40];
        hex(key, 32, text);
        time_text(added, when);
        printf("%s  %s\n", text, when);
    }
    return 0;
}

static int do_trust(const args *a, detvm_registry *reg)
{
    const char *what = a->n_positional >= 2 ? a->positional[1] : "";
    detvm_error err = {0};
    if (strcmp(what, "list") == 0 && a->n_positional == 2) {
        listing l = {a->json, json_array(), 0};
        return end_listing(&l, detvm_registry_trusted_keys(reg, list_key, &l, &err), &err);
    }
    int adding = strcmp(what, "add") == 0;
    if ((!adding && strcmp(what, "rm") != 0) || a->n_positional != 3)
        return usage_error("registry", "trust add KEY.pub, trust list or trust rm KEY.pub");
    uint8_t key[DETVM_PUBLIC_KEY_BYTES];
    if (detvm_public_key_read(a->positional[2], key, &err) ||
        (adding ? detvm_registry_trust_add(reg, key, &err)
                : detvm_registry_trust_remove(reg, key, &err)))
        return fail(&err);
    char text[65];
    hex(key, 32, text);
    printf("%s %s\n", adding ? "trusted" : "no longer trusted:", text);
    return 0;
}

int cmd_registry(int argc, char **argv)
{
    char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
    if (!rest)
        return EXIT_RUNTIME;
    registry_opts o;
    int n_rest = 0;
    args a;
    int rc = take_registry_opts(argc, argv, &o, &n_rest, rest);
    if (!rc && n_rest == 0)
        rc = usage_error("registry", "a command is needed (add, list, show, export, rm, sign, "
                                     "runs, receipt, check, trust, path)");
    if (!rc)
        rc = parse_args_n("registry", 4, n_rest, rest, &a);
    free(rest);
    if (rc)
        return rc;
    const char *sub = a.positional[0];
    static const struct {
        const char *name, *options;
    } subs[] = {
        {"add", "--name --version --tag "}, {"list", ""},      {"show", ""},
        {"export", ""},                     {"rm", ""},        {"sign", ""},
        {"runs", "--model --since --limit --run "},            {"receipt", ""},
        {"check", ""},                      {"trust", ""},     {"path", ""},
    };
    const char *allowed = NULL;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(sub, subs[i].name) == 0)
            allowed = subs[i].options;
    if (!allowed) {
        fprintf(stderr, "detvm registry: unknown command %s (see detvm registry --help)\n", sub);
        return EXIT_INVALID;
    }
    if ((rc = only(&o, sub, allowed)))
        return rc;
    if (strcmp(sub, "path") == 0) {
        char path[4096];
        detvm_error err = {0};
        if (a.registry)
            snprintf(path, sizeof path, "%s", a.registry);
        else if (detvm_registry_default_path(path, sizeof path, &err))
            return fail(&err);
        printf("%s\n", path);
        return 0;
    }
    detvm_registry *reg = NULL;
    if ((rc = open_registry(&a, &reg)))
        return rc;
    rc = strcmp(sub, "add") == 0      ? do_add(&a, &o, reg)
         : strcmp(sub, "list") == 0   ? do_list(&a, reg)
         : strcmp(sub, "show") == 0   ? do_show(&a, reg)
         : strcmp(sub, "export") == 0 ? do_export(&a, reg)
         : strcmp(sub, "rm") == 0     ? do_rm(&a, reg)
         : strcmp(sub, "sign") == 0   ? do_sign(&a, reg)
         : strcmp(sub, "runs") == 0   ? do_runs(&a, &o, reg)
         : strcmp(sub, "receipt") == 0 ? do_receipt(&a, reg)
         : strcmp(sub, "check") == 0  ? do_check(&a, reg)
                                      : do_trust(&a, reg);
    detvm_registry_close(reg);
    return rc;
}
