// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * RESP reader: see <mk/resp.h>. One frame is parsed at a time, resumably:
 * every position below is an offset from the frame's first byte (r->start),
 * so the buffer may move between calls; tree nodes keep offsets and indices
 * until the frame is complete, then they become pointers.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mk/resp.h>

enum { MODE_NONE, MODE_VALUE, MODE_COMMAND };
enum { FRAME_AGG, FRAME_ATTR };

struct frame {
	size_t node;	/* index of the aggregate node */
	size_t filled;	/* slots filled */
	size_t cap;	/* slots reserved */
	size_t need;	/* slots in all */
	int kind;
};

struct mk_resp_reader {
	char *buf;
	size_t start, end, cap;	/* frame start, bytes in buf, size of buf */
	struct mk_resp_limits lim;
	int err;
	char errmsg[96];

	int mode;
	size_t pos;	/* next byte to parse, from start */
	size_t scan;	/* bytes from pos already known to hold no LF */
	size_t need;	/* bytes (from start) the next step waits for */

	/* Value mode. */
	struct mk_resp_value *nodes;
	size_t nnodes, nodecap;
	size_t nvalues;
	struct frame *stack;
	size_t depth, stackcap;
	size_t root;	/* index + 1; 0 none */
	size_t pending_attr;	/* index + 1; 0 none */

	/* Command mode: argc < 0 until the header is parsed. */
	long long argc;
	size_t nargs, argcap;
	size_t *argoff;
	size_t *arglen;
	const char **argv;
};

void mk_resp_limits_default(struct mk_resp_limits *lim)
{
	lim->max_bulk = MK_RESP_DEFAULT_MAX_BULK;
	lim->max_elements = MK_RESP_DEFAULT_MAX_ELEMENTS;
	lim->max_depth = MK_RESP_DEFAULT_MAX_DEPTH;
	lim->max_inline = MK_RESP_DEFAULT_MAX_INLINE;
	lim->max_frame = MK_RESP_DEFAULT_MAX_FRAME;
}

struct mk_resp_reader *mk_resp_reader_new(const struct mk_resp_limits *lim)
{
	struct mk_resp_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	mk_resp_limits_default(&r->lim);
	if (lim) {
		if (lim->max_bulk)
			r->lim.max_bulk = lim->max_bulk;
		if (lim->max_elements)
			r->lim.max_elements = lim->max_elements;
		if (lim->max_depth)
			r->lim.max_depth = lim->max_depth;
		if (lim->max_inline)
			r->lim.max_inline = lim->max_inline;
		if (lim->max_frame)
			r->lim.max_frame = lim->max_frame;
	}
	r->argc = -1;
	return r;
}

void mk_resp_reader_free(struct mk_resp_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->nodes);
	free(r->stack);
	free(r->argoff);
	free(r->arglen);
	free(r->argv);
	free(r);
}

const char *mk_resp_reader_error(const struct mk_resp_reader *r)
{
	return r->err ? r->errmsg : NULL;
}

size_t mk_resp_reader_buffered(const struct mk_resp_reader *r)
{
	return r->end - r->start;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct mk_resp_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/*
 * Makes room for min more bytes: the unconsumed bytes move to the front
 * when the tail is short, and the buffer grows only when that is not
 * enough. An idle buffer that grew past 1 MiB (a large value) shrinks back.
 */
void *mk_resp_reader_space(struct mk_resp_reader *r, size_t min, size_t *avail)
{
	if (r->start == r->end) {
		r->start = r->end = 0;
		if (r->cap > (1u << 20) && min <= 16384) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}
	if (r->cap - r->end < min && r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < min) {
		size_t ncap = r->cap ? r->cap : 16384;
		char *nb;

		if (min > SIZE_MAX / 4 - r->end)
			return NULL;
		while (ncap - r->end < min)
			ncap *= 2;
		nb = realloc(r->buf, ncap);
		if (!nb)
			return NULL;
		r->buf = nb;
		r->cap = ncap;
	}
	if (avail)
		*avail = r->cap - r->end;
	return r->buf + r->end;
}

void mk_resp_reader_commit(struct mk_resp_reader *r, size_t n)
{
	if (n > r->cap - r->end)
		n = r->cap - r->end;
	r->end += n;
}

int mk_resp_reader_feed(struct mk_resp_reader *r, const void *data, size_t len)
{
	void *p;

	if (!len)
		return 0;
	p = mk_resp_reader_space(r, len, NULL);
	if (!p)
		return -ENOMEM;
	memcpy(p, data, len);
	r->end += len;
	return 0;
}

ssize_t mk_resp_reader_read_fd(struct mk_resp_reader *r, int fd)
{
	size_t want = 16384, avail;
	ssize_t n;
	void *p;

	/* A large bulk string being waited for: read it in one go. */
	if (r->need > r->end - r->start) {
		size_t missing = r->need - (r->end - r->start);

		if (missing > want)
			want = missing < (1u << 20) ? missing : (1u << 20);
	}
	p = mk_resp_reader_space(r, want, &avail);
	if (!p)
		return -ENOMEM;
	n = read(fd, p, avail);
	if (n < 0)
		return -errno;
	r->end += (size_t)n;
	return n;
}

/* Frame state --------------------------------------------------------- */

static void args_shrink(struct mk_resp_reader *r)
{
	if (r->argcap > 1024) {
		free(r->argoff);
		free(r->arglen);
		free(r->argv);
		r->argoff = r->arglen = NULL;
		r->argv = NULL;
		r->argcap = 0;
	}
}

static void frame_reset(struct mk_resp_reader *r, int mode)
{
	/* What a large frame left behind is given back. */
	if (r->nodecap > 4096) {
		free(r->nodes);
		r->nodes = NULL;
		r->nodecap = 0;
	}
	args_shrink(r);
	r->mode = mode;
	r->pos = r->scan = r->need = 0;
	r->nnodes = r->nvalues = r->depth = 0;
	r->root = r->pending_attr = 0;
	r->argc = -1;
	r->nargs = 0;
}

/* Ends the frame: its bytes are consumed. */
static void frame_done(struct mk_resp_reader *r)
{
	r->start += r->pos;
	r->mode = MODE_NONE;
	r->pos = r->scan = r->need = 0;
}

/*
 * Finds the line at pos. 1: the line is [pos, *eol) with CR LF after it
 * (*next past them); 0: incomplete; <0: error. lf_only allows a bare LF
 * (inline commands); then *eol excludes a CR before the LF if there is one.
 */
static int find_line(struct mk_resp_reader *r, size_t *eol, size_t *next, bool lf_only)
{
	const char *base = r->buf + r->start;
	size_t avail = r->end - r->start - r->pos;
	size_t max = r->lim.max_inline;
	const char *lf;
	size_t len;

	if (r->scan < avail)
		lf = memchr(base + r->pos + r->scan, '\n', avail - r->scan);
	else
		lf = NULL;
	if (!lf) {
		r->scan = avail;
		/* Without its CR LF, the line is at least avail - 1 bytes. */
		if (avail > 1 && avail - 1 > max)
			goto too_long;
		return 0;
	}
	len = (size_t)(lf - (base + r->pos));	/* bytes before LF */
	r->scan = 0;
	/* As the check above would have found it, had the LF come later. */
	if (len > 1 && len - 1 > max)
		goto too_long;
	if (len > 0 && base[r->pos + len - 1] == '\r')
		len--;
	else if (!lf_only)
		return fail(r, -EPROTO, "Protocol error: line without CR LF");
	if (len > max)
		goto too_long;
	if (!lf_only && memchr(base + r->pos, '\r', len))
		return fail(r, -EPROTO, "Protocol error: CR inside a line");
	*eol = r->pos + len;
	*next = (size_t)(lf - base) + 1;
	return 1;
too_long:
	return fail(r, -E2BIG, "Protocol error: too big %s",
		    lf_only ? "inline request" : "line");
}

/* A signed decimal, strictly: no sign but '-', no spaces, no overflow. */
static bool parse_ll(const char *p, size_t n, long long *out)
{
	bool neg = false;
	unsigned long long v = 0, lim;

	if (n && *p == '-') {
		neg = true;
		p++;
		n--;
	}
	if (!n || n > 19)
		return false;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)p[i] - '0';

		if (d > 9)
			return false;
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (v ? -(long long)(v - 1) - 1 : 0) : (long long)v;
	return true;
}

static int check_frame(struct mk_resp_reader *r, size_t end)
{
	if (end > r->lim.max_frame)
		return fail(r, -E2BIG, "Protocol error: frame over %zu bytes",
			    r->lim.max_frame);
	return 0;
}

/*
 * The body of a bulk string of @n bytes (n >= 0) that starts at @next: an
 * error past the limits; 0 with *@wait set while it is not all buffered;
 * else 1, its CR LF checked and *@total where it ends.
 */
static inline int bulk_body(struct mk_resp_reader *r, const char *base, size_t next,
			    long long n, size_t *total, bool *wait)
{
	int e;

	if ((unsigned long long)n > r->lim.max_bulk)
		return fail(r, -E2BIG, "Protocol error: invalid bulk length");
	*total = next + (size_t)n + 2;
	e = check_frame(r, *total);
	if (e)
		return e;
	if (*total > r->end - r->start) {
		r->need = *total;
		*wait = true;
		return 0;
	}
	r->need = 0;
	if (base[next + n] != '\r' || base[next + n + 1] != '\n')
		return fail(r, -EPROTO, "Protocol error: bulk string without CR LF");
	return 1;
}

/*
 * The common header "<type><digits>\r\n", all buffered, read without a
 * search: the same result find_line() and parse_ll() would give, or false
 * to let them decide (and report errors).
 */
static inline bool fast_header(struct mk_resp_reader *r, const char *base,
			       long long *n, size_t *next)
{
	const char *p = base + r->pos + 1, *q = p;
	const char *e = base + (r->end - r->start);
	unsigned long long v = 0;

	if (r->lim.max_inline < 21)
		return false;
	while (q < e && q - p < 18 && (unsigned char)(*q - '0') < 10)
		v = v * 10 + (unsigned)(*q++ - '0');
	if (q == p || e - q < 2 || q[0] != '\r' || q[1] != '\n')
		return false;
	*n = (long long)v;
	*next = (size_t)(q + 2 - base);
	r->scan = 0;
	return true;
}

/* Value mode ---------------------------------------------------------- */

static int nodes_grow(struct mk_resp_reader *r, size_t more)
{
	size_t want = r->nnodes + more, ncap;
	struct mk_resp_value *nn;

	if (want <= r->nodecap)
		return 0;
	ncap = r->nodecap ? r->nodecap : 16;
	while (ncap < want)
		ncap *= 2;
	nn = realloc(r->nodes, ncap * sizeof(*nn));
	if (!nn)
		return fail(r, -ENOMEM, "out of memory");
	r->nodes = nn;
	r->nodecap = ncap;
	return 0;
}

/* A new node at the end of the arena: its index, or <0. */
static long long node_append(struct mk_resp_reader *r)
{
	int e = nodes_grow(r, 1);

	if (e)
		return e;
	memset(&r->nodes[r->nnodes], 0, sizeof(r->nodes[0]));
	return (long long)r->nnodes++;
}

static int count_value(struct mk_resp_reader *r)
{
	if (++r->nvalues > r->lim.max_elements)
		return fail(r, -E2BIG, "Protocol error: more than %zu elements",
			    r->lim.max_elements);
	return 0;
}

/* The node the next value goes into: its index, or <0. */
static long long slot_take(struct mk_resp_reader *r)
{
	struct frame *f;
	size_t elems, ncap;
	long long idx;
	int e;

	if (r->depth == 0) {
		idx = node_append(r);
		if (idx >= 0)
			r->root = (size_t)idx + 1;
		return idx;
	}
	f = &r->stack[r->depth - 1];
	elems = (uintptr_t)r->nodes[f->node].elems;
	if (f->filled == f->cap) {
		ncap = f->cap * 2 > 8 ? f->cap * 2 : 8;
		if (ncap > f->need)
			ncap = f->need;
		if (f->cap && elems + f->cap == r->nnodes) {
			e = nodes_grow(r, ncap - f->cap);
			if (e)
				return e;
			memset(&r->nodes[r->nnodes], 0, (ncap - f->cap) * sizeof(r->nodes[0]));
			r->nnodes += ncap - f->cap;
		} else {
			e = nodes_grow(r, ncap);
			if (e)
				return e;
			memcpy(&r->nodes[r->nnodes], &r->nodes[elems], f->cap * sizeof(r->nodes[0]));
			memset(&r->nodes[r->nnodes + f->cap], 0,
			       (ncap - f->cap) * sizeof(r->nodes[0]));
			elems = r->nnodes;
			r->nodes[f->node].elems = (const struct mk_resp_value *)(uintptr_t)elems;
			r->nnodes += ncap;
		}
		f->cap = ncap;
	}
	return (long long)(elems + f->filled++);
}

static int push_frame(struct mk_resp_reader *r, size_t node, size_t need, int kind)
{
	struct frame *f;

	if (r->depth >= r->lim.max_depth)
		return fail(r, -E2BIG, "Protocol error: nesting deeper than %zu",
			    r->lim.max_depth);
	if (r->depth == r->stackcap) {
		size_t ncap = r->stackcap ? r->stackcap * 2 : 8;
		struct frame *ns = realloc(r->stack, ncap * sizeof(*ns));

		if (!ns)
			return fail(r, -ENOMEM, "out of memory");
		r->stack = ns;
		r->stackcap = ncap;
	}
	f = &r->stack[r->depth++];
	f->node = node;
	f->filled = f->cap = 0;
	f->need = need;
	f->kind = kind;
	r->nodes[node].elems = (const struct mk_resp_value *)(uintptr_t)r->nnodes;
	return 0;
}

/* After a value is complete: 1 when the frame is, else 0. */
static int value_done(struct mk_resp_reader *r)
{
	for (;;) {
		struct frame *f;

		if (r->depth == 0)
			return r->root ? 1 : 0;
		f = &r->stack[r->depth - 1];
		if (f->filled < f->need)
			return 0;
		r->depth--;
		if (f->kind == FRAME_ATTR) {
			r->pending_attr = f->node + 1;
			return 0;
		}
	}
}

static void finalize(struct mk_resp_reader *r)
{
	char *base = r->buf + r->start;

	for (size_t i = 0; i < r->nnodes; i++) {
		struct mk_resp_value *v = &r->nodes[i];
		size_t off;

		switch (v->type) {
		case MK_RESP_SIMPLE:
		case MK_RESP_ERROR:
		case MK_RESP_BULK:
		case MK_RESP_BULK_ERROR:
		case MK_RESP_BIGNUM:
		case MK_RESP_DOUBLE:
		case MK_RESP_VERBATIM:
			off = (uintptr_t)v->str;
			v->str = base + off;
			base[off + v->len] = '\0';	/* was CR */
			break;
		case MK_RESP_ARRAY:
		case MK_RESP_SET:
		case MK_RESP_PUSH:
		case MK_RESP_MAP:
		case MK_RESP_ATTRIBUTE:
			v->elems = v->n ? r->nodes + (uintptr_t)v->elems : NULL;
			break;
		default:
			break;
		}
		if (v->attr)
			v->attr = r->nodes + ((uintptr_t)v->attr - 1);
	}
}

static bool valid_bignum(const char *p, size_t n)
{
	if (n && *p == '-') {
		p++;
		n--;
	}
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

static bool parse_double(const char *p, size_t n, double *out)
{
	char tmp[64], *endp;

	if (!n || n >= sizeof(tmp) || !((p[0] >= '0' && p[0] <= '9') || p[0] == '-' ||
					  p[0] == '+' || p[0] == '.' || p[0] == 'i' ||
					  p[0] == 'n' || p[0] == 'I' || p[0] == 'N'))
		return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	*out = strtod(tmp, &endp);
	return endp == tmp + n;
}

/* Parses one item at pos. 1: the frame is complete; 0: go on or wait. */
static int value_step(struct mk_resp_reader *r, bool *wait)
{
	const char *base = r->buf + r->start;
	size_t eol, next, len, slots = 0;
	const char *line;
	long long n, idx;
	int type, e;
	struct mk_resp_value *v;

	*wait = false;
	if (r->need > r->end - r->start) {
		*wait = true;
		return 0;
	}
	type = (unsigned char)base[r->pos];
	if ((type == '$' || type == '*' || type == ':') && fast_header(r, base, &n, &next)) {
		eol = next - 2;
	} else {
		e = find_line(r, &eol, &next, false);
		if (e <= 0) {
			*wait = e == 0;
			return e;
		}
	}
	e = check_frame(r, next);
	if (e)
		return e;
	line = base + r->pos + 1;
	len = eol - r->pos;
	if (len == 0)
		return fail(r, -EPROTO, "Protocol error: empty line");
	type = (unsigned char)base[r->pos];
	len--;

	switch (type) {
	case '$': case '=': case '!': {
		size_t plen, total = 0;

		if (!parse_ll(line, len, &n) || n < -1 || (n == -1 && type != '$'))
			return fail(r, -EPROTO, "Protocol error: invalid bulk length");
		if (n == -1) {
			type = MK_RESP_NULL;
			break;
		}
		e = bulk_body(r, base, next, n, &total, wait);
		if (e <= 0)
			return e;
		plen = (size_t)n;
		if (type == '=' && (plen < 4 || base[next + 3] != ':'))
			return fail(r, -EPROTO, "Protocol error: bad verbatim string");
		e = count_value(r);
		if (e)
			return e;
		idx = slot_take(r);
		if (idx < 0)
			return (int)idx;
		v = &r->nodes[idx];
		v->type = type;
		v->str = (const char *)(uintptr_t)next;
		v->len = plen;
		v->attr = (const struct mk_resp_value *)(uintptr_t)r->pending_attr;
		r->pending_attr = 0;
		r->pos = total;
		return value_done(r);
	}
	case '*': case '~': case '>': case '%': case '|':
		if (!parse_ll(line, len, &n) || n < -1 || (n == -1 && type != '*'))
			return fail(r, -EPROTO, "Protocol error: invalid multibulk length");
		if (n == -1) {
			type = MK_RESP_NULL;
			break;
		}
		if ((unsigned long long)n > r->lim.max_elements ||
		    ((type == '%' || type == '|') &&
		     (unsigned long long)n > r->lim.max_elements / 2))
			return fail(r, -E2BIG, "Protocol error: more than %zu elements",
				    r->lim.max_elements);
		slots = (size_t)n * ((type == '%' || type == '|') ? 2 : 1);
		/* The frame could not hold them all: say so now. */
		if (slots >= r->lim.max_elements - r->nvalues)
			return fail(r, -E2BIG, "Protocol error: more than %zu elements",
				    r->lim.max_elements);
		break;
	case '+': case '-': case '(':
		if (type == '(' && !valid_bignum(line, len))
			return fail(r, -EPROTO, "Protocol error: bad big number");
		break;
	case ':':
		if (!parse_ll(line, len, &n))
			return fail(r, -EPROTO, "Protocol error: bad integer");
		break;
	case '_':
		if (len)
			return fail(r, -EPROTO, "Protocol error: bad null");
		break;
	case '#':
		if (len != 1 || (line[0] != 't' && line[0] != 'f'))
			return fail(r, -EPROTO, "Protocol error: bad boolean");
		break;
	case ',': {
		double d;

		if (!parse_double(line, len, &d))
			return fail(r, -EPROTO, "Protocol error: bad double");
		break;
	}
	default:
		return fail(r, -EPROTO, "Protocol error: unexpected type byte 0x%02x", type);
	}

	e = count_value(r);
	if (e)
		return e;
	if (type == '|') {
		if (r->pending_attr)
			return fail(r, -EPROTO, "Protocol error: attribute after attribute");
		idx = node_append(r);
	} else {
		idx = slot_take(r);
	}
	if (idx < 0)
		return (int)idx;
	v = &r->nodes[idx];
	v->type = type;
	r->pos = next;
	switch (type) {
	case '+': case '-': case '(': case ',':
		v->str = (const char *)(uintptr_t)(r->pos - len - 2);
		v->len = len;
		if (type == ',')
			parse_double(line, len, &v->dbl);
		break;
	case ':':
		v->integer = n;
		break;
	case '#':
		v->integer = line[0] == 't';
		break;
	case '*': case '~': case '>': case '%': case '|':
		v->n = (size_t)n;
		if (slots) {
			e = push_frame(r, (size_t)idx, slots, type == '|' ? FRAME_ATTR : FRAME_AGG);
			if (e)
				return e;
		} else if (type == '|') {
			r->pending_attr = (size_t)idx + 1;
		}
		break;
	default:
		break;
	}
	if (type != '|') {
		v->attr = (const struct mk_resp_value *)(uintptr_t)r->pending_attr;
		r->pending_attr = 0;
	}
	if (slots || type == '|')
		return 0;
	return value_done(r);
}

int mk_resp_reader_next(struct mk_resp_reader *r, const struct mk_resp_value **out)
{
	bool wait;
	int e;

	if (r->err)
		return r->err;
	if (r->mode != MODE_VALUE)
		frame_reset(r, MODE_VALUE);
	for (;;) {
		if (r->pos == r->end - r->start && !r->need)
			return 0;
		e = value_step(r, &wait);
		if (e < 0)
			return e;
		if (e == 1)
			break;
		if (wait)
			return 0;
	}
	finalize(r);
	*out = &r->nodes[r->root - 1];
	frame_done(r);
	return 1;
}

/* Command mode -------------------------------------------------------- */

static int args_reserve(struct mk_resp_reader *r, size_t n)
{
	size_t ncap;
	void *a, *b, *c;

	if (n <= r->argcap)
		return 0;
	ncap = r->argcap ? r->argcap : 8;
	while (ncap < n)
		ncap *= 2;
	a = realloc(r->argoff, ncap * sizeof(*r->argoff));
	if (a)
		r->argoff = a;
	b = realloc(r->arglen, ncap * sizeof(*r->arglen));
	if (b)
		r->arglen = b;
	c = realloc(r->argv, ncap * sizeof(*r->argv));
	if (c)
		r->argv = (const char **)c;
	if (!a || !b || !c)
		return fail(r, -ENOMEM, "out of memory");
	r->argcap = ncap;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Splits the inline line [p, p + n) in place, Redis's sdssplitargs rules;
 * each argument ends up NUL-terminated. Offsets are from base.
 */
static int split_inline(struct mk_resp_reader *r, char *base, size_t from, size_t to)
{
	size_t i = from;
	int e;

	r->nargs = 0;
	for (;;) {
		size_t w, s;
		int inq = 0;	/* 1 double, 2 single quotes */

		while (i < to && (base[i] == ' ' || base[i] == '\t' || base[i] == '\r' ||
				  base[i] == '\n' || base[i] == '\v' || base[i] == '\f'))
			i++;
		if (i >= to)
			return 0;
		if (r->nargs >= r->lim.max_elements)
			return fail(r, -E2BIG, "Protocol error: more than %zu elements",
				    r->lim.max_elements);
		e = args_reserve(r, r->nargs + 1);
		if (e)
			return e;
		s = w = i;
		for (;;) {
			char c;

			if (inq == 1) {
				if (i >= to)
					return fail(r, -EPROTO, "Protocol error: unbalanced quotes in request");
				c = base[i];
				if (c == '\\' && i + 3 < to && base[i + 1] == 'x' &&
				    hexval(base[i + 2]) >= 0 && hexval(base[i + 3]) >= 0) {
					base[w++] = (char)(hexval(base[i + 2]) * 16 + hexval(base[i + 3]));
					i += 4;
				} else if (c == '\\' && i + 1 < to) {
					c = base[++i];
					base[w++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' :
						    c == 'b' ? '\b' : c == 'a' ? '\a' : c;
					i++;
				} else if (c == '"') {
					i++;
					/* A closing quote must be followed by a space. */
					if (i < to && base[i] != ' ' && base[i] != '\t' &&
					    base[i] != '\r' && base[i] != '\n')
						return fail(r, -EPROTO, "Protocol error: unbalanced quotes in request");
					break;
				} else {
					base[w++] = c;
					i++;
				}
			} else if (inq == 2) {
				if (i >= to)
					return fail(r, -EPROTO, "Protocol error: unbalanced quotes in request");
				c = base[i];
				if (c == '\\' && i + 1 < to && base[i + 1] == '\'') {
					base[w++] = '\'';
					i += 2;
				} else if (c == '\'') {
					i++;
					if (i < to && base[i] != ' ' && base[i] != '\t' &&
					    base[i] != '\r' && base[i] != '\n')
						return fail(r, -EPROTO, "Protocol error: unbalanced quotes in request");
					break;
				} else {
					base[w++] = c;
					i++;
				}
			} else {
				if (i >= to)
					break;
				c = base[i];
				if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
				    c == '\v' || c == '\f')
					break;
				if (c == '"' ) {
					inq = 1;
					i++;
				} else if (c == '\'') {
					inq = 2;
					i++;
				} else {
					base[w++] = c;
					i++;
				}
			}
		}
		r->argoff[r->nargs] = s;
		r->arglen[r->nargs] = w - s;
		r->nargs++;
		/* Terminate after the unquoted text; the byte at w is ours. */
		if (i < to) {
			base[w] = '\0';
			if (w == i)
				i++;
		} else {
			base[w] = '\0';	/* w < to, or the CR/LF at to */
		}
	}
}

/* 1: a command; 0: more bytes needed or a skipped empty frame. */
static int command_step(struct mk_resp_reader *r, bool *wait)
{
	char *base = r->buf + r->start;
	size_t eol, next;
	long long n;
	int e;

	*wait = false;
	if (r->need > r->end - r->start) {
		*wait = true;
		return 0;
	}
	if (r->argc < 0) {
		if (base[0] != '*') {
			e = find_line(r, &eol, &next, true);
			if (e <= 0) {
				*wait = e == 0;
				return e;
			}
			e = split_inline(r, base, 0, eol);
			if (e)
				return e;
			r->pos = next;
			if (r->nargs == 0) {
				frame_done(r);
				return 0;
			}
			r->argc = (long long)r->nargs;
			return 1;
		}
		if (!fast_header(r, base, &n, &next)) {
			e = find_line(r, &eol, &next, false);
			if (e <= 0) {
				*wait = e == 0;
				return e;
			}
			if (!parse_ll(base + 1, eol - 1, &n))
				return fail(r, -EPROTO, "Protocol error: invalid multibulk length");
		}
		if (n > 0 && (unsigned long long)n > r->lim.max_elements)
			return fail(r, -E2BIG, "Protocol error: invalid multibulk length");
		r->pos = next;
		if (n <= 0) {
			frame_done(r);
			return 0;
		}
		e = args_reserve(r, (size_t)n < 64 ? (size_t)n : 64);
		if (e)
			return e;
		r->argc = n;
		r->nargs = 0;
	}
	while (r->nargs < (size_t)r->argc) {
		size_t total = 0, plen;

		if (r->pos == r->end - r->start) {
			*wait = true;
			return 0;
		}
		if (base[r->pos] != '$')
			return fail(r, -EPROTO, "Protocol error: expected '$', got '%c'",
				    base[r->pos] >= 32 && base[r->pos] < 127 ? base[r->pos] : '?');
		if (!fast_header(r, base, &n, &next)) {
			e = find_line(r, &eol, &next, false);
			if (e <= 0) {
				*wait = e == 0;
				return e;
			}
			if (!parse_ll(base + r->pos + 1, eol - r->pos - 1, &n) || n < 0)
				return fail(r, -EPROTO, "Protocol error: invalid bulk length");
		}
		e = bulk_body(r, base, next, n, &total, wait);
		if (e <= 0)
			return e;
		plen = (size_t)n;
		e = args_reserve(r, r->nargs + 1);
		if (e)
			return e;
		r->argoff[r->nargs] = next;
		r->arglen[r->nargs] = plen;
		r->nargs++;
		r->pos = total;
	}
	for (size_t i = 0; i < r->nargs; i++)
		base[r->argoff[i] + r->arglen[i]] = '\0';	/* was CR */
	return 1;
}

int mk_resp_reader_next_command(struct mk_resp_reader *r, struct mk_resp_command *cmd)
{
	bool wait;
	int e;

	if (r->err)
		return r->err;
	if (r->mode != MODE_COMMAND)
		frame_reset(r, MODE_COMMAND);
	else if (r->argc < 0)
		args_shrink(r);
	for (;;) {
		if (r->pos == r->end - r->start && r->argc < 0)
			return 0;
		e = command_step(r, &wait);
		if (e < 0)
			return e;
		if (e == 1)
			break;
		if (wait)
			return 0;
		/* A skipped frame: the next one starts at the new start. */
		r->mode = MODE_COMMAND;
		r->argc = -1;
		r->nargs = 0;
	}
	for (size_t i = 0; i < r->nargs; i++)
		r->argv[i] = r->buf + r->start + r->argoff[i];
	cmd->argc = r->nargs;
	cmd->argv = r->argv;
	cmd->argvlen = r->arglen;
	frame_done(r);
	r->mode = MODE_COMMAND;
	r->argc = -1;
	r->nargs = 0;
	return 1;
}

/* Comparison ---------------------------------------------------------- */

bool mk_resp_value_equal(const struct mk_resp_value *a, const struct mk_resp_value *b)
{
	size_t n;

	if (a->type != b->type)
		return false;
	if (!a->attr != !b->attr || (a->attr && !mk_resp_value_equal(a->attr, b->attr)))
		return false;
	switch (a->type) {
	case MK_RESP_INTEGER:
	case MK_RESP_BOOLEAN:
		return a->integer == b->integer;
	case MK_RESP_DOUBLE:
		return a->dbl == b->dbl || (isnan(a->dbl) && isnan(b->dbl));
	case MK_RESP_NULL:
		return true;
	case MK_RESP_ARRAY:
	case MK_RESP_SET:
	case MK_RESP_PUSH:
	case MK_RESP_MAP:
	case MK_RESP_ATTRIBUTE:
		if (a->n != b->n)
			return false;
		n = a->n * ((a->type == MK_RESP_MAP || a->type == MK_RESP_ATTRIBUTE) ? 2 : 1);
		for (size_t i = 0; i < n; i++)
			if (!mk_resp_value_equal(&a->elems[i], &b->elems[i]))
				return false;
		return true;
	default:
		return a->len == b->len && !memcmp(a->str, b->str, a->len);
	}
}
