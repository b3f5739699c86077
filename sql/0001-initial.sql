-- 0001: the initial schema.
-- Times are Unix seconds (UTC).  Serials are lower-case hex as printed by
-- "openssl x509 -serial", without 0x00 padding.

-- Every certificate this CA (root or issuing CA) ever signed, including the
-- CA certificates and the daemon's own TLS certificate made by "init".
CREATE TABLE certificates (
	serial      TEXT    PRIMARY KEY NOT NULL,
	issuer      TEXT    NOT NULL,              -- issuer DN (RFC 2253)
	profile     TEXT    NOT NULL,
	subject     TEXT    NOT NULL,              -- subject DN (RFC 2253), '' when empty
	names       TEXT    NOT NULL DEFAULT '[]', -- JSON array of SAN strings
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	der         BLOB    NOT NULL,
	fingerprint TEXT    NOT NULL UNIQUE,       -- SHA-256 of der, lower-case hex
	status      TEXT    NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
	revoked_at  INTEGER,
	reason      TEXT,
	requester   TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;
-- CRL building and "list --status": revoked or valid, by expiry.
CREATE INDEX certificates_status_not_after ON certificates (status, not_after);
CREATE INDEX certificates_profile ON certificates (profile, serial);

-- Every CRL ever published.  issuer is 'ca' (signed by the issuing CA) or
-- 'root' (the root's CRL covering the issuing CA level).  CRL numbers are
-- per issuer, strictly increasing, never reused.
CREATE TABLE crls (
	issuer      TEXT    NOT NULL CHECK (issuer IN ('ca', 'root')),
	number      INTEGER NOT NULL CHECK (number > 0),
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL,
	der         BLOB    NOT NULL,
	PRIMARY KEY (issuer, number)
) STRICT;

-- Enrollment tokens.  Only a SHA-256 of the secret is stored.
CREATE TABLE tokens (
	id          TEXT    PRIMARY KEY NOT NULL,
	hash        BLOB    NOT NULL UNIQUE,
	profile     TEXT    NOT NULL,
	names       TEXT    NOT NULL DEFAULT '[]', -- JSON array of names and DNS patterns
	uses_left   INTEGER NOT NULL CHECK (uses_left >= 0),
	uses_total  INTEGER NOT NULL CHECK (uses_total > 0),
	expires_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	created_by  TEXT    NOT NULL,
	revoked_at  INTEGER
) STRICT;
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- Append-only record of every change: issuance, renewal, revocation,
-- token creation, CRL publication.  Written in the same transaction as
-- the change it describes.
CREATE TABLE audit (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	at          INTEGER NOT NULL,
	actor       TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	serial      TEXT,
	detail      TEXT    NOT NULL DEFAULT '{}'  -- JSON object
) STRICT;
CREATE INDEX audit_serial ON audit (serial);
