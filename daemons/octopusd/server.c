// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd server: listeners and connections on libmk's loop
 * (<mk/loop.h>; level-triggered fds, OCT.WAIT's deadlines as its timers,
 * SIGTERM/SIGINT through its signalfd). See server.h for the
 * per-connection memory bounds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "commands.h"
#include "pubsub.h"
#include "server.h"
#include "triggers.h"
#include "waits.h"

uint64_t server_now_ns(void)
{
	return (uint64_t)mk_loop_now_ns();
}

/*
 * Out of descriptors, each connection refused is logged in one line a
 * second at most, with the count since the last: a client flood at
 * EMFILE must not also flood the log.
 */
static void log_refused_for_fds(void)
{
	static uint64_t last_ns, refused;
	uint64_t now = server_now_ns();

	refused++;
	if (last_ns && now - last_ns < 1000000000u)
		return;
	fprintf(stderr, "octopusd: out of file descriptors: %llu connection%s refused\n",
		(unsigned long long)refused, refused == 1 ? "" : "s");
	last_ns = now;
	refused = 0;
}

static int set_events(struct server *s, struct conn *c, uint32_t ev)
{
	if (ev == c->events)
		return 0;
	if (mk_loop_mod_fd(s->loop, c->fd, ev) < 0)
		return -1;
	c->events = ev;
	return 0;
}

static void flush_unlink(struct server *s, struct conn *c)
{
	if (!c->in_flush)
		return;
	if (c->fprev)
		c->fprev->fnext = c->fnext;
	else
		s->flush = c->fnext;
	if (c->fnext)
		c->fnext->fprev = c->fprev;
	c->fprev = c->fnext = NULL;
	c->in_flush = false;
}

static void flush_mark(struct server *s, struct conn *c)
{
	if (!c->in_flush) {
		c->in_flush = true;
		c->fprev = NULL;
		c->fnext = s->flush;
		if (s->flush)
			s->flush->fprev = c;
		s->flush = c;
	}
}

bool server_push_begin(struct server *s, struct conn *c)
{
	flush_mark(s, c);
	if (c->out.len > CONN_PUSH_MAX) {
		/* A slow watcher: drop it rather than buffer without end. */
		mk_resp_buf_consume(&c->out, c->out.len);
		c->closing = true;
		return false;
	}
	return true;
}

static void store_hook(void *ctx, enum store_op op, const struct oct_record *rec)
{
	struct server *s = ctx;

	if (op == STORE_OP_SET && s->wait_idx.n)
		waits_set(s, rec);
	if (s->trig_idx.n)
		triggers_fire(s, op, rec);
}

static void conn_close(struct server *s, struct conn *c)
{
	wait_drop(s, c);
	flush_unlink(s, c);
	/* Its own triggers go before its ephemeral records: a closed
	 * connection gets no events. */
	triggers_drop_conn(s, c);
	subs_drop_conn(s, c);
	mk_loop_del_fd(s->loop, c->fd);
	close(c->fd);
	/* Its ephemeral records go with it. */
	store_del_owned(s->st, c->id, NULL);
	mk_resp_reader_free(c->rd);
	mk_resp_buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c);
}

static void conn_event(struct mk_loop *l, int fd, uint32_t ev, void *arg);

static void conn_new(struct server *s, int fd, bool tcp)
{
	struct mk_resp_limits lim;
	struct conn *c = calloc(1, sizeof(*c));

	mk_resp_limits_default(&lim);
	lim.max_bulk = CONN_MAX_BULK;
	lim.max_frame = CONN_MAX_FRAME;
	if (c)
		c->rd = mk_resp_reader_new(&lim);
	if (!c || !c->rd) {
		free(c);
		close(fd);
		return;
	}
	if (tcp) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->srv = s;
	c->fd = fd;
	c->id = ++s->next_id;
	mk_resp_buf_init(&c->out, 2);
	c->events = MK_LOOP_IN;
	if (mk_loop_add_fd(s->loop, fd, c->events, conn_event, c) < 0) {
		mk_resp_reader_free(c->rd);
		mk_resp_buf_free(&c->out);
		free(c);
		close(fd);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
}

static void do_accept(struct server *s, int lfd, bool tcp)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) &&
			    s->spare_fd >= 0) {
				/* Out of fds: accept and close with the spare
				 * one, or the level-triggered listener spins. */
				close(s->spare_fd);
				fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					close(fd);
				s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				log_refused_for_fds();
				if (fd >= 0)
					continue;
				return;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "octopusd: accept: %s\n",
					strerror(errno));
			return;
		}
		conn_new(s, fd, tcp);
	}
}

static void on_accept_unix(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	(void)l, (void)ev;
	do_accept(arg, fd, false);
}

static void on_accept_tcp(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	(void)l, (void)ev;
	do_accept(arg, fd, true);
}

static void on_signal(struct mk_loop *l, const struct signalfd_siginfo *si, void *arg)
{
	(void)si, (void)arg;
	mk_loop_stop(l);
}

/*
 * Executes the complete commands buffered, up to the output bound. Not
 * while c waits, nor while it is on the ready list (answered, CONN_READY):
 * its commands then run only from the ready list (waits_next_ready), which
 * sets it running; run from an event of c's in the same batch, a new
 * OCT.WAIT would begin with c still on that list, and the list would then
 * mark it running while it waits.
 */
static void conn_process(struct server *s, struct conn *c)
{
	struct mk_resp_command cmd;

	while (!c->closing && c->wstate == CONN_RUN &&
	       c->out.len < CONN_OUT_HIGH) {
		int rc = mk_resp_reader_next_command(c->rd, &cmd);

		if (rc == 0)
			break;
		if (rc > 0) {
			cmd_exec(s, c, &cmd);
			if (s->woken)
				waits_wake(s);
			continue;
		}
		const char *msg = mk_resp_reader_error(c->rd);

		if (rc == -ENOMEM && !msg)
			msg = "out of memory";
		mk_resp_w_error(&c->out, "ERR", msg ? msg : "Protocol error");
		c->closing = true;
	}
}

/* Writes what is pending. -1 if the connection is dead. */
static int conn_flush(struct conn *c)
{
	while (c->out.len) {
		ssize_t n = write(c->fd, c->out.data, c->out.len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		mk_resp_buf_consume(&c->out, (size_t)n);
	}
	return 0;
}

/* After any progress: flush, then pick the events to wait for. */
static void conn_update(struct server *s, struct conn *c)
{
	uint32_t ev = 0;

	if (c->out.failed || conn_flush(c) < 0) {
		conn_close(s, c);
		return;
	}
	if (c->closing && c->out.len == 0) {
		conn_close(s, c);
		return;
	}
	if (c->out.len)
		ev |= MK_LOOP_OUT;
	/* Backpressure: read again only once the client has caught up. */
	/* A waiting client: only its hang-up is watched. */
	if (c->wstate == CONN_WAITING)
		ev |= MK_LOOP_RDHUP;
	else if (!c->closing && !c->eof &&
	    (c->events & MK_LOOP_IN ? c->out.len < CONN_OUT_HIGH :
					   c->out.len <= CONN_OUT_LOW))
		ev |= MK_LOOP_IN;
	if (set_events(s, c, ev) < 0)
		conn_close(s, c);
}

/*
 * The loop masks ev with c->events (and drops an event of a connection
 * closed earlier in the same batch), so what is reported here is what c
 * waits for now.
 */
static void conn_event(struct mk_loop *l, int fd, uint32_t ev, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;

	(void)l, (void)fd;
	if ((ev & (MK_LOOP_ERR | MK_LOOP_HUP) && !(ev & MK_LOOP_IN)) ||
	    (ev & MK_LOOP_RDHUP && c->wstate == CONN_WAITING)) {
		conn_close(s, c);
		return;
	}
	if (ev & MK_LOOP_OUT) {
		if (conn_flush(c) < 0) {
			conn_close(s, c);
			return;
		}
		/* Commands held back by the output bound. */
		if (c->out.len <= CONN_OUT_LOW)
			conn_process(s, c);
	}
	if ((ev & MK_LOOP_IN) && (c->events & MK_LOOP_IN)) {
		ssize_t n = mk_resp_reader_read_fd(c->rd, c->fd);

		if (n == 0) {
			/* Answer what came before the end, then close. */
			c->eof = true;
			conn_process(s, c);
			c->closing = true;
		} else if (n > 0) {
			conn_process(s, c);
		} else if (n == -ENOMEM) {
			mk_resp_w_error(&c->out, "ERR", "out of memory");
			c->closing = true;
		} else if (n != -EAGAIN && n != -EWOULDBLOCK && n != -EINTR) {
			conn_close(s, c);
			return;
		}
	}
	/* Writes wait for the end of the loop's turn, as Redis's for the
	 * end of its epoll batch. */
	flush_mark(s, c);
}

static int mkdir_parent(const char *path)
{
	char *d = strdup(path);
	char *sl;

	if (!d)
		return -1;
	sl = strrchr(d, '/');
	if (sl && sl != d) {
		*sl = '\0';
		for (char *p = d + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			mkdir(d, 0755);
			*p = '/';
		}
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "octopusd: mkdir %s: %s\n", d,
				strerror(errno));
			free(d);
			return -1;
		}
	}
	free(d);
	return 0;
}

/*
 * The socket's directory must be this user's and writable by nobody
 * else: another user who can write there (the /tmp/mk-UID default can be
 * made by anyone first) could swap the socket for their own, and clients
 * would talk to them.
 */
static int check_socket_dir(const char *path)
{
	char *d = strdup(path), *sl;
	struct stat st;
	int ret = -1;

	if (!d)
		return -1;
	sl = strrchr(d, '/');
	if (!sl)
		strcpy(d, ".");
	else if (sl == d)
		d[1] = '\0';
	else
		*sl = '\0';
	if (stat(d, &st) < 0)
		fprintf(stderr, "octopusd: %s: %s\n", d, strerror(errno));
	else if (st.st_uid != geteuid())
		fprintf(stderr, "octopusd: %s: owned by uid %u, not by this user (uid %u): not listening there\n",
			d, (unsigned int)st.st_uid, (unsigned int)geteuid());
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		fprintf(stderr, "octopusd: %s: writable by group or others (mode %04o): not listening there\n",
			d, (unsigned int)(st.st_mode & 07777));
	else
		ret = 0;
	free(d);
	return ret;
}

/*
 * What is at path when bind() finds it taken: a socket nobody answers on
 * is a stale one of ours, replaced; a live server or anything that is not
 * a socket (a file given by mistake, a link) is left as it is.
 */
static int replace_stale_socket(const char *path, const struct sockaddr_un *a)
{
	struct stat st;
	int t;

	if (lstat(path, &st) < 0) {
		fprintf(stderr, "octopusd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "octopusd: %s: exists and is not a socket: not replacing it\n",
			path);
		return -1;
	}
	t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t >= 0 && connect(t, (const struct sockaddr *)a, sizeof(*a)) == 0) {
		close(t);
		fprintf(stderr, "octopusd: %s: another server is listening\n",
			path);
		return -1;
	}
	if (t >= 0)
		close(t);
	if (unlink(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "octopusd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_unix(struct server *s, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "octopusd: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	if (mkdir_parent(path) < 0 || check_socket_dir(path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno != EADDRINUSE)
			goto err;
		if (replace_stale_socket(path, &a) < 0) {
			close(fd);
			return -1;
		}
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			goto err;
	}
	if (listen(fd, 1024) < 0)
		goto err;
	s->unix_fd = fd;
	s->unix_path = strdup(path);
	fprintf(stderr, "octopusd: listening on unix %s\n", path);
	return 0;
err:
	fprintf(stderr, "octopusd: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int listen_tcp(struct server *s, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1;
	char buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a6);
	} else {
		fprintf(stderr, "octopusd: bad address: %s\n", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 1024) < 0)
		goto err;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	inet_ntop(ss.ss_family, ss.ss_family == AF_INET ? (void *)&a4->sin_addr :
		  (void *)&a6->sin6_addr, buf, sizeof(buf));
	s->tcp_fd = fd;
	fprintf(stderr, "octopusd: listening on tcp %s port %d\n", buf, port);
	return 0;
err:
	fprintf(stderr, "octopusd: tcp %s:%d: %s\n", addr, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Last in each turn of the loop: woken waiters get their reply, then run
 * their buffered commands (which may wake others: the loop takes them
 * too); then connections that got push events are flushed.
 */
static int turn_end(struct mk_loop *l, void *arg)
{
	struct server *s = arg;

	(void)l;
	for (struct conn *c; (c = waits_next_ready(s));) {
		conn_process(s, c);
		conn_update(s, c);
	}
	while (s->flush) {
		struct conn *c = s->flush;

		flush_unlink(s, c);
		conn_update(s, c);
	}
	/* Whatever the loop wakes up for next finds the ready list empty. */
	return 0;
}

int server_init(struct server *s, const struct server_opts *o)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->max_watches = o->max_watches ? o->max_watches : MAX_WATCHES;
	s->max_conn_watches = o->max_conn_watches ? o->max_conn_watches :
						    MAX_CONN_WATCHES;
	watchidx_init(&s->trig_idx);
	watchidx_init(&s->sub_idx);
	watchidx_init(&s->wait_idx);
	idmap_init(&s->trig_ids);
	idmap_init(&s->sub_ids);
	s->unix_fd = s->tcp_fd = -1;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	s->st = store_new();
	if (!s->st) {
		fprintf(stderr, "octopusd: out of memory\n");
		return -1;
	}
	store_set_hook(s->st, store_hook, s);
	ret = mk_loop_create(&s->loop);
	if (!ret)
		ret = mk_loop_add_signal(s->loop, SIGTERM, on_signal, s);
	if (!ret)
		ret = mk_loop_add_signal(s->loop, SIGINT, on_signal, s);
	if (ret) {
		fprintf(stderr, "octopusd: event loop: %s\n", strerror(-ret));
		return -1;
	}
	/* Poll after activity before blocking: a request arriving soon after
	 * costs its writer no wake-up (README.md, --poll-us). */
	mk_loop_set_poll_ns(s->loop, (int64_t)o->poll_us * 1000);
	mk_loop_set_turn_hook(s->loop, turn_end, s);
	if (o->unix_path && (listen_unix(s, o->unix_path) < 0 ||
			     mk_loop_add_fd(s->loop, s->unix_fd, MK_LOOP_IN,
					    on_accept_unix, s) < 0))
		return -1;
	if (o->port >= 0 && (listen_tcp(s, o->bind_addr, o->port) < 0 ||
			     mk_loop_add_fd(s->loop, s->tcp_fd, MK_LOOP_IN,
					    on_accept_tcp, s) < 0))
		return -1;
	return 0;
}

int server_run(struct server *s)
{
	int ret;

	sd_notify(0, "READY=1");
	ret = mk_loop_run(s->loop);
	if (ret < 0) {
		fprintf(stderr, "octopusd: event loop: %s\n", strerror(-ret));
		return -1;
	}
	sd_notify(0, "STOPPING=1");
	return 0;
}

void server_fini(struct server *s)
{
	while (s->conns)
		conn_close(s, s->conns);
	if (s->unix_fd >= 0)
		close(s->unix_fd);
	if (s->unix_path) {
		unlink(s->unix_path);
		free(s->unix_path);
	}
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	if (s->st)
		store_free(s->st);
	s->st = NULL;
	watchidx_fini(&s->trig_idx);
	watchidx_fini(&s->sub_idx);
	idmap_fini(&s->trig_ids);
	idmap_fini(&s->sub_ids);
	waits_fini(s);
	/* Last: closing connections took their fds and timers out of it. */
	mk_loop_destroy(s->loop);
	s->loop = NULL;
}
