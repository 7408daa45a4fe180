/*
 * A document generation, a job of the turn engine (engine.c) like a turn:
 * its reads and its save on the engine's IO threads, its one model call on
 * the engine's loop, the save only while its lease is the engine's.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/agent.h"
#include "brainstorm/buf.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/db_items.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/document.h"
#include "brainstorm/events.h"
#include "brainstorm/json.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/validate.h"

#define CONTEXT_MAX		(512 * 1024)
#define DOCUMENT_MAX		(1024 * 1024)	/* rendered Markdown */
#define ITEM_TEXT_MAX		300	/* bytes of an item's text, whole characters */
#define QUOTE_MAX		300
#define EVENT_TEXT_MAX		200	/* bytes of a reason or an old text */
#define MESSAGE_MAX		4000	/* bytes of one message in the context */
#define HISTORY_EVENTS		500	/* newest events read for the history */
#define HISTORY_PER_ITEM	4	/* newest events shown per item */
#define TITLE_MAX_CHARS		200

static const char *const board_groups[] = { "decided", "exploring", "parked",
    "rejected" };

const struct agent *
document_agent(const struct doc_kind *kind)
{
	size_t	 i;

	if (kind == NULL)
		return NULL;
	for (i = 0; i < agent_count; i++)
		if (agent_table[i].output == AGENT_OUTPUT_DOCUMENT &&
		    agent_table[i].document != NULL &&
		    strcmp(agent_table[i].document, kind->name) == 0)
			return &agent_table[i];
	return NULL;
}

/* s cut to at most max bytes on a character boundary, on one line. */
static bs_err
put_line(struct buf *b, const char *s, size_t max)
{
	size_t	 n, i;
	bs_err	 e = BS_OK;

	if (s == NULL)
		return BS_OK;
	n = utf8_prefix(s, max);
	for (i = 0; i < n && e == BS_OK; i++)
		e = buf_append(b, s[i] == '\n' || s[i] == '\r' ? " " : &s[i], 1);
	if (e == BS_OK && n < strlen(s))
		e = buf_puts(b, "...");
	return e;
}

/* One history line: "2026-12-02 moved exploring -> decided by user: why". */
static bs_err
event_put(struct buf *b, json_object *ev)
{
	const char	*action = json_member_string(ev, "action"), *from = json_member_string(ev, "from_state");
	const char	*to = json_member_string(ev, "to_state"), *at = json_member_string(ev, "created_at");
	const char	*reason = json_member_string(ev, "reason");
	bs_err		 e;

	if (action == NULL)
		return BS_OK;
	e = buf_printf(b, "%.10s ", at != NULL ? at : "");
	if (e != BS_OK)
		return e;
	if (strcmp(action, "created") == 0)
		e = buf_printf(b, "created in %s", to != NULL ? to : "?");
	else if (strcmp(action, "moved") == 0)
		e = buf_printf(b, "moved %s -> %s", from != NULL ? from : "?",
		    to != NULL ? to : "?");
	else if (json_member_string(ev, "old_text") != NULL) {
		if ((e = buf_puts(b, "reworded from \"")) == BS_OK &&
		    (e = put_line(b, json_member_string(ev, "old_text"), EVENT_TEXT_MAX)) ==
		    BS_OK)
			e = buf_puts(b, "\"");
	} else
		e = buf_puts(b, action);
	if (e == BS_OK && (e = buf_puts(b, " by ")) == BS_OK)
		e = put_line(b, json_member_string(ev, "actor"), 64);
	if (e == BS_OK && reason != NULL && *reason != '\0' &&
	    (e = buf_puts(b, ": ")) == BS_OK)
		e = put_line(b, reason, EVENT_TEXT_MAX);
	return e;
}

/* Each item's newest events (history comes newest first). */
static json_object *
history_by_item(json_object *history)
{
	json_object	*by = json_object_new_object(), *ev, *list;
	const char	*item;
	size_t		 i;

	for (i = 0; history != NULL && i < json_object_array_length(history);
	    i++) {
		ev = json_object_array_get_idx(history, i);
		if ((item = json_member_string(ev, "item_id")) == NULL)
			continue;
		if (!json_object_object_get_ex(by, item, &list)) {
			list = json_object_new_array();
			json_object_object_add(by, item, list);
		}
		if (json_object_array_length(list) < HISTORY_PER_ITEM)
			json_object_array_add(list, json_object_get(ev));
	}
	return by;
}

static bs_err
item_put(struct buf *b, json_object *it, size_t n, json_object *events)
{
	const char	*text = json_member_string(it, "text"), *quote = json_member_string(it, "user_quote");
	size_t		 k, len;
	bs_err		 e;

	e = buf_printf(b, "[i%zu] ", n);
	if (e == BS_OK)
		e = put_line(b, text != NULL ? text : "", ITEM_TEXT_MAX);
	if (e == BS_OK)
		e = buf_printf(b, " (confidence %ld)\n", json_member_int(it, "confidence", 0));
	if (e == BS_OK && quote != NULL && *quote != '\0' &&
	    (e = buf_puts(b, "  quote: \"")) == BS_OK &&
	    (e = put_line(b, quote, QUOTE_MAX)) == BS_OK)
		e = buf_puts(b, "\"\n");
	len = events != NULL ? json_object_array_length(events) : 0;
	if (e == BS_OK && len > 0)
		e = buf_puts(b, "  history: ");
	for (k = len; k > 0 && e == BS_OK; k--) {
		e = event_put(b, json_object_array_get_idx(events, k - 1));
		if (e == BS_OK)
			e = buf_puts(b, k > 1 ? "; " : "\n");
	}
	return e;
}

bs_err
document_context_build(const struct doc_kind *kind, json_object *source,
    json_object *board, json_object *history, json_object *messages,
    size_t budget, char **out, json_object **shown)
{
	struct buf	 b;
	json_object	*by_item, *it, *events, *m;
	const char	*text, *role, *state;
	size_t		 g, k, n, group_shown, first, used, len;
	bs_err		 e;

	*out = NULL;
	*shown = json_object_new_array();
	by_item = history_by_item(history);
	buf_init(&b, CONTEXT_MAX);
	e = buf_puts(&b, "<project>\nTitle: ");
	if (e == BS_OK)
		e = put_line(&b, json_member_string(source, "title"), 400);
	if (e == BS_OK)
		e = buf_puts(&b, "\nDescription: ");
	if (e == BS_OK)
		e = put_line(&b, json_member_string(source, "description") != NULL &&
		    *json_member_string(source, "description") != '\0' ?
		    json_member_string(source, "description") : "(none)", 2000);
	if (e == BS_OK)
		e = buf_puts(&b, "\n</project>\n<board>\n");
	n = board != NULL ? json_object_array_length(board) : 0;
	for (g = 0; g < 4 && e == BS_OK; g++) {
		e = buf_printf(&b, "%s:\n", board_groups[g]);
		for (k = 0, group_shown = 0; k < n && e == BS_OK; k++) {
			it = json_object_array_get_idx(board, k);
			if ((state = json_member_string(it, "state")) == NULL ||
			    strcmp(state, board_groups[g]) != 0)
				continue;
			if (b.len > budget / 2) {
				e = buf_puts(&b, "(more items left out)\n");
				break;
			}
			json_object_array_add(*shown, json_object_get(it));
			events = NULL;
			if (json_member_string(it, "id") != NULL)
				json_object_object_get_ex(by_item, json_member_string(it, "id"),
				    &events);
			e = item_put(&b, it, json_object_array_length(*shown),
			    events);
			group_shown++;
		}
		if (e == BS_OK && group_shown == 0)
			e = buf_puts(&b, "(none)\n");
	}
	/* As much of the conversation as is left, newest kept first. */
	n = messages != NULL ? json_object_array_length(messages) : 0;
	used = b.len;
	for (first = n; first > 0; first--) {
		m = json_object_array_get_idx(messages, first - 1);
		len = (text = json_member_string(m, "content")) != NULL ?
		    utf8_prefix(text, MESSAGE_MAX) : 0;
		if (used + len + 32 > budget)
			break;
		used += len + 32;
	}
	if (e == BS_OK)
		e = buf_puts(&b, "</board>\n<conversation>\n");
	for (k = first; k < n && e == BS_OK; k++) {
		m = json_object_array_get_idx(messages, k);
		role = json_member_string(m, "role");
		e = buf_puts(&b, role != NULL && strcmp(role, "user") == 0 ?
		    "person: " : "assistant: ");
		if (e == BS_OK)
			e = put_line(&b, json_member_string(m, "content"), MESSAGE_MAX);
		if (e == BS_OK)
			e = buf_puts(&b, "\n");
	}
	if (e == BS_OK)
		e = buf_printf(&b, "</conversation>\n<message>\nWrite the %s "
		    "of this project.\n</message>\n", kind->title);
	if (e == BS_OK && (*out = buf_take(&b)) == NULL)
		e = BS_ERR_NOMEM;
	buf_free(&b);
	json_object_put(by_item);
	if (e != BS_OK) {
		json_object_put(*shown);
		*shown = NULL;
	}
	return e;
}

/* One generation: what it read, its call, and what came of it. */
struct document_job {
	struct app			*app;
	struct db_turn_job		 job;	/* its id is the generation's */
	char				 owner[TURN_OWNER_MAX];
	struct turn_sink		 sink;
	const struct doc_kind		*kind;
	const struct agent		*agent;
	const struct agent_plan		*plan;
	bool				 over;		/* nothing more to do */
	bool				 calling;	/* the call was prepared */
	json_object			*source;	/* {title, description, item_event_id, message_id} */
	json_object			*board;
	json_object			*history;
	json_object			*messages;
	json_object			*shown;		/* the items by short id */
	json_object			*notes;
	char				*context;
	struct llm_message		 message;
	struct llm_tool			 tool;
	struct llm_request		 req;
	struct llm_call			 call;
	size_t				 dropped;	/* citations left out */
	const char			*status;	/* of the agent: ok, error */
	const char			*code;		/* of a failure, for the person */
	char				 error[LLM_STOP_DETAILS_MAX + LLM_ERROR_MAX];
	char				 agent_error[LLM_ERROR_MAX];
	struct buf			 markdown;
	char				 title[TITLE_MAX_CHARS * 4 + 1];
};

static void
emit(struct document_job *g, const char *type, json_object *data)
{
	json_object_object_add(data, "generation_id",
	    json_object_new_string(g->job.turn_id));
	json_object_object_add(data, "kind",
	    json_object_new_string(g->kind->name));
	g->sink.emit(g->sink.arg, type, data);
	json_object_put(data);
}

static void
note(struct document_job *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct document_job *g, const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	utf8_trim(text);
	json_object_array_add(g->notes, json_object_new_string(text));
}

bs_err
document_job_new(struct app *app, const struct db_turn_job *job,
    const char *owner, const struct turn_sink *sink, struct document_job **out)
{
	struct document_job	*g;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return BS_ERR_NOMEM;
	g->app = app;
	g->job = *job;
	snprintf(g->owner, sizeof(g->owner), "%s", owner);
	g->sink = *sink;
	buf_init(&g->markdown, DOCUMENT_MAX);
	if ((g->notes = json_object_new_array()) == NULL) {
		free(g);
		return BS_ERR_NOMEM;
	}
	/* The database checks the kind; a kind this build lacks fails. */
	g->kind = doc_kind_find(job->document_kind);
	if ((g->agent = document_agent(g->kind)) != NULL)
		g->plan = &app->plans->plan[agent_index(g->agent)];
	*out = g;
	return BS_OK;
}

void
document_job_free(struct document_job *g)
{
	if (g == NULL)
		return;
	llm_call_free(&g->call);
	buf_free(&g->markdown);
	free(g->context);
	json_object_put(g->source);
	json_object_put(g->board);
	json_object_put(g->history);
	json_object_put(g->messages);
	json_object_put(g->shown);
	json_object_put(g->notes);
	free(g);
}

const char *
document_job_id(const struct document_job *g)
{
	return g->job.turn_id;
}

bool
document_job_over(const struct document_job *g)
{
	return g->over;
}

/* The last event: the result, then the stream lingers and ends. */
static void
announce(struct document_job *g, json_object *version)
{
	json_object	*d;

	if (g->code != NULL) {
		d = json_object_new_object();
		json_object_object_add(d, "code", json_object_new_string(g->code));
		json_object_object_add(d, "message",
		    json_object_new_string(g->error));
		emit(g, "error", d);
	}
	d = json_object_new_object();
	json_object_object_add(d, "status", json_object_new_string(
	    g->code == NULL ? "done" : "failed"));
	if (g->code == NULL)
		json_object_object_add(d, "version", json_object_get(version));
	else {
		json_object_object_add(d, "code", json_object_new_string(g->code));
		json_object_object_add(d, "error", json_object_new_string(g->error));
	}
	json_object_object_add(d, "notes", json_object_get(g->notes));
	emit(g, "document.done", d);
}

/*
 * A new version, for everybody with the project open: its summary (the
 * Markdown is read with GET .../documents/{kind}).
 */
static void
announce_version(struct document_job *g, json_object *version)
{
	static const char *const keys[] = { "kind", "version", "title",
	    "model", "created_by", "created_at" };
	json_object	*d, *v;
	size_t		 i;

	d = json_object_new_object();
	json_object_object_add(d, "generation_id",
	    json_object_new_string(g->job.turn_id));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(version, keys[i], &v))
			json_object_object_add(d, keys[i], json_object_get(v));
	if (events_publish_project(g->app->events, g->job.project_id,
	    "document.version", d) != BS_OK)
		log_msgf(LOG_LEVEL_DEBUG, "document.version of generation %s was "
		    "not queued", g->job.turn_id);
	json_object_put(d);
}

/*
 * End the generation failed with g->error, both rows, while the lease is
 * this engine's. false: another engine holds it now, or the database
 * failed (the lease runs out and an engine runs it again).
 */
static bool
finish_failed(struct document_job *g, struct db_conn *conn)
{
	bs_err	 e;

	if ((e = db_command(conn, "BEGIN")) == BS_OK &&
	    (e = db_turn_hold(conn, g->job.turn_id, g->owner)) == BS_OK &&
	    (e = db_generation_finish(conn, g->job.turn_id, "failed", g->error,
	    NULL)) == BS_OK &&
	    (e = db_turn_finish(conn, g->job.turn_id, NULL, 0, "failed",
	    g->error, g->notes)) == BS_OK)
		e = db_command(conn, "COMMIT");
	if (e != BS_OK) {
		db_command(conn, "ROLLBACK");
		if (e != BS_ERR_CONFLICT)
			log_msgf(LOG_LEVEL_ERROR, "generation %s: could not be "
			    "marked failed (%s); its lease runs out and an "
			    "engine runs it again", g->job.turn_id,
			    bs_strerror(e));
	}
	return e == BS_OK;
}

/* Before any call: the generation fails with why, said to the person. */
static void
give_up(struct document_job *g, struct db_conn *conn, const char *why)
{
	g->over = true;
	g->code = "generation_failed";
	snprintf(g->error, sizeof(g->error), "%s", why);
	if (finish_failed(g, conn))
		announce(g, NULL);
}

/* The request, shaped as the agent's plan says its model takes it. */
static void
call_prepare(struct document_job *g)
{
	const struct agent_plan	*p = g->plan;

	g->message.role = "user";
	g->message.content = g->context;
	g->req.model = p->model;
	g->req.max_tokens = p->max_tokens;
	g->req.system = g->agent->system_prompt;
	g->req.system_cache = true;
	g->req.messages = &g->message;
	g->req.nmessages = 1;
	g->req.has_temperature = p->has_temperature;
	g->req.temperature = g->agent->temperature;
	g->req.thinking = p->thinking;
	g->req.thinking_budget = p->thinking_budget;
	g->req.effort = p->effort;
	g->req.answer = p->answer;
	g->req.user_id = g->job.user_id;
	g->tool.name = g->agent->answer_name;
	g->tool.description = g->agent->answer_description;
	g->tool.input_schema = p->schema;
	g->req.tool = &g->tool;
	llm_call_init(&g->call, &g->req);
	g->calling = true;
}

void
document_job_begin(struct document_job *g)
{
	const struct bs_config *cfg = g->app->cfg;
	struct db_conn	*conn = NULL;
	json_object	*d;
	bs_err		 e;

	if (db_pool_checkout(g->app->db, &conn) != BS_OK) {
		/* The lease runs out and an engine tries again. */
		g->over = true;
		return;
	}
	if (g->agent == NULL) {
		give_up(g, conn, "This server has no writer for this kind of "
		    "document.");
		goto out;
	}
	if (g->job.user_id[0] == '\0') {
		give_up(g, conn, "The account that asked for this document no "
		    "longer exists.");
		goto out;
	}
	if (g->job.runs > TURN_MAX_RUNS) {
		give_up(g, conn, "The generation was interrupted too many times "
		    "(its engine stopped each time); ask again.");
		goto out;
	}
	if ((e = db_document_source(conn, g->job.project_id, &g->source)) ==
	    BS_OK &&
	    (e = db_items_list(conn, g->job.project_id, NULL, &g->board)) ==
	    BS_OK &&
	    (e = db_document_history(conn, g->job.project_id, HISTORY_EVENTS,
	    &g->history)) == BS_OK)
		e = db_messages_recent(conn, g->job.project_id, NULL,
		    (int)cfg->context_messages, &g->messages);
	if (e != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "generation %s: the project could not "
		    "be read: %s", g->job.turn_id, bs_strerror(e));
		give_up(g, conn, "The board and the conversation could not be "
		    "read.");
		goto out;
	}
	d = json_object_new_object();
	json_object_object_add(d, "agent", json_object_new_string(g->agent->name));
	/* Another engine began it: it is written again from the start. */
	json_object_object_add(d, "retry", json_object_new_boolean(
	    g->job.runs > 1));
	emit(g, "document.started", d);
	if ((e = document_context_build(g->kind, g->source, g->board,
	    g->history, g->messages, (size_t)cfg->context_token_budget *
	    (size_t)g->plan->chars_per_token, &g->context, &g->shown)) != BS_OK) {
		snprintf(g->agent_error, sizeof(g->agent_error), "the request "
		    "could not be prepared (%s)", bs_strerror(e));
		snprintf(g->error, sizeof(g->error), "The document could not be "
		    "prepared.");
		g->code = "generation_failed";
	} else
		call_prepare(g);
out:
	db_pool_release(g->app->db, conn);
}

size_t
document_job_calls(struct document_job *g, struct llm_call **calls,
    long *deadline_ms)
{
	json_object	*d;

	d = json_object_new_object();
	json_object_object_add(d, "agent", json_object_new_string(g->agent->name));
	emit(g, "agent.started", d);
	*calls = &g->call;
	*deadline_ms = g->app->cfg->turn_budget_ms;
	return g->calling ? 1 : 0;
}

/* The answer's title, on one line, within the column's limit. */
static void
title_set(struct document_job *g, const char *title)
{
	size_t	 i, o = 0, chars = 0;
	bool	 space = false;

	for (i = 0; title != NULL && title[i] != '\0' && chars <
	    TITLE_MAX_CHARS && o + 5 < sizeof(g->title); i++) {
		unsigned char c = (unsigned char)title[i];

		if (c <= ' ' || c == 0x7f) {
			space = o > 0;
			continue;
		}
		if (space) {
			g->title[o++] = ' ';
			chars++;
			space = false;
		}
		g->title[o++] = (char)c;
		if ((c & 0xc0) != 0x80)
			chars++;
	}
	g->title[o] = '\0';
	utf8_trim(g->title);
	if (g->title[0] == '\0')
		snprintf(g->title, sizeof(g->title), "%s", g->kind->title);
}

/* Why the call failed, for the person and for agent_runs. */
static void
call_failure(struct document_job *g)
{
	const struct llm_call	*c = &g->call;

	switch (c->kind) {
	case LLM_ERR_REFUSAL:
		snprintf(g->agent_error, sizeof(g->agent_error), "refusal: %.200s",
		    c->res.stop_details[0] != '\0' ? c->res.stop_details :
		    "the model declined to answer");
		snprintf(g->error, sizeof(g->error), "Claude declined to write "
		    "this document%s%s%s", c->res.stop_details[0] != '\0' ?
		    " (" : "", c->res.stop_details, c->res.stop_details[0] !=
		    '\0' ? ")." : ".");
		g->code = "refused";
		return;
	case LLM_ERR_SPEND_CAP:
		snprintf(g->agent_error, sizeof(g->agent_error), "spend_cap: the "
		    "Claude spending limit of this workspace is reached");
		snprintf(g->error, sizeof(g->error), "The Claude spending limit "
		    "of this workspace is reached, so no document could be "
		    "written. Try again once an operator has raised the limit.");
		g->code = "spend_cap";
		return;
	case LLM_ERR_NOT_FOUND:
		snprintf(g->agent_error, sizeof(g->agent_error), "not_found: "
		    "%.200s", c->error);
		snprintf(g->error, sizeof(g->error), "The model that writes "
		    "documents here (%s) is no longer available from Claude, so "
		    "no document could be written. Try again once an operator "
		    "has changed the model.", g->req.model);
		g->code = "model_unavailable";
		return;
	default:
		snprintf(g->agent_error, sizeof(g->agent_error), "%s: %.200s",
		    llm_error_kind_name(c->kind), c->error);
		snprintf(g->error, sizeof(g->error), "The document could not be "
		    "written (%s).", g->agent_error);
		g->code = "generation_failed";
	}
}

/* The call ended: its answer checked and rendered to Markdown. */
void
document_job_stage_end(struct document_job *g)
{
	json_object	*d, *tokens, *t = NULL;
	char		 reason[LLM_ERROR_MAX - 32];
	bs_err		 e;

	if (g->calling) {
		if (g->call.err != BS_OK)
			call_failure(g);
		else if (g->call.res.output == NULL) {
			snprintf(g->agent_error, sizeof(g->agent_error),
			    "invalid answer: no %s", g->agent->answer_name);
			g->code = "generation_failed";
		} else if (json_schema_validate(agent_schema(g->agent),
		    g->call.res.output, reason, sizeof(reason)) != BS_OK) {
			snprintf(g->agent_error, sizeof(g->agent_error),
			    "invalid answer: %s", reason);
			g->code = "generation_failed";
		} else if ((e = doc_render(g->kind, g->call.res.output,
		    g->shown, &g->markdown, &g->dropped)) != BS_OK) {
			snprintf(g->agent_error, sizeof(g->agent_error),
			    "the answer could not be rendered (%s)",
			    bs_strerror(e));
			g->code = "generation_failed";
		}
		if (g->code != NULL && g->error[0] == '\0')
			snprintf(g->error, sizeof(g->error), "The document could "
			    "not be written (%s).", g->agent_error);
	}
	g->status = g->code == NULL ? "ok" : "error";
	if (g->code == NULL) {
		json_object_object_get_ex(g->call.res.output, "title", &t);
		title_set(g, t != NULL ? json_object_get_string(t) : NULL);
		if (g->dropped > 0)
			note(g, "%zu citation%s named no item on the board and "
			    "%s left out.", g->dropped, g->dropped == 1 ? "" : "s",
			    g->dropped == 1 ? "was" : "were");
	} else
		note(g, "%s failed: %s", g->agent->name, g->agent_error);
	metrics_agent_run(g->agent->name, g->status,
	    (double)g->call.latency_ms / 1000.0);
	d = json_object_new_object();
	json_object_object_add(d, "agent", json_object_new_string(g->agent->name));
	json_object_object_add(d, "status", json_object_new_string(g->status));
	json_object_object_add(d, "latency_ms",
	    json_object_new_int64(g->call.latency_ms));
	tokens = json_object_new_object();
	json_object_object_add(tokens, "input",
	    json_object_new_int64(g->call.res.usage.input_tokens));
	json_object_object_add(tokens, "output",
	    json_object_new_int64(g->call.res.usage.output_tokens));
	json_object_object_add(tokens, "cache_read",
	    json_object_new_int64(g->call.res.usage.cache_read_input_tokens));
	json_object_object_add(tokens, "cache_write",
	    json_object_new_int64(g->call.res.usage.cache_creation_input_tokens));
	json_object_object_add(d, "tokens", tokens);
	if (g->agent_error[0] != '\0')
		json_object_object_add(d, "error",
		    json_object_new_string(g->agent_error));
	emit(g, "agent.finished", d);
}

/*
 * The version (when written), the agent run and the generation's end, in
 * one transaction that holds the lease: BS_ERR_CONFLICT when another
 * engine took the generation over (it saves it, this one does not).
 */
static bs_err
save(struct document_job *g, struct db_conn *conn, json_object **version)
{
	struct db_agent_run	 r;
	struct db_document_version v;
	const struct llm_usage	*u = &g->call.res.usage;
	char			 version_id[DB_ID_LEN] = "", event_id[32];
	json_object		*ev;
	bs_err			 e;

	*version = NULL;
	memset(&r, 0, sizeof(r));
	r.agent = g->agent->name;
	r.model = g->req.model != NULL ? g->req.model : g->plan->model;
	r.status = g->status;
	r.latency_ms = g->call.latency_ms;
	r.attempts = g->call.attempts;
	r.input_tokens = u->input_tokens;
	r.output_tokens = u->output_tokens;
	r.cache_read_tokens = u->cache_read_input_tokens;
	r.cache_write_tokens = u->cache_creation_input_tokens;
	r.cache_write_1h_tokens = u->cache_creation_1h_tokens;
	r.thinking_tokens = u->thinking_tokens;
	r.stop_reason = g->call.res.stop_reason;
	r.error = g->agent_error[0] != '\0' ? g->agent_error : NULL;
	if ((e = db_command(conn, "BEGIN")) != BS_OK)
		return e;
	e = db_turn_hold(conn, g->job.turn_id, g->owner);
	if (e == BS_OK && g->code == NULL) {
		memset(&v, 0, sizeof(v));
		v.title = g->title;
		v.markdown = buf_cstr(&g->markdown);
		if (json_object_object_get_ex(g->source, "item_event_id", &ev) &&
		    ev != NULL) {
			snprintf(event_id, sizeof(event_id), "%lld",
			    (long long)json_object_get_int64(ev));
			v.item_event_id = event_id;
		}
		v.message_id = json_member_string(g->source, "message_id");
		v.model = r.model;
		v.input_tokens = u->input_tokens;
		v.output_tokens = u->output_tokens;
		v.created_by = g->job.user_id;
		v.keep = g->app->cfg->document_versions_max;
		e = db_document_version_add(conn, g->job.project_id,
		    g->kind->name, &v, version_id, version);
	}
	if (e == BS_OK && g->calling)
		e = db_agent_runs_add(conn, DB_RUNS_OF_GENERATION,
		    g->job.turn_id, g->job.project_id, g->job.user_id, &r, 1);
	if (e == BS_OK)
		e = db_generation_finish(conn, g->job.turn_id, g->code == NULL ?
		    "done" : "failed", g->code == NULL ? NULL : g->error,
		    g->code == NULL ? version_id : NULL);
	if (e == BS_OK)
		e = db_turn_finish(conn, g->job.turn_id, NULL, 0, g->code == NULL ?
		    "done" : "failed", g->code == NULL ? NULL : g->error, g->notes);
	if (e == BS_OK)
		e = db_command(conn, "COMMIT");
	if (e != BS_OK) {
		db_command(conn, "ROLLBACK");
		json_object_put(*version);
		*version = NULL;
	}
	return e;
}

void
document_job_end(struct document_job *g)
{
	struct db_conn	*conn = NULL;
	json_object	*version = NULL;
	bs_err		 e;

	g->over = true;
	if ((e = db_pool_checkout(g->app->db, &conn)) == BS_OK)
		e = save(g, conn, &version);
	if (e == BS_ERR_CONFLICT) {
		log_msgf(LOG_LEVEL_WARN, "generation %s: its lease went to another "
		    "engine, which saves it", g->job.turn_id);
		goto out;
	}
	if (e != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "generation %s: the result could not be "
		    "saved: %s", g->job.turn_id, bs_strerror(e));
		snprintf(g->error, sizeof(g->error), "The document could not be "
		    "saved (%s).", bs_strerror(e));
		g->code = "generation_failed";
		/* On a fresh connection: the one that failed may be broken. */
		db_pool_release(g->app->db, conn);
		conn = NULL;
		if (db_pool_checkout(g->app->db, &conn) == BS_OK &&
		    finish_failed(g, conn))
			announce(g, NULL);
		goto out;
	}
	announce(g, version);
	if (g->code == NULL)
		announce_version(g, version);
out:
	db_pool_release(g->app->db, conn);
	json_object_put(version);
}
