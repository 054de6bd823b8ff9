// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * octopusd's Octopus commands: OCT.SET, GET, NAMES, DEL and EXISTS with
 * their WATCH clause, OCT.WAIT, WATCH, UNWATCH, PUBLISH, SUBSCRIBE and
 * UNSUBSCRIBE (README.md has their syntax and replies). commands.c's
 * table names each handler and checks its arity before it runs.
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

/* The condition after IF, at argv[i]: OK or a code's name. */
static bool parse_wclause_cond(struct conn *c, const struct mk_resp_command *cmd,
			       size_t i, struct wclause *w)
{
	if (i == cmd->argc) {
		mk_resp_w_error(&c->out, "ERR",
			"syntax error: IF needs a condition: OK or an error code such as NO_RECORD");
		return false;
	}
	for (int e = 0; e < OCT_ERR_COUNT; e++) {
		const char *n = oct_err_name((enum oct_err)e);

		if (n && arg_is(cmd, i, n, strlen(n))) {
			w->any = false;
			w->cond = (enum oct_err)e;
			return true;
		}
	}
	mk_resp_w_errorf(&c->out, "ERR",
		"syntax error: unknown condition '%.64s' after IF (OK or an error code such as NO_RECORD)",
		cmd->argv[i]);
	return false;
}

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
		if (!parse_wclause_cond(c, cmd, ++i, w))
			return false;
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
 * op on q with the clause w: [op's reply, :id or null]. The trigger is
 * compiled before the operation and installed right after it, in the
 * same command: no set or del comes between. Takes q.
 */
static void run_op_watched(struct server *s, struct conn *c,
			   struct oct_record *q, const struct wclause *w,
			   op_fn op, unsigned int flags)
{
	struct trigger *t;
	enum oct_err e;
	uint64_t id;

	if (!watch_quota(s, c)) {
		oct_record_free(q);
		return;
	}
	t = trigger_new(c, q, w->modes, w->persist, &e);
	if (!t) {
		w_watch_err(c, e);
		return;
	}
	e = op(s, c, trigger_query(t), flags, true);
	if (!w->any && e != w->cond) {
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

static enum oct_err op_set(struct server *s, struct conn *c,
			   const struct oct_record *rec, unsigned int flags,
			   bool wrap);

/*
 * Runs op on argv[1] with the WATCH clause at argv[clause...]; name is
 * for the syntax error. Without a clause the reply is op's.
 */
static void run_op(struct server *s, struct conn *c,
		   const struct mk_resp_command *cmd, size_t clause,
		   const char *name, op_fn op, unsigned int flags)
{
	struct oct_record *q;
	struct wclause w;

	if (!parse_wclause(c, cmd, clause, name, &w))
		return;
	q = op == op_set ? parse_record_arg(c, cmd, 1) : parse_arg(c, cmd, 1);
	if (!q)
		return;
	if (w.present) {
		run_op_watched(s, c, q, &w, op, flags);
		return;
	}
	op(s, c, q, flags, false);
	oct_record_free(q);
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

/* OCT.SET record [SEQ] [EPHEMERAL] [GET] [clause] */
void cmd_oct_set(struct server *s, struct conn *c,
		 const struct mk_resp_command *cmd)
{
	unsigned int flags = 0;
	size_t i;

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

/* OCT.GET, NAMES, DEL, EXISTS: query [clause]. The syntax errors name
 * them in lowercase (OCT.SET's in uppercase), as they always have. */
void cmd_oct_get(struct server *s, struct conn *c,
		 const struct mk_resp_command *cmd)
{
	run_op(s, c, cmd, 2, "oct.get", op_get, 0);
}

void cmd_oct_names(struct server *s, struct conn *c,
		   const struct mk_resp_command *cmd)
{
	run_op(s, c, cmd, 2, "oct.names", op_names, 0);
}

void cmd_oct_del(struct server *s, struct conn *c,
		 const struct mk_resp_command *cmd)
{
	run_op(s, c, cmd, 2, "oct.del", op_del, 0);
}

void cmd_oct_exists(struct server *s, struct conn *c,
		    const struct mk_resp_command *cmd)
{
	run_op(s, c, cmd, 2, "oct.exists", op_exists, 0);
}

/* OCT.WAIT's timeout-ms at argv[2], if any, as a deadline (0: none). */
static bool parse_wait_deadline(struct conn *c,
				const struct mk_resp_command *cmd,
				uint64_t *deadline)
{
	char *end;
	long long ms;

	*deadline = 0;
	if (cmd->argc < 3)
		return true;
	ms = strtoll(cmd->argv[2], &end, 10);
	if (*end || end == cmd->argv[2] || ms < 0 ||
	    ms > 100LL * 365 * 24 * 3600 * 1000) {
		mk_resp_w_error(&c->out, "ERR",
				"timeout is not an integer or out of range");
		return false;
	}
	if (ms)
		*deadline = server_now_ns() + (uint64_t)ms * 1000000u;
	return true;
}

/*
 * OCT.WAIT query [timeout-ms]: the first matching record, now or as soon
 * as a set makes one match. timeout-ms 0 or none: no timeout; on timeout
 * a null reply. The connection executes nothing else while it waits.
 */
void cmd_oct_wait(struct server *s, struct conn *c,
		  const struct mk_resp_command *cmd)
{
	const struct oct_record *r;
	struct oct_record *q;
	uint64_t deadline;
	enum oct_err e;

	if (!parse_wait_deadline(c, cmd, &deadline))
		return;
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

/* OCT.WATCH's modes and [PERSIST] (argv[2], argv[3]); else the error. */
static bool parse_watch_opts(struct conn *c, const struct mk_resp_command *cmd,
			     unsigned int *modes, bool *persist)
{
	*modes = parse_modes(cmd, 2);
	if (!*modes) {
		mk_resp_w_error(&c->out, "ERR",
				"modes are ON_SET, ON_DEL or ON_SET,ON_DEL");
		return false;
	}
	*persist = cmd->argc == 4;
	if (*persist && !ARG_IS(cmd, 3, "PERSIST")) {
		mk_resp_w_errorf(&c->out, "ERR",
				 "syntax error: unknown OCT.WATCH option '%.64s'",
				 cmd->argv[3]);
		return false;
	}
	return true;
}

/* OCT.WATCH query ON_SET|ON_DEL|ON_SET,ON_DEL [PERSIST] -> :id */
void cmd_oct_watch(struct server *s, struct conn *c,
		   const struct mk_resp_command *cmd)
{
	unsigned int modes;
	bool persist;
	struct oct_record *q;
	struct trigger *t;
	uint64_t id;
	enum oct_err e;

	if (!parse_watch_opts(c, cmd, &modes, &persist) || !watch_quota(s, c))
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

void cmd_oct_unwatch(struct server *s, struct conn *c,
		     const struct mk_resp_command *cmd)
{
	uint64_t id;

	if (!parse_id(c, cmd, &id))
		return;
	if (!trigger_remove(s, c, id))
		w_oct_err(c, OCT_ERR_INVALID_ID);
	else
		mk_resp_w_ok(&c->out);
}

/* OCT.SUBSCRIBE query -> :id */
void cmd_oct_subscribe(struct server *s, struct conn *c,
		       const struct mk_resp_command *cmd)
{
	struct oct_record *q;
	uint64_t id;
	enum oct_err e;

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

void cmd_oct_unsubscribe(struct server *s, struct conn *c,
			 const struct mk_resp_command *cmd)
{
	uint64_t id;

	if (!parse_id(c, cmd, &id))
		return;
	if (!sub_remove(s, c, id))
		w_oct_err(c, OCT_ERR_INVALID_ID);
	else
		mk_resp_w_ok(&c->out);
}

/* OCT.PUBLISH record -> :deliveries. A plain record: nothing is stored. */
void cmd_oct_publish(struct server *s, struct conn *c,
		     const struct mk_resp_command *cmd)
{
	struct oct_record *rec = parse_record_arg(c, cmd, 1);

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
