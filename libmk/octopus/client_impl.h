/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Octopus client's connection, shared by client.c, events.c, recipes.c. */
#ifndef MK_OCT_CLIENT_IMPL_H
#define MK_OCT_CLIENT_IMPL_H

#include <stdint.h>

#include <mk/octopus.h>

/* An event read off the wire, waiting to be delivered. */
struct oct_pend {
	struct oct_pend *next;
	struct mk_oct_event ev;
	char *rec;
	struct mk_oct_target target;
};

struct oct_queue {
	struct oct_pend *head, **tail;
};

/* Where the events of one trigger or subscription go. */
struct oct_reg {
	uint64_t id;
	bool sub;
	struct mk_oct_target target;
};

struct mk_oct {
	int fd;
	struct mk_resp_reader *in;
	struct mk_resp_buf out;
	char *err;		/* the server's last error message */
	int err_code;		/* and its enum oct_err (0: not an Octopus code) */
	bool resp3;		/* HELLO 3 done: pushes cannot pass for replies */
	struct oct_reg *regs;
	size_t nregs, regcap;
	struct oct_queue handled;	/* for handlers (mk_oct_dispatch) */
	struct oct_queue queued;	/* for mk_oct_next_event */
	struct oct_queue internal;	/* for the recipes' own waits */
	struct oct_pend *returned;	/* the last event next_event gave */
	uint64_t spin_ns;	/* the cost of blocking (0: never spin) */
	uint64_t reply_ns;	/* how long short waits for the daemon take */
};

/*
 * The target of the recipes' triggers: their events go to c->internal and
 * are taken by oct_wait_event(), never shown to the application.
 */
void oct_internal_handler(struct mk_oct *c, const struct mk_oct_event *ev, void *state);
#define OCT_INTERNAL	MK_OCT_HANDLER(oct_internal_handler, NULL)

/*
 * OCT.SET @record with @flags and OCT.NAMES @query in one round trip (the
 * lock recipe takes its ticket and sees the queue at once): the set's new
 * name (with SEQ) in *@name, the names in *@names / *@n. A failed set
 * fails the call (its names are read and dropped).
 */
int oct_set_then_names(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
		       char **name, const char *query, char ***names, size_t *n);
/* The wire name of a trigger mode ("ON_SET", ...), NULL if it is none. */
const char *oct_mode_arg(struct mk_oct_mode mode);
/* A command whose error reply becomes its -errno (oct_value_error()). */
int oct_call(struct mk_oct *c, const struct mk_resp_value **v, size_t argc,
	     const char *const *argv);
/*
 * An error value as a return code: an Octopus code as oct_refused() makes
 * it, "ERR unknown command" -EOPNOTSUPP, anything else -EPROTO; the
 * message is kept for mk_oct_error().
 */
int oct_value_error(struct mk_oct *c, const struct mk_resp_value *v);
/*
 * The server refused with @code: remembers it and the message @msg (@len
 * bytes) for mk_oct_error_code() / mk_oct_error(), and returns the -errno
 * <mk/octopus.h>'s table gives @code.
 */
int oct_refused(struct mk_oct *c, enum oct_err code, const char *msg, size_t len);
/* Forgets the last error: a refusal the caller took as an answer. */
void oct_clear_error(struct mk_oct *c);
/* Switches the connection to RESP3 once, before anything installs triggers. */
int oct_resp3(struct mk_oct *c);
/*
 * Parses what is buffered: pushes are queued; 1 and *@reply for another
 * value (an error when @reply is NULL: nothing was asked), 0 when nothing
 * complete is left.
 */
int octc_parse(struct mk_oct *c, const struct mk_resp_value **reply);
/* One read, after waiting up to @timeout_ns (<0 forever): 1, 0 timeout, -errno. */
int oct_read_more(struct mk_oct *c, int64_t timeout_ns);
int oct_register(struct mk_oct *c, uint64_t id, bool sub, struct mk_oct_target target);
void oct_unregister(struct mk_oct *c, uint64_t id, bool sub);
void oct_free_events(struct mk_oct *c);
/*
 * Waits up to @timeout_ns (<0 forever) for an internal event of trigger
 * @tid and drops it: 1, 0 after the timeout, or -errno.
 */
int oct_wait_event(struct mk_oct *c, uint64_t tid, int64_t timeout_ns);
/* Removes an internal one-shot trigger that may have fired already. */
int oct_drop_trigger(struct mk_oct *c, uint64_t tid);
/*
 * The CLOCK_MONOTONIC time @timeout_ns from now, -1 for none (< 0, or too
 * far to represent); the nanoseconds left until it, -1 for none, 0 once
 * it passed.
 */
int64_t oct_deadline(int64_t timeout_ns);
int64_t oct_ns_left(int64_t deadline_ns);

#endif
