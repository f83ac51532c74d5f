/* Modules and named model versions: adding (compiling, hashing the sources, signing), reading,
 * listing, loading under the trust policy, removing and signing. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../verify/receipt.h"
#include "../vm/error.h"
#include "../vm/module.h"
#include "../vm/module_format.h"
#include "registry.h"

void reg_column_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

int reg_column_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t n)
{
    const void *p = sqlite3_column_blob(st, col);
    if (!p || (size_t)sqlite3_column_bytes(st, col) != n) {
        memset(dst, 0, n);
        return 0;
    }
    memcpy(dst, p, n);
    return 1;
}

int reg_signature_valid(const uint8_t module_id[32], const uint8_t signer[DETVM_PUBLIC_KEY_BYTES],
                        const uint8_t signature[DETVM_SIGNATURE_BYTES])
{
    return crypto_sign_verify_detached(signature, module_id, 32, signer) == 0;
}

int reg_key_trusted(detvm_registry *r, const uint8_t key[DETVM_PUBLIC_KEY_BYTES])
{
    for (uint32_t i = 0; i < r->n_extra_keys; i++)
        if (memcmp(r->extra_keys + 32 * (size_t)i, key, 32) == 0)
            return 1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM trusted_keys WHERE public_key = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

detvm_status detvm_registry_set_policy(detvm_registry *r, const detvm_trust_policy *policy,
                                       detvm_error *err)
{
    REG_NEED_ERR(err);
    uint8_t *keys = NULL;
    if (policy->n_keys) {
        if (!policy->keys)
            return reg_fail(r, err, DETVM_EINVALID, "trust policy: %u keys announced, none given",
                            policy->n_keys);
        keys = malloc(32 * (size_t)policy->n_keys);
        if (!keys)
            return reg_fail(r, err, DETVM_ERUNTIME, "trust policy: out of memory");
        memcpy(keys, policy->keys, 32 * (size_t)policy->n_keys);
    }
    free(r->extra_keys);
    r->extra_keys = keys;
    r->n_extra_keys = policy->n_keys;
    r->require_signed = policy->require_signed != 0;
    return DETVM_OK;
}

/* ---- reading model rows ---------------------------------------------------------------- */

detvm_status reg_read_model(detvm_registry *r, int64_t id, detvm_model_record *rec,
                            detvm_error *err)
{
    memset(rec, 0, sizeof *rec);
    sqlite3_stmt *st;
    if (reg_prepare(r,
                    "SELECT m.id, m.name, m.version, m.module_id, m.given_format, m.signer, "
                    "m.signature, m.created, d.size, d.source_format, d.producer, d.source_hash "
                    "FROM models m JOIN modules d ON d.id = m.module_id WHERE m.id = ?",
                    &st, "reading a model", err))
        return err->status;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return reg_fail(r, err, DETVM_EINVALID, "model row %lld is gone, or its module is",
                            (long long)id);
        return reg_sql_fail(r, err, "reading a model");
    }
    rec->id = sqlite3_column_int64(st, 0);
    reg_column_text(st, 1, rec->name, sizeof rec->name);
    reg_column_text(st, 2, rec->version, sizeof rec->version);
    reg_column_blob(st, 3, rec->module_id, 32);
    reg_column_text(st, 4, rec->given_format, sizeof rec->given_format);
    rec->is_signed = sqlite3_column_type(st, 5) != SQLITE_NULL ||
                     sqlite3_column_type(st, 6) != SQLITE_NULL;
    int whole =
        reg_column_blob(st, 5, rec->signer, 32) & reg_column_blob(st, 6, rec->signature, 64);
    rec->created = sqlite3_column_int64(st, 7);
    rec->size = (uint64_t)sqlite3_column_int64(st, 8);
    reg_column_text(st, 9, rec->source_format, sizeof rec->source_format);
    reg_column_text(st, 10, rec->producer, sizeof rec->producer);
    reg_column_blob(st, 11, rec->source_hash, 32);
    sqlite3_finalize(st);
    if (rec->is_signed) {
        rec->signature_valid = whole && reg_signature_valid(rec->module_id, rec->signer,
                                                            rec->signature);
        rec->signer_trusted = whole && reg_key_trusted(r, rec->signer);
    }

    if (reg_prepare(r, "SELECT tag FROM model_tags WHERE model = ? ORDER BY tag", &st,
                    "reading tags", err))
        return err->status;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && rec->n_tags < DETVM_REGISTRY_TAGS_MAX)
        reg_column_text(st, 0, rec->tags[rec->n_tags++], DETVM_REGISTRY_TAG_MAX + 1);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return reg_sql_fail(r, err, "reading tags");

    if (reg_prepare(r,
                    "SELECT path, size, hash FROM model_sources WHERE model = ? "
                    "ORDER BY position",
                    &st, "reading source files", err))
        return err->status;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && rec->n_sources < 2) {
        detvm_source_file *f = &rec->sources[rec->n_sources++];
        reg_column_text(st, 0, f->path, sizeof f->path);
        f->size = (uint64_t)sqlite3_column_int64(st, 1);
        reg_column_blob(st, 2, f->hash, 32);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return reg_sql_fail(r, err, "reading source files");
    return DETVM_OK;
}

detvm_status reg_find_model(detvm_registry *r, const char *ref, detvm_model_record *rec,
                            detvm_error *err)
{
    char name[DETVM_REGISTRY_NAME_MAX + 1], version[DETVM_REGISTRY_VERSION_MAX + 1];
    if (reg_parse_ref(ref, name, version, err))
        return err->status;
    sqlite3_stmt *st;
    const char *sql = version[0]
                          ? "SELECT id FROM models WHERE name = ?1 AND version = ?2"
                          : "SELECT id FROM models WHERE name = ?1 ORDER BY id DESC LIMIT 1";
    if (reg_prepare(r, sql, &st, "finding a model", err))
        return err->status;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version[0])
        sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return version[0] ? reg_fail(r, err, DETVM_EINVALID, "no model %s@%s", name, version)
                          : reg_fail(r, err, DETVM_EINVALID, "no model named %s", name);
    if (rc != SQLITE_ROW)
        return reg_sql_fail(r, err, "finding a model");
    return reg_read_model(r, id, rec, err);
}

detvm_status detvm_registry_model(detvm_registry *r, const char *ref, detvm_model_record *rec,
                                  detvm_error *err)
{
    REG_NEED_ERR(err);
    if (reg_exec(r, "BEGIN", "reading", err))
        return err->status;
    detvm_status st = reg_find_model(r, ref, rec, err);
    reg_rollback(r);
    return st;
}

detvm_status detvm_registry_models(detvm_registry *r, const char *name, detvm_model_fn fn,
                                   void *user, detvm_error *err)
{
    REG_NEED_ERR(err);
    if (name && reg_check_name(name, err))
        return err->status;
    sqlite3_stmt *st;
    const char *sql = name ? "SELECT id FROM models WHERE name = ? ORDER BY name, id DESC"
                           : "SELECT id FROM models ORDER BY name, id DESC";
    if (reg_exec(r, "BEGIN", "reading", err))
        return err->status;
    if (reg_prepare(r, sql, &st, "listing models", err)) {
        reg_rollback(r);
        return err->status;
    }
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    detvm_status status = DETVM_OK;
    detvm_model_record *rec = malloc(sizeof *rec);
    if (!rec)
        status = reg_fail(r, err, DETVM_ERUNTIME, "listing models: out of memory");
    int rc = SQLITE_DONE;
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        status = reg_read_model(r, sqlite3_column_int64(st, 0), rec, err);
        if (!status && fn && fn(user, rec))
            break;
    }
    if (!status && rc != SQLITE_DONE && rc != SQLITE_ROW)
        status = reg_sql_fail(r, err, "listing models");
    sqlite3_finalize(st);
    free(rec);
    reg_rollback(r);
    return status;
}

/* ---- the trust policy and stored modules ------------------------------------------------ */

static void short_hex(const uint8_t *p, char out[17])
{
    reg_hex(p, 8, out);
}

detvm_status reg_policy_check(detvm_registry *r, const uint8_t module_id[32],
                              const detvm_model_record *rec, detvm_error *err)
{
    char hex[17];
    if (rec) {
        if (rec->is_signed && !rec->signature_valid)
            return reg_fail(r, err, DETVM_EINVALID,
                            "model %s@%s: its signature does not verify over its module id",
                            rec->name, rec->version);
        if (!r->require_signed)
            return DETVM_OK;
        if (!rec->is_signed)
            return reg_fail(r, err, DETVM_EINVALID,
                            "model %s@%s is not signed, and signatures are required", rec->name,
                            rec->version);
        if (!rec->signer_trusted) {
            short_hex(rec->signer, hex);
            return reg_fail(r, err, DETVM_EINVALID,
                            "model %s@%s is signed by key %s..., which is not trusted",
                            rec->name, rec->version, hex);
        }
        return DETVM_OK;
    }
    /* Any model version holding the module may vouch for it; a broken signature on any of
     * them refuses it. */
    sqlite3_stmt *st;
    if (reg_prepare(r,
                    "SELECT name, version, signer, signature FROM models WHERE module_id = ? "
                    "AND (signer IS NOT NULL OR signature IS NOT NULL)",
                    &st, "reading signatures", err))
        return err->status;
    sqlite3_bind_blob(st, 1, module_id, 32, SQLITE_STATIC);
    int trusted = 0, rc;
    detvm_status status = DETVM_OK;
    while (!status && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t signer[32], signature[64];
        int whole = reg_column_blob(st, 2, signer, 32) & reg_column_blob(st, 3, signature, 64);
        if (!whole || !reg_signature_valid(module_id, signer, signature)) {
            status = reg_fail(r, err, DETVM_EINVALID,
                              "model %s@%s: its signature does not verify over its module id",
                              (const char *)sqlite3_column_text(st, 0),
                              (const char *)sqlite3_column_text(st, 1));
        } else if (reg_key_trusted(r, signer)) {
            trusted = 1;
        }
    }
    if (!status && rc != SQLITE_DONE)
        status = reg_sql_fail(r, err, "reading signatures");
    sqlite3_finalize(st);
    if (!status && r->require_signed && !trusted) {
        short_hex(module_id, hex);
        status = reg_fail(r, err, DETVM_EINVALID,
                          "module %s... has no signature by a trusted key, and signatures are "
                          "required",
                          hex);
    }
    return status;
}

detvm_status reg_module_bytes(detvm_registry *r, const uint8_t module_id[32], uint8_t **bytes,
                              size_t *len, detvm_module **module, detvm_error *err)
{
    *bytes = NULL;
    *len = 0;
    if (module)
        *module = NULL;
    char hex[65];
    reg_hex(module_id, 32, hex);
    sqlite3_stmt *st;
    if (reg_prepare(r, "SELECT bytes FROM modules WHERE id = ?", &st, "reading a module", err))
        return err->status;
    sqlite3_bind_blob(st, 1, module_id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE
                   ? reg_fail(r, err, DETVM_EINVALID, "module %.16s... is not stored", hex)
                   : reg_sql_fail(r, err, "reading a module");
    }
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    void *block = NULL; /* 64-byte aligned, so that the module's packed weights are used */
    uint8_t *copy = posix_memalign(&block, 64, n + 1) == 0 ? block : NULL;
    if (!copy) {
        sqlite3_finalize(st);
        return reg_fail(r, err, DETVM_ERUNTIME, "module %.16s...: out of memory", hex);
    }
    if (n)
        memcpy(copy, p, n);
    sqlite3_finalize(st);
    detvm_module *m = NULL;
    detvm_error load_err = {0};
    if (detvm_module_load(copy, n, &m, &load_err)) {
        free(copy);
        return reg_fail(r, err, DETVM_EINVALID, "stored module %.16s... does not load: %s", hex,
                        load_err.message);
    }
    uint8_t id[32];
    detvm_module_id(m, id);
    if (memcmp(id, module_id, 32) != 0) {
        char got[65];
        reg_hex(id, 32, got);
        detvm_module_free(m);
        free(copy);
        return reg_fail(r, err, DETVM_EINVALID,
                        "stored module %.16s... hashes to %.16s...: its bytes were changed", hex,
                        got);
    }
    if (module)
        *module = m;
    else
        detvm_module_free(m);
    *bytes = copy;
    *len = n;
    return DETVM_OK;
}

detvm_status detvm_registry_load(detvm_registry *r, const char *ref, uint8_t **module,
                                 size_t *module_len, detvm_model_record *record,
                                 detvm_error *err)
{
    REG_NEED_ERR(err);
    *module = NULL;
    *module_len = 0;
    detvm_model_record *rec = malloc(sizeof *rec);
    if (!rec)
        return reg_fail(r, err, DETVM_ERUNTIME, "out of memory");
    detvm_status st = reg_exec(r, "BEGIN", "reading", err);
    if (!st && !(st = reg_find_model(r, ref, rec, err)) &&
        !(st = reg_policy_check(r, rec->module_id, rec, err)))
        st = reg_module_bytes(r, rec->module_id, module, module_len, NULL, err);
    reg_rollback(r);
    if (!st && record)
        *record = *rec;
    free(rec);
    return st;
}

detvm_status reg_store_module(detvm_registry *r, const detvm_module *m, const uint8_t id[32],
                              detvm_error *err)
{
    sqlite3_stmt *st;
    if (reg_prepare(r, "SELECT 1 FROM modules WHERE id = ?", &st, "storing a module", err))
        return err->status;
    sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return DETVM_OK;
    if (rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "storing a module");
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    if (reg_prepare(r,
                    "INSERT INTO modules (id, size, source_format, producer, source_hash, "
                    "created, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    &st, "storing a module", err))
        return err->status;
    sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)m->len);
    sqlite3_bind_text(st, 3, info.source_format, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, m->producer, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, m->source_hash, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, reg_now_ns());
    sqlite3_bind_blob64(st, 7, m->bytes, m->len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? DETVM_OK : reg_sql_fail(r, err, "storing a module");
}

/* ---- adding ------------------------------------------------------------------------------ */

static detvm_status check_options(detvm_registry *r, const detvm_model_add_options *opt,
                                  detvm_error *err)
{
    if (!opt || !opt->name)
        return reg_fail(r, err, DETVM_EINVALID, "adding a model needs a name");
    if (reg_check_name(opt->name, err) || (opt->version && reg_check_version(opt->version, err)))
        return err->status;
    if (opt->n_tags > DETVM_REGISTRY_TAGS_MAX)
        return reg_fail(r, err, DETVM_EINVALID, "%u tags given (%d at most)", opt->n_tags,
                        DETVM_REGISTRY_TAGS_MAX);
    for (uint32_t i = 0; i < opt->n_tags; i++) {
        const char *t = opt->tags[i];
        size_t n = strlen(t);
        if (n == 0 || n > DETVM_REGISTRY_TAG_MAX)
            return reg_fail(r, err, DETVM_EINVALID, "tag %u is %zu bytes long (1 to %d allowed)",
                            i + 1, n, DETVM_REGISTRY_TAG_MAX);
        for (size_t j = 0; j < n; j++)
            if ((unsigned char)t[j] < 0x21 || (unsigned char)t[j] > 0x7e)
                return reg_fail(r, err, DETVM_EINVALID,
                                "tag %u holds byte 0x%02x (printable ASCII without spaces "
                                "allowed)",
                                i + 1, (unsigned char)t[j]);
    }
    if (opt->secret_key && !secret_key_is_consistent(opt->secret_key))
        return reg_fail(r, err, DETVM_EINVALID,
                        "secret key: its public half does not match its seed");
    return DETVM_OK;
}

/* One above the name's highest all-digit version, or 1. */
static detvm_status next_version(detvm_registry *r, const char *name,
                                 char version[DETVM_REGISTRY_VERSION_MAX + 1], detvm_error *err)
{
    sqlite3_stmt *st;
    if (reg_prepare(r,
                    "SELECT max(CAST(version AS INTEGER)) FROM models WHERE name = ? AND "
                    "version NOT GLOB '*[^0-9]*'",
                    &st, "choosing a version", err))
        return err->status;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t top = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return reg_sql_fail(r, err, "choosing a version");
    if (top < 0 || top >= INT64_MAX - 1)
        return reg_fail(r, err, DETVM_EINVALID,
                        "model %s: its highest version is too large to count on; give "
                        "--version",
                        name);
    snprintf(version, DETVM_REGISTRY_VERSION_MAX + 1, "%lld", (long long)top + 1);
    return DETVM_OK;
}

static detvm_status insert_model(detvm_registry *r, const detvm_module *m, const uint8_t id[32],
                                 const char *given_format, const detvm_source_file *sources,
                                 uint32_t n_sources, const detvm_model_add_options *opt,
                                 const char *version, int64_t *row, detvm_error *err)
{
    sqlite3_stmt *st;
    if (reg_prepare(r, "SELECT 1 FROM models WHERE name = ? AND version = ?", &st,
                    "adding a model", err))
        return err->status;
    sqlite3_bind_text(st, 1, opt->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return reg_fail(r, err, DETVM_EINVALID,
                        "model %s@%s exists (a version is never replaced: add another version, "
                        "or rm this one first)",
                        opt->name, version);
    if (rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "adding a model");
    if (reg_store_module(r, m, id, err))
        return err->status;
    uint8_t signature[64];
    if (opt->secret_key)
        crypto_sign_detached(signature, NULL, id, 32, opt->secret_key);
    if (reg_prepare(r,
                    "INSERT INTO models (name, version, module_id, given_format, signer, "
                    "signature, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    &st, "adding a model", err))
        return err->status;
    sqlite3_bind_text(st, 1, opt->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, id, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, given_format, -1, SQLITE_STATIC);
    if (opt->secret_key) {
        sqlite3_bind_blob(st, 5, opt->secret_key + 32, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, signature, 64, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 7, reg_now_ns());
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "adding a model");
    *row = sqlite3_last_insert_rowid(r->db);
    if (reg_prepare(r, "INSERT OR IGNORE INTO model_tags (model, tag) VALUES (?, ?)", &st,
                    "adding tags", err))
        return err->status;
    for (uint32_t i = 0; i < opt->n_tags && rc == SQLITE_DONE; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, *row);
        sqlite3_bind_text(st, 2, opt->tags[i], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "adding tags");
    if (reg_prepare(r,
                    "INSERT INTO model_sources (model, position, path, size, hash) "
                    "VALUES (?, ?, ?, ?, ?)",
                    &st, "adding source files", err))
        return err->status;
    for (uint32_t i = 0; i < n_sources && rc == SQLITE_DONE; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, *row);
        sqlite3_bind_int(st, 2, (int)i);
        sqlite3_bind_text(st, 3, sources[i].path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)sources[i].size);
        sqlite3_bind_blob(st, 5, sources[i].hash, 32, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? DETVM_OK : reg_sql_fail(r, err, "adding source files");
}

static detvm_status add(detvm_registry *r, const uint8_t *bytes, size_t len,
                        const char *given_format, const detvm_source_file *sources,
                        uint32_t n_sources, const detvm_model_add_options *opt,
                        detvm_model_record *record, detvm_error *err)
{
    detvm_module *m = NULL;
    if (detvm_module_load(bytes, len, &m, err))
        return err->status;
    uint8_t id[32];
    detvm_module_id(m, id);
    char version[DETVM_REGISTRY_VERSION_MAX + 1];
    int64_t row = 0;
    detvm_status st = reg_begin(r, err);
    if (!st && !opt->version)
        st = next_version(r, opt->name, version, err);
    else if (!st)
        snprintf(version, sizeof version, "%s", opt->version);
    if (!st)
        st = insert_model(r, m, id, given_format, sources, n_sources, opt, version, &row, err);
    if (!st)
        st = reg_commit(r, err);
    else
        reg_rollback(r);
    detvm_module_free(m);
    if (!st && record)
        st = reg_read_model(r, row, record, err);
    return st;
}

detvm_status detvm_registry_add_module(detvm_registry *r, const uint8_t *module,
                                       size_t module_len, const detvm_model_add_options *opt,
                                       detvm_model_record *record, detvm_error *err)
{
    REG_NEED_ERR(err);
    if (check_options(r, opt, err))
        return err->status;
    return add(r, module, module_len, "dvm", NULL, 0, opt, record, err);
}

/* A source file read once: its bytes are what is hashed and what is compiled. */
static detvm_status read_source(const char *path, uint8_t **bytes, size_t *len,
                                detvm_source_file *f, detvm_error *err)
{
    if (strlen(path) > DETVM_REGISTRY_TEXT_MAX)
        return dv_fail(err, DETVM_EINVALID, "%.64s...: the path is longer than %d bytes", path,
                       DETVM_REGISTRY_TEXT_MAX);
    detvm_status st = detvm_read_file(path, bytes, len, err);
    if (st)
        return st;
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->size = *len;
    crypto_generichash(f->hash, 32, *bytes, *len, NULL, 0);
    return DETVM_OK;
}

detvm_status detvm_registry_add(detvm_registry *r, const char *model_path,
                                const char *params_path, const detvm_model_add_options *opt,
                                detvm_model_record *record, detvm_error *err)
{
    REG_NEED_ERR(err);
    if (check_options(r, opt, err))
        return err->status;
    detvm_source_file sources[2];
    uint8_t *model = NULL, *params = NULL, *module = NULL;
    size_t model_len = 0, params_len = 0, module_len = 0;
    uint32_t n_sources = 0;
    detvm_status st = read_source(model_path, &model, &model_len, &sources[n_sources++], err);
    if (st)
        return st;
    int is_module = model_len >= 4 && memcmp(model, DVM_MAGIC, 4) == 0;
    int is_tflite = model_len >= 8 && memcmp(model + 4, "TFL3", 4) == 0;
    const char *given = is_module ? "dvm" : is_tflite ? "tflite" : "cvm";
    if ((is_module || is_tflite) && params_path) {
        st = dv_fail(err, DETVM_EINVALID, "%s: a %s takes no params file", model_path,
                     is_module ? "module" : ".tflite model");
    } else if (is_module) {
        st = add(r, model, model_len, given, sources, n_sources, opt, record, err);
    } else if (is_tflite) {
        if (!(st = detvm_compile_tflite(model, model_len, opt->tflite, &module, &module_len,
                                        err)))
            st = add(r, module, module_len, given, sources, n_sources, opt, record, err);
    } else if (!params_path) {
        st = dv_fail(err, DETVM_EINVALID, "%s: a CVM graph needs its params file", model_path);
    } else if (!(st = read_source(params_path, &params, &params_len, &sources[n_sources++],
                                  err)) &&
               !(st = detvm_compile_cvm((const char *)model, model_len, params, params_len,
                                        &module, &module_len, err))) {
        st = add(r, module, module_len, given, sources, n_sources, opt, record, err);
    }
    free(model);
    free(params);
    free(module);
    return st;
}

/* ---- removing and signing --------------------------------------------------------------- */

detvm_status detvm_registry_remove(detvm_registry *r, const char *ref, uint32_t *removed,
                                   detvm_error *err)
{
    REG_NEED_ERR(err);
    *removed = 0;
    char name[DETVM_REGISTRY_NAME_MAX + 1], version[DETVM_REGISTRY_VERSION_MAX + 1];
    if (reg_parse_ref(ref, name, version, err))
        return err->status;
    sqlite3_stmt *st;
    const char *sql = version[0] ? "DELETE FROM models WHERE name = ?1 AND version = ?2"
                                 : "DELETE FROM models WHERE name = ?1";
    if (reg_begin(r, err))
        return err->status;
    if (reg_prepare(r, sql, &st, "removing a model", err)) {
        reg_rollback(r);
        return err->status;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version[0])
        sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        detvm_status s = reg_sql_fail(r, err, "removing a model");
        reg_rollback(r);
        return s;
    }
    int changes = sqlite3_changes(r->db);
    if (changes == 0) {
        reg_rollback(r);
        return version[0] ? reg_fail(r, err, DETVM_EINVALID, "no model %s@%s", name, version)
                          : reg_fail(r, err, DETVM_EINVALID, "no model named %s", name);
    }
    /* Runs keep their module: an audit needs the exact bytes. */
    if (reg_exec(r,
                 "DELETE FROM modules WHERE NOT EXISTS (SELECT 1 FROM models WHERE "
                 "models.module_id = modules.id) AND NOT EXISTS (SELECT 1 FROM runs WHERE "
                 "runs.module_id = modules.id)",
                 "removing unused modules", err) ||
        reg_commit(r, err)) {
        reg_rollback(r);
        return err->status;
    }
    *removed = (uint32_t)changes;
    return DETVM_OK;
}

detvm_status detvm_registry_sign(detvm_registry *r, const char *ref,
                                 const uint8_t secret_key[DETVM_SECRET_KEY_BYTES],
                                 detvm_model_record *record, detvm_error *err)
{
    REG_NEED_ERR(err);
    if (!secret_key_is_consistent(secret_key))
        return reg_fail(r, err, DETVM_EINVALID,
                        "secret key: its public half does not match its seed");
    detvm_model_record *rec = malloc(sizeof *rec);
    if (!rec)
        return reg_fail(r, err, DETVM_ERUNTIME, "out of memory");
    uint8_t signature[64];
    sqlite3_stmt *st = NULL;
    detvm_status status = reg_begin(r, err);
    if (!status && !(status = reg_find_model(r, ref, rec, err)) &&
        !(status = reg_prepare(r, "UPDATE models SET signer = ?, signature = ? WHERE id = ?",
                               &st, "signing", err))) {
        crypto_sign_detached(signature, NULL, rec->module_id, 32, secret_key);
        sqlite3_bind_blob(st, 1, secret_key + 32, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, signature, 64, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, rec->id);
        if (sqlite3_step(st) != SQLITE_DONE)
            status = reg_sql_fail(r, err, "signing");
        sqlite3_finalize(st);
    }
    if (!status)
        status = reg_commit(r, err);
    else
        reg_rollback(r);
    if (!status && record)
        status = reg_read_model(r, rec->id, record, err);
    free(rec);
    return status;
}

/* ---- trusted keys ----------------------------------------------------------------------- */

detvm_status detvm_registry_trust_add(detvm_registry *r,
                                      const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                                      detvm_error *err)
{
    REG_NEED_ERR(err);
    sqlite3_stmt *st;
    if (reg_prepare(r, "INSERT OR IGNORE INTO trusted_keys (public_key, added) VALUES (?, ?)",
                    &st, "trusting a key", err))
        return err->status;
    sqlite3_bind_blob(st, 1, public_key, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, reg_now_ns());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? DETVM_OK : reg_sql_fail(r, err, "trusting a key");
}

detvm_status detvm_registry_trust_remove(detvm_registry *r,
                                         const uint8_t public_key[DETVM_PUBLIC_KEY_BYTES],
                                         detvm_error *err)
{
    REG_NEED_ERR(err);
    sqlite3_stmt *st;
    if (reg_prepare(r, "DELETE FROM trusted_keys WHERE public_key = ?", &st,
                    "removing a trusted key", err))
        return err->status;
    sqlite3_bind_blob(st, 1, public_key, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "removing a trusted key");
    if (sqlite3_changes(r->db) == 0) {
        char hex[17];
        short_hex(public_key, hex);
        return reg_fail(r, err, DETVM_EINVALID, "key %s... is not in the trusted list", hex);
    }
    return DETVM_OK;
}

detvm_status detvm_registry_trusted_keys(detvm_registry *r, detvm_key_fn fn, void *user,
                                         detvm_error *err)
{
    REG_NEED_ERR(err);
    sqlite3_stmt *st;
    if (reg_prepare(r, "SELECT public_key, added FROM trusted_keys ORDER BY added, public_key",
                    &st, "listing trusted keys", err))
        return err->status;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t key[32];
        if (!reg_column_blob(st, 0, key, 32))
            continue;
        if (fn && fn(user, key, sqlite3_column_int64(st, 1))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? DETVM_OK : reg_sql_fail(r, err, "listing trusted keys");
}
