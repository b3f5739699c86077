#!/bin/sh
# crl_shards.sh - partitioned CRLs ("crl": {"shards": 4}, doc/crl.md): each
# leaf names the CRL of one shard in its CDP (public_url/crl/K, K = serial
# mod 4, stored in its row); four certificates in four shards, two revoked
# (one by "mtlsca revoke", one by POST /v1/revoke): each shard CRL served at
# /crl/K verifies, carries a critical IssuingDistributionPoint with its own
# URL and onlyContainsUserCerts, and lists exactly its own revoked serials;
# a revocation republishes its own shard and the complete CRL, no other
# shard; "openssl verify -crl_check" with the four shard CRLs (and no
# complete CRL) refuses the revoked and accepts the others; the complete
# /crl lists both; GnuTLS certtool reads a shard CRL; the metrics give each
# CRL's size; bad shard paths and settings are refused.
set -e
. "$TESTS_SRCDIR/lib.sh"

d=$T_DIR/ca
init_ca "$d"
conf=$d/mtlsca.conf
db=$d/mtlsca.db
url=$INIT_PUBLIC_URL

# crl.shards outside 0..1024 is refused, naming the field.
jq '.crl.shards = 1025' "$conf" >"$d/bad.conf"
check_fails "crl.shards 1025 refused" 1 "$MTLSCA" -c "$d/bad.conf" crl
stderr_has "field 'crl.shards': 1025 is not 0 (no partitions) to 1024"
jq '.crl.shards = -1' "$conf" >"$d/bad.conf"
check_fails "crl.shards -1 refused" 1 "$MTLSCA" -c "$d/bad.conf" crl
jq '.crl.shards = "4"' "$conf" >"$d/bad.conf"
check_fails "crl.shards as a string refused" 1 "$MTLSCA" -c "$d/bad.conf" crl
stderr_has "field 'shards' must be an integer"

jq '.crl.shards = 4' "$conf" >"$T_DIR/conf" && cp "$T_DIR/conf" "$conf"
start_daemon "$conf"
http=http://127.0.0.1:$HTTP_PORT
https=https://127.0.0.1:$HTTPS_PORT
C="$CURL -sS --max-time 10 --cacert $d/chain.pem"
ADMIN="--cert $d/admin.crt --key $d/admin.key"

# numbers: "ISSUER NUMBER" of the newest CRL of the complete CRL and each shard
numbers() {
	sqlite3 "$db" "SELECT issuer || ' ' || max(number) FROM crls WHERE issuer GLOB 'ca*'
		GROUP BY issuer ORDER BY issuer"
}

# cdp CERT: the URI of its CRL distribution point
cdp() {
	"$OPENSSL" x509 -in "$1" -noout -ext crlDistributionPoints | sed -n 's/^ *URI://p'
}

# fetch PATH FILE: GET PATH from the HTTP listener into FILE, status 200
fetch() {
	_code=$($CURL -sS --max-time 10 -o "$2" -w '%{http_code}' "$http$1")
	[ "$_code" = 200 ] || fail "GET $1: status $_code, want 200"
}

# The daemon published the four shards at its start (none existed).
i=0
while [ "$(numbers | grep -c '^ca-')" != 4 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { numbers; fail "the daemon publishes the four shard CRLs at start"; }
	sleep 0.1
done
ok "the daemon published the four shard CRLs at start"

# Issue until four certificates land in four different shards.
for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
	"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T_DIR/l$n.key" -subj "/CN=l$n.example.internal" \
		-addext "subjectAltName=DNS:l$n.example.internal" -out "$T_DIR/l$n.csr" 2>/dev/null
	"$MTLSCA" -c "$conf" issue --csr "$T_DIR/l$n.csr" --profile private >"$T_DIR/l$n.crt" ||
		fail "mtlsca issue l$n"
	u=$(cdp "$T_DIR/l$n.crt")
	k=${u#"$url/crl/"}
	case $k in
	0 | 1 | 2 | 3) ;;
	*) fail "l$n: CDP $u is not $url/crl/0..3" ;;
	esac
	# K is the serial mod 4: the last hex digit says it
	s=$("$OPENSSL" x509 -in "$T_DIR/l$n.crt" -noout -serial | sed 's/^serial=//' | tr A-F a-f)
	eq "l$n: shard is serial mod 4" "$k" "$(($(printf '%d' "0x$(echo "$s" | tail -c 2)") % 4))"
	eq "l$n: shard stored in its row" "$(sqlite3 "$db" \
		"SELECT crl_shard FROM certificates WHERE serial = '$s'")" "$k"
	[ -f "$T_DIR/shard$k.crt" ] || {
		cp "$T_DIR/l$n.crt" "$T_DIR/shard$k.crt"
		echo "$s" >"$T_DIR/shard$k.serial"
	}
	[ -f "$T_DIR/shard0.crt" ] && [ -f "$T_DIR/shard1.crt" ] && [ -f "$T_DIR/shard2.crt" ] &&
		[ -f "$T_DIR/shard3.crt" ] && break
done
for k in 0 1 2 3; do
	[ -f "$T_DIR/shard$k.crt" ] || fail "30 certificates, none in shard $k"
done
ok "four certificates in the four shards"

# Revoke shard 1's by the CLI and shard 2's by the API; each time only its
# own shard and the complete CRL get a new number.
numbers >"$T_DIR/n0"
s1=$(cat "$T_DIR/shard1.serial")
s2=$(cat "$T_DIR/shard2.serial")
"$MTLSCA" -c "$conf" revoke "$s1" --reason keyCompromise >"$T_DIR/rev.out" ||
	fail "mtlsca revoke $s1"
numbers >"$T_DIR/n1"
eq "CLI revocation republished shard 1 and the complete CRL only" \
	"$(diff "$T_DIR/n0" "$T_DIR/n1" | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ')" "ca ca-1 "
code=$($C $ADMIN -o "$T_DIR/rev.json" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "{\"serial\": \"$s2\"}" "$https/v1/revoke")
[ "$code" = 200 ] || { cat "$T_DIR/rev.json"; fail "POST /v1/revoke: status $code, want 200"; }
numbers >"$T_DIR/n2"
eq "API revocation republished shard 2 and the complete CRL only" \
	"$(diff "$T_DIR/n1" "$T_DIR/n2" | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ')" "ca ca-2 "
# One sequence of numbers: the complete CRL's is the highest.
eq "the complete CRL has the highest number" "$(sqlite3 "$db" \
	"SELECT issuer FROM crls ORDER BY number DESC LIMIT 1")" ca

# The daemon serves the new shard 1 CRL (the CLI's) once it has seen it.
want=$(sed -n 's/^ca-1 //p' "$T_DIR/n2")
i=0
while :; do
	fetch /crl/1 "$T_DIR/crl1.der"
	got=$("$OPENSSL" crl -inform DER -in "$T_DIR/crl1.der" -noout -crlnumber | sed 's/^crlNumber=//')
	[ "$(printf '%d' "$got")" = "$want" ] && break
	i=$((i + 1))
	[ $i -lt 60 ] || fail "/crl/1 serves CRL $want after mtlsca revoke (has $got)"
	sleep 0.1
done
ok "/crl/1 serves the CLI's new shard CRL"

for k in 0 1 2 3; do
	fetch /crl/$k "$T_DIR/crl$k.der"
	"$OPENSSL" crl -inform DER -in "$T_DIR/crl$k.der" -out "$T_DIR/crl$k.pem"
	check "shard $k CRL verifies with the CA" "$OPENSSL" crl -in "$T_DIR/crl$k.pem" -noout \
		-CAfile "$d/chain.pem" -verify
	"$OPENSSL" crl -in "$T_DIR/crl$k.pem" -noout -text >"$T_DIR/crl$k.txt"
	grep -q "X509v3 Issuing Distribution Point: critical" "$T_DIR/crl$k.txt" ||
		{ cat "$T_DIR/crl$k.txt"; fail "shard $k CRL: critical IssuingDistributionPoint"; }
	# (OpenSSL 3.0 prints "Only User Certificates" on the URI's line)
	grep -qE "URI:$url/crl/$k( |\$)" "$T_DIR/crl$k.txt" ||
		{ cat "$T_DIR/crl$k.txt"; fail "shard $k CRL: its IDP names $url/crl/$k"; }
	grep -q "Only User Certificates" "$T_DIR/crl$k.txt" ||
		{ cat "$T_DIR/crl$k.txt"; fail "shard $k CRL: onlyContainsUserCerts"; }
	ok "shard $k CRL: critical IDP $url/crl/$k, only user certificates"
	sed -n 's/^ *Serial Number: //p' "$T_DIR/crl$k.txt" | tr A-F a-f >"$T_DIR/list$k"
	case $k in
	1) want_list=$s1 ;;
	2) want_list=$s2 ;;
	*) want_list= ;;
	esac
	eq "shard $k CRL lists exactly its revoked serials" "$(cat "$T_DIR/list$k")" "$want_list"
	# The same CRL as PEM, at /crl/K.pem.
	fetch /crl/$k.pem "$T_DIR/crl$k.served.pem"
	eq "/crl/$k.pem is shard $k's CRL" "$(cat "$T_DIR/crl$k.served.pem")" "$(cat "$T_DIR/crl$k.pem")"
done
fetch /crl "$T_DIR/full.der"
"$OPENSSL" crl -inform DER -in "$T_DIR/full.der" -noout -text >"$T_DIR/full.txt"
sed -n 's/^ *Serial Number: //p' "$T_DIR/full.txt" | tr A-F a-f | sort >"$T_DIR/full.list"
eq "the complete /crl lists both" "$(cat "$T_DIR/full.list")" "$(printf '%s\n%s\n' "$s1" "$s2" | sort)"
grep -q "Issuing Distribution Point" "$T_DIR/full.txt" &&
	fail "the complete CRL carries no IssuingDistributionPoint"
ok "the complete CRL carries no IssuingDistributionPoint"

# A relying party with the four shard CRLs (and not the complete one).
cat "$T_DIR/crl0.pem" "$T_DIR/crl1.pem" "$T_DIR/crl2.pem" "$T_DIR/crl3.pem" >"$T_DIR/shards.pem"
for k in 0 1 2 3; do
	if "$OPENSSL" verify -crl_check -CAfile "$d/chain.pem" -CRLfile "$T_DIR/shards.pem" \
		"$T_DIR/shard$k.crt" >"$T_DIR/verify$k.out" 2>&1; then
		case $k in 1 | 2) cat "$T_DIR/verify$k.out"; fail "verify -crl_check refuses revoked shard$k" ;; esac
		ok "verify -crl_check with the shard CRLs accepts shard$k's certificate"
	else
		case $k in
		1 | 2)
			grep -q "certificate revoked" "$T_DIR/verify$k.out" ||
				{ cat "$T_DIR/verify$k.out"; fail "shard$k refused as revoked"; }
			ok "verify -crl_check with the shard CRLs refuses revoked shard$k: certificate revoked"
			;;
		*) cat "$T_DIR/verify$k.out"; fail "verify -crl_check accepts shard$k's certificate" ;;
		esac
	fi
done
# The shard CRL alone is no CRL for another shard's certificate (different scope).
check_fails "shard 1 CRL alone does not cover shard 0's certificate" 2 "$OPENSSL" verify \
	-crl_check -CAfile "$d/chain.pem" -CRLfile "$T_DIR/crl1.pem" "$T_DIR/shard0.crt"

# GnuTLS reads and verifies a shard CRL.
check "certtool verifies shard 1 CRL" "$CERTTOOL" --verify-crl --load-ca-certificate "$d/ca.crt" \
	--infile "$T_DIR/crl1.pem"

# Paths that are no shard: 404.
for p in /crl/4 /crl/01 /crl/x /crl/1.der /crl/ /crl/99999999; do
	code=$($CURL -sS --max-time 10 -o /dev/null -w '%{http_code}' "$http$p")
	eq "GET $p: 404" "$code" 404
done

# Metrics: the size of each CRL served.
$CURL -sS --max-time 10 "$http/metrics" >"$T_DIR/metrics"
for k in 0 1 2 3; do
	eq "metrics: shard $k size" "$(sed -n "s/^mtlsca_crl_bytes{crl=\"ca-$k\"} //p" "$T_DIR/metrics")" \
		"$(wc -c <"$T_DIR/crl$k.der" | tr -d ' ')"
done
eq "metrics: shard 1 entries" "$(sed -n 's/^mtlsca_crl_entries{crl="ca-1"} //p' "$T_DIR/metrics")" 1
eq "metrics: shard 0 entries" "$(sed -n 's/^mtlsca_crl_entries{crl="ca-0"} //p' "$T_DIR/metrics")" 0
eq "metrics: complete CRL entries" "$(sed -n 's/^mtlsca_crl_entries{crl="ca"} //p' "$T_DIR/metrics")" 2

# The CRL directory has every shard's files.
for k in 0 1 2 3; do
	check "crl/ca-$k.crl written" test -s "$d/crl/ca-$k.crl"
	check "crl/ca-$k.crl.pem written" test -s "$d/crl/ca-$k.crl.pem"
done
stop_daemon
