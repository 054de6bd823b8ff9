// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkchan_stress SECONDS WORKERS [SEED]: in the guest, with mkchan loaded,
 * WORKERS processes race for SECONDS through random mailbox and channel
 * operations on each other's mailboxes: create, name, capability, connect,
 * accept, messages, name and capability removal (shootdown), close,
 * children killed mid-send, KICK/WAIT and garbage ioctls. (The caller
 * toggles CPUs meanwhile.) Every call must return, and once all workers
 * are gone the module's object counters must be back where they started.
 * Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mk/mkchan.h>
#include <mk/ring.h>

#include "../lib/mkchan_counters.h"

#define NPUB	64	/* mailboxes published for others to connect to */
#define NHELD	24	/* fds one worker holds at most */

struct pub {
	uint64_t alias;
	uint64_t cap;
};

struct held {
	int fd;
	int kind;	/* 0 free, 1 mailbox, 2 connecting end, 3 accepting end */
	void *map;
	size_t len;
	uint64_t alias, cap;
};

static struct pub *pubs;	/* shared between the workers */
static uint64_t seed;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

static void drop(struct held *h)
{
	if (h->map)
		munmap(h->map, h->len);
	close(h->fd);
	memset(h, 0, sizeof(*h));
}

static struct held *slot(struct held *held, int kind)
{
	for (int i = 0; i < NHELD; i++)
		if (held[i].kind == kind)
			return &held[i];
	return NULL;
}

static void map_end(struct held *h)
{
	struct mkchan_chan_info info;

	if (ioctl(h->fd, MKCHAN_IOC_CHAN_INFO, &info))
		return;
	h->map = mmap(NULL, info.map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->map == MAP_FAILED)
		h->map = NULL;
	else
		h->len = info.map_bytes;
}

/* A few messages out on ring 0 (connecting end) or in from it (accepting). */
static void traffic(struct held *h)
{
	unsigned char buf[200];
	struct mk_ring_tx tx;
	struct mk_ring_rx rx;
	size_t len;

	if (!h->map)
		return;
	if (h->kind == 2 && !mk_ring_attach_tx(&tx, h->map, h->len)) {
		/*
		 * A fresh attach restarts at message 0, so this plays a
		 * sloppy peer: the other end may see -EBADMSG, never worse.
		 */
		for (int i = 0; i < 3 && !mk_ring_try_send(&tx, buf, rnd() % sizeof(buf)); i++)
			;
		ioctl(h->fd, MKCHAN_IOC_KICK);
	} else if (h->kind == 3 && !mk_ring_attach_rx(&rx, h->map, h->len)) {
		while (!mk_ring_try_recv(&rx, buf, sizeof(buf), &len))
			;
	}
}

static void child_sender(struct pub p)
{
	int ctl = open(MKCHAN_DEVICE, O_RDWR);
	struct mkchan_connect c = { .alias = p.alias, .cap = p.cap, .slots = 8 };
	struct held h = { 0 };

	if (ctl < 0 || ioctl(ctl, MKCHAN_IOC_CONNECT, &c))
		_exit(0);
	h.fd = c.fd;
	h.kind = 2;
	map_end(&h);
	for (;;)
		traffic(&h);
}

static long worker(int id, int seconds)
{
	struct held held[NHELD] = { 0 };
	time_t end = time(NULL) + seconds;
	unsigned char junk[64];
	long ops = 0;
	int ctl = open(MKCHAN_DEVICE, O_RDWR);

	if (ctl < 0)
		return -1;
	while (time(NULL) < end) {
		struct held *h = &held[rnd() % NHELD], *f;
		struct pub p = pubs[rnd() % NPUB];
		unsigned int act = rnd() % 10;

		ops++;
		switch (act) {
		case 0: {	/* a new published mailbox */
			struct mkchan_mbox_create mc = { .cpu = MKCHAN_CPU_CURRENT };
			uint64_t alias = rnd() % 256, cap;
			int k = (int)(rnd() % NPUB);

			f = slot(held, 0);
			if (!f || ioctl(ctl, MKCHAN_IOC_MBOX_CREATE, &mc))
				break;
			*f = (struct held){ .fd = mc.fd, .kind = 1 };
			if (!ioctl(mc.fd, MKCHAN_IOC_NAME_ADD, &alias) &&
			    !ioctl(mc.fd, MKCHAN_IOC_CAP_ADD, &cap)) {
				f->alias = alias;
				f->cap = cap;
				pubs[k] = (struct pub){ alias, cap };
			}
			break;
		}
		case 1:
		case 2: {	/* connect to somebody's mailbox */
			struct mkchan_connect c = { .alias = p.alias, .cap = p.cap,
						    .slots = 1u << (1 + rnd() % 6) };

			f = slot(held, 0);
			if (!f || ioctl(ctl, MKCHAN_IOC_CONNECT, &c))
				break;
			*f = (struct held){ .fd = c.fd, .kind = 2 };
			map_end(f);
			traffic(f);
			break;
		}
		case 3: {	/* accept on one of ours */
			struct mkchan_accept a;

			if (h->kind != 1 || ioctl(h->fd, MKCHAN_IOC_ACCEPT, &a))
				break;
			f = slot(held, 0);
			if (!f) {
				close(a.fd);
				break;
			}
			*f = (struct held){ .fd = a.fd, .kind = 3 };
			map_end(f);
			traffic(f);
			break;
		}
		case 4:		/* shoot down: drop the name or the capability */
			if (h->kind == 1)
				ioctl(h->fd, rnd() & 1 ? MKCHAN_IOC_CAP_DEL : MKCHAN_IOC_NAME_DEL,
				      rnd() & 1 ? &h->cap : &h->alias);
			break;
		case 5:
			if (h->kind)
				drop(h);
			break;
		case 6:
			if (h->kind >= 2) {
				struct mkchan_wait w = { .futex = (uint32_t)rnd(),
							 .flags = rnd() & 1 ? MKCHAN_WAIT_CREDITS : 0,
							 .timeout_ns = (int64_t)(rnd() % 1000000) };
				static const unsigned long cmds[] = {
					MKCHAN_IOC_KICK, MKCHAN_IOC_WAIT, MKCHAN_IOC_KICK_CREDITS,
				};

				traffic(h);
				ioctl(h->fd, cmds[rnd() % 3], &w);
			}
			break;
		case 7: {	/* a child killed while it sends */
			pid_t pid;

			if (rnd() % 8)
				break;
			pid = fork();
			if (!pid)
				child_sender(p);
			usleep(rnd() % 3000);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		case 8:		/* garbage */
			if (h->kind) {
				memset(junk, (int)rnd(), sizeof(junk));
				ioctl(h->fd, _IOC(rnd() % 4, MKCHAN_IOC_MAGIC, rnd() % 0x30,
						  rnd() % 64), rnd() & 1 ? (void *)junk : (void *)8);
			}
			break;
		default:
			if (h->kind >= 2)
				traffic(h);
			break;
		}
	}
	(void)id;
	return ops;	/* exit closes and unmaps everything left */
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	int workers = argc > 2 ? atoi(argv[2]) : 4;
	struct mkchan_counters before = { -1, -1, -1 }, after;
	int ok = 1, status;
	long total = 0;
	int pipefd[2];

	seed = argc > 3 ? strtoull(argv[3], NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	if (!seed)
		seed = 1;
	printf("# seed %llu, %d workers for %d s\n", (unsigned long long)seed, workers, seconds);
	pubs = mmap(NULL, NPUB * sizeof(*pubs), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pubs == MAP_FAILED || pipe(pipefd) || !mkchan_counters_read(&before))
		return 1;
	for (int w = 0; w < workers; w++) {
		if (!fork()) {
			long ops;

			seed += (uint64_t)(w + 1) * 0x9e3779b97f4a7c15ULL;
			ops = worker(w, seconds);
			if (write(pipefd[1], &ops, sizeof(ops)) != sizeof(ops))
				_exit(2);
			_exit(ops < 0);
		}
	}
	close(pipefd[1]);
	for (int w = 0; w < workers; w++) {
		long ops;

		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
		if (read(pipefd[0], &ops, sizeof(ops)) == sizeof(ops))
			total += ops;
	}
	printf("%sok 1 - %d workers ran %ld random operations and exited cleanly\n",
	       ok && total > 1000 ? "" : "not ", workers, total);
	ok = ok && total > 1000;
	bool freed = mkchan_counters_read(&after) && mkchan_counters_equal(&before, &after);

	printf("%sok 2 - every mailbox, channel and ring page freed (%ld %ld %ld)\n",
	       freed ? "" : "not ", after.mailboxes, after.channels, after.ring_pages);
	ok = ok && freed;
	printf("1..2\n");
	return !ok;
}
