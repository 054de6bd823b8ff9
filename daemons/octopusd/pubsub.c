// SPDX-License-Identifier: GPL-2.0-or-later
/* octopusd publish / subscribe (pubsub.h). */
#include <stdlib.h>

#include "pubsub.h"
#include "watchidx.h"

struct sub {
	struct watch w;		/* first: the index gives back &sub->w */
	uint64_t id;
	struct conn *conn;
	struct sub *cprev, *cnext;	/* the connection's list */
};

enum oct_err sub_add(struct server *s, struct conn *c, struct oct_record *q,
		     uint64_t *id)
{
	struct sub *sb = calloc(1, sizeof(*sb));
	enum oct_err e;

	if (!sb) {
		oct_record_free(q);
		return OCT_ERR_NO_MEMORY;
	}
	e = watch_init(&sb->w, q);
	if (e) {
		free(sb);
		return e;
	}
	if (watchidx_add(&s->sub_idx, &sb->w) < 0) {
		watch_fini(&sb->w);
		free(sb);
		return OCT_ERR_NO_MEMORY;
	}
	sb->conn = c;
	sb->id = ++s->next_watch_id;
	if (idmap_put(&s->sub_ids, sb->id, sb) < 0) {
		watchidx_del(&s->sub_idx, &sb->w);
		watch_fini(&sb->w);
		free(sb);
		return OCT_ERR_NO_MEMORY;
	}
	sb->cprev = NULL;
	sb->cnext = c->subs;
	if (c->subs)
		c->subs->cprev = sb;
	c->subs = sb;
	c->nwatches++;
	s->nwatches++;
	*id = sb->id;
	return OCT_OK;
}

static void sub_unlink(struct server *s, struct sub *sb)
{
	if (sb->cprev)
		sb->cprev->cnext = sb->cnext;
	else
		sb->conn->subs = sb->cnext;
	if (sb->cnext)
		sb->cnext->cprev = sb->cprev;
	sb->conn->nwatches--;
	s->nwatches--;
	watchidx_del(&s->sub_idx, &sb->w);
	idmap_del(&s->sub_ids, sb->id);
	watch_fini(&sb->w);
	free(sb);
}

bool sub_remove(struct server *s, struct conn *c, uint64_t id)
{
	struct sub *sb = idmap_get(&s->sub_ids, id);

	if (!sb || sb->conn != c)
		return false;
	sub_unlink(s, sb);
	return true;
}

void subs_drop_conn(struct server *s, struct conn *c)
{
	while (c->subs)
		sub_unlink(s, c->subs);
}

struct delivery {
	struct server *s;
	const struct oct_record *rec;
	char *txt;		/* rec printed, once, when first needed */
	size_t len;
	size_t n;
};

static void deliver(struct watch *w, void *ctx)
{
	struct delivery *d = ctx;
	struct sub *sb = (struct sub *)w;
	struct conn *c = sb->conn;

	if (c->closing)
		return;
	if (!d->txt) {
		d->txt = oct_print(d->rec, &d->len);
		if (!d->txt)
			return;	/* out of memory: not delivered */
	}
	if (!server_push_begin(d->s, c))
		return;
	mk_resp_w_push(&c->out, 3);
	mk_resp_w_bulk_str(&c->out, "oct.publish");
	mk_resp_w_int(&c->out, (int64_t)sb->id);
	mk_resp_w_bulk(&c->out, d->txt, d->len);
	d->n++;
}

size_t sub_publish(struct server *s, const struct oct_record *rec)
{
	struct delivery d = { .s = s, .rec = rec };

	watchidx_match(&s->sub_idx, rec, deliver, &d);
	free(d.txt);
	return d.n;
}
