/*
 * The board: a project's items and their history. Project routes reach
 * these handlers only with the route's role in the project (app.c);
 * every query also matches the project, so {item} of another project is
 * not found. Changes made here are the user's; agents use db_items.h with
 * their own name.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_items.h"
#include "brainstorm/json_write.h"
#include "brainstorm/ratelimit.h"
#include "brainstorm/validate.h"

#define ITEM_CONFIDENCE_DEFAULT	100
#define ITEM_STATE_DEFAULT	"exploring"
#define ITEM_ACTOR_USER		"user"

#define ITEMS_LIMIT_DEFAULT	500	/* items of a page without ?limit= */
#define ITEMS_LIMIT_MAX		1000
#define CURSOR_MAX		160	/* characters of an encoded cursor */
#define CURSOR_VARIANT		sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* As in api_projects.c: microseconds SQL can turn back into a time exactly. */
#define CURSOR_US_MAX		(1LL << 53)
#define CURSOR_POSITION_MAX	1000000	/* create_rules' largest position */
#define HISTORY_MAX		1000	/* events of one item's history answered */
#define LIST_BODY_MAX		((size_t)64 << 20)	/* the response's cap */

static const char *const item_states[] = {
	"decided", "exploring", "parked", "rejected", NULL
};

enum { CREATE_TEXT, CREATE_STATE, CREATE_USER_QUOTE, CREATE_CONFIDENCE,
	CREATE_POSITION };
static const struct field_rule create_rules[] = {
	[CREATE_TEXT] =		{ "text", FIELD_TEXT, true, 1, 2000, NULL },
	[CREATE_STATE] =	{ "state", FIELD_ENUM, false, 0, 0,
				  item_states },
	[CREATE_USER_QUOTE] =	{ "user_quote", FIELD_TEXT, false, 0, 2000,
				  NULL },
	[CREATE_CONFIDENCE] =	{ "confidence", FIELD_INT, false, 0, 100,
				  NULL },
	[CREATE_POSITION] =	{ "position", FIELD_INT, false, 0, 1000000,
				  NULL },
};
#define CREATE_NRULES	(sizeof(create_rules) / sizeof(create_rules[0]))

enum { UPDATE_TEXT, UPDATE_STATE, UPDATE_POSITION, UPDATE_REASON,
	UPDATE_VERSION };
static const struct field_rule update_rules[] = {
	[UPDATE_TEXT] =		{ "text", FIELD_TEXT, false, 1, 2000, NULL },
	[UPDATE_STATE] =	{ "state", FIELD_ENUM, false, 0, 0,
				  item_states },
	[UPDATE_POSITION] =	{ "position", FIELD_INT, false, 0, 1000000,
				  NULL },
	[UPDATE_REASON] =	{ "reason", FIELD_TEXT, false, 0, 500, NULL },
	[UPDATE_VERSION] =	{ "version", FIELD_INT, true, 1, INT_MAX,
				  NULL },
};
#define UPDATE_NRULES	(sizeof(update_rules) / sizeof(update_rules[0]))

/* The list's query: an empty cursor is the first page ("cursor="). */
enum { LIST_Q_STATE, LIST_Q_LIMIT, LIST_Q_CURSOR };
static const struct field_rule list_query_rules[] = {
	[LIST_Q_STATE] =	{ "state", FIELD_ENUM, false, 0, 0, item_states },
	[LIST_Q_LIMIT] =	{ "limit", FIELD_INT, false, 1, ITEMS_LIMIT_MAX,
				  NULL },
	[LIST_Q_CURSOR] =	{ "cursor", FIELD_STRING, false, 0, LONG_MAX,
				  NULL },
};
#define LIST_Q_NRULES	(sizeof(list_query_rules) / sizeof(list_query_rules[0]))

static const struct api_error_row item_errors[] = {
	API_ERROR_NOT_FOUND("item"),
};

static void
respond_error(struct http_ctx *ctx, bs_err e)
{
	api_respond_error(ctx, e, API_ERROR_ROWS(item_errors));
}

/*
 * Tell the project's live subscribers (other tabs, other people) what the
 * user changed: the item as it is now, or the id of a removed one.
 */
static void
board_publish(struct http_ctx *ctx, json_object *item, const char *removed_id)
{
	json_object	*d = json_object_new_object(), *list;

	json_object_object_add(d, "actor", json_object_new_string(ITEM_ACTOR_USER));
	list = json_object_new_array();
	if (item != NULL)
		json_object_array_add(list, json_object_get(item));
	json_object_object_add(d, "items", list);
	list = json_object_new_array();
	if (removed_id != NULL)
		json_object_array_add(list, json_object_new_string(removed_id));
	json_object_object_add(d, "removed", list);
	events_publish_project(ctx->app->events, ctx->req.project_id, "items.changed", d);
	json_object_put(d);
}

/*
 * The page cursor is opaque to clients: base64url of
 * "<state>:<position>:<created_us>:<id>", the board-order key of the last
 * item of the page before.
 */
static bs_err
cursor_encode(const struct db_item_key *key, char *out, size_t outlen)
{
	char	 raw[128];
	int	 n;

	n = snprintf(raw, sizeof(raw), "%s:%ld:%lld:%s", key->state,
	    key->position, key->created_us, key->id);
	if (n < 0 || (size_t)n >= sizeof(raw) ||
	    outlen < sodium_base64_ENCODED_LEN((size_t)n, CURSOR_VARIANT))
		return BS_ERR_INTERNAL;
	sodium_bin2base64(out, outlen, (const unsigned char *)raw, (size_t)n,
	    CURSOR_VARIANT);
	return BS_OK;
}

/* A whole number of the cursor from *p up to sep; *p moves past sep. */
static bs_err
cursor_number(char **p, char sep, long long min, long long max,
    long long *out)
{
	const char	*errstr;
	char		*end;

	if ((end = strchr(*p, sep)) == NULL)
		return BS_ERR_INVALID;
	*out = bs_strntonum(*p, (size_t)(end - *p), min, max, &errstr);
	if (errstr != NULL)
		return BS_ERR_INVALID;
	*p = end + 1;
	return BS_OK;
}

static bs_err
cursor_decode(const char *cursor, struct db_item_key *key)
{
	unsigned char	 raw[CURSOR_MAX];
	char		*p, *colon;
	size_t		 len = strlen(cursor), rawlen, i;
	long long	 n;

	if (len > CURSOR_MAX || sodium_base642bin(raw, sizeof(raw) - 1, cursor,
	    len, NULL, &rawlen, NULL, CURSOR_VARIANT) != 0)
		return BS_ERR_INVALID;
	raw[rawlen] = '\0';
	p = (char *)raw;
	if (strlen(p) != rawlen || (colon = strchr(p, ':')) == NULL)
		return BS_ERR_INVALID;
	*colon = '\0';
	for (i = 0; item_states[i] != NULL; i++)
		if (strcmp(p, item_states[i]) == 0)
			break;
	if (item_states[i] == NULL)
		return BS_ERR_INVALID;
	snprintf(key->state, sizeof(key->state), "%s", p);
	p = colon + 1;
	if (cursor_number(&p, ':', 0, CURSOR_POSITION_MAX, &n) != BS_OK)
		return BS_ERR_INVALID;
	key->position = (long)n;
	if (cursor_number(&p, ':', -CURSOR_US_MAX, CURSOR_US_MAX,
	    &key->created_us) != BS_OK || !uuid_valid(p))
		return BS_ERR_INVALID;
	snprintf(key->id, sizeof(key->id), "%s", p);
	return BS_OK;
}

/*
 * Item creations, changes and deletions per user per minute
 * (ITEM_RATE_LIMIT); 429 beyond. Each one is a row of the item's history,
 * which is kept.
 */
static bool
item_rate_allowed(struct http_ctx *ctx)
{
	char	 key[96];
	long	 retry = 0;

	snprintf(key, sizeof(key), "items:%s", ctx->req.user_id);
	if (ratelimit_hit(ctx->app->cache, key, ctx->app->cfg->item_rate_limit,
	    60, &retry) == BS_OK)
		return true;
	http_header_add(ctx, "Retry-After", "%ld", retry);
	http_respond_error(ctx, 429, "rate_limited", "Too many changes to "
	    "items; try again in %ld seconds.", retry);
	return false;
}

/* {item} as a UUID, or NULL: a malformed id names no item (404, not 422). */
static const char *
item_param(struct http_ctx *ctx)
{
	const char	*id = http_param_get(&ctx->req, "item");

	return uuid_valid(id) ? id : NULL;
}

/*
 * The hottest read: app.c's guard runs in the page's own statement (app.c
 * verifies the token only), and the rows are written as JSON text with no
 * json-c tree in between. Only an empty page costs a second statement, the
 * guard's own, to tell an empty board from a refusal.
 */
void
api_items_list(struct http_ctx *ctx)
{
	struct db_conn		*conn = NULL;
	struct db_item_key	 after, next;
	struct json_writer	 w;
	struct buf		 body;
	struct field_value	 q[LIST_Q_NRULES];
	struct validate_error	 verr;
	const char		*state;
	char			 encoded[CURSOR_MAX + 1];
	bool			 has_after = false, has_next = false;
	long			 limit;
	int			 count = 0;
	bs_err			 e;

	buf_init(&body, LIST_BODY_MAX);
	if (validate_query(&ctx->req, list_query_rules, LIST_Q_NRULES, q,
	    &verr) != BS_OK) {
		api_refuse_query(ctx, verr.field, verr.message);
		goto out;
	}
	state = q[LIST_Q_STATE].str;
	limit = q[LIST_Q_LIMIT].present ? q[LIST_Q_LIMIT].num :
	    ITEMS_LIMIT_DEFAULT;
	if (q[LIST_Q_CURSOR].present) {
		if (cursor_decode(q[LIST_Q_CURSOR].str, &after) != BS_OK) {
			api_refuse_query(ctx, "cursor",
			    "cursor must be a next_cursor from this list.");
			goto out;
		}
		has_after = true;
	}
	json_writer_init(&w, &body);
	json_write_raw(&w, "{\"items\":", 9);
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_items_page_write(conn, ctx->req.user_id,
		    ctx->req.session_id, ctx->req.project_id, state,
		    has_after ? &after : NULL, (int)limit, &w, &count,
		    &has_next, &next);
	db_pool_release(ctx->app->db, conn);
	conn = NULL;
	if (e == BS_OK && has_next)
		e = cursor_encode(&next, encoded, sizeof(encoded));
	if (e == BS_OK)
		e = api_page_end(&w, has_next ? encoded : NULL);
	if (e != BS_OK)
		api_respond_db_error(ctx, e);
	/* No items: an empty page, or a board the caller may not see. */
	else if (count > 0 || app_guard_check(ctx))
		http_respond_text(ctx, 200, "application/json", body.data,
		    body.len);
out:
	db_pool_release(ctx->app->db, conn);
	buf_free(&body);
}

/* The caller as the author of a change, and the history their project keeps. */
static void
user_actor(struct http_ctx *ctx, struct db_item_actor *actor)
{
	memset(actor, 0, sizeof(*actor));
	actor->name = ITEM_ACTOR_USER;
	actor->user_id = ctx->req.user_id;
	actor->history_max = ctx->app->cfg->item_events_max_per_project;
}

void
api_items_create(struct http_ctx *ctx)
{
	struct field_value	 f[CREATE_NRULES];
	struct validate_error	 verr;
	struct db_item_new	 item;
	struct db_item_actor	 actor;
	struct db_conn		*conn = NULL;
	json_object		*created;
	bs_err			 e;

	if (validate_object(ctx->req.json, create_rules, CREATE_NRULES, f,
	    &verr) != BS_OK) {
		api_respond_invalid(ctx, verr.field, verr.message);
		goto out;
	}
	memset(&item, 0, sizeof(item));
	item.text = f[CREATE_TEXT].str;
	item.state = f[CREATE_STATE].present ? f[CREATE_STATE].str :
	    ITEM_STATE_DEFAULT;
	item.user_quote = f[CREATE_USER_QUOTE].str;
	item.confidence = f[CREATE_CONFIDENCE].present ?
	    (int)f[CREATE_CONFIDENCE].num : ITEM_CONFIDENCE_DEFAULT;
	item.has_position = f[CREATE_POSITION].present;
	item.position = f[CREATE_POSITION].num;
	item.max_items = ctx->app->cfg->items_max_per_project;
	user_actor(ctx, &actor);

	if (!item_rate_allowed(ctx))
		goto out;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_item_create(conn, ctx->req.project_id, &item, &actor,
	    &created)) != BS_OK) {
		if (e == BS_ERR_NOT_FOUND)
			http_respond_error(ctx, 404, "not_found",
			    "No such project.");
		else if (e == BS_ERR_TOO_LARGE)
			http_respond_error(ctx, 409, "items_limit", "This project "
			    "holds %ld items, its limit; delete some before "
			    "adding more.", item.max_items);
		else
			api_respond_db_error(ctx, e);
		goto out;
	}
	board_publish(ctx, created, NULL);
	http_respond_json(ctx, 201, created);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_items_update(struct http_ctx *ctx)
{
	struct field_value	 f[UPDATE_NRULES];
	struct validate_error	 verr;
	struct db_item_patch	 patch;
	struct db_item_actor	 actor;
	struct db_conn		*conn = NULL;
	json_object		*item = NULL;
	const char		*item_id;
	bs_err			 e;

	if ((item_id = item_param(ctx)) == NULL) {
		respond_error(ctx, BS_ERR_NOT_FOUND);
		goto out;
	}
	if (validate_object(ctx->req.json, update_rules, UPDATE_NRULES, f,
	    &verr) != BS_OK) {
		api_respond_invalid(ctx, verr.field, verr.message);
		goto out;
	}
	/* A reason alone changes nothing worth a version and an event. */
	if (!f[UPDATE_TEXT].present && !f[UPDATE_STATE].present &&
	    !f[UPDATE_POSITION].present) {
		api_respond_invalid(ctx, "", "Nothing to change: give text, "
		    "state or position.");
		goto out;
	}
	memset(&patch, 0, sizeof(patch));
	patch.text = f[UPDATE_TEXT].str;
	patch.state = f[UPDATE_STATE].str;
	patch.has_position = f[UPDATE_POSITION].present;
	patch.position = f[UPDATE_POSITION].num;
	user_actor(ctx, &actor);
	actor.reason = f[UPDATE_REASON].str;

	if (!item_rate_allowed(ctx))
		goto out;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_item_update(conn, ctx->req.project_id, item_id,
		    f[UPDATE_VERSION].num, &patch, &actor, &item);
	switch (e) {
	case BS_OK:
		board_publish(ctx, item, NULL);
		http_respond_json(ctx, 200, item);
		break;
	case BS_ERR_CONFLICT:
		api_respond_conflict(ctx, item);
		break;
	default:
		respond_error(ctx, e);
		break;
	}
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_items_delete(struct http_ctx *ctx)
{
	struct db_item_actor	 actor;
	struct db_conn		*conn = NULL;
	const char		*item_id;
	bs_err			 e;

	if ((item_id = item_param(ctx)) == NULL) {
		respond_error(ctx, BS_ERR_NOT_FOUND);
		goto out;
	}
	user_actor(ctx, &actor);
	if (!item_rate_allowed(ctx))
		goto out;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_item_delete(conn, ctx->req.project_id, item_id,
	    &actor)) != BS_OK) {
		respond_error(ctx, e);
		goto out;
	}
	board_publish(ctx, NULL, item_id);
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_items_history(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*events = NULL, *body;
	const char	*item_id;
	long		 omitted = 0;
	bs_err		 e;

	if ((item_id = item_param(ctx)) == NULL) {
		respond_error(ctx, BS_ERR_NOT_FOUND);
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_item_history(conn, ctx->req.project_id, item_id,
	    HISTORY_MAX, &events, &omitted)) != BS_OK) {
		respond_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "events", events);
	events = NULL;
	json_object_object_add(body, "omitted", json_object_new_int64(omitted));
	http_respond_json(ctx, 200, body);
out:
	json_object_put(events);
	db_pool_release(ctx->app->db, conn);
}
