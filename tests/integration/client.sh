#!/bin/sh
# client.sh - "mtlsca request" and "mtlsca renew" against mtlscad: a key made
# locally and written 0600, a certificate (then its chain) for exactly the
# names asked, renewal keeping or replacing the key, and every refusal
# (used token, policy, revoked certificate, untrusted server, closed port,
# usage) exiting 1 or 2 and leaving the files as they were.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
start_daemon "$conf"
srv=https://127.0.0.1:$HTTPS_PORT
w=$T_DIR/w
mkdir "$w"

# serial_of CERT: canonical serial (lower-case hex, no colons)
serial_of() {
	"$OPENSSL" x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr A-F a-f
}

# sans CERT: the subjectAltName as OpenSSL prints it, one line
sans() {
	"$OPENSSL" x509 -in "$1" -noout -ext subjectAltName | sed -n '2s/^ *//p'
}

# matches KEY CERT: the key's public key is the certificate's
matches() {
	_kp=$("$OPENSSL" pkey -in "$1" -pubout) && _cp=$("$OPENSSL" x509 -in "$2" -noout -pubkey) &&
		[ -n "$_kp" ] && [ "$_kp" = "$_cp" ]
}

# verifies CERT: chains to the root through the issuing CA
verifies() {
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$1"
}

# key_kind KEY: first line of the key's text form ("Private-Key: (256 bit)", "ED25519 ...")
key_kind() {
	"$OPENSSL" pkey -in "$1" -noout -text | head -n1
}

# chain_follows CERT: the file is one certificate then chain.pem (issuing CA, root)
chain_follows() {
	sed '1,/-----END CERTIFICATE-----/d' "$1" | cmp -s - "$d/chain.pem"
}

# token ARGS...: a new token for the private profile
token() {
	"$MTLSCA" -c "$conf" token create --profile private "$@"
}

req() {
	"$MTLSCA" request --server "$srv" --ca-file "$d/chain.pem" "$@"
}

renew() {
	"$MTLSCA" renew --server "$srv" --ca-file "$d/chain.pem" "$@"
}

# unchanged DESCRIPTION: the work directory is as recorded in $T_DIR/before
unchanged() {
	file_state "$w" >"$T_DIR/after"
	cmp -s "$T_DIR/before" "$T_DIR/after" || {
		diff "$T_DIR/before" "$T_DIR/after" || true
		fail "$1"
	}
	ok "$1"
}

# --- request with a one-time token ---------------------------------------------------
tok=$(token --name app.internal --name 10.1.2.3)
check "request with a one-time token" \
	req --token "$tok" --name app.internal --name 10.1.2.3 \
	--key-out "$w/app.key" --cert-out "$w/app.crt"
s1=$(cat "$T_DIR/out")
eq "key file mode" "$(stat -c %a "$w/app.key")" 600
eq "certificate file mode" "$(stat -c %a "$w/app.crt")" 644
grep -q "^-----BEGIN PRIVATE KEY-----" "$w/app.key" || fail "the key is unencrypted PKCS#8 PEM"
ok "the key is unencrypted PKCS#8 PEM"
eq "default key type is EC P-256" "$(key_kind "$w/app.key")" "Private-Key: (256 bit)"
check "the certificate verifies (root + issuing CA)" verifies "$w/app.crt"
eq "SANs are the names asked" "$(sans "$w/app.crt")" "DNS:app.internal, IP Address:10.1.2.3"
eq "subject CN is the first DNS name" \
	"$("$OPENSSL" x509 -in "$w/app.crt" -noout -subject -nameopt RFC2253)" "subject=CN=app.internal"
check "the key matches the certificate" matches "$w/app.key" "$w/app.crt"
eq "the serial printed is the certificate's" "$s1" "$(serial_of "$w/app.crt")"
chain_follows "$w/app.crt" || fail "the certificate is followed by the chain"
ok "the certificate is followed by the chain (issuing CA, root)"
eq "only the key and the certificate were written" "$(ls "$w" | tr '\n' ' ')" "app.crt app.key "
grep -qF -- "$tok" "$T_DIR/out" && fail "the token is not printed"
ok "the token is not printed"

# --- renew, keeping the key ------------------------------------------------------------
key_before=$(sha256sum <"$w/app.key")
check "renew keeping the key" renew --cert "$w/app.crt" --key "$w/app.key"
s2=$(cat "$T_DIR/out")
[ "$s2" != "$s1" ] || fail "renew gives a new serial"
ok "renew gives a new serial"
eq "renew: the serial printed is the new certificate's" "$s2" "$(serial_of "$w/app.crt")"
eq "renew: the key file is unchanged" "$(sha256sum <"$w/app.key")" "$key_before"
check "renew: the key matches the new certificate" matches "$w/app.key" "$w/app.crt"
check "renew: the new certificate verifies" verifies "$w/app.crt"
eq "renew: same names" "$(sans "$w/app.crt")" "DNS:app.internal, IP Address:10.1.2.3"
eq "renew: certificate mode" "$(stat -c %a "$w/app.crt")" 644
chain_follows "$w/app.crt" || fail "renew: the certificate is followed by the chain"
ok "renew: the certificate is followed by the chain"

# --- renew with a new key --------------------------------------------------------------
check "renew --rekey" renew --cert "$w/app.crt" --key "$w/app.key" --rekey
s3=$(cat "$T_DIR/out")
[ "$s3" != "$s2" ] && [ "$s3" != "$s1" ] || fail "renew --rekey gives a new serial"
ok "renew --rekey gives a new serial"
eq "renew --rekey: the serial printed is the new certificate's" "$s3" "$(serial_of "$w/app.crt")"
[ "$(sha256sum <"$w/app.key")" != "$key_before" ] || fail "renew --rekey replaces the key"
ok "renew --rekey replaces the key"
check "renew --rekey: the new key matches the new certificate" matches "$w/app.key" "$w/app.crt"
eq "renew --rekey: key mode" "$(stat -c %a "$w/app.key")" 600
eq "renew --rekey: same key type" "$(key_kind "$w/app.key")" "Private-Key: (256 bit)"
eq "renew --rekey: same names" "$(sans "$w/app.crt")" "DNS:app.internal, IP Address:10.1.2.3"
check "renew --rekey: the new certificate verifies" verifies "$w/app.crt"
eq "renew --rekey: no temporary files left" "$(ls "$w" | tr '\n' ' ')" "app.crt app.key "

# --- refusals by the server ------------------------------------------------------------
file_state "$w" >"$T_DIR/before"
check_fails "second request with a used one-time token" 1 \
	req --token "$tok" --name app.internal --key-out "$w/again.key" --cert-out "$w/again.crt"
stderr_has "mtlsca: request: HTTP 401 token_used: the token has been used up"
stderr_one_line
unchanged "a used token leaves no files"

check_fails "request with an unknown token" 1 \
	req --token not-a-token --name app.internal --key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "HTTP 401 unauthorized"
unchanged "an unknown token leaves no files"

tok2=$(token --name '*.svc.internal' --name spiffe://example.org/ns/prod/sa/web --uses 20)
check_fails "request for a name outside the token" 1 \
	req --token "$tok2" --name web.svc.internal --name evil.internal \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "HTTP 403 policy_violation"
stderr_has "evil.internal"
stderr_one_line
unchanged "a policy violation leaves no files"

check_fails "request with another profile than the token's" 1 \
	req --token "$tok2" --name web.svc.internal --profile public \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "HTTP 403 forbidden"
unchanged "a wrong profile leaves no files"

check_fails "request with a validity over the profile's maximum" 1 \
	req --token "$tok2" --name web.svc.internal --validity 90d \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "HTTP 403 policy_violation"
unchanged "a too long validity leaves no files"

# --- key types, URIs, validity ----------------------------------------------------------
check "request --key-type ed25519" req --token "$tok2" --key-type ed25519 \
	--name web.svc.internal --name spiffe://example.org/ns/prod/sa/web \
	--key-out "$w/ed.key" --cert-out "$w/ed.crt"
eq "ed25519: the serial printed is the certificate's" "$(cat "$T_DIR/out")" \
	"$(serial_of "$w/ed.crt")"
eq "ed25519: the key is Ed25519" "$(key_kind "$w/ed.key")" "ED25519 Private-Key:"
check "ed25519: the key matches the certificate" matches "$w/ed.key" "$w/ed.crt"
check "ed25519: the certificate verifies" verifies "$w/ed.crt"
eq "ed25519: DNS name and URI" "$(sans "$w/ed.crt")" \
	"DNS:web.svc.internal, URI:spiffe://example.org/ns/prod/sa/web"
check "ed25519: renew --rekey" renew --cert "$w/ed.crt" --key "$w/ed.key" --rekey
eq "ed25519: renew --rekey keeps the key type" "$(key_kind "$w/ed.key")" "ED25519 Private-Key:"
check "ed25519: the new key matches the new certificate" matches "$w/ed.key" "$w/ed.crt"
eq "ed25519: renew --rekey keeps the URI" "$(sans "$w/ed.crt")" \
	"DNS:web.svc.internal, URI:spiffe://example.org/ns/prod/sa/web"

check "request --key-type rsa-2048 --validity 1h --profile private" \
	req --token "$tok2" --key-type rsa-2048 --validity 1h --profile private \
	--name db.svc.internal --key-out "$w/rsa.key" --cert-out "$w/rsa.crt"
eq "rsa-2048: the key is RSA 2048" "$(key_kind "$w/rsa.key")" "Private-Key: (2048 bit, 2 primes)"
check "rsa-2048: the key matches the certificate" matches "$w/rsa.key" "$w/rsa.crt"
end=$(date -u -d "$("$OPENSSL" x509 -in "$w/rsa.crt" -noout -enddate | sed 's/^notAfter=//')" +%s)
left=$((end - $(date +%s)))
[ "$left" -gt 3000 ] && [ "$left" -le 3660 ] || fail "--validity 1h: $left s left"
ok "--validity 1h is honoured"
check "rsa-2048: renew --rekey" renew --cert "$w/rsa.crt" --key "$w/rsa.key" --rekey
eq "rsa-2048: renew --rekey keeps the key size" "$(key_kind "$w/rsa.key")" \
	"Private-Key: (2048 bit, 2 primes)"
check "rsa-2048: the new key matches the new certificate" matches "$w/rsa.key" "$w/rsa.crt"

# --- the token from a file or standard input (not visible in the process list) --------
tokf=$(token --name file.internal)
printf '%s\n' "$tokf" >"$T_DIR/token"
check "request --token-file FILE" req --token-file "$T_DIR/token" --name file.internal \
	--key-out "$w/file.key" --cert-out "$w/file.crt"
check "--token-file: the certificate verifies" verifies "$w/file.crt"
eq "--token-file: the names asked" "$(sans "$w/file.crt")" "DNS:file.internal"
toks=$(token --name stdin.internal)
printf '%s\r\nignored second line\n' "$toks" >"$T_DIR/token.stdin"
check "request --token-file - (standard input, CRLF, more lines)" \
	req --token-file - --name stdin.internal --key-out "$w/stdin.key" \
	--cert-out "$w/stdin.crt" <"$T_DIR/token.stdin"
check "--token-file -: the certificate verifies" verifies "$w/stdin.crt"
eq "--token-file -: the names asked" "$(sans "$w/stdin.crt")" "DNS:stdin.internal"
file_state "$w" >"$T_DIR/before"
check_fails "request with a used token from --token-file" 1 \
	req --token-file "$T_DIR/token" --name file.internal --key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "mtlsca: request: HTTP 401 token_used"
check_fails "request with both --token and --token-file" 2 \
	req --token "$tokf" --token-file "$T_DIR/token" --name file.internal \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "mtlsca: --token and --token-file are mutually exclusive"
stderr_one_line
check_fails "request with a missing --token-file" 1 \
	req --token-file "$T_DIR/no-such-token" --name file.internal \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "mtlsca: request: $T_DIR/no-such-token: No such file or directory"
stderr_one_line
: >"$T_DIR/token.empty"
check_fails "request with an empty --token-file" 1 \
	req --token-file "$T_DIR/token.empty" --name file.internal \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "mtlsca: request: $T_DIR/token.empty: no token on the first line"
printf 'two words\n' >"$T_DIR/token.bad"
check_fails "request with a --token-file that holds no token" 1 \
	req --token-file "$T_DIR/token.bad" --name file.internal \
	--key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "mtlsca: request: $T_DIR/token.bad: not a valid token"
stderr_one_line
unchanged "refused --token-file requests write nothing"

# --- refusals on the client side -------------------------------------------------------
tok3=$(token --name one.internal)
echo "not a key" >"$w/taken.key"
file_state "$w" >"$T_DIR/before"
check_fails "request refuses to overwrite an existing key file" 1 \
	req --token "$tok3" --name one.internal --key-out "$w/taken.key" --cert-out "$w/one.crt"
stderr_has "$w/taken.key: already exists"
unchanged "an existing key file is left alone"

"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -noenc -days 1 -subj /CN=other \
	-keyout "$T_DIR/other.key" -out "$T_DIR/other.crt" >/dev/null 2>&1 || fail "make another CA"
check_fails "request to a server the CA file does not vouch for" 1 \
	"$MTLSCA" request --server "$srv" --ca-file "$T_DIR/other.crt" --token "$tok3" \
	--name one.internal --key-out "$w/one.key" --cert-out "$w/one.crt"
stderr_has "SSL certificate problem"
stderr_one_line
unchanged "an untrusted server leaves no files"

check "the refused requests did not spend the one-time token" \
	req --token "$tok3" --name one.internal --key-out "$w/one.key" --cert-out "$w/one.crt"
check "renew --rekey with a trailing slash in --server" \
	"$MTLSCA" renew --server "$srv/" --ca-file "$d/chain.pem" --cert "$w/one.crt" \
	--key "$w/one.key" --rekey
check "the key still matches" matches "$w/one.key" "$w/one.crt"

file_state "$w" >"$T_DIR/before"
check_fails "renew with a key that is not the certificate's" 1 \
	renew --cert "$w/app.crt" --key "$w/one.key" --rekey
stderr_has "does not belong to"
unchanged "a mismatched key changes nothing"

# --- renewal of a revoked certificate --------------------------------------------------
check "revoke the application certificate" "$MTLSCA" -c "$conf" revoke "$s3"
file_state "$w" >"$T_DIR/before"
check_fails "renew --rekey of a revoked certificate" 1 \
	renew --cert "$w/app.crt" --key "$w/app.key" --rekey
stderr_has "mtlsca: renew: HTTP 401 unauthorized"
stderr_one_line
unchanged "a refused renew --rekey leaves the key and certificate unchanged"
check_fails "renew of a revoked certificate" 1 renew --cert "$w/app.crt" --key "$w/app.key"
stderr_has "HTTP 401"
unchanged "a refused renew leaves the certificate unchanged"

grep -qF -- "$tok" "$D_LOG" && fail "the daemon log does not contain the token"
ok "the daemon log does not contain the token"
port=$HTTPS_PORT
stop_daemon

# --- network errors and usage ----------------------------------------------------------
file_state "$w" >"$T_DIR/before"
check_fails "request to a closed port" 1 \
	req --token "$tok2" --name x.svc.internal --key-out "$w/x.key" --cert-out "$w/x.crt"
stderr_has "mtlsca: request: https://127.0.0.1:$port/v1/sign: "
stderr_one_line
check_fails "renew to a closed port" 1 renew --cert "$w/ed.crt" --key "$w/ed.key" --rekey
stderr_has "mtlsca: renew: https://127.0.0.1:$port/v1/renew: "
unchanged "network errors leave the files unchanged"

x="--key-out $w/x.key --cert-out $w/x.crt"
# shellcheck disable=SC2086 # $x is split on purpose
{
	check_fails "request without --token" 2 req --name a.internal $x
	stderr_has "--token or --token-file"
	check_fails "request without --server" 2 \
		"$MTLSCA" request --ca-file "$d/chain.pem" --token t --name a.internal $x
	check_fails "request without --ca-file" 2 \
		"$MTLSCA" request --server "$srv" --token t --name a.internal $x
	check_fails "request without --name" 2 req --token t $x
	stderr_has "at least one --name"
	check_fails "request without --key-out" 2 req --token t --name a.internal --cert-out "$w/x.crt"
	check_fails "request without --cert-out" 2 req --token t --name a.internal --key-out "$w/x.key"
	check_fails "request with an unknown key type" 2 req --token t --name a --key-type dsa $x
	check_fails "request with a bad validity" 2 req --token t --name a --validity soon $x
	check_fails "request over plain HTTP" 2 \
		"$MTLSCA" request --server "http://127.0.0.1:$port" --ca-file "$d/chain.pem" \
		--token t --name a.internal $x
	check_fails "request with an unknown option" 2 req --token t --name a --bogus $x
	check_fails "request with a stray argument" 2 req --token t --name a stray $x
}
check_fails "renew without --cert" 2 renew --key "$w/app.key"
check_fails "renew without --key" 2 renew --cert "$w/app.crt"
check_fails "renew without --server" 2 \
	"$MTLSCA" renew --ca-file "$d/chain.pem" --cert "$w/app.crt" --key "$w/app.key"
check_fails "renew with an unknown option" 2 renew --cert "$w/app.crt" --key "$w/app.key" --x
unchanged "usage errors write nothing"
check "request --help" "$MTLSCA" request --help
grep -q "^usage: mtlsca request" "$T_DIR/out" || fail "request --help prints the usage"
ok "request --help prints the usage"
check "renew --help" "$MTLSCA" renew --help
grep -q "^usage: mtlsca renew" "$T_DIR/out" || fail "renew --help prints the usage"
ok "renew --help prints the usage"

echo "1..$T_NUM"
