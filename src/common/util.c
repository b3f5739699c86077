/* util.c - file-system and string helpers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/util.h"

static time_t mca_fake_now;

time_t
mca_now(void)
{
	return mca_fake_now != 0 ? mca_fake_now : time(NULL);
}

void
mca_time_set_fake(time_t t)
{
	mca_fake_now = t;
}

mca_rc
mca_file_read(const char *path, char **out, size_t *outlen, struct mca_error *err)
{
	int fd = -1;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	mca_rc rc = MCA_ERR_IO;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = mca_error_set(err, errno == ENOENT ? MCA_ERR_NOTFOUND : MCA_ERR_IO, "%s: %s",
		                   path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > MCA_FILE_MAX) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: file too large", path);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
	if (outlen != NULL)
		*outlen = got;
	rc = MCA_OK;
out:
	if (buf != NULL) /* a read error: what came in may be a secret */
		OPENSSL_cleanse(buf, got);
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

char *
mca_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

mca_rc
mca_fsync_dir(const char *dir, struct mca_error *err)
{
	int fd;
	mca_rc rc = MCA_OK;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mca_error_set(err, MCA_ERR_IO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		rc = mca_error_set(err, MCA_ERR_IO, "%s: fsync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

mca_rc
mca_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode, int excl,
                      struct mca_error *err)
{
	char *dir = NULL, *tmp = NULL;
	const unsigned char *p = data;
	size_t off = 0;
	ssize_t n;
	int fd = -1;
	mca_rc rc = MCA_ERR_IO;

	if (excl && mca_path_exists(path))
		return mca_error_set(err, MCA_ERR_EXISTS, "%s: already exists", path);
	dir = mca_path_dirname(path);
	if (dir == NULL || asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		tmp = NULL;
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fchmod(fd, (mode_t)mode) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mca_error_set(err, MCA_ERR_IO, "%s: %s", path, strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = mca_error_set(err, MCA_ERR_IO, "%s: close: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (excl) {
		/* link() fails if path appeared meanwhile: never clobber. */
		if (link(tmp, path) != 0) {
			rc = mca_error_set(err, errno == EEXIST ? MCA_ERR_EXISTS : MCA_ERR_IO,
			                   "%s: %s", path, strerror(errno));
			goto out;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = mca_error_set(err, MCA_ERR_IO, "%s: rename: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = mca_fsync_dir(dir, err);
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

int
mca_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *
mca_path_join(const char *dir, const char *rel)
{
	char *out = NULL;

	if (rel == NULL)
		return NULL;
	if (rel[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(rel);
	if (asprintf(&out, "%s/%s", dir, rel) < 0)
		return NULL;
	return out;
}

mca_rc
mca_passphrase_read(const char *path, char **out, struct mca_error *err)
{
	char *buf = NULL, *line = NULL;
	size_t len = 0, n;
	mca_rc rc;

	*out = NULL;
	rc = mca_file_read(path, &buf, &len, err);
	if (rc != MCA_OK)
		return rc;
	/* Copy out the first line, then wipe the whole file, not only that line. */
	n = strcspn(buf, "\r\n");
	if (n == 0) {
		rc = mca_error_set(err, MCA_ERR_CONFIG, "%s: empty passphrase", path);
		goto out;
	}
	line = malloc(n + 1);
	if (line == NULL) {
		rc = mca_error_set(err, MCA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(line, buf, n);
	line[n] = '\0';
	*out = line;
	rc = MCA_OK;
out:
	OPENSSL_cleanse(buf, len + 1);
	free(buf);
	return rc;
}

void
mca_free_secret(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
mca_time_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
mca_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

char *
mca_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}
