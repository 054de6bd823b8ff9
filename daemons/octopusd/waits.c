// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd OCT.WAIT (waits.h): each blocked connection has one wait, in
 * the server's wait index, in the deadline heap if it has a deadline, and
 * on the woken list between a set that matched it and its answer.
 */
#include <stdlib.h>

#include "waits.h"
#include "watchidx.h"

struct wait {
	struct watch w;		/* first: the index gives back &wt->w */
	struct conn *conn;
	uint64_t deadline;	/* CLOCK_MONOTONIC ns; 0: none */
	size_t hpos;		/* its slot in the heap, when deadline */
	bool woken;		/* on s->woken */
	struct wait *wnext;
};

/* ---- the deadline heap: s->wheap[0] is due first ---- */

static void heap_place(struct server *s, size_t i, struct wait *wt)
{
	s->wheap[i] = wt;
	wt->hpos = i;
}

static void heap_up(struct server *s, size_t i)
{
	struct wait *wt = s->wheap[i];

	while (i) {
		size_t p = (i - 1) / 2;

		if (s->wheap[p]->deadline <= wt->deadline)
			break;
		heap_place(s, i, s->wheap[p]);
		i = p;
	}
	heap_place(s, i, wt);
}

static void heap_down(struct server *s, size_t i)
{
	struct wait *wt = s->wheap[i];

	for (;;) {
		size_t ch = 2 * i + 1;

		if (ch >= s->nwheap)
			break;
		if (ch + 1 < s->nwheap &&
		    s->wheap[ch + 1]->deadline < s->wheap[ch]->deadline)
			ch++;
		if (s->wheap[ch]->deadline >= wt->deadline)
			break;
		heap_place(s, i, s->wheap[ch]);
		i = ch;
	}
	heap_place(s, i, wt);
}

/* Room for one more; -1 when out of memory. */
static int heap_reserve(struct server *s)
{
	size_t cap;
	struct wait **h;

	if (s->nwheap < s->wheap_cap)
		return 0;
	cap = s->wheap_cap ? s->wheap_cap * 2 : 64;
	h = realloc(s->wheap, cap * sizeof(*h));
	if (!h)
		return -1;
	s->wheap = h;
	s->wheap_cap = cap;
	return 0;
}

static void heap_del(struct server *s, struct wait *wt)
{
	size_t i = wt->hpos;
	struct wait *last = s->wheap[--s->nwheap];

	if (last == wt)
		return;
	heap_place(s, i, last);
	heap_up(s, i);
	heap_down(s, last->hpos);
}

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
	if ((deadline_ns && heap_reserve(s) < 0) ||
	    watchidx_add(&s->wait_idx, &wt->w) < 0) {
		watch_fini(&wt->w);
		free(wt);
		return OCT_ERR_NO_MEMORY;
	}
	wt->conn = c;
	wt->deadline = deadline_ns;
	if (deadline_ns) {
		heap_place(s, s->nwheap++, wt);
		heap_up(s, wt->hpos);
	}
	c->wait = wt;
	c->wstate = CONN_WAITING;
	return OCT_OK;
}

/* Takes wt out of everything and frees it; its connection runs again. */
static void wait_free(struct server *s, struct wait *wt)
{
	watchidx_del(&s->wait_idx, &wt->w);
	if (wt->deadline)
		heap_del(s, wt);
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

int waits_expire(struct server *s)
{
	uint64_t now = server_now_ns(), ms;

	while (s->nwheap && s->wheap[0]->deadline <= now) {
		struct wait *wt = s->wheap[0];

		mk_resp_w_null(&wt->conn->out);
		wait_end(s, wt);
	}
	if (!s->nwheap)
		return -1;
	ms = (s->wheap[0]->deadline - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

void waits_fini(struct server *s)
{
	free(s->wheap);
	s->wheap = NULL;
	s->nwheap = s->wheap_cap = 0;
	watchidx_fini(&s->wait_idx);
}
