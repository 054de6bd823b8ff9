/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libmk's channel layer: the objects behind <mk/chan.h> and the
 * table each transport fills in. chan.c is the transport-independent part
 * (the API, sending, receiving, the wait loop); chan_fallback.c and
 * chan_module.c are the two transports, each one struct
 * chan_transport_ops. Nothing here is ABI.
 */
#ifndef MK_CHAN_IMPL_H
#define MK_CHAN_IMPL_H

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mk/chan.h>
#include <mk/mkchan.h>
#include <mk/ring.h>

#include "internal.h"

struct chan_transport_ops;

/* A small set of 64-bit values: capabilities, a mailbox's own aliases. */
struct u64set {
	uint64_t *v;
	size_t n, size;
};

MK_HIDDEN bool u64set_has(const struct u64set *s, uint64_t x);
MK_HIDDEN int u64set_add(struct u64set *s, uint64_t x);	/* -ENOMEM */
MK_HIDDEN int u64set_del(struct u64set *s, uint64_t x);	/* -ENOENT */

/* Fallback: a listening socket (one per alias) or a connection awaiting its request. */
struct mbox_sock {
	struct mbox_sock *next, *prev;
	int fd;
	bool listening;
	uint64_t alias;
};

struct mk_mbox {
	const struct chan_transport_ops *ops;
	/* fallback: an epoll fd over the sockets; module: the mailbox fd */
	int fd;
	int home_cpu;
	pid_t tid;
	/* fallback: the capabilities; module: the kernel holds them */
	struct u64set caps;
	/* module: the aliases this mailbox holds (-EEXIST vs -EADDRINUSE) */
	struct u64set names;
	/* fallback */
	struct mbox_sock listeners;	/* list heads */
	struct mbox_sock pending;
	unsigned int npending;
};

/*
 * The sending and the receiving thread each write only their own line;
 * the rest is written at set-up, except dead, which only ever goes
 * MKCHAN_RING_OPEN -> MKCHAN_RING_CLOSED_PEER.
 */
struct mk_chan {
	_Alignas(64) struct mk_ring_tx tx;
	unsigned int tx_full;
	_Alignas(64) struct mk_ring_rx rx;
	unsigned int rx_empty;
	/*
	 * Fallback: the peer was seen gone (the socket hung up). Its own
	 * line: both threads may set it.
	 */
	_Alignas(64) _Atomic uint32_t dead;
	/*
	 * Why the channel ended, as the uapi's MKCHAN_RING_* (OPEN while it
	 * lives): the module's info.closed in the receiving ring, written by
	 * the kernel, or &dead. One load tells every send and receive whether
	 * to go on, whatever the transport.
	 */
	const uint32_t *end;
	const struct chan_transport_ops *ops;
	enum mk_transport transport;	/* ops->transport, for waitset.c */
	int fd;		/* fallback: the connection socket; module: the channel fd */
	void *mem;
	size_t len;
	struct mkchan_ring *txr, *rxr;		/* the rings sent on, received from */
	uint64_t spin_ns;
	uint64_t alias;
	int home_cpu;
	pid_t peer_pid;
	uid_t peer_uid;
	gid_t peer_gid;
	void *waitset;		/* the waitset it is in (waitset.c), or NULL */
};

/*
 * A transport: how mailboxes are made and served, channels set up, peers
 * woken, waits slept and ends noticed. One const table per transport
 * (chan_fallback_ops, chan_module_ops); mailboxes and channels point to
 * theirs. Every member is set. Errors are negative errnos as <mk/chan.h>
 * lists them. Mailbox members run on the mailbox's thread (the API is not
 * thread-safe against itself there); channel members on the one thread
 * that sends (wake, wait_send) or receives (look, wait_recv) in the
 * direction concerned, or on the only thread left (hangup). All may sleep
 * in system calls unless said otherwise; none takes a lock.
 *
 * Only set-up, waits and wake-ups go through the table: a send or receive
 * that finds room or a message makes no indirect call (one load of *end,
 * the ring operation, a fence and one load of the peer's sleeping flag).
 */
struct chan_transport_ops {
	enum mk_transport transport;

	/*
	 * Makes @mb's transport side (its fd): @mb has its ops, home_cpu
	 * and tid; @ctl is the /dev/mkchan fd chan_select() opened (the
	 * module's; -1 for the fallback), which the caller closes.
	 */
	int (*mbox_create)(struct mk_mbox *mb, int ctl);
	/* Frees what mbox_create and the others made; the caller closes fd. */
	void (*mbox_close)(struct mk_mbox *mb);
	int (*mbox_add_alias)(struct mk_mbox *mb, uint64_t alias);
	int (*mbox_remove_alias)(struct mk_mbox *mb, uint64_t alias);
	int (*mbox_new_cap)(struct mk_mbox *mb, uint64_t *cap);
	int (*mbox_remove_cap)(struct mk_mbox *mb, uint64_t cap);
	/* As mk_mbox_accept(), arguments checked. */
	int (*mbox_accept)(struct mk_mbox *mb, struct mk_chan **out, int64_t timeout_ns);

	/* As mk_chan_connect_alias(), arguments checked, @slots not 0. */
	int (*connect)(int ctl, struct mk_chan **out, uint64_t alias, uint64_t cap,
		       unsigned int slots, int64_t timeout_ns);
	/*
	 * Looks for a peer gone without *end saying so yet, and records it
	 * there: 0 or -EPIPE. Fallback: one poll() of the connection, so
	 * only when a ring is empty or full or before blocking; module:
	 * the kernel writes *end itself, nothing to look at.
	 */
	int (*look)(struct mk_chan *ch);
	/*
	 * The receiver announced it sleeps (the sending ring's
	 * wait.sleeping, seen after the send's fence): wake it. Never
	 * sleeps.
	 */
	void (*wake)(struct mk_chan *ch);
	/*
	 * One round of waiting for a message: spin for @spin_ns, then
	 * block, for at most @timeout_ns (< 0: no limit). 0 or -ETIMEDOUT
	 * or -EINTR: look again (a round may end before @timeout_ns: the
	 * fallback sleeps for one liveness slice at a time); -EPIPE /
	 * -ECONNRESET: the channel ended; -EBADMSG.
	 */
	int (*wait_recv)(struct mk_chan *ch, uint64_t spin_ns, int64_t timeout_ns);
	/* The same, for room for a message of @len bytes in the ring sent on. */
	int (*wait_send)(struct mk_chan *ch, size_t len, uint64_t spin_ns,
			 int64_t timeout_ns);
	/*
	 * mk_chan_close() before the common part unmaps and closes: ends
	 * the channel for the peer and wakes it if it is blocked.
	 */
	void (*hangup)(struct mk_chan *ch);
};

MK_HIDDEN extern const struct chan_transport_ops chan_fallback_ops;
MK_HIDDEN extern const struct chan_transport_ops chan_module_ops;

/*
 * The transport for a new mailbox or connect ($MK_CHAN_TRANSPORT, else
 * the module when module_probe() finds mkchan with our ABI). For the
 * module, *@ctl is the open /dev/mkchan fd, which the caller closes; -1
 * otherwise. Returns the table, or NULL with the error in *@err.
 */
MK_HIDDEN const struct chan_transport_ops *chan_select(int *ctl, int *err);

/* --- chan.c: transport-independent helpers for the transports --- */

MK_HIDDEN struct mk_chan *chan_new(const struct chan_transport_ops *ops);
MK_HIDDEN void chan_free(struct mk_chan *ch);
/*
 * Attaches @ch's endpoints to the block @mem (@len bytes, already mapped
 * and owned by @ch from now on) whose second ring starts at @off: the
 * connecting end sends on ring 0 and receives on ring 1, the accepting
 * end the other way. -EPROTO when a ring is laid out wrongly.
 */
MK_HIDDEN int chan_attach(struct mk_chan *ch, void *mem, size_t len, size_t off,
			  bool accepting);

/*
 * 0 while the channel is open, -EPIPE once the peer is gone, -ECONNRESET
 * once shot down (module). With @look, ops->look first (fallback: one
 * poll() of the connection); without, only what *end says. For waitset.c.
 */
MK_HIDDEN int mk_chan_end_state(struct mk_chan *ch, bool look);

/* *end as an errno: 0 (open), -EPIPE (peer closed or died), -ECONNRESET (shot down). */
static inline int chan_end_errno(uint32_t end)
{
	if (end == MKCHAN_RING_OPEN)
		return 0;
	return end == MKCHAN_RING_CLOSED_PEER ? -EPIPE : -ECONNRESET;
}

static inline int chan_ended(const struct mk_chan *ch)
{
	return chan_end_errno(__atomic_load_n(ch->end, __ATOMIC_ACQUIRE));
}

/*
 * poll()'s and epoll_wait()'s timeout for the rest of a wait of
 * @timeout_ns that ends at @deadline (mk_mono_ns()): -1 for no limit, 0
 * for none or once the deadline has passed, else milliseconds rounded up
 * (the wait never ends early), at most INT_MAX.
 */
static inline int chan_poll_ms(int64_t timeout_ns, uint64_t deadline)
{
	uint64_t now, ms;

	if (timeout_ns <= 0)
		return timeout_ns < 0 ? -1 : 0;
	now = mk_mono_ns();
	if (now >= deadline)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The deadline of a wait of @timeout_ns starting now (0 for no limit or none). */
static inline uint64_t chan_deadline(int64_t timeout_ns)
{
	uint64_t now;

	if (timeout_ns <= 0)
		return 0;
	now = mk_mono_ns();
	return (uint64_t)timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + (uint64_t)timeout_ns;
}

#endif /* MK_CHAN_IMPL_H */
