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
    /* ops/nn.c, fused by the compiler (loader/fuse.c): an op, then CVM_RIGHT_SHIFT, then an
     * optional activation, in one instruction. The epilogue's 5 attrs follow the op's own:
     * precision, shift_bit, act (0, or the opcode RELU, CLIP or CVM_CLIP), act_a, act_b. */
    DV_OP_CONV2D_SHIFT = 36,      /* data, weight[, bias] -> y   attrs: conv2d's 13, epilogue */
    DV_OP_DENSE_SHIFT = 37,       /* data, weight[, bias] -> y   attrs: dense's 2, epilogue */
    DV_OP_ELEMWISE_ADD_SHIFT = 38, /* a, b -> y                  attrs: epilogue */
    /* CONV2D_SHIFT then the MAX_POOL2D that alone reads its output (loader/fuse.c) */
    DV_OP_CONV2D_SHIFT_MAX_POOL = 39, /* data, weight[, bias] -> y
                                         attrs: conv2d_shift's 18, max_pool2d's 9 */

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
    DV_OP_PAD = 60,           /* x -> y                    attrs: see ops/transform.c */

    /* ops/vision.c */
    DV_OP_GET_VALID_COUNTS = 64,    /* x -> count, boxes       attrs: see ops/vision.c */
    DV_OP_NON_MAX_SUPPRESSION = 65, /* boxes, count -> y       attrs: see ops/vision.c */

    /* ops/qnn.c: TFLite int8 kernels (NHWC), bit-exact with TFLite Micro's reference */
    DV_OP_QCONV2D = 72,            /* data, filter, bias, multiplier, shift -> y           */
    DV_OP_QDEPTHWISE_CONV2D = 73,  /* data, filter, bias, multiplier, shift -> y           */
    DV_OP_QFULLY_CONNECTED = 74,   /* data, weights, bias, multiplier, shift -> y          */
    DV_OP_QAVG_POOL2D = 75,        /* x -> y                                               */
    DV_OP_QMAX_POOL2D = 76,        /* x -> y                                               */
    DV_OP_QMEAN = 77,              /* x -> y                                               */

    /* ops/qelemwise.c: TFLite int8 elementwise kernels */
    DV_OP_QADD = 80,               /* a, b -> y (broadcasting)                             */
    DV_OP_QSUB = 81,               /* a, b -> y (broadcasting)                             */
    DV_OP_QMUL = 82,               /* a, b -> y (broadcasting)                             */
    DV_OP_QREQUANTIZE = 83,        /* x -> y: QUANTIZE, RELU, RELU6                         */
    DV_OP_QLEAKY_RELU = 84,        /* x -> y                                               */
    DV_OP_QHARD_SWISH = 85,        /* x -> y                                               */
    DV_OP_QLOGISTIC = 86,          /* x -> y                                               */
    DV_OP_QTANH = 87,              /* x -> y                                               */
    DV_OP_QSOFTMAX = 88,           /* x -> y                                               */
    /* every attribute layout is documented at the op's kernel */

    /* Imported kmodels (K210). A kmodel addresses two memories by byte offset: main memory
     * and the 2 MiB KPU RAM. Each is a "memory image" tensor (ops/kimage.h: four bytes per
     * int32 element, little-endian); an instruction that writes a memory takes its current
     * image and yields the next one, so every step's effect is an ordinary output. */

    /* ops/kimage.c: moving the model's plain input and outputs in and out of an image */
    DV_OP_IMAGE_WRITE = 96,        /* image, x -> image'                                   */
    DV_OP_IMAGE_READ = 97,         /* image -> y                                           */
    DV_OP_IMAGE_ZERO = 98,         /* -> image (all bytes zero)                            */

    /* ops/kpu.c: the K210 KPU, computed from its 12-word layer argument block */
    DV_OP_KPU_UPLOAD = 100,        /* kpu, src -> kpu'    attrs: kind, src off, n, c, h, w, dst off */
    DV_OP_KPU_CONV2D = 101,        /* kpu, weights, bn, act -> kpu'   attrs: 24 word halves,
                                      batches, 0, semantics[, weight bits] (ops/kpu.h)       */
    DV_OP_KPU_CONV2D_OUT = 102,    /* kpu, weights, bn, act, main -> kpu', main'
                                      attrs: as KPU_CONV2D, main output byte offset          */

    /* ops/nncase.c: the CPU nodes of kmodel v4, as the nncase v0.2 runtime computes them */
    /* Pattern (ops/nncase.h): dst image, source images..., constants -> dst image'.
     * Attribute layouts at each kernel; byte offsets index the images. */
    DV_OP_NNCASE_BINARY = 112,           /* dst, a, b -> dst'    float a op b, broadcast   */
    DV_OP_NNCASE_CONCAT = 113,           /* dst, src_0..n-1 -> dst'   byte concatenation   */
    DV_OP_NNCASE_CONV2D = 114,           /* dst, src, weights, bias -> dst'   float conv   */
    DV_OP_NNCASE_DEQUANTIZE = 115,       /* dst, src -> dst'     uint8 -> float            */
    DV_OP_NNCASE_MATMUL = 116,           /* dst, a, b, bias -> dst'   float                */
    DV_OP_NNCASE_PAD = 117,              /* dst, src -> dst'                               */
    DV_OP_NNCASE_QUANTIZE = 118,         /* dst, src -> dst'     float -> uint8            */
    DV_OP_NNCASE_REDUCE = 119,           /* dst, src -> dst'     float mean/min/max/sum    */
    DV_OP_NNCASE_REDUCE_WINDOW2D = 120,  /* dst, src -> dst'     float pooling             */
    DV_OP_NNCASE_MEMORY_COPY = 121,      /* dst, src -> dst'                               */
    DV_OP_NNCASE_RESIZE_IMAGE = 122,     /* dst, src -> dst'     bilinear / nearest        */
    DV_OP_NNCASE_SOFTMAX = 123,          /* dst, src -> dst'     float                     */
    DV_OP_NNCASE_TRANSPOSE = 124,        /* dst, src -> dst'                               */
    DV_OP_NNCASE_STRIDED_SLICE = 125,    /* dst, src -> dst'                               */
    DV_OP_NNCASE_UNARY = 126,            /* dst, src -> dst'     float abs..square         */
    DV_OP_NNCASE_QUANTIZED_CONV2D = 127, /* dst, src, weights, bias -> dst'   uint8 conv   */
    DV_OP_NNCASE_QUANTIZED_MATMUL = 128, /* dst, a, b, bias -> dst'   uint8                */
    DV_OP_NNCASE_QUANTIZED_BINARY = 129, /* dst, a, b -> dst'    uint8 a op b, broadcast   */
    DV_OP_NNCASE_TABLE_LOOKUP1D = 130,   /* dst, src, table -> dst'                        */
    DV_OP_NNCASE_CONV2D_TRANSPOSE = 131, /* dst, src, weights -> dst'   float              */
    DV_OP_NNCASE_NNIL_UNARY = 132,       /* dst, src -> dst'     a float stack program     */
    /* 133..135: free for ops/nncase.c */

    /* ops/k210_sdk.c: the CPU layers of kmodel v3, as the Kendryte SDK's kpu.c computes them */
    DV_OP_SDK_ADD = 136,                 /* main -> main'   a, b, out, count                */
    DV_OP_SDK_QUANTIZED_ADD = 137,       /* main -> main'   a, b, out, count, 9 params      */
    DV_OP_SDK_GLOBAL_AVERAGE_POOL2D = 138, /* main -> main' in, out, kernel_size, channels  */
    DV_OP_SDK_QUANTIZED_MAX_POOL2D = 139, /* main -> main'  in, out, 11 geometry values     */
    DV_OP_SDK_AVERAGE_POOL2D = 140,      /* main -> main'   in, out, 11 geometry values     */
    DV_OP_SDK_QUANTIZE = 141,            /* main -> main'   in, out, count, scale, bias     */
    DV_OP_SDK_DEQUANTIZE = 142,          /* main -> main'   in, out, count, scale, bias     */
    DV_OP_SDK_REQUANTIZE = 143,          /* main, table -> main'   in, out, count           */
    DV_OP_SDK_L2_NORMALIZATION = 144,    /* main -> main'   in, out, channels               */
    DV_OP_SDK_SOFTMAX = 145,             /* main -> main'   in, out, channels               */
    DV_OP_SDK_CONCAT = 146,              /* main -> main'   out, n, n x (start, size)       */
    DV_OP_SDK_FULLY_CONNECTED = 147,     /* main, weights -> main'   in, out, in, out, act  */
    DV_OP_SDK_TF_FLATTEN = 148,          /* main -> main'   in, out, width, height, channels */
    DV_OP_SDK_RESIZE_NEAREST_NEIGHBOR = 149, /* main -> main'  in, out, 6 sizes, element   */
    DV_OP_SDK_CHANNELWISE_DEQUANTIZE = 150, /* main, params -> main'  in, out, channels, size */
    DV_OP_SDK_LOGISTIC = 151,            /* main -> main'   in, out, channels               */
    DV_OP_SDK_ADD_PADDING = 152,         /* kpu, main -> kpu'   in, kpu out, channels       */
    DV_OP_SDK_REMOVE_PADDING = 153,      /* main -> main'   in, out, channels               */
    /* 154..159 free for ops/k210_sdk.c */

    DV_OP_LIMIT = 160 /* every opcode is below this */
};

#endif
