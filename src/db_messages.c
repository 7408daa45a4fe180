#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/db_turns.h"

/* The conversation's messages: a person's and the agents'. */

const struct db_column db_message_columns[DB_MESSAGE_NCOLUMNS] = {
	{ "id", false }, { "project_id", false }, { "role", false },
	{ "agent", false }, { "content", false }, { "turn_id", false },
	{ "created_at", false },
};

enum message_stmt {
	STMT_MESSAGE_INSERT, STMT_MESSAGE_GET, STMT_MESSAGES_PAGE,
	STMT_MESSAGE_EXISTS, STMT_MESSAGES_RECENT, MESSAGE_STMT__COUNT
};

/* The message statements; db_stmt_tables lists the table (names unique). */
const struct db_stmt db_message_stmts[MESSAGE_STMT__COUNT] = {
	[STMT_MESSAGE_INSERT] = { "message_insert",
	  "INSERT INTO messages AS m (project_id, role, agent, content, turn_id) "
	  "VALUES ($1, 'assistant', $2, $3, $4) RETURNING " DB_MESSAGE_COLUMNS, 4 },
	[STMT_MESSAGE_GET] = { "message_get",
	  "SELECT " DB_MESSAGE_COLUMNS " FROM messages m WHERE m.id = $1", 1 },
	[STMT_MESSAGES_PAGE] = { "messages_page",
	  "SELECT " DB_MESSAGE_COLUMNS " FROM messages m WHERE m.project_id = $1 "
	  "AND ($2::uuid IS NULL OR (m.created_at, m.id) < "
	  "(SELECT created_at, id FROM messages WHERE id = $2::uuid AND project_id = $1)) "
	  "ORDER BY m.created_at DESC, m.id DESC LIMIT $3", 3 },
	[STMT_MESSAGE_EXISTS] = { "message_exists",
	  "SELECT 1 FROM messages WHERE id = $2::uuid AND project_id = $1", 2 },
	[STMT_MESSAGES_RECENT] = { "messages_recent",
	  "SELECT * FROM (SELECT " DB_MESSAGE_COLUMNS ", m.created_at AS at FROM messages m "
	  "WHERE m.project_id = $1 AND m.id IS DISTINCT FROM $2::uuid "
	  "ORDER BY m.created_at DESC, m.id DESC LIMIT $3) r ORDER BY at, id", 3 },
};
const size_t db_message_nstmts = MESSAGE_STMT__COUNT;

bs_err
db_message_add(struct db_conn *c, const char *project_id, const char *turn_id,
    const char *agent, const char *content, json_object **message)
{
	const char	*v[] = { project_id, agent, content, turn_id };
	PGresult	*res = NULL;
	bs_err		 e;

	if (message != NULL)
		*message = NULL;
	if ((e = db_exec(c, &db_message_stmts[STMT_MESSAGE_INSERT], v, &res, NULL)) == BS_OK &&
	    message != NULL)
		e = db_row_json(res, 0, db_message_columns, DB_MESSAGE_NCOLUMNS, message);
	PQclear(res);
	return e;
}

bs_err
db_messages_list(struct db_conn *c, const char *project_id, const char *before,
    int limit, json_object **out)
{
	char		 lim[16];
	const char	*v[] = { project_id, before, lim };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	if (before != NULL) {
		if ((e = db_exec(c, &db_message_stmts[STMT_MESSAGE_EXISTS], v, &res, NULL)) != BS_OK)
			goto out;
		if (PQntuples(res) != 1) {
			e = BS_ERR_NOT_FOUND;
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	if ((e = db_exec(c, &db_message_stmts[STMT_MESSAGES_PAGE], v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, db_message_columns, DB_MESSAGE_NCOLUMNS, out);
out:
	PQclear(res);
	return e;
}

bs_err
db_messages_recent(struct db_conn *c, const char *project_id,
    const char *exclude_id, int limit, json_object **out)
{
	char		 lim[16];
	const char	*v[] = { project_id, exclude_id, lim };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%d", limit);
	if ((e = db_exec(c, &db_message_stmts[STMT_MESSAGES_RECENT], v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, db_message_columns, DB_MESSAGE_NCOLUMNS, out);
	PQclear(res);
	return e;
}

bs_err
db_message_get(struct db_conn *c, const char *message_id, json_object **out)
{
	const char	*v[] = { message_id };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(c, &db_message_stmts[STMT_MESSAGE_GET], v, &res, NULL)) == BS_OK) {
		if (PQntuples(res) != 1)
			e = BS_ERR_NOT_FOUND;
		else
			e = db_row_json(res, 0, db_message_columns, DB_MESSAGE_NCOLUMNS,
			    out);
	}
	PQclear(res);
	return e;
}
