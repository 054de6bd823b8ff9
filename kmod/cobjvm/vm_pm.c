// SPDX-License-Identifier: GPL-2.0
/*
 * The page managers (K42 §4): where FCMs get zeroed pages and return them.
 *
 * Two module-wide clustered objects, one per variant:
 *  - locked: one rep (COBJ_SHARED), one spinlocked free list;
 *  - per-CPU: a rep per CPU holding a bounded free list touched only by its
 *    CPU with preemption off (no lock), over a spinlocked overflow list at
 *    the root that takes what a full CPU list cannot and feeds empty ones.
 * Both lists are bounded; beyond, pages go back to the kernel. Pages are
 * zeroed when handed out. A page comes back to a list only if ours is its
 * last reference (a GUP pin may outlive the mapping); otherwise our
 * reference is dropped and the kernel frees it later.
 *
 * Pages are charged to a memory cgroup as kernel memory (__GFP_ACCOUNT):
 * the one __GFP_ACCOUNT charges in this task's context, which is the
 * faulting mm's (the fault handler sets it for a remote fault), so
 * memory.max and the memcg OOM killer bound what a process can pin
 * through /dev/cobjvm. The charge stays with the page while it waits in a
 * free list; a page charged to another cgroup than the one asking is given
 * back to the kernel (uncharged) and a fresh one taken, so every page in
 * an FCM is charged to the cgroup that faulted it in.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/cpu.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "vm.h"

/*
 * The lists' bounds. Read-only once loaded: a list is never trimmed, so a
 * bound lowered at run time would leave lists above it, and the guest
 * tests read these back to know what to expect. The upper limits only
 * catch a typo that would let idle free lists hold most of memory; 0 is
 * allowed (no list: every page goes back to the kernel).
 */
#define PM_PCPU_MAX_LIMIT	65536	/* 256 MiB of 4 KiB pages per CPU */
#define PM_ROOT_MAX_LIMIT	1048576	/* 4 GiB */

static unsigned int pm_pcpu_max = 256;
module_param(pm_pcpu_max, uint, 0444);
MODULE_PARM_DESC(pm_pcpu_max, "pages a CPU's free list keeps (per-CPU page manager; 0-65536)");

static unsigned int pm_root_max = 16384;
module_param(pm_root_max, uint, 0444);
MODULE_PARM_DESC(pm_root_max, "pages the locked free list or the per-CPU overflow keeps (0-1048576)");

struct pm_list {
	spinlock_t lock;		/* not used by per-CPU reps */
	struct list_head pages;
	unsigned long n;
} ____cacheline_aligned_in_smp;

struct vm_pm {
	coid_t id;
	unsigned int variant;
	struct pm_list root;		/* locked: the list; per-CPU: the overflow */
	struct vmobj_stat st;
};

static struct vm_pm *pms[VM_PM_VARIANTS];

static void list_init(struct pm_list *l)
{
	spin_lock_init(&l->lock);
	INIT_LIST_HEAD(&l->pages);
	l->n = 0;
}

static void free_to_kernel(struct list_head *pages)
{
	struct page *page, *tmp;
	long n = 0;

	list_for_each_entry_safe(page, tmp, pages, lru) {
		list_del(&page->lru);
		__free_page(page);
		n++;
	}
	vm_count(freed, n);
	vm_count(list_out, n);
}

static struct page *list_pop(struct pm_list *l)
{
	struct page *page;

	if (!l->n)
		return NULL;
	page = list_first_entry(&l->pages, struct page, lru);
	list_del(&page->lru);
	l->n--;
	return page;
}

static bool list_push(struct pm_list *l, struct page *page, unsigned long max)
{
	if (l->n >= max)
		return false;
	list_add(&page->lru, &l->pages);
	l->n++;
	return true;
}

static void *pm_create_rep(struct cobj_root *root, unsigned int cpu)
{
	struct vm_pm *pm = root->priv;
	struct pm_list *l;

	if (pm->variant == VM_PM_LOCKED)
		return &pm->root;
	l = kmalloc_node(sizeof(*l), GFP_NOWAIT, cpu_to_node(cpu));
	if (l)
		list_init(l);
	return l;
}

static void pm_free_rep(struct cobj_root *root, void *rep)
{
	struct vm_pm *pm = root->priv;
	struct pm_list *l = rep;
	LIST_HEAD(pages);

	if (l == &pm->root)
		return;
	list_splice_init(&l->pages, &pages);
	free_to_kernel(&pages);
	kfree(l);
}

/*
 * A CPU went away: its pages go to the overflow as far as its bound allows;
 * the rest go back to the kernel when the runtime frees the rep
 * (pm_free_rep), so offlining CPUs never grows the overflow past pm_root_max.
 */
static void pm_cpu_dead(struct cobj_root *root, void *rep, unsigned int cpu)
{
	struct vm_pm *pm = root->priv;
	struct pm_list *l = rep;
	struct page *page;

	spin_lock(&pm->root.lock);
	while ((page = list_pop(l))) {
		if (!list_push(&pm->root, page, pm_root_max)) {
			list_push(l, page, pm_pcpu_max);	/* back where it was */
			break;
		}
	}
	spin_unlock(&pm->root.lock);
}

static const struct cobj_ops pm_ops = {
	.create_rep	= pm_create_rep,
	.free_rep	= pm_free_rep,
	.cpu_dead	= pm_cpu_dead,
};

#ifdef CONFIG_MEMCG_KMEM
/*
 * Whether @page is charged where a __GFP_ACCOUNT allocation made now would
 * be (no charge: the root), found the way the kernel's
 * get_obj_cgroup_from_current() finds it. The obj_cgroups are only
 * compared, so no reference is taken.
 */
static bool charged_here(struct page *page)
{
	unsigned long data = READ_ONCE(page->memcg_data);
	struct obj_cgroup *objcg = NULL;
	struct mem_cgroup *memcg;

	if (!memcg_kmem_enabled())
		return true;
	rcu_read_lock();
	memcg = current->active_memcg;
	/* as memcg_kmem_bypass(): a kernel thread charges nobody itself */
	if (!memcg && current->mm && !(current->flags & PF_KTHREAD))
		memcg = mem_cgroup_from_task(current);
	for (; memcg; memcg = parent_mem_cgroup(memcg)) {
		objcg = rcu_dereference(memcg->objcg);
		if (objcg)
			break;
	}
	rcu_read_unlock();
	if (!(data & MEMCG_DATA_KMEM))
		return !objcg;
	return (struct obj_cgroup *)(data & ~MEMCG_DATA_FLAGS_MASK) == objcg;
}
#else
static bool charged_here(struct page *page)
{
	return true;
}
#endif

struct page *vm_pm_alloc(unsigned int variant)
{
	struct vm_pm *pm = pms[variant];
	struct page *page = NULL;
	struct pm_list *l;

	cobj_enter();
	l = cobj_deref(pm->id);
	vmobj_hit(&pm->st);
	if (!IS_ERR(l)) {
		if (variant == VM_PM_LOCKED) {
			spin_lock(&l->lock);
			page = list_pop(l);
			spin_unlock(&l->lock);
		} else {
			page = list_pop(l);
		}
	}
	cobj_exit();
	if (!page && variant == VM_PM_PERCPU && READ_ONCE(pm->root.n)) {
		spin_lock(&pm->root.lock);
		page = list_pop(&pm->root);
		spin_unlock(&pm->root.lock);
	}
	if (page) {
		vm_count(list_out, 1);
		if (charged_here(page)) {
			clear_highpage(page);
			return page;
		}
		__free_page(page);	/* another cgroup's charge goes with it */
		vm_count(freed, 1);
	}
	page = alloc_page(GFP_HIGHUSER | __GFP_ZERO | __GFP_NOWARN | __GFP_ACCOUNT);
	if (page)
		vm_count(allocated, 1);
	return page;
}

void vm_pm_free(unsigned int variant, struct page *page)
{
	struct vm_pm *pm = pms[variant];
	struct pm_list *l;
	bool kept = false;

	if (page_ref_count(page) != 1 || page_mapped(page)) {
		put_page(page);		/* someone else holds it: theirs to free */
		vm_count(freed, 1);
		return;
	}
	cobj_enter();
	l = cobj_deref(pm->id);
	vmobj_hit(&pm->st);
	if (!IS_ERR(l)) {
		if (variant == VM_PM_LOCKED) {
			spin_lock(&l->lock);
			kept = list_push(l, page, pm_root_max);
			spin_unlock(&l->lock);
		} else {
			kept = list_push(l, page, pm_pcpu_max);
		}
	}
	cobj_exit();
	if (!kept && variant == VM_PM_PERCPU) {
		spin_lock(&pm->root.lock);
		kept = list_push(&pm->root, page, pm_root_max);
		spin_unlock(&pm->root.lock);
	}
	if (kept) {
		vm_count(list_in, 1);
	} else {
		__free_page(page);
		vm_count(freed, 1);
	}
}

/* Runs on each CPU in turn: that CPU's list is its own to empty. */
static long drain_cpu(void *unused)
{
	struct vm_pm *pm = pms[VM_PM_PERCPU];
	struct pm_list *l;
	LIST_HEAD(pages);

	cobj_enter();
	l = cobj_deref(pm->id);
	if (!IS_ERR(l)) {
		list_splice_init(&l->pages, &pages);
		l->n = 0;
	}
	cobj_exit();
	free_to_kernel(&pages);
	return 0;
}

static void drain_root(struct vm_pm *pm)
{
	LIST_HEAD(pages);

	spin_lock(&pm->root.lock);
	list_splice_init(&pm->root.pages, &pages);
	pm->root.n = 0;
	spin_unlock(&pm->root.lock);
	free_to_kernel(&pages);
}

void vm_pm_drain(void)
{
	unsigned int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu)
		work_on_cpu(cpu, drain_cpu, NULL);
	cpus_read_unlock();
	drain_root(pms[VM_PM_PERCPU]);
	drain_root(pms[VM_PM_LOCKED]);
}

int vm_pm_init(void)
{
	unsigned int v;
	int ret, id;

	if (pm_pcpu_max > PM_PCPU_MAX_LIMIT || pm_root_max > PM_ROOT_MAX_LIMIT) {
		pr_err("pm_pcpu_max=%u (at most %u) or pm_root_max=%u (at most %u) out of range\n",
		       pm_pcpu_max, PM_PCPU_MAX_LIMIT, pm_root_max, PM_ROOT_MAX_LIMIT);
		return -EINVAL;
	}
	for (v = 0; v < VM_PM_VARIANTS; v++) {
		struct vm_pm *pm = kzalloc(sizeof(*pm), GFP_KERNEL);

		ret = -ENOMEM;
		if (!pm)
			goto fail;
		pm->variant = v;
		list_init(&pm->root);
		id = cobj_create(v == VM_PM_LOCKED ? COBJ_SHARED : COBJ_PER_CPU, &pm_ops, pm);
		if (id < 0) {
			ret = id;
			kfree(pm);
			goto fail;
		}
		pm->id = id;
		ret = vmobj_stat_init(&pm->st, VMOBJ_PM, v, id);
		if (ret) {
			cobj_destroy(id);
			rcu_barrier();
			kfree(pm);
			goto fail;
		}
		pms[v] = pm;
	}
	return 0;
fail:
	vm_pm_exit();
	return ret;
}

void vm_pm_exit(void)
{
	unsigned int v;

	for (v = 0; v < VM_PM_VARIANTS; v++) {
		struct vm_pm *pm = pms[v];

		if (!pm)
			continue;
		vmobj_stat_fini(&pm->st);
		cobj_destroy(pm->id);
		rcu_barrier();	/* the reps' pages are freed by then */
		drain_root(pm);
		kfree(pm);
		pms[v] = NULL;
	}
}
