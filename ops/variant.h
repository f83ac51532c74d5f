/* Kernel variants: faster kernels that give exactly the reference kernel's bytes.
 *
 * A variant belongs to one opcode and one instruction set. It may decline an instance (its
 * `accepts` looks at the attributes and input shapes: a stride it has no code for, say), and
 * then the reference kernel runs. A variant's work is split into `items` that are independent:
 * every output element is computed by exactly one item, in a fixed order, so running the items
 * [0, n) in any partition across threads gives the same bytes as running them in one go. Each
 * thread gets its own scratch of `scratch` int32 elements.
 *
 * The differential tests (tests/test_variants.c) hold every variant to its reference kernel on
 * random shapes and values, the extremes included. This layer allocates nothing. */
#ifndef DETVM_OPS_VARIANT_H
#define DETVM_OPS_VARIANT_H

#include "op.h"

/* Instruction sets, as bits of a mask. */
enum dv_isa {
    DV_ISA_AVX2 = 1u << 0,      /* x86-64 AVX2: vpmaddubsw / vpmaddwd */
    DV_ISA_VNNI = 1u << 1       /* x86-64 AVX-512 VNNI (with AVX-512 F/BW/VL): vpdpbusd */
};

/* A variant flag: besides int32 tensors, it reads and writes activations stored as int8
 * (dv_tensor.i8; constants are always int32), with exactly the bytes the reference kernel gives
 * on the widened values followed by dv_store_i8. Without it, the CPU device widens a step's
 * int8 inputs into int32 before the kernel and narrows its outputs after. */
#define DV_VARIANT_INT8 1u

typedef struct {
    uint32_t opcode;
    uint32_t isa;               /* one enum dv_isa bit: what the CPU must have */
    const char *name;           /* "avx2", "vnni" */
    /* Nonzero when this variant computes this instance. */
    int (*accepts)(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in);
    /* The number of independent work items of this instance (at least 1). */
    uint64_t (*items)(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in);
    /* Scratch int32 elements one thread needs; NULL means none. */
    uint64_t (*scratch)(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in);
    /* Computes the output elements of items [begin, end). */
    void (*run)(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                dv_tensor *out, int32_t *scratch, uint64_t begin, uint64_t end);
    uint32_t flags;             /* DV_VARIANT_INT8 */
} dv_variant;

/* The instruction sets this CPU has (0 on other architectures). */
uint32_t dv_isa_detect(void);

/* The best variant for this instance among those whose instruction set is in `isa_mask`
 * (VNNI before AVX2), or NULL: the reference kernel. */
const dv_variant *dv_variant_find(uint32_t opcode, uint32_t isa_mask, const dv_attrs *attrs,
                                  uint32_t n_in, const dv_shape *in);

/* The variants this build has, whatever the CPU: i in [0, dv_variant_count()), in the order
 * dv_variant_find tries them (for the differential tests and for listings). */
uint32_t dv_variant_count(void);
const dv_variant *dv_variant_at(uint32_t i);

/* A variant's one-time packing of constant inputs (weights), made once instead of in every
 * run. When every input in `inputs` is a constant of the module, the caller may allocate
 * packed_size bytes (64-byte aligned and zeroed; 0: nothing to pack for this instance), call
 * pack once, and then call run_packed instead of run: the same items and scratch, the same
 * bytes. pack reads only `inputs`, and its bytes depend on nothing but the attributes, the
 * shapes and those inputs (not on the CPU beyond its instruction set), so the compiler can
 * store them in the module (vm/packs.c) and a session made anywhere can use them in place.
 * `layout` numbers the packed layout: change it whenever pack's bytes change, so that modules
 * packed by another build are recognised as such and left unused instead of refused.
 * ops/variant.c's `packings` lists them: the CVM CONV2D, CONV2D_SHIFT and
 * CONV2D_SHIFT_MAX_POOL variants (ops/x86/nn_conv.c), and the TFLite QCONV2D (weights and
 * bias; VNNI also the multipliers and shifts), QDEPTHWISE_CONV2D and QFULLY_CONNECTED ones
 * (ops/x86/qnn_*.c). */
typedef struct {
    const dv_variant *variant;
    uint32_t inputs;            /* bit i: pack reads input i */
    uint64_t (*packed_size)(const dv_attrs *attrs, uint32_t n_in, const dv_shape *in);
    void (*pack)(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, void *packed);
    void (*run_packed)(const dv_attrs *attrs, uint32_t n_in, const dv_tensor *in, uint32_t n_out,
                       dv_tensor *out, const void *packed, int32_t *scratch, uint64_t begin,
                       uint64_t end);
    uint32_t layout;
} dv_variant_packing;

/* The packing of a variant, or NULL when it has none. */
const dv_variant_packing *dv_variant_packing_of(const dv_variant *variant);

/* The packing of `variant` (which may be NULL) for an instruction of n_in inputs of which
 * those in `constants` (bit i: input i) are constants of the module, or NULL when it has none
 * or it reads an input that is not constant. */
const dv_variant_packing *dv_variant_packing_for(const dv_variant *variant, uint32_t n_in,
                                                 uint32_t constants);

#endif
