// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk Octopus records: oct_read(), the scanf-like reader for clients
 * (the format is in <mk/oct_record.h>). It parses the record with the
 * record parser, then walks the format against it: the name, then each
 * `key: %conv` looked up in the record. print.c is the other direction.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <mk/oct_record.h>

#include "oct_impl.h"

/*
 * One call: the parsed record, where the format is, the arguments, and
 * every char ** filled so far, so that a later error can free them all
 * (the contract: on error nothing stays allocated). The first 64 are
 * remembered without allocating; more go to a growing array.
 */
struct reader {
	const struct oct_record *rec;
	const char *f;
	va_list ap;
	char **filled[64];
	size_t nfilled;
	char ***more;
	size_t nmore;
};

static void skip_ws(struct reader *rd)
{
	while (*rd->f == ' ' || *rd->f == '\t' || *rd->f == '\n' ||
	       *rd->f == '\r')
		rd->f++;
}

/* The length of the name (or key) at s; 0 if none starts there. */
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

/* Skips c (after white space); false if something else is there. */
static bool expect(struct reader *rd, char c)
{
	skip_ws(rd);
	if (*rd->f != c)
		return false;
	rd->f++;
	return true;
}

/* Remembers a filled char ** so that an error can undo it. */
static enum oct_err remember(struct reader *rd, char **pp)
{
	char ***m;

	if (rd->nfilled < sizeof(rd->filled) / sizeof(rd->filled[0])) {
		rd->filled[rd->nfilled++] = pp;
		return OCT_OK;
	}
	m = realloc(rd->more, (rd->nmore + 1) * sizeof(*m));
	if (!m) {
		free(*pp);
		*pp = NULL;
		return OCT_ERR_NO_MEMORY;
	}
	rd->more = m;
	rd->more[rd->nmore++] = pp;
	return OCT_OK;
}

/* Undoes every remembered char ** (on error). */
static void forget_all(struct reader *rd)
{
	for (size_t i = 0; i < rd->nfilled; i++) {
		free(*rd->filled[i]);
		*rd->filled[i] = NULL;
	}
	for (size_t i = 0; i < rd->nmore; i++) {
		free(*rd->more[i]);
		*rd->more[i] = NULL;
	}
}

/* The next argument, a char **, gets a malloc()ed copy of s. */
static enum oct_err put_string(struct reader *rd, const struct oct_str *s)
{
	char **pp = va_arg(rd->ap, char **);

	*pp = malloc(s->len + 1);
	if (!*pp)
		return OCT_ERR_NO_MEMORY;
	memcpy(*pp, s->p, s->len);
	(*pp)[s->len] = '\0';
	return remember(rd, pp);
}

/* The name part of the format: %s, '_' or the record's literal name. */
static enum oct_err read_name(struct reader *rd)
{
	size_t n;

	skip_ws(rd);
	if (rd->f[0] == '%' && rd->f[1] == 's') {
		rd->f += 2;
		return put_string(rd, &rd->rec->name);
	}
	n = word(rd->f, true);
	if (n == 0)
		return OCT_ERR_INVALID_FORMAT;
	if (!(n == 1 && rd->f[0] == '_') &&
	    (n != rd->rec->name.len || memcmp(rd->f, rd->rec->name.p, n)))
		return OCT_ERR_NO_RECORD;
	rd->f += n;
	return OCT_OK;
}

/* Stores value v through the next argument, as conversion conv says. */
static enum oct_err read_value(struct reader *rd, char conv,
			       const struct oct_value *v)
{
	switch (conv) {
	case 'd':
		if (v->type != OCT_V_INT)
			return OCT_ERR_TYPE_MISMATCH;
		*va_arg(rd->ap, int64_t *) = v->i;
		return OCT_OK;
	case 'f':
		if (v->type == OCT_V_INT)
			*va_arg(rd->ap, double *) = (double)v->i;
		else if (v->type == OCT_V_FLOAT)
			*va_arg(rd->ap, double *) = v->f;
		else
			return OCT_ERR_TYPE_MISMATCH;
		return OCT_OK;
	case 'b':
		if (v->type != OCT_V_BOOL)
			return OCT_ERR_TYPE_MISMATCH;
		*va_arg(rd->ap, bool *) = v->b;
		return OCT_OK;
	default:	/* 's' */
		if (v->type != OCT_V_STRING && v->type != OCT_V_IDENT)
			return OCT_ERR_TYPE_MISMATCH;
		return put_string(rd, &v->s);
	}
}

/*
 * One `key: %conv` of the format. The format is checked before the
 * record: a malformed conversion is INVALID_FORMAT even for a key the
 * record lacks.
 */
static enum oct_err read_attr(struct reader *rd)
{
	const struct oct_attr *a;
	size_t n = word(rd->f, false);
	char conv;

	if (n == 0)
		return OCT_ERR_INVALID_FORMAT;
	a = oct_record_find(rd->rec, rd->f, n);
	rd->f += n;
	if (!expect(rd, ':'))
		return OCT_ERR_INVALID_FORMAT;
	skip_ws(rd);
	if (rd->f[0] != '%' || !rd->f[1] || !strchr("dfsb", rd->f[1]))
		return OCT_ERR_INVALID_FORMAT;
	conv = rd->f[1];
	rd->f += 2;
	if (!a)
		return OCT_ERR_UNKNOWN_ATTRIBUTE;
	return read_value(rd, conv, &a->val);
}

/* What follows the name: nothing, or `{ [attr {, attr}] }`, then the end. */
static enum oct_err read_attrs(struct reader *rd)
{
	enum oct_err err;

	skip_ws(rd);
	if (*rd->f == '\0')
		return OCT_OK;
	if (!expect(rd, '{'))
		return OCT_ERR_INVALID_FORMAT;
	skip_ws(rd);
	if (*rd->f != '}') {
		do {
			skip_ws(rd);
			err = read_attr(rd);
			if (err)
				return err;
		} while (expect(rd, ','));
	}
	if (!expect(rd, '}'))
		return OCT_ERR_INVALID_FORMAT;
	skip_ws(rd);
	return *rd->f ? OCT_ERR_INVALID_FORMAT : OCT_OK;
}

enum oct_err oct_read(const char *record_text, const char *fmt, ...)
{
	struct oct_record *rec = NULL;
	struct reader rd = { .f = fmt };
	enum oct_err err;

	if (!record_text || !fmt)
		return OCT_ERR_INVALID_FORMAT;
	err = oct_parse(record_text, strlen(record_text), NULL, &rec, NULL);
	if (err != OCT_OK)
		return err == OCT_ERR_NO_MEMORY ? err : OCT_ERR_PARSER_FAIL;
	if (rec->name_kind != OCT_NAME_LITERAL) {
		oct_record_free(rec);
		return OCT_ERR_PARSER_FAIL;
	}
	rd.rec = rec;
	va_start(rd.ap, fmt);
	err = read_name(&rd);
	if (!err)
		err = read_attrs(&rd);
	va_end(rd.ap);
	if (err)
		forget_all(&rd);
	free(rd.more);
	oct_record_free(rec);
	return err;
}
