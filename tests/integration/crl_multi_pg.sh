#!/bin/sh
# crl_multi_pg.sh - CRLs of two mtlscad instances on one PostgreSQL database
# with "crl": {"shards": 2} (doc/crl.md, doc/multi-instance.md).  Each
# instance keeps the CRL entries in memory and reads only the rows added
# since (crl_entries_after, inside the publication's write transaction);
# if an instance published from a set that missed the other's revocations,
# its CRL (and then the other's, which loads the newer number) would drop
# them.  So: revocations through A's API, B's API and the CLI in turn, then
# two at once through A and B.  After each, every CRL that A or B serves
# (/crl and each /crl/K) verifies with the chain, and one numbered at or
# above the highest CRL number stored when a revocation returned must list
# that revocation (of its shard): such a CRL was numbered after the
# revocation committed, so missing it is a bug and fails at once.  An
# older CRL is only stale: within 20 s both instances serve a CRL listing
# everything revoked, each /crl/K exactly the revoked ones of shard K.
# CRL numbers never repeat, and each revocation has one crl_entries row
# with its own seq and shard.  A third instance started last loads every
# entry at its start and publishes a complete CRL.  Every instance exits 0
# on SIGTERM.
set -e
. "$TESTS_SRCDIR/lib.sh"
. "$TESTS_SRCDIR/pglib.sh"
pg_start

d=$T_DIR/ca
init_ca "$d" --database "$PG_URI"
conf=$d/mtlsca.conf
jq '.crl.shards = 2' "$conf" >"$T_DIR/conf" && cp "$T_DIR/conf" "$conf"
C="$CURL -sS --max-time 30 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"

# start NAME: an instance on the shared directory; sets NAME_PID, NAME_URL, NAME_HTTP
start() {
	start_daemon "$conf"
	eval "$1_PID=$D_PID; $1_URL=https://127.0.0.1:$HTTPS_PORT; $1_HTTP=http://127.0.0.1:$HTTP_PORT"
	ok "instance $1 listens (https $HTTPS_PORT)"
}
start A
start B

# Eight certificates; both shards get some (K = serial mod 2).
n=1
while [ $n -le 8 ]; do
	"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-keyout "$T_DIR/k$n.key" -subj "/CN=h$n.example.internal" \
		-addext "subjectAltName=DNS:h$n.example.internal" -out "$T_DIR/r$n.csr" 2>/dev/null
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/r$n.csr" --profile private \
		--out "$T_DIR/c$n.crt" || fail "issue h$n"
	n=$((n + 1))
done
ok "eight certificates issued"
eq "both shards have certificates" \
	"$(psql_ca "SELECT count(DISTINCT crl_shard) FROM certificates WHERE profile = 'private'")" 2

# serial N: the serial of hN, as the CRLs print it (lower case, no leading zeros)
serial() {
	psql_ca "SELECT serial FROM certificates WHERE subject LIKE 'CN=h$1.%'" | sed 's/^0*//'
}
shard_of() {
	psql_ca "SELECT crl_shard FROM certificates WHERE subject LIKE 'CN=h$1.%'"
}

# listed FILE: the serials a DER CRL lists, sorted; fails unless it verifies with the chain
listed() {
	"$OPENSSL" crl -inform DER -in "$1" -CAfile "$d/chain.pem" -noout -text 2>"$T_DIR/verify" |
		sed -n 's/^ *Serial Number: *//p' | tr A-F a-f | sed 's/^0*//' | sort
	grep -q '^verify OK' "$T_DIR/verify" || {
		echo "$1 does not verify with the chain:" >&2
		cat "$T_DIR/verify" >&2
		return 1
	}
}

: >"$T_DIR/revoked"
# crl_number FILE: the CRL number of a DER CRL, in decimal
crl_number() {
	_n=$("$OPENSSL" crl -inform DER -in "$1" -noout -crlnumber | sed -n 's/^crlNumber=//p')
	echo $((_n))
}

# revoked N: record hN as revoked: "serial shard bound", where bound is the
# highest CRL number of the CA stored now that the revocation returned
revoked() {
	echo "$(serial "$1") $(shard_of "$1") $(psql_ca "SELECT max(number) FROM crls WHERE issuer LIKE 'ca%'")" \
		>>"$T_DIR/revoked"
}

# must_list INSTANCE FILE SHARD: fail at once when the CRL FILE (SHARD: -1
# for the complete one) leaves out a revocation that it is numbered after
# (its number >= that revocation's bound): not stale, wrong.  FILE.got holds
# what it lists.
must_list() {
	_num=$(crl_number "$2")
	awk -v n="$_num" -v k="$3" '$3 <= n && (k < 0 || $2 == k) { print $1 }' "$T_DIR/revoked" |
		sort >"$T_DIR/must"
	_missing=$(comm -23 "$T_DIR/must" "$2.got")
	[ -z "$_missing" ] || {
		echo "revoked (serial shard bound):" && cat "$T_DIR/revoked"
		echo "$1 serves CRL $_num (shard $3) listing:" && cat "$2.got"
		fail "$1's CRL number $_num (shard $3) lacks $_missing, revoked before that CRL was numbered"
	}
}

# complete_everywhere: both instances' /crl and /crl/K list what was revoked.
# Each CRL served must be right at every poll (must_list); one that is
# merely older must be replaced by a complete one within 20 s: the
# instances poll the store about once a second, and on a loaded machine
# (load average 6-10 on two cores, the full parallel suite) a tick and a
# round of six curl and six openssl runs can each take more than a second,
# so the 2 s this waited before failed without any CRL being wrong.
complete_everywhere() {
	sort "$T_DIR/revoked" | awk '{ print $1 }' >"$T_DIR/want"
	t0=$(date +%s%N)
	while :; do
		: >"$T_DIR/why"
		good=1
		for i in A B; do
			eval "h=\$${i}_HTTP"
			$C -o "$T_DIR/$i.crl" "$h/crl" || fail "GET $i /crl"
			# not a CRL yet (a shard before its first publication): stale too
			if listed "$T_DIR/$i.crl" >"$T_DIR/$i.crl.got" 2>>"$T_DIR/why"; then
				must_list $i "$T_DIR/$i.crl" -1
				cmp -s "$T_DIR/$i.crl.got" "$T_DIR/want" || good=0
			else
				good=0
			fi
			for k in 0 1; do
				$C -o "$T_DIR/$i.$k.crl" "$h/crl/$k" || fail "GET $i /crl/$k"
				awk -v k=$k '$2 == k { print $1 }' "$T_DIR/revoked" | sort >"$T_DIR/want.$k"
				if listed "$T_DIR/$i.$k.crl" >"$T_DIR/$i.$k.crl.got" 2>>"$T_DIR/why"; then
					must_list $i "$T_DIR/$i.$k.crl" $k
					cmp -s "$T_DIR/$i.$k.crl.got" "$T_DIR/want.$k" || good=0
				else
					good=0
				fi
			done
		done
		[ $good = 1 ] && break
		[ $(($(date +%s%N) - t0)) -lt 20000000000 ] || {
			for i in A B; do
				echo "$i /crl:" && cat "$T_DIR/$i.crl.got"
				echo "$i /crl/0:" && cat "$T_DIR/$i.0.crl.got"
				echo "$i /crl/1:" && cat "$T_DIR/$i.1.crl.got"
			done
			echo "want:" && cat "$T_DIR/revoked"
			cat "$T_DIR/why"
			fail "$1: a CRL of A or B is not complete after 20 s"
		}
		sleep 0.1
	done
	ok "$1: every CRL of A and B lists the $(wc -l <"$T_DIR/want") revoked after $((($(date +%s%N) - t0) / 1000000)) ms"
}

# revoke_api INSTANCE N: revoke hN through the instance's API
revoke_api() {
	eval "u=\$${1}_URL"
	code=$($C $ADMIN -o "$T_DIR/rev" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data "{\"serial\": \"$(serial "$2")\", \"reason\": \"keyCompromise\"}" "$u/v1/revoke")
	[ "$code" = 200 ] || {
		cat "$T_DIR/rev"
		fail "revoke h$2 through $1: status $code"
	}
	revoked "$2"
}

revoke_api A 1
complete_everywhere "h1 through A"
revoke_api B 2
complete_everywhere "h2 through B (B's set read A's entry)"
check "revoke h3 through the CLI" "$MTLSCA" -c "$conf" revoke "$(serial 3)"
revoked 3
complete_everywhere "h3 through the CLI"
revoke_api A 4
complete_everywhere "h4 through A (A's set read B's and the CLI's)"

# Two at once, one on each instance: the write lock orders them, neither CRL loses one.
revoke_api A 5 &
p1=$!
revoke_api B 6 &
p2=$!
wait $p1 || fail "revoke h5 through A"
wait $p2 || fail "revoke h6 through B"
complete_everywhere "h5 through A and h6 through B at once"

eq "one crl_entries row per revocation" "$(psql_ca 'SELECT count(*) FROM crl_entries')" 6
eq "... with six distinct seqs 1..6" \
	"$(psql_ca "SELECT count(DISTINCT seq) || ' ' || min(seq) || ' ' || max(seq) FROM crl_entries")" '6 1 6'
# Per shard, not a join of the counts: the six revoked may all be of one
# shard (h7 and h8 of the other), and then a join finds one shard, not two.
eq "... as many in each shard as revoked certificates of that shard" \
	"$(psql_ca "SELECT count(*) FROM
		(SELECT shard, count(*) AS n FROM crl_entries GROUP BY shard) e FULL JOIN
		(SELECT crl_shard, count(*) AS n FROM certificates WHERE status = 'revoked'
		 GROUP BY crl_shard) c ON e.shard = c.crl_shard
		WHERE e.n IS DISTINCT FROM c.n")" 0
for i in ca ca-0 ca-1; do
	eq "CRL numbers of $i are distinct" \
		"$(psql_ca "SELECT count(*) - count(DISTINCT number) FROM crls WHERE issuer = '$i'")" 0
done
eq "no number is given to two CRLs of the CA" \
	"$(psql_ca "SELECT count(*) - count(DISTINCT number) FROM crls WHERE issuer LIKE 'ca%'")" 0

# A third instance loads every entry at its start; its own publication is complete.
start C3
$C $ADMIN -o "$T_DIR/rev" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data "{\"serial\": \"$(serial 7)\", \"reason\": \"superseded\"}" "$C3_URL/v1/revoke" \
	>"$T_DIR/code"
eq "revoke h7 through a third instance started last" "$(cat "$T_DIR/code")" 200
revoked 7
$C -o "$T_DIR/C3.crl" "$C3_HTTP/crl" || fail "GET C3 /crl"
sort "$T_DIR/revoked" | awk '{ print $1 }' >"$T_DIR/want"
listed "$T_DIR/C3.crl" >"$T_DIR/C3.got" || fail "the third instance's CRL verifies"
cmp -s "$T_DIR/C3.got" "$T_DIR/want" || fail "the third instance's CRL lists the seven"
ok "the third instance's CRL lists the seven"
complete_everywhere "h7 through the third instance"

# Each instance ends with exit 0 on SIGTERM (under the sanitizers: no leak, no error).
for i in A B C3; do
	eval "D_PID=\$${i}_PID"
	stop_daemon
done
echo "1..$T_NUM"
