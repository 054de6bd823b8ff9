/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk waitsets (issue 3): one thread serving many channels (<mk/chan.h>),
 * waiting for messages to receive and for room to send, and an fd that
 * polls readable when one of them is ready, so an event loop can put
 * channels beside its sockets.
 *
 * A waitset holds channels; a channel is in at most one waitset. Members
 * may use either transport, mixed in one set. A waitset, like a channel
 * end, is used by one thread at a time. Each member waits for events:
 * MK_WAITSET_RECV (what mk_waitset_add() asks for), MK_WAITSET_SEND, or
 * both. The waitset's thread is the receiving thread of its RECV members
 * (the waitset touches the receiving ring's wait line, which belongs to
 * the receiver) and the sending thread of its SEND members (it writes the
 * sending ring's tx_waiting and reads the sender's private view of it).
 *
 * A member is "ready" for
 *   - MK_WAITSET_RECV when its receiving ring holds a message, or the
 *     channel ended (peer closed or died: the caller's mk_chan_recv()
 *     reports -EPIPE once drained; shot down: -ECONNRESET; broken ring:
 *     -EBADMSG);
 *   - MK_WAITSET_SEND when its sending ring has room for at least one
 *     slot (a message of up to 56 bytes: mk_chan_try_send() takes it; a
 *     longer one, sent in fragments, may still find too little room and
 *     get -EAGAIN), or the channel ended or the ring broke, so that a
 *     send fails at once (-EPIPE, -ECONNRESET, -EBADMSG).
 * An ended channel is ready for every event it waits for.
 *
 * mk_waitset_wait_events() finds a ready member and says which of its
 * events are ready (mk_waitset_wait() the same without saying). It is
 * poll-then-block like mk_chan_recv() and mk_chan_send(): it looks at
 * every member for the spin budget, then announces that it sleeps on
 * every member (RECV: sets the receiving ring's wait.sleeping; SEND: sets
 * the sending ring's cons.tx_waiting, as a blocked mk_chan_send() does),
 * puts a full fence, looks again, and only then blocks; the flags are
 * cleared when it returns. Among ready members it takes turns
 * (round-robin from the one after the member returned last), so a busy
 * channel cannot starve the others; the caller takes as many messages
 * from (or sends as many to) the returned channel as it likes. A SEND
 * member with room stays ready: a sender with nothing to send changes it
 * to MK_WAITSET_RECV (mk_waitset_modify()) or the waits never block.
 *
 * Why no send-side wake-up is lost: the protocol of a blocked
 * mk_chan_send() ("Waiting for credits" in <mk/mkchan.h>, argued in
 * libmk/ring.c), once per SEND member. The waitset stores tx_waiting, puts
 * the full fence, then loads the receiver's published head; the receiver
 * stores its head, puts a full fence, then loads tx_waiting. So either
 * the waitset sees the head that gives room and does not block, or the
 * receiver sees the flag and wakes it (FUTEX_WAKE on the head's low half,
 * or MKCHAN_IOC_KICK_CREDITS); the futex wait compares that word with the
 * head loaded after the fence, so a publication it slept through makes it
 * return at once.
 *
 * Costs: a RECV-only set costs its producers what it did before (a load
 * of the wait line per send, a wake-up call only while the set sleeps).
 * Receivers of SEND members pay nothing more either: every publication
 * of a head already loads tx_waiting, and only while a waitset (or a
 * blocked send) waits for credits does it cost a wake-up call (futex or
 * KICK_CREDITS). Looking at a SEND member whose ring looks full loads the
 * receiver's head line, which the spin phase does once per pass. A
 * fallback member takes one futex_waitv() word per event.
 *
 * Blocking:
 *   - only fallback members: one futex_waitv() (Linux >= 5.16) on every
 *     member's words: a RECV member's wait-line futex word, compared with
 *     the value read before the sleep was announced, and a SEND member's
 *     credit word (the low half of the receiver's head,
 *     MKCHAN_RING_CREDIT_FUTEX), compared with the head loaded after the
 *     announcement (the arguments of libmk/ring.c for one ring hold for
 *     each); at most MK_WAITSET_FUTEX_MAX words, one per event of each
 *     fallback member. A peer killed without closing is noticed within
 *     MK_CHAN_LIVENESS_NS (the wait looks at the members' connections
 *     between slices).
 *   - any module member: epoll over the members' fds, EPOLLIN for RECV
 *     and EPOLLOUT for SEND (the kernel's poll reports a message once the
 *     peer KICKs, which it does because the sleep was announced, room
 *     once the peer KICK_CREDITS, which it does because tx_waiting is
 *     set, and a channel's end at once), with the fallback members, if
 *     any, watched by the helper thread below.
 *
 * The fd (mk_waitset_fd()) is an epoll fd holding every member's fd
 * (module: the channel fd, EPOLLIN for RECV, EPOLLOUT for SEND; fallback:
 * the connection socket, which polls readable once the peer is gone) and
 * an eventfd the helper thread signals. Because a producer wakes only a
 * consumer that announced it sleeps (and a consumer only a producer that
 * announced it waits for credits), an event loop calls mk_waitset_arm()
 * before it blocks:
 *
 *	for (;;) {
 *		while (mk_waitset_wait(ws, &ch, 0) == 0)
 *			drain(ch);		// mk_chan_try_recv() until -EAGAIN
 *		if (mk_waitset_arm(ws) > 0)
 *			continue;		// something came meanwhile
 *		epoll_wait(loop_epfd, ...);	// holds mk_waitset_fd(ws)
 *	}
 *
 * mk_waitset_arm() announces the sleep on every member (both flags, as
 * above), fences, and looks again: 1 if a member is ready already (do not
 * block; call mk_waitset_wait() with timeout 0), 0 if not. From a 0 on,
 * any message sent to a RECV member, any publication of credits by a SEND
 * member's receiver, and any end of a member, makes the fd readable: the
 * peer saw the flag and kicked (module: the kernel wakes epoll; fallback:
 * the futex word moved, which the helper thread is waiting on with the
 * values arm read, so it wakes, or does not sleep at all, and signals the
 * eventfd). The fd may also poll readable with nothing ready (a message
 * taken meanwhile, a stale signal): mk_waitset_wait(ws, .., 0) then says
 * -EAGAIN and the loop arms again. A module SEND member with room keeps
 * the fd readable, armed or not (its poll is level-triggered), as it keeps
 * mk_waitset_wait() returning it. While armed, every send to a RECV
 * member costs its producer a wake-up call, as with a sleeping receiver,
 * and every publication by a SEND member's receiver costs it one, as with
 * a blocked sender; mk_waitset_wait() disarms. A blocking mk_chan_recv()
 * (mk_chan_send()) on a member clears that member's RECV (SEND) flag, and
 * a send on a SEND member after arming may use up the room it waits for:
 * arm again after either. A member that ended stays ready (and the fd
 * readable) until it is removed.
 *
 * The helper thread (fallback members only): started by the first
 * mk_waitset_arm() that finds fallback members (or by the first fallback
 * member added to, or given new events in, an armed set), one per
 * waitset, stopped
 * by mk_waitset_destroy(). It sleeps in futex_waitv() on the armed
 * members' futex words (RECV: wait line; SEND: credit word) plus a
 * private control word that membership changes, arms and shutdown bump;
 * per wake-up it costs one extra thread switch (peer -> helper -> eventfd
 * -> caller) against a direct mk_waitset_wait(), and 128 KiB of stack;
 * each mk_waitset_arm() that hands it words costs one FUTEX_WAKE of its
 * control word. Sets with only module members never start it.
 *
 * Closing a member channel removes it from its waitset first
 * (mk_chan_close() calls mk_waitset_remove()).
 *
 * Errors are negative errno values:
 *   -EINVAL     NULL argument; events zero or with bits other than
 *               MK_WAITSET_RECV | MK_WAITSET_SEND
 *   -ENOMEM     out of memory
 *   -EBUSY      add: the channel is already in a waitset (this or another)
 *   -ENOENT     remove, modify: the channel is not in this waitset; wait
 *               without a time limit on an empty set
 *   -ENOSPC     add, modify: the fallback members would need more than
 *               MK_WAITSET_FUTEX_MAX futex words (one per event of each
 *               fallback member: MK_WAITSET_FUTEX_MAX receive-only ones,
 *               or half as many waiting both ways)
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

/* The public API: exported from libmk.so (libmk/libmk.map). */
#pragma GCC visibility push(default)

struct mk_waitset;

/*
 * futex_waitv() takes at most 128 words; the helper thread needs one for
 * its control word. Fallback members take one word per event.
 */
#define MK_WAITSET_FUTEX_MAX		127

/* What a member waits for (see "ready" above); or-ed together. */
#define MK_WAITSET_RECV			0x1u	/* a message, or the end */
#define MK_WAITSET_SEND			0x2u	/* room for one slot, or the end */

/* An empty waitset (an epoll fd and an eventfd; no thread yet). */
int mk_waitset_create(struct mk_waitset **out);

/*
 * Removes every member (clearing the flags it set on them), stops the
 * helper thread, closes the fds. The channels stay open, the caller's.
 * NULL is allowed.
 */
void mk_waitset_destroy(struct mk_waitset *ws);

/*
 * Adds @ch (its receiving direction: mk_waitset_add_events() with
 * MK_WAITSET_RECV). If the set is armed, the new member is armed too (and
 * the fd polls readable if it is ready already).
 */
int mk_waitset_add(struct mk_waitset *ws, struct mk_chan *ch);

/*
 * Adds @ch waiting for @events (MK_WAITSET_RECV, MK_WAITSET_SEND or
 * both), armed if the set is, as mk_waitset_add().
 */
int mk_waitset_add_events(struct mk_waitset *ws, struct mk_chan *ch,
			  unsigned int events);

/*
 * Makes member @ch wait for @events instead. If the set is armed, the
 * flags of events it no longer waits for are cleared and those of new
 * ones set (the fd polls readable if one is ready already). Nothing
 * changes on an error.
 */
int mk_waitset_modify(struct mk_waitset *ws, struct mk_chan *ch,
		      unsigned int events);

/*
 * Removes @ch, clearing the flags the waitset set on it (wait.sleeping,
 * tx_waiting). mk_chan_close() does this itself for a channel still in a
 * waitset.
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
 * mk_waitset_wait() that also stores in *@events (unless @events is NULL)
 * which of the member's events are ready: a non-zero subset of those it
 * waits for (all of them once the channel ended).
 */
int mk_waitset_wait_events(struct mk_waitset *ws, struct mk_chan **ready,
			   unsigned int *events, int64_t timeout_ns);

/*
 * For an event loop, before it blocks on mk_waitset_fd(): 1 when a member
 * is ready already, 0 when the fd will poll readable on the next message,
 * publication of credits or end (see above), or a negative errno: the helper thread could not be
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
 * mk_spin_default_ns() at creation: the measured cost of blocking, or
 * $MK_CHAN_SPIN_NS); 0 blocks at once.
 */
void mk_waitset_set_spin_ns(struct mk_waitset *ws, uint64_t spin_ns);
uint64_t mk_waitset_spin_ns(const struct mk_waitset *ws);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MK_WAITSET_H */
