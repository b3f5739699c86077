#!/bin/sh
# durable_load.sh - the speed never comes from weaker durability: under
# concurrent load on /v1/sign (tokens) and /v1/renew (mTLS), with and
# without a SIGKILL of mtlscad in the middle of it, every certificate a
# client received is in the database, and every token use is recorded
# together with its certificate (a use is spent exactly when a certificate
# was recorded against the token, so a token is never over-spent and no
# client holds a certificate whose use was lost).  The load comes from
# bench/loadgen (16 keep-alive connections in all), which writes each
# reply it got to a file.
set -e
. "$TESTS_SRCDIR/lib.sh"
: "${LOADGEN:?}"
command -v sqlite3 >/dev/null || fail "sqlite3 not found: run tools/install-deps"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/k" \
	-subj /CN=load.test.internal -addext subjectAltName=DNS:load.test.internal \
	-out "$T_DIR/csr" 2>/dev/null
jq -c -n --rawfile csr "$T_DIR/csr" '{csr: $csr}' >"$T_DIR/sign.json"
echo '{}' >"$T_DIR/renew.json"

# token USES: a new token for the test's name
token() {
	"$MTLSCA" -c "$conf" token create --profile private --name load.test.internal \
		--uses "$1" --ttl 1h
}

# token_id TOKEN: its id (the 16 hex digits after "mtls_")
token_id() {
	echo "$1" | sed 's/^mtls_\([0-9a-f]*\)\..*/\1/'
}

# load NAME SECONDS CONNS PATH BODY ARGS...: loadgen in the background,
# replies (201 only) to $T_DIR/NAME.out; sets L_PID
load() {
	_n=$1 _s=$2 _c=$3 _p=$4 _b=$5
	shift 5
	"$LOADGEN" -u "https://127.0.0.1:$HTTPS_PORT$_p" -c "$_c" -d "$_s" -b "$_b" \
		-H 'Content-Type: application/json' -s 201 --cacert "$d/chain.pem" \
		-o "$T_DIR/$_n.out" "$@" >"$T_DIR/$_n.lg" 2>&1 &
	L_PID=$!
}

# got NAME: how many certificates loadgen NAME received
got() {
	sed -n 's/.* ok=\([0-9]*\) .*/\1/p' "$T_DIR/$1.lg"
}

# all_recorded NAME: every serial in NAME.out is a row of the database
all_recorded() {
	_want=$(jq -r .serial "$T_DIR/$1.out" | sort -u | wc -l)
	[ "$_want" -eq "$(wc -l <"$T_DIR/$1.out")" ] || fail "$1: a serial came back twice"
	# The serials go in on standard input: thousands of them outgrow one argument.
	{
		echo "create temp table got (serial text primary key);"
		jq -r .serial "$T_DIR/$1.out" | sort -u | sed "s/.*/insert into got values ('&');/"
		echo "select count(*) from certificates where serial in (select serial from got);"
	} >"$T_DIR/$1.sql"
	_have=$(sqlite3 "$db" <"$T_DIR/$1.sql")
	eq "$1: all $_want certificates the clients received are recorded" "$_have" "$_want"
}

# uses_match TOKEN NAME: the uses the token spent are exactly the
# certificates recorded against it, and at least those its client got
uses_match() {
	_id=$(token_id "$1")
	_spent=$(sqlite3 "$db" "select uses_total - uses_left from tokens where id = '$_id'")
	_certs=$(sqlite3 "$db" "select count(*) from certificates where requester = 'token:$_id'")
	_left=$(sqlite3 "$db" "select uses_left from tokens where id = '$_id'")
	eq "$2: uses spent = certificates recorded against the token" "$_spent" "$_certs"
	[ "$_left" -ge 0 ] || fail "$2: the token has $_left uses left"
	_got=$(jq -r .serial "$T_DIR/$2.out" | wc -l)
	[ "$_got" -le "$_spent" ] || fail "$2: clients got $_got certificates, $_spent uses recorded"
	ok "$2: clients got $_got certificates, $_spent uses recorded, $_left left"
}

# A client certificate to renew with.
start_daemon "$conf"
t=$(token 1)
$CURL -sS --max-time 30 --cacert "$d/chain.pem" -H "Authorization: Bearer $t" \
	-H 'Content-Type: application/json' --data-binary "@$T_DIR/sign.json" \
	"https://127.0.0.1:$HTTPS_PORT/v1/sign" | jq -r .certificate >"$T_DIR/client.crt"
grep -q "BEGIN CERTIFICATE" "$T_DIR/client.crt" || fail "no client certificate"
RENEW="--cert $T_DIR/client.crt --key $T_DIR/k"

# ---- 1: load, then a clean stop ---------------------------------------------
# 8 connections signing on one many-use token, 8 renewing, for 3 s.
many=$(token 10000)
load sign1 3 8 /v1/sign "$T_DIR/sign.json" -H "Authorization: Bearer $many"
p1=$L_PID
# shellcheck disable=SC2086
load renew1 3 8 /v1/renew "$T_DIR/renew.json" $RENEW
p2=$L_PID
wait $p1 $p2
[ "$(got sign1)" -gt 0 ] && [ "$(got renew1)" -gt 0 ] || {
	cat "$T_DIR/sign1.lg" "$T_DIR/renew1.lg"
	fail "load 1: no certificates issued"
}
ok "load 1: $(got sign1) signed, $(got renew1) renewed"
all_recorded sign1
all_recorded renew1
uses_match "$many" sign1

# A one-use and a five-use token, each raced by 8 connections: one and
# five certificates, never more, each use with its certificate.
one=$(token 1)
five=$(token 5)
load race1 1 8 /v1/sign "$T_DIR/sign.json" -H "Authorization: Bearer $one"
p1=$L_PID
load race5 1 8 /v1/sign "$T_DIR/sign.json" -H "Authorization: Bearer $five"
p2=$L_PID
wait $p1 $p2
eq "one-use token under 8 connections: one certificate" "$(got race1)" 1
eq "five-use token under 8 connections: five certificates" "$(got race5)" 5
all_recorded race1
all_recorded race5
uses_match "$one" race1
uses_match "$five" race5
stop_daemon

# ---- 2: SIGKILL in the middle of the load -------------------------------------
start_daemon "$conf"
many2=$(token 10000)
few=$(token 40)
load sign2 4 6 /v1/sign "$T_DIR/sign.json" -H "Authorization: Bearer $many2"
p1=$L_PID
load few2 4 4 /v1/sign "$T_DIR/sign.json" -H "Authorization: Bearer $few"
p2=$L_PID
# shellcheck disable=SC2086
load renew2 4 6 /v1/renew "$T_DIR/renew.json" $RENEW
p3=$L_PID
sleep 1.5
kill -KILL "$D_PID"
wait "$D_PID" 2>/dev/null || true
T_PIDS=$(echo "$T_PIDS" | sed "s/ $D_PID//")
ok "mtlscad killed with SIGKILL under load"
wait $p1 $p2 $p3
[ "$(got sign2)" -gt 0 ] && [ "$(got renew2)" -gt 0 ] || {
	cat "$T_DIR/sign2.lg" "$T_DIR/renew2.lg"
	fail "load 2: no certificates before the kill"
}
grep -q "conn_errors=[1-9]" "$T_DIR/sign2.lg" || {
	cat "$T_DIR/sign2.lg"
	fail "load 2: the clients did not see the daemon go"
}
ok "load 2: $(got sign2) + $(got few2) signed, $(got renew2) renewed before the kill"
all_recorded sign2
all_recorded few2
all_recorded renew2
uses_match "$many2" sign2
uses_match "$few" few2

# The daemon comes back on the same database and the spent uses stay spent.
start_daemon "$conf"
left=$(sqlite3 "$db" "select uses_left from tokens where id = '$(token_id "$few")'")
load after 1 2 /v1/sign "$T_DIR/sign.json" -H "Authorization: Bearer $few"
wait $L_PID
[ "$(got after)" -le "$left" ] || fail "after the restart: $(got after) certificates, $left uses were left"
ok "after the restart: $(got after) certificates for the $left uses left"
all_recorded after
eq "after the restart: the 40-use token is spent exactly" \
	"$(sqlite3 "$db" "select count(*) from certificates where requester = 'token:$(token_id "$few")'")" \
	"$(sqlite3 "$db" "select uses_total - uses_left from tokens where id = '$(token_id "$few")'")"
stop_daemon
