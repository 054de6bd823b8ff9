// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/cobjvm/: root-only knobs to test and measure the
 * clustered-object runtime in the guest.
 *
 *   selftest   write anything: checks the runtime (policies, misses,
 *              invalid and destroyed ids, id partitioning, churn, the
 *              clustered counter); read: "passed N failed M" + failures
 *   counters   write "ITERS NCPUS": K42's Figure 1 on the first NCPUS
 *              online CPUs at once: ns per increment of a spinlocked
 *              counter, an atomic, an unpadded per-CPU array (false
 *              sharing), a padded per-CPU array, the stock kernel's
 *              per-CPU counter (this_cpu_inc), the clustered counter,
 *              and on one CPU a direct call against a clustered deref
 *   objects    live objects and the locality of destroyed ones (made,
 *              used and destroyed on one CPU)
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/cache.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/workqueue.h>

#include "../common/debugfs_cmd.h"
#include "cobj_counter.h"
#include "cobjvm.h"
#include "vm.h"

static struct dentry *cobjvm_dir;
static DEFINE_MUTEX(dbg_lock);
static char *selftest_out;
static char counters_out[256] = "none\n";

/* --- selftest --- */

struct st {
	int passed, failed;
	char *log;
	size_t len, cap;
};

static __printf(3, 4) void st_check(struct st *st, bool ok, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ok) {
		st->passed++;
		return;
	}
	st->failed++;
	va_start(ap, fmt);
	n = vsnprintf(st->log + st->len, st->cap - st->len, fmt, ap);
	va_end(ap);
	if (n > 0 && st->len + n + 1 < st->cap) {
		st->len += n;
		st->log[st->len++] = '\n';
		st->log[st->len] = '\0';
	}
}

struct key_rep {
	unsigned int key;
};

static void *key_create_rep(struct cobj_root *root, unsigned int cpu)
{
	struct key_rep *rep = kzalloc(sizeof(*rep), GFP_NOWAIT);

	if (rep)
		rep->key = cpu;
	return rep;
}

static void key_free_rep(struct cobj_root *root, void *rep)
{
	kfree(rep);
}

static const struct cobj_ops key_ops = {
	.create_rep = key_create_rep,
	.free_rep = key_free_rep,
};

struct deref_job {
	coid_t id;
	void *rep;
};

/* Runs on the CPU under test (work_on_cpu): process context, bound. */
static long deref_on_cpu(void *arg)
{
	struct deref_job *job = arg;

	cobj_enter();
	job->rep = cobj_deref(job->id);
	cobj_exit();
	return 0;
}

static void *deref_at(unsigned int cpu, coid_t id)
{
	struct deref_job job = { .id = id };

	work_on_cpu(cpu, deref_on_cpu, &job);
	return job.rep;
}

static long create_on_cpu(void *arg)
{
	return cobj_create(COBJ_SHARED, &key_ops, arg);
}

static long add_on_cpu(void *arg)
{
	coid_t id = (coid_t)(unsigned long)arg;
	long i;

	for (i = 0; i < 1000; i++)
		if (cobj_counter_add(id, 1))
			return -1;
	return 0;
}

static void selftest_policies(struct st *st)
{
	static const char *const names[] = { "shared", "per-cpu", "per-cluster" };
	enum cobj_policy p;
	unsigned int a, b;
	void **reps;
	int id;

	reps = kcalloc(nr_cpu_ids, sizeof(*reps), GFP_KERNEL);
	if (!reps) {
		st_check(st, false, "no memory");
		return;
	}
	for (p = COBJ_SHARED; p <= COBJ_PER_CLUSTER; p++) {
		id = cobj_create(p, &key_ops, NULL);
		st_check(st, id >= 0, "%s: create failed: %d", names[p], id);
		if (id < 0)
			continue;
		for_each_online_cpu(a) {
			reps[a] = deref_at(a, id);
			st_check(st, !IS_ERR_OR_NULL(reps[a]), "%s: deref on cpu%u failed", names[p], a);
			st_check(st, deref_at(a, id) == reps[a],
				 "%s: second deref on cpu%u gave another rep", names[p], a);
		}
		for_each_online_cpu(a) {
			for_each_online_cpu(b) {
				bool same = reps[a] == reps[b];
				bool want = p == COBJ_SHARED || a == b ||
					    (p == COBJ_PER_CLUSTER &&
					     cpumask_test_cpu(b, topology_core_cpumask(a)));

				st_check(st, same == want, "%s: cpu%u and cpu%u %s share a rep",
					 names[p], a, b, want ? "should" : "should not");
			}
		}
		if (p == COBJ_PER_CPU)
			for_each_online_cpu(a)
				st_check(st, !IS_ERR_OR_NULL(reps[a]) &&
					 ((struct key_rep *)reps[a])->key == a,
					 "per-cpu: cpu%u got another CPU's rep", a);
		st_check(st, !cobj_destroy(id), "%s: destroy failed", names[p]);
		for_each_online_cpu(a)
			st_check(st, PTR_ERR(deref_at(a, id)) == -ENOENT,
				 "%s: deref after destroy on cpu%u did not fail", names[p], a);
		st_check(st, cobj_destroy(id) == -ENOENT, "%s: second destroy did not fail", names[p]);
	}
	kfree(reps);
}

static void selftest_ids(struct st *st)
{
	unsigned int cpu;
	long id;
	int i, ids[64], n = 0;
	long live0;

	cobj_enter();
	st_check(st, PTR_ERR(cobj_deref(COBJ_MAX_IDS + 5)) == -EINVAL, "out-of-range id accepted");
	cobj_exit();
	for_each_online_cpu(cpu) {
		id = work_on_cpu(cpu, create_on_cpu, NULL);
		st_check(st, id >= 0 && cobj_id_cpu(id) == cpu,
			 "id %ld made on cpu%u names cpu%u", id, cpu, id >= 0 ? cobj_id_cpu(id) : 0);
		if (id >= 0)
			cobj_destroy(id);
	}
	/* a fresh id that was never made: deref fails, no rep appears */
	id = cobj_create(COBJ_SHARED, &key_ops, NULL);
	if (id >= 0) {
		cobj_destroy(id);
		rcu_barrier();
		cobj_enter();
		st_check(st, PTR_ERR(cobj_deref(id)) == -ENOENT, "a freed id still dereferences");
		cobj_exit();
	}

	live0 = cobj_live_objects();
	for (i = 0; i < 20000; i++) {
		id = cobj_create(i % 3, &key_ops, NULL);
		if (id < 0) {
			st_check(st, false, "churn: create %d failed: %ld", i, id);
			break;
		}
		if (i % 7 == 0) {
			cobj_enter();
			st_check(st, !IS_ERR(cobj_deref(id)), "churn: deref failed");
			cobj_exit();
		}
		if (n < (int)ARRAY_SIZE(ids))
			ids[n++] = id;
		if (n == (int)ARRAY_SIZE(ids) || i % 5 == 0)
			while (n)
				st_check(st, !cobj_destroy(ids[--n]), "churn: destroy failed");
	}
	while (n)
		cobj_destroy(ids[--n]);
	rcu_barrier();
	st_check(st, cobj_live_objects() == live0, "churn: %ld objects left over",
		 cobj_live_objects() - live0);
}

/*
 * A counter that lives from one selftest to the next, so that counts made
 * on a CPU that has since gone offline must still be counted, not lost.
 */
static int persist_id = -1;
static long persist_want;

static long counter_adds(struct st *st, int id)
{
	unsigned int cpu;
	long added = 0;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		st_check(st, !work_on_cpu(cpu, add_on_cpu, (void *)(unsigned long)id),
			 "counter: adds on cpu%u failed", cpu);
		added += 1000;
	}
	cpus_read_unlock();
	return added;
}

/*
 * The counter's fast path runs preemptible (cobj_counter.h): adds from a
 * thread that moves itself across every online CPU between (and, when
 * preempted, inside) its adds must all be counted.
 */
#define HOP_ROUNDS	60
#define HOP_ADDS	500

struct hop_job {
	coid_t id;
	int err;
	struct completion done;
};

static int hop_thread(void *arg)
{
	struct hop_job *job = arg;
	unsigned int cpu = cpumask_first(cpu_online_mask);
	int r, i;

	for (r = 0; r < HOP_ROUNDS && !job->err; r++) {
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
		set_cpus_allowed_ptr(current, cpumask_of(cpu));
		for (i = 0; i < HOP_ADDS && !job->err; i++)
			job->err = cobj_counter_add(job->id, 1);
	}
	complete(&job->done);
	return 0;
}

static void selftest_counter_migrating(struct st *st)
{
	struct hop_job job = { .id = cobj_counter_create() };
	struct task_struct *t;

	st_check(st, (int)job.id >= 0, "counter: create failed: %d", (int)job.id);
	if ((int)job.id < 0)
		return;
	init_completion(&job.done);
	/* under cpus_read_lock: the online mask holds still while it hops */
	cpus_read_lock();
	t = kthread_run(hop_thread, &job, "cobjhop");
	st_check(st, !IS_ERR(t), "counter: no hopping thread: %d", PTR_ERR_OR_ZERO(t));
	if (!IS_ERR(t))
		wait_for_completion(&job.done);
	cpus_read_unlock();
	if (!IS_ERR(t)) {
		st_check(st, !job.err, "counter: add while migrating failed: %d", job.err);
		st_check(st, cobj_counter_read(job.id) == HOP_ROUNDS * HOP_ADDS,
			 "counter: adds while migrating: read %ld, want %d",
			 cobj_counter_read(job.id), HOP_ROUNDS * HOP_ADDS);
	}
	cobj_destroy(job.id);
}

static void selftest_counter(struct st *st)
{
	long want;
	int id = cobj_counter_create();

	st_check(st, id >= 0, "counter: create failed: %d", id);
	if (id < 0)
		return;
	want = counter_adds(st, id);
	st_check(st, cobj_counter_read(id) == want, "counter: read %ld, want %ld",
		 cobj_counter_read(id), want);
	st_check(st, !cobj_destroy(id), "counter: destroy failed");
	st_check(st, cobj_counter_add(id, 1) == -ENOENT, "counter: add after destroy did not fail");
	st_check(st, cobj_counter_add(COBJ_MAX_IDS, 1) == -EINVAL, "counter: add to an invalid id");
	st_check(st, cobj_counter_read(id) == 0, "counter: a destroyed counter still reads");

	if (persist_id < 0)
		persist_id = cobj_counter_create();
	if (persist_id < 0)
		return;
	persist_want += counter_adds(st, persist_id);
	st_check(st, cobj_counter_read(persist_id) == persist_want,
		 "counter across selftests (and CPU hotplug): read %ld, want %ld",
		 cobj_counter_read(persist_id), persist_want);
}

/* --- Figure 1 --- */

enum variant { V_LOCK, V_ATOMIC, V_ARRAY, V_PADDED, V_PERCPU, V_CLUSTERED, NR_VARIANTS };
static const char *const variant_names[] = {
	"lock", "atomic", "array", "padded", "percpu", "clustered"
};

struct padded {
	long v;
} ____cacheline_aligned_in_smp;

struct bench {
	enum variant v;
	long iters;
	unsigned int ncpus;
	atomic_t ready;
	atomic_t done;
	struct completion all_done;
	u64 *ns;		/* by CPU */
	struct task_struct **threads;
	spinlock_t lock;
	long locked;
	atomic_long_t atomic;
	long *array;		/* adjacent longs: false sharing */
	struct padded *padded;
	long __percpu *percpu;	/* the stock kernel's per-CPU counter */
	coid_t counter;
};

/*
 * One loop per variant, each the same shape: a local count, the
 * increment, nothing else. The slot of the arrays is the thread's own,
 * found once (the thread is bound to its CPU); the stock per-CPU counter
 * (this_cpu_inc through the pointer in struct bench, reloaded each time)
 * and the clustered counter (through its id) find this CPU's slot on
 * every increment, as their callers would.
 * noinline: each loop is compiled on its own, not merged into a switch
 * that every iteration would pay for.
 */
#define BENCH_LOOP(name, decl, op)					\
static noinline void name(struct bench *b, long iters, long *slot,	\
			   struct padded *pad)				\
{									\
	long i;								\
	decl;								\
									\
	for (i = 0; i < iters; i++)					\
		op;							\
}

BENCH_LOOP(loop_lock, (void)0, ({ spin_lock(&b->lock); b->locked++; spin_unlock(&b->lock); }))
BENCH_LOOP(loop_atomic, (void)0, atomic_long_inc(&b->atomic))
BENCH_LOOP(loop_array, (void)0, WRITE_ONCE(*slot, READ_ONCE(*slot) + 1))
BENCH_LOOP(loop_padded, (void)0, WRITE_ONCE(pad->v, READ_ONCE(pad->v) + 1))
BENCH_LOOP(loop_percpu, (void)0, this_cpu_inc(*READ_ONCE(b->percpu)))
BENCH_LOOP(loop_clustered, coid_t id = b->counter, cobj_counter_add(id, 1))

static void (*const bench_loops[])(struct bench *, long, long *, struct padded *) = {
	[V_LOCK] = loop_lock, [V_ATOMIC] = loop_atomic, [V_ARRAY] = loop_array,
	[V_PADDED] = loop_padded, [V_PERCPU] = loop_percpu, [V_CLUSTERED] = loop_clustered,
};

static long bench_warm(const struct bench *b)
{
	return b->iters / 8 + 1;
}

static int bench_thread(void *arg)
{
	struct bench *b = arg;
	unsigned int cpu = raw_smp_processor_id();
	u64 t0;

	/*
	 * Untimed first: the first call on a CPU misses, and under TCG the
	 * first pass through a loop translates it.
	 */
	bench_loops[b->v](b, bench_warm(b), &b->array[cpu], &b->padded[cpu]);
	atomic_inc(&b->ready);
	while (atomic_read(&b->ready) < b->ncpus)
		cpu_relax();
	t0 = ktime_get_ns();
	bench_loops[b->v](b, b->iters, &b->array[cpu], &b->padded[cpu]);
	b->ns[cpu] = ktime_get_ns() - t0;
	if (atomic_inc_return(&b->done) == b->ncpus)
		complete(&b->all_done);
	return 0;
}

static long bench_total(struct bench *b, const struct cpumask *cpus)
{
	unsigned int cpu;
	long sum = 0;

	switch (b->v) {
	case V_LOCK:
		return b->locked;
	case V_ATOMIC:
		return atomic_long_read(&b->atomic);
	case V_CLUSTERED:
		return cobj_counter_read(b->counter);
	case V_PERCPU:
		for_each_cpu(cpu, cpus)
			sum += *per_cpu_ptr(b->percpu, cpu);
		return sum;
	default:
		for_each_cpu(cpu, cpus)
			sum += b->v == V_ARRAY ? b->array[cpu] : b->padded[cpu].v;
		return sum;
	}
}

/*
 * Runs variant @b->v on @cpus at once; mean ns per increment, or -errno.
 * Every thread exists before any starts, so none waits at the barrier for
 * a thread that could not be made.
 */
static long bench_run(struct bench *b, const struct cpumask *cpus)
{
	unsigned int cpu;
	u64 sum = 0;

	atomic_set(&b->ready, 0);
	atomic_set(&b->done, 0);
	init_completion(&b->all_done);
	for_each_cpu(cpu, cpus) {
		b->threads[cpu] = kthread_create_on_cpu(bench_thread, b, cpu, "cobjbench/%u");
		if (IS_ERR(b->threads[cpu])) {
			long err = PTR_ERR(b->threads[cpu]);

			b->threads[cpu] = NULL;
			for_each_cpu(cpu, cpus)
				if (b->threads[cpu])
					kthread_stop(b->threads[cpu]);	/* never ran */
			return err;
		}
	}
	for_each_cpu(cpu, cpus) {
		wake_up_process(b->threads[cpu]);
		b->threads[cpu] = NULL;
	}
	wait_for_completion(&b->all_done);
	if (bench_total(b, cpus) != (b->iters + bench_warm(b)) * (long)b->ncpus)
		return -EIO;
	for_each_cpu(cpu, cpus)
		sum += b->ns[cpu];
	return div64_u64(sum, (u64)b->iters * b->ncpus);
}

static int counters_run(long iters, unsigned int ncpus)
{
	bool have_counter = false;
	size_t cells = roundup_pow_of_two(nr_cpu_ids);
	long ns[NR_VARIANTS], direct, deref;
	struct bench *b;
	cpumask_var_t cpus;
	unsigned int cpu, n = 0;
	enum variant v;
	int ret = 0, len;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b || !zalloc_cpumask_var(&cpus, GFP_KERNEL)) {
		kfree(b);
		return -ENOMEM;
	}
	/* Power-of-two kmalloc sizes are naturally aligned: lines stay whole. */
	b->array = kcalloc(cells, sizeof(long), GFP_KERNEL);
	b->padded = kcalloc(cells, sizeof(struct padded), GFP_KERNEL);
	b->ns = kcalloc(nr_cpu_ids, sizeof(*b->ns), GFP_KERNEL);
	b->threads = kcalloc(nr_cpu_ids, sizeof(*b->threads), GFP_KERNEL);
	b->percpu = alloc_percpu(long);
	ret = cobj_counter_create();
	/* destroy only our own: id 0 may be another live object */
	have_counter = ret >= 0;
	if (have_counter)
		b->counter = ret;
	if (!b->array || !b->padded || !b->ns || !b->threads || !b->percpu || ret < 0) {
		ret = ret < 0 ? ret : -ENOMEM;
		goto out;
	}
	ret = 0;
	spin_lock_init(&b->lock);

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		if (n == ncpus)
			break;
		cpumask_set_cpu(cpu, cpus);
		n++;
	}
	b->iters = iters;
	b->ncpus = n;
	for (v = 0; v < NR_VARIANTS && !ret; v++) {
		b->v = v;
		ns[v] = bench_run(b, cpus);
		if (ns[v] < 0)
			ret = ns[v];
	}
	/* one CPU: a direct increment of a padded slot against a clustered deref */
	if (!ret) {
		cpumask_clear(cpus);
		cpumask_set_cpu(cpumask_first(cpu_online_mask), cpus);
		b->ncpus = 1;
		memset(b->padded, 0, cells * sizeof(struct padded));
		b->v = V_PADDED;
		direct = bench_run(b, cpus);
		cobj_destroy(b->counter);
		ret = cobj_counter_create();
		have_counter = ret >= 0;
		if (have_counter) {
			b->counter = ret;
			b->v = V_CLUSTERED;
			deref = bench_run(b, cpus);
			ret = direct < 0 ? direct : deref < 0 ? deref : 0;
		}
	}
	cpus_read_unlock();
	if (ret)
		goto out;
	len = snprintf(counters_out, sizeof(counters_out), "cpus=%u iters=%ld", n, iters);
	for (v = 0; v < NR_VARIANTS; v++)
		len += snprintf(counters_out + len, sizeof(counters_out) - len, " %s=%ld",
				variant_names[v], ns[v]);
	snprintf(counters_out + len, sizeof(counters_out) - len,
		 " one_cpu_direct=%ld one_cpu_clustered=%ld verified=yes\n", direct, deref);
out:
	if (have_counter)
		cobj_destroy(b->counter);
	kfree(b->ns);
	kfree(b->threads);
	kfree(b->array);
	kfree(b->padded);
	free_percpu(b->percpu);
	free_cpumask_var(cpus);
	kfree(b);
	return ret;
}

/* --- files --- */

/* Any write: the contents are not read. */
static int selftest_cmd(char *cmd)
{
	struct st st = { .cap = 4096 };

	st.log = kzalloc(st.cap, GFP_KERNEL);
	if (!st.log)
		return -ENOMEM;
	selftest_policies(&st);
	selftest_ids(&st);
	selftest_counter(&st);
	selftest_counter_migrating(&st);
	kfree(selftest_out);
	selftest_out = kasprintf(GFP_KERNEL, "passed %d failed %d\n%s", st.passed,
				 st.failed, st.log);
	kfree(st.log);
	return 0;
}

static void selftest_show(struct seq_file *m)
{
	seq_puts(m, selftest_out ?: "not run\n");
}
DEFINE_MK_DEBUGFS_CMD(selftest, &dbg_lock, 0, selftest_cmd, selftest_show);

/* "ITERS NCPUS" */
static int counters_cmd(char *cmd)
{
	unsigned int ncpus;
	long iters;

	if (sscanf(cmd, "%ld %u", &iters, &ncpus) != 2 || iters < 1 ||
	    iters > 100000000L || ncpus < 1)
		return -EINVAL;
	return counters_run(iters, ncpus);
}

static void counters_show(struct seq_file *m)
{
	seq_puts(m, counters_out);
}
DEFINE_MK_DEBUGFS_CMD(counters, &dbg_lock, 47, counters_cmd, counters_show);

static int objects_show(struct seq_file *m, void *v)
{
	long destroyed = atomic_long_read(&cobj_destroyed);
	long local = atomic_long_read(&cobj_destroyed_local);

	seq_printf(m, "live %ld destroyed %ld local %ld\n", cobj_live_objects(),
		   destroyed, local);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(objects);

void cobjvm_debugfs_init(void)
{
	cobjvm_dir = debugfs_create_dir("cobjvm", NULL);
	debugfs_create_file("selftest", 0600, cobjvm_dir, NULL, &selftest_fops);
	debugfs_create_file("counters", 0600, cobjvm_dir, NULL, &counters_fops);
	debugfs_create_file("objects", 0400, cobjvm_dir, NULL, &objects_fops);
	vm_stat_debugfs_init(cobjvm_dir);
}

void cobjvm_debugfs_exit(void)
{
	debugfs_remove_recursive(cobjvm_dir);
	if (persist_id >= 0)
		cobj_destroy(persist_id);
	kfree(selftest_out);
}
