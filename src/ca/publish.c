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

static mca_rc write_latest(const struct mca_publish *p, int shard, struct mca_error *err);

void
mca_publish_crl_name(const struct mca_publish *p, int shard, char name[16])
{
	if (shard < 0)
		snprintf(name, 16, "%.8s", p->which);
	else
		snprintf(name, 16, "%.4s-%d", p->which, shard & 0xffff);
}

/* One CRL publication: everything mca_publish_crl does in its transaction. */
struct publish_run {
	const struct mca_publish *p;
	const char *issuer_dn;
	int64_t now;
	int shard;     /* mca_publish_crl_shard's */
	int64_t num;   /* out: the complete CRL's number */
	size_t n;      /* entries of the CRL being built */
	int64_t since; /* its expiry cut-off */
	int target;    /* its shard, -1: complete */
	struct mca_store *st;
	struct mca_error *err;
};

/* Appends one stored entry to the TBS being built. */
static int
append_row(void *arg, const struct mca_crl_entry_row *row)
{
	void **a = arg;
	struct mca_der *d = a[0];
	size_t *n = a[1];

	mca_der_raw(d, row->entry, row->entry_len);
	(*n)++;
	return d->failed;
}

/* The entries of the CRL being built: from the in-memory set, or read from the store. */
static int
emit_entries(void *arg, struct mca_der *d)
{
	struct publish_run *r = arg;
	void *a[2] = {d, &r->n};
	mca_rc rc;

	r->n = 0;
	if (r->p->set != NULL) {
		mca_crlset_emit(r->p->set, r->target, r->since, d, &r->n);
		return 0;
	}
	rc = mca_store_crl_entries(r->st, r->issuer_dn, r->target, r->since, append_row, a, r->err);
	if (rc == MCA_OK)
		return 0;
	if (d->failed)
		return 0; /* mca_crl_build_tbs_emit reports the allocation failure */
	return -(int)rc;
}

/* Build, sign and record CRL `number` of `target` (-1: complete; k: shard k). */
static mca_rc
publish_one(struct publish_run *r, int target, int64_t number, struct mca_error *err)
{
	const struct mca_publish *p = r->p;
	struct mca_crl_params cp;
	struct mca_crl_rec prev = {0};
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len = 0, der_len = 0;
	char name[16], detail[128], *url = NULL;
	mca_rc rc;

	mca_publish_crl_name(p, target, name);
	r->target = target;
	r->since = 0;
	rc = mca_store_crl_latest(r->st, name, &prev, err);
	if (rc == MCA_OK)
		r->since = prev.this_update;
	else if (rc != MCA_ERR_NOTFOUND)
		goto out;
	free(prev.der);
	prev.der = NULL;
	if (target >= 0 && asprintf(&url, "%s%d", p->shard_url, target) < 0) {
		url = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memset(&cp, 0, sizeof(cp));
	cp.alg = mca_signer_algor_der(p->signer, &cp.alg_len);
	cp.issuer = p->issuer;
	cp.number = number;
	cp.this_update = r->now;
	cp.next_update = r->now + p->validity;
	cp.idp_url = url;
	r->err = err;
	if ((rc = mca_crl_build_tbs_emit(&cp, emit_entries, r, &tbs, &tbs_len, err)) != MCA_OK ||
	    (rc = mca_signer_wrap(p->signer, MCA_SIGN_CRL, tbs, tbs_len, &der, &der_len, err)) !=
	        MCA_OK)
		goto out;
	free(tbs);
	tbs = NULL;
	snprintf(detail, sizeof(detail), "{\"issuer\":\"%s\",\"number\":%lld,\"entries\":%zu}",
	         name, (long long)number, r->n);
	if ((rc = mca_store_crl_insert(r->st, name, number, r->now, r->now + p->validity, der,
	                               der_len, err)) != MCA_OK ||
	    (rc = mca_store_audit(r->st, p->actor, "crl", NULL, detail, err)) != MCA_OK)
		goto out;
out:
	free(url);
	free(tbs);
	free(der);
	return rc;
}

/* Number, list, sign and record the CRLs (run again whole on a conflict). */
static mca_rc
publish_txn(struct mca_store *st, void *arg, struct mca_error *err)
{
	struct publish_run *r = arg;
	const struct mca_publish *p = r->p;
	int64_t num = 0, n = 0;
	char name[16];
	int k, first, last;
	mca_rc rc;

	r->st = st;
	r->num = 0;
	if (r->shard == MCA_PUBLISH_ALL) {
		first = 0;
		last = (int)p->shards - 1;
	} else {
		first = last = r->shard;
	}
	if ((rc = mca_store_crl_max_number(st, p->which, &num, err)) != MCA_OK)
		return rc;
	/* The shards' numbers are below the complete CRL's; check anyway. */
	for (k = first; k >= 0 && k <= last; k++) {
		mca_publish_crl_name(p, k, name);
		if ((rc = mca_store_crl_max_number(st, name, &n, err)) != MCA_OK)
			return rc;
		if (n > num)
			num = n;
	}
	if (p->set != NULL && (rc = mca_crlset_sync(p->set, st, err)) != MCA_OK)
		return rc;
	for (k = first; k >= 0 && k <= last; k++)
		if ((rc = publish_one(r, k, ++num, err)) != MCA_OK)
			return rc;
	if ((rc = publish_one(r, -1, ++num, err)) != MCA_OK)
		return rc;
	r->num = num;
	return MCA_OK;
}

mca_rc
mca_publish_crl_shard(const struct mca_publish *p, int shard, int64_t *number,
                      struct mca_error *err)
{
	struct publish_run r;
	char *issuer_dn = NULL;
	int sharded;
	mca_rc rc;

	memset(&r, 0, sizeof(r));
	r.p = p;
	r.now = mca_now();
	sharded = p->shards > 0 && p->shard_url != NULL && strcmp(p->which, "ca") == 0;
	if (shard >= 0 && (!sharded || shard >= (int)p->shards))
		return mca_error_set(err, MCA_ERR_INVAL, "no CRL shard %d (crl.shards is %u)",
		                     shard, sharded ? p->shards : 0);
	r.shard = shard >= 0 || (shard == MCA_PUBLISH_ALL && sharded) ? shard : -1;
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
	rc = write_latest(p, r.shard, err);
out:
	free(issuer_dn);
	return rc;
}

mca_rc
mca_publish_crl(const struct mca_publish *p, int64_t *number, struct mca_error *err)
{
	return mca_publish_crl_shard(p, MCA_PUBLISH_ALL, number, err);
}

/* Write the newest stored CRL named `name` (under the directory's lock, held by the caller). */
static mca_rc
write_one(const struct mca_publish *p, const char *name, struct mca_error *err)
{
	struct mca_crl_rec latest = {0};
	mca_rc rc;

	/* Re-read under the lock: whoever writes last writes the newest. */
	if ((rc = mca_store_crl_latest(p->store, name, &latest, err)) == MCA_OK)
		rc = mca_crl_write_files(p->crl_dir, name, latest.der, latest.der_len, err);
	free(latest.der);
	return rc;
}

/* Write the CRLs publish_txn published for `shard` (as there) to the CRL directory. */
static mca_rc
write_latest(const struct mca_publish *p, int shard, struct mca_error *err)
{
	char *lock = NULL, name[16];
	int fd = -1, k, first = shard, last = shard;
	mca_rc rc = MCA_OK;

	if (shard == MCA_PUBLISH_ALL) {
		first = 0;
		last = (int)p->shards - 1;
	}
	if (asprintf(&lock, "%s/.lock", p->crl_dir) < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", lock, strerror(errno));
		goto out;
	}
	for (k = first; k >= 0 && k <= last && rc == MCA_OK; k++) {
		mca_publish_crl_name(p, k, name);
		rc = write_one(p, name, err);
	}
	if (rc == MCA_OK) {
		mca_publish_crl_name(p, -1, name);
		rc = write_one(p, name, err);
	}
out:
	if (fd >= 0)
		close(fd);
	free(lock);
	return rc;
}

mca_rc
mca_publish_write_latest(const struct mca_publish *p, struct mca_error *err)
{
	int sharded = p->shards > 0 && p->shard_url != NULL && strcmp(p->which, "ca") == 0;

	return write_latest(p, sharded ? MCA_PUBLISH_ALL : -1, err);
}
