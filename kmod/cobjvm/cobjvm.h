/* SPDX-License-Identifier: GPL-2.0 */
/* cobjvm internals shared between its files. */
#ifndef COBJVM_INTERNAL_H
#define COBJVM_INTERNAL_H

#include <linux/atomic.h>

/* cobj.c: destroyed objects, and those made, used and destroyed on one CPU */
extern atomic_long_t cobj_destroyed;
extern atomic_long_t cobj_destroyed_local;

/* cobjvm_debugfs.c */
void cobjvm_debugfs_init(void);
void cobjvm_debugfs_exit(void);

#endif /* COBJVM_INTERNAL_H */
