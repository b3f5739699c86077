-- 0002: domain-control validations (ACME http-01 / dns-01), recorded with
-- their outcome.  The domain-validated profile issues for a name only with
-- a valid row no older than the template's validation_reuse window.
CREATE TABLE validations (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT    NOT NULL,              -- lower-case DNS name (wildcards as "*.x")
	method      TEXT    NOT NULL CHECK (method IN ('http-01', 'dns-01')),
	validated_at INTEGER NOT NULL,
	outcome     TEXT    NOT NULL CHECK (outcome IN ('valid', 'invalid')),
	error       TEXT,
	account     TEXT                           -- ACME account that asked, if any
) STRICT;
CREATE INDEX validations_name ON validations (name, outcome, validated_at);
