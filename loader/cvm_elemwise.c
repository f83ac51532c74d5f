/* The CVM side of the element-wise ops (kernels in ops/elemwise.c): attribute parsing,
 * precision inference as the CVM runtime's FInferPrecision functions do it, and where its
 * CPU and formal back ends disagree.
 *
 * The CVM runtime parses attributes leniently (only the format is checked, status 2) and
 * range-checks them later, in precision inference (VERIFY, status 1); parse and precision
 * here keep that split so that each failure gets the runtime's status. */
#include <stdint.h>

#include "cvm_ops.h"

/* A required int attribute (cvm_attr_int refuses values outside int32, as the runtime's
 * C++ int fields do). */
static int get_required_int32(cvm_node *n, const char *key, int32_t *out)
{
    int64_t value;
    if (cvm_attr_int(n->attrs, key, 1, 0, &value))
        return -1;
    *out = (int32_t)value;
    return 0;
}

/* `is_sign` (default true) is declared by cvm_clip and the shifts, and must parse, but no
 * back end reads it: the clip is always signed. */
static int skip_is_sign(cvm_node *n)
{
    int is_sign;
    return cvm_attr_bool(n->attrs, "is_sign", 0, 1, &is_sign);
}

/* ---- Ops without attributes ------------------------------------------------------------ */

CVM_PARSE_WITHOUT_ATTRS(parse_abs, DV_OP_ABS, 1)
CVM_PARSE_WITHOUT_ATTRS(parse_negative, DV_OP_NEGATIVE, 1)
CVM_PARSE_WITHOUT_ATTRS(parse_relu, DV_OP_RELU, 1)
CVM_PARSE_WITHOUT_ATTRS(parse_cvm_precision, DV_OP_CVM_PRECISION, 1)
CVM_PARSE_WITHOUT_ATTRS(parse_elemwise_add, DV_OP_ELEMWISE_ADD, 2)
CVM_PARSE_WITHOUT_ATTRS(parse_elemwise_sub, DV_OP_ELEMWISE_SUB, 2)

/* abs, negative, relu: cvm_precision_same (SamePrecision); elemwise_add, elemwise_sub:
 * cvm_precision_plus (BinaryPlusPrecision). */

/* cvm_precision: always 6 (MaxPrecision<6>), though a result can be 32. */
static int precision_six(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err))
        return -1;
    n->out_prec[0] = 6;
    return 0;
}

/* ---- clip ------------------------------------------------------------------------------ */

/* attrs a_min, a_max: required ints, canonical [a_min, a_max]. */
static int parse_clip(cvm_node *n, detvm_error *err)
{
    n->attrs->err = err; /* the getters report through it */
    if (get_required_int32(n, "a_min", &n->attr[0]) ||
        get_required_int32(n, "a_max", &n->attr[1]) || cvm_attr_finish(n->attrs))
        return -1;
    return cvm_node_set(n, DV_OP_CLIP, 1, 2);
}

/* Both bounds within +-(2^31-1), a_min < a_max, and the output precision is that of the
 * larger bound's magnitude (GetNumberPrecision: 2^31-2 gives 32, 2^31-1 gives 33, which
 * the output precision check then refuses). */
static int precision_clip(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    const int64_t limit = INT32_MAX;
    int64_t a_min = n->attr[0], a_max = n->attr[1];
    if (cvm_check_input_precisions(n, err) ||
        cvm_verify_range(n, err, "clip.a_max", a_max, -limit, limit) ||
        cvm_verify_range(n, err, "clip.a_min", a_min, -limit, limit))
        return -1;
    if (a_min >= a_max)
        return cvm_fail(err, DETVM_EINVALID, n, "a_min: %lld must be less than a_max %lld",
                        (long long)a_min, (long long)a_max);
    int64_t range = a_max < 0 ? -a_max : a_max;
    if (-a_min > range)
        range = -a_min;
    n->out_prec[0] = cvm_number_precision(range);
    return 0;
}

/* ---- cvm_clip -------------------------------------------------------------------------- */

/* attrs precision (required int), is_sign (bool, ignored): canonical [precision]. */
static int parse_cvm_clip(cvm_node *n, detvm_error *err)
{
    n->attrs->err = err;
    if (get_required_int32(n, "precision", &n->attr[0]) || skip_is_sign(n) ||
        cvm_attr_finish(n->attrs))
        return -1;
    return cvm_node_set(n, DV_OP_CVM_CLIP, 1, 1);
}

static int precision_cvm_clip(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (cvm_check_input_precisions(n, err) ||
        cvm_verify_range(n, err, "cvm_clip.precision", n->attr[0], 1, 32))
        return -1;
    n->out_prec[0] = n->attr[0];
    return 0;
}

/* ---- cvm_left_shift, cvm_right_shift --------------------------------------------------- */

/* attrs precision, shift_bit (required ints), is_sign (bool, ignored): canonical
 * [precision, shift_bit]. */
static int parse_shift(cvm_node *n, uint32_t opcode, detvm_error *err)
{
    n->attrs->err = err;
    if (get_required_int32(n, "precision", &n->attr[0]) || skip_is_sign(n) ||
        get_required_int32(n, "shift_bit", &n->attr[1]) || cvm_attr_finish(n->attrs))
        return -1;
    return cvm_node_set(n, opcode, 1, 2);
}

static int parse_cvm_left_shift(cvm_node *n, detvm_error *err)
{
    return parse_shift(n, DV_OP_CVM_LEFT_SHIFT, err);
}

static int parse_cvm_right_shift(cvm_node *n, detvm_error *err)
{
    return parse_shift(n, DV_OP_CVM_RIGHT_SHIFT, err);
}

static int check_shift_ranges(cvm_node *n, detvm_error *err, const char *precision_name,
                              const char *shift_name)
{
    if (cvm_check_input_precisions(n, err) ||
        cvm_verify_range(n, err, precision_name, n->attr[0], 1, 32) ||
        cvm_verify_range(n, err, shift_name, n->attr[1], 1, 32))
        return -1;
    return 0;
}

/* The output has `precision` bits; the input shifted left must fit 32 bits, else the
 * runtime's precision inference fails (a LOG(FATAL): status 2). */
static int precision_cvm_left_shift(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (check_shift_ranges(n, err, "cvm_left_shift.precision", "cvm_left_shift.shift_bit"))
        return -1;
    if (n->in_prec[0] + n->attr[1] > 32)
        return cvm_fail(err, DETVM_ERUNTIME, n,
                        "shift_bit: input precision %d + shift_bit %d exceeds 32 "
                        "(infer precision failed)",
                        (int)n->in_prec[0], (int)n->attr[1]);
    n->out_prec[0] = n->attr[0];
    return 0;
}

/* The CPU back end fails at inference on every cvm_left_shift (status 2). */
static const char *divergence_cvm_left_shift(const cvm_node *n)
{
    return "the CVM CPU back end fails on every cvm_left_shift (status 2); detvm computes "
           "it as the formal back end does";
}

static int precision_cvm_right_shift(cvm_node *n, const dv_shape *out_shape, detvm_error *err)
{
    if (check_shift_ranges(n, err, "cvm_right_shift.precision", "cvm_right_shift.shift_bit"))
        return -1;
    n->out_prec[0] = n->attr[0];
    return 0;
}

/* The CPU back end's kernel has three shortcuts that the formal one (followed here) lacks:
 * shift_bit >= 31 returns x >> 31 unrounded; precision + shift_bit >= 32 skips the clip,
 * which matters only when it equals 32 and the input reaches +-(2^31 - 2^(shift_bit-1));
 * and for precision + shift_bit < 32 it clips before rounding, so x = 2^31-1 with
 * shift_bit 1 (whose rounding wraps to -2^30) gives +alpha instead of -alpha. Inputs
 * within their precision reach the last two only at input precision 32. Precision 1 makes
 * every output 0 in both. */
static const char *divergence_cvm_right_shift(const cvm_node *n)
{
    int32_t precision = n->attr[0], shift = n->attr[1];
    /* Without the input's precision (in_prec unset), assume it may be 32 bits. */
    int wide_input = !n->in_prec || n->in_prec[0] >= 32;
    if (precision == 1)
        return 0;
    if (shift >= 31)
        return "shift_bit >= 31: the CVM CPU back end returns x >> 31 (0 or -1) unrounded; "
               "detvm rounds and clips as the formal back end (shift_bit 32 gives 0)";
    if (wide_input && shift == 1 && precision < 32)
        return "shift_bit 1 on 32-bit input: 2^31-1 + 1 wraps when rounding; detvm clips the "
               "wrapped -2^30 as the formal back end, the CPU back end differs";
    if (wide_input && precision + shift == 32)
        return "precision + shift_bit = 32 on 32-bit input: the CVM CPU back end skips the "
               "clip, giving +-2^(31-shift_bit) at the extremes; detvm clips as the formal "
               "back end";
    return 0;
}

const cvm_op_def cvm_def_ABS = {"abs", parse_abs, 0, cvm_precision_same, 0};
const cvm_op_def cvm_def_NEGATIVE = {"negative", parse_negative, 0, cvm_precision_same, 0};
const cvm_op_def cvm_def_RELU = {"relu", parse_relu, 0, cvm_precision_same, 0};
const cvm_op_def cvm_def_CLIP = {"clip", parse_clip, 0, precision_clip, 0};
const cvm_op_def cvm_def_CVM_CLIP = {"cvm_clip", parse_cvm_clip, 0, precision_cvm_clip, 0};
const cvm_op_def cvm_def_CVM_LEFT_SHIFT = {"cvm_left_shift", parse_cvm_left_shift, 0,
                                          precision_cvm_left_shift,
                                          divergence_cvm_left_shift};
const cvm_op_def cvm_def_CVM_RIGHT_SHIFT = {"cvm_right_shift", parse_cvm_right_shift, 0,
                                           precision_cvm_right_shift,
                                           divergence_cvm_right_shift};
const cvm_op_def cvm_def_CVM_PRECISION = {"cvm_precision", parse_cvm_precision, 0,
                                          precision_six, 0};
const cvm_op_def cvm_def_ELEMWISE_ADD = {"elemwise_add", parse_elemwise_add, 0,
                                         cvm_precision_plus, 0};
const cvm_op_def cvm_def_ELEMWISE_SUB = {"elemwise_sub", parse_elemwise_sub, 0,
                                         cvm_precision_plus, 0};
