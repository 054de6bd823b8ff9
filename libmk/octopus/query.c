// SPDX-License-Identifier: LGPL-2.1-or-later
/* Compiled Octopus queries and matching (query.h). */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "../hashtab.h"
#include "query.h"

#define RE_CACHE 64

struct re_slot {
	char *pat;
	size_t len;
	uint64_t hash;
	pcre2_code *code;
};

struct oct_query_ctx {
	pcre2_match_data *md;
	pcre2_match_context *mctx;	/* NULL: PCRE2's default limits */
	uint64_t compiles;
	struct re_slot re[RE_CACHE];
};

struct oct_query_ctx *oct_query_ctx_new(void)
{
	struct oct_query_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->md = pcre2_match_data_create(1, NULL);
	if (!ctx->md) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

void oct_query_ctx_free(struct oct_query_ctx *ctx)
{
	if (!ctx)
		return;
	for (int i = 0; i < RE_CACHE; i++) {
		free(ctx->re[i].pat);
		pcre2_code_free(ctx->re[i].code);
	}
	pcre2_match_context_free(ctx->mctx);
	pcre2_match_data_free(ctx->md);
	free(ctx);
}

int oct_query_ctx_set_limits(struct oct_query_ctx *ctx, uint32_t match_limit,
			     uint32_t depth_limit)
{
	if (!match_limit && !depth_limit) {
		pcre2_match_context_free(ctx->mctx);
		ctx->mctx = NULL;
		return 0;
	}
	if (!ctx->mctx) {
		ctx->mctx = pcre2_match_context_create(NULL);
		if (!ctx->mctx)
			return -1;
	}
	/* A fresh context holds PCRE2's defaults: set only what is asked. */
	if (match_limit)
		pcre2_set_match_limit(ctx->mctx, match_limit);
	if (depth_limit)
		pcre2_set_depth_limit(ctx->mctx, depth_limit);
	return 0;
}

uint64_t oct_query_ctx_compiles(const struct oct_query_ctx *ctx)
{
	return ctx->compiles;
}

void oct_query_free(struct oct_query *q)
{
	for (size_t i = 0; i < q->nown; i++)
		pcre2_code_free(q->own[i]);
	free(q->own);
	free(q->term_re);
	memset(q, 0, sizeof(*q));
}

static enum oct_err compile_err(int errcode)
{
	return errcode == PCRE2_ERROR_HEAPLIMIT ||
	       errcode == PCRE2_ERROR_NOMEMORY ? OCT_ERR_NO_MEMORY :
						 OCT_ERR_PARSER_FAIL;
}

static pcre2_code *compile(const struct oct_str *pat, enum oct_err *err)
{
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat->p, pat->len, 0,
					 &errcode, &erroff, NULL);

	if (!code) {
		*err = compile_err(errcode);
		return NULL;
	}
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

/* Keeps code for q alone (freed with q). */
static pcre2_code *own(struct oct_query *q, pcre2_code *code, enum oct_err *err)
{
	void **o = realloc(q->own, (q->nown + 1) * sizeof(*o));

	if (!o) {
		pcre2_code_free(code);
		*err = OCT_ERR_NO_MEMORY;
		return NULL;
	}
	q->own = o;
	q->own[q->nown++] = code;
	return code;
}

/*
 * The compiled pattern, from the cache or compiled now. A slot this query
 * uses is never evicted by it: a second pattern hashing there is compiled
 * for the query alone, as is one the cache has no memory to keep.
 */
static pcre2_code *query_regex(struct oct_query *q, struct oct_query_ctx *cache,
			       const struct oct_str *pat, enum oct_err *err)
{
	if (!cache) {
		pcre2_code *code = compile(pat, err);

		return code ? own(q, code, err) : NULL;
	}
	uint64_t h = hash_bytes(pat->p, pat->len);
	unsigned int slot = (unsigned int)(h % RE_CACHE);
	struct re_slot *s = &cache->re[slot];

	if (s->code && s->hash == h && s->len == pat->len &&
	    !memcmp(s->pat, pat->p, pat->len)) {
		q->pinned |= 1ull << slot;
		return s->code;
	}
	pcre2_code *code = compile(pat, err);

	if (!code)
		return NULL;
	cache->compiles++;
	char *copy = (q->pinned >> slot) & 1 ? NULL : malloc(pat->len + 1);

	if (!copy)
		return own(q, code, err);
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

static bool is_regex_term(const struct oct_attr *a)
{
	return a->op == OCT_OP_VALUE && a->val.type == OCT_V_REGEX;
}

enum oct_err oct_query_compile(struct oct_query *q, const struct oct_record *rec,
			       struct oct_query_ctx *cache)
{
	enum oct_err err = OCT_OK;

	memset(q, 0, sizeof(*q));
	q->rec = rec;
	if (rec->name_kind == OCT_NAME_REGEX) {
		q->name_re = query_regex(q, cache, &rec->name, &err);
		if (!q->name_re)
			goto fail;
	}
	for (size_t i = 0; i < rec->nattrs; i++) {
		if (!is_regex_term(&rec->attrs[i]))
			continue;
		/* Only a query with a regex term pays for the array. */
		if (!q->term_re) {
			q->term_re = calloc(rec->nattrs, sizeof(*q->term_re));
			if (!q->term_re) {
				err = OCT_ERR_NO_MEMORY;
				goto fail;
			}
		}
		q->term_re[i] = query_regex(q, cache, &rec->attrs[i].val.s, &err);
		if (!q->term_re[i])
			goto fail;
	}
	return OCT_OK;
fail:
	oct_query_free(q);
	return err;
}

static enum oct_err match_err(int rc)
{
	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
		return OCT_ERR_QUERY_SIZE;
	case PCRE2_ERROR_NOMEMORY:
		return OCT_ERR_NO_MEMORY;
	default:
		return OCT_ERR_ENGINE_FAIL;
	}
}

/* 1: a match, 0: none, or -(an oct_err). Forced inline: GCC keeps it out
 * of line otherwise, and a regex query pays the call on every record. */
static inline __attribute__((always_inline)) int
re_match(struct oct_query_ctx *ctx, void *re, const struct oct_str *s)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)s->p, s->len, 0, 0, ctx->md,
			     ctx->mctx);

	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -(int)match_err(rc);
}

static bool op_holds(enum oct_op op, int c)
{
	switch (op) {
	case OCT_OP_EQ: return c == 0;
	case OCT_OP_NE: return c != 0;
	case OCT_OP_LT: return c < 0;
	case OCT_OP_LE: return c <= 0;
	case OCT_OP_GT: return c > 0;
	case OCT_OP_GE: return c >= 0;
	default: return false;
	}
}

/* Term i of q against r: 1, 0 or -(an oct_err), as re_match(). */
static int term_match(const struct oct_query *q, struct oct_query_ctx *ctx,
		      size_t i, const struct oct_record *r)
{
	const struct oct_attr *qa = &q->rec->attrs[i];
	const struct oct_attr *a = oct_record_find(r, qa->key.p, qa->key.len);
	int c;

	if (!a)
		return 0;
	if (qa->op == OCT_OP_VALUE) {
		switch (qa->val.type) {
		case OCT_V_ANY:
			return 1;
		case OCT_V_REGEX:
			if (a->val.type != OCT_V_STRING &&
			    a->val.type != OCT_V_IDENT)
				return 0;
			return re_match(ctx, q->term_re[i], &a->val.s);
		default:
			return oct_value_equal(&a->val, &qa->val);
		}
	}
	return oct_value_cmp(&a->val, &qa->val, &c) && op_holds(qa->op, c);
}

static int name_match(const struct oct_query *q, struct oct_query_ctx *ctx,
		      const struct oct_record *r)
{
	const struct oct_record *qr = q->rec;

	switch (qr->name_kind) {
	case OCT_NAME_LITERAL:
		return qr->name.len == r->name.len &&
		       !memcmp(qr->name.p, r->name.p, r->name.len);
	case OCT_NAME_REGEX:
		return re_match(ctx, q->name_re, &r->name);
	default:
		return 1;
	}
}

/* Hot: every candidate record of every query and watch comes here. */
int oct_query_match(const struct oct_query *q, struct oct_query_ctx *ctx,
		    const struct oct_record *r, unsigned int flags)
{
	const struct oct_record *qr = q->rec;
	bool constraints = flags & OCT_QUERY_CONSTRAINTS;
	int rc;

	if (!constraints && qr->name_kind != OCT_NAME_ANY) {
		rc = name_match(q, ctx, r);
		if (rc <= 0)
			return rc;
	}
	for (size_t i = 0; i < qr->nattrs; i++) {
		if (constraints && qr->attrs[i].op == OCT_OP_VALUE)
			continue;
		rc = term_match(q, ctx, i, r);
		if (rc <= 0)
			return rc;
	}
	return 1;
}
