/* The conversation's queries: messages, turns and agent runs. */
#ifndef BRAINSTORM_DB_TURNS_H
#define BRAINSTORM_DB_TURNS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/err.h"

#define DB_ID_LEN	37

/*
 * Store the user's message and open its turn (status running), in one
 * transaction: what the person typed is kept whatever happens next.
 */
bs_err	db_turn_open(struct db_conn *c, const char *project_id,
	    const char *content, char message_id[DB_ID_LEN],
	    char turn_id[DB_ID_LEN], json_object **message);
/*
 * Reopen a failed turn for a retry: BS_ERR_CONFLICT when it is not failed,
 * BS_ERR_NOT_FOUND when it is not in the project. content receives the
 * user message (free it).
 */
bs_err	db_turn_reopen(struct db_conn *c, const char *project_id,
	    const char *turn_id, char message_id[DB_ID_LEN], char **content);
/* Mark turns of dead workers (running for longer than stale_s) failed. */
bs_err	db_turns_fail_stale(struct db_conn *c, const char *project_id,
	    long stale_s);
bs_err	db_turn_finish(struct db_conn *c, const char *turn_id,
	    const char *intent, int confidence, const char *status,
	    const char *error);
/* An assistant (or agent) message of a turn; *message its JSON (may be NULL). */
bs_err	db_message_add(struct db_conn *c, const char *project_id,
	    const char *turn_id, const char *agent, const char *content,
	    json_object **message);
/*
 * Newest first: at most limit messages older than the message before
 * (NULL: the newest). BS_ERR_NOT_FOUND when before is not in the project.
 */
bs_err	db_messages_list(struct db_conn *c, const char *project_id,
	    const char *before, int limit, json_object **out);
/* The last limit messages, oldest first, for the agents' context. */
bs_err	db_messages_recent(struct db_conn *c, const char *project_id,
	    const char *exclude_id, int limit, json_object **out);

struct db_agent_run {
	const char	*agent;
	const char	*model;
	const char	*status;	/* ok, error, cached */
	long		 latency_ms;
	int		 attempts;
	long		 input_tokens, output_tokens;
	long		 cache_read_tokens, cache_write_tokens;
	long		 cache_write_1h_tokens;	/* part of cache_write_tokens */
	long		 thinking_tokens;	/* part of output_tokens */
	const char	*stop_reason;	/* "" or NULL when none came */
	const char	*error;		/* NULL when ok */
};

bs_err	db_agent_run_add(struct db_conn *c, const char *turn_id,
	    const char *project_id, const char *user_id,
	    const struct db_agent_run *run);
/* The project's agent runs, newest first, with their turn's intent. */
bs_err	db_activity_list(struct db_conn *c, const char *project_id, int limit,
	    json_object **out);
/* The user's tokens by day and model over the last days. */
bs_err	db_usage_list(struct db_conn *c, const char *user_id, int days,
	    json_object **out);

#endif
