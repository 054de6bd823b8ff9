// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd triggers (triggers.h). Matching and the index are watchidx.c's;
 * this file keeps the connections' lists and writes the events.
 */
#include <stdlib.h>

#include "triggers.h"
#include "watchidx.h"

struct trigger {
	struct watch w;		/* first: the index gives back &t->w */
	uint64_t id;
	struct conn *conn;
	unsigned int modes;
	bool persist;
	struct trigger *cprev, *cnext;	/* the connection's list */
	struct trigger *fired;	/* one-shots to remove after a match */
};

struct trigger *trigger_new(struct conn *c, struct oct_record *q,
			    unsigned int modes, bool persist, enum oct_err *err)
{
	struct trigger *t = calloc(1, sizeof(*t));

	if (!t) {
		oct_record_free(q);
		*err = OCT_ERR_NO_MEMORY;
		return NULL;
	}
	*err = watch_init(&t->w, q);
	if (*err) {
		free(t);
		return NULL;
	}
	t->conn = c;
	t->modes = modes;
	t->persist = persist;
	return t;
}

const struct oct_record *trigger_query(const struct trigger *t)
{
	return t->w.q;
}

void trigger_discard(struct trigger *t)
{
	watch_fini(&t->w);
	free(t);
}

enum oct_err trigger_install(struct server *s, struct trigger *t,
			     uint64_t *id)
{
	struct conn *c = t->conn;

	if (watchidx_add(&s->trig_idx, &t->w) < 0) {
		trigger_discard(t);
		return OCT_ERR_NO_MEMORY;
	}
	t->id = ++s->next_watch_id;
	if (idmap_put(&s->trig_ids, t->id, t) < 0) {
		watchidx_del(&s->trig_idx, &t->w);
		trigger_discard(t);
		return OCT_ERR_NO_MEMORY;
	}
	t->cprev = NULL;
	t->cnext = c->triggers;
	if (c->triggers)
		c->triggers->cprev = t;
	c->triggers = t;
	c->nwatches++;
	s->nwatches++;
	*id = t->id;
	return OCT_OK;
}

/* Unlinks t from its connection and the index, and frees it. O(1): a
 * set can fire and remove every one-shot trigger of a connection. */
static void trigger_unlink(struct server *s, struct trigger *t)
{
	if (t->cprev)
		t->cprev->cnext = t->cnext;
	else
		t->conn->triggers = t->cnext;
	if (t->cnext)
		t->cnext->cprev = t->cprev;
	t->conn->nwatches--;
	s->nwatches--;
	watchidx_del(&s->trig_idx, &t->w);
	idmap_del(&s->trig_ids, t->id);
	trigger_discard(t);
}

bool trigger_remove(struct server *s, struct conn *c, uint64_t id)
{
	struct trigger *t = idmap_get(&s->trig_ids, id);

	if (!t || t->conn != c)
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

struct fire {
	struct server *s;
	unsigned int mode;
	const struct oct_record *rec;
	char *txt;		/* rec printed, once, when first needed */
	size_t len;
	struct trigger *fired;
};

static void fire_one(struct watch *w, void *ctx)
{
	struct fire *f = ctx;
	struct trigger *t = (struct trigger *)w;
	struct conn *c = t->conn;

	if (!(t->modes & f->mode) || c->closing)
		return;
	if (!f->txt) {
		f->txt = oct_print(f->rec, &f->len);
		if (!f->txt)
			return;	/* out of memory: the event is lost */
	}
	if (server_push_begin(f->s, c)) {
		mk_resp_w_push(&c->out, t->persist ? 4 : 5);
		mk_resp_w_bulk_str(&c->out, "oct.trigger");
		mk_resp_w_int(&c->out, (int64_t)t->id);
		mk_resp_w_bulk_str(&c->out, f->mode == TRIG_ON_SET ?
				   "ON_SET" : "ON_DEL");
		mk_resp_w_bulk(&c->out, f->txt, f->len);
		if (!t->persist)
			mk_resp_w_bulk_str(&c->out, "REMOVED");
	}
	if (!t->persist) {
		t->fired = f->fired;
		f->fired = t;
	}
}

void triggers_fire(struct server *s, enum store_op op,
		   const struct oct_record *rec)
{
	struct fire f = {
		.s = s,
		.mode = op == STORE_OP_SET ? TRIG_ON_SET : TRIG_ON_DEL,
		.rec = rec,
	};

	watchidx_match(&s->trig_idx, rec, fire_one, &f);
	while (f.fired) {
		struct trigger *t = f.fired;

		f.fired = t->fired;
		trigger_unlink(s, t);
	}
	free(f.txt);
}
