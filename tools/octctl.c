// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octctl: the command line of Octopus (octopusd), through libmk's client.
 *   octctl [-s SOCKET | -t HOST:PORT] get|names|set|del|exists ARGS...
 * Exit status: 0, 1 for an Octopus error (message on stderr; "exists"
 * also exits 1 when nothing matches), 2 for bad usage or no connection.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		"SOCKET defaults to %s.\n", mk_oct_default_socket());
}

static int fail(struct mk_oct *c, const char *what, int ret)
{
	if (ret > 0) {
		fprintf(stderr, "octctl: %s: %s: %s\n", what, oct_err_name(ret), mk_oct_error(c));
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

static int run(struct mk_oct *c, const char *cmd, int argc, char **argv)
{
	enum mk_oct_set_flags flags = MK_OCT_SET_PLAIN;
	char *out = NULL, **names;
	bool found;
	size_t n;
	int ret, i = 0;

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
