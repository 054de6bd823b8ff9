/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cobjvm: K42 clustered objects and distributed VM objects (/dev/cobjvm).
 *
 * The one definition of the ABI shared by kmod/cobjvm and libmk.
 *
 * open() makes a Process object. mmap(MAP_SHARED, offset 0) of the device
 * sets the Process's window (its size is fixed by the first mmap; later
 * mmaps of the same fd must fit inside it). Regions are attached at
 * page-aligned offsets inside the window; a fault at a window offset runs
 * Process -> Region -> FCM -> page manager and maps the FCM's page. A
 * fault outside every region gets SIGBUS.
 *
 * Every struct has explicit padding; reserved fields must be zero
 * (EINVAL otherwise). A command with a different struct size is ENOTTY.
 */
#ifndef _UAPI_MK_COBJVM_H
#define _UAPI_MK_COBJVM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define COBJVM_DEVICE		"/dev/cobjvm"
#define COBJVM_ABI_VERSION	3

#define COBJVM_WINDOW_MAX	(1ULL << 32)	/* bytes a window may span */
#define COBJVM_REGIONS_MAX	64		/* regions per Process */
#define COBJVM_FAULT_MAX	(1U << 20)	/* pages per COBJVM_IOC_FAULT */

/*
 * The variant set of a region (COBJVM_IOC_ATTACH) or a shared FCM
 * (COBJVM_IOC_FCM_CREATE, FCM and page-manager bits only). Zero is the
 * all-shared set.
 */
#define COBJVM_V_PROC_PERCPU	(1U << 0)	/* Process: per-CPU region caches, else one locked list */
#define COBJVM_V_REGION_PERCPU	(1U << 1)	/* Region: per-CPU proxy counters, else one shared counter */
#define COBJVM_V_FCM_SHIFT	2
#define COBJVM_V_FCM_MASK	(3U << COBJVM_V_FCM_SHIFT)
#define COBJVM_V_FCM_LOCK	(0U << COBJVM_V_FCM_SHIFT)	/* FCM: one lock */
#define COBJVM_V_FCM_HASH	(1U << COBJVM_V_FCM_SHIFT)	/* FCM: master + per-CPU tables */
#define COBJVM_V_FCM_PART	(2U << COBJVM_V_FCM_SHIFT)	/* FCM: (index >> 4) % parts */
#define COBJVM_V_PM_PERCPU	(1U << 4)	/* page manager: per-CPU lists + root overflow, else one list */
#define COBJVM_V_ALL		0x1fU

struct cobjvm_info {
	__u32 abi_version;	/* COBJVM_ABI_VERSION of the module */
	__u32 nr_cpu_ids;	/* CPU ids the module can address */
	__u32 online_cpus;	/* CPUs online when asked */
	__u32 reserved;		/* must be zero */
};

/*
 * Attach [offset, offset + length) of the window. Backing: anonymous
 * zero-fill (fcm_id 0, fcm_key 0, fcm_pgoff 0), or the shared FCM fcm_id
 * from page fcm_pgoff on (the FCM's variant applies; the FCM/PM bits of
 * variants must then be zero). fcm_key must be the key COBJVM_IOC_FCM_CREATE
 * gave with the id: a wrong key is ENOENT, as for an id that does not exist.
 * The Process bit must match the other attached regions'.
 */
struct cobjvm_attach {
	__u64 offset;		/* page-aligned, inside the window */
	__u64 length;		/* page-aligned, > 0 */
	__u64 fcm_pgoff;	/* first FCM page of the region */
	__u32 variants;		/* COBJVM_V_* */
	__u32 fcm_id;		/* 0: anonymous */
	__u64 fcm_key;		/* the shared FCM's key; 0 when anonymous */
	__u64 reserved;		/* must be zero */
};

/* Detach the region that starts at offset: PTEs go, then the pages. */
struct cobjvm_detach {
	__u64 offset;
	__u64 reserved;		/* must be zero */
};

/*
 * Create a shared FCM of @pages pages. The id and the key together are a
 * capability: a process that is handed both (say, over a socket or a
 * mkchan channel) can attach the FCM; the id alone, being small and
 * reused, is not enough. The key is random, never 0, and dies with the FCM.
 */
struct cobjvm_fcm {
	__u64 pages;		/* its size, 1 .. COBJVM_WINDOW_MAX / page size */
	__u32 variants;		/* COBJVM_V_FCM_* | COBJVM_V_PM_PERCPU */
	__u32 id;		/* out: the FCM's id; must be zero */
	__u64 key;		/* out: the FCM's key; must be zero */
	__u64 reserved;		/* must be zero */
};

/* Drop this Process's handle on a shared FCM it created. */
struct cobjvm_fcm_release {
	__u32 id;
	__u32 reserved;		/* must be zero */
};

/*
 * Run the fault path (Process -> Region -> FCM -> page manager) for npages
 * pages from offset without installing PTEs: the objects' own cost.
 */
struct cobjvm_fault {
	__u64 offset;		/* page-aligned window offset */
	__u32 npages;		/* 1 .. COBJVM_FAULT_MAX, all inside regions */
	__u32 flags;		/* must be zero */
	__u64 ns;		/* out: time spent in the loop */
	__u64 reserved;		/* must be zero */
};

/*
 * Module-wide page counters and objects. Pages balance: allocated - freed
 * = in_fcms + in_free_lists (+ pages on their way between the two).
 */
struct cobjvm_stats {
	__u64 pages_allocated;	/* taken from the kernel */
	__u64 pages_freed;	/* given back to the kernel */
	__u64 pages_in_fcms;
	__u64 pages_in_free_lists;
	__u64 faults;		/* through the fault handler */
	__u64 path_faults;	/* through COBJVM_IOC_FAULT */
	__u64 processes;	/* live */
	__u64 regions;		/* live */
	__u64 fcms;		/* live */
	__u64 reserved[7];
};

#define COBJVM_IOC_MAGIC	0xe8
#define COBJVM_IOC_INFO		_IOR(COBJVM_IOC_MAGIC, 0x00, struct cobjvm_info)
#define COBJVM_IOC_ATTACH	_IOW(COBJVM_IOC_MAGIC, 0x01, struct cobjvm_attach)
#define COBJVM_IOC_DETACH	_IOW(COBJVM_IOC_MAGIC, 0x02, struct cobjvm_detach)
#define COBJVM_IOC_FCM_CREATE	_IOWR(COBJVM_IOC_MAGIC, 0x03, struct cobjvm_fcm)
#define COBJVM_IOC_FCM_RELEASE	_IOW(COBJVM_IOC_MAGIC, 0x04, struct cobjvm_fcm_release)
#define COBJVM_IOC_FAULT	_IOWR(COBJVM_IOC_MAGIC, 0x05, struct cobjvm_fault)
#define COBJVM_IOC_STATS	_IOR(COBJVM_IOC_MAGIC, 0x06, struct cobjvm_stats)
/* Give the free lists' pages back to the kernel (so the counters settle). */
#define COBJVM_IOC_DRAIN	_IO(COBJVM_IOC_MAGIC, 0x07)

#endif /* _UAPI_MK_COBJVM_H */
