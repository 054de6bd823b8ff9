// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cobjvm_limits: in the guest, as root, with cobjvm loaded and nothing
 * else using it, checks what bounds one user of /dev/cobjvm (mode 0666):
 *
 *  - the per-user object quota (max_user_objects): an unprivileged user
 *    gets -EDQUOT on open, attach and FCM creation past it, losing
 *    nothing, while another user and root still make objects;
 *  - object ids: one CPU can make more objects than its share of the id
 *    table, and a full table is a clean -ENOSPC;
 *  - memory cgroups: pages are charged to the cgroup that faults them in,
 *    a page another cgroup left in a free list is not handed over with
 *    its charge, and memory.max stops a process (memcg OOM kill) instead
 *    of letting it pin memory without bound; a page faulted by another
 *    task (/proc/PID/mem) or by a kernel thread working in the mm (vhost)
 *    is charged to the mm's cgroup, as a stock page would be.
 *
 * Prints TAP; the page counters balance at the end.
 */
#include <fcntl.h>
#include <linux/vhost.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/cobjvm_test.h"

#define PARAM		"/sys/module/cobjvm/parameters/max_user_objects"
#define CGROOT		"/sys/fs/cgroup"
#define NOBODY		65534
#define OTHER		65533

/* The number in @path, or -1. With @key, the value on the line "key N". */
static long long read_num(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t kl = key ? strlen(key) : 0;

		if (!key) {
			v = atoll(line);
			break;
		}
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			v = atoll(line + kl + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Runs @fn in a child (as @uid unless 0); its exit status, or -1. */
static int in_child(uid_t uid, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (!pid) {
		if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
			_exit(100);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --- the per-user quota --- */

#define QUOTA	10

/*
 * As an unprivileged user with QUOTA objects allowed: 8 Processes, one
 * anonymous region (a Region and an FCM: 10), then everything past it is
 * EDQUOT and leaves nothing behind; detach gives the room back.
 * Exit status: the number of the first check that failed, 0 if none.
 */
static int quota_user(void *arg)
{
	int fds[QUOTA], i, fd, err;
	struct cobjvm_fcm f = { .pages = 16 };
	struct cobjvm_stats before, after;
	char *w;

	(void)arg;
	for (i = 0; i < QUOTA - 2; i++) {
		fds[i] = open(COBJVM_DEVICE, O_RDWR);
		if (fds[i] < 0)
			return 1;
	}
	w = window(fds[0]);
	if (!w)
		return 2;
	if (attach(fds[0], 0, 64 * PG, 0, 0, 0))
		return 3;
	before = stats(fds[0]);
	errno = 0;
	fd = open(COBJVM_DEVICE, O_RDWR);
	if (fd >= 0 || errno != EDQUOT)
		return 4;
	err = attach(fds[0], 64 * PG, 64 * PG, 0, 0, 0);
	if (err != -EDQUOT)
		return 5;
	if (!fails(fds[0], COBJVM_IOC_FCM_CREATE, &f, EDQUOT))
		return 6;
	after = stats(fds[0]);
	if (after.regions != before.regions || after.fcms != before.fcms ||
	    after.processes != before.processes)
		return 7;	/* a refused object is not half made */
	w[0] = 1;		/* the region that got in works */
	if (detach(fds[0], 0))
		return 8;
	if (attach(fds[0], 64 * PG, 64 * PG, 0, 0, 0))
		return 9;	/* the room came back */
	if (detach(fds[0], 64 * PG))
		return 10;
	close(fds[1]);
	fd = open(COBJVM_DEVICE, O_RDWR);
	if (fd < 0)
		return 11;
	return 0;
}

/* Another unprivileged user, while the first is at its quota. */
static int quota_other(void *arg)
{
	int fd = open(COBJVM_DEVICE, O_RDWR);

	(void)arg;
	if (fd < 0 || !window(fd) || attach(fd, 0, 64 * PG, 0, 0, 0))
		return 1;
	return 0;
}

/* Holds QUOTA objects as NOBODY until the pipe closes. */
static int quota_holder(void *arg)
{
	int *pipes = arg, fd, i;
	char c;

	for (i = 0; i < QUOTA; i++) {
		fd = open(COBJVM_DEVICE, O_RDWR);
		if (fd < 0)
			return 1;
	}
	if (write(pipes[1], "x", 1) != 1)
		return 2;
	return read(pipes[0], &c, 1) < 0 ? 3 : 0;
}

static void quota(void)
{
	char old[32] = "", buf[32];
	int pipes[2][2], status;
	pid_t holder;
	FILE *f = fopen(PARAM, "r");
	char c;

	if (!f || !fgets(old, sizeof(old), f)) {
		result(false, "quota: %s readable", PARAM);
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	printf("# max_user_objects was %s", old);
	snprintf(buf, sizeof(buf), "%d\n", QUOTA);
	if (!write_file(PARAM, buf)) {
		result(false, "quota: set max_user_objects");
		return;
	}
	status = in_child(NOBODY, quota_user, NULL);
	result(status == 0, "quota: past %d objects, open, attach and FCM creation are EDQUOT "
	       "and make nothing; detach and close give room back (failed check %d)", QUOTA,
	       status);

	/* One user at its quota does not hold another back. */
	if (pipe(pipes[0]) || pipe(pipes[1])) {
		result(false, "quota: pipes");
		goto out;
	}
	holder = fork();
	if (!holder) {
		int ends[2] = { pipes[1][0], pipes[0][1] };

		close(pipes[0][0]);
		close(pipes[1][1]);
		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(100);
		_exit(quota_holder(ends));
	}
	close(pipes[0][1]);
	close(pipes[1][0]);
	if (read(pipes[0][0], &c, 1) != 1) {
		result(false, "quota: the holder took its %d objects", QUOTA);
	} else {
		result(in_child(OTHER, quota_other, NULL) == 0,
		       "quota: another user makes objects while one is at its quota");
		result(in_child(0, quota_other, NULL) == 0,
		       "quota: root (CAP_SYS_RESOURCE) is not held back either");
	}
	close(pipes[1][1]);
	result(waitpid(holder, &status, 0) == holder && WIFEXITED(status) &&
	       !WEXITSTATUS(status), "quota: the holder had all %d objects", QUOTA);
	close(pipes[0][0]);
out:
	result(write_file(PARAM, old), "quota: max_user_objects restored");
}

/* --- object ids --- */

#define MANY	3000	/* more than a CPU's share on 3 CPUs, fewer than all ids */

static void ids(void)
{
	struct rlimit rl = { 8192, 8192 };
	int *fds = calloc(5000, sizeof(int));
	int i, made = 0, err = 0;
	cpu_set_t set;

	if (!fds || setrlimit(RLIMIT_NOFILE, &rl)) {
		result(false, "ids: room for the fds");
		free(fds);
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (i = 0; i < MANY; i++) {
		fds[i] = open(COBJVM_DEVICE, O_RDWR);
		if (fds[i] < 0) {
			err = errno;
			break;
		}
		made++;
	}
	result(made == MANY, "ids: one CPU makes %d Processes, past its share of the "
	       "table (%d made, errno %d)", MANY, made, err);
	/* The rest of the table, to a clean refusal. */
	for (; made < 5000; made++) {
		fds[made] = open(COBJVM_DEVICE, O_RDWR);
		if (fds[made] < 0) {
			err = errno;
			break;
		}
	}
	result(made < 5000 && err == ENOSPC,
	       "ids: a full table is ENOSPC (after %d Processes, errno %d)", made, err);
	for (i = 0; i < made; i++)
		close(fds[i]);
	fds[0] = open(COBJVM_DEVICE, O_RDWR);
	result(fds[0] >= 0, "ids: closed, they can be made again");
	if (fds[0] >= 0)
		close(fds[0]);
	free(fds);
	CPU_ZERO(&set);
	for (i = 0; i < CPU_SETSIZE && i < 64; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* --- memory cgroups --- */

#define TOUCH_PAGES	4096	/* 16 MiB */

struct toucher {
	const char *cgroup;
	unsigned long pages;	/* to touch (mmap) or to fault by ioctl */
	bool by_ioctl;
	int ready, go;		/* pipe ends: says it is done, waits to exit */
};

static bool join(const char *cgroup)
{
	char path[256], pid[32];

	snprintf(path, sizeof(path), CGROOT "/%s/cgroup.procs", cgroup);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	return write_file(path, pid);
}

/* In @t->cgroup: one region of t->pages, all touched; then waits. */
static int toucher(void *arg)
{
	struct toucher *t = arg;
	unsigned long i;
	char c;
	int fd;
	char *w;

	if (!join(t->cgroup))
		return 1;
	fd = open(COBJVM_DEVICE, O_RDWR);
	if (fd < 0 || !(w = window(fd)) || attach(fd, 0, t->pages * PG, 0, 0, 0))
		return 2;
	if (t->by_ioctl) {
		struct cobjvm_fault f = { .offset = 0, .npages = t->pages };

		if (ioctl(fd, COBJVM_IOC_FAULT, &f))
			return errno == ENOMEM ? 3 : 4;
	} else {
		for (i = 0; i < t->pages; i++)
			w[i * PG] = 1;
	}
	if (t->ready >= 0 && write(t->ready, "x", 1) != 1)
		return 5;
	if (t->go >= 0 && read(t->go, &c, 1) < 0)
		return 6;
	return 0;
}

static long long current_of(const char *cgroup)
{
	char path[256];

	snprintf(path, sizeof(path), CGROOT "/%s/memory.current", cgroup);
	return read_num(path, NULL);
}

/* Starts a toucher that stays until finish(); false if it failed. */
static pid_t start(struct toucher *t, int *go_w)
{
	int ready[2], go[2];
	pid_t pid;
	char c;

	if (pipe(ready) || pipe(go))
		return -1;
	pid = fork();
	if (!pid) {
		close(ready[0]);
		close(go[1]);
		t->ready = ready[1];
		t->go = go[0];
		_exit(toucher(t));
	}
	close(ready[1]);
	close(go[0]);
	*go_w = go[1];
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		close(go[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	return pid;
}

static bool finish(pid_t pid, int go_w)
{
	int st;

	close(go_w);
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st);
}

static bool make_cgroup(const char *name, const char *max)
{
	char path[256];

	snprintf(path, sizeof(path), CGROOT "/%s", name);
	if (mkdir(path, 0755) && errno != EEXIST)
		return false;
	snprintf(path, sizeof(path), CGROOT "/%s/memory.max", name);
	return write_file(path, max);
}

static void drop_cgroup(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), CGROOT "/%s", name);
	rmdir(path);
}

/* --- whose cgroup a faulted page is charged to --- */

/* The inode of the cgroup /proc/kpagecgroup names for @addr in @pid, 0 if none, -1. */
static long long page_cgroup(pid_t pid, const void *addr)
{
	char path[64];
	uint64_t ent, ino;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)addr / PG * sizeof(ent)) != sizeof(ent) ||
	    !(ent >> 63)) {
		close(fd);
		return -1;	/* not present */
	}
	close(fd);
	fd = open("/proc/kpagecgroup", O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &ino, sizeof(ino), (ent & ((1ULL << 55) - 1)) * sizeof(ino)) !=
	    sizeof(ino))
		ino = (uint64_t)-1;
	close(fd);
	return (long long)ino;
}

static long long cgroup_ino(const char *cgroup)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), CGROOT "/%s", cgroup);
	return stat(path, &st) ? -1 : (long long)st.st_ino;
}

/* A window with one region of @pages, nothing touched; NULL on failure. */
static char *untouched(unsigned long pages)
{
	int fd = open(COBJVM_DEVICE, O_RDWR);
	char *w;

	if (fd < 0 || !(w = window(fd)) || attach(fd, 0, pages * PG, 0, 0, 0))
		return NULL;
	return w;
}

/* In cobjvm_w: maps a window, says where, waits while the parent writes to it. */
static int remote_target(void *arg)
{
	int *pipes = arg;
	char *w, c;

	if (!join("cobjvm_w") || !(w = untouched(1)))
		return 1;
	if (write(pipes[1], &w, sizeof(w)) != sizeof(w))
		return 2;
	return read(pipes[0], &c, 1) < 0 ? 3 : 0;
}

/*
 * In cobjvm_w: a vhost-vsock device whose rings lie in the window, pages
 * nobody here touches: the vhost worker, a kernel thread using this mm,
 * faults them in (the RX avail ring at start, the TX one on a kick). 0 and
 * the cgroup of each avail ring page in @out, 10 when there is no vhost.
 */
static int vhost_owner(void *arg)
{
	long long *out = arg;
	struct vhost_memory mem = { .nregions = 0 };
	uint64_t cid = 3 + (uint64_t)getpid(), one = 1;
	int fd, kick, i, running = 1;
	char *w;

	if (!join("cobjvm_w"))
		return 1;
	fd = open("/dev/vhost-vsock", O_RDWR);
	if (fd < 0)
		return 10;
	if (!(w = untouched(6)))
		return 2;
	if (ioctl(fd, VHOST_SET_OWNER) || ioctl(fd, VHOST_SET_MEM_TABLE, &mem))
		return 3;
	for (i = 0; i < 2; i++) {
		struct vhost_vring_state num = { .index = i, .num = 16 };
		struct vhost_vring_state base = { .index = i, .num = 0 };
		struct vhost_vring_addr addr = {
			.index = i,
			.desc_user_addr = (uintptr_t)(w + (3 * i) * PG),
			.avail_user_addr = (uintptr_t)(w + (3 * i + 1) * PG),
			.used_user_addr = (uintptr_t)(w + (3 * i + 2) * PG),
		};

		if (ioctl(fd, VHOST_SET_VRING_NUM, &num) || ioctl(fd, VHOST_SET_VRING_BASE, &base) ||
		    ioctl(fd, VHOST_SET_VRING_ADDR, &addr))
			return 4;
	}
	kick = eventfd(0, 0);
	{
		struct vhost_vring_file f = { .index = 1, .fd = kick };

		if (kick < 0 || ioctl(fd, VHOST_SET_VRING_KICK, &f))
			return 5;
	}
	if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) ||
	    ioctl(fd, VHOST_VSOCK_SET_RUNNING, &running))
		return 6;
	if (write(kick, &one, sizeof(one)) != sizeof(one))
		return 7;
	for (i = 0; i < 500; i++) {	/* the worker runs when it runs: up to 5 s */
		out[0] = page_cgroup(getpid(), w + 1 * PG);
		out[1] = page_cgroup(getpid(), w + 4 * PG);
		if (out[0] >= 0 && out[1] >= 0)
			break;
		usleep(10000);
	}
	running = 0;
	ioctl(fd, VHOST_VSOCK_SET_RUNNING, &running);
	close(fd);
	return 0;
}

static void memcg_who(int dev)
{
	long long a = cgroup_ino("cobjvm_w"), got, *out;
	int up[2], down[2], st;
	char path[64], *w, c = 1;
	pid_t pid;
	int fd;

	ioctl(dev, COBJVM_IOC_DRAIN);	/* no charged page to be handed out again */
	if (pipe(up) || pipe(down)) {
		result(false, "memcg: pipes");
		return;
	}
	pid = fork();
	if (!pid) {
		int ends[2] = { down[0], up[1] };

		close(up[0]);
		close(down[1]);
		_exit(remote_target(ends));
	}
	close(up[1]);
	close(down[0]);
	got = -2;
	if (pid > 0 && read(up[0], &w, sizeof(w)) == sizeof(w)) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		fd = open(path, O_RDWR);
		if (fd >= 0 && pwrite(fd, &c, 1, (uintptr_t)w) == 1)
			got = page_cgroup(pid, w);
		if (fd >= 0)
			close(fd);
	}
	close(down[1]);
	close(up[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	result(a > 0 && got == a, "memcg: a page written through /proc/PID/mem from another "
	       "cgroup is charged to the mm's (cgroup %lld, page's %lld)", a, got);

	if (access("/dev/vhost-vsock", F_OK) && system("modprobe -q vhost_vsock") != 0) {
		printf("ok %d - memcg: a kernel thread's fault # SKIP no vhost_vsock\n", ++n);
		return;
	}
	ioctl(dev, COBJVM_IOC_DRAIN);
	out = mmap(NULL, 2 * sizeof(*out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (out == MAP_FAILED) {
		result(false, "memcg: a shared page for the results");
		return;
	}
	out[0] = out[1] = -2;
	st = in_child(0, vhost_owner, out);
	if (st == 10) {
		printf("ok %d - memcg: a kernel thread's fault # SKIP no /dev/vhost-vsock\n", ++n);
	} else {
		result(st == 0 && a > 0 && out[0] == a && out[1] == a,
		       "memcg: pages a vhost worker (a kernel thread in the mm) faults are charged "
		       "to the mm's cgroup (status %d, cgroup %lld, pages' %lld %lld)", st, a,
		       out[0], out[1]);
	}
	munmap(out, 2 * sizeof(*out));
}

static void memcg(int dev)
{
	const long long mib16 = (long long)TOUCH_PAGES * PG;
	struct toucher a = { .cgroup = "cobjvm_a", .pages = TOUCH_PAGES };
	struct toucher b = { .cgroup = "cobjvm_b", .pages = TOUCH_PAGES };
	long long a0, a1, a2, a3, b0, b1, kills;
	pid_t pa, pb;
	int go_a, go_b, st;

	if (access(CGROOT "/cgroup.controllers", F_OK))
		mount("none", CGROOT, "cgroup2", 0, NULL);
	if (!write_file(CGROOT "/cgroup.subtree_control", "+memory") ||
	    !make_cgroup("cobjvm_a", "max") || !make_cgroup("cobjvm_b", "max")) {
		result(false, "memcg: a cgroup2 hierarchy with the memory controller");
		return;
	}
	ioctl(dev, COBJVM_IOC_DRAIN);
	if (make_cgroup("cobjvm_w", "max"))
		memcg_who(dev);
	else
		result(false, "memcg: a cgroup for the remote faults");
	ioctl(dev, COBJVM_IOC_DRAIN);
	drop_cgroup("cobjvm_w");

	/* Charged to the cgroup that faults the pages in. */
	a0 = current_of("cobjvm_a");
	pa = start(&a, &go_a);
	a1 = current_of("cobjvm_a");
	result(pa > 0 && a1 - a0 >= mib16,
	       "memcg: %d faulted pages are charged to the faulting cgroup (+%lld KiB)",
	       TOUCH_PAGES, (a1 - a0) / 1024);
	result(pa > 0 && finish(pa, go_a), "memcg: the toucher ended cleanly");

	/* Its pages wait in the page manager's list, still charged to a... */
	a2 = current_of("cobjvm_a");
	result(a2 - a0 >= mib16 * 3 / 4, "memcg: pages in a free list stay charged (+%lld KiB)",
	       (a2 - a0) / 1024);
	/* ...and are not handed to b with a's charge. */
	b0 = current_of("cobjvm_b");
	pb = start(&b, &go_b);
	b1 = current_of("cobjvm_b");
	a3 = current_of("cobjvm_a");
	result(pb > 0 && b1 - b0 >= mib16 && a2 - a3 >= mib16 * 3 / 4,
	       "memcg: another cgroup's faults are charged to it (+%lld KiB), and the first "
	       "one's charge goes (-%lld KiB)", (b1 - b0) / 1024, (a2 - a3) / 1024);
	result(pb > 0 && finish(pb, go_b), "memcg: the second toucher ended cleanly");
	ioctl(dev, COBJVM_IOC_DRAIN);
	b0 = current_of("cobjvm_b");
	result(b0 >= 0 && b0 < mib16 / 2, "memcg: drained, the charge is gone (%lld KiB left)",
	       b0 / 1024);

	/* memory.max holds: 64 MiB of faults in a 16 MiB cgroup. */
	write_file(CGROOT "/cobjvm_a/memory.max", "16M");
	write_file("/dev/kmsg", "mkvm: expect oom-kill begin\n");
	a.pages = 16384;
	a.ready = a.go = -1;
	st = in_child(0, toucher, &a);
	kills = read_num(CGROOT "/cobjvm_a/memory.events", "oom_kill");
	result(st == 128 + SIGKILL && kills >= 1,
	       "memcg: faulting 64 MiB in a 16 MiB cgroup is an OOM kill (status %d, "
	       "oom_kill %lld)", st, kills);
	a.by_ioctl = true;
	st = in_child(0, toucher, &a);
	result(st == 128 + SIGKILL || st == 3,
	       "memcg: the fault ioctl over 64 MiB there is ENOMEM or an OOM kill (status %d)",
	       st);
	write_file("/dev/kmsg", "mkvm: expect oom-kill end\n");
	ioctl(dev, COBJVM_IOC_DRAIN);
	a0 = current_of("cobjvm_a");
	result(a0 >= 0 && a0 < mib16 / 2, "memcg: nothing stays charged (%lld KiB)", a0 / 1024);
	drop_cgroup("cobjvm_a");
	drop_cgroup("cobjvm_b");
}

int main(void)
{
	int dev;

	setvbuf(stdout, NULL, _IOLBF, 0);
	quota();
	ids();
	dev = open(COBJVM_DEVICE, O_RDWR);
	if (dev < 0) {
		result(false, "open %s", COBJVM_DEVICE);
	} else {
		memcg(dev);
		result(balanced(dev, 1), "the page counters balance, no object left");
		close(dev);
	}
	printf("1..%d\n", n);
	return failed != 0;
}
