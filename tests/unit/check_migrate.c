/*
 * The migrations runner. Loading directories needs no database; everything
 * else runs against the PostgreSQL in TEST_DATABASE_URL, starting each test
 * from an empty public schema. Without it the database tests are skipped
 * (exit 77) after the load tests have run.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "brainstorm/db.h"
#include "brainstorm/migrate.h"
#include "tmp_path.h"

#define ERR_LEN	1024

static const char	*db_url;
static const char	*migrations_dir;
static PGconn		*conn;

/* ----- helpers ----- */

static void
notice_ignore(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void
tmpdir_make(char *path, size_t len)
{
	tmp_path_template(path, len, "check_migrate");
	ck_assert_ptr_nonnull(mkdtemp(path));
}

/* Only flat directories of files are made here. */
static void
tmpdir_remove(const char *path)
{
	DIR		*dp;
	struct dirent	*de;
	char		 file[4096];

	dp = opendir(path);
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(file, sizeof file, "%s/%s", path, de->d_name);
		unlink(file);
	}
	closedir(dp);
	rmdir(path);
}

static void
file_write_len(const char *dir, const char *name, const char *data,
    size_t len)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void
file_write(const char *dir, const char *name, const char *text)
{
	file_write_len(dir, name, text, strlen(text));
}

static void
file_append(const char *dir, const char *name, const char *text)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "ab");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void
file_remove(const char *dir, const char *name)
{
	char	path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(unlink(path), 0);
}

/* Copy the project's migrations, so a test may change them. */
static void
migrations_copy(const char *to)
{
	DIR		*dp;
	struct dirent	*de;
	char		 path[4096], data[65536];
	size_t		 n;
	FILE		*f;

	dp = opendir(migrations_dir);
	ck_assert_msg(dp != NULL, "cannot open MIGRATIONS_DIR %s",
	    migrations_dir);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", migrations_dir, de->d_name);
		f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		n = fread(data, 1, sizeof data, f);
		fclose(f);
		file_write_len(to, de->d_name, data, n);
	}
	closedir(dp);
}

/* Three small migrations of tables t1..t3, each with a down file. */
static void
small_set_write(const char *dir)
{
	file_write(dir, "0001_t1.up.sql", "CREATE TABLE t1 (id int);\n");
	file_write(dir, "0001_t1.down.sql", "DROP TABLE t1;\n");
	file_write(dir, "0002_t2.up.sql", "CREATE TABLE t2 (id int);\n");
	file_write(dir, "0002_t2.down.sql", "DROP TABLE t2;\n");
	file_write(dir, "0003_t3.up.sql", "CREATE TABLE t3 (id int);\n");
	file_write(dir, "0003_t3.down.sql", "DROP TABLE t3;\n");
}

static void
set_load(const char *dir, struct migration_set *set)
{
	char	err[ERR_LEN];
	bs_err	rc;

	rc = migrate_load_dir(dir, set, err, sizeof err);
	ck_assert_msg(rc == BS_OK, "migrate_load_dir %s: %s", dir, err);
}

static PGconn *
db_connect(void)
{
	PGconn	*c;

	c = PQconnectdb(db_url);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s",
	    PQerrorMessage(c));
	PQsetNoticeProcessor(c, notice_ignore, NULL);
	return c;
}

static void
db_do(PGconn *c, const char *sql)
{
	PGresult	*res;

	res = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQresultErrorMessage(res));
	PQclear(res);
}

/* The SQLSTATE of a statement that must fail. */
static void
db_fails(PGconn *c, const char *sql, const char *sqlstate)
{
	PGresult	*res;
	const char	*state;

	res = PQexec(c, sql);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    state != NULL && strcmp(state, sqlstate) == 0,
	    "%s: expected SQLSTATE %s, got %s", sql, sqlstate,
	    state != NULL ? state : "success");
	PQclear(res);
}

/* The first value of a one-row query, as a long. */
static long
db_long(PGconn *c, const char *sql)
{
	PGresult	*res;
	long		 v;

	res = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1, "%s: %s", sql, PQresultErrorMessage(res));
	v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

static bool
db_table_exists(const char *table)
{
	PGresult	*res;
	const char	*params[1] = { table };
	bool		 exists;

	res = PQexecParams(conn, "SELECT to_regclass($1) IS NOT NULL", 1,
	    NULL, params, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return exists;
}

static int
db_version(void)
{
	char	err[ERR_LEN];
	int	version = -1;

	ck_assert_msg(migrate_db_version(conn, &version, err, sizeof err) ==
	    BS_OK, "migrate_db_version: %s", err);
	return version;
}

static void
advisory_lock_call(PGconn *c, const char *function)
{
	PGresult	*res;
	char		 sql[128], key[32];
	const char	*params[1] = { key };

	snprintf(key, sizeof key, "%" PRId64, migrate_lock_key());
	snprintf(sql, sizeof sql, "SELECT %s($1::bigint)", function);
	res = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQresultErrorMessage(res));
	PQclear(res);
}

/* Output captured from the runner. */
struct capture {
	char	*text;
	size_t	 len;
	FILE	*f;
};

static void
capture_open(struct capture *c)
{
	memset(c, 0, sizeof *c);
	c->f = open_memstream(&c->text, &c->len);
	ck_assert_ptr_nonnull(c->f);
}

static const char *
capture_text(struct capture *c)
{
	fflush(c->f);
	return c->text;
}

static void
capture_close(struct capture *c)
{
	fclose(c->f);
	free(c->text);
}

static void
setup(void)
{
	conn = db_connect();
	db_do(conn, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
}

static void
teardown(void)
{
	PQfinish(conn);
	conn = NULL;
}

/* ----- loading directories (no database) ----- */

START_TEST(test_load_good)
{
	struct migration_set	 set;
	const struct migration	*m;
	char			 dir[256];

	tmpdir_make(dir, sizeof dir);
	/* Written out of order; non-migrations beside them are ignored. */
	file_write(dir, "0010_later.up.sql", "abc");
	file_write(dir, "0002_second.up.sql", "CREATE TABLE b (id int);");
	file_write(dir, "0001_first.down.sql", "DROP TABLE a;");
	file_write(dir, "0001_first.up.sql", "CREATE TABLE a (id int);");
	file_write(dir, "README.md", "not a migration");
	file_write(dir, ".0003_hidden.up.sql", "hidden");
	file_write(dir, "0004_backup.up.sql~", "editor leftover");

	set_load(dir, &set);
	ck_assert_uint_eq(set.count, 3);
	ck_assert_int_eq(set.items[0].version, 1);
	ck_assert_int_eq(set.items[1].version, 2);
	ck_assert_int_eq(set.items[2].version, 10);
	ck_assert_int_eq(migrate_set_latest(&set), 10);

	m = migrate_set_find(&set, 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->name, "first");
	ck_assert_str_eq(m->up_file, "0001_first.up.sql");
	ck_assert_str_eq(m->down_file, "0001_first.down.sql");
	ck_assert_str_eq(m->up_sql, "CREATE TABLE a (id int);");
	ck_assert_str_eq(m->down_sql, "DROP TABLE a;");

	m = migrate_set_find(&set, 2);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(m->down_file);
	ck_assert_ptr_null(m->down_sql);

	/* SHA-256("abc"), the FIPS 180-2 example. */
	m = migrate_set_find(&set, 10);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->checksum, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	ck_assert_ptr_null(migrate_set_find(&set, 3));

	migrate_set_free(&set);
	ck_assert_uint_eq(set.count, 0);
	migrate_set_free(&set);		/* twice is fine */
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_load_empty_and_missing_dir)
{
	struct migration_set	set;
	char			dir[256], missing[300], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	set_load(dir, &set);
	ck_assert_uint_eq(set.count, 0);
	ck_assert_int_eq(migrate_set_latest(&set), 0);
	migrate_set_free(&set);

	snprintf(missing, sizeof missing, "%s/nope", dir);
	ck_assert_int_eq(migrate_load_dir(missing, &set, err, sizeof err),
	    BS_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, missing));
	ck_assert_uint_eq(set.count, 0);
	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_load_duplicate)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	file_write(dir, "0001_a.up.sql", "SELECT 1;");
	file_write(dir, "0001_b.up.sql", "SELECT 1;");
	ck_assert_int_eq(migrate_load_dir(dir, &set, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "duplicate") != NULL &&
	    strstr(err, "0001_a.up.sql") != NULL &&
	    strstr(err, "0001_b.up.sql") != NULL, "err: %s", err);
	ck_assert_uint_eq(set.count, 0);
	ck_assert_ptr_null(set.items);
	tmpdir_remove(dir);

	/* The same number written with more digits is the same version. */
	tmpdir_make(dir, sizeof dir);
	file_write(dir, "0002_a.up.sql", "SELECT 1;");
	file_write(dir, "00002_a.up.sql", "SELECT 1;");
	ck_assert_int_eq(migrate_load_dir(dir, &set, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "duplicate"));
	tmpdir_remove(dir);

	/* An up and a down file of one version must agree on the name. */
	tmpdir_make(dir, sizeof dir);
	file_write(dir, "0001_a.up.sql", "SELECT 1;");
	file_write(dir, "0001_b.down.sql", "SELECT 1;");
	ck_assert_int_eq(migrate_load_dir(dir, &set, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "different names") != NULL, "err: %s", err);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_load_bad_name)
{
	static const char *const bad[] = {
		"001_short.up.sql",		/* three digits */
		"0000000001_long.up.sql",	/* ten digits */
		"0000_zero.up.sql",		/* version 0 */
		"0001-dash.up.sql",
		"0001_.up.sql",			/* no name */
		"0001_Upper.up.sql",
		"0001_sp ace.up.sql",
		"0001_x.sideways.sql",
		"0001_x.sql",
		"users.up.sql",
	};
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];
	size_t			i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tmpdir_make(dir, sizeof dir);
		file_write(dir, "0001_good.up.sql", "SELECT 1;");
		file_write(dir, bad[i], "SELECT 1;");
		ck_assert_int_eq(migrate_load_dir(dir, &set, err, sizeof err),
		    BS_ERR_INVALID);
		ck_assert_msg(strstr(err, "bad migration file name") != NULL &&
		    strstr(err, bad[i]) != NULL, "%s: err: %s", bad[i], err);
		ck_assert_uint_eq(set.count, 0);
		tmpdir_remove(dir);
	}
}
END_TEST

START_TEST(test_load_missing_up)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	file_write(dir, "0001_a.up.sql", "SELECT 1;");
	file_write(dir, "0003_c.down.sql", "SELECT 1;");
	ck_assert_int_eq(migrate_load_dir(dir, &set, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "0003_c.down.sql has no up file") != NULL &&
	    strstr(err, "0003_c.up.sql") != NULL, "err: %s", err);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_load_nul_byte)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	file_write_len(dir, "0001_a.up.sql", "SELECT 1;\0DROP", 14);
	ck_assert_int_eq(migrate_load_dir(dir, &set, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "NUL") != NULL, "err: %s", err);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_lock_key_stable)
{
	/* Derived, not random: every migrator must agree on it. */
	ck_assert(migrate_lock_key() == migrate_lock_key());
	ck_assert(migrate_lock_key() != 0);
}
END_TEST

/* ----- against PostgreSQL ----- */

START_TEST(test_db_version_without_table)
{
	ck_assert(!db_table_exists("schema_migrations"));
	ck_assert_int_eq(db_version(), 0);
}
END_TEST

START_TEST(test_up_latest)
{
	struct migration_set	 set;
	struct migrate_options	 opt;
	struct capture		 out;
	char			 err[ERR_LEN], sql[256];
	size_t			 i;

	set_load(migrations_dir, &set);
	ck_assert_int_ge(migrate_set_latest(&set), 3);
	capture_open(&out);
	memset(&opt, 0, sizeof opt);
	opt.out = out.f;

	ck_assert_msg(migrate_up(conn, &set, 0, &opt, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	ck_assert_int_eq(db_version(), migrate_set_latest(&set));
	ck_assert(db_table_exists("users"));
	ck_assert(db_table_exists("refresh_tokens"));
	ck_assert(db_table_exists("projects"));
	ck_assert_ptr_nonnull(strstr(capture_text(&out), "applied 0001 users"));
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM pg_locks "
	    "WHERE locktype = 'advisory'"), 0);

	/* Every row carries the checksum of its file. */
	for (i = 0; i < set.count; i++) {
		snprintf(sql, sizeof sql, "SELECT count(*) FROM "
		    "schema_migrations WHERE version = %d AND checksum = '%s' "
		    "AND name = '%s'", set.items[i].version,
		    set.items[i].checksum, set.items[i].name);
		ck_assert_int_eq(db_long(conn, sql), 1);
	}

	/* The schema does what section 2 promises. */
	db_do(conn, "INSERT INTO users (email, password_hash) "
	    "VALUES ('Ann@Example.com', 'x')");
	db_fails(conn, "INSERT INTO users (email, password_hash) "
	    "VALUES ('ann@example.COM', 'x')", "23505");
	db_fails(conn, "INSERT INTO users (email, password_hash) "
	    "VALUES ('', 'x')", "23514");
	db_fails(conn, "INSERT INTO projects (owner_id, title) "
	    "SELECT id, '' FROM users", "23514");
	db_fails(conn, "INSERT INTO projects (owner_id, title, status) "
	    "SELECT id, 't', 'deleted' FROM users", "23514");
	db_do(conn, "INSERT INTO projects (owner_id, title) "
	    "SELECT id, 'An idea' FROM users");
	db_do(conn, "INSERT INTO refresh_tokens (user_id, family_id, "
	    "token_hash, expires_at) SELECT id, gen_random_uuid(), 'h', "
	    "now() + interval '1 day' FROM users");
	db_do(conn, "DELETE FROM users");
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM projects"), 0);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM refresh_tokens"),
	    0);

	/* A second run has nothing to do. */
	ck_assert_msg(migrate_up(conn, &set, 0, &opt, err, sizeof err) ==
	    BS_OK, "up again: %s", err);
	ck_assert_ptr_nonnull(strstr(capture_text(&out), "nothing to apply"));
	ck_assert_int_eq(db_version(), migrate_set_latest(&set));

	capture_close(&out);
	migrate_set_free(&set);
}
END_TEST

START_TEST(test_up_to)
{
	struct migration_set	set;
	char			err[ERR_LEN];

	set_load(migrations_dir, &set);
	ck_assert_msg(migrate_up(conn, &set, 2, NULL, err, sizeof err) ==
	    BS_OK, "up --to 2: %s", err);
	ck_assert_int_eq(db_version(), 2);
	ck_assert(db_table_exists("refresh_tokens"));
	ck_assert(!db_table_exists("projects"));
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM schema_migrations"),
	    2);

	/* A version that is not a file is refused before anything runs. */
	ck_assert_int_eq(migrate_up(conn, &set, 9999, NULL, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "9999"));
	ck_assert_int_eq(migrate_up(conn, &set, -1, NULL, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_int_eq(db_version(), 2);

	/* Up to an older version than the database is a no-op. */
	ck_assert_int_eq(migrate_up(conn, &set, 1, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(db_version(), 2);

	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	ck_assert(db_table_exists("projects"));
	migrate_set_free(&set);
}
END_TEST

START_TEST(test_status)
{
	struct migration_set	 set;
	struct migrate_options	 opt;
	struct capture		 out;
	const char		*text;
	char			 err[ERR_LEN];

	set_load(migrations_dir, &set);
	memset(&opt, 0, sizeof opt);

	/* Before anything: all pending, and status creates nothing. */
	capture_open(&out);
	opt.out = out.f;
	ck_assert_msg(migrate_status(conn, &set, &opt, err, sizeof err) ==
	    BS_OK, "status: %s", err);
	text = capture_text(&out);
	ck_assert_msg(strstr(text, "0001     users") != NULL &&
	    strstr(text, "pending") != NULL &&
	    strstr(text, "no schema_migrations table yet") != NULL, "%s", text);
	ck_assert(!db_table_exists("schema_migrations"));
	capture_close(&out);

	ck_assert_int_eq(migrate_up(conn, &set, 1, NULL, err, sizeof err),
	    BS_OK);
	capture_open(&out);
	opt.out = out.f;
	ck_assert_msg(migrate_status(conn, &set, &opt, err, sizeof err) ==
	    BS_OK, "status: %s", err);
	text = capture_text(&out);
	ck_assert_msg(strstr(text, "VERSION") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "0001     users") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "0002     refresh_tokens") != NULL, "%s",
	    text);
	/* 0001 applied with a timestamp, 0002 pending. */
	ck_assert_msg(strstr(strstr(text, "0001     users"), "applied  20") !=
	    NULL, "%s", text);
	ck_assert_msg(strstr(strstr(text, "0002     refresh_tokens"),
	    "pending") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "database at version 0001") != NULL &&
	    strstr(text, "1 applied") != NULL, "%s", text);
	capture_close(&out);
	migrate_set_free(&set);
}
END_TEST

START_TEST(test_dry_run)
{
	struct migration_set	 set;
	struct migrate_options	 opt;
	struct capture		 out;
	const char		*text;
	char			 err[ERR_LEN];

	set_load(migrations_dir, &set);
	memset(&opt, 0, sizeof opt);
	opt.dry_run = true;

	capture_open(&out);
	opt.out = out.f;
	ck_assert_msg(migrate_up(conn, &set, 0, &opt, err, sizeof err) ==
	    BS_OK, "dry-run up: %s", err);
	text = capture_text(&out);
	ck_assert_msg(strstr(text, "would apply 0001 users "
	    "(0001_users.up.sql)") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "CREATE TABLE users") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "CREATE TABLE projects") != NULL, "%s",
	    text);
	ck_assert_msg(strstr(text, "nothing was changed") != NULL, "%s", text);
	capture_close(&out);
	ck_assert(!db_table_exists("schema_migrations"));
	ck_assert(!db_table_exists("users"));
	ck_assert_int_eq(db_version(), 0);

	/* --to limits the listing too. */
	capture_open(&out);
	opt.out = out.f;
	ck_assert_int_eq(migrate_up(conn, &set, 1, &opt, err, sizeof err),
	    BS_OK);
	text = capture_text(&out);
	ck_assert_ptr_nonnull(strstr(text, "CREATE TABLE users"));
	ck_assert_ptr_null(strstr(text, "refresh_tokens"));
	capture_close(&out);

	ck_assert_int_eq(migrate_up(conn, &set, 3, NULL, err, sizeof err),
	    BS_OK);
	capture_open(&out);
	opt.out = out.f;
	ck_assert_msg(migrate_down(conn, &set, 2, &opt, err, sizeof err) ==
	    BS_OK, "dry-run down: %s", err);
	text = capture_text(&out);
	ck_assert_msg(strstr(text, "would roll back 0003 projects") != NULL &&
	    strstr(text, "DROP TABLE projects") != NULL &&
	    strstr(text, "DROP TABLE refresh_tokens") != NULL &&
	    strstr(text, "DROP TABLE users") == NULL, "%s", text);
	/* Newest first. */
	ck_assert(strstr(text, "DROP TABLE projects") <
	    strstr(text, "DROP TABLE refresh_tokens"));
	capture_close(&out);
	ck_assert_int_eq(db_version(), 3);
	ck_assert(db_table_exists("projects"));
	migrate_set_free(&set);
}
END_TEST

START_TEST(test_down)
{
	struct migration_set	set;
	char			err[ERR_LEN];

	set_load(migrations_dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 3, NULL, err, sizeof err),
	    BS_OK);

	ck_assert_msg(migrate_down(conn, &set, 1, NULL, err, sizeof err) ==
	    BS_OK, "down 1: %s", err);
	ck_assert_int_eq(db_version(), 2);
	ck_assert(!db_table_exists("projects"));
	ck_assert(db_table_exists("refresh_tokens"));

	/* More than are applied: refused, nothing rolled back. */
	ck_assert_int_eq(migrate_down(conn, &set, 3, NULL, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "only 2 are applied") != NULL, "err: %s",
	    err);
	ck_assert_int_eq(db_version(), 2);
	ck_assert_int_eq(migrate_down(conn, &set, 0, NULL, err, sizeof err),
	    BS_ERR_INVALID);

	ck_assert_msg(migrate_down(conn, &set, MIGRATE_DOWN_ALL, NULL, err,
	    sizeof err) == BS_OK, "down all: %s", err);
	ck_assert_int_eq(db_version(), 0);
	ck_assert(!db_table_exists("users"));
	ck_assert(!db_table_exists("refresh_tokens"));
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM schema_migrations"),
	    0);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM pg_locks "
	    "WHERE locktype = 'advisory'"), 0);

	/* And back up again from nothing. */
	ck_assert_int_eq(migrate_up(conn, &set, 3, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(db_version(), 3);
	ck_assert_int_eq(migrate_down(conn, &set, 3, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(db_version(), 0);
	migrate_set_free(&set);
}
END_TEST

/*
 * Every down file of the project undoes its up file: from the latest
 * version down to nothing leaves no table, function or type of the
 * schema, and the way back up works again. On the way, the memberships
 * of migration 0017 take their project's created_at from its row, and
 * the count of 0018 follows the item history.
 */
START_TEST(test_down_every_migration)
{
	struct migration_set	set;
	char			err[ERR_LEN];
	int			latest;

	set_load(migrations_dir, &set);
	latest = migrate_set_latest(&set);
	ck_assert_int_ge(latest, 18);
	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	db_do(conn, "INSERT INTO users (email, password_hash) "
	    "VALUES ('ann@example.com', 'x'), ('bo@example.com', 'x')");
	db_do(conn, "INSERT INTO projects (owner_id, title, created_at) "
	    "SELECT id, 'An idea', timestamptz '2020-01-02 03:04:05.678901Z' "
	    "FROM users WHERE email = 'ann@example.com'");
	db_do(conn, "INSERT INTO project_members (project_id, user_id, role) "
	    "SELECT p.id, u.id, 'viewer' FROM projects p, users u "
	    "WHERE u.email = 'bo@example.com'");
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM project_members "
	    "WHERE project_created_at = "
	    "timestamptz '2020-01-02 03:04:05.678901Z'"), 2);
	/* Migration 0018: the project's row counts its item history. */
	db_do(conn, "INSERT INTO item_events (project_id, item_id, action, "
	    "actor) SELECT p.id, gen_random_uuid(), 'created', 'user' "
	    "FROM projects p, generate_series(1, 3)");
	db_do(conn, "DELETE FROM item_events WHERE id = "
	    "(SELECT min(id) FROM item_events)");
	ck_assert_int_eq(db_long(conn, "SELECT item_event_count FROM projects"),
	    2);

	ck_assert_msg(migrate_down(conn, &set, 1, NULL, err, sizeof err) ==
	    BS_OK, "down 1: %s", err);
	ck_assert_int_eq(db_version(), latest - 1);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM project_members"),
	    2);
	ck_assert_msg(migrate_down(conn, &set, MIGRATE_DOWN_ALL, NULL, err,
	    sizeof err) == BS_OK, "down all: %s", err);
	ck_assert_int_eq(db_version(), 0);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM pg_class c "
	    "JOIN pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE n.nspname = 'public' AND c.relname NOT LIKE "
	    "'schema_migrations%'"), 0);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM pg_proc p "
	    "JOIN pg_namespace n ON n.oid = p.pronamespace "
	    "WHERE n.nspname = 'public'"), 0);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM pg_type t "
	    "JOIN pg_namespace n ON n.oid = t.typnamespace "
	    "WHERE n.nspname = 'public' AND t.typname NOT LIKE "
	    "'%schema_migrations'"), 0);

	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up again: %s", err);
	ck_assert_int_eq(db_version(), latest);
	migrate_set_free(&set);
}
END_TEST

/* The project's migrations, up to version (0: all of them). */
static void
up_to(struct migration_set *set, int version)
{
	char	 err[ERR_LEN];

	set_load(migrations_dir, set);
	ck_assert_msg(migrate_up(conn, set, version, NULL, err, sizeof err) ==
	    BS_OK, "up to %d: %s", version, err);
}

/* One user with one project and one document generation of it. */
static void
generation_fixture(void)
{
	db_do(conn, "INSERT INTO users (email, password_hash) "
	    "VALUES ('ann@example.com', 'x')");
	db_do(conn, "INSERT INTO projects (owner_id, title) "
	    "SELECT id, 'An idea' FROM users");
	db_do(conn, "INSERT INTO document_generations (project_id, kind, "
	    "user_id) SELECT p.id, 'brief', p.owner_id FROM projects p");
}

/*
 * Migration 0020: the usage ledger starts with the runs already made, adds
 * each statement's runs by day and model, and keeps them when their project
 * goes; it goes with its user.
 */
START_TEST(test_usage_ledger)
{
	struct migration_set	set;
	char			err[ERR_LEN];

	up_to(&set, 19);
	generation_fixture();
	db_do(conn, "INSERT INTO agent_runs (generation_id, project_id, "
	    "user_id, agent, model, status, input_tokens, output_tokens, "
	    "created_at) SELECT g.id, g.project_id, g.user_id, 'writer', 'm', "
	    "'ok', 10, 1, t FROM document_generations g, (VALUES "
	    "(timestamptz '2026-11-30 23:59:59Z'), ('2026-12-01 00:00:00Z'), "
	    "('2026-12-01 12:00:00Z')) v (t)");

	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM usage_daily"), 2);
	ck_assert_int_eq(db_long(conn, "SELECT calls * 100 + input_tokens "
	    "FROM usage_daily WHERE day = '2026-11-30'"), 110);
	ck_assert_int_eq(db_long(conn, "SELECT calls * 100 + input_tokens "
	    "FROM usage_daily WHERE day = '2026-12-01'"), 220);

	/* Two runs of one statement, one day and model: one upsert. */
	db_do(conn, "INSERT INTO agent_runs (generation_id, project_id, "
	    "user_id, agent, model, status, input_tokens, output_tokens, "
	    "cache_read_tokens, created_at) SELECT g.id, g.project_id, "
	    "g.user_id, a, 'm', 'ok', 5, 2, 7, '2026-12-01 18:00:00Z' "
	    "FROM document_generations g, (VALUES ('a'), ('b')) v (a)");
	ck_assert_int_eq(db_long(conn, "SELECT calls * 1000 + input_tokens "
	    "FROM usage_daily WHERE day = '2026-12-01'"), 4030);
	ck_assert_int_eq(db_long(conn, "SELECT output_tokens * 1000 + "
	    "cache_read_tokens FROM usage_daily WHERE day = '2026-12-01'"),
	    6014);

	db_do(conn, "DELETE FROM projects");
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM agent_runs"), 0);
	ck_assert_int_eq(db_long(conn, "SELECT sum(calls) FROM usage_daily"),
	    5);
	db_do(conn, "DELETE FROM users");
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM usage_daily"), 0);
	migrate_set_free(&set);
}
END_TEST

/* Runs of the one generation, one per model named: "('b'), ('a')". */
#define LEDGER_RUNS(models) \
	"INSERT INTO agent_runs (generation_id, project_id, user_id, agent, " \
	"model, status, input_tokens) SELECT g.id, g.project_id, g.user_id, " \
	"'writer', m, 'ok', 1 FROM document_generations g, (VALUES " models \
	") v (m)"

/*
 * Two transactions of one user that save runs of the same two models take
 * the ledger's rows in one order: the second, which names them the other
 * way round, waits for the first row without holding the second, and
 * neither is chosen as a deadlock's victim.
 */
START_TEST(test_usage_ledger_lock_order)
{
	struct migration_set	set;
	char			sql[256];
	PGconn			*other;
	PGresult		*res;
	int			i;

	up_to(&set, 0);
	generation_fixture();
	db_do(conn, LEDGER_RUNS("('a'), ('b')"));	/* the rows exist */

	other = db_connect();
	db_do(conn, "BEGIN");
	db_do(conn, LEDGER_RUNS("('a')"));
	ck_assert(PQsendQuery(other, "BEGIN; " LEDGER_RUNS("('b'), ('a')")
	    "; COMMIT") == 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity "
	    "WHERE pid = %d AND wait_event_type = 'Lock'", PQbackendPID(other));
	for (i = 0; i < 500 && db_long(conn, sql) == 0; i++)
		usleep(10000);
	ck_assert_msg(i < 500, "the second transaction never waited");
	db_do(conn, LEDGER_RUNS("('b')"));
	db_do(conn, "COMMIT");
	while ((res = PQgetResult(other)) != NULL) {
		ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK,
		    "the second transaction: %s", PQresultErrorMessage(res));
		PQclear(res);
	}
	PQfinish(other);
	ck_assert_int_eq(db_long(conn, "SELECT sum(calls) FROM usage_daily"),
	    6);
	migrate_set_free(&set);
}
END_TEST

/* Runs of the one generation on 2026-12-01: (model, input, cache read). */
#define PROMPT_RUNS(values) \
	"INSERT INTO agent_runs (generation_id, project_id, user_id, agent, " \
	"model, status, input_tokens, output_tokens, cache_read_tokens, " \
	"created_at) SELECT g.id, g.project_id, g.user_id, 'writer', m, 'ok', " \
	"i, 1, r, '2026-12-01 12:00:00Z' FROM document_generations g, " \
	"(VALUES " values ") v (m, i, r)"

/* The ledger's row of a model and kind, as calls * 10^6 + prompt tokens. */
#define LEDGER_ROW(model, long_prompt) \
	"SELECT coalesce(sum(calls * 1000000 + input_tokens + " \
	"cache_read_tokens), -1) FROM usage_daily WHERE model = '" model \
	"' AND long_prompt = " long_prompt

/*
 * Migration 0023: the ledger keeps the calls with a prompt over 100,000
 * tokens apart. The runs already made are split out of their rows (a row
 * left with no call goes); later ones go to their row by the trigger; down
 * adds them back into one row per day and model.
 */
START_TEST(test_usage_long_prompts)
{
	struct migration_set	set;
	char			err[ERR_LEN];

	up_to(&set, 22);
	generation_fixture();
	db_do(conn, PROMPT_RUNS("('h', 10, 0), ('h', 90000, 20000), "
	    "('h', 100000, 0), ('o', 70000, 40000)"));
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM usage_daily"), 2);

	ck_assert_msg(migrate_up(conn, &set, 23, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("h", "false")), 2100010);
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("h", "true")), 1110000);
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("o", "false")), -1);
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("o", "true")), 1110000);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM usage_daily"), 3);

	/* 100,000 is not over; 100,001 is, cache reads included. */
	db_do(conn, PROMPT_RUNS("('h', 100000, 0), ('h', 1, 100000), "
	    "('o', 5, 0)"));
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("h", "false")), 3200010);
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("h", "true")), 2210001);
	ck_assert_int_eq(db_long(conn, LEDGER_ROW("o", "false")), 1000005);
	ck_assert_int_eq(db_long(conn, "SELECT sum(calls) FROM usage_daily"),
	    7);

	ck_assert_msg(migrate_down(conn, &set, 1, NULL, err, sizeof err) ==
	    BS_OK, "down: %s", err);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM usage_daily"), 2);
	ck_assert_int_eq(db_long(conn, "SELECT calls * 1000000 + input_tokens "
	    "+ cache_read_tokens FROM usage_daily WHERE model = 'h'"), 5410011);
	ck_assert_int_eq(db_long(conn, "SELECT calls * 1000000 + input_tokens "
	    "+ cache_read_tokens FROM usage_daily WHERE model = 'o'"), 2110005);
	db_do(conn, PROMPT_RUNS("('o', 1, 0)"));
	ck_assert_int_eq(db_long(conn, "SELECT sum(calls) FROM usage_daily"),
	    8);
	migrate_set_free(&set);
}
END_TEST

/*
 * Migration 0022: names and titles stored before the API's rules follow
 * them; the others are left as they are.
 */
START_TEST(test_names_one_line)
{
	struct migration_set	set;
	char			err[ERR_LEN];

	up_to(&set, 21);
	db_do(conn, "INSERT INTO users (email, password_hash, display_name) "
	    "VALUES ('a@example.com', 'x', U&'Bob\\202Eetihw'), "
	    "('b@example.com', 'x', U&'\\202E\\0009'), "
	    "('c@example.com', 'x', U&'Zo\\00EB \\05E9'), "
	    "('d@example.com', 'x', E'Ada\\nLovelace')");
	db_do(conn, "INSERT INTO projects (owner_id, title) SELECT id, "
	    "CASE email WHEN 'a@example.com' THEN U&'Plan\\2066x\\2069\\0007' "
	    "WHEN 'b@example.com' THEN E'\\u202e' ELSE 'Fine' END FROM users");
	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM users WHERE "
	    "display_name IN ('Bobetihw', '', U&'Zo\\00EB \\05E9', "
	    "'Ada Lovelace')"), 4);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM projects WHERE "
	    "(title, version) IN (('Planx ', 2), ('Untitled', 2), "
	    "('Fine', 1))"), 4);
	migrate_set_free(&set);
}
END_TEST

/*
 * What a statement may read whole (NULL: any statement): the partial
 * indexes of the turns that are queued or running, which TURN_QUEUE_MAX
 * bounds, whatever the history holds. Anything else read whole is read
 * for every project's rows to find a few, and grows with the platform, not
 * with what the statement answers.
 */
static const struct {
	const char	*statement;
	const char	*what;
} whole_reads[] = {
	{ NULL, "using turns_queue_idx on turns" },
	{ NULL, "using turns_lease_idx on turns" },
};

static bool
whole_read_allowed(const char *statement, const char *plan_line)
{
	size_t	 i;

	for (i = 0; i < sizeof(whole_reads) / sizeof(whole_reads[0]); i++)
		if ((whole_reads[i].statement == NULL ||
		    strcmp(whole_reads[i].statement, statement) == 0) &&
		    strstr(plan_line, whole_reads[i].what) != NULL)
			return true;
	return false;
}

/*
 * Whether row r of an EXPLAIN's text reads a table whole: a sequential
 * scan, or an index scan with no Index Cond among its details (the rows
 * up to the next node), which walks the whole index.
 */
static bool
plan_reads_whole(const PGresult *res, int r)
{
	const char	*line = PQgetvalue(res, r, 0);

	if (strstr(line, "Seq Scan on ") != NULL)
		return true;
	if (strstr(line, "Index Scan using ") == NULL &&
	    strstr(line, "Index Only Scan using ") == NULL)
		return false;
	if (strstr(line, "Bitmap Index Scan") != NULL)
		return false;
	for (r++; r < PQntuples(res); r++) {
		line = PQgetvalue(res, r, 0);
		if (strstr(line, "->") != NULL)
			break;
		if (strstr(line, "Index Cond:") != NULL)
			return false;
	}
	return true;
}

/*
 * Every statement of the pool has a plan that finds its rows through an
 * index: its generic plan (as the pool runs them), with sequential scans
 * made as dear as PostgreSQL makes them (enable_seqscan off), reads no
 * table whole, by a sequential scan or by walking all of an index; so on
 * a production's tables none of them need to either.
 */
START_TEST(test_every_statement_reads_by_index)
{
	struct migration_set		 set;
	const struct db_stmt_table	*t;
	const struct db_stmt		*st;
	PGresult			*res;
	char				 err[ERR_LEN], sql[512], *line;
	size_t				 i, k;
	int				 p, r, bad = 0;

	set_load(migrations_dir, &set);
	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	migrate_set_free(&set);
	db_do(conn, "SET enable_seqscan = off");
	db_do(conn, "SET plan_cache_mode = force_generic_plan");
	for (i = 0; i < db_stmt_ntables; i++) {
		t = &db_stmt_tables[i];
		for (k = 0; k < *t->n; k++) {
			st = &t->stmts[k];
			res = PQprepare(conn, st->name, st->sql, 0, NULL);
			ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK,
			    "%s: %s", st->name, PQresultErrorMessage(res));
			PQclear(res);
			r = snprintf(sql, sizeof sql, "EXPLAIN EXECUTE %s",
			    st->name);
			for (p = 0; p < st->nparams; p++)
				r += snprintf(sql + r, sizeof sql - (size_t)r,
				    "%sNULL", p == 0 ? "(" : ", ");
			if (st->nparams > 0)
				snprintf(sql + r, sizeof sql - (size_t)r, ")");
			res = PQexec(conn, sql);
			ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK,
			    "%s: %s", st->name, PQresultErrorMessage(res));
			for (r = 0; r < PQntuples(res); r++) {
				line = PQgetvalue(res, r, 0);
				if (!plan_reads_whole(res, r) ||
				    whole_read_allowed(st->name, line))
					continue;
				fprintf(stderr, "%s (%s): %s\n", st->name,
				    t->module, line);
				bad++;
			}
			PQclear(res);
		}
	}
	ck_assert_msg(bad == 0, "%d plans read a table whole (above)", bad);
}
END_TEST

/* The pool's statement of that name. */
static const struct db_stmt *
stmt_named(const char *name)
{
	const struct db_stmt_table	*t;
	size_t				 i, k;

	for (i = 0; i < db_stmt_ntables; i++) {
		t = &db_stmt_tables[i];
		for (k = 0; k < *t->n; k++)
			if (strcmp(t->stmts[k].name, name) == 0)
				return &t->stmts[k];
	}
	ck_abort_msg("no statement %s", name);
	return NULL;
}

/*
 * Migration 0024: an item page reads its project's items in the board's
 * order from items_board_idx and stops at the page's end, with no sort,
 * on a table with many projects' items (as the pool runs it: a generic
 * plan).
 */
START_TEST(test_item_page_reads_in_order)
{
	struct migration_set	 set;
	const struct db_stmt	*st;
	PGresult		*res;
	char			 err[ERR_LEN], sql[256];
	const char		*line;
	int			 r, sorts = 0, board = 0;

	set_load(migrations_dir, &set);
	ck_assert_msg(migrate_up(conn, &set, 0, NULL, err, sizeof err) ==
	    BS_OK, "up: %s", err);
	migrate_set_free(&set);
	db_do(conn, "INSERT INTO users (email, password_hash) "
	    "VALUES ('ann@example.com', 'x')");
	db_do(conn, "INSERT INTO projects (owner_id, title) "
	    "SELECT id, 'Idea ' || n FROM users, generate_series(1, 100) n");
	db_do(conn, "INSERT INTO items (project_id, text, state, position) "
	    "SELECT p.id, 'An item', (ARRAY['decided', 'exploring', 'parked', "
	    "'rejected'])[1 + k % 4], k / 8 FROM projects p, "
	    "generate_series(0, 49) k");
	db_do(conn, "ANALYZE items");
	db_do(conn, "SET plan_cache_mode = force_generic_plan");
	st = stmt_named("items_page_guarded");
	res = PQprepare(conn, st->name, st->sql, 0, NULL);
	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s",
	    PQresultErrorMessage(res));
	PQclear(res);
	snprintf(sql, sizeof sql, "EXPLAIN EXECUTE %s (NULL, NULL, NULL, "
	    "NULL, NULL, NULL, NULL, NULL, 51)", st->name);
	res = PQexec(conn, sql);
	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s",
	    PQresultErrorMessage(res));
	for (r = 0; r < PQntuples(res); r++) {
		line = PQgetvalue(res, r, 0);
		sorts += strstr(line, "Sort") != NULL;
		board += strstr(line, "Index Scan using items_board_idx") !=
		    NULL;
	}
	for (r = 0; (sorts != 0 || board != 1) && r < PQntuples(res); r++)
		fprintf(stderr, "%s\n", PQgetvalue(res, r, 0));
	PQclear(res);
	ck_assert_int_eq(sorts, 0);
	ck_assert_int_eq(board, 1);
}
END_TEST

START_TEST(test_down_missing_file)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	small_set_write(dir);
	file_remove(dir, "0002_t2.down.sql");
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_OK);

	/* 0003 could go, but 0002 cannot: nothing runs. */
	ck_assert_int_eq(migrate_down(conn, &set, 2, NULL, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "0002_t2.down.sql") != NULL &&
	    strstr(err, "nothing was rolled back") != NULL, "err: %s", err);
	ck_assert_int_eq(db_version(), migrate_set_latest(&set));
	ck_assert(db_table_exists("t3"));

	ck_assert_int_eq(migrate_down(conn, &set, 1, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(db_version(), 2);
	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_checksum_drift)
{
	struct migration_set	 set;
	struct migrate_options	 opt;
	struct capture		 out;
	char			 dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	migrations_copy(dir);
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 2, NULL, err, sizeof err),
	    BS_OK);
	migrate_set_free(&set);

	file_append(dir, "0002_refresh_tokens.up.sql", "-- an edit\n");
	set_load(dir, &set);

	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_ERR_CHECKSUM);
	ck_assert_msg(strstr(err, "migration 0002") != NULL &&
	    strstr(err, "0002_refresh_tokens.up.sql") != NULL &&
	    strstr(err, "changed") != NULL, "err: %s", err);
	ck_assert_int_eq(migrate_down(conn, &set, 1, NULL, err, sizeof err),
	    BS_ERR_CHECKSUM);
	ck_assert_int_eq(db_version(), 2);
	ck_assert(!db_table_exists("projects"));
	ck_assert(db_table_exists("refresh_tokens"));

	/* A dry run refuses too: it shows what a real run would do. */
	memset(&opt, 0, sizeof opt);
	opt.dry_run = true;
	ck_assert_int_eq(migrate_up(conn, &set, 0, &opt, err, sizeof err),
	    BS_ERR_CHECKSUM);

	/* Status still lists everything, then flags the drift. */
	capture_open(&out);
	opt.dry_run = false;
	opt.out = out.f;
	ck_assert_int_eq(migrate_status(conn, &set, &opt, err, sizeof err),
	    BS_ERR_CHECKSUM);
	ck_assert_msg(strstr(capture_text(&out), "checksum changed") != NULL &&
	    strstr(capture_text(&out), "0003     projects") != NULL, "%s",
	    capture_text(&out));
	capture_close(&out);

	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_applied_without_file)
{
	struct migration_set	 set;
	struct migrate_options	 opt;
	struct capture		 out;
	char			 dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	small_set_write(dir);
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_OK);
	migrate_set_free(&set);

	file_remove(dir, "0003_t3.up.sql");
	file_remove(dir, "0003_t3.down.sql");
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_ERR_CONFLICT);
	ck_assert_msg(strstr(err, "0003") != NULL &&
	    strstr(err, "no file") != NULL, "err: %s", err);
	ck_assert_int_eq(migrate_down(conn, &set, 1, NULL, err, sizeof err),
	    BS_ERR_CONFLICT);
	ck_assert_int_eq(db_version(), 3);
	ck_assert(db_table_exists("t3"));

	memset(&opt, 0, sizeof opt);
	capture_open(&out);
	opt.out = out.f;
	ck_assert_int_eq(migrate_status(conn, &set, &opt, err, sizeof err),
	    BS_ERR_CONFLICT);
	ck_assert_msg(strstr(capture_text(&out), "0003     t3") != NULL &&
	    strstr(capture_text(&out), "no file") != NULL, "%s",
	    capture_text(&out));
	capture_close(&out);

	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_out_of_order)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	small_set_write(dir);
	file_remove(dir, "0002_t2.up.sql");
	file_remove(dir, "0002_t2.down.sql");
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_OK);
	migrate_set_free(&set);

	/* 0002 arrives after 0003 was applied (a merged branch). */
	small_set_write(dir);
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_ERR_CONFLICT);
	ck_assert_msg(strstr(err, "0002") != NULL &&
	    strstr(err, "renumber") != NULL, "err: %s", err);
	ck_assert(!db_table_exists("t2"));

	/* Down is still allowed, and then up applies both in order. */
	ck_assert_int_eq(migrate_down(conn, &set, 1, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(db_version(), migrate_set_latest(&set));
	ck_assert(db_table_exists("t2"));
	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_lock)
{
	struct migration_set	 set;
	struct migrate_options	 opt;
	PGconn			*other;
	char			 err[ERR_LEN];

	set_load(migrations_dir, &set);
	other = db_connect();
	advisory_lock_call(other, "pg_advisory_lock");

	memset(&opt, 0, sizeof opt);
	opt.lock_timeout_ms = 200;
	ck_assert_int_eq(migrate_up(conn, &set, 0, &opt, err, sizeof err),
	    BS_ERR_LOCKED);
	ck_assert_msg(strstr(err, "another migrator") != NULL, "err: %s", err);
	ck_assert_int_eq(migrate_down(conn, &set, 1, &opt, err, sizeof err),
	    BS_ERR_LOCKED);
	ck_assert(!db_table_exists("schema_migrations"));
	ck_assert(!db_table_exists("users"));
	ck_assert_int_eq(db_version(), 0);
	/* The lock wait did not leave lock_timeout behind. */
	ck_assert_int_eq(db_long(conn, "SELECT count(*) WHERE "
	    "current_setting('lock_timeout') = '0'"), 1);

	advisory_lock_call(other, "pg_advisory_unlock");
	ck_assert_msg(migrate_up(conn, &set, 0, &opt, err, sizeof err) ==
	    BS_OK, "up after unlock: %s", err);
	ck_assert_int_eq(db_version(), migrate_set_latest(&set));

	/* Released: the other session can take it at once. */
	db_do(other, "SET lock_timeout = '1s'");
	advisory_lock_call(other, "pg_advisory_lock");
	PQfinish(other);
	migrate_set_free(&set);
}
END_TEST

START_TEST(test_failing_migration)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	small_set_write(dir);
	file_write(dir, "0003_t3.up.sql",
	    "CREATE TABLE t3 (id int);\nSELECT 1 / 0;\n");
	set_load(dir, &set);

	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_ERR_DB);
	ck_assert_msg(strstr(err, "0003") != NULL &&
	    strstr(err, "division by zero") != NULL, "err: %s", err);
	ck_assert_int_eq(db_version(), 2);
	ck_assert(db_table_exists("t1"));
	ck_assert(db_table_exists("t2"));
	ck_assert(!db_table_exists("t3"));
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM schema_migrations "
	    "WHERE version = 3"), 0);
	ck_assert_int_eq(db_long(conn, "SELECT count(*) FROM pg_locks "
	    "WHERE locktype = 'advisory'"), 0);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	migrate_set_free(&set);

	/* Fixed, it applies. */
	file_write(dir, "0003_t3.up.sql", "CREATE TABLE t3 (id int);\n");
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_OK);
	ck_assert_int_eq(db_version(), migrate_set_latest(&set));
	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

START_TEST(test_transaction_control_refused)
{
	struct migration_set	set;
	char			dir[256], err[ERR_LEN];

	tmpdir_make(dir, sizeof dir);
	file_write(dir, "0001_t1.up.sql", "CREATE TABLE t1 (id int); COMMIT;");
	set_load(dir, &set);
	ck_assert_int_eq(migrate_up(conn, &set, 0, NULL, err, sizeof err),
	    BS_ERR_INVALID);
	ck_assert_msg(strstr(err, "ended the transaction") != NULL, "err: %s",
	    err);
	ck_assert_int_eq(db_version(), 0);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	migrate_set_free(&set);
	tmpdir_remove(dir);
}
END_TEST

static Suite *
suite_load(void)
{
	Suite	*s = suite_create("migrate_load");
	TCase	*tc = tcase_create("load");

	tcase_add_test(tc, test_load_good);
	tcase_add_test(tc, test_load_empty_and_missing_dir);
	tcase_add_test(tc, test_load_duplicate);
	tcase_add_test(tc, test_load_bad_name);
	tcase_add_test(tc, test_load_missing_up);
	tcase_add_test(tc, test_load_nul_byte);
	tcase_add_test(tc, test_lock_key_stable);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *
suite_db(void)
{
	Suite	*s = suite_create("migrate_db");
	TCase	*tc = tcase_create("postgresql");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_db_version_without_table);
	tcase_add_test(tc, test_up_latest);
	tcase_add_test(tc, test_up_to);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_dry_run);
	tcase_add_test(tc, test_down);
	tcase_add_test(tc, test_down_every_migration);
	tcase_add_test(tc, test_usage_ledger);
	tcase_add_test(tc, test_names_one_line);
	tcase_add_test(tc, test_usage_ledger_lock_order);
	tcase_add_test(tc, test_usage_long_prompts);
	tcase_add_test(tc, test_every_statement_reads_by_index);
	tcase_add_test(tc, test_item_page_reads_in_order);
	tcase_add_test(tc, test_down_missing_file);
	tcase_add_test(tc, test_checksum_drift);
	tcase_add_test(tc, test_applied_without_file);
	tcase_add_test(tc, test_out_of_order);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_failing_migration);
	tcase_add_test(tc, test_transaction_control_refused);
	suite_add_tcase(s, tc);
	return s;
}

static int
suite_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

int
main(void)
{
	migrations_dir = getenv("MIGRATIONS_DIR");
	if (migrations_dir == NULL || *migrations_dir == '\0')
		migrations_dir = "migrations";
	if (suite_run(suite_load()) != 0)
		return EXIT_FAILURE;

	db_url = getenv("TEST_DATABASE_URL");
	if (db_url == NULL || *db_url == '\0') {
		printf("check_migrate: TEST_DATABASE_URL is not set; the load "
		    "tests passed, the PostgreSQL tests are skipped\n");
		return 77;
	}
	return suite_run(suite_db()) != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
