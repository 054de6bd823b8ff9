// SPDX-License-Identifier: GPL-2.0
/*
 * mkchan: per-core message channels for a stock Linux kernel.
 *
 * /dev/mkchan creates mailboxes and connects channels (mkchan_mbox.c,
 * mkchan_chan.c); the rings themselves are plain shared memory, so the
 * module is only on the path of set-up, wake-ups and shootdown.
 */
#define pr_fmt(fmt) "mkchan: " fmt

#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "mkchan.h"

DEFINE_MUTEX(mkchan_lock);

unsigned int mkchan_max_slots = 4096;
module_param_named(max_slots, mkchan_max_slots, uint, 0444);
MODULE_PARM_DESC(max_slots, "largest ring a channel may ask for, in 64-byte slots");

unsigned int mkchan_max_channels = 65536;
module_param_named(max_channels, mkchan_max_channels, uint, 0444);
MODULE_PARM_DESC(max_channels, "channels that may exist at once");

unsigned int mkchan_max_pending = 256;
module_param_named(max_pending, mkchan_max_pending, uint, 0444);
MODULE_PARM_DESC(max_pending, "channels a mailbox may have waiting to be accepted");

atomic_long_t mkchan_nr_mboxes = ATOMIC_LONG_INIT(0);
atomic_long_t mkchan_nr_chans = ATOMIC_LONG_INIT(0);
atomic_long_t mkchan_nr_pages = ATOMIC_LONG_INIT(0);

static long mkchan_info(struct mkchan_info __user *arg)
{
	struct mkchan_info info = {
		.abi_version = MKCHAN_ABI_VERSION,
		.nr_cpu_ids = nr_cpu_ids,
		.online_cpus = num_online_cpus(),
	};

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long mkchan_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case MKCHAN_IOC_INFO:
		return mkchan_info(uarg);
	case MKCHAN_IOC_MBOX_CREATE:
		return mkchan_mbox_create(uarg);
	case MKCHAN_IOC_CONNECT:
		return mkchan_connect(uarg);
	case MKCHAN_IOC_ALIAS_ADD:
		return mkchan_alias_add(uarg);
	case MKCHAN_IOC_ALIAS_DEL:
		return mkchan_alias_del(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mkchan_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= mkchan_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

#define MKCHAN_COUNTER_ATTR(name, counter)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&(counter)));	\
}									\
static DEVICE_ATTR_RO(name)

MKCHAN_COUNTER_ATTR(mailboxes, mkchan_nr_mboxes);
MKCHAN_COUNTER_ATTR(channels, mkchan_nr_chans);
MKCHAN_COUNTER_ATTR(ring_pages, mkchan_nr_pages);

static struct attribute *mkchan_attrs[] = {
	&dev_attr_mailboxes.attr,
	&dev_attr_channels.attr,
	&dev_attr_ring_pages.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mkchan);

static struct miscdevice mkchan_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mkchan",
	.fops	= &mkchan_fops,
	.groups	= mkchan_groups,
	.mode	= 0666,
};

static int __init mkchan_init(void)
{
	int ret;

	if (mkchan_max_slots < MKCHAN_RING_MIN_SLOTS ||
	    mkchan_max_slots > MKCHAN_RING_MAX_SLOTS ||
	    !is_power_of_2(mkchan_max_slots)) {
		pr_err("max_slots must be a power of two in [%d, %d]\n",
		       MKCHAN_RING_MIN_SLOTS, MKCHAN_RING_MAX_SLOTS);
		return -EINVAL;
	}
	ret = mkchan_monitors_init();
	if (ret) {
		pr_err("cannot start the per-CPU monitors: %d\n", ret);
		return ret;
	}
	ret = misc_register(&mkchan_misc);
	if (ret) {
		pr_err("cannot register /dev/mkchan: %d\n", ret);
		mkchan_monitors_exit();
		return ret;
	}
	mkchan_debugfs_init();
	pr_info("loaded, ABI %d, %u CPUs online\n", MKCHAN_ABI_VERSION,
		num_online_cpus());
	return 0;
}

static void __exit mkchan_exit(void)
{
	mkchan_debugfs_exit();
	misc_deregister(&mkchan_misc);
	mkchan_monitors_exit();
	/* Every object holds a file, and every file a module reference. */
	WARN_ON(atomic_long_read(&mkchan_nr_mboxes) ||
		atomic_long_read(&mkchan_nr_chans) ||
		atomic_long_read(&mkchan_nr_pages));
	pr_info("unloaded\n");
}

module_init(mkchan_init);
module_exit(mkchan_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mk per-core message channels");
MODULE_VERSION("0.2");
