// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Octopus paper's synchronization recipes (§3.5) on libmk's client:
 * locks, double barriers and a counting semaphore, all on ephemeral
 * sequential records, so that a participant that dies (its connection
 * closes) leaves nothing behind that others would wait for. Each waiter
 * watches one record with a one-shot trigger installed atomically with the
 * query that decided to wait (the WATCH clause), so no change between the
 * answer and the trigger is missed, and a change wakes one waiter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_impl.h"

/* The record-name rule of <mk/oct_record.h>: what may go under "NAME.". */
static bool valid_name(const char *s)
{
	if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-/", *s)))
			return false;
	return true;
}

/* r'^PREFIX\.[0-9]+$': the sequential records under "PREFIX." only. */
static char *seq_query(const char *prefix)
{
	size_t n = strlen(prefix), k = 0;
	char *q = malloc(2 * n + 20);

	if (!q)
		return NULL;
	k += (size_t)sprintf(q, "r'^");
	for (size_t i = 0; i < n; i++) {
		if (prefix[i] == '.')
			q[k++] = '\\';
		q[k++] = prefix[i];
	}
	strcpy(q + k, "\\.[0-9]+$'");
	return q;
}

static long index_of(char **names, size_t n, const char *mine)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], mine))
			return (long)i;
	return -1;
}

/* The text of a ticket under PREFIX: "PREFIX. { ATTRS, pid: P }" (free()). */
static char *ticket_record(const char *prefix, const char *attrs)
{
	char *rec;

	if (asprintf(&rec, "%s. { %s%spid: %d }", prefix, attrs, *attrs ? ", " : "",
		     (int)getpid()) < 0)
		return NULL;
	return rec;
}

/* A new ephemeral sequential record "PREFIX.N { ATTRS }": its name in *mine. */
static int take_ticket(struct mk_oct *c, const char *prefix, const char *attrs, char **mine)
{
	char *rec = ticket_record(prefix, attrs);
	int ret;

	if (!rec)
		return -ENOMEM;
	ret = mk_oct_set(c, rec, MK_OCT_SET_SEQ | MK_OCT_SET_EPHEMERAL, mine);
	free(rec);
	return ret;
}

/* take_ticket() and the names matching @query, in one round trip. */
static int lock_ticket(struct mk_oct *c, const char *prefix, const char *query,
		       char **mine, char ***names, size_t *n)
{
	char *rec = ticket_record(prefix, "");
	int ret;

	*names = NULL;
	if (!rec)
		return -ENOMEM;
	ret = oct_set_then_names(c, rec, MK_OCT_SET_SEQ | MK_OCT_SET_EPHEMERAL, mine,
				 query, names, n);
	free(rec);
	return ret;
}

/*
 * Our ticket @mine is not in the queue: someone deleted it. -ENODATA, as
 * if the server had said NO_RECORD, so that mk_oct_error_code() agrees.
 */
static int ticket_gone(struct mk_oct *c, const char *mine)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "our ticket %s was deleted", mine);
	return oct_refused(c, OCT_ERR_NO_RECORD, msg, strlen(msg));
}

/*
 * The error that failed a recipe, kept across the cleanup after it (whose
 * commands would clear it) for mk_oct_error() / mk_oct_error_code().
 */
struct kept_error {
	char *msg;
	int code;
};

static struct kept_error save_error(struct mk_oct *c)
{
	struct kept_error k = { c->err, c->err_code };

	c->err = NULL;
	c->err_code = 0;
	return k;
}

static void restore_error(struct mk_oct *c, struct kept_error k)
{
	free(c->err);
	c->err = k.msg;
	c->err_code = k.code;
}

/* After a failure: deletes our ticket *@mine, if any, and forgets it. */
static void drop_ticket(struct mk_oct *c, char **mine)
{
	struct kept_error k;

	if (!*mine)
		return;
	k = save_error(c);
	mk_oct_del(c, *mine);
	restore_error(c, k);
	free(*mine);
	*mine = NULL;
}

/* Waits until the record @name, if it exists, is deleted: one trigger. */
static int wait_gone(struct mk_oct *c, const char *name)
{
	struct mk_oct_trigger t = mk_oct_mktrigger(MK_OCT_IF_OK, MK_OCT_ON_DEL,
						   MK_OCT_ONCE, OCT_INTERNAL);
	uint64_t tid = 0;
	bool found;
	int ret = mk_oct_exists_watch(c, name, &t, &found, &tid);

	if (ret || !found || !tid)
		return ret;
	ret = oct_wait_event(c, tid, -1);
	return ret < 0 ? ret : 0;
}

/*
 * Lock: the paper's (and ZooKeeper's) recipe. Our ticket NAME.N is in the
 * queue of tickets; the lowest holds the lock. Every other waiter watches
 * only the ticket just before its own: its deletion (unlock, or the death
 * of its owner) wakes that one waiter, which looks again — the ticket
 * before may have been a waiter that died, not the holder. Tickets are
 * served in the order they were taken: fair.
 */
int mk_oct_lock(struct mk_oct *c, const char *name, struct mk_oct_lock *l)
{
	char *query, **names;
	bool held = false;
	size_t n;
	long i;
	int ret;

	if (!c || !l || !valid_name(name))
		return -EINVAL;
	l->mine = NULL;
	query = seq_query(name);
	if (!query)
		return -ENOMEM;
	/* The ticket and the first look at the queue in one round trip. */
	ret = lock_ticket(c, name, query, &l->mine, &names, &n);
	while (!ret && !held) {
		if (!names)
			ret = mk_oct_names(c, query, &names, &n);
		if (ret)
			break;
		i = index_of(names, n, l->mine);
		if (i < 0)
			ret = ticket_gone(c, l->mine);
		else if (i == 0)
			held = true;
		else
			ret = wait_gone(c, names[i - 1]);
		mk_oct_free_names(names, n);
		names = NULL;
	}
	free(query);
	if (ret)
		drop_ticket(c, &l->mine);
	return ret;
}

int mk_oct_unlock(struct mk_oct *c, struct mk_oct_lock *l)
{
	int ret;

	if (!c || !l || !l->mine)
		return -EINVAL;
	ret = mk_oct_del(c, l->mine);
	free(l->mine);
	l->mine = NULL;
	return ret;
}

/*
 * Double barrier (§3.5, ZooKeeper's recipe), round by round: the records
 * of round R live under NAME.rR., so a participant already entering round
 * R+1 cannot be mistaken for one still leaving round R, and the "ready"
 * record of one round cannot let the next one through.
 *
 * enter: take a ticket; if the tickets number N, set NAME.rR.ready, else
 * wait for it (an ON_SET trigger installed with the exists that found it
 * missing). ready is ephemeral: if every participant dies it goes too,
 * and while any participant is still entering, the one that set it is
 * still in the round (its leave waits for everybody's ticket to go).
 * leave: delete our ticket, wait until no ticket of the round is left
 * (watching the lowest), then delete ready: nobody needs it any more, as
 * every ticket went only after its owner passed enter.
 */
int mk_oct_barrier_init(struct mk_oct_barrier *b, const char *name, unsigned int n)
{
	if (!b || !valid_name(name) || !n)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->name = strdup(name);
	b->n = n;
	return b->name ? 0 : -ENOMEM;
}

void mk_oct_barrier_destroy(struct mk_oct_barrier *b)
{
	if (!b)
		return;
	free(b->name);
	free(b->mine);
	b->name = b->mine = NULL;
}

/* "NAME.rR", its ticket query and its ready record's name. */
static int round_names(const struct mk_oct_barrier *b, char **prefix, char **query,
		       char **ready)
{
	*query = *ready = NULL;
	if (asprintf(prefix, "%s.r%llu", b->name, (unsigned long long)b->round) < 0)
		return -ENOMEM;
	*query = seq_query(*prefix);
	if (*query && asprintf(ready, "%s.ready", *prefix) >= 0)
		return 0;
	free(*prefix);
	free(*query);
	return -ENOMEM;
}

int mk_oct_barrier_enter(struct mk_oct *c, struct mk_oct_barrier *b)
{
	struct mk_oct_trigger t = mk_oct_mktrigger(MK_OCT_IF(OCT_ERR_NO_RECORD), MK_OCT_ON_SET,
						   MK_OCT_ONCE, OCT_INTERNAL);
	char *prefix, *query, *ready, *rec = NULL, **names;
	uint64_t tid = 0;
	bool found;
	size_t n;
	int ret;

	if (!c || !b || !b->name || b->mine)
		return -EINVAL;
	ret = round_names(b, &prefix, &query, &ready);
	if (ret)
		return ret;
	ret = take_ticket(c, prefix, "", &b->mine);
	if (!ret)
		ret = mk_oct_names(c, query, &names, &n);
	if (!ret) {
		mk_oct_free_names(names, n);
		if (n >= b->n) {
			if (asprintf(&rec, "%s {}", ready) < 0)
				ret = -ENOMEM;
			else
				ret = mk_oct_set(c, rec, MK_OCT_SET_EPHEMERAL, NULL);
		} else {
			ret = mk_oct_exists_watch(c, ready, &t, &found, &tid);
			if (!ret && !found && tid)
				ret = oct_wait_event(c, tid, -1) < 0 ? -EPIPE : 0;
		}
	}
	free(rec);
	free(prefix);
	free(query);
	free(ready);
	return ret;
}

int mk_oct_barrier_leave(struct mk_oct *c, struct mk_oct_barrier *b)
{
	char *prefix, *query, *ready, **names;
	size_t n;
	int ret;

	if (!c || !b || !b->mine)
		return -EINVAL;
	ret = round_names(b, &prefix, &query, &ready);
	if (ret)
		return ret;
	ret = mk_oct_del(c, b->mine);
	free(b->mine);
	b->mine = NULL;
	while (!ret) {
		ret = mk_oct_names(c, query, &names, &n);
		if (ret == -ENODATA || (!ret && !n)) {
			if (!ret)
				mk_oct_free_names(names, n);
			ret = mk_oct_del(c, ready);
			if (ret == -ENODATA)	/* another leaver's del */
				ret = 0;
			break;
		}
		if (!ret) {
			ret = wait_gone(c, names[0]);
			mk_oct_free_names(names, n);
		}
	}
	if (!ret)
		b->round++;
	free(prefix);
	free(query);
	free(ready);
	return ret;
}

/*
 * Counting semaphore of P permits, herd-free. Tickets NAME.N { held: ... }
 * queue in sequence order; the first P tickets hold a permit (a ticket
 * among them that still says held: false is taking its permit). Waiters:
 *
 * - the head (the ticket at index P) watches the deletions of all tickets
 *   (NAMES with a one-shot ON_DEL trigger): a release, or the death of a
 *   holder, is a deletion ahead of it;
 * - every waiter behind the head watches only the ticket just before its
 *   own, for ON_SET or ON_DEL: that ticket taking its permit (it sets
 *   held: true) makes us the head, its deletion moves us up.
 *
 * One release deletes one holder ticket. The only trigger that can be on
 * it is the head's: behind-the-head triggers are only ever on tickets with
 * held: false (one installed on a held ticket — seen in the record the
 * installing GET returned — is removed at once), and a held ticket's
 * successor was woken when it turned held. So a release wakes exactly one
 * waiter, the head, whatever the number of waiters; the head taking its
 * permit then wakes exactly one more, its successor, which becomes the
 * head and sleeps again. A herd (every waiter watching the permits) would
 * wake all of them at every release.
 *
 * No wake-up is lost: each trigger is installed by the same command that
 * read the state it waits to change (NAMES / GET with the WATCH clause),
 * so a change after that read fires it; the only changes that can make a
 * waiter's position better are the deletion of a ticket ahead (seen by the
 * head's trigger, or by the predecessor's) and its predecessor turning
 * held (seen by the predecessor trigger), and every waiter looks again
 * after each wake-up.
 */
int mk_oct_sem_init(struct mk_oct_sem *s, const char *name, unsigned int permits)
{
	if (!s || !valid_name(name) || !permits)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->name = strdup(name);
	s->permits = permits;
	return s->name ? 0 : -ENOMEM;
}

void mk_oct_sem_destroy(struct mk_oct_sem *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->mine);
	s->name = s->mine = NULL;
}

/* Our ticket says held: successor behind us, we are no longer a waiter. */
static int mark_held(struct mk_oct *c, struct mk_oct_sem *s)
{
	char *rec;
	int ret;

	if (asprintf(&rec, "%s { held: true, pid: %d }", s->mine, (int)getpid()) < 0)
		return -ENOMEM;
	/* EPHEMERAL again: a plain set would make the ticket outlive us. */
	ret = mk_oct_set(c, rec, MK_OCT_SET_EPHEMERAL, NULL);
	free(rec);
	return ret;
}

/* Head: wait for a deletion ahead (1), or 0 when we hold a permit already. */
static int sem_wait_head(struct mk_oct *c, struct mk_oct_sem *s, const char *query,
			 bool *holds)
{
	struct mk_oct_trigger t = mk_oct_mktrigger(MK_OCT_IF_OK, MK_OCT_ON_DEL,
						   MK_OCT_ONCE, OCT_INTERNAL);
	uint64_t tid = 0;
	char **names;
	size_t n;
	long i;
	int ret = mk_oct_names_watch(c, query, &t, &names, &n, &tid);

	if (ret)
		return ret;
	i = index_of(names, n, s->mine);
	mk_oct_free_names(names, n);
	if (i < 0) {
		ret = ticket_gone(c, s->mine);
	} else if ((unsigned long)i < s->permits) {
		*holds = true;	/* a deletion came between our two looks */
	} else {
		ret = oct_wait_event(c, tid, -1);
		if (ret >= 0) {
			s->wakeups++;
			return 0;
		}
	}
	if (tid) {
		struct kept_error k = save_error(c);

		oct_drop_trigger(c, tid);
		restore_error(c, k);
	}
	return ret;
}

/* Behind the head: wait until @pred turns held or goes. */
static int sem_wait_pred(struct mk_oct *c, struct mk_oct_sem *s, const char *pred)
{
	struct mk_oct_trigger t = mk_oct_mktrigger(MK_OCT_IF_OK, MK_OCT_ON_SET_DEL,
						   MK_OCT_ONCE, OCT_INTERNAL);
	uint64_t tid = 0;
	bool held = false;
	char *rec = NULL;
	int ret = mk_oct_get_watch(c, pred, &t, &rec, &tid);

	if (ret == -ENODATA)
		return 0;
	if (ret)
		return ret;
	if (oct_read(rec, "_ { held: %b }", &held) != OCT_OK)
		held = false;
	free(rec);
	if (held)
		return tid ? oct_drop_trigger(c, tid) : 0;
	ret = oct_wait_event(c, tid, -1);
	if (ret < 0)
		return ret;
	s->wakeups++;
	return 0;
}

int mk_oct_sem_acquire(struct mk_oct *c, struct mk_oct_sem *s)
{
	char *query, **names;
	bool holds = false;
	size_t n;
	long i;
	int ret;

	if (!c || !s || !s->name || s->mine)
		return -EINVAL;
	query = seq_query(s->name);
	if (!query)
		return -ENOMEM;
	ret = take_ticket(c, s->name, "held: false", &s->mine);
	while (!ret && !holds) {
		ret = mk_oct_names(c, query, &names, &n);
		if (ret)
			break;
		i = index_of(names, n, s->mine);
		if (i < 0)
			ret = ticket_gone(c, s->mine);
		else if ((unsigned long)i < s->permits)
			holds = true;
		else if ((unsigned long)i == s->permits)
			ret = sem_wait_head(c, s, query, &holds);
		else
			ret = sem_wait_pred(c, s, names[i - 1]);
		mk_oct_free_names(names, n);
	}
	if (!ret)
		ret = mark_held(c, s);
	free(query);
	if (ret)
		drop_ticket(c, &s->mine);
	return ret;
}

int mk_oct_sem_release(struct mk_oct *c, struct mk_oct_sem *s)
{
	int ret;

	if (!c || !s || !s->mine)
		return -EINVAL;
	ret = mk_oct_del(c, s->mine);
	free(s->mine);
	s->mine = NULL;
	return ret;
}
