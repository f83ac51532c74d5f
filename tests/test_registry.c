/* The registry's models (registry/, cli/cmd_registry.c) on the fixture models: the schema and
 * its migrations, the path, adding (module ids and source hashes computed here, independently,
 * and compared with what SQLite holds), deduplication, versions, list/show/export/rm with and
 * without --json, signatures and the trust policy wherever a registry model is loaded, and bad
 * input: malformed references and names, files that are not registries, a newer schema, a
 * corrupt database, and hostile stored module bytes. Runs and audits are in
 * test_registry_runs.c, concurrency and crashes in test_registry_stress.c. */
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"
#include "registry_test.h"

static char compiled_chain[1100], compiled_hello[1100], compiled_single[1100];

static detvm_registry *open_db(const char *path)
{
    detvm_registry *r = NULL;
    detvm_error err = {0};
    CHECK(detvm_registry_open(path, 0, &r, &err) == DETVM_OK, "open %s: %s", path, err.message);
    return r;
}

static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    uint8_t *pa = read_file(a, &la), *pb = read_file(b, &lb);
    int same = pa && pb && la == lb && memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return same;
}

/* ---- the schema and the path ------------------------------------------------------------- */

static void test_schema(void)
{
    char db[1100];
    tmp_path(db, sizeof db, "nested/deeper/schema.db");
    detvm_registry *r = open_db(db);
    if (!r)
        return;
    CHECK(strcmp(detvm_registry_file(r), db) == 0);
    struct stat st;
    char dir[1100];
    tmp_path(dir, sizeof dir, "nested/deeper");
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
          "the parent folders are made, 0700");
    CHECK(sql_int(db, "PRAGMA user_version", -1) == 3, "schema version");
    CHECK(sql_int(db, "PRAGMA application_id", -1) == 0x64747672, "application id");
    char *mode = sql_text(db, "PRAGMA journal_mode");
    CHECK(mode && strcmp(mode, "wal") == 0, "journal mode %s", mode ? mode : "?");
    free(mode);
    static const char *tables[] = {"modules", "models", "model_tags", "model_sources",
                                   "trusted_keys", "runs", "audits"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char q[200];
        snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                              "name='%s'", tables[i]);
        CHECK(sql_int(db, q, 0) == 1, "table %s", tables[i]);
    }
    /* "the latest 100 runs of a model" is an index range scan, without a sort */
    sqlite3 *s = sql_open(db);
    sqlite3_stmt *q = NULL;
    int uses_index = 0, sorts = 0;
    if (s && sqlite3_prepare_v2(s,
                                "EXPLAIN QUERY PLAN SELECT id FROM runs WHERE model = 'm' "
                                "ORDER BY created DESC, id DESC LIMIT 100",
                                -1, &q, NULL) == SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(q, 3);
            uses_index |= contains(d, "runs_by_model");
            sorts |= contains(d, "TEMP B-TREE");
        }
    }
    sqlite3_finalize(q);
    sqlite3_close(s);
    CHECK(uses_index && !sorts, "the runs of a model come from runs_by_model, unsorted");
    detvm_registry_close(r);
    /* reopening changes nothing */
    r = open_db(db);
    CHECK(sql_int(db, "PRAGMA user_version", -1) == 3);
    detvm_registry_close(r);
}

/* A database of schema 1 or 2 (what older builds made) is brought up to date in place. */
static void test_migrations(void)
{
    for (int from = 1; from <= 2; from++) {
        char db[1100];
        fresh_db(db, sizeof db, "migrate.db");
        detvm_registry *r = open_db(db);
        detvm_error err = {0};
        detvm_model_add_options opt = {.name = "old"};
        CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &opt, NULL, &err) == DETVM_OK,
              "%s", err.message);
        detvm_registry_close(r);
        sql_exec(db, from == 1 ? "DROP TABLE audits; DROP TABLE runs; PRAGMA user_version=1"
                               : "DROP TABLE audits; PRAGMA user_version=2");
        CHECK(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name='audits'", 1) == 0);
        r = open_db(db);
        CHECK(sql_int(db, "PRAGMA user_version", -1) == 3, "from %d", from);
        CHECK(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('runs', 'audits', "
                          "'runs_by_model')",
                      0) == 3,
              "from %d: runs and audits made", from);
        detvm_model_record rec;
        CHECK(detvm_registry_model(r, "old@1", &rec, &err) == DETVM_OK, "the model stays");
        detvm_registry_close(r);
    }
}

static void test_default_path(void)
{
    char saved[3][1100] = {"", "", ""};
    const char *names[] = {"DETVM_REGISTRY", "XDG_DATA_HOME", "HOME"};
    int had[3];
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        had[i] = v != NULL;
        snprintf(saved[i], sizeof saved[i], "%s", v ? v : "");
    }
    char path[4096], want[1200], xdg[1100], home[1100];
    detvm_error err = {0};
    tmp_path(xdg, sizeof xdg, "xdg");
    tmp_path(home, sizeof home, "home");
    setenv("DETVM_REGISTRY", "/somewhere/r.db", 1);
    setenv("XDG_DATA_HOME", xdg, 1);
    setenv("HOME", home, 1);
    CHECK(detvm_registry_default_path(path, sizeof path, &err) == DETVM_OK &&
          strcmp(path, "/somewhere/r.db") == 0, "DETVM_REGISTRY first: %s", path);
    unsetenv("DETVM_REGISTRY");
    snprintf(want, sizeof want, "%s/detvm/registry.db", xdg);
    CHECK(detvm_registry_default_path(path, sizeof path, &err) == DETVM_OK &&
          strcmp(path, want) == 0, "then XDG_DATA_HOME: %s", path);
    setenv("XDG_DATA_HOME", "relative/dir", 1);
    snprintf(want, sizeof want, "%s/.local/share/detvm/registry.db", home);
    CHECK(detvm_registry_default_path(path, sizeof path, &err) == DETVM_OK &&
          strcmp(path, want) == 0, "a relative XDG_DATA_HOME is ignored: %s", path);
    unsetenv("XDG_DATA_HOME");
    CHECK(detvm_registry_default_path(path, sizeof path, &err) == DETVM_OK &&
          strcmp(path, want) == 0, "then HOME: %s", path);
    char tiny[8];
    CHECK(detvm_registry_default_path(tiny, sizeof tiny, &err) == DETVM_EINVALID);

    /* the command sees the same, and --registry beats them all */
    result r = {0};
    CLI(&r, "registry", "path");
    CHECK(r.status == 0 && strncmp(r.out, want, strlen(want)) == 0, "path: %s", r.out);
    setenv("XDG_DATA_HOME", xdg, 1);
    setenv("DETVM_REGISTRY", "/elsewhere/x.db", 1);
    CLI(&r, "registry", "path");
    CHECK(r.status == 0 && strcmp(r.out, "/elsewhere/x.db\n") == 0, "path: %s", r.out);
    CLI(&r, "registry", "path", "--registry", "/given.db");
    CHECK(r.status == 0 && strcmp(r.out, "/given.db\n") == 0, "path: %s", r.out);
    /* opening the default path makes the folders */
    unsetenv("DETVM_REGISTRY");
    CLI(&r, "registry", "list");
    snprintf(want, sizeof want, "%s/detvm/registry.db", xdg);
    struct stat st;
    CHECK(r.status == 0 && stat(want, &st) == 0, "made %s: %s", want, r.err);
    free_result(&r);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", xdg, home);
    CHECK(system(cmd) == 0);
    for (int i = 0; i < 3; i++) {
        if (had[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
    }
}

/* ---- adding -------------------------------------------------------------------------------- */

static void check_sources(const detvm_model_record *rec)
{
    uint8_t h[32];
    size_t n = 0;
    CHECK(rec->n_sources == 2, "two source files");
    CHECK(strcmp(rec->sources[0].path, CHAIN_SYMBOL) == 0 && file_hash(CHAIN_SYMBOL, h, &n) == 0 &&
          memcmp(rec->sources[0].hash, h, 32) == 0 && rec->sources[0].size == n,
          "the graph's BLAKE2b hash");
    CHECK(strcmp(rec->sources[1].path, CHAIN_PARAMS) == 0 && file_hash(CHAIN_PARAMS, h, &n) == 0 &&
          memcmp(rec->sources[1].hash, h, 32) == 0 && rec->sources[1].size == n,
          "the params' BLAKE2b hash");
}

static void test_add(void)
{
    char db[1100];
    fresh_db(db, sizeof db, "add.db");
    detvm_registry *r = open_db(db);
    if (!r)
        return;
    size_t dvm_len = 0;
    uint8_t *dvm = read_file(compiled_chain, &dvm_len);
    uint8_t want_id[32];
    CHECK(dvm && independent_module_id(dvm, dvm_len, want_id) == 0, "the compiled module");
    const char *tags[] = {"team=vision", "prod", "prod"};
    detvm_model_add_options opt = {"chain", NULL, tags, 3, NULL, NULL};
    detvm_model_record rec;
    detvm_error err = {0};
    int64_t before = wall_clock_ns();
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &opt, &rec, &err) == DETVM_OK, "%s",
          err.message);
    int64_t after = wall_clock_ns();
    CHECK(strcmp(rec.name, "chain") == 0 && strcmp(rec.version, "1") == 0, "chain@%s",
          rec.version);
    CHECK(memcmp(rec.module_id, want_id, 32) == 0, "the module id is BLAKE2b over the sections");
    CHECK(rec.size == dvm_len, "size %llu", (unsigned long long)rec.size);
    CHECK(strcmp(rec.source_format, "cvm") == 0 && strcmp(rec.given_format, "cvm") == 0);
    CHECK(strncmp(rec.producer, "detvm ", 6) == 0, "producer %s", rec.producer);
    CHECK(rec.n_tags == 2 && strcmp(rec.tags[0], "prod") == 0 &&
          strcmp(rec.tags[1], "team=vision") == 0, "tags, once each, in order");
    CHECK(rec.created >= before && rec.created <= after, "created now");
    CHECK(!rec.is_signed);
    check_sources(&rec);

    /* what SQLite holds */
    char hex[65], q[300];
    to_hex(want_id, 32, hex);
    snprintf(q, sizeof q, "SELECT count(*) FROM modules WHERE lower(hex(id)) = '%s'", hex);
    CHECK(sql_int(db, q, 0) == 1, "stored under its id");
    size_t blob_len = 0;
    uint8_t *blob = sql_blob(db, "SELECT bytes FROM modules", &blob_len);
    CHECK(blob && blob_len == dvm_len && memcmp(blob, dvm, dvm_len) == 0,
          "the stored bytes are the compiled module's");
    free(blob);

    /* stored once, however many names hold it, and whatever form it was added in */
    opt.n_tags = 0;
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &opt, &rec, &err) == DETVM_OK &&
          strcmp(rec.version, "2") == 0, "chain@2: %s", err.message);
    detvm_model_add_options copy = {.name = "chain-copy"};
    CHECK(detvm_registry_add(r, compiled_chain, NULL, &copy, &rec, &err) == DETVM_OK, "%s",
          err.message);
    CHECK(strcmp(rec.given_format, "dvm") == 0 && rec.n_sources == 1 &&
          memcmp(rec.module_id, want_id, 32) == 0, "added as a module");
    detvm_model_add_options raw = {.name = "chain-bytes"};
    CHECK(detvm_registry_add_module(r, dvm, dvm_len, &raw, &rec, &err) == DETVM_OK &&
          rec.n_sources == 0, "%s", err.message);
    CHECK(sql_int(db, "SELECT count(*) FROM modules", 0) == 1, "deduplicated");
    CHECK(sql_int(db, "SELECT count(*) FROM models", 0) == 4);

    /* TFLite, with its options */
    detvm_model_add_options hello = {.name = "hello"};
    CHECK(detvm_registry_add(r, HELLO_MODEL, NULL, &hello, &rec, &err) == DETVM_OK, "%s",
          err.message);
    size_t n = 0;
    uint8_t *m = read_file(compiled_hello, &n);
    CHECK(m && independent_module_id(m, n, want_id) == 0 &&
          memcmp(rec.module_id, want_id, 32) == 0 && strcmp(rec.source_format, "tflite") == 0,
          "the TFLite module");
    free(m);
    detvm_tflite_options single = {.rounding = DETVM_ROUNDING_SINGLE};
    hello.tflite = &single;
    CHECK(detvm_registry_add(r, HELLO_MODEL, NULL, &hello, &rec, &err) == DETVM_OK, "%s",
          err.message);
    m = read_file(compiled_single, &n);
    CHECK(m && independent_module_id(m, n, want_id) == 0 &&
          memcmp(rec.module_id, want_id, 32) == 0, "compiled with single rounding");
    free(m);
    CHECK(sql_int(db, "SELECT count(*) FROM modules", 0) == 3);

    /* refused: nothing is stored */
    detvm_model_add_options bad = {.name = "bad"};
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, NULL, &bad, NULL, &err) == DETVM_EINVALID &&
          contains(err.message, "params"), "%s", err.message);
    CHECK(detvm_registry_add(r, HELLO_MODEL, CHAIN_PARAMS, &bad, NULL, &err) == DETVM_EINVALID);
    CHECK(detvm_registry_add(r, "/nonexistent/model.json", CHAIN_PARAMS, &bad, NULL, &err) ==
              DETVM_ERUNTIME &&
          contains(err.message, "/nonexistent/model.json"), "%s", err.message);
    CHECK(detvm_registry_add(r, CHAIN_PARAMS, CHAIN_SYMBOL, &bad, NULL, &err) != DETVM_OK &&
          contains(err.message, "JSON"), "params as a graph: %s", err.message);
    CHECK(detvm_registry_add_module(r, dvm, dvm_len / 2, &bad, NULL, &err) == DETVM_EINVALID,
          "a truncated module");
    CHECK(sql_int(db, "SELECT count(*) FROM models WHERE name = 'bad'", 1) == 0);
    free(dvm);
    detvm_registry_close(r);

    /* the command */
    result cr = {0};
    CLI(&cr, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "cli", "--tag", "a",
        "--tag", "b", "--registry", db);
    CHECK(cr.status == 0 && contains(cr.out, "added cli@1"), "%s%s", cr.out, cr.err);
    CLI(&cr, "registry", "add", HELLO_MODEL, "--name", "cli", "--version", "7", "--rounding",
        "single", "--json", "--registry", db);
    json_t *doc = json_loads(cr.out, 0, NULL);
    to_hex(want_id, 32, hex);
    CHECK(cr.status == 0 && doc &&
          strcmp(json_string_value(json_object_get(doc, "version")), "7") == 0 &&
          strcmp(json_string_value(json_object_get(doc, "module_id")), hex) == 0,
          "add --json: %s", cr.out);
    json_decref(doc);
    CLI(&cr, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--registry", db);
    CHECK(cr.status == 1 && one_line_message(cr.err) && contains(cr.err, "--name"), "%s", cr.err);
    CLI(&cr, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "x", "--since", "1d",
        "--registry", db);
    CHECK(cr.status == 1 && one_line_message(cr.err) && contains(cr.err, "--since"), "%s", cr.err);
    free_result(&cr);
}

static void test_versions(void)
{
    char db[1100];
    fresh_db(db, sizeof db, "versions.db");
    detvm_registry *r = open_db(db);
    if (!r)
        return;
    detvm_error err = {0};
    detvm_model_record rec;
    const char *given[] = {NULL, NULL, "2.5-rc1", NULL, "10", "007", NULL};
    const char *want[] = {"1", "2", "2.5-rc1", "3", "10", "007", "11"};
    for (int i = 0; i < 7; i++) {
        detvm_model_add_options opt = {"m", given[i], NULL, 0, NULL, NULL};
        CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &opt, &rec, &err) == DETVM_OK &&
              strcmp(rec.version, want[i]) == 0, "version %s, got %s (%s)", want[i],
              rec.version, err.message);
    }
    detvm_model_add_options beta = {"n", "beta", NULL, 0, NULL, NULL}, next = {.name = "n"};
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &beta, &rec, &err) == DETVM_OK);
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &next, &rec, &err) == DETVM_OK &&
          strcmp(rec.version, "1") == 0, "no integer version yet: 1, got %s", rec.version);
    /* a version is never replaced */
    long long before = sql_int(db, "SELECT count(*) FROM models", 0);
    detvm_model_add_options again = {"m", "2", NULL, 0, NULL, NULL};
    CHECK(detvm_registry_add(r, HELLO_MODEL, NULL, &again, &rec, &err) == DETVM_EINVALID &&
          contains(err.message, "m@2 exists"), "%s", err.message);
    CHECK(sql_int(db, "SELECT count(*) FROM models", 0) == before);
    CHECK(sql_int(db, "SELECT count(*) FROM modules", 0) == 1, "the refused module is not kept");
    /* NAME alone is the latest added */
    CHECK(detvm_registry_model(r, "m", &rec, &err) == DETVM_OK && strcmp(rec.version, "11") == 0,
          "latest %s", rec.version);
    CHECK(detvm_registry_model(r, "m@2.5-rc1", &rec, &err) == DETVM_OK);
    /* a version too large to count on */
    detvm_model_add_options huge = {"h", "9223372036854775807", NULL, 0, NULL, NULL};
    detvm_model_add_options after_huge = {.name = "h"};
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &huge, &rec, &err) == DETVM_OK);
    CHECK(detvm_registry_add(r, CHAIN_SYMBOL, CHAIN_PARAMS, &after_huge, &rec, &err) ==
              DETVM_EINVALID && contains(err.message, "--version"),
          "%s", err.message);
    detvm_registry_close(r);
}

/* ---- list, show, export, rm ------------------------------------------------------------ */

static void test_list_show_export_rm(void)
{
    char db[1100], out[1100];
    fresh_db(db, sizeof db, "list.db");
    tmp_path(out, sizeof out, "exported.dvm");
    result r = {0};
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "chain", "--tag", "prod",
        "--registry", db);
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "chain", "--registry", db);
    CLI(&r, "registry", "add", HELLO_MODEL, "--name", "hello", "--registry", db);
    CHECK(r.status == 0, "%s", r.err);

    CLI(&r, "registry", "list", "--json", "--registry", db);
    json_t *list = json_loads(r.out, 0, NULL);
    CHECK(r.status == 0 && json_is_array(list) && json_array_size(list) == 3, "%s", r.out);
    const char *order[][2] = {{"chain", "2"}, {"chain", "1"}, {"hello", "1"}};
    for (size_t i = 0; list && i < json_array_size(list) && i < 3; i++) {
        json_t *m = json_array_get(list, i);
        CHECK(strcmp(json_string_value(json_object_get(m, "name")), order[i][0]) == 0 &&
              strcmp(json_string_value(json_object_get(m, "version")), order[i][1]) == 0,
              "list entry %zu", i);
    }
    json_decref(list);
    CLI(&r, "registry", "list", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "chain@2") && contains(r.out, "hello@1") &&
          contains(r.out, "prod"), "%s", r.out);
    CLI(&r, "registry", "list", "hello", "--json", "--registry", db);
    list = json_loads(r.out, 0, NULL);
    CHECK(list && json_array_size(list) == 1, "list NAME");
    json_decref(list);

    CLI(&r, "registry", "show", "chain@1", "--json", "--registry", db);
    json_t *m = json_loads(r.out, 0, NULL);
    uint8_t h[32];
    char hex[65];
    file_hash(CHAIN_PARAMS, h, NULL);
    to_hex(h, 32, hex);
    json_t *sources = json_object_get(m, "sources");
    CHECK(r.status == 0 && m && json_array_size(sources) == 2 &&
          strcmp(json_string_value(json_object_get(json_array_get(sources, 1), "blake2b")), hex) ==
              0 &&
          json_array_size(json_object_get(m, "tags")) == 1 &&
          json_is_false(json_object_get(m, "signed")),
          "show --json: %s", r.out);
    json_decref(m);
    CLI(&r, "registry", "show", "chain", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "chain@2") && contains(r.out, "module id") &&
          contains(r.out, hex), "%s", r.out);

    /* export: the stored bytes exactly, written whole */
    CLI(&r, "registry", "export", "chain@1", "-o", out, "--registry", db);
    CHECK(r.status == 0 && same_file(out, compiled_chain), "export = compile: %s", r.err);
    size_t blob_len = 0, out_len = 0;
    uint8_t *blob = sql_blob(db, "SELECT bytes FROM modules WHERE id = (SELECT module_id FROM "
                                 "models WHERE name = 'hello')",
                             &blob_len);
    CLI(&r, "registry", "export", "hello", "-o", out, "--registry", db);
    uint8_t *got = read_file(out, &out_len);
    CHECK(r.status == 0 && blob && got && blob_len == out_len && memcmp(blob, got, out_len) == 0,
          "export replaces the file with the stored bytes");
    free(blob);
    free(got);
    CLI(&r, "registry", "export", "nope@1", "-o", out, "--registry", db);
    got = read_file(out, &out_len);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "no model nope@1"), "%s", r.err);
    CHECK(got && out_len == blob_len, "a failed export leaves the old file as it was");
    free(got);
    char missing[1200];
    tmp_path(missing, sizeof missing, "no/such/dir/x.dvm");
    CLI(&r, "registry", "export", "chain@1", "-o", missing, "--registry", db);
    CHECK(r.status == 2 && one_line_message(r.err), "%s", r.err);
    CLI(&r, "registry", "export", "chain@1", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "export without -o");

    /* rm */
    CLI(&r, "registry", "rm", "chain@1", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "removed 1 model version"), "%s %s", r.out, r.err);
    CHECK(sql_int(db, "SELECT count(*) FROM models WHERE name = 'chain'", -1) == 1);
    CHECK(sql_int(db, "SELECT count(*) FROM model_tags", -1) == 0, "its tags go with it");
    CHECK(sql_int(db, "SELECT count(*) FROM modules", -1) == 2, "chain@2 still holds the module");
    CLI(&r, "registry", "rm", "chain@1", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "no model chain@1"), "%s", r.err);
    CLI(&r, "registry", "rm", "chain", "--registry", db);
    CHECK(r.status == 0, "%s", r.err);
    CHECK(sql_int(db, "SELECT count(*) FROM modules", -1) == 1, "an unused module goes");
    CHECK(sql_int(db, "SELECT count(*) FROM model_sources", -1) == 1, "so do the sources");
    CLI(&r, "registry", "rm", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err));
    CLI(&r, "registry", "frobnicate", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "frobnicate"), "%s", r.err);
    CLI(&r, "registry", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "%s", r.err);
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 0 && contains(r.out, ": ok"), "%s %s", r.out, r.err);
    free_result(&r);
}

/* ---- signatures and the trust policy ----------------------------------------------------- */

static void test_trust(void)
{
    char db[1100], k1[1100], k2[1100], p1[1100], p2[1100], out[1100], y[1100];
    fresh_db(db, sizeof db, "trust.db");
    tmp_path(k1, sizeof k1, "k1");
    tmp_path(k2, sizeof k2, "k2");
    tmp_path(p1, sizeof p1, "k1.pub");
    tmp_path(p2, sizeof p2, "k2.pub");
    tmp_path(out, sizeof out, "trust.dvm");
    tmp_path(y, sizeof y, "trust.out");
    result r = {0};
    CLI(&r, "keygen", "-o", k1);
    CLI(&r, "keygen", "-o", k2);
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "signed", "--key", k1,
        "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "signed (untrusted)"), "%s%s", r.out, r.err);
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "plain", "--registry", db);
    CLI(&r, "registry", "add", HELLO_MODEL, "--name", "tfl", "--key", k1, "--registry", db);

    /* the signature is Ed25519 over the module id, by k1 */
    uint8_t pk1[32], id[32], sig[64];
    detvm_error err = {0};
    CHECK(detvm_public_key_read(p1, pk1, &err) == DETVM_OK);
    size_t n = 0;
    uint8_t *b = sql_blob(db, "SELECT module_id FROM models WHERE name = 'signed'", &n);
    CHECK(b && n == 32);
    if (b)
        memcpy(id, b, 32);
    free(b);
    b = sql_blob(db, "SELECT signature FROM models WHERE name = 'signed'", &n);
    CHECK(b && n == 64);
    if (b)
        memcpy(sig, b, 64);
    free(b);
    b = sql_blob(db, "SELECT signer FROM models WHERE name = 'signed'", &n);
    CHECK(b && n == 32 && memcmp(b, pk1, 32) == 0, "the signer is k1");
    free(b);
    CHECK(crypto_sign_verify_detached(sig, id, 32, pk1) == 0, "signature over the module id");

    /* --require-signed: refused when unsigned or untrusted, everywhere a model is loaded */
    const char *loads[][8] = {
        {"run", "registry:plain", "-i", CHAIN_INPUT, "-o", y, NULL},
        {"registry", "export", "plain", "-o", out, NULL},
        {"info", "registry:plain", NULL},
    };
    for (size_t i = 0; i < 3; i++) {
        char args[4096] = "";
        for (int j = 0; loads[i][j]; j++)
            append_quoted(args, sizeof args, loads[i][j]);
        char line[8192];
        snprintf(line, sizeof line, "%s --registry '%s'", args, db);
        cli_shell(&r, line);
        CHECK(r.status == 0, "%s without the policy: %s", loads[i][0], r.err);
        snprintf(line, sizeof line, "%s --registry '%s' --require-signed", args, db);
        unlink(out);
        unlink(y);
        cli_shell(&r, line);
        CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "plain@1 is not signed"),
              "%s: %s", loads[i][0], r.err);
        CHECK(access(out, F_OK) != 0 && access(y, F_OK) != 0, "no file written");
    }
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed");
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "not trusted"), "%s", r.err);
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed", "--trust", p2);
    CHECK(r.status == 1 && contains(r.err, "not trusted"), "another key: %s", r.err);
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed", "--trust", p2, "--trust", p1);
    CHECK(r.status == 0 && same_file(y, CHAIN_EXPECTED), "--trust k1: %s", r.err);
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed", "--trust", k1);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "public key is needed"),
          "a secret key as --trust: %s", r.err);
    CLI(&r, "run", "registry:signed", CHAIN_PARAMS, "-i", CHAIN_INPUT, "-o", y, "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "a registry model takes no params: %s", r.err);

    /* the registry's list of trusted keys */
    CLI(&r, "registry", "trust", "add", p1, "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "trusted"), "%s", r.err);
    CLI(&r, "registry", "trust", "add", p1, "--registry", db);
    CHECK(r.status == 0, "trusting twice is fine");
    CLI(&r, "registry", "trust", "list", "--json", "--registry", db);
    json_t *keys = json_loads(r.out, 0, NULL);
    char hex[65];
    to_hex(pk1, 32, hex);
    CHECK(keys && json_array_size(keys) == 1 &&
          strcmp(json_string_value(json_object_get(json_array_get(keys, 0), "public_key")), hex) ==
              0, "trust list: %s", r.out);
    json_decref(keys);
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed");
    CHECK(r.status == 0 && same_file(y, CHAIN_EXPECTED), "trusted: %s", r.err);
    CLI(&r, "registry", "export", "tfl", "-o", out, "--registry", db, "--require-signed");
    CHECK(r.status == 0 && same_file(out, compiled_hello), "%s", r.err);
    CLI(&r, "info", "registry:tfl", "--registry", db, "--require-signed", "--json");
    CHECK(r.status == 0 && contains(r.out, "\"tflite\""), "info: %s", r.err);
    CLI(&r, "registry", "show", "signed", "--registry", db);
    CHECK(contains(r.out, "signed (trusted)"), "%s", r.out);

    /* signing later; removing trust */
    CLI(&r, "registry", "sign", "plain", "--key", k2, "--registry", db);
    CHECK(r.status == 0 && contains(r.out, "signed plain@1"), "%s", r.err);
    CLI(&r, "run", "registry:plain", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed");
    CHECK(r.status == 1 && contains(r.err, "not trusted"), "%s", r.err);
    CLI(&r, "run", "registry:plain", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed", "--trust", p2);
    CHECK(r.status == 0, "%s", r.err);
    CLI(&r, "registry", "trust", "rm", p1, "--registry", db);
    CHECK(r.status == 0, "%s", r.err);
    CLI(&r, "registry", "trust", "rm", p1, "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "not in the trusted list"), "%s",
          r.err);
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db,
        "--require-signed");
    CHECK(r.status == 1, "no longer trusted");
    CLI(&r, "registry", "sign", "plain", "--key", p2, "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "secret key is needed"), "%s",
          r.err);
    CLI(&r, "registry", "sign", "plain", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "sign without --key");

    /* a signature that does not verify is refused even without the policy */
    sig[5] ^= 1;
    sql_set_blob(db, "UPDATE models SET signature = ? WHERE name = 'signed'", sig, 64);
    CLI(&r, "run", "registry:signed", "-i", CHAIN_INPUT, "-o", y, "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "signature does not verify"),
          "%s", r.err);
    CLI(&r, "registry", "show", "signed", "--json", "--registry", db);
    json_t *m = json_loads(r.out, 0, NULL);
    CHECK(r.status == 0 && m && json_is_false(json_object_get(m, "signature_valid")), "%s",
          r.out);
    json_decref(m);
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 1 && contains(r.out, "problem: model signed@1: its signature does not "
                                           "verify") &&
          contains(r.out, "1 problem"), "%s", r.out);
    free_result(&r);
}

/* ---- bad input -------------------------------------------------------------------------- */

static void test_bad_refs(void)
{
    char db[1100];
    fresh_db(db, sizeof db, "refs.db");
    detvm_registry *reg = open_db(db);
    if (!reg)
        return;
    detvm_error err = {0};
    detvm_model_add_options opt = {.name = "ok"};
    CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &opt, NULL, &err) == DETVM_OK);
    char long_name[300], long_version[120];
    memset(long_name, 'a', 200);
    long_name[200] = 0;
    snprintf(long_version, sizeof long_version, "ok@");
    memset(long_version + 3, '1', 100);
    long_version[103] = 0;
    const char *bad[] = {"", "@1", "ok@", "ok@1@2", "bad name", "-dash", ".hidden", "a:b",
                         "ok@1 ", "ok@-1", long_name, long_version, "ok@1/2", "ünï"};
    result r = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        detvm_model_record rec;
        CHECK(detvm_registry_model(reg, bad[i], &rec, &err) == DETVM_EINVALID,
              "\"%s\" refused", bad[i]);
        CLI(&r, "registry", "show", bad[i], "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err), "show \"%s\": %s", bad[i], r.err);
        char ref[400];
        snprintf(ref, sizeof ref, "registry:%s", bad[i]);
        char y[1100];
        tmp_path(y, sizeof y, "refs.out");
        CLI(&r, "run", ref, "-i", CHAIN_INPUT, "-o", y, "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err), "run \"%s\": %s", ref, r.err);
    }
    CLI(&r, "registry", "show", "ok@2", "--registry", db);
    CHECK(r.status == 1 && contains(r.err, "no model ok@2"), "%s", r.err);
    CLI(&r, "registry", "show", "missing", "--registry", db);
    CHECK(r.status == 1 && contains(r.err, "no model named missing"), "%s", r.err);

    /* names, versions and tags when adding */
    const char *bad_tags[] = {"with space", "", "tab\there"};
    for (size_t i = 0; i < 3; i++) {
        detvm_model_add_options t = {"tagged", NULL, &bad_tags[i], 1, NULL, NULL};
        CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &t, NULL, &err) ==
                  DETVM_EINVALID && contains(err.message, "tag"), "tag \"%s\"", bad_tags[i]);
    }
    const char *many[17];
    for (int i = 0; i < 17; i++)
        many[i] = "t";
    detvm_model_add_options t17 = {"tagged", NULL, many, 17, NULL, NULL};
    CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &t17, NULL, &err) ==
          DETVM_EINVALID, "17 tags");
    detvm_model_add_options nameless = {0}, bad_name = {.name = "a b"},
                            bad_version = {.name = "v", .version = "1 2"};
    CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &nameless, NULL, &err) ==
          DETVM_EINVALID);
    CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &bad_name, NULL, &err) ==
          DETVM_EINVALID);
    CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &bad_version, NULL, &err) ==
          DETVM_EINVALID);
    uint8_t wrong[64] = {1};
    detvm_model_add_options bad_key = {.name = "k", .secret_key = wrong};
    CHECK(detvm_registry_add(reg, CHAIN_SYMBOL, CHAIN_PARAMS, &bad_key, NULL, &err) ==
          DETVM_EINVALID && contains(err.message, "secret key"), "%s", err.message);
    CHECK(sql_int(db, "SELECT count(*) FROM models", 0) == 1, "nothing added");
    detvm_registry_close(reg);
    free_result(&r);
}

/* Files that are not registries are refused, and left exactly as they were. */
static void test_not_registries(void)
{
    char path[1100];
    result r = {0};
    struct {
        const char *name, *content, *expect;
        size_t len;
    } files[] = {
        {"text.db", "hello, this is text\n", "not a detvm registry", 20},
        {"random.db", NULL, "not a detvm registry", 5000},
    };
    for (size_t i = 0; i < 2; i++) {
        tmp_path(path, sizeof path, files[i].name);
        uint8_t *bytes = malloc(files[i].len);
        if (files[i].content)
            memcpy(bytes, files[i].content, files[i].len);
        else
            for (size_t j = 0; j < files[i].len; j++)
                bytes[j] = (uint8_t)(j * 2654435761u >> 13);
        FILE *f = fopen(path, "wb");
        fwrite(bytes, 1, files[i].len, f);
        fclose(f);
        const char *cmds[][3] = {{"list", NULL}, {"check", NULL}, {"runs", NULL}};
        for (int c = 0; c < 3; c++) {
            CLI(&r, "registry", cmds[c][0], "--registry", path);
            CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, files[i].expect),
                  "%s %s: %s", files[i].name, cmds[c][0], r.err);
        }
        CLI(&r, "audit", "--all", "--registry", path);
        CHECK(r.status == 1 && one_line_message(r.err), "audit: %s", r.err);
        char y[1100];
        tmp_path(y, sizeof y, "not_registries.out");
        CLI(&r, "run", CHAIN_SYMBOL, CHAIN_PARAMS, "-i", CHAIN_INPUT, "-o", y, "--record",
            "--registry", path);
        CHECK(r.status == 1 && one_line_message(r.err), "run --record into a non-registry: %s", r.err);
        CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "x", "--registry", path);
        size_t n = 0;
        uint8_t *after = read_file(path, &n);
        CHECK(r.status == 1 && after && n == files[i].len && memcmp(after, bytes, n) == 0,
              "%s left untouched", files[i].name);
        free(after);
        free(bytes);
        char wal[1200];
        snprintf(wal, sizeof wal, "%s-wal", path);
        CHECK(access(wal, F_OK) != 0, "no WAL made beside it");
    }

    /* another program's database */
    tmp_path(path, sizeof path, "foreign.db");
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "CREATE TABLE notes (x); INSERT INTO notes VALUES (1)", NULL, NULL, NULL);
    sqlite3_close(db);
    size_t n0 = 0, n1 = 0;
    uint8_t *before = read_file(path, &n0);
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "x", "--registry", path);
    uint8_t *after = read_file(path, &n1);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "another program"), "%s", r.err);
    CHECK(before && after && n0 == n1 && memcmp(before, after, n0) == 0, "foreign.db untouched");
    free(before);
    free(after);
    sql_exec(path, "PRAGMA application_id = 1234");
    CLI(&r, "registry", "list", "--registry", path);
    CHECK(r.status == 1 && contains(r.err, "application id"), "%s", r.err);

    /* a registry from a newer detvm */
    tmp_path(path, sizeof path, "newer.db");
    CLI(&r, "registry", "list", "--registry", path);
    CHECK(r.status == 0, "%s", r.err);
    sql_exec(path, "PRAGMA user_version = 99");
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "x", "--registry", path);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "schema version 99"), "%s", r.err);
    CHECK(sql_int(path, "PRAGMA user_version", 0) == 99 &&
          sql_int(path, "SELECT count(*) FROM models", -1) == 0, "left as it was");

    /* a folder, an empty file (a new registry), a path through a file */
    tmp_path(path, sizeof path, "");
    CLI(&r, "registry", "list", "--registry", path);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "not a regular file"), "%s", r.err);
    tmp_path(path, sizeof path, "empty.db");
    fclose(fopen(path, "wb"));
    CLI(&r, "registry", "list", "--registry", path);
    CHECK(r.status == 0 && sql_int(path, "PRAGMA user_version", 0) == 3, "an empty file: %s",
          r.err);
    char through[1200];
    snprintf(through, sizeof through, "%s/inner.db", path);
    CLI(&r, "registry", "list", "--registry", through);
    CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, "not a folder"), "%s", r.err);
    CLI(&r, "registry", "list", "--registry", "");
    CHECK(r.status == 1 && one_line_message(r.err), "an empty path: %s", r.err);
    free_result(&r);
}

/* Pages overwritten or cut off: every command gives one line or a result, never a crash. */
static void test_corrupt(void)
{
    char db[1100], y[1100];
    tmp_path(y, sizeof y, "corrupt.out");
    for (int how = 0; how < 4; how++) {
        fresh_db(db, sizeof db, "corrupt.db");
        result r = {0};
        CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "chain", "--registry",
            db);
        CLI(&r, "registry", "add", HELLO_MODEL, "--name", "hello", "--registry", db);
        for (int i = 0; i < 6; i++)
            CLI(&r, "run", "registry:chain", "-i", CHAIN_INPUT, "-o", y, "--record",
                "--store-input", "--registry", db);
        CHECK(r.status == 0, "%s", r.err);
        /* closing leaves the WAL: move everything into the file that gets damaged */
        CHECK(sql_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") == 0, "checkpoint");
        size_t n = 0;
        uint8_t *bytes = read_file(db, &n);
        CHECK(bytes && n > 8 * 4096, "a database of %zu bytes", n);
        if (!bytes || n <= 8 * 4096) {
            free(bytes);
            continue;
        }
        /* 0, 1: garbage over one page, then another; 2: truncated; 3: the header's page size */
        if (how <= 1)
            for (size_t i = 0; i < 4096; i++)
                bytes[(how ? 5 : 2) * 4096 + i] = (uint8_t)(i * 131 + 7);
        if (how == 3)
            bytes[16] = 0x33;
        size_t len = how == 2 ? n / 2 + 100 : n;
        FILE *f = fopen(db, "wb");
        fwrite(bytes, 1, len, f);
        fclose(f);
        free(bytes);
        const char *cmds[][6] = {
            {"registry", "check", NULL},   {"registry", "list", NULL},
            {"registry", "runs", NULL},    {"registry", "show", "chain", NULL},
            {"audit", "--all", NULL},      {"registry", "export", "chain", "-o", y, NULL},
        };
        for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
            char args[4096] = "";
            for (int j = 0; cmds[c][j]; j++)
                append_quoted(args, sizeof args, cmds[c][j]);
            char line[8192];
            snprintf(line, sizeof line, "%s --registry '%s'", args, db);
            cli_shell(&r, line);
            CHECK(r.status >= 0 && r.status <= 2, "corruption %d, %s %s: exit %d", how,
                  cmds[c][0], cmds[c][1], r.status);
            CHECK(r.err[0] == 0 || one_line_message(r.err), "corruption %d, %s %s: %s", how, cmds[c][0],
                  cmds[c][1], r.err);
            if (c == 0)
                CHECK(r.status != 0, "check finds corruption %d: %s", how, r.out);
        }
        free_result(&r);
    }
}

/* Module bytes changed in the database: refused wherever loaded, found by check. */
static void test_hostile_module(void)
{
    char db[1100], y[1100];
    fresh_db(db, sizeof db, "hostile.db");
    tmp_path(y, sizeof y, "hostile.out");
    result r = {0};
    CLI(&r, "registry", "add", CHAIN_SYMBOL, CHAIN_PARAMS, "--name", "chain", "--registry", db);
    size_t n = 0;
    uint8_t *good = read_file(compiled_chain, &n);
    if (!good || n < 200) {
        CHECK(0, "compiled module");
        free(good);
        return;
    }
    uint8_t *bad = malloc(n);
    for (int variant = 0; variant < 5; variant++) {
        memcpy(bad, good, n);
        size_t len = n;
        const char *expect = "does not load";
        if (variant == 0) {
            bad[n - 1] ^= 0x40;          /* within the last section: its CRC catches it */
        } else if (variant == 1) {
            len = 100;                   /* truncated */
        } else if (variant == 2) {
            for (size_t i = 0; i < n; i++)
                bad[i] = (uint8_t)(i * 2654435761u >> 11);
        } else if (variant == 3) {
            len = 0;
        } else {
            /* a different valid module under chain's id */
            free(bad);
            bad = read_file(compiled_hello, &len);
            expect = "its bytes were changed";
        }
        sql_set_blob(db, "UPDATE modules SET bytes = ?", bad, len);
        CLI(&r, "registry", "export", "chain", "-o", y, "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, expect), "variant %d: %s",
              variant, r.err);
        CHECK(access(y, F_OK) != 0, "variant %d: nothing exported", variant);
        CLI(&r, "run", "registry:chain", "-i", CHAIN_INPUT, "-o", y, "--registry", db);
        CHECK(r.status == 1 && one_line_message(r.err) && contains(r.err, expect), "variant %d: %s",
              variant, r.err);
        CLI(&r, "registry", "check", "--registry", db);
        CHECK(r.status == 1 && contains(r.out, expect), "variant %d: %s", variant, r.out);
    }
    free(bad);
    sql_set_blob(db, "UPDATE modules SET bytes = ?", good, n);
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 0, "restored: %s", r.out);
    /* a row pointing at no module (written with foreign keys off, as sqlite3 does) */
    sql_exec(db, "INSERT INTO models (name, version, module_id, given_format, created) "
                 "VALUES ('ghost', '1', zeroblob(32), 'cvm', 0)");
    CLI(&r, "registry", "check", "--json", "--registry", db);
    json_t *doc = json_loads(r.out, 0, NULL);
    json_t *problems = json_object_get(doc, "problems");
    CHECK(r.status == 1 && doc && json_is_false(json_object_get(doc, "ok")) &&
          json_array_size(problems) >= 1 &&
          contains(json_string_value(json_array_get(problems, 0)), "foreign key"),
          "%s", r.out);
    json_decref(doc);
    CLI(&r, "registry", "show", "ghost", "--registry", db);
    CHECK(r.status == 1 && one_line_message(r.err), "%s", r.err);
    free(good);
    free_result(&r);
}

int main(void)
{
    if (registry_test_setup("registry") != 0)
        return check_summary("test_registry");

    tmp_path(compiled_chain, sizeof compiled_chain, "chain.dvm");
    tmp_path(compiled_hello, sizeof compiled_hello, "hello.dvm");
    tmp_path(compiled_single, sizeof compiled_single, "hello_single.dvm");
    result r = {0};
    CLI(&r, "compile", CHAIN_SYMBOL, CHAIN_PARAMS, "-o", compiled_chain);
    CLI(&r, "compile", HELLO_MODEL, "-o", compiled_hello);
    CLI(&r, "compile", HELLO_MODEL, "--rounding", "single", "-o", compiled_single);
    CHECK(r.status == 0, "compile: %s", r.err);
    free_result(&r);

    test_schema();
    test_migrations();
    test_default_path();
    test_add();
    test_versions();
    test_list_show_export_rm();
    test_trust();
    test_bad_refs();
    test_not_registries();
    test_corrupt();
    test_hostile_module();

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/nested'", tmp_dir);
    CHECK(system(cmd) == 0);
    remove_tmp_dir();
    return check_summary("test_registry");
}
