// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mailboxes and channels without the module: the user-space ("fallback")
 * transport, chan_fallback_ops (struct chan_transport_ops in chan_impl.h).
 * Setting up a channel goes through a Unix socket: each alias is an
 * abstract SOCK_SEQPACKET socket the mailbox listens on, the client sends
 * struct mk_chan_wire_req and gets back a sealed memfd holding both rings
 * (<mk/chan.h>). After that, messages go through the shared rings only
 * (chan.c), wake-ups through the rings' futex words, and the socket is
 * left alone until somebody hangs it up: it is the channel's liveness line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan_impl.h"

#define SEALS_NEEDED	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* --- channels --- */

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
	return chan_attach(ch, mem, len, mk_chan_ring_offset(slots), mailbox);
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
static int fallback_look(struct mk_chan *ch)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };

	if (atomic_load_explicit(&ch->dead, memory_order_relaxed))
		return -EPIPE;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
		/* Release: a receiver that sees it drains what the peer sent first. */
		atomic_store_explicit(&ch->dead, MKCHAN_RING_CLOSED_PEER, memory_order_release);
		return -EPIPE;
	}
	return 0;
}

/* Called by the ring waits just before they block. */
static int chan_check(void *arg)
{
	return fallback_look(arg);
}

/*
 * How long one round of waiting may last: the spin, then at most one
 * liveness slice of sleep, as a peer killed without closing never wakes
 * us and the look before each sleep is what notices it. chan.c keeps
 * @spin_ns small enough for the sum.
 */
static int64_t round_ns(uint64_t spin_ns, int64_t timeout_ns)
{
	uint64_t t = spin_ns + MK_CHAN_LIVENESS_NS;

	if (timeout_ns >= 0 && t > (uint64_t)timeout_ns)
		t = (uint64_t)timeout_ns;
	return (int64_t)t;
}

static int fallback_wait_recv(struct mk_chan *ch, uint64_t spin_ns, int64_t timeout_ns)
{
	return mk_ring_wait_check(&ch->rx, spin_ns, round_ns(spin_ns, timeout_ns),
				  chan_check, ch);
}

static int fallback_wait_send(struct mk_chan *ch, size_t len, uint64_t spin_ns,
			      int64_t timeout_ns)
{
	return mk_ring_wait_credits(&ch->tx, len, spin_ns, round_ns(spin_ns, timeout_ns),
				    chan_check, ch);
}

/* chan_notify() saw the receiver's sleeping flag: the futex wake of mk_ring_notify(). */
static void fallback_wake(struct mk_chan *ch)
{
	mk_ring_kick(&ch->tx);
}

/*
 * Hang up first, then kick: a peer blocked in a receive wakes, finds the
 * ring empty and the socket hung up, and returns -EPIPE at once instead
 * of after its next liveness look.
 */
static void fallback_hangup(struct mk_chan *ch)
{
	if (ch->fd >= 0) {
		close(ch->fd);
		ch->fd = -1;
	}
	if (ch->mem) {
		mk_ring_kick(&ch->tx);
		/* And a peer blocked on a full ring we will never drain. */
		mk_ring_kick_credits(&ch->rx);
	}
}

/* --- the client side of set-up --- */

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

/*
 * Set-up, first job: a socket connected to @alias's mailbox. With
 * @timeout_ns >= 0 on each of its calls: a Unix connect to a full backlog
 * waits for the send timeout, the reply for the receive timeout.
 */
static int dial(uint64_t alias, int64_t timeout_ns)
{
	struct sockaddr_un sa;
	struct timeval tv;
	socklen_t salen;
	uint64_t us;
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (timeout_ns >= 0) {
		/* Rounded up: never shorter than asked; 0 would mean "no timeout". */
		us = ((uint64_t)timeout_ns + 999) / 1000;
		tv.tv_sec = (time_t)(us / 1000000);
		tv.tv_usec = us ? (suseconds_t)(us % 1000000) : 1;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
			ret = -errno;
			goto fail;
		}
	}
	salen = alias_addr(&sa, alias);
	if (connect(fd, (struct sockaddr *)&sa, salen)) {
		ret = errno == ENOENT ? -ECONNREFUSED : errno_timeout(errno);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

/*
 * Second job: sends @req on @fd and reads the reply into *@rep, the one
 * fd that came with it (or -1) into *@memfd, which the caller closes. 0,
 * or the mailbox's refusal, or -EPROTO for a reply that is not one.
 */
static int exchange(int fd, const struct mk_chan_wire_req *req,
		    struct mk_chan_wire_rep *rep, int *memfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(*rep) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	bool extra;
	ssize_t n;

	*memfd = -1;
	if (send(fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req))
		return errno == EPIPE || errno == ECONNRESET ? -ECONNREFUSED :
		       errno_timeout(errno);
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == ECONNRESET ? -ECONNREFUSED : errno_timeout(errno);
	*memfd = take_fds(&msg, &extra);
	/* Hung up unanswered: the name or the mailbox went away meanwhile. */
	if (n == 0)
		return -ECONNREFUSED;
	if ((size_t)n != sizeof(*rep) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    extra || rep->magic != MK_CHAN_WIRE_MAGIC || rep->version != MK_CHAN_WIRE_VERSION)
		return -EPROTO;
	/* Only an errno-shaped status is passed on. */
	if (rep->status)
		return rep->status < 0 && rep->status > -4096 ? rep->status : -EPROTO;
	return 0;
}

/* Third job: checks that the accepted reply's block is what was asked for, and maps it. */
static int map_reply(struct mk_chan *ch, const struct mk_chan_wire_rep *rep, int memfd,
		     unsigned int slots)
{
	int ret;

	if (memfd < 0 || rep->slots != slots || rep->shm_bytes != mk_chan_shm_bytes(slots))
		return -EPROTO;
	ret = check_memfd(memfd, mk_chan_shm_bytes(slots));
	if (!ret)
		ret = chan_map(ch, memfd, mk_chan_shm_bytes(slots), slots, false);
	return ret;
}

static int fallback_connect(int ctl, struct mk_chan **out, uint64_t alias, uint64_t cap,
			    unsigned int slots, int64_t timeout_ns)
{
	const struct mk_chan_wire_req req = {
		.magic = MK_CHAN_WIRE_MAGIC, .version = MK_CHAN_WIRE_VERSION,
		.slots = slots, .alias = alias, .cap = cap,
	};
	struct mk_chan_wire_rep rep;
	struct mk_chan *ch;
	int memfd = -1, ret;

	(void)ctl;
	ch = chan_new(&chan_fallback_ops);
	if (!ch)
		return -ENOMEM;
	ch->alias = alias;
	ret = dial(alias, timeout_ns);
	if (ret < 0)
		goto fail;
	ch->fd = ret;
	ret = exchange(ch->fd, &req, &rep, &memfd);
	if (!ret)
		ret = map_reply(ch, &rep, memfd, slots);
	if (memfd >= 0)
		close(memfd);
	if (ret)
		goto fail;
	ch->home_cpu = rep.home_cpu;
	chan_peercred(ch);
	*out = ch;
	return 0;
fail:
	chan_free(ch);
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

static int fallback_mbox_create(struct mk_mbox *mb, int ctl)
{
	(void)ctl;
	list_init(&mb->listeners);
	list_init(&mb->pending);
	mb->fd = epoll_create1(EPOLL_CLOEXEC);
	return mb->fd < 0 ? -errno : 0;
}

/*
 * Drops every listening socket and connection not yet served; the common
 * part closes the epoll fd.
 */
static void fallback_mbox_close(struct mk_mbox *mb)
{
	while (mb->listeners.next != &mb->listeners)
		sock_drop(mb, mb->listeners.next);
	while (mb->pending.next != &mb->pending)
		sock_drop(mb, mb->pending.next);
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

static int fallback_mbox_add_alias(struct mk_mbox *mb, uint64_t alias)
{
	struct sockaddr_un sa;
	struct mbox_sock *s;
	socklen_t salen;
	int ret;

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

static int fallback_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias)
{
	struct mbox_sock *s, *next;

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

static int fallback_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap)
{
	uint64_t c = 0;
	ssize_t n;
	int ret;

	/* 0 is never handed out, so a zeroed cap field never matches. */
	while (!c || u64set_has(&mb->caps, c)) {
		n = getrandom(&c, sizeof(c), 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n != (ssize_t)sizeof(c))
			c = 0;
	}
	ret = u64set_add(&mb->caps, c);
	if (!ret)
		*cap = c;
	return ret;
}

static int fallback_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap)
{
	return u64set_del(&mb->caps, cap);
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
	else if (!req.cap || !u64set_has(&mb->caps, req.cap))
		status = -EACCES;
	else if (req.slots && !mk_ring_bytes(req.slots))
		status = -EINVAL;
	else
		status = 0;
	if (status) {
		reply(s->fd, status, -1, 0, 0, mb->home_cpu);
		sock_drop(mb, s);
		return 0;
	}
	slots = req.slots ? req.slots : MK_CHAN_DEFAULT_SLOTS;
	ch = chan_new(&chan_fallback_ops);
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
		chan_free(ch);
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

static int fallback_mbox_accept(struct mk_mbox *mb, struct mk_chan **out,
				int64_t timeout_ns)
{
	uint64_t deadline = chan_deadline(timeout_ns);
	struct epoll_event ev;
	struct mbox_sock *s;
	int n, err;

	for (;;) {
		n = epoll_wait(mb->fd, &ev, 1, chan_poll_ms(timeout_ns, deadline));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return timeout_ns ? -ETIMEDOUT : -EAGAIN;
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

const struct chan_transport_ops chan_fallback_ops = {
	.transport = MK_TRANSPORT_FALLBACK,
	.mbox_create = fallback_mbox_create,
	.mbox_close = fallback_mbox_close,
	.mbox_add_alias = fallback_mbox_add_alias,
	.mbox_remove_alias = fallback_mbox_remove_alias,
	.mbox_new_cap = fallback_mbox_new_cap,
	.mbox_remove_cap = fallback_mbox_remove_cap,
	.mbox_accept = fallback_mbox_accept,
	.connect = fallback_connect,
	.look = fallback_look,
	.wake = fallback_wake,
	.wait_recv = fallback_wait_recv,
	.wait_send = fallback_wait_send,
	.hangup = fallback_hangup,
};
