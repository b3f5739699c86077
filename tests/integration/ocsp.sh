#!/bin/sh
# ocsp.sh - the OCSP responder (RFC 6960, RFC 5019) end to end: leaves carry
# its URL; "openssl ocsp" and GnuTLS "ocsptool" get good, revoked (with the
# reason, within 1 s of "mtlsca revoke" and of POST /v1/revoke returning)
# and unknown, signed by a delegated responder certificate that verifies;
# the issuing CA's own certificate through the root; GET with caching
# headers and 304; malformed, truncated, oversized, foreign and too-many
# requests get an OCSP error or a 4xx and never a crash; nonces with
# "ocsp.nonce", rate limited; the metrics; "mtlsca ocsp"; a restarted
# signer process gets a new responder certificate; and a real nginx with
# ssl_ocsp (no ssl_crl) admits a client certificate, then refuses it once
# revoked, without a reload.
set -e
. "$TESTS_SRCDIR/lib.sh"

NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] ||
	fail "nginx not found at $NGINX: install nginx-light (tools/install-deps) or set NGINX"
OCSPTOOL=${OCSPTOOL:-ocsptool}
command -v "$OCSPTOOL" >/dev/null 2>&1 || fail "ocsptool not found: install gnutls-bin"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
# ocsp_conf JSON: set the config's "ocsp" object
ocsp_conf() {
	jq --argjson o "$1" '. + {ocsp: $o}' "$conf" >"$conf.tmp" && mv "$conf.tmp" "$conf"
}
ocsp_conf '{}'
start_daemon "$conf"
http=http://127.0.0.1:$HTTP_PORT
https=https://127.0.0.1:$HTTPS_PORT
url=$http/ocsp
C="$CURL -sS --max-time 10 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"

# ---------------------------------------------------------------- helpers

# issue_cli NAME: offline issue of T_DIR/NAME.crt (profile private) with key NAME.key
issue_cli() {
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T_DIR/$1.key" -subj "/CN=$1.example.internal" \
		-addext "subjectAltName=DNS:$1.example.internal" \
		-out "$T_DIR/$1.csr" >"$T_DIR/req.out" 2>&1 || fail "CSR for $1"
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/$1.csr" --profile private \
		>"$T_DIR/$1.crt" 2>"$T_DIR/err" || {
		cat "$T_DIR/err"
		fail "mtlsca issue $1"
	}
}

# serial_of CERT: canonical serial (lower-case hex)
serial_of() {
	"$OPENSSL" x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr A-F a-f
}

# ask CERT [ARGS...]: "openssl ocsp" for CERT of the issuing CA into T_DIR/ask.out
# (status 0 and "Response verify OK" required)
ask() {
	_c=$1
	shift
	"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$_c" -url "$url" -CAfile "$d/chain.pem" \
		"$@" >"$T_DIR/ask.out" 2>&1 || {
		cat "$T_DIR/ask.out"
		fail "openssl ocsp for $_c"
	}
	grep -q "^Response verify OK" "$T_DIR/ask.out" || {
		cat "$T_DIR/ask.out"
		fail "the response for $_c verifies"
	}
}

# status_of CERT: good, revoked or unknown as openssl ocsp reports it
status_of() {
	ask "$1" -no_nonce
	sed -n "s|^$1: ||p" "$T_DIR/ask.out"
}

# post_raw FILE: POST FILE as an OCSP request; the response in T_DIR/raw.der, status printed
post_raw() {
	$CURL -s --max-time 10 -o "$T_DIR/raw.der" -w '%{http_code}' \
		-H 'Content-Type: application/ocsp-request' --data-binary "@$1" "$url" || true
}

# resp_status: the OCSPResponseStatus of T_DIR/raw.der as openssl names it
resp_status() {
	"$OPENSSL" ocsp -respin "$T_DIR/raw.der" -resp_text -noverify 2>&1 |
		sed -n 's/.*OCSP Response Status: \([a-zA-Z]*\).*/\1/p; s/^Responder Error: \([a-zA-Z]*\).*/\1/p' |
		head -n1
}

# alive: the daemon still answers
alive() {
	kill -0 "$D_PID" 2>/dev/null || { cat "$D_LOG"; fail "mtlscad is alive"; }
	[ "$($C -o /dev/null -w '%{http_code}' "$http/v1/health")" = 200 ] ||
		fail "mtlscad answers /v1/health"
}

# ---------------------------------------------------------------- good, AIA, verification

issue_cli a1
issue_cli a2
"$OPENSSL" x509 -in "$T_DIR/a1.crt" -noout -ext authorityInfoAccess >"$T_DIR/aia.txt"
grep -q "OCSP - URI:$INIT_PUBLIC_URL/ocsp" "$T_DIR/aia.txt" ||
	{ cat "$T_DIR/aia.txt"; fail "the leaf carries the OCSP URL in AIA"; }
grep -q "CA Issuers - URI:$INIT_PUBLIC_URL/ca.crt" "$T_DIR/aia.txt" ||
	{ cat "$T_DIR/aia.txt"; fail "the leaf keeps caIssuers in AIA"; }
ok "leaves carry AIA OCSP $INIT_PUBLIC_URL/ocsp and caIssuers"
eq "openssl ocsp: a fresh certificate is good" "$(status_of "$T_DIR/a1.crt")" good

# The delegated responder: issued by the issuing CA, OCSPSigning, nocheck, short-lived.
"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$T_DIR/a1.crt" -url "$url" -CAfile "$d/chain.pem" \
	-no_nonce -resp_text >"$T_DIR/text.out" 2>&1
grep -q "OCSP Signing" "$T_DIR/text.out" || fail "the responder certificate has EKU OCSPSigning"
grep -q "OCSP No Check" "$T_DIR/text.out" || fail "the responder certificate has ocsp-nocheck"
grep -q "Issuer: O=.*Issuing CA" "$T_DIR/text.out" || fail "the issuing CA issued the responder"
ok "the response is signed by a delegated responder (issuing CA, OCSPSigning, nocheck)"
"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$T_DIR/a1.crt" -url "$url" -no_nonce \
	-respout "$T_DIR/a1.resp" -noverify >/dev/null 2>&1
check "the response verifies against the root alone (-CAfile root.crt)" \
	"$OPENSSL" ocsp -respin "$T_DIR/a1.resp" -issuer "$d/ca.crt" -cert "$T_DIR/a1.crt" \
	-CAfile "$d/root.crt" -verify_other "$d/ca.crt"
"$OPENSSL" ocsp -respin "$T_DIR/a1.resp" -resp_text -noverify >"$T_DIR/r.txt" 2>&1
nb=$(sed -n 's/.*Not Before: //p' "$T_DIR/r.txt" | head -n1)
na=$(sed -n 's/.*Not After : //p' "$T_DIR/r.txt" | head -n1)
life=$(($(date -d "$na" +%s) - $(date -d "$nb" +%s)))
[ "$life" -le $((3 * 86400)) ] || fail "the responder certificate lives $life s, want <= 3 days"
ok "the responder certificate is short-lived ($life s)"

"$OCSPTOOL" --ask="$url" --load-issuer "$d/ca.crt" --load-cert "$T_DIR/a1.crt" \
	--load-trust "$d/chain.pem" >"$T_DIR/gt.out" 2>&1 || { cat "$T_DIR/gt.out"; fail "ocsptool"; }
grep -q "Certificate Status: good" "$T_DIR/gt.out" && grep -q "Verifying OCSP Response: Success" "$T_DIR/gt.out" ||
	{ cat "$T_DIR/gt.out"; fail "ocsptool: good, and the response verifies"; }
ok "GnuTLS ocsptool agrees: good, verifies"

# ---------------------------------------------------------------- unknown, the CA level

"$OPENSSL" ocsp -issuer "$d/ca.crt" -serial 0x1234567890abcdef -url "$url" \
	-CAfile "$d/chain.pem" -no_nonce >"$T_DIR/u.out" 2>&1 || { cat "$T_DIR/u.out"; fail "unknown"; }
grep -q "^0x1234567890abcdef: unknown" "$T_DIR/u.out" && grep -q "^Response verify OK" "$T_DIR/u.out" ||
	{ cat "$T_DIR/u.out"; fail "a serial the CA never issued"; }
ok "openssl ocsp: a serial the CA never issued is unknown (signed, verifies)"
"$OPENSSL" ocsp -issuer "$d/root.crt" -cert "$d/ca.crt" -url "$url" -CAfile "$d/root.crt" \
	-no_nonce >"$T_DIR/ca.out" 2>&1 || { cat "$T_DIR/ca.out"; fail "the CA level"; }
grep -q "ca.crt: good" "$T_DIR/ca.out" && grep -q "^Response verify OK" "$T_DIR/ca.out" ||
	{ cat "$T_DIR/ca.out"; fail "the issuing CA through the root"; }
ok "the issuing CA's own certificate: good, signed by the (online) root"
# A CertID with the issuing CA's name but the root's key (openssl's -issuer root.crt
# for a leaf) names no issuer we answer for: unauthorized, signed by nobody.
"$OPENSSL" ocsp -issuer "$d/root.crt" -cert "$T_DIR/a1.crt" -url "$url" -CAfile "$d/root.crt" \
	-no_nonce >"$T_DIR/w.out" 2>&1 || true
grep -q "Responder Error: unauthorized" "$T_DIR/w.out" || { cat "$T_DIR/w.out"; fail "mixed CertID"; }
ok "a CertID mixing the CA's name and the root's key: unauthorized"

# ---------------------------------------------------------------- revocation within 1 s

# revoked_within CERT MS: poll until openssl says revoked; fails after MS milliseconds
revoked_within() {
	_t0=$(date +%s%N)
	while :; do
		_s=$(status_of "$1")
		[ "$_s" != revoked ] || break
		_ms=$((($(date +%s%N) - _t0) / 1000000))
		[ "$_ms" -le "$2" ] || fail "$1 still $_s after $_ms ms"
		sleep 0.05
	done
	echo $((($(date +%s%N) - _t0) / 1000000))
}
eq "a2 is good (its response is cached)" "$(status_of "$T_DIR/a2.crt")" good
"$MTLSCA" -c "$conf" revoke "$(serial_of "$T_DIR/a1.crt")" --reason keyCompromise \
	>"$T_DIR/rev.out" 2>&1 || { cat "$T_DIR/rev.out"; fail "mtlsca revoke a1"; }
ms=$(revoked_within "$T_DIR/a1.crt" 1000)
ok "openssl ocsp: revoked $ms ms after 'mtlsca revoke' returned (<= 1000)"
grep -q "Reason: keyCompromise" "$T_DIR/ask.out" || { cat "$T_DIR/ask.out"; fail "with its reason"; }
grep -q "Revocation Time:" "$T_DIR/ask.out" || { cat "$T_DIR/ask.out"; fail "with its time"; }
ok "the revoked response carries the reason keyCompromise and the revocation time"
eq "a2 stays good" "$(status_of "$T_DIR/a2.crt")" good
"$OCSPTOOL" --ask="$url" --load-issuer "$d/ca.crt" --load-cert "$T_DIR/a1.crt" \
	--load-trust "$d/chain.pem" >"$T_DIR/gt.out" 2>&1 || true
grep -q "Certificate Status: revoked" "$T_DIR/gt.out" && grep -q "Verifying OCSP Response: Success" "$T_DIR/gt.out" ||
	{ cat "$T_DIR/gt.out"; fail "ocsptool: revoked"; }
ok "GnuTLS ocsptool agrees: revoked"

# Through the API: the daemon's own revocation drops the cached response before it returns.
code=$($C $ADMIN -o "$T_DIR/rev.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"serial\": \"$(serial_of "$T_DIR/a2.crt")\", \"reason\": \"superseded\"}" \
	"$https/v1/revoke")
[ "$code" = 200 ] || { cat "$T_DIR/rev.json"; fail "POST /v1/revoke: $code"; }
ms=$(revoked_within "$T_DIR/a2.crt" 1000)
ok "openssl ocsp: revoked $ms ms after POST /v1/revoke returned (<= 1000)"
grep -q "Reason: superseded" "$T_DIR/ask.out" || { cat "$T_DIR/ask.out"; fail "reason superseded"; }
ok "with the reason superseded"

# ---------------------------------------------------------------- GET and caching

issue_cli g1
"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$T_DIR/g1.crt" -no_nonce -reqout "$T_DIR/g1.req" \
	>/dev/null 2>&1
b64=$(base64 -w0 "$T_DIR/g1.req")
enc=$(printf %s "$b64" | jq -sRr @uri)
code=$($CURL -s --max-time 10 -D "$T_DIR/h1" -o "$T_DIR/g1.der" -w '%{http_code}' "$url/$enc")
eq "GET /ocsp/{base64}: 200" "$code" 200
grep -qi '^Content-Type: application/ocsp-response' "$T_DIR/h1" || { cat "$T_DIR/h1"; fail "type"; }
check "the GET response verifies and says good" \
	sh -c "'$OPENSSL' ocsp -respin '$T_DIR/g1.der' -issuer '$d/ca.crt' -cert '$T_DIR/g1.crt' \
		-CAfile '$d/chain.pem' 2>&1 | grep -q 'g1.crt: good'"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$T_DIR/h1")
[ -n "$etag" ] || { cat "$T_DIR/h1"; fail "an ETag"; }
grep -qi '^Last-Modified: ' "$T_DIR/h1" || { cat "$T_DIR/h1"; fail "Last-Modified"; }
maxage=$(sed -n 's/^[Cc]ache-[Cc]ontrol: .*max-age=\([0-9]*\).*/\1/p' "$T_DIR/h1")
nu=$("$OPENSSL" ocsp -respin "$T_DIR/g1.der" -resp_text -noverify 2>/dev/null |
	sed -n 's/.*Next Update: //p' | head -n1)
left=$(($(date -d "$nu" +%s) - $(date +%s)))
[ -n "$maxage" ] && [ "$maxage" -le "$((left + 1))" ] && [ "$maxage" -gt 0 ] ||
	{ cat "$T_DIR/h1"; fail "max-age $maxage within nextUpdate ($left s left)"; }
ok "caching headers: ETag $etag, Last-Modified, max-age $maxage <= nextUpdate ($left s)"
code=$($CURL -s --max-time 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/$enc")
eq "GET with If-None-Match: 304" "$code" 304
code=$($CURL -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$url/$enc")
eq "GET with another If-None-Match: 200" "$code" 200
code=$($CURL -s --max-time 10 -o "$T_DIR/g2.der" -w '%{http_code}' "$url/$b64")
cmp -s "$T_DIR/g1.der" "$T_DIR/g2.der" || fail "unescaped base64 gets the same pre-signed response"
eq "GET with unescaped base64 ('/' and '+' as they are): the same response" "$code" 200
post_raw "$T_DIR/g1.req" >/dev/null
cmp -s "$T_DIR/g1.der" "$T_DIR/raw.der" || fail "POST and GET get the same pre-signed response"
ok "POST gets the very response GET got (pre-signed, cached)"

# ---------------------------------------------------------------- hostile requests

printf 'this is not DER' >"$T_DIR/junk.req"
eq "junk: 200" "$(post_raw "$T_DIR/junk.req")" 200
eq "junk: malformedRequest" "$(resp_status)" malformedrequest
head -c 40 "$T_DIR/g1.req" >"$T_DIR/trunc.req"
eq "truncated: 200" "$(post_raw "$T_DIR/trunc.req")" 200
eq "truncated: malformedRequest" "$(resp_status)" malformedrequest
cp "$T_DIR/g1.req" "$T_DIR/trail.req"
printf '\000' >>"$T_DIR/trail.req"
post_raw "$T_DIR/trail.req" >/dev/null
eq "a trailing octet: malformedRequest" "$(resp_status)" malformedrequest
head -c 65536 /dev/urandom >"$T_DIR/big.req"
code=$(post_raw "$T_DIR/big.req")
[ "$code" = 200 ] && [ "$(resp_status)" = malformedrequest ] || [ "$code" = 413 ] ||
	fail "64 KiB request: status $code"
ok "a 64 KiB request: $code (an OCSP error or 413)"
head -c 70000 /dev/urandom >"$T_DIR/bigger.req"
eq "a 70,000-octet request: 413" "$(post_raw "$T_DIR/bigger.req")" 413
{ printf '\060\202\043\050'; head -c 9000 /dev/zero; } >"$T_DIR/long.req"
post_raw "$T_DIR/long.req" >/dev/null
eq "a 9,000-octet request (over MCA_OCSP_REQUEST_MAX): malformedRequest" "$(resp_status)" malformedrequest
code=$($CURL -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
	--data-binary "@$T_DIR/g1.req" "$url")
eq "POST with another Content-Type: 415" "$code" 415
code=$($CURL -s --max-time 10 -o "$T_DIR/raw.der" -w '%{http_code}' "$url/not*base64!")
eq "GET with bad base64: 200" "$code" 200
eq "GET with bad base64: malformedRequest" "$(resp_status)" malformedrequest
code=$($CURL -s --max-time 10 -o /dev/null -w '%{http_code}' -X PUT --data x "$url")
[ "$code" = 405 ] || fail "PUT /ocsp: $code"
ok "PUT /ocsp: 405"
# Five certificates (more than MCA_OCSP_MAX_CERTS = 4): unauthorized.
issue_cli m1
"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$T_DIR/a1.crt" -cert "$T_DIR/a2.crt" \
	-cert "$T_DIR/g1.crt" -cert "$T_DIR/m1.crt" -serial 0x77 -no_nonce \
	-reqout "$T_DIR/five.req" >/dev/null 2>&1
post_raw "$T_DIR/five.req" >/dev/null
eq "five certificates in one request: unauthorized" "$(resp_status)" unauthorized
# Two: both answered, on demand.
"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$T_DIR/a1.crt" -cert "$T_DIR/m1.crt" -url "$url" \
	-CAfile "$d/chain.pem" -no_nonce >"$T_DIR/two.out" 2>&1 || { cat "$T_DIR/two.out"; fail "two"; }
grep -q "a1.crt: revoked" "$T_DIR/two.out" && grep -q "m1.crt: good" "$T_DIR/two.out" ||
	{ cat "$T_DIR/two.out"; fail "two certificates in one request"; }
ok "two certificates in one request: both answered (revoked, good)"
# Another CA's certificate: unauthorized.
init_ca "$T_DIR/other"
"$OPENSSL" ocsp -issuer "$T_DIR/other/ca.crt" -cert "$T_DIR/other/admin.crt" -no_nonce \
	-reqout "$T_DIR/foreign.req" >/dev/null 2>&1
post_raw "$T_DIR/foreign.req" >/dev/null
eq "another CA's certificate: unauthorized" "$(resp_status)" unauthorized
alive
ok "mtlscad survived every hostile request"

# ---------------------------------------------------------------- metrics, the CLI

$C "$http/metrics" >"$T_DIR/metrics"
grep -Eq '^mtlsca_ocsp_requests_total\{status="successful",answer="good"\} [1-9]' "$T_DIR/metrics" &&
	grep -Eq '^mtlsca_ocsp_requests_total\{status="successful",answer="revoked"\} [1-9]' "$T_DIR/metrics" &&
	grep -Eq '^mtlsca_ocsp_requests_total\{status="malformedRequest",answer="none"\} [1-9]' "$T_DIR/metrics" &&
	grep -Eq '^mtlsca_ocsp_requests_total\{status="unauthorized",answer="none"\} [1-9]' "$T_DIR/metrics" &&
	grep -Eq '^mtlsca_ocsp_response_age_seconds_count [1-9]' "$T_DIR/metrics" &&
	grep -Eq '^mtlsca_ocsp_cached_responses [1-9]' "$T_DIR/metrics" ||
	{ grep ocsp "$T_DIR/metrics"; fail "OCSP metrics by status and answer, response age"; }
ok "metrics: OCSP requests by status and answer, responses' age, the cache"

check "mtlsca ocsp: good (from the database)" "$MTLSCA" -c "$conf" ocsp "$(serial_of "$T_DIR/m1.crt")"
grep -q ": good$" "$T_DIR/out" || fail "mtlsca ocsp prints good"
check_fails "mtlsca ocsp: revoked exits 1" 1 "$MTLSCA" -c "$conf" ocsp "$(serial_of "$T_DIR/a1.crt")"
grep -q "reason: keyCompromise" "$T_DIR/out" || { cat "$T_DIR/out"; fail "mtlsca ocsp: reason"; }
ok "mtlsca ocsp: revoked with reason keyCompromise"
check "mtlsca ocsp --url: good, verified" "$MTLSCA" -c "$conf" ocsp "$(serial_of "$T_DIR/m1.crt")" --url "$url"
check_fails "mtlsca ocsp --url: unknown exits 1" 1 "$MTLSCA" -c "$conf" ocsp 0x42 --url "$url"
grep -q ": unknown$" "$T_DIR/out" || { cat "$T_DIR/out"; fail "mtlsca ocsp --url: unknown"; }
ok "mtlsca ocsp --url: unknown"

# ---------------------------------------------------------------- a new signer process

sp=$(pgrep -P "$D_PID" -f -- "--signer-process" | head -n1)
[ -n "$sp" ] || fail "the signer process runs"
kill -KILL "$sp"
i=0
until [ "$(grep -c 'OCSP responder certificate [0-9a-f]* issued' "$D_LOG")" -ge 2 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$D_LOG"; fail "a new responder certificate after the signer restart"; }
	sleep 0.1
done
issue_cli s1
eq "after a signer restart: a new response verifies (new key, new certificate)" \
	"$(status_of "$T_DIR/s1.crt")" good
stop_daemon

# ---------------------------------------------------------------- nonces, rate limit

ocsp_conf '{"validity": "4s", "refresh": "1s", "nonce": true, "on_demand_per_second": 3}'
start_daemon "$conf"
http=http://127.0.0.1:$HTTP_PORT
url=$http/ocsp
ask "$T_DIR/m1.crt"
! grep -q "WARNING: no nonce in response" "$T_DIR/ask.out" || { cat "$T_DIR/ask.out"; fail "nonce"; }
grep -q "m1.crt: good" "$T_DIR/ask.out" || { cat "$T_DIR/ask.out"; fail "good with a nonce"; }
ok "ocsp.nonce: the nonce comes back (openssl checks it), good"
tl=0
pids=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	"$OPENSSL" ocsp -issuer "$d/ca.crt" -cert "$T_DIR/m1.crt" -url "$url" -noverify \
		>"$T_DIR/n$i.out" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || true; done
for i in 1 2 3 4 5 6 7 8 9 10; do
	! grep -q "trylater" "$T_DIR/n$i.out" || tl=$((tl + 1))
done
[ "$tl" -ge 1 ] || fail "ten nonce requests at once, 3 a second allowed: no tryLater"
ok "ocsp.on_demand_per_second: $tl of 10 quick nonce requests got tryLater"
ask "$T_DIR/m1.crt" -no_nonce
grep -q "m1.crt: good" "$T_DIR/ask.out" || { cat "$T_DIR/ask.out"; fail "without a nonce"; }
ok "without a nonce: the pre-signed response, not rate limited"

# ---------------------------------------------------------------- nginx ssl_ocsp end to end

issue_cli n1
issue_cli n2
ng=$T_DIR/nginx
mkdir -p "$ng"
# ng_get NAME: HTTP status nginx answers for client certificate NAME (000: no response)
ng_get() {
	$CURL -s --max-time 5 --cacert "$d/chain.pem" --cert "$T_DIR/$1.crt" --key "$T_DIR/$1.key" \
		-o "$T_DIR/ng.body" -w '%{http_code}' "https://127.0.0.1:$NG_PORT/" || true
}
NG_PID=""
tries=0
while [ -z "$NG_PID" ]; do
	tries=$((tries + 1))
	[ $tries -le 10 ] || fail "no free port for nginx after 10 tries"
	NG_PORT=$(free_port)
	cat >"$ng/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log info;
events { worker_connections 64; }
http {
	access_log $ng/access.log;
	client_body_temp_path $ng/body;
	proxy_temp_path $ng/proxy;
	fastcgi_temp_path $ng/fastcgi;
	uwsgi_temp_path $ng/uwsgi;
	scgi_temp_path $ng/scgi;
	server {
		listen 127.0.0.1:$NG_PORT ssl;
		ssl_certificate $d/server.crt;
		ssl_certificate_key $d/server.key;
		ssl_verify_client on;
		ssl_verify_depth 2;
		ssl_client_certificate $d/chain.pem;
		ssl_ocsp on;
		ssl_ocsp_responder $url;
		ssl_ocsp_cache shared:ocsp:128k;
		location / { return 200 "ok\n"; }
	}
}
EOF
	start_nginx "$ng" n2 || true
done
ok "nginx (ssl_verify_client, ssl_ocsp with our responder, no ssl_crl) listens on $NG_PORT"
code=$(ng_get n1)
[ "$code" = 200 ] || { cat "$ng/error.log"; fail "nginx admits n1: $code"; }
ok "nginx admits the client certificate n1 (200)"
"$MTLSCA" -c "$conf" revoke "$(serial_of "$T_DIR/n1.crt")" --reason keyCompromise \
	>"$T_DIR/rev.out" 2>&1 || { cat "$T_DIR/rev.out"; fail "mtlsca revoke n1"; }
# nginx keeps a response until its nextUpdate (4 s here): allow for that, no reload.
i=0
while [ "$(ng_get n1)" = 200 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$ng/error.log"; fail "nginx refuses the revoked n1 within 10 s"; }
	sleep 0.1
done
ok "nginx refuses n1 once revoked ($((i / 10)).$((i % 10)) s, no reload)"
grep -q "certificate status \"revoked\"\|certificate revoked" "$ng/error.log" ||
	{ cat "$ng/error.log"; fail "nginx logs the OCSP revocation"; }
ok "nginx logs the revoked OCSP status"
eq "nginx: n2 still gets 200" "$(ng_get n2)" 200
kill -TERM "$NG_PID"
wait "$NG_PID" 2>/dev/null || true
T_PIDS=$(echo "$T_PIDS" | sed "s/ $NG_PID//")
ok "nginx stopped"
alive
stop_daemon
