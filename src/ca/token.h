/*
 * token.h - enrollment tokens: one-time (or N-use) secrets an admin mints,
 * bound to a profile and to the names they may request, with an expiry.
 *
 * A token is "mtls_" + 16 hex digits of id + "." + 43 base64url characters
 * (256 random bits).  Only SHA-256 of the whole token is stored; the check
 * looks the row up by id and compares the hash in constant time.
 *
 * Using a token is split so that no database lock is held while signing:
 * mca_token_check (read-only: exists, hash, not expired/spent/revoked),
 * then mca_token_consume (one atomic UPDATE; exactly one of N concurrent
 * consumers of the last use wins), then mca_token_refund if issuance fails
 * afterwards for a reason that is not the requester's.
 */
#ifndef MCA_TOKEN_H
#define MCA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define MCA_TOKEN_ID_LEN    16 /* hex digits */
#define MCA_TOKEN_MAX_LEN   96 /* longest token string accepted from the network */
#define MCA_TOKEN_MAX_NAMES 100
#define MCA_TOKEN_MAX_USES  10000
#define MCA_TOKEN_MAX_TTL   ((int64_t)30 * 86400)

/*
 * Why a token was refused (maps to doc/api.md error codes), and whether the
 * refusal counts as a guess for the failed-attempt limit (ratelimit.h).
 * Expired, used up and revoked are only ever reported for the right secret.
 */
enum mca_token_state {
	MCA_TOKEN_OK,
	MCA_TOKEN_MALFORMED,  /* 401 unauthorized: not a token at all; not counted */
	MCA_TOKEN_UNKNOWN,    /* 401 unauthorized: no such id; counted per address */
	MCA_TOKEN_BAD_SECRET, /* 401 unauthorized: wrong secret; counted per address and id */
	MCA_TOKEN_REVOKED,    /* 401 unauthorized: revoked; not counted */
	MCA_TOKEN_EXPIRED,    /* 401 token_expired; not counted */
	MCA_TOKEN_USED,       /* 401 token_used; not counted */
	MCA_TOKEN_ERROR,      /* 500 internal: database (or memory) failure; not counted */
};

struct mca_token {
	char id[MCA_TOKEN_ID_LEN + 1];
	char *profile;
	char **names; /* NULL-terminated typed names (names.h): "dns:*.x", "ip:10.0.0.5" ... */
	int64_t uses_left, uses_total;
	int64_t expires_at, created_at, revoked_at;
	char *created_by;
};

/* What an admin asks for. */
struct mca_token_spec {
	const char *profile;
	const char *const *names; /* NULL-terminated; typed or untyped (mca_token_name_normalize) */
	int64_t ttl;              /* seconds */
	int64_t uses;
	const char *created_by;
};

/*
 * Mint a token: validates the spec (profile exists and takes tokens, names
 * well-formed, ttl and uses in range), stores its hash with an audit row.
 * *secret is the token string (malloc'd; give it to the user, never log it).
 * `profile_ok` tells whether a profile name exists and allows tokens.
 */
mca_rc mca_token_create(struct mca_store *st, const struct mca_token_spec *spec,
                        int (*profile_ok)(void *arg, const char *profile), void *arg,
                        struct mca_token *out, char **secret, struct mca_error *err);

/*
 * The id part of a well-formed token string into `id`; 0 when `secret` is
 * not shaped like a token (nothing to look up).
 */
int mca_token_id_of(const char *secret, char id[MCA_TOKEN_ID_LEN + 1]);

/*
 * Authenticate `secret` without consuming it; fills `out` when MCA_TOKEN_OK.
 * On MCA_TOKEN_ERROR, err says what failed (for the log, not the client).
 */
enum mca_token_state mca_token_check(struct mca_store *st, const char *secret,
                                     struct mca_token *out, struct mca_error *err);

/*
 * Take one use; MCA_TOKEN_USED (or EXPIRED, REVOKED) when another request
 * took the last one meanwhile, MCA_TOKEN_ERROR when the database failed.
 */
enum mca_token_state mca_token_consume(struct mca_store *st, const char *id, struct mca_error *err);

/*
 * Taking a use in the certificate's transaction (committer.h): the
 * record hook's argument.  The hook takes one use of `id` on the
 * committer's connection (the conditional UPDATE of mca_token_consume);
 * when none is left (or the token expired or was revoked meanwhile) it
 * sets `refused` and fails with rule "token.used", which undoes the
 * certificate's row: neither is recorded.
 */
struct mca_token_use {
	const char *id;
	int refused;
};

/* The record hook (struct mca_record_hook's fn) over a struct mca_token_use. */
mca_rc mca_token_use_hook(void *arg, struct mca_store *st, const char *serial,
                          struct mca_error *err);

/*
 * Why a token that was found a moment ago can give no use now: REVOKED,
 * EXPIRED or USED; MCA_TOKEN_ERROR when it cannot be read.
 */
enum mca_token_state mca_token_refusal(struct mca_store *st, const char *id, struct mca_error *err);

/* Give one use back after an issuance that failed on our side. */
mca_rc mca_token_refund(struct mca_store *st, const char *id, struct mca_error *err);

/* Revoke by id (with an audit row); MCA_ERR_NOTFOUND when no such token. */
mca_rc mca_token_revoke(struct mca_store *st, const char *id, const char *actor,
                        struct mca_error *err);

/* Call cb for every stored token, newest first. */
mca_rc mca_token_list(struct mca_store *st, int (*cb)(void *arg, const struct mca_token *t),
                      void *arg, struct mca_error *err);

/* Delete tokens that expired more than `grace` seconds ago; *n gets the count. */
mca_rc mca_token_purge(struct mca_store *st, int64_t grace, int *n, struct mca_error *err);

/*
 * A name for an enrollment token, normalised to its typed form in *out
 * (malloc'd): `type` as given, or, for `untyped` (type < 0), from a typed
 * prefix in `text` if it has one, else by the documented rule: an IP
 * literal is an IP address, text with "://" a URI, anything else a DNS name
 * or "*.suffix" pattern.  Checks the value's syntax (DNS and A-labels as
 * mca_dns_check with wildcards, IPs as inet_pton, URIs "scheme:" printable,
 * SPIFFE IDs by mca_spiffe_check, email "local@domain").  MCA_ERR_INVAL with
 * a message naming the value when it is not one.
 */
mca_rc mca_token_name_normalize(const char *text, int type, char **out, struct mca_error *err);

void mca_token_clear(struct mca_token *t);

#endif
