/* Unit tests of the data-movement ops (ops/transform.c) and their CVM side
 * (loader/cvm_transform.c). Every expected output is worked out by hand in the comments. */
#include <stdint.h>

#include "check.h"
#include "cvm_ops.h"
#include "op.h"

extern const dv_op_info dv_info_FLATTEN, dv_info_RESHAPE, dv_info_EXPAND_DIMS, dv_info_SQUEEZE,
    dv_info_TRANSPOSE, dv_info_CONCATENATE, dv_info_REPEAT, dv_info_TILE, dv_info_STRIDED_SLICE,
    dv_info_SLICE_LIKE, dv_info_TAKE, dv_info_CVM_LUT;
extern const cvm_op_def cvm_def_FLATTEN, cvm_def_RESHAPE, cvm_def_EXPAND_DIMS, cvm_def_SQUEEZE,
    cvm_def_TRANSPOSE, cvm_def_CONCATENATE, cvm_def_REPEAT, cvm_def_TILE, cvm_def_STRIDED_SLICE,
    cvm_def_SLICE_LIKE, cvm_def_TAKE, cvm_def_CVM_LUT;

#define COUNT(...) (sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t))
#define SH(...) make_shape((uint32_t)COUNT(__VA_ARGS__), (const uint32_t[]){__VA_ARGS__})
#define ATTRS(...) ((dv_attrs){(const int32_t[]){__VA_ARGS__}, (uint32_t)COUNT(__VA_ARGS__)})
#define NO_ATTRS ((dv_attrs){NULL, 0})
#define VALUES(...) (const int32_t[]){__VA_ARGS__}, (uint32_t)COUNT(__VA_ARGS__)

static dv_shape make_shape(uint32_t ndim, const uint32_t *dim)
{
    dv_shape s = {ndim, {0}};
    for (uint32_t i = 0; i < ndim; i++)
        s.dim[i] = dim[i];
    return s;
}

/* Each EXPECT_ macro names its own line in a failure, so a reader finds the case. */

#define EXPECT_SHAPE(op, attrs, n_in, in, want) expect_shape(op, attrs, n_in, in, want, __LINE__)
#define EXPECT_REJECT(op, attrs, n_in, in) expect_reject(op, attrs, n_in, in, __LINE__)
#define EXPECT_RUN(op, attrs, n_in, shapes, data, ...) \
    expect_run(op, attrs, n_in, shapes, data, __VA_ARGS__, __LINE__)

/* infer accepts and gives `want`. */
static void expect_shape(const dv_op_info *op, dv_attrs a, uint32_t n_in, const dv_shape *in,
                         dv_shape want, int line)
{
    dv_shape out;
    const char *why = op->infer(&a, n_in, in, 1, &out);
    CHECK(!why && dv_shape_equal(&out, &want), "line %d: %s: %s", line, op->name,
          why ? why : "other output shape");
}

/* infer refuses. */
static void expect_reject(const dv_op_info *op, dv_attrs a, uint32_t n_in, const dv_shape *in,
                          int line)
{
    dv_shape out;
    CHECK(op->infer(&a, n_in, in, 1, &out) != NULL, "line %d: %s: infer accepted", line, op->name);
}

#define MAX_ELEMS 256

/* Runs an op on up to three inputs whose elements are given, after checking that infer
 * accepts it, and compares the output with `want` (which fixes the expected count). */
static void expect_run(const dv_op_info *op, dv_attrs a, uint32_t n_in, const dv_shape *shapes,
                       const int32_t *const *data, const int32_t *want, uint32_t n_want, int line)
{
    dv_tensor in[3];
    static int32_t out_data[MAX_ELEMS + 1];
    dv_shape out_shape;
    const char *why = op->infer(&a, n_in, shapes, 1, &out_shape);
    CHECK(!why, "line %d: %s: infer rejected: %s", line, op->name, why);
    if (why)
        return;
    CHECK(dv_shape_size(&out_shape) == n_want, "line %d: %s: %llu output elements, want %u", line,
          op->name, (unsigned long long)dv_shape_size(&out_shape), n_want);
    if (dv_shape_size(&out_shape) != n_want)
        return;
    for (uint32_t i = 0; i < n_in; i++)
        in[i] = (dv_tensor){(int32_t *)data[i], shapes[i]};
    out_data[n_want] = 0x5a5a5a5a; /* a guard: the kernel must write exactly n_want */
    dv_tensor out = {out_data, out_shape};
    op->run(&a, n_in, in, 1, &out, NULL);
    CHECK(out_data[n_want] == 0x5a5a5a5a, "line %d: %s: wrote past the output", line, op->name);
    for (uint32_t i = 0; i < n_want; i++)
        CHECK(out_data[i] == want[i], "line %d: %s: y[%u] = %d, want %d", line, op->name, i,
              out_data[i], want[i]);
}

static const int32_t iota[MAX_ELEMS] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

/* ---- ops/ --------------------------------------------------------------------------- */

static void test_flatten(void)
{
    dv_shape in = SH(2, 3, 4);
    EXPECT_SHAPE(&dv_info_FLATTEN, NO_ATTRS, 1, &in, SH(2, 12));
    in = SH(5); /* a 1-D input gets a trailing 1 */
    EXPECT_SHAPE(&dv_info_FLATTEN, NO_ATTRS, 1, &in, SH(5, 1));
    in = SH(1, 1, 1, 1, 1, 7);
    EXPECT_SHAPE(&dv_info_FLATTEN, NO_ATTRS, 1, &in, SH(1, 7));
    EXPECT_REJECT(&dv_info_FLATTEN, ATTRS(1), 1, &in);

    dv_shape s[] = {SH(2, 2)};
    const int32_t x[] = {INT32_MIN, -1, 0, INT32_MAX};
    EXPECT_RUN(&dv_info_FLATTEN, NO_ATTRS, 1, s, (const int32_t *[]){x},
               VALUES(INT32_MIN, -1, 0, INT32_MAX));
}

static void test_reshape(void)
{
    dv_shape in = SH(2, 3, 4);
    EXPECT_SHAPE(&dv_info_RESHAPE, ATTRS(6, 4), 1, &in, SH(6, 4));
    EXPECT_SHAPE(&dv_info_RESHAPE, ATTRS(1, 2, 1, 3, 4, 1), 1, &in, SH(1, 2, 1, 3, 4, 1));
    in = SH(4, 3); /* invalid_reshape_size: 12 elements into 10 */
    EXPECT_REJECT(&dv_info_RESHAPE, ATTRS(5, 2), 1, &in);
    EXPECT_REJECT(&dv_info_RESHAPE, ATTRS(0, 12), 1, &in);
    EXPECT_REJECT(&dv_info_RESHAPE, ATTRS(-1, -12), 1, &in);
    EXPECT_REJECT(&dv_info_RESHAPE, ATTRS(12, 1, 1, 1, 1, 1, 1), 1, &in);
    EXPECT_REJECT(&dv_info_RESHAPE, NO_ATTRS, 1, &in);
    /* 2^16 * 2^16 wraps to 0 in 32 bits; the product must not pass for 1 element */
    in = SH(1);
    EXPECT_REJECT(&dv_info_RESHAPE, ATTRS(65536, 65536), 1, &in);

    dv_shape s[] = {SH(2, 3)};
    EXPECT_RUN(&dv_info_RESHAPE, ATTRS(3, 2), 1, s, (const int32_t *[]){iota},
               VALUES(0, 1, 2, 3, 4, 5));
}

static void test_expand_dims(void)
{
    dv_shape in = SH(4, 3);
    EXPECT_SHAPE(&dv_info_EXPAND_DIMS, ATTRS(1, 2), 1, &in, SH(4, 1, 1, 3));
    EXPECT_SHAPE(&dv_info_EXPAND_DIMS, ATTRS(2, 1), 1, &in, SH(4, 3, 1));
    EXPECT_SHAPE(&dv_info_EXPAND_DIMS, ATTRS(0, 4), 1, &in, SH(1, 1, 1, 1, 4, 3));
    EXPECT_REJECT(&dv_info_EXPAND_DIMS, ATTRS(3, 1), 1, &in);  /* axis > ndim */
    EXPECT_REJECT(&dv_info_EXPAND_DIMS, ATTRS(-1, 1), 1, &in); /* not canonical */
    EXPECT_REJECT(&dv_info_EXPAND_DIMS, ATTRS(0, 5), 1, &in);  /* rank 7 */
    EXPECT_REJECT(&dv_info_EXPAND_DIMS, ATTRS(0, 0), 1, &in);
    EXPECT_REJECT(&dv_info_EXPAND_DIMS, ATTRS(0, INT32_MAX), 1, &in);
    EXPECT_REJECT(&dv_info_EXPAND_DIMS, ATTRS(0), 1, &in);

    dv_shape s[] = {SH(3)};
    EXPECT_RUN(&dv_info_EXPAND_DIMS, ATTRS(1, 1), 1, s, (const int32_t *[]){iota}, VALUES(0, 1, 2));
}

static void test_squeeze(void)
{
    dv_shape in = SH(1, 4, 1, 3);
    EXPECT_SHAPE(&dv_info_SQUEEZE, ATTRS(0x5), 1, &in, SH(4, 3));
    EXPECT_SHAPE(&dv_info_SQUEEZE, ATTRS(0x4), 1, &in, SH(1, 4, 3));
    EXPECT_SHAPE(&dv_info_SQUEEZE, ATTRS(0), 1, &in, SH(1, 4, 1, 3));
    EXPECT_REJECT(&dv_info_SQUEEZE, ATTRS(0x2), 1, &in);  /* axis 1 has size 4 */
    EXPECT_REJECT(&dv_info_SQUEEZE, ATTRS(0x10), 1, &in); /* axis 4 of 4 */
    EXPECT_REJECT(&dv_info_SQUEEZE, ATTRS(-1), 1, &in);
    in = SH(1, 1, 1); /* everything squeezed leaves (1) */
    EXPECT_SHAPE(&dv_info_SQUEEZE, ATTRS(0x7), 1, &in, SH(1));

    dv_shape s[] = {SH(1, 2)};
    EXPECT_RUN(&dv_info_SQUEEZE, ATTRS(1), 1, s, (const int32_t *[]){iota}, VALUES(0, 1));
}

static void test_transpose(void)
{
    dv_shape in = SH(5, 1, 4, 2);
    EXPECT_SHAPE(&dv_info_TRANSPOSE, ATTRS(2, 3, 0, 1), 1, &in, SH(4, 2, 5, 1));
    in = SH(2, 3);
    EXPECT_REJECT(&dv_info_TRANSPOSE, ATTRS(0, 0), 1, &in); /* repeated axis */
    EXPECT_REJECT(&dv_info_TRANSPOSE, ATTRS(0, 2), 1, &in);
    EXPECT_REJECT(&dv_info_TRANSPOSE, ATTRS(-1, 0), 1, &in);
    EXPECT_REJECT(&dv_info_TRANSPOSE, ATTRS(0), 1, &in);
    EXPECT_REJECT(&dv_info_TRANSPOSE, ATTRS(1, 0, 2), 1, &in);

    /* x = [[MIN, 2, 3], [4, 5, MAX]]; y = x^T = [[MIN, 4], [2, 5], [3, MAX]] */
    dv_shape s2[] = {SH(2, 3)};
    const int32_t x2[] = {INT32_MIN, 2, 3, 4, 5, INT32_MAX};
    EXPECT_RUN(&dv_info_TRANSPOSE, ATTRS(1, 0), 1, s2, (const int32_t *[]){x2},
               VALUES(INT32_MIN, 4, 2, 5, 3, INT32_MAX));

    /* x[i][j][k] = 100i + 10j + k over (2, 2, 3); perm (1, 2, 0): y[a][b][c] = x[c][a][b],
     * y shape (2, 3, 2), so y walks a, b, c giving 100c + 10a + b. */
    const int32_t x3[] = {0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112};
    dv_shape s3[] = {SH(2, 2, 3)};
    EXPECT_RUN(&dv_info_TRANSPOSE, ATTRS(1, 2, 0), 1, s3, (const int32_t *[]){x3},
               VALUES(0, 100, 1, 101, 2, 102, 10, 110, 11, 111, 12, 112));
}

static void test_concatenate(void)
{
    dv_shape bad[] = {SH(2, 3), SH(3, 3)}; /* invalid_concat_mismatch: axis 1, rows differ */
    EXPECT_REJECT(&dv_info_CONCATENATE, ATTRS(1), 2, bad);
    EXPECT_SHAPE(&dv_info_CONCATENATE, ATTRS(0), 2, bad, SH(5, 3));
    EXPECT_REJECT(&dv_info_CONCATENATE, ATTRS(2), 2, bad);
    EXPECT_REJECT(&dv_info_CONCATENATE, ATTRS(-1), 2, bad);
    dv_shape ranks[] = {SH(2, 3), SH(2, 3, 1)};
    EXPECT_REJECT(&dv_info_CONCATENATE, ATTRS(0), 2, ranks);
    dv_shape huge[] = {SH(1u << 24), SH(1)};
    EXPECT_REJECT(&dv_info_CONCATENATE, ATTRS(0), 2, huge);

    /* axis 0: rows of a, then rows of b */
    dv_shape s0[] = {SH(1, 2), SH(2, 2)};
    const int32_t a0[] = {1, 2}, b0[] = {3, 4, 5, 6};
    EXPECT_RUN(&dv_info_CONCATENATE, ATTRS(0), 2, s0, (const int32_t *[]){a0, b0},
               VALUES(1, 2, 3, 4, 5, 6));
    /* axis 1: each row is a's row then b's row: [1 | 3 4], [2 | 5 6] */
    dv_shape s1[] = {SH(2, 1), SH(2, 2)};
    const int32_t a1[] = {1, 2};
    EXPECT_RUN(&dv_info_CONCATENATE, ATTRS(1), 2, s1, (const int32_t *[]){a1, b0},
               VALUES(1, 3, 4, 2, 5, 6));
    /* three inputs along the last axis of (1, 2, k): [a0 b0 c0], [a1 b1 c1] per row */
    dv_shape s3[] = {SH(1, 2, 1), SH(1, 2, 1), SH(1, 2, 2)};
    const int32_t a3[] = {1, 2}, b3[] = {INT32_MIN, INT32_MAX}, c3[] = {7, 8, 9, 10};
    EXPECT_RUN(&dv_info_CONCATENATE, ATTRS(2), 3, s3, (const int32_t *[]){a3, b3, c3},
               VALUES(1, INT32_MIN, 7, 8, 2, INT32_MAX, 9, 10));
}

static void test_repeat(void)
{
    dv_shape in = SH(2, 4);
    EXPECT_SHAPE(&dv_info_REPEAT, ATTRS(3, 0), 1, &in, SH(6, 4));
    EXPECT_REJECT(&dv_info_REPEAT, ATTRS(0, 0), 1, &in);
    EXPECT_REJECT(&dv_info_REPEAT, ATTRS(-2, 0), 1, &in);
    EXPECT_REJECT(&dv_info_REPEAT, ATTRS(2, 2), 1, &in);
    EXPECT_REJECT(&dv_info_REPEAT, ATTRS(2, -1), 1, &in);
    EXPECT_REJECT(&dv_info_REPEAT, ATTRS(INT32_MAX, 1), 1, &in); /* dim > 2^24 */

    /* each element twice along axis 1 */
    dv_shape s1[] = {SH(2, 2)};
    const int32_t x[] = {1, 2, 3, 4};
    EXPECT_RUN(&dv_info_REPEAT, ATTRS(2, 1), 1, s1, (const int32_t *[]){x},
               VALUES(1, 1, 2, 2, 3, 3, 4, 4));
    /* each row three times along axis 0 */
    dv_shape s0[] = {SH(2, 2)};
    EXPECT_RUN(&dv_info_REPEAT, ATTRS(3, 0), 1, s0, (const int32_t *[]){x},
               VALUES(1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4));
}

static void test_tile(void)
{
    dv_shape in = SH(3, 2, 4);
    EXPECT_SHAPE(&dv_info_TILE, ATTRS(3, 2, 3, 1), 1, &in, SH(3, 6, 6, 4));
    EXPECT_REJECT(&dv_info_TILE, ATTRS(2, 2), 1, &in); /* fewer reps than dims */
    EXPECT_REJECT(&dv_info_TILE, ATTRS(1, 0, 1), 1, &in);
    EXPECT_REJECT(&dv_info_TILE, ATTRS(1, 1, 1, 1, 1, 1, 1), 1, &in);
    EXPECT_REJECT(&dv_info_TILE, ATTRS(1, INT32_MAX, 1), 1, &in);

    /* x = [1 2], reps (2, 3): x viewed as (1, 2), then y (2, 6) repeats it 2 x 3 times */
    dv_shape s1[] = {SH(2)};
    const int32_t x1[] = {1, 2};
    EXPECT_RUN(&dv_info_TILE, ATTRS(2, 3), 1, s1, (const int32_t *[]){x1},
               VALUES(1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2));
    /* x = [[1 2], [3 4]]: reps (2, 1) stacks x twice; reps (1, 2) doubles every row */
    dv_shape s2[] = {SH(2, 2)};
    const int32_t x2[] = {1, 2, 3, 4};
    EXPECT_RUN(&dv_info_TILE, ATTRS(2, 1), 1, s2, (const int32_t *[]){x2},
               VALUES(1, 2, 3, 4, 1, 2, 3, 4));
    EXPECT_RUN(&dv_info_TILE, ATTRS(1, 2), 1, s2, (const int32_t *[]){x2},
               VALUES(1, 2, 1, 2, 3, 4, 3, 4));
}

static void test_strided_slice(void)
{
    /* invalid_empty_slice: (4, 4), begin (2, 0), end (2, 4) is empty on axis 0 */
    dv_shape in = SH(4, 4);
    EXPECT_REJECT(&dv_info_STRIDED_SLICE, ATTRS(2, 0, 2, 4, 1, 1), 1, &in);
    EXPECT_REJECT(&dv_info_STRIDED_SLICE, ATTRS(0, 0, 4, 4, 1, 0), 1, &in);
    EXPECT_REJECT(&dv_info_STRIDED_SLICE, ATTRS(0, 4, 1), 1, &in);
    /* a positive stride from a clamped begin (4) to end 4: empty */
    EXPECT_REJECT(&dv_info_STRIDED_SLICE, ATTRS(9, 0, 10, 4, 1, 1), 1, &in);
    /* a negative stride needs begin > end: -1 -> 3 and end 3 is empty */
    EXPECT_REJECT(&dv_info_STRIDED_SLICE, ATTRS(-1, 0, 3, 4, -1, 1), 1, &in);

    const int32_t x[] = {10, 11, 12, 13, 14, 15, 16};
    dv_shape s5[] = {SH(5)}, s7[] = {SH(7)}, s4[] = {SH(4)};
    /* strided_slice_1: begin -3 -> 2, end -5 -> 0, stride -3: one element, x[2] */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(-3, -5, -3), 1, s5, (const int32_t *[]){x},
               VALUES(12));
    /* begin -1 -> 6, end 0, stride -2: x[6], x[4], x[2] */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(-1, 0, -2), 1, s7, (const int32_t *[]){x},
               VALUES(16, 14, 12));
    /* strided_slice_5: end 10 clamps to 5 */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(0, 10, 1), 1, s5, (const int32_t *[]){x},
               VALUES(10, 11, 12, 13, 14));
    /* strided_slice_6: end 12 -> 7, stride 9: ceil(7 / 9) = 1 element */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(0, 12, 9), 1, s7, (const int32_t *[]){x}, VALUES(10));
    /* begin 10 clamps to 3, end -10 -> -6 clamps to -1: the whole axis reversed */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(10, -10, -1), 1, s4, (const int32_t *[]){x},
               VALUES(13, 12, 11, 10));
    /* 32-bit extremes: begin MAX -> 4, end MIN + 5 -> -1, stride MIN: 1 element, x[4] */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(INT32_MAX, INT32_MIN, INT32_MIN), 1, s5,
               (const int32_t *[]){x}, VALUES(14));
    /* begin MIN + 5 -> 0, end MAX -> 5, stride MAX: 1 element, x[0] */
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(INT32_MIN, INT32_MAX, INT32_MAX), 1, s5,
               (const int32_t *[]){x}, VALUES(10));

    /* x = iota over (3, 4), begin (2, 3), end (-5, 0), stride (-1, -2):
     * rows 2, 1, 0 (end -5 + 3 = -2 clamps to -1), columns 3, 1 (span 3, step 2) */
    dv_shape s34[] = {SH(3, 4)};
    EXPECT_RUN(&dv_info_STRIDED_SLICE, ATTRS(2, 3, -5, 0, -1, -2), 1, s34,
               (const int32_t *[]){iota}, VALUES(11, 9, 7, 5, 3, 1));
    /* chain_02's slice on (3, 124): begin (2, -32), end (4, -50), stride (1, -2):
     * row 2 only; columns 92, 90, ..., 76 (9 of them, end 74 excluded) */
    in = SH(3, 124);
    EXPECT_SHAPE(&dv_info_STRIDED_SLICE, ATTRS(2, -32, 4, -50, 1, -2), 1, &in, SH(1, 9));
    /* chain_09's slice on (1, 3, 21, 9) gives (1, 2, 5, 3) */
    in = SH(1, 3, 21, 9);
    EXPECT_SHAPE(&dv_info_STRIDED_SLICE, ATTRS(0, 0, 19, -5, 2, 2, -7, 7, 2, 1, -1, 1), 1, &in,
                 SH(1, 2, 5, 3));
}

static void test_slice_like(void)
{
    dv_shape pair[] = {SH(2, 5, 6, 5), SH(2, 1, 3, 3)};
    EXPECT_SHAPE(&dv_info_SLICE_LIKE, ATTRS(0xf), 2, pair, SH(2, 1, 3, 3));
    EXPECT_SHAPE(&dv_info_SLICE_LIKE, ATTRS(0x4), 2, pair, SH(2, 5, 3, 5));
    dv_shape wider[] = {SH(2, 3), SH(3, 3)};
    EXPECT_REJECT(&dv_info_SLICE_LIKE, ATTRS(0x1), 2, wider);
    EXPECT_SHAPE(&dv_info_SLICE_LIKE, ATTRS(0x2), 2, wider, SH(2, 3));
    dv_shape ranks[] = {SH(3, 4), SH(2)};
    EXPECT_REJECT(&dv_info_SLICE_LIKE, ATTRS(0x2), 2, ranks); /* axis 1 of like */
    EXPECT_REJECT(&dv_info_SLICE_LIKE, ATTRS(-1), 2, ranks);

    /* x = iota over (3, 4): the leading (2, 4) rows, then the leading (1, 2) corner */
    EXPECT_RUN(&dv_info_SLICE_LIKE, ATTRS(0x1), 2, ranks, (const int32_t *[]){iota, iota},
               VALUES(0, 1, 2, 3, 4, 5, 6, 7));
    dv_shape corner[] = {SH(3, 4), SH(1, 2)};
    EXPECT_RUN(&dv_info_SLICE_LIKE, ATTRS(0x3), 2, corner, (const int32_t *[]){iota, iota},
               VALUES(0, 1));
    /* (3, 4) like (2, 3) on axis 1 only: rows 0..2, columns 0..2 */
    dv_shape cols[] = {SH(3, 4), SH(2, 3)};
    EXPECT_RUN(&dv_info_SLICE_LIKE, ATTRS(0x2), 2, cols, (const int32_t *[]){iota, iota},
               VALUES(0, 1, 2, 4, 5, 6, 8, 9, 10));
}

static void test_take(void)
{
    dv_shape in[] = {SH(2, 3), SH(2)};
    EXPECT_REJECT(&dv_info_TAKE, ATTRS(2), 2, in); /* invalid_take_axis_range */
    EXPECT_REJECT(&dv_info_TAKE, ATTRS(-2), 2, in);
    EXPECT_REJECT(&dv_info_TAKE, NO_ATTRS, 2, in);
    EXPECT_SHAPE(&dv_info_TAKE, ATTRS(-1), 2, in, SH(2));
    dv_shape axis[] = {SH(4, 4, 3), SH(2, 5)};
    EXPECT_SHAPE(&dv_info_TAKE, ATTRS(1), 2, axis, SH(4, 2, 5, 3));
    dv_shape rank7[] = {SH(1, 1, 1, 1, 1, 2), SH(1, 2)};
    EXPECT_REJECT(&dv_info_TAKE, ATTRS(0), 2, rank7);

    /* flattened: indices below 0 read x[0], above 5 read x[5] */
    dv_shape sf[] = {SH(2, 3), SH(6)};
    const int32_t x[] = {10, 20, 30, 40, 50, 60};
    const int32_t idx[] = {0, 5, -7, 100, INT32_MIN, INT32_MAX};
    EXPECT_RUN(&dv_info_TAKE, ATTRS(-1), 2, sf, (const int32_t *[]){x, idx},
               VALUES(10, 60, 10, 60, 10, 60));
    /* axis 0 of (3, 2) with indices (2, 2) = [[2, 0], [-1, 9]]: rows 2, 0, 0, 2 */
    dv_shape s0[] = {SH(3, 2), SH(2, 2)};
    const int32_t x0[] = {1, 2, 3, 4, 5, 6}, i0[] = {2, 0, -1, 9};
    EXPECT_RUN(&dv_info_TAKE, ATTRS(0), 2, s0, (const int32_t *[]){x0, i0},
               VALUES(5, 6, 1, 2, 1, 2, 5, 6));
    /* axis 1 of (2, 3) with indices [2, -3]: per row, columns 2 and 0 */
    dv_shape s1[] = {SH(2, 3), SH(2)};
    const int32_t i1[] = {2, -3};
    EXPECT_RUN(&dv_info_TAKE, ATTRS(1), 2, s1, (const int32_t *[]){x0, i1}, VALUES(3, 1, 6, 4));
}

static void test_cvm_lut(void)
{
    dv_shape in[] = {SH(3, 2), SH(8)};
    EXPECT_SHAPE(&dv_info_CVM_LUT, NO_ATTRS, 2, in, SH(3, 2));
    EXPECT_REJECT(&dv_info_CVM_LUT, ATTRS(8), 2, in);

    /* table (2, 2) read flat: indices clamp to 0..3 */
    dv_shape s[] = {SH(2, 3), SH(2, 2)};
    const int32_t x[] = {0, 3, -1, 7, INT32_MIN, 2};
    const int32_t table[] = {100, INT32_MIN, INT32_MAX, -103};
    EXPECT_RUN(&dv_info_CVM_LUT, NO_ATTRS, 2, s, (const int32_t *[]){x, table},
               VALUES(100, -103, 100, -103, 100, INT32_MAX));
}

/* ---- loader/cvm_transform.c ----------------------------------------------------------- */

/* Parses one node whose attributes are given as key, value pairs ending with NULL. Returns
 * the status (0 on success) and leaves the node's canonical attributes in *node. */
static int parse(const cvm_op_def *def, const char *const *kv, uint32_t n_in, const dv_shape *in,
                 cvm_node *node)
{
    static cvm_attrs attrs;
    static detvm_error err;
    memset(&attrs, 0, sizeof attrs);
    memset(node, 0, sizeof *node);
    err.status = DETVM_OK;
    attrs.node = "n";
    attrs.op = def->name;
    attrs.err = &err;
    for (; kv && kv[0]; kv += 2) {
        attrs.key[attrs.n] = kv[0];
        attrs.value[attrs.n++] = kv[1];
    }
    node->attrs = &attrs;
    node->n_in = n_in;
    node->in_shape = in;
    if (def->parse(node, &err) == 0)
        return 0;
    CHECK(err.status != DETVM_OK && err.message[0], "%s: a failure without a message", def->name);
    return (int)err.status;
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_CANONICAL(def, kv, n_in, in, ...) \
    expect_canonical(def, kv, n_in, in, __VA_ARGS__, __LINE__)
#define EXPECT_STATUS(def, kv, n_in, in, status) expect_status(def, kv, n_in, in, status, __LINE__)
#define EXPECT_RESHAPE(in, codes, ...)                                                       \
    expect_canonical(&cvm_def_RESHAPE, KV("shape", codes), 1, (dv_shape[]){in}, __VA_ARGS__, \
                     __LINE__)
#define EXPECT_RESHAPE_STATUS(in, codes, status) \
    expect_status(&cvm_def_RESHAPE, KV("shape", codes), 1, (dv_shape[]){in}, status, __LINE__)

/* parse succeeds with these canonical attributes. */
static void expect_canonical(const cvm_op_def *def, const char *const *kv, uint32_t n_in,
                             const dv_shape *in, const int32_t *want, uint32_t n_want, int line)
{
    cvm_node n;
    int st = parse(def, kv, n_in, in, &n);
    int same = st == 0 && n.n_attr == n_want;
    for (uint32_t i = 0; same && i < n_want; i++)
        same = n.attr[i] == want[i];
    CHECK(same, "line %d: %s: status %d, %u attrs", line, def->name, st, n.n_attr);
}

/* parse gives this status. */
static void expect_status(const cvm_op_def *def, const char *const *kv, uint32_t n_in,
                          const dv_shape *in, int status, int line)
{
    cvm_node n;
    int st = parse(def, kv, n_in, in, &n);
    CHECK(st == status, "line %d: %s: status %d, want %d", line, def->name, st, status);
}

static void test_cvm_reshape(void)
{
    EXPECT_RESHAPE(SH(4, 3, 2), "(2, 12)", VALUES(2, 12));
    EXPECT_RESHAPE(SH(3, 4, 5), "[0,-1]", VALUES(3, 20));
    EXPECT_RESHAPE(SH(2, 3, 4), "(-1, 4)", VALUES(6, 4));
    /* 6 and -1 move the cursor past 2 and 3, so -2 copies 4, 5; -1 is then 120/120 = 1 */
    EXPECT_RESHAPE(SH(2, 3, 4, 5), "[6,-1,-2]", VALUES(6, 1, 4, 5));
    EXPECT_RESHAPE(SH(2, 3, 4), "[-3,0]", VALUES(6, 4));
    /* -4 splits 6 into 2 and 6 / 2 = 3; 0 copies 5 */
    EXPECT_RESHAPE(SH(6, 5), "(-4, 2, -1, 0)", VALUES(2, 3, 5));
    EXPECT_RESHAPE(SH(12, 2), "(-4, -1, 3, -2)", VALUES(4, 3, 2));
    /* 0 -> 2, -3 -> 3 * 4 = 12, -1 at position 2 -> 48 / 24 = 2 */
    EXPECT_RESHAPE(SH(2, 3, 4, 2), "[0,-3,-1]", VALUES(2, 12, 2));
    EXPECT_RESHAPE(SH(3, 5), "[-1]", VALUES(15));
    EXPECT_RESHAPE(SH(4, 6), "(1, 2, 2, 1, 3, 2)", VALUES(1, 2, 2, 1, 3, 2));
    EXPECT_RESHAPE(SH(1, 18, 8, 8), "(0, 3, 6, -1)", VALUES(1, 3, 6, 64));
    EXPECT_RESHAPE(SH(2, 840, 1), "(-3, -2)", VALUES(1680, 1));
    EXPECT_RESHAPE(SH(1), "[0,-1]", VALUES(1, 1));
    /* codes below -4 are ignored */
    EXPECT_RESHAPE(SH(2, 3), "(-5, 6)", VALUES(6));
    /* The runtime writes the inferred dim at the code's position (4), past the output's 4
     * dims after -4 shrank it, so the write is lost and the placeholder 1 stays:
     * -4 -> 2, 3; 0 -> 5; -1 -> 1 = (2, 3, 5, 1), 30 elements as the input. */
    EXPECT_RESHAPE(SH(6, 5), "[-4,2,3,0,-1]", VALUES(2, 3, 5, 1));
    /* -2 -> 2, 3, then -1 at code position 1 overwrites the 3: 6 / (2*3*1) = 1 -> (2, 1, 1),
     * 2 elements, not 6 */
    EXPECT_RESHAPE_STATUS(SH(2, 3), "[-2,-1]", DETVM_EINVALID);

    EXPECT_RESHAPE_STATUS(SH(4, 3), "(5, 2)", DETVM_EINVALID); /* invalid_reshape_size */
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-1,-1]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[0,0,0]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-3,-3]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-4,-1,-1,0]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-4,2,3,0]", DETVM_EINVALID);  /* 2 * 3 != 4 */
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-4,-1,0,0]", DETVM_EINVALID); /* 4 / 0 */
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-4,2]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[-4,-2,-2,0]", DETVM_EINVALID);     /* dims -2, -2 */
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[1,1,1,1,1,1,12]", DETVM_EINVALID); /* rank 7 */
    /* -1 with a product that wraps to 0 in 32 bits: the runtime divides by zero */
    EXPECT_RESHAPE_STATUS(SH(1), "[65536,65536,-1]", DETVM_EINVALID);
    EXPECT_RESHAPE_STATUS(SH(4, 3), "[2147483647,-1]", DETVM_EINVALID);

    cvm_node n;
    dv_shape in = SH(4, 3);
    EXPECT_STATUS(&cvm_def_RESHAPE, NULL, 1, &in, DETVM_ERUNTIME); /* shape required */
    EXPECT_STATUS(&cvm_def_RESHAPE, KV("shape", "(12,)", "bogus", "1"), 1, &in, DETVM_ERUNTIME);
    EXPECT_STATUS(&cvm_def_RESHAPE, KV("shape", "(1 2)"), 1, &in, DETVM_ERUNTIME);
    /* the wrong number of inputs is left to the loader's arity check */
    CHECK(parse(&cvm_def_RESHAPE, KV("shape", "(12,)"), 2, (dv_shape[]){in, in}, &n) == 0 &&
              n.n_in_expected == 1,
          "reshape with two inputs: parse leaves the arity to the loader");
}

static void test_cvm_axes(void)
{
    cvm_node n;
    dv_shape s3 = SH(3, 2, 1), s4 = SH(2, 1, 3, 1), s2 = SH(2, 3);

    CHECK(parse(&cvm_def_FLATTEN, NULL, 1, &s3, &n) == 0 && n.opcode == DV_OP_FLATTEN &&
              n.n_attr == 0,
          "flatten parses to no attributes");
    EXPECT_STATUS(&cvm_def_FLATTEN, KV("axis", "1"), 1, &s3, DETVM_EINVALID);

    EXPECT_CANONICAL(&cvm_def_EXPAND_DIMS, KV("axis", "-4"), 1, &s3, VALUES(0, 1));
    EXPECT_CANONICAL(&cvm_def_EXPAND_DIMS, KV("axis", "-1", "num_newaxis", "2"), 1, &s3,
                     VALUES(3, 2));
    EXPECT_STATUS(&cvm_def_EXPAND_DIMS, KV("axis", "4"), 1, &s3, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_EXPAND_DIMS, KV("axis", "-5"), 1, &s3, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_EXPAND_DIMS, KV("axis", "0", "num_newaxis", "4097"), 1, &s3,
                  DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_EXPAND_DIMS, KV("axis", "0", "num_newaxis", "0"), 1, &s3,
                  DETVM_ERUNTIME);
    EXPECT_STATUS(&cvm_def_EXPAND_DIMS, NULL, 1, &s3, DETVM_ERUNTIME); /* axis required */

    EXPECT_CANONICAL(&cvm_def_SQUEEZE, KV("axis", "(-1, 1)"), 1, &s4, VALUES(0xa));
    EXPECT_CANONICAL(&cvm_def_SQUEEZE, NULL, 1, &s4, VALUES(0xa));
    EXPECT_CANONICAL(&cvm_def_SQUEEZE, KV("axis", "(1, -3)"), 1, &s4, VALUES(0x2));
    EXPECT_STATUS(&cvm_def_SQUEEZE, KV("axis", "(4,)"), 1, &s4, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_SQUEEZE, KV("axis", "(-5,)"), 1, &s4, DETVM_EINVALID);

    dv_shape s5 = SH(5, 1, 4, 4);
    EXPECT_CANONICAL(&cvm_def_TRANSPOSE, KV("axes", "[-2,3,-4,-3]"), 1, &s5, VALUES(2, 3, 0, 1));
    EXPECT_CANONICAL(&cvm_def_TRANSPOSE, NULL, 1, &s3, VALUES(2, 1, 0));
    EXPECT_STATUS(&cvm_def_TRANSPOSE, KV("axes", "[0,0]"), 1, &s2, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_TRANSPOSE, KV("axes", "[1,-1]"), 1, &s2, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_TRANSPOSE, KV("axes", "[0]"), 1, &s2, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_TRANSPOSE, KV("axes", "[0,2]"), 1, &s2, DETVM_EINVALID);

    dv_shape cat[] = {SH(3, 5, 1), SH(3, 5, 3)};
    CHECK(parse(&cvm_def_CONCATENATE, NULL, 2, cat, &n) == 0 && n.n_attr == 1 && n.attr[0] == 1 &&
              n.n_in_expected == 2,
          "concatenate: default axis 1, as many inputs as given");
    EXPECT_CANONICAL(&cvm_def_CONCATENATE, KV("axis", "-1"), 2, cat, VALUES(2));
    EXPECT_STATUS(&cvm_def_CONCATENATE, KV("axis", "3"), 2, cat, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_CONCATENATE, KV("axis", "-4"), 2, cat, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_CONCATENATE, NULL, 0, NULL, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_CONCATENATE, KV("axis", "x"), 2, cat, DETVM_ERUNTIME);

    EXPECT_CANONICAL(&cvm_def_REPEAT, KV("repeats", "3", "axis", "-2"), 1, &s2, VALUES(3, 0));
    EXPECT_CANONICAL(&cvm_def_REPEAT, KV("repeats", "4"), 1, &s2, VALUES(4, 0));
    EXPECT_STATUS(&cvm_def_REPEAT, KV("repeats", "0"), 1, &s2, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_REPEAT, KV("repeats", "2", "axis", "2"), 1, &s2, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_REPEAT, KV("axis", "0"), 1, &s2, DETVM_ERUNTIME);

    dv_shape s511 = SH(5, 1, 1), s324 = SH(3, 2, 4);
    EXPECT_CANONICAL(&cvm_def_TILE, KV("reps", "[2]"), 1, &s511, VALUES(1, 1, 2));
    EXPECT_CANONICAL(&cvm_def_TILE, KV("reps", "(3, 2, 3, 1)"), 1, &s324, VALUES(3, 2, 3, 1));
    EXPECT_STATUS(&cvm_def_TILE, NULL, 1, &s324, DETVM_EINVALID); /* default (0,) */
    EXPECT_STATUS(&cvm_def_TILE, KV("reps", "()"), 1, &s324, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_TILE, KV("reps", "(4097,)"), 1, &s324, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_TILE, KV("reps", "(1,1,1,1,1,1,1)"), 1, &s324, DETVM_EINVALID);

    dv_shape s26 = SH(2, 6);
    EXPECT_CANONICAL(&cvm_def_STRIDED_SLICE, KV("begin", "-2", "end", "[2,3]"), 1, &s26,
                     VALUES(-2, 0, 2, 3, 1, 1));
    /* defaults: begin (0,), end (1,), then the input dims and stride 1 */
    EXPECT_CANONICAL(&cvm_def_STRIDED_SLICE, NULL, 1, &s26, VALUES(0, 0, 1, 6, 1, 1));
    /* entries past the input rank are ignored */
    EXPECT_CANONICAL(&cvm_def_STRIDED_SLICE, KV("begin", "[0,1,2]", "stride", "[1,2,0]"), 1, &s26,
                     VALUES(0, 1, 1, 6, 1, 2));

    dv_shape like_none[] = {SH(2, 5, 6, 5), SH(2, 1, 3, 3)};
    EXPECT_CANONICAL(&cvm_def_SLICE_LIKE, NULL, 2, like_none, VALUES(0xf));
    dv_shape like_neg[] = {SH(4, 6), SH(4, 3, 8, 8)};
    EXPECT_CANONICAL(&cvm_def_SLICE_LIKE, KV("axis", "(-2,)"), 2, like_neg, VALUES(0x1));
    EXPECT_STATUS(&cvm_def_SLICE_LIKE, KV("axis", "(2,)"), 2, like_neg, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_SLICE_LIKE, NULL, 2, like_neg, DETVM_EINVALID); /* ranks */
    dv_shape like_wide[] = {SH(3, 5, 5), SH(3, 1, 3, 2, 9)};
    EXPECT_CANONICAL(&cvm_def_SLICE_LIKE, KV("axis", "(0, 1, 2)"), 2, like_wide, VALUES(0x7));

    dv_shape take[] = {SH(4, 4, 3), SH(4)};
    EXPECT_CANONICAL(&cvm_def_TAKE, NULL, 2, take, VALUES(-1));
    EXPECT_CANONICAL(&cvm_def_TAKE, KV("axis", "None"), 2, take, VALUES(-1));
    EXPECT_CANONICAL(&cvm_def_TAKE, KV("axis", "-1"), 2, take, VALUES(2));
    EXPECT_STATUS(&cvm_def_TAKE, KV("axis", "3"), 2, take, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_TAKE, KV("axis", "-4"), 2, take, DETVM_EINVALID);

    dv_shape lut[] = {SH(4), SH(8)}; /* invalid_lut_in_dim: in_dim 9, table of 8 */
    EXPECT_STATUS(&cvm_def_CVM_LUT, KV("in_dim", "9"), 2, lut, DETVM_EINVALID);
    CHECK(parse(&cvm_def_CVM_LUT, KV("in_dim", "8"), 2, lut, &n) == 0 && n.n_attr == 0,
          "cvm_lut: in_dim matches the table, no canonical attributes");
    EXPECT_STATUS(&cvm_def_CVM_LUT, KV("in_dim", "-8"), 2, lut, DETVM_EINVALID);
    EXPECT_STATUS(&cvm_def_CVM_LUT, NULL, 2, lut, DETVM_ERUNTIME);
}

static void test_cvm_precision(void)
{
    detvm_error err = {0};
    cvm_node n = {0};
    dv_shape out = SH(1);
    n.n_in = 3;
    n.in_prec = (const int32_t[]){8, 16, 4};
    CHECK(cvm_def_CONCATENATE.precision(&n, &out, &err) == 0 && n.out_prec[0] == 16,
          "concatenate: the widest input's precision");
    CHECK(cvm_def_TRANSPOSE.precision(&n, &out, &err) == 0 && n.out_prec[0] == 8,
          "transpose: the input's precision");
    n.n_in = 2; /* cvm_lut: data of 8 bits, table of 16: the table's precision */
    CHECK(cvm_def_CVM_LUT.precision(&n, &out, &err) == 0 && n.out_prec[0] == 16,
          "cvm_lut: the table's precision");
    CHECK(cvm_def_TAKE.precision(&n, &out, &err) == 0 && n.out_prec[0] == 8,
          "take: the data's precision, not the indices'");
    n.in_prec = (const int32_t[]){8, -1};
    CHECK(cvm_def_TAKE.precision(&n, &out, &err) != 0 && err.status == DETVM_EINVALID,
          "take: an input without precision is status 1");
    CHECK(cvm_def_TAKE.divergence == NULL && cvm_def_STRIDED_SLICE.divergence == NULL,
          "no op of the family diverges");
}

int main(void)
{
    test_flatten();
    test_reshape();
    test_expand_dims();
    test_squeeze();
    test_transpose();
    test_concatenate();
    test_repeat();
    test_tile();
    test_strided_slice();
    test_slice_like();
    test_take();
    test_cvm_lut();
    test_cvm_reshape();
    test_cvm_axes();
    test_cvm_precision();
    return check_summary("test_ops_transform");
}
