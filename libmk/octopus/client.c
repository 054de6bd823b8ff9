// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmk's Octopus client (<mk/octopus.h>): one request, one reply, and the
 * record-store calls with or without a trigger (events.c delivers events).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mk/ring.h>

#include "client_impl.h"
#include "../internal.h"

const char *mk_oct_default_socket(void)
{
	static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n = -1;

	if (geteuid() == 0)
		n = snprintf(path, sizeof(path), "/run/mk/octopus.sock");
	else if (rt && *rt)
		n = snprintf(path, sizeof(path), "%s/mk/octopus.sock", rt);
	/* A runtime dir too long for a socket address cannot hold one. */
	if (n < 0 || (size_t)n >= sizeof(path))
		snprintf(path, sizeof(path), "/tmp/mk-%u/octopus.sock", (unsigned int)geteuid());
	return path;
}

static int oct_new(struct mk_oct **out, int fd)
{
	struct mk_oct *c = calloc(1, sizeof(*c));

	if (c)
		c->in = mk_resp_reader_new(NULL);
	if (!c || !c->in) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	mk_resp_buf_init(&c->out, 2);
	/* With one CPU the daemon cannot answer while we spin. */
	c->spin_ns = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? mk_spin_default_ns() : 0;
	c->reply_ns = c->spin_ns;
	*out = c;
	return 0;
}

int mk_oct_connect(struct mk_oct **out, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!out)
		return -EINVAL;
	if (!path)
		path = mk_oct_default_socket();
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return oct_new(out, fd);
}

int mk_oct_connect_tcp(struct mk_oct **out, const char *host, unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	if (!out || !host || !port || port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		close(fd);
		return -err;
	}
	return oct_new(out, fd);
}

void mk_oct_close(struct mk_oct *c)
{
	if (!c)
		return;
	close(c->fd);
	mk_resp_reader_free(c->in);
	mk_resp_buf_free(&c->out);
	free(c->err);
	oct_free_events(c);
	free(c);
}

const char *mk_oct_error(const struct mk_oct *c)
{
	return c && c->err ? c->err : "";
}

int mk_oct_error_code(const struct mk_oct *c)
{
	return c ? c->err_code : 0;
}

/*
 * The errno of each Octopus code, <mk/octopus.h>'s table: each one a call
 * does not return for anything else once connected, so that a caller can
 * tell "the server refused" from a failure of the connection without
 * asking mk_oct_error_code(); a code with no errno of its own (the
 * server's own failures) is -EREMOTEIO, and the code says which.
 */
static int code_errno(enum oct_err code)
{
	switch (code) {
	case OCT_ERR_NO_RECORD:			return -ENODATA;
	case OCT_ERR_PARSER_FAIL:		return -EBADMSG;
	case OCT_ERR_NO_RECORD_NAME:		return -EDESTADDRREQ;
	case OCT_ERR_CONSTRAINT_MISMATCH:	return -ECANCELED;
	case OCT_ERR_QUERY_SIZE:		return -E2BIG;
	case OCT_ERR_INVALID_ID:		return -ESRCH;
	default:				return -EREMOTEIO;
	}
}

/* The message of an error reply, kept for mk_oct_error(); @code with it. */
static void keep_error(struct mk_oct *c, int code, const char *msg, size_t len)
{
	free(c->err);
	c->err = strndup(msg, len);
	c->err_code = code;
}

/*
 * Each command starts with no error, so that mk_oct_error_code() is never
 * a stale code: non-zero says the last command was refused.
 */
void oct_clear_error(struct mk_oct *c)
{
	free(c->err);
	c->err = NULL;
	c->err_code = 0;
}

int oct_refused(struct mk_oct *c, enum oct_err code, const char *msg, size_t len)
{
	keep_error(c, code, msg, len);
	return code_errno(code);
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}


/* The next reply (pushes before it are queued): 0, or -errno. */
static int next_reply(struct mk_oct *c, const struct mk_resp_value **reply)
{
	for (;;) {
		int ret = octc_parse(c, reply);

		if (ret)
			return ret < 0 ? ret : 0;
		ret = oct_read_more(c, -1);
		if (ret < 0)
			return ret;
	}
}

int mk_oct_command(struct mk_oct *c, size_t argc, const char *const *argv,
		   const struct mk_resp_value **reply)
{
	int ret;

	if (!c || !argc || !argv || !reply)
		return -EINVAL;
	oct_clear_error(c);
	c->out.len = 0;
	if (mk_resp_w_command(&c->out, argc, argv, NULL))
		return -ENOMEM;
	ret = send_all(c->fd, c->out.data, c->out.len);
	return ret ? ret : next_reply(c, reply);
}

/* "-CODE message" */
int oct_value_error(struct mk_oct *c, const struct mk_resp_value *v)
{
	const char *sp = memchr(v->str, ' ', v->len);
	size_t clen = sp ? (size_t)(sp - v->str) : v->len;
	const char *msg = sp ? sp + 1 : "";
	size_t mlen = sp ? v->len - clen - 1 : 0;

	for (int code = OCT_OK + 1; code < OCT_ERR_COUNT; code++) {
		const char *name = oct_err_name(code);

		if (name && strlen(name) == clen && !memcmp(name, v->str, clen))
			return oct_refused(c, code, msg, mlen);
	}
	keep_error(c, 0, msg, mlen);
	if (clen == 3 && !memcmp(v->str, "ERR", 3) && c->err &&
	    !strncmp(c->err, "unknown command", 15))
		return -EOPNOTSUPP;
	return -EPROTO;
}

static bool is_error(const struct mk_resp_value *v)
{
	return v->type == MK_RESP_ERROR || v->type == MK_RESP_BULK_ERROR;
}

int oct_call(struct mk_oct *c, const struct mk_resp_value **v, size_t argc,
	     const char *const *argv)
{
	int ret = mk_oct_command(c, argc, argv, v);

	if (ret)
		return ret;
	return is_error(*v) ? oct_value_error(c, *v) : 0;
}

int oct_resp3(struct mk_oct *c)
{
	const char *argv[] = { "HELLO", "3" };
	const struct mk_resp_value *v;
	int ret;

	if (c->resp3)
		return 0;
	ret = oct_call(c, &v, 2, argv);
	if (ret)
		return ret;
	if (v->type != MK_RESP_MAP)
		return -EPROTO;
	c->resp3 = true;
	return 0;
}

static bool is_ok(const struct mk_resp_value *v)
{
	return v->type == MK_RESP_SIMPLE && v->len == 2 && !memcmp(v->str, "OK", 2);
}

static bool is_text(const struct mk_resp_value *v)
{
	return v->type == MK_RESP_BULK || v->type == MK_RESP_SIMPLE;
}

const char *oct_mode_arg(struct mk_oct_mode mode)
{
	static const char *const names[] = { NULL, "ON_SET", "ON_DEL", "ON_SET,ON_DEL" };

	return mode.bits < 4 ? names[mode.bits] : NULL;
}

/*
 * Runs the command @argv, with @t's WATCH clause when @t is not NULL; the
 * operation's own result is left in *@res (an error becomes the return
 * code). With @t, the reply is [result, id or null] and the trigger is
 * registered before anything else is read, so none of its events is
 * dropped.
 */
static int op(struct mk_oct *c, const char **argv, size_t argc,
	      const struct mk_oct_trigger *t, const struct mk_resp_value **res,
	      uint64_t *tid)
{
	const struct mk_resp_value *v, *id;
	int ret;

	if (!c)
		return -EINVAL;
	if (!t) {
		ret = mk_oct_command(c, argc, argv, res);
		if (ret)
			return ret;
		return is_error(*res) ? oct_value_error(c, *res) : 0;
	}
	if (!tid || !oct_mode_arg(t->mode))
		return -EINVAL;
	*tid = 0;
	argv[argc++] = "WATCH";
	argv[argc++] = oct_mode_arg(t->mode);
	if (t->persist.persist)
		argv[argc++] = "PERSIST";
	if (t->in_case.code >= 0) {
		argv[argc++] = "IF";
		argv[argc] = oct_err_name(t->in_case.code);
		if (!argv[argc++])
			return -EINVAL;
	}
	ret = oct_resp3(c);
	if (ret)
		return ret;
	ret = mk_oct_command(c, argc, argv, &v);
	if (ret)
		return ret;
	if (is_error(v))
		return oct_value_error(c, v);
	if (v->type != MK_RESP_ARRAY || v->n != 2)
		return -EPROTO;
	id = &v->elems[1];
	if (id->type == MK_RESP_INTEGER && id->integer > 0) {
		ret = oct_register(c, (uint64_t)id->integer, false, t->target);
		if (ret)
			return ret;
		*tid = (uint64_t)id->integer;
	} else if (id->type != MK_RESP_NULL) {
		return -EPROTO;
	}
	*res = &v->elems[0];
	return is_error(*res) ? oct_value_error(c, *res) : 0;
}

/* GET answered null: the server's "no record", as an error reply would be. */
static int no_record(struct mk_oct *c)
{
	const char *msg = oct_err_str(OCT_ERR_NO_RECORD);

	return oct_refused(c, OCT_ERR_NO_RECORD, msg, strlen(msg));
}

int mk_oct_get_watch(struct mk_oct *c, const char *query,
		     const struct mk_oct_trigger *t, char **record, uint64_t *tid)
{
	const char *argv[10] = { "OCT.GET", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query || !record)
		return -EINVAL;
	ret = op(c, argv, 2, t, &v, tid);
	if (ret)
		return ret;
	if (v->type == MK_RESP_NULL)
		return no_record(c);
	if (!is_text(v))
		return -EPROTO;
	*record = strndup(v->str, v->len);
	return *record ? 0 : -ENOMEM;
}

int mk_oct_get(struct mk_oct *c, const char *query, char **record)
{
	return mk_oct_get_watch(c, query, NULL, record, NULL);
}

void mk_oct_free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int names_of(const struct mk_resp_value *v, char ***names, size_t *n);

int mk_oct_names_watch(struct mk_oct *c, const char *query,
		       const struct mk_oct_trigger *t, char ***names, size_t *n,
		       uint64_t *tid)
{
	const char *argv[10] = { "OCT.NAMES", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query || !names || !n)
		return -EINVAL;
	ret = op(c, argv, 2, t, &v, tid);
	return ret ? ret : names_of(v, names, n);
}

/* The names a NAMES reply lists, copied. */
static int names_of(const struct mk_resp_value *v, char ***names, size_t *n)
{
	char **out;

	if (v->type != MK_RESP_ARRAY && v->type != MK_RESP_SET)
		return -EPROTO;
	out = calloc(v->n + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		const struct mk_resp_value *e = &v->elems[i];

		if (!is_text(e)) {
			mk_oct_free_names(out, i);
			return -EPROTO;
		}
		out[i] = strndup(e->str, e->len);
		if (!out[i]) {
			mk_oct_free_names(out, i);
			return -ENOMEM;
		}
	}
	*names = out;
	*n = v->n;
	return 0;
}

int mk_oct_names(struct mk_oct *c, const char *query, char ***names, size_t *n)
{
	return mk_oct_names_watch(c, query, NULL, names, n, NULL);
}

static int set_result(const struct mk_resp_value *v, enum mk_oct_set_flags flags,
		      char **name);
static size_t set_argv(const char **argv, const char *record, enum mk_oct_set_flags flags);

int mk_oct_set_watch(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
		     const struct mk_oct_trigger *t, char **name, uint64_t *tid)
{
	const char *argv[12];
	const struct mk_resp_value *v;
	size_t argc = set_argv(argv, record, flags);
	int ret;

	if (name)
		*name = NULL;
	if (!record || !argc)
		return -EINVAL;
	ret = op(c, argv, argc, t, &v, tid);
	return ret ? ret : set_result(v, flags, name);
}

/* What a SET answered: the new name with SEQ, else +OK. */
static int set_result(const struct mk_resp_value *v, enum mk_oct_set_flags flags,
		      char **name)
{
	if (flags & MK_OCT_SET_SEQ) {
		if (!is_text(v))
			return -EPROTO;
		if (name) {
			*name = strndup(v->str, v->len);
			if (!*name)
				return -ENOMEM;
		}
		return 0;
	}
	return is_ok(v) ? 0 : -EPROTO;
}

/* argv for OCT.SET @record with @flags: its argc, 0 for bad flags. */
static size_t set_argv(const char **argv, const char *record, enum mk_oct_set_flags flags)
{
	size_t argc = 2;

	if (flags & ~(MK_OCT_SET_SEQ | MK_OCT_SET_EPHEMERAL))
		return 0;
	argv[0] = "OCT.SET";
	argv[1] = record;
	if (flags & MK_OCT_SET_SEQ)
		argv[argc++] = "SEQ";
	if (flags & MK_OCT_SET_EPHEMERAL)
		argv[argc++] = "EPHEMERAL";
	return argc;
}

int oct_set_then_names(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
		       char **name, const char *query, char ***names, size_t *n)
{
	const char *set[4], *nm[2] = { "OCT.NAMES", query };
	size_t argc = set_argv(set, record, flags);
	const struct mk_resp_value *v;
	int ret, ret2;

	*name = NULL;
	if (!argc)
		return -EINVAL;
	oct_clear_error(c);
	c->out.len = 0;
	if (mk_resp_w_command(&c->out, argc, set, NULL) ||
	    mk_resp_w_command(&c->out, 2, nm, NULL))
		return -ENOMEM;
	ret = send_all(c->fd, c->out.data, c->out.len);
	if (!ret)
		ret = next_reply(c, &v);
	if (ret)
		return ret;
	/* The set's answer is copied before the next reply replaces it. */
	ret = is_error(v) ? oct_value_error(c, v) : set_result(v, flags, name);
	ret2 = next_reply(c, &v);
	if (!ret && !ret2)
		ret = is_error(v) ? oct_value_error(c, v) : names_of(v, names, n);
	if (ret || ret2) {
		free(*name);
		*name = NULL;
	}
	return ret2 ? ret2 : ret;
}

int mk_oct_set(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
	       char **name)
{
	return mk_oct_set_watch(c, record, flags, NULL, name, NULL);
}

int mk_oct_del_watch(struct mk_oct *c, const char *query,
		     const struct mk_oct_trigger *t, uint64_t *tid)
{
	const char *argv[10] = { "OCT.DEL", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query)
		return -EINVAL;
	ret = op(c, argv, 2, t, &v, tid);
	if (ret)
		return ret;
	return is_ok(v) ? 0 : -EPROTO;
}

int mk_oct_del(struct mk_oct *c, const char *query)
{
	return mk_oct_del_watch(c, query, NULL, NULL);
}

int mk_oct_exists_watch(struct mk_oct *c, const char *query,
			const struct mk_oct_trigger *t, bool *found, uint64_t *tid)
{
	const char *argv[10] = { "OCT.EXISTS", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query || !found)
		return -EINVAL;
	ret = op(c, argv, 2, t, &v, tid);
	if (ret)
		return ret;
	if (v->type == MK_RESP_BOOLEAN || (v->type == MK_RESP_INTEGER &&
					   (v->integer == 0 || v->integer == 1))) {
		*found = v->integer;
		return 0;
	}
	return -EPROTO;
}

int mk_oct_exists(struct mk_oct *c, const char *query, bool *found)
{
	return mk_oct_exists_watch(c, query, NULL, found, NULL);
}

/* OCT.WAIT's limit, in its milliseconds. */
#define OCT_WAIT_MAX_MS		(100LL * 365 * 24 * 3600 * 1000)

int mk_oct_wait_for(struct mk_oct *c, const char *query, int64_t timeout_ns,
		    char **record)
{
	char ms[24];
	const char *argv[] = { "OCT.WAIT", query, ms };
	const struct mk_resp_value *v;
	long long wait_ms;
	int ret;

	if (!query || !record)
		return -EINVAL;
	if (timeout_ns == 0) {
		ret = mk_oct_get(c, query, record);
		if (ret != -ENODATA)
			return ret;
		oct_clear_error(c);	/* not refused: it timed out */
		return -ETIMEDOUT;
	}
	/*
	 * Rounded up: 1 ns must not become the wire's 0, which is "forever"
	 * (and a timeout is never cut short); past the server's limit is
	 * forever too.
	 */
	wait_ms = timeout_ns < 0 ? 0 : timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
	if (wait_ms > OCT_WAIT_MAX_MS)
		wait_ms = 0;
	snprintf(ms, sizeof(ms), "%lld", wait_ms);
	ret = oct_call(c, &v, 3, argv);
	if (ret)
		return ret;
	if (v->type == MK_RESP_NULL)
		return -ETIMEDOUT;
	if (!is_text(v))
		return -EPROTO;
	*record = strndup(v->str, v->len);
	return *record ? 0 : -ENOMEM;
}
