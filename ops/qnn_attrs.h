/* The attribute layouts of the TFLite int8 neural-network ops: the position of each value in
 * an instruction's attribute list. The kernels in ops/qnn.c read them, the importer
 * (loader/tflite_nn.c) writes them and the static checks (verify/static_check.c) bound them;
 * each layout's meaning is documented at its kernel. */
#ifndef DETVM_OPS_QNN_ATTRS_H
#define DETVM_OPS_QNN_ATTRS_H

/* QCONV2D, and QDEPTHWISE_CONV2D with one more */
enum {
    QC_STRIDE_H, QC_STRIDE_W, QC_DILATION_H, QC_DILATION_W,
    QC_PAD_TOP, QC_PAD_LEFT, QC_PAD_BOTTOM, QC_PAD_RIGHT,
    QC_INPUT_OFFSET, QC_OUTPUT_OFFSET, QC_ACT_MIN, QC_ACT_MAX, QC_ROUNDING,
    QCONV_N_ATTRS, QDW_DEPTH_MULTIPLIER = QCONV_N_ATTRS, QDW_N_ATTRS
};

/* QFULLY_CONNECTED */
enum { QFC_INPUT_OFFSET, QFC_FILTER_OFFSET, QFC_OUTPUT_OFFSET, QFC_ACT_MIN, QFC_ACT_MAX,
       QFC_ROUNDING, QFC_N_ATTRS };

/* QAVG_POOL2D, QMAX_POOL2D */
enum { QP_FILTER_H, QP_FILTER_W, QP_STRIDE_H, QP_STRIDE_W, QP_PAD_TOP, QP_PAD_LEFT,
       QP_PAD_BOTTOM, QP_PAD_RIGHT, QP_ACT_MIN, QP_ACT_MAX, QP_N_ATTRS };

/* QMEAN */
enum { QM_AXIS_MASK, QM_KEEP_DIMS, QM_INPUT_ZERO_POINT, QM_OUTPUT_ZERO_POINT, QM_MULTIPLIER,
       QM_SHIFT, QM_ROUNDING, QM_N_ATTRS };

#endif
