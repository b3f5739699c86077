#!/bin/sh
# db_copy_pg.sh - "mtlsca db copy --to postgresql://..." moves a populated
# SQLite CA to PostgreSQL (a server of the test's own, pglib.sh): every row
# of every table arrives as it was (certificates with their DER, CRLs with
# their numbers, tokens, audit rows with their ids, validations, ACME
# rows), the counts are printed and agree, a non-empty target is refused,
# and the CA then runs on the copy: "mtlsca crl" there publishes the same
# entries under the next CRL number, which mtlscad on the copy serves, and
# new rows (audit ids, tokens) go on after the copied ones.  The CA has
# two CRL shards ("crl": {"shards": 2}): the pre-encoded CRL entries
# (crl_issuers, crl_entries with their seqs) and each certificate's
# crl_shard are copied too, and mtlscad on the copy serves the complete
# CRL and both shard CRLs with the same entries under higher numbers, and
# a revocation there gets the next seq.
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"
pg_start

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db
sq() { sqlite3 "$db" "$1"; }
jq '.crl.shards = 2' "$conf" >"$T_DIR/conf" && cp "$T_DIR/conf" "$conf"
check "mtlsca crl publishes the two shards" "$MTLSCA" -c "$conf" crl

# ---- populate: certificates (two revoked), tokens, validations, ACME rows ----------
# Five or more, until both shards have one (the shard is the random serial mod 2).
i=1
while [ $i -le 5 ] ||
	[ "$(sq "SELECT count(DISTINCT crl_shard) FROM certificates WHERE profile = 'private'")" -lt 2 ]; do
	[ $i -le 40 ] || fail "40 certificates and all in one shard"
	"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-keyout "$T_DIR/k$i.key" -subj "/CN=h$i.example.internal" \
		-addext "subjectAltName=DNS:h$i.example.internal" -out "$T_DIR/r$i.csr" 2>/dev/null
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/r$i.csr" --profile private \
		--out "$T_DIR/c$i.crt" || fail "issue $i"
	i=$((i + 1))
done
ok "$((i - 1)) certificates issued on SQLite, in both shards"
for i in 1 2; do
	s=$(sq "SELECT serial FROM certificates WHERE subject LIKE 'CN=h$i.%'")
	check "revoke h$i" "$MTLSCA" -c "$conf" revoke "$s"
done
"$MTLSCA" -c "$conf" token create --profile private --name t1.example.internal >/dev/null
"$MTLSCA" -c "$conf" token create --profile private --name t2.example.internal --uses 3 >/dev/null
check "revoke a token" "$MTLSCA" -c "$conf" token revoke "$(sq 'SELECT id FROM tokens WHERE uses_total = 3')"
sq "INSERT INTO validations (name, method, validated_at, outcome, error, account) VALUES
	('v.example.internal', 'http-01', 1700000000, 'valid', NULL, 'acct1'),
	('w.example.internal', 'dns-01', 1700000100, 'invalid', '{\"type\":\"x\"}', NULL);
INSERT INTO acme_accounts (id, profile, thumbprint, jwk, status, contact, created_at)
	VALUES ('acct1', 'domain-validated', 'tp', '{\"kty\":\"EC\"}', 'valid', '[]', 1700000000);
INSERT INTO acme_orders (id, account, profile, status, expires_at, identifiers, created_at)
	VALUES ('ord1', 'acct1', 'domain-validated', 'pending', 1800000000, '[\"v.example.internal\"]',
	        1700000000);
INSERT INTO acme_authzs (id, order_id, name, wildcard, status, expires_at) VALUES
	('az2', 'ord1', 'v.example.internal', 0, 'pending', 1800000000),
	('az1', 'ord1', 'w.example.internal', 0, 'valid', 1800000000);
INSERT INTO acme_challenges (id, authz, type, token, status, validated_at, error) VALUES
	('ch1', 'az2', 'http-01', 'tok1', 'pending', NULL, NULL),
	('ch2', 'az2', 'dns-01', 'tok2', 'valid', 1700000200, NULL);"
ok "validations and ACME rows added"
cp "$d/crl/ca.crl" "$T_DIR/sqlite-ca.crl"
for k in 0 1; do
	cp "$d/crl/ca-$k.crl" "$T_DIR/sqlite-ca-$k.crl"
done
sq_max=$(sq "SELECT max(number) FROM crls WHERE issuer LIKE 'ca%'")
eq "the two revocations have CRL entries on SQLite" "$(sq 'SELECT count(*) FROM crl_entries')" 2

# ---- copy -------------------------------------------------------------------------------
check "mtlsca db copy --to postgresql://..." "$MTLSCA" -c "$conf" db copy --to "$PG_URI"
cp "$T_DIR/out" "$T_DIR/copy.out"
for t in certificates crls crl_issuers crl_entries tokens audit validations acme_accounts \
	acme_orders acme_authzs acme_challenges; do
	n=$(sq "SELECT count(*) FROM $t")
	[ "$n" -gt 0 ] || fail "$t: the SQLite side has rows"
	eq "$t: $n rows in PostgreSQL" "$(psql_ca "SELECT count(*) FROM $t")" "$n"
	grep -q "^$t  *$n rows\$" "$T_DIR/copy.out" || { cat "$T_DIR/copy.out"; fail "$t count printed"; }
done
ok "db copy printed the count of every table"

# Row contents, column by column (blobs as hex).
same() {
	_a=$(sq "$2")
	_b=$(psql_ca "$3")
	[ "$_a" = "$_b" ] || {
		echo "sqlite: $_a"
		echo "pg:     $_b"
		fail "$1: the same on both sides"
	}
	ok "$1: the same on both sides"
}
same "certificates" \
	"SELECT serial, issuer, profile, subject, names, not_before, not_after, lower(hex(der)),
	  fingerprint, status, revoked_at, reason, requester, created_at, crl_shard FROM certificates
	  ORDER BY serial" \
	"SELECT serial, issuer, profile, subject, names, not_before, not_after, encode(der, 'hex'),
	  fingerprint, status, revoked_at, reason, requester, created_at, crl_shard FROM certificates
	  ORDER BY serial"
eq "the certificates name both shards" \
	"$(psql_ca "SELECT count(DISTINCT crl_shard) FROM certificates WHERE profile = 'private'")" 2
same "crl_issuers (ids kept)" "SELECT id, dn FROM crl_issuers ORDER BY id" \
	"SELECT id, dn FROM crl_issuers ORDER BY id"
same "crl_entries (seqs kept)" \
	"SELECT issuer_id, lower(hex(key)), not_after, shard, seq, lower(hex(entry)) FROM crl_entries
	  ORDER BY seq" \
	"SELECT issuer_id, encode(key, 'hex'), not_after, shard, seq, encode(entry, 'hex')
	  FROM crl_entries ORDER BY seq"
same "crls" \
	"SELECT issuer, number, this_update, next_update, lower(hex(der)) FROM crls ORDER BY issuer, number" \
	"SELECT issuer, number, this_update, next_update, encode(der, 'hex') FROM crls ORDER BY issuer, number"
same "tokens" \
	"SELECT id, lower(hex(hash)), profile, names, uses_left, uses_total, expires_at, created_at,
	  created_by, revoked_at FROM tokens ORDER BY id" \
	"SELECT id, encode(hash, 'hex'), profile, names, uses_left, uses_total, expires_at, created_at,
	  created_by, revoked_at FROM tokens ORDER BY id"
same "audit (ids kept)" "SELECT id, at, actor, action, serial, detail FROM audit ORDER BY id" \
	"SELECT id, at, actor, action, serial, detail FROM audit ORDER BY id"
same "validations" "SELECT * FROM validations ORDER BY id" "SELECT * FROM validations ORDER BY id"
same "ACME accounts and orders" \
	"SELECT a.id, a.jwk, o.id, o.status, o.identifiers FROM acme_accounts a JOIN acme_orders o ON o.account = a.id" \
	"SELECT a.id, a.jwk, o.id, o.status, o.identifiers FROM acme_accounts a JOIN acme_orders o ON o.account = a.id"
same "ACME authorizations, in insertion order" "SELECT id, name, status FROM acme_authzs ORDER BY rowid" \
	"SELECT id, name, status FROM acme_authzs ORDER BY seq"
same "ACME challenges, in insertion order" \
	"SELECT id, authz, type, token, status, validated_at FROM acme_challenges ORDER BY rowid" \
	"SELECT id, authz, type, token, status, validated_at FROM acme_challenges ORDER BY seq"

# ---- a second copy is refused: the target is not empty ----------------------------------
check_fails "db copy into a non-empty database" 1 "$MTLSCA" -c "$conf" db copy --to "$PG_URI"
stderr_has "not empty"
check_fails "db copy without --to" 2 "$MTLSCA" -c "$conf" db copy
eq "the refused copy changed nothing" "$(psql_ca 'SELECT count(*) FROM audit')" \
	"$(sq 'SELECT count(*) FROM audit')"

# ---- the CA on the copy ---------------------------------------------------------------
jq --arg db "$PG_URI" '.database = $db' "$conf" >"$d/pg.conf"
check "mtlsca crl on the copy" "$MTLSCA" -c "$d/pg.conf" crl
# The shards first, then the complete CRL: numbers sq_max + 1 .. + 3.
eq "the next CRL numbers follow the copied ones" \
	"$(psql_ca "SELECT issuer || ' ' || max(number) FROM crls WHERE issuer LIKE 'ca%'
		GROUP BY issuer ORDER BY issuer" | tr '\n' ' ')" \
	"ca $((sq_max + 3)) ca-0 $((sq_max + 1)) ca-1 $((sq_max + 2)) "
start_daemon "$d/pg.conf"
entries() {
	"$OPENSSL" crl -inform DER -in "$1" -CAfile "$d/chain.pem" -noout -text 2>"$T_DIR/verify" |
		sed -n 's/^ *Serial Number: *//p' | sort
	grep -q '^verify OK' "$T_DIR/verify" || fail "$1 verifies with the chain"
}
crlnum() {
	_n=$("$OPENSSL" crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//')
	echo $((0x$_n))
}
for k in "" 0 1; do
	name=ca${k:+-$k}
	$CURL -sS --max-time 30 -o "$T_DIR/served.crl" "http://127.0.0.1:$HTTP_PORT/crl${k:+/$k}" ||
		fail "GET /crl${k:+/$k}"
	want=$(psql_ca "SELECT max(number) FROM crls WHERE issuer = '$name'")
	[ "$want" -gt "$sq_max" ] || fail "$name: a number above the copied ones"
	eq "mtlscad on the copy serves $name number $want" "$(crlnum "$T_DIR/served.crl")" "$want"
	eq "... with the same entries as the last $name on SQLite" \
		"$(entries "$T_DIR/served.crl")" "$(entries "$T_DIR/sqlite-$name.crl")"
	[ -n "$k" ] || [ "$(entries "$T_DIR/served.crl" | wc -l)" -eq 2 ] ||
		fail "the CRL lists the two revocations"
done
ok "the complete CRL lists the two revocations"
s3=$(psql_ca "SELECT serial FROM certificates WHERE subject LIKE 'CN=h3.%'")
check "revoke h3 on the copy" "$MTLSCA" -c "$d/pg.conf" revoke "$s3"
eq "its entry gets the seq after the copied ones" \
	"$(psql_ca "SELECT seq FROM crl_entries ORDER BY seq DESC LIMIT 1")" \
	$(($(sq 'SELECT max(seq) FROM crl_entries') + 1))
i=0
until $CURL -sS --max-time 30 -o "$T_DIR/served.crl" "http://127.0.0.1:$HTTP_PORT/crl" &&
	[ "$(entries "$T_DIR/served.crl" | wc -l)" -eq 3 ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "mtlscad on the copy serves the third revocation"
	sleep 0.1
done
ok "mtlscad on the copy serves the third revocation with the two copied ones"
check "a token created on the copy (audit ids go on after the copied ones)" \
	"$MTLSCA" -c "$d/pg.conf" token create --profile private --name t3.example.internal
eq "audit ids stay unique" "$(psql_ca 'SELECT count(*) - count(DISTINCT id) FROM audit')" 0
stop_daemon
echo "1..$T_NUM"
