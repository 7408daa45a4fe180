/*
 * Projects: the caller's list (newest first, cursor pages), create, read,
 * change with optimistic concurrency, delete. Project routes reach these
 * handlers only for a project the caller has the route's role in (app.c).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_projects.h"
#include "brainstorm/json_write.h"
#include "brainstorm/members.h"
#include "brainstorm/validate.h"

#define PROJECTS_LIMIT_DEFAULT	20
#define PROJECTS_LIMIT_MAX	100
#define CURSOR_MAX		128	/* characters of an encoded cursor */
#define CURSOR_VARIANT		sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define LIST_BODY_MAX		((size_t)64 << 20)	/* the response's cap */
/*
 * SQL turns the cursor's microseconds into a time through a double: exact
 * up to 2^53 (the years 1685 to 2255), and beyond it a crafted cursor could
 * overflow the interval. No project is created outside that span.
 */
#define CURSOR_US_MAX		(1LL << 53)

static const char *const project_statuses[] = { "active", "archived", NULL };

/* The list's query: an empty cursor is the first page ("cursor="). */
enum { LIST_Q_LIMIT, LIST_Q_CURSOR };
static const struct field_rule list_query_rules[] = {
	[LIST_Q_LIMIT] =	{ "limit", FIELD_INT, false, 1,
				  PROJECTS_LIMIT_MAX, NULL },
	[LIST_Q_CURSOR] =	{ "cursor", FIELD_STRING, false, 0, LONG_MAX,
				  NULL },
};
#define LIST_Q_NRULES	(sizeof(list_query_rules) / sizeof(list_query_rules[0]))

enum { CREATE_TITLE, CREATE_DESCRIPTION };
static const struct field_rule project_create_rules[] = {
	[CREATE_TITLE] =	{ "title", FIELD_LINE, true, 1, 255, NULL },
	[CREATE_DESCRIPTION] =	{ "description", FIELD_TEXT, false, 0, 10000,
				  NULL },
};
#define CREATE_NRULES \
	(sizeof(project_create_rules) / sizeof(project_create_rules[0]))

enum { UPDATE_TITLE, UPDATE_DESCRIPTION, UPDATE_STATUS, UPDATE_VERSION };
static const struct field_rule project_update_rules[] = {
	[UPDATE_TITLE] =	{ "title", FIELD_LINE, false, 1, 255, NULL },
	[UPDATE_DESCRIPTION] =	{ "description", FIELD_TEXT, false, 0, 10000,
				  NULL },
	[UPDATE_STATUS] =	{ "status", FIELD_ENUM, false, 0, 0,
				  project_statuses },
	[UPDATE_VERSION] =	{ "version", FIELD_INT, true, 1, INT_MAX,
				  NULL },
};
#define UPDATE_NRULES \
	(sizeof(project_update_rules) / sizeof(project_update_rules[0]))

/* A not-found here means the project went away after the ownership check. */
static const struct api_error_row project_errors[] = {
	API_ERROR_NOT_FOUND("project"),
};

static const struct api_error_row create_errors[] = {
	API_ERROR_PROJECTS_LIMIT,
};

static void
respond_error(struct http_ctx *ctx, bs_err e)
{
	api_respond_error(ctx, e, API_ERROR_ROWS(project_errors));
}

/* The cursor is opaque to clients: base64url of "<created_us>:<id>". */
static bs_err
cursor_encode(const struct db_project_key *key, char *out, size_t outlen)
{
	char	 raw[64];
	int	 n;

	n = snprintf(raw, sizeof(raw), "%lld:%s", key->created_us, key->id);
	if (n < 0 || (size_t)n >= sizeof(raw) ||
	    outlen < sodium_base64_ENCODED_LEN((size_t)n, CURSOR_VARIANT))
		return BS_ERR_INTERNAL;
	sodium_bin2base64(out, outlen, (const unsigned char *)raw, (size_t)n,
	    CURSOR_VARIANT);
	return BS_OK;
}

static bs_err
cursor_decode(const char *cursor, struct db_project_key *key)
{
	unsigned char	 raw[CURSOR_MAX];
	const char	*colon, *errstr;
	size_t		 len = strlen(cursor), rawlen;
	long long	 us;

	if (len > CURSOR_MAX || sodium_base642bin(raw, sizeof(raw) - 1, cursor,
	    len, NULL, &rawlen, NULL, CURSOR_VARIANT) != 0)
		return BS_ERR_INVALID;
	raw[rawlen] = '\0';
	if (strlen((char *)raw) != rawlen ||
	    (colon = strchr((char *)raw, ':')) == NULL)
		return BS_ERR_INVALID;
	us = bs_strntonum((char *)raw, (size_t)(colon - (char *)raw),
	    -CURSOR_US_MAX, CURSOR_US_MAX, &errstr);
	if (errstr != NULL || !uuid_valid(colon + 1))
		return BS_ERR_INVALID;
	key->created_us = us;
	snprintf(key->id, sizeof(key->id), "%s", colon + 1);
	return BS_OK;
}

/*
 * The caller's projects, one page. app.c's guard runs in the list's own
 * statement (app.c verifies the token only), and the rows are written as
 * JSON text with no json-c tree in between: the list is read on every
 * visit to the app. Only an empty page costs a second statement, the
 * guard's own, to tell it from a refusal.
 */
void
api_projects_list(struct http_ctx *ctx)
{
	struct db_conn		*conn = NULL;
	struct db_project_key	 after, next;
	struct json_writer	 w;
	struct buf		 body;
	struct field_value	 q[LIST_Q_NRULES];
	struct validate_error	 verr;
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
	limit = q[LIST_Q_LIMIT].present ? q[LIST_Q_LIMIT].num :
	    PROJECTS_LIMIT_DEFAULT;
	if (q[LIST_Q_CURSOR].present) {
		if (cursor_decode(q[LIST_Q_CURSOR].str, &after) != BS_OK) {
			api_refuse_query(ctx, "cursor",
			    "cursor must be a next_cursor from this list.");
			goto out;
		}
		has_after = true;
	}
	json_writer_init(&w, &body);
	json_write_raw(&w, "{\"projects\":", 12);
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_projects_list_write(conn, ctx->req.user_id,
		    ctx->req.session_id, has_after ? &after : NULL, (int)limit,
		    &w, &count, &has_next, &next);
	db_pool_release(ctx->app->db, conn);
	conn = NULL;
	if (e == BS_OK && has_next)
		e = cursor_encode(&next, encoded, sizeof(encoded));
	if (e == BS_OK)
		e = api_page_end(&w, has_next ? encoded : NULL);
	if (e != BS_OK)
		respond_error(ctx, e);
	/* No projects: none on this page, or a caller who may not list. */
	else if (count > 0 || app_guard_check(ctx))
		http_respond_text(ctx, 200, "application/json", body.data,
		    body.len);
out:
	db_pool_release(ctx->app->db, conn);
	buf_free(&body);
}

void
api_projects_create(struct http_ctx *ctx)
{
	struct field_value	 f[CREATE_NRULES];
	struct validate_error	 verr;
	struct db_conn		*conn = NULL;
	json_object		*project;
	bs_err			 e;

	if (validate_object(ctx->req.json, project_create_rules, CREATE_NRULES,
	    f, &verr) != BS_OK) {
		api_respond_invalid(ctx, verr.field, verr.message);
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_project_create(conn, ctx->req.user_id, f[CREATE_TITLE].str,
	    f[CREATE_DESCRIPTION].str, ctx->app->cfg->projects_max_per_user,
	    &project)) != BS_OK) {
		api_respond_error(ctx, e, API_ERROR_ROWS(create_errors));
		goto out;
	}
	http_respond_json(ctx, 201, project);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_projects_get(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*project;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_project_get(conn, ctx->req.project_id, ctx->req.user_id,
	    &project)) != BS_OK) {
		respond_error(ctx, e);
		goto out;
	}
	http_respond_json(ctx, 200, project);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_projects_update(struct http_ctx *ctx)
{
	struct field_value	 f[UPDATE_NRULES];
	struct validate_error	 verr;
	struct db_conn		*conn = NULL;
	json_object		*project = NULL;
	bs_err			 e;

	if (validate_object(ctx->req.json, project_update_rules, UPDATE_NRULES,
	    f, &verr) != BS_OK) {
		api_respond_invalid(ctx, verr.field, verr.message);
		goto out;
	}
	/* A bump that changes nothing would only make others' copies stale. */
	if (!f[UPDATE_TITLE].present && !f[UPDATE_DESCRIPTION].present &&
	    !f[UPDATE_STATUS].present) {
		api_respond_invalid(ctx, "", "Nothing to change: give title, "
		    "description or status.");
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_project_update(conn, ctx->req.project_id,
		    ctx->req.user_id, f[UPDATE_VERSION].num,
		    f[UPDATE_TITLE].str, f[UPDATE_DESCRIPTION].str,
		    f[UPDATE_STATUS].str, &project);
	switch (e) {
	case BS_OK:
		http_respond_json(ctx, 200, project);
		break;
	case BS_ERR_CONFLICT:
		api_respond_conflict(ctx, project);
		break;
	default:
		respond_error(ctx, e);
		break;
	}
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_projects_delete(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_project_delete(conn, ctx->req.project_id,
	    ctx->req.user_id)) != BS_OK) {
		respond_error(ctx, e);
		goto out;
	}
	access_revoked(ctx->app->events, ctx->req.project_id, NULL,
	    ACCESS_PROJECT_DELETED);
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	db_pool_release(ctx->app->db, conn);
}
