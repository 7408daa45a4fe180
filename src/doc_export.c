/*
 * The export format: its field rules (one table per kind of object, as
 * validate.c does for request bodies), the references between its parts,
 * and its rendering as Markdown.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/agent.h"
#include "brainstorm/doc_export.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/json.h"
#include "brainstorm/validate.h"

#define INT_MAX_DB	2147483647L
#define WHERE_MAX	320	/* a path while it is built; cut to the caller's size */

enum xf_type { XF_STRING, XF_INT, XF_ENUM, XF_UUID, XF_TIME, XF_ARRAY,
    XF_OBJECT };

#define XF_REQUIRED	0x1
#define XF_NULLABLE	0x2
/*
 * Text people wrote, made to follow the API's rules (FIELD_LINE and
 * FIELD_TEXT) as it is checked: an export made before them still imports,
 * and a name does not bring in what the API refuses.
 */
#define XF_LINE		0x4
#define XF_TEXT		0x8

/* One field of an object of the format. */
struct xfield {
	const char		*name;
	enum xf_type		 type;
	unsigned		 flags;
	long			 min, max;	/* characters or value */
	const char *const	*choices;	/* XF_ENUM */
};

static const char *const formats[] = { EXPORT_FORMAT, NULL };
static const char *const statuses[] = { "active", "archived", NULL };
static const char *const states[] = { "decided", "exploring", "parked",
    "rejected", NULL };
static const char *const actions[] = { "created", "updated", "moved",
    "deleted", NULL };
static const char *const roles[] = { "user", "assistant", "system", NULL };
static const char *const turn_statuses[] = { "pending", "running", "done",
    "failed", NULL };
static const char *const intents[] = { "brainstorming", "deciding",
    "modifying", "exploring", "parking", "reviewing", "development",
    "general", NULL };

static const struct xfield root_fields[] = {
	{ "format", XF_ENUM, XF_REQUIRED, 0, 0, formats },
	{ "format_version", XF_INT, XF_REQUIRED, EXPORT_FORMAT_VERSION,
	  EXPORT_FORMAT_VERSION, NULL },
	{ "exported_at", XF_TIME, XF_NULLABLE, 0, 0, NULL },
	{ "project", XF_OBJECT, XF_REQUIRED, 0, 0, NULL },
	{ "items", XF_ARRAY, 0, 0, 0, NULL },
	{ "deleted_items", XF_ARRAY, 0, 0, 0, NULL },
	{ "messages", XF_ARRAY, 0, 0, 0, NULL },
	{ "turns", XF_ARRAY, 0, 0, 0, NULL },
	{ "documents", XF_ARRAY, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield project_fields[] = {
	{ "id", XF_UUID, 0, 0, 0, NULL },
	{ "title", XF_STRING, XF_REQUIRED | XF_LINE, 1, 255, NULL },
	{ "description", XF_STRING, XF_TEXT, 0, 10000, NULL },
	{ "status", XF_ENUM, 0, 0, 0, statuses },
	{ "created_at", XF_TIME, 0, 0, 0, NULL },
	{ "updated_at", XF_TIME, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield item_fields[] = {
	{ "id", XF_UUID, XF_REQUIRED, 0, 0, NULL },
	{ "text", XF_STRING, XF_REQUIRED | XF_TEXT, 1, 2000, NULL },
	{ "state", XF_ENUM, XF_REQUIRED, 0, 0, states },
	{ "confidence", XF_INT, 0, 0, 100, NULL },
	{ "user_quote", XF_STRING, XF_TEXT, 0, 2000, NULL },
	{ "source_message_id", XF_UUID, XF_NULLABLE, 0, 0, NULL },
	{ "created_by", XF_STRING, 0, 1, 64, NULL },
	{ "position", XF_INT, 0, 0, INT_MAX_DB, NULL },
	{ "created_at", XF_TIME, 0, 0, 0, NULL },
	{ "updated_at", XF_TIME, 0, 0, 0, NULL },
	{ "events", XF_ARRAY, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield deleted_item_fields[] = {
	{ "id", XF_UUID, XF_REQUIRED, 0, 0, NULL },
	{ "events", XF_ARRAY, XF_REQUIRED, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield event_fields[] = {
	{ "id", XF_INT, XF_REQUIRED, 1, 9007199254740991L, NULL },
	{ "action", XF_ENUM, XF_REQUIRED, 0, 0, actions },
	{ "from_state", XF_ENUM, XF_NULLABLE, 0, 0, states },
	{ "to_state", XF_ENUM, XF_NULLABLE, 0, 0, states },
	{ "old_text", XF_STRING, XF_NULLABLE | XF_TEXT, 0, 2000, NULL },
	{ "new_text", XF_STRING, XF_NULLABLE | XF_TEXT, 0, 2000, NULL },
	{ "actor", XF_STRING, XF_REQUIRED, 1, 64, NULL },
	{ "reason", XF_STRING, XF_TEXT, 0, 2000, NULL },
	{ "turn_id", XF_UUID, XF_NULLABLE, 0, 0, NULL },
	{ "message_id", XF_UUID, XF_NULLABLE, 0, 0, NULL },
	{ "created_at", XF_TIME, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield message_fields[] = {
	{ "id", XF_UUID, XF_REQUIRED, 0, 0, NULL },
	{ "role", XF_ENUM, XF_REQUIRED, 0, 0, roles },
	{ "agent", XF_STRING, XF_NULLABLE, 1, 64, NULL },
	{ "content", XF_STRING, XF_REQUIRED | XF_TEXT, 0, 100000, NULL },
	{ "turn_id", XF_UUID, XF_NULLABLE, 0, 0, NULL },
	{ "created_at", XF_TIME, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield turn_fields[] = {
	{ "id", XF_UUID, XF_REQUIRED, 0, 0, NULL },
	{ "user_message_id", XF_UUID, XF_REQUIRED, 0, 0, NULL },
	{ "intent", XF_ENUM, XF_NULLABLE, 0, 0, intents },
	{ "confidence", XF_INT, XF_NULLABLE, 0, 100, NULL },
	{ "status", XF_ENUM, XF_REQUIRED, 0, 0, turn_statuses },
	{ "error", XF_STRING, XF_NULLABLE, 0, 10000, NULL },
	{ "started_at", XF_TIME, 0, 0, 0, NULL },
	{ "finished_at", XF_TIME, XF_NULLABLE, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield document_fields[] = {
	{ "kind", XF_ENUM, XF_REQUIRED, 0, 0, doc_kind_names },
	{ "versions", XF_ARRAY, XF_REQUIRED, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct xfield version_fields[] = {
	{ "version", XF_INT, XF_REQUIRED, 1, 1000000, NULL },
	{ "title", XF_STRING, XF_REQUIRED | XF_LINE, 1, 200, NULL },
	{ "markdown", XF_STRING, XF_REQUIRED, 0, 1000000, NULL },
	{ "item_event_id", XF_INT, XF_NULLABLE, 1, 9007199254740991L, NULL },
	{ "message_id", XF_UUID, XF_NULLABLE, 0, 0, NULL },
	{ "model", XF_STRING, XF_REQUIRED, 1, 128, NULL },
	{ "input_tokens", XF_INT, 0, 0, INT_MAX_DB, NULL },
	{ "output_tokens", XF_INT, 0, 0, INT_MAX_DB, NULL },
	{ "created_at", XF_TIME, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* Where the check is, and what it found first. */
struct xcheck {
	char	*path;
	size_t	 pathlen;
	char	*why;
	size_t	 whylen;
	/* Ids seen, as sets (key -> index): for uniqueness and references. */
	json_object *items, *messages, *turns, *events;
};

static bs_err
fail(struct xcheck *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bs_err
fail(struct xcheck *x, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(x->why, x->whylen, fmt, ap);
	va_end(ap);
	return BS_ERR_INVALID;
}

/*
 * A path into a buffer, cut when too long (a path only names a place in
 * the file; a cut one still points the way).
 */
static void
where_fmt(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
where_fmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* path = base + suffix; base may be path itself (appending). */
static void
path_set(struct xcheck *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
path_set(struct xcheck *x, const char *fmt, ...)
{
	char	 tmp[WHERE_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	snprintf(x->path, x->pathlen, "%s", tmp);
}

static bool
is_digits(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int
num(const char *s, size_t n)
{
	int	 v = 0;
	size_t	 i;

	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

bool
export_time_valid(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	 year, month, day, leap;
	size_t	 i;

	if (s == NULL || strlen(s) < 20 || !is_digits(s, 4) || s[4] != '-' ||
	    !is_digits(s + 5, 2) || s[7] != '-' || !is_digits(s + 8, 2) ||
	    (s[10] != 'T' && s[10] != 't') || !is_digits(s + 11, 2) ||
	    s[13] != ':' || !is_digits(s + 14, 2) || s[16] != ':' ||
	    !is_digits(s + 17, 2))
		return false;
	year = num(s, 4);
	month = num(s + 5, 2);
	day = num(s + 8, 2);
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
	    day > mdays[month - 1] || (month == 2 && day == 29 && !leap) ||
	    num(s + 11, 2) > 23 || num(s + 14, 2) > 59 || num(s + 17, 2) > 59)
		return false;
	i = 19;
	if (s[i] == '.') {
		for (i++; i < 27 && isdigit((unsigned char)s[i]); i++)
			;
		if (i == 20 || isdigit((unsigned char)s[i]))
			return false;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		return true;
	return (s[i] == '+' || s[i] == '-') && is_digits(s + i + 1, 2) &&
	    s[i + 3] == ':' && is_digits(s + i + 4, 2) && s[i + 6] == '\0' &&
	    num(s + i + 1, 2) <= 23 && num(s + i + 4, 2) <= 59;
}

static bool
choice_ok(const char *const *choices, const char *s)
{
	size_t	 i;

	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], s) == 0)
			return true;
	return false;
}

/*
 * A string of a person's text (XF_LINE or XF_TEXT) v made to follow the
 * API's rules, in the tree.
 */
static bs_err
person_text_follow(struct xcheck *x, const struct xfield *f, json_object *v)
{
	const char	*s = json_object_get_string(v);
	size_t		 len = (size_t)json_object_get_string_len(v), n;
	enum field_type	 type = (f->flags & XF_LINE) ? FIELD_LINE : FIELD_TEXT;
	char		*clean;
	bool		 blank;
	bs_err		 e = BS_OK;

	if (!person_text_clean(s, len, type, NULL, NULL, &blank))
		return blank && type == FIELD_LINE ?
		    fail(x, "%s must not be blank.", f->name) : BS_OK;
	if ((clean = malloc(len + 1)) == NULL)
		return fail(x, "%s could not be checked: out of memory.",
		    f->name);
	(void)person_text_clean(s, len, type, clean, &n, &blank);
	if (blank && type == FIELD_LINE)
		e = fail(x, "%s must not be blank.", f->name);
	else if (json_object_set_string_len(v, clean, (int)n) != 1)
		e = fail(x, "%s could not be checked: out of memory.", f->name);
	free(clean);
	return e;
}

/* One value against its rule; path already names it. */
static bs_err
field_check(struct xcheck *x, const struct xfield *f, json_object *v)
{
	const char	*s;
	int64_t		 n;
	size_t		 len;

	if (v == NULL)
		return (f->flags & XF_NULLABLE) ? BS_OK :
		    fail(x, "%s may not be null.", f->name);
	switch (f->type) {
	case XF_INT:
		if (!json_object_is_type(v, json_type_int))
			return fail(x, "%s must be a whole number.", f->name);
		n = json_object_get_int64(v);
		if (n < f->min || n > f->max)
			return fail(x, "%s must be from %ld to %ld.", f->name,
			    f->min, f->max);
		return BS_OK;
	case XF_ARRAY:
		return json_object_is_type(v, json_type_array) ? BS_OK :
		    fail(x, "%s must be an array.", f->name);
	case XF_OBJECT:
		return json_object_is_type(v, json_type_object) ? BS_OK :
		    fail(x, "%s must be an object.", f->name);
	default:
		break;
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(x, "%s must be a string.", f->name);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return fail(x, "%s may not contain a NUL character.", f->name);
	switch (f->type) {
	case XF_STRING:
		if ((f->flags & (XF_LINE | XF_TEXT)) != 0) {
			if (person_text_follow(x, f, v) != BS_OK)
				return BS_ERR_INVALID;
			s = json_object_get_string(v);
			len = (size_t)json_object_get_string_len(v);
		}
		len = utf8_length(s, len);
		if ((long)len < f->min || (long)len > f->max)
			return fail(x, "%s must be %ld to %ld characters long.",
			    f->name, f->min, f->max);
		return BS_OK;
	case XF_ENUM:
		return choice_ok(f->choices, s) ? BS_OK :
		    fail(x, "%s has a value that is not allowed.", f->name);
	case XF_UUID:
		return uuid_valid(s) ? BS_OK :
		    fail(x, "%s must be a UUID.", f->name);
	case XF_TIME:
		return export_time_valid(s) ? BS_OK : fail(x, "%s must be an "
		    "RFC 3339 time such as 2026-12-04T10:00:00.000Z.", f->name);
	default:
		return fail(x, "%s cannot be checked.", f->name);
	}
}

/*
 * obj (at base) against its fields: unknown fields, missing required
 * ones, each value. path ends at the failing field.
 */
static bs_err
object_check(struct xcheck *x, const char *base, json_object *obj,
    const struct xfield *fields)
{
	const struct xfield *f;
	json_object	*v;
	bs_err		 e;

	path_set(x, "%s", base);
	if (!json_object_is_type(obj, json_type_object))
		return fail(x, "This must be an object.");
	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (f = fields; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL) {
			path_set(x, "%s%s%.60s", base, *base ? "." : "", key);
			return fail(x, "This field is not part of the format.");
		}
	}
	for (f = fields; f->name != NULL; f++) {
		path_set(x, "%s%s%s", base, *base ? "." : "", f->name);
		if (!json_object_object_get_ex(obj, f->name, &v)) {
			if (f->flags & XF_REQUIRED)
				return fail(x, "%s is required.", f->name);
			continue;
		}
		if ((e = field_check(x, f, v)) != BS_OK)
			return e;
	}
	path_set(x, "%s", base);
	return BS_OK;
}

static json_object *
member(json_object *o, const char *key)
{
	json_object	*v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *
mstr(json_object *o, const char *key)
{
	json_object	*v = member(o, key);

	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static size_t
alen(json_object *a)
{
	return a != NULL && json_object_is_type(a, json_type_array) ?
	    json_object_array_length(a) : 0;
}

/* Record id in set; a second sighting is the problem. */
static bs_err
id_add(struct xcheck *x, json_object *set, const char *where,
    const char *key)
{
	char	 lower[64];
	size_t	 i;

	for (i = 0; key[i] != '\0' && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)key[i]);
	lower[i] = '\0';
	if (json_object_object_get_ex(set, lower, NULL)) {
		path_set(x, "%s", where);
		return fail(x, "This id appears twice in the file.");
	}
	json_object_object_add(set, lower, NULL);
	return BS_OK;
}

/* Does set hold the id v names (null always does)? */
static bool
ref_ok(json_object *set, json_object *v)
{
	char		 key[64];
	const char	*s;
	size_t		 i;

	if (v == NULL)
		return true;
	if (json_object_is_type(v, json_type_int)) {
		snprintf(key, sizeof(key), "%lld",
		    (long long)json_object_get_int64(v));
		return json_object_object_get_ex(set, key, NULL);
	}
	s = json_object_get_string(v);
	for (i = 0; s[i] != '\0' && i + 1 < sizeof(key); i++)
		key[i] = (char)tolower((unsigned char)s[i]);
	key[i] = '\0';
	return json_object_object_get_ex(set, key, NULL);
}

static bs_err
ref_check(struct xcheck *x, json_object *obj, const char *base,
    const char *field, json_object *set, const char *what)
{
	if (ref_ok(set, member(obj, field)))
		return BS_OK;
	path_set(x, "%s.%s", base, field);
	return fail(x, "%s names no %s of this file.", field, what);
}

static bs_err
events_check(struct xcheck *x, const char *base, json_object *events)
{
	json_object	*ev;
	char		 where[WHERE_MAX], key[32];
	size_t		 i;
	bs_err		 e;

	for (i = 0; i < alen(events); i++) {
		ev = json_object_array_get_idx(events, i);
		where_fmt(where, sizeof(where), "%s.events[%zu]", base, i);
		if ((e = object_check(x, where, ev, event_fields)) != BS_OK)
			return e;
		snprintf(key, sizeof(key), "%lld",
		    (long long)json_object_get_int64(member(ev, "id")));
		where_fmt(where, sizeof(where), "%s.events[%zu].id", base, i);
		if ((e = id_add(x, x->events, where, key)) != BS_OK)
			return e;
	}
	return BS_OK;
}

/* Shapes and ids first, so references can be checked in any order. */
static bs_err
shapes_check(struct xcheck *x, json_object *doc)
{
	json_object	*o;
	char		 where[WHERE_MAX];
	size_t		 i, k;
	bs_err		 e;

	if ((e = object_check(x, "", doc, root_fields)) != BS_OK)
		return e;
	if ((e = object_check(x, "project", member(doc, "project"),
	    project_fields)) != BS_OK)
		return e;
	for (i = 0; i < alen(member(doc, "messages")); i++) {
		o = json_object_array_get_idx(member(doc, "messages"), i);
		where_fmt(where, sizeof(where), "messages[%zu]", i);
		if ((e = object_check(x, where, o, message_fields)) != BS_OK)
			return e;
		where_fmt(where, sizeof(where), "messages[%zu].id", i);
		if ((e = id_add(x, x->messages, where, mstr(o, "id"))) != BS_OK)
			return e;
	}
	for (i = 0; i < alen(member(doc, "turns")); i++) {
		o = json_object_array_get_idx(member(doc, "turns"), i);
		where_fmt(where, sizeof(where), "turns[%zu]", i);
		if ((e = object_check(x, where, o, turn_fields)) != BS_OK)
			return e;
		where_fmt(where, sizeof(where), "turns[%zu].id", i);
		if ((e = id_add(x, x->turns, where, mstr(o, "id"))) != BS_OK)
			return e;
	}
	for (k = 0; k < 2; k++) {
		const char *list = k == 0 ? "items" : "deleted_items";

		for (i = 0; i < alen(member(doc, list)); i++) {
			o = json_object_array_get_idx(member(doc, list), i);
			where_fmt(where, sizeof(where), "%s[%zu]", list, i);
			if ((e = object_check(x, where, o, k == 0 ? item_fields :
			    deleted_item_fields)) != BS_OK ||
			    (e = events_check(x, where, member(o, "events"))) !=
			    BS_OK)
				return e;
			where_fmt(where, sizeof(where), "%s[%zu].id", list, i);
			if ((e = id_add(x, x->items, where, mstr(o, "id"))) !=
			    BS_OK)
				return e;
		}
	}
	return BS_OK;
}

static bs_err
versions_check(struct xcheck *x, const char *base, json_object *versions)
{
	json_object	*v, *seen;
	const char	*md;
	char		 where[WHERE_MAX], key[32];
	size_t		 i;
	bs_err		 e = BS_OK;

	if ((seen = json_object_new_object()) == NULL)
		return BS_ERR_NOMEM;
	if (alen(versions) == 0) {
		path_set(x, "%s.versions", base);
		e = fail(x, "A document needs at least one version.");
	}
	for (i = 0; i < alen(versions) && e == BS_OK; i++) {
		v = json_object_array_get_idx(versions, i);
		where_fmt(where, sizeof(where), "%s.versions[%zu]", base, i);
		if ((e = object_check(x, where, v, version_fields)) != BS_OK)
			break;
		snprintf(key, sizeof(key), "%lld",
		    (long long)json_object_get_int64(member(v, "version")));
		where_fmt(where, sizeof(where), "%s.versions[%zu].version",
		    base, i);
		if (json_object_object_get_ex(seen, key, NULL)) {
			path_set(x, "%s", where);
			e = fail(x, "This version number appears twice.");
			break;
		}
		json_object_object_add(seen, key, NULL);
		where_fmt(where, sizeof(where), "%s.versions[%zu]", base, i);
		md = mstr(v, "markdown");
		if (!doc_markdown_safe(md, strlen(md))) {
			path_set(x, "%s.markdown", where);
			e = fail(x, "The Markdown holds raw HTML, a link, or "
			    "control characters.");
			break;
		}
		if ((e = ref_check(x, v, where, "item_event_id", x->events,
		    "item event")) != BS_OK ||
		    (e = ref_check(x, v, where, "message_id", x->messages,
		    "message")) != BS_OK)
			break;
	}
	json_object_put(seen);
	return e;
}

static bs_err
references_check(struct xcheck *x, json_object *doc)
{
	json_object	*o, *ev, *kinds_seen;
	char		 where[WHERE_MAX], evwhere[WHERE_MAX];
	size_t		 i, j, k;
	bs_err		 e = BS_OK;

	for (i = 0; i < alen(member(doc, "messages")); i++) {
		o = json_object_array_get_idx(member(doc, "messages"), i);
		where_fmt(where, sizeof(where), "messages[%zu]", i);
		if ((e = ref_check(x, o, where, "turn_id", x->turns, "turn")) !=
		    BS_OK)
			return e;
	}
	for (i = 0; i < alen(member(doc, "turns")); i++) {
		o = json_object_array_get_idx(member(doc, "turns"), i);
		where_fmt(where, sizeof(where), "turns[%zu]", i);
		if ((e = ref_check(x, o, where, "user_message_id", x->messages,
		    "message")) != BS_OK)
			return e;
	}
	for (k = 0; k < 2; k++) {
		const char *list = k == 0 ? "items" : "deleted_items";

		for (i = 0; i < alen(member(doc, list)); i++) {
			o = json_object_array_get_idx(member(doc, list), i);
			where_fmt(where, sizeof(where), "%s[%zu]", list, i);
			if (k == 0 && (e = ref_check(x, o, where,
			    "source_message_id", x->messages, "message")) !=
			    BS_OK)
				return e;
			for (j = 0; j < alen(member(o, "events")); j++) {
				ev = json_object_array_get_idx(member(o,
				    "events"), j);
				where_fmt(evwhere, sizeof(evwhere),
				    "%s.events[%zu]", where, j);
				if ((e = ref_check(x, ev, evwhere, "turn_id",
				    x->turns, "turn")) != BS_OK ||
				    (e = ref_check(x, ev, evwhere, "message_id",
				    x->messages, "message")) != BS_OK)
					return e;
			}
		}
	}
	if ((kinds_seen = json_object_new_object()) == NULL)
		return BS_ERR_NOMEM;
	for (i = 0; i < alen(member(doc, "documents")) && e == BS_OK; i++) {
		o = json_object_array_get_idx(member(doc, "documents"), i);
		where_fmt(where, sizeof(where), "documents[%zu]", i);
		if ((e = object_check(x, where, o, document_fields)) != BS_OK)
			break;
		if (json_object_object_get_ex(kinds_seen, mstr(o, "kind"),
		    NULL)) {
			path_set(x, "%s.kind", where);
			e = fail(x, "This kind of document appears twice.");
			break;
		}
		json_object_object_add(kinds_seen, mstr(o, "kind"), NULL);
		e = versions_check(x, where, member(o, "versions"));
	}
	json_object_put(kinds_seen);
	return e;
}

bs_err
export_check(json_object *doc, char *path, size_t pathlen, char *why,
    size_t whylen)
{
	struct xcheck	 x;
	bs_err		 e = BS_ERR_NOMEM;

	memset(&x, 0, sizeof(x));
	x.path = path;
	x.pathlen = pathlen;
	x.why = why;
	x.whylen = whylen;
	path[0] = '\0';
	why[0] = '\0';
	if ((x.items = json_object_new_object()) == NULL ||
	    (x.messages = json_object_new_object()) == NULL ||
	    (x.turns = json_object_new_object()) == NULL ||
	    (x.events = json_object_new_object()) == NULL)
		goto out;
	if ((e = shapes_check(&x, doc)) == BS_OK)
		e = references_check(&x, doc);
	if (e == BS_OK)
		path[0] = '\0';
out:
	json_object_put(x.items);
	json_object_put(x.messages);
	json_object_put(x.turns);
	json_object_put(x.events);
	return e;
}

/* Markdown */

/* "2026-12-04 10:00 UTC" from "2026-12-04T10:00:00.000Z". */
static bs_err
time_write(struct buf *out, const char *t)
{
	if (t == NULL || strlen(t) < 16)
		return buf_puts(out, "an unknown time");
	return buf_printf(out, "%.10s %.5s%s", t, t + 11,
	    t[strlen(t) - 1] == 'Z' ? " UTC" : "");
}

/* A quoted piece of user text: “...” */
static bs_err
quoted_write(struct buf *out, const char *s)
{
	bs_err	 e;

	if ((e = buf_puts(out, "\xe2\x80\x9c")) != BS_OK ||
	    (e = doc_md_escape(out, s, 0)) != BS_OK)
		return e;
	return buf_puts(out, "\xe2\x80\x9d");
}

/* One line of an item's history. */
static bs_err
event_write(struct buf *out, json_object *ev)
{
	const char	*action = mstr(ev, "action"), *from, *to, *oldt, *newt;
	const char	*reason = mstr(ev, "reason");
	bs_err		 e;

	from = mstr(ev, "from_state");
	to = mstr(ev, "to_state");
	oldt = mstr(ev, "old_text");
	newt = mstr(ev, "new_text");
	if ((e = buf_puts(out, "    - ")) != BS_OK ||
	    (e = time_write(out, mstr(ev, "created_at"))) != BS_OK ||
	    (e = buf_puts(out, ": ")) != BS_OK)
		return e;
	if (action == NULL)
		action = "updated";
	if (strcmp(action, "created") == 0)
		e = buf_printf(out, "created in %s", to != NULL ? to : "?");
	else if (strcmp(action, "moved") == 0)
		e = buf_printf(out, "moved from %s to %s", from != NULL ? from :
		    "?", to != NULL ? to : "?");
	else if (strcmp(action, "deleted") == 0)
		e = buf_printf(out, "removed from %s", from != NULL ? from : "?");
	else
		e = buf_puts(out, oldt != NULL && newt != NULL ? "reworded" :
		    "updated");
	if (e == BS_OK && strcmp(action, "created") != 0 &&
	    strcmp(action, "deleted") != 0 && oldt != NULL && newt != NULL) {
		if ((e = buf_puts(out, strcmp(action, "moved") == 0 ?
		    " and reworded from " : " from ")) == BS_OK &&
		    (e = quoted_write(out, oldt)) == BS_OK &&
		    (e = buf_puts(out, " to ")) == BS_OK)
			e = quoted_write(out, newt);
	}
	if (e == BS_OK && (e = buf_puts(out, " by ")) == BS_OK)
		e = doc_md_escape(out, mstr(ev, "actor"), 0);
	if (e == BS_OK && reason != NULL && *reason != '\0' &&
	    (e = buf_puts(out, ": ")) == BS_OK)
		e = doc_md_escape(out, reason, 0);
	return e == BS_OK ? buf_puts(out, "\n") : e;
}

static bs_err
history_write(struct buf *out, json_object *events)
{
	size_t	 i;
	bs_err	 e = BS_OK;

	if (alen(events) == 0)
		return BS_OK;
	e = buf_puts(out, "  - History:\n");
	for (i = 0; i < alen(events) && e == BS_OK; i++)
		e = event_write(out, json_object_array_get_idx(events, i));
	return e;
}

static bs_err
item_write(struct buf *out, json_object *it)
{
	json_object	*conf = member(it, "confidence");
	const char	*quote = mstr(it, "user_quote"), *by = mstr(it,
			    "created_by");
	bs_err		 e;

	if ((e = buf_puts(out, "- **")) != BS_OK ||
	    (e = doc_md_escape(out, mstr(it, "text"), 0)) != BS_OK ||
	    (e = buf_puts(out, "**")) != BS_OK)
		return e;
	if (conf != NULL && json_object_is_type(conf, json_type_int))
		e = buf_printf(out, " (confidence %d", json_object_get_int(conf));
	else
		e = buf_puts(out, " (");
	if (e == BS_OK && by != NULL) {
		if ((e = buf_puts(out, conf != NULL ? ", added by " :
		    "added by ")) == BS_OK)
			e = doc_md_escape(out, by, 0);
	}
	if (e == BS_OK)
		e = buf_puts(out, ")\n");
	if (e == BS_OK && quote != NULL && *quote != '\0') {
		if ((e = buf_puts(out, "  - The person's words: ")) == BS_OK &&
		    (e = quoted_write(out, quote)) == BS_OK)
			e = buf_puts(out, "\n");
	}
	return e == BS_OK ? history_write(out, member(it, "events")) : e;
}

static bs_err
board_write(struct buf *out, json_object *doc)
{
	static const char *const titles[] = { "Decided", "Exploring",
	    "Parked", "Rejected" };
	json_object	*items = member(doc, "items"), *it, *deleted, *ev;
	const char	*text;
	size_t		 s, i, shown, k;
	bs_err		 e = buf_puts(out, "## Board\n\n");

	for (s = 0; s < 4 && e == BS_OK; s++) {
		e = buf_printf(out, "### %s\n\n", titles[s]);
		for (i = 0, shown = 0; i < alen(items) && e == BS_OK; i++) {
			it = json_object_array_get_idx(items, i);
			if (mstr(it, "state") == NULL ||
			    strcmp(mstr(it, "state"), states[s]) != 0)
				continue;
			e = item_write(out, it);
			shown++;
		}
		if (e == BS_OK)
			e = buf_puts(out, shown == 0 ? "None.\n\n" : "\n");
	}
	deleted = member(doc, "deleted_items");
	if (e == BS_OK && alen(deleted) > 0)
		e = buf_puts(out, "### Removed from the board\n\n");
	for (i = 0; i < alen(deleted) && e == BS_OK; i++) {
		it = json_object_array_get_idx(deleted, i);
		/* Its last known text, from its history. */
		text = NULL;
		for (k = 0; k < alen(member(it, "events")); k++) {
			ev = json_object_array_get_idx(member(it, "events"), k);
			if (mstr(ev, "new_text") != NULL)
				text = mstr(ev, "new_text");
			if (mstr(ev, "old_text") != NULL &&
			    strcmp(mstr(ev, "action"), "deleted") == 0)
				text = mstr(ev, "old_text");
		}
		if ((e = buf_puts(out, "- **")) == BS_OK &&
		    (e = doc_md_escape(out, text != NULL ? text : "(no text)",
		    0)) == BS_OK && (e = buf_puts(out, "**\n")) == BS_OK)
			e = history_write(out, member(it, "events"));
		if (e == BS_OK && i + 1 == alen(deleted))
			e = buf_puts(out, "\n");
	}
	return e;
}

/* Each line of a message, escaped; blank lines keep paragraphs apart. */
static bs_err
text_block_write(struct buf *out, const char *text)
{
	const char	*p, *nl;
	char		*line;
	size_t		 len;
	bs_err		 e = BS_OK;

	for (p = text != NULL ? text : ""; *p != '\0' && e == BS_OK; ) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if ((line = strndup(p, len)) == NULL)
			return BS_ERR_NOMEM;
		if ((e = doc_md_escape(out, line, DOC_MD_LINE_START)) == BS_OK)
			e = buf_puts(out, "\n");
		free(line);
		p = nl != NULL ? nl + 1 : p + len;
	}
	return e;
}

static bs_err
conversation_write(struct buf *out, json_object *doc)
{
	json_object	*msgs = member(doc, "messages"), *m;
	const char	*role, *agent;
	size_t		 i;
	bs_err		 e = buf_puts(out, "## Conversation\n\n");

	if (e == BS_OK && alen(msgs) == 0)
		e = buf_puts(out, "No messages yet.\n\n");
	for (i = 0; i < alen(msgs) && e == BS_OK; i++) {
		m = json_object_array_get_idx(msgs, i);
		role = mstr(m, "role");
		agent = mstr(m, "agent");
		if (role != NULL && strcmp(role, "user") == 0)
			e = buf_puts(out, "**Person**");
		else if ((e = buf_puts(out, "**Assistant")) == BS_OK) {
			if (agent != NULL && (e = buf_puts(out, " (")) ==
			    BS_OK && (e = doc_md_escape(out, agent, 0)) == BS_OK)
				e = buf_puts(out, ")");
			if (e == BS_OK)
				e = buf_puts(out, "**");
		}
		if (e == BS_OK && (e = buf_puts(out, ", ")) == BS_OK &&
		    (e = time_write(out, mstr(m, "created_at"))) == BS_OK &&
		    (e = buf_puts(out, "\n\n")) == BS_OK &&
		    (e = text_block_write(out, mstr(m, "content"))) == BS_OK)
			e = buf_puts(out, "\n");
	}
	return e;
}

/*
 * A document's Markdown inside the export: its headings three levels
 * down, and its footnote labels prefixed with its kind, so two documents
 * citing one item do not define the same footnote.
 */
static bs_err
embedded_write(struct buf *out, const char *kind, const char *md)
{
	const char	*p;
	bool		 line_start = true;
	bs_err		 e = BS_OK;

	for (p = md; *p != '\0' && e == BS_OK; p++) {
		if (line_start && *p == '#')
			e = buf_puts(out, "###");
		if (e == BS_OK && *p == '[' && p[1] == '^' &&
		    (p == md || p[-1] != '\\')) {
			e = buf_printf(out, "[^%s-", kind);
			p++;
			line_start = false;
			continue;
		}
		if (e == BS_OK)
			e = buf_append(out, p, 1);
		line_start = *p == '\n';
	}
	if (e == BS_OK && p > md && p[-1] != '\n')
		e = buf_puts(out, "\n");
	return e;
}

static bs_err
documents_write(struct buf *out, json_object *doc)
{
	json_object	*docs = member(doc, "documents"), *d, *versions, *v;
	const struct doc_kind *kind;
	const char	*md;
	size_t		 i, n;
	bs_err		 e = buf_puts(out, "## Documents\n\n");

	if (e == BS_OK && alen(docs) == 0)
		e = buf_puts(out, "No documents yet.\n");
	for (i = 0; i < alen(docs) && e == BS_OK; i++) {
		d = json_object_array_get_idx(docs, i);
		versions = member(d, "versions");
		if ((n = alen(versions)) == 0)
			continue;
		v = json_object_array_get_idx(versions, n - 1);
		kind = doc_kind_find(mstr(d, "kind"));
		md = mstr(v, "markdown");
		e = buf_printf(out, "### %s, version %d (",
		    kind != NULL ? kind->title : "Document",
		    json_object_get_int(member(v, "version")));
		if (e == BS_OK)
			e = time_write(out, mstr(v, "created_at"));
		if (e == BS_OK && mstr(v, "model") != NULL &&
		    (e = buf_puts(out, ", ")) == BS_OK)
			e = doc_md_escape(out, mstr(v, "model"), 0);
		if (e == BS_OK)
			e = buf_puts(out, ")\n\n");
		if (e == BS_OK && md != NULL)
			e = embedded_write(out, kind != NULL ? kind->name :
			    "doc", md);
		if (e == BS_OK && i + 1 < alen(docs))
			e = buf_puts(out, "\n");
	}
	return e;
}

bs_err
export_markdown(json_object *doc, struct buf *out)
{
	json_object	*project = member(doc, "project");
	const char	*desc = mstr(project, "description");
	bs_err		 e;

	if ((e = buf_puts(out, "# ")) != BS_OK ||
	    (e = doc_md_escape(out, mstr(project, "title"), 0)) != BS_OK ||
	    (e = buf_puts(out, "\n\n")) != BS_OK)
		return e;
	if (desc != NULL && *desc != '\0') {
		if ((e = text_block_write(out, desc)) != BS_OK ||
		    (e = buf_puts(out, "\n")) != BS_OK)
			return e;
	}
	if ((e = buf_puts(out, "Exported from Brainstorm on ")) != BS_OK ||
	    (e = time_write(out, mstr(doc, "exported_at"))) != BS_OK ||
	    (e = buf_printf(out, ". Status: %s. Created on ",
	    mstr(project, "status") != NULL && strcmp(mstr(project, "status"),
	    "archived") == 0 ? "archived" : "active")) != BS_OK ||
	    (e = time_write(out, mstr(project, "created_at"))) != BS_OK ||
	    (e = buf_puts(out, ".\n\n")) != BS_OK)
		return e;
	if ((e = board_write(out, doc)) != BS_OK ||
	    (e = conversation_write(out, doc)) != BS_OK)
		return e;
	return documents_write(out, doc);
}
