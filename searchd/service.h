/* service: what searchd does with one valid request, on a worker thread,
 * with that worker's own searcher. It never sees a socket: a request struct
 * in, a response struct out. */
#ifndef SD_SERVICE_H
#define SD_SERVICE_H

#include "cache.h"
#include "codec.h"
#include "kb_search.h"

/* Answers req (any endpoint but SD_EP_STATIC and SD_EP_OTHER) into *resp,
 * which the caller zeroes first and frees with sd_response_fin. Always
 * fills resp. A cacheable answer is also stored in cache (may be NULL: no
 * cache) under the revision s read; the caller looks the cache up first. Returns 0, or -1 when the answer is a server error (5xx: the
 * index could not be read even after a refresh, or an internal failure),
 * which the caller may log. A read that fails because the index moved on
 * underneath is retried once after a refresh, so an index switch does not
 * fail requests. */
int svc_handle(kb_searcher *s, sd_cache *cache, const struct sd_request *req,
               struct sd_response *resp);

/* Moves s to the latest committed index, updates the index metrics, tells
 * cache (may be NULL) the revision (a new one empties it) and logs a
 * revision change. Returns 0, or -1 (logged; s keeps the revision it had). */
int svc_refresh(kb_searcher *s, sd_cache *cache);

#endif
