/* The opcode list: one entry per op, in the module format's numbering (never renumber).
 * Each entry gives the operands (inputs -> outputs) and the attribute layout; the semantics
 * are documented at the reference kernel, in the family file named on the right. */
#ifndef DETVM_OPS_OPCODES_H
#define DETVM_OPS_OPCODES_H

enum dv_opcode {
    /* ops/elemwise.c */
    DV_OP_ABS = 1,             /* x -> y                           attrs: none */
    DV_OP_NEGATIVE = 2,        /* x -> y                           attrs: none */
    DV_OP_RELU = 3,            /* x -> y                           attrs: none */
    DV_OP_CLIP = 4,            /* x -> y                           attrs: a_min, a_max */
    DV_OP_CVM_CLIP = 5,        /* x -> y                           attrs: precision */
    DV_OP_CVM_LEFT_SHIFT = 6,  /* x -> y                           attrs: precision, shift_bit */
    DV_OP_CVM_RIGHT_SHIFT = 7, /* x -> y                           attrs: precision, shift_bit */
    DV_OP_CVM_PRECISION = 8,   /* x -> y                           attrs: none */
    DV_OP_ELEMWISE_ADD = 9,    /* a, b -> y                        attrs: none */
    DV_OP_ELEMWISE_SUB = 10,   /* a, b -> y                        attrs: none */

    /* ops/broadcast.c */
    DV_OP_BROADCAST_ADD = 16,     /* a, b -> y                     attrs: none */
    DV_OP_BROADCAST_SUB = 17,     /* a, b -> y                     attrs: none */
    DV_OP_BROADCAST_MUL = 18,     /* a, b -> y                     attrs: none */
    DV_OP_BROADCAST_DIV = 19,     /* a, b -> y                     attrs: none */
    DV_OP_BROADCAST_GREATER = 20, /* a, b -> y                     attrs: none */
    DV_OP_BROADCAST_MAX = 21,     /* a, b -> y                     attrs: none */
    DV_OP_WHERE = 22,             /* cond, x, y -> out             attrs: none */

    /* ops/nn.c */
    DV_OP_CONV2D = 32,      /* data, weight[, bias] -> y   attrs: see ops/nn.c */
    DV_OP_DENSE = 33,       /* data, weight[, bias] -> y   attrs: see ops/nn.c */
    DV_OP_MAX_POOL2D = 34,  /* x -> y                      attrs: see ops/nn.c */
    DV_OP_UPSAMPLING = 35,  /* x -> y                      attrs: see ops/nn.c */

    /* ops/reduce.c */
    DV_OP_SUM = 40,         /* x -> y                      attrs: see ops/reduce.c */
    DV_OP_MAX = 41,         /* x -> y                      attrs: see ops/reduce.c */

    /* ops/transform.c */
    DV_OP_FLATTEN = 48,       /* x -> y                    attrs: see ops/transform.c */
    DV_OP_RESHAPE = 49,
    DV_OP_EXPAND_DIMS = 50,
    DV_OP_SQUEEZE = 51,
    DV_OP_TRANSPOSE = 52,
    DV_OP_CONCATENATE = 53,
    DV_OP_REPEAT = 54,
    DV_OP_TILE = 55,
    DV_OP_STRIDED_SLICE = 56,
    DV_OP_SLICE_LIKE = 57,
    DV_OP_TAKE = 58,
    DV_OP_CVM_LUT = 59,

    /* ops/vision.c */
    DV_OP_GET_VALID_COUNTS = 64,    /* x -> count, boxes       attrs: see ops/vision.c */
    DV_OP_NON_MAX_SUPPRESSION = 65, /* boxes, count -> y       attrs: see ops/vision.c */

    DV_OP_LIMIT = 128 /* every opcode is below this */
};

#endif
