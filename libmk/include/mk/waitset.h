/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk waitsets (issue 3): one thread serving the receiving side of many
 * channels (<mk/chan.h>), and an fd that polls readable when one of them
 * has something, so an event loop can put channels beside its sockets.
 *
 * A waitset holds channels; a channel is in at most one waitset. Members
 * may use either transport, mixed in one set. A waitset, like a channel
 * end, is used by one thread at a time; that thread also receives from
 * the members (the waitset touches the receiving ring's wait line, which
 * belongs to the receiving thread).
 *
 * mk_waitset_wait() finds a member that is "ready": its receiving ring
 * holds a message, or the channel ended (peer closed or died: the
 * caller's mk_chan_recv() reports -EPIPE once drained; shot down:
 * -ECONNRESET; broken ring: -EBADMSG). It is poll-then-block like
 * mk_chan_recv(): it looks at every member for the spin budget, then
 * announces that it sleeps on every member's receiving ring (sets
 * wait.sleeping), puts a full fence, looks again, and only then blocks;
 * the flags are cleared when it returns. Among ready members it takes
 * turns (round-robin from the one after the member returned last), so
 * a busy channel cannot starve the others; the caller takes as many
 * messages from the returned channel as it likes.
 *
 * Blocking:
 *   - only fallback members: one futex_waitv() (Linux >= 5.16) on every
 *     member's futex word, compared with the values read before the
 *     sleep was announced (the argument of libmk/ring.c for one ring holds
 *     for each); at most MK_WAITSET_FUTEX_MAX fallback members. A peer
 *     killed without closing is noticed within MK_CHAN_LIVENESS_NS (the
 *     wait looks at the members' connections between slices).
 *   - any module member: epoll over the members' fds (the kernel's poll
 *     reports a message once the peer KICKs, which it does because the
 *     sleep was announced, and reports a channel's end at once), with the
 *     fallback members, if any, watched by the helper thread below.
 *
 * The fd (mk_waitset_fd()) is an epoll fd holding every member's fd
 * (module: the channel fd, EPOLLIN; fallback: the connection socket,
 * which polls readable once the peer is gone) and an eventfd the helper
 * thread signals. Because a producer wakes only a consumer that announced
 * it sleeps, an event loop calls mk_waitset_arm() before it blocks:
 *
 *	for (;;) {
 *		while (mk_waitset_wait(ws, &ch, 0) == 0)
 *			drain(ch);		// mk_chan_try_recv() until -EAGAIN
 *		if (mk_waitset_arm(ws) > 0)
 *			continue;		// something came meanwhile
 *		epoll_wait(loop_epfd, ...);	// holds mk_waitset_fd(ws)
 *	}
 *
 * mk_waitset_arm() announces the sleep on every member, fences, and looks
 * again: 1 if a member is ready already (do not block; call
 * mk_waitset_wait() with timeout 0), 0 if not. From a 0 on, any message
 * sent to a member, and any end of a member, makes the fd readable: the
 * producer saw the flag and kicked (module: the kernel wakes epoll;
 * fallback: the futex word moved, which the helper thread is waiting on
 * with the values arm read, so it wakes, or does not sleep at all, and
 * signals the eventfd). The fd may also poll readable with nothing ready
 * (a message taken meanwhile, a stale signal): mk_waitset_wait(ws, .., 0)
 * then says -EAGAIN and the loop arms again. While armed, every send to a
 * member costs its producer a wake-up call, as with a sleeping receiver;
 * mk_waitset_wait() disarms. A blocking mk_chan_recv() on a member clears
 * that member's flag: arm again after one. A member that ended stays
 * ready (and the fd readable) until it is removed.
 *
 * The helper thread (fallback members only): started by the first
 * mk_waitset_arm() that finds fallback members, one per waitset, stopped
 * by mk_waitset_destroy(). It sleeps in futex_waitv() on the armed
 * members' futex words plus a private control word that membership
 * changes, arms and shutdown bump; per wake-up it costs one extra thread
 * switch (producer -> helper -> eventfd -> caller) against a direct
 * mk_waitset_wait(), and 128 KiB of stack; each mk_waitset_arm() that
 * hands it words costs one FUTEX_WAKE of its control word. Sets with only module members
 * never start it.
 *
 * Closing a member channel while it is in a waitset is not allowed:
 * remove it first.
 *
 * Errors are negative errno values:
 *   -EINVAL     NULL argument
 *   -ENOMEM     out of memory
 *   -EBUSY      add: the channel is already in a waitset (this or another)
 *   -ENOENT     remove: the channel is not in this waitset; wait without
 *               a time limit on an empty set
 *   -ENOSPC     add: the set already holds MK_WAITSET_FUTEX_MAX fallback
 *               members
 *   -ETIMEDOUT  wait: nothing became ready within the timeout
 *   -EAGAIN     wait with timeout 0: nothing is ready now
 *   -ENOSYS     the kernel has no futex_waitv() (Linux < 5.16): fallback
 *               members cannot be waited for
 *   others      from the system calls underneath (-EMFILE, ...)
 */
#ifndef MK_WAITSET_H
#define MK_WAITSET_H

#include <stdint.h>

#include <mk/chan.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mk_waitset;

/*
 * futex_waitv() takes at most 128 words; the helper thread needs one for
 * its control word.
 */
#define MK_WAITSET_FUTEX_MAX		127

/* An empty waitset (an epoll fd and an eventfd; no thread yet). */
int mk_waitset_create(struct mk_waitset **out);

/*
 * Removes every member (clearing the flags it set on them), stops the
 * helper thread, closes the fds. The channels stay open, the caller's.
 * NULL is allowed.
 */
void mk_waitset_destroy(struct mk_waitset *ws);

/*
 * Adds @ch (its receiving direction). If the set is armed, the new member
 * is armed too (and the fd polls readable if it is ready already).
 */
int mk_waitset_add(struct mk_waitset *ws, struct mk_chan *ch);

/*
 * Removes @ch, clearing the sleep flag the waitset set on it.
 * mk_chan_close() does this itself for a channel still in a waitset.
 */
int mk_waitset_remove(struct mk_waitset *ws, struct mk_chan *ch);

/* Number of members. */
unsigned int mk_waitset_count(const struct mk_waitset *ws);

/*
 * Waits until a member is ready and stores it in *@ready. @timeout_ns:
 * 0 looks once (-EAGAIN when nothing is ready), < 0 waits without limit,
 * otherwise -ETIMEDOUT after that long (an empty set just sleeps that
 * long; with no limit it returns -ENOENT at once).
 * A signal does not end the wait.
 */
int mk_waitset_wait(struct mk_waitset *ws, struct mk_chan **ready,
		    int64_t timeout_ns);

/*
 * For an event loop, before it blocks on mk_waitset_fd(): 1 when a member
 * is ready already, 0 when the fd will poll readable on the next message
 * or end (see above), or a negative errno: the helper thread could not be
 * started, or its futex_waitv() failed (-ENOSYS on Linux < 5.16).
 */
int mk_waitset_arm(struct mk_waitset *ws);

/*
 * The epoll fd described above (-EINVAL for NULL); the waitset's: do not
 * close or read it.
 */
int mk_waitset_fd(const struct mk_waitset *ws);

/*
 * Spin budget of mk_waitset_wait() before it blocks, in ns (default
 * MK_RING_SPIN_NS_DEFAULT, or $MK_CHAN_SPIN_NS at creation); 0 blocks at
 * once.
 */
void mk_waitset_set_spin_ns(struct mk_waitset *ws, uint64_t spin_ns);
uint64_t mk_waitset_spin_ns(const struct mk_waitset *ws);

#ifdef __cplusplus
}
#endif

#endif /* MK_WAITSET_H */
