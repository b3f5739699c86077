#!/bin/sh
# acme_validation.sh - how mtlscad runs ACME validations (tests/acme_validation.py):
# the default acme.http01_deny keeps http-01 off loopback and the client sees only
# "validation failed"; then, with http01_deny [] and a fakedns that never answers
# some names, a hard deadline per validation, an http-01 of another account that
# is not starved by slow dns-01s, the per-account cap of pending validations
# (rateLimited), and redirects only to the same challenge path.
set -e
. "$TESTS_SRCDIR/lib.sh"

FAKEDNS=${FAKEDNS:-}
need_python
if [ -z "$FAKEDNS" ] || [ ! -x "$FAKEDNS" ]; then
	fail "FAKEDNS (tests/integration/fakedns) is not built: make tests/integration/fakedns"
fi

# run_phase PHASE: acme_validation.py PHASE against the running daemon
run_phase() {
	set +e
	"$PYTHON" "$TESTS_SRCDIR/acme_validation.py" "$1" "$dir" "$d/chain.pem" "$H01_PORT" \
		>"$T_DIR/$1.out" 2>&1
	_rc=$?
	set -e
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$1: ${line#ok }" ;;
		"not ok "*)
			echo "--- mtlscad log (last 30 lines)"
			tail -n 30 "$D_LOG"
			fail "$1: ${line#not ok }"
			;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$T_DIR/$1.out"
	[ "$_rc" -eq 0 ] || fail "acme_validation.py $1 exited $_rc"
}

d=$T_DIR/ca
conf=$d/mtlsca.conf
init_ca "$d"
cp "$conf" "$conf.orig"
H01_PORT=$(free_port)
[ -n "$H01_PORT" ] || fail "no free port for http-01"

# ---------------------------------------------------------------- default deny list

jq --argjson p "$H01_PORT" \
	'. + {"acme": {"http01_port": $p, "hosts": {"deny.example.net": "127.0.0.1"}}}' \
	"$conf.orig" >"$conf"
start_daemon "$conf"
dir=https://127.0.0.1:$HTTPS_PORT/acme/domain-validated/directory
run_phase deny
grep -q "http-01 of deny.example.net .*127.0.0.1.* acme.http01_deny" "$D_LOG" || {
	cat "$D_LOG"
	fail "the daemon log says why: 127.0.0.1 is in acme.http01_deny"
}
ok "the daemon log says why: 127.0.0.1 is in acme.http01_deny"
stop_daemon

# ---------------------------------------------------------------- deadline, fairness, caps

records=$T_DIR/records
for i in 1 2 3 4 5 6; do echo "_acme-challenge.slow$i.example.net DROP"; done >"$records"
"$FAKEDNS" -p 0 -f "$records" >"$T_DIR/fakedns.out" 2>&1 &
dns_pid=$!
T_PIDS="$T_PIDS $dns_pid"
wait_for_line "$T_DIR/fakedns.out" '^port [0-9]' "$dns_pid" 100 || fail "fakedns did not start"
DNS_PORT=$(sed -n 's/^port \([0-9]*\).*/\1/p' "$T_DIR/fakedns.out" | head -n1)
ok "fakedns serves on 127.0.0.1:$DNS_PORT"

jq --argjson p "$H01_PORT" --arg r "127.0.0.1:$DNS_PORT" \
	'. + {"acme": {"http01_port": $p, "dns_resolver": $r, "http01_deny": [],
		"validation_workers": 2, "validation_timeout": "4s",
		"pending_validations_per_account": 3, "pending_validations": 4,
		"hosts": {"fast.example.net": "127.0.0.1", "redir-other.example.net": "127.0.0.1",
			"redir-query.example.net": "127.0.0.1",
			"redir-same.example.net": "127.0.0.1"}}}' "$conf.orig" >"$conf"
start_daemon "$conf"
dir=https://127.0.0.1:$HTTPS_PORT/acme/domain-validated/directory
run_phase limits
stop_daemon
echo "1..$T_NUM"
