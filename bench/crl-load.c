/*
 * crl-load.c - bench only (not installed): put N revoked certificates into
 * a CA's database, as mtlsca would have recorded them (a certificates row,
 * revoked, and its pre-encoded crl_entries row), and write the same
 * entries for the peers: an OpenSSL "ca" index.txt and a list of decimal
 * serials for "cfssl gencrl".
 *
 *   crl-load [--shards K] [--index FILE] [--serials FILE] DB N
 *
 * The rows carry a placeholder DER (the CRL never reads it) and serials of
 * 16 pseudo-random octets (SHA-256 of the row number), positive, as
 * pki/serial.c makes them; every other entry has the reason keyCompromise.
 * With --shards, each row's crl_shard is its serial mod K, as a sharded
 * CA's issuance would have stored it.  One transaction for everything.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "pki/crl.h"

static int
die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "crl-load: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
	return 1;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"shards", required_argument, NULL, 's'},
	    {"index", required_argument, NULL, 'i'},
	    {"serials", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	const char *index_path = NULL, *serials_path = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *cert = NULL, *ent = NULL, *q = NULL;
	FILE *index = NULL, *serials = NULL;
	char *issuer = NULL, serial[41], fp[65], *dec;
	unsigned char h[SHA256_DIGEST_LENGTH], fph[SHA256_DIGEST_LENGTH];
	unsigned char der[MCA_CRL_ENTRY_MAX], key[MCA_CRL_KEY_MAX], seed[8];
	size_t der_len, key_len;
	struct mca_crl_entry e;
	long long n, i, seq0 = 0;
	unsigned shards = 0;
	int64_t now = (int64_t)time(NULL);
	char exp[64], rev[64];
	struct tm tm;
	time_t t;
	BIGNUM *bn = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			shards = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			index_path = optarg;
			break;
		case 'l':
			serials_path = optarg;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr,
		        "usage: crl-load [--shards K] [--index FILE] [--serials FILE] DB N\n");
		return 2;
	}
	n = atoll(argv[optind + 1]);
	if (sqlite3_open(argv[optind], &db) != SQLITE_OK)
		return die(db, "open");
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	/* The leaves' issuer: the subject of the issuing CA's own row. */
	if (sqlite3_prepare_v2(db, "SELECT subject FROM certificates WHERE profile = 'ca'", -1, &q,
	                       NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		return die(db, "finding the issuing CA's row");
	issuer = strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM crl_entries", -1, &q, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		return die(db, "reading crl_entries (schema 6 or later?)");
	seq0 = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO crl_issuers (dn) VALUES (?1)", -1, &q,
	                       NULL) != SQLITE_OK)
		return die(db, "prepare");
	sqlite3_bind_text(q, 1, issuer, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		return die(db, "insert issuer");
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(
	        db,
	        "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,"
	        " not_after, der, fingerprint, status, revoked_at, reason, requester, created_at,"
	        " crl_shard) VALUES (?1, ?2, 'bench', 'CN=bench', '[]', ?3, ?4, x'00', ?5,"
	        " 'revoked', ?6, ?7, 'crl-load', ?3, ?8)",
	        -1, &cert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq,"
	                       " entry) VALUES ((SELECT id FROM crl_issuers WHERE dn = ?1), ?2,"
	                       " ?3, ?4, ?5, ?6)",
	                       -1, &ent, NULL) != SQLITE_OK)
		return die(db, "prepare");
	if ((index_path && (index = fopen(index_path, "w")) == NULL) ||
	    (serials_path && (serials = fopen(serials_path, "w")) == NULL)) {
		perror("crl-load");
		return 1;
	}
	t = (time_t)(now + 30 * 86400);
	gmtime_r(&t, &tm);
	/* UTCTime as index.txt has it: two digits of year */
	snprintf(exp, sizeof(exp), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	t = (time_t)(now - 60);
	gmtime_r(&t, &tm);
	snprintf(rev, sizeof(rev), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (i = 0; i < n; i++) {
		memcpy(seed, &i, sizeof(seed));
		SHA256(seed, sizeof(seed), h);
		h[0] = (unsigned char)((h[0] & 0x7f) | 0x01); /* positive, 16 octets */
		hex(h, 16, serial);
		SHA256(h, 16, fph);
		hex(fph, 32, fp);
		memset(&e, 0, sizeof(e));
		memcpy(e.serial, h, 16);
		e.serial_len = 16;
		e.revoked_at = now - 60;
		e.reason = i % 2 ? MCA_REASON_KEY_COMPROMISE : MCA_REASON_UNSPECIFIED;
		if (mca_crl_entry_encode(&e, der, &der_len, key, &key_len, NULL) != MCA_OK)
			return die(NULL, "encoding an entry");
		sqlite3_bind_text(cert, 1, serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(cert, 2, issuer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(cert, 3, now - 3600);
		sqlite3_bind_int64(cert, 4, now + 30 * 86400);
		sqlite3_bind_text(cert, 5, fp, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(cert, 6, now - 60);
		sqlite3_bind_text(cert, 7, i % 2 ? "keyCompromise" : "unspecified", -1,
		                  SQLITE_STATIC);
		if (shards > 0)
			sqlite3_bind_int(cert, 8, (int)mca_crl_shard_of(h, 16, shards));
		else
			sqlite3_bind_null(cert, 8);
		if (sqlite3_step(cert) != SQLITE_DONE)
			return die(db, "insert certificate");
		sqlite3_reset(cert);
		sqlite3_bind_text(ent, 1, issuer, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ent, 2, key, (int)key_len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ent, 3, now + 30 * 86400);
		if (shards > 0)
			sqlite3_bind_int(ent, 4, (int)mca_crl_shard_of(h, 16, shards));
		else
			sqlite3_bind_null(ent, 4);
		sqlite3_bind_int64(ent, 5, seq0 + i + 1);
		sqlite3_bind_blob(ent, 6, der, (int)der_len, SQLITE_TRANSIENT);
		if (sqlite3_step(ent) != SQLITE_DONE)
			return die(db, "insert crl entry");
		sqlite3_reset(ent);
		if (index != NULL) {
			/* OpenSSL "ca" database: upper-case hex serial */
			for (o = 0; serial[o]; o++)
				if (serial[o] >= 'a')
					serial[o] = (char)(serial[o] - 'a' + 'A');
			fprintf(index, "R\t%s\t%s%s\t%s\tunknown\t/CN=bench\n", exp, rev,
			        i % 2 ? ",keyCompromise" : "", serial);
		}
		if (serials != NULL) {
			bn = BN_bin2bn(h, 16, bn);
			dec = BN_bn2dec(bn);
			fprintf(serials, "%s\n", dec);
			OPENSSL_free(dec);
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return die(db, "commit");
	sqlite3_finalize(cert);
	sqlite3_finalize(ent);
	sqlite3_close(db);
	if (index != NULL && fclose(index) != 0)
		return die(NULL, "writing the index");
	if (serials != NULL && fclose(serials) != 0)
		return die(NULL, "writing the serials");
	BN_free(bn);
	free(issuer);
	return 0;
}
