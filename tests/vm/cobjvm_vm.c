// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cobjvm_vm [stress SECONDS WORKERS]: in the guest, with cobjvm loaded and
 * nothing else using it, checks /dev/cobjvm's VM objects. Prints TAP.
 *
 * Without arguments: bad input on every ioctl and on mmap; for every
 * variant set, a region faulted by threads pinned to different CPUs (zero
 * fill, each thread's writes, the fault ioctl), detached; shared FCMs
 * seen by another process; fork, munmap of part of a region,
 * MADV_DONTNEED, exit with regions attached; the page counters balance.
 * With "stress": WORKERS processes do random attaches, detaches, faults
 * from threads (SIGBUS when a detach wins is expected), fault ioctls and
 * exits for SECONDS (the caller takes a CPU offline and back meanwhile);
 * then the counters balance.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#include <mk/cobjvm.h>

#include "../lib/cobjvm_test.h"

#define NTHREADS	3

static void pin(int i)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(i % (cpus > 0 ? cpus : 1), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* --- SIGBUS as a result, per thread --- */

/* volatile: the stores around the access must stay */
static _Thread_local sigjmp_buf *volatile bus_jmp;

static void on_bus(int sig)
{
	(void)sig;
	if (bus_jmp)
		siglongjmp(*bus_jmp, 1);
	_exit(99);
}

/* Writes @v at @p; false if the write got SIGBUS. */
static bool touch(volatile uint64_t *p, uint64_t v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		bus_jmp = NULL;
		return false;
	}
	bus_jmp = &jb;
	*p = v;
	bus_jmp = NULL;
	return true;
}

/* --- bad input --- */

static void bad_input(void)
{
	int fd = open(COBJVM_DEVICE, O_RDWR), fd2;
	struct cobjvm_fault f = { 0 };
	struct cobjvm_fcm fc = { 0 };
	struct cobjvm_fcm_release rel = { 0 };
	struct cobjvm_detach d = { 0 };
	char big[256] = { 0 };
	void *m;
	bool ok;
	int i;

	result(fd >= 0, "open %s", COBJVM_DEVICE);
	result(attach(fd, 0, PG, 0, 0, 0) == -ENXIO, "attach before any mmap: ENXIO");
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	result(m == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE: EINVAL");
	m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
	result(m == MAP_FAILED && errno == EINVAL, "first mmap at offset != 0: EINVAL");
	m = mmap(NULL, COBJVM_WINDOW_MAX + PG, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
	result(m == MAP_FAILED && errno == EINVAL, "window over COBJVM_WINDOW_MAX: EINVAL");
	char *w = window(fd);
	result(w != NULL, "mmap a %lu MiB window", WINDOW >> 20);
	if (!w)
		exit(1);
	m = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, fd, WINDOW - PG);
	result(m == MAP_FAILED && errno == EINVAL, "a later mmap past the window: EINVAL");
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, WINDOW - PG);
	result(m != MAP_FAILED, "a later mmap inside the window");
	if (m != MAP_FAILED)
		munmap(m, PG);

	/* wrong sizes: every command, one size off either way */
	static const unsigned long cmds[] = { COBJVM_IOC_INFO, COBJVM_IOC_ATTACH,
		COBJVM_IOC_DETACH, COBJVM_IOC_FCM_CREATE, COBJVM_IOC_FCM_RELEASE,
		COBJVM_IOC_FAULT, COBJVM_IOC_STATS, COBJVM_IOC_DRAIN };
	ok = true;
	for (i = 0; i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++) {
		unsigned long c = cmds[i], sz = _IOC_SIZE(c);
		unsigned long more = (c & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
				     ((sz + 8) << _IOC_SIZESHIFT);
		unsigned long less = (c & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
				     ((sz ? sz - 8 : 8) << _IOC_SIZESHIFT);

		ok &= fails(fd, more, big, ENOTTY) && fails(fd, less, big, ENOTTY);
		if (_IOC_DIR(c) != _IOC_NONE)
			ok &= fails(fd, c, NULL, EFAULT);
	}
	result(ok, "every command with a wrong size: ENOTTY; with a NULL argument: EFAULT");

	result(attach(fd, 1, PG, 0, 0, 0) == -EINVAL, "attach: misaligned offset: EINVAL");
	result(attach(fd, 0, PG + 1, 0, 0, 0) == -EINVAL, "attach: misaligned length: EINVAL");
	result(attach(fd, 0, 0, 0, 0, 0) == -EINVAL, "attach: zero length: EINVAL");
	result(attach(fd, WINDOW - PG, 2 * PG, 0, 0, 0) == -EINVAL, "attach: past the window: EINVAL");
	result(attach(fd, -PG, 2 * PG, 0, 0, 0) == -EINVAL, "attach: offset + length overflows: EINVAL");
	result(attach(fd, 0, PG, 1U << 5, 0, 0) == -EINVAL, "attach: unknown variant bit: EINVAL");
	result(attach(fd, 0, PG, COBJVM_V_FCM_MASK, 0, 0) == -EINVAL, "attach: FCM variant 3: EINVAL");
	result(attach(fd, 0, PG, 0, 0, 1) == -EINVAL, "attach: anonymous with an FCM offset: EINVAL");
	result(attach(fd, 0, PG, 0, 0x7ffffff0, 0) == -ENOENT, "attach: unknown FCM: ENOENT");
	struct cobjvm_attach ar = { .length = PG, .reserved = 1 };
	result(fails(fd, COBJVM_IOC_ATTACH, &ar, EINVAL), "attach: reserved field set: EINVAL");
	result(attach_key(fd, 0, PG, 0, 0, 1, 0) == -EINVAL, "attach: anonymous with an FCM key: EINVAL");
	result(attach(fd, 4 * PG, 4 * PG, 0, 0, 0) == 0, "attach [4, 8) pages");
	result(attach(fd, 7 * PG, 2 * PG, 0, 0, 0) == -EEXIST &&
	       attach(fd, 2 * PG, 3 * PG, 0, 0, 0) == -EEXIST &&
	       attach(fd, 5 * PG, PG, 0, 0, 0) == -EEXIST, "attach: overlaps: EEXIST");
	result(attach(fd, 8 * PG, PG, COBJVM_V_PROC_PERCPU, 0, 0) == -EBUSY,
	       "attach: another Process variant while regions exist: EBUSY");
	ok = true;
	for (i = 1; i < COBJVM_REGIONS_MAX; i++)
		ok &= attach(fd, (8 + i) * PG, PG, 0, 0, 0) == 0;
	result(ok && attach(fd, 100 * PG, PG, 0, 0, 0) == -ENOSPC,
	       "attach: %d regions, then ENOSPC", COBJVM_REGIONS_MAX);
	result(detach(fd, (8 + COBJVM_REGIONS_MAX - 1) * PG) == 0, "detach the last one");

	f.offset = 100 * PG;
	f.npages = 1;
	result(fails(fd, COBJVM_IOC_FAULT, &f, ENXIO), "fault ioctl outside every region: ENXIO");
	f.offset = 4 * PG;
	f.npages = 5;
	result(fails(fd, COBJVM_IOC_FAULT, &f, ENXIO), "fault ioctl running out of its region: ENXIO");
	f.npages = 0;
	result(fails(fd, COBJVM_IOC_FAULT, &f, EINVAL), "fault ioctl: no pages: EINVAL");
	f = (struct cobjvm_fault){ .offset = 4 * PG, .npages = 1, .flags = 1 };
	result(fails(fd, COBJVM_IOC_FAULT, &f, EINVAL), "fault ioctl: flags set: EINVAL");
	f = (struct cobjvm_fault){ .offset = 4 * PG + 1, .npages = 1 };
	result(fails(fd, COBJVM_IOC_FAULT, &f, EINVAL), "fault ioctl: misaligned: EINVAL");
	f = (struct cobjvm_fault){ .offset = 4 * PG, .npages = 4 };
	ok = !ioctl(fd, COBJVM_IOC_FAULT, &f);
	result(ok && f.ns > 0, "fault ioctl over a region: %llu ns", (unsigned long long)f.ns);

	d.offset = 5 * PG;
	result(fails(fd, COBJVM_IOC_DETACH, &d, ENOENT), "detach: not a region's start: ENOENT");
	d.reserved = 1;
	result(fails(fd, COBJVM_IOC_DETACH, &d, EINVAL), "detach: reserved field set: EINVAL");

	fc.pages = 0;
	result(fails(fd, COBJVM_IOC_FCM_CREATE, &fc, EINVAL), "FCM create: no pages: EINVAL");
	fc = (struct cobjvm_fcm){ .pages = 1, .variants = COBJVM_V_PROC_PERCPU };
	result(fails(fd, COBJVM_IOC_FCM_CREATE, &fc, EINVAL), "FCM create: a Process bit: EINVAL");
	fc = (struct cobjvm_fcm){ .pages = 1, .variants = COBJVM_V_FCM_MASK };
	result(fails(fd, COBJVM_IOC_FCM_CREATE, &fc, EINVAL), "FCM create: FCM variant 3: EINVAL");
	fc = (struct cobjvm_fcm){ .pages = 1, .key = 1 };
	result(fails(fd, COBJVM_IOC_FCM_CREATE, &fc, EINVAL), "FCM create: key set: EINVAL");
	fc = (struct cobjvm_fcm){ .pages = 1, .reserved = 1 };
	result(fails(fd, COBJVM_IOC_FCM_CREATE, &fc, EINVAL), "FCM create: reserved set: EINVAL");
	fc = (struct cobjvm_fcm){ .pages = 4 };
	ok = !ioctl(fd, COBJVM_IOC_FCM_CREATE, &fc);
	result(ok && fc.id && fc.key, "FCM create: id %u and a key", fc.id);
	result(attach_key(fd, 200 * PG, PG, COBJVM_V_FCM_HASH, fc.id, fc.key, 0) == -EINVAL,
	       "attach a shared FCM with FCM bits: EINVAL");
	result(attach_key(fd, 200 * PG, 2 * PG, 0, fc.id, fc.key, 3) == -EINVAL,
	       "attach past the shared FCM's end: EINVAL");
	/* the capability: the id alone, or with any other key, is no FCM at all */
	ok = attach(fd, 200 * PG, PG, 0, fc.id, 0) == -ENOENT;
	for (i = 0; i < 64; i++)
		ok &= attach_key(fd, 200 * PG, PG, 0, fc.id, fc.key ^ (1ULL << i), 0) == -ENOENT;
	ok &= attach_key(fd, 200 * PG, PG, 0, fc.id, ~fc.key, 0) == -ENOENT;
	result(ok, "attach a shared FCM with no key, or a key one bit off: ENOENT (as an unknown id)");
	result(attach_key(fd, 200 * PG, PG, 0, fc.id + 1, fc.key, 0) == -ENOENT,
	       "attach with the key but the next id: ENOENT");
	fd2 = open(COBJVM_DEVICE, O_RDWR);
	char *w2 = window(fd2);
	result(w2 && attach_key(fd2, 0, PG, 0, fc.id, fc.key ^ 4, 0) == -ENOENT &&
	       attach_key(fd2, 0, PG, 0, fc.id, fc.key, 1) == 0 && detach(fd2, 0) == 0,
	       "another Process: a wrong key is refused, the right one attaches");
	rel.id = fc.id;
	result(fails(fd2, COBJVM_IOC_FCM_RELEASE, &rel, ENOENT),
	       "FCM release by a Process that did not create it: ENOENT");
	rel.reserved = 1;
	result(fails(fd, COBJVM_IOC_FCM_RELEASE, &rel, EINVAL), "FCM release: reserved set: EINVAL");
	rel.reserved = 0;
	result(!ioctl(fd, COBJVM_IOC_FCM_RELEASE, &rel) && fails(fd, COBJVM_IOC_FCM_RELEASE, &rel, ENOENT),
	       "FCM release, twice: ENOENT");
	result(attach_key(fd2, 0, PG, 0, fc.id, fc.key, 0) == -ENOENT,
	       "attach a released FCM with its old key: ENOENT");
	/* ids are reused: the new FCM under the same id takes a new key */
	struct cobjvm_fcm fc2 = { .pages = 4 };

	ok = !ioctl(fd, COBJVM_IOC_FCM_CREATE, &fc2);
	result(ok && fc2.key != fc.key &&
	       attach_key(fd2, 0, PG, 0, fc2.id, fc.key, 0) == -ENOENT &&
	       attach_key(fd2, 0, PG, 0, fc2.id, fc2.key, 0) == 0 && detach(fd2, 0) == 0,
	       "a new FCM (id %u, old id %u): the old key is refused, its own attaches",
	       fc2.id, fc.id);
	rel.id = fc2.id;
	result(!ioctl(fd, COBJVM_IOC_FCM_RELEASE, &rel), "FCM release the new one");
	if (w2)
		munmap(w2, WINDOW);
	close(fd2);

	/* a touch outside every region */
	signal(SIGBUS, on_bus);
	result(!touch((uint64_t *)(w + 200 * PG), 1), "a touch outside every region: SIGBUS");
	result(touch((uint64_t *)(w + 4 * PG), 1), "a touch inside a region maps the page");
	munmap(w, WINDOW);
	close(fd);	/* regions still attached: the Process detaches them */
}

/* --- every variant set, faulted from pinned threads --- */

struct job {
	char *base;
	unsigned long pages;
	int idx;
	bool ok;
};

static void *fault_thread(void *arg)
{
	struct job *j = arg;
	unsigned long i;

	pin(j->idx);
	j->ok = true;
	for (i = j->idx; i < j->pages; i += NTHREADS) {
		uint64_t *p = (uint64_t *)(j->base + i * PG);

		if (p[0] || p[PG / 8 - 1]) {
			j->ok = false;	/* not zero-filled */
			break;
		}
		p[0] = i * 2654435761u + 1;
		p[PG / 8 - 1] = ~p[0];
	}
	return NULL;
}

static bool fault_region(char *base, unsigned long pages)
{
	pthread_t t[NTHREADS];
	struct job j[NTHREADS];
	unsigned long i;
	bool ok = true;
	int k;

	for (k = 0; k < NTHREADS; k++) {
		j[k] = (struct job){ base, pages, k, false };
		pthread_create(&t[k], NULL, fault_thread, &j[k]);
	}
	for (k = 0; k < NTHREADS; k++) {
		pthread_join(t[k], NULL);
		ok &= j[k].ok;
	}
	for (i = 0; i < pages; i++) {
		uint64_t *p = (uint64_t *)(base + i * PG);

		ok &= p[0] == i * 2654435761u + 1 && p[PG / 8 - 1] == ~p[0];
	}
	return ok;
}

static void variants(void)
{
	const unsigned long pages = 48;
	int fd = open(COBJVM_DEVICE, O_RDWR);
	char *w = window(fd);
	struct cobjvm_fault f;
	uint32_t v;
	bool ok;

	for (v = 0; v <= COBJVM_V_ALL; v++) {
		if ((v & COBJVM_V_FCM_MASK) == COBJVM_V_FCM_MASK)
			continue;
		/* two regions: one the threads split, one faulted by the ioctl first */
		ok = attach(fd, 0, pages * PG, v, 0, 0) == 0 &&
		     attach(fd, (pages + 16) * PG, pages * PG, v, 0, 0) == 0;
		ok = ok && fault_region(w, pages);
		f = (struct cobjvm_fault){ .offset = (pages + 16) * PG, .npages = pages };
		ok = ok && !ioctl(fd, COBJVM_IOC_FAULT, &f) && fault_region(w + (pages + 16) * PG, pages);
		/* the ioctl finds the pages the threads made */
		f = (struct cobjvm_fault){ .offset = 0, .npages = pages };
		ok = ok && !ioctl(fd, COBJVM_IOC_FAULT, &f);
		ok = ok && stats(fd).pages_in_fcms >= 2 * pages;
		ok = ok && detach(fd, 0) == 0 && detach(fd, (pages + 16) * PG) == 0;
		ok = ok && stats(fd).pages_in_fcms == 0;
		/* after detach, the range is gone: a touch gets SIGBUS */
		ok = ok && !touch((uint64_t *)w, 1);
		result(ok, "variants %#04x: zero fill, %d pinned threads, fault ioctl, detach", v,
		       NTHREADS);
	}
	munmap(w, WINDOW);
	close(fd);
}

/* --- shared FCMs across processes --- */

static bool child_sees(uint32_t id, uint64_t key, unsigned long pages)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open(COBJVM_DEVICE, O_RDWR);
		char *w = window(fd);
		unsigned long i;

		if (!w || attach_key(fd, 8 * PG, pages * PG,
				     COBJVM_V_PROC_PERCPU | COBJVM_V_REGION_PERCPU, id, key, 0))
			_exit(2);
		for (i = 0; i < pages; i++) {
			uint64_t *p = (uint64_t *)(w + (8 + i) * PG);

			if (p[0] != i + 7)
				_exit(3);
			p[1] = i + 11;	/* for the parent to see */
		}
		_exit(0);	/* regions still attached: exit detaches them */
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
}

static void shared_fcms(void)
{
	const unsigned long pages = 32;
	int fd = open(COBJVM_DEVICE, O_RDWR);
	char *w = window(fd);
	struct cobjvm_fcm fc;
	struct cobjvm_fcm_release rel;
	unsigned long i;
	uint32_t v;
	bool ok;

	for (v = 0; v <= (COBJVM_V_FCM_MASK | COBJVM_V_PM_PERCPU); v += 1U << COBJVM_V_FCM_SHIFT) {
		if ((v & COBJVM_V_FCM_MASK) == COBJVM_V_FCM_MASK)
			continue;
		fc = (struct cobjvm_fcm){ .pages = pages + 4, .variants = v };
		ok = !ioctl(fd, COBJVM_IOC_FCM_CREATE, &fc);
		ok = ok && attach_key(fd, 0, pages * PG, 0, fc.id, fc.key, 4) == 0;
		for (i = 0; ok && i < pages; i++)
			((uint64_t *)(w + i * PG))[0] = i + 7;
		/* the child attaches FCM pages [0, pages): ours start at 4 */
		ok = ok && detach(fd, 0) == 0 && attach_key(fd, 0, pages * PG, 0, fc.id, fc.key, 0) == 0;
		for (i = 0; ok && i < pages; i++)
			((uint64_t *)(w + i * PG))[0] = i + 7;
		ok = ok && child_sees(fc.id, fc.key, pages);
		for (i = 0; ok && i < pages; i++)
			ok = ((uint64_t *)(w + i * PG))[1] == i + 11;
		ok = ok && stats(fd).pages_in_fcms == pages + 4;
		rel = (struct cobjvm_fcm_release){ .id = fc.id };
		/* released while attached: the region keeps it until detach */
		ok = ok && !ioctl(fd, COBJVM_IOC_FCM_RELEASE, &rel) &&
		     ((uint64_t *)w)[1] == 11 && stats(fd).fcms == 1;
		ok = ok && detach(fd, 0) == 0 && stats(fd).fcms == 0 && stats(fd).pages_in_fcms == 0;
		result(ok, "shared FCM %#04x: another process re-faults its pages and writes back", v);
	}
	munmap(w, WINDOW);
	close(fd);
}

/* --- fork, munmap, MADV_DONTNEED, exit --- */

static void lifecycle(void)
{
	int fd = open(COBJVM_DEVICE, O_RDWR), st;
	char *w = window(fd);
	uint64_t *p = (uint64_t *)w;
	pid_t pid;
	bool ok;

	ok = attach(fd, 0, 16 * PG, COBJVM_V_ALL & ~COBJVM_V_FCM_MASK, 0, 0) == 0;
	p[0] = 42;
	pid = fork();
	if (pid == 0) {
		/* the shared mapping is inherited: same Process, same pages */
		if (p[0] != 42)
			_exit(1);
		p[0] = 43;
		((uint64_t *)(w + 5 * PG))[0] = 5;	/* a fault in the child */
		_exit(0);
	}
	ok = ok && pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
	result(ok && p[0] == 43 && ((uint64_t *)(w + 5 * PG))[0] == 5,
	       "fork: the child sees and writes the parent's pages");

	for (int i = 0; i < 16; i++)
		((uint64_t *)(w + i * PG))[0] = 100 + i;
	ok = !munmap(w + 4 * PG, 4 * PG);
	ok = ok && mmap(w + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
			4 * PG) == w + 4 * PG;
	for (int i = 0; ok && i < 16; i++)
		ok = ((uint64_t *)(w + i * PG))[0] == (uint64_t)(100 + i);
	result(ok, "munmap part of a region, map it again: the FCM kept the pages");

	ok = !madvise(w, 16 * PG, MADV_DONTNEED);
	for (int i = 0; ok && i < 16; i++)
		ok = ((uint64_t *)(w + i * PG))[0] == (uint64_t)(100 + i);
	result(ok && stats(fd).pages_in_fcms == 16,
	       "MADV_DONTNEED then re-touch: the same data, from the FCM");

	ok = !munmap(w + 2 * PG, PG) && detach(fd, 0) == 0 && stats(fd).pages_in_fcms == 0;
	result(ok, "detach with part of the region unmapped");

	pid = fork();
	if (pid == 0) {
		int cfd = open(COBJVM_DEVICE, O_RDWR);
		char *cw = window(cfd);

		if (!cw)
			_exit(1);
		for (int i = 0; i < 3; i++) {
			if (attach(cfd, i * 32 * PG, 16 * PG, (uint32_t)i << COBJVM_V_FCM_SHIFT |
				   (i & 1 ? COBJVM_V_REGION_PERCPU | COBJVM_V_PM_PERCPU : 0), 0, 0))
				_exit(2);
			memset(cw + i * 32 * PG, 1, 16 * PG);
		}
		_exit(0);
	}
	ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
	result(ok && stats(fd).regions == 0 && stats(fd).pages_in_fcms == 0,
	       "exit with 3 regions attached and touched: all detached");
	munmap(w, WINDOW);
	close(fd);
}

/* --- the window's VMAs: mremap, split, MAP_FIXED, offsets, fork after close --- */

static uint64_t word(char *w, unsigned long pg)
{
	return ((volatile uint64_t *)(w + pg * PG))[0];
}

static void vma_games(void)
{
	int fd = open(COBJVM_DEVICE, O_RDWR), pfd[2], st, fd2;
	char *w = window(fd), *m, *t, *o, *f;
	unsigned long i;
	pid_t pid;
	bool ok;

	ok = w && attach(fd, 0, 16 * PG, COBJVM_V_PROC_PERCPU, 0, 0) == 0;
	for (i = 0; ok && i < 16; i++)
		((uint64_t *)(w + i * PG))[0] = 200 + i;
	/* move pages [4, 8) of the window elsewhere; they fault through the new VMA */
	t = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m = t == MAP_FAILED ? MAP_FAILED :
	    mremap(w + 4 * PG, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, t);
	ok = ok && m == t && !madvise(m, 4 * PG, MADV_DONTNEED);
	for (i = 0; ok && i < 4; i++)
		ok = word(m, i) == 204 + i;
	ok = ok && mremap(m, 4 * PG, 8 * PG, MREMAP_MAYMOVE) == MAP_FAILED;
	result(ok, "mremap moves part of the window: faults through the moved VMA, growing it fails");

	/* split: unmap the middle, both sides still fault */
	ok = !munmap(w + 9 * PG, 2 * PG) && !madvise(w, 4 * PG, MADV_DONTNEED) &&
	     !madvise(w + 8 * PG, PG, MADV_DONTNEED) && !madvise(w + 11 * PG, 5 * PG, MADV_DONTNEED);
	ok = ok && word(w, 8) == 208 && word(w, 11) == 211 && word(w, 3) == 203;
	if (!ok)
		printf("# split: %d\n", errno);
	/* MAP_FIXED over part of the window with its offset 0; another at offset 14 */
	f = mmap(w + 12 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	o = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 14 * PG);
	ok = ok && f == w + 12 * PG && word(f, 0) == 200 && word(f, 1) == 201 &&
	     o != MAP_FAILED && word(o, 0) == 214 && word(o, 1) == 215;
	ok = ok && !mprotect(w, PG, PROT_READ) && word(w, 0) == 200;
	result(ok, "munmap of the middle, MAP_FIXED over the window, a second mmap at an offset, "
	       "mprotect: every VMA faults the right page");

	/*
	 * fork, then the parent detaches, unmaps and closes: the child's
	 * inherited VMAs keep the Process; its touches get SIGBUS.
	 */
	ok = !pipe(pfd);
	pid = ok ? fork() : -1;
	if (pid == 0) {
		char c;

		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(1);
		if (touch((uint64_t *)m, 1) || touch((uint64_t *)(w + 8 * PG), 1) ||
		    (o != MAP_FAILED && touch((uint64_t *)o, 1)))
			_exit(2);
		_exit(0);
	}
	ok = ok && pid > 0;
	if (pfd[0] >= 0)
		close(pfd[0]);
	ok = ok && detach(fd, 0) == 0;
	munmap(w, WINDOW);
	munmap(m, 4 * PG);
	if (o != MAP_FAILED)
		munmap(o, 2 * PG);
	close(fd);
	ok = ok && write(pfd[1], "x", 1) == 1;
	close(pfd[1]);
	ok = ok && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
	fd2 = open(COBJVM_DEVICE, O_RDWR);
	ok = ok && stats(fd2).processes == 1 && stats(fd2).regions == 0;
	close(fd2);
	result(ok, "fork; the parent detaches, unmaps and closes: the child's touches get SIGBUS, "
	       "its exit ends the Process");
}

/* --- detach racing faults (per-CPU region caches, stale entries) --- */

static volatile bool race_stop;
static int race_fd;
static char *race_w;

static void *race_toucher(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;

	pin((int)(uintptr_t)arg);
	while (!race_stop) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		unsigned long pg = seed % 16;

		if (seed & 0x10000) {
			struct cobjvm_fault f = { .offset = pg * PG, .npages = 1 };

			ioctl(race_fd, COBJVM_IOC_FAULT, &f);
		} else {
			touch((uint64_t *)(race_w + pg * PG), seed);
		}
	}
	return NULL;
}

/*
 * Faults on three CPUs while the region under them is detached and
 * attached again, with the per-CPU region caches: a fault that finds the
 * detached region in a stale cache must neither count into its freed
 * statistics, nor wake its waitqueue after detach may have freed it.
 */
static void detach_races(void)
{
	static const uint32_t vs[] = { COBJVM_V_PROC_PERCPU,
		COBJVM_V_PROC_PERCPU | COBJVM_V_REGION_PERCPU,
		COBJVM_V_PROC_PERCPU | COBJVM_V_REGION_PERCPU | COBJVM_V_FCM_HASH |
		COBJVM_V_PM_PERCPU };
	pthread_t t[NTHREADS];
	unsigned int i, k, rounds = 0;
	bool ok = true;

	race_fd = open(COBJVM_DEVICE, O_RDWR);
	race_w = window(race_fd);
	if (!race_w) {
		result(false, "detach races: window");
		return;
	}
	race_stop = false;
	for (k = 0; k < NTHREADS; k++)
		pthread_create(&t[k], NULL, race_toucher, (void *)(uintptr_t)k);
	for (i = 0; i < 300; i++) {
		uint32_t v = vs[i % 3];

		ok &= attach(race_fd, 0, 16 * PG, v, 0, 0) == 0;
		if (i & 1)
			sched_yield();
		ok &= detach(race_fd, 0) == 0;
		rounds++;
	}
	race_stop = true;
	for (k = 0; k < NTHREADS; k++)
		pthread_join(t[k], NULL);
	ok &= stats(race_fd).regions == 0 && stats(race_fd).pages_in_fcms == 0;
	munmap(race_w, WINDOW);
	close(race_fd);
	result(ok, "%u detaches racing faults on %d CPUs (per-CPU region caches)", rounds,
	       NTHREADS);
}

/* --- the per-CPU page manager's overflow bound under CPU hotplug --- */

/* vm_pm.c's bounds, as the loaded module has them: not a copy that can go stale */
static unsigned int pm_param(const char *name)
{
	char path[96];
	unsigned int v;
	bool ok;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/cobjvm/parameters/%s", name);
	f = fopen(path, "r");
	ok = f && fscanf(f, "%u", &v) == 1;
	if (f)
		fclose(f);
	if (!ok) {
		result(false, "read the page manager's bound %s", path);
		exit(1);	/* every expectation below depends on it */
	}
	return v;
}
#define PM_PCPU_MAX	pm_param("pm_pcpu_max")	/* pages a CPU's list keeps */
#define PM_ROOT_MAX	pm_param("pm_root_max")	/* pages the overflow keeps */

static bool cpu_online(int cpu, bool on)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	return write_file(path, on ? "1" : "0");
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Fault @pages pages of a fresh PM_PERCPU region on @cpu and detach it there. */
static bool fill_list(int fd, int cpu, unsigned long pages)
{
	struct cobjvm_fault f = { .offset = 0, .npages = (uint32_t)pages };

	pin_cpu(cpu);
	return attach(fd, 0, pages * PG, COBJVM_V_PM_PERCPU, 0, 0) == 0 &&
	       !ioctl(fd, COBJVM_IOC_FAULT, &f) && detach(fd, 0) == 0;
}

/*
 * CPU 2's full list plus a full overflow: when CPU 2 goes offline, its
 * pages may go to the overflow only up to the overflow's bound; the rest
 * go back to the kernel.
 */
static void hotplug_overflow(void)
{
	const unsigned long big = PM_ROOT_MAX + PM_PCPU_MAX;
	int fd = open(COBJVM_DEVICE, O_RDWR);
	struct cobjvm_stats s0, s1;
	cpu_set_t all;
	bool ok;
	void *w;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 3 || !cpu_online(2, true)) {
		printf("ok %d - # SKIP no CPU 2 to take offline\n", ++n);
		close(fd);
		return;
	}
	sched_getaffinity(0, sizeof(all), &all);
	w = mmap(NULL, big * PG, PROT_READ, MAP_SHARED, fd, 0);
	ok = w != MAP_FAILED && !ioctl(fd, COBJVM_IOC_DRAIN);
	/* CPU 2's list: PM_PCPU_MAX; CPU 0's: PM_PCPU_MAX, the overflow PM_ROOT_MAX */
	ok = ok && fill_list(fd, 2, PM_PCPU_MAX) && fill_list(fd, 0, big);
	s0 = stats(fd);
	ok = ok && s0.pages_in_free_lists == PM_ROOT_MAX + 2 * PM_PCPU_MAX;
	ok = ok && cpu_online(2, false);
	s1 = stats(fd);
	printf("# free lists %llu -> %llu, freed %llu -> %llu\n",
	       (unsigned long long)s0.pages_in_free_lists,
	       (unsigned long long)s1.pages_in_free_lists,
	       (unsigned long long)s0.pages_freed, (unsigned long long)s1.pages_freed);
	ok = ok && s1.pages_in_free_lists == PM_ROOT_MAX + PM_PCPU_MAX &&
	     s1.pages_freed == s0.pages_freed + PM_PCPU_MAX;
	ok &= cpu_online(2, true);
	sched_setaffinity(0, sizeof(all), &all);
	ok = ok && !ioctl(fd, COBJVM_IOC_DRAIN) && stats(fd).pages_in_free_lists == 0;
	if (w != MAP_FAILED)
		munmap(w, big * PG);
	close(fd);
	result(ok, "CPU 2 offline with a full list and a full overflow: the overflow stays at %d, "
	       "the rest goes back to the kernel", PM_ROOT_MAX);
}

/* --- stress --- */

static volatile bool stop;
static int stress_fd;
static char *stress_w;

#define SLOTS 8

static void *stress_toucher(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;

	pin((int)(uintptr_t)arg);
	while (!stop) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		unsigned long slot = seed % SLOTS, pg = (seed >> 8) % 16;

		if (seed & 0x100000) {
			struct cobjvm_fault f = { .offset = (slot * 32 + pg) * PG, .npages = 1 };

			ioctl(stress_fd, COBJVM_IOC_FAULT, &f);
		} else {
			touch((uint64_t *)(stress_w + (slot * 32 + pg) * PG), seed);
		}
	}
	return NULL;
}

static void stress_worker(unsigned int secs, uint64_t seed)
{
	time_t end = time(NULL) + secs;
	pthread_t t[2];

	signal(SIGBUS, on_bus);
	stress_fd = open(COBJVM_DEVICE, O_RDWR);
	stress_w = window(stress_fd);
	if (!stress_w)
		_exit(1);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, stress_toucher, (void *)(uintptr_t)(seed + i));
	while (time(NULL) < end) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		unsigned long slot = seed % SLOTS;
		uint32_t v = (seed >> 8) & COBJVM_V_ALL;

		switch ((seed >> 16) % 4) {
		case 0:
		case 1:
			attach(stress_fd, slot * 32 * PG, ((seed >> 20) % 16 + 1) * PG,
			       v, 0, 0);
			break;
		case 2:
			detach(stress_fd, slot * 32 * PG);
			break;
		default:
			ioctl(stress_fd, (unsigned long)(uint32_t)(seed >> 24), seed);
			break;
		}
		if ((seed >> 30) % 500 == 0)
			_exit(0);	/* die with regions attached and threads faulting */
	}
	stop = true;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

static void stress(unsigned int secs, int workers)
{
	time_t end = time(NULL) + secs;
	int running = 0, st, bad = 0, spawned = 0;
	uint64_t seed = (uint64_t)time(NULL);
	int fd = open(COBJVM_DEVICE, O_RDWR);

	printf("# seed %llu\n", (unsigned long long)seed);
	while (time(NULL) < end || running) {
		while (running < workers && time(NULL) < end) {
			pid_t pid = fork();

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			if (pid == 0)
				stress_worker((unsigned int)(end - time(NULL)) + 1, seed | 1);
			running += pid > 0;
			spawned++;
		}
		if (wait(&st) < 0)
			break;
		running--;
		/* SIGBUS is not expected: touchers catch it */
		bad += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	result(!bad, "stress: %d workers over %us, none failed", spawned, secs);
	result(balanced(fd, 1), "stress: the page counters balance");
	close(fd);
}

int main(int argc, char **argv)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "stress")) {
		stress(argc > 2 ? (unsigned int)atoi(argv[2]) : 10, argc > 3 ? atoi(argv[3]) : 3);
	} else {
		bad_input();
		variants();
		shared_fcms();
		lifecycle();
		vma_games();
		detach_races();
		hotplug_overflow();
		fd = open(COBJVM_DEVICE, O_RDWR);
		result(balanced(fd, 1), "the page counters balance, no object left");
		close(fd);
	}
	printf("1..%d\n", n);
	return failed != 0;
}
