#!/bin/sh
# names.sh - names against the real daemon: SAN types are compared as types
# (token names, recorded names, renewal), the 0005 migration types old rows,
# A-labels must decode, and CSRs signed with SHA-1 or MD5 are refused.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db

# ---- migration 0005: rows of schema 4 get their types ---------------------------
# Back to schema 4 as an older mtlsca left it: untyped names in both tables,
# no CRL entries (0006).
srv=$(sqlite3 "$db" "SELECT serial FROM certificates WHERE profile = 'server' LIMIT 1")
[ -n "$srv" ] || fail "init recorded a server certificate"
rows_before=$(sqlite3 "$db" "SELECT count(*), sum(length(der)) FROM certificates")
fp_before=$(sqlite3 "$db" "SELECT fingerprint FROM certificates WHERE serial = '$srv'")
sqlite3 "$db" "UPDATE certificates SET names = '[\"stale\"]' WHERE serial = '$srv';
	INSERT INTO tokens (id, hash, profile, names, uses_left, uses_total, expires_at,
		created_at, created_by)
	VALUES ('00000000000000aa', X'00', 'private',
		'[\"10.0.0.9\",\"spiffe://x.example/y\",\"*.a.example.internal\",\"fd00::2\",\"h.example.internal\"]',
		1, 1, 4000000000, 1, 'test');
	DROP TABLE crl_entries; DROP TABLE crl_issuers;
	ALTER TABLE certificates DROP COLUMN crl_shard;
	PRAGMA user_version = 4;"
"$MTLSCA" -c "$conf" list >/dev/null 2>"$T_DIR/err" || { cat "$T_DIR/err"; fail "list after downgrade"; }
eq "migration: schema version is current" "$(sqlite3 "$db" 'PRAGMA user_version')" \
	"$(ls "$MCA_TOP_SRCDIR/sql/"*.sql | wc -l)"
eq "migration: certificate names retyped from the DER" \
	"$(sqlite3 "$db" "SELECT names FROM certificates WHERE serial = '$srv'")" \
	'["dns:localhost","ip:127.0.0.1","ip:::1"]'
eq "migration: token names typed by the old classification" \
	"$(sqlite3 "$db" "SELECT names FROM tokens WHERE id = '00000000000000aa'")" \
	'["ip:10.0.0.9","uri:spiffe://x.example/y","dns:*.a.example.internal","ip:fd00::2","dns:h.example.internal"]'
sqlite3 "$db" "DELETE FROM tokens WHERE id = '00000000000000aa'"
# ---- migration 0007: the table rebuilt without UNIQUE (fingerprint), every row kept
eq "migration 0007: every row kept" "$(sqlite3 "$db" "SELECT count(*), sum(length(der)) FROM certificates")" \
	"$rows_before"
eq "migration 0007: fingerprint kept" \
	"$(sqlite3 "$db" "SELECT fingerprint FROM certificates WHERE serial = '$srv'")" "$fp_before"
eq "migration 0007: no UNIQUE index left but the primary key's" \
	"$(sqlite3 "$db" "SELECT group_concat(origin) FROM pragma_index_list('certificates') WHERE \"unique\"")" \
	"pk"
eq "migration 0007: the two indexes are back" \
	"$(sqlite3 "$db" "SELECT group_concat(name) FROM (SELECT name FROM pragma_index_list('certificates') WHERE origin = 'c' ORDER BY name)")" \
	"certificates_profile,certificates_status_not_after"

start_daemon "$conf"
https=https://127.0.0.1:$HTTPS_PORT
C="$CURL -sS --max-time 30 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"
B=$T_DIR/body

# post PATH FILE [CURL-ARGS...]: POST the JSON document FILE; body to $B, status to $code
post() {
	_p=$1 _f=$2
	shift 2
	code=$($C -o "$B" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "@$_f" "$@" "$https$_p") || code=000
}
sign() {
	post /v1/sign "$2" -H "Authorization: Bearer $1"
}

# refused DESC STATUS CODE MESSAGE: the last reply is exactly that JSON error
refused() {
	eq "$1: HTTP $2" "$code" "$2"
	eq "$1: error" "$(jq -r .error "$B")" "$3"
	eq "$1: message" "$(jq -r .message "$B")" "$4"
}

# issued LABEL: the last reply is a 201; the certificate goes to T_DIR/LABEL.crt
issued() {
	[ "$code" = 201 ] || {
		cat "$B"
		echo
		fail "$1: HTTP 201 (got $code)"
	}
	ok "$1: HTTP 201"
	jq -j .certificate "$B" >"$T_DIR/$1.crt"
	serial=$("$OPENSSL" x509 -in "$T_DIR/$1.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f)
}

sans() {
	"$OPENSSL" x509 -in "$1" -noout -ext subjectAltName | sed 1d | sed 's/^ *//'
}

# mkcsr NAME SAN [KEY-ARGS] [DIGEST]: key T_DIR/NAME.key, body T_DIR/NAME.json
mkcsr() {
	"$OPENSSL" req -new -noenc ${3:--newkey ec -pkeyopt ec_paramgen_curve:P-256} \
		-keyout "$T_DIR/$1.key" -subj "/O=x" -addext "subjectAltName=$2" \
		${4:+-$4} -out "$T_DIR/$1.csr" >"$T_DIR/req.out" 2>&1 || {
		cat "$T_DIR/req.out"
		fail "openssl req for $1"
	}
	awk 'BEGIN { printf "{\"csr\": \"" } { printf "%s\\n", $0 } END { print "\"}" }' \
		"$T_DIR/$1.csr" >"$T_DIR/$1.json"
}

# token PROFILE ARGS...: a new token from the CLI
token() {
	_pr=$1
	shift
	"$MTLSCA" -c "$conf" token create --profile "$_pr" "$@" 2>"$T_DIR/err" || {
		cat "$T_DIR/err" >&2
		echo "not ok - mtlsca token create $*" >&2
		exit 1
	}
}

# renew LABEL FILE: POST /v1/renew with the certificate T_DIR/LABEL.crt
renew() {
	post /v1/renew "$2" --cert "$T_DIR/$1.crt" --key "$T_DIR/$1.key"
}

# ---- SAN types: an IP is not a URI or a DNS name ---------------------------------
# An untyped --name that is an IP literal is an IP address (cli.md).
tok=$(token private --name fd00::1 --uses 3)
mkcsr uri6 "URI:fd00::1"
sign "$tok" "$T_DIR/uri6.json"
refused "token for IP fd00::1, CSR for URI:fd00::1" 403 policy_violation \
	"auth.name_not_allowed: URI 'fd00::1' is not among the names the token allows"
mkcsr ip6 "IP:fd00::1"
sign "$tok" "$T_DIR/ip6.json"
issued ip6
eq "IP fd00::1: the certificate's SAN" "$(sans "$T_DIR/ip6.crt")" "IP Address:FD00:0:0:0:0:0:0:1"
eq "IP fd00::1: recorded typed" "$(sqlite3 "$db" "SELECT names FROM certificates WHERE serial = '$serial'")" \
	'["ip:fd00::1"]'
code=$($C -o "$B" -w '%{http_code}' $ADMIN "$https/v1/certificates/$serial") || code=000
eq "GET the record: names keep their plain values" "$(jq -c .names "$B")" '["fd00::1"]'
eq "GET the record: typed_names carry the type" "$(jq -c .typed_names "$B")" '["ip:fd00::1"]'
# Renewal keeps the types: the same text as a URI is another name.
renew ip6 "$T_DIR/uri6.json"
refused "renew IP:fd00::1 with a CSR for URI:fd00::1" 403 policy_violation \
	"auth.names_changed: a renewal must keep exactly the names of the certificate it renews"
renew ip6 "$T_DIR/ip6.json"
issued ip6r
eq "renew IP:fd00::1 with a CSR for IP:fd00::1: same SAN" "$(sans "$T_DIR/ip6r.crt")" \
	"IP Address:FD00:0:0:0:0:0:0:1"

tok=$(token private --name 10.0.0.5 --uses 2)
mkcsr dns4 "DNS:10.0.0.5"
sign "$tok" "$T_DIR/dns4.json"
refused "token for IP 10.0.0.5, CSR for DNS:10.0.0.5" 403 policy_violation \
	"name.syntax: DNS name '10.0.0.5' is an IP address; request it as an IP address SAN"
mkcsr ip4 "IP:10.0.0.5"
sign "$tok" "$T_DIR/ip4.json"
issued ip4
renew ip4 "$T_DIR/dns4.json"
refused "renew IP:10.0.0.5 with a CSR for DNS:10.0.0.5" 403 policy_violation \
	"name.syntax: DNS name '10.0.0.5' is an IP address; request it as an IP address SAN"

# Typed minting on the CLI: --ip, --uri, --email, and typed --name prefixes.
"$MTLSCA" -c "$conf" token create --profile private --ip 10.0.0.6 --uri spiffe://example.org/w \
	--name dns:t.example.internal --name '*.w.example.internal' --name uri:https://t.example.internal/x \
	--json >"$T_DIR/tc.json" 2>"$T_DIR/err" || { cat "$T_DIR/err"; fail "token create --ip --uri"; }
eq "token create --ip --uri --name: typed names" "$(jq -c .names "$T_DIR/tc.json")" \
	'["ip:10.0.0.6","uri:spiffe://example.org/w","dns:t.example.internal","dns:*.w.example.internal","uri:https://t.example.internal/x"]'
mkcsr all "IP:10.0.0.6,URI:spiffe://example.org/w,DNS:t.example.internal,DNS:a.w.example.internal"
sign "$(jq -r .token "$T_DIR/tc.json")" "$T_DIR/all.json"
issued all
eq "typed token: every type accepted" "$(sqlite3 "$db" "SELECT names FROM certificates WHERE serial = '$serial'")" \
	'["ip:10.0.0.6","uri:spiffe://example.org/w","dns:t.example.internal","dns:a.w.example.internal"]'
check_fails "token create --ip with a DNS name" 1 \
	"$MTLSCA" -c "$conf" token create --profile private --ip t.example.internal
stderr_has "'t.example.internal' is not an IP address"
check_fails "token create --uri without a scheme" 1 \
	"$MTLSCA" -c "$conf" token create --profile private --uri t.example.internal
stderr_has "'t.example.internal' is not a URI"
check_fails "token create --name with an unknown type prefix" 1 \
	"$MTLSCA" -c "$conf" token create --profile private --name foo:bar
check_fails "token create --email without @" 1 \
	"$MTLSCA" -c "$conf" token create --profile private --email nobody
stderr_has "'nobody' is not an email address"
eq "token list --json shows typed names" \
	"$("$MTLSCA" -c "$conf" token list --json | jq -c --arg i "$(jq -r .id "$T_DIR/tc.json")" '.[] | select(.id == $i) | .names[0]')" \
	'"ip:10.0.0.6"'

# Typed minting over the API; untyped names keep working (an IP literal is an IP).
jq -n '{profile: "private", names: ["ip:10.0.0.7", "10.0.0.8", "uri:spiffe://example.org/api",
	"email:ops@example.internal", "api.example.internal"]}' >"$T_DIR/t.json"
post /v1/tokens "$T_DIR/t.json" $ADMIN
eq "POST /v1/tokens typed and untyped names: 201" "$code" 201
eq "POST /v1/tokens: the reply shows how each name was typed" "$(jq -c .names "$B")" \
	'["ip:10.0.0.7","ip:10.0.0.8","uri:spiffe://example.org/api","email:ops@example.internal","dns:api.example.internal"]'
apitok=$(jq -r .token "$B")
eq "POST /v1/tokens: names stored typed" \
	"$("$MTLSCA" -c "$conf" token list --json | jq -c --arg i "$(jq -r .id "$B")" '.[] | select(.id == $i) | .names')" \
	'["ip:10.0.0.7","ip:10.0.0.8","uri:spiffe://example.org/api","email:ops@example.internal","dns:api.example.internal"]'
mkcsr api "IP:10.0.0.7,IP:10.0.0.8,URI:spiffe://example.org/api,DNS:api.example.internal"
sign "$apitok" "$T_DIR/api.json"
issued api
echo '{"profile": "private", "names": ["ip:api.example.internal"]}' >"$T_DIR/t.json"
post /v1/tokens "$T_DIR/t.json" $ADMIN
refused "POST /v1/tokens ip: with a DNS name" 400 bad_request \
	"name 'ip:api.example.internal': 'api.example.internal' is not an IP address"

# ---- A-labels must decode ------------------------------------------------------------
check_fails "token create for an invalid A-label" 1 \
	"$MTLSCA" -c "$conf" token create --profile public --name xn--a.com
stderr_has "name.bad_alabel"
tok=$(token public --name '*.com' --uses 3)
mkcsr al1 "DNS:xn--a.com"
sign "$tok" "$T_DIR/al1.json"
refused "public: xn--a.com" 403 policy_violation \
	"name.bad_alabel: DNS name 'xn--a.com': label 'xn--a' is not a valid A-label (string contains a disallowed character)"
mkcsr al2 "DNS:xn--zz-zzzzzzzzz.com"
sign "$tok" "$T_DIR/al2.json"
refused "public: xn--zz-zzzzzzzzz.com" 403 policy_violation \
	"name.bad_alabel: DNS name 'xn--zz-zzzzzzzzz.com': label 'xn--zz-zzzzzzzzz' is not a valid A-label (string contains a disallowed character)"
mkcsr al3 "DNS:xn--bcher-kva.com"
sign "$tok" "$T_DIR/al3.json"
issued al3
eq "public: xn--bcher-kva.com issued" "$(sans "$T_DIR/al3.crt")" "DNS:xn--bcher-kva.com"
tok=$(token private --name '*.example.internal')
mkcsr al4 "DNS:xn--a.example.internal"
sign "$tok" "$T_DIR/al4.json"
refused "private: xn--a.example.internal" 403 policy_violation \
	"name.bad_alabel: DNS name 'xn--a.example.internal': label 'xn--a' is not a valid A-label (string contains a disallowed character)"

# ---- weak CSR signatures ------------------------------------------------------------
tok=$(token private --name w.example.internal --uses 3)
mkcsr sha1 "DNS:w.example.internal" "" sha1
sign "$tok" "$T_DIR/sha1.json"
refused "CSR signed ecdsa-with-SHA1" 400 bad_csr \
	"csr.weak_signature: the CSR is signed with ecdsa-with-SHA1; SHA-1 and MD5 signatures are not accepted"
mkcsr md5 "DNS:w.example.internal" "-newkey rsa:2048" md5
sign "$tok" "$T_DIR/md5.json"
refused "CSR signed md5WithRSAEncryption" 400 bad_csr \
	"csr.weak_signature: the CSR is signed with md5WithRSAEncryption; SHA-1 and MD5 signatures are not accepted"
mkcsr rsa1 "DNS:w.example.internal" "-newkey rsa:2048" sha1
sign "$tok" "$T_DIR/rsa1.json"
refused "CSR signed sha1WithRSAEncryption" 400 bad_csr \
	"csr.weak_signature: the CSR is signed with sha1WithRSAEncryption; SHA-1 and MD5 signatures are not accepted"
mkcsr sha256 "DNS:w.example.internal" "-newkey rsa:2048" sha256
sign "$tok" "$T_DIR/sha256.json"
issued sha256
check_fails "mtlsca issue: a SHA-1 CSR" 1 \
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/sha1.csr" --profile private
stderr_has "csr.weak_signature"

stop_daemon
echo "1..$T_NUM"
