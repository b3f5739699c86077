#!/bin/sh
# acme.sh - the ACME server (RFC 8555) of the domain-validated profile with
# real clients: certbot (standalone http-01, then revoke: the serial lands on
# the served CRL), lego (http-01; dns-01 for a name and a wildcard against
# tests/integration/fakedns), and acme_negative.py (raw JWS: bad signatures, nonces, urls,
# content types, alg none, a wrong http-01 response, a CSR for other names).
# Each case uses its own name so that no earlier validation is reused.
set -e
. "$TESTS_SRCDIR/lib.sh"

CERTBOT=${CERTBOT:-certbot}
LEGO=${LEGO:-lego}
FAKEDNS=${FAKEDNS:-}
for t in "$CERTBOT" "$LEGO" "$PYTHON"; do
	command -v "$t" >/dev/null 2>&1 || fail "$t not found: run tools/install-deps"
done
need_python
if [ -z "$FAKEDNS" ] || [ ! -x "$FAKEDNS" ]; then
	fail "FAKEDNS (tests/integration/fakedns) is not built: make tests/integration/fakedns"
fi

# Names, one per case (all under example.net, a real public suffix's child).
N_CERTBOT=certbot.example.net
N_LEGO_HTTP=lego-http.example.net
N_LEGO_DNS=lego-dns.example.net
N_WILD=wild.example.net # lego asks for *.wild.example.net
N_WRONG=wrong-response.example.net
N_CSR=csr-mismatch.example.net

# client DESCRIPTION COMMAND...: an ACME client run must succeed; on failure
# show its output and what the daemon logged
client() {
	_desc=$1
	shift
	if "$@" >"$T_DIR/out" 2>&1; then ok "$_desc"; else
		cat "$T_DIR/out"
		echo "--- mtlscad log (last 30 lines)"
		tail -n 30 "$D_LOG"
		fail "$_desc"
	fi
}

# names_of CERT: its SAN DNS names, sorted, one line, comma-separated
names_of() {
	"$OPENSSL" x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
		sed -n 's/^ *//; /DNS:/p' | tr ',' '\n' | sed 's/^ *DNS://' | LC_ALL=C sort |
		paste -sd, -
}

# serial_lc CERT / serial_up CERT: lower-case (list --json) / upper-case (CRL text) hex
serial_up() {
	"$OPENSSL" x509 -in "$1" -noout -serial | sed 's/^serial=//'
}
serial_lc() {
	serial_up "$1" | tr A-F a-f
}

# verifies CERT: chains to root.crt through ca.crt
verifies() {
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$1"
}

# validation NAME: "method|outcome" rows recorded for NAME, oldest first
validation() {
	sqlite3 "$d/mtlsca.db" \
		"SELECT method || '|' || outcome FROM validations WHERE name = '$1' ORDER BY id" |
		paste -sd' ' -
}

# listed_json SERIAL: the list --json object of SERIAL in the domain-validated profile
listed_json() {
	"$MTLSCA" -c "$conf" list --profile domain-validated --json >"$T_DIR/list.json" ||
		fail "mtlsca list --profile domain-validated --json"
	jq -c --arg s "$1" '.[] | select(.serial == $s)' "$T_DIR/list.json"
}

# ---------------------------------------------------------------- setup

d=$T_DIR/ca
conf=$d/mtlsca.conf
init_ca "$d"

records=$T_DIR/records
: >"$records"
"$FAKEDNS" -p 0 -f "$records" >"$T_DIR/fakedns.out" 2>&1 &
dns_pid=$!
T_PIDS="$T_PIDS $dns_pid"
wait_for_line "$T_DIR/fakedns.out" '^port [0-9]' "$dns_pid" 100 || fail "fakedns did not start"
DNS_PORT=$(sed -n 's/^port \([0-9]*\).*/\1/p' "$T_DIR/fakedns.out" | head -n1)
ok "fakedns serves on 127.0.0.1:$DNS_PORT"

H01_PORT=$(free_port)
[ -n "$H01_PORT" ] || fail "no free port for http-01"
jq --argjson p "$H01_PORT" --arg r "127.0.0.1:$DNS_PORT" \
	--arg a "$N_CERTBOT" --arg b "$N_LEGO_HTTP" --arg c "$N_WRONG" --arg e "$N_CSR" \
	'. + {"acme": {"http01_port": $p, "dns_resolver": $r, "orders_per_hour": 20,
		"http01_deny": [],
		"new_accounts_per_hour": 12,
		"hosts": {($a): "127.0.0.1", ($b): "127.0.0.1", ($c): "127.0.0.1",
			($e): "127.0.0.1"}}}' "$conf" >"$conf.new"
mv "$conf.new" "$conf"
start_daemon "$conf"
dir=https://127.0.0.1:$HTTPS_PORT/acme/domain-validated/directory
C="$CURL -sS --max-time 10 --cacert $d/chain.pem"

eq "GET the ACME directory: newOrder" "$($C "$dir" | jq -r .newOrder)" \
	"https://127.0.0.1:$HTTPS_PORT/acme/domain-validated/new-order"

# ---------------------------------------------------------------- certbot, http-01

cb=$T_DIR/certbot
run_certbot() {
	REQUESTS_CA_BUNDLE=$d/chain.pem "$CERTBOT" "$@" --server "$dir" --non-interactive \
		--config-dir "$cb/conf" --work-dir "$cb/work" --logs-dir "$cb/logs"
}
client "certbot certonly --standalone (http-01 on 127.0.0.1:$H01_PORT) for $N_CERTBOT" \
	run_certbot certonly --standalone --http-01-port "$H01_PORT" --http-01-address 127.0.0.1 \
	-d "$N_CERTBOT" --agree-tos --register-unsafely-without-email
cert=$cb/conf/live/$N_CERTBOT/cert.pem
[ -s "$cert" ] || fail "certbot wrote $cert"
check "certbot's certificate verifies (root.crt, ca.crt)" verifies "$cert"
eq "certbot's certificate names $N_CERTBOT" "$(names_of "$cert")" "$N_CERTBOT"
"$OPENSSL" x509 -in "$cert" -noout -text >"$T_DIR/cb.txt"
grep -q "2.23.140.1.2.1" "$T_DIR/cb.txt" || fail "certbot's certificate has the DV policy"
ok "certbot's certificate carries the domain-validated policy 2.23.140.1.2.1"
eq "validation of $N_CERTBOT recorded" "$(validation "$N_CERTBOT")" "http-01|valid"
cb_serial=$(serial_lc "$cert")
j=$(listed_json "$cb_serial")
[ -n "$j" ] || { cat "$T_DIR/list.json"; fail "list --profile domain-validated has $cb_serial"; }
ok "list --profile domain-validated --json has certbot's certificate"
eq "listed: status valid" "$(echo "$j" | jq -r .status)" valid
eq "listed: names" "$(echo "$j" | jq -r '.names | join(",")')" "$N_CERTBOT"
case $(echo "$j" | jq -r .requester) in
acme:?*) ok "listed: the requester is the ACME account" ;;
*) fail "listed: requester '$(echo "$j" | jq -r .requester)', want acme:ACCOUNT" ;;
esac

client "certbot revoke" run_certbot revoke --cert-path "$cert" --no-delete-after-revoke
$C -o "$T_DIR/crl.der" "http://127.0.0.1:$HTTP_PORT/crl" || fail "GET /crl"
"$OPENSSL" crl -inform DER -in "$T_DIR/crl.der" -noout -text >"$T_DIR/crl.txt" ||
	fail "/crl is a DER CRL"
grep -q "Serial Number: $(serial_up "$cert")\$" "$T_DIR/crl.txt" ||
	{ cat "$T_DIR/crl.txt"; fail "the served CRL lists certbot's certificate"; }
ok "the served CRL lists certbot's revoked certificate"
eq "listed: status revoked" "$(listed_json "$cb_serial" | jq -r .status)" revoked

# ---------------------------------------------------------------- lego, http-01

lg=$T_DIR/lego
run_lego() {
	LEGO_CA_CERTIFICATES=$d/chain.pem "$LEGO" --server "$dir" --email admin@example.net \
		--accept-tos --path "$lg" "$@"
}
client "lego --http (127.0.0.1:$H01_PORT) run for $N_LEGO_HTTP" \
	run_lego --domains "$N_LEGO_HTTP" --http --http.port "127.0.0.1:$H01_PORT" run
cert=$lg/certificates/$N_LEGO_HTTP.crt
[ -s "$cert" ] || fail "lego wrote $cert"
check "lego's http-01 certificate verifies" verifies "$cert"
eq "lego's http-01 certificate names $N_LEGO_HTTP" "$(names_of "$cert")" "$N_LEGO_HTTP"
eq "validation of $N_LEGO_HTTP recorded" "$(validation "$N_LEGO_HTTP")" "http-01|valid"
[ -n "$(listed_json "$(serial_lc "$cert")")" ] || fail "lego's http-01 certificate listed"
ok "lego's http-01 certificate is listed"

# ---------------------------------------------------------------- lego, dns-01

hook=$T_DIR/dns-hook
cat >"$hook" <<EOF
#!/bin/sh
# lego's "exec" DNS provider: \$0 present|cleanup FQDN VALUE
echo "\$*" >>"$T_DIR/hook.log"
case \$1 in
present) echo "\$2 TXT \$3" >>"$records" ;;
cleanup) grep -vF "\$2 TXT \$3" "$records" >"$records.tmp" || :
	mv "$records.tmp" "$records" ;;
*) exit 1 ;;
esac
EOF
chmod +x "$hook"
client "lego --dns exec run for $N_LEGO_DNS and *.$N_WILD" \
	env EXEC_PATH="$hook" EXEC_PROPAGATION_TIMEOUT=10 EXEC_POLLING_INTERVAL=1 \
	EXEC_SEQUENCE_INTERVAL=1 \
	LEGO_CA_CERTIFICATES="$d/chain.pem" "$LEGO" --server "$dir" --email admin@example.net \
	--accept-tos --path "$lg" --domains "$N_LEGO_DNS" --domains "*.$N_WILD" \
	--dns exec --dns.resolvers "127.0.0.1:$DNS_PORT" --dns.disable-cp run
if ! grep -q "^present _acme-challenge.$N_LEGO_DNS. " "$T_DIR/hook.log" ||
	! grep -q "^present _acme-challenge.$N_WILD. " "$T_DIR/hook.log"; then
	cat "$T_DIR/hook.log"
	fail "lego published both TXT records through the hook"
fi
ok "lego published both TXT records through the hook"
cert=$lg/certificates/$N_LEGO_DNS.crt
[ -s "$cert" ] || fail "lego wrote $cert"
check "lego's dns-01 certificate verifies" verifies "$cert"
eq "lego's dns-01 certificate names $N_LEGO_DNS and *.$N_WILD" "$(names_of "$cert")" \
	"*.$N_WILD,$N_LEGO_DNS"
eq "validation of $N_LEGO_DNS recorded" "$(validation "$N_LEGO_DNS")" "dns-01|valid"
eq "validation of *.$N_WILD recorded" "$(validation "*.$N_WILD")" "dns-01|valid"
[ -n "$(listed_json "$(serial_lc "$cert")")" ] || fail "lego's dns-01 certificate listed"
ok "lego's dns-01 certificate is listed"

# ---------------------------------------------------------------- raw ACME, refusals

set +e
"$PYTHON" "$TESTS_SRCDIR/acme_negative.py" "$dir" "$d/chain.pem" "$H01_PORT" "$conf" \
	"$N_WRONG" "$N_CSR" >"$T_DIR/neg.out" 2>&1
rc=$?
set -e
while IFS= read -r line; do
	case $line in
	"ok "*) ok "raw ACME: ${line#ok }" ;;
	"not ok "*)
		echo "--- mtlscad log (last 30 lines)"
		tail -n 30 "$D_LOG"
		fail "raw ACME: ${line#not ok }"
		;;
	"#"*) echo "$line" ;;
	*) echo "# $line" ;;
	esac
done <"$T_DIR/neg.out"
[ "$rc" -eq 0 ] || fail "acme_negative.py exited $rc"
eq "validations of $N_WRONG recorded" "$(validation "$N_WRONG")" "http-01|invalid"
eq "validations of $N_CSR recorded" "$(validation "$N_CSR")" "http-01|valid"

stop_daemon
echo "1..$T_NUM"
