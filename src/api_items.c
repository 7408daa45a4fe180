/*
 * The board: a project's items and their history. Project routes reach
 * these handlers only with the route's role in the project (app.c);
 * every query also matches the project, so {item} of another project is
 * not found. Changes made here are the user's; agents use db_items.h with
 * their own name.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_items.h"
#include "brainstorm/validate.h"

#define ITEM_CONFIDENCE_DEFAULT	100
#define ITEM_STATE_DEFAULT	"exploring"
#define ITEM_ACTOR_USER		"user"

static const char *const item_states[] = {
	"decided", "exploring", "parked", "rejected", NULL
};

enum { CREATE_TEXT, CREATE_STATE, CREATE_USER_QUOTE, CREATE_CONFIDENCE,
	CREATE_POSITION };
static const struct field_rule create_rules[] = {
	[CREATE_TEXT] =		{ "text", FIELD_STRING, true, 1, 2000, NULL },
	[CREATE_STATE] =	{ "state", FIELD_ENUM, false, 0, 0,
				  item_states },
	[CREATE_USER_QUOTE] =	{ "user_quote", FIELD_STRING, false, 0, 2000,
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
	[UPDATE_TEXT] =		{ "text", FIELD_STRING, false, 1, 2000, NULL },
	[UPDATE_STATE] =	{ "state", FIELD_ENUM, false, 0, 0,
				  item_states },
	[UPDATE_POSITION] =	{ "position", FIELD_INT, false, 0, 1000000,
				  NULL },
	[UPDATE_REASON] =	{ "reason", FIELD_STRING, false, 0, 500, NULL },
	[UPDATE_VERSION] =	{ "version", FIELD_INT, true, 1, INT_MAX,
				  NULL },
};
#define UPDATE_NRULES	(sizeof(update_rules) / sizeof(update_rules[0]))

static void
respond_not_found(struct http_ctx *ctx)
{
	http_respond_error(ctx, 404, "not_found", "No such item.");
}

static void
respond_error(struct http_ctx *ctx, bs_err e)
{
	if (e == BS_ERR_NOT_FOUND)
		respond_not_found(ctx);
	else
		api_respond_db_error(ctx, e);
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
	events_publish(ctx->app->events, ctx->req.project_id, "items.changed", d);
	json_object_put(d);
}

/* {item} as a UUID, or NULL: a malformed id names no item (404, not 422). */
static const char *
item_param(struct http_ctx *ctx)
{
	const char	*id = http_param_get(&ctx->req, "item");

	return uuid_valid(id) ? id : NULL;
}

void
api_items_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*items = NULL, *body;
	const char	*state;
	size_t		 i;
	bs_err		 e;

	if ((state = http_query_get(&ctx->req, "state")) != NULL) {
		for (i = 0; item_states[i] != NULL; i++)
			if (strcmp(state, item_states[i]) == 0)
				break;
		if (item_states[i] == NULL) {
			api_respond_invalid(ctx, "state", "state must be "
			    "decided, exploring, parked or rejected.");
			goto out;
		}
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_items_list(conn, ctx->req.project_id, state,
	    &items)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "items", items);
	items = NULL;
	http_respond_json(ctx, 200, body);
out:
	json_object_put(items);
	db_pool_release(ctx->app->db, conn);
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
	memset(&actor, 0, sizeof(actor));
	actor.name = ITEM_ACTOR_USER;
	actor.user_id = ctx->req.user_id;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_item_create(conn, ctx->req.project_id, &item, &actor,
	    &created)) != BS_OK) {
		if (e == BS_ERR_NOT_FOUND)
			http_respond_error(ctx, 404, "not_found",
			    "No such project.");
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
		respond_not_found(ctx);
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
	memset(&actor, 0, sizeof(actor));
	actor.name = ITEM_ACTOR_USER;
	actor.user_id = ctx->req.user_id;
	actor.reason = f[UPDATE_REASON].str;

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
		respond_not_found(ctx);
		goto out;
	}
	memset(&actor, 0, sizeof(actor));
	actor.name = ITEM_ACTOR_USER;
	actor.user_id = ctx->req.user_id;
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
	bs_err		 e;

	if ((item_id = item_param(ctx)) == NULL) {
		respond_not_found(ctx);
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_item_history(conn, ctx->req.project_id, item_id,
	    &events)) != BS_OK) {
		respond_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "events", events);
	events = NULL;
	http_respond_json(ctx, 200, body);
out:
	json_object_put(events);
	db_pool_release(ctx->app->db, conn);
}
