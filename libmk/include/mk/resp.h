/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk RESP: the Redis serialization protocol, RESP2 and RESP3, for
 * octopusd (reading commands, writing replies) and libmk's client (writing
 * commands, reading replies).
 *
 * Reader. A struct mk_resp_reader owns a growable input buffer. Bytes go in
 * with mk_resp_reader_feed() (or mk_resp_reader_read_fd(), or space/commit
 * for a caller's own read()), in chunks of any size, one byte included.
 * Values come out of
 *   mk_resp_reader_next()          any RESP2/RESP3 value, as a small tree
 *   mk_resp_reader_next_command()  a client command (array of bulk strings
 *                                  or an inline command line) as argc/argv,
 *                                  the server's fast path: no tree
 * which return 1 (a value), 0 (need more bytes) or a negative errno:
 *   -EPROTO  malformed input            (mk_resp_reader_error() says why,
 *   -E2BIG   a frame is over a limit     in Redis's words: "Protocol
 *   -ENOMEM  out of memory               error: invalid bulk length")
 * An error is sticky: the connection should be answered with the message
 * and closed. Parsing is resumable: bytes already examined are not examined
 * again when more arrive, so a large frame in small chunks costs linear time.
 *
 * Results are zero-copy: strings point into the input buffer and are
 * NUL-terminated there (the CR after them is overwritten). They, and the
 * value tree, stay valid until the next call on the reader.
 *
 * Limits (struct mk_resp_limits; mk_resp_limits_default() fills Redis-like
 * defaults; 0 in a field given to mk_resp_reader_new() means the default):
 *   max_bulk      bytes in one bulk/verbatim/blob-error string: 512 MiB
 *                 (Redis proto-max-bulk-len)
 *   max_elements  values in one frame, all nesting levels counted (a
 *                 command's argc; a map of n pairs counts 2n): 4 Mi
 *   max_depth     nested aggregates (attributes count): 64
 *   max_inline    bytes in one line before its CR LF, type byte included
 *                 (inline command, simple string, error, number, header):
 *                 64 KiB (Redis PROTO_INLINE_MAX_SIZE)
 *   max_frame     bytes in one frame: 1 GiB (Redis client-query-buffer-limit)
 * A frame over a limit is -E2BIG as soon as a header shows it (an aggregate
 * whose elements cannot fit in what is left of max_elements, a bulk
 * string over max_bulk or past max_frame), and a line as soon as it is
 * longer than max_inline, LF or not. So a caller that reads only when
 * next() returns 0 holds at most max_frame + max_inline + one read of
 * input; the value tree and argv grow only with values actually received
 * (never from a declared count alone), and what a large frame left behind
 * is freed at the next frame.
 *
 * RESP3 types parsed: _ # , ( = ! % ~ > | (attributes are attached to the
 * value they precede, not returned as values). Streamed strings and
 * aggregates ($?, *?) are not supported (-EPROTO). Nulls ($-1, *-1, _) are
 * all MK_RESP_NULL. Lines must end in CRLF and hold no other CR or LF;
 * inline commands may end in LF alone, split on spaces and tabs, and take
 * Redis's quoting ("a b", 'c', \n \r \t \\ \" \xHH inside double quotes).
 *
 * Writer. struct mk_resp_buf is a growable output buffer with the
 * connection's protocol version (2 or 3): null, maps, sets, pushes,
 * doubles, booleans and big numbers are written as RESP2 falls back (Redis
 * does the same) when proto is 2. A failed allocation makes the buffer
 * "failed": later writes do nothing and return -ENOMEM.
 */
#ifndef MK_RESP_H
#define MK_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: exported from libmk.so (libmk/libmk.map). */
#pragma GCC visibility push(default)

/* The type byte of each RESP type. */
enum mk_resp_type {
	MK_RESP_SIMPLE = '+',
	MK_RESP_ERROR = '-',
	MK_RESP_INTEGER = ':',
	MK_RESP_BULK = '$',
	MK_RESP_ARRAY = '*',
	MK_RESP_NULL = '_',
	MK_RESP_BOOLEAN = '#',
	MK_RESP_DOUBLE = ',',
	MK_RESP_BIGNUM = '(',
	MK_RESP_VERBATIM = '=',
	MK_RESP_BULK_ERROR = '!',
	MK_RESP_MAP = '%',
	MK_RESP_SET = '~',
	MK_RESP_PUSH = '>',
	MK_RESP_ATTRIBUTE = '|',
};

struct mk_resp_value {
	enum mk_resp_type type;
	/*
	 * SIMPLE, ERROR, BULK, BULK_ERROR, BIGNUM (the digits), DOUBLE (its
	 * text as received), VERBATIM (the whole payload, "txt:..." with its
	 * three-letter format first): the bytes, NUL-terminated.
	 */
	const char *str;
	size_t len;
	union {
		int64_t integer;	/* INTEGER; BOOLEAN (0 or 1) */
		double dbl;		/* DOUBLE */
		size_t n;		/* aggregates: elements (MAP, ATTRIBUTE: pairs) */
	};
	/* Aggregates: n elements, or 2n (key, value, ...) for MAP/ATTRIBUTE. */
	const struct mk_resp_value *elems;
	/* The attribute map sent before this value, or NULL. */
	const struct mk_resp_value *attr;
};

/* A command: argv[i] is argvlen[i] bytes, NUL-terminated, in the buffer. */
struct mk_resp_command {
	size_t argc;
	const char *const *argv;
	const size_t *argvlen;
};

struct mk_resp_limits {
	size_t max_bulk;
	size_t max_elements;
	size_t max_depth;
	size_t max_inline;
	size_t max_frame;
};

#define MK_RESP_DEFAULT_MAX_BULK	(512u << 20)
#define MK_RESP_DEFAULT_MAX_ELEMENTS	(4u << 20)
#define MK_RESP_DEFAULT_MAX_DEPTH	64u
#define MK_RESP_DEFAULT_MAX_INLINE	(64u << 10)
#define MK_RESP_DEFAULT_MAX_FRAME	(1u << 30)

struct mk_resp_reader;

void mk_resp_limits_default(struct mk_resp_limits *lim);

/* NULL limits: the defaults. NULL on allocation failure. */
struct mk_resp_reader *mk_resp_reader_new(const struct mk_resp_limits *lim);
void mk_resp_reader_free(struct mk_resp_reader *r);

/* Appends bytes. 0, or -ENOMEM. Invalidates earlier results. */
int mk_resp_reader_feed(struct mk_resp_reader *r, const void *data, size_t len);
/*
 * For reading into the buffer directly: space() returns room for at least
 * min bytes (and sets *avail to all there is), commit() appends n of them.
 * space() returns NULL on allocation failure.
 */
void *mk_resp_reader_space(struct mk_resp_reader *r, size_t min, size_t *avail);
void mk_resp_reader_commit(struct mk_resp_reader *r, size_t n);
/* One read(2) from fd into the buffer: bytes read, 0 at EOF, -errno. */
ssize_t mk_resp_reader_read_fd(struct mk_resp_reader *r, int fd);

int mk_resp_reader_next(struct mk_resp_reader *r, const struct mk_resp_value **v);
/* Empty inline lines and "*0", "*-1" are skipped, as Redis does. */
int mk_resp_reader_next_command(struct mk_resp_reader *r,
				struct mk_resp_command *cmd);

/* The message of the sticky error, or NULL. */
const char *mk_resp_reader_error(const struct mk_resp_reader *r);
/* Bytes fed and not yet consumed by a returned value. */
size_t mk_resp_reader_buffered(const struct mk_resp_reader *r);

/* Equal types and contents (all nulls are equal; NaN equals NaN). */
bool mk_resp_value_equal(const struct mk_resp_value *a,
			 const struct mk_resp_value *b);

/* Writer ---------------------------------------------------------------- */

struct mk_resp_buf {
	char *data;
	size_t len;
	size_t cap;
	int proto;	/* 2 or 3; set it to 3 after HELLO 3 */
	bool failed;
};

/* An empty buffer for protocol version proto (2 or 3). */
void mk_resp_buf_init(struct mk_resp_buf *b, int proto);
void mk_resp_buf_free(struct mk_resp_buf *b);
/* Drops the first n bytes (sent). */
void mk_resp_buf_consume(struct mk_resp_buf *b, size_t n);
/* Makes room for n more bytes: a pointer to write them, or NULL. */
char *mk_resp_buf_reserve(struct mk_resp_buf *b, size_t n);
int mk_resp_w_raw(struct mk_resp_buf *b, const void *p, size_t n);

/* Simple strings and errors: CR and LF in them are written as spaces. */
int mk_resp_w_simple(struct mk_resp_buf *b, const char *s);
int mk_resp_w_simple_len(struct mk_resp_buf *b, const char *s, size_t n);
int mk_resp_w_ok(struct mk_resp_buf *b);
/* "-CODE message" (code NULL: "-message"). */
int mk_resp_w_error(struct mk_resp_buf *b, const char *code, const char *msg);
int mk_resp_w_errorf(struct mk_resp_buf *b, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int mk_resp_w_int(struct mk_resp_buf *b, int64_t v);
int mk_resp_w_bulk(struct mk_resp_buf *b, const void *p, size_t n);
int mk_resp_w_bulk_str(struct mk_resp_buf *b, const char *s);
/* RESP2 "$-1", RESP3 "_". */
int mk_resp_w_null(struct mk_resp_buf *b);
/* RESP2 "*-1", RESP3 "_". */
int mk_resp_w_null_array(struct mk_resp_buf *b);
int mk_resp_w_array(struct mk_resp_buf *b, size_t n);
/* n pairs follow; RESP2: an array of 2n. */
int mk_resp_w_map(struct mk_resp_buf *b, size_t n);
/* RESP2: an array. */
int mk_resp_w_set(struct mk_resp_buf *b, size_t n);
int mk_resp_w_push(struct mk_resp_buf *b, size_t n);
/* n pairs follow, then the value they describe. RESP3 only (-EINVAL). */
int mk_resp_w_attribute(struct mk_resp_buf *b, size_t n);
/* RESP2: a bulk string of the same text ("%.17g", inf, -inf, nan). */
int mk_resp_w_double(struct mk_resp_buf *b, double d);
/* RESP2: the integer 1 or 0. */
int mk_resp_w_bool(struct mk_resp_buf *b, bool v);
/* Digits with an optional '-'; RESP2: a bulk string. */
int mk_resp_w_bignum(struct mk_resp_buf *b, const char *digits, size_t n);
/* fmt: three characters ("txt", "mkd"); RESP2: a bulk string of the text. */
int mk_resp_w_verbatim(struct mk_resp_buf *b, const char *fmt, const void *p, size_t n);
/* RESP2: a simple error (CR/LF as spaces). */
int mk_resp_w_bulk_error(struct mk_resp_buf *b, const void *p, size_t n);
/* A command: an array of bulk strings. argvlen NULL: strlen each. */
int mk_resp_w_command(struct mk_resp_buf *b, size_t argc, const char *const *argv,
		      const size_t *argvlen);
/* A command from NUL-terminated strings ending with NULL. */
int mk_resp_w_commandv(struct mk_resp_buf *b, const char *arg0, ...)
	__attribute__((sentinel));
/* A parsed value back in the wire format (RESP3 types as b->proto allows). */
int mk_resp_w_value(struct mk_resp_buf *b, const struct mk_resp_value *v);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MK_RESP_H */
