#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/json.h"

bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, n, k;
	unsigned int		 cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return false;
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * What json-c lets through but RFC 8259 forbids: a single-quoted string,
 * and a raw control character (U+0000..U+001F) inside a string. NULL when
 * the text is clean, else the reason.
 */
static const char *
json_lexical_problem(const char *text, size_t len, size_t *at)
{
	bool	 in_string = false;
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if ((unsigned char)text[i] < 0x20) {
				*at = i;
				return "a control character must be escaped "
				    "inside a string";
			}
			if (text[i] == '\\')
				i++;
			else if (text[i] == '"')
				in_string = false;
		} else if (text[i] == '"')
			in_string = true;
		else if (text[i] == '\'') {
			*at = i;
			return "single-quoted strings are not JSON";
		}
	}
	return NULL;
}

const char *
json_member_string(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long
json_member_int(json_object *o, const char *key, long def)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return def;
	return (long)json_object_get_int64(v);
}

json_object *
json_member_array(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

json_object *
json_member_object(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

bool
json_add(json_object *obj, const char *key, json_object *v)
{
	if (v == NULL)
		return false;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

bool
json_push(json_object *arr, json_object *v)
{
	if (v == NULL)
		return false;
	if (json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

size_t
utf8_prefix(const char *s, size_t max)
{
	size_t	 n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	/* s[max] is the first byte left out: never a continuation of the kept part. */
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
utf8_trim(char *s)
{
	size_t	 len = strlen(s), start = len, need;
	unsigned char c;

	/* Back to the lead byte of the last character, at most 3 steps. */
	while (start > 0 && len - start < 4 &&
	    ((unsigned char)s[start - 1] & 0xc0) == 0x80)
		start--;
	if (start == 0)
		return;
	c = (unsigned char)s[start - 1];
	if (c < 0x80)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (len - (start - 1) < need)
		s[start - 1] = '\0';
}

bs_err
json_parse_limited(const char *text, size_t len, int max_depth,
    json_object **out, char *reason, size_t reasonlen)
{
	json_tokener		*tok = NULL;
	json_object		*obj = NULL;
	enum json_tokener_error	 jerr;
	const char		*problem;
	bs_err			 e = BS_ERR_INVALID;
	size_t			 off;

	*out = NULL;
	if (len > INT32_MAX) {
		snprintf(reason, reasonlen, "document too large");
		e = BS_ERR_TOO_LARGE;
		goto out;
	}
	if (!utf8_valid(text, len)) {
		snprintf(reason, reasonlen, "body is not valid UTF-8");
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(reason, reasonlen, "body contains a NUL byte");
		goto out;
	}
	if ((problem = json_lexical_problem(text, len, &off)) != NULL) {
		snprintf(reason, reasonlen, "%s (offset %zu)", problem, off);
		goto out;
	}
	if ((tok = json_tokener_new_ex(max_depth)) == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		e = BS_ERR_NOMEM;
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		snprintf(reason, reasonlen, "unexpected end of JSON");
		goto out;
	}
	if (jerr != json_tokener_success) {
		snprintf(reason, reasonlen, "%s at offset %zu",
		    json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		goto out;
	}
	/* Only whitespace may follow the value. */
	for (off = json_tokener_get_parse_end(tok); off < len; off++) {
		if (strchr(" \t\r\n", text[off]) == NULL) {
			snprintf(reason, reasonlen,
			    "unexpected data after the JSON value at offset %zu", off);
			goto out;
		}
	}
	*out = obj;
	obj = NULL;
	e = BS_OK;
out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return e;
}
