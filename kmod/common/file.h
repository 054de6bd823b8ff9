/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A new fd for a new kernel object, in two steps: mk_new_file() reserves
 * the fd and makes the file, the caller tells user space the number, and
 * mk_finish_file() installs the fd only if that worked. An fd is visible
 * to other threads the moment it is installed, so installing before a
 * copy_to_user() that may fail would leave a stray fd that user space
 * never learnt of. On failure fput() runs the file's ->release, so the
 * object has one cleanup path, whatever step failed after mk_new_file().
 *
 * Static inline: a dozen lines, called from a few set-up ioctls, and a
 * shared definition would have to be exported by one module for the other.
 */
#ifndef MK_KMOD_COMMON_FILE_H
#define MK_KMOD_COMMON_FILE_H

#include <linux/anon_inodes.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>

/*
 * Returns the reserved fd and the file in *@filep, or a negative errno
 * (nothing to undo). Process context; may sleep. The file owns @priv only
 * from here on: on an error return the caller still does.
 */
static inline int mk_new_file(const char *name, const struct file_operations *fops,
			      void *priv, struct file **filep)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = anon_inode_getfile(name, fops, priv, O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	*filep = file;
	return fd;
}

/* @ok: install the fd; otherwise give it back and release the file. */
static inline void mk_finish_file(int fd, struct file *file, bool ok)
{
	if (ok) {
		fd_install(fd, file);
	} else {
		put_unused_fd(fd);
		fput(file);
	}
}

#endif
