/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TAP for the test programs that do not use cmocka (the integration
 * programs run against a daemon), as tests/lib/tap.sh is for the shell
 * tests: CHECK(cond, fmt, ...) is one test; main returns tap_done().
 */
#ifndef MK_TESTS_TAP_H
#define MK_TESTS_TAP_H

#include <stdbool.h>
#include <stdio.h>

static int tap_n, tap_failed;

/*
 * cond is evaluated once: it may have side effects. Flushed at once: a
 * program that forks must not hand its buffered lines to the child.
 */
#define CHECK(cond, ...) do {						\
	bool ok_ = (cond);						\
	tap_n++;							\
	if (!ok_)							\
		tap_failed++;						\
	printf("%sok %d - ", ok_ ? "" : "not ", tap_n);			\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	fflush(stdout);							\
} while (0)

/* The plan, last; main's exit status. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
