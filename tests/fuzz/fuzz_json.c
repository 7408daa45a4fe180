/*
 * libFuzzer harness for JSON bodies: json_parse_limited as every request
 * body and every model answer goes through it, then the agents' schema
 * check on whatever parsed (json_schema_validate against each agent's
 * answer schema).
 * Build: ./configure CC=clang --enable-fuzzing && make tests/fuzz/fuzz_json
 * Run:   tests/fuzz/fuzz_json -max_total_time=60 tests/fuzz/corpus_json
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "brainstorm/agent.h"
#include "brainstorm/json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object	*obj = NULL;
	char		 reason[256], err[256];
	size_t		 i;

	if (json_parse_limited((const char *)data, size, 32, &obj, reason,
	    sizeof(reason)) != BS_OK) {
		if (obj != NULL || reason[0] == '\0')
			abort();	/* a failure always says why, and leaks nothing */
		return 0;
	}
	for (i = 0; i < agent_count; i++) {
		if (agent_schema(&agent_table[i]) == NULL)
			continue;
		err[0] = '\0';
		if (json_schema_validate(agent_schema(&agent_table[i]), obj, err,
		    sizeof(err)) != BS_OK && err[0] == '\0')
			abort();
	}
	json_object_put(obj);
	return 0;
}
