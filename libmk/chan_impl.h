/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private to libmk's channel layer: the objects behind <mk/chan.h>, shared
 * by the transport-independent code and the fallback transport (chan.c)
 * and the module transport (chan_kmod.c). Nothing here is ABI.
 */
#ifndef MK_CHAN_IMPL_H
#define MK_CHAN_IMPL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mk/chan.h>
#include <mk/mkchan.h>
#include <mk/ring.h>

#include "internal.h"

/* A small set of 64-bit values: capabilities, a mailbox's own aliases. */
struct mk_u64set {
	uint64_t *v;
	size_t n, size;
};

MK_HIDDEN bool mk_u64set_has(const struct mk_u64set *s, uint64_t x);
MK_HIDDEN int mk_u64set_add(struct mk_u64set *s, uint64_t x);	/* -ENOMEM */
MK_HIDDEN int mk_u64set_del(struct mk_u64set *s, uint64_t x);	/* -ENOENT */

/* Fallback: a listening socket (one per alias) or a connection awaiting its request. */
struct mbox_sock {
	struct mbox_sock *next, *prev;
	int fd;
	bool listening;
	uint64_t alias;
};

struct mk_mbox {
	enum mk_transport transport;
	/* fallback: an epoll fd over the sockets; module: the mailbox fd */
	int fd;
	int home_cpu;
	pid_t tid;
	/* fallback: the capabilities; module: the kernel holds them */
	struct mk_u64set caps;
	/* module: the aliases this mailbox holds (-EEXIST vs -EADDRINUSE) */
	struct mk_u64set names;
	/* fallback */
	struct mbox_sock listeners;	/* list heads */
	struct mbox_sock pending;
	unsigned int npending;
};

/*
 * The sending and the receiving thread each write only their own line;
 * the rest is written at set-up, except dead, which only ever goes 0 -> 1.
 */
struct mk_chan {
	_Alignas(64) struct mk_ring_tx tx;
	unsigned int tx_full;
	_Alignas(64) struct mk_ring_rx rx;
	unsigned int rx_empty;
	_Alignas(64) atomic_int dead;		/* fallback: peer seen gone */
	enum mk_transport transport;
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

/* --- chan.c: transport-independent helpers --- */

MK_HIDDEN struct mk_chan *mk_chan_new(enum mk_transport t);
MK_HIDDEN void mk_chan_free(struct mk_chan *ch);
/*
 * Attaches @ch's endpoints to the block @mem (@len bytes, already mapped
 * and owned by @ch from now on) whose second ring starts at @off: the
 * connecting end sends on ring 0 and receives on ring 1, the accepting
 * end the other way. -EPROTO when a ring is laid out wrongly.
 */
MK_HIDDEN int mk_chan_attach(struct mk_chan *ch, void *mem, size_t len, size_t off,
			     bool accepting);

/*
 * 0 while the channel is open, -EPIPE once the peer is gone, -ECONNRESET
 * once shot down (module). Fallback: with @look, one poll() of the
 * connection; without, only what was seen before. For waitset.c.
 */
MK_HIDDEN int mk_chan_end_state(struct mk_chan *ch, bool look);

/* --- chan_kmod.c: the module transport --- */

/*
 * Which transport a new mailbox or connect uses ($MK_CHAN_TRANSPORT, else
 * the module when its device opens and speaks our ABI). For the module,
 * *@ctl is an open /dev/mkchan fd the caller closes; -1 otherwise.
 */
MK_HIDDEN int mk_kmod_select(int *ctl);

MK_HIDDEN int mk_kmod_mbox_create(struct mk_mbox *mb, int ctl);
MK_HIDDEN int mk_kmod_mbox_add_alias(struct mk_mbox *mb, uint64_t alias);
MK_HIDDEN int mk_kmod_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias);
MK_HIDDEN int mk_kmod_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap);
MK_HIDDEN int mk_kmod_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap);
MK_HIDDEN int mk_kmod_mbox_accept(struct mk_mbox *mb, struct mk_chan **out,
				  int timeout_ms);
MK_HIDDEN int mk_kmod_connect(int ctl, struct mk_chan **out, uint64_t alias,
			      uint64_t cap, unsigned int slots);
/* After a send: kick the peer through the module if it announced it sleeps. */
MK_HIDDEN void mk_kmod_notify(struct mk_chan *ch);
/*
 * Waits for the next message like mk_ring_wait() (spin, then sleep in
 * MKCHAN_IOC_WAIT). 0: look again; -ETIMEDOUT; -EPIPE / -ECONNRESET when
 * the channel ended; -EINTR; -EBADMSG.
 */
MK_HIDDEN int mk_kmod_block(struct mk_chan *ch, uint64_t spin_ns, int64_t timeout_ns);

/*
 * Waits until a message of @len bytes fits in the ring sent on, like
 * mk_ring_wait_credits() (spin, then sleep in MKCHAN_IOC_WAIT with
 * MKCHAN_WAIT_CREDITS). 0: look again; as mk_kmod_block() otherwise.
 */
MK_HIDDEN int mk_kmod_block_credits(struct mk_chan *ch, size_t len, uint64_t spin_ns,
				    int64_t timeout_ns);

/* Module transport: 0 while open, -EPIPE (peer closed) or -ECONNRESET (shot down). */
static inline int mk_kmod_state(const struct mk_chan *ch)
{
	uint32_t c = __atomic_load_n(&ch->rxr->info.closed, __ATOMIC_ACQUIRE);

	if (c == MKCHAN_RING_OPEN)
		return 0;
	return c == MKCHAN_RING_CLOSED_PEER ? -EPIPE : -ECONNRESET;
}

#endif /* MK_CHAN_IMPL_H */
