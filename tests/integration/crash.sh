#!/bin/sh
# crash.sh - durability.md: kill -9 the daemon in the middle of concurrent
# issuance; after restart every certificate a client received is in the
# database, no row is half-written, integrity_check is ok, and the CA
# keeps working.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
start_daemon "$d/mtlsca.conf"
tok=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private --name crash.internal \
	--uses 1000 --ttl 1h)
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/k" \
	-subj /CN=crash.internal -addext subjectAltName=DNS:crash.internal -out "$T_DIR/csr" \
	2>/dev/null
jq -n --rawfile csr "$T_DIR/csr" '{csr: $csr}' >"$T_DIR/body"

# 8 clients issue in a loop; the daemon is killed while they run.
for c in 1 2 3 4 5 6 7 8; do
	(
		n=0
		while [ $n -lt 40 ]; do
			n=$((n + 1))
			$CURL -s --max-time 10 --cacert "$d/chain.pem" -o "$T_DIR/r.$c.$n" \
				-H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
				--data @"$T_DIR/body" "https://127.0.0.1:$HTTPS_PORT/v1/sign" || break
		done
	) &
	T_PIDS="$T_PIDS $!"
done
i=0
while [ "$(sqlite3 "$d/mtlsca.db" "select count(*) from certificates where profile = 'private'")" -lt 30 ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "issuance did not get going"
	sleep 0.05
done
kill -KILL "$D_PID"
wait "$D_PID" 2>/dev/null || true
T_PIDS=$(echo "$T_PIDS" | sed "s/ $D_PID//")
ok "mtlscad killed with SIGKILL in the middle of issuance"
wait
# A reply cut by the kill is not JSON: read each file on its own.
received=$(for f in "$T_DIR"/r.*; do jq -r '.serial // empty' "$f" 2>/dev/null || true; done |
	sort -u)
n=$(echo "$received" | grep -c . || true)
# A certificate is committed before its reply is sent, so the kill may cut
# replies of committed ones: fewer received than recorded is expected.
[ "$n" -ge 10 ] || fail "clients received at least 10 certificates ($n)"
ok "clients received $n certificates before the kill"
eq "integrity_check after the kill" "$(sqlite3 "$d/mtlsca.db" "PRAGMA integrity_check")" ok
missing=0
for s in $received; do
	[ "$(sqlite3 "$d/mtlsca.db" "select count(*) from certificates where serial = '$s'")" = 1 ] ||
		missing=$((missing + 1))
done
eq "every certificate a client received is recorded" "$missing" 0
eq "every recorded certificate has its audit row" \
	"$(sqlite3 "$d/mtlsca.db" "select count(*) from certificates c where not exists
		(select 1 from audit a where a.serial = c.serial and a.action = 'issue')")" 0
eq "no half-written rows" \
	"$(sqlite3 "$d/mtlsca.db" "select count(*) from certificates where length(der) = 0
		or fingerprint = '' or not_after <= not_before")" 0
start_daemon "$d/mtlsca.conf"
eq "the restarted daemon is healthy" \
	"$($CURL -s --cacert "$d/chain.pem" "https://127.0.0.1:$HTTPS_PORT/v1/health")" \
	'{"status":"ok"}'
code=$($CURL -s -o "$T_DIR/after" -w '%{http_code}' --cacert "$d/chain.pem" \
	-H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data @"$T_DIR/body" "https://127.0.0.1:$HTTPS_PORT/v1/sign")
eq "and issues again with the same token" "$code" 201
stop_daemon
echo "1..$T_NUM"
