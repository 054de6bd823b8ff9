// SPDX-License-Identifier: GPL-2.0
/*
 * mkchan: per-core message channels for a stock Linux kernel.
 *
 * This file registers /dev/mkchan and answers MKCHAN_IOC_INFO; mailboxes,
 * channels and the per-CPU monitors are added by later work (issue 3).
 */
#define pr_fmt(fmt) "mkchan: " fmt

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include <uapi/mk/mkchan.h>

static long mkchan_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mkchan_info info = {};

	switch (cmd) {
	case MKCHAN_IOC_INFO:
		info.abi_version = MKCHAN_ABI_VERSION;
		info.nr_cpu_ids = nr_cpu_ids;
		info.online_cpus = num_online_cpus();
		if (copy_to_user((void __user *)arg, &info, sizeof(info)))
			return -EFAULT;
		return 0;
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

static struct miscdevice mkchan_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mkchan",
	.fops	= &mkchan_fops,
	.mode	= 0666,
};

static int __init mkchan_init(void)
{
	int ret;

	ret = misc_register(&mkchan_misc);
	if (ret) {
		pr_err("cannot register /dev/mkchan: %d\n", ret);
		return ret;
	}
	pr_info("loaded, ABI %d, %u CPUs online\n", MKCHAN_ABI_VERSION,
		num_online_cpus());
	return 0;
}

static void __exit mkchan_exit(void)
{
	misc_deregister(&mkchan_misc);
	pr_info("unloaded\n");
}

module_init(mkchan_init);
module_exit(mkchan_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mk per-core message channels");
MODULE_VERSION("0.1");
