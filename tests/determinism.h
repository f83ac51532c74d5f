/* The determinism matrix's one routine: run every work item of a work directory and print,
 * for each, what must not depend on the compiler, the optimisation level, the ISA, the word
 * size or the byte order. The host tool (determinism_prepare.c, linked with the library)
 * prints the reference with it; the runner (determinism_runner.c, built from the runtime core
 * alone in each configuration) prints the same lines, and tests/determinism.sh compares them.
 *
 * Only the runtime core's API is used here (vm/, ops/, hal/, and vm/blake2b.h), with plain
 * C99 stdio, so that the runner builds with any C compiler and runs under qemu-user.
 *
 * The work directory holds:
 *   manifest       one line per run: "<case> <module file> <input label> <input file>", files
 *                  relative to the directory, in run order; names hold no spaces;
 *   modules/, inputs/  the compiled .dvm modules and the input bytes;
 *   expected       the host's lines (written by determinism_prepare).
 *
 * The lines printed, per case and then per input and trace mode:
 *   <case> module instructions <n> gas <gas> arena <planned arena bytes>
 *   <case> <input> <fast|secure> status <s> [steps <n> root <trace root> output <BLAKE2b-256
 *   of the output bytes>]
 * A run that fails prints its status only (a failed run leaves no complete trace). */
#ifndef DETVM_TESTS_DETERMINISM_H
#define DETVM_TESTS_DETERMINISM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake2b.h"
#include "detvm.h"

#define DET_NAME_MAX 256
#define DET_PATH_MAX 1024

/* A whole file in malloc'd bytes (at least one byte allocated), or NULL. */
static uint8_t *det_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap ? cap * 2 : 65536);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
            cap = cap ? cap * 2 : 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void det_hex(FILE *out, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", bytes[i]);
}

/* The loaded module of the case being run. */
typedef struct {
    char file[DET_NAME_MAX];
    uint8_t *bytes;
    detvm_module *module;
    detvm_session *session;
    detvm_module_info info;
} det_loaded;

static void det_unload(det_loaded *l)
{
    detvm_session_free(l->session);
    detvm_module_free(l->module);
    free(l->bytes);
    memset(l, 0, sizeof *l);
}

/* Loads `file` unless it is already loaded; prints the case's module line. 0 on success. */
static int det_load(det_loaded *l, const char *work, const char *name, const char *file,
                    FILE *out)
{
    char path[DET_PATH_MAX];
    size_t len = 0;
    detvm_error err = {DETVM_OK, ""};
    if (l->bytes && strcmp(l->file, file) == 0)
        return 0;
    det_unload(l);
    snprintf(l->file, sizeof l->file, "%s", file);
    snprintf(path, sizeof path, "%s/%s", work, file);
    l->bytes = det_read(path, &len);
    if (!l->bytes) {
        fprintf(out, "%s module unreadable\n", name);
        return -1;
    }
    if (detvm_module_load(l->bytes, len, &l->module, &err) != DETVM_OK ||
        detvm_module_get_info(l->module, &l->info) != DETVM_OK ||
        detvm_session_new(l->module, &l->session, &err) != DETVM_OK) {
        fprintf(out, "%s module refused: %s\n", name, err.message);
        det_unload(l);
        return -1;
    }
    fprintf(out, "%s module instructions %u gas %llu arena %llu\n", name,
            (unsigned)l->info.n_instructions, (unsigned long long)l->info.gas,
            (unsigned long long)l->info.arena_bytes);
    return 0;
}

/* Runs one input in one trace mode and prints its line. 0 unless tracing itself failed. */
static int det_run_mode(det_loaded *l, const char *name, const char *label,
                        const uint8_t *input, size_t input_len, uint8_t *output,
                        detvm_trace_mode mode, FILE *out)
{
    detvm_error err = {DETVM_OK, ""};
    detvm_trace trace;
    vm_blake2b h;
    uint8_t output_hash[32];
    detvm_status st;
    fprintf(out, "%s %s %s", name, label, mode == DETVM_TRACE_FAST ? "fast" : "secure");
    if (detvm_session_set_trace(l->session, mode, &err) != DETVM_OK) {
        fprintf(out, " trace refused: %s\n", err.message);
        return -1;
    }
    st = detvm_run(l->session, input, input_len, output, (size_t)l->info.output_len, &err);
    fprintf(out, " status %d", (int)st);
    if (st == DETVM_OK) {
        if (detvm_session_trace(l->session, &trace, &err) != DETVM_OK) {
            fprintf(out, " no trace: %s\n", err.message);
            return -1;
        }
        vm_blake2b_init(&h, 32);
        vm_blake2b_update(&h, output, (size_t)l->info.output_len);
        vm_blake2b_final(&h, output_hash);
        fprintf(out, " steps %u root ", (unsigned)trace.n_steps);
        det_hex(out, trace.root, trace.digest_len);
        fprintf(out, " output ");
        det_hex(out, output_hash, sizeof output_hash);
    }
    fputc('\n', out);
    return 0;
}

/* Runs every item of work/manifest, printing to out. Returns the number of items that could
 * not be run at all (unreadable files, refused modules), which every configuration must also
 * report identically. */
static int det_run_manifest(const char *work, FILE *out)
{
    char path[DET_PATH_MAX], name[DET_NAME_MAX], file[DET_NAME_MAX], label[DET_NAME_MAX],
        input_file[DET_NAME_MAX];
    det_loaded l;
    int failures = 0;
    FILE *manifest;
    memset(&l, 0, sizeof l);
    snprintf(path, sizeof path, "%s/manifest", work);
    manifest = fopen(path, "r");
    if (!manifest) {
        fprintf(stderr, "%s: unreadable\n", path);
        return -1;
    }
    while (fscanf(manifest, "%255s %255s %255s %255s", name, file, label, input_file) == 4) {
        uint8_t *input, *output;
        size_t input_len = 0;
        if (det_load(&l, work, name, file, out) != 0) {
            failures++;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", work, input_file);
        input = det_read(path, &input_len);
        output = malloc((size_t)l.info.output_len + 1);
        if (!input || !output) {
            fprintf(out, "%s %s input unreadable\n", name, label);
            failures++;
        } else {
            failures += det_run_mode(&l, name, label, input, input_len, output,
                                     DETVM_TRACE_FAST, out) != 0;
            failures += det_run_mode(&l, name, label, input, input_len, output,
                                     DETVM_TRACE_SECURE, out) != 0;
        }
        free(input);
        free(output);
    }
    if (!feof(manifest)) {
        fprintf(stderr, "%s/manifest: a line does not hold four fields\n", work);
        failures++;
    }
    fclose(manifest);
    det_unload(&l);
    return failures;
}

#endif
