/* A module's identity, the hash its receipts and registry entries name. */
#include <sodium.h>

#include "../vm/module.h"
#include "../vm/module_format.h"

void detvm_module_id(const detvm_module *m, uint8_t id[32])
{
    crypto_generichash_state h;
    uint8_t word[8];
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)DVM_MAGIC, 4);
    dvm_put_u16(word, DVM_FORMAT_VERSION);
    crypto_generichash_update(&h, word, 2);
    for (uint32_t kind = 1; kind < DVM_SEC_LIMIT; kind++) {
        const vm_section *s = &m->sections[kind];
        if (!s->p || kind == DVM_SEC_PACKS || kind == DVM_SEC_SIGNATURE)
            continue;
        dvm_put_u32(word, kind);
        dvm_put_u32(word + 4, s->len);
        crypto_generichash_update(&h, word, 8);
        crypto_generichash_update(&h, s->p, s->len);
    }
    crypto_generichash_final(&h, id, 32);
}
