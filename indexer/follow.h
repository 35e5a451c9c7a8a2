/* follow: `indexer follow`, which keeps the index up to date with the
 * knowledge published in PostgreSQL: one build (files and database, see
 * build.h) at start, then one incremental build each time the store
 * NOTIFYs a publish or retire (store_knowledge_listen / _wait), and at
 * every poll interval when the highest knowledge index_seq moved without a
 * notification reaching us (a reconnect loses LISTEN; the poll is the
 * safety net). Only the changed items are re-indexed, in one Xapian
 * transaction per round, so searchd, reopening the index, sees a publish
 * within a poll interval at worst and usually within a second. Runs until
 * *stop becomes nonzero (a signal handler sets it). */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <signal.h>
#include <stdio.h>

struct follow_opts {
    const char *corpus;  /* corpus folder */
    const char *index;   /* index folder */
    const char *db;      /* libpq conninfo */
    int poll_ms;         /* safety poll interval, > 0 */
    FILE *out;           /* one line per round that changed something */
    FILE *log;           /* errors */
    unsigned shard, nshards; /* as build_opts: keep shard I of N only */
};

/* Follows until *stop. A database that is down is retried every poll
 * interval (logged once per outage); an index that cannot be written ends
 * the follower. Returns 0 after *stop, or -1 with a message in err. */
int follow_run(const struct follow_opts *o, volatile sig_atomic_t *stop, char *err,
               size_t errlen);

#endif
