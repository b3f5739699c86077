-- 0003: the ACME server (RFC 8555) for profiles that validate domains.
-- Ids are random lower-case hex.  Times are Unix seconds.

-- Replay nonces handed out and not yet used.
CREATE TABLE acme_nonces (
	nonce       TEXT    PRIMARY KEY NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX acme_nonces_expires ON acme_nonces (expires_at);

CREATE TABLE acme_accounts (
	id          TEXT    PRIMARY KEY NOT NULL,
	profile     TEXT    NOT NULL,
	thumbprint  TEXT    NOT NULL,              -- RFC 7638, base64url
	jwk         TEXT    NOT NULL,              -- the public key, JSON
	status      TEXT    NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
	contact     TEXT    NOT NULL DEFAULT '[]', -- JSON array
	created_at  INTEGER NOT NULL,
	UNIQUE (profile, thumbprint)
) STRICT;

CREATE TABLE acme_orders (
	id          TEXT    PRIMARY KEY NOT NULL,
	account     TEXT    NOT NULL REFERENCES acme_accounts (id),
	profile     TEXT    NOT NULL,
	status      TEXT    NOT NULL
	            CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
	expires_at  INTEGER NOT NULL,
	identifiers TEXT    NOT NULL,              -- JSON array of DNS names
	error       TEXT,                          -- JSON problem document
	serial      TEXT,                          -- the certificate, once issued
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX acme_orders_account ON acme_orders (account, created_at);
CREATE INDEX acme_orders_expires ON acme_orders (expires_at);
CREATE INDEX acme_orders_serial ON acme_orders (serial);

CREATE TABLE acme_authzs (
	id          TEXT    PRIMARY KEY NOT NULL,
	order_id    TEXT    NOT NULL REFERENCES acme_orders (id) ON DELETE CASCADE,
	name        TEXT    NOT NULL,              -- without "*."
	wildcard    INTEGER NOT NULL,
	status      TEXT    NOT NULL
	            CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired',
	                              'revoked')),
	expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX acme_authzs_order ON acme_authzs (order_id);

CREATE TABLE acme_challenges (
	id          TEXT    PRIMARY KEY NOT NULL,
	authz       TEXT    NOT NULL REFERENCES acme_authzs (id) ON DELETE CASCADE,
	type        TEXT    NOT NULL CHECK (type IN ('http-01', 'dns-01')),
	token       TEXT    NOT NULL,
	status      TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
	validated_at INTEGER,
	error       TEXT                           -- JSON problem document
) STRICT;
CREATE INDEX acme_challenges_authz ON acme_challenges (authz);
