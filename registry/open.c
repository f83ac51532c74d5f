/* Finding, opening and closing the registry database: its path, the connection's settings
 * (WAL, foreign keys, busy timeout, synchronous), refusing files that are not registries, and
 * the helpers every registry file uses (messages, statements, transactions, time). */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../vm/error.h"
#include "registry.h"

detvm_status reg_fail(detvm_registry *r, detvm_error *err, detvm_status status,
                      const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dv_fail(err, status, "registry %s: %s", r && r->path ? r->path : "", what);
}

detvm_status reg_sql_fail(detvm_registry *r, detvm_error *err, const char *what)
{
    int code = sqlite3_extended_errcode(r->db);
    detvm_status status = (code & 0xff) == SQLITE_NOTADB ? DETVM_EINVALID : DETVM_ERUNTIME;
    return reg_fail(r, err, status, "%s: %s", what, sqlite3_errmsg(r->db));
}

detvm_status reg_prepare(detvm_registry *r, const char *sql, sqlite3_stmt **stmt,
                         const char *what, detvm_error *err)
{
    *stmt = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return reg_sql_fail(r, err, what);
    return DETVM_OK;
}

detvm_status reg_exec(detvm_registry *r, const char *sql, const char *what, detvm_error *err)
{
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return reg_sql_fail(r, err, what);
    return DETVM_OK;
}

detvm_status reg_begin(detvm_registry *r, detvm_error *err)
{
    return reg_exec(r, "BEGIN IMMEDIATE", "starting a write", err);
}

detvm_status reg_commit(detvm_registry *r, detvm_error *err)
{
    if (sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return DETVM_OK;
    detvm_status st = reg_sql_fail(r, err, "committing");
    reg_rollback(r);
    return st;
}

void reg_rollback(detvm_registry *r)
{
    if (!sqlite3_get_autocommit(r->db))
        sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t reg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void reg_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = 0;
}

/* ---- the path --------------------------------------------------------------------------- */

detvm_status detvm_registry_default_path(char *path, size_t cap, detvm_error *err)
{
    const char *env = getenv("DETVM_REGISTRY");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(path, cap, "%s", env);
    else if (xdg && xdg[0] == '/') /* the XDG spec: a relative value is to be ignored */
        n = snprintf(path, cap, "%s/detvm/registry.db", xdg);
    else if (home && *home)
        n = snprintf(path, cap, "%s/.local/share/detvm/registry.db", home);
    else
        return dv_fail(err, DETVM_EINVALID,
                       "registry: no path (set --registry, DETVM_REGISTRY, XDG_DATA_HOME or "
                       "HOME)");
    if (n < 0 || (size_t)n >= cap)
        return dv_fail(err, DETVM_EINVALID, "registry: the path is longer than %zu bytes",
                       cap - 1);
    return DETVM_OK;
}

/* Creates the folders above path (mkdir -p of its dirname), 0700 as the XDG spec asks. */
static detvm_status make_parents(const char *path, detvm_error *err)
{
    char *dir = strdup(path);
    if (!dir)
        return dv_fail(err, DETVM_ERUNTIME, "registry %s: out of memory", path);
    char *slash = strrchr(dir, '/');
    detvm_status st = DETVM_OK;
    if (slash && slash != dir) {
        *slash = 0;
        for (char *p = dir + 1; !st; p++) {
            if (*p != '/' && *p)
                continue;
            char c = *p;
            *p = 0;
            struct stat sb;
            if (stat(dir, &sb) == 0) {
                if (!S_ISDIR(sb.st_mode))
                    st = dv_fail(err, DETVM_EINVALID, "registry %s: %s is not a folder", path,
                                 dir);
            } else if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                st = dv_fail(err, DETVM_ERUNTIME, "registry %s: cannot create folder %s: %s",
                             path, dir, strerror(errno));
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(dir);
    return st;
}

/* ---- opening ---------------------------------------------------------------------------- */

static detvm_status int_pragma(detvm_registry *r, const char *sql, int64_t *value,
                               detvm_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return reg_fail(r, err, DETVM_EINVALID, "not a detvm registry (SQLite: %s)",
                        sqlite3_errmsg(r->db));
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return reg_sql_fail(r, err, "reading the header");
    return DETVM_OK;
}

/* Refuses, before anything is written, a file that is some other program's SQLite database or
 * a registry of a newer schema than this build knows. */
static detvm_status check_identity(detvm_registry *r, detvm_error *err)
{
    int64_t app = 0, version = 0, tables = 0;
    /* One snapshot: another process may be committing the first migration meanwhile, which
     * makes the tables and sets the id together. */
    if (reg_exec(r, "BEGIN", "reading the header", err))
        return err->status;
    if (int_pragma(r, "PRAGMA application_id", &app, err) ||
        int_pragma(r, "PRAGMA user_version", &version, err) ||
        int_pragma(r, "SELECT count(*) FROM sqlite_master", &tables, err)) {
        reg_rollback(r);
        return err->status;
    }
    reg_rollback(r);
    if (app != 0 && app != REG_APPLICATION_ID)
        return reg_fail(r, err, DETVM_EINVALID,
                        "an SQLite database of another program (application id 0x%08llx), "
                        "not a detvm registry",
                        (unsigned long long)app);
    if (app == 0 && tables > 0)
        return reg_fail(r, err, DETVM_EINVALID,
                        "an SQLite database of another program (it has tables of its own), not "
                        "a detvm registry");
    if (version > REG_SCHEMA_VERSION)
        return reg_fail(r, err, DETVM_EINVALID,
                        "schema version %lld, newer than this build's %d (upgrade detvm)",
                        (long long)version, REG_SCHEMA_VERSION);
    return DETVM_OK;
}

/* journal_mode=WAL needs a moment alone with the file; the busy handler does not always cover
 * that, so a few retries do. */
static detvm_status use_wal(detvm_registry *r, detvm_error *err)
{
    for (int attempt = 0;; attempt++) {
        sqlite3_stmt *st;
        if (reg_prepare(r, "PRAGMA journal_mode=WAL", &st, "turning WAL on", err))
            return err->status;
        int rc = sqlite3_step(st);
        const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        int wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(st);
        if (wal)
            return DETVM_OK;
        if ((rc & 0xff) == SQLITE_BUSY && attempt < 200) {
            nanosleep(&(struct timespec){0, 10000000}, NULL);
            continue;
        }
        if (rc == SQLITE_ROW)
            return reg_fail(r, err, DETVM_ERUNTIME,
                            "the file system does not allow WAL (journal mode stays %s)",
                            mode ? mode : "unknown");
        return reg_sql_fail(r, err, "turning WAL on");
    }
}

detvm_status detvm_registry_open(const char *path, unsigned flags, detvm_registry **out,
                                 detvm_error *err)
{
    REG_NEED_ERR(err);
    *out = NULL;
    char default_path[4096];
    if (!path) {
        if (detvm_registry_default_path(default_path, sizeof default_path, err))
            return err->status;
        path = default_path;
    }
    if (!*path)
        return dv_fail(err, DETVM_EINVALID, "registry: the path is empty");
    if (sodium_init() < 0)
        return dv_fail(err, DETVM_ERUNTIME, "registry: libsodium could not be initialised");
    detvm_registry *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return dv_fail(err, DETVM_ERUNTIME, "registry %s: out of memory", path);
    }
    r->flags = flags;
    detvm_status st = make_parents(path, err);
    if (st) {
        detvm_registry_close(r);
        return st;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        detvm_registry_close(r);
        return dv_fail(err, DETVM_EINVALID, "registry %s: not a regular file", path);
    }
    int rc = sqlite3_open_v2(path, &r->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        st = r->db ? reg_sql_fail(r, err, "opening")
                   : dv_fail(err, DETVM_ERUNTIME, "registry %s: out of memory", path);
        detvm_registry_close(r);
        return st;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, REG_BUSY_TIMEOUT_MS);
    /* Closing leaves the WAL in place: checkpointing it there would cost every one-shot
     * command (detvm run --record) its fsyncs. SQLite checkpoints as the WAL grows, and
     * detvm registry check checkpoints it whole. */
    sqlite3_db_config(r->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
    /* A committed transaction is in the WAL file before COMMIT returns: a killed process loses
     * nothing it committed. FULL also fsyncs the WAL at each commit, against power loss. */
    const char *sync = flags & DETVM_REGISTRY_SYNC_FULL ? "PRAGMA synchronous=FULL"
                                                        : "PRAGMA synchronous=NORMAL";
    if ((st = check_identity(r, err)) || (st = use_wal(r, err)) ||
        (st = reg_exec(r, "PRAGMA foreign_keys=ON", "turning foreign keys on", err)) ||
        (st = reg_exec(r, sync, "setting synchronous", err)) ||
        (st = reg_migrate(r, REG_SCHEMA_VERSION, err))) {
        detvm_registry_close(r);
        return st;
    }
    *out = r;
    return DETVM_OK;
}

void detvm_registry_close(detvm_registry *r)
{
    if (!r)
        return;
    if (r->db)
        sqlite3_close_v2(r->db);
    sodium_memzero(r->own_key, sizeof r->own_key);
    free(r->extra_keys);
    free(r->path);
    free(r);
}

const char *detvm_registry_file(const detvm_registry *r)
{
    return r->path;
}

/* ---- names and references --------------------------------------------------------------- */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Letters and digits first, then those and `extra`; 1..max bytes. */
static detvm_status check_word(const char *what, const char *s, size_t max, const char *extra,
                               detvm_error *err)
{
    size_t n = strlen(s);
    if (n == 0)
        return dv_fail(err, DETVM_EINVALID, "registry: the model %s is empty", what);
    if (n > max)
        return dv_fail(err, DETVM_EINVALID,
                       "registry: the model %s is %zu bytes long (%zu at most)", what, n, max);
    if (!is_alnum(s[0]))
        return dv_fail(err, DETVM_EINVALID,
                       "registry: the model %s \"%.64s\" must start with a letter or digit", what,
                       s);
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && !strchr(extra, s[i]))
            return dv_fail(err, DETVM_EINVALID,
                           "registry: the model %s \"%.64s\" holds '%c' (letters, digits and "
                           "\"%s\" allowed)",
                           what, s, s[i], extra);
    return DETVM_OK;
}

detvm_status reg_check_name(const char *name, detvm_error *err)
{
    return check_word("name", name, DETVM_REGISTRY_NAME_MAX, "._-/", err);
}

detvm_status reg_check_version(const char *version, detvm_error *err)
{
    return check_word("version", version, DETVM_REGISTRY_VERSION_MAX, "._-+", err);
}

detvm_status reg_parse_ref(const char *ref, char name[DETVM_REGISTRY_NAME_MAX + 1],
                           char version[DETVM_REGISTRY_VERSION_MAX + 1], detvm_error *err)
{
    name[0] = version[0] = 0;
    if (!ref)
        return dv_fail(err, DETVM_EINVALID, "registry: no model reference given");
    const char *at = strchr(ref, '@');
    size_t name_len = at ? (size_t)(at - ref) : strlen(ref);
    if (at && strchr(at + 1, '@'))
        return dv_fail(err, DETVM_EINVALID,
                       "registry: model reference \"%.64s\" has more than one '@' "
                       "(NAME or NAME@VERSION expected)",
                       ref);
    if (at && !at[1])
        return dv_fail(err, DETVM_EINVALID,
                       "registry: model reference \"%.64s\" has an empty version after '@'", ref);
    if (name_len == 0)
        return dv_fail(err, DETVM_EINVALID,
                       "registry: model reference \"%.64s\" has no name (NAME or NAME@VERSION "
                       "expected)",
                       ref);
    if (name_len > DETVM_REGISTRY_NAME_MAX)
        return dv_fail(err, DETVM_EINVALID,
                       "registry: the model name is %zu bytes long (%d at most)", name_len,
                       DETVM_REGISTRY_NAME_MAX);
    memcpy(name, ref, name_len);
    name[name_len] = 0;
    detvm_status st = reg_check_name(name, err);
    if (st || !at)
        return st;
    if (strlen(at + 1) > DETVM_REGISTRY_VERSION_MAX)
        return dv_fail(err, DETVM_EINVALID,
                       "registry: the model version is %zu bytes long (%d at most)",
                       strlen(at + 1), DETVM_REGISTRY_VERSION_MAX);
    snprintf(version, DETVM_REGISTRY_VERSION_MAX + 1, "%s", at + 1);
    return reg_check_version(version, err);
}
