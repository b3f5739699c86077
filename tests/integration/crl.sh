#!/bin/sh
# crl.sh - revocation and CRLs: "mtlsca revoke" and POST /v1/revoke publish a
# new CRL before returning; the daemon serves it (DER and PEM, both levels,
# with caching headers); OpenSSL, GnuTLS and a real nginx (ssl_crl) act on it;
# the CRL number survives restarts and concurrent revocations; expired
# entries leave after one more CRL.
set -e
. "$TESTS_SRCDIR/lib.sh"

NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] ||
	fail "nginx not found at $NGINX: install nginx-light (tools/install-deps) or set NGINX"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db
start_daemon "$conf"
http=http://127.0.0.1:$HTTP_PORT
https=https://127.0.0.1:$HTTPS_PORT
C="$CURL -sS --max-time 10 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"

# ---------------------------------------------------------------- helpers

# mkcsr NAME: a new P-256 key T_DIR/NAME.key and CSR T_DIR/NAME.csr for NAME.example.internal
mkcsr() {
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T_DIR/$1.key" -subj "/CN=$1.example.internal" \
		-addext "subjectAltName=DNS:$1.example.internal" \
		-out "$T_DIR/$1.csr" >"$T_DIR/req.out" 2>&1 || {
		cat "$T_DIR/req.out"
		fail "make the CSR $1"
	}
}

# issue_cli NAME [ARGS...]: offline issue of T_DIR/NAME.crt, profile private
issue_cli() {
	_n=$1
	shift
	mkcsr "$_n"
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/$_n.csr" --profile private "$@" \
		>"$T_DIR/$_n.crt" 2>"$T_DIR/err" || {
		cat "$T_DIR/err"
		fail "mtlsca issue $_n"
	}
}

# issue_api NAME: T_DIR/NAME.crt through a token and POST /v1/sign (201)
issue_api() {
	mkcsr "$1"
	_tok=$("$MTLSCA" -c "$conf" token create --profile private --name "$1.example.internal") ||
		fail "token create for $1"
	jq -n --rawfile csr "$T_DIR/$1.csr" '{csr:$csr}' >"$T_DIR/$1.req"
	_code=$($C -o "$T_DIR/$1.json" -w '%{http_code}' -H "Authorization: Bearer $_tok" \
		-H 'Content-Type: application/json' --data-binary "@$T_DIR/$1.req" "$https/v1/sign")
	[ "$_code" = 201 ] || {
		cat "$T_DIR/$1.json"
		fail "POST /v1/sign for $1: status $_code, want 201"
	}
	jq -r .certificate "$T_DIR/$1.json" >"$T_DIR/$1.crt"
}

# serial_up CERT: serial as OpenSSL prints it in CRLs (upper-case hex, no colons)
serial_up() {
	"$OPENSSL" x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

# serial_lc CERT: canonical serial (lower-case hex, no colons)
serial_lc() {
	serial_up "$1" | tr A-F a-f
}

# crl_number DERFILE: the CRL number in decimal
crl_number() {
	_h=$("$OPENSSL" crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=//')
	printf '%d' "$_h"
}

# crl_text DERFILE: the text dump into DERFILE.txt
crl_text() {
	"$OPENSSL" crl -inform DER -in "$1" -noout -text >"$1.txt"
}

# listed DERFILE SERIAL_UP: the CRL has an entry for the serial
listed() {
	crl_text "$1"
	grep -q "Serial Number: $2\$" "$1.txt"
}

# reason_in DERFILE SERIAL_UP: the entry's reasonCode text, or "none"
reason_in() {
	crl_text "$1"
	awk -v s="$2" '
		/Serial Number:/ { inb = ($3 == s); next }
		/Signature Algorithm/ { inb = 0 }
		inb && /CRL Reason Code/ { getline; gsub(/^[ \t]+|[ \t]+$/, ""); r = $0 }
		END { print (r == "" ? "none" : r) }' "$1.txt"
}

# fetch PATH FILE: GET http://.../PATH into FILE (200)
fetch() {
	_code=$($C -o "$2" -w '%{http_code}' "$http/$1")
	[ "$_code" = 200 ] || fail "GET /$1: status $_code"
}

# wait_served PATH NUMBER: the daemon serves /PATH (DER) with a CRL number >= NUMBER
# within 4 s (it polls the database every second); leaves it in T_DIR/served.der
wait_served() {
	_i=0
	while :; do
		fetch "$1" "$T_DIR/served.der"
		_got=$(crl_number "$T_DIR/served.der")
		[ "$_got" -lt "$2" ] || break
		_i=$((_i + 1))
		[ $_i -lt 40 ] || fail "/$1 still serves CRL number $_got 4 s after number $2 was published"
		sleep 0.1
	done
}

# crl_verifies DERFILE CAFILE: the CRL signature verifies
crl_verifies() {
	"$OPENSSL" crl -inform DER -in "$1" -CAfile "$2" -noout 2>&1 | grep -q "verify OK"
}

# db_max: the highest issuing-CA CRL number in the database
db_max() {
	sqlite3 "$db" "SELECT max(number) FROM crls WHERE issuer = 'ca'"
}

# numbers_sane WHAT: issuing-CA CRL numbers strictly increasing in insertion
# order, no duplicates
numbers_sane() {
	sqlite3 "$db" "SELECT number FROM crls WHERE issuer = 'ca' ORDER BY rowid" >"$T_DIR/numbers"
	_prev=0
	while read -r _n; do
		[ "$_n" -gt "$_prev" ] || fail "$1: CRL numbers not strictly increasing ($(tr '\n' ' ' <"$T_DIR/numbers"))"
		_prev=$_n
	done <"$T_DIR/numbers"
	ok "$1: CRL numbers in the database strictly increasing"
	eq "$1: no CRL number used twice" \
		"$(sqlite3 "$db" "SELECT count(number) = count(DISTINCT number) FROM crls WHERE issuer = 'ca'")" 1
}

# verify_cert CERT CRLPEM [FLAG]: openssl verify with a CRL check; prints the output, keeps the status
verify_cert() {
	"$OPENSSL" verify "${3:--crl_check}" -CAfile "$d/chain.pem" -CRLfile "$2" "$1" 2>&1
}

# ---------------------------------------------------------------- served CRLs after init

fetch crl "$T_DIR/crl0.der"
cmp -s "$T_DIR/crl0.der" "$d/crl/ca.crl" || fail "/crl is crl/ca.crl"
ok "/crl serves crl/ca.crl"
eq "/crl: CRL number 1 after init" "$(crl_number "$T_DIR/crl0.der")" 1
eq "/crl content type" "$($C -o /dev/null -w '%{content_type}' "$http/crl")" application/pkix-crl
$C "$http/crl.pem" | "$OPENSSL" crl -outform DER | cmp -s - "$T_DIR/crl0.der" ||
	fail "/crl.pem is the same CRL as /crl"
ok "/crl.pem is the same CRL as /crl"
fetch root.crl "$T_DIR/root0.der"
cmp -s "$T_DIR/root0.der" "$d/crl/root.crl" || fail "/root.crl is crl/root.crl"
ok "/root.crl serves crl/root.crl"
crl_verifies "$T_DIR/root0.der" "$d/root.crt" || fail "/root.crl signed by the root"
ok "/root.crl signed by the root"
$C "$http/root.crl.pem" | "$OPENSSL" crl -outform DER | cmp -s - "$T_DIR/root0.der" ||
	fail "/root.crl.pem is the same CRL as /root.crl"
ok "/root.crl.pem is the same CRL as /root.crl"
eq "/crl also on the HTTPS listener" \
	"$($C -o /dev/null -w '%{http_code}' "$https/crl")" 200

# Caching headers: ETag, Last-Modified (the CRL's thisUpdate), max-age up to nextUpdate, 304.
$C -D "$T_DIR/hdr" -o /dev/null "$http/crl"
tr -d '\r' <"$T_DIR/hdr" >"$T_DIR/hdr1"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$T_DIR/hdr1")
[ -n "$etag" ] || { cat "$T_DIR/hdr1"; fail "/crl has an ETag"; }
ok "/crl has an ETag ($etag)"
lm=$(sed -n 's/^[Ll]ast-[Mm]odified: *//p' "$T_DIR/hdr1")
[ -n "$lm" ] || { cat "$T_DIR/hdr1"; fail "/crl has Last-Modified"; }
this_update=$("$OPENSSL" crl -inform DER -in "$T_DIR/crl0.der" -noout -lastupdate | sed 's/^lastUpdate=//')
eq "/crl Last-Modified is the CRL's thisUpdate" "$(date -u -d "$lm" +%s)" "$(date -u -d "$this_update" +%s)"
maxage=$(sed -n 's/^[Cc]ache-[Cc]ontrol:.*max-age=\([0-9]*\).*/\1/p' "$T_DIR/hdr1")
[ -n "$maxage" ] || { cat "$T_DIR/hdr1"; fail "/crl has Cache-Control: max-age"; }
next_update=$(date -u -d "$("$OPENSSL" crl -inform DER -in "$T_DIR/crl0.der" -noout -nextupdate |
	sed 's/^nextUpdate=//')" +%s)
[ "$maxage" -gt 0 ] && [ "$maxage" -le $((next_update - $(date +%s) + 2)) ] ||
	fail "/crl max-age $maxage is positive and does not pass nextUpdate"
ok "/crl Cache-Control: max-age=$maxage, up to nextUpdate"
eq "/crl with If-None-Match of the current ETag: 304, no body" \
	"$($C -o /dev/null -w '%{http_code} %{size_download}' -H "If-None-Match: $etag" "$http/crl")" "304 0"
eq "/crl with another If-None-Match: 200" \
	"$($C -o /dev/null -w '%{http_code}' -H 'If-None-Match: "nope"' "$http/crl")" 200
$C -D "$T_DIR/hdr" -o /dev/null "$http/root.crl"
grep -qi '^ETag:' "$T_DIR/hdr" && grep -qi '^Last-Modified:' "$T_DIR/hdr" &&
	grep -qi '^Cache-Control:.*max-age=' "$T_DIR/hdr" || { cat "$T_DIR/hdr"; fail "/root.crl caching headers"; }
ok "/root.crl has ETag, Last-Modified and max-age"

# ---------------------------------------------------------------- revoke through the CLI

issue_cli a
issue_cli b
issue_cli u
sa=$(serial_up "$T_DIR/a.crt")
sa_lc=$(serial_lc "$T_DIR/a.crt")
sb=$(serial_up "$T_DIR/b.crt")
su=$(serial_up "$T_DIR/u.crt")
before=$(crl_number "$d/crl/ca.crl")
# upper case with colons
sa_colons=$(echo "$sa" | sed 's/\(..\)/\1:/g; s/:$//')
"$MTLSCA" -c "$conf" revoke "$sa_colons" --reason keyCompromise >"$T_DIR/rev.out" 2>"$T_DIR/err" || {
	cat "$T_DIR/rev.out" "$T_DIR/err"
	fail "mtlsca revoke (upper case, colons) exits 0"
}
ok "mtlsca revoke (upper case, colons) exits 0"
n_cli=$(sed -n "s/^revoked $sa_lc (keyCompromise); published CRL number \([0-9]*\)\$/\1/p" "$T_DIR/rev.out")
[ -n "$n_cli" ] || { cat "$T_DIR/rev.out"; fail "revoke prints 'revoked SERIAL (REASON); published CRL number N'"; }
ok "revoke prints 'revoked $sa_lc (keyCompromise); published CRL number $n_cli'"
[ "$n_cli" -gt "$before" ] || fail "CLI revoke: CRL number $n_cli > $before"
ok "CLI revoke: CRL number $n_cli > $before"
eq "crl/ca.crl written before revoke returned" "$(crl_number "$d/crl/ca.crl")" "$n_cli"
listed "$d/crl/ca.crl" "$sa" || fail "crl/ca.crl lists $sa right after revoke"
ok "crl/ca.crl lists the serial right after revoke"
"$OPENSSL" crl -in "$d/crl/ca.crl.pem" -outform DER | cmp -s - "$d/crl/ca.crl" ||
	fail "crl/ca.crl.pem is crl/ca.crl in PEM"
ok "crl/ca.crl.pem is crl/ca.crl in PEM"
eq "DB: status revoked, reason keyCompromise" \
	"$(sqlite3 "$db" "SELECT status || ' ' || reason FROM certificates WHERE serial = '$sa_lc'")" \
	"revoked keyCompromise"

wait_served crl "$n_cli"
cp "$T_DIR/served.der" "$T_DIR/crl1.der"
eq "daemon picks up the CLI's CRL: served number" "$(crl_number "$T_DIR/crl1.der")" "$n_cli"
listed "$T_DIR/crl1.der" "$sa" || fail "served /crl lists $sa"
ok "served /crl lists Serial Number: $sa"
eq "served /crl: reason Key Compromise" "$(reason_in "$T_DIR/crl1.der" "$sa")" "Key Compromise"
listed "$T_DIR/crl1.der" "$sb" && fail "served /crl does not list the unrevoked $sb"
ok "served /crl does not list the unrevoked certificate"
crl_verifies "$T_DIR/crl1.der" "$d/chain.pem" || fail "served /crl signature verifies"
ok "served /crl signature verifies (verify OK)"
check "certtool --crl-info parses the served /crl" \
	"$CERTTOOL" --crl-info --inder --infile "$T_DIR/crl1.der"
grep -qi "$sa" "$T_DIR/out" || { cat "$T_DIR/out"; fail "certtool lists $sa"; }
ok "certtool lists the revoked serial"
$C -D "$T_DIR/hdr" -o /dev/null "$http/crl"
etag1=$(tr -d '\r' <"$T_DIR/hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p')
[ -n "$etag1" ] && [ "$etag1" != "$etag" ] || fail "new CRL, new ETag ($etag -> $etag1)"
ok "new CRL, new ETag"
eq "old ETag no longer matches: 200" \
	"$($C -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$http/crl")" 200
eq "new ETag matches: 304" \
	"$($C -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag1" "$http/crl")" 304

# OpenSSL path validation with the CRLs
"$OPENSSL" crl -inform DER -in "$T_DIR/crl1.der" -out "$T_DIR/crl1.pem"
cat "$T_DIR/crl1.pem" "$d/crl/root.crl.pem" >"$T_DIR/both1.pem"
verify_cert "$T_DIR/a.crt" "$T_DIR/crl1.pem" >"$T_DIR/v" && { cat "$T_DIR/v"; fail "openssl verify -crl_check rejects the revoked certificate"; }
grep -q "certificate revoked" "$T_DIR/v" || { cat "$T_DIR/v"; fail "openssl verify says 'certificate revoked'"; }
ok "openssl verify -crl_check: revoked certificate refused (certificate revoked)"
check "openssl verify -crl_check: unrevoked certificate accepted" \
	verify_cert "$T_DIR/b.crt" "$T_DIR/crl1.pem"
verify_cert "$T_DIR/a.crt" "$T_DIR/both1.pem" -crl_check_all >"$T_DIR/v" && { cat "$T_DIR/v"; fail "-crl_check_all rejects the revoked certificate"; }
grep -q "certificate revoked" "$T_DIR/v" || { cat "$T_DIR/v"; fail "-crl_check_all says 'certificate revoked'"; }
ok "openssl verify -crl_check_all (ca + root CRLs): revoked certificate refused"
check "openssl verify -crl_check_all (ca + root CRLs): unrevoked certificate accepted" \
	verify_cert "$T_DIR/b.crt" "$T_DIR/both1.pem" -crl_check_all
verify_cert "$T_DIR/b.crt" "$T_DIR/crl1.pem" -crl_check_all >"$T_DIR/v" && { cat "$T_DIR/v"; fail "-crl_check_all without the root's CRL fails"; }
grep -q "unable to get certificate CRL" "$T_DIR/v" || { cat "$T_DIR/v"; fail "-crl_check_all without root CRL: unable to get certificate CRL"; }
ok "openssl verify -crl_check_all without the root-level CRL: unable to get certificate CRL"

# Again, unknown, lower case, default reason.
"$MTLSCA" -c "$conf" revoke "$sa_lc" --reason superseded >"$T_DIR/rev.out" 2>"$T_DIR/err" || {
	cat "$T_DIR/rev.out" "$T_DIR/err"
	fail "revoking again exits 0"
}
ok "revoking again exits 0"
grep -q "already revoked" "$T_DIR/rev.out" || { cat "$T_DIR/rev.out"; fail "revoking again says 'already revoked'"; }
ok "revoking again says 'already revoked'"
eq "revoking again publishes no CRL" "$(db_max)" "$n_cli"
eq "revoking again keeps the reason" "$(reason_in "$d/crl/ca.crl" "$sa")" "Key Compromise"
check_fails "revoking an unknown serial exits 1" 1 "$MTLSCA" -c "$conf" revoke 7a5c0ffee0123456789abcdef
[ -s "$T_DIR/err" ] || fail "unknown serial: a message on stderr"
ok "unknown serial: a message on stderr ($(head -n1 "$T_DIR/err"))"
eq "unknown serial publishes no CRL" "$(db_max)" "$n_cli"
su_lc=$(serial_lc "$T_DIR/u.crt")
"$MTLSCA" -c "$conf" revoke "$su_lc" >"$T_DIR/rev.out" 2>"$T_DIR/err" || {
	cat "$T_DIR/rev.out" "$T_DIR/err"
	fail "mtlsca revoke (lower case, no colons, no --reason) exits 0"
}
ok "mtlsca revoke (lower case, no colons, no --reason) exits 0"
grep -q "^revoked $su_lc (unspecified); published CRL number" "$T_DIR/rev.out" ||
	{ cat "$T_DIR/rev.out"; fail "default reason is unspecified"; }
ok "default reason is unspecified"
listed "$d/crl/ca.crl" "$su" || fail "crl/ca.crl lists $su"
eq "unspecified: no reasonCode in the entry" "$(reason_in "$d/crl/ca.crl" "$su")" none
eq "the first entry keeps its reasonCode" "$(reason_in "$d/crl/ca.crl" "$sa")" "Key Compromise"

# ---------------------------------------------------------------- revoke through the API

issue_api c
issue_api e
sc=$(serial_up "$T_DIR/c.crt")
sc_lc=$(serial_lc "$T_DIR/c.crt")
fetch crl "$T_DIR/pre_api.der"
before=$(crl_number "$T_DIR/pre_api.der")
listed "$T_DIR/pre_api.der" "$sc" && fail "not listed before the API revocation"
ok "$sc not listed before the API revocation"
code=$($C $ADMIN -o "$T_DIR/rev.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"serial\": \"$sc_lc\", \"reason\": \"keyCompromise\"}" "$https/v1/revoke")
[ "$code" = 200 ] || { cat "$T_DIR/rev.json"; fail "POST /v1/revoke as admin: status $code, want 200"; }
ok "POST /v1/revoke as admin: 200"
eq "POST /v1/revoke: status revoked" "$(jq -r .status "$T_DIR/rev.json")" revoked
eq "POST /v1/revoke: serial" "$(jq -r .serial "$T_DIR/rev.json")" "$sc_lc"
jq -r .revoked_at "$T_DIR/rev.json" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' ||
	{ cat "$T_DIR/rev.json"; fail "POST /v1/revoke: revoked_at in RFC 3339"; }
ok "POST /v1/revoke: revoked_at in RFC 3339"
fetch crl "$T_DIR/crl2.der"
listed "$T_DIR/crl2.der" "$sc" || fail "served /crl lists $sc right after POST /v1/revoke"
ok "served /crl lists Serial Number: $sc right after POST /v1/revoke"
eq "served /crl: reason Key Compromise" "$(reason_in "$T_DIR/crl2.der" "$sc")" "Key Compromise"
n_api=$(crl_number "$T_DIR/crl2.der")
[ "$n_api" -gt "$before" ] || fail "API revoke: CRL number $n_api > $before"
ok "API revoke: CRL number $n_api > $before"
crl_verifies "$T_DIR/crl2.der" "$d/chain.pem" || fail "served /crl signature verifies"
ok "served /crl signature verifies (verify OK)"
check "certtool --crl-info parses the served /crl" \
	"$CERTTOOL" --crl-info --inder --infile "$T_DIR/crl2.der"
listed "$T_DIR/crl2.der" "$sa" || fail "earlier entries stay"
ok "earlier entries stay"
# the daemon writes the files of what it published within a second (its tick)
i=0
while ! cmp -s "$T_DIR/crl2.der" "$d/crl/ca.crl" && [ $i -lt 40 ]; do
	i=$((i + 1))
	sleep 0.1
done
cmp -s "$T_DIR/crl2.der" "$d/crl/ca.crl" || fail "crl/ca.crl is the served CRL after an API revocation"
ok "crl/ca.crl written by the daemon within a second"
$C "$http/crl.pem" >"$T_DIR/crl2.pem"
"$OPENSSL" crl -in "$T_DIR/crl2.pem" -outform DER | cmp -s - "$T_DIR/crl2.der" || fail "/crl.pem follows /crl"
ok "/crl.pem follows /crl"
cat "$T_DIR/crl2.pem" "$d/crl/root.crl.pem" >"$T_DIR/both2.pem"
verify_cert "$T_DIR/c.crt" "$T_DIR/crl2.pem" >"$T_DIR/v" && { cat "$T_DIR/v"; fail "openssl verify -crl_check rejects the API-revoked certificate"; }
grep -q "certificate revoked" "$T_DIR/v" || { cat "$T_DIR/v"; fail "openssl verify says 'certificate revoked'"; }
ok "openssl verify -crl_check: API-revoked certificate refused (certificate revoked)"
check "openssl verify -crl_check: unrevoked API certificate accepted" \
	verify_cert "$T_DIR/e.crt" "$T_DIR/crl2.pem"
verify_cert "$T_DIR/c.crt" "$T_DIR/both2.pem" -crl_check_all >"$T_DIR/v" && { cat "$T_DIR/v"; fail "-crl_check_all rejects the API-revoked certificate"; }
grep -q "certificate revoked" "$T_DIR/v" || { cat "$T_DIR/v"; fail "-crl_check_all says 'certificate revoked'"; }
ok "openssl verify -crl_check_all: API-revoked certificate refused"
check "openssl verify -crl_check_all: unrevoked API certificate accepted" \
	verify_cert "$T_DIR/e.crt" "$T_DIR/both2.pem" -crl_check_all

# ---------------------------------------------------------------- mtlsca crl [--root] [--out]

n=$("$MTLSCA" -c "$conf" crl) || fail "mtlsca crl exits 0"
case $n in '' | *[!0-9]*) fail "mtlsca crl prints the CRL number (got '$n')" ;; esac
[ "$n" -gt "$n_api" ] || fail "mtlsca crl: number $n > $n_api"
ok "mtlsca crl publishes number $n > $n_api"
eq "mtlsca crl writes crl/ca.crl" "$(crl_number "$d/crl/ca.crl")" "$n"
wait_served crl "$n"
ok "daemon serves the CLI's CRL number $n"
listed "$T_DIR/served.der" "$sc" || fail "republished CRL keeps the entries"
ok "republished CRL keeps the entries"
n2=$("$MTLSCA" -c "$conf" crl --out "$T_DIR/out.crl")
eq "crl --out: next number" "$n2" $((n + 1))
cmp -s "$T_DIR/out.crl" "$d/crl/ca.crl" || fail "crl --out FILE writes the DER CRL"
ok "crl --out FILE writes the DER CRL"
n3=$("$MTLSCA" -c "$conf" crl --out "$T_DIR/out.pem" --pem)
"$OPENSSL" crl -in "$T_DIR/out.pem" -outform DER | cmp -s - "$d/crl/ca.crl" || fail "crl --out FILE --pem"
ok "crl --out FILE --pem writes the same CRL in PEM"
eq "crl --pem: CRL number" "$(crl_number "$d/crl/ca.crl")" "$n3"
rb=$(crl_number "$d/crl/root.crl")
rn=$("$MTLSCA" -c "$conf" crl --root) || fail "mtlsca crl --root exits 0"
[ "$rn" -gt "$rb" ] || fail "crl --root: number $rn > $rb"
ok "crl --root publishes root-level number $rn > $rb"
eq "crl --root writes crl/root.crl" "$(crl_number "$d/crl/root.crl")" "$rn"
crl_verifies "$d/crl/root.crl" "$d/root.crt" || fail "crl/root.crl signed by the root"
ok "crl/root.crl signed by the root"
eq "crl --root leaves the issuing CA's CRL alone" "$(crl_number "$d/crl/ca.crl")" "$n3"
wait_served root.crl "$rn"
ok "daemon serves the new root-level CRL"

# ---------------------------------------------------------------- nginx ssl_crl end to end

issue_api n1
issue_api n2
ng=$T_DIR/nginx
mkdir -p "$ng"
ng_crl() {
	cat "$d/crl/ca.crl.pem" "$d/crl/root.crl.pem" >"$ng/crl.pem.tmp"
	mv "$ng/crl.pem.tmp" "$ng/crl.pem"
}
ng_crl
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
	NG_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
	if $CURL -s --max-time 1 -o /dev/null "http://127.0.0.1:$NG_PORT/" 2>/dev/null ||
		[ $? -ne 7 ]; then
		continue # something answers there
	fi
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
		ssl_crl $ng/crl.pem;
		location / { return 200 "ok\n"; }
	}
}
EOF
	start_nginx "$ng" n1 || true
done
ok "nginx (ssl_verify_client, ssl_crl with both CRL levels) listens on port $NG_PORT"
eq "nginx: client n1 gets 200" "$(ng_get n1)" 200
eq "nginx: body ok" "$(cat "$T_DIR/ng.body")" ok
eq "nginx: client n2 gets 200" "$(ng_get n2)" 200
code=$($CURL -s --max-time 5 --cacert "$d/chain.pem" -o /dev/null -w '%{http_code}' \
	"https://127.0.0.1:$NG_PORT/" || true)
[ "$code" != 200 ] || fail "nginx: no client certificate is refused"
ok "nginx: no client certificate is refused ($code)"
sn1=$(serial_lc "$T_DIR/n1.crt")
"$MTLSCA" -c "$conf" revoke "$sn1" --reason keyCompromise >"$T_DIR/rev.out" 2>&1 ||
	{ cat "$T_DIR/rev.out"; fail "mtlsca revoke n1"; }
ok "mtlsca revoke n1"
ng_crl
# The reload took effect once the old worker processes are gone and a new one runs.
old_workers=$(pgrep -P "$NG_PID" | tr '\n' ' ')
[ -n "$old_workers" ] || fail "nginx has worker processes"
kill -HUP "$NG_PID"
i=0
while :; do
	gone=1
	for w in $old_workers; do
		! kill -0 "$w" 2>/dev/null || gone=0
	done
	new_workers=$(pgrep -P "$NG_PID" | tr '\n' ' ')
	[ "$gone" -eq 0 ] || [ -z "$new_workers" ] || break
	i=$((i + 1))
	[ $i -lt 50 ] || { cat "$ng/error.log"; fail "nginx reloads on SIGHUP within 5 s"; }
	sleep 0.1
done
grep -q "reconfiguring" "$ng/error.log" || { cat "$ng/error.log"; fail "nginx reloaded its configuration"; }
ok "nginx reloaded (workers $old_workers-> $new_workers)"
code=$(ng_get n1)
[ "$code" != 200 ] || fail "nginx refuses the revoked n1 after the reload (status $code)"
ok "nginx refuses the revoked n1 after the reload (status $code: $(head -c 80 "$T_DIR/ng.body" | tr '\n' ' '))"
grep -q "certificate revoked" "$ng/error.log" || { cat "$ng/error.log"; fail "nginx logs 'certificate revoked'"; }
ok "nginx logs 'certificate revoked'"
eq "nginx: unrevoked n2 still gets 200" "$(ng_get n2)" 200
kill -TERM "$NG_PID"
wait "$NG_PID" 2>/dev/null || true
T_PIDS=$(echo "$T_PIDS" | sed "s/ $NG_PID//")
ok "nginx stopped"

# ---------------------------------------------------------------- CRL numbers across a restart

n=$("$MTLSCA" -c "$conf" crl)
wait_served crl "$n"
stop_daemon
start_daemon "$conf"
http=http://127.0.0.1:$HTTP_PORT
https=https://127.0.0.1:$HTTPS_PORT
fetch crl "$T_DIR/restart.der"
eq "after a restart the daemon serves the newest CRL" "$(crl_number "$T_DIR/restart.der")" "$n"
issue_cli r
code=$($C $ADMIN -o "$T_DIR/rev.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"serial\": \"$(serial_lc "$T_DIR/r.crt")\", \"reason\": \"superseded\"}" \
	"$https/v1/revoke")
eq "POST /v1/revoke after a restart: 200" "$code" 200
fetch crl "$T_DIR/restart2.der"
nr=$(crl_number "$T_DIR/restart2.der")
[ "$nr" -gt "$n" ] || fail "after a restart: CRL number $nr > $n"
ok "after a restart: CRL number $nr > $n"
eq "after a restart: the number is the largest ever" "$(db_max)" "$nr"
eq "superseded reason" "$(reason_in "$T_DIR/restart2.der" "$(serial_up "$T_DIR/r.crt")")" Superseded
numbers_sane "after a restart"

# ---------------------------------------------------------------- concurrent revocations

k=0
while [ $k -lt 10 ]; do
	issue_cli "p$k"
	k=$((k + 1))
done
before=$(db_max)
pids=""
k=0
while [ $k -lt 10 ]; do
	s=$(serial_lc "$T_DIR/p$k.crt")
	if [ $((k % 2)) -eq 0 ]; then
		"$MTLSCA" -c "$conf" revoke "$s" --reason keyCompromise >"$T_DIR/par$k.out" 2>&1 &
	else
		$C $ADMIN -o "$T_DIR/par$k.out" -w '%{http_code}' -H 'Content-Type: application/json' \
			--data-binary "{\"serial\": \"$s\", \"reason\": \"keyCompromise\"}" \
			"$https/v1/revoke" >"$T_DIR/par$k.code" 2>&1 &
	fi
	pids="$pids $!"
	k=$((k + 1))
done
k=0
for p in $pids; do
	if wait "$p"; then :; else
		cat "$T_DIR/par$k.out"
		fail "concurrent revocation $k exits 0"
	fi
	if [ $((k % 2)) -eq 1 ]; then
		[ "$(cat "$T_DIR/par$k.code")" = 200 ] ||
			{ cat "$T_DIR/par$k.code" "$T_DIR/par$k.out"; fail "concurrent POST /v1/revoke $k: 200"; }
	else
		grep -q "^revoked .*published CRL number" "$T_DIR/par$k.out" ||
			{ cat "$T_DIR/par$k.out"; fail "concurrent mtlsca revoke $k"; }
	fi
	k=$((k + 1))
done
ok "5 CLI and 5 API revocations in parallel all succeed"
numbers_sane "concurrent revocations"
after=$(db_max)
[ "$after" -ge $((before + 10)) ] || fail "one CRL per revocation: $before -> $after"
ok "one new CRL per revocation ($before -> $after)"
# mtlscad writes the files of what it published within a second (doc/durability.md);
# the CLI before it returns.
i=0
while [ "$(crl_number "$d/crl/ca.crl")" != "$after" ] && [ $i -lt 40 ]; do
	i=$((i + 1))
	sleep 0.1
done
eq "crl/ca.crl on disk is the newest CRL" "$(crl_number "$d/crl/ca.crl")" "$after"
wait_served crl "$after"
cp "$T_DIR/served.der" "$T_DIR/par.der"
eq "daemon serves the newest CRL" "$(crl_number "$T_DIR/par.der")" "$after"
k=0
while [ $k -lt 10 ]; do
	listed "$T_DIR/par.der" "$(serial_up "$T_DIR/p$k.crt")" || fail "final CRL lists p$k"
	listed "$d/crl/ca.crl" "$(serial_up "$T_DIR/p$k.crt")" || fail "crl/ca.crl lists p$k"
	k=$((k + 1))
done
ok "the final CRL lists all 10"
crl_verifies "$T_DIR/par.der" "$d/chain.pem" || fail "final CRL verifies"
ok "final CRL verifies"

# ---------------------------------------------------------------- expired entries leave

issue_cli x --validity 2s
sx=$(serial_up "$T_DIR/x.crt")
not_after=$(date -u -d "$("$OPENSSL" x509 -in "$T_DIR/x.crt" -noout -enddate | sed 's/^notAfter=//')" +%s)
"$MTLSCA" -c "$conf" revoke "$sx" --reason keyCompromise >"$T_DIR/rev.out" 2>&1 ||
	{ cat "$T_DIR/rev.out"; fail "revoke the short-lived certificate"; }
listed "$d/crl/ca.crl" "$sx" || fail "short-lived certificate listed while valid"
ok "short-lived certificate listed while valid"
i=0
while [ "$(date +%s)" -le "$not_after" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the short-lived certificate expires"
	sleep 0.1
done
n=$("$MTLSCA" -c "$conf" crl)
listed "$d/crl/ca.crl" "$sx" || fail "still listed in the first CRL after expiry (number $n)"
ok "still listed in the first CRL after expiry (number $n)"
n=$("$MTLSCA" -c "$conf" crl)
listed "$d/crl/ca.crl" "$sx" && fail "gone from the second CRL after expiry (number $n)"
ok "gone from the second CRL after expiry (number $n)"
listed "$d/crl/ca.crl" "$(serial_up "$T_DIR/p0.crt")" || fail "unexpired entries stay"
ok "unexpired entries stay"
wait_served crl "$n"
listed "$T_DIR/served.der" "$sx" && fail "served /crl drops the expired entry too"
ok "served /crl drops the expired entry too"
eq "/metrics reports the CRL number being served" \
	"$($CURL -s "http://127.0.0.1:$HTTP_PORT/metrics" | sed -n 's/^mtlsca_crl_number //p')" \
	"$(crl_number "$T_DIR/served.der")"
numbers_sane "at the end"

# A revocation whose CRL was never published (the publish failed) is
# repaired by the next revoke call of the same serial: it publishes then.
issue_cli lost
sl=$(serial_lc "$T_DIR/lost.crt")
"$MTLSCA" -c "$conf" revoke "$sl" >/dev/null
# As if that publish had failed: its CRL is not stored.
sqlite3 "$d/mtlsca.db" "delete from crls where issuer = 'ca' and number =
	(select max(number) from crls where issuer = 'ca')"
"$MTLSCA" -c "$conf" revoke "$sl" >"$T_DIR/again.out"
grep -q "published CRL number" "$T_DIR/again.out" ||
	{ cat "$T_DIR/again.out"; fail "revoking again publishes the missing CRL"; }
sqlite3 "$d/mtlsca.db" "select writefile('$T_DIR/newest.der', der) from crls
	where issuer = 'ca' order by number desc limit 1" >/dev/null
listed "$T_DIR/newest.der" "$(serial_up "$T_DIR/lost.crt")" ||
	fail "the newest stored CRL lists the serial"
ok "revoking again publishes the CRL an earlier failure left out"

stop_daemon
echo "1..$T_NUM"
