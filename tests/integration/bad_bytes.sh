#!/bin/sh
# bad_bytes.sh - error replies whose message quotes client bytes that are
# not valid UTF-8 (URL paths, a serial, an ACME profile and resource, a
# truncated ACME kid, a CSR's SAN) must still be sent, as JSON: the bytes
# are replaced by U+FFFD and long values cut at a character boundary.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
start_daemon "$conf"
https=https://127.0.0.1:$HTTPS_PORT
http=http://127.0.0.1:$HTTP_PORT
C="$CURL -sS --max-time 30 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"
B=$T_DIR/body

# req CURL-ARGS... URL: body to $B, headers to T_DIR/hdr, status to $code
req() {
	code=$($C -o "$B" -D "$T_DIR/hdr" -w '%{http_code}' "$@") || code=000
}

# is_error DESC STATUS CODE [MESSAGE-TEXT]: the last reply is that JSON error,
# valid UTF-8 (jq and iconv accept it)
is_error() {
	[ "$code" = "$2" ] && jq -e --arg c "$3" --arg m "${4:-}" \
		'(keys == ["error", "message"]) and .error == $c and (.message | contains($m))' \
		"$B" >/dev/null 2>&1 && iconv -f UTF-8 -t UTF-8 "$B" >/dev/null 2>&1 || {
		od -c "$B" | head -n 20
		fail "$1: HTTP $2 {\"error\": \"$3\"}${4:+ naming '$4'} (got HTTP $code, $(wc -c <"$B") bytes)"
	}
	ok "$1: HTTP $2 {\"error\": \"$3\"}${4:+, message has '$4'}"
}

# Paths: MHD decodes %XX, so the handler sees the raw bytes.
req "$https/%ff%fe"
is_error "GET /%ff%fe" 404 not_found "$(printf '\357\277\275\357\277\275')"
req "$http/%ff%fe"
is_error "GET /%ff%fe on the HTTP listener" 404 not_found
# 197 x "a" then a 3-byte character: the message cuts the path at 200 bytes,
# inside that character.
long=/$(printf '%197s' '' | tr ' ' a)
req "$https$long%E2%82%AC"
is_error "a 201-byte path cut inside a multibyte character" 404 not_found "$(echo "$long" | cut -c1-150)"
jq -j .message "$B" | grep -q 'aaa$' || fail "the cut drops the partial character"
ok "the cut drops the partial character"
req "$https/v1/%c3"
is_error "a path ending in half a character" 404 not_found
req $ADMIN -X DELETE "$https/v1/certificates/%ff"
is_error "DELETE /v1/certificates/%ff (405 names the path)" 405 method_not_allowed
req $ADMIN "$https/v1/certificates/%ff"
is_error "GET /v1/certificates/%ff (bad serial)" 400 bad_request
req $ADMIN "$https/v1/certificates?after=%ff"
is_error "GET /v1/certificates?after=%ff" 400 bad_request
req $ADMIN "$https/v1/certificates?%ff=1"
is_error "GET /v1/certificates?%ff=1 (unknown parameter)" 400 bad_request
req "$https/acme/%ff/directory"
is_error "ACME directory of profile %ff" 404 not_found

# A SAN with the byte 0xff, under a token for a plain name.
"$OPENSSL" req -new -noenc -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-keyout "$T_DIR/x.key" -subj "/CN=x.example.internal" \
	-addext "$(printf 'subjectAltName=DNS:x.example.internal,DNS:a\377b.example.internal')" \
	-out "$T_DIR/x.csr" >"$T_DIR/req.out" 2>&1 || { cat "$T_DIR/req.out"; fail "openssl req"; }
awk 'BEGIN { printf "{\"csr\": \"" } { printf "%s\\n", $0 } END { print "\"}" }' \
	"$T_DIR/x.csr" >"$T_DIR/x.json"
tok=$("$MTLSCA" -c "$conf" token create --profile private --name x.example.internal)
req -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data-binary "@$T_DIR/x.json" "$https/v1/sign"
case $code in
400) is_error "a CSR with a SAN holding 0xff" 400 bad_csr "$(printf 'a\357\277\275b')" ;;
*) is_error "a CSR with a SAN holding 0xff" 403 policy_violation "$(printf 'a\357\277\275b')" ;;
esac

# ACME: problem documents quoting the request URL and a cut kid.
"$PYTHON" - "$https" "$d/chain.pem" <<'EOF' || fail "ACME problem documents (see above)"
import base64, json, ssl, sys, urllib.error, urllib.request

base, cafile = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
acme = base + "/acme/domain-validated"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def nonce():
    r = urllib.request.urlopen(urllib.request.Request(acme + "/new-nonce", method="HEAD"),
                               context=ctx)
    return r.headers["Replay-Nonce"]


def post(path, url, kid):
    prot = {"alg": "ES256", "kid": kid, "nonce": nonce(), "url": url}
    body = json.dumps({"protected": b64u(json.dumps(prot).encode()), "payload": "",
                       "signature": b64u(b"\1" * 64)}).encode()
    req = urllib.request.Request(base + path, data=body, method="POST",
                                 headers={"Content-Type": "application/jose+json"})
    try:
        r = urllib.request.urlopen(req, context=ctx)
        return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError as e:  # no reply at all
        print("# %s" % e)
        return 0, {}, b""


def problem(desc, got, status, ptype, text):
    st, hdr, body = got
    try:
        doc = json.loads(body.decode("utf-8"))
    except Exception:
        doc = None
    good = (st == status and hdr.get("Content-Type") == "application/problem+json"
            and isinstance(doc, dict) and doc.get("type") == "urn:ietf:params:acme:error:" + ptype
            and text in doc.get("detail", ""))
    if not good:
        print("# status %d, %s, body %r" % (st, hdr.get("Content-Type"), body[:300]))
        print("not ok - " + desc)
        sys.exit(1)
    print("ok - %s: %d %s" % (desc, status, ptype))


kid = acme + "/acct/0123456789abcdef"
problem("ACME POST /acme/domain-validated/%ff (detail quotes the URL)",
        post("/acme/domain-validated/%ff", acme + "/new-order", kid), 401, "unauthorized",
        "/acme/domain-validated/\ufffd")
# "no account KID" quotes 200 bytes of the kid: make byte 200 fall inside an "é".
prefix = acme + "/acct/"
pad = "a" if (200 - len(prefix)) % 2 == 0 else ""
long_kid = prefix + pad + "\u00e9" * 300
problem("ACME kid cut inside a multibyte character",
        post("/acme/domain-validated/new-order", acme + "/new-order", long_kid), 400,
        "accountDoesNotExist", "\u00e9\u00e9")
EOF
ok "ACME problem documents are sent for bytes that are not UTF-8"
req "$https/v1/health"
eq "healthy afterwards" "$(cat "$B")" '{"status":"ok"}'

stop_daemon
echo "1..$T_NUM"
