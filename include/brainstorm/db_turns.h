/*
 * The conversation's queries, a file each: the turn queue and one turn
 * (db_turns.c), messages (db_messages.c), agent runs (db_agent_runs.c).
 */
#ifndef BRAINSTORM_DB_TURNS_H
#define BRAINSTORM_DB_TURNS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/err.h"

#define DB_ID_LEN	37

/* A message row as the API writes it (m: messages), and its columns. */
#define DB_MESSAGE_COLUMNS	"m.id, m.project_id, m.role, m.agent, " \
				"m.content, m.turn_id, " DB_ISO_UTC("m.created_at")
#define DB_MESSAGE_NCOLUMNS	7
extern const struct db_column	db_message_columns[DB_MESSAGE_NCOLUMNS];

/* The statement tables (db_stmt_tables lists them). */
extern const struct db_stmt	db_turn_stmts[];
extern const size_t		db_turn_nstmts;
extern const struct db_stmt	db_message_stmts[];
extern const size_t		db_message_nstmts;
extern const struct db_stmt	db_agent_run_stmts[];
extern const size_t		db_agent_run_nstmts;

/* ----- db_turns.c: the turn queue and one turn ----- */

/* The turn queue's bounds (TURN_QUEUE_MAX, TURN_USER_MAX). */
struct db_turn_limits {
	long	 queue_max;	/* queued turns of everybody */
	long	 user_max;	/* queued or running turns of one user */
	long	 messages_max;	/* messages of one project, replies included;
				   0: not counted */
};

/*
 * Store the user's message and queue its turn, in one transaction: what
 * the person typed is kept whatever happens next. With retry_turn_id
 * (content NULL), a failed turn goes back in the queue instead, and
 * *message is its stored message. BS_ERR_LOCKED: the project has a turn
 * queued or running; BS_ERR_RATE_LIMITED: the user has user_max;
 * BS_ERR_TOO_LARGE: the queue is full; BS_ERR_CONFLICT: the retried turn
 * did not fail; BS_ERR_NOT_FOUND: no such turn in the project. queued_by
 * (NULL: none) is the engine of this process, which runs it first.
 */
bs_err	db_turn_queue(struct db_conn *c, const struct db_turn_limits *lim,
	    const char *project_id, const char *user_id, const char *content,
	    const char *retry_turn_id, const char *queued_by,
	    char turn_id[DB_ID_LEN], json_object **message);

/*
 * Within a transaction: lock the user's place in the queue, then
 * BS_ERR_TOO_LARGE when queue_max turns (of any job) wait, or
 * BS_ERR_RATE_LIMITED when the user has user_max queued or running, or
 * BS_ERR_FULL when project_id's conversation has no room for a message
 * and its reply (messages_max; 0: not counted).
 */
bs_err	db_turns_room(struct db_conn *c, const char *user_id,
	    const char *project_id, const struct db_turn_limits *lim);

/*
 * A turn an engine has leased: a user message's (message_id) or a
 * document generation's (document_kind; its id is the generation's).
 */
struct db_turn_job {
	char	 turn_id[DB_ID_LEN];
	char	 project_id[DB_ID_LEN];
	char	 user_id[DB_ID_LEN];	/* "" when the account is gone */
	char	 message_id[DB_ID_LEN];	/* "" for a document */
	char	 document_kind[32];	/* "" for a message */
	int	 runs;		/* engines that started it, this one included */
	bool	 retry;		/* a retry of a failed turn */
};

/*
 * Lease up to max turns to owner for lease_s seconds: the oldest queued
 * ones, and running ones whose lease expired.
 */
bs_err	db_turns_claim(struct db_conn *c, const char *owner, int max,
	    long lease_s, struct db_turn_job *jobs, int *njobs);
/* Turns queued and running, of everybody. */
bs_err	db_turns_count(struct db_conn *c, long *queued, long *running);
/* Extend owner's leases of the turns ids ("{uuid,...}") names. */
bs_err	db_turns_renew(struct db_conn *c, const char *owner, const char *ids,
	    long lease_s);
/*
 * Within the transaction that saves a turn: lock it, and BS_ERR_CONFLICT
 * when owner's lease is lost (another engine took the turn over).
 */
bs_err	db_turn_hold(struct db_conn *c, const char *turn_id, const char *owner);
/*
 * A turn's state and result (its messages and agent runs);
 * *finished_ago_s the seconds since it ended, or -1 while it has not.
 */
bs_err	db_turn_get(struct db_conn *c, const char *project_id,
	    const char *turn_id, json_object **out, long *finished_ago_s);
/* notes (may be NULL): what did not go to plan, a JSON array of strings. */
bs_err	db_turn_finish(struct db_conn *c, const char *turn_id,
	    const char *intent, int confidence, const char *status,
	    const char *error, json_object *notes);
/* ----- db_messages.c ----- */

/* One message by its id. */
bs_err	db_message_get(struct db_conn *c, const char *message_id,
	    json_object **out);
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

/* ----- db_agent_runs.c ----- */

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

/* Whose runs: a turn's, or a document generation's. */
enum db_run_owner { DB_RUNS_OF_TURN, DB_RUNS_OF_GENERATION };
/* The owner's n runs in one statement, in their order. */
bs_err	db_agent_runs_add(struct db_conn *c, enum db_run_owner owner,
	    const char *owner_id, const char *project_id, const char *user_id,
	    const struct db_agent_run *runs, size_t n);
/* The project's agent runs, newest first, with their turn's intent. */
bs_err	db_activity_list(struct db_conn *c, const char *project_id, int limit,
	    json_object **out);
/* The user's tokens by day and model over the last days. */
bs_err	db_usage_list(struct db_conn *c, const char *user_id, int days,
	    json_object **out);

#endif
