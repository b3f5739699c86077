#!/bin/sh
# valgrind.sh - the daemon's request path is leak-free and free of memory
# errors under valgrind: enrollment, refusals of each kind, renewal,
# inventory, revocation with CRL publication (two CRL shards), CRL (complete
# and shard, DER and PEM) and metrics, ACME entry points, token minting, the
# OCSP responder (its responder certificate, pre-signed, re-signed after a
# revocation, on demand, GET, 304, malformed), SIGHUP reload, SIGTERM.  (The sanitizer
# build covers the same ground with ASan, so it skips this test.)
set -e
. "$TESTS_SRCDIR/lib.sh"

if [ "${MCA_SANITIZERS:-no}" = yes ]; then
	echo "skipped: the sanitizer build runs under ASan"
	exit 77
fi
command -v valgrind >/dev/null || fail "valgrind is needed (apt-get install valgrind)"

d=$T_DIR/ca
init_ca "$d"
# two CRL shards: the revocation publishes its shard too, /crl/K is served
jq '.crl.shards = 2' "$d/mtlsca.conf" >"$T_DIR/conf" && cp "$T_DIR/conf" "$d/mtlsca.conf"
jq '. + {ocsp: {}}' "$d/mtlsca.conf" >"$d/c.tmp" && mv "$d/c.tmp" "$d/mtlsca.conf"
start_valgrind_daemon "$d/mtlsca.conf"
C="$CURL -s --max-time 60 --cacert $d/chain.pem"
https=https://127.0.0.1:$P

tok=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private --name web.internal --uses 3)
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/k.pem" \
	-subj /CN=web.internal -addext subjectAltName=DNS:web.internal -out "$T_DIR/r.csr" 2>/dev/null
jq -n --rawfile csr "$T_DIR/r.csr" '{csr: $csr}' >"$T_DIR/b.json"
code() { $C -o "$T_DIR/body" -w '%{http_code}' "$@"; }

eq "sign" "$(code -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data @"$T_DIR/b.json" "$https/v1/sign")" 201
jq -r .certificate "$T_DIR/body" >"$T_DIR/c.pem"
eq "garbage CSR" "$(code -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data '{"csr":"garbage"}' "$https/v1/sign")" 400
eq "unknown token" "$(code -H 'Authorization: Bearer bad' -H 'Content-Type: application/json' \
	--data @"$T_DIR/b.json" "$https/v1/sign")" 401
eq "duplicate keys" "$(code -H 'Content-Type: application/json' --data '{"a":1,"a":2}' \
	"$https/v1/sign")" 400
eq "body too large" "$(head -c 100000 /dev/zero | code -H 'Content-Type: application/json' \
	--data-binary @- "$https/v1/sign")" 413
eq "renew" "$(code --cert "$T_DIR/c.pem" --key "$T_DIR/k.pem" -X POST "$https/v1/renew")" 201
eq "inventory" "$(code --cert "$d/admin.crt" --key "$d/admin.key" \
	"$https/v1/certificates?limit=2")" 200
s=$("$OPENSSL" x509 -in "$T_DIR/c.pem" -noout -serial | cut -d= -f2)
eq "revoke" "$(code --cert "$d/admin.crt" --key "$d/admin.key" -H 'Content-Type: application/json' \
	-d "{\"serial\":\"$s\"}" "$https/v1/revoke")" 200
eq "revoked cannot renew" "$(code --cert "$T_DIR/c.pem" --key "$T_DIR/k.pem" -X POST \
	"$https/v1/renew")" 401
# ocsp_req NAME CERT...: an OCSP request for the issuing CA's CERTs into T_DIR/NAME
ocsp_req() {
	_n=$1
	shift
	_a=""
	for _c in "$@"; do _a="$_a -cert $_c"; done
	# shellcheck disable=SC2086
	"$OPENSSL" ocsp -issuer "$d/ca.crt" $_a -no_nonce -reqout "$T_DIR/$_n" >/dev/null 2>&1
}
ocsp_post() {
	code -H 'Content-Type: application/ocsp-request' --data-binary "@$1" "http://127.0.0.1:$H/ocsp"
}
ocsp_req o1 "$T_DIR/c.pem"
ocsp_req o2 "$T_DIR/c.pem" "$d/admin.crt"
eq "OCSP for a revoked certificate (signed)" "$(ocsp_post "$T_DIR/o1")" 200
eq "OCSP again (pre-signed)" "$(ocsp_post "$T_DIR/o1")" 200
eq "OCSP for two certificates (on demand)" "$(ocsp_post "$T_DIR/o2")" 200
printf 'junk' >"$T_DIR/o3"
eq "OCSP malformed" "$(ocsp_post "$T_DIR/o3")" 200
ocsp_get="http://127.0.0.1:$H/ocsp/$(base64 -w0 "$T_DIR/o1" | jq -sRr @uri)"
$C -D "$T_DIR/oh" -o /dev/null "$ocsp_get"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$T_DIR/oh")
eq "OCSP GET 304" "$(code -H "If-None-Match: $etag" "$ocsp_get")" 304
eq "CRL" "$(code "http://127.0.0.1:$H/crl")" 200
eq "CRL PEM" "$(code "http://127.0.0.1:$H/crl.pem")" 200
eq "shard CRL" "$(code "http://127.0.0.1:$H/crl/1")" 200
eq "shard CRL PEM" "$(code "http://127.0.0.1:$H/crl/0.pem")" 200
eq "no such shard" "$(code "http://127.0.0.1:$H/crl/2")" 404
eq "metrics" "$(code "http://127.0.0.1:$H/metrics")" 200
eq "ACME directory" "$(code "$https/acme/domain-validated/directory")" 200
eq "ACME malformed JWS" "$(code -X POST -H 'Content-Type: application/jose+json' -d '{}' \
	"$https/acme/domain-validated/new-account")" 400
eq "ACME new-nonce" "$(code -I "$https/acme/domain-validated/new-nonce")" 200
eq "token by API" "$(code --cert "$d/admin.crt" --key "$d/admin.key" \
	-H 'Content-Type: application/json' -d '{"profile":"private","names":["x.internal"]}' \
	"$https/v1/tokens")" 201
eq "unknown path" "$(code "$https/nope")" 404
kill -HUP "$vpid"
sleep 1
stop_valgrind_daemon
ok "no leaks and no memory errors in the request path"
echo "1..$T_NUM"
