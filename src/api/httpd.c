/*
 * httpd.c - mtlscad's two listeners: the mhd/ glue configured from
 * struct mca_server, with the hooks that tie a request to the daemon
 * (client identity on the first call, metrics and cleanup at completion).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "api/http.h"
#include "api/idcache.h"
#include "mhd/httpd.h"

struct mca_httpd {
	struct mca_server *srv;
	struct mca_mhd *mhd;
};

/* Every request gets an identity (zero: none), then the TLS one if any. */
static enum mca_http_result
api_begin(struct mca_req *r)
{
	r->app_req = calloc(1, sizeof(struct mca_identity));
	if (r->app_req == NULL)
		return MCA_HTTP_FAIL;
	mca_http_identify(r);
	return MCA_HTTP_QUEUED;
}

static void
api_end(struct mca_req *r, unsigned status, double secs)
{
	struct mca_identity *id = mca_req_id(r);

	mca_metrics_request(mca_req_server(r)->metrics, secs, status);
	if (id != NULL) {
		X509_free(id->cert);
		mca_cert_rec_free(id->rec);
		free(id);
	}
	r->app_req = NULL;
}

mca_rc
mca_httpd_bind(struct mca_server *srv, struct mca_httpd **out, struct mca_error *err)
{
	struct mca_conf *conf = srv->conf;
	struct mca_mhd_config cfg = {0};
	struct mca_httpd *h;
	mca_rc rc;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	h->srv = srv;
	cfg.routes = mca_routes;
	cfg.https.name = "listen";
	cfg.https.host = conf->listen.host;
	cfg.https.port = conf->listen.port;
	cfg.http.name = "http_listen";
	cfg.http.host = conf->http_listen.host;
	cfg.http.port = conf->http_listen.port;
	cfg.cert_pem = srv->server_cert_pem;
	cfg.key_pem = srv->server_key_pem;
	cfg.trust_pem = srv->chain_pem;
	cfg.threads = conf->threads;
	cfg.max_connections = conf->max_connections;
	cfg.max_connections_per_ip = conf->max_connections_per_ip;
	cfg.connection_timeout = conf->connection_timeout;
	cfg.request_timeout = conf->request_timeout;
	cfg.header_memory = MCA_HTTP_HEADER_MAX;
	cfg.hooks.begin = api_begin;
	cfg.hooks.end = api_end;
	cfg.app = srv;
	rc = mca_mhd_bind(&cfg, &h->mhd, err);
	if (rc != MCA_OK) {
		free(h);
		return rc;
	}
	conf->listen.port = mca_mhd_port(h->mhd, MCA_LISTENER_HTTPS);
	conf->http_listen.port = mca_mhd_port(h->mhd, MCA_LISTENER_HTTP);
	*out = h;
	return MCA_OK;
}

mca_rc
mca_httpd_start(struct mca_httpd *h, struct mca_error *err)
{
	char msg[sizeof(err->msg)];
	mca_rc rc;

	rc = mca_mhd_start(h->mhd, err);
	/* GnuTLS holds the parsed key now: our PEM copy is not needed any more. */
	mca_server_wipe_tls_key(h->srv);
	if (rc != MCA_OK) {
		/* Name the configuration the listeners come from. */
		snprintf(msg, sizeof(msg), "%s", err->msg);
		return mca_error_set(err, rc, "%s: %s", h->srv->conf->path, msg);
	}
	return MCA_OK;
}

void
mca_httpd_drain(struct mca_httpd *h, unsigned grace_s)
{
	mca_mhd_drain(h->mhd, grace_s);
}

void
mca_httpd_free(struct mca_httpd *h)
{
	if (h == NULL)
		return;
	mca_mhd_free(h->mhd);
	free(h);
	mca_idcache_clear();
}
