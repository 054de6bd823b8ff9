// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctls of /dev/cobjvm (include/uapi/mk/cobjvm.h): attach and detach
 * regions of a Process's window, create and release shared FCMs (an id
 * and a random key: the capability to attach), run the fault path without
 * a PTE, the page counters, drain the free lists. Every argument is
 * checked here; the objects behind them are in vm_process.c and below.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/mk/cobjvm.h>

#include "vm.h"

static const unsigned int fcm_variant[4] = { VM_FCM_LOCK, VM_FCM_HASH, VM_FCM_PART, ~0U };

static int do_attach(struct vm_process *p, const struct cobjvm_attach *a)
{
	unsigned long end, pages;
	unsigned int fv = fcm_variant[(a->variants & COBJVM_V_FCM_MASK) >> COBJVM_V_FCM_SHIFT];
	bool percpu = a->variants & COBJVM_V_PROC_PERCPU;
	struct cvm_region *r;
	struct vm_fcm *fcm;
	int ret;

	if ((a->variants & ~COBJVM_V_ALL) || fv == ~0U || a->reserved)
		return -EINVAL;
	if (!a->length || !PAGE_ALIGNED(a->offset) || !PAGE_ALIGNED(a->length) ||
	    check_add_overflow(a->offset, a->length, &end))
		return -EINVAL;
	pages = a->length >> PAGE_SHIFT;
	mutex_lock(&p->lock);
	ret = -ENXIO;
	if (!p->window)
		goto out;	/* no window to attach in yet */
	ret = -EINVAL;
	if (end > p->window)
		goto out;
	ret = -EEXIST;
	list_for_each_entry(r, &p->regions, node)
		if (a->offset < r->end && r->start < end)
			goto out;
	ret = -ENOSPC;
	if (p->nregions >= COBJVM_REGIONS_MAX)
		goto out;
	ret = -EBUSY;	/* the region list's variant is the Process's */
	if (p->nregions && percpu != p->percpu)
		goto out;
	if (a->fcm_id) {
		ret = -EINVAL;
		if (a->variants & (COBJVM_V_FCM_MASK | COBJVM_V_PM_PERCPU))
			goto out;
		ret = -ENOENT;
		fcm = vm_fcm_lookup(a->fcm_id, a->fcm_key);
		if (!fcm)
			goto out;
		ret = -EINVAL;
		if (a->fcm_pgoff > vm_fcm_pages(fcm) || pages > vm_fcm_pages(fcm) - a->fcm_pgoff) {
			vm_fcm_put(fcm);
			goto out;
		}
	} else {
		ret = -EINVAL;
		if (a->fcm_pgoff || a->fcm_key)
			goto out;
		fcm = vm_fcm_create(fv, !!(a->variants & COBJVM_V_PM_PERCPU), pages, p->user);
		ret = PTR_ERR(fcm);
		if (IS_ERR(fcm))
			goto out;
	}
	r = vm_region_create(a->variants & COBJVM_V_REGION_PERCPU, a->offset, end, fcm,
			     a->fcm_pgoff, p->user);
	if (IS_ERR(r)) {
		vm_fcm_put(fcm);
		ret = PTR_ERR(r);
		goto out;
	}
	spin_lock(&p->list_lock);
	p->percpu = percpu;
	list_add_tail(&r->node, &p->regions);
	WRITE_ONCE(p->gen, p->gen + 1);
	spin_unlock(&p->list_lock);
	p->nregions++;
	ret = 0;
out:
	mutex_unlock(&p->lock);
	return ret;
}

static int do_detach(struct vm_process *p, const struct cobjvm_detach *d)
{
	struct cvm_region *r;
	int ret = -ENOENT;

	if (d->reserved)
		return -EINVAL;
	mutex_lock(&p->lock);
	list_for_each_entry(r, &p->regions, node) {
		if (r->start == d->offset) {
			vm_process_detach(p, r);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&p->lock);
	return ret;
}

static int do_fcm_create(struct vm_process *p, struct cobjvm_fcm *f)
{
	struct vm_shared_handle *h;
	struct vm_fcm *fcm;
	int id;

	if ((f->variants & ~(COBJVM_V_FCM_MASK | COBJVM_V_PM_PERCPU)) ||
	    fcm_variant[(f->variants & COBJVM_V_FCM_MASK) >> COBJVM_V_FCM_SHIFT] == ~0U ||
	    f->reserved || f->id || f->key)
		return -EINVAL;
	if (!f->pages || f->pages > COBJVM_WINDOW_MAX >> PAGE_SHIFT)
		return -EINVAL;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	fcm = vm_fcm_create(fcm_variant[(f->variants & COBJVM_V_FCM_MASK) >> COBJVM_V_FCM_SHIFT],
			    !!(f->variants & COBJVM_V_PM_PERCPU), f->pages, p->user);
	if (IS_ERR(fcm)) {
		kfree(h);
		return PTR_ERR(fcm);
	}
	id = vm_fcm_publish(fcm, &f->key);
	vm_fcm_put(fcm);	/* the published reference keeps it */
	if (id < 0) {
		kfree(h);
		return id;
	}
	h->id = id;
	f->id = id;
	mutex_lock(&p->lock);
	list_add(&h->node, &p->handles);
	mutex_unlock(&p->lock);
	return 0;
}

static int do_fcm_release(struct vm_process *p, const struct cobjvm_fcm_release *f)
{
	struct vm_shared_handle *h;
	int ret = -ENOENT;

	if (f->reserved)
		return -EINVAL;
	mutex_lock(&p->lock);
	list_for_each_entry(h, &p->handles, node) {
		if (h->id == f->id) {
			list_del(&h->node);
			ret = vm_fcm_unpublish(h->id);
			kfree(h);
			break;
		}
	}
	mutex_unlock(&p->lock);
	return ret;
}

static int do_fault(struct vm_process *p, struct cobjvm_fault *f)
{
	struct cvm_region *r;
	u64 t0 = ktime_get_ns();
	struct page *page;
	unsigned int i;
	int err = 0;

	if (f->flags || f->reserved || f->ns || !f->npages || f->npages > COBJVM_FAULT_MAX ||
	    !PAGE_ALIGNED(f->offset))
		return -EINVAL;
	for (i = 0; i < f->npages; i++) {
		page = vm_process_path(p, f->offset + ((unsigned long)i << PAGE_SHIFT), &r, &err);
		if (!page)
			return err;
		vm_region_exit(r);
		vm_count(path_faults, 1);
		if (!(i & 255)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	f->ns = ktime_get_ns() - t0;
	return 0;
}

static void stats(struct cobjvm_stats *s)
{
	struct vm_pages v;

	vm_pages_sum(&v);
	s->pages_allocated = v.allocated;
	s->pages_freed = v.freed;
	s->pages_in_fcms = v.fcm_in - v.fcm_out;
	s->pages_in_free_lists = v.list_in - v.list_out;
	s->faults = v.faults;
	s->path_faults = v.path_faults;
	s->processes = atomic_long_read(&vm_live_processes);
	s->regions = atomic_long_read(&vm_live_regions);
	s->fcms = atomic_long_read(&vm_live_fcms);
}

long vm_process_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vm_process *p = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct cobjvm_attach attach;
		struct cobjvm_detach detach;
		struct cobjvm_fcm fcm;
		struct cobjvm_fcm_release release;
		struct cobjvm_fault fault;
		struct cobjvm_stats stats;
	} u;
	int ret;

	switch (cmd) {
	case COBJVM_IOC_ATTACH:
	case COBJVM_IOC_DETACH:
	case COBJVM_IOC_FCM_CREATE:
	case COBJVM_IOC_FCM_RELEASE:
	case COBJVM_IOC_FAULT:
		if (copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
			return -EFAULT;
		break;
	}
	switch (cmd) {
	case COBJVM_IOC_ATTACH:
		return do_attach(p, &u.attach);
	case COBJVM_IOC_DETACH:
		return do_detach(p, &u.detach);
	case COBJVM_IOC_FCM_CREATE:
		ret = do_fcm_create(p, &u.fcm);
		if (ret)
			return ret;
		if (copy_to_user(uarg, &u.fcm, sizeof(u.fcm))) {
			struct cobjvm_fcm_release rel = { .id = u.fcm.id };

			do_fcm_release(p, &rel);	/* nobody learnt its id */
			return -EFAULT;
		}
		return 0;
	case COBJVM_IOC_FCM_RELEASE:
		return do_fcm_release(p, &u.release);
	case COBJVM_IOC_FAULT:
		ret = do_fault(p, &u.fault);
		if (ret)
			return ret;
		return copy_to_user(uarg, &u.fault, sizeof(u.fault)) ? -EFAULT : 0;
	case COBJVM_IOC_STATS:
		memset(&u.stats, 0, sizeof(u.stats));
		stats(&u.stats);
		return copy_to_user(uarg, &u.stats, sizeof(u.stats)) ? -EFAULT : 0;
	case COBJVM_IOC_DRAIN:
		vm_pm_drain();
		return 0;
	default:
		return -ENOTTY;
	}
}
