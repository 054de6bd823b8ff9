/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk ring: the single-producer, single-consumer cache-line ring under
 * every mk channel. It works on a memory block the caller provides (memfd
 * shared memory, pages mapped by mkchan, or plain memory in one process);
 * the layout of that block is the ABI in <mk/mkchan.h> ("Ring layout").
 *
 * One thread sends through a struct mk_ring_tx and one thread receives
 * through a struct mk_ring_rx; neither call blocks, takes a lock or makes
 * a system call. The ring validates everything it reads from the block, so
 * a peer that scribbles over shared memory can make a channel fail with
 * -EBADMSG but cannot make the other side read or write outside the block.
 *
 * Errors are negative errno values:
 *   -EINVAL    bad arguments (size, alignment, slot count)
 *   -EPROTO    the block does not hold a ring of this layout version
 *   -EAGAIN    send: not enough free slots (nothing sent, nothing
 *              overwritten); receive: no message
 *   -EMSGSIZE  message longer than mk_ring_max_msg()
 *   -ENOBUFS   receive buffer too small; the message stays in the ring
 *   -EBADMSG   the peer broke the ring's rules; the endpoint stays broken
 */
#ifndef MK_RING_H
#define MK_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: exported from libmk.so (libmk/libmk.map). */
#pragma GCC visibility push(default)

struct mk_ring_slot;
struct mk_ring_cons;

/*
 * Endpoint state lives in the caller's memory, private to one thread; the
 * fields are libmk's. The geometry is copied out of the block at attach
 * time so that a peer rewriting the block later cannot change it. Keep the
 * endpoints of different threads in different cache lines (the state is
 * written on every call), or they share a line the ring itself avoids.
 */
struct mk_ring_tx {
	struct mk_ring_slot *slots;
	struct mk_ring_cons *cons;	/* writes only its tx_waiting */
	uint64_t tail;		/* next message position */
	uint64_t head;		/* consumer head last seen */
	uint32_t mask;
	uint32_t nslots;
	int err;
};

struct mk_ring_rx {
	const struct mk_ring_slot *slots;
	struct mk_ring_cons *cons;
	uint64_t head;		/* next message position */
	uint64_t published;	/* head last written to the block */
	uint32_t mask;
	uint32_t nslots;
	uint32_t publish_every;
	int err;
	/* How to wake a producer waiting for credits; NULL: the futex. */
	void (*wake_tx)(void *arg);
	void *wake_tx_arg;
};

/* Bytes a ring of @slots slots needs; 0 if @slots is not a valid count. */
size_t mk_ring_bytes(unsigned int slots);

/*
 * The largest message a ring of @slots slots carries: every slot's payload,
 * @slots * 56 bytes (a message may fill an empty ring). 0 for a bad count.
 */
size_t mk_ring_max_msg(unsigned int slots);

/*
 * Lays out an empty ring of @slots slots (a power of two, 2..32768) in
 * @mem, which must be 64-byte aligned and at least mk_ring_bytes(@slots)
 * long. Done once by the creator, before either side attaches.
 */
int mk_ring_init(void *mem, size_t len, unsigned int slots);

/*
 * Attach the producer or the consumer to a ring made by mk_ring_init().
 * @len is how much of @mem the caller has mapped; the ring must fit in it.
 * Each side attaches once, before the first message: both start at
 * message 0.
 */
int mk_ring_attach_tx(struct mk_ring_tx *tx, void *mem, size_t len);
int mk_ring_attach_rx(struct mk_ring_rx *rx, void *mem, size_t len);

/* Largest message this endpoint can carry (see mk_ring_max_msg()). */
size_t mk_ring_tx_max_msg(const struct mk_ring_tx *tx);

/*
 * Sends one message of @len bytes (0 allowed). Messages of more than 56
 * bytes go out as fragments; they are sent whole or not at all. Returns 0,
 * -EAGAIN when the free slots do not hold it, -EMSGSIZE, -EINVAL, -EBADMSG.
 */
int mk_ring_try_send(struct mk_ring_tx *tx, const void *msg, size_t len);

/*
 * Receives one message into @buf (@cap bytes) and stores its length in
 * *@len. Returns 0, -EAGAIN when the ring is empty, -ENOBUFS when @cap is
 * too small (*@len says how much is needed and the message stays in the
 * ring), -EBADMSG.
 */
int mk_ring_try_recv(struct mk_ring_rx *rx, void *buf, size_t cap, size_t *len);

/*
 * Sends @msgs[0..@n) in order, stopping at the first that does not fit.
 * Returns how many were sent (1..@n), or the error of the first message
 * when none was (0 when @n is 0).
 */
int mk_ring_send_batch(struct mk_ring_tx *tx, const struct iovec *msgs,
		       unsigned int n);

/*
 * Receives up to @n messages, message i into @bufs[i] (iov_len is its
 * capacity) with its length in @lens[i]. Stops at an empty ring or at a
 * message that does not fit its buffer (left in the ring). Returns how
 * many were received (1..@n), or the error for the first message when none
 * was (with @lens[0] set on -ENOBUFS; 0 when @n is 0). Credits go back to
 * the producer once per call rather than once per message.
 */
int mk_ring_recv_batch(struct mk_ring_rx *rx, const struct iovec *bufs,
		       size_t *lens, unsigned int n);

/*
 * Poll-then-block ("Waiting" in <mk/mkchan.h>). A consumer with nothing to
 * read spins on the next slot for a budget, then announces that it sleeps
 * and blocks on the ring's futex word; a producer calls mk_ring_notify()
 * after each send, which costs a barrier and a load of the wait line
 * unless the consumer announced it sleeps. The futex word lives in memory
 * both sides map, so the futex is a shared (not process-private) one.
 *
 * The default budget is what blocking costs (the multikernel paper's
 * P ~ C, §5.2), measured: spinning that long bounds the waiting overhead
 * at about twice the blocking cost while a fast peer never pays for a
 * sleep.
 */

/*
 * The default spin budget in ns: $MK_CHAN_SPIN_NS when it is a decimal
 * number (digits only: "-1" is not one);
 * otherwise the cost of blocking, measured once per process the first
 * time it is asked for (half the median round trip of two threads on two
 * CPUs the caller may use, handing a shared futex word back and forth: 20
 * round trips, 1-10 ms), clamped to [MK_SPIN_MIN_NS, MK_SPIN_MAX_NS]; or
 * MK_RING_SPIN_NS_DEFAULT if no thread can be started or the two do not
 * finish within half a second (one cannot run). A futex round trip
 * here moves from 10 to 65 us with the host's load and is ~120 us in a
 * TCG guest, hence a measurement rather than a constant.
 */
uint64_t mk_spin_default_ns(void);

#define MK_SPIN_MIN_NS			1000ULL
#define MK_SPIN_MAX_NS			100000ULL
#define MK_RING_SPIN_NS_DEFAULT		15000ULL	/* when it cannot be measured */

/*
 * Waits until the next message is in the ring (or the slot holds something
 * mk_ring_try_recv() will report as -EBADMSG). Spins for up to @spin_ns
 * (mk_spin_default_ns() if @spin_ns is UINT64_MAX), then blocks; the
 * whole wait lasts at most @timeout_ns (< 0: no limit; a timeout no longer
 * than the spin budget means spin only, never block). Returns 0 when there
 * is something to take or the producer woke it (mk_ring_kick(), or a
 * notify whose message was already taken): the caller looks again, so 0
 * with an empty ring is possible. -ETIMEDOUT, -EBADMSG when the endpoint
 * is broken, or another negative errno from the futex call. A signal does
 * not end the wait. Only the consumer's thread calls it.
 */
int mk_ring_wait(struct mk_ring_rx *rx, uint64_t spin_ns, int64_t timeout_ns);

/*
 * The same, calling @check(@arg) each time just before it blocks, after it
 * announced the sleep and found the ring still empty; a non-zero return
 * ends the wait with that value. A condition that @check sees and that the
 * other side sets before mk_ring_kick() therefore cannot be missed: either
 * @check sees it, or the kick comes after the futex word was read and the
 * sleep ends at once. (Channels use it to look for a hung-up peer.)
 */
int mk_ring_wait_check(struct mk_ring_rx *rx, uint64_t spin_ns, int64_t timeout_ns,
		       int (*check)(void *arg), void *arg);

/*
 * Does the ring hold the next message (or corruption)? A load, no system
 * call: 1 if so, 0 if empty.
 */
int mk_ring_rx_ready(const struct mk_ring_rx *rx);

/*
 * Producer side of the protocol: call after sending. Wakes the consumer if
 * it announced it sleeps; otherwise only a full barrier and one load.
 * Returns 1 if it woke it, 0 if nobody slept.
 */
int mk_ring_notify(struct mk_ring_tx *tx);

/*
 * Bumps the futex word and wakes the consumer whether or not it sleeps:
 * for a producer that goes away, so a blocked consumer wakes up and looks
 * at why (a closed channel, say).
 */
void mk_ring_kick(struct mk_ring_tx *tx);

/*
 * Waiting for credits ("Waiting for credits" in <mk/mkchan.h>): the
 * producer's side of poll-then-block, for a ring too full to take the next
 * message. A consumer that publishes its head while the producer
 * announced it waits wakes it (FUTEX_WAKE on the low half of head, a
 * shared futex); one that never finds the flag set pays a barrier and a
 * load of its own line per publication, which is lazy (see "Credits").
 */

/*
 * Does a message of @len bytes fit in the free slots now? Loads the
 * consumer's head when the last one seen says no. 1 if it fits, 0 if not,
 * -EMSGSIZE, -EBADMSG.
 */
int mk_ring_tx_room(struct mk_ring_tx *tx, size_t len);

/*
 * Waits until a message of @len bytes fits: spins for up to @spin_ns
 * (mk_spin_default_ns() if UINT64_MAX), then blocks on the consumer's
 * head; the whole wait lasts at most @timeout_ns (< 0: no limit; a timeout
 * no longer than the spin budget means spin only). Returns 0 when it fits
 * or the consumer woke it (a publication, or mk_ring_kick_credits(): look
 * again), -ETIMEDOUT, -EMSGSIZE, -EBADMSG, or another negative errno from
 * the futex call. @check, if not NULL, is called just before each sleep,
 * after the announcement and the recheck, as in mk_ring_wait_check(). Only
 * the producer's thread calls it.
 */
int mk_ring_wait_credits(struct mk_ring_tx *tx, size_t len, uint64_t spin_ns,
			 int64_t timeout_ns, int (*check)(void *arg), void *arg);

/*
 * Consumer side: replaces the futex wake-up of a waiting producer with
 * @wake(@arg) (the module transport kicks through its fd). Called from
 * whichever call publishes the head, on the consumer's thread.
 */
void mk_ring_rx_set_credit_waker(struct mk_ring_rx *rx, void (*wake)(void *arg),
				 void *arg);

/*
 * Wakes a producer blocked in mk_ring_wait_credits() whether or not it
 * announced it: for a consumer that goes away.
 */
void mk_ring_kick_credits(struct mk_ring_rx *rx);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MK_RING_H */
