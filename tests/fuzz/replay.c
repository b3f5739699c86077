/*
 * replay.c - the main of a fuzz target built without libFuzzer: feeds each
 * input once to LLVMFuzzerTestOneInput.  Arguments are files or
 * directories; without any, the corpus of the target,
 * $MCA_TOP_SRCDIR/tests/fuzz/corpus/NAME/ for a program called fuzz_NAME.
 * An empty or missing corpus is a failure (a lost corpus tests nothing).
 * A broken invariant aborts, which fails the test.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1024u * 1024u)

static int
run_file(const char *path)
{
	static unsigned char buf[REPLAY_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path,
		        REPLAY_MAX_INPUT - 1);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 1;
}

static int
run_path(const char *path)
{
	struct dirent **ents = NULL;
	struct stat sb;
	char sub[4096];
	int n, i, count = 0, r;

	if (stat(path, &sb) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return run_file(path);
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		perror(path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && count >= 0) {
			snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
			r = run_file(sub);
			count = r < 0 ? -1 : count + r;
		}
		free(ents[i]);
	}
	free(ents);
	return count;
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/'), *top = getenv("MCA_TOP_SRCDIR");
	char dir[4096];
	int i, n, total = 0;

	base = base != NULL ? base + 1 : argv[0];
	if (strncmp(base, "lt-", 3) == 0)
		base += 3;
	if (argc < 2) {
		if (strncmp(base, "fuzz_", 5) != 0) {
			fprintf(stderr, "usage: fuzz_NAME [FILE|DIR]...\n");
			return 2;
		}
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top != NULL ? top : "..",
		         base + 5);
		n = run_path(dir);
		if (n <= 0) {
			fprintf(stderr, "%s: no inputs in %s\n", base, dir);
			return 1;
		}
		total = n;
	}
	for (i = 1; i < argc; i++) {
		n = run_path(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("%s: %d inputs, no broken invariant\n", base, total);
	return 0;
}
