/* The K210 KPU: its layer argument block, its RAM layout and its arithmetic.
 *
 * The KPU is programmed with twelve 64-bit words (the SDK's kpu_layer_argument_t), pushed in
 * order into its layer_argument_fifo. detvm carries them as 24 int32 attributes (low half,
 * high half of each word) and decodes them here with explicit shifts and masks, never C
 * bitfields, so the decoding is the same on every compiler and byte order.
 *
 * Feature maps live in the KPU's 2 MiB RAM in 64-byte rows: a map of width w uses
 * ceil(w/64) rows per image line; maps up to 16 (32) wide share each row between 4 (2)
 * channels, at 16 (32) byte pitch. This header gives that layout, the layer decoding, the
 * sizes an importer needs, and dv_kpu_compute, the one implementation of a layer's
 * arithmetic that both the reference ops (ops/kpu.c) and the K210 emulator (hal/k210/) run.
 *
 * Pure functions, no allocation: a caller provides scratch (dv_kpu_scratch_bytes). */
#ifndef DETVM_OPS_KPU_H
#define DETVM_OPS_KPU_H

#include <stddef.h>
#include <stdint.h>

#include "kimage.h"

#define DV_KPU_ROW_BYTES 64u
#define DV_KPU_RAM_ROWS (DV_KPU_RAM_BYTES / DV_KPU_ROW_BYTES)
#define DV_KPU_WORDS 12            /* 64-bit words of a layer argument block */
#define DV_KPU_BN_BYTES 8u         /* one kpu_batchnorm_argument_t per output channel */
#define DV_KPU_ACT_BYTES 144u      /* kpu_activate_table_t: 16 segments + 2 bias words */
#define DV_KPU_ACT_SEGMENTS 16

/* Attribute layout of KPU_CONV2D and KPU_CONV2D_OUT. */
enum dv_kpu_conv_attr {
    DV_KPU_ATTR_WORDS = 0,         /* [0..23]: word i is (attr[2i] low 32 bits, attr[2i+1] high) */
    DV_KPU_ATTR_BATCHES = 24,      /* maps processed one after the other (v4 batches; v3: 1) */
    DV_KPU_ATTR_MAIN_OFFSET = 25,  /* KPU_CONV2D_OUT: byte offset of the NCHW copy in main memory */
    DV_KPU_ATTR_SEMANTICS = 26,    /* enum dv_kpu_semantics */
    DV_KPU_ATTR_WEIGHT_BITS = 27,  /* optional: 8 (default) or 16 (v3 files without flag bit 0) */
    DV_KPU_CONV_ATTRS = 27,        /* attribute count without, and with, the optional one */
    DV_KPU_CONV_ATTRS_MAX = 28
};

/* Attribute layout of KPU_UPLOAD. */
enum dv_kpu_upload_attr {
    DV_KPU_UP_KIND = 0,            /* enum dv_kpu_upload_kind */
    DV_KPU_UP_SRC_OFFSET = 1,      /* kind 1: byte offset in the main memory image; kind 0: 0 */
    DV_KPU_UP_N = 2, DV_KPU_UP_C = 3, DV_KPU_UP_H = 4, DV_KPU_UP_W = 5,
    DV_KPU_UP_DST_OFFSET = 6,      /* byte offset in KPU RAM where the map starts */
    DV_KPU_UPLOAD_ATTRS = 7
};

enum dv_kpu_upload_kind {
    DV_KPU_UPLOAD_PLAIN = 0,       /* src: a plain tensor, one uint8 per element, NCHW */
    DV_KPU_UPLOAD_IMAGE = 1        /* src: the main memory image, NCHW bytes from the offset */
};

/* Which published arithmetic a layer follows (same values as loader/kmodel.h's
 * km_kpu_semantics). They differ only in the activation step; see dv_kpu_activate. */
enum dv_kpu_semantics {
    DV_KPU_NNCASE_V02 = 0,         /* nncase v0.2 simulator: segment start_x < x, its rounding */
    DV_KPU_SDK = 1,                /* nncase v0.1 emulator / SDK: start_x <= x, its rounding */
    DV_KPU_SEMANTICS_LIMIT = 2
};

enum dv_kpu_pool {
    DV_KPU_POOL_BYPASS = 0,
    DV_KPU_POOL_MAX_2_S2 = 1,
    DV_KPU_POOL_MEAN_2_S2 = 2,
    DV_KPU_POOL_MAX_4_S4 = 3,
    DV_KPU_POOL_MEAN_4_S4 = 4,
    DV_KPU_POOL_LEFT_TOP_2_S2 = 5,
    DV_KPU_POOL_RIGHT_TOP_2_S2 = 6,
    DV_KPU_POOL_LEFT_TOP_4_S4 = 7,
    DV_KPU_POOL_MEAN_2_S1 = 8,
    DV_KPU_POOL_MAX_2_S1 = 9,
    DV_KPU_POOL_LIMIT = 10
};

/* Every field of the layer argument block: word index, first bit, width (the SDK's
 * kpu_layer_argument_t, lib/drivers/include/kpu.h). Reserved bits are listed too, so that a
 * check can see them. */
typedef struct {
    const char *name;
    uint8_t word, shift, bits;
} dv_kpu_field_info;

enum dv_kpu_field {
    /* word 0: interrupt_enabe */
    DV_KPU_INT_EN, DV_KPU_RAM_FLAG, DV_KPU_FULL_ADD, DV_KPU_DEPTH_WISE_LAYER, DV_KPU_RESERVED_0,
    /* word 1: image_addr (64-byte row numbers) */
    DV_KPU_IMAGE_SRC_ADDR, DV_KPU_RESERVED_1A, DV_KPU_IMAGE_DST_ADDR, DV_KPU_RESERVED_1B,
    /* word 2: image_channel_num (counts minus one) */
    DV_KPU_I_CH_NUM, DV_KPU_RESERVED_2A, DV_KPU_O_CH_NUM, DV_KPU_RESERVED_2B,
    DV_KPU_O_CH_NUM_COEF, DV_KPU_RESERVED_2C,
    /* word 3: image_size (sizes minus one) */
    DV_KPU_I_ROW_WID, DV_KPU_I_COL_HIGH, DV_KPU_RESERVED_3A, DV_KPU_O_ROW_WID,
    DV_KPU_O_COL_HIGH, DV_KPU_RESERVED_3B,
    /* word 4: kernel_pool_type_cfg */
    DV_KPU_KERNEL_TYPE, DV_KPU_PAD_TYPE, DV_KPU_POOL_TYPE, DV_KPU_FIRST_STRIDE,
    DV_KPU_BYPASS_CONV, DV_KPU_LOAD_PARA, DV_KPU_RESERVED_4, DV_KPU_DMA_BURST_SIZE,
    DV_KPU_PAD_VALUE, DV_KPU_BWSX_BASE_ADDR,
    /* word 5: kernel_load_cfg */
    DV_KPU_LOAD_COOR, DV_KPU_LOAD_TIME, DV_KPU_RESERVED_5, DV_KPU_PARA_SIZE,
    DV_KPU_PARA_START_ADDR,
    /* word 6: kernel_offset */
    DV_KPU_COEF_COLUMN_OFFSET, DV_KPU_COEF_ROW_OFFSET, DV_KPU_RESERVED_6,
    /* word 7: kernel_calc_type_cfg */
    DV_KPU_CHANNEL_SWITCH_ADDR, DV_KPU_RESERVED_7, DV_KPU_ROW_SWITCH_ADDR, DV_KPU_COEF_SIZE,
    DV_KPU_COEF_GROUP, DV_KPU_LOAD_ACT, DV_KPU_ACTIVE_ADDR,
    /* word 8: write_back_cfg */
    DV_KPU_WB_CHANNEL_SWITCH_ADDR, DV_KPU_RESERVED_8A, DV_KPU_WB_ROW_SWITCH_ADDR,
    DV_KPU_WB_GROUP, DV_KPU_RESERVED_8B,
    /* word 9: conv_value (arg_w and arg_x are 24-bit two's complement) */
    DV_KPU_SHR_W, DV_KPU_SHR_X, DV_KPU_ARG_W, DV_KPU_ARG_X, DV_KPU_RESERVED_9,
    /* word 10: conv_value2 (arg_add is 40-bit two's complement) */
    DV_KPU_ARG_ADD, DV_KPU_RESERVED_10,
    /* word 11: dma_parameter */
    DV_KPU_SEND_DATA_OUT, DV_KPU_RESERVED_11, DV_KPU_CHANNEL_BYTE_NUM, DV_KPU_DMA_TOTAL_BYTE,
    DV_KPU_FIELD_COUNT
};

extern const dv_kpu_field_info dv_kpu_fields[DV_KPU_FIELD_COUNT];

/* The words of a block from its 24 attributes, and back. */
void dv_kpu_words_from_attrs(const int32_t attrs[24], uint64_t words[DV_KPU_WORDS]);
void dv_kpu_words_to_attrs(const uint64_t words[DV_KPU_WORDS], int32_t attrs[24]);

/* Field `f` of a block (unsigned, as stored), and setting it (value truncated to its width). */
uint64_t dv_kpu_get(const uint64_t words[DV_KPU_WORDS], enum dv_kpu_field f);
void dv_kpu_set(uint64_t words[DV_KPU_WORDS], enum dv_kpu_field f, uint64_t value);

/* A decoded layer: every field, with the counts and sizes as the numbers they stand for. */
typedef struct {
    uint64_t words[DV_KPU_WORDS];
    /* interrupt_enabe */
    uint32_t int_en, ram_flag, full_add, depthwise;
    /* image_addr: 64-byte row numbers in KPU RAM */
    uint32_t src_row, dst_row;
    /* image_channel_num, image_size: the real counts (field + 1) */
    uint32_t in_c, out_c, out_c_per_load;
    uint32_t in_w, in_h, out_w, out_h;
    /* kernel_pool_type_cfg */
    uint32_t kernel_type, filter;          /* filter: 1 or 3 (0 when kernel_type is invalid) */
    uint32_t pad_type, pool_type, first_stride, bypass_conv, load_para, dma_burst_size;
    uint32_t pad_value, bwsx_base_addr;
    /* kernel_load_cfg */
    uint32_t load_coor, load_time, para_size, para_start_addr;
    /* kernel_offset */
    uint32_t coef_column_offset, coef_row_offset;
    /* kernel_calc_type_cfg */
    uint32_t channel_switch_addr, row_switch_addr, coef_size, coef_group, load_act, active_addr;
    /* write_back_cfg */
    uint32_t wb_channel_switch_addr, wb_row_switch_addr, wb_group;
    /* conv_value, conv_value2: sign-extended */
    uint32_t shr_w, shr_x;
    int32_t arg_w, arg_x;
    int64_t arg_add;
    /* dma_parameter */
    uint32_t send_data_out, channel_byte_num, dma_total_byte;
    uint64_t reserved;                     /* OR of every reserved field, as stored */
} dv_kpu_layer;

/* Decodes a block given as 24 attributes. Always succeeds; dv_kpu_check judges the result. */
void dv_kpu_decode(const int32_t attrs[24], dv_kpu_layer *layer);
void dv_kpu_decode_words(const uint64_t words[DV_KPU_WORDS], dv_kpu_layer *layer);

/* NULL when the layer is one the reference computes, for `batches` maps one after the
 * other, with `weight_bits` (8 or 16) weights: valid filter and pool types, consistent
 * channel counts and sizes, no mode the reference does not model, the address fields zero
 * (unless `allow_addresses`, for a block the driver has filled in), every KPU RAM byte read or
 * written inside the 2 MiB for every batch, and no batch's output overwriting a later
 * batch's input. Else a one-line reason naming the field. */
const char *dv_kpu_check(const dv_kpu_layer *layer, uint32_t batches, uint32_t weight_bits,
                         int allow_addresses);

/* NULL when the fields the chip uses but the reference derives from the geometry (row and
 * write-back layout, weight loading, DMA byte counts, reserved bits) agree with the geometry,
 * as nncase v0.1 and v0.2 write them; a real KPU computes such a layer as the reference
 * does. Else a one-line reason. Devices that run layers on silicon require it. */
const char *dv_kpu_check_hardware(const dv_kpu_layer *layer, uint32_t weight_bits);

/* Sizes of a layer's constants, in bytes. */
uint32_t dv_kpu_weights_bytes(const dv_kpu_layer *layer, uint32_t weight_bits);
static inline uint32_t dv_kpu_bn_bytes(const dv_kpu_layer *layer)
{
    return layer->out_c * DV_KPU_BN_BYTES;
}

/* Pooling: window size and stride of a pool type (0 for an invalid type). */
uint32_t dv_kpu_pool_size(uint32_t pool_type);
uint32_t dv_kpu_pool_stride(uint32_t pool_type);

/* ---- The KPU RAM layout ---- */

typedef struct {
    uint32_t groups;     /* channels sharing one row: 4 (w <= 16), 2 (w <= 32), else 1 */
    uint32_t row_len;    /* rows per image line: 1, or ceil(w / 64) */
    uint32_t row_pitch;  /* bytes between channels sharing a row: 16, 32 or 64 */
} dv_kpu_row_layout;

dv_kpu_row_layout dv_kpu_layout(uint32_t w);
/* Rows and bytes one w x h x c map takes (a batch of n maps takes n times as many). */
uint64_t dv_kpu_map_rows(uint32_t w, uint32_t h, uint32_t c);
static inline uint64_t dv_kpu_map_bytes(uint32_t w, uint32_t h, uint32_t c)
{
    return dv_kpu_map_rows(w, h, c) * DV_KPU_ROW_BYTES;
}
/* Byte address of pixel (c, y, x) of a w x h map starting at byte `base`. */
uint64_t dv_kpu_addr(uint64_t base, uint32_t w, uint32_t h, uint32_t c, uint32_t y, uint32_t x);

/* NULL when n maps of c x h x w (n*c*h*w bytes when plain) fit in KPU RAM from `offset`. */
const char *dv_kpu_map_check(int64_t offset, uint32_t n, uint32_t c, uint32_t h, uint32_t w);

/* Reads n maps from the KPU RAM image into plain NCHW bytes (nncase kpu_download), and writes
 * plain NCHW bytes into the KPU's layout (kpu_upload, the SDK's kpu_upload_core): only the
 * w bytes of each line are touched, the rest of each row keeps its bytes. The caller checks
 * the range with dv_kpu_map_check. */
void dv_kpu_download(const int32_t *kpu_image, uint32_t byte_offset, uint32_t n, uint32_t c,
                     uint32_t h, uint32_t w, uint8_t *out);
void dv_kpu_upload(int32_t *kpu_image, uint32_t byte_offset, uint32_t n, uint32_t c,
                   uint32_t h, uint32_t w, const uint8_t *in);

/* ---- The arithmetic ---- */

/* A layer's constants, each a memory image (four bytes per element, little-endian) holding
 * the bytes as stored in the kmodel. */
typedef struct {
    const int32_t *weights;   /* dv_kpu_weights_bytes bytes */
    const int32_t *bn;        /* out_c x 8 bytes */
    const int32_t *act;       /* 144 bytes */
    uint32_t weight_bits;     /* 8 or 16 */
    int32_t semantics;        /* enum dv_kpu_semantics */
} dv_kpu_params;

/* Scratch bytes dv_kpu_compute needs for one map of the layer. */
uint64_t dv_kpu_scratch_bytes(const dv_kpu_layer *layer);

/* Computes ONE map of a layer that dv_kpu_check accepted (batches are separate calls with the
 * row addresses advanced): reads the input map at src_row*64 of `kpu`, computes convolution,
 * batch norm, activation and pooling (documented in ops/kpu.c), writes the output map at
 * dst_row*64 in the KPU layout, and returns the output as plain NCHW bytes
 * (out_c*out_h*out_w of them, inside `scratch`), which is what the layer's DMA sends to main
 * memory. The input is read completely before anything is written. */
const uint8_t *dv_kpu_compute(const dv_kpu_layer *layer, const dv_kpu_params *params,
                              int32_t *kpu, uint8_t *scratch);

/* One activation step, exposed for tests: `x` is the batch-norm output. */
uint8_t dv_kpu_activate(const int32_t *act, int64_t x, int32_t semantics);

/* ---- MaixPy's kpu.netinfo ---- */

typedef struct {
    uint32_t wi, hi, wo, ho, chi, cho;
    uint32_t dw;            /* 1 for a depthwise layer */
    uint32_t kernel_type;   /* 0: 1x1, 1: 3x3 */
    uint32_t pool_type;     /* enum dv_kpu_pool */
    uint32_t para_size;     /* kernel_load_cfg.para_size: weight bytes loaded at a time */
} dv_kpu_netinfo;

void dv_kpu_netinfo_of(const dv_kpu_layer *layer, dv_kpu_netinfo *info);

#endif
