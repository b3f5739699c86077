#!/bin/sh
# pkcs11.sh - CA keys in a PKCS#11 token (SoftHSM 2, token made here in a
# temporary directory through SOFTHSM2_CONF): "mtlsca init --pkcs11-*" for
# ec-p256, ec-p384 and rsa-3072 (and ed25519 where the token has CKM_EDDSA)
# writes no CA key file, the chain verifies with OpenSSL and GnuTLS,
# pkcs11-tool sees the keys sensitive and never extractable; mtlscad on that
# CA (signer process under its seccomp filter) signs, renews, revokes and
# publishes CRLs that verify; "mtlsca keys list" says where the keys live;
# a token that goes away answers 503 signer_unavailable and signs again once
# back; a module that fails C_Sign (p11shim.c) answers 503 and backs off
# until it works, one without CKM_RSA_PKCS or with bare EC points still
# serves; a wrong PIN and a missing module stop mtlscad with one line naming
# the token / the path.
set -e
. "$TESTS_SRCDIR/lib.sh"

. "$TESTS_SRCDIR/softhsm.sh"

# mkcsr NAME: T_DIR/NAME.key and T_DIR/NAME.json ({"csr": ...}) for NAME.example.internal
mkcsr() {
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T_DIR/$1.key" -subj "/CN=$1.example.internal" \
		-addext "subjectAltName=DNS:$1.example.internal" -out "$T_DIR/$1.csr" \
		>"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "CSR $1"; }
	jq -n --rawfile csr "$T_DIR/$1.csr" '{csr:$csr}' >"$T_DIR/$1.json"
}

# api FILE-OUT CURL-ARGS...: one HTTPS request; sets code
api() {
	_o=$1
	shift
	code=$($CURL -sS --max-time 20 --cacert "$d/chain.pem" -o "$_o" -w '%{http_code}' "$@") ||
		code=000
}

# sign_api NAME: POST /v1/sign with a fresh token for NAME; sets code, T_DIR/NAME.crt on 201
sign_api() {
	mkcsr "$1"
	_tok=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private \
		--name "$1.example.internal") || fail "token create $1"
	api "$T_DIR/$1.out" -H "Authorization: Bearer $_tok" -H 'Content-Type: application/json' \
		--data-binary "@$T_DIR/$1.json" "https://127.0.0.1:$HTTPS_PORT/v1/sign"
	if [ "$code" = 201 ]; then jq -r .certificate "$T_DIR/$1.out" >"$T_DIR/$1.crt"; fi
}

# ca_for KEYTYPE: a CA in $d whose root and issuing CA keys are in token tok-KEYTYPE
ca_for() {
	new_token "tok-$1"
	d=$T_DIR/ca-$1
	init_ca "$d" --key-type "$1" --pkcs11-module "$MODULE" --pkcs11-token "tok-$1" \
		--pkcs11-pin-file "$T_DIR/pin"
}

kts="ec-p256 ec-p384 rsa-3072"
# Ed25519 only where the token generates and signs with it (CKM_EDDSA)
if "$PKCS11_TOOL" --module "$MODULE" -M 2>/dev/null | grep -q "EDDSA"; then
	kts="$kts ed25519"
fi

for kt in $kts; do
	ca_for "$kt"
	# No private key file for the CA keys; server.key and admin.key are the only ones.
	for k in root.key ca.key; do
		[ ! -e "$d/$k" ] || fail "$kt: $k exists"
	done
	eq "$kt: the only private key files are server.key and admin.key" \
		"$(grep -l 'PRIVATE KEY' -r "$d" | sed "s|^$d/||" | LC_ALL=C sort | tr '\n' ' ')" \
		"admin.key server.key "
	jq -e '(.ca_key | startswith("pkcs11:token=tok-")) and (.root_key | startswith("pkcs11:"))
		and (.ca_key | endswith(";type=private")) and (.pkcs11_module | length > 0)
		and (.pkcs11_pin_file | length > 0)' "$d/mtlsca.conf" >/dev/null ||
		{ cat "$d/mtlsca.conf"; fail "$kt: the config names the keys by URI"; }
	ok "$kt: mtlsca.conf names both CA keys by pkcs11: URI, with module and PIN file"

	check "$kt: openssl verify (chain to root.crt)" \
		"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$d/server.crt" "$d/admin.crt"
	cat "$d/server.crt" "$d/ca.crt" "$d/root.crt" >"$T_DIR/chain.pem"
	"$CERTTOOL" --verify-chain --infile "$T_DIR/chain.pem" >"$T_DIR/out" 2>&1 &&
		grep -q "Chain verification output: Verified" "$T_DIR/out" ||
		{ cat "$T_DIR/out"; fail "$kt: certtool --verify-chain"; }
	ok "$kt: GnuTLS certtool --verify-chain accepts server, issuing CA and root"
	"$OPENSSL" crl -inform DER -in "$d/crl/ca.crl" -noout -verify -CAfile "$d/ca.crt" \
		>"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "$kt: init's CA CRL verifies"; }
	"$OPENSSL" crl -inform DER -in "$d/crl/root.crl" -noout -verify -CAfile "$d/root.crt" \
		>"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "$kt: init's root CRL verifies"; }
	ok "$kt: the first CRLs (signed in the token) verify"

	# Both private keys in the token: sensitive, never extractable.
	"$PKCS11_TOOL" --module "$MODULE" --token-label "tok-$kt" --login --pin 1234 \
		--list-objects --type privkey >"$T_DIR/objs" 2>&1 || { cat "$T_DIR/objs"; fail "pkcs11-tool"; }
	eq "$kt: pkcs11-tool lists two private keys" "$(grep -c '^Private Key Object' "$T_DIR/objs")" 2
	eq "$kt: both sensitive and never extractable" \
		"$(grep -c 'Access:.*[^-]sensitive.*never extractable' "$T_DIR/objs")" 2
	grep -q "label: *mtlsca-root-" "$T_DIR/objs" && grep -q "label: *mtlsca-ca-" "$T_DIR/objs" ||
		{ cat "$T_DIR/objs"; fail "$kt: labels"; }
	ok "$kt: labelled mtlsca-root-* and mtlsca-ca-*"

	# keys list: where the keys live, and --check signs with each.
	check "$kt: mtlsca keys list --check" "$MTLSCA" -c "$d/mtlsca.conf" keys list --check
	grep -q "^ca  *pkcs11  *$kt  *pkcs11:token=tok-$kt;" "$T_DIR/out" &&
		grep -q "^root  *pkcs11  *$kt " "$T_DIR/out" && grep -q "^server  *file " "$T_DIR/out" &&
		[ "$(grep -c 'check: ok' "$T_DIR/out")" -eq 2 ] || { cat "$T_DIR/out"; fail "$kt: keys list"; }
	ok "$kt: keys list: root and ca in pkcs11 (both usable), server a file"

	# The daemon on that CA: sign, renew, revoke + CRL.
	start_daemon "$d/mtlsca.conf"
	sign_api "a-$kt"
	eq "$kt: POST /v1/sign: 201" "$code" 201
	check "$kt: the issued certificate verifies" \
		"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$T_DIR/a-$kt.crt"
	api "$T_DIR/renew.out" --cert "$T_DIR/a-$kt.crt" --key "$T_DIR/a-$kt.key" -X POST \
		"https://127.0.0.1:$HTTPS_PORT/v1/renew"
	eq "$kt: POST /v1/renew (mTLS): 201" "$code" 201
	jq -r .certificate "$T_DIR/renew.out" >"$T_DIR/a-$kt-r.crt"
	check "$kt: the renewed certificate verifies" \
		"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$T_DIR/a-$kt-r.crt"
	serial=$("$OPENSSL" x509 -in "$T_DIR/a-$kt-r.crt" -noout -serial | sed 's/^serial=//')
	echo "{\"serial\": \"$(echo "$serial" | tr A-F a-f)\"}" >"$T_DIR/rev.json"
	api "$T_DIR/rev.out" --cert "$d/admin.crt" --key "$d/admin.key" \
		-H 'Content-Type: application/json' --data-binary "@$T_DIR/rev.json" \
		"https://127.0.0.1:$HTTPS_PORT/v1/revoke"
	eq "$kt: POST /v1/revoke (admin): 200" "$code" 200
	$CURL -sS --max-time 10 -o "$T_DIR/crl.der" "http://127.0.0.1:$HTTP_PORT/crl" ||
		fail "$kt: GET /crl"
	"$OPENSSL" crl -inform DER -in "$T_DIR/crl.der" -noout -verify -CAfile "$d/ca.crt" \
		>"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "$kt: the published CRL verifies"; }
	"$OPENSSL" crl -inform DER -in "$T_DIR/crl.der" -noout -text >"$T_DIR/crl.txt"
	grep -q "Serial Number: 0*$serial\$" "$T_DIR/crl.txt" ||
		{ cat "$T_DIR/crl.txt"; fail "$kt: the CRL lists $serial"; }
	ok "$kt: the CRL on /crl, signed in the token, verifies and lists the revoked serial"
	"$OPENSSL" crl -inform DER -in "$T_DIR/crl.der" -out "$T_DIR/crl.pem"
	set +e
	"$OPENSSL" verify -crl_check -CAfile "$d/root.crt" -untrusted "$d/ca.crt" \
		-CRLfile "$T_DIR/crl.pem" "$T_DIR/a-$kt-r.crt" >"$T_DIR/out" 2>&1
	_rc=$?
	set -e
	[ "$_rc" -ne 0 ] && grep -q "certificate revoked" "$T_DIR/out" ||
		{ cat "$T_DIR/out"; fail "$kt: openssl verify -crl_check refuses the revoked one"; }
	ok "$kt: openssl verify -crl_check: certificate revoked"
	stop_daemon
done

# ---- the root key online: mtlsca crl --root signs in the token ----------------
d=$T_DIR/ca-ec-p256
check "mtlsca crl --root (the root key in the token)" "$MTLSCA" -c "$d/mtlsca.conf" crl --root
check "... the new root CRL verifies" \
	"$OPENSSL" crl -inform DER -in "$d/crl/root.crl" -noout -verify -CAfile "$d/root.crt"
# mtlscad republishes the root CRL (here every 2 s) through the signer process
jq '.crl.root_validity = "4s"' "$d/mtlsca.conf" >"$d/rootcrl.conf"
before=$("$OPENSSL" crl -inform DER -in "$d/crl/root.crl" -noout -crlnumber)
start_daemon "$d/rootcrl.conf"
wait_for_line "$D_LOG" "published root CRL number" "$D_PID" 200 ||
	fail "mtlscad republishes the root CRL"
stop_daemon
after=$("$OPENSSL" crl -inform DER -in "$d/crl/root.crl" -noout -crlnumber)
[ "$after" != "$before" ] || fail "the root CRL number did not move ($before)"
check "mtlscad's root CRL (signed in the token by the signer process) verifies" \
	"$OPENSSL" crl -inform DER -in "$d/crl/root.crl" -noout -verify -CAfile "$d/root.crt"

# ---- no public key object in the token: the public key comes from ca.crt ------
d=$T_DIR/ca-ec-p384
caid=$(jq -r .ca_key "$d/mtlsca.conf" | sed 's/.*;id=\([^;]*\);.*/\1/; s/%//g')
"$PKCS11_TOOL" --module "$MODULE" --token-label tok-ec-p384 --login --pin 1234 \
	--delete-object --type pubkey --id "$caid" >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "delete pubkey"; }
"$PKCS11_TOOL" --module "$MODULE" --token-label tok-ec-p384 --login --pin 1234 \
	--list-objects --type pubkey >"$T_DIR/objs" 2>&1
eq "the CA's public key object is gone" "$(grep -c "ID: *$caid" "$T_DIR/objs")" 0
start_daemon "$d/mtlsca.conf"
sign_api nopub
eq "no public key object: POST /v1/sign still 201 (public key from ca.crt)" "$code" 201
check "... and the certificate verifies" \
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$T_DIR/nopub.crt"
stop_daemon
# a certificate that is not the key's: refused at start
jq --arg c "$d/root.crt" '.ca_cert = $c' "$d/mtlsca.conf" >"$d/wrongcert.conf"
check_fails "ca_cert of another key: mtlscad refuses to start" 1 \
	"$MTLSCAD" -c "$d/wrongcert.conf" --foreground
stderr_has "pkcs11 token 'tok-ec-p384': the private key does not sign for $d/root.crt"
d=$T_DIR/ca-ec-p256

# ---- keys list on a CA with key files, and with the root key offline ----------
init_ca "$T_DIR/files"
check "keys list: a CA with key files" "$MTLSCA" -c "$T_DIR/files/mtlsca.conf" keys list --check
grep -q "^ca  *file  *ec-p256  *$T_DIR/files/ca.key\$" "$T_DIR/out" &&
	grep -q "^root  *file  *ec-p256  *$T_DIR/files/root.key\$" "$T_DIR/out" &&
	[ "$(grep -c 'check: ok' "$T_DIR/out")" -eq 2 ] || { cat "$T_DIR/out"; fail "keys list: files"; }
ok "keys list: root and ca are files, both usable"
jq 'del(.root_key)' "$d/mtlsca.conf" >"$d/offline.conf"
check "keys list: the root key offline" "$MTLSCA" -c "$d/offline.conf" keys list
grep -q "^root  *offline  *ec-p256  *-\$" "$T_DIR/out" || { cat "$T_DIR/out"; fail "keys list: offline"; }
ok "keys list: root offline"
check_fails "keys without 'list': usage error" 2 "$MTLSCA" -c "$d/mtlsca.conf" keys
stderr_has "the subcommand is 'list'"

# ---- the CLI signing in the token under valgrind: no leaks, no memory errors --
if [ "${MCA_SANITIZERS:-no}" != yes ] && command -v valgrind >/dev/null; then
	mkcsr vg
	for cmd in "crl" "crl --root" "issue --csr $T_DIR/vg.csr --profile private --out $T_DIR/vg.crt"; do
		# shellcheck disable=SC2086
		valgrind --leak-check=full --show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
			--log-file="$T_DIR/vg.log" "$MTLSCA" -c "$d/mtlsca.conf" $cmd >"$T_DIR/out" 2>&1 ||
			{ cat "$T_DIR/out" "$T_DIR/vg.log"; fail "valgrind mtlsca $cmd"; }
		ok "valgrind: mtlsca $cmd signs in the token without leaks or memory errors"
	done
fi

# ---- a token that goes away and comes back -------------------------------------
start_daemon "$d/mtlsca.conf"
sp=$(ps -o pid= --ppid "$D_PID" | tr -d ' ')
eq "the signer process (pid $sp) runs under its seccomp filter" \
	"$(awk '/^Seccomp:/ {print $2}' "/proc/$sp/status")" 2
sign_api before
eq "token present: 201" "$code" 201
tokdir=$(grep -l "tok-ec-p256" "$T_DIR"/tokens/*/token.object | xargs dirname)
mv "$tokdir" "$T_DIR/away"
sign_api gone1
eq "token gone: POST /v1/sign: 503" "$code" 503
eq "... signer_unavailable" "$(jq -r .error "$T_DIR/gone1.out")" signer_unavailable
sign_api gone2
eq "token still gone (login back-off): 503 signer_unavailable" \
	"$code $(jq -r .error "$T_DIR/gone2.out")" "503 signer_unavailable"
grep -q "pkcs11 token 'tok-ec-p256'.*next login in" "$D_LOG" ||
	{ cat "$D_LOG"; fail "the log says when the signer logs in again"; }
ok "the log names the token and the next login"
mv "$T_DIR/away" "$tokdir"
# the back-off is 1 s, then 2 s: within 10 s the token signs again
n=0
while :; do
	sign_api back
	[ "$code" = 201 ] && break
	n=$((n + 1))
	[ $n -lt 20 ] || { cat "$D_LOG"; fail "the token back: still $code"; }
	sleep 0.5
done
ok "token back: POST /v1/sign 201 again"
check "... and that certificate verifies" \
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$T_DIR/back.crt"
grep -q "pkcs11 token 'tok-ec-p256': logged in again" "$D_LOG" ||
	{ cat "$D_LOG"; fail "the log says the signer logged in again"; }
ok "the log says the signer logged in again"
grep -q "killed by signal" "$D_LOG" && { cat "$D_LOG"; fail "the signer process was killed"; }
eq "the signer process stayed up (its seccomp filter allows the login again)" \
	"$(ps -o pid= --ppid "$D_PID" | tr -d ' ')" "$sp"
stop_daemon

# ---- a module that misbehaves on demand (tests/integration/p11shim.c) ---------
SHIM=$(cd "$(dirname "$MTLSCA")/.." && pwd)/tests/integration/p11shim.so
[ -f "$SHIM" ] || fail "$SHIM not built (make check builds it)"
mkdir "$T_DIR/faults"
P11SHIM_DIR=$T_DIR/faults P11SHIM_MODULE=$MODULE
export P11SHIM_DIR P11SHIM_MODULE

# RSA keys without CKM_RSA_PKCS: the token hashes (CKM_SHA256_RSA_PKCS)
touch "$T_DIR/faults/no-rsa-pkcs"
new_token tok-shim-rsa
d=$T_DIR/ca-shim-rsa
init_ca "$d" --key-type rsa-2048 --pkcs11-module "$SHIM" --pkcs11-token tok-shim-rsa \
	--pkcs11-pin-file "$T_DIR/pin"
ok "init on a token without CKM_RSA_PKCS (CKM_SHA256_RSA_PKCS)"
check "... its chain verifies" \
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$d/server.crt"
start_daemon "$d/mtlsca.conf"
sign_api shimrsa
eq "... POST /v1/sign: 201" "$code" 201
check "... and the certificate verifies" \
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$T_DIR/shimrsa.crt"
stop_daemon
rm "$T_DIR/faults/no-rsa-pkcs"

# CKA_EC_POINT as the bare point (no DER OCTET STRING around it)
touch "$T_DIR/faults/raw-ec-point"
new_token tok-shim-ec
d=$T_DIR/ca-shim-ec
init_ca "$d" --key-type ec-p256 --pkcs11-module "$SHIM" --pkcs11-token tok-shim-ec \
	--pkcs11-pin-file "$T_DIR/pin"
check "a token answering bare EC points: init, and the chain verifies" \
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$d/server.crt"
check "... keys list --check" "$MTLSCA" -c "$d/mtlsca.conf" keys list --check

# A token whose C_Sign fails (CKR_DEVICE_ERROR): 503, back-off, then signs again
start_daemon "$d/mtlsca.conf"
sign_api shim1
eq "shim token: 201" "$code" 201
touch "$T_DIR/faults/fail-sign"
sign_api shim2
eq "C_Sign fails: 503 signer_unavailable" "$code $(jq -r .error "$T_DIR/shim2.out")" \
	"503 signer_unavailable"
grep -q "pkcs11 token 'tok-shim-ec': C_Sign: CKR_DEVICE_ERROR" "$D_LOG" ||
	{ cat "$D_LOG"; fail "the log names the token and the CKR"; }
ok "the log says C_Sign: CKR_DEVICE_ERROR for the token"
sign_api shim3
eq "the login again signs no probe either: 503" "$code" 503
grep -q "tok-shim-ec': C_Sign: CKR_DEVICE_ERROR; next login in 1 s" "$D_LOG" ||
	{ cat "$D_LOG"; fail "the failed login again backs off 1 s"; }
ok "the failed login again backs off (1 s)"
sign_api shim4
eq "within the back-off: 503" "$code" 503
# (on a slow machine the second login may come first: then its back-off is 2 s)
grep -Eq "tok-shim-ec' is unavailable; next login in|CKR_DEVICE_ERROR; next login in 2 s" \
	"$D_LOG" || { cat "$D_LOG"; fail "the log tells of the back-off"; }
ok "the log tells of the back-off"
rm "$T_DIR/faults/fail-sign"
n=0
while :; do
	sign_api shim5
	[ "$code" = 201 ] && break
	n=$((n + 1))
	[ $n -lt 20 ] || { cat "$D_LOG"; fail "C_Sign works again: still $code"; }
	sleep 0.3
done
ok "C_Sign works again: 201 after the back-off"
check "... and that certificate verifies" \
	"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$T_DIR/shim5.crt"
stop_daemon
# The PIN changed under the running signer (SoftHSM keeps the old one until
# the module is initialised again, which a token that goes away brings):
# it logs in once with the refused PIN, then no more (each wrong PIN
# counts towards locking the token).
start_daemon "$d/mtlsca.conf"
"$PKCS11_TOOL" --module "$MODULE" --token-label tok-shim-ec --login --pin 1234 \
	--change-pin --new-pin 5678 >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "change the PIN"; }
tokdir=$(grep -l "tok-shim-ec" "$T_DIR"/tokens/*/token.object | xargs dirname)
mv "$tokdir" "$T_DIR/away"
sign_api shim6
sign_api shim7
mv "$T_DIR/away" "$tokdir"
sleep 1.2
sign_api shim7
eq "the PIN is refused at the login again: 503" "$code" 503
grep -q "tok-shim-ec': the PIN in $T_DIR/pin is wrong (CKR_PIN_INCORRECT); no more logins" \
	"$D_LOG" || { cat "$D_LOG"; fail "the log says the PIN is refused and no more logins"; }
ok "the log says the PIN is refused and the signer stops logging in"
sleep 1.2
sign_api shim8
eq "... and it does not try again: 503" "$code" 503
eq "... one login with the refused PIN, no more" "$(grep -c 'signer\[error\]: pkcs11 token .tok-shim-ec.: the PIN' "$D_LOG")" 1
grep -q "no more logins with a PIN it refused; restart mtlscad" "$D_LOG" ||
	{ cat "$D_LOG"; fail "later requests say why"; }
ok "later requests say to restart mtlscad with the right PIN"
stop_daemon
"$PKCS11_TOOL" --module "$MODULE" --token-label tok-shim-ec --login --pin 5678 \
	--change-pin --new-pin 1234 >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "PIN back"; }
rm "$T_DIR/faults/raw-ec-point"
d=$T_DIR/ca-ec-p256

# ---- refusals at start: one line naming the token / the module path ------------
echo 9999 >"$T_DIR/badpin"
chmod 600 "$T_DIR/badpin"
jq --arg p "$T_DIR/badpin" '.pkcs11_pin_file = $p' "$d/mtlsca.conf" >"$d/badpin.conf"
check_fails "wrong PIN: mtlscad refuses to start" 1 "$MTLSCAD" -c "$d/badpin.conf" --foreground
stderr_one_line
stderr_has "mtlscad: pkcs11 token 'tok-ec-p256': the PIN in $T_DIR/badpin is wrong (CKR_PIN_INCORRECT)"

jq '.pkcs11_module = "/nonexistent/libnope-pkcs11.so"' "$d/mtlsca.conf" >"$d/nomod.conf"
check_fails "missing module: mtlscad refuses to start" 1 "$MTLSCAD" -c "$d/nomod.conf" --foreground
stderr_one_line
stderr_has "mtlscad: pkcs11_module /nonexistent/libnope-pkcs11.so: No such file or directory"

chmod 644 "$T_DIR/badpin"
check_fails "a PIN file others may read: refused" 1 "$MTLSCAD" -c "$d/badpin.conf" --foreground
stderr_has "$T_DIR/badpin: group or others may read it: run 'chmod 600 $T_DIR/badpin'"

jq '.ca_key = "pkcs11:token=tok-ec-p256;object=nope;type=private"' "$d/mtlsca.conf" >"$d/nokey.conf"
check_fails "no such key in the token: refused" 1 "$MTLSCAD" -c "$d/nokey.conf" --foreground
stderr_has "pkcs11 token 'tok-ec-p256': no private key labelled 'nope'"

jq '.ca_key = "pkcs11:token=no-such-token;object=x;type=private"' "$d/mtlsca.conf" >"$d/notok.conf"
check_fails "no such token: refused" 1 "$MTLSCAD" -c "$d/notok.conf" --foreground
stderr_has "pkcs11 token 'no-such-token': no such token in"

jq '.ca_key = "pkcs11:token=tok-ec-p256;slot=1;object=x"' "$d/mtlsca.conf" >"$d/baduri.conf"
check_fails "an unknown URI attribute: refused at load" 1 "$MTLSCA" -c "$d/baduri.conf" keys list
stderr_has "field 'ca_key': pkcs11 URI: unknown attribute 'slot'"

jq 'del(.pkcs11_module)' "$d/mtlsca.conf" >"$d/nomodfield.conf"
check_fails "a pkcs11: key without pkcs11_module: refused" 1 "$MTLSCAD" -c "$d/nomodfield.conf" --foreground
stderr_has "a pkcs11: key needs pkcs11_module"

# init: the three options go together; a wrong PIN leaves nothing behind
check_fails "init --pkcs11-module alone: usage error" 2 "$MTLSCA" init --dir "$T_DIR/x" \
	--pkcs11-module "$MODULE"
stderr_has "--pkcs11-module, --pkcs11-token and --pkcs11-pin-file go together"
chmod 600 "$T_DIR/badpin"
check_fails "init with a wrong PIN: refused" 1 "$MTLSCA" init --dir "$T_DIR/x" \
	--public-url http://pki.test.internal:8080 --pkcs11-module "$MODULE" \
	--pkcs11-token tok-ec-p256 --pkcs11-pin-file "$T_DIR/badpin"
stderr_has "pkcs11 token 'tok-ec-p256': the PIN in $T_DIR/badpin is wrong"
[ ! -e "$T_DIR/x" ] || fail "init with a wrong PIN left $T_DIR/x"
ok "... and left no directory"
