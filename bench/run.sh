#!/bin/sh
# bench/run.sh - load mtlscad with wrk (Debian package "wrk") on loopback:
# health checks over HTTPS, CRL downloads over HTTP, and certificate
# issuance (POST /v1/sign with one many-use token, so every request signs,
# records with an fsync'd commit and returns a new certificate).
#
# usage: bench/run.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]
# (hey 0.1.4 from Debian fails every TLS handshake with libmicrohttpd's
# GnuTLS here - "received handshake message out of context" - while curl,
# OpenSSL, certbot and lego work; wrk is used instead.)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/default}
secs=${2:-5}
conns=${3:-16}
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)"; exit 1; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

"$build/src/mtlsca" init --dir "$dir/ca" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
	--public-url http://ca.bench.internal:8080 >/dev/null
"$build/src/mtlscad" -c "$dir/ca/mtlsca.conf" --foreground 2>"$dir/log" &
pid=$!
while ! grep -q "listening https=" "$dir/log"; do sleep 0.1; done
https=$(sed -n 's/.*listening https=\([^ ]*\) .*/\1/p' "$dir/log")
http=$(sed -n 's/.*listening .* http=\([^ ]*\)$/\1/p' "$dir/log")

tok=$("$build/src/mtlsca" -c "$dir/ca/mtlsca.conf" token create --profile private \
	--name bench.internal --uses 10000 --ttl 1h)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/k" \
	-subj /CN=bench.internal -addext subjectAltName=DNS:bench.internal -out "$dir/csr" 2>/dev/null
body=$(jq -c -n --rawfile csr "$dir/csr" '{csr: $csr}')
cat >"$dir/sign.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
LUA

echo "machine: $(nproc) cores, $(uname -m); wrk ${secs}s, $conns connections, 2 threads"
echo "== GET /v1/health over HTTPS"
wrk -t2 -c"$conns" -d"${secs}s" --latency "https://$https/v1/health" | sed -n '/Latency/p;/50%/,/99%/p;/Requests\/sec/p;/Non-2xx/p'
echo "== GET /crl over HTTP"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://$http/crl" | sed -n '/Latency/p;/50%/,/99%/p;/Requests\/sec/p;/Non-2xx/p'
echo "== POST /v1/sign (policy, sign, second look, durable record)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/sign.lua" "https://$https/v1/sign" | sed -n '/Latency/p;/50%/,/99%/p;/Requests\/sec/p;/Non-2xx/p'
echo "certificates recorded: $(sqlite3 "$dir/ca/mtlsca.db" \
	"select count(*) from certificates where profile = 'private'")"
