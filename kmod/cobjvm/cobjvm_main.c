// SPDX-License-Identifier: GPL-2.0
/*
 * cobjvm: K42 clustered objects and distributed VM objects.
 *
 * This file registers /dev/cobjvm and answers COBJVM_IOC_INFO; the
 * clustered-object runtime is cobj.c (API in cobj.h), its first object the
 * clustered counter (cobj_counter.c); the VM objects (vm.h) are the
 * Process behind each open file (vm_process.c: window, ioctls, faults),
 * Region (vm_region.c), FCM (vm_fcm.c) and page manager (vm_pm.c).
 */
#define pr_fmt(fmt) "cobjvm: " fmt

#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include <uapi/mk/cobjvm.h>

#include "cobj.h"
#include "cobjvm.h"
#include "vm.h"

static long cobjvm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct cobjvm_info info = {};

	switch (cmd) {
	case COBJVM_IOC_INFO:
		info.abi_version = COBJVM_ABI_VERSION;
		info.nr_cpu_ids = nr_cpu_ids;
		info.online_cpus = num_online_cpus();
		if (copy_to_user((void __user *)arg, &info, sizeof(info)))
			return -EFAULT;
		return 0;
	default:
		return vm_process_ioctl(file, cmd, arg);
	}
}

static const struct file_operations cobjvm_fops = {
	.owner		= THIS_MODULE,
	.open		= vm_process_open,
	.release	= vm_process_release,
	.mmap		= vm_process_mmap,
	.unlocked_ioctl	= cobjvm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice cobjvm_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "cobjvm",
	.fops	= &cobjvm_fops,
	.mode	= 0666,
};

static int __init cobjvm_init(void)
{
	int ret;

	ret = cobj_runtime_init();
	if (ret) {
		pr_err("cannot set up the clustered-object runtime: %d\n", ret);
		return ret;
	}
	ret = vm_pm_init();
	if (ret) {
		pr_err("cannot make the page managers: %d\n", ret);
		goto runtime;
	}
	ret = misc_register(&cobjvm_misc);
	if (ret) {
		pr_err("cannot register /dev/cobjvm: %d\n", ret);
		goto pm;
	}
	cobjvm_debugfs_init();
	pr_info("loaded, ABI %d, %u CPUs online\n", COBJVM_ABI_VERSION,
		num_online_cpus());
	return 0;
pm:
	vm_pm_exit();
runtime:
	cobj_runtime_exit();
	return ret;
}

static void __exit cobjvm_exit(void)
{
	cobjvm_debugfs_exit();
	misc_deregister(&cobjvm_misc);
	vm_fcm_exit();
	vm_quota_exit();
	vm_pm_exit();
	vm_stat_exit();
	cobj_runtime_exit();
	pr_info("unloaded\n");
}

module_init(cobjvm_init);
module_exit(cobjvm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mk clustered objects and distributed VM objects");
MODULE_VERSION("0.1");
