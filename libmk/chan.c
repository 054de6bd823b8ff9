// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mailboxes and channels: the transport-independent part (sending,
 * receiving, waiting, accessors) and the user-space ("fallback")
 * transport; the module transport is in chan_kmod.c. The API and its
 * guarantees are in <mk/chan.h>. In the fallback, setting up a channel
 * goes through a Unix socket; after that, messages go through the shared
 * rings only and the socket is left alone until somebody hangs it up.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mk/waitset.h>

#include "chan_impl.h"

/* The second ring starts on its own page (4 KiB, the same everywhere). */
#define RING_ALIGN	MK_CHAN_RING_ALIGN
#define SEALS_NEEDED	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

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

static socklen_t alias_addr(struct sockaddr_un *sa, uint64_t alias)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Abstract: a leading NUL, the rest not NUL-terminated. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
		     MK_CHAN_SOCK_FMT, alias);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* --- small sets of 64-bit values --- */

bool mk_u64set_has(const struct mk_u64set *s, uint64_t x)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == x)
			return true;
	return false;
}

int mk_u64set_add(struct mk_u64set *s, uint64_t x)
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

int mk_u64set_del(struct mk_u64set *s, uint64_t x)
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
	return mb->transport;
}

enum mk_transport mk_chan_transport(const struct mk_chan *ch)
{
	return ch->transport;
}

int mk_chan_default_transport(void)
{
	int ctl = -1, t = mk_kmod_select(&ctl);

	if (ctl >= 0)
		close(ctl);
	return t;
}

static bool slots_ok(unsigned int slots)
{
	return mk_ring_bytes(slots) != 0;
}

size_t mk_chan_ring_offset(unsigned int slots)
{
	size_t b = mk_ring_bytes(slots);

	return b ? (b + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1) : 0;
}

size_t mk_chan_shm_bytes(unsigned int slots)
{
	return 2 * mk_chan_ring_offset(slots);
}

/* --- channels: common part --- */

struct mk_chan *mk_chan_new(enum mk_transport t)
{
	size_t size = (sizeof(struct mk_chan) + 63) & ~(size_t)63;
	struct mk_chan *ch = aligned_alloc(64, size);

	if (!ch)
		return NULL;
	memset(ch, 0, size);
	ch->transport = t;
	ch->fd = -1;
	ch->home_cpu = -1;
	ch->peer_uid = (uid_t)-1;
	ch->peer_gid = (gid_t)-1;
	ch->spin_ns = mk_spin_default_ns();
	return ch;
}

int mk_chan_attach(struct mk_chan *ch, void *mem, size_t len, size_t off,
		   bool accepting)
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

/*
 * Fallback: maps the shared block and attaches this side's endpoints (the
 * client sends on ring 0 and receives on ring 1, the mailbox the other way).
 */
static int chan_map(struct mk_chan *ch, int memfd, size_t len, unsigned int slots,
		    bool mailbox)
{
	char *mem;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	return mk_chan_attach(ch, mem, len, mk_chan_ring_offset(slots), mailbox);
}

void mk_chan_free(struct mk_chan *ch)
{
	if (ch->mem)
		munmap(ch->mem, ch->len);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

static void chan_peercred(struct mk_chan *ch)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (!getsockopt(ch->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) &&
	    clen == sizeof(cred)) {
		ch->peer_pid = cred.pid;
		ch->peer_uid = cred.uid;
		ch->peer_gid = cred.gid;
	} else {
		ch->peer_pid = 0;
		ch->peer_uid = (uid_t)-1;
		ch->peer_gid = (gid_t)-1;
	}
}

/*
 * Has the peer gone? After set-up the peer never writes to the socket, so
 * anything readable (end of file, or data it had no business sending) or
 * a hang-up means the channel is over. One poll() call: done only when
 * the ring is empty or full, or before blocking.
 */
static bool peer_gone(struct mk_chan *ch)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };

	if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
		return true;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
		atomic_store_explicit(&ch->dead, 1, memory_order_relaxed);
		return true;
	}
	return false;
}

/*
 * Has the channel ended? 0 while open, -EPIPE once the peer is gone,
 * -ECONNRESET once shot down (module only). Module: one load of the
 * receiving ring's info.closed. Fallback: the dead flag, and with @look
 * one poll() of the connection (done only when the ring is empty or full,
 * or before blocking).
 */
static int chan_state(struct mk_chan *ch, bool look)
{
	if (ch->transport == MK_TRANSPORT_MODULE)
		return mk_kmod_state(ch);
	if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
		return -EPIPE;
	return look && peer_gone(ch) ? -EPIPE : 0;
}

int mk_chan_end_state(struct mk_chan *ch, bool look)
{
	return chan_state(ch, look);
}

static void chan_notify(struct mk_chan *ch)
{
	if (ch->transport == MK_TRANSPORT_MODULE)
		mk_kmod_notify(ch);
	else
		mk_ring_notify(&ch->tx);
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

void mk_chan_close(struct mk_chan *ch)
{
	if (!ch)
		return;
	/* A set must not keep a channel that is gone. */
	if (ch->waitset)
		mk_waitset_remove(ch->waitset, ch);
	/*
	 * Fallback: hang up first, then kick: a peer blocked in a receive
	 * wakes, finds the ring empty and the socket hung up, and returns
	 * -EPIPE at once instead of after its next liveness look. Module:
	 * closing the fd ends the channel and the kernel wakes the peer.
	 */
	if (ch->transport == MK_TRANSPORT_MODULE) {
		mk_chan_free(ch);
		return;
	}
	if (ch->fd >= 0) {
		close(ch->fd);
		ch->fd = -1;
	}
	if (ch->mem) {
		mk_ring_kick(&ch->tx);
		/* And a peer blocked on a full ring we will never drain. */
		mk_ring_kick_credits(&ch->rx);
	}
	mk_chan_free(ch);
}

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

/* --- sending --- */

int mk_chan_try_send(struct mk_chan *ch, const void *msg, size_t len)
{
	int ret = chan_state(ch, false);

	if (ret)
		return ret;
	ret = mk_ring_try_send(&ch->tx, msg, len);
	if (!ret) {
		chan_notify(ch);
	} else if (ret == -EAGAIN && !(++ch->tx_full % LIVENESS_EVERY)) {
		int st = chan_state(ch, true);

		ret = st ? st : ret;
	}
	return ret;
}

/* Called by the credit wait just before it blocks. */
static int chan_check(void *arg);

int mk_chan_send(struct mk_chan *ch, const void *msg, size_t len, int64_t timeout_ns)
{
	uint64_t start = 0, el, spin = ch->spin_ns, t;
	int ret;

	/* Keeps spin + slice below from overflowing. */
	if (spin > (uint64_t)INT64_MAX / 4)
		spin = (uint64_t)INT64_MAX / 4;
	for (;;) {
		ret = chan_state(ch, false);
		if (ret)
			return ret;
		ret = mk_ring_try_send(&ch->tx, msg, len);
		if (!ret) {
			chan_notify(ch);
			return 0;
		}
		if (ret != -EAGAIN)
			return ret;
		/* The clock only once the ring is full: a send with room reads none. */
		if (!start)
			start = mk_mono_ns();
		el = mk_mono_ns() - start;
		if (timeout_ns >= 0 && el >= (uint64_t)timeout_ns)
			return -ETIMEDOUT;
		/*
		 * Poll for the budget (first round only), then sleep until the
		 * receiver publishes credits ("Waiting for credits" in
		 * <mk/mkchan.h>). Fallback: for at most one liveness slice, as
		 * a receiver killed without closing never wakes us. Module: the
		 * kernel wakes us when the channel ends.
		 */
		if (ch->transport == MK_TRANSPORT_MODULE) {
			ret = mk_kmod_block_credits(ch, len, spin, timeout_ns < 0 ? -1 :
						    (int64_t)((uint64_t)timeout_ns - el));
		} else {
			t = spin + MK_CHAN_LIVENESS_NS;
			if (timeout_ns >= 0 && t > (uint64_t)timeout_ns - el)
				t = (uint64_t)timeout_ns - el;
			ret = mk_ring_wait_credits(&ch->tx, len, spin, (int64_t)t,
						   chan_check, ch);
		}
		spin = 0;
		if (ret == -EPIPE || ret == -ECONNRESET)
			return ret;
		if (ret && ret != -ETIMEDOUT && ret != -EINTR)
			return ret;
	}
}

/* --- receiving --- */

int mk_chan_try_recv(struct mk_chan *ch, void *buf, size_t cap, size_t *len)
{
	int ret = chan_state(ch, false);

	/* Shot down: nothing more is delivered. */
	if (ret == -ECONNRESET)
		return ret;
	ret = mk_ring_try_recv(&ch->rx, buf, cap, len);
	if (ret != -EAGAIN)
		return ret;
	ret = chan_state(ch, !(++ch->rx_empty % LIVENESS_EVERY));
	return ret ? recv_after_end(ch, ret, buf, cap, len) : -EAGAIN;
}

int mk_chan_try_send_batch(struct mk_chan *ch, const struct iovec *msgs, unsigned int n)
{
	int ret;

	/* Nothing to do, whatever the channel's state ("0 when @n is 0"). */
	if (!n)
		return 0;
	ret = chan_state(ch, false);
	if (ret)
		return ret;
	ret = mk_ring_send_batch(&ch->tx, msgs, n);
	if (ret > 0) {
		chan_notify(ch);
	} else if (ret == -EAGAIN && !(++ch->tx_full % LIVENESS_EVERY)) {
		int st = chan_state(ch, true);

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
	ret = chan_state(ch, false);
	if (ret == -ECONNRESET)
		return ret;
	ret = mk_ring_recv_batch(&ch->rx, bufs, lens, n);
	if (ret != -EAGAIN)
		return ret;
	ret = chan_state(ch, !(++ch->rx_empty % LIVENESS_EVERY));
	if (ret != -EPIPE)
		return ret ? ret : -EAGAIN;
	/* As recv_after_end(): what the peer sent before it went comes first. */
	ret = mk_ring_recv_batch(&ch->rx, bufs, lens, n);
	return ret == -EAGAIN ? -EPIPE : ret;
}

/* Called by the ring wait just before it blocks. */
static int chan_check(void *arg)
{
	return peer_gone(arg) ? -EPIPE : 0;
}

int mk_chan_recv(struct mk_chan *ch, void *buf, size_t cap, size_t *len,
		 int64_t timeout_ns)
{
	uint64_t start = mk_mono_ns(), el, spin = ch->spin_ns, t;
	int ret;

	/* Keeps spin + slice below from overflowing. */
	if (spin > (uint64_t)INT64_MAX / 4)
		spin = (uint64_t)INT64_MAX / 4;
	for (;;) {
		ret = chan_state(ch, false);
		if (ret == -ECONNRESET)
			return ret;
		ret = mk_ring_try_recv(&ch->rx, buf, cap, len);
		if (ret != -EAGAIN)
			return ret;
		el = mk_mono_ns() - start;
		if (timeout_ns >= 0 && el >= (uint64_t)timeout_ns)
			return -ETIMEDOUT;
		if (ch->transport == MK_TRANSPORT_MODULE) {
			/* The kernel wakes us when the channel ends. */
			ret = mk_kmod_block(ch, spin, timeout_ns < 0 ? -1 :
					    (int64_t)((uint64_t)timeout_ns - el));
		} else {
			/*
			 * Poll for the budget (first round only), then sleep for
			 * at most one liveness slice: a peer killed without
			 * closing never kicks us, and the look before each sleep
			 * is what notices it.
			 */
			t = spin + MK_CHAN_LIVENESS_NS;
			if (timeout_ns >= 0 && t > (uint64_t)timeout_ns - el)
				t = (uint64_t)timeout_ns - el;
			ret = mk_ring_wait_check(&ch->rx, spin, (int64_t)t, chan_check, ch);
		}
		spin = 0;
		if (ret == -EPIPE || ret == -ECONNRESET)
			return recv_after_end(ch, ret, buf, cap, len);
		if (ret && ret != -ETIMEDOUT && ret != -EINTR)
			return ret;
	}
}

/* --- client side --- */

int mk_chan_connect(struct mk_chan **out, const char *name, uint64_t cap,
		    unsigned int slots)
{
	if (!name || !*name)
		return -EINVAL;
	return mk_chan_connect_alias(out, mk_name_hash(name), cap, slots,
				     MK_CHAN_CONNECT_TIMEOUT_MS);
}

/* Closes every fd that came with @msg; returns the one fd if exactly one. */
static int take_fds(struct msghdr *msg, bool *extra)
{
	struct cmsghdr *c;
	int fd = -1, n, i, got;

	*extra = false;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0 && !*extra) {
				fd = got;
			} else {
				close(got);
				*extra = true;
			}
		}
	}
	if (*extra && fd >= 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The memfd must be what the reply says, and sealed so it cannot shrink
 * under our mapping (a shrunk file would turn our loads into SIGBUS). */
static int check_memfd(int fd, size_t want)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size != want)
		return -EPROTO;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS_NEEDED) != SEALS_NEEDED)
		return -EPROTO;
	return 0;
}

static int errno_timeout(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS ? -ETIMEDOUT : -err;
}

int mk_chan_connect_alias(struct mk_chan **out, uint64_t alias, uint64_t cap,
			  unsigned int slots, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct mk_chan_wire_req req = {
		.magic = MK_CHAN_WIRE_MAGIC, .version = MK_CHAN_WIRE_VERSION,
		.slots = slots, .alias = alias, .cap = cap,
	};
	struct mk_chan_wire_rep rep;
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct sockaddr_un sa;
	struct timeval tv;
	struct mk_chan *ch;
	socklen_t salen;
	ssize_t n;
	bool extra;
	int memfd = -1, ret, ctl;

	if (!out || (slots && !slots_ok(slots)))
		return -EINVAL;
	if (!slots)
		req.slots = slots = MK_CHAN_DEFAULT_SLOTS;
	ret = mk_kmod_select(&ctl);
	if (ret < 0)
		return ret;
	if (ret == MK_TRANSPORT_MODULE) {
		ret = mk_kmod_connect(ctl, out, alias, cap, slots);
		close(ctl);
		return ret;
	}
	ch = mk_chan_new(MK_TRANSPORT_FALLBACK);
	if (!ch)
		return -ENOMEM;
	ch->alias = alias;
	ch->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ch->fd < 0) {
		ret = -errno;
		goto fail;
	}
	/* A Unix connect to a full backlog waits for the send timeout. */
	if (timeout_ms >= 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
		if (!timeout_ms)
			tv.tv_usec = 1;	/* 0 would mean "no timeout" */
		if (setsockopt(ch->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
		    setsockopt(ch->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
			ret = -errno;
			goto fail;
		}
	}
	salen = alias_addr(&sa, alias);
	if (connect(ch->fd, (struct sockaddr *)&sa, salen)) {
		ret = errno == ENOENT ? -ECONNREFUSED : errno_timeout(errno);
		goto fail;
	}
	if (send(ch->fd, &req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req)) {
		ret = errno == EPIPE || errno == ECONNRESET ? -ECONNREFUSED :
		      errno_timeout(errno);
		goto fail;
	}
	do
		n = recvmsg(ch->fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = errno == ECONNRESET ? -ECONNREFUSED : errno_timeout(errno);
		goto fail;
	}
	memfd = take_fds(&msg, &extra);
	/* Hung up unanswered: the name or the mailbox went away meanwhile. */
	if (n == 0) {
		ret = -ECONNREFUSED;
		goto fail;
	}
	if ((size_t)n != sizeof(rep) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    extra || rep.magic != MK_CHAN_WIRE_MAGIC || rep.version != MK_CHAN_WIRE_VERSION) {
		ret = -EPROTO;
		goto fail;
	}
	if (rep.status) {
		/* Only an errno-shaped status is passed on. */
		ret = rep.status < 0 && rep.status > -4096 ? rep.status : -EPROTO;
		goto fail;
	}
	if (memfd < 0 || rep.slots != slots || rep.shm_bytes != mk_chan_shm_bytes(slots)) {
		ret = -EPROTO;
		goto fail;
	}
	ret = check_memfd(memfd, mk_chan_shm_bytes(slots));
	if (!ret)
		ret = chan_map(ch, memfd, mk_chan_shm_bytes(slots), slots, false);
	if (ret)
		goto fail;
	close(memfd);
	ch->home_cpu = rep.home_cpu;
	chan_peercred(ch);
	*out = ch;
	return 0;
fail:
	if (memfd >= 0)
		close(memfd);
	mk_chan_free(ch);
	return ret;
}

/* --- mailboxes --- */

static void list_init(struct mbox_sock *head)
{
	head->next = head->prev = head;
}

static void list_add(struct mbox_sock *head, struct mbox_sock *s)
{
	s->next = head->next;
	s->prev = head;
	head->next->prev = s;
	head->next = s;
}

static void list_del(struct mbox_sock *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	s->next = s->prev = s;
}

/* Forgets a socket: out of epoll, closed, freed. */
static void sock_drop(struct mk_mbox *mb, struct mbox_sock *s)
{
	epoll_ctl(mb->fd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	list_del(s);
	if (!s->listening)
		mb->npending--;
	free(s);
}

int mk_mbox_create(struct mk_mbox **out)
{
	struct mk_mbox *mb;
	int ret, ctl;

	if (!out)
		return -EINVAL;
	ret = mk_kmod_select(&ctl);
	if (ret < 0)
		return ret;
	mb = calloc(1, sizeof(*mb));
	if (!mb) {
		if (ctl >= 0)
			close(ctl);
		return -ENOMEM;
	}
	mb->transport = (enum mk_transport)ret;
	list_init(&mb->listeners);
	list_init(&mb->pending);
	mb->home_cpu = sched_getcpu();
	mb->tid = gettid();
	if (mb->transport == MK_TRANSPORT_MODULE) {
		ret = mk_kmod_mbox_create(mb, ctl);
		close(ctl);
	} else {
		mb->fd = epoll_create1(EPOLL_CLOEXEC);
		ret = mb->fd < 0 ? -errno : 0;
	}
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
	while (mb->listeners.next != &mb->listeners)
		sock_drop(mb, mb->listeners.next);
	while (mb->pending.next != &mb->pending)
		sock_drop(mb, mb->pending.next);
	/* Module: closing the mailbox fd shoots down its channels. */
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

static struct mbox_sock *find_listener(struct mk_mbox *mb, uint64_t alias)
{
	for (struct mbox_sock *s = mb->listeners.next; s != &mb->listeners; s = s->next)
		if (s->alias == alias)
			return s;
	return NULL;
}

static int watch(struct mk_mbox *mb, struct mbox_sock *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	return epoll_ctl(mb->fd, EPOLL_CTL_ADD, s->fd, &ev) ? -errno : 0;
}

int mk_mbox_add_alias(struct mk_mbox *mb, uint64_t alias)
{
	struct sockaddr_un sa;
	struct mbox_sock *s;
	socklen_t salen;
	int ret;

	if (!mb)
		return -EINVAL;
	if (mb->transport == MK_TRANSPORT_MODULE)
		return mk_kmod_mbox_add_alias(mb, alias);
	if (find_listener(mb, alias))
		return -EEXIST;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->listening = true;
	s->alias = alias;
	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		ret = -errno;
		free(s);
		return ret;
	}
	salen = alias_addr(&sa, alias);
	if (bind(s->fd, (struct sockaddr *)&sa, salen) || listen(s->fd, SOMAXCONN)) {
		ret = -errno;
		goto fail;
	}
	ret = watch(mb, s);
	if (ret)
		goto fail;
	list_add(&mb->listeners, s);
	return 0;
fail:
	close(s->fd);
	free(s);
	return ret;
}

int mk_mbox_add_name(struct mk_mbox *mb, const char *name)
{
	if (!name || !*name)
		return -EINVAL;
	return mk_mbox_add_alias(mb, mk_name_hash(name));
}

int mk_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias)
{
	struct mbox_sock *s, *next;

	if (!mb)
		return -EINVAL;
	if (mb->transport == MK_TRANSPORT_MODULE)
		return mk_kmod_mbox_remove_alias(mb, alias);
	s = find_listener(mb, alias);
	if (!s)
		return -ENOENT;
	/*
	 * Closing the listener resets connections still in its backlog;
	 * those accepted but not served yet go too, so nobody gets a channel
	 * through a name that is gone.
	 */
	sock_drop(mb, s);
	for (s = mb->pending.next; s != &mb->pending; s = next) {
		next = s->next;
		if (s->alias == alias)
			sock_drop(mb, s);
	}
	return 0;
}

int mk_mbox_remove_name(struct mk_mbox *mb, const char *name)
{
	if (!name || !*name)
		return -EINVAL;
	return mk_mbox_remove_alias(mb, mk_name_hash(name));
}

int mk_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap)
{
	uint64_t c = 0;
	ssize_t n;

	int ret;

	if (!mb || !cap)
		return -EINVAL;
	if (mb->transport == MK_TRANSPORT_MODULE)
		return mk_kmod_mbox_new_cap(mb, cap);
	/* 0 is never handed out, so a zeroed cap field never matches. */
	while (!c || mk_u64set_has(&mb->caps, c)) {
		n = getrandom(&c, sizeof(c), 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n != (ssize_t)sizeof(c))
			c = 0;
	}
	ret = mk_u64set_add(&mb->caps, c);
	if (!ret)
		*cap = c;
	return ret;
}

int mk_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap)
{
	if (!mb)
		return -EINVAL;
	if (mb->transport == MK_TRANSPORT_MODULE)
		return mk_kmod_mbox_remove_cap(mb, cap);
	return mk_u64set_del(&mb->caps, cap);
}

static void accept_conn(struct mk_mbox *mb, struct mbox_sock *l, int *err)
{
	struct mbox_sock *s;
	int fd;

	fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* Out of fds and the like: the caller hears of it. */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			*err = -errno;
		return;
	}
	/*
	 * Full: the oldest goes. Honest clients send their request right
	 * after connecting, so the oldest is most likely a silent one.
	 */
	if (mb->npending >= MK_MBOX_MAX_PENDING)
		sock_drop(mb, mb->pending.prev);
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	s->fd = fd;
	s->alias = l->alias;
	if (watch(mb, s)) {
		close(fd);
		free(s);
		return;
	}
	list_add(&mb->pending, s);
	mb->npending++;
}

static int reply(int fd, int status, int memfd, unsigned int slots, size_t bytes,
		 int home_cpu)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct mk_chan_wire_rep rep = {
		.magic = MK_CHAN_WIRE_MAGIC, .version = MK_CHAN_WIRE_VERSION, .status = status,
		.slots = slots, .shm_bytes = bytes, .home_cpu = home_cpu,
	};
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (memfd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &memfd, sizeof(int));
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(rep) ?
	       0 : -errno;
}

/* Makes the shared block: a sealed memfd holding two empty rings. */
static int make_shm(struct mk_chan *ch, unsigned int slots, int *memfdp)
{
	size_t off = mk_chan_ring_offset(slots), len = 2 * off;
	char *mem;
	int fd, ret;

	fd = memfd_create("mkchan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) ||
	    fcntl(fd, F_ADD_SEALS, SEALS_NEEDED)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = mk_ring_init(mem, off, slots);
	if (!ret)
		ret = mk_ring_init(mem + off, off, slots);
	munmap(mem, len);
	if (!ret)
		ret = chan_map(ch, fd, len, slots, true);
	if (ret) {
		close(fd);
		return ret;
	}
	*memfdp = fd;
	return 0;
}

/*
 * Reads one request from a pending connection and answers it. Returns 1
 * with a channel in *@out, 0 when the connection was refused or dropped
 * or has not sent its request yet.
 */
static int serve(struct mk_mbox *mb, struct mbox_sock *s, struct mk_chan **out)
{
	struct mk_chan_wire_req req;
	struct mk_chan *ch;
	unsigned int slots;
	int status, memfd = -1;
	ssize_t n;

	/* MSG_TRUNC: the real length, so an oversized request is seen. */
	n = recv(s->fd, &req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		sock_drop(mb, s);
		return 0;
	}
	if ((size_t)n != sizeof(req) || req.magic != MK_CHAN_WIRE_MAGIC ||
	    req.version != MK_CHAN_WIRE_VERSION || req.flags || req.reserved)
		status = -EPROTO;
	else if (req.alias != s->alias || !find_listener(mb, req.alias))
		status = -ECONNREFUSED;
	else if (!req.cap || !mk_u64set_has(&mb->caps, req.cap))
		status = -EACCES;
	else if (req.slots && !slots_ok(req.slots))
		status = -EINVAL;
	else
		status = 0;
	if (status) {
		reply(s->fd, status, -1, 0, 0, mb->home_cpu);
		sock_drop(mb, s);
		return 0;
	}
	slots = req.slots ? req.slots : MK_CHAN_DEFAULT_SLOTS;
	ch = mk_chan_new(MK_TRANSPORT_FALLBACK);
	if (!ch) {
		reply(s->fd, -ENOMEM, -1, 0, 0, mb->home_cpu);
		sock_drop(mb, s);
		return 0;
	}
	status = make_shm(ch, slots, &memfd);
	if (!status)
		status = reply(s->fd, 0, memfd, slots, mk_chan_shm_bytes(slots),
			       mb->home_cpu);
	else
		reply(s->fd, status, -1, 0, 0, mb->home_cpu);
	if (memfd >= 0)
		close(memfd);
	if (status) {
		mk_chan_free(ch);
		sock_drop(mb, s);
		return 0;
	}
	/* The connection is the channel's now. */
	epoll_ctl(mb->fd, EPOLL_CTL_DEL, s->fd, NULL);
	ch->fd = s->fd;
	list_del(s);
	mb->npending--;
	free(s);
	ch->alias = req.alias;
	ch->home_cpu = mb->home_cpu;
	chan_peercred(ch);
	*out = ch;
	return 1;
}

int mk_mbox_accept(struct mk_mbox *mb, struct mk_chan **out, int timeout_ms)
{
	uint64_t deadline = 0, now;
	struct epoll_event ev;
	struct mbox_sock *s;
	int n, wait_ms, err;

	if (!mb || !out)
		return -EINVAL;
	if (mb->transport == MK_TRANSPORT_MODULE)
		return mk_kmod_mbox_accept(mb, out, timeout_ms);
	if (timeout_ms > 0)
		deadline = mk_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	for (;;) {
		wait_ms = timeout_ms;
		if (timeout_ms > 0) {
			now = mk_mono_ns();
			wait_ms = now >= deadline ? 0 :
				  (int)((deadline - now + 999999) / 1000000);
		}
		n = epoll_wait(mb->fd, &ev, 1, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return timeout_ms ? -ETIMEDOUT : -EAGAIN;
		s = ev.data.ptr;
		if (s->listening) {
			err = 0;
			accept_conn(mb, s, &err);
			if (err)
				return err;
		} else if (serve(mb, s, out)) {
			return 0;
		}
	}
}
