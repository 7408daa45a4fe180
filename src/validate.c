#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "brainstorm/http.h"
#include "brainstorm/validate.h"

size_t
utf8_length(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

bool
uuid_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static void
verr(struct validate_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
verr(struct validate_error *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static bs_err
validate_field(json_object *v, const struct field_rule *r,
    struct field_value *out, struct validate_error *err)
{
	const char	*s;
	size_t		 len, chars, i;
	int64_t		 num;

	switch (r->type) {
	case FIELD_STRING:
	case FIELD_ENUM:
		if (!json_object_is_type(v, json_type_string)) {
			verr(err, r->name, "%s must be a string.", r->name);
			return BS_ERR_INVALID;
		}
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		if (strlen(s) != len || !utf8_valid(s, len)) {
			verr(err, r->name, "%s must be UTF-8 text without NUL characters.",
			    r->name);
			return BS_ERR_INVALID;
		}
		out->str = s;
		if (r->type == FIELD_ENUM) {
			for (i = 0; r->choices[i] != NULL; i++)
				if (strcmp(s, r->choices[i]) == 0)
					return BS_OK;
			verr(err, r->name, "%s must be one of the allowed values.", r->name);
			return BS_ERR_INVALID;
		}
		chars = utf8_length(s, len);
		if ((long)chars < r->min || (long)chars > r->max) {
			if (r->min > 0 && chars < (size_t)r->min && r->min == 1)
				verr(err, r->name, "%s must not be empty.", r->name);
			else
				verr(err, r->name, "%s must be %ld to %ld characters long.",
				    r->name, r->min, r->max);
			return BS_ERR_INVALID;
		}
		return BS_OK;
	case FIELD_INT:
		if (!json_object_is_type(v, json_type_int)) {
			verr(err, r->name, "%s must be a whole number.", r->name);
			return BS_ERR_INVALID;
		}
		errno = 0;
		num = json_object_get_int64(v);
		if (errno != 0 || num < r->min || num > r->max) {
			verr(err, r->name, "%s must be from %ld to %ld.", r->name, r->min,
			    r->max);
			return BS_ERR_INVALID;
		}
		out->num = (long)num;
		return BS_OK;
	}
	return BS_ERR_INTERNAL;
}

bs_err
validate_object(json_object *obj, const struct field_rule *rules, size_t n,
    struct field_value *out, struct validate_error *err)
{
	json_object	*v;
	size_t		 i;
	bool		 known;
	bs_err		 e;

	memset(out, 0, n * sizeof(*out));
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		verr(err, "", "The body must be a JSON object.");
		return BS_ERR_INVALID;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		known = false;
		for (i = 0; i < n && !known; i++)
			known = strcmp(rules[i].name, key) == 0;
		if (!known) {
			verr(err, key, "Unknown field %.40s.", key);
			return BS_ERR_INVALID;
		}
	}
	for (i = 0; i < n; i++) {
		if (!json_object_object_get_ex(obj, rules[i].name, &v)) {
			if (rules[i].required) {
				verr(err, rules[i].name, "%s is required.", rules[i].name);
				return BS_ERR_INVALID;
			}
			continue;
		}
		if (v == NULL) {
			verr(err, rules[i].name, "%s must not be null.", rules[i].name);
			return BS_ERR_INVALID;
		}
		if ((e = validate_field(v, &rules[i], &out[i], err)) != BS_OK)
			return e;
		out[i].present = true;
	}
	return BS_OK;
}

/* Trim and lower-case; one '@', a dot in the domain, no spaces or controls. */
bool
email_normalize(const char *in, char out[EMAIL_MAX_LEN + 1])
{
	const char	*end, *at;
	size_t		 len, i;

	while (isspace((unsigned char)*in))
		in++;
	end = in + strlen(in);
	while (end > in && isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - in);
	if (len < 3 || len > EMAIL_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)in[i] <= ' ' || in[i] == 0x7f)
			return false;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[len] = '\0';
	at = strchr(out, '@');
	if (at == NULL || at == out || strchr(at + 1, '@') != NULL ||
	    strchr(at + 1, '.') == NULL || at[1] == '.' || out[len - 1] == '.')
		return false;
	return true;
}
