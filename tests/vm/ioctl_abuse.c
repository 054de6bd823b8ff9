// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Runs in the guest with mk's modules loaded: throws malformed and random
 * ioctls, bad pointers, reads, writes and mmaps at /dev/mkchan and
 * /dev/cobjvm. Each must fail cleanly (the kernel log is checked by mkvm).
 * Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mk/cobjvm.h>
#include <mk/mkchan.h>

static int n, failed;

static void result(int pass, const char *dev, const char *what)
{
	n++;
	if (!pass)
		failed++;
	printf("%sok %d - %s: %s\n", pass ? "" : "not ", n, dev, what);
}

/* xorshift64: reproducible garbage from a printed seed */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void abuse(const char *path, unsigned long info_cmd, uint64_t seed)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char buf[64];
	int fd = open(path, O_RDWR);
	int bad = 0;
	void *ro, *map;

	result(fd >= 0, path, "opens");
	if (fd < 0)
		return;

	/* every other command number of the magic, any direction and size */
	for (unsigned int nr = 0; nr < 256; nr++) {
		for (unsigned int dir = 0; dir < 4; dir++) {
			unsigned long cmd = _IOC(dir, _IOC_TYPE(info_cmd), nr, sizeof(buf));

			if (cmd == info_cmd)
				continue;
			if (ioctl(fd, cmd, buf) != -1 || errno != ENOTTY)
				bad++;
		}
	}
	result(!bad, path, "unknown commands fail with ENOTTY");

	errno = 0;
	result(ioctl(fd, info_cmd, NULL) == -1 && errno == EFAULT, path,
	       "INFO into NULL fails with EFAULT");
	errno = 0;
	result(ioctl(fd, info_cmd, (void *)0xffffffff81000000UL) == -1 &&
	       errno == EFAULT, path, "INFO into a kernel address fails with EFAULT");
	ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = 0;
	result(ro != MAP_FAILED && ioctl(fd, info_cmd, ro) == -1 && errno == EFAULT,
	       path, "INFO into a read-only page fails with EFAULT");
	munmap(ro, pg);

	/* random command words and arguments; only INFO may succeed */
	bad = 0;
	printf("# %s: random ioctls, seed %llu\n", path, (unsigned long long)seed);
	for (int i = 0; i < 20000; i++) {
		unsigned long cmd = (unsigned long)(uint32_t)rnd(&seed);
		unsigned long arg = (unsigned long)rnd(&seed);

		if (i % 3 == 0)
			cmd = _IOC(cmd >> 30, _IOC_TYPE(info_cmd), cmd & 0xff, (cmd >> 16) & 0x3fff);
		if (i % 5 == 0)
			arg = (unsigned long)buf;
		if (ioctl(fd, cmd, arg) == 0 && cmd != info_cmd)
			bad++;
	}
	result(!bad, path, "20000 random ioctls: none but INFO succeeds");

	errno = 0;
	result(read(fd, buf, sizeof(buf)) == -1, path, "read is refused");
	result(write(fd, buf, sizeof(buf)) == -1, path, "write is refused");
	map = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	result(map == MAP_FAILED, path, "mmap is refused");
	if (map != MAP_FAILED)
		munmap(map, pg);
	result(close(fd) == 0, path, "closes");
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)getpid() * 2654435761u;

	if (!seed)
		seed = 1;
	abuse(MKCHAN_DEVICE, MKCHAN_IOC_INFO, seed);
	abuse(COBJVM_DEVICE, COBJVM_IOC_INFO, seed);
	printf("1..%d\n", n);
	return failed != 0;
}
