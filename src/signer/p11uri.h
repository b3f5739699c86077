/*
 * p11uri.h - PKCS#11 URIs (RFC 7512) naming a CA key in a token:
 *   pkcs11:token=mtlsca;object=mtlsca-ca-1a2b3c4d;id=%1a%2b%3c%4d;type=private
 *
 * Path attributes understood: token, manufacturer, model, serial, object,
 * id, type (private, public, cert, secret-key, data).  Query attributes:
 * module-path, pin-source (a file: "file:" or a plain path).  A PIN in the
 * URI (pin-value) is refused: it would sit in the configuration in clear.
 * Every other attribute is refused by name, so that a typo never selects
 * a different key.  Values are percent-decoded; the fields of
 * CK_TOKEN_INFO keep their PKCS#11 bounds (token, manufacturer: 32 octets;
 * model, serial: 16), object labels and ids at most 128 octets, the whole
 * URI MCA_P11URI_MAX.
 *
 * Thread-safety: pure functions over caller memory.
 */
#ifndef MCA_P11URI_H
#define MCA_P11URI_H

#include <stddef.h>

#include "common/err.h"

#define MCA_P11URI_MAX   2048
#define MCA_P11URI_LABEL 128

enum mca_p11uri_type {
	MCA_P11URI_ANY = 0, /* no type= */
	MCA_P11URI_PRIVATE,
	MCA_P11URI_PUBLIC,
	MCA_P11URI_CERT,
	MCA_P11URI_SECRET,
	MCA_P11URI_DATA,
};

/* A parsed URI.  A string field that is "" (and has_id 0) was absent. */
struct mca_p11uri {
	char token[33];
	char manufacturer[33];
	char model[17];
	char serial[17];
	char object[MCA_P11URI_LABEL + 1];
	unsigned char id[MCA_P11URI_LABEL];
	size_t id_len;
	int has_id;
	enum mca_p11uri_type type;
	char module_path[1024];
	char pin_source[1024];
};

/* 1 when `s` is a PKCS#11 URI ("pkcs11:..."), which is not a file name. */
int mca_p11uri_is(const char *s);

/*
 * Parse `s`.  MCA_ERR_CONFIG with a message starting "pkcs11 URI: " that
 * names the attribute: "pkcs11 URI: unknown attribute 'slot'",
 * "pkcs11 URI: attribute 'token' twice", "pkcs11 URI: attribute 'id': bad
 * percent-encoding", "pkcs11 URI: attribute 'token': longer than 32 octets",
 * "pkcs11 URI: a PIN in the URI (pin-value) is refused: use pkcs11_pin_file".
 * Values never appear in messages (an attribute could be a secret).
 */
mca_rc mca_p11uri_parse(const char *s, struct mca_p11uri *u, struct mca_error *err);

/*
 * The URI of a private key in token `token` with label `object` and id
 * `id`: "pkcs11:token=...;object=...;id=...;type=private", everything but
 * RFC 3986 unreserved characters percent-encoded.  *out is malloc'd.
 */
mca_rc mca_p11uri_format(const char *token, const char *object, const unsigned char *id,
                         size_t id_len, char **out, struct mca_error *err);

#endif
