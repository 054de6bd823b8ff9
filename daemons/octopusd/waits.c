// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd OCT.WAIT (waits.h): each blocked connection has one wait, in
 * the server's wait index, with a timer of the server's loop if it has a
 * deadline, and on the woken list between a set that matched it and its
 * answer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "waits.h"
#include "watchidx.h"

struct wait {
	struct watch w;		/* first: the index gives back &wt->w */
	struct server *srv;
	struct conn *conn;
	struct mk_loop_timer *timer;	/* its deadline; NULL: none */
	bool woken;		/* on s->woken */
	struct wait *wnext;
};

/* ---- the ready list: answered, to resume ---- */

static void ready_unlink(struct server *s, struct conn *c)
{
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		s->ready = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	c->wprev = c->wnext = NULL;
	c->wstate = CONN_RUN;
}

struct conn *waits_next_ready(struct server *s)
{
	struct conn *c = s->ready;

	if (c)
		ready_unlink(s, c);
	return c;
}

/* ---- waits ---- */

static void wait_end(struct server *s, struct wait *wt);

/* The deadline passed: the answer is a null. */
static void wait_expired(struct mk_loop *l, struct mk_loop_timer *t, void *arg)
{
	struct wait *wt = arg;

	(void)l, (void)t;
	mk_resp_w_null(&wt->conn->out);
	wait_end(wt->srv, wt);
}

enum oct_err wait_start(struct server *s, struct conn *c,
			struct oct_record *q, uint64_t deadline_ns)
{
	struct wait *wt = calloc(1, sizeof(*wt));
	enum oct_err e;

	if (!wt) {
		oct_record_free(q);
		return OCT_ERR_NO_MEMORY;
	}
	e = watch_init(&wt->w, q);
	if (e) {
		free(wt);
		return e;
	}
	if ((deadline_ns &&
	     mk_loop_timer_create(s->loop, wait_expired, wt, &wt->timer) < 0) ||
	    watchidx_add(&s->wait_idx, &wt->w) < 0) {
		mk_loop_timer_destroy(wt->timer);
		watch_fini(&wt->w);
		free(wt);
		return OCT_ERR_NO_MEMORY;
	}
	wt->srv = s;
	wt->conn = c;
	if (wt->timer)
		mk_loop_timer_arm(wt->timer, deadline_ns > INT64_MAX ? INT64_MAX :
					     (int64_t)deadline_ns);
	c->wait = wt;
	c->wstate = CONN_WAITING;
	return OCT_OK;
}

/* Takes wt out of everything and frees it; its connection runs again. */
static void wait_free(struct server *s, struct wait *wt)
{
	watchidx_del(&s->wait_idx, &wt->w);
	/* Also from its own callback: the loop allows it. */
	mk_loop_timer_destroy(wt->timer);
	if (wt->woken) {
		struct wait **pp = &s->woken;

		while (*pp != wt)
			pp = &(*pp)->wnext;
		*pp = wt->wnext;
	}
	wt->conn->wait = NULL;
	wt->conn->wstate = CONN_RUN;
	watch_fini(&wt->w);
	free(wt);
}

/* wt's reply is written: free it and put its connection on the ready
 * list, to run its buffered commands from the main loop. */
static void wait_end(struct server *s, struct wait *wt)
{
	struct conn *c = wt->conn;

	wait_free(s, wt);
	c->wstate = CONN_READY;
	c->wprev = NULL;
	c->wnext = s->ready;
	if (s->ready)
		s->ready->wprev = c;
	s->ready = c;
}

void wait_drop(struct server *s, struct conn *c)
{
	if (c->wait)
		wait_free(s, c->wait);
	else if (c->wstate == CONN_READY)
		ready_unlink(s, c);
}

static void mark(struct watch *w, void *ctx)
{
	struct server *s = ctx;
	struct wait *wt = (struct wait *)w;

	if (!wt->woken) {
		wt->woken = true;
		wt->wnext = s->woken;
		s->woken = wt;
	}
}

void waits_set(struct server *s, const struct oct_record *rec)
{
	watchidx_match(&s->wait_idx, rec, mark, s);
}

void waits_wake(struct server *s)
{
	while (s->woken) {
		struct wait *wt = s->woken;
		struct conn *c = wt->conn;
		const struct oct_record *r;
		enum oct_err e;

		s->woken = wt->wnext;
		wt->woken = false;
		e = store_get(s->st, wt->w.q, &r);
		if (e == OCT_ERR_NO_RECORD)
			continue;	/* set, then deleted again */
		if (e == OCT_OK) {
			size_t n;
			char *txt = oct_print(r, &n);

			if (txt)
				mk_resp_w_bulk(&c->out, txt, n);
			else
				mk_resp_w_error(&c->out, "NO_MEMORY",
						"out of memory");
			free(txt);
		} else {
			mk_resp_w_error(&c->out, oct_err_name(e), oct_err_str(e));
		}
		wait_end(s, wt);
	}
}

void waits_fini(struct server *s)
{
	watchidx_fini(&s->wait_idx);
}
