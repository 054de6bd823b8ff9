/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cobjvm's VM objects (K42 §3-4): Process, Region, FCM, page manager, each
 * a clustered object (cobj.h) in a shared and a distributed variant.
 *
 * A fault at a window offset: the Process finds the Region (its locked
 * list, or this CPU's cache of it) and enters it (the Region's request
 * counter, shared or per-CPU proxies); the Region gives the FCM and the
 * page index; the FCM finds or allocates the page (one lock, a master
 * table behind per-CPU tables, or a partitioned table) from its page
 * manager (one locked list, or bounded per-CPU lists over a root overflow).
 */
#ifndef COBJVM_VM_H
#define COBJVM_VM_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "cobj.h"

/* --- per-object statistics (vm_stat.c) --- */

enum vmobj_type { VMOBJ_PROCESS, VMOBJ_REGION, VMOBJ_FCM, VMOBJ_PM, VMOBJ_TYPES };

struct vmobj_stat {
	enum vmobj_type type;
	unsigned int variant;
	coid_t id;
	unsigned int create_cpu, destroy_cpu;
	unsigned long __percpu *acc;	/* accesses on each CPU */
	struct list_head node;		/* the live list */
};

int vmobj_stat_init(struct vmobj_stat *st, enum vmobj_type type, unsigned int variant, coid_t id);
void vmobj_stat_fini(struct vmobj_stat *st);

/* preemption disabled (inside cobj_enter) or not: either is fine */
static inline void vmobj_hit(struct vmobj_stat *st)
{
	this_cpu_inc(*st->acc);
}

/* Module-wide page counters: per CPU, summed when read. */
struct vm_pages {
	long allocated, freed;		/* from / to the kernel */
	long fcm_in, fcm_out;		/* into / out of FCMs */
	long list_in, list_out;		/* into / out of free lists */
	long faults, path_faults;
};
DECLARE_PER_CPU(struct vm_pages, vm_pages);
#define vm_count(field, n)	this_cpu_add(vm_pages.field, (n))
void vm_pages_sum(struct vm_pages *sum);

extern atomic_long_t vm_live_processes, vm_live_regions, vm_live_fcms;

int vm_stat_debugfs_init(struct dentry *dir);
void vm_stat_exit(void);

/* --- per-user object quota (vm_quota.c) --- */

struct vm_user;

/* The current euid's entry with one object charged, or -EDQUOT/-ENOMEM. */
struct vm_user *vm_user_charge(void);
/* One more object for a user who holds one already: 0 or -EDQUOT. */
int vm_user_charge_more(struct vm_user *u);
void vm_user_uncharge(struct vm_user *u);
void vm_quota_exit(void);

/* --- page manager (vm_pm.c) --- */

enum { VM_PM_LOCKED, VM_PM_PERCPU, VM_PM_VARIANTS };

int vm_pm_init(void);
void vm_pm_exit(void);
/* A zeroed page with one reference, or NULL. May sleep. */
struct page *vm_pm_alloc(unsigned int variant);
/* Takes back our reference; recycled only when it is the last one. */
void vm_pm_free(unsigned int variant, struct page *page);
void vm_pm_drain(void);

/* --- FCM (vm_fcm.c) --- */

enum { VM_FCM_LOCK, VM_FCM_HASH, VM_FCM_PART, VM_FCM_VARIANTS };

struct vm_fcm;

/* Charged to @user (one more object) until the last reference goes. */
struct vm_fcm *vm_fcm_create(unsigned int fcm_variant, unsigned int pm_variant,
			     unsigned long pages, struct vm_user *user);
void vm_fcm_get(struct vm_fcm *fcm);
void vm_fcm_put(struct vm_fcm *fcm);
unsigned long vm_fcm_pages(const struct vm_fcm *fcm);
/* The page at @index, found or allocated; no reference taken. May sleep. */
struct page *vm_fcm_page(struct vm_fcm *fcm, unsigned long index, int *err);

/* Shared FCMs by id and key: the pair is the capability to attach. */
int vm_fcm_publish(struct vm_fcm *fcm, u64 *key);	/* id > 0 or -errno; takes a ref */
struct vm_fcm *vm_fcm_lookup(u32 id, u64 key);		/* with a ref, or NULL */
int vm_fcm_unpublish(u32 id);			/* drops the published ref */
void vm_fcm_exit(void);

/* --- Region (vm_region.c) --- */

struct cvm_region {
	coid_t id;
	bool percpu;
	bool dead;			/* no new entries; set under the Process's list lock */
	unsigned long start, end;	/* window offsets, bytes */
	unsigned long fcm_pgoff;
	struct vm_fcm *fcm;
	struct vm_user *user;		/* charged for it */
	struct list_head node;		/* the Process's master list */
	atomic_long_t inflight;		/* shared variant; per-CPU: what dead CPUs folded */
	wait_queue_head_t wq;
	struct vmobj_stat st;
	struct rcu_head rcu;
};

/* Charged to @user (one more object) until destroyed. */
struct cvm_region *vm_region_create(bool percpu, unsigned long start, unsigned long end,
				   struct vm_fcm *fcm, unsigned long fcm_pgoff,
				   struct vm_user *user);
/* Counts a fault in, unless the region is being detached. Preemption off. */
bool vm_region_enter(struct cvm_region *r);
void vm_region_exit(struct cvm_region *r);
/* After dead is set: waits until every fault that got in has left. */
void vm_region_quiesce(struct cvm_region *r);
/* Drops the FCM and frees the region after a grace period. */
void vm_region_destroy(struct cvm_region *r);

/* --- Process (vm_process.c; its ioctls in vm_ioctl.c) --- */

struct vm_shared_handle {
	u32 id;
	struct list_head node;
};

struct vm_process {
	struct address_space mapping;	/* this open file's mappings */
	coid_t id;
	struct vm_user *user;		/* the opener's euid: charged for what it makes */
	bool percpu;			/* region list variant */
	unsigned long window;		/* bytes; 0 until the first mmap */
	struct mutex lock;		/* attach, detach, handles; never on a fault */
	spinlock_t list_lock;		/* the master list */
	struct list_head regions;
	unsigned int nregions;
	unsigned long gen;		/* bumped on attach and detach */
	struct list_head handles;	/* shared FCMs this Process created */
	struct vmobj_stat st;
};

/* The object path of a fault: the page at @off with its region entered. */
struct page *vm_process_path(struct vm_process *p, unsigned long off, struct cvm_region **rp,
			     int *err);
/* Under p->lock: unlinks @r, waits out its faults, zaps, frees. */
void vm_process_detach(struct vm_process *p, struct cvm_region *r);

int vm_process_open(struct inode *inode, struct file *file);
int vm_process_release(struct inode *inode, struct file *file);
int vm_process_mmap(struct file *file, struct vm_area_struct *vma);
long vm_process_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* COBJVM_VM_H */
