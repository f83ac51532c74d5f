/* BLAKE2b (RFC 7693), unkeyed, for the secure trace mode. It lives in the runtime core, which
 * needs no library; the tests check it against libsodium's crypto_generichash. */
#ifndef DETVM_VM_BLAKE2B_H
#define DETVM_VM_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t h[8];
    uint64_t t[2];           /* bytes compressed so far */
    uint8_t block[128];
    size_t filled;
    size_t out_len;
} vm_blake2b;

/* out_len is 1..64 bytes. */
void vm_blake2b_init(vm_blake2b *s, size_t out_len);
void vm_blake2b_update(vm_blake2b *s, const void *data, size_t len);
void vm_blake2b_final(vm_blake2b *s, uint8_t *out);

#endif
