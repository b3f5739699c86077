#!/bin/sh
# bench/compare.sh - certificate issuance side by side, same machine, same
# run, same client (bench/loadgen): CFSSL's `cfssl serve` over TLS with its
# SQLite certdb and without a database, and mtlscad's POST /v1/sign (a
# many-use token per connection) and POST /v1/renew (mTLS).  Every side
# signs with a P-256 CA; the peers are started here and stopped at exit.
#
# usage: [THREADS=N] bench/compare.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
#        bench/compare.sh --smoke [BUILD_DIR]   (1 s, 4 connections: the
#        benches keep working; figures meaningless)
#
# Prints one line per side (loadgen's figures), the server CPU per issued
# certificate (utime+stime of the server - and of mtlscad's signer process -
# from /proc/PID/stat over the run, divided by the certificates issued), the
# server's peak RSS, and the ratios of mtlscad to CFSSL.  Without cfssl
# (Debian golang-cfssl) the CFSSL sides are skipped with a message.
# SKIP_CFSSL=1 runs mtlscad's sides only.  THREADS sets mtlscad's
# limits.threads (default: the configuration's default, one per CPU); a
# request waiting for its group commit holds no thread (its connection is
# suspended), so few threads batch many certificates.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=0
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
build=${1:-$top/_build/default}
build=$(cd "$build" && pwd)
secs=${2:-10}
conns=${3:-64}
if [ $smoke = 1 ]; then
	secs=1
	conns=4
fi
loadgen=$build/bench/loadgen
mtlsca=$build/src/mtlsca
mtlscad=$build/src/mtlscad
OPENSSL=${OPENSSL:-openssl}
for b in "$loadgen" "$mtlsca" "$mtlscad"; do
	[ -x "$b" ] || {
		echo "compare: $b missing (make first)"
		exit 1
	}
done
command -v sqlite3 >/dev/null || {
	echo "compare: sqlite3 missing (apt-get install sqlite3)"
	exit 1
}
dir=$(mktemp -d "${TMPDIR:-/tmp}/mtlsca-bench.XXXXXX")
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
hz=$(getconf CLK_TCK)

# free_port: a free TCP port on 127.0.0.1 below the ephemeral range
free_port() {
	python3 -c 'import random, socket
for _ in range(100):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break'
}

# cpu_ticks PID...: utime+stime (clock ticks) of these processes, summed
cpu_ticks() {
	_t=0
	for _p in "$@"; do
		_v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$_p/stat" 2>/dev/null || echo 0)
		_t=$((_t + _v))
	done
	echo $_t
}

# rss_kb PID: VmHWM (peak resident) of PID in kB
rss_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most)
wait_port() {
	python3 -c 'import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$1"
}

# run NAME COUNT-CMD PIDS -- LOADGEN-ARGS...: one side; prints its line and
# sets r_rps, r_p99, r_cpu_us, r_errors
run() {
	_name=$1 _count=$2 _pids=$3
	shift 4
	_c0=$(eval "$_count")
	_t0=$(cpu_ticks $_pids)
	"$loadgen" -c "$conns" -d "$secs" "$@" >"$dir/lg.out" 2>&1 || {
		cat "$dir/lg.out"
		echo "compare: loadgen failed for $_name"
		exit 1
	}
	_t1=$(cpu_ticks $_pids)
	_c1=$(eval "$_count")
	_line=$(tail -n1 "$dir/lg.out")
	r_rps=$(echo "$_line" | sed -n 's/.* rps=\([0-9]*\).*/\1/p')
	r_p99=$(echo "$_line" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p')
	r_ok=$(echo "$_line" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
	r_errors=$(echo "$_line" | sed -n 's/.* http_errors=\([0-9]*\) conn_errors=\([0-9]*\).*/\1+\2/p')
	_n=$((_c1 - _c0))
	[ "$_n" -gt 0 ] || _n=$r_ok
	[ "$_n" -gt 0 ] || _n=1
	r_cpu_us=$(((_t1 - _t0) * 1000000 / hz / _n))
	_rss=0
	for _p in $_pids; do _rss=$((_rss + $(rss_kb "$_p"))); done
	printf '%-28s %7s cert/s  p99 %7s ms  errors %-7s issued %6d  server CPU %5d us/cert  peak RSS %4d MB\n' \
		"$_name" "$r_rps" "$r_p99" "$r_errors" "$_n" "$r_cpu_us" $((_rss / 1024))
}

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo "client: bench/loadgen, $conns keep-alive connections, ${secs}s per side, P-256 everywhere"
[ $smoke = 1 ] && echo "(smoke run: figures are meaningless)"

# ---- one P-256 CSR for every side -------------------------------------------
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/leaf.key" \
	-subj /CN=bench.internal -addext subjectAltName=DNS:bench.internal \
	-out "$dir/leaf.csr" 2>/dev/null
csr_json=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$dir/leaf.csr")

# ---- CFSSL --------------------------------------------------------------------
cfssl_rps_db= cfssl_rps_nodb=
if [ -n "${SKIP_CFSSL:-}" ]; then
	echo "CFSSL: skipped (SKIP_CFSSL set)"
elif command -v cfssl >/dev/null 2>&1; then
	c=$dir/cfssl
	mkdir -p "$c"
	"$OPENSSL" req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$c/ca-key.pem" -out "$c/ca.pem" -days 30 -subj "/CN=CFSSL bench CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		2>/dev/null
	"$OPENSSL" req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$c/tls-key.pem" -out "$c/tls.pem" -days 30 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 2>/dev/null
	cat >"$c/config.json" <<'EOF'
{"signing": {"default": {"expiry": "24h",
  "usages": ["digital signature", "key encipherment", "server auth", "client auth"]}}}
EOF
	# CFSSL's certdb schema (certdb/sqlite/migrations/001_CreateCertificates.sql)
	sqlite3 "$c/certs.db" <<'EOF'
CREATE TABLE certificates (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  ca_label                 blob,
  status                   blob NOT NULL,
  reason                   int,
  expiry                   timestamp,
  revoked_at               timestamp,
  pem                      blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier)
);
CREATE TABLE ocsp_responses (
  serial_number            blob NOT NULL,
  authority_key_identifier blob NOT NULL,
  body                     blob NOT NULL,
  expiry                   timestamp,
  PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier)
    REFERENCES certificates(serial_number, authority_key_identifier)
);
EOF
	printf '{"driver": "sqlite3", "data_source": "%s"}\n' "$c/certs.db" >"$c/db.json"
	printf '{"certificate_request": %s}' "$csr_json" >"$c/body.json"
	for mode in db nodb; do
		port=$(free_port)
		dbarg=
		[ $mode = db ] && dbarg="-db-config $c/db.json"
		# shellcheck disable=SC2086
		cfssl serve -address 127.0.0.1 -port "$port" -ca "$c/ca.pem" -ca-key "$c/ca-key.pem" \
			-config "$c/config.json" -tls-cert "$c/tls.pem" -tls-key "$c/tls-key.pem" \
			$dbarg -loglevel 5 >"$c/serve.$mode.log" 2>&1 &
		cpid=$!
		pids="$pids $cpid"
		wait_port "$port" || {
			cat "$c/serve.$mode.log"
			echo "compare: cfssl serve did not start"
			exit 1
		}
		if [ $mode = db ]; then
			run "CFSSL + SQLite certdb" "sqlite3 $c/certs.db 'select count(*) from certificates'" \
				"$cpid" -- -u "https://127.0.0.1:$port/api/v1/cfssl/sign" -b "$c/body.json" \
				-H 'Content-Type: application/json' -s 200
			cfssl_rps_db=$r_rps
			[ "$(sqlite3 "$c/certs.db" 'select count(*) from certificates')" -gt 0 ] || {
				echo "compare: CFSSL recorded nothing in its certdb"
				exit 1
			}
		else
			run "CFSSL, no database" "echo 0" "$cpid" -- \
				-u "https://127.0.0.1:$port/api/v1/cfssl/sign" -b "$c/body.json" \
				-H 'Content-Type: application/json' -s 200
			cfssl_rps_nodb=$r_rps
		fi
		kill "$cpid"
		wait "$cpid" 2>/dev/null || true
		pids=$(echo "$pids" | sed "s/ $cpid//")
	done
else
	echo "CFSSL: skipped (cfssl not found: apt-get install golang-cfssl)"
fi

# ---- mtlscad -----------------------------------------------------------------
m=$dir/mtlsca
"$mtlsca" init --dir "$m" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
	--public-url http://ca.bench.internal:8080 >/dev/null
if [ -n "${THREADS:-}" ]; then
	python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c.setdefault("limits", {})["threads"] = int(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"), indent=2)' "$m/mtlsca.conf" "$THREADS"
fi
echo "mtlscad: limits.threads ${THREADS:-default (one per CPU)}"
"$mtlscad" -c "$m/mtlsca.conf" --foreground 2>"$m/log" &
dpid=$!
pids="$pids $dpid"
i=0
while ! grep -q "listening https=" "$m/log"; do
	i=$((i + 1))
	[ $i -lt 200 ] && kill -0 $dpid 2>/dev/null || {
		cat "$m/log"
		echo "compare: mtlscad did not start"
		exit 1
	}
	sleep 0.05
done
https=$(sed -n 's/.*listening https=\([^ ]*\) .*/\1/p' "$m/log")
spid=$(pgrep -P "$dpid" | head -n1 || true) # the signer process
idle_rss=$(rss_kb "$dpid")
# One many-use token per connection (a token has at most 10,000 uses).
: >"$m/tokens"
i=0
while [ $i -lt "$conns" ]; do
	t=$("$mtlsca" -c "$m/mtlsca.conf" token create --profile private --name bench.internal \
		--uses 10000 --ttl 1h)
	echo "Authorization: Bearer $t" >>"$m/tokens"
	i=$((i + 1))
done
printf '{"csr": %s}' "$csr_json" >"$m/sign.json"
count="sqlite3 $m/mtlsca.db 'select count(*) from certificates'"
run "mtlscad POST /v1/sign" "$count" "$dpid $spid" -- -u "https://$https/v1/sign" \
	-b "$m/sign.json" -H 'Content-Type: application/json' -A "$m/tokens" -s 201 \
	--cacert "$m/chain.pem"
m_sign_rps=$r_rps m_sign_p99=$r_p99 m_sign_cpu=$r_cpu_us
# A client certificate to renew with, from one more token.
t=$("$mtlsca" -c "$m/mtlsca.conf" token create --profile private --name bench.internal --uses 1 --ttl 1h)
curl -sS --cacert "$m/chain.pem" -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
	--data-binary "@$m/sign.json" "https://$https/v1/sign" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["certificate"], end="")' >"$m/client.crt"
echo '{}' >"$m/renew.json"
run "mtlscad POST /v1/renew (mTLS)" "$count" "$dpid $spid" -- -u "https://$https/v1/renew" \
	-b "$m/renew.json" -H 'Content-Type: application/json' -s 201 --cacert "$m/chain.pem" \
	--cert "$m/client.crt" --key "$dir/leaf.key"
m_renew_rps=$r_rps m_renew_p99=$r_p99 m_renew_cpu=$r_cpu_us
sleep 1
echo "mtlscad RSS: idle at start $((idle_rss / 1024)) MB, peak $(($(rss_kb "$dpid") / 1024)) MB, now $(($(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status") / 1024)) MB"

# ---- ratios --------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'; }
if [ -n "$cfssl_rps_db" ]; then
	echo "ratio /v1/sign  : $(ratio "$m_sign_rps" "$cfssl_rps_db") CFSSL+SQLite, $(ratio "$m_sign_rps" "$cfssl_rps_nodb") CFSSL without a database"
	echo "ratio /v1/renew : $(ratio "$m_renew_rps" "$cfssl_rps_db") CFSSL+SQLite, $(ratio "$m_renew_rps" "$cfssl_rps_nodb") CFSSL without a database"
fi
echo "mtlscad: sign p99 $m_sign_p99 ms, ${m_sign_cpu} us CPU/cert; renew p99 $m_renew_p99 ms, ${m_renew_cpu} us CPU/cert"
