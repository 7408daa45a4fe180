/*
 * Every statement table of the pool: a connection prepares statements by
 * name, so a name used twice would run the wrong SQL. check_db_stmts.c
 * checks the names are unique across these tables.
 */
#include "config.h"

#include "brainstorm/app.h"
#include "brainstorm/db.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/db_items.h"
#include "brainstorm/db_members.h"
#include "brainstorm/db_projects.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/db_users.h"

const struct db_stmt_table db_stmt_tables[] = {
	{ "app.c", app_guard_stmts, &app_guard_nstmts },
	{ "db_users.c", db_user_stmts, &db_user_nstmts },
	{ "db_members.c", db_member_stmts, &db_member_nstmts },
	{ "db_turns.c", db_turn_stmts, &db_turn_nstmts },
	{ "db_messages.c", db_message_stmts, &db_message_nstmts },
	{ "db_projects.c", db_project_stmts, &db_project_nstmts },
	{ "db_items.c", db_item_stmts, &db_item_nstmts },
	{ "db_documents.c", db_document_stmts, &db_document_nstmts },
	{ "db_agent_runs.c", db_agent_run_stmts, &db_agent_run_nstmts },
};
const size_t db_stmt_ntables = sizeof(db_stmt_tables) / sizeof(db_stmt_tables[0]);
