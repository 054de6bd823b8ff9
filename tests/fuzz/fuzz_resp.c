// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the RESP reader (libmk/resp.c) with small limits.
 * The first input byte seeds the chunk sizes; the rest is the stream. For
 * both modes (values, commands), invariants:
 *   - the stream fed whole and fed in random chunks gives the same values
 *     and the same final result (1s, then 0 or the same error);
 *   - every value, written again (RESP3) and read again, is equal; written
 *     as RESP2 it still reads;
 *   - every command, written again as an array of bulks, reads back equal.
 * Any sanitizer report or failed check aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mk/resp.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

static const struct mk_resp_limits lim = {
	.max_bulk = 64, .max_elements = 32, .max_depth = 4,
	.max_inline = 64, .max_frame = 512,
};

static uint32_t rng;

static size_t next_chunk(void)
{
	rng = rng * 1103515245u + 12345u;
	switch ((rng >> 16) & 3) {
	case 0: return 1;
	case 1: return 1 + ((rng >> 18) & 7);
	case 2: return 1 + ((rng >> 18) & 63);
	default: return 1 + ((rng >> 18) & 1023);
	}
}

/* Re-reads a value written as RESP3 (must be equal) and as RESP2. */
static void check_value(const struct mk_resp_value *v, struct mk_resp_buf *log)
{
	struct mk_resp_buf b;
	struct mk_resp_reader *r;
	const struct mk_resp_value *v2;

	mk_resp_buf_init(&b, 3);
	CHECK(mk_resp_w_value(&b, v) == 0);
	CHECK(mk_resp_w_raw(log, b.data, b.len) == 0);
	r = mk_resp_reader_new(NULL);
	CHECK(r);
	CHECK(mk_resp_reader_feed(r, b.data, b.len) == 0);
	CHECK(mk_resp_reader_next(r, &v2) == 1);
	CHECK(mk_resp_reader_buffered(r) == 0);
	CHECK(mk_resp_value_equal(v, v2));
	mk_resp_reader_free(r);

	b.len = 0;
	b.proto = 2;
	CHECK(mk_resp_w_value(&b, v) == 0);
	r = mk_resp_reader_new(NULL);
	CHECK(r);
	CHECK(mk_resp_reader_feed(r, b.data, b.len) == 0);
	CHECK(mk_resp_reader_next(r, &v2) == 1);
	CHECK(mk_resp_reader_buffered(r) == 0);
	mk_resp_reader_free(r);
	mk_resp_buf_free(&b);
}

static void check_command(const struct mk_resp_command *c, struct mk_resp_buf *log)
{
	struct mk_resp_buf b;
	struct mk_resp_reader *r;
	struct mk_resp_command c2;

	CHECK(c->argc > 0);
	for (size_t i = 0; i < c->argc; i++)
		CHECK(c->argv[i][c->argvlen[i]] == '\0');
	mk_resp_buf_init(&b, 2);
	CHECK(mk_resp_w_command(&b, c->argc, c->argv, c->argvlen) == 0);
	CHECK(mk_resp_w_raw(log, b.data, b.len) == 0);
	r = mk_resp_reader_new(NULL);
	CHECK(r);
	CHECK(mk_resp_reader_feed(r, b.data, b.len) == 0);
	CHECK(mk_resp_reader_next_command(r, &c2) == 1);
	CHECK(c2.argc == c->argc);
	for (size_t i = 0; i < c->argc; i++)
		CHECK(c2.argvlen[i] == c->argvlen[i] &&
		      !memcmp(c2.argv[i], c->argv[i], c->argvlen[i]));
	mk_resp_reader_free(r);
	mk_resp_buf_free(&b);
}

/* Drains the reader; returns the last result (0 or an error). */
static int drain(struct mk_resp_reader *r, int cmd_mode, struct mk_resp_buf *log)
{
	for (;;) {
		int rc;

		if (cmd_mode) {
			struct mk_resp_command c;

			rc = mk_resp_reader_next_command(r, &c);
			if (rc == 1)
				check_command(&c, log);
		} else {
			const struct mk_resp_value *v;

			rc = mk_resp_reader_next(r, &v);
			if (rc == 1)
				check_value(v, log);
		}
		if (rc != 1) {
			CHECK(rc <= 0);
			CHECK((rc < 0) == (mk_resp_reader_error(r) != NULL));
			return rc;
		}
	}
}

static void run(const uint8_t *data, size_t size, uint8_t seed, int cmd_mode)
{
	struct mk_resp_reader *whole = mk_resp_reader_new(&lim);
	struct mk_resp_reader *chunked = mk_resp_reader_new(&lim);
	struct mk_resp_buf log1, log2;
	int rc1, rc2 = 0;

	CHECK(whole && chunked);
	mk_resp_buf_init(&log1, 3);
	mk_resp_buf_init(&log2, 3);
	CHECK(mk_resp_reader_feed(whole, data, size) == 0);
	rc1 = drain(whole, cmd_mode, &log1);

	rng = seed * 2654435761u + (uint32_t)cmd_mode;
	for (size_t off = 0; off < size && rc2 == 0;) {
		size_t k = next_chunk();

		if (k > size - off)
			k = size - off;
		CHECK(mk_resp_reader_feed(chunked, data + off, k) == 0);
		off += k;
		rc2 = drain(chunked, cmd_mode, &log2);
		/* Never more buffered than a frame may hold plus one line. */
		CHECK(rc2 != 0 || mk_resp_reader_buffered(chunked) <= lim.max_frame + lim.max_inline + 1024);
	}
	if (rc1 != rc2 || log1.len != log2.len || (log1.len && memcmp(log1.data, log2.data, log1.len))) {
		fprintf(stderr, "whole: rc %d (%s), %zu bytes out; chunked: rc %d (%s), %zu bytes out\n",
			rc1, mk_resp_reader_error(whole), log1.len, rc2,
			mk_resp_reader_error(chunked), log2.len);
		abort();
	}
	mk_resp_buf_free(&log1);
	mk_resp_buf_free(&log2);
	mk_resp_reader_free(whole);
	mk_resp_reader_free(chunked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	run(data + 1, size - 1, data[0], 0);
	run(data + 1, size - 1, data[0], 1);
	return 0;
}
