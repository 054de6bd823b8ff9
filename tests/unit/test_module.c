// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk module discovery. On the host the modules cannot be loaded, so the
 * live case runs in the guest (tests/vm/modules.t sets MK_EXPECT_MODULES=1)
 * and is skipped elsewhere.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mk/cobjvm.h>
#include <mk/libmk.h>
#include <mk/mkchan.h>

static char dev_dir[] = "/tmp/mk-test-dev.XXXXXX";

static int make_dev_dir(void **state)
{
	(void)state;
	strcpy(dev_dir, "/tmp/mk-test-dev.XXXXXX");
	if (!mkdtemp(dev_dir))
		return -1;
	return setenv("MK_DEV_DIR", dev_dir, 1);
}

static int remove_dev_dir(void **state)
{
	char path[sizeof(dev_dir) + 16];

	(void)state;
	for (int m = 0; m < MK_MODULE_COUNT; m++) {
		snprintf(path, sizeof(path), "%s/%s", dev_dir, mk_module_name(m));
		unlink(path);
	}
	unsetenv("MK_DEV_DIR");
	return rmdir(dev_dir);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(mk_module_name(MK_MODULE_MKCHAN), "mkchan");
	assert_string_equal(mk_module_name(MK_MODULE_COBJVM), "cobjvm");
	assert_null(mk_module_name(MK_MODULE_COUNT));
	assert_null(mk_module_name((enum mk_module)-1));
}

static void test_bad_arguments(void **state)
{
	struct mk_module_info info;

	(void)state;
	assert_int_equal(mk_module_info(MK_MODULE_COUNT, &info), -EINVAL);
	assert_int_equal(mk_module_info((enum mk_module)-1, &info), -EINVAL);
	assert_int_equal(mk_module_info(MK_MODULE_MKCHAN, NULL), -EINVAL);
}

static void test_not_loaded(void **state)
{
	struct mk_module_info info;

	(void)state;
	for (int m = 0; m < MK_MODULE_COUNT; m++)
		assert_int_equal(mk_module_info(m, &info), -ENOENT);
}

static void place(const char *name, const char *target)
{
	char path[sizeof(dev_dir) + 16];

	snprintf(path, sizeof(path), "%s/%s", dev_dir, name);
	assert_int_equal(symlink(target, path), 0);
}

/* A device that is not mk's must be told apart from a missing module. */
static void test_foreign_device(void **state)
{
	struct mk_module_info info;

	(void)state;
	place("mkchan", "/dev/null");
	place("cobjvm", "/etc/hostname");
	assert_int_equal(mk_module_info(MK_MODULE_MKCHAN, &info), -ENOTTY);
	assert_int_equal(mk_module_info(MK_MODULE_COBJVM, &info), -ENOTTY);
}

static void test_live_modules(void **state)
{
	struct mk_module_info info;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	const char *expect = getenv("MK_EXPECT_MODULES");

	(void)state;
	if (!expect || strcmp(expect, "1"))
		skip();
	for (int m = 0; m < MK_MODULE_COUNT; m++) {
		memset(&info, 0xa5, sizeof(info));
		assert_int_equal(mk_module_info(m, &info), 0);
		assert_int_equal(info.abi_version, m == MK_MODULE_MKCHAN ?
				 MKCHAN_ABI_VERSION : COBJVM_ABI_VERSION);
		assert_int_equal(info.online_cpus, online);
		assert_true(info.nr_cpu_ids >= info.online_cpus);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test_setup_teardown(test_not_loaded, make_dev_dir, remove_dev_dir),
		cmocka_unit_test_setup_teardown(test_foreign_device, make_dev_dir, remove_dev_dir),
		cmocka_unit_test(test_live_modules),
	};

	return cmocka_run_group_tests_name("libmk_module", tests, NULL, NULL);
}
