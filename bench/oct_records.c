// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Octopus's own microbenchmark (seed octopus-coordination-service.txt §4):
 * the latency of a get of one record by name as the store grows, through
 * the real daemon and libmk's client, plus an attribute query that has to
 * look at every record holding the attribute.
 *
 *   oct_records -s SOCKET --sizes 1000,1400000 [--gets N] [--queries N]
 *
 * For each size (ascending) it loads records up to that size over one
 * pipelined connection (rec<i> { idx: i, weight: i % 1000, vendor: 'v<i%16>' }),
 * then times N gets of random existing names and N attribute queries
 * (OCT.NAMES "_ { idx > size-10 }", ten matches among all records). One line
 * per size: "size get_p50_us get_mean_us query_p50_us matches".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mk/octopus.h>

#include "bench_util.h"

static double median_us(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2] / 1000.0;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads @n "+OK\r\n" replies; anything else is an error. */
static int read_oks(int fd, size_t n)
{
	static const char ok[] = "+OK\r\n";
	char buf[65536];
	size_t have = 0;	/* bytes of the current reply matched */

	while (n) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r <= 0)
			return -1;
		for (ssize_t i = 0; i < r; i++) {
			if (!n || buf[i] != ok[have])
				return -1;
			if (++have == sizeof(ok) - 1) {
				have = 0;
				n--;
			}
		}
	}
	return 0;
}

/* Adds rec<from> .. rec<to - 1>, 1000 commands per write. */
static int load(int fd, size_t from, size_t to)
{
	size_t cap = 1 << 20;
	char *buf = malloc(cap);

	if (!buf)
		return -1;
	while (from < to) {
		size_t len = 0, batch = 0;

		for (; from < to && batch < 1000; from++, batch++) {
			char rec[128];
			int rl = snprintf(rec, sizeof(rec),
					  "rec%zu { idx: %zu, weight: %zu, vendor: 'v%zu' }",
					  from, from, from % 1000, from % 16);

			len += (size_t)snprintf(buf + len, cap - len,
						"*2\r\n$7\r\nOCT.SET\r\n$%d\r\n%s\r\n", rl, rec);
		}
		if (write_all(fd, buf, len) || read_oks(fd, batch)) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

static int parse_sizes(const char *s, size_t *sizes, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		char *end;

		errno = 0;
		sizes[n] = strtoull(s, &end, 10);
		if (errno || end == s || !sizes[n] || (n && sizes[n] <= sizes[n - 1]))
			return -1;
		n++;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return *s ? -1 : (int)n;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *sizes_arg = "1000,1400000";
	size_t sizes[16], gets = 20000, queries = 20, loaded = 0;
	int nsizes, fd;
	struct mk_oct *c;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-s") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--sizes") && i + 1 < argc)
			sizes_arg = argv[++i];
		else if (!strcmp(argv[i], "--gets") && i + 1 < argc)
			gets = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
			queries = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s -s SOCKET [--sizes A,B,..] [--gets N] [--queries N]\n",
				argv[0]);
			return 2;
		}
	}
	nsizes = parse_sizes(sizes_arg, sizes, 16);
	if (!sock || nsizes <= 0 || !gets || !queries) {
		fprintf(stderr, "oct_records: need -s SOCKET, ascending --sizes, non-zero counts\n");
		return 2;
	}
	fd = connect_unix(sock);
	if (fd < 0 || mk_oct_connect(&c, sock)) {
		fprintf(stderr, "oct_records: cannot connect to %s\n", sock);
		return 1;
	}
	uint64_t *t = calloc(gets > queries ? gets : queries, sizeof(*t));

	if (!t)
		return 1;
	srandom(1);
	for (int s = 0; s < nsizes; s++) {
		size_t size = sizes[s], matches = 0;
		uint64_t sum = 0;
		double get_p50, q_p50;
		char q[96];

		if (load(fd, loaded, size)) {
			fprintf(stderr, "oct_records: loading records failed\n");
			return 1;
		}
		loaded = size;
		for (size_t i = 0; i < gets; i++) {
			char name[32], *rec;
			uint64_t t0;

			snprintf(name, sizeof(name), "rec%zu", (size_t)random() % size);
			t0 = now_ns();
			if (mk_oct_get(c, name, &rec)) {
				fprintf(stderr, "oct_records: get %s failed\n", name);
				return 1;
			}
			t[i] = now_ns() - t0;
			sum += t[i];
			free(rec);
		}
		get_p50 = median_us(t, gets);
		snprintf(q, sizeof(q), "_ { idx > %zu }", size - 11);
		for (size_t i = 0; i < queries; i++) {
			char **names;
			uint64_t t0 = now_ns();

			if (mk_oct_names(c, q, &names, &matches)) {
				fprintf(stderr, "oct_records: query failed\n");
				return 1;
			}
			t[i] = now_ns() - t0;
			mk_oct_free_names(names, matches);
		}
		q_p50 = median_us(t, queries);
		printf("%zu %.2f %.2f %.1f %zu\n", size, get_p50, sum / 1000.0 / gets, q_p50,
		       matches);
		fflush(stdout);
	}
	free(t);
	mk_oct_close(c);
	close(fd);
	return 0;
}
