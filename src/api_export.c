/*
 * A whole project out and in: the export as one JSON document or one
 * Markdown file, and the import of such a JSON document as a new project
 * of the caller, in one transaction.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/db_projects.h"
#include "brainstorm/doc_export.h"
#include "brainstorm/log.h"
#include "brainstorm/server.h"

#define SLUG_MAX	48

static const struct api_error_row project_errors[] = {
	API_ERROR_NOT_FOUND("project"),
};

static const struct api_error_row import_errors[] = {
	API_ERROR_PROJECTS_LIMIT,
};

/*
 * How long an export or import waits for one of its worker's
 * PROJECT_FILE_SLOTS before it answers 503, and the Retry-After it gives.
 */
#define FILE_SLOT_WAIT_MS	5000
#define FILE_SLOT_RETRY_S	5

/*
 * Take one of the worker's slots for a project file (an export holds
 * several times its size while it writes it; an import its body and the
 * parsed tree), or answer 503 server_busy: false then.
 */
static bool
file_slot_take(struct http_ctx *ctx)
{
	if (slots_take_within(&ctx->app->file_slots, FILE_SLOT_WAIT_MS))
		return true;
	http_header_add(ctx, "Retry-After", "%d", FILE_SLOT_RETRY_S);
	http_respond_error(ctx, 503, "server_busy", "The server is busy with "
	    "other exports and imports; try again in a few seconds.");
	return false;
}

/*
 * Give the slot back, and ask for the memory the file took to go back to
 * the system: glibc keeps what a thread freed in its arena, so a worker
 * that wrote one 28 MiB export used to keep 160 MB for good. The trim
 * runs on the signal thread at the next moment the worker serves no
 * request (server_trim_tick): on this thread it held every malloc arena
 * of the worker for 2 to 70 ms while other requests waited.
 */
static void
file_slot_give(struct http_ctx *ctx)
{
	slots_give(&ctx->app->file_slots);
	server_trim_soon();
}

/* "brainstorm-<title as lower-case ASCII words joined by ->" */
static void
export_filename(json_object *doc, const char *ext, char *out, size_t len)
{
	json_object	*project, *title;
	const char	*t = "";
	char		 slug[SLUG_MAX + 1];
	size_t		 i, n = 0;
	bool		 dash = false;

	if (json_object_object_get_ex(doc, "project", &project) &&
	    json_object_object_get_ex(project, "title", &title))
		t = json_object_get_string(title);
	for (i = 0; t[i] != '\0' && n < SLUG_MAX; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x80 && isalnum(c)) {
			if (dash && n > 0 && n + 1 < SLUG_MAX)
				slug[n++] = '-';
			slug[n++] = (char)tolower(c);
			dash = false;
		} else
			dash = true;
	}
	slug[n] = '\0';
	snprintf(out, len, "brainstorm-%s.%s", n > 0 ? slug : "project", ext);
}

/* 409 export_too_large: about size bytes against EXPORT_MAX_BYTES. */
static void
export_refuse(struct http_ctx *ctx, size_t size)
{
	const double	 mib = 1024.0 * 1024.0;
	long		 max = ctx->app->cfg->export_max_bytes;

	if (size > 0)
		http_respond_error(ctx, 409, "export_too_large", "This project's "
		    "export would be about %.0f MiB; an export may be at most "
		    "%.0f MiB (EXPORT_MAX_BYTES).", size / mib, max / mib);
	else
		http_respond_error(ctx, 409, "export_too_large", "This project's "
		    "export would be more than %.0f MiB, the most an export may "
		    "be (EXPORT_MAX_BYTES).", max / mib);
}

void
api_projects_export(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*doc = NULL;
	const char	*format = http_query_get(&ctx->req, "format"), *text;
	size_t		 max = (size_t)ctx->app->cfg->export_max_bytes, size = 0;
	size_t		 len;
	char		 filename[80];
	struct buf	 md;
	bool		 markdown, slot = false;
	bs_err		 e;

	buf_init(&md, max);
	if (format == NULL || *format == '\0')
		format = "json";
	if (strcmp(format, "json") != 0 && strcmp(format, "md") != 0) {
		api_respond_invalid(ctx, "format", "format must be json or md.");
		goto out;
	}
	markdown = strcmp(format, "md") == 0;
	if (!(slot = file_slot_take(ctx)))
		goto out;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_project_export(conn, ctx->req.project_id, max, &doc,
		    &size);
	db_pool_release(ctx->app->db, conn);
	if (e == BS_ERR_TOO_LARGE) {
		export_refuse(ctx, size);
		goto out;
	}
	if (e != BS_OK) {
		api_respond_error(ctx, e, API_ERROR_ROWS(project_errors));
		goto out;
	}
	export_filename(doc, format, filename, sizeof(filename));
	if (markdown) {
		if ((e = export_markdown(doc, &md)) == BS_ERR_TOO_LARGE)
			export_refuse(ctx, 0);
		else if (e != BS_OK)
			api_respond_db_error(ctx, e);
		else {
			http_header_add(ctx, "Content-Disposition",
			    "attachment; filename=\"%s\"", filename);
			http_respond_text(ctx, 200,
			    "text/markdown; charset=utf-8",
			    md.data != NULL ? md.data : "", md.len);
		}
		goto out;
	}
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	/* Escapes the estimate left out may still take it past. */
	if ((len = strlen(text)) > max) {
		export_refuse(ctx, len);
		goto out;
	}
	http_header_add(ctx, "Content-Disposition", "attachment; filename=\"%s\"",
	    filename);
	http_respond_text(ctx, 200, "application/json", text, len);
out:
	buf_free(&md);
	json_object_put(doc);
	if (slot)
		file_slot_give(ctx);
}

/* 422 with the path of the file's first problem. */
static void
import_refuse(struct http_ctx *ctx, const char *path, const char *why)
{
	json_object	*body, *err;

	body = http_error_body("validation_failed", why, ctx->req.request_id);
	if (json_object_object_get_ex(body, "error", &err)) {
		json_object_object_add(err, "field", json_object_new_string(path));
		json_object_object_add(err, "path", json_object_new_string(path));
	}
	http_respond_json(ctx, 422, body);
}

/* The length of doc's array member key (0 when it is not an array). */
static size_t
import_count(json_object *doc, const char *key)
{
	json_object	*a;

	if (!json_object_object_get_ex(doc, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return 0;
	return json_object_array_length(a);
}

/*
 * Whether the file's item history (the events of its items, then of its
 * deleted items) stays within max; else path names the first event past it.
 */
static bool
import_history_bounded(json_object *doc, long max, char *path,
    size_t pathlen)
{
	static const char *const lists[] = { "items", "deleted_items" };
	json_object	*a;
	size_t		 k, i, n, total = 0;

	for (k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		if (!json_object_object_get_ex(doc, lists[k], &a) ||
		    !json_object_is_type(a, json_type_array))
			continue;
		for (i = 0; i < json_object_array_length(a); i++) {
			n = import_count(json_object_array_get_idx(a, i),
			    "events");
			if (total + n > (size_t)max) {
				snprintf(path, pathlen, "%s[%zu].events[%zu]",
				    lists[k], i, (size_t)max - total);
				return false;
			}
			total += n;
		}
	}
	return true;
}

/*
 * Whether a project file stays within the bounds a project has: items,
 * their history, messages, and each document's versions. Else path and why
 * say which.
 */
static bool
import_bounded(const struct bs_config *cfg, json_object *doc, char *path,
    size_t pathlen, char *why, size_t whylen)
{
	json_object	*docs;
	size_t		 n, i;

	if ((n = import_count(doc, "items")) > (size_t)cfg->items_max_per_project) {
		snprintf(path, pathlen, "items[%ld]", cfg->items_max_per_project);
		snprintf(why, whylen, "A project holds at most %ld items "
		    "(ITEMS_MAX_PER_PROJECT); this file has %zu.",
		    cfg->items_max_per_project, n);
		return false;
	}
	if (!import_history_bounded(doc, cfg->item_events_max_per_project,
	    path, pathlen)) {
		snprintf(why, whylen, "A project keeps at most %ld entries of "
		    "item history (ITEM_EVENTS_MAX_PER_PROJECT); this file has "
		    "more.", cfg->item_events_max_per_project);
		return false;
	}
	if ((n = import_count(doc, "messages")) >
	    (size_t)cfg->messages_max_per_project) {
		snprintf(path, pathlen, "messages[%ld]",
		    cfg->messages_max_per_project);
		snprintf(why, whylen, "A conversation holds at most %ld messages "
		    "(MESSAGES_MAX_PER_PROJECT); this file has %zu.",
		    cfg->messages_max_per_project, n);
		return false;
	}
	if (!json_object_object_get_ex(doc, "documents", &docs) ||
	    !json_object_is_type(docs, json_type_array))
		return true;
	for (i = 0; i < json_object_array_length(docs); i++) {
		n = import_count(json_object_array_get_idx(docs, i), "versions");
		if (n > (size_t)cfg->document_versions_max) {
			snprintf(path, pathlen, "documents[%zu].versions[%ld]", i,
			    cfg->document_versions_max);
			snprintf(why, whylen, "A document keeps at most %ld "
			    "versions (DOCUMENT_VERSIONS_MAX); this one has %zu.",
			    cfg->document_versions_max, n);
			return false;
		}
	}
	return true;
}

void
api_projects_import(struct http_ctx *ctx)
{
	struct http_limits	 lim;
	struct db_conn		*conn = NULL;
	json_object		*project = NULL;
	char			 path[EXPORT_PATH_MAX], why[256];
	char			 project_id[DB_ID_LEN];
	bs_err			 e;

	/* The slot first: the body is read into memory, then parsed. */
	if (!file_slot_take(ctx))
		return;
	/* A project file may be larger than any other body: its own limit. */
	lim.max_body_bytes = (size_t)ctx->app->cfg->import_max_bytes;
	lim.max_json_depth = ctx->app->limits.max_json_depth;
	if (http_request_parse_json(ctx, &lim) != BS_OK)
		goto out;
	/*
	 * The cap first, before any work on a file that cannot be taken. A
	 * new project: nothing else adds to it before the import ends.
	 */
	if (!import_bounded(ctx->app->cfg, ctx->req.json, path, sizeof(path),
	    why, sizeof(why))) {
		import_refuse(ctx, path, why);
		goto out;
	}
	if (export_check(ctx->req.json, path, sizeof(path), why,
	    sizeof(why)) != BS_OK) {
		import_refuse(ctx, path, why);
		goto out;
	}
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK &&
	    (e = db_project_import(conn, ctx->req.user_id, ctx->req.json,
	    ctx->app->cfg->projects_max_per_user, project_id)) == BS_OK)
		e = db_project_get(conn, project_id, ctx->req.user_id, &project);
	db_pool_release(ctx->app->db, conn);
	if (e == BS_ERR_INVALID)
		api_respond_invalid(ctx, "", "The database refused a value of the "
		    "file; nothing was imported.");
	else if (e != BS_OK)
		api_respond_error(ctx, e, API_ERROR_ROWS(import_errors));
	else {
		log_msgf(LOG_LEVEL_INFO, "project %s imported by %s", project_id,
		    ctx->req.user_id);
		http_respond_json(ctx, 201, project);
	}
out:
	/* The file and its tree go before the slot does. */
	json_object_put(ctx->req.json);
	ctx->req.json = NULL;
	buf_free(&ctx->req.body);
	file_slot_give(ctx);
}
