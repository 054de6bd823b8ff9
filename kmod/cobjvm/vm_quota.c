// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user quota of VM objects. Every Process, Region and FCM holds one of
 * the runtime's COBJ_MAX_IDS object ids, a table all users share, so one
 * user opening /dev/cobjvm again and again could leave none for anybody
 * else. Objects are charged to the effective uid that opened the Process
 * that made them (an FCM stays charged while another Process keeps it);
 * beyond max_user_objects a new one is -EDQUOT, as a user's key quota is
 * for keyrings. CAP_SYS_RESOURCE goes past it, as it does past rlimits.
 * Only attach, detach, open, close and FCM creation take the lock.
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "vm.h"

static unsigned int max_user_objects = COBJ_MAX_IDS / 4;
module_param(max_user_objects, uint, 0644);
MODULE_PARM_DESC(max_user_objects,
		 "VM objects (Processes, Regions, FCMs) one user may hold (0: no limit)");

struct vm_user {
	kuid_t uid;
	unsigned long objects;
	struct hlist_node node;
};

static DEFINE_HASHTABLE(users, 6);
static DEFINE_SPINLOCK(users_lock);

static bool over_quota(const struct vm_user *u)
{
	unsigned int max = READ_ONCE(max_user_objects);

	return max && u->objects >= max;
}

/*
 * capable() may audit and sleep, so it is asked outside the lock, and only
 * past the quota, the way rlimit checks ask it.
 */
struct vm_user *vm_user_charge(void)
{
	kuid_t uid = current_euid();
	struct vm_user *u, *fresh;
	bool privileged = false;

	/* Allocated up front: the lock is a spinlock. */
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return ERR_PTR(-ENOMEM);
again:
	spin_lock(&users_lock);
	hash_for_each_possible(users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			goto found;
	u = fresh;
	fresh = NULL;
	u->uid = uid;
	hash_add(users, &u->node, __kuid_val(uid));
found:
	if (over_quota(u) && !privileged) {
		/* u may go while unlocked: look it up again */
		spin_unlock(&users_lock);
		if (!capable(CAP_SYS_RESOURCE)) {
			kfree(fresh);
			return ERR_PTR(-EDQUOT);
		}
		privileged = true;
		goto again;
	}
	u->objects++;
	spin_unlock(&users_lock);
	kfree(fresh);
	return u;
}

/* The caller's own charge keeps u while unlocked. */
int vm_user_charge_more(struct vm_user *u)
{
	bool over;

	spin_lock(&users_lock);
	over = over_quota(u);
	if (!over)
		u->objects++;
	spin_unlock(&users_lock);
	if (!over)
		return 0;
	if (!capable(CAP_SYS_RESOURCE))
		return -EDQUOT;
	spin_lock(&users_lock);
	u->objects++;
	spin_unlock(&users_lock);
	return 0;
}

void vm_user_uncharge(struct vm_user *u)
{
	bool last;

	spin_lock(&users_lock);
	last = !--u->objects;
	if (last)
		hash_del(&u->node);
	spin_unlock(&users_lock);
	if (last)
		kfree(u);
}

void vm_quota_exit(void)
{
	WARN_ON(!hash_empty(users));
}
