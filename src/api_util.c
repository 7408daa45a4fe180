#include "config.h"

#include <stdio.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/config.h"
#include "brainstorm/json_write.h"
#include "brainstorm/log.h"
#include "brainstorm/validate.h"

#define DB_RETRY_AFTER_S	5

#define INTERNAL	{ 500, "internal_error", \
			  "Something went wrong on our side.", 0 }
#define UNAVAILABLE	{ 503, "unavailable", \
			  "The database is not available; try again shortly.", \
			  DB_RETRY_AFTER_S }

/*
 * bs_err -> HTTP for the errors a handler does not name: they are ours, a
 * 503 while the database is away and a 500 (logged) otherwise. What a
 * client can act on (a missing project, a stale version) the handler says
 * in its own rows, passed to api_respond_error.
 */
static const struct api_error api_errors[BS_ERR__COUNT] = {
	[BS_OK] =			INTERNAL,
	[BS_ERR_NOMEM] =		INTERNAL,
	[BS_ERR_INVALID] =		INTERNAL,
	[BS_ERR_TOO_LARGE] =		INTERNAL,
	[BS_ERR_NOT_FOUND] =		INTERNAL,
	[BS_ERR_CONFLICT] =		INTERNAL,
	[BS_ERR_IO] =			INTERNAL,
	[BS_ERR_DB] =			INTERNAL,
	[BS_ERR_DB_UNAVAILABLE] =	UNAVAILABLE,
	[BS_ERR_POOL_TIMEOUT] =		UNAVAILABLE,
	[BS_ERR_CACHE_UNAVAILABLE] =	INTERNAL,
	[BS_ERR_TIMEOUT] =		INTERNAL,
	[BS_ERR_LOCKED] =		INTERNAL,
	[BS_ERR_CHECKSUM] =		INTERNAL,
	[BS_ERR_CONFIG] =		INTERNAL,
	[BS_ERR_INTERNAL] =		INTERNAL,
	[BS_ERR_RATE_LIMITED] =		INTERNAL,
	[BS_ERR_UNAUTHORIZED] =		INTERNAL,
	[BS_ERR_FULL] =			INTERNAL,
};

const struct api_error *
api_error_of(bs_err e, const struct api_error_row *rows, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (rows[i].err == e)
			return &rows[i].answer;
	if ((unsigned)e >= BS_ERR__COUNT || api_errors[e].code == NULL)
		e = BS_ERR_INTERNAL;
	return &api_errors[e];
}

void
api_respond_error(struct http_ctx *ctx, bs_err e,
    const struct api_error_row *rows, size_t n)
{
	const struct api_error	*a = api_error_of(e, rows, n);

	if (a->status >= 500 && a->retry_after_s == 0)
		log_msgf(LOG_LEVEL_ERROR, "request %s failed: %s",
		    ctx->req.request_id, bs_strerror(e));
	if (a->retry_after_s > 0)
		http_header_add(ctx, "Retry-After", "%d", a->retry_after_s);
	http_respond_error(ctx, a->status, a->code, "%s", a->message);
}

void
api_respond_invalid(struct http_ctx *ctx, const char *field, const char *message)
{
	json_object	*body, *err;

	body = http_error_body("validation_failed", message, ctx->req.request_id);
	if (json_object_object_get_ex(body, "error", &err))
		json_object_object_add(err, "field", json_object_new_string(field));
	http_respond_json(ctx, 422, body);
}

void
api_respond_db_error(struct http_ctx *ctx, bs_err e)
{
	api_respond_error(ctx, e, NULL, 0);
}

void
api_respond_conflict(struct http_ctx *ctx, json_object *current)
{
	json_object	*body;

	body = http_error_body("version_conflict", "This was changed by someone "
	    "else; the current version is attached.", ctx->req.request_id);
	json_object_object_add(body, "current", current);
	http_respond_json(ctx, 409, body);
}

json_object *
usage_month_json(const struct bs_config *cfg, long long used)
{
	json_object	*o = json_object_new_object();
	long long	 limit = cfg->user_monthly_token_limit;

	json_object_object_add(o, "tokens_used", json_object_new_int64(used));
	json_object_object_add(o, "token_limit",
	    limit > 0 ? json_object_new_int64(limit) : NULL);
	json_object_object_add(o, "tokens_remaining", limit > 0 ?
	    json_object_new_int64(used < limit ? limit - used : 0) : NULL);
	return o;
}

bool
api_query_valid(struct http_ctx *ctx, const struct field_rule *rules, size_t n,
    struct field_value *out)
{
	struct validate_error	 verr;

	if (validate_query(&ctx->req, rules, n, out, &verr) == BS_OK)
		return true;
	api_respond_invalid(ctx, verr.field, verr.message);
	return false;
}

bs_err
api_page_end(struct json_writer *w, const char *next_cursor)
{
	/* The cursor is base64url: nothing in it needs escaping. */
	json_write_raw(w, ",\"next_cursor\":", 15);
	if (next_cursor != NULL) {
		json_write_raw(w, "\"", 1);
		json_write_raw(w, next_cursor, strlen(next_cursor));
		json_write_raw(w, "\"}", 2);
	} else
		json_write_raw(w, "null}", 5);
	return json_writer_finish(w);
}

void
api_refuse_query(struct http_ctx *ctx, const char *field, const char *message)
{
	/* A caller the guard refuses hears that, not what was wrong. */
	if (app_guard_check(ctx))
		api_respond_invalid(ctx, field, message);
}
