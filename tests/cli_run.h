/* Running the detvm binary from a test, through the shell: the binary ($BUILD/detvm), a
 * temporary folder for the test's files, and CLI(&r, "run", ...) capturing the exit status,
 * stdout and stderr. Include after check.h and corpus.h. */
#ifndef DETVM_TESTS_CLI_RUN_H
#define DETVM_TESTS_CLI_RUN_H

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

static char detvm[1024];   /* the binary */
static char tmp_dir[1024]; /* every output of the tests, removed at the end */

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* One line, ending in a newline, that starts with "detvm": how every error is reported. */
static inline int one_line_message(const char *s)
{
    size_t n = strlen(s);
    return count_lines(s) == 1 && n > 0 && s[n - 1] == '\n' && strncmp(s, "detvm", 5) == 0;
}

/* What one command did: exit status (-1 when it did not exit normally), stdout, stderr. */
typedef struct {
    int status;
    char *out, *err;
} result;

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmp_dir, name);
}

/* Appends ARG to the command line in single quotes (a quote inside becomes '\''). */
static void append_quoted(char *line, size_t cap, const char *arg)
{
    size_t used = strlen(line);
    used += (size_t)snprintf(line + used, used < cap ? cap - used : 0, " '");
    for (const char *c = arg; *c && used < cap; c++)
        used += (size_t)snprintf(line + used, cap - used, *c == '\'' ? "'\\''" : "%c", *c);
    if (used < cap)
        snprintf(line + used, cap - used, "'");
}

/* Runs the binary with `args`, a shell-quoted argument string. */
static void cli_shell(result *r, const char *args)
{
    free(r->out);
    free(r->err);
    char out_path[1100], err_path[1100], line[8192] = "";
    tmp_path(out_path, sizeof out_path, "cli.stdout");
    tmp_path(err_path, sizeof err_path, "cli.stderr");
    append_quoted(line, sizeof line, detvm);
    size_t used = strlen(line);
    snprintf(line + used, sizeof line - used, " %s >", args);
    append_quoted(line, sizeof line, out_path);
    used = strlen(line);
    snprintf(line + used, sizeof line - used, " 2>");
    append_quoted(line, sizeof line, err_path);
    int st = system(line);
    r->status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    size_t len;
    r->out = (char *)read_file(out_path, &len);
    r->err = (char *)read_file(err_path, &len);
    if (!r->out)
        r->out = strdup("");
    if (!r->err)
        r->err = strdup("");
    unlink(out_path);
    unlink(err_path);
}

/* Runs the binary with the NULL-terminated arguments, each quoted. */
static inline void cli_argv(result *r, const char *const *argv)
{
    char args[8192] = "";
    for (; *argv; argv++)
        append_quoted(args, sizeof args, *argv);
    cli_shell(r, args);
}

#define CLI(r, ...) cli_argv(r, (const char *const[]){__VA_ARGS__, NULL})

/* Finds the binary and makes the temporary folder; 0 on success (a failed CHECK otherwise). */
static int cli_setup(const char *test_name)
{
    const char *build = getenv("BUILD");
    snprintf(detvm, sizeof detvm, "%s/detvm", build && *build ? build : "build");
    if (access(detvm, X_OK) != 0) {
        CHECK(0, "%s is missing (run make first, from the repository root)", detvm);
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/detvm_%s_XXXXXX", tmp && *tmp ? tmp : "/tmp",
             test_name);
    if (!mkdtemp(tmp_dir)) {
        CHECK(0, "mkdtemp %s failed", tmp_dir);
        return -1;
    }
    return 0;
}

/* Empties and removes the temporary folder, checking that no command left a half-written
 * file (io_write_file's ".tmp." files) behind. */
static void remove_tmp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    if (!d)
        return;
    struct dirent *e;
    int leftovers = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        leftovers += strstr(e->d_name, ".tmp.") != NULL;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    CHECK(leftovers == 0, "%d temporary files left behind", leftovers);
    CHECK(rmdir(tmp_dir) == 0, "remove %s", tmp_dir);
}

#endif
