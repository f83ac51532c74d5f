/* The pieces every detvm command uses. Each command is one library call plus printing; errors
 * are one line on stderr, and the exit status is the status class (0 ok, 1 invalid model or
 * input, 2 runtime or environment error). */
#ifndef DETVM_CLI_CLI_H
#define DETVM_CLI_CLI_H

#include <stdint.h>

#include "detvm.h"

enum { EXIT_INVALID = 1, EXIT_RUNTIME = 2 };

/* The options every model command shares: MODEL [PARAMS] and flags. */
typedef struct {
    const char *positional[4];  /* in order; model and params are the first two */
    int n_positional;
    const char *model, *params, *input, *outputs[64];
    int n_outputs, json, float_io, rerun;
    const char *receipt, *key, *pub, *peer;   /* --receipt, --key, --pub, --peer */
    const char *step_text, *mode_text, *rounding_text, *kpu_text;
    long long step;                           /* --step, or -1 */
    detvm_trace_mode mode;                    /* --mode fast (default) or secure */
    detvm_compile_options tflite;             /* --rounding, --kpu-semantics, --no-packs */
    const char *registry;                     /* --registry PATH */
    const char *trust[16];                    /* --trust KEY.pub, each */
    int n_trust, require_signed;              /* --require-signed */
    int record, store_input;                  /* --record, --store-input */
} args;

/* Parses MODEL [PARAMS] and the flags; on failure prints and returns the exit status. */
int parse_args(const char *cmd, int argc, char **argv, args *a);
/* The same with up to max_positional (at most 4) positional arguments. */
int parse_args_n(const char *cmd, int max_positional, int argc, char **argv, args *a);
/* Loads MODEL [PARAMS] into a module; on failure prints and returns the exit status. MODEL
 * may be registry:NAME[@VERSION], a model from the registry (under the trust policy). */
int open_model(const args *a, uint8_t **bytes, detvm_module **m);
/* The same, also giving the registry record (name "" when MODEL is a file) when rec is not
 * NULL. */
int open_model_named(const args *a, uint8_t **bytes, detvm_module **m, detvm_model_record *rec);
/* Opens the registry of --registry (or the default) with the trust policy of --require-signed
 * and --trust; on failure prints and returns the exit status. */
int open_registry(const args *a, detvm_registry **reg);
/* Prints the error as one line and returns its exit status. */
int fail(const detvm_error *err);
int usage_error(const char *cmd, const char *what);
int wants_help(int argc, char **argv);

/* The commands beyond run, compile, info and explain, each with its --help text:
 * cli/cmd_receipt.c */
int cmd_keygen(int argc, char **argv);
int cmd_receipt(int argc, char **argv);
extern const char keygen_help[], receipt_help[];
/* cli/cmd_trace.c */
int cmd_trace(int argc, char **argv);
int cmd_bisect(int argc, char **argv);
int cmd_prove_step(int argc, char **argv);
int cmd_check_step(int argc, char **argv);
extern const char trace_help[], bisect_help[], prove_step_help[], check_step_help[];
/* cli/cmd_verify.c */
int cmd_verify(int argc, char **argv);
extern const char verify_help[];
/* cli/cmd_bench.c */
int cmd_bench(int argc, char **argv);
extern const char bench_help[];
/* cli/cmd_registry.c and cli/cmd_audit.c */
int cmd_registry(int argc, char **argv);
int cmd_audit(int argc, char **argv);
extern const char registry_help[], audit_help[];
/* cli/cmd_kpu.c: MaixPy's KPU features */
int cmd_netinfo(int argc, char **argv);
int cmd_fmap(int argc, char **argv);
int cmd_yolo2(int argc, char **argv);
int cmd_face_encode(int argc, char **argv);
int cmd_face_compare(int argc, char **argv);
extern const char netinfo_help[], fmap_help[], yolo2_help[], face_encode_help[],
    face_compare_help[];

#endif
