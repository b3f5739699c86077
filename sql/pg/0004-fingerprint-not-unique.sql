-- 0004: certificates.fingerprint loses its UNIQUE constraint, as SQLite's
-- 0007 (nothing looks a certificate up by fingerprint; the same DER would
-- be the same serial, the primary key; the index cost a random page per
-- issued certificate).
ALTER TABLE certificates DROP CONSTRAINT IF EXISTS certificates_fingerprint_key;
