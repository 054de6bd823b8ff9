/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmk Octopus records: the record and query language of the Octopus
 * coordination service (DESIGN.md §5), shared by octopusd and its clients.
 *
 * Grammar (whitespace between tokens is ignored):
 *
 *   record  := name [ '{' [ term { ',' term } ] '}' ]
 *   name    := NAME | '_' | regex
 *   term    := KEY ':' value | KEY op literal
 *   op      := '==' | '!=' | '<' | '<=' | '>' | '>='
 *   value   := literal | '_' | regex
 *   literal := INT | FLOAT | STRING | IDENT | 'true' | 'false'
 *   regex   := 'r' STRING-like: r'...'  (Perl-compatible, PCRE2)
 *
 *   NAME    [A-Za-z_][A-Za-z0-9_.\-/]*  (not '_' alone): hw.pci.device.0,
 *           and a sequential-set base such as hw.pci.device.
 *   KEY     [A-Za-z_][A-Za-z0-9_.\-]*
 *   IDENT   like KEY, other than true, false and '_'
 *   INT     -?[0-9]+ or -?0x[0-9a-fA-F]+, within int64_t
 *   FLOAT   -?[0-9]+ ('.' [0-9]+)? ([eE] [+-]? [0-9]+)?, with a '.' or an
 *           exponent; finite, and not so small that it would be 0.0 (1e-400
 *           is refused; 0.0, 0e-400 and subnormals are kept)
 *   STRING  '...': \' stands for ' and \\ for \; any other backslash
 *           sequence is an error. Bytes are taken as they are (UTF-8 or not).
 *   regex   r'...': \' stands for '; every other backslash sequence is
 *           kept as it is for PCRE2 (r'\d+\.' is the pattern \d+\.).
 *
 * A NUL byte anywhere in the input is an error. A plain record (what set
 * stores) has a literal name and only KEY ':' literal terms with distinct
 * keys; a query may also use '_', regexes and constraints. A record given
 * to set may carry constraints: a conditional set.
 *
 * Limits: the parser takes untrusted input of explicit length and has no
 * fixed-size buffers; what it accepts is bounded by struct oct_limits
 * (defaults OCT_DEFAULT_MAX_INPUT bytes and OCT_DEFAULT_MAX_TERMS terms).
 * Input beyond them fails with OCT_ERR_QUERY_SIZE. The grammar does not
 * nest, so there is no nesting depth: a '{' inside braces is a parse error.
 */
#ifndef MK_OCT_RECORD_H
#define MK_OCT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Octopus error codes; the wire names are oct_err_name()'s. */
enum oct_err {
	OCT_OK = 0,
	OCT_ERR_NO_RECORD,		/* no record matches */
	OCT_ERR_PARSER_FAIL,		/* not valid record syntax */
	OCT_ERR_NO_RECORD_NAME,		/* set/del need a literal name */
	OCT_ERR_CONSTRAINT_MISMATCH,	/* conditional set/del: no match */
	OCT_ERR_QUERY_SIZE,		/* over a configured limit */
	OCT_ERR_INVALID_FORMAT,		/* oct_read: bad format string */
	OCT_ERR_UNKNOWN_ATTRIBUTE,	/* oct_read: no such attribute */
	OCT_ERR_TYPE_MISMATCH,		/* oct_read: value of another type */
	OCT_ERR_INVALID_ID,		/* no trigger/subscription of that id */
	OCT_ERR_NO_SUBSCRIBERS,		/* publish reached nobody */
	OCT_ERR_NO_MEMORY,		/* allocation failed */
	OCT_ERR_ENGINE_FAIL,		/* internal error */
	OCT_ERR_COUNT
};

/* "NO_RECORD", "PARSER_FAIL", ... ("OK" for OCT_OK); NULL if unknown. */
const char *oct_err_name(enum oct_err err);
/* A human-readable sentence for the code ("No record found"). */
const char *oct_err_str(enum oct_err err);

/* Configurable limits of the parser; zero fields mean the default. */
#define OCT_DEFAULT_MAX_INPUT	(1u << 20)	/* bytes */
#define OCT_DEFAULT_MAX_TERMS	4096u		/* terms in one record */
struct oct_limits {
	size_t max_input;
	size_t max_terms;
};

enum oct_vtype {
	OCT_V_INT,
	OCT_V_FLOAT,
	OCT_V_STRING,
	OCT_V_IDENT,
	OCT_V_BOOL,
	OCT_V_ANY,	/* '_' (queries only) */
	OCT_V_REGEX,	/* r'...' (queries only); pattern in .s */
};

/* Strings are NUL-terminated and also carry their length (len excludes
 * the NUL); records built by code rather than the parser may hold NULs. */
struct oct_str {
	char *p;
	size_t len;
};

struct oct_value {
	enum oct_vtype type;
	union {
		int64_t i;
		double f;
		bool b;
		struct oct_str s;	/* STRING, IDENT, REGEX */
	};
};

enum oct_op {
	OCT_OP_VALUE,	/* key: value */
	OCT_OP_EQ,	/* key == literal */
	OCT_OP_NE,
	OCT_OP_LT,
	OCT_OP_LE,
	OCT_OP_GT,
	OCT_OP_GE,
};

struct oct_attr {
	struct oct_str key;
	enum oct_op op;
	struct oct_value val;
};

enum oct_name_kind {
	OCT_NAME_LITERAL,
	OCT_NAME_ANY,	/* '_' */
	OCT_NAME_REGEX,	/* r'...' */
};

/*
 * A parsed record or query. attrs are sorted by key (bytewise), terms of
 * one key in input order: a record from oct_parse() is canonical.
 */
struct oct_record {
	enum oct_name_kind name_kind;
	struct oct_str name;	/* the literal name or regex pattern; "_" */
	struct oct_attr *attrs;
	size_t nattrs;
	size_t cap;
};

/* Where and why parsing failed. pos is a byte offset into the input. */
struct oct_parse_error {
	enum oct_err code;
	size_t pos;
	const char *msg;	/* static string */
};

/*
 * Parses len bytes at buf. limits may be NULL (defaults). On success
 * returns OCT_OK and a record in *out (free with oct_record_free()); else
 * an error code (OCT_ERR_PARSER_FAIL, OCT_ERR_QUERY_SIZE or
 * OCT_ERR_NO_MEMORY), *out NULL, and details in *err if err is not NULL.
 */
enum oct_err oct_parse(const char *buf, size_t len,
		       const struct oct_limits *limits,
		       struct oct_record **out, struct oct_parse_error *err);

/*
 * A record to store (set, publish): oct_parse(), but a '_' or a regex as
 * a value is a parse error at its offset instead of a query that set
 * would refuse later without one. The name may still be a pattern: set
 * answers NO_RECORD_NAME for that.
 */
enum oct_err oct_parse_record(const char *buf, size_t len,
			      const struct oct_limits *limits,
			      struct oct_record **out,
			      struct oct_parse_error *err);

void oct_record_free(struct oct_record *rec);

/* A deep copy; NULL when out of memory. */
struct oct_record *oct_record_dup(const struct oct_record *rec);

/* Builders for records made by code (the wire layer, clients). Names,
 * keys and strings are copied with their length. Return NULL / -1 when out
 * of memory. oct_record_add() keeps attrs sorted by key. */
struct oct_record *oct_record_new(const char *name, size_t len);
int oct_record_add(struct oct_record *rec, const char *key, size_t keylen,
		   enum oct_op op, const struct oct_value *val);
/* Convenience value constructors (no allocation; s is borrowed). */
struct oct_value oct_int(int64_t i);
struct oct_value oct_float(double f);
struct oct_value oct_bool(bool b);
struct oct_value oct_string(const char *s, size_t len);
struct oct_value oct_ident(const char *s, size_t len);

/* The first term with op OCT_OP_VALUE for key (binary search), or NULL. */
const struct oct_attr *oct_record_find(const struct oct_record *rec,
				       const char *key, size_t keylen);

/* True if rec is a plain record: literal name, literal values only, no
 * constraints, distinct keys. */
bool oct_record_is_plain(const struct oct_record *rec);
/* True if rec has constraint terms (op other than OCT_OP_VALUE). */
bool oct_record_has_constraints(const struct oct_record *rec);

/* Values equal: numbers numerically across int/float; strings with
 * strings, identifiers with identifiers, booleans with booleans. */
bool oct_value_equal(const struct oct_value *a, const struct oct_value *b);
/*
 * Orders two literal values: numbers numerically, strings with strings and
 * identifiers with identifiers bytewise, false < true. Returns -1/0/1 in
 * *cmp and true, or false when the two cannot be compared (string with
 * number, NaN, ...): a constraint on them does not hold.
 */
bool oct_value_cmp(const struct oct_value *a, const struct oct_value *b,
		   int *cmp);

/*
 * Canonical text: `name { a: 1, b: 'str', c: ident, f: 12.0 }`, terms in
 * attrs order (sorted by key for parsed records), `name {}` when empty.
 * Strings are single-quoted with ' and \ escaped; floats always have a
 * decimal point and the shortest of %.15g/%.16g/%.17g that reads back
 * exactly (12.0, 0.1, 1.0e+20); booleans true/false. Parsing the output
 * gives an equal record, except for strings holding NUL bytes (which the
 * parser refuses). Returns a malloc'd string (length in *len if len is not
 * NULL) or NULL when out of memory.
 */
char *oct_print(const struct oct_record *rec, size_t *len);

/*
 * A scanf-like reader of a record text for clients:
 *
 *   oct_read("obj { weight: 20, name: 'x', fl: 1.5 }",
 *            "%s { weight: %d, name: %s, fl: %f }", &name, &w, &n, &f);
 *
 * fmt is `name [ '{' [ KEY ':' conv { ',' KEY ':' conv } ] '}' ]`, where
 * name is %s (store the record name), '_' (skip) or a literal name that
 * must equal the record's, and conv is:
 *   %d  int64_t *   the attribute must be an integer
 *   %f  double *    an integer or a float
 *   %s  char **     a string or an identifier, copied with malloc()
 *   %b  bool *      a boolean
 * Arguments are taken in the order of fmt, the name's first. Keys named
 * in fmt must exist in the record; other attributes are ignored.
 * Returns OCT_OK; OCT_ERR_PARSER_FAIL (record_text does not parse),
 * OCT_ERR_INVALID_FORMAT (fmt is malformed), OCT_ERR_NO_RECORD (literal
 * name differs), OCT_ERR_UNKNOWN_ATTRIBUTE, OCT_ERR_TYPE_MISMATCH or
 * OCT_ERR_NO_MEMORY. On error nothing stays allocated: every char ** filled
 * so far is freed and set to NULL; other outputs may have been written.
 */
enum oct_err oct_read(const char *record_text, const char *fmt, ...);

/*
 * Natural order of names: digit runs compare as numbers (x2 < x10), the
 * rest bytewise; names equal that way are ordered bytewise, so the order
 * is total. Returns <0, 0, >0.
 */
int oct_natural_cmp(const char *a, size_t alen, const char *b, size_t blen);

#ifdef __cplusplus
}
#endif

#endif /* MK_OCT_RECORD_H */
