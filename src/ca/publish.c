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

void
mca_publish_crl_name(const struct mca_publish *p, int shard, char name[16])
{
	if (shard < 0)
		snprintf(name, 16, "%.8s", p->which);
	else
		snprintf(name, 16, "%.4s-%d", p->which, shard & 0xffff);
}

/* A CRL signed and stored by the transaction, kept for the files and the callback. */
struct published {
	char name[16];
	struct mca_crl_rec rec;
	size_t entries;
};

/* One CRL publication: everything mca_publish_crl does in its transaction. */
struct publish_run {
	const struct mca_publish *p;
	const char *issuer_dn;
	int64_t now;
	int shard;              /* mca_publish_crl_shard's */
	int64_t num;            /* out: the complete CRL's number */
	size_t n;               /* entries of the CRL being built */
	int64_t since;          /* its expiry cut-off */
	int target;             /* its shard, -1: complete */
	struct mca_crlset *set; /* p->set, or one for this run (shards from the CLI) */
	struct published *out;  /* [n_out] */
	size_t n_out;
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
	if (r->set != NULL) {
		mca_crlset_emit(r->set, r->target, r->since, d, &r->n);
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
	struct published *out = &r->out[r->n_out];
	struct mca_crl_params cp;
	struct mca_crl_rec prev = {0};
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len = 0, der_len = 0;
	char detail[128], *url = NULL;
	mca_rc rc;

	mca_publish_crl_name(p, target, out->name);
	r->target = target;
	r->since = 0;
	/* The previous CRL's thisUpdate: an entry expired before it is left out now. */
	rc = mca_store_crl_latest_info(r->st, out->name, &prev, err);
	if (rc == MCA_OK)
		r->since = prev.this_update;
	else if (rc != MCA_ERR_NOTFOUND)
		goto out;
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
	         out->name, (long long)number, r->n);
	/* The new CRL and the one before keep their DER; older ones are never read. */
	if ((rc = mca_store_crl_insert(r->st, out->name, number, r->now, r->now + p->validity, der,
	                               der_len, err)) != MCA_OK ||
	    (prev.number > 0 && !p->defer_files &&
	     (rc = mca_store_crl_prune(r->st, out->name, prev.number, err)) != MCA_OK) ||
	    (rc = mca_store_audit(r->st, p->actor, "crl", NULL, detail, err)) != MCA_OK)
		goto out;
	out->rec.number = number;
	out->rec.this_update = r->now;
	out->rec.next_update = r->now + p->validity;
	out->rec.der = der;
	out->rec.der_len = der_len;
	out->entries = r->n;
	der = NULL;
	r->n_out++;
out:
	free(url);
	free(tbs);
	free(der);
	return rc;
}

/* Forget what a run kept (before a rerun, and at the end). */
static void
run_clear(struct publish_run *r)
{
	size_t i;

	for (i = 0; i < r->n_out; i++)
		free(r->out[i].rec.der);
	r->n_out = 0;
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
	run_clear(r);
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
	if (r->set != NULL && (rc = mca_crlset_sync(r->set, st, err)) != MCA_OK)
		return rc;
	for (k = first; k >= 0 && k <= last; k++)
		if ((rc = publish_one(r, k, ++num, err)) != MCA_OK)
			return rc;
	if ((rc = publish_one(r, -1, ++num, err)) != MCA_OK)
		return rc;
	r->num = num;
	return MCA_OK;
}

/*
 * Write what the run published to the CRL directory, under its lock: each
 * CRL unless the store has a newer one by then (another process published
 * after this one: that one is written instead); then hand it to the
 * callback.
 */
static mca_rc
write_out(const struct mca_publish *p, struct publish_run *r, struct mca_error *err)
{
	struct mca_crl_rec latest = {0};
	char *lock = NULL, *pem = NULL;
	size_t i, pem_len = 0;
	int64_t max = 0;
	int fd = -1;
	mca_rc rc = MCA_OK;

	if (p->defer_files) {
		for (i = 0; i < r->n_out && p->on_published != NULL; i++)
			p->on_published(p->on_published_arg, r->out[i].name, &r->out[i].rec, NULL,
			                0, r->out[i].entries);
		return MCA_OK;
	}
	if (asprintf(&lock, "%s/.lock", p->crl_dir) < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", lock, strerror(errno));
		goto out;
	}
	for (i = 0; i < r->n_out && rc == MCA_OK; i++) {
		struct mca_crl_rec *rec = &r->out[i].rec;

		if ((rc = mca_store_crl_max_number(p->store, r->out[i].name, &max, err)) != MCA_OK)
			break;
		if (max != rec->number) {
			/* Re-read under the lock: whoever writes last writes the newest. */
			if ((rc = mca_store_crl_latest(p->store, r->out[i].name, &latest, err)) !=
			    MCA_OK)
				break;
			free(rec->der);
			*rec = latest;
			memset(&latest, 0, sizeof(latest));
			r->out[i].entries = (size_t)mca_crl_der_entries(rec->der, rec->der_len);
		}
		pem = mca_crl_pem(rec->der, rec->der_len, &pem_len);
		if (pem == NULL) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			break;
		}
		rc = mca_crl_write_files(p->crl_dir, r->out[i].name, rec->der, rec->der_len, pem,
		                         pem_len, err);
		if (rc == MCA_OK && p->on_published != NULL)
			p->on_published(p->on_published_arg, r->out[i].name, rec, &pem, pem_len,
			                r->out[i].entries);
		free(pem);
		pem = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	free(lock);
	return rc;
}

mca_rc
mca_publish_crl_shard(const struct mca_publish *p, int shard, int64_t *number,
                      struct mca_error *err)
{
	struct publish_run r;
	struct mca_crlset *own = NULL;
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
	r.out = calloc(r.shard == MCA_PUBLISH_ALL ? p->shards + 1 : 2, sizeof(*r.out));
	if (issuer_dn == NULL || r.out == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	r.issuer_dn = issuer_dn;
	/*
	 * Entries from memory: mtlscad's set, or, for more than one CRL, one
	 * read once for this run; a single complete CRL streams from the store.
	 */
	r.set = p->set;
	/* mtlscad's set is the issuing CA's: never the root's entries */
	if (r.set != NULL && strcmp(mca_crlset_issuer(r.set), issuer_dn) != 0)
		r.set = NULL;
	if (r.set == NULL && r.shard != -1 && (r.set = own = mca_crlset_new(issuer_dn)) == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = mca_store_txn(p->store, publish_txn, &r, err)) != MCA_OK)
		goto out;
	if (number != NULL)
		*number = r.num;
	/* the entries are no longer needed: free them before the files are written */
	mca_crlset_free(own);
	own = NULL;
	rc = write_out(p, &r, err);
out:
	mca_crlset_free(own);
	if (r.out != NULL)
		run_clear(&r);
	free(r.out);
	free(issuer_dn);
	return rc;
}

mca_rc
mca_publish_crl(const struct mca_publish *p, int64_t *number, struct mca_error *err)
{
	return mca_publish_crl_shard(p, MCA_PUBLISH_ALL, number, err);
}

mca_rc
mca_publish_purge_expired(const struct mca_publish *p, int64_t *n, struct mca_error *err)
{
	int sharded = p->shards > 0 && p->shard_url != NULL && strcmp(p->which, "ca") == 0;
	struct mca_crl_rec rec;
	char name[16], *dn = NULL;
	int64_t before = INT64_MAX;
	int k;
	mca_rc rc = MCA_OK;

	*n = 0;
	for (k = -1; k < (sharded ? (int)p->shards : 0); k++) {
		mca_publish_crl_name(p, k, name);
		rc = mca_store_crl_latest_info(p->store, name, &rec, err);
		if (rc == MCA_ERR_NOTFOUND)
			return MCA_OK;
		if (rc != MCA_OK)
			return rc;
		if (rec.this_update < before)
			before = rec.this_update;
	}
	dn = mca_name_string(X509_get_subject_name(p->issuer));
	if (dn == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	/* not_after <= before: left out of every CRL from now on (publish_one's since) */
	rc = mca_store_crl_entries_purge(p->store, dn, before, n, err);
	if (rc == MCA_OK && p->set != NULL && strcmp(mca_crlset_issuer(p->set), dn) == 0)
		mca_crlset_drop_expired(p->set, before);
	free(dn);
	return rc;
}

mca_rc
mca_publish_write_crl(const struct mca_publish *p, const char *name, int64_t number,
                      const unsigned char *der, size_t der_len, const char *pem, size_t pem_len,
                      struct mca_error *err)
{
	char *lock = NULL;
	int64_t max = 0;
	int fd = -1;
	mca_rc rc;

	if (asprintf(&lock, "%s/.lock", p->crl_dir) < 0)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", lock, strerror(errno));
		goto out;
	}
	if ((rc = mca_store_crl_max_number(p->store, name, &max, err)) == MCA_OK && max == number)
		rc = mca_crl_write_files(p->crl_dir, name, der, der_len, pem, pem_len, err);
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
	struct publish_run r;
	int k, last = sharded ? (int)p->shards - 1 : -1;
	mca_rc rc = MCA_OK;

	struct mca_publish q = *p;

	/* The newest stored CRLs, as a run that published them would write them. */
	q.defer_files = 0;
	p = &q;
	memset(&r, 0, sizeof(r));
	r.out = calloc((size_t)(last + 2), sizeof(*r.out));
	if (r.out == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	for (k = -1; k <= last && rc == MCA_OK; k++) {
		mca_publish_crl_name(p, k, r.out[r.n_out].name);
		rc = mca_store_crl_latest(p->store, r.out[r.n_out].name, &r.out[r.n_out].rec, err);
		if (rc == MCA_OK)
			r.n_out++;
	}
	if (rc == MCA_OK)
		rc = write_out(p, &r, err);
	run_clear(&r);
	free(r.out);
	return rc;
}
