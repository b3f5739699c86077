#!/bin/sh
# cli_pg.sh - every mtlsca verb on a CA whose database is PostgreSQL (a
# server of the test's own, pglib.sh): init --database, token create / list
# / revoke, issue, list, show, revoke, crl, and the clients request and
# renew against mtlscad on the same database; each result is read back
# from PostgreSQL.  init refuses a database that already holds a CA, and a
# database without the mtlsca schema is refused with a clear message.
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"
pg_start

d=$T_DIR/ca
init_ca "$d" --database "$PG_URI"
conf=$d/mtlsca.conf
M="$MTLSCA -c $conf"
eq "init: the CA's four certificates in PostgreSQL" "$(psql_ca 'SELECT count(*) FROM certificates')" 4
eq "init: two CRLs in PostgreSQL" "$(psql_ca 'SELECT count(*) FROM crls')" 2
[ ! -e "$d/mtlsca.db" ] || fail "init --database made no SQLite file"
ok "init --database made no SQLite file"
check_fails "init into a database that holds a CA" 1 \
	"$MTLSCA" init --dir "$T_DIR/ca2" --database "$PG_URI" --listen 127.0.0.1:0 \
	--http-listen 127.0.0.1:0 --public-url http://x.test.internal:8080
stderr_has "already holds certificates"

# token create / list / revoke
t1=$($M token create --profile private --name c1.example.internal)
[ -n "$t1" ] || fail "token create printed a token"
ok "token create"
id1=$(psql_ca "SELECT id FROM tokens")
check "token list shows it" sh -c "$M token list | grep -q '$id1'"
check "token revoke" $M token revoke "$id1"
eq "revoked in PostgreSQL" "$(psql_ca "SELECT revoked_at IS NOT NULL FROM tokens WHERE id = '$id1'")" t

# issue, list, show, revoke, crl
"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$T_DIR/i.key" \
	-subj "/CN=i.example.internal" -addext "subjectAltName=DNS:i.example.internal" \
	-out "$T_DIR/i.csr" 2>/dev/null
check "issue" $M issue --csr "$T_DIR/i.csr" --profile private --out "$T_DIR/i.crt"
serial=$("$OPENSSL" x509 -in "$T_DIR/i.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f)
eq "issue: recorded in PostgreSQL" "$(psql_ca "SELECT profile FROM certificates WHERE serial = '$serial'")" private
check "list shows it" sh -c "$M list --profile private | grep -q '^$serial '"
check "show --json" sh -c "$M show '$serial' --json | jq -e '.status == \"valid\"' >/dev/null"
check "revoke" $M revoke "$serial" --reason superseded
eq "revoke: PostgreSQL has it" "$(psql_ca "SELECT status || ' ' || reason FROM certificates WHERE serial = '$serial'")" "revoked superseded"
before=$(psql_ca "SELECT max(number) FROM crls WHERE issuer = 'ca'")
check "crl" $M crl
eq "crl: the next number" "$(psql_ca "SELECT max(number) FROM crls WHERE issuer = 'ca'")" $((before + 1))
check "the published CRL lists the revoked serial" sh -c \
	"'$OPENSSL' crl -in '$d/crl/ca.crl.pem' -noout -text | grep -qi 'Serial Number: *0*$serial'"

# request / renew through mtlscad on the same database
start_daemon "$conf"
t2=$($M token create --profile private --name r.example.internal)
check "request" $M request --server "https://127.0.0.1:$HTTPS_PORT" --ca-file "$d/chain.pem" \
	--token "$t2" --name r.example.internal --key-out "$T_DIR/r.key" --cert-out "$T_DIR/r.crt"
rs=$("$OPENSSL" x509 -in "$T_DIR/r.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f)
eq "request: recorded in PostgreSQL" "$(psql_ca "SELECT count(*) FROM certificates WHERE serial = '$rs'")" 1
check "renew" $M renew --server "https://127.0.0.1:$HTTPS_PORT" --ca-file "$d/chain.pem" \
	--cert "$T_DIR/r.crt" --key "$T_DIR/r.key"
eq "renew: a second certificate for r.example.internal" \
	"$(psql_ca "SELECT count(*) FROM certificates WHERE names LIKE '%r.example.internal%'")" 2
stop_daemon

# A database without the mtlsca schema.
pg_as "$PG_BIN/createdb" -h "$PG_SOCK" -U mca empty
jq --arg db "postgresql:///empty?host=$PG_SOCK&user=mca" '.database = $db' "$conf" >"$d/empty.conf"
check_fails "a database without the mtlsca schema" 1 "$MTLSCA" -c "$d/empty.conf" list
stderr_has "no mtlsca schema in this database"
echo "1..$T_NUM"
