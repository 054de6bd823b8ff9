/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd OCT.WAIT: connections blocked until a record matches their
 * query or their deadline passes.
 *
 * A wait's query is a watch in the server's wait index (watchidx.h), so a
 * set of record R tests only the waits whose query can match R (by R's
 * name, by a key R has, or the short list of the rest). Those that match
 * are marked, and after the command that made the set (waits_wake) each is
 * answered with the first match in natural order (store_get, as OCT.GET).
 * A wait begins only when nothing matches, and from then on only a set can
 * make its query match: each set tests it when it can, so none is missed
 * and no other wait is looked at. A deadline is a timer of the server's
 * loop (<mk/loop.h>, a min-heap), so expiring looks at the due ones only.
 *
 * An answered connection goes on the server's ready list; the main loop
 * then runs the commands it buffered meanwhile (waits_next_ready).
 */
#ifndef OCTOPUSD_WAITS_H
#define OCTOPUSD_WAITS_H

#include <stdint.h>

#include <mk/oct_record.h>

#include "server.h"

/* Blocks c on q (taken over; freed on failure) until a record matches or
 * deadline_ns (CLOCK_MONOTONIC; 0: forever) passes. OCT_ERR_NO_MEMORY
 * (or, for a regex PCRE2 refuses, OCT_ERR_PARSER_FAIL): c does not wait. */
enum oct_err wait_start(struct server *s, struct conn *c,
			struct oct_record *q, uint64_t deadline_ns);
/* From the store hook, on a set of rec: marks the waits it matches. */
void waits_set(struct server *s, const struct oct_record *rec);
/* After a command: answers the marked waits (s->woken). */
void waits_wake(struct server *s);
/* c is closing: its wait, or its place on the ready list, goes. */
void wait_drop(struct server *s, struct conn *c);
/* Takes the next answered connection off the ready list; NULL if none. */
struct conn *waits_next_ready(struct server *s);
/* Frees what the server holds for waits (after every connection closed). */
void waits_fini(struct server *s);

#endif /* OCTOPUSD_WAITS_H */
