/*
 * der.h - a minimal DER writer for the structures we encode by hand (CRL
 * TBS with many entries, signature wrapping), where going through OpenSSL's
 * object model would cost one allocation per element.
 *
 * Usage: mca_der_init(); append with the functions below (constructed
 * types via mark = mca_der_open(tag) ... mca_der_close(mark)); check
 * d->failed once at the end; take d->buf or mca_der_free().
 */
#ifndef MCA_DER_H
#define MCA_DER_H

#include <stddef.h>
#include <stdint.h>

#define MCA_DER_INTEGER    0x02
#define MCA_DER_BITSTRING  0x03
#define MCA_DER_OCTETS     0x04
#define MCA_DER_OID        0x06
#define MCA_DER_ENUMERATED 0x0a
#define MCA_DER_SEQUENCE   0x30
#define MCA_DER_CTX0       0xa0 /* [0] constructed */
#define MCA_DER_CTX0_PRIM  0x80 /* [0] primitive (AKI keyIdentifier) */

struct mca_der {
	unsigned char *buf;
	size_t len, cap;
	int failed; /* sticky: an allocation failed or a length overflowed */
};

void mca_der_init(struct mca_der *d);
void mca_der_free(struct mca_der *d);

/* Append pre-encoded DER. */
void mca_der_raw(struct mca_der *d, const void *p, size_t n);
/* Append a primitive TLV. */
void mca_der_tlv(struct mca_der *d, unsigned char tag, const void *p, size_t n);
/* Append an INTEGER from an unsigned big-endian magnitude. */
void mca_der_uint(struct mca_der *d, const unsigned char *be, size_t n);
/* Append an INTEGER (or ENUMERATED with tag) from a non-negative int64. */
void mca_der_int64(struct mca_der *d, unsigned char tag, int64_t v);

/*
 * Reading: one DER TLV at *p (before `end`) with a single-octet tag and a
 * definite, minimal length of at most 4 octets that fits: its tag, where
 * its value starts and its length; *p moves past it.  0 (nothing moved)
 * otherwise.  For walking structures too large to parse into objects.
 */
int mca_der_next(const unsigned char **p, const unsigned char *end, unsigned *tag,
                 const unsigned char **val, size_t *len);

/* Start a constructed value; returns a mark for mca_der_close. */
size_t mca_der_open(struct mca_der *d, unsigned char tag);
/* Finish the constructed value started at `mark`, fixing up its length. */
void mca_der_close(struct mca_der *d, size_t mark);

#endif
