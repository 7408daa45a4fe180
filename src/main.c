/* brainstorm-fcgi: the FastCGI worker. Start-up and shutdown only. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brainstorm/agent.h"
#include "brainstorm/app.h"
#include "brainstorm/auth.h"
#include "brainstorm/config.h"
#include "brainstorm/engine.h"
#include "brainstorm/events.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/migrate.h"
#include "brainstorm/model_watch.h"
#include "brainstorm/report.h"
#include "brainstorm/server.h"
#include "brainstorm/validate.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: brainstorm-fcgi [--config FILE] [--listen ADDRESS] [--threads N]\n"
	    "                       [--check-config [--online]] [--engine-only]\n"
	    "                       [--help] [--version]\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "  -l, --listen ADDR   unix:/path or HOST:PORT (default: the socket on\n"
	    "                      fd 0 from spawn-fcgi, or systemd's LISTEN_FDS)\n"
	    "  -t, --threads N     request threads (WORKER_THREADS)\n"
	    "  -T, --check-config  load and validate the configuration, then exit\n"
	    "  -O, --online        with --check-config: also ask the Claude Models\n"
	    "                      API about every configured model\n"
	    "  -E, --engine-only   run turns only (a turn engine); with --listen,\n"
	    "                      FastCGI there for /api/health, /api/ready and\n"
	    "                      /metrics only (LISTEN is not used)\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       the version\n", config_default_path());
}

/*
 * Every Claude call counts in /metrics, whatever agent made it. arg is
 * where the model watch will be: a 404 (a model retired since the watch
 * last asked) makes it ask again within seconds.
 */
static void
claude_observe(void *arg, const struct llm_call *call)
{
	struct model_watch *const *watch = arg;

	if (call->kind == LLM_ERR_NOT_FOUND && watch != NULL)
		model_watch_poke(*watch);
	metrics_claude_request(call->req->model, llm_error_kind_name(call->kind),
	    call->res.usage.input_tokens, call->res.usage.output_tokens,
	    call->res.usage.cache_read_input_tokens,
	    call->res.usage.cache_creation_input_tokens);
	if (call->held_ms > 0)
		metrics_claude_held(call->req->model,
		    llm_error_kind_name(call->kind), call->held_ms / 1000.0);
}

/* What the model check found, and where it goes. */
struct model_report {
	bool	 to_stderr;	/* --check-config; else the log */
	int	 refused, unreachable;
};

static void
model_problem(void *arg, enum plan_problem kind, const char *text)
{
	struct model_report	*r = arg;

	if (kind == PLAN_REFUSED)
		r->refused++;
	else if (kind == PLAN_UNREACHABLE)
		r->unreachable++;
	if (r->to_stderr)
		fprintf(stderr, "brainstorm-fcgi: %s\n", text);
	else
		log_msgf(kind == PLAN_REFUSED ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN,
		    "%s", text);
}

/*
 * The Claude client and each agent's plan from what the Models API says
 * of the configured models (docs/CLAUDE.md). An unknown or retired model
 * refuses the start outside development; online (--check-config --online)
 * an API that cannot be asked fails too.
 */
static bs_err
claude_setup(const struct bs_config *cfg, bool online, struct model_report *r,
    struct model_watch **watch, struct llm_client **client,
    struct agent_plans *plans)
{
	struct llm_client_options opt = { 0 };
	char			 err[512];
	bool			 refuse = false;
	bs_err			 e;

	opt.base_url = cfg->claude_base_url;
	opt.api_key = cfg->claude_api_key[0] != '\0' ? cfg->claude_api_key :
	    "offline-demo";
	opt.api_version = cfg->claude_api_version;
	opt.per_call_timeout_ms = cfg->claude_timeout_ms;
	opt.max_attempts = (int)cfg->claude_max_attempts;
	opt.observe = claude_observe;
	opt.observe_arg = watch;
	if ((e = llm_client_new(&opt, client, err, sizeof(err))) != BS_OK) {
		model_problem(r, PLAN_REFUSED, err);
		return e;
	}
	if ((e = agent_plans_make(cfg, *client, plans, &refuse, model_problem,
	    r)) != BS_OK)
		return e;
	if (refuse && (online || cfg->app_env != APP_ENV_DEVELOPMENT))
		return BS_ERR_CONFIG;
	if (online && r->unreachable > 0)
		return BS_ERR_IO;
	return BS_OK;
}

static int
problems_print(const struct config_problems *p)
{
	size_t	 i;

	for (i = 0; i < p->count; i++)
		fprintf(stderr, "brainstorm-fcgi: %s\n", p->text[i]);
	return p->count > 0;
}

/*
 * Every Claude call an engine runs holds a connection, and ENGINE_TURNS
 * turns make hundreds of them: the soft limit on open files goes up to
 * the hard one (which the operator sets: LimitNOFILE in the unit).
 */
static void
files_limit_raise(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_msgf(LOG_LEVEL_WARN, "the open files limit could not be raised "
		    "to %llu", (unsigned long long)rl.rlim_max);
}

/*
 * A process that only runs turns: the engine, until SIGTERM or SIGINT
 * (SIGHUP reopens the log); then the turns held get SHUTDOWN_TIMEOUT.
 * With listen (--listen), it also answers FastCGI there, health,
 * readiness and metrics only (api_ops_routes), on OPS_THREADS threads.
 */
#define OPS_THREADS	2

static bs_err
engine_only_run(struct app *app, const char *listen)
{
	sigset_t	 set;
	char		 err[512];
	int		 sig, fd = -1;
	bs_err		 e = BS_OK;

	if (listen != NULL && server_listen_socket(listen, &fd, err,
	    sizeof(err)) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "%s", err);
		fprintf(stderr, "brainstorm-fcgi: %s\n", err);
		return BS_ERR_CONFIG;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (engine_start(app, &app->engine) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "the turn engine could not start");
		return BS_ERR_INTERNAL;
	}
	log_msgf(LOG_LEVEL_INFO, "brainstorm-fcgi %s: turn engine only "
	    "(APP_ENV=%s)%s%s", PACKAGE_VERSION,
	    config_app_env_name(app->cfg->app_env), listen != NULL ?
	    "; health, readiness and metrics on " : "", listen != NULL ?
	    listen : "");
	if (listen != NULL) {
		/* server_run takes the stop signals and drains its requests. */
		app->ops_only = true;
		e = server_run(app, fd, OPS_THREADS,
		    (int)app->cfg->shutdown_timeout_s);
	} else {
		for (;;) {
			if ((sig = server_signal_wait(&set)) != SIGHUP)
				break;
			if (log_reopen() != BS_OK)
				log_msgf(LOG_LEVEL_ERROR, "log reopen failed");
		}
	}
	log_msgf(LOG_LEVEL_INFO, "stopping the turn engine (up to %ld s)",
	    app->cfg->shutdown_timeout_s);
	engine_stop(app->engine, (int)app->cfg->shutdown_timeout_s * 1000);
	app->engine = NULL;
	if (e == BS_ERR_TIMEOUT)
		_exit(0);	/* a request thread still runs: free nothing */
	return e;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "check-config", no_argument, NULL, 'T' },
		{ "online", no_argument, NULL, 'O' },
		{ "engine-only", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct bs_config	 cfg;
	struct config_problems	 problems;
	struct migration_set	 migrations = { 0 };
	struct db_pool_options	 dbopt;
	struct agent_plans	 plans = { 0 };
	struct model_watch	*watch = NULL;
	struct model_report	 report = { 0 };
	struct app		 app = { 0 };
	const char		*path = NULL, *listen = NULL;
	char			 err[512] = "";
	const char		*errstr;
	long			 threads = 0;
	int			 ch, fd = -1, status = 1;
	bool			 check_only = false, online = false;
	bool			 engine_only = false;
	bs_err			 e;

	server_malloc_setup();
	while ((ch = getopt_long(argc, argv, "c:l:t:TOEhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 't':
			threads = (long)bs_strtonum(optarg, 1, 256, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "brainstorm-fcgi: --threads takes 1 to 256\n");
				return 2;
			}
			break;
		case 'T':
			check_only = true;
			break;
		case 'O':
			online = true;
			break;
		case 'E':
			engine_only = true;
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
	if (optind != argc || (online && !check_only)) {
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
	if (check_only && online) {
		report.to_stderr = true;
		if (llm_global_init() != BS_OK || claude_setup(&cfg, true, &report,
		    NULL, &app.llm, &plans) != BS_OK)
			goto out;
		printf("configuration OK (APP_ENV=%s); every model is available "
		    "at %s\n", config_app_env_name(cfg.app_env),
		    cfg.claude_base_url);
		status = 0;
		goto out;
	}
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
	files_limit_raise();
	/* Before any thread: curl_global_init is not thread-safe. */
	if (auth_init() != BS_OK || llm_global_init() != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "libsodium or libcurl could not be "
		    "initialised");
		goto out;
	}
	app.cfg = &cfg;
	slots_init(&app.file_slots, cfg.project_file_slots);
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
	if (events_create(cfg.nchan_url, (size_t)cfg.events_queue_bytes,
	    &app.events) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "cannot set up the live events (check "
		    "NCHAN_URL: unix:/path or http://host:port)");
		goto out;
	}
	events_delta_window(app.events, cfg.events_delta_window_ms);
	if (claude_setup(&cfg, false, &report, &watch, &app.llm, &plans) !=
	    BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "the Claude models are not usable "
		    "(check CLAUDE_BASE_URL, CLAUDE_MODEL, CLAUDE_MODEL_FAST and "
		    "AGENT_MODELS); not starting");
		fprintf(stderr, "brainstorm-fcgi: the Claude models are not "
		    "usable; see the log\n");
		goto out;
	}
	app.plans = &plans;
	if (model_watch_start(app.llm, &plans, cfg.claude_models_check_s,
	    &watch) != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "the configured models will not be "
		    "asked about again while this worker runs");
	if (engine_only) {
		status = engine_only_run(&app, listen) == BS_OK ? 0 : 1;
		goto out;
	}
	if (server_listen_socket(cfg.listen, &fd, err, sizeof(err)) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "%s", err);
		fprintf(stderr, "brainstorm-fcgi: %s\n", err);
		goto out;
	}
	/* Before server_run: the sender thread blocks the stop signals. */
	if (report_start(&cfg, err, sizeof(err)) != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "error reports are off: %s", err);
	if (cfg.engine && engine_start(&app, &app.engine) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "the turn engine could not start");
		goto out;
	}
	log_msgf(LOG_LEVEL_INFO, "brainstorm-fcgi %s starting (APP_ENV=%s, "
	    "schema version %d)", PACKAGE_VERSION, config_app_env_name(cfg.app_env),
	    app.migrations_latest);
	e = server_run(&app, fd, (int)cfg.worker_threads,
	    (int)cfg.shutdown_timeout_s);
	if (e == BS_ERR_TIMEOUT)
		_exit(0);	/* threads still run: nothing may be freed under them */
	/* Running turns get the same time to end as requests had. */
	engine_stop(app.engine, (int)cfg.shutdown_timeout_s * 1000);
	app.engine = NULL;
	if (e == BS_OK)
		status = 0;
out:
	model_watch_stop(watch);
	agent_plans_free(&plans);
	llm_client_free(app.llm);
	events_destroy(app.events);
	cache_destroy(app.cache);
	db_pool_destroy(app.db);
	migrate_set_free(&migrations);
	if (app.cfg != NULL)
		slots_destroy(&app.file_slots);
	config_free(&cfg);
	report_stop();		/* sends what is queued; before curl goes */
	llm_global_cleanup();
	log_close();
	return status;
}
