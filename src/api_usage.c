/* A person's model tokens and their cost: the last days, and this month. */
#include "config.h"

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/db_users.h"
#include "brainstorm/llm.h"

#define USAGE_DAYS		30

static long
row_tokens(json_object *row, const char *key)
{
	return (long)json_object_get_int64(json_object_object_get(row, key));
}

/* A usage row's tokens at one price, or its long prompts' part of them. */
struct usage_tokens {
	long	 in, out, read, write, write_1h;
};

static void
usage_tokens(json_object *row, const char *prefix, struct usage_tokens *t)
{
	static const char *const keys[] = { "input_tokens", "output_tokens",
	    "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens" };
	long	*v[] = { &t->in, &t->out, &t->read, &t->write, &t->write_1h };
	char	 key[48];
	size_t	 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, keys[i]);
		*v[i] = row_tokens(row, key);
	}
}

/* Cache writes kept for an hour cost more than five-minute ones. */
static double
tokens_cost(const struct usage_tokens *t, const struct llm_price *p)
{
	long	 write_1h = t->write_1h > t->write ? t->write : t->write_1h;

	return (p->in * (double)t->in + p->out * (double)t->out +
	    p->cache_write_5m * (double)(t->write - write_1h) +
	    p->cache_write_1h * (double)write_1h +
	    p->cache_read * (double)t->read) / 1e6;
}

/*
 * The cost of one usage row at its exact model's prices (llm_models.c):
 * its calls with a long prompt at the model's long-prompt prices, the
 * others at its usual ones; 0 for a model without a known price. The
 * long part's token counts leave the row; their number of calls stays.
 */
static double
usage_cost(json_object *row)
{
	static const char *const long_keys[] = { "long_input_tokens",
	    "long_output_tokens", "long_cache_read_tokens",
	    "long_cache_write_tokens", "long_cache_write_1h_tokens" };
	const char	*model = json_object_get_string(
	    json_object_object_get(row, "model"));
	struct usage_tokens all, lng, rest;
	struct llm_price p, lp;
	double		 cost = 0;
	size_t		 i;

	usage_tokens(row, "", &all);
	usage_tokens(row, "long_", &lng);
	for (i = 0; i < sizeof(long_keys) / sizeof(long_keys[0]); i++)
		json_object_object_del(row, long_keys[i]);
	rest.in = all.in - lng.in;
	rest.out = all.out - lng.out;
	rest.read = all.read - lng.read;
	rest.write = all.write - lng.write;
	rest.write_1h = all.write_1h - lng.write_1h;
	if (llm_price_of(model, false, &p) && llm_price_of(model, true, &lp))
		cost = tokens_cost(&rest, &p) + tokens_cost(&lng, &lp);
	return cost;
}

void
api_usage_get(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body, *row;
	double		 total = 0, cost;
	long long	 month = 0;
	size_t		 i;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_usage_list(conn, ctx->req.user_id, USAGE_DAYS, &list);
	if (e == BS_OK)
		e = db_user_month_tokens(conn, ctx->req.user_id, &month);
	if (e != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	for (i = 0; i < json_object_array_length(list); i++) {
		row = json_object_array_get_idx(list, i);
		cost = usage_cost(row);
		total += cost;
		json_object_object_add(row, "cost_usd", json_object_new_double(cost));
	}
	body = json_object_new_object();
	json_object_object_add(body, "days", json_object_new_int(USAGE_DAYS));
	json_object_object_add(body, "usage", list);
	json_object_object_add(body, "total_cost_usd", json_object_new_double(total));
	json_object_object_add(body, "month", usage_month_json(ctx->app->cfg, month));
	http_respond_json(ctx, 200, body);
out:
	db_pool_release(ctx->app->db, conn);
}
