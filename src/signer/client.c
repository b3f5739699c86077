/* client.c - the signer backend over the signer process's channel (see client.h). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "signer/client.h"
#include "signer/proc.h"

struct mca_signer_chan {
	pthread_mutex_t lock; /* one request at a time; guards fd */
	int fd;               /* -1: down */
};

struct client {
	struct mca_signer_chan *chan;
	unsigned char key; /* MCA_SIGKEY_* */
	EVP_PKEY *pub;
};

static void
set_timeouts(int fd)
{
	const struct timeval tv = {MCA_SIGNER_TIMEOUT_S, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

mca_rc
mca_signer_chan_new(int fd, struct mca_signer_chan **out, struct mca_error *err)
{
	struct mca_signer_chan *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		if (fd >= 0)
			close(fd);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&c->lock, NULL);
	c->fd = fd;
	if (fd >= 0)
		set_timeouts(fd);
	*out = c;
	return MCA_OK;
}

void
mca_signer_chan_reset(struct mca_signer_chan *c, int fd)
{
	if (fd >= 0)
		set_timeouts(fd);
	pthread_mutex_lock(&c->lock);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = fd;
	pthread_mutex_unlock(&c->lock);
}

void
mca_signer_chan_close(struct mca_signer_chan *c)
{
	mca_signer_chan_reset(c, -1);
}

int
mca_signer_chan_down(struct mca_signer_chan *c)
{
	int down;

	pthread_mutex_lock(&c->lock);
	down = c->fd < 0;
	pthread_mutex_unlock(&c->lock);
	return down;
}

void
mca_signer_chan_free(struct mca_signer_chan *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/*
 * One request and its reply.  A channel that fails (gone, no answer in
 * time, a malformed reply) is closed: MCA_ERR_SIGNER.  A refusal by the
 * process comes back as its rc, rule and message.
 */
static mca_rc
request(struct mca_signer_chan *c, unsigned op, const unsigned char *a, size_t alen,
        const unsigned char *b, size_t blen, unsigned char **reply, size_t *reply_len,
        struct mca_error *err)
{
	struct mca_error e = {0};
	unsigned char *pl = NULL;
	unsigned status = 0;
	size_t len = 0, r;
	mca_rc rc;

	*reply = NULL;
	*reply_len = 0;
	if (alen + blen > MCA_SIGNER_FRAME_MAX)
		return mca_error_set(err, MCA_ERR_INVAL, "%zu octets to sign: over the bound of %d",
		                     alen + blen, MCA_SIGNER_FRAME_MAX);
	pthread_mutex_lock(&c->lock);
	if (c->fd < 0) {
		pthread_mutex_unlock(&c->lock);
		return mca_error_set(err, MCA_ERR_SIGNER, "the signer process is unavailable");
	}
	if ((rc = mca_sigframe_write(c->fd, op, a, alen, b, blen, &e)) != MCA_OK ||
	    (rc = mca_sigframe_read(c->fd, &status, &pl, &len, &e)) != MCA_OK) {
		close(c->fd);
		c->fd = -1;
		pthread_mutex_unlock(&c->lock);
		return mca_error_set(err, MCA_ERR_SIGNER, "the signer process is unavailable (%s)",
		                     e.msg);
	}
	pthread_mutex_unlock(&c->lock);
	if (status == 0) {
		*reply = pl;
		*reply_len = len;
		return MCA_OK;
	}
	/* "RULE\0MESSAGE" */
	r = pl ? strnlen((const char *)pl, len) : 0;
	rc = status < MCA_ERR__COUNT ? (mca_rc)status : MCA_ERR_INTERNAL;
	if (pl != NULL && r < len) {
		mca_error_set(err, rc, "%.*s", (int)(len - r - 1), (const char *)pl + r + 1);
		if (err != NULL)
			snprintf(err->rule, sizeof(err->rule), "%.*s", (int)r, (const char *)pl);
	} else {
		mca_error_set(err, rc, "the signer process refused");
	}
	free(pl);
	return rc;
}

static mca_rc
client_sign(void *impl, enum mca_sign_kind kind, const unsigned char *tbs, size_t tbs_len,
            unsigned char **sig, size_t *sig_len, struct mca_error *err)
{
	struct client *cl = impl;
	unsigned op;

	switch (kind) {
	case MCA_SIGN_CERT:
		op = MCA_SIGOP_SIGN_CERT;
		break;
	case MCA_SIGN_CRL:
		op = MCA_SIGOP_SIGN_CRL;
		break;
	case MCA_SIGN_OCSP:
		op = MCA_SIGOP_SIGN_OCSP;
		break;
	case MCA_SIGN_PROBE:
		/* the process signs its own copy of the probe message */
		op = MCA_SIGOP_PROBE;
		tbs = NULL;
		tbs_len = 0;
		break;
	default:
		return mca_error_set(err, MCA_ERR_INVAL, "unknown kind of signature %d", (int)kind);
	}
	return request(cl->chan, op, &cl->key, 1, tbs, tbs_len, sig, sig_len, err);
}

static EVP_PKEY *
client_pubkey(void *impl)
{
	return ((struct client *)impl)->pub;
}

static void
client_free(void *impl)
{
	struct client *cl = impl;

	if (cl == NULL)
		return;
	EVP_PKEY_free(cl->pub);
	free(cl);
}

static const struct mca_signer_ops client_ops = {
    .name = "process",
    .sign = client_sign,
    .pubkey = client_pubkey,
    .free = client_free,
};

mca_rc
mca_signer_client_new(struct mca_signer_chan *c, int key, X509 *cert, const char *cert_path,
                      struct mca_signer **out, struct mca_error *err)
{
	struct client *cl = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	mca_rc rc;

	*out = NULL;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	cl->chan = c;
	cl->key = (unsigned char)key;
	if ((rc = request(c, MCA_SIGOP_PUBKEY, &cl->key, 1, NULL, 0, &der, &len, err)) != MCA_OK)
		goto fail;
	p = der;
	cl->pub = d2i_PUBKEY(NULL, &p, (long)len);
	if (cl->pub == NULL || p != der + len) {
		rc = mca_error_ssl(err, MCA_ERR_CRYPTO, "the signer process's public key");
		goto fail;
	}
	if (cert != NULL && EVP_PKEY_eq(cl->pub, X509_get0_pubkey(cert)) != 1) {
		ERR_clear_error();
		rc =
		    mca_error_set(err, MCA_ERR_CONFIG, "the signer process's key does not match %s",
		                  cert_path != NULL ? cert_path : "its certificate");
		goto fail;
	}
	free(der);
	return mca_signer_create(&client_ops, cl, out, err);
fail:
	free(der);
	client_free(cl);
	return rc;
}

mca_rc
mca_signer_chan_tls_key(struct mca_signer_chan *c, char **pem, struct mca_error *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	mca_rc rc;

	*pem = NULL;
	if ((rc = request(c, MCA_SIGOP_TLS_KEY, NULL, 0, NULL, 0, &buf, &len, err)) != MCA_OK)
		return rc;
	*pem = malloc(len + 1);
	if (*pem == NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	memcpy(*pem, buf, len);
	(*pem)[len] = '\0';
	OPENSSL_cleanse(buf, len);
	free(buf);
	return MCA_OK;
}
