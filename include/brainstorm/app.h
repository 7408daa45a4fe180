/* What every request can reach: configuration and shared clients. */
#ifndef BRAINSTORM_APP_H
#define BRAINSTORM_APP_H

#include <stdbool.h>
#include <time.h>

#include "brainstorm/cache.h"
#include "brainstorm/events.h"
#include "brainstorm/config.h"
#include "brainstorm/db.h"
#include "brainstorm/http.h"
#include "brainstorm/slots.h"

struct agent_plans;
struct engine;

struct app {
	const struct bs_config	*cfg;
	struct db_pool		*db;	/* thread-safe (its own lock) */
	struct cache		*cache;	/* thread-safe (its own lock) */
	struct events		*events; /* thread-safe (its own lock) */
	struct engine		*engine; /* NULL when this process runs none */
	struct llm_client	*llm;	/* read-only once made */
	/* How each agent's requests are shaped; read-only once made. */
	const struct agent_plans *plans;
	int			 migrations_latest; /* newest version on disk */
	struct http_limits	 limits;
	/* Exports and imports at once (PROJECT_FILE_SLOTS): their memory. */
	struct slots		 file_slots;
	time_t			 started;
	bool			 ops_only; /* engine-only: api_ops_routes alone */
};

/* Route, parse and run one request, then log and count it. */
void	app_handle(struct http_ctx *ctx);

/*
 * For the handlers that carry the guard in their own statement (app.c's
 * guard_in_statement): app.c has verified the token and set req.user_id,
 * req.session_id and req.project_id to what it claims; the handler's
 * statement returns rows only when the user is enabled, the session open
 * and the user a member of the project. When it returns none, or before
 * the handler can run it (a malformed query parameter answers 422 only to
 * a caller who may see the resource), app_guard_check runs the guard's own
 * statement: false when it answered the 401, 403 or 404 (or a database
 * error).
 */
bool	app_guard_check(struct http_ctx *ctx);

/* The guard's statements (db_stmt_tables lists them). */
extern const struct db_stmt	app_guard_stmts[];
extern const size_t		app_guard_nstmts;

#endif
