#!/bin/sh
# bench/ocsp.sh - OCSP requests a second for pre-signed responses: mtlscad
# with "ocsp": {}, NCERTS leaves, one request each (SHA-1 CertIDs, no nonce,
# as RFC 5019 clients send them); each is asked once to have it signed, then
# wrk sends them round-robin over keep-alive connections, as POST /ocsp and
# as GET /ocsp/{base64}.  Target: 20,000 requests/s or more (doc/ocsp.md).
#
# usage: bench/ocsp.sh [--smoke] [BUILD_DIR] [SECONDS] [CONNECTIONS] [NCERTS]
#   --smoke   1 s, 4 connections, 5 certificates: fails unless every answer is
#             200 and requests were served (for CI; no figure to compare)
set -eu
smoke=0
if [ "${1:-}" = "--smoke" ]; then
	smoke=1
	shift
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/default}
secs=${2:-10}
conns=${3:-64}
ncerts=${4:-100}
[ $smoke -eq 0 ] || { secs=1; conns=4; ncerts=5; }
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)"; exit 1; }
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT

"$build/src/mtlsca" init --dir "$dir/ca" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
	--public-url http://ca.bench.internal:8080 >/dev/null
# free ports, named in the config: at log level warn there is no "listening" line
# (and no access log line per request, which would be what is measured)
ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
hp=${ports% *}
sp=${ports#* }
jq --arg h "127.0.0.1:$hp" --arg s "127.0.0.1:$sp" \
	'. + {ocsp: {}, http_listen: $h, listen: $s, log_level: "warn"}' \
	"$dir/ca/mtlsca.conf" >"$dir/c" && mv "$dir/c" "$dir/ca/mtlsca.conf"
"$build/src/mtlscad" -c "$dir/ca/mtlsca.conf" --foreground 2>"$dir/log" &
pid=$!
http=127.0.0.1:$hp
i=0
until curl -s -o /dev/null "http://$http/v1/health"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$dir/log"; echo "bench: mtlscad does not start"; exit 1; }
	sleep 0.1
done

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/k" \
	-subj /CN=bench.internal -addext subjectAltName=DNS:bench.internal -out "$dir/csr" 2>/dev/null
i=1
while [ $i -le "$ncerts" ]; do
	"$build/src/mtlsca" -c "$dir/ca/mtlsca.conf" issue --csr "$dir/csr" --profile private \
		>"$dir/c$i.pem"
	openssl ocsp -issuer "$dir/ca/ca.crt" -cert "$dir/c$i.pem" -no_nonce \
		-reqout "$dir/r$i.der" >/dev/null 2>&1
	# signed on this first request, pre-signed from now on
	curl -s -o /dev/null -H 'Content-Type: application/ocsp-request' \
		--data-binary "@$dir/r$i.der" "http://$http/ocsp"
	printf '%s\n' "$(base64 -w0 "$dir/r$i.der" | jq -sRr @uri)" >>"$dir/get.txt"
	i=$((i + 1))
done
cat >"$dir/post.lua" <<LUA
local reqs = {}
for i = 1, $ncerts do
	local f = io.open("$dir/r" .. i .. ".der", "rb")
	reqs[i] = wrk.format("POST", "/ocsp", {["Content-Type"] = "application/ocsp-request"},
		f:read("*a"))
	f:close()
end
local n = 0
request = function() n = n + 1; return reqs[n % #reqs + 1] end
LUA
cat >"$dir/get.lua" <<LUA
local reqs = {}
for line in io.lines("$dir/get.txt") do reqs[#reqs + 1] = wrk.format("GET", "/ocsp/" .. line) end
local n = 0
request = function() n = n + 1; return reqs[n % #reqs + 1] end
LUA

echo "machine: $(nproc) cores, $(uname -m); wrk ${secs}s, $conns connections, 2 threads, $ncerts certificates"
fail=0
for m in post get; do
	echo "== $m /ocsp (pre-signed)"
	wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$dir/$m.lua" "http://$http/" >"$dir/$m.out"
	sed -n '/^    Latency/p;/50%/,/99%/p;/Requests\/sec/p;/Non-2xx/p' "$dir/$m.out"
	! grep -q "Non-2xx" "$dir/$m.out" || fail=1
	rps=$(sed -n 's/^Requests\/sec: *\([0-9]*\).*/\1/p' "$dir/$m.out")
	[ "${rps:-0}" -gt 0 ] || fail=1
done
curl -s "http://$http/metrics" | grep -E '^mtlsca_ocsp_(signatures_total|cached_responses|cache_lookups_total)'
[ $fail -eq 0 ] || { echo "bench: non-200 answers or no requests served"; exit 1; }
