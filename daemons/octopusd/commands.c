// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd commands. The Redis subset (PING, ECHO, GET, SET, DEL, EXISTS,
 * HELLO, SELECT, CONFIG GET, COMMAND, QUIT) and the Octopus commands
 * (OCT.SET, OCT.GET, OCT.NAMES, OCT.DEL, OCT.EXISTS) on one store.
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

#include <mk/oct_record.h>

#include "commands.h"
#include "triggers.h"

#define OCTOPUSD_VERSION "0.1.0"

static bool arg_is(const struct mk_resp_command *cmd, size_t i, const char *s,
		   size_t n)
{
	return cmd->argvlen[i] == n && strncasecmp(cmd->argv[i], s, n) == 0;
}
#define ARG_IS(cmd, i, lit) arg_is(cmd, i, lit, sizeof(lit) - 1)

static void w_arity(struct conn *c, const char *name)
{
	mk_resp_w_errorf(&c->out, "ERR",
			 "wrong number of arguments for '%s' command", name);
}

static void w_oct_err(struct conn *c, enum oct_err e)
{
	const char *n = oct_err_name(e);

	mk_resp_w_error(&c->out, n ? n : "ENGINE_FAIL", oct_err_str(e));
}

/* Parses argv[i] as a record or query; on error writes the reply. */
static struct oct_record *parse_arg(struct conn *c,
				    const struct mk_resp_command *cmd, size_t i)
{
	struct oct_record *rec = NULL;
	struct oct_parse_error pe = { 0 };
	enum oct_err e = oct_parse(cmd->argv[i], cmd->argvlen[i], NULL, &rec,
				   &pe);

	if (e == OCT_OK)
		return rec;
	if (e == OCT_ERR_PARSER_FAIL || e == OCT_ERR_QUERY_SIZE)
		mk_resp_w_errorf(&c->out, oct_err_name(e), "%s at offset %zu",
				 pe.msg ? pe.msg : oct_err_str(e), pe.pos);
	else
		w_oct_err(c, e);
	return NULL;
}

/* A printed record as a bulk string. */
static void w_record(struct conn *c, const struct oct_record *rec)
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
static void name_query(struct oct_record *q, const char *name, size_t len)
{
	memset(q, 0, sizeof(*q));
	q->name_kind = OCT_NAME_LITERAL;
	q->name.p = (char *)name;
	q->name.len = len;
}

/* Redis subset ------------------------------------------------------- */

static void cmd_get(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	const struct oct_record *r;

	if (cmd->argc != 2)
		{ w_arity(c, "get"); return; }
	r = store_lookup(s->st, cmd->argv[1], cmd->argvlen[1]);
	if (!r)
		mk_resp_w_null(&c->out);
	else if (r->nattrs == 1 && r->attrs[0].val.type == OCT_V_STRING &&
		 r->attrs[0].key.len == 3 && !memcmp(r->attrs[0].key.p, "val", 3))
		mk_resp_w_bulk(&c->out, r->attrs[0].val.s.p, r->attrs[0].val.s.len);
	else
		w_record(c, r);
}

static void cmd_set(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	struct oct_attr a;
	struct oct_record r;
	enum oct_err e;

	if (cmd->argc != 3) {
		if (cmd->argc > 3)
			mk_resp_w_error(&c->out, "ERR",
					"syntax error (SET takes no options here)");
		else
			w_arity(c, "set");
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

static void cmd_del(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	struct oct_record q;
	int64_t n = 0;

	if (cmd->argc < 2)
		{ w_arity(c, "del"); return; }
	for (size_t i = 1; i < cmd->argc; i++) {
		name_query(&q, cmd->argv[i], cmd->argvlen[i]);
		n += store_del(s->st, &q) == OCT_OK;
	}
	mk_resp_w_int(&c->out, n);
}

static void cmd_exists(struct server *s, struct conn *c,
		       const struct mk_resp_command *cmd)
{
	int64_t n = 0;

	if (cmd->argc < 2)
		{ w_arity(c, "exists"); return; }
	for (size_t i = 1; i < cmd->argc; i++)
		n += store_lookup(s->st, cmd->argv[i], cmd->argvlen[i]) != NULL;
	mk_resp_w_int(&c->out, n);
}

static void cmd_hello(struct conn *c, const struct mk_resp_command *cmd)
{
	struct mk_resp_buf *b = &c->out;
	size_t i = 1;
	int proto = b->proto;

	if (cmd->argc >= 2) {
		if (ARG_IS(cmd, 1, "2"))
			proto = 2;
		else if (ARG_IS(cmd, 1, "3"))
			proto = 3;
		else {
			mk_resp_w_error(b, "NOPROTO",
				"unsupported protocol version");
			return;
		}
		i = 2;
	}
	/* AUTH user pass / SETNAME name: accepted and ignored. */
	while (i < cmd->argc) {
		if (ARG_IS(cmd, i, "AUTH") && i + 2 < cmd->argc)
			i += 3;
		else if (ARG_IS(cmd, i, "SETNAME") && i + 1 < cmd->argc)
			i += 2;
		else {
			mk_resp_w_errorf(b, "ERR",
				"Syntax error in HELLO option '%s'", cmd->argv[i]);
			return;
		}
	}
	b->proto = proto;
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

/* Octopus commands ----------------------------------------------------- */

static void cmd_oct_set(struct server *s, struct conn *c,
			const struct mk_resp_command *cmd)
{
	unsigned int flags = 0;
	bool get = false;
	const struct oct_record *stored;
	struct oct_record *rec;
	enum oct_err e;

	if (cmd->argc < 2)
		{ w_arity(c, "oct.set"); return; }
	for (size_t i = 2; i < cmd->argc; i++) {
		if (ARG_IS(cmd, i, "SEQ"))
			flags |= STORE_SET_SEQ;
		else if (ARG_IS(cmd, i, "EPHEMERAL"))
			flags |= STORE_SET_EPHEMERAL;
		else if (ARG_IS(cmd, i, "GET"))
			get = true;
		else {
			mk_resp_w_errorf(&c->out, "ERR",
				"syntax error: unknown OCT.SET option '%s'",
				cmd->argv[i]);
			return;
		}
	}
	rec = parse_arg(c, cmd, 1);
	if (!rec)
		return;
	e = store_set(s->st, rec, flags, c->id, &stored);
	oct_record_free(rec);
	if (e)
		w_oct_err(c, e);
	else if (get)
		w_record(c, stored);
	else if (flags & STORE_SET_SEQ)
		mk_resp_w_bulk(&c->out, stored->name.p, stored->name.len);
	else
		mk_resp_w_ok(&c->out);
}

static void cmd_oct_get(struct server *s, struct conn *c,
			const struct mk_resp_command *cmd)
{
	const struct oct_record *r;
	struct oct_record *q;
	enum oct_err e;

	if (cmd->argc != 2)
		{ w_arity(c, "oct.get"); return; }
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = store_get(s->st, q, &r);
	oct_record_free(q);
	if (e)
		w_oct_err(c, e);
	else
		w_record(c, r);
}

static void cmd_oct_names(struct server *s, struct conn *c,
			  const struct mk_resp_command *cmd)
{
	const struct oct_record **recs = NULL;
	struct oct_record *q;
	size_t n = 0;
	enum oct_err e;

	if (cmd->argc != 2)
		{ w_arity(c, "oct.names"); return; }
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = store_names(s->st, q, &recs, &n);
	oct_record_free(q);
	if (e) {
		w_oct_err(c, e);
		return;
	}
	mk_resp_w_array(&c->out, n);
	for (size_t i = 0; i < n; i++)
		mk_resp_w_bulk(&c->out, recs[i]->name.p, recs[i]->name.len);
	free(recs);
}

static void cmd_oct_del(struct server *s, struct conn *c,
			const struct mk_resp_command *cmd)
{
	struct oct_record *q;
	enum oct_err e;

	if (cmd->argc != 2)
		{ w_arity(c, "oct.del"); return; }
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = store_del(s->st, q);
	oct_record_free(q);
	if (e)
		w_oct_err(c, e);
	else
		mk_resp_w_ok(&c->out);
}

static void cmd_oct_exists(struct server *s, struct conn *c,
			   const struct mk_resp_command *cmd)
{
	struct oct_record *q;
	enum oct_err e;

	if (cmd->argc != 2)
		{ w_arity(c, "oct.exists"); return; }
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = store_exists(s->st, q);
	oct_record_free(q);
	if (e == OCT_OK || e == OCT_ERR_NO_RECORD)
		mk_resp_w_int(&c->out, e == OCT_OK);
	else
		w_oct_err(c, e);
}

/*
 * OCT.WAIT query [timeout-ms]: the first matching record, now or as soon
 * as a set makes one match. timeout-ms 0 or none: no timeout; on timeout
 * a null reply. The connection executes nothing else while it waits.
 */
static void cmd_oct_wait(struct server *s, struct conn *c,
			 const struct mk_resp_command *cmd)
{
	const struct oct_record *r;
	struct oct_record *q;
	uint64_t deadline = 0;
	enum oct_err e;

	if (cmd->argc != 2 && cmd->argc != 3) {
		w_arity(c, "oct.wait");
		return;
	}
	if (cmd->argc == 3) {
		char *end;
		long long ms = strtoll(cmd->argv[2], &end, 10);

		if (*end || end == cmd->argv[2] || ms < 0 ||
		    ms > 100LL * 365 * 24 * 3600 * 1000) {
			mk_resp_w_error(&c->out, "ERR",
					"timeout is not an integer or out of range");
			return;
		}
		if (ms)
			deadline = server_now_ns() + (uint64_t)ms * 1000000u;
	}
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = store_get(s->st, q, &r);
	if (e == OCT_ERR_NO_RECORD) {
		server_wait(s, c, q, deadline);
		return;
	}
	oct_record_free(q);
	if (e)
		w_oct_err(c, e);
	else
		w_record(c, r);
}

/* OCT.WATCH query ON_SET|ON_DEL|ON_SET,ON_DEL [PERSIST] -> :id */
static void cmd_oct_watch(struct server *s, struct conn *c,
			  const struct mk_resp_command *cmd)
{
	unsigned int modes = 0;
	bool persist = false;
	struct oct_record *q;
	uint64_t id;
	enum oct_err e;

	if (cmd->argc != 3 && cmd->argc != 4) {
		w_arity(c, "oct.watch");
		return;
	}
	for (const char *p = cmd->argv[2], *end = p + cmd->argvlen[2]; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma ? comma : end) - p);

		if (n == 6 && !strncasecmp(p, "ON_SET", 6))
			modes |= TRIG_ON_SET;
		else if (n == 6 && !strncasecmp(p, "ON_DEL", 6))
			modes |= TRIG_ON_DEL;
		else
			modes |= 0x100;
		p += n + (comma != NULL);
	}
	if (!modes || (modes & 0x100)) {
		mk_resp_w_error(&c->out, "ERR",
				"modes are ON_SET, ON_DEL or ON_SET,ON_DEL");
		return;
	}
	if (cmd->argc == 4) {
		if (!ARG_IS(cmd, 3, "PERSIST")) {
			mk_resp_w_errorf(&c->out, "ERR",
					 "syntax error: unknown OCT.WATCH option '%s'",
					 cmd->argv[3]);
			return;
		}
		persist = true;
	}
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = trigger_add(s, c, q, modes, persist, &id);
	if (e)
		w_oct_err(c, e);
	else
		mk_resp_w_int(&c->out, (int64_t)id);
}

static void cmd_oct_unwatch(struct server *s, struct conn *c,
			    const struct mk_resp_command *cmd)
{
	char *end;
	unsigned long long id;

	if (cmd->argc != 2) {
		w_arity(c, "oct.unwatch");
		return;
	}
	id = strtoull(cmd->argv[1], &end, 10);
	if (*end || end == cmd->argv[1] || !trigger_remove(s, c, id))
		w_oct_err(c, OCT_ERR_INVALID_ID);
	else
		mk_resp_w_ok(&c->out);
}

/* Dispatch ------------------------------------------------------------- */

void cmd_exec(struct server *s, struct conn *c, const struct mk_resp_command *cmd)
{
	struct mk_resp_buf *b = &c->out;

	/* RESP2 watchers are in a subscribe-like mode: events arrive as
	 * arrays, so only commands that cannot be confused with them run. */
	if (c->triggers && b->proto == 2 && !ARG_IS(cmd, 0, "OCT.WATCH") &&
	    !ARG_IS(cmd, 0, "OCT.UNWATCH") && !ARG_IS(cmd, 0, "PING") &&
	    !ARG_IS(cmd, 0, "QUIT") && !ARG_IS(cmd, 0, "HELLO")) {
		mk_resp_w_errorf(b, "ERR",
			"Can't execute '%.64s': only OCT.WATCH / OCT.UNWATCH / PING / QUIT / HELLO are allowed in this context (RESP2 with triggers; use HELLO 3)",
			cmd->argv[0]);
		return;
	}
	/* The hot pair first. */
	if (ARG_IS(cmd, 0, "GET"))
		{ cmd_get(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "SET"))
		{ cmd_set(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "PING")) {
		if (cmd->argc == 1)
			mk_resp_w_simple(b, "PONG");
		else if (cmd->argc == 2)
			mk_resp_w_bulk(b, cmd->argv[1], cmd->argvlen[1]);
		else
			w_arity(c, "ping");
		return;
	}
	if (ARG_IS(cmd, 0, "OCT.SET"))
		{ cmd_oct_set(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "OCT.GET"))
		{ cmd_oct_get(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "OCT.NAMES"))
		{ cmd_oct_names(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "OCT.WAIT")) {
		cmd_oct_wait(s, c, cmd);
		return;
	}
	if (ARG_IS(cmd, 0, "OCT.WATCH")) {
		cmd_oct_watch(s, c, cmd);
		return;
	}
	if (ARG_IS(cmd, 0, "OCT.UNWATCH")) {
		cmd_oct_unwatch(s, c, cmd);
		return;
	}
	if (ARG_IS(cmd, 0, "OCT.DEL"))
		{ cmd_oct_del(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "OCT.EXISTS"))
		{ cmd_oct_exists(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "DEL"))
		{ cmd_del(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "EXISTS"))
		{ cmd_exists(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "ECHO")) {
		if (cmd->argc != 2)
			{ w_arity(c, "echo"); return; }
		mk_resp_w_bulk(b, cmd->argv[1], cmd->argvlen[1]);
		return;
	}
	if (ARG_IS(cmd, 0, "HELLO"))
		{ cmd_hello(c, cmd); return; }
	if (ARG_IS(cmd, 0, "SELECT")) {
		if (cmd->argc != 2)
			{ w_arity(c, "select"); return; }
		if (ARG_IS(cmd, 1, "0"))
			mk_resp_w_ok(b);
		else
			mk_resp_w_error(b, "ERR", "DB index is out of range");
		return;
	}
	if (ARG_IS(cmd, 0, "CONFIG")) {
		if (cmd->argc >= 3 && ARG_IS(cmd, 1, "GET")) {
			cmd_config_get(c, cmd);
			return;
		}
		mk_resp_w_error(b, "ERR", "only CONFIG GET is supported");
		return;
	}
	if (ARG_IS(cmd, 0, "COMMAND")) {
		mk_resp_w_array(b, 0);
		return;
	}
	if (ARG_IS(cmd, 0, "QUIT")) {
		mk_resp_w_ok(b);
		c->closing = true;
		return;
	}
	mk_resp_w_errorf(b, "ERR", "unknown command '%.128s'", cmd->argv[0]);
}
