#!/bin/sh
# signer.sh - the CA key lives in the signer process (doc/mtlscad.md
# "The signer process"): mtlscad has one child, the signer; issuance,
# renewal and revocation (with its CRL) go through it.  Killed with
# SIGKILL (and kept from coming back by moving ca.key away), the next
# /v1/sign answers 503 signer_unavailable, records nothing and does not
# use up the token; once ca.key is back the daemon restarts the signer
# (logged, bounded back-off) and the same token issues.  A plain SIGKILL
# is repaired within seconds.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"

# ---- key and passphrase files that others may read: refused -------------------
m=$T_DIR/modes
cp -a "$d" "$m"
chmod 640 "$m/ca.key"
check_fails "ca.key mode 640: mtlscad refuses to start" 1 timeout 60 "$MTLSCAD" \
	-c "$m/mtlsca.conf" --foreground
stderr_one_line
stderr_has "mtlscad: $m/ca.key: group or others may read it: run 'chmod 600 $m/ca.key'"
check_fails "ca.key mode 640: the CLI refuses to sign a CRL" 1 "$MTLSCA" -c "$m/mtlsca.conf" crl
stderr_has "$m/ca.key: group or others may read it: run 'chmod 600 $m/ca.key'"
chmod 600 "$m/ca.key"
chmod 604 "$m/root.key"
check_fails "root.key mode 604: refused" 1 timeout 60 "$MTLSCAD" -c "$m/mtlsca.conf" --foreground
stderr_one_line
stderr_has "$m/root.key: group or others may read it: run 'chmod 600 $m/root.key'"
chmod 600 "$m/root.key"
printf 'pass phrase\n' >"$m/pass"
chmod 644 "$m/pass"
jq --arg p "$m/pass" '. + {"passphrase_file": $p}' "$m/mtlsca.conf" >"$m/pass.conf"
check_fails "passphrase file mode 644: refused" 1 timeout 60 "$MTLSCAD" -c "$m/pass.conf" \
	--foreground
stderr_one_line
stderr_has "$m/pass: group or others may read it: run 'chmod 600 $m/pass'"

start_daemon "$d/mtlsca.conf"
C="$CURL -s --max-time 30 --cacert $d/chain.pem"
https=https://127.0.0.1:$HTTPS_PORT
code() { $C -o "$T_DIR/body" -w '%{http_code}' "$@"; }
rows() { sqlite3 "$d/mtlsca.db" "select count(*) from certificates"; }
uses() { sqlite3 "$d/mtlsca.db" "select sum(uses_left) from tokens"; }
# signer_pid: the daemon's one child
signer_pid() { ps -o pid= --ppid "$D_PID" | tr -d ' '; }

sp=$(signer_pid)
[ -n "$sp" ] && [ "$(echo "$sp" | wc -l)" -eq 1 ] || fail "mtlscad has one child, the signer (got '$sp')"
ok "the signer process runs (pid $sp)"
grep -q -- "--signer-process" "/proc/$sp/cmdline" || fail "the child is not the signer process"
ok "it is mtlscad --signer-process"
eq "the signer runs under seccomp" "$(awk '/^Seccomp:/ {print $2}' "/proc/$sp/status")" 2
eq "with no new privileges" "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$sp/status")" 1
eq "and only its channel besides stdio" "$(ls "/proc/$sp/fd" | sort -n | tr '\n' ' ')" "0 1 2 3 "

"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/k.pem" \
	-subj /CN=web.internal -addext subjectAltName=DNS:web.internal -out "$T_DIR/r.csr" 2>/dev/null
jq -n --rawfile csr "$T_DIR/r.csr" '{csr: $csr}' >"$T_DIR/b.json"
sign() {
	code -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		--data @"$T_DIR/b.json" "$https/v1/sign"
}

tok=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private --name web.internal --uses 4)
eq "sign through the signer" "$(sign "$tok")" 201
jq -r .certificate "$T_DIR/body" >"$T_DIR/c.pem"
eq "renew through the signer" "$(code --cert "$T_DIR/c.pem" --key "$T_DIR/k.pem" -X POST \
	"$https/v1/renew")" 201
s=$("$OPENSSL" x509 -in "$T_DIR/c.pem" -noout -serial | cut -d= -f2)
n0=$(sqlite3 "$d/mtlsca.db" "select max(number) from crls where issuer = 'ca'")
eq "revoke through the signer" "$(code --cert "$d/admin.crt" --key "$d/admin.key" \
	-H 'Content-Type: application/json' -d "{\"serial\":\"$s\"}" "$https/v1/revoke")" 200
n1=$(sqlite3 "$d/mtlsca.db" "select max(number) from crls where issuer = 'ca'")
[ "$n1" -gt "$n0" ] || fail "revocation published no new CRL ($n0 -> $n1)"
ok "the revocation's CRL (number $n1) was signed by the signer"
$C "http://127.0.0.1:$HTTP_PORT/crl" -o "$T_DIR/crl.der"
"$OPENSSL" crl -inform DER -in "$T_DIR/crl.der" -noout -text | grep -qi "$s" ||
	fail "the served CRL does not list $s"
ok "the served CRL lists the revoked serial"

# ---- SIGSTOP and SIGCONT (an admin pausing it): the same process serves on -----
kill -STOP "$sp"
sleep 0.3
kill -CONT "$sp"
sleep 0.3
eq "sign after the signer was stopped and continued" "$(sign "$tok")" 201
eq "by the same signer process (its poll restarted under seccomp)" "$(signer_pid)" "$sp"

# ---- SIGKILL, kept down: 503, nothing recorded, the token kept ----------------
one=$("$MTLSCA" -c "$d/mtlsca.conf" token create --profile private --name web.internal --uses 1)
mv "$d/ca.key" "$d/ca.key.away"
kill -KILL "$sp"
before=$(rows)
uses_before=$(uses)
eq "sign with the signer gone" "$(sign "$one")" 503
eq "error code" "$(jq -r .error "$T_DIR/body")" signer_unavailable
eq "nothing recorded" "$(rows)" "$before"
eq "the token is not used up" "$(uses)" "$uses_before"
wait_for_line "$D_LOG" "was killed by signal 9" "$D_PID" 100 || fail "the death was not logged"
ok "the signer's death is logged"
wait_for_line "$D_LOG" "restarting the signer process failed: .*ca.key" "$D_PID" 100 ||
	fail "the failed restart was not logged"
ok "the failed restart is logged with its reason"
eq "still 503 while it cannot start" "$(sign "$one")" 503
mv "$d/ca.key.away" "$d/ca.key"
wait_for_line "$D_LOG" "the signer process is back" "$D_PID" 700 || fail "the signer did not come back"
ok "the signer process is restarted after its back-off"
eq "the same one-use token issues now" "$(sign "$one")" 201
eq "one row more" "$(rows)" "$((before + 1))"
eq "and is then used up" "$(sign "$one")" 401

# ---- a plain SIGKILL is repaired within seconds --------------------------------
sp2=$(signer_pid)
[ -n "$sp2" ] && [ "$sp2" != "$sp" ] || fail "no new signer process"
kill -KILL "$sp2"
i=0
while :; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "issuance did not come back within 10 s"
	r=$(sign "$tok")
	[ "$r" = 201 ] && break
	[ "$r" = 503 ] || fail "while the signer restarts: $r, want 503 or 201"
	sleep 0.1
done
ok "issuance works again after $i tries"
stop_daemon
grep -q "signer:.*closing the connection" "$D_LOG" && fail "the daemon sent a malformed frame"
ok "no malformed frame from the daemon"

# MTLSCAD_SECCOMP=0: the signer runs without its filter (environments without seccomp)
export MTLSCAD_SECCOMP=0
start_daemon "$d/mtlsca.conf"
unset MTLSCAD_SECCOMP
https=https://127.0.0.1:$HTTPS_PORT
sp=$(signer_pid)
eq "MTLSCAD_SECCOMP=0: no filter" "$(awk '/^Seccomp:/ {print $2}' "/proc/$sp/status")" 0
eq "MTLSCAD_SECCOMP=0: signs" "$(sign "$tok")" 201
stop_daemon
echo "1..$T_NUM"
