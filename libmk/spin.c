// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The default spin budget of poll-then-block waits (issue 3; the
 * multikernel paper §5.2): spin for about as long as blocking costs
 * (P ~ C), so a waiter pays at most about twice the cost of blocking and
 * a fast peer never pays for a sleep. C is measured once per process, the
 * first time a default is needed: two threads on two different CPUs the
 * caller may use (channels connect cores) ping-pong through a shared (not
 * process-private, as the channels' futexes are) futex word, and C is half
 * the median round trip, clamped to [MK_SPIN_MIN_NS, MK_SPIN_MAX_NS].
 * Measured, not assumed: a futex round trip is 10-65 us on this 2-vCPU
 * host from one boot, or one load, to the next and ~120 us in a TCG guest.
 * The measurement costs the first caller about 20 round trips and two
 * thread creations; $MK_CHAN_SPIN_NS skips it.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mk/ring.h>

#include "internal.h"

#define ROUNDS		16	/* timed round trips, after WARMUP */
#define WARMUP		4
#define GIVE_UP_MS	500	/* a side that cannot run (a spinning RT thread on its CPU) */

struct pingpong {
	_Atomic uint32_t word;	/* odd: the partner's turn */
	_Atomic bool stop;	/* the caller gave up waiting */
	int cpu[2];		/* where the two sides run; -1: anywhere */
	uint64_t rt[ROUNDS];
};

/*
 * Waits while *w == v (no spinning: blocking is what is measured); false
 * once the caller gave up. The 10 ms slices only bound how late a side
 * notices that.
 */
static bool block_while(struct pingpong *p, _Atomic uint32_t *w, uint32_t v)
{
	const struct timespec slice = { 0, 10000000 };

	while (atomic_load_explicit(w, memory_order_acquire) == v) {
		if (atomic_load_explicit(&p->stop, memory_order_relaxed))
			return false;
		syscall(SYS_futex, w, FUTEX_WAIT, v, &slice, NULL, 0);
	}
	return true;
}

static void hand_over(_Atomic uint32_t *w, uint32_t v)
{
	atomic_store_explicit(w, v, memory_order_release);
	syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *partner(void *arg)
{
	struct pingpong *p = arg;

	pin(p->cpu[1]);
	for (uint32_t i = 0; i < ROUNDS + WARMUP; i++) {
		if (!block_while(p, &p->word, 2 * i))
			break;
		hand_over(&p->word, 2 * i + 2);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The caller's side, in a thread of its own so the caller's affinity stays. */
static void *leader(void *arg)
{
	struct pingpong *p = arg;
	pthread_t t;

	pin(p->cpu[0]);
	if (pthread_create(&t, NULL, partner, p))
		return NULL;
	for (uint32_t i = 0; i < ROUNDS + WARMUP; i++) {
		uint64_t t0 = mk_mono_ns();

		hand_over(&p->word, 2 * i + 1);
		if (!block_while(p, &p->word, 2 * i + 1))
			break;
		if (i >= WARMUP)
			p->rt[i - WARMUP] = mk_mono_ns() - t0;
	}
	pthread_join(t, NULL);
	return p;
}

/* Two CPUs of the caller's affinity, the one it runs on first. */
static void pick_cpus(int cpu[2])
{
	int here = sched_getcpu();
	cpu_set_t set;

	cpu[0] = cpu[1] = -1;
	if (here < 0 || sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) < 2)
		return;		/* one CPU: both sides share it, unpinned */
	cpu[0] = here;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (c != here && CPU_ISSET(c, &set)) {
			cpu[1] = c;
			return;
		}
	}
	cpu[0] = -1;
}

/* The cost of blocking in ns, or 0 if it cannot be measured. */
static uint64_t measure(void)
{
	struct pingpong *p = calloc(1, sizeof(*p));
	struct timespec deadline;
	uint64_t c = 0;
	pthread_t t;
	void *done;

	if (!p)
		return 0;
	pick_cpus(p->cpu);
	if (pthread_create(&t, NULL, leader, p)) {
		free(p);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += GIVE_UP_MS / 1000;
	deadline.tv_nsec += (GIVE_UP_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(t, &done, &deadline)) {
		/*
		 * A side cannot run. Tell both to stop and let them go: they
		 * still use p, so it is left to them (a few hundred bytes,
		 * once per process) rather than freed under them.
		 */
		atomic_store(&p->stop, true);
		pthread_detach(t);
		return 0;
	}
	if (done) {
		qsort(p->rt, ROUNDS, sizeof(p->rt[0]), cmp);
		c = p->rt[ROUNDS / 2] / 2;
	}
	free(p);
	return c;
}

static uint64_t calibrated;
static pthread_once_t calibrate_once = PTHREAD_ONCE_INIT;

static void calibrate(void)
{
	uint64_t c = measure();

	if (!c)
		c = MK_RING_SPIN_NS_DEFAULT;
	if (c < MK_SPIN_MIN_NS)
		c = MK_SPIN_MIN_NS;
	if (c > MK_SPIN_MAX_NS)
		c = MK_SPIN_MAX_NS;
	calibrated = c;
}

uint64_t mk_spin_default_ns(void)
{
	const char *env = getenv("MK_CHAN_SPIN_NS");
	unsigned long long v;
	char *end;

	/*
	 * Digits only: strtoull() takes a sign and wraps "-1" to UINT64_MAX,
	 * a budget that never ends (and the "default" sentinel of the rings).
	 */
	if (env && *env >= '0' && *env <= '9') {
		errno = 0;
		v = strtoull(env, &end, 10);
		if (!errno && !*end)
			return v;
	}
	pthread_once(&calibrate_once, calibrate);
	return calibrated;
}
