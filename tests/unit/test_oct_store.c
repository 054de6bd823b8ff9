// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd record store: Barrelfish's getset scenarios (get/set with
 * constraints and regexes, del, exists, names), conditional set, sequential
 * names, natural order, ephemeral records, the hook, and the indexes (a
 * 100,000-record store, counted in records visited rather than timed).
 */
#include <inttypes.h>
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

static enum oct_err set(struct store *st, const char *s)
{
	struct oct_record *r = P(s);
	enum oct_err err = store_set(st, r, 0, 0, NULL);

	oct_record_free(r);
	return err;
}

static enum oct_err del(struct store *st, const char *s)
{
	struct oct_record *r = P(s);
	enum oct_err err = store_del(st, r);

	oct_record_free(r);
	return err;
}

static enum oct_err exists(struct store *st, const char *s)
{
	struct oct_record *r = P(s);
	enum oct_err err = store_exists(st, r);

	oct_record_free(r);
	return err;
}

/* get, printed; NULL when there is no match. */
static char *get(struct store *st, const char *q, enum oct_err *errp)
{
	struct oct_record *r = P(q);
	const struct oct_record *out = NULL;
	enum oct_err err = store_get(st, r, &out);
	char *s = NULL;

	oct_record_free(r);
	if (errp)
		*errp = err;
	if (err == OCT_OK) {
		assert_non_null(out);
		s = oct_print(out, NULL);
		assert_non_null(s);
	} else {
		assert_null(out);
	}
	return s;
}

static void get_is(struct store *st, const char *q, const char *want)
{
	enum oct_err err;
	char *s = get(st, q, &err);

	if (err != OCT_OK)
		fail_msg("get %s: %s", q, oct_err_name(err));
	assert_string_equal(s, want);
	free(s);
}

static void get_err(struct store *st, const char *q, enum oct_err want)
{
	enum oct_err err;
	char *s = get(st, q, &err);

	if (err != want)
		fail_msg("get %s: %s, want %s", q, oct_err_name(err),
			 oct_err_name(want));
	free(s);
}

/* names as "a b c"; "" for none. */
static enum oct_err names(struct store *st, const char *q, char *buf,
			  size_t len)
{
	struct oct_record *r = P(q);
	const struct oct_record **out;
	size_t n, at = 0;
	enum oct_err err = store_names(st, r, &out, &n);

	oct_record_free(r);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s",
				       i ? " " : "", out[i]->name.p);
	free(out);
	return err;
}

static void names_are(struct store *st, const char *q, const char *want)
{
	char buf[4096];
	enum oct_err err = names(st, q, buf, sizeof(buf));

	if (err != OCT_OK)
		fail_msg("names %s: %s", q, oct_err_name(err));
	assert_string_equal(buf, want);
}

/* Barrelfish's set_records() */
static void bf_set_records(struct store *st)
{
	assert_int_equal(set(st, "object1 { weight: 20 }"), OCT_OK);
	assert_int_equal(set(st, "object3 { attr: 'A text string.', "
				 "weight: 9, fl: 12.0 }"), OCT_OK);
	assert_int_equal(set(st, "object4 { attr: 'Somestring', weight: 20, "
				 "fl: 12.000000 }"), OCT_OK);
	assert_int_equal(set(st, "object5 { pattern1: '123abab', pattern2: "
				 "'StringToTestRegexMatching', pattern3: "
				 "'10-10-2010' }"), OCT_OK);
	assert_int_equal(set(st, "object6 { pattern1: '123ababc', pattern2: "
				 "'StringToTestRegexMatching', pattern3: "
				 "'21-00-2900' }"), OCT_OK);
}

static void test_barrelfish_getset(void **state)
{
	struct store *st = store_new();
	char buf[4096];

	(void)state;
	assert_non_null(st);
	bf_set_records(st);

	/* exist_records() */
	assert_int_equal(exists(st, "recordDoesNotExist"), OCT_ERR_NO_RECORD);
	assert_int_equal(exists(st, "object3 { fl > 10, weight: _ }"), OCT_OK);
	assert_int_equal(exists(st, "object3 { fl > 12, weight: _ }"),
			 OCT_ERR_NO_RECORD);

	/* get_records() */
	get_err(st, "recordDoesNotExist", OCT_ERR_NO_RECORD);
	get_is(st, "object1", "object1 { weight: 20 }");
	get_is(st, "object4",
	       "object4 { attr: 'Somestring', fl: 12.0, weight: 20 }");
	get_is(st, "_ { weight >= 10, fl > 11.0 }",
	       "object4 { attr: 'Somestring', fl: 12.0, weight: 20 }");
	get_is(st, "_ { fl > 11.0 }",
	       "object3 { attr: 'A text string.', fl: 12.0, weight: 9 }");
	assert_int_equal(del(st, "object4"), OCT_OK);
	get_err(st, "object4", OCT_ERR_NO_RECORD);
	assert_int_equal(set(st, "object4 { attr: 'Somestring', fl: 12.0, "
				 "weight: 20 }"), OCT_OK);
	get_is(st, "object4",
	       "object4 { attr: 'Somestring', fl: 12.0, weight: 20 }");
	assert_int_equal(del(st, "object1"), OCT_OK);
	get_err(st, "object1", OCT_ERR_NO_RECORD);
	assert_int_equal(del(st, "object1"), OCT_ERR_NO_RECORD);
	get_is(st, "_ { pattern1: r'^12.*ab$' }",
	       "object5 { pattern1: '123abab', pattern2: "
	       "'StringToTestRegexMatching', pattern3: '10-10-2010' }");
	/* Barrelfish's long date regex. */
	get_is(st, "_ { pattern3: r'^(((((((0?[13578])|(1[02]))[\\.\\-/]?"
		   "((0?[1-9])|([12]\\d)|(3[01])))|(((0?[469])|(11))"
		   "[\\.\\-/]?((0?[1-9])|([12]\\d)|(30)))|((0?2)[\\.\\-/]?"
		   "((0?[1-9])|(1\\d)|(2[0-8]))))[\\.\\-/]?(((19)|(20))?"
		   "([\\d][\\d]))))|((0?2)[\\.\\-/]?(29)[\\.\\-/]?(((19)|(20))?"
		   "(([02468][048])|([13579][26])))))$' }",
	       "object5 { pattern1: '123abab', pattern2: "
	       "'StringToTestRegexMatching', pattern3: '10-10-2010' }");

	/* get_names() */
	names_are(st, "r'^object.*'", "object3 object4 object5 object6");
	names_are(st, "_ { weight: _ }", "object3 object4");
	names_are(st, "_ { attr: _, weight: 20 }", "object4");
	assert_int_equal(names(st, "asdfasd", buf, sizeof(buf)),
			 OCT_ERR_NO_RECORD);
	assert_string_equal(buf, "");

	/* regex_name() */
	assert_int_equal(set(st, "obj123 { attr: 12 }"), OCT_OK);
	assert_int_equal(set(st, "obj1 { attr: 12 }"), OCT_OK);
	assert_int_equal(set(st, "obj134 { attr: 12 }"), OCT_OK);
	get_is(st, "r'obj.$' { attr: 12 }", "obj1 { attr: 12 }");
	assert_int_equal(set(st, "r'obj.$' { attr: 12 }"),
			 OCT_ERR_NO_RECORD_NAME);
	names_are(st, "r'^obj.$'", "obj1");
	assert_int_equal(del(st, "r'obj.$' { attr: 12}"),
			 OCT_ERR_NO_RECORD_NAME);
	assert_int_equal(set(st, "_ { attr: 12 }"), OCT_ERR_NO_RECORD_NAME);
	assert_int_equal(del(st, "_"), OCT_ERR_NO_RECORD_NAME);
	store_free(st);
}

static void test_weights(void **state)
{
	struct store *st = store_new();
	char q[64];

	(void)state;
	for (int i = 1; i <= 12; i++) {
		snprintf(q, sizeof(q), "object%d { weight: %d }", i,
			 i % 2 ? 20 : 25);
		assert_int_equal(set(st, q), OCT_OK);
	}
	names_are(st, "r'^object[0-9]' { weight: 20 }",
		  "object1 object3 object5 object7 object9 object11");
	names_are(st, "r'^object[0-9]$' { weight: 20 }",
		  "object1 object3 object5 object7 object9");
	names_are(st, "_ { weight: 25.0 }",
		  "object2 object4 object6 object8 object10 object12");
	names_are(st, "_ { weight > 20, weight < 25.5 }",
		  "object2 object4 object6 object8 object10 object12");
	names_are(st, "_ { weight != 25 }",
		  "object1 object3 object5 object7 object9 object11");
	get_is(st, "r'1' { weight == 25 }", "object10 { weight: 25 }");
	get_is(st, "_ { weight: 20 }", "object1 { weight: 20 }");
	get_err(st, "_ { weight: 'twenty' }", OCT_ERR_NO_RECORD);
	get_err(st, "_ { weight > 'a' }", OCT_ERR_NO_RECORD);
	get_err(st, "_ { weight: r'2' }", OCT_ERR_NO_RECORD);
	get_err(st, "_ { height: _ }", OCT_ERR_NO_RECORD);
	get_err(st, "r'(' { weight: 20 }", OCT_ERR_PARSER_FAIL);
	get_err(st, "_ { weight: r'[' }", OCT_ERR_PARSER_FAIL);
	store_free(st);
}

static void test_conditional_set(void **state)
{
	struct store *st = store_new();

	(void)state;
	assert_int_equal(set(st, "dev { bus: 0, device: 1, vendor: 0x8086 }"),
			 OCT_OK);
	/* The paper's update: bus becomes 5 only if it is 0. */
	assert_int_equal(set(st, "dev { bus: 5, bus == 0 }"), OCT_OK);
	get_is(st, "dev", "dev { bus: 5 }");
	assert_int_equal(set(st, "dev { bus: 7, bus == 0 }"),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	get_is(st, "dev", "dev { bus: 5 }");
	assert_int_equal(set(st, "dev { bus: 7, bus > 4, bus < 6.5 }"), OCT_OK);
	get_is(st, "dev", "dev { bus: 7 }");
	/* Constraint on a missing attribute, or a string vs a number. */
	assert_int_equal(set(st, "dev { x: 1, nope == 1 }"),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	assert_int_equal(set(st, "dev { x: 1, bus == 'a' }"),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	/* Conditional set of a record that does not exist. */
	assert_int_equal(set(st, "ghost { a: 1, a == 1 }"),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	get_err(st, "ghost", OCT_ERR_NO_RECORD);
	/* Non-literal values cannot be stored. */
	assert_int_equal(set(st, "dev { a: _ }"), OCT_ERR_PARSER_FAIL);
	assert_int_equal(set(st, "dev { a: r'x' }"), OCT_ERR_PARSER_FAIL);
	get_is(st, "dev", "dev { bus: 7 }");
	/* Set replaces the whole attribute list. */
	assert_int_equal(set(st, "dev"), OCT_OK);
	get_is(st, "dev", "dev {}");
	get_err(st, "_ { bus: _ }", OCT_ERR_NO_RECORD);
	/* del with terms: must match. */
	assert_int_equal(set(st, "dev { s: 'x' }"), OCT_OK);
	assert_int_equal(del(st, "dev { s: 'y' }"),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	assert_int_equal(del(st, "dev { s: r'^x$' }"), OCT_OK);
	get_err(st, "dev", OCT_ERR_NO_RECORD);
	store_free(st);
}

static void test_sequential_and_order(void **state)
{
	struct store *st = store_new();
	struct oct_record *r = P("hw.pci.device. { bus: 0 }");
	const struct oct_record *out;
	char want[1024], q[64];
	size_t at = 0;

	(void)state;
	for (int i = 0; i < 12; i++) {
		assert_int_equal(store_set(st, r, STORE_SET_SEQ, 0, &out),
				 OCT_OK);
		snprintf(q, sizeof(q), "hw.pci.device.%d", i);
		assert_string_equal(out->name.p, q);
		at += (size_t)snprintf(want + at, sizeof(want) - at, "%s%s",
				       i ? " " : "", q);
	}
	names_are(st, "r'^hw\\.pci\\.device\\.'", want);
	names_are(st, "_ { bus: 0 }", want);
	get_is(st, "_ { bus: 0 }", "hw.pci.device.0 { bus: 0 }");
	/* The counter is per base and does not reuse numbers. */
	assert_int_equal(del(st, "hw.pci.device.11"), OCT_OK);
	assert_int_equal(store_set(st, r, STORE_SET_SEQ, 0, &out), OCT_OK);
	assert_string_equal(out->name.p, "hw.pci.device.12");
	/* A name already taken is skipped. */
	assert_int_equal(set(st, "hw.pci.device.13"), OCT_OK);
	assert_int_equal(store_set(st, r, STORE_SET_SEQ, 0, &out), OCT_OK);
	assert_string_equal(out->name.p, "hw.pci.device.14");
	oct_record_free(r);
	r = P("lock.");
	assert_int_equal(store_set(st, r, STORE_SET_SEQ, 0, &out), OCT_OK);
	assert_string_equal(out->name.p, "lock.0");
	oct_record_free(r);
	/* Conditional sequential sets cannot match. */
	r = P("lock. { a: 1, a == 1 }");
	assert_int_equal(store_set(st, r, STORE_SET_SEQ, 0, &out),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	oct_record_free(r);

	/* Natural order, whatever the insertion order. */
	static const char *const ns[] = { "x10", "x2", "x1", "x100", "x02",
					  "y", "x", "x9" };
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		snprintf(q, sizeof(q), "%s { n: 1 }", ns[i]);
		assert_int_equal(set(st, q), OCT_OK);
	}
	names_are(st, "r'^[xy]'", "x x1 x02 x2 x9 x10 x100 y");
	names_are(st, "_ { n: 1 }", "x x1 x02 x2 x9 x10 x100 y");
	get_is(st, "r'^x[0-9]{2}'", "x02 { n: 1 }");
	get_is(st, "r'^x[1-9][0-9]' { n: _ }", "x10 { n: 1 }");
	store_free(st);
}

struct hook_log {
	int sets, dels;
	char last[256];
};

static void hook(void *ctx, enum store_op op, const struct oct_record *rec)
{
	struct hook_log *log = ctx;

	if (op == STORE_OP_SET)
		log->sets++;
	else
		log->dels++;
	snprintf(log->last, sizeof(log->last), "%s %s",
		 op == STORE_OP_SET ? "set" : "del", rec->name.p);
}

static void test_ephemeral_and_hook(void **state)
{
	struct store *st = store_new();
	struct hook_log log = { 0 };
	struct oct_record *r;
	struct oct_record **gone;
	bool eph;
	uint64_t owner;

	(void)state;
	store_set_hook(st, hook, &log);
	for (int i = 0; i < 5; i++) {
		char q[64];

		snprintf(q, sizeof(q), "e%d { i: %d }", i, i);
		r = P(q);
		assert_int_equal(store_set(st, r, STORE_SET_EPHEMERAL,
					   i % 2 ? 7 : 8, NULL), OCT_OK);
		oct_record_free(r);
	}
	assert_int_equal(set(st, "persistent { i: 9 }"), OCT_OK);
	assert_int_equal(log.sets, 6);
	assert_string_equal(log.last, "set persistent");
	assert_true(store_owner(st, "e1", 2, &eph, &owner));
	assert_true(eph);
	assert_int_equal(owner, 7);
	assert_true(store_owner(st, "persistent", 10, &eph, &owner));
	assert_false(eph);
	assert_false(store_owner(st, "nope", 4, &eph, &owner));
	/* A plain set makes e3 persistent. */
	assert_int_equal(set(st, "e3 { i: 33 }"), OCT_OK);
	/* A failed set does not call the hook. */
	assert_int_equal(set(st, "e3 { i: 1, i == 0 }"),
			 OCT_ERR_CONSTRAINT_MISMATCH);
	assert_int_equal(log.sets, 7);

	assert_int_equal(store_del_owned(st, 7, &gone), 1);
	assert_non_null(gone);
	assert_string_equal(gone[0]->name.p, "e1");
	assert_int_equal(gone[0]->attrs[0].val.i, 1);
	oct_record_free(gone[0]);
	free(gone);
	assert_int_equal(log.dels, 1);
	assert_string_equal(log.last, "del e1");
	names_are(st, "_ { i: _ }", "e0 e2 e3 e4 persistent");
	assert_int_equal(store_del_owned(st, 8, NULL), 3);
	assert_int_equal(log.dels, 4);
	names_are(st, "_", "e3 persistent");
	assert_int_equal(store_del_owned(st, 8, &gone), 0);
	assert_null(gone);
	assert_int_equal(del(st, "e3"), OCT_OK);
	assert_int_equal(log.dels, 5);
	assert_string_equal(log.last, "del e3");
	assert_non_null(store_lookup(st, "persistent", 10));
	assert_null(store_lookup(st, "e3", 2));
	store_free(st);
}

/* A store of 100,000 records: literal gets and attribute queries visit
 * only what the indexes give them. */
static void test_indexes(void **state)
{
	enum { N = 100000 };
	struct store *st = store_new();
	struct store_stats s;
	char q[128];

	(void)state;
	for (int i = 0; i < N; i++) {
		if (i % 10000 == 5)
			snprintf(q, sizeof(q), "rec%d { id: %d, rare: %d }", i,
				 i, i / 10000);
		else
			snprintf(q, sizeof(q), "rec%d { id: %d, kind: 'k%d' }",
				 i, i, i % 7);
		assert_int_equal(set(st, q), OCT_OK);
	}
	store_stats(st, &s);
	assert_int_equal(s.records, N);
	assert_int_equal(s.keys, 3);

	store_reset_visited(st);
	get_is(st, "rec77777", "rec77777 { id: 77777, kind: 'k0' }");
	get_is(st, "rec77777 { id > 5 }", "rec77777 { id: 77777, kind: 'k0' }");
	get_err(st, "rec77777 { id < 5 }", OCT_ERR_NO_RECORD);
	get_err(st, "nope", OCT_ERR_NO_RECORD);
	store_stats(st, &s);
	assert_int_equal(s.visited, 3);

	store_reset_visited(st);
	names_are(st, "_ { rare: _ }",
		  "rec5 rec10005 rec20005 rec30005 rec40005 rec50005 "
		  "rec60005 rec70005 rec80005 rec90005");
	store_stats(st, &s);
	assert_int_equal(s.visited, 10);
	store_reset_visited(st);
	get_is(st, "_ { id: _, rare >= 3 }", "rec30005 { id: 30005, rare: 3 }");
	store_stats(st, &s);
	assert_int_equal(s.visited, 10);
	store_reset_visited(st);
	get_err(st, "_ { nokey: 1, id: 1 }", OCT_ERR_NO_RECORD);
	store_stats(st, &s);
	assert_int_equal(s.visited, 0);

	/* A name-regex query without attributes walks everything, once. */
	store_reset_visited(st);
	names_are(st, "r'^rec9999[0-9]$'",
		  "rec99990 rec99991 rec99992 rec99993 rec99994 rec99995 "
		  "rec99996 rec99997 rec99998 rec99999");
	store_stats(st, &s);
	assert_int_equal(s.visited, N);
	/* ...but a regex is compiled once per query, and then cached. */
	uint64_t compiles = s.regex_compiles;

	names_are(st, "r'^rec9999[0-9]$'",
		  "rec99990 rec99991 rec99992 rec99993 rec99994 rec99995 "
		  "rec99996 rec99997 rec99998 rec99999");
	store_stats(st, &s);
	assert_int_equal(s.regex_compiles, compiles);

	/* Replacing and deleting keep the indexes right. */
	assert_int_equal(set(st, "rec6 { rare: 42 }"), OCT_OK);
	assert_int_equal(del(st, "rec5"), OCT_OK);
	store_reset_visited(st);
	get_is(st, "_ { rare > 40 }", "rec6 { rare: 42 }");
	store_stats(st, &s);
	assert_int_equal(s.visited, 10);
	for (int i = 0; i < N; i += 2) {
		snprintf(q, sizeof(q), "rec%d", i);
		assert_int_equal(del(st, q), OCT_OK);
	}
	store_stats(st, &s);
	assert_int_equal(s.records, N / 2 - 1);	/* and rec5 */
	store_reset_visited(st);
	names_are(st, "_ { rare: _ }",
		  "rec10005 rec20005 rec30005 rec40005 rec50005 rec60005 "
		  "rec70005 rec80005 rec90005");
	store_stats(st, &s);
	assert_int_equal(s.visited, 9);
	get_is(st, "r'^rec[0-9]+$'", "rec1 { id: 1, kind: 'k1' }");
	store_free(st);
}

/* Many regexes in one query, colliding in the cache: all stay usable. */
static void test_regex_cache(void **state)
{
	struct store *st = store_new();
	char q[8192];
	size_t at;

	(void)state;
	at = (size_t)snprintf(q, sizeof(q), "r { ");
	for (int i = 0; i < 200; i++)
		at += (size_t)snprintf(q + at, sizeof(q) - at, "%sk%03d: 'v%d'",
				       i ? ", " : "", i, i);
	snprintf(q + at, sizeof(q) - at, " }");
	assert_int_equal(set(st, q), OCT_OK);
	at = (size_t)snprintf(q, sizeof(q), "r'^r$' { ");
	for (int i = 0; i < 200; i++)
		at += (size_t)snprintf(q + at, sizeof(q) - at,
				       "%sk%03d: r'^v%d$'", i ? ", " : "",
				       i, i);
	snprintf(q + at, sizeof(q) - at, " }");
	enum oct_err err;
	char *s = get(st, q, &err);

	assert_int_equal(err, OCT_OK);
	free(s);
	/* Again: cached ones and the rest. */
	s = get(st, q, &err);
	assert_int_equal(err, OCT_OK);
	free(s);
	store_free(st);
}

/* Random sets, ephemeral sets, dels and owner deaths against a model: the
 * name table (deletion shifts entries back), skip list, key and owner
 * indexes stay consistent. */
static void test_random_model(void **state)
{
	enum { POOL = 3000, OPS = 60000 };
	struct store *st = store_new();
	static signed char present[POOL];	/* 0 absent, 1 plain, 2+o eph */
	uint64_t x = 12345;
	char q[64];

	(void)state;
	memset(present, 0, sizeof(present));
	for (int op = 0; op < OPS; op++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		unsigned int k = (unsigned int)(x >> 33) % POOL;
		unsigned int what = (unsigned int)(x >> 20) % 10;

		snprintf(q, sizeof(q), "n%u { v: %u }", k, k);
		struct oct_record *r = P(q);

		if (what < 5) {
			assert_int_equal(store_set(st, r, 0, 0, NULL), OCT_OK);
			present[k] = 1;
		} else if (what < 7) {
			unsigned int o = k % 3;

			assert_int_equal(store_set(st, r, STORE_SET_EPHEMERAL,
						   o, NULL), OCT_OK);
			present[k] = (signed char)(2 + o);
		} else if (what < 9) {
			assert_int_equal(store_del(st, r),
					 present[k] ? OCT_OK : OCT_ERR_NO_RECORD);
			present[k] = 0;
		} else {
			size_t want = 0, got;

			for (int i = 0; i < POOL; i++)
				if (present[i] == (signed char)(2 + k % 3)) {
					present[i] = 0;
					want++;
				}
			got = store_del_owned(st, k % 3, NULL);
			assert_int_equal(got, want);
		}
		oct_record_free(r);
	}
	size_t count = 0;

	for (unsigned int i = 0; i < POOL; i++) {
		int l = snprintf(q, sizeof(q), "n%u", i);

		count += present[i] != 0;
		assert_int_equal(store_lookup(st, q, (size_t)l) != NULL,
				 present[i] != 0);
	}
	struct store_stats s;

	store_stats(st, &s);
	assert_int_equal(s.records, count);
	/* Every walk gives all of them, in natural order. */
	const char *qs[] = { "_", "_ { v: _ }", "r'^n' { v >= 0 }" };

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct oct_record *r = P(qs[i]);
		const struct oct_record **out;
		size_t n;

		assert_int_equal(store_names(st, r, &out, &n), OCT_OK);
		assert_int_equal(n, count);
		for (size_t j = 1; j < n; j++)
			assert_true(oct_natural_cmp(out[j - 1]->name.p,
						    out[j - 1]->name.len,
						    out[j]->name.p,
						    out[j]->name.len) < 0);
		free(out);
		oct_record_free(r);
	}
	store_free(st);
}

/* The watch index ------------------------------------------------------ */

static struct watch *W(const char *q)
{
	struct watch *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	assert_int_equal(watch_init(w, P(q)), OCT_OK);
	return w;
}

static void count_cb(struct watch *w, void *ctx)
{
	(void)w;
	(*(size_t *)ctx)++;
}

/* How many watches of x match r, and how many candidates that tested. */
static size_t idx_match(struct watchidx *x, const char *rec, uint64_t *visited)
{
	struct oct_record *r = P(rec);
	size_t n = 0, ret;
	uint64_t v0 = x->visited;

	ret = watchidx_match(x, r, count_cb, &n);
	assert_int_equal(ret, n);
	*visited = x->visited - v0;
	oct_record_free(r);
	return n;
}

/*
 * 20,000 watches that cannot match (other names, other keys) cost a set
 * nothing: only the rest list and the buckets of the record's name and
 * keys are visited. Without the index every watch would be.
 */
static void test_watchidx_candidates(void **state)
{
	enum { N = 10000 };
	struct watchidx x;
	struct watch **ws = calloc(2 * N + 8, sizeof(*ws));
	size_t nw = 0;
	uint64_t visited;
	char q[64];

	(void)state;
	assert_non_null(ws);
	watchidx_init(&x);
	for (int i = 0; i < N; i++) {
		snprintf(q, sizeof(q), "t.%d", i);
		ws[nw++] = W(q);
		snprintf(q, sizeof(q), "_ { k%d: _ }", i);
		ws[nw++] = W(q);
	}
	ws[nw++] = W("_");				/* rest */
	ws[nw++] = W("r'^zz'");				/* rest */
	ws[nw++] = W("zz.1");				/* name */
	ws[nw++] = W("_ { a: 1 }");			/* key a */
	ws[nw++] = W("_ { a: 2 }");			/* key a */
	ws[nw++] = W("_ { a: _, k7: _ }");		/* key a: k7 is taken */
	for (size_t i = 0; i < nw; i++)
		assert_int_equal(watchidx_add(&x, ws[i]), 0);
	assert_int_equal(x.n, nw);

	assert_int_equal(idx_match(&x, "zz.1 { a: 1 }", &visited), 4);
	assert_true(visited <= 6);
	assert_int_equal(idx_match(&x, "other { b: 1 }", &visited), 1);
	assert_int_equal(visited, 2);
	assert_int_equal(idx_match(&x, "t.77 { k5: 1, a: 2 }", &visited), 4);
	assert_true(visited <= 7);
	assert_int_equal(idx_match(&x, "q { a: 5, k7: 0 }", &visited), 3);
	assert_true(visited <= 6);

	/* Removal empties and frees buckets; the rest keeps working. */
	for (size_t i = 0; i < nw; i++)
		if (i % 2 == 0 || i >= 2 * N)
			watchidx_del(&x, ws[i]);
	assert_int_equal(x.n, N);
	assert_int_equal(idx_match(&x, "zz.1 { a: 1 }", &visited), 0);
	assert_int_equal(visited, 0);
	assert_int_equal(idx_match(&x, "n { k9999: 1 }", &visited), 1);
	assert_int_equal(visited, 1);
	for (size_t i = 0; i < nw; i++) {
		watchidx_del(&x, ws[i]);	/* twice is harmless */
		watch_fini(ws[i]);
		free(ws[i]);
	}
	assert_int_equal(x.n, 0);
	assert_int_equal(x.buckets.n, 0);
	watchidx_fini(&x);
	free(ws);
}

static bool *model_hits;

static void mark_cb(struct watch *w, void *ctx)
{
	struct watch **ws = ctx;
	size_t i = 0;

	while (ws[i] != w)
		i++;
	assert_false(model_hits[i]);	/* no candidate twice */
	model_hits[i] = true;
}

/* watch_match(), which must not fail here. */
static bool wmatch(struct watchidx *x, struct watch *w,
		   const struct oct_record *rec)
{
	bool m;

	assert_int_equal(watch_match(x, w, rec, &m), OCT_OK);
	return m;
}

/* The index finds exactly what testing every watch finds. */
static void test_watchidx_model(void **state)
{
	enum { NQ = 400, ROUNDS = 3000 };
	static const char *const names[] = { "a", "b", "a.1", "_", "r'^a'",
					     "r'1$'" };
	static const char *const terms[] = { "", "x: _", "x: 1", "y > 2",
					     "x: 1, y: _", "z: r'^s'",
					     "y != 3, z: _", "x <= 1.5" };
	static const char *const recs[] = {
		"a {}", "a { x: 1 }", "b { y: 5 }", "a.1 { x: 1, y: 3 }",
		"c { z: 'str' }", "b1 { x: 2, y: 2, z: 'sx' }", "a { w: 1 }",
	};
	struct watchidx x;
	struct watch *ws[NQ];
	bool in[NQ] = { false }, hits[NQ];
	uint64_t r = 99;
	char q[128];

	(void)state;
	watchidx_init(&x);
	model_hits = hits;
	for (int i = 0; i < NQ; i++) {
		const char *n = names[i % 6], *t = terms[(i / 6) % 8];

		snprintf(q, sizeof(q), "%s { %s }", n, t);
		ws[i] = W(q);
	}
	for (int round = 0; round < ROUNDS; round++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		int i = (int)((r >> 33) % NQ);

		if (in[i])
			watchidx_del(&x, ws[i]);
		else
			assert_int_equal(watchidx_add(&x, ws[i]), 0);
		in[i] = !in[i];
		if (round % 10)
			continue;
		for (size_t k = 0; k < sizeof(recs) / sizeof(recs[0]); k++) {
			struct oct_record *rec = P(recs[k]);

			memset(hits, 0, sizeof(hits));
			watchidx_match(&x, rec, mark_cb, ws);
			for (int j = 0; j < NQ; j++)
				if (hits[j] != (in[j] && wmatch(&x, ws[j], rec)))
					fail_msg("%s: watch %d (%s) %s", recs[k], j,
						 oct_print(ws[j]->q, NULL),
						 hits[j] ? "matched wrongly" :
							   "missed");
			oct_record_free(rec);
		}
	}
	for (int i = 0; i < NQ; i++) {
		watchidx_del(&x, ws[i]);
		watch_fini(ws[i]);
		free(ws[i]);
	}
	watchidx_fini(&x);
}

/* The id table against an array: random puts, gets and deletes, with
 * ids in runs (as the server hands them out) and in clusters that collide
 * and wrap around the table, so backward-shift deletion is exercised. */
static void test_idmap_model(void **state)
{
	enum { NID = 5000, ROUNDS = 200000 };
	static char vals[NID];
	struct idmap m;
	bool in[NID] = { false };
	uint64_t r = 7;
	size_t n = 0;

	(void)state;
	idmap_init(&m);
	assert_null(idmap_get(&m, 1));
	idmap_del(&m, 1);	/* absent: nothing */
	for (int round = 0; round < ROUNDS; round++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		int i = (int)((r >> 33) % NID);
		uint64_t id = (uint64_t)i + 1 + (i % 3 ? 0 : (uint64_t)i << 40);

		if (in[i]) {
			assert_ptr_equal(idmap_get(&m, id), &vals[i]);
			idmap_del(&m, id);
			idmap_del(&m, id);	/* twice: nothing */
			n--;
		} else {
			assert_null(idmap_get(&m, id));
			assert_int_equal(idmap_put(&m, id, &vals[i]), 0);
			n++;
		}
		in[i] = !in[i];
		assert_int_equal(m.t.n, n);
		if (round % 1000)
			continue;
		for (int j = 0; j < NID; j++) {
			uint64_t jd = (uint64_t)j + 1 +
				      (j % 3 ? 0 : (uint64_t)j << 40);

			assert_ptr_equal(idmap_get(&m, jd), in[j] ? &vals[j] : NULL);
		}
	}
	assert_null(idmap_get(&m, 0));
	idmap_fini(&m);
}

/* One compiled query --------------------------------------------------
 *
 * libmk/octopus/query.c behind the store and the watch index: on a table
 * of queries and records, OCT.GET's answer (the store) and a trigger's
 * (the watch index) are the same; a match PCRE2 gives up on is an error
 * in both, never a silent mismatch.
 */

static const char *const agree_queries[] = {
	"a", "_", "r'^a'", "r'x$'", "r'^(b|c)\\.'", "_ { x: _ }",
	"_ { x: 1 }", "_ { x: 1.0 }", "_ { x == 1 }", "_ { x != 1 }",
	"_ { x < 2 }", "_ { x >= 2.5 }", "_ { s: 'str' }", "_ { s: str }",
	"_ { s: r'^st' }", "_ { s > 'a' }", "_ { s < 3 }", "_ { b: true }",
	"a { x: _, s: _ }", "r'^a' { x <= 1, x >= 1 }", "_ { y: _ }",
	"b.x { s: r'.' }", "_ { x: r'1' }", "_ { x > 0, s: r'r$' }",
};

static const char *const agree_records[] = {
	"a", "a { x: 1 }", "a { x: 1.0, s: 'str' }", "ab { x: 2 }",
	"b.x { s: str }", "c.y { s: 'b', x: 3 }", "zx { b: true }",
	"ax { x: -1, s: 'sr' }", "b.x { x: 2.5, s: '' }",
};

#define ANQ (sizeof(agree_queries) / sizeof(agree_queries[0]))
#define ANR (sizeof(agree_records) / sizeof(agree_records[0]))

/*
 * For every (query, record): the store holding just that record answers
 * OCT.EXISTS, the watch index a set of it, and oct_query_match() directly;
 * all three agree.
 */
static void test_store_and_watch_agree(void **state)
{
	size_t matches = 0;

	(void)state;
	for (size_t i = 0; i < ANQ; i++) {
		struct oct_record *q = P(agree_queries[i]);
		struct watchidx x;
		struct watch w;
		struct oct_query_ctx *ctx = oct_query_ctx_new();
		struct oct_query cq;

		assert_non_null(ctx);
		assert_int_equal(oct_query_compile(&cq, q, ctx), OCT_OK);
		watchidx_init(&x);
		assert_int_equal(watch_init(&w, P(agree_queries[i])), OCT_OK);
		assert_int_equal(watchidx_add(&x, &w), 0);
		for (size_t j = 0; j < ANR; j++) {
			struct store *st = store_new();
			struct oct_record *r = P(agree_records[j]);
			enum oct_err e;
			size_t fired = 0;
			bool direct, watched;
			int rc;

			assert_non_null(st);
			assert_int_equal(store_set(st, r, 0, 0, NULL), OCT_OK);
			e = store_exists(st, q);
			assert_true(e == OCT_OK || e == OCT_ERR_NO_RECORD);
			rc = oct_query_match(&cq, ctx, r, 0);
			assert_true(rc == 0 || rc == 1);
			direct = rc;
			assert_int_equal(watch_match(&x, &w, r, &watched), OCT_OK);
			watchidx_match(&x, r, count_cb, &fired);
			if ((e == OCT_OK) != direct || direct != watched ||
			    fired != (size_t)watched)
				fail_msg("%s on %s: store %d, query %d, watch %d, fired %zu",
					 agree_queries[i], agree_records[j], e == OCT_OK,
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
	assert_true(matches > ANQ);
	assert_true(matches < ANQ * ANR);
}

/* Catastrophic backtracking on a string of 'a's with no way to end. */
#define SLOW_RE "r'^(a+)+$'"
#define SLOW_VAL "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"
#define SLOW_NAME "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0"

static enum oct_err qget(struct store *st, const char *q)
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
	assert_int_equal(qget(st, "_ { t: " SLOW_RE " }"), OCT_OK);
	/* ...and past the limit every query call fails, not mismatches. */
	assert_int_equal(qget(st, "_ { s: " SLOW_RE " }"), OCT_ERR_QUERY_SIZE);
	assert_int_equal(qget(st, "n { s: " SLOW_RE " }"), OCT_ERR_QUERY_SIZE);
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
	assert_int_equal(qget(st, SLOW_RE), OCT_ERR_QUERY_SIZE);
	/* With PCRE2's own limits, the same, only later: before one
	 * compiled query, this was a silent NO_RECORD. */
	assert_int_equal(store_set_match_limit(st, 0), 0);
	assert_int_equal(qget(st, "n { s: " SLOW_RE " }"), OCT_ERR_QUERY_SIZE);

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
		cmocka_unit_test(test_barrelfish_getset),
		cmocka_unit_test(test_weights),
		cmocka_unit_test(test_conditional_set),
		cmocka_unit_test(test_sequential_and_order),
		cmocka_unit_test(test_ephemeral_and_hook),
		cmocka_unit_test(test_indexes),
		cmocka_unit_test(test_regex_cache),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_watchidx_candidates),
		cmocka_unit_test(test_watchidx_model),
		cmocka_unit_test(test_idmap_model),
		cmocka_unit_test(test_store_and_watch_agree),
		cmocka_unit_test(test_limit_is_an_error),
	};

	return cmocka_run_group_tests_name("oct_store", tests, NULL, NULL);
}
