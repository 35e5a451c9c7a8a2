/* pool: chatdesk's worker threads and the two locked queues between them and
 * the service loop. The loop submits jobs (one client request, or one of the
 * daemon's own: catch-up, maintenance); a free worker runs it with its own
 * struct desk (a PostgreSQL connection and an index handle; neither is
 * thread-safe, so each worker has one, all sharing one read-only
 * kb_lexicon), puts the finished job on the done queue and calls the notify
 * function (the transport's lws_cancel_service), and the loop collects the
 * done jobs. Any worker may run any job: the loop keeps at most one job per
 * connection in flight, which keeps each connection's answers in order.
 * Workers never look inside job->conn. */
#ifndef CD_POOL_H
#define CD_POOL_H

#include "config.h"
#include "desk.h"

#include <stddef.h>

#define POOL_MAX_QUEUE 4096

struct desk_job {
    struct desk_job *next;
    void *conn;                /* the loop's connection; opaque here (may be NULL) */
    struct desk_client client; /* who asks (a copy) */
    struct desk_msg msg;       /* owned by the job */
    struct desk_outbox out;    /* filled by the worker; owned by the job */
};

/* A zeroed job with an initialised outbox. Never NULL. */
struct desk_job *pool_job_new(void);

/* Frees job, its message and outbox (not conn). NULL is a no-op. */
void pool_job_free(struct desk_job *job);

typedef struct cd_pool cd_pool;

/* Opens cfg->threads desks (store on cfg->db, searcher on cfg->index) and
 * starts one worker thread per desk. notify(ud) is called from a worker
 * after each job is done. cfg must outlive the pool. Returns 0 and *out
 * (free with pool_free), or -1 with a message in err (nothing left
 * running). */
int pool_new(const struct cd_config *cfg, void (*notify)(void *), void *ud, cd_pool **out,
             char *err, size_t errlen);

/* Queues job (the pool owns it until pool_take_done hands it back).
 * Returns 0, or -1 when the queue is full or the pool is stopping (the
 * caller keeps the job). */
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
