/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the guest's /dev/cobjvm test programs share: TAP results, the
 * ioctls as calls that return 0 or -errno, the page counters, a window,
 * writing a sysfs or cgroup file.
 */
#ifndef MK_TESTS_COBJVM_TEST_H
#define MK_TESTS_COBJVM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mk/cobjvm.h>

#define PG		4096UL
#define WINDOW		(64UL << 20)

static int n, failed;

static void result(bool pass, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool pass, const char *fmt, ...)
{
	va_list ap;

	n++;
	if (!pass)
		failed++;
	printf("%sok %d - ", pass ? "" : "not ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static bool fails(int fd, unsigned long cmd, void *arg, int err)
{
	errno = 0;
	return ioctl(fd, cmd, arg) == -1 && errno == err;
}

static int attach_key(int fd, uint64_t off, uint64_t len, uint32_t v, uint32_t fcm, uint64_t key,
		      uint64_t pgoff)
{
	struct cobjvm_attach a = { .offset = off, .length = len, .variants = v,
				   .fcm_id = fcm, .fcm_key = key, .fcm_pgoff = pgoff };

	return ioctl(fd, COBJVM_IOC_ATTACH, &a) ? -errno : 0;
}

static int attach(int fd, uint64_t off, uint64_t len, uint32_t v, uint32_t fcm, uint64_t pgoff)
{
	return attach_key(fd, off, len, v, fcm, 0, pgoff);
}

static int detach(int fd, uint64_t off)
{
	struct cobjvm_detach d = { .offset = off };

	return ioctl(fd, COBJVM_IOC_DETACH, &d) ? -errno : 0;
}

static struct cobjvm_stats stats(int fd)
{
	struct cobjvm_stats s = { 0 };

	if (ioctl(fd, COBJVM_IOC_STATS, &s))
		s.pages_allocated = ~0ULL;
	return s;
}

/* Nothing in FCMs or free lists, everything given back, no object left. */
static bool balanced(int fd, uint64_t processes)
{
	struct cobjvm_stats s;

	if (ioctl(fd, COBJVM_IOC_DRAIN))
		return false;
	s = stats(fd);
	printf("# pages allocated %llu freed %llu in_fcms %llu in_free_lists %llu; "
	       "processes %llu regions %llu fcms %llu; faults %llu path_faults %llu\n",
	       (unsigned long long)s.pages_allocated, (unsigned long long)s.pages_freed,
	       (unsigned long long)s.pages_in_fcms, (unsigned long long)s.pages_in_free_lists,
	       (unsigned long long)s.processes, (unsigned long long)s.regions,
	       (unsigned long long)s.fcms, (unsigned long long)s.faults,
	       (unsigned long long)s.path_faults);
	return s.pages_allocated == s.pages_freed && !s.pages_in_fcms && !s.pages_in_free_lists &&
	       s.processes == processes && !s.regions && !s.fcms;
}

static char *window(int fd)
{
	char *w = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return w == MAP_FAILED ? NULL : w;
}

/* Writes @text to @path (sysfs, cgroupfs, /dev/kmsg): all of it or false. */
static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t len = (ssize_t)strlen(text);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, len) == len;
	close(fd);
	return ok;
}

#endif /* MK_TESTS_COBJVM_TEST_H */
