/* PLACEHOLDER while traces are being written (never committed). */
#include "cli.h"
const char trace_help[] = "todo\n", bisect_help[] = "todo\n", prove_step_help[] = "todo\n", check_step_help[] = "todo\n";
int cmd_trace(int argc, char **argv) { return 2; }
int cmd_bisect(int argc, char **argv) { return 2; }
int cmd_prove_step(int argc, char **argv) { return 2; }
int cmd_check_step(int argc, char **argv) { return 2; }
