// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk channels over whichever transport libmk picks (the mkchan module
 * when /dev/mkchan is there, the user-space fallback otherwise;
 * $MK_CHAN_TRANSPORT forces one): name hashing, mailbox names and
 * capabilities, connects that must be refused, a forked process as the
 * peer (sequence-checked streams with fragments, blocking ping-pong),
 * poll-then-block wake-ups at the ring level, peer death, shootdown,
 * hostile ring contents, and (fallback only) hostile requests and replies
 * on the fallback's socket protocol. Where the transports differ, each
 * case checks what its transport promises (<mk/chan.h>).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mk/chan.h>
#include <mk/libmk.h>
#include <mk/mkchan.h>
#include <mk/ring.h>

#include "../lib/chan_test.h"

#define PAYLOAD		MKCHAN_RING_PAYLOAD
#define SEC		1000000000LL
#define MSEC		1000000LL


static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* --- connecting from a thread while this thread serves the mailbox --- */

struct job {
	uint64_t alias, cap;
	unsigned int slots;
	int ret;
	struct mk_chan *ch;
	atomic_bool done;
};

static void *connect_thread(void *arg)
{
	struct job *j = arg;

	j->ret = mk_chan_connect_alias(&j->ch, j->alias, j->cap, j->slots, 5 * SEC);
	atomic_store(&j->done, true);
	return NULL;
}

/*
 * Connects to @alias with @cap; returns what the client got, the client's
 * channel in *@cli and the mailbox's in *@srv (both NULL on failure).
 */
static int connect_pair(struct mk_mbox *mb, uint64_t alias, uint64_t cap,
			unsigned int slots, struct mk_chan **cli, struct mk_chan **srv)
{
	struct job j = { .alias = alias, .cap = cap, .slots = slots };
	struct mk_chan *s = NULL, *tmp;
	pthread_t t;
	int ret;

	assert_int_equal(pthread_create(&t, NULL, connect_thread, &j), 0);
	while (!atomic_load(&j.done)) {
		ret = mk_mbox_accept(mb, &tmp, 10 * MSEC);
		if (!ret) {
			assert_null(s);
			s = tmp;
		} else {
			assert_true(ret == -ETIMEDOUT);
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	/*
	 * Fallback: the mailbox answers before the client can be done.
	 * Module: the kernel answers the client; the channel waits for us.
	 */
	if (!j.ret && !s && on_module())
		assert_int_equal(mk_mbox_accept(mb, &s, 5 * SEC), 0);
	if (!j.ret)
		assert_non_null(s);
	else
		assert_null(s);
	*cli = j.ch;
	*srv = s;
	return j.ret;
}

static void test_name_hash(void **state)
{
	(void)state;
	/* FNV-1a 64 reference values. */
	assert_true(mk_name_hash("") == 0xcbf29ce484222325ULL);
	assert_true(mk_name_hash("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(mk_name_hash("foobar") == 0x85944171f73967e8ULL);
	assert_true(mk_name_hash("fs.root") != mk_name_hash("fs.rooT"));
	assert_int_equal(mk_chan_ring_offset(64), 8192);
	assert_int_equal(mk_chan_ring_offset(2), 4096);
	assert_int_equal(mk_chan_ring_offset(3), 0);
	assert_int_equal(mk_chan_shm_bytes(64), 16384);
}

static void test_mbox_names_caps(void **state)
{
	struct mk_mbox *mb, *mb2;
	const char *name = uniq_name("names");
	uint64_t c1, c2;

	(void)state;
	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_true(mk_mbox_home_cpu(mb) >= 0);
	assert_int_equal(mk_mbox_owner_tid(mb), gettid());
	assert_int_equal(mk_mbox_add_name(mb, name), 0);
	assert_int_equal(mk_mbox_add_name(mb, name), -EEXIST);
	assert_int_equal(mk_mbox_add_alias(mb, mk_name_hash(name)), -EEXIST);
	assert_int_equal(mk_mbox_add_name(mb, ""), -EINVAL);
	assert_int_equal(mk_mbox_add_name(mb, NULL), -EINVAL);
	assert_int_equal(mk_mbox_remove_name(mb, "no such name"), -ENOENT);

	/* A name belongs to one mailbox, whichever process it is in. */
	assert_int_equal(mk_mbox_create(&mb2), 0);
	assert_int_equal(mk_mbox_add_name(mb2, name), -EADDRINUSE);
	mk_mbox_close(mb2);

	assert_int_equal(mk_mbox_new_cap(mb, &c1), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &c2), 0);
	assert_true(c1 && c2 && c1 != c2);
	assert_int_equal(mk_mbox_remove_cap(mb, c1), 0);
	assert_int_equal(mk_mbox_remove_cap(mb, c1), -ENOENT);

	/* Nothing to accept: non-blocking and bounded calls return. */
	struct mk_chan *ch;

	assert_int_equal(mk_mbox_accept(mb, &ch, 0), -EAGAIN);
	assert_int_equal(mk_mbox_accept(mb, &ch, 5 * MSEC), -ETIMEDOUT);
	assert_true(mk_mbox_fd(mb) >= 0);

	assert_int_equal(mk_mbox_remove_name(mb, name), 0);
	mk_mbox_close(mb);
	/* The name is free again once its mailbox let it go. */
	assert_int_equal(mk_mbox_create(&mb2), 0);
	assert_int_equal(mk_mbox_add_name(mb2, name), 0);
	mk_mbox_close(mb2);
}

static void exchange(struct mk_chan *a, struct mk_chan *b, const char *text)
{
	char buf[64];
	size_t n;

	assert_int_equal(mk_chan_try_send(a, text, strlen(text)), 0);
	assert_int_equal(mk_chan_recv(b, buf, sizeof(buf), &n, SEC), 0);
	assert_int_equal(n, strlen(text));
	assert_memory_equal(buf, text, n);
}

static void test_connect_and_refuse(void **state)
{
	const char *n1 = uniq_name("a"), *n2 = uniq_name("b");
	struct mk_chan *cli, *srv;
	struct mk_mbox *mb;
	uint64_t cap, cap2;
	char big_buf[64];
	size_t n;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int fds;

	(void)state;
	fds = count_fds();
	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_add_name(mb, n1), 0);
	assert_int_equal(mk_mbox_add_name(mb, n2), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &cap), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &cap2), 0);

	/* Right name and capability: a duplex channel. */
	assert_int_equal(connect_pair(mb, mk_name_hash(n1), cap, 16, &cli, &srv), 0);
	exchange(cli, srv, "hello mailbox");
	exchange(srv, cli, "hello client");
	assert_int_equal(mk_chan_max_msg(cli), 16 * PAYLOAD);
	/* Too long to send, too long for the buffer (it stays queued). */
	{
		char big[16 * PAYLOAD + 1], small[4];
		size_t n;

		memset(big, 'x', sizeof(big));
		assert_int_equal(mk_chan_try_send(cli, big, sizeof(big)), -EMSGSIZE);
		assert_int_equal(mk_chan_send(cli, big, sizeof(big), SEC), -EMSGSIZE);
		assert_int_equal(mk_chan_try_send(cli, big, 16 * PAYLOAD), 0);
		assert_int_equal(mk_chan_try_send(cli, big, 1), -EAGAIN);
		assert_int_equal(mk_chan_send(cli, big, 1, 1000000), -ETIMEDOUT);
		assert_int_equal(mk_chan_recv(srv, small, sizeof(small), &n, SEC), -ENOBUFS);
		assert_int_equal(n, 16 * PAYLOAD);
		assert_int_equal(mk_chan_try_recv(srv, big, sizeof(big), &n), 0);
		assert_int_equal(n, 16 * PAYLOAD);
		assert_int_equal(mk_chan_try_recv(srv, small, sizeof(small), &n), -EAGAIN);
		assert_int_equal(mk_chan_recv(srv, small, sizeof(small), &n, 1000000),
				 -ETIMEDOUT);
	}
	assert_int_equal(mk_chan_peer(srv, &pid, &uid, &gid), 0);
	assert_int_equal(pid, getpid());
	assert_int_equal(uid, getuid());
	assert_int_equal(gid, getgid());
	/* The connecting end learns who owns the mailbox. */
	assert_int_equal(mk_chan_peer(cli, &pid, &uid, &gid), 0);
	assert_int_equal(pid, on_module() ? 0 : getpid());
	assert_int_equal(uid, getuid());
	assert_int_equal(gid, getgid());
	assert_int_equal(mk_chan_peer(NULL, &pid, &uid, &gid), -EINVAL);
	assert_int_equal(mk_chan_transport(cli), transport);
	assert_int_equal(mk_chan_transport(srv), transport);
	assert_int_equal(mk_mbox_transport(mb), transport);
	assert_true(mk_chan_alias(srv) == mk_name_hash(n1));
	assert_int_equal(mk_chan_home_cpu(cli), mk_mbox_home_cpu(mb));
	mk_chan_close(cli);
	mk_chan_close(srv);

	/* Any name with any capability; default ring size. */
	assert_int_equal(connect_pair(mb, mk_name_hash(n2), cap2, 0, &cli, &srv), 0);
	assert_int_equal(mk_chan_max_msg(srv), MK_CHAN_DEFAULT_SLOTS * PAYLOAD);
	exchange(cli, srv, "second");
	mk_chan_close(cli);
	mk_chan_close(srv);

	/* Wrong capability, 0, bad ring size, unknown name. */
	assert_int_equal(connect_pair(mb, mk_name_hash(n1), cap ^ 1, 16, &cli, &srv), -EACCES);
	assert_int_equal(connect_pair(mb, mk_name_hash(n1), 0, 16, &cli, &srv), -EACCES);
	assert_int_equal(mk_chan_connect(&cli, n1, cap, 3), -EINVAL);
	assert_int_equal(mk_chan_connect(&cli, n1, cap, 65536), -EINVAL);
	assert_int_equal(mk_chan_connect(&cli, uniq_name("nobody"), cap, 16), -ECONNREFUSED);
	assert_int_equal(mk_chan_connect(&cli, "", cap, 16), -EINVAL);

	/* Removed capability, removed name. */
	assert_int_equal(mk_mbox_remove_cap(mb, cap2), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(n2), cap2, 16, &cli, &srv), -EACCES);
	assert_int_equal(mk_mbox_remove_name(mb, n2), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(n2), cap, 16, &cli, &srv), -ECONNREFUSED);
	/* The other name still works. */
	assert_int_equal(connect_pair(mb, mk_name_hash(n1), cap, 16, &cli, &srv), 0);

	/*
	 * A closed mailbox refuses. Fallback: its channels live on. Module:
	 * they are shot down.
	 */
	mk_mbox_close(mb);
	assert_int_equal(mk_chan_connect(&cli, n1, cap, 16),
			 -ECONNREFUSED);
	if (on_module()) {
		assert_int_equal(mk_chan_try_send(srv, "x", 1), -ECONNRESET);
		assert_int_equal(mk_chan_try_recv(cli, big_buf, sizeof(big_buf), &n),
				 -ECONNRESET);
	} else {
		exchange(srv, cli, "still here");
	}
	mk_chan_close(cli);
	mk_chan_close(srv);
	assert_int_equal(count_fds(), fds);
}

/* The mailbox fd polls readable when a connect waits to be accepted. */
static void test_mbox_fd_polls(void **state)
{
	const char *name = uniq_name("poll");
	struct job j = { .alias = mk_name_hash(name), .slots = 8 };
	struct mk_chan *srv;
	struct mk_mbox *mb;
	struct pollfd p;
	pthread_t t;

	(void)state;
	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_add_name(mb, name), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &j.cap), 0);
	p = (struct pollfd){ .fd = mk_mbox_fd(mb), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, connect_thread, &j), 0);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(p.revents & POLLIN);
	assert_int_equal(mk_mbox_accept(mb, &srv, 5 * SEC), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(j.ret, 0);
	exchange(j.ch, srv, "polled");
	mk_chan_close(j.ch);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

/* A connect that is in the backlog or pending when its name goes. */
static void test_remove_name_while_pending(void **state)
{
	const char *name = uniq_name("pending");
	struct job j = { .alias = mk_name_hash(name), .slots = 8 };
	struct mk_mbox *mb;
	pthread_t t;

	(void)state;
	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_add_name(mb, name), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &j.cap), 0);
	assert_int_equal(pthread_create(&t, NULL, connect_thread, &j), 0);
	/* Let it connect and send its request, but do not serve it. */
	usleep(20000);
	assert_int_equal(mk_mbox_remove_name(mb, name), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (on_module()) {
		/* Connected at once, shot down with the name, never accepted. */
		uint64_t v;
		size_t len;

		assert_int_equal(j.ret, 0);
		assert_int_equal(mk_chan_recv(j.ch, &v, sizeof(v), &len, SEC), -ECONNRESET);
		assert_int_equal(mk_chan_try_send(j.ch, &v, sizeof(v)), -ECONNRESET);
		assert_int_equal(mk_mbox_accept(mb, &j.ch, 0), -EAGAIN);
		mk_chan_close(j.ch);
	} else {
		assert_int_equal(j.ret, -ECONNREFUSED);
	}
	mk_mbox_close(mb);
}

/* --- hostile clients and mailboxes speaking the wire protocol by hand --- */

static int raw_connect(uint64_t alias)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int n;

	assert_true(fd >= 0);
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, MK_CHAN_SOCK_FMT, alias);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa,
				 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
	return fd;
}

static void test_hostile_requests(void **state)
{
	const char *name = uniq_name("hostile");
	struct mk_chan_wire_req req;
	struct mk_chan_wire_rep rep;
	struct mk_chan *cli, *srv;
	struct mk_mbox *mb;
	char big[200];
	uint64_t cap;
	int fd, silent;

	(void)state;
	if (on_module())
		skip();	/* the fallback's socket protocol; the module has none */
	assert_int_equal(named_mbox(&mb, name, &cap), 0);

	/*
	 * Clients that connect and say nothing hold up neither accept nor,
	 * past MK_MBOX_MAX_PENDING of them, honest clients: the oldest go.
	 */
	int silent_fds[MK_MBOX_MAX_PENDING + 4];
	char c;

	for (int i = 0; i < MK_MBOX_MAX_PENDING + 4; i++)
		silent_fds[i] = raw_connect(mk_name_hash(name));
	assert_int_equal(mk_mbox_accept(mb, &srv, 0), -EAGAIN);
	assert_int_equal(recv(silent_fds[0], &c, 1, MSG_DONTWAIT), 0);
	assert_int_equal(recv(silent_fds[MK_MBOX_MAX_PENDING + 3], &c, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	silent = silent_fds[MK_MBOX_MAX_PENDING + 3];
	for (int i = 0; i < MK_MBOX_MAX_PENDING + 3; i++)
		close(silent_fds[i]);

	/* Short, long and mislabelled requests get -EPROTO and a hang-up. */
	struct { const void *buf; size_t len; } bad[4];

	memset(&req, 0, sizeof(req));
	req.magic = MK_CHAN_WIRE_MAGIC;
	req.version = MK_CHAN_WIRE_VERSION;
	req.alias = mk_name_hash(name);
	req.cap = cap;
	memset(big, 0x5a, sizeof(big));
	memcpy(big, &req, sizeof(req));
	struct mk_chan_wire_req badver = req, badres = req;

	badver.version = 99;
	badres.reserved = 1;
	bad[0].buf = "abc";
	bad[0].len = 3;
	bad[1].buf = big;
	bad[1].len = sizeof(big);
	bad[2].buf = &badver;
	bad[2].len = sizeof(badver);
	bad[3].buf = &badres;
	bad[3].len = sizeof(badres);
	for (int i = 0; i < 4; i++) {
		fd = raw_connect(mk_name_hash(name));
		assert_int_equal(send(fd, bad[i].buf, bad[i].len, 0), (ssize_t)bad[i].len);
		assert_int_equal(mk_mbox_accept(mb, &srv, 50 * MSEC), -ETIMEDOUT);
		assert_int_equal(recv(fd, &rep, sizeof(rep), MSG_DONTWAIT), sizeof(rep));
		assert_int_equal(rep.magic, MK_CHAN_WIRE_MAGIC);
		assert_int_equal(rep.status, -EPROTO);
		assert_int_equal(recv(fd, &rep, sizeof(rep), MSG_DONTWAIT), 0);
		close(fd);
	}
	/* A request naming another alias than the socket it came through. */
	req.alias ^= 1;
	fd = raw_connect(mk_name_hash(name));
	assert_int_equal(send(fd, &req, sizeof(req), 0), sizeof(req));
	assert_int_equal(mk_mbox_accept(mb, &srv, 50 * MSEC), -ETIMEDOUT);
	assert_int_equal(recv(fd, &rep, sizeof(rep), MSG_DONTWAIT), sizeof(rep));
	assert_int_equal(rep.status, -ECONNREFUSED);
	close(fd);

	/* The mailbox still serves honest clients. */
	assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 8, &cli, &srv), 0);
	exchange(cli, srv, "ok");
	mk_chan_close(cli);
	mk_chan_close(srv);
	close(silent);
	mk_mbox_close(mb);
}

/* A fake mailbox answering one connect with @rep and maybe a memfd. */
struct fake {
	uint64_t alias;
	int lfd;
	struct mk_chan_wire_rep rep;
	int memfd;
};

static void *fake_mbox(void *arg)
{
	struct fake *f = arg;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct mk_chan_wire_req req;
	struct iovec iov = { .iov_base = &f->rep, .iov_len = sizeof(f->rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	char drain;
	int fd;

	fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (recv(fd, &req, sizeof(req), 0) == sizeof(req)) {
		if (f->memfd >= 0) {
			memset(&cbuf, 0, sizeof(cbuf));
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = sizeof(cbuf.buf);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &f->memfd, sizeof(int));
		}
		sendmsg(fd, &msg, MSG_NOSIGNAL);
		/* Wait for the client to hang up. */
		while (recv(fd, &drain, 1, 0) > 0)
			;
	}
	close(fd);
	return NULL;
}

static int fake_connect(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mk_chan *ch = NULL;
	pthread_t t;
	int n, ret;

	f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, MK_CHAN_SOCK_FMT, f->alias);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&t, NULL, fake_mbox, f), 0);
	ret = mk_chan_connect_alias(&ch, f->alias, 1, 8, 2 * SEC);
	if (!ret)
		mk_chan_close(ch);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(f->lfd);
	if (f->memfd >= 0)
		close(f->memfd);
	return ret;
}

static int make_memfd(size_t len, int seals)
{
	int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *mem;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	if (len >= mk_chan_shm_bytes(8)) {
		assert_int_equal(mk_ring_init(mem, mk_chan_ring_offset(8), 8), 0);
		assert_int_equal(mk_ring_init((char *)mem + mk_chan_ring_offset(8),
					      mk_chan_ring_offset(8), 8), 0);
	}
	munmap(mem, len);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void test_hostile_mailbox(void **state)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	const struct mk_chan_wire_rep good = {
		.magic = MK_CHAN_WIRE_MAGIC, .version = MK_CHAN_WIRE_VERSION,
		.slots = 8, .shm_bytes = mk_chan_shm_bytes(8),
	};
	struct fake f;
	int fds;

	(void)state;
	if (on_module())
		skip();	/* the fallback's socket protocol; the module has none */
	fds = count_fds();
	/* The reference: a well-formed answer is accepted. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = make_memfd(mk_chan_shm_bytes(8), seals) };
	assert_int_equal(fake_connect(&f), 0);
	/* Not sealed against shrinking: it could SIGBUS us later. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = make_memfd(mk_chan_shm_bytes(8), F_SEAL_GROW) };
	assert_int_equal(fake_connect(&f), -EPROTO);
	/* Smaller than the reply says. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = make_memfd(4096, seals) };
	assert_int_equal(fake_connect(&f), -EPROTO);
	/* Sizes that disagree with the slots asked for. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = make_memfd(mk_chan_shm_bytes(8), seals) };
	f.rep.slots = 16;
	assert_int_equal(fake_connect(&f), -EPROTO);
	/* Success without a memfd. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = -1 };
	assert_int_equal(fake_connect(&f), -EPROTO);
	/* A refusal is passed on; a nonsense status is not. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = -1 };
	f.rep.status = -EACCES;
	assert_int_equal(fake_connect(&f), -EACCES);
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = -1 };
	f.rep.status = 12345;
	assert_int_equal(fake_connect(&f), -EPROTO);
	/* A garbage ring in a well-sealed memfd. */
	f = (struct fake){ .alias = mk_name_hash(uniq_name("fake")), .rep = good,
			   .memfd = make_memfd(mk_chan_shm_bytes(8) - 4096, 0) };
	assert_int_equal(ftruncate(f.memfd, (off_t)mk_chan_shm_bytes(8)), 0);
	assert_int_equal(fcntl(f.memfd, F_ADD_SEALS, seals), 0);
	assert_int_equal(fake_connect(&f), -EPROTO);
	/* No fd leaked on any of these paths. */
	assert_int_equal(count_fds(), fds);
}

/* --- a forked process as the peer --- */

struct child_args {
	const char *name;
	uint64_t cap;
	unsigned int slots;
};

static unsigned char pattern(uint64_t seq, size_t i)
{
	return (unsigned char)(seq * 31 + i * 7 + 1);
}

static size_t msg_len(uint64_t seq, size_t max)
{
	/* Single slots, exact fragment boundaries, and a few big ones. */
	static const size_t lens[] = { 8, 56, 57, 112, 113, 200, 8, 9, 300, 24 };
	size_t len = lens[seq % 10];

	if (seq % 997 == 0)
		len = max;
	return len > max ? max : len;
}

/* The child's side: returns its exit status, never asserts. */
static int child_stream(const char *name, uint64_t cap, unsigned int slots,
			uint64_t n)
{
	unsigned char *buf;
	struct mk_chan *ch;
	size_t len, max;
	int ret;

	ret = mk_chan_connect(&ch, name, cap, slots);
	if (ret)
		return 10;
	max = mk_chan_max_msg(ch);
	buf = malloc(max);
	if (!buf)
		return 11;
	for (uint64_t seq = 0; seq < n; seq++) {
		len = msg_len(seq, max);
		memcpy(buf, &seq, sizeof(seq));
		for (size_t i = sizeof(seq); i < len; i++)
			buf[i] = pattern(seq, i);
		ret = mk_chan_send(ch, buf, len, 5 * SEC);
		if (ret) {
			fprintf(stderr, "child: send %" PRIu64 ": %d\n", seq, ret);
			return 12;
		}
	}
	/* Wait for the parent's word that it got everything. */
	ret = mk_chan_recv(ch, buf, max, &len, 10 * SEC);
	if (ret || len != 4 || memcmp(buf, "done", 4))
		return 13;
	free(buf);
	mk_chan_close(ch);
	return 0;
}

static pid_t fork_child(int (*fn)(const char *, uint64_t, unsigned int, uint64_t),
			const char *name, uint64_t cap, unsigned int slots, uint64_t n)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(fn(name, cap, slots, n));	/* no cmocka, no atexit in the child */
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void stream_from_child(unsigned int slots, uint64_t n, uint64_t spin_ns)
{
	const char *name = uniq_name("stream");
	struct mk_chan *ch;
	struct mk_mbox *mb;
	unsigned char *buf;
	uint64_t cap, seq;
	size_t len, max;
	pid_t pid;

	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	pid = fork_child(child_stream, name, cap, slots, n);
	assert_int_equal(mk_mbox_accept(mb, &ch, 5 * SEC), 0);
	mk_chan_set_spin_ns(ch, spin_ns);
	assert_int_equal(mk_chan_peer(ch, NULL, NULL, NULL), 0);
	max = mk_chan_max_msg(ch);
	buf = malloc(max);
	assert_non_null(buf);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(mk_chan_recv(ch, buf, max, &len, 5 * SEC), 0);
		memcpy(&seq, buf, sizeof(seq));
		assert_int_equal(seq, i);
		assert_int_equal(len, msg_len(i, max));
		for (size_t k = sizeof(seq); k < len; k++)
			if (buf[k] != pattern(seq, k))
				fail_msg("message %" PRIu64 " byte %zu", seq, k);
	}
	assert_int_equal(mk_chan_send(ch, "done", 4, SEC), 0);
	/* It hangs up after the last message: the next receive says so. */
	assert_int_equal(mk_chan_recv(ch, buf, max, &len, 5 * SEC), -EPIPE);
	assert_int_equal(mk_chan_try_recv(ch, buf, max, &len), -EPIPE);
	assert_int_equal(mk_chan_try_send(ch, "x", 1), -EPIPE);
	assert_int_equal(reap(pid), 0);
	free(buf);
	mk_chan_close(ch);
	mk_mbox_close(mb);
}

static void test_process_stream(void **state)
{
	(void)state;
	stream_from_child(64, iters(100000), MK_RING_SPIN_NS_DEFAULT);
}

static void test_process_stream_blocking(void **state)
{
	(void)state;
	/* A tiny ring and no spinning: the receiver sleeps over and over. */
	stream_from_child(8, iters(20000), 0);
}

#define PINGS	20000

static int child_pong(const char *name, uint64_t cap, unsigned int slots, uint64_t n)
{
	struct mk_chan *ch;
	uint64_t v;
	size_t len;

	if (mk_chan_connect(&ch, name, cap, slots))
		return 10;
	mk_chan_set_spin_ns(ch, 0);
	for (uint64_t i = 0; i < n; i++) {
		if (mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC) || len != 8 || v != i)
			return 11;
		v = i + 1;
		if (mk_chan_send(ch, &v, sizeof(v), 5 * SEC))
			return 12;
	}
	mk_chan_close(ch);
	return 0;
}

/*
 * Blocking ping-pong with a process: every receive finds an empty ring,
 * does not spin and sleeps. A lost wake-up would stall a side until its
 * next liveness look (100 ms); count those.
 */
static void test_process_pingpong(void **state)
{
	const char *name = uniq_name("pingpong");
	uint64_t cap, v, t, slow = 0, start, pings = iters(PINGS);
	struct mk_chan *ch;
	struct mk_mbox *mb;
	size_t len;
	pid_t pid;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	pid = fork_child(child_pong, name, cap, 8, pings);
	assert_int_equal(mk_mbox_accept(mb, &ch, 5 * SEC), 0);
	mk_chan_set_spin_ns(ch, 0);
	start = now_ns();
	for (uint64_t i = 0; i < pings; i++) {
		t = now_ns();
		assert_int_equal(mk_chan_send(ch, &i, sizeof(i), SEC), 0);
		assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC), 0);
		assert_int_equal(v, i + 1);
		if (now_ns() - t >= (uint64_t)MK_CHAN_LIVENESS_NS)
			slow++;
	}
	print_message("# %" PRIu64 " blocking round trips with a process (%s): %.1f us each, %"
		      PRIu64 " took over 100 ms\n", pings, mk_transport_name(transport),
		      (now_ns() - start) / 1e3 / (double)pings, slow);
	/* Preemption on a loaded machine may explain one or two, not more. */
	assert_true(slow <= 2);
	assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC), -EPIPE);
	assert_int_equal(reap(pid), 0);
	mk_chan_close(ch);
	mk_mbox_close(mb);
}

/* --- the waiting protocol alone, between threads, no liveness slices --- */

struct wring {
	void *mem;
	_Alignas(64) struct mk_ring_tx tx;
	_Alignas(64) struct mk_ring_rx rx;
};

struct wpair {
	struct wring r[2];	/* [0] ping -> pong, [1] pong -> ping */
	uint64_t spin_ns;
	uint64_t n;
	atomic_int lost;
};

static void wring_init(struct wring *w)
{
	size_t len = mk_ring_bytes(8);

	w->mem = aligned_alloc(64, len);
	assert_non_null(w->mem);
	assert_int_equal(mk_ring_init(w->mem, len, 8), 0);
	assert_int_equal(mk_ring_attach_tx(&w->tx, w->mem, len), 0);
	assert_int_equal(mk_ring_attach_rx(&w->rx, w->mem, len), 0);
}

/* Receives @want on @rx, waiting with no timeout but a lost-wake-up alarm. */
static bool wait_for(struct wpair *p, struct mk_ring_rx *rx, uint64_t want)
{
	uint64_t v;
	size_t len;
	int ret;

	for (;;) {
		ret = mk_ring_try_recv(rx, &v, sizeof(v), &len);
		if (!ret)
			return v == want && len == 8;
		if (ret != -EAGAIN)
			return false;
		/* Two seconds without the message that was sent: lost. */
		ret = mk_ring_wait(rx, p->spin_ns, 2 * SEC);
		if (ret == -ETIMEDOUT) {
			atomic_fetch_add(&p->lost, 1);
			return false;
		}
		if (ret)
			return false;
	}
}

static void *pong_thread(void *arg)
{
	struct wpair *p = arg;

	for (uint64_t i = 0; i < p->n; i++) {
		if (!wait_for(p, &p->r[0].rx, i))
			return (void *)1;
		if (mk_ring_try_send(&p->r[1].tx, &i, sizeof(i)))
			return (void *)2;
		mk_ring_notify(&p->r[1].tx);
	}
	return NULL;
}

static void ring_pingpong(uint64_t spin_ns, uint64_t n)
{
	struct wpair *p = aligned_alloc(64, sizeof(*p));
	uint64_t woke = 0;
	pthread_t t;
	void *res;

	assert_non_null(p);
	memset(p, 0, sizeof(*p));
	p->spin_ns = spin_ns;
	p->n = n;
	wring_init(&p->r[0]);
	wring_init(&p->r[1]);
	assert_int_equal(pthread_create(&t, NULL, pong_thread, p), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(mk_ring_try_send(&p->r[0].tx, &i, sizeof(i)), 0);
		woke += (uint64_t)mk_ring_notify(&p->r[0].tx);
		if (!wait_for(p, &p->r[1].rx, i))
			break;
	}
	assert_int_equal(pthread_join(t, &res), 0);
	assert_int_equal(atomic_load(&p->lost), 0);
	assert_null(res);
	/* With no spinning the other side slept, and had to be woken, often. */
	if (!spin_ns)
		assert_true(woke > 0);
	free(p->r[0].mem);
	free(p->r[1].mem);
	free(p);
}

static void test_ring_wait_no_lost_wakeups(void **state)
{
	(void)state;
	ring_pingpong(0, iters(PINGS));
	ring_pingpong(300, iters(PINGS) / 2);
}

static void test_ring_wait_basics(void **state)
{
	struct wring w;
	uint64_t t, v = 7;
	size_t len;

	(void)state;
	wring_init(&w);
	/* Empty: spin-only and blocking waits time out on time. */
	assert_int_equal(mk_ring_rx_ready(&w.rx), 0);
	assert_int_equal(mk_ring_wait(&w.rx, 0, 0), -ETIMEDOUT);
	t = now_ns();
	assert_int_equal(mk_ring_wait(&w.rx, 1000000, 1000000), -ETIMEDOUT);
	assert_int_equal(mk_ring_wait(&w.rx, 0, 20000000), -ETIMEDOUT);
	assert_true(now_ns() - t >= 21000000);
	assert_true(now_ns() - t < SEC);
	/* Nobody sleeps: notify does not wake anyone. */
	assert_int_equal(mk_ring_try_send(&w.tx, &v, sizeof(v)), 0);
	assert_int_equal(mk_ring_notify(&w.tx), 0);
	assert_int_equal(mk_ring_rx_ready(&w.rx), 1);
	assert_int_equal(mk_ring_wait(&w.rx, UINT64_MAX, -1), 0);
	assert_int_equal(mk_ring_try_recv(&w.rx, &v, sizeof(v), &len), 0);
	/* A kick with nothing sent: a spurious wake-up, then a timeout. */
	mk_ring_kick(&w.tx);
	assert_int_equal(mk_ring_wait(&w.rx, 0, 1000000), -ETIMEDOUT);
	/* A corrupt slot counts as ready; receiving reports it. */
	((struct mkchan_ring *)w.mem)->slots[1].hdr = 12345;
	assert_int_equal(mk_ring_wait(&w.rx, 0, -1), 0);
	assert_int_equal(mk_ring_try_recv(&w.rx, &v, sizeof(v), &len), -EBADMSG);
	assert_int_equal(mk_ring_wait(&w.rx, 0, -1), -EBADMSG);
	free(w.mem);
}

/* --- peer death --- */

static int child_die(const char *name, uint64_t cap, unsigned int slots, uint64_t n)
{
	struct mk_chan *ch;

	if (mk_chan_connect(&ch, name, cap, slots))
		return 10;
	for (uint64_t i = 0; i < n; i++)
		if (mk_chan_try_send(ch, &i, sizeof(i)))
			return 11;
	/* Die without closing: no hang-up call, no kick; the kernel cleans up. */
	raise(SIGKILL);
	return 12;
}

static void test_peer_death(void **state)
{
	const char *name = uniq_name("death");
	struct mk_chan *ch;
	struct mk_mbox *mb;
	uint64_t cap, v, t;
	size_t len;
	pid_t pid;
	int sent;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	pid = fork_child(child_die, name, cap, 8, 3);
	assert_int_equal(mk_mbox_accept(mb, &ch, 5 * SEC), 0);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	/* What it sent before dying comes first, then -EPIPE, not a hang. */
	for (uint64_t i = 0; i < 3; i++) {
		assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC), 0);
		assert_int_equal(v, i);
	}
	t = now_ns();
	assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC), -EPIPE);
	assert_true(now_ns() - t < SEC);
	assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC), -EPIPE);
	/* Sending to the dead: -EPIPE once the ring fills, never a hang. */
	for (sent = 0; sent < 100; sent++)
		if (mk_chan_send(ch, &v, sizeof(v), 5 * SEC))
			break;
	assert_true(sent <= 8);
	assert_int_equal(mk_chan_send(ch, &v, sizeof(v), 5 * SEC), -EPIPE);
	mk_chan_close(ch);
	mk_mbox_close(mb);
}

/* Killed while the receiver already sleeps: woken by the liveness look. */
static int child_sleep(const char *name, uint64_t cap, unsigned int slots, uint64_t n)
{
	struct mk_chan *ch;

	(void)n;
	if (mk_chan_connect(&ch, name, cap, slots))
		return 10;
	pause();
	return 11;
}

static void test_peer_killed_while_blocked(void **state)
{
	const char *name = uniq_name("killed");
	struct mk_chan *ch;
	struct mk_mbox *mb;
	uint64_t cap, v, t;
	size_t len;
	pid_t pid;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	pid = fork_child(child_sleep, name, cap, 8, 0);
	assert_int_equal(mk_mbox_accept(mb, &ch, 5 * SEC), 0);
	assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 30000000), -ETIMEDOUT);
	assert_int_equal(kill(pid, SIGKILL), 0);
	t = now_ns();
	assert_int_equal(mk_chan_recv(ch, &v, sizeof(v), &len, 5 * SEC), -EPIPE);
	assert_true(now_ns() - t < SEC);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	mk_chan_close(ch);
	mk_mbox_close(mb);
}

/* A peer that closes wakes a blocked receiver at once (no liveness wait). */
struct closer {
	struct mk_chan *ch;
	uint64_t delay_ns;
};

static void *close_later(void *arg)
{
	struct closer *c = arg;
	struct timespec ts = { 0, (long)c->delay_ns };

	nanosleep(&ts, NULL);
	mk_chan_close(c->ch);
	return NULL;
}

static void test_close_wakes_receiver(void **state)
{
	const char *name = uniq_name("close");
	struct mk_chan *cli, *srv;
	struct closer c;
	struct mk_mbox *mb;
	uint64_t cap, v, t;
	size_t len;
	pthread_t th;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 8, &cli, &srv), 0);
		mk_chan_set_spin_ns(srv, 0);
		c.ch = cli;
		c.delay_ns = 2000000;
		t = now_ns();
		assert_int_equal(pthread_create(&th, NULL, close_later, &c), 0);
		assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, 5 * SEC), -EPIPE);
		/* Far below the 100 ms liveness slice. */
		assert_true(now_ns() - t < 60000000);
		assert_int_equal(pthread_join(th, NULL), 0);
		mk_chan_close(srv);
	}
	mk_mbox_close(mb);
}

/* --- batches --- */

static void test_batches(void **state)
{
	static const size_t sizes[] = { 8, 56, 57, 200, 0, 1, 120, 56 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	const char *name = uniq_name("batch");
	unsigned char out[N][256], in[N][256];
	struct iovec msgs[N], bufs[N];
	size_t lens[N];
	struct mk_chan *cli, *srv;
	struct mk_mbox *mb;
	unsigned int got = 0, sent = 0;
	uint64_t cap, t;
	int ret;

	(void)state;
	for (unsigned int i = 0; i < N; i++) {
		for (size_t k = 0; k < sizes[i]; k++)
			out[i][k] = pattern(i, k);
		msgs[i] = (struct iovec){ out[i], sizes[i] };
		bufs[i] = (struct iovec){ in[i], sizeof(in[i]) };
	}
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	/* 8 slots: the batch needs 13, so it goes in two parts */
	assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 8, &cli, &srv), 0);
	assert_int_equal(mk_chan_try_send_batch(cli, msgs, 0), 0);
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs, lens, 0), 0);
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs, lens, N), -EAGAIN);
	ret = mk_chan_try_send_batch(cli, msgs, N);
	assert_true(ret > 0 && ret < N);	/* full: stops, overwrites nothing */
	sent = (unsigned int)ret;
	assert_int_equal(mk_chan_try_send_batch(cli, msgs + sent, N - sent), -EAGAIN);
	t = now_ns();
	while (got < N) {
		ret = mk_chan_try_recv_batch(srv, bufs + got, lens + got, N - got);
		if (ret == -EAGAIN) {
			if (sent < N) {
				ret = mk_chan_try_send_batch(cli, msgs + sent, N - sent);
				assert_true(ret > 0 || ret == -EAGAIN);
				sent += ret > 0 ? (unsigned int)ret : 0;
			}
			assert_true(now_ns() - t < 5 * SEC);
			continue;
		}
		assert_true(ret > 0);
		got += (unsigned int)ret;
	}
	for (unsigned int i = 0; i < N; i++) {
		assert_int_equal(lens[i], sizes[i]);
		assert_memory_equal(in[i], out[i], sizes[i]);
	}

	/* A buffer too small stops the batch there and keeps the message. */
	assert_int_equal(mk_chan_try_send_batch(cli, msgs, 4), 4);
	bufs[2].iov_len = 10;
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs, lens, 4), 2);
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs + 2, lens + 2, 2), -ENOBUFS);
	assert_int_equal(lens[2], sizes[2]);
	bufs[2].iov_len = sizeof(in[2]);
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs + 2, lens + 2, 2), 2);
	assert_memory_equal(in[3], out[3], sizes[3]);

	/* What was sent before the peer closed comes first, then -EPIPE. */
	assert_int_equal(mk_chan_try_send_batch(cli, msgs, 3), 3);
	mk_chan_close(cli);
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs, lens, N), 3);
	assert_int_equal(lens[1], sizes[1]);
	ret = 0;
	/* The fallback looks at the connection every few hundred empty calls. */
	for (int i = 0; i < 10000 && ret != -EPIPE; i++)
		ret = mk_chan_try_recv_batch(srv, bufs, lens, N);
	assert_int_equal(ret, -EPIPE);
	/* An empty batch is nothing to do, even on an ended channel. */
	assert_int_equal(mk_chan_try_recv_batch(srv, bufs, lens, 0), 0);
	assert_int_equal(mk_chan_try_send_batch(srv, msgs, 0), 0);
	/* Sends succeed into a ring with room until it is full, then -EPIPE. */
	ret = 0;
	for (int i = 0; i < 10000 && ret != -EPIPE; i++) {
		ret = mk_chan_try_send_batch(srv, msgs, 2);
		assert_true(ret == -EPIPE || ret == -EAGAIN || ret > 0);
	}
	assert_int_equal(ret, -EPIPE);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

/* A receiver asleep in mk_chan_recv() wakes for a batch. */
struct batch_sender {
	struct mk_chan *ch;
	int ret;
};

static void *send_batch_later(void *arg)
{
	struct batch_sender *b = arg;
	uint64_t v[3] = { 7, 8, 9 };
	struct iovec msgs[3] = { { &v[0], 8 }, { &v[1], 8 }, { &v[2], 8 } };
	struct timespec ts = { 0, 20000000 };

	nanosleep(&ts, NULL);
	b->ret = mk_chan_try_send_batch(b->ch, msgs, 3);
	return NULL;
}

static void test_batch_wakes_receiver(void **state)
{
	const char *name = uniq_name("bwake");
	struct mk_chan *cli, *srv;
	struct batch_sender b;
	struct mk_mbox *mb;
	uint64_t cap, v, t;
	size_t len;
	pthread_t th;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 8, &cli, &srv), 0);
	for (int round = 0; round < 5; round++) {
		mk_chan_set_spin_ns(srv, 0);		/* asleep at once */
		b.ch = cli;
		assert_int_equal(pthread_create(&th, NULL, send_batch_later, &b), 0);
		t = now_ns();
		assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, 5 * SEC), 0);
		/* Woken by the batch's wake-up, not by the 100 ms liveness look. */
		assert_true(now_ns() - t < 90000000);
		assert_int_equal(v, 7);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(b.ret, 3);
		assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);
		assert_int_equal(v, 8);
		assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);
		assert_int_equal(v, 9);
	}
	mk_chan_close(cli);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

/* --- a sender blocked on a full ring --- */

struct sender {
	struct mk_chan *ch;
	uint64_t v;
	int ret;
	atomic_bool done;
};

static void *send_blocked(void *arg)
{
	struct sender *sd = arg;

	sd->ret = mk_chan_send(sd->ch, &sd->v, sizeof(sd->v), 10 * SEC);
	atomic_store(&sd->done, true);
	return NULL;
}

/* The consumer line of the ring @ch sends on: where its flag shows. */
static volatile uint32_t *tx_waiting_of(struct mk_chan *ch, bool accepting,
					unsigned int slots)
{
	char *mem = mk_chan_shm(ch, NULL);
	size_t off = accepting ? mk_chan_ring_offset(slots) : 0;

	/* Module: ring 1 starts on a page boundary, as in the fallback here. */
	return &((struct mkchan_ring *)(mem + off))->cons.tx_waiting;
}

static void fill_ring(struct mk_chan *ch, uint64_t first)
{
	uint64_t v = first;

	while (mk_chan_try_send(ch, &v, sizeof(v)) == 0)
		v++;
	assert_int_equal(v - first, 2);
}

/*
 * A full 2-slot ring: a sender with no spin budget sleeps, announced in
 * the receiver's line, until the receiver takes one message; and a
 * receiver that closes wakes it at once with -EPIPE.
 */
static void test_send_blocks_for_credits(void **state)
{
	const char *name = uniq_name("credits");
	struct mk_chan *cli, *srv;
	volatile uint32_t *flag;
	struct sender sd;
	struct mk_mbox *mb;
	uint64_t cap, v, t;
	size_t len;
	pthread_t th;
	int i;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 2, &cli, &srv), 0);
	mk_chan_set_spin_ns(cli, 0);
	flag = tx_waiting_of(cli, false, 2);

	fill_ring(cli, 0);
	assert_int_equal(mk_chan_send(cli, &v, sizeof(v), 2000000), -ETIMEDOUT);
	assert_int_equal(*flag, 0);
	sd = (struct sender){ .ch = cli, .v = 2 };
	assert_int_equal(pthread_create(&th, NULL, send_blocked, &sd), 0);
	for (i = 0; i < 5000 && !*flag; i++)
		usleep(1000);
	assert_int_not_equal(*flag, 0);
	usleep(20000);
	assert_false(atomic_load(&sd.done));
	t = now_ns();
	assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sd.ret, 0);
	/* Woken, not found by a backoff or a liveness slice. */
	printf("# sender woke %.1f us after the receive\n", (double)(now_ns() - t) / 1e3);
	assert_int_equal(*flag, 0);
	for (uint64_t k = 1; k <= 2; k++) {
		assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, SEC), 0);
		assert_int_equal(v, k);
	}

	/* The accepting end blocks the same way, on the other ring. */
	mk_chan_set_spin_ns(srv, 0);
	fill_ring(srv, 10);
	sd = (struct sender){ .ch = srv, .v = 12 };
	flag = tx_waiting_of(srv, true, 2);
	assert_int_equal(pthread_create(&th, NULL, send_blocked, &sd), 0);
	for (i = 0; i < 5000 && !*flag; i++)
		usleep(1000);
	assert_int_not_equal(*flag, 0);
	for (uint64_t k = 10; k <= 12; k++) {
		assert_int_equal(mk_chan_recv(cli, &v, sizeof(v), &len, 5 * SEC), 0);
		assert_int_equal(v, k);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sd.ret, 0);

	/* The receiver goes away: the blocked sender learns it at once. */
	fill_ring(cli, 20);
	sd = (struct sender){ .ch = cli, .v = 22 };
	flag = tx_waiting_of(cli, false, 2);
	assert_int_equal(pthread_create(&th, NULL, send_blocked, &sd), 0);
	for (i = 0; i < 5000 && !*flag; i++)
		usleep(1000);
	assert_int_not_equal(*flag, 0);
	t = now_ns();
	mk_chan_close(srv);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sd.ret, -EPIPE);
	/* Far below the 100 ms liveness slice. */
	assert_true(now_ns() - t < 60000000);
	mk_chan_close(cli);
	mk_mbox_close(mb);
}

static void test_process_stream_both_block(void **state)
{
	char *old = getenv("MK_CHAN_SPIN_NS");

	(void)state;
	old = old ? strdup(old) : NULL;
	/* The child's channel takes its spin budget from here: none. */
	setenv("MK_CHAN_SPIN_NS", "0", 1);
	stream_from_child(2, iters(20000), 0);
	if (old)
		setenv("MK_CHAN_SPIN_NS", old, 1);
	else
		unsetenv("MK_CHAN_SPIN_NS");
	free(old);
}

/* --- choosing the transport --- */

/* Sets or (NULL) unsets @var, returning a copy of what it was. */
static char *swap_env(const char *var, const char *value)
{
	const char *old = getenv(var);
	char *copy = old ? strdup(old) : NULL;

	if (value)
		assert_int_equal(setenv(var, value, 1), 0);
	else
		assert_int_equal(unsetenv(var), 0);
	return copy;
}

static void restore_env(const char *var, char *old)
{
	if (old)
		assert_int_equal(setenv(var, old, 1), 0);
	else
		assert_int_equal(unsetenv(var), 0);
	free(old);
}

static void test_transport_selection(void **state)
{
	struct mk_mbox *mb;
	struct mk_chan *ch;
	char *old_t, *old_dir;

	(void)state;
	print_message("# transport: %s\n", mk_transport_name(transport));
	assert_string_equal(mk_transport_name(MK_TRANSPORT_FALLBACK), "fallback");
	assert_string_equal(mk_transport_name(MK_TRANSPORT_MODULE), "module");
	assert_null(mk_transport_name((enum mk_transport)0));
	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_transport(mb), transport);
	mk_mbox_close(mb);

	/* The fallback can always be had. */
	old_t = swap_env("MK_CHAN_TRANSPORT", "fallback");
	assert_int_equal(mk_chan_default_transport(), MK_TRANSPORT_FALLBACK);
	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_transport(mb), MK_TRANSPORT_FALLBACK);
	mk_mbox_close(mb);

	/* The module forced where there is none: a clear error, no fallback. */
	assert_int_equal(setenv("MK_CHAN_TRANSPORT", "module", 1), 0);
	old_dir = swap_env("MK_DEV_DIR", "/nonexistent/mk-test");
	assert_int_equal(mk_chan_default_transport(), -ENODEV);
	assert_int_equal(mk_mbox_create(&mb), -ENODEV);
	assert_int_equal(mk_chan_connect(&ch, "x", 1, 0), -ENODEV);
	/* Left to choose, it falls back. */
	assert_int_equal(unsetenv("MK_CHAN_TRANSPORT"), 0);
	assert_int_equal(mk_chan_default_transport(), MK_TRANSPORT_FALLBACK);
	restore_env("MK_DEV_DIR", old_dir);

	/* Nonsense is refused. */
	assert_int_equal(setenv("MK_CHAN_TRANSPORT", "carrier-pigeon", 1), 0);
	assert_int_equal(mk_mbox_create(&mb), -EINVAL);
	restore_env("MK_CHAN_TRANSPORT", old_t);
	assert_int_equal(mk_chan_default_transport(), transport);
}

/*
 * One probe decides (module_probe() in libmk/module.c) for every caller:
 * with a device that is not mkchan's in its place, mk_module_info() says
 * -ENOTTY, a forced module -EPROTO, and the automatic choice gives the
 * fallback's table, which then carries a whole channel (set-up, a message
 * each way, the end), whatever the transport of this run. The setup and
 * teardown put the environment back even when a check fails, so that
 * the tests after it run on this run's transport.
 */
static char probe_dir[] = "/tmp/mk-test-probe.XXXXXX";
static char *probe_old_t, *probe_old_dir;

static int probe_setup(void **state)
{
	char path[64];

	(void)state;
	strcpy(probe_dir, "/tmp/mk-test-probe.XXXXXX");
	if (!mkdtemp(probe_dir))
		return -1;
	snprintf(path, sizeof(path), "%s/mkchan", probe_dir);
	if (symlink("/dev/null", path))
		return -1;
	probe_old_dir = swap_env("MK_DEV_DIR", probe_dir);
	probe_old_t = swap_env("MK_CHAN_TRANSPORT", "module");
	return 0;
}

static int probe_teardown(void **state)
{
	char path[64];

	(void)state;
	restore_env("MK_CHAN_TRANSPORT", probe_old_t);
	restore_env("MK_DEV_DIR", probe_old_dir);
	snprintf(path, sizeof(path), "%s/mkchan", probe_dir);
	unlink(path);
	return rmdir(probe_dir);
}

static void test_transport_probe(void **state)
{
	const char *name = uniq_name("probe");
	struct mk_module_info info;
	struct mk_chan *cli, *srv;
	struct mk_mbox *mb;
	uint64_t cap, v;
	size_t len;

	(void)state;
	assert_int_equal(mk_module_info(MK_MODULE_MKCHAN, &info), -ENOTTY);
	assert_int_equal(mk_chan_default_transport(), -EPROTO);
	assert_int_equal(mk_mbox_create(&mb), -EPROTO);
	assert_int_equal(mk_chan_connect(&cli, "x", 1, 0), -EPROTO);

	assert_int_equal(unsetenv("MK_CHAN_TRANSPORT"), 0);
	assert_int_equal(mk_chan_default_transport(), MK_TRANSPORT_FALLBACK);
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	assert_int_equal(mk_mbox_transport(mb), MK_TRANSPORT_FALLBACK);
	assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 8, &cli, &srv), 0);
	assert_int_equal(mk_chan_transport(cli), MK_TRANSPORT_FALLBACK);
	assert_int_equal(mk_chan_transport(srv), MK_TRANSPORT_FALLBACK);
	v = 42;
	assert_int_equal(mk_chan_send(cli, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, SEC), 0);
	assert_int_equal(v, 42);
	v = 43;
	assert_int_equal(mk_chan_send(srv, &v, sizeof(v), SEC), 0);
	assert_int_equal(mk_chan_recv(cli, &v, sizeof(v), &len, SEC), 0);
	assert_int_equal(v, 43);
	mk_chan_close(cli);
	assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, SEC), -EPIPE);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

/* --- removing a name or capability, closing a mailbox --- */

struct blocked {
	struct mk_chan *ch;
	int ret;
	uint64_t ns;
	atomic_bool started;
};

static void *recv_blocked(void *arg)
{
	struct blocked *b = arg;
	uint64_t v, t;
	size_t len;

	atomic_store(&b->started, true);
	t = now_ns();
	b->ret = mk_chan_recv(b->ch, &v, sizeof(v), &len, 10 * SEC);
	b->ns = now_ns() - t;
	return NULL;
}

enum revoke { BY_CAP, BY_NAME, BY_MAILBOX };

/*
 * Module: the channel opened through what goes is shot down at once, a
 * receiver blocked on it wakes with -ECONNRESET, queued messages are
 * dropped, poll says POLLHUP | POLLERR; a channel opened through another
 * name and capability lives on. Fallback: both live on.
 */
static void revoke_check(enum revoke how)
{
	const char *n1 = uniq_name("revoke1"), *n2 = uniq_name("revoke2");
	struct mk_chan *cli, *srv, *cli2, *srv2;
	struct blocked b = { 0 };
	struct mk_mbox *mb;
	uint64_t cap1, cap2, v = 42;
	struct pollfd p;
	pthread_t t;
	size_t len;

	assert_int_equal(mk_mbox_create(&mb), 0);
	assert_int_equal(mk_mbox_add_name(mb, n1), 0);
	assert_int_equal(mk_mbox_add_name(mb, n2), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &cap1), 0);
	assert_int_equal(mk_mbox_new_cap(mb, &cap2), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(n1), cap1, 8, &cli, &srv), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(n2), cap2, 8, &cli2, &srv2), 0);
	/* Queued for the mailbox side, never to be read on the module. */
	assert_int_equal(mk_chan_try_send(cli, &v, sizeof(v)), 0);

	b.ch = cli;
	mk_chan_set_spin_ns(cli, 0);
	assert_int_equal(pthread_create(&t, NULL, recv_blocked, &b), 0);
	while (!atomic_load(&b.started))
		sched_yield();
	usleep(20000);	/* let it fall asleep */
	switch (how) {
	case BY_CAP:
		assert_int_equal(mk_mbox_remove_cap(mb, cap1), 0);
		break;
	case BY_NAME:
		assert_int_equal(mk_mbox_remove_name(mb, n1), 0);
		break;
	case BY_MAILBOX:
		mk_mbox_close(mb);
		mb = NULL;
		break;
	}
	if (on_module()) {
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(b.ret, -ECONNRESET);
		assert_true(b.ns < 5 * SEC);
		assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), -ECONNRESET);
		assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, SEC), -ECONNRESET);
		assert_int_equal(mk_chan_try_send(srv, &v, sizeof(v)), -ECONNRESET);
		assert_int_equal(mk_chan_send(cli, &v, sizeof(v), SEC), -ECONNRESET);
		p = (struct pollfd){ .fd = mk_chan_fd(srv), .events = POLLIN };
		assert_int_equal(poll(&p, 1, 0), 1);
		assert_true((p.revents & (POLLHUP | POLLERR)) == (POLLHUP | POLLERR));
	} else {
		/* Still open both ways; the blocked receiver gets its message. */
		assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, SEC), 0);
		assert_int_equal(v, 42);
		assert_int_equal(mk_chan_send(srv, &v, sizeof(v), SEC), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(b.ret, 0);
		exchange(cli, srv, "lives on");
	}
	/* Opened through another name and capability. */
	if (how != BY_MAILBOX || !on_module()) {
		exchange(cli2, srv2, "untouched");
		exchange(srv2, cli2, "untouched too");
	} else {
		assert_int_equal(mk_chan_try_send(cli2, &v, sizeof(v)), -ECONNRESET);
	}
	mk_chan_close(cli);
	mk_chan_close(srv);
	mk_chan_close(cli2);
	mk_chan_close(srv2);
	if (mb)
		mk_mbox_close(mb);
}

static void test_revoke_cap(void **state)
{
	(void)state;
	revoke_check(BY_CAP);
}

static void test_revoke_name(void **state)
{
	(void)state;
	revoke_check(BY_NAME);
}

static void test_revoke_mailbox(void **state)
{
	(void)state;
	revoke_check(BY_MAILBOX);
}

/* --- a peer scribbling over the shared block --- */

static void test_hostile_ring(void **state)
{
	const char *name = uniq_name("scribble");
	struct mkchan_ring *r0, *r1;
	struct mk_chan *cli, *srv;
	struct mk_mbox *mb;
	uint64_t cap, v = 1;
	size_t len, shm_len;
	char *shm;
	int i, ret;

	(void)state;
	assert_int_equal(named_mbox(&mb, name, &cap), 0);
	assert_int_equal(connect_pair(mb, mk_name_hash(name), cap, 8, &cli, &srv), 0);
	shm = mk_chan_shm(cli, &shm_len);
	assert_int_equal(shm_len, mk_chan_shm_bytes(8));
	r0 = (struct mkchan_ring *)shm;
	r1 = (struct mkchan_ring *)(shm + mk_chan_ring_offset(8));

	/* Geometry rewritten after attach is never read again. */
	r0->info.slots = 1u << 30;
	r0->info.magic = 0;
	exchange(cli, srv, "still fine");

	/* Garbage in the mailbox's next slot: -EBADMSG, promptly, sticky. */
	r0->slots[1].hdr = 0xdeadbeefcafef00dULL;
	memset(r0->slots[1].payload, 0xff, PAYLOAD);
	assert_int_equal(mk_chan_recv(srv, &v, sizeof(v), &len, 5 * SEC), -EBADMSG);
	assert_int_equal(mk_chan_try_recv(srv, &v, sizeof(v), &len), -EBADMSG);

	/* Consumer head lied about: the mailbox's sender breaks, no overrun. */
	r1->cons.head = 1ULL << 40;
	for (i = 0, ret = 0; i < 100 && !ret; i++)
		ret = mk_chan_try_send(srv, &v, sizeof(v));
	assert_int_equal(ret, -EBADMSG);

	/* A fragment header that claims more slots than the ring has. */
	r1->slots[0].hdr = MKCHAN_RING_HDR(1, PAYLOAD, MKCHAN_RING_F_FIRST, 60000);
	assert_int_equal(mk_chan_recv(cli, &v, sizeof(v), &len, SEC), -EBADMSG);

	/* A wait line full of noise: spurious wake-ups at most. */
	r0->wait.futex = 0xffffffffU;
	r0->wait.sleeping = 0xffffffffU;
	mk_chan_close(cli);
	mk_chan_close(srv);
	mk_mbox_close(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport_selection),
		cmocka_unit_test_setup_teardown(test_transport_probe, probe_setup, probe_teardown),
		cmocka_unit_test(test_name_hash),
		cmocka_unit_test(test_mbox_names_caps),
		cmocka_unit_test(test_connect_and_refuse),
		cmocka_unit_test(test_mbox_fd_polls),
		cmocka_unit_test(test_remove_name_while_pending),
		cmocka_unit_test(test_hostile_requests),
		cmocka_unit_test(test_hostile_mailbox),
		cmocka_unit_test(test_ring_wait_basics),
		cmocka_unit_test(test_ring_wait_no_lost_wakeups),
		cmocka_unit_test(test_process_stream),
		cmocka_unit_test(test_process_stream_blocking),
		cmocka_unit_test(test_process_pingpong),
		cmocka_unit_test(test_peer_death),
		cmocka_unit_test(test_peer_killed_while_blocked),
		cmocka_unit_test(test_close_wakes_receiver),
		cmocka_unit_test(test_send_blocks_for_credits),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_batch_wakes_receiver),
		cmocka_unit_test(test_process_stream_both_block),
		cmocka_unit_test(test_revoke_cap),
		cmocka_unit_test(test_revoke_name),
		cmocka_unit_test(test_revoke_mailbox),
		cmocka_unit_test(test_hostile_ring),
	};

	chan_test_setup("test_chan");
	return cmocka_run_group_tests_name("libmk_chan", tests, NULL, NULL);
}
