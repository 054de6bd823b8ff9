// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd commands: the Redis subset (PING, ECHO, GET, SET, DEL, EXISTS,
 * HELLO, SELECT, CONFIG GET, COMMAND, INFO, QUIT) here, the Octopus
 * commands in oct_commands.c, on one store, in one table (the end of this
 * file) that cmd_exec() searches once per command:
 * the RESP2 push mode, the name and the arity are checked there, in that
 * order, so a handler sees only the argument counts its entry allows.
 *
 * A plain `SET k v` stores the record `k { val: 'v' }` (the key is taken
 * as the record name byte for byte, whatever its characters; the value as
 * a string attribute, NUL bytes included). `GET k` returns the `val`
 * string of a record that holds exactly that one string attribute, and the
 * canonical text of any other record (`OCT.SET 'k { a: 1 }'` then `GET k`
 * gives "k { a: 1 }"). The GET and SET paths allocate nothing in the
 * daemon (the store copies what it keeps).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mk/oct_record.h>

#include "commands.h"

#define OCTOPUSD_VERSION "0.1.0"

bool arg_is(const struct mk_resp_command *cmd, size_t i, const char *s,
	    size_t n)
{
	return cmd->argvlen[i] == n && strncasecmp(cmd->argv[i], s, n) == 0;
}

/* Redis's words; name as the table has it (lowercase). */
static void w_arity(struct conn *c, const char *name)
{
	mk_resp_w_errorf(&c->out, "ERR",
			 "wrong number of arguments for '%s' command", name);
}

void w_oct_err(struct conn *c, enum oct_err e)
{
	const char *n = oct_err_name(e);

	mk_resp_w_error(&c->out, n ? n : "ENGINE_FAIL", oct_err_str(e));
}

static struct oct_record *parse_argv(struct conn *c,
				     const struct mk_resp_command *cmd,
				     size_t i, bool to_store)
{
	struct oct_record *rec = NULL;
	struct oct_parse_error pe = { 0 };
	enum oct_err e = (to_store ? oct_parse_record : oct_parse)(
		cmd->argv[i], cmd->argvlen[i], NULL, &rec, &pe);

	if (e == OCT_OK)
		return rec;
	if (e == OCT_ERR_PARSER_FAIL || e == OCT_ERR_QUERY_SIZE)
		mk_resp_w_errorf(&c->out, oct_err_name(e), "%s at offset %zu",
				 pe.msg ? pe.msg : oct_err_str(e), pe.pos);
	else
		w_oct_err(c, e);
	return NULL;
}

struct oct_record *parse_arg(struct conn *c, const struct mk_resp_command *cmd,
			     size_t i)
{
	return parse_argv(c, cmd, i, false);
}

struct oct_record *parse_record_arg(struct conn *c,
				    const struct mk_resp_command *cmd, size_t i)
{
	return parse_argv(c, cmd, i, true);
}

/* A printed record as a bulk string. */
void w_record(struct conn *c, const struct oct_record *rec)
{
	size_t n;
	char *txt = oct_print(rec, &n);

	if (!txt) {
		w_oct_err(c, OCT_ERR_NO_MEMORY);
		return;
	}
	mk_resp_w_bulk(&c->out, txt, n);
	free(txt);
}

/* An on-stack query naming one record literally (any bytes). */
void name_query(struct oct_record *q, const char *name, size_t len)
{
	memset(q, 0, sizeof(*q));
	q->name_kind = OCT_NAME_LITERAL;
	q->name.p = (char *)name;
	q->name.len = len;
}

/* Redis subset ------------------------------------------------------- */

/* GET k: arity 2. */
static void cmd_get(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	const struct oct_record *r =
		store_lookup(s->st, cmd->argv[1], cmd->argvlen[1]);

	if (!r)
		mk_resp_w_null(&c->out);
	else if (r->nattrs == 1 && r->attrs[0].val.type == OCT_V_STRING &&
		 r->attrs[0].key.len == 3 && !memcmp(r->attrs[0].key.p, "val", 3))
		mk_resp_w_bulk(&c->out, r->attrs[0].val.s.p, r->attrs[0].val.s.len);
	else
		w_record(c, r);
}

/* SET k v: arity -3 as Redis's, where more are options; none here. */
static void cmd_set(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	struct oct_attr a;
	struct oct_record r;
	enum oct_err e;

	if (cmd->argc > 3) {
		mk_resp_w_error(&c->out, "ERR",
				"syntax error (SET takes no options here)");
		return;
	}
	name_query(&r, cmd->argv[1], cmd->argvlen[1]);
	memset(&a, 0, sizeof(a));
	a.key.p = (char *)"val";
	a.key.len = 3;
	a.op = OCT_OP_VALUE;
	a.val.type = OCT_V_STRING;
	a.val.s.p = (char *)cmd->argv[2];
	a.val.s.len = cmd->argvlen[2];
	r.attrs = &a;
	r.nattrs = 1;
	r.cap = 1;
	e = store_set(s->st, &r, 0, c->id, NULL);
	if (e)
		w_oct_err(c, e);
	else
		mk_resp_w_ok(&c->out);
}

/* DEL k...: the number deleted. */
static void cmd_del(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	struct oct_record q;
	int64_t n = 0;

	for (size_t i = 1; i < cmd->argc; i++) {
		name_query(&q, cmd->argv[i], cmd->argvlen[i]);
		n += store_del(s->st, &q) == OCT_OK;
	}
	mk_resp_w_int(&c->out, n);
}

/* EXISTS k...: how many of them exist (a key named twice counts twice). */
static void cmd_exists(struct server *s, struct conn *c,
		       const struct mk_resp_command *cmd)
{
	int64_t n = 0;

	for (size_t i = 1; i < cmd->argc; i++)
		n += store_lookup(s->st, cmd->argv[i], cmd->argvlen[i]) != NULL;
	mk_resp_w_int(&c->out, n);
}

static void cmd_ping(struct server *s, struct conn *c,
		     const struct mk_resp_command *cmd)
{
	(void)s;
	if (cmd->argc == 1)
		mk_resp_w_simple(&c->out, "PONG");
	else
		mk_resp_w_bulk(&c->out, cmd->argv[1], cmd->argvlen[1]);
}

static void cmd_echo(struct server *s, struct conn *c,
		     const struct mk_resp_command *cmd)
{
	(void)s;
	mk_resp_w_bulk(&c->out, cmd->argv[1], cmd->argvlen[1]);
}

/*
 * HELLO's arguments, [2|3] [AUTH user pass] [SETNAME name] (AUTH and
 * SETNAME accepted and ignored): the protocol asked for in *proto, or
 * false and the error reply.
 */
static bool hello_args(struct conn *c, const struct mk_resp_command *cmd,
		       int *proto)
{
	size_t i = 1;

	if (cmd->argc >= 2) {
		if (ARG_IS(cmd, 1, "2"))
			*proto = 2;
		else if (ARG_IS(cmd, 1, "3"))
			*proto = 3;
		else {
			mk_resp_w_error(&c->out, "NOPROTO",
				"unsupported protocol version");
			return false;
		}
		i = 2;
	}
	while (i < cmd->argc) {
		if (ARG_IS(cmd, i, "AUTH") && i + 2 < cmd->argc)
			i += 3;
		else if (ARG_IS(cmd, i, "SETNAME") && i + 1 < cmd->argc)
			i += 2;
		else {
			mk_resp_w_errorf(&c->out, "ERR",
				"Syntax error in HELLO option '%s'", cmd->argv[i]);
			return false;
		}
	}
	return true;
}

/* HELLO's reply, a map in the protocol just chosen. */
static void w_hello(struct conn *c)
{
	struct mk_resp_buf *b = &c->out;

	mk_resp_w_map(b, 7);
	mk_resp_w_bulk_str(b, "server");
	mk_resp_w_bulk_str(b, "octopusd");
	mk_resp_w_bulk_str(b, "version");
	mk_resp_w_bulk_str(b, OCTOPUSD_VERSION);
	mk_resp_w_bulk_str(b, "proto");
	mk_resp_w_int(b, b->proto);
	mk_resp_w_bulk_str(b, "id");
	mk_resp_w_int(b, (int64_t)c->id);
	mk_resp_w_bulk_str(b, "mode");
	mk_resp_w_bulk_str(b, "standalone");
	mk_resp_w_bulk_str(b, "role");
	mk_resp_w_bulk_str(b, "master");
	mk_resp_w_bulk_str(b, "modules");
	mk_resp_w_array(b, 0);
}

static void cmd_hello(struct server *s, struct conn *c,
		      const struct mk_resp_command *cmd)
{
	int proto = c->out.proto;

	(void)s;
	if (!hello_args(c, cmd, &proto))
		return;
	c->out.proto = proto;
	w_hello(c);
}

static void cmd_select(struct server *s, struct conn *c,
		       const struct mk_resp_command *cmd)
{
	(void)s;
	if (ARG_IS(cmd, 1, "0"))
		mk_resp_w_ok(&c->out);
	else
		mk_resp_w_error(&c->out, "ERR", "DB index is out of range");
}

/*
 * CONFIG GET param...: the two parameters redis-benchmark asks about, as
 * they are here (nothing is persisted); others are not listed. Exact
 * names, no glob patterns.
 */
static void cmd_config_get(struct conn *c, const struct mk_resp_command *cmd)
{
	static const char *const params[][2] = {
		{ "save", "" },
		{ "appendonly", "no" },
	};
	size_t n = 0;

	for (size_t i = 2; i < cmd->argc; i++)
		for (size_t j = 0; j < 2; j++)
			n += arg_is(cmd, i, params[j][0], strlen(params[j][0]));
	mk_resp_w_map(&c->out, n);
	for (size_t i = 2; i < cmd->argc; i++)
		for (size_t j = 0; j < 2; j++)
			if (arg_is(cmd, i, params[j][0], strlen(params[j][0]))) {
				mk_resp_w_bulk_str(&c->out, params[j][0]);
				mk_resp_w_bulk_str(&c->out, params[j][1]);
			}
}

/* CONFIG: arity -1, so that a bare CONFIG gets this error, as before. */
static void cmd_config(struct server *s, struct conn *c,
		       const struct mk_resp_command *cmd)
{
	(void)s;
	if (cmd->argc >= 3 && ARG_IS(cmd, 1, "GET"))
		cmd_config_get(c, cmd);
	else
		mk_resp_w_error(&c->out, "ERR", "only CONFIG GET is supported");
}

static void cmd_quit(struct server *s, struct conn *c,
		     const struct mk_resp_command *cmd)
{
	(void)s;
	(void)cmd;
	mk_resp_w_ok(&c->out);
	c->closing = true;
}

/*
 * INFO [section]: Redis's format (# Section, key:value lines); the
 * octopus section counts what the watch index visits, which the tests
 * use to check that it visits only candidates. Every section, whatever
 * is asked.
 */
static void cmd_info(struct server *s, struct conn *c,
		     const struct mk_resp_command *cmd)
{
	struct store_stats st;
	char *txt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&txt, &len);

	(void)cmd;
	if (!f) {
		w_oct_err(c, OCT_ERR_NO_MEMORY);
		return;
	}
	store_stats(s->st, &st);
	fprintf(f, "# Server\r\nserver_name:octopusd\r\n"
		"octopusd_version:%s\r\n\r\n# Clients\r\nconnected_clients:%zu\r\n\r\n"
		"# Octopus\r\nrecords:%zu\r\nattribute_keys:%zu\r\n"
		"triggers:%zu\r\nsubscriptions:%zu\r\nwatch_limit:%zu\r\n"
		"conn_watch_limit:%zu\r\ntrigger_candidates_visited:%llu\r\n"
		"subscription_candidates_visited:%llu\r\nwaiters:%zu\r\n"
		"wait_candidates_visited:%llu\r\n",
		OCTOPUSD_VERSION, s->nconns, st.records, st.keys,
		s->trig_idx.n, s->sub_idx.n, s->max_watches,
		s->max_conn_watches, (unsigned long long)s->trig_idx.visited,
		(unsigned long long)s->sub_idx.visited, s->wait_idx.n,
		(unsigned long long)s->wait_idx.visited);
	if (fclose(f) != 0 || !txt) {
		free(txt);
		w_oct_err(c, OCT_ERR_NO_MEMORY);
		return;
	}
	mk_resp_w_bulk(&c->out, txt, len);
	free(txt);
}

/*
 * POST and Host: as a command: an HTTP request reached the Redis protocol
 * (a web page can make a browser send one to --port), and its body would
 * run line by line as inline commands. Redis's answer: close the
 * connection without a reply, so nothing after the request line runs,
 * and log it, here at most once a minute.
 */
static void cmd_cross_protocol(struct server *s, struct conn *c,
			       const struct mk_resp_command *cmd)
{
	static bool logged;
	static time_t last_log;
	struct timespec now;

	(void)s;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!logged || now.tv_sec - last_log >= 60) {
		logged = true;
		fprintf(stderr, "octopusd: possible cross-protocol attack: a client sent '%.16s' (HTTP, not RESP); connection closed (logged at most once a minute)\n",
			cmd->argv[0]);
		last_log = now.tv_sec;
	}
	c->closing = true;
}

/* The table ------------------------------------------------------------- */

static void cmd_command(struct server *s, struct conn *c,
			const struct mk_resp_command *cmd);

/*
 * Sorted by name, bytewise ('.' before letters), for cmd_lookup()'s
 * binary search: 25 names, at most 5 comparisons, no hash to keep in
 * step with the table. tests/integration/octopusd_commands.t sends every
 * name COMMAND LIST gives and fails on one the search misses.
 */
static const struct cmd_def cmd_table[] = {
	/* name, handler, arity, max argc, flags, first key, last key, step */
	{ "command", cmd_command, -1, 0, 0, 0, 0, 0 },
	{ "config", cmd_config, -1, 0, CMD_ADMIN, 0, 0, 0 },
	{ "del", cmd_del, -2, 0, CMD_WRITE, 1, -1, 1 },
	{ "echo", cmd_echo, 2, 0, 0, 0, 0, 0 },
	{ "exists", cmd_exists, -2, 0, CMD_READONLY, 1, -1, 1 },
	{ "get", cmd_get, 2, 0, CMD_READONLY, 1, 1, 1 },
	{ "hello", cmd_hello, -1, 0, CMD_PUSH_OK, 0, 0, 0 },
	{ "host:", cmd_cross_protocol, -1, 0, CMD_PUSH_OK | CMD_HIDDEN, 0, 0, 0 },
	{ "info", cmd_info, -1, 0, 0, 0, 0, 0 },
	{ "oct.del", cmd_oct_del, -2, 0, CMD_WRITE, 0, 0, 0 },
	{ "oct.exists", cmd_oct_exists, -2, 0, CMD_READONLY, 0, 0, 0 },
	{ "oct.get", cmd_oct_get, -2, 0, CMD_READONLY, 0, 0, 0 },
	{ "oct.names", cmd_oct_names, -2, 0, CMD_READONLY, 0, 0, 0 },
	{ "oct.publish", cmd_oct_publish, 2, 0, CMD_PUBSUB, 0, 0, 0 },
	{ "oct.set", cmd_oct_set, -2, 0, CMD_WRITE, 0, 0, 0 },
	{ "oct.subscribe", cmd_oct_subscribe, 2, 0,
	  CMD_PUBSUB | CMD_PUSH_OK, 0, 0, 0 },
	{ "oct.unsubscribe", cmd_oct_unsubscribe, 2, 0,
	  CMD_PUBSUB | CMD_PUSH_OK, 0, 0, 0 },
	{ "oct.unwatch", cmd_oct_unwatch, 2, 0,
	  CMD_PUBSUB | CMD_PUSH_OK, 0, 0, 0 },
	{ "oct.wait", cmd_oct_wait, -2, 3, CMD_READONLY | CMD_BLOCKING, 0, 0, 0 },
	{ "oct.watch", cmd_oct_watch, -3, 4, CMD_PUBSUB | CMD_PUSH_OK, 0, 0, 0 },
	{ "ping", cmd_ping, -1, 2, CMD_PUSH_OK, 0, 0, 0 },
	{ "post", cmd_cross_protocol, -1, 0, CMD_PUSH_OK | CMD_HIDDEN, 0, 0, 0 },
	{ "quit", cmd_quit, -1, 0, CMD_PUSH_OK, 0, 0, 0 },
	{ "select", cmd_select, 2, 0, 0, 0, 0, 0 },
	{ "set", cmd_set, -3, 0, CMD_WRITE, 1, 1, 1 },
};
#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))
#define CMD_NAME_MAX 15		/* "oct.unsubscribe" */

/* The names of enum cmd_flags, in bit order, as COMMAND INFO gives them. */
static const char *const cmd_flag_names[] = {
	"write", "readonly", "admin", "pubsub", "blocking", "push_ok",
};

struct cmd_key {
	const char *p;		/* lowercase */
	size_t len;
};

static int cmd_key_cmp(const void *key, const void *ent)
{
	const struct cmd_key *k = key;
	const char *name = ((const struct cmd_def *)ent)->name;
	size_t n = strlen(name);
	int r = memcmp(k->p, name, k->len < n ? k->len : n);

	return r ? r : (k->len > n) - (k->len < n);
}

const struct cmd_def *cmd_lookup(const char *name, size_t len)
{
	char low[CMD_NAME_MAX];
	struct cmd_key k = { low, len };

	if (len > CMD_NAME_MAX)
		return NULL;
	/* ASCII only, whatever the locale: "GET" and "get", not "GET" and
	 * a Turkish dotless i. */
	for (size_t i = 0; i < len; i++)
		low[i] = name[i] >= 'A' && name[i] <= 'Z' ?
			 (char)(name[i] - 'A' + 'a') : name[i];
	return bsearch(&k, cmd_table, NCMDS, sizeof(cmd_table[0]), cmd_key_cmp);
}

bool cmd_arity_ok(const struct cmd_def *d, size_t argc)
{
	if (d->arity > 0)
		return argc == (size_t)d->arity;
	return argc >= (size_t)-d->arity && (!d->max_argc || argc <= d->max_argc);
}

/* COMMAND INFO's entry for d: Redis's first six fields (name, arity,
 * flags, first key, last key, step), what clients before Redis 7 read
 * and Redis 7's clients read first. */
static void w_command_info(struct conn *c, const struct cmd_def *d)
{
	size_t nflags = 0;

	for (size_t i = 0; i < sizeof(cmd_flag_names) / sizeof(cmd_flag_names[0]); i++)
		nflags += (d->flags >> i) & 1;
	mk_resp_w_array(&c->out, 6);
	mk_resp_w_bulk_str(&c->out, d->name);
	mk_resp_w_int(&c->out, d->arity);
	mk_resp_w_set(&c->out, nflags);
	for (size_t i = 0; i < sizeof(cmd_flag_names) / sizeof(cmd_flag_names[0]); i++)
		if ((d->flags >> i) & 1)
			mk_resp_w_simple(&c->out, cmd_flag_names[i]);
	mk_resp_w_int(&c->out, d->first_key);
	mk_resp_w_int(&c->out, d->last_key);
	mk_resp_w_int(&c->out, d->key_step);
}

/* How many commands COMMAND lists: the table less its hidden names. */
static size_t cmd_listed(void)
{
	size_t n = 0;

	for (size_t i = 0; i < NCMDS; i++)
		n += !(cmd_table[i].flags & CMD_HIDDEN);
	return n;
}

/* COMMAND INFO [name...]: each name's entry or a null; no names: all. */
static void cmd_command_info(struct conn *c, const struct mk_resp_command *cmd)
{
	if (cmd->argc <= 2) {
		mk_resp_w_array(&c->out, cmd_listed());
		for (size_t i = 0; i < NCMDS; i++)
			if (!(cmd_table[i].flags & CMD_HIDDEN))
				w_command_info(c, &cmd_table[i]);
		return;
	}
	mk_resp_w_array(&c->out, cmd->argc - 2);
	for (size_t i = 2; i < cmd->argc; i++) {
		const struct cmd_def *d = cmd_lookup(cmd->argv[i], cmd->argvlen[i]);

		if (d && !(d->flags & CMD_HIDDEN))
			w_command_info(c, d);
		else
			mk_resp_w_null(&c->out);
	}
}

/*
 * COMMAND (every entry), COMMAND COUNT, COMMAND INFO [name...] and
 * COMMAND LIST, from the table, as Redis answers them. Any other
 * subcommand (DOCS, which redis-cli asks at start) gets the empty array
 * every COMMAND got before the table answered it.
 */
static void cmd_command(struct server *s, struct conn *c,
			const struct mk_resp_command *cmd)
{
	(void)s;
	if (cmd->argc == 1 || ARG_IS(cmd, 1, "INFO")) {
		cmd_command_info(c, cmd);
	} else if (ARG_IS(cmd, 1, "COUNT") || ARG_IS(cmd, 1, "LIST")) {
		bool count = ARG_IS(cmd, 1, "COUNT");

		if (cmd->argc != 2) {
			w_arity(c, count ? "command|count" : "command|list");
		} else if (count) {
			mk_resp_w_int(&c->out, (int64_t)cmd_listed());
		} else {
			mk_resp_w_array(&c->out, cmd_listed());
			for (size_t i = 0; i < NCMDS; i++)
				if (!(cmd_table[i].flags & CMD_HIDDEN))
					mk_resp_w_bulk_str(&c->out, cmd_table[i].name);
		}
	} else {
		mk_resp_w_array(&c->out, 0);
	}
}

/* Dispatch ------------------------------------------------------------- */

/*
 * A RESP2 connection with triggers or subscriptions is in a
 * subscribe-like mode: its events arrive as arrays, so only the commands
 * flagged CMD_PUSH_OK, whose replies cannot be confused with them, run.
 * An unknown command gets this error too, as it always has.
 */
static bool push_mode_refuses(struct conn *c, const struct cmd_def *d)
{
	return (c->triggers || c->subs) && c->out.proto == 2 &&
	       !(d && (d->flags & CMD_PUSH_OK));
}

void cmd_exec(struct server *s, struct conn *c, const struct mk_resp_command *cmd)
{
	const struct cmd_def *d = cmd_lookup(cmd->argv[0], cmd->argvlen[0]);

	if (push_mode_refuses(c, d))
		mk_resp_w_errorf(&c->out, "ERR",
			"Can't execute '%.64s': only OCT.WATCH / OCT.UNWATCH / OCT.SUBSCRIBE / OCT.UNSUBSCRIBE / PING / QUIT / HELLO are allowed in this context (RESP2 with triggers or subscriptions; use HELLO 3)",
			cmd->argv[0]);
	else if (!d)
		mk_resp_w_errorf(&c->out, "ERR", "unknown command '%.128s'",
				 cmd->argv[0]);
	else if (!cmd_arity_ok(d, cmd->argc))
		w_arity(c, d->name);
	else
		d->proc(s, c, cmd);
}
