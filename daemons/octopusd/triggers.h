/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd triggers: OCT.WATCH / OCT.UNWATCH and their push events.
 *
 * A trigger is a query, modes (ON_SET, ON_DEL) and PERSIST. Every set and
 * del (including the deletion of a closed connection's ephemeral records)
 * is matched against the triggers from the store's hook, so events are
 * queued on the watchers' connections before the reply to the command that
 * caused them. An event is a push (RESP3) or an array (RESP2):
 *   oct.trigger ID ON_SET|ON_DEL RECORD            persistent trigger
 *   oct.trigger ID ON_SET|ON_DEL RECORD REMOVED    one-shot: fired and gone
 *   oct.trigger ID REMOVED                         OCT.UNWATCH of a
 *                                                  persistent trigger
 * Every trigger is visited per set/del (no trigger index yet).
 */
#ifndef OCTOPUSD_TRIGGERS_H
#define OCTOPUSD_TRIGGERS_H

#include <stdbool.h>
#include <stdint.h>

#include <mk/oct_record.h>

#include "server.h"

#define TRIG_ON_SET	0x1u
#define TRIG_ON_DEL	0x2u

/* Installs a trigger of c on q (taken over, freed on failure). */
enum oct_err trigger_add(struct server *s, struct conn *c,
			 struct oct_record *q, unsigned int modes, bool persist,
			 uint64_t *id);
/* Removes c's trigger id (a persistent one gets its REMOVED event first).
 * false if c has no such trigger. */
bool trigger_remove(struct server *s, struct conn *c, uint64_t id);
/* Drops every trigger of c, no events (its connection is closing). */
void triggers_drop_conn(struct server *s, struct conn *c);
/* From the store hook. */
void triggers_fire(struct server *s, enum store_op op,
		   const struct oct_record *rec);

#endif /* OCTOPUSD_TRIGGERS_H */
