-- pg/0003: pre-encoded CRL entries and partitioned CRLs, as
-- sql/0006-crl-entries.sql for SQLite (see there and doc/crl.md for what
-- each column means).  The entries of the certificates revoked before are
-- encoded here in SQL, byte for byte what pki/crl.c encodes:
-- SEQUENCE { INTEGER serial, UTCTime (GeneralizedTime from 2050),
-- [reasonCode extension unless unspecified] }; canonical serials are
-- lower-case hex, two digits per octet, of at most 20 octets, so every
-- length fits one octet.

CREATE TABLE crl_issuers (
	id          BIGSERIAL PRIMARY KEY,
	dn          TEXT    NOT NULL UNIQUE
);
CREATE TABLE crl_entries (
	issuer_id   BIGINT  NOT NULL REFERENCES crl_issuers (id),
	key         BYTEA   NOT NULL,
	not_after   BIGINT  NOT NULL,
	shard       INTEGER CHECK (shard IS NULL OR shard >= 0),
	seq         BIGINT  NOT NULL UNIQUE CHECK (seq > 0),
	entry       BYTEA   NOT NULL,
	PRIMARY KEY (issuer_id, key)
);

ALTER TABLE certificates ADD COLUMN crl_shard INTEGER
	CHECK (crl_shard IS NULL OR crl_shard >= 0);

ALTER TABLE crls DROP CONSTRAINT crls_issuer_check;
ALTER TABLE crls ADD CONSTRAINT crls_issuer_check
	CHECK (issuer IN ('ca', 'root') OR issuer ~ '^ca-[0-9]+$');

INSERT INTO crl_issuers (dn)
	SELECT DISTINCT issuer FROM certificates WHERE status = 'revoked' ORDER BY issuer;
WITH r AS (
	SELECT issuer, not_after, revoked_at, decode(serial, 'hex') AS m,
	       CASE reason WHEN 'keyCompromise' THEN 1 WHEN 'caCompromise' THEN 2
	                   WHEN 'affiliationChanged' THEN 3 WHEN 'superseded' THEN 4
	                   WHEN 'cessationOfOperation' THEN 5 WHEN 'privilegeWithdrawn' THEN 9
	                   ELSE 0 END AS code
	FROM certificates WHERE status = 'revoked'
), e AS (
	SELECT issuer, not_after, m,
	       '\x02'::bytea || set_byte('\x00'::bytea, 0, length(m) + (get_byte(m, 0) >> 7))
	           || CASE WHEN get_byte(m, 0) >= 128 THEN '\x00'::bytea ELSE ''::bytea END
	           || m AS int_der,
	       CASE WHEN revoked_at < 2524608000
	            THEN '\x170d'::bytea || convert_to(to_char(to_timestamp(revoked_at)
	                     AT TIME ZONE 'UTC', 'YYMMDDHH24MISS') || 'Z', 'UTF8')
	            ELSE '\x180f'::bytea || convert_to(to_char(to_timestamp(revoked_at)
	                     AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS') || 'Z', 'UTF8')
	       END AS time_der,
	       CASE WHEN code = 0 THEN ''::bytea
	            ELSE '\x300c300a0603551d1504030a01'::bytea || set_byte('\x00'::bytea, 0, code)
	       END AS ext_der
	FROM r
)
INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq, entry)
	SELECT (SELECT id FROM crl_issuers WHERE dn = e.issuer),
	       set_byte('\x00'::bytea, 0, length(m)) || m, not_after, NULL,
	       row_number() OVER (ORDER BY set_byte('\x00'::bytea, 0, length(m)) || m),
	       '\x30'::bytea
	           || set_byte('\x00'::bytea, 0, length(int_der) + length(time_der) + length(ext_der))
	           || int_der || time_der || ext_der
	FROM e;
