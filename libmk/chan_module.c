// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mailboxes and channels over the mkchan module (/dev/mkchan; the ABI is
 * "Mailboxes and channels" in <mk/mkchan.h>). The kernel keeps the
 * mailbox table, checks connects, owns the ring pages and ends channels;
 * libmk maps the pages and runs the same rings and wait line as the
 * fallback, with MKCHAN_IOC_WAIT / MKCHAN_IOC_KICK in place of the futex.
 * Sending and receiving themselves are in chan.c, shared by both; this
 * file is chan_module_ops (struct chan_transport_ops in chan_impl.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan_impl.h"

static int ioc(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* --- mailboxes --- */

static int chan_module_mbox_create(struct mk_mbox *mb, int ctl)
{
	struct mkchan_mbox_create req = {
		.cpu = mb->home_cpu >= 0 ? (uint32_t)mb->home_cpu : MKCHAN_CPU_CURRENT,
	};
	int ret = ioc(ctl, MKCHAN_IOC_MBOX_CREATE, &req);

	if (ret)
		return ret;
	mb->fd = req.fd;
	return 0;
}

static int chan_module_mbox_add_alias(struct mk_mbox *mb, uint64_t alias)
{
	int ret;

	if (u64set_has(&mb->names, alias))
		return -EEXIST;
	ret = u64set_add(&mb->names, alias);
	if (ret)
		return ret;
	ret = ioc(mb->fd, MKCHAN_IOC_NAME_ADD, &alias);
	if (ret) {
		u64set_del(&mb->names, alias);
		/* Not ours (checked above): another mailbox has it. */
		return ret == -EEXIST ? -EADDRINUSE : ret;
	}
	return 0;
}

static int chan_module_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias)
{
	int ret = ioc(mb->fd, MKCHAN_IOC_NAME_DEL, &alias);

	/* The name service may have taken it away meanwhile: forget it too. */
	if (!ret || ret == -ENOENT)
		u64set_del(&mb->names, alias);
	return ret;
}

static int chan_module_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap)
{
	uint64_t c;
	int ret;

	/* -EEXIST: the kernel drew a token the mailbox already holds. */
	do
		ret = ioc(mb->fd, MKCHAN_IOC_CAP_ADD, &c);
	while (ret == -EEXIST);
	if (!ret)
		*cap = c;
	return ret;
}

static int chan_module_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap)
{
	return ioc(mb->fd, MKCHAN_IOC_CAP_DEL, &cap);
}

/* The kernel holds names and capabilities; the common part closes the fd. */
static void chan_module_mbox_close(struct mk_mbox *mb)
{
	(void)mb;
}

/* --- channels --- */

/* A sender waits for credits on the ring we receive from: wake it. */
static void kick_credits(void *arg)
{
	struct mk_chan *ch = arg;

	/* Fails only once the channel ended, which the next call reports. */
	ioctl(ch->fd, MKCHAN_IOC_KICK_CREDITS);
}

/* Maps the channel behind @fd (which it takes over) into a new mk_chan. */
static int chan_open(int fd, bool accepting, struct mk_chan **out)
{
	struct mkchan_chan_info info;
	struct mk_chan *ch;
	void *mem;
	int ret;

	ch = chan_new(&chan_module_ops);
	if (!ch) {
		close(fd);
		return -ENOMEM;
	}
	ch->fd = fd;
	ret = ioc(fd, MKCHAN_IOC_CHAN_INFO, &info);
	if (ret)
		goto fail;
	if (info.end != (accepting ? MKCHAN_END_ACCEPT : MKCHAN_END_CONNECT) ||
	    !mk_ring_bytes(info.slots) || info.ring1_offset < mk_ring_bytes(info.slots) ||
	    info.map_bytes < info.ring1_offset + mk_ring_bytes(info.slots) ||
	    info.map_bytes > SIZE_MAX) {
		ret = -EPROTO;
		goto fail;
	}
	mem = mmap(NULL, (size_t)info.map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	ret = chan_attach(ch, mem, (size_t)info.map_bytes, (size_t)info.ring1_offset,
			  accepting);
	if (ret)
		goto fail;
	ch->home_cpu = (int)info.cpu;
	/* The kernel writes why the channel ended into the ring we receive from. */
	ch->end = &ch->rxr->info.closed;
	mk_ring_rx_set_credit_waker(&ch->rx, kick_credits, ch);
	*out = ch;
	return 0;
fail:
	chan_free(ch);
	return ret;
}

/* The kernel answers at once: nothing to wait for. */
static int chan_module_connect(int ctl, struct mk_chan **out, uint64_t alias, uint64_t cap,
			       unsigned int slots, int64_t timeout_ns)
{
	struct mkchan_connect req = { .alias = alias, .cap = cap, .slots = slots };
	struct mk_chan *ch;
	int ret;

	(void)timeout_ns;
	ret = ioc(ctl, MKCHAN_IOC_CONNECT, &req);
	if (ret)
		return ret;
	ret = chan_open(req.fd, false, &ch);
	if (ret)
		return ret;
	ch->alias = alias;
	ch->peer_uid = (uid_t)req.owner_uid;
	ch->peer_gid = (gid_t)req.owner_gid;
	*out = ch;
	return 0;
}

static int chan_module_mbox_accept(struct mk_mbox *mb, struct mk_chan **out,
				   int64_t timeout_ns)
{
	struct pollfd p = { .fd = mb->fd, .events = POLLIN };
	uint64_t deadline = chan_deadline(timeout_ns);
	struct mkchan_accept res;
	struct mk_chan *ch;
	int ret, wait_ms;

	for (;;) {
		memset(&res, 0, sizeof(res));
		ret = ioc(mb->fd, MKCHAN_IOC_ACCEPT, &res);
		if (!ret)
			break;
		if (ret != -EAGAIN)
			return ret;
		if (!timeout_ns)
			return -EAGAIN;
		wait_ms = chan_poll_ms(timeout_ns, deadline);
		if (!wait_ms)
			return -ETIMEDOUT;
		if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
			return -errno;
	}
	if (res.reserved) {
		close(res.fd);
		return -EPROTO;
	}
	ret = chan_open(res.fd, true, &ch);
	if (ret)
		return ret;	/* the connecting end sees the channel closed */
	ch->alias = res.alias;
	ch->peer_pid = res.peer_pid;
	ch->peer_uid = (uid_t)res.peer_uid;
	ch->peer_gid = (gid_t)res.peer_gid;
	*out = ch;
	return 0;
}

/* --- the wait line, through the module --- */

/*
 * chan_notify() saw the receiver's sleeping flag after its fence: bump the
 * word as mk_ring_notify() does, so that a WAIT about to compare it fails,
 * and kick.
 */
static void chan_module_wake(struct mk_chan *ch)
{
	struct mkchan_ring_wait *w = &ch->txr->wait;

	__atomic_fetch_add(&w->futex, 1, __ATOMIC_SEQ_CST);
	/* Fails only once the channel ended, which the next call reports. */
	ioctl(ch->fd, MKCHAN_IOC_KICK);
}

/*
 * The spin part of a module wait: as long as the budget, or the timeout if
 * that is shorter (then the wait only spins, never blocks).
 */
static int64_t spin_part(uint64_t spin_ns, int64_t timeout_ns)
{
	return timeout_ns >= 0 && (uint64_t)timeout_ns < spin_ns ?
	       timeout_ns : (int64_t)spin_ns;
}

/*
 * What is left of timeout_ns for the kernel's WAIT (mkchan_wait's
 * timeout) after spin_ns of spinning, in *rest (unchanged when there is
 * no limit); false when nothing is left and the wait has timed out.
 */
static bool rest_after_spin(uint64_t spin_ns, int64_t timeout_ns,
			    __s64 *rest)
{
	if (timeout_ns < 0)
		return true;
	if ((uint64_t)timeout_ns <= spin_ns)
		return false;
	*rest = timeout_ns - (int64_t)spin_ns;
	return true;
}

/*
 * mk_ring_wait_check() with the futex calls replaced; the argument for no
 * lost wake-up in libmk/ring.c holds as is, the kernel's WAIT checking the
 * word against the value read as FUTEX_WAIT does, and the channel's end
 * waking it too.
 */
static int chan_module_wait_recv(struct mk_chan *ch, uint64_t spin_ns, int64_t timeout_ns)
{
	struct mkchan_ring_wait *w = &ch->rxr->wait;
	struct mkchan_wait req = { .timeout_ns = timeout_ns };
	int ret;

	if (spin_ns) {
		ret = mk_ring_wait(&ch->rx, spin_ns, spin_part(spin_ns, timeout_ns));
		if (ret != -ETIMEDOUT)
			return ret;
		if (!rest_after_spin(spin_ns, timeout_ns, &req.timeout_ns))
			return -ETIMEDOUT;
	}
	req.futex = __atomic_load_n(&w->futex, __ATOMIC_ACQUIRE);
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	ret = 0;
	if (!mk_ring_rx_ready(&ch->rx)) {
		ret = chan_ended(ch);
		if (!ret)
			ret = ioc(ch->fd, MKCHAN_IOC_WAIT, &req);
	}
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	return ret;
}

/*
 * mk_ring_wait_credits() with the futex call replaced, as chan_module_wait_recv()
 * for messages: the kernel's WAIT compares the low half of the head of the
 * ring we send on with the value read after announcing, and the
 * receiver's KICK_CREDITS, or the channel's end, wakes it.
 */
static int chan_module_wait_send(struct mk_chan *ch, size_t len, uint64_t spin_ns,
				 int64_t timeout_ns)
{
	struct mkchan_ring_cons *cons = &ch->txr->cons;
	struct mkchan_wait req = {
		.flags = MKCHAN_WAIT_CREDITS,
		.timeout_ns = timeout_ns,
	};
	int ret;

	if (spin_ns) {
		ret = mk_ring_wait_credits(&ch->tx, len, spin_ns,
					   spin_part(spin_ns, timeout_ns), NULL, NULL);
		if (ret != -ETIMEDOUT)
			return ret;
		if (!rest_after_spin(spin_ns, timeout_ns, &req.timeout_ns))
			return -ETIMEDOUT;
	}
	__atomic_store_n(&cons->tx_waiting, 1, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	ret = mk_ring_tx_room(&ch->tx, len);
	if (!ret) {
		/* Full: the head just loaded (after the fence) is the value. */
		req.futex = (uint32_t)ch->tx.head;
		ret = chan_ended(ch);
		if (!ret)
			ret = ioc(ch->fd, MKCHAN_IOC_WAIT, &req);
	} else if (ret > 0) {
		ret = 0;
	}
	__atomic_store_n(&cons->tx_waiting, 0, __ATOMIC_RELAXED);
	return ret;
}

/* The kernel records the end in *end itself. */
static int chan_module_look(struct mk_chan *ch)
{
	(void)ch;
	return 0;
}

/* Closing the fd (the common part does) ends the channel; the kernel wakes the peer. */
static void chan_module_hangup(struct mk_chan *ch)
{
	(void)ch;
}

const struct chan_transport_ops chan_module_ops = {
	.transport = MK_TRANSPORT_MODULE,
	.mbox_create = chan_module_mbox_create,
	.mbox_close = chan_module_mbox_close,
	.mbox_add_alias = chan_module_mbox_add_alias,
	.mbox_remove_alias = chan_module_mbox_remove_alias,
	.mbox_new_cap = chan_module_mbox_new_cap,
	.mbox_remove_cap = chan_module_mbox_remove_cap,
	.mbox_accept = chan_module_mbox_accept,
	.connect = chan_module_connect,
	.look = chan_module_look,
	.wake = chan_module_wake,
	.wait_recv = chan_module_wait_recv,
	.wait_send = chan_module_wait_send,
	.hangup = chan_module_hangup,
};
