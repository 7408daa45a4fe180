/*
 * Generated documents and whole projects (db_documents.c): document
 * versions, the generations that make them, their agent runs, and the
 * export and import of a project with everything in it.
 *
 * project_id must already be checked to belong to the caller (app.c's
 * guard); every query matches it. Versions come back as the API's JSON
 * objects (docs/API.md): {"kind", "version", "title", "markdown",
 * "item_event_id", "message_id", "model", "input_tokens",
 * "output_tokens", "created_by", "created_at"}.
 */
#ifndef BRAINSTORM_DB_DOCUMENTS_H
#define BRAINSTORM_DB_DOCUMENTS_H

#include <json-c/json.h>

#include "brainstorm/db.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/err.h"

/*
 * What a generation reads besides the board and the messages: {"title",
 * "description", "item_event_id", "message_id"} (the newest item event and
 * message: the state the version is made from). BS_ERR_NOT_FOUND when the
 * project is gone.
 */
bs_err	db_document_source(struct db_conn *c, const char *project_id,
	    json_object **out);
/* The project's newest item events, newest first, at most limit. */
bs_err	db_document_history(struct db_conn *c, const char *project_id,
	    int limit, json_object **out);

/*
 * Queue a generation of kind: its document_generations row (running until
 * it ends) and its job, a turn of the same id with document_kind, for an
 * engine, in one transaction counted against lim as a turn is.
 * BS_ERR_CONFLICT while another generation of the project is queued or
 * running; BS_ERR_NOT_FOUND when the project is gone; BS_ERR_TOO_LARGE
 * and BS_ERR_RATE_LIMITED as db_turns_room says. queued_by as for
 * db_turn_queue. The project keeps the record of its newest kept
 * generations (kept >= 1, this one included): the older finished ones
 * are removed in the same statement, with their runs.
 */
bs_err	db_generation_queue(struct db_conn *c, const struct db_turn_limits *lim,
	    const char *project_id, const char *kind, const char *user_id,
	    const char *queued_by, long kept, char generation_id[DB_ID_LEN]);
/*
 * A generation's state: {"generation_id", "kind", "status" (queued,
 * running, done, failed), "runs", "error", "queued_at", "finished_at",
 * "notes", "version" (the version it made, or null)}; *finished_ago_s the
 * seconds since it ended, or -1 while it has not. BS_ERR_NOT_FOUND when
 * the project has no such generation queued since 0012.
 */
bs_err	db_generation_get(struct db_conn *c, const char *project_id,
	    const char *generation_id, json_object **out, long *finished_ago_s);
/* status done (with version_id) or failed (with error). */
bs_err	db_generation_finish(struct db_conn *c, const char *generation_id,
	    const char *status, const char *error, const char *version_id);

struct db_document_version {
	const char	*title;
	const char	*markdown;
	const char	*item_event_id;	/* NULL: none */
	const char	*message_id;	/* NULL: none */
	const char	*model;
	long		 input_tokens, output_tokens;
	const char	*created_by;	/* the user who asked */
	long		 keep;		/* versions kept: older ones go */
};

/*
 * Add the next version of the project's document of kind (made on first
 * use), removing those older than the newest v->keep; *out the version,
 * version_id its row id.
 */
bs_err	db_document_version_add(struct db_conn *c, const char *project_id,
	    const char *kind, const struct db_document_version *v,
	    char version_id[DB_ID_LEN], json_object **out);
/* Each kind's latest version, in kind order. */
bs_err	db_documents_latest(struct db_conn *c, const char *project_id,
	    json_object **out);
/* Version n of kind (0: the latest). BS_ERR_NOT_FOUND when there is none. */
bs_err	db_document_get(struct db_conn *c, const char *project_id,
	    const char *kind, long n, json_object **out);
/* Every version of kind without its Markdown, newest first. */
bs_err	db_document_versions(struct db_conn *c, const char *project_id,
	    const char *kind, json_object **out);

/*
 * The whole project in the export format (doc_export.h), read in one
 * snapshot. BS_ERR_NOT_FOUND when it does not exist. Checks no owner: the
 * caller did (or is the operator). BS_ERR_TOO_LARGE, before any of it is
 * read, when the JSON export would be about more than max_bytes (0: no
 * cap); *size is that estimate (0 when none was made).
 */
bs_err	db_project_export(struct db_conn *c, const char *project_id,
	    size_t max_bytes, json_object **out, size_t *size);
/*
 * A new project of owner_id from doc (export_check must have accepted
 * it), in one transaction: every id is new, times are kept. *project_id
 * the new project's id. BS_ERR_INVALID when the database refuses a value,
 * BS_ERR_TOO_LARGE when owner_id owns max_projects projects already (0: no
 * cap); nothing is created.
 */
bs_err	db_project_import(struct db_conn *c, const char *owner_id,
	    json_object *doc, long max_projects, char project_id[DB_ID_LEN]);

/* The statement table (db_stmt_tables lists it). */
extern const struct db_stmt	db_document_stmts[];
extern const size_t		db_document_nstmts;

#endif
