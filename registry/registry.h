/* What the registry's files share: the handle, statements and transactions, messages,
 * references, the trust policy and loading stored modules (the API is in detvm.h, "Registry";
 * the schema in registry/schema.c and docs/registry.md). */
#ifndef DETVM_REGISTRY_REGISTRY_H
#define DETVM_REGISTRY_REGISTRY_H

#include <sqlite3.h>
#include <stdint.h>

#include "detvm.h"

/* PRAGMA application_id of a detvm registry: "dtvr". */
#define REG_APPLICATION_ID 0x64747672

/* How long a writer waits for another one before giving up with "database is locked". */
#define REG_BUSY_TIMEOUT_MS 30000

struct detvm_registry {
    sqlite3 *db;
    char *path;
    unsigned flags;
    int require_signed;
    uint8_t *extra_keys;        /* n_extra_keys * 32 bytes */
    uint32_t n_extra_keys;
    int have_own_key;           /* own_key holds the registry's receipt key */
    uint8_t own_key[DETVM_SECRET_KEY_BYTES];
};

/* The public functions accept err == NULL; below them there is always one to fill. */
#define REG_NEED_ERR(err)                                                                     \
    detvm_error err##_unused_;                                                                \
    if (!(err))                                                                               \
        (err) = &err##_unused_

/* Fails with "registry FILE: <what>: <SQLite's message>"; SQLite's "not a database" is the
 * caller's fault (EINVALID), everything else an environment error. */
detvm_status reg_sql_fail(detvm_registry *r, detvm_error *err, const char *what);
/* Fails with "registry FILE: <formatted>" and the status given. */
detvm_status reg_fail(detvm_registry *r, detvm_error *err, detvm_status status,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* sqlite3_prepare_v2, failing with a message naming `what`. */
detvm_status reg_prepare(detvm_registry *r, const char *sql, sqlite3_stmt **stmt,
                         const char *what, detvm_error *err);
/* Runs statements that return no rows. */
detvm_status reg_exec(detvm_registry *r, const char *sql, const char *what, detvm_error *err);

/* Write transactions start with BEGIN IMMEDIATE, so that two writers never deadlock upgrading
 * a read lock; a failed one is rolled back. */
detvm_status reg_begin(detvm_registry *r, detvm_error *err);
detvm_status reg_commit(detvm_registry *r, detvm_error *err);
void reg_rollback(detvm_registry *r);

/* Nanoseconds since 1970-01-01 UTC. */
int64_t reg_now_ns(void);

/* Name and version rules. Returns 0 when valid, else fills err naming `what`. */
detvm_status reg_check_name(const char *name, detvm_error *err);
detvm_status reg_check_version(const char *version, detvm_error *err);
/* Splits "NAME[@VERSION]" into name and version ("" when absent). */
detvm_status reg_parse_ref(const char *ref, char name[DETVM_REGISTRY_NAME_MAX + 1],
                           char version[DETVM_REGISTRY_VERSION_MAX + 1], detvm_error *err);

/* Reads the model row a reference names (the highest row id of NAME when no version). */
detvm_status reg_find_model(detvm_registry *r, const char *ref, detvm_model_record *rec,
                            detvm_error *err);
/* Reads one model row by row id into rec (tags, sources and signature state included). */
detvm_status reg_read_model(detvm_registry *r, int64_t id, detvm_model_record *rec,
                            detvm_error *err);

/* 1 when the key is trusted: in the registry's list, or given to the handle's policy. */
int reg_key_trusted(detvm_registry *r, const uint8_t key[DETVM_PUBLIC_KEY_BYTES]);
/* 1 when the signature verifies over the module id. */
int reg_signature_valid(const uint8_t module_id[32], const uint8_t signer[DETVM_PUBLIC_KEY_BYTES],
                        const uint8_t signature[DETVM_SIGNATURE_BYTES]);

/* Applies the trust policy to module_id, loaded as model version `rec` (NULL: as any model
 * version holding it, for runs whose model is gone or was never named). */
detvm_status reg_policy_check(detvm_registry *r, const uint8_t module_id[32],
                              const detvm_model_record *rec, detvm_error *err);

/* The stored bytes of a module (malloc'd), checked: they load, and hash to their id. With
 * `module` not NULL, the loaded module is given too (over *bytes, which must outlive it). */
detvm_status reg_module_bytes(detvm_registry *r, const uint8_t module_id[32], uint8_t **bytes,
                              size_t *len, detvm_module **module, detvm_error *err);

/* Copies a column: text (NUL-terminated, cut to cap - 1 bytes; "" for NULL), or a blob of
 * exactly n bytes (returns 0 and zeroes dst when its length differs). */
void reg_column_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
int reg_column_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t n);

/* Stores a loaded module's bytes if no module with its id is stored; inside a transaction. */
detvm_status reg_store_module(detvm_registry *r, const detvm_module *m, const uint8_t id[32],
                              detvm_error *err);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void reg_hex(const uint8_t *p, size_t n, char *out);

/* Migrations (registry/schema.c): brings the schema to REG_SCHEMA_VERSION, or to `target`. */
#define REG_SCHEMA_VERSION 3
detvm_status reg_migrate(detvm_registry *r, int target, detvm_error *err);

#endif
