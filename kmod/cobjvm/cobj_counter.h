/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A clustered counter (K42 §2.1): one padded rep per CPU, incremented
 * locally; reading gathers every rep. The distributed counter of Figure 1.
 */
#ifndef COBJ_COUNTER_H
#define COBJ_COUNTER_H

#include <linux/cache.h>

#include "cobj.h"

struct cobj_counter_rep {
	long v;
} ____cacheline_aligned_in_smp;

int cobj_counter_create(void);		/* the counter's id, or -errno */
long cobj_counter_read(coid_t id);	/* sum of the reps; approximate while adds run */

/* Inline: the fast path is the deref and one store to this CPU's line. */
static inline int cobj_counter_add(coid_t id, long n)
{
	struct cobj_counter_rep *rep;

	cobj_enter();
	rep = cobj_deref(id);
	if (unlikely(IS_ERR(rep))) {
		cobj_exit();
		return PTR_ERR(rep);
	}
	/* Only this CPU writes its rep; gatherers read it whole. */
	WRITE_ONCE(rep->v, rep->v + n);
	cobj_exit();
	return 0;
}

#endif /* COBJ_COUNTER_H */
