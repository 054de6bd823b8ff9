// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd: the Octopus coordination service, speaking RESP (README.md).
 *
 *   octopusd [--unix PATH] [--port N] [--bind ADDR] [--poll-us N]
 *            [--max-watches N] [--max-conn-watches N] [--help]
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mk/octopus.h>

#include "server.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: octopusd [--unix PATH] [--port N] [--bind ADDR] [--poll-us N]\n"
"                [--max-watches N] [--max-conn-watches N] [--help]\n"
"  --unix PATH   Unix socket (default /run/mk/octopus.sock as root, else\n"
"                $XDG_RUNTIME_DIR/mk/octopus.sock or /tmp/mk-UID/octopus.sock;\n"
"                the directory is created; '' for none)\n"
"  --port N      also listen on TCP port N (0: any free port, printed)\n"
"  --bind ADDR   TCP address (default 127.0.0.1)\n"
"  --poll-us N   after activity, poll for N microseconds before sleeping\n"
"                (fewer wake-ups under load, costs CPU; default 200, 0: off)\n"
"  --max-watches N       triggers and subscriptions in all (default %u)\n"
"  --max-conn-watches N  ... of one connection (default %u)\n"
"Stops cleanly on SIGTERM/SIGINT, removing the socket file.\n",
		MAX_WATCHES, MAX_CONN_WATCHES);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "unix", required_argument, NULL, 'u' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "poll-us", required_argument, NULL, 'P' },
		{ "max-watches", required_argument, NULL, 'W' },
		{ "max-conn-watches", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server_opts o = { .bind_addr = "127.0.0.1", .port = -1,
				 .poll_us = 200 };
	struct server s;
	bool unix_given = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "u:p:b:P:W:C:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'u':
			o.unix_path = *optarg ? optarg : NULL;
			unix_given = true;
			break;
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);

			if (*end || p < 0 || p > 65535) {
				fprintf(stderr, "octopusd: bad port: %s\n", optarg);
				return 2;
			}
			o.port = (int)p;
			break;
		}
		case 'P': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || v > 1000000) {
				fprintf(stderr, "octopusd: bad --poll-us: %s\n", optarg);
				return 2;
			}
			o.poll_us = (unsigned int)v;
			break;
		}
		case 'W':
		case 'C': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || !*optarg || *optarg == '-' || !v ||
			    v > SIZE_MAX / 2) {
				fprintf(stderr, "octopusd: bad --%s: %s\n",
					opt == 'W' ? "max-watches" :
						     "max-conn-watches", optarg);
				return 2;
			}
			if (opt == 'W')
				o.max_watches = (size_t)v;
			else
				o.max_conn_watches = (size_t)v;
			break;
		}
		case 'b':
			o.bind_addr = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!unix_given)
		o.unix_path = mk_oct_default_socket();	/* where clients look */
	if (!o.unix_path && o.port < 0) {
		fprintf(stderr, "octopusd: no socket to listen on\n");
		return 2;
	}
	rc = server_init(&s, &o);
	if (rc == 0)
		rc = server_run(&s);
	server_fini(&s);
	return rc ? 1 : 0;
}
