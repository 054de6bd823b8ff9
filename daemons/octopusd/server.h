/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd server: one thread on libmk's loop (<mk/loop.h>: epoll,
 * timers, signals, poll-then-block), non-blocking sockets.
 *
 * Per connection: an mk_resp reader (input) and one mk_resp_buf (output).
 * Every complete command in the input is executed in order and its reply
 * appended to the output; the batch is sent with one write(2). Memory per
 * connection is bounded:
 *  - input: at most CONN_MAX_FRAME bytes of one frame (bulk strings up to
 *    CONN_MAX_BULK) plus one read; a larger frame is a protocol error;
 *  - output: once CONN_OUT_HIGH bytes of replies are pending, the
 *    connection stops executing commands and stops reading (backpressure)
 *    until the client has read them below CONN_OUT_LOW. Output is only
 *    made in reply to input, so it never grows past CONN_OUT_HIGH plus
 *    one reply.
 */
#ifndef OCTOPUSD_SERVER_H
#define OCTOPUSD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/loop.h>
#include <mk/resp.h>

#include "store.h"
#include "watchidx.h"

#define CONN_MAX_BULK	(64u << 20)
#define CONN_MAX_FRAME	(128u << 20)
#define CONN_OUT_HIGH	(1u << 20)
#define CONN_OUT_LOW	(256u << 10)
/* Push events: a watcher with more than this pending is disconnected. */
#define CONN_PUSH_MAX	(8u << 20)
/* Triggers and subscriptions, together: defaults of --max-watches and
 * --max-conn-watches. */
#define MAX_WATCHES		(1u << 20)
#define MAX_CONN_WATCHES	(100u * 1000u)

struct trigger;
struct sub;
struct wait;

struct server;

struct conn {
	struct server *srv;
	int fd;
	uint64_t id;		/* client id (HELLO), owner of ephemeral records */
	struct mk_resp_reader *rd;
	struct mk_resp_buf out;
	uint32_t events;	/* MK_LOOP_* events registered */
	bool closing;		/* send what is pending, then close */
	bool eof;		/* peer closed its side */
	struct conn *prev, *next;
	/* OCT.WAIT (waits.h): blocked on its wait, or answered and on the
	 * server's ready list (wprev, wnext) to run its buffered commands. */
	struct wait *wait;
	enum { CONN_RUN, CONN_WAITING, CONN_READY } wstate;
	struct conn *wprev, *wnext;
	struct trigger *triggers;	/* its triggers */
	struct sub *subs;		/* its subscriptions */
	size_t nwatches;		/* triggers + subscriptions */
	/* On the server's flush list: output queued by another's command. */
	bool in_flush;
	struct conn *fprev, *fnext;
};

struct server {
	struct store *st;
	struct mk_loop *loop;
	int unix_fd;
	int tcp_fd;
	int spare_fd;		/* /dev/null, given up to refuse at EMFILE */
	char *unix_path;
	uint64_t next_id;
	size_t nconns;
	struct conn *conns;	/* list of all connections */
	/* OCT.WAIT (waits.c) */
	struct watchidx wait_idx;	/* the queries of blocked waits */
	struct wait *woken;		/* matched by a set, to answer */
	struct conn *ready;		/* answered, to resume */
	struct watchidx trig_idx;	/* all triggers */
	struct watchidx sub_idx;	/* all subscriptions */
	struct idmap trig_ids, sub_ids;	/* by id, for UNWATCH / UNSUBSCRIBE */
	uint64_t next_watch_id;		/* ids of both, never reused */
	size_t nwatches;
	size_t max_watches, max_conn_watches;
	struct conn *flush;	/* connections with pushed output */
};

struct server_opts {
	const char *unix_path;	/* NULL: no Unix socket */
	const char *bind_addr;	/* for TCP */
	int port;		/* -1: no TCP */
	unsigned int poll_us;	/* the loop's poll window; 0: none */
	size_t max_watches;	/* triggers + subscriptions; 0: default */
	size_t max_conn_watches;	/* ... of one connection; 0: default */
};

/* 0, or -1 with a message on stderr. */
int server_init(struct server *s, const struct server_opts *o);
/* Runs until SIGTERM/SIGINT. 0 on a clean stop. */
int server_run(struct server *s);
void server_fini(struct server *s);

uint64_t server_now_ns(void);
/* Before pushing an event to c: true if it may be written now (c is then
 * flushed from the main loop); false if c is over CONN_PUSH_MAX, which
 * drops c's output and disconnects it. */
bool server_push_begin(struct server *s, struct conn *c);

#endif /* OCTOPUSD_SERVER_H */
