// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * chan_pingpong: the libmk ring against the cache-line floor and the Linux
 * IPC paths, side by side in one run (timings on a shared or virtual
 * machine drift between runs; ratios within one run hold up).
 *
 *   one-way latency = round trip / 2, two threads pinned to --cpus A,B:
 *     raw     two threads flipping one shared 64-byte-aligned word (floor)
 *     raw2    one line each way, each written by one side only: the floor
 *             for any channel whose receiver never writes into the
 *             sender's line, the ring included
 *     ring    two libmk rings, one each way, both threads polling
 *     pipe, eventfd + shared slot, futex wait/wake, unix SOCK_SEQPACKET
 *     ring_block: the ring's poll-then-block protocol with no spinning,
 *             against the bare futex ping-pong
 *     io_uring: IORING_OP_MSG_RING from one thread's ring to the other's
 *             (one io_uring_enter per side per round trip, the sender's
 *             own completion skipped)
 *   same-core round trips (both threads on A): ring (poll, sched_yield
 *     when empty) and pipe
 *   blocking ring / shared futex, as a ratio: --pairs short runs of each,
 *     alternating (the order flipped every pair) so that the machine's
 *     drift hits both alike; the median ratio and its quartiles
 *   polling ring / floor, as a ratio: --rounds rounds of one short run of
 *     each variant (see polled_ratio()), the order rotated every round, a
 *     ratio per round; the median ratio and its quartiles. The 1.3x target
 *     is judged on this, not on the medians of separate runs: the vCPUs'
 *     placement (and with it the floor) can change within one run
 *   ring throughput, 8-byte messages, A -> B:
 *     window W: at most W unacknowledged messages; the receiver acks
 *       cumulatively after each batch it takes (up to 16) on a second ring
 *     streaming: no acks, only ring credits, ring sizes 64..1024; and
 *       with the batch calls
 *     streaming on an 8-slot ring: polling sender, a sender that blocks
 *       for credits (mk_ring_wait_credits(), no spinning) with a polling
 *       receiver, and both sides blocking
 *
 * Every other figure is the median of --reps runs. Messages carry
 * sequence numbers and every receiver checks them. With --pause the
 * polling spins of raw, raw2 and ring execute pause between looks (as
 * mk_ring_wait() does) instead of spinning flat out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/futex.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mk/ring.h>

#include "bench_util.h"

#define LINE	64
#define MAXREPS	64
#define MAXPAIRS	1000
#define MAXROUNDS	1000
#define BATCH	16

static void die(const char *what)
{
	fprintf(stderr, "chan_pingpong: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void die_msg(const char *what, uint64_t got, uint64_t want)
{
	fprintf(stderr, "chan_pingpong: %s: got %llu, want %llu\n", what,
		(unsigned long long)got, (unsigned long long)want);
	exit(1);
}

/* --pause: the spin-loop hint mk_ring_wait() uses between looks. */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static bool opt_pause;

static void *zalloc_aligned(size_t len)
{
	size_t rounded = (len + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, rounded);

	if (!p)
		die("aligned_alloc");
	memset(p, 0, rounded);	/* fault the pages in before anything is timed */
	return p;
}

/* --- shared state --- */

/* A word alone in its cache line. */
struct line {
	_Alignas(LINE) _Atomic uint64_t v;
	_Atomic uint32_t f;	/* futex word */
};

/* What one thread uses, in lines of its own so that the two never share. */
struct side {
	_Alignas(LINE) struct mk_ring_tx tx;
	struct mk_ring_rx rx;
	int rfd, wfd;
	struct line *out, *in;
};

struct pp {
	struct side side[2];		/* [0] ping / sender, [1] pong / receiver */
	struct io_uring *uring[2];	/* io_uring method: each side's ring */
	struct line lines[3];
	void *ring[2];
	unsigned int slots;
	bool yield;			/* same core: give the CPU away when empty */
	bool pause;			/* polling spins execute pause (--pause) */
	bool futex_shared;		/* futex baseline: shared, not private */
	uint64_t n, warm;
	int cpu[2];
	pthread_barrier_t bar;
	uint64_t t0, t1;
};

static struct pp *pp_new(void)
{
	struct pp *p = zalloc_aligned(sizeof(*p));

	for (int i = 0; i < 2; i++)
		p->side[i].rfd = p->side[i].wfd = -1;
	return p;
}

static void pp_free(struct pp *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->uring[i]) {
			io_uring_queue_exit(p->uring[i]);
			free(p->uring[i]);
		}
		free(p->ring[i]);
		if (p->side[i].rfd >= 0)
			close(p->side[i].rfd);
		if (p->side[i].wfd >= 0 && p->side[i].wfd != p->side[i].rfd)
			close(p->side[i].wfd);
	}
	free(p);
}

/* ring[0] carries side 0 -> side 1, ring[1] the way back. */
static void rings_setup(struct pp *p, unsigned int slots0, unsigned int slots1)
{
	unsigned int slots[2] = { slots0, slots1 };

	for (int i = 0; i < 2; i++) {
		size_t len = mk_ring_bytes(slots[i]);

		p->ring[i] = zalloc_aligned(len);
		if (mk_ring_init(p->ring[i], len, slots[i]) ||
		    mk_ring_attach_tx(&p->side[i].tx, p->ring[i], len) ||
		    mk_ring_attach_rx(&p->side[!i].rx, p->ring[i], len)) {
			errno = EINVAL;
			die("ring setup");
		}
	}
}

static inline void ring_send(struct pp *p, struct side *s, uint64_t v)
{
	int ret;

	while ((ret = mk_ring_try_send(&s->tx, &v, sizeof(v))) == -EAGAIN)
		if (p->yield)
			sched_yield();
		else if (p->pause)
			spin_pause();
	if (ret)
		die_msg("ring send", (uint64_t)-ret, 0);
}

static inline uint64_t ring_recv(struct pp *p, struct side *s)
{
	uint64_t v;
	size_t len;
	int ret;

	while ((ret = mk_ring_try_recv(&s->rx, &v, sizeof(v), &len)) == -EAGAIN)
		if (p->yield)
			sched_yield();
		else if (p->pause)
			spin_pause();
	if (ret || len != sizeof(v))
		die_msg("ring recv", (uint64_t)-ret, 0);
	return v;
}

static void fd_write(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		die("write");
}

static uint64_t fd_read(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		die("read");
	return v;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* --- round-trip methods: ping sends i and waits for i back --- */

struct method {
	const char *key;
	const char *label;
	bool blocking;
	void (*setup)(struct pp *p);
	void (*ping)(struct pp *p, uint64_t from, uint64_t n);
	void (*pong)(struct pp *p, uint64_t from, uint64_t n);
};

static void raw_setup(struct pp *p)
{
	atomic_store(&p->lines[0].v, 0);
}

/* The spins test a local copy of p->pause: no extra load per look. */
static void raw_ping(struct pp *p, uint64_t from, uint64_t n)
{
	_Atomic uint64_t *w = &p->lines[0].v;
	const bool pause = p->pause;

	for (uint64_t i = from; i < from + n; i++) {
		atomic_store_explicit(w, 2 * i + 1, memory_order_release);
		while (atomic_load_explicit(w, memory_order_acquire) != 2 * i + 2)
			if (pause)
				spin_pause();
	}
}

static void raw_pong(struct pp *p, uint64_t from, uint64_t n)
{
	_Atomic uint64_t *w = &p->lines[0].v;
	const bool pause = p->pause;

	for (uint64_t i = from; i < from + n; i++) {
		while (atomic_load_explicit(w, memory_order_acquire) != 2 * i + 1)
			if (pause)
				spin_pause();
		atomic_store_explicit(w, 2 * i + 2, memory_order_release);
	}
}

static void raw2_ping(struct pp *p, uint64_t from, uint64_t n)
{
	_Atomic uint64_t *out = &p->lines[0].v, *in = &p->lines[1].v;
	const bool pause = p->pause;

	for (uint64_t i = from + 1; i <= from + n; i++) {
		atomic_store_explicit(out, i, memory_order_release);
		while (atomic_load_explicit(in, memory_order_acquire) != i)
			if (pause)
				spin_pause();
	}
}

static void raw2_pong(struct pp *p, uint64_t from, uint64_t n)
{
	_Atomic uint64_t *in = &p->lines[0].v, *out = &p->lines[1].v;
	const bool pause = p->pause;

	for (uint64_t i = from + 1; i <= from + n; i++) {
		while (atomic_load_explicit(in, memory_order_acquire) != i)
			if (pause)
				spin_pause();
		atomic_store_explicit(out, i, memory_order_release);
	}
}

static void ring_setup(struct pp *p)
{
	rings_setup(p, 64, 64);
}

static void ring_ping(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[0];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v;

		ring_send(p, s, i);
		v = ring_recv(p, s);
		if (v != i)
			die_msg("ring reply", v, i);
	}
}

static void ring_pong(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[1];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v = ring_recv(p, s);

		if (v != i)
			die_msg("ring request", v, i);
		ring_send(p, s, v);
	}
}

static void pipe_setup(struct pp *p)
{
	int a[2], b[2];

	if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC))
		die("pipe");
	p->side[0].wfd = a[1];
	p->side[1].rfd = a[0];
	p->side[1].wfd = b[1];
	p->side[0].rfd = b[0];
}

static void eventfd_setup(struct pp *p)
{
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);

	if (a < 0 || b < 0)
		die("eventfd");
	p->side[0].wfd = p->side[1].rfd = a;
	p->side[1].wfd = p->side[0].rfd = b;
	p->side[0].out = p->side[1].in = &p->lines[0];
	p->side[1].out = p->side[0].in = &p->lines[1];
}

static void seqpacket_setup(struct pp *p)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	p->side[0].rfd = p->side[0].wfd = sv[0];
	p->side[1].rfd = p->side[1].wfd = sv[1];
}

/* pipe and seqpacket: the value travels through the kernel. */
static void fd_ping(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[0];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v;

		fd_write(s->wfd, i);
		v = fd_read(s->rfd);
		if (v != i)
			die_msg("fd reply", v, i);
	}
}

static void fd_pong(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[1];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v = fd_read(s->rfd);

		if (v != i)
			die_msg("fd request", v, i);
		fd_write(s->wfd, v);
	}
}

/* eventfd: the value sits in shared memory, the eventfd only wakes. */
static void efd_ping(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[0];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v;

		atomic_store_explicit(&s->out->v, i, memory_order_relaxed);
		fd_write(s->wfd, 1);
		fd_read(s->rfd);
		v = atomic_load_explicit(&s->in->v, memory_order_relaxed);
		if (v != i)
			die_msg("eventfd reply", v, i);
	}
}

static void efd_pong(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[1];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v;

		fd_read(s->rfd);
		v = atomic_load_explicit(&s->in->v, memory_order_relaxed);
		if (v != i)
			die_msg("eventfd request", v, i);
		atomic_store_explicit(&s->out->v, v, memory_order_relaxed);
		fd_write(s->wfd, 1);
	}
}

static void futex_setup(struct pp *p)
{
	p->side[0].out = p->side[1].in = &p->lines[0];
	p->side[1].out = p->side[0].in = &p->lines[1];
	atomic_store(&p->lines[0].f, 0);
	atomic_store(&p->lines[1].f, 0);
}

/*
 * Process-private futexes are what threads of one process use; shared
 * ones (keyed by the page, as for memory two processes map) are what a
 * cross-process channel must use, the ring's wait protocol included.
 */
static void futex_shared_setup(struct pp *p)
{
	futex_setup(p);
	p->futex_shared = true;
}

/* Waits until the futex word holds @want; no spinning, as a blocking peer. */
static void futex_await(struct pp *p, _Atomic uint32_t *f, uint32_t want)
{
	int op = p->futex_shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE;
	uint32_t v;

	while ((v = atomic_load_explicit(f, memory_order_acquire)) != want)
		if (futex(f, op, v) && errno != EAGAIN && errno != EINTR)
			die("futex wait");
}

static void futex_post(struct pp *p, _Atomic uint32_t *f, uint32_t v)
{
	atomic_store_explicit(f, v, memory_order_release);
	if (futex(f, p->futex_shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, 1) < 0)
		die("futex wake");
}

static void futex_ping(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[0];

	for (uint64_t i = from; i < from + n; i++) {
		futex_post(p, &s->out->f, (uint32_t)i + 1);
		futex_await(p, &s->in->f, (uint32_t)i + 1);
	}
}

static void futex_pong(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[1];

	for (uint64_t i = from; i < from + n; i++) {
		futex_await(p, &s->in->f, (uint32_t)i + 1);
		futex_post(p, &s->out->f, (uint32_t)i + 1);
	}
}

/*
 * Blocking mode: the receiver sleeps on the ring's futex word at once
 * (spin budget 0) and the sender wakes it with mk_ring_notify(), the
 * ring's wait protocol against a bare futex ping-pong.
 */
static inline uint64_t ring_recv_block(struct side *s)
{
	uint64_t v;
	size_t len;
	int ret;

	while ((ret = mk_ring_try_recv(&s->rx, &v, sizeof(v), &len)) == -EAGAIN) {
		ret = mk_ring_wait(&s->rx, 0, -1);
		if (ret)
			die_msg("ring wait", (uint64_t)-ret, 0);
	}
	if (ret || len != sizeof(v))
		die_msg("ring recv", (uint64_t)-ret, 0);
	return v;
}

static inline void ring_send_notify(struct pp *p, struct side *s, uint64_t v)
{
	ring_send(p, s, v);
	mk_ring_notify(&s->tx);
}

static void ring_block_ping(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[0];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v;

		ring_send_notify(p, s, i);
		v = ring_recv_block(s);
		if (v != i)
			die_msg("ring reply", v, i);
	}
}

static void ring_block_pong(struct pp *p, uint64_t from, uint64_t n)
{
	struct side *s = &p->side[1];

	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v = ring_recv_block(s);

		if (v != i)
			die_msg("ring request", v, i);
		ring_send_notify(p, s, v);
	}
}

/*
 * io_uring: side i owns uring[i]; a message is an IORING_OP_MSG_RING
 * posting a CQE with user_data = the sequence number to the peer's ring.
 * IOSQE_CQE_SKIP_SUCCESS drops the sender's own completion, so each side
 * makes one io_uring_enter per round trip (submit the reply, wait for the
 * next message).
 */
#define URING_SELF	(~0ULL)

static int uring_init(struct io_uring **out)
{
	struct io_uring *u = zalloc_aligned(sizeof(*u));
	int ret = io_uring_queue_init(8, u, 0);

	if (ret) {
		free(u);
		return ret;
	}
	*out = u;
	return 0;
}

static void uring_setup(struct pp *p)
{
	for (int i = 0; i < 2; i++) {
		int ret = uring_init(&p->uring[i]);

		if (ret) {
			errno = -ret;
			die("io_uring_queue_init");
		}
	}
}

static void uring_queue_msg(struct pp *p, int side, uint64_t v)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(p->uring[side]);

	if (!sqe)
		die_msg("io_uring sqe", 0, 0);
	io_uring_prep_msg_ring(sqe, p->uring[!side]->ring_fd, 0, v, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
	sqe->user_data = URING_SELF;
}

/* Submits what is queued (if @submit) and takes the next message. */
static uint64_t uring_take(struct pp *p, int side, bool submit)
{
	struct io_uring *u = p->uring[side];
	struct io_uring_cqe *cqe;
	uint64_t v;
	int ret;

	for (;;) {
		ret = submit ? io_uring_submit_and_wait(u, 1) : io_uring_wait_cqe(u, &cqe);
		if (ret < 0 && ret != -EINTR) {
			errno = -ret;
			die("io_uring wait");
		}
		submit = false;
		if (!io_uring_peek_cqe(u, &cqe))
			break;
	}
	v = cqe->user_data;
	if (v == URING_SELF)
		die_msg("io_uring msg_ring", (uint64_t)-cqe->res, 0);
	io_uring_cqe_seen(u, cqe);
	return v;
}

static void uring_ping(struct pp *p, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++) {
		uint64_t v;

		uring_queue_msg(p, 0, i);
		v = uring_take(p, 0, true);
		if (v != i)
			die_msg("io_uring reply", v, i);
	}
}

static void uring_pong(struct pp *p, uint64_t from, uint64_t n)
{
	uint64_t v;

	if (!n)
		return;
	v = uring_take(p, 1, false);
	for (uint64_t i = from; i < from + n; i++) {
		if (v != i)
			die_msg("io_uring request", v, i);
		uring_queue_msg(p, 1, i);
		if (i + 1 < from + n) {
			v = uring_take(p, 1, true);
		} else if (io_uring_submit(p->uring[1]) != 1) {
			die_msg("io_uring submit", 0, 0);
		}
	}
}

/* Can this process use io_uring at all (kernel, seccomp, sysctl)? */
static bool uring_available(void)
{
	struct io_uring *u;
	int ret = uring_init(&u);

	if (ret) {
		fprintf(stderr, "chan_pingpong: io_uring unavailable: %s\n", strerror(-ret));
		return false;
	}
	io_uring_queue_exit(u);
	free(u);
	return true;
}

static const struct method m_raw = { "raw", "raw cache line (floor)", false,
	raw_setup, raw_ping, raw_pong };
static const struct method m_raw2 = { "raw2", "raw, one line each way", false,
	raw_setup, raw2_ping, raw2_pong };
static const struct method m_ring = { "ring", "mk ring, polling", false,
	ring_setup, ring_ping, ring_pong };
static const struct method m_pipe = { "pipe", "pipe", true,
	pipe_setup, fd_ping, fd_pong };
static const struct method m_efd = { "eventfd", "eventfd + shared slot", true,
	eventfd_setup, efd_ping, efd_pong };
static const struct method m_futex = { "futex", "futex wait/wake", true,
	futex_setup, futex_ping, futex_pong };
static const struct method m_seqpacket = { "seqpacket", "unix SOCK_SEQPACKET", true,
	seqpacket_setup, fd_ping, fd_pong };
static const struct method m_ring_block = { "ring_block", "mk ring, blocking (futex)", true,
	ring_setup, ring_block_ping, ring_block_pong };
static const struct method m_futex_shared = { "futex_shared", "futex wait/wake, shared", true,
	futex_shared_setup, futex_ping, futex_pong };
static const struct method m_uring = { "io_uring", "io_uring MSG_RING", true,
	uring_setup, uring_ping, uring_pong };

/* --- threads --- */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	errno = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (errno)
		die("pinning to a CPU");
}

struct job {
	struct pp *p;
	const struct method *m;
	void (*fn)(struct pp *p, int side);	/* throughput jobs */
	int side;
};

static void *rt_thread(void *arg)
{
	struct job *j = arg;
	struct pp *p = j->p;

	pin(p->cpu[j->side]);
	pthread_barrier_wait(&p->bar);
	if (j->side) {
		j->m->pong(p, 0, p->warm + p->n);
		return NULL;
	}
	j->m->ping(p, 0, p->warm);
	p->t0 = now_ns();
	j->m->ping(p, p->warm, p->n);
	p->t1 = now_ns();
	return NULL;
}

static void *fn_thread(void *arg)
{
	struct job *j = arg;

	pin(j->p->cpu[j->side]);
	pthread_barrier_wait(&j->p->bar);
	j->fn(j->p, j->side);
	return NULL;
}

/* Runs side 0 and side 1 of a test in two pinned threads. */
static void run_pair(struct pp *p, struct job j[2], void *(*thread)(void *))
{
	pthread_t t[2];

	if (pthread_barrier_init(&p->bar, NULL, 2))
		die("barrier");
	for (int i = 0; i < 2; i++) {
		errno = pthread_create(&t[i], NULL, thread, &j[i]);
		if (errno)
			die("pthread_create");
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&p->bar);
}

/* One-way latency in ns of one run of @m; polling spins pause if @pause. */
static double rt_run(const struct method *m, int cpu_a, int cpu_b, uint64_t n,
		     bool yield, bool pause)
{
	struct pp *p = pp_new();
	struct job j[2] = { { .p = p, .m = m, .side = 0 }, { .p = p, .m = m, .side = 1 } };
	double ns;

	p->cpu[0] = cpu_a;
	p->cpu[1] = cpu_b;
	p->n = n;
	p->warm = n / 10 + 100;
	p->yield = yield;
	p->pause = pause && !m->blocking;
	m->setup(p);
	run_pair(p, j, rt_thread);
	ns = (double)(p->t1 - p->t0) / (double)n / 2;
	pp_free(p);
	return ns;
}

static double rt_once(const struct method *m, int cpu_a, int cpu_b, uint64_t n,
		      bool yield)
{
	return rt_run(m, cpu_a, cpu_b, n, yield, opt_pause);
}

/* --- throughput --- */

enum { POLL, TX_BLOCKS, BOTH_BLOCK };

struct tput {
	unsigned int window;	/* 0: streaming */
	unsigned int slots;
	bool batch;
	int block;		/* streaming: who sleeps instead of polling */
};

static const struct tput *tp_cur;

/* Sender: at most window unacked messages; acks carry a running count. */
static void window_fn(struct pp *p, int side)
{
	struct side *s = &p->side[side];
	uint64_t m = p->n, v, cnt;
	struct iovec iov[BATCH];
	uint64_t vals[BATCH];
	size_t lens[BATCH], len;
	int ret;

	if (side == 0) {
		uint64_t sent = 0, acked = 0;

		p->t0 = now_ns();
		while (acked < m) {
			while (sent < m && sent - acked < tp_cur->window &&
			       !mk_ring_try_send(&s->tx, &sent, sizeof(sent)))
				sent++;
			while (!mk_ring_try_recv(&s->rx, &v, sizeof(v), &len)) {
				if (v < acked || v > sent)
					die_msg("ack", v, sent);
				acked = v;
			}
		}
		p->t1 = now_ns();
		return;
	}
	for (int k = 0; k < BATCH; k++)
		iov[k] = (struct iovec){ &vals[k], sizeof(vals[k]) };
	for (cnt = 0; cnt < m;) {
		ret = mk_ring_recv_batch(&s->rx, iov, lens, BATCH);
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			die_msg("window recv", (uint64_t)-ret, 0);
		for (int k = 0; k < ret; k++, cnt++)
			if (vals[k] != cnt)
				die_msg("window message", vals[k], cnt);
		while (mk_ring_try_send(&s->tx, &cnt, sizeof(cnt)) == -EAGAIN)
			;
	}
}

static void stream_fn(struct pp *p, int side)
{
	struct side *s = &p->side[side];
	uint64_t m = p->n, v;
	struct iovec iov[BATCH];
	uint64_t vals[BATCH];
	size_t lens[BATCH], len;
	int ret;

	for (int k = 0; k < BATCH; k++)
		iov[k] = (struct iovec){ &vals[k], sizeof(vals[k]) };
	if (side == 0) {
		p->t0 = now_ns();
		for (uint64_t i = 0; i < m;) {
			if (tp_cur->batch) {
				unsigned int k, b = m - i < BATCH ? (unsigned int)(m - i) : BATCH;

				for (k = 0; k < b; k++)
					vals[k] = i + k;
				ret = mk_ring_send_batch(&s->tx, iov, b);
				if (ret > 0)
					i += (unsigned int)ret;
			} else if (!(ret = mk_ring_try_send(&s->tx, &i, sizeof(i)))) {
				i++;
				if (tp_cur->block == BOTH_BLOCK)
					mk_ring_notify(&s->tx);
			} else if (tp_cur->block != POLL) {
				ret = mk_ring_wait_credits(&s->tx, sizeof(i), 0, -1, NULL, NULL);
				if (ret)
					die_msg("credit wait", (uint64_t)-ret, 0);
			}
		}
		return;
	}
	for (uint64_t i = 0; i < m;) {
		if (tp_cur->batch) {
			ret = mk_ring_recv_batch(&s->rx, iov, lens, BATCH);
			for (int k = 0; k < ret; k++, i++)
				if (vals[k] != i)
					die_msg("stream message", vals[k], i);
		} else if (!(ret = mk_ring_try_recv(&s->rx, &v, sizeof(v), &len))) {
			if (v != i)
				die_msg("stream message", v, i);
			i++;
		} else if (tp_cur->block == BOTH_BLOCK) {
			ret = mk_ring_wait(&s->rx, 0, -1);
			if (ret)
				die_msg("ring wait", (uint64_t)-ret, 0);
		}
	}
	p->t1 = now_ns();
}

/* Messages per second of one run. */
static double tput_once(const struct tput *t, int cpu_a, int cpu_b, uint64_t m)
{
	struct pp *p = pp_new();
	struct job j[2] = { { .p = p, .side = 0 }, { .p = p, .side = 1 } };
	double rate;

	tp_cur = t;
	p->cpu[0] = cpu_a;
	p->cpu[1] = cpu_b;
	p->n = m;
	rings_setup(p, t->slots, t->window ? 64 : 2);
	j[0].fn = j[1].fn = t->window ? window_fn : stream_fn;
	run_pair(p, j, fn_thread);
	rate = (double)m * 1e9 / (double)(p->t1 - p->t0);
	pp_free(p);
	return rate;
}

/* --- statistics and output --- */

struct summary {
	double med, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct summary summarize(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return (struct summary){
		.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
		.min = v[0],
		.max = v[n - 1],
	};
}

/*
 * Blocking ring over shared futex, judged pair by pair: each pair runs
 * both, in an order that flips every pair, so a slow stretch of the
 * machine lands on both sides of a ratio instead of on one method's
 * median (single medians swung between 1.03x and 1.56x across runs).
 */
struct paired {
	double med, q1, q3, min, max;
	int pairs;
	uint64_t n;
};

/* Sorts @ratio[0..@count) and fills in its median, quartiles and range. */
static struct paired paired_stats(double *ratio, int count, uint64_t n)
{
	struct paired r = { .pairs = count, .n = n };

	qsort(ratio, (size_t)count, sizeof(ratio[0]), cmp_double);
	r.med = count % 2 ? ratio[count / 2] :
		(ratio[count / 2 - 1] + ratio[count / 2]) / 2;
	r.q1 = ratio[(count - 1) / 4];
	r.q3 = ratio[(3 * (count - 1) + 3) / 4];
	r.min = ratio[0];
	r.max = ratio[count - 1];
	return r;
}

static struct paired paired_ratio(int cpu_a, int cpu_b, int pairs, uint64_t n)
{
	static double ratio[MAXPAIRS];
	double ring, fut;

	for (int k = 0; k < pairs; k++) {
		if (k % 2) {
			fut = rt_once(&m_futex_shared, cpu_a, cpu_b, n, false);
			ring = rt_once(&m_ring_block, cpu_a, cpu_b, n, false);
		} else {
			ring = rt_once(&m_ring_block, cpu_a, cpu_b, n, false);
			fut = rt_once(&m_futex_shared, cpu_a, cpu_b, n, false);
		}
		ratio[k] = ring / fut;
	}
	return paired_stats(ratio, pairs, n);
}

/*
 * The polling ring against the floor, judged round by round: each round
 * runs every variant below once, back to back, starting from a different
 * one each round, so a change of the vCPUs' placement between or within
 * runs lands on every ratio's numerator and denominator alike (the
 * medians of separate runs put the floor at 55 ns in one run and 220 ns
 * in another, with 54-226 ns within one).
 *
 * The floor of a round is the faster of the raw ping-pong spinning flat
 * out and spinning with pause: when the two vCPUs are SMT siblings,
 * pause (which hands the core's pipeline to the sibling) halves it; on
 * separate cores it changes nothing. The ring is judged as channels poll:
 * mk_ring_wait() pauses between looks; the flat-out ring is shown too.
 */
enum { V_RAW, V_RAW_PAUSE, V_RAW2, V_RING_PAUSE, V_RING, NVAR };

struct polled {
	struct paired floor;		/* ring (pause) / best floor: the target */
	struct paired flat;		/* ring / raw, both flat out */
	struct paired raw2;		/* ring (pause) / raw2 */
	struct paired raw2_floor;	/* raw2 / best floor */
	struct summary floor_ns;	/* the best floor itself in these rounds */
	int pause_floor;		/* rounds whose best floor paused */
};

static struct polled polled_ratio(int cpu_a, int cpu_b, int rounds, uint64_t n)
{
	static const struct { const struct method *m; bool pause; } var[NVAR] = {
		[V_RAW] = { &m_raw, false }, [V_RAW_PAUSE] = { &m_raw, true },
		[V_RAW2] = { &m_raw2, false }, [V_RING_PAUSE] = { &m_ring, true },
		[V_RING] = { &m_ring, false },
	};
	static double over_floor[MAXROUNDS], flat[MAXROUNDS], over_raw2[MAXROUNDS];
	static double raw2_floor[MAXROUNDS], floor_ns[MAXROUNDS];
	struct polled r = { 0 };

	for (int k = 0; k < rounds; k++) {
		double ns[NVAR], best;

		for (int i = 0; i < NVAR; i++) {
			int v = (k + i) % NVAR;

			ns[v] = rt_run(var[v].m, cpu_a, cpu_b, n, false, var[v].pause);
		}
		best = ns[V_RAW_PAUSE] < ns[V_RAW] ? ns[V_RAW_PAUSE] : ns[V_RAW];
		r.pause_floor += ns[V_RAW_PAUSE] < ns[V_RAW];
		over_floor[k] = ns[V_RING_PAUSE] / best;
		flat[k] = ns[V_RING] / ns[V_RAW];
		over_raw2[k] = ns[V_RING_PAUSE] / ns[V_RAW2];
		raw2_floor[k] = ns[V_RAW2] / best;
		floor_ns[k] = best;
	}
	r.floor_ns = summarize(floor_ns, rounds);
	r.floor = paired_stats(over_floor, rounds, n);
	r.flat = paired_stats(flat, rounds, n);
	r.raw2 = paired_stats(over_raw2, rounds, n);
	r.raw2_floor = paired_stats(raw2_floor, rounds, n);
	return r;
}

static void json_paired(FILE *f, const char *key, const struct paired *p,
			const char *count_key, bool last)
{
	fprintf(f, "    \"%s\": { \"median\": %.3f, \"q1\": %.3f, \"q3\": %.3f, "
		"\"min\": %.3f, \"max\": %.3f, \"%s\": %d, \"round_trips\": %llu }%s\n",
		key, p->med, p->q1, p->q3, p->min, p->max, count_key, p->pairs,
		(unsigned long long)p->n, last ? "" : ",");
}

struct result {
	const char *key;
	const char *label;
	struct summary st;
	uint64_t n;
};

static void json_stat(FILE *f, const struct result *r, int count, const char *unit)
{
	for (int i = 0; i < count; i++) {
		/* A method this machine cannot run (io_uring off): null. */
		if (isnan(r[i].st.med)) {
			fprintf(f, "    \"%s\": null%s\n", r[i].key, i + 1 < count ? "," : "");
			continue;
		}
		fprintf(f, "    \"%s\": { \"median_%s\": %.2f, \"min_%s\": %.2f, "
			"\"max_%s\": %.2f, \"count\": %llu }%s\n",
			r[i].key, unit, r[i].st.med, unit, r[i].st.min, unit, r[i].st.max,
			(unsigned long long)r[i].n, i + 1 < count ? "," : "");
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: chan_pingpong [--cpus A,B] [--iters N] [--reps R] [--msgs M] [--pairs P]\n"
		"                     [--rounds K] [--pause] [--json FILE]\n"
		"  --cpus A,B  the two CPUs to pin to (default 0,1); same-core runs use A\n"
		"  --iters N   round trips per run for polling methods (default 100000);\n"
		"              blocking methods and same-core runs use N/10\n"
		"  --reps R    runs per figure, median reported (default 5)\n"
		"  --msgs M    messages per throughput run (default 2000000; window 1\n"
		"              sends 5 x --iters instead)\n"
		"  --pairs P   alternating blocking ring / shared futex runs for the\n"
		"              paired ratio (default 21), N/50 round trips each\n"
		"  --rounds K  rounds of raw, raw2 and polling ring runs (order rotated)\n"
		"              for the paired polling ratios (default 61), N/5 round\n"
		"              trips each\n"
		"  --pause     polling spins (raw, raw2, ring) execute pause between looks\n"
		"  --json FILE also write the results as JSON\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "iters", required_argument, NULL, 'i' },
		{ "reps", required_argument, NULL, 'r' },
		{ "msgs", required_argument, NULL, 'm' },
		{ "json", required_argument, NULL, 'j' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "rounds", required_argument, NULL, 'k' },
		{ "pause", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct method *const cross[] = {
		&m_raw, &m_raw2, &m_ring, &m_pipe, &m_efd, &m_futex, &m_seqpacket,
		&m_ring_block, &m_futex_shared, &m_uring,
	};
	static const struct tput tputs[] = {
		{ 1, 64, false, POLL }, { 8, 64, false, POLL }, { 64, 64, false, POLL },
		{ 0, 64, false, POLL }, { 0, 256, false, POLL }, { 0, 1024, false, POLL },
		{ 0, 256, true, POLL },
		{ 0, 8, false, POLL }, { 0, 8, false, TX_BLOCKS }, { 0, 8, false, BOTH_BLOCK },
	};
	static const char *const tput_keys[] = {
		"window_1", "window_8", "window_64",
		"stream_ring64", "stream_ring256", "stream_ring1024", "stream_ring256_batch16",
		"stream_ring8", "stream_ring8_tx_blocks", "stream_ring8_both_block",
	};
	static const char *const tput_labels[] = {
		"window 1 (ring 64, cumulative acks)", "window 8", "window 64",
		"streaming, ring 64", "streaming, ring 256", "streaming, ring 1024",
		"streaming, ring 256, batches of 16",
		"streaming, ring 8, polling", "streaming, ring 8, sender blocks",
		"streaming, ring 8, both block",
	};
	enum { NCROSS = sizeof(cross) / sizeof(cross[0]), NTPUT = sizeof(tputs) / sizeof(tputs[0]) };
	struct result lat[NCROSS], same[2], tp[NTPUT];
	int cpu_a = 0, cpu_b = 1, reps = 5, pairs = 21, rounds = 61, opt;
	bool uring_ok;
	uint64_t iters = 100000, msgs = 2000000, slow;
	const char *json = NULL;
	double v[MAXREPS];
	cpu_set_t online;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2 || cpu_a < 0 || cpu_b < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'i':
			iters = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'm':
			msgs = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			json = optarg;
			break;
		case 'p':
			pairs = atoi(optarg);
			break;
		case 'k':
			rounds = atoi(optarg);
			break;
		case 'P':
			opt_pause = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || iters < 10 || msgs < 1000 || reps < 1 || reps > MAXREPS ||
	    pairs < 1 || pairs > MAXPAIRS || rounds < 1 || rounds > MAXROUNDS ||
	    cpu_a == cpu_b || cpu_a >= CPU_SETSIZE || cpu_b >= CPU_SETSIZE) {
		usage(stderr);
		return 2;
	}
	if (sched_getaffinity(0, sizeof(online), &online))
		die("sched_getaffinity");
	if (!CPU_ISSET(cpu_a, &online) || !CPU_ISSET(cpu_b, &online)) {
		fprintf(stderr, "chan_pingpong: CPU %d or %d is not available\n", cpu_a, cpu_b);
		return 2;
	}
	slow = iters / 10 < 1000 ? 1000 : iters / 10;
	uring_ok = uring_available();

	/* Interleave the methods within each repetition so drift hits all alike. */
	double lat_v[NCROSS][MAXREPS], same_v[2][MAXREPS], tp_v[NTPUT][MAXREPS];

	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < NCROSS; k++)
			lat_v[k][r] = cross[k] == &m_uring && !uring_ok ? NAN :
				      rt_once(cross[k], cpu_a, cpu_b,
					      cross[k]->blocking ? slow : iters, false);
		same_v[0][r] = rt_once(&m_ring, cpu_a, cpu_a, slow, true);
		same_v[1][r] = rt_once(&m_pipe, cpu_a, cpu_a, slow, false);
		for (int k = 0; k < NTPUT; k++)
			tp_v[k][r] = tput_once(&tputs[k], cpu_a, cpu_b,
					       tputs[k].window == 1 ? iters * 5 : msgs);
	}
	struct paired pr = paired_ratio(cpu_a, cpu_b, pairs, slow / 5 < 200 ? 200 : slow / 5);
	struct polled pl = polled_ratio(cpu_a, cpu_b, rounds,
					iters / 5 < 1000 ? 1000 : iters / 5);

	for (int k = 0; k < NCROSS; k++) {
		memcpy(v, lat_v[k], sizeof(double) * (size_t)reps);
		lat[k] = (struct result){ cross[k]->key, cross[k]->label, summarize(v, reps),
					  cross[k]->blocking ? slow : iters };
	}
	for (int k = 0; k < 2; k++) {
		memcpy(v, same_v[k], sizeof(double) * (size_t)reps);
		same[k] = (struct result){ k ? "pipe" : "ring_yield",
					   k ? "pipe" : "mk ring, poll + sched_yield",
					   summarize(v, reps), slow };
	}
	for (int k = 0; k < NTPUT; k++) {
		memcpy(v, tp_v[k], sizeof(double) * (size_t)reps);
		tp[k] = (struct result){ tput_keys[k], tput_labels[k], summarize(v, reps),
					 tputs[k].window == 1 ? iters * 5 : msgs };
	}

	double floor_ns = lat[0].st.med, floor2_ns = lat[1].st.med;
	double ring_ns = lat[2].st.med, pipe_ns = lat[3].st.med;
	double futex_ns = lat[5].st.med, block_ns = lat[7].st.med, sfutex_ns = lat[8].st.med;
	double best_tp = 0;

	for (int k = 0; k < NTPUT; k++)
		if (tp[k].st.med > best_tp)
			best_tp = tp[k].st.med;

	printf("chan_pingpong: CPUs %d,%d; median of %d runs; %llu round trips per run "
	       "(polling), %llu (blocking, same core)%s\n\n", cpu_a, cpu_b, reps,
	       (unsigned long long)iters, (unsigned long long)slow,
	       opt_pause ? "; polling spins pause" : "");
	printf("%-34s %9s  %-21s %7s %7s %8s\n", "one-way latency (round trip / 2)",
	       "ns", "(min-max)", "x raw", "x raw2", "pipe / x");
	for (int k = 0; k < NCROSS + 2; k++) {
		const struct result *r = k < NCROSS ? &lat[k] : &same[k - NCROSS];
		char range[64];

		if (k == NCROSS)
			printf("same core (CPU %d)\n", cpu_a);
		snprintf(range, sizeof(range), "(%.1f-%.1f)", r->st.min, r->st.max);
		printf("  %-32s %9.1f  %-21s %7.2f %7.2f %8.1f\n", r->label, r->st.med,
		       range, r->st.med / floor_ns, r->st.med / floor2_ns,
		       pipe_ns / r->st.med);
	}
	printf("\nmk ring throughput, 8-byte messages, CPU %d -> %d   M msgs/s  (min-max)\n",
	       cpu_a, cpu_b);
	for (int k = 0; k < NTPUT; k++)
		printf("  %-40s %9.2f  (%.2f-%.2f)\n", tp[k].label, tp[k].st.med / 1e6,
		       tp[k].st.min / 1e6, tp[k].st.max / 1e6);
	printf("\ntargets (issue 3)\n");
	printf("  ring round trip <= 1.3x raw floor:  %.2fx  %s, median of %d rounds (order rotated)\n"
	       "                                      of the ring polling as channels do (pause)\n"
	       "                                      over the faster raw floor (flat out or pause)\n"
	       "                                      (quartiles %.2f-%.2f, min-max %.2f-%.2f);\n"
	       "                                      the floor %.1f ns (%.1f-%.1f), pause faster in %d\n"
	       "                                      ring (pause) / raw2: %.2fx (quartiles %.2f-%.2f)\n"
	       "                                      raw2 / floor: %.2fx (quartiles %.2f-%.2f)\n"
	       "                                      both flat out: %.2fx (quartiles %.2f-%.2f)\n"
	       "                                      ratio of the medians above: %.2fx floor, "
	       "%.2fx raw2\n",
	       pl.floor.med, pl.floor.med <= 1.3 ? "met" : "NOT met", pl.floor.pairs,
	       pl.floor.q1, pl.floor.q3, pl.floor.min, pl.floor.max,
	       pl.floor_ns.med, pl.floor_ns.min, pl.floor_ns.max, pl.pause_floor,
	       pl.raw2.med, pl.raw2.q1, pl.raw2.q3,
	       pl.raw2_floor.med, pl.raw2_floor.q1, pl.raw2_floor.q3,
	       pl.flat.med, pl.flat.q1, pl.flat.q3,
	       ring_ns / floor_ns, ring_ns / floor2_ns);
	printf("  ring >= 20x faster than pipe:       %.1fx  %s\n", pipe_ns / ring_ns,
	       pipe_ns / ring_ns >= 20 ? "met" : "NOT met");
	printf("  throughput >= 10 M msgs/s:          %.2f M/s best, %.2f window 64  %s\n",
	       best_tp / 1e6, tp[2].st.med / 1e6, best_tp >= 10e6 ? "met" : "NOT met");
	printf("  blocking ring <= 1.1x futex:        %.2fx of a shared futex, median of %d "
	       "alternating pairs\n"
	       "                                      (quartiles %.2f-%.2f, min-max %.2f-%.2f)  %s\n"
	       "                                      ratio of the medians above: %.2fx shared, "
	       "%.2fx private\n", pr.med, pr.pairs, pr.q1, pr.q3, pr.min, pr.max,
	       pr.med <= 1.1 ? "met" : "NOT met", block_ns / sfutex_ns, block_ns / futex_ns);

	if (json) {
		FILE *f = fopen(json, "w");

		if (!f)
			die(json);
		fprintf(f, "{\n  \"bench\": \"chan_pingpong\",\n  \"cpus\": [%d, %d],\n"
			"  \"reps\": %d,\n  \"iters\": %llu,\n  \"blocking_iters\": %llu,\n"
			"  \"msgs\": %llu,\n  \"message_bytes\": 8,\n  \"spin_pause\": %s,\n",
			cpu_a, cpu_b, reps, (unsigned long long)iters, (unsigned long long)slow,
			(unsigned long long)msgs, opt_pause ? "true" : "false");
		fprintf(f, "  \"one_way_ns\": {\n");
		json_stat(f, lat, NCROSS, "ns");
		fprintf(f, "  },\n  \"same_core_one_way_ns\": {\n");
		json_stat(f, same, 2, "ns");
		fprintf(f, "  },\n  \"ring_throughput_msgs_per_s\": {\n");
		json_stat(f, tp, NTPUT, "rate");
		fprintf(f, "  },\n  \"ratios\": {\n"
			"    \"ring_over_floor\": %.3f,\n    \"ring_over_raw2\": %.3f,\n"
			"    \"pipe_over_ring\": %.2f,\n"
			"    \"futex_over_ring\": %.2f,\n    \"same_core_pipe_over_ring\": %.2f,\n"
			"    \"blocking_ring_over_futex\": %.3f,\n"
			"    \"blocking_ring_over_shared_futex\": %.3f,\n"
			"    \"blocking_ring_over_shared_futex_paired\": { \"median\": %.3f, "
			"\"q1\": %.3f, \"q3\": %.3f, \"min\": %.3f, \"max\": %.3f, "
			"\"pairs\": %d, \"round_trips\": %llu },\n",
			ring_ns / floor_ns, ring_ns / floor2_ns, pipe_ns / ring_ns, futex_ns / ring_ns,
			same[1].st.med / same[0].st.med, block_ns / futex_ns, block_ns / sfutex_ns,
			pr.med, pr.q1, pr.q3, pr.min, pr.max, pr.pairs, (unsigned long long)pr.n);
		json_paired(f, "ring_over_floor_paired", &pl.floor, "rounds", false);
		json_paired(f, "ring_over_raw2_paired", &pl.raw2, "rounds", false);
		json_paired(f, "ring_over_raw_flat_out_paired", &pl.flat, "rounds", false);
		json_paired(f, "raw2_over_floor_paired", &pl.raw2_floor, "rounds", false);
		fprintf(f, "    \"paired_rounds_floor_ns\": { \"median_ns\": %.2f, \"min_ns\": %.2f, "
			"\"max_ns\": %.2f, \"rounds_pause_faster\": %d }\n", pl.floor_ns.med, pl.floor_ns.min,
			pl.floor_ns.max, pl.pause_floor);
		fprintf(f, "  },\n");
		fprintf(f, "  \"targets\": {\n"
			"    \"ring_within_1_3x_floor\": %s,\n    \"ring_20x_pipe\": %s,\n"
			"    \"throughput_10M\": %s,\n    \"blocking_within_1_1x_futex\": %s\n  }\n}\n",
			pl.floor.med <= 1.3 ? "true" : "false",
			pipe_ns / ring_ns >= 20 ? "true" : "false",
			best_tp >= 10e6 ? "true" : "false",
			pr.med <= 1.1 ? "true" : "false");
		if (fclose(f))
			die(json);
	}
	return 0;
}
