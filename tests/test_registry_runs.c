/* Recorded runs and audits (registry/runs.c, registry/audit.c, cli/cmd_audit.c, run --record):
 * every stored field checked against values computed here (BLAKE2b of the files, the session's
 * own trace, the receipt verified with the registry's public key), listing with its filters,
 * receipts given back, audits that reproduce, audits of records tampered through SQLite that
 * name the first diverging instruction (checked against `detvm info --json`), failures,
 * shards that partition the runs exactly, the trust policy in audits, and the progress bar,
 * which shows only on a terminal. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"
#include "registry_test.h"

static char q[512];
#define SQL(...) (snprintf(q, sizeof q, __VA_ARGS__), q)

/* ---- recording through the API ----------------------------------------------------------- */

static void test_record_api(const char *db)
{
    detvm_registry *r = NULL;
    detvm_error err = {0};
    CHECK(detvm_registry_open(db, 0, &r, &err) == DETVM_OK, "%s", err.message);
    if (!r)
        return;
    traced t;
    if (open_traced(&t, CHAIN_SYMBOL, CHAIN_PARAMS, CHAIN_INPUT, DETVM_TRACE_FAST)) {
        detvm_registry_close(r);
        return;
    }
    detvm_record_options opt = {NULL, NULL, 1, NULL, 12345};
    int64_t id = 0, before = wall_clock_ns();
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len, &opt,
                                &id, &err) == DETVM_OK && id == 1,
          "record: %s", err.message);
    int64_t after = wall_clock_ns();

    /* every field, from SQLite, against what was computed here */
    uint8_t in_hash[32], out_hash[32], id32[32];
    size_t n = 0;
    blake2b_256(t.input, t.input_len, in_hash);
    CHECK(file_hash(CHAIN_EXPECTED, out_hash, NULL) == 0);
    CHECK(independent_module_id(t.bytes, t.len, id32) == 0);
    detvm_trace tr;
    CHECK(detvm_session_trace(t.session, &tr, &err) == DETVM_OK);
    uint8_t *b = sql_blob(db, "SELECT input_hash FROM runs WHERE id = 1", &n);
    CHECK(b && n == 32 && memcmp(b, in_hash, 32) == 0, "input hash");
    free(b);
    b = sql_blob(db, "SELECT output_hash FROM runs WHERE id = 1", &n);
    CHECK(b && n == 32 && memcmp(b, out_hash, 32) == 0, "output hash = BLAKE2b(expected.bin)");
    free(b);
    b = sql_blob(db, "SELECT input FROM runs WHERE id = 1", &n);
    CHECK(b && n == t.input_len && memcmp(b, t.input, n) == 0, "the input bytes");
    free(b);
    b = sql_blob(db, "SELECT module_id FROM runs WHERE id = 1", &n);
    CHECK(b && n == 32 && memcmp(b, id32, 32) == 0, "module id");
    free(b);
    b = sql_blob(db, "SELECT trace_root FROM runs WHERE id = 1", &n);
    CHECK(b && n == 16 && memcmp(b, tr.root, 16) == 0, "trace root (fast: 16 bytes)");
    free(b);
    b = sql_blob(db, "SELECT trace_digests FROM runs WHERE id = 1", &n);
    CHECK(b && n == 12 * 16 && memcmp(b, tr.output_hashes, n) == 0, "every step's output hash");
    free(b);
    b = sql_blob(db, "SELECT bytes FROM modules", &n);
    CHECK(b && n == t.len && memcmp(b, t.bytes, n) == 0, "the module is stored");
    free(b);
    CHECK(sql_int(db, "SELECT steps FROM runs WHERE id = 1", 0) == 12);
    CHECK(sql_int(db, "SELECT trace_mode FROM runs WHERE id = 1", 0) == 1);
    CHECK(sql_int(db, "SELECT duration_ns FROM runs WHERE id = 1", 0) == 12345);
    CHECK(sql_int(db, "SELECT input_len FROM runs WHERE id = 1", 0) == (long long)t.input_len);
    CHECK(sql_int(db, "SELECT output_len FROM runs WHERE id = 1", 0) == (long long)t.output_len);
    long long created = sql_int(db, "SELECT created FROM runs WHERE id = 1", 0);
    CHECK(created >= before && created <= after, "created now");
    CHECK(sql_int(db, "SELECT model IS NULL FROM runs WHERE id = 1", 0) == 1, "no name yet");
    char *text = sql_text(db, "SELECT engine_version || ' ' || devices || ' ' || kernel_variants "
                              "FROM runs WHERE id = 1");
    CHECK(text && strcmp(text, DETVM_VERSION " cpu reference") == 0, "%s", text ? text : "?");
    free(text);

    /* the receipt, signed by the registry's own key, kept 0600 beside it */
    char key_path[1200], pub_path[1200];
    snprintf(key_path, sizeof key_path, "%s.key", db);
    snprintf(pub_path, sizeof pub_path, "%s.key.pub", db);
    struct stat st;
    CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600, "the key is 0600");
    uint8_t pub[32];
    CHECK(detvm_public_key_read(pub_path, pub, &err) == DETVM_OK, "%s", err.message);
    b = sql_blob(db, "SELECT receipt FROM runs WHERE id = 1", &n);
    detvm_receipt rc;
    CHECK(b && detvm_receipt_verify(b, n, pub, &rc, &err) == DETVM_OK, "receipt: %s",
          err.message);
    CHECK(memcmp(rc.output_hash, out_hash, 32) == 0 && memcmp(rc.trace_root, tr.root, 16) == 0 &&
          memcmp(rc.module_id, id32, 32) == 0 && rc.n_steps == 12, "the receipt's fields");
    uint8_t *given = NULL;
    size_t given_len = 0;
    CHECK(detvm_registry_receipt(r, 1, &given, &given_len, &err) == DETVM_OK && given &&
          given_len == n && memcmp(given, b, n) == 0, "detvm_registry_receipt");
    free(given);
    free(b);
    CHECK(detvm_registry_receipt(r, 99, &given, &given_len, &err) == DETVM_EINVALID &&
          contains(err.message, "no run 99"), "%s", err.message);

    /* named once the module is a model; a key of one's own; no input */
    detvm_model_add_options add = {.name = "chain"};
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &add, NULL, &err) == DETVM_OK);
    uint8_t pk[32], sk[64];
    detvm_keygen(pk, sk, NULL);
    opt.store_input = 0;
    opt.secret_key = sk;
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len, &opt,
                                &id, &err) == DETVM_OK && id == 2, "%s", err.message);
    CHECK(sql_int(db, "SELECT input IS NULL FROM runs WHERE id = 2", 0) == 1, "no input");
    text = sql_text(db, "SELECT model || '@' || version FROM runs WHERE id = 2");
    CHECK(text && strcmp(text, "chain@1") == 0, "the latest model holding it: %s",
          text ? text : "?");
    free(text);
    b = sql_blob(db, "SELECT signer FROM runs WHERE id = 2", &n);
    CHECK(b && n == 32 && memcmp(b, pk, 32) == 0, "signed with the given key");
    free(b);
    b = sql_blob(db, "SELECT receipt FROM runs WHERE id = 2", &n);
    CHECK(b && detvm_receipt_verify(b, n, pk, &rc, &err) == DETVM_OK, "%s", err.message);
    free(b);
    CHECK(sql_int(db, "SELECT count(*) FROM modules", 0) == 1, "one module still");

    /* refused */
    opt.model = "chain";
    opt.version = "9";
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len, &opt,
                                &id, &err) == DETVM_EINVALID && id == 0 &&
          contains(err.message, "no model chain@9"), "%s", err.message);
    opt.version = NULL;
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len, &opt,
                                &id, &err) == DETVM_EINVALID, "a name without its version");
    opt.model = NULL;
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len - 1, t.output, t.output_len,
                                &opt, &id, &err) == DETVM_EINVALID, "wrong input length");
    uint8_t bad_key[64] = {0};
    opt.secret_key = bad_key;
    bad_key[40] = 1;
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len, &opt,
                                &id, &err) == DETVM_EINVALID, "an inconsistent key");
    opt.secret_key = NULL;
    traced plain;
    if (open_traced(&plain, HELLO_MODEL, NULL, HELLO_INPUT, DETVM_TRACE_OFF) == 0) {
        CHECK(detvm_registry_record(r, plain.session, plain.input, plain.input_len, plain.output,
                                    plain.output_len, &opt, &id, &err) == DETVM_EINVALID &&
              contains(err.message, "trac"), "untraced: %s", err.message);
        close_traced(&plain);
    }
    detvm_model_add_options hello = {.name = "hello"};
    CHECK(detvm_registry_add(r, HELLO_MODEL, NULL, &hello, NULL, &err) == DETVM_OK);
    opt.model = "hello";
    opt.version = "1";
    CHECK(detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len, &opt,
                                &id, &err) == DETVM_EINVALID && contains(err.message, "not model"),
          "another model's name: %s", err.message);
    CHECK(sql_int(db, "SELECT count(*) FROM runs", 0) == 2, "nothing recorded by refusals");

    /* secure mode */
    traced s;
    if (open_traced(&s, HELLO_MODEL, NULL, HELLO_INPUT, DETVM_TRACE_SECURE) == 0) {
        opt.model = NULL;
        opt.store_input = 1;
        CHECK(detvm_registry_record(r, s.session, s.input, s.input_len, s.output, s.output_len,
                                    &opt, &id, &err) == DETVM_OK, "%s", err.message);
        detvm_session_trace(s.session, &tr, NULL);
        b = sql_blob(db, SQL("SELECT trace_root FROM runs WHERE id = %lld", (long long)id), &n);
        CHECK(b && n == 32 && memcmp(b, tr.root, 32) == 0, "secure root");
        free(b);
        CHECK(sql_int(db, SQL("SELECT length(trace_digests) FROM runs WHERE id = %lld",
                              (long long)id), 0) == 32 * 3);
        text = sql_text(db, SQL("SELECT model FROM runs WHERE id = %lld", (long long)id));
        CHECK(text && strcmp(text, "hello") == 0);
        free(text);
        close_traced(&s);
    }

    close_traced(&t);
    detvm_registry_close(r);
}

/* Collects a listing's run ids. */
typedef struct {
    int64_t ids[64];
    int n;
    detvm_run_record first;
} run_list;

static int collect_run(void *user, const detvm_run_record *run)
{
    run_list *l = user;
    if (l->n == 0)
        l->first = *run;
    if (l->n < 64)
        l->ids[l->n] = run->id;
    l->n++;
    return 0;
}

static void test_listing_api(const char *db)
{
    detvm_registry *r = NULL;
    detvm_error err = {0};
    if (detvm_registry_open(db, 0, &r, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    run_list l = {0};
    detvm_run_query all = {0};
    CHECK(detvm_registry_runs(r, &all, collect_run, &l, &err) == DETVM_OK && l.n == 3, "%d runs",
          l.n);
    CHECK(l.ids[0] == 3 && l.ids[1] == 2 && l.ids[2] == 1, "newest first");
    CHECK(l.first.has_input && strcmp(l.first.model, "hello") == 0 &&
          l.first.mode == DETVM_TRACE_SECURE && l.first.n_steps == 3, "the newest's fields");
    memset(&l, 0, sizeof l);
    detvm_run_query chain = {"chain", 0, 0, 0};
    CHECK(detvm_registry_runs(r, &chain, collect_run, &l, &err) == DETVM_OK && l.n == 1 &&
          l.ids[0] == 2, "--model chain: %d", l.n);
    CHECK(strcmp(l.first.devices, "cpu") == 0 && strcmp(l.first.kernel_variants, "reference") == 0
          && !l.first.has_input && l.first.duration_ns == 12345, "fields");
    memset(&l, 0, sizeof l);
    detvm_run_query limit = {NULL, 0, 0, 2};
    CHECK(detvm_registry_runs(r, &limit, collect_run, &l, &err) == DETVM_OK && l.n == 2);
    memset(&l, 0, sizeof l);
    detvm_run_query future = {NULL, wall_clock_ns() + (int64_t)3600 * 1000000000, 0, 0};
    CHECK(detvm_registry_runs(r, &future, collect_run, &l, &err) == DETVM_OK && l.n == 0);
    memset(&l, 0, sizeof l);
    detvm_run_query one = {NULL, 0, 2, 0};
    CHECK(detvm_registry_runs(r, &one, collect_run, &l, &err) == DETVM_OK && l.n == 1 &&
          l.ids[0] == 2);
    detvm_run_query bad = {"no such", 0, 0, 0};
    CHECK(detvm_registry_runs(r, &bad, collect_run, &l, &err) == DETVM_EINVALID);
    detvm_registry_close(r);
}

/* ---- the command --------------------------------------------------------------------------- */

static void test_record_cli(const char *db, const char *key, const char *pub)
{
    char y[1100], receipt[1100];
    tmp_path(y, sizeof y, "cli.out");
    tmp_path(receipt, sizeof receipt, "cli.receipt");
    result r = {0};
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "chain", "--registry", db);
    CLI(&r, "run", "registry:chain", "-i", CHAIN_INPUT, "-o", y, "--record", "--store-input",
        "--registry", db);
    CHECK(r.status == 0 && strcmp(r.out, "recorded run 1\n") == 0 && r.err[0] == 0, "%s%s",
          r.out, r.err);
    uint8_t expect[32];
    file_hash(CHAIN_EXPECTED, expect, NULL);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE model = 'chain' AND version = '1' AND "
                      "input IS NOT NULL",
                  0) == 1, "recorded under chain@1");
    CLI(&r, "run", CHAIN_SYMBOL, CHAIN_PARAMS, "-i", CHAIN_INPUT, "-o", y, "--record", "--key",
        key, "--receipt", receipt, "--mode", "secure", "--registry", db);
    CHECK(r.status == 0 && strcmp(r.out, "recorded run 2\n") == 0, "%s%s", r.out, r.err);
    size_t n = 0;
    uint8_t *stored = sql_blob(db, "SELECT receipt FROM runs WHERE id = 2", &n);
    size_t file_len = 0;
    uint8_t *file = read_file(receipt, &file_len);
    CHECK(stored && file && n == file_len && memcmp(stored, file, n) == 0,
          "--receipt R writes the receipt that is stored");
    free(stored);
    free(file);
    CLI(&r, "run", HELLO_MODEL, "-i", HELLO_INPUT, "-o", y, "--record", "--registry", db);
    CHECK(r.status == 0 && strcmp(r.out, "recorded run 3\n") == 0, "%s%s", r.out, r.err);
    CLI(&r, "run", HELLO_MODEL, "-i", HELLO_INPUT, "-o", y, "--record", "--float-io",
        "--registry", db);
    CHECK(r.status == 1, "float-io with the int8 input's length is refused");
    CLI(&r, "run", HELLO_MODEL, "-i", HELLO_INPUT, "-o", y, "--store-input", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "--record"), "%s", r.err);
    CLI(&r, "run", HELLO_MODEL, "-i", HELLO_INPUT, "-o", y, "--key", key);
    CHECK(r.status == 1 && one_line_message(r.err), "--key alone: %s", r.err);
    CLI(&r, "run", HELLO_MODEL, "-i", CHAIN_INPUT, "-o", y, "--record", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "wrong input length: %s", r.err);
    CHECK(sql_int(db, "SELECT count(*) FROM runs", 0) == 3, "no record of refused runs");

    /* the stored receipt, given back, verifies with the registry's key and reruns */
    char regpub[1200];
    snprintf(regpub, sizeof regpub, "%s.key.pub", db);
    CLI(&r, "registry", "receipt", "1", "-o", receipt, "--registry", db);
    CHECK(r.status == 0, "%s", r.err);
    CLI(&r, "receipt", "verify", receipt, "--pub", regpub, "--rerun", CHAIN_SYMBOL, CHAIN_PARAMS,
        "-i", CHAIN_INPUT);
    CHECK(r.status == 0 && contains(r.out, "receipt: valid"), "%s%s", r.out, r.err);
    CLI(&r, "registry", "receipt", "2", "-o", receipt, "--registry", db);
    CLI(&r, "receipt", "verify", receipt, "--pub", pub);
    CHECK(r.status == 0, "run 2 signed with --key: %s", r.out);
    CLI(&r, "registry", "receipt", "9", "-o", receipt, "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "no run 9"), "%s", r.err);
    CLI(&r, "registry", "receipt", "x", "-o", receipt, "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "%s", r.err);

    /* registry runs */
    CLI(&r, "registry", "runs", "--json", "--registry", db);
    json_t *runs = json_loads(r.out, 0, NULL);
    CHECK(r.status == 0 && json_array_size(runs) == 3, "%s", r.out);
    json_t *first = json_array_get(runs, 2);
    char hex[65];
    to_hex(expect, 32, hex);
    CHECK(first && json_integer_value(json_object_get(first, "id")) == 1 &&
          strcmp(json_string_value(json_object_get(first, "output_hash")), hex) == 0 &&
          json_is_true(json_object_get(first, "input_stored")) &&
          strcmp(json_string_value(json_object_get(first, "model")), "chain") == 0 &&
          json_integer_value(json_object_get(first, "steps")) == 12 &&
          strcmp(json_string_value(json_array_get(json_object_get(first, "devices"), 0)),
                 "cpu") == 0,
          "runs --json: the oldest last");
    json_t *second = json_array_get(runs, 1);
    CHECK(second && strcmp(json_string_value(json_object_get(second, "trace_mode")), "secure") ==
                        0 && strlen(json_string_value(json_object_get(second, "trace_root"))) == 64,
          "secure run");
    json_t *third = json_array_get(runs, 0);
    CHECK(third && json_is_null(json_object_get(third, "model")), "an unnamed module's run");
    json_decref(runs);
    CLI(&r, "registry", "runs", "--model", "chain", "--json", "--registry", db);
    runs = json_loads(r.out, 0, NULL);
    CHECK(json_array_size(runs) == 2, "--model chain: %s", r.out);
    json_decref(runs);
    CLI(&r, "registry", "runs", "--limit", "1", "--json", "--registry", db);
    runs = json_loads(r.out, 0, NULL);
    CHECK(json_array_size(runs) == 1 &&
          json_integer_value(json_object_get(json_array_get(runs, 0), "id")) == 3, "--limit 1");
    json_decref(runs);
    const char *since_ok[][2] = {{"@0", "3"}, {"1970-01-01", "3"}, {"2d", "3"},
                                 {"2200-01-01T00:00:00Z", "0"}, {"@9000000000", "0"}};
    for (int i = 0; i < 5; i++) {
        CLI(&r, "registry", "runs", "--since", since_ok[i][0], "--json", "--registry", db);
        runs = json_loads(r.out, 0, NULL);
        CHECK(r.status == 0 && (int)json_array_size(runs) == atoi(since_ok[i][1]),
              "--since %s: %s", since_ok[i][0], r.err);
        json_decref(runs);
    }
    const char *since_bad[] = {"yesterday", "2024-13-01", "5y", "-3d", "@", "2024-01-01T25:00",
                               "", "2999-01-01", "@9000000001", "2024-01-01T10:00:00+02"};
    for (int i = 0; i < 10; i++) {
        CLI(&r, "registry", "runs", "--since", since_bad[i], "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "--since"), "--since %s: %s",
              since_bad[i], r.err);
    }
    CLI(&r, "registry", "runs", "--limit", "0", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "--limit 0");
    CLI(&r, "registry", "runs", "--run", "2", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "secure") && !contains(r.out, "hello"), "%s", r.out);
    CLI(&r, "registry", "runs", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "chain@1") && contains(r.out, "hash only"), "%s",
          r.out);
    CLI(&r, "registry", "runs", "--name", "x", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "--name"), "%s", r.err);
    free_result(&r);
}

/* ---- audits ----------------------------------------------------------------------------- */

static json_t *audit_json(result *r, const char *db, const char *sel, const char *value)
{
    if (value)
        CLI(r, "audit", sel, value, "--json", "--registry", db);
    else
        CLI(r, "audit", sel, "--json", "--registry", db);
    return json_loads(r->out, 0, NULL);
}

static void test_audit(const char *db)
{
    char y[1100];
    tmp_path(y, sizeof y, "audit.out");
    result r = {0};
    /* runs 4..7: chain with input (twice), hello with input, chain without; with 1 to 3, four
     * runs have their input */
    for (int i = 0; i < 2; i++)
        CLI(&r, "run", "registry:chain", "-i", CHAIN_INPUT, "-o", y, "--record", "--store-input",
            "--registry", db);
    CLI(&r, "run", HELLO_MODEL, "-i", HELLO_INPUT, "-o", y, "--record", "--store-input",
        "--registry", db);
    CLI(&r, "run", "registry:chain", "-i", CHAIN_INPUT, "-o", y, "--record", "--registry", db);
    CHECK(r.status == 0 && sql_int(db, "SELECT count(*) FROM runs", 0) == 7, "%s", r.err);

    CLI(&r, "audit", "--all", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "4 runs audited, 4 reproduced, 0 diverged, 0 failed, "
                                           "3 skipped without input"),
          "%s%s", r.out, r.err);
    CHECK(r.err[0] == 0, "no progress bar when stderr is not a terminal: %s", r.err);
    CHECK(sql_int(db, "SELECT count(*) FROM audits WHERE result = 'reproduced'", 0) == 4,
          "each audit recorded");
    json_t *doc = audit_json(&r, db, "--model", "chain");
    CHECK(r.status == 0 && doc && json_integer_value(json_object_get(doc, "selected")) == 5 &&
          json_integer_value(json_object_get(doc, "reproduced")) == 3 &&
          json_integer_value(json_object_get(doc, "skipped")) == 2, "--model chain: %s", r.out);
    json_decref(doc);
    CLI(&r, "audit", "--run", "7", "--registry", db);
    CHECK(r.status == 1 && contains(r.err, "no stored input"), "explicit run without input: %s",
          r.err);
    CLI(&r, "audit", "--run", "70", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "no run 70"), "%s", r.err);
    const char *bad[][3] = {{"--all", "--run", "1"}, {"--shard", "1/2", NULL},
                            {"--run", "0", NULL},    {"--run", "x", NULL},
                            {"--all", "--bogus", NULL}, {"--all", "extra", NULL}};
    for (int i = 0; i < 6; i++) {
        if (bad[i][2])
            CLI(&r, "audit", bad[i][0], bad[i][1], bad[i][2], "--registry", db);
        else
            CLI(&r, "audit", bad[i][0], bad[i][1], "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err), "audit %s %s: %s", bad[i][0], bad[i][1], r.err);
    }
    CLI(&r, "audit", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "no selection");

    /* the layers, from detvm info, to name the diverging step */
    CLI(&r, "info", CHAIN_SYMBOL, CHAIN_PARAMS, "--json");
    json_t *info = json_loads(r.out, 0, NULL);
    json_t *layers = json_object_get(info, "layers");
    CHECK(json_array_size(layers) == 12, "12 layers");

    /* a changed step hash: the audit names that step */
    size_t n = 0;
    uint8_t *digests = sql_blob(db, "SELECT trace_digests FROM runs WHERE id = 4", &n);
    CHECK(digests && n == 12 * 16);
    for (int k = 11; digests && k >= 0; k -= 4) {
        uint8_t *changed = malloc(n);
        memcpy(changed, digests, n);
        changed[16 * k + 5] ^= 0x10;
        if (k >= 4)
            changed[16 * 11 + 1] ^= 0x01; /* and a later one, which must not be named */
        sql_set_blob(db, "UPDATE runs SET trace_digests = ? WHERE id = 4", changed, n);
        free(changed);
        doc = audit_json(&r, db, "--run", "4");
        json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
        json_t *layer = json_array_get(layers, (size_t)k);
        CHECK(r.status == 1 && run &&
              strcmp(json_string_value(json_object_get(run, "result")), "diverged") == 0 &&
              json_integer_value(json_object_get(run, "step")) == k &&
              strcmp(json_string_value(json_object_get(run, "op")),
                     json_string_value(json_object_get(layer, "op"))) == 0 &&
              strcmp(json_string_value(json_object_get(run, "layer")),
                     json_string_value(json_object_get(layer, "name"))) == 0,
              "step %d named: %s", k, r.out);
        CHECK(contains(json_string_value(json_object_get(run, "message")),
                       "the signed receipt agrees with the replay"),
              "which side moved: %s", r.out);
        json_decref(doc);
        CHECK(sql_int(db, SQL("SELECT step FROM audits WHERE run_id = 4 ORDER BY id DESC"), -1) ==
                  k &&
              sql_int(db, "SELECT result = 'diverged' FROM audits WHERE run_id = 4 ORDER BY id "
                          "DESC",
                      0) == 1,
              "the audit record names step %d", k);
        CLI(&r, "audit", "--run", "4", "--registry", db);
        char want[300];
        json_t *l = json_array_get(layers, (size_t)k);
        snprintf(want, sizeof want, "run 4 (chain@1): diverged at step %d (%s %s)", k,
                 json_string_value(json_object_get(l, "op")),
                 json_string_value(json_object_get(l, "name")));
        CHECK(r.status == 1 && contains(r.out, want) && contains(r.out, "1 diverged"), "%s",
              r.out);
    }
    if (digests)
        sql_set_blob(db, "UPDATE runs SET trace_digests = ? WHERE id = 4", digests, n);
    free(digests);
    json_decref(info);

    /* a changed output hash, root, input, receipt or module */
    struct {
        const char *column, *expect, *result;
        int id, at;
    } tamper[] = {
        {"output_hash", "the output hash differs", "diverged", 5, 3},
        {"trace_root", "the trace root differs", "diverged", 5, 0},
        {"input", "does not hash to the recorded input hash", "failed", 5, 0},
        {"receipt", "the stored receipt is refused", "failed", 5, 40},
        {"input_hash", "does not hash", "failed", 6, 31},
    };
    for (int i = 0; i < 5; i++) {
        uint8_t *old = sql_blob(db, SQL("SELECT %s FROM runs WHERE id = %d", tamper[i].column,
                                        tamper[i].id),
                                &n);
        if (!old || n <= (size_t)tamper[i].at) {
            CHECK(0, "%s", tamper[i].column);
            free(old);
            continue;
        }
        old[tamper[i].at] ^= 0x80;
        sql_set_blob(db, SQL("UPDATE runs SET %s = ? WHERE id = %d", tamper[i].column,
                             tamper[i].id),
                     old, n);
        char id[8];
        snprintf(id, sizeof id, "%d", tamper[i].id);
        doc = audit_json(&r, db, "--run", id);
        json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
        CHECK(r.status == 1 && run &&
              strcmp(json_string_value(json_object_get(run, "result")), tamper[i].result) == 0 &&
              contains(json_string_value(json_object_get(run, "message")), tamper[i].expect) &&
              !json_object_get(run, "step"),
              "%s changed: %s", tamper[i].column, r.out);
        json_decref(doc);
        old[tamper[i].at] ^= 0x80;
        sql_set_blob(db, SQL("UPDATE runs SET %s = ? WHERE id = %d", tamper[i].column,
                             tamper[i].id),
                     old, n);
        free(old);
        CLI(&r, "audit", "--run", id, "--registry", db);
        CHECK(r.status == 0, "restored %s: %s", tamper[i].column, r.out);
    }
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 0, "all restored: %s", r.out);
    free_result(&r);
}

/* --shard K/N: N shards partition the runs exactly, by id % N == K - 1. */
static void test_shards(const char *db)
{
    result r = {0};
    long long total = sql_int(db, "SELECT count(*) FROM runs", 0);
    for (int count = 1; count <= 4; count++) {
        int seen[64] = {0}, union_n = 0, right_shard = 1;
        for (int k = 1; k <= count; k++) {
            char shard[16];
            snprintf(shard, sizeof shard, "%d/%d", k, count);
            CLI(&r, "audit", "--all", "--shard", shard, "--json", "--registry", db);
            json_t *doc = json_loads(r.out, 0, NULL);
            json_t *runs = json_object_get(doc, "runs");
            CHECK(r.status == 0 && runs, "shard %s: %s%s", shard, r.out, r.err);
            for (size_t i = 0; i < json_array_size(runs); i++) {
                long long id = json_integer_value(json_object_get(json_array_get(runs, i), "run"));
                if (id < 1 || id >= 64)
                    continue;
                seen[id]++;
                union_n++;
                right_shard &= id % count == k - 1;
            }
            json_decref(doc);
        }
        int once = 1;
        for (long long id = 1; id <= total; id++)
            once &= seen[id] == 1;
        CHECK(union_n == total && once && right_shard,
              "%d shards: %d runs seen, each once: %d, id %% N == K - 1: %d", count, union_n, once,
              right_shard);
    }
    CLI(&r, "audit", "--model", "chain", "--shard", "2/3", "--json", "--registry", db);
    json_t *doc = json_loads(r.out, 0, NULL);
    json_t *runs = json_object_get(doc, "runs");
    int ok = r.status == 0 && runs != NULL;
    for (size_t i = 0; ok && i < json_array_size(runs); i++) {
        json_t *run = json_array_get(runs, i);
        ok = json_integer_value(json_object_get(run, "run")) % 3 == 1 &&
             strcmp(json_string_value(json_object_get(run, "model")), "chain") == 0;
    }
    CHECK(ok && json_array_size(runs) > 0, "--model with --shard: %s", r.out);
    json_decref(doc);
    const char *bad[] = {"0/2", "3/2", "1/0", "x", "1/", "/2", "-1/2", "1/2/3", "1/99999999999"};
    for (int i = 0; i < 9; i++) {
        CLI(&r, "audit", "--all", "--shard", bad[i], "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "--shard"), "--shard %s: %s",
              bad[i], r.err);
    }
    /* the API refuses what the command would not pass */
    detvm_registry *reg = NULL;
    detvm_error err = {0};
    if (detvm_registry_open(db, 0, &reg, &err) == DETVM_OK) {
        detvm_audit_selection sel = {NULL, 0, 3, 2};
        CHECK(detvm_registry_audit(reg, &sel, NULL, NULL, NULL, &err) == DETVM_EINVALID &&
              contains(err.message, "shard"), "%s", err.message);
        sel.shard = 0;
        CHECK(detvm_registry_audit(reg, &sel, NULL, NULL, NULL, &err) == DETVM_EINVALID);
        detvm_audit_selection one_of_all = {NULL, 0, 0, 0};
        detvm_audit_summary s;
        CHECK(detvm_registry_audit(reg, &one_of_all, NULL, NULL, &s, &err) == DETVM_OK &&
              s.selected == (uint64_t)total && s.reproduced + s.skipped == s.selected, "%s",
              err.message);
        detvm_registry_close(reg);
    }
    free_result(&r);
}

/* Audits load modules under the trust policy; a removed model's runs stay auditable. */
static void test_audit_policy(const char *db, const char *key, const char *pub)
{
    result r = {0};
    CLI(&r, "audit", "--model", "chain", "--require-signed", "--registry", db);
    CHECK(r.status == 1 && contains(r.out, "3 failed") &&
          contains(r.out, "has no signature by a trusted key"), "%s", r.out);
    CLI(&r, "registry", "sign", "chain@1", "--key", key, "--registry", db);
    CLI(&r, "audit", "--model", "chain", "--require-signed", "--trust", pub, "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "0 failed"), "%s%s", r.out, r.err);
    /* run 6 ran hello's module from its file, never a model here: judged by its module */
    CLI(&r, "audit", "--run", "6", "--require-signed", "--trust", pub, "--registry", db);
    CHECK(r.status == 1 && contains(r.out, "no signature by a trusted key"), "%s", r.out);
    /* removing the model keeps the module the runs need */
    CLI(&r, "registry", "rm", "chain", "--registry", db);
    CHECK(r.status == 0 && sql_int(db, "SELECT count(*) FROM modules", 0) == 2,
          "modules kept for runs");
    CLI(&r, "audit", "--model", "chain", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "0 failed"), "runs of a removed model: %s", r.out);
    CLI(&r, "audit", "--model", "chain", "--require-signed", "--trust", pub, "--registry", db);
    CHECK(r.status == 1 && contains(r.out, "no signature by a trusted key"), "%s", r.out);
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 0, "%s", r.out);
    free_result(&r);
}

/* The progress bar shows when stderr is a terminal (a pseudo-terminal here). */
static void test_progress_bar(const char *db)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        SKIP("no pseudo-terminal for the progress bar");
        if (master >= 0)
            close(master);
        return;
    }
    const char *slave = ptsname(master);
    char out_path[1100];
    tmp_path(out_path, sizeof out_path, "bar.stdout");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(slave, O_RDWR);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || out < 0)
            _exit(97);
        dup2(fd, 2);
        dup2(out, 1);
        execl(detvm, detvm, "audit", "--all", "--registry", db, (char *)NULL);
        _exit(98);
    }
    char buf[8192];
    size_t used = 0;
    for (;;) {
        ssize_t got = read(master, buf + used, sizeof buf - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
        if (used == sizeof buf - 1)
            break;
    }
    buf[used] = 0;
    int status = 0;
    waitpid(pid, &status, 0);
    close(master);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "audit on a terminal: %d", status);
    CHECK(contains(buf, "\raudit [") && contains(buf, "runs"), "a progress bar: %s", buf);
    size_t n = 0;
    char *out = (char *)read_file(out_path, &n);
    CHECK(out && contains(out, "runs audited") && !contains(out, "audit ["),
          "the summary on stdout, the bar not: %s", out ? out : "?");
    free(out);
    unlink(out_path);
}

int main(void)
{
    /* The records list the kernel variants a run used: pin them to the reference kernels. */
    setenv("DETVM_KERNELS", "ref", 1);
    if (registry_test_setup("registry_runs") != 0)
        return check_summary("test_registry_runs");
    char api_db[1100], cli_db[1100], key[1100], pub[1100];
    tmp_path(api_db, sizeof api_db, "api.db");
    tmp_path(cli_db, sizeof cli_db, "cli.db");
    tmp_path(key, sizeof key, "signer");
    tmp_path(pub, sizeof pub, "signer.pub");
    result r = {0};
    CLI(&r, "keygen", "-o", key);
    free_result(&r);

    test_record_api(api_db);
    test_listing_api(api_db);
    test_record_cli(cli_db, key, pub);
    test_audit(cli_db);
    test_shards(cli_db);
    test_progress_bar(cli_db);
    test_audit_policy(cli_db, key, pub);

    remove_tmp_dir();
    return check_summary("test_registry_runs");
}
