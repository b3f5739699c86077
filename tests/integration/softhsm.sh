# softhsm.sh - sourced by the PKCS#11 tests after lib.sh: checks that
# SoftHSM 2 and pkcs11-tool are there, gives the test its own token
# directory (SOFTHSM2_CONF in T_DIR), a PIN file T_DIR/pin (1234), and
# new_token LABEL.
SOFTHSM_UTIL=${SOFTHSM_UTIL:-softhsm2-util}
PKCS11_TOOL=${PKCS11_TOOL:-pkcs11-tool}
MODULE=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
command -v "$SOFTHSM_UTIL" >/dev/null 2>&1 ||
	fail "softhsm2-util not found: install softhsm2 (tools/install-deps)"
command -v "$PKCS11_TOOL" >/dev/null 2>&1 || fail "pkcs11-tool not found: install opensc"
[ -f "$MODULE" ] || fail "no SoftHSM module at $MODULE: install softhsm2 or set SOFTHSM2_MODULE"
if [ "${MCA_SANITIZERS:-no}" = yes ]; then
	# SoftHSM's own leak (softhsm.supp says which); the slow unwinder, so
	# that stacks through libcrypto (no frame pointers) reach the module
	LSAN_OPTIONS="suppressions=$TESTS_SRCDIR/softhsm.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	export LSAN_OPTIONS ASAN_OPTIONS
fi

mkdir "$T_DIR/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T_DIR" >"$T_DIR/softhsm2.conf"
SOFTHSM2_CONF=$T_DIR/softhsm2.conf
export SOFTHSM2_CONF
echo 1234 >"$T_DIR/pin"
chmod 600 "$T_DIR/pin"

# new_token LABEL: an initialised token with user PIN 1234
new_token() {
	"$SOFTHSM_UTIL" --init-token --free --label "$1" --so-pin 12345678 --pin 1234 \
		>"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; fail "softhsm2-util --init-token $1"; }
}
