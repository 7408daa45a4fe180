#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "brainstorm/http.h"
#include "brainstorm/json.h"
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

long long
bs_strntonum(const char *s, size_t len, long long min, long long max,
    const char **errstr)
{
	unsigned long long	 limit, v = 0, d;
	long long		 n;
	size_t			 i = 0;
	bool			 neg;

	*errstr = "invalid";
	errno = EINVAL;
	if (s == NULL || min > max)
		return 0;
	neg = len > 0 && s[0] == '-';
	if (neg)
		i++;
	if (i == len)
		return 0;
	/* LLONG_MAX + 1 is the magnitude of LLONG_MIN. */
	limit = (unsigned long long)LLONG_MAX + (neg ? 1 : 0);
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		d = (unsigned long long)(s[i] - '0');
		if (v > (limit - d) / 10) {
			*errstr = neg ? "too small" : "too large";
			errno = ERANGE;
			return 0;
		}
		v = v * 10 + d;
	}
	if (!neg)
		n = (long long)v;
	else if (v > (unsigned long long)LLONG_MAX)
		n = LLONG_MIN;
	else
		n = -(long long)v;
	if (n < min || n > max) {
		*errstr = n < min ? "too small" : "too large";
		errno = ERANGE;
		return 0;
	}
	*errstr = NULL;
	errno = 0;
	return n;
}

long long
bs_strtonum(const char *s, long long min, long long max, const char **errstr)
{
	return bs_strntonum(s, s != NULL ? strlen(s) : 0, min, max, errstr);
}

static void
verr(struct validate_error *err, const char *field, const char *fmt, ...)
{
	va_list	 ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

/* The code point at s (valid UTF-8, as the JSON parser leaves it); *n: its bytes. */
static unsigned long
utf8_next(const unsigned char *s, size_t *n)
{
	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	}
	if (s[0] < 0xe0) {
		*n = 2;
		return ((unsigned long)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	}
	if (s[0] < 0xf0) {
		*n = 3;
		return ((unsigned long)(s[0] & 0x0f) << 12) |
		    ((unsigned long)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	}
	*n = 4;
	return ((unsigned long)(s[0] & 0x07) << 18) |
	    ((unsigned long)(s[1] & 0x3f) << 12) |
	    ((unsigned long)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

static bool
space_char(unsigned long c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 ||
	    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200b) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	    c == 0x3000 || c == 0xfeff;
}

static bool
control_char(unsigned long c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

static bool
bidi_control(unsigned long c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/*
 * What the rules of FIELD_LINE (line) or FIELD_TEXT do to the character c:
 * an import drops or replaces a character that is not CLEAN_KEEP, and the
 * API refuses a text that holds one (person_text_check).
 */
enum clean_action { CLEAN_KEEP, CLEAN_DROP, CLEAN_SPACE };

static enum clean_action
clean_action(unsigned long c, bool line)
{
	if (line && bidi_control(c))
		return CLEAN_DROP;
	if (!control_char(c))
		return CLEAN_KEEP;
	if (line)
		return CLEAN_SPACE;
	return c == '\t' || c == '\n' || c == '\r' ? CLEAN_KEEP : CLEAN_DROP;
}

bool
person_text_clean(const char *s, size_t len, enum field_type type, char *out,
    size_t *outlen, bool *blank)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long	 c;
	size_t		 i, n, o = 0;
	bool		 line = type == FIELD_LINE, changed = false, checked = false;
	enum clean_action a;

	*blank = true;
	for (i = 0; i < len; i += n) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {	/* most of any text */
			n = 1;
			if (p[i] != ' ')
				*blank = false;
			if (out != NULL)
				out[o++] = (char)p[i];
			continue;
		}
		if (p[i] >= 0x80 && !checked) {
			if (!utf8_valid(s, len)) {
				*blank = false;
				return false;	/* not text: left alone */
			}
			checked = true;
		}
		c = utf8_next(p + i, &n);
		a = clean_action(c, line);
		if (a != CLEAN_KEEP)
			changed = true;
		if (a == CLEAN_DROP)
			continue;
		if (a == CLEAN_KEEP && !space_char(c))
			*blank = false;
		if (out != NULL) {
			if (a == CLEAN_SPACE)
				out[o++] = ' ';
			else {
				memcpy(out + o, p + i, n);
				o += n;
			}
		}
	}
	if (out != NULL) {
		out[o] = '\0';
		*outlen = o;
	}
	return changed;
}

/*
 * The rules FIELD_TEXT and FIELD_LINE add to a string's (s: len bytes of
 * valid UTF-8 of the right length): the API refuses what an import would
 * clean.
 */
static bs_err
person_text_check(const char *s, size_t len, const struct field_rule *r,
    struct validate_error *err)
{
	bool	 blank, line = r->type == FIELD_LINE;

	if (person_text_clean(s, len, r->type, NULL, NULL, &blank)) {
		if (line)
			verr(err, r->name, "%s must be one line, without control "
			    "characters or direction overrides.", r->name);
		else
			verr(err, r->name, "%s must not hold control characters "
			    "other than tabs and line breaks.", r->name);
		return BS_ERR_INVALID;
	}
	if (blank && len > 0 && (line || r->min > 0)) {
		verr(err, r->name, "%s must not be blank.", r->name);
		return BS_ERR_INVALID;
	}
	return BS_OK;
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
	case FIELD_TEXT:
	case FIELD_LINE:
	case FIELD_ENUM:
	case FIELD_UUID:
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
		if (r->type == FIELD_UUID) {
			if (uuid_valid(s))
				return BS_OK;
			verr(err, r->name, "%s must be an id.", r->name);
			return BS_ERR_INVALID;
		}
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
		if (r->type == FIELD_TEXT || r->type == FIELD_LINE)
			return person_text_check(s, len, r, err);
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

/* "a, b or c" of a NULL-terminated list, cut to fit. */
static void
choices_text(const char *const *choices, char *out, size_t outlen)
{
	size_t	 i, used = 0;
	int	 n;

	out[0] = '\0';
	for (i = 0; choices[i] != NULL && used < outlen; i++) {
		n = snprintf(out + used, outlen - used, "%s%s",
		    i == 0 ? "" : choices[i + 1] == NULL ? " or " : ", ",
		    choices[i]);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

static bs_err
validate_query_value(const char *v, const struct field_rule *r,
    struct field_value *out, struct validate_error *err)
{
	const char	*errstr;
	char		 list[160];
	size_t		 chars, i;

	switch (r->type) {
	case FIELD_INT:
		out->num = (long)bs_strtonum(v, r->min, r->max, &errstr);
		if (errstr == NULL)
			return BS_OK;
		verr(err, r->name, "%s must be a whole number from %ld to %ld.",
		    r->name, r->min, r->max);
		return BS_ERR_INVALID;
	case FIELD_ENUM:
		out->str = v;
		for (i = 0; r->choices[i] != NULL; i++)
			if (strcmp(v, r->choices[i]) == 0)
				return BS_OK;
		choices_text(r->choices, list, sizeof(list));
		verr(err, r->name, "%s must be %s.", r->name, list);
		return BS_ERR_INVALID;
	case FIELD_UUID:
		out->str = v;
		if (uuid_valid(v))
			return BS_OK;
		verr(err, r->name, "%s must be an id.", r->name);
		return BS_ERR_INVALID;
	case FIELD_STRING:
	case FIELD_TEXT:
	case FIELD_LINE:
		out->str = v;
		chars = utf8_length(v, strlen(v));
		if ((long)chars < r->min || (long)chars > r->max) {
			verr(err, r->name, "%s must be %ld to %ld characters "
			    "long.", r->name, r->min, r->max);
			return BS_ERR_INVALID;
		}
		if (r->type != FIELD_STRING)
			return person_text_check(v, strlen(v), r, err);
		return BS_OK;
	}
	return BS_ERR_INTERNAL;
}

bs_err
validate_string(const char *v, const struct field_rule *r,
    struct validate_error *err)
{
	struct field_value	 out;

	if (r->type != FIELD_STRING && r->type != FIELD_TEXT &&
	    r->type != FIELD_LINE)
		return BS_ERR_INTERNAL;
	return validate_query_value(v, r, &out, err);
}

bs_err
validate_query(const struct http_request *req, const struct field_rule *rules,
    size_t n, struct field_value *out, struct validate_error *err)
{
	const char	*v;
	size_t		 i;
	bs_err		 e;

	memset(out, 0, n * sizeof(*out));
	for (i = 0; i < n; i++) {
		v = http_query_get(req, rules[i].name);
		if (v != NULL && *v == '\0' && rules[i].type != FIELD_INT &&
		    rules[i].type != FIELD_ENUM)
			v = NULL;
		if (v == NULL) {
			if (rules[i].required) {
				verr(err, rules[i].name, "%s is required.",
				    rules[i].name);
				return BS_ERR_INVALID;
			}
			continue;
		}
		if ((e = validate_query_value(v, &rules[i], &out[i], err)) != BS_OK)
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
