// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk Octopus record language: the parser on valid, invalid and hostile
 * input (codes and positions), the canonical printer and its round trip,
 * value comparison, natural order and oct_read().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mk/oct_record.h>

static struct oct_record *parse_ok(const char *s)
{
	struct oct_record *r = NULL;
	struct oct_parse_error e;
	enum oct_err err = oct_parse(s, strlen(s), NULL, &r, &e);

	if (err != OCT_OK)
		fail_msg("parse of \"%s\" failed: %s at %zu: %s", s,
			 oct_err_name(err), e.pos, e.msg);
	assert_non_null(r);
	return r;
}

static void parse_bad(const char *s, size_t len, enum oct_err code,
		      size_t pos)
{
	struct oct_record *r = (struct oct_record *)1;
	struct oct_parse_error e;
	enum oct_err err = oct_parse(s, len, NULL, &r, &e);

	if (err != code || e.pos != pos)
		fail_msg("\"%.*s\": got %s at %zu (%s), want %s at %zu",
			 (int)(len > 80 ? 80 : len), s, oct_err_name(err),
			 e.pos, e.msg, oct_err_name(code), pos);
	assert_null(r);
	assert_int_equal(e.code, code);
	assert_non_null(e.msg);
}

/* Parses s, prints it, compares with want (s itself if NULL). */
static void canon(const char *s, const char *want)
{
	struct oct_record *r = parse_ok(s);
	char *out = oct_print(r, NULL);

	assert_non_null(out);
	assert_string_equal(out, want ? want : s);
	free(out);
	oct_record_free(r);
}

static bool records_equal(const struct oct_record *a,
			  const struct oct_record *b)
{
	if (a->name_kind != b->name_kind || a->name.len != b->name.len ||
	    memcmp(a->name.p, b->name.p, a->name.len) ||
	    a->nattrs != b->nattrs)
		return false;
	for (size_t i = 0; i < a->nattrs; i++) {
		const struct oct_attr *x = &a->attrs[i], *y = &b->attrs[i];

		if (x->op != y->op || x->key.len != y->key.len ||
		    memcmp(x->key.p, y->key.p, x->key.len) ||
		    x->val.type != y->val.type)
			return false;
		switch (x->val.type) {
		case OCT_V_INT:
			if (x->val.i != y->val.i)
				return false;
			break;
		case OCT_V_FLOAT:
			if (memcmp(&x->val.f, &y->val.f, sizeof(double)))
				return false;
			break;
		case OCT_V_BOOL:
			if (x->val.b != y->val.b)
				return false;
			break;
		case OCT_V_ANY:
			break;
		default:
			if (x->val.s.len != y->val.s.len ||
			    memcmp(x->val.s.p, y->val.s.p, x->val.s.len))
				return false;
		}
	}
	return true;
}

static void roundtrip(const struct oct_record *r)
{
	size_t len;
	char *out = oct_print(r, &len);
	struct oct_record *back = NULL;
	struct oct_parse_error e;

	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	if (oct_parse(out, len, NULL, &back, &e) != OCT_OK)
		fail_msg("reparse of \"%s\": %s at %zu", out, e.msg, e.pos);
	if (!records_equal(r, back))
		fail_msg("round trip changed \"%s\"", out);
	oct_record_free(back);
	free(out);
}

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(oct_err_name(OCT_OK), "OK");
	assert_string_equal(oct_err_name(OCT_ERR_NO_RECORD), "NO_RECORD");
	assert_string_equal(oct_err_name(OCT_ERR_PARSER_FAIL), "PARSER_FAIL");
	assert_string_equal(oct_err_name(OCT_ERR_NO_RECORD_NAME),
			    "NO_RECORD_NAME");
	assert_string_equal(oct_err_name(OCT_ERR_CONSTRAINT_MISMATCH),
			    "CONSTRAINT_MISMATCH");
	for (int i = 0; i < OCT_ERR_COUNT; i++) {
		assert_non_null(oct_err_name((enum oct_err)i));
		assert_non_null(oct_err_str((enum oct_err)i));
	}
	assert_null(oct_err_name(OCT_ERR_COUNT));
	assert_null(oct_err_name((enum oct_err)-1));
}

static void test_parse_valid(void **state)
{
	struct oct_record *r;
	const struct oct_attr *a;

	(void)state;
	r = parse_ok("object4 { weight: 20, attr: 'Somestring', fl: 12.0 }");
	assert_int_equal(r->name_kind, OCT_NAME_LITERAL);
	assert_string_equal(r->name.p, "object4");
	assert_int_equal(r->nattrs, 3);
	/* Sorted by key. */
	assert_string_equal(r->attrs[0].key.p, "attr");
	assert_string_equal(r->attrs[1].key.p, "fl");
	assert_string_equal(r->attrs[2].key.p, "weight");
	assert_int_equal(r->attrs[0].val.type, OCT_V_STRING);
	assert_string_equal(r->attrs[0].val.s.p, "Somestring");
	assert_int_equal(r->attrs[1].val.type, OCT_V_FLOAT);
	assert_true(r->attrs[1].val.f == 12.0);
	assert_int_equal(r->attrs[2].val.type, OCT_V_INT);
	assert_int_equal(r->attrs[2].val.i, 20);
	assert_true(oct_record_is_plain(r));
	assert_false(oct_record_has_constraints(r));
	a = oct_record_find(r, "fl", 2);
	assert_ptr_equal(a, &r->attrs[1]);
	assert_null(oct_record_find(r, "f", 1));
	assert_null(oct_record_find(r, "zz", 2));
	oct_record_free(r);

	/* Bare name, empty braces, whitespace everywhere or nowhere. */
	r = parse_ok("hw.pci.device.0");
	assert_string_equal(r->name.p, "hw.pci.device.0");
	assert_int_equal(r->nattrs, 0);
	oct_record_free(r);
	r = parse_ok(" \t\nhw.pci.device. {\n}\r\n");
	assert_string_equal(r->name.p, "hw.pci.device.");
	assert_int_equal(r->nattrs, 0);
	oct_record_free(r);
	r = parse_ok("a{b:1,c:-2,d:0x10,e:-1.5e3,f:true,g:false,h:x_y.z,"
		     "i:'it\\'s \\\\ ok',j:9223372036854775807,"
		     "k:-9223372036854775808}");
	assert_int_equal(r->nattrs, 10);
	assert_int_equal(r->attrs[0].val.i, 1);
	assert_int_equal(r->attrs[1].val.i, -2);
	assert_int_equal(r->attrs[2].val.i, 16);
	assert_true(r->attrs[3].val.f == -1500.0);
	assert_int_equal(r->attrs[4].val.type, OCT_V_BOOL);
	assert_true(r->attrs[4].val.b);
	assert_false(r->attrs[5].val.b);
	assert_int_equal(r->attrs[6].val.type, OCT_V_IDENT);
	assert_string_equal(r->attrs[6].val.s.p, "x_y.z");
	assert_string_equal(r->attrs[7].val.s.p, "it's \\ ok");
	assert_int_equal(r->attrs[8].val.i, INT64_MAX);
	assert_int_equal(r->attrs[9].val.i, INT64_MIN);
	oct_record_free(r);

	/* Queries: '_' and regex names and values, constraints. */
	r = parse_ok("_ { bus: 5, bus == 0, device <= 1, vendor > 100, "
		     "class: r'C|X|T', x: _, y != 'a', z >= -1.5, w < 3 }");
	assert_int_equal(r->name_kind, OCT_NAME_ANY);
	assert_int_equal(r->nattrs, 9);
	assert_string_equal(r->attrs[0].key.p, "bus");
	assert_int_equal(r->attrs[0].op, OCT_OP_VALUE);
	assert_int_equal(r->attrs[1].op, OCT_OP_EQ);
	assert_int_equal(r->attrs[2].val.type, OCT_V_REGEX);
	assert_string_equal(r->attrs[2].val.s.p, "C|X|T");
	assert_int_equal(r->attrs[3].op, OCT_OP_LE);
	assert_int_equal(r->attrs[4].op, OCT_OP_GT);
	assert_int_equal(r->attrs[5].op, OCT_OP_LT);
	assert_int_equal(r->attrs[6].val.type, OCT_V_ANY);
	assert_int_equal(r->attrs[7].op, OCT_OP_NE);
	assert_int_equal(r->attrs[8].op, OCT_OP_GE);
	assert_false(oct_record_is_plain(r));
	assert_true(oct_record_has_constraints(r));
	oct_record_free(r);

	r = parse_ok("r'^object[0-9]' { weight: 20 }");
	assert_int_equal(r->name_kind, OCT_NAME_REGEX);
	assert_string_equal(r->name.p, "^object[0-9]");
	oct_record_free(r);

	/* Regex escapes: \' becomes ', the rest stays for PCRE2. */
	r = parse_ok("_ { p: r'\\d+\\.\\'x\\\\' }");
	assert_string_equal(r->attrs[0].val.s.p, "\\d+\\.'x\\\\");
	oct_record_free(r);

	/* '_foo' is a name and an identifier, not '_'. */
	r = parse_ok("_foo { a: _bar }");
	assert_int_equal(r->name_kind, OCT_NAME_LITERAL);
	assert_int_equal(r->attrs[0].val.type, OCT_V_IDENT);
	oct_record_free(r);
}

/*
 * Floats that would be stored as another number are refused: 1e-400 and
 * a 5,000-digit fraction underflow to 0.0; zero itself, written any way,
 * and a subnormal (nonzero) are kept.
 */
static void test_parse_float_range(void **state)
{
	static const char *const zeros[] = { "a { b: 0.0 }", "a { b: 0e-400 }",
					     "a { b: -0.0 }" };
	size_t n = 5000;
	char *s = malloc(n + 32);
	struct oct_record *r;

	(void)state;
	parse_bad("a { b: 1e-400 }", strlen("a { b: 1e-400 }"),
		  OCT_ERR_PARSER_FAIL, 7);
	assert_non_null(s);
	strcpy(s, "a { b: 0.");
	memset(s + 9, '0', n);
	strcpy(s + 9 + n, "1 }");
	parse_bad(s, strlen(s), OCT_ERR_PARSER_FAIL, 7);
	free(s);
	for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		r = parse_ok(zeros[i]);
		assert_true(r->attrs[0].val.type == OCT_V_FLOAT &&
			    r->attrs[0].val.f == 0.0);
		oct_record_free(r);
	}
	r = parse_ok("a { b: 1e-310 }");
	assert_true(r->attrs[0].val.f > 0.0 && r->attrs[0].val.f < 1e-300);
	oct_record_free(r);
}

/* oct_parse_record(): '_' and regexes as values are errors at their
 * offset; constraints and pattern names are still for set to judge. */
static void test_parse_record(void **state)
{
	static const struct { const char *s; size_t pos; } bad[] = {
		{ "x { a: r'ab' }", 7 }, { "x { b: 1, a: _ }", 13 },
		{ "x { a: _ }", 7 }, { "x { a > _ }", 8 },
	};
	static const char *const good[] = {
		"x { a: 1 }", "x { a: 1, b > 2 }", "r'x' { a: 1 }", "_ { a: 'x' }",
	};
	struct oct_parse_error e;
	struct oct_record *r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = (struct oct_record *)1;
		assert_int_equal(oct_parse_record(bad[i].s, strlen(bad[i].s), NULL, &r, &e),
				 OCT_ERR_PARSER_FAIL);
		assert_null(r);
		if (e.pos != bad[i].pos)
			fail_msg("\"%s\": offset %zu, want %zu", bad[i].s, e.pos, bad[i].pos);
		/* the same text is a query oct_parse() takes, but for the constraint */
		if (i < 3) {
			assert_int_equal(oct_parse(bad[i].s, strlen(bad[i].s), NULL, &r, NULL),
					 OCT_OK);
			oct_record_free(r);
		}
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(oct_parse_record(good[i], strlen(good[i]), NULL, &r, &e),
				 OCT_OK);
		oct_record_free(r);
	}
}

static void test_parse_invalid(void **state)
{
	(void)state;
#define BAD(s, code, pos) parse_bad(s, strlen(s), code, pos)
	/* Barrelfish's own parser failures. */
	BAD("}+_df}", OCT_ERR_PARSER_FAIL, 0);
	BAD("parser { error, m, }", OCT_ERR_PARSER_FAIL, 14);
	BAD("././12", OCT_ERR_PARSER_FAIL, 0);
	BAD("q{weqw1,.", OCT_ERR_PARSER_FAIL, 7);
	/* Others. */
	BAD("", OCT_ERR_PARSER_FAIL, 0);
	BAD("   ", OCT_ERR_PARSER_FAIL, 3);
	BAD("12abc", OCT_ERR_PARSER_FAIL, 0);
	BAD("a b", OCT_ERR_PARSER_FAIL, 2);
	BAD("a {", OCT_ERR_PARSER_FAIL, 3);
	BAD("a { b: 1", OCT_ERR_PARSER_FAIL, 8);
	BAD("a { b: 1 } c", OCT_ERR_PARSER_FAIL, 11);
	BAD("a { b 1 }", OCT_ERR_PARSER_FAIL, 6);
	BAD("a { b: }", OCT_ERR_PARSER_FAIL, 7);
	BAD("a { b: 1, }", OCT_ERR_PARSER_FAIL, 10);
	BAD("a { b: 1 c: 2 }", OCT_ERR_PARSER_FAIL, 9);
	BAD("a { b: 'abc }", OCT_ERR_PARSER_FAIL, 7);
	BAD("a { b: 'abc\\", OCT_ERR_PARSER_FAIL, 7);
	BAD("a { b: 'a\\nb' }", OCT_ERR_PARSER_FAIL, 9);
	BAD("r'abc", OCT_ERR_PARSER_FAIL, 1);
	BAD("a { b: 1, b: 2 }", OCT_ERR_PARSER_FAIL, 10);
	BAD("a { b > _ }", OCT_ERR_PARSER_FAIL, 8);
	BAD("a { b > r'x' }", OCT_ERR_PARSER_FAIL, 8);
	BAD("a { b = 1 }", OCT_ERR_PARSER_FAIL, 6);
	BAD("a { b ! 1 }", OCT_ERR_PARSER_FAIL, 6);
	BAD("a { b: 99999999999999999999 }", OCT_ERR_PARSER_FAIL, 7);
	BAD("a { b: 1e999 }", OCT_ERR_PARSER_FAIL, 7);
	BAD("a { b: 1. }", OCT_ERR_PARSER_FAIL, 9);
	BAD("a { b: 1e }", OCT_ERR_PARSER_FAIL, 9);
	BAD("a { b: 0x }", OCT_ERR_PARSER_FAIL, 9);
	BAD("a { b: 12ab }", OCT_ERR_PARSER_FAIL, 9);
	BAD("a { { b: 1 } }", OCT_ERR_PARSER_FAIL, 4);
	BAD("a { b: { c: 1 } }", OCT_ERR_PARSER_FAIL, 7);
	BAD("a { 1: 2 }", OCT_ERR_PARSER_FAIL, 4);
	BAD("a { b: -x }", OCT_ERR_PARSER_FAIL, 7);
#undef BAD
	/* NUL bytes, anywhere. */
	parse_bad("a\0b", 3, OCT_ERR_PARSER_FAIL, 1);
	parse_bad("a { b: 'x\0y' }", 14, OCT_ERR_PARSER_FAIL, 9);
	parse_bad("\0", 1, OCT_ERR_PARSER_FAIL, 0);
	/* Length is explicit: a prefix of a longer buffer. */
	parse_bad("a { b: 1 }", 8, OCT_ERR_PARSER_FAIL, 8);
	struct oct_record *r = NULL;

	assert_int_equal(oct_parse("abc { x: 1 }", 3, NULL, &r, NULL), OCT_OK);
	assert_string_equal(r->name.p, "abc");
	oct_record_free(r);
	/* NULL err pointer is fine on failure too. */
	assert_int_equal(oct_parse("{", 1, NULL, &r, NULL), OCT_ERR_PARSER_FAIL);
	assert_null(r);
}

static void test_parse_limits(void **state)
{
	struct oct_limits lim = { .max_input = 16, .max_terms = 2 };
	struct oct_record *r = NULL;
	struct oct_parse_error e;
	size_t big = OCT_DEFAULT_MAX_INPUT + 1;
	char *s = malloc(big + 1);

	(void)state;
	assert_non_null(s);
	assert_int_equal(oct_parse("a { b: 1, c: 2 }", 16, &lim, &r, &e),
			 OCT_OK);
	oct_record_free(r);
	assert_int_equal(oct_parse("a { b: 1, c: 2 } ", 17, &lim, &r, &e),
			 OCT_ERR_QUERY_SIZE);
	assert_null(r);
	assert_int_equal(oct_parse("a{b:1,c:2,d:3}", 14, &lim, &r, &e),
			 OCT_ERR_QUERY_SIZE);
	assert_int_equal(e.pos, 10);

	/* Huge: over the default maximum. */
	memset(s, 'a', big);
	s[big] = '\0';
	assert_int_equal(oct_parse(s, big, NULL, &r, &e), OCT_ERR_QUERY_SIZE);
	assert_null(r);
	/* Huge name within the limit: fine. */
	assert_int_equal(oct_parse(s, big - 1, NULL, &r, &e), OCT_OK);
	assert_int_equal(r->name.len, big - 1);
	oct_record_free(r);
	/* A huge unterminated string. */
	memcpy(s, "a { b: '", 8);
	assert_int_equal(oct_parse(s, big - 1, NULL, &r, &e),
			 OCT_ERR_PARSER_FAIL);
	assert_int_equal(e.pos, 7);
	/* Deep "nesting": rejected at the second brace, no recursion. */
	memset(s, '{', big);
	s[0] = 'a';
	assert_int_equal(oct_parse(s, big - 1, NULL, &r, &e),
			 OCT_ERR_PARSER_FAIL);
	assert_int_equal(e.pos, 2);
	/* Too many terms by default. */
	size_t n = 0;

	n += (size_t)sprintf(s + n, "a {");
	for (unsigned int i = 0; i <= OCT_DEFAULT_MAX_TERMS; i++)
		n += (size_t)sprintf(s + n, "%sk%u: %u", i ? ", " : " ", i, i);
	n += (size_t)sprintf(s + n, " }");
	assert_int_equal(oct_parse(s, n, NULL, &r, &e), OCT_ERR_QUERY_SIZE);
	assert_null(r);
	/* Many terms within the limit: fine, sorted. */
	lim.max_input = 0;
	lim.max_terms = OCT_DEFAULT_MAX_TERMS + 1;
	assert_int_equal(oct_parse(s, n, &lim, &r, &e), OCT_OK);
	assert_int_equal(r->nattrs, OCT_DEFAULT_MAX_TERMS + 1);
	for (size_t i = 1; i < r->nattrs; i++)
		assert_true(strcmp(r->attrs[i - 1].key.p, r->attrs[i].key.p) < 0);
	oct_record_free(r);
	free(s);
}

/* Every prefix and every single-byte mutation of some inputs: no crash,
 * a record or an error with a position inside the input. */
static void test_parse_mutations(void **state)
{
	static const char *const seeds[] = {
		"object4 { attr: 'Some\\'string', fl: 12.0, weight: 20 }",
		"_ { bus: 5, bus == 0, device <= 1, class: r'C|X|T' }",
		"r'^obj.$' { x: _, y != -1.5e-3, z: 0x1f, b: true }",
	};
	static const char bytes[] = "{}:,'\\_r<>=!0 .-\0xe";

	(void)state;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len = strlen(seeds[s]);
		char *buf = malloc(len);

		assert_non_null(buf);
		for (size_t cut = 0; cut <= len; cut++) {
			struct oct_record *r = NULL;
			struct oct_parse_error e;

			memcpy(buf, seeds[s], cut);
			if (oct_parse(buf, cut, NULL, &r, &e) == OCT_OK) {
				roundtrip(r);
				oct_record_free(r);
			} else {
				assert_true(e.pos <= cut);
			}
		}
		for (size_t i = 0; i < len; i++) {
			for (size_t b = 0; b < sizeof(bytes) - 1; b++) {
				struct oct_record *r = NULL;
				struct oct_parse_error e;

				memcpy(buf, seeds[s], len);
				buf[i] = bytes[b];
				if (oct_parse(buf, len, NULL, &r, &e) == OCT_OK) {
					roundtrip(r);
					oct_record_free(r);
				} else {
					assert_true(e.pos <= len);
				}
			}
		}
		free(buf);
	}
}

static void test_print(void **state)
{
	(void)state;
	canon("object4 { weight: 20, fl: 12.0, attr: 'Somestring' }",
	      "object4 { attr: 'Somestring', fl: 12.0, weight: 20 }");
	canon("name { a: 1, b: 'str', c: ident, f: 12.0 }", NULL);
	canon("empty", "empty {}");
	canon("empty{  }", "empty {}");
	canon("x { s: 'it\\'s a \\\\ path' }", NULL);
	canon("x { t: true, f: false }", "x { f: false, t: true }");
	canon("x { a: 0.1, b: 1e20, c: -0.0, d: 1.5e-300, e: 0x10 }",
	      "x { a: 0.1, b: 1.0e+20, c: -0.0, d: 1.5e-300, e: 16 }");
	canon("x { a: 3.0000000000000004, b: 123456789.125 }", NULL);
	canon("_ { w >= 10, fl > 11.0, n != 'a', k: _, r: r'^a\\'b\\d' }",
	      "_ { fl > 11.0, k: _, n != 'a', r: r'^a\\'b\\d', w >= 10 }");
	canon("r'^obj.$' { a == 1, a < 2, a <= 3 }", NULL);
	canon("q { x: -9223372036854775808 }", NULL);
}

static void test_roundtrip_built(void **state)
{
	struct oct_record *r = oct_record_new("built.0", 7);
	static const double fs[] = { 0.1, 1.0 / 3, 1e308, 5e-324, -2.5,
				     123456789012345678.0, 0.0 };
	char key[16];

	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		struct oct_value v = oct_float(fs[i]);

		snprintf(key, sizeof(key), "f%zu", i);
		assert_int_equal(oct_record_add(r, key, strlen(key),
						OCT_OP_VALUE, &v), 0);
	}
	struct oct_value vs[] = {
		oct_int(INT64_MIN), oct_int(INT64_MAX), oct_bool(true),
		oct_string("quote ' and \\ and }{,:", 22),
		oct_string("", 0), oct_ident("an.ident-1", 10),
	};
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		snprintf(key, sizeof(key), "v%zu", i);
		assert_int_equal(oct_record_add(r, key, strlen(key),
						OCT_OP_VALUE, &vs[i]), 0);
	}
	/* Added in any order, kept sorted. */
	struct oct_value a = oct_int(1);

	assert_int_equal(oct_record_add(r, "a", 1, OCT_OP_VALUE, &a), 0);
	assert_string_equal(r->attrs[0].key.p, "a");
	assert_true(oct_record_is_plain(r));
	roundtrip(r);

	struct oct_record *d = oct_record_dup(r);

	assert_non_null(d);
	assert_true(records_equal(r, d));
	oct_record_free(d);
	oct_record_free(r);
}

static void test_values(void **state)
{
	struct oct_value a, b;
	int c;

	(void)state;
	a = oct_int(20);
	b = oct_float(20.0);
	assert_true(oct_value_equal(&a, &b));
	b = oct_float(20.5);
	assert_true(oct_value_cmp(&a, &b, &c));
	assert_int_equal(c, -1);
	assert_true(oct_value_cmp(&b, &a, &c));
	assert_int_equal(c, 1);
	/* Large integers are compared exactly, not through double. */
	a = oct_int(INT64_MAX);
	b = oct_float(9223372036854775807.0);	/* 2^63 */
	assert_true(oct_value_cmp(&a, &b, &c));
	assert_int_equal(c, -1);
	a = oct_int((1ll << 53) + 1);
	b = oct_float(9007199254740992.0);
	assert_true(oct_value_cmp(&a, &b, &c));
	assert_int_equal(c, 1);
	/* Strings against numbers: not comparable. */
	a = oct_string("20", 2);
	b = oct_int(20);
	assert_false(oct_value_cmp(&a, &b, &c));
	assert_false(oct_value_equal(&a, &b));
	/* String vs identifier: different types. */
	b = oct_ident("20", 2);
	assert_false(oct_value_equal(&a, &b));
	b = oct_string("3", 1);
	assert_true(oct_value_cmp(&a, &b, &c));
	assert_int_equal(c, -1);
	a = oct_bool(false);
	b = oct_bool(true);
	assert_true(oct_value_cmp(&a, &b, &c));
	assert_int_equal(c, -1);
	b = oct_int(0);
	assert_false(oct_value_cmp(&a, &b, &c));
}

static int nat(const char *a, const char *b)
{
	return oct_natural_cmp(a, strlen(a), b, strlen(b));
}

static void test_natural_order(void **state)
{
	(void)state;
	assert_true(nat("x2", "x10") < 0);
	assert_true(nat("x10", "x2") > 0);
	assert_true(nat("x2", "x2") == 0);
	assert_true(nat("a", "b") < 0);
	assert_true(nat("x", "x0") < 0);
	assert_true(nat("x02", "x2") != 0);
	assert_true(nat("x02", "x2") == -nat("x2", "x02"));
	assert_true(nat("x02", "x3") < 0);
	assert_true(nat("lock.9", "lock.10") < 0);
	assert_true(nat("a1b2", "a1b10") < 0);
	assert_true(nat("a99999999999999999999999", "a100000000000000000000000") < 0);
	assert_true(nat("1", "a") < 0);
}

static void test_read(void **state)
{
	const char *rec = "object4 { attr: 'Somestring', fl: 12.0, "
			  "weight: 20, id: some_ident, on: true }";
	char *name = NULL, *attr = NULL, *id = NULL;
	int64_t w = 0;
	double fl = 0, wf = 0;
	bool on = false;

	(void)state;
	assert_int_equal(oct_read(rec, "%s { weight: %d, attr: %s, fl: %f }",
				  &name, &w, &attr, &fl), OCT_OK);
	assert_string_equal(name, "object4");
	assert_string_equal(attr, "Somestring");
	assert_int_equal(w, 20);
	assert_true(fl == 12.0);
	free(name);
	free(attr);

	/* '_' and a literal name; %f takes an integer; %s an identifier. */
	assert_int_equal(oct_read(rec, "_ { weight: %f, id: %s, on: %b }",
				  &wf, &id, &on), OCT_OK);
	assert_true(wf == 20.0);
	assert_string_equal(id, "some_ident");
	assert_true(on);
	free(id);
	assert_int_equal(oct_read(rec, "object4"), OCT_OK);
	assert_int_equal(oct_read(rec, "  object4 {}  "), OCT_OK);
	assert_int_equal(oct_read(rec, "%s", &name), OCT_OK);
	assert_string_equal(name, "object4");
	free(name);

	/* Errors, with nothing left allocated. */
	name = attr = (char *)"untouched";
	assert_int_equal(oct_read(rec, "other { weight: %d }", &w),
			 OCT_ERR_NO_RECORD);
	assert_int_equal(oct_read(rec, "%s { attr: %s, nope: %d }", &name,
				  &attr, &w), OCT_ERR_UNKNOWN_ATTRIBUTE);
	assert_null(name);
	assert_null(attr);
	assert_int_equal(oct_read(rec, "%s { attr: %s, fl: %d }", &name,
				  &attr, &w), OCT_ERR_TYPE_MISMATCH);
	assert_null(name);
	assert_null(attr);
	assert_int_equal(oct_read(rec, "_ { weight: %s }", &attr),
			 OCT_ERR_TYPE_MISMATCH);
	assert_int_equal(oct_read(rec, "_ { on: %d }", &w),
			 OCT_ERR_TYPE_MISMATCH);
	assert_int_equal(oct_read(rec, "_ { weight %d }", &w),
			 OCT_ERR_INVALID_FORMAT);
	assert_int_equal(oct_read(rec, "_ { weight: %x }", &w),
			 OCT_ERR_INVALID_FORMAT);
	assert_int_equal(oct_read(rec, "_ { weight: %d", &w),
			 OCT_ERR_INVALID_FORMAT);
	assert_int_equal(oct_read(rec, "_ { weight: %d } x", &w),
			 OCT_ERR_INVALID_FORMAT);
	assert_int_equal(oct_read(rec, "{ weight: %d }", &w),
			 OCT_ERR_INVALID_FORMAT);
	assert_int_equal(oct_read("bad {", "%s", &name), OCT_ERR_PARSER_FAIL);
	assert_int_equal(oct_read("_ { a: 1 }", "%s", &name),
			 OCT_ERR_PARSER_FAIL);
	assert_int_equal(oct_read(NULL, "%s", &name), OCT_ERR_INVALID_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_float_range),
		cmocka_unit_test(test_parse_record),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_roundtrip_built),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_natural_order),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests_name("oct_record", tests, NULL, NULL);
}
