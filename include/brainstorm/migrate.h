/*
 * Schema migrations: numbered SQL files NNNN_name.up.sql and (optionally)
 * NNNN_name.down.sql in one directory. Each migration runs in its own
 * transaction together with its row in schema_migrations, so a failure rolls
 * back that migration only. Up and down hold a PostgreSQL advisory lock for
 * their whole run, so two migrators never interleave.
 *
 * Migration files must not contain transaction control (BEGIN, COMMIT) or
 * statements that cannot run inside a transaction (CREATE INDEX CONCURRENTLY).
 *
 * Every function that can fail returns a bs_err and, when err is not NULL,
 * writes a sentence for a human into err (errlen bytes, always terminated).
 */
#ifndef BRAINSTORM_MIGRATE_H
#define BRAINSTORM_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "brainstorm/err.h"

#define MIGRATE_CHECKSUM_HEX_LEN 64		/* hex SHA-256 of the up file */
#define MIGRATE_FILE_MAX	(8 * 1024 * 1024) /* bytes per SQL file */
#define MIGRATE_SET_MAX		10000		/* migrations per directory */
#define MIGRATE_NAME_MAX	100		/* the "name" part of a file name */
/* migrate_down's count to roll back every applied migration. */
#define MIGRATE_DOWN_ALL	(-1)

struct migration {
	int	 version;	/* NNNN, 1..999999999 */
	char	*name;		/* "users" for 0001_users.up.sql */
	char	*up_file;	/* file names inside the set's directory */
	char	*down_file;	/* NULL when there is no down file */
	char	*up_sql;	/* file contents, read once at load time */
	char	*down_sql;	/* NULL when there is no down file */
	char	 checksum[MIGRATE_CHECKSUM_HEX_LEN + 1];
};

/* A directory's migrations, sorted by version, versions unique. */
struct migration_set {
	char			*dir;
	struct migration	*items;
	size_t			 count;
};

struct migrate_options {
	bool	 dry_run;		/* print what would run, change nothing */
	int	 lock_timeout_ms;	/* for the advisory lock; 0 waits forever */
	FILE	*out;			/* progress, status, dry-run SQL; NULL = silent */
};

/*
 * Load dir into set (zeroed first; empty again on failure, and safe to free
 * either way). Names starting with '.' and names not ending in ".sql" are
 * ignored; any other name must be NNNN_name.up.sql or NNNN_name.down.sql
 * (NNNN: 4 to 9 digits, name: [a-z0-9_]). BS_ERR_INVALID for a bad name, a
 * duplicate version, a down file without an up file, a file with a NUL byte;
 * BS_ERR_TOO_LARGE for a file over MIGRATE_FILE_MAX; BS_ERR_IO for read errors.
 */
bs_err	migrate_load_dir(const char *dir, struct migration_set *set,
	    char *err, size_t errlen);
/* NULL-safe; leaves set empty. */
void	migrate_set_free(struct migration_set *set);
/* The newest version in set, 0 when it is empty. */
int	migrate_set_latest(const struct migration_set *set);
/* The migration with that version, or NULL. */
const struct migration *migrate_set_find(const struct migration_set *set,
	    int version);

/*
 * Apply the pending migrations in order, up to version to (0 = the latest;
 * otherwise a version in set). Creates schema_migrations when missing.
 * Refuses before running anything when an applied migration's up file changed
 * (BS_ERR_CHECKSUM), when an applied version has no file (BS_ERR_CONFLICT), or
 * when a pending migration is older than the newest applied one
 * (BS_ERR_CONFLICT). BS_ERR_LOCKED when the lock is not obtained within
 * lock_timeout_ms; BS_ERR_DB when a migration fails (earlier ones stay
 * applied). A dry run takes no lock and creates nothing. opt may be NULL.
 */
bs_err	migrate_up(PGconn *conn, const struct migration_set *set, int to,
	    const struct migrate_options *opt, char *err, size_t errlen);
/*
 * Roll back the newest count applied migrations (count >= 1 or
 * MIGRATE_DOWN_ALL), newest first, each in its own transaction. Checks as for
 * migrate_up; BS_ERR_INVALID, before anything runs, when fewer than count are
 * applied or one of them has no down file.
 */
bs_err	migrate_down(PGconn *conn, const struct migration_set *set, int count,
	    const struct migrate_options *opt, char *err, size_t errlen);
/*
 * Print every migration (files and database rows) to opt->out: version, name,
 * applied or pending, applied_at, and problems. Read-only, takes no lock.
 * Returns BS_ERR_CHECKSUM or BS_ERR_CONFLICT, after printing, when migrate_up
 * would refuse to run.
 */
bs_err	migrate_status(PGconn *conn, const struct migration_set *set,
	    const struct migrate_options *opt, char *err, size_t errlen);
/* The newest applied version (0 when schema_migrations does not exist). */
bs_err	migrate_db_version(PGconn *conn, int *version, char *err,
	    size_t errlen);
/* The advisory lock key: the first 8 bytes of SHA-256("brainstorm.migrate"). */
int64_t	migrate_lock_key(void);

#endif
