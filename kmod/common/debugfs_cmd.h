/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A debugfs command file: a write is one short command that runs at once,
 * a read shows what the last one left. The copy from user space, its
 * bound, the lock that keeps a read from seeing half a result and the
 * seq_file plumbing are the same for every such file, so each module
 * supplies only the parsing, the work and the result:
 *
 *	static int mc_cmd(char *cmd) { ... }
 *	static void mc_show(struct seq_file *m) { ... }
 *	DEFINE_MK_DEBUGFS_CMD(mc, &mc_lock, 63, mc_cmd, mc_show);
 *	debugfs_create_file("multicast", 0600, dir, NULL, &mc_fops);
 *
 * The command is copied to the stack, so it is short by design: these
 * files take a word and a number or two, never data.
 */
#ifndef MK_KMOD_COMMON_DEBUGFS_CMD_H
#define MK_KMOD_COMMON_DEBUGFS_CMD_H

#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#define MK_DEBUGFS_CMD_MAX	63	/* bytes a command may have */

struct mk_debugfs_cmd {
	/* Held around both callbacks: one command at a time, reads wait. */
	struct mutex *lock;
	/*
	 * Longest write accepted, at most MK_DEBUGFS_CMD_MAX; a longer one
	 * fails with -EINVAL. 0: the contents do not matter (any write, of
	 * any length, runs the command, which is then given "").
	 */
	size_t max_len;
	/*
	 * Parses and runs the NUL-terminated command. Process context of the
	 * writer, ->lock held; may sleep. 0 or a negative errno, which the
	 * write returns.
	 */
	int (*run)(char *cmd);
	/* Prints the last result. Process context of the reader, ->lock held. */
	void (*show)(struct seq_file *m);
};

static inline ssize_t mk_debugfs_cmd_write(struct file *file, const char __user *ubuf,
					   size_t len, loff_t *ppos)
{
	const struct mk_debugfs_cmd *cmd = ((struct seq_file *)file->private_data)->private;
	char buf[MK_DEBUGFS_CMD_MAX + 1] = "";
	int ret;

	if (cmd->max_len) {
		if (len > cmd->max_len)
			return -EINVAL;
		if (copy_from_user(buf, ubuf, len))
			return -EFAULT;
		buf[len] = '\0';
	}
	mutex_lock(cmd->lock);
	ret = cmd->run(buf);
	mutex_unlock(cmd->lock);
	return ret ? ret : len;
}

static inline int mk_debugfs_cmd_show(struct seq_file *m, void *v)
{
	const struct mk_debugfs_cmd *cmd = m->private;

	mutex_lock(cmd->lock);
	cmd->show(m);
	mutex_unlock(cmd->lock);
	return 0;
}

/*
 * Defines NAME_fops for debugfs_create_file(), as DEFINE_SHOW_ATTRIBUTE()
 * does for a read-only file; a macro so that .owner is the module that
 * uses it, which debugfs pins while the file is open.
 */
#define DEFINE_MK_DEBUGFS_CMD(__name, __lock, __max_len, __run, __show)		\
static const struct mk_debugfs_cmd __name##_debugfs_cmd = {				\
	.lock = (__lock),							\
	.max_len = (__max_len),							\
	.run = (__run),								\
	.show = (__show),							\
};										\
static_assert((__max_len) <= MK_DEBUGFS_CMD_MAX);				\
										\
static int __name##_open(struct inode *inode, struct file *file)		\
{										\
	return single_open(file, mk_debugfs_cmd_show, (void *)&__name##_debugfs_cmd);	\
}										\
										\
static const struct file_operations __name##_fops = {				\
	.owner = THIS_MODULE,							\
	.open = __name##_open,							\
	.read = seq_read,							\
	.write = mk_debugfs_cmd_write,						\
	.llseek = seq_lseek,							\
	.release = single_release,						\
}

#endif
