#!/bin/sh
# bench_crl.sh - the smoke run of bench/crl.sh (2,000 revoked, 4 shards), so
# the CRL bench keeps working: it loads the entries with bench/crl-load,
# runs openssl ca -gencrl, cfssl gencrl, mtlsca crl, mtlsca revoke and a
# POST /v1/revoke, and checks every CRL mtlsca published (verifies, and
# lists exactly the revoked entries), the shard CRLs included.
set -e
. "$TESTS_SRCDIR/lib.sh"

CRL_LOAD=$(dirname "$MTLSCA")/../bench/crl-load
export MTLSCA MTLSCAD OPENSSL CURL CRL_LOAD
sh "$MCA_TOP_SRCDIR/bench/crl.sh" --smoke >"$T_DIR/bench.out" 2>&1 || {
	cat "$T_DIR/bench.out"
	fail "bench/crl.sh --smoke"
}
cat "$T_DIR/bench.out"
grep -q "^bench/crl.sh: done" "$T_DIR/bench.out" || fail "bench/crl.sh --smoke ran to its end"
ok "bench/crl.sh --smoke ran to its end"
for line in "openssl ca -gencrl" "mtlsca crl" "mtlsca revoke (CLI)" "POST /v1/revoke (mtlscad)" \
	"mtlsca crl / openssl ca -gencrl"; do
	grep -qF "$line" "$T_DIR/bench.out" || fail "bench output has '$line'"
	ok "bench output has '$line'"
done
