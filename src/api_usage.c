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

/*
 * The cost of one usage row at its exact model's prices (llm_models.c);
 * 0 for a model without a known price. Cache writes kept for an hour cost
 * more than five-minute ones.
 */
static double
usage_cost(json_object *row)
{
	struct llm_price p;
	long		 write = row_tokens(row, "cache_write_tokens");
	long		 write_1h = row_tokens(row, "cache_write_1h_tokens");

	if (!llm_price_of(json_object_get_string(json_object_object_get(row,
	    "model")), &p))
		return 0;
	if (write_1h > write)
		write_1h = write;
	return (p.in * (double)row_tokens(row, "input_tokens") +
	    p.out * (double)row_tokens(row, "output_tokens") +
	    p.cache_write_5m * (double)(write - write_1h) +
	    p.cache_write_1h * (double)write_1h +
	    p.cache_read * (double)row_tokens(row, "cache_read_tokens")) / 1e6;
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
