/*
 * JSON text written straight into a capped buffer, for the answers and log
 * lines that need no tree: the bytes json-c writes with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, without an
 * object and a hash table per value. Writes gather in a chunk and reach the
 * buffer a chunk at a time.
 *
 *	struct json_writer	 w;
 *
 *	json_writer_init(&w, &body);
 *	json_write_raw(&w, "{", 1);
 *	json_write_name(&w, "title");
 *	json_write_string(&w, title, strlen(title));
 *	json_write_raw(&w, "}", 1);
 *	e = json_writer_finish(&w);	(the first error of them all, or BS_OK)
 */
#ifndef BRAINSTORM_JSON_WRITE_H
#define BRAINSTORM_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

#define JSON_WRITER_CHUNK	4096

struct json_writer {
	struct buf	*out;
	bs_err		 err;	/* the first failure; later writes do nothing */
	size_t		 n;	/* bytes waiting in chunk */
	char		 chunk[JSON_WRITER_CHUNK];
};

void	json_writer_init(struct json_writer *w, struct buf *out);
/* Move what waits in the chunk to the buffer; the first error, or BS_OK. */
bs_err	json_writer_finish(struct json_writer *w);

void	json_write_raw_slow(struct json_writer *w, const char *s, size_t len);

/* Bytes as they are (punctuation, text known to be JSON). */
static inline void
json_write_raw(struct json_writer *w, const char *s, size_t len)
{
	/* After an error the chunk still fills, but never reaches out. */
	if (len <= sizeof(w->chunk) && w->n <= sizeof(w->chunk) - len) {
		memcpy(w->chunk + w->n, s, len);
		w->n += len;
	} else
		json_write_raw_slow(w, s, len);
}

/* s[0..len) as a JSON string, quotes included; bytes >= 0x80 pass as is. */
void	json_write_string(struct json_writer *w, const char *s, size_t len);
/* "name": for a member; name is a literal of the program, written as it is. */
void	json_write_name(struct json_writer *w, const char *name);
void	json_write_int64(struct json_writer *w, int64_t v);
/*
 * A whole decimal number given as text (a PostgreSQL integer), checked to be
 * one: an optional minus, 1 to 19 digits, no leading zero. BS_ERR_INVALID
 * (kept as the writer's error) otherwise.
 */
void	json_write_integer_text(struct json_writer *w, const char *s,
	    size_t len);
/* A failure of the caller's own (a value that cannot be written). */
void	json_writer_fail(struct json_writer *w, bs_err e);

#endif
