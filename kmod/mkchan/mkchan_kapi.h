/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mkchan's in-kernel API, exported to other modules (EXPORT_SYMBOL_GPL).
 *
 * Every online CPU runs a monitor kthread (the multikernel's per-core
 * monitor). Other CPUs reach it through per-sender cache-line rings, so a
 * request never takes a lock shared with other senders; the monitor polls
 * for a while and then sleeps, and senders wake it only when it sleeps.
 */
#ifndef MKCHAN_KAPI_H
#define MKCHAN_KAPI_H

#include <linux/cpumask.h>

typedef void (*mkchan_fn_t)(void *arg);

enum mkchan_mc_mode {
	/* the sender messages every target itself and counts every ack */
	MKCHAN_MC_UNICAST,
	/*
	 * two levels: the sender messages one leader per last-level cache,
	 * each leader its cache's other targets, and acks climb back the
	 * same way, so the sender handles one message per cache domain
	 */
	MKCHAN_MC_TREE,
};

/*
 * Runs @fn(@arg) on every online CPU of @cpus, on the caller's own CPU
 * inline and elsewhere in that CPU's monitor kthread (process context, so
 * @fn may sleep), and returns once all have run: the message-passing peer
 * of on_each_cpu_mask(@cpus, @fn, @arg, true). Process context only;
 * @fn must not multicast itself.
 * Returns 0, -EINVAL for an unknown mode, -ENOMEM.
 */
int mkchan_multicast(const struct cpumask *cpus, mkchan_fn_t fn, void *arg,
		     enum mkchan_mc_mode mode);

/*
 * The same, for a caller that holds cpus_read_lock() (which must not be
 * taken twice: a waiting CPU-hotplug writer would deadlock the second).
 */
int mkchan_multicast_locked(const struct cpumask *cpus, mkchan_fn_t fn, void *arg,
			    enum mkchan_mc_mode mode);

/*
 * Runs @fn(@arg) on @cpu's monitor and returns without waiting. Returns
 * 0, -ENODEV when @cpu has no monitor (offline), -ENOMEM.
 */
int mkchan_call_async(unsigned int cpu, mkchan_fn_t fn, void *arg);

#endif /* MKCHAN_KAPI_H */
