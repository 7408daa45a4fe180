#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brainstorm/agent.h"
#include "brainstorm/config.h"
#include "brainstorm/llm.h"
#include "brainstorm/report.h"
#include "brainstorm/validate.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/brainstorm"
#endif

#define DEV_JWT_SECRET		"development-only-jwt-secret-do-not-deploy"
#define DEV_JWT_REFRESH_SECRET	"development-only-refresh-secret-do-not-deploy"
#define SECRET_MIN_LEN		32
#define LINE_MAX_LEN		4096

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL, KEY_LOG_LEVEL, KEY_APP_ENV };

struct key {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*def;		/* development default */
	const char	*def_deployed;	/* staging/production; NULL = def */
	long		 min, max;	/* KEY_INT bounds */
	bool		 secret;	/* never printed */
	const char	*description;
};

#define OFF(f)	offsetof(struct bs_config, f)

/* Every key the platform reads; .env.example and brainstorm.conf(5) follow it. */
static const struct key keys[] = {
	{ "APP_ENV", KEY_APP_ENV, OFF(app_env), "development", NULL, 0, 0, false,
	  "development, staging or production" },
	{ "LISTEN", KEY_STRING, OFF(listen), "", NULL, 0, 0, false,
	  "unix:/path or HOST:PORT; empty = inherited socket (spawn-fcgi, systemd)" },
	{ "WORKER_THREADS", KEY_INT, OFF(worker_threads), "8", NULL, 1, 256, false,
	  "request threads per worker process" },
	{ "WORKER_SCHED_BATCH", KEY_BOOL, OFF(worker_sched_batch), "true", NULL, 0, 0, false,
	  "request threads run as SCHED_BATCH: woken, they do not preempt nginx on a busy core" },
	{ "SHUTDOWN_TIMEOUT", KEY_INT, OFF(shutdown_timeout_s), "25", NULL, 0, 3600, false,
	  "seconds in-flight requests get to finish after SIGTERM" },
	{ "DATABASE_URL", KEY_STRING, OFF(database_url), "postgresql:///brainstorm", "", 0, 0, true,
	  "libpq connection string or URI" },
	{ "DB_POOL_MIN", KEY_INT, OFF(db_pool_min), "1", "2", 0, 1000, false,
	  "connections opened at start" },
	{ "DB_POOL_MAX", KEY_INT, OFF(db_pool_max), "8", "10", 1, 1000, false,
	  "most connections per worker process" },
	{ "DB_POOL_TIMEOUT_MS", KEY_INT, OFF(db_pool_timeout_ms), "2000", NULL, 1, 600000, false,
	  "wait for a free connection before answering 503" },
	{ "DB_STATEMENT_TIMEOUT_MS", KEY_INT, OFF(db_statement_timeout_ms), "15000", NULL, 0, 3600000, false,
	  "PostgreSQL statement_timeout (0 = none)" },
	{ "REDIS_URL", KEY_STRING, OFF(redis_url), "", NULL, 0, 0, true,
	  "redis://[:password@]host[:port][/db] or unix:/path; empty = no Redis" },
	{ "REDIS_TIMEOUT_MS", KEY_INT, OFF(redis_timeout_ms), "500", NULL, 1, 60000, false,
	  "Redis connect and command timeout" },
	{ "CLAUDE_API_KEY", KEY_STRING, OFF(claude_api_key), "", NULL, 0, 0, true,
	  "Anthropic API key; empty = the offline demo model" },
	{ "CLAUDE_BASE_URL", KEY_STRING, OFF(claude_base_url), "https://api.anthropic.com", NULL, 0, 0, false,
	  "Messages API base URL" },
	{ "CLAUDE_API_VERSION", KEY_STRING, OFF(claude_api_version), LLM_API_VERSION_CURRENT, NULL, 0, 0, false,
	  "anthropic-version: 2026-10-21 (Authorization: Bearer) or 2023-06-01 (x-api-key)" },
	{ "CLAUDE_MODEL", KEY_STRING, OFF(claude_model), "claude-sonnet-5-5", NULL, 0, 0, false,
	  "default model for the agents (the streamed reply among them)" },
	{ "JWT_SECRET", KEY_STRING, OFF(jwt_secret), DEV_JWT_SECRET, "", 0, 0, true,
	  "HS256 key for access tokens (at least 32 bytes in production)" },
	{ "JWT_REFRESH_SECRET", KEY_STRING, OFF(jwt_refresh_secret), DEV_JWT_REFRESH_SECRET, "", 0, 0, true,
	  "key for refresh-token hashing (at least 32 bytes in production)" },
	{ "LOG_LEVEL", KEY_LOG_LEVEL, OFF(log_level), "debug", "info", 0, 0, false,
	  "debug, info, warn or error" },
	{ "LOG_FILE", KEY_STRING, OFF(log_file), "", NULL, 0, 0, false,
	  "append logs here (reopened on SIGHUP); empty = stderr" },
	{ "MAX_BODY_BYTES", KEY_INT, OFF(max_body_bytes), "65536", NULL, 1024, 16777216, false,
	  "largest request body accepted (413 beyond)" },
	{ "MAX_JSON_DEPTH", KEY_INT, OFF(max_json_depth), "32", NULL, 2, 1000, false,
	  "deepest JSON nesting accepted (400 beyond)" },
	{ "MIGRATIONS_DIR", KEY_STRING, OFF(migrations_dir), PKGDATADIR "/migrations", NULL, 0, 0, false,
	  "directory of NNNN_name.up.sql/.down.sql files" },
	{ "DEBUG_ROUTES", KEY_BOOL, OFF(debug_routes), "false", NULL, 0, 0, false,
	  "enable /api/debug/* test routes (refused in production)" },
	{ "AUTH_RATE_LIMIT_EMAIL", KEY_INT, OFF(auth_rate_limit_email), "10", NULL, 1, 100000, false,
	  "login/register attempts per email per window" },
	{ "AUTH_RATE_LIMIT_IP", KEY_INT, OFF(auth_rate_limit_ip), "50", NULL, 1, 1000000, false,
	  "login/register attempts per client address per window" },
	{ "AUTH_RATE_WINDOW", KEY_INT, OFF(auth_rate_window_s), "300", NULL, 1, 86400, false,
	  "rate-limit window in seconds" },
	{ "SESSIONS_MAX_PER_USER", KEY_INT, OFF(sessions_max_per_user), "100", NULL, 1, 10000, false,
	  "open sessions (signed-in browsers) an account may have; a new sign-in "
	  "past it ends the one used least recently" },
	{ "REFRESH_RATE_LIMIT", KEY_INT, OFF(refresh_rate_limit), "60", NULL, 2, 100000, false,
	  "tokens one session may be given per hour, its sign-in included "
	  "(a refresh past it answers 429)" },
	{ "CLAUDE_MODEL_FAST", KEY_STRING, OFF(claude_model_fast), "claude-haiku-5-5", NULL, 0, 0, false,
	  "model for classification and checks" },
	{ "AGENT_MODELS", KEY_STRING, OFF(agent_models), "", NULL, 0, 0, false,
	  "per-agent models, e.g. recorder=claude-opus-5-5,reviewer=claude-fable-5-2" },
	{ "CLAUDE_TIMEOUT_MS", KEY_INT, OFF(claude_timeout_ms), "60000", NULL, 1000, 600000, false,
	  "one Claude call attempt at most" },
	{ "CLAUDE_MAX_ATTEMPTS", KEY_INT, OFF(claude_max_attempts), "3", NULL, 1, 10, false,
	  "attempts per Claude call (429, 5xx, 529, timeouts retried)" },
	{ "CLAUDE_MODELS_CHECK_INTERVAL", KEY_INT, OFF(claude_models_check_s), "21600", NULL, 1, 43200, false,
	  "seconds between two questions to the Models API about the configured models while the worker runs" },
	{ "TURN_BUDGET_MS", KEY_INT, OFF(turn_budget_ms), "120000", NULL, 1000, 900000, false,
	  "total time for all the model calls of one turn" },
	{ "TURN_STALE_AFTER", KEY_INT, OFF(turn_stale_s), "600", NULL, 10, 86400, false,
	  "seconds after which a document generation of a dead worker is marked failed" },
	{ "AGENT_CACHE_TTL", KEY_INT, OFF(agent_cache_ttl_s), "3600", NULL, 0, 604800, false,
	  "seconds identical deterministic agent calls are answered from Redis (0 = off)" },
	{ "MESSAGE_RATE_LIMIT", KEY_INT, OFF(message_rate_limit), "20", NULL, 1, 100000, false,
	  "messages a user may post per minute" },
	{ "DOCUMENT_RATE_LIMIT", KEY_INT, OFF(document_rate_limit), "10", NULL, 1, 100000, false,
	  "documents a user may ask to generate per minute" },
	{ "IMPORT_MAX_BYTES", KEY_INT, OFF(import_max_bytes), "33554432", NULL, 1024, 268435456, false,
	  "largest project file POST /api/projects/import accepts (413 beyond); at least EXPORT_MAX_BYTES" },
	{ "EXPORT_MAX_BYTES", KEY_INT, OFF(export_max_bytes), "33554432", NULL, 1048576, 67108864, false,
	  "largest project export GET /api/projects/{id}/export writes (409 beyond)" },
	{ "PROJECT_FILE_SLOTS", KEY_INT, OFF(project_file_slots), "2", NULL, 1, 64, false,
	  "project exports and imports one worker process runs at once; the next "
	  "waits up to 5 s for its turn, then answers 503 server_busy" },
	{ "REGISTRATION", KEY_STRING, OFF(registration), "open", NULL, 0, 0, false,
	  "who may register: open (anyone), invite (emails a project owner invited; "
	  "operators create others with brainstormctl user create) or closed" },
	{ "PROJECTS_MAX_PER_USER", KEY_INT, OFF(projects_max_per_user), "1000", NULL, 1, 1000000, false,
	  "projects one account may own, imported ones included (409 beyond)" },
	{ "PROJECT_MEMBERS_MAX", KEY_INT, OFF(project_members_max), "100", NULL, 1, 10000, false,
	  "members and open invitations a project may have (422 beyond)" },
	{ "USER_MONTHLY_TOKEN_LIMIT", KEY_INT, OFF(user_monthly_token_limit), "0", NULL, 0, 1000000000000L, false,
	  "model tokens a user may spend per calendar month (UTC) on turns and "
	  "documents; past it they answer 429 (0 = no limit)" },
	{ "CONTEXT_MESSAGES", KEY_INT, OFF(context_messages), "12", NULL, 0, 200, false,
	  "recent messages given to the agents" },
	{ "CONTEXT_TOKEN_BUDGET", KEY_INT, OFF(context_token_budget), "6000", NULL, 500, 100000, false,
	  "estimated tokens of conversation and board given to each agent" },
	{ "NCHAN_URL", KEY_STRING, OFF(nchan_url), "unix:/run/brainstorm/nchan.sock", NULL, 0, 0, false,
	  "nchan's publisher server: unix:/path/to/socket or http://host:port (a private address)" },
	{ "EVENTS_QUEUE_BYTES", KEY_INT, OFF(events_queue_bytes), "8388608", NULL, 65536, 1073741824, false,
	  "event data a process may hold while nchan has not taken it; past it events are dropped" },
	{ "EVENTS_DELTA_WINDOW_MS", KEY_INT, OFF(events_delta_window_ms), "50", NULL, 0, 1000, false,
	  "a turn's reply text is sent at most this often, merged (0 = every delta at once)" },
	{ "EVENTS_MAX_STREAMS", KEY_INT, OFF(events_max_streams), "32", NULL, 1, 10000, false,
	  "open live-event streams per user; 429 beyond (a turn's own stream ends with the turn)" },
	{ "ENGINE", KEY_BOOL, OFF(engine), "true", NULL, 0, 0, false,
	  "run a turn engine in this worker process (false: only --engine-only processes run turns)" },
	{ "ENGINE_TURNS", KEY_INT, OFF(engine_turns), "512", NULL, 1, 4096, false,
	  "turns one engine runs at once, all on one event loop" },
	{ "ENGINE_IO_THREADS", KEY_INT, OFF(engine_io_threads), "4", NULL, 1, 64, false,
	  "threads of an engine that talk to PostgreSQL and Redis for its turns" },
	{ "TURN_LEASE", KEY_INT, OFF(turn_lease_s), "30", NULL, 5, 3600, false,
	  "seconds an engine's claim on a running turn lasts unless renewed; then another engine takes it" },
	{ "TURN_QUEUE_MAX", KEY_INT, OFF(turn_queue_max), "1000", NULL, 1, 1000000, false,
	  "queued turns and document generations of everybody; 503 with Retry-After beyond" },
	{ "TURN_USER_MAX", KEY_INT, OFF(turn_user_max), "4", NULL, 1, 1000, false,
	  "queued or running turns and document generations of one user; 429 beyond (a project runs one of each at a time: 409)" },
	{ "ITEMS_MAX_PER_PROJECT", KEY_INT, OFF(items_max_per_project), "2000", NULL, 1, 1000000, false,
	  "items one project may hold (409 items_limit beyond; a turn skips its additions)" },
	{ "ITEM_EVENTS_MAX_PER_PROJECT", KEY_INT, OFF(item_events_max_per_project), "20000", NULL, 100, 1000000, false,
	  "item history entries one project keeps, deleted items' included: a change past it removes the oldest" },
	{ "MESSAGES_MAX_PER_PROJECT", KEY_INT, OFF(messages_max_per_project), "10000", NULL, 10, 1000000, false,
	  "messages one project's conversation may hold, replies included (409 messages_limit beyond)" },
	{ "DOCUMENT_VERSIONS_MAX", KEY_INT, OFF(document_versions_max), "100", NULL, 1, 10000, false,
	  "versions kept of one document: a new one removes the oldest past it" },
	{ "DOCUMENT_GENERATIONS_KEPT", KEY_INT, OFF(document_generations_kept), "100", NULL, 1, 100000, false,
	  "document generations one project keeps the record of, the one being queued included: queueing one removes the oldest finished ones past it" },
	{ "ITEM_RATE_LIMIT", KEY_INT, OFF(item_rate_limit), "600", NULL, 1, 1000000, false,
	  "items a user may create, change or delete per minute (429 beyond)" },
	{ "CONTEXT_ITEMS_MAX", KEY_INT, OFF(context_items_max), "200", NULL, 1, 100000, false,
	  "board items a turn loads for the agents: decided first, then the most recently changed" },
	{ "SENTRY_DSN", KEY_STRING, OFF(sentry_dsn), "", NULL, 0, 0, true,
	  "https://PUBLIC_KEY@HOST/PROJECT_ID: 5xx answers and crashes reported there; empty = off" },
	{ "SENTRY_ENVIRONMENT", KEY_STRING, OFF(sentry_environment), "", NULL, 0, 0, false,
	  "the environment of error reports; empty = APP_ENV" },
	{ "SENTRY_RELEASE", KEY_STRING, OFF(sentry_release), "", NULL, 0, 0, false,
	  "the release of error reports; empty = brainstorm@VERSION" },
	{ "SENTRY_CRASH_DIR", KEY_STRING, OFF(sentry_crash_dir), "/var/lib/brainstorm/crash", NULL, 0, 0, false,
	  "where a crash leaves its report for the next start to send; empty = none" },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const char *const env_names[] = { "development", "staging", "production" };

/* Placeholders people paste into examples; never acceptable as a secret. */
static const char *const weak_secrets[] = {
	DEV_JWT_SECRET, DEV_JWT_REFRESH_SECRET, "change-me", "changeme",
	"secret", "password", "your-secret-here", "jwt-secret",
};

static void
problem_add(struct config_problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem_add(struct config_problems *p, const char *fmt, ...)
{
	va_list	 ap;

	if (p->count >= CONFIG_PROBLEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(p->text[p->count++], CONFIG_PROBLEM_LEN, fmt, ap);
	va_end(ap);
}

const char *
config_app_env_name(enum app_env env)
{
	if ((unsigned)env > APP_ENV_PRODUCTION)
		return "development";
	return env_names[env];
}

const char *
config_default_path(void)
{
	const char	*env = getenv("BRAINSTORM_CONFIG");

	return env != NULL && *env != '\0' ? env :
	    SYSCONFDIR "/brainstorm/brainstorm.conf";
}

size_t
config_keys(const struct config_key_info **out)
{
	static struct config_key_info	 info[NKEYS];
	size_t				 i;

	for (i = 0; i < NKEYS; i++) {
		info[i].name = keys[i].name;
		info[i].description = keys[i].description;
		info[i].secret = keys[i].secret;
	}
	*out = info;
	return NKEYS;
}

static const struct key *
key_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bs_err
app_env_parse(const char *s, enum app_env *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
		if (strcasecmp(s, env_names[i]) == 0) {
			*out = (enum app_env)i;
			return BS_OK;
		}
	}
	return BS_ERR_INVALID;
}

static bs_err
bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return BS_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return BS_OK;
		}
	}
	return BS_ERR_INVALID;
}

/* Bounded integer parsing: the whole string, in range, no overflow. */
static bs_err
long_parse(const char *s, long min, long max, long *out)
{
	const char	*errstr;
	long		 v;

	v = (long)bs_strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		return BS_ERR_INVALID;
	*out = v;
	return BS_OK;
}

/* Store value into the field of k; where names the source for problems. */
static void
key_set(struct bs_config *cfg, const struct key *k, const char *value,
    const char *where, struct config_problems *p)
{
	char	*field = (char *)cfg + k->offset;
	char	*copy;

	switch (k->type) {
	case KEY_STRING:
		if ((copy = strdup(value)) == NULL) {
			problem_add(p, "%s: out of memory", k->name);
			return;
		}
		free(*(char **)(void *)field);
		*(char **)(void *)field = copy;
		return;
	case KEY_INT:
		if (long_parse(value, k->min, k->max, (long *)(void *)field) != BS_OK)
			problem_add(p, "%s%s: must be a whole number from %ld to %ld",
			    where, k->name, k->min, k->max);
		return;
	case KEY_BOOL:
		if (bool_parse(value, (bool *)(void *)field) != BS_OK)
			problem_add(p, "%s%s: must be true or false", where, k->name);
		return;
	case KEY_LOG_LEVEL:
		if (log_level_parse(value, (enum log_level *)(void *)field) != BS_OK)
			problem_add(p, "%s%s: must be debug, info, warn or error",
			    where, k->name);
		return;
	case KEY_APP_ENV:
		if (app_env_parse(value, (enum app_env *)(void *)field) != BS_OK)
			problem_add(p, "%s%s: must be development, staging or production",
			    where, k->name);
		return;
	}
}

static char *
trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Read "KEY = value" lines. Values may be double-quoted. With only_env, the
 * pass looks for APP_ENV alone (its value chooses the other defaults).
 */
static bs_err
config_read_file(struct bs_config *cfg, const char *path, bool required,
    bool only_env, struct config_problems *p)
{
	FILE		*fp;
	char		 line[LINE_MAX_LEN], where[64];
	char		*k, *v, *eq;
	const struct key *key;
	size_t		 lineno = 0, vlen;
	bs_err		 e = BS_OK;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !required)
			return BS_OK;
		if (!only_env)
			problem_add(p, "%s: %s", path, strerror(errno));
		return BS_ERR_IO;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		snprintf(where, sizeof(where), "line %zu: ", lineno);
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			if (!only_env)
				problem_add(p, "%s: %sline too long", path, where);
			e = BS_ERR_CONFIG;
			break;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			if (!only_env)
				problem_add(p, "%s: %sexpected KEY = value", path, where);
			continue;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		vlen = strlen(v);
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
			v[vlen - 1] = '\0';
			v++;
		}
		if ((key = key_find(k)) == NULL) {
			if (!only_env)
				problem_add(p, "%s: %sunknown key %s", path, where, k);
			continue;
		}
		if (only_env != (key->type == KEY_APP_ENV))
			continue;
		key_set(cfg, key, v, where, p);
	}
	fclose(fp);
	return e;
}

static bool
secret_weak(const char *s, const char **why)
{
	size_t	 i, distinct = 0;
	bool	 seen[256] = { false };

	if (s == NULL || *s == '\0') {
		*why = "is missing";
		return true;
	}
	if (strlen(s) < SECRET_MIN_LEN) {
		*why = "is shorter than 32 bytes";
		return true;
	}
	for (i = 0; i < sizeof(weak_secrets) / sizeof(weak_secrets[0]); i++) {
		if (strcasecmp(s, weak_secrets[i]) == 0) {
			*why = "is a known placeholder";
			return true;
		}
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (!seen[(unsigned char)s[i]]) {
			seen[(unsigned char)s[i]] = true;
			distinct++;
		}
	}
	if (distinct < 10) {
		*why = "has too little variety (fewer than 10 distinct characters)";
		return true;
	}
	return false;
}

static void
config_validate(const struct bs_config *cfg, struct config_problems *p)
{
	const char	*why;
	char		*copy, why_buf[128];

	if (cfg->db_pool_min > cfg->db_pool_max)
		problem_add(p, "DB_POOL_MIN (%ld) is larger than DB_POOL_MAX (%ld)",
		    cfg->db_pool_min, cfg->db_pool_max);
	if (strncmp(cfg->listen, "unix:", 5) != 0 && *cfg->listen != '\0' &&
	    strchr(cfg->listen, ':') == NULL)
		problem_add(p, "LISTEN: expected unix:/path or HOST:PORT");
	if (*cfg->redis_url != '\0' && strncmp(cfg->redis_url, "redis://", 8) != 0 &&
	    strncmp(cfg->redis_url, "unix:/", 6) != 0)
		problem_add(p, "REDIS_URL: expected redis://[:password@]host[:port][/db] "
		    "or unix:/path");
	if (*cfg->agent_models != '\0') {
		if ((copy = strdup(cfg->agent_models)) == NULL ||
		    agent_models_parse(copy, NULL, why_buf, sizeof(why_buf)) != BS_OK)
			problem_add(p, "AGENT_MODELS: %s; expected agent=model pairs "
			    "separated by commas, e.g. recorder=claude-opus-5-5",
			    copy != NULL ? why_buf : "out of memory");
		free(copy);
	}
	if (strcmp(cfg->registration, "open") != 0 &&
	    strcmp(cfg->registration, "invite") != 0 &&
	    strcmp(cfg->registration, "closed") != 0)
		problem_add(p, "REGISTRATION: must be open, invite or closed");
	if (strcmp(cfg->claude_api_version, LLM_API_VERSION_CURRENT) != 0 &&
	    strcmp(cfg->claude_api_version, LLM_API_VERSION_LEGACY) != 0)
		problem_add(p, "CLAUDE_API_VERSION: expected %s or %s",
		    LLM_API_VERSION_CURRENT, LLM_API_VERSION_LEGACY);
	/* What the product exports, it imports again. */
	if (cfg->import_max_bytes < cfg->export_max_bytes)
		problem_add(p, "IMPORT_MAX_BYTES (%ld) must be at least "
		    "EXPORT_MAX_BYTES (%ld), or a project's export could not be "
		    "imported again", cfg->import_max_bytes,
		    cfg->export_max_bytes);
	/* A turn still inside its budget must never look abandoned. */
	if (cfg->turn_budget_ms / 1000 + TURN_SAVE_MARGIN_S >= cfg->turn_stale_s)
		problem_add(p, "TURN_STALE_AFTER (%ld s) must exceed TURN_BUDGET_MS "
		    "(%ld ms) by more than %d s, or running turns are failed as "
		    "abandoned", cfg->turn_stale_s, cfg->turn_budget_ms,
		    TURN_SAVE_MARGIN_S);
	if (report_config_check(cfg, why_buf, sizeof(why_buf)) != BS_OK)
		problem_add(p, "%s", why_buf);
	/* Staging runs with real data and real keys: it refuses what production does. */
	if (cfg->app_env == APP_ENV_DEVELOPMENT)
		return;
	if (*cfg->database_url == '\0')
		problem_add(p, "DATABASE_URL is required outside development");
	if (secret_weak(cfg->jwt_secret, &why))
		problem_add(p, "JWT_SECRET %s; staging and production need a random "
		    "secret of at least 32 bytes (for example: openssl rand -base64 48)", why);
	if (secret_weak(cfg->jwt_refresh_secret, &why))
		problem_add(p, "JWT_REFRESH_SECRET %s; staging and production need "
		    "a random secret of at least 32 bytes", why);
	if (cfg->jwt_secret != NULL && cfg->jwt_refresh_secret != NULL &&
	    *cfg->jwt_secret != '\0' &&
	    strcmp(cfg->jwt_secret, cfg->jwt_refresh_secret) == 0)
		problem_add(p, "JWT_SECRET and JWT_REFRESH_SECRET must differ");
	if (cfg->debug_routes)
		problem_add(p, "DEBUG_ROUTES cannot be enabled outside development");
}

bs_err
config_load(struct bs_config *cfg, const char *path, bool required,
    struct config_problems *problems)
{
	struct config_problems	 scratch;
	const char		*v;
	size_t			 i;

	memset(cfg, 0, sizeof(*cfg));
	memset(problems, 0, sizeof(*problems));
	memset(&scratch, 0, sizeof(scratch));

	/* APP_ENV first: it chooses the defaults of every other key. */
	if (path != NULL)
		config_read_file(cfg, path, required, true, &scratch);
	if ((v = getenv("APP_ENV")) != NULL && app_env_parse(v, &cfg->app_env) != BS_OK)
		problem_add(problems, "APP_ENV (environment): must be development, "
		    "staging or production");

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == KEY_APP_ENV)
			continue;
		key_set(cfg, &keys[i], cfg->app_env != APP_ENV_DEVELOPMENT &&
		    keys[i].def_deployed != NULL ? keys[i].def_deployed :
		    keys[i].def, "default ", problems);
	}
	if (path != NULL)
		config_read_file(cfg, path, required, false, problems);
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == KEY_APP_ENV)
			continue;
		if ((v = getenv(keys[i].name)) != NULL)
			key_set(cfg, &keys[i], v, "(environment) ", problems);
	}
	if (problems->count == 0)
		config_validate(cfg, problems);
	return problems->count == 0 ? BS_OK : BS_ERR_CONFIG;
}

void
config_free(struct bs_config *cfg)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type != KEY_STRING)
			continue;
		free(*(char **)(void *)((char *)cfg + keys[i].offset));
		*(char **)(void *)((char *)cfg + keys[i].offset) = NULL;
	}
}
