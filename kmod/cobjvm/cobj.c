// SPDX-License-Identifier: GPL-2.0
/*
 * The clustered-object runtime (cobj.h): translation tables, miss
 * handling, per-CPU id allocation, RCU-deferred destruction, hotplug.
 *
 * Ids are partitioned by CPU: CPU c hands out ids [c * per_cpu, (c + 1) *
 * per_cpu) from its own free list, so allocation takes only a lock of that
 * CPU's (contended only by frees coming back from other CPUs); a CPU whose
 * share is used up takes from another's, so id / per_cpu names the share
 * an id returns to, not always the CPU that made the object.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include "cobj.h"

void *__percpu *cobj_local_table;
EXPORT_SYMBOL_GPL(cobj_local_table);

static struct cobj_root __rcu *cobj_global_table[COBJ_MAX_IDS];
static unsigned int cobj_ids_per_cpu;
static atomic_long_t cobj_live = ATOMIC_LONG_INIT(0);
static atomic_long_t cobj_pending_free = ATOMIC_LONG_INIT(0);	/* ids waiting on RCU */
static enum cpuhp_state cobj_hp_state;

/* Locality (K42 §2.2): objects made, used and destroyed on one CPU. */
atomic_long_t cobj_destroyed = ATOMIC_LONG_INIT(0);
atomic_long_t cobj_destroyed_local = ATOMIC_LONG_INIT(0);

struct cobj_freelist {
	spinlock_t lock;
	unsigned int n;
	coid_t *ids;
};
static DEFINE_PER_CPU(struct cobj_freelist, cobj_free);

unsigned int cobj_id_cpu(coid_t id)
{
	return id / cobj_ids_per_cpu;
}
EXPORT_SYMBOL_GPL(cobj_id_cpu);

long cobj_live_objects(void)
{
	return atomic_long_read(&cobj_live);
}

static int id_take(unsigned int cpu)
{
	struct cobj_freelist *fl = per_cpu_ptr(&cobj_free, cpu);
	unsigned long flags;
	int id = -ENOSPC;

	spin_lock_irqsave(&fl->lock, flags);
	if (fl->n)
		id = fl->ids[--fl->n];
	spin_unlock_irqrestore(&fl->lock, flags);
	return id;
}

/*
 * This CPU's share first; when it is used up, another CPU's, so one CPU
 * can make more than COBJ_MAX_IDS / nr_cpu_ids objects (with many
 * possible CPUs a share is small). cobj_id_cpu() then names the share,
 * not the creator: root->create_cpu keeps that.
 */
static int id_get(void)
{
	unsigned int here = get_cpu(), cpu;
	int id = id_take(here);

	for_each_possible_cpu(cpu) {
		if (id >= 0)
			break;
		if (cpu != here)
			id = id_take(cpu);
	}
	put_cpu();
	return id;
}

static void id_put(coid_t id)
{
	struct cobj_freelist *fl = per_cpu_ptr(&cobj_free, cobj_id_cpu(id));
	unsigned long flags;

	spin_lock_irqsave(&fl->lock, flags);
	fl->ids[fl->n++] = id;
	spin_unlock_irqrestore(&fl->lock, flags);
}

/* Which rep a CPU gets, by policy: the CPU the rep is filed under. */
static unsigned int rep_key(const struct cobj_root *root, unsigned int cpu)
{
	switch (root->policy) {
	case COBJ_SHARED:
		return 0;
	case COBJ_PER_CLUSTER:
		return cpumask_first(topology_core_cpumask(cpu));
	default:
		return cpu;
	}
}

/*
 * The slow path of cobj_deref(), preemption disabled: validate the id, get
 * this CPU's rep from the root (making it if the policy says so) and
 * install it in this CPU's table.
 */
void *cobj_miss(coid_t id)
{
	unsigned int cpu = smp_processor_id(), key;
	struct cobj_root *root;
	unsigned long flags;
	void *rep;

	root = rcu_dereference_sched(cobj_global_table[id]);
	if (!root)
		return ERR_PTR(-ENOENT);
	/* Irq-safe: a deref may miss from any context. */
	spin_lock_irqsave(&root->lock, flags);
	if (root->dead) {
		rep = ERR_PTR(-ENOENT);
		goto out;
	}
	key = rep_key(root, cpu);
	rep = root->reps[key];
	if (!rep) {
		rep = root->ops->create_rep(root, key);
		if (!rep) {
			rep = ERR_PTR(-ENOMEM);
			goto out;
		}
		WRITE_ONCE(root->reps[key], rep);
	}
	this_cpu_write(cobj_local_table[id], rep);
	cpumask_set_cpu(cpu, root->rep_cpus);
out:
	spin_unlock_irqrestore(&root->lock, flags);
	return rep;
}
EXPORT_SYMBOL_GPL(cobj_miss);

/* The miss of a per-CPU-memory rep (cobj.h): its caller is preemptible. */
void __percpu *cobj_miss_percpu(coid_t id)
{
	void *rep;

	preempt_disable();
	rep = cobj_miss(id);
	preempt_enable();
	return (void __percpu __force *)rep;
}
EXPORT_SYMBOL_GPL(cobj_miss_percpu);

static void root_free(struct cobj_root *root)
{
	free_percpu(root->calls);
	free_cpumask_var(root->rep_cpus);
	kfree(root->reps);
	kfree(root);
}

int cobj_create(enum cobj_policy policy, const struct cobj_ops *ops, void *priv)
{
	struct cobj_root *root;
	int id;

	if (policy > COBJ_PER_CLUSTER || !ops || !ops->create_rep || !ops->free_rep)
		return -EINVAL;
	root = kzalloc(sizeof(*root), GFP_KERNEL);
	if (!root)
		return -ENOMEM;
	root->reps = kcalloc(nr_cpu_ids, sizeof(*root->reps), GFP_KERNEL);
	root->calls = alloc_percpu(unsigned long);
	if (!root->reps || !root->calls || !zalloc_cpumask_var(&root->rep_cpus, GFP_KERNEL)) {
		root_free(root);
		return -ENOMEM;
	}
	id = id_get();
	if (id < 0 && atomic_long_read(&cobj_pending_free)) {
		/* Destroyed ids come back after a grace period: wait for them. */
		rcu_barrier();
		id = id_get();
	}
	if (id < 0) {
		root_free(root);
		return id;
	}
	spin_lock_init(&root->lock);
	root->id = id;
	root->policy = policy;
	root->ops = ops;
	root->priv = priv;
	root->alloc_cpu = cobj_id_cpu(id);
	root->create_cpu = raw_smp_processor_id();
	atomic_long_inc(&cobj_live);
	rcu_assign_pointer(cobj_global_table[id], root);
	return id;
}
EXPORT_SYMBOL_GPL(cobj_create);

static void cobj_free_rcu(struct rcu_head *head)
{
	struct cobj_root *root = container_of(head, struct cobj_root, rcu);
	coid_t id = root->id;
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		if (root->reps[cpu])
			root->ops->free_rep(root, root->reps[cpu]);
	if (root->ops->free_root)
		root->ops->free_root(root);
	root_free(root);
	atomic_long_dec(&cobj_live);
	id_put(id);	/* only now: no stale table entry can name it */
	atomic_long_dec(&cobj_pending_free);
}

int cobj_destroy(coid_t id)
{
	struct cobj_root *root;
	unsigned int cpu, here;
	bool local, was_dead = true;

	if (id >= COBJ_MAX_IDS)
		return -EINVAL;
	rcu_read_lock();
	root = rcu_dereference(cobj_global_table[id]);
	if (root) {
		spin_lock_irq(&root->lock);
		was_dead = root->dead;
		root->dead = true;	/* no miss installs a rep after this */
		spin_unlock_irq(&root->lock);
	}
	rcu_read_unlock();
	if (was_dead)
		return -ENOENT;	/* never made, or another destroy won */

	RCU_INIT_POINTER(cobj_global_table[id], NULL);
	for_each_cpu(cpu, root->rep_cpus)
		WRITE_ONCE(per_cpu_ptr(cobj_local_table, cpu)[id], NULL);
	here = raw_smp_processor_id();
	root->destroy_cpu = here;
	local = root->create_cpu == here &&
		cpumask_subset(root->rep_cpus, cpumask_of(here));
	atomic_long_inc(&cobj_destroyed);
	if (local)
		atomic_long_inc(&cobj_destroyed_local);
	atomic_long_inc(&cobj_pending_free);
	call_rcu(&root->rcu, cobj_free_rcu);
	return 0;
}
EXPORT_SYMBOL_GPL(cobj_destroy);

struct cobj_root *cobj_root_of(coid_t id)
{
	return id < COBJ_MAX_IDS ? rcu_dereference(cobj_global_table[id]) : NULL;
}
EXPORT_SYMBOL_GPL(cobj_root_of);

int cobj_visit_reps(coid_t id, cobj_rep_fn_t fn, void *arg)
{
	struct cobj_root *root;
	unsigned int cpu;
	void *rep;

	if (id >= COBJ_MAX_IDS)
		return -EINVAL;
	rcu_read_lock();
	root = rcu_dereference(cobj_global_table[id]);
	if (!root) {
		rcu_read_unlock();
		return -ENOENT;
	}
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		rep = READ_ONCE(root->reps[cpu]);
		if (rep)
			fn(rep, arg);
	}
	rcu_read_unlock();
	return 0;
}
EXPORT_SYMBOL_GPL(cobj_visit_reps);

/*
 * A CPU is gone: its table entries go, and the reps that were its own
 * (COBJ_PER_CPU) are folded into their objects and freed, so a CPU that
 * comes back starts with misses. Runs on a surviving CPU, may sleep.
 */
static int cobj_cpu_dead(unsigned int cpu)
{
	struct cobj_root *root;
	void **dead_reps;
	struct cobj_root **dead_roots;
	unsigned int id, n = 0;

	dead_reps = kcalloc(COBJ_MAX_IDS, sizeof(*dead_reps), GFP_KERNEL);
	dead_roots = kcalloc(COBJ_MAX_IDS, sizeof(*dead_roots), GFP_KERNEL);
	if (!dead_reps || !dead_roots) {
		/* Keep the reps: stale but valid, freed with their objects. */
		kfree(dead_reps);
		kfree(dead_roots);
		return 0;
	}
	for (id = 0; id < COBJ_MAX_IDS; id++) {
		rcu_read_lock();
		root = rcu_dereference(cobj_global_table[id]);
		if (root) {
			spin_lock_irq(&root->lock);
			if (!root->dead) {
				WRITE_ONCE(per_cpu_ptr(cobj_local_table, cpu)[id], NULL);
				cpumask_clear_cpu(cpu, root->rep_cpus);
				if (root->policy == COBJ_PER_CPU && root->reps[cpu]) {
					dead_reps[n] = root->reps[cpu];
					dead_roots[n++] = root;
					WRITE_ONCE(root->reps[cpu], NULL);
					if (root->ops->cpu_dead)
						root->ops->cpu_dead(root, dead_reps[n - 1], cpu);
				}
			}
			spin_unlock_irq(&root->lock);
		}
		rcu_read_unlock();
	}
	/* Gatherers may still be reading a rep we took out. */
	synchronize_rcu();
	while (n--)
		dead_roots[n]->ops->free_rep(dead_roots[n], dead_reps[n]);
	kfree(dead_reps);
	kfree(dead_roots);
	return 0;
}

int cobj_runtime_init(void)
{
	unsigned int cpu, i, first;
	int ret;

	cobj_ids_per_cpu = max_t(unsigned int, 1, COBJ_MAX_IDS / nr_cpu_ids);
	cobj_local_table = __alloc_percpu(COBJ_MAX_IDS * sizeof(void *), sizeof(void *));
	if (!cobj_local_table)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct cobj_freelist *fl = per_cpu_ptr(&cobj_free, cpu);

		spin_lock_init(&fl->lock);
		first = cpu * cobj_ids_per_cpu;
		if (first >= COBJ_MAX_IDS)
			continue;
		fl->ids = kcalloc(cobj_ids_per_cpu, sizeof(*fl->ids), GFP_KERNEL);
		if (!fl->ids) {
			ret = -ENOMEM;
			goto fail;
		}
		/* Handed out lowest first. */
		for (i = 0; i < cobj_ids_per_cpu; i++)
			fl->ids[fl->n++] = first + cobj_ids_per_cpu - 1 - i;
	}
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "cobjvm/cobj:dead",
					NULL, cobj_cpu_dead);
	if (ret < 0)
		goto fail;
	cobj_hp_state = ret;
	return 0;
fail:
	for_each_possible_cpu(cpu)
		kfree(per_cpu_ptr(&cobj_free, cpu)->ids);
	free_percpu(cobj_local_table);
	return ret;
}

void cobj_runtime_exit(void)
{
	unsigned int cpu;

	cpuhp_remove_state_nocalls(cobj_hp_state);
	rcu_barrier();	/* every deferred destruction has run */
	rcu_barrier_tasks();	/* and the per-CPU-memory reps those queued */
	WARN_ON(atomic_long_read(&cobj_live));
	for_each_possible_cpu(cpu)
		kfree(per_cpu_ptr(&cobj_free, cpu)->ids);
	free_percpu(cobj_local_table);
}
