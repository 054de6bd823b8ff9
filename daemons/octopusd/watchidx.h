/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd watch index: the queries of triggers, subscriptions and waits
 * (OCT.WAIT), indexed so that a set, del or publish of record R only tests
 * the queries that can match R (the paper's trigger bitmap index, done
 * with hash buckets):
 *  - a query with a literal name is filed under that name;
 *  - else a query with terms under one of its keys (every term requires
 *    its key to exist in a matching record), the one whose bucket is the
 *    smallest when the query is added;
 *  - else ('_' or a regex name and no terms) on a short list of the rest.
 * R's candidates are its name's bucket, the buckets of its keys and the
 * rest. Every watch sits in exactly one place and a record's keys are
 * distinct, so no candidate is tested twice.
 *
 * Matching follows the store's rules (store.h): literal, '_' or regex
 * names; `key: _`, `key: r'...'` on strings and identifiers, `key:
 * literal`, `key OP literal` through oct_value_cmp(); PCRE2, unanchored,
 * compiled once per watch.
 */
#ifndef OCTOPUSD_WATCHIDX_H
#define OCTOPUSD_WATCHIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/oct_record.h>

struct wbucket;

/* Embedded first in a trigger, a subscription or a wait. */
struct watch {
	struct oct_record *q;
	void *name_re;		/* pcre2_code *, NULL unless a regex name */
	void **term_re;		/* per term; NULL unless a regex value */
	void *md;		/* pcre2_match_data * */
	struct wbucket *bucket;	/* NULL: on the rest list */
	struct watch *iprev, *inext;
	bool indexed;
};

struct watchidx {
	struct wbucket **tab;
	size_t cap;		/* power of two, or 0 */
	size_t nbuckets;
	size_t n;		/* watches indexed */
	struct watch *rest;
	uint64_t seed;
	uint64_t visited;	/* candidates tested, for stats and tests */
};

/* Compiles q (taken over; freed by watch_fini, and on failure). Errors:
 * OCT_ERR_PARSER_FAIL for a regex PCRE2 refuses, OCT_ERR_NO_MEMORY. */
enum oct_err watch_init(struct watch *w, struct oct_record *q);
void watch_fini(struct watch *w);
bool watch_match(struct watch *w, const struct oct_record *r);

void watchidx_init(struct watchidx *x);
/* Frees the index's own memory; the watches still in it are not freed. */
void watchidx_fini(struct watchidx *x);
/* -1 when out of memory (w is then not indexed). */
int watchidx_add(struct watchidx *x, struct watch *w);
void watchidx_del(struct watchidx *x, struct watch *w);

/*
 * Calls fn for each indexed watch that matches r; returns how many. fn
 * must not add or remove watches (collect, then remove after the call).
 */
size_t watchidx_match(struct watchidx *x, const struct oct_record *r,
		      void (*fn)(struct watch *w, void *ctx), void *ctx);

/*
 * Ids (nonzero) to pointers: an open-addressing table with linear probing
 * and backward-shift deletion, so OCT.UNWATCH and OCT.UNSUBSCRIBE find
 * their trigger or subscription in O(1) however many a connection has.
 */
struct idmap {
	uint64_t *keys;		/* 0: an empty slot */
	void **vals;
	size_t cap;		/* power of two, or 0 */
	size_t n;
};

void idmap_init(struct idmap *m);
void idmap_fini(struct idmap *m);
/* -1 when out of memory (id is then not in m). id is not in m yet. */
int idmap_put(struct idmap *m, uint64_t id, void *v);
/* NULL if id is not in m. */
void *idmap_get(const struct idmap *m, uint64_t id);
/* Nothing if id is not in m. */
void idmap_del(struct idmap *m, uint64_t id);

#endif /* OCTOPUSD_WATCHIDX_H */
