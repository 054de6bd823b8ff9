// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mailboxes and channels over the mkchan module (/dev/mkchan; the ABI is
 * "Mailboxes and channels" in <mk/mkchan.h>). The kernel keeps the
 * mailbox table, checks connects, owns the ring pages and ends channels;
 * libmk maps the pages and runs the same rings and wait line as the
 * fallback, with MKCHAN_IOC_WAIT / MKCHAN_IOC_KICK in place of the futex.
 * Sending and receiving themselves are in chan.c, shared by both.
 */
#include <errno.h>
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

/*
 * /dev/mkchan, or $MK_DEV_DIR/mkchan (as libmk/module.c finds it), if it
 * opens and speaks our ABI: the fd, or -ENODEV (absent), -EPROTO (another
 * ABI), another negative errno.
 */
static int open_ctl(void)
{
	struct mkchan_info info = { 0 };
	int fd, ret;

	fd = mk_open_dev("mkchan");
	if (fd < 0)
		return fd == -ENOENT || fd == -ENXIO || fd == -ENODEV ? -ENODEV : fd;
	ret = ioc(fd, MKCHAN_IOC_INFO, &info);
	if (!ret && info.abi_version != MKCHAN_ABI_VERSION)
		ret = -EPROTO;
	else if (ret == -ENOTTY || ret == -EINVAL)
		ret = -EPROTO;	/* not an mk device */
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int mk_kmod_select(int *ctl)
{
	const char *env = getenv("MK_CHAN_TRANSPORT");
	int fd;

	*ctl = -1;
	if (env && !strcmp(env, "fallback"))
		return MK_TRANSPORT_FALLBACK;
	if (env && *env && strcmp(env, "module"))
		return -EINVAL;
	fd = open_ctl();
	if (fd >= 0) {
		*ctl = fd;
		return MK_TRANSPORT_MODULE;
	}
	/* Forced: say why; automatic: fall back. */
	return env && *env ? fd : MK_TRANSPORT_FALLBACK;
}

/* --- mailboxes --- */

int mk_kmod_mbox_create(struct mk_mbox *mb, int ctl)
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

int mk_kmod_mbox_add_alias(struct mk_mbox *mb, uint64_t alias)
{
	int ret;

	if (mk_u64set_has(&mb->names, alias))
		return -EEXIST;
	ret = mk_u64set_add(&mb->names, alias);
	if (ret)
		return ret;
	ret = ioc(mb->fd, MKCHAN_IOC_NAME_ADD, &alias);
	if (ret) {
		mk_u64set_del(&mb->names, alias);
		/* Not ours (checked above): another mailbox has it. */
		return ret == -EEXIST ? -EADDRINUSE : ret;
	}
	return 0;
}

int mk_kmod_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias)
{
	int ret = ioc(mb->fd, MKCHAN_IOC_NAME_DEL, &alias);

	/* The name service may have taken it away meanwhile: forget it too. */
	if (!ret || ret == -ENOENT)
		mk_u64set_del(&mb->names, alias);
	return ret;
}

int mk_kmod_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap)
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

int mk_kmod_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap)
{
	return ioc(mb->fd, MKCHAN_IOC_CAP_DEL, &cap);
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

	ch = mk_chan_new(MK_TRANSPORT_MODULE);
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
	ret = mk_chan_attach(ch, mem, (size_t)info.map_bytes, (size_t)info.ring1_offset,
			     accepting);
	if (ret)
		goto fail;
	ch->home_cpu = (int)info.cpu;
	mk_ring_rx_set_credit_waker(&ch->rx, kick_credits, ch);
	*out = ch;
	return 0;
fail:
	mk_chan_free(ch);
	return ret;
}

int mk_kmod_connect(int ctl, struct mk_chan **out, uint64_t alias, uint64_t cap,
		    unsigned int slots)
{
	struct mkchan_connect req = { .alias = alias, .cap = cap, .slots = slots };
	struct mk_chan *ch;
	int ret;

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

int mk_kmod_mbox_accept(struct mk_mbox *mb, struct mk_chan **out, int timeout_ms)
{
	struct pollfd p = { .fd = mb->fd, .events = POLLIN };
	uint64_t deadline = 0, now;
	struct mkchan_accept res;
	struct mk_chan *ch;
	int ret, wait_ms;

	if (timeout_ms > 0)
		deadline = mk_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	for (;;) {
		memset(&res, 0, sizeof(res));
		ret = ioc(mb->fd, MKCHAN_IOC_ACCEPT, &res);
		if (!ret)
			break;
		if (ret != -EAGAIN)
			return ret;
		if (!timeout_ms)
			return -EAGAIN;
		wait_ms = timeout_ms;
		if (timeout_ms > 0) {
			now = mk_mono_ns();
			if (now >= deadline)
				return -ETIMEDOUT;
			wait_ms = (int)((deadline - now + 999999) / 1000000);
		}
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

void mk_kmod_notify(struct mk_chan *ch)
{
	struct mkchan_ring_wait *w = &ch->txr->wait;

	/* As mk_ring_notify(): order the header store before the load of sleeping. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!__atomic_load_n(&w->sleeping, __ATOMIC_ACQUIRE))
		return;
	__atomic_fetch_add(&w->futex, 1, __ATOMIC_SEQ_CST);
	/* Fails only once the channel ended, which the next call reports. */
	ioctl(ch->fd, MKCHAN_IOC_KICK);
}

/*
 * mk_ring_wait_check() with the futex calls replaced; the argument for no
 * lost wake-up in libmk/ring.c holds as is, the kernel's WAIT checking the
 * word against the value read as FUTEX_WAIT does, and the channel's end
 * waking it too.
 */
int mk_kmod_block(struct mk_chan *ch, uint64_t spin_ns, int64_t timeout_ns)
{
	struct mkchan_ring_wait *w = &ch->rxr->wait;
	struct mkchan_wait req = { .timeout_ns = timeout_ns };
	int ret;

	if (spin_ns) {
		/* A timeout no longer than the budget: spin only, never block. */
		ret = mk_ring_wait(&ch->rx, spin_ns,
				   timeout_ns >= 0 && (uint64_t)timeout_ns < spin_ns ?
				   timeout_ns : (int64_t)spin_ns);
		if (ret != -ETIMEDOUT)
			return ret;
		if (timeout_ns >= 0) {
			if ((uint64_t)timeout_ns <= spin_ns)
				return -ETIMEDOUT;
			req.timeout_ns = timeout_ns - (int64_t)spin_ns;
		}
	}
	req.futex = __atomic_load_n(&w->futex, __ATOMIC_ACQUIRE);
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	ret = 0;
	if (!mk_ring_rx_ready(&ch->rx)) {
		ret = mk_kmod_state(ch);
		if (!ret)
			ret = ioc(ch->fd, MKCHAN_IOC_WAIT, &req);
	}
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	return ret;
}

/*
 * mk_ring_wait_credits() with the futex call replaced, as mk_kmod_block()
 * for messages: the kernel's WAIT compares the low half of the head of the
 * ring we send on with the value read after announcing, and the
 * receiver's KICK_CREDITS, or the channel's end, wakes it.
 */
int mk_kmod_block_credits(struct mk_chan *ch, size_t len, uint64_t spin_ns,
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
					   timeout_ns >= 0 && (uint64_t)timeout_ns < spin_ns ?
					   timeout_ns : (int64_t)spin_ns, NULL, NULL);
		if (ret != -ETIMEDOUT)
			return ret;
		if (timeout_ns >= 0) {
			if ((uint64_t)timeout_ns <= spin_ns)
				return -ETIMEDOUT;
			req.timeout_ns = timeout_ns - (int64_t)spin_ns;
		}
	}
	__atomic_store_n(&cons->tx_waiting, 1, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	ret = mk_ring_tx_room(&ch->tx, len);
	if (!ret) {
		/* Full: the head just loaded (after the fence) is the value. */
		req.futex = (uint32_t)ch->tx.head;
		ret = mk_kmod_state(ch);
		if (!ret)
			ret = ioc(ch->fd, MKCHAN_IOC_WAIT, &req);
	} else if (ret > 0) {
		ret = 0;
	}
	__atomic_store_n(&cons->tx_waiting, 0, __ATOMIC_RELAXED);
	return ret;
}
