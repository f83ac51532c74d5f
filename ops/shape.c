/* Shape helpers shared by the op families. */
#include "op.h"

uint64_t dv_shape_size(const dv_shape *s)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < s->ndim; i++)
        n *= s->dim[i];
    return n;
}

int dv_shape_equal(const dv_shape *a, const dv_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (uint32_t i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

const char *dv_shape_check(const dv_shape *s)
{
    if (s->ndim < 1 || s->ndim > DV_MAX_NDIM)
        return "shape: rank must be 1 to 6";
    uint64_t n = 1;
    for (uint32_t i = 0; i < s->ndim; i++) {
        if (s->dim[i] < 1 || s->dim[i] > DV_MAX_DIM)
            return "shape: each dimension must be 1 to 2^24";
        n *= s->dim[i];
        if (n > DV_MAX_ELEMS)
            return "shape: more than 2^30 elements";
    }
    return 0;
}

void dv_widen_i8(const int8_t *from, int32_t *to, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        to[i] = from[i];
}

void dv_narrow_i8(const int32_t *from, int8_t *to, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        to[i] = dv_store_i8(from[i]);
}

void dv_narrow_in_place(int32_t *v, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        v[i] = dv_store_i8(v[i]);
}
