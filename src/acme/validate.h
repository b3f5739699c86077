/*
 * validate.h - ACME domain-control checks (RFC 8555 section 8): http-01
 * and dns-01, run by the validation worker, never on a request thread.
 *
 * Where they connect is configurable so tests can point them at loopback:
 * the http-01 port, fixed name -> address mappings used instead of DNS for
 * http-01, and the resolver dns-01 asks.
 */
#ifndef MCA_VALIDATE_H
#define MCA_VALIDATE_H

#include <stddef.h>

#include "common/err.h"
#include "policy/profile.h" /* struct mca_cidr */

#define MCA_VALIDATE_MAX_HOSTS 64
#define MCA_VALIDATE_MAX_DENY  64

struct mca_validate_cfg {
	unsigned http01_port; /* 80 in production */
	char dns_server[64];  /* "IP" or "IP:PORT"; empty: the system's resolver */
	struct {
		char name[254];
		char addr[64];
	} hosts[MCA_VALIDATE_MAX_HOSTS];
	size_t n_hosts;
	/* Networks http-01 never connects to (checked on every connection, also after redirects).
	 */
	struct mca_cidr deny[MCA_VALIDATE_MAX_DENY];
	size_t n_deny;
	unsigned timeout_s; /* for the whole check, all redirects or DNS retries; 0: 10 */
};

/*
 * http-01: GET http://NAME:PORT/.well-known/acme-challenge/TOKEN with
 * libcurl (hosts mapping applied; at most 3 redirects, only to that same
 * path on NAME, http or https, port PORT, 80 or 443; never to an address in
 * cfg->deny; body capped at 8 KiB; cfg->timeout_s for everything).  The
 * body, with trailing whitespace removed, must equal `keyauth`.  On failure
 * err->rule is an ACME error type ("connection", "unauthorized",
 * "incorrectResponse"...) and err->msg says what happened - for the log:
 * it names addresses and statuses the requester must not learn.
 * Thread-safe: no shared state but libcurl's global init (run once).
 */
mca_rc mca_validate_http01(const struct mca_validate_cfg *cfg, const char *name, const char *token,
                           const char *keyauth, struct mca_error *err);

/*
 * dns-01: one of the TXT records at _acme-challenge.NAME must equal
 * base64url(SHA-256(keyauth)).  Asks cfg->dns_server when set, else the
 * name servers of the system's resolv.conf in turn (UDP, with TCP fallback
 * on truncation), all within cfg->timeout_s.
 */
mca_rc mca_validate_dns01(const struct mca_validate_cfg *cfg, const char *name, const char *keyauth,
                          struct mca_error *err);

#endif
