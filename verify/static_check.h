/* Static checks of a loaded module: the bound analysis behind `detvm verify`.
 *
 * detvm.h has the public entry point, detvm_verify_module, which reports the overflow proof,
 * the shapes, the memory plan, the gas and the constructs outside the determinism contract.
 * This header exposes the bound analysis on its own, so that a test can compare a bound with
 * one computed by hand.
 *
 * The proof is local to each instruction: an operand is taken to hold any value of its range
 * (sc_tensor_range), and from those ranges each arithmetic step of the instruction gets the
 * range of every value it can compute. For CVM modules every output's range is also checked
 * against the output tensor's declared precision, which is what the next instruction assumes
 * of it; together the per-instruction checks prove the whole graph. */
#ifndef DETVM_VERIFY_STATIC_CHECK_H
#define DETVM_VERIFY_STATIC_CHECK_H

#include <stdint.h>

#include "detvm.h"
#include "../ops/op.h"

/* A closed interval of integers. Bound arithmetic saturates at +-SC_HUGE, which then means
 * "this far or further". */
typedef struct {
    int64_t lo, hi;
} sc_range;

#define SC_HUGE INT64_MAX
#define SC_MAX_STAGES 3

/* One arithmetic step of an instruction whose result must stay inside its C type. */
typedef struct {
    const char *what;   /* "accumulator", "rescale", "sum", "product", "shift", ... */
    sc_range bound;     /* every value the step can produce, in any summation order */
    uint32_t bits;      /* the signed type it is computed in: 32 or 64 */
} sc_stage;

typedef struct {
    uint32_t n_stages;
    sc_stage stage[SC_MAX_STAGES];
    int output_known[DV_MAX_OP_OUTPUTS];
    sc_range output[DV_MAX_OP_OUTPUTS]; /* every value each output can take */
} sc_bounds;

/* The values an operand may hold: a constant's actual values (smallest to largest); an arena
 * tensor's declared precision p, +-(2^(p-1) - 1), in a CVM module (the CVM runtime clamps its
 * input to it, and precision inference promises it of every op output); in a TFLite module,
 * its dtype's range (int8 -128..127, uint8 0..255, int16, int32). */
sc_range sc_tensor_range(const detvm_module *m, uint32_t tensor);

/* The arithmetic steps and output ranges of instruction k (k < the instruction count). */
void sc_instr_bounds(const detvm_module *m, uint32_t k, sc_bounds *b);

#endif
