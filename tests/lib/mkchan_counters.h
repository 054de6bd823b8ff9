/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mkchan module's live-object counters, for guest tests that check a
 * run leaves nothing behind (/sys/class/misc/mkchan/).
 */
#ifndef MK_TESTS_MKCHAN_COUNTERS_H
#define MK_TESTS_MKCHAN_COUNTERS_H

#include <stdbool.h>
#include <stdio.h>

struct mkchan_counters {
	long mailboxes, channels, ring_pages;
};

static inline long mkchan_counter(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/mkchan/%s", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* false if the module's counters cannot be read */
static inline bool mkchan_counters_read(struct mkchan_counters *c)
{
	c->mailboxes = mkchan_counter("mailboxes");
	c->channels = mkchan_counter("channels");
	c->ring_pages = mkchan_counter("ring_pages");
	return c->mailboxes >= 0 && c->channels >= 0 && c->ring_pages >= 0;
}

static inline bool mkchan_counters_equal(const struct mkchan_counters *a,
					 const struct mkchan_counters *b)
{
	return a->mailboxes == b->mailboxes && a->channels == b->channels &&
	       a->ring_pages == b->ring_pages;
}

#endif /* MK_TESTS_MKCHAN_COUNTERS_H */
