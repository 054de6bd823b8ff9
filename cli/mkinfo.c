// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkinfo: says which of mk's kernel modules are live on this host and what
 * they report; with --require, fails unless the named modules are loaded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/libmk.h>
#include <mk/ring.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mkinfo [--require MODULE]...\n"
		"  Prints the state of mk's kernel modules (mkchan, cobjvm) and the\n"
		"  channels' default spin budget before blocking.\n"
		"  --require MODULE  exit 1 unless MODULE is loaded and speaks our ABI\n");
}

static int module_by_name(const char *name)
{
	for (int m = 0; m < MK_MODULE_COUNT; m++)
		if (!strcmp(name, mk_module_name(m)))
			return m;
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "require", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int required[MK_MODULE_COUNT] = { 0 };
	int opt, m, status = 0;

	while ((opt = getopt_long(argc, argv, "r:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			m = module_by_name(optarg);
			if (m < 0) {
				fprintf(stderr, "mkinfo: no mk module '%s'\n", optarg);
				return 2;
			}
			required[m] = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	for (m = 0; m < MK_MODULE_COUNT; m++) {
		struct mk_module_info info;
		int ret = mk_module_info(m, &info);

		if (!ret) {
			printf("%s: loaded, ABI %u, %u of %u CPU ids online\n",
			       mk_module_name(m), info.abi_version,
			       info.online_cpus, info.nr_cpu_ids);
			continue;
		}
		if (ret == -ENOENT)
			printf("%s: not loaded (libmk uses its user-space fallback)\n",
			       mk_module_name(m));
		else
			printf("%s: unusable: %s\n", mk_module_name(m),
			       ret == -EPROTO ? "ABI mismatch with this libmk" :
			       strerror(-ret));
		if (required[m])
			status = 1;
	}
	printf("channels: spin %llu ns before blocking (%s)\n",
	       (unsigned long long)mk_spin_default_ns(),
	       getenv("MK_CHAN_SPIN_NS") ? "$MK_CHAN_SPIN_NS, if a number" :
	       "the cost of blocking, measured now");
	return status;
}
