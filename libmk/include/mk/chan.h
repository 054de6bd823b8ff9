/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk channels and mailboxes (issue 3): one API over two transports, the
 * mkchan kernel module (/dev/mkchan) and a user-space ("fallback") one
 * that needs nothing but stock Linux.
 *
 * A mailbox belongs to the thread that creates it (its home CPU is the
 * one that thread ran on then). It carries names and capabilities. A name
 * is a 64-bit alias; text names become aliases through mk_name_hash(). A
 * capability is an unforgeable 64-bit random token the owner hands out;
 * connecting needs one of the mailbox's names and one of its capabilities.
 *
 * A channel is duplex: two single-producer, single-consumer rings (the
 * layout of <mk/mkchan.h>) in one block of shared memory, one each way.
 * Each direction has one sending and one receiving thread at a time.
 *
 * Choosing the transport: mk_mbox_create() and mk_chan_connect*() pick
 * one each time they are called. $MK_CHAN_TRANSPORT=module or =fallback
 * forces it (module forced but /dev/mkchan absent: -ENODEV; its ABI
 * differs: -EPROTO; any other value: -EINVAL); unset or empty, the module
 * is used when $MK_DEV_DIR/mkchan (default /dev/mkchan) opens and answers
 * with our ABI, the fallback otherwise. Both ends must use the same
 * transport (a fallback client cannot reach a module mailbox and the other
 * way round); with the automatic choice they do. mk_mbox_transport() and
 * mk_chan_transport() say which one an object uses.
 *
 * Module transport:
 *   - A mailbox is a mailbox fd from MKCHAN_IOC_MBOX_CREATE, names and
 *     capabilities live in the kernel (MKCHAN_IOC_NAME_ADD/DEL,
 *     MKCHAN_IOC_CAP_ADD/DEL; capabilities are made by the kernel), and
 *     the kernel checks every connect. MKCHAN_IOC_CONNECT returns the
 *     connecting end at once: the channel is usable (messages queue) before
 *     the mailbox's thread accepts it, and mk_chan_connect*() never waits
 *     (their timeout is unused). A mailbox with the module's max_pending
 *     (256) connections not yet accepted refuses more with -EAGAIN.
 *   - Both ends mmap the channel's kernel pages (ring 0 on the mailbox's
 *     NUMA node, ring 1 on the connector's). Wake-ups use the same wait
 *     line, with MKCHAN_IOC_WAIT / MKCHAN_IOC_KICK in place of the futex
 *     (and MKCHAN_IOC_KICK_CREDITS for a sender blocked on a full ring).
 *   - The kernel ends channels: when one end closes or its process dies,
 *     the other end's blocked receive wakes at once, drains what was sent
 *     and then gets -EPIPE, and sends get -EPIPE at once. Removing the
 *     name or the capability a channel was opened with, or closing its
 *     mailbox, shoots the channel down: every operation on either end,
 *     blocked receives included, returns -ECONNRESET at once, messages
 *     still queued are dropped. No liveness polling is needed.
 *   - Rings hold at most the module's max_slots (default 4096) slots;
 *     larger requests get -EINVAL from the kernel.
 *   - A channel or mailbox ends when the last copy of its fd is closed:
 *     a child forked (without exec) while it is open keeps it open.
 *
 * Fallback transport:
 *   - Each alias is an abstract Unix socket (SOCK_SEQPACKET) named
 *     "\0mk/mbox/<alias as 16 lower-case hex digits>", listened on by the
 *     mailbox. Connecting sends the alias, the capability and a ring size;
 *     the mailbox checks them, records the peer's SO_PEERCRED, and answers
 *     with a status and, on success, a sealed memfd holding both rings
 *     (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), passed with SCM_RIGHTS.
 *     Both sides map it MAP_SHARED; the client checks its size and seals
 *     first. Memfd layout: ring client->mailbox at offset 0, ring
 *     mailbox->client at mk_chan_ring_offset(slots). Connecting waits
 *     until the mailbox's thread has served the request (mk_mbox_accept()).
 *   - The connection socket stays open for the channel's life: a peer that
 *     closes or dies hangs it up, and the next operation that finds the
 *     ring empty (receive) or full (send), or is about to block, reports
 *     -EPIPE. Messages the peer sent before are delivered first.
 *   - Wake-ups: poll-then-block on the ring's futex word (mk_ring_wait()).
 *
 * Weaker than the module transport (see libmk/README.md): the abstract
 * socket namespace is per network namespace and open to every process in
 * it, so anyone can try to connect (the capability is the check) and
 * anyone can bind an alias first (a squatter can then collect the
 * capabilities clients present); removing a name or capability, or
 * closing a mailbox, refuses later connects but does not shoot down
 * channels already open (-ECONNRESET never happens); a peer killed without
 * closing is noticed within MK_CHAN_LIVENESS_NS by a blocked receiver. On
 * both transports a peer that shares the memory can corrupt the rings
 * (reported as -EBADMSG, never a crash) or make spurious wake-ups.
 *
 * Errors are negative errno values:
 *   -EINVAL        bad argument (NULL, empty name, bad ring size)
 *   -ENOMEM        out of memory
 *   -EEXIST        the mailbox already has this name or capability
 *   -EADDRINUSE    another mailbox (maybe in another process) has the name
 *   -ENOENT        the mailbox does not have this name or capability
 *   -ECONNREFUSED  no mailbox has the name (or it was just removed)
 *   -EACCES        the mailbox refused the capability
 *   -EPROTO        the peer does not speak this protocol (bad request or
 *                  reply, bad memfd: wrong size, missing seals)
 *   -ETIMEDOUT     the timeout passed (every timeout is an int64_t in ns,
 *                  as in <mk/ring.h> and <mk/waitset.h>: < 0 waits without
 *                  limit, 0 does not wait)
 *   -EAGAIN        non-blocking call: nothing to do right now (no
 *                  connection to accept, ring empty or full); module
 *                  connect: the mailbox has too many channels not yet
 *                  accepted
 *   -EMSGSIZE      message longer than mk_chan_max_msg()
 *   -ENOBUFS       receive buffer too small; *len says how much is needed
 *                  and the message stays in the ring
 *   -EPIPE         the peer closed the channel or died
 *   -ECONNRESET    module transport only: the channel was shot down (its
 *                  name or capability removed, its mailbox closed)
 *   -ENODEV        $MK_CHAN_TRANSPORT=module but /dev/mkchan is absent
 *   -EBADMSG       the peer broke the ring's rules; the direction is broken
 *   others         from the system calls underneath (-EMFILE, ...)
 */
#ifndef MK_CHAN_H
#define MK_CHAN_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The public API: exported from libmk.so (libmk/libmk.map). */
#pragma GCC visibility push(default)

struct mk_mbox;
struct mk_chan;

enum mk_transport {
	MK_TRANSPORT_FALLBACK = 1,	/* user space: sockets, memfd, futex */
	MK_TRANSPORT_MODULE = 2,	/* /dev/mkchan */
};

/*
 * The transport a mailbox or channel uses; "fallback" or "module" (NULL
 * for another value). mk_chan_default_transport() says which one a
 * mailbox created now would get, or a negative errno as mk_mbox_create()
 * would return it.
 */
enum mk_transport mk_mbox_transport(const struct mk_mbox *mb);
enum mk_transport mk_chan_transport(const struct mk_chan *ch);
const char *mk_transport_name(enum mk_transport t);
int mk_chan_default_transport(void);

/* Ring size when a connect asks for 0 slots. */
#define MK_CHAN_DEFAULT_SLOTS		64
/* How long mk_chan_connect() waits for the mailbox to answer (5 s). */
#define MK_CHAN_CONNECT_TIMEOUT_NS	5000000000LL
/*
 * Connections accepted but whose request has not arrived yet, per mailbox;
 * past that the oldest is closed, so silent clients cannot exhaust its fds.
 */
#define MK_MBOX_MAX_PENDING		64

/*
 * FNV-1a, 64 bits, over the bytes of @name without the terminating NUL:
 * h = 0xcbf29ce484222325; for each byte b: h ^= b, h *= 0x100000001b3.
 * Not collision-resistant against a chosen name; names are labels, the
 * capability is the protection.
 */
uint64_t mk_name_hash(const char *name);

/* --- mailboxes (owner side) --- */

/*
 * Creates a mailbox with no name and no capability, owned by the calling
 * thread, on the CPU it runs on now.
 */
int mk_mbox_create(struct mk_mbox **out);

/*
 * Frees the mailbox and its names: later connects get -ECONNREFUSED.
 * Fallback: closes every listening socket and connection not yet accepted;
 * channels already accepted live on until closed. Module: every channel
 * opened to it, accepted or not, is shot down (-ECONNRESET).
 */
void mk_mbox_close(struct mk_mbox *mb);

/* CPU the owning thread ran on at creation, and its thread id. */
int mk_mbox_home_cpu(const struct mk_mbox *mb);
pid_t mk_mbox_owner_tid(const struct mk_mbox *mb);

/*
 * Adds or removes a name (text, hashed) or a raw alias. Module: removing
 * one shoots down the channels opened through it.
 */
int mk_mbox_add_name(struct mk_mbox *mb, const char *name);
int mk_mbox_add_alias(struct mk_mbox *mb, uint64_t alias);
int mk_mbox_remove_name(struct mk_mbox *mb, const char *name);
int mk_mbox_remove_alias(struct mk_mbox *mb, uint64_t alias);

/*
 * Makes a new capability (fallback: from getrandom(); module: made by the
 * kernel) and stores it in *@cap; the owner hands it to whoever may
 * connect. Never 0. Module: removing one shoots down the channels opened
 * with it.
 */
int mk_mbox_new_cap(struct mk_mbox *mb, uint64_t *cap);
int mk_mbox_remove_cap(struct mk_mbox *mb, uint64_t cap);

/*
 * An fd that polls readable (POLLIN / EPOLLIN) when mk_mbox_accept() has
 * work: a new connection or a request (fallback), a connection waiting to
 * be accepted (module: the mailbox fd itself). It stays the mailbox's; do
 * not close it.
 */
int mk_mbox_fd(const struct mk_mbox *mb);

/*
 * Serves connection requests until one yields a channel, which it stores
 * in *@out. Fallback: refused requests (wrong capability, removed name, garbage)
 * are answered and closed here and do not end the call. Waits up to
 * @timeout_ns (0: do not wait, -EAGAIN; < 0: no limit; rounded up to
 * whole milliseconds), -ETIMEDOUT then.
 * The mailbox's thread calls it (it is not thread-safe against the other
 * mailbox calls).
 */
int mk_mbox_accept(struct mk_mbox *mb, struct mk_chan **out, int64_t timeout_ns);

/* --- channels (both sides) --- */

/*
 * Connects to the mailbox with name @name (or alias @alias) presenting
 * @cap, with rings of @slots slots each way (a power of two, 2..32768;
 * 0 for MK_CHAN_DEFAULT_SLOTS). Fallback: the connect variant waits up to
 * MK_CHAN_CONNECT_TIMEOUT_NS for the mailbox to answer; the alias variant
 * takes @timeout_ns (< 0: no limit; else applied to each of the connect,
 * the request and the reply, rounded up to whole microseconds, at least
 * one). Module: the kernel answers at once.
 */
int mk_chan_connect(struct mk_chan **out, const char *name, uint64_t cap,
		    unsigned int slots);
int mk_chan_connect_alias(struct mk_chan **out, uint64_t alias, uint64_t cap,
			  unsigned int slots, int64_t timeout_ns);

/*
 * Closes the channel: hangs up the connection (the peer gets -EPIPE once
 * it has read what was sent), wakes the peer if it sleeps in a receive,
 * unmaps the rings. No other thread may be using the channel. Module:
 * sends to a closed peer fail with -EPIPE at once; fallback: once the ring
 * is full.
 */
void mk_chan_close(struct mk_chan *ch);

/* Largest message either way. */
size_t mk_chan_max_msg(const struct mk_chan *ch);

/*
 * Sends a message of @len bytes (0 allowed; longer than 56 bytes goes as
 * fragments, whole or not at all), and wakes the peer if it sleeps.
 * try_send returns -EAGAIN when the ring is full (nothing is overwritten).
 * send waits for room: it spins for the channel's spin budget, then
 * sleeps until the receiver frees slots ("Waiting for credits" in
 * <mk/mkchan.h>: a futex on the receiver's published head, or
 * MKCHAN_IOC_WAIT), for up to @timeout_ns (< 0: no limit). Like a blocked
 * receive, a blocked send wakes at once when the channel ends (module, or
 * a fallback peer that closes) and within MK_CHAN_LIVENESS_NS when a
 * fallback peer dies without closing.
 */
int mk_chan_try_send(struct mk_chan *ch, const void *msg, size_t len);
int mk_chan_send(struct mk_chan *ch, const void *msg, size_t len,
		 int64_t timeout_ns);

/*
 * Receives one message into @buf (@cap bytes), its length in *@len.
 * try_recv returns -EAGAIN when the ring is empty. recv polls for the spin
 * budget, then blocks (futex or MKCHAN_IOC_WAIT), for up to @timeout_ns
 * (< 0: no limit). Module: an ended channel shows at once (one load of the
 * ring's info.closed per call). Fallback: try_recv looks at the connection
 * every few hundred empty calls, so a dead peer shows up as -EPIPE; a
 * blocked recv looks every MK_CHAN_LIVENESS_NS, so a peer killed without
 * closing is noticed within that time (one that closes wakes it at once).
 */
int mk_chan_try_recv(struct mk_chan *ch, void *buf, size_t cap, size_t *len);
int mk_chan_recv(struct mk_chan *ch, void *buf, size_t cap, size_t *len,
		 int64_t timeout_ns);

/*
 * Batches, without blocking: one peer wake-up for the whole batch sent,
 * and credits published once for the whole batch received.
 * try_send_batch sends @msgs[0..@n) in order (each as mk_chan_try_send()
 * would), stopping at the first that does not fit; try_recv_batch takes
 * up to @n messages, message i into @bufs[i] (iov_len is its capacity)
 * with its length in @lens[i], stopping at an empty ring or at a message
 * too big for its buffer (left in the ring). Both return how many (1..@n),
 * or, when there are none, what the single call would have said for the
 * first (-EAGAIN, -EPIPE, -ECONNRESET, -ENOBUFS with @lens[0] set,
 * -EMSGSIZE, -EBADMSG), 0 when @n is 0.
 */
int mk_chan_try_send_batch(struct mk_chan *ch, const struct iovec *msgs, unsigned int n);
int mk_chan_try_recv_batch(struct mk_chan *ch, const struct iovec *bufs, size_t *lens,
			   unsigned int n);

#define MK_CHAN_LIVENESS_NS		100000000LL	/* 100 ms */

/*
 * Spin budget before blocking, in ns (default mk_spin_default_ns() of
 * <mk/ring.h> at channel creation: the measured cost of blocking, or
 * $MK_CHAN_SPIN_NS); 0 blocks at once.
 */
void mk_chan_set_spin_ns(struct mk_chan *ch, uint64_t spin_ns);
uint64_t mk_chan_spin_ns(const struct mk_chan *ch);

/*
 * The peer's credentials, and the alias and home CPU of the mailbox the
 * channel was opened through. On the accepting end: pid, uid and gid of
 * the connecting process at connect time. On the connecting end: uid and
 * gid of the mailbox's owner. Fallback: SO_PEERCRED of the connection
 * socket, both ways (the connecting end also gets the pid of the mailbox's
 * process). Module: as the kernel recorded them (connect time, mailbox
 * creation time), in the caller's namespaces; the connecting end's pid
 * reads as 0: a mailbox's fd may be passed on, so the kernel does not
 * name a process for it. Unknown values read as pid 0, (uid_t)-1,
 * (gid_t)-1.
 */
int mk_chan_peer(const struct mk_chan *ch, pid_t *pid, uid_t *uid, gid_t *gid);
uint64_t mk_chan_alias(const struct mk_chan *ch);
int mk_chan_home_cpu(const struct mk_chan *ch);

/*
 * An fd to poll for the channel's end. It stays the channel's; do not
 * close or read it. Fallback: the connection socket, it polls POLLHUP /
 * POLLIN once the peer is gone. Module: the channel fd; it polls POLLHUP
 * once the peer closed, POLLHUP | POLLERR once shot down, and POLLIN while
 * a message waits in the receiving ring (the peer wakes a poller only if
 * the wait line says it sleeps: to wait for messages, use mk_chan_recv()).
 */
int mk_chan_fd(const struct mk_chan *ch);

/*
 * The shared block (both rings) and its length: for tests and tools that
 * inspect or, to play a hostile peer, scribble over it.
 */
void *mk_chan_shm(const struct mk_chan *ch, size_t *len);

/*
 * Offset of the second ring in the shared block (mk_ring_bytes(slots)
 * rounded up to MK_CHAN_RING_ALIGN), and the block's size (twice that).
 */
#define MK_CHAN_RING_ALIGN		4096
size_t mk_chan_ring_offset(unsigned int slots);
size_t mk_chan_shm_bytes(unsigned int slots);

/*
 * Wire format of the set-up exchange on the mailbox socket, for other
 * implementations and for tests: the client sends one mk_chan_wire_req,
 * the mailbox answers with one mk_chan_wire_rep (with the memfd attached
 * by SCM_RIGHTS when status is 0) and keeps the connection. Each is one
 * SOCK_SEQPACKET message of exactly its size; anything else is -EPROTO.
 * Native byte order: both ends are on one machine.
 */
#define MK_CHAN_WIRE_MAGIC		0x6e68636bU	/* "kchn" */
#define MK_CHAN_WIRE_VERSION		1

struct mk_chan_wire_req {
	uint32_t magic;		/* MK_CHAN_WIRE_MAGIC */
	uint16_t version;	/* MK_CHAN_WIRE_VERSION */
	uint16_t flags;		/* none defined; must be zero */
	uint32_t slots;		/* per ring; 0: MK_CHAN_DEFAULT_SLOTS */
	uint32_t reserved;	/* must be zero */
	uint64_t alias;		/* the name the client connected to */
	uint64_t cap;		/* the capability it presents */
};

struct mk_chan_wire_rep {
	uint32_t magic;		/* MK_CHAN_WIRE_MAGIC */
	uint16_t version;	/* MK_CHAN_WIRE_VERSION */
	uint16_t flags;		/* none defined; zero */
	int32_t status;		/* 0, or a negative errno from the list above */
	uint32_t slots;		/* per ring, as asked (the default for 0) */
	uint64_t shm_bytes;	/* size of the memfd: mk_chan_shm_bytes(slots) */
	int32_t home_cpu;	/* the mailbox's home CPU */
	uint32_t reserved;	/* zero */
};

/* The mailbox socket's abstract name for @alias (without the leading NUL). */
#define MK_CHAN_SOCK_FMT		"mk/mbox/%016" PRIx64

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* MK_CHAN_H */
