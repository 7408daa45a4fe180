/*
 * Configuration: brainstorm.conf (key = value), every key overridable by an
 * environment variable of the same name, defaults chosen by APP_ENV.
 * The keys are one table in config.c; adding a key is adding a row.
 */
#ifndef BRAINSTORM_CONFIG_H
#define BRAINSTORM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "brainstorm/err.h"
#include "brainstorm/log.h"

enum app_env {
	APP_ENV_DEVELOPMENT = 0,
	APP_ENV_STAGING,
	APP_ENV_PRODUCTION
};

struct bs_config {
	enum app_env	 app_env;
	char		*listen;		/* LISTEN: unix:/path, HOST:PORT or "" */
	long		 worker_threads;	/* WORKER_THREADS */
	bool		 worker_sched_batch;	/* WORKER_SCHED_BATCH */
	long		 shutdown_timeout_s;	/* SHUTDOWN_TIMEOUT */
	char		*database_url;		/* DATABASE_URL */
	long		 db_pool_min;		/* DB_POOL_MIN */
	long		 db_pool_max;		/* DB_POOL_MAX */
	long		 db_pool_timeout_ms;	/* DB_POOL_TIMEOUT_MS */
	long		 db_statement_timeout_ms; /* DB_STATEMENT_TIMEOUT_MS */
	char		*redis_url;		/* REDIS_URL ("" = no Redis) */
	long		 redis_timeout_ms;	/* REDIS_TIMEOUT_MS */
	char		*claude_api_key;	/* CLAUDE_API_KEY */
	char		*claude_base_url;	/* CLAUDE_BASE_URL */
	char		*claude_model;		/* CLAUDE_MODEL */
	char		*claude_api_version;	/* CLAUDE_API_VERSION */
	char		*jwt_secret;		/* JWT_SECRET */
	char		*jwt_refresh_secret;	/* JWT_REFRESH_SECRET */
	enum log_level	 log_level;		/* LOG_LEVEL */
	char		*log_file;		/* LOG_FILE ("" = stderr) */
	long		 max_body_bytes;	/* MAX_BODY_BYTES */
	long		 max_json_depth;	/* MAX_JSON_DEPTH */
	char		*migrations_dir;	/* MIGRATIONS_DIR */
	bool		 debug_routes;		/* DEBUG_ROUTES */
	long		 auth_rate_limit_email;	/* AUTH_RATE_LIMIT_EMAIL */
	long		 auth_rate_limit_ip;	/* AUTH_RATE_LIMIT_IP */
	long		 auth_rate_window_s;	/* AUTH_RATE_WINDOW */
	long		 sessions_max_per_user;	/* SESSIONS_MAX_PER_USER */
	long		 refresh_rate_limit;	/* REFRESH_RATE_LIMIT, per hour */
	char		*claude_model_fast;	/* CLAUDE_MODEL_FAST */
	char		*agent_models;		/* AGENT_MODELS: agent=model,... */
	long		 claude_timeout_ms;	/* CLAUDE_TIMEOUT_MS */
	long		 claude_max_attempts;	/* CLAUDE_MAX_ATTEMPTS */
	long		 claude_models_check_s;	/* CLAUDE_MODELS_CHECK_INTERVAL */
	long		 turn_budget_ms;	/* TURN_BUDGET_MS */
	long		 turn_stale_s;		/* TURN_STALE_AFTER */
	long		 agent_cache_ttl_s;	/* AGENT_CACHE_TTL */
	long		 message_rate_limit;	/* MESSAGE_RATE_LIMIT */
	long		 document_rate_limit;	/* DOCUMENT_RATE_LIMIT */
	long		 import_max_bytes;	/* IMPORT_MAX_BYTES */
	long		 export_max_bytes;	/* EXPORT_MAX_BYTES */
	long		 project_file_slots;	/* PROJECT_FILE_SLOTS */
	char		*registration;		/* REGISTRATION: open, invite, closed */
	long		 projects_max_per_user;	/* PROJECTS_MAX_PER_USER */
	long		 project_members_max;	/* PROJECT_MEMBERS_MAX */
	long		 user_monthly_token_limit; /* USER_MONTHLY_TOKEN_LIMIT (0 = none) */
	long		 context_messages;	/* CONTEXT_MESSAGES */
	long		 context_token_budget;	/* CONTEXT_TOKEN_BUDGET */
	char		*nchan_url;		/* NCHAN_URL */
	long		 events_queue_bytes;	/* EVENTS_QUEUE_BYTES */
	long		 events_max_streams;	/* EVENTS_MAX_STREAMS */
	long		 events_delta_window_ms; /* EVENTS_DELTA_WINDOW_MS */
	bool		 engine;		/* ENGINE */
	long		 engine_turns;		/* ENGINE_TURNS */
	long		 engine_io_threads;	/* ENGINE_IO_THREADS */
	long		 turn_lease_s;		/* TURN_LEASE */
	long		 turn_queue_max;	/* TURN_QUEUE_MAX */
	long		 turn_user_max;		/* TURN_USER_MAX */
	long		 items_max_per_project;	/* ITEMS_MAX_PER_PROJECT */
	long		 item_events_max_per_project; /* ITEM_EVENTS_MAX_PER_PROJECT */
	long		 item_rate_limit;	/* ITEM_RATE_LIMIT, per minute */
	long		 messages_max_per_project; /* MESSAGES_MAX_PER_PROJECT */
	long		 document_versions_max;	/* DOCUMENT_VERSIONS_MAX */
	long		 document_generations_kept; /* DOCUMENT_GENERATIONS_KEPT */
	long		 context_items_max;	/* CONTEXT_ITEMS_MAX */
	char		*sentry_dsn;		/* SENTRY_DSN ("" = no error reports) */
	char		*sentry_environment;	/* SENTRY_ENVIRONMENT ("" = APP_ENV) */
	char		*sentry_release;	/* SENTRY_RELEASE ("" = brainstorm@VERSION) */
	char		*sentry_crash_dir;	/* SENTRY_CRASH_DIR ("" = no crash files) */
};

/*
 * Seconds a turn gets after TURN_BUDGET_MS to save its results; a running
 * turn older than TURN_STALE_AFTER is taken as abandoned, so the two keys
 * must leave at least this much between them.
 */
#define TURN_SAVE_MARGIN_S	30

#define CONFIG_PROBLEMS_MAX	32
#define CONFIG_PROBLEM_LEN	256

/* Everything wrong with a configuration, so --check-config can list it all. */
struct config_problems {
	size_t	count;
	char	text[CONFIG_PROBLEMS_MAX][CONFIG_PROBLEM_LEN];
};

/*
 * Load defaults, then the file at path (missing is fine unless required),
 * then the environment; validate. Returns BS_ERR_CONFIG with problems filled
 * when anything is wrong. cfg must be released with config_free either way.
 */
bs_err	config_load(struct bs_config *cfg, const char *path, bool required,
	    struct config_problems *problems);
void	config_free(struct bs_config *cfg);
const char *config_app_env_name(enum app_env env);
/* The default file: $(sysconfdir)/brainstorm/brainstorm.conf or $BRAINSTORM_CONFIG. */
const char *config_default_path(void);

/* One row of the key table, exposed for documentation checks in tests. */
struct config_key_info {
	const char	*name;
	const char	*description;
	bool		 secret;
};
size_t	config_keys(const struct config_key_info **out);

#endif
