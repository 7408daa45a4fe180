#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brainstorm/agent.h"
#include "brainstorm/config.h"

static struct bs_config		 cfg;
static struct config_problems	 problems;
static char			 path[64];

static void
setup(void)
{
	const struct config_key_info	*keys;
	size_t				 i, n = config_keys(&keys);

	/* The environment of the test run must not leak in. */
	for (i = 0; i < n; i++)
		unsetenv(keys[i].name);
	unsetenv("APP_ENV");
	strcpy(path, "/tmp/check_config.XXXXXX");
	ck_assert_int_ge(mkstemp(path), 0);
	memset(&cfg, 0, sizeof(cfg));
}

static void
teardown(void)
{
	config_free(&cfg);
	unlink(path);
}

static void
file_write(const char *text)
{
	FILE	*fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
}

static bool
problem_mentions(const char *needle)
{
	size_t	 i;

	for (i = 0; i < problems.count; i++)
		if (strstr(problems.text[i], needle) != NULL)
			return true;
	return false;
}

START_TEST(test_development_defaults)
{
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/brainstorm.conf", false,
	    &problems), BS_OK);
	ck_assert_int_eq(cfg.app_env, APP_ENV_DEVELOPMENT);
	ck_assert_int_eq(cfg.worker_threads, 8);
	ck_assert_int_eq(cfg.max_body_bytes, 65536);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_DEBUG);
	ck_assert_str_eq(cfg.redis_url, "");
	ck_assert(!cfg.debug_routes);
}
END_TEST

START_TEST(test_missing_required_file)
{
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/brainstorm.conf", true,
	    &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("/nonexistent/brainstorm.conf"));
}
END_TEST

START_TEST(test_file_values_and_quotes)
{
	file_write("# comment\n\n  WORKER_THREADS = 4  \nREDIS_URL=\"redis://h:1/2\"\n"
	    "LOG_LEVEL = warn\nDEBUG_ROUTES = yes\n");
	ck_assert_int_eq(config_load(&cfg, path, true, &problems), BS_OK);
	ck_assert_int_eq(cfg.worker_threads, 4);
	ck_assert_str_eq(cfg.redis_url, "redis://h:1/2");
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_WARN);
	ck_assert(cfg.debug_routes);
}
END_TEST

START_TEST(test_environment_overrides_file)
{
	file_write("WORKER_THREADS = 4\nLOG_LEVEL = warn\n");
	setenv("WORKER_THREADS", "16", 1);
	ck_assert_int_eq(config_load(&cfg, path, true, &problems), BS_OK);
	ck_assert_int_eq(cfg.worker_threads, 16);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_WARN);
	unsetenv("WORKER_THREADS");
}
END_TEST

START_TEST(test_bad_values_reported_all)
{
	file_write("WORKER_THREADS = 0\nDB_POOL_MAX = lots\nNO_SUCH_KEY = 1\n"
	    "just words\nLOG_LEVEL = loud\n");
	setenv("DEBUG_ROUTES", "maybe", 1);
	ck_assert_int_eq(config_load(&cfg, path, true, &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("line 1: WORKER_THREADS"));
	ck_assert(problem_mentions("line 2: DB_POOL_MAX"));
	ck_assert(problem_mentions("line 3: unknown key NO_SUCH_KEY"));
	ck_assert(problem_mentions("line 4: expected KEY = value"));
	ck_assert(problem_mentions("LOG_LEVEL"));
	ck_assert(problem_mentions("(environment) DEBUG_ROUTES"));
	unsetenv("DEBUG_ROUTES");
}
END_TEST

START_TEST(test_integer_overflow_refused)
{
	setenv("MAX_BODY_BYTES", "99999999999999999999999", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("MAX_BODY_BYTES"));
	unsetenv("MAX_BODY_BYTES");
}
END_TEST

START_TEST(test_pool_min_over_max)
{
	setenv("DB_POOL_MIN", "9", 1);
	setenv("DB_POOL_MAX", "3", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("DB_POOL_MIN"));
	unsetenv("DB_POOL_MIN");
	unsetenv("DB_POOL_MAX");
}
END_TEST

START_TEST(test_production_refuses_weak_secrets)
{
	static const char *const weak[] = { "", "short", "change-me",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "development-only-jwt-secret-do-not-deploy" };
	size_t	 i;

	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		config_free(&cfg);
		setenv("APP_ENV", "production", 1);
		setenv("DATABASE_URL", "postgresql://db/brainstorm", 1);
		setenv("JWT_SECRET", weak[i], 1);
		setenv("JWT_REFRESH_SECRET", "Zq8v3LmN0pRt6YwK2sXe9HbJ4cUf7GiA1dOk", 1);
		ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
		ck_assert_msg(problem_mentions("JWT_SECRET"), "accepted '%s'", weak[i]);
	}
	unsetenv("APP_ENV");
	unsetenv("DATABASE_URL");
	unsetenv("JWT_SECRET");
	unsetenv("JWT_REFRESH_SECRET");
}
END_TEST

START_TEST(test_production_accepts_strong_config)
{
	file_write("APP_ENV = production\nDATABASE_URL = postgresql://db/bs\n");
	setenv("JWT_SECRET", "Hk2V9q_Lm3xT7pWz0Rb5Nc8Yf1Ds4Ga6Je", 1);
	setenv("JWT_REFRESH_SECRET", "Zq8v3LmN0pRt6YwK2sXe9HbJ4cUf7GiA1dOk", 1);
	ck_assert_int_eq(config_load(&cfg, path, true, &problems), BS_OK);
	ck_assert_int_eq(cfg.app_env, APP_ENV_PRODUCTION);
	/* Deployed defaults. */
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(cfg.db_pool_min, 2);
	unsetenv("JWT_SECRET");
	unsetenv("JWT_REFRESH_SECRET");
}
END_TEST

START_TEST(test_production_refuses_debug_routes_and_same_secrets)
{
	setenv("APP_ENV", "production", 1);
	setenv("DATABASE_URL", "postgresql://db/brainstorm", 1);
	setenv("JWT_SECRET", "Zq8v3LmN0pRt6YwK2sXe9HbJ4cUf7GiA1dOk", 1);
	setenv("JWT_REFRESH_SECRET", "Zq8v3LmN0pRt6YwK2sXe9HbJ4cUf7GiA1dOk", 1);
	setenv("DEBUG_ROUTES", "true", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("must differ"));
	ck_assert(problem_mentions("DEBUG_ROUTES"));
	unsetenv("APP_ENV");
	unsetenv("DATABASE_URL");
	unsetenv("JWT_SECRET");
	unsetenv("JWT_REFRESH_SECRET");
	unsetenv("DEBUG_ROUTES");
}
END_TEST

START_TEST(test_staging_refuses_like_production)
{
	setenv("APP_ENV", "staging", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("DATABASE_URL"));
	ck_assert(problem_mentions("JWT_SECRET"));
	unsetenv("APP_ENV");
}
END_TEST

START_TEST(test_redis_url_format)
{
	setenv("REDIS_URL", "localhost:6379", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_ERR_CONFIG);
	ck_assert(problem_mentions("REDIS_URL"));
	config_free(&cfg);
	setenv("REDIS_URL", "redis://:pw@127.0.0.1:6379/1", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	unsetenv("REDIS_URL");
}
END_TEST

START_TEST(test_agent_models)
{
	static const char *const bad[] = { "recorder", "recorder=", "=model",
	    "recorder=a b", "Recorder=x", "recorder=x,", "recorder=x;y=z",
	    "nobody=claude-haiku-5-5", "recorder=x,recorder=y",
	    "recorder=claude-opus-5-5,reviewr=claude-fable-5-2" };
	const struct agent	*rec = agent_find("recorder");
	const struct agent	*gap = agent_find("gap_detector");
	const char		*named[16];
	char			 text[128], err[128];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_free(&cfg);
		setenv("AGENT_MODELS", bad[i], 1);
		ck_assert_msg(config_load(&cfg, NULL, false, &problems) ==
		    BS_ERR_CONFIG, "accepted %s", bad[i]);
		ck_assert(problem_mentions("AGENT_MODELS"));
	}
	/* An unknown agent is named, so that a typo is found at once. */
	ck_assert(problem_mentions("reviewr"));
	config_free(&cfg);
	setenv("AGENT_MODELS", "recorder=claude-opus-5-5,questioner=claude-y", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	unsetenv("AGENT_MODELS");

	ck_assert_uint_le(agent_count, sizeof(named) / sizeof(named[0]));
	snprintf(text, sizeof(text), "recorder=claude-opus-5-5,"
	    "questioner=claude-y");
	ck_assert_int_eq(agent_models_parse(text, named, err, sizeof(err)),
	    BS_OK);
	ck_assert_str_eq(named[agent_index(rec)], "claude-opus-5-5");
	ck_assert_ptr_null(named[agent_index(gap)]);
	ck_assert_str_eq(named[agent_index(agent_find("questioner"))],
	    "claude-y");
}
END_TEST

START_TEST(test_api_version_and_turn_times)
{
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	ck_assert_str_eq(cfg.claude_api_version, "2026-10-21");
	ck_assert_str_eq(cfg.claude_model, "claude-sonnet-5-5");
	ck_assert_str_eq(cfg.claude_model_fast, "claude-haiku-5-5");
	config_free(&cfg);
	setenv("CLAUDE_API_VERSION", "2023-06-01", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	config_free(&cfg);
	setenv("CLAUDE_API_VERSION", "2024-01-01", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems),
	    BS_ERR_CONFIG);
	ck_assert(problem_mentions("CLAUDE_API_VERSION"));
	unsetenv("CLAUDE_API_VERSION");
	config_free(&cfg);
	/* A turn within its budget must not be failed as abandoned. */
	setenv("TURN_BUDGET_MS", "600000", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems),
	    BS_ERR_CONFIG);
	ck_assert(problem_mentions("TURN_STALE_AFTER"));
	config_free(&cfg);
	setenv("TURN_STALE_AFTER", "631", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	unsetenv("TURN_BUDGET_MS");
	unsetenv("TURN_STALE_AFTER");
}
END_TEST

START_TEST(test_every_export_imports_again)
{
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	ck_assert_int_ge(cfg.import_max_bytes, cfg.export_max_bytes);
	ck_assert_int_eq(cfg.project_file_slots, 2);
	config_free(&cfg);
	setenv("IMPORT_MAX_BYTES", "8388608", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems),
	    BS_ERR_CONFIG);
	ck_assert(problem_mentions("IMPORT_MAX_BYTES (8388608) must be at "
	    "least EXPORT_MAX_BYTES (33554432)"));
	config_free(&cfg);
	setenv("EXPORT_MAX_BYTES", "8388608", 1);
	ck_assert_int_eq(config_load(&cfg, NULL, false, &problems), BS_OK);
	unsetenv("IMPORT_MAX_BYTES");
	unsetenv("EXPORT_MAX_BYTES");
}
END_TEST

START_TEST(test_env_file_documents_every_key)
{
	const struct config_key_info	*keys;
	size_t				 i, n = config_keys(&keys);
	char				 line[512], envpath[1024];
	char				*text = NULL;
	size_t				 len = 0;
	FILE				*fp;

	snprintf(envpath, sizeof(envpath), "%s/.env.example",
	    getenv("TOP_SRCDIR") != NULL ? getenv("TOP_SRCDIR") : "..");
	fp = fopen(envpath, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", envpath);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char	*grown = realloc(text, len + strlen(line) + 1);

		ck_assert_ptr_nonnull(grown);
		text = grown;
		strcpy(text + len, line);
		len += strlen(line);
	}
	fclose(fp);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "\n%s=", keys[i].name);
		ck_assert_msg(strstr(text, line) != NULL, ".env.example lacks %s",
		    keys[i].name);
	}
	free(text);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_development_defaults);
	tcase_add_test(tc, test_missing_required_file);
	tcase_add_test(tc, test_file_values_and_quotes);
	tcase_add_test(tc, test_environment_overrides_file);
	tcase_add_test(tc, test_bad_values_reported_all);
	tcase_add_test(tc, test_integer_overflow_refused);
	tcase_add_test(tc, test_pool_min_over_max);
	tcase_add_test(tc, test_production_refuses_weak_secrets);
	tcase_add_test(tc, test_production_accepts_strong_config);
	tcase_add_test(tc, test_production_refuses_debug_routes_and_same_secrets);
	tcase_add_test(tc, test_staging_refuses_like_production);
	tcase_add_test(tc, test_redis_url_format);
	tcase_add_test(tc, test_agent_models);
	tcase_add_test(tc, test_api_version_and_turn_times);
	tcase_add_test(tc, test_every_export_imports_again);
	tcase_add_test(tc, test_env_file_documents_every_key);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(config_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
