/* client.c - the signer backend over the signer process's channel (see client.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "signer/client.h"
#include "signer/proc.h"

/*
 * Requests are pipelined: a thread writes its frame (writes are serialised
 * by `wlock`) and takes a ticket; the process serves a socket one frame at
 * a time, so replies come back in the order of the requests, and the
 * holder of ticket `serving` reads the next reply while later requests
 * already wait in the socket.  The process is never idle for a round trip
 * between two requests, and the frame protocol is unchanged.
 *
 * A socket is an object of its own, counted: a failure or a reset marks it
 * dead and shuts it down (every request on it fails: their replies are
 * lost with it), and the descriptor is closed only when its last user is
 * done, so that no thread ever reads or writes a number that was reused.
 * Lock order: wlock, then lock.
 */
/* A request waiting for its turn to read (on its thread's stack). */
struct waiter {
	uint64_t ticket;
	pthread_cond_t cv; /* its turn came, or the socket died */
	struct waiter *next;
};

struct sock {
	int fd;
	int refs; /* requests using it, + 1 while it is the channel's */
	int dead; /* failed or replaced: no new request, waiters fail */
	uint64_t next_ticket, serving;
	struct waiter *waiters;    /* each woken alone: no herd per reply */
	struct mca_sigframe_rd rd; /* read only by the request whose turn it is */
};

struct mca_signer_chan {
	pthread_mutex_t wlock; /* one writer at a time */
	pthread_mutex_t lock;  /* guards cur and every sock's fields */
	struct sock *cur;      /* NULL: down */
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

/* Drop one reference (c->lock held); the last one closes the descriptor. */
static void
sock_unref(struct sock *k)
{
	if (--k->refs == 0) {
		close(k->fd);
		free(k);
	}
}

/* Mark `k` dead and stop using it as the channel's (c->lock held). */
static void
sock_kill(struct mca_signer_chan *c, struct sock *k)
{
	struct waiter *w;

	if (k->dead)
		return;
	k->dead = 1;
	/* a thread blocked on it returns at once; the number stays ours */
	shutdown(k->fd, SHUT_RDWR);
	for (w = k->waiters; w != NULL; w = w->next)
		pthread_cond_signal(&w->cv);
	if (c->cur == k) {
		c->cur = NULL;
		sock_unref(k);
	}
}

/* The turn moved on (c->lock held): wake the request whose turn it is. */
static void
sock_next(struct sock *k)
{
	struct waiter *w;

	k->serving++;
	for (w = k->waiters; w != NULL; w = w->next)
		if (w->ticket == k->serving) {
			pthread_cond_signal(&w->cv);
			break;
		}
}

/* A new socket object over `fd` (taken), or NULL (fd closed). */
static struct sock *
sock_new(int fd)
{
	struct sock *k;

	if (fd < 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		close(fd);
		return NULL;
	}
	set_timeouts(fd);
	k->fd = fd;
	k->refs = 1;
	mca_sigframe_rd_init(&k->rd, fd);
	return k;
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
	pthread_mutex_init(&c->wlock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	c->cur = sock_new(fd);
	*out = c;
	return MCA_OK;
}

void
mca_signer_chan_reset(struct mca_signer_chan *c, int fd)
{
	struct sock *k = sock_new(fd);

	pthread_mutex_lock(&c->lock);
	if (c->cur != NULL)
		sock_kill(c, c->cur);
	c->cur = k;
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
	down = c->cur == NULL;
	pthread_mutex_unlock(&c->lock);
	return down;
}

void
mca_signer_chan_free(struct mca_signer_chan *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->cur != NULL)
		sock_kill(c, c->cur);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->wlock);
	free(c);
}

/*
 * Wait until it is ticket `ticket`'s turn to read on `k` (a request
 * holding a reference); 1 when the socket died meanwhile.
 */
static int
wait_turn(struct mca_signer_chan *c, struct sock *k, uint64_t ticket)
{
	struct waiter me, **wp;
	int dead;

	pthread_mutex_lock(&c->lock);
	if (!k->dead && k->serving != ticket) {
		me.ticket = ticket;
		pthread_cond_init(&me.cv, NULL);
		me.next = k->waiters;
		k->waiters = &me;
		while (!k->dead && k->serving != ticket)
			pthread_cond_wait(&me.cv, &c->lock);
		for (wp = &k->waiters; *wp != &me; wp = &(*wp)->next)
			;
		*wp = me.next;
		pthread_cond_destroy(&me.cv);
	}
	dead = k->dead;
	pthread_mutex_unlock(&c->lock);
	return dead;
}

/*
 * A reply frame (status, pl: taken) as the request's outcome: the result
 * in *reply, or the process's refusal "RULE\0MESSAGE" as its rc, rule and
 * message.
 */
static mca_rc
decode_reply(unsigned status, unsigned char *pl, size_t len, unsigned char **reply,
             size_t *reply_len, struct mca_error *err)
{
	size_t r;
	mca_rc rc;

	if (status == 0) {
		*reply = pl;
		*reply_len = len;
		return MCA_OK;
	}
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

/*
 * The channel's socket, with a reference of the caller's and `wlock` held
 * (the caller writes, takes its tickets, then unlocks); NULL when the
 * channel is down (nothing held).
 */
static struct sock *
sock_take_for_write(struct mca_signer_chan *c)
{
	struct sock *k;

	pthread_mutex_lock(&c->wlock);
	pthread_mutex_lock(&c->lock);
	k = c->cur;
	if (k != NULL)
		k->refs++;
	pthread_mutex_unlock(&c->lock);
	if (k == NULL)
		pthread_mutex_unlock(&c->wlock);
	return k;
}

/*
 * One request and its reply.  A channel that fails (gone, no answer in
 * time, a malformed reply) is closed: MCA_ERR_SIGNER, for this request and
 * every one waiting on the same socket.  A refusal by the process comes
 * back as its rc, rule and message.
 */
static mca_rc
request(struct mca_signer_chan *c, unsigned op, const unsigned char *a, size_t alen,
        const unsigned char *b, size_t blen, unsigned char **reply, size_t *reply_len,
        struct mca_error *err)
{
	struct mca_error e = {0};
	unsigned char *pl = NULL;
	unsigned status = 0;
	uint64_t ticket = 0;
	struct sock *k;
	size_t len = 0;
	mca_rc rc;

	*reply = NULL;
	*reply_len = 0;
	if (alen + blen >
	    (op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX : MCA_SIGNER_FRAME_MAX))
		return mca_error_set(
		    err, MCA_ERR_INVAL, "%zu octets to sign: over the bound of %lu", alen + blen,
		    (unsigned long)(op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX
		                                             : MCA_SIGNER_FRAME_MAX));
	/* Write the frame and take a ticket. */
	if ((k = sock_take_for_write(c)) == NULL)
		return mca_error_set(err, MCA_ERR_SIGNER, "the signer process is unavailable");
	rc = mca_sigframe_write(k->fd, op, a, alen, b, blen, &e);
	pthread_mutex_lock(&c->lock);
	if (rc == MCA_OK && !k->dead)
		ticket = k->next_ticket++;
	else if (rc == MCA_OK)
		rc = mca_error_set(&e, MCA_ERR_IO, "signer channel: closed meanwhile");
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->wlock);
	if (rc != MCA_OK)
		goto failed;
	/* Wait for this request's turn, then read its reply. */
	if (wait_turn(c, k, ticket)) {
		rc = mca_error_set(&e, MCA_ERR_IO, "signer channel: an earlier request failed");
		goto failed;
	}
	/* Replies that came with an earlier one's read are taken without a system call. */
	if ((rc = mca_sigframe_rd_next(&k->rd, &status, &pl, &len, &e)) != MCA_OK)
		goto failed;
	pthread_mutex_lock(&c->lock);
	sock_next(k);
	sock_unref(k);
	pthread_mutex_unlock(&c->lock);
	return decode_reply(status, pl, len, reply, reply_len, err);
failed:
	pthread_mutex_lock(&c->lock);
	sock_kill(c, k);
	sock_unref(k);
	pthread_mutex_unlock(&c->lock);
	return mca_error_set(err, MCA_ERR_SIGNER, "the signer process is unavailable (%s)", e.msg);
}

/*
 * Requests per write of a batch.  The replies of a write are read only
 * after it, so they pile up in the socket meanwhile: this many small
 * replies stay well within a socket buffer, so that the process never
 * blocks sending to us while we block sending to it.
 */
#define BATCH_CHUNK 64

/*
 * Up to BATCH_CHUNK requests `op` (key octet, then each item's TBS): their
 * frames in one sendmsg under wlock, taking consecutive tickets, so that
 * no single request's frame or reply comes between them; then, on their
 * turn, the replies in order through the socket's buffer.  A channel that
 * fails fails every item not answered yet with MCA_ERR_SIGNER, as
 * request() does.
 */
static void
request_chunk(struct mca_signer_chan *c, unsigned op, const unsigned char *key,
              struct mca_sign_item **items, size_t n)
{
	struct mca_error e = {0};
	unsigned char hdr[BATCH_CHUNK][5], *pl = NULL;
	struct iovec iov[3 * BATCH_CHUNK];
	uint64_t first = 0;
	unsigned status = 0;
	struct sock *k;
	size_t i, len, done = 0;
	mca_rc rc;

	for (i = 0; i < n; i++) {
		len = 1 + items[i]->tbs_len;
		mca_sigframe_header_put(hdr[i], op, len);
		iov[3 * i].iov_base = hdr[i];
		iov[3 * i].iov_len = 5;
		iov[3 * i + 1].iov_base = (void *)(uintptr_t)key;
		iov[3 * i + 1].iov_len = 1;
		iov[3 * i + 2].iov_base = (void *)(uintptr_t)items[i]->tbs;
		iov[3 * i + 2].iov_len = items[i]->tbs_len;
	}
	if ((k = sock_take_for_write(c)) == NULL) {
		for (i = 0; i < n; i++)
			items[i]->rc = mca_error_set(&items[i]->err, MCA_ERR_SIGNER,
			                             "the signer process is unavailable");
		return;
	}
	rc = mca_sigframe_sendv(k->fd, iov, 3 * n, &e);
	pthread_mutex_lock(&c->lock);
	if (rc == MCA_OK && !k->dead) {
		first = k->next_ticket;
		k->next_ticket += n;
	} else if (rc == MCA_OK) {
		rc = mca_error_set(&e, MCA_ERR_IO, "signer channel: closed meanwhile");
	}
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_unlock(&c->wlock);
	if (rc != MCA_OK)
		goto failed;
	if (wait_turn(c, k, first)) {
		mca_error_set(&e, MCA_ERR_IO, "signer channel: an earlier request failed");
		goto failed;
	}
	/* Ours are the next n replies: nobody else reads until serving moves past them. */
	for (done = 0; done < n; done++) {
		if (mca_sigframe_rd_next(&k->rd, &status, &pl, &len, &e) != MCA_OK)
			goto failed;
		items[done]->rc = decode_reply(status, pl, len, &items[done]->sig,
		                               &items[done]->sig_len, &items[done]->err);
		pl = NULL;
	}
	pthread_mutex_lock(&c->lock);
	k->serving += n - 1;
	sock_next(k);
	sock_unref(k);
	pthread_mutex_unlock(&c->lock);
	return;
failed:
	pthread_mutex_lock(&c->lock);
	sock_kill(c, k);
	sock_unref(k);
	pthread_mutex_unlock(&c->lock);
	for (i = done; i < n; i++)
		items[i]->rc = mca_error_set(&items[i]->err, MCA_ERR_SIGNER,
		                             "the signer process is unavailable (%s)", e.msg);
}

/* The op that signs `kind`, 0 for none a batch takes. */
static unsigned
op_of(enum mca_sign_kind kind)
{
	switch (kind) {
	case MCA_SIGN_CERT:
		return MCA_SIGOP_SIGN_CERT;
	case MCA_SIGN_CRL:
		return MCA_SIGOP_SIGN_CRL;
	case MCA_SIGN_OCSP:
		return MCA_SIGOP_SIGN_OCSP;
	default:
		return 0;
	}
}

static void
client_sign_many(void *impl, enum mca_sign_kind kind, struct mca_sign_item *items, size_t n)
{
	struct client *cl = impl;
	struct mca_sign_item *chunk[BATCH_CHUNK];
	unsigned op = op_of(kind);
	size_t i, m = 0, bound;

	bound = op == MCA_SIGOP_SIGN_CRL ? MCA_SIGNER_CRL_FRAME_MAX : MCA_SIGNER_FRAME_MAX;
	for (i = 0; i < n; i++) {
		/* The frame's payload is the key octet and the TBS. */
		if (op == 0 || items[i].tbs_len + 1 > bound) {
			items[i].rc =
			    op == 0 ? mca_error_set(&items[i].err, MCA_ERR_INVAL,
			                            "unknown kind of signature %d", (int)kind)
			            : mca_error_set(&items[i].err, MCA_ERR_INVAL,
			                            "%zu octets to sign: over the bound of %zu",
			                            items[i].tbs_len + 1, bound);
			continue;
		}
		chunk[m++] = &items[i];
		if (m == BATCH_CHUNK) {
			request_chunk(cl->chan, op, &cl->key, chunk, m);
			m = 0;
		}
	}
	if (m > 0)
		request_chunk(cl->chan, op, &cl->key, chunk, m);
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
    .sign_many = client_sign_many,
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
