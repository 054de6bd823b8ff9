// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd commands. The Redis subset (PING, ECHO, GET, SET, DEL, EXISTS,
 * HELLO, SELECT, CONFIG GET, COMMAND, INFO, QUIT) and the Octopus commands
 * (OCT.SET, GET, NAMES, DEL, EXISTS with their WATCH clause, OCT.WAIT,
 * WATCH, UNWATCH, PUBLISH, SUBSCRIBE, UNSUBSCRIBE) on one store.
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
#include "pubsub.h"
#include "triggers.h"
#include "waits.h"

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

/* ON_SET, ON_DEL or ON_SET,ON_DEL (any case) in argv[i]; 0 if not. */
static unsigned int parse_modes(const struct mk_resp_command *cmd, size_t i)
{
	unsigned int modes = 0;

	for (const char *p = cmd->argv[i], *end = p + cmd->argvlen[i]; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma ? comma : end) - p);

		if (n == 6 && !strncasecmp(p, "ON_SET", 6))
			modes |= TRIG_ON_SET;
		else if (n == 6 && !strncasecmp(p, "ON_DEL", 6))
			modes |= TRIG_ON_DEL;
		else
			return 0;
		if (comma && comma + 1 == end)
			return 0;	/* "ON_SET," */
		p += n + (comma != NULL);
	}
	return modes;
}

static void w_modes_err(struct conn *c)
{
	mk_resp_w_error(&c->out, "ERR",
			"modes are ON_SET, ON_DEL or ON_SET,ON_DEL");
}

/* An error making a trigger or subscription from a query that parsed. */
static void w_watch_err(struct conn *c, enum oct_err e)
{
	if (e == OCT_ERR_PARSER_FAIL)
		mk_resp_w_error(&c->out, oct_err_name(e),
				"a regex of the query does not compile (PCRE2)");
	else
		w_oct_err(c, e);
}

/* Room for one more trigger or subscription of c? Else the error reply. */
static bool watch_quota(struct server *s, struct conn *c)
{
	if (c->nwatches >= s->max_conn_watches) {
		mk_resp_w_errorf(&c->out, oct_err_name(OCT_ERR_QUERY_SIZE),
			"this connection has %zu triggers and subscriptions, the limit (octopusd --max-conn-watches)",
			c->nwatches);
		return false;
	}
	if (s->nwatches >= s->max_watches) {
		mk_resp_w_errorf(&c->out, oct_err_name(OCT_ERR_QUERY_SIZE),
			"the server has %zu triggers and subscriptions, the limit (octopusd --max-watches)",
			s->nwatches);
		return false;
	}
	return true;
}

/*
 * The trailing clause `WATCH modes [PERSIST] [IF OK|CODE]` of OCT.GET,
 * NAMES, EXISTS, SET and DEL: a trigger on the operation's query,
 * installed with the operation if its result is the condition's.
 */
struct wclause {
	bool present;
	unsigned int modes;
	bool persist;
	bool any;		/* no IF: install whatever the result */
	enum oct_err cond;
};

/* Parses argv[i...] (nothing, or a clause); on error writes the reply. */
static bool parse_wclause(struct conn *c, const struct mk_resp_command *cmd,
			  size_t i, const char *name, struct wclause *w)
{
	memset(w, 0, sizeof(*w));
	w->any = true;
	if (i == cmd->argc)
		return true;
	if (!ARG_IS(cmd, i, "WATCH")) {
		mk_resp_w_errorf(&c->out, "ERR",
			"syntax error: unexpected '%.64s' (%s takes a query, then an optional WATCH clause)",
			cmd->argv[i], name);
		return false;
	}
	w->present = true;
	if (++i == cmd->argc || !(w->modes = parse_modes(cmd, i))) {
		mk_resp_w_error(&c->out, "ERR",
			"syntax error: WATCH needs modes ON_SET, ON_DEL or ON_SET,ON_DEL");
		return false;
	}
	i++;
	if (i < cmd->argc && ARG_IS(cmd, i, "PERSIST")) {
		w->persist = true;
		i++;
	}
	if (i < cmd->argc && ARG_IS(cmd, i, "IF")) {
		if (++i == cmd->argc) {
			mk_resp_w_error(&c->out, "ERR",
				"syntax error: IF needs a condition: OK or an error code such as NO_RECORD");
			return false;
		}
		for (int e = 0; e < OCT_ERR_COUNT; e++) {
			const char *n = oct_err_name((enum oct_err)e);

			if (n && arg_is(cmd, i, n, strlen(n))) {
				w->any = false;
				w->cond = (enum oct_err)e;
				break;
			}
		}
		if (w->any) {
			mk_resp_w_errorf(&c->out, "ERR",
				"syntax error: unknown condition '%.64s' after IF (OK or an error code such as NO_RECORD)",
				cmd->argv[i]);
			return false;
		}
		i++;
	}
	if (i < cmd->argc) {
		mk_resp_w_errorf(&c->out, "ERR",
			"syntax error: unexpected '%.64s' in the WATCH clause (WATCH modes [PERSIST] [IF OK|CODE])",
			cmd->argv[i]);
		return false;
	}
	return true;
}

/*
 * An operation on a parsed query: writes its reply, returns its result.
 * With wrap, the reply is the first of two elements: the array header
 * goes right before it, after the store call, because the events that
 * call pushes (to this connection too) must not land inside the array.
 */
typedef enum oct_err (*op_fn)(struct server *s, struct conn *c,
			      const struct oct_record *q, unsigned int flags,
			      bool wrap);

static void reply_begin(struct conn *c, bool wrap)
{
	if (wrap)
		mk_resp_w_array(&c->out, 2);
}

/*
 * Runs op on argv[1] with the WATCH clause at argv[clause...]. Without a
 * clause the reply is op's; with one, [op's reply, :id or null]. The
 * trigger is compiled before the operation and installed right after it,
 * in the same command: no set or del comes between.
 */
static void run_op(struct server *s, struct conn *c,
		   const struct mk_resp_command *cmd, size_t clause,
		   const char *name, op_fn op, unsigned int flags)
{
	struct oct_record *q;
	struct trigger *t;
	struct wclause w;
	enum oct_err e;
	uint64_t id;

	if (!parse_wclause(c, cmd, clause, name, &w))
		return;
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	if (!w.present) {
		op(s, c, q, flags, false);
		oct_record_free(q);
		return;
	}
	if (!watch_quota(s, c)) {
		oct_record_free(q);
		return;
	}
	t = trigger_new(c, q, w.modes, w.persist, &e);
	if (!t) {
		w_watch_err(c, e);
		return;
	}
	e = op(s, c, trigger_query(t), flags, true);
	if (!w.any && e != w.cond) {
		trigger_discard(t);
		mk_resp_w_null(&c->out);
		return;
	}
	e = trigger_install(s, t, &id);
	if (e)
		w_oct_err(c, e);
	else
		mk_resp_w_int(&c->out, (int64_t)id);
}

#define OCT_SET_GET	0x100u	/* beside STORE_SET_* */

static enum oct_err op_set(struct server *s, struct conn *c,
			   const struct oct_record *rec, unsigned int flags,
			   bool wrap)
{
	const struct oct_record *stored;
	enum oct_err e = store_set(s->st, rec, flags & ~OCT_SET_GET, c->id,
				   &stored);

	reply_begin(c, wrap);
	if (e)
		w_oct_err(c, e);
	else if (flags & OCT_SET_GET)
		w_record(c, stored);
	else if (flags & STORE_SET_SEQ)
		mk_resp_w_bulk(&c->out, stored->name.p, stored->name.len);
	else
		mk_resp_w_ok(&c->out);
	return e;
}

static void cmd_oct_set(struct server *s, struct conn *c,
			const struct mk_resp_command *cmd)
{
	unsigned int flags = 0;
	size_t i;

	if (cmd->argc < 2)
		{ w_arity(c, "oct.set"); return; }
	for (i = 2; i < cmd->argc && !ARG_IS(cmd, i, "WATCH"); i++) {
		if (ARG_IS(cmd, i, "SEQ"))
			flags |= STORE_SET_SEQ;
		else if (ARG_IS(cmd, i, "EPHEMERAL"))
			flags |= STORE_SET_EPHEMERAL;
		else if (ARG_IS(cmd, i, "GET"))
			flags |= OCT_SET_GET;
		else {
			mk_resp_w_errorf(&c->out, "ERR",
				"syntax error: unknown OCT.SET option '%.64s'",
				cmd->argv[i]);
			return;
		}
	}
	run_op(s, c, cmd, i, "OCT.SET", op_set, flags);
}

static enum oct_err op_get(struct server *s, struct conn *c,
			   const struct oct_record *q, unsigned int flags,
			   bool wrap)
{
	const struct oct_record *r;
	enum oct_err e = store_get(s->st, q, &r);

	(void)flags;
	reply_begin(c, wrap);
	if (e)
		w_oct_err(c, e);
	else
		w_record(c, r);
	return e;
}

static enum oct_err op_names(struct server *s, struct conn *c,
			     const struct oct_record *q, unsigned int flags,
			     bool wrap)
{
	const struct oct_record **recs = NULL;
	size_t n = 0;
	enum oct_err e = store_names(s->st, q, &recs, &n);

	(void)flags;
	reply_begin(c, wrap);
	if (e) {
		w_oct_err(c, e);
		return e;
	}
	mk_resp_w_array(&c->out, n);
	for (size_t i = 0; i < n; i++)
		mk_resp_w_bulk(&c->out, recs[i]->name.p, recs[i]->name.len);
	free(recs);
	return e;
}

static enum oct_err op_del(struct server *s, struct conn *c,
			   const struct oct_record *q, unsigned int flags,
			   bool wrap)
{
	enum oct_err e = store_del(s->st, q);

	(void)flags;
	reply_begin(c, wrap);
	if (e)
		w_oct_err(c, e);
	else
		mk_resp_w_ok(&c->out);
	return e;
}

static enum oct_err op_exists(struct server *s, struct conn *c,
			      const struct oct_record *q, unsigned int flags,
			      bool wrap)
{
	enum oct_err e = store_exists(s->st, q);

	(void)flags;
	reply_begin(c, wrap);
	if (e == OCT_OK || e == OCT_ERR_NO_RECORD)
		mk_resp_w_int(&c->out, e == OCT_OK);
	else
		w_oct_err(c, e);
	return e;
}

static void cmd_oct_query(struct server *s, struct conn *c,
			  const struct mk_resp_command *cmd, const char *name,
			  op_fn op)
{
	if (cmd->argc < 2)
		{ w_arity(c, name); return; }
	run_op(s, c, cmd, 2, name, op, 0);
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
		e = wait_start(s, c, q, deadline);
		if (e)
			w_oct_err(c, e);
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
	unsigned int modes;
	bool persist = false;
	struct oct_record *q;
	struct trigger *t;
	uint64_t id;
	enum oct_err e;

	if (cmd->argc != 3 && cmd->argc != 4) {
		w_arity(c, "oct.watch");
		return;
	}
	modes = parse_modes(cmd, 2);
	if (!modes) {
		w_modes_err(c);
		return;
	}
	if (cmd->argc == 4) {
		if (!ARG_IS(cmd, 3, "PERSIST")) {
			mk_resp_w_errorf(&c->out, "ERR",
					 "syntax error: unknown OCT.WATCH option '%.64s'",
					 cmd->argv[3]);
			return;
		}
		persist = true;
	}
	if (!watch_quota(s, c))
		return;
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	t = trigger_new(c, q, modes, persist, &e);
	if (t)
		e = trigger_install(s, t, &id);
	if (e)
		w_watch_err(c, e);
	else
		mk_resp_w_int(&c->out, (int64_t)id);
}

/* argv[1] as an id; false (and the INVALID_ID reply) if it is none. */
static bool parse_id(struct conn *c, const struct mk_resp_command *cmd,
		     uint64_t *id)
{
	char *end;

	*id = strtoull(cmd->argv[1], &end, 10);
	if (*end || end == cmd->argv[1] || cmd->argv[1][0] == '-') {
		w_oct_err(c, OCT_ERR_INVALID_ID);
		return false;
	}
	return true;
}

static void cmd_oct_unwatch(struct server *s, struct conn *c,
			    const struct mk_resp_command *cmd)
{
	uint64_t id;

	if (cmd->argc != 2) {
		w_arity(c, "oct.unwatch");
		return;
	}
	if (!parse_id(c, cmd, &id))
		return;
	if (!trigger_remove(s, c, id))
		w_oct_err(c, OCT_ERR_INVALID_ID);
	else
		mk_resp_w_ok(&c->out);
}

/* OCT.SUBSCRIBE query -> :id */
static void cmd_oct_subscribe(struct server *s, struct conn *c,
			      const struct mk_resp_command *cmd)
{
	struct oct_record *q;
	uint64_t id;
	enum oct_err e;

	if (cmd->argc != 2) {
		w_arity(c, "oct.subscribe");
		return;
	}
	if (!watch_quota(s, c))
		return;
	q = parse_arg(c, cmd, 1);
	if (!q)
		return;
	e = sub_add(s, c, q, &id);
	if (e)
		w_watch_err(c, e);
	else
		mk_resp_w_int(&c->out, (int64_t)id);
}

static void cmd_oct_unsubscribe(struct server *s, struct conn *c,
				const struct mk_resp_command *cmd)
{
	uint64_t id;

	if (cmd->argc != 2) {
		w_arity(c, "oct.unsubscribe");
		return;
	}
	if (!parse_id(c, cmd, &id))
		return;
	if (!sub_remove(s, c, id))
		w_oct_err(c, OCT_ERR_INVALID_ID);
	else
		mk_resp_w_ok(&c->out);
}

/* OCT.PUBLISH record -> :deliveries. A plain record: nothing is stored. */
static void cmd_oct_publish(struct server *s, struct conn *c,
			    const struct mk_resp_command *cmd)
{
	struct oct_record *rec;

	if (cmd->argc != 2) {
		w_arity(c, "oct.publish");
		return;
	}
	rec = parse_arg(c, cmd, 1);
	if (!rec)
		return;
	if (rec->name_kind != OCT_NAME_LITERAL)
		mk_resp_w_error(&c->out, oct_err_name(OCT_ERR_NO_RECORD_NAME),
			"a published record needs a literal name");
	else if (!oct_record_is_plain(rec))
		mk_resp_w_error(&c->out, oct_err_name(OCT_ERR_PARSER_FAIL),
			"a published record has literal values only (no constraints, '_' or regexes; distinct keys)");
	else
		mk_resp_w_int(&c->out, (int64_t)sub_publish(s, rec));
	oct_record_free(rec);
}

/*
 * INFO [section]: Redis's format (# Section, key:value lines); the
 * octopus section counts what the watch index visits, which the tests
 * use to check that it visits only candidates.
 */
static void cmd_info(struct server *s, struct conn *c)
{
	struct store_stats st;
	char *txt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&txt, &len);

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

/* Dispatch ------------------------------------------------------------- */

void cmd_exec(struct server *s, struct conn *c, const struct mk_resp_command *cmd)
{
	struct mk_resp_buf *b = &c->out;

	/* RESP2 watchers and subscribers are in a subscribe-like mode:
	 * events arrive as arrays, so only commands that cannot be confused
	 * with them run. */
	if ((c->triggers || c->subs) && b->proto == 2 &&
	    !ARG_IS(cmd, 0, "OCT.WATCH") && !ARG_IS(cmd, 0, "OCT.UNWATCH") &&
	    !ARG_IS(cmd, 0, "OCT.SUBSCRIBE") &&
	    !ARG_IS(cmd, 0, "OCT.UNSUBSCRIBE") && !ARG_IS(cmd, 0, "PING") &&
	    !ARG_IS(cmd, 0, "QUIT") && !ARG_IS(cmd, 0, "HELLO")) {
		mk_resp_w_errorf(b, "ERR",
			"Can't execute '%.64s': only OCT.WATCH / OCT.UNWATCH / OCT.SUBSCRIBE / OCT.UNSUBSCRIBE / PING / QUIT / HELLO are allowed in this context (RESP2 with triggers or subscriptions; use HELLO 3)",
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
		{ cmd_oct_query(s, c, cmd, "oct.get", op_get); return; }
	if (ARG_IS(cmd, 0, "OCT.NAMES"))
		{ cmd_oct_query(s, c, cmd, "oct.names", op_names); return; }
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
		{ cmd_oct_query(s, c, cmd, "oct.del", op_del); return; }
	if (ARG_IS(cmd, 0, "OCT.EXISTS"))
		{ cmd_oct_query(s, c, cmd, "oct.exists", op_exists); return; }
	if (ARG_IS(cmd, 0, "OCT.PUBLISH"))
		{ cmd_oct_publish(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "OCT.SUBSCRIBE"))
		{ cmd_oct_subscribe(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "OCT.UNSUBSCRIBE"))
		{ cmd_oct_unsubscribe(s, c, cmd); return; }
	if (ARG_IS(cmd, 0, "INFO"))
		{ cmd_info(s, c); return; }
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
