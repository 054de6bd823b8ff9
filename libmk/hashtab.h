/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One hash table for the daemons (octopusd; fnamed and kaluga after it),
 * linked from libmk.a. Private to the tree: not under include/mk/, hidden
 * from libmk.so (no mk_ prefix, -fvisibility=hidden).
 *
 * Open addressing with linear probing over (hash, pointer) slots, load at
 * most 3/4, deletion by backward shift (no tombstones): a lookup touches
 * its slots and, only on a full hash match, the entry. The table stores
 * pointers the caller owns (NULL marks an empty slot, so NULL cannot be
 * stored) and compares entries through the caller's eq() on a hash match;
 * a key whose hash is a bijection of it (hash_u64() of an id) needs no
 * eq() at all.
 *
 * One hash for every table: FNV-1a 64 from a basis mixed with one seed per
 * process (getrandom(), read once at load), then a 64-bit finalizer; names
 * and keys come from clients, so their collisions should not be easy to
 * precompute. hash_u64() is the finalizer over the seeded id: a bijection.
 *
 * A table is used by one thread at a time; the seed is written before
 * main() and only read after.
 */
#ifndef MK_HASHTAB_H
#define MK_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Written before main() (hashtab.c), read-only after. */
extern uint64_t hashtab_seed;

/* FNV-1a 64 over p[0..len) from basis (0xcbf29ce484222325 is FNV's own). */
#define FNV1A64_BASIS 0xcbf29ce484222325ull
static inline uint64_t fnv1a64(uint64_t basis, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = basis;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The 64-bit finalizer (MurmurHash3's fmix64): a bijection. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/*
 * The seeded hashes of the tables; inline, as a literal get is little
 * more than one hash and one probe.
 */
static inline uint64_t hash_bytes(const void *p, size_t len)
{
	return hash_mix64(fnv1a64(FNV1A64_BASIS ^ hashtab_seed, p, len));
}

static inline uint64_t hash_u64(uint64_t x)
{
	return hash_mix64(x ^ hashtab_seed);
}

struct hashtab_slot {
	uint64_t hash;
	void *v;		/* NULL: an empty slot */
};

struct hashtab {
	struct hashtab_slot *s;
	size_t cap;		/* power of two, or 0 */
	size_t n;
};

#define HASHTAB_INIT { NULL, 0, 0 }

void hashtab_init(struct hashtab *t);
/* Frees the slots; the entries are the caller's. */
void hashtab_fini(struct hashtab *t);

/*
 * Room for one more entry: 0, or -1 when out of memory with the table
 * full. A table that cannot grow still takes entries below a full table,
 * only probing longer.
 */
int hashtab_reserve(struct hashtab *t);
/* Adds v (not NULL) under hash; needs a successful hashtab_reserve(). */
void hashtab_insert(struct hashtab *t, uint64_t hash, void *v);
/* Removes the entry v (compared by pointer) filed under hash; false if
 * absent. */
bool hashtab_remove(struct hashtab *t, uint64_t hash, const void *v);

/*
 * The entry under hash for which eq(entry, key) holds (eq NULL: any entry
 * under hash), or NULL. Inline so that eq is inlined into the probe loop.
 */
static inline void *hashtab_find(const struct hashtab *t, uint64_t hash,
				 bool (*eq)(const void *entry, const void *key),
				 const void *key)
{
	if (!t->cap)
		return NULL;
	for (size_t m = t->cap - 1, i = hash & m;; i = (i + 1) & m) {
		void *v = t->s[i].v;

		if (!v)
			return NULL;
		if (t->s[i].hash == hash && (!eq || eq(v, key)))
			return v;
	}
}

/*
 * Iteration: for (size_t i = 0; (v = hashtab_next(t, &i));) visits every
 * entry once. The table must not change meanwhile (a removal shifts later
 * entries back, past the cursor); to free everything, iterate, then
 * hashtab_fini().
 */
void *hashtab_next(const struct hashtab *t, size_t *cursor);

#endif /* MK_HASHTAB_H */
