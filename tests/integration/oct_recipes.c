// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oct_recipes SOCKET [SCALE%]: libmk's Octopus recipes between processes
 * against a running octopusd. Locks: 100,000 lock/unlock alternations with
 * mutual exclusion checked in shared memory, a holder killed with SIGKILL
 * releasing the lock; double barriers: 8 processes, several rounds, nobody
 * out of enter before all entered; semaphores: never more than N inside,
 * and wake-ups counted; their errors as negative errnos. SCALE (default
 * 100) shrinks the counts (the ASan build). Prints TAP.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mk/octopus.h>

#include "../lib/tap.h"

static const char *sock;

struct shared {
	atomic_int inside;	/* processes in the critical section now */
	atomic_int max_inside;
	atomic_long counter;
	atomic_int violations;
	atomic_int errors;
	atomic_int entered[16], left[16];
	atomic_int early;	/* out of enter/leave too soon */
	atomic_long wakeups;
	atomic_long acquired;
	atomic_int flag;
};

static struct shared *sh;

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct mk_oct *conn(void)
{
	struct mk_oct *c;

	if (mk_oct_connect(&c, sock)) {
		fprintf(stderr, "cannot connect to %s\n", sock);
		_exit(3);
	}
	return c;
}

static void enter_cs(void)
{
	int in = atomic_fetch_add(&sh->inside, 1) + 1;
	int m = atomic_load(&sh->max_inside);

	while (in > m && !atomic_compare_exchange_weak(&sh->max_inside, &m, in))
		;
}

static void leave_cs(void)
{
	atomic_fetch_sub(&sh->inside, 1);
}

/* Runs @fn(i) in @nproc children; true if all exited 0. */
static bool run_children(int nproc, void (*fn)(int), pid_t *pids)
{
	pid_t local[64];
	bool ok = true;
	int st;

	if (!pids)
		pids = local;
	for (int i = 0; i < nproc; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			fn(i);
			_exit(0);
		}
	}
	for (int i = 0; i < nproc; i++)
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			ok = false;
	return ok;
}

/* Locks ------------------------------------------------------------------ */

static long lock_rounds;

static void lock_child(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_lock l;

	(void)i;
	for (long k = 0; k < lock_rounds; k++) {
		if (mk_oct_lock(c, "rcp.lock", &l)) {
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
		/*
		 * A read-modify-write spread over a while: two processes
		 * inside would see each other, or lose counts.
		 */
		long v = atomic_load(&sh->counter);

		if (atomic_fetch_add(&sh->inside, 1) != 0)
			atomic_fetch_add(&sh->violations, 1);
		for (int s = 0; s < 200; s++)
			if (atomic_load(&sh->inside) != 1) {
				atomic_fetch_add(&sh->violations, 1);
				break;
			}
		atomic_store(&sh->counter, v + 1);
		atomic_fetch_sub(&sh->inside, 1);
		if (mk_oct_unlock(c, &l)) {
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
	}
	mk_oct_close(c);
}

static void test_lock_alternations(long total)
{
	double t0 = now_s();
	bool ok;

	memset(sh, 0, sizeof(*sh));
	lock_rounds = total / 2;
	ok = run_children(2, lock_child, NULL);
	CHECK(ok && !sh->errors && sh->counter == total && !sh->violations,
	      "%ld lock/unlock alternations between 2 processes: counter %ld, %d "
	      "processes found another inside, %d errors (%.1f s)", total,
	      (long)sh->counter, sh->violations, sh->errors, now_s() - t0);
}

static void killed_holder(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_lock l;

	(void)i;
	if (mk_oct_lock(c, "rcp.kill", &l))
		_exit(1);
	atomic_store(&sh->flag, 1);
	pause();	/* holds the lock until SIGKILL */
}

static void next_waiter(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_lock l;

	(void)i;
	while (atomic_load(&sh->flag) != 1)
		msleep(1);
	atomic_store(&sh->flag, 2);
	if (mk_oct_lock(c, "rcp.kill", &l))
		_exit(1);
	atomic_store(&sh->flag, 3);
	mk_oct_unlock(c, &l);
	mk_oct_close(c);
}

static void test_lock_killed_holder(void)
{
	pid_t holder, waiter;
	int st1 = 0, st2 = 0;

	memset(sh, 0, sizeof(*sh));
	holder = fork();
	if (holder == 0) {
		killed_holder(0);
		_exit(0);
	}
	waiter = fork();
	if (waiter == 0) {
		next_waiter(1);
		_exit(0);
	}
	for (int i = 0; i < 5000 && atomic_load(&sh->flag) < 2; i++)
		msleep(1);
	msleep(200);
	CHECK(atomic_load(&sh->flag) == 2, "a second process waits while the lock is held");
	kill(holder, SIGKILL);
	for (int i = 0; i < 5000 && atomic_load(&sh->flag) < 3; i++)
		msleep(1);
	CHECK(atomic_load(&sh->flag) == 3,
	      "the holder killed with SIGKILL releases the lock to the waiter");
	waitpid(holder, &st1, 0);
	waitpid(waiter, &st2, 0);
	CHECK(WIFSIGNALED(st1) && WIFEXITED(st2) && !WEXITSTATUS(st2), "both processes accounted for");
}

static void fifo_child(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_lock l;

	if (mk_oct_lock(c, "rcp.fifo", &l))
		_exit(1);
	sh->entered[atomic_fetch_add(&sh->counter, 1)] = i;
	mk_oct_unlock(c, &l);
	mk_oct_close(c);
}

static size_t count_names(struct mk_oct *c, const char *query)
{
	char **names;
	size_t nn;

	if (mk_oct_names(c, query, &names, &nn))
		return 0;
	mk_oct_free_names(names, nn);
	return nn;
}

/* Waiters queued one by one behind the parent get the lock in that order. */
static void test_lock_fifo(void)
{
	struct mk_oct *c = conn();
	const char *q = "r'^rcp\\.fifo\\.[0-9]+$'";
	pid_t pids[6];
	struct mk_oct_lock l;
	bool ok = !mk_oct_lock(c, "rcp.fifo", &l);
	int st;

	memset(sh, 0, sizeof(*sh));
	for (int i = 0; i < 6; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			fifo_child(i);
			_exit(0);
		}
		for (int k = 0; k < 5000 && count_names(c, q) != (size_t)i + 2; k++)
			msleep(1);
	}
	ok = ok && count_names(c, q) == 7 && !mk_oct_unlock(c, &l);
	for (int i = 0; i < 6; i++)
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			ok = false;
	for (int i = 0; i < 6; i++)
		ok = ok && sh->entered[i] == i;
	CHECK(ok && sh->counter == 6, "the lock is fair: 6 waiters served in the order "
	      "they queued (%d %d %d %d %d %d)", sh->entered[0], sh->entered[1],
	      sh->entered[2], sh->entered[3], sh->entered[4], sh->entered[5]);
	mk_oct_close(c);
}

/* Barriers ----------------------------------------------------------------- */

static int barrier_rounds;
#define BARRIER_N 8

static void barrier_child(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_barrier b;

	(void)i;
	if (mk_oct_barrier_init(&b, "rcp.barrier", BARRIER_N))
		_exit(1);
	for (int r = 0; r < barrier_rounds; r++) {
		atomic_fetch_add(&sh->entered[r], 1);
		if (mk_oct_barrier_enter(c, &b))
			atomic_fetch_add(&sh->errors, 1);
		if (atomic_load(&sh->entered[r]) != BARRIER_N)
			atomic_fetch_add(&sh->early, 1);
		if (i % 3 == 0)
			msleep(1);	/* stragglers */
		atomic_fetch_add(&sh->left[r], 1);
		if (mk_oct_barrier_leave(c, &b))
			atomic_fetch_add(&sh->errors, 1);
		if (atomic_load(&sh->left[r]) != BARRIER_N)
			atomic_fetch_add(&sh->early, 1);
	}
	mk_oct_barrier_destroy(&b);
	mk_oct_close(c);
}

static void test_barrier(int rounds)
{
	double t0 = now_s();
	bool ok;

	memset(sh, 0, sizeof(*sh));
	barrier_rounds = rounds;
	ok = run_children(BARRIER_N, barrier_child, NULL);
	CHECK(ok && !sh->errors && !sh->early && sh->left[rounds - 1] == BARRIER_N,
	      "double barrier, %d processes, %d rounds: nobody passed enter before all "
	      "entered nor leave before all left (%d early, %d errors, %.1f s)",
	      BARRIER_N, rounds, sh->early, sh->errors, now_s() - t0);
}

/* Semaphores ------------------------------------------------------------- */

static int sem_rounds;

static void sem_child(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_sem s;

	if (mk_oct_sem_init(&s, "rcp.sem", 3))
		_exit(1);
	for (int k = 0; k < sem_rounds; k++) {
		if (mk_oct_sem_acquire(c, &s)) {
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
		atomic_fetch_add(&sh->acquired, 1);
		enter_cs();
		if ((i + k) % 4 == 0)
			msleep(1);
		leave_cs();
		if (mk_oct_sem_release(c, &s)) {
			atomic_fetch_add(&sh->errors, 1);
			break;
		}
	}
	atomic_fetch_add(&sh->wakeups, (long)s.wakeups);
	mk_oct_sem_destroy(&s);
	mk_oct_close(c);
}

static void test_sem(int rounds)
{
	bool ok;

	memset(sh, 0, sizeof(*sh));
	sem_rounds = rounds;
	ok = run_children(8, sem_child, NULL);
	CHECK(ok && !sh->errors && sh->acquired == 8L * rounds && sh->max_inside <= 3 &&
	      sh->max_inside >= 1,
	      "semaphore of 3 permits, 8 processes x %d: at most %d inside at once, %ld "
	      "acquisitions, %d errors", rounds, sh->max_inside, (long)sh->acquired, sh->errors);
	CHECK(sh->wakeups <= 2 * sh->acquired,
	      "wake-ups (%ld) at most two per acquisition (%ld): no herd",
	      (long)sh->wakeups, (long)sh->acquired);
}

#define HERD_WAITERS 12

static void herd_child(int i)
{
	struct mk_oct *c = conn();
	struct mk_oct_sem s;

	(void)i;
	if (mk_oct_sem_init(&s, "rcp.herd", 1) || mk_oct_sem_acquire(c, &s))
		_exit(1);
	enter_cs();
	atomic_fetch_add(&sh->acquired, 1);
	atomic_fetch_add(&sh->wakeups, (long)s.wakeups);
	msleep(20);
	leave_cs();
	mk_oct_sem_release(c, &s);
	mk_oct_sem_destroy(&s);
	mk_oct_close(c);
}

/* HERD_WAITERS wait behind one holder; each release lets one through. */
static void test_sem_herd(void)
{
	struct mk_oct *c = conn();
	pid_t pids[HERD_WAITERS];
	struct mk_oct_sem s;
	char **names;
	size_t nn = 0;
	int st, ok = 1;

	memset(sh, 0, sizeof(*sh));
	CHECK(!mk_oct_sem_init(&s, "rcp.herd", 1) && !mk_oct_sem_acquire(c, &s),
	      "the parent holds the only permit");
	for (int i = 0; i < HERD_WAITERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			herd_child(i);
			_exit(0);
		}
	}
	for (int i = 0; i < 2000 && nn != HERD_WAITERS + 1; i++) {
		if (!mk_oct_names(c, "r'^rcp\\.herd\\.[0-9]+$'", &names, &nn))
			mk_oct_free_names(names, nn);
		msleep(2);
	}
	msleep(100);
	CHECK(nn == HERD_WAITERS + 1 && sh->acquired == 0,
	      "%d waiters queued behind the holder, none inside", HERD_WAITERS);
	mk_oct_sem_release(c, &s);
	for (int i = 0; i < HERD_WAITERS; i++)
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			ok = 0;
	CHECK(ok && sh->acquired == HERD_WAITERS && sh->max_inside == 1,
	      "all %d got the permit in turn, one at a time", HERD_WAITERS);
	/*
	 * A herd would wake every waiter at every release: 12 + 11 + ... =
	 * 78. Here a release wakes the head and the head's acquisition its
	 * successor: at most 2 per release.
	 */
	CHECK(sh->wakeups <= 2 * HERD_WAITERS,
	      "%ld wake-ups for %d releases (a thundering herd: %d)", (long)sh->wakeups,
	      HERD_WAITERS, HERD_WAITERS * (HERD_WAITERS + 1) / 2);
	mk_oct_sem_destroy(&s);
	mk_oct_close(c);
}

/*
 * The recipes' errors follow the client's rule: 0 or a negative errno, a
 * refusal as its table errno with mk_oct_error_code() and mk_oct_error()
 * set. A ticket deleted under its owner: unlock and release say -ENODATA
 * (NO_RECORD); a waiter whose ticket goes while it waits (and the queue
 * is not empty when it looks again: rcp.gone.999999 stands in it) gets
 * -ENODATA with the message saying so, kept across the cleanup that
 * follows (whose own delete of that ticket is refused too).
 */
static void test_errors(void)
{
	struct mk_oct *c = conn(), *other = conn();
	const char *q = "r'^rcp\\.gone\\.[0-9]+$'";
	struct mk_oct_barrier b;
	struct mk_oct_lock l;
	struct mk_oct_sem s;
	char **names;
	size_t nn = 0;
	pid_t pid;
	int ret, st;

	CHECK(mk_oct_lock(c, "9bad", &l) == -EINVAL && mk_oct_barrier_init(&b, "x", 0) == -EINVAL,
	      "a bad name or count: -EINVAL");
	ret = mk_oct_lock(c, "rcp.err", &l);
	if (!ret)
		ret = mk_oct_del(other, l.mine);
	if (!ret)
		ret = mk_oct_unlock(c, &l);
	CHECK(ret == -ENODATA && mk_oct_error_code(c) == OCT_ERR_NO_RECORD && *mk_oct_error(c),
	      "unlock of a ticket deleted meanwhile: -ENODATA, NO_RECORD (%d)", ret);
	ret = mk_oct_sem_init(&s, "rcp.err.sem", 1);
	if (!ret)
		ret = mk_oct_sem_acquire(c, &s);
	if (!ret)
		ret = mk_oct_del(other, s.mine);
	if (!ret)
		ret = mk_oct_sem_release(c, &s);
	mk_oct_sem_destroy(&s);
	CHECK(ret == -ENODATA && mk_oct_error_code(c) == OCT_ERR_NO_RECORD,
	      "release of a ticket deleted meanwhile: -ENODATA, NO_RECORD (%d)", ret);

	ret = mk_oct_lock(c, "rcp.gone", &l);
	pid = fork();
	if (pid == 0) {
		struct mk_oct *w = conn();
		struct mk_oct_lock wl;
		int r = mk_oct_lock(w, "rcp.gone", &wl);

		if (r != -ENODATA || mk_oct_error_code(w) != OCT_ERR_NO_RECORD ||
		    !strstr(mk_oct_error(w), "was deleted")) {
			fprintf(stderr, "waiter: %d, code %d, '%s'\n", r, mk_oct_error_code(w),
				mk_oct_error(w));
			_exit(1);
		}
		mk_oct_close(w);
		_exit(0);
	}
	for (int k = 0; k < 5000 && count_names(c, q) != 2; k++)
		msleep(1);
	if (!ret)
		ret = mk_oct_names(other, q, &names, &nn);
	if (!ret) {
		ret = nn == 2 ? mk_oct_del(other, names[1]) : -EAGAIN;
		mk_oct_free_names(names, nn);
	}
	if (!ret)
		ret = mk_oct_set(other, "rcp.gone.999999 { stand: true }", MK_OCT_SET_PLAIN, NULL);
	if (!ret)
		ret = mk_oct_unlock(c, &l);
	CHECK(!ret && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st),
	      "a waiter whose ticket was deleted: -ENODATA, NO_RECORD, 'our ticket ... was "
	      "deleted' (%d)", ret);
	mk_oct_del(other, "rcp.gone.999999");
	mk_oct_close(other);
	mk_oct_close(c);
}

int main(int argc, char **argv)
{
	long scale = argc > 2 ? atol(argv[2]) : 100;

	if (argc < 2 || scale < 1 || scale > 100) {
		fprintf(stderr, "usage: oct_recipes SOCKET [SCALE%%]\n");
		return 2;
	}
	sock = argv[1];
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_lock_alternations(100000 * scale / 100);
	test_lock_killed_holder();
	test_lock_fifo();
	test_barrier(scale == 100 ? 10 : 3);
	test_sem(scale == 100 ? 30 : 8);
	test_sem_herd();
	test_errors();
	return tap_done();
}
