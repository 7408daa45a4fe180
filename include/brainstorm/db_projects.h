/*
 * Project queries. Every function takes the caller's id and matches their
 * membership in SQL, so a caller cannot reach a project of others by
 * mistake. Projects come back as the API's JSON object (docs/API.md), with
 * the caller's role and item_counts.
 */
#ifndef BRAINSTORM_DB_PROJECTS_H
#define BRAINSTORM_DB_PROJECTS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/err.h"

#define DB_UUID_LEN	37	/* 36 characters and the NUL */

/*
 * SQL: true when owner (a uuid) owns fewer than cap (an integer, NULL: no
 * cap) projects; projects_room (migrations/0014) locks the owner's users
 * row first, so that creations and imports at once cannot both pass cap.
 */
#define DB_PROJECTS_ROOM(owner, cap) \
	"(" cap " IS NULL OR projects_room(" owner ", " cap "))"

/* Where a page of the newest-first list ends: (created_at, id). */
struct db_project_key {
	long long	 created_us;	/* created_at in microseconds */
	char		 id[DB_UUID_LEN];
};

/*
 * Up to limit of the projects user_id is a member of, newest first, after
 * *after (NULL: from the newest), as a JSON array written to w and their
 * number in *count; *has_next tells whether more follow, and then *next is
 * the key of the page's last project. app.c's guard runs in the same
 * statement (one round trip): projects only while user_id is an enabled
 * user and session_id one of their open sessions. Nothing tells an empty
 * page from a refusal: with *count 0, ask app_guard_check.
 */
bs_err	db_projects_list_write(struct db_conn *conn, const char *user_id,
	    const char *session_id, const struct db_project_key *after,
	    int limit, struct json_writer *w, int *count, bool *has_next,
	    struct db_project_key *next);
bs_err	db_project_get(struct db_conn *conn, const char *project_id,
	    const char *user_id, json_object **out);
/*
 * description may be NULL (empty). user_id becomes its first owner.
 * BS_ERR_TOO_LARGE: they own max_projects projects already (0: no cap).
 */
bs_err	db_project_create(struct db_conn *conn, const char *user_id,
	    const char *title, const char *description, long max_projects,
	    json_object **out);
/*
 * Change the fields that are not NULL and bump the version, only when the
 * stored version is still version. BS_ERR_CONFLICT: *out holds the stored
 * project instead; BS_ERR_NOT_FOUND: there is none.
 */
bs_err	db_project_update(struct db_conn *conn, const char *project_id,
	    const char *user_id, long version, const char *title,
	    const char *description, const char *status, json_object **out);
/* Its items and their events go with it (ON DELETE CASCADE). */
bs_err	db_project_delete(struct db_conn *conn, const char *project_id,
	    const char *user_id);

/* The statement table (db_stmt_tables lists it). */
extern const struct db_stmt	db_project_stmts[];
extern const size_t		db_project_nstmts;

#endif
