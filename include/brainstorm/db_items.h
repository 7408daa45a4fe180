/*
 * The board's queries: items and their history. Every change of an item
 * writes its item_events row in the same statement, so the history cannot
 * miss a change nor record one that did not happen. Each write is a single
 * statement: atomic on its own, and usable inside a caller's transaction
 * (an agent turn applying several changes).
 *
 * project_id must already be checked to belong to the caller; every query
 * matches it, so an item of another project is not found. Items and events
 * come back as the API's JSON objects (docs/API.md).
 */
#ifndef BRAINSTORM_DB_ITEMS_H
#define BRAINSTORM_DB_ITEMS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/err.h"

/*
 * Who changes an item and why, as its item_events row records it, and how
 * many events the project's history keeps: a change that finds it full
 * removes the project's oldest event.
 */
struct db_item_actor {
	const char	*name;		/* "user" or an agent's name */
	const char	*user_id;	/* the user behind "user", else NULL */
	const char	*reason;	/* NULL: none */
	const char	*turn_id;	/* the agent turn, else NULL */
	const char	*message_id;	/* the message behind it, else NULL */
	long		 history_max;	/* ITEM_EVENTS_MAX_PER_PROJECT (0: all) */
};

struct db_item_new {
	const char	*text;
	const char	*state;
	const char	*user_quote;	/* NULL: "" */
	const char	*source_message_id; /* NULL: none */
	int		 confidence;	/* 0..100 */
	bool		 has_position;	/* false: after the last of its state */
	long		 position;
	long		 max_items;	/* the project's cap (0: none) */
};

#define DB_ITEM_STATE_LEN	16
#define DB_ITEM_ID_LEN		37	/* 36 characters and the NUL */

/* Where a page of the board ends: its last item in the board's order. */
struct db_item_key {
	char		 state[DB_ITEM_STATE_LEN];
	long		 position;
	long long	 created_us;	/* created_at in microseconds */
	char		 id[DB_ITEM_ID_LEN];
};

/* What a change sets; NULL and false leave a field as it is. */
struct db_item_patch {
	const char	*text;
	const char	*state;		/* without a position: last of state */
	bool		 has_position;
	long		 position;
};

/* *out: a JSON array ordered by state, position, creation; state NULL: all. */
bs_err	db_items_list(struct db_conn *conn, const char *project_id,
	    const char *state, json_object **out);
/*
 * Up to limit items in the board's order (state NULL: all), after *after
 * (NULL: from the first). *has_next tells whether more follow, and then
 * *next is the key of the page's last item.
 */
bs_err	db_items_page(struct db_conn *conn, const char *project_id,
	    const char *state, const struct db_item_key *after, int limit,
	    json_object **out, bool *has_next, struct db_item_key *next);
/*
 * db_items_page for a request, with app.c's guard in the same statement
 * (one round trip): the page written to w as a JSON array, the same
 * objects db_items_page makes, and their number in *count; items only when
 * user_id is an enabled user, session_id one of their open sessions, and
 * the user a member of project_id. Nothing tells an empty page from a
 * refusal: with *count 0, ask app_guard_check.
 */
bs_err	db_items_page_write(struct db_conn *conn, const char *user_id,
	    const char *session_id, const char *project_id, const char *state,
	    const struct db_item_key *after, int limit, struct json_writer *w,
	    int *count, bool *has_next, struct db_item_key *next);
/*
 * What a turn shows the model: at most limit of the items that are not
 * rejected, decided ones first, then the most recently changed, in the
 * board's order; *total counts all the items that are not rejected.
 */
bs_err	db_items_context(struct db_conn *conn, const char *project_id,
	    int limit, json_object **out, long *total);
/* BS_ERR_NOT_FOUND when the item is not in the project. */
bs_err	db_item_get(struct db_conn *conn, const char *project_id,
	    const char *item_id, json_object **out);
/*
 * created_by is actor->name. BS_ERR_NOT_FOUND when the project is gone;
 * BS_ERR_TOO_LARGE when it holds item->max_items items already. With a
 * cap, creations in one project wait for each other on the project's row
 * (items_room, migrations/0010) until their transactions end, so two at
 * once cannot both pass it.
 */
bs_err	db_item_create(struct db_conn *conn, const char *project_id,
	    const struct db_item_new *item, const struct db_item_actor *actor,
	    json_object **out);
/*
 * Apply patch and bump the version, only when the stored version is still
 * version. BS_ERR_CONFLICT: *out holds the stored item instead;
 * BS_ERR_NOT_FOUND: there is none. Of two concurrent changes with the same
 * version, one succeeds and the other gets BS_ERR_CONFLICT.
 */
bs_err	db_item_update(struct db_conn *conn, const char *project_id,
	    const char *item_id, long version,
	    const struct db_item_patch *patch,
	    const struct db_item_actor *actor, json_object **out);
/* BS_ERR_NOT_FOUND when the item is not in the project. */
bs_err	db_item_delete(struct db_conn *conn, const char *project_id,
	    const char *item_id, const struct db_item_actor *actor);
/*
 * *out: a JSON array of the item's newest limit events, oldest first, and
 * *omitted the number of older ones left out; a deleted item keeps its
 * history. BS_ERR_NOT_FOUND when the item never was in the
 * project.
 */
bs_err	db_item_history(struct db_conn *conn, const char *project_id,
	    const char *item_id, int limit, json_object **out, long *omitted);

/* The statement table (db_stmt_tables lists it). */
extern const struct db_stmt	db_item_stmts[];
extern const size_t		db_item_nstmts;

#endif
