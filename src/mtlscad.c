/*
 * mtlscad.c - the daemon: parse arguments, load the CA directory, bind the
 * listeners, optionally detach, serve until SIGTERM/SIGINT.
 *
 * Any failure before serving prints one line naming the file and the
 * problem and exits 1; usage errors exit 2.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acme/acme.h"
#include "api/http.h"
#include "ca/committer.h"
#include "ca/conf.h"
#include "ca/signq.h"
#include "common/log.h"
#include "daemon/server.h"
#include "daemon/tick.h"
#include "signer/proc.h"

#define DRAIN_GRACE_S 10

static void
usage(FILE *f)
{
	fputs("usage: mtlscad -c FILE [--foreground] [--log-level LEVEL]\n"
	      "       mtlscad --help | --version\n"
	      "\n"
	      "  -c, --config FILE   the CA's mtlsca.conf (default $MTLSCA_CONFIG)\n"
	      "  -f, --foreground    do not detach; log to stderr\n"
	      "  --log-level LEVEL   debug, info, notice, warn or error (overrides the config)\n",
	      f);
}

/*
 * Detach: the parent waits for the child to say it is serving (one byte
 * on a pipe) and exits 0, or 1 if the child failed.  Returns the write end
 * of the pipe in the child.
 */
static int
detach(void)
{
	int p[2], devnull;
	char c = 0;
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == '1' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	return p[1];
}

/*
 * Every client connection is a descriptor: raise the open-files soft
 * limit to the hard one (often 1024 soft against 524288 hard), so that
 * limits.max_connections can be reached.  The listeners lower their
 * connection limit, with a warning, if it still does not fit.
 */
static void
raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		mca_log(MCA_LOG_WARN, "cannot raise the open-files limit to %llu: %s",
		        (unsigned long long)rl.rlim_max, strerror(errno));
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},    {"foreground", no_argument, NULL, 'f'},
	    {"log-level", required_argument, NULL, 'l'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
	};
	const char *config = getenv("MTLSCA_CONFIG"), *level = NULL;
	struct mca_conf *conf = NULL;
	struct mca_server *srv = NULL;
	struct mca_httpd *httpd = NULL;
	struct mca_error err = {0};
	sigset_t sigs;
	const struct timespec tick = {1, 0};
	char https_s[128], http_s[128], exe[PATH_MAX];
	ssize_t exe_len;
	int c, sig, foreground = 0, ready_fd = -1, status = 1;

	/* The signer process is this program, exec'd (signer/proc.h). */
	if (argc > 1 && strcmp(argv[1], "--signer-process") == 0)
		return mca_signerproc_main(argc, argv);
	mca_log_set_ident("mtlscad");
	raise_nofile_limit();
	while ((c = getopt_long(argc, argv, "c:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'l':
			level = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mtlscad %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || config == NULL || config[0] == '\0') {
		usage(stderr);
		return 2;
	}
	if (level != NULL && mca_log_level_parse(level) < 0) {
		fprintf(stderr, "mtlscad: unknown log level '%s'\n", level);
		return 2;
	}

	/* Block the signals we handle before any thread exists; main waits for them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (mca_conf_load(config, &conf, &err) != MCA_OK) {
		fprintf(stderr, "mtlscad: %s\n", err.msg);
		return 1;
	}
	mca_log_set_level(
	    (enum mca_log_level)(level ? mca_log_level_parse(level) : conf->log_level));
	exe_len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (exe_len <= 0) {
		fprintf(stderr, "mtlscad: /proc/self/exe: %s\n", strerror(errno));
		mca_conf_free(conf);
		return 1;
	}
	exe[exe_len] = '\0';
	/*
	 * Detach first: the signer process must be our child to be reaped and
	 * restarted.  stderr stays, so a failure below is still one line there
	 * (and the parent exits 1).
	 */
	if (!foreground && (ready_fd = detach()) < 0) {
		fprintf(stderr, "mtlscad: cannot detach: %s\n", strerror(errno));
		mca_conf_free(conf);
		return 1;
	}
	/* Starts the signer process: before any thread and any network input. */
	if (mca_server_load(conf, exe, &srv, &err) != MCA_OK) {
		fprintf(stderr, "mtlscad: %s\n", err.msg);
		mca_conf_free(conf);
		goto out;
	}
	conf = NULL; /* owned by srv */
	if (mca_httpd_bind(srv, &httpd, &err) != MCA_OK) {
		fprintf(stderr, "mtlscad: %s: %s\n", srv->conf->path, err.msg);
		goto out;
	}
	/* Threads do not survive fork(): start the workers after detaching. */
	if (mca_committer_new(srv->conf->database, &srv->committer, &err) != MCA_OK ||
	    mca_signq_new(&srv->signq, &err) != MCA_OK ||
	    mca_acme_new(srv->conf, srv->pool, &srv->acme, &err) != MCA_OK) {
		mca_log(MCA_LOG_ERR, "%s", err.msg);
		goto out;
	}
	if (mca_httpd_start(httpd, &err) != MCA_OK) {
		mca_log(MCA_LOG_ERR, "%s", err.msg);
		goto out;
	}
	mca_hostport_format(&srv->conf->listen, https_s, sizeof(https_s));
	mca_hostport_format(&srv->conf->http_listen, http_s, sizeof(http_s));
	mca_log(MCA_LOG_INFO, "listening https=%s http=%s", https_s, http_s);
	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) != 1)
			mca_log(MCA_LOG_WARN, "could not tell the parent we are ready");
		close(ready_fd);
		ready_fd = -1;
	}

	for (;;) {
		/* Wake at least once a second for the periodic work (CRLs, tokens). */
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig < 0) {
			mca_tick(srv);
			mca_acme_tick(srv->acme);
			continue;
		}
		if (sig == SIGHUP) {
			if (mca_server_reload_profiles(srv, &err) != MCA_OK)
				mca_log(MCA_LOG_ERR, "SIGHUP: keeping the loaded profiles: %s",
				        err.msg);
			else
				mca_log(MCA_LOG_INFO, "SIGHUP: profiles reloaded");
			continue;
		}
		mca_log(MCA_LOG_INFO, "%s: draining and stopping",
		        sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	mca_httpd_drain(httpd, DRAIN_GRACE_S);
	status = 0;
out:
	if (ready_fd >= 0)
		close(ready_fd);
	mca_httpd_free(httpd);
	/*
	 * mtlscad started the workers and stops them, before the state they
	 * use: the ACME workers (on the server's store pool), the issuing
	 * stage (it hands rows to the committer), then the committer (which
	 * no request can reach any more).
	 */
	if (srv != NULL) {
		mca_acme_free(srv->acme);
		srv->acme = NULL;
		mca_signq_free(srv->signq);
		srv->signq = NULL;
		mca_committer_free(srv->committer);
		srv->committer = NULL;
	}
	mca_server_free(srv);
	return status;
}
