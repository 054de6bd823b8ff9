// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk Octopus records: the canonical printer ('strings', floats that
 * read back exactly, always with a decimal point). Reading values back
 * out of a record's text, oct_read(), is read.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/oct_record.h>

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
