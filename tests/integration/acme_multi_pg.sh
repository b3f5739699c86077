#!/bin/sh
# acme_multi_pg.sh - ACME over two mtlscad instances on one PostgreSQL
# database (pglib.sh): an account and an order made through instance A and
# validated there (http-01), then finalized through instance B, which finds
# the order ready, issues, and serves the certificate; A then reports the
# order valid and serves the same certificate.  Nonces are shared
# (acme_multi_nonce.py): one from A is good at B, and once spent at B it
# is refused at A.
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"
need_python
pg_start

d=$T_DIR/ca
conf=$d/mtlsca.conf
init_ca "$d" --database "$PG_URI"
H01_PORT=$(free_port)
[ -n "$H01_PORT" ] || fail "no free port for http-01"
jq --argjson p "$H01_PORT" '. + {"acme": {"http01_port": $p, "http01_deny": [],
	"hosts": {"multi.example.net": "127.0.0.1"}}}' "$conf" >"$conf.new"
mv "$conf.new" "$conf"
chmod 600 "$conf"

start_daemon "$conf"
A_PORT=$HTTPS_PORT
A_LOG=$D_LOG
ok "instance A listens"
start_daemon "$conf"
B_PORT=$HTTPS_PORT
ok "instance B listens"

# py DESCRIPTION ARGS...: acme_crash.py's steps, relaying its ok / not ok lines
PY_SCRIPT=acme_crash.py
py() {
	_desc=$1
	shift
	set +e
	"$PYTHON" "$TESTS_SRCDIR/$PY_SCRIPT" "$@" >"$T_DIR/py.out" 2>&1
	_rc=$?
	set -e
	while IFS= read -r _line; do
		case $_line in
		"ok "*) ok "$_desc: ${_line#ok }" ;;
		"not ok "*)
			tail -n 20 "$A_LOG" "$D_LOG"
			fail "$_desc: ${_line#not ok }"
			;;
		"serial "*) PY_SERIAL=${_line#serial } ;;
		*) echo "# $_line" ;;
		esac
	done <"$T_DIR/py.out"
	[ "$_rc" -eq 0 ] || fail "$_desc: $PY_SCRIPT exited $_rc"
}

state=$T_DIR/order.json
py "through A" "$state" prepare "https://127.0.0.1:$A_PORT/acme/domain-validated/directory" \
	"$d/chain.pem" "$H01_PORT" multi.example.net
order=$(jq -r .order "$state")
order_id=${order##*/}
eq "the order is ready in the shared database" \
	"$(psql_ca "SELECT status FROM acme_orders WHERE id = '$order_id'")" ready

# The same account, order and finalize URLs, now on B.
sed "s/127\.0\.0\.1:$A_PORT/127.0.0.1:$B_PORT/g" "$state" >"$state.b"
py "through B" "$state.b" resume ready
[ -n "${PY_SERIAL:-}" ] || fail "acme_crash.py printed the serial"
b_serial=$PY_SERIAL
eq "B recorded the certificate and made the order valid" \
	"$(psql_ca "SELECT o.status FROM acme_orders o JOIN certificates c ON c.serial = o.serial
		WHERE o.id = '$order_id'")" valid
sed "s/127\.0\.0\.1:$B_PORT/127.0.0.1:$A_PORT/g" "$state.b" >"$state.a"
py "back on A" "$state.a" resume valid
eq "A serves the certificate B issued" "$PY_SERIAL" "$b_serial"

for l in "$A_LOG" "$D_LOG"; do
	grep -q "ACME nonces: shared with the other instances" "$l" || { cat "$l"; fail "nonces shared"; }
done
ok "both instances share the ACME nonce key"
PY_SCRIPT=acme_multi_nonce.py
py "nonces" "https://127.0.0.1:$A_PORT/acme/domain-validated/directory" \
	"https://127.0.0.1:$B_PORT/acme/domain-validated/directory" "$d/chain.pem"
eq "spent nonces are in the shared set" \
	"$(psql_ca 'SELECT count(*) > 0 FROM acme_nonce_uses')" t
echo "1..$T_NUM"
