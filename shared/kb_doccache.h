/* kb_doccache: a bounded cache of byte strings by Xapian document id, for
 * a searcher's decoded stored-document heads (kb_search_rank.c): a hit
 * whose head is cached needs neither the B-tree read of its stored data
 * nor the zstd decompression of part A (kb_doc.h), which were a tenth of a
 * /search request's CPU. The cache holds the decompressed bytes, not the
 * parsed document, so a hit parses its small head as before.
 *
 * Direct-mapped: a document id has one slot; a new entry replaces the one
 * in its slot (the more recent wins). The bytes held never exceed the
 * budget: an entry that would overflow it is not kept. Entries are valid
 * for one index revision only: the owner clears the cache whenever the
 * revision it reads changes (kb_searcher does, at every reopen that moved
 * it). Not thread-safe: one cache per searcher, and a searcher is used by
 * one thread at a time. */
#ifndef KB_DOCCACHE_H
#define KB_DOCCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct kb_doccache kb_doccache;

/* A cache of at most budget bytes of entries (a few hundred bytes of slots
 * per 100 KB besides), or NULL when budget is 0. Free with
 * kb_doccache_free. */
kb_doccache *kb_doccache_new(size_t budget);
void kb_doccache_free(kb_doccache *c);
/* Forgets every entry. */
void kb_doccache_clear(kb_doccache *c);
/* The bytes kept for docid (their length in *len), or NULL. They stay the
 * cache's and are valid until the next put or clear. */
const char *kb_doccache_get(kb_doccache *c, uint32_t docid, size_t *len);
/* Keeps bytes[0..len) for docid, taking ownership of bytes (a heap buffer):
 * the cache frees it, now when it is not kept (over the budget, or c is
 * NULL) or later when it is replaced or cleared. */
void kb_doccache_put(kb_doccache *c, uint32_t docid, char *bytes, size_t len);
/* Bytes held now, and entries. */
size_t kb_doccache_bytes(const kb_doccache *c);
size_t kb_doccache_count(const kb_doccache *c);

#endif
