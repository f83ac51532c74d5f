/* What the registry tests share: their start, looking into the database with SQLite itself
 * (the independent truth for what was stored), hashing with libsodium, and a module id
 * computed from the documented definition rather than by the library. Include after check.h,
 * corpus.h and cli_run.h. */
#ifndef DETVM_TESTS_REGISTRY_TEST_H
#define DETVM_TESTS_REGISTRY_TEST_H

#include <sodium.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detvm.h"

#define CHAIN "fixtures/cvm/chain_23"
#define CHAIN_SYMBOL CHAIN "/symbol.json"
#define CHAIN_PARAMS CHAIN "/params.bin"
#define CHAIN_INPUT CHAIN "/input.bin"
#define CHAIN_EXPECTED CHAIN "/expected.bin"
#define HELLO "fixtures/tflite/hello_world_int8"
#define HELLO_MODEL HELLO "/model.tflite"
#define HELLO_INPUT HELLO "/inputs/sin_x1.57.bin"
#define HELLO_EXPECTED HELLO "/expected/sin_x1.57.out0.bin"

/* What every registry test does first: checks that it runs from the repository root, readies
 * libsodium and the command (cli_setup), and points DETVM_REGISTRY into its own temporary
 * folder, so that nothing it does can reach the user's own registry. 0 when it can go on. */
static inline int registry_test_setup(const char *name)
{
    if (access(CHAIN_SYMBOL, R_OK) != 0) {
        CHECK(0, "%s is missing (run the test from the repository root)", CHAIN_SYMBOL);
        return -1;
    }
    CHECK(sodium_init() >= 0);
    if (cli_setup(name) != 0)
        return -1;
    char safety[1100];
    tmp_path(safety, sizeof safety, "default.db");
    setenv("DETVM_REGISTRY", safety, 1);
    unsetenv("DETVM_REGISTRY_SYNC");
    return 0;
}

/* The wall clock the registry stamps its rows with, in nanoseconds. time() may read a coarser
 * clock that lags it by a tick, so a window taken with time() can miss a fresh stamp. */
static inline int64_t wall_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void free_result(result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* The path of a fresh database `name` in the test's folder: whatever an earlier use of the
 * name left there (the file, its WAL and its receipt key) is removed. */
static inline void fresh_db(char *db, size_t cap, const char *name)
{
    tmp_path(db, cap, name);
    const char *suffixes[] = {"", "-wal", "-shm", ".key", ".key.pub"};
    for (int i = 0; i < 5; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s%s", db, suffixes[i]);
        unlink(p);
    }
}

/* A traced session of a fixture model, run on its input. */
typedef struct {
    uint8_t *bytes, *input, *output;
    size_t len, input_len, output_len;
    detvm_module *module;
    detvm_session *session;
} traced;

static inline int open_traced(traced *t, const char *model, const char *params,
                              const char *input, detvm_trace_mode mode)
{
    memset(t, 0, sizeof *t);
    detvm_error err = {0};
    detvm_module_info info;
    if (detvm_load_model_files(model, params, NULL, &t->bytes, &t->len, &err) ||
        detvm_module_load(t->bytes, t->len, &t->module, &err)) {
        CHECK(0, "%s: %s", model, err.message);
        return -1;
    }
    detvm_module_get_info(t->module, &info);
    t->output_len = info.output_len;
    t->output = malloc(t->output_len + 1);
    t->input = read_file(input, &t->input_len);
    if (!t->input || detvm_session_new(t->module, &t->session, &err) ||
        (mode && detvm_session_set_trace(t->session, mode, &err)) ||
        detvm_run(t->session, t->input, t->input_len, t->output, t->output_len, &err)) {
        CHECK(0, "run %s: %s", model, err.message);
        return -1;
    }
    return 0;
}

static inline void close_traced(traced *t)
{
    detvm_session_free(t->session);
    detvm_module_free(t->module);
    free(t->bytes);
    free(t->input);
    free(t->output);
}

static inline sqlite3 *sql_open(const char *db_path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        CHECK(0, "sqlite3 open %s: %s", db_path, db ? sqlite3_errmsg(db) : "?");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 30000);
    return db;
}

/* The first column of the first row as an integer; `fallback` when there is no row. */
static inline long long sql_int(const char *db_path, const char *sql, long long fallback)
{
    sqlite3 *db = sql_open(db_path);
    sqlite3_stmt *st = NULL;
    long long v = fallback;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    } else if (db) {
        CHECK(0, "sqlite3 %s: %s", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The first column of the first row as text (malloc'd), or NULL. */
static inline char *sql_text(const char *db_path, const char *sql)
{
    sqlite3 *db = sql_open(db_path);
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The first column of the first row as a blob (malloc'd), or NULL. */
static inline uint8_t *sql_blob(const char *db_path, const char *sql, size_t *len)
{
    sqlite3 *db = sql_open(db_path);
    sqlite3_stmt *st = NULL;
    uint8_t *v = NULL;
    *len = 0;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        v = malloc(*len + 1);
        if (v && *len)
            memcpy(v, sqlite3_column_blob(st, 0), *len);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Runs SQL that returns no rows (for tampering); 0 on success. */
static inline int sql_exec(const char *db_path, const char *sql)
{
    sqlite3 *db = sql_open(db_path);
    char *msg = NULL;
    int rc = db ? sqlite3_exec(db, sql, NULL, NULL, &msg) : SQLITE_ERROR;
    if (rc != SQLITE_OK)
        CHECK(0, "sqlite3 %s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Replaces one blob column of one row with the given bytes. */
static inline int sql_set_blob(const char *db_path, const char *sql, const void *bytes, size_t len)
{
    sqlite3 *db = sql_open(db_path);
    sqlite3_stmt *st = NULL;
    int ok = db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_blob(st, 1, bytes, (int)len, SQLITE_TRANSIENT) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        CHECK(0, "sqlite3 %s: %s", sql, db ? sqlite3_errmsg(db) : "?");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok ? 0 : -1;
}

static inline void blake2b_256(const void *data, size_t len, uint8_t out[32])
{
    crypto_generichash(out, 32, data, len, NULL, 0);
}

static inline void to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = 0;
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The module id as include/detvm.h defines it, from the file's bytes: BLAKE2b-256 over "DTVM",
 * the u16 format version, and each section but the pre-packed weights (kind 7) and the
 * signature (kind 8) as (u32 kind, u32 length, bytes), in kind order. 0 on success. */
static inline int independent_module_id(const uint8_t *m, size_t len, uint8_t id[32])
{
    if (len < 32 || memcmp(m, "DTVM", 4) != 0)
        return -1;
    uint32_t n = le32(m + 8);
    if (32 + (uint64_t)n * 16 > len)
        return -1;
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, m, 4);
    crypto_generichash_update(&h, m + 4, 2);
    uint32_t last_kind = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = m + 32 + 16 * i;
        uint32_t kind = le32(e), off = le32(e + 4), slen = le32(e + 8);
        if (kind <= last_kind || (uint64_t)off + slen > len)
            return -1;
        last_kind = kind;
        if (kind == 7 || kind == 8)
            continue;
        crypto_generichash_update(&h, e, 4);
        crypto_generichash_update(&h, e + 8, 4);
        crypto_generichash_update(&h, m + off, slen);
    }
    crypto_generichash_final(&h, id, 32);
    return 0;
}

/* Reads a whole file and hashes it. 0 on success. */
static inline int file_hash(const char *path, uint8_t out[32], size_t *len)
{
    size_t n = 0;
    uint8_t *b = read_file(path, &n);
    if (!b)
        return -1;
    blake2b_256(b, n, out);
    if (len)
        *len = n;
    free(b);
    return 0;
}

static inline int contains(const char *haystack, const char *needle)
{
    return haystack && strstr(haystack, needle) != NULL;
}


#endif
