/* token.c - "mtlsca token create|list|revoke": enrollment tokens. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ca/conf.h"
#include "ca/token.h"
#include "cli/cli.h"
#include "common/duration.h"
#include "common/util.h"
#include "policy/names.h"
#include "policy/profile.h"
#include "store/store.h"

void
cli_token_usage(void)
{
	fputs("usage: mtlsca [-c CONF] token create --profile NAME [--name N]... [--ip ADDR]...\n"
	      "                                   [--uri URI]... [--email ADDR]... [--ttl 15m]\n"
	      "                                   [--uses 1] [--json]\n"
	      "       mtlsca [-c CONF] token list [--json]\n"
	      "       mtlsca [-c CONF] token revoke TOKEN_ID\n"
	      "\n"
	      "create prints a new token (only its hash is stored): it lets its holder\n"
	      "request certificates of profile NAME for the names given, --uses times,\n"
	      "until --ttl has passed.  A name allows only a SAN of its own type:\n"
	      "--name is a DNS name or *.suffix pattern, --ip an IP address, --uri a URI\n"
	      "such as a SPIFFE ID, --email an email address.  --name also takes a\n"
	      "typed name (dns:, ip:, uri:, email:); an untyped --name that is an IP\n"
	      "literal is an IP address, and one containing \"://\" a URI.\n",
	      stdout);
}

/* A profile exists and takes tokens. */
static int
profile_ok(void *arg, const char *name)
{
	const struct mca_profile *p = mca_profiles_find(arg, name);

	return p != NULL && (p->authorization & MCA_AUTH_TOKEN);
}

/* A token as JSON (never the secret). */
static json_t *
token_json(const struct mca_token *t)
{
	json_t *names = json_array();
	char exp[32], created[32];
	size_t i;

	for (i = 0; t->names != NULL && t->names[i] != NULL; i++)
		json_array_append_new(names, json_string(t->names[i]));
	mca_time_rfc3339((time_t)t->expires_at, exp, sizeof(exp));
	mca_time_rfc3339((time_t)t->created_at, created, sizeof(created));
	return json_pack("{s:s, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:b}", "id", t->id, "profile",
	                 t->profile, "names", names, "uses_left", (json_int_t)t->uses_left,
	                 "uses_total", (json_int_t)t->uses_total, "expires_at", exp, "created_at",
	                 created, "created_by", t->created_by, "revoked", t->revoked_at != 0);
}

static int
token_create(struct mca_conf *conf, struct mca_store *st, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"profile", required_argument, NULL, 'p'},
	    {"name", required_argument, NULL, 'n'},
	    {"ip", required_argument, NULL, 'i'},
	    {"uri", required_argument, NULL, 'r'},
	    {"email", required_argument, NULL, 'e'},
	    {"ttl", required_argument, NULL, 't'},
	    {"uses", required_argument, NULL, 'u'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *names[MCA_TOKEN_MAX_NAMES + 1];
	char *owned[MCA_TOKEN_MAX_NAMES + 1]; /* the typed --ip/--uri/--email strings */
	struct mca_token_spec spec;
	struct mca_profiles *profiles = NULL;
	struct mca_token tok;
	struct mca_error err = {0};
	char *secret = NULL, *end = NULL;
	json_t *j = NULL;
	size_t n = 0, i;
	int c, json = 0, status = CLI_FAIL;

	memset(owned, 0, sizeof(owned));
	memset(&spec, 0, sizeof(spec));
	memset(&tok, 0, sizeof(tok));
	spec.ttl = 15 * 60;
	spec.uses = 1;
	spec.names = names;
	spec.created_by = cli_actor();
	names[0] = NULL;
	optind = 0; /* 0, not 1: glibc then also resets its argument permutation */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			spec.profile = optarg;
			break;
		case 'n':
		case 'i':
		case 'r':
		case 'e':
			if (n >= MCA_TOKEN_MAX_NAMES) {
				status = cli_usage_error("token", "at most %d names",
				                         MCA_TOKEN_MAX_NAMES);
				goto out;
			}
			if (c != 'n') {
				owned[n] = mca_typed_name(c == 'i'   ? MCA_NAME_IP
				                          : c == 'r' ? MCA_NAME_URI
				                                     : MCA_NAME_EMAIL,
				                          optarg);
				if (owned[n] == NULL) {
					cli_fail("token create: out of memory");
					goto out;
				}
			}
			names[n] = owned[n] != NULL ? owned[n] : optarg;
			names[++n] = NULL;
			break;
		case 't':
			if (mca_duration_parse(optarg, &spec.ttl, &err) != MCA_OK) {
				status = cli_usage_error("token", "--ttl: %s", err.msg);
				goto out;
			}
			break;
		case 'u':
			spec.uses = strtoll(optarg, &end, 10);
			if (end == optarg || *end != '\0') {
				status = cli_usage_error("token", "--uses takes a number");
				goto out;
			}
			break;
		case 'j':
			json = 1;
			break;
		default:
			status = cli_usage_error("token", "invalid option");
			goto out;
		}
	}
	if (optind < argc) {
		status = cli_usage_error("token", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (spec.profile == NULL) {
		status = cli_usage_error("token", "--profile is required");
		goto out;
	}
	if (mca_profiles_load(conf->templates_dir, &profiles, &err) != MCA_OK ||
	    mca_token_create(st, &spec, profile_ok, profiles, &tok, &secret, &err) != MCA_OK) {
		cli_fail_err("token create", &err);
		goto out;
	}
	if (json) {
		j = token_json(&tok);
		if (j == NULL || json_object_set_new(j, "token", json_string(secret)) != 0) {
			cli_fail("token create: out of memory");
			goto out;
		}
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		puts(secret);
	}
	status = CLI_OK;
out:
	json_decref(j);
	mca_free_secret(secret);
	mca_token_clear(&tok);
	mca_profiles_free(profiles);
	for (i = 0; i < n; i++)
		free(owned[i]);
	return status;
}

struct list_out {
	json_t *arr;
};

static int
list_one(void *arg, const struct mca_token *t)
{
	struct list_out *o = arg;
	char exp[32];

	if (o->arr != NULL)
		return json_array_append_new(o->arr, token_json(t)) != 0;
	mca_time_rfc3339((time_t)t->expires_at, exp, sizeof(exp));
	printf("%-16s  %-16s  %4lld/%-4lld  %s%s  %s%s\n", t->id, t->profile,
	       (long long)t->uses_left, (long long)t->uses_total, exp,
	       t->expires_at <= (int64_t)mca_now() ? " (expired)" : "",
	       t->names[0] ? t->names[0] : "", t->revoked_at ? " REVOKED" : "");
	return 0;
}

int
cli_token(const struct cli_global *g, int argc, char **argv)
{
	struct mca_conf *conf = NULL;
	struct mca_store *st = NULL;
	struct mca_error err = {0};
	struct list_out o = {NULL};
	const char *sub;
	int status, json;

	if (argc < 2)
		return cli_usage_error("token", "create, list or revoke?");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		cli_token_usage();
		return CLI_OK;
	}
	if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "revoke") != 0)
		return cli_usage_error("token", "unknown subcommand '%s'", sub);
	json = strcmp(sub, "list") == 0 && argc == 3 && strcmp(argv[2], "--json") == 0;
	if (strcmp(sub, "list") == 0 && argc > 2 && !json)
		return cli_usage_error("token", "token list takes only --json");
	if (strcmp(sub, "revoke") == 0 && argc != 3)
		return cli_usage_error("token", "token revoke takes one TOKEN_ID");
	if ((status = cli_open(g, &conf, &st)) != CLI_OK)
		return status;
	if (strcmp(sub, "create") == 0) {
		status = token_create(conf, st, argc - 1, argv + 1);
	} else if (strcmp(sub, "revoke") == 0) {
		status = mca_token_revoke(st, argv[2], cli_actor(), &err) == MCA_OK
		             ? CLI_OK
		             : cli_fail_err("token revoke", &err);
	} else {
		if (json && (o.arr = json_array()) == NULL)
			status = cli_fail("token list: out of memory");
		else if (mca_token_list(st, list_one, &o, &err) != MCA_OK)
			status = cli_fail_err("token list", &err);
		else if (json) {
			json_dumpf(o.arr, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		json_decref(o.arr);
	}
	mca_store_close(st);
	mca_conf_free(conf);
	return status;
}
