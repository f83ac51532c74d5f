/* The op table: opcode -> op info. Each family file defines its entries. */
#include "op.h"

#define OP(name) extern const dv_op_info dv_info_##name;
#define CVM_OP(name) OP(name)
#define FLOAT_OP(name) OP(name)
#include "optable.inc"
#undef OP

const dv_op_info *dv_op_lookup(uint32_t opcode)
{
    switch (opcode) {
#define OP(name) case DV_OP_##name: return &dv_info_##name;
#include "optable.inc"
#undef OP
    default: return NULL;
    }
}

int dv_op_is_float(uint32_t opcode)
{
    switch (opcode) {
#define OP(name)
#undef FLOAT_OP
#define FLOAT_OP(name) case DV_OP_##name: return 1;
#include "optable.inc"
#undef OP
#undef FLOAT_OP
#undef CVM_OP
    default: return 0;
    }
}
