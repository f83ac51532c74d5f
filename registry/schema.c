/* The registry's schema, as a list of migrations. PRAGMA user_version is the number of
 * migrations applied; each is applied in its own transaction, together with the new
 * user_version, so a database is always at one version or the next, never in between. A step
 * once released is never edited: changes are new steps at the end of the list.
 *
 * Times are nanoseconds since 1970-01-01 UTC; hashes and keys are raw bytes. Large blobs come
 * last in their rows, so that reading the small columns never walks their overflow pages. */
#include <stdio.h>

#include "registry.h"

static const char *const migrations[REG_SCHEMA_VERSION] = {
    /* 1: modules, named model versions, trusted keys */
    "CREATE TABLE modules ("
    "  id BLOB PRIMARY KEY CHECK (length(id) = 32),"  /* detvm_module_id */
    "  size INTEGER NOT NULL,"
    "  source_format TEXT NOT NULL,"
    "  producer TEXT NOT NULL,"
    "  source_hash BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  bytes BLOB NOT NULL);"
    "CREATE TABLE models ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  module_id BLOB NOT NULL REFERENCES modules(id),"
    "  given_format TEXT NOT NULL,"
    "  signer BLOB CHECK (signer IS NULL OR length(signer) = 32),"
    "  signature BLOB CHECK (signature IS NULL OR length(signature) = 64),"
    "  created INTEGER NOT NULL,"
    "  UNIQUE (name, version));"
    "CREATE INDEX models_by_module ON models(module_id);"
    "CREATE TABLE model_tags ("
    "  model INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  tag TEXT NOT NULL,"
    "  PRIMARY KEY (model, tag)) WITHOUT ROWID;"
    "CREATE TABLE model_sources ("
    "  model INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  path TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  PRIMARY KEY (model, position)) WITHOUT ROWID;"
    "CREATE TABLE trusted_keys ("
    "  public_key BLOB PRIMARY KEY CHECK (length(public_key) = 32),"
    "  added INTEGER NOT NULL);",

    /* 2: recorded runs. runs_by_model makes "the latest runs of a model" an index range scan;
     * runs_by_created does the same for all models; runs_by_module lets a module be deleted
     * (or kept) without a table scan. */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  model TEXT,"
    "  version TEXT,"
    "  module_id BLOB NOT NULL REFERENCES modules(id),"
    "  input_hash BLOB NOT NULL CHECK (length(input_hash) = 32),"
    "  input_len INTEGER NOT NULL,"
    "  output_hash BLOB NOT NULL CHECK (length(output_hash) = 32),"
    "  output_len INTEGER NOT NULL,"
    "  trace_mode INTEGER NOT NULL CHECK (trace_mode IN (1, 2)),"
    "  steps INTEGER NOT NULL,"
    "  trace_root BLOB NOT NULL,"
    "  gas INTEGER NOT NULL,"
    "  engine_version TEXT NOT NULL,"
    "  devices TEXT NOT NULL,"
    "  kernel_variants TEXT NOT NULL,"
    "  signer BLOB NOT NULL,"
    "  duration_ns INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  receipt BLOB NOT NULL,"
    "  trace_digests BLOB NOT NULL,"  /* every step's output hash, one after another */
    "  input BLOB);"                  /* NULL unless stored */
    "CREATE INDEX runs_by_model ON runs(model, created DESC, id DESC);"
    "CREATE INDEX runs_by_created ON runs(created DESC, id DESC);"
    "CREATE INDEX runs_by_module ON runs(module_id);",

    /* 3: audits of runs */
    "CREATE TABLE audits ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  started INTEGER NOT NULL,"
    "  duration_ns INTEGER NOT NULL,"
    "  result TEXT NOT NULL CHECK (result IN ('reproduced', 'diverged', 'failed')),"
    "  step INTEGER,"  /* the first diverging instruction, or NULL */
    "  op TEXT,"
    "  layer TEXT,"
    "  message TEXT NOT NULL,"
    "  engine_version TEXT NOT NULL);"
    "CREATE INDEX audits_by_run ON audits(run_id, id);",
};

static detvm_status user_version(detvm_registry *r, int *version, detvm_error *err)
{
    sqlite3_stmt *st;
    if (reg_prepare(r, "PRAGMA user_version", &st, "reading the schema version", err))
        return err->status;
    int rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return reg_sql_fail(r, err, "reading the schema version");
    return DETVM_OK;
}

detvm_status reg_migrate(detvm_registry *r, int target, detvm_error *err)
{
    int version;
    if (user_version(r, &version, err))
        return err->status;
    while (version < target) {
        /* Another process may be migrating too: decide again under the write lock. */
        if (reg_begin(r, err))
            return err->status;
        if (user_version(r, &version, err)) {
            reg_rollback(r);
            return err->status;
        }
        if (version >= target) {
            reg_rollback(r);
            break;
        }
        char what[64], set[96];
        snprintf(what, sizeof what, "migrating the schema to version %d", version + 1);
        snprintf(set, sizeof set, "PRAGMA application_id=%d; PRAGMA user_version=%d",
                 REG_APPLICATION_ID, version + 1);
        if (reg_exec(r, migrations[version], what, err) || reg_exec(r, set, what, err)) {
            reg_rollback(r);
            return err->status;
        }
        if (reg_commit(r, err))
            return err->status;
        version++;
    }
    return DETVM_OK;
}
