/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What libmk's channel and waitset test programs share: the transport of
 * this run, iteration counts scaled for the guest, a clock, unique names.
 * Each program calls chan_test_setup() first in main().
 */
#ifndef MK_TESTS_CHAN_TEST_H
#define MK_TESTS_CHAN_TEST_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mk/chan.h>

/* The transport this run uses, found in main(). */
static enum mk_transport transport;
static const char *chan_test_prefix = "test";

static inline bool on_module(void)
{
	return transport == MK_TRANSPORT_MODULE;
}

/*
 * The run's transport (a forced one that cannot be had leaves the module:
 * every test that needs it then fails), names prefixed with prefix, and
 * SIGPIPE ignored so that a peer hanging up does not kill the test.
 */
static inline void chan_test_setup(const char *prefix)
{
	int t = mk_chan_default_transport();

	if (t < 0)
		fprintf(stderr, "%s: no transport: %s\n", prefix, strerror(-t));
	transport = t < 0 ? MK_TRANSPORT_MODULE : (enum mk_transport)t;
	chan_test_prefix = prefix;
	signal(SIGPIPE, SIG_IGN);
}

/* Iteration counts, a tenth of them in the (slow, emulated) guest. */
static inline uint64_t iters(uint64_t n)
{
	return getenv("MKVM_GUEST") ? n / 10 : n;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A name no other test run on this machine uses at the same time. */
static inline const char *uniq_name(const char *what)
{
	static char bufs[8][128];
	static unsigned int n;
	char *buf = bufs[n % 8];

	snprintf(buf, sizeof(bufs[0]), "%s/%d/%s/%u", chan_test_prefix, (int)getpid(),
		 what, n);
	n++;
	return buf;
}

/*
 * A mailbox of this thread named @name with a fresh capability in *@cap,
 * as most tests serve one: 0, or the first call's error.
 */
static inline int named_mbox(struct mk_mbox **mb, const char *name, uint64_t *cap)
{
	int ret = mk_mbox_create(mb);

	if (!ret)
		ret = mk_mbox_add_name(*mb, name);
	if (!ret)
		ret = mk_mbox_new_cap(*mb, cap);
	return ret;
}

#endif /* MK_TESTS_CHAN_TEST_H */
