#!/bin/sh
# issue.sh - "mtlsca issue", "list" and "show": one certificate per profile
# that OpenSSL and GnuTLS accept, with exactly the extensions of its profile;
# every refusal names its rule and records nothing; list and show report
# exactly what was issued.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db
crl_url=$(jq -r '.crl_url // (.public_url + "/crl")' "$conf")
aia_url=$(jq -r '.ca_issuers_url // (.public_url + "/ca.crt")' "$conf")
ca_ski=$("$OPENSSL" x509 -in "$d/ca.crt" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' ')
[ -n "$ca_ski" ] || fail "ca.crt has a subjectKeyIdentifier"

# serial_of CERT: canonical serial (lower-case hex, no colons)
serial_of() {
	"$OPENSSL" x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr A-F a-f
}

# time_of CERT startdate|enddate: Unix seconds
time_of() {
	date -u -d "$("$OPENSSL" x509 -in "$1" -noout -"$2" | sed 's/^not[A-Za-z]*=//')" +%s
}

# rfc3339 SECONDS
rfc3339() {
	date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# rows TABLE [WHERE]: row count of a table of the CA database
rows() {
	sqlite3 "$db" "SELECT count(*) FROM $1 ${2:+WHERE $2}"
}

# mkcsr NAME KEY SUBJECT [SAN]: a new key T_DIR/NAME.key and CSR T_DIR/NAME.csr;
# KEY is what "openssl req -newkey" takes (rsa:2048, ec, ed25519), "ec" means P-256
mkcsr() {
	_n=$1 _k=$2 _s=$3 _san=${4:-}
	set -- -newkey "$_k"
	[ "$_k" != ec ] || set -- "$@" -pkeyopt ec_paramgen_curve:P-256
	[ -z "$_san" ] || set -- "$@" -addext "subjectAltName=$_san"
	"$OPENSSL" req -new -noenc -keyout "$T_DIR/$_n.key" -subj "$_s" "$@" \
		-out "$T_DIR/$_n.csr" >"$T_DIR/req.out" 2>&1 || {
		cat "$T_DIR/req.out"
		fail "make the CSR $_n"
	}
}

ISSUED="" # serials issued by this test, one per line

# issue LABEL CSR PROFILE [ARGS...]: must succeed; the PEM goes to T_DIR/LABEL.crt,
# its serial to $serial, and it must be recorded (same DER) with one audit row
issue() {
	_l=$1 _c=$2 _p=$3
	shift 3
	_before=$(rows certificates)
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/$_c.csr" --profile "$_p" "$@" \
		>"$T_DIR/$_l.crt" 2>"$T_DIR/err" || {
		cat "$T_DIR/err"
		fail "$_l: issue --profile $_p exits 0"
	}
	ok "$_l: issue --profile $_p exits 0"
	eq "$_l: stdout holds one certificate" "$(grep -c -- '-----BEGIN CERTIFICATE-----' \
		"$T_DIR/$_l.crt")" 1
	serial=$(serial_of "$T_DIR/$_l.crt")
	[ ${#serial} -ge 16 ] && [ ${#serial} -le 40 ] ||
		fail "$_l: serial $serial has 64..160 bits"
	case $serial in
	[1-7]*) ;;
	*) fail "$_l: serial is positive without a leading zero ($serial)" ;;
	esac
	ok "$_l: serial $serial is large, positive and canonical"
	ISSUED="$ISSUED$serial
"
	eq "$_l: one certificate row added" "$(rows certificates)" $((_before + 1))
	eq "$_l: recorded under profile $_p" \
		"$(sqlite3 "$db" "SELECT profile FROM certificates WHERE serial = '$serial'")" "$_p"
	_der=$("$OPENSSL" x509 -in "$T_DIR/$_l.crt" -outform DER | od -An -v -tx1 | tr -d ' \n' |
		tr a-f A-F)
	_rec=$(sqlite3 "$db" "SELECT hex(der) FROM certificates WHERE serial = '$serial'")
	eq "$_l: the recorded DER is the printed certificate" "$_rec" "$_der"
	eq "$_l: one audit row 'issue' for the serial" \
		"$(rows audit "action = 'issue' AND serial = '$serial'")" 1
}

# sorted_list TEXT: comma-separated items, one per line, trimmed and sorted
sorted_list() {
	echo "$1" | tr ',' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' | LC_ALL=C sort
}

# leaf LABEL PROFILE KEYUSAGE SANS EKUS: the issued certificate T_DIR/LABEL.crt
# verifies and has exactly the extensions its profile prescribes.  SANS and
# EKUS are comma-separated in "openssl x509 -ext" spelling.
leaf() {
	_l=$1 _p=$2 _ku=$3 _sans=$4 _ekus=$5
	_c=$T_DIR/$_l.crt
	check "$_l: openssl verify against root.crt + ca.crt" \
		"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$_c"
	cat "$_c" "$d/ca.crt" "$d/root.crt" >"$T_DIR/$_l.chain"
	"$CERTTOOL" --verify-chain --infile "$T_DIR/$_l.chain" >"$T_DIR/out" 2>&1 ||
		{ cat "$T_DIR/out"; fail "$_l: certtool --verify-chain"; }
	grep -q "Chain verification output: Verified" "$T_DIR/out" ||
		{ cat "$T_DIR/out"; fail "$_l: certtool verified"; }
	ok "$_l: GnuTLS certtool --verify-chain accepts leaf, issuing CA and root"

	"$OPENSSL" x509 -in "$_c" -noout -text >"$T_DIR/$_l.txt"
	_got=$("$OPENSSL" x509 -in "$_c" -noout -ext subjectAltName | sed 1d)
	eq "$_l: SANs" "$(sorted_list "$_got")" "$(sorted_list "$_sans")"
	_got=$("$OPENSSL" x509 -in "$_c" -noout -ext extendedKeyUsage | sed 1d)
	eq "$_l: EKU" "$(sorted_list "$_got")" "$(sorted_list "$_ekus")"
	"$OPENSSL" x509 -in "$_c" -noout -ext basicConstraints >"$T_DIR/ext"
	grep -q "Basic Constraints: critical" "$T_DIR/ext" || fail "$_l: basicConstraints critical"
	eq "$_l: CA:FALSE" "$(sed -n '2s/^ *//p' "$T_DIR/ext")" CA:FALSE
	"$OPENSSL" x509 -in "$_c" -noout -ext keyUsage >"$T_DIR/ext"
	grep -q "Key Usage: critical" "$T_DIR/ext" || fail "$_l: keyUsage critical"
	eq "$_l: keyUsage" "$(sed -n '2s/^ *//p' "$T_DIR/ext")" "$_ku"
	_aki=$("$OPENSSL" x509 -in "$_c" -noout -ext authorityKeyIdentifier | sed 1d | tr -d ' ')
	eq "$_l: AKI = issuing CA SKI" "$_aki" "$ca_ski"
	"$OPENSSL" x509 -in "$_c" -noout -ext crlDistributionPoints >"$T_DIR/ext"
	grep -qx " *URI:$crl_url" "$T_DIR/ext" || { cat "$T_DIR/ext"; fail "$_l: CRL DP $crl_url"; }
	ok "$_l: CRL distribution point $crl_url"
	"$OPENSSL" x509 -in "$_c" -noout -ext authorityInfoAccess >"$T_DIR/ext"
	grep -qx " *CA Issuers - URI:$aia_url" "$T_DIR/ext" ||
		{ cat "$T_DIR/ext"; fail "$_l: AIA caIssuers $aia_url"; }
	ok "$_l: AIA caIssuers $aia_url"
	case $_p in
	public | domain-validated)
		"$OPENSSL" x509 -in "$_c" -noout -ext certificatePolicies | sed 1d >"$T_DIR/ext"
		eq "$_l: certificatePolicies" "$(sed 's/^ *//' "$T_DIR/ext")" \
			"Policy: 2.23.140.1.2.1"
		! grep -q "Subject Key Identifier" "$T_DIR/$_l.txt" ||
			fail "$_l: no SKI on a $_p leaf"
		ok "$_l: no SKI on a $_p leaf"
		;;
	private)
		! grep -q "Certificate Policies" "$T_DIR/$_l.txt" ||
			fail "$_l: no policies on private"
		ok "$_l: no certificatePolicies on a private leaf"
		grep -q "Subject Key Identifier" "$T_DIR/$_l.txt" ||
			fail "$_l: SKI (template ski: true)"
		ok "$_l: SKI on a private leaf (template ski: true)"
		;;
	esac
	grep -q "Signature Algorithm: ecdsa-with-SHA256" "$T_DIR/$_l.txt" ||
		fail "$_l: signed with ecdsa-with-SHA256 (P-256 issuing CA)"
	ok "$_l: signed with ecdsa-with-SHA256"
}

# lifetime LABEL SECONDS: notAfter - notBefore, notBefore backdated 1 minute
lifetime() {
	_nb=$(time_of "$T_DIR/$1.crt" startdate)
	_na=$(time_of "$T_DIR/$1.crt" enddate)
	eq "$1: notAfter - notBefore" $((_na - _nb)) $(($2 + 60))
	_now=$(date +%s)
	[ "$_nb" -le $((_now - 55)) ] && [ "$_nb" -ge $((_now - 300)) ] ||
		fail "$1: notBefore $_nb is about a minute before now $_now"
	ok "$1: notBefore backdated by one minute"
}

DAY=86400
ECKU="Digital Signature"
SRV="TLS Web Server Authentication"
CLI="TLS Web Client Authentication"

# ---- one certificate per profile ---------------------------------------------

mkcsr app ec /CN=app.example.com "DNS:app.example.com,IP:8.8.8.8"
issue app app public
app_serial=$serial
leaf app public "$ECKU" "DNS:app.example.com, IP Address:8.8.8.8" "$SRV"
lifetime app $((90 * DAY))
eq "app: subject" "$("$OPENSSL" x509 -in "$T_DIR/app.crt" -noout -subject -nameopt RFC2253)" \
	"subject=CN=app.example.com"

spiffe=spiffe://example.org/ns/prod/sa/db
mkcsr db ec /CN=db.internal "DNS:db.internal,IP:10.0.0.5,URI:$spiffe"
issue db db private
db_serial=$serial
leaf db private "$ECKU" "DNS:db.internal, IP Address:10.0.0.5, URI:$spiffe" "$SRV, $CLI"
lifetime db $DAY

# An RSA key also gets keyEncipherment.
mkcsr rsa rsa:2048 /CN=rsa.internal "DNS:rsa.internal"
issue rsa rsa private
rsa_serial=$serial
leaf rsa private "Digital Signature, Key Encipherment" "DNS:rsa.internal" "$SRV, $CLI"

# --validity 48h (Ed25519 key: the private profile allows it).
mkcsr short ed25519 /CN=short.internal "DNS:short.internal"
issue short short private --validity 48h
short_serial=$serial
leaf short private "$ECKU" "DNS:short.internal" "$SRV, $CLI"
lifetime short $((48 * 3600))

# domain-validated: refused until a valid validation of the name is recorded.
mkcsr www ec /CN=www.example.org "DNS:www.example.org"
dv() {
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/www.csr" --profile domain-validated
}
n_cert=$(rows certificates)
n_audit=$(rows audit)
check_fails "domain-validated without a validation exits 1" 1 dv
stderr_has "mtlsca: issue: policy_violation: auth.validation: "
stderr_has "www.example.org"
stderr_one_line
now=$(date +%s)
sqlite3 "$db" "INSERT INTO validations (name, method, validated_at, outcome)
	VALUES ('other.example.org', 'http-01', $now, 'valid'),
	       ('www.example.org', 'http-01', $now, 'invalid'),
	       ('www.example.org', 'http-01', $((now - 60 * DAY)), 'valid')"
check_fails "domain-validated: validations of another name, failed or too old do not count" 1 dv
stderr_has "mtlsca: issue: policy_violation: auth.validation: "
eq "domain-validated refusals record no certificate" "$(rows certificates)" "$n_cert"
eq "domain-validated refusals write no audit row" "$(rows audit)" "$n_audit"
sqlite3 "$db" "INSERT INTO validations (name, method, validated_at, outcome)
	VALUES ('www.example.org', 'http-01', $now, 'valid')"
issue www www domain-validated
www_serial=$serial
leaf www domain-validated "$ECKU" "DNS:www.example.org" "$SRV"
lifetime www $((90 * DAY))

# --out FILE: nothing on stdout, the PEM in FILE (0644), recorded.
mkcsr outf ec /CN=out.internal "DNS:out.internal"
"$MTLSCA" -c "$conf" issue --csr "$T_DIR/outf.csr" --profile private --out "$T_DIR/outf.pem" \
	>"$T_DIR/outf.stdout" 2>"$T_DIR/err" || { cat "$T_DIR/err"; fail "issue --out exits 0"; }
ok "issue --out exits 0"
[ ! -s "$T_DIR/outf.stdout" ] || fail "issue --out prints nothing on stdout"
ok "issue --out prints nothing on stdout"
eq "--out file mode" "$(stat -c %a "$T_DIR/outf.pem")" 644
check "--out file is a certificate" "$OPENSSL" x509 -in "$T_DIR/outf.pem" -noout
out_serial=$(serial_of "$T_DIR/outf.pem")
ISSUED="$ISSUED$out_serial
"
eq "--out certificate recorded as private" \
	"$(sqlite3 "$db" "SELECT profile FROM certificates WHERE serial = '$out_serial'")" private
cp "$T_DIR/outf.pem" "$T_DIR/outf.crt"
leaf outf private "$ECKU" "DNS:out.internal" "$SRV, $CLI"

# ---- refusals: exit 1, one line naming the rule, nothing recorded ---------------

mkcsr internal ec /CN=db.internal "DNS:db.internal"
mkcsr small rsa:1024 /CN=small.internal "DNS:small.internal"
mkcsr cnx ec /CN=other.example.com "DNS:app.example.com"
mkcsr rfc1918 ec /CN=app.example.com "DNS:app.example.com,IP:10.0.0.5"
mkcsr uri ec /CN=app.example.com "DNS:app.example.com,URI:$spiffe"
mkcsr long ec /CN=long.internal "DNS:long.internal"
echo "this is not a certificate request" >"$T_DIR/garbage.csr"
# A CSR whose self-signature does not verify: the last octet of the signature changed.
"$OPENSSL" req -in "$T_DIR/long.csr" -outform DER -out "$T_DIR/sig.der"
size=$(wc -c <"$T_DIR/sig.der")
last=$(tail -c 1 "$T_DIR/sig.der" | od -An -tu1 | tr -d ' ')
head -c $((size - 1)) "$T_DIR/sig.der" >"$T_DIR/badsig.csr"
if [ "$last" -eq 1 ]; then printf '\002' >>"$T_DIR/badsig.csr"; else
	printf '\001' >>"$T_DIR/badsig.csr"
fi
cmp -s "$T_DIR/sig.der" "$T_DIR/badsig.csr" && fail "the bad-signature CSR differs"
ok "made a CSR with a broken self-signature"

# refuse CSR PROFILE MESSAGE [ARGS...]
refuse() {
	_c=$1 _p=$2 _m=$3
	shift 3
	_nc=$(rows certificates)
	_na=$(rows audit)
	check_fails "$_c as $_p${*:+ $*}: exit 1" 1 \
		"$MTLSCA" -c "$conf" issue --csr "$T_DIR/$_c.csr" --profile "$_p" "$@"
	stderr_has "$_m"
	stderr_one_line
	grep -q '^mtlsca: issue: ' "$T_DIR/err" || fail "$_c: message starts 'mtlsca: issue: '"
	[ ! -s "$T_DIR/out" ] || fail "$_c: nothing on stdout"
	eq "$_c as $_p: no certificate recorded" "$(rows certificates)" "$_nc"
	eq "$_c as $_p: no audit row" "$(rows audit)" "$_na"
}
refuse internal public "mtlsca: issue: policy_violation: name.internal: "
stderr_has "'db.internal'"
refuse small private "mtlsca: issue: policy_violation: key.too_small: "
refuse long private "mtlsca: issue: policy_violation: validity.too_long: " --validity 31d
refuse app public "mtlsca: issue: policy_violation: validity.too_long: " --validity 200d
refuse cnx public "mtlsca: issue: policy_violation: name.cn_not_in_san: "
stderr_has "other.example.com"
refuse rfc1918 public "mtlsca: issue: policy_violation: name.reserved_ip: "
stderr_has "10.0.0.5"
refuse uri public "mtlsca: issue: policy_violation: name.type: "
refuse garbage private "mtlsca: issue: bad_csr: csr.parse: "
refuse badsig private "mtlsca: issue: bad_csr: csr.signature: "
refuse long nosuch "nosuch"
[ ! -e "$T_DIR/none.pem" ] || fail "setup"
refuse internal public "policy_violation: name.internal" --out "$T_DIR/none.pem"
[ ! -e "$T_DIR/none.pem" ] || fail "a refused issue --out creates no file"
ok "a refused issue --out creates no file"

# ---- show ---------------------------------------------------------------------
# Options first here; the order of the cli.md synopsis (SERIAL --json) is
# checked at the end, so that its failure does not hide the rest.

"$MTLSCA" -c "$conf" show --json "$app_serial" >"$T_DIR/show.json" 2>"$T_DIR/err" ||
	{ cat "$T_DIR/err"; fail "show SERIAL --json exits 0"; }
ok "show SERIAL --json exits 0"
nb=$(time_of "$T_DIR/app.crt" startdate)
na=$(time_of "$T_DIR/app.crt" enddate)
fp=$("$OPENSSL" x509 -in "$T_DIR/app.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
	tr A-F a-f)
jq -e --arg s "$app_serial" --arg nb "$(rfc3339 "$nb")" --arg na "$(rfc3339 "$na")" \
	--arg fp "$fp" '
	type == "object" and .serial == $s and .profile == "public" and
	(.subject | test("CN=app\\.example\\.com")) and
	(.names | type == "array" and sort == ["8.8.8.8", "app.example.com"]) and
	.not_before == $nb and .not_after == $na and .status == "valid" and
	.revoked_at == null and .reason == null and
	(.issuer | type == "string" and test("Issuing CA")) and has("requester") and
	.fingerprint_sha256 == $fp' "$T_DIR/show.json" >/dev/null ||
	{ cat "$T_DIR/show.json"; fail "show --json fields"; }
ok "show --json: serial, profile, subject, names, RFC 3339 times, status, fingerprint"
upper=$(echo "$app_serial" | tr a-f A-F)
colons=$(echo "$upper" | sed 's/../&:/g; s/:$//')
for s in "$upper" "$colons"; do
	"$MTLSCA" -c "$conf" show --json "$s" >"$T_DIR/show2.json" 2>"$T_DIR/err" ||
		{ cat "$T_DIR/err"; fail "show $s --json exits 0"; }
	cmp -s "$T_DIR/show.json" "$T_DIR/show2.json" ||
		fail "show $s --json = show $app_serial --json"
	ok "show $s: same record as the canonical serial"
done
"$MTLSCA" -c "$conf" show --json "$db_serial" >"$T_DIR/show.json" 2>"$T_DIR/err" ||
	{ cat "$T_DIR/err"; fail "show private serial --json exits 0"; }
jq -e --arg s "$db_serial" --arg u "$spiffe" '.serial == $s and .profile == "private" and
	(.names | sort == (["db.internal", "10.0.0.5", $u] | sort)) and
	(.typed_names | sort == (["dns:db.internal", "ip:10.0.0.5", "uri:" + $u] | sort))' \
	"$T_DIR/show.json" >/dev/null ||
	{ cat "$T_DIR/show.json"; fail "show --json of the private certificate"; }
ok "show --json: the private certificate with its URI name; typed_names carry the SAN types"
for s in "$app_serial" "$db_serial" "$www_serial"; do
	"$MTLSCA" -c "$conf" show --pem "$s" >"$T_DIR/show.pem" 2>"$T_DIR/err" ||
		{ cat "$T_DIR/err"; fail "show $s --pem exits 0"; }
	case $s in
	"$app_serial") f=app ;;
	"$db_serial") f=db ;;
	*) f=www ;;
	esac
	cmp -s "$T_DIR/show.pem" "$T_DIR/$f.crt" || fail "show $s --pem is the issued PEM"
	ok "show --pem: $f is the issued PEM"
done
check "show SERIAL (text) exits 0" "$MTLSCA" -c "$conf" show "$app_serial"
grep -qi "$app_serial" "$T_DIR/out" || { cat "$T_DIR/out"; fail "show text names the serial"; }
grep -q "app.example.com" "$T_DIR/out" || fail "show text names the subject"
grep -q "public" "$T_DIR/out" || fail "show text names the profile"
ok "show (text) names the serial, the name and the profile"
check_fails "show an unknown serial exits 1" 1 \
	"$MTLSCA" -c "$conf" show 1234567890abcdef1234567890abcdef
stderr_one_line
grep -q '^mtlsca: ' "$T_DIR/err" || fail "unknown serial: message starts 'mtlsca: '"
ok "unknown serial: message starts 'mtlsca: '"

# ---- list ---------------------------------------------------------------------

init_serials=$(for c in root ca server admin; do serial_of "$d/$c.crt"; done)
all=$(printf '%s\n%s' "$init_serials" "$ISSUED" | grep -v '^$' | LC_ALL=C sort)
eq "issued certificates: init's 4 plus this test's" "$(echo "$all" | wc -l)" 10
"$MTLSCA" -c "$conf" list --json >"$T_DIR/list.json" 2>"$T_DIR/err" ||
	{ cat "$T_DIR/err"; fail "list --json exits 0"; }
ok "list --json exits 0"
eq "list --json: exactly the issued serials (nothing refused)" \
	"$(jq -r '.[].serial' "$T_DIR/list.json" | LC_ALL=C sort)" "$all"
jq -e 'type == "array" and all(.[];
	(.serial | type == "string") and (.profile | type == "string") and
	(.subject | type == "string") and (.names | type == "array") and
	(.not_before | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and
	(.not_after | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")) and
	.status == "valid" and has("revoked_at") and .revoked_at == null and
	has("reason") and .reason == null and (.issuer | type == "string") and has("requester") and
	(.fingerprint_sha256 | test("^[0-9a-f]{64}$")))' "$T_DIR/list.json" >/dev/null ||
	{ cat "$T_DIR/list.json"; fail "list --json object fields"; }
ok "list --json: every object has the documented fields"
"$MTLSCA" -c "$conf" show --json "$app_serial" >"$T_DIR/show.json"
jq -e --slurpfile one "$T_DIR/show.json" --arg s "$app_serial" \
	'$one[0] as $o | map(select(.serial == $s)) | length == 1 and
	(.[0] as $l | all($l | keys[]; $l[.] == $o[.]))' "$T_DIR/list.json" >/dev/null ||
	fail "list --json and show --json agree on a certificate"
ok "list --json and show --json agree on a certificate"
jq -e --arg s "$www_serial" 'map(select(.serial == $s))[0] |
	.profile == "domain-validated" and .names == ["www.example.org"]' "$T_DIR/list.json" \
	>/dev/null || fail "list --json: the domain-validated certificate"
ok "list --json: the domain-validated certificate"

private=$(printf '%s\n' "$db_serial" "$rsa_serial" "$short_serial" "$out_serial" | LC_ALL=C sort)
"$MTLSCA" -c "$conf" list --profile private --json >"$T_DIR/list.json" 2>"$T_DIR/err" ||
	{ cat "$T_DIR/err"; fail "list --profile private --json exits 0"; }
eq "list --profile private: the private certificates" \
	"$(jq -r '.[].serial' "$T_DIR/list.json" | LC_ALL=C sort)" "$private"
"$MTLSCA" -c "$conf" list --profile public --json >"$T_DIR/list.json"
eq "list --profile public: the public certificate" "$(jq -r '.[].serial' "$T_DIR/list.json")" \
	"$app_serial"
"$MTLSCA" -c "$conf" list --status valid --json >"$T_DIR/list.json"
eq "list --status valid: everything issued" \
	"$(jq -r '.[].serial' "$T_DIR/list.json" | LC_ALL=C sort)" "$all"
for st in expired revoked; do
	"$MTLSCA" -c "$conf" list --status "$st" --json >"$T_DIR/list.json" 2>"$T_DIR/err" ||
		{ cat "$T_DIR/err"; fail "list --status $st --json exits 0"; }
	eq "list --status $st: empty array" "$(jq -c . "$T_DIR/list.json")" "[]"
done
"$MTLSCA" -c "$conf" list --status valid --profile domain-validated --json >"$T_DIR/list.json"
eq "list --status valid --profile domain-validated" "$(jq -r '.[].serial' "$T_DIR/list.json")" \
	"$www_serial"
check "list (table) exits 0" "$MTLSCA" -c "$conf" list
for s in $all; do
	grep -qi "$s" "$T_DIR/out" || { cat "$T_DIR/out"; fail "list table shows $s"; }
done
ok "list (table) shows every serial"

# ---- audit --------------------------------------------------------------------

eq "one audit row 'issue' per recorded certificate" "$(rows audit "action = 'issue'")" 10
for s in $ISSUED; do
	[ "$(rows audit "action = 'issue' AND serial = '$s'")" -eq 1 ] || fail "audit row for $s"
done
ok "each issued serial has exactly one audit row 'issue'"
eq "PRAGMA integrity_check" "$(sqlite3 "$db" "PRAGMA integrity_check")" ok

# ---- the synopsis of cli.md: show SERIAL [--json|--pem] -----------------------------

for o in json pem; do
	"$MTLSCA" -c "$conf" show --$o "$app_serial" >"$T_DIR/show.first" 2>"$T_DIR/err" ||
		{ cat "$T_DIR/err"; fail "show --$o SERIAL exits 0"; }
	"$MTLSCA" -c "$conf" show "$app_serial" --$o >"$T_DIR/show.last" 2>"$T_DIR/err" ||
		{ cat "$T_DIR/err"; fail "show SERIAL --$o (cli.md order) exits 0"; }
	cmp -s "$T_DIR/show.first" "$T_DIR/show.last" || fail "show SERIAL --$o = show --$o SERIAL"
	ok "show SERIAL --$o (cli.md order) = show --$o SERIAL"
done

echo "1..$T_NUM"
