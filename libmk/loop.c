// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk's event loop (<mk/loop.h>, the contract: a turn's steps, the poll
 * window, reentrancy).
 *
 * Fd members live in a table indexed by fd, as in Redis's ae.c, so an
 * event finds its member without a lookup. Each registration gets a
 * generation number that rides in the epoll event next to the fd: an
 * event already fetched for a member deleted since (and perhaps replaced
 * by a new one on the same fd number, which accept() readily reuses)
 * finds another generation in the table and is dropped, which is what
 * lets a callback delete any member, the running one too.
 *
 * Waitsets and the signalfd are fd members with internal callbacks.
 * Waitset members are on a list; one deleted during a turn is only marked
 * there (its fd member goes at once) and freed at the end of the turn,
 * because the step that hands out channels may still be looking at it.
 *
 * Timers are a binary min-heap of handles ordered by (deadline, arm
 * sequence), each handle knowing its slot, so arm, re-arm and cancel are
 * O(log n) without a search; the sequence number makes equal deadlines
 * fire in arming order and keeps a timer armed while timers run from
 * running in the same step (a callback that re-arms for "now" would
 * otherwise never let the turn end).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <mk/loop.h>

_Static_assert(MK_LOOP_IN == EPOLLIN && MK_LOOP_OUT == EPOLLOUT &&
	       MK_LOOP_ERR == EPOLLERR && MK_LOOP_HUP == EPOLLHUP &&
	       MK_LOOP_RDHUP == EPOLLRDHUP, "MK_LOOP_* are epoll's bits");

#define FD_EVENTS	(MK_LOOP_IN | MK_LOOP_OUT | MK_LOOP_RDHUP)
#define NSIG_MAX	(_NSIG)

struct fd_member {
	mk_loop_fd_fn *fn;	/* NULL: free slot */
	void *arg;
	uint32_t events;
	uint32_t gen;
};

struct ws_member {
	struct mk_waitset *ws;
	mk_loop_chan_fn *fn;
	void *arg;
	int fd;
	bool pending;		/* look at it in this turn's step 3 */
	bool dead;		/* deleted; freed at the end of the turn */
	struct ws_member *next;
};

struct sig_member {
	mk_loop_signal_fn *fn;	/* NULL: not a member */
	void *arg;
	bool was_blocked;	/* before it was added: leave it blocked */
};

struct mk_loop_timer {
	struct mk_loop *l;
	mk_loop_timer_fn *fn;
	void *arg;
	int64_t deadline;
	uint64_t seq;		/* arm order, the tie-break */
	size_t hpos;		/* slot in l->heap; SIZE_MAX: not armed */
	struct mk_loop_timer *prev, *next;	/* all of l's timers */
};

struct mk_loop {
	int epfd;
	struct fd_member *fds;
	size_t nfd_slots;
	uint32_t gen;

	struct ws_member *wss;
	bool ws_dead;		/* some member is marked dead */

	int sigfd;		/* -1 until the first signal */
	sigset_t sigset;
	struct sig_member sigs[NSIG_MAX];

	struct mk_loop_timer **heap;
	size_t nheap, heap_cap, ntimers;
	uint64_t seq;
	struct mk_loop_timer *timers;

	int64_t poll_ns, last_busy;
	mk_loop_hook_fn *hook;
	void *hook_arg;
	bool hook_more;		/* the hook asked for a turn without blocking */
	bool in_turn, stop;
	uint64_t sleeps;
};

int64_t mk_loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int mk_loop_create(struct mk_loop **out)
{
	struct mk_loop *l;

	if (!out)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = -errno;

		free(l);
		return err;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigset);
	/* Never "busy" yet: the first wait may block. */
	l->last_busy = INT64_MIN / 2;
	*out = l;
	return 0;
}

/* ---- fd members ---- */

static struct fd_member *fd_get(struct mk_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfd_slots || !l->fds[fd].fn)
		return NULL;
	return &l->fds[fd];
}

static int fd_reserve(struct mk_loop *l, int fd)
{
	size_t n = l->nfd_slots ? l->nfd_slots : 64;
	struct fd_member *t;

	if ((size_t)fd < l->nfd_slots)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	t = realloc(l->fds, n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t + l->nfd_slots, 0, (n - l->nfd_slots) * sizeof(*t));
	l->fds = t;
	l->nfd_slots = n;
	return 0;
}

static uint64_t ev_data(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

int mk_loop_add_fd(struct mk_loop *l, int fd, uint32_t events, mk_loop_fd_fn *fn,
		   void *arg)
{
	struct epoll_event e = { .events = events };
	struct fd_member *m;
	int ret;

	if (!l || fd < 0 || !fn || (events & ~FD_EVENTS))
		return -EINVAL;
	if (fd_get(l, fd))
		return -EEXIST;
	ret = fd_reserve(l, fd);
	if (ret)
		return ret;
	m = &l->fds[fd];
	m->gen = ++l->gen;
	e.data.u64 = ev_data(fd, m->gen);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	m->fn = fn;
	m->arg = arg;
	m->events = events;
	return 0;
}

int mk_loop_mod_fd(struct mk_loop *l, int fd, uint32_t events)
{
	struct fd_member *m;
	struct epoll_event e = { .events = events };

	if (!l || (events & ~FD_EVENTS))
		return -EINVAL;
	m = fd_get(l, fd);
	if (!m)
		return -ENOENT;
	if (m->events == events)
		return 0;
	e.data.u64 = ev_data(fd, m->gen);
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &e) < 0)
		return -errno;
	m->events = events;
	return 0;
}

int mk_loop_del_fd(struct mk_loop *l, int fd)
{
	struct fd_member *m;

	if (!l)
		return -EINVAL;
	m = fd_get(l, fd);
	if (!m)
		return -ENOENT;
	/* Fails only for an fd closed already, which left epoll by itself. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	m->fn = NULL;
	m->arg = NULL;
	return 0;
}

/* ---- waitset members ---- */

static void ws_fd_ready(struct mk_loop *l, int fd, uint32_t events, void *arg)
{
	struct ws_member *m = arg;

	(void)l, (void)fd, (void)events;
	m->pending = true;
}

static struct ws_member *ws_find(struct mk_loop *l, const struct mk_waitset *ws)
{
	for (struct ws_member *m = l->wss; m; m = m->next)
		if (m->ws == ws && !m->dead)
			return m;
	return NULL;
}

int mk_loop_add_waitset(struct mk_loop *l, struct mk_waitset *ws, mk_loop_chan_fn *fn,
			void *arg)
{
	struct ws_member *m;
	int ret;

	if (!l || !ws || !fn)
		return -EINVAL;
	if (ws_find(l, ws))
		return -EEXIST;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ws = ws;
	m->fn = fn;
	m->arg = arg;
	m->fd = mk_waitset_fd(ws);
	/* Look once: channels may be ready before any arm. */
	m->pending = true;
	ret = mk_loop_add_fd(l, m->fd, MK_LOOP_IN, ws_fd_ready, m);
	if (ret) {
		free(m);
		return ret;
	}
	m->next = l->wss;
	l->wss = m;
	return 0;
}

static void ws_sweep(struct mk_loop *l)
{
	struct ws_member **pp = &l->wss;

	while (*pp) {
		struct ws_member *m = *pp;

		if (m->dead) {
			*pp = m->next;
			free(m);
		} else {
			pp = &m->next;
		}
	}
	l->ws_dead = false;
}

int mk_loop_del_waitset(struct mk_loop *l, struct mk_waitset *ws)
{
	struct ws_member *m;

	if (!l || !ws)
		return -EINVAL;
	m = ws_find(l, ws);
	if (!m)
		return -ENOENT;
	mk_loop_del_fd(l, m->fd);
	m->dead = true;
	l->ws_dead = true;
	if (!l->in_turn)
		ws_sweep(l);
	return 0;
}

/* Step 3 for one member: true if a channel was handed out. */
static bool ws_dispatch(struct mk_loop *l, struct ws_member *m)
{
	struct mk_chan *ch;
	unsigned int ev;
	int i;

	m->pending = false;
	for (i = 0; i < MK_LOOP_WAITSET_BATCH; i++) {
		if (mk_waitset_wait_events(m->ws, &ch, &ev, 0))
			break;
		m->fn(l, m->ws, ch, ev, m->arg);
		if (m->dead)
			return true;
	}
	if (i == MK_LOOP_WAITSET_BATCH)
		m->pending = true;	/* more may be ready: do not block */
	return i > 0;
}

/* Before a wait that may block: 1 if some waitset is ready, 0, or an error. */
static int ws_arm_all(struct mk_loop *l)
{
	int ready = 0;

	for (struct ws_member *m = l->wss; m; m = m->next) {
		int ret;

		if (m->dead)
			continue;
		ret = mk_waitset_arm(m->ws);
		if (ret < 0)
			return ret;
		if (ret > 0) {
			m->pending = true;
			ready = 1;
		}
	}
	return ready;
}

/* ---- signals ---- */

static void sig_fd_ready(struct mk_loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events, (void)arg;
	/* The set may shrink in a handler: look up each record anew. */
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		struct sig_member *m;

		if (si.ssi_signo >= NSIG_MAX)
			continue;
		m = &l->sigs[si.ssi_signo];
		if (m->fn)
			m->fn(l, &si, m->arg);
	}
}

int mk_loop_add_signal(struct mk_loop *l, int signo, mk_loop_signal_fn *fn, void *arg)
{
	sigset_t one, old, next;
	int fd, ret;

	if (!l || !fn || signo <= 0 || signo >= NSIG_MAX || signo == SIGKILL ||
	    signo == SIGSTOP)
		return -EINVAL;
	if (l->sigs[signo].fn)
		return -EEXIST;
	next = l->sigset;
	if (sigaddset(&next, signo) < 0)
		return -EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	/* Blocked first, so that no delivery goes to the old disposition. */
	ret = pthread_sigmask(SIG_BLOCK, &one, &old);
	if (ret)
		return -ret;
	fd = signalfd(l->sigfd, &next, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto unblock;
	}
	if (l->sigfd < 0) {
		ret = mk_loop_add_fd(l, fd, MK_LOOP_IN, sig_fd_ready, NULL);
		if (ret) {
			close(fd);
			goto unblock;
		}
		l->sigfd = fd;
	}
	l->sigset = next;
	l->sigs[signo] = (struct sig_member){ .fn = fn, .arg = arg,
		.was_blocked = sigismember(&old, signo) == 1 };
	return 0;
unblock:
	if (sigismember(&old, signo) != 1)
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	return ret;
}

int mk_loop_del_signal(struct mk_loop *l, int signo)
{
	sigset_t one;

	if (!l || signo <= 0 || signo >= NSIG_MAX)
		return -EINVAL;
	if (!l->sigs[signo].fn)
		return -ENOENT;
	sigdelset(&l->sigset, signo);
	/* Only shrinks the mask of an fd that exists: cannot fail. */
	signalfd(l->sigfd, &l->sigset, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!l->sigs[signo].was_blocked) {
		sigemptyset(&one);
		sigaddset(&one, signo);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	l->sigs[signo] = (struct sig_member){ 0 };
	return 0;
}

/* ---- timers ---- */

static bool t_before(const struct mk_loop_timer *a, const struct mk_loop_timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_place(struct mk_loop *l, size_t i, struct mk_loop_timer *t)
{
	l->heap[i] = t;
	t->hpos = i;
}

static void heap_up(struct mk_loop *l, size_t i)
{
	struct mk_loop_timer *t = l->heap[i];

	while (i) {
		size_t p = (i - 1) / 2;

		if (!t_before(t, l->heap[p]))
			break;
		heap_place(l, i, l->heap[p]);
		i = p;
	}
	heap_place(l, i, t);
}

static void heap_down(struct mk_loop *l, size_t i)
{
	struct mk_loop_timer *t = l->heap[i];

	for (;;) {
		size_t ch = 2 * i + 1;

		if (ch >= l->nheap)
			break;
		if (ch + 1 < l->nheap && t_before(l->heap[ch + 1], l->heap[ch]))
			ch++;
		if (!t_before(l->heap[ch], t))
			break;
		heap_place(l, i, l->heap[ch]);
		i = ch;
	}
	heap_place(l, i, t);
}

static void heap_remove(struct mk_loop *l, struct mk_loop_timer *t)
{
	size_t i = t->hpos;
	struct mk_loop_timer *last = l->heap[--l->nheap];

	t->hpos = SIZE_MAX;
	if (last == t)
		return;
	heap_place(l, i, last);
	heap_up(l, i);
	heap_down(l, last->hpos);
}

int mk_loop_timer_create(struct mk_loop *l, mk_loop_timer_fn *fn, void *arg,
			 struct mk_loop_timer **out)
{
	struct mk_loop_timer *t;

	if (!l || !fn || !out)
		return -EINVAL;
	/* Room in the heap for every timer, so that arming cannot fail. */
	if (l->ntimers == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 64;
		struct mk_loop_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->heap_cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->l = l;
	t->fn = fn;
	t->arg = arg;
	t->hpos = SIZE_MAX;
	t->next = l->timers;
	if (l->timers)
		l->timers->prev = t;
	l->timers = t;
	l->ntimers++;
	*out = t;
	return 0;
}

void mk_loop_timer_destroy(struct mk_loop_timer *t)
{
	struct mk_loop *l;

	if (!t)
		return;
	l = t->l;
	mk_loop_timer_cancel(t);
	if (t->prev)
		t->prev->next = t->next;
	else
		l->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	l->ntimers--;
	free(t);
}

int mk_loop_timer_arm(struct mk_loop_timer *t, int64_t deadline_ns)
{
	struct mk_loop *l;

	if (!t || deadline_ns < 0)
		return -EINVAL;
	l = t->l;
	if (t->hpos != SIZE_MAX)
		heap_remove(l, t);
	t->deadline = deadline_ns;
	t->seq = ++l->seq;
	heap_place(l, l->nheap++, t);
	heap_up(l, t->hpos);
	return 0;
}

void mk_loop_timer_cancel(struct mk_loop_timer *t)
{
	if (t && t->hpos != SIZE_MAX)
		heap_remove(t->l, t);
}

bool mk_loop_timer_armed(const struct mk_loop_timer *t)
{
	return t && t->hpos != SIZE_MAX;
}

int64_t mk_loop_timer_deadline(const struct mk_loop_timer *t)
{
	return mk_loop_timer_armed(t) ? t->deadline : -1;
}

/* Step 4: the due timers armed before the step began. */
static void timers_run(struct mk_loop *l)
{
	int64_t now;
	uint64_t seq = l->seq;

	if (!l->nheap)
		return;
	now = mk_loop_now_ns();
	while (l->nheap) {
		struct mk_loop_timer *t = l->heap[0];

		if (t->deadline > now || t->seq > seq)
			break;
		heap_remove(l, t);
		t->fn(l, t, t->arg);
	}
}

/* ---- the turn ---- */

void mk_loop_set_poll_ns(struct mk_loop *l, int64_t poll_ns)
{
	l->poll_ns = poll_ns > 0 ? poll_ns : 0;
}

void mk_loop_set_turn_hook(struct mk_loop *l, mk_loop_hook_fn *fn, void *arg)
{
	l->hook = fn;
	l->hook_arg = arg;
	l->hook_more = false;
}

uint64_t mk_loop_sleeps(const struct mk_loop *l)
{
	return l->sleeps;
}

void mk_loop_stop(struct mk_loop *l)
{
	l->stop = true;
}

/* Step 1's timeout in ms before the waitsets are armed; sets *polling. */
static int wait_timeout(struct mk_loop *l, bool block, int64_t now, bool *polling)
{
	int64_t d;

	*polling = l->poll_ns && now - l->last_busy < l->poll_ns;
	if (!block || *polling || l->hook_more)
		return 0;
	for (struct ws_member *m = l->wss; m; m = m->next)
		if (m->pending && !m->dead)
			return 0;
	if (!l->nheap)
		return -1;
	d = l->heap[0]->deadline - now;
	if (d <= 0)
		return 0;
	/* Rounded up: epoll_wait's unit is the millisecond, never early. */
	d = (d + 999999) / 1000000;
	return d > INT_MAX ? INT_MAX : (int)d;
}

int mk_loop_run_once(struct mk_loop *l, bool block)
{
	struct epoll_event evs[MK_LOOP_BATCH];
	bool polling, busy = false, fd_busy = false;
	int64_t now = l->poll_ns || l->nheap ? mk_loop_now_ns() : 0;
	int timeout = wait_timeout(l, block, now, &polling);
	int n, ret = 0;

	if (timeout) {
		ret = ws_arm_all(l);
		if (ret < 0)
			return ret;
		if (ret > 0)
			timeout = 0;
	}
	if (timeout)
		l->sleeps++;
	n = epoll_wait(l->epfd, evs, MK_LOOP_BATCH, timeout);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	/* The window opens when the events came, not after their work: a
	 * long batch must not eat into it. */
	if (n > 0 && l->poll_ns)
		now = mk_loop_now_ns();
	l->in_turn = true;
	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct fd_member *m = fd_get(l, fd);
		uint32_t ev;

		/* Deleted (and maybe replaced) since epoll reported it. */
		if (!m || m->gen != gen)
			continue;
		ev = evs[i].events & (m->events | MK_LOOP_ERR | MK_LOOP_HUP);
		if (!ev)
			continue;
		if (m->fn != ws_fd_ready && m->fn != sig_fd_ready)
			fd_busy = true;
		m->fn(l, fd, ev, m->arg);
	}
	for (struct ws_member *m = l->wss; m; m = m->next)
		if (!m->dead && (m->pending || polling) && ws_dispatch(l, m))
			busy = true;
	if (fd_busy && l->poll_ns)
		l->last_busy = now;
	if (busy && l->poll_ns)
		l->last_busy = mk_loop_now_ns();
	timers_run(l);
	if (l->hook)
		l->hook_more = l->hook(l, l->hook_arg) != 0;
	l->in_turn = false;
	if (l->ws_dead)
		ws_sweep(l);
	return 0;
}

int mk_loop_run(struct mk_loop *l)
{
	if (!l)
		return -EINVAL;
	l->stop = false;
	while (!l->stop) {
		int ret = mk_loop_run_once(l, true);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void mk_loop_destroy(struct mk_loop *l)
{
	if (!l)
		return;
	for (int s = 1; s < NSIG_MAX; s++)
		if (l->sigs[s].fn)
			mk_loop_del_signal(l, s);
	for (struct ws_member *m = l->wss; m; m = m->next)
		m->dead = true;
	ws_sweep(l);
	while (l->timers)
		mk_loop_timer_destroy(l->timers);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l->heap);
	free(l->fds);
	free(l);
}
