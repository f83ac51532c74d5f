/* The detvm command. Each command is one library call plus printing; errors are one line on
 * stderr, and the exit status is the status class (0 ok, 1 invalid model or input, 2 runtime
 * or environment error). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "detvm.h"
#include "io.h"

static const char run_help[] =
    "usage: detvm run MODEL [PARAMS] -i INPUT -o OUTPUT [-o OUTPUT ...] [--float-io]\n"
    "                 [--rounding double|single] [--receipt R --key KEY [--mode fast|secure]]\n"
    "                 [--record [--store-input] [--key KEY] [--registry PATH]]\n"
    "Runs MODEL (a .dvm module, a .tflite file, a K210 .kmodel, a CVM graph JSON followed by\n"
    "its params, or registry:NAME[@VERSION], a model from the registry) on the raw bytes of\n"
    "INPUT and writes the raw output bytes.\n"
    "  CVM models: int8 elements, or little-endian int32 when the input precision is above 8,\n"
    "  in and out exactly as CVMAPIInference takes and returns them; one -o.\n"
    "  TFLite models: the input tensor's own int8 or uint8 bytes; one -o per output, in output\n"
    "  order, each the output tensor's bytes. --float-io takes and writes little-endian float32\n"
    "  instead, converted with TFLite's quantize and dequantize formulas. --rounding picks\n"
    "  TFLite Micro's double rounding (the default) or the single-rounding variant when a\n"
    "  .tflite file is compiled. --kpu-semantics picks the KPU arithmetic of a kmodel: nncase\n"
    "  (v0.2, the default, as the nncase simulator) or sdk (v0.1 and the Kendryte SDK).\n"
    "  kmodels: uint8 CHW bytes for a KPU input (or the float32 input vector); one -o per\n"
    "  output, in output order, each the output's raw bytes (float32 for these models). KPU\n"
    "  layers run on the k210 device (here its emulator), DETVM_DEVICES=cpu keeps them on the\n"
    "  CPU; the bytes are the same.\n"
    "--receipt R --key KEY traces the run (--mode fast, the default, or secure) and writes R,\n"
    "  a receipt signed with the secret key KEY (from detvm keygen): the module id, the hashes\n"
    "  of the input and output bytes the model took and gave (with --float-io, the quantized\n"
    "  bytes), the trace root and steps, the engine version, devices, kernel variants and gas.\n"
    "  Check it with detvm receipt verify.\n"
    "--record traces the run and records it in the registry (--registry PATH, else\n"
    "  $DETVM_REGISTRY, else $XDG_DATA_HOME/detvm/registry.db or ~/.local/share/detvm/):\n"
    "  the module, the input and output hashes, the trace root and every step's output hash,\n"
    "  a receipt signed with KEY (else with the registry's own key, FILE.key beside it), the\n"
    "  engine version, devices, kernel variants and duration; --store-input keeps the input\n"
    "  bytes too, so that detvm audit can replay the run. Prints \"recorded run ID\".\n"
    "--require-signed and --trust KEY.pub apply the trust policy to registry models\n"
    "  (see detvm registry --help).\n"
    "Exit status: 0, 1 (invalid model or input) or 2 (runtime error).\n";

static float float_at(const uint8_t *p)
{
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void put_float(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(bits >> (8 * i));
}

/* --float-io: replaces the float32 input bytes by the quantized input. */
static int quantize_input(const detvm_module *m, uint8_t **input, size_t *len)
{
    detvm_io_desc io;
    detvm_error err = {0};
    detvm_module_io(m, 0, 0, &io, &err);
    if (*len != io.count * 4) {
        fprintf(stderr, "detvm: input: %zu bytes given, the model takes %llu float32 values\n",
                *len, (unsigned long long)io.count);
        return EXIT_INVALID;
    }
    float *x = malloc(io.count * sizeof *x + 1);
    uint8_t *q = malloc(io.bytes + 1);
    if (!x || !q) {
        free(x);
        free(q);
        return EXIT_RUNTIME;
    }
    for (uint64_t i = 0; i < io.count; i++)
        x[i] = float_at(*input + 4 * i);
    int rc = detvm_quantize(&io, x, io.count, q, &err) ? fail(&err) : 0;
    free(x);
    free(*input);
    *input = q;
    *len = io.bytes;
    return rc;
}

/* Writes output k's part of the run's output buffer, as float32 with --float-io. */
static int write_output(const detvm_module *m, uint32_t k, const uint8_t *output,
                        const char *path, int float_io)
{
    detvm_io_desc io;
    detvm_error err = {0};
    detvm_module_io(m, 1, k, &io, &err);
    if (!float_io)
        return io_write_file(path, output + io.offset, io.bytes) ? EXIT_RUNTIME : 0;
    float *x = malloc(io.count * sizeof *x + 1);
    uint8_t *bytes = malloc(io.count * 4 + 1);
    int rc = !x || !bytes ? EXIT_RUNTIME : 0;
    if (!rc && detvm_dequantize(&io, output + io.offset, io.count, x, &err))
        rc = fail(&err);
    for (uint64_t i = 0; !rc && i < io.count; i++)
        put_float(bytes + 4 * i, x[i]);
    if (!rc && io_write_file(path, bytes, io.count * 4))
        rc = EXIT_RUNTIME;
    free(x);
    free(bytes);
    return rc;
}

/* Signs the session's traced run and writes the receipt whole. */
static int write_receipt(const detvm_session *s, const uint8_t *input, size_t in_len,
                         const uint8_t *output, size_t out_len, const uint8_t *key,
                         const char *path)
{
    uint8_t *receipt = NULL;
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_receipt_make(s, input, in_len, output, out_len, key, &receipt, &len, &err))
        return fail(&err);
    int rc = io_write_file(path, receipt, len) ? EXIT_RUNTIME : 0;
    free(receipt);
    return rc;
}

/* Records the session's traced run in the registry and prints its id. */
static int record_run(const args *a, const detvm_session *s, const uint8_t *input, size_t in_len,
                      const uint8_t *output, size_t out_len, const uint8_t *key,
                      const detvm_model_record *named, uint64_t duration_ns)
{
    detvm_registry *reg = NULL;
    int rc = open_registry(a, &reg);
    if (rc)
        return rc;
    detvm_record_options opt = {named ? named->name : NULL, named ? named->version : NULL,
                                a->store_input, key, duration_ns};
    detvm_error err = {0};
    int64_t id = 0;
    if (detvm_registry_record(reg, s, input, in_len, output, out_len, &opt, &id, &err))
        rc = fail(&err);
    else
        printf("recorded run %lld\n", (long long)id);
    detvm_registry_close(reg);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    args a;
    int rc = parse_args("run", argc, argv, &a);
    if (rc)
        return rc;
    if (!a.input || a.n_outputs < 1)
        return usage_error("run", "-i INPUT and -o OUTPUT are required");
    if (a.receipt && !a.key)
        return usage_error("run", "--receipt R and --key KEY go together");
    if (a.key && !a.receipt && !a.record)
        return usage_error("run", "--key KEY goes with --receipt R or --record");
    if (a.store_input && !a.record)
        return usage_error("run", "--store-input goes with --record");
    uint8_t *bytes = NULL, *input = NULL, *output = NULL;
    size_t in_len = 0;
    detvm_module *m = NULL;
    detvm_session *s = NULL;
    detvm_error err = {0};
    uint8_t key[DETVM_SECRET_KEY_BYTES];
    detvm_model_record named;
    if (a.key && detvm_secret_key_read(a.key, key, &err))
        return fail(&err);
    if ((rc = open_model_named(&a, &bytes, &m, &named)))
        return rc;
    if (detvm_read_file(a.input, &input, &in_len, &err)) {
        rc = fail(&err);
        goto done;
    }
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    uint32_t n_files = strcmp(info.postprocess_name, "separate") == 0 ? info.n_outputs : 1;
    if ((uint32_t)a.n_outputs != n_files) {
        fprintf(stderr, "detvm run: the model writes %u output file%s, %d -o given\n", n_files,
                n_files == 1 ? "" : "s", a.n_outputs);
        rc = EXIT_INVALID;
        goto done;
    }
    if (a.float_io && !strcmp(info.source_format, "cvm")) {
        rc = usage_error("run", "--float-io needs a quantized (TFLite) model");
        goto done;
    }
    if (a.float_io && (rc = quantize_input(m, &input, &in_len)))
        goto done;
    output = malloc(info.output_len + 1);
    struct timespec t0, t1;
    if (!output || detvm_session_new(m, &s, &err) ||
        ((a.receipt || a.record) && detvm_session_set_trace(s, a.mode, &err)) ||
        clock_gettime(CLOCK_MONOTONIC, &t0) ||
        detvm_run(s, input, in_len, output, info.output_len, &err)) {
        rc = output ? fail(&err) : EXIT_RUNTIME;
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (uint32_t k = 0; !rc && k < n_files; k++)
        rc = write_output(m, k, output, a.outputs[k], a.float_io);
    if (!rc && a.receipt)
        rc = write_receipt(s, input, in_len, output, info.output_len, key, a.receipt);
    if (!rc && a.record) {
        uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
                      (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
        rc = record_run(&a, s, input, in_len, output, info.output_len, a.key ? key : NULL,
                        named.name[0] ? &named : NULL, ns);
    }
done:
    detvm_session_free(s);
    detvm_module_free(m);
    free(bytes);
    free(input);
    free(output);
    return rc;
}

static const char compile_help[] =
    "usage: detvm compile SYMBOL PARAMS -o MODULE [--no-packs]\n"
    "       detvm compile MODEL.tflite -o MODULE [--rounding double|single] [--no-packs]\n"
    "       detvm compile MODEL.kmodel -o MODULE [--kpu-semantics nncase|sdk] [--no-packs]\n"
    "Compiles a CVM model (graph JSON and params), an int8 .tflite model or a K210 kmodel\n"
    "(v3 or v4) into a bytecode module. --rounding picks TFLite Micro's double rounding (the\n"
    "default) or its single-rounding variant; the module records which. Compiling the same\n"
    "model twice gives identical bytes. The module is written whole or not at all.\n"
    "The module also holds the weights pre-packed for the kernels this CPU runs, used in\n"
    "place on load (after a check against the weights); they are not part of the module id.\n"
    "--no-packs leaves them out, for module bytes that do not depend on the compiling CPU.\n";

static int cmd_compile(int argc, char **argv)
{
    args a;
    int rc = parse_args("compile", argc, argv, &a);
    if (rc)
        return rc;
    if (a.n_outputs != 1)
        return usage_error("compile", "MODEL [PARAMS] and -o MODULE are required");
    uint8_t *bytes = NULL;
    size_t len = 0;
    detvm_error err = {0};
    if (detvm_load_model_files(a.model, a.params, &a.tflite, &bytes, &len, &err))
        return fail(&err);
    rc = io_write_file(a.outputs[0], bytes, len) ? EXIT_RUNTIME : 0;
    free(bytes);
    return rc;
}

static void id_text(const detvm_module *m, char hex[65])
{
    uint8_t id[32];
    detvm_module_id(m, id);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
}

static void shape_text(const detvm_tensor_desc *t, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (uint32_t d = 0; d < t->ndim && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, d ? ",%u" : "%u", t->dim[d]);
    if (used < cap)
        snprintf(buf + used, cap - used, ")");
}

static json_t *shape_json(const detvm_tensor_desc *t)
{
    json_t *a = json_array();
    for (uint32_t d = 0; d < t->ndim; d++)
        json_array_append_new(a, json_integer(t->dim[d]));
    return a;
}

static const char info_help[] =
    "usage: detvm info MODEL [PARAMS] [--json]\n"
    "Prints one row per layer (index, op, name, input and output shapes, output precision,\n"
    "parameter bytes, gas), then the totals, the input and outputs, and any warnings (such as\n"
    "constructs where the CVM runtime's CPU and formal back ends disagree: detvm follows the\n"
    "formal semantics). --json prints the same as one JSON object.\n"
    "The memory line gives the planned arena of the tensors against its lower bound, the peak\n"
    "of tensor bytes live at one time (each tensor rounded up to the arena's 64-byte alignment,\n"
    "and as is), and the kernels' scratch; the totals give the multiply-accumulates (MACs).\n";

static const char *dtype_name(detvm_dtype dtype)
{
    static const char *names[] = {"int32", "int8", "uint8", "int16", "float32"};
    return (unsigned)dtype < 5 ? names[dtype] : "unknown";
}

/* One binding: name, shape, precision, element type and size, and its quantization. */
static void binding_line(const detvm_module *m, int is_output, uint32_t k)
{
    detvm_io_desc io;
    detvm_tensor_desc t;
    char shape[128], role[32];
    detvm_module_io(m, is_output, k, &io, NULL);
    detvm_module_tensor(m, io.tensor, &t, NULL);
    shape_text(&t, shape, sizeof shape);
    snprintf(role, sizeof role, is_output ? "output %u" : "input", k);
    printf("%s: %s %s precision %u, %s, %u-byte elements", role, t.name, shape, t.precision,
           dtype_name(io.dtype), io.element_bytes);
    if (io.quantized)
        printf(", scale %.9g, zero point %d%s", io.scale, io.zero_point,
               io.float_in_source ? ", float32 in the source" : "");
    printf("\n");
}

/* The JSON of one binding. */
static json_t *binding_json(const detvm_module *m, int is_output, uint32_t k)
{
    detvm_io_desc io;
    detvm_tensor_desc t;
    detvm_module_io(m, is_output, k, &io, NULL);
    detvm_module_tensor(m, io.tensor, &t, NULL);
    json_t *b = json_pack("{s:s, s:o, s:i, s:s, s:i}", "name", t.name, "shape", shape_json(&t),
                          "precision", (int)t.precision, "dtype", dtype_name(io.dtype),
                          "element_bytes", (int)io.element_bytes);
    if (io.quantized) {
        json_object_set_new(b, "scale", json_real(io.scale));
        json_object_set_new(b, "zero_point", json_integer(io.zero_point));
        json_object_set_new(b, "float_in_source", json_boolean(io.float_in_source));
    }
    return b;
}

static int cmd_info(int argc, char **argv)
{
    args a;
    int rc = parse_args("info", argc, argv, &a);
    if (rc)
        return rc;
    uint8_t *bytes = NULL;
    detvm_module *m = NULL;
    if ((rc = open_model(&a, &bytes, &m)))
        return rc;
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    detvm_memory_plan plan;
    detvm_error plan_err = {0};
    if (detvm_module_memory_plan(m, &plan, &plan_err)) {
        detvm_module_free(m);
        free(bytes);
        return fail(&plan_err);
    }
    double plan_ratio = plan.peak_live_aligned ? (double)plan.arena_bytes / plan.peak_live_aligned
                                               : 1.0;
    json_t *layers = json_array();
    uint64_t param_total = 0;
    if (!a.json)
        printf("%5s  %-20s %-24s %-36s %-20s %4s %12s %14s\n", "index", "op", "name", "inputs",
               "outputs", "prec", "param bytes", "gas");
    for (uint32_t k = 0; k < info.n_instructions; k++) {
        detvm_layer_desc l;
        detvm_module_layer(m, k, &l, NULL);
        param_total += l.param_bytes;
        char ins[512] = "", outs[256] = "", shape[128];
        json_t *jin = json_array(), *jout = json_array(), *jprec = json_array();
        uint32_t prec = 0;
        for (uint32_t j = 0; j < l.n_inputs + l.n_outputs; j++) {
            detvm_tensor_desc t;
            detvm_module_tensor(m, l.tensors[j], &t, NULL);
            shape_text(&t, shape, sizeof shape);
            char *dst = j < l.n_inputs ? ins : outs;
            size_t cap = j < l.n_inputs ? sizeof ins : sizeof outs, used = strlen(dst);
            snprintf(dst + used, cap - used, "%s%s", used ? " " : "", shape);
            json_array_append_new(j < l.n_inputs ? jin : jout, shape_json(&t));
            if (j >= l.n_inputs) {
                json_array_append_new(jprec, json_integer(t.precision));
                prec = t.precision;
            }
        }
        if (a.json) {
            json_array_append_new(
                layers, json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:I}", "index",
                                  (int)k, "op", l.op, "name", l.name, "inputs", jin, "outputs",
                                  jout, "precision", jprec, "param_bytes",
                                  (json_int_t)l.param_bytes, "gas", (json_int_t)l.gas, "macs",
                                  (json_int_t)detvm_layer_macs(m, k)));
        } else {
            json_decref(jin);
            json_decref(jout);
            json_decref(jprec);
            printf("%5u  %-20s %-24s %-36s %-20s %4u %12llu %14llu\n", k, l.op, l.name, ins,
                   outs, prec, (unsigned long long)l.param_bytes, (unsigned long long)l.gas);
        }
    }
    json_t *warnings = json_array();
    for (uint32_t i = 0; detvm_module_warning(m, i); i++)
        json_array_append_new(warnings, json_string(detvm_module_warning(m, i)));
    if (a.json) {
        json_t *outputs = json_array();
        for (uint32_t k = 0; k < info.n_outputs; k++)
            json_array_append_new(outputs, binding_json(m, 1, k));
        json_t *input = binding_json(m, 0, 0);
        json_object_set_new(input, "bytes", json_integer((json_int_t)info.input_len));
        json_object_set_new(input, "type_size", json_integer(info.input_type_size));
        char id[65];
        id_text(m, id);
        json_t *doc = json_pack(
            "{s:s, s:s, s:s, s:o, s:{s:I, s:I, s:I, s:I, s:i}, s:o, "
            "s:{s:o, s:I, s:i, s:s}, s:s, s:o}",
            "module_id", id, "source", info.source_format, "rounding", info.rounding, "layers",
            layers, "totals", "layers", (json_int_t)info.n_instructions, "gas",
            (json_int_t)info.gas, "param_bytes", (json_int_t)param_total, "storage_size",
            (json_int_t)info.storage_size, "arena_bytes", (json_int_t)info.arena_bytes, "input",
            input,
            "output", "heads", outputs, "bytes", (json_int_t)info.output_len, "type_size",
            (int)info.output_type_size, "postprocess", info.postprocess_name, "version",
            info.version, "warnings", warnings);
        json_object_set_new(json_object_get(doc, "totals"), "macs",
                            json_integer((json_int_t)detvm_module_macs(m)));
        json_object_set_new(doc, "packs",
                            json_pack("{s:i, s:i, s:I}", "instructions", (int)info.n_packs,
                                      "used", (int)info.n_packs_used, "used_bytes",
                                      (json_int_t)info.packed_bytes));
        json_object_set_new(
            doc, "memory",
            json_pack("{s:I, s:I, s:I, s:I, s:f, s:I, s:i, s:i}", "arena_bytes",
                      (json_int_t)plan.arena_bytes, "scratch_bytes",
                      (json_int_t)plan.scratch_bytes, "peak_live_bytes",
                      (json_int_t)plan.peak_live_bytes, "peak_live_aligned_bytes",
                      (json_int_t)plan.peak_live_aligned, "arena_to_peak", plan_ratio,
                      "tensor_bytes", (json_int_t)plan.tensor_bytes, "arena_tensors",
                      (int)plan.n_tensors, "int8_tensors", (int)plan.n_int8_tensors));
        char *text = json_dumps(doc, JSON_INDENT(1));
        puts(text);
        free(text);
        json_decref(doc);
    } else {
        json_decref(layers);
        printf("\ntotal: %u layers, gas %llu, parameter bytes %llu, CVM storage size %llu, "
               "arena %llu bytes, MACs %llu\n",
               info.n_instructions, (unsigned long long)info.gas,
               (unsigned long long)param_total, (unsigned long long)info.storage_size,
               (unsigned long long)info.arena_bytes, (unsigned long long)detvm_module_macs(m));
        char at[48];
        snprintf(at, sizeof at, plan.peak_step == UINT32_MAX ? "at the start" : "at step %u",
                 plan.peak_step);
        printf("memory: arena %llu bytes, %.3f x the peak of live tensor bytes %llu (%llu as "
               "is, %s); scratch %llu bytes; %u arena tensors of %llu bytes in all, %u of "
               "them stored as int8\n",
               (unsigned long long)plan.arena_bytes, plan_ratio,
               (unsigned long long)plan.peak_live_aligned,
               (unsigned long long)plan.peak_live_bytes, at,
               (unsigned long long)plan.scratch_bytes, plan.n_tensors,
               (unsigned long long)plan.tensor_bytes, plan.n_int8_tensors);
        printf("source %s%s%s\n", info.source_format, info.rounding[0] ? ", rounding " : "",
               info.rounding);
        if (info.n_packs)
            printf("packed weights: %u instructions, %u of them (%llu bytes) checked and used in "
                   "place on this CPU%s\n",
                   info.n_packs, info.n_packs_used, (unsigned long long)info.packed_bytes,
                   info.n_packs_used < info.n_packs ? "; sessions pack the others themselves"
                                                    : "");
        if (info.n_segments)
            printf("devices: %s runs %u of the %u instructions, in %u segments; the CPU the "
                   "rest (DETVM_DEVICES=cpu: all)\n",
                   info.segment_devices, info.segment_instructions, info.n_instructions,
                   info.n_segments);
        binding_line(m, 0, 0);
        for (uint32_t k = 0; k < info.n_outputs; k++)
            binding_line(m, 1, k);
        printf("input %llu bytes, output %llu bytes, postprocess %s, version %s\n",
               (unsigned long long)info.input_len, (unsigned long long)info.output_len,
               info.postprocess_name[0] ? info.postprocess_name : "none", info.version);
        char id[65];
        id_text(m, id);
        printf("module id %s\n", id);
        for (size_t i = 0; i < json_array_size(warnings); i++)
            printf("warning: %s\n", json_string_value(json_array_get(warnings, i)));
        json_decref(warnings);
    }
    detvm_module_free(m);
    free(bytes);
    return 0;
}

static const char explain_help[] =
    "usage: detvm explain MODEL [PARAMS]\n"
    "Prints the bytecode listing, one instruction per line: index, op, outputs <- inputs\n"
    "(t = arena tensor, c = constant, with shapes), the attribute values, and the layer name.\n";

static int cmd_explain(int argc, char **argv)
{
    args a;
    int rc = parse_args("explain", argc, argv, &a);
    if (rc)
        return rc;
    uint8_t *bytes = NULL;
    detvm_module *m = NULL;
    if ((rc = open_model(&a, &bytes, &m)))
        return rc;
    detvm_module_info info;
    detvm_module_get_info(m, &info);
    printf("; %u instructions, arena %llu bytes, input t%u\n", info.n_instructions,
           (unsigned long long)info.arena_bytes, detvm_module_input(m));
    for (uint32_t k = 0; k < info.n_instructions; k++) {
        detvm_layer_desc l;
        detvm_module_layer(m, k, &l, NULL);
        printf("%5u  %-20s", k, l.op);
        for (uint32_t j = 0; j < l.n_inputs + l.n_outputs; j++) {
            uint32_t pos = j < l.n_outputs ? l.n_inputs + j : j - l.n_outputs;
            detvm_tensor_desc t;
            char shape[128];
            detvm_module_tensor(m, l.tensors[pos], &t, NULL);
            shape_text(&t, shape, sizeof shape);
            printf("%s%c%u%s", j == l.n_outputs ? " <- " : j ? ", " : " ",
                   t.is_constant ? 'c' : 't', t.id, shape);
        }
        printf("  [");
        for (uint32_t i = 0; i < l.n_attrs; i++)
            printf(i ? " %d" : "%d", l.attrs[i]);
        printf("]  ; %s\n", l.name);
    }
    for (uint32_t k = 0; k < info.n_outputs; k++)
        printf("; output %u: t%u\n", k, detvm_module_output(m, k));
    detvm_module_free(m);
    free(bytes);
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
} commands[] = {
    {"run", cmd_run, run_help},
    {"compile", cmd_compile, compile_help},
    {"info", cmd_info, info_help},
    {"explain", cmd_explain, explain_help},
    {"keygen", cmd_keygen, keygen_help},
    {"receipt", cmd_receipt, receipt_help},
    {"trace", cmd_trace, trace_help},
    {"bisect", cmd_bisect, bisect_help},
    {"prove-step", cmd_prove_step, prove_step_help},
    {"check-step", cmd_check_step, check_step_help},
    {"verify", cmd_verify, verify_help},
    {"bench", cmd_bench, bench_help},
    {"registry", cmd_registry, registry_help},
    {"audit", cmd_audit, audit_help},
    {"netinfo", cmd_netinfo, netinfo_help},
    {"fmap", cmd_fmap, fmap_help},
    {"yolo2", cmd_yolo2, yolo2_help},
    {"face-encode", cmd_face_encode, face_encode_help},
    {"face-compare", cmd_face_compare, face_compare_help},
};

static void print_usage(FILE *f)
{
    fprintf(f, "usage: detvm COMMAND [ARGS]   (detvm COMMAND --help for each)\n"
               "detvm %s, a deterministic VM for integer-quantized neural networks.\n"
               "commands:\n",
            DETVM_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n", commands[i].name);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_INVALID : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("detvm %s\n", DETVM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (wants_help(argc - 2, argv + 2)) {
            fputs(commands[i].help, stdout);
            return 0;
        }
        return commands[i].run(argc - 2, argv + 2);
    }
    fprintf(stderr, "detvm: unknown command %s (see detvm --help)\n", argv[1]);
    return EXIT_INVALID;
}
