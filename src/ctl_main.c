/*
 * brainstormctl: the operator's tool. Each command is a row of ctl_commands;
 * main only reads the global options and finds the row.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "brainstorm/auth.h"
#include "brainstorm/cache.h"
#include "brainstorm/config.h"
#include "brainstorm/db.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/db_users.h"
#include "brainstorm/events.h"
#include "brainstorm/doc_export.h"
#include "brainstorm/err.h"
#include "brainstorm/events.h"
#include "brainstorm/json.h"
#include "brainstorm/members.h"
#include "brainstorm/migrate.h"
#include "brainstorm/validate.h"

#define CTL_EXIT_OK	0
#define CTL_EXIT_FAIL	1
#define CTL_EXIT_USAGE	2

#define CTL_ERR_LEN	1024
#define CTL_IMPORT_MAX	(256L * 1024 * 1024)	/* a project file, at most */

/* The global options, shared by every command. */
struct ctl {
	const char	*config_path;		/* --config, or NULL: the default */
	const char	*migrations_dir;	/* --migrations, or NULL: config */
};

struct ctl_command {
	const char	*group;		/* first word: "migrate", "check-config" */
	const char	*name;		/* second word, or NULL */
	const char	*args;		/* usage of what follows */
	const char	*summary;
	/* argv[0] is the last word of the command; returns an exit code. */
	int		(*run)(struct ctl *ctl, const struct ctl_command *cmd,
			    int argc, char **argv);
};

static int	ctl_migrate_up(struct ctl *, const struct ctl_command *, int,
		    char **);
static int	ctl_migrate_down(struct ctl *, const struct ctl_command *, int,
		    char **);
static int	ctl_migrate_status(struct ctl *, const struct ctl_command *,
		    int, char **);
static int	ctl_check_config(struct ctl *, const struct ctl_command *, int,
		    char **);
static int	ctl_user_create(struct ctl *, const struct ctl_command *, int,
		    char **);
static int	ctl_user_disable(struct ctl *, const struct ctl_command *, int,
		    char **);
static int	ctl_user_enable(struct ctl *, const struct ctl_command *, int,
		    char **);
static int	ctl_user_reset_password(struct ctl *, const struct ctl_command *,
		    int, char **);
static int	ctl_project_export(struct ctl *, const struct ctl_command *,
		    int, char **);
static int	ctl_project_import(struct ctl *, const struct ctl_command *,
		    int, char **);

static const struct ctl_command ctl_commands[] = {
	{ "migrate", "up", "[--to N] [--dry-run]",
	    "apply pending migrations, up to version N", ctl_migrate_up },
	{ "migrate", "down", "N|all [--dry-run]",
	    "roll back the newest N applied migrations", ctl_migrate_down },
	{ "migrate", "status", "",
	    "list migrations: applied, pending, changed", ctl_migrate_status },
	{ "check-config", NULL, "",
	    "load the configuration and report every problem",
	    ctl_check_config },
	{ "user", "create", "EMAIL [DISPLAY_NAME]",
	    "create an account; the password is read from standard input",
	    ctl_user_create },
	{ "user", "disable", "EMAIL",
	    "disable an account and end its sessions", ctl_user_disable },
	{ "user", "enable", "EMAIL",
	    "enable a disabled account again", ctl_user_enable },
	{ "user", "reset-password", "EMAIL",
	    "set a new password (read from standard input) and end every "
	    "session", ctl_user_reset_password },
	{ "project", "export", "ID [--format json|md]",
	    "write a whole project to standard output", ctl_project_export },
	{ "project", "import", "FILE --owner EMAIL",
	    "make a new project of EMAIL from an exported JSON file (- = stdin)",
	    ctl_project_import },
};
#define CTL_NCOMMANDS (sizeof ctl_commands / sizeof ctl_commands[0])

static void	ctl_errx(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

static void
ctl_errx(const char *fmt, ...)
{
	va_list	ap;

	fputs("brainstormctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* libpq's message, which may span lines, without the final newline. */
static void
ctl_pq_errx(PGconn *conn, const char *what)
{
	const char	*msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t		 len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	ctl_errx("%s: %.*s", what, (int)len, msg);
}

static void
ctl_usage(FILE *f)
{
	size_t	i;
	char	words[64];

	fprintf(f, "usage: brainstormctl [--config FILE] [--migrations DIR] "
	    "COMMAND\n       brainstormctl --help | --version\n\ncommands:\n");
	for (i = 0; i < CTL_NCOMMANDS; i++) {
		snprintf(words, sizeof words, "%s%s%s %s", ctl_commands[i].group,
		    ctl_commands[i].name ? " " : "",
		    ctl_commands[i].name ? ctl_commands[i].name : "",
		    ctl_commands[i].args);
		fprintf(f, "  %-36s %s\n", words, ctl_commands[i].summary);
	}
	fprintf(f, "\noptions:\n"
	    "  --config FILE      configuration file (default %s)\n"
	    "  --migrations DIR   migrations directory (default: "
	    "MIGRATIONS_DIR)\n"
	    "  --help             this text\n"
	    "  --version          the version\n"
	    "\nexit status: 0 success, 1 failure, 2 usage error\n",
	    config_default_path());
}

/* One command's usage line and summary; returns the usage exit code. */
static int
ctl_command_usage(const struct ctl_command *cmd, FILE *f)
{
	fprintf(f, "usage: brainstormctl [--config FILE] [--migrations DIR] "
	    "%s%s%s%s%s\n  %s\n", cmd->group, cmd->name ? " " : "",
	    cmd->name ? cmd->name : "", *cmd->args ? " " : "", cmd->args,
	    cmd->summary);
	return CTL_EXIT_USAGE;
}

/* A whole decimal number in 1..INT_MAX. */
static bool
ctl_positive_parse(const char *s, int *out)
{
	const char	*errstr;
	long long	 v;

	v = bs_strtonum(s, 1, INT_MAX, &errstr);
	if (errstr != NULL)
		return false;
	*out = (int)v;
	return true;
}

/*
 * The command's own options: --help, and --dry-run and --to N where allowed.
 * Leaves the operands in argv[optind..argc). Returns -1 to go on, else an
 * exit code.
 */
static int
ctl_options_parse(const struct ctl_command *cmd, int argc, char **argv,
    int *to, bool *dry_run)
{
	struct option	longopts[4];
	size_t		n = 0;
	int		ch;

	memset(longopts, 0, sizeof longopts);
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	if (dry_run != NULL)
		longopts[n++] = (struct option){ "dry-run", no_argument, NULL,
		    'n' };
	if (to != NULL)
		longopts[n++] = (struct option){ "to", required_argument, NULL,
		    't' };

	optind = 0;	/* glibc: start over on a new argv */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			ctl_command_usage(cmd, stdout);
			return CTL_EXIT_OK;
		case 'n':
			*dry_run = true;
			break;
		case 't':
			if (!ctl_positive_parse(optarg, to)) {
				ctl_errx("--to %s: expected a version, 1 or more",
				    optarg);
				return CTL_EXIT_USAGE;
			}
			break;
		case ':':
			ctl_errx("%s needs a value", argv[optind - 1]);
			return ctl_command_usage(cmd, stderr);
		default:
			/* optopt is the letter of an unknown short option. */
			if (optopt != 0)
				ctl_errx("%s: unknown option -%c", argv[0],
				    optopt);
			else
				ctl_errx("%s: unknown option %s", argv[0],
				    argv[optind - 1]);
			return ctl_command_usage(cmd, stderr);
		}
	}
	return -1;
}

/* Load the configuration; print every problem. */
static bool
ctl_config_load(const struct ctl *ctl, struct bs_config *cfg)
{
	struct config_problems	problems;
	const char		*path;
	size_t			i;
	bs_err			rc;

	memset(&problems, 0, sizeof problems);
	path = ctl->config_path != NULL ? ctl->config_path :
	    config_default_path();
	/* A file named on the command line must exist; the default may not. */
	rc = config_load(cfg, path, ctl->config_path != NULL, &problems);
	if (rc == BS_OK)
		return true;
	for (i = 0; i < problems.count && i < CONFIG_PROBLEMS_MAX; i++)
		ctl_errx("%s", problems.text[i]);
	if (problems.count == 0)
		ctl_errx("%s: %s", path, bs_strerror(rc));
	return false;
}

enum ctl_migrate_op {
	CTL_MIGRATE_UP,
	CTL_MIGRATE_DOWN,
	CTL_MIGRATE_STATUS
};

/* Configuration, migrations and a connection, then one runner call. */
static int
ctl_migrate(struct ctl *ctl, enum ctl_migrate_op op, int arg, bool dry_run)
{
	static const char *const	 keywords[] = {
		"dbname", "fallback_application_name", NULL
	};
	const char			*values[3] = {
		NULL, "brainstormctl", NULL
	};
	struct bs_config		 cfg;
	struct migration_set		 set;
	struct migrate_options		 opt;
	PGconn				*conn = NULL;
	const char			*dir;
	char				 err[CTL_ERR_LEN];
	int				 status = CTL_EXIT_FAIL;
	bs_err				 rc;

	memset(&cfg, 0, sizeof cfg);
	memset(&set, 0, sizeof set);
	if (!ctl_config_load(ctl, &cfg))
		goto out;
	dir = ctl->migrations_dir != NULL ? ctl->migrations_dir :
	    cfg.migrations_dir;
	if (dir == NULL || *dir == '\0') {
		ctl_errx("no migrations directory: set MIGRATIONS_DIR or use "
		    "--migrations DIR");
		goto out;
	}
	if (cfg.database_url == NULL || *cfg.database_url == '\0') {
		ctl_errx("DATABASE_URL is not set");
		goto out;
	}
	rc = migrate_load_dir(dir, &set, err, sizeof err);
	if (rc != BS_OK) {
		ctl_errx("%s", err);
		goto out;
	}

	/* The URL is expanded from dbname; never print it (password). */
	values[0] = cfg.database_url;
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		ctl_pq_errx(conn, "cannot connect to PostgreSQL");
		goto out;
	}

	memset(&opt, 0, sizeof opt);
	opt.dry_run = dry_run;
	opt.lock_timeout_ms = 0;	/* an operator can see it wait and ^C */
	opt.out = stdout;
	switch (op) {
	case CTL_MIGRATE_UP:
		rc = migrate_up(conn, &set, arg, &opt, err, sizeof err);
		break;
	case CTL_MIGRATE_DOWN:
		rc = migrate_down(conn, &set, arg, &opt, err, sizeof err);
		break;
	case CTL_MIGRATE_STATUS:
	default:
		rc = migrate_status(conn, &set, &opt, err, sizeof err);
		break;
	}
	fflush(stdout);
	if (rc != BS_OK) {
		ctl_errx("%s", err[0] != '\0' ? err : bs_strerror(rc));
		goto out;
	}
	status = CTL_EXIT_OK;
out:
	if (conn != NULL)
		PQfinish(conn);
	migrate_set_free(&set);
	config_free(&cfg);
	return status;
}

static int
ctl_migrate_up(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	bool	dry_run = false;
	int	to = 0, status;

	status = ctl_options_parse(cmd, argc, argv, &to, &dry_run);
	if (status != -1)
		return status;
	if (optind != argc) {
		ctl_errx("migrate up: unexpected argument %s", argv[optind]);
		return ctl_command_usage(cmd, stderr);
	}
	return ctl_migrate(ctl, CTL_MIGRATE_UP, to, dry_run);
}

static int
ctl_migrate_down(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	bool	dry_run = false;
	int	count = 0, status;

	status = ctl_options_parse(cmd, argc, argv, NULL, &dry_run);
	if (status != -1)
		return status;
	if (argc - optind != 1) {
		ctl_errx("migrate down: how many migrations to roll back?");
		return ctl_command_usage(cmd, stderr);
	}
	if (strcmp(argv[optind], "all") == 0)
		count = MIGRATE_DOWN_ALL;
	else if (!ctl_positive_parse(argv[optind], &count)) {
		ctl_errx("migrate down %s: expected a count, 1 or more, or all",
		    argv[optind]);
		return CTL_EXIT_USAGE;
	}
	return ctl_migrate(ctl, CTL_MIGRATE_DOWN, count, dry_run);
}

static int
ctl_migrate_status(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	int	status;

	status = ctl_options_parse(cmd, argc, argv, NULL, NULL);
	if (status != -1)
		return status;
	if (optind != argc) {
		ctl_errx("migrate status: unexpected argument %s", argv[optind]);
		return ctl_command_usage(cmd, stderr);
	}
	return ctl_migrate(ctl, CTL_MIGRATE_STATUS, 0, false);
}

static int
ctl_check_config(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	struct bs_config	cfg;
	int			status;

	status = ctl_options_parse(cmd, argc, argv, NULL, NULL);
	if (status != -1)
		return status;
	if (optind != argc) {
		ctl_errx("check-config: unexpected argument %s", argv[optind]);
		return ctl_command_usage(cmd, stderr);
	}
	memset(&cfg, 0, sizeof cfg);
	if (ctl_config_load(ctl, &cfg)) {
		printf("configuration OK (APP_ENV=%s)\n",
		    config_app_env_name(cfg.app_env));
		status = CTL_EXIT_OK;
	} else
		status = CTL_EXIT_FAIL;
	config_free(&cfg);
	return status;
}

/* A one-connection pool on DATABASE_URL, for the user commands. */
static bool
ctl_db_open(const struct bs_config *cfg, struct db_pool **pool,
    struct db_conn **conn)
{
	struct db_pool_options	 opt = { 0 };

	*pool = NULL;
	*conn = NULL;
	if (cfg->database_url == NULL || *cfg->database_url == '\0') {
		ctl_errx("DATABASE_URL is not set");
		return false;
	}
	opt.conninfo = cfg->database_url;
	opt.min = 0;
	opt.max = 1;
	opt.checkout_timeout_ms = 5000;
	opt.statement_timeout_ms = (int)cfg->db_statement_timeout_ms;
	if (db_pool_create(&opt, pool) != BS_OK ||
	    db_pool_checkout(*pool, conn) != BS_OK) {
		ctl_errx("cannot connect to PostgreSQL");
		return false;
	}
	return true;
}

static void
ctl_db_close(struct db_pool *pool, struct db_conn *conn)
{
	if (pool != NULL)
		db_pool_release(pool, conn);
	db_pool_destroy(pool);
}

/* The first line of standard input, without its newline. */
static bool
ctl_password_read(char *buf, size_t len)
{
	size_t	 n;

	if (fgets(buf, (int)len, stdin) == NULL)
		return false;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin))
		return false;	/* longer than the buffer */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return true;
}

/* A new password from standard input, by the API's rules. */
static bool
ctl_new_password_read(char *password, size_t len, const char *email)
{
	if (!ctl_password_read(password, len) ||
	    utf8_length(password, strlen(password)) < 10 ||
	    strlen(password) > 1024 || strcasecmp(password, email) == 0) {
		ctl_errx("give the password (10 to 1024 characters, not the email) "
		    "on standard input");
		return false;
	}
	return true;
}

/*
 * The one EMAIL argument of cmd, normalized into email: -1 when it is
 * there, else the exit status (usage, or a bad address said).
 */
static int
ctl_email_arg(const struct ctl_command *cmd, int argc, char **argv,
    char email[EMAIL_MAX_LEN + 1])
{
	int	 status;

	status = ctl_options_parse(cmd, argc, argv, NULL, NULL);
	if (status != -1)
		return status;
	if (argc - optind != 1)
		return ctl_command_usage(cmd, stderr);
	if (!email_normalize(argv[optind], email)) {
		ctl_errx("%s: not an email address", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	return -1;
}

/*
 * The account with this id lost its access: every project it is a member
 * of hears it (access.revoked), and its open streams end (nchan drops the
 * account's channel). Without nchan at hand (another host), the streams
 * end at the latest when their hour is up; said, not failed.
 */
static void
ctl_access_revoked(const struct bs_config *cfg, struct db_conn *conn,
    const char *user_id, enum access_loss why)
{
	struct events		*ev = NULL;
	struct events_counters	 n;
	json_object		*projects = NULL;
	char			 ch[EVENTS_CHANNELS_MAX];
	size_t			 i;
	bool			 ended = false;

	if (events_create(cfg->nchan_url, 1 << 20, &ev) != BS_OK)
		goto out;
	if (db_user_memberships(conn, user_id, &projects) == BS_OK)
		for (i = 0; i < json_object_array_length(projects); i++)
			access_revoked(ev, json_object_get_string(
			    json_object_array_get_idx(projects, i)), user_id, why);
	/* Also the streams of an account that is in no project now. */
	events_channel_user(ch, sizeof(ch), user_id);
	events_close(ev, ch);
	if (events_flush(ev, 5000) == BS_OK) {
		events_counters_get(ev, &n);
		ended = n.failed == 0 && n.dropped == 0;
	}
out:
	events_destroy(ev);
	json_object_put(projects);
	if (!ended)
		fprintf(stderr, "brainstormctl: the account's open streams could "
		    "not be ended through nchan at %s; they end within the "
		    "hour\n", cfg->nchan_url);
}

/*
 * What setting a password takes: the new one from standard input, the
 * configuration, its Argon2id hash into hash, and the database. The
 * password itself is wiped before this returns.
 */
static bool
ctl_password_set_up(struct ctl *ctl, const char *email, struct bs_config *cfg,
    char hash[AUTH_PASSWORD_HASH_LEN], struct db_pool **pool,
    struct db_conn **conn)
{
	char	 password[1100];
	bool	 ok = false;

	if (!ctl_new_password_read(password, sizeof password, email) ||
	    !ctl_config_load(ctl, cfg))
		goto out;
	if (auth_init() != BS_OK || auth_password_hash(password, hash) != BS_OK) {
		ctl_errx("cannot hash the password");
		goto out;
	}
	ok = ctl_db_open(cfg, pool, conn);
out:
	sodium_memzero(password, sizeof password);
	return ok;
}

static int
ctl_user_create(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	static const struct field_rule name_rule = { "display_name", FIELD_LINE,
	    false, 0, DISPLAY_NAME_MAX_CHARS, NULL };
	struct validate_error	 verr;
	struct bs_config	 cfg;
	struct db_pool		*pool = NULL;
	struct db_conn		*conn = NULL;
	struct user		 u;
	char			 email[EMAIL_MAX_LEN + 1];
	char			 hash[AUTH_PASSWORD_HASH_LEN] = "";
	const char		*name;
	int			 status;
	bs_err			 rc;

	status = ctl_options_parse(cmd, argc, argv, NULL, NULL);
	if (status != -1)
		return status;
	if (argc - optind < 1 || argc - optind > 2)
		return ctl_command_usage(cmd, stderr);
	if (!email_normalize(argv[optind], email)) {
		ctl_errx("%s: not an email address", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	name = argc - optind == 2 ? argv[optind + 1] : "";
	if (!utf8_valid(name, strlen(name))) {
		ctl_errx("the display name must be UTF-8 text");
		return CTL_EXIT_USAGE;
	}
	if (validate_string(name, &name_rule, &verr) != BS_OK) {
		/* The API's rule, in the API's words. */
		ctl_errx("%s", verr.message);
		return CTL_EXIT_USAGE;
	}
	memset(&cfg, 0, sizeof cfg);
	status = CTL_EXIT_FAIL;
	if (!ctl_password_set_up(ctl, email, &cfg, hash, &pool, &conn))
		goto out;
	rc = db_user_create(conn, email, hash, name, false, &u);
	if (rc == BS_ERR_CONFLICT)
		ctl_errx("an account with %s already exists", email);
	else if (rc != BS_OK)
		ctl_errx("cannot create the account: %s", bs_strerror(rc));
	else {
		printf("created %s (%s)\n", u.email, u.id);
		status = CTL_EXIT_OK;
	}
out:
	sodium_memzero(hash, sizeof hash);
	ctl_db_close(pool, conn);
	config_free(&cfg);
	return status;
}

static int
ctl_user_set_disabled(struct ctl *ctl, const struct ctl_command *cmd,
    int argc, char **argv, bool disabled)
{
	struct bs_config	 cfg;
	struct db_pool		*pool = NULL;
	struct db_conn		*conn = NULL;
	char			 email[EMAIL_MAX_LEN + 1], id[AUTH_UUID_LEN];
	int			 status;
	bs_err			 rc;

	if ((status = ctl_email_arg(cmd, argc, argv, email)) != -1)
		return status;
	memset(&cfg, 0, sizeof cfg);
	status = CTL_EXIT_FAIL;
	if (!ctl_config_load(ctl, &cfg) || !ctl_db_open(&cfg, &pool, &conn))
		goto out;
	rc = db_user_set_disabled(conn, email, disabled, id);
	if (rc == BS_ERR_NOT_FOUND)
		ctl_errx("no account with %s", email);
	else if (rc != BS_OK)
		ctl_errx("cannot change the account: %s", bs_strerror(rc));
	else {
		printf("%s %s\n", disabled ? "disabled" : "enabled", email);
		if (disabled)
			ctl_access_revoked(&cfg, conn, id, ACCESS_USER_DISABLED);
		status = CTL_EXIT_OK;
	}
out:
	ctl_db_close(pool, conn);
	config_free(&cfg);
	return status;
}

static int
ctl_user_disable(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	return ctl_user_set_disabled(ctl, cmd, argc, argv, true);
}

static int
ctl_user_enable(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	return ctl_user_set_disabled(ctl, cmd, argc, argv, false);
}

/* The account keeps its projects; every session ends, access tokens too. */
static int
ctl_user_reset_password(struct ctl *ctl, const struct ctl_command *cmd,
    int argc, char **argv)
{
	struct bs_config	 cfg;
	struct db_pool		*pool = NULL;
	struct db_conn		*conn = NULL;
	char			 email[EMAIL_MAX_LEN + 1];
	char			 hash[AUTH_PASSWORD_HASH_LEN] = "", id[AUTH_UUID_LEN];
	int			 status;
	bs_err			 rc;

	if ((status = ctl_email_arg(cmd, argc, argv, email)) != -1)
		return status;
	memset(&cfg, 0, sizeof cfg);
	status = CTL_EXIT_FAIL;
	if (!ctl_password_set_up(ctl, email, &cfg, hash, &pool, &conn))
		goto out;
	if ((rc = db_user_id_by_email(conn, email, id)) == BS_OK)
		rc = db_user_set_password(conn, id, hash, NULL);
	if (rc == BS_ERR_NOT_FOUND)
		ctl_errx("no account with %s", email);
	else if (rc != BS_OK)
		ctl_errx("cannot change the password: %s", bs_strerror(rc));
	else {
		printf("new password for %s; every session ended\n", email);
		status = CTL_EXIT_OK;
	}
out:
	sodium_memzero(hash, sizeof hash);
	ctl_db_close(pool, conn);
	config_free(&cfg);
	return status;
}

/*
 * The options of the project commands: --help, --format (export) and
 * --owner (import). Leaves the operands in argv[optind..argc). Returns -1
 * to go on, else an exit code.
 */
static int
ctl_project_options_parse(const struct ctl_command *cmd, int argc,
    char **argv, const char **format, const char **owner)
{
	struct option	longopts[4];
	size_t		n = 0;
	int		ch;

	memset(longopts, 0, sizeof longopts);
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	if (format != NULL)
		longopts[n++] = (struct option){ "format", required_argument,
		    NULL, 'f' };
	if (owner != NULL)
		longopts[n++] = (struct option){ "owner", required_argument,
		    NULL, 'o' };
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			ctl_command_usage(cmd, stdout);
			return CTL_EXIT_OK;
		case 'f':
			if (strcmp(optarg, "json") != 0 &&
			    strcmp(optarg, "md") != 0) {
				ctl_errx("--format %s: expected json or md", optarg);
				return CTL_EXIT_USAGE;
			}
			*format = optarg;
			break;
		case 'o':
			*owner = optarg;
			break;
		case ':':
			ctl_errx("%s needs a value", argv[optind - 1]);
			return ctl_command_usage(cmd, stderr);
		default:
			ctl_errx("%s: unknown option %s", argv[0],
			    argv[optind - 1]);
			return ctl_command_usage(cmd, stderr);
		}
	}
	return -1;
}

static int
ctl_project_export(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	struct bs_config	 cfg;
	struct db_pool		*pool = NULL;
	struct db_conn		*conn = NULL;
	json_object		*doc = NULL;
	struct buf		 md;
	const char		*format = "json", *text;
	size_t			 size;
	int			 status;
	bs_err			 rc;

	status = ctl_project_options_parse(cmd, argc, argv, &format, NULL);
	if (status != -1)
		return status;
	if (argc - optind != 1)
		return ctl_command_usage(cmd, stderr);
	if (!uuid_valid(argv[optind])) {
		ctl_errx("%s: not a project id", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	memset(&cfg, 0, sizeof cfg);
	buf_init(&md, 1024L * 1024 * 1024);
	status = CTL_EXIT_FAIL;
	if (!ctl_config_load(ctl, &cfg) || !ctl_db_open(&cfg, &pool, &conn))
		goto out;
	/* The operator's own memory: no EXPORT_MAX_BYTES here. */
	rc = db_project_export(conn, argv[optind], 0, &doc, &size);
	if (rc == BS_ERR_NOT_FOUND) {
		ctl_errx("no project %s", argv[optind]);
		goto out;
	}
	if (rc != BS_OK) {
		ctl_errx("cannot export the project: %s", bs_strerror(rc));
		goto out;
	}
	if (strcmp(format, "md") == 0) {
		if ((rc = export_markdown(doc, &md)) != BS_OK) {
			ctl_errx("cannot write the Markdown: %s", bs_strerror(rc));
			goto out;
		}
		text = buf_cstr(&md);
	} else
		text = json_object_to_json_string_ext(doc,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (fputs(text, stdout) == EOF ||
	    (strcmp(format, "json") == 0 && fputc('\n', stdout) == EOF) ||
	    fflush(stdout) != 0) {
		ctl_errx("cannot write to standard output: %s", strerror(errno));
		goto out;
	}
	status = CTL_EXIT_OK;
out:
	json_object_put(doc);
	buf_free(&md);
	ctl_db_close(pool, conn);
	config_free(&cfg);
	return status;
}

/* The whole of path ("-": standard input), at most max bytes. */
static bool
ctl_file_read(const char *path, long max, struct buf *out)
{
	FILE	*f;
	char	 chunk[65536];
	size_t	 n;
	bool	 ok = true;

	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL) {
		ctl_errx("%s: %s", path, strerror(errno));
		return false;
	}
	out->max = (size_t)max;
	while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (buf_append(out, chunk, n) != BS_OK) {
			ctl_errx("%s: larger than %ld bytes", path, max);
			ok = false;
		}
	}
	if (ok && ferror(f)) {
		ctl_errx("%s: %s", path, strerror(errno));
		ok = false;
	}
	if (f != stdin)
		fclose(f);
	return ok;
}

static int
ctl_project_import(struct ctl *ctl, const struct ctl_command *cmd, int argc,
    char **argv)
{
	struct bs_config	 cfg;
	struct db_pool		*pool = NULL;
	struct db_conn		*conn = NULL;
	struct user		 owner;
	json_object		*doc = NULL;
	struct buf		 file;
	const char		*owner_arg = NULL, *path;
	char			 email[EMAIL_MAX_LEN + 1], where[EXPORT_PATH_MAX];
	char			 why[256], project_id[DB_ID_LEN];
	int			 status;
	bs_err			 rc;

	status = ctl_project_options_parse(cmd, argc, argv, NULL, &owner_arg);
	if (status != -1)
		return status;
	if (argc - optind != 1 || owner_arg == NULL) {
		ctl_errx("project import: a FILE and --owner EMAIL are needed");
		return ctl_command_usage(cmd, stderr);
	}
	path = argv[optind];
	if (!email_normalize(owner_arg, email)) {
		ctl_errx("%s: not an email address", owner_arg);
		return CTL_EXIT_USAGE;
	}
	memset(&cfg, 0, sizeof cfg);
	buf_init(&file, CTL_IMPORT_MAX);
	status = CTL_EXIT_FAIL;
	if (!ctl_config_load(ctl, &cfg) ||
	    !ctl_file_read(path, CTL_IMPORT_MAX, &file))
		goto out;
	if (json_parse_limited(buf_cstr(&file), file.len, (int)cfg.max_json_depth,
	    &doc, why, sizeof why) != BS_OK) {
		ctl_errx("%s: not JSON: %s", path, why);
		goto out;
	}
	if (export_check(doc, where, sizeof where, why, sizeof why) != BS_OK) {
		ctl_errx("%s: %s%s%s", path, where, *where ? ": " : "", why);
		goto out;
	}
	if (!ctl_db_open(&cfg, &pool, &conn))
		goto out;
	if ((rc = db_user_find_by_email(conn, email, &owner)) != BS_OK) {
		if (rc == BS_ERR_NOT_FOUND)
			ctl_errx("no account with %s", email);
		else
			ctl_errx("cannot look up %s: %s", email, bs_strerror(rc));
		goto out;
	}
	/* The operator decides: no PROJECTS_MAX_PER_USER here. */
	rc = db_project_import(conn, owner.id, doc, 0, project_id);
	if (rc == BS_ERR_INVALID)
		ctl_errx("%s: the database refused a value; nothing was "
		    "imported", path);
	else if (rc != BS_OK)
		ctl_errx("cannot import the project: %s", bs_strerror(rc));
	else {
		printf("imported %s for %s\n", project_id, owner.email);
		status = CTL_EXIT_OK;
	}
out:
	json_object_put(doc);
	buf_free(&file);
	ctl_db_close(pool, conn);
	config_free(&cfg);
	return status;
}

/* The row for argv[0] (and argv[1]); *words says how many it used. */
static const struct ctl_command *
ctl_command_find(int argc, char **argv, int *words, bool *group_known)
{
	size_t	i;

	*group_known = false;
	for (i = 0; i < CTL_NCOMMANDS; i++) {
		if (strcmp(argv[0], ctl_commands[i].group) != 0)
			continue;
		*group_known = true;
		if (ctl_commands[i].name == NULL) {
			*words = 1;
			return &ctl_commands[i];
		}
		if (argc > 1 && strcmp(argv[1], ctl_commands[i].name) == 0) {
			*words = 2;
			return &ctl_commands[i];
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "migrations",	required_argument,	NULL, 'm' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	const struct ctl_command	*cmd;
	struct ctl			 ctl;
	bool				 group_known;
	int				 ch, words = 0;

	memset(&ctl, 0, sizeof ctl);
	opterr = 0;
	/* "+": stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:c:m:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'm':
			ctl.migrations_dir = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("brainstormctl (%s) %s\n", PACKAGE_NAME,
			    PACKAGE_VERSION);
			return CTL_EXIT_OK;
		case ':':
			ctl_errx("%s needs a value", argv[optind - 1]);
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		default:
			ctl_errx("unknown option %s", argv[optind - 1]);
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_errx("no command");
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	cmd = ctl_command_find(argc, argv, &words, &group_known);
	if (cmd == NULL) {
		if (group_known)
			ctl_errx("%s: unknown or missing subcommand%s%s",
			    argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		else
			ctl_errx("unknown command %s", argv[0]);
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	return cmd->run(&ctl, cmd, argc - (words - 1), argv + (words - 1));
}
