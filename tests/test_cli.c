/* The detvm command ($BUILD/detvm, run through the shell) on the fixture model
 * fixtures/cvm/chain_23: outputs, compiled modules, exit statuses and one-line messages, help,
 * info (text and JSON) and explain, and that no command leaves a half-written or clobbered
 * output file. With ../shared, also the divergence warnings of `detvm info`. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "corpus.h"
#include "cli_run.h"
#include "module_format.h"

#define FIXTURE "fixtures/cvm/chain_23"
#define SYMBOL FIXTURE "/symbol.json"
#define PARAMS FIXTURE "/params.bin"
#define INPUT FIXTURE "/input.bin"
#define EXPECTED FIXTURE "/expected.bin"
#define FIXTURE_TFLITE "fixtures/tflite/hello_world_int8"

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* 1 when the file holds exactly the given bytes. */
static int file_is(const char *path, const void *want, size_t want_len)
{
    size_t len = 0;
    uint8_t *got = read_file(path, &len);
    int same = got && len == want_len && memcmp(got, want, len) == 0;
    free(got);
    return same;
}

static int files_equal(const char *a, const char *b)
{
    size_t len = 0;
    uint8_t *want = read_file(b, &len);
    int same = want && file_is(a, want, len);
    free(want);
    return same;
}

static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static long long fixture_gas(void)
{
    json_t *meta = json_load_file(FIXTURE "/meta.json", 0, NULL);
    long long gas = meta_int(meta, "gas");
    json_decref(meta);
    return gas;
}

/* The op nodes of the fixture's graph, in node order. */
static json_t *fixture_op_nodes(void)
{
    json_t *graph = json_load_file(SYMBOL, 0, NULL), *ops = json_array();
    size_t i;
    json_t *node;
    json_array_foreach(json_object_get(graph, "nodes"), i, node) {
        const char *op = json_string_value(json_object_get(node, "op"));
        if (op && strcmp(op, "null") != 0)
            json_array_append(ops, node);
    }
    json_decref(graph);
    return ops;
}

static void test_run(void)
{
    result r = {0};
    char out[1100];
    tmp_path(out, sizeof out, "run.bin");
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out);
    CHECK(r.status == 0, "run: exit %d, stderr: %s", r.status, r.err);
    CHECK(files_equal(out, EXPECTED), "run: the output is expected.bin");
    CHECK(r.out[0] == 0 && r.err[0] == 0, "run prints nothing: [%s] [%s]", r.out, r.err);

    /* Running again replaces the output whole. */
    CHECK(write_bytes(out, "a longer sentinel than nothing", 30) == 0);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out);
    CHECK(r.status == 0 && files_equal(out, EXPECTED), "run over an existing file");

    /* Options before the positional arguments. */
    CLI(&r, "run", "-o", out, "-i", INPUT, SYMBOL, PARAMS);
    CHECK(r.status == 0 && files_equal(out, EXPECTED), "run with options first: %s", r.err);
    free(r.out);
    free(r.err);
}

static void test_compile(void)
{
    result r = {0};
    char dvm[1100], dvm2[1100], out[1100];
    tmp_path(dvm, sizeof dvm, "chain_23.dvm");
    tmp_path(dvm2, sizeof dvm2, "chain_23_again.dvm");
    tmp_path(out, sizeof out, "from_module.bin");
    CLI(&r, "compile", SYMBOL, PARAMS, "-o", dvm);
    CHECK(r.status == 0 && r.err[0] == 0, "compile: exit %d, stderr: %s", r.status, r.err);
    size_t len = 0;
    uint8_t *bytes = read_file(dvm, &len);
    CHECK(bytes && len >= 4 && memcmp(bytes, DVM_MAGIC, 4) == 0, "compile writes a module");
    free(bytes);

    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    CHECK(stat(dvm, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask),
          "the module has the mode of a new file (%o)", (unsigned)(st.st_mode & 0777));

    CLI(&r, "run", dvm, "-i", INPUT, "-o", out);
    CHECK(r.status == 0, "run the module: exit %d, stderr: %s", r.status, r.err);
    CHECK(files_equal(out, EXPECTED), "the module gives expected.bin");

    CLI(&r, "compile", SYMBOL, PARAMS, "-o", dvm2);
    CHECK(r.status == 0, "compile again: exit %d", r.status);
    CHECK(files_equal(dvm, dvm2), "compiling twice gives identical modules");

    /* info and explain read a module as they read the graph it came from. */
    result from_json = {0};
    CLI(&from_json, "info", SYMBOL, PARAMS);
    CLI(&r, "info", dvm);
    CHECK(r.status == 0 && strcmp(r.out, from_json.out) == 0, "info: module and graph agree");
    CLI(&from_json, "explain", SYMBOL, PARAMS);
    CLI(&r, "explain", dvm);
    CHECK(r.status == 0 && strcmp(r.out, from_json.out) == 0,
          "explain: module and graph agree");

    /* A module takes no params file; a graph needs one. */
    CLI(&r, "run", dvm, PARAMS, "-i", INPUT, "-o", out);
    CHECK(r.status == 1 && one_line_message(r.err), "module with params: %d %s", r.status,
          r.err);
    CLI(&r, "info", SYMBOL);
    CHECK(r.status == 1 && one_line_message(r.err), "graph without params: %d %s", r.status,
          r.err);
    free(from_json.out);
    free(from_json.err);
    free(r.out);
    free(r.err);
}

static void test_bad_input(void)
{
    result r = {0};
    char short_in[1100], empty_in[1100], out[1100], fresh[1100];
    tmp_path(short_in, sizeof short_in, "short_input.bin");
    tmp_path(empty_in, sizeof empty_in, "empty_input.bin");
    tmp_path(out, sizeof out, "sentinel.bin");
    tmp_path(fresh, sizeof fresh, "never_written.bin");
    CHECK(write_bytes(short_in, "1234567", 7) == 0 && write_bytes(empty_in, "", 0) == 0);

    /* The model takes 8 bytes: a wrong length is invalid input (1), and creates no file. */
    CLI(&r, "run", SYMBOL, PARAMS, "-i", short_in, "-o", fresh);
    CHECK(r.status == 1, "7-byte input: exit %d", r.status);
    CHECK(one_line_message(r.err), "7-byte input: one line: %s", r.err);
    CHECK(r.out[0] == 0, "7-byte input: nothing on stdout");
    CHECK(!file_exists(fresh), "a failed run creates no output file");
    CLI(&r, "run", SYMBOL, PARAMS, "-i", PARAMS, "-o", fresh);
    CHECK(r.status == 1 && one_line_message(r.err), "long input: %d %s", r.status, r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", empty_in, "-o", fresh);
    CHECK(r.status == 1 && one_line_message(r.err), "empty input: %d %s", r.status, r.err);
    CHECK(!file_exists(fresh), "failed runs create no output file");

    /* ...and leaves an existing output untouched, whatever the failure. */
    static const char sentinel[] = "sentinel: must survive failed runs\n";
    CHECK(write_bytes(out, sentinel, sizeof sentinel - 1) == 0);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", short_in, "-o", out);
    CHECK(r.status == 1, "wrong input over a sentinel: exit %d", r.status);
    CHECK(file_is(out, sentinel, sizeof sentinel - 1), "wrong input leaves the output as it was");
    CLI(&r, "run", SYMBOL, PARAMS, "-i", FIXTURE "/no_such_input.bin", "-o", out);
    CHECK(r.status == 2, "missing input over a sentinel: exit %d", r.status);
    CHECK(file_is(out, sentinel, sizeof sentinel - 1),
          "a missing input leaves the output as it was");
    CLI(&r, "run", FIXTURE "/no_such_symbol.json", PARAMS, "-i", INPUT, "-o", out);
    CHECK(r.status == 2, "missing model over a sentinel: exit %d", r.status);
    CHECK(file_is(out, sentinel, sizeof sentinel - 1),
          "a missing model leaves the output as it was");
    CLI(&r, "compile", SYMBOL, FIXTURE "/no_such_params.bin", "-o", out);
    CHECK(r.status == 2, "compile with missing params over a sentinel: exit %d", r.status);
    CHECK(file_is(out, sentinel, sizeof sentinel - 1),
          "a failed compile leaves the output as it was");
    free(r.out);
    free(r.err);
}

static void test_missing_files(void)
{
    result r = {0};
    char out[1100], no_dir[1100], no_dir_file[1200];
    tmp_path(out, sizeof out, "missing.bin");
    tmp_path(no_dir, sizeof no_dir, "no_such_dir");
    snprintf(no_dir_file, sizeof no_dir_file, "%s/out.bin", no_dir);

    static const char *const missing[][2] = {
        {FIXTURE "/no_such_symbol.json", PARAMS},
        {SYMBOL, FIXTURE "/no_such_params.bin"},
    };
    for (int i = 0; i < 2; i++) {
        CLI(&r, "run", missing[i][0], missing[i][1], "-i", INPUT, "-o", out);
        CHECK(r.status == 2 && one_line_message(r.err), "run, missing model file %d: %d %s", i,
              r.status, r.err);
        CLI(&r, "compile", missing[i][0], missing[i][1], "-o", out);
        CHECK(r.status == 2 && one_line_message(r.err), "compile, missing file %d: %d %s", i,
              r.status, r.err);
        CLI(&r, "info", missing[i][0], missing[i][1]);
        CHECK(r.status == 2 && one_line_message(r.err), "info, missing file %d: %d %s", i,
              r.status, r.err);
        CLI(&r, "explain", missing[i][0], missing[i][1]);
        CHECK(r.status == 2 && one_line_message(r.err), "explain, missing file %d: %d %s", i,
              r.status, r.err);
    }
    CLI(&r, "run", FIXTURE "/no_such_module.dvm", "-i", INPUT, "-o", out);
    CHECK(r.status == 2 && one_line_message(r.err), "missing module: %d %s", r.status, r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", FIXTURE "/no_such_input.bin", "-o", out);
    CHECK(r.status == 2 && one_line_message(r.err), "missing input: %d %s", r.status, r.err);
    CHECK(!file_exists(out), "no output after missing files");

    /* An output in a directory that does not exist: a runtime error, and no file anywhere. */
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", no_dir_file);
    CHECK(r.status == 2 && one_line_message(r.err), "output directory missing: %d %s",
          r.status, r.err);
    CHECK(!file_exists(no_dir_file) && !file_exists(no_dir), "no output file, no directory");
    CLI(&r, "compile", SYMBOL, PARAMS, "-o", no_dir_file);
    CHECK(r.status == 2 && one_line_message(r.err), "compile, output directory missing: %d %s",
          r.status, r.err);
    CHECK(!file_exists(no_dir), "compile creates no directory");
    free(r.out);
    free(r.err);
}

static void test_usage_errors(void)
{
    result r = {0};
    char out[1100];
    tmp_path(out, sizeof out, "usage.bin");
    static const char *const commands[] = {"run", "compile", "info", "explain"};
    for (int i = 0; i < 4; i++) {
        CLI(&r, commands[i], "--no-such-option", SYMBOL, PARAMS);
        CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "--no-such-option"),
              "%s: unknown option: %d %s", commands[i], r.status, r.err);
        CLI(&r, commands[i]);
        CHECK(r.status == 1 && one_line_message(r.err), "%s without arguments: %d %s",
              commands[i], r.status, r.err);
        CLI(&r, commands[i], SYMBOL, PARAMS, "extra");
        CHECK(r.status == 1 && one_line_message(r.err), "%s with too many arguments: %d %s",
              commands[i], r.status, r.err);
    }
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT);
    CHECK(r.status == 1 && one_line_message(r.err), "run without -o: %d %s", r.status, r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-o", out);
    CHECK(r.status == 1 && one_line_message(r.err), "run without -i: %d %s", r.status, r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-o", out, "-i");
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "needs a value"),
          "-i without its value: %d %s", r.status, r.err);
    CLI(&r, "compile", SYMBOL, PARAMS);
    CHECK(r.status == 1 && one_line_message(r.err), "compile without -o: %d %s", r.status,
          r.err);
    CLI(&r, "compile", SYMBOL, "-o", out);
    CHECK(r.status == 1 && one_line_message(r.err), "compile without params: %d %s", r.status,
          r.err);
    CHECK(!file_exists(out), "usage errors write nothing");
    CLI(&r, "frobnicate");
    CHECK(r.status == 1 && one_line_message(r.err), "unknown command: %d %s", r.status, r.err);
    CLI(&r, "--no-such-option");
    CHECK(r.status == 1 && one_line_message(r.err), "unknown top-level option: %d %s",
          r.status, r.err);
    free(r.out);
    free(r.err);
}

static void test_help(void)
{
    result r = {0};
    static const char *const commands[] = {"run", "compile", "info", "explain"};
    for (int i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: detvm %s ", commands[i]);
        CLI(&r, commands[i], "--help");
        CHECK(r.status == 0 && strncmp(r.out, want, strlen(want)) == 0 && r.err[0] == 0,
              "%s --help: %d [%s] [%s]", commands[i], r.status, r.out, r.err);
        CLI(&r, commands[i], "-h");
        CHECK(r.status == 0 && strncmp(r.out, want, strlen(want)) == 0, "%s -h", commands[i]);
    }
    CLI(&r, "--help");
    CHECK(r.status == 0 && strncmp(r.out, "usage: detvm", 12) == 0 && r.err[0] == 0,
          "--help: %d [%s]", r.status, r.out);
    for (int i = 0; i < 4; i++)
        CHECK(strstr(r.out, commands[i]) != NULL, "--help lists %s", commands[i]);
    CLI(&r, "--version");
    CHECK(r.status == 0 && strncmp(r.out, "detvm ", 6) == 0 && count_lines(r.out) == 1,
          "--version: %d [%s]", r.status, r.out);
    free(r.out);
    free(r.err);
}

static void test_info(void)
{
    result r = {0};
    json_t *ops = fixture_op_nodes();
    long long gas = fixture_gas();
    CHECK(json_array_size(ops) == 12 && gas > 0, "the fixture: 12 op nodes, gas %lld", gas);

    CLI(&r, "info", SYMBOL, PARAMS);
    CHECK(r.status == 0 && r.err[0] == 0, "info: exit %d, stderr: %s", r.status, r.err);
    /* A header, one row per layer (starting with its index), a blank line, the totals. */
    char *save = NULL;
    int rows = 0, header = 0, totals = 0, warnings = 0, in_order = 1;
    long long total_gas = -1;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *end;
        long index = strtol(line, &end, 10);
        if (end != line && (*end == ' ' || *end == 0)) {
            const char *name = json_string_value(
                json_object_get(json_array_get(ops, (size_t)rows), "name"));
            in_order = in_order && index == rows && name && strstr(line, name);
            rows++;
        } else if (strncmp(line, "index", 5) == 0) {
            header++;
        } else if (strncmp(line, "total:", 6) == 0) {
            totals++;
            const char *g = strstr(line, "gas ");
            total_gas = g ? strtoll(g + 4, NULL, 10) : -1;
        } else if (strncmp(line, "warning:", 8) == 0) {
            warnings++;
        }
    }
    CHECK(header == 1, "info: one header line (%d)", header);
    CHECK(rows == (int)json_array_size(ops), "info: %d rows for %zu op nodes", rows,
          json_array_size(ops));
    CHECK(in_order, "info: rows are numbered 0.. and named as the graph's op nodes");
    CHECK(totals == 1 && total_gas == gas, "info: totals line with gas %lld (want %lld)",
          total_gas, gas);
    CHECK(warnings == 0, "info: the fixture has no warnings (%d)", warnings);

    CLI(&r, "info", SYMBOL, PARAMS, "--json");
    CHECK(r.status == 0 && r.err[0] == 0, "info --json: exit %d, stderr: %s", r.status, r.err);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    CHECK(json_is_object(doc), "info --json parses: %s", jerr.text);
    json_t *layers = json_object_get(doc, "layers");
    CHECK(json_is_array(layers) && json_array_size(layers) == 12, "layers: 12 entries");
    static const char *const keys[] = {"index", "op", "name", "inputs", "outputs",
                                       "precision", "param_bytes", "gas"};
    size_t i;
    json_t *layer;
    int complete = 1, typed = 1;
    json_int_t layer_gas = 0;
    json_array_foreach(layers, i, layer) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            complete = complete && json_object_get(layer, keys[k]) != NULL;
        json_t *node = json_array_get(ops, i);
        typed = typed && json_integer_value(json_object_get(layer, "index")) == (json_int_t)i &&
                json_is_string(json_object_get(layer, "op")) &&
                json_equal(json_object_get(layer, "op"),
                           json_object_get(json_object_get(node, "attrs"), "func_name")) &&
                json_equal(json_object_get(layer, "name"), json_object_get(node, "name")) &&
                json_is_array(json_object_get(layer, "inputs")) &&
                json_is_array(json_object_get(layer, "outputs")) &&
                json_is_integer(json_object_get(layer, "param_bytes")) &&
                json_is_integer(json_object_get(layer, "gas"));
        layer_gas += json_integer_value(json_object_get(layer, "gas"));
    }
    CHECK(complete, "every layer has index, op, name, inputs, outputs, precision, "
                    "param_bytes and gas");
    CHECK(typed, "layers are numbered in order, named as the graph's op nodes, and typed");
    CHECK(layer_gas > 0 && layer_gas <= gas, "the layers' gas (%lld) is within the total",
          (long long)layer_gas);
    json_t *totals_obj = json_object_get(doc, "totals");
    CHECK(json_is_object(totals_obj) &&
              json_integer_value(json_object_get(totals_obj, "gas")) == gas,
          "totals.gas is the fixture's gas %lld", gas);
    CHECK(json_integer_value(json_object_get(totals_obj, "layers")) == 12, "totals.layers");
    CHECK(json_is_object(json_object_get(doc, "input")), "input object");
    CHECK(json_integer_value(json_object_get(json_object_get(doc, "input"), "bytes")) == 8,
          "input.bytes");
    CHECK(json_is_object(json_object_get(doc, "output")), "output object");
    CHECK(json_integer_value(json_object_get(json_object_get(doc, "output"), "bytes")) == 384,
          "output.bytes");
    CHECK(json_is_array(json_object_get(doc, "warnings")) &&
              json_array_size(json_object_get(doc, "warnings")) == 0,
          "warnings: an empty array");
    json_decref(doc);
    json_decref(ops);
    free(r.out);
    free(r.err);
}

static void test_explain(void)
{
    result r = {0};
    CLI(&r, "explain", SYMBOL, PARAMS);
    CHECK(r.status == 0 && r.err[0] == 0, "explain: exit %d, stderr: %s", r.status, r.err);
    /* Comment lines start with ';'; every other line is one instruction, numbered in order. */
    char *save = NULL;
    int instructions = 0, in_order = 1, header = 0;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ';') {
            header += strncmp(line, "; 12 instructions", 17) == 0;
            continue;
        }
        char *end;
        long index = strtol(line, &end, 10);
        in_order = in_order && end != line && index == instructions && strstr(line, " <- ");
        instructions++;
    }
    CHECK(instructions == 12, "explain: %d instruction lines, want 12", instructions);
    CHECK(in_order, "explain: lines numbered 0.. with outputs <- inputs");
    CHECK(header == 1, "explain: the header counts 12 instructions");
    free(r.out);
    free(r.err);
}

/* `detvm info` warns of constructs where the CVM CPU and formal back ends disagree. */
static void test_divergence_warnings(void)
{
    const char *shared = shared_dir();
    if (!shared) {
        SKIP("../shared/conformance/cvm is absent: divergence warnings of detvm info not "
             "checked");
        return;
    }
    static const struct {
        const char *case_dir;
        int warns;
    } cases[] = {{"divergent/edge_00", 1}, {"valid/conv2d_0", 0}};
    result r = {0};
    for (int i = 0; i < 2; i++) {
        char sym[1200], params[1200];
        snprintf(sym, sizeof sym, "%s/conformance/cvm/%s/symbol.json", shared, cases[i].case_dir);
        snprintf(params, sizeof params, "%s/conformance/cvm/%s/params.bin", shared,
                 cases[i].case_dir);
        if (!file_exists(sym)) {
            SKIP("%s is absent from the corpus", cases[i].case_dir);
            continue;
        }
        CLI(&r, "info", sym, params);
        CHECK(r.status == 0, "info %s: exit %d, stderr: %s", cases[i].case_dir, r.status, r.err);
        int warnings = 0;
        for (const char *line = r.out; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1
                                                                          : line + strlen(line))
            warnings += strncmp(line, "warning:", 8) == 0;
        CHECK(cases[i].warns ? warnings > 0 : warnings == 0, "info %s: %d warning lines",
              cases[i].case_dir, warnings);
        CLI(&r, "info", sym, params, "--json");
        json_t *doc = json_loads(r.out, 0, NULL);
        size_t n = json_array_size(json_object_get(doc, "warnings"));
        CHECK(cases[i].warns ? n > 0 : n == 0, "info --json %s: %zu warnings",
              cases[i].case_dir, n);
        json_decref(doc);
    }
    free(r.out);
    free(r.err);
}

/* No command left a temporary file behind; then the directory goes. */
/* The same commands on the fixture .tflite model: raw int8 in and out, --float-io, the
 * number of -o, compile (and its --rounding), info and explain. */
#define TFL FIXTURE_TFLITE "/model.tflite"
#define TFL_INPUT FIXTURE_TFLITE "/inputs/sin_x1.57.bin"
#define TFL_EXPECTED FIXTURE_TFLITE "/expected/sin_x1.57.out0.bin"

static void test_tflite(void)
{
    result r = {0};
    char out[1100], out2[1100], module[1100], floats[1100], back[1100];
    tmp_path(out, sizeof out, "tfl.bin");
    tmp_path(out2, sizeof out2, "tfl2.bin");
    tmp_path(module, sizeof module, "tfl.dvm");
    tmp_path(floats, sizeof floats, "tfl_in.f32");
    tmp_path(back, sizeof back, "tfl_out.f32");
    CLI(&r, "run", TFL, "-i", TFL_INPUT, "-o", out);
    CHECK(r.status == 0 && files_equal(out, TFL_EXPECTED), "tflite run: %d %s", r.status, r.err);
    CLI(&r, "run", TFL, "-i", TFL_INPUT, "-o", out, "-o", out2);
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "1 output file"),
          "two -o for one output: %s", r.err);
    CLI(&r, "run", TFL, PARAMS, "-i", TFL_INPUT, "-o", out);
    CHECK(r.status == 1 && one_line_message(r.err), "a params file with .tflite: %s", r.err);

    /* compile, then run the module: the same bytes; --rounding single is recorded */
    CLI(&r, "compile", TFL, "-o", module);
    CHECK(r.status == 0, "tflite compile: %s", r.err);
    CLI(&r, "run", module, "-i", TFL_INPUT, "-o", out);
    CHECK(r.status == 0 && files_equal(out, TFL_EXPECTED), "run the compiled module: %s", r.err);
    CLI(&r, "info", TFL, "--rounding", "single");
    CHECK(r.status == 0 && strstr(r.out, "tflite, rounding single"), "info: %s", r.out);
    CLI(&r, "info", TFL, "--rounding", "triple");
    CHECK(r.status == 1 && one_line_message(r.err), "bad --rounding: %s", r.err);
    CLI(&r, "info", TFL);
    CHECK(r.status == 0 && strstr(r.out, "tflite, rounding double") &&
              strstr(r.out, "int8") && strstr(r.out, "zero point -128"),
          "info: %s", r.out);
    CLI(&r, "explain", TFL);
    CHECK(r.status == 0 && strstr(r.out, "qfully_connected"), "explain: %s", r.out);

    /* --float-io: the float that dequantizes the golden input gives the golden output's float */
    int8_t q;
    size_t n = 0;
    uint8_t *in = read_file(TFL_INPUT, &n);
    q = in && n == 1 ? (int8_t)in[0] : 0;
    free(in);
    float x = (float)((double)0.0244801156f * (q + 128));
    CHECK(write_bytes(floats, &x, 4) == 0);
    CLI(&r, "run", TFL, "-i", floats, "-o", back, "--float-io");
    uint8_t *y = read_file(back, &n), *want = read_file(TFL_EXPECTED, &n);
    float got = 0;
    if (y)
        memcpy(&got, y, 4);
    CHECK(r.status == 0 && want && got == (float)((double)0.00829095673f * ((int8_t)want[0] - 5)),
          "--float-io: %d %s %g", r.status, r.err, got);
    free(y);
    free(want);
    CLI(&r, "run", TFL, "-i", TFL_INPUT, "-o", back, "--float-io");
    CHECK(r.status == 1 && one_line_message(r.err), "--float-io with 1 byte: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", back, "--float-io");
    CHECK(r.status == 1 && one_line_message(r.err), "--float-io on CVM: %s", r.err);
    free(r.out);
    free(r.err);
}

/* trace, bisect (two files, two receipts, a peer process held to its receipt), prove-step
 * and check-step through the command line. */
static void test_verification_commands(void)
{
    result r = {0};
    char t1[1100], t2[1100], other_input[1100], proof[1100], key[1100], pub[1100], r1[1100],
        r2[1100], out[1100], peer[4000];
    tmp_path(t1, sizeof t1, "t1.trc");
    tmp_path(t2, sizeof t2, "t2.trc");
    tmp_path(other_input, sizeof other_input, "other_input.bin");
    tmp_path(proof, sizeof proof, "step.prf");
    tmp_path(key, sizeof key, "key");
    tmp_path(pub, sizeof pub, "key.pub");
    tmp_path(r1, sizeof r1, "r1.rcpt");
    tmp_path(r2, sizeof r2, "r2.rcpt");
    tmp_path(out, sizeof out, "out.bin");
    size_t n = 0;
    uint8_t *in = read_file(INPUT, &n);
    if (in && n > 0)
        in[n - 1] ^= 0x40;
    CHECK(in && write_bytes(other_input, in, n) == 0);
    free(in);
    CLI(&r, "trace", SYMBOL, PARAMS, "-i", INPUT, "-o", t1);
    CHECK(r.status == 0 && strstr(r.out, "12 steps, fast, root "), "trace: %s %s", r.out, r.err);
    CLI(&r, "trace", SYMBOL, PARAMS, "-i", other_input, "-o", t2);
    CHECK(r.status == 0, "trace 2: %s", r.err);
    CLI(&r, "bisect", t1, t1);
    CHECK(r.status == 0 && strncmp(r.out, "identical\n", 10) == 0, "bisect same: %s", r.out);
    CLI(&r, "bisect", t1, t2);
    CHECK(r.status == 1 && strncmp(r.out, "first divergence: step ", 23) == 0,
          "bisect: %s %s", r.out, r.err);
    char *local = strdup(r.out);
    snprintf(peer, sizeof peer, "'%s' bisect --serve '%s'", detvm, t2);
    CLI(&r, "bisect", t1, "--peer", peer);
    CHECK(r.status == 1 && strcmp(r.out, local) == 0, "bisect with a peer: %s %s", r.out, r.err);
    free(local);
    CLI(&r, "bisect", t1, INPUT);
    CHECK(r.status == 1 && one_line_message(r.err), "bisect a non-trace: %s", r.err);

    /* receipts: two runs signed, compared, and a peer held to its receipt */
    CLI(&r, "keygen", "-o", key);
    CHECK(r.status == 0, "keygen: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", INPUT, "-o", out, "--receipt", r1, "--key", key);
    CHECK(r.status == 0, "run --receipt: %s", r.err);
    CLI(&r, "run", SYMBOL, PARAMS, "-i", other_input, "-o", out, "--receipt", r2, "--key", key);
    CLI(&r, "bisect", r1, r1);
    CHECK(r.status == 0 && strncmp(r.out, "identical", 9) == 0, "receipts: %s %s", r.out, r.err);
    CLI(&r, "bisect", r1, r2);
    CHECK(r.status == 1 && strstr(r.out, "roots differ"), "receipts differ: %s", r.out);
    CLI(&r, "bisect", t1, "--peer", peer, "--receipt", r2, "--pub", pub);
    CHECK(r.status == 1 && strncmp(r.out, "first divergence", 16) == 0, "held peer: %s %s",
          r.out, r.err);
    snprintf(peer, sizeof peer, "'%s' bisect --serve '%s'", detvm, t1);
    CLI(&r, "bisect", t1, "--peer", peer, "--receipt", r2, "--pub", pub);
    CHECK(r.status == 1 && one_line_message(r.err) && strstr(r.err, "receipt"),
          "a peer that breaks its receipt: %s", r.err);

    /* one-step proofs */
    CLI(&r, "prove-step", SYMBOL, PARAMS, "-i", INPUT, "--step", "7", "-o", proof, "--mode",
        "secure");
    CHECK(r.status == 0, "prove-step: %s", r.err);
    CLI(&r, "check-step", SYMBOL, PARAMS, proof);
    CHECK(r.status == 0 && strstr(r.out, "step 7: the claimed output is correct"),
          "check-step: %s %s", r.out, r.err);
    size_t len = 0;
    uint8_t *bytes = read_file(proof, &len);
    CHECK(bytes && len > 40 && write_bytes(proof, bytes, len - 1) == 0);
    free(bytes);
    CLI(&r, "check-step", SYMBOL, PARAMS, proof);
    CHECK(r.status == 1 && one_line_message(r.err), "truncated proof: %s", r.err);
    CLI(&r, "prove-step", SYMBOL, PARAMS, "-i", INPUT, "--step", "99", "-o", proof);
    CHECK(r.status == 1 && one_line_message(r.err), "step out of range: %s", r.err);
    CLI(&r, "prove-step", SYMBOL, PARAMS, "-i", INPUT, "--step", "x", "-o", proof);
    CHECK(r.status == 1 && one_line_message(r.err), "bad --step: %s", r.err);
    free(r.out);
    free(r.err);
}

int main(void)
{
    if (!file_exists(SYMBOL)) {
        CHECK(0, "%s is missing (run the test from the repository root)", SYMBOL);
        return check_summary("test_cli");
    }
    if (cli_setup("cli") != 0)
        return check_summary("test_cli");
    test_run();
    test_compile();
    test_bad_input();
    test_missing_files();
    test_usage_errors();
    test_help();
    test_info();
    test_explain();
    test_divergence_warnings();
    test_tflite();
    test_verification_commands();
    remove_tmp_dir();
    return check_summary("test_cli");
}
