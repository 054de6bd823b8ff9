// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One compiled query (libmk/octopus/query.c) behind the store and the
 * watch index: on a table of queries and records, OCT.GET's answer (the
 * store) and a trigger's (the watch index) are the same; a match PCRE2
 * gives up on is an error in both, never a silent mismatch.
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

#include "octopus/query.h"
#include "store.h"
#include "watchidx.h"

static struct oct_record *P(const char *s)
{
	struct oct_record *r = NULL;
	struct oct_parse_error e;

	if (oct_parse(s, strlen(s), NULL, &r, &e) != OCT_OK)
		fail_msg("parse \"%s\": %s at %zu", s, e.msg, e.pos);
	return r;
}

static void count_cb(struct watch *w, void *ctx)
{
	(void)w;
	(*(size_t *)ctx)++;
}

static const char *const queries[] = {
	"a", "_", "r'^a'", "r'x$'", "r'^(b|c)\\.'", "_ { x: _ }",
	"_ { x: 1 }", "_ { x: 1.0 }", "_ { x == 1 }", "_ { x != 1 }",
	"_ { x < 2 }", "_ { x >= 2.5 }", "_ { s: 'str' }", "_ { s: str }",
	"_ { s: r'^st' }", "_ { s > 'a' }", "_ { s < 3 }", "_ { b: true }",
	"a { x: _, s: _ }", "r'^a' { x <= 1, x >= 1 }", "_ { y: _ }",
	"b.x { s: r'.' }", "_ { x: r'1' }", "_ { x > 0, s: r'r$' }",
};

static const char *const records[] = {
	"a", "a { x: 1 }", "a { x: 1.0, s: 'str' }", "ab { x: 2 }",
	"b.x { s: str }", "c.y { s: 'b', x: 3 }", "zx { b: true }",
	"ax { x: -1, s: 'sr' }", "b.x { x: 2.5, s: '' }",
};

#define NQ (sizeof(queries) / sizeof(queries[0]))
#define NR (sizeof(records) / sizeof(records[0]))

/*
 * For every (query, record): the store holding just that record answers
 * OCT.EXISTS, the watch index a set of it, and oct_query_match() directly;
 * all three agree.
 */
static void test_store_and_watch_agree(void **state)
{
	size_t matches = 0;

	(void)state;
	for (size_t i = 0; i < NQ; i++) {
		struct oct_record *q = P(queries[i]);
		struct watchidx x;
		struct watch w;
		struct oct_query_ctx *ctx = oct_query_ctx_new();
		struct oct_query cq;

		assert_non_null(ctx);
		assert_int_equal(oct_query_compile(&cq, q, ctx), OCT_OK);
		watchidx_init(&x);
		assert_int_equal(watch_init(&w, P(queries[i])), OCT_OK);
		assert_int_equal(watchidx_add(&x, &w), 0);
		for (size_t j = 0; j < NR; j++) {
			struct store *st = store_new();
			struct oct_record *r = P(records[j]);
			enum oct_err e;
			size_t fired = 0;
			bool direct, watched;

			assert_non_null(st);
			assert_int_equal(store_set(st, r, 0, 0, NULL), OCT_OK);
			e = store_exists(st, q);
			assert_true(e == OCT_OK || e == OCT_ERR_NO_RECORD);
			assert_int_equal(oct_query_match(&cq, ctx, r, 0, &direct),
					 OCT_OK);
			assert_int_equal(watch_match(&x, &w, r, &watched), OCT_OK);
			watchidx_match(&x, r, count_cb, &fired);
			if ((e == OCT_OK) != direct || direct != watched ||
			    fired != (size_t)watched)
				fail_msg("%s on %s: store %d, query %d, watch %d, fired %zu",
					 queries[i], records[j], e == OCT_OK,
					 direct, watched, fired);
			matches += direct;
			oct_record_free(r);
			store_free(st);
		}
		watchidx_del(&x, &w);
		watch_fini(&w);
		watchidx_fini(&x);
		oct_query_free(&cq);
		oct_query_ctx_free(ctx);
		oct_record_free(q);
	}
	/* The table is no table of mismatches. */
	assert_true(matches > NQ);
	assert_true(matches < NQ * NR);
}

/* Catastrophic backtracking on a string of 'a's with no way to end. */
#define SLOW_RE "r'^(a+)+$'"
#define SLOW_VAL "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"
#define SLOW_NAME "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0"

static enum oct_err get(struct store *st, const char *q)
{
	struct oct_record *r = P(q);
	const struct oct_record *out = (void *)1;
	enum oct_err e = store_get(st, r, &out);

	assert_true(e == OCT_OK ? out != NULL : out == NULL);
	oct_record_free(r);
	return e;
}

static void test_limit_is_an_error(void **state)
{
	struct store *st = store_new();
	struct oct_record *r = P("n { s: '" SLOW_VAL "', t: 'aaa' }");
	struct oct_record *r2 = P(SLOW_NAME " { t: 'aaa' }");
	struct oct_record *q;
	const struct oct_record **all;
	size_t n;

	(void)state;
	assert_non_null(st);
	assert_int_equal(store_set_match_limit(st, 1000), 0);
	assert_int_equal(store_set(st, r, 0, 0, NULL), OCT_OK);
	/* A pathological regex on a short value is fine... */
	assert_int_equal(get(st, "_ { t: " SLOW_RE " }"), OCT_OK);
	/* ...and past the limit every query call fails, not mismatches. */
	assert_int_equal(get(st, "_ { s: " SLOW_RE " }"), OCT_ERR_QUERY_SIZE);
	assert_int_equal(get(st, "n { s: " SLOW_RE " }"), OCT_ERR_QUERY_SIZE);
	q = P("_ { s: " SLOW_RE " }");
	assert_int_equal(store_exists(st, q), OCT_ERR_QUERY_SIZE);
	assert_int_equal(store_names(st, q, &all, &n), OCT_ERR_QUERY_SIZE);
	assert_null(all);
	oct_record_free(q);
	q = P("n { s: " SLOW_RE " }");
	assert_int_equal(store_del(st, q), OCT_ERR_QUERY_SIZE);
	oct_record_free(q);
	assert_non_null(store_lookup(st, "n", 1));	/* not deleted */
	/* A regex name, over the records in order. */
	assert_int_equal(store_set(st, r2, 0, 0, NULL), OCT_OK);
	assert_int_equal(get(st, SLOW_RE), OCT_ERR_QUERY_SIZE);
	/* With PCRE2's own limits, the same, only later: before one
	 * compiled query, this was a silent NO_RECORD. */
	assert_int_equal(store_set_match_limit(st, 0), 0);
	assert_int_equal(get(st, "n { s: " SLOW_RE " }"), OCT_ERR_QUERY_SIZE);

	/* The watch index: the same query neither fires nor matches. */
	struct watchidx x;
	struct watch w;
	size_t fired = 0;
	bool m = true;

	watchidx_init(&x);
	assert_int_equal(watchidx_set_match_limit(&x, 1000), 0);
	assert_int_equal(watch_init(&w, P("_ { s: " SLOW_RE " }")), OCT_OK);
	assert_int_equal(watchidx_add(&x, &w), 0);
	assert_int_equal(watch_match(&x, &w, r, &m), OCT_ERR_QUERY_SIZE);
	assert_false(m);
	assert_int_equal(watchidx_match(&x, r, count_cb, &fired), 0);
	assert_int_equal(fired, 0);
	assert_int_equal(x.match_errors, 1);
	watchidx_del(&x, &w);
	watch_fini(&w);
	watchidx_fini(&x);
	oct_record_free(r);
	oct_record_free(r2);
	store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_and_watch_agree),
		cmocka_unit_test(test_limit_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
