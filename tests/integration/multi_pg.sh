#!/bin/sh
# multi_pg.sh - two mtlscad instances, active-active, on one PostgreSQL
# database (a server of the test's own, pglib.sh), as doc/multi-instance.md
# describes them: the same CA directory, each on its own ports.
#  - 8 clients on each instance through /v1/sign and /v1/renew for
#    MCA_MULTI_SECONDS (10): every certificate a client received is recorded
#    once, no serial twice, an audit row for each;
#  - 20 requests at once, split over both, on one one-time token: one 201;
#  - a revocation through A's API and one through the CLI: B's /crl lists
#    both within 2 s, and the CRL numbers either instance serves only grow;
#  - SIGKILL of A under load: B keeps issuing; A restarted serves again;
#  - PostgreSQL stopped for 3 s under load: 503s meanwhile, never a
#    certificate that is not recorded, both instances issue again by
#    themselves once it is back;
#  - an instance started while PostgreSQL is down answers /v1/health 503,
#    then 200 once it is up.
# The whole test runs in the default build only when MCA_HEAVY_TESTS=0 is
# not set (tools/test-all sets it for the sanitizer build and distcheck).
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"

if [ "${MCA_HEAVY_TESTS:-1}" = 0 ]; then
	echo "SKIP: MCA_HEAVY_TESTS=0 (the multi-instance load test runs in the default build)"
	exit 77
fi
need_python
SECONDS_LOAD=${MCA_MULTI_SECONDS:-10}
pg_start

d=$T_DIR/ca
init_ca "$d" --database "$PG_URI"
conf=$d/mtlsca.conf
eq "init wrote the PostgreSQL database into mtlsca.conf" "$(jq -r .database "$conf")" "$PG_URI"
eq "mtlsca.conf is for the owner only (it names the database server)" \
	"$(stat -c %a "$conf")" 600
eq "init recorded its four certificates in PostgreSQL" \
	"$(psql_ca 'SELECT count(*) FROM certificates')" 4
C="$CURL -sS --max-time 30 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"

# start NAME: start an instance on the shared directory; sets NAME_PID, NAME_URL, NAME_HTTP
start() {
	start_daemon "$conf"
	eval "$1_PID=$D_PID; $1_URL=https://127.0.0.1:$HTTPS_PORT; $1_HTTP=http://127.0.0.1:$HTTP_PORT"
	eval "$1_LOG=$D_LOG"
	ok "instance $1 listens (https $HTTPS_PORT)"
}
start A
start B

# The request body and key every load client uses.
"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-keyout "$T_DIR/load.key" -subj "/CN=load.example.internal" \
	-addext "subjectAltName=DNS:load.example.internal" -out "$T_DIR/load.csr" 2>/dev/null
awk 'BEGIN { printf "{\"csr\": \"" } { printf "%s\\n", $0 } END { print "\"}" }' \
	"$T_DIR/load.csr" >"$T_DIR/load.json"
tok=$("$MTLSCA" -c "$conf" token create --profile private --name load.example.internal \
	--uses 10000 --ttl 1h)

# load OUT SECONDS URL...: 8 clients per URL (in the background: sets LOAD_PID)
load() {
	_out=$1
	_s=$2
	shift 2
	"$PYTHON" "$TESTS_SRCDIR/multi_load.py" load "$_out" "$_s" 8 "$d/root.crt" "$tok" \
		"$T_DIR/load.json" "$T_DIR/load.key" "$@" &
	LOAD_PID=$!
}

# recorded OUT: every 201 of OUT is one certificate row and has an audit row
recorded() {
	awk '$1 == 201 { print $2 }' "$1" | sort >"$T_DIR/got"
	_n=$(wc -l <"$T_DIR/got")
	[ "$_n" -gt 0 ] || {
		awk '{ print $1 }' "$1" | sort | uniq -c
		tail -n 20 "$A_LOG" "$B_LOG"
		fail "$1: no certificate issued at all"
	}
	eq "$1: no serial handed out twice" "$(uniq -d "$T_DIR/got" | wc -l)" 0
	psql_ca "SELECT serial FROM certificates" | sort >"$T_DIR/db"
	eq "$1: every certificate received ($_n) is recorded" \
		"$(comm -23 "$T_DIR/got" "$T_DIR/db" | wc -l)" 0
	psql_ca "SELECT serial FROM audit WHERE action IN ('issue', 'renew') AND serial IS NOT NULL" |
		sort >"$T_DIR/audit"
	eq "$1: each has an audit row" "$(comm -23 "$T_DIR/got" "$T_DIR/audit" | wc -l)" 0
	eq "$1: no serial twice in the database" \
		"$(psql_ca 'SELECT count(*) - count(DISTINCT serial) FROM certificates')" 0
}

# ---- concurrent load over both instances ----------------------------------------
load "$T_DIR/load1" "$SECONDS_LOAD" "$A_URL" "$B_URL"
wait "$LOAD_PID" || fail "load generator"
recorded "$T_DIR/load1"
for u in "$A_URL" "$B_URL"; do
	n=$(awk -v u="$u" '$1 == 201 && $3 == u' "$T_DIR/load1" | wc -l)
	[ "$n" -gt 0 ] || fail "$u issued nothing"
	ok "$u issued $n certificates"
done
eq "load: every request succeeded" "$(awk '$1 != 201' "$T_DIR/load1" | wc -l)" 0
renewed=$(awk '$1 == 201' "$T_DIR/load1" | wc -l)
ok "load: $renewed certificates in ${SECONDS_LOAD}s over two instances"

# ---- one one-time token, 20 requests at once over both ---------------------------
once=$("$MTLSCA" -c "$conf" token create --profile private --name load.example.internal)
before=$(psql_ca 'SELECT count(*) FROM certificates')
"$PYTHON" "$TESTS_SRCDIR/multi_load.py" race "$T_DIR/race" 20 "$d/root.crt" "$once" \
	"$T_DIR/load.json" "$A_URL" "$B_URL" || fail "race generator"
eq "20 requests on a one-time token: one 201" "$(awk '$1 == 201' "$T_DIR/race" | wc -l)" 1
eq "... and 19 refusals (401)" "$(awk '$1 == 401' "$T_DIR/race" | wc -l)" 19
eq "... one certificate recorded" "$(psql_ca 'SELECT count(*) FROM certificates')" \
	$((before + 1))

# ---- revocations through A and the CLI reach B's /crl within 2 s -------------------
crl_number() {
	"$OPENSSL" crl -inform DER -in "$1" -noout -crlnumber | sed 's/^crlNumber=0x//'
}
last_a=0
last_b=0
# numbers_grow: the CRL numbers A and B serve now are no lower than before
numbers_grow() {
	$C -o "$T_DIR/a.crl" "$A_HTTP/crl" && $C -o "$T_DIR/b.crl" "$B_HTTP/crl" ||
		fail "fetching the CRLs"
	na=$((0x$(crl_number "$T_DIR/a.crl")))
	nb=$((0x$(crl_number "$T_DIR/b.crl")))
	[ "$na" -ge "$last_a" ] && [ "$nb" -ge "$last_b" ] ||
		fail "CRL numbers went down: A $last_a -> $na, B $last_b -> $nb"
	last_a=$na
	last_b=$nb
}
numbers_grow
s1=$(sed -n 1p "$T_DIR/got")
s2=$(sed -n 2p "$T_DIR/got")
code=$($C $ADMIN -o "$T_DIR/rev" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data "{\"serial\": \"$s1\", \"reason\": \"keyCompromise\"}" "$A_URL/v1/revoke")
eq "revoke $s1 through A's API" "$code" 200
check "revoke $s2 through the CLI" "$MTLSCA" -c "$conf" revoke "$s2"
t0=$(date +%s%N)
while :; do
	numbers_grow
	"$OPENSSL" crl -inform DER -in "$T_DIR/b.crl" -noout -text >"$T_DIR/b.txt"
	s1u=$(echo "$s1" | tr a-f A-F)
	s2u=$(echo "$s2" | tr a-f A-F)
	if grep -qi "Serial Number: 0*$s1u\$" "$T_DIR/b.txt" &&
		grep -qi "Serial Number: 0*$s2u\$" "$T_DIR/b.txt"; then
		break
	fi
	[ $(($(date +%s%N) - t0)) -lt 2000000000 ] || fail "B's /crl lacks $s1 or $s2 after 2 s"
	sleep 0.1
done
ok "B's /crl lists both revocations after $((($(date +%s%N) - t0) / 1000000)) ms"
eq "the CRL numbers in the database are distinct" \
	"$(psql_ca "SELECT count(*) - count(DISTINCT number) FROM crls WHERE issuer = 'ca'")" 0

# ---- SIGKILL A under load: B keeps issuing, A comes back --------------------------
load "$T_DIR/load2" 6 "$A_URL" "$B_URL"
sleep 2
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null || true
T_PIDS=$(echo "$T_PIDS" | sed "s/ $A_PID//")
ok "SIGKILL instance A under load"
wait "$LOAD_PID" || fail "load generator"
late=$(awk -v u="$B_URL" '$1 == 201 && $3 == u && $4 > 3' "$T_DIR/load2" | wc -l)
[ "$late" -gt 0 ] || fail "B issued nothing after A was killed"
ok "B kept issuing after A was killed ($late certificates)"
recorded "$T_DIR/load2"
start A
code=$($C -o /dev/null -w '%{http_code}' "$A_URL/v1/health")
eq "restarted A is healthy" "$code" 200

# ---- PostgreSQL down for 3 s under load --------------------------------------------
load "$T_DIR/load3" 12 "$A_URL" "$B_URL"
sleep 2
pg_stop_fast
ok "PostgreSQL stopped under load"
code=$($C -o /dev/null -w '%{http_code}' "$B_URL/v1/health")
eq "B's health while PostgreSQL is down" "$code" 503
sleep 3
pg_start_again
ok "PostgreSQL started again"
wait "$LOAD_PID" || fail "load generator"
recorded "$T_DIR/load3"
n503=$(awk '$1 == 503' "$T_DIR/load3" | wc -l)
[ "$n503" -gt 0 ] || fail "no 503 while PostgreSQL was down"
ok "$n503 requests answered 503 while PostgreSQL was down"
awk '$1 != 201 && $1 != 503' "$T_DIR/load3" >"$T_DIR/other"
[ ! -s "$T_DIR/other" ] || {
	cat "$T_DIR/other"
	grep -h "error\|warn" "$A_LOG" "$B_LOG" | grep -v "libmicrohttpd\|not connected" | tail -n 20
	fail "no other failure than 503 while PostgreSQL was down"
}
ok "no other failure than 503 while PostgreSQL was down"
for u in "$A_URL" "$B_URL"; do
	n=$(awk -v u="$u" '$1 == 201 && $3 == u && $4 > 9' "$T_DIR/load3" | wc -l)
	[ "$n" -gt 0 ] || fail "$u did not issue again after PostgreSQL came back"
	ok "$u issues again by itself ($n certificates in the last seconds)"
done

# ---- an instance started while PostgreSQL is down ----------------------------------
pg_stop_fast
start N
code=$($C -o /dev/null -w '%{http_code}' "$N_URL/v1/health")
eq "N started while PostgreSQL is down: health 503" "$code" 503
pg_start_again
t0=$(date +%s)
while [ "$($C -o /dev/null -w '%{http_code}' "$N_URL/v1/health")" != 200 ]; do
	[ $(($(date +%s) - t0)) -lt 15 ] || fail "N not healthy 15 s after PostgreSQL came back"
	sleep 0.2
done
ok "N healthy after PostgreSQL came back"
echo "1..$T_NUM"
