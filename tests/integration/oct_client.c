// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oct_client SOCKET: libmk's Octopus client against a running octopusd.
 * Prints TAP.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mk/octopus.h>

#include "../lib/tap.h"

/* The client's timeouts are nanoseconds. */
#define MS(n)	((int64_t)(n) * 1000000)

/* ret is @err, the errno <mk/octopus.h> gives the server's @code, with both set. */
static bool refused(struct mk_oct *c, int ret, int err, int code)
{
	return ret == err && mk_oct_error_code(c) == code && *mk_oct_error(c);
}

/* What a handler saw. */
struct seen {
	int events, sets, dels, removed, last;
	uint64_t id;
	char rec[256];
};

static void handler(struct mk_oct *c, const struct mk_oct_event *ev, void *state)
{
	struct seen *s = state;

	(void)c;
	s->events++;
	s->sets += ev->type == MK_OCT_EV_SET || ev->type == MK_OCT_EV_PUBLISH;
	s->dels += ev->type == MK_OCT_EV_DEL;
	s->removed += ev->type == MK_OCT_EV_REMOVED;
	s->last += ev->last;
	s->id = ev->id;
	snprintf(s->rec, sizeof(s->rec), "%s", ev->record ? ev->record : "");
}

/* Runs handlers until nothing more comes for @ms milliseconds. */
static int drain(struct mk_oct *c, long ms)
{
	int total = 0, r;

	while ((r = mk_oct_dispatch(c, MS(ms))) > 0)
		total += r;
	return r < 0 ? r : total;
}

/* Barrelfish's getset test: constraints and regexes through the client. */
static void test_getset(struct mk_oct *c)
{
	static const char *const recs[] = {
		"bf.object1 { weight: 10 }",
		"bf.object2 { weight: 20 }",
		"bf.object3 { attr: 'Somestring', weight: 9, fl: 12.0 }",
		"bf.object4 { attr: 'Somestring', fl: 12.0, weight: 20 }",
	};
	char *rec = NULL, **names = NULL, *sval = NULL, *nm = NULL;
	int64_t w = 0;
	double fl = 0;
	size_t nn = 0;
	int ret;

	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++)
		mk_oct_set(c, recs[i], MK_OCT_SET_PLAIN, NULL);
	ret = mk_oct_names(c, "r'^bf\\.' { weight >= 10 }", &names, &nn);
	CHECK(!ret && nn == 3 && !strcmp(names[0], "bf.object1") &&
	      !strcmp(names[2], "bf.object4"), "names with a constraint: %zu", nn);
	mk_oct_free_names(names, nn);
	ret = mk_oct_get(c, "_ { attr: r'^Some', weight < 10 }", &rec);
	CHECK(!ret && rec && !strncmp(rec, "bf.object3 ", 11), "get by a value regex and a "
	      "constraint: %s", rec ? rec : "?");
	free(rec);
	rec = NULL;
	ret = mk_oct_get(c, "_ { fl > 11.0, weight == 20 }", &rec);
	CHECK(!ret && rec && !strcmp(rec, "bf.object4 { attr: 'Somestring', fl: 12.0, weight: 20 }"),
	      "float and int constraints, printed sorted: %s", rec ? rec : "?");
	ret = oct_read(rec, "%s { weight: %d, attr: %s, fl: %f }", &nm, &w, &sval, &fl);
	CHECK(ret == OCT_OK && nm && !strcmp(nm, "bf.object4") && w == 20 && sval &&
	      !strcmp(sval, "Somestring") && fl == 12.0,
	      "oct_read reads the record back (%%s %%d %%s %%f)");
	CHECK(oct_read(rec, "_ { nothing: %d }", &w) == OCT_ERR_UNKNOWN_ATTRIBUTE &&
	      oct_read(rec, "_ { attr: %d }", &w) == OCT_ERR_TYPE_MISMATCH,
	      "oct_read: a missing attribute, a type mismatch");
	free(rec);
	free(nm);
	free(sval);
	ret = mk_oct_set(c, "bf.object2 { weight: 25, weight == 20 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(!ret, "a conditional set that holds (%d)", ret);
	ret = mk_oct_set(c, "bf.object2 { weight: 30, weight == 20 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(refused(c, ret, -ECANCELED, OCT_ERR_CONSTRAINT_MISMATCH),
	      "and the same again does not: -ECANCELED (%d)", ret);
}

static void test_triggers(struct mk_oct *c, struct mk_oct *other)
{
	struct mk_oct_trigger once = mk_oct_mktrigger(MK_OCT_IF(OCT_ERR_NO_RECORD), MK_OCT_ON_SET,
						      MK_OCT_ONCE, MK_OCT_HANDLER(handler, NULL));
	struct mk_oct_trigger pers = mk_oct_mktrigger(MK_OCT_ALWAYS, MK_OCT_ON_SET_DEL,
						      MK_OCT_PERSIST, MK_OCT_HANDLER(handler, NULL));
	struct mk_oct_trigger ifok = mk_oct_mktrigger(MK_OCT_IF_OK, MK_OCT_ON_DEL,
						      MK_OCT_ONCE, MK_OCT_QUEUE);
	struct seen a = { 0 }, b = { 0 };
	struct mk_oct_event ev;
	uint64_t tid = 0, tid2 = 0;
	char *rec = NULL, **names;
	size_t nn;
	bool found = true;
	int ret;

	once.target.state = &a;
	ret = mk_oct_exists_watch(c, "trg.one", &once, &found, &tid);
	CHECK(!ret && !found && tid > 0, "exists with a one-shot trigger, IF NO_RECORD: "
	      "not found, installed (id %llu)", (unsigned long long)tid);
	mk_oct_set(other, "trg.one { v: 1 }", MK_OCT_SET_PLAIN, NULL);
	mk_oct_set(other, "trg.one { v: 2 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(drain(c, 100) == 1 && a.events == 1 && a.sets == 1 && a.last == 1 &&
	      a.id == tid && !strcmp(a.rec, "trg.one { v: 1 }"),
	      "the one-shot handler ran once, with the record and 'last' (%d events, %s)",
	      a.events, a.rec);
	ret = mk_oct_exists_watch(c, "trg.one", &once, &found, &tid);
	CHECK(!ret && found && tid == 0, "IF NO_RECORD on a record that exists: no trigger");

	pers.target.state = &b;
	ret = mk_oct_get_watch(c, "r'^trg\\.p' { n: _ }", &pers, &rec, &tid);
	CHECK(refused(c, ret, -ENODATA, OCT_ERR_NO_RECORD) && tid > 0,
	      "get with a persistent trigger, always: NO_RECORD, installed anyway");
	for (int i = 0; i < 3; i++) {
		char r[64];

		snprintf(r, sizeof(r), "trg.p%d { n: %d }", i, i);
		mk_oct_set(other, r, MK_OCT_SET_PLAIN, NULL);
	}
	mk_oct_set(other, "trg.q { n: 9 }", MK_OCT_SET_PLAIN, NULL);	/* no match */
	mk_oct_del(other, "trg.p1");
	CHECK(drain(c, 100) == 4 && b.sets == 3 && b.dels == 1 && b.last == 0,
	      "the persistent trigger saw 3 sets and 1 delete, nothing else");
	/* Our own set: the event comes before the reply, the handler later. */
	CHECK(!mk_oct_set(c, "trg.p7 { n: 7 }", MK_OCT_SET_PLAIN, NULL) && b.events == 4 &&
	      mk_oct_pending(c), "an event that came with a reply waits, queued");
	CHECK(drain(c, 50) == 1 && b.sets == 4, "and is dispatched later");
	CHECK(!mk_oct_rmtrigger(c, tid) && drain(c, 100) == 1 && b.removed == 1 && b.last == 1,
	      "removing it: the final REMOVED event reaches the handler");
	mk_oct_set(other, "trg.p8 { n: 8 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(drain(c, 100) == 0 && b.events == 6, "and then nothing more");
	ret = mk_oct_rmtrigger(c, tid);
	CHECK(refused(c, ret, -ESRCH, OCT_ERR_INVALID_ID), "removing it again: INVALID_ID (%d)",
	      ret);

	/* A queue target, read with next_event, and the event loop's fd. */
	ret = mk_oct_names_watch(c, "r'^trg\\.p'", &ifok, &names, &nn, &tid);
	CHECK(!ret && nn == 4 && tid > 0, "names with a trigger IF OK: %zu names", nn);
	if (!ret)
		mk_oct_free_names(names, nn);
	ret = mk_oct_del_watch(c, "trg.nothing", &ifok, &tid2);
	CHECK(refused(c, ret, -ENODATA, OCT_ERR_NO_RECORD) && tid2 == 0,
	      "del of nothing with a trigger IF OK: "
	      "NO_RECORD, not installed");
	mk_oct_del(other, "trg.p0");
	{
		struct pollfd pfd = { .fd = mk_oct_fd(c), .events = POLLIN };

		CHECK(poll(&pfd, 1, 2000) == 1, "the connection's fd polls readable for an event");
	}
	/* 0: what the socket holds now, which poll said is something. */
	ret = mk_oct_next_event(c, 0, &ev);
	CHECK(ret == 1 && ev.type == MK_OCT_EV_DEL && ev.id == tid && ev.last &&
	      !strcmp(ev.record, "trg.p0 { n: 0 }"), "next_event: ON_DEL of trg.p0, last");
	CHECK(mk_oct_next_event(c, MS(50), &ev) == 0, "then none (timeout)");
	ret = mk_oct_set_watch(c, "trg.s { v: 1 }", MK_OCT_SET_PLAIN, &ifok, NULL, &tid);
	CHECK(!ret && tid > 0 && !mk_oct_del(other, "trg.s") && mk_oct_next_event(c, MS(1000), &ev) == 1 &&
	      ev.id == tid, "set with a trigger on its own record sees its deletion");
	free(rec);
}

/* Barrelfish's pubsub test: four subscriptions, seven publications. */
static void test_pubsub(struct mk_oct *c, struct mk_oct *pub)
{
	static const char *const queries[4] = {
		"r'^ps\\.' { n: _ }", "_ { n > 3 }", "_ { color: 'red' }", "ps.x3",
	};
	static const int want[4] = { 7, 4, 2, 1 };
	struct seen s[4] = { { 0 } };
	uint64_t sid[4];
	char *rec = NULL;
	size_t delivered, total = 0;
	int ret = 0, ok = 1;

	for (int i = 0; i < 4; i++)
		ret |= mk_oct_subscribe(c, queries[i], MK_OCT_HANDLER(handler, &s[i]), &sid[i]);
	CHECK(!ret, "four subscriptions");
	for (int i = 1; i <= 7; i++) {
		char r[64];

		snprintf(r, sizeof(r), "ps.x%d { n: %d, color: %s }", i, i,
			 i % 3 ? "'blue'" : "'red'");
		ret = mk_oct_publish(pub, r, &delivered);
		ok &= !ret;
		total += delivered;
	}
	CHECK(ok && total == 14, "seven publications, 14 deliveries in all (%zu)", total);
	drain(c, 100);
	for (int i = 0; i < 4; i++)
		CHECK(s[i].events == want[i] && s[i].id == sid[i], "subscription '%s' got %d (%d)",
		      queries[i], want[i], s[i].events);
	ret = mk_oct_get(pub, "ps.x1", &rec);
	CHECK(refused(pub, ret, -ENODATA, OCT_ERR_NO_RECORD), "nothing published was stored");
	CHECK(!mk_oct_unsubscribe(c, sid[0]) && !mk_oct_publish(pub, "ps.x9 { n: 1 }", &delivered) &&
	      delivered == 0, "unsubscribed: a publication reaches nobody");
	ret = mk_oct_unsubscribe(c, sid[0]);
	CHECK(refused(c, ret, -ESRCH, OCT_ERR_INVALID_ID), "unsubscribing again: INVALID_ID (%d)",
	      ret);
}

static void test_wait_for(struct mk_oct *c, const char *sock)
{
	char *rec = NULL;
	pid_t pid;
	int st;

	CHECK(mk_oct_wait_for(c, "wf.none", MS(100), &rec) == -ETIMEDOUT, "wait_for times out");
	CHECK(mk_oct_wait_for(c, "wf.none", 0, &rec) == -ETIMEDOUT && !mk_oct_error_code(c),
	      "wait_for 0 does not wait: -ETIMEDOUT, not a refusal");
	pid = fork();
	if (pid == 0) {
		struct mk_oct *o;
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
		if (mk_oct_connect(&o, sock) || mk_oct_set(o, "wf.rec { ready: true }",
							   MK_OCT_SET_PLAIN, NULL))
			_exit(1);
		mk_oct_close(o);
		_exit(0);
	}
	CHECK(!mk_oct_wait_for(c, "_ { ready: true }", MS(5000), &rec) && rec &&
	      !strcmp(rec, "wf.rec { ready: true }"), "wait_for wakes when a match is set");
	free(rec);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st), "the setter ran");
}

static long us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

static long ms_since(const struct timespec *t0)
{
	return us_since(t0) / 1000;
}

/*
 * The reply spin stays within the caller's timeout, whatever the spin
 * budget: with $MK_CHAN_SPIN_NS at 2 s and the reply estimate brought
 * down by waits that end at once (events already in the socket when
 * looked for), the budget is that 2 s, and a 20 ms wait for an event that
 * never comes must still return within about 20 ms.
 */
static void test_spin_within_timeout(const char *sock, struct mk_oct *pub)
{
	struct timespec t0, gap = { 0, 3000000 };
	struct mk_oct_event ev;
	struct mk_oct *o;
	size_t delivered;
	uint64_t sid;
	int ret, ok = 1;
	long ms;

	setenv("MK_CHAN_SPIN_NS", "2000000000", 1);
	ret = mk_oct_connect(&o, sock);
	unsetenv("MK_CHAN_SPIN_NS");
	CHECK(!ret, "connect with a 2 s spin budget (%d)", ret);
	if (ret)
		return;
	CHECK(!mk_oct_subscribe(o, "spin.ev { n: _ }", MK_OCT_QUEUE, &sid), "subscribe");
	for (int i = 0; i < 40; i++) {
		char r[64];

		snprintf(r, sizeof(r), "spin.ev { n: %d }", i);
		ok &= !mk_oct_publish(pub, r, &delivered) && delivered >= 1;
		nanosleep(&gap, NULL);
		ok &= mk_oct_next_event(o, MS(5000), &ev) == 1;
	}
	CHECK(ok, "40 events, each in the socket before it is looked for");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mk_oct_next_event(o, MS(20), &ev);
	ms = ms_since(&t0);
	CHECK(ret == 0 && ms < 500, "a 20 ms wait with a 2 s spin budget takes %ld ms (%d)",
	      ms, ret);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mk_oct_dispatch(o, 0);
	ms = ms_since(&t0);
	CHECK(ret == 0 && ms < 100, "and a 0 ms one does not spin (%ld ms)", ms);
	mk_oct_close(o);
}

/* A record of @n attributes "qs.big { a0: 0, a1: 1, ... }" (free()). */
static char *big_record(int n)
{
	size_t cap = 32 + (size_t)n * 24, len;
	char *r = malloc(cap);

	if (!r)
		return NULL;
	len = (size_t)snprintf(r, cap, "qs.big {");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(r + len, cap - len, "%s a%d: %d", i ? "," : "", i, i);
	snprintf(r + len, cap - len, " }");
	return r;
}

/*
 * Each refusal the server can answer comes back as the negative errno the
 * table of <mk/octopus.h> gives its Octopus code, with the code in
 * mk_oct_error_code() and the server's message in mk_oct_error(); the next
 * command clears both.
 */
static void test_refusals(struct mk_oct *c)
{
	char *rec = NULL, *big = big_record(OCT_DEFAULT_MAX_TERMS + 10);
	bool found;
	int ret;

	ret = mk_oct_get(c, "client { weight: ", &rec);
	CHECK(refused(c, ret, -EBADMSG, OCT_ERR_PARSER_FAIL),
	      "a malformed query: -EBADMSG, PARSER_FAIL (%d, '%s')", ret, mk_oct_error(c));
	ret = mk_oct_set(c, "client.obj1 { weight > 100 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(refused(c, ret, -ECANCELED, OCT_ERR_CONSTRAINT_MISMATCH),
	      "a conditional set that does not hold: -ECANCELED, CONSTRAINT_MISMATCH (%d, '%s')",
	      ret, mk_oct_error(c));
	ret = mk_oct_set(c, "_ { weight: 1 }", MK_OCT_SET_PLAIN, NULL);
	CHECK(refused(c, ret, -EDESTADDRREQ, OCT_ERR_NO_RECORD_NAME),
	      "a set without a literal name: -EDESTADDRREQ, NO_RECORD_NAME (%d, '%s')",
	      ret, mk_oct_error(c));
	ret = big ? mk_oct_set(c, big, MK_OCT_SET_PLAIN, NULL) : -ENOMEM;
	CHECK(refused(c, ret, -E2BIG, OCT_ERR_QUERY_SIZE),
	      "a record over the server's term limit: -E2BIG, QUERY_SIZE (%d, '%s')",
	      ret, mk_oct_error(c));
	free(big);
	ret = mk_oct_rmtrigger(c, 987654321);
	CHECK(refused(c, ret, -ESRCH, OCT_ERR_INVALID_ID),
	      "removing a trigger never installed: -ESRCH, INVALID_ID (%d, '%s')",
	      ret, mk_oct_error(c));
	ret = mk_oct_exists(c, "client.obj1", &found);
	CHECK(!ret && found && mk_oct_error_code(c) == 0 && !*mk_oct_error(c),
	      "the next command that succeeds clears the code and the message (%d)",
	      mk_oct_error_code(c));
	CHECK(mk_oct_error_code(NULL) == 0 && !*mk_oct_error(NULL), "no connection: no error");
}

/*
 * Timeouts are int64_t nanoseconds, as in chan, the ring and the waitset:
 * 50 ms is 50000000 and expires as -ETIMEDOUT after at least that long; 1 ns
 * is a timeout, not "do not wait" (a get) nor, on OCT.WAIT's millisecond
 * wire where 0 is forever, a wait without end: it waits a whole
 * millisecond. The events' waits take nanoseconds too.
 */
static void test_timeouts(const char *sock)
{
	struct mk_oct_event ev;
	struct timespec t0;
	struct mk_oct *c;
	char *rec = NULL;
	long us;
	int ret;

	ret = mk_oct_connect(&c, sock);
	CHECK(!ret, "a connection of its own for the timeouts (%d)", ret);
	if (ret)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mk_oct_wait_for(c, "to.none", 50000000, &rec);
	us = us_since(&t0);
	CHECK(ret == -ETIMEDOUT && us >= 50000 && us < 5000000,
	      "wait_for 50000000 ns: -ETIMEDOUT after %ld us (%d)", us, ret);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mk_oct_wait_for(c, "to.none", 1, &rec);
	us = us_since(&t0);
	CHECK(ret == -ETIMEDOUT && us >= 1000 && us < 5000000,
	      "wait_for 1 ns waits (1 ms on the wire): -ETIMEDOUT after %ld us (%d)", us, ret);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mk_oct_next_event(c, 50000000, &ev);
	us = us_since(&t0);
	CHECK(ret == 0 && us >= 50000 && us < 5000000,
	      "next_event 50000000 ns: none after %ld us (%d)", us, ret);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = mk_oct_dispatch(c, 30000000);
	us = us_since(&t0);
	CHECK(ret == 0 && us >= 30000 && us < 5000000,
	      "dispatch 30000000 ns: none after %ld us (%d)", us, ret);
	ret = mk_oct_dispatch(c, 1);
	CHECK(ret == 0, "dispatch 1 ns returns (%d)", ret);
	mk_oct_close(c);
}

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
	/* A timeout taken in the wrong unit hangs: end it as a failure. */
	alarm(300);
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
	CHECK(refused(c, ret, -ENODATA, OCT_ERR_NO_RECORD),
	      "a missing record: -ENODATA, NO_RECORD (%d, '%s')", ret, mk_oct_error(c));
	test_refusals(c);

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

	test_getset(c);
	CHECK(!mk_oct_connect(&eph, argv[1]), "a second connection");
	test_triggers(c, eph);
	test_pubsub(c, eph);
	test_wait_for(c, argv[1]);
	test_timeouts(argv[1]);
	test_spin_within_timeout(argv[1], eph);
	mk_oct_close(eph);
	mk_oct_close(c);
	return tap_done();
}
