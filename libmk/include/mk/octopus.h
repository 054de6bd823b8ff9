/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk's Octopus client: talks to octopusd over its Unix socket (or TCP)
 * in the Redis protocol. Records and queries are text in the Octopus
 * language (<mk/oct_record.h> parses and reads them).
 *
 * Errors, as in the rest of libmk: a call returns 0 (or the non-negative
 * count its comment names) or a negative errno, never anything else.
 *
 * The connection and the protocol:
 *   -EINVAL        bad argument (NULL, bad flags, an unknown mode)
 *   -ENOMEM        out of memory here
 *   -ENOENT, -ECONNREFUSED, -ENAMETOOLONG, ...  connect: no socket, nobody
 *                  listening, a path too long (from connect(2))
 *   -EPIPE         the server closed the connection
 *   -EPROTO        a reply that makes no sense, or an error reply that is
 *                  not an Octopus code (mk_oct_error() has its text)
 *   -EOPNOTSUPP    a command the server does not know
 *   -ETIMEDOUT     the timeout passed (mk_oct_wait_for)
 *   others         from the system calls underneath (-ECONNRESET, ...)
 *
 * An Octopus error the server answered (the server refused) comes back as
 * the errno this table gives its code, an errno no call returns for
 * anything else once connected; mk_oct_error_code() gives the code itself
 * and mk_oct_error() the server's message:
 *
 *   enum oct_err                 errno         what
 *   OCT_ERR_NO_RECORD            -ENODATA      no record matches (not
 *                                              -ENOENT: that is connect's
 *                                              "no socket")
 *   OCT_ERR_PARSER_FAIL          -EBADMSG      not valid record syntax
 *   OCT_ERR_NO_RECORD_NAME       -EDESTADDRREQ set/del need a literal name
 *   OCT_ERR_CONSTRAINT_MISMATCH  -ECANCELED    a conditional set/del whose
 *                                              condition did not hold
 *   OCT_ERR_QUERY_SIZE           -E2BIG        over a limit of the server
 *   OCT_ERR_INVALID_ID           -ESRCH        no trigger/subscription of
 *                                              that id
 *   any other code (NO_MEMORY,   -EREMOTEIO    the server failed
 *   ENGINE_FAIL, ...)                          (mk_oct_error_code() says how)
 *
 * Timeouts, as in chan, the ring and the waitset: int64_t nanoseconds, < 0
 * no limit, 0 do not wait. Where the server takes milliseconds (OCT.WAIT) a
 * timeout is rounded up, so a positive one never becomes "do not wait".
 *
 * A connection is used by one thread at a time.
 *
 * Records come back as text; read their values with oct_read(), the
 * scanf-like reader of <mk/oct_record.h> (%s %d %f %b).
 */
#ifndef MK_OCTOPUS_H
#define MK_OCTOPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/oct_record.h>
#include <mk/resp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: exported from libmk.so (libmk/libmk.map). */
#pragma GCC visibility push(default)

struct mk_oct;

/* How a set stores its record: a distinct type from anything else. */
enum mk_oct_set_flags {
	MK_OCT_SET_PLAIN	= 0,
	MK_OCT_SET_SEQ		= 1 << 0,	/* name is a base: base0, base1, ... */
	MK_OCT_SET_EPHEMERAL	= 1 << 1,	/* deleted when this connection closes */
};

/*
 * Where octopusd listens by default: /run/mk/octopus.sock for root, else
 * $XDG_RUNTIME_DIR/mk/octopus.sock, else /tmp/mk-UID/octopus.sock. The
 * string is static storage, overwritten by the next call.
 */
const char *mk_oct_default_socket(void);

/* Connects to the Unix socket @path (NULL: the default). */
int mk_oct_connect(struct mk_oct **out, const char *path);
/* Connects over TCP to @host (numeric, e.g. "127.0.0.1") @port. */
int mk_oct_connect_tcp(struct mk_oct **out, const char *host, unsigned int port);
void mk_oct_close(struct mk_oct *c);

/*
 * What the server answered the last command sent on @c, when it was an
 * error: its message ("" if none) and its Octopus code (enum oct_err; 0 if
 * none, also for an error reply that is no Octopus code: -EPROTO,
 * -EOPNOTSUPP). Both are cleared when the next command is sent, so a
 * non-zero code right after a call says the server refused it; a recipe
 * keeps the error that failed it across the cleanup it does after.
 */
const char *mk_oct_error(const struct mk_oct *c);
int mk_oct_error_code(const struct mk_oct *c);

/* The first record matching @query, as text in *@record (free()). */
int mk_oct_get(struct mk_oct *c, const char *query, char **record);
/*
 * The names of all matching records, in natural order: *@names is an array
 * of *@n strings (free with mk_oct_free_names()).
 */
int mk_oct_names(struct mk_oct *c, const char *query, char ***names, size_t *n);
void mk_oct_free_names(char **names, size_t n);
/*
 * Stores @record; with MK_OCT_SET_SEQ the name it got comes back in
 * *@name (free(); pass NULL when not wanted).
 */
int mk_oct_set(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
	       char **name);
int mk_oct_del(struct mk_oct *c, const char *query);
/* *@found: whether a record matches @query. */
int mk_oct_exists(struct mk_oct *c, const char *query, bool *found);

/*
 * Any command, as argv; the reply is valid until the next call on @c. An
 * error reply is returned as the value (type MK_RESP_ERROR), not as a
 * return code, nor kept for mk_oct_error(). Push events that arrive
 * meanwhile are queued, not lost.
 */
int mk_oct_command(struct mk_oct *c, size_t argc, const char *const *argv,
		   const struct mk_resp_value **reply);

/*
 * The first record matching @query, as soon as one exists (OCT.WAIT):
 * @timeout_ns < 0 waits forever, 0 looks once (a get), anything else waits
 * up to that long, rounded up to whole milliseconds on the wire (1 ns waits
 * 1 ms; more than 100 years, the server's limit, is forever). -ETIMEDOUT
 * when none came in time (also for 0 and no match).
 */
int mk_oct_wait_for(struct mk_oct *c, const char *query, int64_t timeout_ns,
		    char **record);

/* Triggers ---------------------------------------------------------------
 *
 * The paper's mktrigger(in_case?, send_async, mode, handler_fn,
 * client_state). Barrelfish passed the mode and the binding as integers of
 * one type and had them swapped unnoticed; here each argument is a struct
 * of its own, so the compiler rejects any mix-up.
 */

/* Which changes fire the trigger: a set, a delete, or both. */
struct mk_oct_mode { unsigned int bits; };
#define MK_OCT_ON_SET		((struct mk_oct_mode){ 1u })
#define MK_OCT_ON_DEL		((struct mk_oct_mode){ 2u })
#define MK_OCT_ON_SET_DEL	((struct mk_oct_mode){ 3u })

/* One-shot (removed after its first event) or persistent. */
struct mk_oct_persistence { bool persist; };
#define MK_OCT_ONCE		((struct mk_oct_persistence){ false })
#define MK_OCT_PERSIST		((struct mk_oct_persistence){ true })

/*
 * When the operation installs the trigger: always, or only if its result
 * is OK / the given enum oct_err (for exists: OK is "found", NO_RECORD
 * "not found").
 */
struct mk_oct_cond { int code; };
#define MK_OCT_ALWAYS		((struct mk_oct_cond){ -1 })
#define MK_OCT_IF_OK		((struct mk_oct_cond){ OCT_OK })
#define MK_OCT_IF(err)		((struct mk_oct_cond){ (err) })

enum mk_oct_event_type {
	MK_OCT_EV_SET,		/* a matching record was set */
	MK_OCT_EV_DEL,		/* a matching record was deleted */
	MK_OCT_EV_REMOVED,	/* a persistent trigger was removed */
	MK_OCT_EV_PUBLISH,	/* a matching record was published */
};

struct mk_oct_event {
	enum mk_oct_event_type type;
	uint64_t id;		/* the trigger's or the subscription's */
	const char *record;	/* the record's text; NULL for REMOVED */
	bool last;		/* the trigger is gone: no more events for id */
};

typedef void mk_oct_handler_fn(struct mk_oct *c, const struct mk_oct_event *ev,
			       void *state);

/*
 * Where the events go: a handler called with @state by mk_oct_dispatch(),
 * or (MK_OCT_QUEUE) a queue read with mk_oct_next_event().
 */
struct mk_oct_target {
	mk_oct_handler_fn *fn;
	void *state;
};
#define MK_OCT_HANDLER(fn, state)	((struct mk_oct_target){ (fn), (state) })
#define MK_OCT_QUEUE			((struct mk_oct_target){ NULL, NULL })

struct mk_oct_trigger {
	struct mk_oct_cond in_case;
	struct mk_oct_mode mode;
	struct mk_oct_persistence persist;
	struct mk_oct_target target;
};

static inline struct mk_oct_trigger
mk_oct_mktrigger(struct mk_oct_cond in_case, struct mk_oct_mode mode,
		 struct mk_oct_persistence persist, struct mk_oct_target target)
{
	struct mk_oct_trigger t = { in_case, mode, persist, target };

	return t;
}

/*
 * The record-store calls with a trigger @t on their query, installed
 * atomically with the operation (so no change between the answer and the
 * trigger is missed). They return what the plain call returns; *@tid is
 * the new trigger's id, or 0 when @t's condition kept it from being
 * installed, whenever the server answered (also with an Octopus error).
 */
int mk_oct_get_watch(struct mk_oct *c, const char *query,
		     const struct mk_oct_trigger *t, char **record, uint64_t *tid);
int mk_oct_names_watch(struct mk_oct *c, const char *query,
		       const struct mk_oct_trigger *t, char ***names, size_t *n,
		       uint64_t *tid);
int mk_oct_exists_watch(struct mk_oct *c, const char *query,
			const struct mk_oct_trigger *t, bool *found, uint64_t *tid);
int mk_oct_set_watch(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
		     const struct mk_oct_trigger *t, char **name, uint64_t *tid);
int mk_oct_del_watch(struct mk_oct *c, const char *query,
		     const struct mk_oct_trigger *t, uint64_t *tid);
/* A trigger on @query alone (OCT.WATCH); @t's condition is ignored. */
int mk_oct_watch(struct mk_oct *c, const char *query, const struct mk_oct_trigger *t,
		 uint64_t *tid);
/*
 * Removes a trigger (the paper's rmtrigger). A persistent one sends a last
 * MK_OCT_EV_REMOVED event to its target first; -ESRCH (OCT_ERR_INVALID_ID)
 * when the connection has no such trigger (a one-shot one that fired is
 * gone).
 */
int mk_oct_rmtrigger(struct mk_oct *c, uint64_t tid);

/* Publish / subscribe ------------------------------------------------------ */

/* Events MK_OCT_EV_PUBLISH for every record published matching @query. */
int mk_oct_subscribe(struct mk_oct *c, const char *query, struct mk_oct_target target,
		     uint64_t *sid);
/* Publications that arrived before it are still delivered. */
int mk_oct_unsubscribe(struct mk_oct *c, uint64_t sid);
/*
 * Delivers @record to every matching subscription; *@delivered: how many
 * (0 is not an error). -ESRCH (OCT_ERR_INVALID_ID) from unsubscribe when
 * there is no such subscription.
 */
int mk_oct_publish(struct mk_oct *c, const char *record, size_t *delivered);

/* The event loop ----------------------------------------------------------
 *
 * Events arrive on the connection, also while a call waits for its reply;
 * they are queued and never run inside another call. Handlers run only in
 * mk_oct_dispatch() and may call anything on @c (but not mk_oct_close()).
 * For an event loop: poll mk_oct_fd() for POLLIN, but with a zero timeout
 * while mk_oct_pending() (events already read with a reply), then call
 * mk_oct_dispatch(c, 0).
 */
int mk_oct_fd(const struct mk_oct *c);
/* Events read already (with a reply) and not yet delivered. */
bool mk_oct_pending(struct mk_oct *c);
/*
 * Runs the handlers of the events that came, waiting up to @timeout_ns
 * (< 0: forever; 0: only what the socket holds now) for at least one: the
 * number run, 0 after the timeout,
 * or a negative errno (-EPIPE: the server closed the connection).
 */
int mk_oct_dispatch(struct mk_oct *c, int64_t timeout_ns);
/*
 * The next event of an MK_OCT_QUEUE target, waiting up to @timeout_ns
 * (< 0: forever; 0: only what the socket holds now): 1 and *@ev (valid
 * until the next call on @c), 0 after the timeout, or a negative errno.
 * Handler events that come meanwhile stay queued.
 */
int mk_oct_next_event(struct mk_oct *c, int64_t timeout_ns, struct mk_oct_event *ev);

/* Recipes (libmk/octopus/recipes.c) ---------------------------------------
 *
 * Built on ephemeral sequential records, so a participant whose process
 * dies (its connection closes) leaves them: a dead lock holder releases
 * the lock. NAME is a record name ([A-Za-z_][A-Za-z0-9_.-/]*); the records
 * live under "NAME.". Every waiter watches one record, so a change wakes
 * one process, not the herd. The structs are the caller's; free their
 * contents with the matching unlock / release / destroy. Errors as above;
 * -ENODATA (OCT_ERR_NO_RECORD) also when our own ticket was deleted by
 * someone else while we waited. The waits have no timeout.
 */
struct mk_oct_lock {
	char *mine;	/* our record while held */
};
/* Blocks until this connection holds the lock @name (fair: FIFO). */
int mk_oct_lock(struct mk_oct *c, const char *name, struct mk_oct_lock *l);
int mk_oct_unlock(struct mk_oct *c, struct mk_oct_lock *l);

/*
 * A double barrier of @n participants: enter returns once all @n entered,
 * leave once all @n left. The same struct goes round after round; all the
 * participants of a barrier name must go through the same rounds.
 */
struct mk_oct_barrier {
	char *name;
	unsigned int n;
	uint64_t round;
	char *mine;
};
int mk_oct_barrier_init(struct mk_oct_barrier *b, const char *name, unsigned int n);
int mk_oct_barrier_enter(struct mk_oct *c, struct mk_oct_barrier *b);
int mk_oct_barrier_leave(struct mk_oct *c, struct mk_oct_barrier *b);
void mk_oct_barrier_destroy(struct mk_oct_barrier *b);

/*
 * A counting semaphore of @permits, herd-free: a release wakes at most one
 * waiter (see recipes.c). wakeups counts the events this waiter woke up
 * for (for tests and tuning).
 */
struct mk_oct_sem {
	char *name;
	unsigned int permits;
	char *mine;
	uint64_t wakeups;
};
int mk_oct_sem_init(struct mk_oct_sem *s, const char *name, unsigned int permits);
int mk_oct_sem_acquire(struct mk_oct *c, struct mk_oct_sem *s);
int mk_oct_sem_release(struct mk_oct *c, struct mk_oct_sem *s);
void mk_oct_sem_destroy(struct mk_oct_sem *s);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MK_OCTOPUS_H */
