// SPDX-License-Identifier: GPL-2.0
/* The clustered counter (cobj_counter.h). */
#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "cobj_counter.h"

struct counter_root {
	atomic_long_t folded;	/* what CPUs that went away had counted */
};

static void *counter_create_rep(struct cobj_root *root, unsigned int cpu)
{
	/* A miss runs with preemption disabled: no sleeping allocation. */
	return kzalloc_node(sizeof(struct cobj_counter_rep), GFP_NOWAIT, cpu_to_node(cpu));
}

static void counter_free_rep(struct cobj_root *root, void *rep)
{
	kfree(rep);
}

static void counter_cpu_dead(struct cobj_root *root, void *rep, unsigned int cpu)
{
	struct counter_root *c = root->priv;

	atomic_long_add(READ_ONCE(((struct cobj_counter_rep *)rep)->v), &c->folded);
}

static void counter_free_root(struct cobj_root *root)
{
	kfree(root->priv);
}

static const struct cobj_ops counter_ops = {
	.create_rep	= counter_create_rep,
	.free_rep	= counter_free_rep,
	.cpu_dead	= counter_cpu_dead,
	.free_root	= counter_free_root,
};

int cobj_counter_create(void)
{
	struct counter_root *c = kzalloc(sizeof(*c), GFP_KERNEL);
	int id;

	if (!c)
		return -ENOMEM;
	id = cobj_create(COBJ_PER_CPU, &counter_ops, c);
	if (id < 0)
		kfree(c);
	return id;
}
EXPORT_SYMBOL_GPL(cobj_counter_create);

static void sum_rep(void *rep, void *arg)
{
	*(long *)arg += READ_ONCE(((struct cobj_counter_rep *)rep)->v);
}

long cobj_counter_read(coid_t id)
{
	long sum = 0;
	struct cobj_root *root;

	if (cobj_for_each_rep(id, sum_rep, &sum))
		return 0;
	rcu_read_lock();
	root = cobj_root_of(id);
	if (root)
		sum += atomic_long_read(&((struct counter_root *)root->priv)->folded);
	rcu_read_unlock();
	return sum;
}
EXPORT_SYMBOL_GPL(cobj_counter_read);
