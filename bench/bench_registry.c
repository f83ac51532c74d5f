/* The registry's speed (docs/registry.md):
 *   1. the time recording a run adds (detvm_registry_record: receipt, trace root, one
 *      transaction), as the median of many calls after the run itself, with the module already
 *      stored; with and without the input, with synchronous=NORMAL (the default) and FULL, and
 *      as the command pays it (open, record, close);
 *   2. a database filled with RUNS recorded runs (default 1,000,000) over 20 models, by bulk
 *      insert of real records, and the time to list one model's latest 100 runs: the first
 *      query on a fresh connection, the median of many, and the command end to end.
 * Usage: bench_registry [-n RUNS] [-d DIR] [-k]   (-k keeps the databases; DIR defaults to
 * $TMPDIR or /tmp). Run from the repository root (it uses fixtures/cvm/chain_23). */
#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "detvm.h"

extern char **environ;

#define SYMBOL "fixtures/cvm/chain_23/symbol.json"
#define PARAMS "fixtures/cvm/chain_23/params.bin"
#define INPUT "fixtures/cvm/chain_23/input.bin"
#define MODELS 20

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static void die(const char *what, const detvm_error *err)
{
    fprintf(stderr, "bench_registry: %s: %s\n", what, err ? err->message : "");
    exit(2);
}

/* A traced session of chain_23, run once. */
typedef struct {
    uint8_t *bytes, *input, output[4096];
    size_t len, input_len, output_len;
    detvm_module *m;
    detvm_session *s;
} model;

static void load(model *md)
{
    detvm_error err = {0};
    detvm_module_info info;
    if (detvm_load_model_files(SYMBOL, PARAMS, NULL, &md->bytes, &md->len, &err) ||
        detvm_module_load(md->bytes, md->len, &md->m, &err) ||
        detvm_read_file(INPUT, &md->input, &md->input_len, &err) ||
        detvm_session_new(md->m, &md->s, &err) ||
        detvm_session_set_trace(md->s, DETVM_TRACE_FAST, &err))
        die("loading " SYMBOL " (run from the repository root)", &err);
    detvm_module_get_info(md->m, &info);
    md->output_len = info.output_len;
    if (md->output_len > sizeof md->output ||
        detvm_run(md->s, md->input, md->input_len, md->output, md->output_len, &err))
        die("running", &err);
}

static void remove_db(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm", ".key", ".key.pub"};
    for (int i = 0; i < 5; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* Median, 90th and 99th percentile of n calls of detvm_registry_record, in microseconds. */
static void time_records(const char *label, const char *db, unsigned flags, int store_input,
                         int reopen, int n, model *md)
{
    detvm_error err = {0};
    detvm_registry *r = NULL;
    if (detvm_registry_open(db, flags, &r, &err))
        die("open", &err);
    detvm_record_options opt = {NULL, NULL, store_input, NULL, 1000};
    int64_t id;
    /* the first record stores the module and makes the receipt key: not what is measured */
    if (detvm_registry_record(r, md->s, md->input, md->input_len, md->output, md->output_len,
                              &opt, &id, &err))
        die("record", &err);
    if (reopen)
        detvm_registry_close(r);
    double *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (reopen && detvm_registry_open(db, flags, &r, &err))
            die("open", &err);
        if (detvm_registry_record(r, md->s, md->input, md->input_len, md->output,
                                  md->output_len, &opt, &id, &err))
            die("record", &err);
        if (reopen)
            detvm_registry_close(r);
        t[i] = now_us() - t0;
    }
    if (!reopen)
        detvm_registry_close(r);
    printf("  %-44s median %7.1f us   p90 %7.1f us   p99 %7.1f us   (%d calls)\n", label,
           percentile(t, n, 0.5), percentile(t, n, 0.9), percentile(t, n, 0.99), n);
    free(t);
}

static double median_runs(model *md, detvm_trace_mode mode, int n)
{
    detvm_error err = {0};
    if (detvm_session_set_trace(md->s, mode, &err))
        die("trace", &err);
    double *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        detvm_run(md->s, md->input, md->input_len, md->output, md->output_len, &err);
        t[i] = now_us() - t0;
    }
    double m = percentile(t, n, 0.5);
    free(t);
    detvm_session_set_trace(md->s, DETVM_TRACE_FAST, &err);
    detvm_run(md->s, md->input, md->input_len, md->output, md->output_len, &err);
    return m;
}

/* ---- the big database -------------------------------------------------------------------- */

static void sql(sqlite3 *db, const char *text)
{
    char *msg = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "bench_registry: %s: %s\n", text, msg ? msg : "?");
        exit(2);
    }
}

/* Copies one real run's blobs and fields, then inserts `total` runs like it over MODELS models
 * (in random order, times increasing), in transactions of 100,000. */
static void fill(const char *path, long total)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(2);
    sqlite3_stmt *st = NULL;
    const char *cols = "module_id, input_hash, input_len, output_hash, output_len, trace_mode, "
                       "steps, trace_root, gas, engine_version, devices, kernel_variants, "
                       "signer, duration_ns, receipt, trace_digests";
    char q[1024];
    snprintf(q, sizeof q, "SELECT %s FROM runs ORDER BY id LIMIT 1", cols);
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "bench_registry: no run to copy: %s\n", sqlite3_errmsg(db));
        exit(2);
    }
    sqlite3_value *v[16];
    for (int i = 0; i < 16; i++)
        v[i] = sqlite3_value_dup(sqlite3_column_value(st, i));
    sqlite3_finalize(st);
    sql(db, "PRAGMA synchronous=OFF");
    sql(db, "PRAGMA cache_size=-262144");
    snprintf(q, sizeof q,
             "INSERT INTO runs (model, version, created, %s) VALUES (?, '1', ?, ?, ?, ?, ?, ?, "
             "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             cols);
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_registry: %s\n", sqlite3_errmsg(db));
        exit(2);
    }
    uint64_t x = 88172645463325252u;
    int64_t created = (int64_t)time(NULL) * 1000000000 - (int64_t)total * 1000000;
    char names[MODELS][16];
    for (int i = 0; i < MODELS; i++)
        snprintf(names[i], sizeof names[i], "m%02d", i);
    for (long i = 0; i < total; i++) {
        if (i % 100000 == 0) {
            if (i)
                sql(db, "COMMIT");
            sql(db, "BEGIN");
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        created += 500000 + (int64_t)(x % 1000000); /* a run every millisecond or so */
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, names[x % MODELS], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, created);
        for (int c = 0; c < 16; c++)
            sqlite3_bind_value(st, 3 + c, v[c]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "bench_registry: insert: %s\n", sqlite3_errmsg(db));
            exit(2);
        }
    }
    sql(db, "COMMIT");
    sqlite3_finalize(st);
    for (int i = 0; i < 16; i++)
        sqlite3_value_free(v[i]);
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);
}

typedef struct {
    int n;
} counter;

static int count_run(void *user, const detvm_run_record *run)
{
    ((counter *)user)->n++;
    return 0;
}

/* The command, end to end: fork, exec, open, query, print JSON to /dev/null. */
static double time_command(const char *detvm, const char *db, const char *model_name)
{
    const char *argv[] = {detvm, "registry", "runs", "--model", model_name, "--limit", "100",
                          "--json", "--registry", db, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double t0 = now_us();
    pid_t pid;
    if (posix_spawn(&pid, detvm, &fa, NULL, (char *const *)argv, environ) != 0)
        return -1;
    int st = 0;
    waitpid(pid, &st, 0);
    double t = now_us() - t0;
    posix_spawn_file_actions_destroy(&fa);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : -1;
}

int main(int argc, char **argv)
{
    long total = 1000000;
    int keep = 0;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            total = atol(argv[++i]);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-k") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_registry [-n RUNS] [-d DIR] [-k]\n");
            return 1;
        }
    }
    if (total < 1000)
        total = 1000;
    char small[1024], big[1024], detvm[1024];
    snprintf(small, sizeof small, "%s/bench_registry_record_%d.db", dir, (int)getpid());
    snprintf(big, sizeof big, "%s/bench_registry_runs_%d.db", dir, (int)getpid());
    snprintf(detvm, sizeof detvm, "%s", argv[0]);
    char *slash = strstr(detvm, "/bench/");
    if (slash)
        snprintf(slash, sizeof detvm - (size_t)(slash - detvm), "/detvm");
    else
        snprintf(detvm, sizeof detvm, "build/detvm");

    model md;
    load(&md);
    printf("registry bench: recording a run of %s (12 steps, fast trace), module stored\n",
           "fixtures/cvm/chain_23");
    double plain = median_runs(&md, DETVM_TRACE_OFF, 5000),
           traced = median_runs(&md, DETVM_TRACE_FAST, 5000);
    printf("  the run itself: %.1f us untraced, %.1f us traced (fast)\n", plain, traced);
    remove_db(small);
    time_records("record (synchronous=NORMAL, the default)", small, 0, 0, 0, 5000, &md);
    time_records("record with the input stored", small, 0, 1, 0, 5000, &md);
    time_records("record (synchronous=FULL)", small, DETVM_REGISTRY_SYNC_FULL, 0, 0, 200, &md);
    time_records("open + record + close (what the command pays)", small, 0, 0, 1, 200, &md);

    /* the big database: the schema and models through the API, then the runs in bulk */
    remove_db(big);
    detvm_registry *r = NULL;
    detvm_error err = {0};
    if (detvm_registry_open(big, 0, &r, &err))
        die("open", &err);
    for (int i = 0; i < MODELS; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%02d", i);
        detvm_model_add_options opt = {.name = name};
        if (detvm_registry_add(r, SYMBOL, PARAMS, &opt, NULL, &err))
            die("add", &err);
    }
    detvm_record_options opt = {"m00", "1", 0, NULL, 1000};
    int64_t id;
    if (detvm_registry_record(r, md.s, md.input, md.input_len, md.output, md.output_len, &opt,
                              &id, &err))
        die("record", &err);
    detvm_registry_close(r);
    double t0 = now_us();
    fill(big, total - 1);
    double fill_s = (now_us() - t0) / 1e6;
    struct stat sb;
    stat(big, &sb);
    printf("filled %ld runs over %d models in %.1f s (%.0f runs/s, bulk insert), %.0f MB\n",
           total, MODELS, fill_s, total / fill_s, sb.st_size / 1e6);

    if (detvm_registry_open(big, 0, &r, &err))
        die("open", &err);
    counter c = {0};
    detvm_run_query q = {"m07", 0, 0, 100};
    t0 = now_us();
    if (detvm_registry_runs(r, &q, count_run, &c, &err))
        die("runs", &err);
    double first = now_us() - t0;
    double t[200];
    for (int i = 0; i < 200; i++) {
        c.n = 0;
        q.model = i % 2 ? "m07" : "m13";
        double s0 = now_us();
        detvm_registry_runs(r, &q, count_run, &c, &err);
        t[i] = now_us() - s0;
    }
    printf("latest 100 runs of one model among %ld: first query on a fresh connection %.3f ms, "
           "median %.3f ms, p99 %.3f ms (%d runs listed)\n",
           total, first / 1e3, percentile(t, 200, 0.5) / 1e3, percentile(t, 200, 0.99) / 1e3,
           c.n);
    detvm_run_query any = {NULL, 0, 0, 100};
    for (int i = 0; i < 50; i++) {
        double s0 = now_us();
        detvm_registry_runs(r, &any, count_run, &c, &err);
        t[i] = now_us() - s0;
    }
    printf("latest 100 runs of all models: median %.3f ms\n", percentile(t, 50, 0.5) / 1e3);
    detvm_run_query since = {"m07", (int64_t)time(NULL) * 1000000000 - 3600 * 1000000000LL, 0,
                             100};
    for (int i = 0; i < 50; i++) {
        double s0 = now_us();
        detvm_registry_runs(r, &since, count_run, &c, &err);
        t[i] = now_us() - s0;
    }
    printf("latest 100 runs of one model in the last hour: median %.3f ms\n",
           percentile(t, 50, 0.5) / 1e3);
    detvm_registry_close(r);
    if (access(detvm, X_OK) == 0) {
        int n = 0;
        for (int i = 0; i < 20; i++)
            if ((t[n] = time_command(detvm, big, "m07")) >= 0)
                n++;
        if (n)
            printf("the command (detvm registry runs --model m07 --limit 100 --json), process "
                   "start to exit: median %.3f ms\n",
                   percentile(t, n, 0.5) / 1e3);
    }
    if (!keep) {
        remove_db(small);
        remove_db(big);
    } else {
        printf("kept %s and %s\n", small, big);
    }
    detvm_session_free(md.s);
    detvm_module_free(md.m);
    free(md.bytes);
    free(md.input);
    return 0;
}
