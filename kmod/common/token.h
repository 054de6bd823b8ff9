/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Random 64-bit tokens that user space presents back to prove it was
 * handed them (mkchan's capabilities, cobjvm's shared-FCM keys).
 *
 * Both ABIs reserve 0 for "no token" (an anonymous attach, an unset
 * field), so a token is never 0: one draw in 2^64 is redrawn.
 */
#ifndef MK_KMOD_COMMON_TOKEN_H
#define MK_KMOD_COMMON_TOKEN_H

#include <linux/random.h>
#include <linux/types.h>

static inline u64 mk_token_new(void)
{
	u64 token;

	do {
		token = get_random_u64();
	} while (!token);
	return token;
}

#endif
