#!/bin/sh
# valgrind_pg.sh - mtlscad on PostgreSQL (pglib.sh) under valgrind
# (memcheck, --leak-check=full): issuance, renewal, revocation, the
# inventory, CRLs, ACME nonces (shared through the database), and a
# PostgreSQL restart in between (503 while it is away, reconnection after)
# leave no definite or indirect leak and no memory error, on every thread's
# connection included.  Skipped in the sanitizer build (ASan runs there).
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"

if [ "${MCA_SANITIZERS:-no}" = yes ]; then
	echo "skipped: the sanitizer build runs under ASan"
	exit 77
fi
command -v valgrind >/dev/null || fail "valgrind is needed (apt-get install valgrind)"
pg_start

d=$T_DIR/ca
init_ca "$d" --database "$PG_URI"
start_valgrind_daemon "$d/mtlsca.conf"
C="$CURL -s --max-time 60 --cacert $d/chain.pem"
https=https://127.0.0.1:$P

tok=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private --name web.internal --uses 5)
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/k.pem" \
	-subj /CN=web.internal -addext subjectAltName=DNS:web.internal -out "$T_DIR/r.csr" 2>/dev/null
jq -n --rawfile csr "$T_DIR/r.csr" '{csr: $csr}' >"$T_DIR/b.json"
code() { $C -o "$T_DIR/body" -w '%{http_code}' "$@"; }
sign() {
	code -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
		--data @"$T_DIR/b.json" "$https/v1/sign"
}

eq "sign" "$(sign)" 201
jq -r .certificate "$T_DIR/body" >"$T_DIR/c.pem"
eq "renew" "$(code --cert "$T_DIR/c.pem" --key "$T_DIR/k.pem" -X POST "$https/v1/renew")" 201
eq "inventory" "$(code --cert "$d/admin.crt" --key "$d/admin.key" \
	"$https/v1/certificates?limit=2")" 200
s=$("$OPENSSL" x509 -in "$T_DIR/c.pem" -noout -serial | cut -d= -f2)
eq "revoke" "$(code --cert "$d/admin.crt" --key "$d/admin.key" -H 'Content-Type: application/json' \
	-d "{\"serial\":\"$s\"}" "$https/v1/revoke")" 200
eq "CRL" "$(code "http://127.0.0.1:$H/crl")" 200
eq "ACME new-nonce" "$(code -I "$https/acme/domain-validated/new-nonce")" 200
eq "ACME malformed JWS" "$(code -X POST -H 'Content-Type: application/jose+json' -d '{}' \
	"$https/acme/domain-validated/new-account")" 400

pg_stop_fast
ok "PostgreSQL stopped"
eq "sign while PostgreSQL is down" "$(sign)" 503
eq "health while PostgreSQL is down" "$(code "$https/v1/health")" 503
pg_start_again
ok "PostgreSQL started again"
t0=$(date +%s)
while [ "$(code "$https/v1/health")" != 200 ]; do
	[ $(($(date +%s) - t0)) -lt 30 ] || fail "healthy 30 s after PostgreSQL came back"
	sleep 0.5
done
ok "healthy again after PostgreSQL came back"
eq "sign after the restart" "$(sign)" 201

stop_valgrind_daemon
ok "no leaks and no memory errors, PostgreSQL restart included"
echo "1..$T_NUM"
