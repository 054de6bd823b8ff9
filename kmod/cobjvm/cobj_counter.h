/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A clustered counter (K42 §2.1): one rep per CPU, incremented locally;
 * reading gathers every rep. The distributed counter of Figure 1.
 *
 * The reps are one alloc_percpu() area (cobj.h, "reps in per-CPU
 * memory"): each CPU's long is in its own per-CPU chunk, so no two CPUs'
 * reps share a line, and the increment is the table load plus one
 * this_cpu_add, with no preemption toggling.
 */
#ifndef COBJ_COUNTER_H
#define COBJ_COUNTER_H

#include "cobj.h"

int cobj_counter_create(void);		/* the counter's id, or -errno */
long cobj_counter_read(coid_t id);	/* sum of the reps; approximate while adds run */

/*
 * Inline: an id check, this CPU's table entry, one per-CPU add. A task
 * that migrates after the table load adds on the CPU it then runs on:
 * the add is one instruction wherever it runs, and every CPU's entry is
 * the same area, so no count is lost or misplaced.
 */
static __always_inline int cobj_counter_add(coid_t id, long n)
{
	long __percpu *v;

	if (unlikely(id >= COBJ_MAX_IDS))
		return -EINVAL;
	v = cobj_percpu_entry(id);
	if (unlikely(!v)) {
		v = cobj_miss_percpu(id);
		if (IS_ERR((void __force *)v))
			return PTR_ERR((void __force *)v);
	}
	this_cpu_add(*v, n);
	return 0;
}

#endif /* COBJ_COUNTER_H */
