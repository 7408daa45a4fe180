/* The agents: what each does (GET /api/agents), and a project's runs of them. */
#include "config.h"

#include "brainstorm/agent.h"
#include "brainstorm/api.h"
#include "brainstorm/app.h"
#include "brainstorm/db_turns.h"
#include "brainstorm/validate.h"

#define ACTIVITY_LIMIT_DEFAULT	100
enum { ACTIVITY_Q_LIMIT };
static const struct field_rule activity_query_rules[] = {
	[ACTIVITY_Q_LIMIT] =	{ "limit", FIELD_INT, false, 1, 500, NULL },
};
#define ACTIVITY_Q_NRULES \
	(sizeof(activity_query_rules) / sizeof(activity_query_rules[0]))

void
api_agents_list(struct http_ctx *ctx)
{
	static const char *const stages[] = { "A", "B", "document" };
	static const char *const outputs[] = {
		[AGENT_OUTPUT_REPLY] = "reply",
		[AGENT_OUTPUT_INTENT] = "intent",
		[AGENT_OUTPUT_CHANGES] = "changes",
		[AGENT_OUTPUT_FINDINGS] = "findings",
		[AGENT_OUTPUT_QUESTIONS] = "questions",
		[AGENT_OUTPUT_MESSAGE] = "message",
		[AGENT_OUTPUT_DOCUMENT] = "document",
	};
	json_object	*body, *list, *a, *wf;
	const struct bs_config *cfg = ctx->app->cfg;
	const struct agent_plan *p;
	size_t		 i;
	int		 k;

	list = json_object_new_array();
	for (i = 0; i < agent_count; i++) {
		p = &ctx->app->plans->plan[i];
		a = json_object_new_object();
		json_object_object_add(a, "name", json_object_new_string(agent_table[i].name));
		json_object_object_add(a, "role", json_object_new_string(agent_table[i].role));
		json_object_object_add(a, "stage",
		    json_object_new_string(stages[agent_table[i].stage]));
		json_object_object_add(a, "produces",
		    json_object_new_string(outputs[agent_table[i].output]));
		if (agent_table[i].document != NULL)
			json_object_object_add(a, "document",
			    json_object_new_string(agent_table[i].document));
		json_object_object_add(a, "model", json_object_new_string(p->model));
		json_object_object_add(a, "max_tokens",
		    json_object_new_int(p->max_tokens));
		json_object_object_add(a, "thinking", json_object_new_string(
		    llm_thinking_name(p->thinking)));
		if (p->effort != NULL)
			json_object_object_add(a, "effort",
			    json_object_new_string(p->effort));
		json_object_object_add(a, "cacheable",
		    json_object_new_boolean(agent_table[i].cacheable));
		wf = json_object_new_array();
		for (k = 0; k < INTENT__COUNT; k++)
			if (agent_table[i].intents & INTENT_BIT(k))
				json_object_array_add(wf,
				    json_object_new_string(intent_name((enum intent)k)));
		json_object_object_add(a, "workflows", wf);
		json_object_array_add(list, a);
	}
	body = json_object_new_object();
	json_object_object_add(body, "agents", list);
	json_object_object_add(body, "demo_model",
	    json_object_new_boolean(cfg->claude_api_key[0] == '\0'));
	http_respond_json(ctx, 200, body);
}

void
api_activity_list(struct http_ctx *ctx)
{
	struct db_conn	*conn = NULL;
	json_object	*list = NULL, *body;
	struct field_value q[ACTIVITY_Q_NRULES];
	bs_err		 e;

	if (!api_query_valid(ctx, activity_query_rules, ACTIVITY_Q_NRULES, q))
		return;
	if ((e = db_pool_checkout(ctx->app->db, &conn)) == BS_OK)
		e = db_activity_list(conn, ctx->req.project_id,
		    q[ACTIVITY_Q_LIMIT].present ? (int)q[ACTIVITY_Q_LIMIT].num :
		    ACTIVITY_LIMIT_DEFAULT, &list);
	if (e != BS_OK)
		api_respond_db_error(ctx, e);
	else {
		body = json_object_new_object();
		json_object_object_add(body, "runs", list);
		http_respond_json(ctx, 200, body);
	}
	db_pool_release(ctx->app->db, conn);
}
