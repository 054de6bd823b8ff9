// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd watch index (watchidx.h): a chained hash table of buckets, one
 * per literal name and one per attribute key that some query is filed
 * under; a bucket is a doubly linked list of watches, so adding and
 * removing a watch is O(1) and an empty bucket is freed at once.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watchidx.h"

struct wbucket {
	struct wbucket *next;	/* hash chain */
	uint64_t hash;
	size_t n;
	struct watch *head;
	bool is_key;		/* an attribute key, else a record name */
	size_t len;
	char s[];
};

/* ---- matching ---- */

static pcre2_code *compile(const struct oct_str *pat, enum oct_err *err)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat->p, pat->len, 0, &ec,
				       &off, NULL);

	if (!re) {
		*err = ec == PCRE2_ERROR_NOMEMORY ? OCT_ERR_NO_MEMORY :
						    OCT_ERR_PARSER_FAIL;
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

void watch_fini(struct watch *w)
{
	if (w->term_re)
		for (size_t i = 0; i < w->q->nattrs; i++)
			pcre2_code_free(w->term_re[i]);
	free(w->term_re);
	pcre2_code_free(w->name_re);
	pcre2_match_data_free(w->md);
	oct_record_free(w->q);
	memset(w, 0, sizeof(*w));
}

enum oct_err watch_init(struct watch *w, struct oct_record *q)
{
	enum oct_err err = OCT_ERR_NO_MEMORY;

	memset(w, 0, sizeof(*w));
	w->q = q;
	if (q->nattrs) {
		w->term_re = calloc(q->nattrs, sizeof(*w->term_re));
		if (!w->term_re)
			goto fail;
	}
	w->md = pcre2_match_data_create(1, NULL);
	if (!w->md)
		goto fail;
	if (q->name_kind == OCT_NAME_REGEX) {
		w->name_re = compile(&q->name, &err);
		if (!w->name_re)
			goto fail;
	}
	for (size_t i = 0; i < q->nattrs; i++) {
		const struct oct_attr *a = &q->attrs[i];

		if (a->op == OCT_OP_VALUE && a->val.type == OCT_V_REGEX) {
			w->term_re[i] = compile(&a->val.s, &err);
			if (!w->term_re[i])
				goto fail;
		}
	}
	return OCT_OK;
fail:
	watch_fini(w);
	return err;
}

static bool re_match(struct watch *w, void *re, const struct oct_str *v)
{
	return pcre2_match(re, (PCRE2_SPTR)v->p, v->len, 0, 0, w->md,
			   NULL) >= 0;
}

bool watch_match(struct watch *w, const struct oct_record *r)
{
	const struct oct_record *q = w->q;

	switch (q->name_kind) {
	case OCT_NAME_LITERAL:
		if (q->name.len != r->name.len ||
		    memcmp(q->name.p, r->name.p, q->name.len))
			return false;
		break;
	case OCT_NAME_REGEX:
		if (!re_match(w, w->name_re, &r->name))
			return false;
		break;
	case OCT_NAME_ANY:
		break;
	}
	for (size_t i = 0; i < q->nattrs; i++) {
		const struct oct_attr *qa = &q->attrs[i];
		const struct oct_attr *a = oct_record_find(r, qa->key.p, qa->key.len);
		int c;

		if (!a)
			return false;
		if (qa->op == OCT_OP_VALUE) {
			if (qa->val.type == OCT_V_ANY)
				continue;
			if (qa->val.type == OCT_V_REGEX) {
				if ((a->val.type != OCT_V_STRING &&
				     a->val.type != OCT_V_IDENT) ||
				    !re_match(w, w->term_re[i], &a->val.s))
					return false;
				continue;
			}
			if (!oct_value_equal(&a->val, &qa->val))
				return false;
			continue;
		}
		if (!oct_value_cmp(&a->val, &qa->val, &c))
			return false;
		switch (qa->op) {
		case OCT_OP_EQ: if (c != 0) return false; break;
		case OCT_OP_NE: if (c == 0) return false; break;
		case OCT_OP_LT: if (c >= 0) return false; break;
		case OCT_OP_LE: if (c > 0) return false; break;
		case OCT_OP_GT: if (c <= 0) return false; break;
		case OCT_OP_GE: if (c < 0) return false; break;
		default: return false;
		}
	}
	return true;
}

/* ---- the index ---- */

/* FNV-1a from a random basis, then a 64-bit finalizer: names and keys
 * come from clients (as in store.c). */
static uint64_t hash_str(uint64_t seed, bool is_key, const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed ^ is_key;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

void watchidx_init(struct watchidx *x)
{
	struct timespec ts;

	memset(x, 0, sizeof(*x));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x->seed = hash_str((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)x, false,
			   "", 0);
}

void watchidx_fini(struct watchidx *x)
{
	for (size_t i = 0; i < x->cap; i++) {
		struct wbucket *b = x->tab[i], *next;

		for (; b; b = next) {
			next = b->next;
			free(b);
		}
	}
	free(x->tab);
	memset(x, 0, sizeof(*x));
}

static struct wbucket *bucket_find(const struct watchidx *x, bool is_key,
				   const char *p, size_t len, uint64_t h)
{
	if (!x->cap)
		return NULL;
	for (struct wbucket *b = x->tab[h & (x->cap - 1)]; b; b = b->next)
		if (b->hash == h && b->is_key == is_key && b->len == len &&
		    !memcmp(b->s, p, len))
			return b;
	return NULL;
}

/* Room for one more bucket; -1 when out of memory with no table at all. */
static int reserve(struct watchidx *x)
{
	size_t cap;
	struct wbucket **tab;

	if (x->nbuckets + 1 <= x->cap)
		return 0;
	cap = x->cap ? x->cap * 2 : 16;
	tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return x->cap ? 0 : -1;	/* a full table still works */
	for (size_t i = 0; i < x->cap; i++) {
		struct wbucket *b = x->tab[i], *next;

		for (; b; b = next) {
			next = b->next;
			b->next = tab[b->hash & (cap - 1)];
			tab[b->hash & (cap - 1)] = b;
		}
	}
	free(x->tab);
	x->tab = tab;
	x->cap = cap;
	return 0;
}

static struct wbucket *bucket_get(struct watchidx *x, bool is_key,
				  const char *p, size_t len)
{
	uint64_t h = hash_str(x->seed, is_key, p, len);
	struct wbucket *b = bucket_find(x, is_key, p, len, h), **slot;

	if (b)
		return b;
	if (reserve(x) < 0)
		return NULL;
	b = calloc(1, sizeof(*b) + len + 1);
	if (!b)
		return NULL;
	b->hash = h;
	b->is_key = is_key;
	b->len = len;
	memcpy(b->s, p, len);
	slot = &x->tab[h & (x->cap - 1)];
	b->next = *slot;
	*slot = b;
	x->nbuckets++;
	return b;
}

static void bucket_put(struct watchidx *x, struct wbucket *b)
{
	struct wbucket **pp = &x->tab[b->hash & (x->cap - 1)];

	while (*pp != b)
		pp = &(*pp)->next;
	*pp = b->next;
	x->nbuckets--;
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
		b = bucket_find(x, true, k->p, k->len,
				hash_str(x->seed, true, k->p, k->len));
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

	for (; w; w = w->inext) {
		x->visited++;
		if (watch_match(w, r)) {
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
	if (!x->nbuckets)
		return n;
	b = bucket_find(x, false, r->name.p, r->name.len,
			hash_str(x->seed, false, r->name.p, r->name.len));
	if (b)
		n += visit(x, b->head, r, fn, ctx);
	for (size_t i = 0; i < r->nattrs; i++) {
		const struct oct_str *k = &r->attrs[i].key;

		b = bucket_find(x, true, k->p, k->len,
				hash_str(x->seed, true, k->p, k->len));
		if (b)
			n += visit(x, b->head, r, fn, ctx);
	}
	return n;
}

/* ---- ids ---- */

static size_t id_home(const struct idmap *m, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

void idmap_init(struct idmap *m)
{
	memset(m, 0, sizeof(*m));
}

void idmap_fini(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static void id_insert(struct idmap *m, uint64_t id, void *v)
{
	size_t i = id_home(m, id);

	while (m->keys[i])
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = id;
	m->vals[i] = v;
	m->n++;
}

int idmap_put(struct idmap *m, uint64_t id, void *v)
{
	if ((m->n + 1) * 2 > m->cap) {	/* at most half full */
		struct idmap g = { 0 };

		g.cap = m->cap ? m->cap * 2 : 64;
		g.keys = calloc(g.cap, sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (!g.keys || !g.vals) {
			idmap_fini(&g);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				id_insert(&g, m->keys[i], m->vals[i]);
		idmap_fini(m);
		*m = g;
	}
	id_insert(m, id, v);
	return 0;
}

static size_t id_find(const struct idmap *m, uint64_t id)
{
	if (!m->cap || !id)
		return SIZE_MAX;
	for (size_t i = id_home(m, id); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == id)
			return i;
	return SIZE_MAX;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
	size_t i = id_find(m, id);

	return i == SIZE_MAX ? NULL : m->vals[i];
}

void idmap_del(struct idmap *m, uint64_t id)
{
	size_t i = id_find(m, id), j, mask = m->cap - 1;

	if (i == SIZE_MAX)
		return;
	/* Backward shift: move up each later entry of the run that may
	 * sit at i (its home is not cyclically in (i, j]). */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t h = id_home(m, m->keys[j]);

		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->n--;
}
