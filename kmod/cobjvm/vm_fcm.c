// SPDX-License-Identifier: GPL-2.0
/*
 * The FCM (K42 §4): a mapping's resident pages by page index, in three
 * variants:
 *  - lock: one table behind one lock, for lookups and inserts alike;
 *  - hash: a master table (its own lock, taken on a miss) behind per-CPU
 *    tables (reps, COBJ_PER_CPU) that each CPU reads and fills without a
 *    shared lock: re-faults of resident pages stay on the faulting CPU;
 *  - part: the table partitioned by (index >> PART_SHIFT) % parts, each
 *    partition with its own lock on its own cache line.
 * Pages enter an FCM once and leave only when it is destroyed (last
 * reference: every region using it detached, and its PTEs zapped), so the
 * per-CPU tables never hold a stale page and need no invalidation.
 * find-or-allocate allocates outside the locks and inserts with a
 * compare-exchange; the loser of a race gives its page back.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <crypto/algapi.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "../common/token.h"
#include "vm.h"

#define PART_SHIFT	4	/* 16 consecutive pages per partition stripe */

struct fcm_part {
	struct xarray pages;
} ____cacheline_aligned_in_smp;

struct fcm_cache {
	struct xarray pages;
} ____cacheline_aligned_in_smp;

struct vm_fcm {
	coid_t id;
	unsigned int variant, pm;
	unsigned long npages;
	struct kref ref;
	unsigned int nparts;
	struct fcm_part *parts;		/* lock and hash: parts[0] is the (master) table */
	struct vmobj_stat st;
	u64 key;			/* set while published, under shared_lock */
	struct vm_user *user;		/* charged for it */
	struct rcu_head rcu;
};

/*
 * Published FCMs by id. An id is small and reused, so it only names the
 * FCM; the random key given out with it is the capability (the way
 * mkchan's mailbox tokens work).
 */
static DEFINE_IDR(shared_fcms);
static DEFINE_MUTEX(shared_lock);

static void *fcm_create_rep(struct cobj_root *root, unsigned int cpu)
{
	struct vm_fcm *fcm = root->priv;
	struct fcm_cache *c;

	if (fcm->variant != VM_FCM_HASH)
		return fcm;
	c = kmalloc_node(sizeof(*c), GFP_NOWAIT, cpu_to_node(cpu));
	if (c)
		xa_init(&c->pages);
	return c;
}

static void fcm_free_rep(struct cobj_root *root, void *rep)
{
	struct fcm_cache *c = rep;

	if (rep == root->priv)
		return;
	xa_destroy(&c->pages);
	kfree(c);
}

static void fcm_free_root(struct cobj_root *root)
{
	struct vm_fcm *fcm = root->priv;

	kfree(fcm->parts);
	kfree(fcm);
}

static const struct cobj_ops fcm_ops = {
	.create_rep	= fcm_create_rep,
	.free_rep	= fcm_free_rep,
	.free_root	= fcm_free_root,
};

struct vm_fcm *vm_fcm_create(unsigned int variant, unsigned int pm, unsigned long npages,
			     struct vm_user *user)
{
	struct vm_fcm *fcm;
	unsigned int i;
	int id;

	id = vm_user_charge_more(user);
	if (id)
		return ERR_PTR(id);
	fcm = kzalloc(sizeof(*fcm), GFP_KERNEL);
	if (!fcm) {
		vm_user_uncharge(user);
		return ERR_PTR(-ENOMEM);
	}
	fcm->user = user;
	fcm->variant = variant;
	fcm->pm = pm;
	fcm->npages = npages;
	kref_init(&fcm->ref);
	fcm->nparts = variant == VM_FCM_PART ? num_possible_cpus() * 2 : 1;
	fcm->parts = kcalloc(fcm->nparts, sizeof(*fcm->parts), GFP_KERNEL);
	if (!fcm->parts)
		goto free;
	for (i = 0; i < fcm->nparts; i++)
		xa_init(&fcm->parts[i].pages);
	id = cobj_create(variant == VM_FCM_HASH ? COBJ_PER_CPU : COBJ_SHARED, &fcm_ops, fcm);
	if (id < 0)
		goto free_parts;
	fcm->id = id;
	if (vmobj_stat_init(&fcm->st, VMOBJ_FCM, variant << 4 | pm, id)) {
		cobj_destroy(id);	/* frees fcm and parts after a grace period */
		vm_user_uncharge(user);
		return ERR_PTR(-ENOMEM);
	}
	atomic_long_inc(&vm_live_fcms);
	return fcm;
free_parts:
	kfree(fcm->parts);
	kfree(fcm);
	vm_user_uncharge(user);
	return ERR_PTR(id);
free:
	kfree(fcm);
	vm_user_uncharge(user);
	return ERR_PTR(-ENOMEM);
}

void vm_fcm_get(struct vm_fcm *fcm)
{
	kref_get(&fcm->ref);
}

unsigned long vm_fcm_pages(const struct vm_fcm *fcm)
{
	return fcm->npages;
}

/* Nothing maps the pages any more: they go back to the page manager. */
static void fcm_release(struct kref *ref)
{
	struct vm_fcm *fcm = container_of(ref, struct vm_fcm, ref);
	unsigned long index, n = 0;
	struct page *page;
	unsigned int i;

	for (i = 0; i < fcm->nparts; i++) {
		xa_for_each(&fcm->parts[i].pages, index, page) {
			vm_pm_free(fcm->pm, page);
			n++;
		}
		xa_destroy(&fcm->parts[i].pages);
	}
	vm_count(fcm_out, n);
	vmobj_stat_fini(&fcm->st);
	atomic_long_dec(&vm_live_fcms);
	vm_user_uncharge(fcm->user);
	cobj_destroy(fcm->id);	/* reps (per-CPU tables) and fcm go after a grace period */
}

void vm_fcm_put(struct vm_fcm *fcm)
{
	kref_put(&fcm->ref, fcm_release);
}

static struct xarray *table_of(struct vm_fcm *fcm, unsigned long index)
{
	if (fcm->variant == VM_FCM_PART)
		return &fcm->parts[(index >> PART_SHIFT) % fcm->nparts].pages;
	return &fcm->parts[0].pages;
}

/* Find or allocate in one locked table. */
static struct page *table_page(struct vm_fcm *fcm, struct xarray *xa, unsigned long index,
			       int *err)
{
	struct page *page, *old;

	xa_lock(xa);
	page = xa_load(xa, index);
	xa_unlock(xa);
	if (page)
		return page;
	page = vm_pm_alloc(fcm->pm);
	if (!page) {
		*err = -ENOMEM;
		return NULL;
	}
	xa_lock(xa);
	old = __xa_cmpxchg(xa, index, NULL, page, GFP_KERNEL);
	xa_unlock(xa);
	if (old) {
		vm_pm_free(fcm->pm, page);
		if (xa_is_err(old)) {
			*err = xa_err(old);
			return NULL;
		}
		return old;
	}
	vm_count(fcm_in, 1);
	return page;
}

struct page *vm_fcm_page(struct vm_fcm *fcm, unsigned long index, int *err)
{
	struct fcm_cache *c;
	struct page *page;

	if (index >= fcm->npages) {
		*err = -ENXIO;
		return NULL;
	}
	cobj_enter();
	c = cobj_deref(fcm->id);
	vmobj_hit(&fcm->st);
	if (fcm->variant != VM_FCM_HASH || IS_ERR(c)) {
		cobj_exit();
		return table_page(fcm, table_of(fcm, index), index, err);
	}
	/* hash: only this CPU writes its table; readers of others are RCU-safe */
	page = xa_load(&c->pages, index);
	cobj_exit();
	if (page)
		return page;
	page = table_page(fcm, &fcm->parts[0].pages, index, err);
	if (!page)
		return NULL;
	cobj_enter();
	c = cobj_deref(fcm->id);
	if (!IS_ERR(c))
		xa_store(&c->pages, index, page, GFP_NOWAIT | __GFP_NOWARN);	/* a cache: may fail */
	cobj_exit();
	return page;
}

int vm_fcm_publish(struct vm_fcm *fcm, u64 *key)
{
	int id;

	/* 0 is "anonymous" in struct cobjvm_attach: never a key */
	*key = mk_token_new();
	mutex_lock(&shared_lock);
	id = idr_alloc(&shared_fcms, fcm, 1, INT_MAX, GFP_KERNEL);
	if (id > 0) {
		fcm->key = *key;
		vm_fcm_get(fcm);
	}
	mutex_unlock(&shared_lock);
	return id;
}

struct vm_fcm *vm_fcm_lookup(u32 id, u64 key)
{
	struct vm_fcm *fcm;

	mutex_lock(&shared_lock);
	fcm = id <= INT_MAX ? idr_find(&shared_fcms, id) : NULL;
	/*
	 * A wrong key looks like a missing id (the caller says ENOENT to
	 * both), and the compare takes the same time wherever they differ.
	 */
	if (fcm && crypto_memneq(&fcm->key, &key, sizeof(key)))
		fcm = NULL;
	if (fcm)
		vm_fcm_get(fcm);
	mutex_unlock(&shared_lock);
	return fcm;
}

int vm_fcm_unpublish(u32 id)
{
	struct vm_fcm *fcm;

	mutex_lock(&shared_lock);
	fcm = id <= INT_MAX ? idr_remove(&shared_fcms, id) : NULL;
	if (fcm)
		fcm->key = 0;	/* a region may keep it: the key dies now */
	mutex_unlock(&shared_lock);
	if (!fcm)
		return -ENOENT;
	vm_fcm_put(fcm);
	return 0;
}

void vm_fcm_exit(void)
{
	WARN_ON(!idr_is_empty(&shared_fcms));
	idr_destroy(&shared_fcms);
}
