// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd watch index (watchidx.h): libmk's hash table of buckets, one
 * per literal name and one per attribute key that some query is filed
 * under; a bucket is a doubly linked list of watches, so adding and
 * removing a watch is O(1) and an empty bucket is freed at once.
 */
#include <stdlib.h>
#include <string.h>

#include "watchidx.h"

struct wbucket {
	uint64_t hash;
	size_t n;
	struct watch *head;
	bool is_key;		/* an attribute key, else a record name */
	size_t len;
	char s[];
};

/* ---- matching ---- */

void watch_fini(struct watch *w)
{
	oct_query_free(&w->cq);
	oct_record_free(w->q);
	memset(w, 0, sizeof(*w));
}

enum oct_err watch_init(struct watch *w, struct oct_record *q)
{
	enum oct_err err;

	memset(w, 0, sizeof(*w));
	w->q = q;
	/* No cache: a watch keeps its patterns as long as it lives. */
	err = oct_query_compile(&w->cq, q, NULL);
	if (err)
		watch_fini(w);
	return err;
}

static struct oct_query_ctx *qctx_get(struct watchidx *x)
{
	if (!x->qctx)
		x->qctx = oct_query_ctx_new();
	return x->qctx;
}

enum oct_err watch_match(struct watchidx *x, struct watch *w,
			 const struct oct_record *r, bool *match)
{
	int rc = qctx_get(x) ? oct_query_match(&w->cq, x->qctx, r, 0) :
			       -(int)OCT_ERR_NO_MEMORY;

	*match = rc > 0;
	return rc < 0 ? (enum oct_err)-rc : OCT_OK;
}

/* ---- the index ---- */

/* Names and keys in one table: the low bit keeps "x" the name and "x"
 * the key apart in the hash too. */
static uint64_t bucket_hash(bool is_key, const char *p, size_t len)
{
	return hash_bytes(p, len) ^ is_key;
}

void watchidx_init(struct watchidx *x)
{
	memset(x, 0, sizeof(*x));
	hashtab_init(&x->buckets);
}

void watchidx_fini(struct watchidx *x)
{
	void *b;

	for (size_t i = 0; (b = hashtab_next(&x->buckets, &i));)
		free(b);
	hashtab_fini(&x->buckets);
	oct_query_ctx_free(x->qctx);
	memset(x, 0, sizeof(*x));
}

int watchidx_set_match_limit(struct watchidx *x, uint32_t match_limit)
{
	if (!qctx_get(x))
		return -1;
	return oct_query_ctx_set_limits(x->qctx, match_limit, match_limit);
}

struct bkey {
	bool is_key;
	const char *p;
	size_t len;
};

static bool bucket_eq(const void *e, const void *key)
{
	const struct wbucket *b = e;
	const struct bkey *k = key;

	return b->is_key == k->is_key && b->len == k->len &&
	       !memcmp(b->s, k->p, k->len);
}

static struct wbucket *bucket_find(const struct watchidx *x, bool is_key,
				   const char *p, size_t len)
{
	struct bkey k = { is_key, p, len };

	return hashtab_find(&x->buckets, bucket_hash(is_key, p, len),
			    bucket_eq, &k);
}

static struct wbucket *bucket_get(struct watchidx *x, bool is_key,
				  const char *p, size_t len)
{
	struct wbucket *b = bucket_find(x, is_key, p, len);

	if (b)
		return b;
	if (hashtab_reserve(&x->buckets) < 0)
		return NULL;
	b = calloc(1, sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	b->hash = bucket_hash(is_key, p, len);
	b->is_key = is_key;
	b->len = len;
	memcpy(b->s, p, len);
	hashtab_insert(&x->buckets, b->hash, b);
	return b;
}

static void bucket_put(struct watchidx *x, struct wbucket *b)
{
	hashtab_remove(&x->buckets, b->hash, b);
	free(b);
}

/* The key of q's terms whose bucket is the smallest now. */
static const struct oct_str *best_key(const struct watchidx *x,
				      const struct oct_record *q)
{
	const struct oct_str *best = NULL;
	size_t best_n = SIZE_MAX;

	for (size_t i = 0; i < q->nattrs && best_n; i++) {
		const struct oct_str *k = &q->attrs[i].key;
		const struct wbucket *b;
		size_t n;

		if (i && k->len == q->attrs[i - 1].key.len &&
		    !memcmp(k->p, q->attrs[i - 1].key.p, k->len))
			continue;	/* terms of one key are adjacent */
		b = bucket_find(x, true, k->p, k->len);
		n = b ? b->n : 0;
		if (n < best_n) {
			best = k;
			best_n = n;
		}
	}
	return best;
}

int watchidx_add(struct watchidx *x, struct watch *w)
{
	const struct oct_record *q = w->q;
	struct watch **head = &x->rest;

	w->bucket = NULL;
	if (!qctx_get(x))
		return -1;
	if (q->name_kind == OCT_NAME_LITERAL) {
		w->bucket = bucket_get(x, false, q->name.p, q->name.len);
		if (!w->bucket)
			return -1;
	} else if (q->nattrs) {
		const struct oct_str *k = best_key(x, q);

		w->bucket = bucket_get(x, true, k->p, k->len);
		if (!w->bucket)
			return -1;
	}
	if (w->bucket) {
		head = &w->bucket->head;
		w->bucket->n++;
	}
	w->iprev = NULL;
	w->inext = *head;
	if (*head)
		(*head)->iprev = w;
	*head = w;
	w->indexed = true;
	x->n++;
	return 0;
}

void watchidx_del(struct watchidx *x, struct watch *w)
{
	struct wbucket *b = w->bucket;

	if (!w->indexed)
		return;
	if (w->iprev)
		w->iprev->inext = w->inext;
	else if (b)
		b->head = w->inext;
	else
		x->rest = w->inext;
	if (w->inext)
		w->inext->iprev = w->iprev;
	w->iprev = w->inext = NULL;
	w->bucket = NULL;
	w->indexed = false;
	x->n--;
	if (b && --b->n == 0)
		bucket_put(x, b);
}

static size_t visit(struct watchidx *x, struct watch *w,
		    const struct oct_record *r,
		    void (*fn)(struct watch *, void *), void *ctx)
{
	size_t n = 0;

	/* x->qctx exists: watchidx_add() made it. */
	for (; w; w = w->inext) {
		int rc = oct_query_match(&w->cq, x->qctx, r, 0);

		x->visited++;
		if (rc < 0) {
			x->match_errors++;
		} else if (rc) {
			fn(w, ctx);
			n++;
		}
	}
	return n;
}

size_t watchidx_match(struct watchidx *x, const struct oct_record *r,
		      void (*fn)(struct watch *w, void *ctx), void *ctx)
{
	const struct wbucket *b;
	size_t n;

	if (!x->n)
		return 0;
	n = visit(x, x->rest, r, fn, ctx);
	if (!x->buckets.n)
		return n;
	b = bucket_find(x, false, r->name.p, r->name.len);
	if (b)
		n += visit(x, b->head, r, fn, ctx);
	for (size_t i = 0; i < r->nattrs; i++) {
		const struct oct_str *k = &r->attrs[i].key;

		b = bucket_find(x, true, k->p, k->len);
		if (b)
			n += visit(x, b->head, r, fn, ctx);
	}
	return n;
}

/* ---- ids ---- */

void idmap_init(struct idmap *m)
{
	hashtab_init(&m->t);
}

void idmap_fini(struct idmap *m)
{
	hashtab_fini(&m->t);
}

int idmap_put(struct idmap *m, uint64_t id, void *v)
{
	if (hashtab_reserve(&m->t) < 0)
		return -1;
	hashtab_insert(&m->t, hash_u64(id), v);
	return 0;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
	return id ? hashtab_find(&m->t, hash_u64(id), NULL, NULL) : NULL;
}

void idmap_del(struct idmap *m, uint64_t id)
{
	void *v = idmap_get(m, id);

	if (v)
		hashtab_remove(&m->t, hash_u64(id), v);
}
