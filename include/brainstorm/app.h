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
	time_t			 started;
	bool			 ops_only; /* engine-only: api_ops_routes alone */
};

/* Route, parse and run one request, then log and count it. */
void	app_handle(struct http_ctx *ctx);

#endif
