#!/bin/sh
# acme_crash.sh - ACME finalize survives kill -9 (durability.md): mtlscad is
# killed (MTLSCAD_TEST_CRASH_AT, SIGKILL at a named point) in the middle of
# finalizing a ready order, then restarted.  The order is either valid with
# its certificate downloadable (the certificate was recorded) or ready again
# and finalizes to valid (it was not); never stuck in "processing", and no
# recorded certificate lacks the order that points at it.
#   finalize_after_claim   the order was claimed (processing), nothing signed
#   finalize_before_commit the certificate and the order's "valid" are written
#                          but not committed
#   finalize_after_record  the certificate (and with it the order) committed,
#                          the reply not yet sent
set -e
. "$TESTS_SRCDIR/lib.sh"

need_python

# py DESCRIPTION ARGS...: run acme_crash.py, relaying its ok / not ok lines
py() {
	_desc=$1
	shift
	set +e
	"$PYTHON" "$TESTS_SRCDIR/acme_crash.py" "$@" >"$T_DIR/py.out" 2>&1
	_rc=$?
	set -e
	while IFS= read -r _line; do
		case $_line in
		"ok "*) ok "$_desc: ${_line#ok }" ;;
		"not ok "*)
			echo "--- mtlscad log (last 30 lines)"
			tail -n 30 "$D_LOG"
			fail "$_desc: ${_line#not ok }"
			;;
		"serial "*) PY_SERIAL=${_line#serial } ;;
		*) echo "# $_line" ;;
		esac
	done <"$T_DIR/py.out"
	[ "$_rc" -eq 0 ] || fail "$_desc: acme_crash.py exited $_rc"
}

sql() {
	sqlite3 "$d/mtlsca.db" "$1"
}

d=$T_DIR/ca
conf=$d/mtlsca.conf
init_ca "$d"
H01_PORT=$(free_port)
[ -n "$H01_PORT" ] || fail "no free port for http-01"
jq --argjson p "$H01_PORT" '. + {"acme": {"http01_port": $p, "http01_deny": [], "hosts": {
	"claim.crash.example.net": "127.0.0.1", "commit.crash.example.net": "127.0.0.1",
	"record.crash.example.net": "127.0.0.1"}}}' "$conf" >"$conf.new"
mv "$conf.new" "$conf"

# crash POINT NAME EXPECT: finalize NAME's order with mtlscad set to die at
# POINT; after a restart the order must be EXPECT (valid or ready) and end valid
crash() {
	_point=$1 _name=$2 _expect=$3
	_state=$T_DIR/$_point.json
	MTLSCAD_TEST_CRASH_AT=$_point
	export MTLSCAD_TEST_CRASH_AT
	start_daemon "$conf"
	unset MTLSCAD_TEST_CRASH_AT
	_dir=https://127.0.0.1:$HTTPS_PORT/acme/domain-validated/directory
	py "$_point" "$_state" prepare "$_dir" "$d/chain.pem" "$H01_PORT" "$_name"
	py "$_point" "$_state" finalize
	set +e
	wait "$D_PID"
	_rc=$?
	set -e
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $D_PID//")
	eq "$_point: mtlscad died by SIGKILL" "$_rc" 137
	grep -q "MTLSCAD_TEST_CRASH_AT=$_point: killing the process" "$D_LOG" ||
		{ cat "$D_LOG"; fail "$_point: mtlscad logged the crash point"; }
	ok "$_point: mtlscad logged the crash point"
	eq "$_point: integrity_check after the kill" "$(sql "PRAGMA integrity_check")" ok
	case $_expect in
	valid) _want=1 ;;
	*) _want=0 ;;
	esac
	eq "$_point: certificates of $_name recorded before the restart" \
		"$(sql "SELECT count(*) FROM certificates WHERE instr(names, '\"dns:$_name\"') > 0")" \
		"$_want"
	start_daemon "$conf"
	if [ "$_expect" = ready ]; then
		grep -q "acme: 1 order(s) were being finalized when the last run stopped" "$D_LOG" ||
			{ cat "$D_LOG"; fail "$_point: the restarted mtlscad logs the repaired order"; }
		ok "$_point: the restarted mtlscad logs the repaired order"
	fi
	eq "$_point: the restart left no order processing" \
		"$(sql "SELECT count(*) FROM acme_orders WHERE status = 'processing'")" 0
	_dir=https://127.0.0.1:$HTTPS_PORT/acme/domain-validated/directory
	# The directory URL is saved in the state; the restart chose new ports.
	jq --arg d "$_dir" '.directory = $d | .order |= sub("//[^/]*/"; "//127.0.0.1:'"$HTTPS_PORT"'/")
		| .finalize |= sub("//[^/]*/"; "//127.0.0.1:'"$HTTPS_PORT"'/")
		| .kid |= sub("//[^/]*/"; "//127.0.0.1:'"$HTTPS_PORT"'/")' "$_state" >"$_state.new"
	mv "$_state.new" "$_state"
	PY_SERIAL=
	py "$_point" "$_state" resume "$_expect"
	[ -n "$PY_SERIAL" ] || fail "$_point: acme_crash.py printed the serial"
	eq "$_point: exactly one certificate of $_name recorded" \
		"$(sql "SELECT count(*) FROM certificates WHERE instr(names, '\"dns:$_name\"') > 0")" 1
	eq "$_point: it is the order's certificate" \
		"$(sql "SELECT ltrim(c.serial, '0') = ltrim('$PY_SERIAL', '0') FROM certificates c
			JOIN acme_orders o ON o.serial = c.serial
			WHERE instr(c.names, '\"dns:$_name\"') > 0 AND o.status = 'valid'")" 1
	eq "$_point: every ACME certificate has the order that points at it" \
		"$(sql "SELECT count(*) FROM certificates c WHERE c.requester LIKE 'acme:%'
			AND NOT EXISTS (SELECT 1 FROM acme_orders o WHERE o.serial = c.serial)")" 0
	stop_daemon
}

crash finalize_after_claim claim.crash.example.net ready
crash finalize_before_commit commit.crash.example.net ready
crash finalize_after_record record.crash.example.net valid
echo "1..$T_NUM"
