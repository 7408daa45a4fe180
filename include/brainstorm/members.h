/*
 * Teams: the roles a project member can have, ordered so that a higher
 * role can do everything a lower one can, and the one place that hears
 * about lost access (a member removed, an account disabled or deleted, a
 * project deleted) so that whatever the person still holds open can end.
 */
#ifndef BRAINSTORM_MEMBERS_H
#define BRAINSTORM_MEMBERS_H

#include <stdbool.h>

struct events;

enum project_role {
	PROJECT_ROLE_NONE = 0,	/* not a member */
	PROJECT_ROLE_VIEWER,	/* reads */
	PROJECT_ROLE_EDITOR,	/* also the board, the agents, documents */
	PROJECT_ROLE_OWNER,	/* also members, rename, archive, delete */
};

/* "viewer", "editor", "owner" ("none" for PROJECT_ROLE_NONE). */
const char *project_role_name(enum project_role role);
/* The role named s; false (and NONE) for anything else, "none" included. */
bool	project_role_parse(const char *s, enum project_role *out);

/* Why someone lost access to a project. */
enum access_loss {
	ACCESS_MEMBER_REMOVED,	/* removed by an owner, or left */
	ACCESS_USER_DISABLED,	/* brainstormctl user disable */
	ACCESS_USER_DELETED,	/* DELETE /api/auth/me */
	ACCESS_PROJECT_DELETED,	/* everyone's access ends */
};

/*
 * The hook for lost access: called after the change is committed, once per
 * project. user_id is whose access ended (NULL: everyone's, for a deleted
 * project). It publishes "access.revoked" {user_id, reason} on the
 * project's live events, then ends the streams concerned: nchan deletes
 * the member's channel (removed), the account's (disabled, deleted) or the
 * project's (deleted). events may be NULL (nothing to tell).
 */
void	access_revoked(struct events *ev, const char *project_id,
	    const char *user_id, enum access_loss why);

/*
 * After a member's role changed (committed): "member.role_changed"
 * {user_id, role} on the member's own channel, which only that person's
 * project streams subscribe, so their open page shows what they may do
 * now. events may be NULL.
 */
void	role_changed(struct events *ev, const char *project_id,
	    const char *user_id, enum project_role role);

#endif
