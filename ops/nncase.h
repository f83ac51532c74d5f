/* The CPU nodes of kmodel v4 (nncase v0.2).
 *
 * The ops (ops/nncase.c) work on memory images (ops/kimage.h). Every op follows one pattern:
 *
 *   inputs:  [0] the current image of the memory the node writes,
 *            [1..k] the image holding each source range, in the order the op lists them
 *                   (the same image may be given for several sources),
 *            then the op's constants (weights, bias), raw bytes as memory images;
 *   output:  the next image of the written memory (a copy of input 0 with the result stored).
 *
 * Byte offsets in the attributes are offsets into those images; float parameters are given
 * as their IEEE-754 bits in an int32. The layouts are listed in enum dv_nncase_* below and
 * documented at each kernel.
 *
 * The kernels' float functions (expf, logf, sinf, ...) are ops/fmath.h's: the same bits on
 * every host, no libm. */
#ifndef DETVM_OPS_NNCASE_H
#define DETVM_OPS_NNCASE_H

#include <stdint.h>

#include "fmath.h"

/* Element kinds of the byte-moving ops (pad, transpose, strided_slice). */
enum { DV_NNCASE_ELEM_U8 = 1, DV_NNCASE_ELEM_F32 = 4 };

/* nncase binary_op_t and reduce_op_t, unary_op_t, image_resize_mode_t. */
enum dv_nncase_binary { DV_NNCASE_ADD, DV_NNCASE_SUB, DV_NNCASE_MUL, DV_NNCASE_DIV,
                        DV_NNCASE_MIN, DV_NNCASE_MAX, DV_NNCASE_BINARY_LIMIT };
enum dv_nncase_reduce { DV_NNCASE_REDUCE_MEAN, DV_NNCASE_REDUCE_MIN, DV_NNCASE_REDUCE_MAX,
                        DV_NNCASE_REDUCE_SUM, DV_NNCASE_REDUCE_LIMIT };
enum dv_nncase_unary { DV_NNCASE_ABS, DV_NNCASE_CEIL, DV_NNCASE_COS, DV_NNCASE_EXP,
                       DV_NNCASE_FLOOR, DV_NNCASE_LOG, DV_NNCASE_NEG, DV_NNCASE_RSQRT,
                       DV_NNCASE_SIN, DV_NNCASE_SQUARE, DV_NNCASE_UNARY_LIMIT };
enum dv_nncase_resize { DV_NNCASE_BILINEAR, DV_NNCASE_NEAREST, DV_NNCASE_RESIZE_LIMIT };

/* The data layouts of the convolution and window ops: nncase's neutral kernels (NCHW,
 * grouped) and its cpu_* kernels (NHWC, dense or depthwise), which sum in other orders. */
enum dv_nncase_layout { DV_NNCASE_NCHW = 0, DV_NNCASE_NHWC = 1, DV_NNCASE_NHWC_DEPTHWISE = 2,
                        DV_NNCASE_LAYOUT_LIMIT = 3 };

/* nnil_unary_method programs: the opcodes (nncase runtime/nnil.h) and the stack size. */
enum dv_nnil_op {
    DV_NNIL_NOP = 0x00, DV_NNIL_DUP = 0x01, DV_NNIL_POP = 0x02, DV_NNIL_LDA_0 = 0x03,
    DV_NNIL_LDC_R4_0 = 0x04, DV_NNIL_LDC_R4_1 = 0x05, DV_NNIL_LDC_R4 = 0x06,
    DV_NNIL_ABS = 0x20, DV_NNIL_CEIL = 0x21, DV_NNIL_COS = 0x22, DV_NNIL_EXP = 0x23,
    DV_NNIL_FLOOR = 0x24, DV_NNIL_LOG = 0x25, DV_NNIL_NEG = 0x26, DV_NNIL_RSQRT = 0x27,
    DV_NNIL_SIN = 0x28, DV_NNIL_SQUARE = 0x29,
    DV_NNIL_ADD = 0x40, DV_NNIL_SUB = 0x41, DV_NNIL_MUL = 0x42, DV_NNIL_DIV = 0x43,
    DV_NNIL_MIN = 0x44, DV_NNIL_MAX = 0x45, DV_NNIL_CLAMP = 0x80, DV_NNIL_RET = 0xA0
};
#define DV_NNIL_STACK 64
#define DV_NNIL_MAX_OPS 1024

/* The NaN every float op of this family stores, whatever NaN its arithmetic made: hosts
 * disagree on NaN payloads and signs (x86 makes 0xffc00000, RISC-V 0x7fc00000), so detvm
 * stores one, the quiet NaN of ops/fmath.h. */
#define DV_NNCASE_NAN_BITS DV_F32_QNAN

#endif
