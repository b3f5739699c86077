/*
 * err.h - the one error enum of mtlsca, its strings, and an error record
 * that carries a human-readable detail next to the code.
 *
 * Every fallible library function returns an mca_rc and, when it takes a
 * struct mca_error *, fills it with a one-line message on failure.  The
 * message names the offending file, field or value; it never contains key
 * material or tokens.
 */
#ifndef MCA_ERR_H
#define MCA_ERR_H

#include <stddef.h>

/* X(code, name, description).  `name` is also the stable machine id. */
#define MCA_ERRORS(X)                                                                              \
	X(MCA_OK, "ok", "success")                                                                 \
	X(MCA_ERR_NOMEM, "nomem", "out of memory")                                                 \
	X(MCA_ERR_IO, "io", "input/output error")                                                  \
	X(MCA_ERR_INVAL, "invalid", "invalid argument")                                            \
	X(MCA_ERR_CONFIG, "config", "invalid configuration")                                       \
	X(MCA_ERR_CRYPTO, "crypto", "cryptographic operation failed")                              \
	X(MCA_ERR_DB, "db", "database error")                                                      \
	X(MCA_ERR_SCHEMA, "schema", "database schema is newer than this program")                  \
	X(MCA_ERR_EXISTS, "exists", "already exists")                                              \
	X(MCA_ERR_NOTFOUND, "not_found", "not found")                                              \
	X(MCA_ERR_POLICY, "policy_violation", "request violates the profile")                      \
	X(MCA_ERR_BADCSR, "bad_csr", "unusable certificate signing request")                       \
	X(MCA_ERR_INTERNAL, "internal", "internal error")                                          \
	X(MCA_ERR_SIGNER, "signer_unavailable", "the signer process is unavailable")

typedef enum {
#define MCA_X_ENUM(code, name, desc) code,
	MCA_ERRORS(MCA_X_ENUM)
#undef MCA_X_ENUM
	    MCA_ERR__COUNT
} mca_rc;

/* A code plus a detail line.  Zero-initialise before use. */
struct mca_error {
	mca_rc code;
	char rule[48]; /* optional stable rule id, e.g. "key.too_small" */
	char msg[512]; /* one line, no trailing newline */
};

/* Stable short name of `rc` ("nomem", "policy_violation", ...). */
const char *mca_rc_name(mca_rc rc);

/* Generic English description of `rc`. */
const char *mca_rc_str(mca_rc rc);

/*
 * Record `rc` and a printf-style detail in `err` (which may be NULL).
 * Returns `rc` so callers can write `return mca_error_set(err, ...)`.
 */
mca_rc mca_error_set(struct mca_error *err, mca_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like mca_error_set, also recording a stable rule id. */
mca_rc mca_error_rule(struct mca_error *err, mca_rc rc, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Like mca_error_set, appending OpenSSL's most recent error reason (and
 * clearing OpenSSL's error queue).
 */
mca_rc mca_error_ssl(struct mca_error *err, mca_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear `err` back to MCA_OK. */
void mca_error_clear(struct mca_error *err);

#endif
