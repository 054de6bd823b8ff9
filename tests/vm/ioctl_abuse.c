// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Runs in the guest with mk's modules loaded: throws malformed and random
 * ioctls, bad pointers, reads, writes and mmaps at every kind of fd the
 * modules hand out (/dev/mkchan, a mailbox, both channel ends,
 * /dev/cobjvm). Each must fail cleanly, with nothing leaked (mkchan's
 * object counters) and nothing in the kernel log (checked by mkvm).
 * Prints TAP. An optional argument is the random seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mk/cobjvm.h>
#include <mk/mkchan.h>

#include "../lib/mkchan_counters.h"

static int n, failed;
static uint64_t seed;

static void result(bool pass, const char *what, const char *check)
{
	n++;
	if (!pass)
		failed++;
	printf("%sok %d - %s: %s\n", pass ? "" : "not ", n, what, check);
}

/* xorshift64: reproducible garbage from a printed seed */
static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

#define MAXCMDS 8

struct target {
	const char *what;
	int fd;
	unsigned int type;			/* ioctl magic */
	unsigned long cmds[MAXCMDS];		/* the fd's real commands */
	unsigned long fault_cmds[MAXCMDS];	/* must touch their argument */
	unsigned long out_cmds[MAXCMDS];	/* must write their argument */
	bool mmap_ok;
};

static bool in(const unsigned long *set, unsigned long cmd)
{
	for (int i = 0; i < MAXCMDS && set[i]; i++)
		if (set[i] == cmd)
			return true;
	return false;
}

static bool fails_with(int fd, unsigned long cmd, void *arg, int err)
{
	errno = 0;
	return ioctl(fd, cmd, arg) == -1 && errno == err;
}

static void abuse(const struct target *t)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char buf[64] = { 0 };
	int bad = 0, i;
	void *ro, *map;

	/* command numbers of the magic with a size no real command has */
	for (unsigned int nr = 0; nr < 256; nr++)
		for (unsigned int dir = 0; dir < 4; dir++)
			if (!fails_with(t->fd, _IOC(dir, t->type, nr, sizeof(buf)), buf, ENOTTY))
				bad++;
	result(!bad, t->what, "unknown commands fail with ENOTTY");

	ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bad = 0;
	for (i = 0; i < MAXCMDS && t->fault_cmds[i]; i++) {
		unsigned long cmd = t->fault_cmds[i];

		if (!fails_with(t->fd, cmd, NULL, EFAULT) ||
		    !fails_with(t->fd, cmd, (void *)0xffffffff81000000UL, EFAULT) ||
		    (in(t->out_cmds, cmd) && !fails_with(t->fd, cmd, ro, EFAULT))) {
			printf("# %s: command %#lx accepted a bad pointer\n", t->what, cmd);
			bad++;
		}
	}
	result(!bad, t->what, "NULL, kernel and read-only arguments fail with EFAULT");
	munmap(ro, pg);

	bad = 0;
	for (i = 0; i < 20000; i++) {
		unsigned long cmd = (unsigned long)(uint32_t)rnd();
		unsigned long arg = (unsigned long)rnd();

		if (i % 3 == 0)
			cmd = _IOC(cmd >> 30, t->type, cmd & 0xff, (cmd >> 16) & 0x3fff);
		if (i % 5 == 0)
			arg = (unsigned long)buf;
		if (ioctl(t->fd, cmd, arg) == 0 && !in(t->cmds, cmd))
			bad++;
	}
	result(!bad, t->what, "20000 random ioctls: only real commands succeed");

	result(read(t->fd, buf, sizeof(buf)) == -1, t->what, "read is refused");
	result(write(t->fd, buf, sizeof(buf)) == -1, t->what, "write is refused");
	if (!t->mmap_ok) {
		map = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
		result(map == MAP_FAILED, t->what, "mmap is refused");
		if (map != MAP_FAILED)
			munmap(map, pg);
	}
}

/*
 * An answer that cannot be written back must undo what the call made:
 * connect and accept into read-only memory leave no channel behind.
 */
static void unwinding(int ctl, int mbox, uint64_t alias, uint64_t cap)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	long chans = mkchan_counter("channels");
	struct mkchan_connect *req;
	struct mkchan_accept acc;
	int tx;

	req = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	*req = (struct mkchan_connect){ .alias = alias, .cap = cap, .slots = 8 };
	mprotect(req, pg, PROT_READ);
	result(fails_with(ctl, MKCHAN_IOC_CONNECT, req, EFAULT) && mkchan_counter("channels") == chans,
	       "/dev/mkchan", "connect into read-only memory: EFAULT, no channel left");
	munmap(req, pg);

	tx = ioctl(ctl, MKCHAN_IOC_CONNECT, &(struct mkchan_connect){
		.alias = alias, .cap = cap, .slots = 8 }) ? -1 : 0;
	req = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	result(!tx && fails_with(mbox, MKCHAN_IOC_ACCEPT, req, EFAULT) &&
	       fails_with(mbox, MKCHAN_IOC_ACCEPT, &acc, EAGAIN),
	       "mailbox", "accept into read-only memory: EFAULT, the channel is gone");
	munmap(req, pg);
}

int main(int argc, char **argv)
{
	struct mkchan_mbox_create mc = { .cpu = MKCHAN_CPU_CURRENT };
	struct mkchan_connect con = { .slots = 16 };
	struct mkchan_accept acc;
	uint64_t alias = 0xab5e, cap = 0;
	struct mkchan_counters before = { -1, -1, -1 }, after;
	int ctl, cobj;

	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)getpid() * 2654435761u;
	if (!seed)
		seed = 1;
	printf("# seed %llu\n", (unsigned long long)seed);

	ctl = open(MKCHAN_DEVICE, O_RDWR);
	cobj = open(COBJVM_DEVICE, O_RDWR);
	result(ctl >= 0 && cobj >= 0 && mkchan_counters_read(&before), "devices",
	       "open, and mkchan's counters read");
	if (ctl < 0 || cobj < 0)
		return 1;
	if (ioctl(ctl, MKCHAN_IOC_MBOX_CREATE, &mc) ||
	    ioctl(mc.fd, MKCHAN_IOC_NAME_ADD, &alias) ||
	    ioctl(mc.fd, MKCHAN_IOC_CAP_ADD, &cap)) {
		result(false, "mailbox", "set up");
		return 1;
	}
	con.alias = alias;
	con.cap = cap;
	if (ioctl(ctl, MKCHAN_IOC_CONNECT, &con) || ioctl(mc.fd, MKCHAN_IOC_ACCEPT, &acc)) {
		result(false, "channel", "set up");
		return 1;
	}

	const struct target targets[] = {
		{ "/dev/mkchan", ctl, MKCHAN_IOC_MAGIC,
		  { MKCHAN_IOC_INFO, MKCHAN_IOC_MBOX_CREATE, MKCHAN_IOC_CONNECT,
		    MKCHAN_IOC_ALIAS_ADD, MKCHAN_IOC_ALIAS_DEL },
		  { MKCHAN_IOC_INFO, MKCHAN_IOC_MBOX_CREATE, MKCHAN_IOC_CONNECT,
		    MKCHAN_IOC_ALIAS_ADD, MKCHAN_IOC_ALIAS_DEL },
		  { MKCHAN_IOC_INFO, MKCHAN_IOC_MBOX_CREATE }, false },
		{ "mailbox", mc.fd, MKCHAN_IOC_MAGIC,
		  { MKCHAN_IOC_NAME_ADD, MKCHAN_IOC_NAME_DEL, MKCHAN_IOC_CAP_ADD,
		    MKCHAN_IOC_CAP_DEL, MKCHAN_IOC_ACCEPT },
		  { MKCHAN_IOC_NAME_ADD, MKCHAN_IOC_NAME_DEL, MKCHAN_IOC_CAP_ADD,
		    MKCHAN_IOC_CAP_DEL },
		  { MKCHAN_IOC_CAP_ADD }, false },
		{ "connecting end", con.fd, MKCHAN_IOC_MAGIC,
		  { MKCHAN_IOC_CHAN_INFO, MKCHAN_IOC_KICK, MKCHAN_IOC_WAIT,
		    MKCHAN_IOC_KICK_CREDITS },
		  { MKCHAN_IOC_CHAN_INFO, MKCHAN_IOC_WAIT }, { MKCHAN_IOC_CHAN_INFO }, true },
		{ "accepting end", acc.fd, MKCHAN_IOC_MAGIC,
		  { MKCHAN_IOC_CHAN_INFO, MKCHAN_IOC_KICK, MKCHAN_IOC_WAIT,
		    MKCHAN_IOC_KICK_CREDITS },
		  { MKCHAN_IOC_CHAN_INFO, MKCHAN_IOC_WAIT }, { MKCHAN_IOC_CHAN_INFO }, true },
		/* cobjvm's mmap is its window (tests/vm/cobjvm_vm.c checks it) */
		{ "/dev/cobjvm", cobj, COBJVM_IOC_MAGIC,
		  { COBJVM_IOC_INFO, COBJVM_IOC_ATTACH, COBJVM_IOC_DETACH, COBJVM_IOC_FCM_CREATE,
		    COBJVM_IOC_FCM_RELEASE, COBJVM_IOC_FAULT, COBJVM_IOC_STATS, COBJVM_IOC_DRAIN },
		  { COBJVM_IOC_INFO }, { COBJVM_IOC_INFO }, true },
	};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		abuse(&targets[i]);
	unwinding(ctl, mc.fd, alias, cap);

	/* Random commands may have made mailboxes and channels: all go. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	result(mkchan_counters_read(&after) && mkchan_counters_equal(&before, &after),
	       "mkchan", "every object freed once the fds are closed");
	printf("1..%d\n", n);
	return failed != 0;
}
