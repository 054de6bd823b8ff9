// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ceiling for any Redis-protocol server under redis-benchmark on this
 * machine: a server that does nothing but frame commands (libmk's RESP
 * reader, as octopusd) and answer them — SET keeps the last value, GET
 * returns it, no store, no lookup — on octopusd's event loop (libmk's
 * <mk/loop.h>: one thread, epoll, replies written at the end of each turn,
 * a poll window of --poll-us before blocking). If even this is not 1.2x
 * redis-server, the client, not the server, is what the ratio measures.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mk/loop.h>
#include <mk/resp.h>

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

static void conn_close(struct mk_loop *l, struct conn *c)
{
	mk_loop_del_fd(l, c->fd);
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

/* Connections with replies to write at the end of the turn. */
static struct conn **dirty;
static size_t ndirty, cdirty;

static void on_conn(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)ev;
	if (!conn_input(c)) {
		conn_close(l, c);
		return;
	}
	if (ndirty == cdirty) {
		size_t n = cdirty ? 2 * cdirty : 256;
		struct conn **d = realloc(dirty, n * sizeof(*d));

		if (!d) {
			conn_close(l, c);
			return;
		}
		dirty = d;
		cdirty = n;
	}
	/* Once per turn at most: the loop reports an fd once per wait. */
	dirty[ndirty++] = c;
}

static void on_accept(struct mk_loop *l, int lfd, uint32_t ev, void *arg)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c = fd >= 0 ? calloc(1, sizeof(*c)) : NULL;

	(void)ev, (void)arg;
	if (!c || !(c->rd = mk_resp_reader_new(NULL))) {
		free(c);
		if (fd >= 0)
			close(fd);
		return;
	}
	c->fd = fd;
	mk_resp_buf_init(&c->out, 2);
	if (mk_loop_add_fd(l, fd, MK_LOOP_IN, on_conn, c) < 0) {
		mk_resp_reader_free(c->rd);
		mk_resp_buf_free(&c->out);
		free(c);
		close(fd);
	}
}

/* Replies of the turn go out together, as in octopusd. */
static int flush_dirty(struct mk_loop *l, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < ndirty; i++)
		if (!conn_flush(dirty[i]))
			conn_close(l, dirty[i]);
	ndirty = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = NULL;
	int64_t poll_ns = 200000;
	struct mk_loop *l;
	int lfd, ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unix") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--poll-us") && i + 1 < argc)
			poll_ns = (int64_t)strtoull(argv[++i], NULL, 10) * 1000;
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
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 511)) {
		perror("resp_ceiling");
		return 1;
	}
	ret = mk_loop_create(&l);
	if (!ret)
		ret = mk_loop_add_fd(l, lfd, MK_LOOP_IN, on_accept, NULL);
	if (ret) {
		fprintf(stderr, "resp_ceiling: %s\n", strerror(-ret));
		return 1;
	}
	mk_loop_set_poll_ns(l, poll_ns);
	mk_loop_set_turn_hook(l, flush_dirty, NULL);
	ret = mk_loop_run(l);
	fprintf(stderr, "resp_ceiling: %s\n", strerror(-ret));
	return 1;
}
