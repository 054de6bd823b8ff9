/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd commands: the Redis subset and the Octopus commands (README.md).
 */
#ifndef OCTOPUSD_COMMANDS_H
#define OCTOPUSD_COMMANDS_H

#include <mk/resp.h>

#include "server.h"

/* Executes one command, appending its reply to c->out. May set
 * c->closing (QUIT). */
void cmd_exec(struct server *s, struct conn *c, const struct mk_resp_command *cmd);

#endif /* OCTOPUSD_COMMANDS_H */
