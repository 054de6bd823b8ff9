// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk Octopus records: parser, printer, values and natural order.
 * See <mk/oct_record.h> for the grammar.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/oct_record.h>

#include "oct_impl.h"

static const char *const err_names[OCT_ERR_COUNT] = {
	[OCT_OK] = "OK",
	[OCT_ERR_NO_RECORD] = "NO_RECORD",
	[OCT_ERR_PARSER_FAIL] = "PARSER_FAIL",
	[OCT_ERR_NO_RECORD_NAME] = "NO_RECORD_NAME",
	[OCT_ERR_CONSTRAINT_MISMATCH] = "CONSTRAINT_MISMATCH",
	[OCT_ERR_QUERY_SIZE] = "QUERY_SIZE",
	[OCT_ERR_INVALID_FORMAT] = "INVALID_FORMAT",
	[OCT_ERR_UNKNOWN_ATTRIBUTE] = "UNKNOWN_ATTRIBUTE",
	[OCT_ERR_TYPE_MISMATCH] = "TYPE_MISMATCH",
	[OCT_ERR_INVALID_ID] = "INVALID_ID",
	[OCT_ERR_NO_SUBSCRIBERS] = "NO_SUBSCRIBERS",
	[OCT_ERR_NO_MEMORY] = "NO_MEMORY",
	[OCT_ERR_ENGINE_FAIL] = "ENGINE_FAIL",
};

static const char *const err_strs[OCT_ERR_COUNT] = {
	[OCT_OK] = "Success",
	[OCT_ERR_NO_RECORD] = "No record found",
	[OCT_ERR_PARSER_FAIL] = "Parsing the record or query failed",
	[OCT_ERR_NO_RECORD_NAME] = "The operation needs a literal record name",
	[OCT_ERR_CONSTRAINT_MISMATCH] = "The stored record does not satisfy the constraints",
	[OCT_ERR_QUERY_SIZE] = "The record or query exceeds a configured limit",
	[OCT_ERR_INVALID_FORMAT] = "Invalid format string",
	[OCT_ERR_UNKNOWN_ATTRIBUTE] = "Attribute not found in the record",
	[OCT_ERR_TYPE_MISMATCH] = "Attribute value of another type",
	[OCT_ERR_INVALID_ID] = "No trigger or subscription with that id",
	[OCT_ERR_NO_SUBSCRIBERS] = "No subscriber received the message",
	[OCT_ERR_NO_MEMORY] = "Out of memory",
	[OCT_ERR_ENGINE_FAIL] = "Internal error",
};

const char *oct_err_name(enum oct_err err)
{
	if ((unsigned int)err >= OCT_ERR_COUNT)
		return NULL;
	return err_names[err];
}

const char *oct_err_str(enum oct_err err)
{
	if ((unsigned int)err >= OCT_ERR_COUNT)
		return NULL;
	return err_strs[err];
}

/* ---- values and records ---- */

static int str_dup(struct oct_str *d, const char *p, size_t len)
{
	d->p = malloc(len + 1);
	if (!d->p)
		return -1;
	if (len)
		memcpy(d->p, p, len);
	d->p[len] = '\0';
	d->len = len;
	return 0;
}

static bool has_str(enum oct_vtype t)
{
	return t == OCT_V_STRING || t == OCT_V_IDENT || t == OCT_V_REGEX;
}

static void value_free(struct oct_value *v)
{
	if (has_str(v->type))
		free(v->s.p);
}

static int value_dup(struct oct_value *d, const struct oct_value *v)
{
	*d = *v;
	if (has_str(v->type))
		return str_dup(&d->s, v->s.p, v->s.len);
	return 0;
}

void oct_record_free(struct oct_record *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->nattrs; i++) {
		free(rec->attrs[i].key.p);
		value_free(&rec->attrs[i].val);
	}
	free(rec->attrs);
	free(rec->name.p);
	free(rec);
}

static int attrs_reserve(struct oct_record *rec, size_t n)
{
	if (n <= rec->cap)
		return 0;
	size_t cap = rec->cap ? rec->cap * 2 : 4;
	while (cap < n)
		cap *= 2;
	struct oct_attr *a = realloc(rec->attrs, cap * sizeof(*a));
	if (!a)
		return -1;
	rec->attrs = a;
	rec->cap = cap;
	return 0;
}

struct oct_record *oct_record_dup(const struct oct_record *rec)
{
	struct oct_record *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->name_kind = rec->name_kind;
	if (str_dup(&d->name, rec->name.p, rec->name.len) ||
	    attrs_reserve(d, rec->nattrs))
		goto fail;
	for (size_t i = 0; i < rec->nattrs; i++) {
		struct oct_attr *a = &d->attrs[i];

		if (str_dup(&a->key, rec->attrs[i].key.p, rec->attrs[i].key.len))
			goto fail;
		a->op = rec->attrs[i].op;
		if (value_dup(&a->val, &rec->attrs[i].val)) {
			free(a->key.p);
			goto fail;
		}
		d->nattrs++;
	}
	return d;
fail:
	oct_record_free(d);
	return NULL;
}

struct oct_record *oct_record_new(const char *name, size_t len)
{
	struct oct_record *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->name_kind = OCT_NAME_LITERAL;
	if (str_dup(&r->name, name, len)) {
		free(r);
		return NULL;
	}
	return r;
}

int oct_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int oct_record_add(struct oct_record *rec, const char *key, size_t keylen,
		   enum oct_op op, const struct oct_value *val)
{
	struct oct_attr a;
	size_t at = rec->nattrs;

	if (attrs_reserve(rec, rec->nattrs + 1))
		return -1;
	if (str_dup(&a.key, key, keylen))
		return -1;
	a.op = op;
	if (value_dup(&a.val, val)) {
		free(a.key.p);
		return -1;
	}
	/* After the last term with a key <= this one: sorted and stable. */
	while (at > 0 && oct_key_cmp(rec->attrs[at - 1].key.p,
				     rec->attrs[at - 1].key.len,
				     key, keylen) > 0)
		at--;
	memmove(&rec->attrs[at + 1], &rec->attrs[at],
		(rec->nattrs - at) * sizeof(a));
	rec->attrs[at] = a;
	rec->nattrs++;
	return 0;
}

struct oct_value oct_int(int64_t i)
{
	return (struct oct_value){ .type = OCT_V_INT, .i = i };
}

struct oct_value oct_float(double f)
{
	return (struct oct_value){ .type = OCT_V_FLOAT, .f = f };
}

struct oct_value oct_bool(bool b)
{
	return (struct oct_value){ .type = OCT_V_BOOL, .b = b };
}

struct oct_value oct_string(const char *s, size_t len)
{
	return (struct oct_value){ .type = OCT_V_STRING,
				   .s = { (char *)s, len } };
}

struct oct_value oct_ident(const char *s, size_t len)
{
	return (struct oct_value){ .type = OCT_V_IDENT,
				   .s = { (char *)s, len } };
}

const struct oct_attr *oct_record_find(const struct oct_record *rec,
				       const char *key, size_t keylen)
{
	size_t lo = 0, hi = rec->nattrs;

	/* First index whose key is >= key. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (oct_key_cmp(rec->attrs[mid].key.p, rec->attrs[mid].key.len,
				key, keylen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < rec->nattrs; lo++) {
		const struct oct_attr *a = &rec->attrs[lo];

		if (oct_key_cmp(a->key.p, a->key.len, key, keylen))
			break;
		if (a->op == OCT_OP_VALUE)
			return a;
	}
	return NULL;
}

bool oct_record_is_plain(const struct oct_record *rec)
{
	if (rec->name_kind != OCT_NAME_LITERAL)
		return false;
	for (size_t i = 0; i < rec->nattrs; i++) {
		const struct oct_attr *a = &rec->attrs[i];

		if (a->op != OCT_OP_VALUE || a->val.type == OCT_V_ANY ||
		    a->val.type == OCT_V_REGEX)
			return false;
		if (i > 0 && !oct_key_cmp(a->key.p, a->key.len,
					  rec->attrs[i - 1].key.p,
					  rec->attrs[i - 1].key.len))
			return false;
	}
	return true;
}

bool oct_record_has_constraints(const struct oct_record *rec)
{
	for (size_t i = 0; i < rec->nattrs; i++)
		if (rec->attrs[i].op != OCT_OP_VALUE)
			return true;
	return false;
}

static bool is_num(enum oct_vtype t)
{
	return t == OCT_V_INT || t == OCT_V_FLOAT;
}

/* int64 against double, exactly (no rounding of large integers). */
static int cmp_int_float(int64_t i, double f)
{
	if (f >= 9223372036854775808.0)
		return -1;
	if (f < -9223372036854775808.0)
		return 1;
	int64_t ti = (int64_t)f;	/* truncates: in range here */
	double t = (double)ti;		/* exact: trunc(f) is a double */

	if (i != ti)
		return i < ti ? -1 : 1;
	if (f > t)
		return -1;
	if (f < t)
		return 1;
	return 0;
}

bool oct_value_cmp(const struct oct_value *a, const struct oct_value *b,
		   int *cmp)
{
	if (is_num(a->type) && is_num(b->type)) {
		if (a->type == OCT_V_INT && b->type == OCT_V_INT) {
			*cmp = (a->i > b->i) - (a->i < b->i);
			return true;
		}
		if ((a->type == OCT_V_FLOAT && isnan(a->f)) ||
		    (b->type == OCT_V_FLOAT && isnan(b->f)))
			return false;
		if (a->type == OCT_V_FLOAT && b->type == OCT_V_FLOAT)
			*cmp = (a->f > b->f) - (a->f < b->f);
		else if (a->type == OCT_V_INT)
			*cmp = cmp_int_float(a->i, b->f);
		else
			*cmp = -cmp_int_float(b->i, a->f);
		return true;
	}
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case OCT_V_STRING:
	case OCT_V_IDENT:
		*cmp = oct_key_cmp(a->s.p, a->s.len, b->s.p, b->s.len);
		*cmp = (*cmp > 0) - (*cmp < 0);
		return true;
	case OCT_V_BOOL:
		*cmp = (int)a->b - (int)b->b;
		return true;
	default:
		return false;
	}
}

bool oct_value_equal(const struct oct_value *a, const struct oct_value *b)
{
	int c;

	return oct_value_cmp(a, b, &c) && c == 0;
}

/* ---- natural order ---- */

static bool dig(char c)
{
	return c >= '0' && c <= '9';
}

int oct_natural_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen && j < blen) {
		if (dig(a[i]) && dig(b[j])) {
			size_t si = i, sj = j, ei, ej;

			while (si < alen && a[si] == '0')
				si++;
			while (sj < blen && b[sj] == '0')
				sj++;
			for (ei = si; ei < alen && dig(a[ei]); ei++)
				;
			for (ej = sj; ej < blen && dig(b[ej]); ej++)
				;
			if (ei - si != ej - sj)
				return ei - si < ej - sj ? -1 : 1;
			int c = memcmp(a + si, b + sj, ei - si);

			if (c)
				return c < 0 ? -1 : 1;
			i = ei;
			j = ej;
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
		i++;
		j++;
	}
	if (i < alen || j < blen)
		return i < alen ? 1 : -1;
	/* Equal but for leading zeros: bytewise, for a total order. */
	int c = oct_key_cmp(a, alen, b, blen);

	return (c > 0) - (c < 0);
}

/* ---- parser ---- */

struct parser {
	const char *buf;
	size_t len;
	size_t pos;
	bool to_store;	/* oct_parse_record(): values are literals */
	struct oct_parse_error err;
};

static int fail(struct parser *p, enum oct_err code, size_t pos,
		const char *msg)
{
	p->err.code = code;
	p->err.pos = pos;
	p->err.msg = msg;
	return -1;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->buf[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' &&
		    c != '\f' && c != '\v')
			break;
		p->pos++;
	}
}

static bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool oct_is_key_char(char c)
{
	return alpha(c) || dig(c) || c == '.' || c == '-';
}

bool oct_is_name_char(char c)
{
	return oct_is_key_char(c) || c == '/';
}

static int peek(struct parser *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->buf[p->pos + off] : -1;
}

/*
 * A quoted string at p->pos (the opening quote). regex: keep backslash
 * sequences other than \' as they are.
 */
static int parse_quoted(struct parser *p, bool regex, struct oct_str *out)
{
	size_t start = p->pos;
	size_t i = p->pos + 1, n = 0;
	char *s;

	/* First pass: find the end and the length. */
	for (;;) {
		if (i >= p->len)
			return fail(p, OCT_ERR_PARSER_FAIL, start,
				    "unterminated string");
		char c = p->buf[i];

		if (c == '\'')
			break;
		if (c == '\0')
			return fail(p, OCT_ERR_PARSER_FAIL, i, "NUL byte");
		if (c == '\\') {
			if (i + 1 >= p->len)
				return fail(p, OCT_ERR_PARSER_FAIL, start,
					    "unterminated string");
			char e = p->buf[i + 1];

			if (e == '\0')
				return fail(p, OCT_ERR_PARSER_FAIL, i + 1,
					    "NUL byte");
			if (e == '\'' || (!regex && e == '\\'))
				n += 1;
			else if (regex)
				n += 2;
			else
				return fail(p, OCT_ERR_PARSER_FAIL, i,
					    "unknown escape in string");
			i += 2;
			continue;
		}
		n++;
		i++;
	}
	s = malloc(n + 1);
	if (!s)
		return fail(p, OCT_ERR_NO_MEMORY, start, "out of memory");
	n = 0;
	for (i = p->pos + 1; p->buf[i] != '\''; ) {
		if (p->buf[i] == '\\') {
			char e = p->buf[i + 1];

			if (e == '\'' || (!regex && e == '\\')) {
				s[n++] = e;
			} else {
				s[n++] = '\\';
				s[n++] = e;
			}
			i += 2;
		} else {
			s[n++] = p->buf[i++];
		}
	}
	s[n] = '\0';
	out->p = s;
	out->len = n;
	p->pos = i + 1;
	return 0;
}

static size_t scan_word(struct parser *p, bool name)
{
	size_t i = p->pos;

	if (i >= p->len || !alpha(p->buf[i]))
		return 0;
	for (i++; i < p->len; i++)
		if (!(name ? oct_is_name_char(p->buf[i]) :
			     oct_is_key_char(p->buf[i])))
			break;
	return i - p->pos;
}

static int parse_number(struct parser *p, struct oct_value *v)
{
	size_t start = p->pos, i = p->pos;
	bool isfloat = false, hex = false;
	char tmp[64], *end;
	char *num;

	if (i < p->len && p->buf[i] == '-')
		i++;
	if (i + 1 < p->len && p->buf[i] == '0' &&
	    (p->buf[i + 1] == 'x' || p->buf[i + 1] == 'X')) {
		hex = true;
		i += 2;
		size_t d = i;

		while (i < p->len && ((p->buf[i] >= '0' && p->buf[i] <= '9') ||
				      (p->buf[i] >= 'a' && p->buf[i] <= 'f') ||
				      (p->buf[i] >= 'A' && p->buf[i] <= 'F')))
			i++;
		if (i == d)
			return fail(p, OCT_ERR_PARSER_FAIL, i, "bad hex number");
	} else {
		while (i < p->len && dig(p->buf[i]))
			i++;
		if (i < p->len && p->buf[i] == '.') {
			i++;
			if (i >= p->len || !dig(p->buf[i]))
				return fail(p, OCT_ERR_PARSER_FAIL, i,
					    "digit expected after '.'");
			while (i < p->len && dig(p->buf[i]))
				i++;
			isfloat = true;
		}
		if (i < p->len && (p->buf[i] == 'e' || p->buf[i] == 'E')) {
			i++;
			if (i < p->len && (p->buf[i] == '+' || p->buf[i] == '-'))
				i++;
			if (i >= p->len || !dig(p->buf[i]))
				return fail(p, OCT_ERR_PARSER_FAIL, i,
					    "digit expected in exponent");
			while (i < p->len && dig(p->buf[i]))
				i++;
			isfloat = true;
		}
	}
	if (i < p->len && (oct_is_key_char(p->buf[i]) || p->buf[i] == '\''))
		return fail(p, OCT_ERR_PARSER_FAIL, i, "bad number");

	size_t n = i - start;

	num = n < sizeof(tmp) ? tmp : malloc(n + 1);
	if (!num)
		return fail(p, OCT_ERR_NO_MEMORY, start, "out of memory");
	memcpy(num, p->buf + start, n);
	num[n] = '\0';
	errno = 0;
	if (isfloat) {
		v->type = OCT_V_FLOAT;
		v->f = strtod(num, &end);
		/* Too large, or so small that it would be stored as 0.0:
		 * refused rather than kept as another number. (A subnormal
		 * result, also ERANGE, is kept: it is a nonzero value.) */
		if (!isfinite(v->f) || (errno == ERANGE && v->f == 0.0)) {
			if (num != tmp)
				free(num);
			return fail(p, OCT_ERR_PARSER_FAIL, start,
				    isfinite(v->f) ? "float underflows to 0" :
						     "float out of range");
		}
	} else {
		v->type = OCT_V_INT;
		v->i = strtoll(num, &end, hex ? 16 : 10);
		if (errno == ERANGE) {
			if (num != tmp)
				free(num);
			return fail(p, OCT_ERR_PARSER_FAIL, start,
				    "integer out of range");
		}
	}
	if (num != tmp)
		free(num);
	p->pos = i;
	return 0;
}

/* Where '_' and regexes may not stand, and the words for it. */
enum pattern_ban { PATTERN_OK, PATTERN_IN_CONSTRAINT, PATTERN_IN_RECORD };

/* A value; '_' and regexes allowed unless ban says otherwise. */
static int parse_value(struct parser *p, enum pattern_ban ban,
		       struct oct_value *v)
{
	int c = peek(p, 0);
	size_t start = p->pos;

	if (c == '\'') {
		v->type = OCT_V_STRING;
		return parse_quoted(p, false, &v->s);
	}
	if (c == 'r' && peek(p, 1) == '\'') {
		if (ban)
			return fail(p, OCT_ERR_PARSER_FAIL, start,
				    ban == PATTERN_IN_RECORD ?
				    "regex not allowed in a record to store (only in queries)" :
				    "regex not allowed in a constraint");
		p->pos++;
		v->type = OCT_V_REGEX;
		return parse_quoted(p, true, &v->s);
	}
	if (c >= 0 && (dig((char)c) || (c == '-' && peek(p, 1) >= 0 &&
					 dig((char)peek(p, 1)))))
		return parse_number(p, v);
	size_t n = scan_word(p, false);

	if (n == 0)
		return fail(p, OCT_ERR_PARSER_FAIL, start, "value expected");
	const char *w = p->buf + p->pos;

	if (n == 1 && w[0] == '_') {
		if (ban)
			return fail(p, OCT_ERR_PARSER_FAIL, start,
				    ban == PATTERN_IN_RECORD ?
				    "'_' not allowed in a record to store (only in queries)" :
				    "'_' not allowed in a constraint");
		v->type = OCT_V_ANY;
	} else if (n == 4 && !memcmp(w, "true", 4)) {
		*v = oct_bool(true);
	} else if (n == 5 && !memcmp(w, "false", 5)) {
		*v = oct_bool(false);
	} else {
		v->type = OCT_V_IDENT;
		if (str_dup(&v->s, w, n))
			return fail(p, OCT_ERR_NO_MEMORY, start,
				    "out of memory");
	}
	p->pos += n;
	return 0;
}

static int parse_op(struct parser *p, enum oct_op *op)
{
	int a = peek(p, 0), b = peek(p, 1);

	if (a == ':') {
		*op = OCT_OP_VALUE;
		p->pos++;
		return 0;
	}
	if (a == '=' && b == '=')
		*op = OCT_OP_EQ;
	else if (a == '!' && b == '=')
		*op = OCT_OP_NE;
	else if (a == '<' && b == '=')
		*op = OCT_OP_LE;
	else if (a == '>' && b == '=')
		*op = OCT_OP_GE;
	else if (a == '<') {
		*op = OCT_OP_LT;
		p->pos++;
		return 0;
	} else if (a == '>') {
		*op = OCT_OP_GT;
		p->pos++;
		return 0;
	} else
		return fail(p, OCT_ERR_PARSER_FAIL, p->pos,
			    "':' or a comparison expected");
	p->pos += 2;
	return 0;
}

struct sort_ent {
	struct oct_attr a;
	size_t pos;
	size_t idx;
};

static int sort_cmp(const void *x, const void *y)
{
	const struct sort_ent *a = x, *b = y;
	int c = oct_key_cmp(a->a.key.p, a->a.key.len, b->a.key.p, b->a.key.len);

	if (c)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int parse_record(struct parser *p, const struct oct_limits *lim,
			struct oct_record *rec)
{
	struct sort_ent *ents = NULL;
	size_t n = 0, cap = 0;

	skip_ws(p);
	size_t start = p->pos;

	if (peek(p, 0) == 'r' && peek(p, 1) == '\'') {
		p->pos++;
		rec->name_kind = OCT_NAME_REGEX;
		if (parse_quoted(p, true, &rec->name))
			return -1;
	} else {
		size_t len = scan_word(p, true);

		if (len == 0)
			return fail(p, OCT_ERR_PARSER_FAIL, start,
				    "record name expected");
		rec->name_kind = len == 1 && p->buf[start] == '_' ?
				 OCT_NAME_ANY : OCT_NAME_LITERAL;
		if (str_dup(&rec->name, p->buf + start, len))
			return fail(p, OCT_ERR_NO_MEMORY, start,
				    "out of memory");
		p->pos += len;
	}
	skip_ws(p);
	if (p->pos == p->len)
		return 0;
	if (peek(p, 0) != '{')
		return fail(p, OCT_ERR_PARSER_FAIL, p->pos, "'{' expected");
	p->pos++;
	skip_ws(p);
	if (peek(p, 0) == '}') {
		p->pos++;
		goto end;
	}
	for (;;) {
		struct sort_ent e;
		size_t kpos = p->pos;
		size_t klen = scan_word(p, false);

		if (klen == 0)
			goto fail_key;
		if (n >= lim->max_terms) {
			fail(p, OCT_ERR_QUERY_SIZE, kpos, "too many terms");
			goto fail;
		}
		if (str_dup(&e.a.key, p->buf + kpos, klen)) {
			fail(p, OCT_ERR_NO_MEMORY, kpos, "out of memory");
			goto fail;
		}
		p->pos += klen;
		skip_ws(p);
		if (parse_op(p, &e.a.op)) {
			free(e.a.key.p);
			goto fail;
		}
		skip_ws(p);
		if (parse_value(p, e.a.op != OCT_OP_VALUE ? PATTERN_IN_CONSTRAINT :
				p->to_store ? PATTERN_IN_RECORD : PATTERN_OK,
				&e.a.val)) {
			free(e.a.key.p);
			goto fail;
		}
		e.pos = kpos;
		e.idx = n;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct sort_ent *ne = realloc(ents, nc * sizeof(*ne));

			if (!ne) {
				free(e.a.key.p);
				value_free(&e.a.val);
				fail(p, OCT_ERR_NO_MEMORY, kpos,
				     "out of memory");
				goto fail;
			}
			ents = ne;
			cap = nc;
		}
		ents[n++] = e;
		skip_ws(p);
		if (peek(p, 0) == ',') {
			p->pos++;
			skip_ws(p);
			continue;
		}
		if (peek(p, 0) == '}') {
			p->pos++;
			break;
		}
		if (p->pos >= p->len)
			fail(p, OCT_ERR_PARSER_FAIL, p->pos,
			     "unterminated record: '}' expected");
		else
			fail(p, OCT_ERR_PARSER_FAIL, p->pos,
			     "',' or '}' expected");
		goto fail;
	}
	qsort(ents, n, sizeof(*ents), sort_cmp);
	for (size_t i = 1; i < n; i++) {
		if (ents[i].a.op == OCT_OP_VALUE &&
		    !oct_key_cmp(ents[i].a.key.p, ents[i].a.key.len,
				 ents[i - 1].a.key.p, ents[i - 1].a.key.len)) {
			/* An earlier same-key value term? */
			for (size_t j = i; j-- > 0;) {
				if (oct_key_cmp(ents[i].a.key.p,
						ents[i].a.key.len,
						ents[j].a.key.p,
						ents[j].a.key.len))
					break;
				if (ents[j].a.op == OCT_OP_VALUE) {
					fail(p, OCT_ERR_PARSER_FAIL,
					     ents[i].pos,
					     "duplicate attribute");
					goto fail;
				}
			}
		}
	}
	if (n) {
		rec->attrs = malloc(n * sizeof(*rec->attrs));
		if (!rec->attrs) {
			fail(p, OCT_ERR_NO_MEMORY, start, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			rec->attrs[i] = ents[i].a;
		rec->nattrs = rec->cap = n;
	}
	free(ents);
	ents = NULL;
end:
	skip_ws(p);
	if (p->pos != p->len)
		return fail(p, OCT_ERR_PARSER_FAIL, p->pos,
			    "unexpected input after the record");
	return 0;
fail_key:
	if (p->pos >= p->len)
		fail(p, OCT_ERR_PARSER_FAIL, p->pos,
		     "unterminated record: attribute or '}' expected");
	else
		fail(p, OCT_ERR_PARSER_FAIL, p->pos, "attribute name expected");
fail:
	for (size_t i = 0; i < n; i++) {
		free(ents[i].a.key.p);
		value_free(&ents[i].a.val);
	}
	free(ents);
	return -1;
}

static enum oct_err parse(const char *buf, size_t len, bool to_store,
			  const struct oct_limits *limits,
			  struct oct_record **out, struct oct_parse_error *err)
{
	struct oct_limits lim = {
		.max_input = OCT_DEFAULT_MAX_INPUT,
		.max_terms = OCT_DEFAULT_MAX_TERMS,
	};
	struct parser p = { .buf = buf, .len = len, .to_store = to_store };
	struct oct_record *rec;

	*out = NULL;
	if (limits && limits->max_input)
		lim.max_input = limits->max_input;
	if (limits && limits->max_terms)
		lim.max_terms = limits->max_terms;
	if (len > lim.max_input) {
		fail(&p, OCT_ERR_QUERY_SIZE, lim.max_input, "input too long");
		goto out;
	}
	if (!buf && len) {
		fail(&p, OCT_ERR_PARSER_FAIL, 0, "no input");
		goto out;
	}
	/* NULs first: everything after may then use C string functions. */
	const char *nul = len ? memchr(buf, '\0', len) : NULL;

	if (nul) {
		fail(&p, OCT_ERR_PARSER_FAIL, (size_t)(nul - buf), "NUL byte");
		goto out;
	}
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		fail(&p, OCT_ERR_NO_MEMORY, 0, "out of memory");
		goto out;
	}
	if (parse_record(&p, &lim, rec)) {
		oct_record_free(rec);
		goto out;
	}
	*out = rec;
	p.err.code = OCT_OK;
	p.err.pos = 0;
	p.err.msg = "ok";
out:
	if (err)
		*err = p.err;
	return p.err.code;
}

enum oct_err oct_parse(const char *buf, size_t len,
		       const struct oct_limits *limits,
		       struct oct_record **out, struct oct_parse_error *err)
{
	return parse(buf, len, false, limits, out, err);
}

enum oct_err oct_parse_record(const char *buf, size_t len,
			      const struct oct_limits *limits,
			      struct oct_record **out,
			      struct oct_parse_error *err)
{
	return parse(buf, len, true, limits, out, err);
}
