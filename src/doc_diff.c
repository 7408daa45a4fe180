/*
 * Line diffs: Myers' O((N+M)D) greedy algorithm on the lines that differ
 * after the common beginning and end are set aside, then hunks with
 * context in the unified format. The trace of the search is kept to walk
 * the edit script back, so memory grows with the square of the edit
 * distance; past EDITS_MAX edits the search stops and the middle is
 * replaced as a whole (still a correct diff, no longer the shortest).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "brainstorm/doc_diff.h"

#define EDITS_MAX	1000

struct line {
	const char	*s;
	size_t		 len;
	uint64_t	 hash;
};

struct lines {
	struct line	*v;
	size_t		 n;
};

enum op_kind { OP_SAME = 0, OP_DEL, OP_ADD };

/* One step of the script: a line of old (DEL), of new (ADD) or of both. */
struct op {
	enum op_kind	 kind;
	size_t		 a, b;	/* line indexes in old and new */
};

struct script {
	struct op	*v;
	size_t		 n, cap;
};

static uint64_t
line_hash(const char *s, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL;	/* FNV-1a */
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static bs_err
lines_split(const char *text, size_t max, struct lines *out)
{
	const char	*p, *nl;
	size_t		 n = 0, cap = 0;
	struct line	*v = NULL, *grown;

	out->v = NULL;
	out->n = 0;
	for (p = text != NULL ? text : ""; *p != '\0'; p = nl + 1) {
		if (n == max) {
			free(v);
			return BS_ERR_TOO_LARGE;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				return BS_ERR_NOMEM;
			}
			v = grown;
		}
		nl = strchr(p, '\n');
		v[n].s = p;
		v[n].len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		v[n].hash = line_hash(p, v[n].len);
		n++;
		if (nl == NULL)
			break;
	}
	out->v = v;
	out->n = n;
	return BS_OK;
}

static bool
line_eq(const struct line *x, const struct line *y)
{
	return x->hash == y->hash && x->len == y->len &&
	    memcmp(x->s, y->s, x->len) == 0;
}

static bs_err
script_add(struct script *sc, enum op_kind kind, size_t a, size_t b)
{
	struct op	*grown;
	size_t		 cap;

	if (sc->n == sc->cap) {
		cap = sc->cap == 0 ? 128 : sc->cap * 2;
		if ((grown = realloc(sc->v, cap * sizeof(*grown))) == NULL)
			return BS_ERR_NOMEM;
		sc->v = grown;
		sc->cap = cap;
	}
	sc->v[sc->n].kind = kind;
	sc->v[sc->n].a = a;
	sc->v[sc->n].b = b;
	sc->n++;
	return BS_OK;
}

/* Reverse sc->v[from..n): the walk back produces the middle backwards. */
static void
script_reverse(struct script *sc, size_t from)
{
	struct op	 t;
	size_t		 i, j;

	for (i = from, j = sc->n; i + 1 < j; i++, j--) {
		t = sc->v[i];
		sc->v[i] = sc->v[j - 1];
		sc->v[j - 1] = t;
	}
}

/* The middle replaced as a whole: every old line out, every new line in. */
static bs_err
middle_replace(struct script *sc, size_t a0, size_t n, size_t b0, size_t m)
{
	size_t	 i;
	bs_err	 e = BS_OK;

	for (i = 0; i < n && e == BS_OK; i++)
		e = script_add(sc, OP_DEL, a0 + i, b0);
	for (i = 0; i < m && e == BS_OK; i++)
		e = script_add(sc, OP_ADD, a0 + n, b0 + i);
	return e;
}

/*
 * The shortest script from a[0..n) to b[0..m) (offsets a0, b0 in the whole
 * texts), appended to sc. trace[d] keeps V before step d for the diagonals
 * -d-1..d+1, which is all the walk back reads.
 */
static bs_err
middle_diff(struct script *sc, const struct line *a, size_t n,
    const struct line *b, size_t m, size_t a0, size_t b0)
{
	long		 max = (long)(n + m), d, k, x, y, dmax, pk, px, py;
	long		*v = NULL, **trace = NULL;
	size_t		 first = sc->n;
	bs_err		 e = BS_OK;
	bool		 found = false;

	if (n == 0 || m == 0)
		return middle_replace(sc, a0, n, b0, m);
	dmax = max < EDITS_MAX ? max : EDITS_MAX;
	if ((v = calloc((size_t)(2 * max + 3), sizeof(*v))) == NULL ||
	    (trace = calloc((size_t)dmax + 1, sizeof(*trace))) == NULL) {
		e = BS_ERR_NOMEM;
		goto out;
	}
#define V(i)	v[(i) + max + 1]
	for (d = 0; d <= dmax && !found; d++) {
		if ((trace[d] = malloc((size_t)(2 * d + 3) * sizeof(long))) ==
		    NULL) {
			e = BS_ERR_NOMEM;
			goto out;
		}
		memcpy(trace[d], &V(-d - 1), (size_t)(2 * d + 3) * sizeof(long));
		for (k = -d; k <= d; k += 2) {
			if (k == -d || (k != d && V(k - 1) < V(k + 1)))
				x = V(k + 1);
			else
				x = V(k - 1) + 1;
			y = x - k;
			while (x < (long)n && y < (long)m &&
			    line_eq(&a[x], &b[y])) {
				x++;
				y++;
			}
			V(k) = x;
			if (x >= (long)n && y >= (long)m) {
				found = true;
				break;
			}
		}
	}
#undef V
	if (!found) {
		e = middle_replace(sc, a0, n, b0, m);
		goto out;
	}
	/* Walk back from (n, m): d is one past the step that reached it. */
	x = (long)n;
	y = (long)m;
	for (d = d - 1; d >= 0 && e == BS_OK; d--) {
		long	*t = trace[d];	/* t[i] is V(i - d - 1) */

		k = x - y;
		if (k == -d || (k != d && t[k - 1 + d + 1] < t[k + 1 + d + 1]))
			pk = k + 1;
		else
			pk = k - 1;
		px = d == 0 ? 0 : t[pk + d + 1];
		py = px - pk;
		if (d == 0)
			px = py = 0;
		while (x > px && y > py && e == BS_OK) {
			x--;
			y--;
			e = script_add(sc, OP_SAME, a0 + (size_t)x, b0 + (size_t)y);
		}
		if (d > 0 && e == BS_OK) {
			if (x == px)
				e = script_add(sc, OP_ADD, a0 + (size_t)px,
				    b0 + (size_t)py);
			else
				e = script_add(sc, OP_DEL, a0 + (size_t)px,
				    b0 + (size_t)py);
		}
		x = px;
		y = py;
	}
	if (e == BS_OK)
		script_reverse(sc, first);
out:
	if (trace != NULL)
		for (d = 0; d <= dmax; d++)
			free(trace[d]);
	free(trace);
	free(v);
	return e;
}

/* "@@ -a,n +b,m @@" in the GNU form: ",1" left out, an empty side at its line. */
static bs_err
range_write(struct buf *out, char sign, size_t start, size_t count)
{
	if (count == 1)
		return buf_printf(out, "%c%zu", sign, start + 1);
	return buf_printf(out, "%c%zu,%zu", sign, count == 0 ? start :
	    start + 1, count);
}

static bs_err
hunk_write(struct buf *out, const struct script *sc, size_t from, size_t to,
    const struct lines *a, const struct lines *b)
{
	const struct line *l;
	size_t		 i, na = 0, nb = 0, a_start, b_start;
	bs_err		 e;

	for (i = from; i < to; i++) {
		if (sc->v[i].kind != OP_ADD)
			na++;
		if (sc->v[i].kind != OP_DEL)
			nb++;
	}
	a_start = sc->v[from].a;
	b_start = sc->v[from].b;
	if ((e = buf_puts(out, "@@ ")) != BS_OK ||
	    (e = range_write(out, '-', a_start, na)) != BS_OK ||
	    (e = buf_puts(out, " ")) != BS_OK ||
	    (e = range_write(out, '+', b_start, nb)) != BS_OK ||
	    (e = buf_puts(out, " @@\n")) != BS_OK)
		return e;
	for (i = from; i < to && e == BS_OK; i++) {
		l = sc->v[i].kind == OP_ADD ? &b->v[sc->v[i].b] :
		    &a->v[sc->v[i].a];
		if ((e = buf_append(out, sc->v[i].kind == OP_SAME ? " " :
		    sc->v[i].kind == OP_DEL ? "-" : "+", 1)) == BS_OK &&
		    (e = buf_append(out, l->s, l->len)) == BS_OK)
			e = buf_append(out, "\n", 1);
	}
	return e;
}

bs_err
doc_diff_unified(const char *old_text, const char *new_text,
    const char *label_old, const char *label_new, int context,
    size_t max_lines, struct buf *out, struct doc_diff_stats *stats)
{
	struct lines	 a = { NULL, 0 }, b = { NULL, 0 };
	struct script	 sc = { NULL, 0, 0 };
	size_t		 pre = 0, suf = 0, i, start, end, last, ctx;
	bs_err		 e;

	memset(stats, 0, sizeof(*stats));
	ctx = context > 0 ? (size_t)context : 0;
	if ((e = lines_split(old_text, max_lines, &a)) != BS_OK ||
	    (e = lines_split(new_text, max_lines, &b)) != BS_OK)
		goto out;
	while (pre < a.n && pre < b.n && line_eq(&a.v[pre], &b.v[pre]))
		pre++;
	while (suf < a.n - pre && suf < b.n - pre &&
	    line_eq(&a.v[a.n - 1 - suf], &b.v[b.n - 1 - suf]))
		suf++;
	for (i = 0; i < pre && e == BS_OK; i++)
		e = script_add(&sc, OP_SAME, i, i);
	if (e == BS_OK)
		e = middle_diff(&sc, a.v + pre, a.n - pre - suf, b.v + pre,
		    b.n - pre - suf, pre, pre);
	for (i = 0; i < suf && e == BS_OK; i++)
		e = script_add(&sc, OP_SAME, a.n - suf + i, b.n - suf + i);
	if (e != BS_OK)
		goto out;
	for (i = 0; i < sc.n; i++) {
		if (sc.v[i].kind == OP_ADD)
			stats->added++;
		else if (sc.v[i].kind == OP_DEL)
			stats->removed++;
	}
	if (stats->added + stats->removed == 0)
		goto out;
	if ((e = buf_printf(out, "--- %s\n+++ %s\n", label_old,
	    label_new)) != BS_OK)
		goto out;
	/* Hunks: changes closer than twice the context share one. */
	for (i = 0; i < sc.n && e == BS_OK; ) {
		if (sc.v[i].kind == OP_SAME) {
			i++;
			continue;
		}
		start = i > ctx ? i - ctx : 0;
		last = i;
		for (end = i; end < sc.n; end++) {
			if (sc.v[end].kind != OP_SAME)
				last = end;
			else if (end - last > 2 * ctx)
				break;
		}
		end = last + 1 + ctx < sc.n ? last + 1 + ctx : sc.n;
		e = hunk_write(out, &sc, start, end, &a, &b);
		stats->hunks++;
		i = end;
	}
out:
	free(sc.v);
	free(a.v);
	free(b.v);
	return e;
}
