/* publish.c - CRL publication shared by the CLI and the daemon. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "ca/publish.h"
#include "common/util.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/serial.h"

struct entries {
	struct mca_crl_entry *v;
	size_t n, cap;
};

/* Collect one revoked certificate into the entry array. */
static int
collect(void *arg, const char *serial, int64_t revoked_at, const char *reason)
{
	struct entries *e = arg;
	struct mca_crl_entry *ent, *nv;
	size_t len = strlen(serial), i;
	int r;

	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		nv = realloc(e->v, e->cap * sizeof(*e->v));
		if (nv == NULL)
			return -1;
		e->v = nv;
	}
	if (len == 0 || len % 2 != 0 || len / 2 > sizeof(ent->serial))
		return -1;
	ent = &e->v[e->n];
	for (i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(serial + 2 * i, "%2x", &v) != 1)
			return -1;
		ent->serial[i] = (unsigned char)v;
	}
	ent->serial_len = len / 2;
	ent->revoked_at = revoked_at;
	r = reason ? mca_crl_reason_parse(reason) : MCA_REASON_UNSPECIFIED;
	ent->reason = r < 0 ? MCA_REASON_UNSPECIFIED : r;
	e->n++;
	return 0;
}

/* One CRL publication: everything mca_publish_crl does in its transaction. */
struct publish_run {
	const struct mca_publish *p;
	const char *issuer_dn;
	int64_t now, num;
};

/* Number, list, sign and record the next CRL (run again whole on a conflict). */
static mca_rc
publish_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct publish_run *r = arg;
	const struct mca_publish *p = r->p;
	struct entries e = {0};
	struct mca_crl_rec prev = {0};
	unsigned char *tbs = NULL, *der = NULL;
	const unsigned char *alg;
	size_t tbs_len = 0, der_len = 0, alg_len = 0;
	char detail[96];
	int64_t num = 0, since = 0;
	mca_rc rc;

	if ((rc = mca_store_crl_max_number(st, p->which, &num, err)) != MCA_OK)
		goto out;
	rc = mca_store_crl_latest(st, p->which, &prev, err);
	if (rc == MCA_OK)
		since = prev.this_update;
	else if (rc != MCA_ERR_NOTFOUND)
		goto out;
	num++;
	if ((rc = mca_store_revoked_foreach(st, r->issuer_dn, since, collect, &e, err)) != MCA_OK)
		goto out;
	alg = mca_signer_algor_der(p->signer, &alg_len);
	if ((rc = mca_crl_build_tbs(alg, alg_len, p->issuer, num, r->now, r->now + p->validity, e.v,
	                            e.n, &tbs, &tbs_len, err)) != MCA_OK ||
	    (rc = mca_signer_wrap(p->signer, tbs, tbs_len, &der, &der_len, err)) != MCA_OK)
		goto out;
	snprintf(detail, sizeof(detail), "{\"issuer\":\"%s\",\"number\":%lld,\"entries\":%zu}",
	         p->which, (long long)num, e.n);
	if ((rc = mca_store_crl_insert(st, p->which, num, r->now, r->now + p->validity, der,
	                               der_len, err)) != MCA_OK ||
	    (rc = mca_store_audit(st, p->actor, "crl", NULL, detail, err)) != MCA_OK)
		goto out;
	r->num = num;
out:
	free(prev.der);
	free(tbs);
	free(der);
	free(e.v);
	return rc;
}

mca_rc
mca_publish_crl(const struct mca_publish *p, int64_t *number, struct mca_error *err)
{
	struct publish_run r = {p, NULL, mca_now(), 0};
	char *issuer_dn = NULL;
	mca_rc rc;

	issuer_dn = mca_name_string(X509_get_subject_name(p->issuer));
	if (issuer_dn == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	r.issuer_dn = issuer_dn;
	if ((rc = mca_store_txn(p->store, publish_txn, &r, err)) != MCA_OK)
		goto out;
	if (number != NULL)
		*number = r.num;
	rc = mca_publish_write_latest(p, err);
out:
	free(issuer_dn);
	return rc;
}

mca_rc
mca_publish_write_latest(const struct mca_publish *p, struct mca_error *err)
{
	struct mca_crl_rec latest = {0};
	char *lock = NULL;
	int fd = -1;
	mca_rc rc;

	if (asprintf(&lock, "%s/.lock", p->crl_dir) < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", lock, strerror(errno));
		goto out;
	}
	/* Re-read under the lock: whoever writes last writes the newest. */
	if ((rc = mca_store_crl_latest(p->store, p->which, &latest, err)) != MCA_OK)
		goto out;
	rc = mca_crl_write_files(p->crl_dir, p->which, latest.der, latest.der_len, err);
out:
	if (fd >= 0)
		close(fd);
	free(latest.der);
	free(lock);
	return rc;
}
