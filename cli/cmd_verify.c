/* detvm verify: the static checks of a model (detvm_verify_module), one line per finding. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

const char verify_help[] =
    "usage: detvm verify MODEL [PARAMS] [--json] [--rounding double|single]\n"
    "Checks MODEL (a .dvm module, a .tflite file compiled with --rounding as by detvm\n"
    "compile, or a CVM graph JSON followed by its params) without running it, and prints\n"
    "one line per finding, by section:\n"
    "  overflow  each arithmetic step that could leave its C type (the accumulators of conv2d,\n"
    "            dense, sum and the TFLite convolutions, fully connected, pooling and mean;\n"
    "            element-wise sums and products; shifts; requantization's left shift): its\n"
    "            worst-case bound in any summation order, from constants' actual values and\n"
    "            the declared precision (CVM) or dtype range (TFLite) of everything else,\n"
    "            against int32 or int64 (\"CAN OVERFLOW\" when it does not fit); for CVM\n"
    "            models also each output's bound against its declared precision;\n"
    "  shapes    each instruction's input and output shapes, re-inferred;\n"
    "  memory    the arena and scratch sizes, each arena tensor's offset, size and lifetime,\n"
    "            and that no two tensors live at the same time share a byte;\n"
    "  gas       each layer's gas and the total;\n"
    "  contract  constructs outside the determinism contract: the compiler's warnings (where\n"
    "            the CVM runtime's back ends disagree), float32 at the source model's\n"
    "            boundaries (a note), requantization parameters outside TFLite's range.\n"
    "Checks end in \"ok\" or in \"FAILED\" / \"CAN OVERFLOW\"; notes only inform. The last\n"
    "line is \"verify: N checks, M failed\". --json prints the same as one JSON object.\n"
    "Exit status: 0 when every check holds, 1 when one fails or the model is invalid, 2 on a\n"
    "runtime error.\n";

static void print_finding(void *user, const detvm_finding *f)
{
    (void)user;
    printf("%s: %s\n", f->section_name, f->text);
}

static const char *result_name(detvm_finding_result r)
{
    return r == DETVM_FINDING_OK ? "ok" : r == DETVM_FINDING_FAILED ? "failed" : "note";
}

static void collect_finding(void *user, const detvm_finding *f)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "section", f->section_name, "result",
                          result_name(f->result), "what", f->what, "text", f->text);
    if (f->instruction >= 0) {
        json_object_set_new(o, "instruction", json_integer(f->instruction));
        json_object_set_new(o, "op", json_string(f->op));
        json_object_set_new(o, "name", json_string(f->name));
    }
    if (f->has_bound) {
        json_object_set_new(o, "lo", json_integer(f->lo));
        json_object_set_new(o, "hi", json_integer(f->hi));
        json_object_set_new(o, "limit_bits", json_integer(f->limit_bits));
    }
    json_array_append_new(user, o);
}

int cmd_verify(int argc, char **argv)
{
    args a;
    int rc = parse_args("verify", argc, argv, &a);
    if (rc)
        return rc;
    uint8_t *bytes = NULL;
    detvm_module *m = NULL;
    if ((rc = open_model(&a, &bytes, &m)))
        return rc;
    json_t *findings = a.json ? json_array() : NULL;
    detvm_verify_summary sum;
    detvm_error err = {0};
    detvm_status st = detvm_verify_module(m, a.json ? collect_finding : print_finding, findings,
                                          &sum, &err);
    if (st == DETVM_ERUNTIME) {
        rc = fail(&err);
    } else if (a.json) {
        json_t *doc = json_pack("{s:o, s:i, s:i, s:i}", "findings", findings, "checks",
                                (int)sum.checks, "failed", (int)sum.failed, "notes",
                                (int)sum.notes);
        findings = NULL;
        char *text = json_dumps(doc, JSON_INDENT(1));
        puts(text ? text : "{}");
        free(text);
        json_decref(doc);
    } else {
        printf("verify: %u checks, %u failed\n", sum.checks, sum.failed);
    }
    if (st == DETVM_EINVALID)
        rc = EXIT_INVALID;
    json_decref(findings);
    detvm_module_free(m);
    free(bytes);
    return rc;
}
