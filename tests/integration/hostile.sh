#!/bin/sh
# hostile.sh - hostile and crowded traffic cannot exhaust mtlscad, with the
# default limits (the config init writes has none):
#  - started with a low open-files soft limit, mtlscad raises it to the hard one;
#  - 2,000 slow clients from distinct 127.0.x.y addresses (half trickling a
#    request header a byte a second after the TLS handshake, half a TLS
#    ClientHello) and a slowloris: a fresh GET /v1/health from 127.0.0.1 is
#    answered within 2 s; each slow client is cut off at limits.request_timeout
#    (10 s) after connecting, not before; the cut-offs are logged in a few lines;
#  - 256 keep-alive clients from 127.0.0.1 for 10 s (reconnecting every 50
#    requests, as connection pools do): zero connection errors;
#  - malformed requests (200 KB header, bad chunked encoding, 10 MiB bodies,
#    deep JSON, invalid UTF-8, NULs in JSON strings, a CSR with 1,000 names, trailing data
#    after PEM and DER, two PEM blocks): each its exact 4xx or a closed
#    connection;
#  - afterwards the daemon's peak RSS is below a bound, it still serves,
#    nothing was recorded (certificates and tokens unchanged) and SIGTERM
#    ends it with exit 0.
# The clients are tests/integration/hostile.py (python3, loopback only).
set -e
. "$TESTS_SRCDIR/lib.sh"

SLOW=2000
KEEPALIVE=256
KEEPALIVE_SECS=10
REQUEST_TIMEOUT=10 # the default limits.request_timeout
# Peak RSS bound (VmHWM): 2,000 TLS connections cost about 60 MB over a
# 25 MB start (measured: 89 MB peak).  Sanitizer builds keep freed memory
# in quarantine: a looser bound there.
RSS_MAX_KB=$((192 * 1024))
command -v sqlite3 >/dev/null 2>&1 || fail "sqlite3 not found: run tools/install-deps"
need_python

hard=$(ulimit -H -n)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((SLOW + 300)) ]; then
	echo "# open-files hard limit $hard < $((SLOW + 300)): skipped"
	exit 77
fi

d=$T_DIR/ca
conf=$d/mtlsca.conf
db=$d/mtlsca.db
init_ca "$d"
jq -e 'has("limits") | not' "$conf" >/dev/null || fail "init writes limits: not the defaults"

# A low soft limit, as many systems have (1024): mtlscad must raise its own.
ulimit -S -n 1024
start_daemon "$conf"
ulimit -S -n "$hard"
soft_d=$(awk '/^Max open files/ { print $4 }' "/proc/$D_PID/limits")
hard_d=$(awk '/^Max open files/ { print $5 }' "/proc/$D_PID/limits")
[ "$soft_d" = "$hard_d" ] || fail "mtlscad kept its open-files soft limit $soft_d (hard $hard_d)"
ok "mtlscad raised its open-files soft limit from 1024 to the hard limit $hard_d"
if ldd "$MTLSCAD" 2>/dev/null | grep -q 'libasan\|libtsan'; then
	RSS_MAX_KB=$((1024 * 1024))
fi

# py MODE ARGS...: run hostile.py, turning its lines into ok/fail here
py() {
	_mode=$1
	shift
	set +e
	"$PYTHON" "$TESTS_SRCDIR/hostile.py" "$_mode" "$HTTPS_PORT" "$d/chain.pem" "$@" \
		>"$T_DIR/py.out" 2>&1
	_rc=$?
	set -e
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"not ok "*)
			echo "--- mtlscad log (last 30 lines)"
			tail -n 30 "$D_LOG"
			fail "${line#not ok }"
			;;
		*) echo "# $line" ;;
		esac
	done <"$T_DIR/py.out"
	[ "$_rc" -eq 0 ] || fail "hostile.py $_mode exited $_rc"
}

# state: what must not change (certificates, tokens and their uses)
state() {
	sqlite3 "$db" 'SELECT * FROM certificates ORDER BY serial' | sha256sum
	sqlite3 "$db" 'SELECT * FROM tokens ORDER BY 1' | sha256sum
}

# rss KEY: the daemon's VmRSS or VmHWM in kB
rss() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$D_PID/status"
}

# The CSRs for the malformed list: a good one, one with 1,000 SANs.
"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-keyout "$T_DIR/x.key" -subj "/CN=x.example.internal" \
	-addext "subjectAltName=DNS:x.example.internal" \
	-out "$T_DIR/x.csr" >"$T_DIR/req.out" 2>&1 || { cat "$T_DIR/req.out"; fail "openssl req"; }
sans=$(awk 'BEGIN { for (i = 0; i < 1000; i++) printf "%sDNS:n%d.example.internal", i ? "," : "", i }')
"$OPENSSL" req -new -noenc -key "$T_DIR/x.key" -subj "/CN=x.example.internal" \
	-addext "subjectAltName=$sans" -out "$T_DIR/x1000.csr" >"$T_DIR/req.out" 2>&1 || {
	cat "$T_DIR/req.out"
	fail "openssl req (1,000 names)"
}
tok=$("$MTLSCA" -c "$conf" token create --profile private --name x.example.internal --uses 50)
before=$(state)
rss0=$(rss VmRSS)

py crowd "$SLOW" "$REQUEST_TIMEOUT"
# cut_count: connections the log says were cut off; lines: how many lines say it
cut_count() {
	sed -n 's/.*closed \([0-9]*\) connections* that had not.*/\1/p' "$D_LOG" |
		awk '{ s += $1 } END { print s + 0 }'
}
# The count is logged at most once a second: wait for the last line.
i=0
while [ "$(cut_count)" -lt "$SLOW" ] && [ $i -lt 40 ]; do
	i=$((i + 1))
	sleep 0.1
done
cut=$(cut_count)
[ "$cut" -ge "$SLOW" ] || fail "the log counts $cut cut-off connections, want at least $SLOW"
n=$(grep -c 'closed [0-9]* connections* that had not sent a complete request' "$D_LOG" || true)
[ "$n" -le $((REQUEST_TIMEOUT + 10)) ] ||
	fail "the cut-offs take $n log lines, want at most $((REQUEST_TIMEOUT + 10))"
ok "the log says $cut connections were cut off, in $n lines"
mhd=$(grep -c 'libmicrohttpd:' "$D_LOG" || true)
[ "$mhd" -le 200 ] || fail "$mhd libmicrohttpd log lines for one crowd: not rate-limited"
ok "$mhd libmicrohttpd log lines for the crowd (rate-limited)"

py keepalive "$KEEPALIVE" "$KEEPALIVE_SECS"
grep -q 'connection limit' "$D_LOG" && fail "the log has 'connection limit' lines"
ok "no connection refused for a limit"

py malformed "$tok" "$T_DIR/x.csr" "$T_DIR/x1000.csr"

kill -0 "$D_PID" 2>/dev/null || fail "mtlscad died"
peak=$(rss VmHWM)
echo "# mtlscad RSS: ${rss0} kB at start, peak ${peak} kB, now $(rss VmRSS) kB"
[ "$peak" -lt "$RSS_MAX_KB" ] || fail "mtlscad peak RSS ${peak} kB, bound ${RSS_MAX_KB} kB"
ok "mtlscad peak RSS ${peak} kB (start ${rss0} kB) is below ${RSS_MAX_KB} kB"
eq "health after all of it" \
	"$($CURL -sS --max-time 5 --cacert "$d/chain.pem" "https://127.0.0.1:$HTTPS_PORT/v1/health")" \
	'{"status":"ok"}'
eq "nothing recorded (certificates, tokens)" "$(state)" "$before"
stop_daemon
echo "1..$T_NUM"
