#!/bin/sh
# health_cache.sh - GET /v1/health (unauthenticated, on both listeners)
# checks the CA signer at most once per interval (5 s) and answers the
# rest from the cached result: /metrics counts the signer checks, and a
# request after the interval checks again.
# (That a failing check is reported and cached: tests/test_probe.)
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
start_daemon "$d/mtlsca.conf"
https=https://127.0.0.1:$HTTPS_PORT
http=http://127.0.0.1:$HTTP_PORT
C="$CURL -sS --max-time 30 --cacert $d/chain.pem"
M=mtlsca_signer_checks_total

# checks: $n = the signer checks counted on /metrics so far
checks() {
	$C "$http/metrics" >"$T_DIR/metrics" || fail "GET /metrics"
	n=$(awk -v k="$M" '$1 == k { print $2 }' "$T_DIR/metrics")
	[ -n "$n" ] || fail "/metrics has $M"
}

eq "a health request answers ok" "$($C "$https/v1/health")" '{"status":"ok"}'
checks
before=$n
[ "$before" -ge 1 ] || fail "the first health request checked the signer ($M = $before)"
ok "the first health request checked the signer"
start=$(date +%s)
# 25 requests on each listener, each curl reusing its connection
urls_s="" urls_h=""
i=1
while [ $i -le 25 ]; do
	urls_s="$urls_s $https/v1/health"
	urls_h="$urls_h $http/v1/health"
	i=$((i + 1))
done
$C -w '\n' $urls_s >"$T_DIR/s.out" &
p1=$!
$C -w '\n' $urls_h >"$T_DIR/h.out" &
p2=$!
wait $p1 || fail "curl on HTTPS"
wait $p2 || fail "curl on HTTP"
elapsed=$(($(date +%s) - start))
eq "50 health requests: all ok" "$(sort "$T_DIR/s.out" "$T_DIR/h.out" | uniq -c | sed 's/^ *//')" \
	'50 {"status":"ok"}'
checks
after=$n
# One check per 5 s interval begun while they ran (two when they straddle a boundary).
allowed=$((2 + elapsed / 5))
[ $((after - before)) -le $allowed ] ||
	fail "50 health requests in ${elapsed}s: at most $allowed signer checks (got $((after - before)))"
ok "50 health requests in ${elapsed}s: $((after - before)) signer checks (at most $allowed)"
# The cached result does not stand forever: a later request checks again
# (poll for up to 30 s; the interval is 5 s).
i=0
while :; do
	$C "$http/v1/health" >/dev/null || fail "GET /v1/health"
	checks
	[ "$n" -le "$after" ] || break
	i=$((i + 1))
	[ $i -lt 60 ] || fail "no new signer check within 30 s ($M stays $n)"
	sleep 0.5
done
ok "a health request after the interval checks the signer again"
grep -q "^# TYPE $M counter" "$T_DIR/metrics" || fail "$M is a counter"
ok "$M is a counter"

stop_daemon
echo "1..$T_NUM"
