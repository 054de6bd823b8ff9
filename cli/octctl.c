// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octctl: the command line of Octopus (octopusd), through libmk's client.
 *   octctl [-s SOCKET | -t HOST:PORT] COMMAND ARGS...   (octctl --help)
 * Exit status: 0, 1 for an Octopus error (message on stderr; "exists"
 * also exits 1 when nothing matches, "wait" when it timed out), 2 for bad
 * usage or no connection; lock and barrier exit with CMD's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mk/octopus.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: octctl [-s SOCKET | -t HOST:PORT] COMMAND ARGS...\n"
		"  get QUERY                       the first matching record\n"
		"  names QUERY                     the names of all matches, natural order\n"
		"  set [--seq] [--ephemeral] REC   store a record (--seq prints its name)\n"
		"  del QUERY                       delete a record (literal name)\n"
		"  exists QUERY                    exit 0 if a record matches, else 1\n"
		"  wait QUERY [--timeout MS]       the first match, as soon as one exists\n"
		"                                  (exit 1 after MS milliseconds without)\n"
		"  watch QUERY [--on set,del] [--persist] [-n COUNT]\n"
		"                                  print matching changes: ON_SET|ON_DEL RECORD,\n"
		"                                  REMOVED; one-shot unless --persist; stop after\n"
		"                                  COUNT events\n"
		"  publish RECORD                  publish (nothing stored); prints deliveries\n"
		"  subscribe QUERY [-n COUNT]      print published records that match\n"
		"  lock NAME -- CMD [ARG...]       run CMD holding the lock NAME; CMD's status\n"
		"  barrier NAME N -- CMD [ARG...]  enter the double barrier NAME of N\n"
		"                                  participants, run CMD, leave; CMD's status\n"
		"watch and subscribe say \"octctl: watching\" on stderr once installed.\n"
		"SOCKET defaults to %s.\n", mk_oct_default_socket());
}

/* An Octopus error the server answered: 1; anything else 2. */
static int fail(struct mk_oct *c, const char *what, int ret)
{
	int code = mk_oct_error_code(c);

	if (code) {
		fprintf(stderr, "octctl: %s: %s: %s\n", what, oct_err_name(code), mk_oct_error(c));
		return 1;
	}
	fprintf(stderr, "octctl: %s: %s\n", what, strerror(-ret));
	return 2;
}

static int connect_to(struct mk_oct **c, const char *sock, const char *tcp)
{
	char host[64];
	unsigned int port;

	if (!tcp)
		return mk_oct_connect(c, sock);
	if (sscanf(tcp, "%63[^:]:%u", host, &port) != 2)
		return -EINVAL;
	return mk_oct_connect_tcp(c, host, port);
}

/* A count or a duration: digits only, within a long. */
static bool parse_num(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s && !*end && !errno && *out >= 0;
}

static const char *const ev_names[] = {
	[MK_OCT_EV_SET] = "ON_SET", [MK_OCT_EV_DEL] = "ON_DEL",
	[MK_OCT_EV_REMOVED] = "REMOVED", [MK_OCT_EV_PUBLISH] = "PUBLISH",
};

/* Prints queued events until @count (0: no end) or the trigger is gone. */
static int print_events(struct mk_oct *c, long count, bool records_only)
{
	struct mk_oct_event ev;
	int ret;

	fprintf(stderr, "octctl: watching\n");
	for (long k = 0; !count || k < count; k++) {
		ret = mk_oct_next_event(c, -1, &ev);
		if (ret < 0)
			return fail(c, "event", ret);
		if (records_only)
			printf("%s\n", ev.record);
		else if (ev.record)
			printf("%s %s\n", ev_names[ev.type], ev.record);
		else
			printf("%s\n", ev_names[ev.type]);
		fflush(stdout);
		if (ev.last)
			break;
	}
	return 0;
}

static int cmd_watch(struct mk_oct *c, int argc, char **argv)
{
	struct mk_oct_trigger t = mk_oct_mktrigger(MK_OCT_ALWAYS, MK_OCT_ON_SET_DEL,
						   MK_OCT_ONCE, MK_OCT_QUEUE);
	const char *query = NULL;
	long count = 0;
	uint64_t tid;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--persist")) {
			t.persist = MK_OCT_PERSIST;
		} else if (!strcmp(argv[i], "--on") && i + 1 < argc) {
			i++;
			if (!strcmp(argv[i], "set"))
				t.mode = MK_OCT_ON_SET;
			else if (!strcmp(argv[i], "del"))
				t.mode = MK_OCT_ON_DEL;
			else if (!strcmp(argv[i], "set,del") || !strcmp(argv[i], "del,set"))
				t.mode = MK_OCT_ON_SET_DEL;
			else
				return -1;
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			if (!parse_num(argv[++i], &count))
				return -1;
		} else if (!query) {
			query = argv[i];
		} else {
			return -1;
		}
	}
	if (!query)
		return -1;
	ret = mk_oct_watch(c, query, &t, &tid);
	return ret ? fail(c, "watch", ret) : print_events(c, count, false);
}

static int cmd_subscribe(struct mk_oct *c, int argc, char **argv)
{
	long count = 0;
	uint64_t sid;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "-n") && parse_num(argv[2], &count))
		argc = 1;
	if (argc != 1)
		return -1;
	ret = mk_oct_subscribe(c, argv[0], MK_OCT_QUEUE, &sid);
	return ret ? fail(c, "subscribe", ret) : print_events(c, count, true);
}

static int cmd_wait(struct mk_oct *c, int argc, char **argv)
{
	long ms = -1;
	char *rec;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "--timeout") && parse_num(argv[2], &ms) &&
	    ms <= INT64_MAX / 1000000)
		argc = 1;
	if (argc != 1)
		return -1;
	ret = mk_oct_wait_for(c, argv[0], ms < 0 ? -1 : (int64_t)ms * 1000000, &rec);
	if (ret == -ETIMEDOUT) {
		fprintf(stderr, "octctl: wait: no record matched within %ld ms\n", ms);
		return 1;
	}
	if (ret)
		return fail(c, "wait", ret);
	printf("%s\n", rec);
	free(rec);
	return 0;
}

/* CMD's process group while it runs (for forward()); 0 when none. */
static volatile sig_atomic_t cmd_pgrp;

/* TERM, INT and HUP to octctl go to CMD's process group: octctl stays
 * until CMD is gone, and only then lets the lock or barrier go. */
static void forward(int sig)
{
	if (cmd_pgrp > 0)
		kill(-(pid_t)cmd_pgrp, sig);
}

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP };
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/*
 * The child side of run_cmd(): CMD in a process group of its own, killed
 * if octctl dies, and holding octctl's connection to octopusd. The server
 * releases what the connection holds (the lock's ephemeral ticket) when
 * the socket's last descriptor closes, so after a SIGKILL of octctl the
 * lock goes only once CMD (and whatever of it kept the descriptor) is
 * gone: PR_SET_PDEATHSIG alone would race the server's release.
 */
static void exec_cmd(struct mk_oct *c, char **argv, pid_t parent,
		     const sigset_t *mask)
{
	int fd = mk_oct_fd(c);

	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);	/* octctl is already gone: run nothing */
	if (fd >= 0 && fcntl(fd, F_SETFD, 0) < 0)
		_exit(127);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
	fprintf(stderr, "octctl: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Runs argv[0] and waits for it: its exit status, 128+N for signal N.
 * What CMD leaves behind in its process group is killed before the
 * caller releases anything: nothing CMD started outlives the lock.
 */
static int run_cmd(struct mk_oct *c, char **argv)
{
	struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
	struct sigaction old[NFORWARDED];
	pid_t parent = getpid(), pid;
	sigset_t block, mask;
	siginfo_t info;
	int st = 0, ret = 0;

	fflush(stdout);
	/* Blocked across fork: a signal before cmd_pgrp is set waits. */
	sigemptyset(&block);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &mask);
	pid = fork();
	if (pid == 0)
		exec_cmd(c, argv, parent, &mask);
	if (pid < 0) {
		perror("octctl: fork");
		sigprocmask(SIG_SETMASK, &mask, NULL);
		return 2;
	}
	setpgid(pid, pid);	/* as the child does: whichever runs first */
	cmd_pgrp = pid;
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &sa, &old[i]);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/* Waited for unreaped: while CMD is a zombie its pid, the group's
	 * id, cannot be taken by another process, so the kill hits only
	 * what is left of CMD's group. */
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR) {
			ret = 2;
			break;
		}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			ret = 2;
			break;
		}
	sigprocmask(SIG_BLOCK, &block, NULL);
	cmd_pgrp = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (ret)
		return ret;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* NAME [N] -- CMD...: the index of CMD, or -1. */
static int split_cmd(int argc, char **argv, int nargs)
{
	return argc > nargs + 1 && !strcmp(argv[nargs], "--") ? nargs + 1 : -1;
}

static int cmd_lock(struct mk_oct *c, int argc, char **argv)
{
	int k = split_cmd(argc, argv, 1), ret, st;
	struct mk_oct_lock l;

	if (k < 0)
		return -1;
	ret = mk_oct_lock(c, argv[0], &l);
	if (ret)
		return fail(c, "lock", ret);
	st = run_cmd(c, argv + k);
	ret = mk_oct_unlock(c, &l);
	return ret ? fail(c, "unlock", ret) : st;
}

static int cmd_barrier(struct mk_oct *c, int argc, char **argv)
{
	int k = split_cmd(argc, argv, 2), ret, st;
	struct mk_oct_barrier b;
	long n;

	if (k < 0 || !parse_num(argv[1], &n) || n < 1 || n > 1000000)
		return -1;
	ret = mk_oct_barrier_init(&b, argv[0], (unsigned int)n);
	if (!ret)
		ret = mk_oct_barrier_enter(c, &b);
	if (ret) {
		mk_oct_barrier_destroy(&b);
		return fail(c, "barrier enter", ret);
	}
	st = run_cmd(c, argv + k);
	ret = mk_oct_barrier_leave(c, &b);
	mk_oct_barrier_destroy(&b);
	return ret ? fail(c, "barrier leave", ret) : st;
}

static int cmd_publish(struct mk_oct *c, int argc, char **argv)
{
	size_t n;
	int ret;

	if (argc != 1)
		return -1;
	ret = mk_oct_publish(c, argv[0], &n);
	if (ret)
		return fail(c, "publish", ret);
	printf("%zu\n", n);
	return 0;
}

static int run(struct mk_oct *c, const char *cmd, int argc, char **argv)
{
	enum mk_oct_set_flags flags = MK_OCT_SET_PLAIN;
	char *out = NULL, **names;
	bool found;
	size_t n;
	int ret, i = 0;
	static const struct {
		const char *name;
		int (*fn)(struct mk_oct *, int, char **);
	} more[] = {
		{ "wait", cmd_wait }, { "watch", cmd_watch }, { "publish", cmd_publish },
		{ "subscribe", cmd_subscribe }, { "lock", cmd_lock }, { "barrier", cmd_barrier },
	};

	for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++)
		if (!strcmp(cmd, more[k].name))
			return more[k].fn(c, argc, argv);
	if (!strcmp(cmd, "set")) {
		for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
			if (!strcmp(argv[i], "--seq"))
				flags |= MK_OCT_SET_SEQ;
			else if (!strcmp(argv[i], "--ephemeral"))
				flags |= MK_OCT_SET_EPHEMERAL;
			else
				return -1;
		}
	}
	if (argc - i != 1)
		return -1;
	if (!strcmp(cmd, "get")) {
		ret = mk_oct_get(c, argv[i], &out);
		if (!ret)
			printf("%s\n", out);
	} else if (!strcmp(cmd, "names")) {
		ret = mk_oct_names(c, argv[i], &names, &n);
		for (size_t k = 0; !ret && k < n; k++)
			printf("%s\n", names[k]);
		if (!ret)
			mk_oct_free_names(names, n);
	} else if (!strcmp(cmd, "set")) {
		ret = mk_oct_set(c, argv[i], flags, &out);
		if (!ret && out)
			printf("%s\n", out);
	} else if (!strcmp(cmd, "del")) {
		ret = mk_oct_del(c, argv[i]);
	} else if (!strcmp(cmd, "exists")) {
		ret = mk_oct_exists(c, argv[i], &found);
		if (!ret && !found)
			return 1;	/* an answer, not an error: quietly, like test(1) */
	} else {
		return -1;
	}
	free(out);
	return ret ? fail(c, cmd, ret) : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "tcp", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *tcp = NULL;
	struct mk_oct *c;
	int opt, ret;

	/* "+": options stop at the command, so records may start with '-' */
	while ((opt = getopt_long(argc, argv, "+s:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 't':
			tcp = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	ret = connect_to(&c, sock, tcp);
	if (ret) {
		fprintf(stderr, "octctl: cannot connect to %s: %s\n",
			tcp ? tcp : sock ? sock : mk_oct_default_socket(), strerror(-ret));
		return 2;
	}
	ret = run(c, argv[optind], argc - optind - 1, argv + optind + 1);
	mk_oct_close(c);
	if (ret < 0) {
		usage(stderr);
		return 2;
	}
	return ret;
}
