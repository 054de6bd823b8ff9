// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemons' hash table and hash (hashtab.h). */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "hashtab.h"

uint64_t hashtab_seed;

/*
 * Before main(), so that no table ever sees two seeds and the hot path
 * tests nothing. Without entropy yet (early boot), the clock and an
 * address still differ between runs.
 */
__attribute__((constructor)) static void seed_init(void)
{
	if (getrandom(&hashtab_seed, sizeof(hashtab_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(hashtab_seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		hashtab_seed = hash_mix64((uint64_t)ts.tv_nsec ^
					  ((uint64_t)ts.tv_sec << 32) ^
					  (uint64_t)(uintptr_t)&ts);
	}
}

void hashtab_init(struct hashtab *t)
{
	t->s = NULL;
	t->cap = 0;
	t->n = 0;
}

void hashtab_fini(struct hashtab *t)
{
	free(t->s);
	hashtab_init(t);
}

static void place(struct hashtab_slot *s, size_t cap, uint64_t hash, void *v)
{
	size_t i = hash & (cap - 1);

	while (s[i].v)
		i = (i + 1) & (cap - 1);
	s[i].hash = hash;
	s[i].v = v;
}

int hashtab_reserve(struct hashtab *t)
{
	if ((t->n + 1) * 4 <= t->cap * 3)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 16;
	struct hashtab_slot *s = calloc(cap, sizeof(*s));

	if (!s)
		return t->n + 1 < t->cap ? 0 : -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].v)
			place(s, cap, t->s[i].hash, t->s[i].v);
	free(t->s);
	t->s = s;
	t->cap = cap;
	return 0;
}

void hashtab_insert(struct hashtab *t, uint64_t hash, void *v)
{
	place(t->s, t->cap, hash, v);
	t->n++;
}

bool hashtab_remove(struct hashtab *t, uint64_t hash, const void *v)
{
	if (!t->cap)
		return false;
	size_t mask = t->cap - 1, i = hash & mask;

	for (; t->s[i].v != v; i = (i + 1) & mask)
		if (!t->s[i].v)
			return false;
	/* Backward shift: move up each later entry of the run whose home is
	 * not cyclically in (i, j], so every probe still reaches its entry. */
	for (size_t j = (i + 1) & mask; t->s[j].v; j = (j + 1) & mask) {
		size_t home = t->s[j].hash & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->s[i] = t->s[j];
			i = j;
		}
	}
	t->s[i].v = NULL;
	t->n--;
	return true;
}

void *hashtab_next(const struct hashtab *t, size_t *cursor)
{
	while (*cursor < t->cap) {
		void *v = t->s[(*cursor)++].v;

		if (v)
			return v;
	}
	return NULL;
}
