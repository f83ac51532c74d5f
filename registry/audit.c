/* Audits: running recorded runs again from their stored inputs and comparing the replay with the
 * record bit for bit (output hash, trace root, every step's output hash), naming the first
 * instruction that diverges, and recording each audit. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../vm/error.h"
#include "registry.h"

/* The module of the previous run, kept for the next one: runs of one model follow one
 * another in id order. */
typedef struct {
    int loaded;
    uint8_t id[32];
    uint8_t *bytes;
    size_t len;
    detvm_module *module;
    detvm_session *session;
    detvm_trace_mode mode;
    uint8_t *output;
    uint64_t output_len;
} module_cache;

static void cache_clear(module_cache *c)
{
    detvm_session_free(c->session);
    detvm_module_free(c->module);
    free(c->bytes);
    free(c->output);
    memset(c, 0, sizeof *c);
}

/* One run's row, as the audit needs it. */
typedef struct {
    char model[DETVM_REGISTRY_NAME_MAX + 1], version[DETVM_REGISTRY_VERSION_MAX + 1];
    uint8_t module_id[32], input_hash[32], output_hash[32], root[DETVM_DIGEST_MAX];
    uint64_t input_len, output_len, gas;
    detvm_trace_mode mode;
    uint32_t steps;
    int whole;                  /* every fixed-size field has its size */
    uint8_t *receipt, *digests, *input;
    size_t receipt_len, digests_len, input_stored_len;
    int has_input;
} run_row;

static void run_row_free(run_row *row)
{
    free(row->receipt);
    free(row->digests);
    free(row->input);
}

static uint8_t *column_copy(sqlite3_stmt *st, int col, size_t *len)
{
    *len = (size_t)sqlite3_column_bytes(st, col);
    const void *p = sqlite3_column_blob(st, col);
    uint8_t *copy = malloc(*len + 1);
    if (copy && *len)
        memcpy(copy, p, *len);
    return copy;
}

static detvm_status read_row(detvm_registry *r, int64_t id, run_row *row, detvm_error *err)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *st;
    if (reg_prepare(r,
                    "SELECT model, version, module_id, input_hash, input_len, output_hash, "
                    "output_len, trace_mode, steps, trace_root, gas, receipt, trace_digests, "
                    "input FROM runs WHERE id = ?",
                    &st, "reading a run", err))
        return err->status;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? reg_fail(r, err, DETVM_EINVALID, "no run %lld", (long long)id)
                                 : reg_sql_fail(r, err, "reading a run");
    }
    reg_column_text(st, 0, row->model, sizeof row->model);
    reg_column_text(st, 1, row->version, sizeof row->version);
    int mode = sqlite3_column_int(st, 7);
    row->mode = mode == DETVM_TRACE_SECURE ? DETVM_TRACE_SECURE : DETVM_TRACE_FAST;
    row->whole = (mode == DETVM_TRACE_FAST || mode == DETVM_TRACE_SECURE) &
                 reg_column_blob(st, 2, row->module_id, 32) &
                 reg_column_blob(st, 3, row->input_hash, 32) &
                 reg_column_blob(st, 5, row->output_hash, 32) &
                 reg_column_blob(st, 9, row->root, detvm_trace_digest_len(row->mode));
    row->input_len = (uint64_t)sqlite3_column_int64(st, 4);
    row->output_len = (uint64_t)sqlite3_column_int64(st, 6);
    row->steps = (uint32_t)sqlite3_column_int64(st, 8);
    row->gas = (uint64_t)sqlite3_column_int64(st, 10);
    row->receipt = column_copy(st, 11, &row->receipt_len);
    row->digests = column_copy(st, 12, &row->digests_len);
    row->has_input = sqlite3_column_type(st, 13) != SQLITE_NULL;
    row->input = column_copy(st, 13, &row->input_stored_len);
    sqlite3_finalize(st);
    if (!row->receipt || !row->digests || !row->input) {
        run_row_free(row);
        return reg_fail(r, err, DETVM_ERUNTIME, "run %lld: out of memory", (long long)id);
    }
    return DETVM_OK;
}

/* What one audit found. */
typedef struct {
    detvm_audit_result result;
    int64_t step;
    char op[64], layer[128], message[512];
} finding;

static void say(finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(finding *f, const char *fmt, ...)
{
    size_t used = strlen(f->message);
    if (used >= sizeof f->message - 1)
        return;
    if (used)
        used += (size_t)snprintf(f->message + used, sizeof f->message - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message + used, sizeof f->message - used, fmt, ap);
    va_end(ap);
}

/* Loads the run's module under the trust policy into the cache. */
static int load_module(detvm_registry *r, const run_row *row, module_cache *c, finding *f)
{
    if (c->loaded && memcmp(c->id, row->module_id, 32) == 0)
        return 0;
    cache_clear(c);
    detvm_error err = {0};
    /* An audit judges the bytes: any model version holding the module may vouch for it, and a
     * broken signature on any of them refuses it. */
    detvm_status st = reg_policy_check(r, row->module_id, NULL, &err);
    if (!st)
        st = reg_module_bytes(r, row->module_id, &c->bytes, &c->len, &c->module, &err);
    detvm_module_info info;
    if (!st) {
        detvm_module_get_info(c->module, &info);
        c->output_len = info.output_len;
        c->output = malloc(info.output_len + 1);
        st = c->output ? detvm_session_new(c->module, &c->session, &err)
                       : dv_fail(&err, DETVM_ERUNTIME, "out of memory");
    }
    if (st) {
        cache_clear(c);
        f->result = DETVM_AUDIT_FAILED;
        say(f, "%s", err.message);
        return -1;
    }
    memcpy(c->id, row->module_id, 32);
    c->loaded = 1;
    return 0;
}

/* The replay against the record: the first step whose output hash differs, then the steps,
 * the root and the output hash. */
static void compare(const run_row *row, module_cache *c, const detvm_trace *t,
                    const uint8_t out_hash[32], finding *f)
{
    uint32_t dlen = t->digest_len;
    uint32_t recorded_steps = row->digests_len % dlen == 0 ? (uint32_t)(row->digests_len / dlen)
                                                           : 0;
    uint32_t n = recorded_steps < t->n_steps ? recorded_steps : t->n_steps;
    for (uint32_t k = 0; k < n; k++) {
        if (memcmp(row->digests + (size_t)k * dlen, t->output_hashes + (size_t)k * dlen, dlen))
        {
            detvm_layer_desc l;
            f->step = k;
            if (detvm_module_layer(c->module, k, &l, NULL) == DETVM_OK) {
                snprintf(f->op, sizeof f->op, "%s", l.op);
                snprintf(f->layer, sizeof f->layer, "%s", l.name);
            }
            say(f, "step %u (%s %s) gives another output hash than recorded", k, f->op,
                f->layer);
            break;
        }
    }
    if (row->steps != t->n_steps || recorded_steps != t->n_steps)
        say(f, "the replay has %u steps, the record %u (%u step hashes)", t->n_steps, row->steps,
            recorded_steps);
    int root_differs = memcmp(row->root, t->root, dlen) != 0;
    int output_differs = memcmp(row->output_hash, out_hash, 32) != 0 ||
                         row->output_len != c->output_len;
    if (root_differs)
        say(f, "the trace root differs");
    if (output_differs)
        say(f, "the output hash differs");
    if (f->step < 0 && f->message[0] && !(row->steps != t->n_steps))
        say(f, "every step's output hash matches the record");
    if (f->message[0])
        f->result = DETVM_AUDIT_DIVERGED;
}

/* The record against its own receipt, which the replay did not contradict. */
static void check_receipt(const run_row *row, finding *f)
{
    detvm_receipt rc;
    detvm_error err = {0};
    if (detvm_receipt_verify(row->receipt, row->receipt_len, NULL, &rc, &err)) {
        f->result = DETVM_AUDIT_FAILED;
        say(f, "the stored receipt is refused: %s", err.message);
        return;
    }
    const char *field = memcmp(rc.module_id, row->module_id, 32)     ? "module id"
                        : memcmp(rc.input_hash, row->input_hash, 32)   ? "input hash"
                        : memcmp(rc.output_hash, row->output_hash, 32) ? "output hash"
                        : rc.mode != row->mode                         ? "trace mode"
                        : rc.n_steps != row->steps                     ? "steps"
                        : memcmp(rc.trace_root, row->root, detvm_trace_digest_len(row->mode))
                            ? "trace root"
                        : rc.gas != row->gas ? "gas"
                                             : NULL;
    if (field) {
        f->result = DETVM_AUDIT_FAILED;
        say(f, "the receipt's %s is not the record's", field);
    }
}

static void audit_run(detvm_registry *r, const run_row *row, module_cache *c, finding *f)
{
    memset(f, 0, sizeof *f);
    f->step = -1;
    if (!row->has_input) {
        f->result = DETVM_AUDIT_SKIPPED;
        say(f, "no stored input (record with --store-input)");
        return;
    }
    uint8_t hash[32];
    crypto_generichash(hash, 32, row->input, row->input_stored_len, NULL, 0);
    if (!row->whole || row->input_stored_len != row->input_len ||
        memcmp(hash, row->input_hash, 32) != 0) {
        f->result = DETVM_AUDIT_FAILED;
        say(f, row->whole ? "the stored input does not hash to the recorded input hash"
                          : "the record has a field of the wrong size");
        return;
    }
    if (load_module(r, row, c, f))
        return;
    detvm_error err = {0};
    detvm_trace t;
    if ((c->mode != row->mode && detvm_session_set_trace(c->session, row->mode, &err)) ||
        detvm_run(c->session, row->input, row->input_stored_len, c->output, c->output_len,
                  &err) ||
        detvm_session_trace(c->session, &t, &err)) {
        c->mode = DETVM_TRACE_OFF;
        f->result = DETVM_AUDIT_FAILED;
        say(f, "the replay failed: %s", err.message);
        return;
    }
    c->mode = row->mode;
    crypto_generichash(hash, 32, c->output, c->output_len, NULL, 0);
    compare(row, c, &t, hash, f);
    if (f->result == DETVM_AUDIT_DIVERGED) {
        /* Which side moved: a receipt that agrees with the replay means the record changed. */
        detvm_receipt rc;
        if (detvm_receipt_verify(row->receipt, row->receipt_len, NULL, &rc, NULL) == DETVM_OK &&
            memcmp(rc.output_hash, hash, 32) == 0 &&
            memcmp(rc.trace_root, t.root, t.digest_len) == 0)
            say(f, "the signed receipt agrees with the replay, so the record was changed");
        return;
    }
    check_receipt(row, f);
    if (!f->message[0])
        say(f, "output hash, trace root and all %u step hashes match", t.n_steps);
}

static const char *result_name(detvm_audit_result result)
{
    static const char *names[] = {"reproduced", "diverged", "failed", "skipped"};
    return names[result];
}

static detvm_status record_audit(detvm_registry *r, int64_t run_id, int64_t started,
                                 int64_t duration, const finding *f, int64_t *audit_id,
                                 detvm_error *err)
{
    sqlite3_stmt *st;
    if (reg_begin(r, err))
        return err->status;
    if (reg_prepare(r,
                    "INSERT INTO audits (run_id, started, duration_ns, result, step, op, layer, "
                    "message, engine_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    &st, "recording an audit", err)) {
        reg_rollback(r);
        return err->status;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, started);
    sqlite3_bind_int64(st, 3, duration);
    sqlite3_bind_text(st, 4, result_name(f->result), -1, SQLITE_STATIC);
    if (f->step >= 0) {
        sqlite3_bind_int64(st, 5, f->step);
        sqlite3_bind_text(st, 6, f->op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, f->layer, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 8, f->message, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, DETVM_VERSION, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        detvm_status s = reg_sql_fail(r, err, "recording an audit");
        reg_rollback(r);
        return s;
    }
    *audit_id = sqlite3_last_insert_rowid(r->db);
    return reg_commit(r, err);
}

/* The ids of the selected runs, in order. */
static detvm_status select_runs(detvm_registry *r, const detvm_audit_selection *sel,
                                int64_t **ids, uint64_t *n, detvm_error *err)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT id FROM runs WHERE 1%s%s%s ORDER BY id",
             sel->model ? " AND model = ?1" : "", sel->run_id ? " AND id = ?2" : "",
             sel->shard_count ? " AND id % ?3 = ?4" : "");
    if (reg_prepare(r, sql, &st, "selecting runs", err))
        return err->status;
    if (sel->model)
        sqlite3_bind_text(st, 1, sel->model, -1, SQLITE_STATIC);
    if (sel->run_id)
        sqlite3_bind_int64(st, 2, sel->run_id);
    if (sel->shard_count) {
        sqlite3_bind_int64(st, 3, sel->shard_count);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)sel->shard - 1);
    }
    uint64_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            int64_t *p = realloc(*ids, cap * sizeof *p);
            if (!p) {
                sqlite3_finalize(st);
                free(*ids);
                *ids = NULL;
                return reg_fail(r, err, DETVM_ERUNTIME, "selecting runs: out of memory");
            }
            *ids = p;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*ids);
        *ids = NULL;
        return reg_sql_fail(r, err, "selecting runs");
    }
    return DETVM_OK;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

detvm_status detvm_registry_audit(detvm_registry *r, const detvm_audit_selection *select,
                                  detvm_audit_fn fn, void *user, detvm_audit_summary *summary,
                                  detvm_error *err)
{
    REG_NEED_ERR(err);
    detvm_audit_summary sum = {0};
    if (summary)
        *summary = sum;
    detvm_audit_selection sel = {0};
    if (select)
        sel = *select;
    if (sel.model && reg_check_name(sel.model, err))
        return err->status;
    if (sel.run_id < 0)
        return reg_fail(r, err, DETVM_EINVALID, "audit: run id %lld is negative",
                        (long long)sel.run_id);
    if (sel.shard_count == 0 ? sel.shard != 0 : sel.shard < 1 || sel.shard > sel.shard_count)
        return reg_fail(r, err, DETVM_EINVALID,
                        "audit: shard %u of %u (shards count from 1 to their number)", sel.shard,
                        sel.shard_count);
    int64_t *ids;
    uint64_t n;
    if (select_runs(r, &sel, &ids, &n, err))
        return err->status;
    if (sel.run_id && n == 0 && !sel.shard_count && !sel.model) {
        free(ids);
        return reg_fail(r, err, DETVM_EINVALID, "no run %lld", (long long)sel.run_id);
    }
    sum.selected = n;
    module_cache cache = {0};
    detvm_status status = DETVM_OK;
    for (uint64_t i = 0; i < n && !status; i++) {
        run_row row;
        finding f;
        int64_t started = reg_now_ns(), t0 = monotonic_ns(), audit_id = 0;
        if ((status = read_row(r, ids[i], &row, err)))
            break;
        audit_run(r, &row, &cache, &f);
        if (f.result != DETVM_AUDIT_SKIPPED)
            status = record_audit(r, ids[i], started, monotonic_ns() - t0, &f, &audit_id, err);
        if (!status) {
            sum.audited += f.result != DETVM_AUDIT_SKIPPED;
            sum.reproduced += f.result == DETVM_AUDIT_REPRODUCED;
            sum.diverged += f.result == DETVM_AUDIT_DIVERGED;
            sum.failed += f.result == DETVM_AUDIT_FAILED;
            sum.skipped += f.result == DETVM_AUDIT_SKIPPED;
            detvm_audit_outcome o = {ids[i], audit_id, row.model, row.version, f.result, f.step,
                                     f.op, f.layer, f.message, i + 1, n};
            if (fn)
                fn(user, &o);
        }
        run_row_free(&row);
    }
    cache_clear(&cache);
    free(ids);
    if (summary)
        *summary = sum;
    return status;
}
