/* What the detvm commands share: messages, exit statuses, and the MODEL [PARAMS] options. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int fail(const detvm_error *err)
{
    fprintf(stderr, "detvm: %s\n", err->message);
    return err->status == DETVM_EINVALID ? EXIT_INVALID : EXIT_RUNTIME;
}

int usage_error(const char *cmd, const char *what)
{
    fprintf(stderr, "detvm %s: %s (see detvm %s --help)\n", cmd, what, cmd);
    return EXIT_INVALID;
}

int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* Options taking a value, and where it goes. */
static const char **value_slot(args *a, const char *name)
{
    static const struct {
        const char *name;
        size_t offset;
    } slots[] = {
        {"-i", offsetof(args, input)},          {"--receipt", offsetof(args, receipt)},
        {"--key", offsetof(args, key)},         {"--pub", offsetof(args, pub)},
        {"--peer", offsetof(args, peer)},       {"--step", offsetof(args, step_text)},
        {"--mode", offsetof(args, mode_text)},  {"--rounding", offsetof(args, rounding_text)},
        {"--registry", offsetof(args, registry)},
        {"--kpu-semantics", offsetof(args, kpu_text)},
    };
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (strcmp(name, slots[i].name) == 0)
            return (const char **)(void *)((char *)a + slots[i].offset);
    return NULL;
}

/* The values that need checking: --rounding, --mode, --step. */
static int check_values(const char *cmd, args *a)
{
    if (a->rounding_text) {
        if (strcmp(a->rounding_text, "double") != 0 && strcmp(a->rounding_text, "single") != 0)
            return usage_error(cmd, "--rounding takes double or single");
        a->tflite.rounding = a->rounding_text[0] == 's' ? DETVM_ROUNDING_SINGLE
                                                         : DETVM_ROUNDING_DOUBLE;
    }
    if (a->kpu_text) {
        if (strcmp(a->kpu_text, "nncase") != 0 && strcmp(a->kpu_text, "sdk") != 0)
            return usage_error(cmd, "--kpu-semantics takes nncase or sdk");
        a->tflite.kpu = a->kpu_text[0] == 's' ? DETVM_KPU_SDK : DETVM_KPU_NNCASE_V02;
    }
    a->mode = DETVM_TRACE_FAST;
    if (a->mode_text) {
        if (strcmp(a->mode_text, "fast") != 0 && strcmp(a->mode_text, "secure") != 0)
            return usage_error(cmd, "--mode takes fast or secure");
        a->mode = a->mode_text[0] == 's' ? DETVM_TRACE_SECURE : DETVM_TRACE_FAST;
    }
    a->step = -1;
    if (a->step_text) {
        char *end;
        long long k = strtoll(a->step_text, &end, 10);
        if (*end || end == a->step_text || k < 0 || k > UINT32_MAX)
            return usage_error(cmd, "--step takes an instruction index");
        a->step = k;
    }
    return 0;
}

int parse_args(const char *cmd, int argc, char **argv, args *a)
{
    return parse_args_n(cmd, 2, argc, argv, a);
}

int parse_args_n(const char *cmd, int max_positional, int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    int positional = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = value_slot(a, s);
        int is_output = strcmp(s, "-o") == 0, is_trust = strcmp(s, "--trust") == 0;
        if ((slot || is_output || is_trust) && i + 1 >= argc) {
            fprintf(stderr, "detvm %s: option %s needs a value (see detvm %s --help)\n", cmd, s,
                    cmd);
            return EXIT_INVALID;
        } else if (slot) {
            *slot = argv[++i];
        } else if (is_output) {
            if (a->n_outputs == 64)
                return usage_error(cmd, "too many -o");
            a->outputs[a->n_outputs++] = argv[++i];
        } else if (is_trust) {
            if (a->n_trust == 16)
                return usage_error(cmd, "too many --trust");
            a->trust[a->n_trust++] = argv[++i];
        } else if (strcmp(s, "--require-signed") == 0) {
            a->require_signed = 1;
        } else if (strcmp(s, "--record") == 0) {
            a->record = 1;
        } else if (strcmp(s, "--store-input") == 0) {
            a->store_input = 1;
        } else if (strcmp(s, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(s, "--float-io") == 0) {
            a->float_io = 1;
        } else if (strcmp(s, "--rerun") == 0) {
            a->rerun = 1;
        } else if (strcmp(s, "--no-packs") == 0) {
            a->tflite.no_packs = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "detvm %s: unknown option %s (see detvm %s --help)\n", cmd, s, cmd);
            return EXIT_INVALID;
        } else if (positional < max_positional && positional < 4) {
            a->positional[positional++] = s;
        } else {
            return usage_error(cmd, "too many arguments");
        }
    }
    a->n_positional = positional;
    a->model = a->positional[0];
    a->params = a->positional[1];
    if (!a->model)
        return usage_error(cmd, "MODEL missing");
    return check_values(cmd, a);
}

int open_registry(const args *a, detvm_registry **reg)
{
    detvm_error err = {0};
    uint8_t keys[16][DETVM_PUBLIC_KEY_BYTES];
    for (int i = 0; i < a->n_trust; i++)
        if (detvm_public_key_read(a->trust[i], keys[i], &err))
            return fail(&err);
    /* DETVM_REGISTRY_SYNC=full: every commit is fsynced, against power loss (docs/registry.md) */
    const char *sync = getenv("DETVM_REGISTRY_SYNC");
    unsigned flags = sync && strcmp(sync, "full") == 0 ? DETVM_REGISTRY_SYNC_FULL : 0;
    detvm_trust_policy policy = {a->require_signed, keys[0], (uint32_t)a->n_trust};
    if (detvm_registry_open(a->registry, flags, reg, &err))
        return fail(&err);
    if (detvm_registry_set_policy(*reg, &policy, &err)) {
        detvm_registry_close(*reg);
        *reg = NULL;
        return fail(&err);
    }
    return 0;
}

#define REGISTRY_PREFIX "registry:"

int open_model_named(const args *a, uint8_t **bytes, detvm_module **m, detvm_model_record *rec)
{
    detvm_error err = {0};
    size_t len = 0;
    *bytes = NULL;
    if (rec)
        memset(rec, 0, sizeof *rec);
    if (strncmp(a->model, REGISTRY_PREFIX, strlen(REGISTRY_PREFIX)) == 0) {
        if (a->params) {
            fprintf(stderr, "detvm: %s: a registry model takes no params file\n", a->model);
            return EXIT_INVALID;
        }
        detvm_registry *reg = NULL;
        int rc = open_registry(a, &reg);
        if (rc)
            return rc;
        detvm_status st = detvm_registry_load(reg, a->model + strlen(REGISTRY_PREFIX), bytes,
                                              &len, rec, &err);
        detvm_registry_close(reg);
        if (st)
            return fail(&err);
    } else if (detvm_load_model_files(a->model, a->params, &a->tflite, bytes, &len, &err)) {
        return fail(&err);
    }
    if (detvm_module_load(*bytes, len, m, &err)) {
        free(*bytes);
        *bytes = NULL;
        return fail(&err);
    }
    return 0;
}

int open_model(const args *a, uint8_t **bytes, detvm_module **m)
{
    return open_model_named(a, bytes, m, NULL);
}

