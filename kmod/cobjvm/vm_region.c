// SPDX-License-Identifier: GPL-2.0
/*
 * The Region (K42 §4): a range of the window backed by an FCM, and the
 * request counter that lets detach wait for the faults inside it:
 *  - shared: one atomic counter in the region (COBJ_SHARED rep);
 *  - per-CPU: proxy counters, a rep per CPU counting entries and exits on
 *    that CPU (a fault may leave on another CPU than it entered: only the
 *    sum of entries minus exits over all CPUs means anything). Entering
 *    and leaving touch only this CPU's line.
 * A fault enters (counter up, full barrier, then checks dead); detach sets
 * dead, full barrier, waits for the count to drain, then zaps PTEs and
 * drops the FCM. A CPU that goes offline folds its counts into the region.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/sched.h>
#include <linux/slab.h>

#include "vm.h"

struct region_rep {
	long in, out;
} ____cacheline_aligned_in_smp;

static void *region_create_rep(struct cobj_root *root, unsigned int cpu)
{
	struct cvm_region *r = root->priv;

	if (!r->percpu)
		return r;
	return kzalloc_node(sizeof(struct region_rep), GFP_NOWAIT, cpu_to_node(cpu));
}

static void region_free_rep(struct cobj_root *root, void *rep)
{
	if (rep != root->priv)
		kfree(rep);
}

/* Under the root's lock: the sum stays exact while a CPU's counts move. */
static void region_cpu_dead(struct cobj_root *root, void *rep, unsigned int cpu)
{
	struct cvm_region *r = root->priv;
	struct region_rep *p = rep;

	atomic_long_add(p->in - p->out, &r->inflight);
}

static void region_free_root(struct cobj_root *root)
{
	kfree(root->priv);
}

static const struct cobj_ops region_ops = {
	.create_rep	= region_create_rep,
	.free_rep	= region_free_rep,
	.cpu_dead	= region_cpu_dead,
	.free_root	= region_free_root,
};

struct cvm_region *vm_region_create(bool percpu, unsigned long start, unsigned long end,
				   struct vm_fcm *fcm, unsigned long fcm_pgoff,
				   struct vm_user *user)
{
	struct cvm_region *r;
	int id;

	id = vm_user_charge_more(user);
	if (id)
		return ERR_PTR(id);
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		vm_user_uncharge(user);
		return ERR_PTR(-ENOMEM);
	}
	r->user = user;
	r->percpu = percpu;
	r->start = start;
	r->end = end;
	r->fcm = fcm;
	r->fcm_pgoff = fcm_pgoff;
	init_waitqueue_head(&r->wq);
	id = cobj_create(percpu ? COBJ_PER_CPU : COBJ_SHARED, &region_ops, r);
	if (id < 0) {
		kfree(r);
		vm_user_uncharge(user);
		return ERR_PTR(id);
	}
	r->id = id;
	if (vmobj_stat_init(&r->st, VMOBJ_REGION, percpu, id)) {
		cobj_destroy(id);	/* frees r after a grace period */
		vm_user_uncharge(user);
		return ERR_PTR(-ENOMEM);
	}
	atomic_long_inc(&vm_live_regions);
	return r;
}

/* The count moves on this CPU's rep, or on the region (shared, or no rep). */
static void count(struct cvm_region *r, void *rep, long in, long out)
{
	struct region_rep *p = rep;

	if (IS_ERR(rep) || rep == r) {
		atomic_long_add(in - out, &r->inflight);
	} else {
		WRITE_ONCE(p->in, p->in + in);
		WRITE_ONCE(p->out, p->out + out);
	}
}

/*
 * The check of dead is in the same preemption-off section as the count,
 * so an entry that saw dead is undone on the same rep and a sum never
 * takes an exit without its entry.
 */
bool vm_region_enter(struct cvm_region *r)
{
	bool in = true;
	void *rep;

	cobj_enter();
	rep = cobj_deref(r->id);
	count(r, rep, 1, 0);
	smp_mb();	/* pairs with quiesce: the entry is visible, or we see dead */
	if (unlikely(READ_ONCE(r->dead))) {
		count(r, rep, -1, 0);
		in = false;
	} else {
		/*
		 * Only once in: a dead region (found in a stale per-CPU cache)
		 * may have freed its statistics already; r itself is RCU's.
		 */
		vmobj_hit(&r->st);
	}
	cobj_exit();
	return in;
}

/*
 * The wake-up is inside the section: once our exit is counted, detach may
 * finish and destroy r, which is freed only after a grace period.
 */
void vm_region_exit(struct cvm_region *r)
{
	cobj_enter();
	count(r, cobj_deref(r->id), 0, 1);
	smp_mb();	/* the exit is visible before we look at dead */
	if (unlikely(READ_ONCE(r->dead)))
		wake_up(&r->wq);
	cobj_exit();
}

static long inflight(struct cvm_region *r)
{
	struct cobj_root *root;
	long sum = 0;
	unsigned int cpu;

	if (!r->percpu)
		return atomic_long_read(&r->inflight);
	rcu_read_lock();
	root = cobj_root_of(r->id);
	if (root) {
		spin_lock_irq(&root->lock);
		for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
			struct region_rep *p = root->reps[cpu];

			if (p)
				sum += READ_ONCE(p->in) - READ_ONCE(p->out);
		}
		sum += atomic_long_read(&r->inflight);
		spin_unlock_irq(&root->lock);
	}
	rcu_read_unlock();
	return sum;
}

/*
 * No grace period is needed: an entry writes its count, then (full
 * barrier) reads dead; we wrote dead (under the list lock), then (full
 * barrier) read the counts. Each entry either sees dead and undoes itself
 * on the same rep, or its count is visible to us; a rep made after we read
 * the reps was made under the root's lock after we took it, so its CPU
 * sees dead. Exits are counted after their entries, so the sum never
 * falls below the faults still inside.
 */
void vm_region_quiesce(struct cvm_region *r)
{
	WARN_ON(!r->dead);
	smp_mb();	/* pairs with vm_region_enter */
	while (!wait_event_timeout(r->wq, inflight(r) == 0, HZ / 10))
		;
}

void vm_region_destroy(struct cvm_region *r)
{
	vm_fcm_put(r->fcm);
	vmobj_stat_fini(&r->st);
	atomic_long_dec(&vm_live_regions);
	vm_user_uncharge(r->user);
	cobj_destroy(r->id);	/* r is freed after a grace period */
}
