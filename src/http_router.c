#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/router.h"

#define SEGMENT_MAX	256

/*
 * Compare a pattern with a path segment by segment. "{name}" matches one
 * non-empty segment; captures go to caps (names point into the pattern).
 */
static bool
pattern_match(const char *pattern, const char *path, struct http_kv *caps,
    size_t *ncaps)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 plen, slen;

	*ncaps = 0;
	for (;;) {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		pe = strchr(p, '/');
		se = strchr(s, '/');
		plen = pe != NULL ? (size_t)(pe - p) : strlen(p);
		slen = se != NULL ? (size_t)(se - s) : strlen(s);
		if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
			if (slen == 0 || slen > SEGMENT_MAX || *ncaps >= HTTP_PARAMS_MAX)
				return false;
			caps[*ncaps].name = (char *)p;	/* "{name}", fixed below */
			caps[*ncaps].value = (char *)s;
			(*ncaps)++;
		} else if (plen != slen || memcmp(p, s, plen) != 0)
			return false;
		if (pe == NULL || se == NULL)
			return pe == NULL && se == NULL;
		p = pe;
		s = se;
	}
}

/* Copy the captures found by pattern_match into owned strings. */
static bs_err
captures_store(struct http_request *req, const struct http_kv *caps, size_t n)
{
	size_t		 i, nlen, vlen;
	const char	*name, *value, *end;

	for (i = 0; i < n; i++) {
		name = caps[i].name + 1;
		nlen = (size_t)(strchr(name, '}') - name);
		value = caps[i].value;
		end = strchr(value, '/');
		vlen = end != NULL ? (size_t)(end - value) : strlen(value);
		req->params[i].name = strndup(name, nlen);
		req->params[i].value = strndup(value, vlen);
		req->nparams = i + 1;
		if (req->params[i].name == NULL || req->params[i].value == NULL)
			return BS_ERR_NOMEM;
	}
	return BS_OK;
}

enum router_result
router_match(const struct route *table, size_t n, const char *method,
    const char *path, struct http_request *req, const struct route **route,
    char *allow, size_t allowlen)
{
	struct http_kv	 caps[HTTP_PARAMS_MAX];
	size_t		 i, ncaps, used = 0;
	bool		 path_known = false;
	int		 w;

	*route = NULL;
	if (allowlen > 0)
		allow[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!pattern_match(table[i].pattern, path, caps, &ncaps))
			continue;
		if (strcmp(table[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(table[i].method, "GET") == 0)) {
			http_kv_free(req->params, req->nparams);
			req->nparams = 0;
			if (captures_store(req, caps, ncaps) != BS_OK)
				return ROUTER_NOT_FOUND;
			*route = &table[i];
			return ROUTER_FOUND;
		}
		path_known = true;
		if (used < allowlen && strstr(allow, table[i].method) == NULL) {
			w = snprintf(allow + used, allowlen - used, "%s%s",
			    used > 0 ? ", " : "", table[i].method);
			used = w < 0 || (size_t)w >= allowlen - used ? allowlen :
			    used + (size_t)w;
		}
	}
	return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

enum project_role
route_min_role(unsigned flags)
{
	if (flags & ROUTE_OWNER)
		return PROJECT_ROLE_OWNER;
	if (flags & ROUTE_EDITOR)
		return PROJECT_ROLE_EDITOR;
	if (flags & ROUTE_VIEWER)
		return PROJECT_ROLE_VIEWER;
	return PROJECT_ROLE_NONE;
}
