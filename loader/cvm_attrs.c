/* Reading a CVM node's attribute strings with the CVM runtime's parameter rules. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../vm/error.h"
#include "cvm_attrs.h"

static int attr_fail(cvm_attrs *a, detvm_status status, const char *key, const char *fmt, ...)
{
    if (!a->err)
        return -1;
    a->err->status = status;
    int used = snprintf(a->err->message, sizeof a->err->message, "node %s (%s): %s: ",
                        a->node, a->op, key);
    if (used >= 0 && (size_t)used < sizeof a->err->message) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->err->message + used, sizeof a->err->message - (size_t)used, fmt, ap);
        va_end(ap);
    }
    dv_one_line(a->err->message);
    return -1;
}

/* The value of `key`, marking it used; NULL when absent. */
static const char *lookup(cvm_attrs *a, const char *key)
{
    for (uint32_t i = 0; i < a->n; i++) {
        if (strcmp(a->key[i], key) == 0) {
            a->used[i] = 1;
            return a->value[i];
        }
    }
    return NULL;
}

static int is_hidden_key(const char *key)
{
    size_t len = strlen(key);
    return len > 4 && strncmp(key, "__", 2) == 0 && strcmp(key + len - 2, "__") == 0;
}

/* Parses an integer as `std::istream >> int64` does: leading spaces, an optional sign, digits.
 * Sets *end past the digits. Returns -1 when there are no digits or the value overflows. */
static int parse_int(const char *s, int64_t *out, const char **end)
{
    while (isspace((unsigned char)*s))
        s++;
    if (!(isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1]))))
        return -1;
    char *stop;
    errno = 0;
    long long v = strtoll(s, &stop, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    *end = stop;
    return 0;
}

static int only_spaces(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

static int int_value(cvm_attrs *a, const char *key, const char *value, int64_t *out)
{
    const char *end;
    if (parse_int(value, out, &end) != 0 || !only_spaces(end) || *out < INT32_MIN ||
        *out > INT32_MAX)
        return attr_fail(a, DETVM_ERUNTIME, key, "invalid int '%s'", value);
    return 0;
}

int cvm_attr_int(cvm_attrs *a, const char *key, int required, int64_t def, int64_t *out)
{
    const char *value = lookup(a, key);
    if (!value) {
        if (required)
            return attr_fail(a, DETVM_ERUNTIME, key, "required attribute missing");
        *out = def;
        return 0;
    }
    return int_value(a, key, value, out);
}

int cvm_attr_int_min(cvm_attrs *a, const char *key, int required, int64_t def, int64_t min,
                     int64_t *out)
{
    if (cvm_attr_int(a, key, required, def, out) != 0)
        return -1;
    if (*out < min)
        return attr_fail(a, DETVM_ERUNTIME, key, "value %lld is below %lld", (long long)*out,
                         (long long)min);
    return 0;
}

int cvm_attr_bool(cvm_attrs *a, const char *key, int required, int def, int *out)
{
    const char *value = lookup(a, key);
    if (!value) {
        if (required)
            return attr_fail(a, DETVM_ERUNTIME, key, "required attribute missing");
        *out = def;
        return 0;
    }
    if (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
        *out = 1;
    else if (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
        *out = 0;
    else
        return attr_fail(a, DETVM_ERUNTIME, key, "invalid boolean '%s'", value);
    return 0;
}

int cvm_attr_opt_int(cvm_attrs *a, const char *key, int64_t *out, int *present)
{
    const char *value = lookup(a, key);
    *present = 0;
    if (!value || strcmp(value, "None") == 0)
        return 0;
    if (int_value(a, key, value, out) != 0)
        return -1;
    *present = 1;
    return 0;
}

/* Tuple syntax: "(a, b)", "[a,b]", "()", a bare "a"; a trailing comma and an 'L' suffix after
 * a value are accepted, as the runtime's Tuple reader does. */
static int parse_tuple(const char *s, cvm_tuple *out)
{
    out->n = 0;
    while (isspace((unsigned char)*s))
        s++;
    int64_t v;
    const char *end;
    if (isdigit((unsigned char)*s) || *s == '-' || *s == '+') {
        if (parse_int(s, &v, &end) != 0 || v < INT32_MIN || v > INT32_MAX || !only_spaces(end))
            return -1;
        out->v[out->n++] = (int32_t)v;
        return 0;
    }
    if (*s != '(' && *s != '[')
        return -1;
    char close = *s == '(' ? ')' : ']';
    s++;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == ')' || *s == ']')
        return only_spaces(s + 1) ? 0 : -1;
    for (;;) {
        if (parse_int(s, &v, &end) != 0 || v < INT32_MIN || v > INT32_MAX)
            return -1;
        if (out->n == CVM_MAX_TUPLE)
            return -1;
        out->v[out->n++] = (int32_t)v;
        s = end;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == 'L')
            s++;
        if (*s == ',') {
            s++;
            while (isspace((unsigned char)*s))
                s++;
            if (*s == ')' || *s == ']')
                break;
            continue;
        }
        if (*s == ')' || *s == ']')
            break;
        return -1;
    }
    (void)close;
    return only_spaces(s + 1) ? 0 : -1;
}

int cvm_attr_tuple(cvm_attrs *a, const char *key, int required, const cvm_tuple *def,
                   cvm_tuple *out, int *present)
{
    const char *value = lookup(a, key);
    if (present)
        *present = 0;
    if (!value || strcmp(value, "None") == 0) {
        if (!value && required)
            return attr_fail(a, DETVM_ERUNTIME, key, "required attribute missing");
        if (def)
            *out = *def;
        else
            out->n = 0;
        return 0;
    }
    if (parse_tuple(value, out) != 0)
        return attr_fail(a, DETVM_ERUNTIME, key, "invalid tuple '%s'", value);
    if (present)
        *present = 1;
    return 0;
}

int cvm_attr_string(cvm_attrs *a, const char *key, int required, const char *def,
                    const char **out)
{
    const char *value = lookup(a, key);
    if (!value) {
        if (required)
            return attr_fail(a, DETVM_ERUNTIME, key, "required attribute missing");
        *out = def;
        return 0;
    }
    *out = value;
    return 0;
}

int cvm_attr_finish(cvm_attrs *a)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (!a->used[i] && !is_hidden_key(a->key[i]))
            return attr_fail(a, DETVM_ERUNTIME, a->key[i], "unknown attribute");
    return 0;
}

int cvm_attr_none(cvm_attrs *a)
{
    /* the runtime counts every key here, __x__ ones included */
    if (a->n > 0)
        return attr_fail(a, DETVM_EINVALID, a->key[0], "operator takes no attributes");
    return 0;
}
