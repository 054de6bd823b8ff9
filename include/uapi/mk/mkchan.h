/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mkchan: per-core message channels (/dev/mkchan).
 *
 * The one definition of the ABI shared by kmod/mkchan and libmk. Bump
 * MKCHAN_ABI_VERSION on any incompatible change; user space refuses a
 * module whose major ABI differs from the one it was built against.
 */
#ifndef _UAPI_MK_MKCHAN_H
#define _UAPI_MK_MKCHAN_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MKCHAN_DEVICE		"/dev/mkchan"
#define MKCHAN_ABI_VERSION	2

/* What the module reports about itself: MKCHAN_IOC_INFO fills it in. */
struct mkchan_info {
	__u32 abi_version;	/* MKCHAN_ABI_VERSION of the module */
	__u32 nr_cpu_ids;	/* CPU ids the module can address */
	__u32 online_cpus;	/* CPUs online when asked */
	__u32 reserved;		/* must be zero */
};

#define MKCHAN_IOC_MAGIC	0xe7
#define MKCHAN_IOC_INFO		_IOR(MKCHAN_IOC_MAGIC, 0x00, struct mkchan_info)

/*
 * Ring layout
 * ===========
 *
 * A channel carries messages one way through a single-producer,
 * single-consumer ring in memory both sides map (memfd pages in the
 * user-space fallback, module pages later). Everything lives in one block;
 * every part starts on its own 64-byte cache line so that each line has a
 * single writer and cores never fight over a line they both write:
 *
 *   offset 0     struct mkchan_ring_info  geometry; written once by the
 *                                         creator, read once per attach
 *   offset 64    struct mkchan_ring_cons  consumer's published head; only
 *                                         the consumer writes it
 *   offset 128   struct mkchan_ring_wait  sleep flag + futex word for
 *                                         poll-then-block
 *   offset 192   slots[slots]             64 bytes each; only the producer
 *                                         writes them
 *
 * The block is MKCHAN_RING_BYTES(slots) bytes and must be 64-byte aligned.
 * slots is a power of two in [MKCHAN_RING_MIN_SLOTS, MKCHAN_RING_MAX_SLOTS],
 * chosen by the creator.
 *
 * Slots. Message number n (counting from 0 since the ring was created)
 * starts in slot n % slots. A slot is one cache line: an 8-byte header word
 * and a 56-byte payload. The producer writes the payload first and then
 * stores the header word with release ordering; the consumer loads the
 * header of the slot it expects next with acquire ordering, so seeing the
 * header means seeing the payload, with no other shared write per message.
 *
 * The header's sequence field holds (__u32)(n + 1) for the slot that
 * carries message n. A zeroed ring is therefore a valid empty ring, and
 * the consumer tells a fresh slot from one left over from the previous lap
 * by the sequence alone: it never writes into the slots, so the forward
 * ring stays a one-writer area (and can even be mapped read-only on the
 * consumer's side). In the slot it expects message n in, an honest
 * producer only ever leaves seq n + 1 (fresh) or n + 1 - slots (stale; 0
 * while n < slots); anything else is corruption.
 *
 * Messages larger than MKCHAN_RING_PAYLOAD bytes take several consecutive
 * slots (fragments). Every fragment carries the number of slots the whole
 * message takes; the first has MKCHAN_RING_F_FIRST, the last
 * MKCHAN_RING_F_LAST, a single-slot message has both, middle fragments
 * neither. All fragments but the last are full (56 bytes), and the last
 * holds 1..56 bytes, so the message length is known from the first and the
 * last header: (nslots - 1) * 56 + len(last). The producer stores the
 * first fragment's header last, so a message becomes visible whole: a
 * consumer never waits in the middle of a message, and it can size its
 * buffer before it consumes anything. A message takes at most every slot
 * of the ring, so the largest is MKCHAN_RING_MAX_MSG(slots) bytes.
 *
 * Credits. The consumer publishes in mkchan_ring_cons.head (release) how
 * many slots it has finished with; the producer may reuse slot n % slots
 * for message n only once head > n - slots (it loads head with acquire).
 * The producer keeps the last head it saw and looks again only when the
 * ring seems full, and the consumer publishes lazily, so the line moves
 * between cores rarely. To keep a waiting producer from starving on
 * credits that were never published, the consumer publishes whenever it
 * finds no further message in the ring, and at least every slots / 4
 * slots: a consumer that has drained the ring has published everything.
 * The producer checks that head never goes backwards nor passes what it
 * has sent.
 *
 * Waiting for credits (version 2). A producer that finds the ring full
 * may block instead of polling, with the consumer's protocol mirrored: it
 * sets mkchan_ring_cons.tx_waiting, puts a full barrier, loads head again,
 * and if the slots it needs are still taken waits on the futex word
 * MKCHAN_RING_CREDIT_FUTEX (the low-order 32 bits of head) while it still
 * holds the value seen; it clears tx_waiting once it stops waiting. The
 * consumer, after each store of head, puts a full barrier and loads
 * tx_waiting; only when it is set does it wake the producer (FUTEX_WAKE on
 * that word, or MKCHAN_IOC_KICK_CREDITS). head itself is the futex value,
 * so a publication the producer slept through changes the word and the
 * wait returns at once. tx_waiting is the one word of the consumer's line
 * the producer writes; a consumer that never finds it set pays a full
 * barrier and one load of its own line per publication (publications are
 * lazy, see "Credits", but a consumer that keeps draining the ring, as in
 * a ping-pong, publishes after every message).
 *
 * Waiting. mkchan_ring_wait serves a consumer that blocks instead of
 * polling: it reads futex, sets sleeping, rechecks the next slot, waits on
 * futex while it still holds the value read, and clears sleeping once
 * awake. A producer that finds sleeping set after publishing a message
 * bumps futex and wakes the consumer. Both sides put a full barrier
 * between their store and their load so a wake-up cannot be lost; a
 * producer whose consumer never blocks only reads the line.
 *
 * Neither side trusts anything it reads from the block: lengths, flags,
 * sequence numbers, slot counts and the published head are checked before
 * they are used, and a side that sees an impossible value reports the
 * channel broken rather than reading or writing outside the block.
 */
#define MKCHAN_RING_MAGIC		0x676e726bU	/* "krng" */
#define MKCHAN_RING_VERSION		2

#define MKCHAN_RING_SLOT_SIZE		64
#define MKCHAN_RING_HDR_SIZE		8
#define MKCHAN_RING_PAYLOAD		(MKCHAN_RING_SLOT_SIZE - MKCHAN_RING_HDR_SIZE)
#define MKCHAN_RING_MIN_SLOTS		2
/* The header's slot count is 16 bits wide and a message may fill the ring. */
#define MKCHAN_RING_MAX_SLOTS		32768

#define MKCHAN_RING_INFO_OFFSET		0
#define MKCHAN_RING_CONS_OFFSET		64
#define MKCHAN_RING_WAIT_OFFSET		128
#define MKCHAN_RING_SLOTS_OFFSET	192
#define MKCHAN_RING_BYTES(slots) \
	(MKCHAN_RING_SLOTS_OFFSET + (__u64)(slots) * MKCHAN_RING_SLOT_SIZE)
#define MKCHAN_RING_MAX_MSG(slots)	((__u64)(slots) * MKCHAN_RING_PAYLOAD)

/*
 * Header word: bits 0-31 sequence, 32-39 payload bytes in this slot,
 * 40-47 flags, 48-63 slots the whole message takes (1..slots).
 */
#define MKCHAN_RING_SEQ_MASK		0xffffffffULL
#define MKCHAN_RING_LEN_SHIFT		32
#define MKCHAN_RING_LEN_MASK		0xffULL
#define MKCHAN_RING_FLAGS_SHIFT		40
#define MKCHAN_RING_FLAGS_MASK		0xffULL
#define MKCHAN_RING_NSLOTS_SHIFT	48
#define MKCHAN_RING_NSLOTS_MASK		0xffffULL

#define MKCHAN_RING_F_FIRST		0x01	/* first slot of a message */
#define MKCHAN_RING_F_LAST		0x02	/* last slot of a message */
#define MKCHAN_RING_F_ALL		(MKCHAN_RING_F_FIRST | MKCHAN_RING_F_LAST)

#define MKCHAN_RING_HDR(seq, len, flags, nslots)				\
	(((__u64)(seq) & MKCHAN_RING_SEQ_MASK) |				\
	 (((__u64)(len) & MKCHAN_RING_LEN_MASK) << MKCHAN_RING_LEN_SHIFT) |	\
	 (((__u64)(flags) & MKCHAN_RING_FLAGS_MASK) << MKCHAN_RING_FLAGS_SHIFT) | \
	 (((__u64)(nslots) & MKCHAN_RING_NSLOTS_MASK) << MKCHAN_RING_NSLOTS_SHIFT))
#define MKCHAN_RING_HDR_SEQ(h)		((__u32)((h) & MKCHAN_RING_SEQ_MASK))
#define MKCHAN_RING_HDR_LEN(h) \
	((__u32)(((h) >> MKCHAN_RING_LEN_SHIFT) & MKCHAN_RING_LEN_MASK))
#define MKCHAN_RING_HDR_FLAGS(h) \
	((__u32)(((h) >> MKCHAN_RING_FLAGS_SHIFT) & MKCHAN_RING_FLAGS_MASK))
#define MKCHAN_RING_HDR_NSLOTS(h) \
	((__u32)(((h) >> MKCHAN_RING_NSLOTS_SHIFT) & MKCHAN_RING_NSLOTS_MASK))

/* Geometry, written by the creator before the block is shared. */
struct mkchan_ring_info {
	__u32 magic;		/* MKCHAN_RING_MAGIC */
	__u16 version;		/* MKCHAN_RING_VERSION */
	__u16 slot_size;	/* MKCHAN_RING_SLOT_SIZE */
	__u32 slots;		/* power of two, MIN_SLOTS..MAX_SLOTS */
	__u32 flags;		/* none defined; must be zero */
	__u32 closed;		/* MKCHAN_RING_OPEN, or why the channel ended */
	__u32 reserved32;	/* must be zero */
	__u64 reserved[5];	/* must be zero */
} __attribute__((aligned(64)));

/*
 * info.closed is the one word written after setup, once, by whoever ends
 * the channel (the module, or the mailbox owner in the user-space
 * fallback). It sits in the read-mostly info line so that checking it on
 * every operation costs a load from a line both caches hold shared.
 */
#define MKCHAN_RING_OPEN		0
#define MKCHAN_RING_CLOSED_PEER		1	/* the other end closed: drain, then EPIPE */
#define MKCHAN_RING_REVOKED		2	/* shot down: ECONNRESET at once */

/*
 * Owned by the consumer, but for tx_waiting: see "Credits" and "Waiting
 * for credits" above.
 */
struct mkchan_ring_cons {
	__u64 head;		/* slots consumed so far (message positions) */
	__u32 tx_waiting;	/* non-zero while the producer may block (version 2) */
	__u32 reserved32;	/* zero */
	__u64 reserved[6];
} __attribute__((aligned(64)));

/* Offset in the block of the 32-bit futex word a blocked producer waits on. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MKCHAN_RING_CREDIT_FUTEX	(MKCHAN_RING_CONS_OFFSET + 4)
#else
#define MKCHAN_RING_CREDIT_FUTEX	MKCHAN_RING_CONS_OFFSET
#endif

/* Poll-then-block: see "Waiting" above. */
struct mkchan_ring_wait {
	__u32 futex;		/* bumped by the producer on each wake-up */
	__u32 sleeping;		/* non-zero while the consumer may block */
	__u64 reserved[7];
} __attribute__((aligned(64)));

struct mkchan_ring_slot {
	__u64 hdr;				/* MKCHAN_RING_HDR() */
	__u8 payload[MKCHAN_RING_PAYLOAD];
} __attribute__((aligned(64)));

struct mkchan_ring {
	struct mkchan_ring_info info;
	struct mkchan_ring_cons cons;
	struct mkchan_ring_wait wait;
	struct mkchan_ring_slot slots[];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct mkchan_ring_info) == 64, "ring info line");
_Static_assert(sizeof(struct mkchan_ring_cons) == 64, "ring consumer line");
_Static_assert(sizeof(struct mkchan_ring_wait) == 64, "ring wait line");
_Static_assert(sizeof(struct mkchan_ring_slot) == MKCHAN_RING_SLOT_SIZE,
	       "ring slot is one cache line");
_Static_assert(__builtin_offsetof(struct mkchan_ring, cons) ==
	       MKCHAN_RING_CONS_OFFSET, "ring consumer line offset");
_Static_assert(__builtin_offsetof(struct mkchan_ring, wait) ==
	       MKCHAN_RING_WAIT_OFFSET, "ring wait line offset");
_Static_assert(__builtin_offsetof(struct mkchan_ring, slots) ==
	       MKCHAN_RING_SLOTS_OFFSET, "ring slots offset");
_Static_assert(MKCHAN_RING_NSLOTS_MASK + 1 >= MKCHAN_RING_MAX_SLOTS &&
	       MKCHAN_RING_LEN_MASK >= MKCHAN_RING_PAYLOAD,
	       "header fields too narrow");
#endif

/*
 * Mailboxes and channels (/dev/mkchan)
 * ====================================
 *
 * A mailbox is created on /dev/mkchan and lives as long as its fd. It has
 * a home CPU, names (64-bit aliases of text names; libmk hashes names)
 * and capabilities (random 64-bit tokens the module hands out). Connecting
 * on /dev/mkchan with an alias and a capability the mailbox holds returns
 * the connecting end of a new channel at once; the mailbox owner accepts
 * the other end.
 *
 * A channel is duplex: two rings (layout above) in one block that both
 * ends mmap whole, MAP_SHARED, at offset 0. Ring 0, at offset 0, carries
 * messages from the connecting end to the accepting end and lives on the
 * mailbox CPU's NUMA node; ring 1, at MKCHAN_CHAN_RING1_OFFSET(slots, page
 * size), carries the replies and lives on the connecting CPU's node. The
 * user-space fallback lays out its shared memory the same way.
 *
 * Removing the name or the capability a channel was opened with, or
 * closing its mailbox, shoots the channel down: info.closed becomes
 * MKCHAN_RING_REVOKED, waiters wake, poll reports EPOLLHUP | EPOLLERR and
 * channel ioctls fail with ECONNRESET. When one end closes, the other sees
 * MKCHAN_RING_CLOSED_PEER and EPOLLHUP (EPIPE once drained).
 *
 * Waking a sleeping receiver uses the wait line's protocol, with
 * MKCHAN_IOC_WAIT and MKCHAN_IOC_KICK in place of the futex calls: an end
 * sleeps in WAIT while the wait.futex of the ring it receives from still
 * holds the value it read; KICK wakes the other end. poll() on an end
 * reports EPOLLIN when its receiving ring holds a message.
 *
 * A sender blocked on a full ring ("Waiting for credits") sleeps in WAIT
 * with MKCHAN_WAIT_CREDITS while the low 32 bits of cons.head of the ring
 * it sends on still hold the value it read; the receiver that found
 * tx_waiting set after publishing its head wakes it with
 * MKCHAN_IOC_KICK_CREDITS. poll() reports EPOLLOUT when the ring an end
 * sends on has a free slot by the published head (the slot before head
 * + slots does not hold its message yet); like EPOLLIN it needs the peer's
 * kick to be noticed, so set tx_waiting before polling for it.
 *
 * Identity. The accepting end learns the connecting process's pid, uid
 * and gid (at connect time), the connecting end the mailbox owner's uid
 * and gid (at mailbox creation), each in the namespaces of the caller.
 */
#define MKCHAN_CHAN_RING1_OFFSET(slots, page_size) \
	((MKCHAN_RING_BYTES(slots) + (page_size) - 1) / (page_size) * (page_size))
#define MKCHAN_CPU_CURRENT	0xffffffffU

struct mkchan_mbox_create {
	__u32 cpu;		/* home CPU, or MKCHAN_CPU_CURRENT */
	__u32 flags;		/* none defined; must be zero */
	__u64 id;		/* out: unique while the module is loaded */
	__s32 fd;		/* out: the mailbox fd (close-on-exec) */
	__u32 reserved;		/* must be zero */
};

struct mkchan_connect {
	__u64 alias;		/* a name of the mailbox */
	__u64 cap;		/* a capability it holds */
	__u32 slots;		/* ring slots: power of two, 2..max_slots */
	__u32 flags;		/* none defined; must be zero */
	__s32 fd;		/* out: the connecting end */
	__u32 cpu;		/* out: the mailbox's home CPU */
	__u64 reserved;		/* must be zero */
	__u32 owner_uid;	/* out: the mailbox owner's uid (ABI 2) */
	__u32 owner_gid;	/* out: and gid (ABI 2) */
};

struct mkchan_accept {
	__s32 fd;		/* out: the accepting end */
	__u32 slots;		/* out */
	__u64 alias;		/* out: the name it was opened with */
	__u64 cap;		/* out: the capability it was opened with */
	__s32 peer_pid;		/* out: connecting process, in our pid namespace */
	__u32 peer_uid;		/* out: its uid, in our user namespace */
	__u32 peer_gid;		/* out: its gid (ABI 2) */
	__u32 reserved;		/* out: zero */
};

/* Privileged (CAP_SYS_ADMIN): the name service names any mailbox. */
struct mkchan_alias {
	__u64 alias;
	__u64 mbox_id;		/* MKCHAN_IOC_ALIAS_ADD only */
};

#define MKCHAN_END_CONNECT	1	/* sends on ring 0, receives on ring 1 */
#define MKCHAN_END_ACCEPT	2	/* sends on ring 1, receives on ring 0 */

struct mkchan_chan_info {
	__u32 end;		/* MKCHAN_END_CONNECT or MKCHAN_END_ACCEPT */
	__u32 slots;		/* per ring */
	__u64 map_bytes;	/* mmap length: both rings, in whole pages */
	__u64 ring1_offset;	/* where ring 1 starts in the mapping */
	__u32 cpu;		/* the mailbox's home CPU */
	__s32 node;		/* NUMA node of the ring this end receives from */
};

struct mkchan_wait {
	/*
	 * The wait.futex value (or, for credits, the low 32 bits of
	 * cons.head) read before sleeping.
	 */
	__u32 futex;
	__u32 flags;		/* MKCHAN_WAIT_*; others must be zero */
	__s64 timeout_ns;	/* < 0: no timeout */
};

/* Wait for credits on the ring this end sends on, not for a message. */
#define MKCHAN_WAIT_CREDITS	0x1

/* on /dev/mkchan */
#define MKCHAN_IOC_MBOX_CREATE	_IOWR(MKCHAN_IOC_MAGIC, 0x01, struct mkchan_mbox_create)
#define MKCHAN_IOC_CONNECT	_IOWR(MKCHAN_IOC_MAGIC, 0x02, struct mkchan_connect)
#define MKCHAN_IOC_ALIAS_ADD	_IOW(MKCHAN_IOC_MAGIC, 0x03, struct mkchan_alias)
#define MKCHAN_IOC_ALIAS_DEL	_IOW(MKCHAN_IOC_MAGIC, 0x04, struct mkchan_alias)
/* on a mailbox fd */
#define MKCHAN_IOC_NAME_ADD	_IOW(MKCHAN_IOC_MAGIC, 0x10, __u64)
#define MKCHAN_IOC_NAME_DEL	_IOW(MKCHAN_IOC_MAGIC, 0x11, __u64)
#define MKCHAN_IOC_CAP_ADD	_IOR(MKCHAN_IOC_MAGIC, 0x12, __u64)
#define MKCHAN_IOC_CAP_DEL	_IOW(MKCHAN_IOC_MAGIC, 0x13, __u64)
#define MKCHAN_IOC_ACCEPT	_IOR(MKCHAN_IOC_MAGIC, 0x14, struct mkchan_accept)
/* on a channel fd */
#define MKCHAN_IOC_CHAN_INFO	_IOR(MKCHAN_IOC_MAGIC, 0x20, struct mkchan_chan_info)
#define MKCHAN_IOC_KICK		_IO(MKCHAN_IOC_MAGIC, 0x21)
#define MKCHAN_IOC_WAIT		_IOW(MKCHAN_IOC_MAGIC, 0x22, struct mkchan_wait)
#define MKCHAN_IOC_KICK_CREDITS	_IO(MKCHAN_IOC_MAGIC, 0x23)

#endif /* _UAPI_MK_MKCHAN_H */
