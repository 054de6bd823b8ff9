// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Waitsets: one thread waiting on many channels, for messages to receive
 * and for room to send, and an fd for event loops. The API and the
 * guarantees are in <mk/waitset.h>; the wait-line protocol it extends to
 * many rings is in libmk/ring.c.
 *
 * Why no wake-up is lost, per mode. In each, the waiter runs, for every
 * RECV member ring r:  L0 v[r] = futex (fallback only), S2 sleeping = 1; then
 * one full fence F2; then L2 looks at every ring; and only then blocks.
 * A producer runs S1 (message), F1 (full fence), L1 (load sleeping), and
 * if set bumps the futex word and wakes (fallback: FUTEX_WAKE; module:
 * MKCHAN_IOC_KICK). Per ring this is exactly the store-buffering argument
 * of ring.c: either L2 sees the message, or L1 sees the flag and the
 * producer wakes. What "wakes" means:
 *   - futex_waitv() (fallback members, in the caller or the helper
 *     thread): it compares each word with v[r], read before S2, so a bump
 *     that came after L0 makes it return at once, and one that comes later
 *     finds the waiter queued (the kernel's futex guarantee, per word).
 *   - epoll (module members): KICK runs wake_up() on the channel's wait
 *     queue, where epoll's callback sits from EPOLL_CTL_ADD on; it puts
 *     the member on epoll's ready list, which stays until a poll of the
 *     channel finds it empty, so a kick before epoll_wait() is not lost.
 *     The channel's end wakes the same queue.
 *   - the fd of a fallback member: the helper thread waits with the values
 *     mk_waitset_arm() read (handed over under a lock together with a bump
 *     of its control word, so a helper still asleep with older values
 *     wakes and takes the new ones), and turns any wake into an eventfd
 *     write, which sits in the fd's epoll set.
 * A peer that dies without kicking: module, the kernel ends the channel
 * and wakes the queue; fallback, its socket polls readable (in the fd's
 * epoll set), and a blocked mk_waitset_wait() looks at the sockets every
 * MK_CHAN_LIVENESS_NS.
 *
 * SEND members, the same with the roles of ring.c's credit wait: the
 * waiter runs S2' tx_waiting = 1 (in the sending ring's consumer line)
 * before the same fence F2, and L2' loads the consumer's head (in
 * mk_ring_tx_room(), which reloads it whenever the head seen last says
 * the ring is full); the consumer runs S1' store head, F1', L1' load
 * tx_waiting, and if set wakes (fallback: FUTEX_WAKE on the low half of
 * head; module: MKCHAN_IOC_KICK_CREDITS, which wakes the same queue as
 * KICK). Either L2' sees the room or L1' sees the flag. The futex value
 * is the head itself: a member found full has in tx.head the head L2'
 * loaded after F2, so a publication after L2' changes the word and
 * futex_waitv() returns at once or is woken; epoll's callback on the
 * queue catches a KICK_CREDITS at any time after EPOLL_CTL_ADD, and the
 * module's poll reports EPOLLOUT by the published head. A stale value
 * (older than the word) only makes a wait return at once. A consumer
 * that closes kicks the credit word without moving it: the fallback
 * waiter is then woken if queued, and otherwise finds the end through the
 * socket within MK_CHAN_LIVENESS_NS, as a blocked mk_chan_send() does.
 *
 * Nothing here touches a channel's hot path: a receiver already loads
 * tx_waiting after each publication of its head, and a sender the
 * sleeping flag after each message; the waitset only sets those flags
 * while it sleeps.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mk/waitset.h>

#include "chan_impl.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv		449
#endif

#define HELPER_STACK		(128 * 1024)
/* Events taken per epoll_wait() when looking at the members' fds. */
#define NEVENTS			128

#define EVENTS_ALL		(MK_WAITSET_RECV | MK_WAITSET_SEND)

struct member {
	struct mk_chan *ch;
	unsigned int events;	/* MK_WAITSET_RECV | MK_WAITSET_SEND */
	uint32_t val;		/* fallback RECV: futex word read when armed */
};

struct mk_waitset {
	struct member *m;
	unsigned int n, size;
	unsigned int next;	/* round robin: where the next look starts */
	unsigned int nfallback;
	unsigned int nwords;	/* futex words of the fallback members */
	int epfd, evfd;
	bool armed;		/* sleep flags set on every member */
	uint64_t spin_ns;

	/* The helper thread (fallback members, fd mode); under lock. */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	_Atomic uint32_t ctl;	/* bumped on every change the helper must see */
	bool started, stop;
	bool h_armed;		/* hv holds values to wait on */
	bool h_busy;		/* the helper may be queued on member words */
	int h_err;		/* futex_waitv() failed in the helper (-ENOSYS...) */
	pthread_t thr;
	struct futex_waitv hv[MK_WAITSET_FUTEX_MAX];
	unsigned int hn;
};

/* --- system calls --- */

static long futex_waitv(struct futex_waitv *v, unsigned int n,
			const struct timespec *abs_mono)
{
	return syscall(SYS_futex_waitv, v, n, 0, abs_mono, CLOCK_MONOTONIC);
}

static void futex_wake_private(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void futex_wait_private(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void signal_fd(struct mk_waitset *ws)
{
	uint64_t one = 1;

	/* Fails only when the counter is about to overflow: readable anyway. */
	if (write(ws->evfd, &one, sizeof(one)) < 0) {
		/* nothing to do */
	}
}

static void drain_fd(struct mk_waitset *ws)
{
	uint64_t v;

	if (read(ws->evfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: was not signalled */
	}
}

/* --- members --- */

static struct mkchan_ring_wait *wline(const struct mk_chan *ch)
{
	return &ch->rxr->wait;
}

/* The consumer line of the ring @ch sends on: tx_waiting, head. */
static struct mkchan_ring_cons *cline(const struct mk_chan *ch)
{
	return &ch->txr->cons;
}

/* The credit futex word: the low half of that head. */
static uintptr_t credit_word(const struct mk_chan *ch)
{
	return (uintptr_t)ch->txr + MKCHAN_RING_CREDIT_FUTEX;
}

static bool is_fallback(const struct mk_chan *ch)
{
	return ch->transport == MK_TRANSPORT_FALLBACK;
}

static bool events_valid(unsigned int events)
{
	return events && !(events & ~EVENTS_ALL);
}

/* futex_waitv() words a member waiting for @events takes. */
static unsigned int words_of(const struct mk_chan *ch, unsigned int events)
{
	if (!is_fallback(ch))
		return 0;
	return !!(events & MK_WAITSET_RECV) + !!(events & MK_WAITSET_SEND);
}

/*
 * What the set's epoll watches of @ch: a module channel's fd polls
 * EPOLLIN for a message and EPOLLOUT for room (level-triggered: a
 * SEND-only member must not ask for EPOLLIN, or a queued message would
 * keep the set awake); a fallback connection polls readable once the peer
 * is gone, whatever the member waits for.
 */
static uint32_t epoll_events(const struct mk_chan *ch, unsigned int events)
{
	if (is_fallback(ch))
		return EPOLLIN;
	return (events & MK_WAITSET_RECV ? EPOLLIN : 0) |
	       (events & MK_WAITSET_SEND ? EPOLLOUT : 0);
}

/*
 * Which of @m's events are ready: RECV, a message or corruption in the
 * receiving ring; SEND, room for one slot in the sending ring, or a
 * broken one; both (all it waits for), the channel's end.
 */
static unsigned int member_ready(const struct member *m)
{
	struct mk_chan *ch = m->ch;
	unsigned int r = 0;

	if ((m->events & MK_WAITSET_RECV) && mk_ring_rx_ready(&ch->rx))
		r |= MK_WAITSET_RECV;
	/* Loads the consumer's head only when the last one seen says full. */
	if ((m->events & MK_WAITSET_SEND) && mk_ring_tx_room(&ch->tx, 0))
		r |= MK_WAITSET_SEND;
	if (r != m->events && mk_chan_end_state(ch, false))
		r = m->events;
	return r;
}

/*
 * One pass over the members from the round-robin cursor: an index (its
 * ready events in *@ev) or -1. A pass that finds nothing has looked at
 * every event of every member.
 */
static int scan(const struct mk_waitset *ws, unsigned int *ev)
{
	unsigned int k, i, r;

	for (k = 0; k < ws->n; k++) {
		i = ws->next + k;
		if (i >= ws->n)
			i -= ws->n;
		r = member_ready(&ws->m[i]);
		if (r) {
			*ev = r;
			return (int)i;
		}
	}
	return -1;
}

/*
 * Looks at the fallback members whose connection polls readable (the peer
 * went away): their next mk_chan_end_state() says so. One epoll_wait().
 */
static void look_at_sockets(struct mk_waitset *ws, const struct epoll_event *ev,
			    int nev)
{
	struct epoll_event buf[NEVENTS];
	struct mk_chan *ch;

	if (!ws->nfallback)
		return;
	if (!ev) {
		nev = epoll_wait(ws->epfd, buf, NEVENTS, 0);
		ev = buf;
	}
	for (int i = 0; i < nev; i++) {
		ch = ev[i].data.ptr;
		if (ch && is_fallback(ch))
			mk_chan_end_state(ch, true);
	}
}

/*
 * Sets the flags of @events on @m (S2 with L0 before; S2'), no fence.
 * The member's receiving thread owns wait.sleeping, its sending thread
 * tx_waiting: the set touches only the side it waits on.
 */
static void flags_set(struct member *m, unsigned int events)
{
	struct mkchan_ring_wait *w;

	if (events & MK_WAITSET_RECV) {
		w = wline(m->ch);
		if (is_fallback(m->ch))
			m->val = __atomic_load_n(&w->futex, __ATOMIC_ACQUIRE);
		__atomic_store_n(&w->sleeping, 1, __ATOMIC_RELAXED);
	}
	if (events & MK_WAITSET_SEND)
		__atomic_store_n(&cline(m->ch)->tx_waiting, 1, __ATOMIC_RELAXED);
}

/* Clears them: peers stop paying for wake-ups. Stores only. */
static void flags_clear(const struct member *m, unsigned int events)
{
	if (events & MK_WAITSET_RECV)
		__atomic_store_n(&wline(m->ch)->sleeping, 0, __ATOMIC_RELAXED);
	if (events & MK_WAITSET_SEND)
		__atomic_store_n(&cline(m->ch)->tx_waiting, 0, __ATOMIC_RELAXED);
}

/* Announces the sleep on every member, then F2. */
static void arm_members(struct mk_waitset *ws)
{
	for (unsigned int i = 0; i < ws->n; i++)
		flags_set(&ws->m[i], ws->m[i].events);
	atomic_thread_fence(memory_order_seq_cst);
	ws->armed = true;
}

static void disarm(struct mk_waitset *ws)
{
	if (!ws->armed)
		return;
	for (unsigned int i = 0; i < ws->n; i++)
		flags_clear(&ws->m[i], ws->m[i].events);
	ws->armed = false;
}

/*
 * The armed fallback members' words and values, for futex_waitv(); called
 * after a scan found nothing, so a SEND member's tx.head is the head
 * loaded after the announcement (see the top of the file).
 */
static unsigned int fill_waitv(const struct mk_waitset *ws, struct futex_waitv *v)
{
	const struct member *m;
	unsigned int n = 0;

	for (unsigned int i = 0; i < ws->n; i++) {
		m = &ws->m[i];
		if (!is_fallback(m->ch))
			continue;
		if (m->events & MK_WAITSET_RECV)
			v[n++] = (struct futex_waitv){
				.val = m->val,
				.uaddr = (uintptr_t)&wline(m->ch)->futex,
				.flags = FUTEX_32,	/* shared memory: not private */
			};
		if (m->events & MK_WAITSET_SEND)
			v[n++] = (struct futex_waitv){
				.val = (uint32_t)m->ch->tx.head,
				.uaddr = credit_word(m->ch),
				.flags = FUTEX_32,
			};
	}
	return n;
}

/* --- the helper thread --- */

static void *helper(void *arg)
{
	struct futex_waitv v[MK_WAITSET_FUTEX_MAX + 1];
	struct mk_waitset *ws = arg;
	unsigned int n;
	uint32_t c;
	long r;
	int err;

	pthread_mutex_lock(&ws->lock);
	while (!ws->stop) {
		c = atomic_load(&ws->ctl);
		if (!ws->h_armed) {
			ws->h_busy = false;
			pthread_cond_broadcast(&ws->idle);
			pthread_mutex_unlock(&ws->lock);
			futex_wait_private(&ws->ctl, c);
			pthread_mutex_lock(&ws->lock);
			continue;
		}
		ws->h_busy = true;
		v[0] = (struct futex_waitv){
			.val = c, .uaddr = (uintptr_t)&ws->ctl,
			.flags = FUTEX_32 | FUTEX_PRIVATE_FLAG,
		};
		n = ws->hn;
		memcpy(&v[1], ws->hv, n * sizeof(v[0]));
		pthread_mutex_unlock(&ws->lock);

		r = futex_waitv(v, n + 1, NULL);
		err = r < 0 ? errno : 0;

		pthread_mutex_lock(&ws->lock);
		if (ws->stop)
			break;
		if (atomic_load(&ws->ctl) != c || err == EINTR)
			continue;	/* re-armed, membership changed: start over */
		if (r > 0) {
			/*
			 * FUTEX_WAKE wakes one waiter; if the member's own
			 * thread sleeps on the word too (a blocking recv), it
			 * may have been us: pass the wake on.
			 */
			syscall(SYS_futex, (void *)(uintptr_t)v[r].uaddr, FUTEX_WAKE,
				INT_MAX, NULL, NULL, 0);
		}
		if (err && err != EAGAIN)
			ws->h_err = -err;	/* the next arm reports it */
		if (r > 0 || err) {
			/* A member's word moved (or the call failed): tell. */
			ws->h_armed = false;
			signal_fd(ws);
		}
	}
	ws->h_busy = false;
	pthread_cond_broadcast(&ws->idle);
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

/* Hands the armed fallback members to the helper (under ws->lock). */
static void helper_rearm_locked(struct mk_waitset *ws)
{
	ws->hn = ws->armed ? fill_waitv(ws, ws->hv) : 0;
	ws->h_armed = ws->hn != 0;
	atomic_fetch_add(&ws->ctl, 1);
	futex_wake_private(&ws->ctl);
}

static int helper_arm(struct mk_waitset *ws)
{
	pthread_attr_t attr;
	int ret = 0;

	pthread_mutex_lock(&ws->lock);
	if (!ws->started) {
		ret = -pthread_attr_init(&attr);
		if (!ret) {
			pthread_attr_setstacksize(&attr, HELPER_STACK);
			ret = -pthread_create(&ws->thr, &attr, helper, ws);
			pthread_attr_destroy(&attr);
		}
		ws->started = !ret;
	}
	if (!ret)
		ret = ws->h_err;
	if (!ret)
		helper_rearm_locked(ws);
	pthread_mutex_unlock(&ws->lock);
	return ret;
}

/* Membership changed: a helper waiting must drop or take words. */
static void helper_update(struct mk_waitset *ws)
{
	pthread_mutex_lock(&ws->lock);
	if (ws->started)
		helper_rearm_locked(ws);
	pthread_mutex_unlock(&ws->lock);
}

/*
 * Before this thread waits on the member words itself: the helper must be
 * off them, or a producer's FUTEX_WAKE (one waiter) could go to it.
 */
static void helper_quiesce(struct mk_waitset *ws)
{
	pthread_mutex_lock(&ws->lock);
	if (ws->started && (ws->h_armed || ws->h_busy)) {
		ws->h_armed = false;
		atomic_fetch_add(&ws->ctl, 1);
		futex_wake_private(&ws->ctl);
		while (ws->h_busy)
			pthread_cond_wait(&ws->idle, &ws->lock);
	}
	pthread_mutex_unlock(&ws->lock);
}

/* --- the API --- */

int mk_waitset_create(struct mk_waitset **out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct mk_waitset *ws;
	int ret;

	if (!out)
		return -EINVAL;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->spin_ns = mk_spin_default_ns();
	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	ws->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ws->epfd < 0 || ws->evfd < 0 ||
	    epoll_ctl(ws->epfd, EPOLL_CTL_ADD, ws->evfd, &ev)) {
		ret = -errno;
		goto fail;
	}
	ret = -pthread_mutex_init(&ws->lock, NULL);
	if (ret)
		goto fail;
	ret = -pthread_cond_init(&ws->idle, NULL);
	if (ret) {
		pthread_mutex_destroy(&ws->lock);
		goto fail;
	}
	*out = ws;
	return 0;
fail:
	if (ws->epfd >= 0)
		close(ws->epfd);
	if (ws->evfd >= 0)
		close(ws->evfd);
	free(ws);
	return ret;
}

void mk_waitset_destroy(struct mk_waitset *ws)
{
	if (!ws)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stop = true;
	atomic_fetch_add(&ws->ctl, 1);
	futex_wake_private(&ws->ctl);
	pthread_mutex_unlock(&ws->lock);
	if (ws->started)
		pthread_join(ws->thr, NULL);
	disarm(ws);
	for (unsigned int i = 0; i < ws->n; i++)
		ws->m[i].ch->waitset = NULL;
	pthread_cond_destroy(&ws->idle);
	pthread_mutex_destroy(&ws->lock);
	close(ws->epfd);
	close(ws->evfd);
	free(ws->m);
	free(ws);
}

int mk_waitset_add(struct mk_waitset *ws, struct mk_chan *ch)
{
	return mk_waitset_add_events(ws, ch, MK_WAITSET_RECV);
}

/*
 * A member of an armed set starts (or starts waiting for) @events: the
 * same protocol for the newcomer, and the fd signalled if it is ready.
 * A fallback member's words go to the helper, which is started here if
 * the set was armed without fallback members (empty, or module members
 * only); if it cannot be, the fd is signalled so that the caller's next
 * mk_waitset_arm() reports why.
 */
static void arm_late(struct mk_waitset *ws, struct member *m, unsigned int events)
{
	flags_set(m, events);
	atomic_thread_fence(memory_order_seq_cst);
	if (member_ready(m))
		signal_fd(ws);
	if (is_fallback(m->ch) && helper_arm(ws))
		signal_fd(ws);
}

int mk_waitset_add_events(struct mk_waitset *ws, struct mk_chan *ch,
			  unsigned int events)
{
	struct epoll_event ev;
	unsigned int words;
	struct member *m;

	if (!ws || !ch || !ch->rxr || !ch->txr || !events_valid(events))
		return -EINVAL;
	if (ch->waitset)
		return -EBUSY;
	words = words_of(ch, events);
	if (ws->nwords + words > MK_WAITSET_FUTEX_MAX)
		return -ENOSPC;
	if (ws->n == ws->size) {
		unsigned int size = ws->size ? ws->size * 2 : 8;

		m = reallocarray(ws->m, size, sizeof(*m));
		if (!m)
			return -ENOMEM;
		ws->m = m;
		ws->size = size;
	}
	ev = (struct epoll_event){ .events = epoll_events(ch, events), .data.ptr = ch };
	if (epoll_ctl(ws->epfd, EPOLL_CTL_ADD, mk_chan_fd(ch), &ev))
		return -errno;
	m = &ws->m[ws->n++];
	*m = (struct member){ .ch = ch, .events = events };
	ch->waitset = ws;
	ws->nwords += words;
	if (is_fallback(ch))
		ws->nfallback++;
	if (ws->armed)
		arm_late(ws, m, events);
	return 0;
}

static struct member *find_member(struct mk_waitset *ws, const struct mk_chan *ch)
{
	for (unsigned int i = 0; i < ws->n; i++)
		if (ws->m[i].ch == ch)
			return &ws->m[i];
	return NULL;
}

int mk_waitset_modify(struct mk_waitset *ws, struct mk_chan *ch, unsigned int events)
{
	unsigned int old, words_old, words_new;
	struct epoll_event ev;
	struct member *m;

	if (!ws || !ch || !events_valid(events))
		return -EINVAL;
	if (ch->waitset != ws)
		return -ENOENT;
	m = find_member(ws, ch);
	if (!m)
		return -ENOENT;
	old = m->events;
	if (events == old)
		return 0;
	words_old = words_of(ch, old);
	words_new = words_of(ch, events);
	if (ws->nwords - words_old + words_new > MK_WAITSET_FUTEX_MAX)
		return -ENOSPC;
	if (epoll_events(ch, events) != epoll_events(ch, old)) {
		ev = (struct epoll_event){ .events = epoll_events(ch, events), .data.ptr = ch };
		if (epoll_ctl(ws->epfd, EPOLL_CTL_MOD, mk_chan_fd(ch), &ev))
			return -errno;
	}
	m->events = events;
	ws->nwords = ws->nwords - words_old + words_new;
	if (ws->armed)
		flags_clear(m, old & ~events);
	if (ws->armed && (events & ~old))
		arm_late(ws, m, events & ~old);
	else if (is_fallback(ch))
		helper_update(ws);	/* a helper must drop the words it no longer needs */
	return 0;
}

int mk_waitset_remove(struct mk_waitset *ws, struct mk_chan *ch)
{
	unsigned int i;

	if (!ws || !ch)
		return -EINVAL;
	if (ch->waitset != ws)
		return -ENOENT;
	for (i = 0; i < ws->n && ws->m[i].ch != ch; i++)
		;
	if (i == ws->n)
		return -ENOENT;
	epoll_ctl(ws->epfd, EPOLL_CTL_DEL, mk_chan_fd(ch), NULL);
	if (ws->armed)
		flags_clear(&ws->m[i], ws->m[i].events);
	ws->nwords -= words_of(ch, ws->m[i].events);
	memmove(&ws->m[i], &ws->m[i + 1], (ws->n - i - 1) * sizeof(ws->m[0]));
	ws->n--;
	if (ws->next > i)
		ws->next--;
	if (ws->next >= ws->n)
		ws->next = 0;
	ch->waitset = NULL;
	if (is_fallback(ch)) {
		ws->nfallback--;
		helper_update(ws);
	}
	return 0;
}

unsigned int mk_waitset_count(const struct mk_waitset *ws)
{
	return ws ? ws->n : 0;
}

int mk_waitset_fd(const struct mk_waitset *ws)
{
	return ws ? ws->epfd : -EINVAL;
}

void mk_waitset_set_spin_ns(struct mk_waitset *ws, uint64_t spin_ns)
{
	ws->spin_ns = spin_ns;
}

uint64_t mk_waitset_spin_ns(const struct mk_waitset *ws)
{
	return ws->spin_ns;
}

int mk_waitset_arm(struct mk_waitset *ws)
{
	unsigned int ev;

	if (!ws)
		return -EINVAL;
	/* A stale signal goes first: what is ready now is found below. */
	drain_fd(ws);
	arm_members(ws);
	if (scan(ws, &ev) >= 0)
		return 1;
	if (ws->nfallback)
		return helper_arm(ws);
	return 0;
}

static void abs_time(struct timespec *ts, uint64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/*
 * Blocks with only fallback members: futex_waitv() on all their words,
 * in slices of MK_CHAN_LIVENESS_NS for peers killed without closing.
 * 0 when a member may be ready (the caller scans), -ETIMEDOUT, or an error.
 */
static int block_futex(struct mk_waitset *ws, uint64_t deadline, bool forever)
{
	struct futex_waitv v[MK_WAITSET_FUTEX_MAX];
	struct timespec ts;
	uint64_t now, until;
	unsigned int n, ev;
	long r;

	helper_quiesce(ws);
	for (;;) {
		arm_members(ws);
		if (scan(ws, &ev) >= 0)
			return 0;
		look_at_sockets(ws, NULL, 0);
		if (scan(ws, &ev) >= 0)
			return 0;
		now = mk_mono_ns();
		if (!forever && now >= deadline)
			return -ETIMEDOUT;
		until = now + MK_CHAN_LIVENESS_NS;
		if (!forever && until > deadline)
			until = deadline;
		abs_time(&ts, until);
		n = fill_waitv(ws, v);
		r = futex_waitv(v, n, &ts);
		if (r >= 0)
			return 0;
		if (errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
			return -errno;
		if (errno == EAGAIN)
			return 0;
	}
}

/*
 * Blocks with module members (maybe fallback ones too, through the helper):
 * arm, then epoll_wait() on the set's fd. 0 when a member may be ready.
 */
static int block_epoll(struct mk_waitset *ws, uint64_t deadline, bool forever)
{
	struct epoll_event ev[NEVENTS];
	uint64_t now;
	int ret, ms;

	for (;;) {
		ret = mk_waitset_arm(ws);
		if (ret)
			return ret > 0 ? 0 : ret;
		ms = -1;
		if (!forever) {
			now = mk_mono_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			/* Rounded up: never wake before the deadline. */
			ms = (deadline - now + 999999) / 1000000 > (uint64_t)INT_MAX ?
			     INT_MAX : (int)((deadline - now + 999999) / 1000000);
		}
		ret = epoll_wait(ws->epfd, ev, NEVENTS, ms);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (ret) {
			look_at_sockets(ws, ev, ret);
			return 0;
		}
	}
}

int mk_waitset_wait(struct mk_waitset *ws, struct mk_chan **ready,
		    int64_t timeout_ns)
{
	return mk_waitset_wait_events(ws, ready, NULL, timeout_ns);
}

int mk_waitset_wait_events(struct mk_waitset *ws, struct mk_chan **ready,
			   unsigned int *events, int64_t timeout_ns)
{
	uint64_t start, spin, deadline = 0, spin_end;
	bool forever = timeout_ns < 0;
	unsigned int ev = 0;
	int i, k, ret;

	if (!ws || !ready)
		return -EINVAL;
	i = scan(ws, &ev);
	if (i >= 0)
		goto found;
	if (!timeout_ns) {
		look_at_sockets(ws, NULL, 0);
		i = scan(ws, &ev);
		if (i >= 0)
			goto found;
		return -EAGAIN;
	}
	if (!ws->n && forever)
		return -ENOENT;

	start = mk_mono_ns();
	spin = ws->spin_ns;
	if (spin > (uint64_t)INT64_MAX / 2)
		spin = (uint64_t)INT64_MAX / 2;
	if (!forever) {
		deadline = start + (uint64_t)timeout_ns;
		if ((uint64_t)timeout_ns < spin)
			spin = (uint64_t)timeout_ns;
	}
	spin_end = start + spin;
	/* Reading the clock costs more than a look at a few rings. */
	while (spin) {
		for (k = 0; k < 8; k++) {
			i = scan(ws, &ev);
			if (i >= 0)
				goto found;
			mk_cpu_relax();
		}
		if (mk_mono_ns() >= spin_end)
			break;
	}

	for (;;) {
		if (!forever && mk_mono_ns() >= deadline) {
			look_at_sockets(ws, NULL, 0);
			i = scan(ws, &ev);
			if (i >= 0)
				goto found;
			disarm(ws);
			return -ETIMEDOUT;
		}
		if (!ws->n) {
			struct timespec ts;

			abs_time(&ts, deadline);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		if (ws->n == ws->nfallback)
			ret = block_futex(ws, deadline, forever);
		else
			ret = block_epoll(ws, deadline, forever);
		if (ret && ret != -ETIMEDOUT) {
			disarm(ws);
			return ret;
		}
		i = scan(ws, &ev);
		if (i >= 0)
			goto found;
	}

found:
	disarm(ws);
	ws->next = (unsigned int)i + 1 >= ws->n ? 0 : (unsigned int)i + 1;
	*ready = ws->m[i].ch;
	if (events)
		*events = ev;
	return 0;
}
