#!/bin/sh
# bench/multi.sh - issuance throughput (POST /v1/sign with many-use tokens,
# wrk) in one run: one mtlscad on SQLite, one on PostgreSQL, and two on the
# same PostgreSQL database (a wrk per instance at once; the figure is their
# sum).  PostgreSQL is a server of the script's own (initdb in a temporary
# directory, Unix socket only; as root it runs as the user postgres).
#
# usage: bench/multi.sh [BUILD_DIR] [SECONDS] [CONNECTIONS per instance]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/default}
secs=${2:-5}
conns=${3:-16}
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)"; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$pgbin/initdb" ] || { echo "bench: install postgresql (apt-get install postgresql)"; exit 1; }
dir=$(mktemp -d)
pids=
as_pg=
if [ "$(id -u)" -eq 0 ]; then
	as_pg="runuser -u postgres --"
	chmod 711 "$dir"
fi
mkdir "$dir/pgs"
[ -z "$as_pg" ] || chown postgres "$dir/pgs"
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	$as_pg "$pgbin/pg_ctl" -D "$dir/pgs/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

$as_pg "$pgbin/initdb" -D "$dir/pgs/data" -A trust -U mca --locale=C >/dev/null
$as_pg "$pgbin/pg_ctl" -D "$dir/pgs/data" -l "$dir/pgs/log" -w \
	-o "-k $dir/pgs -c listen_addresses= -c max_connections=300" start >/dev/null
$as_pg "$pgbin/createdb" -h "$dir/pgs" -U mca ca
uri="postgresql:///ca?host=$dir/pgs&user=mca"

# ca NAME [ARGS]: a CA in $dir/NAME
ca() {
	_n=$1
	shift
	"$build/src/mtlsca" init --dir "$dir/$_n" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
		--public-url http://ca.bench.internal:8080 "$@" >/dev/null
}
# daemon CONF: start mtlscad; sets url
daemon() {
	_log=$dir/log.$(date +%s%N)
	"$build/src/mtlscad" -c "$1" --foreground 2>"$_log" &
	pids="$pids $!"
	while ! grep -q "listening https=" "$_log"; do sleep 0.1; done
	url=https://$(sed -n 's/.*listening https=\([^ ]*\) .*/\1/p' "$_log")
}
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/k" \
	-subj /CN=bench.internal -addext subjectAltName=DNS:bench.internal -out "$dir/csr" 2>/dev/null
body=$(jq -c -n --rawfile csr "$dir/csr" '{csr: $csr}')
# script CONF FILE: a wrk script with a fresh 10000-use token of CONF's CA
script() {
	_tok=$("$build/src/mtlsca" -c "$1" token create --profile private \
		--name bench.internal --uses 10000 --ttl 1h)
	cat >"$2" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $_tok"
LUA
}
# sign URL SCRIPT OUT: wrk for $secs s; requests/s (2xx only) to OUT
sign() {
	wrk -t2 -c"$conns" -d"${secs}s" -s "$2" "$1/v1/sign" >"$3.wrk"
	_rps=$(sed -n 's/^Requests\/sec: *//p' "$3.wrk")
	_non=$(sed -n 's/.*Non-2xx or 3xx responses: *//p' "$3.wrk")
	echo "${_rps:-0} ${_non:-0}" >"$3"
}

ca sq
ca pg --database "$uri"
daemon "$dir/sq/mtlsca.conf"
sq_url=$url
daemon "$dir/pg/mtlsca.conf"
pg_a=$url
daemon "$dir/pg/mtlsca.conf"
pg_b=$url

echo "machine: $(nproc) cores, $(uname -m); wrk ${secs}s, $conns connections per instance"
script "$dir/sq/mtlsca.conf" "$dir/s1.lua"
sign "$sq_url" "$dir/s1.lua" "$dir/r.sq"
echo "SQLite, 1 instance:      $(cut -d' ' -f1 "$dir/r.sq") certificates/s (non-2xx: $(cut -d' ' -f2 "$dir/r.sq"))"
script "$dir/pg/mtlsca.conf" "$dir/p1.lua"
sign "$pg_a" "$dir/p1.lua" "$dir/r.pg1"
echo "PostgreSQL, 1 instance:  $(cut -d' ' -f1 "$dir/r.pg1") certificates/s (non-2xx: $(cut -d' ' -f2 "$dir/r.pg1"))"
script "$dir/pg/mtlsca.conf" "$dir/p2.lua"
script "$dir/pg/mtlsca.conf" "$dir/p3.lua"
sign "$pg_a" "$dir/p2.lua" "$dir/r.pga" &
w=$!
sign "$pg_b" "$dir/p3.lua" "$dir/r.pgb"
wait "$w"
awk '{ r += $1; n += $2 } END { printf "PostgreSQL, 2 instances: %.2f certificates/s (non-2xx: %d)\n", r, n }' \
	"$dir/r.pga" "$dir/r.pgb"
echo "certificates recorded: SQLite $(sqlite3 "$dir/sq/mtlsca.db" \
	"select count(*) from certificates where profile = 'private'"), PostgreSQL $($as_pg "$pgbin/psql" -X -A -t -h "$dir/pgs" -U mca -d ca \
	-c "select count(*) from certificates where profile = 'private'")"
