#!/bin/sh
# store_pg.sh - the store conformance tests (tests/unit/store/test_store and
# test_txn) against PostgreSQL: a server of the test's own (pglib.sh) and
# the same Check programs the SQLite run uses, with $MCA_TEST_PG set; they
# add PostgreSQL's own cases (migrations under the advisory lock, a newer
# schema refused, reconnect after the server dropped the connection, an
# unreachable server) and skip the ones about SQLite files and pragmas.
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"

top_build=$(dirname "$(dirname "$MTLSCA")")
[ -x "$top_build/tests/unit/store/test_store" ] || {
	echo "SKIP: the Check programs were not built (the Debian package check is missing)"
	exit 77
}
pg_start

for t in test_store test_txn; do
	if MCA_TEST_PG=$PG_URI "$top_build/tests/unit/store/$t" \
		>"$T_DIR/$t.log" 2>&1; then
		grep -E '^[0-9]+%: Checks' "$T_DIR/$t.log"
		ok "$t on PostgreSQL"
		# The run was the PostgreSQL one: its last test left the schema there.
		if [ "$t" = test_store ]; then
			check "test_store wrote to PostgreSQL" \
				test "$(psql_ca 'SELECT count(*) FROM mca_schema')" = 1
		fi
	else
		cat "$T_DIR/$t.log"
		fail "$t on PostgreSQL"
	fi
done
