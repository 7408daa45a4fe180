/*
 * Project roles by name, and the hook that tells open streams that someone
 * lost access (include/brainstorm/members.h).
 */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "brainstorm/events.h"
#include "brainstorm/log.h"
#include "brainstorm/members.h"

static const char *const role_names[] = {
	[PROJECT_ROLE_NONE] = "none",
	[PROJECT_ROLE_VIEWER] = "viewer",
	[PROJECT_ROLE_EDITOR] = "editor",
	[PROJECT_ROLE_OWNER] = "owner",
};

static const char *const loss_names[] = {
	[ACCESS_MEMBER_REMOVED] = "member_removed",
	[ACCESS_USER_DISABLED] = "user_disabled",
	[ACCESS_USER_DELETED] = "user_deleted",
	[ACCESS_PROJECT_DELETED] = "project_deleted",
};

const char *
project_role_name(enum project_role role)
{
	if ((unsigned)role > PROJECT_ROLE_OWNER)
		return role_names[PROJECT_ROLE_NONE];
	return role_names[role];
}

bool
project_role_parse(const char *s, enum project_role *out)
{
	int	 r;

	*out = PROJECT_ROLE_NONE;
	if (s == NULL)
		return false;
	for (r = PROJECT_ROLE_VIEWER; r <= PROJECT_ROLE_OWNER; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum project_role)r;
			return true;
		}
	}
	return false;
}

void
access_revoked(struct events *ev, const char *project_id, const char *user_id,
    enum access_loss why)
{
	json_object	*data;
	char		 ch[EVENTS_CHANNELS_MAX];

	if (ev == NULL || project_id == NULL)
		return;
	if ((data = json_object_new_object()) == NULL)
		return;
	json_object_object_add(data, "user_id",
	    user_id != NULL ? json_object_new_string(user_id) : NULL);
	json_object_object_add(data, "reason",
	    json_object_new_string(loss_names[why]));
	if (events_publish_project(ev, project_id, "access.revoked", data) != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "access.revoked for project %s not "
		    "published", project_id);
	json_object_put(data);
	/*
	 * Then the streams end: nchan drops the channel that only the
	 * people who lost access subscribe to (events.h).
	 */
	if (why == ACCESS_PROJECT_DELETED || user_id == NULL)
		events_channel_project(ch, sizeof(ch), project_id);
	else if (why == ACCESS_MEMBER_REMOVED)
		events_channel_member(ch, sizeof(ch), project_id, user_id);
	else
		events_channel_user(ch, sizeof(ch), user_id);
	if (events_close(ev, ch) != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "the streams of %s could not be ended", ch);
}

void
role_changed(struct events *ev, const char *project_id, const char *user_id,
    enum project_role role)
{
	json_object	*data;
	char		 ch[EVENTS_CHANNELS_MAX];

	if (ev == NULL || project_id == NULL || user_id == NULL)
		return;
	if ((data = json_object_new_object()) == NULL)
		return;
	json_object_object_add(data, "user_id", json_object_new_string(user_id));
	json_object_object_add(data, "role",
	    json_object_new_string(project_role_name(role)));
	events_channel_member(ch, sizeof(ch), project_id, user_id);
	if (events_publish(ev, ch, "member.role_changed", data) != BS_OK)
		log_msgf(LOG_LEVEL_WARN, "member.role_changed for project %s not "
		    "published", project_id);
	json_object_put(data);
}
