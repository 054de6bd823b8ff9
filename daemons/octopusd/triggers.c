// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd triggers (triggers.h). Matching follows the store's rules
 * (store.h): literal, '_' or regex names; `key: _`, `key: r'...'` on
 * strings and identifiers, `key: literal`, `key OP literal` through
 * oct_value_cmp(); PCRE2, unanchored, compiled once per trigger.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "triggers.h"

struct trigger {
	uint64_t id;
	struct conn *conn;
	struct oct_record *q;
	pcre2_code *name_re;
	pcre2_code **term_re;	/* per attr; NULL unless a regex value */
	pcre2_match_data *md;
	unsigned int modes;
	bool persist;
	struct trigger *prev, *next;	/* the server's list */
	struct trigger *cnext;		/* the connection's list */
};

static void trigger_free(struct trigger *t)
{
	if (t->term_re)
		for (size_t i = 0; i < t->q->nattrs; i++)
			pcre2_code_free(t->term_re[i]);
	free(t->term_re);
	pcre2_code_free(t->name_re);
	pcre2_match_data_free(t->md);
	oct_record_free(t->q);
	free(t);
}

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

enum oct_err trigger_add(struct server *s, struct conn *c,
			 struct oct_record *q, unsigned int modes, bool persist,
			 uint64_t *id)
{
	enum oct_err err = OCT_ERR_NO_MEMORY;
	struct trigger *t = calloc(1, sizeof(*t));

	if (!t) {
		oct_record_free(q);
		return OCT_ERR_NO_MEMORY;
	}
	t->q = q;
	t->modes = modes;
	t->persist = persist;
	t->conn = c;
	if (q->nattrs) {
		t->term_re = calloc(q->nattrs, sizeof(*t->term_re));
		if (!t->term_re)
			goto fail;
	}
	t->md = pcre2_match_data_create(1, NULL);
	if (!t->md)
		goto fail;
	if (q->name_kind == OCT_NAME_REGEX) {
		t->name_re = compile(&q->name, &err);
		if (!t->name_re)
			goto fail;
	}
	for (size_t i = 0; i < q->nattrs; i++) {
		const struct oct_attr *a = &q->attrs[i];

		if (a->op == OCT_OP_VALUE && a->val.type == OCT_V_REGEX) {
			t->term_re[i] = compile(&a->val.s, &err);
			if (!t->term_re[i])
				goto fail;
		}
	}
	t->id = ++s->next_trigger_id;
	t->next = s->triggers;
	if (s->triggers)
		s->triggers->prev = t;
	s->triggers = t;
	t->cnext = c->triggers;
	c->triggers = t;
	*id = t->id;
	return OCT_OK;
fail:
	trigger_free(t);
	return err;
}

/* Unlinks t from both lists and frees it. */
static void trigger_unlink(struct server *s, struct trigger *t)
{
	struct trigger **pp = &t->conn->triggers;

	while (*pp != t)
		pp = &(*pp)->cnext;
	*pp = t->cnext;
	if (t->prev)
		t->prev->next = t->next;
	else
		s->triggers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	trigger_free(t);
}

bool trigger_remove(struct server *s, struct conn *c, uint64_t id)
{
	struct trigger *t = c->triggers;

	while (t && t->id != id)
		t = t->cnext;
	if (!t)
		return false;
	if (t->persist && server_push_begin(s, c)) {
		mk_resp_w_push(&c->out, 3);
		mk_resp_w_bulk_str(&c->out, "oct.trigger");
		mk_resp_w_int(&c->out, (int64_t)t->id);
		mk_resp_w_bulk_str(&c->out, "REMOVED");
	}
	trigger_unlink(s, t);
	return true;
}

void triggers_drop_conn(struct server *s, struct conn *c)
{
	while (c->triggers)
		trigger_unlink(s, c->triggers);
}

static bool re_match(struct trigger *t, pcre2_code *re, const struct oct_str *v)
{
	return pcre2_match(re, (PCRE2_SPTR)v->p, v->len, 0, 0, t->md, NULL) >= 0;
}

static bool matches(struct trigger *t, const struct oct_record *r)
{
	const struct oct_record *q = t->q;

	switch (q->name_kind) {
	case OCT_NAME_LITERAL:
		if (q->name.len != r->name.len ||
		    memcmp(q->name.p, r->name.p, q->name.len))
			return false;
		break;
	case OCT_NAME_REGEX:
		if (!re_match(t, t->name_re, &r->name))
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
				    !re_match(t, t->term_re[i], &a->val.s))
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

void triggers_fire(struct server *s, enum store_op op,
		   const struct oct_record *rec)
{
	unsigned int mode = op == STORE_OP_SET ? TRIG_ON_SET : TRIG_ON_DEL;
	struct trigger *t, *next;
	char *txt = NULL;
	size_t len = 0;

	for (t = s->triggers; t; t = next) {
		struct conn *c = t->conn;

		next = t->next;
		if (!(t->modes & mode) || c->closing || !matches(t, rec))
			continue;
		if (!txt) {
			txt = oct_print(rec, &len);
			if (!txt)
				return;	/* out of memory: events lost */
		}
		if (server_push_begin(s, c)) {
			mk_resp_w_push(&c->out, t->persist ? 4 : 5);
			mk_resp_w_bulk_str(&c->out, "oct.trigger");
			mk_resp_w_int(&c->out, (int64_t)t->id);
			mk_resp_w_bulk_str(&c->out, mode == TRIG_ON_SET ?
					   "ON_SET" : "ON_DEL");
			mk_resp_w_bulk(&c->out, txt, len);
			if (!t->persist)
				mk_resp_w_bulk_str(&c->out, "REMOVED");
		}
		if (!t->persist)
			trigger_unlink(s, t);
	}
	free(txt);
}
