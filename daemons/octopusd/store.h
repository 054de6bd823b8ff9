/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * octopusd record store: the records of the Octopus coordination service
 * and the queries over them (DESIGN.md §5). No network code; one thread
 * uses a store at a time.
 *
 * Indexes:
 *  - a hash table by name: a get/set/del with a literal name visits one
 *    record, whatever the store's size;
 *  - a skip list in natural name order (x2 before x10): queries whose name
 *    is '_' or a regex and that name no attribute walk it in order;
 *  - per attribute key, the set of records having that key: a query that
 *    names attributes visits only the records of its rarest key;
 *  - per owner, its ephemeral records.
 * Regexes (PCRE2, unanchored unless the pattern anchors) are compiled once
 * per query and kept in a small per-store cache keyed by pattern.
 *
 * Matching a query against a record follows libmk/octopus/query.h, the
 * one implementation the watch index (watchidx.h) uses too. Every query
 * call may fail with OCT_ERR_PARSER_FAIL for a regex PCRE2 refuses, and
 * with OCT_ERR_QUERY_SIZE (a regex hit PCRE2's match or depth limit),
 * OCT_ERR_NO_MEMORY or OCT_ERR_ENGINE_FAIL for a match PCRE2 gave up on:
 * such a record is neither a match nor a mismatch, so the call fails.
 *
 * Records returned as `const struct oct_record *` are the store's own:
 * valid until the next store_set/store_del/store_del_owned/store_free.
 */
#ifndef OCTOPUSD_STORE_H
#define OCTOPUSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mk/oct_record.h>

struct store;

enum store_op {
	STORE_OP_SET,
	STORE_OP_DEL,
};

/*
 * Called on every successful set (with the record as now stored) and del
 * (with the record just removed, valid during the call), before the store
 * call returns: the daemon evaluates triggers here. The hook must not
 * modify the store.
 */
typedef void (*store_hook_fn)(void *ctx, enum store_op op,
			      const struct oct_record *rec);

struct store *store_new(void);
void store_free(struct store *st);
void store_set_hook(struct store *st, store_hook_fn fn, void *ctx);
/* PCRE2's match and depth limit for the store's queries (0: PCRE2's
 * defaults); -1 when out of memory. */
int store_set_match_limit(struct store *st, uint32_t match_limit);

/* store_set() flags. */
#define STORE_SET_SEQ		0x1u	/* name is a base: store base<N> */
#define STORE_SET_EPHEMERAL	0x2u	/* owned by owner; see del_owned */

/*
 * Stores rec, replacing the whole attribute list of a record of that name.
 * rec needs a literal name (else OCT_ERR_NO_RECORD_NAME) and literal values
 * with distinct keys, attrs sorted by key as oct_parse() and
 * oct_record_add() leave them (else OCT_ERR_PARSER_FAIL). Constraint terms make the
 * set conditional: the stored record must exist and satisfy them, else
 * OCT_ERR_CONSTRAINT_MISMATCH and nothing changes. Constraints are not
 * stored. STORE_SET_SEQ stores under name + the base's next counter value
 * ("hw.pci.device." -> "hw.pci.device.0", ".1", ...; a name already taken
 * is skipped); a sequential set cannot be conditional. The record is
 * ephemeral with that owner if STORE_SET_EPHEMERAL is given, and persistent
 * otherwise (a later plain set makes an ephemeral record persistent).
 * *stored (if not NULL) gets the stored record.
 */
enum oct_err store_set(struct store *st, const struct oct_record *rec,
		       unsigned int flags, uint64_t owner,
		       const struct oct_record **stored);

/* The first match in natural name order, or OCT_ERR_NO_RECORD. Errors:
 * those of every query call (above), such as
 * OCT_ERR_PARSER_FAIL for a regex PCRE2 refuses. */
enum oct_err store_get(struct store *st, const struct oct_record *query,
		       const struct oct_record **out);

/*
 * All matches in natural name order: *out is a malloc'd array of *n of
 * the store's records (free the array only). OCT_ERR_NO_RECORD when none.
 */
enum oct_err store_names(struct store *st, const struct oct_record *query,
			 const struct oct_record ***out, size_t *n);

/* OCT_OK if a record matches, else OCT_ERR_NO_RECORD (or an error). */
enum oct_err store_exists(struct store *st, const struct oct_record *query);

/*
 * Deletes the record named by query (literal name, else
 * OCT_ERR_NO_RECORD_NAME; OCT_ERR_NO_RECORD if absent). Terms in query
 * must match the stored record, else OCT_ERR_CONSTRAINT_MISMATCH.
 */
enum oct_err store_del(struct store *st, const struct oct_record *query);

/*
 * Deletes every ephemeral record of owner (a connection that closed); the
 * hook sees each. Returns how many; if out is not NULL, *out is a malloc'd
 * array of the deleted records, now the caller's (oct_record_free() each,
 * free() the array; NULL if none or out of memory).
 */
size_t store_del_owned(struct store *st, uint64_t owner,
		       struct oct_record ***out);

/* The record of that literal name, or NULL; no query, no counting. */
const struct oct_record *store_lookup(struct store *st, const char *name,
				      size_t len);
/* Ephemeral flag and owner of the record of that name; false if none. */
bool store_owner(struct store *st, const char *name, size_t len,
		 bool *ephemeral, uint64_t *owner);

struct store_stats {
	size_t records;
	size_t keys;		/* distinct attribute keys indexed */
	uint64_t visited;	/* records tested against a query */
	uint64_t regex_compiles;
};
void store_stats(const struct store *st, struct store_stats *s);
void store_reset_visited(struct store *st);

#endif /* OCTOPUSD_STORE_H */
