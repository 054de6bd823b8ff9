/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libmk's private helpers, shared by its files; not installed. */
#ifndef MK_LIBMK_INTERNAL_H
#define MK_LIBMK_INTERNAL_H

#include <stdint.h>
#include <time.h>

/* Not exported from libmk.so. */
#define MK_HIDDEN	__attribute__((visibility("hidden")))

static inline uint64_t mk_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* In spin loops: lets the sibling hyperthread run, saves power. */
static inline void mk_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * Opens one of mk's devices, $MK_DEV_DIR/@name (default /dev/@name),
 * read-write and close-on-exec: the fd, or a negative errno.
 */
MK_HIDDEN int mk_open_dev(const char *name);

#endif /* MK_LIBMK_INTERNAL_H */
