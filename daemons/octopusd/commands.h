/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd commands: the Redis subset and the Octopus commands (README.md),
 * in one table, Redis's model (src/server.c's command table and
 * lookupCommand): each command has a name, a handler, an arity and
 * flags; cmd_exec() looks the name up once and checks the arity and the
 * flags in one place before the handler runs.
 */
#ifndef OCTOPUSD_COMMANDS_H
#define OCTOPUSD_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include <mk/oct_record.h>
#include <mk/resp.h>

#include "server.h"

/* What a command is; COMMAND INFO lists them by the names in brackets. */
enum cmd_flags {
	CMD_WRITE	= 1u << 0,	/* [write] changes the store */
	CMD_READONLY	= 1u << 1,	/* [readonly] reads it, changes nothing */
	CMD_ADMIN	= 1u << 2,	/* [admin] the server's configuration */
	CMD_PUBSUB	= 1u << 3,	/* [pubsub] triggers, publish/subscribe */
	CMD_BLOCKING	= 1u << 4,	/* [blocking] may hold the connection */
	/* [push_ok] runs on a RESP2 connection with triggers or
	 * subscriptions, whose events come as arrays: only commands whose
	 * replies cannot be taken for events. */
	CMD_PUSH_OK	= 1u << 5,
	/* Not a command: a name the table answers only to close the
	 * connection (POST, Host:); COMMAND does not list it. */
	CMD_HIDDEN	= 1u << 6,
};

typedef void cmd_proc(struct server *s, struct conn *c,
		      const struct mk_resp_command *cmd);

struct cmd_def {
	const char *name;	/* lowercase, as COMMAND and errors show it */
	cmd_proc *proc;		/* runs once the arity has been checked */
	/*
	 * Redis's rule: N > 0, exactly N arguments (the name included);
	 * -N, at least N. max_argc, when not 0, also bounds a -N command
	 * from above (PING [msg]: -1, at most 2), so that a command with
	 * optional arguments needs no check of its own.
	 */
	int arity;
	unsigned int max_argc;
	unsigned int flags;	/* enum cmd_flags */
	/* Where the keys are, as COMMAND INFO says (Redis's first key,
	 * last key, step; 0 0 0 for none: queries are not keys). */
	int first_key, last_key, key_step;
};

/* The command called name (len bytes, any case); NULL if none. */
const struct cmd_def *cmd_lookup(const char *name, size_t len);

/* Does argc (the name included) fit d's arity? */
bool cmd_arity_ok(const struct cmd_def *d, size_t argc);

/* For the command files (commands.c, oct_commands.c) ------------------ */

/* argv[i] is s (n bytes), in any case; ARG_IS with a literal. */
bool arg_is(const struct mk_resp_command *cmd, size_t i, const char *s,
	    size_t n);
#define ARG_IS(cmd, i, lit) arg_is(cmd, i, lit, sizeof(lit) - 1)

/* The error reply of an Octopus code: its name, then its sentence. */
void w_oct_err(struct conn *c, enum oct_err e);
/* Parses argv[i] as a record or query; on error writes the reply. */
struct oct_record *parse_arg(struct conn *c, const struct mk_resp_command *cmd,
			     size_t i);
/* The same for a record to store ('_' and regexes refused where they
 * stand, with their offset: oct_parse_record()). */
struct oct_record *parse_record_arg(struct conn *c,
				    const struct mk_resp_command *cmd, size_t i);
/* A printed record as a bulk string. */
void w_record(struct conn *c, const struct oct_record *rec);
/* An on-stack query naming one record literally (any bytes). */
void name_query(struct oct_record *q, const char *name, size_t len);

/* The Octopus commands (oct_commands.c). */
cmd_proc cmd_oct_set, cmd_oct_get, cmd_oct_names, cmd_oct_del, cmd_oct_exists,
	cmd_oct_wait, cmd_oct_watch, cmd_oct_unwatch, cmd_oct_subscribe,
	cmd_oct_unsubscribe, cmd_oct_publish;

/* Executes one command, appending its reply to c->out. May set
 * c->closing (QUIT). */
void cmd_exec(struct server *s, struct conn *c, const struct mk_resp_command *cmd);

#endif /* OCTOPUSD_COMMANDS_H */
