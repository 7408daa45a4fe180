/* Temporary files and directories of the unit suites, under TMPDIR. */
#ifndef TESTS_TMP_PATH_H
#define TESTS_TMP_PATH_H

#include <stdio.h>
#include <stdlib.h>

/* A mkstemp/mkdtemp template: $TMPDIR (else /tmp), then name.XXXXXX. */
static void
tmp_path_template(char *path, size_t len, const char *name)
{
	const char	*base = getenv("TMPDIR");

	snprintf(path, len, "%s/%s.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp", name);
}

#endif
