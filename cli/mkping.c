// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkping: round trips between two processes over an mk channel, through
 * whichever transport libmk picks (the mkchan module when loaded, else the
 * user-space fallback): a quick check that channels work here, and what
 * they cost. The parent owns a mailbox and echoes; a forked child connects
 * with a capability and times COUNT round trips.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mk/chan.h>

#define TIMEOUT_NS	5000000000LL

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mkping [-n COUNT] [--cpus A,B] [--spin NS]\n"
		"  Times COUNT (default 10000) round trips of 8-byte messages between\n"
		"  two processes over an mk channel, pinned to CPUs A and B (default 0,1\n"
		"  when there are two), and says which transport carried them.\n");
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The child: connect, time round trips, print. */
static int pinger(const char *name, uint64_t cap, long count, int64_t spin)
{
	uint64_t *rtt = calloc((size_t)count, sizeof(*rtt));
	struct mk_chan *ch;
	size_t len;
	int ret;

	if (!rtt)
		return 1;
	ret = mk_chan_connect(&ch, name, cap, 64);
	if (ret) {
		fprintf(stderr, "mkping: connect: %s\n", strerror(-ret));
		return 1;
	}
	if (spin >= 0)
		mk_chan_set_spin_ns(ch, (uint64_t)spin);
	for (long i = 0; i < count; i++) {
		uint64_t t0 = now_ns(), v = (uint64_t)i, back;

		ret = mk_chan_send(ch, &v, sizeof(v), TIMEOUT_NS);
		if (!ret)
			ret = mk_chan_recv(ch, &back, sizeof(back), &len, TIMEOUT_NS);
		if (!ret && (len != sizeof(back) || back != v))
			ret = -EBADMSG;
		if (ret) {
			fprintf(stderr, "mkping: round trip %ld: %s\n", i, strerror(-ret));
			return 1;
		}
		rtt[i] = now_ns() - t0;
	}
	qsort(rtt, (size_t)count, sizeof(*rtt), cmp_u64);
	printf("mkping: %ld round trips over the %s transport (spin %llu ns): "
	       "min %.2f, median %.2f, p99 %.2f, max %.2f us\n", count,
	       mk_transport_name(mk_chan_transport(ch)),
	       (unsigned long long)mk_chan_spin_ns(ch), rtt[0] / 1e3,
	       rtt[count / 2] / 1e3, rtt[count * 99 / 100] / 1e3, rtt[count - 1] / 1e3);
	fflush(stdout);	/* the child leaves with _exit() */
	mk_chan_close(ch);
	free(rtt);
	return 0;
}

/* The parent: accept one channel and echo until it ends. */
static int echoer(struct mk_mbox *mb, int64_t spin)
{
	struct mk_chan *ch;
	uint64_t v;
	size_t len;
	int ret;

	ret = mk_mbox_accept(mb, &ch, TIMEOUT_NS);
	if (ret) {
		fprintf(stderr, "mkping: accept: %s\n", strerror(-ret));
		return 1;
	}
	if (spin >= 0)
		mk_chan_set_spin_ns(ch, (uint64_t)spin);
	while (!(ret = mk_chan_recv(ch, &v, sizeof(v), &len, TIMEOUT_NS)))
		if ((ret = mk_chan_send(ch, &v, len, TIMEOUT_NS)))
			break;
	mk_chan_close(ch);
	return ret == -EPIPE ? 0 : (fprintf(stderr, "mkping: echo: %s\n", strerror(-ret)), 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "spin", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int cpu_a = -1, cpu_b = -1, opt, status, ret;
	long count = 10000;
	int64_t spin = -1;
	struct mk_mbox *mb;
	char name[64];
	uint64_t cap;
	pid_t pid;

	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2) {
		cpu_a = 0;
		cpu_b = 1;
	}
	while ((opt = getopt_long(argc, argv, "n:c:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			count = strtol(optarg, NULL, 0);
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpu_a, &cpu_b) != 2) {
				usage(stderr);
				return 2;
			}
			break;
		case 's':
			spin = strtoll(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || count < 1 || count > 100000000) {
		usage(stderr);
		return 2;
	}

	pin(cpu_a);
	snprintf(name, sizeof(name), "mkping.%d", (int)getpid());
	ret = mk_mbox_create(&mb);
	if (!ret)
		ret = mk_mbox_add_name(mb, name);
	if (!ret)
		ret = mk_mbox_new_cap(mb, &cap);
	if (ret) {
		fprintf(stderr, "mkping: mailbox: %s\n", strerror(-ret));
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("mkping: fork");
		return 1;
	}
	if (!pid) {
		pin(cpu_b);
		_exit(pinger(name, cap, count, spin));
	}
	ret = echoer(mb, spin);
	mk_mbox_close(mb);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		ret = 1;
	return ret;
}
