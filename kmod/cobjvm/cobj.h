/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Clustered objects (K42), the in-kernel API of cobjvm (EXPORT_SYMBOL_GPL).
 *
 * A clustered object looks like one object to its callers but is made of a
 * root and representatives (reps): each CPU calls into the rep the root
 * gave that CPU. An object id (coid) indexes a global table of roots and a
 * per-CPU table of reps; the fast path is one per-CPU load. The first call
 * on a CPU misses: the runtime asks the root for that CPU's rep
 * (handle_miss), per the root's policy, and installs it.
 *
 * Migration: a rep pointer is valid, and belongs to the CPU that looked it
 * up, only between cobj_enter() and cobj_exit() (preemption disabled, an
 * RCU read-side section). Destruction waits for every such section to end,
 * so no existence lock is needed. A rep that must be usable from anywhere
 * (say, read by a summing CPU) protects its own fields.
 */
#ifndef COBJ_H
#define COBJ_H

#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>

#define COBJ_MAX_IDS	4096	/* per-CPU rep tables are one percpu chunk */

typedef u32 coid_t;

enum cobj_policy {
	COBJ_SHARED,		/* one rep for every CPU */
	COBJ_PER_CPU,		/* one rep per CPU */
	COBJ_PER_CLUSTER,	/* one rep per package (topology_core_cpumask) */
};

struct cobj_root;

/*
 * What an object supplies. None of these may sleep: the runtime calls each
 * under a spinlock or from an RCU callback. create_rep and cpu_dead run
 * under the root's lock, so they must not deref their own object (a miss
 * would take that lock again).
 */
struct cobj_ops {
	/*
	 * Required. A new rep for @cpu, which is the CPU the rep is filed
	 * under (0 for COBJ_SHARED, the first CPU of the package for
	 * COBJ_PER_CLUSTER), not necessarily the one running. Called from
	 * cobj_miss() on the first deref on a CPU, in whatever context that
	 * deref runs (the lock is irq-safe, so it may be an interrupt's),
	 * with preemption off and the root's spinlock held with irqs off:
	 * allocate with GFP_NOWAIT or GFP_ATOMIC, never sleep. NULL makes
	 * that deref -ENOMEM; the next one on that CPU tries again.
	 */
	void *(*create_rep)(struct cobj_root *root, unsigned int cpu);
	/*
	 * Required. Frees @rep once no CPU can be using it, once for each
	 * CPU slot that holds it (a per-CPU-memory area handed to every CPU
	 * is "freed" once per CPU: see cobj_percpu_entry()). Called with no
	 * lock of the runtime's held, either from the RCU callback of
	 * cobj_destroy() (softirq or an rcuo kthread: no sleeping), for every
	 * rep, before free_root; or, for a COBJ_PER_CPU rep whose CPU went
	 * offline, from the CPU-hotplug teardown on a surviving CPU after
	 * cpu_dead and a synchronize_rcu(), with the hotplug lock held for
	 * writing. It must be fine in both, so it may not sleep.
	 */
	void (*free_rep)(struct cobj_root *root, void *rep);
	/*
	 * Optional. @cpu went offline and @rep was its own (COBJ_PER_CPU
	 * only): fold what it holds into the object. Called from the
	 * CPU-hotplug teardown (CPUHP_BP_PREPARE_DYN) on a surviving CPU,
	 * with the hotplug lock held for writing, inside rcu_read_lock() and
	 * under the root's spinlock with irqs off, so no sleeping; a reader
	 * holding the root's lock (vm_region.c's sum) sees what @rep held
	 * either in @rep or folded, never in both or neither. @rep is
	 * already out of root->reps and of @cpu's table; other CPUs may be
	 * using their own reps meanwhile. Not called for an object being
	 * destroyed. free_rep(@rep) follows after a grace period.
	 */
	void (*cpu_dead)(struct cobj_root *root, void *rep, unsigned int cpu);
	/*
	 * Optional. Frees the root's own state (->priv); the runtime frees
	 * struct cobj_root itself after. Called once, from the RCU callback
	 * of cobj_destroy() after every free_rep, no lock held, no sleeping;
	 * what readers outside RCU may still hold goes to a later grace
	 * period (call_rcu_tasks(), see cobj_percpu_entry()).
	 */
	void (*free_root)(struct cobj_root *root);
};

struct cobj_root {
	coid_t id;
	enum cobj_policy policy;
	const struct cobj_ops *ops;
	void *priv;			/* the object's own */
	spinlock_t lock;		/* misses, destruction; never the fast path */
	bool dead;
	cpumask_var_t rep_cpus;		/* CPUs whose table points at a rep */
	void **reps;			/* by CPU: the rep each CPU got */
	unsigned int alloc_cpu;		/* = cobj_id_cpu(id) */
	struct rcu_head rcu;
	/* per-object statistics: where it was made, used, destroyed */
	unsigned int create_cpu, destroy_cpu;
	unsigned long __percpu *calls;
};

extern void *__percpu *cobj_local_table;

void *cobj_miss(coid_t id);

static inline void cobj_enter(void)
{
	preempt_disable();
}

static inline void cobj_exit(void)
{
	preempt_enable();
}

/*
 * This CPU's rep of @id, or an ERR_PTR for an id that is invalid or
 * destroyed. Between cobj_enter() and cobj_exit() only.
 */
static inline void *cobj_deref(coid_t id)
{
	void *rep;

	if (unlikely(id >= COBJ_MAX_IDS))
		return ERR_PTR(-EINVAL);
	rep = this_cpu_read(cobj_local_table[id]);
	if (unlikely(!rep))
		rep = cobj_miss(id);
	return rep;
}

/*
 * Reps in per-CPU memory. An object whose COBJ_PER_CPU reps are one
 * alloc_percpu() area gives every CPU the same __percpu pointer from
 * create_rep; the tables then hold that pointer, and a this_cpu_*()
 * operation through it lands in the running CPU's rep whichever CPU read
 * the table, so the fast path needs no cobj_enter(): one table load and
 * one per-CPU operation (a single instruction on x86), as cheap as a
 * per-CPU variable. Invalid ids are still -EINVAL, and a CPU with no
 * table entry (first call, destroyed id) still misses into the root. Two
 * rules make that safe:
 *  - the per-CPU op must not care which CPU runs it (this_cpu_add, not a
 *    read-modify-write of a field that needs the same CPU twice);
 *  - a task may be preempted between the table load and the op, outside
 *    any RCU read-side section, so the area is freed only after an
 *    RCU-Tasks grace period (every task has switched voluntarily since):
 *    call_rcu_tasks() from free_root (cobj_runtime_exit waits for those),
 *    never from free_rep, which runs for each CPU's copy of the pointer
 *    and on hotplug.
 * The caller checks the id and loads this CPU's entry itself
 * (cobj_percpu_entry), and on NULL calls cobj_miss_percpu: an ERR_PTR or
 * the area.
 */
static __always_inline void __percpu *cobj_percpu_entry(coid_t id)
{
	return (void __percpu __force *)this_cpu_read(cobj_local_table[id]);
}

void __percpu *cobj_miss_percpu(coid_t id);

/*
 * Makes an object: reserves an id from this CPU's free list (another
 * CPU's when this one's is used up) and installs the root. Returns the id
 * or a negative errno (-ENOSPC when every id is in use, counting those
 * that destroyed objects give back after a grace period: it waits for
 * those). Process context.
 */
int cobj_create(enum cobj_policy policy, const struct cobj_ops *ops, void *priv);

/*
 * Destroys @id: later derefs fail with -ENOENT; reps and root are freed,
 * and the id goes back to its CPU's free list, after every CPU has left
 * the sections that might hold them. Process context.
 */
int cobj_destroy(coid_t id);

/* The CPU that allocated @id (ids are partitioned by CPU). */
unsigned int cobj_id_cpu(coid_t id);

/*
 * Calls @fn on each rep of @id that exists (for gathering, e.g. summing a
 * counter), under RCU. Returns 0 or -ENOENT.
 */
typedef void (*cobj_rep_fn_t)(void *rep, void *arg);
int cobj_visit_reps(coid_t id, cobj_rep_fn_t fn, void *arg);

/* The root of @id, or NULL; under rcu_read_lock(). */
struct cobj_root *cobj_root_of(coid_t id);

int cobj_runtime_init(void);
void cobj_runtime_exit(void);
long cobj_live_objects(void);

#endif /* COBJ_H */
