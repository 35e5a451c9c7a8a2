/* pool: chatdesk's worker threads and the locked queues (a kb_workq) between them and
 * the service loop. The loop submits jobs (one client request, or one of the
 * daemon's own: catch-up, maintenance, a suggestion search); a free worker
 * runs it with its own struct desk (a PostgreSQL connection and an index
 * handle; neither is thread-safe, so each worker has one, all sharing one
 * read-only kb_lexicon), puts the finished job on the done queue and calls
 * the notify function (the transport's lws_cancel_service), and the loop
 * collects the done jobs.
 *
 * There are two stages, each with its own queue and threads, so that
 * storing and acknowledging a message never waits behind a search:
 * - requests (job->search == 0): POOL_DB_PER_THREAD * cfg->threads workers
 *   (at most POOL_MAX_DB_WORKERS, at least cfg->threads), mostly waiting on
 *   PostgreSQL (commits wait for fsync; concurrent ones
 *   share it), so there are more of them than cores; JSON API requests
 *   (job->api: api_handle) run here too;
 * - chat messages (DM_MESSAGE requests): POOL_CHAT_PER_THREAD *
 *   cfg->threads chat writers; each takes every chat message waiting (up to
 *   POOL_CHAT_BATCH) and stores them in one transaction, one commit and one
 *   fsync for all (group commit; store_batch_begin in store_pg.h); their
 *   acknowledgements are handed back only after that commit; a message
 *   the database refuses fails alone (its savepoint), and when the batch
 *   cannot commit every message of it is stored again on its own before
 *   anything is answered;
 * - suggestion searches (job->search != 0, desk_suggest): cfg->threads
 *   workers at a lower CPU priority (nice POOL_SEARCH_NICE), so that they
 *   take the cores the request workers and the event loop leave; each
 *   takes the searches waiting (up to POOL_SEARCH_BATCH) and records their
 *   search log rows and suggestions in one transaction, as the chat
 *   writers do (one commit, also for a search alone); the suggestions go
 *   out only after that commit.
 * Any worker of a stage may run any job of it: the loop keeps at most one
 * request job per connection in flight, which keeps each connection's
 * answers in order. Workers never look inside job->conn. */
#ifndef CD_POOL_H
#define CD_POOL_H

#include "api.h"
#include "cluster.h"
#include "config.h"
#include "desk.h"

#include <stddef.h>

#define POOL_MAX_QUEUE 4096        /* per stage */
#define POOL_DB_PER_THREAD 4       /* request workers per cfg->threads */
#define POOL_MAX_DB_WORKERS 32     /* ... but not more than this (or cfg->threads) */
#define POOL_SEARCH_NICE 5         /* 10 starved the suggestions at desk load (p99
                                      49-57 ms against 39-46 at 5, 1,000 agents and
                                      10,000 requesters); 0 cost a tenth of the chat
                                      saturation rate, 5 a thirtieth (RESULTS.md,
                                      "The search workers' priority") */
#define POOL_SEARCH_BATCH 8       /* suggestion searches recorded in one transaction */
#define POOL_CHAT_PER_THREAD 2     /* chat writers per cfg->threads */
#define POOL_CHAT_BATCH 8          /* chat messages stored in one transaction, at most
                                      (a savepoint each: under PostgreSQL's 64 cached
                                      subtransactions, a new requester's first message
                                      taking two). Each item costs a few round trips
                                      and every item of a batch waits for all of
                                      them: with 8 rather than 32 a backlog is
                                      shared by the writers instead of taken whole
                                      by one (tests/bench/RESULTS.md, "Chat
                                      acknowledgement latency") */

struct desk_job {
    struct desk_job *next;
    void *conn;                /* the loop's connection; opaque here (may be NULL) */
    struct desk_client client; /* who asks (a copy) */
    struct desk_msg msg;       /* owned by the job */
    struct desk_outbox out;    /* filled by the worker; owned by the job */
    int search;                /* a suggestion search (desk_suggest(suggest)),
                                  not a request (desk_on_message(msg)) */
    struct desk_suggest suggest;
    struct api_call *api;      /* a JSON API request (api_handle), owned;
                                  conn is then the HTTP transport's */
};

/* A zeroed job with an initialised outbox. Never NULL. */
struct desk_job *pool_job_new(void);

/* Frees job, its message, outbox and API call (not conn). NULL is a no-op. */
void pool_job_free(struct desk_job *job);

typedef struct cd_pool cd_pool;

/* Opens one desk (store on cfg->db, searcher on cfg->index) per worker
 * (see above for how many) and starts the worker threads. notify(ud) is
 * called from a worker after each job is done. cfg must outlive the pool. Returns 0 and *out (free with pool_free), or -1 with a message in
 * err (nothing left running). cluster (may be NULL; must outlive the
 * pool): after each job, before notify, its frames for others are
 * published to the other instances (cluster_publish). */
int pool_new(const struct cd_config *cfg, cd_cluster *cluster, void (*notify)(void *), void *ud,
             cd_pool **out, char *err, size_t errlen);

/* Queues job on its stage's queue (the pool owns it until pool_take_done
 * hands it back). Returns 0, or -1 when that queue is full or the pool is
 * stopping (the caller keeps the job). */
int pool_submit(cd_pool *p, struct desk_job *job);

/* Takes every finished job, oldest first, as a list linked by next (the
 * caller owns them), or NULL. */
struct desk_job *pool_take_done(cd_pool *p);

/* Stops the workers (each finishes the job in hand) and joins them. Returns
 * every job not handed back yet, queued or done, as a list the caller owns.
 * Idempotent. */
struct desk_job *pool_stop(cd_pool *p);

/* Stops (if needed) and frees the pool, its desks and lexicon. Jobs not
 * collected are freed. NULL is a no-op. */
void pool_free(cd_pool *p);

#endif
