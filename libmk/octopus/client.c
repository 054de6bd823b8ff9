// SPDX-License-Identifier: LGPL-2.1-or-later
/* libmk's Octopus client (<mk/octopus.h>): one request, one reply. */
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

#include <mk/octopus.h>

struct mk_oct {
	int fd;
	struct mk_resp_reader *in;
	struct mk_resp_buf out;
	char *err;		/* the server's last error message */
};

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
	free(c);
}

const char *mk_oct_error(const struct mk_oct *c)
{
	return c && c->err ? c->err : "";
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

int mk_oct_command(struct mk_oct *c, size_t argc, const char *const *argv,
		   const struct mk_resp_value **reply)
{
	ssize_t n;
	int ret;

	if (!c || !argc || !argv || !reply)
		return -EINVAL;
	c->out.len = 0;
	if (mk_resp_w_command(&c->out, argc, argv, NULL))
		return -ENOMEM;
	ret = send_all(c->fd, c->out.data, c->out.len);
	if (ret)
		return ret;
	for (;;) {
		ret = mk_resp_reader_next(c->in, reply);
		if (ret == 1)
			return 0;
		if (ret < 0)
			return ret == -ENOMEM ? -ENOMEM : -EPROTO;
		n = mk_resp_reader_read_fd(c->in, c->fd);
		if (n == 0)
			return -EPIPE;
		if (n < 0 && n != -EINTR)
			return (int)n;
	}
}

/*
 * "-CODE message": an Octopus code comes back as itself (positive), the
 * server not knowing the command as -EOPNOTSUPP, anything else -EPROTO.
 */
static int reply_error(struct mk_oct *c, const struct mk_resp_value *v)
{
	const char *sp = memchr(v->str, ' ', v->len);
	size_t clen = sp ? (size_t)(sp - v->str) : v->len;

	free(c->err);
	c->err = strndup(sp ? sp + 1 : "", sp ? v->len - clen - 1 : 0);
	for (int code = OCT_OK + 1; code < OCT_ERR_COUNT; code++) {
		const char *name = oct_err_name(code);

		if (name && strlen(name) == clen && !memcmp(name, v->str, clen))
			return code;
	}
	if (clen == 3 && !memcmp(v->str, "ERR", 3) && c->err &&
	    !strncmp(c->err, "unknown command", 15))
		return -EOPNOTSUPP;
	return -EPROTO;
}

/* Runs a command; errors the server answered become return codes. */
static int call(struct mk_oct *c, const struct mk_resp_value **v, size_t argc,
		const char *const *argv)
{
	int ret = mk_oct_command(c, argc, argv, v);

	if (ret)
		return ret;
	if ((*v)->type == MK_RESP_ERROR || (*v)->type == MK_RESP_BULK_ERROR)
		return reply_error(c, *v);
	return 0;
}

static bool is_ok(const struct mk_resp_value *v)
{
	return v->type == MK_RESP_SIMPLE && v->len == 2 && !memcmp(v->str, "OK", 2);
}

int mk_oct_get(struct mk_oct *c, const char *query, char **record)
{
	const char *argv[] = { "OCT.GET", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query || !record)
		return -EINVAL;
	ret = call(c, &v, 2, argv);
	if (ret)
		return ret;
	if (v->type == MK_RESP_NULL)
		return OCT_ERR_NO_RECORD;
	if (v->type != MK_RESP_BULK && v->type != MK_RESP_SIMPLE)
		return -EPROTO;
	*record = strndup(v->str, v->len);
	return *record ? 0 : -ENOMEM;
}

void mk_oct_free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int mk_oct_names(struct mk_oct *c, const char *query, char ***names, size_t *n)
{
	const char *argv[] = { "OCT.NAMES", query };
	const struct mk_resp_value *v;
	char **out;
	int ret;

	if (!query || !names || !n)
		return -EINVAL;
	ret = call(c, &v, 2, argv);
	if (ret)
		return ret;
	if (v->type != MK_RESP_ARRAY)
		return -EPROTO;
	out = calloc(v->n + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		const struct mk_resp_value *e = &v->elems[i];

		if (e->type != MK_RESP_BULK && e->type != MK_RESP_SIMPLE) {
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

int mk_oct_set(struct mk_oct *c, const char *record, enum mk_oct_set_flags flags,
	       char **name)
{
	const char *argv[4] = { "OCT.SET", record };
	const struct mk_resp_value *v;
	size_t argc = 2;
	int ret;

	if (!record || (flags & ~(MK_OCT_SET_SEQ | MK_OCT_SET_EPHEMERAL)))
		return -EINVAL;
	if (flags & MK_OCT_SET_SEQ)
		argv[argc++] = "SEQ";
	if (flags & MK_OCT_SET_EPHEMERAL)
		argv[argc++] = "EPHEMERAL";
	ret = call(c, &v, argc, argv);
	if (ret)
		return ret;
	if (flags & MK_OCT_SET_SEQ) {
		if (v->type != MK_RESP_BULK && v->type != MK_RESP_SIMPLE)
			return -EPROTO;
		if (name) {
			*name = strndup(v->str, v->len);
			if (!*name)
				return -ENOMEM;
		}
		return 0;
	}
	if (name)
		*name = NULL;
	return is_ok(v) ? 0 : -EPROTO;
}

int mk_oct_del(struct mk_oct *c, const char *query)
{
	const char *argv[] = { "OCT.DEL", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query)
		return -EINVAL;
	ret = call(c, &v, 2, argv);
	if (ret)
		return ret;
	return is_ok(v) ? 0 : -EPROTO;
}

int mk_oct_exists(struct mk_oct *c, const char *query, bool *found)
{
	const char *argv[] = { "OCT.EXISTS", query };
	const struct mk_resp_value *v;
	int ret;

	if (!query || !found)
		return -EINVAL;
	ret = call(c, &v, 2, argv);
	if (ret)
		return ret;
	if (v->type != MK_RESP_INTEGER || (v->integer != 0 && v->integer != 1))
		return -EPROTO;
	*found = v->integer;
	return 0;
}
