/* Walking the CVM conformance corpus in ../shared (or $DETVM_SHARED) for the tests.
 * DETVM_CASE=substring limits a run to the matching cases. */
#ifndef DETVM_TESTS_CORPUS_H
#define DETVM_TESTS_CORPUS_H

#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n > 0 ? n : 0] = 0;
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

/* A case's graph JSON and params blob (NULL when a file is missing). */
static inline void case_model(const char *dir, char **json, size_t *json_len, uint8_t **params,
                              size_t *params_len)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/symbol.json", dir);
    *json = (char *)read_file(path, json_len);
    snprintf(path, sizeof path, "%s/params.bin", dir);
    *params = read_file(path, params_len);
}

/* The shared folder, or NULL when it is absent. */
static inline const char *shared_dir(void)
{
    const char *env = getenv("DETVM_SHARED");
    const char *dir = env && *env ? env : "../shared";
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/conformance/cvm/INDEX.md", dir);
    FILE *f = fopen(probe, "r");
    if (!f)
        return NULL;
    fclose(f);
    return dir;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef void (*case_fn)(const char *dir, json_t *meta, void *user);

/* Calls fn for each case folder (one holding meta.json) under base, in name order. */
static inline int cases_each(const char *base, case_fn fn, void *user)
{
    DIR *d = opendir(base);
    if (!d)
        return 0;
    char *names[1024];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    const char *only = getenv("DETVM_CASE");
    int visited = 0;
    for (int i = 0; i < n; i++) {
        if (!only || strstr(names[i], only)) {
            char dir[1200], path[1300];
            snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
            snprintf(path, sizeof path, "%s/meta.json", dir);
            json_t *meta = json_load_file(path, 0, NULL);
            if (meta) {
                fn(dir, meta, user);
                json_decref(meta);
                visited++;
            }
        }
        free(names[i]);
    }
    return visited;
}

/* Calls fn(dir, meta, user) for each case under conformance/cvm/<group>, in name order.
 * Returns the number of cases visited, or -1 when the corpus is absent. */
static inline int corpus_each(const char *group, case_fn fn, void *user)
{
    const char *shared = shared_dir();
    if (!shared)
        return -1;
    char base[1024];
    snprintf(base, sizeof base, "%s/conformance/cvm/%s", shared, group);
    return cases_each(base, fn, user);
}

/* meta[key] as an integer, or -1 when null or absent. */
static inline long long meta_int(json_t *meta, const char *key)
{
    json_t *v = json_object_get(meta, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* One run of a case: its input file, expected output file (NULL when none) and status. */
typedef struct {
    char input[64], expected[64];
    int status;
} corpus_run;

/* The runs a case's meta describes. Divergent cases follow the formal back end. */
static inline int corpus_runs(json_t *meta, const char *dir, corpus_run *runs, int cap)
{
    int n = 0, formal = strstr(dir, "/divergent/") != NULL;
    json_t *inputs = json_object_get(meta, "inputs");
    if (json_is_array(inputs)) {
        size_t i;
        json_t *r;
        json_array_foreach(inputs, i, r) {
            if (n == cap)
                break;
            const char *in = json_string_value(json_object_get(r, "input"));
            const char *exp = json_string_value(
                json_object_get(r, formal ? "expected_formal" : "expected"));
            json_t *st = json_object_get(r, formal ? "formal_infer_status" : "infer_status");
            snprintf(runs[n].input, sizeof runs[n].input, "%s", in ? in : "input.bin");
            snprintf(runs[n].expected, sizeof runs[n].expected, "%s", exp ? exp : "");
            runs[n].status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
            n++;
        }
        return n;
    }
    long long st = meta_int(meta, "infer_status");
    snprintf(runs[0].input, sizeof runs[0].input, "input.bin");
    snprintf(runs[0].expected, sizeof runs[0].expected, "%s", st == 0 ? "expected.bin" : "");
    runs[0].status = st < 0 ? 0 : (int)st;
    n = 1;
    char path[1300];
    snprintf(path, sizeof path, "%s/input_1.bin", dir);
    FILE *f = fopen(path, "rb");
    if (f && cap > 1) {
        fclose(f);
        snprintf(runs[1].input, sizeof runs[1].input, "input_1.bin");
        snprintf(runs[1].expected, sizeof runs[1].expected, "expected_1.bin");
        runs[1].status = 0;
        n = 2;
    } else if (f) {
        fclose(f);
    }
    return n;
}

/* The load-time facts a case records (divergent cases: the formal ones). */
static inline json_t *corpus_facts(json_t *meta, const char *dir)
{
    json_t *formal = json_object_get(meta, "formal");
    if (strstr(dir, "/divergent/") && json_is_object(formal))
        return formal;
    return meta;
}

#endif
