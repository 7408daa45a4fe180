/*
 * A document generation: like a turn, on the request's thread, with the
 * model call on one curl multi handle (llm_batch_run) and a database
 * connection only for the queries before and after it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/agent.h"
#include "brainstorm/db_documents.h"
#include "brainstorm/db_items.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/doc_render.h"
#include "brainstorm/document.h"
#include "brainstorm/http.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/validate.h"

#define CONTEXT_MAX		(512 * 1024)
#define DOCUMENT_MAX		(1024 * 1024)	/* rendered Markdown */
#define CHARS_PER_TOKEN		4		/* the estimate the budget uses */
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
	if (e == BS_OK && (*out = strdup(buf_cstr(&b))) == NULL)
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
struct generation {
	struct app			*app;
	const struct document_input	*in;
	const struct turn_sink		*sink;
	const struct agent		*agent;
	const struct agent_plan		*plan;
	char				 id[DB_ID_LEN];
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
	const char			*status;	/* of the agent: ok, error */
	const char			*code;		/* of a failure, for the person */
	char				 error[LLM_STOP_DETAILS_MAX + LLM_ERROR_MAX];
	char				 agent_error[LLM_ERROR_MAX];
	struct buf			 markdown;
	char				 title[TITLE_MAX_CHARS * 4 + 1];
};

static void
emit(struct generation *g, const char *type, json_object *data)
{
	json_object_object_add(data, "generation_id",
	    json_object_new_string(g->id));
	json_object_object_add(data, "kind",
	    json_object_new_string(g->in->kind->name));
	g->sink->emit(g->sink->arg, type, data);
	json_object_put(data);
}

static void
note(struct generation *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct generation *g, const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	utf8_trim(text);
	json_object_array_add(g->notes, json_object_new_string(text));
}

/* Open the generation and read what the agent needs. */
static bs_err
generation_begin(struct generation *g)
{
	const struct bs_config *cfg = g->app->cfg;
	struct db_conn	*conn = NULL;
	bs_err		 e;

	if ((e = db_pool_checkout(g->app->db, &conn)) != BS_OK)
		return e;
	if ((e = db_generation_open(conn, g->in->project_id, g->in->kind->name,
	    g->in->user_id, cfg->turn_stale_s, g->id)) != BS_OK)
		goto out;
	if ((e = db_document_source(conn, g->in->project_id, &g->source)) ==
	    BS_OK &&
	    (e = db_items_list(conn, g->in->project_id, NULL, &g->board)) ==
	    BS_OK &&
	    (e = db_document_history(conn, g->in->project_id, HISTORY_EVENTS,
	    &g->history)) == BS_OK)
		e = db_messages_recent(conn, g->in->project_id, NULL,
		    (int)cfg->context_messages, &g->messages);
	if (e != BS_OK) {
		/* The generation exists: it fails, and says why. */
		log_msgf(LOG_LEVEL_ERROR, "generation %s: the project could not "
		    "be read: %s", g->id, bs_strerror(e));
		snprintf(g->error, sizeof(g->error), "The board and the "
		    "conversation could not be read.");
		db_generation_finish(conn, g->id, "failed", g->error, NULL);
		e = BS_OK;
		g->code = "generation_failed";
	}
out:
	db_pool_release(g->app->db, conn);
	return e;
}

/* The request, shaped as the agent's plan says its model takes it. */
static void
call_prepare(struct generation *g)
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
	g->req.user_id = g->in->user_id;
	g->tool.name = g->agent->answer_name;
	g->tool.description = g->agent->answer_description;
	g->tool.input_schema = p->schema;
	g->req.tool = &g->tool;
	llm_call_init(&g->call, &g->req);
}

/* The answer's title, on one line, within the column's limit. */
static void
title_set(struct generation *g, const char *title)
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
		snprintf(g->title, sizeof(g->title), "%s", g->in->kind->title);
}

/* Why the call failed, for the person and for agent_runs. */
static void
call_failure(struct generation *g)
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
	default:
		snprintf(g->agent_error, sizeof(g->agent_error), "%s: %.200s",
		    llm_error_kind_name(c->kind), c->error);
		snprintf(g->error, sizeof(g->error), "The document could not be "
		    "written (%s).", g->agent_error);
		g->code = "generation_failed";
	}
}

/* Call the agent and turn its answer into Markdown. */
static void
generation_write(struct generation *g)
{
	json_object	*d, *tokens;
	char		 reason[LLM_ERROR_MAX - 32];
	size_t		 dropped = 0;
	bs_err		 e;

	d = json_object_new_object();
	json_object_object_add(d, "agent", json_object_new_string(g->agent->name));
	emit(g, "agent.started", d);
	if ((e = document_context_build(g->in->kind, g->source, g->board,
	    g->history, g->messages, (size_t)g->app->cfg->context_token_budget *
	    CHARS_PER_TOKEN, &g->context, &g->shown)) != BS_OK) {
		snprintf(g->agent_error, sizeof(g->agent_error), "the request "
		    "could not be prepared (%s)", bs_strerror(e));
		snprintf(g->error, sizeof(g->error), "The document could not be "
		    "prepared.");
		g->code = "generation_failed";
	} else {
		call_prepare(g);
		llm_batch_run(g->app->llm, &g->call, 1,
		    g->app->cfg->turn_budget_ms);
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
		} else if ((e = doc_render(g->in->kind, g->call.res.output,
		    g->shown, &g->markdown, &dropped)) != BS_OK) {
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
		json_object *t = NULL;

		json_object_object_get_ex(g->call.res.output, "title", &t);
		title_set(g, t != NULL ? json_object_get_string(t) : NULL);
		if (dropped > 0)
			note(g, "%zu citation%s named no item on the board and "
			    "%s left out.", dropped, dropped == 1 ? "" : "s",
			    dropped == 1 ? "was" : "were");
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

/* The version (when written), the agent run and the generation's end. */
static bs_err
generation_save(struct generation *g, struct db_conn *conn,
    json_object **version)
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
	if (g->code == NULL) {
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
		v.created_by = g->in->user_id;
		e = db_document_version_add(conn, g->in->project_id,
		    g->in->kind->name, &v, version_id, version);
	}
	if (e == BS_OK)
		e = db_generation_run_add(conn, g->id, g->in->project_id,
		    g->in->user_id, &r);
	if (e == BS_OK)
		e = db_generation_finish(conn, g->id, g->code == NULL ? "done" :
		    "failed", g->code == NULL ? NULL : g->error,
		    g->code == NULL ? version_id : NULL);
	if (e == BS_OK)
		e = db_command(conn, "COMMIT");
	if (e != BS_OK) {
		db_command(conn, "ROLLBACK");
		json_object_put(*version);
		*version = NULL;
	}
	return e;
}

/* Saving failed: the generation at least ends failed, on a fresh connection if need be. */
static void
generation_fail_unsaved(struct generation *g, struct db_conn **conn, bs_err why)
{
	bs_err	 e = BS_ERR_DB_UNAVAILABLE;
	int	 attempt;

	log_msgf(LOG_LEVEL_ERROR, "generation %s: the result could not be "
	    "saved: %s", g->id, bs_strerror(why));
	snprintf(g->error, sizeof(g->error), "The document could not be saved "
	    "(%s).", bs_strerror(why));
	g->code = "generation_failed";
	for (attempt = 0; attempt < 2 && e != BS_OK; attempt++) {
		if (attempt > 0) {
			db_pool_release(g->app->db, *conn);
			*conn = NULL;
			if (db_pool_checkout(g->app->db, conn) != BS_OK)
				break;
		}
		if (*conn != NULL)
			e = db_generation_finish(*conn, g->id, "failed", g->error,
			    NULL);
	}
	if (e != BS_OK)
		log_msgf(LOG_LEVEL_ERROR, "generation %s: could not be marked "
		    "failed either (%s); it fails as stale after "
		    "TURN_STALE_AFTER", g->id, bs_strerror(e));
}

bs_err
document_generate(struct app *app, const struct document_input *in,
    const struct turn_sink *sink, json_object **result)
{
	struct generation	 g;
	struct db_conn		*conn = NULL;
	json_object		*version = NULL, *d, *r;
	bs_err			 e;

	*result = NULL;
	memset(&g, 0, sizeof(g));
	g.app = app;
	g.in = in;
	g.sink = sink;
	buf_init(&g.markdown, DOCUMENT_MAX);
	g.notes = json_object_new_array();
	if ((g.agent = document_agent(in->kind)) == NULL) {
		e = BS_ERR_NOT_FOUND;
		goto out;
	}
	g.plan = &app->plans->plan[agent_index(g.agent)];
	if ((e = generation_begin(&g)) != BS_OK)
		goto out;
	d = json_object_new_object();
	json_object_object_add(d, "agent", json_object_new_string(g.agent->name));
	emit(&g, "document.started", d);
	if (g.code == NULL) {
		generation_write(&g);
		if ((e = db_pool_checkout(app->db, &conn)) == BS_OK)
			e = generation_save(&g, conn, &version);
		if (e != BS_OK)
			generation_fail_unsaved(&g, &conn, e);
		db_pool_release(app->db, conn);
	}
	r = json_object_new_object();
	json_object_object_add(r, "generation_id", json_object_new_string(g.id));
	json_object_object_add(r, "kind", json_object_new_string(in->kind->name));
	json_object_object_add(r, "status", json_object_new_string(
	    g.code == NULL ? "done" : "failed"));
	if (g.code == NULL)
		json_object_object_add(r, "version", version);
	else {
		json_object_put(version);
		json_object_object_add(r, "code", json_object_new_string(g.code));
		json_object_object_add(r, "error", json_object_new_string(g.error));
		d = json_object_new_object();
		json_object_object_add(d, "code", json_object_new_string(g.code));
		json_object_object_add(d, "message", json_object_new_string(g.error));
		emit(&g, "error", d);
	}
	json_object_object_add(r, "notes", json_object_get(g.notes));
	/* The last event carries the result. */
	d = NULL;
	if (json_object_deep_copy(r, &d, NULL) != 0)
		d = json_object_new_object();
	json_object_object_del(d, "generation_id");
	json_object_object_del(d, "kind");
	emit(&g, "document.done", d);
	*result = r;
	e = BS_OK;
out:
	llm_call_free(&g.call);
	buf_free(&g.markdown);
	free(g.context);
	json_object_put(g.source);
	json_object_put(g.board);
	json_object_put(g.history);
	json_object_put(g.messages);
	json_object_put(g.shown);
	json_object_put(g.notes);
	return e;
}
