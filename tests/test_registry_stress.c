/* The registry under concurrency and crashes:
 * - 8 processes record at the same moment into a database none of them has made yet (so they
 *   also race to make the schema and the receipt key), through the command and through the
 *   API, and exactly 8 * K runs are there afterwards, all reproducible, signed by one key;
 * - a writer recording in a loop is killed with SIGKILL at random moments (fixed seed), half
 *   the time the API in a child process, half the time the command in a shell loop; after each
 *   kill the database passes PRAGMA integrity_check and holds every run and model the writer
 *   reported committed (it reports only after the commit returned), and the registry's own
 *   check passes.
 * The short form runs in `make test` (20 kills, K = 3 and 10); DETVM_STRESS=1 (make
 * registry-stress) runs the full form (200 kills, K = 25 and 100). */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "detvm.h"
#include "registry_test.h"

static int full;

/* Runs the command with these arguments in this process's child and waits; its exit status. */
static int run_cli(const char *const *argv, int out_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        execv(detvm, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---- concurrency ------------------------------------------------------------------------- */

/* Forks n children that wait at a barrier, then each calls body(i); returns the number of
 * children that failed. */
static int race(int n, int (*body)(int, void *), void *user)
{
    int barrier[2];
    if (pipe(barrier) != 0)
        return n;
    pid_t pids[16];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char c;
            close(barrier[1]);
            while (read(barrier[0], &c, 1) > 0) {
            }
            _exit(body(i, user));
        }
    }
    close(barrier[0]);
    close(barrier[1]); /* everyone starts now */
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int st = 0;
        if (pids[i] < 0 || waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0)
            failed++;
    }
    return failed;
}

typedef struct {
    const char *db;
    int per_child;
} race_args;

static int cli_child(int i, void *user)
{
    race_args *a = user;
    char out[1100];
    char name[32];
    snprintf(name, sizeof name, "race%d.out", i);
    tmp_path(out, sizeof out, name);
    int failures = 0;
    for (int k = 0; k < a->per_child; k++) {
        const char *chain[] = {detvm, "run", CHAIN_SYMBOL, CHAIN_PARAMS, "-i", CHAIN_INPUT, "-o",
                               out, "--record", "--store-input", "--registry", a->db, NULL};
        const char *hello[] = {detvm, "run", HELLO_MODEL, "-i", HELLO_INPUT, "-o", out,
                               "--record", "--store-input", "--registry", a->db, NULL};
        failures += run_cli(i % 2 ? hello : chain, -1) != 0;
    }
    unlink(out);
    return failures ? 1 : 0;
}

static int api_child(int i, void *user)
{
    race_args *a = user;
    detvm_registry *r = NULL;
    detvm_error err = {0};
    traced t;
    if (detvm_registry_open(a->db, 0, &r, &err)) {
        fprintf(stderr, "api child %d: %s\n", i, err.message);
        return 1;
    }
    if (open_traced(&t, HELLO_MODEL, NULL, HELLO_INPUT, DETVM_TRACE_FAST))
        return 1;
    int failures = 0;
    for (int k = 0; k < a->per_child; k++) {
        int64_t id;
        detvm_record_options opt = {NULL, NULL, k % 2, NULL, (uint64_t)k};
        if (detvm_run(t.session, t.input, t.input_len, t.output, t.output_len, &err) ||
            detvm_registry_record(r, t.session, t.input, t.input_len, t.output, t.output_len,
                                  &opt, &id, &err)) {
            fprintf(stderr, "api child %d, run %d: %s\n", i, k, err.message);
            failures++;
        }
    }
    close_traced(&t);
    detvm_registry_close(r);
    return failures ? 1 : 0;
}

static void test_concurrency(void)
{
    char db[1100];
    result r = {0};

    /* 8 commands at once, on a registry that does not exist yet */
    int per = full ? 25 : 3;
    fresh_db(db, sizeof db, "race.db");
    race_args a = {db, per};
    int failed = race(8, cli_child, &a);
    long long runs = sql_int(db, "SELECT count(*) FROM runs", -1);
    CHECK(failed == 0, "%d of 8 recording processes failed", failed);
    CHECK(runs == 8LL * per, "8 x %d runs recorded, %lld stored", per, runs);
    CHECK(sql_int(db, "SELECT count(DISTINCT id) FROM runs", -1) == 8LL * per);
    CHECK(sql_int(db, "SELECT count(*) FROM modules", -1) == 2, "each module stored once");
    CHECK(sql_int(db, "SELECT count(DISTINCT signer) FROM runs", -1) == 1,
          "one receipt key, however many processes raced to make it");
    char *ok = sql_text(db, "PRAGMA integrity_check");
    CHECK(ok && strcmp(ok, "ok") == 0, "integrity: %s", ok ? ok : "?");
    free(ok);
    CLI(&r, "audit", "--all", "--registry", db);
    char want[128];
    snprintf(want, sizeof want, "%d runs audited, %d reproduced", 8 * per, 8 * per);
    CHECK(r.status == 0 && contains(r.out, want), "%s%s", r.out, r.err);
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 0, "%s", r.out);
    printf("concurrency: 8 commands x %d runs: %lld stored, %s\n", per, runs,
           failed == 0 && runs == 8LL * per ? "none lost" : "LOST SOME");

    /* 8 API writers at once, many runs each */
    per = full ? 100 : 10;
    fresh_db(db, sizeof db, "race_api.db");
    a.per_child = per;
    failed = race(8, api_child, &a);
    runs = sql_int(db, "SELECT count(*) FROM runs", -1);
    CHECK(failed == 0, "%d of 8 API writers failed", failed);
    CHECK(runs == 8LL * per, "8 x %d runs recorded, %lld stored", per, runs);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE input IS NOT NULL", -1) == 8LL * (per / 2),
          "every other run with its input");
    CLI(&r, "registry", "check", "--registry", db);
    CHECK(r.status == 0, "%s", r.out);
    printf("concurrency: 8 API writers x %d runs: %lld stored, %s\n", per, runs,
           failed == 0 && runs == 8LL * per ? "none lost" : "LOST SOME");
    free_result(&r);
}

/* ---- crashes ------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* What a writer reports after a commit returned: kind 1 a run, 2 a model version. */
typedef struct {
    int64_t kind, id;
} report;

/* The API writer: records runs (every third with its input) and, now and then, a model
 * version, reporting each after its commit. */
static void api_writer(const char *db, traced *t, int fd)
{
    detvm_registry *r = NULL;
    detvm_error err = {0};
    if (detvm_registry_open(db, 0, &r, &err)) {
        fprintf(stderr, "writer: %s\n", err.message);
        _exit(3);
    }
    for (uint64_t k = 0;; k++) {
        report rep = {1, 0};
        if (k % 7 == 3) {
            detvm_model_add_options opt = {.name = "crash"};
            detvm_model_record rec;
            if (detvm_registry_add_module(r, t->bytes, t->len, &opt, &rec, &err)) {
                fprintf(stderr, "writer: %s\n", err.message);
                _exit(3);
            }
            rep.kind = 2;
            rep.id = rec.id;
        } else {
            detvm_record_options opt = {NULL, NULL, k % 3 == 0, NULL, k};
            if (detvm_run(t->session, t->input, t->input_len, t->output, t->output_len, &err) ||
                detvm_registry_record(r, t->session, t->input, t->input_len, t->output,
                                      t->output_len, &opt, &rep.id, &err)) {
                fprintf(stderr, "writer: %s\n", err.message);
                _exit(3);
            }
        }
        if (write(fd, &rep, sizeof rep) != sizeof rep)
            _exit(4);
    }
}

/* Reads every whole report (binary from the API writer, "recorded run N" lines from the
 * command) until the writer's end of the pipe is closed. */
static int read_reports(int fd, int text, report *reps, int cap)
{
    static char buf[1 << 20];
    size_t used = 0;
    for (;;) {
        ssize_t got = read(fd, buf + used, sizeof buf - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
        if (used == sizeof buf - 1)
            break;
    }
    int n = 0;
    if (!text) {
        for (size_t at = 0; at + sizeof(report) <= used && n < cap; at += sizeof(report))
            memcpy(&reps[n++], buf + at, sizeof(report));
        return n;
    }
    buf[used] = 0;
    for (char *line = buf; *line && n < cap;) {
        char *end = strchr(line, '\n');
        if (!end)
            break; /* a line cut short is no report */
        long long id;
        if (sscanf(line, "recorded run %lld", &id) == 1)
            reps[n++] = (report){1, id};
        line = end + 1;
    }
    return n;
}

static void test_crashes(void)
{
    char db[1100];
    fresh_db(db, sizeof db, "crash.db");
    int kills = full ? 200 : 20;
    detvm_error err = {0};
    traced t;
    uint8_t want_output[32];
    if (open_traced(&t, HELLO_MODEL, NULL, HELLO_INPUT, DETVM_TRACE_FAST))
        return;
    if (file_hash(HELLO_EXPECTED, want_output, NULL) != 0) {
        CHECK(0, "setup: %s unreadable", HELLO_EXPECTED);
        close_traced(&t);
        return;
    }
    char out[1100];
    tmp_path(out, sizeof out, "crash.out");
    char loop[4096];
    snprintf(loop, sizeof loop,
             "while :; do '%s' run '%s' -i '%s' -o '%s' --record --store-input --registry '%s' "
             "|| exit 9; done",
             detvm, HELLO_MODEL, HELLO_INPUT, out, db);
    static report reps[200000];
    long long reported_runs = 0, reported_models = 0, lost = 0, unclean = 0, bad_integrity = 0,
              checks_failed = 0;
    for (int kill_no = 0; kill_no < kills; kill_no++) {
        int cli = kill_no % 2;
        int fds[2];
        if (pipe(fds) != 0) {
            CHECK(0, "pipe");
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            setpgid(0, 0);
            if (cli) {
                dup2(fds[1], 1);
                execl("/bin/sh", "sh", "-c", loop, (char *)NULL);
                _exit(5);
            }
            api_writer(db, &t, fds[1]);
        }
        close(fds[1]);
        setpgid(pid, pid);
        /* a fifth of the kills land in the first 2 ms (opening, migrating, the first key),
         * the rest anywhere in 40 ms */
        uint64_t us = rng() % 5 == 0 ? rng() % 2000 : 2000 + rng() % 38000;
        nanosleep(&(struct timespec){0, (long)(us * 1000)}, NULL);
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFSIGNALED(st)) {
            unclean++;
            CHECK(0, "kill %d: the writer stopped by itself (status %d)", kill_no, st);
        }
        int n = read_reports(fds[0], cli, reps, (int)(sizeof reps / sizeof reps[0]));
        close(fds[0]);

        sqlite3 *d = sql_open(db);
        if (!d)
            break;
        sqlite3_stmt *q = NULL;
        char *integrity = NULL;
        if (sqlite3_prepare_v2(d, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
            integrity = strdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        if (!integrity || strcmp(integrity, "ok") != 0) {
            bad_integrity++;
            CHECK(0, "kill %d: integrity_check: %s", kill_no, integrity ? integrity : "?");
        }
        free(integrity);
        sqlite3_stmt *run_q = NULL, *model_q = NULL;
        sqlite3_prepare_v2(d, "SELECT count(*) FROM runs WHERE id = ? AND output_hash = ?", -1,
                           &run_q, NULL);
        sqlite3_prepare_v2(d, "SELECT count(*) FROM models WHERE id = ?", -1, &model_q, NULL);
        for (int i = 0; i < n; i++) {
            sqlite3_stmt *check = reps[i].kind == 1 ? run_q : model_q;
            sqlite3_reset(check);
            sqlite3_bind_int64(check, 1, reps[i].id);
            if (reps[i].kind == 1)
                sqlite3_bind_blob(check, 2, want_output, 32, SQLITE_STATIC);
            int present = check && sqlite3_step(check) == SQLITE_ROW &&
                          sqlite3_column_int(check, 0) == 1;
            if (!present) {
                lost++;
                CHECK(0, "kill %d: reported %s %lld is missing", kill_no,
                      reps[i].kind == 1 ? "run" : "model", (long long)reps[i].id);
            }
            reported_runs += reps[i].kind == 1;
            reported_models += reps[i].kind == 2;
        }
        sqlite3_finalize(run_q);
        sqlite3_finalize(model_q);
        sqlite3_close(d);

        /* every stored record whole: receipts, hashes, module bytes */
        if (kill_no % 10 == 9 || kill_no == kills - 1) {
            detvm_registry *r = NULL;
            detvm_check_summary sum;
            if (detvm_registry_open(db, 0, &r, &err) ||
                detvm_registry_check(r, NULL, NULL, &sum, &err)) {
                checks_failed++;
                CHECK(0, "kill %d: registry check: %s", kill_no, err.message);
            }
            detvm_registry_close(r);
        }
    }
    long long stored = sql_int(db, "SELECT count(*) FROM runs", -1);
    CHECK(reported_runs > kills, "the writers got work done: %lld runs reported", reported_runs);
    CHECK(stored >= reported_runs, "%lld stored, %lld reported", stored, reported_runs);
    printf("crashes: %d kills (half API writers, half commands); %lld runs and %lld model "
           "versions reported committed, %lld runs stored; lost %lld, integrity failures %lld, "
           "check failures %lld, writers that stopped by themselves %lld\n",
           kills, reported_runs, reported_models, stored, lost, bad_integrity, checks_failed,
           unclean);
    close_traced(&t);
}

int main(int argc, char **argv)
{
    const char *stress = getenv("DETVM_STRESS");
    full = (stress && *stress && strcmp(stress, "0") != 0) ||
           (argc > 1 && strcmp(argv[1], "--full") == 0);
    if (registry_test_setup("registry_stress") != 0)
        return check_summary("test_registry_stress");
    printf("%s form\n", full ? "full" : "short (DETVM_STRESS=1 for the full form)");
    test_concurrency();
    test_crashes();
    /* a writer killed between making a temporary file and renaming or linking it leaves that
     * temporary file (never a half-written key or output): clear them before the final check */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.tmp.*", tmp_dir);
    CHECK(system(cmd) == 0);
    remove_tmp_dir();
    return check_summary("test_registry_stress");
}
