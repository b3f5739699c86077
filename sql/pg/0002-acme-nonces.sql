-- pg/0002: ACME nonces shared by every instance of one database
-- (doc/multi-instance.md).  The instances authenticate nonces with one key
-- kept here (created by the first instance that needs it), and a nonce is
-- spent by inserting it into acme_nonce_uses: the primary key lets one
-- redemption through, on whichever instance it arrives.  Rows go once the
-- nonce has expired (the ACME purge).
CREATE TABLE mca_secrets (
	name        TEXT    PRIMARY KEY,
	value       BYTEA   NOT NULL
);

CREATE TABLE acme_nonce_uses (
	nonce       TEXT    COLLATE "C" PRIMARY KEY,
	expires_at  BIGINT  NOT NULL
);
CREATE INDEX acme_nonce_uses_expires ON acme_nonce_uses (expires_at);
