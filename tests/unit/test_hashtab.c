// SPDX-License-Identifier: GPL-2.0-or-later
/* libmk/hashtab.c: the daemons' one hash table and hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hashtab.h"

struct ent {
	char key[24];
	size_t len;
	uint64_t hash;
	bool seen;
};

static bool ent_eq(const void *e, const void *key)
{
	const struct ent *x = e;

	return x->len == strlen(key) && !memcmp(x->key, key, x->len);
}

static struct ent *find(const struct hashtab *t, const char *key)
{
	return hashtab_find(t, hash_bytes(key, strlen(key)), ent_eq, key);
}

/* FNV-1a 64's published vectors, and the seeded hashes' basic promises. */
static void test_hash(void **state)
{
	(void)state;
	assert_true(fnv1a64(FNV1A64_BASIS, "", 0) == 0xcbf29ce484222325ull);
	assert_true(fnv1a64(FNV1A64_BASIS, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(fnv1a64(FNV1A64_BASIS, "foobar", 6) ==
		    0x85944171f73967e8ull);
	assert_true(hash_bytes("abc", 3) == hash_bytes("abc", 3));
	assert_true(hash_bytes("abc", 3) != hash_bytes("abd", 3));
	assert_true(hash_bytes("abc", 3) != hash_bytes("abc", 2));
	/* hash_u64 is a bijection: ids 0..N-1 never collide. */
	enum { N = 1 << 16 };
	uint64_t *h = malloc(N * sizeof(*h));

	assert_non_null(h);
	for (uint64_t i = 0; i < N; i++)
		h[i] = hash_u64(i);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < i + 64 && j < N; j++)
			assert_true(h[i] != h[j]);
	free(h);
}

static void test_basic(void **state)
{
	struct hashtab t = HASHTAB_INIT;
	struct ent a = { "alpha", 5, 0, false }, b = { "beta", 4, 0, false };

	(void)state;
	assert_null(find(&t, "alpha"));	/* an empty table has no slots */
	assert_false(hashtab_remove(&t, 1, &a));
	a.hash = hash_bytes(a.key, a.len);
	b.hash = hash_bytes(b.key, b.len);
	assert_int_equal(hashtab_reserve(&t), 0);
	hashtab_insert(&t, a.hash, &a);
	assert_int_equal(hashtab_reserve(&t), 0);
	hashtab_insert(&t, b.hash, &b);
	assert_int_equal(t.n, 2);
	assert_ptr_equal(find(&t, "alpha"), &a);
	assert_ptr_equal(find(&t, "beta"), &b);
	assert_null(find(&t, "gamma"));
	/* The hash alone, without eq. */
	assert_ptr_equal(hashtab_find(&t, b.hash, NULL, NULL), &b);
	assert_false(hashtab_remove(&t, a.hash, &b));	/* b is not under a's */
	assert_true(hashtab_remove(&t, a.hash, &a));
	assert_false(hashtab_remove(&t, a.hash, &a));
	assert_null(find(&t, "alpha"));
	assert_ptr_equal(find(&t, "beta"), &b);
	assert_int_equal(t.n, 1);
	hashtab_fini(&t);
	assert_int_equal(t.cap, 0);
	hashtab_fini(&t);	/* twice is harmless */
}

/*
 * Many keys against a model, with growth from empty, random deletes and
 * re-inserts, and every entry seen once by iteration. One key in 16 has
 * its home among the table's last 16 slots, whatever its size: long runs
 * that wrap around the end, so backward-shift deletion is exercised.
 */
static void test_model(void **state)
{
	enum { N = 20000, ROUNDS = 100000 };
	struct ent *e = calloc(N, sizeof(*e));
	bool *in = calloc(N, sizeof(*in));
	struct hashtab t;
	uint64_t r = 7;
	size_t n = 0, cap_seen = 0;

	(void)state;
	assert_non_null(e);
	assert_non_null(in);
	hashtab_init(&t);
	for (int i = 0; i < N; i++) {
		e[i].len = (size_t)snprintf(e[i].key, sizeof(e[i].key), "k%d", i);
		e[i].hash = hash_bytes(e[i].key, e[i].len);
		if (i % 16 == 0)
			e[i].hash = ((uint64_t)i << 40) | 0xfffffff0u |
				    (e[i].hash & 0xf);
	}
	for (int round = 0; round < ROUNDS; round++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		int i = (int)((r >> 33) % N);

		if (in[i]) {
			assert_true(hashtab_remove(&t, e[i].hash, &e[i]));
			n--;
		} else {
			assert_int_equal(hashtab_reserve(&t), 0);
			hashtab_insert(&t, e[i].hash, &e[i]);
			n++;
		}
		in[i] = !in[i];
		assert_int_equal(t.n, n);
		assert_true(t.n * 4 <= t.cap * 3);	/* load <= 3/4 */
		if (t.cap > cap_seen)
			cap_seen = t.cap;
		if (round % 5000)
			continue;
		for (int j = 0; j < N; j++)
			assert_ptr_equal(hashtab_find(&t, e[j].hash, ent_eq,
						      e[j].key),
					 in[j] ? &e[j] : NULL);
	}
	assert_true(cap_seen >= 8192);	/* it grew */
	/* Iteration visits each entry once. */
	struct ent *v;
	size_t visited = 0;

	for (size_t i = 0; (v = hashtab_next(&t, &i));) {
		assert_true(in[v - e]);
		assert_false(v->seen);
		v->seen = true;
		visited++;
	}
	assert_int_equal(visited, n);
	hashtab_fini(&t);
	free(e);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
