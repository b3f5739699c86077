-- 0006: pre-encoded CRL entries and partitioned CRLs (doc/crl.md).
--
-- crl_entries: one row per revoked certificate, holding the DER of its
-- revokedCertificates entry (RFC 5280 5.1), written when it is revoked, so
-- that a CRL of a million entries is built by copying bytes in key order
-- and a revocation adds one row.  key: the serial as a length octet and
-- its magnitude, so that key order is numeric order of serials.  seq: the
-- order of insertion, which lets mtlscad keep the entries in memory and
-- read only the rows added since (by itself or by the CLI).  not_after:
-- the certificate's; an entry stays on CRLs until one CRL after it.
-- shard: the CRL shard the certificate's CDP names (certificates.crl_shard).
-- The issuer is a small number (crl_issuers), so that a row of a million is
-- about 80 octets and the seq index about 25: what a CRL reads is small.
CREATE TABLE crl_issuers (
	id          INTEGER PRIMARY KEY,
	dn          TEXT    NOT NULL UNIQUE        -- issuer DN (RFC 2253), as certificates.issuer
) STRICT;
CREATE TABLE crl_entries (
	issuer_id   INTEGER NOT NULL REFERENCES crl_issuers (id),
	key         BLOB    NOT NULL,
	not_after   INTEGER NOT NULL,
	shard       INTEGER CHECK (shard IS NULL OR shard >= 0),
	seq         INTEGER NOT NULL UNIQUE CHECK (seq > 0),
	entry       BLOB    NOT NULL,
	PRIMARY KEY (issuer_id, key)
) STRICT, WITHOUT ROWID;

-- certificates.crl_shard: the shard /crl/{k} of the CRL distribution point
-- put into the certificate at issuance (k = serial mod crl.shards); NULL
-- when its CDP is the complete CRL.
ALTER TABLE certificates ADD COLUMN crl_shard INTEGER CHECK (crl_shard IS NULL OR crl_shard >= 0);

-- The entries of the certificates revoked so far, encoded by mtlsca's own
-- encoder (SQL functions mca_crl_entry, mca_crl_key registered before
-- migrating), in serial order.
INSERT INTO crl_issuers (dn)
	SELECT DISTINCT issuer FROM certificates WHERE status = 'revoked' ORDER BY issuer;
INSERT INTO crl_entries (issuer_id, key, not_after, shard, seq, entry)
	SELECT (SELECT id FROM crl_issuers WHERE dn = issuer), mca_crl_key(serial), not_after,
	       NULL, row_number() OVER (ORDER BY mca_crl_key(serial)),
	       mca_crl_entry(serial, revoked_at, reason)
	FROM certificates WHERE status = 'revoked';

-- crls.issuer: also 'ca-K', the CRL of shard K of the issuing CA.  SQLite
-- cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE crls_new (
	issuer      TEXT    NOT NULL CHECK (issuer IN ('ca', 'root') OR
	                                    (issuer GLOB 'ca-[0-9]*' AND
	                                     substr(issuer, 4) NOT GLOB '*[^0-9]*')),
	number      INTEGER NOT NULL CHECK (number > 0),
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL,
	der         BLOB    NOT NULL,
	PRIMARY KEY (issuer, number)
) STRICT;
INSERT INTO crls_new SELECT issuer, number, this_update, next_update, der FROM crls;
DROP TABLE crls;
ALTER TABLE crls_new RENAME TO crls;
