/* One turn of a project: its state and result, and its live stream. */
#include "config.h"

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/validate.h"

/* The turn of {turn} in the project; NULL after a 404 was answered. */
static json_object *
turn_load(struct http_ctx *ctx, long *finished_ago_s)
{
	struct db_conn	*conn = NULL;
	json_object	*turn = NULL;
	const char	*id = http_param_get(&ctx->req, "turn");
	bs_err		 e = BS_ERR_NOT_FOUND;

	if (uuid_valid(id) && (e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_turn_get(conn, ctx->req.project_id, id, &turn,
		    finished_ago_s);
	db_pool_release(ctx->app->db, conn);
	if (e == BS_ERR_NOT_FOUND)
		http_respond_error(ctx, 404, "not_found", "No such turn.");
	else if (e != BS_OK)
		api_respond_db_error(ctx, e);
	return turn;
}

/* A turn's state, and its result once it ended. */
void
api_turn_get(struct http_ctx *ctx)
{
	json_object	*turn;
	long		 ago;

	if ((turn = turn_load(ctx, &ago)) != NULL)
		http_respond_json(ctx, 200, turn);
}

/*
 * A queued or running turn's stream, from its first event. A turn that
 * ended has none: its result is at GET .../turns/{turn}.
 */
void
api_turn_events(struct http_ctx *ctx)
{
	json_object	*turn;
	long		 ago;

	if ((turn = turn_load(ctx, &ago)) == NULL)
		return;
	if (ago >= 0)
		http_respond_error(ctx, 410, "turn_over", "The turn has ended; "
		    "GET /api/projects/%s/turns/%s has its result.",
		    ctx->req.project_id, json_member_string(turn, "turn_id"));
	else if (api_stream_room(ctx))
		api_stream_handover(ctx, "turn", json_member_string(turn, "turn_id"));
	json_object_put(turn);
}
