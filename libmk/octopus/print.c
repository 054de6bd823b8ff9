// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk Octopus records: the canonical printer and oct_read(), the
 * scanf-like reader for clients.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/oct_record.h>

#include "oct_impl.h"

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_quoted(struct sbuf *b, const struct oct_str *s, bool regex)
{
	size_t run = 0;

	sb_put(b, regex ? "r'" : "'", regex ? 2 : 1);
	for (size_t i = 0; i < s->len; i++) {
		char c = s->p[i];

		if (c == '\'' || (!regex && c == '\\')) {
			sb_put(b, s->p + run, i - run);
			sb_put(b, "\\", 1);
			run = i;
		}
	}
	sb_put(b, s->p + run, s->len - run);
	sb_put(b, "'", 1);
}

/* Shortest of %.15g..%.17g that reads back exactly, with a '.'. */
static void fmt_float(double f, char *out, size_t n)
{
	char tmp[40];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	if (!isfinite(f) || strchr(tmp, '.')) {
		snprintf(out, n, "%s", tmp);
		return;
	}
	char *e = strchr(tmp, 'e');

	if (e)
		snprintf(out, n, "%.*s.0%s", (int)(e - tmp), tmp, e);
	else
		snprintf(out, n, "%s.0", tmp);
}

static void sb_value(struct sbuf *b, const struct oct_value *v)
{
	char num[48];

	switch (v->type) {
	case OCT_V_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		sb_puts(b, num);
		break;
	case OCT_V_FLOAT:
		fmt_float(v->f, num, sizeof(num));
		sb_puts(b, num);
		break;
	case OCT_V_STRING:
		sb_quoted(b, &v->s, false);
		break;
	case OCT_V_IDENT:
		sb_put(b, v->s.p, v->s.len);
		break;
	case OCT_V_BOOL:
		sb_puts(b, v->b ? "true" : "false");
		break;
	case OCT_V_ANY:
		sb_puts(b, "_");
		break;
	case OCT_V_REGEX:
		sb_quoted(b, &v->s, true);
		break;
	}
}

static const char *const op_text[] = {
	[OCT_OP_VALUE] = ": ", [OCT_OP_EQ] = " == ", [OCT_OP_NE] = " != ",
	[OCT_OP_LT] = " < ",   [OCT_OP_LE] = " <= ", [OCT_OP_GT] = " > ",
	[OCT_OP_GE] = " >= ",
};

char *oct_print(const struct oct_record *rec, size_t *len)
{
	struct sbuf b = { 0 };

	if (rec->name_kind == OCT_NAME_REGEX)
		sb_quoted(&b, &rec->name, true);
	else if (rec->name_kind == OCT_NAME_ANY)
		sb_puts(&b, "_");
	else
		sb_put(&b, rec->name.p, rec->name.len);
	if (rec->nattrs == 0) {
		sb_puts(&b, " {}");
	} else {
		sb_puts(&b, " { ");
		for (size_t i = 0; i < rec->nattrs; i++) {
			const struct oct_attr *a = &rec->attrs[i];

			if (i)
				sb_puts(&b, ", ");
			sb_put(&b, a->key.p, a->key.len);
			sb_puts(&b, op_text[a->op]);
			sb_value(&b, &a->val);
		}
		sb_puts(&b, " }");
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

/* ---- oct_read ---- */

static void skip_ws(const char **s)
{
	while (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')
		(*s)++;
}

static size_t word(const char *s, bool name)
{
	size_t n = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      s[0] == '_'))
		return 0;
	for (n = 1; s[n]; n++)
		if (!(name ? oct_is_name_char(s[n]) : oct_is_key_char(s[n])))
			break;
	return n;
}

enum oct_err oct_read(const char *record_text, const char *fmt, ...)
{
	struct oct_record *rec = NULL;
	char **filled[64];
	size_t nfilled = 0;
	char ***more = NULL;
	size_t nmore = 0;
	enum oct_err err = OCT_OK;
	const char *f = fmt;
	va_list ap;

	if (!record_text || !fmt)
		return OCT_ERR_INVALID_FORMAT;
	err = oct_parse(record_text, strlen(record_text), NULL, &rec, NULL);
	if (err != OCT_OK)
		return err == OCT_ERR_NO_MEMORY ? err : OCT_ERR_PARSER_FAIL;
	if (rec->name_kind != OCT_NAME_LITERAL) {
		oct_record_free(rec);
		return OCT_ERR_PARSER_FAIL;
	}
	va_start(ap, fmt);

	/* Remembers a filled char ** so that an error can undo it. */
#define REMEMBER(pp)							\
	do {								\
		if (nfilled < sizeof(filled) / sizeof(filled[0])) {	\
			filled[nfilled++] = (pp);			\
		} else {						\
			char ***m = realloc(more, (nmore + 1) * sizeof(*m)); \
			if (!m) {					\
				free(*(pp));				\
				*(pp) = NULL;				\
				err = OCT_ERR_NO_MEMORY;		\
				goto out;				\
			}						\
			more = m;					\
			more[nmore++] = (pp);				\
		}							\
	} while (0)

	skip_ws(&f);
	if (f[0] == '%' && f[1] == 's') {
		char **pp = va_arg(ap, char **);

		*pp = strdup(rec->name.p);
		if (!*pp) {
			err = OCT_ERR_NO_MEMORY;
			goto out;
		}
		REMEMBER(pp);
		f += 2;
	} else {
		size_t n = word(f, true);

		if (n == 0) {
			err = OCT_ERR_INVALID_FORMAT;
			goto out;
		}
		if (!(n == 1 && f[0] == '_') &&
		    (n != rec->name.len || memcmp(f, rec->name.p, n))) {
			err = OCT_ERR_NO_RECORD;
			goto out;
		}
		f += n;
	}
	skip_ws(&f);
	if (*f == '\0')
		goto out;
	if (*f++ != '{') {
		err = OCT_ERR_INVALID_FORMAT;
		goto out;
	}
	skip_ws(&f);
	if (*f == '}')
		goto close;
	for (;;) {
		size_t n = word(f, false);

		if (n == 0) {
			err = OCT_ERR_INVALID_FORMAT;
			goto out;
		}
		const struct oct_attr *a = oct_record_find(rec, f, n);

		f += n;
		skip_ws(&f);
		if (*f++ != ':') {
			err = OCT_ERR_INVALID_FORMAT;
			goto out;
		}
		skip_ws(&f);
		if (f[0] != '%' || !f[1] || !strchr("dfsb", f[1])) {
			err = OCT_ERR_INVALID_FORMAT;
			goto out;
		}
		char conv = f[1];

		f += 2;
		if (!a) {
			err = OCT_ERR_UNKNOWN_ATTRIBUTE;
			goto out;
		}
		const struct oct_value *v = &a->val;

		switch (conv) {
		case 'd':
			if (v->type != OCT_V_INT) {
				err = OCT_ERR_TYPE_MISMATCH;
				goto out;
			}
			*va_arg(ap, int64_t *) = v->i;
			break;
		case 'f':
			if (v->type == OCT_V_INT) {
				*va_arg(ap, double *) = (double)v->i;
			} else if (v->type == OCT_V_FLOAT) {
				*va_arg(ap, double *) = v->f;
			} else {
				err = OCT_ERR_TYPE_MISMATCH;
				goto out;
			}
			break;
		case 'b':
			if (v->type != OCT_V_BOOL) {
				err = OCT_ERR_TYPE_MISMATCH;
				goto out;
			}
			*va_arg(ap, bool *) = v->b;
			break;
		default: {
			if (v->type != OCT_V_STRING && v->type != OCT_V_IDENT) {
				err = OCT_ERR_TYPE_MISMATCH;
				goto out;
			}
			char **pp = va_arg(ap, char **);

			*pp = malloc(v->s.len + 1);
			if (!*pp) {
				err = OCT_ERR_NO_MEMORY;
				goto out;
			}
			memcpy(*pp, v->s.p, v->s.len + 1);
			REMEMBER(pp);
			break;
		}
		}
		skip_ws(&f);
		if (*f == ',') {
			f++;
			skip_ws(&f);
			continue;
		}
		break;
	}
close:
	if (*f++ != '}') {
		err = OCT_ERR_INVALID_FORMAT;
		goto out;
	}
	skip_ws(&f);
	if (*f)
		err = OCT_ERR_INVALID_FORMAT;
out:
#undef REMEMBER
	va_end(ap);
	if (err != OCT_OK) {
		for (size_t i = 0; i < nfilled; i++) {
			free(*filled[i]);
			*filled[i] = NULL;
		}
		for (size_t i = 0; i < nmore; i++) {
			free(*more[i]);
			*more[i] = NULL;
		}
	}
	free(more);
	oct_record_free(rec);
	return err;
}
