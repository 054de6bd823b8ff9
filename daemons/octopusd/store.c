// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd record store; see store.h for the indexes and the semantics.
 *
 * One file past 1,000 lines because every set and del updates all the
 * indexes together (name table, skip list, attribute keys, owners) and
 * their invariants (kpos against kidx->e, an owner freed with its last
 * record) are kept only here; matching and the hash table already live
 * apart (libmk/octopus/query.c, libmk/hashtab.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "octopus/query.h"
#include "store.h"

/* A counted string to look up. */
struct skey {
	const char *p;
	size_t len;
};

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

/* ---- the store ---- */

#define SKIP_MAX 32

struct srec;

/* Per attribute key: the records having it. */
struct kent {
	struct srec *r;
	size_t ai;	/* index of the key in r->rec->attrs */
};

struct kidx {
	uint64_t hash;
	char *key;
	size_t keylen;
	struct kent *e;
	size_t n, cap;
};

/* Filed under hash_u64(id), a bijection: the hash alone finds it. */
struct owner {
	uint64_t id;
	struct srec *head;
};

struct seqc {
	uint64_t hash;
	char *base;
	size_t len;
	uint64_t next;
};

struct srec {
	uint64_t hash;		/* of the name */
	const char *name;	/* a copy in this allocation, after next[] */
	size_t name_len;
	struct oct_record *rec;
	struct kidx **kidx;	/* per attribute */
	size_t *kpos;		/* per attribute: index in kidx->e */
	bool ephemeral;
	uint64_t owner;
	struct srec *oprev, *onext;
	int level;
	struct srec *next[];	/* skip list, level entries */
};

/*
 * Four tables of one kind (libmk/hashtab.h): names (the records; a lookup
 * touches its slots and the record), attribute keys, owners of ephemeral
 * records, sequence counters.
 */
struct store {
	struct hashtab names;
	struct hashtab keys;
	struct hashtab owners;
	struct hashtab seqs;
	struct srec *head[SKIP_MAX];	/* skip list heads */
	int level;
	uint64_t rng;
	struct oct_query_ctx *qctx;	/* match data, limits, regex cache */
	store_hook_fn hook;
	void *hook_ctx;
	uint64_t visited;
};

struct store *store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->qctx = oct_query_ctx_new();
	if (!st->qctx) {
		free(st);
		return NULL;
	}
	st->level = 1;
	/* Skip list levels need no secret, only a per-process start. */
	st->rng = hash_u64((uint64_t)(uintptr_t)st) | 1;
	return st;
}

void store_set_hook(struct store *st, store_hook_fn fn, void *ctx)
{
	st->hook = fn;
	st->hook_ctx = ctx;
}

int store_set_match_limit(struct store *st, uint32_t match_limit)
{
	return oct_query_ctx_set_limits(st->qctx, match_limit, match_limit);
}

static void srec_free(struct srec *r)
{
	oct_record_free(r->rec);
	free(r->kidx);
	free(r->kpos);
	free(r);
}

static void kidx_free(struct kidx *k)
{
	free(k->key);
	free(k->e);
	free(k);
}

static void seqc_free(struct seqc *s)
{
	free(s->base);
	free(s);
}

void store_free(struct store *st)
{
	void *v;

	if (!st)
		return;
	for (struct srec *r = st->head[0], *n; r; r = n) {
		n = r->next[0];
		srec_free(r);
	}
	for (size_t i = 0; (v = hashtab_next(&st->keys, &i));)
		kidx_free(v);
	for (size_t i = 0; (v = hashtab_next(&st->owners, &i));)
		free(v);
	for (size_t i = 0; (v = hashtab_next(&st->seqs, &i));)
		seqc_free(v);
	hashtab_fini(&st->names);
	hashtab_fini(&st->keys);
	hashtab_fini(&st->owners);
	hashtab_fini(&st->seqs);
	oct_query_ctx_free(st->qctx);
	free(st);
}

static bool srec_eq(const void *e, const void *key)
{
	const struct srec *r = e;
	const struct skey *k = key;

	return str_eq(r->name, r->name_len, k->p, k->len);
}

static bool kidx_eq(const void *e, const void *key)
{
	const struct kidx *x = e;
	const struct skey *k = key;

	return str_eq(x->key, x->keylen, k->p, k->len);
}

static bool seqc_eq(const void *e, const void *key)
{
	const struct seqc *c = e;
	const struct skey *k = key;

	return str_eq(c->base, c->len, k->p, k->len);
}

static struct srec *find_name(const struct store *st, const char *name,
			      size_t len)
{
	struct skey k = { name, len };

	return hashtab_find(&st->names, hash_bytes(name, len), srec_eq, &k);
}

static struct kidx *find_key(const struct store *st, const char *key,
			     size_t len)
{
	struct skey k = { key, len };

	return hashtab_find(&st->keys, hash_bytes(key, len), kidx_eq, &k);
}

static struct owner *find_owner(const struct store *st, uint64_t id)
{
	return hashtab_find(&st->owners, hash_u64(id), NULL, NULL);
}

const struct oct_record *store_lookup(struct store *st, const char *name,
				      size_t len)
{
	struct srec *r = find_name(st, name, len);

	return r ? r->rec : NULL;
}

bool store_owner(struct store *st, const char *name, size_t len,
		 bool *ephemeral, uint64_t *owner)
{
	struct srec *r = find_name(st, name, len);

	if (!r)
		return false;
	if (ephemeral)
		*ephemeral = r->ephemeral;
	if (owner)
		*owner = r->owner;
	return true;
}

void store_stats(const struct store *st, struct store_stats *s)
{
	s->records = st->names.n;
	s->keys = st->keys.n;
	s->visited = st->visited;
	s->regex_compiles = oct_query_ctx_compiles(st->qctx);
}

void store_reset_visited(struct store *st)
{
	st->visited = 0;
}

/* ---- skip list in natural order ---- */

static int name_cmp(const struct srec *a, const struct srec *b)
{
	return oct_natural_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int random_level(struct store *st)
{
	int lvl = 1;

	st->rng ^= st->rng << 13;
	st->rng ^= st->rng >> 7;
	st->rng ^= st->rng << 17;
	for (uint64_t x = st->rng; (x & 3) == 0 && lvl < SKIP_MAX; x >>= 2)
		lvl++;
	return lvl;
}

static int srec_ptr_cmp(const void *a, const void *b)
{
	return name_cmp(*(struct srec *const *)a, *(struct srec *const *)b);
}

/* update[i]: the slot at level i after which r goes (NULL: the head). */
static void skip_find(struct store *st, const struct srec *r,
		      struct srec **update)
{
	struct srec *x = NULL;

	for (int i = st->level - 1; i >= 0; i--) {
		for (;;) {
			struct srec *n = x ? x->next[i] : st->head[i];

			if (!n || name_cmp(n, r) >= 0)
				break;
			x = n;
		}
		update[i] = x;
	}
	for (int i = st->level; i < SKIP_MAX; i++)
		update[i] = NULL;
}

static void skip_insert(struct store *st, struct srec *r)
{
	struct srec *update[SKIP_MAX];

	skip_find(st, r, update);
	if (r->level > st->level)
		st->level = r->level;
	for (int i = 0; i < r->level; i++) {
		struct srec **slot = update[i] ? &update[i]->next[i] :
				     &st->head[i];

		r->next[i] = *slot;
		*slot = r;
	}
}

static void skip_remove(struct store *st, struct srec *r)
{
	struct srec *update[SKIP_MAX];

	skip_find(st, r, update);
	for (int i = 0; i < r->level; i++) {
		struct srec **slot = update[i] ? &update[i]->next[i] :
				     &st->head[i];

		if (*slot == r)
			*slot = r->next[i];
	}
	while (st->level > 1 && !st->head[st->level - 1])
		st->level--;
}

/* ---- attribute index ---- */

static void kidx_remove(struct store *st, struct srec *r, size_t ai)
{
	struct kidx *k = r->kidx[ai];
	size_t pos = r->kpos[ai];

	k->e[pos] = k->e[--k->n];
	if (pos < k->n)
		k->e[pos].r->kpos[k->e[pos].ai] = pos;
	if (k->n == 0) {
		hashtab_remove(&st->keys, k->hash, k);
		kidx_free(k);
	}
	r->kidx[ai] = NULL;
}

static void unindex(struct store *st, struct srec *r)
{
	for (size_t i = 0; i < r->rec->nattrs; i++)
		if (r->kidx[i])
			kidx_remove(st, r, i);
}

/* The index entry of key, made if absent; NULL when out of memory. */
static struct kidx *key_get(struct store *st, const struct oct_str *key)
{
	struct kidx *k = find_key(st, key->p, key->len);

	if (k)
		return k;
	if (hashtab_reserve(&st->keys))
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->key = malloc(key->len + 1);
	if (!k->key) {
		free(k);
		return NULL;
	}
	memcpy(k->key, key->p, key->len + 1);
	k->keylen = key->len;
	k->hash = hash_bytes(key->p, key->len);
	hashtab_insert(&st->keys, k->hash, k);
	return k;
}

/* Indexes r's attributes; on failure, undoes what it did. */
static int index_rec(struct store *st, struct srec *r)
{
	for (size_t i = 0; i < r->rec->nattrs; i++) {
		struct kidx *k = key_get(st, &r->rec->attrs[i].key);

		if (!k)
			goto fail;
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 4;
			struct kent *e = realloc(k->e, cap * sizeof(*e));

			if (!e) {
				if (k->n == 0) {
					hashtab_remove(&st->keys, k->hash, k);
					kidx_free(k);
				}
				goto fail;
			}
			k->e = e;
			k->cap = cap;
		}
		k->e[k->n] = (struct kent){ .r = r, .ai = i };
		r->kidx[i] = k;
		r->kpos[i] = k->n++;
	}
	return 0;
fail:
	unindex(st, r);
	return -1;
}

/* ---- owners ---- */

static void owner_unlink(struct store *st, struct srec *r)
{
	if (!r->ephemeral)
		return;
	struct owner *o = find_owner(st, r->owner);

	if (r->oprev)
		r->oprev->onext = r->onext;
	else if (o)
		o->head = r->onext;
	if (r->onext)
		r->onext->oprev = r->oprev;
	r->oprev = r->onext = NULL;
	r->ephemeral = false;
	if (o && !o->head) {
		hashtab_remove(&st->owners, hash_u64(o->id), o);
		free(o);
	}
}

static int owner_link(struct store *st, struct srec *r, uint64_t id)
{
	struct owner *o = find_owner(st, id);

	if (!o) {
		if (hashtab_reserve(&st->owners))
			return -1;
		o = calloc(1, sizeof(*o));
		if (!o)
			return -1;
		o->id = id;
		hashtab_insert(&st->owners, hash_u64(id), o);
	}
	r->ephemeral = true;
	r->owner = id;
	r->oprev = NULL;
	r->onext = o->head;
	if (o->head)
		o->head->oprev = r;
	o->head = r;
	return 0;
}

/* ---- queries (the rules are libmk/octopus/query.c's) ---- */

/* oct_query_match(): 1, 0 or -(an oct_err); counts the visit. */
static int rec_match(struct store *st, const struct oct_query *q,
		     const struct srec *r, unsigned int flags)
{
	st->visited++;
	return oct_query_match(q, st->qctx, r->rec, flags);
}

/* A growing array of matches. */
struct results {
	struct srec **r;
	size_t n, cap;
};

static enum oct_err results_add(struct results *res, struct srec *r)
{
	if (res->n == res->cap) {
		size_t nc = res->cap ? res->cap * 2 : 8;
		struct srec **nr = realloc(res->r, nc * sizeof(*nr));

		if (!nr)
			return OCT_ERR_NO_MEMORY;
		res->r = nr;
		res->cap = nc;
	}
	res->r[res->n++] = r;
	return OCT_OK;
}

/* The index of the query's rarest key; NULL if a key has no records. */
static struct kidx *rarest_key(const struct store *st,
			       const struct oct_record *qr)
{
	struct kidx *best = NULL;

	for (size_t i = 0; i < qr->nattrs; i++) {
		const struct oct_str *key = &qr->attrs[i].key;
		struct kidx *k = find_key(st, key->p, key->len);

		if (!k)
			return NULL;
		if (!best || k->n < best->n)
			best = k;
	}
	return best;
}

/* Only the records having the query's rarest key. */
static enum oct_err query_by_key(struct store *st, const struct oct_query *q,
				 bool all, struct results *res)
{
	struct kidx *best = rarest_key(st, q->rec);
	struct srec *first = NULL;
	enum oct_err err = OCT_OK;

	for (size_t i = 0; best && i < best->n && !err; i++) {
		struct srec *r = best->e[i].r;
		int rc = rec_match(st, q, r, 0);

		if (rc < 0)
			err = (enum oct_err)-rc;
		else if (rc == 0)
			continue;
		else if (all)
			err = results_add(res, r);
		else if (!first || name_cmp(r, first) < 0)
			first = r;
	}
	if (!err && first)
		err = results_add(res, first);
	if (!err && all && res->n > 1)	/* sort the matches only */
		qsort(res->r, res->n, sizeof(*res->r), srec_ptr_cmp);
	return err;
}

/* Every record in natural order, up to the first match unless all. */
static enum oct_err query_in_order(struct store *st, const struct oct_query *q,
				   bool all, struct results *res)
{
	enum oct_err err = OCT_OK;

	for (struct srec *r = st->head[0]; r && !err; r = r->next[0]) {
		int rc = rec_match(st, q, r, 0);

		if (rc < 0)
			err = (enum oct_err)-rc;
		else if (rc == 0)
			continue;
		else if ((err = results_add(res, r)) == OCT_OK && !all)
			break;
	}
	return err;
}

/*
 * Runs a query. all: collect every match in *out (natural order), else
 * just the first in natural order.
 */
static enum oct_err run_query(struct store *st, const struct oct_record *qr,
			      bool all, struct srec ***out, size_t *nout)
{
	struct oct_query q;
	struct results res = { 0 };
	enum oct_err err = oct_query_compile(&q, qr, st->qctx);

	*out = NULL;
	*nout = 0;
	if (err)
		return err;
	if (qr->name_kind == OCT_NAME_LITERAL) {
		struct srec *r = find_name(st, qr->name.p, qr->name.len);
		int rc = r ? rec_match(st, &q, r, 0) : 0;

		if (rc < 0)
			err = (enum oct_err)-rc;
		else if (rc > 0)
			err = results_add(&res, r);
	} else if (qr->nattrs > 0) {
		err = query_by_key(st, &q, all, &res);
	} else {
		err = query_in_order(st, &q, all, &res);
	}
	oct_query_free(&q);
	if (!err && res.n == 0)
		err = OCT_ERR_NO_RECORD;
	if (err) {
		free(res.r);
		return err;
	}
	*out = res.r;
	*nout = res.n;
	return OCT_OK;
}

enum oct_err store_get(struct store *st, const struct oct_record *query,
		       const struct oct_record **out)
{
	struct srec **res;
	size_t n;
	enum oct_err err;

	/* The common case, a bare literal name: no query to prepare. */
	if (query->name_kind == OCT_NAME_LITERAL && query->nattrs == 0) {
		struct srec *r = find_name(st, query->name.p, query->name.len);

		if (r)
			st->visited++;
		if (out)
			*out = r ? r->rec : NULL;
		return r ? OCT_OK : OCT_ERR_NO_RECORD;
	}
	err = run_query(st, query, false, &res, &n);
	if (out)
		*out = err ? NULL : res[0]->rec;
	free(err ? NULL : res);
	return err;
}

enum oct_err store_exists(struct store *st, const struct oct_record *query)
{
	return store_get(st, query, NULL);
}

enum oct_err store_names(struct store *st, const struct oct_record *query,
			 const struct oct_record ***out, size_t *n)
{
	struct srec **res;
	size_t cnt;
	enum oct_err err = run_query(st, query, true, &res, &cnt);

	*out = NULL;
	*n = 0;
	if (err)
		return err;
	const struct oct_record **recs = malloc(cnt * sizeof(*recs));

	if (!recs) {
		free(res);
		return OCT_ERR_NO_MEMORY;
	}
	for (size_t i = 0; i < cnt; i++)
		recs[i] = res[i]->rec;
	free(res);
	*out = recs;
	*n = cnt;
	return OCT_OK;
}

/* The stored form of rec under name: literal values only. */
static struct oct_record *stored_form(const struct oct_record *rec,
				      const char *name, size_t len)
{
	struct oct_record *r = oct_record_new(name, len);

	if (!r)
		return NULL;
	size_t n = 0;

	for (size_t i = 0; i < rec->nattrs; i++)
		n += rec->attrs[i].op == OCT_OP_VALUE;
	if (n) {
		r->attrs = calloc(n, sizeof(*r->attrs));
		if (!r->attrs) {
			oct_record_free(r);
			return NULL;
		}
		r->cap = n;
	}
	/* rec's attrs are sorted: append in order. */
	for (size_t i = 0; i < rec->nattrs; i++) {
		const struct oct_attr *a = &rec->attrs[i];
		struct oct_attr *d = &r->attrs[r->nattrs];

		if (a->op != OCT_OP_VALUE)
			continue;
		d->key.p = malloc(a->key.len + 1);
		if (!d->key.p)
			goto fail;
		memcpy(d->key.p, a->key.p, a->key.len + 1);
		d->key.len = a->key.len;
		d->op = OCT_OP_VALUE;
		d->val = a->val;
		if (a->val.type == OCT_V_STRING || a->val.type == OCT_V_IDENT) {
			d->val.s.p = malloc(a->val.s.len + 1);
			if (!d->val.s.p) {
				free(d->key.p);
				goto fail;
			}
			memcpy(d->val.s.p, a->val.s.p, a->val.s.len);
			d->val.s.p[a->val.s.len] = '\0';
		}
		r->nattrs++;
	}
	return r;
fail:
	oct_record_free(r);
	return NULL;
}

static bool attrs_sorted(const struct oct_record *rec)
{
	for (size_t i = 1; i < rec->nattrs; i++) {
		const struct oct_str *a = &rec->attrs[i - 1].key;
		const struct oct_str *b = &rec->attrs[i].key;
		size_t m = a->len < b->len ? a->len : b->len;
		int c = memcmp(a->p, b->p, m);

		if (c > 0 || (c == 0 && a->len > b->len))
			return false;
	}
	return true;
}

/* Set needs literal values, distinct keys, sorted attrs. */
static bool set_valid(const struct oct_record *rec)
{
	const struct oct_attr *prev = NULL;

	if (!attrs_sorted(rec))
		return false;
	for (size_t i = 0; i < rec->nattrs; i++) {
		const struct oct_attr *a = &rec->attrs[i];

		if (a->val.type == OCT_V_ANY || a->val.type == OCT_V_REGEX) {
			if (a->op == OCT_OP_VALUE)
				return false;
			continue;
		}
		if (a->op != OCT_OP_VALUE)
			continue;
		if (prev && str_eq(prev->key.p, prev->key.len, a->key.p,
				   a->key.len))
			return false;
		prev = a;
	}
	return true;
}

static void del_rec(struct store *st, struct srec *r)
{
	hashtab_remove(&st->names, r->hash, r);
	skip_remove(st, r);
	unindex(st, r);
	owner_unlink(st, r);
}

/* Whether old satisfies the constraint terms of rec. */
static enum oct_err check_constraints(struct store *st,
				      const struct oct_record *rec,
				      const struct srec *old)
{
	struct oct_query q;
	enum oct_err err;
	int rc;

	if (!old)
		return OCT_ERR_CONSTRAINT_MISMATCH;
	err = oct_query_compile(&q, rec, st->qctx);
	if (err)
		return err;
	rc = rec_match(st, &q, old, OCT_QUERY_CONSTRAINTS);
	oct_query_free(&q);
	if (rc < 0)
		return (enum oct_err)-rc;
	return rc ? OCT_OK : OCT_ERR_CONSTRAINT_MISMATCH;
}

/* The counter of a sequential base, made if absent; NULL when out of
 * memory. */
static struct seqc *seq_counter(struct store *st, const char *base, size_t len)
{
	struct skey k = { base, len };
	uint64_t h = hash_bytes(base, len);
	struct seqc *sc = hashtab_find(&st->seqs, h, seqc_eq, &k);

	if (sc)
		return sc;
	if (hashtab_reserve(&st->seqs))
		return NULL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->base = malloc(len + 1);
	if (!sc->base) {
		free(sc);
		return NULL;
	}
	memcpy(sc->base, base, len);
	sc->base[len] = '\0';
	sc->len = len;
	sc->hash = h;
	hashtab_insert(&st->seqs, h, sc);
	return sc;
}

/* base + the base's next counter value not taken yet, malloc'd, in
 * *name (length *len); NULL when out of memory. */
static char *seq_name(struct store *st, const char *base, size_t *len)
{
	struct seqc *sc = seq_counter(st, base, *len);
	char *name = sc ? malloc(sc->len + 24) : NULL;

	if (!name)
		return NULL;
	memcpy(name, base, sc->len);
	do {
		*len = sc->len + (size_t)snprintf(name + sc->len, 24,
						  "%" PRIu64, sc->next++);
	} while (find_name(st, name, *len));
	return name;
}

/*
 * Swaps nrec (with its index arrays kidx, kpos) in under old's node; on
 * failure old keeps its record and nothing of nrec is taken.
 */
static int replace_rec(struct store *st, struct srec *old,
		       struct oct_record *nrec, struct kidx **kidx,
		       size_t *kpos)
{
	struct oct_record *orec = old->rec;
	struct kidx **ok = old->kidx;
	size_t *op = old->kpos;

	unindex(st, old);
	old->rec = nrec;
	old->kidx = kidx;
	old->kpos = kpos;
	if (index_rec(st, old)) {
		/* Back to the old record; its index entries were freed, so
		 * re-adding them may fail too: then the old record stays but
		 * is missing from some key indexes. */
		old->rec = orec;
		old->kidx = ok;
		old->kpos = op;
		memset(ok, 0, orec->nattrs * sizeof(*ok));
		(void)index_rec(st, old);
		return -1;
	}
	oct_record_free(orec);
	free(ok);
	free(op);
	owner_unlink(st, old);
	return 0;
}

/* A new node for nrec (with kidx, kpos), indexed everywhere; NULL when
 * out of memory (then nothing of nrec is taken). */
static struct srec *insert_rec(struct store *st, struct oct_record *nrec,
			       struct kidx **kidx, size_t *kpos)
{
	int lvl = random_level(st);
	struct srec *r;

	if (hashtab_reserve(&st->names))
		return NULL;
	r = calloc(1, sizeof(*r) + (size_t)lvl * sizeof(r->next[0]) +
		      nrec->name.len + 1);
	if (!r)
		return NULL;
	char *nm = (char *)&r->next[lvl];

	memcpy(nm, nrec->name.p, nrec->name.len + 1);
	r->name = nm;
	r->name_len = nrec->name.len;
	r->hash = hash_bytes(nm, r->name_len);
	r->rec = nrec;
	r->kidx = kidx;
	r->kpos = kpos;
	r->level = lvl;
	if (index_rec(st, r)) {
		free(r);
		return NULL;
	}
	hashtab_insert(&st->names, r->hash, r);
	skip_insert(st, r);
	return r;
}

/* Stores nrec (taken over) in old's place or in a new node. */
static enum oct_err put_rec(struct store *st, struct srec *old,
			    struct oct_record *nrec, struct srec **out)
{
	size_t na = nrec->nattrs ? nrec->nattrs : 1;
	struct kidx **kidx = calloc(na, sizeof(*kidx));
	size_t *kpos = calloc(na, sizeof(*kpos));

	*out = NULL;
	if (kidx && kpos) {
		if (old && !replace_rec(st, old, nrec, kidx, kpos))
			*out = old;
		else if (!old)
			*out = insert_rec(st, nrec, kidx, kpos);
	}
	if (*out)
		return OCT_OK;
	free(kidx);
	free(kpos);
	oct_record_free(nrec);
	return OCT_ERR_NO_MEMORY;
}

enum oct_err store_set(struct store *st, const struct oct_record *rec,
		       unsigned int flags, uint64_t owner,
		       const struct oct_record **stored)
{
	bool cond = oct_record_has_constraints(rec);
	char *seqname = NULL;
	const char *name = rec->name.p;
	size_t len = rec->name.len;
	struct srec *old, *r;
	struct oct_record *nrec;
	enum oct_err err;

	if (stored)
		*stored = NULL;
	if (rec->name_kind != OCT_NAME_LITERAL)
		return OCT_ERR_NO_RECORD_NAME;
	if (!set_valid(rec))
		return OCT_ERR_PARSER_FAIL;
	if (flags & STORE_SET_SEQ) {
		if (cond)
			return OCT_ERR_CONSTRAINT_MISMATCH;
		name = seqname = seq_name(st, name, &len);
		if (!seqname)
			return OCT_ERR_NO_MEMORY;
	}
	old = find_name(st, name, len);
	if (cond) {
		err = check_constraints(st, rec, old);
		if (err)
			return err;
	}
	nrec = stored_form(rec, name, len);
	free(seqname);
	if (!nrec)
		return OCT_ERR_NO_MEMORY;
	err = put_rec(st, old, nrec, &r);
	if (err)
		return err;
	if ((flags & STORE_SET_EPHEMERAL) && owner_link(st, r, owner)) {
		/* Cannot track it for its owner: do not keep it at all. */
		del_rec(st, r);
		srec_free(r);
		return OCT_ERR_NO_MEMORY;
	}
	if (st->hook)
		st->hook(st->hook_ctx, STORE_OP_SET, r->rec);
	if (stored)
		*stored = r->rec;
	return OCT_OK;
}

enum oct_err store_del(struct store *st, const struct oct_record *query)
{
	struct srec *r;

	if (query->name_kind != OCT_NAME_LITERAL)
		return OCT_ERR_NO_RECORD_NAME;
	r = find_name(st, query->name.p, query->name.len);
	if (!r)
		return OCT_ERR_NO_RECORD;
	if (query->nattrs) {
		struct oct_query q;
		enum oct_err err = oct_query_compile(&q, query, st->qctx);
		int rc;

		if (err)
			return err;
		rc = rec_match(st, &q, r, 0);
		oct_query_free(&q);
		if (rc < 0)
			return (enum oct_err)-rc;
		if (!rc)
			return OCT_ERR_CONSTRAINT_MISMATCH;
	}
	del_rec(st, r);
	if (st->hook)
		st->hook(st->hook_ctx, STORE_OP_DEL, r->rec);
	srec_free(r);
	return OCT_OK;
}

size_t store_del_owned(struct store *st, uint64_t owner,
		       struct oct_record ***out)
{
	struct owner *o = find_owner(st, owner);
	struct oct_record **recs = NULL;
	size_t n = 0, cap = 0, nkept = 0;
	bool oom = false;

	if (out)
		*out = NULL;
	while (o && o->head) {
		struct srec *r = o->head;
		bool last = r->onext == NULL;

		del_rec(st, r);	/* frees o with its last record */
		if (st->hook)
			st->hook(st->hook_ctx, STORE_OP_DEL, r->rec);
		if (out && !oom) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 8;
				struct oct_record **nr =
					realloc(recs, nc * sizeof(*nr));

				if (nr) {
					recs = nr;
					cap = nc;
				} else {
					oom = true;
				}
			}
			if (!oom) {
				recs[nkept++] = r->rec;
				r->rec = NULL;
			}
		}
		srec_free(r);
		n++;
		if (last)
			break;
	}
	if (out) {
		if (oom) {
			for (size_t i = 0; i < nkept; i++)
				oct_record_free(recs[i]);
			free(recs);
			recs = NULL;
		}
		*out = recs;
	}
	return n;
}
