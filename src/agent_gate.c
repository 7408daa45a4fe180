/*
 * The gate of a turn (PRODUCT.md section 4): a board change stands on the
 * person's own words, and a decision that stage B found a serious problem
 * with waits in exploring. A pure function, tested by tables in
 * tests/unit/check_gate.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "brainstorm/agent.h"

static const char *const verdict_names[] = {
	[GATE_KEEP] = "keep",
	[GATE_HOLD] = "hold",
	[GATE_DROP] = "drop",
};

const char *
gate_verdict_name(enum gate_verdict v)
{
	if ((unsigned)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "unknown";
	return verdict_names[v];
}

/* Medium and above hold; anything unknown is taken at its word: it does not. */
static bool
severity_holds(const char *s)
{
	return s != NULL && (strcmp(s, "medium") == 0 ||
	    strcmp(s, "high") == 0 || strcmp(s, "critical") == 0);
}

enum gate_verdict
agent_gate(const char *message, size_t index, const char *state,
    const char *quote, const struct gate_finding *f, size_t nf,
    char *reason, size_t reasonlen)
{
	size_t	 i;

	if (reasonlen > 0)
		reason[0] = '\0';
	if (message == NULL || quote == NULL || quote[0] == '\0' ||
	    strstr(message, quote) == NULL) {
		snprintf(reason, reasonlen, "its quote is not in the message");
		return GATE_DROP;
	}
	if (state == NULL || strcmp(state, "decided") != 0)
		return GATE_KEEP;
	for (i = 0; i < nf; i++) {
		if (f[i].change_index < 0 || (size_t)f[i].change_index != index ||
		    !f[i].kind_holds || !severity_holds(f[i].severity))
			continue;
		snprintf(reason, reasonlen, "Held in exploring: %s (%s): %s",
		    f[i].says != NULL ? f[i].says : "a finding",
		    f[i].agent != NULL ? f[i].agent : "an agent",
		    f[i].explanation != NULL ? f[i].explanation : "");
		return GATE_HOLD;
	}
	return GATE_KEEP;
}
