/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk's Octopus client: talks to octopusd over its Unix socket (or TCP)
 * in the Redis protocol. Records and queries are text in the Octopus
 * language (<mk/oct_record.h> parses and reads them).
 *
 * Errors: 0 is success; a negative errno is a failure of the connection or
 * the protocol (-ECONNREFUSED, -ENOENT no socket, -EPIPE, -EPROTO a reply
 * that makes no sense, -EOPNOTSUPP a command the server does not know,
 * -ENOMEM); a positive value is an Octopus error the server answered
 * (enum oct_err: OCT_ERR_NO_RECORD, OCT_ERR_PARSER_FAIL, ...), with the
 * server's message in mk_oct_error(). A connection is used by one thread
 * at a time.
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

/* The message of the last error the server answered ("" if none). */
const char *mk_oct_error(const struct mk_oct *c);

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
 * return code.
 */
int mk_oct_command(struct mk_oct *c, size_t argc, const char *const *argv,
		   const struct mk_resp_value **reply);

#ifdef __cplusplus
}
#endif

#endif /* MK_OCTOPUS_H */
