/*
 * Generated documents: a new version on request (queued for an engine like
 * a turn, streamed or not), the generation's state, the latest of each
 * kind, every version, and the diff between two.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/doc_diff.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/document.h"
#include "brainstorm/engine.h"
#include "brainstorm/events.h"
#include "brainstorm/json.h"
#include "brainstorm/log.h"
#include "brainstorm/ratelimit.h"
#include "brainstorm/validate.h"

#define VERSION_MAX		1000000
#define DIFF_CONTEXT		3
#define DIFF_MAX_BYTES		(8 * 1024 * 1024)

static const struct field_rule document_rules[] = {
	{ "kind", FIELD_ENUM, true, 0, 0, doc_kind_names },
};

/* The {kind} of the path; a kind that does not exist is a 404. */
static const struct doc_kind *
path_kind(struct http_ctx *ctx)
{
	const struct doc_kind *kind;

	if ((kind = doc_kind_find(http_param_get(&ctx->req, "kind"))) == NULL)
		http_respond_error(ctx, 404, "not_found",
		    "No such kind of document.");
	return kind;
}

/* A version number from text: 1..VERSION_MAX, else 0. */
static long
version_parse(const char *s)
{
	const char	*errstr;
	long		 n;

	n = (long)bs_strtonum(s, 1, VERSION_MAX, &errstr);
	return errstr == NULL ? n : 0;
}

/* Generations per user per minute; 429 beyond. */
static bool
document_rate_allowed(struct http_ctx *ctx)
{
	char	 key[96];
	long	 retry = 0;

	snprintf(key, sizeof(key), "documents:%s", ctx->req.user_id);
	if (ratelimit_hit(ctx->app->cache, key,
	    ctx->app->cfg->document_rate_limit, 60, &retry) == BS_OK)
		return true;
	http_header_add(ctx, "Retry-After", "%ld", retry);
	http_respond_error(ctx, 429, "rate_limited", "Too many documents; try "
	    "again in %ld seconds.", retry);
	return false;
}

static const struct api_error_row queue_errors[] = {
	{ BS_ERR_CONFLICT, { 409, "generation_running", "A document of this "
	    "project is being generated; try again when it is done.", 0 } },
	{ BS_ERR_TOO_LARGE, { 503, "queue_full", "Too many turns and "
	    "documents are waiting to run; try again shortly.", 15 } },
	API_ERROR_NOT_FOUND("project"),
};

/* A generation's queueing error, for the person; the limit is named. */
static void
queue_error(struct http_ctx *ctx, bs_err e)
{
	if (e == BS_ERR_RATE_LIMITED) {
		http_header_add(ctx, "Retry-After", "10");
		http_respond_error(ctx, 429, "too_many_turns", "You have %ld turns "
		    "and documents queued or running, the most one account may "
		    "have; wait for one to end.", ctx->app->cfg->turn_user_max);
		return;
	}
	api_respond_error(ctx, e, API_ERROR_ROWS(queue_errors));
}

/*
 * Queue the generation for an engine, like a message's turn. Streaming,
 * the connection goes to the generation's channel, which document.queued
 * creates here; otherwise 202 with where to look.
 */
void
api_documents_create(struct http_ctx *ctx)
{
	struct field_value	 f[1];
	struct validate_error	 err;
	struct db_turn_limits	 lim;
	struct db_conn		*conn = NULL;
	const struct doc_kind	*kind;
	json_object		*d, *body;
	char			 id[DB_ID_LEN], ch[EVENTS_CHANNELS_MAX], url[192];
	bool			 stream;
	bs_err			 e;

	if (validate_object(ctx->req.json, document_rules, 1, f, &err) !=
	    BS_OK) {
		api_respond_invalid(ctx, err.field, err.message);
		return;
	}
	kind = doc_kind_find(f[0].str);
	if (!document_rate_allowed(ctx))
		return;
	stream = http_accepts_event_stream(&ctx->req);
	if (stream && !api_stream_room(ctx))
		return;
	lim.queue_max = ctx->app->cfg->turn_queue_max;
	lim.user_max = ctx->app->cfg->turn_user_max;
	lim.messages_max = 0;	/* a document adds no message */
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_generation_queue(conn, &lim, ctx->req.project_id,
		    kind->name, ctx->req.user_id, engine_owner(ctx->app->engine),
		    ctx->app->cfg->document_generations_kept, id);
	db_pool_release(ctx->app->db, conn);
	if (e != BS_OK) {
		queue_error(ctx, e);
		return;
	}
	d = json_object_new_object();
	json_object_object_add(d, "generation_id", json_object_new_string(id));
	json_object_object_add(d, "kind", json_object_new_string(kind->name));
	/* Its own channel only: the project hears of it when it starts. */
	snprintf(ch, sizeof(ch), "t-%s", id);
	if (stream && events_publish_now(ctx->app->events, ch,
	    "document.queued", d) != BS_OK)
		stream = false;	/* no stream to hand over: it runs anyway */
	json_object_put(d);
	engine_notify(ctx->app->engine);
	if (stream) {
		api_stream_handover(ctx, "turn", id);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "generation_id", json_object_new_string(id));
	json_object_object_add(body, "kind", json_object_new_string(kind->name));
	json_object_object_add(body, "status", json_object_new_string("queued"));
	snprintf(url, sizeof(url), "/api/projects/%s/documents/generations/%s",
	    ctx->req.project_id, id);
	json_object_object_add(body, "url", json_object_new_string(url));
	snprintf(url, sizeof(url), "/api/projects/%s/documents/generations/%s/"
	    "events", ctx->req.project_id, id);
	json_object_object_add(body, "stream_url", json_object_new_string(url));
	http_respond_json(ctx, 202, body);
}

/* The generation of {generation} in the project; NULL after a 404 was answered. */
static json_object *
generation_load(struct http_ctx *ctx, long *finished_ago_s)
{
	struct db_conn	*conn = NULL;
	json_object	*g = NULL;
	const char	*id = http_param_get(&ctx->req, "generation");
	bs_err		 e = BS_ERR_NOT_FOUND;

	if (uuid_valid(id) && (e = db_pool_checkout(ctx->app->db, &conn)) ==
	    BS_OK)
		e = db_generation_get(conn, ctx->req.project_id, id, &g,
		    finished_ago_s);
	db_pool_release(ctx->app->db, conn);
	if (e == BS_ERR_NOT_FOUND)
		http_respond_error(ctx, 404, "not_found", "No such generation.");
	else if (e != BS_OK)
		api_respond_db_error(ctx, e);
	return g;
}

/* A generation's state, and its version once it is done. */
void
api_generation_get(struct http_ctx *ctx)
{
	json_object	*g;
	long		 ago;

	if ((g = generation_load(ctx, &ago)) != NULL)
		http_respond_json(ctx, 200, g);
}

/*
 * A queued or running generation's stream, from its first event; one that
 * ended has none (410): GET the generation for its result.
 */
void
api_generation_events(struct http_ctx *ctx)
{
	json_object	*g;
	long		 ago;

	if ((g = generation_load(ctx, &ago)) == NULL)
		return;
	if (ago >= 0)
		http_respond_error(ctx, 410, "generation_over", "The generation "
		    "has ended; GET /api/projects/%s/documents/generations/%s "
		    "has its result.", ctx->req.project_id,
		    json_member_string(g, "generation_id"));
	else if (api_stream_room(ctx))
		api_stream_handover(ctx, "turn", json_member_string(g,
		    "generation_id"));
	json_object_put(g);
}

/* Run one query on a pooled connection; answer its failure. */
static bool
query_done(struct http_ctx *ctx, bs_err e, const char *not_found)
{
	if (e == BS_OK)
		return true;
	if (e == BS_ERR_NOT_FOUND && not_found != NULL)
		http_respond_error(ctx, 404, "not_found", "%s", not_found);
	else
		api_respond_db_error(ctx, e);
	return false;
}

void
api_documents_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body, *kinds;
	size_t		 i;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_documents_latest(conn, ctx->req.project_id, &list);
	db_pool_release(ctx->app->db, conn);
	if (!query_done(ctx, e, NULL))
		return;
	kinds = json_object_new_array();
	for (i = 0; i < doc_kind_count; i++)
		json_object_array_add(kinds, json_object_new_string(
		    doc_kinds[i].name));
	body = json_object_new_object();
	json_object_object_add(body, "documents", list);
	json_object_object_add(body, "kinds", kinds);
	http_respond_json(ctx, 200, body);
}

/* GET .../documents/{kind} and .../documents/{kind}/versions/{n}. */
static void
version_respond(struct http_ctx *ctx, long n)
{
	const struct doc_kind *kind;
	struct db_conn	*conn = NULL;
	json_object	*version = NULL;
	bs_err		 e;

	if ((kind = path_kind(ctx)) == NULL)
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_document_get(conn, ctx->req.project_id, kind->name, n,
		    &version);
	db_pool_release(ctx->app->db, conn);
	if (query_done(ctx, e, n == 0 ? "This document has no version yet." :
	    "No such version."))
		http_respond_json(ctx, 200, version);
}

void
api_documents_get(struct http_ctx *ctx)
{
	version_respond(ctx, 0);
}

void
api_documents_version(struct http_ctx *ctx)
{
	long	 n = version_parse(http_param_get(&ctx->req, "n"));

	if (n == 0) {
		if (path_kind(ctx) != NULL)
			http_respond_error(ctx, 404, "not_found",
			    "No such version.");
		return;
	}
	version_respond(ctx, n);
}

void
api_documents_versions(struct http_ctx *ctx)
{
	const struct doc_kind *kind;
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body;
	bs_err		 e;

	if ((kind = path_kind(ctx)) == NULL)
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_document_versions(conn, ctx->req.project_id, kind->name,
		    &list);
	db_pool_release(ctx->app->db, conn);
	if (!query_done(ctx, e, NULL))
		return;
	body = json_object_new_object();
	json_object_object_add(body, "kind", json_object_new_string(kind->name));
	json_object_object_add(body, "versions", list);
	http_respond_json(ctx, 200, body);
}

/* ?name= as a version number, required; 422 naming it otherwise. */
static bool
query_version(struct http_ctx *ctx, const char *name, long *out)
{
	char	 msg[96];

	if ((*out = version_parse(http_query_get(&ctx->req, name))) != 0)
		return true;
	snprintf(msg, sizeof(msg), "%s must be a version number from 1 to %d.",
	    name, VERSION_MAX);
	api_respond_invalid(ctx, name, msg);
	return false;
}

/* The unified diff's lines as a JSON array (without their line breaks). */
static json_object *
diff_lines(const char *text)
{
	json_object	*lines = json_object_new_array();
	const char	*p, *nl;

	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		json_object_array_add(lines, json_object_new_string_len(p,
		    (int)(nl - p)));
		if (*nl == '\0')
			break;
	}
	return lines;
}

void
api_documents_diff(struct http_ctx *ctx)
{
	const struct doc_kind *kind;
	struct doc_diff_stats stats;
	struct db_conn	*conn = NULL;
	json_object	*from = NULL, *to = NULL, *body;
	struct buf	 diff;
	char		 label_from[64], label_to[64];
	long		 nfrom, nto;
	bs_err		 e;

	buf_init(&diff, DIFF_MAX_BYTES);
	if ((kind = path_kind(ctx)) == NULL ||
	    !query_version(ctx, "from", &nfrom) ||
	    !query_version(ctx, "to", &nto))
		goto out;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK &&
	    (e = db_document_get(conn, ctx->req.project_id, kind->name, nfrom,
	    &from)) == BS_OK)
		e = db_document_get(conn, ctx->req.project_id, kind->name, nto,
		    &to);
	db_pool_release(ctx->app->db, conn);
	if (!query_done(ctx, e, "No such version."))
		goto out;
	snprintf(label_from, sizeof(label_from), "%s version %ld", kind->name,
	    nfrom);
	snprintf(label_to, sizeof(label_to), "%s version %ld", kind->name, nto);
	e = doc_diff_unified(json_member_string(from, "markdown"),
	    json_member_string(to, "markdown"),
	    label_from, label_to, DIFF_CONTEXT, DOC_DIFF_MAX_LINES, &diff,
	    &stats);
	if (e == BS_ERR_TOO_LARGE) {
		http_respond_error(ctx, 422, "diff_too_large", "These versions "
		    "are too long to compare (more than %d lines).",
		    DOC_DIFF_MAX_LINES);
		goto out;
	}
	if (e != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "kind", json_object_new_string(kind->name));
	json_object_object_add(body, "from", json_object_new_int64(nfrom));
	json_object_object_add(body, "to", json_object_new_int64(nto));
	json_object_object_add(body, "added", json_object_new_int64(
	    (int64_t)stats.added));
	json_object_object_add(body, "removed", json_object_new_int64(
	    (int64_t)stats.removed));
	json_object_object_add(body, "hunks", json_object_new_int64(
	    (int64_t)stats.hunks));
	json_object_object_add(body, "diff", json_object_new_string(
	    buf_cstr(&diff)));
	json_object_object_add(body, "lines", diff_lines(buf_cstr(&diff)));
	http_respond_json(ctx, 200, body);
out:
	buf_free(&diff);
	json_object_put(from);
	json_object_put(to);
}
