#!/bin/sh
# signer_memory.sh - the issuing CA's private key is in the memory of the
# signer process only: after issuing, renewing and revoking (CRL
# published) through the API, /proc/PID/mem of the process that listens
# on the HTTPS port does not hold the key's private scalar (in either
# byte order), the signer's does.  The root key too.  Needs root (reading
# another process's memory, and the signer is not dumpable): skipped
# otherwise.  With signer_user, the signer runs as that user.
set -e
. "$TESTS_SRCDIR/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: reading /proc/PID/mem needs root"
	exit 77
fi
command -v "$PYTHON" >/dev/null || fail "$PYTHON is needed"

d=$T_DIR/ca
init_ca "$d"
start_daemon "$d/mtlsca.conf"
C="$CURL -s --max-time 30 --cacert $d/chain.pem"
https=https://127.0.0.1:$HTTPS_PORT
code() { $C -o "$T_DIR/body" -w '%{http_code}' "$@"; }

tok=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private --name web.internal --uses 2)
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/k.pem" \
	-subj /CN=web.internal -addext subjectAltName=DNS:web.internal -out "$T_DIR/r.csr" 2>/dev/null
jq -n --rawfile csr "$T_DIR/r.csr" '{csr: $csr}' >"$T_DIR/b.json"
eq "sign" "$(code -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data @"$T_DIR/b.json" "$https/v1/sign")" 201
jq -r .certificate "$T_DIR/body" >"$T_DIR/c.pem"
"$OPENSSL" verify -CAfile "$d/chain.pem" "$T_DIR/c.pem" >/dev/null || fail "issued certificate does not verify"
ok "the issued certificate verifies"
eq "renew" "$(code --cert "$T_DIR/c.pem" --key "$T_DIR/k.pem" -X POST "$https/v1/renew")" 201
s=$("$OPENSSL" x509 -in "$T_DIR/c.pem" -noout -serial | cut -d= -f2)
eq "revoke" "$(code --cert "$d/admin.crt" --key "$d/admin.key" -H 'Content-Type: application/json' \
	-d "{\"serial\":\"$s\"}" "$https/v1/revoke")" 200
$C "http://127.0.0.1:$HTTP_PORT/crl" -o "$T_DIR/crl.der"
"$OPENSSL" crl -inform DER -in "$T_DIR/crl.der" -noout -text | grep -qi "$s" ||
	fail "the CRL does not list $s"
ok "the CRL lists the revoked serial"

# Who listens on the HTTPS port: the daemon's own pid.
listener=$(ss -Htlnp "sport = :$HTTPS_PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | sort -u)
[ -z "$listener" ] && listener=$D_PID
eq "the HTTPS listener is mtlscad" "$listener" "$D_PID"
signer=$(ps -o pid= --ppid "$D_PID" | tr -d ' ')
[ -n "$signer" ] || fail "no signer process"
ok "the signer process is pid $signer"

for k in ca root; do
	"$OPENSSL" pkey -in "$d/$k.key" -noout -text >"$T_DIR/$k.txt" 2>/dev/null ||
		fail "cannot read $k.key"
	"$PYTHON" "$TESTS_SRCDIR/memscan.py" "$T_DIR/$k.txt" "$D_PID" "$signer" >"$T_DIR/$k.scan" ||
		fail "memscan failed"
	cat "$T_DIR/$k.scan"
	eq "the $k key is not in the listener" "$(sed -n "s/^$D_PID //p" "$T_DIR/$k.scan")" absent
	eq "the $k key is in the signer" "$(sed -n "s/^$signer //p" "$T_DIR/$k.scan")" found
done
stop_daemon

# signer_user: the signer runs as that user, the listener stays as it was.
jq '. + {"signer_user": "nobody"}' "$d/mtlsca.conf" >"$d/user.conf"
start_daemon "$d/user.conf"
https=https://127.0.0.1:$HTTPS_PORT
signer=$(ps -o pid= --ppid "$D_PID" | tr -d ' ')
eq "the signer runs as nobody" "$(awk '/^Uid:/ {print $2 "," $3 "," $4}' "/proc/$signer/status")" \
	"$(id -u nobody),$(id -u nobody),$(id -u nobody)"
eq "with nobody's group" "$(awk '/^Gid:/ {print $2}' "/proc/$signer/status")" "$(id -g nobody)"
eq "and no supplementary groups" "$(awk '/^Groups:/ {print $2}' "/proc/$signer/status")" ""
eq "the listener stays root" "$(awk '/^Uid:/ {print $2}' "/proc/$D_PID/status")" 0
eq "sign" "$(code -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	--data @"$T_DIR/b.json" "$https/v1/sign")" 201
stop_daemon
jq '. + {"signer_user": "no-such-user-here"}' "$d/mtlsca.conf" >"$d/nouser.conf"
check_fails "an unknown signer_user: refused" 1 timeout 60 "$MTLSCAD" -c "$d/nouser.conf" --foreground
stderr_one_line
stderr_has "mtlscad: signer_user 'no-such-user-here': no such user"
echo "1..$T_NUM"
