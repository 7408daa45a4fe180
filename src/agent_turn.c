#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "brainstorm/agent.h"
#include "brainstorm/clock.h"
#include "brainstorm/db_items.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/json.h"
#include "brainstorm/llm.h"
#include "brainstorm/log.h"
#include "brainstorm/metrics.h"
#include "brainstorm/turn.h"
#include "brainstorm/validate.h"

#define STAGE_MAX		8
#define CONTEXT_MAX		(512 * 1024)
#define REPLY_MAX		(256 * 1024)
#define CACHED_ANSWER_MAX	(256 * 1024)
#define ITEM_TEXT_MAX		300	/* bytes of an item in the context, whole characters */

/* One agent's call within a stage. */
struct agent_call {
	const struct agent	*agent;
	const struct agent_plan	*plan;
	struct llm_message	 message;
	struct llm_tool		 tool;
	struct llm_request	 req;
	struct llm_call		 call;
	char			*prompt;	/* the context message, owned */
	char			 cache_key[80];	/* "" when not cacheable */
	const char		*status;	/* ok, error, cached */
	json_object		*answer;	/* validated tool input, owned */
	char			 error[LLM_ERROR_MAX];
	long			 latency_ms;
};

struct turn {
	struct app			*app;
	const struct bs_config		*cfg;
	struct db_turn_job		 job;
	char				 owner[TURN_OWNER_MAX];	/* the lease */
	struct turn_sink		 sink;
	char				 turn_id[DB_ID_LEN];
	char				 message_id[DB_ID_LEN];
	char				*content;	/* the user's message */
	char				*context;	/* board and recent talk */
	enum intent			 intent;
	int				 confidence;
	struct buf			 reply;
	json_object			*message;	/* the stored user message */
	json_object			*items;		/* changed items */
	json_object			*questions;
	json_object			*notes;		/* what did not go to plan */
	json_object			*ids;		/* short id iN -> uuid */
	struct agent_call		 calls[2][STAGE_MAX];
	size_t				 ncalls[2];
	/* The stage running now: its calls that go to Claude, by index. */
	int				 stage;
	struct llm_call			 batch[STAGE_MAX];
	size_t				 map[STAGE_MAX], nbatch;
	double				 deadline;	/* monotonic seconds */
	bool				 reply_ok;
	bool				 over;		/* finished or given up */
};

static void
emit(struct turn *t, const char *type, json_object *data)
{
	json_object_object_add(data, "turn_id", json_object_new_string(t->turn_id));
	t->sink.emit(t->sink.arg, type, data);
	json_object_put(data);
}

static void
note(struct turn *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct turn *t, const char *fmt, ...)
{
	char	 text[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	utf8_trim(text);	/* a cut may have split a character */
	json_object_array_add(t->notes, json_object_new_string(text));
}

/*
 * The context every agent reads, in the tagged layout the prompts describe
 * (agent_registry.c): <board> with short per-turn ids (i1, i2...; models
 * copy them more reliably than uuids), then as much of <conversation> as
 * the token budget leaves (newest kept first, printed oldest first), then
 * the new <message>. The board is at most CONTEXT_ITEMS_MAX items (loaded
 * so, decided first, then the most recently changed) in half the budget;
 * board_total counts the items it would show whole, and a last line says
 * how many were left out.
 */
static bs_err
context_build(struct turn *t, json_object *board, long board_total,
    json_object *history)
{
	static const char *const states[] = { "decided", "exploring", "parked" };
	struct buf	 b;
	size_t		 budget, i, k, n, first, used, shown, held, shown_all = 0;
	json_object	*it, *m;
	const char	*text, *role;
	bs_err		 e = BS_OK;

	budget = (size_t)t->cfg->context_token_budget *
	    (size_t)t->app->plans->turn_chars_per_token;
	buf_init(&b, CONTEXT_MAX);
	e = buf_puts(&b, "<board>\n");
	n = board != NULL ? json_object_array_length(board) : 0;
	for (i = 0; i < 3 && e == BS_OK; i++) {
		e = buf_printf(&b, "%s:\n", states[i]);
		for (k = 0, shown = 0, held = 0; k < n && e == BS_OK; k++) {
			it = json_object_array_get_idx(board, k);
			if ((text = json_member_string(it, "state")) == NULL ||
			    strcmp(text, states[i]) != 0)
				continue;
			held++;
			if (b.len > budget / 2)
				continue;	/* counted in the last line */
			json_object_array_add(t->ids, json_object_new_string(json_member_string(it, "id")));
			text = json_member_string(it, "text") != NULL ? json_member_string(it, "text") : "";
			e = buf_printf(&b, "[i%zu] %.*s (confidence %ld)\n",
			    json_object_array_length(t->ids),
			    (int)utf8_prefix(text, ITEM_TEXT_MAX), text,
			    json_member_int(it, "confidence", 0));
			shown++;
		}
		if (e == BS_OK && shown == 0)
			e = buf_puts(&b, held == 0 ? "(none)\n" : "(left out)\n");
		shown_all += shown;
	}
	if (e == BS_OK && board_total > (long)shown_all)
		e = buf_printf(&b, "(%ld more items left out of %ld: decided "
		    "items come first, then the most recently changed)\n",
		    board_total - (long)shown_all, board_total);
	n = history != NULL ? json_object_array_length(history) : 0;
	used = b.len;
	for (first = n; first > 0; first--) {
		m = json_object_array_get_idx(history, first - 1);
		text = json_member_string(m, "content");
		if (used + (text != NULL ? strlen(text) : 0) + 32 > budget)
			break;
		used += (text != NULL ? strlen(text) : 0) + 32;
	}
	if (e == BS_OK)
		e = buf_puts(&b, "</board>\n<conversation>\n");
	for (i = first; i < n && e == BS_OK; i++) {
		m = json_object_array_get_idx(history, i);
		role = json_member_string(m, "role");
		e = buf_printf(&b, "%s: %s\n", role != NULL &&
		    strcmp(role, "user") == 0 ? "person" : "assistant",
		    json_member_string(m, "content"));
	}
	if (e == BS_OK)
		e = buf_printf(&b, "</conversation>\n<message>\n%s\n</message>\n",
		    t->content);
	if (e == BS_OK)
		t->context = buf_take(&b);
	buf_free(&b);
	if (e == BS_OK && t->context == NULL)
		e = BS_ERR_NOMEM;
	return e;
}

/* The uuid behind a short id of the context ("i3"), or NULL. */
static const char *
item_uuid(struct turn *t, const char *short_id)
{
	const char	*errstr;
	long long	 n;

	if (short_id == NULL || short_id[0] != 'i')
		return uuid_valid(short_id) ? short_id : NULL;
	n = bs_strtonum(short_id + 1, 1,
	    (long long)json_object_array_length(t->ids), &errstr);
	if (errstr != NULL)
		return NULL;
	return json_object_get_string(json_object_array_get_idx(t->ids,
	    (size_t)n - 1));
}

static void
reply_delta(void *arg, const char *text, size_t len)
{
	struct turn	*t = arg;
	json_object	*d;

	if (buf_append(&t->reply, text, len) != BS_OK)
		return;
	d = json_object_new_object();
	json_object_object_add(d, "text", json_object_new_string_len(text, (int)len));
	emit(t, "reply.delta", d);
}

/*
 * The request of plan's agent on prompt (owned by the call from now on),
 * shaped as the plan says the model takes it.
 */
static bs_err
call_prepare(struct turn *t, struct agent_call *c, const struct agent_plan *p,
    char *prompt)
{
	const struct agent *a = p->agent;
	struct buf	 body;
	unsigned char	 hash[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	char		 err[128];
	bs_err		 e = BS_OK;

	memset(c, 0, sizeof(*c));
	c->agent = a;
	c->plan = p;
	c->prompt = prompt;
	c->message.role = "user";
	c->message.content = prompt;
	c->req.model = p->model;
	c->req.max_tokens = p->max_tokens;
	c->req.system = a->system_prompt;
	c->req.system_cache = true;
	c->req.messages = &c->message;
	c->req.nmessages = 1;
	c->req.has_temperature = p->has_temperature;
	c->req.temperature = a->temperature;
	c->req.thinking = p->thinking;
	c->req.thinking_budget = p->thinking_budget;
	c->req.effort = p->effort;
	c->req.answer = p->answer;
	c->req.user_id = t->job.user_id;
	if (p->answer != LLM_ANSWER_TEXT) {
		c->tool.name = a->answer_name;
		c->tool.description = a->answer_description;
		c->tool.input_schema = p->schema;
		c->req.tool = &c->tool;
	} else {
		c->req.stream = true;
		c->req.on_text = reply_delta;
		c->req.on_text_arg = t;
	}
	llm_call_init(&c->call, &c->req);
	c->status = "error";
	if (!a->cacheable || t->cfg->agent_cache_ttl_s == 0 ||
	    !cache_configured(t->app->cache))
		return BS_OK;
	/*
	 * Identical deterministic calls of one person share an answer. The
	 * key is scoped by the caller: nobody learns from a cache hit what
	 * somebody else wrote.
	 */
	buf_init(&body, 4 * 1024 * 1024);
	e = llm_request_body(&c->req, &body, err, sizeof(err));
	if (e == BS_OK) {
		crypto_hash_sha256_init(&st);
		crypto_hash_sha256_update(&st, (const unsigned char *)t->job.user_id,
		    strlen(t->job.user_id) + 1);
		crypto_hash_sha256_update(&st, (const unsigned char *)body.data,
		    body.len);
		crypto_hash_sha256_final(&st, hash);
		memcpy(c->cache_key, "agent:", 6);
		sodium_bin2hex(c->cache_key + 6, sizeof(c->cache_key) - 6, hash, 32);
	} else
		log_msgf(LOG_LEVEL_ERROR, "agent %s: the request cannot be built: "
		    "%s", a->name, err);
	buf_free(&body);
	return e;
}

static void
call_free(struct agent_call *c)
{
	llm_call_free(&c->call);
	json_object_put(c->answer);
	free(c->prompt);
	memset(c, 0, sizeof(*c));
}

/* An answer from the cache, when there is a valid one. */
static bool
call_from_cache(struct turn *t, struct agent_call *c)
{
	char		*text = NULL, reason[128];
	json_object	*answer = NULL;

	if (c->cache_key[0] == '\0' || cache_get(t->app->cache, c->cache_key,
	    CACHED_ANSWER_MAX, &text) != BS_OK)
		return false;
	if (json_parse_limited(text, strlen(text), 64, &answer, reason,
	    sizeof(reason)) == BS_OK && json_schema_validate(agent_schema(c->agent),
	    answer, reason, sizeof(reason)) == BS_OK) {
		c->answer = answer;
		c->status = "cached";
	} else
		json_object_put(answer);
	free(text);
	return c->answer != NULL;
}

/* Why a call failed, in words the person can act on where there are some. */
static void
call_error(struct agent_call *c)
{
	switch (c->call.kind) {
	case LLM_ERR_SPEND_CAP:
		snprintf(c->error, sizeof(c->error), "spend_cap: the Claude "
		    "spending limit of this workspace is reached");
		break;
	case LLM_ERR_REFUSAL:
		snprintf(c->error, sizeof(c->error), "refusal: %.200s",
		    c->call.res.stop_details[0] != '\0' ?
		    c->call.res.stop_details : "the model declined to answer");
		break;
	default:
		snprintf(c->error, sizeof(c->error), "%s: %.200s",
		    llm_error_kind_name(c->call.kind), c->call.error);
	}
}

/*
 * A finished call: its answer checked against the agent's whole schema
 * (the ranges the API's schema subset cannot say included). A reply cut
 * at max_tokens keeps what the person already read; a cut structured
 * answer is an error.
 */
static void
call_conclude(struct turn *t, struct agent_call *c)
{
	const struct llm_response	*res = &c->call.res;
	char				 reason[LLM_ERROR_MAX - 32];

	c->latency_ms = c->call.latency_ms;
	if (c->agent->output == AGENT_OUTPUT_REPLY) {
		if (c->call.err == BS_OK || (c->call.kind == LLM_ERR_TRUNCATED &&
		    res->text.len > 0)) {
			c->status = "ok";
			if (c->call.kind == LLM_ERR_TRUNCATED)
				note(t, "%s: the reply was cut at %d tokens",
				    c->agent->name, c->req.max_tokens);
		} else
			call_error(c);
		return;
	}
	if (c->call.err != BS_OK) {
		call_error(c);
		return;
	}
	if (res->output == NULL) {
		snprintf(c->error, sizeof(c->error), "invalid answer: no %s",
		    c->agent->answer_name);
		return;
	}
	if (json_schema_validate(agent_schema(c->agent), res->output, reason,
	    sizeof(reason)) != BS_OK) {
		snprintf(c->error, sizeof(c->error), "invalid answer: %s", reason);
		return;
	}
	c->answer = json_object_get(res->output);
	c->status = "ok";
}

static void
agent_event(struct turn *t, const char *type, const struct agent_call *c)
{
	json_object	*d = json_object_new_object();
	json_object	*tokens;

	json_object_object_add(d, "agent", json_object_new_string(c->agent->name));
	if (strcmp(type, "agent.finished") == 0) {
		json_object_object_add(d, "status", json_object_new_string(c->status));
		json_object_object_add(d, "latency_ms",
		    json_object_new_int64(c->latency_ms));
		tokens = json_object_new_object();
		json_object_object_add(tokens, "input",
		    json_object_new_int64(c->call.res.usage.input_tokens));
		json_object_object_add(tokens, "output",
		    json_object_new_int64(c->call.res.usage.output_tokens));
		json_object_object_add(tokens, "cache_read",
		    json_object_new_int64(c->call.res.usage.cache_read_input_tokens));
		json_object_object_add(tokens, "cache_write",
		    json_object_new_int64(c->call.res.usage.cache_creation_input_tokens));
		json_object_object_add(d, "tokens", tokens);
		if (c->error[0] != '\0')
			json_object_object_add(d, "error", json_object_new_string(c->error));
	}
	emit(t, type, d);
}

/* The stage's calls that have an answer in the cache (Redis: IO). */
static void
stage_lookup(struct turn *t, int stage)
{
	size_t	 i;

	for (i = 0; i < t->ncalls[stage]; i++)
		(void)call_from_cache(t, &t->calls[stage][i]);
}

/* New answers of the stage, for identical calls to come (Redis: IO). */
static void
stage_store(struct turn *t, int stage)
{
	size_t	 i;

	for (i = 0; i < t->ncalls[stage]; i++) {
		struct agent_call *c = &t->calls[stage][i];

		if (c->cache_key[0] != '\0' && c->answer != NULL &&
		    strcmp(c->status, "ok") == 0)
			cache_set(t->app->cache, c->cache_key,
			    json_object_to_json_string_ext(c->answer,
			    JSON_C_TO_STRING_PLAIN), t->cfg->agent_cache_ttl_s);
	}
}

/* The call of a stage that produces output (one per kind in stage A). */
static struct agent_call *
call_producing(struct turn *t, int stage, enum agent_output output)
{
	size_t	 i;

	for (i = 0; i < t->ncalls[stage]; i++)
		if (t->calls[stage][i].agent->output == output)
			return &t->calls[stage][i];
	return NULL;
}

/* The array c's agent answers under its list_key, or NULL. */
static json_object *
call_list(const struct agent_call *c)
{
	json_object	*v;

	if (c == NULL || c->answer == NULL || c->agent->list_key == NULL ||
	    !json_object_object_get_ex(c->answer, c->agent->list_key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* The recorder's proposed changes. */
static json_object *
turn_changes(struct turn *t)
{
	return call_list(call_producing(t, 0, AGENT_OUTPUT_CHANGES));
}

/* Stage B's context: stage A's, the intent and the proposed changes. */
static char *
stage_b_prompt(struct turn *t)
{
	json_object	*changes = turn_changes(t);
	struct buf	 b;
	size_t		 i, n;
	char		*out = NULL;
	const char	*id;
	bs_err		 e;

	buf_init(&b, CONTEXT_MAX);
	e = buf_printf(&b, "%s<intent>\n%s (confidence %d)\n</intent>\n<changes>\n",
	    t->context, intent_name(t->intent), t->confidence);
	n = changes != NULL ? json_object_array_length(changes) : 0;
	if (e == BS_OK && n == 0)
		e = buf_puts(&b, "(none)\n");
	for (i = 0; i < n && e == BS_OK; i++) {
		json_object *ch = json_object_array_get_idx(changes, i);

		id = json_member_string(ch, "item_id");
		e = buf_printf(&b, "%zu. %s%s%s -> %s: %s\n   quote: \"%s\" "
		    "(confidence %ld)\n", i, json_member_string(ch, "action"),
		    id != NULL && *id != '\0' ? " " : "",
		    id != NULL ? id : "", json_member_string(ch, "state"), json_member_string(ch, "text"),
		    json_member_string(ch, "user_quote"), json_member_int(ch, "confidence", 0));
	}
	if (e == BS_OK)
		e = buf_puts(&b, "</changes>\n");
	if (e == BS_OK)
		out = buf_take(&b);
	buf_free(&b);
	return out;
}

static bool
name_listed(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (s != NULL && strcmp(*list, s) == 0)
			return true;
	return false;
}

/*
 * Stage B's findings, as the gate reads them; *n of them. The strings
 * point into the answers, which outlive the array.
 */
static struct gate_finding *
turn_findings(struct turn *t, size_t *n)
{
	struct gate_finding	*f = NULL, *g;
	json_object		*list, *x;
	size_t			 i, k, total = 0;

	*n = 0;
	for (i = 0; i < t->ncalls[1]; i++)
		if (t->calls[1][i].agent->output == AGENT_OUTPUT_FINDINGS &&
		    (list = call_list(&t->calls[1][i])) != NULL)
			total += json_object_array_length(list);
	if (total == 0 || (f = calloc(total, sizeof(*f))) == NULL)
		return NULL;
	for (i = 0; i < t->ncalls[1]; i++) {
		const struct agent *a = t->calls[1][i].agent;

		if (a->output != AGENT_OUTPUT_FINDINGS ||
		    (list = call_list(&t->calls[1][i])) == NULL)
			continue;
		for (k = 0; k < json_object_array_length(list) && *n < total; k++) {
			x = json_object_array_get_idx(list, k);
			g = &f[(*n)++];
			g->change_index = json_member_int(x, "change_index", -1);
			g->severity = json_member_string(x, "severity");
			g->kind_holds = a->hold_kinds == NULL ||
			    name_listed(a->hold_kinds, json_member_string(x, "kind"));
			g->agent = a->name;
			g->says = a->finding_says;
			g->explanation = json_member_string(x, "explanation");
		}
	}
	return f;
}

/* Apply one recorder change the gate let through; it joins t->items. */
static bs_err
change_apply(struct turn *t, struct db_conn *conn, json_object *ch, size_t i,
    const struct gate_finding *findings, size_t nfindings)
{
	struct db_item_actor	 actor = { 0 };
	struct db_item_new	 add = { 0 };
	struct db_item_patch	 patch = { 0 };
	json_object		*item = NULL, *current = NULL;
	const char		*action = json_member_string(ch, "action"), *state = json_member_string(ch, "state");
	const char		*quote = json_member_string(ch, "user_quote");
	const char		*id = item_uuid(t, json_member_string(ch, "item_id"));
	char			 reason[1024];
	enum gate_verdict	 verdict;
	bs_err			 e;

	verdict = agent_gate(t->content, i, state, quote, findings, nfindings,
	    reason, sizeof(reason));
	utf8_trim(reason);
	if (verdict == GATE_DROP) {
		note(t, "recorder: change %zu dropped: %s", i, reason);
		return BS_OK;
	}
	if (verdict == GATE_HOLD)
		state = "exploring";
	actor.name = "recorder";
	actor.history_max = t->cfg->item_events_max_per_project;
	actor.reason = verdict == GATE_HOLD ? reason : NULL;
	actor.turn_id = t->turn_id;
	actor.message_id = t->message_id;
	if (strcmp(action, "add") == 0) {
		add.text = json_member_string(ch, "text");
		add.state = state;
		add.user_quote = quote;
		add.source_message_id = t->message_id;
		add.confidence = (int)json_member_int(ch, "confidence", 50);
		add.max_items = t->cfg->items_max_per_project;
		e = db_item_create(conn, t->job.project_id, &add, &actor, &item);
		if (e == BS_ERR_TOO_LARGE) {
			note(t, "recorder: change %zu skipped: the board holds %ld "
			    "items, its limit", i, add.max_items);
			return BS_OK;
		}
	} else {
		if (id == NULL || db_item_get(conn, t->job.project_id, id,
		    &current) != BS_OK) {
			note(t, "recorder: change %zu dropped: no item %s on the board",
			    i, json_member_string(ch, "item_id") != NULL ? json_member_string(ch, "item_id") : "");
			return BS_OK;
		}
		patch.state = state;
		if (strcmp(action, "modify") == 0)
			patch.text = json_member_string(ch, "text");
		e = db_item_update(conn, t->job.project_id, id,
		    json_member_int(current, "version", 0), &patch, &actor, &item);
		json_object_put(current);
		if (e == BS_ERR_CONFLICT) {
			note(t, "recorder: change %zu skipped: the item changed meanwhile", i);
			json_object_put(item);
			return BS_OK;
		}
	}
	if (e == BS_OK)
		json_object_array_add(t->items, item);
	return e;
}

/* The recorder's changes, each through the gate, then onto the board. */
static bs_err
changes_apply(struct turn *t, struct db_conn *conn)
{
	json_object		*changes = turn_changes(t);
	struct gate_finding	*findings;
	size_t			 i, n = 0;
	bs_err			 e = BS_OK;

	if (changes == NULL)
		return BS_OK;
	findings = turn_findings(t, &n);
	for (i = 0; i < json_object_array_length(changes) && e == BS_OK; i++)
		e = change_apply(t, conn, json_object_array_get_idx(changes, i), i,
		    findings, n);
	free(findings);
	return e;
}

/* A QUESTIONS agent's questions, each its own message of the turn. */
static bs_err
questions_add(struct turn *t, struct db_conn *conn, const struct agent_call *c)
{
	json_object	*list = call_list(c), *q, *msg;
	const char	*severity;
	size_t		 i;
	bs_err		 e = BS_OK;

	for (i = 0; list != NULL && i < json_object_array_length(list) &&
	    e == BS_OK; i++) {
		q = json_object_array_get_idx(list, i);
		severity = json_member_string(q, "severity");
		if (c->agent->ask_severities != NULL &&
		    !name_listed(c->agent->ask_severities, severity))
			continue;
		e = db_message_add(conn, t->job.project_id, t->turn_id,
		    c->agent->name, json_member_string(q, "question"), &msg);
		if (e != BS_OK)
			break;
		if (severity != NULL)
			json_object_object_add(msg, "severity",
			    json_object_new_string(severity));
		json_object_array_add(t->questions, msg);
	}
	return e;
}

/* Questions and written results of stage B become messages of the turn. */
static bs_err
stage_b_messages(struct turn *t, struct db_conn *conn)
{
	struct buf	 b;
	size_t		 i;
	bs_err		 e = BS_OK;

	buf_init(&b, CONTEXT_MAX);
	for (i = 0; i < t->ncalls[1] && e == BS_OK; i++) {
		struct agent_call *c = &t->calls[1][i];

		if (c->answer == NULL)
			continue;
		switch (c->agent->output) {
		case AGENT_OUTPUT_QUESTIONS:
			e = questions_add(t, conn, c);
			break;
		case AGENT_OUTPUT_MESSAGE:
			buf_reset(&b);
			if (c->agent->render != NULL)
				e = c->agent->render(c->agent, c->answer, &b);
			if (e == BS_OK && b.len > 0)
				e = db_message_add(conn, t->job.project_id,
				    t->turn_id, c->agent->name, buf_cstr(&b), NULL);
			break;
		default:
			break;	/* findings work through the gate */
		}
	}
	buf_free(&b);
	return e;
}

/* Every call of both stages, one statement. */
static bs_err
runs_record(struct turn *t, struct db_conn *conn)
{
	struct db_agent_run	 runs[2 * STAGE_MAX], *r;
	size_t			 s, i, n = 0;

	memset(runs, 0, sizeof(runs));
	for (s = 0; s < 2; s++) {
		for (i = 0; i < t->ncalls[s] && n < 2 * STAGE_MAX; i++) {
			struct agent_call *c = &t->calls[s][i];

			r = &runs[n++];
			r->agent = c->agent->name;
			r->model = c->req.model;
			r->status = c->status;
			r->latency_ms = c->latency_ms;
			r->attempts = c->call.attempts;
			r->input_tokens = c->call.res.usage.input_tokens;
			r->output_tokens = c->call.res.usage.output_tokens;
			r->cache_read_tokens = c->call.res.usage.cache_read_input_tokens;
			r->cache_write_tokens = c->call.res.usage.cache_creation_input_tokens;
			r->cache_write_1h_tokens = c->call.res.usage.cache_creation_1h_tokens;
			r->thinking_tokens = c->call.res.usage.thinking_tokens;
			r->stop_reason = c->call.res.stop_reason;
			r->error = c->error[0] != '\0' ? c->error : NULL;
		}
	}
	return db_agent_runs_add(conn, DB_RUNS_OF_TURN, t->turn_id,
	    t->job.project_id, t->job.user_id, runs, n);
}

/*
 * Everything the turn decided, in one transaction. error is NULL when the
 * reply came; otherwise the turn is stored failed with it.
 */
static bs_err
turn_apply(struct turn *t, struct db_conn *conn, const char *error,
    json_object **reply_message)
{
	bs_err		 e;

	*reply_message = NULL;
	if ((e = db_command(conn, "BEGIN")) != BS_OK)
		return e;
	/* Another engine took the turn over: it saves it, not this one. */
	if ((e = db_turn_hold(conn, t->turn_id, t->owner)) != BS_OK)
		goto out;
	if (error == NULL) {
		e = changes_apply(t, conn);
		if (e == BS_OK)
			e = db_message_add(conn, t->job.project_id, t->turn_id,
			    "conversation", buf_cstr(&t->reply), reply_message);
		if (e == BS_OK)
			e = stage_b_messages(t, conn);
	}
	if (e == BS_OK)
		e = runs_record(t, conn);
	if (e == BS_OK)
		e = db_turn_finish(conn, t->turn_id, intent_name(t->intent),
		    t->confidence, error == NULL ? "done" : "failed", error,
		    t->notes);
	if (e == BS_OK)
		e = db_command(conn, "COMMIT");
out:
	if (e != BS_OK) {
		db_command(conn, "ROLLBACK");
		json_object_put(*reply_message);
		*reply_message = NULL;
	}
	return e;
}

/* Load the board and the recent messages, then build the context. */
static bs_err
turn_context(struct turn *t, struct db_conn *conn)
{
	json_object	*board = NULL, *history = NULL;
	long		 total = 0;
	bs_err		 e;

	if ((e = db_items_context(conn, t->job.project_id,
	    (int)t->cfg->context_items_max, &board, &total)) == BS_OK &&
	    (e = db_messages_recent(conn, t->job.project_id, t->message_id,
	    (int)t->cfg->context_messages, &history)) == BS_OK)
		e = context_build(t, board, total, history);
	json_object_put(board);
	json_object_put(history);
	return e;
}

static bs_err
stage_a_prepare(struct turn *t)
{
	size_t	 i;
	char	*prompt;
	bs_err	 e = BS_OK;

	for (i = 0; i < agent_count && e == BS_OK; i++) {
		if (agent_table[i].stage != AGENT_STAGE_A || t->ncalls[0] == STAGE_MAX)
			continue;
		if ((prompt = strdup(t->context)) == NULL)
			return BS_ERR_NOMEM;
		e = call_prepare(t, &t->calls[0][t->ncalls[0]++],
		    &t->app->plans->plan[i], prompt);
	}
	return e;
}

static bs_err
stage_b_prepare(struct turn *t)
{
	size_t	 i;
	char	*prompt;
	bs_err	 e = BS_OK;

	for (i = 0; i < agent_count && e == BS_OK; i++) {
		if (agent_table[i].stage != AGENT_STAGE_B ||
		    !(agent_table[i].intents & INTENT_BIT(t->intent)) ||
		    t->ncalls[1] == STAGE_MAX)
			continue;
		if ((prompt = stage_b_prompt(t)) == NULL)
			return BS_ERR_NOMEM;
		e = call_prepare(t, &t->calls[1][t->ncalls[1]++],
		    &t->app->plans->plan[i], prompt);
	}
	return e;
}

/* The intent from the context manager, or "general" without one. */
static void
turn_intent(struct turn *t)
{
	struct agent_call	*c = call_producing(t, 0, AGENT_OUTPUT_INTENT);

	t->intent = INTENT_GENERAL;
	t->confidence = 0;
	if (c == NULL || c->answer == NULL ||
	    intent_parse(json_member_string(c->answer, "intent"), &t->intent) != BS_OK) {
		note(t, "context_manager: no intent; the turn runs as general");
		return;
	}
	t->confidence = (int)json_member_int(c->answer, "confidence", 0);
}

/* The events after the transaction: what changed, what is asked, the end. */
static void
turn_announce(struct turn *t, const char *status, const char *code,
    const char *error)
{
	json_object	*d;
	size_t		 i;

	if (json_object_array_length(t->items) > 0) {
		d = json_object_new_object();
		json_object_object_add(d, "actor", json_object_new_string("recorder"));
		json_object_object_add(d, "items", json_object_get(t->items));
		json_object_object_add(d, "removed", json_object_new_array());
		emit(t, "items.changed", d);
	}
	for (i = 0; i < json_object_array_length(t->questions); i++) {
		d = json_object_new_object();
		json_object_object_add(d, "message",
		    json_object_get(json_object_array_get_idx(t->questions, i)));
		emit(t, "question", d);
	}
	if (error != NULL) {
		d = json_object_new_object();
		json_object_object_add(d, "code", json_object_new_string(code));
		json_object_object_add(d, "message", json_object_new_string(error));
		emit(t, "error", d);
	}
	d = json_object_new_object();
	json_object_object_add(d, "status", json_object_new_string(status));
	json_object_object_add(d, "intent",
	    json_object_new_string(intent_name(t->intent)));
	json_object_object_add(d, "confidence", json_object_new_int(t->confidence));
	json_object_object_add(d, "notes", json_object_get(t->notes));
	emit(t, "turn.done", d);
}

/*
 * Why the reply did not come, for the person: a refusal and a spending
 * limit are said as such (with the code the web app shows them by).
 */
static const char *
turn_failure(const struct agent_call *reply, char *error, size_t len)
{
	if (reply == NULL) {
		snprintf(error, len, "The turn could not be prepared.");
		return "turn_failed";
	}
	switch (reply->call.kind) {
	case LLM_ERR_REFUSAL:
		snprintf(error, len, "Claude declined to answer this message%s%s%s",
		    reply->call.res.stop_details[0] != '\0' ? " (" : "",
		    reply->call.res.stop_details,
		    reply->call.res.stop_details[0] != '\0' ? ")." : ".");
		return "refused";
	case LLM_ERR_SPEND_CAP:
		snprintf(error, len, "The Claude spending limit of this workspace "
		    "is reached, so no agent could answer. Your message is saved: "
		    "retry the turn once an operator has raised the limit.");
		return "spend_cap";
	case LLM_ERR_NOT_FOUND:
		snprintf(error, len, "The model that writes the replies here "
		    "(%s) is no longer available from Claude, so no reply could "
		    "be produced. Your message is saved: retry the turn once an "
		    "operator has changed the model.", reply->req.model);
		return "model_unavailable";
	default:
		snprintf(error, len, "The reply could not be produced (%s).",
		    reply->error);
		return "turn_failed";
	}
}

/*
 * The turn's results could not be saved: mark it failed, on a fresh
 * connection when its own broke, so that it does not stay running until
 * it goes stale. Logged either way.
 */
static void
turn_fail_unsaved(struct turn *t, struct db_conn **conn, bs_err why,
    const char *error)
{
	bs_err	 e = BS_ERR_DB_UNAVAILABLE;
	int	 attempt;

	log_msgf(LOG_LEVEL_ERROR, "turn %s: the results could not be saved: %s",
	    t->turn_id, bs_strerror(why));
	for (attempt = 0; attempt < 2 && e != BS_OK; attempt++) {
		if (attempt > 0) {
			db_pool_release(t->app->db, *conn);	/* drops a broken one */
			*conn = NULL;
			if (db_pool_checkout(t->app->db, conn) != BS_OK)
				break;
		}
		if (*conn != NULL)
			e = db_turn_finish(*conn, t->turn_id, intent_name(t->intent),
			    t->confidence, "failed", error, t->notes);
	}
	if (e != BS_OK)
		log_msgf(LOG_LEVEL_ERROR, "turn %s: could not be marked failed "
		    "either (%s); it fails as stale after TURN_STALE_AFTER",
		    t->turn_id, bs_strerror(e));
}

bs_err
turn_new(struct app *app, const struct db_turn_job *job, const char *owner,
    const struct turn_sink *sink, struct turn **out)
{
	struct turn	*t;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return BS_ERR_NOMEM;
	t->app = app;
	t->cfg = app->cfg;
	t->job = *job;
	snprintf(t->owner, sizeof(t->owner), "%s", owner);
	t->sink = *sink;
	snprintf(t->turn_id, sizeof(t->turn_id), "%s", job->turn_id);
	snprintf(t->message_id, sizeof(t->message_id), "%s", job->message_id);
	t->intent = INTENT_GENERAL;
	buf_init(&t->reply, REPLY_MAX);
	t->items = json_object_new_array();
	t->questions = json_object_new_array();
	t->notes = json_object_new_array();
	t->ids = json_object_new_array();
	t->deadline = bs_monotonic_s() +
	    (double)t->cfg->turn_budget_ms / 1000.0;
	*out = t;
	return BS_OK;
}

void
turn_free(struct turn *t)
{
	size_t	 s, i;

	if (t == NULL)
		return;
	for (s = 0; s < 2; s++)
		for (i = 0; i < t->ncalls[s]; i++)
			call_free(&t->calls[s][i]);
	buf_free(&t->reply);
	free(t->content);
	free(t->context);
	json_object_put(t->message);
	json_object_put(t->items);
	json_object_put(t->questions);
	json_object_put(t->notes);
	json_object_put(t->ids);
	free(t);
}

const char *
turn_id(const struct turn *t)
{
	return t->turn_id;
}

bool
turn_over(const struct turn *t)
{
	return t->over;
}

int
turn_stage(const struct turn *t)
{
	return t->stage;
}

/*
 * The turn cannot go on before any agent ran (no message, no context, no
 * account): it is stored failed with why, and the person reads it.
 */
static void
turn_give_up(struct turn *t, struct db_conn **conn, const char *why)
{
	bs_err	 e = BS_ERR_DB_UNAVAILABLE;

	t->over = true;
	if (*conn != NULL) {
		if ((e = db_command(*conn, "BEGIN")) == BS_OK &&
		    (e = db_turn_hold(*conn, t->turn_id, t->owner)) == BS_OK &&
		    (e = db_turn_finish(*conn, t->turn_id, intent_name(t->intent),
		    0, "failed", why, t->notes)) == BS_OK)
			e = db_command(*conn, "COMMIT");
		if (e != BS_OK)
			db_command(*conn, "ROLLBACK");
	}
	if (e == BS_ERR_CONFLICT)
		return;		/* another engine has it now */
	if (e != BS_OK) {
		turn_fail_unsaved(t, conn, e, why);
		return;
	}
	metrics_turn(intent_name(t->intent), "failed");
	turn_announce(t, "failed", "turn_failed", why);
}

bs_err
turn_begin(struct turn *t)
{
	struct db_conn	*conn = NULL;
	json_object	*d;
	bs_err		 e;

	if ((e = db_pool_checkout(t->app->db, &conn)) != BS_OK) {
		/* The lease runs out and an engine tries again. */
		t->over = true;
		return e;
	}
	if (t->job.user_id[0] == '\0') {
		turn_give_up(t, &conn, "The account that asked for this turn "
		    "no longer exists.");
		goto out;
	}
	if (t->job.runs > TURN_MAX_RUNS) {
		turn_give_up(t, &conn, "The turn was interrupted too many times "
		    "(its engine stopped each time); retry it.");
		goto out;
	}
	if ((e = db_message_get(conn, t->message_id, &t->message)) != BS_OK ||
	    (t->content = strdup(json_member_string(t->message, "content"))) ==
	    NULL || (e = turn_context(t, conn)) != BS_OK) {
		log_msgf(LOG_LEVEL_WARN, "turn %s: the conversation could not be "
		    "loaded: %s", t->turn_id, bs_strerror(e));
		turn_give_up(t, &conn, "The conversation could not be loaded.");
		goto out;
	}
	d = json_object_new_object();
	json_object_object_add(d, "message", json_object_get(t->message));
	/* A turn another engine began is begun again: the reply restarts. */
	json_object_object_add(d, "retry", json_object_new_boolean(t->job.retry ||
	    t->job.runs > 1));
	emit(t, "turn.started", d);
	if ((e = stage_a_prepare(t)) != BS_OK) {
		log_msgf(LOG_LEVEL_ERROR, "turn %s: stage A could not be prepared: "
		    "%s", t->turn_id, bs_strerror(e));
		turn_give_up(t, &conn, "The turn could not be prepared.");
		goto out;
	}
	stage_lookup(t, 0);
out:
	db_pool_release(t->app->db, conn);
	return BS_OK;
}

size_t
turn_stage_calls(struct turn *t, struct llm_call **calls, long *deadline_ms)
{
	double	 left;
	size_t	 i;

	t->nbatch = 0;
	for (i = 0; i < t->ncalls[t->stage]; i++) {
		struct agent_call *c = &t->calls[t->stage][i];

		agent_event(t, "agent.started", c);
		if (strcmp(c->status, "cached") == 0)
			continue;
		t->map[t->nbatch] = i;
		t->batch[t->nbatch++] = c->call;
	}
	left = (t->deadline - bs_monotonic_s()) * 1000.0;
	*deadline_ms = left > 1 ? (long)left : 1;
	*calls = t->batch;
	return t->nbatch;
}

void
turn_stage_end(struct turn *t)
{
	struct agent_call	*reply;
	json_object		*d;
	size_t			 i;
	bs_err			 e;

	for (i = 0; i < t->nbatch; i++)
		t->calls[t->stage][t->map[i]].call = t->batch[i];
	t->nbatch = 0;
	for (i = 0; i < t->ncalls[t->stage]; i++) {
		struct agent_call *c = &t->calls[t->stage][i];

		if (strcmp(c->status, "cached") != 0)
			call_conclude(t, c);
		metrics_agent_run(c->agent->name, c->status,
		    (double)c->latency_ms / 1000.0);
		agent_event(t, "agent.finished", c);
	}
	if (t->stage == 1)
		return;
	/* After stage A: the reply, the intent, and stage B's calls. */
	reply = call_producing(t, 0, AGENT_OUTPUT_REPLY);
	t->reply_ok = reply != NULL && strcmp(reply->status, "ok") == 0;
	t->stage = 1;
	if (!t->reply_ok)
		return;
	d = json_object_new_object();
	json_object_object_add(d, "text", json_object_new_string(buf_cstr(&t->reply)));
	emit(t, "reply.done", d);
	turn_intent(t);
	if ((e = stage_b_prepare(t)) != BS_OK)
		log_msgf(LOG_LEVEL_ERROR, "turn %s: stage B could not be "
		    "prepared: %s", t->turn_id, bs_strerror(e));
}

void
turn_middle(struct turn *t)
{
	stage_store(t, 0);
	stage_lookup(t, 1);
}

void
turn_end(struct turn *t)
{
	struct db_conn	*conn = NULL;
	json_object	*reply_message = NULL;
	const char	*status, *code = "turn_failed";
	char		 error[LLM_STOP_DETAILS_MAX + LLM_ERROR_MAX];
	size_t		 s, i;
	bs_err		 e;

	t->over = true;
	stage_store(t, 1);
	for (s = 0; s < 2; s++)
		for (i = 0; i < t->ncalls[s]; i++)
			if (strcmp(t->calls[s][i].status, "error") == 0)
				note(t, "%s failed: %s", t->calls[s][i].agent->name,
				    t->calls[s][i].error);
	if (!t->reply_ok)
		code = turn_failure(call_producing(t, 0, AGENT_OUTPUT_REPLY),
		    error, sizeof(error));
	if ((e = db_pool_checkout(t->app->db, &conn)) == BS_OK)
		e = turn_apply(t, conn, t->reply_ok ? NULL : error, &reply_message);
	if (e == BS_ERR_CONFLICT) {
		log_msgf(LOG_LEVEL_WARN, "turn %s: another engine took it over; "
		    "this run's results are dropped", t->turn_id);
		goto out;
	}
	if (e != BS_OK) {
		/* The changes are lost; the turn at least says so. */
		snprintf(error, sizeof(error), "The turn's results could not be saved "
		    "(%s).", bs_strerror(e));
		code = "turn_failed";
		t->reply_ok = false;
		turn_fail_unsaved(t, &conn, e, error);
		json_object_put(t->items);
		t->items = json_object_new_array();
	}
	status = t->reply_ok ? "done" : "failed";
	metrics_turn(intent_name(t->intent), status);
	turn_announce(t, status, code, t->reply_ok ? NULL : error);
out:
	json_object_put(reply_message);
	db_pool_release(t->app->db, conn);
}
