/* detvm registry check: SQLite's own integrity and foreign key checks, then every stored module
 * loaded and hashed again, every model signature and run receipt verified, and every run's
 * record compared with its receipt and its stored input. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm/error.h"
#include "registry.h"

typedef struct {
    detvm_registry *r;
    detvm_problem_fn fn;
    void *user;
    detvm_check_summary sum;
    char first[200];
} checker;

static void problem(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(checker *c, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dv_one_line(line);
    if (c->sum.problems++ == 0) {
        size_t n = strlen(line) < sizeof c->first ? strlen(line) : sizeof c->first - 1;
        memcpy(c->first, line, n);
        c->first[n] = 0;
    }
    if (c->fn)
        c->fn(c->user, line);
}

/* Runs a query, calling row() for each row; an SQLite error becomes a problem. */
static void each_row(checker *c, const char *sql, const char *what,
                     void (*row)(checker *, sqlite3_stmt *))
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        problem(c, "%s: %s", what, sqlite3_errmsg(c->r->db));
        return;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        row(c, st);
    if (rc != SQLITE_DONE)
        problem(c, "%s: %s", what, sqlite3_errmsg(c->r->db));
    sqlite3_finalize(st);
}

/* integrity_check gives "ok", or lines of findings (one row may hold several lines). */
static void integrity_row(checker *c, sqlite3_stmt *st)
{
    const char *text = (const char *)sqlite3_column_text(st, 0);
    if (!text) {
        problem(c, "integrity: (no text)");
        return;
    }
    if (strcmp(text, "ok") == 0)
        return;
    while (*text) {
        size_t n = strcspn(text, "\n");
        if (n && strncmp(text, "*** in database", 15) != 0)
            problem(c, "integrity: %.*s", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

static void foreign_key_row(checker *c, sqlite3_stmt *st)
{
    problem(c, "foreign key: %s row %lld refers to a missing %s row",
            (const char *)sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1),
            (const char *)sqlite3_column_text(st, 2));
}

static void module_row(checker *c, sqlite3_stmt *st)
{
    c->sum.modules++;
    uint8_t want[32], got[32];
    char hex[65];
    if (!reg_column_blob(st, 0, want, 32)) {
        problem(c, "module row with an id of %d bytes", sqlite3_column_bytes(st, 0));
        return;
    }
    reg_hex(want, 32, hex);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    const uint8_t *bytes = sqlite3_column_blob(st, 2);
    if ((uint64_t)sqlite3_column_int64(st, 1) != len)
        problem(c, "module %.16s...: %zu bytes stored, %lld recorded", hex, len,
                (long long)sqlite3_column_int64(st, 1));
    detvm_module *m = NULL;
    detvm_error err = {0};
    if (detvm_module_load(bytes ? bytes : (const uint8_t *)"", len, &m, &err)) {
        problem(c, "module %.16s... does not load: %s", hex, err.message);
        return;
    }
    detvm_module_id(m, got);
    detvm_module_free(m);
    if (memcmp(want, got, 32) != 0) {
        char got_hex[65];
        reg_hex(got, 32, got_hex);
        problem(c, "module %.16s... hashes to %.16s...: its bytes were changed", hex, got_hex);
    }
}

static void model_row(checker *c, sqlite3_stmt *st)
{
    c->sum.models++;
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *version = (const char *)sqlite3_column_text(st, 1);
    detvm_error err = {0};
    if (!name || !version || reg_check_name(name, &err) || reg_check_version(version, &err)) {
        problem(c, "model row %lld: %s", (long long)sqlite3_column_int64(st, 5),
                err.message[0] ? err.message : "no name or version");
        return;
    }
    uint8_t id[32], signer[32], signature[64];
    int has_id = reg_column_blob(st, 2, id, 32);
    if (sqlite3_column_type(st, 3) == SQLITE_NULL && sqlite3_column_type(st, 4) == SQLITE_NULL)
        return;
    int whole = reg_column_blob(st, 3, signer, 32) & reg_column_blob(st, 4, signature, 64);
    if (!has_id || !whole || !reg_signature_valid(id, signer, signature))
        problem(c, "model %s@%s: its signature does not verify over its module id", name,
                version);
}

static void run_row(checker *c, sqlite3_stmt *st)
{
    c->sum.runs++;
    long long id = (long long)sqlite3_column_int64(st, 0);
    detvm_receipt rc;
    detvm_error err = {0};
    const uint8_t *receipt = sqlite3_column_blob(st, 11);
    size_t receipt_len = (size_t)sqlite3_column_bytes(st, 11);
    if (detvm_receipt_verify(receipt ? receipt : (const uint8_t *)"", receipt_len, NULL, &rc,
                             &err)) {
        problem(c, "run %lld: %s", id, err.message);
        return;
    }
    uint8_t module_id[32], input_hash[32], output_hash[32], root[32], signer[32];
    int mode = sqlite3_column_int(st, 6);
    uint32_t dlen = detvm_trace_digest_len((detvm_trace_mode)mode);
    int whole = dlen && (reg_column_blob(st, 1, module_id, 32) &
                         reg_column_blob(st, 2, input_hash, 32) &
                         reg_column_blob(st, 4, output_hash, 32) &
                         reg_column_blob(st, 8, root, dlen) & reg_column_blob(st, 10, signer, 32));
    uint32_t steps = (uint32_t)sqlite3_column_int64(st, 7);
    const char *field = !whole                                      ? "field sizes"
                        : memcmp(rc.module_id, module_id, 32)       ? "module id"
                        : memcmp(rc.input_hash, input_hash, 32)     ? "input hash"
                        : memcmp(rc.output_hash, output_hash, 32)   ? "output hash"
                        : (int)rc.mode != mode                      ? "trace mode"
                        : rc.n_steps != steps                       ? "steps"
                        : memcmp(rc.trace_root, root, dlen)         ? "trace root"
                        : rc.gas != (uint64_t)sqlite3_column_int64(st, 9) ? "gas"
                        : memcmp(rc.signer, signer, 32)             ? "signer"
                                                                    : NULL;
    if (field) {
        problem(c, "run %lld: its receipt's %s is not the record's", id, field);
        return;
    }
    if ((uint64_t)sqlite3_column_int64(st, 12) != (uint64_t)steps * dlen)
        problem(c, "run %lld: %lld bytes of step hashes for %u steps", id,
                (long long)sqlite3_column_int64(st, 12), steps);
    if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
        size_t len = (size_t)sqlite3_column_bytes(st, 13);
        const void *input = sqlite3_column_blob(st, 13);
        uint8_t hash[32];
        crypto_generichash(hash, 32, input, len, NULL, 0);
        if (len != (uint64_t)sqlite3_column_int64(st, 3) || memcmp(hash, input_hash, 32) != 0)
            problem(c, "run %lld: the stored input does not hash to the recorded input hash", id);
    }
}

static void audit_row(checker *c, sqlite3_stmt *st)
{
    c->sum.audits++;
}

detvm_status detvm_registry_check(detvm_registry *r, detvm_problem_fn fn, void *user,
                                  detvm_check_summary *summary, detvm_error *err)
{
    REG_NEED_ERR(err);
    checker c = {r, fn, user, {0}, ""};
    if (summary)
        memset(summary, 0, sizeof *summary);
    /* One read transaction: every check sees the same state while writers go on. */
    if (reg_exec(r, "BEGIN", "checking", err))
        return err->status;
    each_row(&c, "PRAGMA integrity_check", "integrity check", integrity_row);
    each_row(&c, "PRAGMA foreign_key_check", "foreign key check", foreign_key_row);
    each_row(&c, "SELECT id, size, bytes FROM modules ORDER BY id", "reading modules",
             module_row);
    each_row(&c,
             "SELECT name, version, module_id, signer, signature, id FROM models ORDER BY id",
             "reading models", model_row);
    each_row(&c,
             "SELECT id, module_id, input_hash, input_len, output_hash, output_len, trace_mode, "
             "steps, trace_root, gas, signer, receipt, length(trace_digests), input FROM runs "
             "ORDER BY id",
             "reading runs", run_row);
    each_row(&c, "SELECT id FROM audits", "reading audits", audit_row);
    reg_rollback(r);
    if (summary)
        *summary = c.sum;
    if (c.sum.problems)
        return reg_fail(r, err, DETVM_EINVALID, "%llu problem%s, the first: %s",
                        (unsigned long long)c.sum.problems, c.sum.problems == 1 ? "" : "s",
                        c.first);
    return DETVM_OK;
}
