/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mkchan: per-core message channels (/dev/mkchan).
 *
 * The one definition of the ABI shared by kmod/mkchan and libmk. Bump
 * MKCHAN_ABI_VERSION on any incompatible change; user space refuses a
 * module whose major ABI differs from the one it was built against.
 */
#ifndef _UAPI_MK_MKCHAN_H
#define _UAPI_MK_MKCHAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MKCHAN_DEVICE		"/dev/mkchan"
#define MKCHAN_ABI_VERSION	1

/* What the module reports about itself: MKCHAN_IOC_INFO fills it in. */
struct mkchan_info {
	__u32 abi_version;	/* MKCHAN_ABI_VERSION of the module */
	__u32 nr_cpu_ids;	/* CPU ids the module can address */
	__u32 online_cpus;	/* CPUs online when asked */
	__u32 reserved;		/* must be zero */
};

#define MKCHAN_IOC_MAGIC	0xe7
#define MKCHAN_IOC_INFO		_IOR(MKCHAN_IOC_MAGIC, 0x00, struct mkchan_info)

#endif /* _UAPI_MK_MKCHAN_H */
