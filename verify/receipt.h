/* The receipt record's byte layout (the API is in detvm.h, "Receipts"; the table, with offsets,
 * is in docs/verification.md). Every integer is little-endian, the fields follow one another
 * in this order with no padding, so one run signed with one key always gives the same bytes:
 *
 *   magic "DVRC" | u16 format version | u8 trace mode | module id (32) | input hash (32) |
 *   output hash (32) | u32 steps | trace root (16 fast, 32 secure) | u64 gas |
 *   engine version (name) | devices (list) | kernel variants (list) |
 *   signer public key (32) | Ed25519 signature (64) over every byte before it
 *
 * A name is a u8 length (1..DETVM_RECEIPT_NAME_MAX) and that many printable ASCII bytes
 * (0x21..0x7E: no spaces, nothing that could break a line). A list is a u8 count
 * (1..DETVM_RECEIPT_LIST_MAX) and that many names, so a run that used several devices or
 * kernel variants lists each. */
#ifndef DETVM_VERIFY_RECEIPT_H
#define DETVM_VERIFY_RECEIPT_H

#include <stdint.h>

#include "detvm.h"

#define RECEIPT_MAGIC "DVRC"
#define RECEIPT_FORMAT_VERSION 1
#define RECEIPT_HASH_BYTES 32      /* the module id, and BLAKE2b-256 of the input and output */

/* The bytes a name may hold. */
#define RECEIPT_NAME_FIRST 0x21
#define RECEIPT_NAME_LAST 0x7E

/* 1 when the secret key's public half is the one its seed gives (verify/keys.c). libsodium
 * would sign with a mismatched pair all the same, and such signatures can leak the secret. */
int secret_key_is_consistent(const uint8_t secret_key[DETVM_SECRET_KEY_BYTES]);

#endif
