/* The determinism matrix's host side: compiles each case to a .dvm module, copies its inputs,
 * writes the manifest of a work directory (see tests/determinism.h) and the host's reference
 * lines in WORKDIR/expected, which every configuration's runner must reproduce.
 *
 *   determinism_prepare [--every N] [--models NAME,...] WORKDIR
 *
 * Cases: fixtures/cvm and fixtures/tflite always; from ../shared (or $DETVM_SHARED), when
 * present, the CVM corpus (valid, divergent, invalid, medium), models/tflite and models/kmodel.
 * --every N keeps the first of every N cases of each CVM group; --models keeps the TFLite
 * models and kmodels whose name holds one of the given substrings; DETVM_CASE=substring
 * filters CVM cases as in the tests. Invalid cases that do not compile are skipped (they have
 * nothing to run); Kneron models are skipped because no loader reads them yet. Run from the top of
 * the source tree. Exit 1 when a case that should compile does not, or a file cannot be
 * written. */
#include <dirent.h>
#include <sys/stat.h>

#include "corpus.h"
#include "determinism.h"

typedef struct {
    const char *work;
    FILE *manifest;
    int every, seen;       /* cases of the current CVM group seen so far */
    const char *group;     /* name prefix: "fixtures/cvm", "cvm/valid", ... */
    int may_fail;          /* the group's cases may refuse to compile */
    int cases, inputs, skipped, failures;
} prepare;

static int write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "determinism_prepare: %s: cannot write\n", path);
    return ok ? 0 : -1;
}

/* Compiles a model into modules/<n>.dvm; returns 0, or -1 when it does not compile (said on
 * stderr unless quiet) or cannot be written. */
static int add_module(prepare *p, const char *name, const char *model, const char *params,
                      int quiet, char *file, size_t file_size)
{
    uint8_t *module = NULL;
    size_t len = 0;
    detvm_error err = {DETVM_OK, ""};
    char path[DET_PATH_MAX];
    if (detvm_load_model_files(model, params, NULL, &module, &len, &err) != DETVM_OK) {
        if (!quiet)
            fprintf(stderr, "determinism_prepare: %s: does not compile: %s\n", name,
                    err.message);
        return -1;
    }
    snprintf(file, file_size, "modules/%04d.dvm", p->cases);
    snprintf(path, sizeof path, "%s/%s", p->work, file);
    int rc = write_bytes(path, module, len);
    free(module);
    return rc;
}

/* Copies one input into inputs/ and adds its manifest line. */
static void add_input(prepare *p, const char *name, const char *module_file,
                      const char *input_path, const char *label)
{
    char file[DET_NAME_MAX], path[DET_PATH_MAX];
    size_t len = 0;
    uint8_t *bytes = det_read(input_path, &len);
    if (!bytes) {
        fprintf(stderr, "determinism_prepare: %s: unreadable\n", input_path);
        p->failures++;
        return;
    }
    snprintf(file, sizeof file, "inputs/%04d_%s", p->cases, label);
    snprintf(path, sizeof path, "%s/%s", p->work, file);
    if (write_bytes(path, bytes, len) != 0)
        p->failures++;
    else
        fprintf(p->manifest, "%s %s %s %s\n", name, module_file, label, file);
    p->inputs++;
    free(bytes);
}

static void add_cvm_case(const char *dir, json_t *meta, void *user)
{
    prepare *p = user;
    char name[DET_NAME_MAX], json[DET_PATH_MAX], params[DET_PATH_MAX], file[DET_NAME_MAX],
        input[DET_PATH_MAX];
    corpus_run runs[4];
    if (p->seen++ % p->every != 0)
        return;
    snprintf(name, sizeof name, "%s/%s", p->group, strrchr(dir, '/') + 1);
    snprintf(json, sizeof json, "%s/symbol.json", dir);
    snprintf(params, sizeof params, "%s/params.bin", dir);
    if (add_module(p, name, json, params, p->may_fail, file, sizeof file) != 0) {
        if (p->may_fail)
            p->skipped++;
        else
            p->failures++;
        return;
    }
    int n = corpus_runs(meta, dir, runs, 4);
    for (int r = 0; r < n; r++) {
        snprintf(input, sizeof input, "%s/%s", dir, runs[r].input);
        add_input(p, name, file, input, runs[r].input);
    }
    p->cases++;
}

/* A model folder: model.tflite or model.kmodel, and every file of inputs/, in name order. */
static void add_model_folder(prepare *p, const char *dir, const char *name)
{
    char model[DET_PATH_MAX], file[DET_NAME_MAX], input[DET_PATH_MAX];
    char *names[256];
    int n = 0;
    snprintf(model, sizeof model, "%s/model.tflite", dir);
    FILE *probe = fopen(model, "rb");
    if (probe)
        fclose(probe);
    else
        snprintf(model, sizeof model, "%s/model.kmodel", dir);
    if (add_module(p, name, model, NULL, 0, file, sizeof file) != 0) {
        p->failures++;
        return;
    }
    snprintf(input, sizeof input, "%s/inputs", dir);
    DIR *d = opendir(input);
    for (struct dirent *e; d && (e = readdir(d)) && n < 256;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    for (int i = 0; i < n; i++) {
        snprintf(input, sizeof input, "%s/inputs/%s", dir, names[i]);
        add_input(p, name, file, input, names[i]);
        free(names[i]);
    }
    p->cases++;
}

static int wanted(const char *name, const char *models)
{
    char list[DET_NAME_MAX];
    if (!models)
        return 1;
    snprintf(list, sizeof list, "%s", models);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
        if (strstr(name, tok))
            return 1;
    return 0;
}

/* Each model folder under base (in name order) that --models keeps. */
static void add_model_folders(prepare *p, const char *base, const char *prefix,
                              const char *models)
{
    char *names[256], dir[DET_PATH_MAX / 2], name[DET_NAME_MAX];
    int n = 0;
    DIR *d = opendir(base);
    for (struct dirent *e; d && (e = readdir(d)) && n < 256;)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    for (int i = 0; i < n; i++) {
        if (wanted(names[i], models)) {
            snprintf(dir, sizeof dir, "%s/%s", base, names[i]);
            snprintf(name, sizeof name, "%s/%s", prefix, names[i]);
            add_model_folder(p, dir, name);
        }
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    static const char *const groups[] = {"valid", "divergent", "invalid", "medium"};
    prepare p;
    const char *models = NULL, *shared;
    char path[DET_PATH_MAX];
    memset(&p, 0, sizeof p);
    p.every = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--every") == 0 && i + 1 < argc)
            p.every = atoi(argv[++i]);
        else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
            models = argv[++i];
        else if (argv[i][0] != '-' && !p.work)
            p.work = argv[i];
        else
            p.every = 0;
    }
    if (!p.work || p.every < 1) {
        fprintf(stderr, "usage: determinism_prepare [--every N] [--models NAME,...] WORKDIR\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/modules", p.work);
    mkdir(p.work, 0777);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/inputs", p.work);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/manifest", p.work);
    p.manifest = fopen(path, "w");
    if (!p.manifest) {
        fprintf(stderr, "determinism_prepare: %s: cannot write\n", path);
        return 1;
    }

    p.group = "fixtures/cvm";
    cases_each("fixtures/cvm", add_cvm_case, &p);
    add_model_folders(&p, "fixtures/tflite", "fixtures/tflite", NULL);
    shared = shared_dir();
    if (shared) {
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            char group[64];
            snprintf(group, sizeof group, "cvm/%s", groups[g]);
            p.group = group;
            p.seen = 0;
            p.may_fail = strcmp(groups[g], "invalid") == 0;
            corpus_each(groups[g], add_cvm_case, &p);
        }
        snprintf(path, sizeof path, "%s/models/tflite", shared);
        add_model_folders(&p, path, "tflite", models);
        snprintf(path, sizeof path, "%s/models/kmodel", shared);
        add_model_folders(&p, path, "kmodel", models);
        printf("skipped: the Kneron NEF in %s/models (its loader does not exist yet)\n",
               shared);
    } else {
        printf("skipped: ../shared is absent (set DETVM_SHARED): fixtures only\n");
    }
    if (p.skipped)
        printf("skipped: %d invalid CVM cases that do not compile (nothing to run)\n",
               p.skipped);
    if (fclose(p.manifest) != 0)
        p.failures++;

    /* The host's reference, from the library build. */
    snprintf(path, sizeof path, "%s/expected", p.work);
    FILE *expected = fopen(path, "w");
    if (!expected) {
        fprintf(stderr, "determinism_prepare: %s: cannot write\n", path);
        return 1;
    }
    int unrun = det_run_manifest(p.work, expected);
    if (fclose(expected) != 0 || unrun != 0)
        p.failures++;
    printf("prepared %d cases, %d inputs in %s\n", p.cases, p.inputs, p.work);
    return p.failures ? 1 : 0;
}
