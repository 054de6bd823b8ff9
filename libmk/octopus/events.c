// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk's Octopus client: push events (triggers, publications), queued as
 * they are read, whether a call was waiting for its reply or not, and
 * delivered later to their target: a handler (mk_oct_dispatch), the
 * application's queue (mk_oct_next_event) or a recipe's own wait.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mk/ring.h>

#include "client_impl.h"
#include "../internal.h"

void oct_internal_handler(struct mk_oct *c, const struct mk_oct_event *ev, void *state)
{
	(void)c;
	(void)ev;
	(void)state;
}

int64_t oct_deadline(int64_t timeout_ns)
{
	int64_t now = (int64_t)mk_mono_ns();

	if (timeout_ns < 0 || timeout_ns > INT64_MAX - now)
		return -1;
	return now + timeout_ns;
}

int64_t oct_ns_left(int64_t deadline_ns)
{
	int64_t now;

	if (deadline_ns < 0)
		return -1;
	now = (int64_t)mk_mono_ns();
	return now >= deadline_ns ? 0 : deadline_ns - now;
}

static void q_push(struct oct_queue *q, struct oct_pend *p)
{
	p->next = NULL;
	if (!q->head)
		q->tail = &q->head;
	*q->tail = p;
	q->tail = &p->next;
}

static struct oct_pend *q_pop(struct oct_queue *q)
{
	struct oct_pend *p = q->head;

	if (p) {
		q->head = p->next;
		if (!q->head)
			q->tail = &q->head;
	}
	return p;
}

static void pend_free(struct oct_pend *p)
{
	if (p) {
		free(p->rec);
		free(p);
	}
}

static void q_free(struct oct_queue *q)
{
	struct oct_pend *p;

	while ((p = q_pop(q)))
		pend_free(p);
}

void oct_free_events(struct mk_oct *c)
{
	q_free(&c->handled);
	q_free(&c->queued);
	q_free(&c->internal);
	pend_free(c->returned);
	c->returned = NULL;
	free(c->regs);
	c->regs = NULL;
	c->nregs = c->regcap = 0;
}

int oct_register(struct mk_oct *c, uint64_t id, bool sub, struct mk_oct_target target)
{
	if (c->nregs == c->regcap) {
		size_t ncap = c->regcap ? c->regcap * 2 : 8;
		struct oct_reg *nr = realloc(c->regs, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		c->regs = nr;
		c->regcap = ncap;
	}
	c->regs[c->nregs++] = (struct oct_reg){ id, sub, target };
	return 0;
}

static struct oct_reg *reg_find(struct mk_oct *c, uint64_t id, bool sub)
{
	for (size_t i = 0; i < c->nregs; i++)
		if (c->regs[i].id == id && c->regs[i].sub == sub)
			return &c->regs[i];
	return NULL;
}

void oct_unregister(struct mk_oct *c, uint64_t id, bool sub)
{
	struct oct_reg *r = reg_find(c, id, sub);

	if (r)
		*r = c->regs[--c->nregs];
}

static bool str_is(const struct mk_resp_value *v, const char *s)
{
	return (v->type == MK_RESP_BULK || v->type == MK_RESP_SIMPLE) &&
	       v->len == strlen(s) && !memcmp(v->str, s, v->len);
}

/*
 * oct.trigger ID REMOVED | oct.trigger ID MODE RECORD [REMOVED] |
 * oct.publish ID RECORD, copied off the reader and queued for its target;
 * an event nobody is registered for any more (an unsubscribed id) and
 * pushes of other kinds are dropped.
 */
static int queue_push(struct mk_oct *c, const struct mk_resp_value *v)
{
	const struct mk_resp_value *e = v->elems;
	struct mk_oct_event ev = { .last = false };
	const struct mk_resp_value *rec = NULL;
	struct oct_pend *p;
	struct oct_reg *r;
	bool sub;

	if (v->n < 3 || e[1].type != MK_RESP_INTEGER)
		return 0;
	ev.id = (uint64_t)e[1].integer;
	if (str_is(&e[0], "oct.publish") && v->n == 3) {
		sub = true;
		ev.type = MK_OCT_EV_PUBLISH;
		rec = &e[2];
	} else if (str_is(&e[0], "oct.trigger")) {
		sub = false;
		if (v->n == 3 && str_is(&e[2], "REMOVED")) {
			ev.type = MK_OCT_EV_REMOVED;
			ev.last = true;
		} else if (v->n == 4 || (v->n == 5 && str_is(&e[4], "REMOVED"))) {
			if (str_is(&e[2], "ON_SET"))
				ev.type = MK_OCT_EV_SET;
			else if (str_is(&e[2], "ON_DEL"))
				ev.type = MK_OCT_EV_DEL;
			else
				return -EPROTO;
			rec = &e[3];
			ev.last = v->n == 5;
		} else {
			return -EPROTO;
		}
	} else {
		return 0;
	}
	if (rec && rec->type != MK_RESP_BULK && rec->type != MK_RESP_SIMPLE)
		return -EPROTO;
	r = reg_find(c, ev.id, sub);
	if (!r)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (rec) {
		p->rec = strndup(rec->str, rec->len);
		if (!p->rec) {
			free(p);
			return -ENOMEM;
		}
	}
	p->ev = ev;
	p->ev.record = p->rec;
	p->target = r->target;
	if (ev.last)
		oct_unregister(c, ev.id, sub);
	if (p->target.fn == oct_internal_handler)
		q_push(&c->internal, p);
	else if (p->target.fn)
		q_push(&c->handled, p);
	else
		q_push(&c->queued, p);
	return 0;
}

int octc_parse(struct mk_oct *c, const struct mk_resp_value **reply)
{
	const struct mk_resp_value *v;
	int ret;

	for (;;) {
		ret = mk_resp_reader_next(c->in, &v);
		if (ret < 0)
			return ret == -ENOMEM ? -ENOMEM : -EPROTO;
		if (ret == 0)
			return 0;
		if (v->type != MK_RESP_PUSH) {
			if (!reply)
				return -EPROTO;	/* a reply to nothing asked */
			*reply = v;
			return 1;
		}
		ret = queue_push(c, v);
		if (ret)
			return ret;
	}
}

/*
 * Poll, then block (DESIGN.md §4, as channels do): octopusd answers within
 * a few microseconds while it polls, and a client asleep in read(2) costs
 * the daemon's write a cross-core wake-up and the client the way back; so
 * look without blocking first. For how long: a channel's receiver spins
 * for the cost of blocking (P ~ C, mk_spin_default_ns()), but a reply is
 * not a message that may never come: it comes after the daemon's service
 * time, which on this host is 1-3x the cost of blocking. So the budget is
 * twice the time short waits have taken lately (a moving average of those
 * that ended within MK_SPIN_MAX_NS; longer ones, such as waits for
 * events, leave it alone), at least the cost of blocking and at most
 * MK_SPIN_MAX_NS (unless $MK_CHAN_SPIN_NS asks for more), and never
 * longer than the caller's timeout, which the spin's time comes off. With
 * the cost of blocking alone, a lock round trip took 40 us here against
 * 24 us.
 */
static uint64_t spin_budget(const struct mk_oct *c, int64_t timeout_ns)
{
	uint64_t b = c->reply_ns > MK_SPIN_MAX_NS ? MK_SPIN_MAX_NS : 2 * c->reply_ns;

	if (!c->spin_ns || !timeout_ns)
		return 0;
	if (b > MK_SPIN_MAX_NS)
		b = MK_SPIN_MAX_NS;
	/* The cost of blocking, or $MK_CHAN_SPIN_NS, even above the cap. */
	if (b < c->spin_ns)
		b = c->spin_ns;
	/* Never past the caller's timeout (a budget from the environment can be). */
	if (timeout_ns > 0 && b > (uint64_t)timeout_ns)
		b = (uint64_t)timeout_ns;
	return b;
}

static void waited(struct mk_oct *c, uint64_t ns)
{
	if (ns < MK_SPIN_MAX_NS)
		c->reply_ns = c->reply_ns - c->reply_ns / 8 + ns / 8;
}

/* 1 with bytes, 0 when @budget ran out, -errno. */
static int spin_read(struct mk_oct *c, uint64_t start, uint64_t budget)
{
	do {
		size_t avail;
		void *p = mk_resp_reader_space(c->in, 4096, &avail);
		ssize_t n;

		if (!p)
			return -ENOMEM;
		n = recv(c->fd, p, avail, MSG_DONTWAIT);
		if (n > 0) {
			mk_resp_reader_commit(c->in, (size_t)n);
			return 1;
		}
		if (n == 0)
			return -EPIPE;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		mk_cpu_relax();
	} while (mk_mono_ns() - start < budget);
	return 0;
}

int oct_read_more(struct mk_oct *c, int64_t timeout_ns)
{
	uint64_t start = 0, budget = spin_budget(c, timeout_ns), spun;
	ssize_t n;

	if (budget) {
		int r;

		start = mk_mono_ns();
		r = spin_read(c, start, budget);
		spun = mk_mono_ns() - start;
		if (r > 0)
			waited(c, spun);
		if (r)
			return r;
		/* What the spin took comes off the timeout. */
		if (timeout_ns > 0)
			timeout_ns = (uint64_t)timeout_ns > spun ? timeout_ns - (int64_t)spun : 0;
	}
	if (timeout_ns >= 0) {
		/* ppoll: the timeout to the nanosecond, none rounded to 0 ms. */
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		struct timespec ts = {
			.tv_sec = (time_t)(timeout_ns / 1000000000),
			.tv_nsec = (long)(timeout_ns % 1000000000),
		};
		int r = ppoll(&pfd, 1, &ts, NULL);

		if (r < 0)
			return errno == EINTR ? 0 : -errno;
		if (r == 0)
			return 0;
	}
	n = mk_resp_reader_read_fd(c->in, c->fd);
	if (n == 0)
		return -EPIPE;
	if (n < 0)
		return n == -EINTR ? 0 : (int)n;
	if (budget)
		waited(c, mk_mono_ns() - start);
	return 1;
}

int mk_oct_fd(const struct mk_oct *c)
{
	return c ? c->fd : -EINVAL;
}

bool mk_oct_pending(struct mk_oct *c)
{
	if (!c)
		return false;
	/* A broken frame: true, so that the caller's dispatch reports it. */
	if (octc_parse(c, NULL) < 0)
		return true;
	return c->handled.head || c->queued.head;
}

/*
 * The wait of the event calls: parse what came and let @take look (> 0:
 * done, with that result); else read more, until @timeout_ns (< 0: no
 * limit), with one look at the socket even when it has run out.
 */
static int wait_until(struct mk_oct *c, int64_t timeout_ns,
		      int (*take)(struct mk_oct *c, void *arg), void *arg)
{
	int64_t deadline = oct_deadline(timeout_ns), left;
	bool last = false;
	int ret;

	for (;;) {
		ret = octc_parse(c, NULL);
		if (ret < 0)
			return ret;
		ret = take(c, arg);
		if (ret)
			return ret;
		if (last)
			return 0;
		left = oct_ns_left(deadline);
		last = left == 0;
		ret = oct_read_more(c, left);
		if (ret < 0)
			return ret;
	}
}

/* Runs the handlers of what came: how many ran. */
static int run_handled(struct mk_oct *c, void *arg)
{
	struct oct_pend *p;
	int n;

	(void)arg;
	/* A handler's own calls may queue more: those run too. */
	for (n = 0; (p = q_pop(&c->handled)); n++) {
		p->target.fn(c, &p->ev, p->target.state);
		pend_free(p);
	}
	return n;
}

int mk_oct_dispatch(struct mk_oct *c, int64_t timeout_ns)
{
	if (!c)
		return -EINVAL;
	return wait_until(c, timeout_ns, run_handled, NULL);
}

/* The next queued event into *@arg, kept in c->returned until the next call. */
static int take_queued(struct mk_oct *c, void *arg)
{
	struct mk_oct_event *ev = arg;

	c->returned = q_pop(&c->queued);
	if (!c->returned)
		return 0;
	*ev = c->returned->ev;
	return 1;
}

int mk_oct_next_event(struct mk_oct *c, int64_t timeout_ns, struct mk_oct_event *ev)
{
	if (!c || !ev)
		return -EINVAL;
	pend_free(c->returned);
	c->returned = NULL;
	return wait_until(c, timeout_ns, take_queued, ev);
}

/* Takes the first internal event of trigger *@arg off the queue, if any. */
static int take_internal(struct mk_oct *c, void *arg)
{
	uint64_t tid = *(const uint64_t *)arg;

	for (struct oct_pend **pp = &c->internal.head; *pp; pp = &(*pp)->next) {
		struct oct_pend *p = *pp;

		if (p->ev.id != tid || p->ev.type == MK_OCT_EV_PUBLISH)
			continue;
		*pp = p->next;
		if (!*pp)
			c->internal.tail = pp;
		pend_free(p);
		return 1;
	}
	return 0;
}

int oct_wait_event(struct mk_oct *c, uint64_t tid, int64_t timeout_ns)
{
	return wait_until(c, timeout_ns, take_internal, &tid);
}

int oct_drop_trigger(struct mk_oct *c, uint64_t tid)
{
	int ret = mk_oct_rmtrigger(c, tid);

	/* Fired already: its event came before the reply; drop it. */
	while (take_internal(c, &tid))
		;
	if (ret != -ESRCH)
		return ret;
	oct_clear_error(c);
	return 0;
}

static int id_reply(struct mk_oct *c, const char *const *argv, size_t argc, uint64_t *id)
{
	const struct mk_resp_value *v;
	int ret = oct_resp3(c);

	if (!ret)
		ret = oct_call(c, &v, argc, argv);
	if (ret)
		return ret;
	if (v->type != MK_RESP_INTEGER || v->integer <= 0)
		return -EPROTO;
	*id = (uint64_t)v->integer;
	return 0;
}

int mk_oct_watch(struct mk_oct *c, const char *query, const struct mk_oct_trigger *t,
		 uint64_t *tid)
{
	const char *argv[] = { "OCT.WATCH", query, NULL, "PERSIST" };
	int ret;

	if (!c || !query || !t || !tid || !oct_mode_arg(t->mode))
		return -EINVAL;
	argv[2] = oct_mode_arg(t->mode);
	ret = id_reply(c, argv, t->persist.persist ? 4 : 3, tid);
	return ret ? ret : oct_register(c, *tid, false, t->target);
}

/*
 * @cmd (OCT.UNWATCH / OCT.UNSUBSCRIBE) @id; our registration goes too,
 * also when the server no longer knew the id (a persistent trigger's
 * REMOVED event unregistered it already).
 */
static int remove_id(struct mk_oct *c, const char *cmd, uint64_t id, bool sub)
{
	char num[24];
	const char *argv[] = { cmd, num };
	const struct mk_resp_value *v;
	int ret;

	if (!c)
		return -EINVAL;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
	ret = oct_call(c, &v, 2, argv);
	if (!ret && v->type != MK_RESP_SIMPLE)
		ret = -EPROTO;
	if (ret == 0 || ret == -ESRCH)
		oct_unregister(c, id, sub);
	return ret;
}

int mk_oct_rmtrigger(struct mk_oct *c, uint64_t tid)
{
	return remove_id(c, "OCT.UNWATCH", tid, false);
}

int mk_oct_subscribe(struct mk_oct *c, const char *query, struct mk_oct_target target,
		     uint64_t *sid)
{
	const char *argv[] = { "OCT.SUBSCRIBE", query };
	int ret;

	if (!c || !query || !sid)
		return -EINVAL;
	ret = id_reply(c, argv, 2, sid);
	return ret ? ret : oct_register(c, *sid, true, target);
}

int mk_oct_unsubscribe(struct mk_oct *c, uint64_t sid)
{
	return remove_id(c, "OCT.UNSUBSCRIBE", sid, true);
}

int mk_oct_publish(struct mk_oct *c, const char *record, size_t *delivered)
{
	const char *argv[] = { "OCT.PUBLISH", record };
	const struct mk_resp_value *v;
	int ret;

	if (!c || !record)
		return -EINVAL;
	ret = oct_call(c, &v, 2, argv);
	if (ret)
		return ret;
	if (v->type != MK_RESP_INTEGER || v->integer < 0)
		return -EPROTO;
	if (delivered)
		*delivered = (size_t)v->integer;
	return 0;
}
