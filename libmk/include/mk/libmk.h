/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk: the client library of mk. Every call works with and without mk's
 * kernel modules; where a module adds something, the call says so.
 */
#ifndef MK_LIBMK_H
#define MK_LIBMK_H

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: exported from libmk.so (libmk/libmk.map). */
#pragma GCC visibility push(default)

/* The kernel modules of mk. */
enum mk_module {
	MK_MODULE_MKCHAN,
	MK_MODULE_COBJVM,
	MK_MODULE_COUNT
};

/* What a loaded module reports about itself. */
struct mk_module_info {
	unsigned int abi_version;
	unsigned int nr_cpu_ids;
	unsigned int online_cpus;
};

/* "mkchan", "cobjvm"; NULL for a value outside the enum. */
const char *mk_module_name(enum mk_module module);

/*
 * Asks a module about itself through its device (in $MK_DEV_DIR, default
 * /dev). Returns 0, or a negative errno: -ENOENT when the module is not
 * loaded, -ENOTTY when the device is not mk's, -EPROTO when the module
 * speaks an ABI other than the one libmk was built with, -EINVAL for an
 * unknown module.
 */
int mk_module_info(enum mk_module module, struct mk_module_info *info);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MK_LIBMK_H */
