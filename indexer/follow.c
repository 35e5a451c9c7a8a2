/* follow: the `indexer follow` loop (see follow.h): LISTEN on the store's
 * knowledge channel, wait for a notification or the poll interval, and
 * run an incremental build with the database as a source whenever the
 * knowledge index_seq moved past the one the index holds. */
#include "follow.h"
#include "build.h"
#include "dbsource.h"
#include "kb_util.h"
#include "store.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* One build round; prints what changed. Returns 0, 1 (database error:
 * retry later) or -1 (index error, in err). */
static int round_once(const struct follow_opts *o, struct store *st, int64_t *seq, char *err,
                      size_t errlen)
{
    struct build_source src;
    dbsource_init(&src, st);
    struct build_opts bo = {
        .corpus = o->corpus, .index = o->index, .log = o->log, .source = &src,
        .shard = o->shard, .nshards = o->nshards,
    };
    struct build_stats bs;
    if (build_run(&bo, &bs, err, errlen) < 0)
        return strncmp(err, DBSOURCE_ERR_PREFIX, strlen(DBSOURCE_ERR_PREFIX)) == 0 ? 1 : -1;
    *seq = bs.src_mark;
    if (bs.src_indexed || bs.src_removed || bs.src_skipped || bs.files_changed ||
        bs.files_removed) {
        fprintf(o->out,
                "indexed: %u from the database, %u removed, %u skipped; %u files changed,"
                " %u removed (knowledge seq %lld)\n",
                bs.src_indexed, bs.src_removed, bs.src_skipped, bs.files_changed,
                bs.files_removed, bs.src_mark);
        fflush(o->out);
    }
    return 0;
}

/* Waits ms milliseconds or until *stop (checked every 50 ms). */
static void pause_ms(int ms, volatile sig_atomic_t *stop)
{
    for (int waited = 0; waited < ms && !*stop; waited += 50) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int follow_run(const struct follow_opts *o, volatile sig_atomic_t *stop, char *err,
               size_t errlen)
{
    struct store *st = NULL;
    int64_t seq = -1; /* the index's knowledge seq; -1: no round done yet */
    int listening = 0, down = 0, rc = 0, announced = 0;
    while (!*stop) {
        char msg[KB_ERR_MAX];
        if (!st && store_open(o->db, &st, msg, sizeof msg) != 0) {
            if (!down++)
                fprintf(o->log, "indexer follow: %s (retrying)\n", msg);
            pause_ms(o->poll_ms, stop);
            continue;
        }
        if (!listening && store_knowledge_listen(st) != 0) {
            if (!down++)
                fprintf(o->log, "indexer follow: %s (retrying)\n", store_errmsg(st));
            pause_ms(o->poll_ms, stop);
            continue;
        }
        listening = 1;
        int64_t now_seq = 0;
        if (store_knowledge_seq(st, &now_seq) != 0) {
            listening = 0;
            if (!down++)
                fprintf(o->log, "indexer follow: %s (retrying)\n", store_errmsg(st));
            pause_ms(o->poll_ms, stop);
            continue;
        }
        if (down)
            fprintf(o->log, "indexer follow: the database is back\n");
        down = 0;
        if (seq < 0 || now_seq != seq) {
            int r = round_once(o, st, &seq, msg, sizeof msg);
            if (r < 0) {
                snprintf(err, errlen, "%s", msg);
                rc = -1;
                break;
            }
            if (r > 0) {
                listening = 0;
                fprintf(o->log, "indexer follow: %s (retrying)\n", msg);
                down = 1;
                pause_ms(o->poll_ms, stop);
                continue;
            }
        }
        if (!announced) {
            fprintf(o->out, "following %s (knowledge seq %lld)\n", o->index, (long long)seq);
            fflush(o->out);
            announced = 1;
        }
        int notified = 0;
        if (store_knowledge_wait(st, o->poll_ms, &notified) != 0)
            listening = 0; /* reconnected by the next call; LISTEN again */
    }
    store_close(st);
    return rc;
}
