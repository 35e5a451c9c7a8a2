/* cache: searchd's result cache, an LRU of rendered JSON answers to /search
 * and /suggest (what Solr calls the queryResultCache and Elasticsearch the
 * request cache), bounded by bytes.
 *
 * The key is everything that changes the answer: the endpoint, q, the
 * filters (kind, category, lang, standard), limit, offset and whether the
 * agent token matched, so internal and public answers never mix. Every
 * entry also belongs to one index revision: when a worker's searcher moves
 * to another revision (cache_revision), every entry is dropped, and an answer
 * computed on any other revision than the current one is not stored, so a
 * live reindex never serves stale results.
 *
 * A stored body is the searcher's JSON with "cached":true added as its first
 * member; its took_ms is the time the original search took (the time of the
 * cache lookup is in searchd_request_duration_seconds).
 *
 * Thread-safe: one mutex; the service thread looks up, the workers store.
 * Every function accepts a NULL cache (the cache is off: nothing is found,
 * nothing stored). Hit, miss, eviction and size figures go to metrics. */
#ifndef SD_CACHE_H
#define SD_CACHE_H

#include "codec.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sd_cache sd_cache;

/* A cache holding at most max_bytes (entries, keys and bodies counted).
 * Returns NULL when max_bytes is 0 (the cache is off). Caller frees with
 * cache_free. Aborts only if memory runs out (kb_xmalloc). */
sd_cache *cache_new(size_t max_bytes);

/* Frees every entry and the cache. NULL is a no-op. */
void cache_free(sd_cache *c);

/* Whether req's answer may come from / go to the cache (GET or HEAD of
 * /search or /suggest). */
int cache_wanted(const struct sd_request *req);

/* Looks req up at the current revision. On a hit returns 1 and fills *resp
 * (which the caller zeroed) with a copy of the stored answer (caller frees
 * with sd_response_fin) and counts a hit; returns 0 on a miss (counted) or
 * when req is not cacheable or c is NULL (not counted; *resp untouched). */
int cache_get(sd_cache *c, const struct sd_request *req, struct sd_response *resp);

/* Stores a copy of resp as req's answer, computed on index revision rev.
 * Only a 200 JSON answer to a cacheable request is stored, only when rev is
 * the current revision, and only when it fits in an eighth of the cache;
 * least recently used entries leave to make room. resp is not changed. */
void cache_put(sd_cache *c, const struct sd_request *req, uint64_t rev,
               const struct sd_response *resp);

/* A searcher now reads revision rev. If that differs from the cache's
 * current revision, every entry is dropped (counted as an invalidation) and
 * rev becomes current. The first call only sets the revision. */
void cache_revision(sd_cache *c, uint64_t rev);

#endif
