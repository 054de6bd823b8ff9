// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk's event loop (<mk/loop.h>): bad arguments, fd readiness and
 * masking, timers (many, in random order, re-armed, cancelled and
 * destroyed from callbacks, the one running included; none early),
 * signals delivered through the loop, a channel member of a waitset woken
 * by a send from another thread (whichever transport libmk picks: the
 * fallback on a host without the module), members deleted inside
 * callbacks (also with the fd number reused in the same turn), the turn
 * hook, and poll-then-block: a message sent during the poll window is
 * taken without a blocking wait, one sent after it only after one.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mk/chan.h>
#include <mk/loop.h>
#include <mk/waitset.h>

#include "../lib/chan_test.h"

#define MS	1000000LL

/* ---- arguments ---- */

static void nop_fd(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	(void)l, (void)fd, (void)ev, (void)arg;
}

static void nop_timer(struct mk_loop *l, struct mk_loop_timer *t, void *arg)
{
	(void)l, (void)t, (void)arg;
}

static void nop_sig(struct mk_loop *l, const struct signalfd_siginfo *si, void *arg)
{
	(void)l, (void)si, (void)arg;
}

static void test_bad_args(void **state)
{
	struct mk_loop *l;
	struct mk_loop_timer *t;
	int p[2], closed;

	(void)state;
	assert_int_equal(mk_loop_create(NULL), -EINVAL);
	assert_int_equal(mk_loop_create(&l), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(mk_loop_add_fd(l, -1, MK_LOOP_IN, nop_fd, NULL), -EINVAL);
	assert_int_equal(mk_loop_add_fd(l, p[0], MK_LOOP_IN, NULL, NULL), -EINVAL);
	assert_int_equal(mk_loop_add_fd(l, p[0], 0x80000000u, nop_fd, NULL), -EINVAL);
	assert_int_equal(mk_loop_add_fd(l, p[0], MK_LOOP_IN, nop_fd, NULL), 0);
	assert_int_equal(mk_loop_add_fd(l, p[0], MK_LOOP_IN, nop_fd, NULL), -EEXIST);
	assert_int_equal(mk_loop_mod_fd(l, p[1], MK_LOOP_IN), -ENOENT);
	assert_int_equal(mk_loop_del_fd(l, p[1]), -ENOENT);
	closed = dup(p[0]);
	close(closed);
	assert_int_equal(mk_loop_add_fd(l, closed, MK_LOOP_IN, nop_fd, NULL), -EBADF);
	assert_int_equal(mk_loop_del_fd(l, p[0]), 0);
	assert_int_equal(mk_loop_del_fd(l, p[0]), -ENOENT);
	assert_int_equal(mk_loop_add_signal(l, SIGKILL, nop_sig, NULL), -EINVAL);
	assert_int_equal(mk_loop_add_signal(l, 0, nop_sig, NULL), -EINVAL);
	assert_int_equal(mk_loop_del_signal(l, SIGUSR2), -ENOENT);
	assert_int_equal(mk_loop_add_waitset(l, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(mk_loop_del_waitset(l, (struct mk_waitset *)l), -ENOENT);
	assert_int_equal(mk_loop_timer_create(l, NULL, NULL, &t), -EINVAL);
	assert_int_equal(mk_loop_timer_create(l, nop_timer, NULL, &t), 0);
	assert_int_equal(mk_loop_timer_arm(t, -1), -EINVAL);
	assert_false(mk_loop_timer_armed(t));
	assert_int_equal(mk_loop_timer_deadline(t), -1);
	/* Armed timers are the loop's to free. */
	assert_int_equal(mk_loop_timer_arm(t, 5), 0);
	assert_int_equal(mk_loop_timer_deadline(t), 5);
	mk_loop_destroy(l);
	mk_loop_destroy(NULL);
	mk_loop_timer_destroy(NULL);
	close(p[0]);
	close(p[1]);
}

/* ---- fds ---- */

struct fdlog {
	int calls;
	int fd;
	uint32_t ev;
};

static void log_fd(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	struct fdlog *g = arg;

	(void)l;
	g->calls++;
	g->fd = fd;
	g->ev = ev;
}

static void test_fd_readiness(void **state)
{
	struct mk_loop *l;
	struct fdlog r = { 0 }, w = { 0 };
	int p[2];
	char c;

	(void)state;
	assert_int_equal(mk_loop_create(&l), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(mk_loop_add_fd(l, p[0], MK_LOOP_IN, log_fd, &r), 0);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(r.calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, p[0]);
	assert_int_equal(r.ev, MK_LOOP_IN);
	/* Level-triggered: still readable. */
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(r.calls, 2);
	/* Not waited for: not reported. */
	assert_int_equal(mk_loop_mod_fd(l, p[0], 0), 0);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(r.calls, 2);
	assert_int_equal(mk_loop_mod_fd(l, p[0], MK_LOOP_IN), 0);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(r.calls, 2);
	/* The write end: writable; then its reader gone, an error. */
	assert_int_equal(mk_loop_add_fd(l, p[1], MK_LOOP_OUT, log_fd, &w), 0);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.ev, MK_LOOP_OUT);
	assert_int_equal(mk_loop_del_fd(l, p[0]), 0);
	close(p[0]);
	assert_int_equal(mk_loop_mod_fd(l, p[1], 0), 0);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(w.calls, 2);
	assert_true(w.ev & MK_LOOP_ERR);
	assert_int_equal(mk_loop_sleeps(l), 1);
	mk_loop_destroy(l);
	close(p[1]);
}

/* Two readable pipes; whichever callback runs first deletes both, closes
 * the other and makes a new pipe, likely on the other's fd number. */
struct reuse {
	struct mk_loop *l;
	int a, b;		/* read ends */
	int calls, new_calls;
	int newp[2];
};

static void reuse_new(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	struct reuse *u = arg;

	(void)l, (void)fd, (void)ev;
	u->new_calls++;
}

static void reuse_first(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	struct reuse *u = arg;
	int other = fd == u->a ? u->b : u->a;

	(void)ev;
	u->calls++;
	assert_int_equal(mk_loop_del_fd(l, fd), 0);
	assert_int_equal(mk_loop_del_fd(l, other), 0);
	close(other);
	assert_int_equal(pipe(u->newp), 0);
	assert_int_equal(write(u->newp[1], "y", 1), 1);
	assert_int_equal(mk_loop_add_fd(l, u->newp[0], MK_LOOP_IN, reuse_new, u), 0);
	if (other == u->a)
		u->a = -1;
	else
		u->b = -1;
}

static void test_delete_fds_in_callback(void **state)
{
	struct reuse u = { 0 };
	int pa[2], pb[2];

	(void)state;
	assert_int_equal(mk_loop_create(&u.l), 0);
	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	u.a = pa[0];
	u.b = pb[0];
	assert_int_equal(write(pa[1], "x", 1), 1);
	assert_int_equal(write(pb[1], "x", 1), 1);
	assert_int_equal(mk_loop_add_fd(u.l, u.a, MK_LOOP_IN, reuse_first, &u), 0);
	assert_int_equal(mk_loop_add_fd(u.l, u.b, MK_LOOP_IN, reuse_first, &u), 0);
	assert_int_equal(mk_loop_run_once(u.l, true), 0);
	/* Both were reported; the second event, maybe on the reused number,
	 * reached nobody. */
	assert_int_equal(u.calls, 1);
	assert_int_equal(u.new_calls, 0);
	assert_true(u.newp[0] == pa[0] || u.newp[0] == pb[0]);
	assert_int_equal(mk_loop_run_once(u.l, true), 0);
	assert_int_equal(u.new_calls, 1);
	mk_loop_destroy(u.l);
	close(u.a >= 0 ? u.a : u.b);
	close(u.newp[0]);
	close(u.newp[1]);
	close(pa[1]);
	close(pb[1]);
}

/* ---- timers ---- */

#define NT	2000

struct tlog {
	struct mk_loop_timer *t[NT];
	int64_t deadline[NT];
	uint64_t order[NT];	/* arm order among equal deadlines */
	bool cancelled[NT];
	int fired[NT];
	int seq[NT];
	int nfired;
};

static struct tlog *tl;

static void t_fire(struct mk_loop *l, struct mk_loop_timer *t, void *arg)
{
	int i = (int)(intptr_t)arg;
	int victim = (int)((i * 7919L) % NT);

	(void)l;
	assert_ptr_equal(t, tl->t[i]);
	assert_false(mk_loop_timer_armed(t));
	tl->fired[i]++;
	tl->seq[tl->nfired++] = i;
	/* Cancel one that has not fired, or destroy this one. */
	if (i % 5 == 0) {
		mk_loop_timer_destroy(t);
		tl->t[i] = NULL;
	} else if (i % 3 == 0 && tl->t[victim] && mk_loop_timer_armed(tl->t[victim])) {
		mk_loop_timer_cancel(tl->t[victim]);
		tl->cancelled[victim] = true;
	}
}

static void test_timer_order(void **state)
{
	struct mk_loop *l;
	uint64_t arm = 0;

	(void)state;
	tl = calloc(1, sizeof(*tl));
	assert_non_null(tl);
	srand(12345);
	assert_int_equal(mk_loop_create(&l), 0);
	for (int i = 0; i < NT; i++) {
		assert_int_equal(mk_loop_timer_create(l, t_fire, (void *)(intptr_t)i,
						      &tl->t[i]), 0);
		/* Past deadlines, many equal: one turn runs them all. */
		tl->deadline[i] = 1 + rand() % 300;
		assert_int_equal(mk_loop_timer_arm(tl->t[i], tl->deadline[i]), 0);
		tl->order[i] = ++arm;
	}
	/* Re-arm a random third, cancel a random tenth, before running. */
	for (int k = 0; k < NT / 3; k++) {
		int i = rand() % NT;

		tl->deadline[i] = 1 + rand() % 300;
		assert_int_equal(mk_loop_timer_arm(tl->t[i], tl->deadline[i]), 0);
		tl->order[i] = ++arm;
		tl->cancelled[i] = false;
	}
	for (int k = 0; k < NT / 10; k++) {
		int i = rand() % NT;

		mk_loop_timer_cancel(tl->t[i]);
		tl->cancelled[i] = true;
	}
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(mk_loop_sleeps(l), 0);
	for (int i = 0; i < NT; i++)
		assert_int_equal(tl->fired[i], tl->cancelled[i] ? 0 : 1);
	for (int k = 1; k < tl->nfired; k++) {
		int a = tl->seq[k - 1], b = tl->seq[k];

		assert_true(tl->deadline[a] < tl->deadline[b] ||
			    (tl->deadline[a] == tl->deadline[b] &&
			     tl->order[a] < tl->order[b]));
	}
	assert_true(tl->nfired > NT / 2);
	mk_loop_destroy(l);
	free(tl);
	tl = NULL;
}

struct periodic {
	int64_t deadline;
	int fired;
	int64_t late;		/* the earliest firing's now - deadline */
};

static void p_fire(struct mk_loop *l, struct mk_loop_timer *t, void *arg)
{
	struct periodic *p = arg;
	int64_t now = mk_loop_now_ns();

	(void)l;
	if (p->fired == 0 || now - p->deadline < p->late)
		p->late = now - p->deadline;
	p->fired++;
	if (p->fired < 3) {
		/* Re-armed for "now": runs on a later turn, not in this one. */
		p->deadline = now;
		assert_int_equal(mk_loop_timer_arm(t, now), 0);
	} else {
		mk_loop_stop(l);
	}
}

static void test_timer_blocks_and_rearms(void **state)
{
	struct mk_loop *l;
	struct mk_loop_timer *t;
	struct periodic p = { 0 };
	uint64_t slept;

	(void)state;
	assert_int_equal(mk_loop_create(&l), 0);
	assert_int_equal(mk_loop_timer_create(l, p_fire, &p, &t), 0);
	p.deadline = mk_loop_now_ns() + 30 * MS;
	assert_int_equal(mk_loop_timer_arm(t, p.deadline), 0);
	while (!p.fired)
		assert_int_equal(mk_loop_run_once(l, true), 0);
	/* The wait slept until the deadline, not before it. */
	assert_int_equal(p.fired, 1);
	assert_true(p.late >= 0);
	slept = mk_loop_sleeps(l);
	assert_true(slept >= 1);
	/* Re-armed for the past: the next turns do not block. */
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(p.fired, 2);
	assert_int_equal(mk_loop_run(l), 0);
	assert_int_equal(p.fired, 3);
	assert_false(mk_loop_timer_armed(t));
	assert_int_equal(mk_loop_sleeps(l), slept);
	mk_loop_timer_destroy(t);
	mk_loop_destroy(l);
}

/* ---- signals ---- */

struct siglog {
	int calls;
	int signo;
};

static void log_sig(struct mk_loop *l, const struct signalfd_siginfo *si, void *arg)
{
	struct siglog *g = arg;

	g->calls++;
	g->signo = (int)si->ssi_signo;
	/* Deleting itself from its handler. */
	if (g->calls == 2)
		assert_int_equal(mk_loop_del_signal(l, SIGUSR1), 0);
}

static void *kill_later(void *arg)
{
	pid_t pid = *(pid_t *)arg;

	usleep(20000);
	kill(pid, SIGUSR1);
	return NULL;
}

static void test_signal(void **state)
{
	struct mk_loop *l;
	struct siglog g = { 0 };
	sigset_t cur;
	pthread_t th;
	pid_t pid = getpid();

	(void)state;
	assert_int_equal(mk_loop_create(&l), 0);
	assert_int_equal(mk_loop_add_signal(l, SIGUSR1, log_sig, &g), 0);
	assert_int_equal(mk_loop_add_signal(l, SIGUSR1, log_sig, &g), -EEXIST);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	assert_int_equal(sigismember(&cur, SIGUSR1), 1);
	/* Raised here: pending, then read from the signalfd in the turn. */
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.signo, SIGUSR1);
	/* From another thread to the process, while the loop sleeps. */
	assert_int_equal(pthread_create(&th, NULL, kill_later, &pid), 0);
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(g.calls, 2);
	/* The handler deleted it: unblocked again. */
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	assert_int_equal(sigismember(&cur, SIGUSR1), 0);
	assert_int_equal(mk_loop_del_signal(l, SIGUSR1), -ENOENT);
	/* One blocked before stays blocked after. */
	sigemptyset(&cur);
	sigaddset(&cur, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &cur, NULL), 0);
	assert_int_equal(mk_loop_add_signal(l, SIGUSR2, nop_sig, NULL), 0);
	mk_loop_destroy(l);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	assert_int_equal(sigismember(&cur, SIGUSR2), 1);
	sigemptyset(&cur);
	sigaddset(&cur, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &cur, NULL), 0);
}

/* ---- channels ---- */

struct job {
	uint64_t alias, cap;
	int ret;
	struct mk_chan *ch;
	atomic_bool done;
};

static void *connect_thread(void *arg)
{
	struct job *j = arg;

	j->ret = mk_chan_connect_alias(&j->ch, j->alias, j->cap, 8, 5000 * 1000000LL);
	atomic_store(&j->done, true);
	return NULL;
}

static void make_pair(struct mk_mbox **mbp, struct mk_chan **cli, struct mk_chan **srv)
{
	const char *name = uniq_name("pair");
	struct job j = { 0 };
	struct mk_chan *s = NULL, *tmp;
	struct mk_mbox *mb;
	pthread_t t;
	int ret;

	assert_int_equal(named_mbox(&mb, name, &j.cap), 0);
	j.alias = mk_name_hash(name);
	assert_int_equal(pthread_create(&t, NULL, connect_thread, &j), 0);
	while (!atomic_load(&j.done)) {
		ret = mk_mbox_accept(mb, &tmp, 10 * 1000000LL);
		if (!ret)
			s = tmp;
		else
			assert_int_equal(ret, -ETIMEDOUT);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, 0);
	if (!s)
		assert_int_equal(mk_mbox_accept(mb, &s, 5000 * 1000000LL), 0);
	*mbp = mb;
	*cli = j.ch;
	*srv = s;
}

struct chanlog {
	struct mk_loop *l;
	int msgs;
	char last[64];
	bool del_self;		/* delete the waitset on the first channel */
	struct mk_waitset *ws;
	int calls;
};

static void take(struct mk_loop *l, struct mk_waitset *ws, struct mk_chan *ch,
		 unsigned int events, void *arg)
{
	struct chanlog *g = arg;
	size_t len;

	(void)ws;
	g->calls++;
	assert_true(events & MK_WAITSET_RECV);
	while (mk_chan_try_recv(ch, g->last, sizeof(g->last) - 1, &len) == 0) {
		g->last[len] = '\0';
		g->msgs++;
		mk_loop_stop(l);
	}
	if (g->del_self)
		assert_int_equal(mk_loop_del_waitset(l, g->ws), 0);
}

struct sender {
	struct mk_chan *ch;
	int delay_us;
	atomic_int sent;
};

static void *send_later(void *arg)
{
	struct sender *s = arg;

	usleep((useconds_t)s->delay_us);
	assert_int_equal(mk_chan_send(s->ch, "hello", 5, -1), 0);
	atomic_store(&s->sent, 1);
	return NULL;
}

static void test_chan_member(void **state)
{
	struct mk_mbox *mb;
	struct mk_chan *cli, *srv;
	struct mk_waitset *ws;
	struct mk_loop *l;
	struct chanlog g = { 0 };
	struct sender s = { .delay_us = 50000 };
	pthread_t th;

	(void)state;
	make_pair(&mb, &cli, &srv);
	assert_int_equal(mk_waitset_create(&ws), 0);
	assert_int_equal(mk_waitset_add(ws, srv), 0);
	assert_int_equal(mk_loop_create(&l), 0);
	assert_int_equal(mk_loop_add_waitset(l, ws, take, &g), 0);
	assert_int_equal(mk_loop_add_waitset(l, ws, take, &g), -EEXIST);
	/* A message queued before the loop ever looked. */
	assert_int_equal(mk_chan_send(cli, "early", 5, -1), 0);
	assert_int_equal(mk_loop_run(l), 0);
	assert_int_equal(g.msgs, 1);
	assert_string_equal(g.last, "early");
	/* Now the loop blocks (no poll window), and a thread sends. */
	s.ch = cli;
	assert_int_equal(pthread_create(&th, NULL, send_later, &s), 0);
	assert_int_equal(mk_loop_run(l), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(g.msgs, 2);
	assert_string_equal(g.last, "hello");
	assert_true(mk_loop_sleeps(l) >= 1);
	assert_int_equal(mk_loop_del_waitset(l, ws), 0);
	assert_int_equal(mk_loop_del_waitset(l, ws), -ENOENT);
	mk_loop_destroy(l);
	mk_waitset_destroy(ws);
	mk_chan_close(cli);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

/* Two channels with a message each; the callback deletes the waitset on
 * the first: no second call, in this turn or a later one. */
static void test_delete_waitset_in_callback(void **state)
{
	struct mk_mbox *mb1, *mb2;
	struct mk_chan *c1, *s1, *c2, *s2;
	struct mk_waitset *ws;
	struct mk_loop *l;
	struct chanlog g = { .del_self = true };

	(void)state;
	make_pair(&mb1, &c1, &s1);
	make_pair(&mb2, &c2, &s2);
	assert_int_equal(mk_waitset_create(&ws), 0);
	assert_int_equal(mk_waitset_add(ws, s1), 0);
	assert_int_equal(mk_waitset_add(ws, s2), 0);
	assert_int_equal(mk_loop_create(&l), 0);
	g.ws = ws;
	assert_int_equal(mk_loop_add_waitset(l, ws, take, &g), 0);
	assert_int_equal(mk_chan_send(c1, "a", 1, -1), 0);
	assert_int_equal(mk_chan_send(c2, "b", 1, -1), 0);
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(mk_loop_del_waitset(l, ws), -ENOENT);
	mk_loop_destroy(l);
	mk_waitset_destroy(ws);
	mk_chan_close(c1);
	mk_chan_close(s1);
	mk_chan_close(c2);
	mk_chan_close(s2);
	mk_mbox_close(mb1);
	mk_mbox_close(mb2);
}

/*
 * Poll-then-block: a pipe event opens the poll window; a message sent 20
 * ms later, inside a window of 2 s, is taken by turns that never block.
 * With no window the same message is taken after one blocking wait.
 */
static void poll_case(int64_t poll_ns, bool sleeps)
{
	struct mk_mbox *mb;
	struct mk_chan *cli, *srv;
	struct mk_waitset *ws;
	struct mk_loop *l;
	struct chanlog g = { 0 };
	struct sender s = { .delay_us = 20000 };
	struct fdlog r = { 0 };
	pthread_t th;
	int p[2];
	char c;

	make_pair(&mb, &cli, &srv);
	assert_int_equal(mk_waitset_create(&ws), 0);
	assert_int_equal(mk_waitset_add(ws, srv), 0);
	assert_int_equal(mk_loop_create(&l), 0);
	mk_loop_set_poll_ns(l, poll_ns);
	assert_int_equal(mk_loop_add_waitset(l, ws, take, &g), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(mk_loop_add_fd(l, p[0], MK_LOOP_IN, log_fd, &r), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	s.ch = cli;
	assert_int_equal(pthread_create(&th, NULL, send_later, &s), 0);
	assert_int_equal(mk_loop_run(l), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(g.msgs, 1);
	if (sleeps)
		assert_true(mk_loop_sleeps(l) >= 1);
	else
		assert_int_equal(mk_loop_sleeps(l), 0);
	mk_loop_destroy(l);
	mk_waitset_destroy(ws);
	mk_chan_close(cli);
	mk_chan_close(srv);
	mk_mbox_close(mb);
	close(p[0]);
	close(p[1]);
}

static void test_poll_then_block(void **state)
{
	(void)state;
	poll_case(2000 * MS, false);
	poll_case(0, true);
}

/* ---- the turn hook ---- */

static int hook_once(struct mk_loop *l, void *arg)
{
	int *n = arg;

	(void)l;
	return ++*n == 1;
}

static void test_turn_hook(void **state)
{
	struct mk_loop *l;
	struct mk_loop_timer *t;
	int n = 0;

	(void)state;
	assert_int_equal(mk_loop_create(&l), 0);
	mk_loop_set_turn_hook(l, hook_once, &n);
	assert_int_equal(mk_loop_run_once(l, false), 0);
	assert_int_equal(n, 1);
	/* It asked for more: this wait does not block (it would for ever). */
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(n, 2);
	assert_int_equal(mk_loop_sleeps(l), 0);
	/* Now it blocks, until a timer. */
	assert_int_equal(mk_loop_timer_create(l, nop_timer, NULL, &t), 0);
	assert_int_equal(mk_loop_timer_arm(t, mk_loop_now_ns() + 5 * MS), 0);
	assert_int_equal(mk_loop_run_once(l, true), 0);
	assert_int_equal(n, 3);
	assert_int_equal(mk_loop_sleeps(l), 1);
	mk_loop_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_fd_readiness),
		cmocka_unit_test(test_delete_fds_in_callback),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_blocks_and_rearms),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_chan_member),
		cmocka_unit_test(test_delete_waitset_in_callback),
		cmocka_unit_test(test_poll_then_block),
		cmocka_unit_test(test_turn_hook),
	};

	chan_test_setup("test_loop");
	return cmocka_run_group_tests_name("libmk_loop", tests, NULL, NULL);
}
