// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The single-producer, single-consumer cache-line ring; the layout and the
 * protocol are in <mk/mkchan.h> ("Ring layout"). The two sides share no
 * written state but the slots (producer) and the consumer's head line
 * (consumer), and each keeps what it knows in its private endpoint, so a
 * message costs one cache-line transfer in the common case.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mk/mkchan.h>
#include <mk/ring.h>

#include "internal.h"

/*
 * libmk's view of the shared lines: the uapi types with the words both
 * sides touch concurrently made atomic. The kernel sees the same bytes
 * through the plain __u64 of the uapi.
 */
struct mk_ring_slot {
	_Atomic uint64_t hdr;
	unsigned char payload[MKCHAN_RING_PAYLOAD];
};

struct mk_ring_cons {
	_Atomic uint64_t head;
	_Atomic uint32_t tx_waiting;
	uint32_t reserved32;
	uint64_t reserved[6];
};

_Static_assert(sizeof(struct mk_ring_slot) == sizeof(struct mkchan_ring_slot) &&
	       offsetof(struct mk_ring_slot, payload) ==
	       offsetof(struct mkchan_ring_slot, payload),
	       "slot view diverged from the uapi");
_Static_assert(sizeof(struct mk_ring_cons) == sizeof(struct mkchan_ring_cons) &&
	       offsetof(struct mk_ring_cons, tx_waiting) ==
	       offsetof(struct mkchan_ring_cons, tx_waiting),
	       "consumer line view diverged from the uapi");

/* The wait line; futex must be a naturally aligned 32-bit word. */
struct mk_ring_wait_line {
	_Atomic uint32_t futex;
	_Atomic uint32_t sleeping;
	uint64_t reserved[7];
};

_Static_assert(sizeof(struct mk_ring_wait_line) == sizeof(struct mkchan_ring_wait) &&
	       offsetof(struct mk_ring_wait_line, futex) ==
	       offsetof(struct mkchan_ring_wait, futex) &&
	       offsetof(struct mk_ring_wait_line, sleeping) ==
	       offsetof(struct mkchan_ring_wait, sleeping),
	       "wait line view diverged from the uapi");
/* A header word that needed a lock could be torn by a peer process. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

#define PAYLOAD		MKCHAN_RING_PAYLOAD

static bool slots_valid(unsigned int slots)
{
	return slots >= MKCHAN_RING_MIN_SLOTS && slots <= MKCHAN_RING_MAX_SLOTS &&
	       !(slots & (slots - 1));
}

size_t mk_ring_bytes(unsigned int slots)
{
	return slots_valid(slots) ? MKCHAN_RING_BYTES(slots) : 0;
}

size_t mk_ring_max_msg(unsigned int slots)
{
	return slots_valid(slots) ? MKCHAN_RING_MAX_MSG(slots) : 0;
}

static bool block_valid(const void *mem, size_t len, size_t need)
{
	return mem && !((uintptr_t)mem % MKCHAN_RING_SLOT_SIZE) && len >= need;
}

int mk_ring_init(void *mem, size_t len, unsigned int slots)
{
	struct mkchan_ring_info *info = mem;

	if (!slots_valid(slots) || !block_valid(mem, len, MKCHAN_RING_BYTES(slots)))
		return -EINVAL;
	/* All-zero slots are an empty ring: message n's sequence is n + 1. */
	memset(mem, 0, MKCHAN_RING_BYTES(slots));
	info->version = MKCHAN_RING_VERSION;
	info->slot_size = MKCHAN_RING_SLOT_SIZE;
	info->slots = slots;
	info->magic = MKCHAN_RING_MAGIC;
	return 0;
}

/*
 * Checks the geometry once, on a private copy, and returns the slot count:
 * whatever the peer writes into the info line afterwards is never read.
 */
static int ring_attach(void *mem, size_t len, uint32_t *slots)
{
	struct mkchan_ring_info info;

	if (!block_valid(mem, len, MKCHAN_RING_SLOTS_OFFSET))
		return -EINVAL;
	memcpy(&info, mem, sizeof(info));
	if (info.magic != MKCHAN_RING_MAGIC || info.version != MKCHAN_RING_VERSION ||
	    info.slot_size != MKCHAN_RING_SLOT_SIZE || info.flags ||
	    info.reserved32 || !slots_valid(info.slots))
		return -EPROTO;
	for (size_t i = 0; i < sizeof(info.reserved) / sizeof(info.reserved[0]); i++)
		if (info.reserved[i])
			return -EPROTO;
	if (len < MKCHAN_RING_BYTES(info.slots))
		return -EINVAL;
	*slots = info.slots;
	return 0;
}

int mk_ring_attach_tx(struct mk_ring_tx *tx, void *mem, size_t len)
{
	uint32_t slots;
	int ret;

	if (!tx)
		return -EINVAL;
	ret = ring_attach(mem, len, &slots);
	if (ret)
		return ret;
	*tx = (struct mk_ring_tx){
		.slots = (struct mk_ring_slot *)((char *)mem + MKCHAN_RING_SLOTS_OFFSET),
		.cons = (struct mk_ring_cons *)((char *)mem + MKCHAN_RING_CONS_OFFSET),
		.mask = slots - 1,
		.nslots = slots,
	};
	return 0;
}

int mk_ring_attach_rx(struct mk_ring_rx *rx, void *mem, size_t len)
{
	uint32_t slots;
	int ret;

	if (!rx)
		return -EINVAL;
	ret = ring_attach(mem, len, &slots);
	if (ret)
		return ret;
	*rx = (struct mk_ring_rx){
		.slots = (const struct mk_ring_slot *)((char *)mem + MKCHAN_RING_SLOTS_OFFSET),
		.cons = (struct mk_ring_cons *)((char *)mem + MKCHAN_RING_CONS_OFFSET),
		.mask = slots - 1,
		.nslots = slots,
		/* Often enough that a streaming producer rarely finds the ring full. */
		.publish_every = slots >= 8 ? slots / 4 : 1,
	};
	return 0;
}

size_t mk_ring_tx_max_msg(const struct mk_ring_tx *tx)
{
	return (size_t)tx->nslots * PAYLOAD;
}

/* --- producer --- */

/*
 * Makes sure @need slots are free, looking at the consumer's line only when
 * the head seen last says they are not: each look pulls the line over
 * from the consumer's core.
 */
static int tx_reserve(struct mk_ring_tx *tx, uint32_t need)
{
	uint64_t head;

	if (tx->tail + need - tx->head <= tx->nslots)
		return 0;
	head = atomic_load_explicit(&tx->cons->head, memory_order_acquire);
	/* A head behind the last one seen or past what was sent is a lie. */
	if (head - tx->head > tx->tail - tx->head)
		return tx->err = -EBADMSG;
	tx->head = head;
	if (tx->tail + need - head > tx->nslots)
		return -EAGAIN;
	return 0;
}

static void tx_put(struct mk_ring_tx *tx, const unsigned char *msg, size_t len,
		   uint32_t n)
{
	uint64_t pos = tx->tail;
	struct mk_ring_slot *slot;
	uint32_t k, flen;

	/*
	 * Later fragments first, the first fragment's header last: its release
	 * store publishes the whole message, so the consumer never sees half
	 * of one and can size its buffer before taking anything.
	 */
	for (k = 1; k < n; k++) {
		slot = &tx->slots[(pos + k) & tx->mask];
		flen = k == n - 1 ? (uint32_t)(len - (size_t)k * PAYLOAD) : PAYLOAD;
		memcpy(slot->payload, msg + (size_t)k * PAYLOAD, flen);
		atomic_store_explicit(&slot->hdr,
				      MKCHAN_RING_HDR(pos + k + 1, flen,
						      k == n - 1 ? MKCHAN_RING_F_LAST : 0, n),
				      memory_order_relaxed);
	}
	slot = &tx->slots[pos & tx->mask];
	flen = n == 1 ? (uint32_t)len : PAYLOAD;
	if (flen)
		memcpy(slot->payload, msg, flen);
	atomic_store_explicit(&slot->hdr,
			      MKCHAN_RING_HDR(pos + 1, flen,
					      n == 1 ? MKCHAN_RING_F_ALL : MKCHAN_RING_F_FIRST, n),
			      memory_order_release);
	tx->tail = pos + n;
}

static uint32_t msg_slots(size_t len)
{
	return len <= PAYLOAD ? 1 : (uint32_t)((len + PAYLOAD - 1) / PAYLOAD);
}

int mk_ring_try_send(struct mk_ring_tx *tx, const void *msg, size_t len)
{
	uint32_t n;
	int ret;

	if (tx->err)
		return tx->err;
	if (len > (size_t)tx->nslots * PAYLOAD)
		return -EMSGSIZE;
	if (len && !msg)
		return -EINVAL;
	n = msg_slots(len);
	ret = tx_reserve(tx, n);
	if (ret)
		return ret;
	tx_put(tx, msg, len, n);
	return 0;
}

int mk_ring_send_batch(struct mk_ring_tx *tx, const struct iovec *msgs,
		       unsigned int n)
{
	unsigned int i;
	int ret = 0;

	if (n && !msgs)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ret = mk_ring_try_send(tx, msgs[i].iov_base, msgs[i].iov_len);
		if (ret)
			break;
	}
	return i ? (int)i : ret;
}

/* --- consumer --- */

/*
 * Is message @pos in its slot? 1 with its header in *@hdr, 0 when the slot
 * still holds what the previous lap left, -EBADMSG for anything an honest
 * producer never leaves there.
 */
static int rx_ready(const struct mk_ring_rx *rx, uint64_t pos, uint64_t *hdr)
{
	uint64_t h = atomic_load_explicit(&rx->slots[pos & rx->mask].hdr,
					  memory_order_acquire);
	uint32_t seq = MKCHAN_RING_HDR_SEQ(h);
	uint32_t stale = pos + 1 >= rx->nslots ? (uint32_t)(pos + 1 - rx->nslots) : 0;

	if (seq == (uint32_t)(pos + 1)) {
		*hdr = h;
		return 1;
	}
	return seq == stale ? 0 : -EBADMSG;
}

static void rx_wake_tx(struct mk_ring_rx *rx);

static void rx_publish(struct mk_ring_rx *rx)
{
	if (rx->published == rx->head)
		return;
	/* Release: the slots are read out before the producer may reuse them. */
	atomic_store_explicit(&rx->cons->head, rx->head, memory_order_release);
	rx->published = rx->head;
	/* The mirror of mk_ring_notify(); see mk_ring_wait_credits() below. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&rx->cons->tx_waiting, memory_order_relaxed))
		rx_wake_tx(rx);
}

/*
 * Publishing on an empty ring is what keeps a producer from waiting for
 * credits the consumer holds back while it has nothing left to read.
 */
static void rx_maybe_publish(struct mk_ring_rx *rx)
{
	uint64_t h;

	if (rx->head - rx->published >= rx->publish_every ||
	    rx_ready(rx, rx->head, &h) != 1)
		rx_publish(rx);
}

/*
 * Length of the message at rx->head whose first header is @h, checked
 * against the header words an honest producer writes; -EBADMSG otherwise.
 * Its last fragment is visible already: the producer released the first
 * header after writing it.
 */
static long rx_msg_len(const struct mk_ring_rx *rx, uint64_t h, uint32_t *lastlen)
{
	uint64_t pos = rx->head, last;
	uint32_t n = MKCHAN_RING_HDR_NSLOTS(h), len = MKCHAN_RING_HDR_LEN(h);

	if (n == 1) {
		if (len > PAYLOAD || h != MKCHAN_RING_HDR(pos + 1, len, MKCHAN_RING_F_ALL, 1))
			return -EBADMSG;
		*lastlen = len;
		return len;
	}
	if (n < 2 || n > rx->nslots ||
	    h != MKCHAN_RING_HDR(pos + 1, PAYLOAD, MKCHAN_RING_F_FIRST, n))
		return -EBADMSG;
	last = atomic_load_explicit(&rx->slots[(pos + n - 1) & rx->mask].hdr,
				    memory_order_relaxed);
	len = MKCHAN_RING_HDR_LEN(last);
	if (!len || len > PAYLOAD ||
	    last != MKCHAN_RING_HDR(pos + n, len, MKCHAN_RING_F_LAST, n))
		return -EBADMSG;
	*lastlen = len;
	return (long)(n - 1) * PAYLOAD + len;
}

/*
 * Copies the message out, checking every fragment header again as it goes:
 * the peer may have rewritten them since rx_msg_len() looked, and the
 * lengths used are the ones already checked against the buffer.
 */
static int rx_copy(const struct mk_ring_rx *rx, uint32_t n, uint32_t lastlen,
		   unsigned char *buf)
{
	uint64_t pos = rx->head;
	const struct mk_ring_slot *slot;
	uint32_t k, flen;

	for (k = 0; k < n; k++) {
		slot = &rx->slots[(pos + k) & rx->mask];
		flen = k == n - 1 ? lastlen : PAYLOAD;
		if (k && atomic_load_explicit(&slot->hdr, memory_order_relaxed) !=
			 MKCHAN_RING_HDR(pos + k + 1, flen,
					 k == n - 1 ? MKCHAN_RING_F_LAST : 0, n))
			return -EBADMSG;
		if (flen)
			memcpy(buf + (size_t)k * PAYLOAD, slot->payload, flen);
	}
	return 0;
}

static int rx_fail(struct mk_ring_rx *rx)
{
	return rx->err = -EBADMSG;
}

/* Takes one message without publishing the head. */
static int rx_one(struct mk_ring_rx *rx, void *buf, size_t cap, size_t *len)
{
	uint32_t lastlen;
	uint64_t h;
	long mlen;
	int ret;

	ret = rx_ready(rx, rx->head, &h);
	if (!ret)
		return -EAGAIN;
	if (ret < 0)
		return rx_fail(rx);
	mlen = rx_msg_len(rx, h, &lastlen);
	if (mlen < 0)
		return rx_fail(rx);
	*len = (size_t)mlen;
	if ((size_t)mlen > cap)
		return -ENOBUFS;
	if (rx_copy(rx, MKCHAN_RING_HDR_NSLOTS(h), lastlen, buf))
		return rx_fail(rx);
	rx->head += MKCHAN_RING_HDR_NSLOTS(h);
	return 0;
}

int mk_ring_try_recv(struct mk_ring_rx *rx, void *buf, size_t cap, size_t *len)
{
	int ret;

	if (rx->err)
		return rx->err;
	if (!len || (cap && !buf))
		return -EINVAL;
	ret = rx_one(rx, buf, cap, len);
	if (ret == -EAGAIN)
		rx_publish(rx);
	else if (!ret)
		rx_maybe_publish(rx);
	return ret;
}

int mk_ring_recv_batch(struct mk_ring_rx *rx, const struct iovec *bufs,
		       size_t *lens, unsigned int n)
{
	unsigned int i;
	int ret = 0;

	if (rx->err)
		return rx->err;
	if (n && (!bufs || !lens))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (bufs[i].iov_len && !bufs[i].iov_base) {
			ret = -EINVAL;
			break;
		}
		ret = rx_one(rx, bufs[i].iov_base, bufs[i].iov_len, &lens[i]);
		if (ret)
			break;
	}
	if (ret == -EAGAIN)
		rx_publish(rx);
	else if (i)
		rx_maybe_publish(rx);
	return i ? (int)i : ret;
}


/* --- poll-then-block ("Waiting" in <mk/mkchan.h>) --- */

/*
 * The endpoints keep no pointer to the wait line: it sits at a fixed
 * distance before the slots, which both endpoints already point at.
 */
static struct mk_ring_wait_line *wait_line(const void *slots)
{
	return (struct mk_ring_wait_line *)((char *)(uintptr_t)slots -
					    MKCHAN_RING_SLOTS_OFFSET +
					    MKCHAN_RING_WAIT_OFFSET);
}

/*
 * The word is in memory shared between processes, so these are shared
 * futexes (no FUTEX_PRIVATE_FLAG): the kernel keys them by the page, not
 * by the address space.
 */
static long futex_wait(_Atomic uint32_t *word, uint32_t val,
		       const struct timespec *rel)
{
	return syscall(SYS_futex, word, FUTEX_WAIT, val, rel, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	/* One consumer per ring: nobody else can be waiting on the word. */
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* A corrupt slot counts as ready: try_recv() is what reports it. */
static bool rx_peek(const struct mk_ring_rx *rx)
{
	uint64_t h;

	return rx->err || rx_ready(rx, rx->head, &h) != 0;
}

int mk_ring_rx_ready(const struct mk_ring_rx *rx)
{
	return rx_peek(rx);
}

/*
 * Why no wake-up is lost. The consumer C and the producer P run
 *
 *   C: L0 v = futex (acquire)       P: S1 store slot header (release)
 *      S2 sleeping = 1                 F1 full fence
 *      F2 full fence                   L1 load sleeping (acquire)
 *      L2 load slot header             if set: R bump futex, FUTEX_WAKE
 *      if empty: FUTEX_WAIT(futex, v)
 *
 * S1/F1/L1 against S2/F2/L2 is the store-buffering pattern with full
 * fences on both sides, so L1 misses S2 and L2 misses S1 cannot both
 * happen: either C sees the message and does not sleep, or P sees
 * sleeping and bumps the word. In the second case L0 read the value from
 * before R: had it read R's value, R (seq_cst) would synchronise with L0,
 * putting L1 before S2, and L1 could not have seen S2. So C waits on the
 * old value while the word holds a new one, and the kernel's futex
 * guarantee does the rest: FUTEX_WAIT either finds the word changed and
 * returns at once, or was already queued when FUTEX_WAKE came. A consumer
 * that leaves sleeping set for a while only costs the producer a spurious
 * wake call; a peer that scribbles over the line can cause spurious wake-ups
 * or calls, never a wait the timeout does not bound.
 */
/*
 * A wait's clock: the spin budget (UINT64_MAX: the default), cut to the
 * timeout (< 0: none), and the deadline.
 */
struct wait_clock {
	uint64_t spin_ns, spin_end, deadline;
	bool timed;
};

static void wait_clock_start(struct wait_clock *wc, uint64_t spin_ns, int64_t timeout_ns)
{
	uint64_t start;

	if (spin_ns == UINT64_MAX)
		spin_ns = mk_spin_default_ns();
	/* Bounds both sums below away from overflow (about 146 years). */
	if (spin_ns > (uint64_t)INT64_MAX / 2)
		spin_ns = (uint64_t)INT64_MAX / 2;
	wc->timed = timeout_ns >= 0;
	if (wc->timed && (uint64_t)timeout_ns < spin_ns)
		spin_ns = (uint64_t)timeout_ns;
	start = mk_mono_ns();
	wc->spin_ns = spin_ns;
	wc->spin_end = start + spin_ns;
	wc->deadline = wc->timed ? start + (uint64_t)timeout_ns : 0;
}

/* Before a timed sleep: the time left in *@ts, or -ETIMEDOUT. */
static int wait_clock_left(const struct wait_clock *wc, struct timespec *ts)
{
	uint64_t now;

	if (!wc->timed)
		return 0;
	now = mk_mono_ns();
	if (now >= wc->deadline)
		return -ETIMEDOUT;
	ts->tv_sec = (time_t)((wc->deadline - now) / 1000000000ULL);
	ts->tv_nsec = (long)((wc->deadline - now) % 1000000000ULL);
	return 0;
}

int mk_ring_wait(struct mk_ring_rx *rx, uint64_t spin_ns, int64_t timeout_ns)
{
	return mk_ring_wait_check(rx, spin_ns, timeout_ns, NULL, NULL);
}

int mk_ring_wait_check(struct mk_ring_rx *rx, uint64_t spin_ns, int64_t timeout_ns,
		       int (*check)(void *arg), void *arg)
{
	struct mk_ring_wait_line *w;
	struct wait_clock wc;
	struct timespec ts;
	uint32_t v;
	int ret = 0, i;
	long r;

	if (!rx || !rx->slots)
		return -EINVAL;
	if (rx->err)
		return rx->err;
	if (rx_peek(rx))
		return 0;
	wait_clock_start(&wc, spin_ns, timeout_ns);
	/* Reading the clock costs more than a look at the slot: look often. */
	while (wc.spin_ns) {
		for (i = 0; i < 32; i++) {
			if (rx_peek(rx))
				return 0;
			mk_cpu_relax();
		}
		if (mk_mono_ns() >= wc.spin_end)
			break;
	}
	if (timeout_ns >= 0 && (uint64_t)timeout_ns <= wc.spin_ns)
		return rx_peek(rx) ? 0 : -ETIMEDOUT;

	w = wait_line(rx->slots);
	for (;;) {
		v = atomic_load_explicit(&w->futex, memory_order_acquire);
		atomic_store_explicit(&w->sleeping, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		if (rx_peek(rx))
			break;
		/*
		 * Announced, rechecked, value taken: whatever @check looks at
		 * and a producer changes before kicking cannot slip between
		 * this call and the sleep.
		 */
		if (check) {
			ret = check(arg);
			if (ret)
				break;
		}
		ret = wait_clock_left(&wc, &ts);
		if (ret)
			break;
		r = futex_wait(&w->futex, v, timeout_ns >= 0 ? &ts : NULL);
		if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
			ret = -errno;
			break;
		}
		/*
		 * The word moved (a wake-up, or it moved before we slept:
		 * EAGAIN): return even with the ring empty, as a kick means
		 * "look at why". Unchanged: a signal or a spurious return.
		 */
		if (atomic_load_explicit(&w->futex, memory_order_relaxed) != v)
			break;
	}
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
	return ret;
}

int mk_ring_notify(struct mk_ring_tx *tx)
{
	struct mk_ring_wait_line *w = wait_line(tx->slots);

	/* F1 above: orders the header store before the load of sleeping. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&w->sleeping, memory_order_acquire))
		return 0;
	atomic_fetch_add_explicit(&w->futex, 1, memory_order_seq_cst);
	futex_wake(&w->futex);
	return 1;
}

void mk_ring_kick(struct mk_ring_tx *tx)
{
	struct mk_ring_wait_line *w = wait_line(tx->slots);

	atomic_fetch_add_explicit(&w->futex, 1, memory_order_seq_cst);
	futex_wake(&w->futex);
}

/* --- waiting for credits ("Waiting for credits" in <mk/mkchan.h>) --- */

/*
 * The futex word is the low half of head: the consumer's publication is
 * itself the change FUTEX_WAIT compares against, so it needs no second
 * store. The word is only ever read as a whole head by libmk; the kernel
 * reads the half.
 */
static _Atomic uint32_t *credit_word(const struct mk_ring_cons *cons)
{
	return (_Atomic uint32_t *)((char *)(uintptr_t)cons +
				    MKCHAN_RING_CREDIT_FUTEX - MKCHAN_RING_CONS_OFFSET);
}

static void rx_wake_tx(struct mk_ring_rx *rx)
{
	if (rx->wake_tx)
		rx->wake_tx(rx->wake_tx_arg);
	else
		futex_wake(credit_word(rx->cons));
}

void mk_ring_rx_set_credit_waker(struct mk_ring_rx *rx, void (*wake)(void *arg),
				 void *arg)
{
	rx->wake_tx = wake;
	rx->wake_tx_arg = arg;
}

void mk_ring_kick_credits(struct mk_ring_rx *rx)
{
	rx_wake_tx(rx);
}

int mk_ring_tx_room(struct mk_ring_tx *tx, size_t len)
{
	int ret;

	if (tx->err)
		return tx->err;
	if (len > (size_t)tx->nslots * PAYLOAD)
		return -EMSGSIZE;
	ret = tx_reserve(tx, msg_slots(len));
	return ret == -EAGAIN ? 0 : ret ? ret : 1;
}

/*
 * Why no wake-up is lost: the argument above mk_ring_wait_check() with the
 * roles swapped. The producer P and the consumer C run
 *
 *   P: S1 tx_waiting = 1             C: S2 store head (release)
 *      F1 full fence                    F2 full fence
 *      L1 load head (acquire) = v       L2 load tx_waiting
 *      if full: FUTEX_WAIT(head, v)     if set: FUTEX_WAKE(head)
 *
 * Store buffering with full fences: L1 missing S2 and L2 missing S1 cannot
 * both happen. If L1 saw S2 the producer does not sleep on the old head;
 * if it missed it, C sees the flag and wakes after S2, so FUTEX_WAIT
 * either finds the word no longer v or was queued before the wake. The
 * word cannot come back to v while the producer waits: head only grows,
 * and by less than 2^32 (it never passes what was sent).
 */
int mk_ring_wait_credits(struct mk_ring_tx *tx, size_t len, uint64_t spin_ns,
			 int64_t timeout_ns, int (*check)(void *arg), void *arg)
{
	struct wait_clock wc;
	struct timespec ts;
	uint32_t v;
	int ret, i;
	long r;

	if (!tx || !tx->slots)
		return -EINVAL;
	ret = mk_ring_tx_room(tx, len);
	if (ret)
		return ret < 0 ? ret : 0;
	wait_clock_start(&wc, spin_ns, timeout_ns);
	while (wc.spin_ns) {
		for (i = 0; i < 32; i++) {
			ret = mk_ring_tx_room(tx, len);
			if (ret)
				return ret < 0 ? ret : 0;
			mk_cpu_relax();
		}
		if (mk_mono_ns() >= wc.spin_end)
			break;
	}
	if (timeout_ns >= 0 && (uint64_t)timeout_ns <= wc.spin_ns) {
		ret = mk_ring_tx_room(tx, len);
		return ret < 0 ? ret : ret ? 0 : -ETIMEDOUT;
	}

	for (;;) {
		atomic_store_explicit(&tx->cons->tx_waiting, 1, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		/* Full: tx_reserve() loaded head after the fence, into tx->head. */
		ret = mk_ring_tx_room(tx, len);
		if (ret) {
			ret = ret < 0 ? ret : 0;
			break;
		}
		v = (uint32_t)tx->head;
		if (check) {
			ret = check(arg);
			if (ret)
				break;
		}
		ret = wait_clock_left(&wc, &ts);
		if (ret)
			break;
		r = futex_wait(credit_word(tx->cons), v, timeout_ns >= 0 ? &ts : NULL);
		if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
			ret = -errno;
			break;
		}
		/* Woken: a publication or a kick; the caller looks at why. */
		if (!r)
			break;
	}
	atomic_store_explicit(&tx->cons->tx_waiting, 0, memory_order_relaxed);
	return ret;
}
