/*
 * store.h - the database of a CA: certificates, CRLs, tokens, audit,
 * domain validations (ACME's tables: acme.h).
 *
 * The API is shaped by the domain, not by SQL: every function dispatches
 * through the ops table of the backend chosen when the store is opened
 * (backend.h; SQLite in src/store/sqlite/, PostgreSQL in src/store/pg/).
 *
 * One struct mca_store per thread: it owns one database connection (and,
 * for SQLite, the prepared statements of that connection).  Durability:
 * a commit returns only once the database has it on stable storage, which
 * is what "recorded" means in doc/durability.md (SQLite runs in WAL mode
 * with synchronous=FULL; PostgreSQL with synchronous_commit on).  Throughput comes from group
 * commit: callers may make many changes in one mca_store_txn().
 *
 * Strings in records returned by this module are malloc'd and owned by the
 * record; free them with the matching *_free function.
 */
#ifndef MCA_STORE_H
#define MCA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct mca_store;

/* Highest schema version this program knows for SQLite (the number of its migrations). */
int mca_store_schema_latest(void);

/* The same for PostgreSQL (sql/pg/: each backend numbers its own migrations). */
int mca_store_pg_schema_latest(void);

/* Flags of mca_store_open. */
#define MCA_STORE_CREATE 1 /* create the database (SQLite) or its schema (PostgreSQL) */
/*
 * A database server that cannot be reached now is no error: the store
 * connects on first use and after every loss, with back-off, and each
 * use meanwhile fails with a conflict (mca_store_conflict).  The daemon
 * opens its stores so; without it an unreachable server fails the open.
 * SQLite ignores it.
 */
#define MCA_STORE_WAIT 2

/*
 * Open the database named by `database` (the `database` setting of
 * mtlsca.conf), creating it when `flags` has MCA_STORE_CREATE, and bring
 * its schema up to date.  `database` is a file path or "sqlite:PATH"
 * (SQLite), or a "postgresql://" / "postgres://" URI or a libpq keyword
 * string starting with dbname=, host=, hostaddr=, service=, port= or
 * user= (PostgreSQL); any other "SCHEME://" is refused with
 * MCA_ERR_CONFIG.  A database whose schema is newer than this program
 * knows is refused with MCA_ERR_SCHEMA; a missing one (PostgreSQL: a
 * database without the mtlsca schema) without MCA_STORE_CREATE is
 * MCA_ERR_NOTFOUND.  PostgreSQL migrations run under an advisory lock, so
 * instances starting at once migrate once.  Messages never show a
 * password from `database`.
 */
mca_rc mca_store_open(const char *database, int flags, struct mca_store **out,
                      struct mca_error *err);

/*
 * Whether `database` names a database server (PostgreSQL URI or keyword
 * string) rather than a file: such a setting is kept as written by the
 * configuration, never taken for a path.
 */
int mca_store_is_server(const char *database);

/* Close and free (NULL is fine).  An open transaction is rolled back. */
void mca_store_close(struct mca_store *st);

/* The schema version recorded in the database; -1 when unreadable. */
int mca_store_schema_version(struct mca_store *st);

/*
 * Copy what earlier commits logged into the database file (SQLite: a
 * passive WAL checkpoint, which waits for no reader and no writer;
 * PostgreSQL: nothing).  Commits never checkpoint themselves, so that a
 * large row (a CRL of a million entries) costs its commit one write and
 * one fsync of the log, not a second copy on the same request: mtlscad's
 * tick calls this, and SQLite checkpoints when the last connection to the
 * file closes (the CLI without a daemon).  Committed data is durable
 * either way (doc/durability.md).
 */
mca_rc mca_store_checkpoint(struct mca_store *st, struct mca_error *err);

/*
 * Whether the commits of this connection left enough in the log that a
 * checkpoint now is worth its fsync (SQLite: at least MCA_SQ_CKPT_FRAMES
 * frames in the WAL after its last commit).  A steady writer (the group
 * committer) checkpoints between batches when this says so: with the
 * writer paused the checkpoint copies every frame, and the next commit
 * starts the WAL again from its beginning instead of growing the file
 * (a checkpoint racing a steady writer never catches up).  0 for
 * backends without a log to copy.  Same thread rules as the connection.
 */
int mca_store_checkpoint_due(struct mca_store *st);

/* Whether the database answers queries: health checks. */
mca_rc mca_store_ping(struct mca_store *st, struct mca_error *err);

/*
 * Transactions.  mca_store_txn runs `fn` in a transaction that holds the
 * write lock from its start:
 *  - fn returns MCA_OK: commit; the result of the commit is returned;
 *  - fn returns an error: rollback; nothing fn wrote remains; the error
 *    is returned (with fn's message in err);
 *  - the backend reports a conflict with another connection
 *    (mca_store_conflict: the lock could not be had in time, a
 *    serialization failure) at begin, inside fn or at commit: rollback
 *    and run the whole transaction again, fn included, up to
 *    MCA_STORE_TXN_ATTEMPTS times in all, then return the conflict.  fn's
 *    own errors are never retried.  fn must therefore leave nothing
 *    behind that a second run would trip over (reset its outputs at the
 *    start) and must hand a store error on unchanged (same rc, same err)
 *    for the retry to see it.
 * Called from inside fn (or any open transaction): a nested transaction,
 * a savepoint; an error of the inner fn rolls back the inner fn's writes
 * only, and the outer fn decides what to do (nothing is retried there: a
 * conflict goes up to the outermost transaction, which retries).
 * Not reentrant across threads: one store, one thread (see above).
 */
#define MCA_STORE_TXN_ATTEMPTS 3
typedef mca_rc (*mca_store_txn_fn)(struct mca_store *st, void *arg, struct mca_error *err);
mca_rc mca_store_txn(struct mca_store *st, mca_store_txn_fn fn, void *arg, struct mca_error *err);

/* Whether (rc, err) is a retryable conflict with another connection. */
int mca_store_conflict(mca_rc rc, const struct mca_error *err);

/*
 * The rule of a commit whose outcome is unknown: the connection to the
 * database server went away while it committed.  Not retried (the
 * transaction may have landed); nothing was handed out either.
 */
#define MCA_STORE_COMMIT_UNKNOWN "db.commit_unknown"

/*
 * Whether (rc, err) says the database cannot serve now (a conflict past
 * the retries, an unreachable server, a commit cut off): a caller may try
 * again later (HTTP 503), unlike other database errors.
 */
int mca_store_unavailable(mca_rc rc, const struct mca_error *err);

/* One certificate row. */
struct mca_cert_rec {
	char *serial;
	char *issuer;
	char *profile;
	char *subject;
	char *names; /* JSON array text */
	int64_t not_before;
	int64_t not_after;
	unsigned char *der;
	size_t der_len;
	char *fingerprint;
	char *status;       /* "valid" | "revoked" */
	int64_t revoked_at; /* 0 when not revoked */
	char *reason;       /* NULL when not revoked */
	char *requester;
	int64_t created_at;
	int crl_shard; /* the CRL shard its CDP names (ca/publish.h); -1: the complete CRL */
};

/*
 * Insert a certificate and its audit row (`action` by `actor`) in one
 * transaction (nested in the caller's when one is open).  A duplicate
 * serial is MCA_ERR_EXISTS.
 */
mca_rc mca_store_cert_insert(struct mca_store *st, const struct mca_cert_rec *rec,
                             const char *actor, const char *action, struct mca_error *err);

/* Look up one certificate by canonical serial; MCA_ERR_NOTFOUND when absent. */
mca_rc mca_store_cert_get(struct mca_store *st, const char *serial, struct mca_cert_rec **out,
                          struct mca_error *err);

/* Free the strings of `rec` and zero it (rec itself stays). */
void mca_cert_rec_clear(struct mca_cert_rec *rec);

/* Clear and free a heap record (NULL is fine). */
void mca_cert_rec_free(struct mca_cert_rec *rec);

/* Append an audit row (in the caller's transaction, if any). */
mca_rc mca_store_audit(struct mca_store *st, const char *actor, const char *action,
                       const char *serial, const char *detail_json, struct mca_error *err);

/* One audit row as mca_store_audit_list hands it over (valid during the call only). */
struct mca_audit_rec {
	int64_t id, at;
	const char *actor, *action;
	const char *serial; /* NULL when the event concerns no certificate */
	const char *detail; /* JSON object text */
};

/*
 * Call `cb` for every audit row with an id above `after_id` (0: all), in
 * the order of events.  A non-zero return from cb stops the walk (and is
 * not an error).
 */
mca_rc mca_store_audit_list(struct mca_store *st, int64_t after_id,
                            int (*cb)(void *arg, const struct mca_audit_rec *r), void *arg,
                            struct mca_error *err);

/*
 * Highest CRL number stored for `issuer` ("ca", "root", or "ca-K": shard K
 * of the issuing CA's partitioned CRLs); 0 when none.
 */
mca_rc mca_store_crl_max_number(struct mca_store *st, const char *issuer, int64_t *number,
                                struct mca_error *err);

/* Store a published CRL. */
mca_rc mca_store_crl_insert(struct mca_store *st, const char *issuer, int64_t number,
                            int64_t this_update, int64_t next_update, const unsigned char *der,
                            size_t der_len, struct mca_error *err);

/* The newest CRL of `issuer`; MCA_ERR_NOTFOUND when none.  *der is malloc'd. */
struct mca_crl_rec {
	int64_t number, this_update, next_update;
	unsigned char *der;
	size_t der_len;
};
mca_rc mca_store_crl_latest(struct mca_store *st, const char *issuer, struct mca_crl_rec *out,
                            struct mca_error *err);

/*
 * Drop the DER of the CRLs of `issuer` numbered below `below` (their rows,
 * numbers and times stay; der becomes empty): at a million entries each
 * CRL is 42 MB, and only the newest are ever read.
 */
mca_rc mca_store_crl_prune(struct mca_store *st, const char *issuer, int64_t below,
                           struct mca_error *err);

/* mca_store_crl_latest without reading the CRL itself: out->der NULL, der_len its size. */
mca_rc mca_store_crl_latest_info(struct mca_store *st, const char *issuer, struct mca_crl_rec *out,
                                 struct mca_error *err);

/*
 * Call `cb` for every revoked certificate of `issuer_dn` that must be on
 * the next CRL: revoked, and not expired before `since` (the thisUpdate
 * of the previous CRL, so an expired entry stays for exactly one more
 * CRL).  Serials in ascending order.  A non-zero return from cb stops the
 * walk and is returned as MCA_ERR_INTERNAL.
 */
typedef int (*mca_revoked_cb)(void *arg, const char *serial, int64_t revoked_at,
                              const char *reason);
mca_rc mca_store_revoked_foreach(struct mca_store *st, const char *issuer_dn, int64_t since,
                                 mca_revoked_cb cb, void *arg, struct mca_error *err);

/*
 * Pre-encoded CRL entries (pki/crl.h, sql/0006-crl-entries.sql): one per
 * revoked certificate, added in the transaction that revokes it.
 */
struct mca_crl_entry_row {
	const char *issuer; /* issuer DN, as mca_cert_rec.issuer */
	const unsigned char *key;
	size_t key_len; /* mca_crl_entry_encode's key: 1..MCA_CRL_KEY_MAX octets */
	const unsigned char *entry;
	size_t entry_len;  /* its DER: 1..MCA_CRL_ENTRY_MAX octets */
	int64_t not_after; /* of the certificate */
	int shard;         /* -1: none */
	int64_t seq;       /* order of insertion (> 0); set by mca_store_crl_entry_add */
};

/*
 * Add an entry; r->seq is ignored and the row gets the next seq (one more
 * than the highest).  A second entry for the same (issuer, key) is
 * MCA_ERR_EXISTS.  Run it in the revocation's transaction.
 */
mca_rc mca_store_crl_entry_add(struct mca_store *st, const struct mca_crl_entry_row *r,
                               struct mca_error *err);

/*
 * Call `cb` for the entries of `issuer_dn` a CRL must list: not expired
 * before `since` (not_after > since; see mca_store_revoked_foreach), of
 * `shard` (-1: every entry, for the complete CRL), in key order.  The row
 * is valid during the call only.  A non-zero return from cb stops the walk
 * and is returned as MCA_ERR_INTERNAL.
 */
typedef int (*mca_crl_entry_cb)(void *arg, const struct mca_crl_entry_row *r);
mca_rc mca_store_crl_entries(struct mca_store *st, const char *issuer_dn, int shard, int64_t since,
                             mca_crl_entry_cb cb, void *arg, struct mca_error *err);

/*
 * Delete the entries of `issuer_dn` with not_after <= `before` (no CRL can
 * list them again once every CRL's previous thisUpdate is past `before`);
 * *n gets how many.  Seqs are never given again (the backend may keep the
 * row of the highest one for that).
 */
mca_rc mca_store_crl_entries_purge(struct mca_store *st, const char *issuer_dn, int64_t before,
                                   int64_t *n, struct mca_error *err);

/*
 * Call `cb` for every entry of `issuer_dn` with seq > `after`, expired or
 * not, in seq order: what an in-memory copy (ca/crlset.h) lacks.
 */
mca_rc mca_store_crl_entries_after(struct mca_store *st, const char *issuer_dn, int64_t after,
                                   mca_crl_entry_cb cb, void *arg, struct mca_error *err);

/* Filter for mca_store_cert_list; NULL/0 fields do not filter. */
struct mca_cert_filter {
	const char *status; /* "valid" (unexpired, not revoked), "revoked", "expired" */
	const char *profile;
	const char *after; /* serial: list serials greater than this (paging) */
	int64_t now;       /* for valid/expired; 0: the current time */
	int limit;         /* 0: no limit */
};

/*
 * Call `cb` for every certificate matching `f`, in ascending serial order.
 * The record passed to cb is valid only during the call.  A non-zero
 * return from cb stops the walk (and is not an error).
 */
typedef int (*mca_cert_cb)(void *arg, const struct mca_cert_rec *rec);
mca_rc mca_store_cert_list(struct mca_store *st, const struct mca_cert_filter *f, mca_cert_cb cb,
                           void *arg, struct mca_error *err);

/*
 * Whether `name` has a valid domain validation by one of `methods`
 * ("http-01", "dns-01"; NULL-terminated) at or after `since`, obtained by
 * `account` (NULL: by anyone, for the administrator's offline issuance).
 * When found and `method` is not NULL, it gets the method (16 bytes).
 */
mca_rc mca_store_validation_current(struct mca_store *st, const char *name,
                                    const char *const *methods, int64_t since, const char *account,
                                    int *found, char *method, struct mca_error *err);

/* Record one validation attempt (ACME). */
mca_rc mca_store_validation_add(struct mca_store *st, const char *name, const char *method,
                                int64_t at, int valid, const char *error, const char *account,
                                struct mca_error *err);

/* One tokens row (token.h holds the logic). Strings malloc'd by the store. */
struct mca_token_row {
	char *id;
	unsigned char hash[32];
	char *profile;
	char *names; /* JSON array text */
	int64_t uses_left, uses_total, expires_at, created_at, revoked_at;
	char *created_by;
};

void mca_token_row_clear(struct mca_token_row *r);

/* Insert a token row and its audit row ("token.create") in one transaction. */
mca_rc mca_store_token_insert(struct mca_store *st, const struct mca_token_row *r,
                              struct mca_error *err);

/* The row with `id`; MCA_ERR_NOTFOUND when absent. */
mca_rc mca_store_token_get(struct mca_store *st, const char *id, struct mca_token_row *out,
                           struct mca_error *err);

/*
 * Atomically take one use of a live token (uses left, not expired at `now`,
 * not revoked): *taken is 1 when this call got it.
 */
mca_rc mca_store_token_consume(struct mca_store *st, const char *id, int64_t now, int *taken,
                               struct mca_error *err);

/* Give one use back (never above uses_total). */
mca_rc mca_store_token_refund(struct mca_store *st, const char *id, struct mca_error *err);

/* Mark revoked with an audit row; *changed 0 when no live row had that id. */
mca_rc mca_store_token_revoke(struct mca_store *st, const char *id, int64_t now, const char *actor,
                              int *changed, struct mca_error *err);

/* Every token row, newest first. */
mca_rc mca_store_token_list(struct mca_store *st,
                            int (*cb)(void *arg, const struct mca_token_row *r), void *arg,
                            struct mca_error *err);

/* Delete rows that expired before `before`; *n gets the count. */
mca_rc mca_store_token_purge(struct mca_store *st, int64_t before, int *n, struct mca_error *err);

/*
 * Mark a valid certificate revoked (reason name as in doc/cli.md) with an
 * audit row ("revoke" by `actor`) in one transaction.  *changed is 0 when
 * it was revoked already; MCA_ERR_NOTFOUND when there is no such serial.
 * The CRL entry is not added here: ca/revoke.h does that, in the same
 * transaction (mca_store_crl_entry_add); CRLs list only what has one.
 */
mca_rc mca_store_cert_revoke(struct mca_store *st, const char *serial, int64_t now,
                             const char *reason, const char *actor, int *changed,
                             struct mca_error *err);

/* Number of rows in `table` (tests and metrics); -1 on error. */
int64_t mca_store_count(struct mca_store *st, const char *table);

/*
 * Copy every row of every table of `src` (certificates, CRLs with their
 * numbers, the pre-encoded CRL entries with their seqs, tokens, audit rows
 * with their ids, validations, ACME state) into `dst`, which must be empty
 * (MCA_ERR_EXISTS otherwise), in one transaction on `dst` while `src` is
 * held in one of its own (consistent, no writer meanwhile).  Then the row
 * counts of both sides must agree, table by table (MCA_ERR_INTERNAL
 * otherwise); counts[i] gets the rows of table mca_store_copy_table(i).
 * Any two backends.
 */
#define MCA_STORE_COPY_TABLES 11
mca_rc mca_store_copy(struct mca_store *src, struct mca_store *dst,
                      int64_t counts[MCA_STORE_COPY_TABLES], struct mca_error *err);

/* The name of table i of mca_store_copy (NULL past the last). */
const char *mca_store_copy_table(size_t i);

#endif
