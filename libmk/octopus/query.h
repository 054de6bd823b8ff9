/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A compiled Octopus query, and the one place that decides whether a
 * record matches it: octopusd's store (OCT.GET, NAMES, EXISTS, conditional
 * SET and DEL) and its watch index (triggers, subscriptions, OCT.WAIT) both
 * match through here, so a trigger fires for exactly the records OCT.GET
 * would return. Private: not under include/mk/, and built into
 * liboctstore.a with PCRE2, not into libmk (libmk/octopus/README.md).
 *
 * The rules: the name is literal (equal), '_' (any) or a regex; every
 * term's key must exist in the record: `key: _` asks just that,
 * `key: r'...'` matches string and identifier values, `key: literal` asks
 * for an equal value and `key OP literal` for an ordered one
 * (oct_value_cmp(): numbers numerically across int/float, strings with
 * strings; values that cannot be compared, such as a string and a number,
 * do not match, and that is no error). Regexes are PCRE2, unanchored
 * unless the pattern anchors, JIT-compiled when PCRE2 can.
 *
 * A match that PCRE2 gives up on is an error, not a mismatch: a limit
 * (match, depth, heap, the JIT's stack: OCT_ERR_QUERY_SIZE), no memory
 * (OCT_ERR_NO_MEMORY), any other failure (OCT_ERR_ENGINE_FAIL).
 *
 * One thread uses a context, and the queries compiled with it, at a time.
 */
#ifndef MK_OCT_QUERY_H
#define MK_OCT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/oct_record.h>

/*
 * What matching needs besides the query: PCRE2's match data, the limits,
 * and a cache of compiled patterns (64 slots by pattern hash) for queries
 * compiled per request.
 */
struct oct_query_ctx;

/* NULL when out of memory. */
struct oct_query_ctx *oct_query_ctx_new(void);
void oct_query_ctx_free(struct oct_query_ctx *ctx);
/*
 * PCRE2's match and depth limits for matches under ctx (0: PCRE2's
 * default, 10,000,000 each unless PCRE2 was built otherwise; the JIT
 * ignores the depth limit). -1 when out of memory (limits unchanged).
 */
int oct_query_ctx_set_limits(struct oct_query_ctx *ctx, uint32_t match_limit,
			     uint32_t depth_limit);
/* Patterns compiled under ctx's cache so far (hits are not counted). */
uint64_t oct_query_ctx_compiles(const struct oct_query_ctx *ctx);

struct oct_query {
	const struct oct_record *rec;	/* the caller's; outlives the query */
	void *name_re;		/* pcre2_code *; NULL unless a regex name */
	void **term_re;		/* per term; NULL if no term is a regex */
	void **own;		/* compiled for this query alone */
	size_t nown;
	uint64_t pinned;	/* cache slots this query uses */
};

/*
 * Compiles rec's regexes: through cache (a context; a pattern there is
 * not compiled again) or, with cache NULL, for the query alone (a query
 * that lives long, such as a watch). Errors: OCT_ERR_PARSER_FAIL for a
 * regex PCRE2 refuses, OCT_ERR_NO_MEMORY; q needs no oct_query_free() then.
 * A query compiled through a cache is freed before the next
 * oct_query_compile() through the same cache (it may evict its patterns).
 */
enum oct_err oct_query_compile(struct oct_query *q, const struct oct_record *rec,
			       struct oct_query_ctx *cache);
void oct_query_free(struct oct_query *q);

/* oct_query_match() flags. */
#define OCT_QUERY_CONSTRAINTS	0x1u	/* only the constraint terms (OP), not
					 * the name or the value terms */

/*
 * Whether r matches q: 1 (a match), 0 (no match), or an error above as a
 * negative code (-OCT_ERR_QUERY_SIZE, ...). An int, not an out-parameter:
 * every candidate record of every query and watch comes here.
 */
int oct_query_match(const struct oct_query *q, struct oct_query_ctx *ctx,
		    const struct oct_record *r, unsigned int flags);

#endif /* MK_OCT_QUERY_H */
