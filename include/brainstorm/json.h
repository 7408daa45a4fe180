/*
 * JSON in and out, and the UTF-8 it is made of: the bounded parser of
 * untrusted text (json_parse.c), typed getters and owning setters, and the
 * JSON Schema subset the agents' answers are checked against
 * (json_schema.c). json-c objects stay in the thread that made them.
 */
#ifndef BRAINSTORM_JSON_H
#define BRAINSTORM_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "brainstorm/err.h"

/* json_parse.c */
/*
 * Parse JSON with a nesting limit, requiring valid UTF-8 and nothing after
 * the value. On failure reason receives the parser's explanation.
 */
bs_err	json_parse_limited(const char *text, size_t len, int max_depth,
	    json_object **out, char *reason, size_t reasonlen);
/* obj[key] as a string, NULL when absent or not a string. */
const char *json_member_string(json_object *obj, const char *key);
/* obj[key] as an integer, def when absent or not an integer. */
long	json_member_int(json_object *obj, const char *key, long def);
/* obj[key] as an array, NULL when absent or not an array. */
json_object *json_member_array(json_object *obj, const char *key);
/* obj[key] as an object, NULL when absent or not an object. */
json_object *json_member_object(json_object *obj, const char *key);
/*
 * json_object_object_add and json_object_array_add that own v either way:
 * false when v is NULL (no memory) or the add failed (v released).
 */
bool	json_add(json_object *obj, const char *key, json_object *v);
bool	json_push(json_object *arr, json_object *v);
/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool	utf8_valid(const char *s, size_t len);
/*
 * The length of the longest prefix of UTF-8 text s that is at most max
 * bytes and ends on a character boundary.
 */
size_t	utf8_prefix(const char *s, size_t max);
/* Cut a partial character off the end of s (a snprintf may have split one). */
void	utf8_trim(char *s);

/* json_schema.c */
/*
 * The structured-output subset of schema (as the official SDK's
 * transformJSONSchema): keywords the API does not take move into the
 * description, every object gets additionalProperties false, and title is
 * set at the root. A new object (owned); NULL without memory.
 */
json_object	*json_schema_to_strict(json_object *schema, const char *title);

/*
 * Check a model's answer against a JSON Schema (the subset the agent
 * schemas use: type, properties, required, additionalProperties false, enum,
 * minimum/maximum, minLength/maxLength in characters, items,
 * minItems/maxItems). BS_ERR_INVALID with a path and reason in err.
 */
bs_err		 json_schema_validate(json_object *schema, json_object *value,
		    char *err, size_t errlen);

#endif
