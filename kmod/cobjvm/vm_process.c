// SPDX-License-Identifier: GPL-2.0
/*
 * The Process (K42 §4) behind each open /dev/cobjvm: its window, its
 * regions, and the fault handler of the window's mappings.
 *
 * Region list variants: one spinlocked master list searched on every
 * fault, or the master list behind per-CPU caches (reps, COBJ_PER_CPU) of
 * the regions a CPU faulted in, searched without a lock. Attach and detach
 * bump a generation; a cache that sees a newer one empties itself (K42's
 * purge, without IPIs). A region found in a stale cache is safe to look
 * at: regions are freed a grace period after detach, and entering a
 * detached one fails.
 *
 * The ioctls that attach, detach and fault are in vm_ioctl.c.
 *
 * Each open file gets an address_space of its own (f_mapping), so detach
 * zaps exactly this Process's mappings of the range, in every mm that
 * maps it (fork children too), with unmap_mapping_range().
 *
 * Why this is safe for:
 *  - fork: the window is VM_SHARED, so the child's copy maps the same file,
 *    hence the same Process and FCM pages; its PTEs live in the same
 *    f_mapping and detach zaps them too.
 *  - exit / munmap of all or part of the window: Linux zaps those PTEs and
 *    drops their page references; the FCM keeps its own reference, so a
 *    later fault (through another mapping of the window) finds the page.
 *  - madvise(MADV_DONTNEED): likewise, the PTEs go, the pages stay in the
 *    FCM until detach, and a re-touch re-faults the same data.
 *  - detach racing faults: a fault holds the region's request counter
 *    until its PTE is in place; detach marks the region dead, waits for
 *    the counter (no grace period: see vm_region_quiesce), and only then
 *    zaps and drops the FCM. A page still
 *    pinned (GUP) after that is freed by its last put_page, not recycled.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <uapi/mk/cobjvm.h>

#include "../common/vma.h"
#include "vm.h"

#define CACHE_SLOTS	4

struct proc_cache {
	unsigned long gen;
	unsigned int next;
	struct cvm_region *slot[CACHE_SLOTS];
} ____cacheline_aligned_in_smp;

static const struct address_space_operations cobjvm_aops = {};

static void *proc_create_rep(struct cobj_root *root, unsigned int cpu)
{
	return kzalloc_node(sizeof(struct proc_cache), GFP_NOWAIT, cpu_to_node(cpu));
}

static void proc_free_rep(struct cobj_root *root, void *rep)
{
	kfree(rep);
}

static void proc_free_root(struct cobj_root *root)
{
	kfree(root->priv);
}

static const struct cobj_ops proc_ops = {
	.create_rep	= proc_create_rep,
	.free_rep	= proc_free_rep,
	.free_root	= proc_free_root,
};

static struct cvm_region *list_find(struct vm_process *p, unsigned long off)
{
	struct cvm_region *r;

	list_for_each_entry(r, &p->regions, node)
		if (off >= r->start && off < r->end)
			return r;
	return NULL;
}

/* The region holding @off, entered (vm_region_exit when done), or NULL. */
static struct cvm_region *region_enter(struct vm_process *p, unsigned long off)
{
	struct cvm_region *r = NULL;
	struct proc_cache *c;
	unsigned long gen;
	unsigned int i;

	cobj_enter();
	c = cobj_deref(p->id);
	vmobj_hit(&p->st);
	if (p->percpu && !IS_ERR(c)) {
		gen = READ_ONCE(p->gen);
		smp_rmb();	/* a region in a cache of this generation was not detached before it */
		if (c->gen != gen) {
			memset(c->slot, 0, sizeof(c->slot));
			c->gen = gen;
		}
		for (i = 0; i < CACHE_SLOTS; i++) {
			r = c->slot[i];
			if (r && off >= r->start && off < r->end)
				goto found;
		}
		spin_lock(&p->list_lock);
		r = list_find(p, off);
		spin_unlock(&p->list_lock);
		if (r) {
			c->slot[c->next++ % CACHE_SLOTS] = r;
			goto found;
		}
	} else {
		spin_lock(&p->list_lock);
		r = list_find(p, off);
		if (r && !vm_region_enter(r))
			r = NULL;
		spin_unlock(&p->list_lock);
	}
	cobj_exit();
	return r;
found:
	if (!vm_region_enter(r))
		r = NULL;
	cobj_exit();
	return r;
}

/* The object path of a fault: the page at @off with the region entered. */
struct page *vm_process_path(struct vm_process *p, unsigned long off, struct cvm_region **rp,
			     int *err)
{
	struct cvm_region *r;
	struct page *page;

	r = region_enter(p, off);
	if (!r) {
		*err = -ENXIO;
		return NULL;
	}
	page = vm_fcm_page(r->fcm, r->fcm_pgoff + ((off - r->start) >> PAGE_SHIFT), err);
	if (!page) {
		vm_region_exit(r);
		return NULL;
	}
	*rp = r;
	return page;
}

/*
 * A remote fault (ptrace, /proc/PID/mem) charges a new page to the mm's
 * cgroup, as stock faults do, not to the task that reached in. So does a
 * kernel thread working in the mm (kthread_use_mm: vhost, USB gadget AIO):
 * its own __GFP_ACCOUNT allocations are charged to nobody.
 */
static struct page *fault_path(struct vm_process *p, struct vm_fault *vmf,
			       struct cvm_region **rp, int *err)
{
	struct mem_cgroup *memcg, *old;
	struct page *page;

	if (likely(vmf->vma->vm_mm == current->mm && !(current->flags & PF_KTHREAD)))
		return vm_process_path(p, vmf->pgoff << PAGE_SHIFT, rp, err);
	memcg = get_mem_cgroup_from_mm(vmf->vma->vm_mm);
	old = set_active_memcg(memcg);
	page = vm_process_path(p, vmf->pgoff << PAGE_SHIFT, rp, err);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	return page;
}

static vm_fault_t cobjvm_fault(struct vm_fault *vmf)
{
	struct vm_process *p = vmf->vma->vm_file->private_data;
	struct cvm_region *r;
	struct page *page;
	int err, ret;

	vm_count(faults, 1);
	page = fault_path(p, vmf, &r, &err);
	if (!page)
		return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	/* The PTE goes in while the region is entered: detach cannot miss it. */
	ret = vm_insert_page(vmf->vma, vmf->address, page);
	vm_region_exit(r);
	if (ret && ret != -EBUSY)	/* EBUSY: a racing fault mapped it */
		return ret == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct cobjvm_vm_ops = {
	.fault = cobjvm_fault,
};

int vm_process_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vm_process *p = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	unsigned long end;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;		/* a private copy of FCM pages is not offered */
	if (check_add_overflow(vma->vm_pgoff << PAGE_SHIFT, len, &end) ||
	    (vma->vm_pgoff << PAGE_SHIFT) >> PAGE_SHIFT != vma->vm_pgoff)
		return -EINVAL;
	/* The first mmap (offset 0) sets the window; later ones fit inside. */
	if (!READ_ONCE(p->window)) {
		if (vma->vm_pgoff || len > COBJVM_WINDOW_MAX)
			return -EINVAL;
		cmpxchg(&p->window, 0, len);
	}
	if (end > READ_ONCE(p->window))
		return -EINVAL;
	/* MIXEDMAP: vm_insert_page from the fault handler, under the mmap read lock */
	mk_vm_flags_mod(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTDUMP, 0);
	vma->vm_ops = &cobjvm_vm_ops;
	return 0;
}

int vm_process_open(struct inode *inode, struct file *file)
{
	struct vm_process *p;
	int id, ret;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->user = vm_user_charge();
	if (IS_ERR(p->user)) {
		ret = PTR_ERR(p->user);
		kfree(p);
		return ret;
	}
	address_space_init_once(&p->mapping);
	p->mapping.host = inode;
	p->mapping.a_ops = &cobjvm_aops;
	mutex_init(&p->lock);
	spin_lock_init(&p->list_lock);
	INIT_LIST_HEAD(&p->regions);
	INIT_LIST_HEAD(&p->handles);
	id = cobj_create(COBJ_PER_CPU, &proc_ops, p);
	if (id < 0) {
		vm_user_uncharge(p->user);
		kfree(p);
		return id;
	}
	p->id = id;
	ret = vmobj_stat_init(&p->st, VMOBJ_PROCESS, 0, id);
	if (ret) {
		vm_user_uncharge(p->user);
		cobj_destroy(id);	/* frees p after a grace period */
		return ret;
	}
	atomic_long_inc(&vm_live_processes);
	file->private_data = p;
	/* before mmap_region() counts writable mappings on it */
	file->f_mapping = &p->mapping;
	return 0;
}

/* Under p->list_lock: no new fault gets in, and no lookup finds it. */
static void unlink(struct vm_process *p, struct cvm_region *r)
{
	WRITE_ONCE(r->dead, true);
	list_del(&r->node);
	smp_wmb();	/* pairs with region_enter's smp_rmb */
	WRITE_ONCE(p->gen, p->gen + 1);
	p->nregions--;
}

/* Unlinked: waits out its faults, zaps its PTEs, drops its pages. */
static void finish(struct vm_process *p, struct cvm_region *r)
{
	vm_region_quiesce(r);
	unmap_mapping_range(&p->mapping, r->start, r->end - r->start, 1);
	vm_region_destroy(r);
}

/* Under p->lock. */
void vm_process_detach(struct vm_process *p, struct cvm_region *r)
{
	spin_lock(&p->list_lock);
	unlink(p, r);
	spin_unlock(&p->list_lock);
	finish(p, r);
}

int vm_process_release(struct inode *inode, struct file *file)
{
	struct vm_process *p = file->private_data;
	struct vm_shared_handle *h, *tmp;
	struct cvm_region *r, *rtmp;
	LIST_HEAD(gone);

	/* The last reference: no mapping, no fault, no ioctl is left. */
	mutex_lock(&p->lock);
	spin_lock(&p->list_lock);
	list_for_each_entry_safe(r, rtmp, &p->regions, node) {
		unlink(p, r);
		list_add_tail(&r->node, &gone);
	}
	spin_unlock(&p->list_lock);
	list_for_each_entry_safe(r, rtmp, &gone, node)
		finish(p, r);
	list_for_each_entry_safe(h, tmp, &p->handles, node) {
		vm_fcm_unpublish(h->id);
		kfree(h);
	}
	mutex_unlock(&p->lock);
	vmobj_stat_fini(&p->st);
	atomic_long_dec(&vm_live_processes);
	vm_user_uncharge(p->user);
	cobj_destroy(p->id);	/* p goes after a grace period */
	return 0;
}
