#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/buf.h"
#include "brainstorm/json.h"
#include "brainstorm/validate.h"

/*
 * The JSON Schema subset the agent tools use, checked against what a model
 * sent. The schema is trusted and may be shared between threads, so it is
 * only read: no json_object_get/put, no json_object_to_json_string (which
 * caches its text inside the object). Recursion follows the schema, not the
 * value, and stops at SCHEMA_DEPTH_MAX levels.
 *
 * A value that breaks the schema is BS_ERR_INVALID; a schema outside the
 * subset (an unknown keyword, a malformed bound) is BS_ERR_INTERNAL, since
 * a constraint we cannot check must not pass silently.
 */

#define SCHEMA_DEPTH_MAX	32
#define PATH_LEN		256
#define KEY_SHOWN_MAX		40	/* bytes of a key shown in a path */
#define ENUM_LIST_LEN		200

struct walk {
	char	 path[PATH_LEN];	/* "changes[2].state", "" at the root */
	size_t	 pathlen;
	char	*err;
	size_t	 errlen;
};

/* Keywords understood; annotations (description, title) are ignored. */
static const char *const keywords[] = {
	"type", "properties", "required", "additionalProperties", "enum",
	"minimum", "maximum", "minLength", "maxLength", "items", "minItems",
	"maxItems", "description", "title",
};

static const struct {
	const char	*name;
	const char	*article;	/* for "must be ..." */
} type_names[] = {
	{ "object", "an object" },
	{ "array", "an array" },
	{ "string", "a string" },
	{ "integer", "an integer" },
	{ "number", "a number" },
	{ "boolean", "a boolean" },
	{ "null", "null" },
};

static void
walk_fail(struct walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "path: reason", the root path shown as "input". */
static void
walk_fail(struct walk *w, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (w->err == NULL || w->errlen == 0)
		return;
	n = snprintf(w->err, w->errlen, "%s: ",
	    w->pathlen > 0 ? w->path : "input");
	if (n < 0 || (size_t)n >= w->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static size_t
path_push_key(struct walk *w, const char *key)
{
	size_t	 old = w->pathlen, i;

	if (w->pathlen > 0 && w->pathlen < PATH_LEN - 1)
		w->path[w->pathlen++] = '.';
	/* Keys may come from the model: printable ASCII only, and short. */
	for (i = 0; key[i] != '\0' && i < KEY_SHOWN_MAX &&
	    w->pathlen < PATH_LEN - 1; i++)
		w->path[w->pathlen++] = (unsigned char)key[i] > ' ' &&
		    (unsigned char)key[i] < 0x7f ? key[i] : '?';
	w->path[w->pathlen] = '\0';
	return old;
}

static size_t
path_push_index(struct walk *w, size_t index)
{
	size_t	 old = w->pathlen;
	int	 n;

	n = snprintf(w->path + w->pathlen, PATH_LEN - w->pathlen, "[%zu]",
	    index);
	if (n < 0 || (size_t)n >= PATH_LEN - w->pathlen)
		w->pathlen = PATH_LEN - 1;
	else
		w->pathlen += (size_t)n;
	return old;
}

static void
path_pop(struct walk *w, size_t old)
{
	w->pathlen = old;
	w->path[old] = '\0';
}

static const char *
value_article(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return isfinite(json_object_get_double(v)) ? "a number" :
		    "a non-finite number";
	case json_type_boolean:
		return "a boolean";
	case json_type_null:
		return "null";
	}
	return "unknown";
}

static bool
value_is_type(json_object *v, const char *type)
{
	enum json_type	 t = json_object_get_type(v);

	if (strcmp(type, "object") == 0)
		return t == json_type_object;
	if (strcmp(type, "array") == 0)
		return t == json_type_array;
	if (strcmp(type, "string") == 0)
		return t == json_type_string;
	if (strcmp(type, "integer") == 0)
		return t == json_type_int;
	if (strcmp(type, "number") == 0)
		return t == json_type_int || (t == json_type_double &&
		    isfinite(json_object_get_double(v)));
	if (strcmp(type, "boolean") == 0)
		return t == json_type_boolean;
	return t == json_type_null;
}

static const char *
type_article(const char *type)
{
	size_t	 i;

	for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(type_names[i].name, type) == 0)
			return type_names[i].article;
	return NULL;
}

/* A non-negative integer keyword (minLength, maxItems, ...); -1 if absent. */
static bs_err
schema_count(json_object *schema, const char *kw, int64_t *out,
    struct walk *w)
{
	json_object	*v;

	*out = -1;
	if (!json_object_object_get_ex(schema, kw, &v))
		return BS_OK;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0) {
		walk_fail(w, "schema %s must be a non-negative integer", kw);
		return BS_ERR_INTERNAL;
	}
	*out = json_object_get_int64(v);
	return BS_OK;
}

static bs_err
check_type(json_object *schema, json_object *value, struct walk *w)
{
	json_object	*t, *e;
	char		 want[128];
	const char	*article;
	size_t		 i, n, used = 0;

	if (!json_object_object_get_ex(schema, "type", &t))
		return BS_OK;
	if (json_object_is_type(t, json_type_string)) {
		if ((article = type_article(json_object_get_string(t))) == NULL)
			goto bad;
		if (value_is_type(value, json_object_get_string(t)))
			return BS_OK;
		walk_fail(w, "must be %s, not %s", article,
		    value_article(value));
		return BS_ERR_INVALID;
	}
	if (!json_object_is_type(t, json_type_array) ||
	    (n = json_object_array_length(t)) == 0)
		goto bad;
	want[0] = '\0';
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(t, i);
		if (!json_object_is_type(e, json_type_string) ||
		    (article = type_article(json_object_get_string(e))) == NULL)
			goto bad;
		if (value_is_type(value, json_object_get_string(e)))
			return BS_OK;
		if (used < sizeof(want))
			used += (size_t)snprintf(want + used,
			    sizeof(want) - used, "%s%s", i == 0 ? "" : " or ",
			    article);
	}
	walk_fail(w, "must be %s, not %s", want, value_article(value));
	return BS_ERR_INVALID;
bad:
	walk_fail(w, "schema type must name JSON types");
	return BS_ERR_INTERNAL;
}

static bool
enum_equal(json_object *a, json_object *b)
{
	if (json_object_get_type(a) != json_object_get_type(b))
		return false;
	switch (json_object_get_type(a)) {
	case json_type_string:
		return json_object_get_string_len(a) ==
		    json_object_get_string_len(b) &&
		    memcmp(json_object_get_string(a), json_object_get_string(b),
		    (size_t)json_object_get_string_len(a)) == 0;
	case json_type_int:
		return json_object_get_int64(a) == json_object_get_int64(b);
	case json_type_double:
		return json_object_get_double(a) == json_object_get_double(b);
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_null:
		return true;
	default:
		return false;	/* no object or array enum values */
	}
}

/* "decided, exploring, parked", cut with "..." when long. */
static void
enum_list(json_object *values, char *out, size_t outlen)
{
	json_object	*e;
	size_t		 i, n, used = 0;
	int		 k;

	out[0] = '\0';
	n = json_object_array_length(values);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(values, i);
		switch (json_object_get_type(e)) {
		case json_type_string:
			k = snprintf(out + used, outlen - used, "%s%s",
			    i == 0 ? "" : ", ", json_object_get_string(e));
			break;
		case json_type_int:
			k = snprintf(out + used, outlen - used, "%s%" PRId64,
			    i == 0 ? "" : ", ", json_object_get_int64(e));
			break;
		case json_type_boolean:
			k = snprintf(out + used, outlen - used, "%s%s",
			    i == 0 ? "" : ", ",
			    json_object_get_boolean(e) ? "true" : "false");
			break;
		case json_type_null:
			k = snprintf(out + used, outlen - used, "%snull",
			    i == 0 ? "" : ", ");
			break;
		default:
			k = snprintf(out + used, outlen - used, "%s%g",
			    i == 0 ? "" : ", ", json_object_get_double(e));
			break;
		}
		if (k < 0 || (size_t)k >= outlen - used) {
			if (outlen > 4)
				memcpy(out + outlen - 4, "...", 4);
			return;
		}
		used += (size_t)k;
	}
}

static bs_err
check_enum(json_object *schema, json_object *value, struct walk *w)
{
	json_object	*values;
	char		 list[ENUM_LIST_LEN];
	size_t		 i, n;

	if (!json_object_object_get_ex(schema, "enum", &values))
		return BS_OK;
	if (!json_object_is_type(values, json_type_array) ||
	    (n = json_object_array_length(values)) == 0) {
		walk_fail(w, "schema enum must be a non-empty array");
		return BS_ERR_INTERNAL;
	}
	for (i = 0; i < n; i++)
		if (enum_equal(json_object_array_get_idx(values, i), value))
			return BS_OK;
	enum_list(values, list, sizeof(list));
	walk_fail(w, "must be one of %s", list);
	return BS_ERR_INVALID;
}

static bs_err
check_string(json_object *schema, json_object *value, struct walk *w)
{
	const char	*s = json_object_get_string(value);
	size_t		 len = (size_t)json_object_get_string_len(value);
	size_t		 chars;
	int64_t		 min, max;
	bs_err		 e;

	if ((e = schema_count(schema, "minLength", &min, w)) != BS_OK ||
	    (e = schema_count(schema, "maxLength", &max, w)) != BS_OK)
		return e;
	if (strlen(s) != len) {
		walk_fail(w, "must not contain NUL characters");
		return BS_ERR_INVALID;
	}
	if (!utf8_valid(s, len)) {
		walk_fail(w, "must be valid UTF-8");
		return BS_ERR_INVALID;
	}
	chars = utf8_length(s, len);
	if ((min >= 0 && (int64_t)chars < min) ||
	    (max >= 0 && (int64_t)chars > max)) {
		if (min == 1 && chars == 0)
			walk_fail(w, "must not be empty");
		else if (min >= 0 && max >= 0)
			walk_fail(w, "must be %" PRId64 " to %" PRId64
			    " characters long, not %zu", min, max, chars);
		else if (min >= 0)
			walk_fail(w, "must be at least %" PRId64
			    " characters long, not %zu", min, chars);
		else
			walk_fail(w, "must be at most %" PRId64
			    " characters long, not %zu", max, chars);
		return BS_ERR_INVALID;
	}
	return BS_OK;
}

/* Negative when value < bound, 0 when equal, positive when greater. */
static int
number_compare(json_object *value, json_object *bound)
{
	int64_t	 vi, bi;
	double	 vd, bd;

	if (json_object_is_type(value, json_type_int) &&
	    json_object_is_type(bound, json_type_int)) {
		vi = json_object_get_int64(value);
		bi = json_object_get_int64(bound);
		return vi < bi ? -1 : vi > bi;
	}
	vd = json_object_get_double(value);
	bd = json_object_get_double(bound);
	return vd < bd ? -1 : vd > bd;
}

static void
number_format(json_object *n, char *out, size_t outlen)
{
	if (json_object_is_type(n, json_type_int))
		snprintf(out, outlen, "%" PRId64, json_object_get_int64(n));
	else
		snprintf(out, outlen, "%g", json_object_get_double(n));
}

static bs_err
check_number(json_object *schema, json_object *value, struct walk *w)
{
	json_object	*min = NULL, *max = NULL;
	char		 lo[32], hi[32];

	if ((json_object_object_get_ex(schema, "minimum", &min) &&
	    !json_object_is_type(min, json_type_int) &&
	    !json_object_is_type(min, json_type_double)) ||
	    (json_object_object_get_ex(schema, "maximum", &max) &&
	    !json_object_is_type(max, json_type_int) &&
	    !json_object_is_type(max, json_type_double))) {
		walk_fail(w, "schema minimum and maximum must be numbers");
		return BS_ERR_INTERNAL;
	}
	if (json_object_is_type(value, json_type_double) &&
	    !isfinite(json_object_get_double(value))) {
		walk_fail(w, "must be a finite number");
		return BS_ERR_INVALID;
	}
	if ((min == NULL || number_compare(value, min) >= 0) &&
	    (max == NULL || number_compare(value, max) <= 0))
		return BS_OK;
	if (min != NULL)
		number_format(min, lo, sizeof(lo));
	if (max != NULL)
		number_format(max, hi, sizeof(hi));
	if (min != NULL && max != NULL)
		walk_fail(w, "must be from %s to %s", lo, hi);
	else if (min != NULL)
		walk_fail(w, "must be at least %s", lo);
	else
		walk_fail(w, "must be at most %s", hi);
	return BS_ERR_INVALID;
}

static bs_err	check_node(json_object *, json_object *, int,
		    struct walk *);

static bs_err
check_array(json_object *schema, json_object *value, int depth,
    struct walk *w)
{
	json_object	*items = NULL;
	size_t		 i, n = json_object_array_length(value), old;
	int64_t		 min, max;
	bs_err		 e;

	if ((e = schema_count(schema, "minItems", &min, w)) != BS_OK ||
	    (e = schema_count(schema, "maxItems", &max, w)) != BS_OK)
		return e;
	if (min >= 0 && (int64_t)n < min) {
		walk_fail(w, "must have at least %" PRId64 " items, not %zu",
		    min, n);
		return BS_ERR_INVALID;
	}
	if (max >= 0 && (int64_t)n > max) {
		walk_fail(w, "must have at most %" PRId64 " items, not %zu",
		    max, n);
		return BS_ERR_INVALID;
	}
	if (!json_object_object_get_ex(schema, "items", &items))
		return BS_OK;
	if (!json_object_is_type(items, json_type_object)) {
		walk_fail(w, "schema items must be one schema object");
		return BS_ERR_INTERNAL;
	}
	for (i = 0; i < n; i++) {
		old = path_push_index(w, i);
		e = check_node(items, json_object_array_get_idx(value, i),
		    depth + 1, w);
		path_pop(w, old);
		if (e != BS_OK)
			return e;
	}
	return BS_OK;
}

static bs_err
check_object(json_object *schema, json_object *value, int depth,
    struct walk *w)
{
	json_object	*props = NULL, *required = NULL, *extra = NULL;
	json_object	*name, *v;
	size_t		 i, n, old;
	bool		 closed = false;
	bs_err		 e;

	if ((json_object_object_get_ex(schema, "properties", &props) &&
	    !json_object_is_type(props, json_type_object)) ||
	    (json_object_object_get_ex(schema, "required", &required) &&
	    !json_object_is_type(required, json_type_array))) {
		walk_fail(w, "schema properties must be an object and "
		    "required an array");
		return BS_ERR_INTERNAL;
	}
	if (json_object_object_get_ex(schema, "additionalProperties", &extra)) {
		/* Only the boolean form: no schema for extra keys. */
		if (!json_object_is_type(extra, json_type_boolean)) {
			walk_fail(w, "schema additionalProperties must be a "
			    "boolean");
			return BS_ERR_INTERNAL;
		}
		closed = !json_object_get_boolean(extra);
	}

	if (closed) {
		json_object_object_foreach(value, key, val) {
			(void)val;
			if (props != NULL &&
			    json_object_object_get_ex(props, key, NULL))
				continue;
			old = path_push_key(w, key);
			walk_fail(w, "unknown property");
			path_pop(w, old);
			return BS_ERR_INVALID;
		}
	}

	n = required != NULL ? json_object_array_length(required) : 0;
	for (i = 0; i < n; i++) {
		name = json_object_array_get_idx(required, i);
		if (!json_object_is_type(name, json_type_string)) {
			walk_fail(w, "schema required must list names");
			return BS_ERR_INTERNAL;
		}
		if (json_object_object_get_ex(value,
		    json_object_get_string(name), NULL))
			continue;
		old = path_push_key(w, json_object_get_string(name));
		walk_fail(w, "is required");
		path_pop(w, old);
		return BS_ERR_INVALID;
	}

	if (props == NULL)
		return BS_OK;
	/* In the schema's order, so the first problem reported is stable. */
	json_object_object_foreach(props, pkey, psub) {
		if (!json_object_object_get_ex(value, pkey, &v))
			continue;
		old = path_push_key(w, pkey);
		e = check_node(psub, v, depth + 1, w);
		path_pop(w, old);
		if (e != BS_OK)
			return e;
	}
	return BS_OK;
}

static bs_err
check_node(json_object *schema, json_object *value, int depth,
    struct walk *w)
{
	size_t		 i;
	bool		 known;
	bs_err		 e;

	if (depth > SCHEMA_DEPTH_MAX) {
		walk_fail(w, "nested deeper than %d levels", SCHEMA_DEPTH_MAX);
		return BS_ERR_INVALID;
	}
	if (!json_object_is_type(schema, json_type_object)) {
		walk_fail(w, "schema must be an object");
		return BS_ERR_INTERNAL;
	}
	/* An unknown keyword would be a constraint silently not enforced. */
	json_object_object_foreach(schema, kw, kwval) {
		(void)kwval;
		known = false;
		for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
			if (strcmp(kw, keywords[i]) == 0)
				known = true;
		if (!known) {
			walk_fail(w, "schema keyword %.40s is not supported",
			    kw);
			return BS_ERR_INTERNAL;
		}
	}
	if ((e = check_type(schema, value, w)) != BS_OK ||
	    (e = check_enum(schema, value, w)) != BS_OK)
		return e;

	switch (json_object_get_type(value)) {
	case json_type_string:
		return check_string(schema, value, w);
	case json_type_int:
	case json_type_double:
		return check_number(schema, value, w);
	case json_type_array:
		return check_array(schema, value, depth, w);
	case json_type_object:
		return check_object(schema, value, depth, w);
	default:
		return BS_OK;
	}
}

bs_err
json_schema_validate(json_object *schema, json_object *value, char *err,
    size_t errlen)
{
	struct walk	 w;

	memset(&w, 0, sizeof(w));
	w.err = err;
	w.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (schema == NULL) {
		walk_fail(&w, "no schema");
		return BS_ERR_INTERNAL;
	}
	return check_node(schema, value, 0, &w);
}

/*
 * The structured-output subset (CLAUDE-API.md section 3, the official SDK's
 * transformJSONSchema): what the API enforces stays, what it does not take
 * is written into the description so the model still reads it, and
 * json_schema_validate checks all of it on the answer.
 */
static const char *const strict_formats[] = {
	"date-time", "time", "date", "duration", "email", "hostname", "uri",
	"ipv4", "ipv6", "uuid",
};

static json_object *strict_node(json_object *src, int depth);

/* Take key out of src into dst (owned by dst from now on). */
static bool
strict_move(json_object *src, json_object *dst, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(src, key, &v))
		return true;
	json_object_get(v);
	json_object_object_del(src, key);
	if (json_object_object_add(dst, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool
strict_format_known(const char *f)
{
	size_t	 i;

	for (i = 0; f != NULL && i < sizeof(strict_formats) /
	    sizeof(strict_formats[0]); i++)
		if (strcmp(f, strict_formats[i]) == 0)
			return true;
	return false;
}

/* Whatever is left in src goes into dst's description as {key: value, ...}. */
static bool
strict_describe_rest(json_object *src, json_object *dst)
{
	json_object	*d;
	struct buf	 b;
	const char	*old = NULL;
	bool		 first = true, ok;
	bs_err		 e = BS_OK;

	if (json_object_object_length(src) == 0)
		return true;
	buf_init(&b, 64 * 1024);
	if (json_object_object_get_ex(dst, "description", &d) &&
	    json_object_is_type(d, json_type_string))
		old = json_object_get_string(d);
	if (old != NULL)
		e = buf_printf(&b, "%s\n\n", old);
	if (e == BS_OK)
		e = buf_puts(&b, "{");
	json_object_object_foreach(src, key, val) {
		if (e != BS_OK)
			break;
		e = buf_printf(&b, "%s%s: %s", first ? "" : ", ", key,
		    json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		first = false;
	}
	if (e == BS_OK)
		e = buf_puts(&b, "}");
	ok = e == BS_OK && json_object_object_add(dst, "description",
	    json_object_new_string(buf_cstr(&b))) == 0;
	buf_free(&b);
	return ok;
}

/* src is a private copy: it is emptied as its keywords move to the result. */
static json_object *
strict_node(json_object *src, int depth)
{
	json_object	*dst, *type = NULL, *props, *nprops, *v;
	const char	*t = NULL;
	bool		 literals, ok = true;

	if (depth > SCHEMA_DEPTH_MAX || !json_object_is_type(src,
	    json_type_object) || (dst = json_object_new_object()) == NULL)
		return NULL;
	literals = json_object_object_get_ex(src, "enum", NULL) ||
	    json_object_object_get_ex(src, "const", NULL);
	ok = strict_move(src, dst, "enum") && strict_move(src, dst, "const");
	if (json_object_object_get_ex(src, "type", &type)) {
		/* Which type, read before the keyword may be freed. */
		if (json_object_is_type(type, json_type_string))
			t = strcmp(json_object_get_string(type), "object") == 0 ?
			    "object" : strcmp(json_object_get_string(type),
			    "array") == 0 ? "array" : strcmp(json_object_get_string(
			    type), "string") == 0 ? "string" : "other";
		if (!literals && !strict_move(src, dst, "type"))
			ok = false;
		else if (literals)
			json_object_object_del(src, "type");
	}
	ok = ok && strict_move(src, dst, "description") &&
	    strict_move(src, dst, "title");
	if (ok && t != NULL && strcmp(t, "object") == 0) {
		if ((nprops = json_object_new_object()) == NULL ||
		    json_object_object_add(dst, "properties", nprops) != 0)
			ok = false;
		if (ok && json_object_object_get_ex(src, "properties", &props)) {
			json_object_object_foreach(props, key, sub) {
				if ((v = strict_node(sub, depth + 1)) == NULL ||
				    json_object_object_add(nprops, key, v) != 0) {
					json_object_put(v);
					ok = false;
					break;
				}
			}
		}
		json_object_object_del(src, "properties");
		json_object_object_del(src, "additionalProperties");
		ok = ok && json_object_object_add(dst, "additionalProperties",
		    json_object_new_boolean(0)) == 0 &&
		    strict_move(src, dst, "required");
	} else if (ok && t != NULL && strcmp(t, "string") == 0 &&
	    json_object_object_get_ex(src, "format", &v) &&
	    strict_format_known(json_object_get_string(v)))
		ok = strict_move(src, dst, "format");
	else if (ok && t != NULL && strcmp(t, "array") == 0) {
		if (json_object_object_get_ex(src, "items", &v)) {
			json_object *items = strict_node(v, depth + 1);

			json_object_object_del(src, "items");
			ok = items != NULL && json_object_object_add(dst,
			    "items", items) == 0;
		}
		if (ok && json_object_object_get_ex(src, "minItems", &v) &&
		    json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= 1)
			ok = strict_move(src, dst, "minItems");
	}
	if (ok)
		ok = strict_describe_rest(src, dst);
	if (!ok) {
		json_object_put(dst);
		return NULL;
	}
	return dst;
}

json_object *
json_schema_to_strict(json_object *schema, const char *title)
{
	json_object	*copy = NULL, *out;

	if (schema == NULL || json_object_deep_copy(schema, &copy, NULL) != 0)
		return NULL;
	out = strict_node(copy, 0);
	json_object_put(copy);
	if (out != NULL && title != NULL && json_object_object_add(out,
	    "title", json_object_new_string(title)) != 0) {
		json_object_put(out);
		out = NULL;
	}
	return out;
}
