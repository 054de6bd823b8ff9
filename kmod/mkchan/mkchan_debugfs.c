// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/mkchan/: root-only knobs to test and measure the
 * in-kernel side against the stock kernel's in the same run.
 *
 *   monitors    requests run and sleeps, per monitor
 *   multicast   write "MODE COUNT" (MODE: ipi, unicast, tree) to run
 *               COUNT multicasts to every online CPU, each checked to have
 *               run exactly once per CPU; read the last result. ipi is
 *               on_each_cpu_mask(wait=1), the stock kernel's peer.
 */
#define pr_fmt(fmt) "mkchan: " fmt

#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "../common/debugfs_cmd.h"
#include "mkchan.h"
#include "mkchan_kapi.h"

static struct dentry *mkchan_dir;
static DEFINE_MUTEX(mc_lock);
static char mc_result[160] = "none\n";

static void count_hit(void *arg)
{
	unsigned long __percpu *hits = arg;

	this_cpu_inc(*hits);
}

/*
 * Runs @count multicasts in batches, each batch under the hotplug lock so
 * that it can check every CPU online during it ran each multicast exactly
 * once; between batches CPUs may come and go.
 */
#define MC_BATCH 64

static int mc_run(const char *mode, unsigned long count)
{
	unsigned long __percpu *hits;
	unsigned long done = 0, i, n, bad = 0;
	unsigned int cpu, ncpus = 0;
	u64 t0, t1;
	int ret = 0;

	hits = alloc_percpu(unsigned long);
	if (!hits)
		return -ENOMEM;
	t0 = ktime_get_ns();
	while (done < count && !ret) {
		n = min_t(unsigned long, MC_BATCH, count - done);
		cpus_read_lock();
		ncpus = num_online_cpus();
		for_each_online_cpu(cpu)
			*per_cpu_ptr(hits, cpu) = 0;
		for (i = 0; i < n && !ret; i++) {
			if (!strcmp(mode, "ipi"))
				on_each_cpu_mask(cpu_online_mask, count_hit, hits, true);
			else
				ret = mkchan_multicast_locked(cpu_online_mask, count_hit, hits,
							      !strcmp(mode, "tree") ?
							      MKCHAN_MC_TREE : MKCHAN_MC_UNICAST);
		}
		for_each_online_cpu(cpu)
			if (!ret && *per_cpu_ptr(hits, cpu) != n)
				bad++;
		cpus_read_unlock();
		done += n;
		cond_resched();
	}
	t1 = ktime_get_ns();
	free_percpu(hits);
	if (ret)
		return ret;
	snprintf(mc_result, sizeof(mc_result),
		 "mode=%s count=%lu cpus=%u ns_per_op=%llu verified=%s\n", mode, count,
		 ncpus, count ? div64_u64(t1 - t0, count) : 0, bad ? "no" : "yes");
	return bad ? -EIO : 0;
}

/* "MODE COUNT" */
static int mc_cmd(char *cmd)
{
	unsigned long count;
	char mode[16];

	if (sscanf(cmd, "%15s %lu", mode, &count) != 2 || count > 100000000UL ||
	    (strcmp(mode, "ipi") && strcmp(mode, "unicast") && strcmp(mode, "tree")))
		return -EINVAL;
	return mc_run(mode, count);
}

static void mc_show(struct seq_file *m)
{
	seq_puts(m, mc_result);
}
DEFINE_MK_DEBUGFS_CMD(mc, &mc_lock, 63, mc_cmd, mc_show);

static int monitors_show(struct seq_file *m, void *v)
{
	mkchan_monitor_stats(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(monitors);

void mkchan_debugfs_init(void)
{
	/* Debugfs is optional: failures only cost these files. */
	mkchan_dir = debugfs_create_dir("mkchan", NULL);
	debugfs_create_file("multicast", 0600, mkchan_dir, NULL, &mc_fops);
	debugfs_create_file("monitors", 0400, mkchan_dir, NULL, &monitors_fops);
}

void mkchan_debugfs_exit(void)
{
	debugfs_remove_recursive(mkchan_dir);
}
