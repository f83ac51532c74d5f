/* PLACEHOLDER while static checks are being written (never committed). */
#include "cli.h"
const char verify_help[] = "todo\n";
int cmd_verify(int argc, char **argv) { return 2; }
