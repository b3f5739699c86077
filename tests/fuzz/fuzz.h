/*
 * fuzz.h - what the fuzz targets of tests/fuzz share.
 *
 * Each tests/fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput over the real
 * parsers of src/.  Built two ways (Makefile.am, doc/fuzzing.md):
 *   --enable-fuzzing (clang): linked with -fsanitize=fuzzer, run by
 *     tools/fuzz-run for a bounded time;
 *   otherwise: linked with replay.c, a main that feeds every file of
 *     tests/fuzz/corpus/NAME/ to the target once, as a test of "make
 *     check" (so each seed and each crash found stays a regression test).
 *
 * A target reports a broken invariant with fz_fail (abort: a crash to
 * libFuzzer, a failed test to the replay).  The fixtures below are made
 * once per process on first use and never freed (libFuzzer's leak check
 * runs per input and ignores what is still reachable).  Not thread-safe.
 */
#ifndef MCA_FUZZ_H
#define MCA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/profile.h"
#include "signer/signer.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print "fuzz: broken invariant: ..." and abort(). */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A throwaway issuing CA (P-256, CN "mtlsca fuzz CA", with an SKI). */
struct fz_ca {
	EVP_PKEY *key;
	X509 *cert;
	struct mca_signer *signer;
	int64_t not_after;
};
const struct fz_ca *fz_ca(void);

/* The shipped templates (compiled in: common/embedded.h), parsed. */
const struct mca_profiles *fz_profiles(void);

/* A store in a fresh temporary directory (removed at exit). */
struct mca_store *fz_store(void);

/* `data` as a NUL-terminated string (malloc'd; aborts when out of memory). */
char *fz_strndup(const uint8_t *data, size_t size);

#endif
