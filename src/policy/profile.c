/* profile.c - loading and validating profile templates. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/objects.h>

#include "common/duration.h"
#include "common/jsonx.h"
#include "common/util.h"
#include "pki/certgen.h"
#include "policy/names.h"
#include "policy/profile.h"

/* Raw fields, borrowed from the json_t. */
struct raw_profile {
	const char *name, *description, *validation_reuse;
	json_t *validity, *key_types, *names, *subject, *key_usage, *extended_key_usage;
	json_t *policies, *authorization;
	long long rsa_min_bits;
	int ski;
};

#define F(m, t, r) MCA_JFIELD(struct raw_profile, m, t, r)
static const struct mca_jfield profile_fields[] = {
    F(name, MCA_J_STRING, 1),
    F(description, MCA_J_STRING, 0),
    F(validity, MCA_J_OBJECT, 1),
    F(key_types, MCA_J_STRARR, 1),
    F(rsa_min_bits, MCA_J_INT, 0),
    F(names, MCA_J_OBJECT, 1),
    F(subject, MCA_J_OBJECT, 0),
    F(key_usage, MCA_J_STRARR, 1),
    F(extended_key_usage, MCA_J_STRARR, 1),
    F(policies, MCA_J_STRARR, 0),
    F(ski, MCA_J_BOOL, 0),
    F(authorization, MCA_J_STRARR, 1),
    F(validation_reuse, MCA_J_STRING, 0),
};
#undef F

struct raw_validity {
	const char *default_, *max;
};
static const struct mca_jfield validity_fields[] = {
    {"default", MCA_J_STRING, 1, offsetof(struct raw_validity, default_)},
    {"max", MCA_J_STRING, 1, offsetof(struct raw_validity, max)},
};

struct raw_names {
	json_t *dns, *ip, *uri;
	int email;
};
/* dns, ip and uri may be null (not allowed): checked by hand below. */

struct raw_dns {
	json_t *allow, *deny;
	int wildcards, public_suffix_required, internal;
};
static const struct mca_jfield dns_fields[] = {
    MCA_JFIELD(struct raw_dns, allow, MCA_J_STRARR, 0),
    MCA_JFIELD(struct raw_dns, deny, MCA_J_STRARR, 0),
    MCA_JFIELD(struct raw_dns, wildcards, MCA_J_BOOL, 0),
    MCA_JFIELD(struct raw_dns, public_suffix_required, MCA_J_BOOL, 0),
    MCA_JFIELD(struct raw_dns, internal, MCA_J_BOOL, 0),
};

struct raw_ip {
	json_t *allow;
	int reserved;
};
static const struct mca_jfield ip_fields[] = {
    MCA_JFIELD(struct raw_ip, allow, MCA_J_STRARR, 0),
    MCA_JFIELD(struct raw_ip, reserved, MCA_J_BOOL, 0),
};

struct raw_uri {
	json_t *allow;
	int spiffe;
};
static const struct mca_jfield uri_fields[] = {
    MCA_JFIELD(struct raw_uri, allow, MCA_J_STRARR, 0),
    MCA_JFIELD(struct raw_uri, spiffe, MCA_J_BOOL, 0),
};

struct raw_subject {
	const char *common_name;
	int cn_as_san;
};
static const struct mca_jfield subject_fields[] = {
    MCA_JFIELD(struct raw_subject, common_name, MCA_J_STRING, 0),
    MCA_JFIELD(struct raw_subject, cn_as_san, MCA_J_BOOL, 0),
};

struct word {
	const char *name;
	unsigned bit;
};

static const struct word key_type_words[] = {
    {"rsa", MCA_PK_RSA},
    {"ec-p256", MCA_PK_P256},
    {"ec-p384", MCA_PK_P384},
    {"ed25519", MCA_PK_ED25519},
    {NULL, 0},
};
static const struct word ku_words[] = {
    {"digitalSignature", MCA_KU_DIGITAL_SIGNATURE},
    {"keyEncipherment", MCA_KU_KEY_ENCIPHERMENT},
    {NULL, 0},
};
static const struct word eku_words[] = {
    {"serverAuth", MCA_EKU_SERVER_AUTH},
    {"clientAuth", MCA_EKU_CLIENT_AUTH},
    {NULL, 0},
};
static const struct word auth_words[] = {
    {"token", MCA_AUTH_TOKEN},
    {"renewal", MCA_AUTH_RENEWAL},
    {"acme-http-01", MCA_AUTH_ACME_HTTP01},
    {"acme-dns-01", MCA_AUTH_ACME_DNS01},
    {NULL, 0},
};

static const char *const reserved_names[] = {"root", "ca", "server", "admin", NULL};

/* OR the bits of an array of words; an unknown word is an error naming `field`. */
static mca_rc
words_bits(const char *path, const char *field, json_t *arr, const struct word *words,
           unsigned *out, struct mca_error *err)
{
	size_t i, w;
	const char *s;

	*out = 0;
	for (i = 0; i < json_array_size(arr); i++) {
		s = json_string_value(json_array_get(arr, i));
		for (w = 0; words[w].name != NULL; w++)
			if (strcmp(words[w].name, s) == 0)
				break;
		if (words[w].name == NULL)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field '%s': unknown value '%.64s'", path, field,
			                     s);
		*out |= words[w].bit;
	}
	return MCA_OK;
}

/*
 * A dotted OID exactly as written: arcs of digits without leading zeros,
 * single dots, first arc 0-2, and OpenSSL reading it back identically
 * (OBJ_txt2obj silently repairs "2.23..140").
 */
static int
oid_strict(const char *oid, const ASN1_OBJECT *o)
{
	char back[128];
	const char *p = oid;
	int arcs = 0;

	if (oid[0] < '0' || oid[0] > '2' || oid[1] != '.')
		return 0;
	while (*p != '\0') {
		if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
		arcs++;
		if (*p == '.') {
			p++;
			if (*p == '\0')
				return 0;
		} else if (*p != '\0') {
			return 0;
		}
	}
	return arcs >= 2 && OBJ_obj2txt(back, sizeof(back), o, 1) > 0 && strcmp(back, oid) == 0;
}

/* Copy a string array into a NULL-terminated malloc'd vector. */
static char **
strv_dup(json_t *arr)
{
	size_t i, n = arr ? json_array_size(arr) : 0;
	char **v = calloc(n + 1, sizeof(char *));

	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = strdup(json_string_value(json_array_get(arr, i)));
		if (v[i] == NULL) {
			while (i > 0)
				free(v[--i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Unpack a nested object, prefixing the error with the file and the parent field. */
static mca_rc
unpack_nested(const char *path, const char *parent, json_t *obj, const struct mca_jfield *f,
              size_t n, void *dst, struct mca_error *err)
{
	struct mca_error e = {0};
	char what[64];

	snprintf(what, sizeof(what), "field '%s'", parent);
	if (mca_json_unpack(obj, f, n, dst, what, &e) != MCA_OK)
		return mca_error_rule(err, MCA_ERR_CONFIG, e.rule, "%s: %s", path, e.msg);
	return MCA_OK;
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static mca_rc
parse_names(const char *path, json_t *names, struct mca_profile *p, struct mca_error *err)
{
	struct raw_dns dns = {NULL, NULL, 0, 0, 0};
	struct raw_ip ip = {NULL, 0};
	struct raw_uri uri = {NULL, 0};
	const char *key;
	json_t *v;
	size_t i;
	mca_rc rc;
	struct mca_error e = {0};

	json_object_foreach(names, key, v)
	{
		if (strcmp(key, "dns") != 0 && strcmp(key, "ip") != 0 && strcmp(key, "uri") != 0 &&
		    strcmp(key, "email") != 0)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'names': unknown field '%.64s'", path, key);
		if (strcmp(key, "email") == 0) {
			if (!json_is_boolean(v))
				return mca_error_set(
				    err, MCA_ERR_CONFIG,
				    "%s: field 'names.email' must be true or false", path);
			p->email = json_is_true(v);
		} else if (!json_is_null(v) && !json_is_object(v)) {
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'names.%s' must be an object or null", path,
			                     key);
		}
	}
	v = json_object_get(names, "dns");
	if (json_is_object(v)) {
		p->dns.allowed = 1;
		if ((rc = unpack_nested(path, "names.dns", v, dns_fields, NFIELDS(dns_fields), &dns,
		                        err)) != MCA_OK)
			return rc;
		p->dns.wildcards = dns.wildcards;
		p->dns.public_suffix_required = dns.public_suffix_required;
		p->dns.internal = dns.internal;
		p->dns.allow = strv_dup(dns.allow);
		p->dns.deny = strv_dup(dns.deny);
		if (p->dns.allow == NULL || p->dns.deny == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		for (i = 0; p->dns.allow[i] != NULL; i++)
			if (mca_dns_check(p->dns.allow[i], 1, 1, &e) != MCA_OK)
				return mca_error_set(err, MCA_ERR_CONFIG,
				                     "%s: field 'names.dns.allow': %s", path,
				                     e.msg);
		for (i = 0; p->dns.deny[i] != NULL; i++)
			if (mca_dns_check(p->dns.deny[i], 1, 1, &e) != MCA_OK)
				return mca_error_set(err, MCA_ERR_CONFIG,
				                     "%s: field 'names.dns.deny': %s", path, e.msg);
	}
	v = json_object_get(names, "ip");
	if (json_is_object(v)) {
		p->ip.allowed = 1;
		if ((rc = unpack_nested(path, "names.ip", v, ip_fields, NFIELDS(ip_fields), &ip,
		                        err)) != MCA_OK)
			return rc;
		p->ip.reserved = ip.reserved;
		p->ip.n_allow = ip.allow ? json_array_size(ip.allow) : 0;
		p->ip.allow = calloc(p->ip.n_allow + 1, sizeof(*p->ip.allow));
		if (p->ip.allow == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		for (i = 0; i < p->ip.n_allow; i++)
			if (!mca_cidr_parse(json_string_value(json_array_get(ip.allow, i)),
			                    &p->ip.allow[i]))
				return mca_error_set(
				    err, MCA_ERR_CONFIG,
				    "%s: field 'names.ip.allow': '%.64s' is not an address or CIDR",
				    path, json_string_value(json_array_get(ip.allow, i)));
	}
	v = json_object_get(names, "uri");
	if (json_is_object(v)) {
		p->uri.allowed = 1;
		if ((rc = unpack_nested(path, "names.uri", v, uri_fields, NFIELDS(uri_fields), &uri,
		                        err)) != MCA_OK)
			return rc;
		p->uri.spiffe = uri.spiffe;
		p->uri.allow = strv_dup(uri.allow);
		if (p->uri.allow == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	if (!p->dns.allowed && !p->ip.allowed && !p->uri.allowed && !p->email)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'names': allows no names at all", path);
	return MCA_OK;
}

static mca_rc
parse_duration(const char *path, const char *field, const char *s, int64_t *out,
               struct mca_error *err)
{
	struct mca_error e = {0};

	if (mca_duration_parse(s, out, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field '%s': %s", path, field, e.msg);
	return MCA_OK;
}

/* The base name of `path` without ".json". */
static int
name_matches_file(const char *path, const char *name)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n < 5 || strcmp(base + n - 5, ".json") != 0)
		return 1; /* not a template file name (e.g. a test buffer): no constraint */
	return strlen(name) == n - 5 && strncmp(base, name, n - 5) == 0;
}

static mca_rc
profile_apply(const char *path, json_t *root, struct mca_profile *p, struct mca_error *err)
{
	struct raw_profile raw;
	struct raw_validity val = {NULL, NULL};
	struct raw_subject subj = {NULL, 0};
	struct mca_error e = {0};
	size_t i;
	mca_rc rc;

	memset(&raw, 0, sizeof(raw));
	raw.rsa_min_bits = 2048;
	if (mca_json_unpack(root, profile_fields, NFIELDS(profile_fields), &raw, path, &e) !=
	    MCA_OK)
		return mca_error_rule(err, MCA_ERR_CONFIG, e.rule, "%s", e.msg);
	if (raw.name[0] == '\0' || strlen(raw.name) > 64 ||
	    strspn(raw.name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(raw.name))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'name': '%.64s' must be 1-64 of a-z 0-9 - _", path,
		                     raw.name);
	for (i = 0; reserved_names[i] != NULL; i++)
		if (strcmp(raw.name, reserved_names[i]) == 0)
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'name': '%s' is reserved for the CA's own "
			                     "certificates",
			                     path, raw.name);
	if (!name_matches_file(path, raw.name))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'name': '%s' does not match the file name", path,
		                     raw.name);
	p->name = strdup(raw.name);
	p->description = strdup(raw.description ? raw.description : "");
	if (p->name == NULL || p->description == NULL)
		return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");

	if ((rc = unpack_nested(path, "validity", raw.validity, validity_fields,
	                        NFIELDS(validity_fields), &val, err)) != MCA_OK ||
	    (rc = parse_duration(path, "validity.default", val.default_, &p->validity_default,
	                         err)) != MCA_OK ||
	    (rc = parse_duration(path, "validity.max", val.max, &p->validity_max, err)) != MCA_OK)
		return rc;
	if (p->validity_default > p->validity_max)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'validity.default': longer than validity.max",
		                     path);

	if ((rc = words_bits(path, "key_types", raw.key_types, key_type_words, &p->key_types,
	                     err)) != MCA_OK)
		return rc;
	if (p->key_types == 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'key_types': empty", path);
	if (raw.rsa_min_bits < 2048 || raw.rsa_min_bits > 16384 || raw.rsa_min_bits % 8 != 0)
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'rsa_min_bits': %lld must be a multiple of 8 in "
		                     "2048..16384",
		                     path, raw.rsa_min_bits);
	p->rsa_min_bits = (int)raw.rsa_min_bits;

	if ((rc = parse_names(path, raw.names, p, err)) != MCA_OK)
		return rc;

	p->cn = MCA_CN_FIRST_SAN;
	if (raw.subject != NULL) {
		if ((rc = unpack_nested(path, "subject", raw.subject, subject_fields,
		                        NFIELDS(subject_fields), &subj, err)) != MCA_OK)
			return rc;
		if (subj.common_name == NULL || strcmp(subj.common_name, "first_san") == 0)
			p->cn = MCA_CN_FIRST_SAN;
		else if (strcmp(subj.common_name, "none") == 0)
			p->cn = MCA_CN_NONE;
		else
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'subject.common_name': '%.32s' is not "
			                     "first_san or none",
			                     path, subj.common_name);
		p->cn_as_san = subj.cn_as_san;
	}

	if ((rc = words_bits(path, "key_usage", raw.key_usage, ku_words, &p->key_usage, err)) !=
	        MCA_OK ||
	    (rc = words_bits(path, "extended_key_usage", raw.extended_key_usage, eku_words,
	                     &p->ext_key_usage, err)) != MCA_OK ||
	    (rc = words_bits(path, "authorization", raw.authorization, auth_words,
	                     &p->authorization, err)) != MCA_OK)
		return rc;
	if (!(p->key_usage & MCA_KU_DIGITAL_SIGNATURE))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'key_usage': digitalSignature is required for TLS",
		                     path);
	if (p->ext_key_usage == 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'extended_key_usage': empty",
		                     path);
	if (p->authorization == 0)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'authorization': empty", path);

	if (raw.policies != NULL && json_array_size(raw.policies) > MCA_PROFILE_MAX_POLICIES)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: field 'policies': at most %d", path,
		                     MCA_PROFILE_MAX_POLICIES);
	for (i = 0; raw.policies != NULL && i < json_array_size(raw.policies); i++) {
		const char *oid = json_string_value(json_array_get(raw.policies, i));
		ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);

		if (o == NULL || !oid_strict(oid, o)) {
			ASN1_OBJECT_free(o);
			return mca_error_set(err, MCA_ERR_CONFIG,
			                     "%s: field 'policies': '%.64s' is not a dotted OID",
			                     path, oid);
		}
		ASN1_OBJECT_free(o);
		p->policies[i] = strdup(oid);
		if (p->policies[i] == NULL)
			return mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
	}
	p->ski = raw.ski;

	p->validation_reuse = 30 * 86400;
	if (raw.validation_reuse != NULL &&
	    (rc = parse_duration(path, "validation_reuse", raw.validation_reuse,
	                         &p->validation_reuse, err)) != MCA_OK)
		return rc;
	if ((p->authorization & MCA_AUTH_ACME) && (p->ip.allowed || p->uri.allowed || p->email))
		return mca_error_set(err, MCA_ERR_CONFIG,
		                     "%s: field 'names': ACME validation covers DNS names only",
		                     path);
	return MCA_OK;
}

mca_rc
mca_profile_parse(const char *path, const char *text, size_t len, struct mca_profile **out,
                  struct mca_error *err)
{
	struct mca_profile *p = NULL;
	struct mca_error e = {0};
	json_t *root = NULL;
	mca_rc rc;

	*out = NULL;
	if (mca_json_parse_object(text, len, &root, path, &e) != MCA_OK)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s", e.msg);
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->path = strdup(path)) == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = profile_apply(path, root, p, err)) != MCA_OK)
		goto out;
	*out = p;
	p = NULL;
out:
	mca_profile_free(p);
	json_decref(root);
	return rc;
}

void
mca_profile_free(struct mca_profile *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->name);
	free(p->description);
	free(p->path);
	strv_free(p->dns.allow);
	strv_free(p->dns.deny);
	free(p->ip.allow);
	strv_free(p->uri.allow);
	for (i = 0; i < MCA_PROFILE_MAX_POLICIES; i++)
		free(p->policies[i]);
	free(p);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

mca_rc
mca_profiles_load(const char *dir, struct mca_profiles **out, struct mca_error *err)
{
	struct mca_profiles *set = NULL;
	DIR *d = NULL;
	struct dirent *de;
	char **files = NULL, **nf, *path = NULL, *text = NULL;
	size_t nfiles = 0, i, len, tlen;
	mca_rc rc = MCA_OK;

	*out = NULL;
	d = opendir(dir);
	if (d == NULL)
		return mca_error_set(err, MCA_ERR_CONFIG, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || de->d_name[0] == '.' || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		nf = realloc(files, (nfiles + 1) * sizeof(char *));
		if (nf == NULL || (nf[nfiles] = strdup(de->d_name)) == NULL) {
			files = nf ? nf : files;
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			goto out;
		}
		files = nf;
		nfiles++;
	}
	if (nfiles > 0)
		qsort(files, nfiles, sizeof(char *), cmp_str);
	set = calloc(1, sizeof(*set));
	if (set == NULL || (set->v = calloc(nfiles + 1, sizeof(*set->v))) == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nfiles; i++) {
		path = mca_path_join(dir, files[i]);
		if (path == NULL) {
			rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = mca_file_read(path, &text, &tlen, err)) != MCA_OK) {
			rc = mca_error_set(err, MCA_ERR_CONFIG, "%s", err ? err->msg : "");
			goto out;
		}
		if ((rc = mca_profile_parse(path, text, tlen, &set->v[set->n], err)) != MCA_OK)
			goto out;
		set->n++;
		free(path);
		free(text);
		path = text = NULL;
	}
	if (set->n == 0) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s: no profile templates (*.json)", dir);
		goto out;
	}
	*out = set;
	set = NULL;
out:
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(path);
	free(text);
	mca_profiles_free(set);
	if (d != NULL)
		closedir(d);
	return rc;
}

const struct mca_profile *
mca_profiles_find(const struct mca_profiles *set, const char *name)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->v[i]->name, name) == 0)
			return set->v[i];
	return NULL;
}

void
mca_profiles_free(struct mca_profiles *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		mca_profile_free(set->v[i]);
	free(set->v);
	free(set);
}

int
mca_dns_pattern_match(const char *pattern, const char *name)
{
	size_t pl, nl;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcmp(pattern, name) == 0;
	if (strcmp(pattern, name) == 0)
		return 1;
	pl = strlen(pattern) - 1; /* ".suffix" */
	nl = strlen(name);
	return nl > pl && strcmp(name + nl - pl, pattern + 1) == 0;
}

int
mca_cidr_parse(const char *text, struct mca_cidr *out)
{
	char buf[64], *slash, *end = NULL;
	unsigned long prefix;

	if (strlen(text) >= sizeof(buf))
		return 0;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (!mca_ip_parse(buf, out->addr, &out->len))
		return 0;
	if (slash == NULL) {
		out->prefix = (unsigned)out->len * 8;
		return 1;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || prefix > out->len * 8)
		return 0;
	out->prefix = (unsigned)prefix;
	return 1;
}

int
mca_cidr_contains(const struct mca_cidr *c, const unsigned char *addr, size_t len)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	unsigned char mask;

	if (len != c->len)
		return 0;
	if (memcmp(c->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (addr[full] & mask);
}
