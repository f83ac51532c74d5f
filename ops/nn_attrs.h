/* The canonical attribute layouts of the neural-network ops: the position of each value in
 * an instruction's attribute list. The kernels in ops/nn.c read them, and the CVM loader
 * (loader/cvm_nn.c) writes them; each layout's meaning is documented at its kernel. */
#ifndef DETVM_OPS_NN_ATTRS_H
#define DETVM_OPS_NN_ATTRS_H

/* CONV2D */
enum {
    CONV_CHANNELS, CONV_KERNEL_H, CONV_KERNEL_W, CONV_STRIDE_H, CONV_STRIDE_W,
    CONV_PAD_TOP, CONV_PAD_LEFT, CONV_PAD_BOTTOM, CONV_PAD_RIGHT,
    CONV_DILATION_H, CONV_DILATION_W, CONV_GROUPS, CONV_USE_BIAS, CONV_N_ATTRS
};

/* DENSE */
enum { DENSE_UNITS, DENSE_USE_BIAS, DENSE_N_ATTRS };

/* MAX_POOL2D */
enum {
    POOL_H, POOL_W, POOL_STRIDE_H, POOL_STRIDE_W, POOL_PAD_TOP, POOL_PAD_LEFT,
    POOL_PAD_BOTTOM, POOL_PAD_RIGHT, POOL_CEIL_MODE, POOL_N_ATTRS
};

/* UPSAMPLING */
enum { UPSAMPLING_SCALE, UPSAMPLING_N_ATTRS };

/* The epilogue of the fused ops (CONV2D_SHIFT, DENSE_SHIFT, ELEMWISE_ADD_SHIFT), after the
 * op's own attributes: CVM_RIGHT_SHIFT's precision and shift_bit, then the activation `act`,
 * 0 (none) or the opcode DV_OP_RELU, DV_OP_CLIP or DV_OP_CVM_CLIP, with its attributes in
 * act_a, act_b (CLIP: a_min, a_max; CVM_CLIP: precision, 0; none and RELU: 0, 0). */
enum { EPI_PRECISION, EPI_SHIFT_BIT, EPI_ACT, EPI_ACT_A, EPI_ACT_B, EPI_N_ATTRS };

#endif
