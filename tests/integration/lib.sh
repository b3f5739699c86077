# lib.sh - helpers shared by the integration tests (sourced, not run).
# Environment from Makefile.am: MTLSCA, MTLSCAD, TESTS_SRCDIR (this
# directory), MCA_TOP_SRCDIR (the source tree), OPENSSL,
# CERTTOOL, CURL.  Each test makes its own temporary directory and stops
# whatever it started, also when it fails.

set -u
: "${MTLSCA:?}" "${MTLSCAD:?}" "${TESTS_SRCDIR:?}" "${MCA_TOP_SRCDIR:?}"
OPENSSL=${OPENSSL:-openssl}
CERTTOOL=${CERTTOOL:-certtool}
CURL=${CURL:-curl}

# The ACME test clients: Debian's python3 with python3-cryptography and
# python3-requests (ACME_PYTHON overrides).
PYTHON=${ACME_PYTHON:-/usr/bin/python3}

# need_python: fail unless $PYTHON runs and has cryptography and requests
need_python() {
	command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found: run tools/install-deps"
	"$PYTHON" -c 'import cryptography, requests' 2>/dev/null ||
		fail "$PYTHON lacks cryptography/requests: install python3-cryptography python3-requests"
}

# free_port: a TCP port on 127.0.0.1 that is free right now, below the
# ephemeral range so that no outgoing connection takes it meanwhile
free_port() {
	"$PYTHON" -c 'import random, socket
for _ in range(100):
    p = random.randint(20000, 32000)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break'
}

T_NUM=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mtlsca-test.XXXXXX")
T_PIDS=""

cleanup() {
	for p in $T_PIDS; do
		kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	rm -rf "$T_DIR"
}
trap cleanup EXIT INT TERM

# ok DESCRIPTION: record a passing check
ok() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $*"
}

# fail DESCRIPTION: report and stop the test
fail() {
	T_NUM=$((T_NUM + 1))
	echo "not ok $T_NUM - $*"
	exit 1
}

# check DESCRIPTION COMMAND...: the command must succeed
check() {
	_desc=$1
	shift
	if "$@" >"$T_DIR/out" 2>&1; then ok "$_desc"; else
		cat "$T_DIR/out"
		fail "$_desc"
	fi
}

# check_fails DESCRIPTION CODE COMMAND...: the command must exit with CODE
check_fails() {
	_desc=$1
	_want=$2
	shift 2
	set +e
	"$@" >"$T_DIR/out" 2>"$T_DIR/err"
	_rc=$?
	set -e
	[ "$_rc" -eq "$_want" ] || {
		cat "$T_DIR/out" "$T_DIR/err"
		fail "$_desc (exit $_rc, want $_want)"
	}
	ok "$_desc"
}

# stderr_has TEXT: the last check_fails printed TEXT on stderr
stderr_has() {
	grep -qF -- "$1" "$T_DIR/err" || {
		cat "$T_DIR/err"
		fail "stderr lacks '$1'"
	}
	ok "stderr says '$1'"
}

# stderr_one_line: the last check_fails printed exactly one line on stderr
stderr_one_line() {
	_n=$(wc -l <"$T_DIR/err")
	[ "$_n" -eq 1 ] || {
		cat "$T_DIR/err"
		fail "stderr has $_n lines, want 1"
	}
	ok "one line on stderr"
}

# eq DESCRIPTION GOT WANT
eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	ok "$1"
}

# The public URL init_ca writes: the listeners use port 0 (free ports), which
# must never go into a certificate, so the CRL and caIssuers URLs name this.
INIT_PUBLIC_URL=http://pki.test.internal:8080

# init_ca DIR [ARGS...]: a fresh CA on free loopback ports (ARGS may override
# --public-url)
init_ca() {
	_dir=$1
	shift
	"$MTLSCA" init --dir "$_dir" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
		--public-url "$INIT_PUBLIC_URL" "$@" \
		>"$T_DIR/init.out" 2>&1 || {
		cat "$T_DIR/init.out"
		fail "init $_dir"
	}
}

# wait_for_line FILE REGEX PID TRIES: wait (TRIES x 50 ms) until FILE has a
# line matching REGEX while PID lives; prints FILE and returns 1 otherwise.
wait_for_line() {
	_w=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		_w=$((_w + 1))
		if [ $_w -gt "$4" ] || ! kill -0 "$3" 2>/dev/null; then
			cat "$1"
			return 1
		fi
		sleep 0.05
	done
}

# start_daemon CONF [ARGS...]: start mtlscad in the foreground and wait until
# it listens; sets D_PID, HTTPS_PORT, HTTP_PORT, D_LOG.
start_daemon() {
	_conf=$1
	shift
	D_LOG=$T_DIR/daemon.$$.$T_NUM.log
	"$MTLSCAD" -c "$_conf" --foreground "$@" 2>"$D_LOG" &
	D_PID=$!
	T_PIDS="$T_PIDS $D_PID"
	wait_for_line "$D_LOG" "listening https=" "$D_PID" 200 || fail "mtlscad did not start"
	HTTPS_PORT=$(sed -n 's/.*listening https=[^ ]*:\([0-9]*\) .*/\1/p' "$D_LOG" | head -n1)
	HTTP_PORT=$(sed -n 's/.*listening .* http=[^ ]*:\([0-9]*\)$/\1/p' "$D_LOG" | head -n1)
	[ -n "$HTTPS_PORT" ] && [ -n "$HTTP_PORT" ] || fail "could not read the ports from the log"
}

# stop_daemon: SIGTERM, which must end the daemon with exit 0
stop_daemon() {
	kill -TERM "$D_PID"
	set +e
	wait "$D_PID"
	_rc=$?
	set -e
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $D_PID//")
	[ "$_rc" -eq 0 ] || {
		cat "$D_LOG"
		fail "mtlscad exited $_rc after SIGTERM"
	}
	ok "SIGTERM: mtlscad exits 0"
}

# file_state DIR: one line per file (mode, size, mtime, sha256) for "unchanged" checks
file_state() {
	(cd "$1" && find . -type f -o -type d | LC_ALL=C sort | while read -r f; do
		if [ -f "$f" ]; then
			echo "$(stat -c '%a %s %Y' "$f") $(sha256sum <"$f" | cut -c1-64) $f"
		else
			echo "$(stat -c '%a' "$f") dir $f"
		fi
	done)
}

# start_nginx DIR PROBE: run "$NGINX" on DIR/nginx.conf (which logs to
# DIR/error.log) until it answers "ng_get PROBE" (the caller's function):
# NG_PID set, 0.  Returns 1 when its port was taken (pick another and call
# again); any other failure to start fails the test.
start_nginx() {
	_ng=$1
	: >"$_ng/error.log"
	"$NGINX" -p "$_ng/" -e "$_ng/error.log" -c "$_ng/nginx.conf" 2>"$_ng/stderr" &
	_ng_pid=$!
	T_PIDS="$T_PIDS $_ng_pid"
	_i=0
	while :; do
		# (a zombie still passes kill -0: also look for nginx's fatal message)
		if ! kill -0 "$_ng_pid" 2>/dev/null || grep -q '\[emerg\]' "$_ng/error.log" "$_ng/stderr"; then
			kill -TERM "$_ng_pid" 2>/dev/null || true
			wait "$_ng_pid" 2>/dev/null || true
			T_PIDS=$(echo "$T_PIDS" | sed "s/ $_ng_pid//")
			grep -q "Address already in use" "$_ng/error.log" "$_ng/stderr" && return 1
			cat "$_ng/stderr" "$_ng/error.log"
			fail "nginx starts"
		fi
		if grep -q "start worker process" "$_ng/error.log" && [ "$(ng_get "$2")" != 000 ]; then
			NG_PID=$_ng_pid
			return 0
		fi
		_i=$((_i + 1))
		[ $_i -lt 50 ] || { cat "$_ng/error.log"; fail "nginx answers within 5 s"; }
		sleep 0.1
	done
}

# start_valgrind_daemon CONF: mtlscad on CONF in the foreground under
# valgrind memcheck (definite and indirect leaks are errors, exit 9), its
# log in VG_LOG and stderr in D_LOG; sets vpid and the ports P (HTTPS) and
# H (HTTP) once it listens.
start_valgrind_daemon() {
	VG_LOG=$T_DIR/valgrind.log
	D_LOG=$T_DIR/daemon.log
	valgrind --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=9 --log-file="$VG_LOG" \
		"$MTLSCAD" -c "$1" --foreground 2>"$D_LOG" &
	vpid=$!
	T_PIDS="$T_PIDS $vpid"
	wait_for_line "$D_LOG" "listening https=" "$vpid" 1200 ||
		fail "mtlscad under valgrind did not start"
	P=$(sed -n 's/.*listening https=[^ ]*:\([0-9]*\) .*/\1/p' "$D_LOG")
	H=$(sed -n 's/.*listening .* http=[^ ]*:\([0-9]*\)$/\1/p' "$D_LOG")
}

# stop_valgrind_daemon: SIGTERM to start_valgrind_daemon's mtlscad; fails
# the test when valgrind reported errors or leaks.
stop_valgrind_daemon() {
	kill -TERM "$vpid"
	set +e
	wait "$vpid"
	_rc=$?
	set -e
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $vpid//")
	grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$VG_LOG" || true
	[ "$_rc" -eq 0 ] || { cat "$VG_LOG"; fail "valgrind found errors or leaks (exit $_rc)"; }
}
