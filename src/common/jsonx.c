/* jsonx.c - strict JSON object unpacking. */
#include "config.h"

#include <string.h>

#include "common/jsonx.h"

static const char *
jtype_name(enum mca_jtype t)
{
	switch (t) {
	case MCA_J_STRING:
		return "a string";
	case MCA_J_INT:
		return "an integer";
	case MCA_J_BOOL:
		return "true or false";
	case MCA_J_OBJECT:
		return "an object";
	case MCA_J_ARRAY:
		return "an array";
	case MCA_J_STRARR:
		return "an array of strings";
	}
	return "?";
}

/* Whether `v` has type `t`; stores it into `slot` when it does. */
static int
store_value(json_t *v, enum mca_jtype t, void *slot)
{
	size_t i;

	switch (t) {
	case MCA_J_STRING:
		if (!json_is_string(v))
			return 0;
		*(const char **)slot = json_string_value(v);
		return 1;
	case MCA_J_INT:
		if (!json_is_integer(v))
			return 0;
		*(long long *)slot = (long long)json_integer_value(v);
		return 1;
	case MCA_J_BOOL:
		if (!json_is_boolean(v))
			return 0;
		*(int *)slot = json_is_true(v);
		return 1;
	case MCA_J_OBJECT:
		if (!json_is_object(v))
			return 0;
		*(json_t **)slot = v;
		return 1;
	case MCA_J_ARRAY:
		if (!json_is_array(v))
			return 0;
		*(json_t **)slot = v;
		return 1;
	case MCA_J_STRARR:
		if (!json_is_array(v))
			return 0;
		for (i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)))
				return 0;
		*(json_t **)slot = v;
		return 1;
	}
	return 0;
}

mca_rc
mca_json_unpack(json_t *obj, const struct mca_jfield *fields, size_t nfields, void *dst,
                const char *what, struct mca_error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(obj))
		return mca_error_set(err, MCA_ERR_INVAL, "%s: expected a JSON object", what);
	json_object_foreach(obj, key, v)
	{
		for (i = 0; i < nfields; i++)
			if (strcmp(fields[i].name, key) == 0)
				break;
		if (i == nfields)
			return mca_error_rule(err, MCA_ERR_INVAL, key, "%s: unknown field '%.64s'",
			                      what, key);
		if (!store_value(v, fields[i].type, (char *)dst + fields[i].offset))
			return mca_error_rule(err, MCA_ERR_INVAL, fields[i].name,
			                      "%s: field '%s' must be %s", what, fields[i].name,
			                      jtype_name(fields[i].type));
	}
	for (i = 0; i < nfields; i++)
		if (fields[i].required && json_object_get(obj, fields[i].name) == NULL)
			return mca_error_rule(err, MCA_ERR_INVAL, fields[i].name,
			                      "%s: missing field '%s'", what, fields[i].name);
	return MCA_OK;
}

mca_rc
mca_json_parse_object(const char *text, size_t len, json_t **out, const char *what,
                      struct mca_error *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return mca_error_set(err, MCA_ERR_INVAL, "%s: line %d: %s", what, jerr.line,
		                     jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return mca_error_set(err, MCA_ERR_INVAL, "%s: expected a JSON object", what);
	}
	*out = j;
	return MCA_OK;
}
