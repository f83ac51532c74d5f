/* The section checksum, dvm_crc32 (vm/crc32.c): the CRC-32 check value, and the table-driven
 * paths (one byte a step, sixteen bytes a step for long inputs) against a bit-at-a-time
 * computation of the same polynomial, on random bytes of every length around the switch and
 * at every alignment. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "module_format.h"
#include "random.h"

/* CRC-32 as its definition gives it: reflected, polynomial 0xEDB88320, one bit at a time. */
static uint32_t crc_bits(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

int main(void)
{
    CHECK(dvm_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u, "the check value");
    CHECK(dvm_crc32(NULL, 0) == 0, "empty");

    enum { CAP = 70000 };
    uint8_t *buf = malloc(CAP + 16);
    if (!buf)
        return 1;
    for (size_t i = 0; i < CAP + 16; i++)
        buf[i] = (uint8_t)rnd();
    const size_t lengths[] = {1, 15, 16, 17, 4095, 4096, 4097, 4111, 4112, 4113, 65536, CAP};
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++)
        for (size_t at = 0; at < 16; at++)
            CHECK(dvm_crc32(buf + at, lengths[k]) == crc_bits(buf + at, lengths[k]),
                  "length %zu at offset %zu", lengths[k], at);
    for (int i = 0; i < 200; i++) {
        size_t n = (size_t)between(0, 9000), at = (size_t)between(0, 15);
        CHECK(dvm_crc32(buf + at, n) == crc_bits(buf + at, n), "length %zu at offset %zu", n,
              at);
    }
    /* every byte value in every position of a long input counts */
    for (int i = 0; i < 50; i++) {
        size_t pos = (size_t)between(0, CAP - 1);
        uint32_t before = dvm_crc32(buf, CAP);
        buf[pos] ^= (uint8_t)(1u << between(0, 7));
        CHECK(dvm_crc32(buf, CAP) != before && dvm_crc32(buf, CAP) == crc_bits(buf, CAP),
              "a flipped bit at %zu", pos);
    }
    free(buf);
    return check_summary("test_crc32");
}
