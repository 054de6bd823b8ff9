// SPDX-License-Identifier: LGPL-2.1-or-later
/* RESP writer: see <mk/resp.h>. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/resp.h>

void mk_resp_buf_init(struct mk_resp_buf *b, int proto)
{
	memset(b, 0, sizeof(*b));
	b->proto = proto == 3 ? 3 : 2;
}

void mk_resp_buf_free(struct mk_resp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void mk_resp_buf_consume(struct mk_resp_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

char *mk_resp_buf_reserve(struct mk_resp_buf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (b->cap - b->len < n) {
		size_t ncap = b->cap ? b->cap : 256;
		char *nd;

		if (n > SIZE_MAX / 4 - b->len) {
			b->failed = true;
			return NULL;
		}
		while (ncap - b->len < n)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if (!nd) {
			b->failed = true;
			return NULL;
		}
		b->data = nd;
		b->cap = ncap;
	}
	return b->data + b->len;
}

int mk_resp_w_raw(struct mk_resp_buf *b, const void *p, size_t n)
{
	char *d = mk_resp_buf_reserve(b, n);

	if (!d)
		return -ENOMEM;
	if (n)
		memcpy(d, p, n);
	b->len += n;
	return 0;
}

/* Decimal digits of v into the end of tmp[24]; returns the start. */
static char *fmt_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* "<c><number>\r\n" */
static int w_header(struct mk_resp_buf *b, char c, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp), *d;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	*--p = '\n';
	*--p = '\r';
	p = fmt_u64(p, u);
	if (v < 0)
		*--p = '-';
	*--p = c;
	n = (size_t)(tmp + sizeof(tmp) - p);
	d = mk_resp_buf_reserve(b, n);
	if (!d)
		return -ENOMEM;
	memcpy(d, p, n);
	b->len += n;
	return 0;
}

/* type byte, bytes with CR/LF as spaces, CR LF */
static int w_line(struct mk_resp_buf *b, char c, const char *pre, size_t pn,
		  const char *s, size_t n)
{
	char *d = mk_resp_buf_reserve(b, 1 + pn + n + 2);

	if (!d)
		return -ENOMEM;
	*d++ = c;
	memcpy(d, pre, pn);
	d += pn;
	for (size_t i = 0; i < n; i++)
		d[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	d += n;
	*d++ = '\r';
	*d = '\n';
	b->len += 1 + pn + n + 2;
	return 0;
}

int mk_resp_w_simple_len(struct mk_resp_buf *b, const char *s, size_t n)
{
	return w_line(b, '+', "", 0, s, n);
}

int mk_resp_w_simple(struct mk_resp_buf *b, const char *s)
{
	return w_line(b, '+', "", 0, s, strlen(s));
}

int mk_resp_w_ok(struct mk_resp_buf *b)
{
	return mk_resp_w_raw(b, "+OK\r\n", 5);
}

int mk_resp_w_error(struct mk_resp_buf *b, const char *code, const char *msg)
{
	char pre[64];
	size_t pn = 0;

	if (code) {
		pn = strlen(code);
		if (pn > sizeof(pre) - 2)
			pn = sizeof(pre) - 2;
		memcpy(pre, code, pn);
		for (size_t i = 0; i < pn; i++)
			if (pre[i] == '\r' || pre[i] == '\n')
				pre[i] = ' ';
		if (msg && *msg)
			pre[pn++] = ' ';
	}
	return w_line(b, '-', pre, pn, msg ? msg : "", msg ? strlen(msg) : 0);
}

int mk_resp_w_errorf(struct mk_resp_buf *b, const char *code, const char *fmt, ...)
{
	char small[256], *msg = small;
	va_list ap;
	int n, e;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0, small[0] = '\0';
	if ((size_t)n >= sizeof(small)) {
		msg = malloc((size_t)n + 1);
		if (!msg) {
			b->failed = true;
			return -ENOMEM;
		}
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	e = mk_resp_w_error(b, code, msg);
	if (msg != small)
		free(msg);
	return e;
}

int mk_resp_w_int(struct mk_resp_buf *b, int64_t v)
{
	return w_header(b, ':', v);
}

static int w_blob(struct mk_resp_buf *b, char c, const char *pre, size_t pn,
		  const void *p, size_t n)
{
	char tmp[24], *h = tmp + sizeof(tmp), *d;
	size_t hn, total;

	*--h = '\n';
	*--h = '\r';
	h = fmt_u64(h, (uint64_t)(pn + n));
	*--h = c;
	hn = (size_t)(tmp + sizeof(tmp) - h);
	if (n > SIZE_MAX / 2) {
		b->failed = true;
		return -ENOMEM;
	}
	total = hn + pn + n + 2;
	d = mk_resp_buf_reserve(b, total);
	if (!d)
		return -ENOMEM;
	memcpy(d, h, hn);
	d += hn;
	memcpy(d, pre, pn);
	d += pn;
	if (n)
		memcpy(d, p, n);
	d += n;
	d[0] = '\r';
	d[1] = '\n';
	b->len += total;
	return 0;
}

int mk_resp_w_bulk(struct mk_resp_buf *b, const void *p, size_t n)
{
	return w_blob(b, '$', "", 0, p, n);
}

int mk_resp_w_bulk_str(struct mk_resp_buf *b, const char *s)
{
	return w_blob(b, '$', "", 0, s, strlen(s));
}

int mk_resp_w_null(struct mk_resp_buf *b)
{
	return b->proto == 3 ? mk_resp_w_raw(b, "_\r\n", 3) : mk_resp_w_raw(b, "$-1\r\n", 5);
}

int mk_resp_w_null_array(struct mk_resp_buf *b)
{
	return b->proto == 3 ? mk_resp_w_raw(b, "_\r\n", 3) : mk_resp_w_raw(b, "*-1\r\n", 5);
}

static int w_count(struct mk_resp_buf *b, char c, size_t n)
{
	if (n > INT64_MAX) {
		b->failed = true;
		return -ENOMEM;
	}
	return w_header(b, c, (int64_t)n);
}

int mk_resp_w_array(struct mk_resp_buf *b, size_t n)
{
	return w_count(b, '*', n);
}

int mk_resp_w_map(struct mk_resp_buf *b, size_t n)
{
	if (b->proto == 3)
		return w_count(b, '%', n);
	if (n > SIZE_MAX / 2) {
		b->failed = true;
		return -ENOMEM;
	}
	return w_count(b, '*', n * 2);
}

int mk_resp_w_set(struct mk_resp_buf *b, size_t n)
{
	return w_count(b, b->proto == 3 ? '~' : '*', n);
}

int mk_resp_w_push(struct mk_resp_buf *b, size_t n)
{
	return w_count(b, b->proto == 3 ? '>' : '*', n);
}

int mk_resp_w_attribute(struct mk_resp_buf *b, size_t n)
{
	if (b->proto != 3)
		return -EINVAL;
	return w_count(b, '|', n);
}

int mk_resp_w_double(struct mk_resp_buf *b, double d)
{
	char tmp[40];
	int n;

	if (isnan(d))
		n = snprintf(tmp, sizeof(tmp), "nan");
	else if (isinf(d))
		n = snprintf(tmp, sizeof(tmp), d > 0 ? "inf" : "-inf");
	else
		n = snprintf(tmp, sizeof(tmp), "%.17g", d);
	if (b->proto == 3)
		return w_line(b, ',', "", 0, tmp, (size_t)n);
	return w_blob(b, '$', "", 0, tmp, (size_t)n);
}

int mk_resp_w_bool(struct mk_resp_buf *b, bool v)
{
	if (b->proto == 3)
		return mk_resp_w_raw(b, v ? "#t\r\n" : "#f\r\n", 4);
	return mk_resp_w_raw(b, v ? ":1\r\n" : ":0\r\n", 4);
}

int mk_resp_w_bignum(struct mk_resp_buf *b, const char *digits, size_t n)
{
	if (b->proto == 3)
		return w_line(b, '(', "", 0, digits, n);
	return w_blob(b, '$', "", 0, digits, n);
}

int mk_resp_w_verbatim(struct mk_resp_buf *b, const char *fmt, const void *p, size_t n)
{
	char pre[4] = { 't', 'x', 't', ':' };

	if (b->proto != 3)
		return w_blob(b, '$', "", 0, p, n);
	for (size_t i = 0; i < 3 && fmt && fmt[i]; i++)
		pre[i] = fmt[i];
	return w_blob(b, '=', pre, 4, p, n);
}

int mk_resp_w_bulk_error(struct mk_resp_buf *b, const void *p, size_t n)
{
	if (b->proto == 3)
		return w_blob(b, '!', "", 0, p, n);
	return w_line(b, '-', "", 0, p, n);
}

int mk_resp_w_command(struct mk_resp_buf *b, size_t argc, const char *const *argv,
		      const size_t *argvlen)
{
	int e = w_count(b, '*', argc);

	for (size_t i = 0; i < argc && !e; i++)
		e = w_blob(b, '$', "", 0, argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
	return e;
}

int mk_resp_w_commandv(struct mk_resp_buf *b, const char *arg0, ...)
{
	va_list ap;
	size_t argc = 0;
	const char *a;
	int e;

	va_start(ap, arg0);
	for (a = arg0; a; a = va_arg(ap, const char *))
		argc++;
	va_end(ap);
	e = w_count(b, '*', argc);
	va_start(ap, arg0);
	for (a = arg0; a && !e; a = va_arg(ap, const char *))
		e = w_blob(b, '$', "", 0, a, strlen(a));
	va_end(ap);
	return e;
}

int mk_resp_w_value(struct mk_resp_buf *b, const struct mk_resp_value *v)
{
	size_t n;
	int e = 0;

	if (v->attr && b->proto == 3) {
		e = mk_resp_w_value(b, v->attr);
		if (e)
			return e;
	}
	switch (v->type) {
	case MK_RESP_SIMPLE:
		return mk_resp_w_simple_len(b, v->str, v->len);
	case MK_RESP_ERROR:
		return w_line(b, '-', "", 0, v->str, v->len);
	case MK_RESP_INTEGER:
		return mk_resp_w_int(b, v->integer);
	case MK_RESP_BULK:
		return mk_resp_w_bulk(b, v->str, v->len);
	case MK_RESP_NULL:
		return mk_resp_w_null(b);
	case MK_RESP_BOOLEAN:
		return mk_resp_w_bool(b, v->integer != 0);
	case MK_RESP_DOUBLE:
		return mk_resp_w_double(b, v->dbl);
	case MK_RESP_BIGNUM:
		return mk_resp_w_bignum(b, v->str, v->len);
	case MK_RESP_VERBATIM:
		if (v->len < 4)
			return mk_resp_w_verbatim(b, "txt", v->str, v->len);
		if (b->proto != 3)
			return w_blob(b, '$', "", 0, v->str + 4, v->len - 4);
		return w_blob(b, '=', v->str, 4, v->str + 4, v->len - 4);
	case MK_RESP_BULK_ERROR:
		return mk_resp_w_bulk_error(b, v->str, v->len);
	case MK_RESP_ARRAY:
		e = mk_resp_w_array(b, v->n);
		n = v->n;
		break;
	case MK_RESP_SET:
		e = mk_resp_w_set(b, v->n);
		n = v->n;
		break;
	case MK_RESP_PUSH:
		e = mk_resp_w_push(b, v->n);
		n = v->n;
		break;
	case MK_RESP_MAP:
		e = mk_resp_w_map(b, v->n);
		n = v->n * 2;
		break;
	case MK_RESP_ATTRIBUTE:
		e = b->proto == 3 ? w_count(b, '|', v->n) : mk_resp_w_map(b, v->n);
		n = v->n * 2;
		break;
	default:
		return -EINVAL;
	}
	for (size_t i = 0; i < n && !e; i++)
		e = mk_resp_w_value(b, &v->elems[i]);
	return e;
}
