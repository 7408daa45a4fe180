/*
 * Document, generation and whole-project queries: a table of statements,
 * each run with db_exec, every value a parameter. An import hands each
 * table its rows as one JSON parameter (jsonb_to_recordset), so a project
 * of any size is a handful of statements in one transaction.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "brainstorm/clock.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/db_projects.h"
#include "brainstorm/doc_export.h"
#include "brainstorm/http.h"

#define SQLSTATE_FOREIGN_KEY	"23503"

/* The select list of a version, in the order of version_columns. */
#define VERSION_COLUMNS \
	"d.kind, v.version, v.title, v.body, v.item_event_id, v.message_id," \
	" v.model, v.input_tokens, v.output_tokens, v.created_by, " \
	DB_ISO_UTC("v.created_at")

/* The same without the body, for lists. */
#define VERSION_SUMMARY_COLUMNS \
	"d.kind, v.version, v.title, v.item_event_id, v.message_id," \
	" v.model, v.input_tokens, v.output_tokens, v.created_by, " \
	DB_ISO_UTC("v.created_at")

static const struct db_column version_columns[] = {
	{ "kind", false }, { "version", true }, { "title", false },
	{ "markdown", false }, { "item_event_id", true },
	{ "message_id", false }, { "model", false }, { "input_tokens", true },
	{ "output_tokens", true }, { "created_by", false },
	{ "created_at", false },
};

static const struct db_column version_summary_columns[] = {
	{ "kind", false }, { "version", true }, { "title", false },
	{ "item_event_id", true }, { "message_id", false }, { "model", false },
	{ "input_tokens", true }, { "output_tokens", true },
	{ "created_by", false }, { "created_at", false },
};

static const struct db_column source_columns[] = {
	{ "title", false }, { "description", false },
	{ "item_event_id", true }, { "message_id", false },
};

static const struct db_column history_columns[] = {
	{ "item_id", false }, { "action", false }, { "from_state", false },
	{ "to_state", false }, { "old_text", false }, { "new_text", false },
	{ "actor", false }, { "reason", false }, { "created_at", false },
};

/* The export format's objects (doc_export.c checks the same names). */
static const struct db_column export_project_columns[] = {
	{ "id", false }, { "title", false }, { "description", false },
	{ "status", false }, { "created_at", false }, { "updated_at", false },
	{ "exported_at", false },
};
#define EXPORT_PROJECT_FIELDS	6	/* exported_at goes to the root */

static const struct db_column export_item_columns[] = {
	{ "id", false }, { "text", false }, { "state", false },
	{ "confidence", true }, { "user_quote", false },
	{ "source_message_id", false }, { "created_by", false },
	{ "position", true }, { "created_at", false }, { "updated_at", false },
};

static const struct db_column export_event_columns[] = {
	{ "id", true }, { "item_id", false }, { "action", false },
	{ "from_state", false }, { "to_state", false }, { "old_text", false },
	{ "new_text", false }, { "actor", false }, { "reason", false },
	{ "turn_id", false }, { "message_id", false }, { "created_at", false },
};

static const struct db_column export_message_columns[] = {
	{ "id", false }, { "role", false }, { "agent", false },
	{ "content", false }, { "turn_id", false }, { "created_at", false },
};

static const struct db_column export_turn_columns[] = {
	{ "id", false }, { "user_message_id", false }, { "intent", false },
	{ "confidence", true }, { "status", false }, { "error", false },
	{ "started_at", false }, { "finished_at", false },
};

static const struct db_column export_version_columns[] = {
	{ "kind", false }, { "version", true }, { "title", false },
	{ "markdown", false }, { "item_event_id", true },
	{ "message_id", false }, { "model", false }, { "input_tokens", true },
	{ "output_tokens", true }, { "created_at", false },
};

#define NCOLS(c)	(int)(sizeof(c) / sizeof((c)[0]))

enum document_stmt {
	STMT_SOURCE, STMT_HISTORY, STMT_GENERATION_QUEUE, STMT_GENERATION_GET,
	STMT_GENERATION_FINISH,
	STMT_VERSION_ADD, STMT_LATEST, STMT_GET, STMT_VERSIONS,
	STMT_EXPORT_PROJECT, STMT_EXPORT_SIZE, STMT_EXPORT_ITEMS,
	STMT_EXPORT_EVENTS,
	STMT_EXPORT_MESSAGES, STMT_EXPORT_TURNS, STMT_EXPORT_VERSIONS,
	STMT_IMPORT_PROJECT, STMT_IMPORT_CONVERSATION, STMT_IMPORT_ITEMS,
	STMT_IMPORT_EVENT_IDS, STMT_IMPORT_EVENTS, STMT_IMPORT_DOCUMENTS,
	DOCUMENT_STMT__COUNT
};

const struct db_stmt db_document_stmts[DOCUMENT_STMT__COUNT] = {
	[STMT_SOURCE] = { "documents_source",
	  "SELECT p.title, p.description,"
	  " (SELECT max(e.id) FROM item_events e WHERE e.project_id = p.id),"
	  " (SELECT m.id FROM messages m WHERE m.project_id = p.id"
	  " ORDER BY m.created_at DESC, m.id DESC LIMIT 1)"
	  " FROM projects p WHERE p.id = $1::uuid", 1 },
	[STMT_HISTORY] = { "documents_history",
	  "SELECT e.item_id, e.action, e.from_state, e.to_state, e.old_text,"
	  " e.new_text, e.actor, e.reason, " DB_ISO_UTC("e.created_at")
	  " FROM item_events e WHERE e.project_id = $1::uuid"
	  " ORDER BY e.id DESC LIMIT $2::integer", 2 },
	/*
	 * The generation and its job (a turn with its document_kind, same
	 * id) in one statement: the partial unique index of generations
	 * refuses a second one running in the project, and then neither row
	 * is made. The project keeps the record of its newest $5: the
	 * finished ones before the newest $5 - 1 go (their runs by cascade;
	 * their tokens stay in usage_daily).
	 */
	[STMT_GENERATION_QUEUE] = { "documents_generation_queue",
	  "WITH g AS (INSERT INTO document_generations (project_id, kind,"
	  " user_id) VALUES ($1::uuid, $2::text, $3::uuid)"
	  " ON CONFLICT DO NOTHING RETURNING id),"
	  " t AS (INSERT INTO turns (id, project_id, document_kind, status,"
	  " user_id, queued_by) SELECT g.id, $1::uuid, $2::text, 'queued',"
	  " $3::uuid, $4::text FROM g RETURNING id),"
	  " old AS (DELETE FROM turns x WHERE x.id IN (SELECT o.id FROM turns o"
	  " WHERE o.project_id = $1::uuid AND o.document_kind IS NOT NULL"
	  " AND o.status IN ('done', 'failed')"
	  " ORDER BY o.queued_at DESC, o.id DESC OFFSET $5::integer - 1)"
	  " RETURNING x.id),"
	  " gone AS (DELETE FROM document_generations d USING old"
	  " WHERE d.id = old.id)"
	  " SELECT id FROM t", 5 },
	[STMT_GENERATION_GET] = { "documents_generation_get",
	  "SELECT t.id, t.document_kind, t.status, t.runs, t.error, "
	  DB_ISO_UTC("t.queued_at") ", " DB_ISO_UTC("t.finished_at") ","
	  " t.notes, v.version, extract(epoch FROM now() - t.finished_at)::bigint"
	  " FROM turns t JOIN document_generations g ON g.id = t.id"
	  " LEFT JOIN document_versions v ON v.id = g.version_id"
	  " WHERE t.id = $2::uuid AND t.project_id = $1::uuid"
	  " AND t.document_kind IS NOT NULL", 2 },
	[STMT_GENERATION_FINISH] = { "documents_generation_finish",
	  "UPDATE document_generations SET status = $2::text, error = $3::text,"
	  " version_id = $4::uuid, finished_at = now() WHERE id = $1::uuid", 4 },
	/*
	 * The document's row is made on first use, and locked by the upsert
	 * otherwise, so two versions of one document queue for their number.
	 */
	[STMT_VERSION_ADD] = { "documents_version_add",
	  "WITH d AS (INSERT INTO documents (project_id, kind)"
	  " VALUES ($1::uuid, $2::text) ON CONFLICT (project_id, kind)"
	  " DO UPDATE SET kind = EXCLUDED.kind RETURNING id, kind),"
	  " v AS (INSERT INTO document_versions (document_id, version, title,"
	  " body, item_event_id, message_id, model, input_tokens,"
	  " output_tokens, created_by)"
	  " SELECT d.id, coalesce((SELECT max(x.version) FROM document_versions"
	  " x WHERE x.document_id = d.id), 0) + 1, $3::text, $4::text,"
	  " $5::bigint, $6::uuid, $7::text, $8::integer, $9::integer,"
	  " $10::uuid FROM d RETURNING *),"
	  " old AS (DELETE FROM document_versions x USING v"
	  " WHERE x.document_id = v.document_id"
	  " AND x.version <= v.version - $11::integer)"
	  " SELECT " VERSION_COLUMNS ", v.id FROM v JOIN d ON d.id ="
	  " v.document_id", 11 },
	[STMT_LATEST] = { "documents_latest",
	  "SELECT DISTINCT ON (d.kind) " VERSION_COLUMNS " FROM documents d"
	  " JOIN document_versions v ON v.document_id = d.id"
	  " WHERE d.project_id = $1::uuid ORDER BY d.kind, v.version DESC", 1 },
	[STMT_GET] = { "documents_get",
	  "SELECT " VERSION_COLUMNS " FROM documents d"
	  " JOIN document_versions v ON v.document_id = d.id"
	  " WHERE d.project_id = $1::uuid AND d.kind = $2::text"
	  " AND ($3::integer IS NULL OR v.version = $3::integer)"
	  " ORDER BY v.version DESC LIMIT 1", 3 },
	[STMT_VERSIONS] = { "documents_versions",
	  "SELECT " VERSION_SUMMARY_COLUMNS " FROM documents d"
	  " JOIN document_versions v ON v.document_id = d.id"
	  " WHERE d.project_id = $1::uuid AND d.kind = $2::text"
	  " ORDER BY v.version DESC", 2 },

	[STMT_EXPORT_PROJECT] = { "export_project",
	  "SELECT p.id, p.title, p.description, p.status, "
	  DB_ISO_UTC("p.created_at") ", " DB_ISO_UTC("p.updated_at") ", "
	  DB_ISO_UTC("now()") " FROM projects p WHERE p.id = $1::uuid", 1 },
	/*
	 * About the bytes of the JSON export: the text of every row it holds
	 * and, per row, what its keys, ids, times and indentation take
	 * (measured on exports: 300 to 500 bytes). Escapes may add more.
	 */
	[STMT_EXPORT_SIZE] = { "export_size",
	  "SELECT (SELECT coalesce(sum(octet_length(i.text)"
	  " + octet_length(i.user_quote) + 500), 0) FROM items i"
	  " WHERE i.project_id = $1::uuid)"
	  " + (SELECT coalesce(sum(coalesce(octet_length(e.old_text), 0)"
	  " + coalesce(octet_length(e.new_text), 0) + octet_length(e.reason)"
	  " + 500), 0) FROM item_events e WHERE e.project_id = $1::uuid)"
	  " + (SELECT coalesce(sum(octet_length(m.content) + 300), 0)"
	  " FROM messages m WHERE m.project_id = $1::uuid)"
	  " + (SELECT coalesce(sum(coalesce(octet_length(t.error), 0) + 300), 0)"
	  " FROM turns t WHERE t.project_id = $1::uuid"
	  " AND t.document_kind IS NULL)"
	  " + (SELECT coalesce(sum(octet_length(v.title) + octet_length(v.body)"
	  " + 400), 0) FROM documents d JOIN document_versions v"
	  " ON v.document_id = d.id WHERE d.project_id = $1::uuid)", 1 },
	[STMT_EXPORT_ITEMS] = { "export_items",
	  "SELECT i.id, i.text, i.state, i.confidence, i.user_quote,"
	  " i.source_message_id, i.created_by, i.position, "
	  DB_ISO_UTC("i.created_at") ", " DB_ISO_UTC("i.updated_at")
	  " FROM items i WHERE i.project_id = $1::uuid"
	  " ORDER BY i.state, i.position, i.created_at, i.id", 1 },
	[STMT_EXPORT_EVENTS] = { "export_events",
	  "SELECT e.id, e.item_id, e.action, e.from_state, e.to_state,"
	  " e.old_text, e.new_text, e.actor, e.reason, e.turn_id,"
	  " e.message_id, " DB_ISO_UTC("e.created_at")
	  " FROM item_events e WHERE e.project_id = $1::uuid ORDER BY e.id", 1 },
	[STMT_EXPORT_MESSAGES] = { "export_messages",
	  "SELECT m.id, m.role, m.agent, m.content, m.turn_id, "
	  DB_ISO_UTC("m.created_at") " FROM messages m"
	  " WHERE m.project_id = $1::uuid ORDER BY m.created_at, m.id", 1 },
	[STMT_EXPORT_TURNS] = { "export_turns",
	  "SELECT t.id, t.user_message_id, t.intent, t.confidence, t.status,"
	  " t.error, " DB_ISO_UTC("t.started_at") ", "
	  DB_ISO_UTC("t.finished_at") " FROM turns t"
	  " WHERE t.project_id = $1::uuid AND t.document_kind IS NULL"
	  " ORDER BY t.started_at, t.id", 1 },
	[STMT_EXPORT_VERSIONS] = { "export_versions",
	  "SELECT d.kind, v.version, v.title, v.body, v.item_event_id,"
	  " v.message_id, v.model, v.input_tokens, v.output_tokens, "
	  DB_ISO_UTC("v.created_at") " FROM documents d"
	  " JOIN document_versions v ON v.document_id = d.id"
	  " WHERE d.project_id = $1::uuid ORDER BY d.kind, v.version", 1 },

	/*
	 * The importer is the new project's first owner; no row when they own
	 * $7 projects already ($7 NULL: no cap).
	 */
	[STMT_IMPORT_PROJECT] = { "import_project",
	  "WITH p AS (INSERT INTO projects (owner_id, title, description, status,"
	  " created_at, updated_at) SELECT $1::uuid, $2::text,"
	  " coalesce($3::text, ''), coalesce($4::text, 'active'),"
	  " coalesce($5::timestamptz, now()),"
	  " coalesce($6::timestamptz, $5::timestamptz, now())"
	  " WHERE " DB_PROJECTS_ROOM("$1::uuid", "$7::integer") " RETURNING id),"
	  " m AS (INSERT INTO project_members (project_id, user_id, role,"
	  " added_by) SELECT p.id, $1::uuid, 'owner', $1::uuid FROM p)"
	  " SELECT id FROM p", 7 },
	/*
	 * A message names its turn and a turn its message: both tables in
	 * one statement, whose foreign keys are checked at its end.
	 */
	[STMT_IMPORT_CONVERSATION] = { "import_conversation",
	  "WITH m AS (INSERT INTO messages (id, project_id, role, agent,"
	  " content, turn_id, created_at)"
	  " SELECT x.id, $1::uuid, x.role, x.agent, x.content, x.turn_id,"
	  " coalesce(x.created_at, now()) FROM jsonb_to_recordset($2::jsonb)"
	  " AS x(id uuid, role text, agent text, content text, turn_id uuid,"
	  " created_at timestamptz) RETURNING 1),"
	  " t AS (INSERT INTO turns (id, project_id, user_message_id, intent,"
	  " confidence, status, error, started_at, finished_at)"
	  " SELECT x.id, $1::uuid, x.user_message_id, x.intent, x.confidence,"
	  " x.status, x.error, coalesce(x.started_at, now()), x.finished_at"
	  " FROM jsonb_to_recordset($3::jsonb) AS x(id uuid, user_message_id"
	  " uuid, intent text, confidence integer, status text, error text,"
	  " started_at timestamptz, finished_at timestamptz) RETURNING 1)"
	  " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM t)", 3 },
	[STMT_IMPORT_ITEMS] = { "import_items",
	  "INSERT INTO items (id, project_id, text, state, confidence,"
	  " user_quote, source_message_id, created_by, position, created_at,"
	  " updated_at)"
	  " SELECT x.id, $1::uuid, x.text, x.state, coalesce(x.confidence, 100),"
	  " coalesce(x.user_quote, ''), x.source_message_id,"
	  " coalesce(x.created_by, 'user'), coalesce(x.position, 0),"
	  " coalesce(x.created_at, now()),"
	  " coalesce(x.updated_at, x.created_at, now())"
	  " FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, text text,"
	  " state text, confidence integer, user_quote text, source_message_id"
	  " uuid, created_by text, position integer, created_at timestamptz,"
	  " updated_at timestamptz)", 2 },
	/* Ids for the events, taken now so that versions can name them. */
	[STMT_IMPORT_EVENT_IDS] = { "import_event_ids",
	  "SELECT nextval(pg_get_serial_sequence('item_events', 'id'))"
	  " FROM generate_series(1, $1::integer)", 1 },
	[STMT_IMPORT_EVENTS] = { "import_events",
	  "INSERT INTO item_events (id, project_id, item_id, action, from_state,"
	  " to_state, old_text, new_text, actor, reason, turn_id, message_id,"
	  " created_at) OVERRIDING SYSTEM VALUE"
	  " SELECT x.id, $1::uuid, x.item_id, x.action, x.from_state,"
	  " x.to_state, x.old_text, x.new_text, x.actor, coalesce(x.reason, ''),"
	  " x.turn_id, x.message_id, coalesce(x.created_at, now())"
	  " FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, item_id uuid,"
	  " action text, from_state text, to_state text, old_text text,"
	  " new_text text, actor text, reason text, turn_id uuid, message_id"
	  " uuid, created_at timestamptz)", 2 },
	[STMT_IMPORT_DOCUMENTS] = { "import_documents",
	  "WITH d AS (INSERT INTO documents (project_id, kind)"
	  " SELECT DISTINCT $1::uuid, x.kind FROM jsonb_to_recordset($2::jsonb)"
	  " AS x(kind text) RETURNING id, kind)"
	  " INSERT INTO document_versions (document_id, version, title, body,"
	  " item_event_id, message_id, model, input_tokens, output_tokens,"
	  " created_by, created_at)"
	  " SELECT d.id, x.version, x.title, x.markdown, x.item_event_id,"
	  " x.message_id, x.model, coalesce(x.input_tokens, 0),"
	  " coalesce(x.output_tokens, 0), $3::uuid, coalesce(x.created_at, now())"
	  " FROM jsonb_to_recordset($2::jsonb) AS x(kind text, version integer,"
	  " title text, markdown text, item_event_id bigint, message_id uuid,"
	  " model text, input_tokens integer, output_tokens integer,"
	  " created_at timestamptz) JOIN d ON d.kind = x.kind", 3 },
};
const size_t db_document_nstmts = DOCUMENT_STMT__COUNT;

/* All rows of a statement on project_id (and more values) as JSON. */
static bs_err
rows(struct db_conn *c, enum document_stmt stmt, const char *const *v,
    const struct db_column *cols, int ncols, json_object **out)
{
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(c, &db_document_stmts[stmt], v, &res, NULL)) == BS_OK)
		e = db_rows_json(res, cols, ncols, out);
	PQclear(res);
	return e;
}

bs_err
db_document_source(struct db_conn *c, const char *project_id,
    json_object **out)
{
	const char	*v[] = { project_id };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if ((e = db_exec(c, &db_document_stmts[STMT_SOURCE], v, &res, NULL)) !=
	    BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	e = db_row_json(res, 0, source_columns, NCOLS(source_columns), out);
out:
	PQclear(res);
	return e;
}

bs_err
db_document_history(struct db_conn *c, const char *project_id, int limit,
    json_object **out)
{
	char		 lim[16];
	const char	*v[] = { project_id, lim };

	snprintf(lim, sizeof(lim), "%d", limit);
	return rows(c, STMT_HISTORY, v, history_columns,
	    NCOLS(history_columns), out);
}

bs_err
db_generation_queue(struct db_conn *c, const struct db_turn_limits *lim,
    const char *project_id, const char *kind, const char *user_id,
    const char *queued_by, long kept, char generation_id[DB_ID_LEN])
{
	char		 keep[24];
	const char	*v[] = { project_id, kind, user_id, queued_by, keep };
	PGresult	*res = NULL;
	char		 state[6] = "";
	bool		 begun = false;
	bs_err		 e;

	snprintf(keep, sizeof(keep), "%ld", kept);
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		goto out;
	begun = true;
	if ((e = db_turns_room(c, user_id, project_id, lim)) != BS_OK)
		goto out;
	if ((e = db_exec(c, &db_document_stmts[STMT_GENERATION_QUEUE], v, &res,
	    state)) != BS_OK) {
		if (e == BS_ERR_DB && strcmp(state, SQLSTATE_FOREIGN_KEY) == 0)
			e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQntuples(res) != 1) {
		e = BS_ERR_CONFLICT;
		goto out;
	}
	snprintf(generation_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 0));
	e = db_command(c, "COMMIT");
out:
	if (e != BS_OK && begun)
		db_command(c, "ROLLBACK");
	PQclear(res);
	return e;
}

static const struct db_column generation_columns[] = {
	{ "generation_id", false }, { "kind", false }, { "status", false },
	{ "runs", true }, { "error", false }, { "queued_at", false },
	{ "finished_at", false }, { "notes", false },
};

bs_err
db_generation_get(struct db_conn *c, const char *project_id,
    const char *generation_id, json_object **out, long *finished_ago_s)
{
	const char	*v[] = { project_id, generation_id };
	PGresult	*res = NULL;
	json_object	*notes, *version = NULL;
	long long	 n = 0, ago = -1;
	char		 state[6] = "";
	int		 nc = NCOLS(generation_columns);
	bs_err		 e;

	*out = NULL;
	*finished_ago_s = -1;
	if ((e = db_exec(c, &db_document_stmts[STMT_GENERATION_GET], v, &res,
	    state)) != BS_OK) {
		if (strcmp(state, "22P02") == 0)
			e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if ((e = db_row_json(res, 0, generation_columns, nc, out)) != BS_OK)
		goto out;
	if (!PQgetisnull(res, 0, nc + 1) &&
	    db_int64(PQgetvalue(res, 0, nc + 1), &ago) == BS_OK)
		*finished_ago_s = (long)ago;
	/* notes is jsonb: the array itself, not its text. */
	notes = json_tokener_parse(json_member_string(*out, "notes") != NULL ?
	    json_member_string(*out, "notes") : "[]");
	json_object_object_add(*out, "notes", notes != NULL ? notes :
	    json_object_new_array());
	if (!PQgetisnull(res, 0, nc) &&
	    (e = db_int64(PQgetvalue(res, 0, nc), &n)) == BS_OK &&
	    (e = db_document_get(c, project_id, json_member_string(*out,
	    "kind"), (long)n, &version)) != BS_OK && e != BS_ERR_NOT_FOUND)
		goto out;
	e = BS_OK;
	json_object_object_add(*out, "version", version);
out:
	if (e != BS_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	PQclear(res);
	return e;
}

bs_err
db_generation_finish(struct db_conn *c, const char *generation_id,
    const char *status, const char *error, const char *version_id)
{
	const char	*v[] = { generation_id, status, error, version_id };

	return db_run(c, &db_document_stmts[STMT_GENERATION_FINISH], v);
}

bs_err
db_document_version_add(struct db_conn *c, const char *project_id,
    const char *kind, const struct db_document_version *d,
    char version_id[DB_ID_LEN], json_object **out)
{
	char		 in[24], outn[24], keep[24];
	const char	*v[11];
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	snprintf(in, sizeof(in), "%ld", d->input_tokens);
	snprintf(outn, sizeof(outn), "%ld", d->output_tokens);
	v[0] = project_id;
	v[1] = kind;
	v[2] = d->title;
	v[3] = d->markdown;
	v[4] = d->item_event_id;
	v[5] = d->message_id;
	v[6] = d->model;
	v[7] = in;
	v[8] = outn;
	v[9] = d->created_by;
	snprintf(keep, sizeof(keep), "%ld", d->keep);
	v[10] = keep;
	if ((e = db_exec(c, &db_document_stmts[STMT_VERSION_ADD], v, &res,
	    NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_INTERNAL;
		goto out;
	}
	snprintf(version_id, DB_ID_LEN, "%s", PQgetvalue(res, 0,
	    NCOLS(version_columns)));
	e = db_row_json(res, 0, version_columns, NCOLS(version_columns), out);
out:
	PQclear(res);
	return e;
}

bs_err
db_documents_latest(struct db_conn *c, const char *project_id,
    json_object **out)
{
	const char	*v[] = { project_id };

	return rows(c, STMT_LATEST, v, version_columns,
	    NCOLS(version_columns), out);
}

bs_err
db_document_get(struct db_conn *c, const char *project_id, const char *kind,
    long n, json_object **out)
{
	char		 num[24];
	const char	*v[] = { project_id, kind, NULL };
	PGresult	*res = NULL;
	bs_err		 e;

	*out = NULL;
	if (n > 0) {
		snprintf(num, sizeof(num), "%ld", n);
		v[2] = num;
	}
	if ((e = db_exec(c, &db_document_stmts[STMT_GET], v, &res, NULL)) !=
	    BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	e = db_row_json(res, 0, version_columns, NCOLS(version_columns), out);
out:
	PQclear(res);
	return e;
}

bs_err
db_document_versions(struct db_conn *c, const char *project_id,
    const char *kind, json_object **out)
{
	const char	*v[] = { project_id, kind };

	return rows(c, STMT_VERSIONS, v, version_summary_columns,
	    NCOLS(version_summary_columns), out);
}

static json_object *
member(json_object *o, const char *key)
{
	json_object	*v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *
mstr(json_object *o, const char *key)
{
	json_object	*v = member(o, key);

	return v != NULL && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static size_t
alen(json_object *a)
{
	return a != NULL && json_object_is_type(a, json_type_array) ?
	    json_object_array_length(a) : 0;
}

/*
 * Events go under their item; those of items no longer on the board
 * under deleted_items, in the order of their first event.
 */
static bs_err
export_events_place(json_object *doc, json_object *items, json_object *events)
{
	json_object	*by_id, *deleted, *ev, *owner, *list;
	const char	*item_id;
	size_t		 i;

	if ((by_id = json_object_new_object()) == NULL ||
	    (deleted = json_object_new_array()) == NULL) {
		json_object_put(by_id);
		return BS_ERR_NOMEM;
	}
	for (i = 0; i < alen(items); i++) {
		owner = json_object_array_get_idx(items, i);
		json_object_object_add(owner, "events", json_object_new_array());
		json_object_object_add(by_id, mstr(owner, "id"),
		    json_object_get(owner));
	}
	for (i = 0; i < alen(events); i++) {
		ev = json_object_array_get_idx(events, i);
		item_id = mstr(ev, "item_id");
		if (item_id == NULL)
			continue;
		if (!json_object_object_get_ex(by_id, item_id, &owner)) {
			owner = json_object_new_object();
			json_object_object_add(owner, "id",
			    json_object_new_string(item_id));
			json_object_object_add(owner, "events",
			    json_object_new_array());
			json_object_array_add(deleted, owner);
			json_object_object_add(by_id, item_id,
			    json_object_get(owner));
		}
		list = member(owner, "events");
		json_object_array_add(list, json_object_get(ev));
		json_object_object_del(ev, "item_id");
	}
	json_object_put(by_id);
	json_object_object_add(doc, "deleted_items", deleted);
	return BS_OK;
}

/* Versions grouped by kind: [{kind, versions: [...]}], in kind order. */
static json_object *
export_documents_group(json_object *versions)
{
	json_object	*docs = json_object_new_array(), *d = NULL, *v;
	const char	*kind, *last = NULL;
	size_t		 i;

	for (i = 0; i < alen(versions); i++) {
		v = json_object_array_get_idx(versions, i);
		kind = mstr(v, "kind");
		if (kind == NULL)
			continue;
		if (last == NULL || strcmp(last, kind) != 0) {
			d = json_object_new_object();
			json_object_object_add(d, "kind",
			    json_object_new_string(kind));
			json_object_object_add(d, "versions",
			    json_object_new_array());
			json_object_array_add(docs, d);
			last = mstr(d, "kind");
		}
		json_object_array_add(member(d, "versions"), json_object_get(v));
		json_object_object_del(v, "kind");
	}
	return docs;
}

/*
 * BS_ERR_TOO_LARGE when the export would be about more than max_bytes
 * (0: no cap), with that size in *size.
 */
static bs_err
export_fits(struct db_conn *c, const char *project_id, size_t max_bytes,
    size_t *size)
{
	const char	*v[] = { project_id };
	long long	 n = 0;
	bs_err		 e;

	if (max_bytes == 0)
		return BS_OK;
	if ((e = db_exec_int64s(c, &db_document_stmts[STMT_EXPORT_SIZE], v, &n,
	    1)) != BS_OK)
		return e;
	*size = n > 0 ? (size_t)n : 0;
	return *size > max_bytes ? BS_ERR_TOO_LARGE : BS_OK;
}

static bs_err
export_read(struct db_conn *c, const char *project_id, size_t max_bytes,
    json_object *doc, size_t *size)
{
	const char	*v[] = { project_id };
	json_object	*project = NULL, *items = NULL, *events = NULL;
	json_object	*messages = NULL, *turns = NULL, *versions = NULL;
	json_object	*at;
	PGresult	*res = NULL;
	bs_err		 e;

	if ((e = db_exec(c, &db_document_stmts[STMT_EXPORT_PROJECT], v, &res,
	    NULL)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	if ((e = db_row_json(res, 0, export_project_columns,
	    NCOLS(export_project_columns), &project)) != BS_OK)
		goto out;
	if (json_object_object_get_ex(project, "exported_at", &at)) {
		json_object_object_add(doc, "exported_at", json_object_get(at));
		json_object_object_del(project, "exported_at");
	}
	if ((e = export_fits(c, project_id, max_bytes, size)) != BS_OK)
		goto out;
	if ((e = rows(c, STMT_EXPORT_ITEMS, v, export_item_columns,
	    NCOLS(export_item_columns), &items)) != BS_OK ||
	    (e = rows(c, STMT_EXPORT_EVENTS, v, export_event_columns,
	    NCOLS(export_event_columns), &events)) != BS_OK ||
	    (e = rows(c, STMT_EXPORT_MESSAGES, v, export_message_columns,
	    NCOLS(export_message_columns), &messages)) != BS_OK ||
	    (e = rows(c, STMT_EXPORT_TURNS, v, export_turn_columns,
	    NCOLS(export_turn_columns), &turns)) != BS_OK ||
	    (e = rows(c, STMT_EXPORT_VERSIONS, v, export_version_columns,
	    NCOLS(export_version_columns), &versions)) != BS_OK)
		goto out;
	json_object_object_add(doc, "project", project);
	project = NULL;
	if ((e = export_events_place(doc, items, events)) != BS_OK)
		goto out;
	json_object_object_add(doc, "items", items);
	items = NULL;
	json_object_object_add(doc, "messages", messages);
	messages = NULL;
	json_object_object_add(doc, "turns", turns);
	turns = NULL;
	json_object_object_add(doc, "documents",
	    export_documents_group(versions));
out:
	PQclear(res);
	json_object_put(project);
	json_object_put(items);
	json_object_put(events);
	json_object_put(messages);
	json_object_put(turns);
	json_object_put(versions);
	return e;
}

bs_err
db_project_export(struct db_conn *c, const char *project_id,
    size_t max_bytes, json_object **out, size_t *size)
{
	json_object	*doc;
	bs_err		 e;

	*out = NULL;
	if ((doc = json_object_new_object()) == NULL)
		return BS_ERR_NOMEM;
	json_object_object_add(doc, "format",
	    json_object_new_string(EXPORT_FORMAT));
	json_object_object_add(doc, "format_version",
	    json_object_new_int(EXPORT_FORMAT_VERSION));
	/* One snapshot: the parts agree with each other. */
	if ((e = db_command(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ "
	    "ONLY")) != BS_OK) {
		json_object_put(doc);
		return e;
	}
	*size = 0;
	e = export_read(c, project_id, max_bytes, doc, size);
	if (e == BS_OK)
		e = db_command(c, "COMMIT");
	else
		db_command(c, "ROLLBACK");
	if (e != BS_OK)
		json_object_put(doc);
	else
		*out = doc;
	return e;
}

/* Import */

/*
 * New ids for an import: UUIDv7 with one time and a counter, so they sort
 * in the file's order (lists ordered by time and then id keep their order
 * where times are equal), and random bits after the counter.
 */
struct import {
	json_object	*ids;		/* old uuid (lower case) -> new */
	json_object	*event_ids;	/* old event id -> new (as text) */
	uint64_t	 ms;
	uint32_t	 counter;
	long		 max_projects;	/* PROJECTS_MAX_PER_USER, 0: none */
};

static void
import_uuid(struct import *im, char out[DB_ID_LEN])
{
	unsigned char	 b[16];
	uint32_t	 n = im->counter++;
	int		 i;

	randombytes_buf(b, sizeof(b));
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(im->ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | ((n >> 22) & 0x0f));
	b[7] = (unsigned char)(n >> 14);
	b[8] = (unsigned char)(0x80 | ((n >> 8) & 0x3f));
	b[9] = (unsigned char)n;
	snprintf(out, DB_ID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void
lower_key(const char *s, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	out[i] = '\0';
}

/* The new id of old, made on first sight. */
static const char *
import_id(struct import *im, const char *old)
{
	json_object	*v;
	char		 key[64], id[DB_ID_LEN];

	lower_key(old, key, sizeof(key));
	if (json_object_object_get_ex(im->ids, key, &v))
		return json_object_get_string(v);
	import_uuid(im, id);
	json_object_object_add(im->ids, key, json_object_new_string(id));
	json_object_object_get_ex(im->ids, key, &v);
	return json_object_get_string(v);
}

/* Copy src[key] to dst: a string, a number, or null (absent stays absent). */
static void
copy_member(json_object *dst, json_object *src, const char *key)
{
	json_object	*v;

	if (json_object_object_get_ex(src, key, &v))
		json_object_object_add(dst, key, json_object_get(v));
}

/* Copy src[key], a uuid naming something of the file, as its new id. */
static void
copy_ref(struct import *im, json_object *dst, json_object *src,
    const char *key)
{
	const char	*old = mstr(src, key);

	if (old != NULL)
		json_object_object_add(dst, key,
		    json_object_new_string(import_id(im, old)));
}

static json_object *
import_rows(struct import *im, json_object *list, const char *const *plain,
    const char *const *refs)
{
	json_object	*out = json_object_new_array(), *src, *row;
	size_t		 i, k;

	for (i = 0; i < alen(list); i++) {
		src = json_object_array_get_idx(list, i);
		row = json_object_new_object();
		json_object_object_add(row, "id", json_object_new_string(
		    import_id(im, mstr(src, "id"))));
		for (k = 0; plain[k] != NULL; k++)
			copy_member(row, src, plain[k]);
		for (k = 0; refs[k] != NULL; k++)
			copy_ref(im, row, src, refs[k]);
		json_object_array_add(out, row);
	}
	return out;
}

/* Every event of the file with its item's id, by old id. */
struct event_ref {
	json_object	*event;
	const char	*item_id;
	int64_t		 old_id;
};

static int
event_ref_cmp(const void *a, const void *b)
{
	const struct event_ref *x = a, *y = b;

	return x->old_id < y->old_id ? -1 : x->old_id > y->old_id;
}

static int
int64_cmp(const void *a, const void *b)
{
	const int64_t	*x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* One statement; its result, when wanted, in *res. */
static bs_err
run(struct db_conn *c, enum document_stmt stmt, const char *const *v,
    PGresult **res)
{
	PGresult	*r = NULL;
	char		 state[6];
	bs_err		 e;

	e = db_exec(c, &db_document_stmts[stmt], v, &r, state);
	/* A value the database refuses (data or constraint): a bad file. */
	if (e == BS_ERR_DB && (strncmp(state, "22", 2) == 0 ||
	    strncmp(state, "23", 2) == 0))
		e = BS_ERR_INVALID;
	if (res != NULL && e == BS_OK)
		*res = r;
	else
		PQclear(r);
	return e;
}

static bs_err
import_events(struct db_conn *c, struct import *im, json_object *doc,
    const char *project_id)
{
	static const char *const plain[] = { "action", "from_state",
	    "to_state", "old_text", "new_text", "actor", "reason", "created_at",
	    NULL };
	struct event_ref *refs = NULL;
	json_object	*list, *owner, *row;
	PGresult	*res = NULL;
	int64_t		*ids = NULL;
	char		 count[24], key[32];
	long long	 one;
	const char	*v[2];
	size_t		 n = 0, i, j, k;
	bs_err		 e = BS_OK;

	for (k = 0; k < 2; k++) {
		list = member(doc, k == 0 ? "items" : "deleted_items");
		for (i = 0; i < alen(list); i++)
			n += alen(member(json_object_array_get_idx(list, i),
			    "events"));
	}
	if (n == 0)
		return BS_OK;
	if ((refs = calloc(n, sizeof(*refs))) == NULL ||
	    (ids = calloc(n, sizeof(*ids))) == NULL) {
		e = BS_ERR_NOMEM;
		goto out;
	}
	n = 0;
	for (k = 0; k < 2; k++) {
		list = member(doc, k == 0 ? "items" : "deleted_items");
		for (i = 0; i < alen(list); i++) {
			owner = json_object_array_get_idx(list, i);
			for (j = 0; j < alen(member(owner, "events")); j++) {
				refs[n].event = json_object_array_get_idx(
				    member(owner, "events"), j);
				refs[n].item_id = import_id(im, mstr(owner,
				    "id"));
				refs[n].old_id = json_object_get_int64(member(
				    refs[n].event, "id"));
				n++;
			}
		}
	}
	qsort(refs, n, sizeof(*refs), event_ref_cmp);
	snprintf(count, sizeof(count), "%zu", n);
	v[0] = count;
	if ((e = run(c, STMT_IMPORT_EVENT_IDS, v, &res)) != BS_OK)
		goto out;
	if ((size_t)PQntuples(res) != n) {
		e = BS_ERR_INTERNAL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((e = db_int64(PQgetvalue(res, (int)i, 0), &one)) != BS_OK)
			goto out;
		ids[i] = one;
	}
	qsort(ids, n, sizeof(*ids), int64_cmp);
	list = json_object_new_array();
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%lld", (long long)refs[i].old_id);
		json_object_object_add(im->event_ids, key,
		    json_object_new_int64(ids[i]));
		row = json_object_new_object();
		json_object_object_add(row, "id", json_object_new_int64(ids[i]));
		json_object_object_add(row, "item_id",
		    json_object_new_string(refs[i].item_id));
		for (k = 0; plain[k] != NULL; k++)
			copy_member(row, refs[i].event, plain[k]);
		copy_ref(im, row, refs[i].event, "turn_id");
		copy_ref(im, row, refs[i].event, "message_id");
		json_object_array_add(list, row);
	}
	v[0] = project_id;
	v[1] = json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN);
	e = run(c, STMT_IMPORT_EVENTS, v, NULL);
	json_object_put(list);
out:
	PQclear(res);
	free(refs);
	free(ids);
	return e;
}

static bs_err
import_documents(struct db_conn *c, struct import *im, json_object *doc,
    const char *project_id, const char *owner_id)
{
	static const char *const plain[] = { "version", "title", "markdown",
	    "model", "input_tokens", "output_tokens", "created_at", NULL };
	json_object	*docs = member(doc, "documents"), *d, *src, *row, *list;
	json_object	*ev, *newid;
	const char	*v[3];
	char		 key[32];
	size_t		 i, j, k;
	bs_err		 e;

	if (alen(docs) == 0)
		return BS_OK;
	list = json_object_new_array();
	for (i = 0; i < alen(docs); i++) {
		d = json_object_array_get_idx(docs, i);
		for (j = 0; j < alen(member(d, "versions")); j++) {
			src = json_object_array_get_idx(member(d, "versions"), j);
			row = json_object_new_object();
			copy_member(row, d, "kind");
			for (k = 0; plain[k] != NULL; k++)
				copy_member(row, src, plain[k]);
			copy_ref(im, row, src, "message_id");
			ev = member(src, "item_event_id");
			if (ev != NULL) {
				snprintf(key, sizeof(key), "%lld", (long long)
				    json_object_get_int64(ev));
				if (json_object_object_get_ex(im->event_ids, key,
				    &newid))
					json_object_object_add(row,
					    "item_event_id",
					    json_object_get(newid));
			}
			json_object_array_add(list, row);
		}
	}
	v[0] = project_id;
	v[1] = json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN);
	v[2] = owner_id;
	e = run(c, STMT_IMPORT_DOCUMENTS, v, NULL);
	json_object_put(list);
	return e;
}

static bs_err
import_all(struct db_conn *c, struct import *im, const char *owner_id,
    json_object *doc, char project_id[DB_ID_LEN])
{
	static const char *const message_plain[] = { "role", "agent",
	    "content", "created_at", NULL };
	static const char *const message_refs[] = { "turn_id", NULL };
	static const char *const turn_plain[] = { "intent", "confidence",
	    "status", "error", "started_at", "finished_at", NULL };
	static const char *const turn_refs[] = { "user_message_id", NULL };
	static const char *const item_plain[] = { "text", "state",
	    "confidence", "user_quote", "created_by", "position", "created_at",
	    "updated_at", NULL };
	static const char *const item_refs[] = { "source_message_id", NULL };
	json_object	*project = member(doc, "project"), *messages = NULL;
	json_object	*turns = NULL, *items = NULL, *list;
	PGresult	*res = NULL;
	const char	*v[7];
	char		 cap[DB_CAP_LEN];
	size_t		 i, k;
	bs_err		 e;

	v[0] = owner_id;
	v[1] = mstr(project, "title");
	v[2] = mstr(project, "description");
	v[3] = mstr(project, "status");
	v[4] = mstr(project, "created_at");
	v[5] = mstr(project, "updated_at");
	v[6] = db_cap_value(im->max_projects, cap);
	if ((e = run(c, STMT_IMPORT_PROJECT, v, &res)) != BS_OK)
		goto out;
	if (PQntuples(res) != 1) {
		e = BS_ERR_TOO_LARGE;
		goto out;
	}
	snprintf(project_id, DB_ID_LEN, "%s", PQgetvalue(res, 0, 0));
	/* New ids in the file's order, table by table. */
	for (k = 0; k < 4; k++) {
		static const char *const lists[] = { "messages", "turns",
		    "items", "deleted_items" };

		list = member(doc, lists[k]);
		for (i = 0; i < alen(list); i++)
			import_id(im, mstr(json_object_array_get_idx(list, i),
			    "id"));
	}
	messages = import_rows(im, member(doc, "messages"), message_plain,
	    message_refs);
	turns = import_rows(im, member(doc, "turns"), turn_plain, turn_refs);
	items = import_rows(im, member(doc, "items"), item_plain, item_refs);
	v[0] = project_id;
	v[1] = json_object_to_json_string_ext(messages, JSON_C_TO_STRING_PLAIN);
	v[2] = json_object_to_json_string_ext(turns, JSON_C_TO_STRING_PLAIN);
	if ((e = run(c, STMT_IMPORT_CONVERSATION, v, NULL)) != BS_OK)
		goto out;
	v[1] = json_object_to_json_string_ext(items, JSON_C_TO_STRING_PLAIN);
	if ((e = run(c, STMT_IMPORT_ITEMS, v, NULL)) != BS_OK)
		goto out;
	if ((e = import_events(c, im, doc, project_id)) != BS_OK)
		goto out;
	e = import_documents(c, im, doc, project_id, owner_id);
out:
	PQclear(res);
	json_object_put(messages);
	json_object_put(turns);
	json_object_put(items);
	return e;
}

bs_err
db_project_import(struct db_conn *c, const char *owner_id, json_object *doc,
    long max_projects, char project_id[DB_ID_LEN])
{
	struct import	 im;
	bs_err		 e;

	memset(&im, 0, sizeof(im));
	project_id[0] = '\0';
	im.ms = (uint64_t)bs_clock_ms(CLOCK_REALTIME);
	im.max_projects = max_projects;
	if ((im.ids = json_object_new_object()) == NULL ||
	    (im.event_ids = json_object_new_object()) == NULL) {
		e = BS_ERR_NOMEM;
		goto out;
	}
	if ((e = db_command(c, "BEGIN")) != BS_OK)
		goto out;
	if ((e = import_all(c, &im, owner_id, doc, project_id)) == BS_OK)
		e = db_command(c, "COMMIT");
	if (e != BS_OK) {
		db_command(c, "ROLLBACK");
		project_id[0] = '\0';
	}
out:
	json_object_put(im.ids);
	json_object_put(im.event_ids);
	return e;
}
