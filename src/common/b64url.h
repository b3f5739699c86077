/*
 * b64url.h - unpadded base64url as ACME, JWS and our token format use it.
 * Decoding is strict: no padding, no other characters, and no stray bits
 * after the last octet, so every octet string has exactly one spelling.
 */
#ifndef MCA_B64URL_H
#define MCA_B64URL_H

#include <stddef.h>

/* The 64 characters, in value order. */
extern const char mca_b64url_alphabet[];

/* Unpadded base64url of `len` octets (malloc'd); NULL on allocation failure. */
char *mca_b64url_encode(const unsigned char *in, size_t len);

/*
 * Decode `len` characters; *out is malloc'd with a NUL after the data.
 * Returns 1 on success, 0 when the text is not canonical unpadded
 * base64url, -1 when out of memory.
 */
int mca_b64url_decode_ex(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* mca_b64url_decode_ex folded to 1 (success) or 0 (any failure). */
int mca_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

#endif
