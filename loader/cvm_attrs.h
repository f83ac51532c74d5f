/* Reading a CVM node's attributes the way the CVM runtime's parameter parser does.
 *
 * Every value in the op_attrs dictionary is a string. Integers follow C++ stream rules,
 * booleans accept true/false/1/0 in any case, tuples accept "(1, 2)", "[1,2]", "()" or a
 * bare "3", and optional fields accept "None". Keys of the form __x__ are ignored; any other
 * key an op does not declare is an error. Format, range, missing and unknown-key errors are
 * runtime errors (status 2), as the CVM runtime's ParamError is. */
#ifndef DETVM_LOADER_CVM_ATTRS_H
#define DETVM_LOADER_CVM_ATTRS_H

#include <stdint.h>

#include "detvm.h"

#define CVM_MAX_TUPLE 16
#define CVM_MAX_KEYS 16

typedef struct {
    int32_t v[CVM_MAX_TUPLE];
    uint32_t n;
} cvm_tuple;

typedef struct cvm_attrs {
    const char *node;   /* node name, for messages */
    const char *op;     /* operator name, for messages */
    uint32_t n;
    const char *key[CVM_MAX_KEYS];
    const char *value[CVM_MAX_KEYS];
    uint8_t used[CVM_MAX_KEYS];
    detvm_error *err;
} cvm_attrs;

/* Each getter returns 0 on success and fills `out`; when the key is absent it stores the
 * default, or fails with "required" when `required` is set. They return -1 after filling
 * err. `present` (may be NULL) tells whether the key was given (and not "None"). */
int cvm_attr_int(cvm_attrs *a, const char *key, int required, int64_t def, int64_t *out);
int cvm_attr_int_min(cvm_attrs *a, const char *key, int required, int64_t def, int64_t min,
                     int64_t *out);
int cvm_attr_bool(cvm_attrs *a, const char *key, int required, int def, int *out);
/* Optional<int>: "None" or absent leaves *present = 0. */
int cvm_attr_opt_int(cvm_attrs *a, const char *key, int64_t *out, int *present);
/* A tuple of ints; `def` (may be NULL: empty) is used when absent. */
int cvm_attr_tuple(cvm_attrs *a, const char *key, int required, const cvm_tuple *def,
                   cvm_tuple *out, int *present);
/* A plain string value (e.g. upsampling's method); `def` when absent. */
int cvm_attr_string(cvm_attrs *a, const char *key, int required, const char *def,
                    const char **out);
/* Fails on the first key no getter asked for (except __x__ keys). Call after the getters. */
int cvm_attr_finish(cvm_attrs *a);

/* An op without attributes: any key at all, __x__ ones included, is an error, as the CVM
 * runtime's "should not have attributes" check (status 1). */
int cvm_attr_none(cvm_attrs *a);

#endif
