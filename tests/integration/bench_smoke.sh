#!/bin/sh
# bench_smoke.sh - bench/compare.sh in its smoke mode (1 s per side, 4
# connections), so that the side-by-side bench keeps working: every side
# it runs issues certificates without an error, and it prints the ratios.
# The figures themselves mean nothing here.  Without cfssl (Debian
# golang-cfssl, in tools/install-deps) the CFSSL sides are skipped, and
# this says so.
set -e
. "$TESTS_SRCDIR/lib.sh"
: "${LOADGEN:?}"
build=$(dirname "$(dirname "$LOADGEN")")
OPENSSL=$OPENSSL sh "$MCA_TOP_SRCDIR/bench/compare.sh" --smoke "$build" >"$T_DIR/out" 2>&1 || {
	cat "$T_DIR/out"
	fail "bench/compare.sh --smoke failed"
}
cat "$T_DIR/out"
ok "bench/compare.sh --smoke ran"
# side-line NAME: its line must show certificates issued and no error
side() {
	_l=$(grep -F "$1" "$T_DIR/out" | grep "cert/s") || fail "no line for '$1'"
	echo "$_l" | grep -q "errors 0+0 " || fail "'$1' had errors: $_l"
	_n=$(echo "$_l" | sed -n 's/.* issued *\([0-9]*\) .*/\1/p')
	[ "${_n:-0}" -gt 0 ] || fail "'$1' issued nothing: $_l"
	ok "$1: $_n certificates, no error"
}
side "mtlscad POST /v1/sign"
side "mtlscad POST /v1/renew"
if grep -q "^CFSSL: skipped" "$T_DIR/out"; then
	ok "CFSSL sides skipped: cfssl is not installed (tools/install-deps installs golang-cfssl)"
else
	side "CFSSL + SQLite certdb"
	side "CFSSL, no database"
	grep -q "^ratio /v1/sign" "$T_DIR/out" || fail "no ratios printed"
	ok "ratios printed"
fi
