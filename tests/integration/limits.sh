#!/bin/sh
# limits.sh - connection limits and timeouts: idle (slow) clients cannot
# hold the daemon, extra connections from one address are refused, and the
# daemon serves again as soon as the idle ones time out.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
jq '. + {"limits": {"max_connections": 8, "max_connections_per_ip": 2,
	"connection_timeout": "2s", "threads": 1}}' "$d/mtlsca.conf" >"$d/l.conf"
start_daemon "$d/l.conf"
https=https://127.0.0.1:$HTTPS_PORT
C="$CURL -sS --max-time 5 --cacert $d/chain.pem"
eq "health before" "$($C "$https/v1/health")" '{"status":"ok"}'

# Two idle TLS connections (the per-address limit) that send no request.
for i in 1 2; do
	(sleep 8 | "$OPENSSL" s_client -connect "127.0.0.1:$HTTPS_PORT" \
		-CAfile "$d/chain.pem" >"$T_DIR/idle$i.out" 2>&1) &
	T_PIDS="$T_PIDS $!"
	wait_for_line "$T_DIR/idle$i.out" "Verify return code" "$!" 100 ||
		fail "idle connection $i did not complete its handshake"
done
if $C "$https/v1/health" >/dev/null 2>&1; then
	fail "a third connection from the same address must be refused"
fi
ok "a third connection from the same address is refused"
# Another address is not limited by those two.
eq "another address still served" \
	"$($C --interface 127.0.0.2 "$https/v1/health" 2>/dev/null || echo refused)" \
	'{"status":"ok"}'
# Idle connections are closed after connection_timeout: the address is served again.
sleep 2
i=0
until got=$($C "$https/v1/health" 2>/dev/null) && [ "$got" = '{"status":"ok"}' ]; do
	i=$((i + 1))
	[ $i -lt 20 ] || fail "not served again after the idle connections' timeout"
	sleep 0.25
done
ok "served again once the idle connections timed out (after 2s + $i x 0.25s)"
[ $i -lt 12 ] || fail "idle connections lingered more than 3 s past their 2 s timeout"
grep -q "access client=127.0.0.1 id=- GET /v1/health status=200" "$D_LOG" ||
	fail "access log"
stop_daemon
echo "1..$T_NUM"
