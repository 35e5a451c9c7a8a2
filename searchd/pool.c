/* pool: worker threads and job queues for searchd (see pool.h). One mutex
 * guards both queues; workers wait on a condition variable. */
#include "pool.h"
#include "kb_log.h"
#include "metrics.h"
#include "service.h"
#include "static.h"
#include "kb_lexicon.h"
#include "kb_search.h"
#include "kb_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a worker refreshes its searcher when this long has passed since the last
 * refresh, before taking a job: a new index is served within this delay */
#define REFRESH_INTERVAL 0.1
/* an idle worker whose refresh failed tries again this much later */
#define IDLE_RETRY_DELAY 5.0

struct worker {
    sd_pool *pool;
    kb_searcher *searcher; /* owned, used only by this worker's thread */
    pthread_t thread;
    int started;
    int index;
};

struct sd_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sd_job *q_head, *q_tail; /* submitted, not started */
    size_t q_len;
    struct sd_job *d_head, *d_tail; /* done, not collected */
    int stopping;
    int stopped; /* threads joined */
    kb_lexicon *lexicon;            /* owned; shared read-only by the searchers */
    struct worker *workers;         /* owned array */
    int nworkers;
    const char *www_root;
    sd_cache *cache;                /* borrowed; NULL when off */
    void (*notify)(void *);
    void *ud;
};

double pool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pool_job_free(struct sd_job *job)
{
    if (!job)
        return;
    sd_request_fin(&job->req);
    sd_response_fin(&job->resp);
    free(job);
}

static void append(struct sd_job **head, struct sd_job **tail, struct sd_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void run_job(struct worker *w, struct sd_job *job)
{
    if (job->req.ep == SD_EP_STATIC)
        static_serve(w->pool->www_root, job->req.path, &job->resp);
    else
        job->server_error =
            svc_handle(w->searcher, w->pool->cache, &job->req, &job->resp) != 0;
}

/* Waits on p->cv (mu held) until the refresh is due at monotonic time due. */
static void wait_until(sd_pool *p, double due)
{
    struct timespec ts;
    double whole = (double)(long long)due;
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((due - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    sd_pool *p = w->pool;
    double last_refresh = pool_now();
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int idle_refresh = 0;
        while (!p->stopping && !p->q_head) {
            double due = last_refresh + REFRESH_INTERVAL;
            if (pool_now() >= due) {
                idle_refresh = 1;
                break;
            }
            wait_until(p, due);
        }
        if (p->stopping) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        if (idle_refresh) {
            /* nothing to do: keep up with the index (and the cache with it) */
            pthread_mutex_unlock(&p->mu);
            int rc = svc_refresh(w->searcher, p->cache);
            /* after a failure (logged) wait longer, so a missing index does
             * not fill the log ten times a second */
            last_refresh = pool_now() + (rc ? IDLE_RETRY_DELAY : 0);
            continue;
        }
        struct sd_job *job = p->q_head;
        p->q_head = job->next;
        if (!p->q_head)
            p->q_tail = NULL;
        p->q_len--;
        pthread_mutex_unlock(&p->mu);

        double now = pool_now();
        if (now - last_refresh >= REFRESH_INTERVAL && job->req.ep != SD_EP_STATIC) {
            svc_refresh(w->searcher, p->cache);
            last_refresh = now;
        }
        run_job(w, job);

        pthread_mutex_lock(&p->mu);
        append(&p->d_head, &p->d_tail, job);
        pthread_mutex_unlock(&p->mu);
        p->notify(p->ud);
    }
    return NULL;
}

int pool_new(const struct sd_config *cfg, const char *www_root, sd_cache *cache,
             void (*notify)(void *), void *ud, sd_pool **out, char *err, size_t errlen)
{
    *out = NULL;
    sd_pool *p = kb_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wait_until uses pool_now's clock */
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
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
        if (kb_searcher_new(cfg->index, p->lexicon, &w->searcher, msg, sizeof msg)) {
            kb_seterr(err, errlen, "cannot open the index %s: %s", cfg->index, msg);
            pool_free(p);
            return -1;
        }
    }
    svc_refresh(p->workers[0].searcher, p->cache); /* index metrics, cache revision */
    metrics_workers(p->nworkers);

    /* workers leave SIGINT/SIGTERM to the main thread and ignore SIGPIPE */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            kb_seterr(err, errlen, "cannot start a worker thread: %s", strerror(rc));
            pool_free(p);
            return -1;
        }
        w->started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *out = p;
    return 0;
}

int pool_submit(sd_pool *p, struct sd_job *job)
{
    int rc = -1;
    pthread_mutex_lock(&p->mu);
    if (!p->stopping && p->q_len < POOL_MAX_QUEUE) {
        append(&p->q_head, &p->q_tail, job);
        p->q_len++;
        pthread_cond_signal(&p->cv);
        rc = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

struct sd_job *pool_take_done(sd_pool *p)
{
    pthread_mutex_lock(&p->mu);
    struct sd_job *list = p->d_head;
    p->d_head = p->d_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    return list;
}

struct sd_job *pool_stop(sd_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!p->stopped) {
        for (int i = 0; i < p->nworkers; i++)
            if (p->workers[i].started)
                pthread_join(p->workers[i].thread, NULL);
        p->stopped = 1;
    }
    /* no thread left: no lock needed */
    struct sd_job *list = p->d_head;
    if (p->d_tail)
        p->d_tail->next = p->q_head;
    else
        list = p->q_head;
    p->q_head = p->q_tail = p->d_head = p->d_tail = NULL;
    p->q_len = 0;
    return list;
}

void pool_free(sd_pool *p)
{
    if (!p)
        return;
    struct sd_job *left = pool_stop(p);
    while (left) {
        struct sd_job *next = left->next;
        pool_job_free(left);
        left = next;
    }
    for (int i = 0; i < p->nworkers; i++)
        kb_searcher_free(p->workers[i].searcher);
    free(p->workers);
    kb_lexicon_free(p->lexicon);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
