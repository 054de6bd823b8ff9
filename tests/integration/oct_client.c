// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oct_client SOCKET: libmk's Octopus client against a running octopusd.
 * Prints TAP.
 */
#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/octopus.h>

static int n, failed;

#define CHECK(cond, ...) do {						\
	n++;								\
	if (!(cond))							\
		failed++;						\
	printf("%sok %d - ", (cond) ? "" : "not ", n);			\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

int main(int argc, char **argv)
{
	struct mk_oct *c, *eph;
	char *rec = NULL, *name = NULL, **names = NULL;
	size_t nn = 0;
	bool found = true;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: oct_client SOCKET\n");
		return 2;
	}
	ret = mk_oct_connect(&c, argv[1]);
	CHECK(!ret, "connect to %s (%d)", argv[1], ret);
	if (ret)
		return 1;
	CHECK(mk_oct_connect(&eph, "/nonexistent/octopus.sock") == -ENOENT,
	      "connect to a socket that does not exist: -ENOENT");

	CHECK(!mk_oct_set(c, "client.obj1 { weight: 20, name: 'one' }", MK_OCT_SET_PLAIN, NULL),
	      "set a record");
	ret = mk_oct_get(c, "client.obj1", &rec);
	CHECK(!ret && rec && !strcmp(rec, "client.obj1 { name: 'one', weight: 20 }"),
	      "get it back, printed canonically: %s", rec ? rec : "(none)");
	free(rec);
	rec = NULL;
	ret = mk_oct_get(c, "r'^client\\.obj' { weight > 10 }", &rec);
	CHECK(!ret && rec && !strncmp(rec, "client.obj1 ", 12), "get by regex and constraint");
	free(rec);
	rec = NULL;
	ret = mk_oct_get(c, "client.nothing", &rec);
	CHECK(ret == OCT_ERR_NO_RECORD && *mk_oct_error(c),
	      "a missing record: NO_RECORD (%d, '%s')", ret, mk_oct_error(c));
	ret = mk_oct_get(c, "client { weight: ", &rec);
	CHECK(ret == OCT_ERR_PARSER_FAIL, "a malformed query: PARSER_FAIL (%d)", ret);
	ret = mk_oct_set(c, "client.obj1 { weight > 100 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(ret == OCT_ERR_CONSTRAINT_MISMATCH, "a conditional set that does not hold: "
	      "CONSTRAINT_MISMATCH (%d)", ret);
	ret = mk_oct_set(c, "_ { weight: 1 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(ret == OCT_ERR_NO_RECORD_NAME, "a set without a literal name: NO_RECORD_NAME (%d)", ret);

	for (int i = 0; i < 12; i++) {
		char r[64];

		snprintf(r, sizeof(r), "client.x%d { i: %d }", i, i);
		mk_oct_set(c, r, MK_OCT_SET_PLAIN, NULL);
	}
	ret = mk_oct_names(c, "r'^client\\.x'", &names, &nn);
	CHECK(!ret && nn == 12 && !strcmp(names[1], "client.x1") &&
	      !strcmp(names[2], "client.x2") && !strcmp(names[11], "client.x11"),
	      "names in natural order (x2 before x10)");
	mk_oct_free_names(names, nn);

	ret = mk_oct_set(c, "client.seq. { v: 1 }", MK_OCT_SET_SEQ, &name);
	CHECK(!ret && name && !strcmp(name, "client.seq.0"), "sequential set: %s", name ? name : "?");
	free(name);
	name = NULL;
	ret = mk_oct_set(c, "client.seq. { v: 2 }", MK_OCT_SET_SEQ, &name);
	CHECK(!ret && name && !strcmp(name, "client.seq.1"), "and the next: %s", name ? name : "?");
	free(name);

	CHECK(!mk_oct_exists(c, "client.obj1", &found) && found, "exists");
	ret = mk_oct_del(c, "client.obj1");
	CHECK(!ret && !mk_oct_exists(c, "client.obj1", &found) && !found,
	      "del, then it does not exist (%d '%s')", ret, mk_oct_error(c));

	ret = mk_oct_connect(&eph, argv[1]);
	CHECK(!ret && !mk_oct_set(eph, "client.eph { alive: true }", MK_OCT_SET_EPHEMERAL, NULL) &&
	      !mk_oct_exists(c, "client.eph", &found) && found,
	      "an ephemeral record set over another connection exists");
	if (!ret)
		mk_oct_close(eph);
	/* the daemon deletes it when it sees the connection close */
	for (int i = 0; i < 200 && !mk_oct_exists(c, "client.eph", &found) && found; i++) {
		struct timespec ts = { 0, 5000000 };

		nanosleep(&ts, NULL);
	}
	CHECK(!found, "the ephemeral record goes with its connection");

	const char *bad[] = { "NO.SUCH.COMMAND" };
	const struct mk_resp_value *v;

	CHECK(!mk_oct_command(c, 1, bad, &v) && v->type == MK_RESP_ERROR,
	      "an unknown command is an error reply");
	mk_oct_close(c);
	printf("1..%d\n", n);
	return failed != 0;
}
