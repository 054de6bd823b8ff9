/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd triggers: OCT.WATCH / OCT.UNWATCH, the WATCH clause of the
 * other OCT.* commands, and their push events.
 *
 * A trigger is a query, modes (ON_SET, ON_DEL) and PERSIST. Every set and
 * del (including the deletion of a closed connection's ephemeral records)
 * is matched against the triggers from the store's hook, so events are
 * queued on the watchers' connections before the reply to the command that
 * caused them. Only the triggers that can match are tested (watchidx.h).
 * An event is a push (RESP3) or an array (RESP2):
 *   oct.trigger ID ON_SET|ON_DEL RECORD            persistent trigger
 *   oct.trigger ID ON_SET|ON_DEL RECORD REMOVED    one-shot: fired and gone
 *   oct.trigger ID REMOVED                         OCT.UNWATCH of a
 *                                                  persistent trigger
 */
#ifndef OCTOPUSD_TRIGGERS_H
#define OCTOPUSD_TRIGGERS_H

#include <stdbool.h>
#include <stdint.h>

#include <mk/oct_record.h>

#include "server.h"

#define TRIG_ON_SET	0x1u
#define TRIG_ON_DEL	0x2u

/*
 * A trigger of c on q (taken over, freed on failure), compiled but not yet
 * installed: commands prepare one before their operation so that nothing
 * can fail but memory between the operation and the installation.
 */
struct trigger *trigger_new(struct conn *c, struct oct_record *q,
			    unsigned int modes, bool persist, enum oct_err *err);
/* The query t was made with. */
const struct oct_record *trigger_query(const struct trigger *t);
/* Frees a trigger that trigger_install() was not given. */
void trigger_discard(struct trigger *t);
/* Installs t (from now on it fires) and gives its id; frees it on failure
 * (OCT_ERR_NO_MEMORY). */
enum oct_err trigger_install(struct server *s, struct trigger *t,
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
