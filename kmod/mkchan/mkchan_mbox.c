// SPDX-License-Identifier: GPL-2.0
/*
 * Mailboxes: a home CPU, names in the module-wide alias table and
 * capabilities. Holding the mailbox fd is the right to change them; the
 * name service (CAP_SYS_ADMIN) may name any mailbox by its id.
 */
#define pr_fmt(fmt) "mkchan: " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/topology.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "../common/file.h"
#include "../common/token.h"
#include "mkchan.h"

static DEFINE_HASHTABLE(mkchan_aliases, 10);
static DEFINE_XARRAY(mkchan_mboxes);	/* id -> mailbox, for the name service */
static atomic64_t mkchan_next_id = ATOMIC64_INIT(0);

static struct mkchan_name *name_find(u64 alias)
{
	struct mkchan_name *name;

	lockdep_assert_held(&mkchan_lock);
	hash_for_each_possible(mkchan_aliases, name, hnode, alias)
		if (name->alias == alias)
			return name;
	return NULL;
}

struct mkchan_mbox *mkchan_mbox_lookup(u64 alias)
{
	struct mkchan_name *name = name_find(alias);

	return name ? name->mbox : NULL;
}

bool mkchan_mbox_has_cap(struct mkchan_mbox *mbox, u64 token)
{
	struct mkchan_cap *cap;

	lockdep_assert_held(&mkchan_lock);
	list_for_each_entry(cap, &mbox->caps, node)
		if (cap->token == token)
			return true;
	return false;
}

/* Ends every channel opened through @alias (by_alias) or capability @cap. */
static void shoot_down(struct mkchan_mbox *mbox, bool by_alias, u64 value)
{
	struct mkchan_chan *chan, *tmp;

	list_for_each_entry_safe(chan, tmp, &mbox->pending, node)
		if ((by_alias ? chan->alias : chan->cap) == value)
			mkchan_chan_detach(chan, MKCHAN_RING_REVOKED);
	list_for_each_entry_safe(chan, tmp, &mbox->chans, node)
		if ((by_alias ? chan->alias : chan->cap) == value)
			mkchan_chan_detach(chan, MKCHAN_RING_REVOKED);
}

static int name_add(struct mkchan_mbox *mbox, u64 alias)
{
	struct mkchan_name *name;

	lockdep_assert_held(&mkchan_lock);
	if (name_find(alias))
		return -EEXIST;
	name = kzalloc(sizeof(*name), GFP_KERNEL_ACCOUNT);
	if (!name)
		return -ENOMEM;
	name->alias = alias;
	name->mbox = mbox;
	hash_add(mkchan_aliases, &name->hnode, alias);
	list_add_tail(&name->node, &mbox->names);
	return 0;
}

static void name_remove(struct mkchan_name *name)
{
	struct mkchan_mbox *mbox = name->mbox;
	u64 alias = name->alias;

	hash_del(&name->hnode);
	list_del(&name->node);
	kfree(name);
	shoot_down(mbox, true, alias);
}

static long mbox_name_add(struct mkchan_mbox *mbox, u64 __user *arg)
{
	u64 alias;
	long ret;

	if (get_user(alias, arg))
		return -EFAULT;
	mutex_lock(&mkchan_lock);
	ret = name_add(mbox, alias);
	mutex_unlock(&mkchan_lock);
	return ret;
}

static long mbox_name_del(struct mkchan_mbox *mbox, u64 __user *arg)
{
	struct mkchan_name *name;
	u64 alias;
	long ret = -ENOENT;

	if (get_user(alias, arg))
		return -EFAULT;
	mutex_lock(&mkchan_lock);
	name = name_find(alias);
	if (name && name->mbox == mbox) {
		name_remove(name);
		ret = 0;
	}
	mutex_unlock(&mkchan_lock);
	return ret;
}

static long mbox_cap_add(struct mkchan_mbox *mbox, u64 __user *arg)
{
	struct mkchan_cap *cap;
	long ret = 0;
	u64 token;

	token = mk_token_new();
	/* Tell the caller first: a capability nobody saw must not exist. */
	if (put_user(token, arg))
		return -EFAULT;
	cap = kzalloc(sizeof(*cap), GFP_KERNEL_ACCOUNT);
	if (!cap)
		return -ENOMEM;
	cap->token = token;
	mutex_lock(&mkchan_lock);
	if (mkchan_mbox_has_cap(mbox, token))
		ret = -EEXIST;	/* a 64-bit collision: ask again */
	else
		list_add_tail(&cap->node, &mbox->caps);
	mutex_unlock(&mkchan_lock);
	if (ret)
		kfree(cap);
	return ret;
}

static long mbox_cap_del(struct mkchan_mbox *mbox, u64 __user *arg)
{
	struct mkchan_cap *cap;
	u64 token;
	long ret = -ENOENT;

	if (get_user(token, arg))
		return -EFAULT;
	mutex_lock(&mkchan_lock);
	list_for_each_entry(cap, &mbox->caps, node) {
		if (cap->token == token) {
			list_del(&cap->node);
			kfree(cap);
			shoot_down(mbox, false, token);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&mkchan_lock);
	return ret;
}

static long mbox_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mkchan_mbox *mbox = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case MKCHAN_IOC_NAME_ADD:
		return mbox_name_add(mbox, uarg);
	case MKCHAN_IOC_NAME_DEL:
		return mbox_name_del(mbox, uarg);
	case MKCHAN_IOC_CAP_ADD:
		return mbox_cap_add(mbox, uarg);
	case MKCHAN_IOC_CAP_DEL:
		return mbox_cap_del(mbox, uarg);
	case MKCHAN_IOC_ACCEPT:
		return mkchan_accept(mbox, uarg);
	default:
		return -ENOTTY;
	}
}

static __poll_t mbox_poll(struct file *file, struct poll_table_struct *pt)
{
	struct mkchan_mbox *mbox = file->private_data;

	poll_wait(file, &mbox->wq, pt);
	return READ_ONCE(mbox->nr_pending) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* Closing a mailbox takes its names and ends every channel opened to it. */
static int mbox_release(struct inode *inode, struct file *file)
{
	struct mkchan_mbox *mbox = file->private_data;
	struct mkchan_name *name, *ntmp;
	struct mkchan_cap *cap, *ctmp;
	struct mkchan_chan *chan, *tmp;

	mutex_lock(&mkchan_lock);
	xa_erase(&mkchan_mboxes, mbox->id);
	list_for_each_entry_safe(name, ntmp, &mbox->names, node) {
		hash_del(&name->hnode);
		list_del(&name->node);
		kfree(name);
	}
	list_for_each_entry_safe(cap, ctmp, &mbox->caps, node) {
		list_del(&cap->node);
		kfree(cap);
	}
	list_for_each_entry_safe(chan, tmp, &mbox->pending, node)
		mkchan_chan_detach(chan, MKCHAN_RING_REVOKED);
	list_for_each_entry_safe(chan, tmp, &mbox->chans, node)
		mkchan_chan_detach(chan, MKCHAN_RING_REVOKED);
	mutex_unlock(&mkchan_lock);
	kfree(mbox);
	atomic_long_dec(&mkchan_nr_mboxes);
	return 0;
}

static const struct file_operations mkchan_mbox_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= mbox_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.poll		= mbox_poll,
	.release	= mbox_release,
	.llseek		= noop_llseek,
};

long mkchan_mbox_create(struct mkchan_mbox_create __user *arg)
{
	struct mkchan_mbox_create req;
	struct mkchan_mbox *mbox;
	struct file *file;
	int fd, ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved)
		return -EINVAL;
	if (req.cpu == MKCHAN_CPU_CURRENT)
		req.cpu = raw_smp_processor_id();
	if (req.cpu >= nr_cpu_ids || !cpu_possible(req.cpu))
		return -EINVAL;

	mbox = kzalloc(sizeof(*mbox), GFP_KERNEL_ACCOUNT);
	if (!mbox)
		return -ENOMEM;
	mbox->id = atomic64_inc_return(&mkchan_next_id);
	mbox->cpu = req.cpu;
	mbox->node = cpu_to_node(req.cpu);
	mbox->owner_uid = current_uid();
	mbox->owner_gid = current_gid();
	INIT_LIST_HEAD(&mbox->names);
	INIT_LIST_HEAD(&mbox->caps);
	INIT_LIST_HEAD(&mbox->pending);
	INIT_LIST_HEAD(&mbox->chans);
	init_waitqueue_head(&mbox->wq);

	ret = xa_insert(&mkchan_mboxes, mbox->id, mbox, GFP_KERNEL);
	if (ret) {
		kfree(mbox);
		return ret;
	}
	atomic_long_inc(&mkchan_nr_mboxes);
	fd = mk_new_file("[mkchan-mbox]", &mkchan_mbox_fops, mbox, &file);
	if (fd < 0) {
		xa_erase(&mkchan_mboxes, mbox->id);
		kfree(mbox);
		atomic_long_dec(&mkchan_nr_mboxes);
		return fd;
	}
	req.id = mbox->id;
	req.fd = fd;
	ret = copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
	mk_finish_file(fd, file, !ret);
	return ret;
}

long mkchan_alias_add(struct mkchan_alias __user *arg)
{
	struct mkchan_mbox *mbox;
	struct mkchan_alias req;
	long ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	mutex_lock(&mkchan_lock);
	mbox = xa_load(&mkchan_mboxes, req.mbox_id);
	ret = mbox ? name_add(mbox, req.alias) : -ENOENT;
	mutex_unlock(&mkchan_lock);
	return ret;
}

long mkchan_alias_del(struct mkchan_alias __user *arg)
{
	struct mkchan_name *name;
	struct mkchan_alias req;
	long ret = -ENOENT;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	mutex_lock(&mkchan_lock);
	name = name_find(req.alias);
	if (name) {
		name_remove(name);
		ret = 0;
	}
	mutex_unlock(&mkchan_lock);
	return ret;
}
