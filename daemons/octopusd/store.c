// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd record store; see store.h for the indexes and the semantics.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <inttypes.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "store.h"

/* ---- intrusive chained hash table ---- */

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb;	/* power of two, or 0 */
	size_t n;
};

static uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* FNV-1a from a per-store random basis, then a 64-bit finalizer: names
 * and keys come from clients, so their collisions should not be easy to
 * precompute. */
static uint64_t hash_seeded(uint64_t seed, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return hash_u64(h);
}

/* Makes room for one more entry; -1 when out of memory. */
static int ht_reserve(struct htab *h)
{
	if (h->n + 1 <= h->nb)
		return 0;
	size_t nb = h->nb ? h->nb * 2 : 16;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return h->nb ? 0 : -1;	/* a full table still works */
	for (size_t i = 0; i < h->nb; i++) {
		struct hnode *e = h->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
	return 0;
}

/* Needs a successful ht_reserve() first. */
static void ht_insert(struct htab *h, struct hnode *e)
{
	struct hnode **slot = &h->b[e->hash & (h->nb - 1)];

	e->next = *slot;
	*slot = e;
	h->n++;
}

static void ht_remove(struct htab *h, struct hnode *e)
{
	struct hnode **pp = &h->b[e->hash & (h->nb - 1)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	h->n--;
}

static struct hnode *ht_first(const struct htab *h, uint64_t hash)
{
	return h->nb ? h->b[hash & (h->nb - 1)] : NULL;
}

/*
 * The name table: open addressing, linear probing, (hash, record) pairs in
 * one array: a lookup touches its slot and the record, and deletion shifts
 * back instead of leaving tombstones.
 */
struct nslot {
	uint64_t hash;
	struct srec *r;
};

struct ntab {
	struct nslot *s;
	size_t cap;	/* power of two, or 0 */
	size_t n;
};

#define hash_bytes(st, p, len) hash_seeded((st)->seed, (p), (len))

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- the store ---- */

#define SKIP_MAX 32

struct srec;

/* Per attribute key: the records having it. */
struct kent {
	struct srec *r;
	size_t ai;	/* index of the key in r->rec->attrs */
};

struct kidx {
	struct hnode hn;
	char *key;
	size_t keylen;
	struct kent *e;
	size_t n, cap;
};

struct owner {
	struct hnode hn;
	uint64_t id;
	struct srec *head;
};

struct seqc {
	struct hnode hn;
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

#define RE_CACHE 64

struct re_slot {
	char *pat;
	size_t len;
	uint64_t hash;
	pcre2_code *code;
};

struct store {
	struct ntab names;
	struct htab keys;
	struct htab owners;
	struct htab seqs;
	struct srec *head[SKIP_MAX];	/* skip list heads */
	int level;
	uint64_t rng;
	struct re_slot re[RE_CACHE];
	pcre2_match_data *md;
	store_hook_fn hook;
	void *hook_ctx;
	uint64_t visited;
	uint64_t compiles;
	uint64_t seed;
};

struct store *store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->md = pcre2_match_data_create(1, NULL);
	if (!st->md) {
		free(st);
		return NULL;
	}
	st->level = 1;
	if (getrandom(&st->seed, sizeof(st->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(st->seed)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		st->seed = hash_u64((uint64_t)ts.tv_nsec ^
				    ((uint64_t)ts.tv_sec << 32) ^
				    (uint64_t)(uintptr_t)st);
	}
	st->rng = st->seed | 1;
	return st;
}

void store_set_hook(struct store *st, store_hook_fn fn, void *ctx)
{
	st->hook = fn;
	st->hook_ctx = ctx;
}

static void srec_free(struct srec *r)
{
	oct_record_free(r->rec);
	free(r->kidx);
	free(r->kpos);
	free(r);
}

void store_free(struct store *st)
{
	if (!st)
		return;
	for (struct srec *r = st->head[0], *n; r; r = n) {
		n = r->next[0];
		srec_free(r);
	}
	for (size_t i = 0; i < st->keys.nb; i++)
		for (struct hnode *e = st->keys.b[i], *n; e; e = n) {
			struct kidx *k = container_of(e, struct kidx, hn);

			n = e->next;
			free(k->key);
			free(k->e);
			free(k);
		}
	for (size_t i = 0; i < st->owners.nb; i++)
		for (struct hnode *e = st->owners.b[i], *n; e; e = n) {
			n = e->next;
			free(container_of(e, struct owner, hn));
		}
	for (size_t i = 0; i < st->seqs.nb; i++)
		for (struct hnode *e = st->seqs.b[i], *n; e; e = n) {
			struct seqc *s = container_of(e, struct seqc, hn);

			n = e->next;
			free(s->base);
			free(s);
		}
	free(st->names.s);
	free(st->keys.b);
	free(st->owners.b);
	free(st->seqs.b);
	for (int i = 0; i < RE_CACHE; i++) {
		free(st->re[i].pat);
		pcre2_code_free(st->re[i].code);
	}
	pcre2_match_data_free(st->md);
	free(st);
}

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

static struct srec *find_name(const struct store *st, const char *name,
			      size_t len)
{
	const struct ntab *t = &st->names;
	uint64_t h = hash_bytes(st, name, len);

	if (!t->cap)
		return NULL;
	for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct srec *r = t->s[i].r;

		if (!r)
			return NULL;
		if (t->s[i].hash == h && str_eq(r->name, r->name_len, name, len))
			return r;
	}
}

static void nt_place(struct ntab *t, struct srec *r)
{
	size_t i = r->hash & (t->cap - 1);

	while (t->s[i].r)
		i = (i + 1) & (t->cap - 1);
	t->s[i].hash = r->hash;
	t->s[i].r = r;
}

/* Room for one more at load <= 3/4; -1 when out of memory. */
static int nt_reserve(struct ntab *t)
{
	if ((t->n + 1) * 4 <= t->cap * 3)
		return 0;
	size_t cap = t->cap ? t->cap * 2 : 16;
	struct nslot *old = t->s;
	size_t ocap = t->cap;

	t->s = calloc(cap, sizeof(*t->s));
	if (!t->s) {
		t->s = old;
		/* Still room below a full table: go on, a bit slower. */
		return t->n + 1 < t->cap ? 0 : -1;
	}
	t->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].r)
			nt_place(t, old[i].r);
	free(old);
	return 0;
}

static void nt_insert(struct ntab *t, struct srec *r)
{
	nt_place(t, r);
	t->n++;
}

static void nt_remove(struct ntab *t, struct srec *r)
{
	size_t mask = t->cap - 1, i = r->hash & mask, j;

	while (t->s[i].r != r)
		i = (i + 1) & mask;
	/* Backward shift: move up entries whose probe passed the hole. */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (!t->s[j].r)
			break;
		size_t ideal = t->s[j].hash & mask;

		if (((j - ideal) & mask) >= ((j - i) & mask)) {
			t->s[i] = t->s[j];
			i = j;
		}
	}
	t->s[i].r = NULL;
	t->n--;
}

static struct kidx *find_key(const struct store *st, const char *key,
			     size_t len)
{
	uint64_t h = hash_bytes(st, key, len);

	for (struct hnode *e = ht_first(&st->keys, h); e; e = e->next) {
		struct kidx *k = container_of(e, struct kidx, hn);

		if (e->hash == h && str_eq(k->key, k->keylen, key, len))
			return k;
	}
	return NULL;
}

static struct owner *find_owner(const struct store *st, uint64_t id)
{
	uint64_t h = hash_u64(id);

	for (struct hnode *e = ht_first(&st->owners, h); e; e = e->next) {
		struct owner *o = container_of(e, struct owner, hn);

		if (o->id == id)
			return o;
	}
	return NULL;
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
	s->regex_compiles = st->compiles;
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
		ht_remove(&st->keys, &k->hn);
		free(k->key);
		free(k->e);
		free(k);
	}
	r->kidx[ai] = NULL;
}

static void unindex(struct store *st, struct srec *r)
{
	for (size_t i = 0; i < r->rec->nattrs; i++)
		if (r->kidx[i])
			kidx_remove(st, r, i);
}

/* Indexes r's attributes; on failure, undoes what it did. */
static int index_rec(struct store *st, struct srec *r)
{
	for (size_t i = 0; i < r->rec->nattrs; i++) {
		const struct oct_str *key = &r->rec->attrs[i].key;
		struct kidx *k = find_key(st, key->p, key->len);

		if (!k) {
			if (ht_reserve(&st->keys))
				goto fail;
			k = calloc(1, sizeof(*k));
			if (!k)
				goto fail;
			k->key = malloc(key->len + 1);
			if (!k->key) {
				free(k);
				goto fail;
			}
			memcpy(k->key, key->p, key->len + 1);
			k->keylen = key->len;
			k->hn.hash = hash_bytes(st, key->p, key->len);
			ht_insert(&st->keys, &k->hn);
		}
		if (k->n == k->cap) {
			size_t cap = k->cap ? k->cap * 2 : 4;
			struct kent *e = realloc(k->e, cap * sizeof(*e));

			if (!e) {
				if (k->n == 0) {
					ht_remove(&st->keys, &k->hn);
					free(k->key);
					free(k->e);
					free(k);
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
		ht_remove(&st->owners, &o->hn);
		free(o);
	}
}

static int owner_link(struct store *st, struct srec *r, uint64_t id)
{
	struct owner *o = find_owner(st, id);

	if (!o) {
		if (ht_reserve(&st->owners))
			return -1;
		o = calloc(1, sizeof(*o));
		if (!o)
			return -1;
		o->id = id;
		o->hn.hash = hash_u64(id);
		ht_insert(&st->owners, &o->hn);
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

/* ---- queries ---- */

struct qterm {
	const struct oct_attr *a;
	pcre2_code *re;
};

struct query {
	const struct oct_record *q;
	pcre2_code *name_re;
	struct qterm *t;
	size_t n;
	uint64_t pinned;	/* cache slots this query uses (RE_CACHE 64) */
	pcre2_code **own;	/* compiled for this query only */
	size_t nown;
};

static void query_fini(struct query *q)
{
	for (size_t i = 0; i < q->nown; i++)
		pcre2_code_free(q->own[i]);
	free(q->own);
	free(q->t);
}

/*
 * The compiled pattern, from the cache or compiled now. A slot used by
 * this query is never evicted by it: a second pattern hashing there is
 * compiled for the query alone. NULL: PCRE2 refused it (*oom false) or
 * out of memory (*oom true).
 */
static pcre2_code *query_regex(struct store *st, struct query *q,
			       const struct oct_str *pat, bool *oom)
{
	uint64_t h = hash_bytes(st, pat->p, pat->len);
	unsigned int slot = (unsigned int)(h % RE_CACHE);
	struct re_slot *s = &st->re[slot];
	int errcode;
	PCRE2_SIZE erroff;

	*oom = false;
	if (s->code && s->hash == h && str_eq(s->pat, s->len, pat->p, pat->len)) {
		q->pinned |= 1ull << slot;
		return s->code;
	}
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat->p, pat->len, 0,
					 &errcode, &erroff, NULL);

	if (!code) {
		*oom = errcode == PCRE2_ERROR_HEAPLIMIT ||
		       errcode == PCRE2_ERROR_NOMEMORY;
		return NULL;
	}
	st->compiles++;
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	char *copy = (q->pinned >> slot) & 1 ? NULL : malloc(pat->len + 1);

	if (!copy) {
		pcre2_code **own = realloc(q->own, (q->nown + 1) * sizeof(*own));

		if (!own) {
			pcre2_code_free(code);
			*oom = true;
			return NULL;
		}
		q->own = own;
		q->own[q->nown++] = code;
		return code;
	}
	if (pat->len)
		memcpy(copy, pat->p, pat->len);
	copy[pat->len] = '\0';
	free(s->pat);
	pcre2_code_free(s->code);
	s->pat = copy;
	s->len = pat->len;
	s->hash = h;
	s->code = code;
	q->pinned |= 1ull << slot;
	return code;
}

static enum oct_err query_init(struct store *st, struct query *q,
			       const struct oct_record *rec)
{
	bool oom = false;

	memset(q, 0, sizeof(*q));
	q->q = rec;
	q->n = rec->nattrs;
	if (q->n) {
		q->t = calloc(q->n, sizeof(*q->t));
		if (!q->t)
			return OCT_ERR_NO_MEMORY;
	}
	for (size_t i = 0; i < q->n; i++)
		q->t[i].a = &rec->attrs[i];
	if (rec->name_kind == OCT_NAME_REGEX) {
		q->name_re = query_regex(st, q, &rec->name, &oom);
		if (!q->name_re)
			goto fail;
	}
	for (size_t i = 0; i < q->n; i++) {
		const struct oct_attr *a = &rec->attrs[i];

		if (a->op == OCT_OP_VALUE && a->val.type == OCT_V_REGEX) {
			q->t[i].re = query_regex(st, q, &a->val.s, &oom);
			if (!q->t[i].re)
				goto fail;
		}
	}
	return OCT_OK;
fail:
	query_fini(q);
	return oom ? OCT_ERR_NO_MEMORY : OCT_ERR_PARSER_FAIL;
}

static bool re_match(struct store *st, pcre2_code *re, const struct oct_str *s)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s->p, s->len, 0, 0, st->md, NULL);

	return rc >= 0;
}

static bool term_match(struct store *st, const struct qterm *t,
		       const struct oct_record *rec)
{
	const struct oct_attr *qa = t->a;
	const struct oct_attr *a = oct_record_find(rec, qa->key.p, qa->key.len);
	int c;

	if (!a)
		return false;
	if (qa->op == OCT_OP_VALUE) {
		switch (qa->val.type) {
		case OCT_V_ANY:
			return true;
		case OCT_V_REGEX:
			return (a->val.type == OCT_V_STRING ||
				a->val.type == OCT_V_IDENT) &&
			       re_match(st, t->re, &a->val.s);
		default:
			return oct_value_equal(&a->val, &qa->val);
		}
	}
	if (!oct_value_cmp(&a->val, &qa->val, &c))
		return false;
	switch (qa->op) {
	case OCT_OP_EQ: return c == 0;
	case OCT_OP_NE: return c != 0;
	case OCT_OP_LT: return c < 0;
	case OCT_OP_LE: return c <= 0;
	case OCT_OP_GT: return c > 0;
	case OCT_OP_GE: return c >= 0;
	default: return false;
	}
}

static bool rec_match(struct store *st, const struct query *q,
		      const struct srec *r, bool constraints_only)
{
	const struct oct_record *rec = r->rec;

	st->visited++;
	if (!constraints_only) {
		switch (q->q->name_kind) {
		case OCT_NAME_LITERAL:
			if (!str_eq(rec->name.p, rec->name.len, q->q->name.p,
				    q->q->name.len))
				return false;
			break;
		case OCT_NAME_REGEX:
			if (!re_match(st, q->name_re, &rec->name))
				return false;
			break;
		case OCT_NAME_ANY:
			break;
		}
	}
	for (size_t i = 0; i < q->n; i++) {
		if (constraints_only && q->t[i].a->op == OCT_OP_VALUE)
			continue;
		if (!term_match(st, &q->t[i], rec))
			return false;
	}
	return true;
}

/*
 * Runs a query. all: collect every match in *out (natural order), else
 * just the first in natural order.
 */
static enum oct_err run_query(struct store *st, const struct oct_record *qr,
			      bool all, struct srec ***out, size_t *nout)
{
	struct query q;
	enum oct_err err = query_init(st, &q, qr);
	struct srec **res = NULL;
	size_t n = 0, cap = 0;

	if (err)
		return err;
	*out = NULL;
	*nout = 0;

#define ADD(r)								\
	do {								\
		if (n == cap) {						\
			size_t nc = cap ? cap * 2 : 8;			\
			struct srec **nr = realloc(res, nc * sizeof(*nr)); \
			if (!nr) {					\
				err = OCT_ERR_NO_MEMORY;		\
				goto done;				\
			}						\
			res = nr;					\
			cap = nc;					\
		}							\
		res[n++] = (r);						\
	} while (0)

	if (qr->name_kind == OCT_NAME_LITERAL) {
		struct srec *r = find_name(st, qr->name.p, qr->name.len);

		if (r && rec_match(st, &q, r, false))
			ADD(r);
	} else if (q.n > 0) {
		/* Only records having the query's rarest key. */
		struct kidx *best = NULL;

		for (size_t i = 0; i < q.n; i++) {
			struct kidx *k = find_key(st, q.t[i].a->key.p,
						  q.t[i].a->key.len);

			if (!k) {
				best = NULL;
				goto done;
			}
			if (!best || k->n < best->n)
				best = k;
		}
		struct srec *first = NULL;

		for (size_t i = 0; i < best->n; i++) {
			struct srec *r = best->e[i].r;

			if (!rec_match(st, &q, r, false))
				continue;
			if (all)
				ADD(r);
			else if (!first || name_cmp(r, first) < 0)
				first = r;
		}
		if (first)
			ADD(first);
		if (all && n > 1)	/* sort the matches only */
			qsort(res, n, sizeof(*res), srec_ptr_cmp);
	} else {
		for (struct srec *r = st->head[0]; r; r = r->next[0]) {
			if (!rec_match(st, &q, r, false))
				continue;
			ADD(r);
			if (!all)
				break;
		}
	}
done:
#undef ADD
	query_fini(&q);
	if (err) {
		free(res);
		return err;
	}
	if (n == 0) {
		free(res);
		return OCT_ERR_NO_RECORD;
	}
	*out = res;
	*nout = n;
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
	nt_remove(&st->names, r);
	skip_remove(st, r);
	unindex(st, r);
	owner_unlink(st, r);
}

enum oct_err store_set(struct store *st, const struct oct_record *rec,
		       unsigned int flags, uint64_t owner,
		       const struct oct_record **stored)
{
	bool cond = oct_record_has_constraints(rec);
	char *seqname = NULL;
	const char *name = rec->name.p;
	size_t len = rec->name.len;
	struct srec *old, *r = NULL;
	struct oct_record *nrec;

	if (stored)
		*stored = NULL;
	if (rec->name_kind != OCT_NAME_LITERAL)
		return OCT_ERR_NO_RECORD_NAME;
	if (!set_valid(rec))
		return OCT_ERR_PARSER_FAIL;
	if (flags & STORE_SET_SEQ) {
		if (cond)
			return OCT_ERR_CONSTRAINT_MISMATCH;
		uint64_t h = hash_bytes(st, name, len);
		struct seqc *sc = NULL;

		for (struct hnode *e = ht_first(&st->seqs, h); e; e = e->next) {
			struct seqc *c = container_of(e, struct seqc, hn);

			if (e->hash == h && str_eq(c->base, c->len, name, len)) {
				sc = c;
				break;
			}
		}
		if (!sc) {
			if (ht_reserve(&st->seqs))
				return OCT_ERR_NO_MEMORY;
			sc = calloc(1, sizeof(*sc));
			if (!sc)
				return OCT_ERR_NO_MEMORY;
			sc->base = malloc(len + 1);
			if (!sc->base) {
				free(sc);
				return OCT_ERR_NO_MEMORY;
			}
			memcpy(sc->base, name, len);
			sc->base[len] = '\0';
			sc->len = len;
			sc->hn.hash = h;
			ht_insert(&st->seqs, &sc->hn);
		}
		seqname = malloc(len + 24);
		if (!seqname)
			return OCT_ERR_NO_MEMORY;
		memcpy(seqname, name, len);
		do {
			len = sc->len + (size_t)snprintf(seqname + sc->len, 24,
							 "%" PRIu64, sc->next++);
		} while (find_name(st, seqname, len));
		name = seqname;
	}
	old = find_name(st, name, len);
	if (cond) {
		struct query q;
		enum oct_err err;

		if (!old)
			return OCT_ERR_CONSTRAINT_MISMATCH;
		err = query_init(st, &q, rec);
		if (err)
			return err;
		bool ok = rec_match(st, &q, old, true);

		query_fini(&q);
		if (!ok)
			return OCT_ERR_CONSTRAINT_MISMATCH;
	}
	nrec = stored_form(rec, name, len);
	free(seqname);
	if (!nrec)
		return OCT_ERR_NO_MEMORY;

	size_t na = nrec->nattrs ? nrec->nattrs : 1;
	struct kidx **kidx = calloc(na, sizeof(*kidx));
	size_t *kpos = calloc(na, sizeof(*kpos));

	if (!kidx || !kpos)
		goto oom;
	if (old) {
		/* Swap the record under the same node. */
		struct oct_record *orec = old->rec;
		struct kidx **ok = old->kidx;
		size_t *op = old->kpos;

		unindex(st, old);
		old->rec = nrec;
		old->kidx = kidx;
		old->kpos = kpos;
		if (index_rec(st, old)) {
			/* Back to the old record; its index entries were
			 * freed, so re-adding them may fail too: then the old
			 * record stays but is missing from some key indexes. */
			old->rec = orec;
			old->kidx = ok;
			old->kpos = op;
			memset(ok, 0, orec->nattrs * sizeof(*ok));
			(void)index_rec(st, old);
			goto oom;
		}
		oct_record_free(orec);
		free(ok);
		free(op);
		r = old;
		owner_unlink(st, r);
	} else {
		int lvl = random_level(st);

		if (nt_reserve(&st->names))
			goto oom;
		r = calloc(1, sizeof(*r) + (size_t)lvl * sizeof(r->next[0]) +
			      nrec->name.len + 1);
		if (!r)
			goto oom;
		char *nm = (char *)&r->next[lvl];

		memcpy(nm, nrec->name.p, nrec->name.len + 1);
		r->name = nm;
		r->name_len = nrec->name.len;
		r->hash = hash_bytes(st, nm, r->name_len);
		r->rec = nrec;
		r->kidx = kidx;
		r->kpos = kpos;
		r->level = lvl;
		if (index_rec(st, r)) {
			free(r);
			goto oom;
		}
		nt_insert(&st->names, r);
		skip_insert(st, r);
	}
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
oom:
	free(kidx);
	free(kpos);
	oct_record_free(nrec);
	return OCT_ERR_NO_MEMORY;
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
		struct query q;
		enum oct_err err = query_init(st, &q, query);

		if (err)
			return err;
		bool ok = rec_match(st, &q, r, false);

		query_fini(&q);
		if (!ok)
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
