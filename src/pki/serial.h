/*
 * serial.h - certificate serial numbers.
 *
 * Serials are 16 octets: 6 octets holding 0x10 * 2^40 plus the issuance
 * time in milliseconds since the epoch (below 2^44 until the year 2527,
 * so the first octet stays within 0x10..0x1f), then MCA_SERIAL_RANDOM
 * octets (80 bits) from the CSPRNG - more than the 64
 * bits of CSPRNG output the CA/Browser Forum requires, and never
 * sequential.  The first octet lies in 0x10..0x7f: positive, always 16
 * octets in DER, and printed as exactly 32 lower-case hex digits with no
 * leading zero, so the "openssl x509 -serial" and "no leading zeros"
 * spellings agree.  Serials of one instance sort by issuance time (to the
 * millisecond), which keeps the database's serial indexes compact
 * (doc/performance.md).
 */
#ifndef MCA_SERIAL_H
#define MCA_SERIAL_H

#include <stddef.h>

#include <openssl/asn1.h>

#include "common/err.h"

#define MCA_SERIAL_LEN 16
/* The CSPRNG octets at the end of a serial. */
#define MCA_SERIAL_RANDOM 10
/* Room for the hex form of any 20-octet serial plus NUL. */
#define MCA_SERIAL_HEX_MAX 41

/* Fill `out` with a fresh serial from the CSPRNG. */
mca_rc mca_serial_generate(unsigned char out[MCA_SERIAL_LEN], struct mca_error *err);

/* New ASN1_INTEGER holding `raw`; caller frees with ASN1_INTEGER_free. */
ASN1_INTEGER *mca_serial_to_asn1(const unsigned char *raw, size_t len);

/*
 * Canonical hex of an ASN1_INTEGER: lower case, two digits per octet, no
 * 0x00 padding octet.  Negative or longer than 20 octets is MCA_ERR_INVAL.
 */
mca_rc mca_serial_from_asn1(const ASN1_INTEGER *ai, char out[MCA_SERIAL_HEX_MAX],
                            struct mca_error *err);

/*
 * Canonicalise a serial typed by a user: upper or lower case, with or
 * without colons, an optional "0x" prefix.  Anything else, an empty or
 * zero value, or more than 20 octets is MCA_ERR_INVAL.
 */
mca_rc mca_serial_normalize(const char *in, char out[MCA_SERIAL_HEX_MAX], struct mca_error *err);

#endif
