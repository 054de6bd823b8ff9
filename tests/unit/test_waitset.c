// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk waitsets (<mk/waitset.h>) over whichever transport libmk picks
 * ($MK_CHAN_TRANSPORT forces one): bad arguments and timeouts, round-robin
 * among ready members, the fd and mk_waitset_arm(), many channels from
 * forked senders (every message once, in order per channel), a ping-pong
 * with no spinning anywhere (a lost wake-up shows as a timeout), the fd in
 * the test's own epoll loop beside a pipe, peers that close or are
 * killed, removing a member while its peer still sends, (module
 * transport only) a set mixing both transports; and waiting for room to
 * send (MK_WAITSET_SEND): bad events, a full small ring drained later, a
 * member waiting both ways, channels that end, the fd and arm, a sender
 * serving receivers through the waitset alone against a time bound, the
 * futex words fallback members take, and the first fallback member added
 * to a set armed without any (the helper thread starts then).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
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
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mk/chan.h>
#include <mk/mkchan.h>
#include <mk/ring.h>
#include <mk/waitset.h>

#include "../lib/chan_test.h"

#define SEC		1000000000LL
#define MSEC		1000000LL
#define MS		1000000LL
#define NCH		16


/* --- in-process pairs --- */

struct job {
	uint64_t alias, cap;
	unsigned int slots;
	int ret;
	struct mk_chan *ch;
	atomic_bool done;
};

static void *connect_thread(void *arg)
{
	struct job *j = arg;

	j->ret = mk_chan_connect_alias(&j->ch, j->alias, j->cap, j->slots ? j->slots : 8,
				       5 * SEC);
	atomic_store(&j->done, true);
	return NULL;
}

/* A channel of @slots slots to mailbox @mb (name @alias, capability @cap). */
static void connect_slots(struct mk_mbox *mb, uint64_t alias, uint64_t cap,
			  unsigned int slots, struct mk_chan **cli, struct mk_chan **srv)
{
	struct job j = { .alias = alias, .cap = cap, .slots = slots };
	struct mk_chan *s = NULL, *tmp;
	pthread_t t;
	int ret;

	assert_int_equal(pthread_create(&t, NULL, connect_thread, &j), 0);
	while (!atomic_load(&j.done)) {
		ret = mk_mbox_accept(mb, &tmp, 10 * MSEC);
		if (!ret)
			s = tmp;
		else
			assert_int_equal(ret, -ETIMEDOUT);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, 0);
	if (!s)
		assert_int_equal(mk_mbox_accept(mb, &s, 5 * SEC), 0);
	*cli = j.ch;
	*srv = s;
}

/* Closes @n pairs of channels and frees the two arrays. */
static void close_pairs(struct mk_chan **cli, struct mk_chan **srv, int n)
{
	for (int i = 0; i < n; i++) {
		mk_chan_close(cli[i]);
		mk_chan_close(srv[i]);
	}
	free(cli);
	free(srv);
}

static void connect_to(struct mk_mbox *mb, uint64_t alias, uint64_t cap,
		       struct mk_chan **cli, struct mk_chan **srv)
{
	connect_slots(mb, alias, cap, 8, cli, srv);
}

/* A channel of @slots slots to a fresh mailbox: the client end and the mailbox's end. */
static void make_pair_slots(struct mk_mbox **mbp, unsigned int slots, struct mk_chan **cli,
			    struct mk_chan **srv)
{
	const char *name = uniq_name("pair");
	struct mk_mbox *mb;
	uint64_t cap;

	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	connect_slots(mb, mk_name_hash(name), cap, slots, cli, srv);
	*mbp = mb;
}

static void make_pair(struct mk_mbox **mbp, struct mk_chan **cli, struct mk_chan **srv)
{
	make_pair_slots(mbp, 8, cli, srv);
}

static void free_pair(struct mk_mbox *mb, struct mk_chan *cli, struct mk_chan *srv)
{
	mk_chan_close(cli);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

static int fd_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0 && (p.revents & POLLIN);
}

static void test_bad_args(void **state)
{
	struct mk_waitset *ws, *ws2;
	struct mk_chan *cli, *srv, *got;
	struct mk_mbox *mb;

	(void)state;
	assert_int_equal(mk_waitset_create(NULL), -EINVAL);
	assert_int_equal(mk_waitset_create(&ws), 0);
	assert_int_equal(mk_waitset_create(&ws2), 0);
	make_pair(&mb, &cli, &srv);

	assert_int_equal(mk_waitset_add(NULL, srv), -EINVAL);
	assert_int_equal(mk_waitset_add(ws, NULL), -EINVAL);
	assert_int_equal(mk_waitset_remove(NULL, srv), -EINVAL);
	assert_int_equal(mk_waitset_remove(ws, NULL), -EINVAL);
	assert_int_equal(mk_waitset_remove(ws, srv), -ENOENT);
	assert_int_equal(mk_waitset_wait(NULL, &got, 0), -EINVAL);
	assert_int_equal(mk_waitset_wait(ws, NULL, 0), -EINVAL);
	assert_int_equal(mk_waitset_arm(NULL), -EINVAL);
	assert_int_equal(mk_waitset_fd(NULL), -EINVAL);
	assert_true(mk_waitset_fd(ws) >= 0);

	/* Empty: nothing now, a timeout, no endless wait. */
	assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	assert_int_equal(mk_waitset_wait(ws, &got, MS), -ETIMEDOUT);
	assert_int_equal(mk_waitset_wait(ws, &got, -1), -ENOENT);
	assert_int_equal(mk_waitset_arm(ws), 0);

	/* One waitset per channel. */
	assert_int_equal(mk_waitset_add(ws, srv), 0);
	assert_int_equal(mk_waitset_count(ws), 1);
	assert_int_equal(mk_waitset_add(ws, srv), -EBUSY);
	assert_int_equal(mk_waitset_add(ws2, srv), -EBUSY);
	assert_int_equal(mk_waitset_remove(ws2, srv), -ENOENT);
	assert_int_equal(mk_waitset_remove(ws, srv), 0);
	assert_int_equal(mk_waitset_count(ws), 0);
	assert_int_equal(mk_waitset_remove(ws, srv), -ENOENT);
	assert_int_equal(mk_waitset_add(ws2, srv), 0);
	assert_int_equal(mk_waitset_add(ws2, cli), 0);
	assert_int_equal(mk_waitset_count(ws2), 2);

	/* Destroying a set frees its members for another one. */
	mk_waitset_destroy(ws2);
	assert_int_equal(mk_waitset_add(ws, srv), 0);
	mk_waitset_destroy(ws);
	mk_waitset_destroy(NULL);
	free_pair(mb, cli, srv);
}

/* Closing a member takes it out of its set; its peer comes out ended. */
static void test_close_member(void **state)
{
	struct mk_chan *cli, *srv, *got = NULL;
	struct mk_waitset *ws;
	struct mk_mbox *mb;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	make_pair(&mb, &cli, &srv);
	assert_int_equal(mk_waitset_add(ws, srv), 0);
	assert_int_equal(mk_waitset_add(ws, cli), 0);
	assert_int_equal(mk_waitset_arm(ws), 0);
	mk_chan_close(srv);
	assert_int_equal(mk_waitset_count(ws), 1);
	assert_int_equal(mk_waitset_wait(ws, &got, 2000 * MS), 0);
	assert_ptr_equal(got, cli);
	mk_waitset_destroy(ws);
	mk_chan_close(cli);
	mk_mbox_close(mb);
}

static void test_timeouts(void **state)
{
	struct mk_chan *cli, *srv, *got;
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	uint64_t t0, el, v = 7;
	size_t len;

	(void)state;
	make_pair(&mb, &cli, &srv);
	assert_int_equal(mk_waitset_create(&ws), 0);
	assert_int_equal(mk_waitset_add(ws, srv), 0);

	assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	for (int spin = 0; spin < 2; spin++) {
		mk_waitset_set_spin_ns(ws, spin ? MK_RING_SPIN_NS_DEFAULT : 0);
		assert_int_equal(mk_waitset_spin_ns(ws), spin ? MK_RING_SPIN_NS_DEFAULT : 0);
		t0 = now_ns();
		assert_int_equal(mk_waitset_wait(ws, &got, 30 * MS), -ETIMEDOUT);
		el = now_ns() - t0;
		assert_true(el >= 30 * MS);
		assert_true(el < 2 * SEC);
	}
	/* The client's own receive direction is not the server's. */
	assert_int_equal(mk_chan_send(srv, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	assert_int_equal(mk_chan_recv(cli, &v, sizeof(v), &len, SEC), 0);

	assert_int_equal(mk_chan_send(cli, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_ptr_equal(got, srv);
	/* Ready until taken. */
	assert_int_equal(mk_waitset_wait(ws, &got, SEC), 0);
	assert_ptr_equal(got, srv);
	assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);
	assert_int_equal(v, 7);
	assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	assert_int_equal(mk_waitset_wait(ws, &got, MS), -ETIMEDOUT);

	mk_waitset_destroy(ws);
	free_pair(mb, cli, srv);
}

/* A thread that sends one message after a delay, to wake a blocked wait. */
struct later {
	struct mk_chan *ch;
	uint64_t delay_ns;
};

static void *send_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)l->delay_ns };
	uint64_t v = 42;

	nanosleep(&ts, NULL);
	if (mk_chan_send(l->ch, &v, sizeof(v), SEC))
		abort();
	return NULL;
}

static void test_blocking_wakes(void **state)
{
	struct mk_chan *cli[3], *srv[3], *got;
	struct mk_mbox *mb[3];
	struct mk_waitset *ws;
	struct later l;
	pthread_t t;
	uint64_t v, t0;
	size_t len;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	for (int i = 0; i < 3; i++) {
		make_pair(&mb[i], &cli[i], &srv[i]);
		assert_int_equal(mk_waitset_add(ws, srv[i]), 0);
	}
	for (int round = 0; round < 20; round++) {
		int k = round % 3;

		l = (struct later){ .ch = cli[k], .delay_ns = (uint64_t)(round % 4) * MS };
		assert_int_equal(pthread_create(&t, NULL, send_later, &l), 0);
		t0 = now_ns();
		assert_int_equal(mk_waitset_wait(ws, &got, 5 * SEC), 0);
		assert_true(now_ns() - t0 < 4 * SEC);
		assert_ptr_equal(got, srv[k]);
		assert_int_equal(mk_chan_recv(got, &v, sizeof(v), &len, SEC), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		/* Spin budget for the odd rounds, none for the even ones. */
		mk_waitset_set_spin_ns(ws, round % 2 ? 0 : MK_RING_SPIN_NS_DEFAULT);
	}
	mk_waitset_destroy(ws);
	for (int i = 0; i < 3; i++)
		free_pair(mb[i], cli[i], srv[i]);
}

static void test_round_robin(void **state)
{
	struct mk_chan *cli[3], *srv[3], *got;
	struct mk_mbox *mb[3];
	struct mk_waitset *ws;
	uint64_t v;
	size_t len;
	int i, k;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	for (i = 0; i < 3; i++) {
		make_pair(&mb[i], &cli[i], &srv[i]);
		assert_int_equal(mk_waitset_add(ws, srv[i]), 0);
		for (v = 0; v < 4; v++)
			assert_int_equal(mk_chan_send(cli[i], &v, sizeof(v), SEC), 0);
	}
	/* One message per turn: every ready member gets its turn in order. */
	for (k = 0; k < 12; k++) {
		assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
		assert_ptr_equal(got, srv[k % 3]);
		assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);
		assert_int_equal(v, (uint64_t)(k / 3));
	}
	assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	/* Only member 2 has something: it comes next, whoever's turn it is. */
	assert_int_equal(mk_chan_send(cli[2], &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_ptr_equal(got, srv[2]);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);
	mk_waitset_destroy(ws);
	for (i = 0; i < 3; i++)
		free_pair(mb[i], cli[i], srv[i]);
}

static void test_fd_and_arm(void **state)
{
	struct mk_chan *cli[2], *srv[2], *got, *extra_cli, *extra_srv;
	struct mk_mbox *mb[2], *extra_mb;
	struct mk_waitset *ws;
	uint64_t v = 1;
	size_t len;
	int fd;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	fd = mk_waitset_fd(ws);
	for (int i = 0; i < 2; i++) {
		make_pair(&mb[i], &cli[i], &srv[i]);
		assert_int_equal(mk_waitset_add(ws, srv[i]), 0);
	}
	for (int round = 0; round < 10; round++) {
		int k = round % 2;

		/* Armed and idle: not readable. */
		assert_int_equal(mk_waitset_arm(ws), 0);
		assert_false(fd_readable(fd, 20));
		/* A message makes it readable; wait(0) names the channel. */
		assert_int_equal(mk_chan_send(cli[k], &v, sizeof(v), SEC), 0);
		assert_true(fd_readable(fd, 5000));
		assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
		assert_ptr_equal(got, srv[k]);
		assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);
		assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	}
	/* Something already there: arm says so. */
	assert_int_equal(mk_chan_send(cli[1], &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_arm(ws), 1);
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);

	/* A member added to an armed set with a message waiting: readable. */
	make_pair(&extra_mb, &extra_cli, &extra_srv);
	assert_int_equal(mk_chan_send(extra_cli, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_add(ws, extra_srv), 0);
	assert_true(fd_readable(fd, 5000));
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_ptr_equal(got, extra_srv);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);
	/* ... and one added armed then sent to. */
	assert_int_equal(mk_waitset_remove(ws, extra_srv), 0);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_add(ws, extra_srv), 0);
	assert_false(fd_readable(fd, 20));
	assert_int_equal(mk_chan_send(extra_cli, &v, sizeof(v), SEC), 0);
	assert_true(fd_readable(fd, 5000));
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_ptr_equal(got, extra_srv);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);

	/* A removed member no longer makes it readable. */
	assert_int_equal(mk_waitset_remove(ws, extra_srv), 0);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_chan_send(extra_cli, &v, sizeof(v), SEC), 0);
	assert_false(fd_readable(fd, 20));
	assert_int_equal(mk_waitset_wait(ws, &got, 0), -EAGAIN);
	assert_int_equal(mk_chan_try_recv(extra_srv, &v, sizeof(v), &len), 0);
	free_pair(extra_mb, extra_cli, extra_srv);

	/* A blocking wait after the fd mode, and the fd mode after it. */
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_wait(ws, &got, 10 * MS), -ETIMEDOUT);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_chan_send(cli[0], &v, sizeof(v), SEC), 0);
	assert_true(fd_readable(fd, 5000));
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);

	mk_waitset_destroy(ws);
	for (int i = 0; i < 2; i++)
		free_pair(mb[i], cli[i], srv[i]);
}

/* --- forked senders --- */

struct msg {
	uint32_t id;
	uint32_t len;
	uint64_t seq;
	unsigned char pad[112];
};

enum child_mode {
	STREAM,		/* n messages as fast as possible, then wait for "done" */
	PINGPONG,	/* n times: send, wait for the echo; no spinning */
	SLEEP,		/* one message, then sleep until killed */
	CLOSE,		/* two messages, then close and exit */
};

struct child {
	const char *name;
	uint64_t cap;
	uint32_t id;
	uint64_t n;
	enum child_mode mode;
};

static size_t msg_size(uint64_t seq)
{
	/* Mostly one slot, every 13th in fragments. */
	return seq % 13 == 5 ? sizeof(struct msg) : 16;
}

static int child_main(const struct child *c)
{
	struct mk_chan *ch;
	struct msg m = { .id = c->id };
	char buf[8];
	uint64_t echo;
	size_t len;
	unsigned int seed = c->id * 7919u + (unsigned int)getpid();

	if (mk_chan_connect(&ch, c->name, c->cap, 16))
		return 10;
	if (c->mode == PINGPONG)
		mk_chan_set_spin_ns(ch, 0);
	if (c->mode == SLEEP || c->mode == CLOSE) {
		for (uint64_t s = 0; s < (c->mode == SLEEP ? 1u : 2u); s++) {
			m.seq = s;
			m.len = 16;
			if (mk_chan_send(ch, &m, 16, 5 * SEC))
				return 11;
		}
		if (c->mode == CLOSE) {
			mk_chan_close(ch);
			return 0;
		}
		for (;;)
			pause();
	}
	for (uint64_t s = 0; s < c->n; s++) {
		m.seq = s;
		m.len = (uint32_t)msg_size(s);
		memset(m.pad, (int)(s & 0xff), sizeof(m.pad));
		if (mk_chan_send(ch, &m, m.len, 10 * SEC))
			return 12;
		if (c->mode == PINGPONG) {
			if (mk_chan_recv(ch, &echo, sizeof(echo), &len, 10 * SEC) ||
			    len != sizeof(echo) || echo != s)
				return 13;
			/* Now and then a pause, so the receiver sleeps at random. */
			if (rand_r(&seed) % 8 == 0)
				usleep(rand_r(&seed) % 200);
		} else if (rand_r(&seed) % 64 == 0) {
			sched_yield();
		}
	}
	if (c->mode == STREAM &&
	    (mk_chan_recv(ch, buf, sizeof(buf), &len, 30 * SEC) || len != 4 ||
	     memcmp(buf, "done", 4)))
		return 14;
	mk_chan_close(ch);
	return 0;
}

static pid_t fork_child(const struct child *c)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(child_main(c));
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct fleet {
	int n;
	struct mk_mbox *mb;
	pid_t pid[NCH];
	struct mk_chan *ch[NCH];	/* by child id */
	uint64_t got[NCH];
	bool ended[NCH];
};

/*
 * Forks @n children (all of them first: a child forked later would keep
 * the channels accepted before open), accepts their channels and files
 * each under its child's index (found from the peer pid).
 */
static void fleet_start(struct fleet *f, int n, enum child_mode mode, uint64_t per)
{
	const char *name = uniq_name("fleet");
	struct child c = { .name = name, .n = per, .mode = mode };
	struct mk_chan *ch;
	pid_t peer;
	int i, k;

	memset(f, 0, sizeof(*f));
	f->n = n;
	assert_int_equal(mk_mbox_create(&f->mb), 0);
	assert_int_equal(mk_mbox_add_name(f->mb, name), 0);
	assert_int_equal(mk_mbox_new_cap(f->mb, &c.cap), 0);
	for (i = 0; i < n; i++) {
		c.id = (uint32_t)i;
		f->pid[i] = fork_child(&c);
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(mk_mbox_accept(f->mb, &ch, 10 * SEC), 0);
		assert_int_equal(mk_chan_peer(ch, &peer, NULL, NULL), 0);
		for (k = 0; k < n && f->pid[k] != peer; k++)
			;
		assert_true(k < n);
		assert_null(f->ch[k]);
		f->ch[k] = ch;
	}
}

static int fleet_id(const struct fleet *f, const struct mk_chan *ch)
{
	for (int i = 0; i < f->n; i++)
		if (f->ch[i] == ch)
			return i;
	fail_msg("waitset returned a channel it does not hold");
	return -1;
}

static void fleet_finish(struct fleet *f)
{
	for (int i = 0; i < f->n; i++) {
		assert_int_equal(reap(f->pid[i]), 0);
		if (f->ch[i])
			mk_chan_close(f->ch[i]);
	}
	mk_mbox_close(f->mb);
}

/*
 * Takes what @ch has: checks order, echoes (ping-pong) or says "done"
 * after the last (stream); on the channel's end, removes it from @ws.
 * Returns the messages taken.
 */
static uint64_t serve(struct fleet *f, struct mk_waitset *ws, struct mk_chan *ch,
		      enum child_mode mode, uint64_t per)
{
	int id = fleet_id(f, ch), ret;
	uint64_t taken = 0;
	struct msg m;
	size_t len;

	for (;;) {
		ret = mk_chan_try_recv(ch, &m, sizeof(m), &len);
		if (ret == -EAGAIN)
			return taken;
		if (ret == -EPIPE) {
			assert_int_equal(f->got[id], per);
			assert_false(f->ended[id]);
			f->ended[id] = true;
			assert_int_equal(mk_waitset_remove(ws, ch), 0);
			return taken;
		}
		assert_int_equal(ret, 0);
		assert_int_equal(m.id, (uint32_t)id);
		assert_int_equal(m.seq, f->got[id]);
		assert_int_equal(len, msg_size(m.seq));
		if (len > 16)
			for (size_t k = 0; k < sizeof(m.pad); k++)
				assert_int_equal(m.pad[k], (unsigned char)(m.seq & 0xff));
		f->got[id]++;
		taken++;
		if (mode == PINGPONG)
			assert_int_equal(mk_chan_send(ch, &m.seq, sizeof(m.seq), 5 * SEC), 0);
		else if (f->got[id] == per)
			assert_int_equal(mk_chan_send(ch, "done", 4, 5 * SEC), 0);
	}
}

static bool fleet_done(const struct fleet *f)
{
	for (int i = 0; i < f->n; i++)
		if (!f->ended[i])
			return false;
	return true;
}

static void run_fleet(enum child_mode mode, uint64_t per, uint64_t spin_ns)
{
	struct mk_waitset *ws;
	struct mk_chan *ch;
	struct fleet f;

	fleet_start(&f, NCH, mode, per);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, spin_ns);
	for (int i = 0; i < NCH; i++)
		assert_int_equal(mk_waitset_add(ws, f.ch[i]), 0);
	while (!fleet_done(&f)) {
		/* A lost wake-up shows here as a timeout. */
		assert_int_equal(mk_waitset_wait(ws, &ch, 10 * SEC), 0);
		serve(&f, ws, ch, mode, per);
	}
	assert_int_equal(mk_waitset_count(ws), 0);
	for (int i = 0; i < NCH; i++)
		assert_int_equal(f.got[i], per);
	mk_waitset_destroy(ws);
	fleet_finish(&f);
}

static void test_fleet_stream(void **state)
{
	(void)state;
	run_fleet(STREAM, iters(20000), MK_RING_SPIN_NS_DEFAULT);
}

static void test_fleet_stream_nospin(void **state)
{
	(void)state;
	run_fleet(STREAM, iters(5000), 0);
}

static void test_fleet_pingpong_nospin(void **state)
{
	(void)state;
	/* 10,000 round trips over 16 channels, nobody spins. */
	run_fleet(PINGPONG, iters(10000) / NCH, 0);
}

static void dump_ring(const char *what, const struct mkchan_ring *r, unsigned int slots)
{
	uint64_t head = r->cons.head;

	print_message("  %s: head %" PRIu64 " hdr@head %#" PRIx64 " futex %u sleeping %u closed %u\n",
		      what, head, (uint64_t)r->slots[head & (slots - 1)].hdr,
		      r->wait.futex, r->wait.sleeping, r->info.closed);
}

/* What every channel of @f looks like: for a failure's report. */
static void dump_fleet(const struct fleet *f, const struct mk_waitset *ws)
{
	print_message("waitset fd readable: %d\n", fd_readable(mk_waitset_fd(ws), 0));
	for (int i = 0; i < f->n; i++) {
		const char *mem;
		size_t len;

		if (f->ended[i] || !f->ch[i]) {
			print_message("chan %d: ended\n", i);
			continue;
		}
		mem = mk_chan_shm(f->ch[i], &len);
		print_message("chan %d: got %" PRIu64 ", fd readable %d\n", i, f->got[i],
			      fd_readable(mk_chan_fd(f->ch[i]), 0));
		dump_ring("to us  ", (const void *)mem, 16);
		dump_ring("to peer", (const void *)(mem + mk_chan_ring_offset(16)), 16);
	}
}

/* The waitset's fd in our own epoll loop, beside a pipe another process writes. */
static void test_fd_in_epoll_loop(void **state)
{
	uint64_t per = iters(4000) / NCH, pipe_bytes = iters(2000), piped = 0, t0;
	struct epoll_event ev, evs[4];
	struct mk_waitset *ws;
	struct mk_chan *ch;
	struct fleet f;
	int p[2], ep, n, wakes = 0;
	pid_t writer;
	char buf[256];
	ssize_t r;

	(void)state;
	assert_int_equal(pipe(p), 0);
	writer = fork();
	assert_true(writer >= 0);
	if (!writer) {
		unsigned int seed = (unsigned int)getpid();

		close(p[0]);
		for (uint64_t i = 0; i < pipe_bytes; i++) {
			if (write(p[1], "x", 1) != 1)
				_exit(1);
			if (rand_r(&seed) % 4 == 0)
				usleep(rand_r(&seed) % 500);
		}
		_exit(0);
	}
	close(p[1]);
	fleet_start(&f, NCH, PINGPONG, per);
	assert_int_equal(mk_waitset_create(&ws), 0);
	for (int i = 0; i < NCH; i++)
		assert_int_equal(mk_waitset_add(ws, f.ch[i]), 0);

	ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 };
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, mk_waitset_fd(ws), &ev), 0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 2 };
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);

	t0 = now_ns();
	while (!fleet_done(&f) || piped < pipe_bytes) {
		while (mk_waitset_wait(ws, &ch, 0) == 0)
			serve(&f, ws, ch, PINGPONG, per);
		if (fleet_done(&f) && piped == pipe_bytes)
			break;
		if (mk_waitset_arm(ws) > 0)
			continue;
		n = epoll_wait(ep, evs, 4, 10000);
		/* Nothing for 10 s with senders waiting for us: a lost wake-up. */
		if (n <= 0) {
			int st = 0;

			print_message("piped %" PRIu64 " of %" PRIu64 ", writer: %d (%#x), pipe readable %d\n",
				      piped, pipe_bytes, (int)waitpid(writer, &st, WNOHANG), st,
				      fd_readable(p[0], 0));
			dump_fleet(&f, ws);
		}
		assert_true(n > 0);
		wakes++;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 != 2)
				continue;
			r = read(p[0], buf, sizeof(buf));
			assert_true(r >= 0);
			piped += (uint64_t)r;
			if (!r) {
				assert_int_equal(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
				assert_int_equal(piped, pipe_bytes);
			}
		}
	}
	print_message("epoll loop: %d wake-ups, %.1f ms\n", wakes,
		      (double)(now_ns() - t0) / 1e6);
	close(ep);
	close(p[0]);
	assert_int_equal(reap(writer), 0);
	mk_waitset_destroy(ws);
	fleet_finish(&f);
}

/* A peer that closes, one that is killed: their channels come out ready. */
static void peers_end(bool use_fd)
{
	const char *name = uniq_name("end");
	struct child c = { .name = name };
	struct mk_chan *ch[2], *got, *tmp;
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	pid_t pid[2], peer;
	struct msg m;
	uint64_t t0;
	size_t len;
	int i, k;

	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_add_name(mb, name), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &c.cap), 0);
	c.mode = SLEEP;
	pid[0] = fork_child(&c);
	c.mode = CLOSE;
	c.id = 1;
	pid[1] = fork_child(&c);
	ch[0] = ch[1] = NULL;
	for (i = 0; i < 2; i++) {
		assert_int_equal(mk_mbox_accept(mb, &tmp, 10 * SEC), 0);
		assert_int_equal(mk_chan_peer(tmp, &peer, NULL, NULL), 0);
		k = peer == pid[0] ? 0 : 1;
		ch[k] = tmp;
	}
	assert_non_null(ch[0]);
	assert_non_null(ch[1]);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(mk_waitset_add(ws, ch[i]), 0);

	/*
	 * The sleeper's one message, the closer's two and then its end, in
	 * whatever order they come: the closer stays ready once ended.
	 */
	assert_int_equal(reap(pid[1]), 0);
	for (int got0 = 0, got1 = 0, ended1 = 0; !got0 || ended1 < 2;) {
		assert_int_equal(mk_waitset_wait(ws, &got, 5 * SEC), 0);
		if (got == ch[0]) {
			assert_int_equal(got0, 0);
			assert_int_equal(mk_chan_try_recv(got, &m, sizeof(m), &len), 0);
			assert_int_equal(m.seq, 0);
			got0 = 1;
			continue;
		}
		assert_ptr_equal(got, ch[1]);
		if (got1 < 2) {
			assert_int_equal(mk_chan_try_recv(got, &m, sizeof(m), &len), 0);
			assert_int_equal(m.seq, (uint64_t)got1);
			got1++;
			continue;
		}
		assert_int_equal(mk_chan_try_recv(got, &m, sizeof(m), &len), -EPIPE);
		if (++ended1 == 1)
			continue;	/* once more: still ready */
		assert_int_equal(mk_waitset_remove(ws, ch[1]), 0);
	}
	assert_int_equal(mk_waitset_count(ws), 1);
	assert_int_equal(mk_waitset_wait(ws, &got, 20 * MS), -ETIMEDOUT);
	/* Killed while we wait: noticed promptly. */
	if (use_fd)
		assert_int_equal(mk_waitset_arm(ws), 0);
	kill(pid[0], SIGKILL);
	t0 = now_ns();
	if (use_fd) {
		assert_true(fd_readable(mk_waitset_fd(ws), 5000));
		assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	} else {
		assert_int_equal(mk_waitset_wait(ws, &got, 5 * SEC), 0);
	}
	assert_true(now_ns() - t0 < 2 * SEC);
	assert_ptr_equal(got, ch[0]);
	assert_int_equal(mk_chan_try_recv(got, &m, sizeof(m), &len), -EPIPE);
	assert_int_equal(reap(pid[0]), 128 + SIGKILL);

	mk_waitset_destroy(ws);
	mk_chan_close(ch[0]);
	mk_chan_close(ch[1]);
	mk_mbox_close(mb);
}

static void test_peer_end_wait(void **state)
{
	(void)state;
	peers_end(false);
}

static void test_peer_end_fd(void **state)
{
	(void)state;
	peers_end(true);
}

/* Removing a member whose peer is still sending; the others go on. */
static void test_remove_while_sending(void **state)
{
	uint64_t per = iters(4000), direct;
	struct mk_waitset *ws;
	struct mk_chan *ch;
	struct fleet f;
	struct msg m;
	size_t len;
	int victim = 3, ret;

	(void)state;
	fleet_start(&f, 6, STREAM, per);
	assert_int_equal(mk_waitset_create(&ws), 0);
	for (int i = 0; i < f.n; i++)
		assert_int_equal(mk_waitset_add(ws, f.ch[i]), 0);
	while (!fleet_done(&f)) {
		assert_int_equal(mk_waitset_wait(ws, &ch, 10 * SEC), 0);
		if (f.ch[victim] && ch == f.ch[victim]) {
			/* Out of the set after its first message. */
			assert_int_equal(mk_chan_try_recv(ch, &m, sizeof(m), &len), 0);
			assert_int_equal(m.seq, 0);
			f.got[victim] = 1;
			assert_int_equal(mk_waitset_remove(ws, ch), 0);
			f.ended[victim] = true;
			continue;
		}
		serve(&f, ws, ch, STREAM, per);
	}
	assert_int_equal(f.got[victim], 1);
	/* The rest of its stream, in order, straight from the channel. */
	ch = f.ch[victim];
	for (direct = 1; direct < per; direct++) {
		assert_int_equal(mk_chan_recv(ch, &m, sizeof(m), &len, 10 * SEC), 0);
		assert_int_equal(m.seq, direct);
	}
	assert_int_equal(mk_chan_send(ch, "done", 4, 5 * SEC), 0);
	ret = mk_chan_recv(ch, &m, sizeof(m), &len, 10 * SEC);
	assert_int_equal(ret, -EPIPE);
	mk_waitset_destroy(ws);
	fleet_finish(&f);
}

/*
 * As many fallback members as futex_waitv() takes and one more (refused);
 * the module has no such limit. The last member wakes a blocked wait.
 */
static void test_many_members(void **state)
{
	enum { N = MK_WAITSET_FUTEX_MAX + 1 };
	struct mk_chan **cli, **srv, *got;
	const char *name = uniq_name("many");
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	struct later l;
	pthread_t t;
	uint64_t cap, v;
	size_t len;
	int i, last;

	(void)state;
	cli = calloc(N, sizeof(*cli));
	srv = calloc(N, sizeof(*srv));
	assert_non_null(cli);
	assert_non_null(srv);
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	for (i = 0; i < N; i++) {
		connect_to(mb, mk_name_hash(name), cap, &cli[i], &srv[i]);
		if (i < MK_WAITSET_FUTEX_MAX || on_module())
			assert_int_equal(mk_waitset_add(ws, srv[i]), 0);
		else
			assert_int_equal(mk_waitset_add(ws, srv[i]), -ENOSPC);
	}
	last = on_module() ? N - 1 : N - 2;
	assert_int_equal(mk_waitset_count(ws), (unsigned int)last + 1);
	for (int round = 0; round < 3; round++) {
		int k = round == 0 ? last : round == 1 ? 0 : last / 2;

		l = (struct later){ .ch = cli[k], .delay_ns = 2 * MS };
		assert_int_equal(pthread_create(&t, NULL, send_later, &l), 0);
		assert_int_equal(mk_waitset_wait(ws, &got, 5 * SEC), 0);
		assert_ptr_equal(got, srv[k]);
		assert_int_equal(mk_chan_recv(got, &v, sizeof(v), &len, SEC), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
	}
	mk_waitset_destroy(ws);
	close_pairs(cli, srv, N);
	mk_mbox_close(mb);
}

/* Module available: a set mixing channels of both transports. */
static void test_mixed_transports(void **state)
{
	struct mk_chan *cli[2], *srv[2], *got;
	struct mk_mbox *mb[2];
	struct mk_waitset *ws;
	const char *old = getenv("MK_CHAN_TRANSPORT");
	char *saved = old ? strdup(old) : NULL;
	uint64_t v = 5;
	size_t len;
	int fd;

	(void)state;
	if (!on_module()) {
		skip();
		return;
	}
	setenv("MK_CHAN_TRANSPORT", "module", 1);
	make_pair(&mb[0], &cli[0], &srv[0]);
	setenv("MK_CHAN_TRANSPORT", "fallback", 1);
	make_pair(&mb[1], &cli[1], &srv[1]);
	if (saved) {
		setenv("MK_CHAN_TRANSPORT", saved, 1);
		free(saved);
	} else {
		unsetenv("MK_CHAN_TRANSPORT");
	}
	assert_int_equal(mk_chan_transport(srv[0]), MK_TRANSPORT_MODULE);
	assert_int_equal(mk_chan_transport(srv[1]), MK_TRANSPORT_FALLBACK);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	fd = mk_waitset_fd(ws);
	for (int i = 0; i < 2; i++)
		assert_int_equal(mk_waitset_add(ws, srv[i]), 0);
	for (int round = 0; round < 20; round++) {
		int k = round % 2;
		struct later l = { .ch = cli[k], .delay_ns = (uint64_t)(round % 3) * MS };
		pthread_t t;

		assert_int_equal(pthread_create(&t, NULL, send_later, &l), 0);
		if (round % 4 < 2) {
			assert_int_equal(mk_waitset_wait(ws, &got, 5 * SEC), 0);
		} else {
			if (!mk_waitset_arm(ws))
				assert_true(fd_readable(fd, 5000));
			assert_int_equal(pthread_join(t, NULL), 0);
			assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
		}
		assert_ptr_equal(got, srv[k]);
		assert_int_equal(mk_chan_recv(got, &v, sizeof(v), &len, SEC), 0);
		if (round % 4 < 2)
			assert_int_equal(pthread_join(t, NULL), 0);
	}
	mk_waitset_destroy(ws);
	for (int i = 0; i < 2; i++)
		free_pair(mb[i], cli[i], srv[i]);
}

/* --- waiting for room to send (MK_WAITSET_SEND) --- */

#define SMALL		4	/* slots: a ring that fills at once */

/* Fills the ring @ch sends on with 8-byte messages: how many went. */
static int fill_ring(struct mk_chan *ch)
{
	uint64_t v = 0;
	int n = 0, ret;

	while ((ret = mk_chan_try_send(ch, &v, sizeof(v))) == 0) {
		n++;
		v++;
	}
	assert_int_equal(ret, -EAGAIN);
	return n;
}

/*
 * The flags a waitset sets on the mailbox's end @srv of a channel of
 * @slots slots: tx_waiting in the ring it sends on (ring 1), sleeping in
 * the one it receives from (ring 0).
 */
static uint32_t srv_tx_waiting(const struct mk_chan *srv, unsigned int slots)
{
	const char *mem = mk_chan_shm(srv, NULL);
	const struct mkchan_ring *r = (const void *)(mem + mk_chan_ring_offset(slots));

	return __atomic_load_n(&r->cons.tx_waiting, __ATOMIC_RELAXED);
}

static uint32_t srv_sleeping(const struct mk_chan *srv)
{
	const struct mkchan_ring *r = mk_chan_shm(srv, NULL);

	return __atomic_load_n(&r->wait.sleeping, __ATOMIC_RELAXED);
}

/* A thread that, after a delay, takes @n messages or closes the channel. */
struct drainer {
	struct mk_chan *ch;
	uint64_t delay_ns;
	int n;			/* messages to take; < 0: close the channel */
	int ret;
	_Atomic uint64_t t_act;	/* when it started */
};

static void *drain_later(void *arg)
{
	struct drainer *d = arg;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)d->delay_ns };
	uint64_t v;
	size_t len;

	nanosleep(&ts, NULL);
	atomic_store(&d->t_act, now_ns());
	if (d->n < 0) {
		mk_chan_close(d->ch);
		return NULL;
	}
	for (int i = 0; i < d->n && !d->ret; i++)
		d->ret = mk_chan_recv(d->ch, &v, sizeof(v), &len, 5 * SEC);
	return NULL;
}

static void drain_start(pthread_t *t, struct drainer *d, struct mk_chan *ch,
			uint64_t delay_ns, int n)
{
	*d = (struct drainer){ .ch = ch, .delay_ns = delay_ns, .n = n };
	assert_int_equal(pthread_create(t, NULL, drain_later, d), 0);
}

static void test_send_bad_args(void **state)
{
	struct mk_chan *cli, *srv, *got;
	struct mk_waitset *ws, *ws2;
	struct mk_mbox *mb;
	unsigned int ev;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	assert_int_equal(mk_waitset_create(&ws2), 0);
	make_pair(&mb, &cli, &srv);

	assert_int_equal(mk_waitset_add_events(NULL, srv, MK_WAITSET_RECV), -EINVAL);
	assert_int_equal(mk_waitset_add_events(ws, NULL, MK_WAITSET_RECV), -EINVAL);
	assert_int_equal(mk_waitset_add_events(ws, srv, 0), -EINVAL);
	assert_int_equal(mk_waitset_add_events(ws, srv, 0x4), -EINVAL);
	assert_int_equal(mk_waitset_add_events(ws, srv, MK_WAITSET_RECV | MK_WAITSET_SEND | 0x80),
			 -EINVAL);
	assert_int_equal(mk_waitset_count(ws), 0);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_RECV), -ENOENT);
	assert_int_equal(mk_waitset_wait_events(NULL, &got, &ev, 0), -EINVAL);
	assert_int_equal(mk_waitset_wait_events(ws, NULL, &ev, 0), -EINVAL);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), -EAGAIN);

	assert_int_equal(mk_waitset_add_events(ws, srv, MK_WAITSET_RECV), 0);
	assert_int_equal(mk_waitset_add_events(ws, srv, MK_WAITSET_SEND), -EBUSY);
	assert_int_equal(mk_waitset_add_events(ws2, srv, MK_WAITSET_SEND), -EBUSY);
	assert_int_equal(mk_waitset_modify(NULL, srv, MK_WAITSET_SEND), -EINVAL);
	assert_int_equal(mk_waitset_modify(ws, NULL, MK_WAITSET_SEND), -EINVAL);
	assert_int_equal(mk_waitset_modify(ws, srv, 0), -EINVAL);
	assert_int_equal(mk_waitset_modify(ws, srv, 0x10), -EINVAL);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_SEND | 0x10), -EINVAL);
	assert_int_equal(mk_waitset_modify(ws2, srv, MK_WAITSET_SEND), -ENOENT);
	assert_int_equal(mk_waitset_modify(ws, cli, MK_WAITSET_SEND), -ENOENT);
	/* A failed modify changed nothing: still receive-only, nothing to take. */
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), -EAGAIN);

	/* Room to send: ready at once; events may be NULL. */
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_SEND), 0);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_SEND), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, NULL, 0), 0);
	assert_ptr_equal(got, srv);
	ev = 0;
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, -1), 0);
	assert_int_equal(ev, MK_WAITSET_SEND);
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_ptr_equal(got, srv);
	assert_int_equal(mk_waitset_remove(ws, srv), 0);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_SEND), -ENOENT);

	mk_waitset_destroy(ws);
	mk_waitset_destroy(ws2);
	free_pair(mb, cli, srv);
}

/*
 * A full ring of 2 or 4 slots whose receiver, in another thread, takes one
 * message later: the blocked wait wakes for SEND, the flag it set comes
 * off. A lost wake-up would still end the wait at the next liveness look
 * (fallback, 100 ms) or at the timeout, so most wakes must come well
 * before 90 ms (they take a few ms after the 2-4 ms delay).
 */
static void test_send_blocks_and_wakes(void **state)
{
	struct mk_chan *cli, *srv, *got;
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	struct drainer d;
	unsigned int ev, slots;
	int rounds = 0, fast = 0;
	uint64_t t0, t1, v = 1, slowest = 0;
	pthread_t t;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	for (slots = 2; slots <= SMALL; slots *= 2) {
		make_pair_slots(&mb, slots, &cli, &srv);
		assert_int_equal(fill_ring(srv), (int)slots);
		assert_int_equal(mk_waitset_add_events(ws, srv, MK_WAITSET_SEND), 0);
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), -EAGAIN);
		mk_waitset_set_spin_ns(ws, 0);
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 20 * MS), -ETIMEDOUT);
		assert_int_equal(srv_tx_waiting(srv, slots), 0);
		for (int round = 0; round < 8; round++) {
			mk_waitset_set_spin_ns(ws, round % 4 == 3 ? MK_RING_SPIN_NS_DEFAULT : 0);
			drain_start(&t, &d, cli, (uint64_t)(2 + round % 3) * MS, 1);
			t0 = now_ns();
			ev = 0;
			assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 5 * SEC), 0);
			t1 = now_ns();
			assert_ptr_equal(got, srv);
			assert_int_equal(ev, MK_WAITSET_SEND);
			/* Woken by the receiver, not by anything before it. */
			assert_true(t1 >= atomic_load(&d.t_act));
			assert_int_equal(srv_tx_waiting(srv, slots), 0);
			assert_int_equal(pthread_join(t, NULL), 0);
			assert_int_equal(d.ret, 0);
			rounds++;
			if (t1 - t0 < 90 * MS)
				fast++;
			if (t1 - t0 > slowest)
				slowest = t1 - t0;
			/* Room for one: the send goes, and the ring is full again. */
			assert_int_equal(mk_chan_try_send(srv, &v, sizeof(v)), 0);
			assert_int_equal(mk_chan_try_send(srv, &v, sizeof(v)), -EAGAIN);
		}
		assert_int_equal(mk_waitset_remove(ws, srv), 0);
		free_pair(mb, cli, srv);
	}
	print_message("send wakes: %d of %d within 90 ms, slowest %.1f ms\n", fast, rounds,
		      (double)slowest / 1e6);
	assert_true(fast * 2 >= rounds);
	mk_waitset_destroy(ws);
}

/* One member waiting both ways: each event shows on its own and together. */
static void test_send_recv_member(void **state)
{
	struct mk_chan *cli, *srv, *got;
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	struct drainer d;
	struct later l;
	unsigned int ev;
	uint64_t v = 3, t0;
	size_t len;
	pthread_t t;

	(void)state;
	make_pair_slots(&mb, SMALL, &cli, &srv);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	assert_int_equal(mk_waitset_add_events(ws, srv, MK_WAITSET_RECV | MK_WAITSET_SEND), 0);

	/* Room, no message. */
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_ptr_equal(got, srv);
	assert_int_equal(ev, MK_WAITSET_SEND);
	/* Room and a message. */
	assert_int_equal(mk_chan_send(cli, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_int_equal(ev, MK_WAITSET_RECV | MK_WAITSET_SEND);
	/* Full, a message. */
	fill_ring(srv);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, SEC), 0);
	assert_int_equal(ev, MK_WAITSET_RECV);
	/* Full, nothing: a timeout, and both flags off afterwards. */
	assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), -EAGAIN);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 20 * MS), -ETIMEDOUT);
	assert_int_equal(srv_tx_waiting(srv, SMALL), 0);
	assert_int_equal(srv_sleeping(srv), 0);

	for (int round = 0; round < 6; round++) {
		if (round % 2 == 0) {
			/* Blocked both ways, woken by a message. */
			l = (struct later){ .ch = cli, .delay_ns = 3 * MS };
			assert_int_equal(pthread_create(&t, NULL, send_later, &l), 0);
			t0 = now_ns();
			assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 5 * SEC), 0);
			assert_true(now_ns() - t0 < SEC);
			assert_int_equal(ev, MK_WAITSET_RECV);
			assert_int_equal(pthread_join(t, NULL), 0);
			assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);
			assert_int_equal(v, 42);
		} else {
			/* ... and by room. */
			drain_start(&t, &d, cli, 3 * MS, 1);
			t0 = now_ns();
			assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 5 * SEC), 0);
			/* At its deadline a wait looks once more: not a wake-up. */
			assert_true(now_ns() - t0 < SEC);
			assert_int_equal(ev, MK_WAITSET_SEND);
			assert_int_equal(pthread_join(t, NULL), 0);
			assert_int_equal(d.ret, 0);
			assert_int_equal(mk_chan_try_send(srv, &v, sizeof(v)), 0);
		}
		assert_int_equal(srv_tx_waiting(srv, SMALL), 0);
		assert_int_equal(srv_sleeping(srv), 0);
	}

	/* Changing what it waits for. */
	assert_int_equal(mk_chan_recv(cli, &v, sizeof(v), &len, SEC), 0);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_RECV), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), -EAGAIN);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_SEND), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_int_equal(ev, MK_WAITSET_SEND);
	assert_int_equal(mk_chan_send(cli, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_int_equal(ev, MK_WAITSET_SEND);
	assert_int_equal(mk_waitset_modify(ws, srv, MK_WAITSET_RECV), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_int_equal(ev, MK_WAITSET_RECV);
	assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);

	mk_waitset_destroy(ws);
	free_pair(mb, cli, srv);
}

/*
 * A channel that ends while full and empty is ready for everything it
 * waits for, at once, and stays so; sends and receives fail.
 */
static void test_send_end(void **state)
{
	struct mk_chan *cli[2], *srv[2], *got;
	struct mk_mbox *mb[2];
	struct mk_waitset *ws;
	struct drainer d;
	unsigned int ev;
	uint64_t v = 0, t0;
	size_t len;
	pthread_t t;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	for (int i = 0; i < 2; i++) {
		make_pair_slots(&mb[i], SMALL, &cli[i], &srv[i]);
		fill_ring(srv[i]);
	}
	assert_int_equal(mk_waitset_add_events(ws, srv[0], MK_WAITSET_RECV | MK_WAITSET_SEND), 0);
	assert_int_equal(mk_waitset_add_events(ws, srv[1], MK_WAITSET_SEND), 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 10 * MS), -ETIMEDOUT);

	for (int i = 0; i < 2; i++) {
		/* Closed while the wait blocks. */
		drain_start(&t, &d, cli[i], 5 * MS, -1);
		t0 = now_ns();
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 5 * SEC), 0);
		assert_true(now_ns() - t0 < 2 * SEC);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_ptr_equal(got, srv[i]);
		assert_int_equal(ev, i ? MK_WAITSET_SEND : MK_WAITSET_RECV | MK_WAITSET_SEND);
		/* Still ready; the set's turn moves on but only this one is. */
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
		assert_ptr_equal(got, srv[i]);
		assert_int_equal(mk_waitset_arm(ws), 1);
		assert_int_equal(mk_chan_try_send(srv[i], &v, sizeof(v)), -EPIPE);
		assert_int_equal(mk_chan_try_recv(srv[i], &v, sizeof(v), &len), -EPIPE);
		assert_int_equal(mk_waitset_remove(ws, srv[i]), 0);
		assert_int_equal(srv_tx_waiting(srv[i], SMALL), 0);
		assert_int_equal(srv_sleeping(srv[i]), 0);
	}
	mk_waitset_destroy(ws);
	for (int i = 0; i < 2; i++) {
		mk_chan_close(srv[i]);
		mk_mbox_close(mb[i]);
	}
}

/* The fd and mk_waitset_arm() with SEND members. */
static void test_send_fd_and_arm(void **state)
{
	struct mk_chan *cli[2], *srv[2], *got;
	struct mk_mbox *mb[2];
	struct mk_waitset *ws;
	unsigned int ev;
	uint64_t v = 9;
	size_t len;
	int fd;

	(void)state;
	assert_int_equal(mk_waitset_create(&ws), 0);
	fd = mk_waitset_fd(ws);
	for (int i = 0; i < 2; i++) {
		make_pair_slots(&mb[i], SMALL, &cli[i], &srv[i]);
		fill_ring(srv[i]);
	}
	assert_int_equal(mk_waitset_add_events(ws, srv[0], MK_WAITSET_SEND), 0);
	assert_int_equal(mk_waitset_add_events(ws, srv[1], MK_WAITSET_RECV | MK_WAITSET_SEND), 0);

	for (int round = 0; round < 6; round++) {
		int k = round % 2;

		/* Armed, full, nothing to take: not readable; the flags are up. */
		assert_int_equal(mk_waitset_arm(ws), 0);
		assert_int_equal(srv_tx_waiting(srv[0], SMALL), 1);
		assert_int_equal(srv_tx_waiting(srv[1], SMALL), 1);
		assert_false(fd_readable(fd, 20));
		/* The receiver takes one: readable; wait(0) names the channel. */
		assert_int_equal(mk_chan_recv(cli[k], &v, sizeof(v), &len, SEC), 0);
		assert_true(fd_readable(fd, 5000));
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
		assert_ptr_equal(got, srv[k]);
		assert_int_equal(ev, MK_WAITSET_SEND);
		assert_int_equal(srv_tx_waiting(srv[k], SMALL), 0);
		assert_int_equal(mk_chan_try_send(got, &v, sizeof(v)), 0);
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), -EAGAIN);
	}
	/* A message for the member waiting both ways. */
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_chan_send(cli[1], &v, sizeof(v), SEC), 0);
	assert_true(fd_readable(fd, 5000));
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_ptr_equal(got, srv[1]);
	assert_int_equal(ev, MK_WAITSET_RECV);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);

	/* Room already: arm says so. */
	assert_int_equal(mk_chan_recv(cli[0], &v, sizeof(v), &len, SEC), 0);
	assert_int_equal(mk_waitset_arm(ws), 1);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_ptr_equal(got, srv[0]);
	assert_int_equal(mk_chan_try_send(got, &v, sizeof(v)), 0);

	/* Modified on an armed set: SEND off takes the flag down ... */
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_modify(ws, srv[0], MK_WAITSET_RECV), 0);
	assert_int_equal(srv_tx_waiting(srv[0], SMALL), 0);
	assert_int_equal(mk_chan_recv(cli[0], &v, sizeof(v), &len, SEC), 0);
	assert_false(fd_readable(fd, 20));
	/* ... SEND on with room makes the fd readable. */
	assert_int_equal(mk_waitset_modify(ws, srv[0], MK_WAITSET_SEND), 0);
	assert_true(fd_readable(fd, 5000));
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_ptr_equal(got, srv[0]);
	assert_int_equal(mk_chan_try_send(got, &v, sizeof(v)), 0);
	/* ... and SEND on while full, armed, then room. */
	assert_int_equal(mk_waitset_modify(ws, srv[0], MK_WAITSET_RECV), 0);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_modify(ws, srv[0], MK_WAITSET_RECV | MK_WAITSET_SEND), 0);
	assert_int_equal(srv_tx_waiting(srv[0], SMALL), 1);
	assert_false(fd_readable(fd, 20));
	assert_int_equal(mk_chan_recv(cli[0], &v, sizeof(v), &len, SEC), 0);
	assert_true(fd_readable(fd, 5000));
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_ptr_equal(got, srv[0]);
	assert_int_equal(ev, MK_WAITSET_SEND);
	assert_int_equal(mk_chan_try_send(got, &v, sizeof(v)), 0);

	/* Removing an armed member takes its flags down. */
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_remove(ws, srv[1]), 0);
	assert_int_equal(srv_tx_waiting(srv[1], SMALL), 0);
	assert_int_equal(srv_sleeping(srv[1]), 0);
	assert_int_equal(mk_chan_recv(cli[1], &v, sizeof(v), &len, SEC), 0);
	assert_false(fd_readable(fd, 20));

	mk_waitset_destroy(ws);
	assert_int_equal(srv_tx_waiting(srv[0], SMALL), 0);
	for (int i = 0; i < 2; i++)
		free_pair(mb[i], cli[i], srv[i]);
}

/*
 * The race: one thread sends to several receivers through the waitset
 * alone (RECV | SEND members), on rings of 2 slots, and takes their acks
 * (one per @ack_every messages) one per turn; each receiver blocks for
 * messages and, on a full ack ring, for room; nobody spins. Every third
 * wait goes through the fd. A lost wake-up hangs (module) or costs a
 * liveness slice (fallback): either runs past the time bound. With
 * frequent acks an ack may come to the rescue of a lost room wake-up;
 * with one ack at the end only room wakes the sender.
 */
#define RACERS		3

struct racer {
	struct mk_chan *ch;
	uint64_t n, ack_every;
	int err;
};

static void *race_receiver(void *arg)
{
	struct racer *r = arg;
	uint64_t v;
	size_t len;
	int ret;

	unsigned int seed = (unsigned int)(uintptr_t)r;

	for (uint64_t s = 0; s < r->n; s++) {
		ret = mk_chan_recv(r->ch, &v, sizeof(v), &len, 10 * SEC);
		if (ret || len != sizeof(v) || v != s) {
			r->err = ret ? ret : -EBADMSG;
			return NULL;
		}
		/* Now and then late, so both sides find the other asleep. */
		if (rand_r(&seed) % 16 == 0)
			usleep(rand_r(&seed) % 50);
		if (s % r->ack_every != r->ack_every - 1)
			continue;
		ret = mk_chan_send(r->ch, &s, sizeof(s), 10 * SEC);
		if (ret) {
			r->err = ret;
			return NULL;
		}
	}
	return NULL;
}

static void send_race(uint64_t per, uint64_t ack_every)
{
	uint64_t sent[RACERS] = { 0 }, acked[RACERS] = { 0 }, sendwaits = 0;
	uint64_t t0, bound = 10 * SEC, waits = 0, v;
	struct mk_chan *cli[RACERS], *srv[RACERS], *got;
	struct mk_mbox *mb[RACERS];
	struct racer r[RACERS];
	pthread_t t[RACERS];
	struct mk_waitset *ws;
	unsigned int ev;
	int i, ret, fd, live = RACERS;
	const char *hang = NULL;
	size_t len;

	assert_int_equal(per % ack_every, 0);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	fd = mk_waitset_fd(ws);
	for (i = 0; i < RACERS; i++) {
		make_pair_slots(&mb[i], 2, &cli[i], &srv[i]);
		mk_chan_set_spin_ns(cli[i], 0);
		assert_int_equal(mk_waitset_add_events(ws, srv[i],
						       MK_WAITSET_RECV | MK_WAITSET_SEND), 0);
		r[i] = (struct racer){ .ch = cli[i], .n = per, .ack_every = ack_every };
		assert_int_equal(pthread_create(&t[i], NULL, race_receiver, &r[i]), 0);
	}
	t0 = now_ns();
	while (live) {
		if (now_ns() - t0 > bound) {
			hang = "the race ran past its time bound";
			break;
		}
		waits++;
		if (waits % 3 == 0) {
			if (!mk_waitset_arm(ws) && !fd_readable(fd, 5000)) {
				hang = "fd not readable within 5 s: a lost wake-up";
				break;
			}
			ret = mk_waitset_wait_events(ws, &got, &ev, 0);
			if (ret == -EAGAIN)
				continue;	/* readable with nothing ready: allowed */
		} else {
			ret = mk_waitset_wait_events(ws, &got, &ev, 5 * SEC);
			if (ret == -ETIMEDOUT) {
				hang = "nothing ready within 5 s: a lost wake-up";
				break;
			}
		}
		assert_int_equal(ret, 0);
		for (i = 0; i < RACERS && srv[i] != got; i++)
			;
		assert_true(i < RACERS);
		if (ev & MK_WAITSET_SEND) {
			sendwaits++;
			assert_true(sent[i] < per);
			while (sent[i] < per &&
			       (ret = mk_chan_try_send(got, &sent[i], sizeof(sent[i]))) == 0)
				sent[i]++;
			assert_true(sent[i] == per || ret == -EAGAIN);
			if (sent[i] == per)
				assert_int_equal(mk_waitset_modify(ws, got, MK_WAITSET_RECV), 0);
		}
		if (ev & MK_WAITSET_RECV) {
			/* One ack per turn, so the acks back up and the receiver blocks. */
			ret = mk_chan_try_recv(got, &v, sizeof(v), &len);
			assert_int_equal(ret, 0);
			acked[i] += ack_every;
			assert_int_equal(v, acked[i] - 1);
			if (acked[i] == per) {
				assert_int_equal(mk_waitset_remove(ws, got), 0);
				live--;
			}
		}
	}
	if (hang) {
		/* Ends the receivers (-EPIPE) before failing: they use r[]. */
		for (i = 0; i < RACERS; i++)
			print_message("chan %d: sent %" PRIu64 " acked %" PRIu64 " of %" PRIu64
				      ", receiver err %d\n", i, sent[i], acked[i], per, r[i].err);
		mk_waitset_destroy(ws);
		for (i = 0; i < RACERS; i++)
			mk_chan_close(srv[i]);
		for (i = 0; i < RACERS; i++) {
			pthread_join(t[i], NULL);
			mk_chan_close(cli[i]);
			mk_mbox_close(mb[i]);
		}
		fail_msg("%s", hang);
	}
	print_message("send race: %d x %" PRIu64 " messages, an ack per %" PRIu64 ", %" PRIu64
		      " waits (%" PRIu64 " for room), %.1f ms\n", RACERS, per, ack_every, waits,
		      sendwaits, (double)(now_ns() - t0) / 1e6);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].err, 0);
		assert_int_equal(sent[i], per);
	}
	mk_waitset_destroy(ws);
	for (i = 0; i < RACERS; i++)
		free_pair(mb[i], cli[i], srv[i]);
}

static void test_send_race_acks(void **state)
{
	(void)state;
	send_race(iters(5000) / 3 * 3, 3);
}

static void test_send_race_room(void **state)
{
	(void)state;
	send_race(iters(5000), iters(5000));
}

/*
 * Fallback members take a futex word per event: MK_WAITSET_FUTEX_MAX
 * words fit, one more is refused (the module has no such limit). A
 * blocked wait on all of them is woken by room on the last.
 */
static void test_send_many_words(void **state)
{
	enum { N = MK_WAITSET_FUTEX_MAX / 2 + 1 };	/* 64 */
	const unsigned int both = MK_WAITSET_RECV | MK_WAITSET_SEND;
	struct mk_chan **cli, **srv, *got;
	const char *name = uniq_name("words");
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	struct drainer d;
	unsigned int ev;
	pthread_t t;
	uint64_t cap, t0;
	int i;

	(void)state;
	cli = calloc(N, sizeof(*cli));
	srv = calloc(N, sizeof(*srv));
	assert_non_null(cli);
	assert_non_null(srv);
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	assert_int_equal(mk_waitset_create(&ws), 0);
	mk_waitset_set_spin_ns(ws, 0);
	for (i = 0; i < N; i++) {
		connect_slots(mb, mk_name_hash(name), cap, 2, &cli[i], &srv[i]);
		fill_ring(srv[i]);
		if (i < N - 1)
			assert_int_equal(mk_waitset_add_events(ws, srv[i], both), 0);
	}
	/* 126 words: a member waiting both ways does not fit, one way does. */
	assert_int_equal(mk_waitset_add_events(ws, srv[N - 1], both),
			 on_module() ? 0 : -ENOSPC);
	if (!on_module()) {
		assert_int_equal(mk_waitset_count(ws), N - 1);
		assert_int_equal(mk_waitset_add_events(ws, srv[N - 1], MK_WAITSET_SEND), 0);
		/* 127: none more, either way. */
		assert_int_equal(mk_waitset_modify(ws, srv[N - 1], both), -ENOSPC);
		assert_int_equal(mk_waitset_modify(ws, srv[0], MK_WAITSET_RECV), 0);
		assert_int_equal(mk_waitset_modify(ws, srv[N - 1], both), 0);
		assert_int_equal(mk_waitset_modify(ws, srv[0], both), -ENOSPC);
		assert_int_equal(mk_waitset_modify(ws, srv[0], MK_WAITSET_SEND), 0);
	}
	assert_int_equal(mk_waitset_count(ws), N);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 10 * MS), -ETIMEDOUT);
	for (int round = 0; round < 3; round++) {
		int k = round == 0 ? N - 1 : round == 1 ? 0 : N / 2;

		drain_start(&t, &d, cli[k], 2 * MS, 1);
		t0 = now_ns();
		assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 5 * SEC), 0);
		assert_true(now_ns() - t0 < SEC);
		assert_ptr_equal(got, srv[k]);
		assert_int_equal(ev, MK_WAITSET_SEND);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(d.ret, 0);
		fill_ring(srv[k]);
	}
	mk_waitset_destroy(ws);
	close_pairs(cli, srv, N);
	mk_mbox_close(mb);
}

/*
 * The first fallback member joins a set armed without any (empty, or
 * module members only): the helper thread that watches fallback words was
 * never started, and the new member must still make the fd readable, for
 * a message (RECV) and for room (SEND), as "armed too" promises.
 */
static void test_add_to_armed_empty_set(void **state)
{
	struct mk_chan *cli, *srv, *got;
	struct mk_waitset *ws;
	struct mk_mbox *mb;
	struct drainer d;
	unsigned int ev;
	pthread_t t;
	uint64_t v = 5;
	size_t len;
	int fd;

	(void)state;
	/* RECV: armed empty, a member added, then a message. */
	assert_int_equal(mk_waitset_create(&ws), 0);
	fd = mk_waitset_fd(ws);
	make_pair(&mb, &cli, &srv);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_add(ws, srv), 0);
	assert_false(fd_readable(fd, 20));
	assert_int_equal(mk_chan_send(cli, &v, sizeof(v), SEC), 0);
	assert_true(fd_readable(fd, 2000));
	assert_int_equal(mk_waitset_wait(ws, &got, 0), 0);
	assert_ptr_equal(got, srv);
	assert_int_equal(mk_chan_try_recv(got, &v, sizeof(v), &len), 0);
	mk_waitset_destroy(ws);
	free_pair(mb, cli, srv);

	/* SEND: armed empty, a full member added, then room. */
	assert_int_equal(mk_waitset_create(&ws), 0);
	fd = mk_waitset_fd(ws);
	make_pair_slots(&mb, SMALL, &cli, &srv);
	fill_ring(srv);
	assert_int_equal(mk_waitset_arm(ws), 0);
	assert_int_equal(mk_waitset_add_events(ws, srv, MK_WAITSET_SEND), 0);
	assert_false(fd_readable(fd, 20));
	drain_start(&t, &d, cli, 2 * MS, 1);
	assert_true(fd_readable(fd, 2000));
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(d.ret, 0);
	assert_int_equal(mk_waitset_wait_events(ws, &got, &ev, 0), 0);
	assert_ptr_equal(got, srv);
	assert_int_equal(ev, MK_WAITSET_SEND);
	mk_waitset_destroy(ws);
	free_pair(mb, cli, srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_close_member),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_blocking_wakes),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_fd_and_arm),
		cmocka_unit_test(test_fleet_stream),
		cmocka_unit_test(test_fleet_stream_nospin),
		cmocka_unit_test(test_fleet_pingpong_nospin),
		cmocka_unit_test(test_fd_in_epoll_loop),
		cmocka_unit_test(test_peer_end_wait),
		cmocka_unit_test(test_peer_end_fd),
		cmocka_unit_test(test_remove_while_sending),
		cmocka_unit_test(test_many_members),
		cmocka_unit_test(test_mixed_transports),
		cmocka_unit_test(test_send_bad_args),
		cmocka_unit_test(test_send_blocks_and_wakes),
		cmocka_unit_test(test_send_recv_member),
		cmocka_unit_test(test_send_end),
		cmocka_unit_test(test_send_fd_and_arm),
		cmocka_unit_test(test_send_race_acks),
		cmocka_unit_test(test_send_race_room),
		cmocka_unit_test(test_send_many_words),
		cmocka_unit_test(test_add_to_armed_empty_set),
	};

	chan_test_setup("test_waitset");
	return cmocka_run_group_tests_name("libmk_waitset", tests, NULL, NULL);
}
