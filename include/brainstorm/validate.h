/*
 * One way in for untrusted values. Request bodies and query parameters are
 * checked against a table of field rules, once, at the edge: unknown body
 * fields, wrong types and out-of-range values are refused with the name of
 * the field. Every number read from text goes through bs_strtonum.
 */
#ifndef BRAINSTORM_VALIDATE_H
#define BRAINSTORM_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/err.h"

enum field_type {
	FIELD_STRING,	/* min/max: length in characters */
	FIELD_INT,	/* min/max: value */
	FIELD_ENUM,	/* one of choices */
	FIELD_UUID,	/* a canonical textual UUID */
	/*
	 * A person's text, as FIELD_STRING and: no control characters but
	 * tabs and line breaks; with min 1, not only white space.
	 */
	FIELD_TEXT,
	/*
	 * A name or a title that others see: one line, no control
	 * characters, no bidirectional embeddings, overrides or isolates
	 * (which can make it read as another); not only white space.
	 */
	FIELD_LINE,
};

struct field_rule {
	const char		*name;
	enum field_type		 type;
	bool			 required;
	long			 min, max;
	const char *const	*choices;	/* FIELD_ENUM, NULL-terminated */
};

struct field_value {
	bool		 present;
	const char	*str;	/* FIELD_STRING, FIELD_ENUM, FIELD_UUID: owned
				   by the JSON object or the request */
	long		 num;	/* FIELD_INT */
};

#define VALIDATE_MSG_LEN	256

struct validate_error {
	char	field[64];
	char	message[VALIDATE_MSG_LEN];
};

/*
 * Check obj against rules (n rows); out[i] receives rule i's value.
 * BS_ERR_INVALID with err filled on the first problem.
 */
bs_err	validate_object(json_object *obj, const struct field_rule *rules,
	    size_t n, struct field_value *out, struct validate_error *err);
struct http_request;
/*
 * The same for the query string of req: unknown parameters are ignored
 * (caches and clients add their own), an empty string or id counts as
 * absent ("cursor=" is the first page), numbers are read by bs_strtonum.
 */
bs_err	validate_query(const struct http_request *req,
	    const struct field_rule *rules, size_t n, struct field_value *out,
	    struct validate_error *err);
/*
 * One string value v against r (FIELD_STRING, FIELD_TEXT or FIELD_LINE):
 * valid UTF-8 (the caller's to check), its length and r's type's rules.
 * BS_ERR_INVALID with err filled.
 */
bs_err	validate_string(const char *v, const struct field_rule *r,
	    struct validate_error *err);
/*
 * Text written before the rules of FIELD_TEXT and FIELD_LINE (an import of
 * an older export) made to follow them: control characters other than
 * tabs and line breaks go; for FIELD_LINE, tabs and line breaks become
 * spaces and bidirectional controls go. Whether s (len bytes) changes; if
 * so and out is not NULL, the text that follows the rules goes to out
 * (room for len + 1 bytes: it is never longer; NUL-terminated), its length
 * to *outlen. *blank: nothing but white space is left. A string that is not
 * valid UTF-8 is left alone (false, and not blank).
 */
bool	person_text_clean(const char *s, size_t len, enum field_type type,
	    char *out, size_t *outlen, bool *blank);
/* The display name of an account, in characters (API and brainstormctl). */
#define DISPLAY_NAME_MAX_CHARS	100
/*
 * OpenBSD strtonum(3), strict: the whole of s is an optional '-' and
 * decimal digits, in min..max. On failure 0, errno EINVAL or ERANGE, and
 * *errstr "invalid", "too small" or "too large"; NULL on success.
 */
long long bs_strtonum(const char *s, long long min, long long max,
	    const char **errstr);
/* The same for the len bytes at s (a number inside a longer text). */
long long bs_strntonum(const char *s, size_t len, long long min,
	    long long max, const char **errstr);
/* Number of characters (code points) in valid UTF-8. */
size_t	utf8_length(const char *s, size_t len);
#define EMAIL_MAX_LEN	254
/*
 * Trim and lower-case an email address into out; false unless it has one
 * '@', a dot in the domain and no spaces or control characters.
 */
bool	email_normalize(const char *in, char out[EMAIL_MAX_LEN + 1]);
/* True for a canonical textual UUID (8-4-4-4-12 hex digits). */
bool	uuid_valid(const char *s);

#endif
