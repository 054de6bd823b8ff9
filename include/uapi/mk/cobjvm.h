/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cobjvm: K42 clustered objects and distributed VM objects (/dev/cobjvm).
 *
 * The one definition of the ABI shared by kmod/cobjvm and libmk.
 */
#ifndef _UAPI_MK_COBJVM_H
#define _UAPI_MK_COBJVM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define COBJVM_DEVICE		"/dev/cobjvm"
#define COBJVM_ABI_VERSION	1

struct cobjvm_info {
	__u32 abi_version;	/* COBJVM_ABI_VERSION of the module */
	__u32 nr_cpu_ids;	/* CPU ids the module can address */
	__u32 online_cpus;	/* CPUs online when asked */
	__u32 reserved;		/* must be zero */
};

#define COBJVM_IOC_MAGIC	0xe8
#define COBJVM_IOC_INFO		_IOR(COBJVM_IOC_MAGIC, 0x00, struct cobjvm_info)

#endif /* _UAPI_MK_COBJVM_H */
