#!/bin/sh
# init.sh - "mtlsca init": a whole PKI per key type that OpenSSL and GnuTLS
# accept, with the right extensions, permissions and refusal to overwrite.
set -e
. "$TESTS_SRCDIR/lib.sh"

# The signature algorithm each CA key type must produce (profiles.md).
sigalg_for() {
	case $1 in
	ec-p256) echo ecdsa-with-SHA256 ;;
	ec-p384) echo ecdsa-with-SHA384 ;;
	rsa-*) echo sha256WithRSAEncryption ;;
	ed25519) echo ED25519 ;;
	esac
}

for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519; do
	d=$T_DIR/ca-$kt
	init_ca "$d" --key-type "$kt" --dns ca.internal,localhost --ip 127.0.0.1
	grep -q "^SHA256 Fingerprint=\([0-9A-F][0-9A-F]:\)\{31\}[0-9A-F][0-9A-F]$" "$T_DIR/init.out" ||
		fail "$kt: init prints the root fingerprint"
	fp=$("$OPENSSL" x509 -in "$d/root.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
	grep -q "Fingerprint=$fp" "$T_DIR/init.out" || fail "$kt: printed fingerprint is root.crt's"
	ok "$kt: init prints root.crt's SHA-256 fingerprint"

	check "$kt: openssl verify server.crt admin.crt" \
		"$OPENSSL" verify -CAfile "$d/root.crt" -untrusted "$d/ca.crt" "$d/server.crt" "$d/admin.crt"
	cat "$d/server.crt" "$d/ca.crt" "$d/root.crt" >"$T_DIR/chain-$kt.pem"
	"$CERTTOOL" --verify-chain --infile "$T_DIR/chain-$kt.pem" >"$T_DIR/out" 2>&1 ||
		{ cat "$T_DIR/out"; fail "$kt: certtool --verify-chain"; }
	grep -q "Chain verification output: Verified" "$T_DIR/out" || fail "$kt: certtool verified"
	ok "$kt: GnuTLS certtool --verify-chain accepts server, issuing CA and root"

	eq "$kt: directory mode" "$(stat -c %a "$d")" 700
	for k in root ca server admin; do
		eq "$kt: $k.key mode" "$(stat -c %a "$d/$k.key")" 600
		grep -q "BEGIN PRIVATE KEY" "$d/$k.key" || fail "$kt: $k.key is PKCS#8"
	done

	want=$(sigalg_for "$kt")
	for c in root ca server admin; do
		got=$("$OPENSSL" x509 -in "$d/$c.crt" -noout -text |
			sed -n 's/^ *Signature Algorithm: //p' | head -n1)
		eq "$kt: $c.crt signature algorithm" "$got" "$want"
	done
done

# Extensions of the CA certificates and leaves (one key type is enough: the
# builder does not depend on it).
d=$T_DIR/ca-ec-p256
"$OPENSSL" x509 -in "$d/root.crt" -noout -ext basicConstraints,keyUsage >"$T_DIR/root.ext"
grep -q "Basic Constraints: critical" "$T_DIR/root.ext" || fail "root basicConstraints critical"
grep -q "CA:TRUE, pathlen:1" "$T_DIR/root.ext" || fail "root CA:TRUE pathlen:1"
grep -q "Key Usage: critical" "$T_DIR/root.ext" || fail "root keyUsage critical"
grep -q "^ *Certificate Sign, CRL Sign$" "$T_DIR/root.ext" || fail "root keyCertSign+cRLSign"
ok "root: critical CA:TRUE pathlen:1, critical keyCertSign+cRLSign"
"$OPENSSL" x509 -in "$d/ca.crt" -noout -ext basicConstraints,keyUsage >"$T_DIR/ca.ext"
grep -q "CA:TRUE, pathlen:0" "$T_DIR/ca.ext" || fail "issuing CA pathlen:0"
grep -q "^ *Certificate Sign, CRL Sign$" "$T_DIR/ca.ext" || fail "issuing CA key usage"
ok "issuing CA: CA:TRUE pathlen:0, keyCertSign+cRLSign"
root_ski=$("$OPENSSL" x509 -in "$d/root.crt" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' ')
ca_aki=$("$OPENSSL" x509 -in "$d/ca.crt" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ')
ca_ski=$("$OPENSSL" x509 -in "$d/ca.crt" -noout -ext subjectKeyIdentifier | tail -n1 | tr -d ' ')
srv_aki=$("$OPENSSL" x509 -in "$d/server.crt" -noout -ext authorityKeyIdentifier | tail -n1 | tr -d ' ')
[ -n "$root_ski" ] && [ -n "$ca_ski" ] || fail "SKI present on CA certificates"
eq "issuing CA AKI = root SKI" "$ca_aki" "$root_ski"
eq "server AKI = issuing CA SKI" "$srv_aki" "$ca_ski"
"$OPENSSL" x509 -in "$d/server.crt" -noout -ext subjectAltName,extendedKeyUsage,basicConstraints \
	>"$T_DIR/srv.ext"
grep -q "DNS:ca.internal, DNS:localhost, IP Address:127.0.0.1" "$T_DIR/srv.ext" ||
	fail "server SAN"
grep -q "TLS Web Server Authentication" "$T_DIR/srv.ext" || fail "server EKU"
grep -q "CA:FALSE" "$T_DIR/srv.ext" || fail "server CA:FALSE"
ok "server.crt: SAN from --dns/--ip, serverAuth, CA:FALSE"
"$OPENSSL" x509 -in "$d/admin.crt" -noout -ext extendedKeyUsage | grep -q "TLS Web Client Authentication" ||
	fail "admin.crt clientAuth"
ok "admin.crt: clientAuth"
# urls_of CERT: its CRL distribution point and caIssuers URLs, one line each
urls_of() {
	"$OPENSSL" x509 -in "$1" -noout -ext crlDistributionPoints,authorityInfoAccess |
		sed -n 's/^ *URI:/crl /p; s/^ *CA Issuers - URI:/issuer /p'
}
for c in server admin; do
	eq "$c.crt: CRL distribution point and caIssuers from --public-url" \
		"$(urls_of "$d/$c.crt" | tr '\n' ' ')" \
		"crl $INIT_PUBLIC_URL/crl issuer $INIT_PUBLIC_URL/ca.crt "
done
for c in root ca server admin; do
	s=$("$OPENSSL" x509 -in "$d/$c.crt" -noout -serial | sed 's/serial=//')
	[ ${#s} -eq 32 ] || fail "$c serial has 16 octets ($s)"
	case $s in [1-7]*) ;; *) fail "$c serial is positive without a leading zero ($s)" ;; esac
done
ok "serials: 16 random octets, positive"
cat "$d/ca.crt" "$d/root.crt" | cmp -s - "$d/chain.pem" || fail "chain.pem = ca.crt + root.crt"
ok "chain.pem is the issuing CA then the root"

# The database records the four certificates, the CRLs are published and verify.
n=$(sqlite3 "$d/mtlsca.db" "SELECT count(*) FROM certificates")
eq "init records its certificates" "$n" 4
n=$(sqlite3 "$d/mtlsca.db" "SELECT count(*) FROM audit WHERE action = 'issue'")
eq "one audit row per recorded certificate" "$n" 4
srv_serial=$("$OPENSSL" x509 -in "$d/server.crt" -noout -serial | sed 's/serial=//' | tr A-F a-f)
n=$(sqlite3 "$d/mtlsca.db" "SELECT profile FROM certificates WHERE serial = '$srv_serial'")
eq "server.crt recorded under its serial" "$n" server
eq "database schema version" "$(sqlite3 "$d/mtlsca.db" "PRAGMA user_version")" \
	"$(ls "$MCA_TOP_SRCDIR"/sql/*.sql | wc -l)"
"$OPENSSL" crl -inform DER -in "$d/crl/ca.crl" -CAfile "$d/chain.pem" -noout 2>&1 | grep -q "verify OK" ||
	fail "crl/ca.crl signature"
"$OPENSSL" crl -in "$d/crl/root.crl.pem" -CAfile "$d/root.crt" -noout 2>&1 | grep -q "verify OK" ||
	fail "crl/root.crl.pem signature"
"$OPENSSL" crl -inform DER -in "$d/crl/ca.crl" -noout -crlnumber | grep -q "crlNumber=0x01" ||
	fail "first CRL number is 1"
check "certtool --crl-info parses crl/ca.crl" "$CERTTOOL" --crl-info --inder --infile "$d/crl/ca.crl"
ok "first CRLs (issuing CA and root level) are published and verify"
for t in public private domain-validated; do
	cmp -s "$MCA_TOP_SRCDIR/templates/$t.json" "$d/templates/$t.json" || fail "template $t copied"
done
ok "templates copied into the CA directory"
jq -e '.listen == "127.0.0.1:0" and .database == "mtlsca.db" and .ca_key == "ca.key"' \
	"$d/mtlsca.conf" >/dev/null || fail "mtlsca.conf content"
ok "mtlsca.conf points at the files with relative paths"

# A second init into an existing CA directory: exit 1, nothing changed.
before=$(file_state "$d")
sleep 1
check_fails "second init into the same directory exits 1" 1 "$MTLSCA" init --dir "$d"
stderr_has "refusing to touch it"
stderr_one_line
eq "the CA directory is unchanged" "$(file_state "$d")" "$before"
[ -z "$(ls -d "$d".init-* 2>/dev/null)" ] || fail "no staging directory left behind"
ok "no staging directory left behind"

# An existing empty directory is fine; a non-empty one is refused.
mkdir "$T_DIR/empty"
init_ca "$T_DIR/empty"
[ -f "$T_DIR/empty/ca.crt" ] || fail "init into an empty directory"
eq "empty directory made 0700" "$(stat -c %a "$T_DIR/empty")" 700
mkdir "$T_DIR/full" && echo keep >"$T_DIR/full/notes.txt"
check_fails "init into a non-empty directory exits 1" 1 "$MTLSCA" init --dir "$T_DIR/full"
eq "the unrelated file survives" "$(cat "$T_DIR/full/notes.txt")" keep
eq "nothing added to the non-empty directory" "$(ls "$T_DIR/full")" notes.txt

# Usage errors exit 2, bad values exit 1, each with one line.
check_fails "init without --dir is a usage error" 2 "$MTLSCA" init
stderr_has "--dir is required"
check_fails "unknown key type is a usage error" 2 "$MTLSCA" init --dir "$T_DIR/x" --key-type dsa
stderr_has "unknown key type 'dsa'"
check_fails "bad --ip exits 1" 1 "$MTLSCA" init --dir "$T_DIR/x" --ip 300.1.1.1
stderr_has "not an IP address"
stderr_one_line
check_fails "bad --dns exits 1" 1 "$MTLSCA" init --dir "$T_DIR/x" --dns "bad_name.internal"
stderr_has "underscore"
check_fails "bad --listen exits 1" 1 "$MTLSCA" init --dir "$T_DIR/x" --listen 127.0.0.1:99999
stderr_has "--listen"
check_fails "missing passphrase file exits 1" 1 "$MTLSCA" init --dir "$T_DIR/x" \
	--passphrase-file "$T_DIR/nope"
[ ! -e "$T_DIR/x" ] || fail "failed init leaves no directory"
ok "failed init leaves no directory"
check_fails "unknown command exits 2" 2 "$MTLSCA" frobnicate
check "mtlsca --version" "$MTLSCA" --version
check "mtlsca init --help" "$MTLSCA" init --help

# --passphrase-file: every key encrypted (PKCS#8, AES-256), unreadable without it.
printf 'correct horse battery staple\n' >"$T_DIR/pass"
init_ca "$T_DIR/enc" --passphrase-file "$T_DIR/pass"
for k in root ca server admin; do
	grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$T_DIR/enc/$k.key" || fail "$k.key encrypted"
	if "$OPENSSL" pkey -in "$T_DIR/enc/$k.key" -passin pass: -noout 2>/dev/null; then
		fail "$k.key readable without the passphrase"
	fi
	if "$OPENSSL" pkey -in "$T_DIR/enc/$k.key" -passin pass:wrong -noout 2>/dev/null; then
		fail "$k.key readable with a wrong passphrase"
	fi
	"$OPENSSL" pkey -in "$T_DIR/enc/$k.key" -passin "file:$T_DIR/pass" -noout ||
		fail "$k.key readable with the passphrase"
done
"$OPENSSL" asn1parse -in "$T_DIR/enc/ca.key" | grep -q "aes-256-cbc" || fail "AES-256 encryption"
ok "--passphrase-file encrypts every key with AES-256 (PKCS#8)"
# The key derivation must be expensive to brute-force: scrypt with N >= 2^14,
# r >= 8 and N*r*p >= 2^14*8*5 (OWASP's floor), not PBKDF2 with 2048 rounds.
for k in root ca server admin; do
	"$OPENSSL" asn1parse -in "$T_DIR/enc/$k.key" >"$T_DIR/asn1" || fail "$k.key parses"
	grep -q ":scrypt$" "$T_DIR/asn1" || {
		cat "$T_DIR/asn1"
		fail "$k.key: the passphrase goes through scrypt"
	}
	# SEQUENCE { salt OCTET STRING, N, r, p } follows the scrypt OID.
	set -- $(sed -n '/:scrypt$/,$s/.*prim: *INTEGER *:\([0-9A-F]*\)$/\1/p' "$T_DIR/asn1")
	[ $# -ge 3 ] || { cat "$T_DIR/asn1"; fail "$k.key: scrypt N, r, p"; }
	n=$((0x$1)) r=$((0x$2)) p=$((0x$3))
	[ "$n" -ge 16384 ] && [ "$r" -ge 8 ] && [ $((n * r * p)) -ge $((16384 * 8 * 5)) ] ||
		fail "$k.key: scrypt N=$n r=$r p=$p is too cheap"
done
ok "--passphrase-file: scrypt N=$n r=$r p=$p derives the key encryption key"
# The first line of the file is the passphrase, the rest is ignored.
printf 'first line is it\nsecond line is not\n' >"$T_DIR/pass2"
init_ca "$T_DIR/enc2" --passphrase-file "$T_DIR/pass2"
check "a multi-line passphrase file: the key opens with the first line" \
	"$OPENSSL" pkey -in "$T_DIR/enc2/ca.key" -passin "pass:first line is it" -noout
jq -e --arg p "$T_DIR/pass" '.passphrase_file == $p' "$T_DIR/enc/mtlsca.conf" >/dev/null ||
	fail "mtlsca.conf names the passphrase file"
ok "mtlsca.conf names the passphrase file"

# The CRL and caIssuers URLs in certificates never carry port 0 (nobody could
# fetch the CRL there): port 0 on --http-listen needs --public-url.
check_fails "init with --http-listen port 0 and no --public-url is a usage error" 2 \
	"$MTLSCA" init --dir "$T_DIR/p0" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0
stderr_has "mtlsca: --http-listen 127.0.0.1:0: port 0 cannot go into the CRL and caIssuers URLs of certificates; give --public-url URL or a fixed port (see 'mtlsca init --help')"
stderr_one_line
[ ! -e "$T_DIR/p0" ] || fail "a refused init leaves no directory"
ok "a refused init leaves no directory"
check_fails "init --public-url with port 0 exits 1" 1 "$MTLSCA" init --dir "$T_DIR/p0" \
	--public-url http://127.0.0.1:0
stderr_has "mtlsca: init: --public-url: 'http://127.0.0.1:0' has port 0"
stderr_one_line
check_fails "init --public-url [::1]:00 exits 1" 1 "$MTLSCA" init --dir "$T_DIR/p0" \
	--public-url "http://[::1]:00/pki"
stderr_has "has port 0"
check_fails "init --public-url ftp:// exits 1" 1 "$MTLSCA" init --dir "$T_DIR/p0" \
	--public-url ftp://ca.internal
stderr_has "mtlsca: init: --public-url: 'ftp://ca.internal' is not an http:// or https:// URL with a host"
[ ! -e "$T_DIR/p0" ] || fail "refused inits leave no directory"
# --listen port 0 alone is fine: the HTTPS listener goes into no certificate.
check "init --listen 127.0.0.1:0 with the default HTTP listener" \
	"$MTLSCA" init --dir "$T_DIR/p1" --listen 127.0.0.1:0
eq "public_url from the default HTTP listener" \
	"$(jq -r .public_url "$T_DIR/p1/mtlsca.conf")" "http://127.0.0.1:8080"
eq "server.crt URLs from the default HTTP listener" "$(urls_of "$T_DIR/p1/server.crt" | tr '\n' ' ')" \
	"crl http://127.0.0.1:8080/crl issuer http://127.0.0.1:8080/ca.crt "
# With --public-url: the config, init's leaves and a leaf issued later carry it.
u=https://pki.example.internal:8443/base
check "init --http-listen port 0 with --public-url" "$MTLSCA" init --dir "$T_DIR/pu" \
	--listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --public-url "$u/"
eq "mtlsca.conf public_url (trailing slash dropped)" "$(jq -r .public_url "$T_DIR/pu/mtlsca.conf")" "$u"
eq "mtlsca.conf keeps the port-0 listener" "$(jq -r .http_listen "$T_DIR/pu/mtlsca.conf")" \
	"127.0.0.1:0"
for c in server admin; do
	eq "--public-url: $c.crt URLs" "$(urls_of "$T_DIR/pu/$c.crt" | tr '\n' ' ')" \
		"crl $u/crl issuer $u/ca.crt "
done
"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_DIR/pu.key" \
	-subj /CN=leaf.internal -addext subjectAltName=DNS:leaf.internal -out "$T_DIR/pu.csr" \
	>/dev/null 2>&1 || fail "make a CSR"
check "mtlsca issue in the --public-url CA" "$MTLSCA" -c "$T_DIR/pu/mtlsca.conf" issue \
	--csr "$T_DIR/pu.csr" --profile private --out "$T_DIR/pu.crt"
eq "--public-url: an issued leaf's URLs" "$(urls_of "$T_DIR/pu.crt" | tr '\n' ' ')" \
	"crl $u/crl issuer $u/ca.crt "
for f in "$T_DIR"/pu/*.crt "$T_DIR/pu.crt" "$T_DIR"/ca-*/*.crt "$T_DIR"/enc/*.crt; do
	if "$OPENSSL" x509 -in "$f" -noout -text | grep -q "URI:.*:0/"; then
		fail "$f names a port-0 URL"
	fi
done
ok "no certificate names a port-0 URL"

# -c/--config also after the verb (cli.md), and $MTLSCA_CONFIG.
d=$T_DIR/ca-ec-p256
want=$("$MTLSCA" -c "$d/mtlsca.conf" list --json | jq -c '[.[].serial]')
eq "list with -c after the verb" "$("$MTLSCA" list -c "$d/mtlsca.conf" --json |
	jq -c '[.[].serial]')" "$want"
eq "list with --config= after the verb" "$("$MTLSCA" list --json --config="$d/mtlsca.conf" |
	jq -c '[.[].serial]')" "$want"
eq "list with MTLSCA_CONFIG" "$(MTLSCA_CONFIG=$d/mtlsca.conf "$MTLSCA" list --json |
	jq -c '[.[].serial]')" "$want"
[ "$(echo "$want" | jq length)" -eq 4 ] || fail "four certificates listed"
check_fails "a missing config is exit 1 naming it" 1 "$MTLSCA" list -c "$T_DIR/none.conf"
stderr_has "$T_DIR/none.conf"


echo "1..$T_NUM"
