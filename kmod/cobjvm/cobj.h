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

struct cobj_ops {
	/* a new rep for @cpu (the first CPU of its cluster, per policy) */
	void *(*create_rep)(struct cobj_root *root, unsigned int cpu);
	/* frees @rep once no CPU can be using it */
	void (*free_rep)(struct cobj_root *root, void *rep);
	/*
	 * optional: @cpu went away and @rep was its own (COBJ_PER_CPU); fold
	 * what it holds into the object. @rep is freed after.
	 */
	void (*cpu_dead)(struct cobj_root *root, void *rep, unsigned int cpu);
	/* frees the root's own state (the runtime frees struct cobj_root) */
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
