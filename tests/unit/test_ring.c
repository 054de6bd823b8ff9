// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk ring: geometry checks, message sizes, wrap-around, full ring,
 * fragments, batches, a peer scribbling over the block, two threads
 * streaming millions of messages through it, and a producer blocking on a
 * full ring until the consumer frees slots (with a race loop that hangs,
 * bounded, on a lost wake-up).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <mk/mkchan.h>
#include <mk/ring.h>

#define PAYLOAD MKCHAN_RING_PAYLOAD

/* A ring in private memory, both endpoints attached. */
struct ring {
	void *mem;
	size_t len;
	unsigned int slots;
	/* Apart, as two threads use them in the stress tests. */
	_Alignas(64) struct mk_ring_tx tx;
	_Alignas(64) struct mk_ring_rx rx;
};

static struct ring *ring_new(unsigned int slots)
{
	struct ring *r = aligned_alloc(64, sizeof(*r));

	assert_non_null(r);
	memset(r, 0, sizeof(*r));
	r->slots = slots;
	r->len = mk_ring_bytes(slots);
	assert_true(r->len > 0);
	r->mem = aligned_alloc(64, r->len);
	assert_non_null(r->mem);
	/* Garbage first: init must not rely on zeroed memory. */
	memset(r->mem, 0xa5, r->len);
	assert_int_equal(mk_ring_init(r->mem, r->len, slots), 0);
	assert_int_equal(mk_ring_attach_tx(&r->tx, r->mem, r->len), 0);
	assert_int_equal(mk_ring_attach_rx(&r->rx, r->mem, r->len), 0);
	return r;
}

static void ring_free(struct ring *r)
{
	free(r->mem);
	free(r);
}

static struct mkchan_ring *layout(struct ring *r)
{
	return r->mem;
}

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

static void send_ok(struct ring *r, size_t len, unsigned int seed)
{
	unsigned char *buf = malloc(len + 1);

	assert_non_null(buf);
	fill(buf, len, seed);
	assert_int_equal(mk_ring_try_send(&r->tx, buf, len), 0);
	free(buf);
}

static void recv_ok(struct ring *r, size_t len, unsigned int seed)
{
	unsigned char *want = malloc(len + 1), *got = malloc(len + 1);
	size_t n = (size_t)-1;

	assert_non_null(want);
	assert_non_null(got);
	fill(want, len, seed);
	assert_int_equal(mk_ring_try_recv(&r->rx, got, len, &n), 0);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(want);
	free(got);
}

static void recv_empty(struct ring *r)
{
	unsigned char buf[8];
	size_t n;

	assert_int_equal(mk_ring_try_recv(&r->rx, buf, sizeof(buf), &n), -EAGAIN);
}

static void test_geometry(void **state)
{
	(void)state;
	assert_int_equal(mk_ring_bytes(0), 0);
	assert_int_equal(mk_ring_bytes(1), 0);
	assert_int_equal(mk_ring_bytes(3), 0);
	assert_int_equal(mk_ring_bytes(96), 0);
	assert_int_equal(mk_ring_bytes(MKCHAN_RING_MAX_SLOTS * 2), 0);
	assert_int_equal(mk_ring_bytes(2), 192 + 2 * 64);
	assert_int_equal(mk_ring_bytes(1024), 192 + 1024 * 64);
	assert_int_equal(mk_ring_bytes(MKCHAN_RING_MAX_SLOTS),
			 MKCHAN_RING_BYTES(MKCHAN_RING_MAX_SLOTS));
	assert_int_equal(mk_ring_max_msg(8), 8 * 56);
	assert_int_equal(mk_ring_max_msg(7), 0);
	assert_int_equal(sizeof(struct mkchan_ring_slot), 64);
	assert_int_equal(offsetof(struct mkchan_ring, slots), MKCHAN_RING_SLOTS_OFFSET);
}

static void test_init_validation(void **state)
{
	size_t len = mk_ring_bytes(64) + 64;
	char *mem = aligned_alloc(64, len);

	(void)state;
	assert_non_null(mem);
	assert_int_equal(mk_ring_init(NULL, len, 8), -EINVAL);
	assert_int_equal(mk_ring_init(mem + 8, len - 8, 8), -EINVAL);	/* misaligned */
	assert_int_equal(mk_ring_init(mem, mk_ring_bytes(8) - 1, 8), -EINVAL);
	assert_int_equal(mk_ring_init(mem, len, 0), -EINVAL);
	assert_int_equal(mk_ring_init(mem, len, 1), -EINVAL);
	assert_int_equal(mk_ring_init(mem, len, 3), -EINVAL);
	assert_int_equal(mk_ring_init(mem, len, 48), -EINVAL);
	assert_int_equal(mk_ring_init(mem, len, MKCHAN_RING_MAX_SLOTS * 2), -EINVAL);
	assert_int_equal(mk_ring_init(mem, len, 64), 0);
	assert_int_equal(mk_ring_init(mem, mk_ring_bytes(2), 2), 0);
	free(mem);
}

static void test_attach_validation(void **state)
{
	size_t len = mk_ring_bytes(16);
	char *mem = aligned_alloc(64, len);
	struct mkchan_ring_info *info = (struct mkchan_ring_info *)mem;
	struct mk_ring_tx tx;
	struct mk_ring_rx rx;

	(void)state;
	assert_non_null(mem);
	memset(mem, 0, len);
	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), -EPROTO);	/* never initialised */
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), -EPROTO);

	assert_int_equal(mk_ring_init(mem, len, 16), 0);
	assert_int_equal(mk_ring_attach_tx(NULL, mem, len), -EINVAL);
	assert_int_equal(mk_ring_attach_rx(NULL, mem, len), -EINVAL);
	assert_int_equal(mk_ring_attach_tx(&tx, NULL, len), -EINVAL);
	assert_int_equal(mk_ring_attach_rx(&rx, mem + 64, len - 64), -EPROTO);
	assert_int_equal(mk_ring_attach_tx(&tx, mem + 4, len), -EINVAL);
	assert_int_equal(mk_ring_attach_tx(&tx, mem, 100), -EINVAL);
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len - 1), -EINVAL);

	/* Each field of the info line a peer may have scribbled on. */
	info->magic ^= 1;
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), -EPROTO);
	info->magic ^= 1;
	/* Version 1 had no credit wait: its producer would never wake. */
	info->version = MKCHAN_RING_VERSION - 1;
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), -EPROTO);
	info->version = MKCHAN_RING_VERSION + 1;
	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), -EPROTO);
	info->version = MKCHAN_RING_VERSION;
	info->slot_size = 128;
	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), -EPROTO);
	info->slot_size = MKCHAN_RING_SLOT_SIZE;
	info->slots = 12;
	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), -EPROTO);
	info->slots = 0;
	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), -EPROTO);
	info->slots = 32;	/* valid count, but the block is too short for it */
	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), -EINVAL);
	info->slots = 16;
	info->flags = 1;
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), -EPROTO);
	info->flags = 0;
	info->reserved[4] = 1;
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), -EPROTO);
	info->reserved[4] = 0;
	info->reserved32 = 1;
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), -EPROTO);
	info->reserved32 = 0;
	/* A closed ring still attaches: what is in it can be drained. */
	info->closed = MKCHAN_RING_CLOSED_PEER;
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), 0);
	info->closed = MKCHAN_RING_OPEN;

	assert_int_equal(mk_ring_attach_tx(&tx, mem, len), 0);
	assert_int_equal(mk_ring_attach_rx(&rx, mem, len), 0);
	assert_int_equal(mk_ring_tx_max_msg(&tx), 16 * 56);
	free(mem);
}

static void test_small_messages(void **state)
{
	struct ring *r = ring_new(8);

	(void)state;
	recv_empty(r);
	for (size_t len = 0; len <= PAYLOAD; len++) {
		send_ok(r, len, (unsigned int)len);
		recv_ok(r, len, (unsigned int)len);
		recv_empty(r);
	}
	/* A zero-length message needs no buffer at all. */
	size_t n = 1;
	assert_int_equal(mk_ring_try_send(&r->tx, NULL, 0), 0);
	assert_int_equal(mk_ring_try_recv(&r->rx, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mk_ring_try_send(&r->tx, NULL, 1), -EINVAL);
	assert_int_equal(mk_ring_try_recv(&r->rx, NULL, 8, &n), -EINVAL);
	assert_int_equal(mk_ring_try_recv(&r->rx, &n, sizeof(n), NULL), -EINVAL);
	ring_free(r);
}

/* Sizes cycle through single slots and fragments so laps split messages. */
static size_t wrap_size(unsigned int i, unsigned int slots)
{
	static const size_t sizes[] = { 0, 1, 8, 55, 56, 57, 100, 112, 113, 150 };
	size_t s = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];

	return s > (size_t)slots * PAYLOAD ? 8 : s;
}

static void test_wrap(void **state)
{
	struct ring *r = ring_new(4);
	unsigned int sent = 0, got = 0;

	(void)state;
	/* Many laps with 1..3 messages in flight, so every slot is reused. */
	for (unsigned int round = 0; round < 50000; round++) {
		unsigned int burst = 1 + round % 3;

		for (unsigned int i = 0; i < burst; i++) {
			size_t s = wrap_size(sent, r->slots);
			unsigned char *buf = malloc(s + 1);

			fill(buf, s, sent);
			if (mk_ring_try_send(&r->tx, buf, s)) {
				free(buf);
				break;
			}
			free(buf);
			sent++;
		}
		while (got < sent) {
			recv_ok(r, wrap_size(got, r->slots), got);
			got++;
		}
		recv_empty(r);
	}
	assert_true(r->tx.tail > 50000);
	ring_free(r);
}

/*
 * Positions are 64-bit but the header carries 32 bits of sequence: start
 * both ends just below 2^32 (with the slots as the previous lap left them)
 * and run across the wrap.
 */
static void test_sequence_wrap(void **state)
{
	struct ring *r = ring_new(8);
	uint64_t start = (1ULL << 32) - 13;

	(void)state;
	for (uint64_t pos = start; pos < start + r->slots; pos++) {
		uint64_t prev = pos - r->slots;

		layout(r)->slots[pos & 7].hdr =
			MKCHAN_RING_HDR(prev + 1, 8, MKCHAN_RING_F_ALL, 1);
	}
	layout(r)->cons.head = start;
	r->tx.tail = r->tx.head = start;
	r->rx.head = r->rx.published = start;
	recv_empty(r);
	for (unsigned int i = 0; i < 200; i++) {
		send_ok(r, wrap_size(i, r->slots), i);
		send_ok(r, 8, i + 1000);
		recv_ok(r, wrap_size(i, r->slots), i);
		recv_ok(r, 8, i + 1000);
		recv_empty(r);
	}
	assert_true(r->rx.head > (1ULL << 32) + 100);
	ring_free(r);
}

static void test_full_ring(void **state)
{
	struct ring *r = ring_new(8);
	unsigned char *snap = malloc(r->len), big[200];
	struct iovec iov = { big, 8 };

	(void)state;
	assert_non_null(snap);
	for (unsigned int i = 0; i < 8; i++)
		send_ok(r, 40, i);
	memcpy(snap, r->mem, r->len);
	fill(big, sizeof(big), 99);
	assert_int_equal(mk_ring_try_send(&r->tx, big, 8), -EAGAIN);
	assert_int_equal(mk_ring_try_send(&r->tx, big, 0), -EAGAIN);
	assert_int_equal(mk_ring_try_send(&r->tx, big, 150), -EAGAIN);
	assert_int_equal(mk_ring_send_batch(&r->tx, &iov, 1), -EAGAIN);
	/* A full ring is reported, never overwritten. */
	assert_memory_equal(snap, r->mem, r->len);
	for (unsigned int i = 0; i < 8; i++)
		recv_ok(r, 40, i);
	recv_empty(r);
	/* The drained consumer handed every slot back. */
	for (unsigned int i = 0; i < 8; i++)
		send_ok(r, 56, 100 + i);
	assert_int_equal(mk_ring_try_send(&r->tx, big, 1), -EAGAIN);
	for (unsigned int i = 0; i < 8; i++)
		recv_ok(r, 56, 100 + i);
	free(snap);
	ring_free(r);
}

static void test_fragments(void **state)
{
	static const size_t sizes[] = { 57, 112, 113, 200, 447, 448 };
	struct ring *r = ring_new(8);
	size_t max = mk_ring_tx_max_msg(&r->tx);
	unsigned char *buf = malloc(max + 2);

	(void)state;
	assert_int_equal(max, 448);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		send_ok(r, sizes[i], (unsigned int)i);
		recv_ok(r, sizes[i], (unsigned int)i);
		recv_empty(r);
	}
	assert_int_equal(mk_ring_try_send(&r->tx, buf, max + 1), -EMSGSIZE);
	assert_int_equal(mk_ring_try_send(&r->tx, buf, SIZE_MAX), -EMSGSIZE);

	/* All fragments fit or nothing is sent. */
	send_ok(r, 10, 7);
	fill(buf, max, 8);
	assert_int_equal(mk_ring_try_send(&r->tx, buf, max), -EAGAIN);
	send_ok(r, 113, 9);			/* 3 slots: 4 left */
	assert_int_equal(mk_ring_try_send(&r->tx, buf, 4 * 56 + 1), -EAGAIN);
	send_ok(r, 4 * 56, 10);			/* exactly fills the ring */
	recv_ok(r, 10, 7);
	recv_ok(r, 113, 9);
	recv_ok(r, 4 * 56, 10);
	recv_empty(r);
	send_ok(r, max, 11);
	recv_ok(r, max, 11);
	recv_empty(r);
	free(buf);
	ring_free(r);
}

static void test_buffer_too_small(void **state)
{
	struct ring *r = ring_new(8);
	unsigned char buf[200];
	size_t n = 0;

	(void)state;
	send_ok(r, 40, 1);
	assert_int_equal(mk_ring_try_recv(&r->rx, buf, 39, &n), -ENOBUFS);
	assert_int_equal(n, 40);
	assert_int_equal(mk_ring_try_recv(&r->rx, NULL, 0, &n), -ENOBUFS);
	recv_ok(r, 40, 1);

	send_ok(r, 113, 2);
	n = 0;
	assert_int_equal(mk_ring_try_recv(&r->rx, buf, 112, &n), -ENOBUFS);
	assert_int_equal(n, 113);
	/* Still there, and the producer did not get its slots back. */
	assert_int_equal(layout(r)->cons.head, 1);
	recv_ok(r, 113, 2);
	recv_empty(r);
	ring_free(r);
}

static void test_batches(void **state)
{
	struct ring *r = ring_new(8);
	unsigned char data[12][256], out[12][256];
	struct iovec msgs[12], bufs[12];
	size_t lens[12];

	(void)state;
	for (unsigned int i = 0; i < 12; i++) {
		fill(data[i], sizeof(data[i]), i);
		msgs[i] = (struct iovec){ data[i], 8 + i };
		bufs[i] = (struct iovec){ out[i], sizeof(out[i]) };
	}
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs, 0), 0);
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs, 12), 8);	/* what fits */
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs + 8, 4), -EAGAIN);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 0), 0);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 3), 3);
	/* The fifth message does not fit its buffer: stop before it. */
	bufs[1].iov_len = 8 + 3;
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 5), 1);
	bufs[0].iov_len = 3;
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 5), -ENOBUFS);
	assert_int_equal(lens[0], 8 + 4);
	bufs[0].iov_len = bufs[1].iov_len = sizeof(out[0]);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 12), 4);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 12), -EAGAIN);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(lens[i], 8 + 4 + i);
		assert_memory_equal(out[i], data[4 + i], lens[i]);
	}

	/* Fragments in a batch: the 200-byte one needs 4 slots, 3 are left. */
	msgs[0].iov_len = 56;
	msgs[1].iov_len = 56 * 4;
	msgs[2].iov_len = 200;
	msgs[3].iov_len = 1;
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs, 1), 1);
	assert_int_equal(mk_ring_try_send(&r->tx, data[9], 56), 0);
	assert_int_equal(mk_ring_try_send(&r->tx, data[9], 56), 0);
	assert_int_equal(mk_ring_try_send(&r->tx, data[9], 56), 0);
	assert_int_equal(mk_ring_try_send(&r->tx, data[9], 56), 0);
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs + 1, 3), -EAGAIN);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 12), 5);
	/* 4 + 4 slots fill the drained ring; the 1-byte one waits. */
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs + 1, 3), 2);
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs + 3, 1), -EAGAIN);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 12), 2);
	assert_int_equal(mk_ring_send_batch(&r->tx, msgs + 3, 1), 1);
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs + 2, lens + 2, 10), 1);
	assert_int_equal(lens[0], 56 * 4);
	assert_int_equal(lens[1], 200);
	assert_int_equal(lens[2], 1);
	assert_memory_equal(out[0], data[1], 56 * 4);
	assert_memory_equal(out[1], data[2], 200);
	assert_int_equal(out[2][0], data[3][0]);

	bufs[0].iov_base = NULL;
	assert_int_equal(mk_ring_recv_batch(&r->rx, bufs, lens, 1), -EINVAL);
	assert_int_equal(mk_ring_recv_batch(&r->rx, NULL, lens, 1), -EINVAL);
	assert_int_equal(mk_ring_send_batch(&r->tx, NULL, 1), -EINVAL);
	ring_free(r);
}

/*
 * The consumer must not write into the slots or the info line, and the
 * producer must not write into the consumer's line: each line has one
 * writer.
 */
static void test_one_writer_per_line(void **state)
{
	struct ring *r = ring_new(16);
	unsigned char *snap = malloc(r->len);

	(void)state;
	assert_non_null(snap);
	memcpy(snap, r->mem, r->len);
	for (unsigned int i = 0; i < 5; i++)
		send_ok(r, 20 + 30 * i, i);
	assert_memory_equal(snap, r->mem, MKCHAN_RING_SLOTS_OFFSET);
	memcpy(snap, r->mem, r->len);
	for (unsigned int i = 0; i < 5; i++)
		recv_ok(r, 20 + 30 * i, i);
	recv_empty(r);
	assert_memory_equal(snap, r->mem, MKCHAN_RING_CONS_OFFSET);
	assert_memory_equal(snap + MKCHAN_RING_WAIT_OFFSET,
			    (char *)r->mem + MKCHAN_RING_WAIT_OFFSET,
			    r->len - MKCHAN_RING_WAIT_OFFSET);
	assert_int_equal(layout(r)->cons.head, 1 + 1 + 2 + 2 + 3);
	free(snap);
	ring_free(r);
}

/*
 * Credits travel lazily, but a consumer that has read everything has handed
 * every slot back, so a producer waiting for the whole ring gets it.
 */
static void test_credit_publication(void **state)
{
	struct ring *r = ring_new(64);
	size_t max = mk_ring_tx_max_msg(&r->tx);
	unsigned char *buf = malloc(max);

	(void)state;
	for (unsigned int i = 0; i < 64; i++)
		send_ok(r, 8, i);
	recv_ok(r, 8, 0);
	assert_int_equal(layout(r)->cons.head, 0);	/* more to read: kept back */
	for (unsigned int i = 1; i < 16; i++)
		recv_ok(r, 8, i);
	assert_int_equal(layout(r)->cons.head, 16);	/* a quarter of the ring */
	for (unsigned int i = 16; i < 64; i++)
		recv_ok(r, 8, i);
	assert_int_equal(layout(r)->cons.head, 64);	/* drained: everything */
	fill(buf, max, 5);
	assert_int_equal(mk_ring_try_send(&r->tx, buf, max), 0);
	recv_ok(r, max, 5);
	for (unsigned int round = 0; round < 100; round++) {
		for (unsigned int i = 0; i < 1 + round % 64; i++)
			send_ok(r, 8, i);
		for (unsigned int i = 0; i < 1 + round % 64; i++)
			recv_ok(r, 8, i);
		assert_int_equal(mk_ring_try_send(&r->tx, buf, max), 0);
		recv_ok(r, max, 5);
	}
	free(buf);
	ring_free(r);
}

/* Rewrites slot @idx's header as a hostile producer might. */
static void scribble(struct ring *r, unsigned int idx, uint64_t hdr)
{
	layout(r)->slots[idx].hdr = hdr;
}

static void expect_broken(struct ring *r)
{
	unsigned char buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	size_t n;

	assert_int_equal(mk_ring_try_recv(&r->rx, buf, sizeof(buf), &n), -EBADMSG);
	/* It stays broken, whatever the block says now. */
	assert_int_equal(mk_ring_try_recv(&r->rx, buf, sizeof(buf), &n), -EBADMSG);
	assert_int_equal(mk_ring_recv_batch(&r->rx, &iov, &n, 1), -EBADMSG);
}

static void test_corrupt_headers(void **state)
{
	const uint64_t F = MKCHAN_RING_F_FIRST, L = MKCHAN_RING_F_LAST;
	const uint64_t bad_single[] = {
		MKCHAN_RING_HDR(7, 8, F | L, 1),	/* sequence from nowhere */
		MKCHAN_RING_HDR(1, 57, F | L, 1),	/* longer than a slot */
		MKCHAN_RING_HDR(1, 255, F | L, 1),
		MKCHAN_RING_HDR(1, 8, 0, 1),		/* a middle fragment */
		MKCHAN_RING_HDR(1, 8, L, 1),		/* a last fragment */
		MKCHAN_RING_HDR(1, 8, F | L | 0x80, 1),	/* unknown flag */
		MKCHAN_RING_HDR(1, 8, F | L, 0),	/* zero slots */
		MKCHAN_RING_HDR(1, 8, F | L, 2),	/* single with 2 slots */
		MKCHAN_RING_HDR(1, 56, F, 9),		/* more slots than the ring */
		MKCHAN_RING_HDR(1, 56, F, 0xffff),
		MKCHAN_RING_HDR(1, 40, F, 2),		/* short first fragment */
		MKCHAN_RING_HDR(1, 56, F, 2),		/* last fragment missing */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_single) / sizeof(bad_single[0]); i++) {
		struct ring *r = ring_new(8);

		scribble(r, 0, bad_single[i]);
		expect_broken(r);
		ring_free(r);
	}
}

static void test_corrupt_fragments(void **state)
{
	const uint64_t F = MKCHAN_RING_F_FIRST, L = MKCHAN_RING_F_LAST;
	/* A 4-slot message (200 bytes) with one of its later headers bent. */
	const struct { unsigned int idx; uint64_t hdr; } bad[] = {
		{ 1, MKCHAN_RING_HDR(9, 56, 0, 4) },	/* wrong sequence */
		{ 1, MKCHAN_RING_HDR(2, 40, 0, 4) },	/* short middle */
		{ 1, MKCHAN_RING_HDR(2, 56, F, 4) },	/* a second first */
		{ 2, MKCHAN_RING_HDR(3, 56, L, 4) },	/* early last */
		{ 2, MKCHAN_RING_HDR(3, 56, 0, 3) },	/* slot count changes */
		{ 3, MKCHAN_RING_HDR(4, 0, L, 4) },	/* empty last */
		{ 3, MKCHAN_RING_HDR(4, 57, L, 4) },	/* last too long */
		{ 3, MKCHAN_RING_HDR(4, 32, 0, 4) },	/* last not marked */
		{ 3, MKCHAN_RING_HDR(0, 32, L, 4) },	/* last not written */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ring *r = ring_new(8);

		send_ok(r, 200, 1);
		scribble(r, bad[i].idx, bad[i].hdr);
		expect_broken(r);
		ring_free(r);
	}

	/* The message checks out, then a middle header changes mid-ring. */
	struct ring *r = ring_new(8);
	send_ok(r, 8, 1);
	send_ok(r, 200, 2);
	scribble(r, 3, MKCHAN_RING_HDR(0, 56, 0, 4));
	recv_ok(r, 8, 1);
	expect_broken(r);
	ring_free(r);
}

/* A consumer publishing a head it cannot have reached, or going back. */
static void test_corrupt_consumer(void **state)
{
	unsigned char buf[8] = { 0 };

	(void)state;
	for (int c = 0; c < 2; c++) {
		struct ring *r = ring_new(8);

		for (unsigned int i = 0; i < 8; i++)
			send_ok(r, 8, i);
		for (unsigned int i = 0; i < 8; i++)
			recv_ok(r, 8, i);
		for (unsigned int i = 0; i < 8; i++)
			send_ok(r, 8, i);	/* tx saw head 8 */
		layout(r)->cons.head = c ? 9 + 8 : 4;
		assert_int_equal(mk_ring_try_send(&r->tx, buf, 8), -EBADMSG);
		layout(r)->cons.head = 16;
		assert_int_equal(mk_ring_try_send(&r->tx, buf, 8), -EBADMSG);
		ring_free(r);
	}
}

/* --- two threads --- */

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_MSGS	400000u
#else
#define STRESS_MSGS	3000000u
#endif

struct stress {
	struct ring *r;
	unsigned int msgs;
	unsigned long fails;	/* written by the consumer, read after join */
	unsigned long full;
	unsigned long empty;
	char why[128];
};

/* Mostly one slot, every 16th message fragmented up to 5 slots. */
static size_t stress_size(unsigned int i)
{
	if (i % 16 == 15)
		return 57 + (i / 16) % 224;
	return 8 + i % 49;
}

static void stress_fill(unsigned char *buf, size_t len, unsigned int i)
{
	memcpy(buf, &i, sizeof(i));
	for (size_t k = sizeof(i); k < len; k++)
		buf[k] = (unsigned char)(i ^ k);
}

static void backoff(unsigned int *spins)
{
	if (++*spins % 64 == 0)
		sched_yield();
}

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	unsigned char bufs[4][300];
	struct iovec iov[4];
	unsigned int i = 0, spins = 0;

	while (i < s->msgs) {
		int ret;

		if (i % 7 == 0 && i + 4 <= s->msgs) {
			for (unsigned int k = 0; k < 4; k++) {
				iov[k] = (struct iovec){ bufs[k], stress_size(i + k) };
				stress_fill(bufs[k], iov[k].iov_len, i + k);
			}
			ret = mk_ring_send_batch(&s->r->tx, iov, 4);
			if (ret > 0) {
				i += (unsigned int)ret;
				continue;
			}
		} else {
			stress_fill(bufs[0], stress_size(i), i);
			ret = mk_ring_try_send(&s->r->tx, bufs[0], stress_size(i));
			if (!ret) {
				i++;
				continue;
			}
		}
		if (ret != -EAGAIN)
			return (void *)(intptr_t)ret;
		s->full++;
		backoff(&spins);
	}
	return NULL;
}

static void *stress_consumer(void *arg)
{
	struct stress *s = arg;
	unsigned char out[4][300], want[300];
	struct iovec iov[4];
	size_t lens[4];
	unsigned int i = 0, spins = 0;

	for (unsigned int k = 0; k < 4; k++)
		iov[k] = (struct iovec){ out[k], sizeof(out[k]) };
	while (i < s->msgs) {
		int ret = i % 3 ? mk_ring_recv_batch(&s->r->rx, iov, lens, 4)
				: mk_ring_try_recv(&s->r->rx, out[0], sizeof(out[0]), &lens[0]);

		if (ret == -EAGAIN) {
			s->empty++;
			backoff(&spins);
			continue;
		}
		if (ret < 0) {
			snprintf(s->why, sizeof(s->why), "recv %u: %d", i, ret);
			s->fails++;
			return NULL;
		}
		for (int k = 0; k < (ret ? ret : 1); k++, i++) {
			stress_fill(want, stress_size(i), i);
			if (lens[k] != stress_size(i) || memcmp(out[k], want, lens[k])) {
				if (!s->fails)
					snprintf(s->why, sizeof(s->why),
						 "message %u: len %zu, want %zu", i,
						 lens[k], stress_size(i));
				s->fails++;
			}
		}
	}
	return NULL;
}

static void run_stress(unsigned int slots, unsigned int msgs)
{
	struct stress s = { .r = ring_new(slots), .msgs = msgs };
	pthread_t prod, cons;
	void *pret;

	assert_int_equal(pthread_create(&cons, NULL, stress_consumer, &s), 0);
	assert_int_equal(pthread_create(&prod, NULL, stress_producer, &s), 0);
	assert_int_equal(pthread_join(prod, &pret), 0);
	assert_int_equal(pthread_join(cons, NULL), 0);
	if (s.fails)
		fail_msg("%lu bad messages, first: %s", s.fails, s.why);
	assert_null(pret);
	recv_empty(s.r);
	assert_int_equal(s.r->rx.head, s.r->tx.tail);
	printf("# %u slots: %u messages, producer found it full %lu times, consumer empty %lu\n",
	       slots, msgs, s.full, s.empty);
	ring_free(s.r);
}

static void test_stress_threads(void **state)
{
	(void)state;
	run_stress(256, STRESS_MSGS);
}

/* A small ring keeps the producer at the edge of full all the time. */
static void test_stress_small_ring(void **state)
{
	(void)state;
	run_stress(8, STRESS_MSGS / 4);
}

/* --- waiting for credits --- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void count_wake(void *arg)
{
	(*(int *)arg)++;
}

/* The consumer wakes the producer only when it announced it waits. */
static void test_credit_waker_only_when_waiting(void **state)
{
	struct ring *r = ring_new(8);
	int wakes = 0;

	(void)state;
	mk_ring_rx_set_credit_waker(&r->rx, count_wake, &wakes);
	for (unsigned int i = 0; i < 8; i++)
		send_ok(r, 8, i);
	assert_int_equal(mk_ring_tx_room(&r->tx, 1), 0);
	recv_ok(r, 8, 0);
	recv_ok(r, 8, 1);		/* a quarter: published, nobody waits */
	assert_int_equal(layout(r)->cons.head, 2);
	assert_int_equal(wakes, 0);
	layout(r)->cons.tx_waiting = 1;
	recv_ok(r, 8, 2);		/* not published yet: no wake either */
	assert_int_equal(wakes, 0);
	recv_ok(r, 8, 3);
	assert_int_equal(layout(r)->cons.head, 4);
	assert_int_equal(wakes, 1);
	layout(r)->cons.tx_waiting = 0;
	for (unsigned int i = 4; i < 8; i++)
		recv_ok(r, 8, i);
	recv_empty(r);
	assert_int_equal(wakes, 1);
	/* A kick wakes whether or not the producer announced it. */
	mk_ring_kick_credits(&r->rx);
	assert_int_equal(wakes, 2);
	assert_int_equal(mk_ring_tx_room(&r->tx, 8 * PAYLOAD), 1);
	assert_int_equal(mk_ring_tx_room(&r->tx, 8 * PAYLOAD + 1), -EMSGSIZE);
	ring_free(r);
}

struct blocked {
	struct ring *r;
	size_t len;
	int64_t timeout_ns;
	int ret;
	uint64_t ns;
	atomic_bool done;
};

static void *blocked_sender(void *arg)
{
	struct blocked *b = arg;
	uint64_t t = mono_ns();

	b->ret = mk_ring_wait_credits(&b->r->tx, b->len, 0, b->timeout_ns, NULL, NULL);
	b->ns = mono_ns() - t;
	atomic_store(&b->done, true);
	return NULL;
}

/* Full ring: the sender blocks, announced; a drain wakes it at once. */
static void test_credit_wait_blocks_and_wakes(void **state)
{
	struct ring *r = ring_new(4);
	struct blocked b = { .r = r, .len = 2 * PAYLOAD, .timeout_ns = 10000000000LL };
	pthread_t t;
	int i;

	(void)state;
	for (unsigned int k = 0; k < 4; k++)
		send_ok(r, 40, k);
	/* No room, no wait: times out at once, flag left clear. */
	assert_int_equal(mk_ring_wait_credits(&r->tx, 1, 0, 0, NULL, NULL), -ETIMEDOUT);
	assert_int_equal(mk_ring_wait_credits(&r->tx, 1, 0, 20000000, NULL, NULL),
			 -ETIMEDOUT);
	assert_int_equal(layout(r)->cons.tx_waiting, 0);

	assert_int_equal(pthread_create(&t, NULL, blocked_sender, &b), 0);
	for (i = 0; i < 5000 && !__atomic_load_n(&layout(r)->cons.tx_waiting,
						  __ATOMIC_ACQUIRE); i++)
		nap_ms(1);
	assert_int_not_equal(layout(r)->cons.tx_waiting, 0);
	nap_ms(20);
	assert_false(atomic_load(&b.done));	/* still blocked */
	/* A 4-slot ring publishes after every message: each one wakes it. */
	for (unsigned int k = 0; k < 4; k++)
		recv_ok(r, 40, k);
	recv_empty(r);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.ret, 0);
	assert_true(b.ns < 5000000000ULL);
	assert_int_equal(layout(r)->cons.tx_waiting, 0);
	send_ok(r, 2 * PAYLOAD, 9);
	recv_ok(r, 2 * PAYLOAD, 9);

	/* A kick from a consumer going away ends the wait with 0 too. */
	for (unsigned int k = 0; k < 4; k++)
		send_ok(r, 8, k);
	atomic_store(&b.done, false);
	b.len = 1;
	assert_int_equal(pthread_create(&t, NULL, blocked_sender, &b), 0);
	for (i = 0; i < 5000 && !__atomic_load_n(&layout(r)->cons.tx_waiting,
						  __ATOMIC_ACQUIRE); i++)
		nap_ms(1);
	nap_ms(5);
	mk_ring_kick_credits(&r->rx);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(b.ret, 0);
	assert_int_equal(mk_ring_tx_room(&r->tx, 1), 0);	/* still full */
	ring_free(r);
}

/*
 * Both sides block at every turn (no spinning) on rings of 2 and 4 slots,
 * so nearly every message passes through a sleep on one side or the
 * other. A lost wake-up leaves both asleep: each wait is bounded, and a
 * timeout fails the test instead of hanging it.
 */
struct race {
	struct ring *r;
	unsigned int msgs;
	unsigned long tx_waits, rx_waits;
	int tx_err, rx_err;
	unsigned int bad;
};

#define RACE_WAIT_NS	5000000000LL

static void *race_producer(void *arg)
{
	struct race *s = arg;
	unsigned int i = 0;
	int ret;

	while (i < s->msgs) {
		size_t len = i % 5 == 4 ? PAYLOAD + 1 : sizeof(i);
		unsigned char buf[PAYLOAD + 1] = { 0 };

		memcpy(buf, &i, sizeof(i));
		ret = mk_ring_try_send(&s->r->tx, buf, len);
		if (!ret) {
			mk_ring_notify(&s->r->tx);
			i++;
			continue;
		}
		if (ret != -EAGAIN) {
			s->tx_err = ret;
			break;
		}
		s->tx_waits++;
		ret = mk_ring_wait_credits(&s->r->tx, len, 0, RACE_WAIT_NS, NULL, NULL);
		if (ret) {
			s->tx_err = ret;
			break;
		}
	}
	/* Wake a consumer that would otherwise wait out its timeout. */
	mk_ring_kick(&s->r->tx);
	return NULL;
}

static void *race_consumer(void *arg)
{
	struct race *s = arg;
	unsigned char buf[PAYLOAD + 1];
	unsigned int i = 0, got;
	size_t len;
	int ret;

	while (i < s->msgs && !s->tx_err) {
		ret = mk_ring_try_recv(&s->r->rx, buf, sizeof(buf), &len);
		if (!ret) {
			memcpy(&got, buf, sizeof(got));
			s->bad += got != i || len != (i % 5 == 4 ? PAYLOAD + 1 : sizeof(i));
			i++;
			continue;
		}
		if (ret != -EAGAIN) {
			s->rx_err = ret;
			break;
		}
		s->rx_waits++;
		ret = mk_ring_wait(&s->r->rx, 0, RACE_WAIT_NS);
		if (ret) {
			s->rx_err = ret;
			break;
		}
	}
	return NULL;
}

static void run_race(unsigned int slots, unsigned int msgs)
{
	struct race s = { .r = ring_new(slots), .msgs = msgs };
	pthread_t prod, cons;
	uint64_t t = mono_ns();

	assert_int_equal(pthread_create(&cons, NULL, race_consumer, &s), 0);
	assert_int_equal(pthread_create(&prod, NULL, race_producer, &s), 0);
	assert_int_equal(pthread_join(prod, NULL), 0);
	assert_int_equal(pthread_join(cons, NULL), 0);
	printf("# %u slots: %u messages in %.2f s, producer blocked %lu times, "
	       "consumer %lu\n", slots, msgs, (double)(mono_ns() - t) / 1e9,
	       s.tx_waits, s.rx_waits);
	if (s.tx_err || s.rx_err)
		fail_msg("producer %d, consumer %d (-ETIMEDOUT: a lost wake-up)",
			 s.tx_err, s.rx_err);
	assert_int_equal(s.bad, 0);
	/* Both paths ran; a producer that never waited proves nothing. */
	assert_true(s.tx_waits > 0);
	assert_true(s.rx_waits > 0);
	assert_int_equal(layout(s.r)->cons.tx_waiting, 0);
	ring_free(s.r);
}

static void test_credit_wait_race(void **state)
{
	(void)state;
	run_race(2, 100000);
	run_race(4, 100000);
}

/* --- the default spin budget --- */

/*
 * Measured once, the first time, in bounded time, within its clamp, then
 * the same; $MK_CHAN_SPIN_NS overrides it when it is a number.
 */
static void test_spin_default(void **state)
{
	uint64_t t0, first;

	(void)state;
	unsetenv("MK_CHAN_SPIN_NS");
	t0 = mono_ns();
	first = mk_spin_default_ns();
	print_message("# calibrated spin budget %llu ns, measured in %.1f ms\n",
		      (unsigned long long)first, (double)(mono_ns() - t0) / 1e6);
	assert_true(mono_ns() - t0 < 2000000000ULL);
	assert_in_range(first, MK_SPIN_MIN_NS, MK_SPIN_MAX_NS);
	t0 = mono_ns();
	assert_int_equal(mk_spin_default_ns(), first);
	assert_true(mono_ns() - t0 < 1000000ULL);	/* not measured again */
	setenv("MK_CHAN_SPIN_NS", "1234", 1);
	assert_int_equal(mk_spin_default_ns(), 1234);
	setenv("MK_CHAN_SPIN_NS", "0", 1);
	assert_int_equal(mk_spin_default_ns(), 0);
	setenv("MK_CHAN_SPIN_NS", "12us", 1);		/* not a number: ignored */
	assert_int_equal(mk_spin_default_ns(), first);
	/*
	 * Negative is not a budget: strtoull() would wrap "-1" to UINT64_MAX,
	 * which every wait reads as "spin forever" (and a ring wait as "the
	 * default", which would be that again).
	 */
	setenv("MK_CHAN_SPIN_NS", "-1", 1);
	assert_int_equal(mk_spin_default_ns(), first);
	setenv("MK_CHAN_SPIN_NS", " -5000", 1);
	assert_int_equal(mk_spin_default_ns(), first);
	unsetenv("MK_CHAN_SPIN_NS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_init_validation),
		cmocka_unit_test(test_attach_validation),
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_sequence_wrap),
		cmocka_unit_test(test_full_ring),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_one_writer_per_line),
		cmocka_unit_test(test_credit_publication),
		cmocka_unit_test(test_corrupt_headers),
		cmocka_unit_test(test_corrupt_fragments),
		cmocka_unit_test(test_corrupt_consumer),
		cmocka_unit_test(test_stress_threads),
		cmocka_unit_test(test_stress_small_ring),
		cmocka_unit_test(test_credit_waker_only_when_waiting),
		cmocka_unit_test(test_credit_wait_blocks_and_wakes),
		cmocka_unit_test(test_credit_wait_race),
		cmocka_unit_test(test_spin_default),
	};

	return cmocka_run_group_tests_name("libmk_ring", tests, NULL, NULL);
}
