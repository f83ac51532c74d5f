/* The K210 KPU (ops/kpu.h): layer decoding, the KPU RAM layout, the layer arithmetic, and the
 * ops KPU_UPLOAD, KPU_CONV2D and KPU_CONV2D_OUT.
 *
 * The arithmetic is that of the nncase v0.2.0-beta4 K210 simulator (kernels::k210::kpu_conv2d
 * and kpu_pool2d), which produced the goldens. It computes in 64-bit integers; where its
 * products can leave the int64 range (batch norm and activation multiply values the
 * convolution can make large), the reference wraps modulo 2^64 as x86-64 does, and so do we,
 * through uint64_t, so that C never overflows a signed type. Shift counts wider than the
 * operand are reduced as x86-64 reduces them (mod 64, mod 32 for the int-typed `half`). */
#include "kpu.h"

/* ---- The layer argument block ---- */

const dv_kpu_field_info dv_kpu_fields[DV_KPU_FIELD_COUNT] = {
    [DV_KPU_INT_EN] = {"interrupt_enabe.int_en", 0, 0, 1},
    [DV_KPU_RAM_FLAG] = {"interrupt_enabe.ram_flag", 0, 1, 1},
    [DV_KPU_FULL_ADD] = {"interrupt_enabe.full_add", 0, 2, 1},
    [DV_KPU_DEPTH_WISE_LAYER] = {"interrupt_enabe.depth_wise_layer", 0, 3, 1},
    [DV_KPU_RESERVED_0] = {"interrupt_enabe.reserved", 0, 4, 60},
    [DV_KPU_IMAGE_SRC_ADDR] = {"image_addr.image_src_addr", 1, 0, 15},
    [DV_KPU_RESERVED_1A] = {"image_addr.reserved0", 1, 15, 17},
    [DV_KPU_IMAGE_DST_ADDR] = {"image_addr.image_dst_addr", 1, 32, 15},
    [DV_KPU_RESERVED_1B] = {"image_addr.reserved1", 1, 47, 17},
    [DV_KPU_I_CH_NUM] = {"image_channel_num.i_ch_num", 2, 0, 10},
    [DV_KPU_RESERVED_2A] = {"image_channel_num.reserved0", 2, 10, 22},
    [DV_KPU_O_CH_NUM] = {"image_channel_num.o_ch_num", 2, 32, 10},
    [DV_KPU_RESERVED_2B] = {"image_channel_num.reserved1", 2, 42, 6},
    [DV_KPU_O_CH_NUM_COEF] = {"image_channel_num.o_ch_num_coef", 2, 48, 10},
    [DV_KPU_RESERVED_2C] = {"image_channel_num.reserved2", 2, 58, 6},
    [DV_KPU_I_ROW_WID] = {"image_size.i_row_wid", 3, 0, 10},
    [DV_KPU_I_COL_HIGH] = {"image_size.i_col_high", 3, 10, 9},
    [DV_KPU_RESERVED_3A] = {"image_size.reserved0", 3, 19, 13},
    [DV_KPU_O_ROW_WID] = {"image_size.o_row_wid", 3, 32, 10},
    [DV_KPU_O_COL_HIGH] = {"image_size.o_col_high", 3, 42, 9},
    [DV_KPU_RESERVED_3B] = {"image_size.reserved1", 3, 51, 13},
    [DV_KPU_KERNEL_TYPE] = {"kernel_pool_type_cfg.kernel_type", 4, 0, 3},
    [DV_KPU_PAD_TYPE] = {"kernel_pool_type_cfg.pad_type", 4, 3, 1},
    [DV_KPU_POOL_TYPE] = {"kernel_pool_type_cfg.pool_type", 4, 4, 4},
    [DV_KPU_FIRST_STRIDE] = {"kernel_pool_type_cfg.first_stride", 4, 8, 1},
    [DV_KPU_BYPASS_CONV] = {"kernel_pool_type_cfg.bypass_conv", 4, 9, 1},
    [DV_KPU_LOAD_PARA] = {"kernel_pool_type_cfg.load_para", 4, 10, 1},
    [DV_KPU_RESERVED_4] = {"kernel_pool_type_cfg.reserved0", 4, 11, 5},
    [DV_KPU_DMA_BURST_SIZE] = {"kernel_pool_type_cfg.dma_burst_size", 4, 16, 8},
    [DV_KPU_PAD_VALUE] = {"kernel_pool_type_cfg.pad_value", 4, 24, 8},
    [DV_KPU_BWSX_BASE_ADDR] = {"kernel_pool_type_cfg.bwsx_base_addr", 4, 32, 32},
    [DV_KPU_LOAD_COOR] = {"kernel_load_cfg.load_coor", 5, 0, 1},
    [DV_KPU_LOAD_TIME] = {"kernel_load_cfg.load_time", 5, 1, 6},
    [DV_KPU_RESERVED_5] = {"kernel_load_cfg.reserved0", 5, 7, 8},
    [DV_KPU_PARA_SIZE] = {"kernel_load_cfg.para_size", 5, 15, 17},
    [DV_KPU_PARA_START_ADDR] = {"kernel_load_cfg.para_start_addr", 5, 32, 32},
    [DV_KPU_COEF_COLUMN_OFFSET] = {"kernel_offset.coef_column_offset", 6, 0, 4},
    [DV_KPU_COEF_ROW_OFFSET] = {"kernel_offset.coef_row_offset", 6, 4, 12},
    [DV_KPU_RESERVED_6] = {"kernel_offset.reserved0", 6, 16, 48},
    [DV_KPU_CHANNEL_SWITCH_ADDR] = {"kernel_calc_type_cfg.channel_switch_addr", 7, 0, 15},
    [DV_KPU_RESERVED_7] = {"kernel_calc_type_cfg.reserved", 7, 15, 1},
    [DV_KPU_ROW_SWITCH_ADDR] = {"kernel_calc_type_cfg.row_switch_addr", 7, 16, 4},
    [DV_KPU_COEF_SIZE] = {"kernel_calc_type_cfg.coef_size", 7, 20, 8},
    [DV_KPU_COEF_GROUP] = {"kernel_calc_type_cfg.coef_group", 7, 28, 3},
    [DV_KPU_LOAD_ACT] = {"kernel_calc_type_cfg.load_act", 7, 31, 1},
    [DV_KPU_ACTIVE_ADDR] = {"kernel_calc_type_cfg.active_addr", 7, 32, 32},
    [DV_KPU_WB_CHANNEL_SWITCH_ADDR] = {"write_back_cfg.wb_channel_switch_addr", 8, 0, 15},
    [DV_KPU_RESERVED_8A] = {"write_back_cfg.reserved0", 8, 15, 1},
    [DV_KPU_WB_ROW_SWITCH_ADDR] = {"write_back_cfg.wb_row_switch_addr", 8, 16, 4},
    [DV_KPU_WB_GROUP] = {"write_back_cfg.wb_group", 8, 20, 3},
    [DV_KPU_RESERVED_8B] = {"write_back_cfg.reserved1", 8, 23, 41},
    [DV_KPU_SHR_W] = {"conv_value.shr_w", 9, 0, 4},
    [DV_KPU_SHR_X] = {"conv_value.shr_x", 9, 4, 4},
    [DV_KPU_ARG_W] = {"conv_value.arg_w", 9, 8, 24},
    [DV_KPU_ARG_X] = {"conv_value.arg_x", 9, 32, 24},
    [DV_KPU_RESERVED_9] = {"conv_value.reserved0", 9, 56, 8},
    [DV_KPU_ARG_ADD] = {"conv_value2.arg_add", 10, 0, 40},
    [DV_KPU_RESERVED_10] = {"conv_value2.reserved", 10, 40, 24},
    [DV_KPU_SEND_DATA_OUT] = {"dma_parameter.send_data_out", 11, 0, 1},
    [DV_KPU_RESERVED_11] = {"dma_parameter.reserved", 11, 1, 15},
    [DV_KPU_CHANNEL_BYTE_NUM] = {"dma_parameter.channel_byte_num", 11, 16, 16},
    [DV_KPU_DMA_TOTAL_BYTE] = {"dma_parameter.dma_total_byte", 11, 32, 32},
};

static uint64_t low_mask(uint32_t bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

void dv_kpu_words_from_attrs(const int32_t attrs[24], uint64_t words[DV_KPU_WORDS])
{
    for (int i = 0; i < DV_KPU_WORDS; i++)
        words[i] = (uint64_t)(uint32_t)attrs[2 * i] | (uint64_t)(uint32_t)attrs[2 * i + 1] << 32;
}

/* An unsigned 32-bit pattern as int32 without implementation-defined conversion. */
static int32_t s32(uint32_t u)
{
    return u <= 0x7fffffffu ? (int32_t)u : (int32_t)(u - 0x80000000u) - 0x7fffffff - 1;
}

/* The same for 64 bits: the two's complement reading of a wrapped result. */
static int64_t s64(uint64_t u)
{
    return u <= 0x7fffffffffffffffull ? (int64_t)u
                                      : (int64_t)(u - 0x8000000000000000ull) - 0x7fffffffffffffffll - 1;
}

void dv_kpu_words_to_attrs(const uint64_t words[DV_KPU_WORDS], int32_t attrs[24])
{
    for (int i = 0; i < DV_KPU_WORDS; i++) {
        attrs[2 * i] = s32((uint32_t)words[i]);
        attrs[2 * i + 1] = s32((uint32_t)(words[i] >> 32));
    }
}

uint64_t dv_kpu_get(const uint64_t words[DV_KPU_WORDS], enum dv_kpu_field f)
{
    const dv_kpu_field_info *fi = &dv_kpu_fields[f];
    return words[fi->word] >> fi->shift & low_mask(fi->bits);
}

void dv_kpu_set(uint64_t words[DV_KPU_WORDS], enum dv_kpu_field f, uint64_t value)
{
    const dv_kpu_field_info *fi = &dv_kpu_fields[f];
    uint64_t mask = low_mask(fi->bits) << fi->shift;
    words[fi->word] = (words[fi->word] & ~mask) | (value << fi->shift & mask);
}

/* A `bits`-wide two's complement field as a signed number. */
static int64_t sign_extend(uint64_t v, uint32_t bits)
{
    uint64_t sign = 1ull << (bits - 1);
    return s64((v ^ sign) - sign);
}

void dv_kpu_decode_words(const uint64_t in_words[DV_KPU_WORDS], dv_kpu_layer *l)
{
    uint64_t words[DV_KPU_WORDS]; /* in_words may be l->words */
    memcpy(words, in_words, sizeof words);
    memset(l, 0, sizeof *l);
    memcpy(l->words, words, sizeof l->words);
#define F(field) ((uint32_t)dv_kpu_get(words, DV_KPU_##field))
    l->int_en = F(INT_EN);
    l->ram_flag = F(RAM_FLAG);
    l->full_add = F(FULL_ADD);
    l->depthwise = F(DEPTH_WISE_LAYER);
    l->src_row = F(IMAGE_SRC_ADDR);
    l->dst_row = F(IMAGE_DST_ADDR);
    l->in_c = F(I_CH_NUM) + 1;
    l->out_c = F(O_CH_NUM) + 1;
    l->out_c_per_load = F(O_CH_NUM_COEF) + 1;
    l->in_w = F(I_ROW_WID) + 1;
    l->in_h = F(I_COL_HIGH) + 1;
    l->out_w = F(O_ROW_WID) + 1;
    l->out_h = F(O_COL_HIGH) + 1;
    l->kernel_type = F(KERNEL_TYPE);
    l->filter = l->kernel_type == 0 ? 1 : l->kernel_type == 1 ? 3 : 0;
    l->pad_type = F(PAD_TYPE);
    l->pool_type = F(POOL_TYPE);
    l->first_stride = F(FIRST_STRIDE);
    l->bypass_conv = F(BYPASS_CONV);
    l->load_para = F(LOAD_PARA);
    l->dma_burst_size = F(DMA_BURST_SIZE);
    l->pad_value = F(PAD_VALUE);
    l->bwsx_base_addr = F(BWSX_BASE_ADDR);
    l->load_coor = F(LOAD_COOR);
    l->load_time = F(LOAD_TIME);
    l->para_size = F(PARA_SIZE);
    l->para_start_addr = F(PARA_START_ADDR);
    l->coef_column_offset = F(COEF_COLUMN_OFFSET);
    l->coef_row_offset = F(COEF_ROW_OFFSET);
    l->channel_switch_addr = F(CHANNEL_SWITCH_ADDR);
    l->row_switch_addr = F(ROW_SWITCH_ADDR);
    l->coef_size = F(COEF_SIZE);
    l->coef_group = F(COEF_GROUP);
    l->load_act = F(LOAD_ACT);
    l->active_addr = F(ACTIVE_ADDR);
    l->wb_channel_switch_addr = F(WB_CHANNEL_SWITCH_ADDR);
    l->wb_row_switch_addr = F(WB_ROW_SWITCH_ADDR);
    l->wb_group = F(WB_GROUP);
    l->shr_w = F(SHR_W);
    l->shr_x = F(SHR_X);
    l->arg_w = (int32_t)sign_extend(dv_kpu_get(words, DV_KPU_ARG_W), 24);
    l->arg_x = (int32_t)sign_extend(dv_kpu_get(words, DV_KPU_ARG_X), 24);
    l->arg_add = sign_extend(dv_kpu_get(words, DV_KPU_ARG_ADD), 40);
    l->send_data_out = F(SEND_DATA_OUT);
    l->channel_byte_num = F(CHANNEL_BYTE_NUM);
    l->dma_total_byte = F(DMA_TOTAL_BYTE);
#undef F
    static const enum dv_kpu_field reserved[] = {
        DV_KPU_RESERVED_0,  DV_KPU_RESERVED_1A, DV_KPU_RESERVED_1B, DV_KPU_RESERVED_2A,
        DV_KPU_RESERVED_2B, DV_KPU_RESERVED_2C, DV_KPU_RESERVED_3A, DV_KPU_RESERVED_3B,
        DV_KPU_RESERVED_4,  DV_KPU_RESERVED_5,  DV_KPU_RESERVED_6,  DV_KPU_RESERVED_7,
        DV_KPU_RESERVED_8A, DV_KPU_RESERVED_8B, DV_KPU_RESERVED_9,  DV_KPU_RESERVED_10,
        DV_KPU_RESERVED_11};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        l->reserved |= dv_kpu_get(words, reserved[i]);
}

void dv_kpu_decode(const int32_t attrs[24], dv_kpu_layer *l)
{
    uint64_t words[DV_KPU_WORDS];
    dv_kpu_words_from_attrs(attrs, words);
    dv_kpu_decode_words(words, l);
}

uint32_t dv_kpu_pool_size(uint32_t pool_type)
{
    static const uint8_t size[DV_KPU_POOL_LIMIT] = {1, 2, 2, 4, 4, 2, 2, 4, 2, 2};
    return pool_type < DV_KPU_POOL_LIMIT ? size[pool_type] : 0;
}

uint32_t dv_kpu_pool_stride(uint32_t pool_type)
{
    static const uint8_t stride[DV_KPU_POOL_LIMIT] = {1, 2, 2, 4, 4, 2, 2, 4, 1, 1};
    return pool_type < DV_KPU_POOL_LIMIT ? stride[pool_type] : 0;
}

uint32_t dv_kpu_weights_bytes(const dv_kpu_layer *l, uint32_t weight_bits)
{
    uint32_t taps = l->filter * l->filter * (l->depthwise ? l->out_c : l->in_c * l->out_c);
    return taps * (weight_bits / 8);
}

/* ---- The KPU RAM layout (nncase get_kpu_row_layout / get_kpu_rows) ---- */

dv_kpu_row_layout dv_kpu_layout(uint32_t w)
{
    dv_kpu_row_layout l;
    if (w <= 16) {
        l.groups = 4, l.row_len = 1, l.row_pitch = 16;
    } else if (w <= 32) {
        l.groups = 2, l.row_len = 1, l.row_pitch = 32;
    } else {
        l.groups = 1, l.row_len = (uint32_t)(((uint64_t)w + 63) / 64), l.row_pitch = 64;
    }
    return l;
}

uint64_t dv_kpu_map_rows(uint32_t w, uint32_t h, uint32_t c)
{
    dv_kpu_row_layout l = dv_kpu_layout(w);
    uint32_t per_row = c < l.groups ? c : l.groups;
    if (per_row == 0)
        return 0;
    uint64_t blocks = ((uint64_t)c + per_row - 1) / per_row;
    return (uint64_t)l.row_len * h * blocks;
}

uint64_t dv_kpu_addr(uint64_t base, uint32_t w, uint32_t h, uint32_t c, uint32_t y, uint32_t x)
{
    dv_kpu_row_layout l = dv_kpu_layout(w);
    return base + (uint64_t)(c / l.groups) * l.row_len * h * DV_KPU_ROW_BYTES +
           (uint64_t)(c % l.groups) * l.row_pitch + (uint64_t)y * l.row_len * DV_KPU_ROW_BYTES +
           x;
}

const char *dv_kpu_map_check(int64_t offset, uint32_t n, uint32_t c, uint32_t h, uint32_t w)
{
    if (n == 0 || c == 0 || h == 0 || w == 0)
        return "kpu map: dimensions must be positive";
    if (n > DV_KPU_RAM_BYTES || c > DV_KPU_RAM_BYTES || h > DV_KPU_RAM_BYTES ||
        w > DV_KPU_RAM_BYTES)
        return "kpu map: larger than KPU RAM";
    uint64_t one = dv_kpu_map_bytes(w, h, c);
    if (offset < 0 || (uint64_t)offset > DV_KPU_RAM_BYTES || one > DV_KPU_RAM_BYTES ||
        n > (DV_KPU_RAM_BYTES - (uint64_t)offset) / one)
        return "kpu map: rows outside the 2 MiB KPU RAM";
    return NULL;
}

/* Byte address of line (b, c, y) of n maps from `base`: the line's first pixel. */
static uint32_t line_addr(uint32_t base, uint32_t w, uint32_t h, uint32_t c, uint32_t b,
                          uint32_t ch, uint32_t y)
{
    return (uint32_t)(dv_kpu_addr(base + b * dv_kpu_map_bytes(w, h, c), w, h, ch, y, 0));
}

void dv_kpu_download(const int32_t *kpu, uint32_t offset, uint32_t n, uint32_t c, uint32_t h,
                     uint32_t w, uint8_t *out)
{
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t ch = 0; ch < c; ch++)
            for (uint32_t y = 0; y < h; y++) {
                uint32_t a = line_addr(offset, w, h, c, b, ch, y);
                for (uint32_t x = 0; x < w; x++)
                    *out++ = dv_image_u8(kpu, a + x);
            }
}

void dv_kpu_upload(int32_t *kpu, uint32_t offset, uint32_t n, uint32_t c, uint32_t h,
                   uint32_t w, const uint8_t *in)
{
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t ch = 0; ch < c; ch++)
            for (uint32_t y = 0; y < h; y++) {
                uint32_t a = line_addr(offset, w, h, c, b, ch, y);
                for (uint32_t x = 0; x < w; x++)
                    dv_image_put_u8(kpu, a + x, *in++);
            }
}

/* ---- Checking a layer ---- */

const char *dv_kpu_check(const dv_kpu_layer *l, uint32_t batches, uint32_t weight_bits,
                         int allow_addresses)
{
    if (l->kernel_type > 1)
        return "kernel_pool_type_cfg.kernel_type: must be 0 (1x1) or 1 (3x3)";
    if (l->pool_type >= DV_KPU_POOL_LIMIT)
        return "kernel_pool_type_cfg.pool_type: must be 0..9";
    if (l->depthwise && l->in_c != l->out_c)
        return "image_channel_num: a depthwise layer has as many output channels as input";
    uint32_t stride = dv_kpu_pool_stride(l->pool_type);
    if (l->out_w != l->in_w / stride)
        return "image_size.o_row_wid: must be the input width divided by the pool stride";
    if (l->out_h != l->in_h / stride)
        return "image_size.o_col_high: must be the input height divided by the pool stride";
    /* Modes that change what the chip computes and that the reference does not model. */
    if (l->full_add)
        return "interrupt_enabe.full_add: must be 0";
    if (l->pad_type)
        return "kernel_pool_type_cfg.pad_type: must be 0";
    if (l->first_stride)
        return "kernel_pool_type_cfg.first_stride: must be 0";
    if (l->bypass_conv)
        return "kernel_pool_type_cfg.bypass_conv: must be 0";
    if (!allow_addresses) {
        if (l->bwsx_base_addr)
            return "kernel_pool_type_cfg.bwsx_base_addr: must be 0 in a module";
        if (l->para_start_addr)
            return "kernel_load_cfg.para_start_addr: must be 0 in a module";
        if (l->active_addr)
            return "kernel_calc_type_cfg.active_addr: must be 0 in a module";
    }
    if (weight_bits != 8 && weight_bits != 16)
        return "weight bits: must be 8 or 16";
    if (batches < 1 || batches > DV_KPU_RAM_ROWS)
        return "batches: must be 1..32768";
    /* Every byte read and written, for every batch, inside KPU RAM. */
    uint64_t in_bytes = dv_kpu_map_bytes(l->in_w, l->in_h, l->in_c);
    uint64_t out_bytes = dv_kpu_map_bytes(l->out_w, l->out_h, l->out_c);
    uint64_t src = (uint64_t)l->src_row * DV_KPU_ROW_BYTES;
    uint64_t dst = (uint64_t)l->dst_row * DV_KPU_ROW_BYTES;
    if (dv_kpu_map_check((int64_t)src, batches, l->in_c, l->in_h, l->in_w))
        return "image_addr.image_src_addr: the input maps run past the 2 MiB KPU RAM";
    if (dv_kpu_map_check((int64_t)dst, batches, l->out_c, l->out_h, l->out_w))
        return "image_addr.image_dst_addr: the output maps run past the 2 MiB KPU RAM";
    /* The reference reads every batch's input before writing any output; batch by batch
     * computes the same only if no output lands on a later batch's input. */
    for (uint32_t b = 0; b + 1 < batches; b++) {
        uint64_t d0 = dst + b * out_bytes, d1 = d0 + out_bytes;
        uint64_t s0 = src + (b + 1) * in_bytes, s1 = src + batches * in_bytes;
        if (d0 < s1 && s0 < d1)
            return "image_addr: a batch's output overwrites a later batch's input";
    }
    return NULL;
}

const char *dv_kpu_check_hardware(const dv_kpu_layer *l, uint32_t weight_bits)
{
    if (l->reserved)
        return "reserved bits: must be 0";
    if (l->ram_flag)
        return "interrupt_enabe.ram_flag: must be 0";
    if (!l->load_para || !l->load_coor || !l->load_act)
        return "load_para, load_coor, load_act: must be 1 (the layer loads its parameters)";
    if (l->dma_burst_size != 15)
        return "kernel_pool_type_cfg.dma_burst_size: must be 15";
    if (l->coef_column_offset || l->coef_row_offset || l->coef_size)
        return "kernel_offset, coef_size: must be 0";
    dv_kpu_row_layout in = dv_kpu_layout(l->in_w), out = dv_kpu_layout(l->out_w);
    if (l->channel_switch_addr != ((in.row_len * l->in_h) & 0x7fff) ||
        l->row_switch_addr != (in.row_len & 0xf) || l->coef_group != in.groups)
        return "kernel_calc_type_cfg: row layout does not match the input size";
    if (l->wb_channel_switch_addr != ((out.row_len * l->out_h) & 0x7fff) ||
        l->wb_row_switch_addr != (out.row_len & 0xf) || l->wb_group != out.groups)
        return "write_back_cfg: row layout does not match the output size";
    uint32_t plane = l->out_w * l->out_h;
    if (l->channel_byte_num != ((plane - 1) & 0xffff) ||
        l->dma_total_byte != plane * l->out_c - 1)
        return "dma_parameter: byte counts do not match the output size";
    /* Weight loading, as nncase v0.1 and v0.2 split it: up to 30 KiB (8-bit) or 60 KiB
     * (16-bit) of whole output channels at a time. */
    uint32_t para, loads, per_load;
    if (l->depthwise) {
        para = dv_kpu_weights_bytes(l, weight_bits), loads = 1, per_load = l->out_c;
    } else {
        uint32_t one = l->filter * l->filter * l->in_c * (weight_bits / 8);
        uint32_t limit = weight_bits == 8 ? 30 * 1024 : 60 * 1024;
        per_load = limit / one < l->out_c ? limit / one : l->out_c;
        if (per_load == 0)
            return "kernel_load_cfg: one output channel's weights exceed a load";
        para = one * per_load;
        loads = (l->out_c + per_load - 1) / per_load;
    }
    if (l->para_size != para || l->load_time + 1 != loads || l->out_c_per_load != per_load)
        return "kernel_load_cfg, o_ch_num_coef: weight loading does not match the layer";
    return NULL;
}

/* ---- The arithmetic ---- */

/* x >> n for n in 0..63, rounding toward minus infinity (an arithmetic shift). */
static int64_t asr(int64_t x, uint32_t n)
{
    return x >= 0 ? x >> n : ~(~x >> n);
}

static int64_t wrap_add(int64_t a, int64_t b) { return s64((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return s64((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return s64((uint64_t)a * (uint64_t)b); }

/* nncase v0.2's carry_shift<int64_t, true>(v, s), s an 8-bit count: with integral = v >> s
 * (floor) and frac = the s low bits of v, it returns integral when frac < half, integral +
 * sign(v) when frac > half, and on a tie integral + sign(v) if integral is odd. For v < 0
 * this adds -1 to a floor, hence results one below round-to-nearest (the "quirk"). Counts:
 * v >> s and the mask use s mod 64, half = (int)1 << ((s-1) mod 32) (so s = 32 gives
 * INT_MIN, compared as the uint64 0xffffffff80000000), as the x86-64 build evaluates them. */
static int64_t carry_shift_v02(int64_t v, uint32_t s)
{
    if (s == 0)
        return v;
    uint32_t n = s & 63;
    int64_t integral = asr(v, n);
    uint64_t frac = (uint64_t)v & low_mask(n);
    uint32_t k = (s - 1) & 31;
    uint64_t half = k == 31 ? 0xffffffff80000000ull : (uint64_t)1 << k;
    int64_t sign = v < 0 ? -1 : 1;
    if (frac < half)
        return integral;
    if (frac > half)
        return integral + sign;
    return (integral & 1) ? integral + sign : integral;
}

/* The Kendryte SDK's kpu_carry_shift (and nncase v0.1's CarryShift): v >>= s - 1 (count mod
 * 64); then if the low bit is set, (v >> 1) + 1 for v >= 0 and (v >> 1) - 1 for v < 0, else
 * v >> 1. Round half up for non-negative values. */
static int64_t carry_shift_sdk(int64_t v, uint32_t s)
{
    if (s == 0)
        return v;
    v = asr(v, (s - 1) & 63);
    if (v & 1)
        return v < 0 ? asr(v, 1) - 1 : asr(v, 1) + 1;
    return asr(v, 1);
}

typedef struct {
    int64_t start;     /* x_start, 36-bit signed */
    int64_t mul;       /* y_mul, 16-bit signed */
    uint32_t shift;    /* shift_number, 8 bits */
    int64_t add;       /* result_bias byte */
} act_segment;

static uint64_t image_u64(const int32_t *img, uint32_t addr)
{
    return (uint64_t)dv_image_u32(img, addr) | (uint64_t)dv_image_u32(img, addr + 4) << 32;
}

/* The 16 segments of a kpu_activate_table_t. Segment i's add is byte i of the 16 bytes of
 * the two bias words: nncase v0.2 reads bias0.result_bias[i] for every i < 16, running past
 * the 8-byte bias0 into bias1, which is the same bytes. */
static void decode_act(const int32_t *act, act_segment seg[DV_KPU_ACT_SEGMENTS])
{
    for (uint32_t i = 0; i < DV_KPU_ACT_SEGMENTS; i++) {
        uint64_t w = image_u64(act, 8 * i);
        seg[i].shift = (uint32_t)(w & 0xff);
        seg[i].mul = sign_extend(w >> 8 & 0xffff, 16);
        seg[i].start = sign_extend(w >> 24 & low_mask(36), 36);
        seg[i].add = dv_image_u8(act, 128 + i);
    }
}

/* Activation of a batch-norm output x. The segment: nncase v0.2 takes the last one (highest
 * index) whose start_x < x, the SDK semantics the last one whose start_x <= x; when none
 * qualifies (x at or below every start; real tables start at -2^35) the reference reads
 * outside its table, and detvm takes segment 0. Then
 *   y = carry_shift((x - start_x) * mul, shift) + add, clamped to 0..255,
 * with the wrapping int64 products and the carry shift of the semantics. */
static uint8_t activate(const act_segment seg[DV_KPU_ACT_SEGMENTS], int64_t x, int32_t semantics)
{
    int i = DV_KPU_ACT_SEGMENTS - 1;
    if (semantics == DV_KPU_SDK) {
        while (i > 0 && !(seg[i].start <= x))
            i--;
    } else {
        while (i > 0 && !(x > seg[i].start))
            i--;
    }
    int64_t t = wrap_mul(wrap_sub(x, seg[i].start), seg[i].mul);
    t = semantics == DV_KPU_SDK ? carry_shift_sdk(t, seg[i].shift)
                                : carry_shift_v02(t, seg[i].shift);
    t = wrap_add(t, seg[i].add);
    return (uint8_t)(t < 0 ? 0 : t > 255 ? 255 : t);
}

uint8_t dv_kpu_activate(const int32_t *act, int64_t x, int32_t semantics)
{
    act_segment seg[DV_KPU_ACT_SEGMENTS];
    decode_act(act, seg);
    return activate(seg, x, semantics);
}

/* Where dv_kpu_compute keeps its work: offsets into scratch (aligned to 8 first). */
typedef struct {
    uint64_t acc, sum_x, plane, padded, weights, out, total;
} scratch_plan;

static scratch_plan plan_scratch(const dv_kpu_layer *l)
{
    uint64_t pad = l->filter == 3 ? 2 : 0;
    uint64_t pixels = (uint64_t)l->in_w * l->in_h;
    scratch_plan p;
    p.acc = 0;                                           /* int64 per pixel */
    p.sum_x = p.acc + 8 * pixels;                        /* int64 per pixel */
    p.weights = p.sum_x + 8 * pixels;                    /* uint16 per tap of one channel */
    p.plane = p.weights + 2 * 9 * (uint64_t)l->in_c;     /* uint8 per pixel */
    p.padded = p.plane + pixels;                         /* the padded input, uint8 */
    p.out = p.padded + (uint64_t)l->in_c * (l->in_h + pad) * (l->in_w + pad);
    p.total = p.out + (uint64_t)l->out_c * l->out_h * l->out_w;
    return p;
}

uint64_t dv_kpu_scratch_bytes(const dv_kpu_layer *l) { return plan_scratch(l).total + 8; }

/* The pooled value at (oy, ox) of one activated channel plane (nncase kpu_pool2d): bypass
 * copies; max takes the largest pixel of the window, pixels outside the plane counting as 0;
 * mean sums the window with coordinates clamped into the plane and divides by the window
 * area, rounding down; left_top/right_top pick the window's pixel (0, 0) or (0, 1). */
static uint8_t pool_at(const uint8_t *plane, uint32_t w, uint32_t h, uint32_t type,
                       uint32_t oy, uint32_t ox)
{
    uint32_t k = dv_kpu_pool_size(type), s = dv_kpu_pool_stride(type);
    uint32_t y0 = oy * s, x0 = ox * s;
    switch (type) {
    case DV_KPU_POOL_MAX_2_S2: case DV_KPU_POOL_MAX_4_S4: case DV_KPU_POOL_MAX_2_S1: {
        uint8_t m = 0;
        for (uint32_t y = y0; y < y0 + k && y < h; y++)
            for (uint32_t x = x0; x < x0 + k && x < w; x++)
                if (plane[y * w + x] > m)
                    m = plane[y * w + x];
        return m;
    }
    case DV_KPU_POOL_MEAN_2_S2: case DV_KPU_POOL_MEAN_4_S4: case DV_KPU_POOL_MEAN_2_S1: {
        uint32_t sum = 0;
        for (uint32_t y = y0; y < y0 + k; y++)
            for (uint32_t x = x0; x < x0 + k; x++)
                sum += plane[(y < h ? y : h - 1) * w + (x < w ? x : w - 1)];
        return (uint8_t)(sum / (k * k));
    }
    case DV_KPU_POOL_RIGHT_TOP_2_S2:
        x0 += 1;
        /* fall through */
    default: /* bypass, left_top */
        return y0 < h && x0 < w ? plane[y0 * w + x0] : 0;
    }
}

/* One map of a layer (nncase kpu_conv2d + kpu_pool2d), per output channel oc and input pixel
 * (y, x), all in int64:
 *   conv = sum over the taps (ic, ky, kx) of x * w
 *          + (arg_x * sum_x >> shr_x) + (arg_w * sum_w >> shr_w) + arg_add * g_ic
 * where x is the input pixel (y + ky - pad, x + kx - pad), pad = 1 for 3x3 and 0 for 1x1,
 * taken as pad_value outside the map; w the uint8 (or uint16) weight, stored [oc][ic][ky][kx]
 * ([oc][ky][kx] when depthwise, whose only input channel is oc); sum_x and sum_w the sums of
 * the x and w over the same taps; g_ic the input channels per output (1 when depthwise);
 * >> rounds down. Then batch norm with the channel's mul (24-bit signed), shift (4 bits) and
 * add (32-bit signed): bn = (conv * mul >> shift) + add, the product wrapping modulo 2^64.
 * Then the activation (activate above), then pooling (pool_at). */
const uint8_t *dv_kpu_compute(const dv_kpu_layer *l, const dv_kpu_params *prm, int32_t *kpu,
                              uint8_t *scratch)
{
    scratch_plan sp = plan_scratch(l);
    uint8_t *base = scratch + ((8 - ((uintptr_t)scratch & 7)) & 7);
    int64_t *acc = (int64_t *)(void *)(base + sp.acc);
    int64_t *sum_x = (int64_t *)(void *)(base + sp.sum_x);
    uint16_t *wts = (uint16_t *)(void *)(base + sp.weights);
    uint8_t *plane = base + sp.plane, *padded = base + sp.padded, *out = base + sp.out;

    const uint32_t w = l->in_w, h = l->in_h, f = l->filter, pad = f == 3 ? 1 : 0;
    const uint32_t pw = w + 2 * pad, ph = h + 2 * pad, pixels = w * h;
    const uint32_t src = l->src_row * DV_KPU_ROW_BYTES;

    /* The input, surrounded by pad_value, read before anything is written. */
    memset(padded, (int)l->pad_value, (size_t)l->in_c * ph * pw);
    for (uint32_t c = 0; c < l->in_c; c++)
        for (uint32_t y = 0; y < h; y++) {
            uint32_t a = line_addr(src, w, h, l->in_c, 0, c, y);
            uint8_t *row = padded + ((size_t)c * ph + y + pad) * pw + pad;
            for (uint32_t x = 0; x < w; x++)
                row[x] = dv_image_u8(kpu, a + x);
        }

    act_segment seg[DV_KPU_ACT_SEGMENTS];
    decode_act(prm->act, seg);
    const uint32_t g_ic = l->depthwise ? 1 : l->in_c, taps = g_ic * f * f;
    const uint32_t wbytes = prm->weight_bits / 8;

    for (uint32_t oc = 0; oc < l->out_c; oc++) {
        /* The channel's weights and their sum. */
        int64_t sum_w = 0;
        for (uint32_t t = 0; t < taps; t++) {
            uint32_t a = ((uint32_t)oc * taps + t) * wbytes;
            uint16_t v = dv_image_u8(prm->weights, a);
            if (wbytes == 2)
                v = (uint16_t)(v | dv_image_u8(prm->weights, a + 1) << 8);
            wts[t] = v;
            sum_w += v;
        }
        /* sum_x is the same for every output channel of a normal layer. */
        int new_sum_x = l->depthwise || oc == 0;
        memset(acc, 0, (size_t)pixels * sizeof *acc);
        if (new_sum_x)
            memset(sum_x, 0, (size_t)pixels * sizeof *sum_x);
        for (uint32_t i = 0; i < g_ic; i++) {
            uint32_t ic = l->depthwise ? oc : i;
            for (uint32_t ky = 0; ky < f; ky++)
                for (uint32_t kx = 0; kx < f; kx++) {
                    int64_t wv = wts[(i * f + ky) * f + kx];
                    for (uint32_t y = 0; y < h; y++) {
                        const uint8_t *row = padded + ((size_t)ic * ph + y + ky) * pw + kx;
                        int64_t *a = acc + (size_t)y * w, *sx = sum_x + (size_t)y * w;
                        for (uint32_t x = 0; x < w; x++)
                            a[x] += wv * row[x];
                        if (new_sum_x)
                            for (uint32_t x = 0; x < w; x++)
                                sx[x] += row[x];
                    }
                }
        }
        uint64_t bnw = image_u64(prm->bn, oc * DV_KPU_BN_BYTES);
        int64_t bn_mul = sign_extend(bnw & 0xffffff, 24);
        int64_t bn_add = sign_extend(bnw >> 24 & 0xffffffff, 32);
        uint32_t bn_shift = (uint32_t)(bnw >> 56 & 0xf);
        int64_t w_term = asr((int64_t)l->arg_w * sum_w, l->shr_w);
        int64_t add_term = l->arg_add * g_ic;
        for (uint32_t p = 0; p < pixels; p++) {
            int64_t conv = acc[p] + asr((int64_t)l->arg_x * sum_x[p], l->shr_x) + w_term +
                           add_term;
            int64_t bn = wrap_add(asr(wrap_mul(conv, bn_mul), bn_shift), bn_add);
            plane[p] = activate(seg, bn, prm->semantics);
        }
        uint8_t *o = out + (size_t)oc * l->out_h * l->out_w;
        for (uint32_t oy = 0; oy < l->out_h; oy++)
            for (uint32_t ox = 0; ox < l->out_w; ox++)
                *o++ = pool_at(plane, w, h, l->pool_type, oy, ox);
    }
    dv_kpu_upload(kpu, l->dst_row * DV_KPU_ROW_BYTES, 1, l->out_c, l->out_h, l->out_w, out);
    return out;
}

/* ---- MaixPy's kpu.netinfo ---- */

void dv_kpu_netinfo_of(const dv_kpu_layer *l, dv_kpu_netinfo *info)
{
    info->wi = l->in_w, info->hi = l->in_h, info->wo = l->out_w, info->ho = l->out_h;
    info->chi = l->in_c, info->cho = l->out_c, info->dw = l->depthwise;
    info->kernel_type = l->kernel_type, info->pool_type = l->pool_type;
    info->para_size = l->para_size;
}

/* ---- The ops ---- */

static int is_kpu_image(const dv_shape *s)
{
    return s->ndim == 1 && s->dim[0] == DV_KPU_RAM_BYTES / 4;
}

/* KPU_UPLOAD: kpu, src -> kpu'.
 *   attrs: kind (enum dv_kpu_upload_kind), src byte offset (kind 1; 0 for kind 0), n, c, h,
 *          w, destination byte offset in KPU RAM
 * kpu' is kpu with n maps of c x h x w bytes written in the KPU row layout from the
 * destination offset (nncase kernels::k210::kpu_upload, the SDK's kpu_upload_core: the same
 * layout): byte (b, ch, y, x) of the NCHW source goes to
 *   dst + b * map_bytes + (ch / groups) * row_len * h * 64 + (ch % groups) * row_pitch
 *       + y * row_len * 64 + x.
 * Kind 0: the source is a plain tensor of n*c*h*w elements, each taken as its low byte (the
 * model's uint8 input). Kind 1: the source is the main memory image, bytes from the offset.
 * Bytes of KPU RAM outside the written lines keep their values. */
static const char *upload_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                uint32_t n_out, dv_shape *out)
{
    if (a->n != DV_KPU_UPLOAD_ATTRS)
        return "kpu_upload: takes 7 attributes (kind, src offset, n, c, h, w, dst offset)";
    if (!is_kpu_image(&in[0]))
        return "kpu_upload: kpu: must be the 2 MiB KPU RAM image";
    const int32_t *v = a->v;
    for (int i = DV_KPU_UP_N; i <= DV_KPU_UP_W; i++)
        if (v[i] < 1)
            return "kpu_upload: n, c, h, w must be positive";
    uint32_t n = (uint32_t)v[DV_KPU_UP_N], c = (uint32_t)v[DV_KPU_UP_C];
    uint32_t h = (uint32_t)v[DV_KPU_UP_H], w = (uint32_t)v[DV_KPU_UP_W];
    if (dv_kpu_map_check(v[DV_KPU_UP_DST_OFFSET], n, c, h, w))
        return "kpu_upload: dst offset: the maps run past the 2 MiB KPU RAM";
    uint64_t bytes = (uint64_t)n * c * h * w; /* <= 2 MiB: the maps fit */
    if (v[DV_KPU_UP_KIND] == DV_KPU_UPLOAD_PLAIN) {
        if (v[DV_KPU_UP_SRC_OFFSET] != 0)
            return "kpu_upload: src offset must be 0 for a plain source";
        if (dv_shape_size(&in[1]) != bytes)
            return "kpu_upload: src: must have n*c*h*w elements";
    } else if (v[DV_KPU_UP_KIND] == DV_KPU_UPLOAD_IMAGE) {
        const char *why = dv_image_check_range(&in[1], v[DV_KPU_UP_SRC_OFFSET], (int64_t)bytes);
        if (why)
            return "kpu_upload: src: bytes outside the main memory image";
    } else {
        return "kpu_upload: kind must be 0 (plain tensor) or 1 (main memory image)";
    }
    out[0] = in[0];
    return NULL;
}

static void upload_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, int32_t *scratch)
{
    const int32_t *v = a->v;
    uint32_t n = (uint32_t)v[DV_KPU_UP_N], c = (uint32_t)v[DV_KPU_UP_C];
    uint32_t h = (uint32_t)v[DV_KPU_UP_H], w = (uint32_t)v[DV_KPU_UP_W];
    uint32_t dst = (uint32_t)v[DV_KPU_UP_DST_OFFSET], src = (uint32_t)v[DV_KPU_UP_SRC_OFFSET];
    int plain = v[DV_KPU_UP_KIND] == DV_KPU_UPLOAD_PLAIN;
    dv_image_copy(out[0].data, &in[0]);
    uint32_t i = 0;
    for (uint32_t b = 0; b < n; b++)
        for (uint32_t ch = 0; ch < c; ch++)
            for (uint32_t y = 0; y < h; y++) {
                uint32_t at = line_addr(dst, w, h, c, b, ch, y);
                for (uint32_t x = 0; x < w; x++, i++)
                    dv_image_put_u8(out[0].data, at + x,
                                    plain ? (uint8_t)in[1].data[i] : dv_image_u8(in[1].data, src + i));
            }
}

const dv_op_info dv_info_KPU_UPLOAD = {"kpu_upload", 2, 2, 1, upload_infer, upload_run, NULL};

/* The weight bits attribute, 8 when it is left out. */
static uint32_t conv_weight_bits(const dv_attrs *a)
{
    return a->n == DV_KPU_CONV_ATTRS_MAX ? (uint32_t)a->v[DV_KPU_ATTR_WEIGHT_BITS] : 8;
}

/* The checks KPU_CONV2D and KPU_CONV2D_OUT share; fills the decoded layer. */
static const char *conv_check(const dv_attrs *a, const dv_shape *in, dv_kpu_layer *l)
{
    if (a->n != DV_KPU_CONV_ATTRS && a->n != DV_KPU_CONV_ATTRS_MAX)
        return "kpu_conv2d: takes 27 or 28 attributes (24 argument halves, batches, main "
               "offset, semantics[, weight bits])";
    if (!is_kpu_image(&in[0]))
        return "kpu_conv2d: kpu: must be the 2 MiB KPU RAM image";
    const int32_t *v = a->v;
    if (v[DV_KPU_ATTR_SEMANTICS] < 0 || v[DV_KPU_ATTR_SEMANTICS] >= DV_KPU_SEMANTICS_LIMIT)
        return "kpu_conv2d: semantics must be 0 (nncase v0.2) or 1 (SDK)";
    if (v[DV_KPU_ATTR_BATCHES] < 1)
        return "kpu_conv2d: batches must be positive";
    uint32_t weight_bits = conv_weight_bits(a);
    if (weight_bits != 8 && weight_bits != 16)
        return "kpu_conv2d: weight bits must be 8 or 16";
    dv_kpu_decode(v, l);
    const char *why = dv_kpu_check(l, (uint32_t)v[DV_KPU_ATTR_BATCHES], weight_bits, 0);
    if (why)
        return why;
    if (in[1].ndim != 1 || in[1].dim[0] != (dv_kpu_weights_bytes(l, weight_bits) + 3) / 4)
        return "kpu_conv2d: weights: size does not match the layer";
    if (in[2].ndim != 1 || in[2].dim[0] != dv_kpu_bn_bytes(l) / 4)
        return "kpu_conv2d: bn: size does not match the output channels";
    if (in[3].ndim != 1 || in[3].dim[0] != DV_KPU_ACT_BYTES / 4)
        return "kpu_conv2d: act: must be the 144-byte activation table";
    return NULL;
}

/* KPU_CONV2D: kpu, weights, bn, act -> kpu'.
 *   attrs: 24 halves of the 12 layer-argument words, batches, main offset (0), semantics
 *          [, weight bits] (enum dv_kpu_conv_attr)
 * weights, bn and act are the layer's constants as raw bytes (memory images). For each batch
 * b in order, the layer computes one map (dv_kpu_compute) reading its input from row
 * image_src_addr + b * input map rows, writing its output from row image_dst_addr + b *
 * output map rows; kpu' is kpu with those writes. */
static const char *conv_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                              uint32_t n_out, dv_shape *out)
{
    dv_kpu_layer l;
    const char *why = conv_check(a, in, &l);
    if (why)
        return why;
    if (a->v[DV_KPU_ATTR_MAIN_OFFSET] != 0)
        return "kpu_conv2d: main offset must be 0 (no main memory output)";
    out[0] = in[0];
    return NULL;
}

static uint64_t conv_scratch(const dv_attrs *a, uint32_t n_in, const dv_shape *in)
{
    dv_kpu_layer l;
    dv_kpu_decode(a->v, &l);
    return (dv_kpu_scratch_bytes(&l) + 3) / 4;
}

/* Runs every batch; when `main` is not NULL, also stores each batch's NCHW output there. */
static void conv_batches(const dv_attrs *a, const dv_tensor *in, int32_t *kpu, int32_t *main,
                         int32_t *scratch)
{
    dv_kpu_layer l;
    dv_kpu_decode(a->v, &l);
    dv_kpu_params p = {in[1].data, in[2].data, in[3].data, conv_weight_bits(a),
                       a->v[DV_KPU_ATTR_SEMANTICS]};
    uint32_t batches = (uint32_t)a->v[DV_KPU_ATTR_BATCHES];
    uint32_t in_rows = (uint32_t)dv_kpu_map_rows(l.in_w, l.in_h, l.in_c);
    uint32_t out_rows = (uint32_t)dv_kpu_map_rows(l.out_w, l.out_h, l.out_c);
    uint32_t out_bytes = l.out_c * l.out_h * l.out_w;
    uint32_t main_at = (uint32_t)a->v[DV_KPU_ATTR_MAIN_OFFSET];
    for (uint32_t b = 0; b < batches; b++) {
        const uint8_t *map = dv_kpu_compute(&l, &p, kpu, (uint8_t *)scratch);
        if (main)
            for (uint32_t i = 0; i < out_bytes; i++)
                dv_image_put_u8(main, main_at + b * out_bytes + i, map[i]);
        l.src_row += in_rows;
        l.dst_row += out_rows;
    }
}

static void conv_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                     dv_tensor *out, int32_t *scratch)
{
    dv_image_copy(out[0].data, &in[0]);
    conv_batches(a, in, out[0].data, NULL, scratch);
}

const dv_op_info dv_info_KPU_CONV2D = {"kpu_conv2d", 4, 4, 1, conv_infer, conv_run,
                                       conv_scratch};

/* KPU_CONV2D_OUT: kpu, weights, bn, act, main -> kpu', main'.
 *   attrs: as KPU_CONV2D, with the main offset
 * KPU_CONV2D, and the layer's DMA output (nncase v0.2 main_mem_output, the SDK's
 * main_mem_out_address): main' is main with the output maps of all batches stored as plain
 * NCHW bytes, batches * out_c * out_h * out_w of them, from the main offset. */
static const char *conv_out_infer(const dv_attrs *a, uint32_t n_in, const dv_shape *in,
                                  uint32_t n_out, dv_shape *out)
{
    dv_kpu_layer l;
    const char *why = conv_check(a, in, &l);
    if (why)
        return why;
    int64_t bytes = (int64_t)a->v[DV_KPU_ATTR_BATCHES] * l.out_c * l.out_h * l.out_w;
    if (dv_image_check_range(&in[4], a->v[DV_KPU_ATTR_MAIN_OFFSET], bytes))
        return "kpu_conv2d_out: main offset: the output runs past main memory";
    out[0] = in[0];
    out[1] = in[4];
    return NULL;
}

static void conv_out_run(const dv_attrs *a, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                         dv_tensor *out, int32_t *scratch)
{
    dv_image_copy(out[0].data, &in[0]);
    dv_image_copy(out[1].data, &in[4]);
    conv_batches(a, in, out[0].data, out[1].data, scratch);
}

const dv_op_info dv_info_KPU_CONV2D_OUT = {"kpu_conv2d_out", 5, 5, 2, conv_out_infer,
                                           conv_out_run, conv_scratch};
