/* shards: what searchd adds to an answer when its index is a list of
 * shards and some are down: "partial": true and "failed_shards", each with
 * its spec and the reason, so a client knows the ranking left some
 * documents out. */
#ifndef SD_SHARDS_H
#define SD_SHARDS_H

#include "kb_search.h"

/* Returns json (a JSON object, malloc'd) unchanged when every shard of s is
 * up (or s is a single index); otherwise a new malloc'd copy with
 * "partial":true and "failed_shards":[{"shard":SPEC,"error":WHY},...] added,
 * json itself being freed. NULL (json freed) when out of memory or json is
 * not an object. The caller frees the result. */
char *shards_annotate(const kb_searcher *s, char *json);

#endif
