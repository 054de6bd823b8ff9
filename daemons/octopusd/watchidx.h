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
 * Matching is the store's (libmk/octopus/query.h, one implementation
 * for both), each watch's regexes compiled once. A match PCRE2 gives up
 * on (a limit, no memory) fires nothing and is counted in match_errors:
 * OCT.GET of that query would fail rather than return the record.
 */
#ifndef OCTOPUSD_WATCHIDX_H
#define OCTOPUSD_WATCHIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/oct_record.h>

#include "hashtab.h"
#include "octopus/query.h"

struct wbucket;

/* Embedded first in a trigger, a subscription or a wait. */
struct watch {
	struct oct_record *q;
	struct oct_query cq;	/* q compiled */
	struct wbucket *bucket;	/* NULL: on the rest list */
	struct watch *iprev, *inext;
	bool indexed;
};

struct watchidx {
	struct hashtab buckets;	/* by name and by key */
	size_t n;		/* watches indexed */
	struct watch *rest;
	struct oct_query_ctx *qctx;	/* made by the first watchidx_add */
	uint64_t visited;	/* candidates tested, for stats and tests */
	uint64_t match_errors;	/* matches PCRE2 gave up on */
};

/* Compiles q (taken over; freed by watch_fini, and on failure). Errors:
 * OCT_ERR_PARSER_FAIL for a regex PCRE2 refuses, OCT_ERR_NO_MEMORY. */
enum oct_err watch_init(struct watch *w, struct oct_record *q);
void watch_fini(struct watch *w);
/* *match: whether r matches w, as under x (its limits); OCT_OK or an
 * error of oct_query_match(). */
enum oct_err watch_match(struct watchidx *x, struct watch *w,
			 const struct oct_record *r, bool *match);

void watchidx_init(struct watchidx *x);
/* Frees the index's own memory; the watches still in it are not freed. */
void watchidx_fini(struct watchidx *x);
/* -1 when out of memory (w is then not indexed). */
int watchidx_add(struct watchidx *x, struct watch *w);
/* PCRE2's match and depth limit for x's matches (0: PCRE2's default);
 * -1 when out of memory. */
int watchidx_set_match_limit(struct watchidx *x, uint32_t match_limit);
void watchidx_del(struct watchidx *x, struct watch *w);

/*
 * Calls fn for each indexed watch that matches r; returns how many. fn
 * must not add or remove watches (collect, then remove after the call).
 */
size_t watchidx_match(struct watchidx *x, const struct oct_record *r,
		      void (*fn)(struct watch *w, void *ctx), void *ctx);

/*
 * Ids (nonzero) to pointers (not NULL), so OCT.UNWATCH and
 * OCT.UNSUBSCRIBE find their trigger or subscription in O(1) however many
 * a connection has: libmk's hash table under hash_u64(id), a bijection,
 * so the hash alone tells ids apart.
 */
struct idmap {
	struct hashtab t;
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
