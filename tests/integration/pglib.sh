# pglib.sh - a PostgreSQL server of the test's own (sourced after lib.sh).
#
# pg_start starts the newest /usr/lib/postgresql/*/bin server in
# $T_DIR/pg, listening only on a Unix socket in that directory, and
# creates the database "ca"; it sets PG_URI (a postgresql:// URI for it),
# PG_SOCK, PG_DATA and PG_BIN.  As root, initdb and postgres run as the
# user "postgres" (runuser), which PostgreSQL requires.  Without the
# binaries the test is skipped (exit 77) with a message saying so.
# pg_stop stops it (the EXIT trap of lib.sh calls it too); pg_stop_fast
# and pg_start_again stop and restart the same cluster (fault tests).
# PG_EXTRA_CONF: more "-c name=value" server options.

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
PG_RUN=""
PG_STARTED=0

pg_as() {
	if [ -n "$PG_RUN" ]; then $PG_RUN "$@"; else "$@"; fi
}

pg_start() {
	if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
		echo "SKIP: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): install the Debian package postgresql"
		exit 77
	fi
	PG_DIR=$T_DIR/pg
	PG_DATA=$PG_DIR/data
	PG_SOCK=$PG_DIR
	mkdir -p "$PG_DIR"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || fail "running as root needs the user postgres (Debian package postgresql)"
		PG_RUN="runuser -u postgres --"
		chmod 711 "$T_DIR"
		chown postgres "$PG_DIR"
	fi
	pg_as "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U mca -E UTF8 --locale=C --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; fail "initdb"; }
	pg_start_again
	pg_as "$PG_BIN/createdb" -h "$PG_SOCK" -U mca ca || fail "createdb"
	PG_URI="postgresql:///ca?host=$PG_SOCK&user=mca"
}

# pg_start_again: start the cluster made by pg_start (after pg_stop_fast)
pg_start_again() {
	# shellcheck disable=SC2086
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-k $PG_SOCK -c listen_addresses= -c max_connections=200 ${PG_EXTRA_CONF:-}" \
		start >/dev/null || { cat "$PG_DIR/server.log"; fail "pg_ctl start"; }
	PG_STARTED=1
}

# pg_stop_fast: stop the server at once, connections cut (fault tests)
pg_stop_fast() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
	PG_STARTED=0
}

pg_stop() {
	if [ "$PG_STARTED" = 1 ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
		PG_STARTED=0
	fi
}

# psql_ca SQL: run SQL on the test database, unaligned output without headers
psql_ca() {
	pg_as "$PG_BIN/psql" -X -q -A -t -h "$PG_SOCK" -U mca -d ca -v ON_ERROR_STOP=1 -c "$1"
}

# pg_cleanup is chained before lib.sh's cleanup
_pg_prev_trap=cleanup
pg_cleanup() {
	pg_stop
	$_pg_prev_trap
}
trap pg_cleanup EXIT INT TERM
