// SPDX-License-Identifier: GPL-2.0
/*
 * Per-object statistics of the VM objects and the module's page counters.
 *
 * Each object counts its accesses in a per-CPU counter of its own (no
 * shared line on the fault path) and remembers where it was made; when it
 * is destroyed its numbers go into per-type totals and a ring of recent
 * objects. /sys/kernel/debug/cobjvm/vmobjects shows live objects (accesses
 * per CPU: the paper's Table I), the per-type totals and how many
 * destroyed objects were made, used and destroyed on one CPU (its 99.4%
 * locality figure). /sys/kernel/debug/cobjvm/pages shows the page
 * counters.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "vm.h"

DEFINE_PER_CPU(struct vm_pages, vm_pages);
atomic_long_t vm_live_processes, vm_live_regions, vm_live_fcms;

static const char *const type_names[VMOBJ_TYPES] = { "Process", "Region", "FCM", "PM" };

struct type_total {
	unsigned long destroyed, local, accesses, accesses_home;
};

#define RING 32

struct dead_obj {
	enum vmobj_type type;
	unsigned int variant, create_cpu, destroy_cpu;
	unsigned long used;		/* CPUs that accessed it (the first BITS_PER_LONG) */
	coid_t id;
	unsigned long accesses;
};

/* Taken when objects are made and destroyed, never on a fault. */
static DEFINE_MUTEX(stat_lock);
static LIST_HEAD(live);
static struct type_total totals[VMOBJ_TYPES];
static struct dead_obj ring[RING];
static unsigned int ring_next;

void vm_pages_sum(struct vm_pages *s)
{
	unsigned int cpu;

	memset(s, 0, sizeof(*s));
	for_each_possible_cpu(cpu) {
		const struct vm_pages *p = per_cpu_ptr(&vm_pages, cpu);

		s->allocated += READ_ONCE(p->allocated);
		s->freed += READ_ONCE(p->freed);
		s->fcm_in += READ_ONCE(p->fcm_in);
		s->fcm_out += READ_ONCE(p->fcm_out);
		s->list_in += READ_ONCE(p->list_in);
		s->list_out += READ_ONCE(p->list_out);
		s->faults += READ_ONCE(p->faults);
		s->path_faults += READ_ONCE(p->path_faults);
	}
}

int vmobj_stat_init(struct vmobj_stat *st, enum vmobj_type type, unsigned int variant, coid_t id)
{
	st->acc = alloc_percpu(unsigned long);
	if (!st->acc)
		return -ENOMEM;
	st->type = type;
	st->variant = variant;
	st->id = id;
	st->create_cpu = raw_smp_processor_id();
	mutex_lock(&stat_lock);
	list_add_tail(&st->node, &live);
	mutex_unlock(&stat_lock);
	return 0;
}

void vmobj_stat_fini(struct vmobj_stat *st)
{
	struct type_total *t = &totals[st->type];
	unsigned long sum = 0, n, home, used = 0;
	unsigned int cpu;
	struct dead_obj *d;

	st->destroy_cpu = raw_smp_processor_id();
	home = *per_cpu_ptr(st->acc, st->create_cpu);
	for_each_possible_cpu(cpu) {
		n = *per_cpu_ptr(st->acc, cpu);
		sum += n;
		if (n && cpu < BITS_PER_LONG)
			used |= 1UL << cpu;
	}
	mutex_lock(&stat_lock);
	list_del(&st->node);
	t->destroyed++;
	t->accesses += sum;
	t->accesses_home += home;
	if (sum == home && st->destroy_cpu == st->create_cpu)
		t->local++;
	d = &ring[ring_next++ % RING];
	*d = (struct dead_obj){ st->type, st->variant, st->create_cpu, st->destroy_cpu,
				used, st->id, sum };
	mutex_unlock(&stat_lock);
	free_percpu(st->acc);
	st->acc = NULL;
}

static int vmobjects_show(struct seq_file *m, void *v)
{
	struct vmobj_stat *st;
	unsigned long all = 0, local = 0;
	unsigned int cpu, i;

	mutex_lock(&stat_lock);
	seq_puts(m, "# live: type id variant create_cpu accesses-per-cpu...\n");
	list_for_each_entry(st, &live, node) {
		seq_printf(m, "%s %u %#x %u", type_names[st->type], st->id, st->variant,
			   st->create_cpu);
		for_each_possible_cpu(cpu)
			seq_printf(m, " %lu", *per_cpu_ptr(st->acc, cpu));
		seq_putc(m, '\n');
	}
	seq_puts(m, "# destroyed: type objects local accesses accesses-on-creating-cpu\n");
	for (i = 0; i < VMOBJ_TYPES; i++) {
		seq_printf(m, "total %s %lu %lu %lu %lu\n", type_names[i], totals[i].destroyed,
			   totals[i].local, totals[i].accesses, totals[i].accesses_home);
		all += totals[i].destroyed;
		local += totals[i].local;
	}
	seq_printf(m, "locality %lu of %lu destroyed objects made, used and destroyed on one CPU\n",
		   local, all);
	seq_puts(m, "# recent: type id variant create_cpu destroy_cpu mask_of_cpus_used accesses\n");
	for (i = 0; i < min_t(unsigned int, ring_next, RING); i++) {
		const struct dead_obj *d = &ring[(ring_next - 1 - i) % RING];

		seq_printf(m, "dead %s %u %#x %u %u %#lx %lu\n", type_names[d->type], d->id,
			   d->variant, d->create_cpu, d->destroy_cpu, d->used, d->accesses);
	}
	mutex_unlock(&stat_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vmobjects);

static int pages_show(struct seq_file *m, void *v)
{
	struct vm_pages s;

	vm_pages_sum(&s);
	seq_printf(m, "allocated %ld\nfreed %ld\nin_fcms %ld\nin_free_lists %ld\n"
		   "faults %ld\npath_faults %ld\nprocesses %ld\nregions %ld\nfcms %ld\n",
		   s.allocated, s.freed, s.fcm_in - s.fcm_out, s.list_in - s.list_out,
		   s.faults, s.path_faults, atomic_long_read(&vm_live_processes),
		   atomic_long_read(&vm_live_regions), atomic_long_read(&vm_live_fcms));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pages);

int vm_stat_debugfs_init(struct dentry *dir)
{
	debugfs_create_file("vmobjects", 0400, dir, NULL, &vmobjects_fops);
	debugfs_create_file("pages", 0444, dir, NULL, &pages_fops);
	return 0;
}

void vm_stat_exit(void)
{
	WARN_ON(!list_empty(&live));
}
