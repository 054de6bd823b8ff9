// SPDX-License-Identifier: GPL-2.0
/* The clustered counter (cobj_counter.h). */
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "cobj_counter.h"

struct counter_root {
	long __percpu *v;	/* the reps: every CPU's table entry is this */
	struct rcu_head rcu;
};

/*
 * Every CPU gets the same per-CPU pointer; this_cpu_add through it picks
 * the CPU's own long. The area lives as long as the counter, so a CPU
 * that goes offline keeps its count there (nothing to fold) and finds it
 * again when it comes back.
 */
static void *counter_create_rep(struct cobj_root *root, unsigned int cpu)
{
	return (void __force *)((struct counter_root *)root->priv)->v;
}

static void counter_free_rep(struct cobj_root *root, void *rep)
{
	/* a copy of the pointer: the area goes with the root */
}

static void counter_free_tasks(struct rcu_head *head)
{
	struct counter_root *c = container_of(head, struct counter_root, rcu);

	free_percpu(c->v);
	kfree(c);
}

/*
 * After the runtime's grace period no CPU can find the counter, but an
 * adder preempted between its table load and its add may still hold the
 * area: only an RCU-Tasks grace period (cobj.h) waits for it.
 */
static void counter_free_root(struct cobj_root *root)
{
	struct counter_root *c = root->priv;

	call_rcu_tasks(&c->rcu, counter_free_tasks);
}

static const struct cobj_ops counter_ops = {
	.create_rep	= counter_create_rep,
	.free_rep	= counter_free_rep,
	.free_root	= counter_free_root,
};

int cobj_counter_create(void)
{
	struct counter_root *c = kzalloc(sizeof(*c), GFP_KERNEL);
	int id;

	if (!c)
		return -ENOMEM;
	c->v = alloc_percpu(long);
	if (!c->v) {
		kfree(c);
		return -ENOMEM;
	}
	id = cobj_create(COBJ_PER_CPU, &counter_ops, c);
	if (id < 0) {
		free_percpu(c->v);
		kfree(c);
	}
	return id;
}
EXPORT_SYMBOL_GPL(cobj_counter_create);

long cobj_counter_read(coid_t id)
{
	struct counter_root *c;
	struct cobj_root *root;
	unsigned int cpu;
	long sum = 0;

	rcu_read_lock();
	root = cobj_root_of(id);
	if (root) {
		c = root->priv;
		/* possible, not online: offline CPUs keep their counts */
		for_each_possible_cpu(cpu)
			sum += READ_ONCE(*per_cpu_ptr(c->v, cpu));
	}
	rcu_read_unlock();
	return sum;
}
EXPORT_SYMBOL_GPL(cobj_counter_read);
