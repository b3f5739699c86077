#!/bin/sh
# crl_pg.sh - CRLs on PostgreSQL (a server of the test's own, pglib.sh):
# migration pg/0003 encodes the entries of certificates revoked before it
# byte for byte as mtlsca does (compared with the entries the SQLite side
# wrote for the same revocations: UTCTime, reasonCode, a serial with its
# high bit set), and with "crl": {"shards": 2} a revocation on PostgreSQL
# publishes its shard CRL and the complete CRL, which list it.
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"
pg_start

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db

# Four revocations on SQLite, both kinds of reason.
n=0
while [ $n -lt 4 ]; do
	n=$((n + 1))
	"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-keyout "$T_DIR/l$n.key" -subj "/CN=l$n.example.internal" \
		-addext "subjectAltName=DNS:l$n.example.internal" -out "$T_DIR/l$n.csr" 2>/dev/null
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/l$n.csr" --profile private >"$T_DIR/l$n.crt" ||
		fail "issue l$n"
	s=$("$OPENSSL" x509 -in "$T_DIR/l$n.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f)
	r=unspecified
	[ $((n % 2)) = 0 ] && r=keyCompromise
	"$MTLSCA" -c "$conf" revoke "$s" --reason "$r" >/dev/null || fail "revoke l$n"
done
ok "$n revocations on SQLite"

# SQLite -> PostgreSQL, then PostgreSQL back to schema 2 (no CRL entries) and up again.
check "db copy --to PostgreSQL" "$MTLSCA" -c "$conf" db copy --to "$PG_URI"
sq_entries=$(sqlite3 "$db" "SELECT lower(hex(key)) || ' ' || lower(hex(entry)) FROM crl_entries
	ORDER BY key")
eq "db copy: the entries in PostgreSQL" "$(psql_ca "SELECT encode(key, 'hex') || ' ' ||
	encode(entry, 'hex') FROM crl_entries ORDER BY key")" "$sq_entries"
psql_ca "DROP TABLE crl_entries; DROP TABLE crl_issuers;
	ALTER TABLE certificates DROP COLUMN crl_shard;
	ALTER TABLE crls DROP CONSTRAINT crls_issuer_check;
	ALTER TABLE crls ADD CONSTRAINT crls_issuer_check CHECK (issuer IN ('ca', 'root'));
	UPDATE mca_schema SET version = 2" >/dev/null
# A row mtlsca's serials never look like: its high bit set (the INTEGER gets a
# 0x00 first), revoked in 2050 (GeneralizedTime), privilegeWithdrawn (9).
psql_ca "INSERT INTO certificates (serial, issuer, profile, subject, names, not_before,
	not_after, der, fingerprint, status, revoked_at, reason, requester, created_at)
	SELECT 'ff01', issuer, 'private', '', '[]', 1, 2600000000, '\x00', 'f-ff01', 'revoked',
	2524608000, 'privilegeWithdrawn', 't', 1 FROM certificates WHERE profile = 'private'
	LIMIT 1" >/dev/null
# SEQUENCE { INTEGER 00 ff 01, GeneralizedTime 20500101000000Z, { reasonCode 9 } }
want_ff01="3024020300ff01180f$(printf '20500101000000Z' | od -An -tx1 | tr -d ' \n')300c300a0603551d1504030a0109"
jq --arg u "$PG_URI" '.database = $u | .crl.shards = 2' "$conf" >"$T_DIR/pg.conf"
cp "$T_DIR/pg.conf" "$d/pg.conf"
check "mtlsca on the schema-2 database migrates it" "$MTLSCA" -c "$d/pg.conf" list
eq "pg/0003 encodes the earlier revocations as mtlsca does" "$(psql_ca "SELECT
	encode(key, 'hex') || ' ' || encode(entry, 'hex') FROM crl_entries
	WHERE key <> '\x02ff01' ORDER BY key")" "$sq_entries"
eq "pg/0003: high bit, GeneralizedTime, privilegeWithdrawn" "$(psql_ca "SELECT
	encode(key, 'hex') || ' ' || encode(entry, 'hex') FROM crl_entries
	WHERE key = '\x02ff01'")" "02ff01 $want_ff01"
eq "pg/0003: seq in key order" "$(psql_ca "SELECT string_agg(seq::text, ',' ORDER BY key)
	FROM crl_entries")" "$(seq -s, 1 $((n + 1)))"

# A sharded revocation on PostgreSQL: its shard CRL and the complete CRL list it.
"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$T_DIR/p.key" \
	-subj "/CN=p.example.internal" -addext "subjectAltName=DNS:p.example.internal" \
	-out "$T_DIR/p.csr" 2>/dev/null
"$MTLSCA" -c "$d/pg.conf" issue --csr "$T_DIR/p.csr" --profile private >"$T_DIR/p.crt" ||
	fail "issue on PostgreSQL"
sp=$("$OPENSSL" x509 -in "$T_DIR/p.crt" -noout -serial | sed 's/^serial=//')
k=$(psql_ca "SELECT crl_shard FROM certificates WHERE serial = '$(echo "$sp" | tr A-F a-f)'")
case $k in 0 | 1) ok "the certificate's shard ($k) is stored in PostgreSQL" ;; *) fail "shard '$k'" ;; esac
check "revoke on PostgreSQL" "$MTLSCA" -c "$d/pg.conf" revoke "$sp"
psql_ca "SELECT encode(der, 'base64') FROM crls WHERE issuer = 'ca-$k' ORDER BY number DESC
	LIMIT 1" | base64 -d >"$T_DIR/shard.crl"
psql_ca "SELECT encode(der, 'base64') FROM crls WHERE issuer = 'ca' ORDER BY number DESC
	LIMIT 1" | base64 -d >"$T_DIR/full.crl"
for f in shard full; do
	"$OPENSSL" crl -inform DER -in "$T_DIR/$f.crl" -noout -CAfile "$d/chain.pem" -verify \
		>"$T_DIR/v.out" 2>&1 || { cat "$T_DIR/v.out"; fail "$f CRL from PostgreSQL verifies"; }
	"$OPENSSL" crl -inform DER -in "$T_DIR/$f.crl" -noout -text >"$T_DIR/$f.txt"
	grep -q "Serial Number: 0*$sp\$" "$T_DIR/$f.txt" || { cat "$T_DIR/$f.txt"; fail "$f CRL lists $sp"; }
	ok "the $f CRL stored in PostgreSQL verifies and lists the revocation"
done
eq "the complete CRL lists every revocation" "$(grep -c 'Serial Number:' "$T_DIR/full.txt")" $((n + 2))
grep -q "URI:$INIT_PUBLIC_URL/crl/$k" "$T_DIR/shard.txt" || fail "the shard CRL's IDP"
ok "the shard CRL names its shard"
