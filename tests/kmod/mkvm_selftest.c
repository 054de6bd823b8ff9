// SPDX-License-Identifier: GPL-2.0
/*
 * mkvm_selftest: misbehaves on purpose so the harness self-test can prove
 * that tools/mkvm turns a kernel warning or a lockup in the guest into a
 * failed run. action=warn fires a WARN(); action=lockup spins with
 * preemption disabled until the soft-lockup detector panics the guest.
 */
#define pr_fmt(fmt) "mkvm_selftest: " fmt

#include <linux/bug.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/string.h>

static char *action = "none";
module_param(action, charp, 0444);
MODULE_PARM_DESC(action, "none, warn or lockup");

static int __init mkvm_selftest_init(void)
{
	unsigned long deadline;

	if (!strcmp(action, "warn")) {
		WARN(1, "mkvm_selftest: deliberate warning\n");
	} else if (!strcmp(action, "lockup")) {
		/* Bounded, so a guest without a watchdog still ends. */
		deadline = jiffies + 120 * HZ;
		preempt_disable();
		while (time_before(jiffies, deadline))
			mdelay(10);
		preempt_enable();
	} else if (strcmp(action, "none")) {
		pr_err("unknown action '%s'\n", action);
		return -EINVAL;
	}
	return 0;
}

static void __exit mkvm_selftest_exit(void)
{
}

module_init(mkvm_selftest_init);
module_exit(mkvm_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mk test harness self-test: deliberate kernel misbehaviour");
