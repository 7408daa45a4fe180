/*
 * Result rows written as JSON text, for the lists read most often: the
 * bytes db_row_json and http_respond_json would produce, without building
 * a json-c tree first. Binary results (db_exec_binary) are formatted here
 * by column type, so the server runs no output function for them.
 */
#include "config.h"

#include <string.h>

#include "brainstorm/db.h"
#include "brainstorm/json_write.h"

/* Oids of built-in types (PostgreSQL's pg_type.dat; they never change). */
#define OID_BOOL	16
#define OID_INT8	20
#define OID_INT2	21
#define OID_INT4	23
#define OID_TEXT	25
#define OID_VARCHAR	1043
#define OID_TIMESTAMPTZ	1184
#define OID_UUID	2950

/* PostgreSQL counts time from 2000-01-01 UTC, this many seconds after 1970. */
#define PG_EPOCH_UNIX_S		946684800LL
#define US_PER_S		1000000LL

/* A big-endian integer of len bytes (2, 4 or 8), sign-extended. */
static int64_t
be_int(const unsigned char *p, int len)
{
	uint64_t	 u = 0;
	int		 i;

	for (i = 0; i < len; i++)
		u = u << 8 | p[i];
	if (len < 8 && (u >> (8 * len - 1)) != 0)
		u |= ~(uint64_t)0 << (8 * len);
	return (int64_t)u;
}

/*
 * A binary timestamptz (microseconds since 2000) as microseconds since
 * 1970; false for -infinity, infinity and what would not fit.
 */
static bool
unix_us(const unsigned char *p, int len, int64_t *out)
{
	int64_t	 t;

	if (len != 8)
		return false;
	t = be_int(p, 8);
	if (t == INT64_MIN || t == INT64_MAX ||
	    t > INT64_MAX - PG_EPOCH_UNIX_S * US_PER_S)
		return false;
	*out = t + PG_EPOCH_UNIX_S * US_PER_S;
	return true;
}

/* Floor division, for times before 1970. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/*
 * The civil date of a day counted from 1970-01-01, proleptic Gregorian:
 * shift to years starting in March, so the leap day ends a year, then
 * count 400-year eras, years of the era, and months of 153 days per five.
 */
static void
civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t		 era, doe, yoe, doy, mp;

	days += 719468;			/* from 0000-03-01 */
	era = floor_div(days, 146097);
	doe = days - era * 146097;	/* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;	/* March is 0 */
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

/* Two digits of v (0..99) at p. */
static void
put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

/*
 * Microseconds since 1970 as DB_ISO_UTC writes them:
 * "YYYY-MM-DDTHH:MI:SS.mmmZ", milliseconds cut rather than rounded, as
 * to_char's MS does. Years outside 0000..9999 are not written.
 */
static void
write_timestamp(struct json_writer *w, int64_t us)
{
	char		 s[26];
	int64_t		 secs, days, year;
	int		 sod, month, day, ms;

	secs = floor_div(us, US_PER_S);
	ms = (int)((us - secs * US_PER_S) / 1000);
	days = floor_div(secs, 86400);
	sod = (int)(secs - days * 86400);
	civil_from_days(days, &year, &month, &day);
	if (year < 0 || year > 9999) {
		json_writer_fail(w, BS_ERR_INTERNAL);
		return;
	}
	s[0] = '"';
	put2(s + 1, (int)(year / 100));
	put2(s + 3, (int)(year % 100));
	s[5] = '-';
	put2(s + 6, month);
	s[8] = '-';
	put2(s + 9, day);
	s[11] = 'T';
	put2(s + 12, sod / 3600);
	s[14] = ':';
	put2(s + 15, sod / 60 % 60);
	s[17] = ':';
	put2(s + 18, sod % 60);
	s[20] = '.';
	s[21] = (char)('0' + ms / 100);
	put2(s + 22, ms % 100);
	memcpy(s + 24, "Z\"", 2);
	json_write_raw(w, s, sizeof(s));
}

/* A uuid's 16 bytes in the 8-4-4-4-12 form uuid_out writes (36 characters). */
static void
uuid_format(const unsigned char *p, char *s)
{
	static const char hex[] = "0123456789abcdef";
	int		 i, j = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[j++] = '-';
		s[j++] = hex[p[i] >> 4];
		s[j++] = hex[p[i] & 0xf];
	}
}

static void
write_uuid(struct json_writer *w, const unsigned char *p)
{
	char	 s[38];

	s[0] = '"';
	uuid_format(p, s + 1);
	s[37] = '"';
	json_write_raw(w, s, sizeof(s));
}

/* A binary value by its type; number says what the caller's column expects. */
static void
write_binary(struct json_writer *w, Oid type, const unsigned char *p, int len,
    bool number)
{
	bool	 is_number = type == OID_INT2 || type == OID_INT4 ||
	    type == OID_INT8;
	int64_t	 t;

	if (number != is_number) {
		json_writer_fail(w, BS_ERR_INTERNAL);
		return;
	}
	switch (type) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		if (len != (type == OID_INT2 ? 2 : type == OID_INT4 ? 4 : 8))
			break;
		json_write_int64(w, be_int(p, len));
		return;
	case OID_BOOL:
		if (len != 1)
			break;
		if (p[0])
			json_write_raw(w, "true", 4);
		else
			json_write_raw(w, "false", 5);
		return;
	case OID_TEXT:
	case OID_VARCHAR:
		json_write_string(w, (const char *)p, (size_t)len);
		return;
	case OID_UUID:
		if (len != 16)
			break;
		write_uuid(w, p);
		return;
	case OID_TIMESTAMPTZ:
		if (!unix_us(p, len, &t))
			break;
		write_timestamp(w, t);
		return;
	default:
		break;
	}
	json_writer_fail(w, BS_ERR_INTERNAL);
}

void
db_row_write_members(const PGresult *res, int row, int first,
    const struct db_column *cols, int ncols, struct json_writer *w)
{
	const char	*v;
	int		 i, col, len;

	if (first < 0 || PQnfields(res) < first + ncols ||
	    row >= PQntuples(res)) {
		json_writer_fail(w, BS_ERR_INTERNAL);
		return;
	}
	for (i = 0; i < ncols; i++) {
		col = first + i;
		if (i > 0)
			json_write_raw(w, ",", 1);
		json_write_name(w, cols[i].name);
		v = PQgetvalue(res, row, col);
		len = PQgetlength(res, row, col);
		if (PQgetisnull(res, row, col))
			json_write_raw(w, "null", 4);
		else if (PQfformat(res, col) == 1)
			write_binary(w, PQftype(res, col),
			    (const unsigned char *)v, len, cols[i].number);
		else if (cols[i].number) {
			json_write_integer_text(w, v, (size_t)len);
			/* A non-number: a statement that does not fit cols. */
			if (w->err == BS_ERR_INVALID)
				w->err = BS_ERR_INTERNAL;
		} else
			json_write_string(w, v, (size_t)len);
	}
}

bs_err
db_timestamp_us(const PGresult *res, int row, int col, int64_t *out)
{
	if (row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col) || PQfformat(res, col) != 1 ||
	    PQftype(res, col) != OID_TIMESTAMPTZ ||
	    !unix_us((const unsigned char *)PQgetvalue(res, row, col),
	    PQgetlength(res, row, col), out))
		return BS_ERR_INTERNAL;
	return BS_OK;
}

bs_err
db_uuid_text(const PGresult *res, int row, int col, char out[37])
{
	const char	*v;

	out[0] = '\0';
	if (row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col) || PQftype(res, col) != OID_UUID)
		return BS_ERR_INTERNAL;
	v = PQgetvalue(res, row, col);
	if (PQfformat(res, col) == 0) {
		if (PQgetlength(res, row, col) != 36)
			return BS_ERR_INTERNAL;
		memcpy(out, v, 37);
		return BS_OK;
	}
	if (PQgetlength(res, row, col) != 16)
		return BS_ERR_INTERNAL;
	uuid_format((const unsigned char *)v, out);
	out[36] = '\0';
	return BS_OK;
}

bs_err
db_integer(const PGresult *res, int row, int col, int64_t *out)
{
	const char	*v;
	long long	 n;
	int		 len;
	Oid		 type;

	if (row >= PQntuples(res) || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return BS_ERR_INTERNAL;
	v = PQgetvalue(res, row, col);
	if (PQfformat(res, col) == 0) {
		if (db_int64(v, &n) != BS_OK)
			return BS_ERR_INTERNAL;
		*out = n;
		return BS_OK;
	}
	type = PQftype(res, col);
	len = PQgetlength(res, row, col);
	if ((type != OID_INT2 || len != 2) && (type != OID_INT4 || len != 4) &&
	    (type != OID_INT8 || len != 8))
		return BS_ERR_INTERNAL;
	*out = be_int((const unsigned char *)v, len);
	return BS_OK;
}
