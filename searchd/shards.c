/* shards: the "partial" / "failed_shards" fields of searchd's answers over
 * a sharded index (see shards.h). The search core says which shards are
 * down (kb_searcher_shard); this file only writes it into the JSON. */
#include "shards.h"

#include <jansson.h>
#include <stdlib.h>

char *shards_annotate(const kb_searcher *s, char *json)
{
    size_t n = kb_searcher_shard_count(s);
    json_t *failed = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        const char *spec = kb_searcher_shard(s, i, &why);
        if (!spec || !why)
            continue;
        if (!failed)
            failed = json_array();
        json_array_append_new(failed, json_pack("{s:s,s:s}", "shard", spec, "error", why));
    }
    if (!failed)
        return json;
    json_t *o = json_loads(json, 0, NULL);
    free(json);
    char *out = NULL;
    if (json_is_object(o)) {
        json_object_set_new(o, "partial", json_true());
        json_object_set_new(o, "failed_shards", failed);
        failed = NULL;
        out = json_dumps(o, JSON_COMPACT);
    }
    json_decref(failed);
    json_decref(o);
    return out;
}
