// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The smallest client of etcd's v3 JSON gateway the lock benchmark needs:
 * one kept-alive HTTP/1.1 connection, POST of a JSON body, the response
 * body back. etcd 3.4 serves the gateway on its client port and forwards
 * each call to its own gRPC server, so a call costs etcd's real lock path
 * (the v3lock service: concurrency.Mutex on a lease) plus one loopback hop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "etcd_http.h"

int etcd_connect(struct etcd *e, const char *host, unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;

	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	e->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return -errno;
	setsockopt(e->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(e->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(e->fd);
		e->fd = -1;
		return err;
	}
	return 0;
}

void etcd_close(struct etcd *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->buf);
	e->fd = -1;
	e->buf = NULL;
}

static int grow(struct etcd *e, size_t need)
{
	if (need <= e->cap)
		return 0;
	size_t cap = e->cap ? e->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(e->buf, cap);
	if (!p)
		return -ENOMEM;
	e->buf = p;
	e->cap = cap;
	return 0;
}

/* Reads until the headers and a Content-Length body are in e->buf. */
static int read_response(struct etcd *e, const char **body)
{
	size_t len = 0, hdr = 0, clen = 0;

	for (;;) {
		if (grow(e, len + 4096 + 1))
			return -ENOMEM;
		ssize_t r = read(e->fd, e->buf + len, e->cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -EPIPE;
		len += (size_t)r;
		e->buf[len] = '\0';
		if (!hdr) {
			char *end = strstr(e->buf, "\r\n\r\n");
			char *cl;

			if (!end)
				continue;
			hdr = (size_t)(end - e->buf) + 4;
			if (strncmp(e->buf, "HTTP/1.1 200", 12))
				return -EPROTO;
			cl = strcasestr(e->buf, "\r\nContent-Length:");
			if (!cl || cl > end)
				return -EPROTO;	/* the gateway sends lengths */
			clen = strtoull(cl + 17, NULL, 10);
		}
		if (len >= hdr + clen) {
			e->buf[hdr + clen] = '\0';
			*body = e->buf + hdr;
			return 0;
		}
	}
}

int etcd_post(struct etcd *e, const char *path, const char *json, const char **body)
{
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "POST %s HTTP/1.1\r\nHost: etcd\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n", path, strlen(json));
	struct part {
		const void *b;
		size_t n;
	} parts[2] = { { head, (size_t)hl }, { json, strlen(json) } };

	for (int i = 0; i < 2; i++) {
		const char *p = parts[i].b;
		size_t n = parts[i].n;

		while (n) {
			ssize_t w = send(e->fd, p, n, MSG_NOSIGNAL | (i == 0 ? MSG_MORE : 0));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -EPIPE;
			p += w;
			n -= (size_t)w;
		}
	}
	return read_response(e, body);
}

int etcd_json_string(const char *body, const char *key, char *out, size_t cap)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(body, pat);
	if (!p)
		return -ENOENT;
	p += strlen(pat);
	end = strchr(p, '"');
	if (!end || (size_t)(end - p) >= cap)
		return -EPROTO;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}
