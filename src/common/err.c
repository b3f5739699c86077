/* err.c - error codes, their names, and detail formatting. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "common/err.h"

static const char *const mca_rc_names[] = {
#define MCA_X_NAME(code, name, desc) name,
    MCA_ERRORS(MCA_X_NAME)
#undef MCA_X_NAME
};

static const char *const mca_rc_descs[] = {
#define MCA_X_DESC(code, name, desc) desc,
    MCA_ERRORS(MCA_X_DESC)
#undef MCA_X_DESC
};

const char *
mca_rc_name(mca_rc rc)
{
	if ((unsigned)rc >= MCA_ERR__COUNT)
		return "unknown";
	return mca_rc_names[rc];
}

const char *
mca_rc_str(mca_rc rc)
{
	if ((unsigned)rc >= MCA_ERR__COUNT)
		return "unknown error";
	return mca_rc_descs[rc];
}

/* Shared formatter: fills err->msg from fmt/ap, keeps rule untouched. */
static mca_rc
error_vset(struct mca_error *err, mca_rc rc, const char *fmt, va_list ap)
{
	if (err == NULL)
		return rc;
	err->code = rc;
	if (fmt == NULL)
		snprintf(err->msg, sizeof(err->msg), "%s", mca_rc_str(rc));
	else
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return rc;
}

mca_rc
mca_error_set(struct mca_error *err, mca_rc rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, rc, fmt, ap);
	va_end(ap);
	if (err != NULL)
		err->rule[0] = '\0';
	return rc;
}

mca_rc
mca_error_rule(struct mca_error *err, mca_rc rc, const char *rule, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, rc, fmt, ap);
	va_end(ap);
	if (err != NULL)
		snprintf(err->rule, sizeof(err->rule), "%s", rule);
	return rc;
}

mca_rc
mca_error_ssl(struct mca_error *err, mca_rc rc, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	size_t len;
	char buf[256];

	va_start(ap, fmt);
	error_vset(err, rc, fmt, ap);
	va_end(ap);
	e = ERR_peek_last_error();
	ERR_clear_error();
	if (err == NULL)
		return rc;
	err->rule[0] = '\0';
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		         ERR_reason_error_string(e) ? ERR_reason_error_string(e) : buf);
	}
	return rc;
}

void
mca_error_clear(struct mca_error *err)
{
	if (err == NULL)
		return;
	err->code = MCA_OK;
	err->rule[0] = '\0';
	err->msg[0] = '\0';
}
