/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd publish / subscribe: OCT.SUBSCRIBE query -> id,
 * OCT.UNSUBSCRIBE id, OCT.PUBLISH record -> deliveries. A publication is
 * stored nowhere: it is matched against the subscriptions (of every
 * connection, the publisher's own included; only those that can match
 * are tested, watchidx.h) and pushed to each match as
 *   oct.publish ID RECORD
 * (a RESP3 push, an array for RESP2). Subscriptions die with their
 * connection; a subscriber too slow to read is disconnected like a slow
 * watcher (server_push_begin()).
 */
#ifndef OCTOPUSD_PUBSUB_H
#define OCTOPUSD_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/oct_record.h>

#include "server.h"

/* Subscribes c to q (taken over, freed on failure). */
enum oct_err sub_add(struct server *s, struct conn *c, struct oct_record *q,
		     uint64_t *id);
/* false if c has no subscription id. */
bool sub_remove(struct server *s, struct conn *c, uint64_t id);
/* Drops every subscription of c (its connection is closing). */
void subs_drop_conn(struct server *s, struct conn *c);
/* Delivers rec (a plain record) to the matching subscriptions; returns
 * to how many. */
size_t sub_publish(struct server *s, const struct oct_record *rec);

#endif /* OCTOPUSD_PUBSUB_H */
