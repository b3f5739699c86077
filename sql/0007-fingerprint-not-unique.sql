-- 0007: certificates.fingerprint loses its UNIQUE constraint.  Nothing
-- looks a certificate up by fingerprint, and two rows can never share one
-- (the same DER would be the same serial, the primary key), but the index
-- behind the constraint took one random page of a large B-tree per issued
-- certificate: the largest write of every group commit once serials became
-- time-ordered (doc/performance.md).  SQLite drops a column constraint only
-- by rebuilding the table; no other table refers to certificates.
CREATE TABLE certificates_0007 (
	serial      TEXT    PRIMARY KEY NOT NULL,
	issuer      TEXT    NOT NULL,              -- issuer DN (RFC 2253)
	profile     TEXT    NOT NULL,
	subject     TEXT    NOT NULL,              -- subject DN (RFC 2253), '' when empty
	names       TEXT    NOT NULL DEFAULT '[]', -- JSON array of typed SAN strings
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	der         BLOB    NOT NULL,
	fingerprint TEXT    NOT NULL,              -- SHA-256 of der, lower-case hex
	status      TEXT    NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
	revoked_at  INTEGER,
	reason      TEXT,
	requester   TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	crl_shard   INTEGER CHECK (crl_shard IS NULL OR crl_shard >= 0),
	CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;
INSERT INTO certificates_0007 (serial, issuer, profile, subject, names, not_before, not_after,
                               der, fingerprint, status, revoked_at, reason, requester,
                               created_at, crl_shard)
	SELECT serial, issuer, profile, subject, names, not_before, not_after, der, fingerprint,
	       status, revoked_at, reason, requester, created_at, crl_shard
	FROM certificates ORDER BY rowid;
DROP TABLE certificates;
ALTER TABLE certificates_0007 RENAME TO certificates;
CREATE INDEX certificates_status_not_after ON certificates (status, not_after);
CREATE INDEX certificates_profile ON certificates (profile, serial);
