/*
 * The gate (src/agent_gate.c): what a turn keeps, holds or drops of the
 * recorder's changes, as a table of cases. Each row is one change against
 * one message and stage B's findings.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/agent.h"

#define MESSAGE	"We will use PostgreSQL. Maybe a mobile app later! " \
		"Мы выберем Redis для кэша."

static const struct gate_finding conflict_high = {
	0, "high", true, "consistency_guardian", "conflicts with a decision",
	"It contradicts the decided SQLite item."
};
static const struct gate_finding conflict_medium = {
	0, "medium", true, "consistency_guardian", "conflicts with a decision",
	"Partly overlaps the cache decision."
};
static const struct gate_finding conflict_low = {
	0, "low", true, "consistency_guardian", "conflicts with a decision",
	"Minor wording overlap."
};
static const struct gate_finding vague_high = {
	0, "high", false, "quality_auditor", "rests on an unverified assumption",
	"Vague wording."
};
static const struct gate_finding assumption_medium_other = {
	1, "medium", true, "quality_auditor",
	"rests on an unverified assumption", "Assumes traffic."
};
static const struct gate_finding assumption_critical = {
	0, "critical", true, "quality_auditor",
	"rests on an unverified assumption", "Assumes the team knows it."
};
static const struct gate_finding unknown_severity = {
	0, "severe", true, "quality_auditor",
	"rests on an unverified assumption", "Unknown words hold nothing."
};
static const struct gate_finding negative_index = {
	-1, "high", true, "consistency_guardian", "conflicts with a decision",
	"Between two proposals."
};

static const struct {
	const char			*name;
	size_t				 index;
	const char			*state, *quote;
	const struct gate_finding	*findings[3];
	enum gate_verdict		 verdict;
	const char			*reason_has;	/* NULL: no reason */
} cases[] = {
	{ "decided, no findings", 0, "decided", "We will use PostgreSQL.",
	  { NULL }, GATE_KEEP, NULL },
	{ "exploring is never held", 0, "exploring", "We will use PostgreSQL.",
	  { &conflict_high }, GATE_KEEP, NULL },
	{ "parked is never held", 0, "parked", "Maybe a mobile app later!",
	  { &conflict_high }, GATE_KEEP, NULL },
	{ "high conflict holds", 0, "decided", "We will use PostgreSQL.",
	  { &conflict_high }, GATE_HOLD, "conflicts with a decision" },
	{ "medium conflict holds", 0, "decided", "We will use PostgreSQL.",
	  { &conflict_medium }, GATE_HOLD, "Partly overlaps" },
	{ "low conflict does not", 0, "decided", "We will use PostgreSQL.",
	  { &conflict_low }, GATE_KEEP, NULL },
	{ "a kind that does not hold", 0, "decided", "We will use PostgreSQL.",
	  { &vague_high }, GATE_KEEP, NULL },
	{ "another change's finding", 0, "decided", "We will use PostgreSQL.",
	  { &assumption_medium_other }, GATE_KEEP, NULL },
	{ "its own finding", 1, "decided", "Maybe a mobile app later!",
	  { &conflict_high, &assumption_medium_other }, GATE_HOLD,
	  "Assumes traffic" },
	{ "critical holds", 0, "decided", "We will use PostgreSQL.",
	  { &assumption_critical }, GATE_HOLD, "quality_auditor" },
	{ "unknown severity does not", 0, "decided", "We will use PostgreSQL.",
	  { &unknown_severity }, GATE_KEEP, NULL },
	{ "negative index matches nothing", 0, "decided",
	  "We will use PostgreSQL.", { &negative_index }, GATE_KEEP, NULL },
	{ "first holding finding wins", 0, "decided", "We will use PostgreSQL.",
	  { &conflict_low, &conflict_medium, &conflict_high }, GATE_HOLD,
	  "Partly overlaps" },
	{ "quote not in the message", 0, "decided", "We will use MySQL.",
	  { NULL }, GATE_DROP, "not in the message" },
	{ "a paraphrase is dropped", 0, "exploring", "we will use postgresql",
	  { NULL }, GATE_DROP, "not in the message" },
	{ "empty quote", 0, "exploring", "", { NULL }, GATE_DROP,
	  "not in the message" },
	{ "no quote", 0, "decided", NULL, { NULL }, GATE_DROP,
	  "not in the message" },
	{ "dropped before held", 0, "decided", "We will use SQLite.",
	  { &conflict_high }, GATE_DROP, "not in the message" },
	{ "a part of a sentence", 0, "exploring", "a mobile app", { NULL },
	  GATE_KEEP, NULL },
	{ "non-ASCII quote", 0, "decided", "Мы выберем Redis",
	  { &conflict_high }, GATE_HOLD, "SQLite" },
	{ "no state", 0, NULL, "We will use PostgreSQL.", { &conflict_high },
	  GATE_KEEP, NULL },
};

START_TEST(test_gate_table)
{
	struct gate_finding	 f[3];
	char			 reason[512];
	size_t			 n = 0, k;
	enum gate_verdict	 v;

	for (k = 0; k < 3 && cases[_i].findings[k] != NULL; k++)
		f[n++] = *cases[_i].findings[k];
	v = agent_gate(MESSAGE, cases[_i].index, cases[_i].state,
	    cases[_i].quote, f, n, reason, sizeof(reason));
	ck_assert_msg(v == cases[_i].verdict, "%s: %s, wanted %s",
	    cases[_i].name, gate_verdict_name(v),
	    gate_verdict_name(cases[_i].verdict));
	if (cases[_i].reason_has == NULL)
		ck_assert_msg(reason[0] == '\0', "%s: reason %s", cases[_i].name,
		    reason);
	else
		ck_assert_msg(strstr(reason, cases[_i].reason_has) != NULL,
		    "%s: reason %s", cases[_i].name, reason);
}
END_TEST

/* A small reason buffer is cut, never overrun; none at all is fine too. */
START_TEST(test_gate_reason_buffer)
{
	char	 small[8];

	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(agent_gate(MESSAGE, 0, "decided",
	    "We will use PostgreSQL.", &conflict_high, 1, small, sizeof(small)),
	    GATE_HOLD);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(agent_gate(MESSAGE, 0, "decided", "nope", NULL, 0,
	    NULL, 0), GATE_DROP);
	ck_assert_str_eq(gate_verdict_name((enum gate_verdict)7), "unknown");
}
END_TEST

static Suite *
gate_suite(void)
{
	Suite	*s = suite_create("gate");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_gate_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_gate_reason_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(gate_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
