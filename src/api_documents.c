/*
 * Generated documents: a new version on request (streamed like a turn, or
 * one JSON answer), the latest of each kind, every version, and the diff
 * between two.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/doc_diff.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/document.h"
#include "brainstorm/events.h"
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
	char	*end;
	long	 n;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > VERSION_MAX)
		return 0;
	return n;
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

/*
 * The generation's events go to every subscriber of the project and,
 * when the client asked for a stream, to it: the stream starts with the
 * first event, so a refusal before the generation exists (409) is still
 * an ordinary JSON answer.
 */
struct document_stream {
	struct http_ctx	*ctx;
	bool		 wanted;
	bool		 begun;
};

static void
document_emit(void *arg, const char *type, json_object *data)
{
	struct document_stream	*ds = arg;
	struct http_ctx		*ctx = ds->ctx;

	events_publish_project(ctx->app->events, ctx->req.project_id, type, data);
	if (!ds->wanted || ctx->client_gone)
		return;
	if (!ds->begun) {
		if (http_stream_begin(ctx, 200, "text/event-stream") != BS_OK) {
			ds->wanted = false;
			return;
		}
		ds->begun = true;
	}
	http_stream_event(ctx, NULL, type, json_object_to_json_string_ext(data,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A failed generation as the API's error, with what the client needs. */
static void
respond_failed(struct http_ctx *ctx, json_object *result)
{
	json_object	*body, *err, *v;
	const char	*code = "generation_failed", *message = "The document "
			    "could not be written.";

	if (json_object_object_get_ex(result, "code", &v))
		code = json_object_get_string(v);
	if (json_object_object_get_ex(result, "error", &v))
		message = json_object_get_string(v);
	body = http_error_body(code, message, ctx->req.request_id);
	if (json_object_object_get_ex(body, "error", &err)) {
		json_object_object_get_ex(result, "generation_id", &v);
		json_object_object_add(err, "generation_id", json_object_get(v));
		json_object_object_get_ex(result, "notes", &v);
		json_object_object_add(err, "notes", json_object_get(v));
	}
	http_respond_json(ctx, 502, body);
}

void
api_documents_create(struct http_ctx *ctx)
{
	struct field_value	 f[1];
	struct validate_error	 err;
	struct document_input	 in;
	struct document_stream	 ds = { ctx, false, false };
	struct turn_sink	 sink = { document_emit, &ds };
	json_object		*result = NULL, *status;
	bs_err			 e;

	if (validate_object(ctx->req.json, document_rules, 1, f, &err) !=
	    BS_OK) {
		api_respond_invalid(ctx, err.field, err.message);
		return;
	}
	if (!document_rate_allowed(ctx))
		return;
	in.user_id = ctx->req.user_id;
	in.project_id = ctx->req.project_id;
	in.kind = doc_kind_find(f[0].str);
	ds.wanted = http_accepts_event_stream(&ctx->req);
	e = document_generate(ctx->app, &in, &sink, &result);
	if (ds.begun)
		goto out;	/* the stream ended with document.done */
	switch (e) {
	case BS_OK:
		if (json_object_object_get_ex(result, "status", &status) &&
		    strcmp(json_object_get_string(status), "done") == 0) {
			http_respond_json(ctx, 201, result);
			result = NULL;
		} else
			respond_failed(ctx, result);
		break;
	case BS_ERR_CONFLICT:
		http_respond_error(ctx, 409, "generation_running", "A document "
		    "of this project is being generated; try again when it is "
		    "done.");
		break;
	case BS_ERR_NOT_FOUND:
		http_respond_error(ctx, 404, "not_found", "No such project.");
		break;
	default:
		api_respond_db_error(ctx, e);
	}
out:
	json_object_put(result);
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

static const char *
jstr(json_object *o, const char *key)
{
	json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
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
	e = doc_diff_unified(jstr(from, "markdown"), jstr(to, "markdown"),
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
