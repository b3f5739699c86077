/*
 * jsonx.h - strict, table-driven unpacking of JSON objects (config files,
 * templates, API bodies).  Every key of the object must be described by
 * the table, every required key must be present, and every value must have
 * the declared type; the error names the offending field.
 *
 * Strings and sub-objects are borrowed: the pointers stored into `dst` are
 * valid only while the json_t they came from is alive.
 */
#ifndef MCA_JSONX_H
#define MCA_JSONX_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"

enum mca_jtype {
	MCA_J_STRING, /* const char *          */
	MCA_J_INT,    /* long long             */
	MCA_J_BOOL,   /* int (0 or 1)          */
	MCA_J_OBJECT, /* json_t * (borrowed)   */
	MCA_J_ARRAY,  /* json_t * (borrowed)   */
	MCA_J_STRARR, /* json_t * whose items are all strings */
};

struct mca_jfield {
	const char *name;
	enum mca_jtype type;
	int required;
	size_t offset; /* offsetof() in the destination struct */
};

#define MCA_JFIELD(st, member, type, req)                                                          \
	{                                                                                          \
#member, type, req, offsetof(st, member)                                           \
	}

/*
 * Unpack `obj` into `dst` following `fields`.  Fields absent from `obj`
 * leave `dst` untouched (so callers pre-fill defaults).  `what` prefixes
 * the error message ("mtlsca.conf", "request body").  On error, err->rule
 * holds the field name.
 */
mca_rc mca_json_unpack(json_t *obj, const struct mca_jfield *fields, size_t nfields, void *dst,
                       const char *what, struct mca_error *err);

/*
 * Copy the C string `src` into `dst` (`len` bytes, len >= 1; always
 * terminated) as text a JSON encoder accepts: each maximal ill-formed
 * UTF-8 subsequence (stray or missing continuation bytes, overlong forms,
 * surrogates, beyond U+10FFFF, 0xC0/0xC1/0xF5..0xFF) becomes U+FFFD, except
 * an incomplete character at the very end of `src` (what a cut by "%.Ns"
 * or a full buffer leaves), which is dropped.  When `dst` fills up the copy
 * stops at a character boundary.  Returns the length written.  For error
 * messages that quote client bytes (paths, serials, names from CSRs).
 */
size_t mca_json_safe_text(char *dst, size_t len, const char *src);

/*
 * Append `s` to `out` (at *len, within `cap`) as a JSON string, quotes
 * included, escaped exactly as jansson's json_dumps writes it (", \\, \b
 * \f \n \r \t, other control characters as \u00XX, everything else as
 * it is: `s` must be valid UTF-8).  For replies assembled from parts that
 * are known to be text (PEM, hex serials, times), without building a JSON
 * tree.  0 when it does not fit (*len unchanged), 1 otherwise.
 */
int mca_json_str_append(char *out, size_t cap, size_t *len, const char *s);

/*
 * Parse `text` (length `len`) as a single JSON object, refusing duplicate
 * keys.  *out is a new reference.
 */
mca_rc mca_json_parse_object(const char *text, size_t len, json_t **out, const char *what,
                             struct mca_error *err);

#endif
