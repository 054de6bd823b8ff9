/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A kept-alive HTTP/1.1 client of etcd's v3 JSON gateway (bench only). */
#ifndef BENCH_ETCD_HTTP_H
#define BENCH_ETCD_HTTP_H

#include <stddef.h>

struct etcd {
	int fd;
	char *buf;
	size_t cap;
};

int etcd_connect(struct etcd *e, const char *host, unsigned int port);
void etcd_close(struct etcd *e);
/* POSTs @json to @path; *@body points into e's buffer until the next call. */
int etcd_post(struct etcd *e, const char *path, const char *json, const char **body);
/* Copies the string value of "@key" in @body (flat JSON, no escapes). */
int etcd_json_string(const char *body, const char *key, char *out, size_t cap);

#endif
