// SPDX-License-Identifier: LGPL-2.1-or-later
/* Finding mk's kernel modules and asking them what they are. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <mk/cobjvm.h>
#include <mk/libmk.h>
#include <mk/mkchan.h>

#include "internal.h"

/* Both modules answer an INFO ioctl with the same layout; see the uapi. */
struct module_desc {
	const char *name;
	unsigned long info_ioctl;
	unsigned int abi_version;
};

static const struct module_desc modules[MK_MODULE_COUNT] = {
	[MK_MODULE_MKCHAN] = { "mkchan", MKCHAN_IOC_INFO, MKCHAN_ABI_VERSION },
	[MK_MODULE_COBJVM] = { "cobjvm", COBJVM_IOC_INFO, COBJVM_ABI_VERSION },
};

_Static_assert(sizeof(struct mkchan_info) == sizeof(struct cobjvm_info),
	       "module info layouts diverged");

const char *mk_module_name(enum mk_module module)
{
	if ((unsigned int)module >= MK_MODULE_COUNT)
		return NULL;
	return modules[module].name;
}

/*
 * Opens $MK_DEV_DIR/@name (default /dev/@name) read-write, close-on-exec:
 * the fd, or a negative errno.
 */
static int open_dev(const char *name)
{
	const char *dir = getenv("MK_DEV_DIR");
	char *path;
	int fd, err;

	if (!dir || !*dir)
		dir = "/dev";
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDWR | O_CLOEXEC);
	err = errno;
	free(path);
	return fd < 0 ? -err : fd;
}

int module_probe(enum mk_module module, struct mk_module_info *info)
{
	const struct module_desc *desc;
	struct mkchan_info raw = { 0 };
	int fd, ret = 0;

	if ((unsigned int)module >= MK_MODULE_COUNT)
		return -EINVAL;
	desc = &modules[module];
	fd = open_dev(desc->name);
	/* A node left behind by a module since unloaded opens as ENXIO or ENODEV. */
	if (fd == -ENXIO || fd == -ENODEV)
		return -ENOENT;
	if (fd < 0)
		return fd;
	/* Another driver's device: EINVAL or ENOTTY for an ioctl it does not know. */
	if (ioctl(fd, desc->info_ioctl, &raw) < 0)
		ret = errno == EINVAL ? -ENOTTY : -errno;
	else if (raw.abi_version != desc->abi_version)
		ret = -EPROTO;
	if (ret) {
		close(fd);
		return ret;
	}
	if (info) {
		info->abi_version = raw.abi_version;
		info->nr_cpu_ids = raw.nr_cpu_ids;
		info->online_cpus = raw.online_cpus;
	}
	return fd;
}

int mk_module_info(enum mk_module module, struct mk_module_info *info)
{
	int fd;

	if (!info)
		return -EINVAL;
	fd = module_probe(module, info);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}
