/*
 * Teams: a project's members and invitations. The guard (app.c) lets a
 * request in only with the role its route names; these handlers keep the
 * rest: at least one owner, a bounded team, and the lost-access hook.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_members.h"
#include "brainstorm/members.h"
#include "brainstorm/validate.h"

static const char *const role_choices[] = { "owner", "editor", "viewer", NULL };

enum { ADD_EMAIL, ADD_ROLE };
static const struct field_rule add_rules[] = {
	[ADD_EMAIL] =	{ "email", FIELD_STRING, true, 1, 320, NULL },
	[ADD_ROLE] =	{ "role", FIELD_ENUM, true, 0, 0, role_choices },
};
static const struct field_rule update_rules[] = {
	{ "role", FIELD_ENUM, true, 0, 0, role_choices },
};
#define NRULES(r)	(sizeof(r) / sizeof((r)[0]))

/* A change of a member answered with e. */
static const struct api_error_row change_errors[] = {
	API_ERROR_NOT_FOUND("member"),
	{ BS_ERR_CONFLICT, { 409, "last_owner", "A project keeps at least one "
	    "owner: make another member an owner first.", 0 } },
};
static const struct api_error_row project_errors[] = {
	API_ERROR_NOT_FOUND("project"),
};

void
api_members_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*members = NULL, *invitations = NULL, *body;
	bs_err		 e;

	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_members_list(conn, ctx->req.project_id, &members,
	    &invitations)) != BS_OK) {
		api_respond_db_error(ctx, e);
		goto out;
	}
	body = json_object_new_object();
	json_object_object_add(body, "members", members);
	json_object_object_add(body, "invitations", invitations);
	json_object_object_add(body, "role", json_object_new_string(
	    project_role_name((enum project_role)ctx->req.project_role)));
	http_respond_json(ctx, 200, body);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_members_add(struct http_ctx *ctx)
{
	const struct bs_config	*cfg = ctx->app->cfg;
	struct field_value	 f[NRULES(add_rules)];
	struct validate_error	 verr;
	struct db_conn		*conn = NULL;
	enum member_add_result	 result;
	enum project_role	 role;
	json_object		*row = NULL, *body;
	char			 email[EMAIL_MAX_LEN + 1];
	bool			 invite;
	bs_err			 e;

	if (validate_object(ctx->req.json, add_rules, NRULES(add_rules), f,
	    &verr) != BS_OK) {
		api_respond_invalid(ctx, verr.field, verr.message);
		return;
	}
	if (!email_normalize(f[ADD_EMAIL].str, email)) {
		api_respond_invalid(ctx, "email", "email must be an address like "
		    "name@example.com.");
		return;
	}
	project_role_parse(f[ADD_ROLE].str, &role);
	invite = strcmp(cfg->registration, "invite") == 0;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_members_add(conn, ctx->req.project_id, ctx->req.user_id,
	    email, role, invite, cfg->project_members_max, &result,
	    &row)) != BS_OK) {
		api_respond_error(ctx, e, API_ERROR_ROWS(project_errors));
		goto out;
	}
	switch (result) {
	case MEMBER_ADDED:
	case MEMBER_INVITED:
		body = json_object_new_object();
		json_object_object_add(body, result == MEMBER_ADDED ? "member" :
		    "invitation", row);
		row = NULL;
		http_respond_json(ctx, 201, body);
		break;
	case MEMBER_NO_ACCOUNT:
		http_respond_error(ctx, 404, "account_not_found", "No account "
		    "has this email. %s", strcmp(cfg->registration, "open") == 0 ?
		    "Ask them to sign up, then add them." :
		    "An operator can create one (brainstormctl user create).");
		break;
	case MEMBER_LIMIT:
		http_respond_error(ctx, 422, "member_limit", "A project has at "
		    "most %ld members and invitations together.",
		    cfg->project_members_max);
		break;
	case MEMBER_EXISTS:
	default:
		http_respond_error(ctx, 409, "already_member", "This account is "
		    "already a member, or this email is already invited.");
		break;
	}
out:
	json_object_put(row);
	db_pool_release(ctx->app->db, conn);
}

void
api_members_update(struct http_ctx *ctx)
{
	struct field_value	 f[NRULES(update_rules)];
	struct validate_error	 verr;
	struct db_conn		*conn = NULL;
	enum project_role	 role;
	json_object		*member = NULL, *body;
	const char		*user = http_param_get(&ctx->req, "user");
	bs_err			 e;

	if (validate_object(ctx->req.json, update_rules, NRULES(update_rules),
	    f, &verr) != BS_OK) {
		api_respond_invalid(ctx, verr.field, verr.message);
		return;
	}
	if (!uuid_valid(user)) {
		http_respond_error(ctx, 404, "not_found", "No such member.");
		return;
	}
	project_role_parse(f[0].str, &role);
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_members_update(conn, ctx->req.project_id, user, role,
	    &member)) != BS_OK) {
		api_respond_error(ctx, e, API_ERROR_ROWS(change_errors));
		goto out;
	}
	role_changed(ctx->app->events, ctx->req.project_id, user, role);
	body = json_object_new_object();
	json_object_object_add(body, "member", member);
	http_respond_json(ctx, 200, body);
out:
	db_pool_release(ctx->app->db, conn);
}

/* Remove user from the request's project, then tell their open streams. */
static void
member_remove(struct http_ctx *ctx, const char *user)
{
	struct db_conn	*conn = NULL;
	bs_err		 e;

	if (!uuid_valid(user)) {
		http_respond_error(ctx, 404, "not_found", "No such member.");
		return;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_members_remove(conn, ctx->req.project_id, user)) != BS_OK) {
		api_respond_error(ctx, e, API_ERROR_ROWS(change_errors));
		goto out;
	}
	access_revoked(ctx->app->events, ctx->req.project_id, user,
	    ACCESS_MEMBER_REMOVED);
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	db_pool_release(ctx->app->db, conn);
}

void
api_members_remove(struct http_ctx *ctx)
{
	member_remove(ctx, http_param_get(&ctx->req, "user"));
}

void
api_members_leave(struct http_ctx *ctx)
{
	member_remove(ctx, ctx->req.user_id);
}

void
api_invitations_delete(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	const char	*id = http_param_get(&ctx->req, "invitation");
	bs_err		 e;

	if (!uuid_valid(id)) {
		http_respond_error(ctx, 404, "not_found", "No such invitation.");
		return;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) != BS_OK ||
	    (e = db_invitations_delete(conn, ctx->req.project_id, id)) != BS_OK) {
		if (e == BS_ERR_NOT_FOUND)
			http_respond_error(ctx, 404, "not_found",
			    "No such invitation.");
		else
			api_respond_db_error(ctx, e);
		goto out;
	}
	http_respond_text(ctx, 204, NULL, "", 0);
out:
	db_pool_release(ctx->app->db, conn);
}
