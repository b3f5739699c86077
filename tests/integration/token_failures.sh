#!/bin/sh
# token_failures.sh - which failed token attempts count against the rate
# limit of POST /v1/sign, and what each failure answers:
# - a used-up token (token_used) or a missing Authorization header counts
#   nothing: 12 concurrent uses of a 2-use token leave the address free;
# - a wrong secret counts against the address and against the token id:
#   10 of them, then 429 for that token, from any address;
# - unknown token ids count against the address: 10 of them, then 429 for
#   unknown ids from that address, while a live token still works there
#   (one client guessing must not lock out everyone behind the same proxy);
# - a database failure is a 500 that counts nothing, and once it is gone
#   the next valid token works at once.
# Each part uses its own loopback source address.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db
start_daemon "$conf"
https=https://127.0.0.1:$HTTPS_PORT
C="$CURL -sS --max-time 30 --cacert $d/chain.pem"
B=$T_DIR/body

# req ADDR CURL-ARGS... URL: body to $B, status to $code
req() {
	_a=$1
	shift
	code=$($C --interface "$_a" -o "$B" -w '%{http_code}' "$@") || code=000
}

# sign ADDR TOKEN NAME: POST /v1/sign of the CSR T_DIR/NAME.json
sign() {
	req "$1" -H 'Content-Type: application/json' -H "Authorization: Bearer $2" \
		--data-binary "@$T_DIR/$3.json" "$https/v1/sign"
}

# is_error DESC STATUS CODE: the last reply is that JSON error
is_error() {
	[ "$code" = "$2" ] && jq -e --arg c "$3" '(keys == ["error", "message"]) and .error == $c' \
		"$B" >/dev/null 2>&1 || {
		cat "$B"
		echo
		fail "$1: HTTP $2 {\"error\": \"$3\"} (got HTTP $code)"
	}
	ok "$1: HTTP $2 {\"error\": \"$3\"}"
}

# mkcsr NAME DNSNAME: key, CSR and request body T_DIR/NAME.json
mkcsr() {
	"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-keyout "$T_DIR/$1.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-out "$T_DIR/$1.csr" >"$T_DIR/req.out" 2>&1 || {
		cat "$T_DIR/req.out"
		fail "openssl req for $1"
	}
	awk 'BEGIN { printf "{\"csr\": \"" } { printf "%s\\n", $0 } END { print "\"}" }' \
		"$T_DIR/$1.csr" >"$T_DIR/$1.json"
}

# token NAME [ARGS...]: a token of profile private for NAME
token() {
	_n=$1
	shift
	"$MTLSCA" -c "$conf" token create --profile private --name "$_n" "$@" 2>"$T_DIR/err" || {
		cat "$T_DIR/err" >&2
		echo "not ok - mtlsca token create" >&2
		exit 1
	}
}

# wrong_secret TOKEN: the same id with another secret
wrong_secret() {
	echo "${1%%.*}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
}

rows() {
	sqlite3 "$db" "SELECT count(*) FROM certificates"
}

# ---- 12 at once on a 2-use token: 2 issued, 10 token_used, nothing counted -------
A=127.0.3.1
mkcsr u u.example.internal
tu=$(token u.example.internal --uses 2)
mkdir "$T_DIR/c12"
pids=""
i=1
while [ $i -le 12 ]; do
	$C --interface $A -o "$T_DIR/c12/$i.body" -w '%{http_code}\n' \
		-H "Authorization: Bearer $tu" -H 'Content-Type: application/json' \
		--data-binary "@$T_DIR/u.json" "$https/v1/sign" >"$T_DIR/c12/$i.code" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p" || true; done
cat "$T_DIR"/c12/*.code | sort | uniq -c | sed 's/^/# /'
eq "2-use token, 12 at once: exactly two 201" "$(cat "$T_DIR"/c12/*.code | grep -c '^201$')" 2
n=0
for f in "$T_DIR"/c12/*.body; do
	[ "$(jq -r '.error // "none"' "$f" 2>/dev/null)" != token_used ] || n=$((n + 1))
done
eq "2-use token, 12 at once: the other 10 are 401 token_used" \
	"$(cat "$T_DIR"/c12/*.code | grep -c '^401$') $n" "10 10"
mkcsr f f.example.internal
sign $A "$(token f.example.internal)" f
eq "after the 10 used-up refusals a fresh token from the same address: HTTP 201" "$code" 201
sign $A "mtls_00000000000000aa.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" f
is_error "... and the address is not blocked: an unknown token" 401 unauthorized
i=1
while [ $i -le 12 ]; do
	req $A -H 'Content-Type: application/json' --data-binary "@$T_DIR/f.json" "$https/v1/sign"
	[ "$code" = 401 ] || { cat "$B"; fail "missing Authorization header $i: 401 (got $code)"; }
	i=$((i + 1))
done
is_error "12 requests without an Authorization header: each" 401 unauthorized
mkcsr g g.example.internal
sign $A "$(token g.example.internal)" g
eq "... count nothing: a valid token from the same address: HTTP 201" "$code" 201

# ---- revoked and expired tokens (right secret): their own replies, not counted ---
R=127.0.3.7
tr=$(token r.example.internal)
"$MTLSCA" -c "$conf" token revoke "$(echo "${tr%%.*}" | sed 's/^mtls_//')" >/dev/null 2>&1 ||
	fail "mtlsca token revoke"
tx=$(token x.example.internal --ttl 1s)
made=$(date +%s)
i=1
while [ $i -le 11 ]; do
	sign $R "$tr" f
	[ "$code" = 401 ] && [ "$(jq -r .message "$B")" = "the token has been revoked" ] ||
		{ cat "$B"; fail "revoked token $i: 401 'the token has been revoked' (got $code)"; }
	i=$((i + 1))
done
is_error "11 uses of a revoked token: each" 401 unauthorized
while [ $(($(date +%s) - made)) -lt 2 ]; do sleep 0.2; done
i=1
while [ $i -le 11 ]; do
	sign $R "$tx" f
	[ "$code" = 401 ] || { cat "$B"; fail "expired token $i: 401 (got $code)"; }
	i=$((i + 1))
done
is_error "11 uses of an expired token: each" 401 token_expired
sign $R "mtls_00000000000000bb.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" f
is_error "... count nothing: an unknown token from that address" 401 unauthorized

# ---- a wrong secret for a live token: counted per address and per token id --------
W=127.0.3.2
mkcsr w w.example.internal
tw=$(token w.example.internal)
i=1
while [ $i -le 10 ]; do
	sign $W "$(wrong_secret "$tw")" w
	[ "$code" = 401 ] || { cat "$B"; fail "wrong secret $i: 401 (got $code)"; }
	i=$((i + 1))
done
is_error "10 wrong secrets for one token: each" 401 unauthorized
sign $W "$(wrong_secret "$tw")" w
is_error "the 11th wrong secret" 429 rate_limited
sign 127.0.3.3 "$(wrong_secret "$tw")" w
is_error "a wrong secret for that token from another address" 429 rate_limited
sign 127.0.3.3 "$tw" w
is_error "that token with its right secret meanwhile" 429 rate_limited
mkcsr w2 w2.example.internal
sign $W "$(token w2.example.internal)" w2
eq "another live token from the guessing address: HTTP 201" "$code" 201

# ---- unknown token ids: counted per address ---------------------------------------
U=127.0.3.4
i=1
while [ $i -le 10 ]; do
	sign $U "mtls_00000000000000$((i + 10)).AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" f
	[ "$code" = 401 ] || { cat "$B"; fail "unknown token $i: 401 (got $code)"; }
	i=$((i + 1))
done
is_error "10 unknown tokens from one address: each" 401 unauthorized
sign $U "mtls_0000000000000099.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" f
is_error "the 11th unknown token from that address" 429 rate_limited
sign 127.0.3.5 "mtls_0000000000000099.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" f
is_error "an unknown token from another address" 401 unauthorized
mkcsr h h.example.internal
sign $U "$(token h.example.internal)" h
eq "a live token from the address that sprayed unknown ones: HTTP 201" "$code" 201

# ---- a database failure: 500, counted nowhere -------------------------------------
E=127.0.3.6
mkcsr e e.example.internal
te=$(token e.example.internal)
rows_before=$(rows)
sqlite3 "$db" ".timeout 10000" "CREATE TRIGGER test_fault BEFORE UPDATE ON tokens
	BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
i=1
while [ $i -le 12 ]; do
	sign $E "$te" e
	[ "$code" = 500 ] || { cat "$B"; fail "database fault $i: 500 (got $code)"; }
	i=$((i + 1))
done
is_error "12 uses while the token UPDATE fails: each" 500 internal
eq "... they record nothing" "$(rows)" "$rows_before"
grep -q "injected fault" "$D_LOG" || fail "the database error is logged"
ok "the database error is logged"
sqlite3 "$db" ".timeout 10000" "DROP TRIGGER test_fault"
sign $E "$te" e
eq "fault removed: the same token from the same address at once: HTTP 201" "$code" 201

stop_daemon
echo "1..$T_NUM"
