/*
 * The migrations loader: a directory of NNNN_name.up.sql and .down.sql
 * files read, checked and paired into a set sorted by version, each up
 * file with its checksum. migrate.c runs a set.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "brainstorm/buf.h"
#include "brainstorm/migrate.h"

#define MIGRATE_VERSION_DIGITS_MIN 4
#define MIGRATE_VERSION_DIGITS_MAX 9	/* keeps every version inside an int */

struct migrate_entry {
	int	 version;
	bool	 up;
	char	 name[MIGRATE_NAME_MAX + 1];
	char	*file;
};

static bool
migrate_has_suffix(const char *s, const char *suffix)
{
	size_t	ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* NNNN_name.up.sql or NNNN_name.down.sql; false for anything else. */
static bool
migrate_file_name_parse(const char *file, struct migrate_entry *e)
{
	const char	*p = file;
	size_t		 digits = 0, len, n, i;
	int		 version = 0;

	while (*p >= '0' && *p <= '9') {
		if (++digits > MIGRATE_VERSION_DIGITS_MAX)
			return false;
		version = version * 10 + (*p - '0');
		p++;
	}
	if (digits < MIGRATE_VERSION_DIGITS_MIN || *p != '_' || version == 0)
		return false;
	p++;
	len = strlen(p);
	if (migrate_has_suffix(p, ".up.sql")) {
		e->up = true;
		n = len - strlen(".up.sql");
	} else if (migrate_has_suffix(p, ".down.sql")) {
		e->up = false;
		n = len - strlen(".down.sql");
	} else
		return false;
	if (n == 0 || n > MIGRATE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return false;
	}
	memcpy(e->name, p, n);
	e->name[n] = '\0';
	e->version = version;
	return true;
}

/* By version, the up file first, then by file name (for stable messages). */
static int
migrate_entry_compare(const void *a, const void *b)
{
	const struct migrate_entry	*x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if (x->up != y->up)
		return x->up ? -1 : 1;
	return strcmp(x->file, y->file);
}

/* Read a whole SQL file, capped at MIGRATE_FILE_MAX; no NUL bytes allowed. */
static bs_err
migrate_file_read(const char *dir, const char *file, char **out,
    char *err, size_t errlen)
{
	char		 path[PATH_MAX], chunk[8192];
	struct buf	 b;
	struct stat	 st;
	ssize_t		 n;
	int		 fd = -1, len;
	bs_err		 rc;

	*out = NULL;
	buf_init(&b, MIGRATE_FILE_MAX);
	len = snprintf(path, sizeof path, "%s/%s", dir, file);
	if (len < 0 || (size_t)len >= sizeof path) {
		bs_errf(err, errlen, "%s/%s: path too long", dir, file);
		rc = BS_ERR_INVALID;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		bs_errf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		rc = BS_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		bs_errf(err, errlen, "%s is not a regular file", path);
		rc = BS_ERR_INVALID;
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			bs_errf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			rc = BS_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		rc = buf_append(&b, chunk, (size_t)n);
		if (rc == BS_ERR_TOO_LARGE) {
			bs_errf(err, errlen, "%s is larger than %d bytes",
			    path, MIGRATE_FILE_MAX);
			goto out;
		}
		if (rc != BS_OK) {
			bs_errf(err, errlen, "cannot read %s: %s", path,
			    bs_strerror(rc));
			goto out;
		}
	}
	if (memchr(buf_cstr(&b), '\0', b.len) != NULL) {
		bs_errf(err, errlen, "%s contains a NUL byte", path);
		rc = BS_ERR_INVALID;
		goto out;
	}
	*out = buf_take(&b);
	if (*out == NULL) {
		bs_errf(err, errlen, "out of memory reading %s", path);
		rc = BS_ERR_NOMEM;
		goto out;
	}
	rc = BS_OK;
out:
	if (fd != -1)
		close(fd);
	buf_free(&b);
	return rc;
}

static void
migrate_checksum(const char *sql, char hex[MIGRATE_CHECKSUM_HEX_LEN + 1])
{
	unsigned char	hash[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(hash, (const unsigned char *)sql, strlen(sql));
	sodium_bin2hex(hex, MIGRATE_CHECKSUM_HEX_LEN + 1, hash, sizeof hash);
}

/* Collect the candidate files of dir, sorted; names are checked here. */
static bs_err
migrate_dir_scan(const char *dir, struct migrate_entry **out, size_t *nout,
    char *err, size_t errlen)
{
	DIR			*dp = NULL;
	struct dirent		*de;
	struct migrate_entry	*entries = NULL, *grown, e;
	size_t			 n = 0, cap = 0, i;
	bs_err			 rc;

	dp = opendir(dir);
	if (dp == NULL) {
		bs_errf(err, errlen, "cannot open migrations directory %s: %s",
		    dir, strerror(errno));
		rc = BS_ERR_IO;
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(dp);
		if (de == NULL)
			break;
		/* Dotfiles, READMEs and editor leftovers are not migrations. */
		if (de->d_name[0] == '.' || !migrate_has_suffix(de->d_name, ".sql"))
			continue;
		memset(&e, 0, sizeof e);
		if (!migrate_file_name_parse(de->d_name, &e)) {
			bs_errf(err, errlen, "bad migration file name %s/%s: "
			    "expected NNNN_name.up.sql or NNNN_name.down.sql "
			    "(NNNN: %d to %d digits, not all zero; name: "
			    "lowercase letters, digits and _)", dir, de->d_name,
			    MIGRATE_VERSION_DIGITS_MIN, MIGRATE_VERSION_DIGITS_MAX);
			rc = BS_ERR_INVALID;
			goto out;
		}
		if (n == cap) {
			if (cap >= 2 * MIGRATE_SET_MAX) {
				bs_errf(err, errlen, "%s has more than %d "
				    "migrations", dir, MIGRATE_SET_MAX);
				rc = BS_ERR_TOO_LARGE;
				goto out;
			}
			cap = cap ? cap * 2 : 16;
			grown = realloc(entries, cap * sizeof *entries);
			if (grown == NULL) {
				bs_errf(err, errlen, "out of memory");
				rc = BS_ERR_NOMEM;
				goto out;
			}
			entries = grown;
		}
		e.file = strdup(de->d_name);
		if (e.file == NULL) {
			bs_errf(err, errlen, "out of memory");
			rc = BS_ERR_NOMEM;
			goto out;
		}
		entries[n++] = e;
	}
	if (errno != 0) {
		bs_errf(err, errlen, "cannot read migrations directory %s: %s",
		    dir, strerror(errno));
		rc = BS_ERR_IO;
		goto out;
	}
	if (n > 0)
		qsort(entries, n, sizeof *entries, migrate_entry_compare);
	*out = entries;
	*nout = n;
	entries = NULL;
	n = 0;
	rc = BS_OK;
out:
	for (i = 0; i < n; i++)
		free(entries[i].file);
	free(entries);
	if (dp != NULL)
		closedir(dp);
	return rc;
}

bs_err
migrate_load_dir(const char *dir, struct migration_set *set, char *err,
    size_t errlen)
{
	struct migrate_entry		*entries = NULL;
	const struct migrate_entry	*up, *down;
	struct migration		*m;
	size_t				 n = 0, i, j;
	bs_err				 rc;

	memset(set, 0, sizeof *set);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (sodium_init() < 0) {	/* idempotent, for the checksums */
		bs_errf(err, errlen, "libsodium failed to initialise");
		rc = BS_ERR_INTERNAL;
		goto out;
	}
	rc = migrate_dir_scan(dir, &entries, &n, err, errlen);
	if (rc != BS_OK)
		goto out;
	set->dir = strdup(dir);
	set->items = calloc(n ? n : 1, sizeof *set->items);
	if (set->dir == NULL || set->items == NULL) {
		bs_errf(err, errlen, "out of memory");
		rc = BS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i = j) {
		up = down = NULL;
		for (j = i; j < n && entries[j].version == entries[i].version;
		    j++) {
			const struct migrate_entry **slot;

			slot = entries[j].up ? &up : &down;
			if (*slot != NULL) {
				bs_errf(err, errlen, "duplicate migration "
				    "version %04d in %s: %s and %s",
				    entries[j].version, dir, (*slot)->file,
				    entries[j].file);
				rc = BS_ERR_INVALID;
				goto out;
			}
			*slot = &entries[j];
		}
		if (up == NULL) {
			bs_errf(err, errlen, "%s/%s has no up file "
			    "(expected %04d_%s.up.sql)", dir, down->file,
			    down->version, down->name);
			rc = BS_ERR_INVALID;
			goto out;
		}
		if (down != NULL && strcmp(up->name, down->name) != 0) {
			bs_errf(err, errlen, "%s/%s and %s have the same "
			    "version but different names", dir, up->file,
			    down->file);
			rc = BS_ERR_INVALID;
			goto out;
		}
		if (set->count >= MIGRATE_SET_MAX) {
			bs_errf(err, errlen, "%s has more than %d migrations",
			    dir, MIGRATE_SET_MAX);
			rc = BS_ERR_TOO_LARGE;
			goto out;
		}

		m = &set->items[set->count++];
		m->version = up->version;
		m->name = strdup(up->name);
		m->up_file = strdup(up->file);
		m->down_file = down != NULL ? strdup(down->file) : NULL;
		if (m->name == NULL || m->up_file == NULL ||
		    (down != NULL && m->down_file == NULL)) {
			bs_errf(err, errlen, "out of memory");
			rc = BS_ERR_NOMEM;
			goto out;
		}
		rc = migrate_file_read(dir, up->file, &m->up_sql, err, errlen);
		if (rc != BS_OK)
			goto out;
		if (down != NULL) {
			rc = migrate_file_read(dir, down->file, &m->down_sql,
			    err, errlen);
			if (rc != BS_OK)
				goto out;
		}
		migrate_checksum(m->up_sql, m->checksum);
	}
	rc = BS_OK;
out:
	for (i = 0; i < n; i++)
		free(entries[i].file);
	free(entries);
	if (rc != BS_OK)
		migrate_set_free(set);
	return rc;
}

void
migrate_set_free(struct migration_set *set)
{
	size_t	i;

	if (set == NULL)
		return;
	for (i = 0; i < set->count; i++) {
		free(set->items[i].name);
		free(set->items[i].up_file);
		free(set->items[i].down_file);
		free(set->items[i].up_sql);
		free(set->items[i].down_sql);
	}
	free(set->items);
	free(set->dir);
	memset(set, 0, sizeof *set);
}

int
migrate_set_latest(const struct migration_set *set)
{
	if (set == NULL || set->count == 0)
		return 0;
	return set->items[set->count - 1].version;
}

static int
migrate_version_compare(const void *key, const void *item)
{
	int				 v = *(const int *)key;
	const struct migration		*m = item;

	return v < m->version ? -1 : v > m->version;
}

const struct migration *
migrate_set_find(const struct migration_set *set, int version)
{
	if (set == NULL || set->count == 0)
		return NULL;
	return bsearch(&version, set->items, set->count, sizeof *set->items,
	    migrate_version_compare);
}
