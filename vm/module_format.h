/* The bytecode module (.dvm) format. All integers are little-endian and are read with explicit
 * byte loads, so a module means the same on every machine.
 *
 *   header      32 bytes: "DTVM", u16 format version, u16 flags, u32 section count,
 *               u32 reserved (0), u64 file length, u64 reserved (0)
 *   sections    16 bytes each: u32 kind, u32 offset, u32 length, u32 CRC-32 of the bytes.
 *               Kinds appear at most once, in increasing order; every section starts on a
 *               64-byte boundary (so constants can be used in place), lies inside the file,
 *               and the gaps between sections are zero.
 *
 *   META        TLV records, keys increasing: u16 key, u16 reserved (0), u32 length, value.
 *   TENSORS     u32 count, then 40 bytes each: u8 dtype, u8 ndim, u8 precision, u8 storage,
 *               u32 name (NAMES offset), u32 dim[6], u64 offset (arena or CONSTS byte offset).
 *               storage is enum dvm_storage.
 *   CONSTS      constant tensor data, each 64-byte aligned, int32 little-endian.
 *               dtype is enum dvm_dtype.
 *   CODE        u32 count, then per instruction: u16 opcode, u8 n_in, u8 n_out, u32 name,
 *               u32 first attribute (ATTRS index), u32 attribute count, then n_in + n_out u32
 *               tensor indices (inputs first).
 *   ATTRS       int32 values.
 *   NAMES       NUL-terminated strings; offset 0 is the empty string.
 *   PACKS       optional weights pre-packed for kernel variants (vm/packs.c): u32 count,
 *               u32 reserved (0), then 32 bytes each: u32 instruction, u32 isa (one enum
 *               dv_isa bit), u32 layout (dv_variant_packing.layout), u32 reserved (0), u64
 *               offset from the section start (a multiple of 64, past the table), u64 length;
 *               in increasing (instruction, isa) order, the blobs in the same order and not
 *               overlapping. Derived from CODE and CONSTS, checked against them on load, and
 *               left out of the module id. Its CRC is written but not checked on load: every
 *               blob a session may use is compared byte for byte with a fresh packing instead,
 *               and the others are never read.
 *   SIGNATURE   left out of the module id.
 */
#ifndef DETVM_VM_MODULE_FORMAT_H
#define DETVM_VM_MODULE_FORMAT_H

#include <stdint.h>

#define DVM_MAGIC "DTVM"
#define DVM_FORMAT_VERSION 1
#define DVM_HEADER_BYTES 32
#define DVM_SECTION_ENTRY_BYTES 16
#define DVM_ALIGN 64
#define DVM_TENSOR_BYTES 40
#define DVM_INSTR_FIXED_BYTES 16
#define DVM_PACKS_HEADER_BYTES 8
#define DVM_PACK_ENTRY_BYTES 32

enum dvm_section_kind {
    DVM_SEC_META = 1,
    DVM_SEC_TENSORS = 2,
    DVM_SEC_CONSTS = 3,
    DVM_SEC_CODE = 4,
    DVM_SEC_ATTRS = 5,
    DVM_SEC_NAMES = 6,
    DVM_SEC_PACKS = 7,
    DVM_SEC_SIGNATURE = 8,
    DVM_SEC_LIMIT = 9
};
_Static_assert(DVM_SEC_LIMIT <= 16, "detvm_module keeps 16 section slots");

enum dvm_meta_key {
    DVM_META_PRODUCER = 1,       /* string: the engine that wrote the module */
    DVM_META_SOURCE_FORMAT = 2,  /* u32: enum dvm_source_format */
    DVM_META_SOURCE_HASH = 3,    /* 32 bytes: BLAKE2b-256 of the source files */
    DVM_META_SOURCE_VERSION = 4, /* string: the source's own version (e.g. cvm_1.0.0) */
    DVM_META_INPUT = 5,          /* u32 tensor index, u32 input element bytes (1 or 4) */
    DVM_META_OUTPUTS = 6,        /* u32 count, u32 element bytes, u32 tensor index each */
    DVM_META_POSTPROCESS = 7,    /* string: "", "argmax" or "detection" */
    DVM_META_GAS = 8,            /* u64 */
    DVM_META_STORAGE_SIZE = 9,   /* u64: the CVM runtime's storage size */
    DVM_META_ARENA = 10,         /* u64 arena bytes, u64 scratch bytes */
    DVM_META_WARNINGS = 11,      /* NUL-separated strings */
    DVM_META_LAYER_GAS = 12,     /* u64 per instruction: its share of the gas */
    DVM_META_IO_QUANT = 13,      /* per binding, the input then each output: f32 scale (bits),
                                    i32 zero point, u32 flags (DVM_IO_FLOAT_IN_SOURCE) */
    DVM_META_ROUNDING = 14,      /* u32: enum dv_rounding of the requantizing ops */
    DVM_META_SEGMENTS = 15,      /* u32 count, then per device segment: u32 first instruction,
                                    u32 instruction count, u32 device (enum hal_device_kind,
                                    never the CPU); in order, not overlapping */
    DVM_META_LIMIT = 16
};

enum dvm_source_format {
    DVM_SOURCE_CVM = 1,
    DVM_SOURCE_TFLITE = 2,
    DVM_SOURCE_KMODEL = 3
};

/* The source model takes or gives float32 at this binding; its QUANTIZE or DEQUANTIZE was
 * folded into the binding's scale and zero point. */
#define DVM_IO_FLOAT_IN_SOURCE 1u

/* Where a tensor's elements are held: in the arena as int32 (4 bytes each, native order), in
 * CONSTS as int32 (little-endian), or in the arena as int8 (1 byte each). The compiler stores an
 * activation as int8 when its precision is at most 8 bits, so that its values provably lie in
 * [-128, 127]; a module may do so only for a tensor of precision <= 8 that is neither its input
 * nor an output, nor an operand of a device segment. Storing into an int8 tensor saturates
 * (dv_store_i8), which keeps a hostile module's values defined. */
enum dvm_storage {
    DVM_STORAGE_ARENA = 0,
    DVM_STORAGE_CONST = 1,
    DVM_STORAGE_ARENA_INT8 = 2,
    DVM_STORAGE_LIMIT = 3
};

static inline int dvm_storage_in_arena(uint32_t storage)
{
    return storage == DVM_STORAGE_ARENA || storage == DVM_STORAGE_ARENA_INT8;
}

/* Bytes per element in the storage. */
static inline uint32_t dvm_storage_bytes(uint32_t storage)
{
    return storage == DVM_STORAGE_ARENA_INT8 ? 1 : 4;
}

/* A tensor's element type in the source model. Elements are held as the storage says (int32,
 * or int8 for some activations); the dtype says how the input is read and the outputs are written.
 * A float32 element is held as its IEEE-754 bits (kmodel float layers). */
enum dvm_dtype {
    DVM_DTYPE_INT32 = 0,
    DVM_DTYPE_INT8 = 1,
    DVM_DTYPE_UINT8 = 2,
    DVM_DTYPE_INT16 = 3,
    DVM_DTYPE_FLOAT32 = 4,
    DVM_DTYPE_LIMIT = 5
};

static inline uint32_t dvm_dtype_bytes(uint32_t dtype)
{
    return dtype == DVM_DTYPE_INT32 || dtype == DVM_DTYPE_FLOAT32 ? 4
           : dtype == DVM_DTYPE_INT16                             ? 2
                                                                  : 1;
}

static inline uint16_t dvm_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t dvm_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t dvm_u64(const uint8_t *p)
{
    return (uint64_t)dvm_u32(p) | ((uint64_t)dvm_u32(p + 4) << 32);
}
static inline int32_t dvm_i32(const uint8_t *p) { return (int32_t)dvm_u32(p); }

static inline void dvm_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void dvm_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void dvm_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* CRC-32 (IEEE 802.3), as zlib computes it. */
uint32_t dvm_crc32(const uint8_t *data, uint64_t len);

#endif
