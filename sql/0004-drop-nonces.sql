-- 0004: ACME nonces are no longer stored.  mtlscad authenticates them with
-- a key held in memory (src/daemon/nonce.h), so a request costs no disk;
-- nonces handed out before the upgrade get badNonce and clients retry.
DROP INDEX acme_nonces_expires;
DROP TABLE acme_nonces;
