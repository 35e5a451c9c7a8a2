/* pool: searchd's worker threads and the locked queues (a kb_workq)
 * between them and the service loop. The loop submits jobs (a parsed request); a worker runs
 * it with its own kb_searcher (Xapian handles are not thread-safe, so each
 * worker has one, all sharing one read-only kb_lexicon), puts the finished
 * job on the done queue and calls the notify function (the transport's
 * lws_cancel_service), and the loop collects the done jobs. Workers never
 * look inside job->conn. */
#ifndef SD_POOL_H
#define SD_POOL_H

#include "cache.h"
#include "codec.h"
#include "config.h"

#include <stddef.h>

#define POOL_MAX_QUEUE 4096

struct sd_job {
    struct sd_job *next;
    void *conn;              /* the transport's connection; opaque here */
    struct sd_request req;   /* owned by the job */
    struct sd_response resp; /* filled by the worker; owned by the job */
    double t_start;          /* kb_clock_mono seconds: the request was complete */
    int server_error;        /* the answer is a 5xx */
};

/* Frees job, its request and response (not conn). NULL is a no-op. */
void pool_job_free(struct sd_job *job);

typedef struct sd_pool sd_pool;

/* Opens cfg->threads searchers on cfg->index and starts one worker thread
 * per searcher. www_root is the realpath of the static folder, or NULL;
 * cache is the result cache the workers fill, or NULL; both must outlive
 * the pool. An idle worker still refreshes its searcher every 0.1 s, so the
 * cache learns of a new revision even when every request is a hit. notify(ud) is called from a worker after each job
 * is done. Returns 0 and *out (caller frees with pool_free), or -1 with a
 * message in err (nothing left running). */
int pool_new(const struct sd_config *cfg, const char *www_root, sd_cache *cache,
             void (*notify)(void *), void *ud, sd_pool **out, char *err, size_t errlen);

/* Queues job (the pool owns it until it comes back from pool_take_done).
 * Returns 0, or -1 when the queue is full or the pool is stopping (the
 * caller keeps the job). */
int pool_submit(sd_pool *p, struct sd_job *job);

/* Takes every finished job, oldest first, as a list linked by next (the
 * caller owns them), or NULL. */
struct sd_job *pool_take_done(sd_pool *p);

/* Stops the workers (each finishes the job in hand) and joins them. Returns
 * every job not handed back yet, queued or done, as a list the caller owns.
 * Idempotent. */
struct sd_job *pool_stop(sd_pool *p);

/* Stops (if needed) and frees the pool, its searchers and lexicon. Jobs not
 * collected are freed. NULL is a no-op. */
void pool_free(sd_pool *p);

#endif
