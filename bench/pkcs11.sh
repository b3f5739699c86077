#!/bin/sh
# bench/pkcs11.sh - issuance throughput with the CA key in a PKCS#11 token
# (SoftHSM 2) next to the same with the CA key in a file, in one run on the
# same machine: two CAs of KEY_TYPE, mtlscad on each in turn, wrk against
# POST /v1/sign with one many-use token (each request lints, signs in the
# signer process - there, through the token - records durably and returns
# a new certificate).
#
# usage: bench/pkcs11.sh [--smoke] [BUILD_DIR] [SECONDS] [CONNECTIONS] [KEY_TYPE]
#   --smoke: 1 s, 2 connections, and fail unless both CAs issued with no
#            non-2xx reply (a quick check that the benchmark still runs)
# Needs wrk, softhsm2, jq, openssl, sqlite3 (tools/install-deps).
set -eu
smoke=0
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/default}
secs=${2:-5}
conns=${3:-16}
kt=${4:-ec-p256}
[ $smoke = 1 ] && secs=1 conns=2
module=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
for t in wrk softhsm2-util jq openssl sqlite3; do
	command -v $t >/dev/null || { echo "bench: $t not found (tools/install-deps)"; exit 1; }
done
[ -f "$module" ] || { echo "bench: no SoftHSM module at $module (apt-get install softhsm2)"; exit 1; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

mkdir "$dir/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$dir" >"$dir/softhsm2.conf"
SOFTHSM2_CONF=$dir/softhsm2.conf
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label bench --so-pin 12345678 --pin 1234 >/dev/null
echo 1234 >"$dir/pin"
chmod 600 "$dir/pin"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/k" \
	-subj /CN=bench.internal -addext subjectAltName=DNS:bench.internal -out "$dir/csr" 2>/dev/null
body=$(jq -c -n --rawfile csr "$dir/csr" '{csr: $csr}')

# run NAME INIT-ARGS...: a CA, mtlscad on it, wrk on POST /v1/sign; prints one line
run() {
	name=$1
	shift
	"$build/src/mtlsca" init --dir "$dir/$name" --key-type "$kt" --listen 127.0.0.1:0 \
		--http-listen 127.0.0.1:0 --public-url http://ca.bench.internal:8080 "$@" >/dev/null
	"$build/src/mtlscad" -c "$dir/$name/mtlsca.conf" --foreground 2>"$dir/$name.log" &
	pid=$!
	while ! grep -q "listening https=" "$dir/$name.log" 2>/dev/null; do
		kill -0 $pid 2>/dev/null || { cat "$dir/$name.log"; exit 1; }
		sleep 0.1
	done
	https=$(sed -n 's/.*listening https=\([^ ]*\) .*/\1/p' "$dir/$name.log")
	tok=$("$build/src/mtlsca" -c "$dir/$name/mtlsca.conf" token create --profile private \
		--name bench.internal --uses 10000 --ttl 1h)
	cat >"$dir/sign.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
LUA
	wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/sign.lua" "https://$https/v1/sign" \
		>"$dir/$name.wrk"
	kill $pid
	wait $pid || true
	pid=
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$dir/$name.wrk")
	p50=$(sed -n 's/^ *50% *\([^ ]*\)/\1/p' "$dir/$name.wrk")
	p99=$(sed -n 's/^ *99% *\([^ ]*\)/\1/p' "$dir/$name.wrk")
	non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$dir/$name.wrk")
	issued=$(sqlite3 "$dir/$name/mtlsca.db" \
		"select count(*) from certificates where profile = 'private'")
	printf '%-8s %10s req/s   p50 %-9s p99 %-9s issued %-6s non-2xx %s\n' "$name" "$rps" \
		"$p50" "$p99" "$issued" "${non2xx:-0}"
	if [ $smoke = 1 ] && { [ "$issued" -lt 1 ] || [ "${non2xx:-0}" -ne 0 ]; }; then
		cat "$dir/$name.wrk" "$dir/$name.log"
		echo "bench: $name: smoke check failed"
		exit 1
	fi
}

echo "machine: $(nproc) cores, $(uname -m); $kt CA keys; wrk ${secs}s, $conns connections," \
	"2 threads; SoftHSM $(softhsm2-util --version)"
echo "== POST /v1/sign, CA key in a file, then in a SoftHSM token (same run)"
run file
run pkcs11 --pkcs11-module "$module" --pkcs11-token bench --pkcs11-pin-file "$dir/pin"
