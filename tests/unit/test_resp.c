// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmk RESP: writer bytes, every type written and read back, byte-at-a-time
 * feeding, pipelining, inline commands, the exact bytes redis-cli and
 * redis-benchmark send, every limit at and past its edge, malformed frames,
 * and bounded memory.
 */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mk/resp.h>

#define S(lit) lit, sizeof(lit) - 1

static struct mk_resp_reader *reader(const struct mk_resp_limits *lim)
{
	struct mk_resp_reader *r = mk_resp_reader_new(lim);

	assert_non_null(r);
	return r;
}

/* Feeds bytes in chunks of chunk; returns the first non-zero next(). */
static int feed_next(struct mk_resp_reader *r, const char *p, size_t n, size_t chunk,
		     const struct mk_resp_value **v)
{
	int rc = mk_resp_reader_next(r, v);

	for (size_t off = 0; off < n && rc == 0; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		assert_int_equal(mk_resp_reader_feed(r, p + off, k), 0);
		rc = mk_resp_reader_next(r, v);
	}
	return rc;
}

static int feed_cmd(struct mk_resp_reader *r, const char *p, size_t n, size_t chunk,
		    struct mk_resp_command *c)
{
	int rc = mk_resp_reader_next_command(r, c);

	for (size_t off = 0; off < n && rc == 0; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		assert_int_equal(mk_resp_reader_feed(r, p + off, k), 0);
		rc = mk_resp_reader_next_command(r, c);
	}
	return rc;
}

/* One value from the bytes, whole and byte at a time; returns rc. */
static int parse_one(const struct mk_resp_limits *lim, const char *p, size_t n,
		     size_t chunk)
{
	struct mk_resp_reader *r = reader(lim);
	const struct mk_resp_value *v;
	int rc = feed_next(r, p, n, chunk, &v);

	if (rc < 0)
		assert_non_null(mk_resp_reader_error(r));
	mk_resp_reader_free(r);
	return rc;
}

static int parse_cmd(const struct mk_resp_limits *lim, const char *p, size_t n,
		     size_t chunk)
{
	struct mk_resp_reader *r = reader(lim);
	struct mk_resp_command c;
	int rc = feed_cmd(r, p, n, chunk, &c);

	if (rc < 0)
		assert_non_null(mk_resp_reader_error(r));
	mk_resp_reader_free(r);
	return rc;
}

static void expect_bytes(struct mk_resp_buf *b, const char *want, size_t n)
{
	assert_false(b->failed);
	if (b->len != n || memcmp(b->data, want, n)) {
		print_error("got '%.*s' (%zu bytes), want '%.*s'\n", (int)b->len, b->data,
			    b->len, (int)n, want);
		fail();
	}
	b->len = 0;
}

static void test_writer_bytes(void **state)
{
	struct mk_resp_buf b;
	const char *argv[] = { "SET", "key:000000000000", "xxx" };

	(void)state;
	mk_resp_buf_init(&b, 2);
	mk_resp_w_ok(&b);
	expect_bytes(&b, S("+OK\r\n"));
	mk_resp_w_simple(&b, "PONG");
	expect_bytes(&b, S("+PONG\r\n"));
	mk_resp_w_simple(&b, "a\r\nb");
	expect_bytes(&b, S("+a  b\r\n"));
	mk_resp_w_error(&b, "NO_RECORD", "no record matches");
	expect_bytes(&b, S("-NO_RECORD no record matches\r\n"));
	mk_resp_w_error(&b, NULL, "ERR x");
	expect_bytes(&b, S("-ERR x\r\n"));
	mk_resp_w_errorf(&b, "ERR", "unknown command '%s'", "FOO");
	expect_bytes(&b, S("-ERR unknown command 'FOO'\r\n"));
	mk_resp_w_int(&b, 0);
	mk_resp_w_int(&b, -1);
	mk_resp_w_int(&b, INT64_MIN);
	mk_resp_w_int(&b, INT64_MAX);
	expect_bytes(&b, S(":0\r\n:-1\r\n:-9223372036854775808\r\n:9223372036854775807\r\n"));
	mk_resp_w_bulk(&b, "hello", 5);
	mk_resp_w_bulk(&b, "", 0);
	mk_resp_w_bulk_str(&b, "a\r\nb");
	expect_bytes(&b, S("$5\r\nhello\r\n$0\r\n\r\n$4\r\na\r\nb\r\n"));
	mk_resp_w_null(&b);
	mk_resp_w_null_array(&b);
	expect_bytes(&b, S("$-1\r\n*-1\r\n"));
	mk_resp_w_array(&b, 3);
	mk_resp_w_map(&b, 2);
	mk_resp_w_set(&b, 1);
	mk_resp_w_push(&b, 0);
	expect_bytes(&b, S("*3\r\n*4\r\n*1\r\n*0\r\n"));
	assert_int_equal(mk_resp_w_attribute(&b, 1), -EINVAL);
	mk_resp_w_double(&b, 1.5);
	mk_resp_w_bool(&b, true);
	mk_resp_w_bool(&b, false);
	mk_resp_w_bignum(&b, S("12345678901234567890"));
	mk_resp_w_verbatim(&b, "txt", "hi", 2);
	mk_resp_w_bulk_error(&b, S("SYNTAX bad"));
	expect_bytes(&b, S("$3\r\n1.5\r\n:1\r\n:0\r\n$20\r\n12345678901234567890\r\n$2\r\nhi\r\n-SYNTAX bad\r\n"));
	mk_resp_w_command(&b, 3, argv, NULL);
	expect_bytes(&b, S("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$3\r\nxxx\r\n"));
	mk_resp_w_commandv(&b, "GET", "k", NULL);
	expect_bytes(&b, S("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"));
	mk_resp_buf_free(&b);

	mk_resp_buf_init(&b, 3);
	mk_resp_w_null(&b);
	mk_resp_w_null_array(&b);
	expect_bytes(&b, S("_\r\n_\r\n"));
	mk_resp_w_map(&b, 2);
	mk_resp_w_set(&b, 1);
	mk_resp_w_push(&b, 3);
	mk_resp_w_attribute(&b, 1);
	expect_bytes(&b, S("%2\r\n~1\r\n>3\r\n|1\r\n"));
	mk_resp_w_double(&b, 1.5);
	mk_resp_w_double(&b, INFINITY);
	mk_resp_w_double(&b, -INFINITY);
	mk_resp_w_double(&b, NAN);
	mk_resp_w_double(&b, 10);
	expect_bytes(&b, S(",1.5\r\n,inf\r\n,-inf\r\n,nan\r\n,10\r\n"));
	mk_resp_w_bool(&b, true);
	mk_resp_w_bool(&b, false);
	mk_resp_w_bignum(&b, S("-3492890328409238509324850943850943825024385"));
	mk_resp_w_verbatim(&b, "txt", "Some string", 11);
	mk_resp_w_bulk_error(&b, S("SYNTAX invalid syntax"));
	expect_bytes(&b, S("#t\r\n#f\r\n(-3492890328409238509324850943850943825024385\r\n"
			   "=15\r\ntxt:Some string\r\n!21\r\nSYNTAX invalid syntax\r\n"));
	/* RESP3 values written for a RESP2 connection. */
	{
		struct mk_resp_reader *r = reader(NULL);
		const struct mk_resp_value *v;
		struct mk_resp_buf b2;

		assert_int_equal(mk_resp_reader_feed(r, S("|1\r\n+a\r\n+b\r\n%1\r\n~1\r\n#t\r\n>1\r\n,2.5\r\n")), 0);
		assert_int_equal(mk_resp_reader_next(r, &v), 1);
		mk_resp_buf_init(&b2, 2);
		assert_int_equal(mk_resp_w_value(&b2, v), 0);
		expect_bytes(&b2, S("*2\r\n*1\r\n:1\r\n*1\r\n$3\r\n2.5\r\n"));
		mk_resp_buf_free(&b2);
		mk_resp_reader_free(r);
	}
	mk_resp_buf_consume(&b, 0);
	mk_resp_w_raw(&b, "abcdef", 6);
	mk_resp_buf_consume(&b, 2);
	expect_bytes(&b, S("cdef"));
	mk_resp_buf_free(&b);
}

/* Writes every type with proto 3 and reads it back, whole and bytewise. */
static void test_roundtrip_types(void **state)
{
	static const char big[] = "123456789012345678901234567890";
	struct mk_resp_buf b;
	const struct mk_resp_value *v, *e;
	struct mk_resp_reader *r;
	char blob[300];

	(void)state;
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)i;
	mk_resp_buf_init(&b, 3);
	mk_resp_w_array(&b, 14);
	mk_resp_w_simple(&b, "OK");
	mk_resp_w_error(&b, "ERR", "boom");
	mk_resp_w_int(&b, -42);
	mk_resp_w_bulk(&b, blob, sizeof(blob));
	mk_resp_w_null(&b);
	mk_resp_w_bool(&b, true);
	mk_resp_w_double(&b, -2.25);
	mk_resp_w_bignum(&b, big, strlen(big));
	mk_resp_w_verbatim(&b, "mkd", "# hi", 4);
	mk_resp_w_bulk_error(&b, "X\r\ny", 4);
	mk_resp_w_map(&b, 1);
	mk_resp_w_simple(&b, "k");
	mk_resp_w_int(&b, 1);
	mk_resp_w_set(&b, 2);
	mk_resp_w_int(&b, 1);
	mk_resp_w_int(&b, 2);
	mk_resp_w_push(&b, 1);
	mk_resp_w_bulk_str(&b, "message");
	mk_resp_w_attribute(&b, 1);
	mk_resp_w_simple(&b, "ttl");
	mk_resp_w_int(&b, 3600);
	mk_resp_w_array(&b, 0);
	assert_false(b.failed);

	for (size_t chunk = 1; chunk <= b.len; chunk = chunk * 3 + 1) {
		r = reader(NULL);
		assert_int_equal(feed_next(r, b.data, b.len, chunk, &v), 1);
		assert_int_equal(mk_resp_reader_buffered(r), 0);
		assert_int_equal(v->type, MK_RESP_ARRAY);
		assert_int_equal(v->n, 14);
		e = v->elems;
		assert_int_equal(e[0].type, MK_RESP_SIMPLE);
		assert_string_equal(e[0].str, "OK");
		assert_int_equal(e[1].type, MK_RESP_ERROR);
		assert_string_equal(e[1].str, "ERR boom");
		assert_int_equal(e[2].type, MK_RESP_INTEGER);
		assert_int_equal(e[2].integer, -42);
		assert_int_equal(e[3].type, MK_RESP_BULK);
		assert_int_equal(e[3].len, sizeof(blob));
		assert_memory_equal(e[3].str, blob, sizeof(blob));
		assert_int_equal(e[3].str[sizeof(blob)], '\0');
		assert_int_equal(e[4].type, MK_RESP_NULL);
		assert_int_equal(e[5].type, MK_RESP_BOOLEAN);
		assert_int_equal(e[5].integer, 1);
		assert_int_equal(e[6].type, MK_RESP_DOUBLE);
		assert_true(e[6].dbl == -2.25);
		assert_int_equal(e[7].type, MK_RESP_BIGNUM);
		assert_string_equal(e[7].str, big);
		assert_int_equal(e[8].type, MK_RESP_VERBATIM);
		assert_string_equal(e[8].str, "mkd:# hi");
		assert_int_equal(e[9].type, MK_RESP_BULK_ERROR);
		assert_memory_equal(e[9].str, "X\r\ny", 4);
		assert_int_equal(e[10].type, MK_RESP_MAP);
		assert_int_equal(e[10].n, 1);
		assert_string_equal(e[10].elems[0].str, "k");
		assert_int_equal(e[10].elems[1].integer, 1);
		assert_int_equal(e[11].type, MK_RESP_SET);
		assert_int_equal(e[11].elems[1].integer, 2);
		assert_int_equal(e[12].type, MK_RESP_PUSH);
		assert_string_equal(e[12].elems[0].str, "message");
		assert_int_equal(e[13].type, MK_RESP_ARRAY);
		assert_int_equal(e[13].n, 0);
		assert_null(e[13].elems);
		assert_non_null(e[13].attr);
		assert_int_equal(e[13].attr->type, MK_RESP_ATTRIBUTE);
		assert_int_equal(e[13].attr->n, 1);
		assert_string_equal(e[13].attr->elems[0].str, "ttl");
		assert_int_equal(e[13].attr->elems[1].integer, 3600);
		assert_null(e[12].attr);

		/* Written again (proto 3), it reads back equal. */
		{
			struct mk_resp_buf b2;
			struct mk_resp_reader *r2 = reader(NULL);
			const struct mk_resp_value *v2;

			mk_resp_buf_init(&b2, 3);
			assert_int_equal(mk_resp_w_value(&b2, v), 0);
			assert_int_equal(b2.len, b.len);
			assert_memory_equal(b2.data, b.data, b.len);
			assert_int_equal(feed_next(r2, b2.data, b2.len, b2.len, &v2), 1);
			assert_true(mk_resp_value_equal(v, v2));
			mk_resp_reader_free(r2);
			mk_resp_buf_free(&b2);
		}
		mk_resp_reader_free(r);
	}
	mk_resp_buf_free(&b);
}

/* The RESP3 specification's own examples, for the client side. */
static void test_resp3_spec_examples(void **state)
{
	static const struct {
		const char *bytes;
		int type;
	} ex[] = {
		{ "_\r\n", MK_RESP_NULL },
		{ ",1.23\r\n", MK_RESP_DOUBLE },
		{ ",10\r\n", MK_RESP_DOUBLE },
		{ ",inf\r\n", MK_RESP_DOUBLE },
		{ ",-inf\r\n", MK_RESP_DOUBLE },
		{ ",nan\r\n", MK_RESP_DOUBLE },
		{ ",1.5e-3\r\n", MK_RESP_DOUBLE },
		{ "#t\r\n", MK_RESP_BOOLEAN },
		{ "!21\r\nSYNTAX invalid syntax\r\n", MK_RESP_BULK_ERROR },
		{ "=15\r\ntxt:Some string\r\n", MK_RESP_VERBATIM },
		{ "(3492890328409238509324850943850943825024385\r\n", MK_RESP_BIGNUM },
		{ "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", MK_RESP_MAP },
		{ "~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n", MK_RESP_SET },
		{ "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
		  "*2\r\n:2039123\r\n:9543892\r\n", MK_RESP_ARRAY },
		{ "*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n", MK_RESP_ARRAY },
		{ ">4\r\n+pubsub\r\n+message\r\n+somechannel\r\n+this is the message\r\n",
		  MK_RESP_PUSH },
		{ "*-1\r\n", MK_RESP_NULL },
		{ "$-1\r\n", MK_RESP_NULL },
		{ "%0\r\n", MK_RESP_MAP },
		{ "|0\r\n:1\r\n", MK_RESP_INTEGER },
		{ "|1\r\n|1\r\n+a\r\n+b\r\n+k\r\n+v\r\n:1\r\n", MK_RESP_INTEGER },
	};
	const struct mk_resp_value *v;

	(void)state;
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		size_t n = strlen(ex[i].bytes);

		for (size_t chunk = 1; chunk <= n; chunk += n - 1 > 0 ? n - 1 : 1) {
			struct mk_resp_reader *r = reader(NULL);

			if (feed_next(r, ex[i].bytes, n, chunk, &v) != 1) {
				print_error("example %zu: %s\n", i, mk_resp_reader_error(r));
				fail();
			}
			assert_int_equal(v->type, ex[i].type);
			assert_int_equal(mk_resp_reader_buffered(r), 0);
			mk_resp_reader_free(r);
			if (n == 1)
				break;
		}
	}
	/* Details. */
	{
		struct mk_resp_reader *r = reader(NULL);

		assert_int_equal(feed_next(r, S("*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n"),
					   1, &v), 1);
		assert_int_equal(v->n, 3);
		assert_null(v->elems[1].attr);
		assert_non_null(v->elems[2].attr);
		assert_int_equal(v->elems[2].integer, 3);
		assert_int_equal(v->elems[2].attr->elems[1].integer, 3600);
		assert_int_equal(feed_next(r, S(",1.5e-3\r\n"), 1, &v), 1);
		assert_true(v->dbl == 1.5e-3);
		assert_string_equal(v->str, "1.5e-3");
		assert_int_equal(feed_next(r, S(",nan\r\n"), 1, &v), 1);
		assert_true(isnan(v->dbl));
		assert_int_equal(feed_next(r, S("#f\r\n"), 1, &v), 1);
		assert_int_equal(v->integer, 0);
		mk_resp_reader_free(r);
	}
}

/* The bytes redis-benchmark -t ping,set,get and redis-cli send. */
static void test_redis_client_bytes(void **state)
{
	static const char bench[] =
		"*1\r\n$4\r\nPING\r\n"
		"PING\r\n"
		"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$3\r\nxxx\r\n"
		"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000000\r\n"
		"*2\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n"
		"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n"
		"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n";	/* and PING_INLINE above */
	static const char *want[][3] = {
		{ "PING" }, { "PING" }, { "SET", "key:000000000000", "xxx" },
		{ "GET", "key:000000000000" }, { "COMMAND", "DOCS" },
		{ "CONFIG", "GET", "save" }, { "HELLO", "3" },
	};
	static const size_t argc[] = { 1, 1, 3, 2, 2, 3, 2 };

	(void)state;
	for (size_t chunk = 1; chunk <= sizeof(bench); chunk = chunk * 2 + 1) {
		struct mk_resp_reader *r = reader(NULL);
		struct mk_resp_command c;
		size_t off = 0;

		for (size_t i = 0; i < 7; i++) {
			int rc;

			while ((rc = mk_resp_reader_next_command(r, &c)) == 0) {
				size_t k = sizeof(bench) - 1 - off;

				assert_true(k > 0);
				if (k > chunk)
					k = chunk;
				assert_int_equal(mk_resp_reader_feed(r, bench + off, k), 0);
				off += k;
			}
			assert_int_equal(rc, 1);
			assert_int_equal(c.argc, argc[i]);
			for (size_t j = 0; j < argc[i]; j++) {
				assert_int_equal(c.argvlen[j], strlen(want[i][j]));
				assert_string_equal(c.argv[j], want[i][j]);
			}
		}
		assert_int_equal(mk_resp_reader_next_command(r, &c), 0);
		assert_int_equal(off, sizeof(bench) - 1);
		assert_int_equal(mk_resp_reader_buffered(r), 0);
		mk_resp_reader_free(r);
	}
}

/* Replies captured from redis-server 7.0.15 (HELLO 3, DEBUG PROTOCOL ...). */
static void test_redis_server_replies(void **state)
{
	static const char replies[] =
		"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
		"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
		"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
		"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
		"~3\r\n:0\r\n:1\r\n:2\r\n"
		",3.141\r\n"
		"(1234567999999999999999999999999999999\r\n"
		"_\r\n#t\r\n#f\r\n"
		"=29\r\ntxt:This is a verbatim\nstring\r\n"
		"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
		"$39\r\nSome real reply following the attribute\r\n"
		">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
		"$40\r\nSome real reply following the push reply\r\n"
		"%0\r\n$11\r\nHello World\r\n:12345\r\n+OK\r\n";
	static const int types[] = {
		MK_RESP_MAP, MK_RESP_MAP, MK_RESP_SET, MK_RESP_DOUBLE, MK_RESP_BIGNUM,
		MK_RESP_NULL, MK_RESP_BOOLEAN, MK_RESP_BOOLEAN, MK_RESP_VERBATIM, MK_RESP_BULK,
		MK_RESP_PUSH, MK_RESP_BULK, MK_RESP_MAP, MK_RESP_BULK, MK_RESP_INTEGER,
		MK_RESP_SIMPLE,
	};
	const size_t nt = sizeof(types) / sizeof(types[0]);

	(void)state;
	for (size_t chunk = 1; chunk < sizeof(replies); chunk = chunk * 4 + 3) {
		struct mk_resp_reader *r = reader(NULL);
		const struct mk_resp_value *v;
		size_t off = 0, i = 0;
		int rc;

		for (;;) {
			while ((rc = mk_resp_reader_next(r, &v)) == 1) {
				assert_true(i < nt);
				assert_int_equal(v->type, types[i]);
				if (i == 0) {
					assert_int_equal(v->n, 7);
					assert_string_equal(v->elems[3].str, "7.0.15");
					assert_int_equal(v->elems[5].integer, 3);
				}
				if (i == 3)
					assert_true(v->dbl == 3.141);
				if (i == 8)
					assert_string_equal(v->str, "txt:This is a verbatim\nstring");
				if (i == 9) {
					assert_non_null(v->attr);
					assert_string_equal(v->attr->elems[0].str, "key-popularity");
					assert_int_equal(v->attr->elems[1].elems[1].integer, 90);
				}
				i++;
			}
			assert_int_equal(rc, 0);
			if (off == sizeof(replies) - 1)
				break;
			{
				size_t k = sizeof(replies) - 1 - off < chunk ? sizeof(replies) - 1 - off : chunk;

				assert_int_equal(mk_resp_reader_feed(r, replies + off, k), 0);
				off += k;
			}
		}
		assert_int_equal(i, nt);
		mk_resp_reader_free(r);
	}
}

/* 10,000 pipelined SETs with 256-byte values in one buffer (redis-benchmark -P). */
static void test_pipelined(void **state)
{
	struct mk_resp_buf b;
	struct mk_resp_reader *r = reader(NULL);
	struct mk_resp_command c;
	char key[32], val[256];
	size_t n = 0;
	int rc;

	(void)state;
	memset(val, 'x', sizeof(val));
	mk_resp_buf_init(&b, 2);
	for (int i = 0; i < 10000; i++) {
		size_t lens[3] = { 3, 0, sizeof(val) };
		const char *argv[3] = { "SET", key, val };

		lens[1] = (size_t)snprintf(key, sizeof(key), "key:%012d", i);
		mk_resp_w_command(&b, 3, argv, lens);
	}
	assert_int_equal(mk_resp_reader_feed(r, b.data, b.len), 0);
	while ((rc = mk_resp_reader_next_command(r, &c)) == 1) {
		snprintf(key, sizeof(key), "key:%012zu", n);
		assert_int_equal(c.argc, 3);
		assert_string_equal(c.argv[1], key);
		assert_int_equal(c.argvlen[2], 256);
		assert_memory_equal(c.argv[2], val, 256);
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 10000);
	assert_int_equal(mk_resp_reader_buffered(r), 0);

	/* Replies pipelined: values one after another. */
	b.len = 0;
	for (int i = 0; i < 1000; i++) {
		mk_resp_w_ok(&b);
		mk_resp_w_bulk(&b, val, (size_t)i % 256);
		mk_resp_w_null(&b);
	}
	assert_int_equal(mk_resp_reader_feed(r, b.data, b.len), 0);
	n = 0;
	{
		const struct mk_resp_value *v;

		while ((rc = mk_resp_reader_next(r, &v)) == 1) {
			int want = n % 3 == 0 ? MK_RESP_SIMPLE : n % 3 == 1 ? MK_RESP_BULK :
				   MK_RESP_NULL;

			assert_int_equal(v->type, want);
			if (want == MK_RESP_BULK)
				assert_int_equal(v->len, (n / 3) % 256);
			n++;
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 3000);
	mk_resp_buf_free(&b);
	mk_resp_reader_free(r);
}

static void expect_inline(const char *line, size_t argc, ...)
{
	struct mk_resp_reader *r = reader(NULL);
	struct mk_resp_command c;
	va_list ap;

	assert_int_equal(feed_cmd(r, line, strlen(line), 1, &c), 1);
	assert_int_equal(c.argc, argc);
	va_start(ap, argc);
	for (size_t i = 0; i < argc; i++) {
		const char *w = va_arg(ap, const char *);
		size_t wl = va_arg(ap, size_t);

		assert_int_equal(c.argvlen[i], wl);
		assert_memory_equal(c.argv[i], w, wl);
		assert_int_equal(c.argv[i][wl], '\0');
	}
	va_end(ap);
	mk_resp_reader_free(r);
}

static void test_inline(void **state)
{
	struct mk_resp_reader *r;
	struct mk_resp_command c;

	(void)state;
	expect_inline("PING\r\n", 1, S("PING"));
	expect_inline("PING\n", 1, S("PING"));
	expect_inline("  set  k \t v  \r\n", 3, S("set"), S("k"), S("v"));
	expect_inline("SET k \"a b\\r\\n\\x41\\\"\"\r\n", 3, S("SET"), S("k"), S("a b\r\nA\""));
	expect_inline("SET k 'it\\'s'\n", 3, S("SET"), S("k"), S("it's"));
	expect_inline("SET k \"\"\r\n", 3, S("SET"), S("k"), S(""));
	expect_inline("a\"b c\" e\r\n", 2, S("ab c"), S("e"));

	/* Empty lines are skipped; the command after them is returned. */
	r = reader(NULL);
	assert_int_equal(feed_cmd(r, S("\r\n\n   \r\n*0\r\n*-1\r\nECHO hi\r\n"), 1, &c), 1);
	assert_int_equal(c.argc, 2);
	assert_string_equal(c.argv[1], "hi");
	mk_resp_reader_free(r);

	assert_int_equal(parse_cmd(NULL, S("SET k \"abc\r\n"), 1), -EPROTO);
	assert_int_equal(parse_cmd(NULL, S("SET k 'abc\r\n"), 1), -EPROTO);
	assert_int_equal(parse_cmd(NULL, S("SET k \"a\"b\r\n"), 1), -EPROTO);
	assert_int_equal(parse_cmd(NULL, S("PING"), 1), 0);
}

static struct mk_resp_limits small_limits(void)
{
	struct mk_resp_limits l = {
		.max_bulk = 10, .max_elements = 5, .max_depth = 3,
		.max_inline = 20, .max_frame = 100,
	};

	return l;
}

/* A string of n copies of c (static storage, n < 4096). */
static const char *rep(char c, size_t n)
{
	static char buf[8][4096];
	static int k;
	char *p = buf[k++ % 8];

	assert_true(n < sizeof(buf[0]));
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

static int both(const struct mk_resp_limits *l, const char *s)
{
	int a = parse_one(l, s, strlen(s), strlen(s));
	int b = parse_one(l, s, strlen(s), 1);

	assert_int_equal(a, b);
	return a;
}

static int both_cmd(const struct mk_resp_limits *l, const char *s)
{
	int a = parse_cmd(l, s, strlen(s), strlen(s));
	int b = parse_cmd(l, s, strlen(s), 1);

	assert_int_equal(a, b);
	return a;
}

static void test_limits(void **state)
{
	struct mk_resp_limits l = small_limits(), d;
	char s[512];

	(void)state;
	mk_resp_limits_default(&d);
	assert_int_equal(d.max_bulk, 512u << 20);
	assert_int_equal(d.max_inline, 65536);

	/* Bulk length: 10 is fine, 11 is not, in both modes. */
	snprintf(s, sizeof(s), "$10\r\n%s\r\n", rep('a', 10));
	assert_int_equal(both(&l, s), 1);
	snprintf(s, sizeof(s), "$11\r\n%s\r\n", rep('a', 11));
	assert_int_equal(both(&l, s), -E2BIG);
	assert_int_equal(both(&l, "$11\r\n"), -E2BIG);	/* known from the header */
	assert_int_equal(both_cmd(&l, "*1\r\n$10\r\naaaaaaaaaa\r\n"), 1);
	assert_int_equal(both_cmd(&l, "*1\r\n$11\r\n"), -E2BIG);
	assert_int_equal(both(&l, "=11\r\n"), -E2BIG);
	assert_int_equal(both(&l, "!11\r\n"), -E2BIG);

	/* Elements: 5 values in the frame in all (the aggregate counts). */
	assert_int_equal(both(&l, "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n"), 1);
	assert_int_equal(both(&l, "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n"), -E2BIG);
	assert_int_equal(both(&l, "*6\r\n"), -E2BIG);
	assert_int_equal(both(&l, "*2\r\n*2\r\n:1\r\n:2\r\n:3\r\n"), 1);
	assert_int_equal(both(&l, "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n:4\r\n"), -E2BIG);
	assert_int_equal(both(&l, "%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n"), 1);
	assert_int_equal(both(&l, "%3\r\n"), -E2BIG);
	assert_int_equal(both_cmd(&l, "*5\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"), 1);
	assert_int_equal(both_cmd(&l, "*6\r\n"), -E2BIG);
	assert_int_equal(both_cmd(&l, "a a a a a\r\n"), 1);
	assert_int_equal(both_cmd(&l, "a a a a a a\r\n"), -E2BIG);

	/* Depth: 3 nested aggregates, not 4. */
	l.max_elements = 100;
	assert_int_equal(both(&l, "*1\r\n*1\r\n*1\r\n:1\r\n"), 1);
	assert_int_equal(both(&l, "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), -E2BIG);
	assert_int_equal(both(&l, "*1\r\n*1\r\n*1\r\n*0\r\n"), 1);	/* empty: no level */
	assert_int_equal(both(&l, "*1\r\n*1\r\n|1\r\n:1\r\n:1\r\n:1\r\n"), 1);
	assert_int_equal(both(&l, "*1\r\n*1\r\n*1\r\n|1\r\n:1\r\n:1\r\n:1\r\n"), -E2BIG);

	/* Line length (max_inline): 20 bytes after the type byte and before CR LF. */
	snprintf(s, sizeof(s), "+%s\r\n", rep('x', 19));
	assert_int_equal(both(&l, s), 1);
	snprintf(s, sizeof(s), "+%s\r\n", rep('x', 20));
	assert_int_equal(both(&l, s), -E2BIG);
	snprintf(s, sizeof(s), "+%s", rep('x', 40));
	assert_int_equal(both(&l, s), -E2BIG);	/* no LF yet, already too long */
	snprintf(s, sizeof(s), "%s\r\n", rep('x', 20));
	assert_int_equal(both_cmd(&l, s), 1);
	snprintf(s, sizeof(s), "%s\n", rep('x', 20));
	assert_int_equal(both_cmd(&l, s), 1);
	snprintf(s, sizeof(s), "%s\r\n", rep('x', 21));
	assert_int_equal(both_cmd(&l, s), -E2BIG);
	snprintf(s, sizeof(s), "%s", rep('x', 22));
	assert_int_equal(both_cmd(&l, s), -E2BIG);
	snprintf(s, sizeof(s), "%s", rep('x', 21));
	assert_int_equal(both_cmd(&l, s), 0);	/* might still end in CR LF */

	/* Frame size: 100 bytes. */
	l = small_limits();
	l.max_bulk = 1000;
	snprintf(s, sizeof(s), "$93\r\n%s\r\n", rep('b', 93));	/* 5 + 93 + 2 */
	assert_int_equal(both(&l, s), 1);
	snprintf(s, sizeof(s), "$94\r\n%s\r\n", rep('b', 94));
	assert_int_equal(both(&l, s), -E2BIG);
	assert_int_equal(both(&l, "$94\r\n"), -E2BIG);
	snprintf(s, sizeof(s), "*1\r\n$89\r\n%s\r\n", rep('b', 89));
	assert_int_equal(both_cmd(&l, s), 1);
	snprintf(s, sizeof(s), "*1\r\n$90\r\n%s\r\n", rep('b', 90));
	assert_int_equal(both_cmd(&l, s), -E2BIG);

	/* The same edges with a long max_inline (the search-free header path). */
	l = small_limits();
	l.max_inline = 1000;
	snprintf(s, sizeof(s), "$10\r\n%s\r\n", rep('a', 10));
	assert_int_equal(both(&l, s), 1);
	assert_int_equal(both(&l, "$11\r\n"), -E2BIG);
	assert_int_equal(both(&l, "$0000000000000000011\r\n"), -E2BIG);
	assert_int_equal(both(&l, "$00000000000000000011\r\n"), -EPROTO);
	assert_int_equal(both_cmd(&l, "*1\r\n$10\r\naaaaaaaaaa\r\n"), 1);
	assert_int_equal(both_cmd(&l, "*1\r\n$11\r\n"), -E2BIG);
	assert_int_equal(both_cmd(&l, "*1\r\n$00000000000000000001\r\n"), -EPROTO);
	assert_int_equal(both(&l, "*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n"), 1);
	assert_int_equal(both(&l, "*5\r\n"), -E2BIG);
	assert_int_equal(both_cmd(&l, "*5\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"), 1);
	assert_int_equal(both_cmd(&l, "*6\r\n"), -E2BIG);
	assert_int_equal(both(&l, ":123456789012345678\r\n"), 1);
	assert_int_equal(both(&l, ":9223372036854775807\r\n"), 1);
	assert_int_equal(both(&l, ":9223372036854775808\r\n"), -EPROTO);
	assert_int_equal(both(&l, ":-9223372036854775808\r\n"), 1);

	/* 0 in a field means the default. */
	memset(&l, 0, sizeof(l));
	snprintf(s, sizeof(s), "$300\r\n%s\r\n", rep('c', 300));
	assert_int_equal(both(&l, s), 1);
}

static void test_malformed(void **state)
{
	static const char *bad[] = {
		"$-2\r\n", "$abc\r\n", "$\r\n", "$1\r\nab\r\n", "$2\r\na\r\n\r\n",
		"$3\r\nabcXY", "*-2\r\n", "*x\r\n", "*1\r\n$-2\r\n", ":12a\r\n", ":\r\n",
		":99999999999999999999\r\n", ":-9223372036854775809\r\n", ":+1\r\n",
		": 1\r\n", "+OK\n", "+O\rK\r\n", "?\r\n", "\r\n", "x\r\n", "_x\r\n",
		"#x\r\n", "#tt\r\n", ",\r\n", ",abc\r\n", ", 1\r\n", ",1.5x\r\n", "(\r\n",
		"(12a\r\n", "(-\r\n", "=3\r\nabc\r\n", "=5\r\ntxt-a\r\n", "=-1\r\n",
		"!-1\r\n", "%-1\r\n", "~-1\r\n", ">-1\r\n", "|-1\r\n", "$?\r\n", "*?\r\n",
		"|1\r\n:1\r\n:1\r\n|1\r\n:1\r\n:1\r\n:1\r\n", "$1\r\na\n\n",
		"*1\r\n$1\r\nabc", "$01234567890123456789\r\n",
	};
	static const char *bad_cmd[] = {
		"*1\r\n:1\r\n", "*1\r\n+OK\r\n", "*1\r\n$-1\r\n", "*1\r\n$x\r\n",
		"*1\r\n$3\r\nabcd\r\n", "*abc\r\n", "*1\n", "*1\r\n$3\r\nab\n\r\r",
		"*2\r\n$1\r\na\r\n*1\r\n",
	};
	const struct mk_resp_value *v;
	struct mk_resp_reader *r;
	struct mk_resp_command c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = both(NULL, bad[i]);

		if (rc >= 0) {
			print_error("'%s' parsed (%d)\n", bad[i], rc);
			fail();
		}
	}
	for (size_t i = 0; i < sizeof(bad_cmd) / sizeof(bad_cmd[0]); i++) {
		int rc = both_cmd(NULL, bad_cmd[i]);

		if (rc >= 0) {
			print_error("command '%s' parsed (%d)\n", bad_cmd[i], rc);
			fail();
		}
	}
	/* Truncated frames: not an error, just not a value yet. */
	assert_int_equal(both(NULL, "*3\r\n$3\r\nSET\r\n$1\r\n"), 0);
	assert_int_equal(both(NULL, "$5\r\nab"), 0);
	assert_int_equal(both(NULL, "+OK\r"), 0);
	assert_int_equal(both_cmd(NULL, "*3\r\n$3\r\nSET\r\n$1\r\nk"), 0);

	/* Errors are sticky and say what went wrong, Redis-style. */
	r = reader(NULL);
	assert_int_equal(mk_resp_reader_feed(r, S("*1\r\n:1\r\n")), 0);
	assert_int_equal(mk_resp_reader_next_command(r, &c), -EPROTO);
	assert_string_equal(mk_resp_reader_error(r), "Protocol error: expected '$', got ':'");
	assert_int_equal(mk_resp_reader_feed(r, S("PING\r\n")), 0);
	assert_int_equal(mk_resp_reader_next_command(r, &c), -EPROTO);
	assert_int_equal(mk_resp_reader_next(r, &v), -EPROTO);
	mk_resp_reader_free(r);
	r = reader(NULL);
	assert_null(mk_resp_reader_error(r));
	assert_int_equal(mk_resp_reader_feed(r, S("*1\r\n$-5\r\n")), 0);
	assert_int_equal(mk_resp_reader_next_command(r, &c), -EPROTO);
	assert_string_equal(mk_resp_reader_error(r), "Protocol error: invalid bulk length");
	mk_resp_reader_free(r);
}

/* A frame half-read in one mode is re-read whole in the other. */
static void test_mode_switch(void **state)
{
	struct mk_resp_reader *r = reader(NULL);
	const struct mk_resp_value *v;
	struct mk_resp_command c;

	(void)state;
	assert_int_equal(mk_resp_reader_feed(r, S("*2\r\n$3\r\nGET\r\n")), 0);
	assert_int_equal(mk_resp_reader_next_command(r, &c), 0);
	assert_int_equal(mk_resp_reader_next(r, &v), 0);
	assert_int_equal(mk_resp_reader_feed(r, S("$1\r\nk\r\n*1\r\n$4\r\nPING\r\n")), 0);
	assert_int_equal(mk_resp_reader_next(r, &v), 1);
	assert_int_equal(v->type, MK_RESP_ARRAY);
	assert_string_equal(v->elems[1].str, "k");
	assert_int_equal(mk_resp_reader_next_command(r, &c), 1);
	assert_string_equal(c.argv[0], "PING");
	mk_resp_reader_free(r);
}

/* read_fd and space/commit. */
static void test_fd(void **state)
{
	struct mk_resp_reader *r = reader(NULL);
	struct mk_resp_command c;
	char big[100000];
	struct mk_resp_buf b;
	int fds[2];
	size_t avail;
	void *p;
	ssize_t n;
	int rc;

	(void)state;
	memset(big, 'z', sizeof(big));
	assert_int_equal(pipe(fds), 0);
	mk_resp_buf_init(&b, 2);
	mk_resp_w_raw(&b, S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"));
	mk_resp_w_bulk(&b, big, sizeof(big));
	for (size_t off = 0; off < b.len;) {
		size_t k = b.len - off < 4096 ? b.len - off : 4096;

		assert_int_equal(write(fds[1], b.data + off, k), (ssize_t)k);
		off += k;
		n = mk_resp_reader_read_fd(r, fds[0]);
		assert_int_equal(n, (ssize_t)k);
		rc = mk_resp_reader_next_command(r, &c);
		if (off < b.len)
			assert_int_equal(rc, 0);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(c.argc, 3);
	assert_int_equal(c.argvlen[2], sizeof(big));
	assert_memory_equal(c.argv[2], big, sizeof(big));
	close(fds[1]);
	assert_int_equal(mk_resp_reader_read_fd(r, fds[0]), 0);
	close(fds[0]);
	assert_int_equal(mk_resp_reader_read_fd(r, fds[0]), -EBADF);

	p = mk_resp_reader_space(r, 10, &avail);
	assert_non_null(p);
	assert_true(avail >= 10);
	memcpy(p, "+PONG\r\n", 7);
	mk_resp_reader_commit(r, 7);
	{
		const struct mk_resp_value *v;

		assert_int_equal(mk_resp_reader_next(r, &v), 1);
		assert_string_equal(v->str, "PONG");
	}
	mk_resp_buf_free(&b);
	mk_resp_reader_free(r);
}

/*
 * A huge declared count costs nothing until the elements come; a large
 * frame in small chunks parses in linear time (this would take minutes if
 * every chunk re-parsed the frame).
 */
static void test_memory_bounded(void **state)
{
	struct mk_resp_reader *r;
	const struct mk_resp_value *v;
	struct mk_resp_command c;
	struct mk_resp_buf b;
	int rc;

	(void)state;
#if !defined(__SANITIZE_ADDRESS__)
	{
		struct mallinfo2 before, after;
		struct mk_resp_reader *r2;

		r = reader(NULL);
		before = mallinfo2();
		assert_int_equal(mk_resp_reader_feed(r, S("*4000000\r\n*4000000\r\n*4000000\r\n:1\r\n")), 0);
		assert_int_equal(mk_resp_reader_next(r, &v), 0);
		r2 = reader(NULL);
		assert_int_equal(mk_resp_reader_feed(r2, S("*4000000\r\n$1\r\na\r\n$1\r\n")), 0);
		assert_int_equal(mk_resp_reader_next_command(r2, &c), 0);
		after = mallinfo2();
		mk_resp_reader_free(r2);
		assert_true(after.uordblks < before.uordblks + 100000);
		mk_resp_reader_free(r);
	}
#endif
	/* 300,000 elements in 7-byte chunks, and bytewise for commands. */
	mk_resp_buf_init(&b, 3);
	mk_resp_w_array(&b, 100000);
	for (int i = 0; i < 100000; i++) {
		mk_resp_w_array(&b, 2);
		mk_resp_w_int(&b, i);
		mk_resp_w_bulk(&b, "v", 1);
	}
	r = reader(NULL);
	assert_int_equal(feed_next(r, b.data, b.len, 7, &v), 1);
	assert_int_equal(v->n, 100000);
	assert_int_equal(v->elems[99999].elems[0].integer, 99999);
	assert_string_equal(v->elems[12345].elems[1].str, "v");
	b.len = 0;
	{
		static const char *argv[20000];
		for (size_t i = 0; i < 20000; i++)
			argv[i] = "abc";
		mk_resp_w_command(&b, 20000, argv, NULL);
	}
	rc = feed_cmd(r, b.data, b.len, 1, &c);
	assert_int_equal(rc, 1);
	assert_int_equal(c.argc, 20000);
	assert_string_equal(c.argv[19999], "abc");
	mk_resp_reader_free(r);
	mk_resp_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_bytes),
		cmocka_unit_test(test_roundtrip_types),
		cmocka_unit_test(test_resp3_spec_examples),
		cmocka_unit_test(test_redis_client_bytes),
		cmocka_unit_test(test_redis_server_replies),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mode_switch),
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_memory_bounded),
	};

	return cmocka_run_group_tests_name("libmk_resp", tests, NULL, NULL);
}
