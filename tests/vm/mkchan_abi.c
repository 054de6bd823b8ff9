// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * In the guest, with mkchan loaded: mailboxes, names, capabilities,
 * channels, the ring mapped into two processes, kernel wake-ups, peer
 * close, kill and every kind of shootdown, through the raw ABI of
 * <mk/mkchan.h> and libmk's ring. Ends by checking that the module's
 * object counters are back where they started. Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mk/mkchan.h>
#include <mk/ring.h>

#include "../lib/mkchan_counters.h"

static int n, failed;

#define CHECK(cond, ...) do {						\
	n++;								\
	if (!(cond)) {							\
		failed++;						\
		printf("not ok %d - ", n);				\
	} else {							\
		printf("ok %d - ", n);					\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	fflush(stdout);							\
} while (0)

/* ioctl's result as 0 or -errno */
static int ioc(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

struct mbox {
	int fd;
	uint64_t id;
	uint64_t cap;
};

static struct mbox mbox_new(int ctl, uint64_t alias)
{
	struct mkchan_mbox_create req = { .cpu = MKCHAN_CPU_CURRENT };
	struct mbox m = { .fd = -1 };

	if (ioc(ctl, MKCHAN_IOC_MBOX_CREATE, &req))
		return m;
	m.fd = req.fd;
	m.id = req.id;
	if (ioc(m.fd, MKCHAN_IOC_NAME_ADD, &alias) ||
	    ioc(m.fd, MKCHAN_IOC_CAP_ADD, &m.cap)) {
		close(m.fd);
		m.fd = -1;
	}
	return m;
}

static int connect_to(int ctl, uint64_t alias, uint64_t cap, unsigned int slots)
{
	struct mkchan_connect req = { .alias = alias, .cap = cap, .slots = slots };
	int ret = ioc(ctl, MKCHAN_IOC_CONNECT, &req);

	return ret ? ret : req.fd;
}

static int accept_one(int mfd, struct mkchan_accept *res)
{
	int ret = ioc(mfd, MKCHAN_IOC_ACCEPT, res);

	return ret ? ret : res->fd;
}

static void *map_chan(int fd, size_t *len)
{
	struct mkchan_chan_info info;
	void *p;

	if (ioc(fd, MKCHAN_IOC_CHAN_INFO, &info))
		return NULL;
	*len = info.map_bytes;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static volatile struct mkchan_ring_info *ring_info(void *map)
{
	return (volatile struct mkchan_ring_info *)map;
}

/* The consumer's half of the wait protocol in <mk/mkchan.h>. */
static int wait_msg(int rxfd, void *map, struct mk_ring_rx *rx, void *buf,
		    size_t cap, size_t *len, int64_t timeout_ns)
{
	struct mkchan_ring_wait *w = (void *)((char *)map + MKCHAN_RING_WAIT_OFFSET);
	struct mkchan_wait req = { .timeout_ns = timeout_ns };
	int ret;

	for (;;) {
		ret = mk_ring_try_recv(rx, buf, cap, len);
		if (ret != -EAGAIN)
			return ret;
		req.futex = __atomic_load_n(&w->futex, __ATOMIC_ACQUIRE);
		__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
		ret = mk_ring_try_recv(rx, buf, cap, len);
		if (ret != -EAGAIN) {
			__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
			return ret;
		}
		ret = ioc(rxfd, MKCHAN_IOC_WAIT, &req);
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
		if (ret == -EPIPE) {	/* drain what the peer left */
			ret = mk_ring_try_recv(rx, buf, cap, len);
			return ret == -EAGAIN ? -EPIPE : ret;
		}
		if (ret)
			return ret;
	}
}

/* The producer's half: kick only a consumer that said it sleeps. */
static int send_msg(int txfd, void *map, struct mk_ring_tx *tx, const void *msg,
		    size_t len)
{
	struct mkchan_ring_wait *w = (void *)((char *)map + MKCHAN_RING_WAIT_OFFSET);
	int ret;

	while ((ret = mk_ring_try_send(tx, msg, len)) == -EAGAIN)
		sched_yield();
	if (ret)
		return ret;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED)) {
		__atomic_fetch_add(&w->futex, 1, __ATOMIC_SEQ_CST);
		return ioc(txfd, MKCHAN_IOC_KICK, NULL);
	}
	return 0;
}

#define NMSG 200000
#define ALIAS 0x6d6b2d74657374ULL	/* "mk-test" */

/* Child: connects on its own (mappings are not inherited) and sends. */
static int child_sender(uint64_t alias, uint64_t cap, int count, int stall)
{
	int ctl = open(MKCHAN_DEVICE, O_RDWR), fd;
	unsigned char msg[200];
	struct mk_ring_tx tx;
	size_t len;
	void *map;

	if (ctl < 0 || (fd = connect_to(ctl, alias, cap, 64)) < 0)
		return 10;
	map = map_chan(fd, &len);
	if (!map || mk_ring_attach_tx(&tx, map, len))
		return 11;
	for (int i = 0; i < count; i++) {
		size_t sz = i % 97 == 0 ? 150 : 8;

		memset(msg, i & 0xff, sz);
		memcpy(msg, &i, sizeof(i));
		if (send_msg(fd, map, &tx, msg, sz))
			return 12;
		if (stall && i % 1000 == 0)
			usleep(200);	/* let the receiver fall asleep */
	}
	if (stall < 0)
		pause();	/* wait to be killed */
	return 0;
}

static void test_messages(struct mbox *m)
{
	struct mkchan_accept acc;
	unsigned char buf[256];
	struct mk_ring_rx rx;
	int fd, status, bad = 0, got = 0, ret;
	size_t len, mlen;
	pid_t pid;
	void *map;

	pid = fork();
	if (!pid)
		_exit(child_sender(ALIAS, m->cap, NMSG, 1));
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 10000) == 1 && (pfd.revents & POLLIN),
	      "mailbox fd polls readable when a peer connects");
	fd = accept_one(m->fd, &acc);
	CHECK(fd >= 0 && acc.peer_pid == pid && acc.peer_uid == getuid() &&
	      acc.peer_gid == getgid() && !acc.reserved &&
	      acc.alias == ALIAS && acc.cap == m->cap && acc.slots == 64,
	      "accept names the peer (pid %d, uid %u, gid %u), alias, cap and ring size",
	      acc.peer_pid, acc.peer_uid, acc.peer_gid);
	map = fd >= 0 ? map_chan(fd, &len) : NULL;
	CHECK(map && !mk_ring_attach_rx(&rx, map, len), "receiver maps the ring");
	if (!map)
		return;
	for (got = 0; got < NMSG; got++) {
		ret = wait_msg(fd, map, &rx, buf, sizeof(buf), &mlen, 5000000000LL);
		if (ret) {
			printf("# receive %d failed: %d\n", got, ret);
			break;
		}
		int seq;
		memcpy(&seq, buf, sizeof(seq));
		if (seq != got || mlen != (got % 97 == 0 ? 150u : 8u) ||
		    buf[mlen - 1] != (got & 0xff))
			bad++;
	}
	CHECK(got == NMSG && !bad, "%d messages from another process, in order and intact "
	      "(kernel wake-ups, fragments)", got);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender exits cleanly (%d)",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ret = wait_msg(fd, map, &rx, buf, sizeof(buf), &mlen, 1000000000LL);
	CHECK(ret == -EPIPE && ring_info(map)->closed == MKCHAN_RING_CLOSED_PEER,
	      "after the sender exits the receiver drains, then gets EPIPE (%d)", ret);
	munmap(map, len);
	close(fd);
}

static void test_kill(struct mbox *m)
{
	struct mkchan_accept acc;
	unsigned char buf[256];
	struct mk_ring_rx rx;
	size_t len, mlen;
	int fd, ret, got = 0;
	pid_t pid;
	void *map;

	pid = fork();
	if (!pid)
		_exit(child_sender(ALIAS, m->cap, 1000, -1));
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
	poll(&pfd, 1, 10000);
	fd = accept_one(m->fd, &acc);
	map = fd >= 0 ? map_chan(fd, &len) : NULL;
	if (!map || mk_ring_attach_rx(&rx, map, len)) {
		CHECK(0, "accept the channel of the process to kill");
		return;
	}
	while (got < 1000 && !wait_msg(fd, map, &rx, buf, sizeof(buf), &mlen, 5000000000LL))
		got++;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ret = wait_msg(fd, map, &rx, buf, sizeof(buf), &mlen, 5000000000LL);
	CHECK(got == 1000 && ret == -EPIPE,
	      "a killed sender's channel reports EPIPE to the receiver (%d, %d msgs)",
	      ret, got);
	munmap(map, len);
	close(fd);
}

struct blocked {
	int fd;
	void *map;
	struct mk_ring_rx rx;
	atomic_int ret;
	atomic_int started;
};

static void *block_in_wait(void *arg)
{
	struct blocked *b = arg;
	unsigned char buf[64];
	size_t len;

	atomic_store(&b->started, 1);
	atomic_store(&b->ret, wait_msg(b->fd, b->map, &b->rx, buf, sizeof(buf), &len, -1));
	return NULL;
}

/* A pair in this process: returns the rx fd, the tx fd in *txfd. */
static int pair(int ctl, struct mbox *m, uint64_t alias, int *txfd)
{
	struct mkchan_accept acc;

	*txfd = connect_to(ctl, alias, m->cap, 16);
	if (*txfd < 0)
		return *txfd;
	return accept_one(m->fd, &acc);
}

struct pong {
	int fd;
	void *ring0, *ring1;
	size_t len;
	int rounds;
	int ret;
};

/* The accepting end: answers each request on ring 1. */
static void *ponger(void *arg)
{
	struct pong *p = arg;
	struct mk_ring_rx rx;
	struct mk_ring_tx tx;
	unsigned char buf[64];
	size_t len;

	if (mk_ring_attach_rx(&rx, p->ring0, p->len) || mk_ring_attach_tx(&tx, p->ring1, p->len)) {
		p->ret = -EINVAL;
		return NULL;
	}
	for (int i = 0; i < p->rounds; i++) {
		p->ret = wait_msg(p->fd, p->ring0, &rx, buf, sizeof(buf), &len, 5000000000LL);
		if (!p->ret)
			p->ret = send_msg(p->fd, p->ring1, &tx, buf, len);
		if (p->ret)
			return NULL;
	}
	return NULL;
}

/* Both ends in one process: requests on ring 0, replies on ring 1. */
static void test_duplex(int ctl, struct mbox *m)
{
	struct pong p = { .rounds = 5000 };
	struct mkchan_chan_info info;
	struct mkchan_accept acc;
	struct mk_ring_rx rx;
	struct mk_ring_tx tx;
	unsigned char buf[64];
	int cfd, i, bad = 0, ret = 0;
	size_t len, clen, mlen;
	pthread_t t;
	void *cmap, *amap;

	cfd = connect_to(ctl, ALIAS, m->cap, 32);
	p.fd = accept_one(m->fd, &acc);
	cmap = cfd >= 0 ? map_chan(cfd, &clen) : NULL;
	amap = p.fd >= 0 ? map_chan(p.fd, &len) : NULL;
	if (!cmap || !amap || ioc(cfd, MKCHAN_IOC_CHAN_INFO, &info)) {
		CHECK(0, "a duplex channel");
		return;
	}
	p.ring0 = amap;
	p.ring1 = (char *)amap + info.ring1_offset;
	p.len = info.ring1_offset;
	mk_ring_attach_tx(&tx, cmap, info.ring1_offset);
	mk_ring_attach_rx(&rx, (char *)cmap + info.ring1_offset, info.ring1_offset);
	pthread_create(&t, NULL, ponger, &p);
	for (i = 0; i < p.rounds && !ret; i++) {
		ret = send_msg(cfd, cmap, &tx, &i, sizeof(i));
		if (!ret)
			ret = wait_msg(cfd, (char *)cmap + info.ring1_offset, &rx, buf,
				       sizeof(buf), &mlen, 5000000000LL);
		if (!ret && (mlen != sizeof(i) || memcmp(buf, &i, sizeof(i))))
			bad++;
	}
	pthread_join(t, NULL);
	CHECK(info.end == MKCHAN_END_CONNECT && !ret && !p.ret && !bad && i == p.rounds,
	      "duplex: %d requests on ring 0 answered on ring 1, both ends woken "
	      "by the kernel (%d, %d)", i, ret, p.ret);
	munmap(cmap, clen);
	munmap(amap, len);
	close(cfd);
	close(p.fd);
}

enum shoot { BY_CAP, BY_NAME, BY_MBOX_CLOSE, BY_ALIAS_DEL };

static void test_shootdown(int ctl, enum shoot how, const char *what)
{
	static uint64_t next_alias = 0x1000;
	uint64_t alias = next_alias++;
	struct mbox m = mbox_new(ctl, alias);
	struct mkchan_alias req = { .alias = alias };
	struct blocked b = { 0 };
	struct mk_ring_tx tx;
	struct pollfd pfd;
	int tx_fd, kick, ret;
	size_t len, tlen;
	pthread_t t;
	void *tmap;

	b.fd = pair(ctl, &m, alias, &tx_fd);
	b.map = b.fd >= 0 ? map_chan(b.fd, &len) : NULL;
	tmap = tx_fd >= 0 ? map_chan(tx_fd, &tlen) : NULL;
	if (!b.map || !tmap || mk_ring_attach_rx(&b.rx, b.map, len) ||
	    mk_ring_attach_tx(&tx, tmap, tlen)) {
		CHECK(0, "set up a channel to shoot down (%s)", what);
		return;
	}
	pthread_create(&t, NULL, block_in_wait, &b);
	while (!atomic_load(&b.started))
		usleep(1000);
	usleep(50000);	/* into the kernel */

	switch (how) {
	case BY_CAP:
		ret = ioc(m.fd, MKCHAN_IOC_CAP_DEL, &m.cap);
		break;
	case BY_NAME:
		ret = ioc(m.fd, MKCHAN_IOC_NAME_DEL, &alias);
		break;
	case BY_MBOX_CLOSE:
		ret = close(m.fd);
		m.fd = -1;
		break;
	default:
		ret = ioc(ctl, MKCHAN_IOC_ALIAS_DEL, &req);
		break;
	}
	pthread_join(t, NULL);
	kick = ioc(tx_fd, MKCHAN_IOC_KICK, NULL);
	if (!kick || ioc(tx_fd, MKCHAN_IOC_KICK_CREDITS, NULL) != -ECONNRESET)
		kick = 0;
	pfd = (struct pollfd){ .fd = b.fd, .events = POLLIN };
	poll(&pfd, 1, 0);
	CHECK(!ret && atomic_load(&b.ret) == -ECONNRESET && kick == -ECONNRESET &&
	      ring_info(b.map)->closed == MKCHAN_RING_REVOKED &&
	      (pfd.revents & (POLLHUP | POLLERR)) == (POLLHUP | POLLERR),
	      "%s shoots the channel down: blocked receiver wakes with ECONNRESET, "
	      "sender's KICK and KICK_CREDITS fail, poll says HUP|ERR", what);
	if (how != BY_MBOX_CLOSE) {
		ret = connect_to(ctl, alias, m.cap, 16);
		CHECK(ret == -ECONNREFUSED || ret == -EACCES,
		      "after %s, connecting again is refused (%d)", what, ret);
	}
	munmap(b.map, len);
	munmap(tmap, tlen);
	close(b.fd);
	close(tx_fd);
	if (m.fd >= 0)
		close(m.fd);
}

struct credit_waiter {
	int fd;
	struct mkchan_wait w;
	atomic_int ret;
	atomic_bool done;
};

static void *credit_wait(void *arg)
{
	struct credit_waiter *c = arg;

	atomic_store(&c->ret, ioc(c->fd, MKCHAN_IOC_WAIT, &c->w));
	atomic_store(&c->done, true);
	return NULL;
}

/*
 * "Waiting for credits" through the module on a fresh 64-slot channel:
 * @afd is the accepting end (it sends on ring 1), @cfd the connecting end,
 * @map the accepting end's mapping. Leaves the rings as it found them.
 */
static void credits_checks(int afd, int cfd, void *map, const struct mkchan_chan_info *info)
{
	struct mkchan_ring *r1 = (void *)((char *)map + info->ring1_offset);
	struct pollfd pfd = { .fd = afd, .events = POLLOUT };
	struct credit_waiter c = { .fd = afd };
	struct mk_ring_tx tx;
	pthread_t t;
	int sent = 0, ret;

	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT),
	      "an empty ring polls writable");
	ret = ioc(afd, MKCHAN_IOC_WAIT, &(struct mkchan_wait){
		.futex = 0, .flags = MKCHAN_WAIT_CREDITS, .timeout_ns = 20000000 });
	CHECK(ret == -ETIMEDOUT, "WAIT for credits while head holds the value: ETIMEDOUT (%d)",
	      ret);
	ret = ioc(afd, MKCHAN_IOC_WAIT, &(struct mkchan_wait){
		.futex = 5, .flags = MKCHAN_WAIT_CREDITS, .timeout_ns = -1 });
	CHECK(ret == 0, "WAIT for credits with a value head no longer holds returns at once");
	if (mk_ring_attach_tx(&tx, r1, info->map_bytes - info->ring1_offset))
		return;
	while (!mk_ring_try_send(&tx, "x", 1))
		sent++;
	pfd.revents = 0;
	CHECK(sent == 64 && poll(&pfd, 1, 0) == 0, "a full ring does not poll writable");

	/* Blocked for credits; a kick without a new head does not end it. */
	c.w = (struct mkchan_wait){ .futex = 0, .flags = MKCHAN_WAIT_CREDITS,
				    .timeout_ns = 5000000000LL };
	pthread_create(&t, NULL, credit_wait, &c);
	usleep(50000);
	ret = ioc(cfd, MKCHAN_IOC_KICK_CREDITS, NULL);
	usleep(50000);
	CHECK(!ret && !atomic_load(&c.done), "KICK_CREDITS with the head unchanged: still asleep");
	/* The consumer's side, played by hand: publish, then kick. */
	__atomic_store_n(&r1->cons.head, 64, __ATOMIC_RELEASE);
	ioc(cfd, MKCHAN_IOC_KICK_CREDITS, NULL);
	pthread_join(t, NULL);
	pfd.revents = 0;
	CHECK(atomic_load(&c.ret) == 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT),
	      "the consumer's head and KICK_CREDITS wake the sender; the ring polls writable");
	/* Put the ring back the way the tests after this expect it. */
	memset(r1->slots, 0, 64 * sizeof(r1->slots[0]));
	__atomic_store_n(&r1->cons.head, 0, __ATOMIC_RELEASE);
}

static void test_refusals(int ctl, struct mbox *m)
{
	struct mkchan_connect bad = { .alias = ALIAS, .cap = m->cap, .slots = 64 };
	struct mkchan_accept acc;
	struct mkchan_mbox_create mc = { .cpu = 100000 };
	uint64_t other = ALIAS;
	int fd, rfd, tx;
	size_t len;
	void *p;

	CHECK(connect_to(ctl, ALIAS, m->cap ^ 1, 64) == -EACCES,
	      "connect with a wrong capability: EACCES");
	CHECK(connect_to(ctl, ALIAS + 1, m->cap, 64) == -ECONNREFUSED,
	      "connect to an unknown name: ECONNREFUSED");
	CHECK(connect_to(ctl, ALIAS, m->cap, 48) == -EINVAL &&
	      connect_to(ctl, ALIAS, m->cap, 1) == -EINVAL &&
	      connect_to(ctl, ALIAS, m->cap, 1u << 20) == -EINVAL,
	      "ring sizes that are not a power of two in range: EINVAL");
	bad.flags = 1;
	CHECK(ioc(ctl, MKCHAN_IOC_CONNECT, &bad) == -EINVAL, "unknown connect flags: EINVAL");
	CHECK(ioc(ctl, MKCHAN_IOC_MBOX_CREATE, &mc) == -EINVAL, "mailbox on a CPU that does not exist: EINVAL");
	CHECK(ioc(m->fd, MKCHAN_IOC_NAME_ADD, &other) == -EEXIST, "a name taken: EEXIST");
	CHECK(accept_one(m->fd, &acc) == -EAGAIN, "accept with nothing pending: EAGAIN");
	CHECK(ioc(ctl, MKCHAN_IOC_CONNECT, (void *)8) == -EFAULT, "connect from a bad pointer: EFAULT");

	struct mkchan_connect con = { .alias = ALIAS, .cap = m->cap, .slots = 64,
				      .owner_uid = 1, .owner_gid = 1 };

	tx = ioc(ctl, MKCHAN_IOC_CONNECT, &con) ? -1 : con.fd;
	CHECK(tx >= 0 && con.owner_uid == getuid() && con.owner_gid == getgid(),
	      "connect names the mailbox owner (uid %u, gid %u)", con.owner_uid,
	      con.owner_gid);
	con.reserved = 1;
	CHECK(ioc(ctl, MKCHAN_IOC_CONNECT, &con) == -EINVAL, "connect with reserved bits: EINVAL");
	rfd = accept_one(m->fd, &acc);
	CHECK(tx >= 0 && rfd >= 0, "a channel to abuse");
	struct mkchan_chan_info info;
	ioc(rfd, MKCHAN_IOC_CHAN_INFO, &info);
	CHECK(info.end == MKCHAN_END_ACCEPT && info.slots == 64 &&
	      info.map_bytes == 16384 && info.ring1_offset == 8192 && info.node == 0 &&
	      info.ring1_offset == MKCHAN_CHAN_RING1_OFFSET(64, 4096),
	      "channel info: end, slots, %llu bytes, ring 1 at %llu, node %d",
	      (unsigned long long)info.map_bytes,
	      (unsigned long long)info.ring1_offset, info.node);
	len = info.map_bytes;
	CHECK(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, rfd, 0) == MAP_FAILED &&
	      errno == EINVAL, "private mapping refused");
	CHECK(mmap(NULL, len * 2, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0) == MAP_FAILED &&
	      errno == EINVAL, "oversized mapping refused");
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 4096) == MAP_FAILED &&
	      errno == EINVAL, "mapping at an offset refused");
	CHECK(mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, rfd, 0) == MAP_FAILED &&
	      errno == EPERM, "executable mapping refused");
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	CHECK(p != MAP_FAILED && mremap(p, len, len * 2, 0) == MAP_FAILED,
	      "the mapping cannot grow");
	CHECK(ioc(rfd, MKCHAN_IOC_WAIT, &(struct mkchan_wait){ .futex = 0, .flags = 2 }) == -EINVAL &&
	      ioc(rfd, MKCHAN_IOC_WAIT, &(struct mkchan_wait){ .flags = ~0u }) == -EINVAL,
	      "WAIT with unknown flags: EINVAL");
	if (p != MAP_FAILED)
		credits_checks(rfd, tx, p, &info);
	CHECK(ioc(rfd, MKCHAN_IOC_WAIT, &(struct mkchan_wait){ .futex = 0, .timeout_ns = 20000000 }) == -ETIMEDOUT,
	      "WAIT with nothing sent times out: ETIMEDOUT");
	/* a hostile consumer head cannot make the kernel read out of bounds */
	struct mkchan_ring_cons *cons = (void *)((char *)p + MKCHAN_RING_CONS_OFFSET);
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	int polled = 0;

	for (uint64_t head = 1; head; head <<= 1) {
		cons->head = head - 1;
		polled += poll(&pfd, 1, 0) >= 0;
	}
	cons->head = 12345;
	CHECK(polled == 64 && poll(&pfd, 1, 0) == 0,
	      "poll with scribbled consumer heads: no crash, no phantom message");
	cons->head = 0;
	munmap(p, len);
	close(rfd);
	close(tx);

	fd = fork();
	if (!fd) {
		struct mkchan_alias a = { .alias = 77, .mbox_id = m->id };

		if (setuid(65534))
			_exit(2);
		_exit(ioc(ctl, MKCHAN_IOC_ALIAS_ADD, &a) == -EPERM &&
		      ioc(ctl, MKCHAN_IOC_ALIAS_DEL, &a) == -EPERM ? 0 : 1);
	}
	int status;
	waitpid(fd, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "name-service ioctls need CAP_SYS_ADMIN");
	struct mkchan_alias a = { .alias = 4242, .mbox_id = m->id };
	CHECK(!ioc(ctl, MKCHAN_IOC_ALIAS_ADD, &a) &&
	      (tx = connect_to(ctl, 4242, m->cap, 4)) >= 0,
	      "the name service names a mailbox by id; connect by that name works");
	if (tx >= 0) {
		close(tx);
		rfd = accept_one(m->fd, &acc);
		CHECK(rfd >= 0 && acc.alias == 4242,
		      "a channel whose sender already left can still be accepted");
		close(rfd);
	}
	a.mbox_id = ~0ULL;
	a.alias = 4243;
	CHECK(ioc(ctl, MKCHAN_IOC_ALIAS_ADD, &a) == -ENOENT, "naming a mailbox id that does not exist: ENOENT");
}

int main(void)
{
	struct mkchan_counters before = { -1, -1, -1 }, after;
	int ctl = open(MKCHAN_DEVICE, O_RDWR);
	struct mbox m;

	CHECK(ctl >= 0 && mkchan_counters_read(&before),
	      "open %s; counters: %ld mailboxes, %ld channels, %ld ring pages",
	      MKCHAN_DEVICE, before.mailboxes, before.channels, before.ring_pages);
	if (ctl < 0)
		return 1;
	m = mbox_new(ctl, ALIAS);
	CHECK(m.fd >= 0 && m.id && m.cap, "mailbox with a name and a capability");
	test_refusals(ctl, &m);
	test_messages(&m);
	test_duplex(ctl, &m);
	test_kill(&m);
	test_shootdown(ctl, BY_CAP, "removing the capability");
	test_shootdown(ctl, BY_NAME, "removing the name");
	test_shootdown(ctl, BY_MBOX_CLOSE, "closing the mailbox");
	test_shootdown(ctl, BY_ALIAS_DEL, "the name service removing the alias");
	close(m.fd);
	close(ctl);
	CHECK(mkchan_counters_read(&after) && mkchan_counters_equal(&before, &after),
	      "every mailbox, channel and ring page freed (%ld, %ld, %ld)",
	      after.mailboxes, after.channels, after.ring_pages);
	printf("1..%d\n", n);
	return failed != 0;
}
