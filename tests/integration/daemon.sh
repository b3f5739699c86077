#!/bin/sh
# daemon.sh - mtlscad on loopback: health, trust endpoints, routing errors,
# TLS versions, SIGTERM, and a one-line error for each broken configuration.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
start_daemon "$d/mtlsca.conf"
https=https://127.0.0.1:$HTTPS_PORT
http=http://127.0.0.1:$HTTP_PORT
C="$CURL -sS --max-time 10 --cacert $d/chain.pem"

eq "GET /v1/health over HTTPS" "$($C "$https/v1/health")" '{"status":"ok"}'
eq "GET /v1/health over HTTP" "$($C "$http/v1/health")" '{"status":"ok"}'
$C "$https/root.pem" | cmp -s - "$d/root.crt" || fail "/root.pem is root.crt"
ok "/root.pem is root.crt"
$C "$http/chain.pem" | cmp -s - "$d/chain.pem" || fail "/chain.pem is chain.pem"
ok "/chain.pem is chain.pem"
$C -o "$T_DIR/ca.der" -w '%{content_type}' "$http/ca.crt" >"$T_DIR/ct"
eq "/ca.crt content type" "$(cat "$T_DIR/ct")" application/pkix-cert
"$OPENSSL" x509 -inform DER -in "$T_DIR/ca.der" | cmp -s - "$d/ca.crt" || fail "/ca.crt is ca.crt"
ok "/ca.crt is the issuing CA in DER (AIA caIssuers target)"
eq "/root.pem content type" "$($C -o /dev/null -w '%{content_type}' "$https/root.pem")" \
	application/x-pem-file

$C "$https/v1/ca" >"$T_DIR/ca.json"
jq -j .root "$T_DIR/ca.json" | cmp -s - "$d/root.crt" || fail "/v1/ca root"
jq -j '.chain[0]' "$T_DIR/ca.json" | cmp -s - "$d/ca.crt" || fail "/v1/ca chain[0] is the issuing CA"
jq -j '.chain[1]' "$T_DIR/ca.json" | cmp -s - "$d/root.crt" || fail "/v1/ca chain[1] is the root"
fp=$("$OPENSSL" x509 -in "$d/root.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
eq "/v1/ca root_fingerprint_sha256" "$(jq -r .root_fingerprint_sha256 "$T_DIR/ca.json")" "$fp"

# Routing errors: JSON bodies, 404, 405 with Allow from the route table.
code=$($C -o "$T_DIR/body" -w '%{http_code}' "$https/no/such/path")
eq "unknown path: 404" "$code" 404
eq "404 error code" "$(jq -r .error "$T_DIR/body")" not_found
code=$($C -o "$T_DIR/body" -D "$T_DIR/hdr" -w '%{http_code}' -X POST "$https/v1/health")
eq "wrong method: 405" "$code" 405
eq "405 error code" "$(jq -r .error "$T_DIR/body")" method_not_allowed
grep -qi "^Allow: GET" "$T_DIR/hdr" || fail "405 carries Allow: GET"
ok "405 carries Allow: GET"
code=$($C -o /dev/null -w '%{http_code}' -I "$https/v1/health")
eq "HEAD on a GET route" "$code" 200

# TLS: 1.2 and 1.3 accepted, 1.1 refused; a client certificate is optional.
eq "TLS 1.2" "$($C --tlsv1.2 --tls-max 1.2 "$https/v1/health")" '{"status":"ok"}'
eq "TLS 1.3" "$($C --tlsv1.3 "$https/v1/health")" '{"status":"ok"}'
# SECLEVEL=0 lets the client offer TLS 1.1, so a refusal is the server's.
"$OPENSSL" s_client -connect "127.0.0.1:$HTTPS_PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
	</dev/null >"$T_DIR/tls11" 2>&1 || true
grep -q "Cipher is (NONE)" "$T_DIR/tls11" || { cat "$T_DIR/tls11"; fail "TLS 1.1 must be refused"; }
"$OPENSSL" s_client -connect "127.0.0.1:$HTTPS_PORT" -tls1_2 </dev/null >"$T_DIR/tls12" 2>&1 || true
grep -q "Cipher is ECDHE" "$T_DIR/tls12" || { cat "$T_DIR/tls12"; fail "TLS 1.2 handshake"; }
ok "TLS 1.1 refused by the server (TLS 1.2 accepted by the same client)"
eq "a client trusting only root.crt verifies the server (chain presented)" \
	"$($CURL -sS --cacert "$d/root.crt" "$https/v1/health")" '{"status":"ok"}'
eq "with the admin client certificate" \
	"$($C --cert "$d/admin.crt" --key "$d/admin.key" "$https/v1/health")" '{"status":"ok"}'
"$OPENSSL" s_client -connect "127.0.0.1:$HTTPS_PORT" -CAfile "$d/chain.pem" </dev/null \
	>"$T_DIR/sclient" 2>&1 || true
grep -q "Verify return code: 0 (ok)" "$T_DIR/sclient" || { cat "$T_DIR/sclient"; fail "s_client verify"; }
grep -q "Acceptable client certificate CA names" "$T_DIR/sclient" ||
	fail "the server requests a client certificate"
ok "the server presents server.crt + issuing CA and requests a client certificate"

# Client identities need clientAuth: a server-only (public profile)
# certificate of this CA is no identity, a private one (clientAuth) is.
for p in public private; do
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T_DIR/$p.key" -subj /CN=app.example.com \
		-addext subjectAltName=DNS:app.example.com -out "$T_DIR/$p.csr" 2>/dev/null
	"$MTLSCA" -c "$d/mtlsca.conf" issue --csr "$T_DIR/$p.csr" --profile "$p" \
		--out "$T_DIR/$p.crt" 2>/dev/null || fail "issue a $p certificate"
done
s_pub=$("$OPENSSL" x509 -in "$T_DIR/public.crt" -noout -serial | cut -d= -f2)
s_priv=$("$OPENSSL" x509 -in "$T_DIR/private.crt" -noout -serial | cut -d= -f2)
eq "a serverAuth-only certificate is no client identity" \
	"$($C -o /dev/null -w '%{http_code}' --cert "$T_DIR/public.crt" --key "$T_DIR/public.key" \
		"$https/v1/certificates/$s_pub")" 401
# A certificate of another CA, even one calling itself admin, is no identity.
init_ca "$T_DIR/other"
eq "another CA's admin certificate is no identity" \
	"$($C -o /dev/null -w '%{http_code}' --cert "$T_DIR/other/admin.crt" \
		--key "$T_DIR/other/admin.key" "$https/v1/certificates")" 401
eq "a clientAuth certificate is one" \
	"$($C -o /dev/null -w '%{http_code}' --cert "$T_DIR/private.crt" --key "$T_DIR/private.key" \
		"$https/v1/certificates/$s_priv")" 200

# The access log has one line per request, without secrets.
wait_for_line "$D_LOG" "access client=127.0.0.1 id=- GET /v1/health status=200" "$D_PID" 100 || fail "access log"
ok "access log line per request"
# A client cannot forge log lines: control characters from the request are replaced.
$C -o /dev/null "$https/x%0aFORGED%20status=200%0d" || true
wait_for_line "$D_LOG" "GET /x?FORGED status=200? status=404" "$D_PID" 100 || fail "log line kept whole"
if grep -q "^FORGED" "$D_LOG"; then fail "a forged log line"; fi
ok "control characters in a request never split a log line"
stop_daemon

# Detached mode: the parent exits 0 once the child serves.
"$MTLSCAD" -c "$d/mtlsca.conf" 2>"$T_DIR/bg.log" || fail "mtlscad detaches"
pid=$(pgrep -f "mtlscad -c $d/mtlsca.conf" | head -n1)
[ -n "$pid" ] || fail "detached mtlscad runs"
T_PIDS="$T_PIDS $pid"
port=$(sed -n 's/.*listening https=[^ ]*:\([0-9]*\) .*/\1/p' "$T_DIR/bg.log")
eq "detached daemon serves" "$($C "https://127.0.0.1:$port/v1/health")" '{"status":"ok"}'
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "detached daemon stops on SIGTERM"
	sleep 0.05
done
ok "detached daemon stops on SIGTERM"

# Broken configurations: non-zero exit, one line naming the file and the problem.
broken() {
	desc=$1
	conf=$2
	want=$3
	# timeout: a config that is wrongly accepted fails the check instead of hanging
	check_fails "broken config: $desc" 1 timeout 60 "$MTLSCAD" -c "$conf" --foreground
	stderr_one_line
	stderr_has "$want"
}
b=$T_DIR/broken
cp -a "$d" "$b"
broken "missing config file" "$b/nope.conf" "$b/nope.conf: No such file"
printf '{"listen": "127.0.0.1:0",\n "database": }' >"$b/bad.conf"
broken "malformed JSON" "$b/bad.conf" "$b/bad.conf: line 2"
jq '. + {"bogus": 1}' "$b/mtlsca.conf" >"$b/unknown.conf"
broken "unknown field" "$b/unknown.conf" "unknown field 'bogus'"
jq '. + {"ca_key": "missing.key"}' "$b/mtlsca.conf" >"$b/nokey.conf"
broken "missing key file" "$b/nokey.conf" "$b/missing.key: No such file"
echo "not a key" >"$b/garbage.key"
chmod 600 "$b/garbage.key"
jq '. + {"ca_key": "garbage.key"}' "$b/mtlsca.conf" >"$b/garbage.conf"
broken "unreadable key" "$b/garbage.conf" "$b/garbage.key: not a PEM private key"
jq '. + {"ca_key": "server.key"}' "$b/mtlsca.conf" >"$b/mismatch.conf"
broken "mismatched key" "$b/mismatch.conf" "$b/server.key: key does not match $b/ca.crt"
jq '. + {"server_cert": "missing.crt"}' "$b/mtlsca.conf" >"$b/nocert.conf"
broken "missing certificate" "$b/nocert.conf" "$b/missing.crt: No such file"
jq '. + {"database": "missing.db"}' "$b/mtlsca.conf" >"$b/nodb.conf"
broken "missing database" "$b/nodb.conf" "$b/missing.db: no such database"
# Certificates must never name a port-0 CRL or caIssuers URL.
jq '. + {"public_url": "http://127.0.0.1:0"}' "$b/mtlsca.conf" >"$b/url0.conf"
broken "public_url with port 0" "$b/url0.conf" \
	"$b/url0.conf: field 'public_url': 'http://127.0.0.1:0' has port 0"
jq '. + {"crl_url": "http://ca.internal:0/crl"}' "$b/mtlsca.conf" >"$b/crl0.conf"
broken "crl_url with port 0" "$b/crl0.conf" \
	"$b/crl0.conf: field 'crl_url': 'http://ca.internal:0/crl' has port 0"
jq 'del(.public_url)' "$b/mtlsca.conf" >"$b/nourl.conf"
broken "http_listen port 0 and no public_url" "$b/nourl.conf" \
	"$b/nourl.conf: field 'http_listen': port 0 needs a public_url (the CRL and caIssuers URLs of certificates)"
sqlite3 "$b/mtlsca.db" "PRAGMA user_version = 999"
broken "database newer than the program" "$b/mtlsca.conf" "newer than this mtlsca"
sqlite3 "$b/mtlsca.db" "PRAGMA user_version = $(ls "$MCA_TOP_SRCDIR"/sql/*.sql | wc -l)"
start_daemon "$d/mtlsca.conf"
jq --arg l "127.0.0.1:$HTTPS_PORT" '. + {"listen": $l}' "$b/mtlsca.conf" >"$b/inuse.conf"
broken "port in use" "$b/inuse.conf" "listen 127.0.0.1:$HTTPS_PORT: Address already in use"
stop_daemon
check_fails "unknown log level is a usage error" 2 "$MTLSCAD" -c "$d/mtlsca.conf" --log-level loud
check_fails "no config is a usage error" 2 env -u MTLSCA_CONFIG "$MTLSCAD"

# Encrypted keys: the daemon starts with the configured passphrase file, and
# fails clearly without it or with a wrong one.
printf 's3cret passphrase\n' >"$T_DIR/pass"
chmod 600 "$T_DIR/pass"
init_ca "$T_DIR/enc" --passphrase-file "$T_DIR/pass"
start_daemon "$T_DIR/enc/mtlsca.conf"
eq "encrypted keys: daemon serves" \
	"$($CURL -sS --cacert "$T_DIR/enc/chain.pem" "https://127.0.0.1:$HTTPS_PORT/v1/health")" \
	'{"status":"ok"}'
stop_daemon
jq 'del(.passphrase_file)' "$T_DIR/enc/mtlsca.conf" >"$T_DIR/enc/nopass.conf"
broken "encrypted key without passphrase_file" "$T_DIR/enc/nopass.conf" \
	"$T_DIR/enc/ca.key: key is encrypted and no passphrase_file is configured"
printf 'wrong\n' >"$T_DIR/wrongpass"
chmod 600 "$T_DIR/wrongpass"
jq --arg p "$T_DIR/wrongpass" '. + {"passphrase_file": $p}' "$T_DIR/enc/mtlsca.conf" \
	>"$T_DIR/enc/wrong.conf"
broken "wrong passphrase" "$T_DIR/enc/wrong.conf" "$T_DIR/enc/ca.key: wrong passphrase"
# Keys encrypted the way older versions did (PBKDF2, 2048 rounds) still load.
cp "$T_DIR/pass" "$T_DIR/pass.out" # openssl reads two lines from one file for in and out
for k in root ca server; do
	"$OPENSSL" pkcs8 -topk8 -v2 aes-256-cbc -iter 2048 -in "$T_DIR/enc/$k.key" \
		-passin "file:$T_DIR/pass" -passout "file:$T_DIR/pass.out" -out "$T_DIR/enc/$k.old" ||
		fail "re-encrypt $k.key with PBKDF2"
	"$OPENSSL" asn1parse -in "$T_DIR/enc/$k.old" | grep -q ":PBKDF2$" || fail "$k.old is PBKDF2"
	mv "$T_DIR/enc/$k.old" "$T_DIR/enc/$k.key"
done
start_daemon "$T_DIR/enc/mtlsca.conf"
eq "keys encrypted with PBKDF2 (older mtlsca): daemon serves" \
	"$($CURL -sS --cacert "$T_DIR/enc/chain.pem" "https://127.0.0.1:$HTTPS_PORT/v1/health")" \
	'{"status":"ok"}'
stop_daemon

echo "1..$T_NUM"
