// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mailboxes and channels: the transport-independent part. The API and its
 * guarantees are in <mk/chan.h>. Which transport a mailbox or channel uses
 * is its ops table (struct chan_transport_ops, chan_impl.h): the user-space
 * fallback (chan_fallback.c) or the mkchan module (chan_module.c). Sending
 * and receiving run the shared rings here, for both; only set-up, waits,
 * wake-ups and the look for a vanished peer go through the table.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mk/waitset.h>

#include "chan_impl.h"

/* Empty polls or full rings between two looks at the connection. */
#define LIVENESS_EVERY	256

/* --- helpers --- */

uint64_t mk_name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* --- small sets of 64-bit values --- */

bool u64set_has(const struct u64set *s, uint64_t x)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == x)
			return true;
	return false;
}

int u64set_add(struct u64set *s, uint64_t x)
{
	if (s->n == s->size) {
		size_t size = s->size ? s->size * 2 : 4;
		uint64_t *v = reallocarray(s->v, size, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->size = size;
	}
	s->v[s->n++] = x;
	return 0;
}

int u64set_del(struct u64set *s, uint64_t x)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i] == x) {
			s->v[i] = s->v[--s->n];
			return 0;
		}
	}
	return -ENOENT;
}

/* --- transports --- */

const struct chan_transport_ops *chan_select(int *ctl, int *err)
{
	const char *env = getenv("MK_CHAN_TRANSPORT");
	int fd;

	*ctl = -1;
	*err = 0;
	if (env && !strcmp(env, "fallback"))
		return &chan_fallback_ops;
	if (env && *env && strcmp(env, "module")) {
		*err = -EINVAL;
		return NULL;
	}
	fd = module_probe(MK_MODULE_MKCHAN, NULL);
	if (fd >= 0) {
		*ctl = fd;
		return &chan_module_ops;
	}
	/* Automatic: fall back. Forced: say why, in <mk/chan.h>'s words. */
	if (!env || !*env)
		return &chan_fallback_ops;
	*err = fd == -ENOENT ? -ENODEV : fd == -ENOTTY ? -EPROTO : fd;
	return NULL;
}

const char *mk_transport_name(enum mk_transport t)
{
	switch (t) {
	case MK_TRANSPORT_FALLBACK:
		return "fallback";
	case MK_TRANSPORT_MODULE:
		return "module";
	}
	return NULL;
}

enum mk_transport mk_mbox_transport(const struct mk_mbox *mb)
{
	return mb->ops->transport;
}

enum mk_transport mk_chan_transport(const struct mk_chan *ch)
{
	return ch->transport;
}

int mk_chan_default_transport(void)
{
	const struct chan_transport_ops *ops;
	int ctl, err;

	ops = chan_select(&ctl, &err);
	if (ctl >= 0)
		close(ctl);
	return ops ? (int)ops->transport : err;
}

size_t mk_chan_ring_offset(unsigned int slots)
{
	size_t b = mk_ring_bytes(slots);

	return b ? (b + MK_CHAN_RING_ALIGN - 1) & ~(size_t)(MK_CHAN_RING_ALIGN - 1) : 0;
}

size_t mk_chan_shm_bytes(unsigned int slots)
{
	return 2 * mk_chan_ring_offset(slots);
}

/* --- channels: life cycle --- */

struct mk_chan *chan_new(const struct chan_transport_ops *ops)
{
	size_t size = (sizeof(struct mk_chan) + 63) & ~(size_t)63;
	struct mk_chan *ch = aligned_alloc(64, size);

	if (!ch)
		return NULL;
	memset(ch, 0, size);
	ch->ops = ops;
	ch->transport = ops->transport;
	ch->end = (const uint32_t *)&ch->dead;
	ch->fd = -1;
	ch->home_cpu = -1;
	ch->peer_uid = (uid_t)-1;
	ch->peer_gid = (gid_t)-1;
	ch->spin_ns = mk_spin_default_ns();
	return ch;
}

int chan_attach(struct mk_chan *ch, void *mem, size_t len, size_t off, bool accepting)
{
	char *r0 = mem, *r1 = (char *)mem + off;
	int ret;

	ch->mem = mem;
	ch->len = len;
	if (off >= len)
		return -EPROTO;
	ch->txr = (struct mkchan_ring *)(accepting ? r1 : r0);
	ch->rxr = (struct mkchan_ring *)(accepting ? r0 : r1);
	ret = mk_ring_attach_tx(&ch->tx, ch->txr, accepting ? len - off : off);
	if (!ret)
		ret = mk_ring_attach_rx(&ch->rx, ch->rxr, accepting ? off : len - off);
	/* A ring the peer laid out wrongly is a protocol error, not ours. */
	return ret ? -EPROTO : 0;
}

void chan_free(struct mk_chan *ch)
{
	if (ch->mem)
		munmap(ch->mem, ch->len);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

void mk_chan_close(struct mk_chan *ch)
{
	if (!ch)
		return;
	/* A set must not keep a channel that is gone. */
	if (ch->waitset)
		mk_waitset_remove(ch->waitset, ch);
	ch->ops->hangup(ch);
	chan_free(ch);
}

/*
 * Has the channel ended? One load of *end; with @look, the transport
 * looks too (fallback: one poll() of the connection, done only when the
 * ring is empty or full, or before blocking).
 */
int mk_chan_end_state(struct mk_chan *ch, bool look)
{
	int ret = chan_ended(ch);

	if (ret || !look)
		return ret;
	return ch->ops->look(ch);
}

/*
 * After a send: wake the receiver if it announced it sleeps. F1 of the
 * argument in libmk/ring.c, as mk_ring_notify() does it: the fence orders
 * the header store before the load of sleeping, so either we see the flag
 * or the receiver, which fences after setting it, sees the message. Only
 * a receiver that sleeps costs an indirect call (and a system call).
 */
static inline void chan_notify(struct mk_chan *ch)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (__atomic_load_n(&ch->txr->wait.sleeping, __ATOMIC_ACQUIRE))
		ch->ops->wake(ch);
}

/*
 * The ring was empty and the channel ended with @why. Shot down: at once.
 * The peer is gone: what it sent before going is delivered first (its
 * stores came before its exit, which came before we saw the hang-up or
 * the kernel's info.closed), -EPIPE after that.
 */
static int recv_after_end(struct mk_chan *ch, int why, void *buf, size_t cap,
			  size_t *len)
{
	int ret;

	if (why != -EPIPE)
		return why;
	ret = mk_ring_try_recv(&ch->rx, buf, cap, len);
	return ret == -EAGAIN ? -EPIPE : ret;
}

/* --- accessors --- */

size_t mk_chan_max_msg(const struct mk_chan *ch)
{
	return mk_ring_tx_max_msg(&ch->tx);
}

void mk_chan_set_spin_ns(struct mk_chan *ch, uint64_t spin_ns)
{
	ch->spin_ns = spin_ns;
}

uint64_t mk_chan_spin_ns(const struct mk_chan *ch)
{
	return ch->spin_ns;
}

int mk_chan_peer(const struct mk_chan *ch, pid_t *pid, uid_t *uid, gid_t *gid)
{
	if (!ch)
		return -EINVAL;
	if (pid)
		*pid = ch->peer_pid;
	if (uid)
		*uid = ch->peer_uid;
	if (gid)
		*gid = ch->peer_gid;
	return 0;
}

uint64_t mk_chan_alias(const struct mk_chan *ch)
{
	return ch->alias;
}

int mk_chan_home_cpu(const struct mk_chan *ch)
{
	return ch->home_cpu;
}

int mk_chan_fd(const struct mk_chan *ch)
{
	return ch->fd;
}

void *mk_chan_shm(const struct mk_chan *ch, size_t *len)
{
	if (len)
		*len = ch->len;
	return ch->mem;
}

/* --- sending and receiving without waiting --- */

int mk_chan_try_send(struct mk_chan *ch, const void *msg, size_t len)
{
	int ret = chan_ended(ch);

	if (ret)
		return ret;
	ret = mk_ring_try_send(&ch->tx, msg, len);
	if (!ret) {
		chan_notify(ch);
	} else if (ret == -EAGAIN && !(++ch->tx_full % LIVENESS_EVERY)) {
		int st = mk_chan_end_state(ch, true);

		ret = st ? st : ret;
	}
	return ret;
}

int mk_chan_try_recv(struct mk_chan *ch, void *buf, size_t cap, size_t *len)
{
	int ret = chan_ended(ch);

	/* Shot down: nothing more is delivered. */
	if (ret == -ECONNRESET)
		return ret;
	ret = mk_ring_try_recv(&ch->rx, buf, cap, len);
	if (ret != -EAGAIN)
		return ret;
	ret = mk_chan_end_state(ch, !(++ch->rx_empty % LIVENESS_EVERY));
	return ret ? recv_after_end(ch, ret, buf, cap, len) : -EAGAIN;
}

int mk_chan_try_send_batch(struct mk_chan *ch, const struct iovec *msgs, unsigned int n)
{
	int ret;

	/* Nothing to do, whatever the channel's state ("0 when @n is 0"). */
	if (!n)
		return 0;
	ret = chan_ended(ch);
	if (ret)
		return ret;
	ret = mk_ring_send_batch(&ch->tx, msgs, n);
	if (ret > 0) {
		chan_notify(ch);
	} else if (ret == -EAGAIN && !(++ch->tx_full % LIVENESS_EVERY)) {
		int st = mk_chan_end_state(ch, true);

		ret = st ? st : ret;
	}
	return ret;
}

int mk_chan_try_recv_batch(struct mk_chan *ch, const struct iovec *bufs, size_t *lens,
			   unsigned int n)
{
	int ret;

	if (!n)
		return 0;
	ret = chan_ended(ch);
	if (ret == -ECONNRESET)
		return ret;
	ret = mk_ring_recv_batch(&ch->rx, bufs, lens, n);
	if (ret != -EAGAIN)
		return ret;
	ret = mk_chan_end_state(ch, !(++ch->rx_empty % LIVENESS_EVERY));
	if (ret != -EPIPE)
		return ret ? ret : -EAGAIN;
	/* As recv_after_end(): what the peer sent before it went comes first. */
	ret = mk_ring_recv_batch(&ch->rx, bufs, lens, n);
	return ret == -EAGAIN ? -EPIPE : ret;
}

/* --- the wait loop of mk_chan_send() and mk_chan_recv() --- */

/* One blocking call: a send of msg/len, or a receive into buf/cap/len. */
struct chan_io {
	bool sending;
	const void *msg;
	void *buf;
	size_t len;	/* send: the message's length; receive: the buffer's */
	size_t *lenp;	/* receive: the message's length */
};

/*
 * Tries; while the ring is full (send) or empty (receive), waits one round
 * through the transport and tries again, until done, the channel's end or
 * @timeout_ns (< 0: no limit). The first round spins for the channel's
 * budget before it sleeps, later ones sleep at once. Always inlined into
 * its two callers, each with its own constant @io->sending, so neither
 * pays for the other's branches.
 */
static inline __attribute__((always_inline)) int
chan_wait_loop(struct mk_chan *ch, const struct chan_io *io, int64_t timeout_ns)
{
	uint64_t start = 0, el, spin = ch->spin_ns;
	int64_t left;
	int end, ret;

	/* Keeps the transports' spin + liveness slice from overflowing. */
	if (spin > (uint64_t)INT64_MAX / 4)
		spin = (uint64_t)INT64_MAX / 4;
	for (;;) {
		end = chan_ended(ch);
		/* A send stops at any end; a receive drains first unless shot down. */
		if (end && (io->sending || end == -ECONNRESET))
			return end;
		if (io->sending) {
			ret = mk_ring_try_send(&ch->tx, io->msg, io->len);
			if (!ret)
				chan_notify(ch);
		} else {
			ret = mk_ring_try_recv(&ch->rx, io->buf, io->len, io->lenp);
		}
		if (ret != -EAGAIN)
			return ret;
		/*
		 * Empty after the end was seen: drained (the peer's stores came
		 * before the end it caused, which the acquire load saw).
		 */
		if (end)
			return end;
		/*
		 * The clock only once the ring is full or empty: a call that
		 * goes through reads none.
		 */
		if (!start)
			start = mk_mono_ns();
		el = mk_mono_ns() - start;
		if (timeout_ns >= 0 && el >= (uint64_t)timeout_ns)
			return -ETIMEDOUT;
		left = timeout_ns < 0 ? -1 : (int64_t)((uint64_t)timeout_ns - el);
		/*
		 * Poll for the budget (first round only), then sleep until the
		 * peer sends, or publishes credits ("Waiting for credits" in
		 * <mk/mkchan.h>), or the channel ends.
		 */
		ret = io->sending ? ch->ops->wait_send(ch, io->len, spin, left) :
				    ch->ops->wait_recv(ch, spin, left);
		spin = 0;
		if (ret == -EPIPE || ret == -ECONNRESET)
			return io->sending ? ret : recv_after_end(ch, ret, io->buf, io->len,
								   io->lenp);
		if (ret && ret != -ETIMEDOUT && ret != -EINTR)
			return ret;
	}
}

int mk_chan_send(struct mk_chan *ch, const void *msg, size_t len, int64_t timeout_ns)
{
	const struct chan_io io = { .sending = true, .msg = msg, .len = len };

	return chan_wait_loop(ch, &io, timeout_ns);
}

int mk_chan_recv(struct mk_chan *ch, void *buf, size_t cap, size_t *len,
		 int64_t timeout_ns)
{
	const struct chan_io io = { .sending = false, .buf = buf, .len = cap, .lenp = len };

	return chan_wait_loop(ch, &io, timeout_ns);
}

/* --- connecting --- */

int mk_chan_connect(struct mk_chan **out, const char *name, uint64_t cap,
		    unsigned int slots)
{
	if (!name || !*name)
		return -EINVAL;
	return mk_chan_connect_alias(out, mk_name_hash(name), cap, slots,
				     MK_CHAN_CONNECT_TIMEOUT_NS);
}

int mk_chan_connect_alias(struct mk_chan **out, uint64_t alias, uint64_t cap,
			  unsigned int slots, int64_t timeout_ns)
{
	const struct chan_transport_ops *ops;
	int ctl, ret;

	if (!out || (slots && !mk_ring_bytes(slots)))
		return -EINVAL;
	ops = chan_select(&ctl, &ret);
	if (!ops)
		return ret;
	ret = ops->connect(ctl, out, alias, cap, slots ? slots : MK_CHAN_DEFAULT_SLOTS,
			   timeout_ns);
	if (ctl >= 0)
		close(ctl);
	return ret;
}

/* --- mailboxes --- */

int mk_mbox_create(struct mk_mbox **out)
{
	const struct chan_transport_ops *ops;
	struct mk_mbox *mb;
	int ret, ctl;

	if (!out)
		return -EINVAL;
	ops = chan_select(&ctl, &ret);
	if (!ops)
		return ret;
	mb = calloc(1, sizeof(*mb));
	if (!mb) {
		ret = -ENOMEM;
	} else {
		mb->ops = ops;
		mb->fd = -1;
		mb->home_cpu = sched_getcpu();
		mb->tid = gettid();
		ret = ops->mbox_create(mb, ctl);
	}
	if (ctl >= 0)
		close(ctl);
	if (ret) {
		free(mb);
		return ret;
	}
	*out = mb;
	return 0;
}

void mk_mbox_close(struct mk_mbox *mb)
{
	if (!mb)
		return;
	mb->ops->mbox_close(mb);
	/* Module: closing the mailbox fd shoots down its channels. */
	if (mb->fd >= 0)
		close(mb->fd);
	free(mb->caps.v);
	free(mb->names.v);
	free(mb);
}

int mk_mbox_home_cpu(const struct mk_mbox *mb)
{
	return mb->home_cpu;
}

pid_t mk_mbox_owner_tid(const struct mk_mbox *mb)
{
	return mb->tid;
}

int mk_mbox_fd(const struct mk_mbox *mb)
{
	return mb->fd;
}

int mk_mbox_add_alias(struct mk_mbox *mb, uint64_t alias)
{
	if (!mb)
		return -EINVAL;
	return mb->ops->mbox_add_alias(mb, alias);
}

int mk_mbox_add_name(struct mk_mbox *mb, const char *name)
{
	if (!name || !*name)
		return -EINVAL;
	return mk_mbox_add_alias(mb, mk_name_hash(name));
}

int mk_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias)
{
	if (!mb)
		return -EINVAL;
	return mb->ops->mbox_remove_alias(mb, alias);
}

int mk_mbox_remove_name(struct mk_mbox *mb, const char *name)
{
	if (!name || !*name)
		return -EINVAL;
	return mk_mbox_remove_alias(mb, mk_name_hash(name));
}

int mk_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap)
{
	if (!mb || !cap)
		return -EINVAL;
	return mb->ops->mbox_new_cap(mb, cap);
}

int mk_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap)
{
	if (!mb)
		return -EINVAL;
	return mb->ops->mbox_remove_cap(mb, cap);
}

int mk_mbox_accept(struct mk_mbox *mb, struct mk_chan **out, int64_t timeout_ns)
{
	if (!mb || !out)
		return -EINVAL;
	return mb->ops->mbox_accept(mb, out, timeout_ns);
}
