/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk's event loop (issue 11): one thread, epoll, and everything a
 * daemon waits for as a member of one loop: file descriptors, timers,
 * signals and waitsets of channels (<mk/waitset.h>). The shape of Redis's
 * ae.c: members with callbacks, a turn that waits once and dispatches
 * what is ready, a hook before the next wait.
 *
 * One turn of mk_loop_run():
 *   1. the wait: epoll_wait() on every fd member (the waitsets' fds
 *      among them), up to MK_LOOP_BATCH events. It does not block
 *      (timeout 0) while the poll window is open (below), while a timer
 *      is due, while a waitset was found ready, or when the turn hook
 *      asked for it; otherwise it blocks until the first timer's
 *      deadline (rounded up to a millisecond: a timer never fires early)
 *      or for ever. Before a wait that may block, every waitset member is
 *      armed (mk_waitset_arm()): a waitset with a member ready already
 *      makes the wait not block, and one armed with nothing ready makes
 *      its fd readable on the next message, so no message is missed
 *      between the last look and the sleep;
 *   2. the fd callbacks, in the order epoll reported them;
 *   3. the waitset callbacks: for each waitset whose fd polled readable,
 *      that arm found ready, or, while the poll window is open, every
 *      waitset, the callback gets each ready channel in turn
 *      (mk_waitset_wait_events() with timeout 0, round-robin), at most
 *      MK_LOOP_WAITSET_BATCH per waitset and turn (a channel left
 *      undrained comes back next turn, without blocking);
 *   4. the timers that are due, earliest deadline first (equal deadlines:
 *      in the order they were armed); a timer armed during this step
 *      runs on a later turn at the earliest;
 *   5. the turn hook (mk_loop_set_turn_hook()), if any.
 *
 * Poll-then-block (DESIGN.md §4: poll for about the cost of blocking
 * before blocking): with a poll window of P ns (mk_loop_set_poll_ns()),
 * after a turn that dispatched an fd event or a channel the loop keeps
 * waiting with timeout 0, looking at every waitset without arming it,
 * for P ns before it blocks again. A peer that writes meanwhile then
 * finds the loop awake and pays no wake-up (a cross-CPU wake-up is paid
 * by the writer), and a waitset that is not armed costs its producers no
 * wake-up call. The price is up to P ns of one CPU after each burst.
 *
 * Reentrancy: every callback runs on the loop's thread, from
 * mk_loop_run(), never from signal context. From inside any callback the
 * loop may be changed freely:
 *   - mk_loop_del_fd(), mk_loop_del_waitset(), mk_loop_del_signal() on
 *     any member, the running one included: a member deleted during a
 *     turn gets no further callback in that turn, even if epoll reported
 *     it already, and even if its fd number is reused by a member added
 *     in the same turn (events carry a registration generation);
 *   - mk_loop_mod_fd(): the events still to be dispatched this turn are
 *     masked with the new events (MK_LOOP_ERR and MK_LOOP_HUP always
 *     pass);
 *   - mk_loop_add_*(): a new member takes part from the next wait on;
 *   - mk_loop_timer_arm(), _cancel(), _destroy() on any timer, the
 *     running one included (a timer's callback may re-arm it, making it
 *     periodic, or destroy it; the loop touches a timer no more after
 *     calling its callback); a cancelled timer that was due in this turn
 *     does not run;
 *   - mk_loop_stop(): mk_loop_run() returns after this turn.
 * mk_loop_destroy() must not be called from a callback. A waitset may not
 * be destroyed while it is a member: delete it first. An fd is the
 * caller's: delete it from the loop before closing it (a closed fd leaves
 * epoll silently, but the loop's table would keep it).
 *
 * A loop is used by one thread at a time. Times are int64_t nanoseconds
 * of CLOCK_MONOTONIC (mk_loop_now_ns()). Errors are negative errno values:
 *   -EINVAL   NULL argument, bad events, fd < 0, bad signal number,
 *             negative deadline
 *   -EEXIST   add: the fd, waitset or signal is already a member
 *   -ENOENT   mod, del: not a member
 *   -ENOMEM   out of memory
 *   others    from epoll_ctl(), signalfd(), mk_waitset_arm() (-ENOSYS:
 *             a fallback channel on Linux < 5.16) ...
 */
#ifndef MK_LOOP_H
#define MK_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <mk/waitset.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mk_loop;
struct mk_loop_timer;
struct signalfd_siginfo;

/* Events of an fd member: epoll's values (EPOLLIN, ...), checked in loop.c. */
#define MK_LOOP_IN		0x001u	/* readable */
#define MK_LOOP_OUT		0x004u	/* writable */
#define MK_LOOP_ERR		0x008u	/* error: always reported */
#define MK_LOOP_HUP		0x010u	/* hang-up: always reported */
#define MK_LOOP_RDHUP		0x2000u	/* the peer shut its writing half */

/* Events one epoll_wait() takes; ready channels per waitset and turn. */
#define MK_LOOP_BATCH		256
#define MK_LOOP_WAITSET_BATCH	64

/* @events: what epoll reported, masked with what the member waits for. */
typedef void mk_loop_fd_fn(struct mk_loop *l, int fd, uint32_t events, void *arg);
/* One ready channel of member @ws, with its ready events (MK_WAITSET_*). */
typedef void mk_loop_chan_fn(struct mk_loop *l, struct mk_waitset *ws,
			     struct mk_chan *ch, unsigned int events, void *arg);
typedef void mk_loop_timer_fn(struct mk_loop *l, struct mk_loop_timer *t, void *arg);
/* One delivery of the signal (one signalfd record). */
typedef void mk_loop_signal_fn(struct mk_loop *l, const struct signalfd_siginfo *si,
			       void *arg);
/* Last in each turn; non-zero: the next wait must not block. */
typedef int mk_loop_hook_fn(struct mk_loop *l, void *arg);

/* An empty loop (an epoll fd). */
int mk_loop_create(struct mk_loop **out);
/*
 * Frees the loop, its members and every timer made for it (their handles
 * are then invalid). Fds and waitsets stay the caller's, open; signals
 * the loop blocked are unblocked. NULL is allowed.
 */
void mk_loop_destroy(struct mk_loop *l);

/*
 * Runs turns (above) until mk_loop_stop(): 0, or a negative errno when
 * epoll_wait() or mk_waitset_arm() fails (the loop stays usable).
 */
int mk_loop_run(struct mk_loop *l);
/* One turn; @block false: the wait does not block. 0 or a negative errno. */
int mk_loop_run_once(struct mk_loop *l, bool block);
/* mk_loop_run() returns after the current turn. */
void mk_loop_stop(struct mk_loop *l);

/* Poll window in ns (default 0: block as soon as nothing is ready). */
void mk_loop_set_poll_ns(struct mk_loop *l, int64_t poll_ns);
/* Runs @fn last in every turn (NULL: none). */
void mk_loop_set_turn_hook(struct mk_loop *l, mk_loop_hook_fn *fn, void *arg);
/* Waits that could block (timeout not 0) so far: how often the loop slept. */
uint64_t mk_loop_sleeps(const struct mk_loop *l);
/* CLOCK_MONOTONIC in ns. */
int64_t mk_loop_now_ns(void);

/*
 * Fd members (level-triggered): @events of MK_LOOP_IN, _OUT, _RDHUP (0
 * is allowed: only errors and hang-ups are reported); one member per fd.
 */
int mk_loop_add_fd(struct mk_loop *l, int fd, uint32_t events, mk_loop_fd_fn *fn,
		   void *arg);
int mk_loop_mod_fd(struct mk_loop *l, int fd, uint32_t events);
int mk_loop_del_fd(struct mk_loop *l, int fd);

/*
 * Waitset members: the loop holds mk_waitset_fd(@ws) in its epoll and
 * hands @fn the ready channels (above). The waitset stays the caller's;
 * channels are added to it and removed with <mk/waitset.h> as usual, also
 * from callbacks (a channel added to an armed set is armed with it). The
 * waitset's own spin budget is not used: the loop never blocks in
 * mk_waitset_wait(), its poll window takes that budget's place.
 */
int mk_loop_add_waitset(struct mk_loop *l, struct mk_waitset *ws, mk_loop_chan_fn *fn,
			void *arg);
int mk_loop_del_waitset(struct mk_loop *l, struct mk_waitset *ws);

/*
 * Signals through one signalfd: the signal is blocked in the calling
 * thread (block it in every thread, or before making any, so that it is
 * not delivered elsewhere) and @fn runs in the loop for each delivery.
 * Deleting it unblocks it again unless it was blocked before it was added.
 */
int mk_loop_add_signal(struct mk_loop *l, int signo, mk_loop_signal_fn *fn, void *arg);
int mk_loop_del_signal(struct mk_loop *l, int signo);

/*
 * Timers: a min-heap by deadline; arming, re-arming and cancelling are
 * O(log n) and never fail for lack of memory (the room is taken by
 * _create). A timer is disarmed when its callback is called.
 */
int mk_loop_timer_create(struct mk_loop *l, mk_loop_timer_fn *fn, void *arg,
			 struct mk_loop_timer **out);
/* Cancels it and frees it. NULL is allowed. */
void mk_loop_timer_destroy(struct mk_loop_timer *t);
/* Fires at @deadline_ns (mk_loop_now_ns() time; in the past: next turn). Re-arms an armed one. */
int mk_loop_timer_arm(struct mk_loop_timer *t, int64_t deadline_ns);
/* Disarms it (nothing if not armed). */
void mk_loop_timer_cancel(struct mk_loop_timer *t);
bool mk_loop_timer_armed(const struct mk_loop_timer *t);
/* Its deadline while armed, else -1. */
int64_t mk_loop_timer_deadline(const struct mk_loop_timer *t);

#ifdef __cplusplus
}
#endif

#endif /* MK_LOOP_H */
