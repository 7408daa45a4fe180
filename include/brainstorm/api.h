/* Handlers, one file per resource (api_*.c); the table is in api_routes.c. */
#ifndef BRAINSTORM_API_H
#define BRAINSTORM_API_H

#include "brainstorm/http.h"

/* api_ops.c */
void	api_ops_health(struct http_ctx *ctx);
void	api_ops_ready(struct http_ctx *ctx);
void	api_ops_metrics(struct http_ctx *ctx);
void	api_ops_debug_sleep(struct http_ctx *ctx);
void	api_ops_debug_echo(struct http_ctx *ctx);
void	api_ops_debug_fail(struct http_ctx *ctx);

/* api_auth.c */
void	api_auth_register(struct http_ctx *ctx);
void	api_auth_login(struct http_ctx *ctx);
void	api_auth_refresh(struct http_ctx *ctx);
void	api_auth_logout(struct http_ctx *ctx);
void	api_auth_me(struct http_ctx *ctx);
void	api_auth_me_update(struct http_ctx *ctx);
void	api_auth_me_delete(struct http_ctx *ctx);
void	api_auth_password(struct http_ctx *ctx);

/* api_projects.c */
void	api_projects_list(struct http_ctx *ctx);
void	api_projects_create(struct http_ctx *ctx);
void	api_projects_get(struct http_ctx *ctx);
void	api_projects_update(struct http_ctx *ctx);
void	api_projects_delete(struct http_ctx *ctx);

/* api_members.c: teams */
void	api_members_list(struct http_ctx *ctx);
void	api_members_add(struct http_ctx *ctx);
void	api_members_update(struct http_ctx *ctx);
void	api_members_remove(struct http_ctx *ctx);
void	api_members_leave(struct http_ctx *ctx);
void	api_invitations_delete(struct http_ctx *ctx);

/* api_items.c */
void	api_items_list(struct http_ctx *ctx);
void	api_items_create(struct http_ctx *ctx);
void	api_items_update(struct http_ctx *ctx);
void	api_items_delete(struct http_ctx *ctx);
void	api_items_history(struct http_ctx *ctx);

/* api_messages.c: the conversation, and the turns it queues */
void	api_messages_create(struct http_ctx *ctx);
void	api_messages_list(struct http_ctx *ctx);
void	api_turns_retry(struct http_ctx *ctx);

/* api_turns.c: one turn */
void	api_turn_get(struct http_ctx *ctx);
void	api_turn_events(struct http_ctx *ctx);

/* api_events.c: live streams, handed to nchan */
void	api_events_stream(struct http_ctx *ctx);
/* False with 429 (or 503 without nchan) when the user has no stream left. */
bool	api_stream_room(struct http_ctx *ctx);
/* Hand the connection to nchan's location for kind ("project", "turn") id. */
void	api_stream_handover(struct http_ctx *ctx, const char *kind,
	    const char *id);

/* api_agents.c: the agents, and a project's runs of them */
void	api_agents_list(struct http_ctx *ctx);
void	api_activity_list(struct http_ctx *ctx);

/* api_usage.c: a person's tokens and their cost */
void	api_usage_get(struct http_ctx *ctx);

/* api_documents.c: generated documents and their versions */
void	api_documents_create(struct http_ctx *ctx);
void	api_documents_list(struct http_ctx *ctx);
void	api_documents_get(struct http_ctx *ctx);
void	api_documents_versions(struct http_ctx *ctx);
void	api_documents_version(struct http_ctx *ctx);
void	api_documents_diff(struct http_ctx *ctx);
void	api_generation_get(struct http_ctx *ctx);
void	api_generation_events(struct http_ctx *ctx);

/* api_export.c: a whole project out and in */
void	api_projects_export(struct http_ctx *ctx);
void	api_projects_import(struct http_ctx *ctx);

/* api_util.c: shared answers */
/* What one error answers: status, error.code, error.message, Retry-After. */
struct api_error {
	int		 status;
	const char	*code;
	const char	*message;
	int		 retry_after_s;	/* 0: no Retry-After header */
};
/* A handler's own answer to an error it expects ("No such item."). */
struct api_error_row {
	bs_err			 err;
	struct api_error	 answer;
};
/*
 * The answer to e: the handler's row naming it, else the shared table's
 * (503 for an unavailable database, 500 for the rest).
 */
const struct api_error *api_error_of(bs_err e,
	    const struct api_error_row *rows, size_t n);
/* Answer e by api_error_of; a 500 is logged with its cause. */
void	api_respond_error(struct http_ctx *ctx, bs_err e,
	    const struct api_error_row *rows, size_t n);
#define API_ERROR_ROWS(rows)	(rows), (sizeof(rows) / sizeof((rows)[0]))
/* The row of a resource that is not there: API_ERROR_NOT_FOUND("item"). */
#define API_ERROR_NOT_FOUND(what) \
	{ BS_ERR_NOT_FOUND, { 404, "not_found", "No such " what ".", 0 } }
/* Creating or importing past PROJECTS_MAX_PER_USER (db_project_create). */
#define API_ERROR_PROJECTS_LIMIT \
	{ BS_ERR_TOO_LARGE, { 409, "projects_limit", "You own as many " \
	    "projects as an account may; delete one you no longer need " \
	    "before adding another.", 0 } }
struct json_writer;
/*
 * End a list written as JSON text, "{"key":[...]" so far, with its
 * "next_cursor" (NULL: null) and the closing brace.
 */
bs_err	api_page_end(struct json_writer *w, const char *next_cursor);
/*
 * On a route whose guard runs in the handler's statement: 422 naming the
 * field to a caller the guard lets in, the guard's own answer otherwise.
 */
void	api_refuse_query(struct http_ctx *ctx, const char *field,
	    const char *message);
/* 422 validation_failed naming the field. */
void	api_respond_invalid(struct http_ctx *ctx, const char *field,
	    const char *message);
/* 503 for an unavailable database, 500 otherwise; logs the cause (no rows). */
void	api_respond_db_error(struct http_ctx *ctx, bs_err e);
/*
 * The query string against a table of rules (validate_query): false with
 * 422 validation_failed naming the parameter already answered.
 */
struct field_rule;
struct field_value;
bool	api_query_valid(struct http_ctx *ctx, const struct field_rule *rules,
	    size_t n, struct field_value *out);
/*
 * GET /api/usage's "month": tokens used this calendar month (UTC), the
 * USER_MONTHLY_TOKEN_LIMIT and what remains (both null without a limit).
 */
struct bs_config;
json_object *usage_month_json(const struct bs_config *cfg, long long used);
/* 409 version_conflict carrying the stored object (ownership taken). */
void	api_respond_conflict(struct http_ctx *ctx, json_object *current);

#endif
