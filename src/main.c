/* brainstorm-fcgi: the FastCGI worker. Start-up and shutdown only. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brainstorm/app.h"
#include "brainstorm/auth.h"
#include "brainstorm/config.h"
#include "brainstorm/events.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/migrate.h"
#include "brainstorm/server.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: brainstorm-fcgi [--config FILE] [--listen ADDRESS] [--threads N]\n"
	    "                       [--check-config] [--help] [--version]\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "  -l, --listen ADDR   unix:/path or HOST:PORT (default: the socket on\n"
	    "                      fd 0 from spawn-fcgi, or systemd's LISTEN_FDS)\n"
	    "  -t, --threads N     request threads (WORKER_THREADS)\n"
	    "  -T, --check-config  load and validate the configuration, then exit\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       the version\n", config_default_path());
}

/* Every Claude call counts in /metrics, whatever agent made it. */
static void
claude_observe(void *arg, const struct llm_call *call)
{
	(void)arg;
	metrics_claude_request(call->req->model, llm_error_kind_name(call->kind),
	    call->res.usage.input_tokens, call->res.usage.output_tokens,
	    call->res.usage.cache_read_input_tokens,
	    call->res.usage.cache_creation_input_tokens);
}

static int
problems_print(const struct config_problems *p)
{
	size_t	 i;

	for (i = 0; i < p->count; i++)
		fprintf(stderr, "brainstorm-fcgi: %s\n", p->text[i]);
	return p->count > 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "check-config", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct bs_config	 cfg;
	struct config_problems	 problems;
	struct migration_set	 migrations = { 0 };
	struct db_pool_options	 dbopt;
	struct llm_client_options llmopt = { 0 };
	struct app		 app = { 0 };
	const char		*path = NULL, *listen = NULL;
	char			 err[512] = "", *end;
	long			 threads = 0;
	int			 ch, fd = -1, status = 1;
	bool			 check_only = false;
	bs_err			 e;

	while ((ch = getopt_long(argc, argv, "c:l:t:ThV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 't':
			errno = 0;
			threads = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || threads < 1 || threads > 256) {
				fprintf(stderr, "brainstorm-fcgi: --threads takes 1 to 256\n");
				return 2;
			}
			break;
		case 'T':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("brainstorm-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	e = config_load(&cfg, path != NULL ? path : config_default_path(),
	    path != NULL, &problems);
	if (listen != NULL) {
		free(cfg.listen);
		cfg.listen = strdup(listen);
	}
	if (threads > 0)
		cfg.worker_threads = threads;
	if (e == BS_OK && migrate_load_dir(cfg.migrations_dir, &migrations, err,
	    sizeof(err)) != BS_OK) {
		fprintf(stderr, "brainstorm-fcgi: MIGRATIONS_DIR: %s\n", err);
		e = BS_ERR_CONFIG;
	}
	if (problems_print(&problems) || e != BS_OK)
		goto out;
	if (check_only) {
		printf("configuration OK (APP_ENV=%s)\n",
		    config_app_env_name(cfg.app_env));
		status = 0;
		goto out;
	}

	if (log_open(cfg.log_level, cfg.log_file) != BS_OK) {
		fprintf(stderr, "brainstorm-fcgi: cannot open LOG_FILE %s\n",
		    cfg.log_file);
		goto out;
	}
	metrics_init();
	/* Before any thread: curl_global_init is not thread-safe. */
	if (auth_init() != BS_OK || llm_global_init() != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "libsodium or libcurl could not be "
		    "initialised");
		goto out;
	}
	app.cfg = &cfg;
	app.started = time(NULL);
	app.limits.max_body_bytes = (size_t)cfg.max_body_bytes;
	app.limits.max_json_depth = (int)cfg.max_json_depth;
	app.migrations_latest = migrate_set_latest(&migrations);

	dbopt.conninfo = cfg.database_url;
	dbopt.min = (int)cfg.db_pool_min;
	dbopt.max = (int)cfg.db_pool_max;
	dbopt.checkout_timeout_ms = (int)cfg.db_pool_timeout_ms;
	dbopt.statement_timeout_ms = (int)cfg.db_statement_timeout_ms;
	if (db_pool_create(&dbopt, &app.db) != BS_OK ||
	    cache_create(cfg.redis_url, (int)cfg.redis_timeout_ms, &app.cache) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "cannot set up the database pool or the "
		    "cache (check DATABASE_URL and REDIS_URL)");
		goto out;
	}
	llmopt.base_url = cfg.claude_base_url;
	llmopt.api_key = cfg.claude_api_key[0] != '\0' ? cfg.claude_api_key :
	    "offline-demo";
	llmopt.per_call_timeout_ms = cfg.claude_timeout_ms;
	llmopt.max_attempts = (int)cfg.claude_max_attempts;
	llmopt.observe = claude_observe;
	if (events_create(app.cache, &app.events) != BS_OK ||
	    llm_client_new(&llmopt, &app.llm, err, sizeof(err)) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "cannot set up the Claude client: %s "
		    "(check CLAUDE_BASE_URL)", err);
		goto out;
	}
	if (server_listen_socket(cfg.listen, &fd, err, sizeof(err)) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "%s", err);
		fprintf(stderr, "brainstorm-fcgi: %s\n", err);
		goto out;
	}
	log_msgf(LOG_LEVEL_INFO, "brainstorm-fcgi %s starting (APP_ENV=%s, "
	    "schema version %d)", PACKAGE_VERSION, config_app_env_name(cfg.app_env),
	    app.migrations_latest);
	e = server_run(&app, fd, (int)cfg.worker_threads,
	    (int)cfg.shutdown_timeout_s);
	if (e == BS_ERR_TIMEOUT)
		_exit(0);	/* threads still run: nothing may be freed under them */
	if (e == BS_OK)
		status = 0;
out:
	llm_client_free(app.llm);
	events_destroy(app.events);
	cache_destroy(app.cache);
	db_pool_destroy(app.db);
	migrate_set_free(&migrations);
	config_free(&cfg);
	llm_global_cleanup();
	log_close();
	return status;
}
