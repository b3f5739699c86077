#!/bin/sh
# acme_nonce.sh - ACME replay nonces cost no disk: 5,000 requests that each
# hand out or check a nonce (HEAD/GET newNonce, POST-as-GET, made-up nonces,
# 405s) leave the database files byte for byte as they were, and its page
# count; only POST replies and newNonce carry a Replay-Nonce.  A nonce from
# before a restart gets badNonce with a fresh one, and the retry works.
# The ACME part runs tests/acme_nonce.py (python3-requests/-cryptography).
set -e
. "$TESTS_SRCDIR/lib.sh"

REQUESTS=5000
command -v sqlite3 >/dev/null 2>&1 || fail "sqlite3 not found: run tools/install-deps"
need_python

d=$T_DIR/ca
conf=$d/mtlsca.conf
db=$d/mtlsca.db
state=$T_DIR/state.json
init_ca "$d"

# A fixed port, so that the account URL and the JWS urls stay the same across the restart.
port=$(free_port)
jq --arg l "127.0.0.1:$port" '.listen = $l' "$conf" >"$conf.new"
mv "$conf.new" "$conf"

# py MODE ARGS...: run acme_nonce.py, turning its lines into ok/fail here
py() {
	set +e
	"$PYTHON" "$TESTS_SRCDIR/acme_nonce.py" "$1" "$dir" "$d/chain.pem" "$state" ${2:+"$2"} \
		>"$T_DIR/py.out" 2>&1
	_rc=$?
	set -e
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"not ok "*)
			echo "--- mtlscad log (last 30 lines)"
			tail -n 30 "$D_LOG"
			fail "${line#not ok }"
			;;
		*) echo "# $line" ;;
		esac
	done <"$T_DIR/py.out"
	[ "$_rc" -eq 0 ] || fail "acme_nonce.py $1 exited $_rc"
}

# db_state: the database's page count, a hash of its content and the WAL's
# size and hash (a commit adds frames to it, or restarts it with a new salt).
# Not the main file's bytes: mtlscad's tick checkpoints what was committed
# before (mca_store_checkpoint), which changes the file but not what it holds.
# Not -shm, which readers touch.
db_state() {
	echo "pages $(sqlite3 "$db" 'PRAGMA page_count')"
	echo "content $(sqlite3 "$db" .dump | sha256sum | cut -c1-64)"
	[ -e "$db-wal" ] && echo "$(stat -c %s "$db-wal") $(sha256sum <"$db-wal" | cut -c1-64) wal"
	return 0
}

start_daemon "$conf"
[ "$HTTPS_PORT" = "$port" ] || fail "mtlscad listens on $HTTPS_PORT, not $port"
dir=https://127.0.0.1:$port/acme/domain-validated/directory

py setup
before=$(db_state)
py load "$REQUESTS"
after=$(db_state)
if [ "$before" != "$after" ]; then
	printf 'before:\n%s\nafter:\n%s\n' "$before" "$after"
	fail "$REQUESTS ACME requests leave the database unchanged"
fi
ok "$REQUESTS ACME requests leave the database unchanged ($(echo "$before" | head -n1))"
eq "no nonce table" "$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name LIKE '%nonce%'")" 0

stop_daemon
start_daemon "$conf"
py restarted
stop_daemon
echo "1..$T_NUM"
