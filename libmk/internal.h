/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libmk's private helpers, shared by its files; not installed. */
#ifndef MK_LIBMK_INTERNAL_H
#define MK_LIBMK_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include <mk/libmk.h>

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
 * The one answer to "is this module loaded, and does it speak the ABI
 * libmk was built with?" (mk_module_info() and the channel transport both
 * ask it). Opens its device, $MK_DEV_DIR/<name> (default /dev/<name>),
 * read-write and close-on-exec, and asks it for its info (into *@info
 * unless NULL). Returns the open fd, or a negative errno: -ENOENT when the
 * module is not loaded, -ENOTTY when the device is not mk's, -EPROTO when
 * the module speaks another ABI, -EINVAL for an unknown module, others
 * from open() (-EACCES, ...).
 */
MK_HIDDEN int module_probe(enum mk_module module, struct mk_module_info *info);

#endif /* MK_LIBMK_INTERNAL_H */
