// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cobjvm_vm [--pages P] [--cpus N] [--variants all|V,V...] [--json FILE]:
 * in the guest, with cobjvm loaded, K42's memclone against stock faults in
 * the same run:
 *  - independent: each of T threads (pinned, T = 1..N) touches its own
 *    region of P pages once; cobjvm (one region per thread, one Process)
 *    for each variant set, and stock mmap(MAP_ANONYMOUS) (one mapping per
 *    thread; THP off: the caller sets it, and MADV_NOHUGEPAGE here; see
 *    stock_init for how both sides start alike);
 *  - shared: one region (one mapping) of T * P pages split among threads;
 *  - path: COBJVM_IOC_FAULT over P pages, first touch and resident, one
 *    CPU: the objects without Linux's fault path;
 *  - refault: N processes (pinned) each attach one shared FCM of P
 *    resident pages and touch them all, against N processes mapping a
 *    tmpfs file of P resident pages (/dev/shm, stock shmem faults);
 *  - attach/detach: a region of 256 pages attached and detached, untouched,
 *    touched on one CPU, touched on all CPUs, against mmap/munmap.
 * ns per fault (mean over threads of time / pages); scaling is the 1-CPU
 * ns per fault over the N-CPU one, times N: the throughput speed-up of N
 * CPUs doing N times the work (N = perfect).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
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

#include "bench_util.h"

#define PG	4096UL
#define MAXT	64

static unsigned long pages = 2500;
static int ncpus;
static int fd;
static char *win;
static unsigned long win_len;

struct thr {
	pthread_t t;
	int idx;
	char *base;
	unsigned long n;
	uint64_t ns;
};

static pthread_barrier_t bar;

static void *toucher(void *arg)
{
	struct thr *t = arg;
	cpu_set_t set;
	uint64_t t0;

	CPU_ZERO(&set);
	CPU_SET(t->idx % ncpus, &set);
	sched_setaffinity(0, sizeof(set), &set);
	pthread_barrier_wait(&bar);
	t0 = now_ns();
	for (unsigned long i = 0; i < t->n; i++)
		((volatile char *)t->base)[i * PG] = 1;
	t->ns = now_ns() - t0;
	return NULL;
}

/* ns per fault, mean over the threads. */
static double run(struct thr *t, int n)
{
	double sum = 0;

	pthread_barrier_init(&bar, NULL, (unsigned int)n);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i].t, NULL, toucher, &t[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i].t, NULL);
		sum += (double)t[i].ns / (double)t[i].n;
	}
	pthread_barrier_destroy(&bar);
	return sum / n;
}

static int attach(uint64_t off, uint64_t len, uint32_t v)
{
	struct cobjvm_attach a = { .offset = off, .length = len, .variants = v };

	return ioctl(fd, COBJVM_IOC_ATTACH, &a);
}

static void detach(uint64_t off)
{
	struct cobjvm_detach d = { .offset = off };

	if (ioctl(fd, COBJVM_IOC_DETACH, &d))
		perror("detach");
}

/*
 * Both sides start alike: the stock mappings live for the whole run (like
 * the window) and lose their pages with MADV_DONTNEED after each
 * measurement (like detach), so neither pays for page tables twice; and
 * cobjvm's free lists are drained first, so both take pages from the buddy
 * allocator.
 */
static char *stock_shared, *stock_indep[MAXT];

static int stock_init(void)
{
	unsigned long len = pages * PG;

	stock_shared = mmap(NULL, len * ncpus, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stock_shared == MAP_FAILED)
		return -1;
	madvise(stock_shared, len * ncpus, MADV_NOHUGEPAGE);
	for (int i = 0; i < ncpus; i++) {	/* a mapping each: separate VMAs */
		stock_indep[i] = mmap(NULL, len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stock_indep[i] == MAP_FAILED)
			return -1;
		madvise(stock_indep[i], len, MADV_NOHUGEPAGE);
	}
	/* the guest's memory is backed by the host once, before any timing */
	for (int i = 0; i < ncpus; i++) {
		memset(stock_indep[i], 1, len);
		madvise(stock_indep[i], len, MADV_DONTNEED);
	}
	memset(stock_shared, 1, len * ncpus);
	madvise(stock_shared, len * ncpus, MADV_DONTNEED);
	return 0;
}

/* v < 0: stock. */
static double memclone(long v, int n, bool shared)
{
	struct thr t[MAXT];
	unsigned long len = pages * PG;
	double ns;

	ioctl(fd, COBJVM_IOC_DRAIN);
	if (v >= 0 && shared) {
		if (attach(0, len * n, (uint32_t)v))
			return -1;
	} else if (v >= 0) {
		for (int i = 0; i < n; i++)
			if (attach(i * len, len, (uint32_t)v))
				return -1;
	}
	for (int i = 0; i < n; i++) {
		t[i].idx = i;
		t[i].n = pages;
		if (v >= 0)
			t[i].base = win + i * len;
		else
			t[i].base = shared ? stock_shared + i * len : stock_indep[i];
	}
	ns = run(t, n);
	if (v < 0) {
		for (int i = 0; i < n; i++)
			madvise(t[i].base, len, MADV_DONTNEED);
	} else if (shared) {
		detach(0);
	} else {
		for (int i = 0; i < n; i++)
			detach(i * len);
	}
	return ns;
}

static double path(uint32_t v, bool resident)
{
	struct cobjvm_fault f = { .offset = 0, .npages = (uint32_t)pages };
	double ns = -1;

	if (attach(0, pages * PG, v))
		return -1;
	if (resident && ioctl(fd, COBJVM_IOC_FAULT, &f))
		goto out;
	f.ns = 0;
	if (!ioctl(fd, COBJVM_IOC_FAULT, &f))
		ns = (double)f.ns / (double)pages;
out:
	detach(0);
	return ns;
}

/* --- re-faulting resident pages from N processes --- */

struct shared_res {
	pthread_barrier_t bar;
	uint64_t ns[MAXT];
};

/* v < 0: stock, a tmpfs file. ns per fault, mean over the processes. */
static double refault(long v, int n)
{
	struct shared_res *res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct cobjvm_fcm fc = { .pages = pages, .variants = (uint32_t)v &
				 (COBJVM_V_FCM_MASK | COBJVM_V_PM_PERCPU) };
	struct cobjvm_fcm_release rel;
	pthread_barrierattr_t ba;
	char path[] = "/dev/shm/cobjvm_vm.XXXXXX";
	int tfd = -1, ok = 1;
	double sum = 0;

	if (res == MAP_FAILED)
		return -1;
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(&res->bar, &ba, (unsigned int)n);
	if (v < 0) {
		tfd = mkstemp(path);
		if (tfd < 0 || ftruncate(tfd, (off_t)(pages * PG)))
			return -1;
		unlink(path);
		char *m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, tfd, 0);

		for (unsigned long i = 0; i < pages; i++)
			m[i * PG] = 1;	/* resident */
		munmap(m, pages * PG);
	} else {
		/* resident: the fault ioctl fills the FCM */
		struct cobjvm_attach a = { .length = pages * PG };
		struct cobjvm_fault f = { .npages = (uint32_t)pages };

		if (ioctl(fd, COBJVM_IOC_FCM_CREATE, &fc))
			return -1;
		a.fcm_id = fc.id;
		a.fcm_key = fc.key;
		a.variants = (uint32_t)v & (COBJVM_V_PROC_PERCPU | COBJVM_V_REGION_PERCPU);
		if (ioctl(fd, COBJVM_IOC_ATTACH, &a) || ioctl(fd, COBJVM_IOC_FAULT, &f))
			return -1;
		detach(0);
	}
	for (int i = 0; i < n; i++) {
		if (fork() == 0) {
			cpu_set_t set;
			char *m;
			int cfd = v < 0 ? tfd : open(COBJVM_DEVICE, O_RDWR);
			uint64_t t0;

			CPU_ZERO(&set);
			CPU_SET(i % ncpus, &set);
			sched_setaffinity(0, sizeof(set), &set);
			m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
			if (m == MAP_FAILED)
				_exit(1);
			if (v >= 0) {
				struct cobjvm_attach a = { .length = pages * PG, .fcm_id = fc.id,
					.fcm_key = fc.key, .variants = (uint32_t)v & (COBJVM_V_PROC_PERCPU |
								   COBJVM_V_REGION_PERCPU) };

				if (ioctl(cfd, COBJVM_IOC_ATTACH, &a))
					_exit(1);
			}
			pthread_barrier_wait(&res->bar);
			t0 = now_ns();
			for (unsigned long p = 0; p < pages; p++)
				((volatile char *)m)[p * PG] = 2;
			res->ns[i] = now_ns() - t0;
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		int st;

		wait(&st);
		ok &= WIFEXITED(st) && !WEXITSTATUS(st);
	}
	for (int i = 0; i < n; i++)
		sum += (double)res->ns[i] / (double)pages;
	if (v < 0) {
		close(tfd);
	} else {
		rel = (struct cobjvm_fcm_release){ .id = fc.id };
		ioctl(fd, COBJVM_IOC_FCM_RELEASE, &rel);
	}
	pthread_barrier_destroy(&res->bar);
	munmap(res, sizeof(*res));
	return ok ? sum / n : -1;
}

/* --- attach/detach against mmap/munmap --- */

#define AD_PAGES	256
#define AD_ROUNDS	20

static void *ad_toucher(void *arg)
{
	struct thr *t = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(t->idx % ncpus, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (unsigned long i = 0; i < t->n; i++)
		((volatile char *)t->base)[i * PG] = 1;
	return NULL;
}

static void ad_touch(char *base, int nthreads)
{
	struct thr t[MAXT];
	unsigned long per = AD_PAGES / (unsigned long)nthreads;

	for (int i = 0; i < nthreads; i++) {
		t[i] = (struct thr){ .idx = i, .base = base + i * per * PG, .n = per };
		pthread_create(&t[i].t, NULL, ad_toucher, &t[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i].t, NULL);
}

/* µs per map + unmap (or attach + detach); touch: 0 none, 1 one CPU, N all. */
static double attach_detach(long v, int touch)
{
	uint64_t ns = 0, t0;

	for (int r = 0; r < AD_ROUNDS; r++) {
		char *m = win;

		t0 = now_ns();
		if (v < 0) {
			m = mmap(NULL, AD_PAGES * PG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				return -1;
		} else if (attach(0, AD_PAGES * PG, (uint32_t)v)) {
			return -1;
		}
		ns += now_ns() - t0;
		if (v < 0)
			madvise(m, AD_PAGES * PG, MADV_NOHUGEPAGE);
		if (touch)
			ad_touch(m, touch);
		t0 = now_ns();
		if (v < 0)
			munmap(m, AD_PAGES * PG);
		else
			detach(0);
		ns += now_ns() - t0;
	}
	return (double)ns / AD_ROUNDS / 1000;
}

int main(int argc, char **argv)
{
	long variants[32];
	int nv = 0;
	const char *vs = "0,0x17,0x1b", *json = NULL;
	FILE *js;

	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pages"))
			pages = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--cpus"))
			ncpus = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--variants"))
			vs = argv[i + 1];
		else if (!strcmp(argv[i], "--json"))
			json = argv[i + 1];
	}
	if (ncpus < 1 || ncpus > MAXT || !pages || pages > COBJVM_FAULT_MAX) {
		fprintf(stderr, "cobjvm_vm: bad --cpus or --pages\n");
		return 2;
	}
	if (!strcmp(vs, "all")) {
		for (long v = 0; v <= COBJVM_V_ALL; v++)
			if ((v & COBJVM_V_FCM_MASK) != COBJVM_V_FCM_MASK)
				variants[nv++] = v;
	} else {
		for (char *s = (char *)vs, *e; *s && nv < 32; s = *e ? e + 1 : e)
			variants[nv++] = strtol(s, &e, 0);
	}
	variants[nv++] = -1;	/* stock, last */

	fd = open(COBJVM_DEVICE, O_RDWR);
	win_len = pages * PG * (unsigned long)ncpus;
	win = fd < 0 ? MAP_FAILED : mmap(NULL, win_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (win == MAP_FAILED) {
		perror("cobjvm_vm: " COBJVM_DEVICE);
		return 1;
	}
	if (stock_init()) {
		perror("cobjvm_vm: stock mappings");
		return 1;
	}
	js = json ? fopen(json, "w") : NULL;
	if (js)
		fprintf(js, "{\n  \"bench\": \"cobjvm_vm\",\n  \"pages\": %lu,\n  \"cpus\": %d,\n"
			"  \"runs\": [\n", pages, ncpus);
	printf("memclone, %lu pages per thread touched once: ns per fault "
	       "(scaling = N x 1-CPU ns / N-CPU ns, N = %d is perfect)\n", pages, ncpus);
	printf("  %-8s %-11s %9s %9s %8s\n", "variants", "layout", "1 CPU", "N CPUs", "scaling");
	for (int s = 0; s < 2; s++) {
		for (int i = 0; i < nv; i++) {
			double one = memclone(variants[i], 1, s), all = memclone(variants[i], ncpus, s);
			char name[24];

			if (variants[i] < 0)
				snprintf(name, sizeof(name), "stock");
			else
				snprintf(name, sizeof(name), "%#04lx", variants[i]);
			printf("  %-8s %-11s %9.0f %9.0f %8.2f\n", name, s ? "shared" : "independent",
			       one, all, one / all * ncpus);
			if (js)
				fprintf(js, "    { \"variants\": \"%s\", \"layout\": \"%s\", "
					"\"ns_per_fault_1cpu\": %.1f, \"ns_per_fault_ncpu\": %.1f, "
					"\"scaling\": %.3f },\n", name, s ? "shared" : "independent",
					one, all, one / all * ncpus);
		}
	}
	printf("fault ioctl (objects only, no PTE), one CPU: ns per page\n");
	for (int i = 0; i < nv && variants[i] >= 0; i++) {
		double first = path((uint32_t)variants[i], false), res = path((uint32_t)variants[i], true);

		printf("  %#04lx    first touch %6.0f   resident %6.0f\n", variants[i], first, res);
		if (js)
			fprintf(js, "    { \"variants\": \"%#04lx\", \"path_first_ns\": %.1f, "
				"\"path_resident_ns\": %.1f },\n", variants[i], first, res);
	}
	printf("re-fault: %d processes touch one shared FCM's %lu resident pages "
	       "(stock: a tmpfs file): ns per fault\n", ncpus, pages);
	for (int i = 0; i < nv; i++) {
		double one = refault(variants[i], 1), all = refault(variants[i], ncpus);

		if (variants[i] < 0)
			printf("  stock    1 process %6.0f   %d processes %6.0f\n", one, ncpus, all);
		else
			printf("  %#04lx   1 process %6.0f   %d processes %6.0f\n", variants[i], one,
			       ncpus, all);
		if (js)
			fprintf(js, "    { \"variants\": \"%ld\", \"refault_ns_1proc\": %.1f, "
				"\"refault_ns_nproc\": %.1f },\n", variants[i], one, all);
	}
	printf("attach + detach of %d pages (stock: mmap + munmap), %d rounds: us per pair\n",
	       AD_PAGES, AD_ROUNDS);
	for (int i = 0; i < nv; i++) {
		double a0 = attach_detach(variants[i], 0), a1 = attach_detach(variants[i], 1),
		       an = attach_detach(variants[i], ncpus);

		if (variants[i] < 0)
			printf("  stock    untouched %7.1f  one CPU %7.1f  all CPUs %7.1f\n", a0, a1, an);
		else
			printf("  %#04lx   untouched %7.1f  one CPU %7.1f  all CPUs %7.1f\n",
			       variants[i], a0, a1, an);
		if (js)
			fprintf(js, "    { \"variants\": \"%ld\", \"attach_detach_us_untouched\": %.1f, "
				"\"attach_detach_us_one_cpu\": %.1f, \"attach_detach_us_all_cpus\": %.1f },\n",
				variants[i], a0, a1, an);
	}
	if (js) {
		fprintf(js, "    { \"end\": true }\n  ]\n}\n");
		fclose(js);
	}
	munmap(win, win_len);
	close(fd);
	return 0;
}
