/* pool: worker threads for searchd (see pool.h); the queues between them
 * and the loop are a kb_workq with one queue. */
#include "pool.h"
#include "kb_log.h"
#include "metrics.h"
#include "service.h"
#include "static.h"
#include "kb_lexicon.h"
#include "kb_search.h"
#include "kb_clock.h"
#include "kb_util.h"
#include "kb_workq.h"

#include <stddef.h>
#include <stdlib.h>

/* a worker refreshes its searcher when this long has passed since the last
 * refresh, before taking a job: a new index is served within this delay */
#define REFRESH_INTERVAL 0.1
/* an idle worker whose refresh failed tries again this much later */
#define IDLE_RETRY_DELAY 5.0

struct worker {
    sd_pool *pool;
    kb_searcher *searcher; /* owned, used only by this worker's thread */
    int index;
};

struct sd_pool {
    kb_workq *q;  /* submitted jobs (one queue) and done ones; the threads */
    kb_lexicon *lexicon;            /* owned; shared read-only by the searchers */
    struct worker *workers;         /* owned array */
    int nworkers;
    const char *www_root;
    sd_cache *cache;                /* borrowed; NULL when off */
    void (*notify)(void *);
    void *ud;
};

void pool_job_free(struct sd_job *job)
{
    if (!job)
        return;
    sd_request_fin(&job->req);
    sd_response_fin(&job->resp);
    free(job);
}

static void run_job(struct worker *w, struct sd_job *job)
{
    if (job->req.ep == SD_EP_STATIC)
        static_serve(w->pool->www_root, job->req.path, &job->resp);
    else
        job->server_error =
            svc_handle(w->searcher, w->pool->cache, &job->req, &job->resp) != 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    sd_pool *p = w->pool;
    double last_refresh = kb_clock_mono();
    for (;;) {
        void *item;
        int rc = kb_workq_pop(p->q, 0, last_refresh + REFRESH_INTERVAL, &item);
        if (rc < 0)
            break;
        if (rc > 0) {
            /* nothing to do: keep up with the index (and the cache with it) */
            rc = svc_refresh(w->searcher, p->cache);
            /* after a failure (logged) wait longer, so a missing index does
             * not fill the log ten times a second */
            last_refresh = kb_clock_mono() + (rc ? IDLE_RETRY_DELAY : 0);
            continue;
        }
        struct sd_job *job = item;

        double now = kb_clock_mono();
        if (now - last_refresh >= REFRESH_INTERVAL && job->req.ep != SD_EP_STATIC) {
            svc_refresh(w->searcher, p->cache);
            last_refresh = now;
        }
        run_job(w, job);
        kb_workq_done(p->q, job);
        p->notify(p->ud);
    }
    return NULL;
}

int pool_new(const struct sd_config *cfg, const char *www_root, sd_cache *cache,
             void (*notify)(void *), void *ud, sd_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    sd_pool *p = kb_xcalloc(1, sizeof *p);
    p->q = kb_workq_new(1, POOL_MAX_QUEUE);
    p->www_root = www_root;
    p->cache = cache;
    p->notify = notify;
    p->ud = ud;
    p->lexicon = kb_lexicon_new_builtin();
    p->nworkers = cfg->threads;
    p->workers = kb_xcalloc((size_t)p->nworkers, sizeof *p->workers);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->index = i;
        char msg[KB_ERR_MAX];
        if (kb_searcher_new_shards(cfg->index, (unsigned)cfg->shard_timeout_ms, p->lexicon,
                                   &w->searcher, msg, sizeof msg)) {
            kb_seterr(err, errlen, "cannot open the index %s: %s", cfg->index, msg);
            pool_free(p);
            return -1;
        }
        kb_searcher_set_doc_cache(w->searcher,
                                  (size_t)cfg->doc_cache_mb * 1024 * 1024 / (size_t)p->nworkers);
    }
    svc_refresh(p->workers[0].searcher, p->cache); /* index metrics, cache revision */
    metrics_workers(p->nworkers);

    if (kb_workq_spawn_all(p->q, worker_main, p->workers, sizeof *p->workers, p->nworkers, err,
                           errlen)) {
        pool_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int pool_submit(sd_pool *p, struct sd_job *job)
{
    return kb_workq_push(p->q, 0, job);
}

struct sd_job *pool_take_done(sd_pool *p)
{
    return kb_workq_take_done_list(p->q, offsetof(struct sd_job, next));
}

struct sd_job *pool_stop(sd_pool *p)
{
    kb_workq_join(p->q);
    return kb_workq_drain_list(p->q, offsetof(struct sd_job, next));
}

static void job_drop(void *arg, void *job)
{
    (void)arg;
    pool_job_free(job);
}

void pool_free(sd_pool *p)
{
    if (!p)
        return;
    kb_workq_join(p->q);
    kb_workq_drain(p->q, job_drop, NULL);
    for (int i = 0; i < p->nworkers; i++)
        kb_searcher_free(p->workers[i].searcher);
    free(p->workers);
    kb_lexicon_free(p->lexicon);
    kb_workq_free(p->q);
    free(p);
}
