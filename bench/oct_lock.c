// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock acquire + release round trips: libmk's Octopus lock recipe through
 * octopusd against etcd's lock recipe (its v3lock service, a
 * concurrency.Mutex on a lease) through etcd's JSON gateway, same loop.
 *
 *   oct_lock --octopus SOCKET | --etcd HOST:PORT  [--iters N] [--procs P]
 *
 * --procs 1: one client locks and unlocks N times (uncontended, the cost
 * of the recipe). --procs P > 1: P processes each do N lock/unlock pairs
 * on the same lock (contended: waiters queue, each release hands over).
 * Prints "p50_us mean_us ops_per_s" for one acquire + release.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mk/octopus.h>

#include "etcd_http.h"
#include "bench_util.h"

struct client {
	struct mk_oct *oct;
	struct etcd etcd;
	char lease[32];
};

static const char *oct_sock, *etcd_host;
static unsigned int etcd_port;

static int client_open(struct client *c)
{
	const char *body;

	if (oct_sock)
		return mk_oct_connect(&c->oct, oct_sock);
	if (etcd_connect(&c->etcd, etcd_host, etcd_port))
		return -1;
	/* One lease per client, as etcd's recipe does per session. */
	if (etcd_post(&c->etcd, "/v3/lease/grant", "{\"TTL\":600}", &body) ||
	    etcd_json_string(body, "ID", c->lease, sizeof(c->lease)))
		return -1;
	return 0;
}

static void client_close(struct client *c)
{
	if (oct_sock)
		mk_oct_close(c->oct);
	else
		etcd_close(&c->etcd);
}

/* One acquire + release of the lock "bench" ("YmVuY2g=" in base64). */
static int lock_unlock(struct client *c)
{
	if (oct_sock) {
		struct mk_oct_lock l;

		if (mk_oct_lock(c->oct, "bench", &l))
			return -1;
		return mk_oct_unlock(c->oct, &l) ? -1 : 0;
	}
	char req[512], key[256];
	const char *body;

	snprintf(req, sizeof(req), "{\"name\":\"YmVuY2g=\",\"lease\":\"%s\"}", c->lease);
	if (etcd_post(&c->etcd, "/v3/lock/lock", req, &body) ||
	    etcd_json_string(body, "key", key, sizeof(key)))
		return -1;
	snprintf(req, sizeof(req), "{\"key\":\"%s\"}", key);
	return etcd_post(&c->etcd, "/v3/lock/unlock", req, &body) ? -1 : 0;
}

/* N timed lock/unlock pairs into @t; 0 or -1. */
static int run_client(uint64_t *t, size_t n)
{
	struct client c;
	int ret = 0;

	memset(&c, 0, sizeof(c));
	if (client_open(&c)) {
		fprintf(stderr, "oct_lock: cannot connect\n");
		return -1;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		uint64_t t0 = now_ns();

		ret = lock_unlock(&c);
		t[i] = now_ns() - t0;
	}
	if (ret)
		fprintf(stderr, "oct_lock: lock/unlock failed\n");
	client_close(&c);
	return ret;
}

int main(int argc, char **argv)
{
	size_t iters = 2000, procs = 1;
	uint64_t *t, start, sum = 0;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--octopus") && i + 1 < argc) {
			oct_sock = argv[++i];
		} else if (!strcmp(argv[i], "--etcd") && i + 1 < argc) {
			static char host[64];
			char *colon;

			snprintf(host, sizeof(host), "%s", argv[++i]);
			colon = strrchr(host, ':');
			if (!colon)
				goto usage;
			*colon = '\0';
			etcd_host = host;
			etcd_port = (unsigned int)strtoul(colon + 1, NULL, 10);
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--procs") && i + 1 < argc) {
			procs = strtoull(argv[++i], NULL, 10);
		} else {
			goto usage;
		}
	}
	if (!oct_sock == !etcd_host || !iters || !procs || procs > 64)
		goto usage;

	/* Every process's timings, in memory they all see. */
	t = mmap(NULL, iters * procs * sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return 1;
	start = now_ns();
	for (size_t p = 0; p < procs; p++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (!pid)
			_exit(run_client(t + p * iters, iters) ? 1 : 0);
	}
	for (size_t p = 0; p < procs; p++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			failed = 1;
	}
	if (failed)
		return 1;
	double secs = (now_ns() - start) / 1e9;

	for (size_t i = 0; i < iters * procs; i++)
		sum += t[i];
	qsort(t, iters * procs, sizeof(*t), cmp_u64);
	printf("%.2f %.2f %.0f\n", t[iters * procs / 2] / 1000.0,
	       sum / 1000.0 / (iters * procs), iters * procs / secs);
	return 0;
usage:
	fprintf(stderr, "usage: %s --octopus SOCKET | --etcd HOST:PORT [--iters N] [--procs P]\n",
		argv[0]);
	return 2;
}
