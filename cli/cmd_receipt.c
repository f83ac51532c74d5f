/* PLACEHOLDER while receipts are being written (never committed). */
#include "cli.h"
const char keygen_help[] = "todo\n", receipt_help[] = "todo\n";
int cmd_keygen(int argc, char **argv) { return 2; }
int cmd_receipt(int argc, char **argv) { return 2; }
