/* Recorded runs: the registry's own receipt key, recording a traced run with its receipt, and
 * listing runs. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vm/error.h"
#include "../vm/module.h"
#include "../vm/session.h"
#include "registry.h"

/* ---- the registry's receipt key --------------------------------------------------------- */

/* Writes `text` to a new file at `path` with `mode`, whole or not at all: into a temporary
 * file first, then link(2), which fails when another process got there first (EEXIST, and
 * then its file is the one to use). */
static int write_new_file(const char *path, const char *text, mode_t mode)
{
    if (detvm_write_file(path, text, strlen(text), (unsigned)mode, 1, NULL))
        return errno ? errno : EIO;
    return 0;
}

/* The key that signs receipts recorded without a key of their own: FILE.key (mode 0600) and
 * FILE.key.pub beside the database, made the first time one is needed. */
static detvm_status own_key(detvm_registry *r, const uint8_t **key, detvm_error *err)
{
    if (r->have_own_key) {
        *key = r->own_key;
        return DETVM_OK;
    }
    size_t n = strlen(r->path);
    char *path = malloc(n + 16), *pub = malloc(n + 16);
    if (!path || !pub) {
        free(path);
        free(pub);
        return reg_fail(r, err, DETVM_ERUNTIME, "receipt key: out of memory");
    }
    snprintf(path, n + 16, "%s.key", r->path);
    snprintf(pub, n + 16, "%s.key.pub", r->path);
    detvm_status st = DETVM_OK;
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        uint8_t pk[DETVM_PUBLIC_KEY_BYTES], sk[DETVM_SECRET_KEY_BYTES];
        char text[DETVM_KEY_TEXT_MAX];
        if (!(st = detvm_keygen(pk, sk, err))) {
            detvm_secret_key_text(sk, text);
            int e = write_new_file(path, text, 0600);
            if (e == 0) {
                detvm_public_key_text(pk, text);
                write_new_file(pub, text, 0644); /* a convenience copy; the secret holds it */
            } else if (e != EEXIST) {
                st = reg_fail(r, err, DETVM_ERUNTIME, "receipt key %s: %s", path, strerror(e));
            }
        }
        sodium_memzero(sk, sizeof sk);
        sodium_memzero(text, sizeof text);
    }
    if (!st)
        st = detvm_secret_key_read(path, r->own_key, err);
    free(path);
    free(pub);
    if (st)
        return st;
    r->have_own_key = 1;
    *key = r->own_key;
    return DETVM_OK;
}

/* ---- recording ---------------------------------------------------------------------------- */

static void join_names(char *dst, size_t cap, uint32_t n,
                       const char names[][DETVM_RECEIPT_NAME_MAX + 1])
{
    dst[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t used = strlen(dst);
        snprintf(dst + used, cap - used, "%s%s", i ? "," : "", names[i]);
    }
}

/* The model the run is recorded under: the one given (which must hold this module), or the
 * latest model version holding the module, or none. */
static detvm_status run_model(detvm_registry *r, const detvm_record_options *opt,
                              const uint8_t id[32], char *model, char *version,
                              detvm_error *err)
{
    sqlite3_stmt *st;
    model[0] = version[0] = 0;
    if (opt->model) {
        if (reg_prepare(r, "SELECT module_id FROM models WHERE name = ? AND version = ?", &st,
                        "recording a run", err))
            return err->status;
        sqlite3_bind_text(st, 1, opt->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, opt->version, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        uint8_t held[32];
        int same = rc == SQLITE_ROW && reg_column_blob(st, 0, held, 32) &&
                   memcmp(held, id, 32) == 0;
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return reg_fail(r, err, DETVM_EINVALID, "recording a run: no model %s@%s",
                            opt->model, opt->version);
        if (rc != SQLITE_ROW)
            return reg_sql_fail(r, err, "recording a run");
        if (!same)
            return reg_fail(r, err, DETVM_EINVALID,
                            "recording a run: the session's module is not model %s@%s's",
                            opt->model, opt->version);
        snprintf(model, DETVM_REGISTRY_NAME_MAX + 1, "%s", opt->model);
        snprintf(version, DETVM_REGISTRY_VERSION_MAX + 1, "%s", opt->version);
        return DETVM_OK;
    }
    if (reg_prepare(r,
                    "SELECT name, version FROM models WHERE module_id = ? ORDER BY id DESC "
                    "LIMIT 1",
                    &st, "recording a run", err))
        return err->status;
    sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        reg_column_text(st, 0, model, DETVM_REGISTRY_NAME_MAX + 1);
        reg_column_text(st, 1, version, DETVM_REGISTRY_VERSION_MAX + 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? DETVM_OK
                                                 : reg_sql_fail(r, err, "recording a run");
}

static detvm_status insert_run(detvm_registry *r, const detvm_receipt *rc_fields,
                               const uint8_t *receipt, size_t receipt_len,
                               const detvm_trace *trace, const void *input, size_t input_len,
                               size_t output_len, const detvm_record_options *opt,
                               const char *model, const char *version, int64_t *run_id,
                               detvm_error *err)
{
    char devices[DETVM_REGISTRY_TEXT_MAX + 1], variants[DETVM_REGISTRY_TEXT_MAX + 1];
    join_names(devices, sizeof devices, rc_fields->n_devices, rc_fields->devices);
    join_names(variants, sizeof variants, rc_fields->n_kernel_variants,
               rc_fields->kernel_variants);
    sqlite3_stmt *st;
    if (reg_prepare(r,
                    "INSERT INTO runs (model, version, module_id, input_hash, input_len, "
                    "output_hash, output_len, trace_mode, steps, trace_root, gas, "
                    "engine_version, devices, kernel_variants, signer, duration_ns, created, "
                    "receipt, trace_digests, input) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                    "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                    &st, "recording a run", err))
        return err->status;
    if (model[0]) {
        sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    }
    sqlite3_bind_blob(st, 3, rc_fields->module_id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, rc_fields->input_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)input_len);
    sqlite3_bind_blob(st, 6, rc_fields->output_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)output_len);
    sqlite3_bind_int(st, 8, (int)rc_fields->mode);
    sqlite3_bind_int64(st, 9, rc_fields->n_steps);
    sqlite3_bind_blob(st, 10, rc_fields->trace_root, (int)trace->digest_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)rc_fields->gas);
    sqlite3_bind_text(st, 12, rc_fields->engine_version, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, devices, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, variants, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 15, rc_fields->signer, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)opt->duration_ns);
    sqlite3_bind_int64(st, 17, reg_now_ns());
    sqlite3_bind_blob64(st, 18, receipt, receipt_len, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 19, trace->output_hashes,
                        (sqlite3_uint64)trace->n_steps * trace->digest_len, SQLITE_STATIC);
    if (opt->store_input)
        sqlite3_bind_blob64(st, 20, input, input_len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "recording a run");
    *run_id = sqlite3_last_insert_rowid(r->db);
    return DETVM_OK;
}

detvm_status detvm_registry_record(detvm_registry *r, const detvm_session *s, const void *input,
                                   size_t input_len, const void *output, size_t output_len,
                                   const detvm_record_options *options, int64_t *run_id,
                                   detvm_error *err)
{
    REG_NEED_ERR(err);
    *run_id = 0;
    detvm_record_options opt = {0};
    if (options)
        opt = *options;
    if (opt.model && (!opt.version || reg_check_name(opt.model, err) ||
                      reg_check_version(opt.version, err)))
        return opt.version ? err->status
                           : reg_fail(r, err, DETVM_EINVALID,
                                      "recording a run: a model name needs its version");
    const uint8_t *key = opt.secret_key;
    if (!key && own_key(r, &key, err))
        return err->status;
    uint8_t *receipt = NULL;
    size_t receipt_len = 0;
    detvm_receipt fields;
    detvm_trace trace;
    detvm_status st = detvm_receipt_make(s, input, input_len, output, output_len, key, &receipt,
                                         &receipt_len, err);
    if (st)
        return st;
    char model[DETVM_REGISTRY_NAME_MAX + 1], version[DETVM_REGISTRY_VERSION_MAX + 1];
    if (!(st = detvm_receipt_verify(receipt, receipt_len, NULL, &fields, err)) &&
        !(st = detvm_session_trace(s, &trace, err)) && !(st = reg_begin(r, err))) {
        if (!(st = reg_store_module(r, s->module, fields.module_id, err)) &&
            !(st = run_model(r, &opt, fields.module_id, model, version, err)) &&
            !(st = insert_run(r, &fields, receipt, receipt_len, &trace, input, input_len,
                              output_len, &opt, model, version, run_id, err)))
            st = reg_commit(r, err);
        else
            reg_rollback(r);
    }
    if (st)
        *run_id = 0;
    free(receipt);
    return st;
}

/* ---- listing ------------------------------------------------------------------------------ */

#define RUN_COLUMNS                                                                           \
    "id, model, version, module_id, input_hash, output_hash, input_len, output_len, "       \
    "typeof(input) = 'blob', trace_mode, steps, trace_root, gas, engine_version, devices, " \
    "kernel_variants, signer, duration_ns, created"

static void read_run(sqlite3_stmt *st, detvm_run_record *run)
{
    memset(run, 0, sizeof *run);
    run->id = sqlite3_column_int64(st, 0);
    reg_column_text(st, 1, run->model, sizeof run->model);
    reg_column_text(st, 2, run->version, sizeof run->version);
    reg_column_blob(st, 3, run->module_id, 32);
    reg_column_blob(st, 4, run->input_hash, 32);
    reg_column_blob(st, 5, run->output_hash, 32);
    run->input_len = (uint64_t)sqlite3_column_int64(st, 6);
    run->output_len = (uint64_t)sqlite3_column_int64(st, 7);
    run->has_input = sqlite3_column_int(st, 8);
    int mode = sqlite3_column_int(st, 9);
    run->mode = mode == DETVM_TRACE_SECURE ? DETVM_TRACE_SECURE : DETVM_TRACE_FAST;
    run->n_steps = (uint32_t)sqlite3_column_int64(st, 10);
    reg_column_blob(st, 11, run->trace_root, detvm_trace_digest_len(run->mode));
    run->gas = (uint64_t)sqlite3_column_int64(st, 12);
    reg_column_text(st, 13, run->engine_version, sizeof run->engine_version);
    reg_column_text(st, 14, run->devices, sizeof run->devices);
    reg_column_text(st, 15, run->kernel_variants, sizeof run->kernel_variants);
    reg_column_blob(st, 16, run->signer, 32);
    run->duration_ns = (uint64_t)sqlite3_column_int64(st, 17);
    run->created = sqlite3_column_int64(st, 18);
}

detvm_status detvm_registry_runs(detvm_registry *r, const detvm_run_query *query,
                                 detvm_run_fn fn, void *user, detvm_error *err)
{
    REG_NEED_ERR(err);
    detvm_run_query q = {0};
    if (query)
        q = *query;
    if (q.model && reg_check_name(q.model, err))
        return err->status;
    /* Only the filters given, so that the planner sees each: a model's latest runs come from
     * runs_by_model, everyone's from runs_by_created, one run by its id. */
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT " RUN_COLUMNS " FROM runs WHERE created >= ?2%s%s ORDER BY created DESC, "
             "id DESC LIMIT ?4",
             q.model ? " AND model = ?1" : "", q.run_id ? " AND id = ?3" : "");
    sqlite3_stmt *st;
    if (reg_prepare(r, sql, &st, "listing runs", err))
        return err->status;
    if (q.model)
        sqlite3_bind_text(st, 1, q.model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, q.since);
    if (q.run_id)
        sqlite3_bind_int64(st, 3, q.run_id);
    sqlite3_bind_int64(st, 4, q.limit ? (sqlite3_int64)q.limit : -1);
    detvm_run_record *run = malloc(sizeof *run);
    int rc = SQLITE_NOMEM;
    while (run && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_run(st, run);
        if (fn && fn(user, run)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    free(run);
    sqlite3_finalize(st);
    if (rc == SQLITE_NOMEM)
        return reg_fail(r, err, DETVM_ERUNTIME, "listing runs: out of memory");
    return rc == SQLITE_DONE ? DETVM_OK : reg_sql_fail(r, err, "listing runs");
}

detvm_status detvm_registry_receipt(detvm_registry *r, int64_t run_id, uint8_t **receipt,
                                    size_t *receipt_len, detvm_error *err)
{
    REG_NEED_ERR(err);
    *receipt = NULL;
    *receipt_len = 0;
    sqlite3_stmt *st;
    if (reg_prepare(r, "SELECT receipt FROM runs WHERE id = ?", &st, "reading a receipt", err))
        return err->status;
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? reg_fail(r, err, DETVM_EINVALID, "no run %lld",
                                            (long long)run_id)
                                 : reg_sql_fail(r, err, "reading a receipt");
    }
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    *receipt = malloc(n + 1);
    if (*receipt && n)
        memcpy(*receipt, p, n);
    sqlite3_finalize(st);
    if (!*receipt)
        return reg_fail(r, err, DETVM_ERUNTIME, "reading a receipt: out of memory");
    *receipt_len = n;
    return DETVM_OK;
}
