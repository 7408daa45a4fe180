#include "config.h"

#include <stdio.h>

#include "brainstorm/api.h"
#include "brainstorm/config.h"
#include "brainstorm/log.h"
#include "brainstorm/validate.h"

#define DB_RETRY_AFTER_S	5

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
	switch (e) {
	case BS_ERR_DB_UNAVAILABLE:
	case BS_ERR_POOL_TIMEOUT:
		http_header_add(ctx, "Retry-After", "%d", DB_RETRY_AFTER_S);
		http_respond_error(ctx, 503, "unavailable",
		    "The database is not available; try again shortly.");
		return;
	default:
		log_msgf(LOG_LEVEL_ERROR, "request %s failed: %s",
		    ctx->req.request_id, bs_strerror(e));
		http_respond_error(ctx, 500, "internal_error",
		    "Something went wrong on our side.");
		return;
	}
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

bs_err
api_query_number(struct http_ctx *ctx, const char *name, long min, long max,
    long def, long *out)
{
	const char	*v = http_query_get(&ctx->req, name), *errstr;
	long		 n;

	*out = def;
	if (v == NULL)
		return BS_OK;
	n = (long)bs_strtonum(v, min, max, &errstr);
	if (errstr != NULL)
		return BS_ERR_INVALID;
	*out = n;
	return BS_OK;
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
