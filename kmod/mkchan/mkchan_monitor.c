// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU monitors and multicast (mkchan_kapi.h).
 *
 * Each online CPU runs a monitor kthread bound to it. A sender reaches a
 * monitor through the ring that belongs to the sender's CPU alone (made on
 * first use, on the monitor's node), so senders never contend with each
 * other: tasks of one CPU take turns with preemption disabled. Requests are
 * one cache line. A monitor polls for monitor_spin_us after its last
 * request, then sleeps; a sender wakes it only when it said it sleeps.
 *
 * Hotplug: cpuhp callbacks start a CPU's monitor when it comes online and
 * stop it when it goes; what is left in its rings then runs in the
 * teardown callback, so no request and no acknowledgement is lost.
 * Multicast and mkchan_call_async hold cpus_read_lock() while they send,
 * so the set of monitors does not change under them.
 */
#define pr_fmt(fmt) "mkchan: " fmt

#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/topology.h>

#include "mkchan.h"
#include "mkchan_kapi.h"

static unsigned int monitor_spin_us = 20;
module_param(monitor_spin_us, uint, 0644);
MODULE_PARM_DESC(monitor_spin_us,
		 "how long an idle monitor polls before it sleeps (about the cost of a wake-up)");

#define MON_SLOTS	16	/* power of two */

/* Acknowledgements climb a tree of these; the root's waiter sleeps on done. */
struct mc_ack {
	atomic_t pending;
	struct mc_ack *parent;
	struct completion done;
};

struct mon_req {
	u64 seq;		/* n + 1 for request n; stored last, with release */
	mkchan_fn_t fn;
	void *arg;
	struct mc_ack *ack;	/* NULL: nobody waits */
} ____cacheline_aligned;

/* One sender CPU -> one monitor. Each line has one writer. */
struct mon_ring {
	struct {
		u64 tail;
		u64 head_seen;
	} prod ____cacheline_aligned;
	u64 head ____cacheline_aligned;
	struct mon_req slots[MON_SLOTS];
};

struct monitor {
	struct task_struct *task;
	unsigned int cpu;
	int sleeping;
	struct mon_ring **rings;	/* by sender CPU, made on first use */
	struct list_head deferred;	/* tree groups still forwarding */
	atomic_long_t handled;
	atomic_long_t sleeps;
};

/* A tree group: one package's targets, reached through its leader. */
struct mc_group {
	struct list_head node;		/* in the leader's deferred list */
	unsigned int leader;
	unsigned int next;		/* next member to forward to */
	cpumask_var_t members;		/* without the leader */
	mkchan_fn_t fn;
	void *arg;
	struct mc_ack ack;
};

static struct monitor **monitors;	/* by CPU; stable under cpus_read_lock */
static enum cpuhp_state mon_hp_state;

static void ack_one(struct mc_ack *ack)
{
	while (ack && atomic_dec_and_test(&ack->pending)) {
		if (!ack->parent) {
			complete(&ack->done);
			return;
		}
		ack = ack->parent;
	}
}

static struct mon_ring *ring_for(struct monitor *mon, unsigned int src)
{
	/* Pairs with the release in ring_make(): the ring is initialised. */
	return smp_load_acquire(&mon->rings[src]);
}

static int ring_make(struct monitor *mon, unsigned int src)
{
	struct mon_ring *ring;

	ring = kzalloc_node(sizeof(*ring), GFP_KERNEL, cpu_to_node(mon->cpu));
	if (!ring)
		return -ENOMEM;
	if (cmpxchg_release(&mon->rings[src], NULL, ring))
		kfree(ring);	/* another task of that CPU was first */
	return 0;
}

/* Producer side; the caller runs on @src with preemption disabled. */
static bool ring_put(struct mon_ring *ring, mkchan_fn_t fn, void *arg,
		     struct mc_ack *ack)
{
	u64 tail = ring->prod.tail;
	struct mon_req *req;

	if (tail - ring->prod.head_seen >= MON_SLOTS) {
		/* pairs with ring_take(): the slots it freed are free */
		ring->prod.head_seen = smp_load_acquire(&ring->head);
		if (tail - ring->prod.head_seen >= MON_SLOTS)
			return false;
	}
	req = &ring->slots[tail & (MON_SLOTS - 1)];
	req->fn = fn;
	req->arg = arg;
	req->ack = ack;
	/* the request's fields before its sequence number (ring_take) */
	smp_store_release(&req->seq, tail + 1);
	ring->prod.tail = tail + 1;
	return true;
}

/* Consumer side: only the monitor (or its teardown) takes requests. */
static bool ring_take(struct mon_ring *ring, struct mon_req *out)
{
	u64 head = ring->head;
	struct mon_req *req = &ring->slots[head & (MON_SLOTS - 1)];

	/* pairs with ring_put(): a published seq means the fields are there */
	if (smp_load_acquire(&req->seq) != head + 1)
		return false;
	out->fn = req->fn;
	out->arg = req->arg;
	out->ack = req->ack;
	/* the slot is read before the producer may reuse it (ring_put) */
	smp_store_release(&ring->head, head + 1);
	return true;
}

/*
 * Queues @fn for @cpu's monitor from whatever CPU we are on; a false
 * return means its ring is full, and the caller tries again. Wakes the
 * monitor if it sleeps: the full barrier orders our request before our
 * look at sleeping, as the monitor's orders sleeping before its recheck.
 */
static int try_send(struct monitor *mon, mkchan_fn_t fn, void *arg,
		    struct mc_ack *ack, bool *sent)
{
	unsigned int src = get_cpu();
	struct mon_ring *ring = ring_for(mon, src);

	if (!ring) {
		put_cpu();
		*sent = false;
		return ring_make(mon, src);
	}
	*sent = ring_put(ring, fn, arg, ack);
	put_cpu();
	if (*sent) {
		/* request before sleeping; pairs with mon_thread()'s smp_mb() */
		smp_mb();
		if (READ_ONCE(mon->sleeping))
			wake_up_process(mon->task);
	}
	return 0;
}

/* From process context: waits, yielding, while the ring is full. */
static int send_wait(struct monitor *mon, mkchan_fn_t fn, void *arg,
		     struct mc_ack *ack)
{
	bool sent;
	int ret;

	for (;;) {
		ret = try_send(mon, fn, arg, ack, &sent);
		if (ret || sent)
			return ret;
		cond_resched();
	}
}

/*
 * Leader side of a tree multicast: forward to the members, never blocking
 * on a full ring (the member may be a leader waiting on us); what does not
 * fit now is retried from the monitor loop.
 */
static bool group_forward(struct mc_group *grp)
{
	unsigned int cpu;
	bool sent;

	for (cpu = cpumask_next(grp->next - 1, grp->members); cpu < nr_cpu_ids;
	     cpu = cpumask_next(cpu, grp->members)) {
		if (try_send(monitors[cpu], grp->fn, grp->arg, &grp->ack, &sent) || !sent) {
			grp->next = cpu;
			return false;
		}
	}
	grp->next = nr_cpu_ids;
	return true;
}

/*
 * The leader's own acknowledgement comes after its last touch of the
 * group: the last member's ack may free it (the root's stack frame owns
 * it) as soon as the leader's share is in.
 */
static void tree_leader(void *arg)
{
	struct mc_group *grp = arg;
	bool forwarded = group_forward(grp);

	grp->fn(grp->arg);
	if (forwarded)
		ack_one(&grp->ack);
	else
		list_add_tail(&grp->node, &monitors[grp->leader]->deferred);
}

static void run_req(struct mon_req *req)
{
	req->fn(req->arg);
	ack_one(req->ack);
}

/* Runs what is queued for @mon now; returns how many requests ran. */
static unsigned int mon_poll(struct monitor *mon)
{
	struct mc_group *grp, *tmp;
	struct mon_ring *ring;
	struct mon_req req;
	unsigned int src, n = 0;

	for_each_possible_cpu(src) {
		ring = ring_for(mon, src);
		while (ring && ring_take(ring, &req)) {
			run_req(&req);
			n++;
		}
	}
	list_for_each_entry_safe(grp, tmp, &mon->deferred, node) {
		if (group_forward(grp)) {
			list_del(&grp->node);
			ack_one(&grp->ack);	/* the leader's share, last */
		}
	}
	if (n)
		atomic_long_add(n, &mon->handled);
	return n;
}

static bool mon_has_work(struct monitor *mon)
{
	struct mon_ring *ring;
	unsigned int src;

	if (!list_empty(&mon->deferred))
		return true;
	for_each_possible_cpu(src) {
		ring = ring_for(mon, src);
		/* pairs with ring_put()'s release of seq */
		if (ring && smp_load_acquire(&ring->slots[ring->head & (MON_SLOTS - 1)].seq) ==
			    ring->head + 1)
			return true;
	}
	return false;
}

static int mon_thread(void *data)
{
	struct monitor *mon = data;
	u64 idle_since = ktime_get_ns();

	while (!kthread_should_stop()) {
		if (mon_poll(mon)) {
			idle_since = ktime_get_ns();
			continue;
		}
		if (!need_resched() &&
		    ktime_get_ns() - idle_since < (u64)READ_ONCE(monitor_spin_us) * NSEC_PER_USEC) {
			cpu_relax();
			continue;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		WRITE_ONCE(mon->sleeping, 1);
		/* sleeping before the recheck; pairs with try_send()'s smp_mb() */
		smp_mb();
		if (!mon_has_work(mon) && !kthread_should_stop()) {
			atomic_long_inc(&mon->sleeps);
			schedule();
		}
		__set_current_state(TASK_RUNNING);
		WRITE_ONCE(mon->sleeping, 0);
		idle_since = ktime_get_ns();
	}
	return 0;
}

static void mon_free(struct monitor *mon)
{
	unsigned int src;

	for_each_possible_cpu(src)
		kfree(mon->rings[src]);
	kfree(mon->rings);
	kfree(mon);
}

static int mon_online(unsigned int cpu)
{
	struct monitor *mon;

	mon = kzalloc_node(sizeof(*mon), GFP_KERNEL, cpu_to_node(cpu));
	if (!mon)
		return -ENOMEM;
	mon->rings = kcalloc_node(nr_cpu_ids, sizeof(*mon->rings), GFP_KERNEL,
				  cpu_to_node(cpu));
	if (!mon->rings) {
		kfree(mon);
		return -ENOMEM;
	}
	mon->cpu = cpu;
	INIT_LIST_HEAD(&mon->deferred);
	mon->task = kthread_create_on_cpu(mon_thread, mon, cpu, "mkchan/%u");
	if (IS_ERR(mon->task)) {
		int ret = PTR_ERR(mon->task);

		mon_free(mon);
		return ret;
	}
	WRITE_ONCE(monitors[cpu], mon);
	wake_up_process(mon->task);
	return 0;
}

static int mon_offline(unsigned int cpu)
{
	struct monitor *mon = monitors[cpu];

	WRITE_ONCE(monitors[cpu], NULL);
	kthread_stop(mon->task);
	/* Nobody can send any more (we hold the hotplug lock): run the rest. */
	while (mon_poll(mon))
		;
	WARN_ON(!list_empty(&mon->deferred));
	mon_free(mon);
	return 0;
}

int mkchan_call_async(unsigned int cpu, mkchan_fn_t fn, void *arg)
{
	int ret = -ENODEV;

	might_sleep();
	if (cpu >= nr_cpu_ids)
		return -ENODEV;
	cpus_read_lock();
	if (monitors[cpu])
		ret = send_wait(monitors[cpu], fn, arg, NULL);
	cpus_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(mkchan_call_async);

/* Waits for the root ack: spins for the wake-up cost first, then sleeps. */
static void wait_acks(struct mc_ack *root)
{
	u64 until = ktime_get_ns() + (u64)READ_ONCE(monitor_spin_us) * NSEC_PER_USEC;

	while (atomic_read(&root->pending) && ktime_get_ns() < until && !need_resched())
		cpu_relax();
	wait_for_completion(&root->done);
}

static int multicast_tree(const struct cpumask *targets, mkchan_fn_t fn, void *arg,
			  struct mc_ack *root)
{
	unsigned int cpu, ngroups = 0, i;
	struct mc_group *groups;
	cpumask_var_t left;
	int ret = 0;

	if (!zalloc_cpumask_var(&left, GFP_KERNEL))
		return -ENOMEM;
	cpumask_copy(left, targets);
	for_each_cpu(cpu, left) {
		ngroups++;
		cpumask_andnot(left, left, topology_core_cpumask(cpu));
		__cpumask_clear_cpu(cpu, left);
	}
	groups = kcalloc(ngroups, sizeof(*groups), GFP_KERNEL);
	if (!groups) {
		free_cpumask_var(left);
		return -ENOMEM;
	}

	cpumask_copy(left, targets);
	for (i = 0; i < ngroups; i++) {
		struct mc_group *grp = &groups[i];

		grp->leader = cpumask_first(left);
		if (!zalloc_cpumask_var(&grp->members, GFP_KERNEL)) {
			ret = -ENOMEM;
			goto out;
		}
		cpumask_and(grp->members, left, topology_core_cpumask(grp->leader));
		__cpumask_clear_cpu(grp->leader, grp->members);
		cpumask_andnot(left, left, grp->members);
		__cpumask_clear_cpu(grp->leader, left);
		grp->next = 0;
		grp->fn = fn;
		grp->arg = arg;
		grp->ack.parent = root;
		atomic_set(&grp->ack.pending, cpumask_weight(grp->members) + 1);
	}
	atomic_add(ngroups, &root->pending);
	for (i = 0; i < ngroups; i++) {
		ret = send_wait(monitors[groups[i].leader], tree_leader, &groups[i], NULL);
		if (ret) {
			/* Groups never sent ack for themselves so we can wait. */
			for (; i < ngroups; i++)
				ack_one(root);
			break;
		}
	}
	ack_one(root);	/* the sender's own share */
	wait_acks(root);
out:
	for (i = 0; i < ngroups; i++)
		free_cpumask_var(groups[i].members);
	kfree(groups);
	free_cpumask_var(left);
	return ret;
}

/* mkchan_multicast() for callers that hold cpus_read_lock() already. */
int mkchan_multicast_locked(const struct cpumask *cpus, mkchan_fn_t fn, void *arg,
			    enum mkchan_mc_mode mode)
{
	struct mc_ack root = { .pending = ATOMIC_INIT(1) };
	cpumask_var_t targets;
	bool self;
	unsigned int cpu;
	int ret = 0;

	might_sleep();
	if (mode != MKCHAN_MC_UNICAST && mode != MKCHAN_MC_TREE)
		return -EINVAL;
	if (!zalloc_cpumask_var(&targets, GFP_KERNEL))
		return -ENOMEM;
	init_completion(&root.done);
	migrate_disable();
	cpumask_and(targets, cpus, cpu_online_mask);
	self = cpumask_test_and_clear_cpu(raw_smp_processor_id(), targets);

	if (mode == MKCHAN_MC_TREE) {
		if (self)
			fn(arg);
		ret = multicast_tree(targets, fn, arg, &root);
		goto out;
	}
	atomic_add(cpumask_weight(targets), &root.pending);
	for_each_cpu(cpu, targets) {
		ret = send_wait(monitors[cpu], fn, arg, &root);
		if (ret) {
			for (; cpu < nr_cpu_ids; cpu = cpumask_next(cpu, targets))
				ack_one(&root);
			break;
		}
	}
	if (self)
		fn(arg);
	ack_one(&root);
	wait_acks(&root);
out:
	migrate_enable();
	free_cpumask_var(targets);
	return ret;
}

/*
 * The hotplug lock is a read-write semaphore that does not nest for
 * readers once a writer waits: never call this with it held.
 */
int mkchan_multicast(const struct cpumask *cpus, mkchan_fn_t fn, void *arg,
		     enum mkchan_mc_mode mode)
{
	int ret;

	cpus_read_lock();
	ret = mkchan_multicast_locked(cpus, fn, arg, mode);
	cpus_read_unlock();
	return ret;
}
EXPORT_SYMBOL_GPL(mkchan_multicast);

/* For the debugfs statistics: requests run and sleeps, per online CPU. */
void mkchan_monitor_stats(struct seq_file *m)
{
	unsigned int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu)
		if (monitors[cpu])
			seq_printf(m, "cpu%u handled %ld sleeps %ld\n", cpu,
				   atomic_long_read(&monitors[cpu]->handled),
				   atomic_long_read(&monitors[cpu]->sleeps));
	cpus_read_unlock();
}

int mkchan_monitors_init(void)
{
	int ret;

	monitors = kcalloc(nr_cpu_ids, sizeof(*monitors), GFP_KERNEL);
	if (!monitors)
		return -ENOMEM;
	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "mkchan/monitor:online",
				mon_online, mon_offline);
	if (ret < 0) {
		kfree(monitors);
		return ret;
	}
	mon_hp_state = ret;
	return 0;
}

void mkchan_monitors_exit(void)
{
	cpuhp_remove_state(mon_hp_state);
	kfree(monitors);
}
