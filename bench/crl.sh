#!/bin/sh
# bench/crl.sh - CRLs with N revoked certificates, side by side, same
# machine, same run (bench/README):
#   mtlsca crl                 build, sign, store and write the complete CRL
#   mtlsca revoke              one more revocation, its CRL published
#   POST /v1/revoke            one more revocation through mtlscad (mTLS admin)
#   openssl ca -gencrl         on an index.txt of the same entries
#   cfssl gencrl               (Debian golang-cfssl) on the same serials
# each with elapsed time and peak RSS (/usr/bin/time), then the ratios; then
# with "crl": {"shards": SHARDS} the size of each shard CRL next to the
# complete one.  Every CRL mtlsca publishes is checked (openssl crl -verify,
# its number of entries).
#
# usage: bench/crl.sh [--smoke] [N] [SHARDS]
#   N defaults to 1000000, SHARDS to 64.  --smoke: N=2000, SHARDS=4, fewer
#   lines; what make check runs (tests/integration/bench_crl.sh) so the
#   bench keeps working.  Binaries: $MTLSCA, $MTLSCAD, $CRL_LOAD, or
#   BUILD_DIR (default _build/default) /src/mtlsca ... /bench/crl-load.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=0
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
n=${1:-1000000}
shards=${2:-64}
[ $smoke = 1 ] && n=${1:-2000} && shards=${2:-4}
build=${BUILD_DIR:-$top/_build/default}
MTLSCA=${MTLSCA:-$build/src/mtlsca}
MTLSCAD=${MTLSCAD:-$build/src/mtlscad}
CRL_LOAD=${CRL_LOAD:-$build/bench/crl-load}
OPENSSL=${OPENSSL:-openssl}
CURL=${CURL:-curl}
TIME=/usr/bin/time
for t in "$MTLSCA" "$MTLSCAD" "$CRL_LOAD"; do
	[ -x "$t" ] || { echo "bench/crl.sh: $t not built"; exit 1; }
done
[ -x $TIME ] || { echo "bench/crl.sh: install time (/usr/bin/time)"; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench/crl.sh: install sqlite3"; exit 1; }
command -v jq >/dev/null || { echo "bench/crl.sh: install jq"; exit 1; }
cfssl=$(command -v cfssl || true)

dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
ca=$dir/ca
conf=$ca/mtlsca.conf

die() {
	echo "bench/crl.sh: $*" >&2
	exit 1
}

# measure NAME CMD...: run CMD, record "seconds peak_kb cpu_seconds" in $dir/NAME.t, print a
# line (elapsed, CPU user+system, peak RSS: the CPU time does not depend on the machine's load)
measure() {
	_name=$1
	shift
	$TIME -f "%e %M %U %S" -o "$dir/$_name.t" "$@" >"$dir/$_name.out" 2>"$dir/$_name.err" || {
		cat "$dir/$_name.err" >&2
		die "$_name failed"
	}
	printf '%-38s %7s s %7s s CPU %6s MB\n' "$_name" "$(cut -d' ' -f1 "$dir/$_name.t")" \
		"$(awk '{ printf "%.2f", $3 + $4 }' "$dir/$_name.t")" \
		"$(($(cut -d' ' -f2 "$dir/$_name.t") / 1024))"
}
# cpu PID: its CPU seconds (user + system) so far
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
secs() { cut -d' ' -f1 "$dir/$1.t"; }
cpus() { awk '{ printf "%.2f", $3 + $4 }' "$dir/$1.t"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }'; }

# check_crl FILE WANT_ENTRIES WHAT: the DER CRL verifies with the chain and lists that many
check_crl() {
	"$OPENSSL" crl -inform DER -in "$1" -noout -CAfile "$ca/chain.pem" -verify 2>"$dir/v.err" ||
		{ cat "$dir/v.err" >&2; die "$3: does not verify"; }
	_got=$("$OPENSSL" crl -inform DER -in "$1" -noout -text | grep -c 'Serial Number:' || true)
	[ "$_got" = "$2" ] || die "$3: $_got entries, want $2"
}

# leaf NAME: issue NAME.crt offline, print its serial
leaf() {
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/$1.key" \
		-subj "/CN=$1.bench.internal" -addext "subjectAltName=DNS:$1.bench.internal" \
		-out "$dir/$1.csr" 2>/dev/null
	"$MTLSCA" -c "$conf" issue --csr "$dir/$1.csr" --profile private >"$dir/$1.crt"
	"$OPENSSL" x509 -in "$dir/$1.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f
}

echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n1); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "revoked certificates: $n; shards for the partitioned run: $shards"
"$MTLSCA" init --dir "$ca" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
	--public-url http://ca.bench.internal:8080 >/dev/null
echo "loading..."
"$CRL_LOAD" --shards "$shards" --index "$dir/index.txt" --serials "$dir/serials.txt" \
	"$ca/mtlsca.db" "$n"

# ---- the peers, on the same entries
cat >"$dir/ossl.cnf" <<EOF
[ ca ]
default_ca = bench
[ bench ]
database = $dir/index.txt
crlnumber = $dir/crlnumber
certificate = $ca/ca.crt
private_key = $ca/ca.key
default_md = sha256
default_crl_days = 7
unique_subject = no
EOF
echo 01 >"$dir/crlnumber"
echo "== complete CRL of $n entries"
measure "openssl ca -gencrl" "$OPENSSL" ca -config "$dir/ossl.cnf" -gencrl -out "$dir/ossl.crl"
if [ -n "$cfssl" ]; then
	measure "cfssl gencrl" "$cfssl" gencrl "$dir/serials.txt" "$ca/ca.crt" "$ca/ca.key"
fi

# ---- mtlsca: the complete CRL, then one revocation by the CLI
measure "mtlsca crl" "$MTLSCA" -c "$conf" crl
check_crl "$ca/crl/ca.crl" "$n" "mtlsca crl"
bytes=$(wc -c <"$ca/crl/ca.crl" | tr -d ' ')
echo "   (complete CRL: $bytes octets DER; verified with the chain, $n entries)"
s1=$(leaf cli)
measure "mtlsca revoke (CLI)" "$MTLSCA" -c "$conf" revoke "$s1"
check_crl "$ca/crl/ca.crl" $((n + 1)) "mtlsca revoke"

# ---- revocations through mtlscad (POST /v1/revoke, admin mTLS), once it settled
s2=$(leaf api)
s2b=$(leaf api2)
s2c=$(leaf api3)
"$MTLSCAD" -c "$conf" --foreground 2>"$dir/log" &
pid=$!
i=0
while ! grep -q "listening https=" "$dir/log"; do
	i=$((i + 1))
	[ $i -lt 1200 ] && kill -0 $pid 2>/dev/null || { cat "$dir/log"; die "mtlscad did not start"; }
	sleep 0.05
done
https=$(sed -n 's/.*listening https=\([^ ]*\) .*/\1/p' "$dir/log")
http=$(sed -n 's/.*listening .* http=\([^ ]*\)$/\1/p' "$dir/log")
sleep 3 # its first tick writes the CRL files
rss0=$(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' /proc/$pid/status)
signer=$(pgrep -P $pid | head -n1)
for s in $s2 $s2b $s2c; do
	c0=$(cpu $pid)
	c1=$(cpu "$signer")
	t=$("$CURL" -sS --max-time 60 --cacert "$ca/chain.pem" --cert "$ca/admin.crt" \
		--key "$ca/admin.key" -o "$dir/rev.json" -w '%{http_code} %{time_total}' \
		-H 'Content-Type: application/json' --data-binary "{\"serial\": \"$s\"}" \
		"https://$https/v1/revoke")
	[ "${t%% *}" = 200 ] || { cat "$dir/rev.json"; die "POST /v1/revoke: ${t%% *}"; }
	api=${t#* }
	printf '%-38s %7s s %7s s CPU (mtlscad %s, its signer %s)\n' "POST /v1/revoke (mtlscad)" \
		"$(printf '%.3f' "$api")" \
		"$(awk -v a="$(cpu $pid)" -v b="$c0" -v c="$(cpu "$signer")" -v d="$c1" \
			'BEGIN { printf "%.2f", a - b + c - d }')" \
		"$(awk -v a="$(cpu $pid)" -v b="$c0" 'BEGIN { printf "%.2f", a - b }')" \
		"$(awk -v c="$(cpu "$signer")" -v d="$c1" 'BEGIN { printf "%.2f", c - d }')"
	echo "$api" >>"$dir/api.times"
	sleep 1.5 # the tick writes the files and prunes between revocations
done
api=$(sort -n "$dir/api.times" | sed -n 2p)
"$CURL" -sS --max-time 60 -o "$dir/served.crl" "http://$http/crl"
check_crl "$dir/served.crl" $((n + 4)) "/crl after POST /v1/revoke"
hwm=$(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' /proc/$pid/status)
echo "   (mtlscad RSS: $((rss0 / 1024)) MB after start with the entries loaded, peak $((hwm / 1024)) MB)"
kill $pid
wait $pid 2>/dev/null || true
pid=

echo "== ratios"
echo "mtlsca crl / openssl ca -gencrl:    $(ratio "$(secs "mtlsca crl")" "$(secs "openssl ca -gencrl")") elapsed, $(ratio "$(cpus "mtlsca crl")" "$(cpus "openssl ca -gencrl")") CPU (target <= 0.33)"
[ -n "$cfssl" ] &&
	echo "mtlsca crl / cfssl gencrl:          $(ratio "$(secs "mtlsca crl")" "$(secs "cfssl gencrl")") elapsed, $(ratio "$(cpus "mtlsca crl")" "$(cpus "cfssl gencrl")") CPU"
echo "mtlsca revoke (CLI): $(secs "mtlsca revoke (CLI)") s (target <= 1); POST /v1/revoke: $api s, median of 3 (target <= 0.3)"

# ---- partitioned: SHARDS shard CRLs next to the complete one
echo "== with \"crl\": {\"shards\": $shards}"
jq ".crl.shards = $shards" "$conf" >"$dir/conf" && cp "$dir/conf" "$conf"
measure "mtlsca crl ($shards shards + complete)" "$MTLSCA" -c "$conf" crl
check_crl "$ca/crl/ca.crl" $((n + 4)) "complete CRL with shards"
total=0
min=
max=0
k=0
while [ $k -lt "$shards" ]; do
	f=$ca/crl/ca-$k.crl
	[ -s "$f" ] || die "shard $k CRL not written"
	b=$(wc -c <"$f" | tr -d ' ')
	[ $smoke = 1 ] || [ $k -lt 4 ] && printf '   shard %-3d %10s octets\n' $k "$b"
	total=$((total + b))
	[ "$b" -gt "$max" ] && max=$b
	[ -z "$min" ] || [ "$b" -lt "$min" ] && min=$b
	k=$((k + 1))
done
[ $smoke = 1 ] && check_crl "$ca/crl/ca-0.crl" \
	"$(sqlite3 "$ca/mtlsca.db" "SELECT count(*) FROM crl_entries WHERE shard = 0")" "shard 0"
echo "   complete CRL: $(wc -c <"$ca/crl/ca.crl" | tr -d ' ') octets; $shards shards: $min..$max octets each, $total in all"
s3=$(leaf sharded)
measure "mtlsca revoke (CLI, $shards shards)" "$MTLSCA" -c "$conf" revoke "$s3"
echo "bench/crl.sh: done"
