/* Result rows as the API's JSON objects, for every db_*.c module. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "brainstorm/db.h"
#include "brainstorm/validate.h"

bs_err
db_int64(const char *s, long long *out)
{
	const char	*errstr;
	long long	 n;

	n = bs_strtonum(s, LLONG_MIN, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return BS_ERR_INTERNAL;
	*out = n;
	return BS_OK;
}

const char *
db_cap_value(long cap, char buf[DB_CAP_LEN])
{
	if (cap <= 0)
		return NULL;
	snprintf(buf, DB_CAP_LEN, "%ld", cap);
	return buf;
}

bs_err
db_row_json(const PGresult *res, int row, const struct db_column *cols,
    int ncols, json_object **out)
{
	json_object	*obj, *v;
	const char	*s;
	long long	 n;
	int		 col;
	bs_err		 e = BS_OK;

	*out = NULL;
	if (PQnfields(res) < ncols || row >= PQntuples(res))
		return BS_ERR_INTERNAL;
	if ((obj = json_object_new_object()) == NULL)
		return BS_ERR_NOMEM;
	for (col = 0; col < ncols; col++) {
		s = PQgetvalue(res, row, col);
		if (PQgetisnull(res, row, col))
			v = NULL;
		else if (cols[col].number) {
			if ((e = db_int64(s, &n)) != BS_OK)
				goto out;
			v = json_object_new_int64(n);
		} else
			v = json_object_new_string_len(s,
			    PQgetlength(res, row, col));
		json_object_object_add(obj, cols[col].name, v);
	}
out:
	if (e != BS_OK)
		json_object_put(obj);
	else
		*out = obj;
	return e;
}

bs_err
db_rows_json(const PGresult *res, const struct db_column *cols, int ncols,
    json_object **out)
{
	json_object	*list, *obj;
	int		 i;
	bs_err		 e = BS_OK;

	*out = NULL;
	if ((list = json_object_new_array()) == NULL)
		return BS_ERR_NOMEM;
	for (i = 0; i < PQntuples(res); i++) {
		if ((e = db_row_json(res, i, cols, ncols, &obj)) != BS_OK)
			goto out;
		json_object_array_add(list, obj);
	}
out:
	if (e != BS_OK)
		json_object_put(list);
	else
		*out = list;
	return e;
}
