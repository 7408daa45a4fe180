/*
 * Project members and invitations. Who may call these is decided by the
 * guard (app.c); the functions keep a project's invariants: at least one
 * owner, at most PROJECT_MEMBERS_MAX members and invitations together.
 * Changes run in a transaction that locks the project row, so two owners
 * demoting each other at once cannot leave it without one.
 */
#ifndef BRAINSTORM_DB_MEMBERS_H
#define BRAINSTORM_DB_MEMBERS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/err.h"
#include "brainstorm/members.h"

/* The statement table (db_stmt_tables lists it). */
extern const struct db_stmt	db_member_stmts[];
extern const size_t		db_member_nstmts;

/*
 * *members: [{user_id, email, display_name, role, added_by, created_at}],
 * oldest first; *invitations: [{id, email, role, invited_by, created_at}].
 */
bs_err	db_members_list(struct db_conn *c, const char *project_id,
	    json_object **members, json_object **invitations);

/* What db_members_add did, or why it did not. */
enum member_add_result {
	MEMBER_ADDED,		/* *out is the member */
	MEMBER_INVITED,		/* *out is the invitation */
	MEMBER_NO_ACCOUNT,	/* no such account, and invitations are off */
	MEMBER_EXISTS,		/* already a member, or already invited */
	MEMBER_LIMIT,		/* the project has max members and invitations */
};

/*
 * Make the account with email a member with role; without an account, an
 * invitation when invite is true.
 */
bs_err	db_members_add(struct db_conn *c, const char *project_id,
	    const char *added_by, const char *email, enum project_role role,
	    bool invite, long max, enum member_add_result *result,
	    json_object **out);
/*
 * BS_ERR_NOT_FOUND: user_id is not a member; BS_ERR_CONFLICT: it is the
 * last owner and role is not owner. *out: the member as it is now.
 */
bs_err	db_members_update(struct db_conn *c, const char *project_id,
	    const char *user_id, enum project_role role, json_object **out);
/* BS_ERR_NOT_FOUND: not a member; BS_ERR_CONFLICT: the last owner. */
bs_err	db_members_remove(struct db_conn *c, const char *project_id,
	    const char *user_id);
/* BS_ERR_NOT_FOUND: no such invitation in this project. */
bs_err	db_invitations_delete(struct db_conn *c, const char *project_id,
	    const char *invitation_id);

#endif
