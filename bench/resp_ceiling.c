// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ceiling for any Redis-protocol server under redis-benchmark on this
 * machine: a server that does nothing but frame commands (libmk's RESP
 * reader, as octopusd) and answer them — SET keeps the last value, GET
 * returns it, no store, no lookup — with octopusd's event loop shape (one
 * thread, epoll, replies written at the end of each batch, polling epoll
 * for --poll-us before blocking). If even this is not 1.2x redis-server,
 * the client, not the server, is what the ratio measures.
 *
 *   resp_ceiling --unix PATH [--poll-us N]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mk/resp.h>

#include "bench_util.h"

struct conn {
	int fd;
	struct mk_resp_reader *rd;
	struct mk_resp_buf out;
};

static char *value;
static size_t value_len;

static void answer(struct conn *c, const struct mk_resp_command *cmd)
{
	const char *name = cmd->argv[0];

	if (!strcasecmp(name, "GET")) {
		if (value)
			mk_resp_w_bulk(&c->out, value, value_len);
		else
			mk_resp_w_null(&c->out);
	} else if (!strcasecmp(name, "SET") && cmd->argc >= 3) {
		char *v = realloc(value, cmd->argvlen[2] + 1);

		if (v) {
			memcpy(v, cmd->argv[2], cmd->argvlen[2]);
			value = v;
			value_len = cmd->argvlen[2];
		}
		mk_resp_w_ok(&c->out);
	} else if (!strcasecmp(name, "PING")) {
		mk_resp_w_simple(&c->out, "PONG");
	} else {
		mk_resp_w_array(&c->out, 0);	/* CONFIG GET and the like */
	}
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	mk_resp_reader_free(c->rd);
	mk_resp_buf_free(&c->out);
	free(c);
}

/* Reads, answers every complete command; false when the peer is gone. */
static bool conn_input(struct conn *c)
{
	struct mk_resp_command cmd;
	ssize_t n = mk_resp_reader_read_fd(c->rd, c->fd);
	int rc;

	if (n == -EAGAIN || n == -EINTR)
		return true;
	if (n <= 0)
		return false;
	while ((rc = mk_resp_reader_next_command(c->rd, &cmd)) > 0)
		answer(c, &cmd);
	return rc == 0;
}

static bool conn_flush(struct conn *c)
{
	while (c->out.len) {
		ssize_t n = write(c->fd, c->out.data, c->out.len);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		mk_resp_buf_consume(&c->out, (size_t)n);
	}
	return !c->out.failed;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = NULL;
	uint64_t poll_ns = 200000, last_busy = 0;
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	struct conn **dirty;
	size_t ndirty = 0, cdirty = 256;
	int lfd, ep;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unix") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--poll-us") && i + 1 < argc)
			poll_ns = strtoull(argv[++i], NULL, 10) * 1000;
		else
			path = NULL, i = argc;
	}
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: %s --unix PATH [--poll-us N]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	strcpy(sa.sun_path, path);
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	dirty = malloc(cdirty * sizeof(*dirty));
	if (lfd < 0 || ep < 0 || !dirty || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 511)) {
		perror("resp_ceiling");
		return 1;
	}
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int timeout = poll_ns && now_ns() - last_busy < poll_ns ? 0 : -1;
		int n = epoll_wait(ep, evs, 256, timeout);

		if (n > 0)
			last_busy = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				c = fd >= 0 ? calloc(1, sizeof(*c)) : NULL;
				if (!c || !(c->rd = mk_resp_reader_new(NULL))) {
					free(c);
					if (fd >= 0)
						close(fd);
					continue;
				}
				c->fd = fd;
				mk_resp_buf_init(&c->out, 2);
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			if (!conn_input(c)) {
				conn_close(ep, c);
				continue;
			}
			if (ndirty == cdirty) {
				struct conn **d = realloc(dirty, 2 * cdirty * sizeof(*d));

				if (!d)
					return 1;
				dirty = d;
				cdirty *= 2;
			}
			dirty[ndirty++] = c;
		}
		/* Replies of the batch go out together, as in octopusd. */
		for (size_t i = 0; i < ndirty; i++)
			if (!conn_flush(dirty[i]))
				conn_close(ep, dirty[i]);
		ndirty = 0;
	}
}
